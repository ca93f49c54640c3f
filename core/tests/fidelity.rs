//! Data fidelity: every Firestore value survives the REST JSON codec and a zstd part
//! bit for bit (DESIGN.md, "Data fidelity").

use firekeep_core::engine::{PartDecoder, PartEncoder, decode_part, encode_part};
use firekeep_core::model::json::{decode_document, encode_document};
use firekeep_core::model::{Document, GeoPoint, MAX_VALUE_NESTING, Timestamp, Value};
use proptest::prelude::*;
use std::collections::BTreeMap;

const NAME: &str = "projects/demo/databases/(default)/documents/things/one";

fn doc_with(fields: Vec<(&str, Value)>) -> Document {
    let mut doc = Document::new(
        NAME,
        fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
    );
    doc.create_time = Some(Timestamp::new(1_700_000_000, 123_456_789).unwrap());
    doc.update_time = Some(Timestamp::new(1_700_000_001, 1).unwrap());
    doc
}

/// Asserts `doc` survives encode/decode and a compressed part (alone and among others),
/// and returns its JSON for further checks.
fn assert_round_trip(doc: &Document) -> Vec<u8> {
    let json = encode_document(doc);
    assert!(
        !json.contains(&b'\n'),
        "a document must be a single JSON line"
    );
    let back = decode_document(&json).expect("decoding what we encoded");
    assert_eq!(&back, doc, "JSON round trip changed the document");

    let neighbour = doc_with(vec![("n", Value::Integer(1))]);
    let part = encode_part([&neighbour, doc, &neighbour]).unwrap();
    let docs = decode_part(&part).unwrap();
    assert_eq!(docs.len(), 3);
    assert_eq!(&docs[1], doc, "part round trip changed the document");
    assert_eq!(docs[0], neighbour);
    json
}

fn double_bits(doc: &Document, field: &str) -> u64 {
    match &doc.fields[field] {
        Value::Double(d) => d.to_bits(),
        other => panic!("{field} is {other:?}, not a double"),
    }
}

