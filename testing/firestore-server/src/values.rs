//! Firestore's value semantics over the protobuf types: the cross-type ordering queries use,
//! field paths, field masks and document sizes.

use googleapis_tonic_google_firestore_v1::google::firestore::v1 as pb;
use pb::value::ValueType;
use std::cmp::Ordering;
use std::collections::HashMap;

/// Fields of a document or map value.
pub(crate) type Fields = HashMap<String, pb::Value>;

/// Firestore's type order: null < booleans < numbers < timestamps < strings < bytes <
/// references < geopoints < arrays < maps.
fn type_rank(v: &pb::Value) -> u8 {
    match &v.value_type {
        None | Some(ValueType::NullValue(_)) => 0,
        Some(ValueType::BooleanValue(_)) => 1,
        Some(ValueType::IntegerValue(_)) | Some(ValueType::DoubleValue(_)) => 2,
        Some(ValueType::TimestampValue(_)) => 3,
        Some(ValueType::StringValue(_)) => 4,
        Some(ValueType::BytesValue(_)) => 5,
        Some(ValueType::ReferenceValue(_)) => 6,
        Some(ValueType::GeoPointValue(_)) => 7,
        Some(ValueType::ArrayValue(_)) => 8,
        Some(ValueType::MapValue(_)) => 9,
        Some(_) => 10,
    }
}

/// Whether two values are of the same type class (numbers form one class), which range
/// filters require.
pub(crate) fn same_class(a: &pb::Value, b: &pb::Value) -> bool {
    type_rank(a) == type_rank(b)
}

/// Whether a value is a double NaN.
pub(crate) fn is_nan(v: &pb::Value) -> bool {
    matches!(v.value_type, Some(ValueType::DoubleValue(d)) if d.is_nan())
}

