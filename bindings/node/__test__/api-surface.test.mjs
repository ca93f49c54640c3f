// The package's surface: CJS and ESM give the same objects, lib/index.d.ts declares exactly
// what exists at runtime, and the API-level behaviour the other suites do not cover (policy
// checks, request context, progress fan-out, retention arguments, key secrecy).
import test from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import fs from 'node:fs'
import path from 'node:path'
import util from 'node:util'
import { fileURLToPath } from 'node:url'
import * as esm from '../lib/index.mjs'
import fkDefault from '../lib/index.mjs'

const require = createRequire(import.meta.url)
const cjs = require('../lib/index.js')
const { startFirestore, tmpdir } = require('./_helpers.js')
const HERE = path.dirname(fileURLToPath(import.meta.url))
const { Client, Firestore, Key, generateDataKey, AuthorizationDeniedError } = esm

const POLICY = JSON.stringify({
  version: 1,
  members: [
    { id: 'olga', email: 'olga@example.com', organization: 'acme', role: 'owner' },
    { id: 'vera', email: 'vera@example.com', organization: 'acme', role: 'viewer' },
  ],
})

test('CommonJS and ESM export the same objects', () => {
  const names = Object.keys(cjs).filter((k) => k !== 'default').sort()
  assert.deepEqual(Object.keys(esm).filter((k) => k !== 'default').sort(), names)
  for (const k of names) assert.equal(esm[k], cjs[k], k)
  assert.equal(fkDefault, cjs)
  assert.equal(cjs.default, cjs)
  assert.equal(cjs.version, JSON.parse(fs.readFileSync(path.join(HERE, '..', 'package.json'), 'utf8')).version)
})

// lib/index.d.ts and the type modules it re-exports (`export * from './x'`), as one text.
function declarations() {
  const dir = path.join(HERE, '..', 'lib')
  const index = fs.readFileSync(path.join(dir, 'index.d.ts'), 'utf8')
  const modules = [...index.matchAll(/^export \* from '\.\/(\w+)'/gm)].map((m) => fs.readFileSync(path.join(dir, `${m[1]}.d.ts`), 'utf8'))
  assert.ok(modules.length > 0)
  return [index, ...modules].join('\n')
}

test('lib/index.d.ts declares every runtime export, and nothing that does not exist', () => {
  const dts = declarations()
  const declared = new Set([...dts.matchAll(/^export declare (?:class|function|const) (\w+)/gm)].map((m) => m[1]))
  const runtime = Object.keys(cjs).filter((k) => k !== 'default')
  assert.deepEqual([...declared].sort(), runtime.sort())
  // And every class member the types promise on the Client exists.
  const members = [...dts.slice(dts.indexOf('export declare class Client')).split('\n}')[0].matchAll(/^ {2}(?:readonly )?(\w+)[(:]/gm)].map((m) => m[1])
  for (const m of members.filter((m) => m !== 'constructor')) {
    assert.ok(m in Client.prototype, `Client.${m} is declared but missing`)
  }
  assert.ok(members.includes('authorize') && members.includes('backup'))
})

test('check is a pure policy decision; authorize audits a denial; context lands in events', async () => {
  const repository = tmpdir('fk-surface-')
  const key = Key.raw(generateDataKey())
  const events = []
  const opts = { repository, key, organization: 'acme', policy: POLICY, audit: (e) => events.push(...e) }
  const owner = new Client({ ...opts, principal: 'user:olga@example.com' })
  const viewer = new Client({ ...opts, principal: 'user:vera@example.com', context: { ip: '192.0.2.1', location: 'eu-west' } })

  assert.deepEqual(owner.check('restore_backup', { project: 'p' }).allowed, true)
  const d = viewer.check('restore_backup', { project: 'p', database: '(default)', collections: ['users'] })
  assert.equal(d.allowed, false)
  assert.equal(d.action, 'restore_backup')
  assert.ok(d.reason.length > 0)
  assert.equal(viewer.check('view_backups').allowed, true)
  assert.throws(() => viewer.check('drop_everything'), (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG_VALUE' && /restore_backup/.test(e.message))
  assert.throws(() => viewer.check(42), TypeError)
  // Checks record nothing.
  await new Promise((r) => setTimeout(r, 50))
  assert.equal(events.length, 0)

  const ok = await owner.authorize('create_backup', { project: 'p' })
  assert.equal(ok.allowed, true)
  await assert.rejects(viewer.authorize('restore_backup', { project: 'p' }), (e) => e instanceof AuthorizationDeniedError && e.code === 'ERR_AUTHORIZATION_DENIED')
  await new Promise((r) => setTimeout(r, 50))
  assert.equal(events.length, 1, JSON.stringify(events))
  const [denied] = events
  assert.equal(denied.action, 'authorization.denied')
  assert.equal(denied.details.attempted, 'backup.restored')
  assert.equal(denied.actor.id, 'vera')
  assert.equal(denied.context.ip, '192.0.2.1')
  assert.equal(denied.context.location, 'eu-west')
  assert.equal(denied.context.userAgent, `firekeep-node/${cjs.version}`)
})

test('progress reaches both the callback and the client\'s EventEmitter, tagged by operation', async () => {
  const server = await startFirestore(['--seed-demo', '--demo-project', 'prog', '--demo-docs', '30'])
  try {
    const client = new Client({ repository: tmpdir('fk-prog-'), key: Key.raw(generateDataKey()) })
    const emitted = []
    const called = []
    client.on('progress', (p) => emitted.push(p))
    const r = await client.backup(new Firestore('prog', { emulatorHost: server.host }), { progress: (p) => called.push(p) })
    await client.verify(r.backupId)
    await new Promise((res) => setImmediate(res))
    assert.ok(called.length > 0)
    assert.ok(called.every((p) => p.operation === 'backup'))
    const ops = new Set(emitted.map((p) => p.operation))
    assert.deepEqual([...ops].sort(), ['backup', 'verify'])
    const last = called[called.length - 1]
    for (const k of ['phase', 'documents', 'bytes', 'parts', 'elapsed', 'docsPerSec', 'bytesPerSec']) assert.ok(k in last, k)
    assert.equal(Math.max(...called.map((p) => p.documents)), r.documents)
    // A throwing progress listener does not fail the operation: its exception is rethrown
    // as uncaught (as for any callback), in a child process so node:test does not catch it.
    const script = `
      const fk = require(${JSON.stringify(path.join(HERE, '..', 'lib', 'index.js'))})
      let uncaught = 0
      process.on('uncaughtException', (e) => { if (e.message === 'listener bug') uncaught++ })
      const c = new fk.Client({ repository: ${JSON.stringify(tmpdir('fk-prog-'))}, key: fk.Key.raw(fk.generateDataKey()) })
      c.backup(new fk.Firestore('prog', { emulatorHost: ${JSON.stringify(server.host)} }), { progress: () => { throw new Error('listener bug') } })
        .then((r) => setTimeout(() => console.log(JSON.stringify({ documents: r.documents, uncaught })), 20))
    `
    const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }))
    assert.equal(out.documents, r.documents)
    assert.ok(out.uncaught > 0)
  } finally {
    await server.stop()
  }
})

