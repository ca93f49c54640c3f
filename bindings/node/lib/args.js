'use strict'
// Argument checks shared by the public API's modules: each throws TypeError/RangeError with
// Node's codes, naming the argument.
const { typeError, rangeError } = require('./errors.js')
const { Timestamp } = require('./values.js')

/** Where a JS wrapper keeps its native object. */
const kNative = Symbol('firekeep.native')

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

function nativeOf(cls, name, v) {
  if (!(v instanceof cls)) throw typeError(`${name} must be a firekeep ${cls.name}`)
  return v[kNative]
}

module.exports = { kNative, toBuffer, optObject, str, num, optStrings, optBool, optCount, timeArg, checkSignal, checkFn, nativeOf }
