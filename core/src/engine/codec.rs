//! The engine's one seam to the object format ([`crate::format`]) and the document JSON
//! ([`crate::model::json`]): sealing/opening objects bound to a backup id and object name,
//! and framing documents into parts (NDJSON, zstd-compressed: [`PartEncoder`],
//! [`PartDecoder`]).

use crate::format::{self, Compression, ObjectHeader};
use crate::model::Document;
use crate::model::json::{decode_document, encode_document_to};
use crate::secret::SecretBytes;
use crate::source::SourceDocument;
use crate::{Error, Result};
use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};

/// Hex SHA-256 of bytes (ciphertext hashes in the manifest).
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(data);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    out
}

/// The non-secret fingerprint of a data key, as recorded in object headers.
pub(crate) fn data_key_id(dek: &SecretBytes) -> String {
    format::data_key_id(dek)
}

/// Seals `plaintext` (a zstd frame) as object `object` of backup `backup_id`.
pub(crate) fn seal_object(
    dek: &SecretBytes,
    backup_id: &str,
    object: &str,
    segment_size: u32,
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    let header = ObjectHeader {
        key_id: format::data_key_id(dek),
        backup_id: backup_id.to_string(),
        object_name: object.to_string(),
        compression: if object.ends_with(".fkp") {
            Compression::Zstd
        } else {
            Compression::None
        },
        segment_size,
    };
    format::seal(dek, &header, plaintext)
}

/// Opens a sealed object, checking that its header names `backup_id` and `object` (so an
/// object moved between backups or renamed is detected) and every authentication tag.
pub(crate) fn open_object(
    dek: &SecretBytes,
    backup_id: &str,
    object: &str,
    sealed: &[u8],
) -> Result<Vec<u8>> {
    let (header, _) = format::read_header(sealed)
        .map_err(|e| Error::integrity(object, format!("unreadable object header: {e}")))?;
    // Checked before decrypting: a part copied from another backup carries that backup's
    // key id too, and "belongs to backup X" says more than "wrong key".
    if header.backup_id != backup_id || header.object_name != object {
        return Err(Error::integrity(
            object,
            format!(
                "the object is {} of backup {}, not {object} of backup {backup_id} \
                 (moved, renamed or swapped)",
                header.object_name, header.backup_id
            ),
        ));
    }
    let (_, plain) = format::open(dek, sealed)?;
    Ok(plain)
}

/// An encoded part: zstd-compressed NDJSON and each document's line length.
pub(crate) struct EncodedPart {
    pub compressed: Vec<u8>,
    pub sizes: Vec<usize>,
}

/// Encodes documents as zstd-compressed NDJSON: one JSON buffer (sized from the batch's
/// estimate, so it rarely grows) compressed in one call. One-shot compression avoids the
/// streaming encoder's external-dictionary mode, which is markedly slower; the output is
/// one ordinary zstd frame that [`decode_part`] and the `zstd` tool read.
pub(crate) fn encode_batch(
    docs: &[SourceDocument],
    zstd_level: i32,
    size_hint: usize,
) -> Result<EncodedPart> {
    encode_lines(docs, zstd_level, size_hint, |doc, buf| doc.encode_json(buf))
}

/// [`encode_batch`] for documents already decoded (erasure rewrites parts from them).
pub(crate) fn encode_documents(
    docs: &[Document],
    zstd_level: i32,
    size_hint: usize,
) -> Result<EncodedPart> {
    encode_lines(docs, zstd_level, size_hint, |doc, buf| {
        encode_document_to(doc, buf);
        Ok(())
    })
}

/// JSON buffers kept per worker thread beyond one part's use only up to this size (a part
/// holds about `part_target_bytes` of JSON, default 4 MiB; larger buffers are freed).
const KEEP_JSON_BUFFER: usize = 16 * 1024 * 1024;

