//! Sample data for tests and the CLI demo: several collections, three levels of
//! subcollections, parents that exist only through their subcollections, and every value
//! type of firekeep's fidelity list. Deterministic: the same arguments give the same data.

use firekeep_core::model::{DatabaseId, Document, DocumentPath, GeoPoint, Timestamp, Value};
use std::collections::BTreeMap;

/// One field of every Firestore value type, with the edge cases a backup must keep:
/// NaN, -0.0, ±Infinity, a subnormal, i64 min and max, timestamps in years 1 and 9999,
/// bytes with every byte value, strings with NUL and astral characters, a reference,
/// geopoints at the poles, an empty array and map, and maps/arrays nested 20 deep.
///
/// With `nanos`, one timestamp carries nanoseconds. Firestore stores timestamps to the
/// microsecond (it rounds down on write), so such a value can only be planted with
/// [`crate::RunningServer::seed`]; leave it out for data that is to be written through the
/// API and compared afterwards.
pub fn fidelity_fields(db: &DatabaseId, nanos: bool) -> BTreeMap<String, Value> {
    let ts = |s: i64, n: u32| Value::Timestamp(Timestamp::new(s, n).expect("in range"));
    let mut f = BTreeMap::new();
    let mut put = |k: &str, v: Value| {
        f.insert(k.to_string(), v);
    };
    put("null", Value::Null);
    put("true", Value::Boolean(true));
    put("false", Value::Boolean(false));
    put("int_min", Value::Integer(i64::MIN));
    put("int_max", Value::Integer(i64::MAX));
    put("int_zero", Value::Integer(0));
    put("nan", Value::Double(f64::NAN));
    put("neg_zero", Value::Double(-0.0));
    put("pos_inf", Value::Double(f64::INFINITY));
    put("neg_inf", Value::Double(f64::NEG_INFINITY));
    put("subnormal", Value::Double(f64::from_bits(1)));
    put("pi", Value::Double(std::f64::consts::PI));
    put("ts_min", Value::Timestamp(Timestamp::MIN));
    put("ts_max", ts(Timestamp::MAX.seconds(), 999_999_000));
    put("ts_micros", ts(1_700_000_000, 123_456_000));
    if nanos {
        put("ts_nanos", ts(1_700_000_000, 123_456_789));
    }
    put("bytes", Value::Bytes((0..=255u8).collect()));
    put("bytes_empty", Value::Bytes(Vec::new()));
    put("string_nul", Value::String("a\0b".into()));
    put(
        "string_astral",
        Value::String("𝄞 emoji 😀 and ü, 中文".into()),
    );
    put("string_empty", Value::String(String::new()));
    put(
        "reference",
        Value::Reference(db.document_name(&DocumentPath::parse("users/u0000").expect("valid"))),
    );
    put(
        "geo_north",
        Value::GeoPoint(GeoPoint {
            latitude: 90.0,
            longitude: -180.0,
        }),
    );
    put(
        "geo",
        Value::GeoPoint(GeoPoint {
            latitude: 48.8584,
            longitude: 2.2945,
        }),
    );
    put("array_empty", Value::Array(Vec::new()));
    put("map_empty", Value::Map(BTreeMap::new()));
    put(
        "array_mixed",
        Value::Array(vec![
            Value::Integer(1),
            Value::Double(1.0),
            Value::String("1".into()),
            Value::Null,
            Value::Map(BTreeMap::from([("k".to_string(), Value::Boolean(false))])),
        ]),
    );
    put("deep_map", nested(20));
    put(
        "field.with.dots",
        Value::String("needs quoting in field paths".into()),
    );
    put("ünïcødé key", Value::Integer(7));
    f
}

/// A value whose maps/arrays nest `depth` levels (Firestore's limit is 20), alternating
/// maps and arrays of maps.
pub fn nested(depth: usize) -> Value {
    let mut v = Value::String("bottom".into());
    for level in (0..depth).rev() {
        v = if level % 2 == 1 {
            // Arrays may not directly hold arrays, so they hold the map of the next level.
            Value::Array(vec![v])
        } else {
            Value::Map(BTreeMap::from([(format!("l{level}"), v)]))
        };
    }
    v
}

