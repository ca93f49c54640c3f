//! The protobuf-to-JSON fast path (`wire::document_json`) writes exactly what the reference
//! path writes (prost decode, `document_from_proto`, the core's `encode_document_to`), or
//! fails exactly as it fails: on random documents with every value type, on documents
//! whose encodings were merged (repeated fields), truncated or corrupted, and on the
//! edge cases protobuf allows but Firestore never sends.

use firekeep_core::model::json::encode_document;
use firekeep_core::model::{Document, GeoPoint, Timestamp, Value};
use firekeep_core::source::{ConflictMode, JsonDocument};
use firekeep_firestore::convert::document_from_proto;
use firekeep_firestore::convert::document_to_proto;
use firekeep_firestore::json_write::{fast_write_bytes, slow_write_bytes, write_bytes};
use firekeep_firestore::proto;
use firekeep_firestore::wire::{document_json, slow_document_json};
use proptest::prelude::*;
use prost::Message as _;
use std::collections::{BTreeMap, HashMap};

fn fast(wire: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = b"prefix".to_vec();
    document_json(wire, &mut out).map_err(|e| e.to_string())?;
    assert!(out.starts_with(b"prefix"), "appends to what is there");
    Ok(out[6..].to_vec())
}

fn slow(wire: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    slow_document_json(wire, &mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

fn arb_timestamp() -> impl Strategy<Value = Timestamp> {
    (
        Timestamp::MIN.seconds()..=Timestamp::MAX.seconds(),
        prop_oneof![Just(0u32), 0..1000u32, 0..1_000_000_000u32],
    )
        .prop_map(|(s, n)| Timestamp::new(s, n).unwrap())
}

fn arb_double() -> impl Strategy<Value = f64> {
    // Every bit pattern, NaN payloads included (the JSON spells every NaN "NaN").
    prop_oneof![any::<u64>().prop_map(f64::from_bits), any::<f64>()]
}

/// Strings with every class the writer's word-at-a-time scan tells apart (plain ASCII,
/// control characters, quote, backslash, DEL, 2/3/4-byte UTF-8), across word boundaries.
fn arb_text() -> impl Strategy<Value = String> {
    let c = prop_oneof![
        4 => proptest::char::range('a', 'z'),
        2 => proptest::char::range('\u{0}', '\u{1f}'),
        1 => Just('"'),
        1 => Just('\\'),
        1 => Just('\u{7f}'),
        1 => Just('é'),
        1 => Just('\u{ffff}'),
        1 => Just('𝄞'),
    ];
    prop_oneof![
        any::<String>(),
        proptest::collection::vec(c, 0..40).prop_map(|v| v.into_iter().collect()),
    ]
}

/// Edge values of every kind, alone: what the fidelity tests promise survives.
fn edge_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(-0.0),
            Just(f64::MIN_POSITIVE / 2.0),
            Just(f64::from_bits(1)),
            Just(f64::MAX),
            Just(f64::MIN),
        ]
        .prop_map(Value::Double),
        prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(0), Just(-1)].prop_map(Value::Integer),
        prop_oneof![
            Just(Timestamp::MIN),
            Just(Timestamp::MAX),
            Just(Timestamp::new(0, 1).unwrap()),
            Just(Timestamp::new(-1, 999_999_999).unwrap()),
        ]
        .prop_map(Value::Timestamp),
        Just(Value::String("\0".into())),
        Just(Value::Bytes(Vec::new())),
    ]
}

fn arb_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Boolean),
        any::<i64>().prop_map(Value::Integer),
        arb_double().prop_map(Value::Double),
        arb_timestamp().prop_map(Value::Timestamp),
        arb_text().prop_map(Value::String),
        edge_scalar(),
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(Value::Bytes),
        "[a-z]{1,8}/[^/]{1,8}".prop_map(|p| Value::Reference(format!(
            "projects/p/databases/(default)/documents/{p}"
        ))),
        (arb_double(), arb_double()).prop_map(|(latitude, longitude)| Value::GeoPoint(GeoPoint {
            latitude,
            longitude
        })),
    ]
}

fn arb_value() -> impl Strategy<Value = Value> {
    arb_scalar().prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(arb_text(), inner, 0..6).prop_map(Value::Map),
        ]
    })
}

