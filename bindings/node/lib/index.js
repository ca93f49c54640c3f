'use strict'
// The public API of the `firekeep` package: native classes behind JS wrappers that check
// arguments, adapt errors, link AbortSignals and progress listeners, and give results
// camelCase keys. No backup logic lives here; the Rust core does the work off the event loop.
const { EventEmitter } = require('node:events')
const errors = require('./errors.js')
const values = require('./values.js')
const results = require('./results.js')
const native = require('../native.js')
const { EncryptStream, DecryptStream } = require('./streams.js')

const { call, adapt, typeError, rangeError, CancelledError } = errors
const streamDeps = { adapt, typeError }
const { Timestamp } = values

const kNative = Symbol('firekeep.native')
const VERSION = require('../package.json').version

// ---------------------------------------------------------------------------------------
// Argument helpers

function toBuffer(name, v) {
  if (Buffer.isBuffer(v)) return v
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength)
  throw typeError(`${name} must be a Buffer or Uint8Array`)
}

function optObject(name, v) {
  if (v === undefined || v === null) return {}
  if (typeof v !== 'object') throw typeError(`${name} must be an object`)
  return v
}

function str(name, v) {
  if (typeof v !== 'string') throw typeError(`${name} must be a string`)
  return v
}

function num(name, v) {
  if (typeof v !== 'number') throw typeError(`${name} must be a number`)
  return v
}

function optStrings(name, v) {
  if (v === undefined || v === null) return undefined
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw typeError(`${name} must be an array of strings`)
  return v
}

function optBool(name, v) {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'boolean') throw typeError(`${name} must be a boolean`)
  return v
}

function optCount(name, v, min = 0) {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'number') throw typeError(`${name} must be a number`)
  if (!Number.isInteger(v) || v < min || v > 0xffffffff) throw rangeError(`${name} must be an integer >= ${min} (got ${v})`)
  return v
}

/** RFC 3339 text of a Date, Timestamp or string (validated by the core). */
function timeArg(name, v) {
  if (v === undefined || v === null) return undefined
  if (v instanceof Timestamp) return v.toRFC3339()
  if (v instanceof Date) return Timestamp.fromDate(v).toRFC3339()
  if (typeof v === 'string') return v
  throw typeError(`${name} must be a Date, a Timestamp or an RFC 3339 string`)
}

function checkSignal(signal) {
  if (signal === undefined || signal === null) return undefined
  if (typeof signal !== 'object' || typeof signal.aborted !== 'boolean' || typeof signal.addEventListener !== 'function') {
    throw typeError('signal must be an AbortSignal')
  }
  return signal
}

function checkFn(name, f) {
  if (f === undefined || f === null) return undefined
  if (typeof f !== 'function') throw typeError(`${name} must be a function`)
  return f
}

// ---------------------------------------------------------------------------------------
// The object format on its own

/** A fresh random 32-byte data key. */
function generateDataKey() {
  return native.generateDataKey()
}

function objectOptions(o) {
  o = optObject('options', o)
  return {
    backupId: o.backupId === undefined ? undefined : str('backupId', o.backupId),
    objectName: o.objectName === undefined ? undefined : str('objectName', o.objectName),
    segmentSize: o.segmentSize === undefined ? undefined : num('segmentSize', o.segmentSize),
  }
}

/** Encrypts `data` with a 32-byte data key into one object (off the event loop). */
function encrypt(key, data, options) {
  return call(() => native.encrypt(toBuffer('key', key), toBuffer('data', data), objectOptions(options)))
}

/** Decrypts one object; rejects with KeyMismatchError or IntegrityError. */
function decrypt(key, data) {
  return call(() => native.decrypt(toBuffer('key', key), toBuffer('data', data)))
}

/**
 * Encrypts `data` into the first `encryptedLength(key, data.length, options)` bytes of
 * `out`, resolving to that length: for loops that reuse one result buffer (no allocation,
 * no garbage). Neither buffer may be touched until the Promise settles.
 */
