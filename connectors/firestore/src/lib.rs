//! Firestore v1 over gRPC for firekeep: [`FirestoreConnector`] implements the core's
//! [`FirestoreSource`](firekeep_core::source::FirestoreSource) (backup reads) and
//! [`FirestoreTarget`](firekeep_core::source::FirestoreTarget) (restore writes).
//!
//! * Reads are all-descendants (or per-collection) `RunQuery` calls ordered by `__name__`,
//!   paged with cursors at one `read_time`, streamed with backpressure; a broken stream
//!   resumes after the last name read.
//! * `partition()` uses `PartitionQuery` and falls back to one range when the server
//!   answers UNIMPLEMENTED.
//! * Writes use `BatchWrite` (≤ 500 writes, < 10 MiB per request, one write per document
//!   per request), preconditions for the conflict modes, and the 500/50/5 ramp-up.
//! * Transient codes retry with exponential backoff and full jitter.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
pub mod config;
mod connector;
pub mod convert;
pub mod json_write;
mod read;
pub mod read_time;
mod retry;
pub mod wire;
mod write;

pub use config::{ConnectorConfig, Credentials, DEFAULT_LIST_PAGE_SIZE, RetryConfig};
pub use connector::FirestoreConnector;
pub use read_time::validate_read_time;

/// The generated Firestore v1 protobuf types this connector speaks.
pub mod proto {
    pub use googleapis_tonic_google_firestore_v1::google::firestore::v1::*;
    pub use googleapis_tonic_google_firestore_v1::google::r#type::LatLng;
}
