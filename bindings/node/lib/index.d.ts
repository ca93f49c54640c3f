// Type definitions for the `firekeep` package (the public API of lib/index.js).
// Written by hand over the generated native.d.ts, which is internal.

/// <reference types="node" />

import { EventEmitter } from 'node:events'
import { Transform } from 'node:stream'
import type { EraseOptions, EraseReport, ExportOptions, ExportReport, LegalHold } from './compliance'

export type { BackupErasure, EraseOptions, EraseReport, ExportOptions, ExportReport, LegalHold } from './compliance'

/** The package version. */
export declare const version: string

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

// ---------------------------------------------------------------------------------------
// Firestore values

/** A Firestore timestamp, to the nanosecond, 0001-01-01 ..= 9999-12-31 (UTC). */
export declare class Timestamp {
  /** @param seconds whole seconds since the Unix epoch; @param nanoseconds 0 ..= 999999999 */
  constructor(seconds: number, nanoseconds?: number)
  readonly seconds: number
  readonly nanoseconds: number
  /** Now (millisecond precision). */
  static now(): Timestamp
  static fromDate(date: Date): Timestamp
  /** From milliseconds since the epoch; fractional milliseconds are kept. */
  static fromMillis(milliseconds: number): Timestamp
  /** RFC 3339 text with any offset, up to 9 fractional digits. */
  static parse(rfc3339: string): Timestamp
  /** A Date (drops what is below the millisecond). */
  toDate(): Date
  toMillis(): number
  /** RFC 3339 UTC with 0, 3, 6 or 9 fractional digits. */
  toRFC3339(): string
  toISOString(): string
  isEqual(other: unknown): boolean
  /** A string that sorts like the instant (so `<` and `>` compare timestamps). */
  valueOf(): string
  toString(): string
  toJSON(): string
}

/** A Firestore geopoint, in degrees. */
export declare class GeoPoint {
  constructor(latitude: number, longitude: number)
  readonly latitude: number
  readonly longitude: number
  isEqual(other: unknown): boolean
  toJSON(): { latitude: number; longitude: number }
}

/** A Firestore reference value: the referenced document's full resource name. */
export declare class DocumentReference {
  /** @param name `projects/P/databases/D/documents/col/doc` */
  constructor(name: string)
  readonly name: string
  /** `col/doc` */
  readonly path: string
  /** The document id (last path segment). */
  readonly id: string
  readonly projectId: string | undefined
  readonly databaseId: string | undefined
  isEqual(other: unknown): boolean
  toJSON(): string
  toString(): string
}

/**
 * A double whose value is a safe integer (`1.0`): decoded so, it encodes as a double again.
 * Other doubles (1.5, NaN, -0, ±Infinity, 1e300) are plain numbers. Wrap a number to store
 * it as a double. Arithmetic works through `valueOf()`.
 */
export declare class Double {
  constructor(value: number)
  readonly value: number
  valueOf(): number
  toString(): string
  toJSON(): number
  isEqual(other: unknown): boolean
}

/**
 * A Firestore value as JS. Decoding yields: null, boolean, number (integers within ±(2^53-1)
 * and doubles), bigint (integers beyond), Double, string, Buffer, Timestamp, GeoPoint,
 * DocumentReference, arrays and plain objects (maps). Encoding also takes Date, Uint8Array,
 * ArrayBuffer and Google's Timestamp/GeoPoint classes.
 */
export type FirestoreValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Double
  | Timestamp
  | Date
  | Buffer
  | Uint8Array
  | ArrayBuffer
  | GeoPoint
  | DocumentReference
  | FirestoreValue[]
  | { [field: string]: FirestoreValue }

/** A document's fields. */
export interface DocumentFields {
  [field: string]: FirestoreValue
}

/** What `decodeDocument` returns and `encodeDocument` takes. */
export interface DocumentData {
  /** `projects/P/databases/D/documents/col/doc` */
  name: string
  fields?: DocumentFields
  createTime?: Timestamp | Date
  updateTime?: Timestamp | Date
}

/** One Firestore document with typed fields. */
export declare class Document implements DocumentData {
  constructor(name: string, fields?: DocumentFields, times?: { createTime?: Timestamp; updateTime?: Timestamp })
  name: string
  fields: DocumentFields
  createTime?: Timestamp
  updateTime?: Timestamp
  /** `col/doc` */
  readonly path: string
  /** The document id. */
  readonly id: string
}

