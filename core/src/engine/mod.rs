//! Backup, verify, restore, list, diff, prune and key rotation over the core's traits.
//!
//! The engine only talks to the four traits ([`FirestoreSource`], [`FirestoreTarget`],
//! [`StorageSink`], [`KeyProvider`]) and runs on any executor: it needs no async runtime.
//! CPU work (JSON, zstd, AES-GCM, SHA-256) runs on a small pool of std threads, bridged to
//! the async side with `futures` channels, so reading, encoding and uploading overlap.
//!
//! Storage layout (see docs/architecture.md): every backup lives under
//! `<prefix>/backups/<backup-id>/` as `key.json` (the wrapped data key, not secret),
//! `parts/<seq>.fkp` (sealed, zstd-compressed NDJSON documents) and `manifest.fkm` (the
//! sealed manifest, written last with put-if-absent). Object names reveal nothing of the
//! data. A backup exists once its manifest does — and counts (for list, `latest`, prune,
//! rotation) only once its key unwraps and its manifest authenticates. `<prefix>/heads/`
//! holds the sealed head records naming the newest backups (rollback detection).
//!
//! The operations here do not authorize or audit; [`crate::client::Client`] wraps each of
//! them in the session's authorize → run → audit path, and is what applications call.

mod backup;
mod codec;
mod diff;
mod distributed;
mod distributed_restore;
mod erase;
mod export;
mod head;
mod hold;
mod manifest;
mod pool;
mod progress;
mod prune;
mod repo;
mod restore;
mod rotate;
mod verify;

pub use backup::{
    BackupOptions, BackupReport, DEFAULT_PART_TARGET_BYTES, DEFAULT_SEGMENT_SIZE, backup,
};
pub use codec::{
    DEFAULT_ZSTD_LEVEL, MAX_JSON_LINE_BYTES, PartDecoder, PartEncoder, decode_part, encode_part,
};
pub use diff::{DiffOptions, DiffReport, diff_backup_with_source, diff_backups};
pub use distributed::{
    BackupPlan, MAX_TASKS, PLAN_VERSION, Partitioning, PlanOptions, PlanReport,
    TASK_COUNT_VARIABLES, TASK_INDEX_VARIABLES, TaskOptions, TaskOutcome, TaskReport, TaskResult,
    check_task_index, commit_backup, plan_backup, read_plan, run_backup_task, task_position,
};
pub use distributed_restore::{
    RestorePlan, RestorePlanReport, RestoreTaskReport, RestoreTaskResult, plan_restore,
    read_restore_plan, run_restore_task, summarize_restore,
};
pub use erase::{BackupErasure, EraseOptions, EraseReport, EraseSelector, FieldMatch, erase};
pub use export::{
    DirOutput, ExportFormat, ExportOptions, ExportOutput, ExportReport, StreamOutput, export,
};
pub use head::{HEAD_NEWEST, MAX_HEAD_BYTES, MAX_HEAD_CANDIDATES, RollbackCheck};
pub use hold::{LegalHold, ObjectLockOutcome, ObjectLockStatus, hold, read_hold, release};
pub use manifest::{CollectionTotals, ErasureRecord, Manifest, PartEntry, Totals};
pub use progress::{CancellationToken, Phase, ProgressEvent, ProgressFn};
pub use prune::{
    KeptBackup, PrunePlan, PruneReport, PrunedBackup, Retention, apply_prune, parse_duration,
    plan_prune,
};
pub use repo::{
    BackupList, BackupSummary, MAX_KEY_BYTES, MAX_MANIFEST_BYTES, Repository, UnreadableBackup,
    backup_id_time, list, new_backup_id, read_manifest,
};
pub use restore::{FailedDocument, RestoreOptions, RestoreReport, restore};
pub use rotate::{OtherKeyBackup, RotateReport, rotate_key};
pub use verify::{PartProblem, VerifyReport, verify};

/// Version of the manifest layout this engine writes and reads.
pub const MANIFEST_VERSION: u32 = 1;

/// The engine's version, recorded in every manifest.
pub const ENGINE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Serializes a timestamp as RFC 3339 (reports are JSON for the CLI and bindings).
fn ser_ts<S: serde::Serializer>(t: &crate::model::Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339())
}

fn ser_opt_ts<S: serde::Serializer>(
    t: &Option<crate::model::Timestamp>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&t.to_rfc3339()),
        None => s.serialize_none(),
    }
}
