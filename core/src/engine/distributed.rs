//! A backup split into tasks that run on other machines (Cloud Run Jobs, Kubernetes Indexed
//! Jobs, AWS Batch array jobs, Dask), coordinated only through the repository.
//!
//! 1. [`plan_backup`] fixes the snapshot (one read time), creates the backup's data key and
//!    splits the scope into name ranges (PartitionQuery; where the server has none, top-level
//!    collections and ranges of their document ids, probed for real keys). It writes
//!    `key.json` and the sealed plan `dist/plan.fkm`, both put-if-absent.
//! 2. [`run_backup_task`] (task `i` of `N`) reads partitions `j` with `j % N == i` at the
//!    plan's read time, writes parts named `parts/t<i>-<attempt>-<seq>.fkp` (the random
//!    attempt tag keeps a retried task from overwriting a still-running earlier attempt)
//!    and finishes with its sealed result `dist/task-<i>.fkm`, put-if-absent: of two
//!    attempts one result wins and the other deletes its parts.
//! 3. [`commit_backup`] opens every result (each authenticates under the backup's data key
//!    and names this plan), merges them into the ordinary manifest and writes it last,
//!    put-if-absent. Until then the folder is an unfinished backup that `prune` removes
//!    after its grace period.
//!
//! Nothing here authorizes or audits: [`crate::client::Client`] does.

use super::backup::{BackupOptions, BackupReport, WrittenParts, sort_disjoint, write_parts};
use super::codec;
use super::manifest::{Manifest, PartEntry, Totals};
use super::progress::{CancellationToken, Phase, ProgressFn, Tracker};
use super::repo::{KEY, MANIFEST, MAX_MANIFEST_BYTES, Repository, name_object, new_backup_id};
use crate::keys::{KeyContext, KeyProvider};
use crate::model::{DocumentPath, Timestamp};
use crate::secret::SecretBytes;
use crate::source::{FirestoreSource, NameRange, Scope};
use crate::{Error, Result};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::Arc;
use std::time::Duration;

/// Object name of a distributed backup's plan inside its folder.
pub(crate) const PLAN: &str = "dist/plan.fkm";
/// Folder (inside a backup's folder) of the plan and the task results.
pub(crate) const DIST_DIR: &str = "dist/";
/// Version of the plan and task-result layouts.
pub const PLAN_VERSION: u32 = 1;
/// Most tasks one plan may have.
pub const MAX_TASKS: usize = 10_000;
/// Largest plan or task result read (a result lists its parts like a manifest does).
const MAX_DIST_OBJECT_BYTES: u64 = MAX_MANIFEST_BYTES;

/// Object name of task `index`'s result.
fn task_object(index: usize) -> String {
    format!("{DIST_DIR}task-{index:05}.fkm")
}

/// How to plan a distributed backup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanOptions {
    /// What to back up and how to encode it (scope, read time, part size, zstd level,
    /// segment size, labels). `parallelism` and `upload_concurrency` are each task's own.
    pub backup: BackupOptions,
    /// Number of tasks (1 ..= [`MAX_TASKS`]).
    pub task_count: usize,
    /// Partitions per task (default 1): more balance uneven partitions and let a task read
    /// several streams at once.
    pub partitions_per_task: usize,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            backup: BackupOptions::default(),
            task_count: 1,
            partitions_per_task: 1,
        }
    }
}

/// How a plan's partitions were found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Partitioning {
    /// The source's own partitioning (Firestore PartitionQuery).
    Source,
    /// Top-level collections and ranges of their document ids, probed for real keys (the
    /// source had no partitioning, e.g. a server answering PartitionQuery UNIMPLEMENTED).
    Sampled,
}

/// The sealed plan of a distributed backup (`dist/plan.fkm`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BackupPlan {
    /// Layout version ([`PLAN_VERSION`]).
    pub plan_version: u32,
    /// Random id of this plan; every task result must carry it.
    pub plan_id: String,
    /// The backup id (also the folder name).
    pub backup_id: String,
    /// When the plan was made (RFC 3339); the manifest's `started_at`.
    pub created_at: String,
    /// The one read time every task reads at (RFC 3339, nanoseconds).
    pub read_time: String,
    /// Source project id.
    pub project: String,
    /// Source database id.
    pub database: String,
    /// What is backed up.
    pub scope: Scope,
    /// Number of tasks.
    pub task_count: usize,
    /// Sorted split points (relative document paths): `n` points make `n + 1` partitions
    /// `[.., p1), [p1, p2), .., [pn, ..)`; partition `j` belongs to task `j % task_count`.
    pub split_points: Vec<String>,
    /// How the split points were found.
    pub partitioning: Partitioning,
    /// Target uncompressed part size.
    pub part_target_bytes: usize,
    /// Ciphertext segment size.
    pub segment_size: u32,
    /// Zstd level.
    pub zstd_level: i32,
    /// User labels (recorded in the manifest).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Fingerprint of the data key.
    pub data_key_id: String,
    /// Provider key id the data key was wrapped under.
    pub key_id: String,
}