fn arb_document() -> impl Strategy<Value = Document> {
    (
        "[a-zA-Z0-9]{1,10}/[^/]{1,20}",
        proptest::collection::btree_map(arb_text(), arb_value(), 0..40),
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn fast_path_writes_what_the_core_encoder_writes(doc in arb_document()) {
        let wire = document_to_proto(&doc).encode_to_vec();
        // prost writes map entries in HashMap order: the fast path must sort them. (The
        // reference is the slow path, not `encode_document(&doc)`: prost's encoder drops
        // a geo point's -0.0 coordinate, which is 0.0 on the wire for both paths.)
        let json = fast(&wire);
        prop_assert!(json.is_ok());
        prop_assert_eq!(json, slow(&wire));
    }

    #[test]
    fn merged_encodings_follow_protobufs_rules(a in arb_document(), b in arb_document()) {
        // Two encodings back to back are one message with every field repeated: the last
        // name and scalar win, maps merge with later keys winning, times merge.
        let mut wire = document_to_proto(&a).encode_to_vec();
        wire.extend(document_to_proto(&b).encode_to_vec());
        prop_assert_eq!(fast(&wire), slow(&wire));
    }

    #[test]
    fn truncated_and_corrupted_encodings_fail_or_match(
        doc in arb_document(),
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        xor in 1..=255u8,
    ) {
        let wire = document_to_proto(&doc).encode_to_vec();
        if !wire.is_empty() {
            let truncated = &wire[..cut.index(wire.len())];
            prop_assert_eq!(fast(truncated), slow(truncated));
            let mut corrupted = wire.clone();
            corrupted[flip.index(wire.len())] ^= xor;
            prop_assert_eq!(fast(&corrupted), slow(&corrupted));
        }
    }
}

fn value(t: proto::value::ValueType) -> proto::Value {
    proto::Value {
        value_type: Some(t),
    }
}

fn doc_with(fields: Vec<(&str, proto::Value)>) -> Vec<u8> {
    proto::Document {
        name: "projects/p/databases/(default)/documents/c/d".into(),
        fields: fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        create_time: None,
        update_time: None,
    }
    .encode_to_vec()
}

#[test]
fn edge_cases_match_the_reference_path() {
    use proto::value::ValueType as T;
    let cases = vec![
        // A value with no kind is null; a null of any enum number is null.
        doc_with(vec![("a", proto::Value { value_type: None })]),
        doc_with(vec![("a", value(T::NullValue(7)))]),
        // Value kinds documents cannot hold are an error.
        doc_with(vec![("a", value(T::FieldReferenceValue("x".into())))]),
        // Timestamps out of range or with negative nanos are errors.
        doc_with(vec![(
            "t",
            value(T::TimestampValue(prost_types::Timestamp {
                seconds: i64::MAX,
                nanos: 0,
            })),
        )]),
        doc_with(vec![(
            "t",
            value(T::TimestampValue(prost_types::Timestamp {
                seconds: 0,
                nanos: -1,
            })),
        )]),
        // Empty containers and deep nesting.
        doc_with(vec![
            (
                "a",
                value(T::ArrayValue(proto::ArrayValue { values: vec![] })),
            ),
            (
                "m",
                value(T::MapValue(proto::MapValue {
                    fields: HashMap::new(),
                })),
            ),
        ]),
        doc_with(vec![("deep", {
            let mut v = value(T::IntegerValue(1));
            for _ in 0..40 {
                v = value(T::ArrayValue(proto::ArrayValue { values: vec![v] }));
            }
            v
        })]),
        // No fields, no name.
        proto::Document::default().encode_to_vec(),
        // Empty input.
        Vec::new(),
    ];
    for wire in &cases {
        assert_eq!(fast(wire), slow(wire), "{wire:?}");
    }
    // Invalid UTF-8 in a string value, spliced into an otherwise valid encoding.
    let mut bad = doc_with(vec![("s", value(T::StringValue("\u{1}".into())))]);
    let at = bad.iter().position(|b| *b == 1).unwrap();
    bad[at] = 0xff;
    assert!(fast(&bad).is_err());
    assert_eq!(fast(&bad), slow(&bad));
    // An unknown field in the document is skipped by prost, and so the same output.
    let mut unknown = doc_with(vec![("a", value(T::BooleanValue(true)))]);
    unknown.extend([0xf8, 0x01, 0x05]); // field 31, varint 5
    assert_eq!(fast(&unknown), slow(&unknown));
    assert!(fast(&unknown).is_ok());
}

#[test]
fn every_value_kind_is_written_as_documented() {
    let mut fields = BTreeMap::new();
    fields.insert("n".to_owned(), Value::Null);
    fields.insert("b".to_owned(), Value::Boolean(true));
    fields.insert("i".to_owned(), Value::Integer(i64::MIN));
    fields.insert("d".to_owned(), Value::Double(-0.0));
    fields.insert("t".to_owned(), Value::Timestamp(Timestamp::MAX));
    fields.insert("s".to_owned(), Value::String("q\"\\\n\0é𝄞".into()));
    fields.insert("y".to_owned(), Value::Bytes(vec![0xff, 0]));
    fields.insert(
        "g".to_owned(),
        Value::GeoPoint(GeoPoint {
            latitude: -90.0,
            longitude: 180.0,
        }),
    );
    let doc = Document {
        name: "projects/p/databases/(default)/documents/c/d".into(),
        fields,
        create_time: Some(Timestamp::MIN),
        update_time: Some(Timestamp::new(1, 5_000).unwrap()),
    };
    let wire = document_to_proto(&doc).encode_to_vec();
    assert_eq!(
        String::from_utf8(fast(&wire).unwrap()).unwrap(),
        String::from_utf8(encode_document(&doc)).unwrap()
    );
}

#[test]
fn invalid_utf8_anywhere_in_any_string_fails_as_the_reference_does() {
    use proto::value::ValueType as T;
    // Three bytes each, replacing a three-byte marker so every length prefix stays right:
    // a byte UTF-8 never uses, a lead byte without its continuation, a UTF-16 surrogate,
    // a truncated 4-byte sequence, a truncated sequence at the end, an overlong NUL. Put
    // before, on and after the scan's 8-byte word boundaries, in a string value, a
    // reference, a map key, a field name and the document name.
    let bads: [&[u8; 3]; 6] = [
        &[0xff, b'Q', b'Q'],
        &[0xc3, b'Q', b'Q'],
        &[0xed, 0xa0, 0x80],
        &[0xf0, 0x9d, 0x84],
        &[b'Q', b'Q', 0xc3],
        &[0xc0, 0x80, b'Q'],
    ];
    const MARKER: &[u8] = b"\x01QQ";
    for at in 0..18 {
        let text = format!("{}\u{1}QQ", "p".repeat(at));
        let mut inner = HashMap::new();
        inner.insert(text.clone(), value(T::BooleanValue(true)));
        let docs = [
            doc_with(vec![("s", value(T::StringValue(text.clone())))]),
            doc_with(vec![("r", value(T::ReferenceValue(text.clone())))]),
            doc_with(vec![(
                "m",
                value(T::MapValue(proto::MapValue { fields: inner })),
            )]),
            doc_with(vec![(text.as_str(), value(T::NullValue(0)))]),
            proto::Document {
                name: text.clone(),
                ..Default::default()
            }
            .encode_to_vec(),
        ];
        for wire in docs {
            let ok = fast(&wire);
            assert!(ok.is_ok());
            assert_eq!(ok, slow(&wire));
            let pos = wire.windows(3).position(|w| w == MARKER).unwrap();
            for bad in bads {
                let mut corrupt = wire.clone();
                corrupt[pos..pos + 3].copy_from_slice(bad);
                let got = fast(&corrupt);
                assert!(got.is_err(), "{bad:?} at {at}");
                assert_eq!(got, slow(&corrupt), "{bad:?} at {at}");
            }
        }
    }
}

/// The fast path dispatches on a value's key byte(s): every other encoding of a value
/// (another wire type, a second field, a padded key, trailing bytes) must give the
/// reference path's output or error.
#[test]
fn value_encodings_off_the_dispatch_table_match_the_reference_path() {
    fn doc_with_raw_value(value: &[u8]) -> Vec<u8> {
        let mut entry = vec![0x0a, 0x01, b'a', 0x12, value.len() as u8];
        entry.extend_from_slice(value);
        let mut doc = vec![0x12, entry.len() as u8];
        doc.extend_from_slice(&entry);
        doc
    }
    let values: &[&[u8]] = &[
        &[],
        &[0x08, 0x01],                   // boolean
        &[0x08, 0x01, 0x10, 0x05],       // boolean, then integer: two kinds
        &[0x10, 0x05, 0x10, 0x06],       // integer twice
        &[0x10, 0x96, 0x01],             // two-byte integer
        &[0x12, 0x00],                   // integer as bytes: wrong wire type
        &[0x19, 1, 2, 3, 4, 5, 6, 7, 8], // double
        &[0x19, 1, 2, 3, 4, 5, 6, 7],    // short double
        &[0x19, 1, 2, 3, 4, 5, 6, 7, 8, 0x08, 0x01],
        &[0x58, 0x00],                   // null
        &[0x58, 0x00, 0x00],             // null, then a bad key
        &[0x8a, 0x01, 0x01, b'x'],       // string
        &[0x8a, 0x01, 0x02, b'x'],       // string, length past the end
        &[0x8a, 0x01, 0x00, 0x08, 0x01], // string, then boolean
        &[0x8a, 0x81, 0x00, 0x01, b'x'], // string with a padded three-byte key
        &[0x88, 0x01, 0x01],             // field 17 as a varint
        &[0x92, 0x01, 0x01, 0xff],       // bytes
        &[0x2a, 0x01, b'x'],             // reference (not a document name)
        &[0x32, 0x00],                   // empty map
        &[0x4a, 0x00],                   // empty array
        &[0x4a, 0x02, 0x0a, 0x00],       // array of one null
        &[0x52, 0x02, 0x08, 0x01],       // timestamp
        &[0x42, 0x00],                   // geo point 0, 0
        &[0xf8, 0x01, 0x05],             // unknown field 31
        &[0x00, 0x00],                   // field 0
    ];
    for value in values {
        let doc = doc_with_raw_value(value);
        assert_eq!(fast(&doc), slow(&doc), "{value:02x?}");
    }
}

/// Map entries are read by their key bytes when they are key-then-value; every other
/// entry encoding must give the reference path's output or error.
#[test]
fn map_entry_encodings_match_the_reference_path() {
    let entries: &[&[u8]] = &[
        &[0x0a, 0x01, b'a', 0x12, 0x02, 0x08, 0x01], // key, value
        &[0x12, 0x02, 0x08, 0x01, 0x0a, 0x01, b'a'], // value, key
        &[0x0a, 0x01, b'a'],                         // no value: null
        &[0x12, 0x02, 0x08, 0x01],                   // no key: ""
        &[],                                         // neither
        &[0x0a, 0x01, b'a', 0x12, 0x00],             // empty value: null
        &[0x0a, 0x01, b'a', 0x12, 0x02, 0x08, 0x01, 0x0a, 0x01, b'b'], // key twice
        &[0x0a, 0x01, b'a', 0x12, 0x02, 0x08, 0x01, 0x18, 0x01], // unknown field
        &[0x0a, 0x05, b'a', 0x12, 0x02, 0x08, 0x01], // key length past the end
        &[0x0a, 0x01, b'a', 0x12, 0x03, 0x08, 0x01], // value length past the end
        &[0x0a, 0x01, 0xff, 0x12, 0x02, 0x08, 0x01], // key not UTF-8
    ];
    for entry in entries {
        // As a document field and as the entry of a map value.
        let mut doc = vec![0x12, entry.len() as u8];
        doc.extend_from_slice(entry);
        assert_eq!(fast(&doc), slow(&doc), "field {entry:02x?}");
        let mut map = vec![0x0a, entry.len() as u8];
        map.extend_from_slice(entry);
        let mut value = vec![0x32, map.len() as u8];
        value.extend_from_slice(&map);
        let mut field = vec![0x0a, 0x01, b'm', 0x12, value.len() as u8];
        field.extend_from_slice(&value);
        let mut doc = vec![0x12, field.len() as u8];
        doc.extend_from_slice(&field);
        assert_eq!(fast(&doc), slow(&doc), "map entry {entry:02x?}");
    }
}

// ---------------------------------------------------------------------------------------
// The reverse direction, for restore: a JSON line straight to the protobuf `Write`
// (`json_write::write_bytes`) against decoding it and encoding prost's `Write`.
// ---------------------------------------------------------------------------------------

/// A target name longer than 127 bytes, so the outer lengths take two bytes.
const TARGET: &str = "projects/target-project/databases/restored/documents/";

fn line_of(json: Vec<u8>, rel: &str) -> JsonDocument {
    JsonDocument::new(format!("{TARGET}{rel}"), json.into())
}

fn direct_write(doc: &JsonDocument, mode: ConflictMode) -> Result<Vec<u8>, String> {
    let mut out = b"prefix".to_vec();
    write_bytes(doc, mode, &mut out).map_err(|e| e.to_string())?;
    assert!(out.starts_with(b"prefix"), "appends to what is there");
    Ok(out[6..].to_vec())
}

fn reference_write(doc: &JsonDocument, mode: ConflictMode) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    slow_write_bytes(doc, mode, &mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// The line checked as the engine checks it (`JsonDocument::check`) is accepted exactly
/// when it decodes, and the trusted walk then writes exactly the validating walk's bytes
/// (the unchecked line's, which the caller compares to prost's).
fn checked_writes_the_same(line: &JsonDocument, mode: ConflictMode) -> Result<(), TestCaseError> {
    prop_assert!(!line.is_checked());
    let checked = JsonDocument::check(line.name().to_owned(), line.json().clone());
    prop_assert_eq!(checked.is_ok(), line.decode().is_ok(), "{:?}", checked);
    if let Ok(checked) = checked {
        prop_assert!(checked.is_checked());
        let mut fast = Vec::new();
        let mut validated = Vec::new();
        prop_assert_eq!(
            fast_write_bytes(&checked, mode, &mut fast),
            fast_write_bytes(line, mode, &mut validated)
        );
        prop_assert_eq!(&fast, &validated);
        // Lines either walk leaves go to prost (its map order varies from call to call).
        match (direct_write(&checked, mode), direct_write(line, mode)) {
            (Ok(a), Ok(b)) => same_write(&a, &b)?,
            (a, b) => prop_assert_eq!(a, b),
        }
    }
    Ok(())
}

/// Whether any map (the document's fields included) has two entries or more: only then
/// may prost's `HashMap` order differ from the direct path's key order.
fn has_unordered_maps(fields: &BTreeMap<String, Value>) -> bool {
    fn value(v: &Value) -> bool {
        match v {
            Value::Map(m) => has_unordered_maps(m),
            Value::Array(items) => items.iter().any(value),
            _ => false,
        }
    }
    fields.len() > 1 || fields.values().any(value)
}

/// The same `Write` bytes up to map entry order: the same length, and decoded, the same
/// write (fields compared bit for bit as core values, so NaN and -0.0 count).
fn same_write(a: &[u8], b: &[u8]) -> Result<(), TestCaseError> {
    prop_assert_eq!(a.len(), b.len());
    let (a, b) = (
        proto::Write::decode(a).unwrap(),
        proto::Write::decode(b).unwrap(),
    );
    prop_assert_eq!(&a.current_document, &b.current_document);
    prop_assert_eq!(&a.update_mask, &b.update_mask);
    prop_assert!(a.update_transforms.is_empty() && b.update_transforms.is_empty());
    let doc = |w: proto::Write| match w.operation {
        Some(proto::write::Operation::Update(d)) => document_from_proto(d).unwrap(),
        other => panic!("not an update: {other:?}"),
    };
    prop_assert_eq!(doc(a), doc(b));
    Ok(())
}

fn arb_mode() -> impl Strategy<Value = ConflictMode> {
    prop_oneof![
        Just(ConflictMode::Overwrite),
        Just(ConflictMode::SkipExisting),
        Just(ConflictMode::FailIfExists),
    ]
}

/// A value nested `depth` levels (maps and arrays alternating as `kinds` says), around
/// `leaf`; empty containers at the bottom when `empty`.
fn nested(depth: usize, kinds: u32, leaf: Value, empty: bool) -> Value {
    let mut v = leaf;
    for level in 0..depth {
        let map = kinds >> (level % 32) & 1 == 1;
        v = match (map, empty && level == 0) {
            (true, true) => Value::Map(BTreeMap::new()),
            (false, true) => Value::Array(Vec::new()),
            (true, false) => Value::Map(BTreeMap::from([("k".to_owned(), v)])),
            (false, false) => Value::Array(vec![v]),
        };
    }
    v
}

fn arb_single_entry_value() -> impl Strategy<Value = Value> {
    arb_scalar().prop_recursive(6, 32, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(arb_text(), inner, 0..=1).prop_map(Value::Map),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Every value type and edge: the direct `Write` is prost's, up to map entry order.
    #[test]
    fn json_write_is_prosts_write(doc in arb_document(), mode in arb_mode()) {
        let line = line_of(encode_document(&doc), "c/d");
        let direct = direct_write(&line, mode);
        let reference = reference_write(&line, mode);
        prop_assert!(reference.is_ok(), "{:?}", reference);
        let (direct, reference) = (direct.unwrap(), reference.unwrap());
        same_write(&direct, &reference)?;
        if !has_unordered_maps(&doc.fields) {
            prop_assert_eq!(&direct, &reference);
        }
        // Restore sizes batches by `JsonDocument::size`: an upper bound of the request
        // share (the write plus its key and length, as the connector counts it).
        prop_assert!(direct.len() + 16 <= line.size(), "{} > {}", direct.len() + 16, line.size());
        checked_writes_the_same(&line, mode)?;
    }

    /// Documents whose maps have at most one entry: byte for byte what prost writes.
    #[test]
    fn json_write_is_prosts_bytes(
        fields in proptest::collection::btree_map(arb_text(), arb_single_entry_value(), 0..=1),
        mode in arb_mode(),
    ) {
        let doc = Document::new("projects/p/databases/(default)/documents/c/d", fields);
        let line = line_of(encode_document(&doc), "c/d");
        prop_assert_eq!(direct_write(&line, mode), reference_write(&line, mode));
        checked_writes_the_same(&line, mode)?;
    }

    /// Nesting to Firestore's limit (20) is written; deeper fails as decoding fails.
    #[test]
    fn json_write_nesting(
        depth in 15usize..=22,
        kinds in any::<u32>(),
        leaf in arb_scalar(),
        empty in any::<bool>(),
        mode in arb_mode(),
    ) {
        let doc = Document::new(
            "projects/p/databases/(default)/documents/c/d",
            BTreeMap::from([("deep".to_owned(), nested(depth, kinds, leaf, empty))]),
        );
        let line = line_of(encode_document(&doc), "c/d");
        let (direct, reference) = (direct_write(&line, mode), reference_write(&line, mode));
        prop_assert_eq!(direct.is_ok(), depth <= 20);
        prop_assert_eq!(direct, reference);
        checked_writes_the_same(&line, mode)?;
    }

    /// A damaged line: the direct path fails as decoding fails, or writes the same.
    #[test]
    fn json_write_of_damaged_lines_fails_or_matches(
        doc in arb_document(),
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        xor in 1..=255u8,
        mode in arb_mode(),
    ) {
        let json = encode_document(&doc);
        let truncated = line_of(json[..cut.index(json.len())].to_vec(), "c/d");
        prop_assert_eq!(direct_write(&truncated, mode), reference_write(&truncated, mode));
        checked_writes_the_same(&truncated, mode)?;
        let mut corrupted = json.clone();
        corrupted[flip.index(json.len())] ^= xor;
        let corrupted = line_of(corrupted, "c/d");
        match (direct_write(&corrupted, mode), reference_write(&corrupted, mode)) {
            (Ok(a), Ok(b)) => same_write(&a, &b)?,
            (a, b) => prop_assert_eq!(a, b),
        }
        checked_writes_the_same(&corrupted, mode)?;
    }
}

/// Lines as firekeep writes them take the direct path (the properties above would hold if
/// every line fell back): every value kind and edge without escapes, nested maps.
#[test]
fn json_write_takes_the_direct_path() {
    let mut inner = BTreeMap::new();
    inner.insert(
        "é𝄞".to_owned(),
        Value::Array(vec![Value::Null, Value::Map(BTreeMap::new())]),
    );
    inner.insert(String::new(), Value::Array(Vec::new()));
    let fields = BTreeMap::from([
        ("b".to_owned(), Value::Boolean(false)),
        ("d".to_owned(), Value::Double(-0.0)),
        (
            "g".to_owned(),
            Value::GeoPoint(GeoPoint {
                latitude: -0.0,
                longitude: 1.5,
            }),
        ),
        ("i".to_owned(), Value::Integer(i64::MIN)),
        ("m".to_owned(), Value::Map(inner)),
        ("n".to_owned(), Value::Double(f64::NAN)),
        (
            "r".to_owned(),
            Value::Reference("projects/p/databases/(default)/documents/c/e".into()),
        ),
        ("s".to_owned(), Value::String("x".repeat(300))),
        ("t".to_owned(), Value::Timestamp(Timestamp::MIN)),
        ("u".to_owned(), Value::Timestamp(Timestamp::MAX)),
        ("x".to_owned(), Value::Double(f64::NEG_INFINITY)),
        ("y".to_owned(), Value::Bytes(vec![0, 0xff, 7])),
    ]);
    let doc = Document {
        name: "projects/p/databases/(default)/documents/c/d".into(),
        fields,
        create_time: Some(Timestamp::MIN),
        update_time: Some(Timestamp::MAX),
    };
    let line = line_of(encode_document(&doc), "c/d");
    for mode in [ConflictMode::Overwrite, ConflictMode::FailIfExists] {
        let mut fast = Vec::new();
        assert!(fast_write_bytes(&line, mode, &mut fast));
        let reference = reference_write(&line, mode).unwrap();
        same_write(&fast, &reference).unwrap();
        // Checked, the line takes the trusted walk: the same bytes.
        let checked = JsonDocument::check(line.name().to_owned(), line.json().clone()).unwrap();
        let mut trusted = Vec::new();
        assert!(fast_write_bytes(&checked, mode, &mut trusted));
        assert_eq!(trusted, fast);
    }
    // An escape in a string is left to the slow path, with the same result.
    let mut escaped = doc.clone();
    escaped
        .fields
        .insert("s".to_owned(), Value::String("a\nb\"".into()));
    let line = line_of(encode_document(&escaped), "c/d");
    assert!(!fast_write_bytes(
        &line,
        ConflictMode::Overwrite,
        &mut Vec::new()
    ));
    assert!(direct_write(&line, ConflictMode::Overwrite).is_ok());
}

/// What the check settles is still refused on unchecked lines (control characters,
/// invalid UTF-8, bad document timestamps), and such lines are never marked checked.
#[test]
fn unchecked_lines_are_validated_in_full() {
    let doc = Document {
        name: "projects/p/databases/(default)/documents/c/d".into(),
        fields: BTreeMap::from([("s".to_owned(), Value::String("abcdefghijklmnop".into()))]),
        create_time: Some(Timestamp::MIN),
        update_time: None,
    };
    let json = encode_document(&doc);
    let text = String::from_utf8(json.clone()).unwrap();
    // A raw control character or invalid UTF-8 inside a string (past its first eight
    // bytes, where the word-at-a-time search looks); a broken document timestamp.
    let at = text.find("ijkl").unwrap() + 2;
    let mut bad: Vec<Vec<u8>> = [0x01u8, 0x1f, 0xff, 0xc3, 0x80]
        .into_iter()
        .map(|b| {
            let mut line = json.clone();
            line[at] = b;
            line
        })
        .collect();
    let created = Timestamp::MIN.to_string();
    assert!(text.contains(&created), "{text}");
    bad.push(text.replacen(&created[..7], "0001-13", 1).into_bytes());
    for line in bad {
        let unchecked = line_of(line.clone(), "c/d");
        assert!(!unchecked.is_checked());
        let reference = reference_write(&unchecked, ConflictMode::Overwrite);
        assert!(reference.is_err(), "{}", String::from_utf8_lossy(&line));
        assert_eq!(direct_write(&unchecked, ConflictMode::Overwrite), reference);
        assert!(JsonDocument::check(unchecked.name().to_owned(), line.into()).is_err());
    }
    // An escaped control character is valid, checked or not.
    let escaped = text.replacen("ijkl", "ij\\u0001l", 1).into_bytes();
    let unchecked = line_of(escaped.clone(), "c/d");
    let checked = JsonDocument::check(unchecked.name().to_owned(), escaped.into()).unwrap();
    assert_eq!(
        direct_write(&checked, ConflictMode::Overwrite),
        direct_write(&unchecked, ConflictMode::Overwrite)
    );
    assert!(direct_write(&unchecked, ConflictMode::Overwrite).is_ok());
}
