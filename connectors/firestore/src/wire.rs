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
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

/// Value nesting the fast path follows (Firestore allows 20); deeper goes the slow way.
const MAX_FAST_DEPTH: usize = 32;

/// Appends the JSON line (no newline) of the protobuf `Document` in `wire` to `out`: the
/// same bytes as decoding it with prost, converting and encoding, or the same error.
pub fn document_json(wire: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let start = out.len();
    let mut entries = Vec::new();
    if fast_document(wire, out, &mut entries).is_some() {
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

    fn varint(&mut self) -> Option<u64> {
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

    /// The next field's number and payload; `Some(None)` at the end of the message.
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

fn utf8(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes).ok()
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

/// Map entries (`map<string, Value>`): collected, sorted by key bytes (the core keeps
/// fields in a `BTreeMap`), later duplicates winning (as prost's map insert does).
fn collect_entries<'a>(
    entry_bytes: &'a [u8],
    entries: &mut Vec<(&'a str, &'a [u8])>,
) -> Option<()> {
    let mut f = Fields::new(entry_bytes);
    let (mut key, mut value) = (None, None);
    while let Some((n, p)) = f.next()? {
        match (n, p) {
            (1, Payload::Bytes(b)) if key.is_none() => key = Some(utf8(b)?),
            (2, Payload::Bytes(b)) if value.is_none() => value = Some(b),
            _ => return None,
        }
    }
    entries.push((key.unwrap_or(""), value.unwrap_or(&[])));
    Some(())
}

/// Sorts `entries[from..]` by key and drops all but the last of equal keys.
fn sort_entries(entries: &mut Vec<(&str, &[u8])>, from: usize) {
    let region = &mut entries[from..];
    if region.windows(2).all(|w| w[0].0 < w[1].0) {
        return;
    }
    // Stable: equal keys stay in arrival order, so the last one is the later one.
    region.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut write = from;
    for read in from..entries.len() {
        if read + 1 < entries.len() && entries[read + 1].0 == entries[read].0 {
            continue;
        }
        entries[write] = entries[read];
        write += 1;
    }
    entries.truncate(write);
}

/// Writes the entries `entries[from..]` (sorted) as `"key":value` pairs.
fn write_entries<'a>(
    entries: &mut Vec<(&'a str, &'a [u8])>,
    from: usize,
    out: &mut Vec<u8>,
    depth: usize,
) -> Option<()> {
    let end = entries.len();
    for i in from..end {
        let (k, v) = entries[i];
        j::key(out, k, i == from);
        value(v, out, entries, depth)?;
        entries.truncate(end);
    }
    Some(())
}

fn fast_document<'a>(
    wire: &'a [u8],
    out: &mut Vec<u8>,
    entries: &mut Vec<(&'a str, &'a [u8])>,
) -> Option<()> {
    let mut f = Fields::new(wire);
    let (mut name, mut create, mut update) = (None, None, None);
    while let Some((n, p)) = f.next()? {
        match (n, p) {
            (1, Payload::Bytes(b)) if name.is_none() => name = Some(utf8(b)?),
            (2, Payload::Bytes(b)) => collect_entries(b, entries)?,
            (3, Payload::Bytes(b)) if create.is_none() => create = Some(timestamp(b)?),
            (4, Payload::Bytes(b)) if update.is_none() => update = Some(timestamp(b)?),
            _ => return None,
        }
    }
    j::document_start(out, name.unwrap_or(""));
    if !entries.is_empty() {
        sort_entries(entries, 0);
        j::fields_start(out);
        write_entries(entries, 0, out, 0)?;
        j::fields_end(out);
    }
    if let Some(t) = &create {
        j::create_time(out, t);
    }
    if let Some(t) = &update {
        j::update_time(out, t);
    }
    j::document_end(out);
    Some(())
}

fn value<'a>(
    wire: &'a [u8],
    out: &mut Vec<u8>,
    entries: &mut Vec<(&'a str, &'a [u8])>,
    depth: usize,
) -> Option<()> {
    if depth > MAX_FAST_DEPTH {
        return None;
    }
    let mut f = Fields::new(wire);
    let Some(field) = f.next()? else {
        // No value kind set: prost's `None`, which the core reads as null.
        j::null_value(out);
        return Some(());
    };
    if f.next()?.is_some() {
        return None; // Two kinds, or one twice: prost's last-wins and merging rules.
    }
    match field {
        (11, Payload::Varint(_)) => j::null_value(out),
        (1, Payload::Varint(v)) => j::boolean_value(out, v != 0),
        (2, Payload::Varint(v)) => j::integer_value(out, v as i64),
        (3, Payload::Fixed64(bits)) => j::double_value(out, f64::from_bits(bits)),
        (10, Payload::Bytes(b)) => j::timestamp_value(out, &timestamp(b)?),
        (17, Payload::Bytes(b)) => j::string_value(out, utf8(b)?),
        (18, Payload::Bytes(b)) => j::bytes_value(out, b),
        (5, Payload::Bytes(b)) => j::reference_value(out, utf8(b)?),
        (8, Payload::Bytes(b)) => {
            let mut g = Fields::new(b);
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
        (9, Payload::Bytes(b)) => {
            let mut items = Fields::new(b);
            let mut first = true;
            while let Some((n, p)) = items.next()? {
                let (1, Payload::Bytes(item)) = (n, p) else {
                    return None;
                };
                if first {
                    j::array_start(out);
                    first = false;
                } else {
                    j::element_separator(out);
                }
                value(item, out, entries, depth + 1)?;
            }
            if first {
                j::empty_array_value(out);
            } else {
                j::array_end(out);
            }
        }
        (6, Payload::Bytes(b)) => {
            let from = entries.len();
            let mut m = Fields::new(b);
            while let Some((n, p)) = m.next()? {
                let (1, Payload::Bytes(entry)) = (n, p) else {
                    return None;
                };
                collect_entries(entry, entries)?;
            }
            if entries.len() == from {
                j::empty_map_value(out);
            } else {
                sort_entries(entries, from);
                j::map_start(out);
                write_entries(entries, from, out, depth + 1)?;
                j::map_end(out);
            }
            entries.truncate(from);
        }
        _ => return None,
    }
    Some(())
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