/** A document from one line of Firestore REST JSON (as in a decrypted backup part). */
export declare function decodeDocument(json: string | Buffer | Uint8Array): Document
/** One line of Firestore REST JSON for a document, exactly as backups store it. */
export declare function encodeDocument(document: DocumentData): string

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

// ---------------------------------------------------------------------------------------
// Keys and Firestore

/** AWS KMS options; anything not given comes from the AWS default chain (env, profile, role). */
export interface AwsKmsOptions {
  region?: string
  /** A VPC endpoint or a test server. */
  endpoint?: string
  profile?: string
  accessKeyId?: string
  secretAccessKey?: string
  sessionToken?: string
}

/** Google Cloud KMS options; credentials default to the Google chain (GOOGLE_APPLICATION_CREDENTIALS, gcloud ADC, metadata server). */
export interface GcpKmsOptions {
  /** A private endpoint, or a plaintext `http://127.0.0.1:PORT` test server (sent no credentials). */
  endpoint?: string
  /** A service-account key JSON file. */
  credentials?: string
  /** A ready OAuth access token (not refreshed). */
  accessToken?: string
}

/** A key provider. Make one with the static methods. */
export declare class Key {
  private constructor()
  /** A passphrase (PBKDF2-HMAC-SHA256; `iterations` default 600,000). */
  static passphrase(passphrase: string, iterations?: number): Key
  /** A raw key (BYOK): 32 bytes or their base64 (`openssl rand -base64 32`). */
  static raw(key: string | Uint8Array): Key
  /** A fresh random raw key and its base64 (a secret: store it safely). */
  static generateRaw(): { key: Key; base64: string }
  /** An AWS KMS key (id, ARN or alias). */
  static awsKms(keyId: string, options?: AwsKmsOptions): Promise<Key>
  /** A Google Cloud KMS key: `projects/P/locations/L/keyRings/R/cryptoKeys/K`. */
  static gcpKms(keyName: string, options?: GcpKmsOptions): Promise<Key>
  /**
   * A key inside an HSM, by its RFC 7512 URI
   * `pkcs11:token=<label>;object=<key label>?module-path=/path/vendor.so&pin-source=file:/pin`
   * (PIN from `pin-source` or `FIREKEEP_PKCS11_PIN`, never the URI).
   */
  static pkcs11(uri: string): Promise<Key>
  /** `passphrase`, `raw`, `aws-kms` or `gcp-kms`. */
  readonly kind: 'passphrase' | 'raw' | 'aws-kms' | 'gcp-kms' | (string & {})
  /** The non-secret key id recorded with each backup. */
  readonly keyId: string
}

/** How to reach Firestore. */
export interface FirestoreOptions {
  /** Default `(default)`. */
  database?: string
  /** A service-account JSON file (else application default credentials). */
  credentials?: string
  /** `host:port` of an emulator or test server (else env FIRESTORE_EMULATOR_HOST). */
  emulatorHost?: string
}

/** A Firestore database to back up from, restore into or compare with. */
export declare class Firestore {
  constructor(project: string, options?: FirestoreOptions)
  readonly project: string
  readonly database: string
}

// ---------------------------------------------------------------------------------------
// Client

/** One audit event, in the shape DESIGN.md fixes. */
export interface AuditEvent {
  id: string
  /** RFC 3339 with milliseconds. */
  timestamp: string
  /** e.g. `backup.created`, `backup.restored`, `authorization.denied`. */
  action: string
  actor: { type: string; id: string; email?: string | null }
  resource: { type: string; id: string }
  organization: { id: string }
  context: { ip?: string | null; userAgent?: string | null; location?: string | null }
  details: Record<string, unknown>
  [extra: string]: unknown
}

/** Who the caller is, for audit events and MFA conditions. */
export interface RequestContext {
  ip?: string
  /** Default `firekeep-node/<version>`. */
  userAgent?: string
  location?: string
  /** Whether the caller used a second factor (policies may require it). */
  mfa?: boolean
}

