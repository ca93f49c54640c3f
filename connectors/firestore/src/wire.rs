//! RunQuery responses kept as protobuf, and Firestore's protobuf `Document` written straight
//! to the backup's REST JSON line, without building a prost tree or a core `Document`.
//!
//! The backup reads documents much faster than it can turn trees into JSON, and building
//! and freeing two trees per document (prost's, then the core's) was most of the reading
//! thread's time. Here the reader keeps each document's protobuf bytes (a slice of the
//! received frame) and its name; the engine's workers call [`document_json`] on them.
//!
//! [`document_json`] walks the encoding that Firestore writes (each field once, known
//! fields only). Anything else — a repeated singular field (which protobuf merges), an
//! unknown field, a value kind documents cannot hold, invalid UTF-8, an out-of-range
//! timestamp — goes to the exact slow path (prost + `document_from_proto` +
//! `encode_document_to`), so the output, or the error, is always what that path gives.

use crate::convert::document_from_proto;
use crate::proto;
use bytes::{Buf, Bytes};
use firekeep_core::model::Timestamp;
use firekeep_core::model::json::{encode_document_to, piecewise as j};
use firekeep_core::source::WireDocument;
use firekeep_core::{Error, Result};
use prost::Message as _;
use std::cell::Cell;
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

/// Value nesting the fast path follows (Firestore allows 20); deeper goes the slow way.
const MAX_FAST_DEPTH: usize = 32;

/// The keys (`number << 3 | wire type`) of `Value`'s kinds, as Firestore encodes them
/// (string and bytes take two bytes on the wire: their first byte has the 0x80 bit).
pub(crate) const KEY_BOOLEAN: u8 = 1 << 3;
pub(crate) const KEY_INTEGER: u8 = 2 << 3;
pub(crate) const KEY_DOUBLE: u8 = 3 << 3 | 1;
pub(crate) const KEY_REFERENCE: u8 = 5 << 3 | 2;
pub(crate) const KEY_MAP: u8 = 6 << 3 | 2;
pub(crate) const KEY_GEO_POINT: u8 = 8 << 3 | 2;
pub(crate) const KEY_ARRAY: u8 = 9 << 3 | 2;
pub(crate) const KEY_TIMESTAMP: u8 = 10 << 3 | 2;
pub(crate) const KEY_NULL: u8 = 11 << 3;
pub(crate) const KEY_STRING: u8 = 17 << 3 | 2;
pub(crate) const KEY_BYTES: u8 = 18 << 3 | 2;

/// Entries a worker's scratch list keeps capacity for between documents; a document with
/// more (up to 1 MiB of tiny entries) gets a fresh list so one outlier does not pin memory.
const KEEP_ENTRIES: usize = 4096;

thread_local! {
    /// The map entries of the document being written, reused across documents on each
    /// worker: growing a fresh list per document cost several allocations per document.
    static ENTRIES: Cell<Vec<Entry>> = const { Cell::new(Vec::new()) };
}

/// Appends the JSON line (no newline) of the protobuf `Document` in `wire` to `out`: the
/// same bytes as decoding it with prost, converting and encoding, or the same error.
///
/// One pass over the bytes, writing into `out` as it goes: no tree, no per-field
/// allocation. Map entries are the exception: protobuf does not order them and the JSON
/// lists them by key, so each map's entries are gathered (as offsets, in a list reused
/// across documents), sorted, then written.
pub fn document_json(wire: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let start = out.len();
    let mut entries = ENTRIES.take();
    entries.clear();
    let done = Writer {
        wire,
        out: &mut *out,
        entries: &mut entries,
    }
    .document()
    .is_some();
    if entries.capacity() <= KEEP_ENTRIES {
        ENTRIES.set(entries);
    }
    if done {
        return Ok(());
    }
    out.truncate(start);
    slow_document_json(wire, out)
}

/// The reference path: prost, the core model, the core encoder.
pub fn slow_document_json(wire: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let doc = proto::Document::decode(wire).map_err(|e| {
        Error::InvalidInput(format!(
            "Firestore sent a document that does not decode: {e}"
        ))
    })?;
    encode_document_to(&document_from_proto(doc)?, out);
    Ok(())
}

/// A protobuf reader over one message's bytes. `None` from any method means "not the
/// plain encoding the fast path handles".
struct Fields<'a> {
    buf: &'a [u8],
}

