//! Arguments of the compliance commands: `erase`, `export` and `hold`.

use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;

/// `firekeep erase`: documents removed from every backup that holds them.
#[derive(Debug, Args)]
pub struct EraseArgs {
    /// Relative path of a document to erase, e.g. users/alice (repeatable).
    #[arg(long = "path", value_name = "PATH")]
    pub paths: Vec<String>,
    /// Erase documents of this collection group (collection id) whose --field equals
    /// --equals / --equals-json.
    #[arg(long, value_name = "ID", requires = "field")]
    pub collection_group: Option<String>,
    /// Field path (dotted for nested maps) compared with --equals or --equals-json.
    #[arg(long, value_name = "FIELD", requires = "collection_group")]
    pub field: Option<String>,
    /// The string value the field must equal.
    #[arg(long, value_name = "TEXT", conflicts_with = "equals_json")]
    pub equals: Option<String>,
    /// The value the field must equal as Firestore REST JSON, e.g. '{"integerValue":"42"}'.
    #[arg(long, value_name = "JSON")]
    pub equals_json: Option<String>,
    /// Also erase every document in the subcollections of the selected documents.
    #[arg(long)]
    pub subcollections: bool,
    /// Only this backup (repeatable); default: every backup the key opens.
    #[arg(long = "backup", value_name = "ID")]
    pub backups: Vec<String>,
    /// Report what would be erased; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Export formats.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ExportFormatArg {
    /// documents.ndjson: one Firestore REST JSON document per line.
    Ndjson,
    /// documents.json: a JSON array of Firestore REST JSON documents.
    Json,
    /// One flat CSV per collection (formula cells defused).
    Csv,
}

/// `firekeep export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Backup id, or `latest`.
    pub backup: String,
    /// Top-level collection to export, with its subcollections (repeatable); default: all.
    #[arg(long = "collection", value_name = "ID")]
    pub collections: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExportFormatArg::Ndjson)]
    pub format: ExportFormatArg,
    /// Output directory, or `-` for stdout (one file only).
    #[arg(long, value_name = "DIR|-")]
    pub out: PathBuf,
}

/// `firekeep hold ...`.
#[derive(Debug, Subcommand)]
pub enum HoldCommand {
    /// Place a legal hold: prune and erase refuse the backup until it is released. On S3
    /// with Object Lock, also sets the S3 legal hold on every object of the backup (needs
    /// s3:PutObjectLegalHold); `--storage-option object_legal_hold=required` fails when the
    /// bucket cannot, `=off` leaves S3 alone. Running it again is idempotent.
    Place(HoldPlaceArgs),
    /// Release a legal hold: clears the S3 legal holds it set, then the repository hold.
    Release(HoldReleaseArgs),
}

/// `firekeep hold place`.
#[derive(Debug, Args)]
pub struct HoldPlaceArgs {
    /// Backup id.
    pub backup: String,
    /// Why (a case or ticket number); sealed in the repository, not audited.
    #[arg(long, default_value = "")]
    pub reason: String,
}

/// `firekeep hold release`.
#[derive(Debug, Args)]
pub struct HoldReleaseArgs {
    /// Backup id.
    pub backup: String,
}
