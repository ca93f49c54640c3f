// ESM entry: the same objects as the CommonJS entry (one copy of the addon either way).
import firekeep from './index.js'

export const {
  version,
  FirekeepError, InvalidInputError, InvalidConfigError, KeyMismatchError, IntegrityError,
  NotFoundError, AlreadyExistsError, StoragePermissionError, StorageError, FirestoreError,
  KeyProviderError, AuthorizationDeniedError, AuditError, CancelledError, IoError,
  Client, Firestore, Key,
  generateDataKey, encrypt, decrypt, encryptInto, decryptInto, encryptedLength, decryptedLength,
  objectHeader, createEncryptStream, createDecryptStream,
  Timestamp, GeoPoint, DocumentReference, Double, Document, decodeDocument, encodeDocument,
  auditVerify,
} = firekeep
export default firekeep
