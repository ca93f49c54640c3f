//! The JSON document decoder: accepts every spelling the proto3 JSON mapping allows (as
//! other tools and Firestore's REST API write it), rejects everything else with a clear
//! error, and never panics.

use firekeep_core::model::json::{decode_document, encode_document};
use firekeep_core::model::{Document, GeoPoint, Timestamp, Value};
use proptest::prelude::*;
use std::collections::BTreeMap;

fn field(doc: &Document, name: &str) -> Value {
    doc.fields[name].clone()
}

fn one(value_json: &str) -> firekeep_core::Result<Value> {
    let json = format!(
        r#"{{"name":"projects/p/databases/(default)/documents/c/d","fields":{{"v":{value_json}}}}}"#
    );
    decode_document(json.as_bytes()).map(|d| field(&d, "v"))
}

#[test]
fn reads_firestore_rest_output() {
    // As the REST API returns it: pretty-printed, key order of its own.
    let json = r#"
    {
      "name": "projects/demo/databases/(default)/documents/cities/SF",
      "fields": {
        "population": { "integerValue": "860000" },
        "capital": { "booleanValue": false },
        "location": { "geoPointValue": { "latitude": 37.7749, "longitude": -122.4194 } },
        "regions": { "arrayValue": { "values": [ { "stringValue": "west_coast" }, { "stringValue": "norcal" } ] } },
        "founded": { "timestampValue": "1776-06-29T00:00:00Z" },
        "mayor": { "referenceValue": "projects/demo/databases/(default)/documents/people/lurie" },
        "misc": { "mapValue": { "fields": { "nothing": { "nullValue": null } } } }
      },
      "updateTime": "2024-05-01T12:00:00.123456Z",
      "createTime": "2024-05-01T12:00:00.123456Z"
    }"#;
    let doc = decode_document(json.as_bytes()).unwrap();
    assert_eq!(
        doc.name,
        "projects/demo/databases/(default)/documents/cities/SF"
    );
    assert_eq!(field(&doc, "population"), Value::Integer(860_000));
    assert_eq!(field(&doc, "capital"), Value::Boolean(false));
    assert_eq!(
        field(&doc, "location"),
        Value::GeoPoint(GeoPoint {
            latitude: 37.7749,
            longitude: -122.4194
        })
    );
    assert_eq!(
        field(&doc, "regions"),
        Value::Array(vec![
            Value::String("west_coast".into()),
            Value::String("norcal".into())
        ])
    );
    assert_eq!(
        field(&doc, "founded"),
        Value::Timestamp(Timestamp::parse_rfc3339("1776-06-29T00:00:00Z").unwrap())
    );
    assert_eq!(
        field(&doc, "misc"),
        Value::Map(BTreeMap::from([("nothing".to_owned(), Value::Null)]))
    );
    assert_eq!(doc.create_time, doc.update_time);
    assert_eq!(doc.create_time.unwrap().nanos(), 123_456_000);
    // And what we write back decodes to the same document.
    assert_eq!(decode_document(&encode_document(&doc)).unwrap(), doc);
}

