'use strict'
// Firestore values as JS values, exactly. The Rust core validates and canonicalises the
// REST JSON (`normalizeDocument`); this file maps it to and from JS types.
//
//   nullValue      <-> null                  booleanValue   <-> boolean
//   integerValue   <-> number (safe) | bigint (beyond 2^53 - 1)
//   doubleValue    <-> number, or Double for an integral value (1.0), so it stays a double
//   timestampValue <-> Timestamp (seconds + nanoseconds); a Date encodes too
//   stringValue    <-> string                bytesValue     <-> Buffer (Uint8Array encodes)
//   referenceValue <-> DocumentReference     geoPointValue  <-> GeoPoint
//   arrayValue     <-> Array                 mapValue       <-> plain object
const { typeError, rangeError, call } = require('./errors.js')

// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, Firestore's timestamp range.
const MIN_SECONDS = -62135596800
const MAX_SECONDS = 253402300799
const MAX_NESTING = 20
const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

/** A Firestore timestamp: Unix seconds and nanoseconds (0..999,999,999), UTC. */
class Timestamp {
  /**
   * @param {number} seconds whole seconds since 1970-01-01T00:00:00Z (may be negative)
   * @param {number} nanoseconds 0 ..= 999999999
   */
  constructor(seconds, nanoseconds = 0) {
    if (typeof seconds !== 'number' || typeof nanoseconds !== 'number') {
      throw typeError('Timestamp(seconds, nanoseconds) takes two numbers')
    }
    if (!Number.isInteger(seconds) || seconds < MIN_SECONDS || seconds > MAX_SECONDS) {
      throw rangeError(`Timestamp seconds ${seconds} must be an integer within 0001-01-01 ..= 9999-12-31 (${MIN_SECONDS} ..= ${MAX_SECONDS})`)
    }
    if (!Number.isInteger(nanoseconds) || nanoseconds < 0 || nanoseconds > 999999999) {
      throw rangeError(`Timestamp nanoseconds ${nanoseconds} must be an integer in 0 ..= 999999999`)
    }
    this.seconds = seconds
    this.nanoseconds = nanoseconds
    Object.freeze(this)
  }

  /** The current time (millisecond precision). */
  static now() {
    return Timestamp.fromMillis(Date.now())
  }

  /** From a Date (millisecond precision). */
  static fromDate(date) {
    if (!(date instanceof Date)) throw typeError('Timestamp.fromDate takes a Date')
    const ms = date.getTime()
    if (Number.isNaN(ms)) throw rangeError('Timestamp.fromDate: invalid Date')
    return Timestamp.fromMillis(ms)
  }

  /** From milliseconds since the Unix epoch (fractions keep microseconds and nanoseconds). */
  static fromMillis(ms) {
    if (typeof ms !== 'number' || !Number.isFinite(ms)) throw typeError('Timestamp.fromMillis takes a finite number')
    const seconds = Math.floor(ms / 1000)
    const nanoseconds = Math.min(999999999, Math.round((ms - seconds * 1000) * 1e6))
    return new Timestamp(seconds, nanoseconds)
  }

  /** From RFC 3339 text (`2024-05-01T12:00:00.123456789Z`, offsets allowed), to the nanosecond. */
  static parse(text) {
    if (typeof text !== 'string') throw typeError('Timestamp.parse takes a string')
    const m = RFC3339_RE.exec(text)
    if (!m) throw rangeError(`${JSON.stringify(text)} is not an RFC 3339 timestamp like 2024-05-01T12:00:00.5Z`)
    const [, date, time, frac = '', zone] = m
    const ms = Date.parse(`${date}T${time}Z`)
    if (Number.isNaN(ms)) throw rangeError(`${JSON.stringify(text)} is not a valid date`)
    let seconds = ms / 1000
    if (zone !== 'Z' && zone !== 'z') {
      const sign = zone[0] === '-' ? -1 : 1
      seconds -= sign * (Number(zone.slice(1, 3)) * 3600 + Number(zone.slice(4, 6)) * 60)
    }
    return new Timestamp(seconds, Number((frac + '000000000').slice(0, 9)))
  }

  /** A Date (loses what is below the millisecond). */
  toDate() {
    return new Date(this.toMillis())
  }

  /** Milliseconds since the Unix epoch (loses what is below the millisecond). */
  toMillis() {
    return this.seconds * 1000 + Math.floor(this.nanoseconds / 1e6)
  }

  /** RFC 3339 UTC with 0, 3, 6 or 9 fractional digits, as backups store it. */
  toRFC3339() {
    const base = new Date(this.seconds * 1000).toISOString().slice(0, 19)
    let n = this.nanoseconds
    if (n === 0) return `${base}Z`
    let digits = 9
    while (digits > 3 && n % 1000 === 0) { n /= 1000; digits -= 3 }
    return `${base}.${String(n).padStart(digits, '0')}Z`
  }

