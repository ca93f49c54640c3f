//! Tink's AesGcmHkdfStreaming, with its general parameters (key size 16/32, HKDF hash
//! SHA-1/SHA-256/SHA-512, any ciphertext segment size, first-segment offset), so that
//! streams written by any Tink implementation decrypt here. firekeep itself always writes
//! AES-256, HKDF-SHA256, offset 0 ([`TinkParams::firekeep`]).
//!
//! Stream layout (Tink's): `offset bytes (not ours) ‖ header ‖ segment 0 ‖ … ‖ segment n-1`.
//! Header: `length byte ‖ salt (key_size bytes) ‖ nonce prefix (7 bytes)`. Segment i is
//! AES-GCM with key HKDF(ikm, salt, info = associated data), nonce
//! `prefix ‖ BE u32 i ‖ (1 if last else 0)`, empty AAD. Every segment but the last is
//! exactly `ciphertext_segment_size` bytes; segment 0 is shorter by the offset and header.

use super::aead::{Backend, Cipher, NONCE_LEN, TAG_LEN};
use crate::{Error, Result};
use std::ops::Range;

/// Length of Tink's nonce prefix.
pub const NONCE_PREFIX_LEN: usize = 7;

/// The hash HKDF uses to derive the segment key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HkdfHash {
    /// SHA-1 (Tink allows it; firekeep never writes it).
    Sha1,
    /// SHA-256 (firekeep's choice).
    Sha256,
    /// SHA-512.
    Sha512,
}

/// Tink AesGcmHkdfStreaming parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TinkParams {
    /// Derived AES key size in bytes, 16 or 32 (also the salt size).
    pub key_size: usize,
    /// HKDF hash.
    pub hkdf_hash: HkdfHash,
    /// Ciphertext segment size in bytes (tag included).
    pub ciphertext_segment_size: usize,
    /// Bytes before the stream header that belong to the caller, not to the stream.
    pub first_segment_offset: usize,
}

impl TinkParams {
    /// The parameters firekeep writes: AES-256, HKDF-SHA256, offset 0.
    pub fn firekeep(ciphertext_segment_size: u32) -> Self {
        TinkParams {
            key_size: 32,
            hkdf_hash: HkdfHash::Sha256,
            ciphertext_segment_size: ciphertext_segment_size as usize,
            first_segment_offset: 0,
        }
    }

    /// Length of the stream header: length byte, salt, nonce prefix (40 for AES-256).
    pub fn header_len(&self) -> usize {
        1 + self.key_size + NONCE_PREFIX_LEN
    }

    /// Plaintext bytes in segment 0.
    pub fn first_plaintext_len(&self) -> usize {
        self.ciphertext_segment_size - self.first_segment_offset - self.header_len() - TAG_LEN
    }

    /// Plaintext bytes in every later segment.
    pub fn plaintext_segment_len(&self) -> usize {
        self.ciphertext_segment_size - TAG_LEN
    }

    /// Checks the parameters are usable.
    pub fn validate(&self) -> Result<()> {
        if self.key_size != 16 && self.key_size != 32 {
            return Err(Error::InvalidInput(format!(
                "AesGcmHkdfStreaming key size must be 16 or 32 bytes, got {}",
                self.key_size
            )));
        }
        if self.ciphertext_segment_size <= self.first_segment_offset + self.header_len() + TAG_LEN
            || self.ciphertext_segment_size > u32::MAX as usize
        {
            return Err(Error::InvalidInput(format!(
                "AesGcmHkdfStreaming ciphertext segment size {} is too small for offset {} \
                 and a {}-byte header (or above 4 GiB)",
                self.ciphertext_segment_size,
                self.first_segment_offset,
                self.header_len()
            )));
        }
        Ok(())
    }