impl BackupPlan {
    fn read_time(&self) -> Result<Timestamp> {
        Timestamp::parse_rfc3339(&self.read_time)
    }

    /// The partitions of task `index`.
    pub fn task_ranges(&self, index: usize) -> Result<Vec<NameRange>> {
        let points = self
            .split_points
            .iter()
            .map(|p| DocumentPath::parse(p))
            .collect::<Result<Vec<_>>>()?;
        Ok(ranges_from_points(points)
            .into_iter()
            .enumerate()
            .filter(|(j, _)| j % self.task_count == index)
            .map(|(_, r)| r)
            .collect())
    }

    /// Options equal to the plan's (the content of every part is fixed by the plan).
    fn backup_options(&self, parallelism: usize, upload_concurrency: usize) -> BackupOptions {
        BackupOptions {
            scope: self.scope.clone(),
            read_time: None,
            part_target_bytes: self.part_target_bytes,
            segment_size: self.segment_size,
            zstd_level: self.zstd_level,
            parallelism,
            // A task reads its own ranges (the plan's partitions), all at once.
            read_streams: 0,
            upload_concurrency,
            labels: self.labels.clone(),
        }
    }
}

/// The sealed result of one task (`dist/task-<index>.fkm`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TaskResult {
    /// Layout version ([`PLAN_VERSION`]).
    pub result_version: u32,
    /// The backup id.
    pub backup_id: String,
    /// The plan this task ran for.
    pub plan_id: String,
    /// This task's index.
    pub task_index: usize,
    /// The plan's task count.
    pub task_count: usize,
    /// Random tag of the attempt that wrote the parts.
    pub attempt: String,
    /// When the task finished (RFC 3339).
    pub completed_at: String,
    /// Totals of this task's parts.
    pub totals: Totals,
    /// This task's parts, in name order.
    pub parts: Vec<PartEntry>,
}

/// What [`plan_backup`] made.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PlanReport {
    /// The new backup's id: give it to every task and to the commit.
    pub backup_id: String,
    /// Number of tasks to run (indexes `0 .. task_count`).
    pub task_count: usize,
    /// Number of partitions the tasks share.
    pub partitions: usize,
    /// How the partitions were found.
    pub partitioning: Partitioning,
    /// The read time every task reads at.
    #[serde(serialize_with = "super::ser_ts")]
    pub read_time: Timestamp,
    /// Source project id.
    pub project: String,
    /// Source database id.
    pub database: String,
    /// Provider key id the data key is wrapped under.
    pub key_id: String,
}

/// What one task did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskOutcome {
    /// This run read its share and wrote its result.
    Completed,
    /// A result for this index already existed (an earlier attempt finished): nothing done.
    AlreadyCompleted,
    /// The backup is already committed: nothing done.
    AlreadyCommitted,
}

/// What [`run_backup_task`] did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TaskReport {
    /// The backup id.
    pub backup_id: String,
    /// This task's index.
    pub task_index: usize,
    /// The plan's task count.
    pub task_count: usize,
    /// Whether this run did the work.
    pub outcome: TaskOutcome,
    /// Partitions this task read.
    pub partitions: usize,
    /// Documents in this task's result.
    pub documents: u64,
    /// Uncompressed bytes.
    pub bytes: u64,
    /// Stored bytes of its parts.
    pub stored_bytes: u64,
    /// Parts in its result.
    pub parts: usize,
    /// How long this run took.
    pub duration: Duration,
}

/// Per-task performance settings (the content is fixed by the plan).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskOptions {
    /// Worker threads for encoding and sealing; 0 means one per core.
    pub parallelism: usize,
    /// Uploads in flight at once.
    pub upload_concurrency: usize,
}