  /** Same as `toRFC3339()`. */
  toISOString() {
    return this.toRFC3339()
  }

  /** Whether `other` is the same instant, to the nanosecond. */
  isEqual(other) {
    return other instanceof Timestamp && other.seconds === this.seconds && other.nanoseconds === this.nanoseconds
  }

  /** Sorts like the instant it is (`<`, `>` work; `===` compares objects, use `isEqual`). */
  valueOf() {
    // Offset so that the string sorts lexicographically (as Firestore's own Timestamp does).
    return `${String(this.seconds - MIN_SECONDS).padStart(12, '0')}.${String(this.nanoseconds).padStart(9, '0')}`
  }

  toString() {
    return this.toRFC3339()
  }

  toJSON() {
    return this.toRFC3339()
  }

  [Symbol.for('nodejs.util.inspect.custom')]() {
    return `Timestamp(${this.toRFC3339()})`
  }
}

const RFC3339_RE = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/

/** A Firestore geopoint, in degrees. */
class GeoPoint {
  constructor(latitude, longitude) {
    if (typeof latitude !== 'number' || typeof longitude !== 'number') {
      throw typeError('GeoPoint(latitude, longitude) takes two numbers')
    }
    if (!(latitude >= -90 && latitude <= 90) || !(longitude >= -180 && longitude <= 180)) {
      throw rangeError(`GeoPoint(${latitude}, ${longitude}): latitude must be in [-90, 90] and longitude in [-180, 180]`)
    }
    this.latitude = latitude
    this.longitude = longitude
    Object.freeze(this)
  }

  /** Same coordinates, bit for bit (so -0 differs from 0, as the core compares). */
  isEqual(other) {
    return other instanceof GeoPoint && Object.is(other.latitude, this.latitude) && Object.is(other.longitude, this.longitude)
  }

  toJSON() {
    return { latitude: this.latitude, longitude: this.longitude }
  }

  [Symbol.for('nodejs.util.inspect.custom')]() {
    return `GeoPoint(${numText(this.latitude)}, ${numText(this.longitude)})`
  }
}

const REF_RE = /^projects\/([^/]+)\/databases\/([^/]+)\/documents\/(.+)$/

/** A Firestore reference value: a document's full resource name. */
class DocumentReference {
  /** @param {string} name `projects/P/databases/D/documents/col/doc` */
  constructor(name) {
    if (typeof name !== 'string') throw typeError('DocumentReference(name) takes the full resource name, a string')
    this.name = name
    Object.freeze(this)
  }

  /** The document path within its database (`col/doc`), or the name if it is not a document name. */
  get path() {
    const m = REF_RE.exec(this.name)
    return m ? m[3] : this.name
  }

  /** The last path segment (the document id). */
  get id() {
    const p = this.path
    return p.slice(p.lastIndexOf('/') + 1)
  }

  /** The project id, if the name is a document name. */
  get projectId() {
    const m = REF_RE.exec(this.name)
    return m ? m[1] : undefined
  }

  /** The database id, if the name is a document name. */
  get databaseId() {
    const m = REF_RE.exec(this.name)
    return m ? m[2] : undefined
  }

  isEqual(other) {
    return other instanceof DocumentReference && other.name === this.name
  }

  toJSON() {
    return this.name
  }

  toString() {
    return this.name
  }

  [Symbol.for('nodejs.util.inspect.custom')]() {
    return `DocumentReference(${this.name})`
  }
}

/**
 * A double whose value is an integer (`1.0`). JS has one number type, so a decoded double
 * like `1.0` comes back as a `Double` and encodes as a double again; other doubles (1.5,
 * NaN, -0, Infinity, 1e300) are plain numbers. Wrap a number in `Double` to store a double.
 */
class Double {
  constructor(value) {
    if (typeof value !== 'number') throw typeError('Double(value) takes a number')
    this.value = value
    Object.freeze(this)
  }

  valueOf() {
    return this.value
  }

  [Symbol.toPrimitive](hint) {
    return hint === 'string' ? String(this.value) : this.value
  }

  toString() {
    return String(this.value)
  }

  toJSON() {
    return this.value
  }

  isEqual(other) {
    return other instanceof Double && Object.is(other.value, this.value)
  }

  [Symbol.for('nodejs.util.inspect.custom')]() {
    return `Double(${numText(this.value)})`
  }
}

