//! The segment sealer and opener behind `createEncryptStream` / `createDecryptStream`.

use crate::errors::{invalid_input, js_err};
use crate::object_format::{ObjectOptions, data_key, header_for};
use crate::segments::helper::{copy_spans, overlap};
use firekeep_core::format;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::sync::Arc;

/// Seals the segments of one new object in place in caller-owned buffers
/// (`lib/streams.js` drives it: `createEncryptStream`). The core's
/// [`format::SegmentSealer`] counts the segments and checks their lengths.
#[napi]
pub struct SegmentSealer {
    inner: Arc<format::SegmentSealer>,
}

#[napi]
impl SegmentSealer {
    /// A new object under data key `key` (fresh random salt and nonce prefix).
    #[napi(constructor)]
    pub fn new(key: Buffer, options: Option<ObjectOptions>) -> Result<Self> {
        let dek = data_key(&key)?;
        let h = header_for(&dek, options)?;
        let inner = format::SegmentSealer::new(&dek, &h).map_err(js_err)?;
        Ok(SegmentSealer {
            inner: Arc::new(inner),
        })
    }

    /// The object's first bytes: header ‖ Tink stream header.
    #[napi(getter)]
    pub fn prefix(&self) -> Buffer {
        self.inner.prefix().to_vec().into()
    }

    /// Plaintext bytes of segment 0.
    #[napi(getter)]
    pub fn first_plaintext_len(&self) -> u32 {
        self.inner.plaintext_capacity(0) as u32
    }

    /// Plaintext bytes of every later segment.
    #[napi(getter)]
    pub fn plaintext_len(&self) -> u32 {
        self.inner.plaintext_capacity(1) as u32
    }

    /// Seals the next segment, `buf[..n]`, in place and writes its tag at `buf[n..n + 16]`.
    #[napi]
    pub fn seal(&mut self, mut buf: BufferSlice<'_>, n: u32, last: bool) -> Result<()> {
        let seg = self
            .inner
            .next_segment(n as usize, last)
            .map_err(invalid_input)?;
        self.inner.seal(seg, &mut buf).map_err(invalid_input)?;
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
        let claimed = self
            .inner
            .next_segment(n as usize, last)
            .map_err(invalid_input)?;
        let sealer = &self.inner;
        let seg: &mut [u8] = &mut seg;
        let out = overlap(move || sealer.seal(claimed, seg), d, s).map_err(invalid_input)?;
        Ok(out as u32)
    }
}

/// The total length of an object's header and Tink stream header, from its first 10
/// bytes (checks magic and version).
#[napi]
pub fn object_prefix_len(first: &[u8]) -> Result<u32> {
    let n = format::SegmentOpener::prefix_len(first).map_err(invalid_input)?;
    Ok(n as u32)
}

/// Opens the segments of one object in place in caller-owned buffers
/// (`lib/streams.js` drives it: `createDecryptStream`). The core's
/// [`format::SegmentOpener`] counts the segments and detects truncation.
#[napi]
pub struct SegmentOpener {
    inner: Arc<format::SegmentOpener>,
}

#[napi]
impl SegmentOpener {
    /// Checks `prefix` (header ‖ stream header, `objectPrefixLen` bytes) against data key
    /// `key`: `ERR_KEY_MISMATCH` for another key, `ERR_INTEGRITY` for a damaged header.
    #[napi(constructor)]
    pub fn new(key: Buffer, prefix: &[u8]) -> Result<Self> {
        let dek = data_key(&key)?;
        let inner = format::SegmentOpener::new(&dek, prefix).map_err(js_err)?;
        Ok(SegmentOpener {
            inner: Arc::new(inner),
        })
    }

    /// Ciphertext bytes (with tag) of segment 0.
    #[napi(getter)]
    pub fn first_segment_len(&self) -> u32 {
        self.inner.segment_capacity(0) as u32
    }

    /// Ciphertext bytes (with tag) of every later segment.
    #[napi(getter)]
    pub fn segment_len(&self) -> u32 {
        self.inner.segment_capacity(1) as u32
    }

    /// Verifies and decrypts the next segment, `buf[..n]` (ciphertext ‖ tag), in place;
    /// returns the plaintext length. Fails with `ERR_INTEGRITY` (and `buf` holds nothing
    /// usable).
    #[napi]
    pub fn open(&mut self, mut buf: BufferSlice<'_>, n: u32, last: bool) -> Result<u32> {
        let seg = self
            .inner
            .next_segment(n as usize, last)
            .map_err(invalid_input)?;
        let p = self.inner.open(seg, &mut buf).map_err(invalid_input)?;
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
        let claimed = self
            .inner
            .next_segment(n as usize, last)
            .map_err(invalid_input)?;
        let opener = &self.inner;
        let seg: &mut [u8] = &mut seg;
        let out = overlap(move || opener.open(claimed, seg), d, s).map_err(invalid_input)?;
        Ok(out as u32)
    }
}
