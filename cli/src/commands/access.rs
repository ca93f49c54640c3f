//! `firekeep access review`: the core's access review of the policy and audit trail.

use super::identity_args::{AccessCommand, ReviewFormat};
use crate::context::Ctx;
use crate::error::{CliError, CliResult, exit};
use firekeep_core::identity::review::{self, ReviewOptions};
use serde_json::json;
use std::io::Write;

pub(super) async fn run(ctx: &Ctx, c: AccessCommand) -> CliResult<i32> {
    let AccessCommand::Review(a) = c;
    let session = ctx.session()?;
    let options = ReviewOptions {
        inactive_days: a.inactive_days,
        rotation_days: a.rotation_days,
    };
    let r = review::run(&session, options).await?;
    let disabled = if a.apply_inactive {
        let path = ctx.settings.policy.clone().ok_or_else(|| {
            CliError::usage("--apply-inactive edits the policy file: give --policy FILE")
        })?;
        Some(review::apply_inactive(&session, &path, &r).await?.0)
    } else {
        None
    };
    let format = if ctx.out.json {
        ReviewFormat::Json
    } else {
        a.format
    };
    let text = match format {
        ReviewFormat::Json => {
            let mut v = json!(r);
            if let Some(d) = &disabled {
                v["disabled"] = json!(d);
            }
            serde_json::to_string_pretty(&v).expect("JSON values serialize") + "\n"
        }
        ReviewFormat::Csv => r.to_csv(),
        ReviewFormat::Text => {
            let mut t = r.to_text();
            if let Some(d) = &disabled {
                t.push_str(&format!(
                    "\nDisabled in the policy file: {}\n",
                    d.join(", ")
                ));
            }
            t
        }
    };
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(|e| firekeep_core::Error::io("writing the review", e))?;
    Ok(exit::OK)
}
