//! `firekeep audit verify|export`.

use crate::args::AuditFormat;
use crate::context::Ctx;
use crate::error::{CliError, CliResult, exit};
use firekeep_core::Error;
use firekeep_core::audit::{AuditAction, ExportFilter, ExportFormat, filter_events, read_jsonl};
use firekeep_core::model::Timestamp;
use firekeep_core::policy::{Action, Resource, ResourceKind};
use firekeep_core::session::{AuditDetails, Operation};
use serde_json::{Value, json};

pub(super) async fn verify(ctx: &Ctx) -> CliResult<i32> {
    let session = ctx.session()?;
    let path = ctx.audit_path();
    let op = Operation::new(
        Action::ViewAuditLogs,
        Resource::organization(session.organization()).kind(ResourceKind::AuditLog),
        AuditAction::AuditVerified,
        AuditAction::OperationFailed,
    )
    .detail("file", path.display().to_string());
    let p = path.clone();
    let (events, head) = session
        .perform(op, || async move {
            let trail = read_jsonl(&p)?;
            let head = trail.verify().map_err(|e| {
                Error::integrity(
                    format!("audit log {} (event #{})", p.display(), e.index + 1),
                    e.to_string(),
                )
            })?;
            let mut details = serde_json::Map::new();
            details.insert("events".into(), trail.events.len().into());
            details.insert("head".into(), json!(head));
            Ok(details)
        })
        .await
        .map(|d| (d["events"].as_u64().unwrap_or(0), d["head"].clone()))?;
    ctx.out.result(
        &json!({"ok": true, "file": path.display().to_string(), "events": events, "head": head}),
        || {
            format!(
                "audit log {} OK: {} events, chain intact (head {})",
                path.display(),
                events,
                head["hash"].as_str().unwrap_or("?")
            )
        },
    );
    Ok(exit::OK)
}

pub(super) async fn export(ctx: &Ctx, a: crate::args::AuditExportArgs) -> CliResult<i32> {
    let filter = ExportFilter {
        from: a
            .since
            .as_deref()
            .map(Timestamp::parse_rfc3339)
            .transpose()?,
        to: a
            .until
            .as_deref()
            .map(Timestamp::parse_rfc3339)
            .transpose()?,
        actions: a.actions.clone(),
    };
    let format = match a.format {
        AuditFormat::Json => ExportFormat::Json,
        AuditFormat::Csv => ExportFormat::Csv,
    };
    let session = ctx.session()?;
    let path = ctx.audit_path();
    let op = Operation::new(
        Action::ExportAuditLogs,
        Resource::organization(session.organization()).kind(ResourceKind::AuditLog),
        AuditAction::AuditExported,
        AuditAction::OperationFailed,
    )
    .detail("format", format!("{:?}", a.format).to_lowercase());
    let p = path.clone();
    // The export is taken before this export's own event is appended.
    let (text, n) = session
        .perform(op, || async move {
            let trail = read_jsonl(&p)?;
            let n = filter_events(&trail.events, &filter).len();
            Ok(Exported(
                firekeep_core::audit::export(&trail.events, &filter, format),
                n,
            ))
        })
        .await
        .map(|e| (e.0, e.1))?;
    match &a.output {
        Some(file) => {
            std::fs::write(file, text.as_bytes())
                .map_err(|e| CliError::file("writing export", file, e))?;
            ctx.out.result(
                &json!({"events": n, "file": file.display().to_string()}),
                || format!("exported {n} events to {}", file.display()),
            );
        }
        None => {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(text.as_bytes());
            if !text.ends_with('\n') {
                let _ = stdout.write_all(b"\n");
            }
        }
    }
    Ok(exit::OK)
}

/// An export's text and event count; only the count goes into the audit event.
struct Exported(String, usize);

impl AuditDetails for Exported {
    fn audit_details(&self) -> serde_json::Map<String, Value> {
        let mut m = serde_json::Map::new();
        m.insert("events".into(), self.1.into());
        m
    }
}