    /// Body length (offset, header and all segments) for `plaintext_len` bytes.
    pub fn ciphertext_len(&self, plaintext_len: u64) -> u64 {
        let first = self.first_plaintext_len() as u64;
        let rest = plaintext_len.saturating_sub(first);
        let later = rest.div_ceil(self.plaintext_segment_len() as u64);
        let segments = 1 + later;
        (self.first_segment_offset + self.header_len()) as u64
            + plaintext_len
            + segments * TAG_LEN as u64
    }
}

/// The stream header's random parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamHeader {
    /// HKDF salt, `key_size` bytes.
    pub salt: Vec<u8>,
    /// Nonce prefix.
    pub nonce_prefix: [u8; NONCE_PREFIX_LEN],
}

impl StreamHeader {
    /// A fresh header with random salt and nonce prefix from the OS CSPRNG.
    pub fn random(params: &TinkParams) -> Self {
        let mut salt = vec![0u8; params.key_size];
        let mut nonce_prefix = [0u8; NONCE_PREFIX_LEN];
        getrandom::fill(&mut salt).expect("operating system random number generator failed");
        getrandom::fill(&mut nonce_prefix)
            .expect("operating system random number generator failed");
        StreamHeader { salt, nonce_prefix }
    }

    /// Serialises the header (length byte, salt, prefix).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + self.salt.len() + NONCE_PREFIX_LEN);
        out.push((1 + self.salt.len() + NONCE_PREFIX_LEN) as u8);
        out.extend_from_slice(&self.salt);
        out.extend_from_slice(&self.nonce_prefix);
        out
    }

    /// Parses a header of `params.header_len()` bytes.
    pub fn parse(params: &TinkParams, bytes: &[u8]) -> Result<Self> {
        let len = params.header_len();
        if bytes.len() < len || bytes[0] as usize != len {
            return Err(Error::integrity(
                "stream",
                format!("stream header is not a {len}-byte AesGcmHkdfStreaming header"),
            ));
        }
        Ok(StreamHeader {
            salt: bytes[1..1 + params.key_size].to_vec(),
            nonce_prefix: bytes[1 + params.key_size..len]
                .try_into()
                .expect("7-byte prefix"),
        })
    }
}

/// HKDF (RFC 5869) with the chosen hash, filling `out`. Fails only if `out` is longer
/// than 255 hash lengths.
pub fn hkdf(hash: HkdfHash, ikm: &[u8], salt: &[u8], info: &[u8], out: &mut [u8]) -> Result<()> {
    let r = match hash {
        HkdfHash::Sha1 => hkdf::Hkdf::<sha1::Sha1>::new(Some(salt), ikm).expand(info, out),
        HkdfHash::Sha256 => hkdf::Hkdf::<sha2::Sha256>::new(Some(salt), ikm).expand(info, out),
        HkdfHash::Sha512 => hkdf::Hkdf::<sha2::Sha512>::new(Some(salt), ikm).expand(info, out),
    };
    r.map_err(|_| Error::InvalidInput(format!("HKDF output of {} bytes is too long", out.len())))
}

/// Encrypts and decrypts the segments of one stream (its key is derived once).
pub(crate) struct SegmentCrypter {
    cipher: Cipher,
    nonce_prefix: [u8; NONCE_PREFIX_LEN],
}

impl SegmentCrypter {
    pub(crate) fn new(
        backend: Backend,
        params: &TinkParams,
        ikm: &[u8],
        aad: &[u8],
        header: &StreamHeader,
    ) -> Result<Self> {
        params.validate()?;
        let mut key = zeroize::Zeroizing::new([0u8; 32]);
        let key = &mut key[..params.key_size];
        hkdf(params.hkdf_hash, ikm, &header.salt, aad, key)?;
        Ok(SegmentCrypter {
            cipher: Cipher::new(backend, key)?,
            nonce_prefix: header.nonce_prefix,
        })
    }

