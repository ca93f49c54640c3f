//! Audit trail helpers over events the caller holds.

use crate::client::{events_json, opt_ts};
use crate::errors::{py_err, value_err};
use firekeep_core::Error as CoreError;
use firekeep_core::audit::{
    AuditEvent, ExportFilter, ExportFormat, export, read_jsonl, verify_chain,
};
use pyo3::prelude::*;
use std::path::PathBuf;

/// Exports audit events (JSON array text) as `json` or `csv`, filtered by time and action.
#[pyfunction]
#[pyo3(signature = (events_json, format="json", since=None, until=None, actions=vec![]))]
pub(crate) fn audit_export(
    events_json: &str,
    format: &str,
    since: Option<&Bound<'_, PyAny>>,
    until: Option<&Bound<'_, PyAny>>,
    actions: Vec<String>,
) -> PyResult<String> {
    let events: Vec<AuditEvent> = serde_json::from_str(events_json)
        .map_err(|e| value_err(format!("not a JSON array of audit events: {e}")))?;
    let fmt: ExportFormat = format.parse().map_err(py_err)?;
    let filter = ExportFilter {
        from: opt_ts(since)?,
        to: opt_ts(until)?,
        actions,
    };
    Ok(export(&events, &filter, fmt))
}

/// Reads a JSONL audit trail.
#[pyfunction]
pub(crate) fn audit_read(path: PathBuf) -> PyResult<String> {
    Ok(events_json(&read_jsonl(&path).map_err(py_err)?.events))
}

/// Verifies the hash chain of a JSONL audit file or of a JSON array of events; returns
/// (events, head hash). A broken chain raises `firekeep.AuditError` naming the first bad
/// event.
#[pyfunction]
#[pyo3(signature = (path=None, events_json=None))]
pub(crate) fn audit_verify(
    path: Option<PathBuf>,
    events_json: Option<&str>,
) -> PyResult<(u64, String)> {
    let head = match (path, events_json) {
        (Some(p), None) => read_jsonl(&p).map_err(py_err)?.verify(),
        (None, Some(text)) => {
            let events: Vec<AuditEvent> = serde_json::from_str(text)
                .map_err(|e| value_err(format!("not a JSON array of audit events: {e}")))?;
            verify_chain(&events, None)
        }
        _ => return Err(value_err("give exactly one of path= or events_json=")),
    }
    .map_err(|e| py_err(CoreError::Audit(e.to_string())))?;
    Ok((head.position, head.hash))
}
