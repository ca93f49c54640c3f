//! Streaming encryption and decryption with O(segment size) memory.
//!
//! [`Encryptor`] and [`Decryptor`] are sans-I/O state machines (push bytes in, get
//! segments out); [`EncryptingWriter`] and [`DecryptingReader`] drive them over
//! `std::io`, and the async adapters over byte streams. Each keeps one reusable
//! segment buffer; nothing is allocated per segment.

use super::aead::{Backend, TAG_LEN};
use super::tink::{SegmentCrypter, StreamHeader, TinkParams, segment_error};
use super::{ObjectHeader, STREAM_HEADER_LEN, check_key, header_len, read_header};
use crate::secret::SecretBytes;
use crate::{Error, Result};
use std::io::{self, Read, Write};

/// Push-style encryptor of one object. Feed plaintext with [`Encryptor::update`]; it
/// calls `emit` with each completed piece of the object (header first, then each
/// segment); [`Encryptor::finish`] emits the last segment.
pub struct Encryptor {
    crypter: SegmentCrypter,
    params: TinkParams,
    /// Header ‖ stream header, emitted before the first segment.
    prefix: Option<Vec<u8>>,
    /// Plaintext of the current segment, then its ciphertext and tag.
    buf: Vec<u8>,
    filled: usize,
    cap: usize,
    index: u32,
    written: u64,
}

impl Encryptor {
    /// An encryptor with a fresh random salt and nonce prefix on the default backend.
    pub fn new(dek: &SecretBytes, header: &ObjectHeader) -> Result<Self> {
        Self::with_options(
            Backend::DEFAULT,
            dek,
            header,
            &StreamHeader::random(&header.tink_params()),
        )
    }

    /// An encryptor on a chosen backend with a chosen stream header. Reusing a stream
    /// header with the same key and header is insecure: for tests and known answers.
    pub fn with_options(
        backend: Backend,
        dek: &SecretBytes,
        header: &ObjectHeader,
        stream_header: &StreamHeader,
    ) -> Result<Self> {
        check_key(dek, header)?;
        let params = header.tink_params();
        let mut prefix = header.to_bytes()?;
        let crypter = SegmentCrypter::new(backend, &params, dek.expose(), &prefix, stream_header)?;
        prefix.extend_from_slice(&stream_header.to_bytes());
        Ok(Encryptor {
            crypter,
            params,
            prefix: Some(prefix),
            buf: vec![0u8; params.ciphertext_segment_size],
            filled: 0,
            cap: params.first_plaintext_len(),
            index: 0,
            written: 0,
        })
    }

    /// Adds plaintext. Segments are emitted once it is known they are not the last.
    pub fn update(
        &mut self,
        mut data: &[u8],
        emit: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        self.emit_prefix(emit)?;
        while !data.is_empty() {
            if self.filled == self.cap {
                self.seal_segment(false, emit)?;
            }
            let n = (self.cap - self.filled).min(data.len());
            self.buf[self.filled..self.filled + n].copy_from_slice(&data[..n]);
            self.filled += n;
            data = &data[n..];
        }
        Ok(())
    }

    /// Emits the last segment. Returns the object's total length.
    pub fn finish(mut self, emit: &mut dyn FnMut(&[u8]) -> Result<()>) -> Result<u64> {
        self.emit_prefix(emit)?;
        self.seal_segment(true, emit)?;
        Ok(self.written)
    }

    fn emit_prefix(&mut self, emit: &mut dyn FnMut(&[u8]) -> Result<()>) -> Result<()> {
        if let Some(prefix) = self.prefix.take() {
            emit(&prefix)?;
            self.written += prefix.len() as u64;
        }
        Ok(())
    }

    fn seal_segment(
        &mut self,
        last: bool,
        emit: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        let n = self.filled;
        let tag = self.crypter.seal(self.index, last, &mut self.buf[..n]);
        self.buf[n..n + TAG_LEN].copy_from_slice(&tag);
        emit(&self.buf[..n + TAG_LEN])?;
        self.written += (n + TAG_LEN) as u64;
        self.index = self.index.checked_add(1).ok_or_else(|| {
            Error::InvalidInput(
                "object too large: more than 2^32 segments; use a larger segment size".into(),
            )
        })?;
        self.filled = 0;
        self.cap = self.params.plaintext_segment_len();
        Ok(())
    }
}

