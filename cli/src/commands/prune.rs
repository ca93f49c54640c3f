//! `firekeep prune`.

use crate::config;
use crate::context::Ctx;
use crate::error::{CliResult, exit};
use crate::render::plan_text;
use crate::secrets::Prompt;
use firekeep_core::engine::Retention;
use firekeep_core::model::Timestamp;
use serde_json::json;

pub(super) async fn run(ctx: &Ctx, a: crate::args::PruneArgs) -> CliResult<i32> {
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