/// A worker's reusable encoding state: the NDJSON buffer and a zstd context with its level.
type EncoderState = (Vec<u8>, Option<(i32, zstd::bulk::Compressor<'static>)>);

thread_local! {
    /// Per worker: the NDJSON buffer and a zstd context at the level last used. A fresh
    /// 4 MiB buffer per part comes back from the kernel as new pages, and a fresh context
    /// allocates and initialises zstd's tables; both are reused instead. The frame written
    /// is the same one `zstd::bulk::compress` writes.
    static ENCODER: std::cell::RefCell<EncoderState> =
        const { std::cell::RefCell::new((Vec::new(), None)) };
}

fn encode_lines<T>(
    docs: &[T],
    zstd_level: i32,
    size_hint: usize,
    encode: impl Fn(&T, &mut Vec<u8>) -> Result<()>,
) -> Result<EncodedPart> {
    ENCODER.with(|cell| {
        // A re-entrant call (none today) would find the cell borrowed: use fresh state.
        let mut fresh = (Vec::new(), None);
        let mut guard = cell.try_borrow_mut();
        let (buf, zstd) = match guard.as_deref_mut() {
            Ok(state) => (&mut state.0, &mut state.1),
            Err(_) => (&mut fresh.0, &mut fresh.1),
        };
        buf.clear();
        buf.reserve(size_hint + size_hint / 8 + 4096);
        let mut sizes = Vec::with_capacity(docs.len());
        let encoded = docs.iter().try_for_each(|doc| {
            let before = buf.len();
            encode(doc, buf)?;
            buf.push(b'\n');
            sizes.push(buf.len() - before);
            Ok::<_, Error>(())
        });
        let compressed = encoded.and_then(|()| {
            let compressor = match zstd {
                Some((level, c)) if *level == zstd_level => c,
                _ => {
                    let c = zstd::bulk::Compressor::new(zstd_level)
                        .map_err(|e| Error::io("starting zstd compression", e))?;
                    &mut zstd.insert((zstd_level, c)).1
                }
            };
            compressor
                .compress(buf)
                .map_err(|e| Error::io("compressing a part with zstd", e))
        });
        if buf.capacity() > KEEP_JSON_BUFFER {
            *buf = Vec::new();
        }
        if compressed.is_err() {
            // zstd may leave a failed frame open in the context: start the next one afresh.
            *zstd = None;
        }
        Ok(EncodedPart {
            compressed: compressed?,
            sizes,
        })
    })
}

/// The relative document path inside a full resource name, given the database's
/// documents root with a trailing `/` (`projects/p/databases/d/documents/`).
pub(crate) fn relative_name<'a>(name: &'a str, root: &str) -> Option<&'a str> {
    name.strip_prefix(root).filter(|rel| !rel.is_empty())
}

/// Firestore key order of two relative document paths: segment by segment, each segment
/// compared as bytes (so `a/x/b/y` < `a-/z`). Same order as `DocumentPath`'s `Ord`,
/// without allocating.
pub(crate) fn cmp_relative(a: &str, b: &str) -> std::cmp::Ordering {
    a.split('/').cmp(b.split('/'))
}

/// Decodes a zstd-compressed NDJSON part that its (authenticated) manifest entry says
/// holds `documents` documents in `plain_bytes` bytes of NDJSON. Decompression stops at
/// `plain_bytes` and decoding after one document too many, so a part sealed by a data-key
/// holder to decompress to gigabytes (a zstd bomb) is an error at bounded memory and time.
pub(crate) fn decode_bounded_part(
    compressed: &[u8],
    plain_bytes: u64,
    documents: u64,
) -> Result<Vec<Document>> {
    let decoder = PartDecoder::new(compressed)?.limit_plain_bytes(plain_bytes);
    // One more than recorded is enough to tell the count is wrong.
    let cap = usize::try_from(documents.saturating_add(1)).unwrap_or(usize::MAX);
    let mut docs = Vec::with_capacity(cap.min(1 << 16));
    for doc in decoder.take(cap) {
        docs.push(doc?);
    }
    Ok(docs)
}

/// Largest part (NDJSON bytes, as its authenticated manifest entry records) decompressed
/// whole into one buffer; larger ones are read line by line by [`PartDecoder`]. Below
/// [`MAX_JSON_LINE_BYTES`], so no line of a whole part can be over that limit.
const WHOLE_PART_MAX_BYTES: u64 = 16 * 1024 * 1024;

thread_local! {
    /// One decompression buffer per worker thread, reused part after part (a fresh 4 MiB
    /// buffer per part costs page faults and zeroing).
    static PART_BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's reusable part buffer (a fresh one if it is in use).
pub(crate) fn with_part_buffer<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    PART_BUFFER.with(|b| match b.try_borrow_mut() {
        Ok(mut buf) => f(&mut buf),
        Err(_) => f(&mut Vec::new()),
    })
}

