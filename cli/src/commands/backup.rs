//! `firekeep backup`.

use crate::config;
use crate::context::Ctx;
use crate::error::{CliError, CliResult, exit};
use crate::progress::Progress;
use crate::render::backup_text;
use crate::secrets::Prompt;
use firekeep_core::engine::BackupOptions;
use firekeep_core::model::Timestamp;

pub(super) async fn run(ctx: &Ctx, a: crate::args::BackupArgs) -> CliResult<i32> {
    if a.plan || a.task || a.commit.is_some() {
        return super::backup_dist::run(ctx, a).await;
    }
    let opts = options(ctx, &a)?;
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

/// The backup options from the command line and the config file's `[backup]` table.
pub(super) fn options(ctx: &Ctx, a: &crate::args::BackupArgs) -> CliResult<BackupOptions> {
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
    if let Some(n) = a.read_streams.or(ctx.file.backup.read_streams) {
        if n == 0 {
            return Err(CliError::usage(
                "--read-streams (or [backup] read_streams) must be at least 1",
            ));
        }
        opts.read_streams = n;
    }
    for label in &a.labels {
        let (k, v) = label
            .split_once('=')
            .ok_or_else(|| CliError::usage(format!("--label {label:?}: write KEY=VALUE")))?;
        opts.labels.insert(k.to_string(), v.to_string());
    }
    Ok(opts)
}
