//! The Firestore REST JSON mapping of documents (newline-delimited), lossless.
//!
//! One document is the v1 REST `Document` JSON object:
//!
//! ```json
//! {"name":"projects/p/databases/(default)/documents/users/alice",
//!  "fields":{"age":{"integerValue":"42"},"score":{"doubleValue":-0.0}},
//!  "createTime":"2024-05-01T12:00:00.123456789Z","updateTime":"2024-05-01T12:00:00.5Z"}
//! ```
//!
//! Exactness rules (every value survives `decode(encode(doc)) == doc` bit for bit):
//!
//! * `integerValue` is a decimal string (the full i64 range; JSON numbers lose precision).
//! * `doubleValue` is the shortest JSON number that parses back to the same bits (`-0.0`
//!   keeps its sign, subnormals survive), or one of the strings `"NaN"`, `"Infinity"`,
//!   `"-Infinity"`. The JSON mapping has one spelling for NaN, so every NaN payload
//!   decodes as the canonical quiet NaN (`f64::NAN`); Firestore itself stores NaN that way.
//! * `timestampValue` is RFC 3339 UTC with 0, 3, 6 or 9 fractional digits.
//! * `bytesValue` is standard base64 with padding (URL-safe and unpadded input is accepted).
//! * Strings and map keys are raw UTF-8; only `"`, `\` and control characters are escaped,
//!   so NUL and astral characters survive.
//! * Empty arrays and maps are `{"arrayValue":{}}` and `{"mapValue":{}}`.
//!
//! A part of a backup is newline-delimited JSON (one document per line), zstd-compressed:
//! the engine's [`PartEncoder`](crate::engine::PartEncoder) and
//! [`PartDecoder`](crate::engine::PartDecoder) frame these lines.

use super::timestamp::civil_from_days;
use super::{Document, GeoPoint, MAX_VALUE_NESTING, Timestamp, Value};
use crate::source::JsonDocument;
use crate::{Error, Result};
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::de::{self, DeserializeSeed, Deserializer as _, MapAccess, SeqAccess, Visitor};
use serde_json::ser::{CompactFormatter, Formatter};
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;

/// Standard base64, decoding with or without padding.
const B64_STANDARD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
/// URL-safe base64 (proto3 JSON parsers accept it for bytes), with or without padding.
const B64_URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

// ---------------------------------------------------------------------------------------
// Encoding: JSON is written straight into a byte buffer, no intermediate tree.
// ---------------------------------------------------------------------------------------

/// Encodes one document as a single line of Firestore REST JSON (no trailing newline).
pub fn encode_document(doc: &Document) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    encode_document_to(doc, &mut out);
    out
}

/// Appends one document's JSON (no trailing newline) to `out`, so callers can reuse buffers.
pub fn encode_document_to(doc: &Document, out: &mut Vec<u8>) {
    piecewise::document_start(out, &doc.name);
    if !doc.fields.is_empty() {
        piecewise::fields_start(out);
        for (i, (k, v)) in doc.fields.iter().enumerate() {
            piecewise::key(out, k, i == 0);
            write_value(out, v);
        }
        piecewise::fields_end(out);
    }
    if let Some(t) = &doc.create_time {
        piecewise::create_time(out, t);
    }
    if let Some(t) = &doc.update_time {
        piecewise::update_time(out, t);
    }
    piecewise::document_end(out);
}

/// Writes one document's JSON (no trailing newline) to `w`.
pub fn write_document(doc: &Document, w: &mut impl Write) -> Result<()> {
    let bytes = encode_document(doc);
    w.write_all(&bytes)
        .map_err(|e| Error::io("writing a document as JSON", e))
}

/// Appends one value's Firestore REST JSON (`{"stringValue": …}`) to `out`.
pub fn encode_value_to(v: &Value, out: &mut Vec<u8>) {
    write_value(out, v);
}

fn write_value(out: &mut Vec<u8>, v: &Value) {
    use piecewise as p;
    match v {
        Value::Null => p::null_value(out),
        Value::Boolean(b) => p::boolean_value(out, *b),
        Value::Integer(i) => p::integer_value(out, *i),
        Value::Double(d) => p::double_value(out, *d),
        Value::Timestamp(t) => p::timestamp_value(out, t),
        Value::String(s) => p::string_value(out, s),
        Value::Bytes(b) => p::bytes_value(out, b),
        Value::Reference(r) => p::reference_value(out, r),
        Value::GeoPoint(g) => p::geo_point_value(out, g.latitude, g.longitude),
        Value::Array(items) => {
            if items.is_empty() {
                p::empty_array_value(out);
                return;
            }
            p::array_start(out);
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    p::element_separator(out);
                }
                write_value(out, item);
            }
            p::array_end(out);
        }
        Value::Map(fields) => {
            if fields.is_empty() {
                p::empty_map_value(out);
                return;
            }
            p::map_start(out);
            for (i, (k, v)) in fields.iter().enumerate() {
                p::key(out, k, i == 0);
                write_value(out, v);
            }
            p::map_end(out);
        }
    }
}

/// The JSON of [`encode_document_to`] written piece by piece, for sources that hold a
/// document in another encoding (the gRPC connector's protobuf) and write its JSON line
/// without building a [`Document`] first.
///
/// Called in document order — [`document_start`](piecewise::document_start), when there
/// are fields [`fields_start`](piecewise::fields_start), each field as
/// [`key`](piecewise::key) + one value (keys in byte order, no duplicates),
/// [`fields_end`](piecewise::fields_end), then the optional times and
/// [`document_end`](piecewise::document_end) — they write exactly the bytes
/// [`encode_document_to`] writes for that document: both use these functions.
pub mod piecewise {
    use super::{Timestamp, write_f64, write_str, write_text, write_timestamp};
    use base64::Engine as _;
    use serde_json::ser::{CompactFormatter, Formatter};

    /// `{"name":"<name>"`.
    pub fn document_start(out: &mut Vec<u8>, name: &str) {
        out.extend_from_slice(b"{\"name\":");
        write_str(out, name);
    }

    /// [`document_start`] for a name not yet known to be UTF-8: `false` if it is not
    /// (then what was appended is to be discarded). The same goes for the other `_utf8`
    /// functions: they let the protobuf fast path check and escape each string in one scan.
    pub fn document_start_utf8(out: &mut Vec<u8>, name: &[u8]) -> bool {
        out.extend_from_slice(b"{\"name\":");
        write_text(out, name, true)
    }

    /// `,"fields":{` (only when the document has fields).
    pub fn fields_start(out: &mut Vec<u8>) {
        out.extend_from_slice(b",\"fields\":{");
    }

    /// `}` after the last field.
    pub fn fields_end(out: &mut Vec<u8>) {
        out.push(b'}');
    }

    /// `,"createTime":"<RFC 3339>"`.
    pub fn create_time(out: &mut Vec<u8>, t: &Timestamp) {
        out.extend_from_slice(b",\"createTime\":");
        write_timestamp(out, t);
    }

    /// `,"updateTime":"<RFC 3339>"`.
    pub fn update_time(out: &mut Vec<u8>, t: &Timestamp) {
        out.extend_from_slice(b",\"updateTime\":");
        write_timestamp(out, t);
    }

    /// `}`: the end of the document (no newline).
    pub fn document_end(out: &mut Vec<u8>) {
        out.push(b'}');
    }

    /// A field's or map entry's key and colon, preceded by a comma unless `first`.
    pub fn key(out: &mut Vec<u8>, key: &str, first: bool) {
        if !first {
            out.push(b',');
        }
        write_str(out, key);
        out.push(b':');
    }

    /// [`key`] for a key not yet known to be UTF-8: `false` if it is not.
    pub fn key_utf8(out: &mut Vec<u8>, key: &[u8], first: bool) -> bool {
        if !first {
            out.push(b',');
        }
        let ok = write_text(out, key, true);
        out.push(b':');
        ok
    }

    /// `{"nullValue":null}`.
    pub fn null_value(out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"nullValue\":null}");
    }

    /// `{"booleanValue":true|false}`.
    pub fn boolean_value(out: &mut Vec<u8>, b: bool) {
        out.extend_from_slice(if b {
            b"{\"booleanValue\":true}"
        } else {
            b"{\"booleanValue\":false}"
        });
    }

    /// `{"integerValue":"<decimal>"}`.
    pub fn integer_value(out: &mut Vec<u8>, i: i64) {
        out.extend_from_slice(b"{\"integerValue\":\"");
        // Writing to a Vec cannot fail.
        let _ = CompactFormatter.write_i64(out, i);
        out.extend_from_slice(b"\"}");
    }

    /// `{"doubleValue":<shortest number>|"NaN"|"Infinity"|"-Infinity"}`.
    pub fn double_value(out: &mut Vec<u8>, d: f64) {
        out.extend_from_slice(b"{\"doubleValue\":");
        write_f64(out, d);
        out.push(b'}');
    }

    /// `{"timestampValue":"<RFC 3339>"}`.
    pub fn timestamp_value(out: &mut Vec<u8>, t: &Timestamp) {
        out.extend_from_slice(b"{\"timestampValue\":");
        write_timestamp(out, t);
        out.push(b'}');
    }

    /// `{"stringValue":"<escaped>"}`.
    pub fn string_value(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(b"{\"stringValue\":");
        write_str(out, s);
        out.push(b'}');
    }

    /// [`string_value`] for text not yet known to be UTF-8: `false` if it is not.
    pub fn string_value_utf8(out: &mut Vec<u8>, s: &[u8]) -> bool {
        out.extend_from_slice(b"{\"stringValue\":");
        let ok = write_text(out, s, true);
        out.push(b'}');
        ok
    }

    /// `{"bytesValue":"<standard base64>"}`.
    pub fn bytes_value(out: &mut Vec<u8>, b: &[u8]) {
        out.extend_from_slice(b"{\"bytesValue\":\"");
        let start = out.len();
        let len = base64::encoded_len(b.len(), true).expect("base64 length overflows usize");
        out.resize(start + len, 0);
        let written = base64::engine::general_purpose::STANDARD
            .encode_slice(b, &mut out[start..])
            .expect("buffer sized by encoded_len");
        out.truncate(start + written);
        out.extend_from_slice(b"\"}");
    }

    /// `{"referenceValue":"<name>"}`.
    pub fn reference_value(out: &mut Vec<u8>, r: &str) {
        out.extend_from_slice(b"{\"referenceValue\":");
        write_str(out, r);
        out.push(b'}');
    }

    /// [`reference_value`] for a name not yet known to be UTF-8: `false` if it is not.
    pub fn reference_value_utf8(out: &mut Vec<u8>, r: &[u8]) -> bool {
        out.extend_from_slice(b"{\"referenceValue\":");
        let ok = write_text(out, r, true);
        out.push(b'}');
        ok
    }

    /// `{"geoPointValue":{"latitude":..,"longitude":..}}`.
    pub fn geo_point_value(out: &mut Vec<u8>, latitude: f64, longitude: f64) {
        out.extend_from_slice(b"{\"geoPointValue\":{\"latitude\":");
        write_f64(out, latitude);
        out.extend_from_slice(b",\"longitude\":");
        write_f64(out, longitude);
        out.extend_from_slice(b"}}");
    }

    /// `{"arrayValue":{}}`: an array with no elements.
    pub fn empty_array_value(out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"arrayValue\":{}}");
    }

    /// `{"arrayValue":{"values":[`: a non-empty array begins.
    pub fn array_start(out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"arrayValue\":{\"values\":[");
    }

    /// `,` between two array elements.
    pub fn element_separator(out: &mut Vec<u8>) {
        out.push(b',');
    }

    /// `]}}`: a non-empty array ends.
    pub fn array_end(out: &mut Vec<u8>) {
        out.extend_from_slice(b"]}}");
    }

    /// `{"mapValue":{}}`: a map with no entries.
    pub fn empty_map_value(out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"mapValue\":{}}");
    }

    /// `{"mapValue":{"fields":{`: a non-empty map begins (entries as [`key`] + value).
    pub fn map_start(out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"mapValue\":{\"fields\":{");
    }

    /// `}}}`: a non-empty map ends.
    pub fn map_end(out: &mut Vec<u8>) {
        out.extend_from_slice(b"}}}");
    }
}

