'use strict'
// createEncryptStream / createDecryptStream: each chunk is copied once, straight into a
// segment Buffer that Node allocates (and frees promptly, like any Buffer); the native side
// seals or opens that segment in place, and the same Buffer is pushed downstream. For
// large segments the crypto runs on a worker thread while the event loop copies the next
// chunk, with at most MAX_IN_FLIGHT segments in flight, so memory stays a few segments.
//
// A segment is sealed as "not last" only once a byte after it has arrived (Tink marks the
// last segment in its nonce), so the segment being filled is always held back until then.

const { Transform } = require('node:stream')

// Below this segment size a worker round trip costs more than the crypto it moves.
const ASYNC_MIN_SEGMENT = 128 * 1024
const MAX_IN_FLIGHT = 2
const HEADER_PREFIX_LEN = 10
const TAG_LEN = 16

function noop() {}

/**
 * The segmenting Transform shared by both directions. `first`/`later` are the input bytes
 * of segment 0 and of every later one; `run(buf, n, last)` transforms `buf[..n]` in place
 * and returns the output length; `runAsync` does it on a worker, resolving with `buf`.
 */
class SegmentStream extends Transform {
  constructor(deps) {
    super()
    this._deps = deps
    this._cur = null // the segment being filled
    this._fill = 0
    this._cap = 0
    this._queue = [] // outputs in order: Buffers or Promises of them
  }

  // Subclasses: _begin(chunk, off) consumes header bytes and returns the new offset, or
  // leaves this._machine null while it waits for more; _segment(index) is the input size.

  _emit(last) {
    const { run, runAsync, outLen } = this._machine
    const buf = this._cur
    const n = this._fill
    this._cur = null
    this._index++
    if (this._async) {
      const p = runAsync(buf, n, last).then((b) => b.subarray(0, outLen(n)))
      p.catch(noop) // awaited in order below; never an unhandled rejection if destroyed
      this._queue.push(p)
    } else {
      const out = run(buf, n, last)
      this._queue.push(out === buf.length ? buf : buf.subarray(0, out))
    }
  }

  async _drain(keep) {
    while (this._queue.length > keep) {
      const out = await this._queue.shift()
      if (out.length) this.push(out)
    }
  }

  async _write_(chunk) {
    let off = 0
    if (this._machine === null) {
      off = this._begin(chunk, 0)
      if (this._machine === null) return
    }
    while (off < chunk.length) {
      if (this._cur === null) {
        this._cap = this._segment(this._index)
        this._cur = Buffer.allocUnsafe(this._cap + this._slack)
        this._fill = 0
      } else if (this._fill === this._cap) {
        this._emit(false) // more input follows: not the last segment
        continue
      }
      const n = Math.min(this._cap - this._fill, chunk.length - off)
      chunk.copy(this._cur, this._fill, off, off + n)
      this._fill += n
      off += n
    }
    await this._drain(this._async ? MAX_IN_FLIGHT - 1 : 0)
  }

  _transform(chunk, encoding, cb) {
    if (!(chunk instanceof Uint8Array)) {
      return cb(this._deps.typeError('firekeep streams take Buffer chunks, not strings (do not set an encoding)'))
    }
    let p
    try { p = this._write_(chunk) } catch (e) { return cb(this._deps.adapt(e)) }
    p.then(() => cb(), (e) => cb(this._deps.adapt(e)))
  }

  _flush(cb) {
    const end = async () => {
      this._end()
      await this._drain(0)
    }
    let p
    try { p = end() } catch (e) { return cb(this._deps.adapt(e)) }
    p.then(() => cb(), (e) => cb(this._deps.adapt(e)))
  }
}

class EncryptStream extends SegmentStream {
  constructor(native, deps, key, options) {
    super(deps)
    const s = new native.SegmentSealer(key, options)
    const first = s.firstPlaintextLen
    const later = s.plaintextLen
    this._async = later >= ASYNC_MIN_SEGMENT
    this._slack = TAG_LEN
    this._index = 0
    this._segment = (i) => (i === 0 ? first : later)
    this._machine = {
      run: (buf, n, last) => { s.seal(buf, n, last); return n + TAG_LEN },
      runAsync: (buf, n, last) => s.sealAsync(buf, n, last),
      outLen: (n) => n + TAG_LEN,
    }
    this._prefix = s.prefix
  }

  _write_(chunk) {
    if (this._prefix) { this.push(this._prefix); this._prefix = null }
    return super._write_(chunk)
  }

  _end() {
    if (this._prefix) { this.push(this._prefix); this._prefix = null }
    if (this._cur === null) {
      // Empty input, or input ending exactly on a segment boundary that was already
      // emitted... which cannot happen: a full segment is only emitted when more follows.
      this._cap = this._segment(this._index)
      this._cur = Buffer.allocUnsafe(this._cap + TAG_LEN)
      this._fill = 0
    }
    this._emit(true)
  }
}

class DecryptStream extends SegmentStream {
  constructor(native, deps, key) {
    super(deps)
    this._native = native
    this._key = key
    this._machine = null
    this._head = Buffer.alloc(0)
    this._need = HEADER_PREFIX_LEN
    this._slack = 0
    this._index = 0
  }

  _begin(chunk, off) {
    const native = this._native
    while (this._machine === null && off < chunk.length) {
      const n = Math.min(this._need - this._head.length, chunk.length - off)
      this._head = Buffer.concat([this._head, chunk.subarray(off, off + n)])
      off += n
      if (this._head.length < this._need) break
      if (this._need === HEADER_PREFIX_LEN) {
        this._need = native.objectPrefixLen(this._head)
        if (this._need > HEADER_PREFIX_LEN) continue
      }
      const o = new native.SegmentOpener(this._key, this._head)
      this._head = null
      const first = o.firstSegmentLen
      const later = o.segmentLen
      this._async = later >= ASYNC_MIN_SEGMENT
      this._segment = (i) => (i === 0 ? first : later)
      this._machine = {
        run: (buf, n, last) => o.open(buf, n, last),
        runAsync: (buf, n, last) => o.openAsync(buf, n, last),
        outLen: (n) => n - TAG_LEN,
      }
    }
    return off
  }

  _end() {
    if (this._machine === null) {
      const e = new Error('ERR_INTEGRITY: integrity check failed for object: object is truncated: it ends inside its header')
      throw e
    }
    if (this._cur === null) {
      this._cur = Buffer.allocUnsafe(0)
      this._fill = 0
    }
    this._emit(true)
  }
}

module.exports = { EncryptStream, DecryptStream }