test('prune arguments: keep rules and durations are checked before any work', async () => {
  const client = new Client({ repository: tmpdir('fk-prune-'), key: Key.raw(generateDataKey()) })
  const plan = await client.prune({ keepWithin: '1w2d', orphanGrace: 60, dryRun: true })
  assert.deepEqual(plan, { plan: { keep: [], remove: [], orphans: [], objects: 0, bytes: 0, unreadable: [] }, report: null })
  await assert.rejects(client.prune({ keepWithin: '2x' }), RangeError)
  // One grammar with the CLI and Python (the core's): `m` is months, never minutes.
  const native = require('../native.js')
  assert.equal(native.parseDuration('6m'), 6 * 30 * 86400)
  assert.equal(native.parseDuration('1y2m'), (365 + 60) * 86400)
  assert.equal(native.parseDuration('1w2d'), 9 * 86400)
  await assert.rejects(client.prune({ keepWithin: '1.5d' }), RangeError)
  await assert.rejects(client.prune({ keepWithin: -5 }), RangeError)
  await assert.rejects(client.prune({ keepWithin: {} }), TypeError)
  await assert.rejects(client.prune({ keepDaily: -1 }), RangeError)
  await assert.rejects(client.prune({ keepDaily: 1.5 }), RangeError)
  await assert.rejects(client.prune(), RangeError)
})

test('keys: factories only, kinds and ids, secrets never printed', () => {
  const secret = 'a very secret passphrase 12345'
  const pass = Key.passphrase(secret, 100000)
  assert.ok(pass instanceof Key)
  assert.equal(pass.kind, 'passphrase')
  const gen = Key.generateRaw()
  assert.equal(gen.key.kind, 'raw')
  assert.equal(Key.raw(gen.base64).keyId, gen.key.keyId)
  assert.equal(Key.raw(Buffer.from(gen.base64, 'base64')).keyId, gen.key.keyId)
  for (const shown of [util.inspect(pass, { showHidden: true, depth: 5 }), String(pass), JSON.stringify(pass), util.inspect(gen.key, { showHidden: true })]) {
    assert.ok(!shown.includes(secret) && !shown.includes(gen.base64), shown)
  }
  assert.throws(() => new Key({}), TypeError)
  assert.throws(() => new Client({ repository: tmpdir(), key: { kind: 'raw' } }), TypeError)
  const c = new Client({ repository: tmpdir(), key: pass })
  assert.ok(!util.inspect(c, { showHidden: true, depth: 5 }).includes(secret))
})

test('a pre-aborted signal cancels before any work; the reason is the cause', async () => {
  const client = new Client({ repository: tmpdir('fk-abort-'), key: Key.raw(generateDataKey()) })
  const reason = new Error('shutting down')
  const ac = new AbortController()
  ac.abort(reason)
  await assert.rejects(client.list({ signal: ac.signal }), (e) => e instanceof esm.CancelledError && e.cause === reason)
  await assert.rejects(client.verify('bk_x', { signal: 'nope' }), TypeError)
  await assert.rejects(client.backup(new Firestore('p', { emulatorHost: '127.0.0.1:1' }), { signal: ac.signal }), (e) => e.code === 'ERR_CANCELLED' && e.cause === reason)
})

test('storage credentials given as options are redacted from audit events', async () => {
  // The "secret" doubles as the bucket name so that it appears in the failure's text.
  const secret = 'hunter2bucket'
  const events = []
  const client = new Client({
    repository: `s3://${secret}/p`,
    key: Key.raw(generateDataKey()),
    storageOptions: { secret_access_key: secret, access_key_id: 'AKIAEXAMPLE', endpoint: 'http://127.0.0.1:1', allow_http: true, region: 'us-east-1' },
    audit: (e) => events.push(...e),
  })
  await assert.rejects(client.list(), (e) => e.code === 'ERR_STORAGE')
  await new Promise((r) => setTimeout(r, 50))
  const text = JSON.stringify(events)
  assert.equal(events.length, 1)
  assert.equal(events[0].action, 'backup.list_failed')
  assert.ok(!text.includes(secret), text)
  assert.ok(text.includes('[REDACTED]'), text)
})
