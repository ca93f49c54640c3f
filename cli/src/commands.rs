//! The commands: each builds what it needs from the context, calls the client (which
//! authorizes and audits), and prints a table or one JSON document.

use crate::args::{AuditCommand, AuditFormat, Cli, Command, Conflict};
use crate::config::{self, Settings};
use crate::context::Ctx;
use crate::error::{CliError, CliResult, exit};
use crate::output::{Output, bytes, count, table};
use crate::progress::Progress;
use crate::secrets::Prompt;
use firekeep_core::Error;
use firekeep_core::audit::{
    AuditAction, ExportFilter, ExportFormat, export, filter_events, read_jsonl,
};
use firekeep_core::client::Client;
use firekeep_core::engine::{
    BackupList, BackupOptions, BackupReport, BackupSummary, CancellationToken, DiffOptions,
    DiffReport, PrunePlan, RestoreOptions, Retention, VerifyReport,
};
use firekeep_core::model::{DatabaseId, Timestamp};
use firekeep_core::policy::{Action, Resource, ResourceKind};
use firekeep_core::session::{AuditDetails, Operation};
use firekeep_core::source::ConflictMode;
use serde_json::{Value, json};
use std::sync::Arc;

/// Runs a parsed command line; returns the exit code.
pub async fn run(cli: Cli, from_env: &dyn Fn(&str) -> bool) -> CliResult<i32> {
    let out = Output {
        json: cli.global.json,
    };
    if let Command::Demo(args) = &cli.command {
        let cancel = ctrl_c_cancels(out);
        return crate::demo::run(args, out, cancel).await;
    }
    let (file, _path) = config::load_file(cli.global.config.as_deref())?;
    let settings: Settings = config::merge(&cli.global, &file, from_env);
    let ctx = Ctx {
        settings,
        file,
        out,
        cancel: ctrl_c_cancels(out),
    };
    match cli.command {
        Command::Backup(a) => backup(&ctx, a).await,
        Command::List => list(&ctx).await,
        Command::Verify(a) => verify(&ctx, &a.backup).await,
        Command::Restore(a) => restore(&ctx, a).await,
        Command::Diff(a) => diff(&ctx, a).await,
        Command::Prune(a) => prune(&ctx, a).await,
        Command::RotateKey(a) => {
            let to = ctx
                .new_key_provider(
                    a.new_passphrase_file.as_deref(),
                    a.new_key_file.as_deref(),
                    a.new_kms_key.as_deref(),
                    from_env,
                )
                .await?;
            rotate_key(&ctx, to).await
        }
        Command::Audit(AuditCommand::Verify) => audit_verify(&ctx).await,
        Command::Audit(AuditCommand::Export(a)) => audit_export(&ctx, a).await,
        Command::Demo(_) => unreachable!("handled above"),
    }
}

/// The first Ctrl-C cancels the running operation (it stops at its next check point and
/// cleans up); a second one exits at once.
pub fn ctrl_c_cancels(out: Output) -> CancellationToken {
    let cancel = CancellationToken::new();
    let token = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            token.cancel();
            out.note("cancelling (press Ctrl-C again to exit at once)...");
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(exit::CANCELLED);
            }
        }
    });
    cancel
}

async fn resolve_id(ctx: &Ctx, client: &Client, id: &str) -> CliResult<String> {
    if id != "latest" {
        return Ok(id.to_string());
    }
    let list = client.list().await?;
    if list.backups.is_empty() && list.rollback.missing.is_empty() {
        if let Some(u) = list.unreadable.first() {
            // Nothing opens with this key: open the newest folder so the command fails
            // with its own error (the key id it needs, or what is damaged), never with
            // an older backup's data.
            return Ok(u.id.clone());
        }
    }
    // The newest backup that authenticates; fails when the head record names newer ones
    // that are gone (a rollback), so `latest` never quietly means older data.
    let latest = list.latest()?;
    let newer: Vec<&str> = list
        .unreadable
        .iter()
        .filter(|u| u.id > latest.id)
        .map(|u| u.id.as_str())
        .collect();
    if !newer.is_empty() {
        ctx.out.warn(&format!(
            "newer folder(s) {} could not be opened with this key (another key, \
             damaged or planted; `firekeep list` shows why); latest is {}",
            newer.join(", "),
            latest.id
        ));
    }
    Ok(latest.id.clone())
}

