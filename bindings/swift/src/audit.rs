//! Audit-chain verification.

use crate::errors::{FirekeepError, Result, guard, invalid};
use firekeep_core::Error as CoreError;
use firekeep_core::audit::{AuditEvent, read_jsonl, verify_chain};

/// The end of a verified audit chain.
#[derive(Clone, Debug, uniffi::Record)]
pub struct AuditHead {
    /// Number of events ever appended.
    pub position: u64,
    /// Hash of the newest event; record it elsewhere to detect deletion of the newest events.
    pub hash: String,
}

/// Verifies the hash chain of a JSONL audit file. A broken chain fails with `Audit`,
/// naming the first bad event.
#[uniffi::export]
pub fn audit_verify_file(path: String) -> Result<AuditHead> {
    guard(|| {
        let trail = read_jsonl(std::path::Path::new(&path))?;
        let head = trail
            .verify()
            .map_err(|e| FirekeepError::from(CoreError::Audit(e.to_string())))?;
        Ok(AuditHead {
            position: head.position,
            hash: head.hash,
        })
    })
}

/// Verifies the hash chain of a JSON array of audit events (as `Client.auditEventsJson`
/// returns).
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