/// Decompresses a whole part into `out` (cleared first) with the decoder and the
/// `plain_bytes` bound of [`decode_bounded_part`]. `false` when the part is too large for
/// one buffer or does not decompress cleanly: the caller then takes the streaming path,
/// which finds and words the problem exactly as it always has.
pub(crate) fn decompress_whole(compressed: &[u8], plain_bytes: u64, out: &mut Vec<u8>) -> bool {
    if plain_bytes > WHOLE_PART_MAX_BYTES {
        out.clear();
        return false;
    }
    let Ok(zstd) = zstd::stream::read::Decoder::with_buffer(compressed) else {
        out.clear();
        return false;
    };
    // Sized by the bound plus the probe byte, so it never grows; a reused buffer keeps its
    // initialized bytes, so only growth is zeroed (`read_to_end` zeroed every part).
    out.resize(plain_bytes as usize + 1, 0);
    let mut limited = Limited {
        inner: zstd,
        left: plain_bytes,
        limit: plain_bytes,
    };
    let mut filled = 0;
    loop {
        match limited.read(&mut out[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => {
                out.clear();
                return false;
            }
        }
    }
    out.truncate(filled);
    true
}

/// The document lines of decompressed NDJSON as [`PartDecoder`] reads them: split at
/// `\n`, blank lines skipped.
pub(crate) fn document_lines(plain: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = plain;
    std::iter::from_fn(move || {
        while !rest.is_empty() {
            let (line, next) = match find_newline(rest) {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, &rest[rest.len()..]),
            };
            rest = next;
            if !line.iter().all(u8::is_ascii_whitespace) {
                return Some(line);
            }
        }
        None
    })
}

/// Index of the first `\n`, a word at a time (a byte loop cost as much as decoding).
fn find_newline(s: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut chunks = s.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let word =
            u64::from_le_bytes(chunk.try_into().expect("8 bytes")) ^ (ONES * u64::from(b'\n'));
        // The lowest flagged byte is the first zero byte (flags above it may be false).
        let zero = word.wrapping_sub(ONES) & !word & HIGHS;
        if zero != 0 {
            return Some(at + (zero.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| at + i)
}

/// [`decode_bounded_part`] for a part small enough to decompress whole into `buf`: the
/// same documents, without the line-by-line reader. `None` when the part is too large, or
/// anything is wrong (decompression, a line, more documents than `documents`): the caller
/// then runs [`decode_bounded_part`], which reports the problem in its own words.
pub(crate) fn decode_whole_part(
    compressed: &[u8],
    plain_bytes: u64,
    documents: u64,
    buf: &mut Vec<u8>,
) -> Option<Vec<Document>> {
    if !decompress_whole(compressed, plain_bytes, buf) {
        return None;
    }
    // The count is the manifest's, capped by what the bytes can hold (a line is far more
    // than 32 bytes), so a wrong count cannot reserve more than the part's size.
    let cap = usize::try_from(documents).unwrap_or(usize::MAX);
    let mut docs = Vec::with_capacity(cap.min(buf.len() / 32 + 1));
    for line in document_lines(buf) {
        if docs.len() == cap {
            return None;
        }
        docs.push(decode_document(line).ok()?);
    }
    Some(docs)
}

/// A cheap estimate of the JSON size of a document from a source, for sizing parts.
pub(crate) fn estimate_source_size(doc: &SourceDocument) -> usize {
    match doc {
        SourceDocument::Decoded(d) => estimate_size(d),
        // Protobuf is more compact than the JSON mapping (every value gains a
        // `{"xxxValue":...}` wrapper, bytes grow by base64): about 1.6x on typical documents.
        SourceDocument::Wire(w) => w.wire.len() + w.wire.len() / 2 + w.wire.len() / 8 + 32,
    }
}

/// A cheap upper-ish estimate of a document's encoded JSON size, for sizing parts and
/// restore batches without encoding twice.
pub(crate) fn estimate_size(doc: &Document) -> usize {
    use crate::model::Value;
    fn value(v: &Value) -> usize {
        // Each value is wrapped as {"xxxValue": ...}: ~16 bytes of overhead.
        16 + match v {
            Value::Null | Value::Boolean(_) => 5,
            Value::Integer(_) => 22,
            Value::Double(_) => 24,
            Value::Timestamp(_) => 32,
            Value::String(s) | Value::Reference(s) => s.len() + s.len() / 16 + 2,
            Value::Bytes(b) => b.len().div_ceil(3) * 4 + 2,
            Value::GeoPoint(_) => 60,
            Value::Array(items) => 12 + items.iter().map(value).sum::<usize>() + items.len(),
            Value::Map(fields) => 12 + fields_size(fields),
        }
    }
    fn fields_size(fields: &std::collections::BTreeMap<String, Value>) -> usize {
        fields.iter().map(|(k, v)| k.len() + 4 + value(v)).sum()
    }
    doc.name.len() + 90 + fields_size(&doc.fields)
}

/// zstd level used for parts unless configured otherwise (zstd's own default).
pub const DEFAULT_ZSTD_LEVEL: i32 = 3;

/// Longest line [`PartDecoder`] accepts. A 1 MiB Firestore document grows in JSON (base64
/// bytes, `\u0000` escapes are 6 bytes for 1); this bound only stops a corrupt part from
/// exhausting memory.
pub const MAX_JSON_LINE_BYTES: usize = 64 * 1024 * 1024;

/// How much JSON [`PartEncoder`] gathers before handing it to zstd (fewer, larger calls).
const ENCODER_CHUNK: usize = 128 * 1024;

// ---------------------------------------------------------------------------------------
// Parts: newline-delimited JSON, zstd-compressed.
// ---------------------------------------------------------------------------------------

/// Builds one compressed part: documents are encoded as JSON lines and streamed into zstd,
/// so memory holds the compressed output plus a small buffer, never the whole JSON.
pub struct PartEncoder {
    zstd: zstd::stream::write::Encoder<'static, Vec<u8>>,
    pending: Vec<u8>,
    documents: u64,
    json_bytes: u64,
}

impl fmt::Debug for PartEncoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartEncoder")
            .field("documents", &self.documents)
            .field("json_bytes", &self.json_bytes)
            .finish_non_exhaustive()
    }
}

