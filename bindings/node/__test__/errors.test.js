'use strict'
// Each error code where it belongs, from real failures (a Viewer's backup, a wrong key, a
// tampered object, a missing bucket, a dead Firestore endpoint), and bad arguments as
// TypeError/RangeError without taking the process down.
const test = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const fk = require('../lib/index.js')
const { ROOT, startFirestore, startMoto, freePort, s3, gclient, seed, tmpdir, files } = require('./_helpers.js')

const POLICY = fs.readFileSync(path.join(ROOT, 'testing/fixtures/owner-and-viewer.toml'), 'utf8')

let server, moto, db, source, seeded

test.before(async () => {
  ;[server, moto] = await Promise.all([startFirestore(), startMoto()])
  process.env.FIRESTORE_EMULATOR_HOST = server.host
  db = gclient('errors')
  seeded = await seed(db, 5)
  source = new fk.Firestore('errors', { emulatorHost: server.host })
})

test.after(async () => {
  await Promise.all([db && db.terminate(), server && server.stop(), moto && moto.stop()])
})

// Each code's Error subclass, as the package exports it.
const CLASS_OF = {
  ERR_AUTHORIZATION_DENIED: 'AuthorizationDeniedError',
  ERR_KEY_MISMATCH: 'KeyMismatchError',
  ERR_INTEGRITY: 'IntegrityError',
  ERR_NOT_FOUND: 'NotFoundError',
  ERR_INVALID_CONFIG: 'InvalidConfigError',
  ERR_INVALID_INPUT: 'InvalidInputError',
  ERR_STORAGE: 'StorageError',
  ERR_FIRESTORE: 'FirestoreError',
  ERR_CANCELLED: 'CancelledError',
  ERR_AUDIT: 'AuditError',
}

/** An assertion that `e` is the FirekeepError subclass of `code`, with a core message. */
const firekeepError = (code) => (e) => {
  assert.ok(e instanceof fk.FirekeepError, `${e && e.name}: ${e && e.message}`)
  assert.ok(e instanceof Error)
  assert.equal(e.code, code, e.message)
  const cls = fk[CLASS_OF[code]]
  assert.ok(typeof cls === 'function' && e instanceof cls && e.name === CLASS_OF[code], `${code} is a ${e.name}`)
  assert.ok(e.message.length > 10 && !e.message.startsWith('ERR_'), e.message)
  return true
}

async function ownerBackup() {
  const dir = tmpdir()
  const policyPath = path.join(dir, 'policy.toml')
  fs.writeFileSync(policyPath, POLICY)
  const key = fk.Key.raw(fk.generateDataKey())
  const repository = path.join(dir, 'repo')
  const owner = new fk.Client({ repository, key, organization: 'acme', policy: policyPath, principal: 'user:alice@example.com' })
  const report = await owner.backup(source)
  return { owner, key, repository, policyPath, report }
}

test('ERR_AUTHORIZATION_DENIED: a Viewer may list but not back up or restore; denials are audited', async () => {
  const { key, repository, report } = await ownerBackup()
  const viewer = new fk.Client({ repository, key, organization: 'acme', policy: POLICY, principal: 'user:victor@example.com' })
  assert.deepEqual((await viewer.list()).map((b) => b.id), [report.backupId])
  await assert.rejects(viewer.backup(source), firekeepError('ERR_AUTHORIZATION_DENIED'))
  await assert.rejects(viewer.restore(report.backupId, source), firekeepError('ERR_AUTHORIZATION_DENIED'))
  assert.deepEqual((await viewer.auditEvents()).map((e) => e.action), ['backup.listed', 'authorization.denied', 'authorization.denied'])
  // A Viewer may read the trail back but not export it; the denial is audited too.
  await assert.rejects(viewer.auditExport('csv'), firekeepError('ERR_AUTHORIZATION_DENIED'))
  // A policy needs a principal to act as.
  assert.throws(() => new fk.Client({ repository, key, policy: POLICY }), TypeError)
})