function encryptInto(key, data, out, options) {
  return call(() => native.encryptInto(toBuffer('key', key), toBuffer('data', data), toBuffer('out', out), objectOptions(options)))
}

/** Decrypts one object into the first `decryptedLength(data)` bytes of `out`; zeroes them on error. */
function decryptInto(key, data, out) {
  return call(() => native.decryptInto(toBuffer('key', key), toBuffer('data', data), toBuffer('out', out)))
}

/** Bytes of the object `encrypt` makes of `length` plaintext bytes (what `encryptInto` needs). */
function encryptedLength(key, length, options) {
  return call(() => native.encryptedLength(toBuffer('key', key), num('length', length), objectOptions(options)))
}

/** Bytes of plaintext in an object, from its header and length (what `decryptInto` needs). */
function decryptedLength(data) {
  return call(() => native.decryptedLength(toBuffer('data', data)))
}

/** The header `encrypt` writes for these options (the Tink associated data). */
function objectHeader(key, options) {
  return call(() => native.objectHeader(toBuffer('key', key), objectOptions(options)))
}

/** A Transform stream encrypting its input into one object; memory stays O(segment). */
function createEncryptStream(key, options) {
  return call(() => new EncryptStream(native, streamDeps, toBuffer('key', key), objectOptions(options)))
}

/** A Transform stream decrypting one object; it emits only verified plaintext. */
function createDecryptStream(key) {
  return call(() => new DecryptStream(native, streamDeps, toBuffer('key', key)))
}

// ---------------------------------------------------------------------------------------
// Keys and Firestore

/** A key provider: passphrase, raw key (BYOK), AWS KMS or Google Cloud KMS. Build one with the static methods. */
class Key {
  constructor(nativeKey) {
    if (!(nativeKey instanceof native.Key)) {
      throw typeError('use Key.passphrase(), Key.raw(), Key.generateRaw(), Key.awsKms(), Key.gcpKms() or Key.pkcs11() to make a Key')
    }
    Object.defineProperty(this, kNative, { value: nativeKey })
  }

  /** A passphrase key (PBKDF2-HMAC-SHA256, `iterations` default 600,000). */
  static passphrase(passphrase, iterations) {
    str('passphrase', passphrase)
    if (iterations !== undefined && typeof iterations !== 'number') throw typeError('iterations must be a number')
    return new Key(call(() => native.Key.passphrase(passphrase, iterations)))
  }

  /** A raw key (BYOK): 32 bytes, or their base64 as `openssl rand -base64 32` prints. */
  static raw(key) {
    if (typeof key === 'string') return new Key(call(() => native.Key.rawBase64(key)))
    return new Key(call(() => native.Key.rawBytes(toBuffer('key', key))))
  }

  /** A fresh random raw key and its base64 text (store that secret somewhere safe). */
  static generateRaw() {
    const g = native.Key.generateRaw()
    return { key: new Key(g.key), base64: g.base64 }
  }

  /** An AWS KMS key (id, ARN or alias); region and credentials default to the AWS chain. */
  static async awsKms(keyId, options) {
    str('keyId', keyId)
    return new Key(await call(() => native.Key.awsKms(keyId, optObject('options', options))))
  }

  /**
   * A Google Cloud KMS key (`projects/P/locations/L/keyRings/R/cryptoKeys/K`); credentials
   * default to the Google chain.
   */
  static async gcpKms(keyName, options) {
    str('keyName', keyName)
    return new Key(await call(() => native.Key.gcpKms(keyName, optObject('options', options))))
  }

  /**
   * A key inside an HSM, by its RFC 7512 URI
   * `pkcs11:token=<label>;object=<key label>?module-path=/path/vendor.so&pin-source=file:/pin`
   * (PIN from `pin-source` or FIREKEEP_PKCS11_PIN, never the URI).
   */
  static async pkcs11(uri) {
    str('uri', uri)
    return new Key(await call(() => native.Key.pkcs11(uri)))
  }

