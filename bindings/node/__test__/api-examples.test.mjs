// The examples in examples/node, exercised for real: the Express restore route's role check
// with a fake req/res (Express itself is not needed), and the scheduled function's job, both
// against the Firestore test server with a local repository. Plus `node --check` of every
// example file, since firebase-functions and express are not installed here.
import test from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Client, Firestore, Key, generateDataKey } from '../lib/index.mjs'

const require = createRequire(import.meta.url)
const { startFirestore, tmpdir } = require('./_helpers.js')
const EXAMPLES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../examples/node')
const { createRestoreHandler, iapCaller, statusFor } = require(path.join(EXAMPLES, 'express-restore/restore-route.js'))
const { backupAndPrune } = require(path.join(EXAMPLES, 'scheduled-backup/backup-job.js'))

const ORG = 'acme'
const POLICY = `
version = 1

[[members]]
id = "alice"
email = "alice@example.com"
organization = "acme"
role = "admin"

[[members]]
id = "mel"
email = "mel@example.com"
organization = "acme"
role = "member"

[[members]]
id = "victor"
email = "victor@example.com"
organization = "acme"
role = "viewer"
`

let server, repo, key, policyFile, backupId, backedUp
const audit = []

test.before(async () => {
  server = await startFirestore(['--seed-demo', '--demo-project', 'shop', '--demo-docs', '40'])
  repo = tmpdir('fk-examples-')
  key = Key.raw(generateDataKey())
  policyFile = path.join(tmpdir('fk-policy-'), 'policy.toml')
  fs.writeFileSync(policyFile, POLICY)
  const owner = new Client({ repository: repo, key, organization: ORG })
  const r = await owner.backup(new Firestore('shop', { emulatorHost: server.host }))
  backupId = r.backupId
  backedUp = r.documents
})

test.after(async () => { if (server) await server.stop() })

function handler() {
  return createRestoreHandler({
    clientFor: (who, context) => new Client({
      ...who, repository: repo, key, organization: ORG, policy: policyFile, create: false, context,
      audit: (events) => audit.push(...events),
    }),
    firestore: (project, database) => new Firestore(project, { database, emulatorHost: server.host }),
  })
}

/** The bits of Express's req/res the route uses. */
function call(route, { email, backup = backupId, body }) {
  const headers = { 'user-agent': 'api-examples-test' }
  if (email) headers['x-goog-authenticated-user-email'] = `accounts.google.com:${email}`
  const req = { headers, params: { backupId: backup }, body, ip: '198.51.100.4' }
  const res = {
    statusCode: 200,
    body: undefined,
    status(c) { this.statusCode = c; return this },
    json(b) { this.body = b; return this },
  }
  return route(req, res).then(() => res)
}

/** Documents in `project`'s database, counted through a diff against the backup. */
async function documentsIn(project) {
  const owner = new Client({ repository: repo, key, organization: ORG })
  const d = await owner.diff(backupId, new Firestore(project, { emulatorHost: server.host }))
  return d.unchanged + d.changed + d.added
}

test('restore route: callers without the role get 403 and an audit event; nothing is written', async () => {
  const route = handler()
  for (const email of ['victor@example.com', 'mel@example.com', 'stranger@example.com']) {
    audit.length = 0
    const res = await call(route, { email, body: { project: 'restored-denied' } })
    assert.equal(res.statusCode, 403, `${email}: ${JSON.stringify(res.body)}`)
    assert.equal(res.body.code, 'ERR_AUTHORIZATION_DENIED')
    const denied = audit.filter((e) => e.action === 'authorization.denied')
    assert.equal(denied.length, 1, `${email}: one denial event`)
    assert.equal(denied[0].details.attempted, 'backup.restored')
    assert.equal(denied[0].context.ip, '198.51.100.4')
    assert.equal(denied[0].context.userAgent, 'api-examples-test')
  }
  assert.equal(await documentsIn('restored-denied'), 0)
})

test('restore route: 401 without a caller, 400 without a project, 404 for a missing backup', async () => {
  const route = handler()
  assert.equal((await call(route, { body: { project: 'x' } })).statusCode, 401)
  assert.equal((await call(route, { email: 'alice@example.com', body: {} })).statusCode, 400)
  const missing = await call(route, { email: 'alice@example.com', backup: 'bk_20200101T000000.000Z_00000000', body: { project: 'x' } })
  assert.equal(missing.statusCode, 404, JSON.stringify(missing.body))
  assert.equal(missing.body.code, 'ERR_NOT_FOUND')
})

test('restore route: an Admin restores (dry run first), and a second restore conflicts', async () => {
  const route = handler()
  const dry = await call(route, { email: 'alice@example.com', body: { project: 'restored', dryRun: true } })
  assert.equal(dry.statusCode, 200, JSON.stringify(dry.body))
  assert.equal(dry.body.dryRun, true)
  assert.equal(await documentsIn('restored'), 0)
  audit.length = 0
  const res = await call(route, { email: 'alice@example.com', body: { project: 'restored' } })
  assert.equal(res.statusCode, 200, JSON.stringify(res.body))
  assert.equal(res.body.written, backedUp)
  assert.equal(await documentsIn('restored'), backedUp)
  const restored = audit.find((e) => e.action === 'backup.restored')
  assert.ok(restored, JSON.stringify(audit.map((e) => e.action)))
  assert.equal(restored.actor.email, 'alice@example.com')
  // The route's default conflict mode is `fail`: existing documents are reported, not overwritten.
  const again = await call(route, { email: 'alice@example.com', body: { project: 'restored' } })
  assert.equal(again.statusCode, 409, JSON.stringify(again.body))
  assert.equal(again.body.failed, backedUp)
  assert.equal(again.body.written, 0)
})

test('restore route helpers: IAP header parsing and the status map', () => {
  assert.equal(iapCaller({ headers: { 'x-goog-authenticated-user-email': 'accounts.google.com:a@b.c' } }), 'a@b.c')
  assert.equal(iapCaller({ headers: { 'x-goog-authenticated-user-email': 'nobody' } }), null)
  assert.equal(iapCaller({ headers: {} }), null)
  assert.equal(statusFor('ERR_AUTHORIZATION_DENIED'), 403)
  assert.equal(statusFor('ERR_OUT_OF_RANGE'), 400)
  assert.equal(statusFor('ERR_INTEGRITY'), 500)
})

test('scheduled job: backup, verify, prune keeps the newest N', async () => {
  const repository = tmpdir('fk-sched-')
  const client = new Client({ repository, key })
  const source = new Firestore('shop', { emulatorHost: server.host })
  const lines = []
  const log = { info: (m) => lines.push(m) }
  const ids = []
  for (let i = 0; i < 3; i++) {
    const r = await backupAndPrune({ client, source, retention: { keepLast: 2 }, labels: { run: String(i) }, log })
    assert.equal(r.documents, backedUp)
    assert.ok(r.verifiedParts >= 1)
    ids.push(r.backupId)
  }
  const left = (await client.list()).map((b) => b.id).sort()
  assert.deepEqual(left, ids.slice(1).sort())
  assert.ok(lines.some((l) => l.includes('removed 1 backups')), lines.join('\n'))
})

test('every example file parses (node --check)', () => {
  const files = []
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.name === 'node_modules') continue
      const p = path.join(d, e.name)
      if (e.isDirectory()) walk(p)
      else if (/\.(c|m)?js$/.test(e.name)) files.push(p)
    }
  }
  walk(EXAMPLES)
  assert.ok(files.length >= 4, files.join(', '))
  for (const f of files) execFileSync(process.execPath, ['--check', f])
})
