//! Audit events the caller holds (e.g. handed to a callback sink): their hash chain
//! checked. Reading, verifying and exporting a client's own trail are client operations
//! (`client.rs`), authorized and audited.

use crate::errors::{js_err, type_err};
use firekeep_core::Error as CoreError;
use firekeep_core::audit::{AuditEvent, verify_chain};
use napi_derive::napi;

/// The result of an audit chain check.
#[napi(object)]
pub struct AuditHead {
    /// How many events the chain holds.
    pub events: f64,
    /// The hash of the last event.
    pub hash: String,
}

/// Verifies the hash chain of a JSON array of events; a broken chain fails with
/// `ERR_AUDIT` naming the first bad event.
#[napi]
pub fn audit_verify_events(events_json: String) -> napi::Result<AuditHead> {
    let events: Vec<AuditEvent> = serde_json::from_str(&events_json)
        .map_err(|e| type_err(format!("not a JSON array of audit events: {e}")))?;
    let head = verify_chain(&events, None).map_err(|e| js_err(CoreError::Audit(e.to_string())))?;
    Ok(AuditHead {
        events: head.position as f64,
        hash: head.hash,
    })
}