fn write_f64(out: &mut Vec<u8>, d: f64) {
    if d.is_nan() {
        out.extend_from_slice(b"\"NaN\"");
    } else if d == f64::INFINITY {
        out.extend_from_slice(b"\"Infinity\"");
    } else if d == f64::NEG_INFINITY {
        out.extend_from_slice(b"\"-Infinity\"");
    } else {
        // Shortest representation that parses back to the same bits; `-0.0` keeps its sign.
        let _ = CompactFormatter.write_f64(out, d);
    }
}

/// Writes `"` + the same text as [`Timestamp::to_rfc3339`] + `"`, without allocating
/// (formatting machinery made timestamps most of the encoding time).
fn write_timestamp(out: &mut Vec<u8>, t: &Timestamp) {
    let days = t.seconds().div_euclid(86_400);
    let secs = t.seconds().rem_euclid(86_400) as u32;
    let (year, month, day) = civil_from_days(days);
    let mut buf = [0u8; 32];
    buf[0] = b'"';
    put_digits(&mut buf[1..5], year as u32);
    buf[5] = b'-';
    put_digits(&mut buf[6..8], month);
    buf[8] = b'-';
    put_digits(&mut buf[9..11], day);
    buf[11] = b'T';
    put_digits(&mut buf[12..14], secs / 3600);
    buf[14] = b':';
    put_digits(&mut buf[15..17], secs % 3600 / 60);
    buf[17] = b':';
    put_digits(&mut buf[18..20], secs % 60);
    let mut len = 20;
    let nanos = t.nanos();
    if nanos != 0 {
        buf[len] = b'.';
        len += 1;
        // 3, 6 or 9 digits: as few as represent the value exactly.
        let (value, digits) = if nanos % 1_000_000 == 0 {
            (nanos / 1_000_000, 3)
        } else if nanos % 1_000 == 0 {
            (nanos / 1_000, 6)
        } else {
            (nanos, 9)
        };
        put_digits(&mut buf[len..len + digits], value);
        len += digits;
    }
    buf[len] = b'Z';
    buf[len + 1] = b'"';
    out.extend_from_slice(&buf[..len + 2]);
}

/// "00", "01", ..., "99": two digits per division in [`put_digits`].
static DIGIT_PAIRS: [u8; 200] = {
    let mut t = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        t[2 * i] = b'0' + (i / 10) as u8;
        t[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    t
};

/// Writes `value` as exactly `dst.len()` decimal digits, zero-padded.
fn put_digits(dst: &mut [u8], mut value: u32) {
    let mut i = dst.len();
    while i >= 2 {
        let pair = (value % 100) as usize * 2;
        value /= 100;
        dst[i - 2..i].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
        i -= 2;
    }
    if i == 1 {
        dst[0] = b'0' + (value % 10) as u8;
    }
}

/// What each byte needs when it appears in a JSON string: 0 = as is, `u` = `\u00XX`,
/// anything else = that letter after a backslash.
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

fn write_str(out: &mut Vec<u8>, s: &str) {
    write_text(out, s.as_bytes(), false);
}

/// Eight copies of a byte, for the word-at-a-time scans below.
const fn splat(b: u8) -> u64 {
    u64::from_le_bytes([b; 8])
}

/// Whether any byte of `w` needs a look: a control character, `"`, a backslash, or (when
/// `non_ascii`) a byte of a multi-byte UTF-8 sequence. Exact (no false positives at word
/// level): `(x - 0x01..) & !x & 0x80..` is non-zero iff a byte of `x` is zero, and with
/// `0x20..` iff a byte is below 0x20.
#[inline(always)]
fn word_needs_look(w: u64, non_ascii: bool) -> bool {
    const HIGH: u64 = splat(0x80);
    let control = w.wrapping_sub(splat(0x20)) & !w;
    let q = w ^ splat(b'"');
    let quote = q.wrapping_sub(splat(1)) & !q;
    let b = w ^ splat(b'\\');
    let backslash = b.wrapping_sub(splat(1)) & !b;
    let high = if non_ascii { w } else { 0 };
    (control | quote | backslash | high) & HIGH != 0
}

/// Length of the prefix of `bytes` that is ASCII and needs no escape, eight bytes at a time.
#[inline(always)]
fn plain_prefix(bytes: &[u8]) -> usize {
    let mut i = 0;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let w = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        if word_needs_look(w, true) {
            return i + plain_bytes(&bytes[i..]);
        }
        i += 8;
    }
    // Fewer than 8 bytes left: for a string of 8 or more, one overlapping word at the end
    // instead of a byte loop.
    if i < bytes.len() {
        if let Some(last) = bytes.last_chunk::<8>() {
            if !word_needs_look(u64::from_le_bytes(*last), true) {
                return bytes.len();
            }
        }
    }
    i + plain_bytes(&bytes[i..])
}

/// Length of the prefix of `bytes` that is ASCII and needs no escape, a byte at a time.
#[inline(always)]
fn plain_bytes(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .position(|&b| b >= 0x80 || ESCAPE[b as usize] != 0)
        .unwrap_or(bytes.len())
}

/// Writes `text` as a quoted JSON string (escaping as [`ESCAPE`] says). With `validate`,
/// first checks that it is UTF-8 and returns `false` (writing nothing) if it is not: the
/// protobuf fast path validates and escapes in one scan of each string.
///
/// Most strings need no escape and are ASCII: a word-at-a-time scan finds that, and the
/// string is copied whole. Anything else goes byte by byte from the first byte that
/// needs a look, skipping clean words.
#[inline]
fn write_text(out: &mut Vec<u8>, text: &[u8], validate: bool) -> bool {
    let plain = plain_prefix(text);
    if plain == text.len() {
        out.reserve(text.len() + 2);
        out.push(b'"');
        out.extend_from_slice(text);
        out.push(b'"');
        return true;
    }
    // The prefix is ASCII, so the rest starts on a character boundary.
    if validate && std::str::from_utf8(&text[plain..]).is_err() {
        return false;
    }
    write_escaped(out, text, plain);
    true
}

/// The slow half of [`write_text`]: `text[..from]` needs no escape.
#[cold]
fn write_escaped(out: &mut Vec<u8>, text: &[u8], from: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(text.len() + text.len() / 8 + 2);
    out.push(b'"');
    let mut start = 0;
    let mut i = from;
    while i < text.len() {
        // Skip words with nothing to escape (multi-byte UTF-8 is copied as is).
        if let Some(chunk) = text.get(i..i + 8) {
            let w = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
            if !word_needs_look(w, false) {
                i += 8;
                continue;
            }
        }
        let b = text[i];
        let esc = ESCAPE[b as usize];
        if esc != 0 {
            out.extend_from_slice(&text[start..i]);
            if esc == b'u' {
                out.extend_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[(b >> 4) as usize],
                    HEX[(b & 0xf) as usize],
                ]);
            } else {
                out.extend_from_slice(&[b'\\', esc]);
            }
            start = i + 1;
        }
        i += 1;
    }
    out.extend_from_slice(&text[start..]);
    out.push(b'"');
}

// ---------------------------------------------------------------------------------------
// Decoding: serde_json's streaming deserializer driving typed visitors (no Value tree).
// ---------------------------------------------------------------------------------------

/// Decodes one document from Firestore REST JSON. Rejects anything that is not exactly a
/// document (unknown or duplicate keys, a value with zero or two types, nesting deeper than
/// [`MAX_VALUE_NESTING`]); never panics, whatever the input.
pub fn decode_document(json: &[u8]) -> Result<Document> {
    // One UTF-8 check of the whole line instead of one per string (per-string checks were
    // about a sixth of decoding's instructions). Invalid UTF-8 takes the byte
    // path, so its error is the one it always was; the str path reports the same errors.
    if let Ok(text) = std::str::from_utf8(json)
        && let Some(doc) = build_document(text)
    {
        return Ok(doc);
    }
    decode_document_serde(json)
}

/// [`decode_document`] by serde's visitors alone: everything the fast builder leaves, and
/// the reference the tests hold it to.
fn decode_document_serde(json: &[u8]) -> Result<Document> {
    let doc = match std::str::from_utf8(json) {
        Ok(text) => {
            let mut de = serde_json::Deserializer::from_str(text);
            de.deserialize_map(DocumentVisitor)
                .and_then(|doc| de.end().map(|()| doc))
        }
        Err(_) => {
            let mut de = serde_json::Deserializer::from_slice(json);
            de.deserialize_map(DocumentVisitor)
                .and_then(|doc| de.end().map(|()| doc))
        }
    };
    let doc = doc.map_err(|e| {
            Error::InvalidInput(format!(
                "not a Firestore document in REST JSON form ({e}); \
                 expected {{\"name\": ..., \"fields\": {{...}}, \"createTime\": ..., \"updateTime\": ...}}"
            ))
        })?;
    Ok(doc)
}

/// Decodes one value from Firestore REST JSON (`{"integerValue":"42"}`), with the same
/// rules as [`decode_document`] (front ends taking a value to match, e.g. erasure by field).
pub fn decode_value(json: &[u8]) -> Result<Value> {
    let mut de = serde_json::Deserializer::from_slice(json);
    ValueSeed { depth: 0 }
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| {
            Error::InvalidInput(format!(
                "not a Firestore value in REST JSON form ({e}); expected e.g. \
                 {{\"stringValue\": \"x\"}} or {{\"integerValue\": \"42\"}}"
            ))
        })
}

