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