/// One field's payload.
#[derive(Clone, Copy)]
enum Payload<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
}

impl<'a> Fields<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Fields { buf }
    }

    /// One-byte varints (most keys and lengths) inline, the rest out of line. A two-byte
    /// case inline as well cost more than it saved (callgrind: +0.6k instructions per
    /// document over the writer), as the code grew at every call site.
    #[inline(always)]
    fn varint(&mut self) -> Option<u64> {
        match *self.buf {
            [b0, ref rest @ ..] if b0 < 0x80 => {
                self.buf = rest;
                Some(u64::from(b0))
            }
            _ => self.long_varint(),
        }
    }

    #[inline(never)]
    fn long_varint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for i in 0..10 {
            let (&b, rest) = self.buf.split_first()?;
            self.buf = rest;
            if i == 9 && b > 1 {
                return None; // Overflows 64 bits: prost rejects it.
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Some(value);
            }
        }
        None
    }

    /// A length-delimited payload that ends the message (its length prefix, then exactly
    /// the rest); `None` otherwise.
    #[inline(always)]
    fn sole_bytes(mut self) -> Option<&'a [u8]> {
        let len = self.varint()?;
        (len == self.buf.len() as u64).then_some(self.buf)
    }

    /// A varint payload that ends the message; `None` otherwise.
    #[inline(always)]
    fn sole_varint(mut self) -> Option<u64> {
        let v = self.varint()?;
        self.buf.is_empty().then_some(v)
    }

    /// The next field's number and payload; `Some(None)` at the end of the message.
    #[inline(always)]
    fn next(&mut self) -> Option<Option<(u32, Payload<'a>)>> {
        if self.buf.is_empty() {
            return Some(None);
        }
        let key = self.varint()?;
        let number = u32::try_from(key >> 3).ok().filter(|n| *n != 0)?;
        let payload = match key & 7 {
            0 => Payload::Varint(self.varint()?),
            1 => {
                let (bytes, rest) = self.buf.split_first_chunk::<8>()?;
                self.buf = rest;
                Payload::Fixed64(u64::from_le_bytes(*bytes))
            }
            2 => {
                let len = usize::try_from(self.varint()?).ok()?;
                if len > self.buf.len() {
                    return None;
                }
                let (bytes, rest) = self.buf.split_at(len);
                self.buf = rest;
                Payload::Bytes(bytes)
            }
            _ => return None,
        };
        Some(Some((number, payload)))
    }
}

fn timestamp(bytes: &[u8]) -> Option<Timestamp> {
    let mut f = Fields::new(bytes);
    let (mut seconds, mut nanos) = (None, None);
    while let Some((n, p)) = f.next()? {
        match (n, p) {
            (1, Payload::Varint(v)) if seconds.is_none() => seconds = Some(v as i64),
            (2, Payload::Varint(v)) if nanos.is_none() => nanos = Some(v as i32),
            _ => return None,
        }
    }
    let nanos = u32::try_from(nanos.unwrap_or(0)).ok()?;
    Timestamp::new(seconds.unwrap_or(0), nanos).ok()
}

/// A map entry (`map<string, Value>`) or document field, as byte ranges of the document's
/// encoding (offsets, so the list can outlive one document's borrow and be reused).
#[derive(Clone, Copy)]
struct Entry {
    /// The key's first 8 bytes, big-endian, zero-padded: most comparisons end here.
    prefix: u64,
    key: (usize, usize),
    value: (usize, usize),
}

/// The first 8 bytes of `key`, big-endian, zero-padded. (A byte loop instead of the short
/// copy measured 0.1k instructions per document more.)
#[inline(always)]
fn key_prefix(key: &[u8]) -> u64 {
    if let Some(head) = key.first_chunk::<8>() {
        return u64::from_be_bytes(*head);
    }
    let mut head = [0u8; 8];
    head[..key.len()].copy_from_slice(key);
    u64::from_be_bytes(head)
}

/// A map entry's key and value, each possibly missing.
type KeyValue<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);

/// A map entry as Firestore encodes it: the key (field 1), then the value (field 2),
/// both present. Read by their key bytes; anything else is left to [`entry_fields`].
#[inline(always)]
fn entry_key_value(entry: &[u8]) -> Option<KeyValue<'_>> {
    let (&tag, rest) = entry.split_first()?;
    if tag != 1 << 3 | 2 {
        return None;
    }
    let mut f = Fields::new(rest);
    let len = usize::try_from(f.varint()?).ok()?;
    let (key, rest) = f.buf.split_at_checked(len)?;
    let (&tag, rest) = rest.split_first()?;
    if tag != 2 << 3 | 2 {
        return None;
    }
    let value = Fields::new(rest).sole_bytes()?;
    Some((Some(key), Some(value)))
}

