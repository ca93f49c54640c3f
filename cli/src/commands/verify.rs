//! `firekeep verify`.

use super::resolve_id;
use crate::context::Ctx;
use crate::error::{CliResult, exit};
use crate::progress::Progress;
use crate::render::verify_text;
use crate::secrets::Prompt;

pub(super) async fn run(ctx: &Ctx, id: &str) -> CliResult<i32> {
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
