//! The commands: each builds what it needs from the context, calls the client (which
//! authorizes and audits), and prints a table or one JSON document. One module per
//! command; their human text lives in `crate::render`.

mod access;
mod api_key;
mod audit;
mod backup;
mod backup_dist;
mod compliance;
mod diff;
pub mod identity_args;
mod list;
mod prune;
mod restore;
mod restore_dist;
mod rotate_key;
mod verify;

use crate::args::{AuditCommand, Cli, Command};
use crate::config::{self, Settings};
use crate::context::Ctx;
use crate::error::{CliResult, exit};
use crate::output::Output;
use firekeep_core::client::Client;
use firekeep_core::engine::CancellationToken;

/// Runs a parsed command line; returns the exit code.
pub async fn run(cli: Cli, from_env: &dyn Fn(&str) -> bool) -> CliResult<i32> {
    let out = Output {
        json: cli.global.json,
    };
    #[cfg(feature = "demo")]
    if let Command::Demo(args) = &cli.command {
        let cancel = ctrl_c_cancels(out);
        return crate::demo::run(args, out, cancel).await;
    }
    let (file, _path) = config::load_file(cli.global.config.as_deref())?;
    let settings: Settings = config::merge(&cli.global, &file, from_env);
    let ctx = Ctx {
        settings,
        file,
        out,
        cancel: ctrl_c_cancels(out),
    };
    match cli.command {
        Command::Backup(a) => backup::run(&ctx, a).await,
        Command::List => list::run(&ctx).await,
        Command::Verify(a) => verify::run(&ctx, &a.backup).await,
        Command::Restore(a) => restore::run(&ctx, a).await,
        Command::Diff(a) => diff::run(&ctx, a).await,
        Command::Prune(a) => prune::run(&ctx, a).await,
        Command::RotateKey(a) => {
            let to = ctx
                .new_key_provider(
                    a.new_passphrase_file.as_deref(),
                    a.new_key_file.as_deref(),
                    a.new_kms_key.as_deref(),
                    from_env,
                )
                .await?;
            rotate_key::run(&ctx, to).await
        }
        Command::Audit(AuditCommand::Verify) => audit::verify(&ctx).await,
        Command::Audit(AuditCommand::Export(a)) => audit::export(&ctx, a).await,
        Command::Erase(a) => compliance::erase(&ctx, a).await,
        Command::Export(a) => compliance::export(&ctx, a).await,
        Command::Hold(c) => compliance::hold(&ctx, c).await,
        Command::ApiKey(c) => api_key::run(&ctx, c).await,
        Command::Access(c) => access::run(&ctx, c).await,
        #[cfg(feature = "demo")]
        Command::Demo(_) => unreachable!("handled above"),
    }
}

/// The first Ctrl-C cancels the running operation (it stops at its next check point and
/// cleans up); a second one exits at once.
pub fn ctrl_c_cancels(out: Output) -> CancellationToken {
    let cancel = CancellationToken::new();
    let token = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            token.cancel();
            out.note("cancelling (press Ctrl-C again to exit at once)...");
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(exit::CANCELLED);
            }
        }
    });
    cancel
}

/// The backup id named on the command line; `latest` is the newest backup that
/// authenticates.
pub(super) async fn resolve_id(ctx: &Ctx, client: &Client, id: &str) -> CliResult<String> {
    if id != "latest" {
        return Ok(id.to_string());
    }
    let list = client.list().await?;
    if list.backups.is_empty() && list.rollback.missing.is_empty() {
        if let Some(u) = list.unreadable.first() {
            // Nothing opens with this key: open the newest folder so the command fails
            // with its own error (the key id it needs, or what is damaged), never with
            // an older backup's data.
            return Ok(u.id.clone());
        }
    }
    // The newest backup that authenticates; fails when the head record names newer ones
    // that are gone (a rollback), so `latest` never quietly means older data.
    let latest = list.latest()?;
    let newer: Vec<&str> = list
        .unreadable
        .iter()
        .filter(|u| u.id > latest.id)
        .map(|u| u.id.as_str())
        .collect();
    if !newer.is_empty() {
        ctx.out.warn(&format!(
            "newer folder(s) {} could not be opened with this key (another key, \
             damaged or planted; `firekeep list` shows why); latest is {}",
            newer.join(", "),
            latest.id
        ));
    }
    Ok(latest.id.clone())
}