/// A map entry's key and value in any order, either missing; `None` for anything prost
/// would merge or skip (a repeated or unknown field).
fn entry_fields(entry: &[u8]) -> Option<KeyValue<'_>> {
    let mut f = Fields::new(entry);
    let (mut key, mut value): (Option<&[u8]>, Option<&[u8]>) = (None, None);
    while let Some((n, p)) = f.next()? {
        match (n, p) {
            (1, Payload::Bytes(b)) if key.is_none() => key = Some(b),
            (2, Payload::Bytes(b)) if value.is_none() => value = Some(b),
            _ => return None,
        }
    }
    Some((key, value))
}

/// The JSON writer over one document's encoding.
struct Writer<'w> {
    wire: &'w [u8],
    out: &'w mut Vec<u8>,
    entries: &'w mut Vec<Entry>,
}

impl<'w> Writer<'w> {
    /// The range of `part` (a slice of `self.wire`) within `self.wire`.
    fn range(&self, part: &[u8]) -> (usize, usize) {
        let start = part.as_ptr() as usize - self.wire.as_ptr() as usize;
        (start, start + part.len())
    }

    fn slice(&self, (start, end): (usize, usize)) -> &'w [u8] {
        &self.wire[start..end]
    }

    /// Adds one map entry's key and value ranges (a missing key is "", a missing value
    /// null, as prost has it).
    fn collect_entry(&mut self, entry_bytes: &'w [u8]) -> Option<()> {
        let (key, value) = match entry_key_value(entry_bytes) {
            Some(kv) => kv,
            None => entry_fields(entry_bytes)?,
        };
        let key = key.unwrap_or(&[]);
        let entry = Entry {
            prefix: key_prefix(key),
            key: if key.is_empty() {
                (0, 0)
            } else {
                self.range(key)
            },
            value: value.map_or((0, 0), |v| self.range(v)),
        };
        self.entries.push(entry);
        Some(())
    }

    /// Sorts `entries[from..]` by key bytes (the core keeps fields in a `BTreeMap`).
    /// Equal keys (only in merged encodings, never from Firestore) go the slow path,
    /// which applies prost's rules (the later entry wins, the earlier one still decoded).
    fn sort_entries(&mut self, from: usize) -> Option<()> {
        let wire = self.wire;
        let key = |e: &Entry| &wire[e.key.0..e.key.1];
        let cmp = |a: &Entry, b: &Entry| a.prefix.cmp(&b.prefix).then_with(|| key(a).cmp(key(b)));
        let region = &mut self.entries[from..];
        if region.windows(2).all(|w| cmp(&w[0], &w[1]).is_lt()) {
            return Some(());
        }
        if region.len() <= 32 {
            // Insertion sort: few entries, usually few moves.
            for i in 1..region.len() {
                let x = region[i];
                let mut j = i;
                while j > 0 && cmp(&x, &region[j - 1]).is_lt() {
                    region[j] = region[j - 1];
                    j -= 1;
                }
                region[j] = x;
            }
        } else {
            region.sort_unstable_by(cmp);
        }
        if region.windows(2).any(|w| cmp(&w[0], &w[1]).is_eq()) {
            return None;
        }
        Some(())
    }

    /// Writes the entries `entries[from..]` (sorted) as `"key":value` pairs.
    fn write_entries(&mut self, from: usize, depth: usize) -> Option<()> {
        let end = self.entries.len();
        for i in from..end {
            let e = self.entries[i];
            if !j::key_utf8(self.out, self.slice(e.key), i == from) {
                return None;
            }
            let value = self.slice(e.value);
            // Strings, the commonest values, are written here rather than through a call
            // to `value` (the same checks: depth, the payload must end the message).
            if let ([0x8a, 0x01, rest @ ..], true) = (value, depth <= MAX_FAST_DEPTH) {
                if let Some(s) = Fields::new(rest).sole_bytes() {
                    if !j::string_value_utf8(self.out, s) {
                        return None;
                    }
                    continue;
                }
            }
            self.value(value, depth)?;
            self.entries.truncate(end);
        }
        Some(())
    }

    fn document(&mut self) -> Option<()> {
        let mut f = Fields::new(self.wire);
        let (mut name, mut create, mut update): (Option<&[u8]>, _, _) = (None, None, None);
        while let Some((n, p)) = f.next()? {
            match (n, p) {
                (1, Payload::Bytes(b)) if name.is_none() => name = Some(b),
                (2, Payload::Bytes(b)) => self.collect_entry(b)?,
                (3, Payload::Bytes(b)) if create.is_none() => create = Some(timestamp(b)?),
                (4, Payload::Bytes(b)) if update.is_none() => update = Some(timestamp(b)?),
                _ => return None,
            }
        }
        if !j::document_start_utf8(self.out, name.unwrap_or(&[])) {
            return None;
        }
        if !self.entries.is_empty() {
            self.sort_entries(0)?;
            j::fields_start(self.out);
            self.write_entries(0, 0)?;
            j::fields_end(self.out);
        }
        if let Some(t) = &create {
            j::create_time(self.out, t);
        }
        if let Some(t) = &update {
            j::update_time(self.out, t);
        }
        j::document_end(self.out);
        Some(())
    }

    fn value(&mut self, wire: &'w [u8], depth: usize) -> Option<()> {
        if depth > MAX_FAST_DEPTH {
            return None;
        }
        // A value is one field whose key (number << 3 | wire type) names its kind, so the
        // key byte(s) dispatch directly and the payload must end the message: a second
        // field (two kinds, or one twice: prost's last-wins and merging rules), another
        // wire type or an unknown kind goes the slow path.
        let (key, rest) = match *wire {
            [] => {
                // No value kind set: prost's `None`, which the core reads as null.
                j::null_value(self.out);
                return Some(());
            }
            [k, ref rest @ ..] if k < 0x80 => (k, rest),
            // Two-byte keys (fields 16..=31): `k | 0x80, 0x01` encodes `k | 0x80`.
            [k, 0x01, ref rest @ ..] => (k, rest),
            _ => return None,
        };
        let f = Fields::new(rest);
        let out = &mut *self.out;
        match key {
            KEY_STRING => {
                if !j::string_value_utf8(out, f.sole_bytes()?) {
                    return None;
                }
            }
            KEY_NULL => {
                f.sole_varint()?;
                j::null_value(out);
            }
            KEY_BOOLEAN => j::boolean_value(out, f.sole_varint()? != 0),
            KEY_INTEGER => j::integer_value(out, f.sole_varint()? as i64),
            KEY_DOUBLE => {
                let bits = <[u8; 8]>::try_from(rest).ok()?;
                j::double_value(out, f64::from_bits(u64::from_le_bytes(bits)));
            }
            KEY_TIMESTAMP => j::timestamp_value(out, &timestamp(f.sole_bytes()?)?),
            KEY_BYTES => j::bytes_value(out, f.sole_bytes()?),
            KEY_REFERENCE => {
                let b = f.sole_bytes()?;
                if !j::reference_value_utf8(out, b) {
                    return None;
                }
            }
            KEY_GEO_POINT => {
                let mut g = Fields::new(f.sole_bytes()?);
                let (mut lat, mut lng) = (None, None);
                while let Some((n, p)) = g.next()? {
                    match (n, p) {
                        (1, Payload::Fixed64(v)) if lat.is_none() => lat = Some(f64::from_bits(v)),
                        (2, Payload::Fixed64(v)) if lng.is_none() => lng = Some(f64::from_bits(v)),
                        _ => return None,
                    }
                }
                j::geo_point_value(out, lat.unwrap_or(0.0), lng.unwrap_or(0.0));
            }
            KEY_ARRAY => {
                let mut items = Fields::new(f.sole_bytes()?);
                let mut first = true;
                while let Some((n, p)) = items.next()? {
                    let (1, Payload::Bytes(item)) = (n, p) else {
                        return None;
                    };
                    if first {
                        j::array_start(self.out);
                        first = false;
                    } else {
                        j::element_separator(self.out);
                    }
                    self.value(item, depth + 1)?;
                }
                if first {
                    j::empty_array_value(self.out);
                } else {
                    j::array_end(self.out);
                }
            }
            KEY_MAP => {
                let from = self.entries.len();
                let mut m = Fields::new(f.sole_bytes()?);
                while let Some((n, p)) = m.next()? {
                    let (1, Payload::Bytes(entry)) = (n, p) else {
                        return None;
                    };
                    self.collect_entry(entry)?;
                }
                if self.entries.len() == from {
                    j::empty_map_value(self.out);
                } else {
                    self.sort_entries(from)?;
                    j::map_start(self.out);
                    self.write_entries(from, depth + 1)?;
                    j::map_end(self.out);
                }
                self.entries.truncate(from);
            }
            _ => return None,
        }
        Some(())
    }
}

