'use strict'
// An Express route handler that restores a backup for an authenticated caller, after
// checking the caller's role under the firekeep policy. Free of Express and of firekeep
// imports (both are passed in), so it can be tested with a fake req/res. app.js mounts it
// behind firekeep's Authenticator; standalone it can trust Identity-Aware Proxy instead.
//
// The role check is firekeep's: `client.authorize('restore_backup', ...)` evaluates the
// policy (Owner and Admin may restore; Member and Viewer may not) and, on a denial, records
// `authorization.denied` in the audit trail. The restore itself is authorized and audited
// again by the core.

/** IAP passes the verified caller as `accounts.google.com:alice@example.com`. */
const IAP_EMAIL = 'x-goog-authenticated-user-email'

/** The caller's e-mail from Identity-Aware Proxy's header (never trust it without IAP). */
function iapCaller(req) {
  const raw = String((req.headers && req.headers[IAP_EMAIL]) || '')
  const email = raw.slice(raw.indexOf(':') + 1)
  return email.includes('@') ? email : null
}

/** HTTP status for a firekeep error code (`err.code`). */
function statusFor(code) {
  switch (code) {
    case 'ERR_UNAUTHENTICATED': return 401
    case 'ERR_AUTHORIZATION_DENIED': return 403
    case 'ERR_NOT_FOUND': return 404
    case 'ERR_ALREADY_EXISTS': return 409
    case 'ERR_INVALID_INPUT':
    case 'ERR_INVALID_ARG_TYPE':
    case 'ERR_INVALID_ARG_VALUE':
    case 'ERR_OUT_OF_RANGE': return 400
    case 'ERR_CANCELLED': return 499
    default: return 500
  }
}

/**
 * @param {object} deps
 * @param {(who: {identity?: object, principal?: string}, context: object) => import('firekeep').Client} deps.clientFor
 *   a Client acting as `who` under the policy (`new Client({ ...who, ... })`)
 * @param {(project: string, database: string) => import('firekeep').Firestore} deps.firestore
 * @param {(req: object) => ({identity: object} | {principal: string} | null)} [deps.callerOf]
 *   who is calling (default: the IAP header's e-mail)
 * @returns {(req: object, res: object) => Promise<void>} for `app.post('/backups/:backupId/restore', ...)`
 */
function iapPrincipal(req) {
  const email = iapCaller(req)
  return email ? { principal: `user:${email}` } : null
}

function createRestoreHandler({ clientFor, firestore, callerOf = iapPrincipal }) {
  return async function restoreHandler(req, res) {
    const who = callerOf(req)
    if (!who) return res.status(401).json({ error: 'no authenticated caller; send Authorization: Bearer … or deploy behind IAP' })
    const { backupId } = req.params
    const { project, database = '(default)', collections, dryRun = false, conflict = 'fail' } = req.body || {}
    if (typeof project !== 'string' || typeof database !== 'string') {
      return res.status(400).json({ error: 'the body needs {"project": "...", "database"?: "..."}' })
    }
    try {
      // Inside the try: opening can fail too (e.g. an API key revoked since it was verified).
      const client = clientFor(who, {
        ip: req.ip,
        userAgent: req.headers && req.headers['user-agent'],
      })
      // The role check, before any work: a Viewer or Member gets 403 here (and an audit event).
      await client.authorize('restore_backup', { project, database, collections })
      // Abort the restore if the caller goes away (the core stops between batches).
      const ac = new AbortController()
      if (typeof res.on === 'function') res.on('close', () => { if (!res.writableFinished) ac.abort() })
      const report = await client.restore(backupId, firestore(project, database), {
        collections, dryRun, conflict, signal: ac.signal,
      })
      // With conflict 'fail', documents that exist are reported per document, not thrown.
      return res.status(report.failed.length ? 409 : 200).json({
        backupId,
        target: `${project}/${database}`,
        dryRun: report.dryRun,
        documents: report.documents,
        written: report.written,
        skipped: report.skipped,
        failed: report.failed.length,
      })
    } catch (e) {
      // firekeep's messages say what to do and never hold secrets: safe to return.
      return res.status(statusFor(e.code)).json({ error: e.message, code: e.code || 'ERR_INTERNAL' })
    }
  }
}

module.exports = { createRestoreHandler, iapCaller, statusFor }
