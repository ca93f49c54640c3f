//! Raw-key provider (bring your own key) and the key-wrapping scheme shared with the
//! passphrase provider.
//!
//! A wrapped data key is `base64(nonce ‖ AES-256-GCM(KEK, nonce, DEK, aad))` with a random
//! 12-byte nonce. The AAD binds the provider kind, the key id and the backup id, so a
//! wrapped key moved to another backup (or relabelled) fails authentication.

use super::{KeyContext, KeyProvider, WrappedKey};
use crate::format::aead;
use crate::secret::{SecretBytes, SecretString};
use crate::{Error, Result};
use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::BTreeMap;
use std::fmt;
use zeroize::Zeroizing;

/// Length of every key-encryption key and of the data keys they wrap.
pub(crate) const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// `prefix` + 16 hex digits of HMAC-SHA256(key, "firekeep key id"): identifies a key
/// without revealing anything usable about it.
pub(crate) fn fingerprint(prefix: &str, key: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(b"firekeep key id");
    let digest = mac.finalize().into_bytes();
    let mut id = String::with_capacity(prefix.len() + 16);
    id.push_str(prefix);
    for b in &digest[..8] {
        id.push_str(&format!("{b:02x}"));
    }
    id
}

/// The associated data of a wrapped key: length-prefixed fields, so no two different
/// (kind, key id, backup id) triples share an encoding.
fn wrap_aad(kind: &str, key_id: &str, backup_id: &str) -> Vec<u8> {
    let mut aad = b"firekeep wrapped data key v1".to_vec();
    for field in [kind, key_id, backup_id] {
        aad.extend_from_slice(&(field.len() as u32).to_be_bytes());
        aad.extend_from_slice(field.as_bytes());
    }
    aad
}

/// Wraps `data_key` under `kek` (AES-256-GCM, random nonce).
pub(crate) fn wrap_with_kek(
    kind: &str,
    key_id: &str,
    kek: &[u8; KEY_LEN],
    params: BTreeMap<String, String>,
    data_key: &SecretBytes,
    context: &KeyContext,
) -> Result<WrappedKey> {
    if data_key.len() != KEY_LEN {
        return Err(Error::InvalidInput(format!(
            "a data key must be {KEY_LEN} bytes, got {}",
            data_key.len()
        )));
    }
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).map_err(|e| {
        Error::KeyProvider(format!(
            "the operating system's random number generator failed ({e}); retry"
        ))
    })?;
    let aad = wrap_aad(kind, key_id, &context.backup_id);
    let sealed = aead::seal(kek, &nonce, &aad, data_key.expose());
    let mut blob = Vec::with_capacity(NONCE_LEN + sealed.len());
    blob.extend_from_slice(&nonce);
    blob.extend_from_slice(&sealed);
    Ok(WrappedKey {
        provider: kind.to_owned(),
        key_id: key_id.to_owned(),
        params,
        ciphertext: STANDARD.encode(&blob),
    })
}

/// Unwraps a key wrapped by [`wrap_with_kek`]. The caller has already checked that
/// `wrapped.key_id` is the id of `kek`.
pub(crate) fn unwrap_with_kek(
    kek: &[u8; KEY_LEN],
    wrapped: &WrappedKey,
    context: &KeyContext,
) -> Result<SecretBytes> {
    let what = || format!("wrapped data key of backup {:?}", context.backup_id);
    let blob = STANDARD.decode(wrapped.ciphertext.trim()).map_err(|_| {
        Error::integrity(
            what(),
            "the wrapped key is not valid base64; it was damaged",
        )
    })?;
    if blob.len() != NONCE_LEN + KEY_LEN + TAG_LEN {
        return Err(Error::integrity(
            what(),
            format!(
                "the wrapped key is {} bytes, expected {}; it was damaged",
                blob.len(),
                NONCE_LEN + KEY_LEN + TAG_LEN
            ),
        ));
    }
    let (nonce, sealed) = blob.split_at(NONCE_LEN);
    let nonce: &[u8; NONCE_LEN] = nonce.try_into().expect("split at NONCE_LEN");
    let aad = wrap_aad(&wrapped.provider, &wrapped.key_id, &context.backup_id);
    let plain = aead::open(kek, nonce, &aad, sealed).map_err(|_| {
        Error::integrity(
            what(),
            "authentication failed: the wrapped key was modified, relabelled, or belongs \
             to another backup",
        )
    })?;
    Ok(SecretBytes::new(plain))
}

