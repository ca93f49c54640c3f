//! Command-line arguments (clap derive).
//!
//! Every option that may also come from the config file is an `Option` without a clap
//! default, so [`crate::config`] can tell "not given" from "given" and apply the
//! precedence flags > environment > config file > built-in default. Secrets have no flag at
//! all: only files, environment variables and the terminal prompt.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// firekeep: encrypted, verifiable backups of Google Cloud Firestore.
#[derive(Debug, Parser)]
#[command(name = "firekeep", version, about, long_about = None)]
#[command(
    after_help = "Exit codes: 0 ok, 1 failure, 2 usage or configuration error, \
3 integrity check failed, 4 wrong key, 5 authorization denied, 6 not found, 130 cancelled.\n\
Docs: docs/cli.md"
)]
pub struct Cli {
    /// Options shared by every command.
    #[command(flatten)]
    pub global: GlobalArgs,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by every command.
#[derive(Debug, Args, Default, Clone)]
pub struct GlobalArgs {
    /// TOML config file [default: ./firekeep.toml if it exists].
    #[arg(
        long,
        short = 'c',
        global = true,
        env = "FIREKEEP_CONFIG",
        value_name = "FILE"
    )]
    pub config: Option<PathBuf>,

    /// Print one JSON document on stdout (errors as JSON on stderr) instead of tables.
    #[arg(long, global = true, env = "FIREKEEP_JSON")]
    pub json: bool,

    /// Do not draw progress bars.
    #[arg(long, global = true, env = "FIREKEEP_NO_PROGRESS")]
    pub no_progress: bool,

    /// Backup repository: a local path, file:///path, s3://bucket/prefix, gs://bucket/prefix
    /// or az://container/prefix.
    #[arg(
        long,
        short = 'r',
        global = true,
        env = "FIREKEEP_REPO",
        value_name = "URL"
    )]
    pub repo: Option<String>,

    /// File holding the passphrase (first line). Or set FIREKEEP_PASSPHRASE, or be prompted.
    #[arg(
        long,
        global = true,
        env = "FIREKEEP_PASSPHRASE_FILE",
        value_name = "FILE"
    )]
    pub passphrase_file: Option<PathBuf>,

    /// File holding a raw 32-byte key as base64 (`openssl rand -base64 32`). Or set FIREKEEP_KEY.
    #[arg(long, global = true, env = "FIREKEEP_KEY_FILE", value_name = "FILE")]
    pub key_file: Option<PathBuf>,

    /// KMS key that wraps the data keys: AWS KMS (key id, key ARN or alias/NAME; region,
    /// credentials and endpoint from the usual AWS_* variables) or Google Cloud KMS
    /// (projects/P/locations/L/keyRings/R/cryptoKeys/K; credentials from --credentials or
    /// the Google default chain, endpoint override FIREKEEP_GCP_KMS_ENDPOINT).
    #[arg(long, global = true, env = "FIREKEEP_KMS_KEY", value_name = "KEY")]
    pub kms_key: Option<String>,

    /// Object-store option KEY=VALUE (repeatable), e.g. endpoint=https://minio:9000,
    /// region=auto, allow_http=true. Credentials belong in the provider's variables (AWS_*, ...).
    #[arg(long = "storage-option", global = true, value_name = "KEY=VALUE")]
    pub storage_options: Vec<String>,

    /// Google Cloud project id of the Firestore database.
    #[arg(long, short = 'p', global = true, env = "FIREKEEP_PROJECT")]
    pub project: Option<String>,

    /// Firestore database id [default: (default)].
    #[arg(long, short = 'd', global = true, env = "FIREKEEP_DATABASE")]
    pub database: Option<String>,

    /// Service-account key file (JSON). Default: application default credentials.
    #[arg(
        long,
        global = true,
        env = "GOOGLE_APPLICATION_CREDENTIALS",
        value_name = "FILE"
    )]
    pub credentials: Option<PathBuf>,

    /// Firestore emulator host:port (plaintext, no credentials).
    #[arg(
        long,
        global = true,
        env = "FIRESTORE_EMULATOR_HOST",
        value_name = "HOST:PORT"
    )]
    pub emulator_host: Option<String>,

    /// Authorization policy file (TOML or JSON). Default: the local user is Owner.
    #[arg(long, global = true, env = "FIREKEEP_POLICY", value_name = "FILE")]
    pub policy: Option<PathBuf>,

    /// Who is acting, e.g. user:alice@example.com [default: user:$USER, local Owner].
    #[arg(long, global = true, env = "FIREKEEP_PRINCIPAL")]
    pub principal: Option<String>,

    /// Organization the repository belongs to [default: local].
    #[arg(long, global = true, env = "FIREKEEP_ORGANIZATION")]
    pub organization: Option<String>,

    /// Audit trail (JSON lines) [default: <repo>/audit.jsonl for local repos, else ./firekeep-audit.jsonl].
    #[arg(long, global = true, env = "FIREKEEP_AUDIT_LOG", value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Back up a Firestore database (all of it, or chosen collections).
    Backup(BackupArgs),
    /// List complete backups, newest first.
    List,
    /// Check every part of a backup (tags, hashes, counts) without touching Firestore.
    Verify(VerifyArgs),
    /// Restore a backup into a Firestore database.
    Restore(RestoreArgs),
    /// Documents added, removed and changed between two backups, or a backup and the live database.
    Diff(DiffArgs),
    /// Apply a retention policy: delete backups it does not keep, and orphaned parts.
    Prune(PruneArgs),
    /// Re-wrap every backup's data key under a new key (data is not re-encrypted).
    RotateKey(RotateKeyArgs),
    /// Export or verify the audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Erase documents (a person's data) from every backup that holds them.
    Erase(crate::compliance_args::EraseArgs),
    /// Export a backup's documents as plain JSON, NDJSON or CSV.
    Export(crate::compliance_args::ExportArgs),
    /// Place or release a legal hold on a backup.
    #[command(subcommand)]
    Hold(crate::compliance_args::HoldCommand),
    /// Create, list, rotate and revoke API keys (stored as hashes in the policy file).
    #[command(subcommand, name = "api-key")]
    ApiKey(crate::commands::identity_args::ApiKeyCommand),
    /// Review who has access: members, API keys, findings.
    #[command(subcommand)]
    Access(crate::commands::identity_args::AccessCommand),
    /// Run a complete backup → verify → restore → compare on a built-in sample database.
    #[cfg(feature = "demo")]
    Demo(DemoArgs),
}