impl Default for TaskOptions {
    fn default() -> Self {
        let d = BackupOptions::default();
        TaskOptions {
            parallelism: d.parallelism,
            upload_concurrency: d.upload_concurrency,
        }
    }
}

/// Checks a task index and count (as given to a task, e.g. from the job engine's variables)
/// against the plan.
pub fn check_task_index(index: usize, count: Option<usize>, plan_count: usize) -> Result<()> {
    if let Some(c) = count {
        if c != plan_count {
            return Err(Error::InvalidInput(format!(
                "this task was started as one of {c} tasks, but the plan has {plan_count}; \
                 run the job with {plan_count} tasks"
            )));
        }
    }
    if index >= plan_count {
        return Err(Error::InvalidInput(format!(
            "task index {index} is out of range: the plan has {plan_count} tasks (0 ..= {})",
            plan_count - 1
        )));
    }
    Ok(())
}

/// Variables job engines set to a task's index, in the order they are read: Cloud Run Jobs,
/// Kubernetes Indexed Jobs, AWS Batch array jobs.
pub const TASK_INDEX_VARIABLES: &[&str] = &[
    "CLOUD_RUN_TASK_INDEX",
    "JOB_COMPLETION_INDEX",
    "AWS_BATCH_JOB_ARRAY_INDEX",
];
/// Variables job engines set to the number of tasks (Cloud Run Jobs).
pub const TASK_COUNT_VARIABLES: &[&str] = &["CLOUD_RUN_TASK_COUNT"];

/// A task's index and (optional) count: the given values, else the job engine's variables
/// read through `var` ([`TASK_INDEX_VARIABLES`], [`TASK_COUNT_VARIABLES`]).
pub fn task_position(
    index: Option<usize>,
    count: Option<usize>,
    var: &dyn Fn(&str) -> Option<String>,
) -> Result<(usize, Option<usize>)> {
    let read = |names: &[&str]| -> Result<Option<usize>> {
        for name in names {
            if let Some(v) = var(name) {
                return v.trim().parse().map(Some).map_err(|_| {
                    Error::InvalidInput(format!("{name}={v:?} is not a task number"))
                });
            }
        }
        Ok(None)
    };
    let index = match index {
        Some(i) => i,
        None => read(TASK_INDEX_VARIABLES)?.ok_or_else(|| {
            Error::InvalidInput(format!(
                "no task index: give one, or run under a job engine that sets {}",
                TASK_INDEX_VARIABLES.join(", ")
            ))
        })?,
    };
    let count = match count {
        Some(c) => Some(c),
        None => read(TASK_COUNT_VARIABLES)?,
    };
    Ok((index, count))
}

fn random_hex(bytes: usize) -> String {
    let mut rnd = vec![0u8; bytes];
    getrandom::fill(&mut rnd).expect("operating system random number generator failed");
    rnd.iter().map(|b| format!("{b:02x}")).collect()
}

/// `[.., p1), [p1, p2), .., [pn, ..)`.
fn ranges_from_points(points: Vec<DocumentPath>) -> Vec<NameRange> {
    let mut out = Vec::with_capacity(points.len() + 1);
    let mut start = Bound::Unbounded;
    for p in points {
        out.push(NameRange {
            start,
            end: Bound::Excluded(p.clone()),
        });
        start = Bound::Included(p);
    }
    out.push(NameRange {
        start,
        end: Bound::Unbounded,
    });
    out
}

/// Firestore's auto-ID alphabet in key (byte) order: ids made by the client libraries are
/// spread evenly over it, so its letters split a collection into ranges of similar size.
const AUTO_ID_ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The first document of `scope` at or after `from` (one short query).
async fn first_at_or_after(
    source: &dyn FirestoreSource,
    scope: &Scope,
    from: &DocumentPath,
    read_time: Timestamp,
) -> Result<Option<DocumentPath>> {
    let range = NameRange {
        start: Bound::Included(from.clone()),
        end: Bound::Unbounded,
    };
    let mut docs = source.stream_documents(scope, range, read_time);
    match docs.next().await {
        Some(doc) => Ok(Some(doc?.path()?.1)),
        None => Ok(None),
    }
}

