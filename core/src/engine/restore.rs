//! `restore`: documents of a backup (all, or chosen collections) written to a target
//! database, each part authenticated before any of its documents is written.

use super::manifest::PartEntry;
use super::pool::{Pool, default_parallelism};
use super::progress::{CancellationToken, Phase, ProgressFn, Tracker};
use super::repo::{Opened, Repository};
use super::verify::{RestoreLines, check_parts, fetch_part_lines, problems_error};
use crate::keys::KeyProvider;
use crate::model::DocumentPath;
use crate::source::{ConflictMode, FirestoreTarget, JsonDocument, Scope, WriteOutcome};
use crate::{Error, Result};
use futures::stream::{self, StreamExt};
use std::sync::Arc;
use std::time::Duration;

/// How to restore.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoreOptions {
    /// Which documents of the backup (default: all of them).
    pub scope: Scope,
    /// What to do with documents that already exist in the target.
    pub conflict: ConflictMode,
    /// Count what would be written; write nothing.
    pub dry_run: bool,
    /// Check every needed part (hash, tags, counts) before writing anything (default true),
    /// so a damaged backup writes nothing at all. Without it each part is still fully
    /// checked before any of its documents is written, but earlier parts may already be in.
    pub verify_first: bool,
    /// Batches written at once (default 4). The target applies its own rate ramp-up.
    pub write_concurrency: usize,
}

impl Default for RestoreOptions {
    fn default() -> Self {
        RestoreOptions {
            scope: Scope::database(),
            conflict: ConflictMode::default(),
            dry_run: false,
            verify_first: true,
            write_concurrency: 4,
        }
    }
}

/// A document that was not written, and why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FailedDocument {
    /// Full resource name in the target.
    pub name: String,
    /// gRPC-style status code (`ALREADY_EXISTS`, `INVALID_ARGUMENT`, ...).
    pub code: String,
    /// Why.
    pub message: String,
}

/// The outcome of a restore.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RestoreReport {
    /// The backup restored.
    pub backup_id: String,
    /// Target project id.
    pub project: String,
    /// Target database id.
    pub database: String,
    /// Whether this was a dry run (nothing written).
    pub dry_run: bool,
    /// Documents of the backup inside the restore scope.
    pub documents: u64,
    /// Documents written (in a dry run: that would be written).
    pub written: u64,
    /// Documents left alone because they existed (`SkipExisting`).
    pub skipped: u64,
    /// Every document that could not be written, with the reason.
    pub failed: Vec<FailedDocument>,
    /// Parts read.
    pub parts_read: usize,
    /// How long it took.
    pub duration: Duration,
}

/// Whether a part whose documents span `entry.first ..= entry.last` can hold documents of
/// `scope` (parts are in name order, so top-level collection ids bound them).
fn part_may_match(entry: &PartEntry, scope: &Scope) -> bool {
    if scope.collections.is_empty() {
        return true;
    }
    let (Ok(first), Ok(last)) = (
        DocumentPath::parse(&entry.first),
        DocumentPath::parse(&entry.last),
    ) else {
        return true;
    };
    scope
        .collections
        .iter()
        .any(|c| first.root_collection() <= c.as_str() && c.as_str() <= last.root_collection())
}

/// Restores backup `backup_id` into `target`.
pub async fn restore(
    repo: &Repository,
    keys: &dyn KeyProvider,
    backup_id: &str,
    target: Arc<dyn FirestoreTarget>,
    opts: &RestoreOptions,
    progress: Option<ProgressFn>,
    cancel: &CancellationToken,
) -> Result<RestoreReport> {
    let mut tracker = Tracker::new(progress, Phase::Preparing);
    tracker.emit_now();
    cancel.check()?;
    let opened = repo.open_backup(backup_id, keys).await?;
    let needed = needed_parts(&opened.manifest, &opts.scope);
    let report = restore_parts(repo, &opened, needed, target, opts, &mut tracker, cancel).await?;
    tracker.set_phase(Phase::Done);
    Ok(report)
}

/// Indexes of the manifest's parts that can hold documents of `scope`.
pub(crate) fn needed_parts(m: &super::manifest::Manifest, scope: &Scope) -> Vec<usize> {
    (0..m.parts.len())
        .filter(|i| part_may_match(&m.parts[*i], scope))
        .collect()
}

