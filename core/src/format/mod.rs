//! The encrypted object format: `header ‖ body`, body byte-compatible with Tink's
//! AesGcmHkdfStreaming. See docs/format.md.
//!
//! * [`seal`] / [`open`]: whole objects in memory.
//! * [`EncryptingWriter`] / [`DecryptingReader`]: streaming over `std::io`, memory
//!   O(segment size).
//! * [`encrypt_stream`] / [`decrypt_stream`]: the same over async byte streams
//!   (`futures::Stream<Item = Result<Bytes>>`).
//! * [`SegmentReader`]: random access, one segment at a time.
//! * [`SegmentSealer`] / [`SegmentOpener`]: one segment at a time in place, in buffers the
//!   caller owns (language bindings), counting the segments themselves.
//! * [`aead`]: one-shot AES-256-GCM on the selected backend (used to wrap data keys).
//! * [`tink`]: Tink's AesGcmHkdfStreaming with its general parameters.

pub mod aead;
mod async_io;
mod segments;
mod stream;
pub mod tink;

pub use aead::Backend;
pub use async_io::{DecryptStream, decrypt_stream, encrypt_stream, encrypt_with};
pub use segments::{Segment, SegmentOpener, SegmentSealer};
pub use stream::{DecryptingReader, Decryptor, EncryptingWriter, Encryptor};

use crate::secret::SecretBytes;
use crate::{Error, Result};
use std::ops::Range;
use tink::{Layout, SegmentCrypter, StreamHeader, TinkParams};

/// Default ciphertext segment size (1 MiB), as Tink's.
pub const DEFAULT_SEGMENT_SIZE: u32 = 1 << 20;
/// Smallest allowed segment size (4 KiB).
pub const MIN_SEGMENT_SIZE: u32 = 4 << 10;
/// Largest allowed segment size (8 MiB).
pub const MAX_SEGMENT_SIZE: u32 = 8 << 20;

/// The magic bytes every firekeep object starts with.
pub const MAGIC: &[u8; 5] = b"FKEEP";
/// The format version this code writes (and the only one it reads).
pub const FORMAT_VERSION: u8 = 1;
/// Length of the fixed header prefix: magic, version, u32 header length.
pub const HEADER_PREFIX_LEN: usize = MAGIC.len() + 1 + 4;
/// Length of the body's Tink stream header (length byte, 32-byte salt, 7-byte nonce prefix).
pub const STREAM_HEADER_LEN: usize = 40;
/// Largest header accepted (guards readers against absurd length fields).
pub const MAX_HEADER_LEN: usize = 1 << 16;
/// Size of a data key in bytes.
pub const DATA_KEY_LEN: usize = 32;

/// Compression of the plaintext, recorded in the header. The format itself does not
/// compress; the engine compresses before sealing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Compression {
    /// Stored as is.
    None,
    /// zstd frame(s).
    Zstd,
}

impl Compression {
    fn to_byte(self) -> u8 {
        match self {
            Compression::None => 0,
            Compression::Zstd => 1,
        }
    }

    fn from_byte(b: u8) -> Option<Self> {
        match b {
            0 => Some(Compression::None),
            1 => Some(Compression::Zstd),
            _ => None,
        }
    }
}

/// The non-secret, authenticated header of an object.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ObjectHeader {
    /// Fingerprint of the data key ([`data_key_id`]).
    pub key_id: String,
    /// The backup the object belongs to.
    pub backup_id: String,
    /// The object's logical name (e.g. `part-000001`), so objects cannot be swapped.
    pub object_name: String,
    /// Compression of the plaintext.
    pub compression: Compression,
    /// Ciphertext segment size of the body, [`MIN_SEGMENT_SIZE`]..=[`MAX_SEGMENT_SIZE`].
    pub segment_size: u32,
}

impl ObjectHeader {
    /// A header for `object_name` of `backup_id` sealed with `dek`, default segment size,
    /// no compression.
    pub fn new(
        dek: &SecretBytes,
        backup_id: impl Into<String>,
        object_name: impl Into<String>,
    ) -> Self {
        ObjectHeader {
            key_id: data_key_id(dek),
            backup_id: backup_id.into(),
            object_name: object_name.into(),
            compression: Compression::None,
            segment_size: DEFAULT_SEGMENT_SIZE,
        }
    }

