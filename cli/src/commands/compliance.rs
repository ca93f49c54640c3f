//! `firekeep erase`, `firekeep export` and `firekeep hold`.

use super::resolve_id;
use crate::compliance_args::{EraseArgs, ExportArgs, ExportFormatArg, HoldCommand};
use crate::context::Ctx;
use crate::error::{CliError, CliResult, exit};
use crate::secrets::Prompt;
use firekeep_core::engine::{
    DirOutput, EraseOptions, EraseSelector, ExportFormat, ExportOptions, ExportOutput, FieldMatch,
    StreamOutput,
};
use firekeep_core::model::{Value, json as fjson};
use serde_json::json;

/// A Firestore REST JSON value (`{"integerValue":"42"}`), decoded by the core.
fn rest_value(text: &str) -> CliResult<Value> {
    fjson::decode_value(text.as_bytes()).map_err(|e| CliError::usage(format!("--equals-json: {e}")))
}

pub(super) async fn erase(ctx: &Ctx, a: EraseArgs) -> CliResult<i32> {
    let field_match = match (a.collection_group, a.field) {
        (Some(collection_group), Some(field)) => {
            let value = match (a.equals, a.equals_json) {
                (Some(s), None) => Value::String(s),
                (None, Some(j)) => rest_value(&j)?,
                _ => {
                    return Err(CliError::usage(
                        "--collection-group and --field need --equals or --equals-json",
                    ));
                }
            };
            Some(FieldMatch {
                collection_group,
                field,
                value,
            })
        }
        _ => None,
    };
    let opts = EraseOptions {
        selector: EraseSelector {
            paths: a.paths,
            field_match,
            include_subcollections: a.subcollections,
        },
        backups: a.backups,
        dry_run: a.dry_run,
    };
    let client = ctx.client(false, Prompt::Once).await?;
    let report = client.erase(&opts, &ctx.cancel).await?;
    ctx.out.result(
        &serde_json::to_value(&report).expect("report serializes"),
        || {
            let mut s = String::new();
            for b in &report.backups {
                s.push_str(&format!(
                    "{}  {} documents, {} parts rewritten, {} dropped, {} unchanged, generation {}\n",
                    b.backup_id,
                    b.documents,
                    b.parts_rewritten,
                    b.parts_dropped,
                    b.parts_unchanged,
                    b.generation
                ));
            }
            let verb = if report.dry_run {
                "would erase"
            } else {
                "erased"
            };
            s + &format!(
                "{verb} {} documents from {} backups\n",
                report.documents,
                report.backups.len()
            )
        },
    );
    Ok(exit::OK)
}

pub(super) async fn export(ctx: &Ctx, a: ExportArgs) -> CliResult<i32> {
    let client = ctx.client(false, Prompt::Once).await?;
    let id = resolve_id(ctx, &client, &a.backup).await?;
    let opts = ExportOptions {
        collections: a.collections,
        format: match a.format {
            ExportFormatArg::Ndjson => ExportFormat::Ndjson,
            ExportFormatArg::Json => ExportFormat::Json,
            ExportFormatArg::Csv => ExportFormat::Csv,
        },
    };
    let to_stdout = a.out.as_os_str() == "-";
    let mut out: Box<dyn ExportOutput> = if to_stdout {
        Box::new(StreamOutput::new(Box::new(std::io::BufWriter::new(
            std::io::stdout(),
        ))))
    } else {
        Box::new(DirOutput(a.out.clone()))
    };
    let report = client.export(&id, &opts, out.as_mut(), &ctx.cancel).await?;
    if to_stdout {
        // The documents went to stdout: the summary goes to stderr.
        ctx.out.note(&format!(
            "exported {} documents of backup {id}",
            report.documents
        ));
    } else {
        ctx.out.result(
            &serde_json::to_value(&report).expect("report serializes"),
            || {
                format!(
                    "exported {} documents of backup {id} to {} ({})\n",
                    report.documents,
                    a.out.display(),
                    report.files.join(", ")
                )
            },
        );
    }
    Ok(exit::OK)
}

/// What placing or releasing did to the S3 Object Lock legal holds, as one line.
fn object_lock_line(h: &firekeep_core::engine::LegalHold, verb: &str) -> String {
    use firekeep_core::engine::ObjectLockStatus as S;
    match &h.object_lock {
        Some(o) if o.status == S::Applied => {
            format!("S3 Object Lock legal hold {verb} {} objects\n", o.objects)
        }
        Some(o) => format!(
            "warning: no S3 Object Lock legal hold ({}): {}\n",
            o.status_name(),
            o.detail.as_deref().unwrap_or("")
        ),
        None => String::new(),
    }
}

pub(super) async fn hold(ctx: &Ctx, c: HoldCommand) -> CliResult<i32> {
    let client = ctx.client(false, Prompt::Once).await?;
    match c {
        HoldCommand::Place(a) => {
            let h = client.hold(&a.backup, &a.reason).await?;
            ctx.out.result(&json!({ "hold": h }), || {
                format!(
                    "backup {} is under legal hold since {}\n{}",
                    h.backup_id,
                    h.held_at,
                    object_lock_line(&h, "set on")
                )
            });
        }
        HoldCommand::Release(a) => {
            let h = client.release_hold(&a.backup).await?;
            ctx.out.result(
                &json!({ "released": h.is_some(), "hold": h }),
                || match &h {
                    Some(h) => format!(
                        "released the legal hold on backup {}\n{}",
                        a.backup,
                        object_lock_line(h, "cleared on")
                    ),
                    None => format!("backup {} was not under legal hold\n", a.backup),
                },
            );
        }
    }
    Ok(exit::OK)
}
