//! Exact conversions between Firestore's protobuf messages and [`firekeep_core::model`].
//!
//! Public so the gRPC connector and tests can reuse them: both sides then agree bit for bit
//! (doubles by bit pattern, timestamps to the nanosecond, bytes, references, geopoints).

use firekeep_core::model::{self, GeoPoint, Timestamp};
use firekeep_core::{Error, Result};
use googleapis_tonic_google_firestore_v1::google::firestore::v1 as pb;
use googleapis_tonic_google_firestore_v1::google::r#type::LatLng;
use pb::value::ValueType;
use std::collections::{BTreeMap, HashMap};

/// A core timestamp as `google.protobuf.Timestamp`.
pub fn timestamp_to_proto(t: Timestamp) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.seconds(),
        nanos: t.nanos() as i32,
    }
}

/// A `google.protobuf.Timestamp` as a core timestamp (range and nanos checked).
pub fn timestamp_from_proto(t: &prost_types::Timestamp) -> Result<Timestamp> {
    let nanos = u32::try_from(t.nanos)
        .map_err(|_| Error::InvalidInput(format!("timestamp nanos {} is negative", t.nanos)))?;
    Timestamp::new(t.seconds, nanos)
}

/// A core value as a protobuf value.
pub fn value_to_proto(v: &model::Value) -> pb::Value {
    use model::Value as V;
    let t = match v {
        V::Null => ValueType::NullValue(0),
        V::Boolean(b) => ValueType::BooleanValue(*b),
        V::Integer(i) => ValueType::IntegerValue(*i),
        V::Double(d) => ValueType::DoubleValue(*d),
        V::Timestamp(t) => ValueType::TimestampValue(timestamp_to_proto(*t)),
        V::String(s) => ValueType::StringValue(s.clone()),
        V::Bytes(b) => ValueType::BytesValue(b.clone()),
        V::Reference(r) => ValueType::ReferenceValue(r.clone()),
        V::GeoPoint(g) => ValueType::GeoPointValue(LatLng {
            latitude: g.latitude,
            longitude: g.longitude,
        }),
        V::Array(items) => ValueType::ArrayValue(pb::ArrayValue {
            values: items.iter().map(value_to_proto).collect(),
        }),
        V::Map(fields) => ValueType::MapValue(pb::MapValue {
            fields: fields_to_proto(fields),
        }),
    };
    pb::Value {
        value_type: Some(t),
    }
}

/// A protobuf value as a core value. Fails on an unset value and on the pipeline-only
/// kinds (field/variable references, functions, pipelines), which documents never hold.
pub fn value_from_proto(v: &pb::Value) -> Result<model::Value> {
    use model::Value as V;
    Ok(match &v.value_type {
        None => return Err(Error::InvalidInput("a Value has no value set".into())),
        Some(ValueType::NullValue(_)) => V::Null,
        Some(ValueType::BooleanValue(b)) => V::Boolean(*b),
        Some(ValueType::IntegerValue(i)) => V::Integer(*i),
        Some(ValueType::DoubleValue(d)) => V::Double(*d),
        Some(ValueType::TimestampValue(t)) => V::Timestamp(timestamp_from_proto(t)?),
        Some(ValueType::StringValue(s)) => V::String(s.clone()),
        Some(ValueType::BytesValue(b)) => V::Bytes(b.clone()),
        Some(ValueType::ReferenceValue(r)) => V::Reference(r.clone()),
        Some(ValueType::GeoPointValue(g)) => V::GeoPoint(GeoPoint {
            latitude: g.latitude,
            longitude: g.longitude,
        }),
        Some(ValueType::ArrayValue(a)) => V::Array(
            a.values
                .iter()
                .map(value_from_proto)
                .collect::<Result<_>>()?,
        ),
        Some(ValueType::MapValue(m)) => V::Map(fields_from_proto(&m.fields)?),
        Some(_) => {
            return Err(Error::InvalidInput(
                "pipeline expressions are not document values".into(),
            ));
        }
    })
}

/// Core fields as protobuf fields.
pub fn fields_to_proto(fields: &BTreeMap<String, model::Value>) -> HashMap<String, pb::Value> {
    fields
        .iter()
        .map(|(k, v)| (k.clone(), value_to_proto(v)))
        .collect()
}

/// Protobuf fields as core fields.
pub fn fields_from_proto(
    fields: &HashMap<String, pb::Value>,
) -> Result<BTreeMap<String, model::Value>> {
    fields
        .iter()
        .map(|(k, v)| Ok((k.clone(), value_from_proto(v)?)))
        .collect()
}

/// A core document as a protobuf document.
pub fn document_to_proto(d: &model::Document) -> pb::Document {
    pb::Document {
        name: d.name.clone(),
        fields: fields_to_proto(&d.fields),
        create_time: d.create_time.map(timestamp_to_proto),
        update_time: d.update_time.map(timestamp_to_proto),
    }
}

/// A protobuf document as a core document.
pub fn document_from_proto(d: &pb::Document) -> Result<model::Document> {
    Ok(model::Document {
        name: d.name.clone(),
        fields: fields_from_proto(&d.fields)?,
        create_time: d
            .create_time
            .as_ref()
            .map(timestamp_from_proto)
            .transpose()?,
        update_time: d
            .update_time
            .as_ref()
            .map(timestamp_from_proto)
            .transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::Value as V;

    #[test]
    fn round_trip_is_exact() {
        let mut inner = BTreeMap::new();
        inner.insert("nul\0".to_string(), V::String("𝄞\0".into()));
        let values = vec![
            V::Null,
            V::Boolean(true),
            V::Integer(i64::MIN),
            V::Integer(i64::MAX),
            V::Double(f64::NAN),
            V::Double(-0.0),
            V::Double(f64::INFINITY),
            V::Double(f64::from_bits(1)),
            V::Timestamp(Timestamp::MIN),
            V::Timestamp(Timestamp::MAX),
            V::Bytes(vec![0, 255]),
            V::Reference("projects/p/databases/(default)/documents/a/b".into()),
            V::GeoPoint(GeoPoint {
                latitude: -90.0,
                longitude: 180.0,
            }),
            V::Array(vec![V::Map(inner)]),
        ];
        for v in values {
            let back = value_from_proto(&value_to_proto(&v)).unwrap();
            assert_eq!(back, v);
        }
        assert!(value_from_proto(&pb::Value { value_type: None }).is_err());
        let bad = prost_types::Timestamp {
            seconds: 0,
            nanos: -1,
        };
        assert!(timestamp_from_proto(&bad).is_err());
    }
}
