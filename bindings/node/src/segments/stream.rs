//! The segment sealer and opener behind `createEncryptStream` / `createDecryptStream`.

use crate::errors::{js_err, type_err};
use crate::object_format::{ObjectOptions, data_key, header_for};
use crate::segments::helper::{Counter, check_room, copy_spans, overlap};
use crate::segments::whole::new_object;
use firekeep_core::Error as CoreError;
use firekeep_core::format::aead::TAG_LEN;
use firekeep_core::format::tink::{SegmentCipher, TinkParams};
use firekeep_core::format::{self, HEADER_PREFIX_LEN, STREAM_HEADER_LEN};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::sync::Arc;

/// Seals the segments of one new object in place in caller-owned buffers
/// (`lib/streams.js` drives it: `createEncryptStream`).
#[napi]
pub struct SegmentSealer {
    cipher: Arc<SegmentCipher>,
    params: TinkParams,
    prefix: Vec<u8>,
    counter: Counter,
}

#[napi]
impl SegmentSealer {
    /// A new object under data key `key` (fresh random salt and nonce prefix).
    #[napi(constructor)]
    pub fn new(key: Buffer, options: Option<ObjectOptions>) -> Result<Self> {
        let dek = data_key(&key)?;
        let h = header_for(&dek, options)?;
        let (prefix, cipher, params) = new_object(&dek, &h).map_err(js_err)?;
        Ok(SegmentSealer {
            cipher: Arc::new(cipher),
            params,
            prefix,
            counter: Counter {
                next: 0,
                done: false,
            },
        })
    }

    /// The object's first bytes: header ‖ Tink stream header.
    #[napi(getter)]
    pub fn prefix(&self) -> Buffer {
        self.prefix.clone().into()
    }

    /// Plaintext bytes of segment 0.
    #[napi(getter)]
    pub fn first_plaintext_len(&self) -> u32 {
        self.params.first_plaintext_len() as u32
    }

    /// Plaintext bytes of every later segment.
    #[napi(getter)]
    pub fn plaintext_len(&self) -> u32 {
        self.params.plaintext_segment_len() as u32
    }

    fn index(&mut self, len: usize, n: u32, last: bool) -> Result<(u32, usize)> {
        let cap = if self.counter.next == 0 {
            self.params.first_plaintext_len()
        } else {
            self.params.plaintext_segment_len()
        };
        let n = check_room(len, n, cap, "seal")?;
        Ok((self.counter.take(last)?, n))
    }

    /// Seals the next segment, `buf[..n]`, in place and writes its tag at `buf[n..n + 16]`.
    #[napi]
    pub fn seal(&mut self, mut buf: BufferSlice<'_>, n: u32, last: bool) -> Result<()> {
        let (index, n) = self.index(buf.len(), n, last)?;
        let tag = self.cipher.seal(index, last, &mut buf[..n]);
        buf[n..n + TAG_LEN].copy_from_slice(&tag);
        Ok(())
    }

    /// Seals the next segment, `seg[..n]` (as `seal`, returning the sealed length), while
    /// copying `src[srcOff..srcOff + len]` to `dst[dstOff..]`: the copy of the next chunk
    /// runs on this thread while another core seals.
    #[napi]
    #[allow(clippy::too_many_arguments)]
    pub fn seal_copy(
        &mut self,
        mut seg: BufferSlice<'_>,
        n: u32,
        last: bool,
        mut dst: BufferSlice<'_>,
        dst_off: u32,
        src: &[u8],
        src_off: u32,
        len: u32,
    ) -> Result<u32> {
        let (d, s) = copy_spans(&seg, &mut dst, dst_off, src, src_off, len)?;
        let (index, n) = self.index(seg.len(), n, last)?;
        let cipher = &self.cipher;
        let seg: &mut [u8] = &mut seg;
        let out = overlap(
            move || {
                let tag = cipher.seal(index, last, &mut seg[..n]);
                seg[n..n + TAG_LEN].copy_from_slice(&tag);
                Ok(n + TAG_LEN)
            },
            d,
            s,
        )
        .map_err(js_err)?;
        Ok(out as u32)
    }
}

