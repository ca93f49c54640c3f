//! The object format on whole byte arrays: data keys, encrypt, decrypt, object info.

use crate::bytes::Bytes;
use crate::errors::{Result, guard, invalid};
use firekeep_core::format::{self, ObjectHeader};
use firekeep_core::keys;
use firekeep_core::secret::SecretBytes;

/// Options of one encrypted object; every field has a default.
#[derive(Clone, Debug, uniffi::Record)]
pub struct ObjectOptions {
    /// Recorded in the (authenticated, not secret) header.
    #[uniffi(default = "standalone")]
    pub backup_id: String,
    /// Recorded in the header; a copy under another name fails to decrypt.
    #[uniffi(default = "object")]
    pub object_name: String,
    /// Ciphertext segment size, 4 KiB ..= 8 MiB (default 1 MiB).
    #[uniffi(default = 1048576)]
    pub segment_size: u32,
}

impl Default for ObjectOptions {
    fn default() -> Self {
        ObjectOptions {
            backup_id: "standalone".into(),
            object_name: "object".into(),
            segment_size: format::DEFAULT_SEGMENT_SIZE,
        }
    }
}

pub(crate) fn data_key(key: Vec<u8>) -> Result<SecretBytes> {
    let key = SecretBytes::new(key);
    if key.len() != format::DATA_KEY_LEN {
        return Err(invalid(format!(
            "a data key is exactly {} bytes; got {} (use generateDataKey())",
            format::DATA_KEY_LEN,
            key.len()
        )));
    }
    Ok(key)
}

pub(crate) fn header_for(
    dek: &SecretBytes,
    options: Option<ObjectOptions>,
) -> Result<ObjectHeader> {
    let o = options.unwrap_or_default();
    let (lo, hi) = (format::MIN_SEGMENT_SIZE, format::MAX_SEGMENT_SIZE);
    if !(lo..=hi).contains(&o.segment_size) {
        return Err(invalid(format!(
            "segment_size {} is out of range; use {lo} ..= {hi} bytes (default {})",
            o.segment_size,
            format::DEFAULT_SEGMENT_SIZE
        )));
    }
    let mut h = ObjectHeader::new(dek, &o.backup_id, &o.object_name);
    h.segment_size = o.segment_size;
    Ok(h)
}

/// A fresh random 32-byte data key. Keep it secret; wrap it with a [`KeyProvider`].
#[uniffi::export]
pub fn generate_data_key() -> Vec<u8> {
    keys::random_data_key().expose().to_vec()
}

/// The non-secret id of a data key, as recorded in the headers of objects it encrypts.
#[uniffi::export]
pub fn data_key_id(key: Vec<u8>) -> Result<String> {
    guard(|| Ok(format::data_key_id(&data_key(key)?)))
}

/// Threads for `encrypt`/`decrypt` of a whole object: the core splits its segments into
/// runs (an object of a few segments stays on the calling thread). Mobile devices have
/// more cores than this, but a backup tool should not take them all.
pub(crate) const WHOLE_OBJECT_THREADS: usize = 2;

/// Encrypts `plaintext` into one object (firekeep header ‖ Tink AesGcmHkdfStreaming body).
#[uniffi::export]
pub fn encrypt(key: Vec<u8>, plaintext: Bytes, options: Option<ObjectOptions>) -> Result<Bytes> {
    guard(|| {
        let dek = data_key(key)?;
        let header = header_for(&dek, options)?;
        let mut out = Bytes::zeroed(format::sealed_len(&header, plaintext.len())?);
        format::seal_into(&dek, &header, &plaintext, &mut out, WHOLE_OBJECT_THREADS)?;
        Ok(out)
    })
}

/// Decrypts a whole object. A different key fails with `KeyMismatch`; any changed,
/// truncated or extended byte with `Integrity`.
#[uniffi::export]
pub fn decrypt(key: Vec<u8>, object: Bytes) -> Result<Bytes> {
    guard(|| {
        let dek = data_key(key)?;
        let mut out = Bytes::zeroed(format::opened_len_for(&dek, &object)?);
        format::open_into(&dek, &object, &mut out, WHOLE_OBJECT_THREADS)?;
        Ok(out)
    })
}

/// The header fields of an object (not secret; needs no key).
#[derive(Clone, Debug, uniffi::Record)]
pub struct ObjectInfo {
    /// Id of the data key the object is encrypted with.
    pub key_id: String,
    /// Backup id recorded in the header.
    pub backup_id: String,
    /// Object name recorded in the header.
    pub object_name: String,
    /// Ciphertext segment size.
    pub segment_size: u32,
}

/// Reads an object's header (its first bytes suffice: at most 64 KiB).
#[uniffi::export]
pub fn object_info(object: Bytes) -> Result<ObjectInfo> {
    guard(|| {
        let (h, _) = format::read_header(&object)?;
        Ok(ObjectInfo {
            key_id: h.key_id,
            backup_id: h.backup_id,
            object_name: h.object_name,
            segment_size: h.segment_size,
        })
    })
}
