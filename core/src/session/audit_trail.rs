//! The audit trail read back, verified and exported as operations of the session: each is
//! authorized (`view_audit_logs`, or `export_audit_logs` for an export, on the
//! organization's audit log) and audited (`audit.viewed`, `audit.verified`,
//! `audit.exported`), the same way from the CLI and from every binding's client.

use super::{AuditDetails, Operation, Session};
use crate::audit::{
    AuditAction, AuditEvent, AuditSink, AuditTrail, ChainHead, ExportFilter, ExportFormat, export,
    filter_events, read_jsonl,
};
use crate::policy::{Action, Resource, ResourceKind};
use crate::setup::AuditHandle;
use crate::{Error, Result};
use serde::Serialize;
use serde_json::{Map, Value, json};

impl AuditHandle {
    /// What the session's sink holds so far (from its retention anchor on): the JSONL
    /// file read back, or the in-memory events. A sink of the front end's own (a
    /// callback) keeps nothing to read.
    pub async fn read(&self) -> Result<AuditTrail> {
        match self {
            AuditHandle::Memory(m) => m.read().await,
            AuditHandle::File(path) => read_jsonl(path),
            AuditHandle::Other => Err(Error::InvalidInput(
                "this client's audit sink is a callback; its events went to that function".into(),
            )),
        }
    }

    /// How errors name the trail.
    fn label(&self) -> String {
        match self {
            AuditHandle::File(path) => format!("audit log {}", path.display()),
            _ => "audit log".into(),
        }
    }
}

/// The outcome of [`Session::audit_verify`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditVerification {
    /// Events in the trail (after any retention cut).
    pub events: u64,
    /// The chain's head: events ever appended and the newest event's hash.
    pub head: ChainHead,
}

impl AuditDetails for AuditVerification {
    fn audit_details(&self) -> Map<String, Value> {
        let mut d = Map::new();
        d.insert("events".into(), self.events.into());
        d.insert("head".into(), json!(self.head));
        d
    }
}

/// The outcome of [`Session::audit_export`]: the rendered events and how many there are
/// (only the count goes into the audit event).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditExport {
    /// A JSON array or CSV text ([`ExportFormat`]).
    pub text: String,
    /// Events selected by the filter.
    pub events: usize,
}

impl AuditDetails for AuditExport {
    fn audit_details(&self) -> Map<String, Value> {
        let mut d = Map::new();
        d.insert("events".into(), self.events.into());
        d
    }
}

/// Events read back; the event records how many.
struct Viewed(Vec<AuditEvent>);

impl AuditDetails for Viewed {
    fn audit_details(&self) -> Map<String, Value> {
        let mut d = Map::new();
        d.insert("events".into(), self.0.len().into());
        d
    }
}

impl Session {
    fn audit_log_op(&self, action: Action, success: AuditAction) -> Operation {
        let log = Resource::organization(self.organization()).kind(ResourceKind::AuditLog);
        Operation::new(action, log, success, AuditAction::OperationFailed)
    }

    /// The events of `trail` so far, oldest first (permission: view audit logs; audited as
    /// `audit.viewed`, recorded after the events are read).
    pub async fn audit_events(&self, trail: &AuditHandle) -> Result<Vec<AuditEvent>> {
        let mut op = self.audit_log_op(Action::ViewAuditLogs, AuditAction::AuditViewed);
        if let AuditHandle::File(path) = trail {
            op = op.detail("file", path.display().to_string());
        }
        let viewed = self
            .perform(op, || async move { Ok(Viewed(trail.read().await?.events)) })
            .await?;
        Ok(viewed.0)
    }

    /// Verifies the hash chain of `trail` (permission: view audit logs; audited as
    /// `audit.verified`). A broken chain is an [`Error::Integrity`] naming the first bad
    /// event.
    pub async fn audit_verify(&self, trail: &AuditHandle) -> Result<AuditVerification> {
        let mut op = self.audit_log_op(Action::ViewAuditLogs, AuditAction::AuditVerified);
        if let AuditHandle::File(path) = trail {
            op = op.detail("file", path.display().to_string());
        }
        self.perform(op, || async move {
            let read = trail.read().await?;
            let head = read.verify().map_err(|e| {
                Error::integrity(
                    format!("{} (event #{})", trail.label(), e.index + 1),
                    e.to_string(),
                )
            })?;
            Ok(AuditVerification {
                events: read.events.len() as u64,
                head,
            })
        })
        .await
    }

    /// Exports the events of `trail` that `filter` selects, as `format` (permission:
    /// export audit logs; audited as `audit.exported` with the format and the event
    /// count). The export is taken before its own event is appended.
    pub async fn audit_export(
        &self,
        trail: &AuditHandle,
        filter: &ExportFilter,
        format: ExportFormat,
    ) -> Result<AuditExport> {
        let name = match format {
            ExportFormat::Json => "json",
            ExportFormat::Csv => "csv",
        };
        let op = self
            .audit_log_op(Action::ExportAuditLogs, AuditAction::AuditExported)
            .detail("format", name);
        self.perform(op, || async move {
            let events = trail.read().await?.events;
            Ok(AuditExport {
                events: filter_events(&events, filter).len(),
                text: export(&events, filter, format),
            })
        })
        .await
    }
}