/// Every object key the decoder knows, so keys are matched without allocating.
enum Key {
    Name,
    Fields,
    CreateTime,
    UpdateTime,
    NullValue,
    BooleanValue,
    IntegerValue,
    DoubleValue,
    TimestampValue,
    StringValue,
    BytesValue,
    ReferenceValue,
    GeoPointValue,
    ArrayValue,
    MapValue,
    Values,
    Latitude,
    Longitude,
    Unknown(String),
}

impl Key {
    fn as_str(&self) -> &str {
        match self {
            Key::Name => "name",
            Key::Fields => "fields",
            Key::CreateTime => "createTime",
            Key::UpdateTime => "updateTime",
            Key::NullValue => "nullValue",
            Key::BooleanValue => "booleanValue",
            Key::IntegerValue => "integerValue",
            Key::DoubleValue => "doubleValue",
            Key::TimestampValue => "timestampValue",
            Key::StringValue => "stringValue",
            Key::BytesValue => "bytesValue",
            Key::ReferenceValue => "referenceValue",
            Key::GeoPointValue => "geoPointValue",
            Key::ArrayValue => "arrayValue",
            Key::MapValue => "mapValue",
            Key::Values => "values",
            Key::Latitude => "latitude",
            Key::Longitude => "longitude",
            Key::Unknown(s) => s,
        }
    }
}

struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_str(KeySeed)
    }
}

impl Visitor<'_> for KeySeed {
    type Value = Key;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Key, E> {
        Ok(match s {
            "name" => Key::Name,
            "fields" => Key::Fields,
            "createTime" => Key::CreateTime,
            "updateTime" => Key::UpdateTime,
            "nullValue" => Key::NullValue,
            "booleanValue" => Key::BooleanValue,
            "integerValue" => Key::IntegerValue,
            "doubleValue" => Key::DoubleValue,
            "timestampValue" => Key::TimestampValue,
            "stringValue" => Key::StringValue,
            "bytesValue" => Key::BytesValue,
            "referenceValue" => Key::ReferenceValue,
            "geoPointValue" => Key::GeoPointValue,
            "arrayValue" => Key::ArrayValue,
            "mapValue" => Key::MapValue,
            "values" => Key::Values,
            "latitude" => Key::Latitude,
            "longitude" => Key::Longitude,
            other => Key::Unknown(other.to_owned()),
        })
    }
}

fn unexpected_key<E: de::Error>(key: &Key, within: &str) -> E {
    E::custom(format_args!(
        "unexpected key {:?} in {within}",
        key.as_str()
    ))
}

fn duplicate_key<E: de::Error>(key: &Key, within: &str) -> E {
    E::custom(format_args!("duplicate key {:?} in {within}", key.as_str()))
}

struct DocumentVisitor;

impl<'de> Visitor<'de> for DocumentVisitor {
    type Value = Document;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Firestore document object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Document, A::Error> {
        let mut name: Option<String> = None;
        let mut fields: Option<BTreeMap<String, Value>> = None;
        let mut create_time: Option<Timestamp> = None;
        let mut update_time: Option<Timestamp> = None;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match key {
                Key::Name if name.is_none() => name = Some(map.next_value()?),
                Key::Fields if fields.is_none() => {
                    fields = Some(map.next_value_seed(FieldsSeed { depth: 0 })?)
                }
                Key::CreateTime if create_time.is_none() => {
                    create_time = Some(map.next_value_seed(TimestampSeed)?)
                }
                Key::UpdateTime if update_time.is_none() => {
                    update_time = Some(map.next_value_seed(TimestampSeed)?)
                }
                Key::Name | Key::Fields | Key::CreateTime | Key::UpdateTime => {
                    return Err(duplicate_key(&key, "a document"));
                }
                other => return Err(unexpected_key(&other, "a document")),
            }
        }
        let name = name.ok_or_else(|| de::Error::custom("document has no \"name\""))?;
        Ok(Document {
            name,
            fields: fields.unwrap_or_default(),
            create_time,
            update_time,
        })
    }
}

/// A `fields` object: field name → value; `depth` is the number of enclosing arrays/maps.
struct FieldsSeed {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for FieldsSeed {
    type Value = BTreeMap<String, Value>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FieldsSeed {
    type Value = BTreeMap<String, Value>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of fields")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = BTreeMap::new();
        while let Some(name) = map.next_key::<String>()? {
            let value = map.next_value_seed(ValueSeed { depth: self.depth })?;
            if let Some(_previous) = fields.insert(name, value) {
                return Err(de::Error::custom("duplicate field name in a fields object"));
            }
        }
        Ok(fields)
    }
}

/// One value object; `depth` is the number of arrays/maps that enclose it.
#[derive(Clone, Copy)]
struct ValueSeed {
    depth: usize,
}

impl ValueSeed {
    /// The depth of a container value found here, if within Firestore's limit.
    fn child_depth<E: de::Error>(self) -> Result<usize, E> {
        let depth = self.depth + 1;
        if depth > MAX_VALUE_NESTING {
            return Err(E::custom(format_args!(
                "arrays/maps are nested more than {MAX_VALUE_NESTING} levels deep, \
                 which Firestore does not allow"
            )));
        }
        Ok(depth)
    }
}

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_map(self)
    }
}

const VALUE_TYPES: &str = "nullValue, booleanValue, integerValue, doubleValue, timestampValue, \
                           stringValue, bytesValue, referenceValue, geoPointValue, arrayValue, mapValue";

impl<'de> Visitor<'de> for ValueSeed {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a value object with one of {VALUE_TYPES}")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let Some(key) = map.next_key_seed(KeySeed)? else {
            return Err(de::Error::custom(format_args!(
                "empty value object; expected one of {VALUE_TYPES}"
            )));
        };
        let value = match key {
            Key::NullValue => {
                map.next_value_seed(NullSeed)?;
                Value::Null
            }
            Key::BooleanValue => Value::Boolean(map.next_value()?),
            Key::IntegerValue => Value::Integer(map.next_value_seed(IntegerSeed)?),
            Key::DoubleValue => Value::Double(map.next_value_seed(DoubleSeed)?),
            Key::TimestampValue => Value::Timestamp(map.next_value_seed(TimestampSeed)?),
            Key::StringValue => Value::String(map.next_value()?),
            Key::BytesValue => Value::Bytes(map.next_value_seed(BytesSeed)?),
            Key::ReferenceValue => Value::Reference(map.next_value()?),
            Key::GeoPointValue => Value::GeoPoint(map.next_value_seed(GeoPointSeed)?),
            Key::ArrayValue => {
                let depth = self.child_depth()?;
                Value::Array(map.next_value_seed(ArraySeed { depth })?)
            }
            Key::MapValue => {
                let depth = self.child_depth()?;
                Value::Map(map.next_value_seed(MapSeed { depth })?)
            }
            other => {
                return Err(de::Error::custom(format_args!(
                    "unknown value type {:?}; expected one of {VALUE_TYPES}",
                    other.as_str()
                )));
            }
        };
        if let Some(extra) = map.next_key_seed(KeySeed)? {
            return Err(de::Error::custom(format_args!(
                "value object has a second key {:?}; a value has exactly one type",
                extra.as_str()
            )));
        }
        Ok(value)
    }
}

/// `nullValue`: JSON `null` (or the proto3 enum name `"NULL_VALUE"`).
struct NullSeed;

impl<'de> DeserializeSeed<'de> for NullSeed {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl Visitor<'_> for NullSeed {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("null")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<(), E> {
        match s {
            "NULL_VALUE" => Ok(()),
            _ => Err(E::invalid_value(de::Unexpected::Str(s), &self)),
        }
    }
}

/// `integerValue`: a decimal string (also a JSON integer, which proto3 JSON allows).
struct IntegerSeed;

impl<'de> DeserializeSeed<'de> for IntegerSeed {
    type Value = i64;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<i64, D::Error> {
        d.deserialize_any(self)
    }
}

impl Visitor<'_> for IntegerSeed {
    type Value = i64;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a 64-bit integer as a decimal string")
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<i64, E> {
        s.parse()
            .map_err(|_| E::invalid_value(de::Unexpected::Str(s), &self))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }
}

/// `doubleValue` (and geopoint coordinates): a JSON number or `"NaN"`/`"Infinity"`/`"-Infinity"`.
struct DoubleSeed;

impl<'de> DeserializeSeed<'de> for DoubleSeed {
    type Value = f64;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<f64, D::Error> {
        d.deserialize_any(self)
    }
}

impl Visitor<'_> for DoubleSeed {
    type Value = f64;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number or \"NaN\", \"Infinity\", \"-Infinity\"")
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        Ok(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<f64, E> {
        match s {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            // proto3 JSON also allows a number in a string; Rust's own parser would
            // accept "inf"/"nan" spellings, so only number characters get that far.
            _ if !s.is_empty()
                && s.bytes().all(|c| {
                    c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E')
                }) =>
            {
                s.parse()
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(s), &self))
            }
            _ => Err(E::invalid_value(de::Unexpected::Str(s), &self)),
        }
    }
}

/// `timestampValue`, `createTime`, `updateTime`: RFC 3339.
struct TimestampSeed;

