// ESM entry: re-exports the CommonJS build.
import firekeep from './index.js'
export const { FirekeepError, Client, Firestore, Key, encrypt, decrypt, createEncryptStream, createDecryptStream, generateDataKey, objectHeader, auditExport, auditVerify } = firekeep
export default firekeep
