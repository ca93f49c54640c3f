// Types of the `firekeep` package: Client options, progress and per-operation options.
// Part of the API lib/index.d.ts re-exports.

import type { Authenticator, CancelledError, Client, Identity, IntegrityError, Key, Timestamp, version } from './index'

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
  /** Encoding and sealing threads (default: one per core). */
  parallelism?: number
  /** Partitions read at once, one query stream each (default 16, at most 256). */
  readStreams?: number
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