export interface ClientOptions {
  /** A path, `file:///path`, `s3://bucket/prefix`, `gs://bucket/prefix` or `az://container/prefix`. */
  repository: string
  key: Key
  /** Object-store options (`region`, `endpoint`, `allow_http`, `access_key_id` ...; see docs/storage.md). */
  storageOptions?: Record<string, string | number | boolean>
  /** Default `default`. */
  organization?: string
  /** `user:ID`, `user:EMAIL` or `apikey:ID`. Without a policy, this user owns the repository. */
  principal?: string
  /** A policy file path, or its TOML or JSON text. Needs `principal`. */
  policy?: string
  /** `'memory'` (default), a JSONL file path, or a function receiving each batch of events. */
  audit?: 'memory' | string | ((events: AuditEvent[]) => void)
  /** Create a missing local repository folder (default true; false makes it ERR_NOT_FOUND). */
  create?: boolean
  /** Caller details recorded in audit events. */
  context?: RequestContext
  /** A caller verified by `Authenticator.authenticate` to act as (instead of `principal`; sets `mfa`). */
  identity?: Identity
  /** Called with each alert the policy's `[alerts]` rules raise (see docs/security.md). */
  onAlert?: (alert: Alert) => void
}

/** An alert raised by the policy's `[alerts]` rules on an audit event. */
export interface Alert {
  /** `denials`, `outside_working_hours`, `audit_exported` or `key_rotation_failed`. */
  rule: string
  /** What happened, for a person. */
  message: string
  /** When the triggering event happened (RFC 3339). */
  timestamp: string
  organization: string
  /** Who acted (as in audit events). */
  actor: { type: string; id: string; email: string | null }
  /** The audit events that triggered it. */
  event_ids: string[]
}

/** The phase a long operation is in. */
export type Phase = 'preparing' | 'backup' | 'verify' | 'restore' | 'diff' | 'delete' | 'rotate' | 'finishing' | 'done'

/** One progress report; rates are averages since the start. */
export interface Progress {
  /** Which client method reports (`backup`, `verify`, `restore`, `diff`, `prune`, `rotateKey`). */
  operation: string
  phase: Phase
  documents: number
  totalDocuments: number | null
  bytes: number
  parts: number
  totalParts: number | null
  /** Seconds since the start. */
  elapsed: number
  docsPerSec: number
  bytesPerSec: number
  /** Seconds left, when a total is known. */
  eta: number | null
}

/** Options every operation takes. */
export interface OperationOptions {
  /** Cancels the operation: it rejects with CancelledError (a cancelled backup leaves no manifest). */
  signal?: AbortSignal
}

/** Options of long operations. */
export interface ProgressOptions extends OperationOptions {
  /** Called with each progress report (on the event loop, never blocking the work). */
  progress?: (progress: Progress) => void
}

export interface BackupOptions extends ProgressOptions {
  /** Top-level collections to back up (default: the whole database). */
  collections?: string[]
  /** Include their subcollections (default true). */
  subcollections?: boolean
  /** Top-level collections to leave out. */
  exclude?: string[]
  /** A past read time (point-in-time backup): within 1 hour, or whole minutes within 7 days with PITR. */
  readTime?: Date | Timestamp | string
  labels?: Record<string, string>
  /** Parallel readers (default from the core). */
  parallelism?: number
}

export interface VerifyOptions extends ProgressOptions {
  /** Reject with IntegrityError on a bad part (default true); false returns the report. */
  throwOnError?: boolean
}

export interface RestoreOptions extends ProgressOptions {
  collections?: string[]
  subcollections?: boolean
  /** What to do with documents that exist: `overwrite` (default), `skip` or `fail`. */
  conflict?: 'overwrite' | 'skip' | 'fail'
  /** Plan only; write nothing. */
  dryRun?: boolean
  /** Verify every part before writing (default true). */
  verifyFirst?: boolean
}

export interface DiffOptions extends OperationOptions {
  /** At most this many names per list (default 100). */
  maxNames?: number
}

/**
 * restic's keep rules; at least one must be set. Durations: seconds or text in restic's
 * grammar (units y, m = months, w, d, h, s), like `7d`, `36h`, `1w2d`, `6m`.
 */