impl<'de> DeserializeSeed<'de> for TimestampSeed {
    type Value = Timestamp;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Timestamp, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for TimestampSeed {
    type Value = Timestamp;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 timestamp string")
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Timestamp, E> {
        Timestamp::parse_rfc3339(s).map_err(|e| match e {
            Error::InvalidInput(msg) => E::custom(msg),
            other => E::custom(other),
        })
    }
}

/// `bytesValue`: base64.
struct BytesSeed;

impl<'de> DeserializeSeed<'de> for BytesSeed {
    type Value = Vec<u8>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Vec<u8>, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for BytesSeed {
    type Value = Vec<u8>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("base64 bytes")
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Vec<u8>, E> {
        B64_STANDARD
            .decode(s)
            .or_else(|_| B64_URL_SAFE.decode(s))
            .map_err(|e| E::custom(format_args!("bytesValue is not valid base64: {e}")))
    }
}

/// `geoPointValue`: `{"latitude": .., "longitude": ..}` (proto3 omits zeros).
struct GeoPointSeed;

impl<'de> DeserializeSeed<'de> for GeoPointSeed {
    type Value = GeoPoint;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<GeoPoint, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for GeoPointSeed {
    type Value = GeoPoint;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{\"latitude\": number, \"longitude\": number}")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<GeoPoint, A::Error> {
        let (mut latitude, mut longitude) = (None, None);
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match key {
                Key::Latitude if latitude.is_none() => {
                    latitude = Some(map.next_value_seed(DoubleSeed)?)
                }
                Key::Longitude if longitude.is_none() => {
                    longitude = Some(map.next_value_seed(DoubleSeed)?)
                }
                Key::Latitude | Key::Longitude => {
                    return Err(duplicate_key(&key, "a geoPointValue"));
                }
                other => return Err(unexpected_key(&other, "a geoPointValue")),
            }
        }
        Ok(GeoPoint {
            latitude: latitude.unwrap_or(0.0),
            longitude: longitude.unwrap_or(0.0),
        })
    }
}

/// `arrayValue`: `{"values": [...]}` or `{}` when empty.
struct ArraySeed {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for ArraySeed {
    type Value = Vec<Value>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Vec<Value>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ArraySeed {
    type Value = Vec<Value>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{\"values\": [...]}")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<Value>, A::Error> {
        let mut values = None;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match key {
                Key::Values if values.is_none() => {
                    values = Some(map.next_value_seed(ValuesSeed { depth: self.depth })?)
                }
                Key::Values => return Err(duplicate_key(&key, "an arrayValue")),
                other => return Err(unexpected_key(&other, "an arrayValue")),
            }
        }
        Ok(values.unwrap_or_default())
    }
}

struct ValuesSeed {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for ValuesSeed {
    type Value = Vec<Value>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Vec<Value>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ValuesSeed {
    type Value = Vec<Value>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of value objects")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Value>, A::Error> {
        // Cap the pre-allocation: the hint comes from untrusted input.
        let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(v) = seq.next_element_seed(ValueSeed { depth: self.depth })? {
            values.push(v);
        }
        Ok(values)
    }
}

/// `mapValue`: `{"fields": {...}}` or `{}` when empty.
struct MapSeed {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for MapSeed {
    type Value = BTreeMap<String, Value>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MapSeed {
    type Value = BTreeMap<String, Value>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{\"fields\": {...}}")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = None;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match key {
                Key::Fields if fields.is_none() => {
                    fields = Some(map.next_value_seed(FieldsSeed { depth: self.depth })?)
                }
                Key::Fields => return Err(duplicate_key(&key, "a mapValue")),
                other => return Err(unexpected_key(&other, "a mapValue")),
            }
        }
        Ok(fields.unwrap_or_default())
    }
}

// ---------------------------------------------------------------------------------------
// Checking without decoding (verify): the decoder's grammar, nothing built.
// ---------------------------------------------------------------------------------------

/// What [`DocumentChecker::check`] found in one line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Check<'a> {
    /// A line [`decode_document`] accepts, and its document's name (borrowed from the line
    /// unless the name has escapes).
    Valid(Cow<'a, str>),
    /// A line [`decode_document`] rejects.
    Invalid,
    /// Field names out of byte order (firekeep writes them sorted): whether two are equal
    /// decides, and the checker does not keep them all; [`decode_document`] knows.
    Unsure,
}

/// Validates document lines exactly as strictly as [`decode_document`] (same visitors for
/// scalars, same depth limit, same keys) without building a [`Document`]: verify needs
/// only to know a line would decode, and its name. Building the tree was most of verify's
/// cost (an allocation per string, key and map).
#[derive(Debug, Default)]
pub(crate) struct DocumentChecker {
    unsure: Cell<bool>,
    /// Decoded base64 goes here and is dropped: validity is decided by decoding.
    scratch: RefCell<Vec<u8>>,
}

impl DocumentChecker {
    /// Checks one line (no trailing newline) as [`decode_document`] would decode it.
    pub(crate) fn check<'a>(&self, json: &'a [u8]) -> Check<'a> {
        // Invalid UTF-8 anywhere is refused by the decoder too: inside a string by its
        // UTF-8 check, outside one as a syntax error.
        if let Some(name) = scan_document(json, &mut self.scratch.borrow_mut()) {
            return Check::Valid(Cow::Borrowed(name));
        }
        let Ok(text) = std::str::from_utf8(json) else {
            return Check::Invalid;
        };
        self.unsure.set(false);
        let mut de = serde_json::Deserializer::from_str(text);
        let checked = de
            .deserialize_map(CheckDocument { ctx: self })
            .and_then(|name| de.end().map(|()| name));
        match checked {
            Ok(name) => Check::Valid(name),
            Err(_) if self.unsure.get() => Check::Unsure,
            Err(_) => Check::Invalid,
        }
    }
}

/// A byte scanner for the compact JSON firekeep writes: `Some(name)` only for lines
/// [`decode_document`] surely accepts; `None` (anything unusual: escapes in keys, names or
/// scalars, numbers near the limits of a double, keys out of order) leaves the line to the
/// serde-driven check, which is exact. About four times cheaper than serde's machinery.
fn scan_document<'a>(json: &'a [u8], scratch: &mut Vec<u8>) -> Option<&'a str> {
    let mut s = Scan {
        b: json,
        i: 0,
        utf8: false,
        trusted: false,
    };
    s.ws();
    s.eat(b'{')?;
    let mut name = None;
    let (mut fields, mut create_time, mut update_time) = (false, false, false);
    loop {
        s.ws();
        let key = s.plain_str()?;
        s.colon()?;
        match key {
            b"name" if name.is_none() => name = Some(std::str::from_utf8(s.plain_str()?).ok()?),
            b"fields" if !fields => {
                fields = true;
                s.fields(0, scratch)?;
            }
            b"createTime" if !create_time => {
                create_time = true;
                s.timestamp()?;
            }
            b"updateTime" if !update_time => {
                update_time = true;
                s.timestamp()?;
            }
            _ => return None,
        }
        if !s.next_entry()? {
            break;
        }
    }
    s.ws();
    (s.i == s.b.len()).then_some(name?)
}

struct Scan<'a> {
    b: &'a [u8],
    i: usize,
    /// The whole input is known to be UTF-8 (the decoder checked the line once).
    utf8: bool,
    /// The line was checked ([`JsonDocument::is_checked`]): strings are only searched for
    /// their end (no control or non-ASCII tests).
    trusted: bool,
}

impl<'a> Scan<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// JSON whitespace, as serde_json skips it.
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    fn colon(&mut self) -> Option<()> {
        self.ws();
        self.eat(b':')?;
        self.ws();
        Some(())
    }

    /// After an entry of an object or array: `true` at `,`, `false` at `close` (consumed).
    fn next_in(&mut self, close: u8) -> Option<bool> {
        self.ws();
        match self.peek()? {
            b',' => {
                self.i += 1;
                self.ws();
                Some(true)
            }
            c if c == close => {
                self.i += 1;
                Some(false)
            }
            _ => None,
        }
    }

    fn next_entry(&mut self) -> Option<bool> {
        self.next_in(b'}')
    }

    /// `{` then whitespace; `true` when the object is empty (`}` consumed).
    fn open_object(&mut self) -> Option<bool> {
        self.eat(b'{')?;
        self.ws();
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(true);
        }
        Some(false)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.i + word.len();
        (self.b.get(self.i..end)? == word).then(|| self.i = end)
    }

    /// Eight bytes at a time to the next quote or backslash, and unless `TRUSTED` (a checked
    /// line's strings hold neither), control or non-ASCII byte; what is left to the end.
    #[inline(always)]
    fn skip_plain<const TRUSTED: bool>(&mut self) {
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGHS: u64 = 0x8080_8080_8080_8080;
        while let Some(chunk) = self.b.get(self.i..self.i + 8) {
            let w = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
            let quote = w ^ (ONES * u64::from(b'"'));
            let slash = w ^ (ONES * u64::from(b'\\'));
            let mut found =
                (quote.wrapping_sub(ONES) & !quote) | (slash.wrapping_sub(ONES) & !slash);
            if !TRUSTED {
                found |= (w.wrapping_sub(ONES * 0x20) & !w) | w;
            }
            let found = found & HIGHS;
            if found != 0 {
                // The lowest flag of each test is a true hit, so the lowest is.
                self.i += (found.trailing_zeros() / 8) as usize;
                return;
            }
            self.i += 8;
        }
    }

    /// A string's raw bytes between the quotes, and whether it has escapes; valid JSON
    /// (no control characters, known escapes, no surrogate escapes) and valid UTF-8.
    fn string(&mut self) -> Option<(&'a [u8], bool)> {
        self.eat(b'"')?;
        let start = self.i;
        let (mut escaped, mut non_ascii) = (false, false);
        loop {
            if self.trusted {
                self.skip_plain::<true>();
            } else {
                self.skip_plain::<false>();
            }
            match self.peek()? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    match *self.b.get(self.i + 1)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.i += 2,
                        b'u' => {
                            let hex =
                                std::str::from_utf8(self.b.get(self.i + 2..self.i + 6)?).ok()?;
                            if !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
                                return None;
                            }
                            let unit = u32::from_str_radix(hex, 16).ok()?;
                            // Surrogate pairs are valid but rare: left to serde_json.
                            if (0xd800..=0xdfff).contains(&unit) {
                                return None;
                            }
                            self.i += 6;
                        }
                        _ => return None,
                    }
                }
                c if c < 0x20 => return None,
                c if c >= 0x80 => {
                    non_ascii = true;
                    self.i += 1;
                }
                _ => self.i += 1,
            }
        }
        let raw = &self.b[start..self.i];
        self.i += 1;
        if non_ascii && !self.utf8 && std::str::from_utf8(raw).is_err() {
            return None;
        }
        Some((raw, escaped))
    }

    /// A string without escapes (its bytes are then its value).
    fn plain_str(&mut self) -> Option<&'a [u8]> {
        match self.string()? {
            (raw, false) => Some(raw),
            _ => None,
        }
    }

    fn timestamp(&mut self) -> Option<()> {
        let s = std::str::from_utf8(self.plain_str()?).ok()?;
        Timestamp::parse_rfc3339(s).ok().map(|_| ())
    }

    /// A JSON number well inside a double's range (serde_json refuses only overflow).
    fn number(&mut self) -> Option<()> {
        let digits = |s: &mut Self| {
            let start = s.i;
            while s.peek().is_some_and(|c| c.is_ascii_digit()) {
                s.i += 1;
            }
            s.i - start
        };
        if self.peek()? == b'-' {
            self.i += 1;
        }
        let int = match self.peek()? {
            b'0' => {
                self.i += 1;
                1
            }
            b'1'..=b'9' => digits(self),
            _ => return None,
        };
        if self.peek() == Some(b'.') {
            self.i += 1;
            if digits(self) == 0 {
                return None;
            }
        }
        let mut exponent = 0i64;
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            let negative = self.peek() == Some(b'-');
            if let Some(b'-' | b'+') = self.peek() {
                self.i += 1;
            }
            let start = self.i;
            let n = digits(self);
            if n == 0 || n > 3 {
                return None;
            }
            let value: i64 = std::str::from_utf8(&self.b[start..self.i])
                .ok()?
                .parse()
                .ok()?;
            exponent = if negative { -value } else { value };
        }
        (int as i64 + exponent <= 300).then_some(())
    }

    /// `doubleValue` and coordinates: a number or one of the three special strings.
    fn double(&mut self) -> Option<()> {
        if self.peek()? == b'"' {
            return matches!(self.plain_str()?, b"NaN" | b"Infinity" | b"-Infinity").then_some(());
        }
        self.number()
    }

    fn fields(&mut self, depth: usize, scratch: &mut Vec<u8>) -> Option<()> {
        if self.open_object()? {
            return Some(());
        }
        let mut prev: Option<&[u8]> = None;
        loop {
            let key = self.plain_str()?;
            // Strictly ascending, as firekeep writes them: no duplicates possible.
            if prev.is_some_and(|p| key <= p) {
                return None;
            }
            prev = Some(key);
            self.colon()?;
            self.value(depth, scratch)?;
            if !self.next_entry()? {
                return Some(());
            }
        }
    }

    fn value(&mut self, depth: usize, scratch: &mut Vec<u8>) -> Option<()> {
        self.eat(b'{')?;
        self.ws();
        let key = self.plain_str()?;
        self.colon()?;
        match key {
            b"nullValue" => self.literal(b"null")?,
            b"booleanValue" => {
                if self.peek()? == b't' {
                    self.literal(b"true")?
                } else {
                    self.literal(b"false")?
                }
            }
            b"integerValue" => {
                std::str::from_utf8(self.plain_str()?)
                    .ok()?
                    .parse::<i64>()
                    .ok()?;
            }
            b"doubleValue" => self.double()?,
            b"timestampValue" => self.timestamp()?,
            b"stringValue" | b"referenceValue" => {
                self.string()?;
            }
            b"bytesValue" => {
                let s = self.plain_str()?;
                // Sized as `CheckBytes` sizes it, so the same strings decode.
                scratch.resize(s.len() / 4 * 3 + 6, 0);
                B64_STANDARD
                    .decode_slice(s, &mut scratch[..])
                    .or_else(|_| B64_URL_SAFE.decode_slice(s, &mut scratch[..]))
                    .ok()?;
            }
            b"geoPointValue" => {
                if !self.open_object()? {
                    let (mut latitude, mut longitude) = (false, false);
                    loop {
                        match self.plain_str()? {
                            b"latitude" if !latitude => latitude = true,
                            b"longitude" if !longitude => longitude = true,
                            _ => return None,
                        }
                        self.colon()?;
                        self.double()?;
                        if !self.next_entry()? {
                            break;
                        }
                    }
                }
            }
            b"arrayValue" | b"mapValue" => {
                let depth = depth + 1;
                if depth > MAX_VALUE_NESTING {
                    return None;
                }
                if !self.open_object()? {
                    let array = key == b"arrayValue";
                    let inner = self.plain_str()?;
                    self.colon()?;
                    if array && inner == b"values" {
                        self.eat(b'[')?;
                        self.ws();
                        if self.peek()? == b']' {
                            self.i += 1;
                        } else {
                            loop {
                                self.value(depth, scratch)?;
                                if !self.next_in(b']')? {
                                    break;
                                }
                            }
                        }
                    } else if !array && inner == b"fields" {
                        self.fields(depth, scratch)?;
                    } else {
                        return None;
                    }
                    self.ws();
                    self.eat(b'}')?;
                }
            }
            _ => return None,
        }
        self.ws();
        self.eat(b'}')
    }
}