/// Which collections an operation covers.
#[derive(Debug, Args, Default, Clone)]
pub struct ScopeArgs {
    /// Top-level collection to include (repeatable); default: every collection.
    #[arg(long = "collection", value_name = "ID")]
    pub collections: Vec<String>,
    /// Top-level collection to leave out (repeatable).
    #[arg(long = "exclude", value_name = "ID")]
    pub exclude: Vec<String>,
    /// Leave out subcollections of the chosen collections.
    #[arg(long)]
    pub no_subcollections: bool,
}

/// `firekeep backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Which collections.
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Point-in-time backup: an RFC 3339 time in the past (Firestore: within 1 hour, or whole
    /// minutes within 7 days with PITR enabled).
    #[arg(long, value_name = "RFC3339")]
    pub read_time: Option<String>,
    /// A label to record in the manifest, key=value (repeatable).
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// Partitions of the database read at once, each one query stream (1 ..= 256)
    /// [default: [backup] read_streams, else 16]. Independent of the worker threads.
    #[arg(long, value_name = "N", conflicts_with_all = ["plan", "task", "commit"])]
    pub read_streams: Option<usize>,
    /// Scale-out, step 1: fix the read time, split the work into --task-count tasks and
    /// print the backup id (docs/scale-out.md).
    #[arg(long, conflicts_with_all = ["task", "commit"])]
    pub plan: bool,
    /// Scale-out, step 2: run one task of the backup --backup-id.
    #[arg(long, requires = "backup_id", conflicts_with = "commit")]
    pub task: bool,
    /// Scale-out, step 3: check every task's result and commit backup ID.
    #[arg(long, value_name = "ID")]
    pub commit: Option<String>,
    /// The planned backup a --task works on.
    #[arg(long, value_name = "ID")]
    pub backup_id: Option<String>,
    /// Number of tasks: with --plan the split [default: 1]; with --task checked against the
    /// plan [default: $CLOUD_RUN_TASK_COUNT].
    #[arg(long, value_name = "N")]
    pub task_count: Option<usize>,
    /// This task's index, 0-based [default: $CLOUD_RUN_TASK_INDEX, $JOB_COMPLETION_INDEX or
    /// $AWS_BATCH_JOB_ARRAY_INDEX].
    #[arg(long, value_name = "I")]
    pub task_index: Option<usize>,
    /// With --plan: partitions per task (more even tasks, more streams per task).
    #[arg(long, value_name = "K", default_value_t = 1)]
    pub partitions_per_task: usize,
}

/// `firekeep verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Backup id, or `latest`.
    #[arg(default_value = "latest")]
    pub backup: String,
}

/// Conflict mode for restore.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Conflict {
    /// Replace existing documents.
    Overwrite,
    /// Leave existing documents alone.
    Skip,
    /// Report existing documents as failures.
    Fail,
}

