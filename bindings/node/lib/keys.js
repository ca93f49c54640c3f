'use strict'
// Key providers and Firestore sources: JS wrappers over the native objects.
const native = require('../native.js')
const { call, typeError } = require('./errors.js')
const { kNative, toBuffer, optObject, str } = require('./args.js')

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

module.exports = { Key, Firestore }
