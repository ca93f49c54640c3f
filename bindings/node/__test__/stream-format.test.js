'use strict'
// The in-place segment paths (encrypt/decrypt on two threads, the segment streams) against
// the core's own Encryptor/Decryptor (native.Encryptor/Decryptor wrap format::Encryptor
// and format::Decryptor, which the core tests against Tink): every size around segment
// boundaries, every segment size class (sync and worker-thread paths), odd chunkings.
const test = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const path = require('node:path')
const { pipeline } = require('node:stream/promises')
const { Readable, Writable } = require('node:stream')
const fk = require('../lib/index.js')
const native = require(path.join(__dirname, '..', 'native.js'))

const TAG = 16
const HEADERS = 40 // Tink stream header in segment 0

async function through(stream, chunks) {
  const out = []
  await pipeline(Readable.from(chunks), stream, new Writable({ write(c, _e, cb) { out.push(Buffer.from(c)); cb() } }))
  return Buffer.concat(out)
}

function coreEncrypt(key, data, options, chunk) {
  const e = new native.Encryptor(key, options)
  const parts = []
  for (let o = 0; o < data.length; o += chunk) parts.push(e.update(data.subarray(o, o + chunk)))
  parts.push(e.finish())
  return Buffer.concat(parts)
}

function coreDecrypt(key, object) {
  const d = new native.Decryptor(key)
  return Buffer.concat([d.update(object), d.finish()])
}

function split(buf, sizes) {
  const chunks = []
  let o = 0
  for (let i = 0; o < buf.length; i++) {
    const n = sizes[i % sizes.length]
    chunks.push(buf.subarray(o, o + n))
    o += n
  }
  return chunks
}

for (const segmentSize of [4096, 1 << 20]) {
  test(`segment size ${segmentSize}: new paths read and write what the core does`, async () => {
    const key = fk.generateDataKey()
    const options = { segmentSize, objectName: 'part-1' }
    const first = segmentSize - HEADERS - TAG
    const later = segmentSize - TAG
    const sizes = [0, 1, first - 1, first, first + 1, first + later, first + later + 1, first + 3 * later + 5]
    for (const len of sizes) {
      const data = crypto.randomBytes(len)
      // Zero-length chunks between tiny ones, too: each must leave the segment state as is.
      const chunkings = [[len || 1], [1000, 7, 65536], [segmentSize], [segmentSize + 3, 1], [0, 1, 0, 4093]]
      // One-shot and streamed ciphertexts open with the core's decryptor ...
      const oneShot = await fk.encrypt(key, data, options)
      assert.ok(coreDecrypt(key, oneShot).equals(data), `one-shot ${len}`)
      for (const c of chunkings) {
        const ct = await through(fk.createEncryptStream(key, options), split(data, c))
        assert.equal(ct.length, oneShot.length, `stream length ${len} ${c}`)
        assert.ok(coreDecrypt(key, ct).equals(data), `stream ${len} ${c}`)
      }
      // ... and the core's ciphertext opens with the new one-shot and stream decryptors.
      const core = coreEncrypt(key, data, options, 10007)
      assert.ok((await fk.decrypt(key, core)).equals(data), `decrypt ${len}`)
      for (const c of chunkings) {
        const back = await through(fk.createDecryptStream(key), split(core, c))
        assert.ok(back.equals(data), `decrypt stream ${len} ${c}`)
      }
    }
  })
}