/// A demo database of about `n` documents (at least a few dozen):
///
/// * `users/uNNNN` with `posts/pN` and `posts/pN/comments/cN` (three levels);
/// * `orders/oNNNNNN` with numbers, timestamps, strings and arrays;
/// * `ghosts/gN/items/iN`: the `ghosts/gN` parents do not exist themselves;
/// * `fidelity/all` with [`fidelity_fields`] (no sub-microsecond timestamps, so the data
///   survives being written through the API), and `fidelity/deep` nesting 20 levels.
pub fn demo_database(db: &DatabaseId, n: usize) -> Vec<Document> {
    let mut docs = Vec::with_capacity(n + 8);
    let mut add = |path: String, fields: BTreeMap<String, Value>| {
        let p = DocumentPath::parse(&path).expect("sample paths are valid");
        docs.push(Document::new(db.document_name(&p), fields));
    };
    add("fidelity/all".into(), fidelity_fields(db, false));
    add(
        "fidelity/deep".into(),
        BTreeMap::from([("nest".to_string(), nested(20))]),
    );
    let users = (n / 10).max(3);
    let ghosts = (n / 50).max(2);
    let orders = n.saturating_sub(users * 3 + ghosts * 2 + 2).max(5);
    let base = 1_700_000_000i64;
    for u in 0..users {
        add(
            format!("users/u{u:04}"),
            BTreeMap::from([
                ("name".to_string(), Value::String(format!("User {u}"))),
                ("age".to_string(), Value::Integer(18 + (u as i64 * 7) % 60)),
                ("score".to_string(), Value::Double(u as f64 / 3.0)),
                ("active".to_string(), Value::Boolean(u % 3 != 0)),
                (
                    "joined".to_string(),
                    Value::Timestamp(
                        Timestamp::new(base + u as i64 * 3600, (u as u32 % 1000) * 1000)
                            .expect("in range"),
                    ),
                ),
            ]),
        );
        add(
            format!("users/u{u:04}/posts/p{}", u % 5),
            BTreeMap::from([
                ("title".to_string(), Value::String(format!("Post by {u}"))),
                (
                    "tags".to_string(),
                    Value::Array(vec![
                        Value::String("a".into()),
                        Value::String(format!("t{}", u % 4)),
                    ]),
                ),
            ]),
        );
        add(
            format!("users/u{u:04}/posts/p{}/comments/c{}", u % 5, u % 7),
            BTreeMap::from([
                ("text".to_string(), Value::String("nice".into())),
                (
                    "author".to_string(),
                    Value::Reference(
                        db.document_name(
                            &DocumentPath::parse(&format!("users/u{:04}", (u + 1) % users))
                                .expect("valid"),
                        ),
                    ),
                ),
            ]),
        );
    }
    for g in 0..ghosts {
        for i in 0..2 {
            add(
                format!("ghosts/g{g}/items/i{i}"),
                BTreeMap::from([("n".to_string(), Value::Integer((g * 2 + i) as i64))]),
            );
        }
    }
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    for o in 0..orders {
        // xorshift: varied but reproducible payloads.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        add(
            format!("orders/o{o:06}"),
            BTreeMap::from([
                (
                    "total".to_string(),
                    Value::Double((x % 100_000) as f64 / 100.0),
                ),
                ("items".to_string(), Value::Integer((x % 9) as i64 + 1)),
                (
                    "status".to_string(),
                    Value::String(["new", "paid", "shipped"][(x % 3) as usize].into()),
                ),
                (
                    "at".to_string(),
                    Value::Timestamp(Timestamp::new(base + o as i64, 0).expect("in range")),
                ),
                ("note".to_string(), Value::Bytes(x.to_le_bytes().to_vec())),
            ]),
        );
    }
    docs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_has_the_promised_shape() {
        let db = DatabaseId::default_database("demo").unwrap();
        let docs = demo_database(&db, 1000);
        assert!((950..=1100).contains(&docs.len()), "{}", docs.len());
        let paths: Vec<DocumentPath> = docs.iter().map(|d| d.path().unwrap().1).collect();
        assert!(paths.iter().any(|p| p.depth() == 2));
        // Ghost parents exist only through their subcollections.
        assert!(paths.iter().any(|p| p.to_string() == "ghosts/g0/items/i0"));
        assert!(!paths.iter().any(|p| p.to_string() == "ghosts/g0"));
        let deep = docs
            .iter()
            .find(|d| d.name.ends_with("fidelity/deep"))
            .unwrap();
        assert_eq!(deep.fields["nest"].nesting_depth(), 20);
        let mut sorted = paths.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), paths.len(), "paths are unique");
    }
}
