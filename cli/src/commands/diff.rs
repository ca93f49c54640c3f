//! `firekeep diff`.

use super::resolve_id;
use crate::context::Ctx;
use crate::error::{CliResult, exit};
use crate::render::diff_text;
use crate::secrets::Prompt;
use firekeep_core::engine::DiffOptions;

pub(super) async fn run(ctx: &Ctx, a: crate::args::DiffArgs) -> CliResult<i32> {
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
