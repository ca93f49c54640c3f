//! [`SegmentSealer`] / [`SegmentOpener`]: the segments of one object sealed or opened in
//! place, in buffers the caller owns (a language binding filling memory its runtime
//! allocated), one segment at a time and in order.
//!
//! AES-GCM fails open if a nonce repeats, and Tink's nonce is the segment index and a
//! last-segment flag, so the index must never be chosen by the caller. Each segment is
//! first claimed with `next_segment`, which checks its length (only the last segment may
//! be short; an empty one only when it is the whole object) and counts it; the returned
//! [`Segment`] is consumed by `seal`/`open`, so no index is used twice and nothing
//! follows the last segment. Claiming and processing are separate (and both take
//! `&self`) so the crypto can run on another thread while the caller reads on.

use super::aead::TAG_LEN;
use super::tink::{SegmentCrypter, StreamHeader, TinkParams, segment_error};
use super::{Backend, HEADER_PREFIX_LEN, ObjectHeader, STREAM_HEADER_LEN};
use crate::secret::SecretBytes;
use crate::{Error, Result};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Distinguishes the sealers and openers of one process, so a [`Segment`] claimed from
/// one cannot be spent on another (whose index it would repeat).
static NEXT_STREAM_ID: AtomicU64 = AtomicU64::new(1);

/// The right to seal or open one segment: made only by `next_segment`, spent by
/// `seal`/`open` of the same sealer or opener.
#[must_use = "a claimed segment is counted; seal or open it"]
#[derive(Debug)]
pub struct Segment {
    stream: u64,
    index: u32,
    last: bool,
    len: usize,
}

impl Segment {
    /// The segment's index in its object.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Whether it is the object's last segment.
    pub fn is_last(&self) -> bool {
        self.last
    }

    /// Its input length: plaintext bytes to seal, or ciphertext bytes (with tag) to open.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether its input is empty (only the single segment of an empty object).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The next index and whether the last segment was claimed.
#[derive(Default)]
struct Counter {
    next: u32,
    done: bool,
}

impl Counter {
    /// Counts the next segment of `len` input bytes; `cap(index)` is a full segment's,
    /// `check(index)` any further check of the caller's, run before it counts.
    fn claim(
        counter: &Mutex<Counter>,
        stream: u64,
        len: usize,
        last: bool,
        cap: impl Fn(u32) -> usize,
        check: impl Fn(u32) -> Result<()>,
    ) -> Result<Segment> {
        let mut c = counter.lock().unwrap_or_else(|p| p.into_inner());
        if c.done {
            return Err(Error::InvalidInput(
                "this object's last segment was already processed; start a new object".into(),
            ));
        }
        let index = c.next;
        let cap = cap(index);
        if len > cap {
            return Err(Error::InvalidInput(format!(
                "{len} bytes do not fit segment {index} (at most {cap})"
            )));
        }
        check(index)?;
        if !last && len != cap {
            return Err(Error::InvalidInput(format!(
                "segment {index} is not the last, so it holds exactly {cap} bytes, not {len}"
            )));
        }
        c.next = index.checked_add(1).ok_or_else(|| {
            Error::InvalidInput("more than 2^32 segments; use a larger segment size".into())
        })?;
        c.done = last;
        Ok(Segment {
            stream,
            index,
            last,
            len,
        })
    }
}

fn check_spend(stream: u64, seg: &Segment, buf_len: usize, need: usize) -> Result<()> {
    if seg.stream != stream {
        return Err(Error::InvalidInput(
            "this segment was claimed from another object's sealer or opener".into(),
        ));
    }
    if buf_len < need {
        return Err(Error::InvalidInput(format!(
            "segment {} needs a buffer of {need} bytes; got {buf_len}",
            seg.index
        )));
    }
    Ok(())
}

/// Seals the segments of one new object (fresh random salt and nonce prefix).
pub struct SegmentSealer {
    crypter: SegmentCrypter,
    params: TinkParams,
    /// Object header ‖ Tink stream header: the object's first bytes.
    prefix: Vec<u8>,
    header_len: usize,
    stream: u64,
    counter: Mutex<Counter>,
}

impl SegmentSealer {
    /// A new object with `header` under data key `dek`.
    pub fn new(dek: &SecretBytes, header: &ObjectHeader) -> Result<Self> {
        Self::with_stream_header(dek, header, StreamHeader::random(&header.tink_params()))
    }

