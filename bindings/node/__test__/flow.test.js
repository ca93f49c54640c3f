'use strict'
// The whole flow from Node: the Firestore test server (gRPC) -> S3 on moto -> another
// database, with both databases read back through Google's own Node client.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const fk = require('../lib/index.js')
const { startFirestore, startGcpKms, startMoto, s3, gclient, seed, dump, tmpdir } = require('./_helpers.js')

const PROJECT = 'flow'
let server, moto, db

test.before(async () => {
  ;[server, moto] = await Promise.all([startFirestore(), startMoto()])
  process.env.FIRESTORE_EMULATOR_HOST = server.host
  db = gclient(PROJECT)
})

test.after(async () => {
  await Promise.all([db && db.terminate(), server && server.stop(), moto && moto.stop()])
})

test('backup to S3, verify, restore into another database: equal through Google\'s client', async () => {
  const seeded = await seed(db)
  const bucket = 'fk-flow'
  await s3.createBucket(moto.endpoint, bucket)
  const auditPath = path.join(tmpdir(), 'audit.jsonl')
  const key = fk.Key.passphrase('correct horse battery staple', 100000)
  const client = new fk.Client({ repository: `s3://${bucket}/backups`, key, storageOptions: moto.storageOptions, principal: 'user:alice', audit: auditPath })
  const source = new fk.Firestore(PROJECT, { emulatorHost: server.host })

  const progress = []
  const emitted = []
  client.on('progress', (e) => emitted.push(e))
  const report = await client.backup(source, { labels: { env: 'test' }, progress: (e) => progress.push(e) })
  assert.equal(report.documents, seeded)
  assert.equal(report.project, PROJECT)
  assert.ok(report.parts >= 1)
  // Progress and the result travel through different native queues: let the last event land.
  for (let i = 0; i < 100 && progress.at(-1)?.phase !== 'done'; i++) await new Promise((r) => setTimeout(r, 10))
  assert.ok(progress.length > 0, 'no progress events arrived (napi-rs 3 calls a ThreadsafeFunction<_, _, _, _, false> callback with (json) only, not (err, json))')
  assert.equal(progress.at(-1).phase, 'done')
  assert.equal(progress.at(-1).documents, seeded)
  // The client is an EventEmitter: the same events, tagged with the operation.
  assert.equal(emitted.length, progress.length)
  assert.ok(emitted.every((e) => e.operation === 'backup'))

  // Stored in the bucket, and object names reveal nothing of the data.
  const keys = await s3.keys(moto.endpoint, bucket)
  assert.ok(keys.some((k) => k.endsWith('manifest.fkm')), keys.join('\n'))
  assert.ok(keys.every((k) => k.startsWith('backups/') && !/people|types|pets/.test(k)), keys.join('\n'))

  const listed = await client.list()
  assert.deepEqual(listed.map((b) => b.id), [report.backupId])
  assert.equal(listed[0].documents, seeded)
  assert.deepEqual(listed[0].labels, { env: 'test' })

  const v = await client.verify(report.backupId)
  assert.equal(v.problems.length, 0)
  assert.equal(v.partsOk, report.parts)
  assert.equal(v.documents, seeded)

  // Restore into another database of the same project, then compare through Google's client.
  const target = new fk.Firestore(PROJECT, { database: 'restored', emulatorHost: server.host })
  const restoredDb = gclient(PROJECT, 'restored')
  try {
    const dry = await client.restore(report.backupId, target, { dryRun: true })
    assert.equal(dry.dryRun, true)
    assert.deepEqual(await dump(restoredDb), {}, 'a dry run writes nothing')

    const r = await client.restore(report.backupId, target)
    assert.equal(r.written, seeded)
    assert.deepEqual(r.failed, [])
    const before = await dump(db)
    const after = await dump(restoredDb)
    assert.equal(Object.keys(before).length, seeded)
    assert.deepEqual(after, before)
    // The every-type document really holds the edge cases (both sides could be equally empty).
    const t = after['types/all']
    assert.deepEqual(t.intMin, ['int', '-9223372036854775808'])
    assert.deepEqual(t.negZero, ['double', '-0'])
    assert.deepEqual(t.nan, ['double', 'NaN'])
    assert.deepEqual(t.tsNanos, ['ts', 1709251199, 123456789])
    assert.deepEqual(t.ref, ['ref', 'people/p001'])
    assert.equal(t.bytes[1].length, 512)

    const again = await client.restore(report.backupId, target, { conflict: 'skip' })
    assert.equal(again.skipped, seeded)
    assert.equal(again.written, 0)

    // Live diff against the restored database: nothing differs; then one change shows.
    assert.equal((await client.diff(report.backupId, target)).unchanged, seeded)
    await restoredDb.doc('people/p002').set({ i: -1n })
    const d = await client.diff(report.backupId, target)
    assert.equal(d.changed, 1)
    assert.deepEqual(d.changedNames, ['people/p002'])
  } finally {
    await restoredDb.terminate()
  }

  const actions = (await client.auditEvents()).map((e) => e.action)
  assert.ok(actions.includes('backup.created') && actions.includes('backup.restored'), actions.join(','))
  // Reading, checking and exporting the trail are client operations, each audited.
  const head = await client.auditVerify()
  assert.equal(head.events, actions.length + 1)
  const csv = await client.auditExport('csv', { actions: ['backup.created'] })
  assert.equal(csv.split('backup.created').length - 1, 1)
  const after = (await client.auditEvents()).map((e) => e.action)
  assert.deepEqual(after.slice(-3), ['audit.viewed', 'audit.verified', 'audit.exported'])
  assert.equal(fs.readFileSync(auditPath, 'utf8').includes('correct horse'), false, 'no secrets in the audit trail')
})

