'use strict'
// The streams' segment Buffers come from a bounded native pool of reused memory
// (native.segmentBuffer). Memory goes back to the pool only when V8 has collected its
// Buffer: a consumer that keeps every chunk gets them intact while other streams reuse the
// pool, and the pool never holds more than its cap.
const test = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const path = require('node:path')
const v8 = require('node:v8')
const vm = require('node:vm')
const { pipeline } = require('node:stream/promises')
const { Readable, Writable } = require('node:stream')
const fk = require('../lib/index.js')
const native = require(path.join(__dirname, '..', 'native.js'))

// A full GC on demand, for this test process only (node --test runs each file in its own).
v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc')

const MIB = 1 << 20
const sha = (bufs) => {
  const h = crypto.createHash('sha256')
  for (const b of bufs) h.update(b)
  return h.digest('hex')
}
const chunksOf = (buf, size) => {
  const c = []
  for (let o = 0; o < buf.length; o += size) c.push(buf.subarray(o, o + size))
  return c
}
const keep = (into) => new Writable({ write(c, _e, cb) { into.push(c); cb() } })
const drop = () => new Writable({ write(_c, _e, cb) { cb() } })

/** Collects what V8 can, then lets Node run the finalizers (they run on later loop turns). */
async function collect() {
  for (let i = 0; i < 3; i++) {
    gc()
    await new Promise((resolve) => setImmediate(resolve))
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

function withinCap() {
  const u = native.segmentPoolUsage()
  assert.ok(u.live + u.spare <= u.limit, `pool holds ${u.live} + ${u.spare} bytes, cap ${u.limit}`)
  return u
}

test('kept chunks of both streams stay intact while other streams reuse the pool', async () => {
  const key = fk.generateDataKey()
  // Both kept together take most of the pool, not all: the other streams below get the
  // rest and whatever comes back.
  const limit = native.segmentPoolUsage().limit
  const data = crypto.randomBytes(Math.floor(limit * 0.4) + 123)

  const sealed = []
  await pipeline(Readable.from(chunksOf(data, MIB)), fk.createEncryptStream(key), keep(sealed))
  const u = withinCap()
  assert.ok(u.live > 0, 'the kept chunks include pooled Buffers')
  const sealedHash = sha(sealed)

  const opened = []
  await pipeline(Readable.from(chunksOf(Buffer.concat(sealed), 64 * 1024)), fk.createDecryptStream(key), keep(opened))
  withinCap()
  const openedHash = sha(opened)
  assert.equal(openedHash, sha([data]))

  // Every dropped Buffer goes back to the pool; then other streams take and overwrite
  // that memory, twice over, while `sealed` and `opened` are still held.
  await collect()
  const other = crypto.randomBytes(48 * MIB)
  for (let round = 0; round < 2; round++) {
    const back = []
    await pipeline(Readable.from(chunksOf(other, MIB)), fk.createEncryptStream(key), fk.createDecryptStream(key), keep(back))
    assert.equal(sha(back), sha([other]))
    await collect()
    withinCap()
  }
  assert.ok(native.segmentPoolUsage().spare > 0, 'collected segment Buffers came back to the pool')

  assert.equal(sha(sealed), sealedHash, 'kept ciphertext chunks were not overwritten')
  assert.equal(sha(opened), openedHash, 'kept plaintext chunks were not overwritten')
  assert.ok((await fk.decrypt(key, Buffer.concat(sealed))).equals(data))
})

test('64 KiB writes and a chunk kept through a view of its memory', async () => {
  const key = fk.generateDataKey()
  const data = crypto.randomBytes(9 * MIB + 5)
  // Keep only views over each chunk's ArrayBuffer, not the chunks themselves: the memory
  // is still reachable, so it must not be reused.
  const views = []
  const keepViews = new Writable({
    write(c, _e, cb) { views.push(new Uint8Array(c.buffer, c.byteOffset, c.length)); cb() },
  })
  await pipeline(Readable.from(chunksOf(data, 64 * 1024)), fk.createEncryptStream(key), keepViews)
  const hash = sha(views)
  await collect()
  const other = crypto.randomBytes(24 * MIB)
  await pipeline(Readable.from(chunksOf(other, 64 * 1024)), fk.createEncryptStream(key), drop())
  await collect()
  assert.equal(sha(views), hash)
  assert.ok((await fk.decrypt(key, Buffer.concat(views))).equals(data))
})

test('the pool stays within its cap, and memory comes back once no chunk is reachable', async () => {
  const key = fk.generateDataKey()
  const limit = native.segmentPoolUsage().limit
  // More than the cap: the rest are ordinary Buffers.
  const data = crypto.randomBytes(limit + 8 * MIB)
  let held = []
  await pipeline(Readable.from(chunksOf(data, MIB)), fk.createEncryptStream(key), keep(held))
  assert.ok(withinCap().live >= limit / 2, 'the held chunks are pooled')
  assert.ok((await fk.decrypt(key, Buffer.concat(held))).equals(data))
  held = null
  await collect()
  const u = withinCap()
  assert.equal(u.live, 0, 'every collected segment Buffer came back')
  assert.ok(u.spare > 0)
  // Segments below the pool's minimum are ordinary Buffers.
  assert.equal(native.segmentBuffer(4096), null)
})
