//! Erasure, export and legal hold on the [`Client`]: records mapped to the core's options
//! and reports, nothing more.

use crate::client::{Client, to_json};
use crate::errors::Result;
use crate::runtime::{CancellationToken, cancellable};
use firekeep_core::engine::{
    DirOutput, EraseOptions as CoreEraseOptions, EraseSelector, ExportFormat, ExportOptions,
    FieldMatch as CoreFieldMatch,
};
use firekeep_core::model::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;

/// The value a matched field must equal (same type and value).
#[derive(Clone, Debug, uniffi::Enum)]
pub enum MatchValue {
    /// A string.
    Text { value: String },
    /// A 64-bit integer.
    Integer { value: i64 },
    /// A boolean.
    Boolean { value: bool },
    /// Any value in Firestore REST JSON, e.g. `{"doubleValue": 1.5}`.
    RestJson { json: String },
}

/// Documents of a collection group whose field equals a value.
#[derive(Clone, Debug, uniffi::Record)]
pub struct FieldMatch {
    /// A collection id: `orders` matches `orders/…` and `users/u1/orders/…`.
    pub collection_group: String,
    /// Field path, dotted for nested maps (`owner.id`).
    pub field: String,
    /// The value to match.
    pub equals: MatchValue,
}

/// Which documents to erase, and from which backups.
#[derive(Clone, Debug, uniffi::Record)]
pub struct EraseOptions {
    /// Relative document paths (`users/alice`).
    #[uniffi(default = [])]
    pub paths: Vec<String>,
    /// Documents matched by a field's value.
    #[uniffi(default = None)]
    pub field_match: Option<FieldMatch>,
    /// Also erase the subcollections of each selected document.
    #[uniffi(default = false)]
    pub subcollections: bool,
    /// Backups to erase from; empty means every backup the key opens.
    #[uniffi(default = [])]
    pub backups: Vec<String>,
    /// Only report what would change.
    #[uniffi(default = false)]
    pub dry_run: bool,
}

/// What an erasure did (or would do) to one backup; counts only.
#[derive(Clone, Debug, uniffi::Record)]
pub struct BackupErasure {
    /// Backup id.
    pub backup_id: String,
    /// Documents erased.
    pub documents: u64,
    /// Parts rewritten without the documents.
    pub parts_rewritten: u64,
    /// Parts that held only erased documents.
    pub parts_dropped: u64,
    /// Parts left as they were.
    pub parts_unchanged: u64,
    /// The backup's manifest generation after the run.
    pub generation: u64,
}

/// What an erasure did.
#[derive(Clone, Debug, uniffi::Record)]
pub struct EraseReport {
    /// Whether nothing was written.
    pub dry_run: bool,
    /// Documents erased over all backups.
    pub documents: u64,
    /// Every backup looked at, oldest first.
    pub backups: Vec<BackupErasure>,
    /// The core's full report as JSON.
    pub json: String,
}

/// The format of an export.
#[derive(Clone, Copy, Debug, uniffi::Enum)]
pub enum DataFormat {
    /// `documents.ndjson`: one Firestore REST JSON document per line.
    Ndjson,
    /// `documents.json`: one JSON array.
    Json,
    /// One flat CSV per collection (formula cells defused).
    Csv,
}

/// What an export wrote.
#[derive(Clone, Debug, uniffi::Record)]
pub struct ExportReport {
    /// Backup id.
    pub backup_id: String,
    /// Documents written.
    pub documents: u64,
    /// File names written in the output directory.
    pub files: Vec<String>,
    /// Parts downloaded.
    pub parts_read: u64,
}

/// A legal hold on one backup.
#[derive(Clone, Debug, uniffi::Record)]
pub struct LegalHold {
    /// The backup held.
    pub backup_id: String,
    /// When the hold was placed (RFC 3339).
    pub held_at: String,
    /// Why (a case number, a ticket).
    pub reason: String,
    /// What placing or releasing did to the S3 Object Lock legal holds on the backup's
    /// objects: `applied`, `not_supported` or `disabled`; `None` when only read.
    pub object_lock: Option<String>,
    /// Objects whose S3 legal hold was set (place) or cleared (release).
    pub object_lock_objects: u64,
    /// Why no S3 legal hold was set, for `not_supported` and `disabled`.
    pub object_lock_detail: Option<String>,
}

