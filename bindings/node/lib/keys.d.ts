// Types of the `firekeep` package: keys (raw, passphrase, KMS, HSM) and Firestore connections.
// Part of the API lib/index.d.ts re-exports.

// ---------------------------------------------------------------------------------------
// Keys and Firestore

/** AWS KMS options; anything not given comes from the AWS default chain (env, profile, role). */
export interface AwsKmsOptions {
  region?: string
  /** A VPC endpoint or a test server. */
  endpoint?: string
  profile?: string
  accessKeyId?: string
  secretAccessKey?: string
  sessionToken?: string
}

/** Google Cloud KMS options; credentials default to the Google chain (GOOGLE_APPLICATION_CREDENTIALS, gcloud ADC, metadata server). */
export interface GcpKmsOptions {
  /** A private endpoint, or a plaintext `http://127.0.0.1:PORT` test server (sent no credentials). */
  endpoint?: string
  /** A service-account key JSON file. */
  credentials?: string
  /** A ready OAuth access token (not refreshed). */
  accessToken?: string
}

/** A key provider. Make one with the static methods. */
export declare class Key {
  private constructor()
  /** A passphrase (PBKDF2-HMAC-SHA256; `iterations` default 600,000). */
  static passphrase(passphrase: string, iterations?: number): Key
  /** A raw key (BYOK): 32 bytes or their base64 (`openssl rand -base64 32`). */
  static raw(key: string | Uint8Array): Key
  /** A fresh random raw key and its base64 (a secret: store it safely). */
  static generateRaw(): { key: Key; base64: string }
  /** An AWS KMS key (id, ARN or alias). */
  static awsKms(keyId: string, options?: AwsKmsOptions): Promise<Key>
  /** A Google Cloud KMS key: `projects/P/locations/L/keyRings/R/cryptoKeys/K`. */
  static gcpKms(keyName: string, options?: GcpKmsOptions): Promise<Key>
  /**
   * A key inside an HSM, by its RFC 7512 URI
   * `pkcs11:token=<label>;object=<key label>?module-path=/path/vendor.so&pin-source=file:/pin`
   * (PIN from `pin-source` or `FIREKEEP_PKCS11_PIN`, never the URI).
   */
  static pkcs11(uri: string): Promise<Key>
  /** `passphrase`, `raw`, `aws-kms` or `gcp-kms`. */
  readonly kind: 'passphrase' | 'raw' | 'aws-kms' | 'gcp-kms' | (string & {})
  /** The non-secret key id recorded with each backup. */
  readonly keyId: string
}

/** How to reach Firestore. */
export interface FirestoreOptions {
  /** Default `(default)`. */
  database?: string
  /** A service-account JSON file (else application default credentials). */
  credentials?: string
  /** `host:port` of an emulator or test server (else env FIRESTORE_EMULATOR_HOST). */
  emulatorHost?: string
}

/** A Firestore database to back up from, restore into or compare with. */
export declare class Firestore {
  constructor(project: string, options?: FirestoreOptions)
  readonly project: string
  readonly database: string
}