/// A RunQuery response with its document still encoded.
#[derive(Debug)]
pub(crate) struct WireResponse {
    /// The document, if the response carries one (name taken, bytes kept).
    pub(crate) document: Option<WireDocument>,
}

/// The gRPC codec of RunQuery that keeps documents encoded (requests go through prost).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RunQueryCodec;

impl Codec for RunQueryCodec {
    type Encode = proto::RunQueryRequest;
    type Decode = WireResponse;
    type Encoder = RequestEncoder;
    type Decoder = ResponseDecoder;

    fn encoder(&mut self) -> RequestEncoder {
        RequestEncoder
    }

    fn decoder(&mut self) -> ResponseDecoder {
        ResponseDecoder
    }
}

/// Encodes RunQuery requests with prost.
#[derive(Debug)]
pub(crate) struct RequestEncoder;

impl Encoder for RequestEncoder {
    type Item = proto::RunQueryRequest;
    type Error = Status;

    fn encode(&mut self, item: Self::Item, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        item.encode(dst)
            .map_err(|e| Status::internal(format!("encoding a RunQuery request: {e}")))
    }
}

/// Decodes RunQuery responses down to the document's bytes and name.
#[derive(Debug)]
pub(crate) struct ResponseDecoder;

impl Decoder for ResponseDecoder {
    type Item = WireResponse;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<WireResponse>, Status> {
        let message = src.copy_to_bytes(src.remaining());
        decode_response(message).map(Some)
    }
}

