//! `firekeep rotate-key`.

use crate::context::Ctx;
use crate::error::{CliResult, exit};
use crate::secrets::Prompt;
use std::sync::Arc;

pub(super) async fn run(
    ctx: &Ctx,
    to: Arc<dyn firekeep_core::keys::KeyProvider>,
) -> CliResult<i32> {
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