  /** `passphrase`, `raw`, `aws-kms`, `gcp-kms` or `pkcs11`. */
  get kind() { return this[kNative].kind }
  /** The non-secret key id recorded with each backup. */
  get keyId() { return this[kNative].keyId }

  toString() { return `Key(${this.kind}, ${this.keyId})` }
  [Symbol.for('nodejs.util.inspect.custom')]() { return this.toString() }
}

/** A Firestore database to back up from or restore into. */
class Firestore {
  /**
   * `emulatorHost` (or env FIRESTORE_EMULATOR_HOST) selects an emulator; else `credentials`
   * (a service-account JSON file); else application default credentials.
   */
  constructor(project, options) {
    str('project', project)
    const o = optObject('options', options)
    const n = call(() => new native.Firestore(project, {
      database: o.database === undefined ? undefined : str('database', o.database),
      credentials: o.credentials === undefined ? undefined : str('credentials', o.credentials),
      emulatorHost: o.emulatorHost === undefined ? undefined : str('emulatorHost', o.emulatorHost),
    }))
    Object.defineProperty(this, kNative, { value: n })
  }

  /** The project id. */
  get project() { return this[kNative].project }
  /** The database id (`(default)` unless given). */
  get database() { return this[kNative].database }

  toString() { return `Firestore(${this.project}/${this.database})` }
  [Symbol.for('nodejs.util.inspect.custom')]() { return this.toString() }
}

function nativeOf(cls, name, v) {
  if (!(v instanceof cls)) throw typeError(`${name} must be a firekeep ${cls.name}`)
  return v[kNative]
}

// ---------------------------------------------------------------------------------------
// Operations: progress and cancellation

/**
 * Runs one native operation: links `signal` to a cancel token (detached afterwards), sends
 * progress to the callback and to the client's 'progress' listeners, adapts errors.
 */
async function run(client, operation, options, start) {
  const signal = checkSignal(options.signal)
  const progress = checkFn('progress', options.progress)
  // Already aborted: do nothing at all (no connection, no audit event), as Node's APIs do.
  if (signal && signal.aborted) throw cancelled(signal)
  const token = new native.CancelToken()
  let onAbort
  if (signal) {
    if (signal.aborted) token.cancel()
    else signal.addEventListener('abort', (onAbort = () => token.cancel()), { once: true })
  }
  const wantsProgress = progress || client.listenerCount('progress') > 0
  const onProgress = wantsProgress
    ? (json) => {
        // napi calls with the JSON only (CalleeHandled = false: no error-first argument).
        const p = { operation, ...JSON.parse(json) }
        // A throwing listener must not break the native callback queue.
        try { if (progress) progress(p) } catch (e) { process.nextTick(() => { throw e }) }
        client.emit('progress', p)
      }
    : undefined
  try {
    return await call(() => start(onProgress, token))
  } catch (e) {
    if (e instanceof CancelledError && signal && signal.aborted && signal.reason !== undefined) e.cause = signal.reason
    throw e
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort)
  }
}

function cancelled(signal) {
  return new CancelledError('operation cancelled: the AbortSignal fired before it started', 'ERR_CANCELLED', { cause: signal.reason })
}

/**
 * Seconds from a number of seconds or text in the core's one duration grammar (restic's:
 * units y, m = months, w, d, h, s, e.g. `7d`, `36h`, `1w2d`, `6m`, `1y2m`).
 */
function durationArg(name, v) {
  if (v === undefined || v === null) return undefined
  let s
  if (typeof v === 'number') s = v
  else if (typeof v === 'string') {
    try {
      s = call(() => native.parseDuration(v))
    } catch (e) {
      if (e instanceof RangeError) throw rangeError(`${name}: ${e.message}`)
      throw e
    }
  } else throw typeError(`${name} must be seconds (a number) or text like "7d"`)
  if (!Number.isInteger(s) || s < 0) throw rangeError(`${name} must be a whole, non-negative number of seconds (got ${v})`)
  return { secs: s, nanos: 0 }
}

const AUDIT_DEFAULT = 'memory'