fn malformed(what: &str) -> Status {
    Status::internal(format!(
        "failed to decode a RunQuery response from Firestore: {what}"
    ))
}

/// Splits a RunQueryResponse into the document's bytes (fields other than the document
/// are not used by the reader) and reads the document's name.
fn decode_response(message: Bytes) -> Result<WireResponse, Status> {
    let mut document: Option<Bytes> = None;
    let mut f = Fields::new(&message);
    loop {
        match f.next() {
            None => return Err(malformed("invalid protobuf encoding")),
            Some(None) => break,
            Some(Some((1, Payload::Bytes(b)))) => {
                let slice = message.slice_ref(b);
                document = Some(match document.take() {
                    None => slice,
                    // A message field sent twice merges: the same as concatenating.
                    Some(prev) => {
                        let mut joined = Vec::with_capacity(prev.len() + slice.len());
                        joined.extend_from_slice(&prev);
                        joined.extend_from_slice(&slice);
                        Bytes::from(joined)
                    }
                });
            }
            Some(Some((1, _))) => return Err(malformed("the document field has the wrong type")),
            Some(Some(_)) => {}
        }
    }
    let Some(wire) = document else {
        return Ok(WireResponse { document: None });
    };
    // The name: the last `name` field (protobuf's rule for a repeated singular field).
    let mut name: &[u8] = &[];
    let mut f = Fields::new(&wire);
    loop {
        match f.next() {
            None => return Err(malformed("the document's encoding is invalid")),
            Some(None) => break,
            Some(Some((1, Payload::Bytes(b)))) => name = b,
            Some(Some((1, _))) => return Err(malformed("the document name has the wrong type")),
            Some(Some(_)) => {}
        }
    }
    let name = std::str::from_utf8(name)
        .map_err(|_| malformed("the document name is not UTF-8"))?
        .to_owned();
    Ok(WireResponse {
        document: Some(WireDocument {
            name,
            wire,
            encode: document_json,
        }),
    })
}

/// Decodes a document kept encoded, through prost and the core model (for the
/// `stream_documents` API, which hands out decoded documents).
pub(crate) fn decode_document(wire: &WireDocument) -> Result<firekeep_core::model::Document> {
    let doc = proto::Document::decode(wire.wire.clone()).map_err(|e| {
        Error::InvalidInput(format!(
            "Firestore sent a document that does not decode: {e}"
        ))
    })?;
    document_from_proto(doc)
}
