//! `backup`: one read time, documents batched into parts, parts encoded and sealed on worker
//! threads while reading continues, uploaded, then the manifest last with put-if-absent.

use super::codec;
use super::manifest::{CollectionTotals, Manifest, PartEntry, Totals};
use super::pool::{Pool, default_parallelism};
use super::progress::{CancellationToken, Phase, ProgressFn, Tracker};
use super::repo::{KEY, MANIFEST, Repository, new_backup_id};
use crate::keys::{KeyContext, KeyProvider};
use crate::model::{DocumentPath, Timestamp};
use crate::secret::SecretBytes;
use crate::source::{FirestoreSource, NameRange, Scope, SourceDocument};
use crate::{Error, Result};
use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// Default uncompressed size of a part (NDJSON before zstd). Peak memory is about one batch
/// filling per read stream plus `parallelism + 1` being sealed, each holding its documents
/// at 2–3x their JSON size: 4 MiB keeps a backup on 2 cores under 100 MiB of RSS (8 MiB took
/// 135 MiB, at the same speed; `scripts/bench-read-path.sh`). With many read streams parts
/// are smaller, see [`READ_BUFFER_BYTES`].
pub const DEFAULT_PART_TARGET_BYTES: usize = 4 * 1024 * 1024;
/// Default [`BackupOptions::read_streams`]: partitions read at once. A Firestore query
/// stream delivers documents at a bounded rate whatever the client does, so a backup is as
/// fast as the streams it keeps open, not as the cores it has; 16 streams of one HTTP/2
/// connection stay far below the 100 concurrent streams a Google frontend allows.
pub const DEFAULT_READ_STREAMS: usize = 16;
/// Largest [`BackupOptions::read_streams`] accepted.
pub const MAX_READ_STREAMS: usize = 256;
/// Uncompressed bytes of the parts being filled, summed over all read streams: with more
/// streams than `READ_BUFFER_BYTES / part_target_bytes`, each stream's parts are that
/// share of it (at least [`MIN_STREAM_PART_BYTES`]), so memory does not grow with the
/// stream count (16 streams: parts of 1 MiB).
pub const READ_BUFFER_BYTES: usize = 16 * 1024 * 1024;
/// Smallest part size a stream's share of [`READ_BUFFER_BYTES`] goes down to (unless
/// `part_target_bytes` is smaller still): its share at [`MAX_READ_STREAMS`], so the bound
/// holds for every stream count.
pub const MIN_STREAM_PART_BYTES: usize = READ_BUFFER_BYTES / MAX_READ_STREAMS;
const _: () = assert!(MAX_READ_STREAMS * MIN_STREAM_PART_BYTES <= READ_BUFFER_BYTES);
/// Default ciphertext segment size of sealed objects (1 MiB, Tink's default).
pub const DEFAULT_SEGMENT_SIZE: u32 = 1 << 20;

/// How to take a backup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupOptions {
    /// Which documents (default: the whole database with subcollections).
    pub scope: Scope,
    /// Read time of the snapshot; `None` takes the source's current snapshot time. A past
    /// time gives a point-in-time backup (Firestore: within 1 hour, or whole minutes within
    /// 7 days with PITR enabled).
    pub read_time: Option<Timestamp>,
    /// Target uncompressed size of one part, in bytes (default 4 MiB). A part holds at least
    /// one document, so a part can exceed it by one document.
    pub part_target_bytes: usize,
    /// Ciphertext segment size of every sealed object (default 1 MiB; 4 KiB ..= 8 MiB).
    pub segment_size: u32,
    /// Zstd compression level (default 3; 1 ..= 19).
    pub zstd_level: i32,
    /// Worker threads for encoding and sealing; 0 means one per core.
    pub parallelism: usize,
    /// Partitions of the database read at once, each as one query stream (PartitionQuery
    /// asks for this many); 0 means [`DEFAULT_READ_STREAMS`], at most
    /// [`MAX_READ_STREAMS`]. Independent of `parallelism`: reading waits on the network,
    /// encoding and sealing on the CPU. Sources that cannot partition are read as one
    /// stream.
    pub read_streams: usize,
    /// Uploads in flight at once (default 4).
    pub upload_concurrency: usize,
    /// Free-form labels recorded in the manifest (e.g. `schedule=nightly`). Encrypted.
    pub labels: BTreeMap<String, String>,
}