/// Decodes the compact JSON firekeep writes straight into a [`Document`], on the checking
/// scanner's grammar: `None` for anything unusual (escapes, number-valued integers,
/// fields out of order, any error), which serde's path then decodes or refuses as it
/// always did. serde's visitors cost an allocation per key and grow every string and map;
/// here each string is one exact allocation from the line and each map one bulk build.
fn build_document(text: &str) -> Option<Document> {
    let mut b = Build {
        s: Scan {
            b: text.as_bytes(),
            i: 0,
            utf8: true,
            trusted: false,
        },
        text,
    };
    b.s.ws();
    b.s.eat(b'{')?;
    let mut name = None;
    let (mut fields, mut create_time, mut update_time) = (None, None, None);
    loop {
        b.s.ws();
        let key = b.s.plain_str()?;
        b.s.colon()?;
        match key {
            b"name" if name.is_none() => name = Some(b.string()?),
            b"fields" if fields.is_none() => fields = Some(b.fields(0)?),
            b"createTime" if create_time.is_none() => create_time = Some(b.timestamp()?),
            b"updateTime" if update_time.is_none() => update_time = Some(b.timestamp()?),
            _ => return None,
        }
        if !b.s.next_entry()? {
            break;
        }
    }
    b.s.ws();
    (b.s.i == b.s.b.len()).then_some(())?;
    Some(Document {
        name: name?,
        fields: fields.unwrap_or_default(),
        create_time,
        update_time,
    })
}

struct Build<'a> {
    s: Scan<'a>,
    /// The scanned bytes as text, so strings are sliced without another UTF-8 check.
    text: &'a str,
}

impl<'a> Build<'a> {
    /// A string without escapes, borrowed from the line.
    fn str(&mut self) -> Option<&'a str> {
        let start = self.s.i + 1;
        let raw = self.s.plain_str()?;
        self.text.get(start..start + raw.len())
    }

    /// One allocation of exactly the string's length.
    fn string(&mut self) -> Option<String> {
        self.str().map(String::from)
    }

    fn timestamp(&mut self) -> Option<Timestamp> {
        Timestamp::parse_rfc3339(self.str()?).ok()
    }

    fn double(&mut self) -> Option<f64> {
        if self.s.peek()? == b'"' {
            return match self.str()? {
                "NaN" => Some(f64::NAN),
                "Infinity" => Some(f64::INFINITY),
                "-Infinity" => Some(f64::NEG_INFINITY),
                _ => None,
            };
        }
        let start = self.s.i;
        self.s.number()?;
        // serde_json's own number parser and the decoder's visitor: the same bits.
        let mut de = serde_json::Deserializer::from_str(&self.text[start..self.s.i]);
        DoubleSeed.deserialize(&mut de).ok()
    }

    fn fields(&mut self, depth: usize) -> Option<BTreeMap<String, Value>> {
        if self.s.open_object()? {
            return Some(BTreeMap::new());
        }
        let mut fields: Vec<(String, Value)> = Vec::new();
        loop {
            let key = self.str()?;
            // Strictly ascending, as firekeep writes them: no duplicates possible, and the
            // map is bulk-built from sorted entries instead of searched per insert.
            if fields.last().is_some_and(|(p, _)| key <= p.as_str()) {
                return None;
            }
            self.s.colon()?;
            let value = self.value(depth)?;
            fields.push((String::from(key), value));
            if !self.s.next_entry()? {
                return Some(BTreeMap::from_iter(fields));
            }
        }
    }

    fn value(&mut self, depth: usize) -> Option<Value> {
        self.s.eat(b'{')?;
        self.s.ws();
        let key = self.s.plain_str()?;
        self.s.colon()?;
        let value = match key {
            b"nullValue" => {
                self.s.literal(b"null")?;
                Value::Null
            }
            b"booleanValue" => {
                if self.s.peek()? == b't' {
                    self.s.literal(b"true")?;
                    Value::Boolean(true)
                } else {
                    self.s.literal(b"false")?;
                    Value::Boolean(false)
                }
            }
            b"integerValue" => Value::Integer(self.str()?.parse().ok()?),
            b"doubleValue" => Value::Double(self.double()?),
            b"timestampValue" => Value::Timestamp(self.timestamp()?),
            b"stringValue" => Value::String(self.string()?),
            b"referenceValue" => Value::Reference(self.string()?),
            b"bytesValue" => {
                let s = self.s.plain_str()?;
                // As `BytesSeed` decodes.
                Value::Bytes(
                    B64_STANDARD
                        .decode(s)
                        .or_else(|_| B64_URL_SAFE.decode(s))
                        .ok()?,
                )
            }
            b"geoPointValue" => {
                let (mut latitude, mut longitude) = (None, None);
                if !self.s.open_object()? {
                    loop {
                        match self.s.plain_str()? {
                            b"latitude" if latitude.is_none() => {
                                self.s.colon()?;
                                latitude = Some(self.double()?);
                            }
                            b"longitude" if longitude.is_none() => {
                                self.s.colon()?;
                                longitude = Some(self.double()?);
                            }
                            _ => return None,
                        }
                        if !self.s.next_entry()? {
                            break;
                        }
                    }
                }
                Value::GeoPoint(GeoPoint {
                    latitude: latitude.unwrap_or(0.0),
                    longitude: longitude.unwrap_or(0.0),
                })
            }
            b"arrayValue" | b"mapValue" => {
                let depth = depth + 1;
                if depth > MAX_VALUE_NESTING {
                    return None;
                }
                let array = key == b"arrayValue";
                if self.s.open_object()? {
                    if array {
                        Value::Array(Vec::new())
                    } else {
                        Value::Map(BTreeMap::new())
                    }
                } else {
                    let inner = self.s.plain_str()?;
                    self.s.colon()?;
                    let value = if array && inner == b"values" {
                        let mut values = Vec::new();
                        self.s.eat(b'[')?;
                        self.s.ws();
                        if self.s.peek()? == b']' {
                            self.s.i += 1;
                        } else {
                            loop {
                                values.push(self.value(depth)?);
                                if !self.s.next_in(b']')? {
                                    break;
                                }
                            }
                        }
                        Value::Array(values)
                    } else if !array && inner == b"fields" {
                        Value::Map(self.fields(depth)?)
                    } else {
                        return None;
                    };
                    self.s.ws();
                    self.s.eat(b'}')?;
                    value
                }
            }
            _ => return None,
        };
        self.s.ws();
        self.s.eat(b'}')?;
        Some(value)
    }
}

// ---------------------------------------------------------------------------------------
// Walking without decoding (restore targets encoding the line into their own format).
// ---------------------------------------------------------------------------------------

/// The fields of a document line as [`visit_fields`] reports them, in line order (keys in
/// byte order). A value is one scalar call, or `map_start`, its entries, `map_end`, or
/// `array_start`, its elements, `array_end`.
pub trait FieldsVisitor {
    /// An entry of the document's fields or of a map value starts: its key; its value
    /// follows, then [`entry_end`](Self::entry_end).
    fn entry_start(&mut self, key: &str);
    /// The entry's value is complete.
    fn entry_end(&mut self);
    /// An array element starts; its value follows, then [`element_end`](Self::element_end).
    fn element_start(&mut self);
    /// The element's value is complete.
    fn element_end(&mut self);
    /// `nullValue`.
    fn null(&mut self);
    /// `booleanValue`.
    fn boolean(&mut self, b: bool);
    /// `integerValue`.
    fn integer(&mut self, i: i64);
    /// `doubleValue`, as [`decode_document`] decodes it (canonical NaN, exact bits).
    fn double(&mut self, d: f64);
    /// `timestampValue`.
    fn timestamp(&mut self, t: Timestamp);
    /// `stringValue`.
    fn string(&mut self, s: &str);
    /// `referenceValue`.
    fn reference(&mut self, r: &str);
    /// `bytesValue`, decoded.
    fn bytes(&mut self, b: &[u8]);
    /// `geoPointValue` (a missing coordinate is 0.0, as decoded).
    fn geo_point(&mut self, latitude: f64, longitude: f64);
    /// A map value's entries follow, then [`map_end`](Self::map_end).
    fn map_start(&mut self);
    /// The map value is complete.
    fn map_end(&mut self);
    /// An array value's elements follow, then [`array_end`](Self::array_end).
    fn array_start(&mut self);
    /// The array value is complete.
    fn array_end(&mut self);
}