    /// Serialises the header:
    /// `"FKEEP" ‖ version ‖ u32 total length ‖ (u16 len ‖ utf-8) × 3 ‖ compression ‖ u32 segment size`,
    /// integers big-endian.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        self.validate()?;
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(MAGIC);
        out.push(FORMAT_VERSION);
        out.extend_from_slice(&[0; 4]);
        for (what, s) in [
            ("key id", &self.key_id),
            ("backup id", &self.backup_id),
            ("object name", &self.object_name),
        ] {
            let len = u16::try_from(s.len()).map_err(|_| {
                Error::InvalidInput(format!(
                    "{what} is {} bytes; at most 65535 allowed",
                    s.len()
                ))
            })?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        out.push(self.compression.to_byte());
        out.extend_from_slice(&self.segment_size.to_be_bytes());
        if out.len() > MAX_HEADER_LEN {
            return Err(Error::InvalidInput(format!(
                "object header would be {} bytes; at most {MAX_HEADER_LEN} allowed (shorten the names)",
                out.len()
            )));
        }
        let total = out.len() as u32;
        out[6..10].copy_from_slice(&total.to_be_bytes());
        Ok(out)
    }

    fn validate(&self) -> Result<()> {
        if !(MIN_SEGMENT_SIZE..=MAX_SEGMENT_SIZE).contains(&self.segment_size) {
            return Err(Error::InvalidInput(format!(
                "segment size {} is out of range; use {MIN_SEGMENT_SIZE} ..= {MAX_SEGMENT_SIZE} bytes",
                self.segment_size
            )));
        }
        Ok(())
    }

    /// The Tink parameters of this object's body.
    pub fn tink_params(&self) -> TinkParams {
        TinkParams::firekeep(self.segment_size)
    }
}

/// The total header length announced by a header prefix (at least
/// [`HEADER_PREFIX_LEN`] bytes), after checking magic and version.
pub fn header_len(prefix: &[u8]) -> Result<usize> {
    if prefix.len() < HEADER_PREFIX_LEN {
        return Err(not_an_object("shorter than the 10-byte header prefix"));
    }
    if &prefix[..MAGIC.len()] != MAGIC {
        return Err(not_an_object("it does not start with FKEEP"));
    }
    if prefix[5] != FORMAT_VERSION {
        return Err(Error::InvalidInput(format!(
            "object format version {} is not supported (this firekeep reads version {FORMAT_VERSION}); \
             upgrade firekeep",
            prefix[5]
        )));
    }
    let len = u32::from_be_bytes(prefix[6..10].try_into().expect("4 bytes")) as usize;
    if !(HEADER_PREFIX_LEN..=MAX_HEADER_LEN).contains(&len) {
        return Err(not_an_object("its header length field is out of range"));
    }
    Ok(len)
}

fn not_an_object(why: &str) -> Error {
    Error::integrity("object", format!("not a firekeep object: {why}"))
}

/// Parses the header at the start of `prefix` (which may hold more bytes). Returns the
/// header and its length in bytes. No key is needed.
pub fn read_header(prefix: &[u8]) -> Result<(ObjectHeader, usize)> {
    let len = header_len(prefix)?;
    if prefix.len() < len {
        return Err(not_an_object("the header is truncated"));
    }
    let mut p = &prefix[HEADER_PREFIX_LEN..len];
    let mut take = |n: usize| -> Result<&[u8]> {
        if p.len() < n {
            return Err(not_an_object("a header field runs past the header"));
        }
        let (a, b) = p.split_at(n);
        p = b;
        Ok(a)
    };
    let mut fields = Vec::with_capacity(3);
    for _ in 0..3 {
        let n = u16::from_be_bytes(take(2)?.try_into().expect("2 bytes")) as usize;
        let s = std::str::from_utf8(take(n)?)
            .map_err(|_| not_an_object("a header field is not UTF-8"))?;
        fields.push(s.to_owned());
    }
    let compression = Compression::from_byte(take(1)?[0])
        .ok_or_else(|| not_an_object("unknown compression code"))?;
    let segment_size = u32::from_be_bytes(take(4)?.try_into().expect("4 bytes"));
    if !p.is_empty() {
        return Err(not_an_object("trailing bytes in the header"));
    }
    let mut fields = fields.into_iter();
    let header = ObjectHeader {
        key_id: fields.next().expect("3 fields"),
        backup_id: fields.next().expect("3 fields"),
        object_name: fields.next().expect("3 fields"),
        compression,
        segment_size,
    };
    header
        .validate()
        .map_err(|_| not_an_object("segment size out of range"))?;
    Ok((header, len))
}