impl Default for BackupOptions {
    fn default() -> Self {
        BackupOptions {
            scope: Scope::database(),
            read_time: None,
            part_target_bytes: DEFAULT_PART_TARGET_BYTES,
            segment_size: DEFAULT_SEGMENT_SIZE,
            zstd_level: 3,
            parallelism: 0,
            read_streams: 0,
            upload_concurrency: 4,
            labels: BTreeMap::new(),
        }
    }
}

impl BackupOptions {
    /// Checks every option is in range (`InvalidConfig` naming the option otherwise); a
    /// backup does it first, and front ends may call it before connecting to anything.
    pub fn validate(&self) -> Result<()> {
        if self.part_target_bytes < 1024 || self.part_target_bytes > 256 * 1024 * 1024 {
            return Err(Error::InvalidConfig(format!(
                "part_target_bytes {} is out of range: choose 1 KiB ..= 256 MiB",
                self.part_target_bytes
            )));
        }
        if !(4096..=8 * 1024 * 1024).contains(&self.segment_size) {
            return Err(Error::InvalidConfig(format!(
                "segment_size {} is out of range: choose 4 KiB ..= 8 MiB",
                self.segment_size
            )));
        }
        if !(1..=19).contains(&self.zstd_level) {
            return Err(Error::InvalidConfig(format!(
                "zstd_level {} is out of range: choose 1 ..= 19",
                self.zstd_level
            )));
        }
        if self.read_streams > MAX_READ_STREAMS {
            return Err(Error::InvalidConfig(format!(
                "read_streams {} is out of range: choose 1 ..= {MAX_READ_STREAMS}, or 0 for \
                 the default ({DEFAULT_READ_STREAMS})",
                self.read_streams
            )));
        }
        Ok(())
    }

    /// The number of partitions read at once (`read_streams`, 0 resolved to the default).
    pub fn effective_read_streams(&self) -> usize {
        match self.read_streams {
            0 => DEFAULT_READ_STREAMS,
            n => n,
        }
    }
}

/// The part size of each of `streams` streams read at once: `part_target` while the parts
/// being filled fit [`READ_BUFFER_BYTES`] together, else an equal share of it (not below
/// [`MIN_STREAM_PART_BYTES`]).
pub(crate) fn stream_part_target(part_target: usize, streams: usize) -> usize {
    let share = (READ_BUFFER_BYTES / streams.max(1)).max(MIN_STREAM_PART_BYTES);
    part_target.min(share)
}

/// What a backup did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct BackupReport {
    /// The new backup's id.
    pub backup_id: String,
    /// The read time every document was read at.
    #[serde(serialize_with = "super::ser_ts")]
    pub read_time: Timestamp,
    /// When the backup started.
    #[serde(serialize_with = "super::ser_ts")]
    pub started_at: Timestamp,
    /// How long it took.
    pub duration: Duration,
    /// Source project id.
    pub project: String,
    /// Source database id.
    pub database: String,
    /// Documents backed up.
    pub documents: u64,
    /// Uncompressed bytes.
    pub bytes: u64,
    /// Stored bytes (parts and manifest).
    pub stored_bytes: u64,
    /// Number of parts.
    pub parts: usize,
    /// Documents and bytes per top-level collection.
    pub collections: BTreeMap<String, CollectionTotals>,
    /// Provider key id the data key is wrapped under.
    pub key_id: String,
    /// Where it was stored.
    pub repository: String,
    /// Generation of the repository head record that names this backup (see
    /// [`super::RollbackCheck`]); `None` if it could not be written (then
    /// `head_error` says why; the backup itself is complete).
    pub head_generation: Option<u64>,
    /// Why the head record could not be written, if it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head_error: Option<String>,
}

/// Documents on their way to a worker.
struct Batch {
    seq: u32,
    docs: Vec<SourceDocument>,
    /// Estimated NDJSON size, to size the encoding buffer once.
    size_hint: usize,
}

/// A part ready to upload.
struct SealedPart {
    entry: PartEntry,
    first_path: DocumentPath,
    collections: BTreeMap<String, CollectionTotals>,
    data: Bytes,
    /// The documents, handed back so they are freed on the thread that allocated them
    /// (cross-thread frees are slow with the system allocator).
    docs: Vec<SourceDocument>,
}