impl PartEncoder {
    /// A part encoder at zstd level [`DEFAULT_ZSTD_LEVEL`].
    pub fn new() -> Result<Self> {
        PartEncoder::with_level(DEFAULT_ZSTD_LEVEL)
    }

    /// A part encoder at the given zstd level (1..=22; higher is smaller and slower).
    pub fn with_level(level: i32) -> Result<Self> {
        let range = zstd::compression_level_range();
        if !range.contains(&level) {
            return Err(Error::InvalidConfig(format!(
                "zstd level {level} is out of range; use {}..={} (default {DEFAULT_ZSTD_LEVEL})",
                range.start(),
                range.end()
            )));
        }
        let zstd = zstd::stream::write::Encoder::new(Vec::new(), level)
            .map_err(|e| Error::io("starting zstd compression", e))?;
        Ok(PartEncoder {
            zstd,
            pending: Vec::with_capacity(ENCODER_CHUNK + 4096),
            documents: 0,
            json_bytes: 0,
        })
    }

    /// Appends one document (one JSON line).
    pub fn push(&mut self, doc: &Document) -> Result<()> {
        let before = self.pending.len();
        encode_document_to(doc, &mut self.pending);
        self.pending.push(b'\n');
        self.json_bytes += (self.pending.len() - before) as u64;
        self.documents += 1;
        if self.pending.len() >= ENCODER_CHUNK {
            self.flush_pending()?;
        }
        Ok(())
    }

    fn flush_pending(&mut self) -> Result<()> {
        self.zstd
            .write_all(&self.pending)
            .map_err(|e| Error::io("compressing a part", e))?;
        self.pending.clear();
        Ok(())
    }

    /// Documents pushed so far.
    pub fn document_count(&self) -> u64 {
        self.documents
    }

    /// Uncompressed JSON bytes pushed so far (newlines included).
    pub fn json_bytes(&self) -> u64 {
        self.json_bytes
    }

    /// Compressed bytes produced so far (a lower bound of the final size; zstd buffers).
    pub fn compressed_bytes(&self) -> usize {
        self.zstd.get_ref().len()
    }

    /// Ends the zstd frame and returns the compressed part.
    pub fn finish(mut self) -> Result<Vec<u8>> {
        self.flush_pending()?;
        self.zstd
            .finish()
            .map_err(|e| Error::io("finishing a compressed part", e))
    }
}