export interface PruneOptions extends OperationOptions {
  keepLast?: number
  keepHourly?: number
  keepDaily?: number
  keepWeekly?: number
  keepMonthly?: number
  keepYearly?: number
  /** Keep every backup within this long of the newest one. */
  keepWithin?: number | string
  /** Unfinished backups untouched this long are removed (default 1 hour). */
  orphanGrace?: number | string
  /** Plan only. */
  dryRun?: boolean
}

export interface BackupReport {
  backupId: string
  readTime: Timestamp
  startedAt: Timestamp
  /** Seconds. */
  duration: number
  project: string
  database: string
  documents: number
  bytes: number
  storedBytes: number
  parts: number
  collections: Record<string, { documents: number; bytes: number }>
  keyId: string
  repository: string
}

export interface BackupScope {
  collections: string[]
  exclude: string[]
  subcollections: boolean
}

export interface BackupSummary {
  id: string
  createdAt: Timestamp
  readTime: Timestamp
  project: string
  database: string
  scope: BackupScope
  documents: number
  bytes: number
  storedBytes: number
  parts: number
  keyId: string
  collections: Record<string, number>
  labels: Record<string, string>
}

/** A complete backup `list` could not open with the client's key. */
export interface UnreadableBackup {
  id: string
  /** From the id, when it is one firekeep made. */
  createdAt: Timestamp | null
  /** e.g. `ERR_KEY_MISMATCH`, `ERR_KEY_PROVIDER`, `ERR_INTEGRITY`. */
  code: ErrorCode
  /** What went wrong, naming the key id the backup needs where that is the problem. */
  message: string
}

/**
 * `Client.list`'s result: the readable backups, newest first; `unreadable` (not enumerable,
 * so not in JSON or spreads) holds the complete backups the client's key cannot open.
 */
export interface BackupList extends Array<BackupSummary> {
  readonly unreadable: UnreadableBackup[]
  /**
   * Backups the repository's head record names that are missing now or no longer
   * authenticate (deleted outside firekeep, or a rollback), newest first (not enumerable).
   */
  readonly missing: string[]
}

export interface PartProblem {
  object: string
  path: string
  /** `missing`, `size`, `hash`, `decrypt`, `decode`, `count`, `range`, `order`, `storage`. */
  kind: string
  detail: string
}

export interface VerifyReport {
  backupId: string
  /** Whether every part checked out. */
  ok: boolean
  parts: number
  partsOk: number
  documents: number
  bytes: number
  problems: PartProblem[]
  unexpectedObjects: string[]
  duration: number
}

export interface FailedDocument {
  name: string
  /** gRPC status name. */
  code: string
  message: string
}

export interface RestoreReport {
  backupId: string
  project: string
  database: string
  dryRun: boolean
  documents: number
  written: number
  skipped: number
  failed: FailedDocument[]
  partsRead: number
  duration: number
}

export interface DiffReport {
  from: string
  /** A backup id or `live@<read time>`. */
  to: string
  added: number
  removed: number
  changed: number
  unchanged: number
  addedNames: string[]
  removedNames: string[]
  changedNames: string[]
  truncated: boolean
}

export interface PruneResult {
  plan: {
    keep: { id: string; reasons: string[] }[]
    remove: string[]
    orphans: string[]
    objects: number
    bytes: number
    /** Folders the key cannot open or authenticate (another key, damaged, planted): never counted or deleted. */
    unreadable: UnreadableBackup[]
  }
  /** null on a dry run. */
  report: {
    removed: { id: string; objects: number; bytes: number }[]
    orphans: { id: string; objects: number; bytes: number }[]
    skipped: string[]
  } | null
}

export interface RotateReport {
  fromKeyId: string
  toKeyId: string
  rotated: string[]
  alreadyRotated: string[]
  /** Backups under neither key, left as they are: rotate them with their own key. */
  otherKeys: { id: string; keyId: string }[]
  /** Folders whose key.json or manifest does not read or authenticate: left as they are. */
  unreadable: UnreadableBackup[]
}

/** Policy actions (DESIGN.md's table). */
export type Action =
  | 'view_projects' | 'view_backups' | 'view_audit_logs' | 'export_audit_logs'
  | 'create_backup' | 'verify_backup' | 'restore_backup' | 'delete_backup'
  | 'manage_schedules' | 'configure_storage' | 'manage_keys' | 'manage_team'
  | 'manage_api_keys' | 'access_billing' | 'delete_organization' | 'manage_audit_retention'
  | 'erase_data' | 'export_data' | 'manage_legal_holds'

