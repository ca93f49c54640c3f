//! `firekeep restore BACKUP --plan | --task | --commit`: one restore split into tasks that
//! job engines run on other machines (docs/scale-out.md). The core does the work.

use super::resolve_id;
use crate::context::Ctx;
use crate::error::{CliError, CliResult, exit};
use crate::progress::Progress;
use crate::secrets::Prompt;
use firekeep_core::engine::{TaskOutcome, task_position};

pub(super) async fn run(ctx: &Ctx, a: crate::args::RestoreArgs) -> CliResult<i32> {
    let target_db = super::restore::target_database(ctx, &a)?;
    let client = ctx.client(false, Prompt::Once).await?;
    let id = resolve_id(ctx, &client, &a.backup).await?;
    if a.plan {
        let opts = super::restore::options(&a)?;
        let report = client
            .plan_restore(&id, &target_db, &opts, a.task_count.unwrap_or(1))
            .await?;
        ctx.out.result(
            &serde_json::to_value(&report).expect("report serializes"),
            || {
                format!(
                    "planned restore {} of {} into {}/{} for {} task(s) ({} parts)\n\
                     run each task:  firekeep restore {} --task --restore-id {} --task-index I \
                     --task-count {}\n\
                     then:           firekeep restore {} --commit {}\n",
                    report.restore_id,
                    report.backup_id,
                    report.project,
                    report.database,
                    report.task_count,
                    report.parts,
                    report.backup_id,
                    report.restore_id,
                    report.task_count,
                    report.backup_id,
                    report.restore_id
                )
            },
        );
        return Ok(exit::OK);
    }
    if a.task {
        let restore_id = a
            .restore_id
            .clone()
            .ok_or_else(|| CliError::usage("--task needs --restore-id ID (from --plan)"))?;
        let var = |name: &str| std::env::var(name).ok();
        let (index, count) = task_position(a.task_index, a.task_count, &var)?;
        let target = ctx.firestore(target_db).await?;
        let progress = Progress::new(ctx.settings.progress);
        let r = client
            .restore_task(
                &id,
                &restore_id,
                target,
                index,
                count,
                progress.callback(),
                &ctx.cancel,
            )
            .await?;
        progress.finish();
        ctx.out.result(
            &serde_json::to_value(&r).expect("report serializes"),
            || {
                let what = match r.outcome {
                    TaskOutcome::Completed => "done",
                    _ => "already done by an earlier attempt",
                };
                format!(
                    "restore task {} of {} for {}: {what}; {} written, {} skipped, {} failed\n",
                    r.task_index,
                    r.task_count,
                    r.restore_id,
                    r.report.written,
                    r.report.skipped,
                    r.report.failed.len()
                )
            },
        );
        return Ok(if r.report.failed.is_empty() {
            exit::OK
        } else {
            exit::FAILURE
        });
    }
    let restore_id = a.commit.clone().unwrap_or_default();
    let report = client.restore_summary(&target_db, &id, &restore_id).await?;
    super::restore::print_report(ctx, &report)
}