fn cmp_doubles(a: f64, b: f64) -> Ordering {
    // NaN sorts before every other number and equals itself; -0.0 equals 0.0.
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

fn cmp_int_double(i: i64, d: f64) -> Ordering {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if d.is_nan() {
        return Ordering::Greater;
    }
    if d >= TWO_63 {
        return Ordering::Less;
    }
    if d < -TWO_63 {
        return Ordering::Greater;
    }
    // Exact: compare integer parts, then the fraction (casting i to f64 would round).
    let t = d.trunc();
    match i.cmp(&(t as i64)) {
        Ordering::Equal => 0.0f64.partial_cmp(&(d - t)).unwrap_or(Ordering::Equal),
        o => o,
    }
}

/// Reference values compare by path segment, like document keys.
fn cmp_reference(a: &str, b: &str) -> Ordering {
    a.split('/').cmp(b.split('/'))
}

fn cmp_fields(a: &Fields, b: &Fields) -> Ordering {
    let mut ak: Vec<&String> = a.keys().collect();
    let mut bk: Vec<&String> = b.keys().collect();
    ak.sort();
    bk.sort();
    for (x, y) in ak.iter().zip(bk.iter()) {
        let o = x.cmp(y).then_with(|| compare(&a[*x], &b[*y]));
        if o != Ordering::Equal {
            return o;
        }
    }
    ak.len().cmp(&bk.len())
}

/// Firestore's total order over values, as used by `orderBy`, cursors and range filters.
pub(crate) fn compare(a: &pb::Value, b: &pb::Value) -> Ordering {
    use ValueType as T;
    let (ra, rb) = (type_rank(a), type_rank(b));
    if ra != rb {
        return ra.cmp(&rb);
    }
    match (&a.value_type, &b.value_type) {
        (Some(T::BooleanValue(x)), Some(T::BooleanValue(y))) => x.cmp(y),
        (Some(T::IntegerValue(x)), Some(T::IntegerValue(y))) => x.cmp(y),
        (Some(T::DoubleValue(x)), Some(T::DoubleValue(y))) => cmp_doubles(*x, *y),
        (Some(T::IntegerValue(x)), Some(T::DoubleValue(y))) => cmp_int_double(*x, *y),
        (Some(T::DoubleValue(x)), Some(T::IntegerValue(y))) => cmp_int_double(*y, *x).reverse(),
        (Some(T::TimestampValue(x)), Some(T::TimestampValue(y))) => {
            (x.seconds, x.nanos).cmp(&(y.seconds, y.nanos))
        }
        (Some(T::StringValue(x)), Some(T::StringValue(y))) => x.as_bytes().cmp(y.as_bytes()),
        (Some(T::BytesValue(x)), Some(T::BytesValue(y))) => x.cmp(y),
        (Some(T::ReferenceValue(x)), Some(T::ReferenceValue(y))) => cmp_reference(x, y),
        (Some(T::GeoPointValue(x)), Some(T::GeoPointValue(y))) => {
            cmp_doubles(x.latitude, y.latitude).then_with(|| cmp_doubles(x.longitude, y.longitude))
        }
        (Some(T::ArrayValue(x)), Some(T::ArrayValue(y))) => {
            for (p, q) in x.values.iter().zip(y.values.iter()) {
                let o = compare(p, q);
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.values.len().cmp(&y.values.len())
        }
        (Some(T::MapValue(x)), Some(T::MapValue(y))) => cmp_fields(&x.fields, &y.fields),
        _ => Ordering::Equal,
    }
}

/// Bit-exact equality (doubles by bit pattern), used to detect writes that change nothing.
pub(crate) fn identical(a: &pb::Value, b: &pb::Value) -> bool {
    use ValueType as T;
    match (&a.value_type, &b.value_type) {
        (Some(T::DoubleValue(x)), Some(T::DoubleValue(y))) => x.to_bits() == y.to_bits(),
        (Some(T::GeoPointValue(x)), Some(T::GeoPointValue(y))) => {
            x.latitude.to_bits() == y.latitude.to_bits()
                && x.longitude.to_bits() == y.longitude.to_bits()
        }
        (Some(T::ArrayValue(x)), Some(T::ArrayValue(y))) => {
            x.values.len() == y.values.len()
                && x.values.iter().zip(&y.values).all(|(p, q)| identical(p, q))
        }
        (Some(T::MapValue(x)), Some(T::MapValue(y))) => identical_fields(&x.fields, &y.fields),
        _ => a == b,
    }
}

/// Bit-exact equality of two field maps.
pub(crate) fn identical_fields(a: &Fields, b: &Fields) -> bool {
    a.len() == b.len()
        && a.iter()
            .all(|(k, v)| b.get(k).is_some_and(|w| identical(v, w)))
}

/// Parses a field path (`a.b`, with back-quoted segments such as `` `a.b`.c ``).
pub(crate) fn parse_field_path(path: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = path.chars().peekable();
    let mut quoted_segment = false;
    while let Some(c) = chars.next() {
        match c {
            '`' => {
                quoted_segment = true;
                loop {
                    match chars.next() {
                        Some('`') => break,
                        Some('\\') => match chars.next() {
                            Some(e) => cur.push(e),
                            None => return Err(format!("field path {path:?} ends in an escape")),
                        },
                        Some(o) => cur.push(o),
                        None => return Err(format!("field path {path:?} has an unclosed '`'")),
                    }
                }
            }
            '.' => {
                if cur.is_empty() && !quoted_segment {
                    return Err(format!("field path {path:?} has an empty segment"));
                }
                out.push(std::mem::take(&mut cur));
                quoted_segment = false;
            }
            o => cur.push(o),
        }
    }
    if cur.is_empty() && !quoted_segment {
        return Err(format!("field path {path:?} has an empty segment"));
    }
    out.push(cur);
    Ok(out)
}

/// The value at a field path, if present.
pub(crate) fn get_path<'a>(fields: &'a Fields, path: &[String]) -> Option<&'a pb::Value> {
    let (first, rest) = path.split_first()?;
    let v = fields.get(first)?;
    if rest.is_empty() {
        return Some(v);
    }
    match &v.value_type {
        Some(ValueType::MapValue(m)) => get_path(&m.fields, rest),
        _ => None,
    }
}

/// Sets the value at a field path, creating (or replacing non-map) parents as maps.
pub(crate) fn set_path(fields: &mut Fields, path: &[String], value: pb::Value) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        fields.insert(first.clone(), value);
        return;
    }
    let entry = fields.entry(first.clone()).or_insert_with(empty_map);
    if !matches!(entry.value_type, Some(ValueType::MapValue(_))) {
        *entry = empty_map();
    }
    if let Some(ValueType::MapValue(m)) = &mut entry.value_type {
        set_path(&mut m.fields, rest, value);
    }
}

/// Removes the value at a field path, if present.
pub(crate) fn delete_path(fields: &mut Fields, path: &[String]) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        fields.remove(first);
        return;
    }
    if let Some(pb::Value {
        value_type: Some(ValueType::MapValue(m)),
    }) = fields.get_mut(first)
    {
        delete_path(&mut m.fields, rest);
    }
}