/// Walks one document line in the compact form firekeep writes, reporting its fields to
/// `v` without building a [`Document`]: `true` when [`decode_document`] accepts the line
/// and decodes exactly the fields reported (the name and times are checked, not reported).
///
/// `false` for anything unusual (escapes, number-valued integers, fields out of order) or
/// invalid, possibly after some calls: the caller discards what it made of them and takes
/// [`decode_document`], which decodes or refuses the line as always. The grammar is the
/// tree builder's (`build_document`), so the same lines take the fast path.
pub fn visit_fields(json: &[u8], v: &mut impl FieldsVisitor) -> bool {
    walk(json, false, v)
}

/// [`visit_fields`] for a restore's line: a line core checked
/// ([`JsonDocument::is_checked`]) is walked without re-validating what the check settled
/// (control characters and UTF-8 inside strings, the document's own timestamps); any
/// other line is validated in full, as [`visit_fields`] does. The outcome and the calls
/// are the same as [`visit_fields`]'s for every line [`decode_document`] accepts.
pub fn visit_document(doc: &JsonDocument, v: &mut impl FieldsVisitor) -> bool {
    walk(doc.json(), doc.is_checked(), v)
}

fn walk(json: &[u8], trusted: bool, v: &mut impl FieldsVisitor) -> bool {
    let Ok(text) = std::str::from_utf8(json) else {
        return false;
    };
    let mut w = Walk {
        b: Build {
            s: Scan {
                b: json,
                i: 0,
                utf8: true,
                trusted,
            },
            text,
        },
        v,
        scratch: Vec::new(),
    };
    w.document().is_some()
}

struct Walk<'a, 'v, V> {
    b: Build<'a>,
    v: &'v mut V,
    /// Decoded base64, one buffer for the line.
    scratch: Vec<u8>,
}

impl<V: FieldsVisitor> Walk<'_, '_, V> {
    fn document(&mut self) -> Option<()> {
        let b = &mut self.b;
        b.s.ws();
        b.s.eat(b'{')?;
        let (mut name, mut fields, mut create_time, mut update_time) = (false, false, false, false);
        loop {
            self.b.s.ws();
            let key = self.b.s.plain_str()?;
            self.b.s.colon()?;
            match key {
                b"name" if !name => {
                    name = true;
                    self.b.str()?;
                }
                b"fields" if !fields => {
                    fields = true;
                    self.fields(0)?;
                }
                b"createTime" | b"updateTime" if self.b.s.trusted => {
                    // Parsed by the check; not reported.
                    let seen = if key == b"createTime" {
                        &mut create_time
                    } else {
                        &mut update_time
                    };
                    if std::mem::replace(seen, true) {
                        return None;
                    }
                    self.b.s.plain_str()?;
                }
                b"createTime" if !create_time => {
                    create_time = true;
                    self.b.timestamp()?;
                }
                b"updateTime" if !update_time => {
                    update_time = true;
                    self.b.timestamp()?;
                }
                _ => return None,
            }
            if !self.b.s.next_entry()? {
                break;
            }
        }
        self.b.s.ws();
        (self.b.s.i == self.b.s.b.len() && name).then_some(())
    }

    fn fields(&mut self, depth: usize) -> Option<()> {
        if self.b.s.open_object()? {
            return Some(());
        }
        let mut prev: Option<&str> = None;
        loop {
            let key = self.b.str()?;
            // Strictly ascending, as `build_document` requires (kept for checked lines:
            // the check accepts other orders, which the slow path writes in its order).
            if prev.is_some_and(|p| key <= p) {
                return None;
            }
            prev = Some(key);
            self.b.s.colon()?;
            self.v.entry_start(key);
            self.value(depth)?;
            self.v.entry_end();
            if !self.b.s.next_entry()? {
                return Some(());
            }
        }
    }

    fn value(&mut self, depth: usize) -> Option<()> {
        let s = &mut self.b.s;
        s.eat(b'{')?;
        s.ws();
        let key = s.plain_str()?;
        s.colon()?;
        match key {
            b"nullValue" => {
                s.literal(b"null")?;
                self.v.null();
            }
            b"booleanValue" => {
                let b = s.peek()? == b't';
                s.literal(if b { b"true" } else { b"false" })?;
                self.v.boolean(b);
            }
            b"integerValue" => self.v.integer(self.b.str()?.parse().ok()?),
            b"doubleValue" => self.v.double(self.b.double()?),
            b"timestampValue" => self.v.timestamp(self.b.timestamp()?),
            b"stringValue" => self.v.string(self.b.str()?),
            b"referenceValue" => self.v.reference(self.b.str()?),
            b"bytesValue" => {
                let text = s.plain_str()?;
                // As `BytesSeed` decodes.
                self.scratch.clear();
                B64_STANDARD
                    .decode_vec(text, &mut self.scratch)
                    .or_else(|_| {
                        self.scratch.clear();
                        B64_URL_SAFE.decode_vec(text, &mut self.scratch)
                    })
                    .ok()?;
                self.v.bytes(&self.scratch);
            }
            b"geoPointValue" => {
                let (mut latitude, mut longitude) = (None, None);
                if !s.open_object()? {
                    loop {
                        match self.b.s.plain_str()? {
                            b"latitude" if latitude.is_none() => {
                                self.b.s.colon()?;
                                latitude = Some(self.b.double()?);
                            }
                            b"longitude" if longitude.is_none() => {
                                self.b.s.colon()?;
                                longitude = Some(self.b.double()?);
                            }
                            _ => return None,
                        }
                        if !self.b.s.next_entry()? {
                            break;
                        }
                    }
                }
                self.v
                    .geo_point(latitude.unwrap_or(0.0), longitude.unwrap_or(0.0));
            }
            b"arrayValue" | b"mapValue" => {
                let depth = depth + 1;
                if depth > MAX_VALUE_NESTING {
                    return None;
                }
                let array = key == b"arrayValue";
                if array {
                    self.v.array_start();
                } else {
                    self.v.map_start();
                }
                if !s.open_object()? {
                    let inner = s.plain_str()?;
                    s.colon()?;
                    if array && inner == b"values" {
                        s.eat(b'[')?;
                        s.ws();
                        if s.peek()? == b']' {
                            s.i += 1;
                        } else {
                            loop {
                                self.v.element_start();
                                self.value(depth)?;
                                self.v.element_end();
                                if !self.b.s.next_in(b']')? {
                                    break;
                                }
                            }
                        }
                    } else if !array && inner == b"fields" {
                        self.fields(depth)?;
                    } else {
                        return None;
                    }
                    self.b.s.ws();
                    self.b.s.eat(b'}')?;
                }
                if array {
                    self.v.array_end();
                } else {
                    self.v.map_end();
                }
            }
            _ => return None,
        }
        self.b.s.ws();
        self.b.s.eat(b'}')
    }
}

#[derive(Clone, Copy)]
struct CheckDocument<'c> {
    ctx: &'c DocumentChecker,
}

impl<'de> Visitor<'de> for CheckDocument<'_> {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Firestore document object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut name: Option<Cow<'de, str>> = None;
        let (mut fields, mut create_time, mut update_time) = (false, false, false);
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match key {
                Key::Name if name.is_none() => name = Some(map.next_value_seed(StrSeed)?),
                Key::Fields if !fields => {
                    fields = true;
                    map.next_value_seed(CheckFields {
                        ctx: self.ctx,
                        depth: 0,
                    })?
                }
                Key::CreateTime if !create_time => {
                    create_time = true;
                    map.next_value_seed(TimestampSeed)?;
                }
                Key::UpdateTime if !update_time => {
                    update_time = true;
                    map.next_value_seed(TimestampSeed)?;
                }
                Key::Name | Key::Fields | Key::CreateTime | Key::UpdateTime => {
                    return Err(duplicate_key(&key, "a document"));
                }
                other => return Err(unexpected_key(&other, "a document")),
            }
        }
        name.ok_or_else(|| de::Error::custom("document has no \"name\""))
    }
}

/// Any JSON string, borrowed when it has no escapes (what `String` accepts).
struct StrSeed;

impl<'de> DeserializeSeed<'de> for StrSeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for StrSeed {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(s))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s.to_owned()))
    }
}

/// A string value, discarded (`stringValue`, `referenceValue`).
struct SkipStrSeed;

impl<'de> DeserializeSeed<'de> for SkipStrSeed {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for SkipStrSeed {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
}

#[derive(Clone, Copy)]
struct CheckFields<'c> {
    ctx: &'c DocumentChecker,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for CheckFields<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for CheckFields<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of fields")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // Duplicates are found without a set: firekeep writes keys in byte order, so each
        // must be above the one before; anything else is left to the decoder.
        let mut prev: Option<Cow<'de, str>> = None;
        while let Some(name) = map.next_key_seed(StrSeed)? {
            map.next_value_seed(CheckValue {
                ctx: self.ctx,
                depth: self.depth,
            })?;
            if let Some(p) = &prev {
                match name.as_ref().cmp(p.as_ref()) {
                    Ordering::Greater => {}
                    Ordering::Equal => {
                        return Err(de::Error::custom("duplicate field name in a fields object"));
                    }
                    Ordering::Less => {
                        self.ctx.unsure.set(true);
                        return Err(de::Error::custom("field names out of order"));
                    }
                }
            }
            prev = Some(name);
        }
        Ok(())
    }
}

/// One value object, checked; `depth` as in [`ValueSeed`].
#[derive(Clone, Copy)]
struct CheckValue<'c> {
    ctx: &'c DocumentChecker,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for CheckValue<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for CheckValue<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a value object with one of {VALUE_TYPES}")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some(key) = map.next_key_seed(KeySeed)? else {
            return Err(de::Error::custom("empty value object"));
        };
        let seed = ValueSeed { depth: self.depth };
        match key {
            Key::NullValue => map.next_value_seed(NullSeed)?,
            Key::BooleanValue => {
                map.next_value::<bool>()?;
            }
            Key::IntegerValue => {
                map.next_value_seed(IntegerSeed)?;
            }
            Key::DoubleValue => {
                map.next_value_seed(DoubleSeed)?;
            }
            Key::TimestampValue => {
                map.next_value_seed(TimestampSeed)?;
            }
            Key::StringValue | Key::ReferenceValue => map.next_value_seed(SkipStrSeed)?,
            Key::BytesValue => map.next_value_seed(CheckBytes { ctx: self.ctx })?,
            Key::GeoPointValue => {
                map.next_value_seed(GeoPointSeed)?;
            }
            Key::ArrayValue => map.next_value_seed(CheckContainer {
                ctx: self.ctx,
                depth: seed.child_depth()?,
                array: true,
            })?,
            Key::MapValue => map.next_value_seed(CheckContainer {
                ctx: self.ctx,
                depth: seed.child_depth()?,
                array: false,
            })?,
            other => return Err(unexpected_key(&other, "a value")),
        }
        if let Some(extra) = map.next_key_seed(KeySeed)? {
            return Err(unexpected_key(&extra, "a value"));
        }
        Ok(())
    }
}

