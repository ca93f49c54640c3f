//! firekeep-core: everything firekeep does that does not talk to a network.
//!
//! * [`model`]: the lossless Firestore data model and its REST JSON encoding.
//! * [`format`]: the encrypted object format (header ‖ Tink AesGcmHkdfStreaming body).
//! * [`keys`]: data keys and the [`keys::KeyProvider`] trait (passphrase, raw key).
//! * [`policy`] and [`audit`]: role-based authorization and the tamper-evident audit trail.
//! * [`identity`]: who is calling (JWTs, API keys), access reviews and alerts.
//! * [`source`] and [`storage`]: the traits connectors implement, with in-memory and
//!   local-filesystem implementations.
//! * [`engine`]: backup, verify, restore, list, diff, prune and key rotation over those traits.
//!
//! The core never depends on an async runtime, gRPC or a binding framework.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod audit;
pub mod client;
pub mod engine;
pub mod error;
pub mod format;
pub mod identity;
pub mod keys;
pub mod model;
pub mod policy;
pub mod secret;
pub mod session;
pub mod setup;
pub mod source;
pub mod storage;

pub use error::{Error, Result};