/** One Firestore document: its full name, fields as JS values, and create/update times. */
class Document {
  /**
   * @param {string} name `projects/P/databases/D/documents/col/doc`
   * @param {object} fields field name -> value
   * @param {{createTime?: Timestamp, updateTime?: Timestamp}} [times]
   */
  constructor(name, fields = {}, times = {}) {
    if (typeof name !== 'string') throw typeError('Document(name, fields) takes the full resource name, a string')
    if (!isPlainObject(fields)) throw typeError('Document fields must be a plain object')
    this.name = name
    this.fields = fields
    if (times.createTime !== undefined) this.createTime = times.createTime
    if (times.updateTime !== undefined) this.updateTime = times.updateTime
  }

  /** The document path within its database (`col/doc`). */
  get path() {
    const m = REF_RE.exec(this.name)
    return m ? m[3] : this.name
  }

  /** The document id. */
  get id() {
    const p = this.path
    return p.slice(p.lastIndexOf('/') + 1)
  }
}

function numText(n) {
  return Object.is(n, -0) ? '-0' : String(n)
}

function isPlainObject(v) {
  if (v === null || typeof v !== 'object') return false
  const proto = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null
}

// Google's own client classes (@google-cloud/firestore, firebase-admin) encode too, so data
// read with them can be written into a document without conversion.
function foreignTimestamp(v) {
  return v.constructor && v.constructor.name === 'Timestamp' && typeof v.seconds === 'number' &&
    typeof v.nanoseconds === 'number' && typeof v.toDate === 'function'
}
function foreignGeoPoint(v) {
  return v.constructor && v.constructor.name === 'GeoPoint' && typeof v.latitude === 'number' &&
    typeof v.longitude === 'number'
}

// ---------------------------------------------------------------------------------------
// Encoding: JS values -> REST JSON text (built by hand: JSON.stringify loses -0 and NaN).

function where(path) {
  return path.length ? `field ${path.join('.')}` : 'value'
}

function encDouble(n) {
  if (Number.isNaN(n)) return '"NaN"'
  if (n === Infinity) return '"Infinity"'
  if (n === -Infinity) return '"-Infinity"'
  if (Object.is(n, -0)) return '-0.0'
  // JS prints the shortest text that parses back to the same double.
  return String(n)
}

function encValue(v, path, depth) {
  if (v === null) return '{"nullValue":null}'
  switch (typeof v) {
    case 'boolean':
      return `{"booleanValue":${v}}`
    case 'number':
      if (Number.isSafeInteger(v) && !Object.is(v, -0)) return `{"integerValue":"${v}"}`
      return `{"doubleValue":${encDouble(v)}}`
    case 'bigint':
      if (v < INT64_MIN || v > INT64_MAX) throw rangeError(`${where(path)}: ${v} does not fit a 64-bit integer`)
      return `{"integerValue":"${v}"}`
    case 'string':
      return `{"stringValue":${JSON.stringify(v)}}`
    case 'undefined':
      throw typeError(`${where(path)} is undefined; Firestore has no undefined (use null or leave the field out)`)
    case 'object':
      break
    default:
      throw typeError(`${where(path)}: a ${typeof v} is not a Firestore value`)
  }
  if (v instanceof Double) return `{"doubleValue":${encDouble(v.value)}}`
  if (v instanceof Timestamp) return `{"timestampValue":"${v.toRFC3339()}"}`
  if (v instanceof Date) {
    if (Number.isNaN(v.getTime())) throw rangeError(`${where(path)} is an invalid Date`)
    return `{"timestampValue":"${Timestamp.fromDate(v).toRFC3339()}"}`
  }
  if (v instanceof Uint8Array) {
    return `{"bytesValue":"${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')}"}`
  }
  if (v instanceof ArrayBuffer) return `{"bytesValue":"${Buffer.from(v).toString('base64')}"}`
  if (v instanceof GeoPoint) return `{"geoPointValue":{"latitude":${encDouble(v.latitude)},"longitude":${encDouble(v.longitude)}}}`
  if (v instanceof DocumentReference) return `{"referenceValue":${JSON.stringify(v.name)}}`
  if (depth >= MAX_NESTING) {
    throw rangeError(`${where(path)}: arrays and maps nest at most ${MAX_NESTING} deep (Firestore's limit)`)
  }
  if (Array.isArray(v)) {
    if (v.length === 0) return '{"arrayValue":{}}'
    const items = []
    for (let i = 0; i < v.length; i++) items.push(encValue(v[i], [...path, i], depth + 1))
    return `{"arrayValue":{"values":[${items.join(',')}]}}`
  }
  if (isPlainObject(v)) {
    const body = encFields(v, path, depth + 1)
    return body ? `{"mapValue":{"fields":{${body}}}}` : '{"mapValue":{}}'
  }
  if (foreignTimestamp(v)) return `{"timestampValue":"${new Timestamp(v.seconds, v.nanoseconds).toRFC3339()}"}`
  if (foreignGeoPoint(v)) return encValue(new GeoPoint(v.latitude, v.longitude), path, depth)
  const kind = v.constructor && v.constructor.name ? v.constructor.name : 'object'
  throw typeError(`${where(path)}: a ${kind} is not a Firestore value (use a plain object for a map)`)
}