/// Encrypts everything written to it into `inner` as one object. Call
/// [`EncryptingWriter::finish`] at the end: without it the object lacks its last segment
/// and will not decrypt.
pub struct EncryptingWriter<W: Write> {
    enc: Encryptor,
    inner: W,
}

impl<W: Write> EncryptingWriter<W> {
    /// A writer with a fresh random salt and nonce prefix on the default backend.
    pub fn new(dek: &SecretBytes, header: &ObjectHeader, inner: W) -> Result<Self> {
        Ok(EncryptingWriter {
            enc: Encryptor::new(dek, header)?,
            inner,
        })
    }

    /// A writer over a configured [`Encryptor`] (backend, stream header).
    pub fn from_encryptor(enc: Encryptor, inner: W) -> Self {
        EncryptingWriter { enc, inner }
    }

    /// Writes the last segment, flushes and returns the inner writer.
    pub fn finish(mut self) -> Result<W> {
        let inner = &mut self.inner;
        self.enc.finish(&mut |b: &[u8]| {
            inner
                .write_all(b)
                .map_err(|e| Error::io("writing an encrypted object", e))
        })?;
        self.inner
            .flush()
            .map_err(|e| Error::io("flushing an encrypted object", e))?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for EncryptingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let inner = &mut self.inner;
        self.enc
            .update(buf, &mut |b: &[u8]| {
                inner
                    .write_all(b)
                    .map_err(|e| Error::io("writing an encrypted object", e))
            })
            .map_err(into_io)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        // Only whole segments can be written; flushing passes on what is complete.
        self.inner.flush()
    }
}

/// Carries a firekeep error through `std::io` (see [`super::from_io_error`]).
pub(crate) fn into_io(e: Error) -> io::Error {
    match e {
        Error::Io { source, .. } => source,
        other => io::Error::new(io::ErrorKind::InvalidData, other),
    }
}

enum Phase {
    /// Collecting header ‖ stream header.
    Header { dek: SecretBytes, backend: Backend },
    /// Decrypting segments.
    Body {
        header: Box<ObjectHeader>,
        crypter: Box<SegmentCrypter>,
        params: TinkParams,
    },
    /// The last segment was verified.
    Done,
}

/// Pull/push-style decryptor of one object. No plaintext leaves it before its segment's
/// tag verified; a missing last segment, reordered, dropped, duplicated or appended
/// segments all fail with [`Error::Integrity`].
pub struct Decryptor {
    phase: Phase,
    /// Header bytes while in [`Phase::Header`], then the current segment (plus one byte of
    /// look-ahead that tells whether it is the last).
    buf: Vec<u8>,
    filled: usize,
    /// Bytes wanted in `buf`: the whole header, or the current segment's ciphertext.
    want: usize,
    carry: Option<u8>,
    index: u32,
    object: String,
}

impl Decryptor {
    /// A decryptor for an object sealed with `dek`, on `backend`.
    pub fn new(backend: Backend, dek: &SecretBytes) -> Self {
        Decryptor {
            phase: Phase::Header {
                dek: dek.clone(),
                backend,
            },
            buf: vec![0u8; super::HEADER_PREFIX_LEN],
            filled: 0,
            want: super::HEADER_PREFIX_LEN,
            carry: None,
            index: 0,
            object: "object".into(),
        }
    }

    /// The object's header, once it has been read.
    pub fn header(&self) -> Option<&ObjectHeader> {
        match &self.phase {
            Phase::Body { header, .. } => Some(header),
            _ => None,
        }
    }