/// `bytesValue`: valid when [`BytesSeed`] would decode it.
struct CheckBytes<'c> {
    ctx: &'c DocumentChecker,
}

impl<'de> DeserializeSeed<'de> for CheckBytes<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for CheckBytes<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("base64 bytes")
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<(), E> {
        let mut scratch = self.ctx.scratch.borrow_mut();
        // At least the engine's own estimate ((len + 3) / 4 * 3), so `decode_slice` accepts
        // and refuses exactly what `decode` does.
        scratch.resize(s.len() / 4 * 3 + 6, 0);
        B64_STANDARD
            .decode_slice(s, &mut scratch[..])
            .or_else(|_| B64_URL_SAFE.decode_slice(s, &mut scratch[..]))
            .map(|_| ())
            .map_err(|_| E::custom("bytesValue is not valid base64"))
    }
}

/// `arrayValue` (`{"values": [...]}`) or `mapValue` (`{"fields": {...}}`), either may be `{}`.
#[derive(Clone, Copy)]
struct CheckContainer<'c> {
    ctx: &'c DocumentChecker,
    depth: usize,
    array: bool,
}

impl<'de> DeserializeSeed<'de> for CheckContainer<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for CheckContainer<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.array {
            "{\"values\": [...]}"
        } else {
            "{\"fields\": {...}}"
        })
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = false;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match key {
                Key::Values if self.array && !seen => map.next_value_seed(CheckValues {
                    ctx: self.ctx,
                    depth: self.depth,
                })?,
                Key::Fields if !self.array && !seen => map.next_value_seed(CheckFields {
                    ctx: self.ctx,
                    depth: self.depth,
                })?,
                other => return Err(unexpected_key(&other, "a container value")),
            }
            seen = true;
        }
        Ok(())
    }
}