function encFields(obj, path, depth) {
  const parts = []
  for (const k of Object.keys(obj)) parts.push(`${JSON.stringify(k)}:${encValue(obj[k], [...path, k], depth)}`)
  return parts.join(',')
}

/** One value as Firestore REST JSON (the same mapping as document fields). */
function encodeValue(v) {
  return encValue(v, [], 0)
}

function timeText(v, what) {
  if (v instanceof Timestamp) return v.toRFC3339()
  if (v instanceof Date) return Timestamp.fromDate(v).toRFC3339()
  throw typeError(`${what} must be a Timestamp or a Date`)
}

/**
 * A document as one line of Firestore REST JSON, exactly as backups store it. Accepts a
 * `Document` or any `{name, fields, createTime?, updateTime?}`.
 */
function encodeDocument(doc) {
  if (doc === null || typeof doc !== 'object') throw typeError('encodeDocument takes a Document or {name, fields}')
  if (typeof doc.name !== 'string') throw typeError('the document name must be a string (projects/P/databases/D/documents/col/doc)')
  const fields = doc.fields === undefined ? {} : doc.fields
  if (!isPlainObject(fields)) throw typeError('document fields must be a plain object')
  let out = `{"name":${JSON.stringify(doc.name)}`
  const body = encFields(fields, [], 0)
  if (body) out += `,"fields":{${body}}`
  if (doc.createTime != null) out += `,"createTime":"${timeText(doc.createTime, 'createTime')}"`
  if (doc.updateTime != null) out += `,"updateTime":"${timeText(doc.updateTime, 'updateTime')}"`
  out += '}'
  // The core validates (names, nesting, ranges) and writes the canonical form.
  return call(() => native().normalizeDocument(out))
}

// ---------------------------------------------------------------------------------------
// Decoding: canonical REST JSON -> JS values.

function decDouble(x) {
  if (typeof x === 'string') return x === 'NaN' ? NaN : x === 'Infinity' ? Infinity : -Infinity
  return x
}

function setField(obj, key, value) {
  // A map key "__proto__" must be an own property, not the prototype.
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true })
  else obj[key] = value
}

function decValue(v) {
  // Exactly one key per value in the canonical form.
  for (const k in v) {
    const x = v[k]
    switch (k) {
      case 'nullValue': return null
      case 'booleanValue': return x
      case 'integerValue': {
        const n = Number(x)
        return Number.isSafeInteger(n) ? n : BigInt(x)
      }
      case 'doubleValue': {
        const d = decDouble(x)
        return Number.isSafeInteger(d) && !Object.is(d, -0) ? new Double(d) : d
      }
      case 'timestampValue': return Timestamp.parse(x)
      case 'stringValue': return x
      case 'bytesValue': return Buffer.from(x, 'base64')
      case 'referenceValue': return new DocumentReference(x)
      case 'geoPointValue': return new GeoPoint(decDouble(x.latitude ?? 0), decDouble(x.longitude ?? 0))
      case 'arrayValue': return (x.values || []).map(decValue)
      case 'mapValue': return decFields(x.fields)
    }
  }
  throw rangeError(`unknown Firestore value ${JSON.stringify(v)}`)
}

function decFields(fields) {
  const out = {}
  if (fields) for (const k of Object.keys(fields)) setField(out, k, decValue(fields[k]))
  return out
}

/**
 * A document from one line of Firestore REST JSON (a string, Buffer or Uint8Array), with
 * every value typed as listed at the top of this file.
 */
function decodeDocument(json) {
  let text
  if (typeof json === 'string') text = json
  else if (json instanceof Uint8Array) text = Buffer.from(json.buffer, json.byteOffset, json.byteLength).toString('utf8')
  else throw typeError('decodeDocument takes the REST JSON text of a document (a string or Buffer)')
  const canonical = call(() => native().normalizeDocument(text))
  const raw = JSON.parse(canonical)
  const times = {}
  if (raw.createTime) times.createTime = Timestamp.parse(raw.createTime)
  if (raw.updateTime) times.updateTime = Timestamp.parse(raw.updateTime)
  return new Document(raw.name, decFields(raw.fields), times)
}

// Loaded lazily so this module (and the value classes) load without the addon too.
let nativeModule
function native() {
  if (!nativeModule) nativeModule = require('../native.js')
  return nativeModule
}

module.exports = {
  Timestamp,
  GeoPoint,
  DocumentReference,
  Double,
  Document,
  encodeDocument,
  encodeValue,
  decodeDocument,
  isPlainObject,
}