/// Takes a backup of `opts.scope` from `source` into `repo`, its data key wrapped by `keys`.
///
/// On any failure or cancellation no manifest is written and the objects written so far
/// are deleted (best effort; `prune` removes what a crash leaves behind).
pub async fn backup(
    source: Arc<dyn FirestoreSource>,
    repo: &Repository,
    keys: &dyn KeyProvider,
    opts: &BackupOptions,
    progress: Option<ProgressFn>,
    cancel: &CancellationToken,
) -> Result<BackupReport> {
    opts.validate()?;
    cancel.check()?;
    let mut tracker = Tracker::new(progress, Phase::Preparing);
    tracker.emit_now();
    let started_at = Timestamp::now();
    let id = new_backup_id(started_at);
    let read_time = match opts.read_time {
        Some(t) => t,
        None => source.snapshot_time().await?,
    };
    let ctx = KeyContext {
        backup_id: id.clone(),
    };
    let (dek, wrapped) = keys.generate_data_key(&ctx).await?;
    let key_json = serde_json::to_vec_pretty(&wrapped)
        .map_err(|e| Error::InvalidInput(format!("cannot encode the wrapped key: {e}")))?;
    repo.sink()
        .put_if_absent(&repo.object_path(&id, KEY), Bytes::from(key_json))
        .await?;

    let result = run(
        source.as_ref(),
        repo,
        &id,
        read_time,
        started_at,
        dek,
        &wrapped.key_id,
        opts,
        &mut tracker,
        cancel,
    )
    .await;
    match result {
        Ok(mut report) => {
            // The backup exists from its manifest on; recording it in the head is what
            // makes its later deletion detectable. A failure here leaves a complete backup
            // that the next head record will include (it names the newest backups that
            // authenticate), so it is reported rather than undoing the backup.
            match super::head::update(repo, keys, std::slice::from_ref(&id), &[]).await {
                Ok(g) => report.head_generation = Some(g),
                Err(e) => report.head_error = Some(e.to_string()),
            }
            Ok(report)
        }
        Err(e) => {
            cleanup(repo, &id).await;
            Err(e)
        }
    }
}

/// Deletes every object of an unfinished backup. Best effort: errors are ignored because
/// the original error matters more, and `prune` removes leftovers.
pub(crate) async fn cleanup(repo: &Repository, id: &str) {
    let prefix = repo.backup_dir(id);
    let Ok(objects) = repo.sink().list(&prefix).try_collect::<Vec<_>>().await else {
        return;
    };
    for meta in objects {
        let _ = repo.sink().delete(&meta.path).await;
    }
}

#[allow(clippy::too_many_arguments)]
async fn run(
    source: &dyn FirestoreSource,
    repo: &Repository,
    id: &str,
    read_time: Timestamp,
    started_at: Timestamp,
    dek: SecretBytes,
    key_id: &str,
    opts: &BackupOptions,
    tracker: &mut Tracker,
    cancel: &CancellationToken,
) -> Result<BackupReport> {
    let streams = opts.effective_read_streams();
    let dek = Arc::new(dek);
    let scope = &opts.scope;

    // Both wait on the network; neither needs the other. The count is an estimate for
    // progress only: a failure to count must not fail the backup.
    let (count, ranges) = futures::join!(source.count_documents(scope, read_time), async {
        if streams > 1 {
            source.partition(scope, read_time, streams).await
        } else {
            Ok(Vec::new())
        }
    });
    tracker.total_documents = count.ok().flatten();
    let mut ranges = ranges?;
    if ranges.is_empty() {
        ranges.push(NameRange::all());
    }
    // Every range is read at once: their parts being filled share one memory budget.
    let read_opts = BackupOptions {
        part_target_bytes: stream_part_target(opts.part_target_bytes, ranges.len()),
        ..opts.clone()
    };
    let written = write_parts(
        source, repo, id, ranges, read_time, &dek, &read_opts, "parts/", tracker, cancel,
    )
    .await?;
    let (parts, totals) = (written.parts, written.totals);
    let level = opts.zstd_level;
    let segment_size = opts.segment_size;

    cancel.check()?;
    tracker.set_phase(Phase::Finishing);
    let database = source.database();
    let manifest = Manifest {
        manifest_version: super::MANIFEST_VERSION,
        engine_version: super::ENGINE_VERSION.to_string(),
        backup_id: id.to_string(),
        started_at: started_at.to_rfc3339(),
        completed_at: Timestamp::now().to_rfc3339(),
        read_time: read_time.to_rfc3339(),
        project: database.project.clone(),
        database: database.database.clone(),
        scope: scope.clone(),
        data_key_id: codec::data_key_id(&dek),
        key_id: key_id.to_string(),
        zstd_level: level,
        segment_size,
        labels: opts.labels.clone(),
        totals: totals.clone(),
        parts: parts.into_iter().map(|(_, e)| e).collect(),
        generation: 1,
        erasures: Vec::new(),
    };
    let manifest_size = put_manifest(repo, &dek, id, segment_size, &manifest).await?;
    tracker.set_phase(Phase::Done);

    Ok(BackupReport {
        backup_id: id.to_string(),
        read_time,
        started_at,
        duration: tracker.elapsed(),
        project: database.project.clone(),
        database: database.database.clone(),
        documents: totals.documents,
        bytes: totals.bytes,
        stored_bytes: totals.stored_bytes + manifest_size,
        parts: manifest.parts.len(),
        collections: totals.collections,
        key_id: key_id.to_string(),
        repository: repo.describe(),
        head_generation: None,
        head_error: None,
    })
}