test('second backup, diff of backups, key rotation and prune on S3', async () => {
  const bucket = 'fk-rotate'
  await s3.createBucket(moto.endpoint, bucket)
  const repository = `s3://${bucket}/r`
  const oldKey = fk.Key.raw(fk.generateDataKey())
  const client = new fk.Client({ repository, key: oldKey, storageOptions: moto.storageOptions })
  const source = new fk.Firestore(PROJECT, { emulatorHost: server.host })
  const first = await client.backup(source, { collections: ['people'], subcollections: false })
  assert.equal(first.documents, 20)
  await db.doc('people/p001').set({ i: 100n })
  await db.doc('people/p999').set({ i: 999n })
  const second = await client.backup(source, { collections: ['people'], subcollections: false })
  assert.equal(second.documents, 21)
  const d = await client.diff(first.backupId, second.backupId)
  assert.deepEqual([d.added, d.changed, d.removed, d.unchanged], [1, 1, 0, 19])

  const { key: newKey } = fk.Key.generateRaw()
  const rot = await client.rotateKey(newKey)
  assert.deepEqual([...rot.rotated].sort(), [first.backupId, second.backupId].sort())
  await assert.rejects(client.verify(first.backupId), { code: 'ERR_KEY_MISMATCH' })
  const rotated = new fk.Client({ repository, key: newKey, storageOptions: moto.storageOptions })
  assert.equal((await rotated.verify(first.backupId)).documents, 20)

  const plan = await rotated.prune({ keepLast: 1, dryRun: true })
  assert.equal(plan.report, null)
  assert.deepEqual(plan.plan.remove, [first.backupId])
  assert.equal((await rotated.list()).length, 2, 'a dry run removes nothing')
  await rotated.prune({ keepLast: 1 })
  assert.deepEqual((await rotated.list()).map((b) => b.id), [second.backupId])
  const left = await s3.keys(moto.endpoint, bucket)
  assert.ok(left.length > 0 && left.every((k) => !k.includes(first.backupId)), left.join('\n'))
})

test('AWS KMS key (moto) and a JS audit callback', async () => {
  const kmsRes = await fetch(moto.endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'TrentService.CreateKey',
      authorization: 'AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=0',
    },
    body: '{}',
  })
  assert.equal(kmsRes.status, 200)
  const keyId = (await kmsRes.json()).KeyMetadata.KeyId
  const key = await fk.Key.awsKms(keyId, { region: 'us-east-1', endpoint: moto.endpoint, accessKeyId: 'testing', secretAccessKey: 'testing' })
  assert.equal(key.kind, 'aws-kms')
  const batches = []
  const repository = tmpdir()
  const client = new fk.Client({ repository, key, audit: (events) => batches.push(events) })
  const source = new fk.Firestore(PROJECT, { emulatorHost: server.host })
  const r = await client.backup(source, { collections: ['people'] })
  assert.equal((await client.verify(r.backupId)).documents, r.documents)
  // A raw key cannot open a KMS-wrapped backup.
  const other = new fk.Client({ repository, key: fk.Key.raw(fk.generateDataKey()) })
  await assert.rejects(other.verify(r.backupId), { code: 'ERR_KEY_MISMATCH' })
  // Audit batches reach the callback on the event loop, shortly after the operation.
  for (let i = 0; i < 100 && batches.flat().length < 2; i++) await new Promise((res) => setTimeout(res, 10))
  const events = batches.flat()
  assert.deepEqual(events.map((e) => e.action), ['backup.created', 'backup.verified'])
  assert.equal(fk.auditVerify(events).events, 2)
})

