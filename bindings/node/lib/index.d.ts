// Type definitions for the `firekeep` package (the public API of lib/index.js).
// Written by hand over the generated native.d.ts, which is internal.

/// <reference types="node" />

import { Transform } from 'node:stream'
import type { Client } from './client'
import type { AlreadyExistsError, AuditError, AuthorizationDeniedError, CancelledError, FirekeepError, FirestoreError, IntegrityError, InvalidConfigError, InvalidInputError, IoError, KeyMismatchError, KeyProviderError, NotFoundError, StorageError, StoragePermissionError, UnauthenticatedError } from './errors'
import type { Authenticator, Identity, accessReview, apiKeyCreate, apiKeyList, apiKeyRevoke, apiKeyRotate, auditVerify, identityInfo } from './identity'
import type { Firestore, Key } from './keys'
import type { Document, DocumentReference, Double, GeoPoint, Timestamp, decodeDocument, encodeDocument } from './values'

export type { BackupErasure, EraseOptions, EraseReport, ExportOptions, ExportReport, LegalHold, ObjectLockOutcome } from './compliance'

/** The package version. */
export declare const version: string
export * from './errors'
export * from './values'
export * from './keys'
export * from './options'
export * from './results'
export * from './client'
export * from './identity'

// ---------------------------------------------------------------------------------------
// The object format on its own

/** Options of one encrypted object (recorded in its header). */
export interface ObjectOptions {
  /** Default `standalone`. */
  backupId?: string
  /** Default `object`. */
  objectName?: string
  /** Ciphertext segment size in bytes, 4096 ..= 8388608 (default 1048576). */
  segmentSize?: number
}

/** A fresh random 32-byte data key. */
export declare function generateDataKey(): Buffer
/** Encrypts `data` under a 32-byte data key into one object (header ‖ Tink body), off the event loop. */
export declare function encrypt(key: Uint8Array, data: Uint8Array, options?: ObjectOptions): Promise<Buffer>
/** Decrypts one object; rejects with KeyMismatchError or IntegrityError. */
export declare function decrypt(key: Uint8Array, data: Uint8Array): Promise<Buffer>
/**
 * Encrypts `data` into the first `encryptedLength(key, data.length, options)` bytes of `out`
 * (which may be longer) and resolves to that length: no result memory is allocated, for loops
 * that reuse one buffer. Throws RangeError if `out` is too short or overlaps `data`. Neither
 * buffer may be read or changed until the Promise settles.
 */
export declare function encryptInto(key: Uint8Array, data: Uint8Array, out: Uint8Array, options?: ObjectOptions): Promise<number>
/**
 * Decrypts one object into the first `decryptedLength(data)` bytes of `out` and resolves to that
 * length once every tag verified; rejects like `decrypt`, with those bytes zeroed.
 */
export declare function decryptInto(key: Uint8Array, data: Uint8Array, out: Uint8Array): Promise<number>
/** Bytes of the object `encrypt` makes of `length` plaintext bytes under these options. */
export declare function encryptedLength(key: Uint8Array, length: number, options?: ObjectOptions): number
/** Bytes of plaintext in an object, read from its header and length (no key or tag check). */
export declare function decryptedLength(data: Uint8Array): number
/** The header `encrypt` writes for these options (the Tink associated data). */
export declare function objectHeader(key: Uint8Array, options?: ObjectOptions): Buffer
/** A Transform stream that encrypts its input into one object, in bounded memory. */
export declare function createEncryptStream(key: Uint8Array, options?: ObjectOptions): Transform
/** A Transform stream that decrypts one object, emitting only verified plaintext. */
export declare function createDecryptStream(key: Uint8Array): Transform

declare const firekeep: {
  version: typeof version
  FirekeepError: typeof FirekeepError
  InvalidInputError: typeof InvalidInputError
  InvalidConfigError: typeof InvalidConfigError
  KeyMismatchError: typeof KeyMismatchError
  IntegrityError: typeof IntegrityError
  NotFoundError: typeof NotFoundError
  AlreadyExistsError: typeof AlreadyExistsError
  StoragePermissionError: typeof StoragePermissionError
  StorageError: typeof StorageError
  FirestoreError: typeof FirestoreError
  KeyProviderError: typeof KeyProviderError
  AuthorizationDeniedError: typeof AuthorizationDeniedError
  UnauthenticatedError: typeof UnauthenticatedError
  AuditError: typeof AuditError
  CancelledError: typeof CancelledError
  IoError: typeof IoError
  Client: typeof Client
  Firestore: typeof Firestore
  Key: typeof Key
  generateDataKey: typeof generateDataKey
  encrypt: typeof encrypt
  decrypt: typeof decrypt
  encryptInto: typeof encryptInto
  decryptInto: typeof decryptInto
  encryptedLength: typeof encryptedLength
  decryptedLength: typeof decryptedLength
  objectHeader: typeof objectHeader
  createEncryptStream: typeof createEncryptStream
  createDecryptStream: typeof createDecryptStream
  Timestamp: typeof Timestamp
  GeoPoint: typeof GeoPoint
  DocumentReference: typeof DocumentReference
  Double: typeof Double
  Document: typeof Document
  decodeDocument: typeof decodeDocument
  encodeDocument: typeof encodeDocument
  auditVerify: typeof auditVerify
  Authenticator: typeof Authenticator
  Identity: typeof Identity
  identityInfo: typeof identityInfo
  apiKeyCreate: typeof apiKeyCreate
  apiKeyRotate: typeof apiKeyRotate
  apiKeyRevoke: typeof apiKeyRevoke
  apiKeyList: typeof apiKeyList
  accessReview: typeof accessReview
}
export default firekeep