#[test]
fn doubles_special_values_are_exact() {
    let specials = [
        ("neg_zero", -0.0),
        ("pos_zero", 0.0),
        ("inf", f64::INFINITY),
        ("neg_inf", f64::NEG_INFINITY),
        ("nan", f64::NAN),
        ("min_subnormal", f64::from_bits(1)),
        ("max_subnormal", f64::from_bits(0x000f_ffff_ffff_ffff)),
        ("neg_subnormal", -f64::from_bits(3)),
        ("min_positive", f64::MIN_POSITIVE),
        ("max", f64::MAX),
        ("min", f64::MIN),
        ("epsilon", f64::EPSILON),
        ("one", 1.0),
        ("tenth", 0.1),
        ("big_int", 9_007_199_254_740_993.0),
    ];
    let doc = doc_with(
        specials
            .iter()
            .map(|(k, v)| (*k, Value::Double(*v)))
            .collect(),
    );
    let json = assert_round_trip(&doc);
    let back = decode_document(&json).unwrap();
    for (k, v) in specials {
        assert_eq!(double_bits(&back, k), v.to_bits(), "{k} changed");
    }
    let text = String::from_utf8(json).unwrap();
    assert!(
        text.contains(r#""neg_zero":{"doubleValue":-0.0}"#),
        "{text}"
    );
    assert!(text.contains(r#""nan":{"doubleValue":"NaN"}"#), "{text}");
    assert!(
        text.contains(r#""inf":{"doubleValue":"Infinity"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#""neg_inf":{"doubleValue":"-Infinity"}"#),
        "{text}"
    );
    // Integral doubles stay doubles in JSON (a bare `1` would read back as an integer
    // in other tools).
    assert!(text.contains(r#""one":{"doubleValue":1.0}"#), "{text}");
}

#[test]
fn nan_payloads_decode_as_the_canonical_nan() {
    // The JSON mapping has one spelling, "NaN", for every NaN; Firestore stores NaN the
    // same way. Every payload therefore comes back as f64::NAN (documented in json.rs).
    for bits in [
        0x7ff8_0000_0000_0000u64,
        0x7ff0_0000_0000_0001,
        0xfff8_0000_0000_0000,
        0x7fff_ffff_ffff_ffff,
    ] {
        let doc = doc_with(vec![("x", Value::Double(f64::from_bits(bits)))]);
        let back = decode_document(&encode_document(&doc)).unwrap();
        assert_eq!(double_bits(&back, "x"), f64::NAN.to_bits());
    }
}

#[test]
fn integer_extremes() {
    let doc = doc_with(vec![
        ("min", Value::Integer(i64::MIN)),
        ("max", Value::Integer(i64::MAX)),
        ("zero", Value::Integer(0)),
        ("neg", Value::Integer(-1)),
    ]);
    let text = String::from_utf8(assert_round_trip(&doc)).unwrap();
    assert!(text.contains(r#""min":{"integerValue":"-9223372036854775808"}"#));
    assert!(text.contains(r#""max":{"integerValue":"9223372036854775807"}"#));
}

#[test]
fn timestamps_to_the_nanosecond_over_the_whole_range() {
    let stamps = [
        Timestamp::MIN,
        Timestamp::new(Timestamp::MIN.seconds(), 1).unwrap(),
        Timestamp::MAX,
        Timestamp::new(Timestamp::MAX.seconds(), 0).unwrap(),
        Timestamp::new(0, 1).unwrap(),
        Timestamp::new(-1, 999_999_999).unwrap(),
        Timestamp::new(1_714_564_800, 500_000_000).unwrap(),
        Timestamp::new(1_714_564_800, 123_000).unwrap(),
    ];
    let mut doc = doc_with(
        stamps
            .iter()
            .enumerate()
            .map(|(i, t)| {
                (
                    ["a", "b", "c", "d", "e", "f", "g", "h"][i],
                    Value::Timestamp(*t),
                )
            })
            .collect(),
    );
    doc.create_time = Some(Timestamp::MIN);
    doc.update_time = Some(Timestamp::MAX);
    let text = String::from_utf8(assert_round_trip(&doc)).unwrap();
    assert!(text.contains(r#""timestampValue":"0001-01-01T00:00:00.000000001Z""#));
    assert!(text.contains(r#""updateTime":"9999-12-31T23:59:59.999999999Z""#));
}

#[test]
fn bytes_strings_and_keys() {
    let all_bytes: Vec<u8> = (0..=255u8).collect();
    let tricky = "nul\0 tab\t nl\n cr\r quote\" backslash\\ del\x7f bell\x07 \u{2028} \
                  astral 𝄞😀🏳️‍🌈 bom\u{feff} max\u{10ffff}";
    let mut nested = BTreeMap::new();
    nested.insert("\0".to_owned(), Value::String("\0".into()));
    nested.insert("😀 key".to_owned(), Value::Bytes(vec![]));
    nested.insert(String::new(), Value::Null);
    let doc = doc_with(vec![
        ("bytes", Value::Bytes(all_bytes.clone())),
        ("empty_bytes", Value::Bytes(vec![])),
        ("string", Value::String(tricky.into())),
        ("empty_string", Value::String(String::new())),
        ("k\0ey 𝄞", Value::Boolean(true)),
        ("\"quoted\\key\"", Value::Boolean(false)),
        ("map", Value::Map(nested)),
    ]);
    let text = String::from_utf8(assert_round_trip(&doc)).unwrap();
    // bytesValue is standard base64 with padding.
    assert!(text.contains(r#""empty_bytes":{"bytesValue":""}"#));
    assert!(text.contains(r#"{"bytesValue":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/w=="}"#));
    // Astral characters are written as UTF-8, not escaped surrogate pairs.
    assert!(text.contains("𝄞😀"));
}

#[test]
fn references_geopoints_null_and_booleans() {
    let doc = doc_with(vec![
        (
            "ref",
            Value::Reference(
                "projects/demo/databases/(default)/documents/users/ünï/posts/1".into(),
            ),
        ),
        (
            "geo",
            Value::GeoPoint(GeoPoint {
                latitude: -90.0,
                longitude: 179.999_999_999_999_97,
            }),
        ),
        (
            "geo_zero",
            Value::GeoPoint(GeoPoint {
                latitude: -0.0,
                longitude: 0.0,
            }),
        ),
        ("null", Value::Null),
        ("t", Value::Boolean(true)),
        ("f", Value::Boolean(false)),
        ("empty_array", Value::Array(vec![])),
        ("empty_map", Value::Map(BTreeMap::new())),
    ]);
    let text = String::from_utf8(assert_round_trip(&doc)).unwrap();
    assert!(text.contains(r#""null":{"nullValue":null}"#));
    assert!(text.contains(r#""empty_array":{"arrayValue":{}}"#));
    assert!(text.contains(r#""empty_map":{"mapValue":{}}"#));
    assert!(text.contains(r#"{"geoPointValue":{"latitude":-0.0,"longitude":0.0}}"#));
}

#[test]
fn document_without_fields_or_times() {
    let doc = Document::new(NAME, BTreeMap::new());
    let json = assert_round_trip(&doc);
    assert_eq!(json, format!(r#"{{"name":"{NAME}"}}"#).into_bytes());
}

/// `depth` nested containers, alternating arrays and maps, with a scalar at the bottom.
fn nested(depth: usize) -> Value {
    let mut v = Value::Integer(depth as i64);
    for level in 0..depth {
        v = if level % 2 == 0 {
            Value::Array(vec![Value::Null, v])
        } else {
            Value::Map(BTreeMap::from([("k".to_owned(), v)]))
        };
    }
    v
}

#[test]
fn nesting_to_the_limit_and_not_beyond() {
    let deepest = nested(MAX_VALUE_NESTING);
    assert_eq!(deepest.nesting_depth(), MAX_VALUE_NESTING);
    let mut only_maps = Value::Null;
    let mut only_arrays = Value::Null;
    for _ in 0..MAX_VALUE_NESTING {
        only_maps = Value::Map(BTreeMap::from([("m".to_owned(), only_maps)]));
        only_arrays = Value::Array(vec![only_arrays]);
    }
    let doc = doc_with(vec![
        ("deep", deepest),
        ("maps", only_maps.clone()),
        ("arrays", only_arrays.clone()),
    ]);
    assert_round_trip(&doc);

    for too_deep in [
        nested(MAX_VALUE_NESTING + 1),
        Value::Map(BTreeMap::from([("m".to_owned(), only_maps)])),
        Value::Array(vec![only_arrays]),
    ] {
        assert_eq!(too_deep.nesting_depth(), MAX_VALUE_NESTING + 1);
        // The encoder writes what it is given; the decoder refuses what Firestore would.
        let json = encode_document(&doc_with(vec![("deep", too_deep)]));
        let err = decode_document(&json).unwrap_err().to_string();
        assert!(err.contains("nested more than 20 levels"), "{err}");
    }
}

#[test]
fn a_one_mebibyte_document() {
    // Just under Firestore's 1 MiB document limit in raw payload; larger as JSON
    // (base64, escapes).
    let big_string: String = "firekeep 🔥 \0\n".repeat(32 * 1024);
    let big_bytes: Vec<u8> = (0..450_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let many: Vec<Value> = (0..4096).map(|i| Value::Double(i as f64 / 7.0)).collect();
    let payload = big_string.len() + big_bytes.len() + many.len() * 8;
    assert!((1_000_000..1024 * 1024).contains(&payload), "{payload}");
    let doc = doc_with(vec![
        ("s", Value::String(big_string)),
        ("b", Value::Bytes(big_bytes)),
        ("a", Value::Array(many)),
    ]);
    let json = assert_round_trip(&doc);
    assert!(json.len() > 1024 * 1024);
}

#[test]
fn many_documents_stream_through_one_part() {
    let docs: Vec<Document> = (0..3000)
        .map(|i| {
            let mut d = doc_with(vec![
                ("i", Value::Integer(i)),
                (
                    "s",
                    Value::String(format!(
                        "document number {i} {}",
                        "x".repeat(i as usize % 97)
                    )),
                ),
                ("d", Value::Double(i as f64 * -0.5)),
            ]);
            d.name = format!("projects/demo/databases/(default)/documents/c/{i:05}");
            d
        })
        .collect();
    let mut enc = PartEncoder::with_level(1).unwrap();
    for d in &docs {
        enc.push(d).unwrap();
    }
    assert_eq!(enc.document_count(), 3000);
    let json_bytes = enc.json_bytes();
    let part = enc.finish().unwrap();
    assert!(
        (part.len() as u64) < json_bytes / 3,
        "zstd should compress repetitive JSON"
    );

    // The streaming decoder yields the same documents, from a slice and from a reader.
    let streamed: Vec<Document> = PartDecoder::new(&part)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(streamed, docs);
    let from_reader: Vec<Document> = PartDecoder::from_reader(std::io::Cursor::new(part.clone()))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(from_reader, docs);

    // A decrypted part is plain zstd NDJSON: any tool reads it.
    let plain = zstd::decode_all(&part[..]).unwrap();
    assert_eq!(plain.len() as u64, json_bytes);
    assert_eq!(plain.iter().filter(|&&b| b == b'\n').count(), 3000);
    for line in plain
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .take(5)
    {
        let v: serde_json::Value = serde_json::from_slice(line).unwrap();
        assert!(v["fields"]["i"]["integerValue"].is_string());
    }
}

#[test]
fn empty_part_and_compression_levels() {
    let empty = PartEncoder::new().unwrap().finish().unwrap();
    assert!(decode_part(&empty).unwrap().is_empty());
    let doc = doc_with(vec![("x", Value::String("y".repeat(10_000)))]);
    for level in [1, 3, 19] {
        let mut enc = PartEncoder::with_level(level).unwrap();
        enc.push(&doc).unwrap();
        assert_eq!(
            decode_part(&enc.finish().unwrap()).unwrap(),
            vec![doc.clone()]
        );
    }
    let err = PartEncoder::with_level(99).unwrap_err();
    assert_eq!(err.code(), "ERR_INVALID_CONFIG");
}

#[test]
fn corrupt_parts_are_errors_not_panics() {
    let docs: Vec<Document> = (0..50)
        .map(|i| doc_with(vec![("i", Value::Integer(i))]))
        .collect();
    let part = encode_part(&docs).unwrap();
    for cut in [0, 1, 4, part.len() / 2, part.len() - 1] {
        assert!(
            decode_part(&part[..cut]).is_err() || cut == 0,
            "cut at {cut}"
        );
    }
    assert!(decode_part(b"not zstd at all").is_err());
    // Valid zstd but not documents.
    let garbage = zstd::encode_all(&b"{\"name\":\"x\"}\nnot json\n"[..], 3).unwrap();
    let mut it = PartDecoder::new(&garbage).unwrap();
    assert!(it.next().unwrap().is_ok());
    let err = it.next().unwrap().unwrap_err().to_string();
    assert!(err.contains("line 2"), "{err}");
    assert!(it.next().is_none(), "decoding stops after an error");
}

// ---------------------------------------------------------------------------------------
// Property tests.
// ---------------------------------------------------------------------------------------

fn arb_timestamp() -> impl Strategy<Value = Timestamp> {
    (
        Timestamp::MIN.seconds()..=Timestamp::MAX.seconds(),
        prop_oneof![Just(0u32), 0..1000u32, 0..1_000_000_000u32],
    )
        .prop_map(|(s, n)| Timestamp::new(s, n).unwrap())
}

fn arb_double() -> impl Strategy<Value = f64> {
    // Any bit pattern except NaNs, whose payload the JSON mapping cannot carry.
    prop_oneof![any::<u64>().prop_map(f64::from_bits), any::<f64>()]
        .prop_map(|d| if d.is_nan() { f64::NAN } else { d })
}

fn arb_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Boolean),
        any::<i64>().prop_map(Value::Integer),
        arb_double().prop_map(Value::Double),
        arb_timestamp().prop_map(Value::Timestamp),
        any::<String>().prop_map(Value::String),
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
            proptest::collection::btree_map(any::<String>(), inner, 0..6).prop_map(Value::Map),
        ]
    })
}

fn arb_document() -> impl Strategy<Value = Document> {
    (
        "[a-zA-Z0-9]{1,10}/[^/]{1,20}",
        proptest::collection::btree_map(any::<String>(), arb_value(), 0..8),
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
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_double_bit_pattern_round_trips(bits in any::<u64>()) {
        let d = f64::from_bits(bits);
        let doc = Document::new(NAME, BTreeMap::from([("d".to_owned(), Value::Double(d))]));
        let back = decode_document(&encode_document(&doc)).unwrap();
        let expected = if d.is_nan() { f64::NAN.to_bits() } else { bits };
        prop_assert_eq!(double_bits(&back, "d"), expected);
    }

    #[test]
    fn arbitrary_documents_round_trip(doc in arb_document()) {
        let json = encode_document(&doc);
        prop_assert!(!json.contains(&b'\n'));
        prop_assert_eq!(&decode_document(&json).unwrap(), &doc);
    }

    #[test]
    fn arbitrary_parts_round_trip(docs in proptest::collection::vec(arb_document(), 0..8)) {
        let part = encode_part(&docs).unwrap();
        prop_assert_eq!(decode_part(&part).unwrap(), docs);
    }
}
