// ESM entry: the same objects as the CommonJS entry (one copy of the addon either way).
import firekeep from './index.js'

export const {
  version,
  FirekeepError, InvalidInputError, InvalidConfigError, KeyMismatchError, IntegrityError,
  NotFoundError, AlreadyExistsError, StoragePermissionError, StorageError, FirestoreError,
  KeyProviderError, AuthorizationDeniedError, UnauthenticatedError, AuditError, CancelledError, IoError,
  Client, Firestore, Key,
  generateDataKey, encrypt, decrypt, encryptInto, decryptInto, encryptedLength, decryptedLength,
  objectHeader, createEncryptStream, createDecryptStream,
  Timestamp, GeoPoint, DocumentReference, Double, Document, decodeDocument, encodeDocument,
  auditVerify,
  Authenticator, Identity, identityInfo, apiKeyCreate, apiKeyRotate, apiKeyRevoke, apiKeyList, accessReview,
} = firekeep
export default firekeep