async fn backup(ctx: &Ctx, a: crate::args::BackupArgs) -> CliResult<i32> {
    let mut opts = BackupOptions {
        scope: config::backup_scope(&a.scope, &ctx.file.backup),
        ..BackupOptions::default()
    };
    if let Some(t) = &a.read_time {
        opts.read_time = Some(Timestamp::parse_rfc3339(t)?);
    }
    if let Some(mib) = ctx.file.backup.part_size_mib {
        if !(mib.is_finite() && mib > 0.0) {
            return Err(CliError::usage(format!(
                "[backup] part_size_mib = {mib} must be a positive number of MiB"
            )));
        }
        opts.part_target_bytes = (mib * 1024.0 * 1024.0) as usize;
    }
    if let Some(p) = ctx.file.backup.parallelism {
        opts.parallelism = p;
    }
    for label in &a.labels {
        let (k, v) = label
            .split_once('=')
            .ok_or_else(|| CliError::usage(format!("--label {label:?}: write KEY=VALUE")))?;
        opts.labels.insert(k.to_string(), v.to_string());
    }
    let database = ctx.database()?;
    let client = ctx.client(true, Prompt::Confirm).await?;
    let source = ctx.firestore(database).await?;
    let progress = Progress::new(ctx.settings.progress);
    let report = client
        .backup(source, &opts, progress.callback(), &ctx.cancel)
        .await?;
    progress.finish();
    ctx.out.result(
        &serde_json::to_value(&report).expect("report serializes"),
        || backup_text(&report),
    );
    Ok(exit::OK)
}

/// Human text of a backup report.
pub fn backup_text(r: &BackupReport) -> String {
    let mut s = format!(
        "backup {} of {}/{} complete\n  read time {}\n  {} documents, {} ({} stored in {} parts) in {:.1}s\n  key id {}\n\n",
        r.backup_id,
        r.project,
        r.database,
        r.read_time.to_rfc3339(),
        count(r.documents),
        bytes(r.bytes),
        bytes(r.stored_bytes),
        r.parts,
        r.duration.as_secs_f64(),
        r.key_id,
    );
    let rows: Vec<Vec<String>> = r
        .collections
        .iter()
        .map(|(c, t)| vec![c.clone(), count(t.documents), bytes(t.bytes)])
        .collect();
    s.push_str(&table(&["COLLECTION", "DOCUMENTS", "BYTES"], &rows));
    s
}

async fn list(ctx: &Ctx) -> CliResult<i32> {
    let client = ctx.client(false, Prompt::Once).await?;
    let list = client.list().await?;
    ctx.out.result(
        &json!({
            "backups": list.backups,
            "unreadable": list.unreadable,
            "rollback": list.rollback,
        }),
        || list_text(&list),
    );
    Ok(exit::OK)
}

fn list_text(list: &BackupList) -> String {
    let mut text = if list.backups.is_empty() && !list.unreadable.is_empty() {
        "no backup this key can open".to_string()
    } else {
        backups_table(&list.backups)
    };
    if !list.unreadable.is_empty() {
        let rows: Vec<Vec<String>> = list
            .unreadable
            .iter()
            .map(|u| vec![u.id.clone(), u.code.clone(), u.message.clone()])
            .collect();
        text.push_str(&format!(
            "\n\n{} complete backup(s) could not be opened with this key:\n{}",
            list.unreadable.len(),
            table(&["ID", "ERROR", "DETAIL"], &rows)
        ));
    }
    if !list.rollback.missing.is_empty() {
        text.push_str(&format!(
            "\n\nWARNING: the repository head record (generation {}) names backup(s) that \
             are missing or no longer authenticate: {}\nThey were deleted or replaced \
             outside firekeep, or the repository was rolled back; `latest` refuses until \
             this is resolved.",
            list.rollback.generation.unwrap_or_default(),
            list.rollback.missing.join(", ")
        ));
    }
    for r in &list.rollback.unreadable_records {
        text.push_str(&format!("\nwarning: {r}"));
    }
    text
}

fn backups_table(backups: &[BackupSummary]) -> String {
    if backups.is_empty() {
        return "no backups yet".into();
    }
    let rows: Vec<Vec<String>> = backups
        .iter()
        .map(|b| {
            vec![
                b.id.clone(),
                b.read_time.to_rfc3339(),
                format!("{}/{}", b.project, b.database),
                count(b.documents),
                bytes(b.stored_bytes),
                b.key_id.clone(),
            ]
        })
        .collect();
    table(
        &[
            "ID",
            "READ TIME",
            "DATABASE",
            "DOCUMENTS",
            "STORED",
            "KEY ID",
        ],
        &rows,
    )
}