fn empty_map() -> pb::Value {
    pb::Value {
        value_type: Some(ValueType::MapValue(pb::MapValue::default())),
    }
}

/// The fields kept by a mask (projection): only the listed paths.
pub(crate) fn project(fields: &Fields, paths: &[Vec<String>]) -> Fields {
    let mut out = Fields::new();
    for p in paths {
        if let Some(v) = get_path(fields, p) {
            set_path(&mut out, p, v.clone());
        }
    }
    out
}

/// Depth of nested arrays/maps (a scalar is 0).
pub(crate) fn depth(v: &pb::Value) -> usize {
    match &v.value_type {
        Some(ValueType::ArrayValue(a)) => 1 + a.values.iter().map(depth).max().unwrap_or(0),
        Some(ValueType::MapValue(m)) => 1 + m.fields.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Storage size of a document name, by Firestore's documented rules.
pub(crate) fn name_size(relative_path: &str) -> usize {
    relative_path.split('/').map(|s| s.len() + 1).sum::<usize>() + 16
}

/// Storage size of a value, by Firestore's documented rules.
pub(crate) fn value_size(v: &pb::Value) -> usize {
    match &v.value_type {
        None | Some(ValueType::NullValue(_)) | Some(ValueType::BooleanValue(_)) => 1,
        Some(ValueType::IntegerValue(_))
        | Some(ValueType::DoubleValue(_))
        | Some(ValueType::TimestampValue(_)) => 8,
        Some(ValueType::StringValue(s)) => s.len() + 1,
        Some(ValueType::BytesValue(b)) => b.len(),
        Some(ValueType::ReferenceValue(r)) => match r.split_once("/documents/") {
            Some((_, rel)) => name_size(rel),
            None => r.len() + 1,
        },
        Some(ValueType::GeoPointValue(_)) => 16,
        Some(ValueType::ArrayValue(a)) => a.values.iter().map(value_size).sum(),
        Some(ValueType::MapValue(m)) => fields_size(&m.fields),
        Some(_) => 0,
    }
}

/// Storage size of a field map.
pub(crate) fn fields_size(fields: &Fields) -> usize {
    fields
        .iter()
        .map(|(k, v)| k.len() + 1 + value_size(v))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(i: i64) -> pb::Value {
        pb::Value {
            value_type: Some(ValueType::IntegerValue(i)),
        }
    }
    fn dbl(d: f64) -> pb::Value {
        pb::Value {
            value_type: Some(ValueType::DoubleValue(d)),
        }
    }
    fn s(x: &str) -> pb::Value {
        pb::Value {
            value_type: Some(ValueType::StringValue(x.into())),
        }
    }

    #[test]
    fn numbers_compare_across_types() {
        assert_eq!(compare(&int(1), &dbl(1.0)), Ordering::Equal);
        assert_eq!(compare(&int(1), &dbl(1.5)), Ordering::Less);
        assert_eq!(compare(&int(-1), &dbl(-1.5)), Ordering::Greater);
        assert_eq!(compare(&dbl(f64::NAN), &int(i64::MIN)), Ordering::Less);
        assert_eq!(compare(&int(i64::MAX), &dbl(9.3e18)), Ordering::Less);
        assert_eq!(compare(&dbl(-0.0), &dbl(0.0)), Ordering::Equal);
        assert!(!identical(&dbl(-0.0), &dbl(0.0)));
        assert!(identical(&dbl(f64::NAN), &dbl(f64::NAN)));
        assert_eq!(compare(&int(5), &s("a")), Ordering::Less);
        assert_eq!(compare(&s("a"), &s("ab")), Ordering::Less);
    }

    #[test]
    fn field_paths() {
        assert_eq!(parse_field_path("a.b").unwrap(), vec!["a", "b"]);
        assert_eq!(parse_field_path("`a.b`.c").unwrap(), vec!["a.b", "c"]);
        assert_eq!(parse_field_path("`x\\`y`").unwrap(), vec!["x`y"]);
        assert!(parse_field_path("a..b").is_err());
        assert!(parse_field_path("`a").is_err());
        let mut f = Fields::new();
        set_path(&mut f, &["m".into(), "n".into()], int(1));
        assert_eq!(get_path(&f, &["m".into(), "n".into()]), Some(&int(1)));
        let p = project(&f, &[vec!["m".into(), "n".into()], vec!["z".into()]]);
        assert!(identical_fields(&p, &f));
        delete_path(&mut f, &["m".into(), "n".into()]);
        assert_eq!(get_path(&f, &["m".into(), "n".into()]), None);
    }
}