/**
 * Authorized, audited access to one backup repository. Every operation returns a Promise,
 * runs off the event loop, accepts `signal` (AbortSignal) and, for long ones, `progress`.
 * It is also an EventEmitter: 'progress' fires for every operation of this client, with
 * `operation` naming it (`backup`, `verify`, `restore`).
 */
class Client extends EventEmitter {
  constructor(options) {
    super()
    const o = optObject('options', options)
    if (o.repository === undefined) throw typeError('options.repository is required (a path, file:///path, s3://, gs:// or az:// URL)')
    const key = nativeOf(Key, 'options.key', o.key)
    const audit = o.audit === undefined || o.audit === null ? AUDIT_DEFAULT : o.audit
    let auditFn
    if (typeof audit === 'function') auditFn = audit
    else if (typeof audit !== 'string') throw typeError('options.audit must be "memory", a JSONL file path or a function')
    let storageOptions
    if (o.storageOptions !== undefined && o.storageOptions !== null) {
      storageOptions = {}
      for (const [k, v] of Object.entries(optObject('options.storageOptions', o.storageOptions))) {
        if (!['string', 'number', 'boolean'].includes(typeof v)) throw typeError(`storage option ${k} must be a string, number or boolean`)
        storageOptions[k] = String(v)
      }
    }
    const ctx = optObject('options.context', o.context)
    const nativeOptions = {
      repository: str('options.repository', o.repository),
      key,
      storageOptions,
      organization: o.organization === undefined ? undefined : str('options.organization', o.organization),
      principal: o.principal === undefined ? undefined : str('options.principal', o.principal),
      policy: o.policy === undefined ? undefined : str('options.policy', o.policy),
      audit: auditFn ? undefined : audit,
      create: optBool('options.create', o.create),
      ip: ctx.ip === undefined ? undefined : str('context.ip', ctx.ip),
      userAgent: ctx.userAgent === undefined ? `firekeep-node/${VERSION}` : str('context.userAgent', ctx.userAgent),
      location: ctx.location === undefined ? undefined : str('context.location', ctx.location),
      mfa: optBool('context.mfa', ctx.mfa),
    }
    const cb = auditFn
      ? (json) => {
          try { auditFn(JSON.parse(json)) } catch (e) { process.nextTick(() => { throw e }) }
        }
      : undefined
    Object.defineProperty(this, kNative, { value: call(() => new native.Client(nativeOptions, cb)) })
  }

  /** Who acts, e.g. `user:alice`. */
  get principal() { return this[kNative].principal }
  /** The organization the principal acts in. */
  get organization() { return this[kNative].organization }
  /** A description of the repository (no credentials). */
  get repository() { return this[kNative].repository }
  /** The key id new backups are wrapped under. */
  get keyId() { return this[kNative].keyId }

  /** Backs up `source` (all of it, or `collections`) at one consistent read time. */
  async backup(source, options) {
    const o = optObject('options', options)
    const src = nativeOf(Firestore, 'source', source)
    let labels
    if (o.labels !== undefined && o.labels !== null) {
      labels = {}
      for (const [k, v] of Object.entries(optObject('labels', o.labels))) labels[k] = str(`label ${k}`, v)
    }
    const opts = {
      collections: optStrings('collections', o.collections),
      subcollections: optBool('subcollections', o.subcollections),
      exclude: optStrings('exclude', o.exclude),
      readTime: timeArg('readTime', o.readTime),
      labels,
      parallelism: optCount('parallelism', o.parallelism, 1),
    }
    const raw = await run(this, 'backup', o, (p, t) => this[kNative].backup(src, opts, p, t))
    return results.backupReport(JSON.parse(raw))
  }

  /**
   * Complete backups, newest first, as an array; those this client's key cannot open (made
   * under another key, refused by the KMS, damaged) are in its `unreadable` property.
   */
  async list(options) {
    const o = optObject('options', options)
    checkSignal(o.signal)
    if (o.signal && o.signal.aborted) throw cancelled(o.signal)
    const raw = await call(() => this[kNative].list())
    return results.backupList(JSON.parse(raw))
  }