test('rotateKey re-wraps its key\'s backups and names those under other keys', async () => {
  const { owner, repository, policyPath, report } = await ownerBackup()
  const other = new fk.Client({ repository, key: fk.Key.raw(fk.generateDataKey()), organization: 'acme', policy: policyPath, principal: 'user:alice@example.com' })
  const theirs = await other.backup(source)
  const rot = await owner.rotateKey(fk.Key.raw(fk.generateDataKey()))
  assert.deepEqual(rot.rotated, [report.backupId])
  assert.deepEqual(rot.otherKeys, [{ id: theirs.backupId, keyId: theirs.keyId }])
})

test('ERR_KEY_MISMATCH, ERR_NOT_FOUND and ERR_INTEGRITY on a local repository', async () => {
  const { owner, repository, policyPath, report } = await ownerBackup()
  await assert.rejects(owner.verify('bk_20200101T000000.000Z_00000000'), firekeepError('ERR_NOT_FOUND'))
  const wrongKey = fk.Key.raw(fk.generateDataKey())
  const other = new fk.Client({ repository, key: wrongKey, organization: 'acme', policy: policyPath, principal: 'user:alice@example.com' })
  await assert.rejects(other.verify(report.backupId), firekeepError('ERR_KEY_MISMATCH'))
  await assert.rejects(other.restore(report.backupId, source), firekeepError('ERR_KEY_MISMATCH'))
  // The other key lists the backup as unreadable, naming the key it needs.
  const listed = await other.list()
  assert.deepStrictEqual([...listed], [])
  assert.equal(listed.unreadable.length, 1)
  const [u] = listed.unreadable
  assert.equal(u.id, report.backupId)
  assert.equal(u.code, 'ERR_KEY_MISMATCH')
  assert.ok(u.message.includes(report.keyId), u.message)
  assert.ok(u.createdAt instanceof fk.Timestamp)
  assert.deepEqual((await owner.list()).unreadable, [])

  const part = files(repository).find((f) => f.endsWith('.fkp'))
  assert.ok(part, files(repository).join('\n'))
  const p = path.join(repository, part)
  const bytes = fs.readFileSync(p)
  bytes[bytes.length - 30] ^= 0xff
  fs.writeFileSync(p, bytes)
  await assert.rejects(owner.verify(report.backupId), firekeepError('ERR_INTEGRITY'))
  const r = await owner.verify(report.backupId, { throwOnError: false })
  assert.equal(r.problems.length, 1)
  assert.ok(part.endsWith(r.problems[0].object), `${part} vs ${r.problems[0].object}`)

  // A repository that must exist but does not.
  assert.throws(() => new fk.Client({ repository: path.join(repository, 'missing'), key: wrongKey, create: false }), firekeepError('ERR_NOT_FOUND'))
})

test('ERR_INTEGRITY on a tampered S3 object; ERR_STORAGE without the bucket; no credentials in messages', async () => {
  await s3.createBucket(moto.endpoint, 'fk-errors')
  const key = fk.Key.raw(fk.generateDataKey())
  const client = new fk.Client({ repository: 's3://fk-errors/x', key, storageOptions: moto.storageOptions })
  const report = await client.backup(source)
  const part = (await s3.keys(moto.endpoint, 'fk-errors')).find((k) => k.endsWith('.fkp'))
  const body = await s3.get(moto.endpoint, 'fk-errors', part)
  body[Math.floor(body.length / 2)] ^= 0x01
  await s3.put(moto.endpoint, 'fk-errors', part, body)
  await assert.rejects(client.verify(report.backupId), firekeepError('ERR_INTEGRITY'))

  const missing = new fk.Client({ repository: 's3://no-such-bucket-fk/x', key, storageOptions: { ...moto.storageOptions, max_retries: '0' } })
  await assert.rejects(missing.list(), (e) => {
    firekeepError('ERR_STORAGE')(e)
    assert.ok(!e.message.includes('testing'), `credentials leaked: ${e.message}`)
    return true
  })
})