    fn nonce(&self, index: u32, last: bool) -> [u8; NONCE_LEN] {
        let mut n = [0u8; NONCE_LEN];
        n[..NONCE_PREFIX_LEN].copy_from_slice(&self.nonce_prefix);
        n[NONCE_PREFIX_LEN..NONCE_PREFIX_LEN + 4].copy_from_slice(&index.to_be_bytes());
        n[NONCE_LEN - 1] = last as u8;
        n
    }

    /// Encrypts `plaintext` in place; returns the tag.
    pub(crate) fn seal(&self, index: u32, last: bool, plaintext: &mut [u8]) -> [u8; TAG_LEN] {
        self.cipher
            .seal_in_place(&self.nonce(index, last), &[], plaintext)
    }

    /// Verifies `tag` and decrypts `ciphertext` in place.
    pub(crate) fn open_detached(
        &self,
        index: u32,
        last: bool,
        ciphertext: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> std::result::Result<(), ()> {
        self.cipher
            .open_in_place(&self.nonce(index, last), &[], ciphertext, tag)
    }

    /// Decrypts `ciphertext ‖ tag` in place; returns the plaintext length.
    pub(crate) fn open(
        &self,
        index: u32,
        last: bool,
        segment: &mut [u8],
    ) -> std::result::Result<usize, ()> {
        if segment.len() < TAG_LEN {
            return Err(());
        }
        let pt_len = segment.len() - TAG_LEN;
        let (body, tag) = segment.split_at_mut(pt_len);
        let tag: [u8; TAG_LEN] = (&*tag).try_into().expect("16-byte tag");
        self.cipher
            .open_in_place(&self.nonce(index, last), &[], body, &tag)?;
        Ok(pt_len)
    }
}

/// Where the segments of a body of known length are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    params: TinkParams,
    body_len: u64,
    segments: u64,
}

impl Layout {
    /// The layout of a body (offset, header, segments) of `body_len` bytes. Fails if no
    /// valid stream has that length.
    pub fn new(params: &TinkParams, body_len: u64) -> Result<Self> {
        params.validate()?;
        let start = (params.first_segment_offset + params.header_len()) as u64;
        let seg = params.ciphertext_segment_size as u64;
        if body_len < start + TAG_LEN as u64 {
            return Err(Error::integrity(
                "stream",
                "ciphertext is truncated: shorter than header and one tag",
            ));
        }
        let segments = body_len.div_ceil(seg);
        let last_len = body_len - (segments - 1) * seg - if segments == 1 { start } else { 0 };
        if last_len < TAG_LEN as u64 {
            return Err(Error::integrity(
                "stream",
                "ciphertext length is not that of any valid stream (truncated or extended)",
            ));
        }
        if segments > u32::MAX as u64 {
            return Err(Error::integrity("stream", "more than 2^32 segments"));
        }
        Ok(Layout {
            params: *params,
            body_len,
            segments,
        })
    }

    /// Number of segments (at least 1).
    pub fn segment_count(&self) -> u64 {
        self.segments
    }

    /// Byte range of segment `index` (ciphertext and tag) within the body.
    pub fn segment_range(&self, index: u64) -> Range<u64> {
        assert!(index < self.segments, "segment index out of range");
        let seg = self.params.ciphertext_segment_size as u64;
        let start = if index == 0 {
            (self.params.first_segment_offset + self.params.header_len()) as u64
        } else {
            index * seg
        };
        let end = ((index + 1) * seg).min(self.body_len);
        start..end
    }

    /// Byte range of segment `index`'s plaintext within the whole plaintext.
    pub fn plaintext_range(&self, index: u64) -> Range<u64> {
        let first = self.params.first_plaintext_len() as u64;
        let per = self.params.plaintext_segment_len() as u64;
        let start = if index == 0 {
            0
        } else {
            first + (index - 1) * per
        };
        let r = self.segment_range(index);
        start..start + (r.end - r.start - TAG_LEN as u64)
    }