/// `firekeep restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// Backup id, or `latest`.
    pub backup: String,
    /// Which collections to restore.
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Project to restore into [default: --project].
    #[arg(long, value_name = "PROJECT")]
    pub target_project: Option<String>,
    /// Database to restore into [default: --database].
    #[arg(long, value_name = "DATABASE")]
    pub target_database: Option<String>,
    /// What to do with documents that already exist.
    #[arg(long, value_enum, default_value_t = Conflict::Overwrite)]
    pub conflict: Conflict,
    /// Count what would be written; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Scale-out, step 1: split the restore into --task-count tasks and print its restore id
    /// (docs/scale-out.md).
    #[arg(long, conflicts_with_all = ["task", "commit"])]
    pub plan: bool,
    /// Scale-out, step 2: run one task of the restore --restore-id.
    #[arg(long, requires = "restore_id", conflicts_with = "commit")]
    pub task: bool,
    /// Scale-out, step 3: check every task has run and report the whole restore ID.
    #[arg(long, value_name = "RESTORE_ID")]
    pub commit: Option<String>,
    /// The planned restore a --task works on.
    #[arg(long, value_name = "RESTORE_ID")]
    pub restore_id: Option<String>,
    /// Number of tasks: with --plan the split [default: 1]; with --task checked against the
    /// plan [default: $CLOUD_RUN_TASK_COUNT].
    #[arg(long, value_name = "N")]
    pub task_count: Option<usize>,
    /// This task's index, 0-based [default: $CLOUD_RUN_TASK_INDEX, $JOB_COMPLETION_INDEX or
    /// $AWS_BATCH_JOB_ARRAY_INDEX].
    #[arg(long, value_name = "I")]
    pub task_index: Option<usize>,
}

/// `firekeep diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The older backup id (or `latest`).
    pub from: String,
    /// The newer backup id; omitted: the live database (--project/--database).
    pub to: Option<String>,
    /// Exit with code 10 when there are differences (like `diff`).
    #[arg(long)]
    pub exit_code: bool,
}

/// `firekeep prune`: restic-style retention. Options not given come from the config file's
/// `[retention]` table.
#[derive(Debug, Args, Default)]
pub struct PruneArgs {
    /// Keep the N newest backups.
    #[arg(long)]
    pub keep_last: Option<u32>,
    /// Keep the newest backup of each of the last N hours.
    #[arg(long)]
    pub keep_hourly: Option<u32>,
    /// Keep the newest backup of each of the last N days.
    #[arg(long)]
    pub keep_daily: Option<u32>,
    /// Keep the newest backup of each of the last N weeks.
    #[arg(long)]
    pub keep_weekly: Option<u32>,
    /// Keep the newest backup of each of the last N months.
    #[arg(long)]
    pub keep_monthly: Option<u32>,
    /// Keep the newest backup of each of the last N years.
    #[arg(long)]
    pub keep_yearly: Option<u32>,
    /// Keep every backup newer than this, e.g. 36h, 14d, 2w, 1y2m.
    #[arg(long, value_name = "DURATION")]
    pub keep_within: Option<String>,
    /// Parts of unfinished backups (no manifest) are removed once untouched this long, so
    /// a backup still running elsewhere is left alone.
    #[arg(long, value_name = "DURATION", default_value = "1h")]
    pub orphan_grace: Option<String>,
    /// Print the plan; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `firekeep rotate-key`: the current key comes from the global key options; the new one
/// from these (or FIREKEEP_NEW_PASSPHRASE / FIREKEEP_NEW_KEY, or a prompt).
#[derive(Debug, Args)]
pub struct RotateKeyArgs {
    /// File holding the new passphrase.
    #[arg(long, env = "FIREKEEP_NEW_PASSPHRASE_FILE", value_name = "FILE")]
    pub new_passphrase_file: Option<PathBuf>,
    /// File holding the new raw key (base64 of 32 bytes).
    #[arg(long, env = "FIREKEEP_NEW_KEY_FILE", value_name = "FILE")]
    pub new_key_file: Option<PathBuf>,
    /// The new KMS key: AWS KMS (key id, ARN or alias/NAME) or Google Cloud KMS
    /// (projects/P/locations/L/keyRings/R/cryptoKeys/K).
    #[arg(long, env = "FIREKEEP_NEW_KMS_KEY", value_name = "KEY")]
    pub new_kms_key: Option<String>,
}

/// Audit export format.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum AuditFormat {
    /// A JSON array of events.
    Json,
    /// RFC 4180 CSV.
    Csv,
}

/// `firekeep audit ...`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Export events (optionally a time range and actions) as JSON or CSV.
    Export(AuditExportArgs),
    /// Check the audit trail's hash chain; names the first bad event.
    Verify,
}

/// `firekeep audit export`.
#[derive(Debug, Args)]
pub struct AuditExportArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = AuditFormat::Json)]
    pub format: AuditFormat,
    /// Only events at or after this RFC 3339 time.
    #[arg(long, value_name = "RFC3339")]
    pub since: Option<String>,
    /// Only events before this RFC 3339 time.
    #[arg(long, value_name = "RFC3339")]
    pub until: Option<String>,
    /// Only these actions, e.g. backup.created (repeatable).
    #[arg(long = "action", value_name = "ACTION")]
    pub actions: Vec<String>,
    /// Write to this file instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `firekeep demo`.
#[cfg(feature = "demo")]
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder for the demo repository, key and audit trail.
    #[arg(long, default_value = "./firekeep-demo")]
    pub dir: PathBuf,
    /// Number of sample documents.
    #[arg(long, default_value_t = 3000)]
    pub documents: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
