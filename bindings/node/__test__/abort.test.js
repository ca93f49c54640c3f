'use strict'
// AbortSignal cancellation: a backup aborted while it is writing parts rejects with
// ERR_CANCELLED and leaves no manifest (so no backup), and the repository stays usable.
const test = require('node:test')
const assert = require('node:assert/strict')
const fk = require('../lib/index.js')
const { startFirestore, tmpdir, files } = require('./_helpers.js')

const DOCS = 20000
let server

test.before(async () => {
  server = await startFirestore(['--seed-demo', '--demo-project', 'big', '--demo-docs', String(DOCS)])
})

test.after(async () => {
  await server?.stop()
})

test('aborting a running backup leaves no manifest; the next backup works', async () => {
  const repository = tmpdir()
  const client = new fk.Client({ repository, key: fk.Key.raw(fk.generateDataKey()) })
  const source = new fk.Firestore('big', { emulatorHost: server.host })
  const ac = new AbortController()
  // Abort once the backup has demonstrably started: its folder holds the wrapped data key
  // (written first; reading 20,000 documents then takes far longer than this 1 ms poll).
  let started = []
  const watcher = setInterval(() => {
    if (ac.signal.aborted) return
    started = files(repository)
    if (started.some((f) => f.endsWith('key.json'))) ac.abort(new Error('operator pressed stop'))
  }, 1)
  let rejected
  try {
    await client.backup(source, { signal: ac.signal })
  } catch (e) {
    rejected = e
  } finally {
    clearInterval(watcher)
  }
  assert.ok(ac.signal.aborted, 'the backup had started writing when it was aborted')
  assert.ok(rejected, 'the aborted backup must reject, not complete')
  assert.ok(rejected instanceof fk.FirekeepError, String(rejected))
  assert.equal(rejected.code, 'ERR_CANCELLED')

  assert.deepEqual(await client.list(), [])
  const left = files(repository)
  assert.ok(!left.some((f) => f.endsWith('manifest.fkm')), left.join('\n'))
  assert.deepEqual(left, [], `what the cancelled backup wrote (${started.join(', ')}) is removed`)

  const r = await client.backup(source)
  assert.equal(r.documents >= DOCS, true)
  assert.deepEqual((await client.list()).map((b) => b.id), [r.backupId])
  assert.equal((await client.verify(r.backupId)).documents, r.documents)
})

test('aborting a verify and a restore rejects with ERR_CANCELLED', async () => {
  const repository = tmpdir()
  const client = new fk.Client({ repository, key: fk.Key.raw(fk.generateDataKey()) })
  const source = new fk.Firestore('big', { emulatorHost: server.host })
  const r = await client.backup(source, { collections: ['users'] })
  const ac = new AbortController()
  const verifying = client.verify(r.backupId, { signal: ac.signal })
  ac.abort()
  await assert.rejects(verifying, { code: 'ERR_CANCELLED' })
  const target = new fk.Firestore('big', { database: 'aborted', emulatorHost: server.host })
  const ac2 = new AbortController()
  const restoring = client.restore(r.backupId, target, { signal: ac2.signal })
  ac2.abort()
  await assert.rejects(restoring, { code: 'ERR_CANCELLED' })
  // The backup itself is untouched by the aborted operations.
  assert.equal((await client.verify(r.backupId)).documents, r.documents)
})