#[test]
fn accepts_other_proto3_json_spellings() {
    assert_eq!(one(r#"{"integerValue": 42}"#).unwrap(), Value::Integer(42));
    assert_eq!(one(r#"{"integerValue": -7}"#).unwrap(), Value::Integer(-7));
    assert_eq!(one(r#"{"doubleValue": 3}"#).unwrap(), Value::Double(3.0));
    assert_eq!(
        one(r#"{"doubleValue": "2.5"}"#).unwrap(),
        Value::Double(2.5)
    );
    assert_eq!(
        one(r#"{"doubleValue": -1e-320}"#).unwrap(),
        Value::Double(-1e-320)
    );
    assert_eq!(one(r#"{"nullValue": "NULL_VALUE"}"#).unwrap(), Value::Null);
    assert_eq!(
        one(r#"{"bytesValue": "-_8"}"#).unwrap(),
        Value::Bytes(vec![0xfb, 0xff])
    );
    assert_eq!(
        one(r#"{"bytesValue": "+/8"}"#).unwrap(),
        Value::Bytes(vec![0xfb, 0xff])
    );
    assert_eq!(
        one(r#"{"bytesValue": "+/8="}"#).unwrap(),
        Value::Bytes(vec![0xfb, 0xff])
    );
    assert_eq!(
        one(r#"{"timestampValue": "2024-01-01T01:00:00.5+01:00"}"#).unwrap(),
        Value::Timestamp(Timestamp::new(1_704_067_200, 500_000_000).unwrap())
    );
    assert_eq!(
        one(r#"{"geoPointValue": {}}"#).unwrap(),
        Value::GeoPoint(GeoPoint {
            latitude: 0.0,
            longitude: 0.0
        })
    );
    assert_eq!(
        one(r#"{"arrayValue": {"values": []}}"#).unwrap(),
        Value::Array(vec![])
    );
    assert_eq!(
        one(r#"{"mapValue": {"fields": {}}}"#).unwrap(),
        Value::Map(BTreeMap::new())
    );
    assert_eq!(
        one(r#"{"stringValue": "\u0000\ud834\udd1e\u00e9"}"#).unwrap(),
        Value::String("\0𝄞é".into())
    );
    // A document may have no fields and no times.
    let doc = decode_document(br#"{"name":"projects/p/databases/d/documents/c/x"}"#).unwrap();
    assert!(doc.fields.is_empty() && doc.create_time.is_none());
}

#[test]
fn rejects_what_is_not_a_document_with_a_clear_error() {
    let cases: &[(&str, &str)] = &[
        (r#"{}"#, "no \"name\""),
        (r#"[]"#, "document"),
        (r#"{"name": 5}"#, "string"),
        (
            r#"{"name":"x","fields":{"v":{"textValue":"a"}}}"#,
            "unknown value type \"textValue\"",
        ),
        (r#"{"name":"x","fields":{"v":{}}}"#, "empty value object"),
        (
            r#"{"name":"x","fields":{"v":{"nullValue":null,"booleanValue":true}}}"#,
            "second key",
        ),
        (
            r#"{"name":"x","fields":{"v":{"integerValue":"1.5"}}}"#,
            "64-bit integer",
        ),
        (
            r#"{"name":"x","fields":{"v":{"integerValue":"99999999999999999999"}}}"#,
            "64-bit integer",
        ),
        (
            r#"{"name":"x","fields":{"v":{"doubleValue":"nan"}}}"#,
            "NaN",
        ),
        (
            r#"{"name":"x","fields":{"v":{"doubleValue":true}}}"#,
            "number",
        ),
        (
            r#"{"name":"x","fields":{"v":{"timestampValue":"10000-01-01T00:00:00Z"}}}"#,
            "RFC 3339",
        ),
        (
            r#"{"name":"x","fields":{"v":{"timestampValue":"2024-01-01T00:00:00.1234567891Z"}}}"#,
            "RFC 3339",
        ),
        (
            r#"{"name":"x","fields":{"v":{"bytesValue":"a"}}}"#,
            "base64",
        ),
        (
            r#"{"name":"x","fields":{"v":{"geoPointValue":{"lat":1}}}}"#,
            "unexpected key \"lat\"",
        ),
        (
            r#"{"name":"x","fields":{"v":{"arrayValue":{"values":[1]}}}}"#,
            "value object",
        ),
        (
            r#"{"name":"x","fields":{"v":{"mapValue":{"fields":{"a":1}}}}}"#,
            "value object",
        ),
        (
            r#"{"name":"x","fields":{"a":{"nullValue":null},"a":{"nullValue":null}}}"#,
            "duplicate field",
        ),
        (
            r#"{"name":"x","createTime":"2024-01-01T00:00:00Z","createTime":"2024-01-01T00:00:00Z"}"#,
            "duplicate key",
        ),
        (
            r#"{"name":"x","readTime":"2024-01-01T00:00:00Z"}"#,
            "unexpected key \"readTime\"",
        ),
        (r#"{"name":"x"}{"name":"y"}"#, "trailing"),
        (r#"{"name":"x""#, "EOF"),
        (r#"{"name":"\ud800"}"#, "escape"),
    ];
    for (json, needle) in cases {
        let err = decode_document(json.as_bytes()).unwrap_err();
        assert_eq!(err.code(), "ERR_INVALID_INPUT", "{json}");
        let msg = err.to_string();
        assert!(msg.contains(needle), "{json}: {msg:?} lacks {needle:?}");
        assert!(msg.contains("Firestore document"), "{msg}");
    }
    // Invalid UTF-8 inside a string.
    assert!(decode_document(b"{\"name\":\"\xff\"}").is_err());
}

#[test]
fn deep_or_huge_garbage_is_an_error_not_a_crash() {
    for open in [
        "[",
        "{\"a\":",
        "{\"name\":\"x\",\"fields\":{\"v\":{\"arrayValue\":{\"values\":[",
    ] {
        let json = open.repeat(100_000);
        assert!(decode_document(json.as_bytes()).is_err());
    }
    // Valid structure nested far beyond the limit stops at level 21.
    let mut v = String::from(r#"{"nullValue":null}"#);
    for _ in 0..1000 {
        v = format!(r#"{{"mapValue":{{"fields":{{"m":{v}}}}}}}"#);
    }
    let err = one(&v).unwrap_err().to_string();
    assert!(err.contains("nested more than 20 levels"), "{err}");
}

fn sample_json() -> Vec<u8> {
    let mut fields = BTreeMap::new();
    fields.insert("i".to_owned(), Value::Integer(-12));
    fields.insert("d".to_owned(), Value::Double(-0.0));
    fields.insert("s".to_owned(), Value::String("a\"b\0😀".into()));
    fields.insert("b".to_owned(), Value::Bytes(vec![1, 2, 3, 250]));
    fields.insert(
        "t".to_owned(),
        Value::Timestamp(Timestamp::new(-62_135_596_800, 1).unwrap()),
    );
    fields.insert(
        "a".to_owned(),
        Value::Array(vec![
            Value::Null,
            Value::Boolean(true),
            Value::Map(BTreeMap::from([(
                "g".to_owned(),
                Value::GeoPoint(GeoPoint {
                    latitude: 1.5,
                    longitude: f64::NAN,
                }),
            )])),
        ]),
    );
    let mut doc = Document::new("projects/p/databases/(default)/documents/c/d", fields);
    doc.update_time = Some(Timestamp::MAX);
    encode_document(&doc)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_document(&bytes);
    }

    #[test]
    fn mutated_documents_never_panic_and_stay_consistent(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut json = sample_json();
        for (at, byte) in edits {
            let i = at.index(json.len());
            json[i] = byte;
        }
        if truncate {
            json.truncate(cut.index(json.len()));
        }
        // Whatever decodes must re-encode to something that decodes to the same document.
        if let Ok(doc) = decode_document(&json) {
            prop_assert_eq!(decode_document(&encode_document(&doc)).unwrap(), doc);
        }
    }
}
