'use strict'
// The core reports in snake_case JSON; these give JS callers camelCase keys, Timestamps for
// instants and seconds (numbers) for durations. User data (labels, collection names) is
// left as it is.
const { Timestamp } = require('./values.js')

const ts = (s) => (typeof s === 'string' ? Timestamp.parse(s) : s)
// A Rust Duration serialises as {secs, nanos}.
const secs = (d) => (d && typeof d === 'object' ? d.secs + (d.nanos || 0) / 1e9 : d)

function backupReport(r) {
  return {
    backupId: r.backup_id,
    readTime: ts(r.read_time),
    startedAt: ts(r.started_at),
    duration: secs(r.duration),
    project: r.project,
    database: r.database,
    documents: r.documents,
    bytes: r.bytes,
    storedBytes: r.stored_bytes,
    parts: r.parts,
    collections: r.collections || {},
    keyId: r.key_id,
    repository: r.repository,
  }
}

/**
 * An array of backup summaries with the unreadable backups as a non-enumerable property, so
 * that the array compares, spreads and serialises as the list of readable backups.
 */
function unreadable(u) {
  return { id: u.id, createdAt: u.created_at == null ? null : ts(u.created_at), code: u.code, message: u.message }
}

function backupList(l) {
  const list = l.backups.map(backupSummary)
  Object.defineProperty(list, 'unreadable', {
    value: l.unreadable.map(unreadable),
    enumerable: false,
  })
  // Backups the repository's head record names that are missing now (deleted outside
  // firekeep, or a rollback).
  Object.defineProperty(list, 'missing', {
    value: (l.rollback && l.rollback.missing) || [],
    enumerable: false,
  })
  return list
}

function backupSummary(b) {
  return {
    id: b.id,
    createdAt: ts(b.created_at),
    readTime: ts(b.read_time),
    project: b.project,
    database: b.database,
    scope: b.scope,
    documents: b.documents,
    bytes: b.bytes,
    storedBytes: b.stored_bytes,
    parts: b.parts,
    keyId: b.key_id,
    collections: b.collections || {},
    labels: b.labels || {},
  }
}

function verifyReport(r) {
  const problems = r.problems || []
  return {
    backupId: r.backup_id,
    ok: problems.length === 0 && r.parts_ok === r.parts,
    parts: r.parts,
    partsOk: r.parts_ok,
    documents: r.documents,
    bytes: r.bytes,
    problems,
    unexpectedObjects: r.unexpected_objects || [],
    duration: secs(r.duration),
  }
}

function restoreReport(r) {
  return {
    backupId: r.backup_id,
    project: r.project,
    database: r.database,
    dryRun: r.dry_run,
    documents: r.documents,
    written: r.written,
    skipped: r.skipped,
    failed: r.failed || [],
    partsRead: r.parts_read,
    duration: secs(r.duration),
  }
}

function diffReport(r) {
  return {
    from: r.from,
    to: r.to,
    added: r.added,
    removed: r.removed,
    changed: r.changed,
    unchanged: r.unchanged,
    addedNames: r.added_names || [],
    removedNames: r.removed_names || [],
    changedNames: r.changed_names || [],
    truncated: r.truncated,
  }
}

function pruneResult(r) {
  const p = r.plan
  return {
    plan: {
      keep: p.keep,
      remove: p.remove,
      orphans: p.orphans,
      objects: p.objects,
      bytes: p.bytes,
      unreadable: (p.unreadable || []).map(unreadable),
    },
    report: r.report ? { removed: r.report.removed, orphans: r.report.orphans, skipped: r.report.skipped } : null,
  }
}

function rotateReport(r) {
  return {
    fromKeyId: r.from_key_id,
    toKeyId: r.to_key_id,
    rotated: r.rotated || [],
    alreadyRotated: r.already_rotated || [],
    otherKeys: (r.other_keys || []).map((o) => ({ id: o.id, keyId: o.key_id })),
    unreadable: (r.unreadable || []).map(unreadable),
  }
}

module.exports = { backupReport, backupList, backupSummary, verifyReport, restoreReport, diffReport, pruneResult, rotateReport }