test('Google Cloud KMS key (test server): backup, verify, another key refused, rotation to a raw key', async () => {
  const keyName = 'projects/node-test/locations/europe-west1/keyRings/backups/cryptoKeys/firekeep'
  const kms = await startGcpKms([keyName, `${keyName}-other`])
  try {
    const key = await fk.Key.gcpKms(keyName, { endpoint: kms.endpoint })
    assert.equal(key.kind, 'gcp-kms')
    assert.equal(key.keyId, keyName)
    const repository = tmpdir()
    const client = new fk.Client({ repository, key })
    const source = new fk.Firestore(PROJECT, { emulatorHost: server.host })
    const r = await client.backup(source, { collections: ['people'] })
    assert.equal((await client.verify(r.backupId)).documents, r.documents)
    const other = await fk.Key.gcpKms(`${keyName}-other`, { endpoint: kms.endpoint })
    await assert.rejects(new fk.Client({ repository, key: other }).verify(r.backupId), { code: 'ERR_KEY_MISMATCH' })
    const { key: raw } = fk.Key.generateRaw()
    const rot = await client.rotateKey(raw)
    assert.deepEqual(rot.rotated, [r.backupId])
    assert.equal((await new fk.Client({ repository, key: raw }).verify(r.backupId)).documents, r.documents)
    await assert.rejects(fk.Key.gcpKms('alias/firekeep', { endpoint: kms.endpoint }), { code: 'ERR_INVALID_CONFIG' })
  } finally {
    await kms.stop()
  }
})

test('PKCS#11 key in SoftHSM2: backup, verify, wrong PIN refused, PIN in the URI refused', async () => {
  const { execFileSync } = require('node:child_process')
  const dir = tmpdir()
  fs.mkdirSync(path.join(dir, 'tokens'))
  const conf = path.join(dir, 'softhsm2.conf')
  fs.writeFileSync(conf, `directories.tokendir = ${path.join(dir, 'tokens')}\nlog.level = ERROR\n`)
  // SoftHSM reads SOFTHSM2_CONF when the module initialises (the first Key.pkcs11 of this process).
  process.env.SOFTHSM2_CONF = conf
  const util = (...args) => execFileSync('softhsm2-util', args, { env: process.env, stdio: 'pipe' })
  util('--init-token', '--free', '--label', 'node', '--pin', '1111', '--so-pin', '2222')
  const aes = path.join(dir, 'aes.key')
  fs.writeFileSync(aes, Buffer.alloc(32, 7))
  util('--import', aes, '--aes', '--token', 'node', '--label', 'backups', '--id', '01', '--pin', '1111')
  fs.rmSync(aes)
  const pin = path.join(dir, 'pin')
  fs.writeFileSync(pin, '1111\n')
  const base = 'pkcs11:token=node;object=backups?module-path=/usr/lib/softhsm/libsofthsm2.so'
  const key = await fk.Key.pkcs11(`${base}&pin-source=file:${pin}`)
  assert.equal(key.kind, 'pkcs11')
  assert.equal(key.keyId, 'pkcs11:token=node;object=backups')
  const repository = tmpdir()
  const client = new fk.Client({ repository, key })
  const r = await client.backup(new fk.Firestore(PROJECT, { emulatorHost: server.host }), { collections: ['people'] })
  assert.equal((await client.verify(r.backupId)).documents, r.documents)
  const wrong = path.join(dir, 'wrong-pin')
  fs.writeFileSync(wrong, '9876\n')
  await assert.rejects(fk.Key.pkcs11(`${base}&pin-source=file:${wrong}`), (e) => {
    assert.equal(e.code, 'ERR_KEY_PROVIDER')
    assert.match(e.message, /wrong PIN/)
    assert.doesNotMatch(e.message, /9876/)
    return true
  })
  await assert.rejects(fk.Key.pkcs11(`${base}&pin-value=1111`), { code: 'ERR_INVALID_CONFIG' })
})