    /// Total plaintext length.
    pub fn plaintext_len(&self) -> u64 {
        self.plaintext_range(self.segments - 1).end
    }
}

/// Encrypts `plaintext` into a whole stream (`offset` zero bytes, header, segments).
pub fn encrypt(
    backend: Backend,
    params: &TinkParams,
    ikm: &[u8],
    aad: &[u8],
    header: &StreamHeader,
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    let mut out = vec![0u8; params.ciphertext_len(plaintext.len() as u64) as usize];
    encrypt_into(backend, params, ikm, aad, header, plaintext, &mut out, 1)?;
    Ok(out)
}

/// [`encrypt`] into `out`, which must be exactly [`TinkParams::ciphertext_len`] bytes,
/// on up to `threads` threads (this one and scoped helpers, each sealing a run of
/// consecutive segments; small inputs stay on this thread). Each plaintext byte is read
/// once and each output byte written once: segments are sealed in place in `out`.
#[allow(clippy::too_many_arguments)]
pub fn encrypt_into(
    backend: Backend,
    params: &TinkParams,
    ikm: &[u8],
    aad: &[u8],
    header: &StreamHeader,
    plaintext: &[u8],
    out: &mut [u8],
    threads: usize,
) -> Result<()> {
    let crypter = SegmentCrypter::new(backend, params, ikm, aad, header)?;
    encrypt_with(
        &crypter,
        params,
        &header.to_bytes(),
        plaintext,
        out,
        threads,
    )
}

/// [`encrypt_into`] with the segment key already derived (`stream_header` is its
/// serialized stream header); `out` is exactly [`TinkParams::ciphertext_len`] bytes.
pub(crate) fn encrypt_with(
    crypter: &SegmentCrypter,
    params: &TinkParams,
    stream_header: &[u8],
    plaintext: &[u8],
    out: &mut [u8],
    threads: usize,
) -> Result<()> {
    let total = params.ciphertext_len(plaintext.len() as u64);
    if out.len() as u64 != total {
        return Err(Error::InvalidInput(format!(
            "the output buffer holds {} bytes; the stream of {} plaintext bytes needs exactly \
             {total} (ciphertext_len)",
            out.len(),
            plaintext.len()
        )));
    }
    let layout = Layout::new(params, total)?;
    let start = params.first_segment_offset + params.header_len();
    let (head, body) = out.split_at_mut(start);
    head[..params.first_segment_offset].fill(0);
    head[params.first_segment_offset..].copy_from_slice(stream_header);
    let count = layout.segment_count();
    let at = |i: u64| layout.segment_range(i).start as usize - start;
    for_segment_runs(count, threads, body, at, |run, part| {
        let base = at(run.start);
        for i in run {
            let r = layout.segment_range(i);
            let p = layout.plaintext_range(i);
            let slot = &mut part[r.start as usize - start - base..r.end as usize - start - base];
            let (pt, tag) = slot.split_at_mut(slot.len() - TAG_LEN);
            pt.copy_from_slice(&plaintext[p.start as usize..p.end as usize]);
            tag.copy_from_slice(&crypter.seal(i as u32, i + 1 == count, pt));
        }
        Ok(())
    })
}

/// Decrypts a whole stream. Any modification, truncation or extension fails with
/// [`Error::Integrity`].
pub fn decrypt(
    backend: Backend,
    params: &TinkParams,
    ikm: &[u8],
    aad: &[u8],
    body: &[u8],
) -> Result<Vec<u8>> {
    let layout = Layout::new(params, body.len() as u64)?;
    let mut out = vec![0u8; layout.plaintext_len() as usize];
    decrypt_into(backend, params, ikm, aad, body, &mut out, 1)?;
    Ok(out)
}

