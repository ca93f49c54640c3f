//! Audit-chain verification of events the caller holds. Reading, verifying and exporting
//! a client's own trail are client operations (`client.rs`), authorized and audited.

use crate::errors::{FirekeepError, Result, guard, invalid};
use firekeep_core::Error as CoreError;
use firekeep_core::audit::{AuditEvent, verify_chain};

/// The end of a verified audit chain.
#[derive(Clone, Debug, uniffi::Record)]
pub struct AuditHead {
    /// Number of events ever appended.
    pub position: u64,
    /// Hash of the newest event; record it elsewhere to detect deletion of the newest events.
    pub hash: String,
}

/// Verifies the hash chain of a JSON array of audit events the caller holds (as
/// `Client.auditEventsJson` returns). A client's own trail: `Client.auditVerify`.
#[uniffi::export]
pub fn audit_verify_events(events_json: String) -> Result<AuditHead> {
    guard(|| {
        let events: Vec<AuditEvent> = serde_json::from_str(&events_json)
            .map_err(|e| invalid(format!("not a JSON array of audit events: {e}")))?;
        let head = verify_chain(&events, None)
            .map_err(|e| FirekeepError::from(CoreError::Audit(e.to_string())))?;
        Ok(AuditHead {
            position: head.position,
            hash: head.hash,
        })
    })
}
