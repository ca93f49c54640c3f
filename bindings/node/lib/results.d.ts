// Types of the `firekeep` package: what the Client's operations resolve with.
// Part of the API lib/index.d.ts re-exports.

import type { Client, ErrorCode, Timestamp, decrypt } from './index'

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