/// The non-secret fingerprint of a data key: `"dek-"` followed by 16 hex digits of
/// HKDF-SHA256(ikm = key, info = "firekeep data key id"). One-way; safe to store and print.
pub fn data_key_id(dek: &SecretBytes) -> String {
    let mut id = [0u8; 8];
    hkdf::Hkdf::<sha2::Sha256>::new(None, dek.expose())
        .expand(b"firekeep data key id", &mut id)
        .expect("8 bytes is a valid HKDF length");
    let mut s = String::with_capacity(20);
    s.push_str("dek-");
    for b in id {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

fn check_dek(dek: &SecretBytes) -> Result<()> {
    if dek.len() != DATA_KEY_LEN {
        return Err(Error::InvalidInput(format!(
            "a data key must be {DATA_KEY_LEN} bytes, got {} bytes",
            dek.len()
        )));
    }
    Ok(())
}

/// Fails with [`Error::KeyMismatch`] unless `dek` is the key named by `header`.
pub fn check_key(dek: &SecretBytes, header: &ObjectHeader) -> Result<()> {
    check_dek(dek)?;
    let actual = data_key_id(dek);
    if actual != header.key_id {
        return Err(Error::KeyMismatch {
            expected: header.key_id.clone(),
            actual,
        });
    }
    Ok(())
}

/// Encrypts `plaintext` into a whole object (`header ‖ body`) with a fresh random salt and
/// nonce prefix. `header.key_id` must be `data_key_id(dek)`. Runs on this thread; see
/// [`seal_into`] for a caller-owned buffer and more threads.
pub fn seal(dek: &SecretBytes, header: &ObjectHeader, plaintext: &[u8]) -> Result<Vec<u8>> {
    seal_with(
        Backend::DEFAULT,
        dek,
        header,
        &StreamHeader::random(&header.tink_params()),
        plaintext,
    )
}

/// [`seal`] with a chosen backend and stream header (salt and nonce prefix). Reusing a
/// stream header with the same key and header is insecure: for tests and known answers.
pub fn seal_with(
    backend: Backend,
    dek: &SecretBytes,
    header: &ObjectHeader,
    stream_header: &StreamHeader,
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    let mut out = vec![0u8; sealed_len(header, plaintext.len())?];
    seal_parts(backend, dek, header, stream_header, plaintext, &mut out, 1)?;
    Ok(out)
}

/// Length of the object [`seal`] makes of `plaintext_len` bytes under `header`.
pub fn sealed_len(header: &ObjectHeader, plaintext_len: usize) -> Result<usize> {
    let body = header.tink_params().ciphertext_len(plaintext_len as u64);
    Ok(header.to_bytes()?.len() + body as usize)
}

/// [`seal`] into `out`, exactly [`sealed_len`] bytes, on up to `threads` threads (this
/// one and scoped helpers, each sealing a run of segments; inputs of a few segments stay
/// on this thread). For callers that own the result memory (a language binding, a
/// reused buffer): nothing is allocated for the data and each byte is written once.
pub fn seal_into(
    dek: &SecretBytes,
    header: &ObjectHeader,
    plaintext: &[u8],
    out: &mut [u8],
    threads: usize,
) -> Result<()> {
    let sh = StreamHeader::random(&header.tink_params());
    seal_parts(Backend::DEFAULT, dek, header, &sh, plaintext, out, threads)
}

fn seal_parts(
    backend: Backend,
    dek: &SecretBytes,
    header: &ObjectHeader,
    stream_header: &StreamHeader,
    plaintext: &[u8],
    out: &mut [u8],
    threads: usize,
) -> Result<()> {
    check_key(dek, header)?;
    let header_bytes = header.to_bytes()?;
    let params = header.tink_params();
    let need = header_bytes.len() + params.ciphertext_len(plaintext.len() as u64) as usize;
    if out.len() != need {
        return Err(Error::InvalidInput(format!(
            "the output buffer holds {} bytes; the object of {} plaintext bytes needs \
             exactly {need} (format::sealed_len)",
            out.len(),
            plaintext.len()
        )));
    }
    let (head, body) = out.split_at_mut(header_bytes.len());
    head.copy_from_slice(&header_bytes);
    tink::encrypt_into(
        backend,
        &params,
        dek.expose(),
        &header_bytes,
        stream_header,
        plaintext,
        body,
        threads,
    )
}

/// Decrypts a whole object. A different key fails first with [`Error::KeyMismatch`]
/// (naming the expected key id); any modified, truncated, extended or swapped byte fails
/// with [`Error::Integrity`].
pub fn open(dek: &SecretBytes, object: &[u8]) -> Result<(ObjectHeader, Vec<u8>)> {
    open_with(Backend::DEFAULT, dek, object)
}

/// [`open`] on a chosen backend.
pub fn open_with(
    backend: Backend,
    dek: &SecretBytes,
    object: &[u8],
) -> Result<(ObjectHeader, Vec<u8>)> {
    let mut out = vec![0u8; opened_len_for(dek, object)?];
    let header = open_parts(backend, dek, object, &mut out, 1)?;
    Ok((header, out))
}

/// An object's header and the length of its plaintext, from its header and total
/// length alone (nothing is decrypted; [`Error::Integrity`] if no object has that length).
pub fn opened_len(object: &[u8]) -> Result<(ObjectHeader, usize)> {
    let (header, len) = read_header(object)?;
    let plaintext = plaintext_len(&header, object.len() - len)?;
    Ok((header, plaintext))
}

/// [`opened_len`] for a caller about to open the object with `dek`: another key fails
/// with [`Error::KeyMismatch`] before any question of length (the size of the output is
/// no use to someone holding the wrong key).
pub fn opened_len_for(dek: &SecretBytes, object: &[u8]) -> Result<usize> {
    let (header, len) = read_header(object)?;
    check_key(dek, &header)?;
    plaintext_len(&header, object.len() - len)
}

/// Plaintext bytes of a body of `body_len` bytes under `header`.
fn plaintext_len(header: &ObjectHeader, body_len: usize) -> Result<usize> {
    let layout = Layout::new(&header.tink_params(), body_len as u64)
        .map_err(|e| rename(e, &header.object_name))?;
    Ok(layout.plaintext_len() as usize)
}

/// [`open`] into `out`, exactly [`opened_len`] bytes, on up to `threads` threads (as
/// [`seal_into`]); returns the object's header. On error `out` is zeroed.
pub fn open_into(
    dek: &SecretBytes,
    object: &[u8],
    out: &mut [u8],
    threads: usize,
) -> Result<ObjectHeader> {
    open_parts(Backend::DEFAULT, dek, object, out, threads)
}

fn open_parts(
    backend: Backend,
    dek: &SecretBytes,
    object: &[u8],
    out: &mut [u8],
    threads: usize,
) -> Result<ObjectHeader> {
    let (header, len) = read_header(object)?;
    check_key(dek, &header)?;
    tink::decrypt_into(
        backend,
        &header.tink_params(),
        dek.expose(),
        &object[..len],
        &object[len..],
        out,
        threads,
    )
    .map_err(|e| rename(e, &header.object_name))?;
    Ok(header)
}

/// Replaces the generic object label of an integrity error with the object's name.
fn rename(e: Error, object: &str) -> Error {
    match e {
        Error::Integrity { detail, .. } => Error::integrity(object, detail),
        other => other,
    }
}

/// Random access to an object's segments: built from the object's first bytes and its
/// total length, it says where each segment is and decrypts any one alone.
pub struct SegmentReader {
    header: ObjectHeader,
    header_len: usize,
    layout: Layout,
    crypter: SegmentCrypter,
}

impl SegmentReader {
    /// Number of leading object bytes [`SegmentReader::new`] needs: the header and the
    /// stream header. Read [`HEADER_PREFIX_LEN`] bytes, call [`header_len`], add this.
    pub const STREAM_HEADER_LEN: usize = STREAM_HEADER_LEN;

    /// `prefix` holds at least the object's header and the 40-byte stream header;
    /// `object_len` is the object's total length.
    pub fn new(dek: &SecretBytes, prefix: &[u8], object_len: u64) -> Result<Self> {
        Self::with_backend(Backend::DEFAULT, dek, prefix, object_len)
    }

    /// [`SegmentReader::new`] on a chosen backend.
    pub fn with_backend(
        backend: Backend,
        dek: &SecretBytes,
        prefix: &[u8],
        object_len: u64,
    ) -> Result<Self> {
        let (header, header_len) = read_header(prefix)?;
        check_key(dek, &header)?;
        let params = header.tink_params();
        let name = header.object_name.clone();
        let body_len = object_len
            .checked_sub(header_len as u64)
            .ok_or_else(|| Error::integrity(&name, "object is shorter than its header"))?;
        let layout = Layout::new(&params, body_len).map_err(|e| rename(e, &name))?;
        let stream_header =
            StreamHeader::parse(&params, &prefix[header_len..]).map_err(|e| rename(e, &name))?;
        let crypter = SegmentCrypter::new(
            backend,
            &params,
            dek.expose(),
            &prefix[..header_len],
            &stream_header,
        )?;
        Ok(SegmentReader {
            header,
            header_len,
            layout,
            crypter,
        })
    }

    /// The object's header.
    pub fn header(&self) -> &ObjectHeader {
        &self.header
    }

    /// Number of segments (at least 1).
    pub fn segment_count(&self) -> u64 {
        self.layout.segment_count()
    }

    /// Total plaintext length.
    pub fn plaintext_len(&self) -> u64 {
        self.layout.plaintext_len()
    }

    /// Byte range of segment `index` (ciphertext and tag) within the object: fetch
    /// exactly these bytes (e.g. with a ranged GET) for [`SegmentReader::decrypt_segment`].
    pub fn segment_range(&self, index: u64) -> Range<u64> {
        let r = self.layout.segment_range(index);
        let h = self.header_len as u64;
        r.start + h..r.end + h
    }

    /// Byte range of segment `index`'s plaintext within the object's plaintext.
    pub fn plaintext_range(&self, index: u64) -> Range<u64> {
        self.layout.plaintext_range(index)
    }

    /// Index of the segment holding plaintext byte `offset`.
    pub fn segment_for_offset(&self, offset: u64) -> u64 {
        let first = self.header.tink_params().first_plaintext_len() as u64;
        let per = self.header.tink_params().plaintext_segment_len() as u64;
        let i = if offset < first {
            0
        } else {
            1 + (offset - first) / per
        };
        i.min(self.segment_count() - 1)
    }

    /// Decrypts segment `index` given exactly its bytes ([`SegmentReader::segment_range`]).
    pub fn decrypt_segment(&self, index: u64, ciphertext: &[u8]) -> Result<Vec<u8>> {
        let mut buf = ciphertext.to_vec();
        let n = self.decrypt_segment_in_place(index, &mut buf)?;
        buf.truncate(n);
        Ok(buf)
    }

    /// Decrypts segment `index` in place; returns the plaintext length (the plaintext is
    /// `buf[..n]`). Nothing in `buf` may be used if this fails.
    pub fn decrypt_segment_in_place(&self, index: u64, buf: &mut [u8]) -> Result<usize> {
        let name = &self.header.object_name;
        if index >= self.segment_count() {
            return Err(Error::InvalidInput(format!(
                "segment {index} does not exist; {name} has {} segments",
                self.segment_count()
            )));
        }
        let r = self.layout.segment_range(index);
        if buf.len() as u64 != r.end - r.start {
            return Err(Error::integrity(
                name,
                format!(
                    "segment {index} must be {} bytes, got {}",
                    r.end - r.start,
                    buf.len()
                ),
            ));
        }
        let last = index + 1 == self.segment_count();
        self.crypter
            .open(index as u32, last, buf)
            .map_err(|_| tink::segment_error(name, index))
    }
}

/// Decrypts segment `index` of an object alone: `prefix` holds the object's header and
/// stream header, `object_len` is the object's length, `ciphertext` the segment's bytes.
pub fn decrypt_segment(
    dek: &SecretBytes,
    prefix: &[u8],
    object_len: u64,
    index: u64,
    ciphertext: &[u8],
) -> Result<Vec<u8>> {
    SegmentReader::new(dek, prefix, object_len)?.decrypt_segment(index, ciphertext)
}

/// Total object length for a header and a plaintext length (for progress and checks).
pub fn object_len(header: &ObjectHeader, plaintext_len: u64) -> Result<u64> {
    Ok(header.to_bytes()?.len() as u64 + header.tink_params().ciphertext_len(plaintext_len))
}

/// Turns an `std::io::Error` from [`DecryptingReader`] / [`EncryptingWriter`] back into
/// the firekeep [`Error`] it carries (integrity, key mismatch), or wraps it as I/O.
pub fn from_io_error(e: std::io::Error, context: &str) -> Error {
    if e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
        let inner = e.into_inner().expect("checked above");
        return *inner.downcast::<Error>().expect("checked above");
    }
    Error::io(context, e)
}
