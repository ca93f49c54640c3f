//! Erasure (GDPR Art. 17): documents removed from every backup that holds them.
//!
//! Per backup, all or nothing:
//!
//! 1. Open the newest manifest generation `g`; refuse a held backup, and one whose
//!    manifest is older than the generation the head record says an erasure reached.
//! 2. Read only the parts whose authenticated name range can hold a selected document
//!    (every part when matching by field), check each against the manifest, and drop the
//!    selected documents (and, when asked, everything in their subcollections).
//! 3. Seal each changed part again under the backup's data key as a **new** object
//!    `parts/<seq>.g<g+1>-<random>.fkp`; unchanged parts stay byte for byte.
//! 4. Commit generation `g+1` with put-if-absent as `manifests/<g+1>.fkm` — the commit
//!    point, and a compare-and-swap against a concurrent erasure of the same backup.
//!    Readers take the highest stored generation.
//! 5. Rewrite `manifest.fkm` with the same manifest (the old one names parts, and their
//!    first/last paths, of the erased documents), record `g+1` in the repository head
//!    (so putting a pre-erasure manifest back is reported as a rollback), and only then
//!    delete the superseded parts and older generation files.
//! 6. Download every rewritten part again and check that none holds a selected document.
//!
//! A crash before step 4 leaves the backup as it was (plus unlisted new parts, removed by
//! the next run once older than an hour); after step 4 the backup reads as erased, and a
//! re-run with the same request finds nothing left to erase and finishes steps 5 and 6.
//! The manifest records each erasure as keyed hashes of the erased paths (HMAC-SHA256
//! under a key derived from the data key), never the paths in clear.

use super::codec;
use super::hold;
use super::manifest::{ErasureRecord, Manifest, PartEntry};
use super::pool::{Pool, default_parallelism};
use super::progress::CancellationToken;
use super::repo::{MANIFEST, MANIFESTS, Opened, Repository, generation_object};
use super::verify::fetch_parts;
use crate::keys::KeyProvider;
use crate::model::{Document, DocumentPath, Timestamp, Value, json};
use crate::secret::SecretBytes;
use crate::{Error, Result};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

/// Unlisted parts of an attempt that never committed are left this long, in case the
/// attempt is still running.
const STALE_ATTEMPT_GRACE: Duration = Duration::from_secs(3600);

/// Documents whose field equals a value, in every collection with a given id.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldMatch {
    /// Collection id (a collection group: `orders` matches `users/u1/orders/…` too).
    pub collection_group: String,
    /// Field path, dotted for nested maps (`owner.id`).
    pub field: String,
    /// The value the field must equal (same type and value).
    pub value: Value,
}

/// Which documents to erase.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EraseSelector {
    /// Relative document paths (`users/alice`).
    pub paths: Vec<String>,
    /// Documents matched by a field's value.
    pub field_match: Option<FieldMatch>,
    /// Also erase every document in the subcollections of a selected document.
    pub include_subcollections: bool,
}

/// What to erase, and where.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EraseOptions {
    /// The documents.
    pub selector: EraseSelector,
    /// Backups to erase from; empty means every backup the key opens.
    pub backups: Vec<String>,
    /// Only report what would change.
    pub dry_run: bool,
}

/// What an erasure did (or would do) to one backup. Counts only: never the documents.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct BackupErasure {
    /// Backup id.
    pub backup_id: String,
    /// Documents erased (or, in a dry run, that would be).
    pub documents: u64,
    /// Parts downloaded and checked.
    pub parts_read: usize,
    /// Parts rewritten without the documents.
    pub parts_rewritten: usize,
    /// Parts that held only erased documents and were dropped.
    pub parts_dropped: usize,
    /// Parts left as they were (never downloaded when their name range ruled them out).
    pub parts_unchanged: usize,
    /// The backup's manifest generation after the run.
    pub generation: u64,
    /// Superseded objects deleted (this run's, or a crashed run's leftovers).
    pub objects_deleted: usize,
}