struct CheckValues<'c> {
    ctx: &'c DocumentChecker,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for CheckValues<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for CheckValues<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of value objects")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(CheckValue {
                ctx: self.ctx,
                depth: self.depth,
            })?
            .is_some()
        {}
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(fields: Vec<(&str, Value)>) -> Document {
        Document::new(
            "projects/p/databases/(default)/documents/c/d",
            fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        )
    }

    #[test]
    fn decodes_a_single_value() {
        assert_eq!(
            decode_value(br#"{"integerValue":"42"}"#).unwrap(),
            Value::Integer(42)
        );
        assert_eq!(
            decode_value(br#"{"stringValue":"alice"}"#).unwrap(),
            Value::String("alice".into())
        );
        for bad in [
            &b"{}"[..],
            b"42",
            br#"{"stringValue":"a"} x"#,
            br#"{"v":1}"#,
        ] {
            assert!(matches!(decode_value(bad), Err(Error::InvalidInput(_))));
        }
    }

    /// The whole-line UTF-8 check picks the decoder: valid lines (escapes, non-ASCII) decode
    /// as before, and invalid UTF-8 still fails with the byte decoder's error.
    #[test]
    fn decodes_by_utf8_of_the_whole_line() {
        let line = "{\"name\":\"projects/p/databases/(default)/documents/c/d\",\
                    \"fields\":{\"é\":{\"stringValue\":\"ü\\n\\u00e9\\ud83d\\ude00\"}}}";
        let d = decode_document(line.as_bytes()).unwrap();
        assert_eq!(d.fields["é"], Value::String("ü\né😀".into()));
        let mut bad = line.as_bytes().to_vec();
        let at = line.find('ü').unwrap();
        bad[at] = 0xff;
        let Err(Error::InvalidInput(msg)) = decode_document(&bad) else {
            panic!("invalid UTF-8 decoded")
        };
        assert!(msg.contains("invalid unicode code point"), "{msg}");
        // A lone surrogate escape is refused on both paths alike.
        let lone = line.replace("\\ud83d\\ude00", "\\ud83d");
        assert!(decode_document(lone.as_bytes()).is_err());
    }

    #[test]
    fn writes_the_documented_mapping() {
        let mut d = doc(vec![
            ("i", Value::Integer(-5)),
            ("z", Value::Double(-0.0)),
            ("n", Value::Double(f64::NAN)),
            ("a", Value::Array(vec![])),
            ("m", Value::Map(BTreeMap::new())),
            ("s", Value::String("q\"\\\n\0é".into())),
            ("b", Value::Bytes(vec![0xff, 0])),
        ]);
        d.update_time = Some(Timestamp::new(0, 1).unwrap());
        let json = String::from_utf8(encode_document(&d)).unwrap();
        assert_eq!(
            json,
            r#"{"name":"projects/p/databases/(default)/documents/c/d","fields":{"a":{"arrayValue":{}},"b":{"bytesValue":"/wA="},"i":{"integerValue":"-5"},"m":{"mapValue":{}},"n":{"doubleValue":"NaN"},"s":{"stringValue":"q\"\\\n\u0000é"},"z":{"doubleValue":-0.0}},"updateTime":"1970-01-01T00:00:00.000000001Z"}"#
        );
        assert_eq!(decode_document(json.as_bytes()).unwrap(), d);
    }

    #[test]
    fn timestamps_are_written_like_to_rfc3339() {
        let mut seconds = Timestamp::MIN.seconds();
        let mut nanos = 0u32;
        let mut samples = vec![
            Timestamp::MIN,
            Timestamp::MAX,
            Timestamp::new(0, 0).unwrap(),
        ];
        // A walk across the whole range with odd steps hits every month, leap days and
        // all fraction lengths.
        while seconds < Timestamp::MAX.seconds() {
            samples.push(Timestamp::new(seconds, nanos).unwrap());
            seconds += 7_654_321;
            nanos = match samples.len() % 4 {
                0 => 0,
                1 => (nanos + 1_000_000) % 1_000_000_000,
                2 => (nanos + 123_000) % 1_000_000_000,
                _ => (nanos + 987_654_321) % 1_000_000_000,
            };
        }
        for t in samples {
            let mut out = Vec::new();
            write_timestamp(&mut out, &t);
            assert_eq!(out, format!("\"{}\"", t.to_rfc3339()).into_bytes());
        }
    }

    #[test]
    fn rejects_malformed_values() {
        for bad in [
            r#"{"fields":{}}"#,
            r#"{"name":"x","fields":{"a":{}}}"#,
            r#"{"name":"x","fields":{"a":{"integerValue":"1","stringValue":"x"}}}"#,
            r#"{"name":"x","fields":{"a":{"integerValue":"9223372036854775808"}}}"#,
            r#"{"name":"x","fields":{"a":{"doubleValue":"inf"}}}"#,
            r#"{"name":"x","fields":{"a":{"bytesValue":"***"}}}"#,
            r#"{"name":"x","extra":1}"#,
            r#"{"name":"x","name":"y"}"#,
            r#"{"name":"x"} trailing"#,
        ] {
            assert!(decode_document(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}

/// [`DocumentChecker`] against [`decode_document`]: the same lines accepted (with the same
/// name) and refused, on generated, hand-spelled, mutated and truncated documents.
#[cfg(test)]
mod check_tests {
    use super::*;
    use proptest::prelude::*;

    /// The checker never accepts what the decoder refuses, never refuses what it accepts,
    /// and leaves only lines with fields out of order to it.
    fn agrees(line: &[u8]) -> std::result::Result<(), TestCaseError> {
        let decoded = decode_document(line);
        // The fast builder changes nothing: same document, or the same error.
        match (&decoded, decode_document_serde(line)) {
            (Ok(fast), Ok(reference)) => prop_assert_eq!(fast, &reference),
            (Err(fast), Err(reference)) => {
                prop_assert_eq!(fast.to_string(), reference.to_string())
            }
            (fast, reference) => prop_assert!(
                false,
                "decoders disagree on {:?}: {:?} vs {:?}",
                String::from_utf8_lossy(line),
                fast,
                reference
            ),
        }
        match DocumentChecker::default().check(line) {
            Check::Valid(name) => {
                prop_assert!(
                    decoded.is_ok(),
                    "checker accepted {:?}",
                    String::from_utf8_lossy(line)
                );
                prop_assert_eq!(&decoded.as_ref().unwrap().name, &name.into_owned());
            }
            Check::Invalid => {
                prop_assert!(
                    decoded.is_err(),
                    "checker refused {:?}",
                    String::from_utf8_lossy(line)
                );
            }
            Check::Unsure => {}
        }
        // The walk for restore targets: when it passes a line, the decoder accepts it and
        // the fields walked are the fields decoded.
        let mut tree = TreeVisitor::default();
        if visit_fields(line, &mut tree) {
            prop_assert!(
                decoded.is_ok(),
                "walk accepted {:?}",
                String::from_utf8_lossy(line)
            );
            prop_assert_eq!(tree.stack.len(), 1);
            let walked = tree.stack.pop().unwrap();
            prop_assert_eq!(Value::Map(decoded.unwrap().fields), walked.value);
        }
        Ok(())
    }

    /// The value [`visit_fields`] reports, rebuilt: each open container (the document's
    /// fields at the bottom) and the key its next value goes under.
    struct Open {
        value: Value,
        key: Option<String>,
    }

    struct TreeVisitor {
        stack: Vec<Open>,
    }

    impl Default for TreeVisitor {
        fn default() -> Self {
            TreeVisitor {
                stack: vec![Open {
                    value: Value::Map(BTreeMap::new()),
                    key: None,
                }],
            }
        }
    }

    impl TreeVisitor {
        fn put(&mut self, v: Value) {
            let top = self.stack.last_mut().unwrap();
            match &mut top.value {
                Value::Map(m) => {
                    m.insert(top.key.take().unwrap(), v);
                }
                Value::Array(items) => items.push(v),
                _ => unreachable!(),
            }
        }
        fn close(&mut self) {
            let done = self.stack.pop().unwrap();
            self.put(done.value);
        }
    }

    impl FieldsVisitor for TreeVisitor {
        fn entry_start(&mut self, key: &str) {
            self.stack.last_mut().unwrap().key = Some(key.to_owned());
        }
        fn entry_end(&mut self) {}
        fn element_start(&mut self) {}
        fn element_end(&mut self) {}
        fn null(&mut self) {
            self.put(Value::Null)
        }
        fn boolean(&mut self, b: bool) {
            self.put(Value::Boolean(b))
        }
        fn integer(&mut self, i: i64) {
            self.put(Value::Integer(i))
        }
        fn double(&mut self, d: f64) {
            self.put(Value::Double(d))
        }
        fn timestamp(&mut self, t: Timestamp) {
            self.put(Value::Timestamp(t))
        }
        fn string(&mut self, s: &str) {
            self.put(Value::String(s.to_owned()))
        }
        fn reference(&mut self, r: &str) {
            self.put(Value::Reference(r.to_owned()))
        }
        fn bytes(&mut self, b: &[u8]) {
            self.put(Value::Bytes(b.to_vec()))
        }
        fn geo_point(&mut self, latitude: f64, longitude: f64) {
            self.put(Value::GeoPoint(GeoPoint {
                latitude,
                longitude,
            }))
        }
        fn map_start(&mut self) {
            self.stack.push(Open {
                value: Value::Map(BTreeMap::new()),
                key: None,
            });
        }
        fn map_end(&mut self) {
            self.close()
        }
        fn array_start(&mut self) {
            self.stack.push(Open {
                value: Value::Array(Vec::new()),
                key: None,
            });
        }
        fn array_end(&mut self) {
            self.close()
        }
    }

    fn arb_timestamp() -> impl Strategy<Value = Timestamp> {
        (
            Timestamp::MIN.seconds()..=Timestamp::MAX.seconds(),
            prop_oneof![Just(0u32), 0..1000u32, 0..1_000_000_000u32],
        )
            .prop_map(|(s, n)| Timestamp::new(s, n).unwrap())
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        let scalar = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Boolean),
            any::<i64>().prop_map(Value::Integer),
            any::<u64>().prop_map(|b| Value::Double(f64::from_bits(b))),
            any::<f64>().prop_map(Value::Double),
            arb_timestamp().prop_map(Value::Timestamp),
            any::<String>().prop_map(Value::String),
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(Value::Bytes),
            "[a-z]{1,4}/[^/]{1,6}".prop_map(|p| Value::Reference(format!(
                "projects/p/databases/(default)/documents/{p}"
            ))),
            (any::<f64>(), any::<f64>()).prop_map(|(latitude, longitude)| Value::GeoPoint(
                GeoPoint {
                    latitude,
                    longitude
                }
            )),
        ];
        scalar.prop_recursive(8, 48, 5, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::btree_map("[a-c\"\\\\é]{0,3}", inner, 0..5)
                    .prop_map(Value::Map),
            ]
        })
    }

    fn arb_document() -> impl Strategy<Value = Document> {
        (
            "[a-z_.]{1,4}/[^/]{1,6}(/[a-z]{1,3}/[a-z.]{1,3})?",
            proptest::collection::btree_map("[a-c\"\\\\é]{0,3}", arb_value(), 0..6),
            proptest::option::of(arb_timestamp()),
            proptest::option::of(arb_timestamp()),
        )
            .prop_map(|(path, fields, create_time, update_time)| Document {
                name: format!("projects/p/databases/(default)/documents/{path}"),
                fields,
                create_time,
                update_time,
            })
    }

    /// One edit of a line: replace, insert or delete a byte (JSON's own characters more
    /// often than others), or cut the line short.
    fn mutate(line: &[u8], kind: u8, at: usize, byte: u8) -> Vec<u8> {
        const SIGNIFICANT: &[u8] = b"{}[]:,\"\\ 0123456789-+.eEtrufalsnNI\x00\x1f\xc3\xff";
        let mut out = line.to_vec();
        let at = at % (out.len() + 1);
        let b = if byte % 2 == 0 {
            SIGNIFICANT[usize::from(byte / 2) % SIGNIFICANT.len()]
        } else {
            byte
        };
        match kind % 4 {
            0 if at < out.len() => out[at] = b,
            1 => out.insert(at, b),
            2 if at < out.len() => {
                out.remove(at);
            }
            _ => out.truncate(at),
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn checker_agrees_on_documents(doc in arb_document()) {
            agrees(&encode_document(&doc))?;
        }

        #[test]
        fn checker_agrees_on_mutated_documents(
            doc in arb_document(),
            edits in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..4),
        ) {
            let mut line = encode_document(&doc);
            for (kind, at, byte) in edits {
                line = mutate(&line, kind, at, byte);
                agrees(&line)?;
            }
        }
    }

    /// The builder takes firekeep's own output (no escapes) on the edge values, so the
    /// fast path is the one restore runs; `agrees` holds it to serde's decoder.
    #[test]
    fn builder_takes_plain_documents() {
        let mut nested = Value::Null;
        for _ in 0..MAX_VALUE_NESTING {
            nested = Value::Array(vec![nested]);
        }
        let fields = BTreeMap::from([
            ("nan".to_owned(), Value::Double(f64::NAN)),
            ("inf".to_owned(), Value::Double(f64::INFINITY)),
            ("ninf".to_owned(), Value::Double(f64::NEG_INFINITY)),
            ("nzero".to_owned(), Value::Double(-0.0)),
            ("sub".to_owned(), Value::Double(f64::from_bits(1))),
            ("min".to_owned(), Value::Integer(i64::MIN)),
            ("max".to_owned(), Value::Integer(i64::MAX)),
            ("bytes".to_owned(), Value::Bytes(vec![0, 255, 7])),
            ("s".to_owned(), Value::String("é ü".to_owned())),
            (
                "ts".to_owned(),
                Value::Timestamp(Timestamp::new(-5, 999_999_999).unwrap()),
            ),
            (
                "geo".to_owned(),
                Value::GeoPoint(GeoPoint {
                    latitude: -90.0,
                    longitude: 0.5,
                }),
            ),
            (
                "ref".to_owned(),
                Value::Reference("projects/p/databases/(default)/documents/c/d".to_owned()),
            ),
            ("deep".to_owned(), nested),
            (
                "map".to_owned(),
                Value::Map(BTreeMap::from([("a".to_owned(), Value::Boolean(true))])),
            ),
            ("empty".to_owned(), Value::Map(BTreeMap::new())),
        ]);
        let doc = Document {
            name: "projects/p/databases/(default)/documents/c/d".to_owned(),
            fields,
            create_time: Some(Timestamp::new(1, 5).unwrap()),
            update_time: None,
        };
        let line = encode_document(&doc);
        let built = build_document(std::str::from_utf8(&line).unwrap());
        assert_eq!(built.as_ref(), Some(&doc));
        agrees(&line).unwrap();
    }

    #[test]
    fn checker_agrees_on_other_spellings() {
        let name = "\"name\":\"projects/p/databases/(default)/documents/c/d\"";
        let values = [
            r#"{"nullValue":null}"#,
            r#"{"nullValue":"NULL_VALUE"}"#,
            r#"{"nullValue":"x"}"#,
            r#"{"booleanValue":true}"#,
            r#"{"booleanValue":"true"}"#,
            r#"{"integerValue":"+5"}"#,
            r#"{"integerValue":5}"#,
            r#"{"integerValue":-5}"#,
            r#"{"integerValue":1.5}"#,
            r#"{"integerValue":"9223372036854775807"}"#,
            r#"{"integerValue":"9223372036854775808"}"#,
            r#"{"integerValue":18446744073709551615}"#,
            r#"{"doubleValue":1}"#,
            r#"{"doubleValue":-0}"#,
            r#"{"doubleValue":01}"#,
            r#"{"doubleValue":1.}"#,
            r#"{"doubleValue":.5}"#,
            r#"{"doubleValue":1e400}"#,
            r#"{"doubleValue":1e-400}"#,
            r#"{"doubleValue":0e99999999999999999999}"#,
            r#"{"doubleValue":123456789012345678901234567890}"#,
            r#"{"doubleValue":"1.5"}"#,
            r#"{"doubleValue":"inf"}"#,
            r#"{"doubleValue":"-Infinity"}"#,
            r#"{"doubleValue":"NaN"}"#,
            r#"{"timestampValue":"2024-05-01T12:00:00+02:00"}"#,
            r#"{"timestampValue":"2024-02-30T12:00:00Z"}"#,
            r#"{"timestampValue":"2024-05-01T12:00:00.1234567891Z"}"#,
            r#"{"stringValue":"a\u0000\ud83d\ude00"}"#,
            r#"{"stringValue":"\ud83d"}"#,
            r#"{"stringValue":"\/\b\f\n\r\t"}"#,
            r#"{"stringValue":"\x"}"#,
            r#"{"bytesValue":"_-8"}"#,
            r#"{"bytesValue":"/w"}"#,
            r#"{"bytesValue":"/w=="}"#,
            r#"{"bytesValue":"/w="}"#,
            r#"{"bytesValue":"a"}"#,
            r#"{"geoPointValue":{}}"#,
            r#"{"geoPointValue":{"latitude":1,"latitude":2}}"#,
            r#"{"geoPointValue":{"longitude":"NaN"}}"#,
            r#"{"arrayValue":{}}"#,
            r#"{"arrayValue":{"values":[]}}"#,
            r#"{"arrayValue":{"values":[],"values":[]}}"#,
            r#"{"arrayValue":{"fields":{}}}"#,
            r#"{"mapValue":{"values":[]}}"#,
            r#"{"mapValue":{"fields":{"b":{"nullValue":null},"a":{"nullValue":null}}}}"#,
            r#"{"mapValue":{"fields":{"a":{"nullValue":null},"a":{"nullValue":null}}}}"#,
            r#"{"mapValue":{"fields":{"\u0061":{"nullValue":null},"a":{"nullValue":null}}}}"#,
            r#"{"stringValue":"a","stringValue":"a"}"#,
            r#"{"string\u0056alue":"a"}"#,
            r#"{}"#,
            r#"[]"#,
        ];
        let mut lines = Vec::new();
        for v in values {
            lines.push(format!("{{{name},\"fields\":{{\"v\":{v}}}}}"));
            lines.push(format!(" {{ {name} , \"fields\" : {{ \"v\" : {v} }} }} \r"));
        }
        let deep = |n: usize| {
            let mut v = String::from(r#"{"nullValue":null}"#);
            for _ in 0..n {
                v = format!(r#"{{"arrayValue":{{"values":[{v}]}}}}"#);
            }
            format!("{{{name},\"fields\":{{\"v\":{v}}}}}")
        };
        lines.push(deep(20));
        lines.push(deep(21));
        for extra in [
            "",
            r#","createTime":"2024-05-01T12:00:00Z""#,
            r#","createTime":"2024-05-01T12:00:00Z","createTime":"2024-05-01T12:00:00Z""#,
            r#","updateTime":null"#,
            r#","fields":{}"#,
            r#","other":1"#,
        ] {
            lines.push(format!("{{{name}{extra}}}"));
        }
        lines.push(r#"{"name":"projects/p/databases/(default)/documents/c/\u0064"}"#.into());
        lines.push(r#"{"name":5}"#.into());
        lines.push(r#"{}"#.into());
        lines.push(format!("{{{name}}} x"));
        for line in &lines {
            agrees(line.as_bytes()).unwrap();
        }
        let mut bad = lines[0].clone().into_bytes();
        bad.insert(10, 0xff);
        agrees(&bad).unwrap();
    }
}
