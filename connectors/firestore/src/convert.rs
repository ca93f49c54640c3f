//! Exact conversion between the Firestore v1 protobuf types and firekeep's data model.
//!
//! Doubles travel as IEEE bits (NaN payloads, -0.0 and subnormals survive), timestamps
//! keep their nanoseconds, and map fields are kept in key order on the core side.

use crate::proto::{self, value::ValueType};
use firekeep_core::model::{Document, GeoPoint, Timestamp, Value};
use firekeep_core::{Error, Result};
use std::collections::{BTreeMap, HashMap};

/// A core timestamp as a protobuf timestamp.
pub fn timestamp_to_proto(t: Timestamp) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.seconds(),
        // Timestamp guarantees nanos < 1e9, which fits an i32.
        nanos: t.nanos() as i32,
    }
}

/// A protobuf timestamp as a core timestamp; fails outside 0001-01-01..9999-12-31.
pub fn timestamp_from_proto(t: &prost_types::Timestamp) -> Result<Timestamp> {
    let nanos = u32::try_from(t.nanos).map_err(|_| {
        Error::InvalidInput(format!(
            "Firestore sent a timestamp with negative nanos {}",
            t.nanos
        ))
    })?;
    Timestamp::new(t.seconds, nanos)
}

/// A core value as a protobuf value.
pub fn value_to_proto(v: &Value) -> proto::Value {
    let t = match v {
        Value::Null => ValueType::NullValue(0),
        Value::Boolean(b) => ValueType::BooleanValue(*b),
        Value::Integer(i) => ValueType::IntegerValue(*i),
        Value::Double(d) => ValueType::DoubleValue(*d),
        Value::Timestamp(t) => ValueType::TimestampValue(timestamp_to_proto(*t)),
        Value::String(s) => ValueType::StringValue(s.clone()),
        Value::Bytes(b) => ValueType::BytesValue(b.clone()),
        Value::Reference(r) => ValueType::ReferenceValue(r.clone()),
        Value::GeoPoint(g) => ValueType::GeoPointValue(proto::LatLng {
            latitude: g.latitude,
            longitude: g.longitude,
        }),
        Value::Array(items) => ValueType::ArrayValue(proto::ArrayValue {
            values: items.iter().map(value_to_proto).collect(),
        }),
        Value::Map(fields) => ValueType::MapValue(proto::MapValue {
            fields: fields_to_proto(fields),
        }),
    };
    proto::Value {
        value_type: Some(t),
    }
}

/// A protobuf value as a core value. Pipeline-only value kinds (field references,
/// functions) never occur in stored documents and are rejected.
pub fn value_from_proto(v: &proto::Value) -> Result<Value> {
    Ok(match &v.value_type {
        None | Some(ValueType::NullValue(_)) => Value::Null,
        Some(ValueType::BooleanValue(b)) => Value::Boolean(*b),
        Some(ValueType::IntegerValue(i)) => Value::Integer(*i),
        Some(ValueType::DoubleValue(d)) => Value::Double(*d),
        Some(ValueType::TimestampValue(t)) => Value::Timestamp(timestamp_from_proto(t)?),
        Some(ValueType::StringValue(s)) => Value::String(s.clone()),
        Some(ValueType::BytesValue(b)) => Value::Bytes(b.clone()),
        Some(ValueType::ReferenceValue(r)) => Value::Reference(r.clone()),
        Some(ValueType::GeoPointValue(g)) => Value::GeoPoint(GeoPoint {
            latitude: g.latitude,
            longitude: g.longitude,
        }),
        Some(ValueType::ArrayValue(a)) => Value::Array(
            a.values
                .iter()
                .map(value_from_proto)
                .collect::<Result<Vec<_>>>()?,
        ),
        Some(ValueType::MapValue(m)) => Value::Map(fields_from_proto(&m.fields)?),
        Some(other) => {
            return Err(Error::InvalidInput(format!(
                "Firestore sent a value kind that documents cannot hold: {other:?}"
            )));
        }
    })
}

/// Core document fields as protobuf fields.
pub fn fields_to_proto(fields: &BTreeMap<String, Value>) -> HashMap<String, proto::Value> {
    fields
        .iter()
        .map(|(k, v)| (k.clone(), value_to_proto(v)))
        .collect()
}

/// Protobuf fields as core document fields.
pub fn fields_from_proto(
    fields: &HashMap<String, proto::Value>,
) -> Result<BTreeMap<String, Value>> {
    fields
        .iter()
        .map(|(k, v)| Ok((k.clone(), value_from_proto(v)?)))
        .collect()
}

/// A core document as a protobuf document (create/update times included when known;
/// Firestore ignores them on writes).
pub fn document_to_proto(doc: &Document) -> proto::Document {
    proto::Document {
        name: doc.name.clone(),
        fields: fields_to_proto(&doc.fields),
        create_time: doc.create_time.map(timestamp_to_proto),
        update_time: doc.update_time.map(timestamp_to_proto),
    }
}

/// A protobuf document as a core document.
pub fn document_from_proto(doc: proto::Document) -> Result<Document> {
    Ok(Document {
        fields: fields_from_proto(&doc.fields)?,
        create_time: doc
            .create_time
            .as_ref()
            .map(timestamp_from_proto)
            .transpose()?,
        update_time: doc
            .update_time
            .as_ref()
            .map(timestamp_from_proto)
            .transpose()?,
        name: doc.name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_kind_round_trips_bit_exactly() {
        let mut inner = BTreeMap::new();
        inner.insert("nul\0key".to_string(), Value::String("astral 𝄞 \0".into()));
        let values = vec![
            Value::Null,
            Value::Boolean(true),
            Value::Integer(i64::MIN),
            Value::Integer(i64::MAX),
            Value::Double(f64::NAN),
            Value::Double(f64::from_bits(0x7ff8_0000_0000_0001)),
            Value::Double(-0.0),
            Value::Double(f64::INFINITY),
            Value::Double(f64::NEG_INFINITY),
            Value::Double(f64::from_bits(1)),
            Value::Timestamp(Timestamp::MIN),
            Value::Timestamp(Timestamp::MAX),
            Value::Bytes(vec![0, 255, 1]),
            Value::Reference("projects/p/databases/(default)/documents/a/b".into()),
            Value::GeoPoint(GeoPoint {
                latitude: -90.0,
                longitude: 180.0,
            }),
            Value::Array(vec![Value::Null, Value::Array(vec![])]),
            Value::Map(inner),
        ];
        for v in values {
            let back = value_from_proto(&value_to_proto(&v)).unwrap();
            assert_eq!(back, v);
        }
        // -0.0 and 0.0 must stay distinct.
        assert_ne!(
            value_from_proto(&value_to_proto(&Value::Double(-0.0))).unwrap(),
            Value::Double(0.0)
        );
    }

    #[test]
    fn pipeline_values_are_rejected() {
        let v = proto::Value {
            value_type: Some(ValueType::FieldReferenceValue("a".into())),
        };
        assert!(matches!(value_from_proto(&v), Err(Error::InvalidInput(_))));
    }
}