async fn verify(ctx: &Ctx, id: &str) -> CliResult<i32> {
    let client = ctx.client(false, Prompt::Once).await?;
    let id = resolve_id(ctx, &client, id).await?;
    let progress = Progress::new(ctx.settings.progress);
    let report = client
        .verify_report(&id, progress.callback(), &ctx.cancel)
        .await?;
    progress.finish();
    ctx.out.result(
        &serde_json::to_value(&report).expect("report serializes"),
        || verify_text(&report),
    );
    Ok(if report.is_ok() {
        exit::OK
    } else {
        exit::INTEGRITY
    })
}

/// Human text of a verify report.
pub fn verify_text(r: &VerifyReport) -> String {
    let mut s = if r.is_ok() {
        format!(
            "backup {} OK: {} parts, {} documents, {} checked in {:.1}s\n",
            r.backup_id,
            r.parts,
            count(r.documents),
            bytes(r.bytes),
            r.duration.as_secs_f64()
        )
    } else {
        format!(
            "backup {} FAILED verification: {} of {} parts OK\n",
            r.backup_id, r.parts_ok, r.parts
        )
    };
    for p in &r.problems {
        s.push_str(&format!(
            "  {} ({}): {}: {}\n",
            p.object, p.path, p.kind, p.detail
        ));
    }
    for o in &r.unexpected_objects {
        s.push_str(&format!("  unexpected object {o}\n"));
    }
    s
}

/// The core's conflict mode named by the `--conflict` value (the names are parsed once,
/// in the core).
fn conflict_mode(c: Conflict) -> CliResult<ConflictMode> {
    let value = clap::ValueEnum::to_possible_value(&c)
        .ok_or_else(|| CliError::usage("no --conflict value"))?;
    Ok(value.get_name().parse()?)
}

async fn restore(ctx: &Ctx, a: crate::args::RestoreArgs) -> CliResult<i32> {
    let project = a
        .target_project
        .clone()
        .or_else(|| ctx.settings.project.clone())
        .ok_or_else(|| CliError::usage("no target project; use --target-project or --project"))?;
    let database = a
        .target_database
        .clone()
        .unwrap_or_else(|| ctx.settings.database.clone());
    let target_db = DatabaseId::new(project, database)?;
    let client = ctx.client(false, Prompt::Once).await?;
    let id = resolve_id(ctx, &client, &a.backup).await?;
    let opts = RestoreOptions {
        scope: config::restore_scope(&a.scope),
        conflict: conflict_mode(a.conflict)?,
        dry_run: a.dry_run,
        ..RestoreOptions::default()
    };
    let target = ctx.firestore(target_db).await?;
    let progress = Progress::new(ctx.settings.progress);
    let report = client
        .restore(&id, target, &opts, progress.callback(), &ctx.cancel)
        .await?;
    progress.finish();
    ctx.out.result(
        &serde_json::to_value(&report).expect("report serializes"),
        || {
            let mut s = format!(
                "{} {} into {}/{}: {} documents, {} written, {} skipped, {} failed in {:.1}s\n",
                if report.dry_run {
                    "dry run of restore"
                } else {
                    "restored"
                },
                report.backup_id,
                report.project,
                report.database,
                count(report.documents),
                count(report.written),
                count(report.skipped),
                count(report.failed.len() as u64),
                report.duration.as_secs_f64()
            );
            for f in &report.failed {
                s.push_str(&format!("  {}: {} {}\n", f.name, f.code, f.message));
            }
            s
        },
    );
    Ok(if report.failed.is_empty() {
        exit::OK
    } else {
        exit::FAILURE
    })
}

async fn diff(ctx: &Ctx, a: crate::args::DiffArgs) -> CliResult<i32> {
    let client = ctx.client(false, Prompt::Once).await?;
    let from = resolve_id(ctx, &client, &a.from).await?;
    let opts = DiffOptions::default();
    let report = match &a.to {
        Some(to) => {
            let to = resolve_id(ctx, &client, to).await?;
            client.diff_backups(&from, &to, &opts, &ctx.cancel).await?
        }
        None => {
            let source = ctx.firestore(ctx.database()?).await?;
            client
                .diff_with_source(&from, source, None, &opts, &ctx.cancel)
                .await?
        }
    };
    ctx.out.result(
        &serde_json::to_value(&report).expect("report serializes"),
        || diff_text(&report),
    );
    Ok(if a.exit_code && !report.is_empty() {
        exit::DIFFERENCES
    } else {
        exit::OK
    })
}

/// Human text of a diff report.
pub fn diff_text(r: &DiffReport) -> String {
    let mut s = format!(
        "{} → {}: {} added, {} removed, {} changed, {} unchanged\n",
        r.from,
        r.to,
        count(r.added),
        count(r.removed),
        count(r.changed),
        count(r.unchanged)
    );
    for (sign, names) in [
        ("+", &r.added_names),
        ("-", &r.removed_names),
        ("~", &r.changed_names),
    ] {
        for n in names {
            s.push_str(&format!("  {sign} {n}\n"));
        }
    }
    if r.truncated {
        s.push_str("  (list truncated)\n");
    }
    s
}

