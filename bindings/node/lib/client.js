'use strict'
// The repository client: argument checks, AbortSignal and progress wiring, audit and alert
// callbacks, results with camelCase keys. The work is the Rust core's, off the event loop.
const { EventEmitter } = require('node:events')
const native = require('../native.js')
const results = require('./results.js')
const { call, typeError, rangeError, CancelledError } = require('./errors.js')
const { kNative, optObject, str, optStrings, optBool, optCount, timeArg, checkSignal, checkFn, nativeOf } = require('./args.js')
const { Key, Firestore } = require('./keys.js')

const VERSION = require('../package.json').version

// A listener receiving parsed JSON; its exceptions surface as uncaught, not inside the core.
function jsonCallback(fn) {
  if (typeof fn !== 'function') return undefined
  return (json) => {
    try { fn(JSON.parse(json)) } catch (e) { process.nextTick(() => { throw e }) }
  }
}

function identityOf(v) {
  if (!(v instanceof native.Identity)) throw typeError('options.identity must be a firekeep Identity (from Authenticator.authenticate)')
  return v
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
      identity: o.identity === undefined || o.identity === null ? undefined : identityOf(o.identity),
    }
    if (o.onAlert !== undefined && o.onAlert !== null && typeof o.onAlert !== 'function') throw typeError('options.onAlert must be a function')
    Object.defineProperty(this, kNative, { value: call(() => new native.Client(nativeOptions, jsonCallback(auditFn), jsonCallback(o.onAlert))) })
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
      readStreams: optCount('readStreams', o.readStreams, 1),
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

require('./compliance.js').install(Client, run)

module.exports = { Client, auditVerify, VERSION }