/// [`decrypt`] into `out`, which must be exactly [`Layout::plaintext_len`] bytes, on up
/// to `threads` threads (as [`encrypt_into`]). On error `out` is zeroed: no byte of a
/// stream that failed to verify is left for the caller to use by mistake.
pub fn decrypt_into(
    backend: Backend,
    params: &TinkParams,
    ikm: &[u8],
    aad: &[u8],
    body: &[u8],
    out: &mut [u8],
    threads: usize,
) -> Result<()> {
    let layout = Layout::new(params, body.len() as u64)?;
    if out.len() as u64 != layout.plaintext_len() {
        return Err(Error::InvalidInput(format!(
            "the output buffer holds {} bytes; this stream's plaintext is exactly {} \
             (Layout::plaintext_len)",
            out.len(),
            layout.plaintext_len()
        )));
    }
    let header = StreamHeader::parse(params, &body[params.first_segment_offset..])?;
    let crypter = SegmentCrypter::new(backend, params, ikm, aad, &header)?;
    let count = layout.segment_count();
    let at = |i: u64| layout.plaintext_range(i).start as usize;
    let r = for_segment_runs(count, threads, out, at, |run, part| {
        let base = at(run.start);
        for i in run {
            // Copy the ciphertext straight into its plaintext slot and decrypt there.
            let r = layout.segment_range(i);
            let (ct, tag) = body[r.start as usize..r.end as usize]
                .split_at((r.end - r.start) as usize - TAG_LEN);
            let p = layout.plaintext_range(i);
            let slot = &mut part[p.start as usize - base..p.end as usize - base];
            slot.copy_from_slice(ct);
            let tag: &[u8; TAG_LEN] = tag.try_into().expect("16-byte tag");
            crypter
                .open_detached(i as u32, i + 1 == count, slot, tag)
                .map_err(|_| segment_error("stream", i))?;
        }
        Ok(())
    });
    if r.is_err() {
        out.fill(0);
    }
    r
}

/// Segments per thread below which another thread costs more than it saves.
const MIN_SEGMENTS_PER_THREAD: u64 = 2;

/// Runs `f` over segments `0..count` split into up to `threads` runs of consecutive
/// segments, the first on this thread and the others on scoped threads. `at(i)` is where
/// segment `i`'s bytes start in `out`; `f` gets its run and `out` from the run's first
/// segment on. Returns the error of the earliest failing run.
fn for_segment_runs(
    count: u64,
    threads: usize,
    out: &mut [u8],
    at: impl Fn(u64) -> usize + Sync,
    f: impl Fn(Range<u64>, &mut [u8]) -> Result<()> + Sync,
) -> Result<()> {
    let runs = (threads as u64).clamp(1, (count / MIN_SEGMENTS_PER_THREAD).max(1));
    if runs == 1 {
        return f(0..count, out);
    }
    let bounds: Vec<u64> = (0..=runs).map(|k| count * k / runs).collect();
    let mut parts = Vec::with_capacity(runs as usize);
    let mut rest = out;
    for k in 0..runs as usize {
        let (run, next) = (bounds[k]..bounds[k + 1], bounds[k + 1]);
        let (part, tail) = if next == count {
            (rest, &mut [][..])
        } else {
            rest.split_at_mut(at(next) - at(run.start))
        };
        parts.push((run, part));
        rest = tail;
    }
    let f = &f;
    std::thread::scope(|s| {
        let mut parts = parts.into_iter();
        let (first_run, first_part) = parts.next().expect("at least two runs");
        let handles: Vec<_> = parts
            .map(|(run, part)| s.spawn(move || f(run, part)))
            .collect();
        let first = f(first_run, first_part);
        let others = handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        std::iter::once(first)
            .chain(others)
            .collect::<Result<Vec<()>>>()?;
        Ok(())
    })
}

/// The error for a segment whose tag does not verify.
pub(crate) fn segment_error(object: &str, index: u64) -> Error {
    Error::integrity(
        object,
        format!(
            "segment {index} failed authentication: the object was modified, truncated, \
             reordered or extended, or belongs to another header"
        ),
    )
}