/// Seals `manifest` and writes it with put-if-absent: from here on the backup exists.
/// Returns its stored size.
pub(crate) async fn put_manifest(
    repo: &Repository,
    dek: &SecretBytes,
    id: &str,
    segment_size: u32,
    manifest: &Manifest,
) -> Result<u64> {
    let json = serde_json::to_vec(manifest)
        .map_err(|e| Error::InvalidInput(format!("cannot encode the manifest: {e}")))?;
    let sealed = codec::seal_object(dek, id, MANIFEST, segment_size, &json)?;
    let size = sealed.len() as u64;
    repo.sink()
        .put_if_absent(&repo.object_path(id, MANIFEST), Bytes::from(sealed))
        .await?;
    Ok(size)
}

/// Parts written by [`write_parts`]: entries in name order (checked disjoint) and totals.
pub(crate) struct WrittenParts {
    pub parts: Vec<(DocumentPath, PartEntry)>,
    pub totals: Totals,
}

/// Reads `ranges` of `opts.scope` at `read_time` (all at once), seals the documents into
/// parts named `<part_prefix><seq>.fkp` under backup `id` and uploads them. Shared by the
/// one-process backup and a distributed backup's tasks.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn write_parts(
    source: &dyn FirestoreSource,
    repo: &Repository,
    id: &str,
    ranges: Vec<NameRange>,
    read_time: Timestamp,
    dek: &Arc<SecretBytes>,
    opts: &BackupOptions,
    part_prefix: &str,
    tracker: &mut Tracker,
    cancel: &CancellationToken,
) -> Result<WrittenParts> {
    let parallelism = if opts.parallelism == 0 {
        default_parallelism()
    } else {
        opts.parallelism
    };
    let pool = Pool::new(parallelism, "backup")?;
    let scope = &opts.scope;
    let part_prefix: Arc<str> = Arc::from(part_prefix);

    tracker.set_phase(Phase::Backup);

    let seq = Arc::new(AtomicU32::new(0));
    let batch_streams: Vec<BoxStream<'static, Result<Batch>>> = ranges
        .into_iter()
        .map(|range| {
            batches(
                source.stream_source_documents(scope, range, read_time),
                opts.part_target_bytes,
                seq.clone(),
                cancel.clone(),
            )
        })
        .collect();
    let batches = stream::select_all(batch_streams);

    let level = opts.zstd_level;
    let segment_size = opts.segment_size;
    // `projects/p/databases/d/documents/`: every document name starts with it.
    let root = format!("{}/", source.database().documents_root());
    let sealed = batches
        .map(|batch| {
            let dek = dek.clone();
            let id = id.to_string();
            let root = root.clone();
            let prefix = part_prefix.clone();
            let job = batch.map(|b| {
                pool.run(move || seal_part(b, &root, &prefix, &id, &dek, level, segment_size))
            });
            async move { job?.await }
        })
        .buffer_unordered(parallelism + 1);

    let sink = repo.sink().clone();
    let uploads = sealed
        .map(|part| {
            let sink = sink.clone();
            async move {
                let mut part = part?;
                // Free the documents here, on the task that read (allocated) them.
                drop(std::mem::take(&mut part.docs));
                cancel.check()?;
                sink.put(&repo.object_path(id, &part.entry.object), part.data.clone())
                    .await?;
                Ok::<_, Error>(part)
            }
        })
        .buffer_unordered(opts.upload_concurrency.max(1));

    let mut parts: Vec<(DocumentPath, PartEntry)> = Vec::new();
    let mut totals = Totals::default();
    let mut uploads = std::pin::pin!(uploads);
    while let Some(part) = uploads.next().await {
        let part = part?;
        totals.documents += part.entry.documents;
        totals.bytes += part.entry.plain_bytes;
        totals.stored_bytes += part.entry.size;
        for (c, t) in part.collections {
            let e = totals.collections.entry(c).or_default();
            e.documents += t.documents;
            e.bytes += t.bytes;
        }
        tracker.documents = totals.documents;
        tracker.bytes = totals.stored_bytes;
        tracker.parts += 1;
        // One event per stored part: parts are coarse (MiBs), so this is not chatty.
        tracker.emit_now();
        parts.push((part.first_path, part.entry));
    }

    sort_disjoint(&mut parts)?;
    Ok(WrittenParts { parts, totals })
}

