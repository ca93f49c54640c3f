//! Audit events the caller holds (e.g. handed to a callable sink): their hash chain
//! checked. Reading, verifying and exporting a client's own trail are client operations
//! (`client.rs`), authorized and audited.

use crate::errors::{py_err, value_err};
use firekeep_core::Error as CoreError;
use firekeep_core::audit::{AuditEvent, verify_chain};
use pyo3::prelude::*;

/// Verifies the hash chain of a JSON array of events; returns (events, head hash). A
/// broken chain raises `firekeep.AuditError` naming the first bad event.
#[pyfunction]
pub(crate) fn audit_verify_events(events_json: &str) -> PyResult<(u64, String)> {
    let events: Vec<AuditEvent> = serde_json::from_str(events_json)
        .map_err(|e| value_err(format!("not a JSON array of audit events: {e}")))?;
    let head = verify_chain(&events, None).map_err(|e| py_err(CoreError::Audit(e.to_string())))?;
    Ok((head.position, head.hash))
}