    /// As [`SegmentSealer::new`] with a given stream header: for known-answer tests only,
    /// since the same key, header and stream header repeat every nonce.
    pub fn with_stream_header(
        dek: &SecretBytes,
        header: &ObjectHeader,
        stream_header: StreamHeader,
    ) -> Result<Self> {
        super::check_key(dek, header)?;
        let params = header.tink_params();
        let mut prefix = header.to_bytes()?;
        let header_len = prefix.len();
        let crypter = SegmentCrypter::new(
            Backend::DEFAULT,
            &params,
            dek.expose(),
            &prefix,
            &stream_header,
        )?;
        prefix.extend_from_slice(&stream_header.to_bytes());
        Ok(SegmentSealer {
            crypter,
            params,
            prefix,
            header_len,
            stream: NEXT_STREAM_ID.fetch_add(1, Ordering::Relaxed),
            counter: Mutex::default(),
        })
    }

    /// The object's first bytes: header ‖ Tink stream header.
    pub fn prefix(&self) -> &[u8] {
        &self.prefix
    }

    /// The object's Tink parameters.
    pub fn params(&self) -> &TinkParams {
        &self.params
    }

    /// Plaintext bytes of a full segment `index`.
    pub fn plaintext_capacity(&self, index: u32) -> usize {
        if index == 0 {
            self.params.first_plaintext_len()
        } else {
            self.params.plaintext_segment_len()
        }
    }

    /// Claims the next segment: `len` plaintext bytes, all of a full segment unless it is
    /// the `last`. An empty last segment is only allowed as the first (an empty object).
    pub fn next_segment(&self, len: usize, last: bool) -> Result<Segment> {
        let cap = |i| self.plaintext_capacity(i);
        Counter::claim(&self.counter, self.stream, len, last, cap, |index| {
            if len == 0 && index > 0 {
                // Not an object Tink writes: a non-empty object ends in a non-empty segment.
                return Err(Error::InvalidInput(format!(
                    "segment {index} is empty; the last segment holds the input's last bytes"
                )));
            }
            Ok(())
        })
    }

    /// Seals `seg`'s plaintext, `buf[..seg.len()]`, in place and writes its tag after it;
    /// returns the sealed length (`seg.len() + 16`).
    pub fn seal(&self, seg: Segment, buf: &mut [u8]) -> Result<usize> {
        check_spend(self.stream, &seg, buf.len(), seg.len + TAG_LEN)?;
        let (pt, rest) = buf.split_at_mut(seg.len);
        let tag = self.crypter.seal(seg.index, seg.last, pt);
        rest[..TAG_LEN].copy_from_slice(&tag);
        Ok(seg.len + TAG_LEN)
    }

    /// Length of the whole object for `plaintext_len` bytes.
    pub fn object_len(&self, plaintext_len: usize) -> usize {
        self.header_len + self.params.ciphertext_len(plaintext_len as u64) as usize
    }