fn value(v: MatchValue) -> firekeep_core::Result<Value> {
    Ok(match v {
        MatchValue::Text { value } => Value::String(value),
        MatchValue::Integer { value } => Value::Integer(value),
        MatchValue::Boolean { value } => Value::Boolean(value),
        MatchValue::RestJson { json: j } => json::decode_value(j.as_bytes())?,
    })
}

fn hold_record(h: firekeep_core::engine::LegalHold) -> LegalHold {
    let o = h.object_lock.as_ref();
    LegalHold {
        object_lock: o.map(|o| o.status_name().to_string()),
        object_lock_objects: o.map_or(0, |o| o.objects),
        object_lock_detail: o.and_then(|o| o.detail.clone()),
        backup_id: h.backup_id,
        held_at: h.held_at,
        reason: h.reason,
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl Client {
    /// Erases documents from every backup holding them (permission: erase data). A backup
    /// under legal hold fails the call with `Storage` before anything is written.
    #[uniffi::method(default(cancel = None))]
    pub async fn erase(
        &self,
        options: EraseOptions,
        cancel: Option<Arc<CancellationToken>>,
    ) -> Result<EraseReport> {
        let field_match = match options.field_match {
            Some(m) => Some(CoreFieldMatch {
                collection_group: m.collection_group,
                field: m.field,
                value: value(m.equals)?,
            }),
            None => None,
        };
        let opts = CoreEraseOptions {
            selector: EraseSelector {
                paths: options.paths,
                field_match,
                include_subcollections: options.subcollections,
            },
            backups: options.backups,
            dry_run: options.dry_run,
        };
        let r = cancellable(cancel, |t| async move { self.inner.erase(&opts, &t).await }).await?;
        Ok(EraseReport {
            dry_run: r.dry_run,
            documents: r.documents,
            backups: r
                .backups
                .iter()
                .map(|b| BackupErasure {
                    backup_id: b.backup_id.clone(),
                    documents: b.documents,
                    parts_rewritten: b.parts_rewritten as u64,
                    parts_dropped: b.parts_dropped as u64,
                    parts_unchanged: b.parts_unchanged as u64,
                    generation: b.generation,
                })
                .collect(),
            json: to_json(&r),
        })
    }

    /// Writes a backup's documents, decrypted, into directory `out` (permission: export
    /// data); `collections` empty means all.
    #[uniffi::method(default(collections = [], format = None, cancel = None))]
    pub async fn export(
        &self,
        backup_id: String,
        out: String,
        collections: Vec<String>,
        format: Option<DataFormat>,
        cancel: Option<Arc<CancellationToken>>,
    ) -> Result<ExportReport> {
        let opts = ExportOptions {
            collections,
            format: match format.unwrap_or(DataFormat::Ndjson) {
                DataFormat::Ndjson => ExportFormat::Ndjson,
                DataFormat::Json => ExportFormat::Json,
                DataFormat::Csv => ExportFormat::Csv,
            },
        };
        let r = cancellable(cancel, |t| async move {
            let mut dir = DirOutput(PathBuf::from(out));
            self.inner.export(&backup_id, &opts, &mut dir, &t).await
        })
        .await?;
        Ok(ExportReport {
            backup_id: r.backup_id,
            documents: r.documents,
            files: r.files,
            parts_read: r.parts_read as u64,
        })
    }

    /// Places a legal hold (permission: manage legal holds): prune and erase refuse the
    /// backup until it is released.
    pub async fn hold(&self, backup_id: String, reason: String) -> Result<LegalHold> {
        let h = cancellable(None, |_| self.inner.hold(&backup_id, &reason)).await?;
        Ok(hold_record(h))
    }

    /// Releases a legal hold; `None` when the backup was not held.
    pub async fn release_hold(&self, backup_id: String) -> Result<Option<LegalHold>> {
        let h = cancellable(None, |_| self.inner.release_hold(&backup_id)).await?;
        Ok(h.map(hold_record))
    }
}
