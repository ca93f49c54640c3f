//! `firekeep api-key create|list|rotate|revoke`: the core's API-key operations on the
//! policy file (`--policy`), as the `--principal`.

use super::identity_args::ApiKeyCommand;
use crate::context::Ctx;
use crate::error::{CliError, CliResult, exit};
use firekeep_core::identity::api_keys::{self, NewApiKey};
use firekeep_core::model::Timestamp;
use firekeep_core::policy::Action;
use serde_json::json;
use std::path::PathBuf;
use std::str::FromStr;

fn policy_path(ctx: &Ctx) -> CliResult<PathBuf> {
    ctx.settings.policy.clone().ok_or_else(|| {
        CliError::usage(
            "API keys live in the policy file: give --policy FILE (or FIREKEEP_POLICY) and \
             --principal user:EMAIL of a member allowed to manage_api_keys",
        )
    })
}

pub(super) async fn run(ctx: &Ctx, c: ApiKeyCommand) -> CliResult<i32> {
    let path = policy_path(ctx)?;
    let session = ctx.session()?;
    match c {
        ApiKeyCommand::Create(a) => {
            let actions = a
                .actions
                .iter()
                .map(|s| Action::from_str(s))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| CliError::usage(format!("--action: {e}")))?;
            let new = NewApiKey {
                id: a.id.clone(),
                organization: String::new(),
                created_by: String::new(),
                actions,
                projects: (!a.projects.is_empty()).then(|| a.projects.clone()),
                lifetime_days: Some(a.expires_in_days),
            };
            let secret = api_keys::create_in_file(&session, &path, new).await?;
            ctx.out.result(
                &json!({"id": a.id, "secret": secret.expose(), "expires_in_days": a.expires_in_days}),
                || secret_text("created", &a.id, secret.expose()),
            );
        }
        ApiKeyCommand::Rotate(a) => {
            let secret = api_keys::rotate_in_file(
                &session,
                &path,
                &a.id,
                a.grace_hours,
                Some(a.expires_in_days),
            )
            .await?;
            ctx.out.result(
                &json!({"id": a.id, "secret": secret.expose(), "grace_hours": a.grace_hours}),
                || {
                    format!(
                        "{}\nthe previous secret keeps working for {} hours",
                        secret_text("rotated", &a.id, secret.expose()),
                        a.grace_hours
                    )
                },
            );
        }
        ApiKeyCommand::Revoke(a) => {
            api_keys::revoke_in_file(&session, &path, &a.id).await?;
            ctx.out.result(&json!({"id": a.id, "revoked": true}), || {
                format!("API key '{}' revoked", a.id)
            });
        }
        ApiKeyCommand::List => {
            session
                .check(
                    Action::ManageApiKeys,
                    &firekeep_core::policy::Resource::organization(session.organization()),
                )
                .into_result()?;
            let keys = api_keys::list(
                session.policy().document(),
                Some(session.organization()),
                Timestamp::now(),
            );
            ctx.out.result(&json!(keys), || {
                let mut out = format!(
                    "{:<20} {:<9} {:<12} {:<26} {}\n",
                    "ID", "STATE", "CREATED BY", "EXPIRES", "ACTIONS"
                );
                for k in &keys {
                    out.push_str(&format!(
                        "{:<20} {:<9} {:<12} {:<26} {}\n",
                        k.id,
                        serde_json::to_value(k.state)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default(),
                        k.created_by,
                        k.expires_at.as_deref().unwrap_or("never"),
                        k.actions.join(",")
                    ));
                }
                out.trim_end().to_string()
            });
        }
    }
    Ok(exit::OK)
}

fn secret_text(what: &str, id: &str, secret: &str) -> String {
    format!(
        "API key '{id}' {what}. Its secret, shown only now (store it in your secret manager; \
         firekeep keeps only its hash):\n\n    {secret}\n\nUse it as `Authorization: Bearer <secret>` \
         or FIREKEEP_API_KEY with --principal apikey:{id}"
    )
}