/// Split points for a source without partitioning: the scope's top-level collections get
/// shares of `want` ranges by document count (where the source can count), each share
/// split at evenly spaced auto-ID letters; every candidate is replaced by the first real
/// document at or after it, so empty ranges fall away. Any split points are correct (the
/// ranges always cover everything once); these only aim at even sizes.
async fn sampled_split_points(
    source: &dyn FirestoreSource,
    scope: &Scope,
    read_time: Timestamp,
    want: usize,
) -> Result<Vec<DocumentPath>> {
    let collections: Vec<String> = source
        .list_collection_ids(None, read_time)
        .await?
        .into_iter()
        .filter(|c| {
            !scope.exclude.contains(c)
                && (scope.collections.is_empty() || scope.collections.contains(c))
        })
        .collect();
    let mut weights = Vec::with_capacity(collections.len());
    for c in &collections {
        let one = Scope::collections([c.clone()], scope.subcollections);
        let n = source.count_documents(&one, read_time).await.ok().flatten();
        weights.push(n);
    }
    let known = weights.iter().all(Option::is_some);
    let total: u64 = weights.iter().map(|w| w.unwrap_or(1)).sum::<u64>().max(1);
    let mut candidates = BTreeSet::new();
    let mut points = BTreeSet::new();
    for (c, w) in collections.iter().zip(&weights) {
        let w = if known { w.unwrap_or(0) } else { 1 };
        if w == 0 {
            continue;
        }
        // This collection's share of the ranges, at least one (its own start).
        let share = ((want as u64 * w).div_ceil(total) as usize).clamp(1, want);
        let alphabet = AUTO_ID_ALPHABET.len();
        // The collection's start: its first document.
        let own = Scope::collections([c.clone()], scope.subcollections);
        if let Some(p) = source
            .stream_documents(&own, NameRange::all(), read_time)
            .next()
            .await
        {
            points.insert(p?.path()?.1);
        }
        for k in 1..share {
            let pos = k * alphabet * alphabet / share;
            let (a, b) = (pos / alphabet, pos % alphabet);
            let id =
                String::from_utf8(vec![AUTO_ID_ALPHABET[a], AUTO_ID_ALPHABET[b]]).expect("ASCII");
            if let Ok(p) = DocumentPath::from_segments(vec![c.clone(), id]) {
                candidates.insert(p);
            }
        }
    }
    for c in candidates {
        if let Some(p) = first_at_or_after(source, scope, &c, read_time).await? {
            points.insert(p);
        }
    }
    // The very first document needs no split point (the first range is unbounded below).
    let mut points: Vec<DocumentPath> = points.into_iter().skip(1).collect();
    let keep = want.saturating_sub(1);
    if points.len() > keep {
        let n = points.len();
        points = (1..=keep)
            .map(|i| points[i * n / (keep + 1)].clone())
            .collect();
        points.dedup();
    }
    Ok(points)
}

/// Split points for `want` partitions of `scope`: the source's own partitioning when it
/// gives more than one range, else sampled ones.
async fn split_points(
    source: &dyn FirestoreSource,
    scope: &Scope,
    read_time: Timestamp,
    want: usize,
) -> Result<(Vec<DocumentPath>, Partitioning)> {
    if want <= 1 {
        return Ok((Vec::new(), Partitioning::Source));
    }
    let ranges = source.partition(scope, read_time, want).await?;
    if ranges.len() > 1 {
        // Ranges from `partition` are contiguous: each start after the first is a split.
        let mut points: Vec<DocumentPath> = ranges
            .into_iter()
            .skip(1)
            .filter_map(|r| match r.start {
                Bound::Included(p) | Bound::Excluded(p) => Some(p),
                Bound::Unbounded => None,
            })
            .collect();
        points.sort();
        points.dedup();
        return Ok((points, Partitioning::Source));
    }
    Ok((
        sampled_split_points(source, scope, read_time, want).await?,
        Partitioning::Sampled,
    ))
}

