//! `firekeep backup --plan | --task | --commit`: one backup split into tasks that job
//! engines run on other machines (docs/scale-out.md). The core does the work; this maps
//! flags and the engines' variables to it.

use crate::context::Ctx;
use crate::error::{CliError, CliResult, exit};
use crate::progress::Progress;
use crate::render::backup_text;
use crate::secrets::Prompt;
use firekeep_core::engine::{PlanOptions, TaskOptions, TaskOutcome, task_position};

pub(super) async fn run(ctx: &Ctx, a: crate::args::BackupArgs) -> CliResult<i32> {
    if a.plan {
        return plan(ctx, &a).await;
    }
    if a.task {
        let id = a
            .backup_id
            .clone()
            .ok_or_else(|| CliError::usage("--task needs --backup-id ID (from --plan)"))?;
        return task(ctx, &a, &id).await;
    }
    let id = a.commit.clone().unwrap_or_default();
    commit(ctx, &id).await
}

async fn plan(ctx: &Ctx, a: &crate::args::BackupArgs) -> CliResult<i32> {
    let opts = PlanOptions {
        backup: super::backup::options(ctx, a)?,
        task_count: a.task_count.unwrap_or(1),
        partitions_per_task: a.partitions_per_task,
    };
    let database = ctx.database()?;
    let client = ctx.client(true, Prompt::Confirm).await?;
    let source = ctx.firestore(database).await?;
    let report = client.plan_backup(source, &opts).await?;
    ctx.out.result(
        &serde_json::to_value(&report).expect("report serializes"),
        || {
            format!(
                "planned {} for {} task(s) ({} partitions, {:?}) at read time {}\n\
                 run each task:  firekeep backup --task --backup-id {} --task-index I \
                 --task-count {}\n\
                 then commit:    firekeep backup --commit {}\n",
                report.backup_id,
                report.task_count,
                report.partitions,
                report.partitioning,
                report.read_time.to_rfc3339(),
                report.backup_id,
                report.task_count,
                report.backup_id
            )
        },
    );
    Ok(exit::OK)
}

async fn task(ctx: &Ctx, a: &crate::args::BackupArgs, id: &str) -> CliResult<i32> {
    let var = |name: &str| std::env::var(name).ok();
    let (index, count) = task_position(a.task_index, a.task_count, &var)?;
    let mut opts = TaskOptions::default();
    if let Some(p) = ctx.file.backup.parallelism {
        opts.parallelism = p;
    }
    let database = ctx.database()?;
    // The key exists already (the plan made it): ask for it once, never to confirm.
    let client = ctx.client(false, Prompt::Once).await?;
    let source = ctx.firestore(database).await?;
    let progress = Progress::new(ctx.settings.progress);
    let report = client
        .backup_task(
            source,
            id,
            index,
            count,
            &opts,
            progress.callback(),
            &ctx.cancel,
        )
        .await?;
    progress.finish();
    ctx.out.result(
        &serde_json::to_value(&report).expect("report serializes"),
        || {
            let what = match report.outcome {
                TaskOutcome::Completed => "done",
                TaskOutcome::AlreadyCompleted => "already done by an earlier attempt",
                TaskOutcome::AlreadyCommitted => "nothing to do: the backup is committed",
            };
            format!(
                "task {} of {} for {}: {what}; {} documents in {} parts ({} partitions) in \
                 {:.1}s\n",
                report.task_index,
                report.task_count,
                report.backup_id,
                report.documents,
                report.parts,
                report.partitions,
                report.duration.as_secs_f64()
            )
        },
    );
    Ok(exit::OK)
}

async fn commit(ctx: &Ctx, id: &str) -> CliResult<i32> {
    let database = ctx.database()?;
    let client = ctx.client(false, Prompt::Once).await?;
    let report = client.commit_backup(&database, id, &ctx.cancel).await?;
    ctx.out.result(
        &serde_json::to_value(&report).expect("report serializes"),
        || backup_text(&report),
    );
    Ok(exit::OK)
}
