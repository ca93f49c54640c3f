'use strict'
// The restore service as an Express app, built from what server.js hands in (Express,
// firekeep's Authenticator, a Client factory) so that tests start the real app on a
// loopback port without a deployment.
//
// Every request is authenticated first: `Authorization: Bearer <ID token, JWT or API key>`
// is verified by firekeep's Authenticator against the policy (signature, issuer, audience,
// expiry; API keys by hash, revocation and expiry). The route then acts as the verified
// caller: the policy decides what it may do, and the audit trail names it.
const { createRestoreHandler } = require('./restore-route.js')

/** Express middleware: `req.identity` from the Authorization header, or 401. */
function authenticate(authenticator) {
  return async function authenticateRequest(req, res, next) {
    let identity
    try {
      identity = await authenticator.authenticate(req.headers.authorization)
    } catch (e) {
      // The message says why (expired, wrong audience, revoked key …) and never holds the
      // credential, so it is safe to return.
      const status = e.code === 'ERR_UNAUTHENTICATED' ? 401 : 500
      if (status === 401) res.set('WWW-Authenticate', 'Bearer')
      return res.status(status).json({ error: e.message, code: e.code || 'ERR_INTERNAL' })
    }
    req.identity = identity
    next()
  }
}

/**
 * @param {object} deps
 * @param {typeof import('express')} deps.express
 * @param {import('firekeep').Authenticator} deps.authenticator
 * @param {(who: {identity: import('firekeep').Identity}, context: object) => import('firekeep').Client} deps.clientFor
 * @param {(project: string, database: string) => import('firekeep').Firestore} deps.firestore
 */
function createApp({ express, authenticator, clientFor, firestore }) {
  const app = express()
  app.disable('x-powered-by')
  app.use(express.json({ limit: '16kb' }))
  app.set('trust proxy', true) // req.ip from the load balancer's X-Forwarded-For
  app.post('/backups/:backupId/restore', authenticate(authenticator), createRestoreHandler({
    clientFor,
    firestore,
    // Only the verified identity: no header a client could forge names the caller.
    callerOf: (req) => (req.identity ? { identity: req.identity } : null),
  }))
  return app
}

module.exports = { createApp, authenticate }
