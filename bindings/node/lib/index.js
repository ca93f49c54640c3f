'use strict'
// The public API: native classes plus the error adapter, Promise/AbortSignal glue and
// Node streams. No backup logic lives here.
const { Transform } = require('node:stream')
const native = require('../native.js')

/** Base class of every firekeep error; `code` is the core's stable error code. */
class FirekeepError extends Error {
  constructor(message, code) {
    super(message)
    this.name = 'FirekeepError'
    this.code = code
  }
}

const CODE_RE = /^(ERR_[A-Z_]+): ([\s\S]*)$/

/** Maps a native error ("CODE: message") to FirekeepError, TypeError or RangeError. */
function adapt(e) {
  if (!(e instanceof Error)) return e
  const m = CODE_RE.exec(e.message)
  if (!m) {
    // napi's own argument checks ("Failed to convert ...") are bad argument types.
    if (e.code === 'InvalidArg' || e.code === 'NumberExpected' || e.code === 'StringExpected' || e.code === 'ObjectExpected') {
      const t = new TypeError(e.message)
      t.code = 'ERR_INVALID_ARG_TYPE'
      return t
    }
    return e
  }
  const [, code, message] = m
  let out
  if (code === 'ERR_INVALID_ARG_TYPE') out = new TypeError(message)
  else if (code === 'ERR_OUT_OF_RANGE') out = new RangeError(message)
  else return new FirekeepError(message, code)
  out.code = code
  return out
}

function call(fn) {
  try {
    const r = fn()
    return r && typeof r.then === 'function' ? r.catch((e) => { throw adapt(e) }) : r
  } catch (e) {
    throw adapt(e)
  }
}

function toBuffer(name, v) {
  if (Buffer.isBuffer(v)) return v
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength)
  const t = new TypeError(`${name} must be a Buffer or Uint8Array`)
  t.code = 'ERR_INVALID_ARG_TYPE'
  throw t
}

const encrypt = (key, data, options) => call(() => native.encrypt(toBuffer('key', key), toBuffer('data', data), options))
const decrypt = (key, data) => call(() => native.decrypt(toBuffer('key', key), toBuffer('data', data)))

/** A Transform stream that encrypts its input into one object (bounded memory). */
function createEncryptStream(key, options) {
  const enc = call(() => new native.Encryptor(toBuffer('key', key), options))
  return new Transform({
    transform(chunk, _enc, cb) {
      try { cb(null, enc.update(chunk)) } catch (e) { cb(adapt(e)) }
    },
    flush(cb) {
      try { cb(null, enc.finish()) } catch (e) { cb(adapt(e)) }
    },
  })
}

/** A Transform stream that decrypts one object, emitting only verified plaintext. */
function createDecryptStream(key) {
  const dec = call(() => new native.Decryptor(toBuffer('key', key)))
  return new Transform({
    transform(chunk, _enc, cb) {
      try { cb(null, dec.update(chunk)) } catch (e) { cb(adapt(e)) }
    },
    flush(cb) {
      try { cb(null, dec.finish()) } catch (e) { cb(adapt(e)) }
    },
  })
}

/** Links an AbortSignal to a native cancel token. */
function tokenFor(signal) {
  const token = new native.CancelToken()
  if (signal) {
    if (signal.aborted) token.cancel()
    else signal.addEventListener('abort', () => token.cancel(), { once: true })
  }
  return token
}

function progressFn(cb) {
  return cb ? (err, json) => { if (!err) cb(JSON.parse(json)) } : undefined
}

const Key = {
  passphrase: (p, iterations) => call(() => native.Key.passphrase(p, iterations)),
  raw: (k) => call(() => (typeof k === 'string' ? native.Key.rawBase64(k) : native.Key.rawBytes(toBuffer('key', k)))),
  generateRaw: () => { const g = native.Key.generateRaw(); return { key: g.key, base64: g.base64 } },
  awsKms: (keyId, options) => call(() => native.Key.awsKms(keyId, options)),
}

class Firestore {
  constructor(project, options) {
    this.native = call(() => new native.Firestore(project, options))
  }
  get project() { return this.native.project }
  get database() { return this.native.database }
}

/** Authorized, audited access to one repository. All operations return Promises. */
class Client {
  constructor(options) {
    const { auditCallback, ...rest } = options || {}
    const cb = typeof options?.audit === 'function' ? options.audit : auditCallback
    if (typeof rest.audit === 'function') delete rest.audit
    this.native = call(() => new native.Client(rest, cb ? (err, json) => { if (!err) cb(JSON.parse(json)) } : undefined))
  }
  get principal() { return this.native.principal }
  get organization() { return this.native.organization }
  get keyId() { return this.native.keyId }
  async backup(source, options = {}) {
    const { progress, signal, readTime, ...rest } = options
    const rt = readTime instanceof Date ? readTime.toISOString() : readTime
    return JSON.parse(await call(() => this.native.backup(source.native, { ...rest, readTime: rt }, progressFn(progress), tokenFor(signal))))
  }
  async list() { return JSON.parse(await call(() => this.native.list())) }
  async verify(backupId, options = {}) {
    const { progress, signal, throwOnError = true } = options
    return JSON.parse(await call(() => this.native.verify(backupId, throwOnError, progressFn(progress), tokenFor(signal))))
  }
  async restore(backupId, target, options = {}) {
    const { progress, signal, ...rest } = options
    return JSON.parse(await call(() => this.native.restore(backupId, target.native, rest, progressFn(progress), tokenFor(signal))))
  }
  async diff(fromId, to, options = {}) {
    const isSource = to instanceof Firestore
    return JSON.parse(await call(() => this.native.diff(fromId, isSource ? undefined : to, isSource ? to.native : undefined, options.maxNames, tokenFor(options.signal))))
  }
  /** `retention` uses the core's keys: keep_last, keep_daily, … */
  async prune(retention, options = {}) {
    return JSON.parse(await call(() => this.native.prune(JSON.stringify(retention), !!options.dryRun)))
  }
  async rotateKey(newKey, options = {}) {
    return JSON.parse(await call(() => this.native.rotateKey(newKey, tokenFor(options.signal))))
  }
  auditEvents() { return JSON.parse(call(() => this.native.auditEvents())) }
}

module.exports = {
  FirekeepError, Client, Firestore, Key,
  encrypt, decrypt, createEncryptStream, createDecryptStream,
  generateDataKey: native.generateDataKey,
  objectHeader: (key, options) => call(() => native.objectHeader(toBuffer('key', key), options)),
  auditExport: (events, format = 'json', options = {}) => call(() => native.auditExport(JSON.stringify(events), format, options.since, options.until, options.actions)),
  auditVerify: (opts) => call(() => native.auditVerify(opts.path, opts.events ? JSON.stringify(opts.events) : undefined)),
}