/// Plans a distributed backup of `opts.backup.scope` from `source` into `repo`: one read
/// time, a new data key, the split into `opts.task_count` tasks. Nothing is a backup until
/// [`commit_backup`]; a failed plan leaves nothing behind (best effort).
pub async fn plan_backup(
    source: Arc<dyn FirestoreSource>,
    repo: &Repository,
    keys: &dyn KeyProvider,
    opts: &PlanOptions,
) -> Result<PlanReport> {
    opts.backup.validate()?;
    if !(1..=MAX_TASKS).contains(&opts.task_count) {
        return Err(Error::InvalidConfig(format!(
            "task count {} is out of range: choose 1 ..= {MAX_TASKS}",
            opts.task_count
        )));
    }
    if !(1..=64).contains(&opts.partitions_per_task) {
        return Err(Error::InvalidConfig(format!(
            "partitions per task {} is out of range: choose 1 ..= 64",
            opts.partitions_per_task
        )));
    }
    let created_at = Timestamp::now();
    let id = new_backup_id(created_at);
    let read_time = match opts.backup.read_time {
        Some(t) => t,
        None => source.snapshot_time().await?,
    };
    let want = opts.task_count * opts.partitions_per_task;
    let (points, partitioning) =
        split_points(source.as_ref(), &opts.backup.scope, read_time, want).await?;

    let ctx = KeyContext {
        backup_id: id.clone(),
    };
    let (dek, wrapped) = keys.generate_data_key(&ctx).await?;
    let key_json = serde_json::to_vec_pretty(&wrapped)
        .map_err(|e| Error::InvalidInput(format!("cannot encode the wrapped key: {e}")))?;
    let database = source.database().clone();
    let plan = BackupPlan {
        plan_version: PLAN_VERSION,
        plan_id: random_hex(16),
        backup_id: id.clone(),
        created_at: created_at.to_rfc3339(),
        read_time: read_time.to_rfc3339(),
        project: database.project.clone(),
        database: database.database.clone(),
        scope: opts.backup.scope.clone(),
        task_count: opts.task_count,
        split_points: points.iter().map(ToString::to_string).collect(),
        partitioning,
        part_target_bytes: opts.backup.part_target_bytes,
        segment_size: opts.backup.segment_size,
        zstd_level: opts.backup.zstd_level,
        labels: opts.backup.labels.clone(),
        data_key_id: codec::data_key_id(&dek),
        key_id: wrapped.key_id.clone(),
    };
    let json = serde_json::to_vec(&plan)
        .map_err(|e| Error::InvalidInput(format!("cannot encode the plan: {e}")))?;
    let sealed = codec::seal_object(&dek, &id, PLAN, plan.segment_size, &json)?;
    let written = async {
        repo.sink()
            .put_if_absent(&repo.object_path(&id, KEY), Bytes::from(key_json))
            .await?;
        repo.sink()
            .put_if_absent(&repo.object_path(&id, PLAN), Bytes::from(sealed))
            .await
    }
    .await;
    if let Err(e) = written {
        super::backup::cleanup(repo, &id).await;
        return Err(e);
    }
    Ok(PlanReport {
        backup_id: id,
        task_count: opts.task_count,
        partitions: points.len() + 1,
        partitioning,
        read_time,
        project: database.project,
        database: database.database,
        key_id: wrapped.key_id,
    })
}

/// Opens a backup's data key and plan; refuses a plan that does not authenticate under the
/// key (another key: `KeyMismatch`) or names another backup.
pub(crate) async fn open_plan(
    repo: &Repository,
    keys: &dyn KeyProvider,
    backup_id: &str,
) -> Result<(SecretBytes, BackupPlan)> {
    super::repo::validate_backup_id(backup_id)?;
    let sealed = repo
        .sink()
        .get_bounded(&repo.object_path(backup_id, PLAN), MAX_DIST_OBJECT_BYTES)
        .await
        .map_err(|e| match e {
            Error::NotFound(_) => Error::NotFound(format!(
                "backup {backup_id} has no plan in {}: plan it first (`backup --plan`), and \
                 give its tasks the id it prints",
                repo.describe()
            )),
            other => other,
        })?;
    let (_, dek) = repo.read_key(backup_id, keys).await?;
    let plain = codec::open_object(&dek, backup_id, PLAN, &sealed)
        .map_err(|e| name_object(e, backup_id, PLAN))?;
    let plan: BackupPlan = serde_json::from_slice(&plain).map_err(|e| {
        Error::integrity(
            format!("backup {backup_id} plan"),
            format!("not a plan this version of firekeep reads: {e}"),
        )
    })?;
    if plan.plan_version > PLAN_VERSION {
        return Err(Error::InvalidInput(format!(
            "backup {backup_id} was planned by a newer firekeep (plan version {}); upgrade \
             firekeep on every task",
            plan.plan_version
        )));
    }
    if plan.backup_id != backup_id || !(1..=MAX_TASKS).contains(&plan.task_count) {
        return Err(Error::integrity(
            format!("backup {backup_id} plan"),
            format!(
                "the plan names backup {} with {} tasks",
                plan.backup_id, plan.task_count
            ),
        ));
    }
    Ok((dek, plan))
}

