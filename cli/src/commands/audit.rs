//! `firekeep audit verify|export`.

use crate::args::AuditFormat;
use crate::context::Ctx;
use crate::error::{CliError, CliResult, exit};
use firekeep_core::audit::{ExportFilter, ExportFormat};
use firekeep_core::model::Timestamp;
use firekeep_core::setup::AuditHandle;
use serde_json::json;

pub(super) async fn verify(ctx: &Ctx) -> CliResult<i32> {
    let session = ctx.session()?;
    let path = ctx.audit_path();
    // The same operation every binding's client runs (authorized, audited).
    let checked = session
        .audit_verify(&AuditHandle::File(path.clone()))
        .await?;
    let (events, head) = (checked.events, json!(checked.head));
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
    let trail = AuditHandle::File(ctx.audit_path());
    let exported = session.audit_export(&trail, &filter, format).await?;
    let (text, n) = (exported.text, exported.events);
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