/// The total length of an object's header and Tink stream header, from its first 10
/// bytes (checks magic and version).
#[napi]
pub fn object_prefix_len(first: &[u8]) -> Result<u32> {
    if first.len() < HEADER_PREFIX_LEN {
        return Err(type_err(format!(
            "objectPrefixLen needs the object's first {HEADER_PREFIX_LEN} bytes"
        )));
    }
    let hlen = format::header_len(first).map_err(js_err)?;
    Ok((hlen + STREAM_HEADER_LEN) as u32)
}

/// Opens the segments of one object in place in caller-owned buffers
/// (`lib/streams.js` drives it: `createDecryptStream`).
#[napi]
pub struct SegmentOpener {
    cipher: Arc<SegmentCipher>,
    params: TinkParams,
    object: String,
    counter: Counter,
}

#[napi]
impl SegmentOpener {
    /// Checks `prefix` (header ‖ stream header, `objectPrefixLen` bytes) against data key
    /// `key`: `ERR_KEY_MISMATCH` for another key, `ERR_INTEGRITY` for a damaged header.
    #[napi(constructor)]
    pub fn new(key: Buffer, prefix: &[u8]) -> Result<Self> {
        let dek = data_key(&key)?;
        let (header, cipher) = format::object_cipher(&dek, prefix).map_err(js_err)?;
        let params = header.tink_params();
        let object = header.object_name;
        Ok(SegmentOpener {
            cipher: Arc::new(cipher),
            params,
            object,
            counter: Counter {
                next: 0,
                done: false,
            },
        })
    }

    /// Ciphertext bytes (with tag) of segment 0.
    #[napi(getter)]
    pub fn first_segment_len(&self) -> u32 {
        (self.params.ciphertext_segment_size
            - self.params.header_len()
            - self.params.first_segment_offset) as u32
    }

    /// Ciphertext bytes (with tag) of every later segment.
    #[napi(getter)]
    pub fn segment_len(&self) -> u32 {
        self.params.ciphertext_segment_size as u32
    }

    fn index(&mut self, len: usize, n: u32, last: bool) -> Result<(u32, usize)> {
        let cap = if self.counter.next == 0 {
            self.first_segment_len() as usize
        } else {
            self.segment_len() as usize
        };
        let i = self.counter.next;
        let n = n as usize;
        if n > cap || n > len {
            return Err(type_err(format!(
                "open: {n} bytes do not fit this segment (at most {cap}, buffer of {len})"
            )));
        }
        if n < TAG_LEN {
            return Err(js_err(CoreError::integrity(
                &self.object,
                format!("object is truncated: segment {i} is {n} bytes, shorter than a tag"),
            )));
        }
        Ok((self.counter.take(last)?, n))
    }

    /// Verifies and decrypts the next segment, `buf[..n]` (ciphertext ‖ tag), in place;
    /// returns the plaintext length. Fails with `ERR_INTEGRITY` (and `buf` holds nothing
    /// usable).
    #[napi]
    pub fn open(&mut self, mut buf: BufferSlice<'_>, n: u32, last: bool) -> Result<u32> {
        let (index, n) = self.index(buf.len(), n, last)?;
        let p = self
            .cipher
            .open(index, last, &mut buf[..n])
            .map_err(js_err)?;
        Ok(p as u32)
    }

    /// Opens the next segment, `seg[..n]` (as `open`), while copying
    /// `src[srcOff..srcOff + len]` to `dst[dstOff..]` on this thread.
    #[napi]
    #[allow(clippy::too_many_arguments)]
    pub fn open_copy(
        &mut self,
        mut seg: BufferSlice<'_>,
        n: u32,
        last: bool,
        mut dst: BufferSlice<'_>,
        dst_off: u32,
        src: &[u8],
        src_off: u32,
        len: u32,
    ) -> Result<u32> {
        let (d, s) = copy_spans(&seg, &mut dst, dst_off, src, src_off, len)?;
        let (index, n) = self.index(seg.len(), n, last)?;
        let cipher = &self.cipher;
        let seg: &mut [u8] = &mut seg;
        let out = overlap(move || cipher.open(index, last, &mut seg[..n]), d, s).map_err(js_err)?;
        Ok(out as u32)
    }
}
