// Types of the `firekeep` package: the Client (authorized, audited operations on one repository).
// Part of the API lib/index.d.ts re-exports.

import { EventEmitter } from 'node:events'
import type { Action, AuditEvent, AuditExportOptions, AuthorizationDeniedError, BackupList, BackupOptions, BackupReport, ClientOptions, Decision, DiffOptions, DiffReport, EraseOptions, EraseReport, ExportOptions, ExportReport, Firestore, IntegrityError, Key, LegalHold, OperationOptions, Progress, PruneOptions, PruneResult, RestoreOptions, RestoreReport, RotateReport, VerifyOptions, VerifyReport, auditVerify, version } from './index'

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
