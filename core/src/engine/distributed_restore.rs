//! A restore split into tasks, the same way as a distributed backup
//! ([`super::distributed`]): [`plan_restore`] writes a sealed plan into the backup's folder
//! (`restores/<restore-id>/plan.fkm`: target, scope, conflict mode, task count); task `i` of
//! `N` ([`run_restore_task`]) writes the needed parts `j` with `j % N == i` (conflict modes
//! and per-document failures as in a one-process restore) and records its sealed result
//! put-if-absent; [`summarize_restore`] checks every result is there and reports the whole
//! restore. Objects are sealed under the backup's data key, bound to the backup id and their
//! own names, so nothing in them is believed unless it authenticates.

use super::progress::{CancellationToken, Phase, ProgressFn, Tracker};
use super::repo::{Opened, Repository, name_object};
use super::restore::{FailedDocument, RestoreOptions, RestoreReport, needed_parts, restore_parts};
use super::{codec, distributed};
use crate::keys::KeyProvider;
use crate::model::{DatabaseId, Timestamp};
use crate::source::{ConflictMode, FirestoreTarget, Scope};
use crate::{Error, Result};
use bytes::Bytes;
use std::sync::Arc;
use std::time::Duration;

/// Largest restore plan or task result read.
const MAX_RESTORE_OBJECT_BYTES: u64 = super::repo::MAX_MANIFEST_BYTES;
/// Folder (inside a backup's folder) of distributed restores.
pub(crate) const RESTORES_DIR: &str = "restores/";

fn plan_object(restore_id: &str) -> String {
    format!("{RESTORES_DIR}{restore_id}/plan.fkm")
}

fn result_object(restore_id: &str, index: usize) -> String {
    format!("{RESTORES_DIR}{restore_id}/task-{index:05}.fkm")
}

/// Restore ids are `rs_` and 16 hex digits: safe as a folder name.
fn validate_restore_id(id: &str) -> Result<()> {
    let ok =
        id.len() == 19 && id.starts_with("rs_") && id[3..].bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "{id:?} is not a restore id (rs_ and 16 hex digits, as `restore --plan` prints)"
        )))
    }
}

/// The sealed plan of a distributed restore.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RestorePlan {
    /// Layout version.
    pub plan_version: u32,
    /// The restore id.
    pub restore_id: String,
    /// The backup restored.
    pub backup_id: String,
    /// When the plan was made (RFC 3339).
    pub created_at: String,
    /// Target project id.
    pub project: String,
    /// Target database id.
    pub database: String,
    /// Which documents of the backup.
    pub scope: Scope,
    /// Conflict mode.
    pub conflict: ConflictMode,
    /// Count only, write nothing.
    pub dry_run: bool,
    /// Each task checks its parts before writing any of them.
    pub verify_first: bool,
    /// Number of tasks.
    pub task_count: usize,
}

/// The sealed result of one restore task.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RestoreTaskResult {
    /// The restore id.
    pub restore_id: String,
    /// The task's index.
    pub task_index: usize,
    /// The plan's task count.
    pub task_count: usize,
    /// When it finished (RFC 3339).
    pub completed_at: String,
    /// Documents in scope in this task's parts.
    pub documents: u64,
    /// Written (or, in a dry run, would be).
    pub written: u64,
    /// Skipped (existed, `SkipExisting`).
    pub skipped: u64,
    /// Not written, with reasons.
    pub failed: Vec<FailedDocument>,
    /// Parts read.
    pub parts_read: usize,
    /// How long the task took, in milliseconds.
    pub duration_ms: u64,
}

/// What [`plan_restore`] made.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RestorePlanReport {
    /// The restore id: give it to every task and to the summary.
    pub restore_id: String,
    /// The backup restored.
    pub backup_id: String,
    /// Number of tasks.
    pub task_count: usize,
    /// Parts to restore, shared by the tasks.
    pub parts: usize,
    /// Target project id.
    pub project: String,
    /// Target database id.
    pub database: String,
}

/// What [`run_restore_task`] did: its share of the restore.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RestoreTaskReport {
    /// The restore id.
    pub restore_id: String,
    /// The task's index.
    pub task_index: usize,
    /// The plan's task count.
    pub task_count: usize,
    /// Whether this run did the work.
    pub outcome: distributed::TaskOutcome,
    /// This task's share, as a restore report.
    pub report: RestoreReport,
}

fn report_from(backup_id: &str, plan: &RestorePlan, r: &RestoreTaskResult) -> RestoreReport {
    RestoreReport {
        backup_id: backup_id.to_string(),
        project: plan.project.clone(),
        database: plan.database.clone(),
        dry_run: plan.dry_run,
        documents: r.documents,
        written: r.written,
        skipped: r.skipped,
        failed: r.failed.clone(),
        parts_read: r.parts_read,
        duration: Duration::from_millis(r.duration_ms),
    }
}