test('readStreams: RangeError below 1, ERR_INVALID_CONFIG above 256, before connecting', async () => {
  const client = new fk.Client({ repository: tmpdir(), key: fk.Key.raw(fk.generateDataKey()) })
  const dead = new fk.Firestore('errors', { emulatorHost: `127.0.0.1:${await freePort()}` })
  await assert.rejects(client.backup(dead, { readStreams: 0 }), RangeError)
  await assert.rejects(client.backup(dead, { readStreams: 257 }), (e) => {
    firekeepError('ERR_INVALID_CONFIG')(e)
    assert.match(e.message, /read_streams 257 is out of range/)
    return true
  })
  // In range: a backup of the live server, read in 3 streams.
  const report = await client.backup(source, { readStreams: 3 })
  assert.equal(report.documents, seeded)
})

test('ERR_INVALID_CONFIG for a bad storage option or policy', () => {
  const key = fk.Key.raw(fk.generateDataKey())
  assert.throws(() => new fk.Client({ repository: 's3://b/x', key, storageOptions: { allow_http: 'maybe' } }), firekeepError('ERR_INVALID_CONFIG'))
  assert.throws(() => new fk.Client({ repository: tmpdir(), key, policy: 'version = 1\n[[members]]\nrole = 42\n', principal: 'user:a' }), firekeepError('ERR_INVALID_CONFIG'))
})

test('ERR_FIRESTORE when nothing listens; the failed backup leaves no manifest', async () => {
  const port = await freePort()
  const dead = new fk.Firestore('p', { emulatorHost: `127.0.0.1:${port}` })
  const repository = tmpdir()
  const client = new fk.Client({ repository, key: fk.Key.raw(fk.generateDataKey()) })
  const t0 = Date.now()
  await assert.rejects(client.backup(dead), firekeepError('ERR_FIRESTORE'))
  assert.ok(Date.now() - t0 < 60000)
  assert.deepEqual(await client.list(), [])
  assert.ok(!files(repository).some((f) => f.endsWith('manifest.fkm')))
})

test('ERR_CANCELLED from an aborted signal; ERR_AUDIT from a tampered trail', async () => {
  const events = []
  const client = new fk.Client({ repository: tmpdir(), key: fk.Key.raw(fk.generateDataKey()), audit: 'memory' })
  const ac = new AbortController()
  ac.abort()
  await assert.rejects(client.backup(source, { signal: ac.signal }), firekeepError('ERR_CANCELLED'))
  await client.backup(source)
  events.push(...(await client.auditEvents()))
  assert.ok(events.length >= 1)
  assert.equal(fk.auditVerify(events).events, events.length)
  const created = events.find((e) => e.action === 'backup.created')
  created.details.documents = 999
  assert.throws(() => fk.auditVerify(events), firekeepError('ERR_AUDIT'))
})

test('bad arguments throw TypeError or RangeError', async () => {
  const key = fk.Key.raw(fk.generateDataKey())
  const repo = tmpdir()
  // The format.
  assert.throws(() => fk.encrypt('nope', Buffer.alloc(1)), TypeError)
  assert.throws(() => fk.encrypt(Buffer.alloc(5), Buffer.alloc(1)), RangeError)
  assert.throws(() => fk.decrypt(fk.generateDataKey(), 'text'), TypeError)
  assert.throws(() => fk.createEncryptStream(Buffer.alloc(31)), RangeError)
  assert.throws(() => fk.createEncryptStream(fk.generateDataKey(), { segmentSize: 1 << 30 }), RangeError)
  assert.throws(() => fk.objectHeader(fk.generateDataKey(), { segmentSize: 4096.5 }), RangeError)
  // Keys.
  assert.throws(() => fk.Key.passphrase('long enough passphrase', 0), RangeError)
  assert.throws(() => fk.Key.passphrase('long enough passphrase', 1.5), RangeError)
  assert.throws(() => fk.Key.passphrase(42), TypeError)
  assert.throws(() => fk.Key.raw(Buffer.alloc(5)), RangeError)
  assert.throws(() => fk.Key.raw(12345), TypeError)
  // Clients and sources.
  assert.throws(() => new fk.Client({ key }), TypeError)
  assert.throws(() => new fk.Client({ repository: '', key }), TypeError)
  assert.throws(() => new fk.Client({ repository: 'ftp://host/x', key }), TypeError)
  assert.throws(() => new fk.Client({ repository: 'file://relative', key }), TypeError)
  assert.throws(() => new fk.Client({ repository: repo, key: 'not a key' }), TypeError)
  assert.throws(() => new fk.Client({ repository: repo, key, principal: 'robot:x', policy: POLICY }), TypeError)
  assert.throws(() => new fk.Firestore(123), TypeError)
  const client = new fk.Client({ repository: repo, key })
  await assert.rejects(client.restore('bk_x', source, { conflict: 'bogus' }), RangeError)
  await assert.rejects(client.prune({}), RangeError)
  await assert.rejects(client.prune({ keepLast: 'three' }), TypeError)
  await assert.rejects(client.diff('bk_x'), TypeError)
  // A malformed value inside an otherwise well-typed argument is the core's ERR_INVALID_INPUT.
  await assert.rejects(client.backup(source, { readTime: 'yesterday' }), firekeepError('ERR_INVALID_INPUT'))
})

