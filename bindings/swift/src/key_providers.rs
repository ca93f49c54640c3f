//! Key providers: passphrase and raw keys, wrapping and unwrapping data keys.

use crate::errors::{Result, guard, guard_async, invalid};
use crate::object_format::data_key;
use firekeep_core::keys::{KeyContext, KeyProvider as CoreKeyProvider, WrappedKey};
use firekeep_core::keys::{PassphraseKey, RawKey};
use firekeep_core::secret::{SecretBytes, SecretString};
use std::sync::Arc;

/// A key provider: wraps each backup's data key. Built from a passphrase or a raw key.
#[derive(Debug, uniffi::Object)]
pub struct KeyProvider {
    pub(crate) inner: Arc<dyn CoreKeyProvider>,
}

/// A fresh random raw key as base64 text (what `openssl rand -base64 32` prints). Store
/// it somewhere safe: without it no backup made with it can be read.
#[uniffi::export]
pub fn generate_raw_key() -> Result<String> {
    guard(|| Ok(RawKey::generate()?.to_base64().expose().to_string()))
}

#[uniffi::export(async_runtime = "tokio")]
impl KeyProvider {
    /// A passphrase key (PBKDF2-HMAC-SHA256; `iterations` default 600,000, at least
    /// 100,000; passphrases of at least 12 characters).
    #[uniffi::constructor(default(iterations = None))]
    pub fn passphrase(passphrase: String, iterations: Option<u32>) -> Result<Arc<Self>> {
        guard(|| {
            let secret = SecretString::new(passphrase);
            let key = match iterations {
                None => PassphraseKey::new(secret)?,
                Some(n) => PassphraseKey::with_iterations(secret, n)?,
            };
            Ok(Arc::new(KeyProvider {
                inner: Arc::new(key),
            }))
        })
    }

    /// A raw 32-byte key given as base64 text.
    #[uniffi::constructor]
    pub fn raw_base64(key: String) -> Result<Arc<Self>> {
        guard(|| {
            let k = RawKey::from_secret_base64(&SecretString::new(key))?;
            Ok(Arc::new(KeyProvider { inner: Arc::new(k) }))
        })
    }

    /// A raw key given as its 32 bytes.
    #[uniffi::constructor]
    pub fn raw_bytes(key: Vec<u8>) -> Result<Arc<Self>> {
        guard(|| {
            let key = SecretBytes::new(key);
            let k = RawKey::from_bytes(key.expose())?;
            Ok(Arc::new(KeyProvider { inner: Arc::new(k) }))
        })
    }

    /// `passphrase` or `raw`.
    pub fn kind(&self) -> String {
        self.inner.kind().to_string()
    }

    /// The non-secret key id recorded with every backup made with this key.
    pub fn key_id(&self) -> String {
        self.inner.key_id().to_string()
    }

    /// Wraps a data key for `backup_id`; the result (JSON) is not secret.
    pub async fn wrap_data_key(&self, data_key: Vec<u8>, backup_id: String) -> Result<String> {
        guard_async(async {
            let dek = self::data_key(data_key)?;
            let w = self.inner.wrap(&dek, &KeyContext { backup_id }).await?;
            serde_json::to_string(&w).map_err(|e| invalid(format!("wrapped key: {e}")))
        })
        .await
    }

    /// Unwraps a data key wrapped by [`KeyProvider::wrap_data_key`] for the same
    /// `backup_id`. Another key fails with `KeyMismatch`.
    pub async fn unwrap_data_key(&self, wrapped: String, backup_id: String) -> Result<Vec<u8>> {
        guard_async(async {
            let w: WrappedKey = serde_json::from_str(&wrapped)
                .map_err(|e| invalid(format!("not a wrapped key (JSON from wrapDataKey): {e}")))?;
            let dek = self.inner.unwrap(&w, &KeyContext { backup_id }).await?;
            Ok(dek.expose().to_vec())
        })
        .await
    }
}