    /// Whether the last segment has been verified.
    pub fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    /// Where to put the next input bytes (never empty unless done). Any plaintext returned
    /// earlier is invalidated.
    pub fn space(&mut self) -> &mut [u8] {
        if let Some(b) = self.carry.take() {
            self.buf[0] = b;
            self.filled = 1;
        }
        let end = match self.phase {
            Phase::Header { .. } => self.want,
            Phase::Body { .. } => self.want + 1,
            Phase::Done => self.filled,
        };
        &mut self.buf[self.filled..end]
    }

    /// Records that `n` bytes were written into [`Decryptor::space`]. Returns the length
    /// of plaintext now ready at the start of [`Decryptor::plaintext`]'s buffer, if a
    /// segment completed.
    pub fn advance(&mut self, n: usize) -> Result<Option<usize>> {
        self.filled += n;
        if let Phase::Header { .. } = self.phase {
            if self.filled == self.want {
                self.header_step()?;
            }
            return Ok(None);
        }
        if let Phase::Body { crypter, .. } = &self.phase
            && self.filled == self.want + 1
        {
            self.carry = Some(self.buf[self.want]);
            let want = self.want;
            let pt = crypter
                .open(self.index, false, &mut self.buf[..want])
                .map_err(|_| segment_error(&self.object, self.index as u64))?;
            self.next_segment()?;
            return Ok(Some(pt));
        }
        Ok(None)
    }

    /// Ends the input: verifies the last segment. Returns its plaintext length (at the
    /// start of the buffer), or `None` if already done.
    pub fn finish(&mut self) -> Result<Option<usize>> {
        match &self.phase {
            Phase::Done => Ok(None),
            Phase::Header { .. } => Err(Error::integrity(
                &self.object,
                "object is truncated: it ends inside its header",
            )),
            Phase::Body { crypter, .. } => {
                if let Some(b) = self.carry.take() {
                    self.buf[0] = b;
                    self.filled = 1;
                }
                let n = self.filled;
                if n < TAG_LEN {
                    return Err(Error::integrity(
                        &self.object,
                        format!(
                            "object is truncated: segment {} is {n} bytes, shorter than a tag",
                            self.index
                        ),
                    ));
                }
                let pt = crypter
                    .open(self.index, true, &mut self.buf[..n])
                    .map_err(|_| segment_error(&self.object, self.index as u64))?;
                self.phase = Phase::Done;
                Ok(Some(pt))
            }
        }
    }

    /// [`Decryptor::finish`] returning the last segment's verified plaintext itself (empty
    /// when the object had already ended).
    pub fn finish_plaintext(&mut self) -> Result<&[u8]> {
        let n = self.finish()?.unwrap_or(0);
        Ok(&self.buf[..n])
    }

    /// The decryptor's buffer; after [`Decryptor::advance`] or [`Decryptor::finish`]
    /// returned `Some(n)`, `plaintext()[..n]` is verified plaintext.
    pub fn plaintext(&self) -> &[u8] {
        &self.buf
    }

    /// Feeds `data`, calling `emit` with each verified plaintext segment.
    pub fn update(
        &mut self,
        mut data: &[u8],
        emit: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        while !data.is_empty() {
            let space = self.space();
            if space.is_empty() {
                return Err(Error::integrity(
                    &self.object,
                    "bytes after the last segment: the object was extended",
                ));
            }
            let n = space.len().min(data.len());
            space[..n].copy_from_slice(&data[..n]);
            data = &data[n..];
            if let Some(pt) = self.advance(n)? {
                emit(&self.buf[..pt])?;
            }
        }
        Ok(())
    }

    fn next_segment(&mut self) -> Result<()> {
        self.filled = 0;
        self.index = self
            .index
            .checked_add(1)
            .ok_or_else(|| Error::integrity(&self.object, "more than 2^32 segments"))?;
        if let Phase::Body { params, .. } = &self.phase {
            self.want = params.ciphertext_segment_size;
        }
        Ok(())
    }

