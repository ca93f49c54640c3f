//! `firekeep restore`.

use super::resolve_id;
use crate::args::Conflict;
use crate::config;
use crate::context::Ctx;
use crate::error::{CliError, CliResult, exit};
use crate::output::count;
use crate::progress::Progress;
use crate::secrets::Prompt;
use firekeep_core::engine::{RestoreOptions, RestoreReport};
use firekeep_core::model::DatabaseId;
use firekeep_core::source::ConflictMode;

/// The core's conflict mode named by the `--conflict` value (the names are parsed once,
/// in the core).
fn conflict_mode(c: Conflict) -> CliResult<ConflictMode> {
    let value = clap::ValueEnum::to_possible_value(&c)
        .ok_or_else(|| CliError::usage("no --conflict value"))?;
    Ok(value.get_name().parse()?)
}

pub(super) async fn run(ctx: &Ctx, a: crate::args::RestoreArgs) -> CliResult<i32> {
    if a.plan || a.task || a.commit.is_some() {
        return super::restore_dist::run(ctx, a).await;
    }
    let target_db = target_database(ctx, &a)?;
    let client = ctx.client(false, Prompt::Once).await?;
    let id = resolve_id(ctx, &client, &a.backup).await?;
    let opts = options(&a)?;
    let target = ctx.firestore(target_db).await?;
    let progress = Progress::new(ctx.settings.progress);
    let report = client
        .restore(&id, target, &opts, progress.callback(), &ctx.cancel)
        .await?;
    progress.finish();
    print_report(ctx, &report)
}

/// The database restored into (`--target-project`/`--target-database`, else the configured
/// one).
pub(super) fn target_database(ctx: &Ctx, a: &crate::args::RestoreArgs) -> CliResult<DatabaseId> {
    let project = a
        .target_project
        .clone()
        .or_else(|| ctx.settings.project.clone())
        .ok_or_else(|| CliError::usage("no target project; use --target-project or --project"))?;
    let database = a
        .target_database
        .clone()
        .unwrap_or_else(|| ctx.settings.database.clone());
    Ok(DatabaseId::new(project, database)?)
}

/// The restore options from the command line.
pub(super) fn options(a: &crate::args::RestoreArgs) -> CliResult<RestoreOptions> {
    Ok(RestoreOptions {
        scope: config::restore_scope(&a.scope),
        conflict: conflict_mode(a.conflict)?,
        dry_run: a.dry_run,
        ..RestoreOptions::default()
    })
}

/// Prints a restore report; the exit code says whether every document was written.
pub(super) fn print_report(ctx: &Ctx, report: &RestoreReport) -> CliResult<i32> {
    ctx.out.result(
        &serde_json::to_value(report).expect("report serializes"),
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
