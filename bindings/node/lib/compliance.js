'use strict'
// Client.erase / export / hold / releaseHold: argument checks and camelCase reports over the
// native methods (the core does the erasure, export and hold). Installed on the Client
// class by lib/client.js, which passes its operation runner (signal and progress wiring).
const { Timestamp, encodeValue } = require('./values.js')
const { call, typeError, rangeError } = require('./errors.js')
const { kNative, optObject, str, optStrings, optBool } = require('./args.js')

// A Rust Duration serialises as {secs, nanos}.
const secs = (d) => (d && typeof d === 'object' ? d.secs + (d.nanos || 0) / 1e9 : d)

function eraseReport(r) {
  return {
    dryRun: r.dry_run,
    documents: r.documents,
    duration: secs(r.duration),
    backups: r.backups.map((b) => ({
      backupId: b.backup_id,
      documents: b.documents,
      partsRead: b.parts_read,
      partsRewritten: b.parts_rewritten,
      partsDropped: b.parts_dropped,
      partsUnchanged: b.parts_unchanged,
      generation: b.generation,
      objectsDeleted: b.objects_deleted,
    })),
  }
}

function exportReport(r) {
  return { backupId: r.backup_id, format: r.format, documents: r.documents, files: r.files, partsRead: r.parts_read }
}

function legalHold(h) {
  if (h === null) return null
  const out = { backupId: h.backup_id, heldAt: Timestamp.parse(h.held_at), reason: h.reason }
  if (h.object_lock) {
    const o = h.object_lock
    out.objectLock = { status: o.status, objects: o.objects, detail: o.detail ?? null }
  }
  return out
}

const FORMATS = ['ndjson', 'json', 'csv']

/** Adds the compliance methods to `Client`; `run` is lib/client.js's operation runner. */
function install(Client, run) {

  /**
   * Erases documents from every backup holding them (or `backups`): by relative `paths`
   * and/or every document of `collectionGroup` whose `field` equals `equals`, with their
   * subcollections when `subcollections`. Needs `erase_data`; a held backup refuses it.
   */
  Client.prototype.erase = async function erase(options) {
    const o = optObject('options', options)
    const hasMatch = o.collectionGroup !== undefined || o.field !== undefined || 'equals' in o
    if (hasMatch && (o.collectionGroup === undefined || o.field === undefined || !('equals' in o))) {
      throw typeError('a field match needs collectionGroup, field and equals together')
    }
    const opts = {
      paths: optStrings('paths', o.paths),
      collectionGroup: hasMatch ? str('collectionGroup', o.collectionGroup) : undefined,
      field: hasMatch ? str('field', o.field) : undefined,
      // The same value mapping as documents (numbers that are safe integers are integers;
      // wrap in Double for a double).
      equalsJson: hasMatch ? encodeValue(o.equals) : undefined,
      subcollections: optBool('subcollections', o.subcollections),
      backups: optStrings('backups', o.backups),
      dryRun: optBool('dryRun', o.dryRun),
    }
    const raw = await run(this, 'erase', o, (_p, t) => this[kNative].erase(opts, t))
    return eraseReport(JSON.parse(raw))
  }

  /**
   * Writes a backup's documents, decrypted, into directory `out`: `ndjson`
   * (`documents.ndjson`, default), `json` (`documents.json`) or `csv` (one file per
   * collection, formula cells defused). Needs `export_data`.
   */
  Client.prototype.export = async function exportBackup(backupId, out, options) {
    str('backupId', backupId)
    str('out', out)
    const o = optObject('options', options)
    const format = o.format === undefined ? 'ndjson' : str('format', o.format)
    if (!FORMATS.includes(format)) throw rangeError(`format ${JSON.stringify(format)} is not "ndjson", "json" or "csv"`)
    const collections = optStrings('collections', o.collections)
    const raw = await run(this, 'export', o, (_p, t) => this[kNative].export(backupId, out, collections, format, t))
    return exportReport(JSON.parse(raw))
  }

  /** Places a legal hold: prune and erase refuse the backup until it is released. Needs `manage_legal_holds`. */
  Client.prototype.hold = async function hold(backupId, reason = '') {
    str('backupId', backupId)
    str('reason', reason)
    return legalHold(JSON.parse(await call(() => this[kNative].hold(backupId, reason))))
  }

  /** Releases a legal hold; resolves with it, or null when the backup was not held. */
  Client.prototype.releaseHold = async function releaseHold(backupId) {
    str('backupId', backupId)
    return legalHold(JSON.parse(await call(() => this[kNative].releaseHold(backupId))))
  }
}

module.exports = { install }
