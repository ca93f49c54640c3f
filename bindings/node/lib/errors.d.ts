// Types of the `firekeep` package: errors (every firekeep error is a FirekeepError with a stable code).
// Part of the API lib/index.d.ts re-exports.

import type { Firestore } from './index'

// ---------------------------------------------------------------------------------------
// Errors

/** Every stable error code a firekeep error can carry. */
export type ErrorCode =
  | 'ERR_INVALID_INPUT'
  | 'ERR_INVALID_CONFIG'
  | 'ERR_KEY_MISMATCH'
  | 'ERR_INTEGRITY'
  | 'ERR_NOT_FOUND'
  | 'ERR_ALREADY_EXISTS'
  | 'ERR_STORAGE_PERMISSION'
  | 'ERR_STORAGE'
  | 'ERR_FIRESTORE'
  | 'ERR_KEY_PROVIDER'
  | 'ERR_AUTHORIZATION_DENIED'
  | 'ERR_UNAUTHENTICATED'
  | 'ERR_AUDIT'
  | 'ERR_CANCELLED'
  | 'ERR_IO'

/**
 * Base class of every error the Rust core reports. `code` is stable; the message says what
 * went wrong and what to do, and never holds a secret. Bad arguments are `TypeError` or
 * `RangeError` instead (with `code` `ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE` or
 * `ERR_OUT_OF_RANGE`).
 */
export declare class FirekeepError extends Error {
  constructor(message: string, code?: string, options?: { cause?: unknown })
  readonly code: ErrorCode | (string & {})
}
/** `ERR_INVALID_INPUT`: malformed input (a timestamp, a document, a name). */
export declare class InvalidInputError extends FirekeepError { readonly code: 'ERR_INVALID_INPUT' }
/** `ERR_INVALID_CONFIG`: a bad policy, storage option or connection setting. */
export declare class InvalidConfigError extends FirekeepError { readonly code: 'ERR_INVALID_CONFIG' }
/** `ERR_KEY_MISMATCH`: the key does not open this backup or object (the message names key ids). */
export declare class KeyMismatchError extends FirekeepError { readonly code: 'ERR_KEY_MISMATCH' }
/** `ERR_INTEGRITY`: stored data was altered, truncated or is missing. */
export declare class IntegrityError extends FirekeepError { readonly code: 'ERR_INTEGRITY' }
/** `ERR_NOT_FOUND`: no such backup, repository or file. */
export declare class NotFoundError extends FirekeepError { readonly code: 'ERR_NOT_FOUND' }
/** `ERR_ALREADY_EXISTS`: the object or document exists (restore with `conflict: 'fail'`). */
export declare class AlreadyExistsError extends FirekeepError { readonly code: 'ERR_ALREADY_EXISTS' }
/** `ERR_STORAGE_PERMISSION`: the storage refused the credentials. */
export declare class StoragePermissionError extends FirekeepError { readonly code: 'ERR_STORAGE_PERMISSION' }
/** `ERR_STORAGE`: the storage failed (network, bucket missing ...). */
export declare class StorageError extends FirekeepError { readonly code: 'ERR_STORAGE' }
/** `ERR_FIRESTORE`: Firestore failed or refused (the message holds the gRPC status). */
export declare class FirestoreError extends FirekeepError { readonly code: 'ERR_FIRESTORE' }
/** `ERR_KEY_PROVIDER`: the key provider (e.g. AWS KMS) failed. */
export declare class KeyProviderError extends FirekeepError { readonly code: 'ERR_KEY_PROVIDER' }
/** `ERR_AUTHORIZATION_DENIED`: the policy does not allow this principal the operation. */
export declare class AuthorizationDeniedError extends FirekeepError { readonly code: 'ERR_AUTHORIZATION_DENIED' }
/** `ERR_UNAUTHENTICATED`: a token or API key was refused (expired, bad signature, wrong audience, unknown key, revoked …); never echoes it. */
export declare class UnauthenticatedError extends FirekeepError { readonly code: 'ERR_UNAUTHENTICATED' }
/** `ERR_AUDIT`: an audit event could not be recorded, or a chain does not verify. */
export declare class AuditError extends FirekeepError { readonly code: 'ERR_AUDIT' }
/** `ERR_CANCELLED`: the operation's AbortSignal fired (`cause` is the signal's reason). */
export declare class CancelledError extends FirekeepError { readonly code: 'ERR_CANCELLED' }
/** `ERR_IO`: a local file operation failed. */
export declare class IoError extends FirekeepError { readonly code: 'ERR_IO' }