  /**
   * Checks every part of a backup without touching Firestore. Bad parts reject with
   * IntegrityError, or with `throwOnError: false` come back in the report (`ok: false`).
   */
  async verify(backupId, options) {
    str('backupId', backupId)
    const o = optObject('options', options)
    const throwOnError = o.throwOnError === undefined ? true : optBool('throwOnError', o.throwOnError)
    const raw = await run(this, 'verify', o, (p, t) => this[kNative].verify(backupId, throwOnError, p, t))
    return results.verifyReport(JSON.parse(raw))
  }

  /** Restores a backup (or some collections) into `target`. */
  async restore(backupId, target, options) {
    str('backupId', backupId)
    const tgt = nativeOf(Firestore, 'target', target)
    const o = optObject('options', options)
    // The conflict names are parsed by the core ("overwrite", "skip", "fail").
    if (o.conflict !== undefined) str('conflict', o.conflict)
    const opts = {
      collections: optStrings('collections', o.collections),
      subcollections: optBool('subcollections', o.subcollections),
      conflict: o.conflict,
      dryRun: optBool('dryRun', o.dryRun),
      verifyFirst: optBool('verifyFirst', o.verifyFirst),
    }
    const raw = await run(this, 'restore', o, (p, t) => this[kNative].restore(backupId, tgt, opts, p, t))
    return results.restoreReport(JSON.parse(raw))
  }

  /** Compares backup `fromId` with another backup id, or with a live `Firestore`. */
  async diff(fromId, to, options) {
    str('fromId', fromId)
    const o = optObject('options', options)
    let toId, source
    if (to instanceof Firestore) source = to[kNative]
    else if (typeof to === 'string') toId = to
    else throw typeError('diff(fromId, to): `to` must be another backup id or a Firestore')
    const maxNames = optCount('maxNames', o.maxNames)
    const raw = await run(this, 'diff', o, (_p, t) => this[kNative].diff(fromId, toId, source, maxNames, t))
    return results.diffReport(JSON.parse(raw))
  }

  /**
   * Applies a retention policy (restic's keep rules: keepLast, keepHourly, keepDaily,
   * keepWeekly, keepMonthly, keepYearly, keepWithin); `dryRun` only plans.
   */
  async prune(options) {
    const o = optObject('options', options)
    const retention = {
      keep_last: optCount('keepLast', o.keepLast) || 0,
      keep_hourly: optCount('keepHourly', o.keepHourly) || 0,
      keep_daily: optCount('keepDaily', o.keepDaily) || 0,
      keep_weekly: optCount('keepWeekly', o.keepWeekly) || 0,
      keep_monthly: optCount('keepMonthly', o.keepMonthly) || 0,
      keep_yearly: optCount('keepYearly', o.keepYearly) || 0,
    }
    const within = durationArg('keepWithin', o.keepWithin)
    if (within) retention.keep_within = within
    const grace = durationArg('orphanGrace', o.orphanGrace)
    if (grace) retention.orphan_grace = grace
    const dryRun = optBool('dryRun', o.dryRun) || false
    const raw = await run(this, 'prune', o, () => this[kNative].prune(JSON.stringify(retention), dryRun))
    return results.pruneResult(JSON.parse(raw))
  }

  /** Re-wraps every backup's data key under `newKey` (data is not re-encrypted). */
  async rotateKey(newKey, options) {
    const k = nativeOf(Key, 'newKey', newKey)
    const o = optObject('options', options)
    const raw = await run(this, 'rotateKey', o, (_p, t) => this[kNative].rotateKey(k, t))
    return results.rotateReport(JSON.parse(raw))
  }

