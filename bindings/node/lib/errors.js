'use strict'
// Errors: the addon reports "<CODE>: <message>"; this turns that into an Error subclass with
// a stable `code`. Messages come from the Rust core (they say what to do, never a secret).

/** Base class of every firekeep error; `code` is the core's stable error code. */
class FirekeepError extends Error {
  constructor(message, code = 'ERR_FIREKEEP', options) {
    super(message, options)
    this.code = code
  }

  get name() {
    return this.constructor.name
  }
}

// One subclass per core error code, so `instanceof` and `code` both work.
class InvalidInputError extends FirekeepError {}
class InvalidConfigError extends FirekeepError {}
class KeyMismatchError extends FirekeepError {}
class IntegrityError extends FirekeepError {}
class NotFoundError extends FirekeepError {}
class AlreadyExistsError extends FirekeepError {}
class StoragePermissionError extends FirekeepError {}
class StorageError extends FirekeepError {}
class FirestoreError extends FirekeepError {}
class KeyProviderError extends FirekeepError {}
class AuthorizationDeniedError extends FirekeepError {}
/** The presented credential (token, API key) was refused; the message never holds it. */
class UnauthenticatedError extends FirekeepError {}
class AuditError extends FirekeepError {}
class CancelledError extends FirekeepError {}
class IoError extends FirekeepError {}

const CLASSES = {
  ERR_INVALID_INPUT: InvalidInputError,
  ERR_INVALID_CONFIG: InvalidConfigError,
  ERR_KEY_MISMATCH: KeyMismatchError,
  ERR_INTEGRITY: IntegrityError,
  ERR_NOT_FOUND: NotFoundError,
  ERR_ALREADY_EXISTS: AlreadyExistsError,
  ERR_STORAGE_PERMISSION: StoragePermissionError,
  ERR_STORAGE: StorageError,
  ERR_FIRESTORE: FirestoreError,
  ERR_KEY_PROVIDER: KeyProviderError,
  ERR_AUTHORIZATION_DENIED: AuthorizationDeniedError,
  ERR_UNAUTHENTICATED: UnauthenticatedError,
  ERR_AUDIT: AuditError,
  ERR_CANCELLED: CancelledError,
  ERR_IO: IoError,
}

const CODE_RE = /^(ERR_[A-Z_]+): ([\s\S]*)$/

// napi's own argument conversion failures ("Failed to convert ..."): a bad argument type.
const NAPI_ARG_CODES = new Set(['InvalidArg', 'NumberExpected', 'StringExpected', 'ObjectExpected',
  'BooleanExpected', 'ArrayExpected', 'FunctionExpected', 'BigintExpected'])

function typeError(message, code = 'ERR_INVALID_ARG_TYPE') {
  const e = new TypeError(message)
  e.code = code
  return e
}

function rangeError(message, code = 'ERR_OUT_OF_RANGE') {
  const e = new RangeError(message)
  e.code = code
  return e
}

/** Maps a native error to a FirekeepError subclass, TypeError or RangeError. */
function adapt(e) {
  if (!(e instanceof Error) || e instanceof FirekeepError) return e
  const m = CODE_RE.exec(e.message)
  if (!m) {
    if (NAPI_ARG_CODES.has(e.code)) return typeError(e.message)
    return e
  }
  const [, code, message] = m
  if (code === 'ERR_INVALID_ARG_TYPE' || code === 'ERR_INVALID_ARG_VALUE') return typeError(message, code)
  if (code === 'ERR_OUT_OF_RANGE') return rangeError(message, code)
  const Cls = CLASSES[code] || FirekeepError
  return new Cls(message, code)
}

/** Runs `fn`, adapting what it throws or what its Promise rejects with. */
function call(fn) {
  let r
  try {
    r = fn()
  } catch (e) {
    throw adapt(e)
  }
  return r && typeof r.then === 'function' ? r.then(undefined, (e) => { throw adapt(e) }) : r
}

module.exports = {
  FirekeepError,
  InvalidInputError,
  InvalidConfigError,
  KeyMismatchError,
  IntegrityError,
  NotFoundError,
  AlreadyExistsError,
  StoragePermissionError,
  StorageError,
  FirestoreError,
  KeyProviderError,
  AuthorizationDeniedError,
  UnauthenticatedError,
  AuditError,
  CancelledError,
  IoError,
  ERROR_CLASSES: CLASSES,
  adapt,
  call,
  typeError,
  rangeError,
}
