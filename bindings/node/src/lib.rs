//! Node bindings for firekeep: the native addon behind the `firekeep` npm package.
//!
//! This layer adds no logic of its own: it converts arguments, runs the core's
//! [`firekeep_core::client::Client`] on napi's tokio runtime (every I/O call returns a
//! Promise and never blocks the event loop), and reports [`firekeep_core::Error`] with its
//! stable code. Errors cross as `"<CODE>: <message>"` and `lib/errors.js` turns them into
//! `Error` subclasses with a `code` property; reports cross as the core's own JSON.

#![deny(clippy::all)]

pub mod audit;
pub mod authorize;
pub mod client;
pub mod client_open;
pub mod compliance;
pub mod errors;
pub mod firestore;
pub mod identity;
pub mod keys;
pub mod object_format;
pub mod runtime;
pub mod segments;
pub mod values;
