// Types of Client.erase / export / hold / releaseHold (lib/compliance.js), re-exported by
// index.d.ts.

import type { FirestoreValue, OperationOptions, Timestamp } from './index'

/**
 * Which documents to erase, and from which backups. Give `paths` and/or a field match
 * (`collectionGroup`, `field` and `equals` together).
 */
export interface EraseOptions extends OperationOptions {
  /** Relative document paths, e.g. `users/alice`. */
  paths?: string[]
  /** A collection id: `orders` matches `orders/…` and `users/u1/orders/…`. */
  collectionGroup?: string
  /** Field path, dotted for nested maps (`owner.id`). */
  field?: string
  /** The value the field must equal (same type and value; a safe-integer number is an integer). */
  equals?: FirestoreValue
  /** Also erase the subcollections of each selected document (default false). */
  subcollections?: boolean
  /** Backups to erase from (default: every backup the key opens). */
  backups?: string[]
  /** Only report what would change (default false). */
  dryRun?: boolean
}

/** What an erasure did (or would do) to one backup; counts only, never the documents. */
export interface BackupErasure {
  backupId: string
  documents: number
  partsRead: number
  partsRewritten: number
  /** Parts that held only erased documents. */
  partsDropped: number
  /** Parts left byte for byte as they were (never downloaded when their name range ruled them out). */
  partsUnchanged: number
  /** The backup's manifest generation after the run. */
  generation: number
  /** Superseded objects deleted (this run's, or a crashed run's leftovers). */
  objectsDeleted: number
}

export interface EraseReport {
  dryRun: boolean
  /** Every backup looked at, oldest first. */
  backups: BackupErasure[]
  /** Documents erased over all backups. */
  documents: number
  /** Seconds. */
  duration: number
}

export interface ExportOptions extends OperationOptions {
  /** Top-level collections (with their subcollections); default all. */
  collections?: string[]
  /** `ndjson` (default: `documents.ndjson`), `json` (`documents.json`) or `csv` (one file per collection). */
  format?: 'ndjson' | 'json' | 'csv'
}

export interface ExportReport {
  backupId: string
  format: 'ndjson' | 'json' | 'csv'
  documents: number
  /** File names written in `out`. */
  files: string[]
  /** Parts downloaded (the rest were ruled out by their name range). */
  partsRead: number
}

/** A legal hold on one backup. */
export interface LegalHold {
  backupId: string
  heldAt: Timestamp
  reason: string
  /**
   * What placing or releasing did to the S3 Object Lock legal holds on the backup's objects
   * (absent when the hold was only read). Storage option `object_legal_hold`: `auto`
   * (default), `required` or `off`.
   */
  objectLock?: ObjectLockOutcome
}

/** The store-level (S3 Object Lock) side of placing or releasing a legal hold. */
export interface ObjectLockOutcome {
  /** `applied`: every object held (place) or cleared (release); `not_supported`: the store or bucket has no Object Lock; `disabled`: `object_legal_hold=off`. */
  status: 'applied' | 'not_supported' | 'disabled'
  /** Objects whose S3 legal hold was set or cleared. */
  objects: number
  /** Why nothing was set, for `not_supported` and `disabled`. */
  detail: string | null
}