/// The error for a wrapped key that names another key (or another kind of provider).
pub(crate) fn mismatch(wrapped: &WrappedKey, actual: &str) -> Error {
    Error::KeyMismatch {
        expected: wrapped.key_id.clone(),
        actual: actual.to_owned(),
    }
}

/// A 32-byte key supplied by the user (BYOK), e.g. from `openssl rand -base64 32`.
/// It is used directly as the key-encryption key of every backup's data key.
pub struct RawKey {
    key: Zeroizing<[u8; KEY_LEN]>,
    key_id: String,
}

impl RawKey {
    /// Provider kind recorded in wrapped keys.
    pub const KIND: &'static str = "raw";

    /// From the base64 of exactly 32 bytes, as `openssl rand -base64 32` prints
    /// (surrounding whitespace and a trailing newline are fine). The error never repeats
    /// the input.
    pub fn from_base64(text: &str) -> Result<Self> {
        let expected = "a raw key must be the standard base64 of exactly 32 bytes \
                        (44 characters ending in '=', as `openssl rand -base64 32` prints)";
        let bytes = Zeroizing::new(STANDARD.decode(text.trim()).map_err(|_| {
            // The decoder's own message names the offending character: leave it out.
            Error::InvalidConfig(format!("{expected}; the value given is not valid base64"))
        })?);
        if bytes.len() != KEY_LEN {
            return Err(Error::InvalidConfig(format!(
                "{expected}; the value given decodes to {} bytes",
                bytes.len()
            )));
        }
        RawKey::from_bytes(&bytes)
    }

    /// From the base64 text held as a secret (e.g. read from an environment variable).
    pub fn from_secret_base64(text: &SecretString) -> Result<Self> {
        RawKey::from_base64(text.expose())
    }

    /// From exactly 32 raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let key: [u8; KEY_LEN] = bytes.try_into().map_err(|_| {
            Error::InvalidConfig(format!(
                "a raw key must be exactly {KEY_LEN} bytes, got {}",
                bytes.len()
            ))
        })?;
        let key = Zeroizing::new(key);
        let key_id = fingerprint("raw-", &key[..]);
        Ok(RawKey { key, key_id })
    }

    /// A new random key, for `firekeep keygen`-style commands.
    pub fn generate() -> Result<Self> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        getrandom::fill(&mut key[..]).map_err(|e| {
            Error::KeyProvider(format!(
                "the operating system's random number generator failed ({e}); retry"
            ))
        })?;
        RawKey::from_bytes(&key[..])
    }

    /// The key as base64 (the form [`RawKey::from_base64`] reads), kept secret.
    pub fn to_base64(&self) -> SecretString {
        SecretString::new(STANDARD.encode(&self.key[..]))
    }
}

impl fmt::Debug for RawKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawKey")
            .field("key_id", &self.key_id)
            .field("key", &"[REDACTED]")
            .finish()
    }
}

#[async_trait]
impl KeyProvider for RawKey {
    fn kind(&self) -> &'static str {
        RawKey::KIND
    }

    fn key_id(&self) -> &str {
        &self.key_id
    }

    async fn wrap(&self, data_key: &SecretBytes, context: &KeyContext) -> Result<WrappedKey> {
        wrap_with_kek(
            RawKey::KIND,
            &self.key_id,
            &self.key,
            BTreeMap::new(),
            data_key,
            context,
        )
    }

    async fn unwrap(&self, wrapped: &WrappedKey, context: &KeyContext) -> Result<SecretBytes> {
        if wrapped.provider != RawKey::KIND || wrapped.key_id != self.key_id {
            return Err(mismatch(wrapped, &self.key_id));
        }
        unwrap_with_kek(&self.key, wrapped, context)
    }
}
