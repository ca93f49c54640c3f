//! The `firekeep` command-line tool: backup, verify, restore, list, diff, prune, rotate-key,
//! audit export/verify, and a self-contained demo. See docs/cli.md.
#![forbid(unsafe_code)]

mod args;
mod commands;
mod compliance_args;
mod config;
mod context;
#[cfg(feature = "demo")]
mod demo;
mod error;
mod output;
mod progress;
mod render;
mod secrets;

use args::Cli;
use clap::{CommandFactory, FromArgMatches, parser::ValueSource};
use error::{CliError, exit};
use output::Output;

fn main() {
    let matches = match Cli::command().try_get_matches() {
        Ok(m) => m,
        Err(e) => usage_error(e),
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => usage_error(e),
    };
    let out = Output {
        json: cli.global.json,
    };
    let from_env = |id: &str| {
        // An option nested in a subcommand is looked up there too (global args are
        // propagated to the subcommand's matches).
        let top = matches.try_get_raw(id).ok().flatten().is_some();
        let src = if top {
            matches.value_source(id)
        } else {
            matches
                .subcommand()
                .and_then(|(_, sub)| sub.try_get_raw(id).ok().flatten().map(|_| sub))
                .and_then(|sub| sub.value_source(id))
        };
        src == Some(ValueSource::EnvVariable)
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            out.error(&CliError::usage(format!(
                "cannot start the async runtime: {e}"
            )));
            std::process::exit(exit::FAILURE);
        }
    };
    let code = runtime.block_on(async {
        match commands::run(cli, &from_env).await {
            Ok(code) => code,
            Err(e) => {
                out.error(&e);
                e.exit_code()
            }
        }
    });
    // Don't wait for blocked stdin readers or slow background tasks at exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    std::process::exit(code);
}

/// Clap's own errors: help and version exit 0; usage errors exit 2, as JSON with `--json`.
fn usage_error(e: clap::Error) -> ! {
    use clap::error::ErrorKind;
    let json = std::env::args().any(|a| a == "--json")
        || std::env::var("FIREKEEP_JSON").is_ok_and(|v| v == "true" || v == "1");
    if json && !matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let msg = e.kind().as_str().unwrap_or("invalid usage").to_string();
        let detail = e.to_string();
        let detail = detail
            .lines()
            .next()
            .unwrap_or(&msg)
            .trim_start_matches("error: ");
        Output { json: true }.error(&CliError::usage(detail.to_string()));
        std::process::exit(exit::USAGE);
    }
    e.exit()
}