/// What an erasure did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct EraseReport {
    /// Whether this was a dry run (nothing written).
    pub dry_run: bool,
    /// Every backup looked at, oldest first.
    pub backups: Vec<BackupErasure>,
    /// Documents erased over all backups.
    pub documents: u64,
    /// How long it took.
    pub duration: Duration,
}

impl EraseSelector {
    fn validate(&self) -> Result<Vec<DocumentPath>> {
        if self.paths.is_empty() && self.field_match.is_none() {
            return Err(Error::InvalidInput(
                "nothing to erase: give document paths and/or a collection group with a \
                 field and value"
                    .into(),
            ));
        }
        if let Some(m) = &self.field_match
            && (m.collection_group.is_empty()
                || m.collection_group.contains('/')
                || m.field.is_empty())
        {
            return Err(Error::InvalidInput(
                "a field match needs a collection id (no '/') and a field path".into(),
            ));
        }
        self.paths.iter().map(|p| DocumentPath::parse(p)).collect()
    }
}

/// Relative paths of documents under one of `roots` (or equal to one).
fn within(path: &str, root: &str) -> bool {
    path == root
        || (path.len() > root.len()
            && path.starts_with(root)
            && path.as_bytes()[root.len()] == b'/')
}

/// Whether a part holding `first ..= last` (Firestore key order) may hold `root` or,
/// with `subtree`, a document under it. A document's subtree is contiguous in key order,
/// right after the document.
fn range_may_hold(first: &str, last: &str, root: &str, subtree: bool) -> bool {
    use std::cmp::Ordering::*;
    if codec::cmp_relative(last, root) == Less {
        return false;
    }
    match codec::cmp_relative(first, root) {
        Less | Equal => true,
        Greater => subtree && within(first, root),
    }
}

fn field_value<'a>(doc: &'a Document, field: &str) -> Option<&'a Value> {
    let mut parts = field.split('.');
    let mut v = doc.fields.get(parts.next()?)?;
    for p in parts {
        match v {
            Value::Map(m) => v = m.get(p)?,
            _ => return None,
        }
    }
    Some(v)
}

/// Decides, in key order, which documents a selector erases. Documents under a matched
/// document follow it directly, so one stack of matched roots is enough.
struct Matcher<'a> {
    selector: &'a EraseSelector,
    paths: BTreeSet<String>,
    roots: Vec<String>,
}

impl<'a> Matcher<'a> {
    fn new(selector: &'a EraseSelector, paths: &[DocumentPath]) -> Self {
        Matcher {
            selector,
            paths: paths.iter().map(|p| p.to_string()).collect(),
            roots: Vec::new(),
        }
    }

    fn erases(&mut self, doc: &Document, rel: &str) -> bool {
        while let Some(r) = self.roots.last() {
            if within(rel, r) {
                return true;
            }
            self.roots.pop();
        }
        let by_path = self.paths.contains(rel);
        let by_field = self.selector.field_match.as_ref().is_some_and(|m| {
            DocumentPath::parse(rel).is_ok_and(|p| p.collection_id() == m.collection_group)
                && field_value(doc, &m.field) == Some(&m.value)
        });
        if !(by_path || by_field) {
            return false;
        }
        if self.selector.include_subcollections {
            self.roots.push(rel.to_string());
        }
        true
    }
}