async fn prune(ctx: &Ctx, a: crate::args::PruneArgs) -> CliResult<i32> {
    let r = config::retention(&a, &ctx.file.retention);
    let count_of = |v: Option<u32>| v.unwrap_or(0) as usize;
    let mut retention = Retention {
        keep_last: count_of(r.keep_last),
        keep_hourly: count_of(r.keep_hourly),
        keep_daily: count_of(r.keep_daily),
        keep_weekly: count_of(r.keep_weekly),
        keep_monthly: count_of(r.keep_monthly),
        keep_yearly: count_of(r.keep_yearly),
        keep_within: r
            .keep_within
            .as_deref()
            .map(config::parse_duration)
            .transpose()?,
        ..Retention::default()
    };
    if let Some(g) = &a.orphan_grace {
        retention.orphan_grace = config::parse_duration(g)?;
    }
    // Prune needs the key: it counts and removes only backups it can authenticate, so
    // folders planted in the bucket can neither be kept in place of real backups nor
    // push them out.
    let client = ctx.client(false, Prompt::Once).await?;
    let plan = client.plan_prune(&retention, Timestamp::now()).await?;
    if a.dry_run {
        ctx.out
            .result(&json!({ "dry_run": true, "plan": plan }), || {
                plan_text(&plan) + "dry run: nothing deleted\n"
            });
        return Ok(exit::OK);
    }
    let report = client.apply_prune(&plan).await?;
    ctx.out.result(
        &json!({ "dry_run": false, "plan": plan, "report": report }),
        || {
            format!(
                "{}removed {} backups and {} unfinished backups\n",
                plan_text(&plan),
                report.removed.len(),
                report.orphans.len()
            )
        },
    );
    Ok(exit::OK)
}

fn plan_text(plan: &PrunePlan) -> String {
    let mut s = String::new();
    for k in &plan.keep {
        s.push_str(&format!("keep    {}  ({})\n", k.id, k.reasons.join(", ")));
    }
    for r in &plan.remove {
        s.push_str(&format!("remove  {r}\n"));
    }
    for o in &plan.orphans {
        s.push_str(&format!("remove  {o}  (unfinished: no manifest)\n"));
    }
    if !plan.unreadable.is_empty() {
        s.push_str(&format!(
            "{} folder(s) with a manifest this key cannot open or authenticate were left \
             alone and not counted (made under another key, damaged, or planted):\n",
            plan.unreadable.len()
        ));
        for u in &plan.unreadable {
            s.push_str(&format!("  {}  {}: {}\n", u.id, u.code, u.message));
        }
    }
    s
}

async fn rotate_key(ctx: &Ctx, to: Arc<dyn firekeep_core::keys::KeyProvider>) -> CliResult<i32> {
    let client = ctx.client(false, Prompt::Once).await?;
    let report = client.rotate_key(to.as_ref(), &ctx.cancel).await?;
    ctx.out.result(
        &serde_json::to_value(&report).expect("report serializes"),
        || {
            let mut text = format!(
                "re-wrapped {} backups from key {} to key {} ({} already under the new key)\n",
                report.rotated.len(),
                report.from_key_id,
                report.to_key_id,
                report.already_rotated.len()
            );
            if !report.other_keys.is_empty() {
                text.push_str(&format!(
                    "{} backup(s) are under other keys and were left as they are; rotate them \
                     with their key:\n",
                    report.other_keys.len()
                ));
                for b in &report.other_keys {
                    text.push_str(&format!("  {}  key {}\n", b.id, b.key_id));
                }
            }
            if !report.unreadable.is_empty() {
                text.push_str(&format!(
                    "{} folder(s) could not be read or authenticated and were left as they \
                     are (damaged or planted):\n",
                    report.unreadable.len()
                ));
                for u in &report.unreadable {
                    text.push_str(&format!("  {}  {}: {}\n", u.id, u.code, u.message));
                }
            }
            text
        },
    );
    // Not every backup is under the new key: a script must not take this for done.
    Ok(
        if report.other_keys.is_empty() && report.unreadable.is_empty() {
            exit::OK
        } else {
            exit::KEY_MISMATCH
        },
    )
}

async fn audit_verify(ctx: &Ctx) -> CliResult<i32> {
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

async fn audit_export(ctx: &Ctx, a: crate::args::AuditExportArgs) -> CliResult<i32> {
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
            Ok(Exported(export(&trail.events, &filter, format), n))
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
