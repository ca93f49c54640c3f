//! Python bindings for firekeep: the native module `firekeep._native`.
//!
//! This layer adds no logic of its own: it converts arguments, runs the core's
//! [`firekeep_core::client::Client`] (GIL released, on a shared tokio runtime), and maps
//! [`firekeep_core::Error`] to the exception classes of `firekeep._errors` by
//! [`firekeep_core::Error::code`]. Reports cross the boundary as JSON (the core's own
//! serde form) and become typed objects in `firekeep/_results.py`.

mod audit;
mod client;
mod compliance;
mod distributed;
mod errors;
mod firestore;
mod identity;
mod keys;
mod object_format;
mod runtime;
mod streaming;
mod values;

use crate::audit::audit_verify_events;
use crate::client::Client;
use crate::firestore::Firestore;
use crate::identity::{Authenticator, Identity};
use crate::keys::Key;
use crate::object_format::{Decryptor, Encryptor, generate_data_key, object_header};
use crate::runtime::{CancellationToken, Progress};
use crate::values::{decode_document, encode_document, parse_duration, parse_rfc3339};
use pyo3::prelude::*;

/// The native module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<CancellationToken>()?;
    m.add_class::<Progress>()?;
    m.add_class::<Key>()?;
    m.add_class::<Encryptor>()?;
    m.add_class::<Decryptor>()?;
    m.add_class::<Firestore>()?;
    m.add_class::<Client>()?;
    m.add_class::<Authenticator>()?;
    m.add_class::<Identity>()?;
    m.add_function(wrap_pyfunction!(generate_data_key, m)?)?;
    m.add_function(wrap_pyfunction!(streaming::encrypt, m)?)?;
    m.add_function(wrap_pyfunction!(streaming::decrypt, m)?)?;
    m.add_function(wrap_pyfunction!(object_header, m)?)?;
    m.add_function(wrap_pyfunction!(decode_document, m)?)?;
    m.add_function(wrap_pyfunction!(encode_document, m)?)?;
    m.add_function(wrap_pyfunction!(parse_rfc3339, m)?)?;
    m.add_function(wrap_pyfunction!(parse_duration, m)?)?;
    m.add_function(wrap_pyfunction!(audit_verify_events, m)?)?;
    m.add_function(wrap_pyfunction!(compliance::client_erase, m)?)?;
    m.add_function(wrap_pyfunction!(compliance::client_export, m)?)?;
    m.add_function(wrap_pyfunction!(compliance::client_hold, m)?)?;
    m.add_function(wrap_pyfunction!(compliance::client_release_hold, m)?)?;
    m.add_function(wrap_pyfunction!(identity::api_key_create, m)?)?;
    m.add_function(wrap_pyfunction!(identity::api_key_rotate, m)?)?;
    m.add_function(wrap_pyfunction!(identity::api_key_revoke, m)?)?;
    m.add_function(wrap_pyfunction!(identity::api_key_list, m)?)?;
    m.add_function(wrap_pyfunction!(identity::access_review, m)?)?;
    m.add_function(wrap_pyfunction!(distributed::plan_backup, m)?)?;
    m.add_function(wrap_pyfunction!(distributed::backup_task, m)?)?;
    m.add_function(wrap_pyfunction!(distributed::commit_backup, m)?)?;
    Ok(())
}