/// Restores the documents of parts `needed` of an opened backup (checking them all first
/// when `opts.verify_first`). Shared by the one-process restore and a distributed
/// restore's tasks.
pub(crate) async fn restore_parts(
    repo: &Repository,
    opened: &Opened,
    needed: Vec<usize>,
    target: Arc<dyn FirestoreTarget>,
    opts: &RestoreOptions,
    tracker: &mut Tracker,
    cancel: &CancellationToken,
) -> Result<RestoreReport> {
    let backup_id = opened.id.as_str();
    let m = &opened.manifest;
    tracker.total_parts = Some(needed.len() as u64);
    let parallelism = default_parallelism();
    let pool = Pool::new(parallelism, "restore")?;

    if opts.verify_first {
        tracker.set_phase(Phase::Verify);
        let mut problems = Vec::new();
        let mut fetched = std::pin::pin!(check_parts(
            repo,
            opened,
            &pool,
            needed.clone(),
            parallelism + 1
        ));
        while let Some((i, r)) = fetched.next().await {
            cancel.check()?;
            tracker.parts += 1;
            tracker.bytes += m.parts[i].size;
            if let Err(p) = r {
                problems.push(p);
            }
            tracker.emit();
        }
        if !problems.is_empty() {
            return Err(problems_error(backup_id, &problems));
        }
        tracker.parts = 0;
        tracker.bytes = 0;
    }

    tracker.set_phase(Phase::Restore);
    let limits = target.batch_limits();
    let max_writes = limits.max_writes.max(1);
    let target_db = target.database().clone();
    let target_root = format!("{}/", target_db.documents_root());
    let mut report = RestoreReport {
        backup_id: backup_id.to_string(),
        project: target_db.project.clone(),
        database: target_db.database.clone(),
        dry_run: opts.dry_run,
        documents: 0,
        written: 0,
        skipped: 0,
        failed: Vec::new(),
        parts_read: 0,
        duration: Duration::ZERO,
    };
    // Every worker busy, plus one part ready: the async task only batches lines and
    // collects outcomes, so the parts are what keeps the cores busy (with two in flight,
    // one worker waited on this task).
    let lines = RestoreLines {
        scope: Arc::new(opts.scope.clone()),
        target_root: Arc::from(target_root),
    };
    let mut fetched = std::pin::pin!(fetch_part_lines(
        repo,
        opened,
        &pool,
        needed,
        parallelism + 1,
        lines
    ));
    while let Some((i, r)) = fetched.next().await {
        cancel.check()?;
        // Nothing from a bad part is written.
        let docs = r.map_err(|p| problems_error(backup_id, &[p]))?;
        report.parts_read += 1;
        tracker.parts += 1;
        tracker.bytes += m.parts[i].size;
        report.documents += docs.len() as u64;
        let mut batches: Vec<Vec<JsonDocument>> = Vec::new();
        let mut batch = Vec::new();
        let mut batch_bytes = 0usize;
        for doc in docs {
            let size = doc.size();
            if !batch.is_empty()
                && (batch.len() >= max_writes || batch_bytes + size > limits.max_bytes)
            {
                batches.push(std::mem::take(&mut batch));
                batch_bytes = 0;
            }
            batch_bytes += size;
            batch.push(doc);
        }
        if !batch.is_empty() {
            batches.push(batch);
        }
        if opts.dry_run {
            report.written += batches.iter().map(|b| b.len() as u64).sum::<u64>();
            tracker.documents = report.written;
            tracker.emit();
            continue;
        }
        let mode = opts.conflict;
        let mut writes = stream::iter(batches)
            .map(|b| {
                let target = target.clone();
                async move { target.write_json_batch(b, mode).await }
            })
            .buffer_unordered(opts.write_concurrency.max(1));
        while let Some(results) = writes.next().await {
            // A whole batch failing (after the target's own retries) stops the restore:
            // it means the target is unusable (permissions, missing database).
            for r in results? {
                match r.outcome {
                    WriteOutcome::Written => report.written += 1,
                    WriteOutcome::Skipped => report.skipped += 1,
                    WriteOutcome::Failed { code, message } => report.failed.push(FailedDocument {
                        name: r.name,
                        code,
                        message,
                    }),
                }
            }
            tracker.documents = report.written + report.skipped + report.failed.len() as u64;
            tracker.emit();
            if cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
        }
    }
    report.duration = tracker.elapsed();
    Ok(report)
}
