'use strict'
const test = require('node:test')
const assert = require('node:assert')
const { pipeline } = require('node:stream/promises')
const { Readable, Writable } = require('node:stream')
const fk = require('../lib/index.js')

test('encrypt/decrypt round trip over Buffers', async () => {
  const key = fk.generateDataKey()
  const data = Buffer.from('hello firestore '.repeat(100000))
  const ct = await fk.encrypt(key, data)
  assert.notDeepStrictEqual(ct.subarray(0, 100), data.subarray(0, 100))
  assert.deepStrictEqual(await fk.decrypt(key, ct), data)
})

test('wrong key is ERR_KEY_MISMATCH, tampering is ERR_INTEGRITY', async () => {
  const key = fk.generateDataKey()
  const ct = await fk.encrypt(key, Buffer.from('secret data'))
  await assert.rejects(fk.decrypt(fk.generateDataKey(), ct), (e) => e instanceof fk.FirekeepError && e.code === 'ERR_KEY_MISMATCH')
  const bad = Buffer.from(ct); bad[bad.length - 3] ^= 1
  await assert.rejects(fk.decrypt(key, bad), (e) => e.code === 'ERR_INTEGRITY')
})

test('bad arguments throw TypeError/RangeError', () => {
  assert.throws(() => fk.encrypt('nope', Buffer.alloc(1)), TypeError)
  assert.throws(() => fk.encrypt(Buffer.alloc(5), Buffer.alloc(1)), RangeError)
  assert.throws(() => fk.objectHeader(fk.generateDataKey(), { segmentSize: 12 }), RangeError)
})

test('encryptInto/decryptInto write into the caller\'s buffer and match encrypt/decrypt', async () => {
  const key = fk.generateDataKey()
  const opts = { objectName: 'into', segmentSize: 4096 }
  // Across the one-thread / two-thread boundary and a partial last segment.
  for (const size of [0, 1, 4096 * 3 + 5, 1024 * 1024 * 5 + 17]) {
    const data = Buffer.alloc(size)
    for (let i = 0; i < size; i += 997) data[i] = i & 0xff
    const need = fk.encryptedLength(key, size, opts)
    assert.strictEqual(need, (await fk.encrypt(key, data, opts)).length, `size ${size}`)
    // A longer buffer: only the first `need` bytes are written.
    const out = Buffer.alloc(need + 10, 0xee)
    assert.strictEqual(await fk.encryptInto(key, data, out, opts), need)
    assert.deepStrictEqual(out.subarray(need), Buffer.alloc(10, 0xee))
    const object = out.subarray(0, need)
    assert.deepStrictEqual(await fk.decrypt(key, object), data)
    assert.strictEqual(fk.decryptedLength(object), size)
    const back = new Uint8Array(size + 3).fill(0xdd)
    assert.strictEqual(await fk.decryptInto(key, object, back), size)
    assert.deepStrictEqual(Buffer.from(back.subarray(0, size)), data)
    assert.deepStrictEqual(Buffer.from(back.subarray(size)), Buffer.alloc(3, 0xdd))
  }
})

test('encryptInto/decryptInto reject short or overlapping buffers, other keys and tampering', async () => {
  const key = fk.generateDataKey()
  const data = Buffer.alloc(100000, 3)
  const need = fk.encryptedLength(key, data.length)
  assert.throws(() => fk.encryptInto(key, data, Buffer.alloc(need - 1)), (e) => e instanceof RangeError && /encryptedLength/.test(e.message))
  const shared = Buffer.alloc(need + data.length)
  assert.throws(() => fk.encryptInto(key, shared.subarray(0, data.length), shared.subarray(10)), (e) => e instanceof RangeError && /shares memory/.test(e.message))
  assert.throws(() => fk.encryptInto(key, data, 'out'), TypeError)
  assert.throws(() => fk.encryptedLength(key, -1), RangeError)
  assert.throws(() => fk.encryptedLength(key, 1.5), RangeError)
  const object = await fk.encrypt(key, data)
  assert.throws(() => fk.decryptInto(key, object, Buffer.alloc(data.length - 1)), (e) => e instanceof RangeError && /decryptedLength/.test(e.message))
  // Another key is named even when the buffer is also too short.
  await assert.rejects(fk.decryptInto(fk.generateDataKey(), object, Buffer.alloc(1)), (e) => e.code === 'ERR_KEY_MISMATCH')
  const bad = Buffer.from(object); bad[bad.length - 20] ^= 1
  const out = Buffer.alloc(data.length, 0xaa)
  await assert.rejects(fk.decryptInto(key, bad, out), (e) => e.code === 'ERR_INTEGRITY')
  assert.deepStrictEqual(out, Buffer.alloc(data.length), 'unverified plaintext is zeroed')
  await assert.rejects(fk.decryptInto(key, Buffer.from('not an object'), Buffer.alloc(10)), (e) => e instanceof fk.FirekeepError)
})

test('stream pipeline round trip matches one-shot decrypt', async () => {
  const key = fk.generateDataKey()
  const chunks = []
  const input = Buffer.alloc(5 * 1024 * 1024 + 123, 7)
  await pipeline(Readable.from([input.subarray(0, 1000), input.subarray(1000)]), fk.createEncryptStream(key), new Writable({ write(c, _e, cb) { chunks.push(c); cb() } }))
  const ct = Buffer.concat(chunks)
  assert.deepStrictEqual(await fk.decrypt(key, ct), input)
  const out = []
  await pipeline(Readable.from([ct]), fk.createDecryptStream(key), new Writable({ write(c, _e, cb) { out.push(c); cb() } }))
  assert.deepStrictEqual(Buffer.concat(out), input)
})

test('ESM entry loads', async () => {
  const m = await import('../lib/index.mjs')
  assert.strictEqual(typeof m.encrypt, 'function')
})
