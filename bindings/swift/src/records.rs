//! The records the client takes and returns: Firestore and client configuration,
//! operation options and reports.

use firekeep_core::model::DatabaseId;
use firekeep_firestore::{ConnectorConfig, Credentials, FirestoreConnector};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Where a Firestore database is.
#[derive(Clone, Debug, uniffi::Record)]
pub struct FirestoreConfig {
    /// The Google Cloud project id.
    pub project: String,
    /// The database id.
    #[uniffi(default = "(default)")]
    pub database: String,
    /// `host:port` of an emulator or test server (plaintext, token "owner").
    #[uniffi(default = None)]
    pub emulator_host: Option<String>,
    /// A service-account JSON file; else application default credentials.
    #[uniffi(default = None)]
    pub credentials_file: Option<String>,
}

pub(crate) async fn connect(
    cfg: FirestoreConfig,
) -> firekeep_core::Result<Arc<FirestoreConnector>> {
    let db = DatabaseId::new(&cfg.project, &cfg.database)?;
    let config = if let Some(host) = cfg.emulator_host {
        ConnectorConfig::emulator(db, host)
    } else if let Some(file) = cfg.credentials_file {
        ConnectorConfig::new(db, Credentials::ServiceAccountFile(PathBuf::from(file)))
    } else {
        ConnectorConfig::from_env(&cfg.project, &cfg.database)?
    };
    Ok(Arc::new(FirestoreConnector::connect(config).await?))
}

/// How a client is set up.
#[derive(Clone, Debug, uniffi::Record)]
pub struct ClientConfig {
    /// A local directory holding the backups (created if missing).
    pub repository: String,
    /// The organization the principal acts in.
    #[uniffi(default = "default")]
    pub organization: String,
    /// `user:ID`, `user:EMAIL` or `apikey:ID`. Without a policy the principal is the
    /// organization's only owner.
    #[uniffi(default = "user:local")]
    pub principal: String,
    /// A policy (TOML or JSON text) deciding what the principal may do.
    #[uniffi(default = None)]
    pub policy: Option<String>,
    /// A JSONL audit file to append to; else events are kept in memory.
    #[uniffi(default = None)]
    pub audit_file: Option<String>,
}

/// What to back up.
#[derive(Clone, Debug, uniffi::Record)]
pub struct BackupOptions {
    /// Top-level collections; empty means the whole database.
    #[uniffi(default = [])]
    pub collections: Vec<String>,
    /// Whether the collections' subcollections are included.
    #[uniffi(default = true)]
    pub subcollections: bool,
    /// Labels recorded in the manifest.
    pub labels: HashMap<String, String>,
    /// Partitions read at once, one query stream each; 0 means the default (16), at most
    /// 256.
    #[uniffi(default = 0)]
    pub read_streams: u32,
}

/// What to do with a document that already exists in the target.
#[derive(Clone, Copy, Debug, uniffi::Enum)]
pub enum ConflictMode {
    /// Replace it.
    Overwrite,
    /// Keep it; count it as skipped.
    SkipExisting,
    /// Count it as failed.
    FailIfExists,
}

/// What and how to restore.
#[derive(Clone, Debug, uniffi::Record)]
pub struct RestoreOptions {
    /// Top-level collections; empty means everything in the backup.
    #[uniffi(default = [])]
    pub collections: Vec<String>,
    /// Whether the collections' subcollections are included.
    #[uniffi(default = true)]
    pub subcollections: bool,
    /// Conflict mode.
    pub conflict: ConflictMode,
    /// Count what would be written without writing.
    #[uniffi(default = false)]
    pub dry_run: bool,
}

/// The outcome of a backup.
#[derive(Clone, Debug, uniffi::Record)]
pub struct BackupReport {
    /// The new backup's id.
    pub backup_id: String,
    /// The consistent snapshot time (RFC 3339).
    pub read_time: String,
    /// Documents backed up.
    pub documents: u64,
    /// Uncompressed JSON bytes.
    pub bytes: u64,
    /// Bytes stored (compressed, encrypted).
    pub stored_bytes: u64,
    /// Parts written.
    pub parts: u64,
    /// Id of the key wrapping the backup's data key.
    pub key_id: String,
    /// The full report as JSON (per-collection totals, timings).
    pub json: String,
}

/// The outcome of a verify.
#[derive(Clone, Debug, uniffi::Record)]
pub struct VerifyReport {
    /// The backup.
    pub backup_id: String,
    /// Parts in the manifest.
    pub parts: u64,
    /// Parts that passed every check.
    pub parts_ok: u64,
    /// Documents counted.
    pub documents: u64,
    /// The full report as JSON.
    pub json: String,
}

/// The outcome of a restore.
#[derive(Clone, Debug, uniffi::Record)]
pub struct RestoreReport {
    /// The backup.
    pub backup_id: String,
    /// Documents in scope.
    pub documents: u64,
    /// Documents written.
    pub written: u64,
    /// Documents skipped (existing, with `SkipExisting`).
    pub skipped: u64,
    /// Documents that failed.
    pub failed: u64,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// The full report as JSON (with each failure's name and reason).
    pub json: String,
}

/// One complete backup in the repository.
#[derive(Clone, Debug, uniffi::Record)]
pub struct BackupSummary {
    /// The backup id.
    pub id: String,
    /// When it was taken (RFC 3339).
    pub created_at: String,
    /// Its snapshot time (RFC 3339).
    pub read_time: String,
    /// Source project.
    pub project: String,
    /// Source database.
    pub database: String,
    /// Documents.
    pub documents: u64,
    /// Bytes stored.
    pub stored_bytes: u64,
    /// Id of the key wrapping its data key.
    pub key_id: String,
}

/// A complete backup `list` could not open with the client's key.
#[derive(Clone, Debug, uniffi::Record)]
pub struct UnreadableBackup {
    /// The backup id.
    pub id: String,
    /// When it was taken (RFC 3339), from the id.
    pub created_at: Option<String>,
    /// The error code, e.g. `ERR_KEY_MISMATCH`.
    pub code: String,
    /// What went wrong, naming the key id it needs where that is the problem.
    pub message: String,
}

/// What `list` found.
#[derive(Clone, Debug, uniffi::Record)]
pub struct BackupList {
    /// Complete backups the client's key opens, newest first.
    pub backups: Vec<BackupSummary>,
    /// Complete backups it cannot open, newest first.
    pub unreadable: Vec<UnreadableBackup>,
    /// Backups the repository's head record names that are missing now or no longer
    /// authenticate (deleted outside firekeep, or a rollback), newest first.
    pub missing: Vec<String>,
}
