//! The object format on its own: whole-buffer encryptor/decryptor, data keys, headers.

use crate::errors::{js_err, range_err, type_err};
use firekeep_core::format::{self, ObjectHeader};
use firekeep_core::secret::SecretBytes;
use napi::bindgen_prelude::*;
use napi_derive::napi;

pub(crate) fn data_key(key: &[u8]) -> Result<SecretBytes> {
    if key.len() != format::DATA_KEY_LEN {
        return Err(range_err(format!(
            "a data key is exactly {} bytes; got {} (use generateDataKey())",
            format::DATA_KEY_LEN,
            key.len()
        )));
    }
    Ok(SecretBytes::new(key.to_vec()))
}

/// Options of one encrypted object.
#[napi(object)]
#[derive(Default)]
pub struct ObjectOptions {
    /// Recorded in the header; default `standalone`.
    pub backup_id: Option<String>,
    /// Recorded in the header; default `object`.
    pub object_name: Option<String>,
    /// Ciphertext segment size in bytes, 4096 ..= 8388608 (default 1048576).
    pub segment_size: Option<f64>,
}

pub(crate) fn header_for(dek: &SecretBytes, o: Option<ObjectOptions>) -> Result<ObjectHeader> {
    let o = o.unwrap_or_default();
    let mut h = ObjectHeader::new(
        dek,
        o.backup_id.as_deref().unwrap_or("standalone"),
        o.object_name.as_deref().unwrap_or("object"),
    );
    if let Some(n) = o.segment_size {
        let (lo, hi) = (format::MIN_SEGMENT_SIZE, format::MAX_SEGMENT_SIZE);
        if !(n >= f64::from(lo) && n <= f64::from(hi) && n.fract() == 0.0) {
            return Err(range_err(format!(
                "segmentSize {n} is out of range; use {lo} ..= {hi} bytes (default {})",
                format::DEFAULT_SEGMENT_SIZE
            )));
        }
        h.segment_size = n as u32;
    }
    Ok(h)
}

/// A fresh random 32-byte data key.
#[napi]
pub fn generate_data_key() -> Buffer {
    firekeep_core::keys::random_data_key()
        .expose()
        .to_vec()
        .into()
}

/// The serialized object header for `key` (the associated data of the Tink body).
#[napi]
pub fn object_header(key: Buffer, options: Option<ObjectOptions>) -> Result<Buffer> {
    let dek = data_key(&key)?;
    let h = header_for(&dek, options)?;
    Ok(h.to_bytes().map_err(js_err)?.into())
}

/// Push-style encryptor of one object (used by `createEncryptStream`).
#[napi]
pub struct Encryptor {
    inner: Option<format::Encryptor>,
}

#[napi]
impl Encryptor {
    /// An encryptor under data key `key`.
    #[napi(constructor)]
    pub fn new(key: Buffer, options: Option<ObjectOptions>) -> Result<Self> {
        let dek = data_key(&key)?;
        let h = header_for(&dek, options)?;
        let inner = format::Encryptor::new(&dek, &h).map_err(js_err)?;
        Ok(Encryptor { inner: Some(inner) })
    }

    /// Adds plaintext; returns the ciphertext completed so far (possibly empty).
    #[napi]
    pub fn update(&mut self, data: &[u8]) -> Result<Buffer> {
        let enc = self
            .inner
            .as_mut()
            .ok_or_else(|| type_err("this Encryptor is finished; create a new one"))?;
        let mut out = Vec::with_capacity(data.len() + 4096);
        enc.update(data, &mut |b| {
            out.extend_from_slice(b);
            Ok(())
        })
        .map_err(js_err)?;
        Ok(out.into())
    }

    /// Ends the object; returns its last bytes.
    #[napi]
    pub fn finish(&mut self) -> Result<Buffer> {
        let enc = self
            .inner
            .take()
            .ok_or_else(|| type_err("this Encryptor is already finished"))?;
        let mut out = Vec::new();
        enc.finish(&mut |b| {
            out.extend_from_slice(b);
            Ok(())
        })
        .map_err(js_err)?;
        Ok(out.into())
    }
}

/// Push-style decryptor: returns only verified plaintext (used by `createDecryptStream`).
#[napi]
pub struct Decryptor {
    inner: Option<format::Decryptor>,
}

#[napi]
impl Decryptor {
    /// A decryptor under data key `key`.
    #[napi(constructor)]
    pub fn new(key: Buffer) -> Result<Self> {
        let dek = data_key(&key)?;
        Ok(Decryptor {
            inner: Some(format::Decryptor::new(format::Backend::DEFAULT, &dek)),
        })
    }

    /// Feeds ciphertext; returns the plaintext of every segment verified so far.
    #[napi]
    pub fn update(&mut self, data: &[u8]) -> Result<Buffer> {
        let dec = self
            .inner
            .as_mut()
            .ok_or_else(|| type_err("this Decryptor is finished; create a new one"))?;
        let mut out = Vec::with_capacity(data.len());
        dec.update(data, &mut |b| {
            out.extend_from_slice(b);
            Ok(())
        })
        .map_err(js_err)?;
        Ok(out.into())
    }

    /// Ends the input; returns the last verified plaintext. Fails with `ERR_INTEGRITY` if the
    /// object was truncated.
    #[napi]
    pub fn finish(&mut self) -> Result<Buffer> {
        let mut dec = self
            .inner
            .take()
            .ok_or_else(|| type_err("this Decryptor is already finished"))?;
        let out = dec.finish_plaintext().map_err(js_err)?.to_vec();
        Ok(out.into())
    }
}
