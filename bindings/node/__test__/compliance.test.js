'use strict'
// Erase, export and legal hold from Node: backups of the Firestore test server, checked
// through Google's own Node client on a restored copy.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const fk = require('../lib/index.js')
const { startFirestore, gclient, seed, dump, tmpdir, files } = require('./_helpers.js')

const PROJECT = 'compliance'
let server, db

test.before(async () => {
  server = await startFirestore()
  process.env.FIRESTORE_EMULATOR_HOST = server.host
  db = gclient(PROJECT)
})

test.after(async () => {
  await Promise.all([db && db.terminate(), server && server.stop()])
})

const dbl = (n) => ['double', Number.isNaN(n) ? 'NaN' : Object.is(n, -0) ? '-0' : String(n)]

/** A value decoded by firekeep in the comparable form `norm` gives Google's values. */
function fkNorm(v) {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v
  if (typeof v === 'bigint') return ['int', v.toString()]
  // decodeDocument gives integers as numbers (bigint beyond 2^53) and whole doubles as Double.
  if (v instanceof fk.Double) return dbl(v.value)
  if (typeof v === 'number') return Number.isInteger(v) && !Object.is(v, -0) ? ['int', String(v)] : dbl(v)
  if (v instanceof fk.Timestamp) return ['ts', v.seconds, v.nanoseconds]
  if (v instanceof fk.GeoPoint) return ['geo', v.latitude, v.longitude]
  if (v instanceof fk.DocumentReference) return ['ref', v.path]
  if (Buffer.isBuffer(v)) return ['bytes', v.toString('hex')]
  if (Array.isArray(v)) return v.map(fkNorm)
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fkNorm(x)]))
}