/// Opens backup `backup_id`'s plan (its key and the sealed plan; no document is read).
pub async fn read_plan(
    repo: &Repository,
    keys: &dyn KeyProvider,
    backup_id: &str,
) -> Result<BackupPlan> {
    Ok(open_plan(repo, keys, backup_id).await?.1)
}

/// Reads and authenticates task `index`'s result; `None` if there is none yet.
async fn read_task_result(
    repo: &Repository,
    dek: &SecretBytes,
    plan: &BackupPlan,
    index: usize,
) -> Result<Option<TaskResult>> {
    let object = task_object(index);
    let id = &plan.backup_id;
    let sealed = match repo
        .sink()
        .get_bounded(&repo.object_path(id, &object), MAX_DIST_OBJECT_BYTES)
        .await
    {
        Ok(b) => b,
        Err(Error::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let plain =
        codec::open_object(dek, id, &object, &sealed).map_err(|e| name_object(e, id, &object))?;
    let result: TaskResult = serde_json::from_slice(&plain).map_err(|e| {
        Error::integrity(
            format!("backup {id} object {object}"),
            format!("not a task result this version of firekeep reads: {e}"),
        )
    })?;
    if result.backup_id != *id
        || result.plan_id != plan.plan_id
        || result.task_index != index
        || result.task_count != plan.task_count
    {
        return Err(Error::integrity(
            format!("backup {id} object {object}"),
            format!(
                "the result is task {} of {} for plan {} of backup {}, not task {index} of {} \
                 for this plan ({}); it was made for another plan: delete it and run task \
                 {index} again",
                result.task_index,
                result.task_count,
                result.plan_id,
                result.backup_id,
                plan.task_count,
                plan.plan_id
            ),
        ));
    }
    Ok(Some(result))
}

/// Deletes every object under `prefix` in a backup folder (best effort).
async fn delete_prefix(repo: &Repository, id: &str, prefix: &str) {
    let path = repo.object_path(id, prefix);
    let Ok(objects) = repo.sink().list(&path).try_collect::<Vec<_>>().await else {
        return;
    };
    for meta in objects {
        let _ = repo.sink().delete(&meta.path).await;
    }
}

/// Runs task `index` of the distributed backup `backup_id`: reads its share of the plan's
/// partitions from `source` at the plan's read time and records its result. `count`, when
/// given (the job engine's task count), must equal the plan's.
///
/// Idempotent for retries: an existing result (or a committed backup) makes it return
/// without work; a run that loses the race to write the result deletes its own parts.
#[allow(clippy::too_many_arguments)]
pub async fn run_backup_task(
    source: Arc<dyn FirestoreSource>,
    repo: &Repository,
    keys: &dyn KeyProvider,
    backup_id: &str,
    index: usize,
    count: Option<usize>,
    opts: &TaskOptions,
    progress: Option<ProgressFn>,
    cancel: &CancellationToken,
) -> Result<TaskReport> {
    cancel.check()?;
    let mut tracker = Tracker::new(progress, Phase::Preparing);
    tracker.emit_now();
    let (dek, plan) = open_plan(repo, keys, backup_id).await?;
    check_task_index(index, count, plan.task_count)?;
    let db = source.database();
    if db.project != plan.project || db.database != plan.database {
        return Err(Error::InvalidInput(format!(
            "backup {backup_id} was planned on project {} database {}, but this task reads \
             project {} database {}; give every task the plan's database",
            plan.project, plan.database, db.project, db.database
        )));
    }
    let ranges = plan.task_ranges(index)?;
    let report = |outcome, result: &TaskResult, tracker: &Tracker| TaskReport {
        backup_id: backup_id.to_string(),
        task_index: index,
        task_count: plan.task_count,
        outcome,
        partitions: ranges.len(),
        documents: result.totals.documents,
        bytes: result.totals.bytes,
        stored_bytes: result.totals.stored_bytes,
        parts: result.parts.len(),
        duration: tracker.elapsed(),
    };
    let empty = |attempt: &str| TaskResult {
        result_version: PLAN_VERSION,
        backup_id: backup_id.to_string(),
        plan_id: plan.plan_id.clone(),
        task_index: index,
        task_count: plan.task_count,
        attempt: attempt.to_string(),
        completed_at: Timestamp::now().to_rfc3339(),
        totals: Totals::default(),
        parts: Vec::new(),
    };
    if repo
        .sink()
        .head(&repo.object_path(backup_id, MANIFEST))
        .await
        .is_ok()
    {
        return Ok(report(TaskOutcome::AlreadyCommitted, &empty(""), &tracker));
    }
    if let Some(done) = read_task_result(repo, &dek, &plan, index).await? {
        return Ok(report(TaskOutcome::AlreadyCompleted, &done, &tracker));
    }

    let attempt = random_hex(4);
    let prefix = format!("parts/t{index:05}-{attempt}-");
    let read_time = plan.read_time()?;
    let options = plan.backup_options(opts.parallelism, opts.upload_concurrency);
    let dek = Arc::new(dek);
    tracker.set_phase(Phase::Backup);
    let written = if ranges.is_empty() {
        Ok(WrittenParts {
            parts: Vec::new(),
            totals: Totals::default(),
        })
    } else {
        write_parts(
            source.as_ref(),
            repo,
            backup_id,
            ranges.clone(),
            read_time,
            &dek,
            &options,
            &prefix,
            &mut tracker,
            cancel,
        )
        .await
    };
    let written = match written {
        Ok(w) => w,
        Err(e) => {
            delete_prefix(repo, backup_id, &prefix).await;
            return Err(e);
        }
    };
    tracker.set_phase(Phase::Finishing);
    let result = TaskResult {
        totals: written.totals,
        parts: written.parts.into_iter().map(|(_, e)| e).collect(),
        ..empty(&attempt)
    };
    let object = task_object(index);
    let stored = async {
        let json = serde_json::to_vec(&result)
            .map_err(|e| Error::InvalidInput(format!("cannot encode the task result: {e}")))?;
        let sealed = codec::seal_object(&dek, backup_id, &object, plan.segment_size, &json)?;
        repo.sink()
            .put_if_absent(&repo.object_path(backup_id, &object), Bytes::from(sealed))
            .await
    }
    .await;
    match stored {
        Ok(()) => {
            tracker.set_phase(Phase::Done);
            Ok(report(TaskOutcome::Completed, &result, &tracker))
        }
        Err(Error::AlreadyExists(_)) => {
            // Another attempt of this task finished first: its result stands, ours goes.
            delete_prefix(repo, backup_id, &prefix).await;
            let done = read_task_result(repo, &dek, &plan, index)
                .await?
                .ok_or_else(|| {
                    Error::NotFound(format!("task {index}'s result vanished while writing it"))
                })?;
            Ok(report(TaskOutcome::AlreadyCompleted, &done, &tracker))
        }
        Err(e) => {
            delete_prefix(repo, backup_id, &prefix).await;
            Err(e)
        }
    }
}

/// Commits the distributed backup `backup_id`: every task result must be present and belong
/// to this plan; their parts (each checked present at its recorded size) are merged into the
/// ordinary manifest, written last with put-if-absent. Missing tasks are named in the error
/// and no manifest is written. Parts left by failed attempts are deleted afterwards.
///
/// Committing a committed backup returns its report again (job engines retry).
pub async fn commit_backup(
    repo: &Repository,
    keys: &dyn KeyProvider,
    backup_id: &str,
    cancel: &CancellationToken,
) -> Result<BackupReport> {
    cancel.check()?;
    let started = std::time::Instant::now();
    let (dek, plan) = open_plan(repo, keys, backup_id).await?;
    if repo
        .sink()
        .head(&repo.object_path(backup_id, MANIFEST))
        .await
        .is_ok()
    {
        let opened = repo.open_backup(backup_id, keys).await?;
        return report_from_manifest(repo, &opened.manifest, opened.manifest_size, started);
    }
    let mut results = Vec::with_capacity(plan.task_count);
    let mut missing = Vec::new();
    for index in 0..plan.task_count {
        cancel.check()?;
        match read_task_result(repo, &dek, &plan, index).await? {
            Some(r) => results.push(r),
            None => missing.push(index),
        }
    }
    if !missing.is_empty() {
        let list: Vec<String> = missing.iter().map(ToString::to_string).collect();
        return Err(Error::NotFound(format!(
            "backup {backup_id} cannot be committed: task(s) {} of {} have no result yet; run \
             them (`backup --task --backup-id {backup_id} --task-index I --task-count {}`) and \
             commit again",
            list.join(", "),
            plan.task_count,
            plan.task_count
        )));
    }

    let mut totals = Totals::default();
    let mut parts: Vec<(DocumentPath, PartEntry)> = Vec::new();
    for r in results {
        totals.documents += r.totals.documents;
        totals.bytes += r.totals.bytes;
        totals.stored_bytes += r.totals.stored_bytes;
        for (c, t) in r.totals.collections {
            let e = totals.collections.entry(c).or_default();
            e.documents += t.documents;
            e.bytes += t.bytes;
        }
        for p in r.parts {
            parts.push((DocumentPath::parse(&p.first)?, p));
        }
    }
    sort_disjoint(&mut parts)?;

    // Every listed part must be there at its size before the backup may exist.
    let sink = repo.sink().clone();
    let wanted: Vec<(String, String, u64)> = parts
        .iter()
        .map(|(_, p)| {
            (
                repo.object_path(backup_id, &p.object),
                p.object.clone(),
                p.size,
            )
        })
        .collect();
    let mut checks = futures::stream::iter(wanted.into_iter().map(|(path, object, size)| {
        let sink = sink.clone();
        async move {
            let meta = sink.head(&path).await.map_err(|e| match e {
                Error::NotFound(_) => Error::integrity(
                    format!("backup {backup_id} part {object}"),
                    "a task result lists it but it is missing; delete that task's result and \
                     run the task again",
                ),
                other => other,
            })?;
            if meta.size != size {
                return Err(Error::integrity(
                    format!("backup {backup_id} part {object}"),
                    format!(
                        "stored object is {} bytes, its task recorded {size}",
                        meta.size
                    ),
                ));
            }
            Ok(())
        }
    }))
    .buffer_unordered(16);
    while let Some(r) = checks.next().await {
        r?;
        cancel.check()?;
    }
    drop(checks);

    let manifest = Manifest {
        manifest_version: super::MANIFEST_VERSION,
        engine_version: super::ENGINE_VERSION.to_string(),
        backup_id: backup_id.to_string(),
        started_at: plan.created_at.clone(),
        completed_at: Timestamp::now().to_rfc3339(),
        read_time: plan.read_time.clone(),
        project: plan.project.clone(),
        database: plan.database.clone(),
        scope: plan.scope.clone(),
        data_key_id: codec::data_key_id(&dek),
        key_id: plan.key_id.clone(),
        zstd_level: plan.zstd_level,
        segment_size: plan.segment_size,
        labels: plan.labels.clone(),
        totals,
        parts: parts.into_iter().map(|(_, e)| e).collect(),
        generation: 1,
        erasures: Vec::new(),
    };
    cancel.check()?;
    let manifest_size =
        super::backup::put_manifest(repo, &dek, backup_id, plan.segment_size, &manifest).await?;

    // Parts of attempts that lost or were killed: garbage now that the manifest names the
    // ones that count.
    let listed: BTreeSet<&str> = manifest.parts.iter().map(|p| p.object.as_str()).collect();
    let parts_dir = repo.object_path(backup_id, "parts/");
    let dir = repo.backup_dir(backup_id);
    if let Ok(objects) = repo.sink().list(&parts_dir).try_collect::<Vec<_>>().await {
        for meta in objects {
            let name = meta.path.strip_prefix(&dir).unwrap_or(&meta.path);
            if !listed.contains(name) {
                let _ = repo.sink().delete(&meta.path).await;
            }
        }
    }
    let mut report = report_from_manifest(repo, &manifest, manifest_size, started)?;
    match super::head::update(repo, keys, &[backup_id.to_string()], &[]).await {
        Ok(g) => report.head_generation = Some(g),
        Err(e) => report.head_error = Some(e.to_string()),
    }
    Ok(report)
}

fn report_from_manifest(
    repo: &Repository,
    m: &Manifest,
    manifest_size: u64,
    started: std::time::Instant,
) -> Result<BackupReport> {
    Ok(BackupReport {
        backup_id: m.backup_id.clone(),
        read_time: m.read_time()?,
        started_at: Timestamp::parse_rfc3339(&m.started_at)?,
        duration: started.elapsed(),
        project: m.project.clone(),
        database: m.database.clone(),
        documents: m.totals.documents,
        bytes: m.totals.bytes,
        stored_bytes: m.totals.stored_bytes + manifest_size,
        parts: m.parts.len(),
        collections: m.totals.collections.clone(),
        key_id: m.key_id.clone(),
        repository: repo.describe(),
        head_generation: None,
        head_error: None,
    })
}