  /**
   * Whether this client's principal may perform `action` (`restore_backup`,
   * `create_backup`, ...) on `resource` ({project, database, collections}), and why. A
   * check only: it records no audit event (the operation itself is checked again).
   */
  check(action, resource) {
    str('action', action)
    const r = optObject('resource', resource)
    return call(() => this[kNative].check(
      action,
      r.project === undefined ? undefined : str('resource.project', r.project),
      r.database === undefined ? undefined : str('resource.database', r.database),
      optStrings('resource.collections', r.collections),
    ))
  }

  /**
   * `check` as an operation: resolves with the Decision when allowed; when denied, records
   * `authorization.denied` in the audit trail and rejects with AuthorizationDeniedError.
   * Use it to refuse a request before doing any work for it.
   */
  async authorize(action, resource) {
    str('action', action)
    const r = optObject('resource', resource)
    return call(() => this[kNative].authorize(
      action,
      r.project === undefined ? undefined : str('resource.project', r.project),
      r.database === undefined ? undefined : str('resource.database', r.database),
      optStrings('resource.collections', r.collections),
    ))
  }

  /** The audit events this client's sink holds (memory and file sinks). */
  /** The events this client's sink holds (memory or file); audited as `audit.viewed`. */
  async auditEvents() {
    return JSON.parse(await call(() => this[kNative].auditEvents()))
  }

  /** Verifies this client's audit trail; audited as `audit.verified`. */
  async auditVerify() {
    return await call(() => this[kNative].auditVerify())
  }

  /** This client's audit events as `json` or `csv`; audited as `audit.exported`. */
  async auditExport(format = 'json', options) {
    if (format !== 'json' && format !== 'csv') throw rangeError(`format ${JSON.stringify(format)} is not "json" or "csv"`)
    const o = optObject('options', options)
    return await call(() => this[kNative].auditExport(format, timeArg('since', o.since), timeArg('until', o.until), optStrings('actions', o.actions)))
  }

  toString() { return `Client(${this.repository}, ${this.principal})` }
  [Symbol.for('nodejs.util.inspect.custom')]() { return this.toString() }
}

require('./compliance.js').install(Client, { kNative, run, call, optObject, str, optStrings, optBool, typeError, rangeError })

// ---------------------------------------------------------------------------------------
// Audit trail

/**
 * Verifies the hash chain of audit events you hold (e.g. the ones an `audit` callback
 * received). A break throws AuditError naming the first bad event. A client's own trail:
 * `client.auditVerify()`.
 */
function auditVerify(events) {
  if (!Array.isArray(events)) throw typeError('auditVerify takes an array of audit events')
  return call(() => native.auditVerifyEvents(JSON.stringify(events)))
}

module.exports = {
  version: VERSION,
  // errors
  FirekeepError: errors.FirekeepError,
  InvalidInputError: errors.InvalidInputError,
  InvalidConfigError: errors.InvalidConfigError,
  KeyMismatchError: errors.KeyMismatchError,
  IntegrityError: errors.IntegrityError,
  NotFoundError: errors.NotFoundError,
  AlreadyExistsError: errors.AlreadyExistsError,
  StoragePermissionError: errors.StoragePermissionError,
  StorageError: errors.StorageError,
  FirestoreError: errors.FirestoreError,
  KeyProviderError: errors.KeyProviderError,
  AuthorizationDeniedError: errors.AuthorizationDeniedError,
  AuditError: errors.AuditError,
  CancelledError: errors.CancelledError,
  IoError: errors.IoError,
  // client
  Client,
  Firestore,
  Key,
  // format
  generateDataKey,
  encrypt,
  decrypt,
  encryptInto,
  decryptInto,
  encryptedLength,
  decryptedLength,
  objectHeader,
  createEncryptStream,
  createDecryptStream,
  // documents
  Timestamp: values.Timestamp,
  GeoPoint: values.GeoPoint,
  DocumentReference: values.DocumentReference,
  Double: values.Double,
  Document: values.Document,
  decodeDocument: values.decodeDocument,
  encodeDocument: values.encodeDocument,
  // audit
  auditVerify,
}
// `import firekeep from 'firekeep'` and `require('firekeep').default` are the same object.
module.exports.default = module.exports
