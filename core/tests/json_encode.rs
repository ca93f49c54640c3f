//! The JSON writer against independent references: strings against serde_json's escaping
//! (the same rules: `"`, backslash and control characters escaped, `\b \t \n \f \r` by
//! letter, the rest as `\u00XX`; DEL and non-ASCII raw), timestamps against
//! `Timestamp::to_rfc3339` (`format!`-based). The writer scans strings a word at a time,
//! so these tests put every escape class at every position around the word boundaries.

use firekeep_core::model::json::{encode_document, encode_value_to};
use firekeep_core::model::{Document, Timestamp, Value};
use proptest::prelude::*;
use std::collections::BTreeMap;

fn string_json(s: &str) -> String {
    let mut out = Vec::new();
    encode_value_to(&Value::String(s.to_owned()), &mut out);
    String::from_utf8(out).expect("the writer writes UTF-8")
}

fn reference(s: &str) -> String {
    format!(
        "{{\"stringValue\":{}}}",
        serde_json::to_string(s).expect("a string serializes")
    )
}

/// Characters of every class the scan distinguishes: plain ASCII, each control character,
/// quote, backslash, DEL, and 2-, 3- and 4-byte UTF-8 (non-BMP included).
fn special_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range('a', 'z'),
        2 => proptest::char::range('\u{0}', '\u{1f}'),
        1 => Just('"'),
        1 => Just('\\'),
        1 => Just('\u{7f}'),
        1 => Just('é'),
        1 => Just('\u{ffff}'),
        1 => Just('€'),
        1 => Just('𝄞'),
        1 => Just('\u{10ffff}'),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn strings_escape_as_serde_json_does(s in any::<String>()) {
        prop_assert_eq!(string_json(&s), reference(&s));
    }

    #[test]
    fn special_characters_anywhere(chars in proptest::collection::vec(special_char(), 0..40)) {
        let s: String = chars.into_iter().collect();
        prop_assert_eq!(string_json(&s), reference(&s));
    }

    #[test]
    fn timestamps_match_rfc3339(
        seconds in Timestamp::MIN.seconds()..=Timestamp::MAX.seconds(),
        nanos in prop_oneof![Just(0u32), 0..1000u32, 0..1_000_000_000u32],
    ) {
        let t = Timestamp::new(seconds, nanos).unwrap();
        let mut out = Vec::new();
        encode_value_to(&Value::Timestamp(t), &mut out);
        prop_assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("{{\"timestampValue\":\"{}\"}}", t.to_rfc3339())
        );
    }
}

#[test]
fn every_ascii_byte_at_every_position_around_word_boundaries() {
    for b in 0u8..0x80 {
        for len in 1..=20 {
            for at in 0..len {
                let mut bytes = vec![b'x'; len];
                bytes[at] = b;
                let s = String::from_utf8(bytes).unwrap();
                assert_eq!(
                    string_json(&s),
                    reference(&s),
                    "byte {b:#04x} at {at} of {len}"
                );
            }
        }
    }
}

#[test]
fn multibyte_characters_straddling_word_boundaries() {
    for c in ['é', '€', '𝄞', '\u{10ffff}', '\u{80}', '\u{7ff}', '\u{800}'] {
        for prefix in 0..=17 {
            for suffix in ["", "\"", "\n", "abc\\", "\u{0}"] {
                let s = format!("{}{c}{suffix}", "y".repeat(prefix));
                assert_eq!(string_json(&s), reference(&s), "{s:?}");
            }
        }
    }
}

#[test]
fn keys_and_names_escape_like_strings() {
    let key = "k\"\\\u{1}\u{1f}\u{7f}é𝄞 \t\n";
    let name = "projects/p/databases/(default)/documents/c/\"q\\";
    let mut fields = BTreeMap::new();
    fields.insert(key.to_owned(), Value::Reference(name.to_owned()));
    let doc = Document {
        name: name.to_owned(),
        fields,
        create_time: Some(Timestamp::MIN),
        update_time: Some(Timestamp::MAX),
    };
    let json = String::from_utf8(encode_document(&doc)).unwrap();
    let n = serde_json::to_string(name).unwrap();
    assert_eq!(
        json,
        format!(
            "{{\"name\":{n},\"fields\":{{{}:{{\"referenceValue\":{n}}}}},\
             \"createTime\":\"0001-01-01T00:00:00Z\",\
             \"updateTime\":\"9999-12-31T23:59:59.999999999Z\"}}",
            serde_json::to_string(key).unwrap()
        )
    );
}