test('large inputs (two-thread one-shot path) and every corrupted segment position', async () => {
  const key = fk.generateDataKey()
  const data = crypto.randomBytes(9 * (1 << 20) + 12345)
  const ct = await fk.encrypt(key, data)
  assert.ok(coreDecrypt(key, ct).equals(data))
  assert.ok((await fk.decrypt(key, ct)).equals(data))
  const core = coreEncrypt(key, data, {}, 1 << 20)
  assert.ok((await fk.decrypt(key, core)).equals(data))
  // A flipped bit in the first, a middle and the last segment: one-shot rejects, the
  // stream emits only the verified segments before it.
  for (const at of [200, Math.floor(ct.length / 2), ct.length - 5]) {
    const bad = Buffer.from(ct)
    bad[at] ^= 1
    await assert.rejects(fk.decrypt(key, bad), (e) => e.code === 'ERR_INTEGRITY')
    const out = []
    const err = await pipeline(Readable.from([bad]), fk.createDecryptStream(key), new Writable({ write(c, _e, cb) { out.push(c); cb() } })).then(() => null, (e) => e)
    assert.equal(err?.code, 'ERR_INTEGRITY')
    const got = Buffer.concat(out)
    assert.ok(got.length < data.length && data.subarray(0, got.length).equals(got))
  }
  // Truncated inside the header, and an empty input.
  for (const cut of [ct.subarray(0, 5), ct.subarray(0, 60), Buffer.alloc(0)]) {
    const err = await through(fk.createDecryptStream(key), cut.length ? [cut] : []).then(() => null, (e) => e)
    assert.equal(err?.code, 'ERR_INTEGRITY', `cut at ${cut.length}`)
  }
})

test('segment primitives refuse reuse and misuse without crashing', () => {
  const key = fk.generateDataKey()
  const s = new native.SegmentSealer(key, { segmentSize: 4096 })
  const buf = Buffer.alloc(4096)
  assert.throws(() => s.seal(buf, 5000, false), /do not fit/)
  // Only the last segment may be short (a short one in the middle shifts every later one).
  assert.throws(() => s.seal(buf, 10, false), /exactly/)
  s.seal(buf, 10, true)
  // After the last segment no nonce may be used again.
  assert.throws(() => s.seal(buf, 10, true), /already processed/)
  // The overlapped seal refuses a copy into or out of the segment it is sealing.
  const t = new native.SegmentSealer(key, { segmentSize: 4096 })
  const seg = Buffer.alloc(4096)
  const dst = Buffer.alloc(4096)
  assert.throws(() => t.sealCopy(seg, 100, true, seg, 200, Buffer.alloc(10), 0, 10), /overlap/)
  assert.throws(() => t.sealCopy(seg, 100, true, dst, 0, seg, 0, 10), /overlap/)
  assert.throws(() => t.sealCopy(seg, 100, true, dst, 4090, Buffer.alloc(10), 0, 10), /out of bounds/)
  assert.equal(t.sealCopy(seg, 100, true, dst, 5, Buffer.alloc(10, 7), 0, 10), 116)
  assert.ok(dst.subarray(5, 15).equals(Buffer.alloc(10, 7)))
  assert.throws(() => native.objectPrefixLen(Buffer.alloc(3)), /first 10 bytes/)
  assert.throws(() => native.objectPrefixLen(Buffer.from('NOTANOBJECT!')), /ERR_INTEGRITY/)
})

test('large results reuse freed memory without leaking old bytes', async () => {
  // Results >= 8 MiB are pooled for a moment after JS lets go of them: force that, then
  // encrypt and decrypt smaller and larger inputs into the reused blocks.
  const v8 = require('node:v8')
  const vm = require('node:vm')
  v8.setFlagsFromString('--expose-gc')
  const gc = vm.runInNewContext('gc')
  const settle = async () => {
    gc()
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r))
  }
  const key = fk.generateDataKey()
  const MIB = 1 << 20
  for (const size of [12 * MIB, 10 * MIB + 3, 12 * MIB - 77, 9 * MIB]) {
    await fk.encrypt(key, Buffer.alloc(12 * MIB, 0xee)) // a block full of 0xee, then freed
    await settle()
    const data = crypto.randomBytes(size)
    const ct = await fk.encrypt(key, data)
    assert.ok(coreDecrypt(key, ct).equals(data), `encrypt ${size}`)
    await fk.decrypt(key, await fk.encrypt(key, Buffer.alloc(12 * MIB, 0xdd)))
    await settle()
    const back = await fk.decrypt(key, ct)
    assert.equal(back.length, size)
    assert.ok(back.equals(data), `decrypt ${size}`)
  }
})
