'use strict'
// The public API of the `firekeep` package: native classes behind JS wrappers that check
// arguments, adapt errors, link AbortSignals and progress listeners, and give results
// camelCase keys. No backup logic lives here; the Rust core does the work off the event loop.
// Modules: args (argument checks), keys (Key, Firestore), client (Client), identity
// (Authenticator, API keys, access review), values, streams, results, errors.
const errors = require('./errors.js')
const values = require('./values.js')
const native = require('../native.js')
const { EncryptStream, DecryptStream } = require('./streams.js')
const identity = require('./identity.js')
const { toBuffer, optObject, str, num } = require('./args.js')
const { Key, Firestore } = require('./keys.js')
const { Client, auditVerify, VERSION } = require('./client.js')

const { call, adapt, typeError } = errors
const streamDeps = { adapt, typeError }

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
  UnauthenticatedError: errors.UnauthenticatedError,
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
  // who is calling (docs/identity.md)
  Authenticator: identity.Authenticator,
  Identity: identity.Identity,
  identityInfo: identity.identityInfo,
  apiKeyCreate: identity.apiKeyCreate,
  apiKeyRotate: identity.apiKeyRotate,
  apiKeyRevoke: identity.apiKeyRevoke,
  apiKeyList: identity.apiKeyList,
  accessReview: identity.accessReview,
}
// `import firekeep from 'firekeep'` and `require('firekeep').default` are the same object.
module.exports.default = module.exports
