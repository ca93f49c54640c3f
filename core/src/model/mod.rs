//! The Firestore data model, exact for every value type, and its REST JSON encoding.

pub mod json;
mod path;
mod timestamp;
mod value;

pub use path::{DatabaseId, DocumentPath, MAX_DOCUMENT_NAME_BYTES, MAX_SUBCOLLECTION_DEPTH};
pub use timestamp::Timestamp;
pub(crate) use timestamp::civil_from_days;
pub use value::{Document, GeoPoint, MAX_VALUE_NESTING, Value};