test('export equals the source; a held backup refuses erase and survives prune; erase then restore', async () => {
  const seeded = await seed(db)
  await db.doc('orders/o1').set({ owner: 'p000', n: 1n })
  await db.doc('orders/o2').set({ owner: 'p001', n: 2n })
  await db.doc('notes/n1').set({ text: '=HYPERLINK("http://evil","x")', n: -1n })
  const total = seeded + 3
  const source = new fk.Firestore(PROJECT, { emulatorHost: server.host })
  const key = fk.Key.passphrase('correct horse battery staple', 100000)
  const client = new fk.Client({ repository: tmpdir('fk-compliance-'), key, principal: 'user:alice' })
  const ids = []
  for (let i = 0; i < 3; i++) ids.push((await client.backup(source)).backupId)
  const before = await dump(db)
  assert.equal(Object.keys(before).length, total)

  // Export: NDJSON and JSON hold exactly what Google's client reads; CSV defuses formulas.
  const out = tmpdir('fk-export-')
  const rep = await client.export(ids[0], out)
  assert.deepEqual([rep.backupId, rep.format, rep.documents, rep.files], [ids[0], 'ndjson', total, ['documents.ndjson']])
  const lines = fs.readFileSync(path.join(out, 'documents.ndjson'), 'utf8').trim().split('\n')
  const exported = Object.fromEntries(lines.map((l) => fk.decodeDocument(l)).map((d) => [d.path, fkNorm(d.fields)]))
  assert.deepEqual(exported, before)
  const asJson = await client.export(ids[0], out, { format: 'json', collections: ['people'] })
  const arr = JSON.parse(fs.readFileSync(path.join(out, 'documents.json'), 'utf8'))
  assert.equal(arr.length, asJson.documents)
  assert.deepEqual(arr.map((d) => fk.decodeDocument(JSON.stringify(d)).path).sort(), Object.keys(before).filter((p) => p.startsWith('people/')).sort())
  const csvDir = tmpdir('fk-csv-')
  const csv = await client.export(ids[0], csvDir, { format: 'csv', collections: ['notes'] })
  assert.deepEqual(files(csvDir), ['notes.csv'])
  assert.equal(csv.files.length, 1)
  const text = fs.readFileSync(path.join(csvDir, 'notes.csv'), 'utf8')
  assert.match(text, /'=HYPERLINK/)
  assert.match(text, /,-1(,|\r?\n)/, 'numbers are not altered')
  await assert.rejects(client.export(ids[0], out, { format: 'xml' }), RangeError)

  // A held backup refuses erasure before anything is written, and survives prune.
  const hold = await client.hold(ids[0], 'case 42')
  assert.equal(hold.backupId, ids[0])
  assert.equal(hold.reason, 'case 42')
  assert.ok(hold.heldAt instanceof fk.Timestamp)
  // A local folder has no S3 Object Lock: the result says so rather than claiming more.
  assert.equal(hold.objectLock.status, 'not_supported')
  assert.equal(hold.objectLock.objects, 0)
  await assert.rejects(client.erase({ paths: ['people/p000'] }), (e) => e instanceof fk.StoragePermissionError && /legal hold/.test(e.message))
  assert.deepEqual((await client.list()).map((b) => b.id).sort(), [...ids].sort())
  const pruned = await client.prune({ keepLast: 1 })
  const left = (await client.list()).map((b) => b.id)
  assert.ok(left.includes(ids[0]), 'the held backup survives prune')
  assert.ok(!left.includes(ids[1]), 'an unheld backup outside the rules is pruned')
  assert.ok(pruned.report !== null)
  const released = await client.releaseHold(ids[0])
  assert.equal(released.backupId, ids[0])
  assert.equal(await client.releaseHold(ids[0]), null)
  const kept = [ids[0], ids[2]]

  // Bad arguments are caught before the core runs.
  await assert.rejects(client.erase({ collectionGroup: 'orders', field: 'owner' }), TypeError)
  await assert.rejects(client.erase({}), fk.InvalidInputError)

  // `equals` takes JS values with the document mapping: 2 is an integer, as Google wrote it.
  assert.equal((await client.erase({ collectionGroup: 'orders', field: 'n', equals: 2, dryRun: true })).documents, 2)
  assert.equal((await client.erase({ collectionGroup: 'orders', field: 'n', equals: new fk.Double(2), dryRun: true })).documents, 0)

  // Erase p000 (with the subcollection) and every order they own: dry run first.
  const sel = { paths: ['people/p000'], subcollections: true, collectionGroup: 'orders', field: 'owner', equals: 'p000' }
  const dry = await client.erase({ ...sel, dryRun: true })
  assert.equal(dry.dryRun, true)
  assert.equal(dry.documents, 2 * 3)
  assert.deepEqual(dry.backups.map((b) => b.generation), [1, 1])
  const r = await client.erase(sel)
  assert.equal(r.documents, 2 * 3)
  assert.deepEqual(r.backups.map((b) => b.backupId).sort(), [...kept].sort())
  assert.deepEqual(r.backups.map((b) => b.generation), [2, 2])
  // A second run finds nothing left.
  assert.equal((await client.erase(sel)).documents, 0)
  for (const id of kept) assert.equal((await client.verify(id)).problems.length, 0)

  // Restore each backup into its own database: the erased documents are gone, the rest unchanged.
  const expected = { ...before }
  for (const p of ['people/p000', 'people/p000/pets/rex', 'orders/o1']) delete expected[p]
  for (const [i, id] of kept.entries()) {
    const target = new fk.Firestore(PROJECT, { database: `erased${i}`, emulatorHost: server.host })
    await client.restore(id, target)
    const restoredDb = gclient(PROJECT, `erased${i}`)
    try {
      const restored = await dump(restoredDb)
      // References point into the source database; compare them by path.
      assert.deepEqual(restored, expected)
    } finally {
      await restoredDb.terminate()
    }
  }

  const actions = new Set((await client.auditEvents()).map((e) => e.action))
  for (const a of ['backup.exported', 'backup.held', 'backup.released', 'backup.erased']) assert.ok(actions.has(a), a)
})