    fn header_step(&mut self) -> Result<()> {
        if self.want == super::HEADER_PREFIX_LEN {
            // The fixed prefix is in: now we know the header's length.
            let len = header_len(&self.buf)?;
            self.want = len + STREAM_HEADER_LEN;
            self.buf.resize(self.want, 0);
            return Ok(());
        }
        let (header, hlen) = read_header(&self.buf)?;
        self.object = header.object_name.clone();
        let Phase::Header { dek, backend } = &self.phase else {
            unreachable!("header_step runs in the header phase")
        };
        check_key(dek, &header)?;
        let params = header.tink_params();
        let stream_header = StreamHeader::parse(&params, &self.buf[hlen..])
            .map_err(|_| Error::integrity(&self.object, "malformed stream header"))?;
        let crypter = SegmentCrypter::new(
            *backend,
            &params,
            dek.expose(),
            &self.buf[..hlen],
            &stream_header,
        )?;
        self.phase = Phase::Body {
            header: Box::new(header),
            crypter: Box::new(crypter),
            params,
        };
        self.buf = vec![0u8; params.ciphertext_segment_size + 1];
        self.filled = 0;
        self.want = params.ciphertext_segment_size - STREAM_HEADER_LEN;
        Ok(())
    }
}

/// Decrypts an object read from `inner`. Errors come out as `io::Error`s that carry the
/// firekeep [`Error`] (recover it with [`super::from_io_error`]).
pub struct DecryptingReader<R: Read> {
    dec: Decryptor,
    inner: R,
    pos: usize,
    end: usize,
}

impl<R: Read> DecryptingReader<R> {
    /// Reads and checks the header (key id first), ready to decrypt.
    pub fn new(dek: &SecretBytes, inner: R) -> Result<Self> {
        Self::with_backend(Backend::DEFAULT, dek, inner)
    }

    /// [`DecryptingReader::new`] on a chosen backend.
    pub fn with_backend(backend: Backend, dek: &SecretBytes, inner: R) -> Result<Self> {
        let mut r = DecryptingReader {
            dec: Decryptor::new(backend, dek),
            inner,
            pos: 0,
            end: 0,
        };
        while r.dec.header().is_none() {
            let space = r.dec.space();
            let n = read_retry(&mut r.inner, space)
                .map_err(|e| Error::io("reading an encrypted object", e))?;
            if n == 0 {
                r.dec.finish()?;
            }
            r.dec.advance(n)?;
        }
        Ok(r)
    }

    /// The object's header.
    pub fn header(&self) -> &ObjectHeader {
        self.dec.header().expect("header read in new()")
    }

    /// The inner reader.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Reads the next verified chunk of plaintext without copying it; `None` at the end.
    pub fn next_segment(&mut self) -> Result<Option<&[u8]>> {
        loop {
            if self.pos < self.end {
                let (p, e) = (self.pos, self.end);
                self.pos = self.end;
                return Ok(Some(&self.dec.plaintext()[p..e]));
            }
            if self.dec.is_done() {
                // Anything after the last segment means the object was extended.
                let mut probe = [0u8; 1];
                let n = read_retry(&mut self.inner, &mut probe)
                    .map_err(|e| Error::io("reading an encrypted object", e))?;
                if n != 0 {
                    return Err(Error::integrity(
                        &self.header().object_name,
                        "bytes after the last segment: the object was extended",
                    ));
                }
                return Ok(None);
            }
            let space = self.dec.space();
            let n = read_retry(&mut self.inner, space)
                .map_err(|e| Error::io("reading an encrypted object", e))?;
            let ready = if n == 0 {
                self.dec.finish()?
            } else {
                self.dec.advance(n)?
            };
            if let Some(len) = ready {
                self.pos = 0;
                self.end = len;
            }
        }
    }
}

fn read_retry<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

impl<R: Read> Read for DecryptingReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if self.pos == self.end {
            match self.next_segment().map_err(into_io)? {
                None => return Ok(0),
                Some(_) => {
                    // next_segment consumed the chunk; rewind to serve it piecewise.
                    self.pos = 0;
                }
            }
        }
        let n = (self.end - self.pos).min(out.len());
        out[..n].copy_from_slice(&self.dec.plaintext()[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
