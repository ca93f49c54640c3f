//! Export of audit events by time range and action, as JSON or CSV.

use super::AuditEvent;
use crate::model::Timestamp;
use crate::{Error, Result};
use std::str::FromStr;

/// Which events to export. Empty fields select everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportFilter {
    /// Only events at or after this instant.
    pub from: Option<Timestamp>,
    /// Only events before this instant.
    pub to: Option<Timestamp>,
    /// Only these actions (`backup.created` ...); a trailing `.*` selects a family
    /// (`backup.*`).
    pub actions: Vec<String>,
}

impl ExportFilter {
    /// Whether an event is selected.
    pub fn matches(&self, e: &AuditEvent) -> bool {
        if self.from.is_some() || self.to.is_some() {
            let Ok(t) = e.time() else { return false };
            if self.from.is_some_and(|f| t < f) || self.to.is_some_and(|to| t >= to) {
                return false;
            }
        }
        self.actions.is_empty()
            || self.actions.iter().any(|a| match a.strip_suffix('*') {
                Some(prefix) => e.action.starts_with(prefix),
                None => e.action == *a,
            })
    }
}

/// Export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// A JSON array of events, exactly as stored.
    Json,
    /// RFC 4180 CSV with a header row; nested objects as JSON text.
    Csv,
}

impl FromStr for ExportFormat {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "json" => Ok(ExportFormat::Json),
            "csv" => Ok(ExportFormat::Csv),
            _ => Err(Error::InvalidInput(format!(
                "unknown export format {s:?}; use json or csv"
            ))),
        }
    }
}

/// The events a filter selects, in trail order.
pub fn filter_events<'a>(events: &'a [AuditEvent], filter: &ExportFilter) -> Vec<&'a AuditEvent> {
    events.iter().filter(|e| filter.matches(e)).collect()
}

/// Filters and renders events.
pub fn export(events: &[AuditEvent], filter: &ExportFilter, format: ExportFormat) -> String {
    let selected = filter_events(events, filter);
    match format {
        ExportFormat::Json => export_json(&selected),
        ExportFormat::Csv => export_csv(&selected),
    }
}

/// A pretty-printed JSON array of the events.
pub fn export_json(events: &[&AuditEvent]) -> String {
    let mut s = serde_json::to_string_pretty(events).expect("audit events always encode");
    s.push('\n');
    s
}

/// The CSV columns, in order.
pub const CSV_COLUMNS: [&str; 15] = [
    "id",
    "timestamp",
    "action",
    "actor_type",
    "actor_id",
    "actor_email",
    "resource_type",
    "resource_id",
    "organization_id",
    "ip",
    "user_agent",
    "location",
    "details",
    "prev_hash",
    "hash",
];

/// RFC 4180 CSV (CRLF line ends, fields quoted when they hold `"`, `,`, CR or LF). A cell
/// that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or CR)
/// is prefixed with `'`.
pub fn export_csv(events: &[&AuditEvent]) -> String {
    let mut out = String::new();
    push_row(&mut out, CSV_COLUMNS.iter().map(|c| c.to_string()));
    for e in events {
        let opt = |o: &Option<String>| o.clone().unwrap_or_default();
        let details = serde_json::to_string(&e.details).expect("details always encode");
        push_row(
            &mut out,
            [
                e.id.clone(),
                e.timestamp.clone(),
                e.action.clone(),
                e.actor.kind.clone(),
                e.actor.id.clone(),
                opt(&e.actor.email),
                e.resource.kind.clone(),
                e.resource.id.clone(),
                e.organization.id.clone(),
                opt(&e.context.ip),
                opt(&e.context.user_agent),
                opt(&e.context.location),
                details,
                e.prev_hash.clone(),
                e.hash.clone(),
            ]
            .into_iter(),
        );
    }
    out
}

fn push_row(out: &mut String, cells: impl Iterator<Item = String>) {
    for (i, cell) in cells.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&csv_cell(&cell));
    }
    out.push_str("\r\n");
}

/// One CSV cell: neutralised against formula injection, then quoted if needed.
pub fn csv_cell(value: &str) -> String {
    let neutral = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if neutral.contains(['"', ',', '\r', '\n']) {
        format!("\"{}\"", neutral.replace('"', "\"\""))
    } else {
        neutral
    }
}