/// Compresses documents into one part at the default level.
pub fn encode_part<'a>(docs: impl IntoIterator<Item = &'a Document>) -> Result<Vec<u8>> {
    let mut enc = PartEncoder::new()?;
    for doc in docs {
        enc.push(doc)?;
    }
    enc.finish()
}

/// Reads documents one at a time from a compressed part (streaming: memory holds one line).
pub struct PartDecoder<R: BufRead> {
    lines: BufReader<Limited<zstd::stream::read::Decoder<'static, R>>>,
    line: Vec<u8>,
    line_number: u64,
    failed: bool,
}

impl<R: BufRead> fmt::Debug for PartDecoder<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartDecoder")
            .field("line_number", &self.line_number)
            .finish_non_exhaustive()
    }
}

impl<'a> PartDecoder<&'a [u8]> {
    /// Decodes a compressed part held in memory.
    pub fn new(compressed: &'a [u8]) -> Result<Self> {
        PartDecoder::from_buf_read(compressed)
    }
}

impl<R: Read> PartDecoder<BufReader<R>> {
    /// Decodes a compressed part from any reader.
    pub fn from_reader(reader: R) -> Result<Self> {
        PartDecoder::from_buf_read(BufReader::new(reader))
    }
}

impl<R: BufRead> PartDecoder<R> {
    /// Decodes a compressed part from a buffered reader.
    pub fn from_buf_read(reader: R) -> Result<Self> {
        let zstd = zstd::stream::read::Decoder::with_buffer(reader)
            .map_err(|e| Error::io("starting zstd decompression", e))?;
        Ok(PartDecoder {
            lines: BufReader::with_capacity(
                128 * 1024,
                Limited {
                    inner: zstd,
                    left: u64::MAX,
                    limit: u64::MAX,
                },
            ),
            line: Vec::new(),
            line_number: 0,
            failed: false,
        })
    }

    /// Stops decompression at `max` bytes of NDJSON: more is an error naming the limit.
    /// The engine passes the manifest's `plain_bytes`, so a part that decompresses to far
    /// more than was recorded (a zstd bomb) costs bounded memory and time. Call before the
    /// first document is read.
    pub fn limit_plain_bytes(mut self, max: u64) -> Self {
        let l = self.lines.get_mut();
        l.left = max;
        l.limit = max;
        self
    }

    fn next_document(&mut self) -> Result<Option<Document>> {
        loop {
            self.line.clear();
            let limit = MAX_JSON_LINE_BYTES as u64 + 1;
            let n = (&mut self.lines)
                .take(limit)
                .read_until(b'\n', &mut self.line)
                .map_err(|e| {
                    Error::InvalidInput(format!(
                        "part is not valid zstd-compressed JSON lines ({e}); \
                         it is corrupt or was not written by firekeep"
                    ))
                })?;
            if n == 0 {
                return Ok(None);
            }
            self.line_number += 1;
            if self.line.len() > MAX_JSON_LINE_BYTES {
                return Err(Error::InvalidInput(format!(
                    "line {} of the part is longer than {MAX_JSON_LINE_BYTES} bytes; \
                     no Firestore document is that large",
                    self.line_number
                )));
            }
            let json = self.line.strip_suffix(b"\n").unwrap_or(&self.line);
            if json.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return decode_document(json).map(Some).map_err(|e| match e {
                Error::InvalidInput(msg) => {
                    Error::InvalidInput(format!("line {} of the part: {msg}", self.line_number))
                }
                other => other,
            });
        }
    }
}

impl<R: BufRead> Iterator for PartDecoder<R> {
    type Item = Result<Document>;

    fn next(&mut self) -> Option<Result<Document>> {
        if self.failed {
            return None;
        }
        match self.next_document() {
            Ok(Some(doc)) => Some(Ok(doc)),
            Ok(None) => None,
            Err(e) => {
                // One error ends the part: what follows a corrupt line is not trustworthy.
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// A reader that fails once more than `limit` bytes come out of `inner`.
struct Limited<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            // At the limit: fine if the stream ends here, an error if it goes on.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "the part decompresses to more than the {} bytes its manifest \
                         records",
                        self.limit
                    ),
                )),
            };
        }
        let n = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let got = self.inner.read(&mut buf[..n])?;
        self.left -= got as u64;
        Ok(got)
    }
}

/// Decodes every document of a compressed part.
pub fn decode_part(compressed: &[u8]) -> Result<Vec<Document>> {
    PartDecoder::new(compressed)?.collect()
}
