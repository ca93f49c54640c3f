'use strict'
// The job a scheduled function runs: back up, verify, then apply the retention policy.
// Kept free of firebase-functions so it can run (and be tested) anywhere.

/**
 * Backs up `source` into `client`'s repository, verifies the new backup, then prunes by
 * `retention` (restic's keep rules). A failed verify throws before anything is pruned, so a
 * bad backup never pushes a good one out. Returns what happened, for the function's log.
 *
 * @param {object} job
 * @param {import('firekeep').Client} job.client  repository + key + principal (+ policy)
 * @param {import('firekeep').Firestore} job.source  the database to back up
 * @param {import('firekeep').PruneOptions} job.retention  e.g. { keepDaily: 7, keepWeekly: 4 }
 * @param {Record<string, string>} [job.labels]  recorded with the backup
 * @param {AbortSignal} [job.signal]  aborts the backup (it then leaves no manifest)
 * @param {{info: Function}} [job.log]
 */
async function backupAndPrune({ client, source, retention, labels = {}, signal, log = console }) {
  let lastLogged = 0
  const backup = await client.backup(source, {
    labels,
    signal,
    progress: (p) => {
      // One line every 10 s is plenty for Cloud Logging.
      if (p.elapsed - lastLogged >= 10) {
        lastLogged = p.elapsed
        log.info(`backup ${p.phase}: ${p.documents} documents, ${Math.round(p.docsPerSec)} docs/s`)
      }
    },
  })
  log.info(`backup ${backup.backupId}: ${backup.documents} documents, ${backup.storedBytes} bytes stored, read at ${backup.readTime}`)
  const verify = await client.verify(backup.backupId, { signal })
  const pruned = await client.prune({ ...retention, signal })
  const removed = pruned.report ? pruned.report.removed.map((r) => r.id) : []
  log.info(`prune: kept ${pruned.plan.keep.length}, removed ${removed.length} backups`)
  return { backupId: backup.backupId, documents: backup.documents, verifiedParts: verify.partsOk, kept: pruned.plan.keep.map((k) => k.id), removed }
}

module.exports = { backupAndPrune }