/// Puts parts in name order (parallel partitions finish in any order; the manifest lists
/// parts in name order) and checks that their document ranges do not overlap.
pub(crate) fn sort_disjoint(parts: &mut [(DocumentPath, PartEntry)]) -> Result<()> {
    parts.sort_by(|a, b| a.0.cmp(&b.0));
    for w in parts.windows(2) {
        let last = DocumentPath::parse(&w[0].1.last)?;
        if last >= w[1].0 {
            return Err(Error::Firestore {
                code: "INTERNAL".into(),
                message: format!(
                    "the source returned overlapping or unordered document ranges ({} .. {} and {} ..); \
                     the backup was discarded",
                    w[0].1.first, w[0].1.last, w[1].1.first
                ),
            });
        }
    }
    Ok(())
}

/// Groups a document stream into batches of about `target` uncompressed bytes.
fn batches(
    docs: BoxStream<'static, Result<SourceDocument>>,
    target: usize,
    seq: Arc<AtomicU32>,
    cancel: CancellationToken,
) -> BoxStream<'static, Result<Batch>> {
    let last_len = Arc::new(std::sync::atomic::AtomicUsize::new(64));
    stream::unfold(Some(docs), move |state| {
        let seq = seq.clone();
        let cancel = cancel.clone();
        let last_len = last_len.clone();
        async move {
            let mut docs = state?;
            // Sized like the previous batch: growing a large Vec by doubling makes the
            // allocator consolidate, which shows up on the reading thread.
            let mut batch = Vec::with_capacity(last_len.load(Ordering::Relaxed));
            let mut size = 0usize;
            loop {
                if let Err(e) = cancel.check() {
                    return Some((Err(e), None));
                }
                match docs.next().await {
                    Some(Ok(doc)) => {
                        size += codec::estimate_source_size(&doc);
                        batch.push(doc);
                        if size >= target {
                            let seq = seq.fetch_add(1, Ordering::Relaxed);
                            last_len.store(batch.len() + batch.len() / 8, Ordering::Relaxed);
                            return Some((
                                Ok(Batch {
                                    seq,
                                    docs: batch,
                                    size_hint: size,
                                }),
                                Some(docs),
                            ));
                        }
                    }
                    Some(Err(e)) => return Some((Err(e), None)),
                    None if batch.is_empty() => return None,
                    None => {
                        let seq = seq.fetch_add(1, Ordering::Relaxed);
                        return Some((
                            Ok(Batch {
                                seq,
                                docs: batch,
                                size_hint: size,
                            }),
                            None,
                        ));
                    }
                }
            }
        }
    })
    .boxed()
}

/// The object name of part `seq` under `prefix` (`parts/` for a one-process backup).
pub(crate) fn part_object(prefix: &str, seq: u32) -> String {
    format!("{prefix}{seq:08}.fkp")
}

