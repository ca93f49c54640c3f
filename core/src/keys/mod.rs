//! Data keys and key providers.
//!
//! Every backup has its own random 32-byte data key (DEK). A [`KeyProvider`] wraps it under
//! the provider's key (passphrase, raw key, KMS) and unwraps it again; the wrapped key names
//! the provider's non-secret key id so a wrong key is reported as such.

use crate::Result;
use crate::secret::SecretBytes;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::fmt::Debug;

mod passphrase;
mod raw;

pub use passphrase::{
    DEFAULT_PBKDF2_ITERATIONS, MAX_PBKDF2_ITERATIONS, MAX_SALT_LEN, MIN_PASSPHRASE_CHARS,
    MIN_PBKDF2_ITERATIONS, PassphraseKey, SALT_LEN, pbkdf2_hmac_sha256,
};
pub use raw::RawKey;

/// What a wrapped data key is bound to (e.g. as an AEAD associated data or a KMS
/// encryption context), so it cannot be moved to another backup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyContext {
    /// The backup this data key protects.
    pub backup_id: String,
}

/// A data key wrapped by a key provider. Not secret: safe to store beside the data.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WrappedKey {
    /// Provider kind: `passphrase`, `raw`, `aws-kms`, ...
    pub provider: String,
    /// The provider key's non-secret id (fingerprint, KMS key ARN).
    pub key_id: String,
    /// Provider parameters needed to unwrap (salt, iterations, ...), not secret.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// The wrapped key bytes, base64 in JSON.
    pub ciphertext: String,
}

/// Wraps and unwraps data keys.
#[async_trait]
pub trait KeyProvider: Send + Sync + Debug {
    /// Provider kind, as recorded in [`WrappedKey::provider`].
    fn kind(&self) -> &'static str;

    /// The non-secret id of the key this provider wraps under.
    fn key_id(&self) -> &str;

    /// A fresh random data key and its wrapped form. KMS providers override this to use
    /// the KMS's own data-key generation.
    async fn generate_data_key(&self, context: &KeyContext) -> Result<(SecretBytes, WrappedKey)> {
        let key = random_data_key();
        let wrapped = self.wrap(&key, context).await?;
        Ok((key, wrapped))
    }

    /// Wraps a data key under this provider's key.
    async fn wrap(&self, data_key: &SecretBytes, context: &KeyContext) -> Result<WrappedKey>;

    /// Unwraps a data key. A key wrapped under another key fails with
    /// `Error::KeyMismatch` naming the expected key id; never returns a wrong key.
    async fn unwrap(&self, wrapped: &WrappedKey, context: &KeyContext) -> Result<SecretBytes>;
}

/// A new random 32-byte data key from the operating system's CSPRNG.
pub fn random_data_key() -> SecretBytes {
    let mut key = vec![0u8; 32];
    getrandom::fill(&mut key).expect("operating system random number generator failed");
    SecretBytes::new(key)
}

/// Re-wraps a data key under another provider's key (key rotation). Only the small
/// wrapped key changes; the data it protects is untouched. Fails, without a result, if
/// `from` cannot unwrap `wrapped` (wrong key, damaged record, other backup).
pub async fn rewrap(
    from: &dyn KeyProvider,
    to: &dyn KeyProvider,
    wrapped: &WrappedKey,
    context: &KeyContext,
) -> Result<WrappedKey> {
    let data_key = from.unwrap(wrapped, context).await?;
    to.wrap(&data_key, context).await
}