test('garbage into every native entry point never takes the process down', () => {
  // In a child process, so a crash (a Rust panic across napi aborts) shows as its exit status.
  const script = `
    const native = require(${JSON.stringify(path.join(__dirname, '..', 'native.js'))})
    const junk = [undefined, null, 0, -1, NaN, 1e300, -1e300, 2 ** 53, '', 'x'.repeat(10000), {}, [], Symbol('s'), () => 1, Buffer.alloc(0), Buffer.alloc(32), 10n]
    let calls = 0, threw = 0
    const pending = []
    function attempt(f) {
      calls++
      try {
        const r = f()
        if (r && typeof r.then === 'function') pending.push(r.catch(() => {}))
      } catch (e) { threw++ }
    }
    for (const a of junk) {
      for (const b of junk) {
        attempt(() => native.encrypt(a, b))
        attempt(() => native.decrypt(a, b))
        attempt(() => native.objectHeader(a, b))
        attempt(() => native.formatRfc3339(a, b))
        attempt(() => native.encryptedLength(a, b))
        attempt(() => new native.SegmentOpener(a, b))
        attempt(() => native.Key.passphrase(a, b))
        attempt(() => new native.Encryptor(a, b))
        attempt(() => new native.Firestore(a, b))
        attempt(() => new native.Client(a, b))
      }
      attempt(() => native.parseRfc3339(a))
      attempt(() => native.normalizeDocument(a))
      attempt(() => native.Key.rawBytes(a))
      attempt(() => native.Key.rawBase64(a))
      attempt(() => new native.Decryptor(a))
      attempt(() => native.auditVerifyEvents(a))
    }
    // Finished streams and out-of-range timestamps.
    const e = new native.Encryptor(Buffer.alloc(32))
    e.finish()
    attempt(() => e.update(Buffer.alloc(10)))
    attempt(() => e.finish())
    const d = new native.Decryptor(Buffer.alloc(32))
    attempt(() => d.update(Buffer.from('not an object at all, definitely not')))
    attempt(() => d.finish())
    attempt(() => d.finish())
    attempt(() => native.formatRfc3339(9e15, 0))
    attempt(() => native.formatRfc3339(0, 4e9))
    attempt(() => native.normalizeDocument('{"name":"x","fields":{"a":{"integerValue":"1e999"}}}'))
    Promise.all(pending).then(() => { console.log(JSON.stringify({ calls, threw })) })
  `
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60000 })
  assert.equal(r.signal, null, `killed by ${r.signal}: ${r.stderr.slice(-2000)}`)
  assert.equal(r.status, 0, r.stderr.slice(-2000))
  const { calls, threw } = JSON.parse(r.stdout.trim().split('\n').pop())
  assert.ok(calls > 2500 && threw > calls / 2, `${calls} calls, ${threw} threw`)
})
