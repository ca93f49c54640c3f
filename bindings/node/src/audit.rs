//! Audit trail helpers over events the caller holds.

use crate::client::opt_ts;
use crate::errors::{js_err, to_json, type_err};
use firekeep_core::Error as CoreError;
use firekeep_core::audit::{
    AuditEvent, ExportFilter, ExportFormat, export, read_jsonl, verify_chain,
};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::path::PathBuf;

/// Exports audit events (a JSON array) as `json` or `csv`, filtered by time and action.
#[napi]
pub fn audit_export(
    events_json: String,
    format: String,
    since: Option<String>,
    until: Option<String>,
    actions: Option<Vec<String>>,
) -> Result<String> {
    let events: Vec<AuditEvent> = serde_json::from_str(&events_json)
        .map_err(|e| type_err(format!("not a JSON array of audit events: {e}")))?;
    let fmt: ExportFormat = format.parse().map_err(js_err)?;
    let filter = ExportFilter {
        from: opt_ts(since)?,
        to: opt_ts(until)?,
        actions: actions.unwrap_or_default(),
    };
    Ok(export(&events, &filter, fmt))
}

/// Reads a JSONL audit trail as a JSON array.
#[napi]
pub fn audit_read(path: String) -> Result<String> {
    Ok(to_json(
        &read_jsonl(&PathBuf::from(path)).map_err(js_err)?.events,
    ))
}

/// The result of an audit chain check.
#[napi(object)]
pub struct AuditHead {
    /// How many events the chain holds.
    pub events: f64,
    /// The hash of the last event.
    pub hash: String,
}

/// Verifies the hash chain of a JSONL audit file (`path`) or of a JSON array of events;
/// a broken chain fails with `ERR_AUDIT` naming the first bad event.
#[napi]
pub fn audit_verify(path: Option<String>, events_json: Option<String>) -> Result<AuditHead> {
    let head = match (path, events_json) {
        (Some(p), None) => read_jsonl(&PathBuf::from(p)).map_err(js_err)?.verify(),
        (None, Some(text)) => {
            let events: Vec<AuditEvent> = serde_json::from_str(&text)
                .map_err(|e| type_err(format!("not a JSON array of audit events: {e}")))?;
            verify_chain(&events, None)
        }
        _ => return Err(type_err("give exactly one of a path or events")),
    }
    .map_err(|e| js_err(CoreError::Audit(e.to_string())))?;
    Ok(AuditHead {
        events: head.position as f64,
        hash: head.hash,
    })
}