/// Plans a restore of backup `backup_id` into `target` by `task_count` tasks. Writes only
/// the sealed plan (no document).
pub async fn plan_restore(
    repo: &Repository,
    keys: &dyn KeyProvider,
    backup_id: &str,
    target: &DatabaseId,
    opts: &RestoreOptions,
    task_count: usize,
) -> Result<RestorePlanReport> {
    if !(1..=distributed::MAX_TASKS).contains(&task_count) {
        return Err(Error::InvalidConfig(format!(
            "task count {task_count} is out of range: choose 1 ..= {}",
            distributed::MAX_TASKS
        )));
    }
    let opened = repo.open_backup(backup_id, keys).await?;
    let mut rnd = [0u8; 8];
    getrandom::fill(&mut rnd).expect("operating system random number generator failed");
    let restore_id = format!(
        "rs_{}",
        rnd.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let plan = RestorePlan {
        plan_version: distributed::PLAN_VERSION,
        restore_id: restore_id.clone(),
        backup_id: backup_id.to_string(),
        created_at: Timestamp::now().to_rfc3339(),
        project: target.project.clone(),
        database: target.database.clone(),
        scope: opts.scope.clone(),
        conflict: opts.conflict,
        dry_run: opts.dry_run,
        verify_first: opts.verify_first,
        task_count,
    };
    put_sealed(repo, &opened, &plan_object(&restore_id), &plan).await?;
    Ok(RestorePlanReport {
        restore_id,
        backup_id: backup_id.to_string(),
        task_count,
        parts: needed_parts(&opened.manifest, &opts.scope).len(),
        project: plan.project,
        database: plan.database,
    })
}

async fn put_sealed<T: serde::Serialize>(
    repo: &Repository,
    opened: &Opened,
    object: &str,
    value: &T,
) -> Result<()> {
    let json = serde_json::to_vec(value)
        .map_err(|e| Error::InvalidInput(format!("cannot encode {object}: {e}")))?;
    let sealed = codec::seal_object(
        &opened.dek,
        &opened.id,
        object,
        opened.manifest.segment_size,
        &json,
    )?;
    repo.sink()
        .put_if_absent(&repo.object_path(&opened.id, object), Bytes::from(sealed))
        .await
}

/// Reads a sealed JSON object of the backup; `None` if absent.
async fn get_sealed<T: serde::de::DeserializeOwned>(
    repo: &Repository,
    opened: &Opened,
    object: &str,
) -> Result<Option<T>> {
    let id = &opened.id;
    let sealed = match repo
        .sink()
        .get_bounded(&repo.object_path(id, object), MAX_RESTORE_OBJECT_BYTES)
        .await
    {
        Ok(b) => b,
        Err(Error::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let plain = codec::open_object(&opened.dek, id, object, &sealed)
        .map_err(|e| name_object(e, id, object))?;
    serde_json::from_slice(&plain).map(Some).map_err(|e| {
        Error::integrity(
            format!("backup {id} object {object}"),
            format!("not what this version of firekeep reads: {e}"),
        )
    })
}

/// Opens the backup and the restore plan (no document is read).
async fn open_restore(
    repo: &Repository,
    keys: &dyn KeyProvider,
    backup_id: &str,
    restore_id: &str,
) -> Result<(Opened, RestorePlan)> {
    validate_restore_id(restore_id)?;
    let opened = repo.open_backup(backup_id, keys).await?;
    let plan: RestorePlan = get_sealed(repo, &opened, &plan_object(restore_id))
        .await?
        .ok_or_else(|| {
            Error::NotFound(format!(
                "backup {backup_id} has no restore {restore_id}; plan it first \
                 (`restore {backup_id} --plan`) and use the id it prints"
            ))
        })?;
    if plan.restore_id != restore_id
        || plan.backup_id != backup_id
        || !(1..=distributed::MAX_TASKS).contains(&plan.task_count)
    {
        return Err(Error::integrity(
            format!("backup {backup_id} restore {restore_id}"),
            "the plan names another restore or backup",
        ));
    }
    Ok((opened, plan))
}

/// The restore plan `restore_id` of backup `backup_id` (for authorization: its target).
pub async fn read_restore_plan(
    repo: &Repository,
    keys: &dyn KeyProvider,
    backup_id: &str,
    restore_id: &str,
) -> Result<RestorePlan> {
    Ok(open_restore(repo, keys, backup_id, restore_id).await?.1)
}

async fn read_result(
    repo: &Repository,
    opened: &Opened,
    plan: &RestorePlan,
    index: usize,
) -> Result<Option<RestoreTaskResult>> {
    let object = result_object(&plan.restore_id, index);
    let r: Option<RestoreTaskResult> = get_sealed(repo, opened, &object).await?;
    if let Some(r) = &r {
        if r.restore_id != plan.restore_id
            || r.task_index != index
            || r.task_count != plan.task_count
        {
            return Err(Error::integrity(
                format!("backup {} object {object}", opened.id),
                format!(
                    "the result is task {} of {} of restore {}, not task {index} of this one",
                    r.task_index, r.task_count, r.restore_id
                ),
            ));
        }
    }
    Ok(r)
}

/// Runs task `index` of restore `restore_id` of backup `backup_id` into `target` (which
/// must be the plan's target database). Idempotent for retries: an existing result is
/// returned without work. A re-run after a killed attempt writes its share again (with
/// `SkipExisting` or `FailIfExists`, documents the killed attempt wrote count as skipped or
/// failed).
#[allow(clippy::too_many_arguments)]
pub async fn run_restore_task(
    repo: &Repository,
    keys: &dyn KeyProvider,
    backup_id: &str,
    restore_id: &str,
    target: Arc<dyn FirestoreTarget>,
    index: usize,
    count: Option<usize>,
    progress: Option<ProgressFn>,
    cancel: &CancellationToken,
) -> Result<RestoreTaskReport> {
    cancel.check()?;
    let mut tracker = Tracker::new(progress, Phase::Preparing);
    tracker.emit_now();
    let (opened, plan) = open_restore(repo, keys, backup_id, restore_id).await?;
    distributed::check_task_index(index, count, plan.task_count)?;
    let db = target.database();
    if db.project != plan.project || db.database != plan.database {
        return Err(Error::InvalidInput(format!(
            "restore {restore_id} writes to project {} database {}, but this task was given \
             project {} database {}",
            plan.project, plan.database, db.project, db.database
        )));
    }
    let done = |outcome, r: &RestoreTaskResult| RestoreTaskReport {
        restore_id: restore_id.to_string(),
        task_index: index,
        task_count: plan.task_count,
        outcome,
        report: report_from(backup_id, &plan, r),
    };
    if let Some(r) = read_result(repo, &opened, &plan, index).await? {
        return Ok(done(distributed::TaskOutcome::AlreadyCompleted, &r));
    }
    let mine: Vec<usize> = needed_parts(&opened.manifest, &plan.scope)
        .into_iter()
        .enumerate()
        .filter(|(j, _)| j % plan.task_count == index)
        .map(|(_, i)| i)
        .collect();
    let opts = RestoreOptions {
        scope: plan.scope.clone(),
        conflict: plan.conflict,
        dry_run: plan.dry_run,
        verify_first: plan.verify_first,
        ..RestoreOptions::default()
    };
    let report = restore_parts(repo, &opened, mine, target, &opts, &mut tracker, cancel).await?;
    let result = RestoreTaskResult {
        restore_id: restore_id.to_string(),
        task_index: index,
        task_count: plan.task_count,
        completed_at: Timestamp::now().to_rfc3339(),
        documents: report.documents,
        written: report.written,
        skipped: report.skipped,
        failed: report.failed,
        parts_read: report.parts_read,
        duration_ms: report.duration.as_millis() as u64,
    };
    match put_sealed(repo, &opened, &result_object(restore_id, index), &result).await {
        Ok(()) => {
            tracker.set_phase(Phase::Done);
            Ok(done(distributed::TaskOutcome::Completed, &result))
        }
        Err(Error::AlreadyExists(_)) => {
            let first = read_result(repo, &opened, &plan, index)
                .await?
                .ok_or_else(|| Error::NotFound(format!("task {index}'s result vanished")))?;
            Ok(done(distributed::TaskOutcome::AlreadyCompleted, &first))
        }
        Err(e) => Err(e),
    }
}

/// The whole restore `restore_id`: every task's result, summed. Missing tasks are named in
/// the error.
pub async fn summarize_restore(
    repo: &Repository,
    keys: &dyn KeyProvider,
    backup_id: &str,
    restore_id: &str,
) -> Result<RestoreReport> {
    let (opened, plan) = open_restore(repo, keys, backup_id, restore_id).await?;
    let mut total = RestoreReport {
        backup_id: backup_id.to_string(),
        project: plan.project.clone(),
        database: plan.database.clone(),
        dry_run: plan.dry_run,
        documents: 0,
        written: 0,
        skipped: 0,
        failed: Vec::new(),
        parts_read: 0,
        duration: Duration::ZERO,
    };
    let mut missing = Vec::new();
    for index in 0..plan.task_count {
        match read_result(repo, &opened, &plan, index).await? {
            Some(r) => {
                total.documents += r.documents;
                total.written += r.written;
                total.skipped += r.skipped;
                total.failed.extend(r.failed);
                total.parts_read += r.parts_read;
                // Tasks run side by side: the slowest one is the restore's duration.
                total.duration = total.duration.max(Duration::from_millis(r.duration_ms));
            }
            None => missing.push(index.to_string()),
        }
    }
    if !missing.is_empty() {
        return Err(Error::NotFound(format!(
            "restore {restore_id} is not finished: task(s) {} of {} have no result yet; run \
             them and ask again",
            missing.join(", "),
            plan.task_count
        )));
    }
    Ok(total)
}