/// Encodes, compresses and seals one batch (on a worker thread).
fn seal_part(
    batch: Batch,
    root: &str,
    prefix: &str,
    id: &str,
    dek: &SecretBytes,
    level: i32,
    segment_size: u32,
) -> Result<SealedPart> {
    let object = part_object(prefix, batch.seq);
    let out_of_order = |prev: &str, next: &str| Error::Firestore {
        code: "INTERNAL".into(),
        message: format!(
            "the source returned documents out of order ({prev} then {next}); the backup was \
             discarded"
        ),
    };
    let bad_name = |name: &str| {
        Error::InvalidInput(format!(
            "the source returned a document named {name:?}, which is not a document of the \
             database being backed up"
        ))
    };
    // Order and per-collection totals from the names as strings: no per-document parse.
    let mut prev: Option<&str> = None;
    for doc in &batch.docs {
        let rel = codec::relative_name(doc.name(), root).ok_or_else(|| bad_name(doc.name()))?;
        if let Some(p) = prev {
            if codec::cmp_relative(p, rel) != std::cmp::Ordering::Less {
                return Err(out_of_order(p, rel));
            }
        }
        prev = Some(rel);
    }
    let encoded = codec::encode_batch(&batch.docs, level, batch.size_hint)?;
    let mut collections: BTreeMap<String, CollectionTotals> = BTreeMap::new();
    let mut current: Option<(&str, CollectionTotals)> = None;
    for (doc, size) in batch.docs.iter().zip(&encoded.sizes) {
        let rel = codec::relative_name(doc.name(), root).unwrap_or_default();
        let root = rel.split('/').next().unwrap_or_default();
        match &mut current {
            Some((c, t)) if *c == root => {
                t.documents += 1;
                t.bytes += *size as u64;
            }
            _ => {
                if let Some((c, t)) = current.take() {
                    let e = collections.entry(c.to_string()).or_default();
                    e.documents += t.documents;
                    e.bytes += t.bytes;
                }
                current = Some((
                    root,
                    CollectionTotals {
                        documents: 1,
                        bytes: *size as u64,
                    },
                ));
            }
        }
    }
    if let Some((c, t)) = current {
        let e = collections.entry(c.to_string()).or_default();
        e.documents += t.documents;
        e.bytes += t.bytes;
    }
    let sealed = codec::seal_object(dek, id, &object, segment_size, &encoded.compressed)?;
    let (first, last) = match (batch.docs.first(), batch.docs.last()) {
        (Some(f), Some(l)) => (
            DocumentPath::parse_resource_name(f.name())?.1,
            DocumentPath::parse_resource_name(l.name())?.1,
        ),
        _ => return Err(Error::InvalidInput("internal error: empty part".into())),
    };
    let entry = PartEntry {
        object,
        size: sealed.len() as u64,
        sha256: codec::sha256_hex(&sealed),
        documents: batch.docs.len() as u64,
        plain_bytes: encoded.sizes.iter().map(|s| *s as u64).sum(),
        first: first.to_string(),
        last: last.to_string(),
    };
    Ok(SealedPart {
        entry,
        first_path: first,
        collections,
        data: Bytes::from(sealed),
        docs: batch.docs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_streams_default_and_bounds() {
        let mut o = BackupOptions::default();
        assert_eq!(o.effective_read_streams(), DEFAULT_READ_STREAMS);
        o.read_streams = MAX_READ_STREAMS;
        assert!(o.validate().is_ok());
        assert_eq!(o.effective_read_streams(), MAX_READ_STREAMS);
        o.read_streams = MAX_READ_STREAMS + 1;
        let e = o.validate().unwrap_err().to_string();
        assert!(e.contains("read_streams 257 is out of range"), "{e}");
    }

    #[test]
    fn parts_shrink_so_the_batches_being_filled_share_one_budget() {
        let part = DEFAULT_PART_TARGET_BYTES;
        // Few streams: the part size asked for.
        assert_eq!(stream_part_target(part, 1), part);
        assert_eq!(stream_part_target(part, 4), part);
        // Many: an equal share of the budget, never below the floor.
        assert_eq!(stream_part_target(part, 16), READ_BUFFER_BYTES / 16);
        assert!(16 * stream_part_target(part, 16) <= READ_BUFFER_BYTES);
        assert_eq!(stream_part_target(part, 256), MIN_STREAM_PART_BYTES);
        // A part size below the share is kept.
        assert_eq!(stream_part_target(64 * 1024, 16), 64 * 1024);
    }
}