export interface Decision {
  action: Action
  allowed: boolean
  /** The rule that allows it, or why it is denied. */
  reason: string
}

/**
 * Authorized, audited access to one backup repository. Every operation returns a Promise,
 * runs off the event loop and is checked against the policy and audited. Progress goes to
 * each call's `progress` callback and to the client's `'progress'` event.
 */
export declare class Client extends EventEmitter {
  constructor(options: ClientOptions)
  /** Who acts, e.g. `user:alice`. */
  readonly principal: string
  readonly organization: string
  /** The repository (no credentials). */
  readonly repository: string
  /** The key id new backups are wrapped under. */
  readonly keyId: string
  backup(source: Firestore, options?: BackupOptions): Promise<BackupReport>
  /** Complete backups, newest first; those this key cannot open are in `.unreadable`. */
  list(options?: OperationOptions): Promise<BackupList>
  verify(backupId: string, options?: VerifyOptions): Promise<VerifyReport>
  restore(backupId: string, target: Firestore, options?: RestoreOptions): Promise<RestoreReport>
  /** Compares a backup with another backup, or with the live database. */
  diff(fromId: string, to: string | Firestore, options?: DiffOptions): Promise<DiffReport>
  prune(options: PruneOptions): Promise<PruneResult>
  /** Re-wraps every backup's data key under `newKey`; use a Client with `newKey` afterwards. */
  rotateKey(newKey: Key, options?: OperationOptions): Promise<RotateReport>
  /** Erases documents from every backup holding them; needs `erase_data`; a held backup refuses it. */
  erase(options: EraseOptions): Promise<EraseReport>
  /** Writes a backup's documents, decrypted, into directory `out`; needs `export_data`. */
  export(backupId: string, out: string, options?: ExportOptions): Promise<ExportReport>
  /** Places a legal hold (prune and erase refuse the backup); needs `manage_legal_holds`. */
  hold(backupId: string, reason?: string): Promise<LegalHold>
  /** Releases a legal hold; null when the backup was not held. */
  releaseHold(backupId: string): Promise<LegalHold | null>
  /** Whether the principal may do `action` (no audit event; operations check again). */
  check(action: Action, resource?: { project?: string; database?: string; collections?: string[] }): Decision
  /**
   * `check` as an audited operation: resolves with the Decision when allowed; a denial is
   * recorded (`authorization.denied`) and rejects with AuthorizationDeniedError.
   */
  authorize(action: Action, resource?: { project?: string; database?: string; collections?: string[] }): Promise<Decision>
  /**
   * The events the memory or file audit sink holds (rejects for a callback sink). Needs
   * `view_audit_logs`; recorded as `audit.viewed`.
   */
  auditEvents(): Promise<AuditEvent[]>
  /**
   * Verifies the hash chain of this client's trail; a break rejects with IntegrityError
   * naming the first bad event. Needs `view_audit_logs`; recorded as `audit.verified`.
   */
  auditVerify(): Promise<{ events: number; hash: string }>
  /** The trail as JSON or CSV text, filtered. Needs `export_audit_logs`; recorded as `audit.exported`. */
  auditExport(format?: 'json' | 'csv', options?: AuditExportOptions): Promise<string>
}

// The 'progress' event, typed (as overloads, so any @types/node version accepts them).
export declare interface Client {
  on(event: 'progress', listener: (progress: Progress) => void): this
  on(event: string | symbol, listener: (...args: any[]) => void): this
  once(event: 'progress', listener: (progress: Progress) => void): this
  once(event: string | symbol, listener: (...args: any[]) => void): this
  off(event: 'progress', listener: (progress: Progress) => void): this
  off(event: string | symbol, listener: (...args: any[]) => void): this
  addListener(event: 'progress', listener: (progress: Progress) => void): this
  addListener(event: string | symbol, listener: (...args: any[]) => void): this
  removeListener(event: 'progress', listener: (progress: Progress) => void): this
  removeListener(event: string | symbol, listener: (...args: any[]) => void): this
  prependListener(event: 'progress', listener: (progress: Progress) => void): this
  prependListener(event: string | symbol, listener: (...args: any[]) => void): this
  emit(event: 'progress', progress: Progress): boolean
  emit(event: string | symbol, ...args: any[]): boolean
}

