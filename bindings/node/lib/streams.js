'use strict'
// createEncryptStream / createDecryptStream. Each chunk is copied once, straight into a
// segment Buffer that Node allocates (and frees promptly, like any Buffer); the native side
// seals or opens that segment in place and the same Buffer is pushed downstream. No
// per-chunk native allocation, no external buffers.
//
// A full segment can be sealed as "not last" only once a byte after it has arrived (Tink
// marks the last segment in its nonce). That wait is put to use: the full segment is kept
// `pending` and sealed (or opened) on a second core while the event loop copies the next
// chunk into the following segment, in one native call (sealCopy/openCopy). If the second
// core is busy with other processes and has not started by the time the copy is done, the
// event loop seals the segment itself instead of waiting. Memory: the segment being filled
// plus at most one pending segment.

const { Transform } = require('node:stream')

const HEADER_PREFIX_LEN = 10
const TAG_LEN = 16
// Below this a copy is too short for a second core to pay for the handoff.
const OVERLAP_MIN = 64 * 1024

class SegmentStream extends Transform {
  constructor(deps) {
    super()
    this._deps = deps
    this._ops = null // { run, runCopy, outLen } once the object's parameters are known
    this._index = 0 // index of the segment in this._cur
    this._cur = null
    this._fill = 0
    this._cap = 0
    this._pending = null // a full segment known not to be the last, not yet processed
    this._pendingN = 0
  }

  _out(buf, len) {
    if (len) this.push(len === buf.length ? buf : buf.subarray(0, len))
  }

  _runPending(last) {
    const out = this._ops.run(this._pending, this._pendingN, last)
    this._out(this._pending, this._ops.outLen(this._pendingN, out))
    this._pending = null
  }

  _consume(chunk, off) {
    const len = chunk.length
    while (off < len) {
      if (this._cur === null) {
        this._cap = this._segment(this._index)
        this._cur = Buffer.allocUnsafe(this._cap + this._slack)
        this._fill = 0
      } else if (this._fill === this._cap) {
        // Full, and more input follows: not the last segment.
        if (this._pending !== null) this._runPending(false)
        this._pending = this._cur
        this._pendingN = this._fill
        this._cur = null
        this._index++
        continue
      }
      const n = Math.min(this._cap - this._fill, len - off)
      if (this._pending !== null && n >= OVERLAP_MIN) {
        const seg = this._pending
        const out = this._ops.runCopy(seg, this._pendingN, false, this._cur, this._fill, chunk, off, n)
        this._out(seg, this._ops.outLen(this._pendingN, out))
        this._pending = null
      } else {
        chunk.copy(this._cur, this._fill, off, off + n)
      }
      this._fill += n
      off += n
    }
  }

  _finish() {
    if (this._pending !== null) this._runPending(false)
    if (this._cur === null) {
      this._cap = this._segment(this._index)
      this._cur = Buffer.allocUnsafe(this._cap + this._slack)
      this._fill = 0
    }
    const seg = this._cur
    this._cur = null
    const out = this._ops.run(seg, this._fill, true)
    this._out(seg, this._ops.outLen(this._fill, out))
  }

  _transform(chunk, encoding, cb) {
    if (!(chunk instanceof Uint8Array)) {
      return cb(this._deps.typeError('firekeep streams take Buffer chunks, not strings (do not set an encoding)'))
    }
    try {
      this._write_(chunk)
    } catch (e) {
      return cb(this._deps.adapt(e))
    }
    cb()
  }

  _flush(cb) {
    try {
      this._end()
    } catch (e) {
      return cb(this._deps.adapt(e))
    }
    cb()
  }
}

class EncryptStream extends SegmentStream {
  constructor(native, deps, key, options) {
    super(deps)
    const s = new native.SegmentSealer(key, options)
    const first = s.firstPlaintextLen
    const later = s.plaintextLen
    this._slack = TAG_LEN
    this._segment = (i) => (i === 0 ? first : later)
    this._ops = {
      run: (buf, n, last) => { s.seal(buf, n, last); return n + TAG_LEN },
      runCopy: (seg, n, last, dst, dstOff, src, srcOff, len) => s.sealCopy(seg, n, last, dst, dstOff, src, srcOff, len),
      outLen: (_n, out) => out,
    }
    this._prefix = s.prefix
  }

  _start() {
    if (this._prefix) {
      this.push(this._prefix)
      this._prefix = null
    }
  }

  _write_(chunk) {
    this._start()
    this._consume(chunk, 0)
  }

  _end() {
    this._start()
    this._finish()
  }
}

class DecryptStream extends SegmentStream {
  constructor(native, deps, key) {
    super(deps)
    this._native = native
    this._key = key
    this._head = Buffer.alloc(0)
    this._need = HEADER_PREFIX_LEN
    this._slack = 0
  }

  /** Collects the header ‖ stream header; returns where the body starts in `chunk`. */
  _begin(chunk) {
    let off = 0
    while (this._ops === null && off < chunk.length) {
      const n = Math.min(this._need - this._head.length, chunk.length - off)
      this._head = Buffer.concat([this._head, chunk.subarray(off, off + n)])
      off += n
      if (this._head.length < this._need) break
      if (this._need === HEADER_PREFIX_LEN) {
        this._need = this._native.objectPrefixLen(this._head)
        if (this._need > HEADER_PREFIX_LEN) continue
      }
      const o = new this._native.SegmentOpener(this._key, this._head)
      this._head = null
      const first = o.firstSegmentLen
      const later = o.segmentLen
      this._segment = (i) => (i === 0 ? first : later)
      this._ops = {
        run: (buf, n, last) => o.open(buf, n, last),
        runCopy: (seg, n, last, dst, dstOff, src, srcOff, len) => o.openCopy(seg, n, last, dst, dstOff, src, srcOff, len),
        outLen: (_n, out) => out,
      }
    }
    return off
  }

  _write_(chunk) {
    const off = this._ops === null ? this._begin(chunk) : 0
    if (this._ops !== null) this._consume(chunk, off)
  }

  _end() {
    if (this._ops === null) {
      throw new Error('ERR_INTEGRITY: integrity check failed for object: object is truncated: it ends inside its header')
    }
    this._finish()
  }
}

module.exports = { EncryptStream, DecryptStream }
