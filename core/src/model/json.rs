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
//! A part is newline-delimited JSON (one document per line), zstd-compressed: see
//! [`PartEncoder`], [`PartDecoder`] and [`decode_part`].

use super::timestamp::civil_from_days;
use super::{Document, GeoPoint, MAX_VALUE_NESTING, Timestamp, Value};
use crate::{Error, Result};
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::de::{self, DeserializeSeed, Deserializer as _, MapAccess, SeqAccess, Visitor};
use serde_json::ser::{CompactFormatter, Formatter};
use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};

/// zstd level used for parts unless configured otherwise (zstd's own default).
pub const DEFAULT_ZSTD_LEVEL: i32 = 3;

/// Longest line [`PartDecoder`] accepts. A 1 MiB Firestore document grows in JSON (base64
/// bytes, `\u0000` escapes are 6 bytes for 1); this bound only stops a corrupt part from
/// exhausting memory.
pub const MAX_JSON_LINE_BYTES: usize = 64 * 1024 * 1024;

/// How much JSON [`PartEncoder`] gathers before handing it to zstd (fewer, larger calls).
const ENCODER_CHUNK: usize = 128 * 1024;

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
    out.extend_from_slice(b"{\"name\":");
    write_str(out, &doc.name);
    if !doc.fields.is_empty() {
        out.extend_from_slice(b",\"fields\":");
        write_fields(out, &doc.fields);
    }
    if let Some(t) = &doc.create_time {
        out.extend_from_slice(b",\"createTime\":");
        write_timestamp(out, t);
    }
    if let Some(t) = &doc.update_time {
        out.extend_from_slice(b",\"updateTime\":");
        write_timestamp(out, t);
    }
    out.push(b'}');
}

/// Writes one document's JSON (no trailing newline) to `w`.
pub fn write_document(doc: &Document, w: &mut impl Write) -> Result<()> {
    let bytes = encode_document(doc);
    w.write_all(&bytes)
        .map_err(|e| Error::io("writing a document as JSON", e))
}

fn write_fields(out: &mut Vec<u8>, fields: &BTreeMap<String, Value>) {
    out.push(b'{');
    let mut first = true;
    for (k, v) in fields {
        if !first {
            out.push(b',');
        }
        first = false;
        write_str(out, k);
        out.push(b':');
        write_value(out, v);
    }
    out.push(b'}');
}

fn write_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.extend_from_slice(b"{\"nullValue\":null}"),
        Value::Boolean(true) => out.extend_from_slice(b"{\"booleanValue\":true}"),
        Value::Boolean(false) => out.extend_from_slice(b"{\"booleanValue\":false}"),
        Value::Integer(i) => {
            out.extend_from_slice(b"{\"integerValue\":\"");
            // Writing to a Vec cannot fail.
            let _ = CompactFormatter.write_i64(out, *i);
            out.extend_from_slice(b"\"}");
        }
        Value::Double(d) => {
            out.extend_from_slice(b"{\"doubleValue\":");
            write_f64(out, *d);
            out.push(b'}');
        }
        Value::Timestamp(t) => {
            out.extend_from_slice(b"{\"timestampValue\":");
            write_timestamp(out, t);
            out.push(b'}');
        }
        Value::String(s) => {
            out.extend_from_slice(b"{\"stringValue\":");
            write_str(out, s);
            out.push(b'}');
        }
        Value::Bytes(b) => {
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
        Value::Reference(r) => {
            out.extend_from_slice(b"{\"referenceValue\":");
            write_str(out, r);
            out.push(b'}');
        }
        Value::GeoPoint(g) => {
            out.extend_from_slice(b"{\"geoPointValue\":{\"latitude\":");
            write_f64(out, g.latitude);
            out.extend_from_slice(b",\"longitude\":");
            write_f64(out, g.longitude);
            out.extend_from_slice(b"}}");
        }
        Value::Array(items) => {
            if items.is_empty() {
                out.extend_from_slice(b"{\"arrayValue\":{}}");
                return;
            }
            out.extend_from_slice(b"{\"arrayValue\":{\"values\":[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.extend_from_slice(b"]}}");
        }
        Value::Map(fields) => {
            if fields.is_empty() {
                out.extend_from_slice(b"{\"mapValue\":{}}");
                return;
            }
            out.extend_from_slice(b"{\"mapValue\":{\"fields\":");
            write_fields(out, fields);
            out.extend_from_slice(b"}}");
        }
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

/// Writes `value` as exactly `dst.len()` decimal digits, zero-padded.
fn put_digits(dst: &mut [u8], mut value: u32) {
    for d in dst.iter_mut().rev() {
        *d = b'0' + (value % 10) as u8;
        value /= 10;
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
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc = ESCAPE[b as usize];
        if esc == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
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
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

// ---------------------------------------------------------------------------------------
// Decoding: serde_json's streaming deserializer driving typed visitors (no Value tree).
// ---------------------------------------------------------------------------------------

/// Decodes one document from Firestore REST JSON. Rejects anything that is not exactly a
/// document (unknown or duplicate keys, a value with zero or two types, nesting deeper than
/// [`MAX_VALUE_NESTING`]); never panics, whatever the input.
pub fn decode_document(json: &[u8]) -> Result<Document> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let doc = de
        .deserialize_map(DocumentVisitor)
        .and_then(|doc| de.end().map(|()| doc))
        .map_err(|e| {
            Error::InvalidInput(format!(
                "not a Firestore document in REST JSON form ({e}); \
                 expected {{\"name\": ..., \"fields\": {{...}}, \"createTime\": ..., \"updateTime\": ...}}"
            ))
        })?;
    Ok(doc)
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