/// The keyed hash recorded for an erased path: HMAC-SHA256 keyed with
/// HKDF-SHA256(data key, info `firekeep erased path`), over the relative path.
pub(crate) fn erased_path_hash(dek: &SecretBytes, path: &str) -> String {
    use hmac::Mac;
    let mut key = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(None, dek.expose())
        .expand(b"firekeep erased path", &mut key)
        .expect("32 bytes is a valid HKDF length");
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(path.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The manifest generation a part's object name carries: 1 for `parts/<seq>.fkp`, `g` for
/// `parts/<seq>.g<g>-<random>.fkp`; `None` for names firekeep does not write.
fn part_generation(object: &str) -> Option<u64> {
    let stem = object.strip_prefix("parts/")?.strip_suffix(".fkp")?;
    match stem.split_once(".g") {
        None => stem.bytes().all(|b| b.is_ascii_digit()).then_some(1),
        Some((_, rest)) => rest.split_once('-')?.0.parse().ok(),
    }
}

fn new_part_name(old: &str, generation: u64) -> String {
    let stem = old
        .strip_prefix("parts/")
        .and_then(|s| s.strip_suffix(".fkp"))
        .unwrap_or(old);
    let seq = stem.split_once(".g").map_or(stem, |(s, _)| s);
    let mut rnd = [0u8; 4];
    getrandom::fill(&mut rnd).expect("operating system random number generator failed");
    let hex: String = rnd.iter().map(|b| format!("{b:02x}")).collect();
    format!("parts/{seq}.g{generation}-{hex}.fkp")
}

/// A part after filtering: unchanged, or what to write instead (`None`: dropped).
struct Rewritten {
    index: usize,
    replacement: Option<(PartEntry, Vec<u8>)>,
    erased: Vec<(String, u64)>,
}

/// Erases the selected documents from the chosen backups (see the module documentation).
/// Held backups, and backups rolled back to a pre-erasure manifest, fail the whole run
/// before anything is written.
pub async fn erase(
    repo: &Repository,
    keys: &dyn KeyProvider,
    opts: &EraseOptions,
    cancel: &CancellationToken,
) -> Result<EraseReport> {
    let started = std::time::Instant::now();
    let paths = opts.selector.validate()?;
    let ids = if opts.backups.is_empty() {
        super::list(repo, keys)
            .await?
            .backups
            .into_iter()
            .rev()
            .map(|b| b.id)
            .collect()
    } else {
        opts.backups.clone()
    };
    hold::refuse_held(repo, &ids, "erasing from them").await?;
    let pool = Pool::new(default_parallelism(), "erase")?;
    let mut report = EraseReport {
        dry_run: opts.dry_run,
        backups: Vec::with_capacity(ids.len()),
        documents: 0,
        duration: Duration::ZERO,
    };
    for id in &ids {
        cancel.check()?;
        let one = erase_one(repo, keys, &pool, id, &opts.selector, &paths, opts.dry_run).await?;
        report.documents += one.documents;
        report.backups.push(one);
    }
    report.duration = started.elapsed();
    Ok(report)
}

async fn erase_one(
    repo: &Repository,
    keys: &dyn KeyProvider,
    pool: &Pool,
    id: &str,
    selector: &EraseSelector,
    paths: &[DocumentPath],
    dry_run: bool,
) -> Result<BackupErasure> {
    let opened = repo.open_backup(id, keys).await?;
    let m = &opened.manifest;
    // A manifest older than the erasure the head records was put back (a rollback):
    // erasing again moves the backup past the recorded generation.
    let recorded = super::head::erased_generation(repo, keys, id)
        .await?
        .map_or(0, |(_, g)| g);
    let roots: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
    let candidates: Vec<usize> = (0..m.parts.len())
        .filter(|&i| {
            let p = &m.parts[i];
            selector.field_match.is_some()
                || roots
                    .iter()
                    .any(|r| range_may_hold(&p.first, &p.last, r, selector.include_subcollections))
        })
        .collect();
    let parts_read = candidates.len();
    let generation = m.generation.max(recorded) + 1;
    let rewritten =
        filter_parts(repo, &opened, pool, selector, paths, candidates, generation).await?;
    let erased_docs: u64 = rewritten.iter().map(|r| r.erased.len() as u64).sum();
    let mut out = BackupErasure {
        backup_id: id.to_string(),
        documents: erased_docs,
        parts_read,
        parts_rewritten: rewritten.iter().filter(|r| r.replacement.is_some()).count(),
        parts_dropped: rewritten.iter().filter(|r| r.replacement.is_none()).count(),
        parts_unchanged: m.parts.len() - rewritten.len(),
        generation: m.generation,
        objects_deleted: 0,
    };
    if dry_run {
        return Ok(out);
    }
    if rewritten.is_empty() {
        // Nothing (left) to erase: finish what an interrupted run committed.
        out.objects_deleted = finish(repo, keys, &opened, m).await?;
        return Ok(out);
    }
    // Step 3: the new parts, under new names (never over an object a manifest lists).
    let mut written = Vec::new();
    for r in &rewritten {
        if let Some((entry, sealed)) = &r.replacement {
            let path = repo.object_path(id, &entry.object);
            if let Err(e) = repo.sink().put(&path, Bytes::from(sealed.clone())).await {
                delete_quietly(repo, &written).await;
                return Err(e);
            }
            written.push(path);
        }
    }
    let next = next_manifest(&opened, &rewritten, generation);
    let json = serde_json::to_vec(&next)
        .map_err(|e| Error::InvalidInput(format!("cannot encode the manifest: {e}")))?;
    // Step 4: the commit point.
    let object = generation_object(generation);
    let sealed = codec::seal_object(&opened.dek, id, &object, m.segment_size, &json)?;
    match repo
        .sink()
        .put_if_absent(&repo.object_path(id, &object), Bytes::from(sealed))
        .await
    {
        Ok(()) => {}
        Err(Error::AlreadyExists(_)) => {
            delete_quietly(repo, &written).await;
            return Err(Error::Storage(format!(
                "another erasure committed generation {generation} of backup {id} while this \
                 one ran; run erase again (it picks up the newer generation)"
            )));
        }
        Err(e) => {
            delete_quietly(repo, &written).await;
            return Err(e);
        }
    }
    // Steps 5 and 6.
    let reopened = repo.open_backup(id, keys).await?;
    if reopened.manifest.generation != generation {
        return Err(Error::integrity(
            format!("backup {id}"),
            format!(
                "committed manifest generation {generation} but the backup reads as \
                 generation {}",
                reopened.manifest.generation
            ),
        ));
    }
    out.objects_deleted = finish(repo, keys, &reopened, &reopened.manifest).await?;
    check_rewritten(repo, &reopened, pool, selector, paths, &rewritten).await?;
    out.generation = generation;
    Ok(out)
}

/// Downloads the candidate parts (checked against the manifest) and filters each.
async fn filter_parts(
    repo: &Repository,
    opened: &Opened,
    pool: &Pool,
    selector: &EraseSelector,
    paths: &[DocumentPath],
    candidates: Vec<usize>,
    generation: u64,
) -> Result<Vec<Rewritten>> {
    let m = &opened.manifest;
    let root = format!(
        "{}/",
        crate::model::DatabaseId::new(&m.project, &m.database)?.documents_root()
    );
    let mut matcher = Matcher::new(selector, paths);
    let mut out = Vec::new();
    let mut fetched = std::pin::pin!(fetch_parts(
        repo,
        opened,
        pool,
        candidates,
        default_parallelism() + 1
    ));
    // Parts come back in manifest order, so subtrees spanning parts are followed.
    while let Some((i, result)) = fetched.next().await {
        let docs = result
            .map_err(|p| super::verify::problems_error(&opened.id, std::slice::from_ref(&p)))?;
        let mut keep = Vec::with_capacity(docs.len());
        let mut erased = Vec::new();
        for doc in docs {
            let rel = codec::relative_name(&doc.name, &root)
                .unwrap_or(&doc.name)
                .to_string();
            if matcher.erases(&doc, &rel) {
                let mut line = Vec::new();
                json::encode_document_to(&doc, &mut line);
                erased.push((rel, line.len() as u64 + 1));
            } else {
                keep.push(doc);
            }
        }
        if erased.is_empty() {
            continue;
        }
        let replacement = if keep.is_empty() {
            None
        } else {
            let old = m.parts[i].clone();
            let object = new_part_name(&old.object, generation);
            let dek = opened.dek.clone();
            let (id, level, seg) = (opened.id.clone(), m.zstd_level, m.segment_size);
            Some(
                pool.run(move || {
                    let enc = codec::encode_documents(&keep, level, old.plain_bytes as usize)?;
                    let sealed = codec::seal_object(&dek, &id, &object, seg, &enc.compressed)?;
                    let rel = |d: &Document| {
                        d.path()
                            .map(|(_, p)| p.to_string())
                            .unwrap_or_else(|_| d.name.clone())
                    };
                    let entry = PartEntry {
                        object,
                        size: sealed.len() as u64,
                        sha256: codec::sha256_hex(&sealed),
                        documents: keep.len() as u64,
                        plain_bytes: enc.sizes.iter().sum::<usize>() as u64,
                        first: rel(&keep[0]),
                        last: rel(&keep[keep.len() - 1]),
                    };
                    Ok((entry, sealed))
                })
                .await?,
            )
        };
        out.push(Rewritten {
            index: i,
            replacement,
            erased,
        });
    }
    Ok(out)
}

/// The next generation's manifest: changed parts replaced, totals reduced, the erasure
/// recorded as keyed hashes.
fn next_manifest(opened: &Opened, rewritten: &[Rewritten], generation: u64) -> Manifest {
    let mut next = opened.manifest.clone();
    let by_index: BTreeMap<usize, &Rewritten> = rewritten.iter().map(|r| (r.index, r)).collect();
    let mut parts = Vec::with_capacity(next.parts.len());
    for (i, entry) in next.parts.iter().enumerate() {
        match by_index.get(&i) {
            None => parts.push(entry.clone()),
            Some(r) => {
                next.totals.stored_bytes = next.totals.stored_bytes.saturating_sub(entry.size);
                if let Some((e, _)) = &r.replacement {
                    next.totals.stored_bytes += e.size;
                    parts.push(e.clone());
                }
            }
        }
    }
    next.parts = parts;
    let mut hashes = Vec::new();
    let mut documents = 0u64;
    for r in rewritten {
        for (rel, bytes) in &r.erased {
            documents += 1;
            next.totals.documents = next.totals.documents.saturating_sub(1);
            next.totals.bytes = next.totals.bytes.saturating_sub(*bytes);
            let top = rel.split('/').next().unwrap_or_default();
            if let Some(c) = next.totals.collections.get_mut(top) {
                c.documents = c.documents.saturating_sub(1);
                c.bytes = c.bytes.saturating_sub(*bytes);
                if c.documents == 0 {
                    next.totals.collections.remove(top);
                }
            }
            hashes.push(erased_path_hash(&opened.dek, rel));
        }
    }
    hashes.sort_unstable();
    next.generation = generation;
    next.erasures.push(ErasureRecord {
        generation,
        erased_at: Timestamp::now().to_rfc3339(),
        documents,
        path_hashes: hashes,
    });
    next
}

/// Makes the committed generation the only one: `manifest.fkm` rewritten to it, the head
/// told, superseded parts and generation files deleted. Idempotent; returns the objects
/// deleted.
async fn finish(
    repo: &Repository,
    keys: &dyn KeyProvider,
    opened: &Opened,
    m: &Manifest,
) -> Result<usize> {
    let id = &opened.id;
    if m.generation < 2 {
        return Ok(0);
    }
    if opened.manifest_object != MANIFEST {
        let json = serde_json::to_vec(m)
            .map_err(|e| Error::InvalidInput(format!("cannot encode the manifest: {e}")))?;
        let sealed = codec::seal_object(&opened.dek, id, MANIFEST, m.segment_size, &json)?;
        repo.sink()
            .put(&repo.object_path(id, MANIFEST), Bytes::from(sealed))
            .await?;
    }
    let recorded = super::head::erased_generation(repo, keys, id).await?;
    if recorded.is_none_or(|(_, g)| g < m.generation) {
        super::head::record_erasure(repo, keys, id, m.generation).await?;
    }
    let listed: BTreeSet<&str> = m.parts.iter().map(|p| p.object.as_str()).collect();
    let dir = repo.backup_dir(id);
    let now = Timestamp::now().unix_millis();
    let grace = STALE_ATTEMPT_GRACE.as_millis() as i64;
    let objects: Vec<_> = repo.sink().list(&dir).try_collect().await?;
    let mut deleted = 0;
    for o in objects {
        let Some(name) = o.path.strip_prefix(&dir) else {
            continue;
        };
        let stale = if let Some(g) = name
            .strip_prefix(MANIFESTS)
            .and_then(|n| n.strip_suffix(".fkm"))
            .and_then(|n| n.parse::<u64>().ok())
        {
            // The newest generation file stays: it is what a concurrent erasure's
            // put-if-absent collides with.
            g < m.generation
        } else if let Some(g) = part_generation(name) {
            !listed.contains(name)
                && (g <= m.generation
                    || o.last_modified
                        .is_some_and(|t| now - t.unix_millis() >= grace))
        } else {
            false
        };
        if stale {
            match repo.sink().delete(&o.path).await {
                Ok(()) | Err(Error::NotFound(_)) => deleted += 1,
                Err(e) => return Err(e),
            }
        }
    }
    Ok(deleted)
}

/// Step 6: every rewritten part downloaded again, checked, and searched for the selection.
async fn check_rewritten(
    repo: &Repository,
    opened: &Opened,
    pool: &Pool,
    selector: &EraseSelector,
    paths: &[DocumentPath],
    rewritten: &[Rewritten],
) -> Result<()> {
    let names: BTreeSet<&str> = rewritten
        .iter()
        .filter_map(|r| r.replacement.as_ref().map(|(e, _)| e.object.as_str()))
        .collect();
    let indices: Vec<usize> = (0..opened.manifest.parts.len())
        .filter(|&i| names.contains(opened.manifest.parts[i].object.as_str()))
        .collect();
    let hashes: BTreeSet<&str> = opened
        .manifest
        .erasures
        .iter()
        .flat_map(|e| e.path_hashes.iter().map(String::as_str))
        .collect();
    let m = &opened.manifest;
    let root = format!(
        "{}/",
        crate::model::DatabaseId::new(&m.project, &m.database)?.documents_root()
    );
    let mut matcher = Matcher::new(selector, paths);
    let dek = Arc::new(opened.dek.clone());
    let mut fetched = std::pin::pin!(fetch_parts(repo, opened, pool, indices, 2));
    while let Some((_, result)) = fetched.next().await {
        let docs = result
            .map_err(|p| super::verify::problems_error(&opened.id, std::slice::from_ref(&p)))?;
        for doc in &docs {
            let rel = codec::relative_name(&doc.name, &root).unwrap_or(&doc.name);
            if matcher.erases(doc, rel) || hashes.contains(erased_path_hash(&dek, rel).as_str()) {
                return Err(Error::integrity(
                    format!("backup {}", opened.id),
                    "a rewritten part still holds an erased document; run erase again",
                ));
            }
        }
    }
    Ok(())
}

async fn delete_quietly(repo: &Repository, paths: &[String]) {
    for p in paths {
        let _ = repo.sink().delete(p).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_rule_out_parts_by_key_order() {
        // A part from a/1 to a/3 cannot hold b/1, nor (with its subtree) a/0.
        assert!(!range_may_hold("a/1", "a/3", "b/1", true));
        assert!(range_may_hold("a/1", "a/3", "a/2", false));
        assert!(!range_may_hold("a/1", "a/3", "a/0", false));
        // a/0's subcollection documents sort right after a/0: a part starting there may
        // hold them.
        assert!(range_may_hold("a/0/x/1", "a/3", "a/0", true));
        assert!(!range_may_hold("a/0/x/1", "a/3", "a/0", false));
        // Segment order, not byte order: a/0-/... is not under a/0.
        assert!(!within("a/0-/x/1", "a/0"));
        assert!(within("a/0/x/1", "a/0"));
    }

    #[test]
    fn part_names_carry_their_generation() {
        assert_eq!(part_generation("parts/00000003.fkp"), Some(1));
        let n = new_part_name("parts/00000003.fkp", 2);
        assert_eq!(part_generation(&n), Some(2));
        let n3 = new_part_name(&n, 3);
        assert!(n3.starts_with("parts/00000003.g3-"), "{n3}");
        assert_eq!(part_generation("manifest.fkm"), None);
        assert_eq!(part_generation("parts/x.fkp"), None);
    }
}