// ---------------------------------------------------------------------------------------
// Audit trail

export interface AuditExportOptions {
  since?: Date | Timestamp | string
  until?: Date | Timestamp | string
  /** Action names or prefixes (`backup.*`). */
  actions?: string[]
}

/**
 * Verifies the hash chain of events you hold (e.g. from an `audit` callback); a break
 * throws AuditError naming the first bad event. A client's own trail: `client.auditVerify()`.
 */
export declare function auditVerify(events: AuditEvent[]): { events: number; hash: string }

/** A caller verified by an `Authenticator`. */
export declare class Identity {
  private constructor()
  /** `user:ID` or `apikey:ID`. */
  readonly principal: string
  /** The fields as JSON (see `identityInfo`). */
  toJsonString(): string
}

/** What `identityInfo` returns. */
export interface IdentityInfo {
  principal: string
  kind: 'user' | 'api_key'
  id: string
  email: string | null
  organization: string
  mfa: boolean
  method: 'jwt' | 'api_key'
  expires_at: string | null
}

/** Which callers an `Authenticator` accepts. */
export interface AuthenticatorOptions {
  /** A policy file path, or its TOML or JSON text: callers must be its members or keys. */
  policy: string
  /** Default `default`. */
  organization?: string
  /** Accept the policy's API keys (`Bearer fk_…`; default true). */
  apiKeys?: boolean
  /** Accept Google ID tokens for this OAuth client id. */
  googleClientId?: string
  /** Accept Firebase Auth ID tokens of this project (a second factor sets `mfa`). */
  firebaseProject?: string
  /** Accept ID tokens of an OIDC issuer, keys from its JWKS URL. */
  oidc?: { issuer: string; audience: string; jwksUrl: string }
  /** Accept HS256 tokens signed with a shared secret (at least 32 bytes). */
  hs256?: { issuer: string; audience: string; secret: Buffer | Uint8Array | string }
}

/** Verifies `Authorization: Bearer …` header values (ID tokens, JWTs, API keys). */
export declare class Authenticator {
  constructor(options: AuthenticatorOptions)
  /** Resolves with the caller; rejects with UnauthenticatedError. */
  authenticate(authorization: string | undefined | null): Promise<Identity>
}

/** The identity's fields. */
export declare function identityInfo(identity: Identity): IdentityInfo

/** Who manages keys or reviews access. */
export interface AdminOptions {
  /** The policy file. */
  policy: string
  /** `user:ID` or `user:EMAIL` of a member with manage_api_keys / manage_team. */
  principal: string
  organization?: string
  /** The JSONL audit trail (default: memory). */
  audit?: string
}

/** One API key as listed (never its secret). */
export interface ApiKeyInfo {
  id: string
  organization: string
  created_by: string
  actions: string[]
  projects: string[] | null
  created_at: string | null
  rotated_at: string | null
  expires_at: string | null
  revoked_at: string | null
  state: 'active' | 'in_grace' | 'expired' | 'revoked' | 'no_secret'
}

/** Creates an API key; resolves with its secret, shown only now. */
export declare function apiKeyCreate(options: AdminOptions, keyId: string, key: { actions: Action[]; projects?: string[]; expiresInDays?: number }): Promise<string>
/** Rotates an API key; resolves with the new secret (the old one works for `graceHours`, default 24). */
export declare function apiKeyRotate(options: AdminOptions, keyId: string, rotation?: { graceHours?: number; expiresInDays?: number }): Promise<string>
/** Revokes an API key. */
export declare function apiKeyRevoke(options: AdminOptions, keyId: string): Promise<void>
/** The organization's keys. */
export declare function apiKeyList(policy: string, options?: { organization?: string }): ApiKeyInfo[]
/** The access review: members, API keys and findings (see docs/identity.md). */
export declare function accessReview(options: AdminOptions, review?: { inactiveDays?: number; rotationDays?: number; applyInactive?: boolean }): Promise<{ organization: string; members: object[]; api_keys: object[]; findings: { kind: string; subject: string; message: string }[] }>

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
