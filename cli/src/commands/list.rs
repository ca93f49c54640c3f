//! `firekeep list`.

use crate::context::Ctx;
use crate::error::{CliResult, exit};
use crate::render::list_text;
use crate::secrets::Prompt;
use serde_json::json;

pub(super) async fn run(ctx: &Ctx) -> CliResult<i32> {
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
