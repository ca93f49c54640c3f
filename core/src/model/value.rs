//! Firestore values and documents.

use super::{DatabaseId, DocumentPath, Timestamp};
use crate::Result;
use std::collections::BTreeMap;

/// Maximum nesting of arrays and maps inside a document (Firestore's limit is 20).
pub const MAX_VALUE_NESTING: usize = 20;

/// A geographic point, in degrees.
#[derive(Clone, Copy, Debug)]
pub struct GeoPoint {
    /// Latitude in degrees, -90..=90.
    pub latitude: f64,
    /// Longitude in degrees, -180..=180.
    pub longitude: f64,
}

impl PartialEq for GeoPoint {
    fn eq(&self, other: &Self) -> bool {
        self.latitude.to_bits() == other.latitude.to_bits()
            && self.longitude.to_bits() == other.longitude.to_bits()
    }
}

/// One Firestore value, of every type Firestore stores.
///
/// Equality is exact: doubles compare by bit pattern, so `NaN == NaN` and `0.0 != -0.0`.
/// That is the equality a backup must preserve.
#[derive(Clone, Debug)]
pub enum Value {
    /// `nullValue`.
    Null,
    /// `booleanValue`.
    Boolean(bool),
    /// `integerValue`: a signed 64-bit integer.
    Integer(i64),
    /// `doubleValue`: any IEEE 754 double, including NaN, ±Infinity, -0.0 and subnormals.
    Double(f64),
    /// `timestampValue`, to the nanosecond.
    Timestamp(Timestamp),
    /// `stringValue`: any Unicode, including NUL.
    String(String),
    /// `bytesValue`.
    Bytes(Vec<u8>),
    /// `referenceValue`: a full document resource name.
    Reference(String),
    /// `geoPointValue`.
    GeoPoint(GeoPoint),
    /// `arrayValue`.
    Array(Vec<Value>),
    /// `mapValue`.
    Map(BTreeMap<String, Value>),
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        use Value::*;
        match (self, other) {
            (Null, Null) => true,
            (Boolean(a), Boolean(b)) => a == b,
            (Integer(a), Integer(b)) => a == b,
            (Double(a), Double(b)) => a.to_bits() == b.to_bits(),
            (Timestamp(a), Timestamp(b)) => a == b,
            (String(a), String(b)) => a == b,
            (Bytes(a), Bytes(b)) => a == b,
            (Reference(a), Reference(b)) => a == b,
            (GeoPoint(a), GeoPoint(b)) => a == b,
            (Array(a), Array(b)) => a == b,
            (Map(a), Map(b)) => a == b,
            _ => false,
        }
    }
}

impl Value {
    /// Depth of nested arrays/maps below this value (a scalar is 0, `[1]` is 1).
    pub fn nesting_depth(&self) -> usize {
        match self {
            Value::Array(items) => 1 + items.iter().map(Value::nesting_depth).max().unwrap_or(0),
            Value::Map(fields) => 1 + fields.values().map(Value::nesting_depth).max().unwrap_or(0),
            _ => 0,
        }
    }
}

/// A Firestore document: its full resource name, fields, and server timestamps.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// Full resource name: `projects/{p}/databases/{d}/documents/{path}`.
    pub name: String,
    /// The document's fields.
    pub fields: BTreeMap<String, Value>,
    /// When the document was created (set by Firestore).
    pub create_time: Option<Timestamp>,
    /// When the document was last changed (set by Firestore).
    pub update_time: Option<Timestamp>,
}

impl Document {
    /// A document with the given full name and fields, without server timestamps.
    pub fn new(name: impl Into<String>, fields: BTreeMap<String, Value>) -> Self {
        Document {
            name: name.into(),
            fields,
            create_time: None,
            update_time: None,
        }
    }

    /// Splits the full name into database and relative document path, validating both.
    pub fn path(&self) -> Result<(DatabaseId, DocumentPath)> {
        DocumentPath::parse_resource_name(&self.name)
    }

    /// The same document under another database (restore into another project/database).
    pub fn rehome(&self, target: &DatabaseId) -> Result<Document> {
        let (_, path) = self.path()?;
        Ok(Document {
            name: target.document_name(&path),
            ..self.clone()
        })
    }
}