    /// Seals all of `plaintext` as the whole object into `out` (exactly
    /// [`SegmentSealer::object_len`] bytes), on up to `threads` threads. Consumes the
    /// sealer, which must not have sealed a segment yet.
    pub fn seal_whole_into(self, plaintext: &[u8], out: &mut [u8], threads: usize) -> Result<()> {
        if self.counter.lock().map_or(true, |c| c.next > 0) {
            return Err(Error::InvalidInput(
                "this sealer already sealed segments; seal a whole object with a new one".into(),
            ));
        }
        let need = self.object_len(plaintext.len());
        if out.len() != need {
            return Err(Error::InvalidInput(format!(
                "the output buffer holds {} bytes; the object of {} plaintext bytes needs \
                 exactly {need}",
                out.len(),
                plaintext.len()
            )));
        }
        let (head, body) = out.split_at_mut(self.header_len);
        head.copy_from_slice(&self.prefix[..self.header_len]);
        super::tink::encrypt_with(
            &self.crypter,
            &self.params,
            &self.prefix[self.header_len..],
            plaintext,
            body,
            threads,
        )
    }
}

/// Opens the segments of one existing object, checking each as it comes.
pub struct SegmentOpener {
    crypter: SegmentCrypter,
    params: TinkParams,
    header: ObjectHeader,
    stream: u64,
    counter: Mutex<Counter>,
}

impl SegmentOpener {
    /// The length of an object's prefix (header ‖ stream header) from its first
    /// [`HEADER_PREFIX_LEN`] bytes (checks magic and version).
    pub fn prefix_len(first: &[u8]) -> Result<usize> {
        if first.len() < HEADER_PREFIX_LEN {
            return Err(Error::InvalidInput(format!(
                "the prefix length needs the object's first {HEADER_PREFIX_LEN} bytes"
            )));
        }
        Ok(super::header_len(first)? + STREAM_HEADER_LEN)
    }

    /// Checks `prefix` (header ‖ stream header, [`SegmentOpener::prefix_len`] bytes)
    /// against `dek`: [`Error::KeyMismatch`] for another key, [`Error::Integrity`] for a
    /// damaged header.
    pub fn new(dek: &SecretBytes, prefix: &[u8]) -> Result<Self> {
        let (header, hlen) = super::read_header(prefix)?;
        super::check_key(dek, &header)?;
        let params = header.tink_params();
        let sh = StreamHeader::parse(&params, &prefix[hlen..])
            .map_err(|_| Error::integrity(&header.object_name, "malformed stream header"))?;
        let crypter = SegmentCrypter::new(
            Backend::DEFAULT,
            &params,
            dek.expose(),
            &prefix[..hlen],
            &sh,
        )?;
        Ok(SegmentOpener {
            crypter,
            params,
            header,
            stream: NEXT_STREAM_ID.fetch_add(1, Ordering::Relaxed),
            counter: Mutex::default(),
        })
    }

    /// The object's (authenticated) header.
    pub fn header(&self) -> &ObjectHeader {
        &self.header
    }

    /// Ciphertext bytes (with tag) of a full segment `index`.
    pub fn segment_capacity(&self, index: u32) -> usize {
        let size = self.params.ciphertext_segment_size;
        if index == 0 {
            size - self.params.header_len() - self.params.first_segment_offset
        } else {
            size
        }
    }

    /// Claims the next segment: `len` ciphertext bytes (with tag), all of a full segment
    /// unless it is the `last`. A segment shorter than a tag is a truncated object
    /// ([`Error::Integrity`]).
    pub fn next_segment(&self, len: usize, last: bool) -> Result<Segment> {
        let cap = |i| self.segment_capacity(i);
        Counter::claim(&self.counter, self.stream, len, last, cap, |index| {
            if len < TAG_LEN {
                return Err(Error::integrity(
                    &self.header.object_name,
                    format!(
                        "object is truncated: segment {index} is {len} bytes, shorter than a tag"
                    ),
                ));
            }
            Ok(())
        })
    }

    /// Verifies and decrypts `seg`, `buf[..seg.len()]` (ciphertext ‖ tag), in place;
    /// returns the plaintext length. On [`Error::Integrity`] the buffer holds nothing
    /// usable.
    pub fn open(&self, seg: Segment, buf: &mut [u8]) -> Result<usize> {
        check_spend(self.stream, &seg, buf.len(), seg.len)?;
        self.crypter
            .open(seg.index, seg.last, &mut buf[..seg.len])
            .map_err(|_| segment_error(&self.header.object_name, seg.index as u64))
    }
}

#[cfg(test)]
mod tests;
