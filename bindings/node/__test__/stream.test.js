'use strict'
// 256 MiB through createEncryptStream -> createDecryptStream with stream.pipeline: the
// plaintext comes back byte for byte (SHA-256) and the process's RSS stays bounded.
const test = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const { pipeline } = require('node:stream/promises')
const { Readable, Transform, Writable } = require('node:stream')
const fk = require('../lib/index.js')

const MIB = 1 << 20
const TOTAL_MIB = 256
const MAX_RSS_GROWTH_MIB = 128

test('256 MiB stream round trip through pipeline with bounded RSS', async (t) => {
  const key = fk.generateDataKey()
  const block = crypto.randomBytes(MIB)
  const inHash = crypto.createHash('sha256')
  const outHash = crypto.createHash('sha256')
  let produced = 0

  // A generated source delivering 1 MiB chunks in successive event-loop turns, as file and
  // socket streams do; every chunk differs (its index is stamped in), so reordering or a
  // repeated segment would change the hash.
  const source = new Readable({
    highWaterMark: 4 * MIB,
    read() {
      setImmediate(() => {
        if (produced === TOTAL_MIB) return this.push(null)
        const chunk = Buffer.from(block)
        chunk.writeUInt32LE(produced, 0)
        chunk.writeUInt32LE(produced, MIB - 4)
        produced++
        inHash.update(chunk)
        this.push(chunk)
      })
    },
  })

  let ciphertextBytes = 0
  const countCiphertext = new Transform({
    transform(c, _e, cb) { ciphertextBytes += c.length; cb(null, c) },
  })
  let plaintextBytes = 0
  const rss0 = process.memoryUsage.rss()
  let peak = rss0
  const sink = new Writable({
    write(c, _e, cb) {
      outHash.update(c)
      plaintextBytes += c.length
      peak = Math.max(peak, process.memoryUsage.rss())
      cb()
    },
  })

  const t0 = Date.now()
  await pipeline(source, fk.createEncryptStream(key), countCiphertext, fk.createDecryptStream(key), sink)
  const secs = (Date.now() - t0) / 1000

  assert.equal(plaintextBytes, TOTAL_MIB * MIB)
  assert.ok(ciphertextBytes > plaintextBytes, 'ciphertext carries a header and tags')
  assert.equal(outHash.digest('hex'), inHash.digest('hex'))
  const growth = (peak - rss0) / MIB
  t.diagnostic(`${TOTAL_MIB} MiB encrypted and decrypted in ${secs.toFixed(2)} s; peak RSS growth ${growth.toFixed(0)} MiB`)
  assert.ok(growth < MAX_RSS_GROWTH_MIB, `RSS grew by ${growth.toFixed(0)} MiB (limit ${MAX_RSS_GROWTH_MIB})`)
})

test('a truncated or altered stream fails with ERR_INTEGRITY and emits no unverified bytes', async () => {
  const key = fk.generateDataKey()
  const data = crypto.randomBytes(3 * MIB + 17)
  const ct = await fk.encrypt(key, data, { segmentSize: 65536 })
  const collect = async (input) => {
    const out = []
    const err = await pipeline(Readable.from([input]), fk.createDecryptStream(key), new Writable({ write(c, _e, cb) { out.push(c); cb() } })).then(() => null, (e) => e)
    return { err, out: Buffer.concat(out) }
  }
  const truncated = await collect(ct.subarray(0, ct.length - 1000))
  assert.equal(truncated.err?.code, 'ERR_INTEGRITY')
  assert.ok(truncated.out.length < data.length && data.subarray(0, truncated.out.length).equals(truncated.out))

  const altered = Buffer.from(ct)
  altered[Math.floor(ct.length / 2)] ^= 0x80
  const bad = await collect(altered)
  assert.equal(bad.err?.code, 'ERR_INTEGRITY')
  // Only whole verified segments before the damage came out.
  assert.ok(bad.out.length < ct.length / 2 && data.subarray(0, bad.out.length).equals(bad.out))

  const wrong = await pipeline(Readable.from([ct]), fk.createDecryptStream(fk.generateDataKey()), new Writable({ write(_c, _e, cb) { cb() } })).then(() => null, (e) => e)
  assert.equal(wrong?.code, 'ERR_KEY_MISMATCH')
})
