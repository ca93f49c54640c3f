//! `verify`: every part of a backup downloaded, hashed, decrypted, decoded and checked
//! against the manifest, without touching Firestore.

use super::codec;
use super::manifest::PartEntry;
use super::pool::{Pool, default_parallelism};
use super::progress::{CancellationToken, Phase, ProgressFn, Tracker};
use super::repo::{KEY, MANIFEST, Opened, Repository};
use crate::keys::KeyProvider;
use crate::model::json::{self, Check, DocumentChecker};
use crate::model::{Document, DocumentPath};
use crate::secret::SecretBytes;
use crate::source::{JsonDocument, Scope};
use crate::{Error, Result};
use futures::stream::{self, StreamExt, TryStreamExt};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// Something wrong with one part.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PartProblem {
    /// The part's object name in the backup (`parts/00000003.fkp`).
    pub object: String,
    /// Its full storage path.
    pub path: String,
    /// Machine-readable kind: `missing`, `size`, `hash`, `decrypt`, `decode`, `count`,
    /// `range`, `order`, `storage`.
    pub kind: String,
    /// What was wrong.
    pub detail: String,
}

/// The outcome of verifying a backup.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct VerifyReport {
    /// Backup id.
    pub backup_id: String,
    /// Parts in the manifest.
    pub parts: usize,
    /// Parts that passed every check.
    pub parts_ok: usize,
    /// Documents found in good parts.
    pub documents: u64,
    /// Stored bytes checked.
    pub bytes: u64,
    /// Every bad or missing part, in manifest order.
    pub problems: Vec<PartProblem>,
    /// Objects in the backup's folder the manifest does not list (not an error, but odd).
    pub unexpected_objects: Vec<String>,
    /// How long it took.
    pub duration: Duration,
}

impl VerifyReport {
    /// Whether every part passed.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// `Ok(())` when every part passed, else an `Error::Integrity` naming every bad part.
    pub fn into_result(&self) -> Result<()> {
        if self.problems.is_empty() {
            return Ok(());
        }
        Err(problems_error(&self.backup_id, &self.problems))
    }
}

/// One `Error::Integrity` naming every bad part.
pub(crate) fn problems_error(id: &str, problems: &[PartProblem]) -> Error {
    let object = if problems.len() == 1 {
        format!("backup {id} part {}", problems[0].object)
    } else {
        format!("backup {id} ({} parts)", problems.len())
    };
    let detail = problems
        .iter()
        .map(|p| format!("{}: {} ({})", p.object, p.detail, p.kind))
        .collect::<Vec<_>>()
        .join("; ");
    Error::integrity(object, detail)
}

/// Checks a downloaded part against its manifest entry and returns its documents. Pure
/// CPU: runs on a worker thread.
pub(crate) fn check_part(
    id: &str,
    dek: &SecretBytes,
    entry: &PartEntry,
    sealed: &[u8],
) -> std::result::Result<Vec<Document>, (String, String)> {
    let compressed = open_part(id, dek, entry, sealed)?;
    let fast = codec::with_part_buffer(|buf| {
        codec::decode_whole_part(&compressed, entry.plain_bytes, entry.documents, buf)
    });
    if let Some(docs) = fast {
        let mut names = NameCheck::new(entry);
        if docs.len() as u64 == entry.documents
            && docs.iter().all(|d| names.push(Cow::Borrowed(&d.name)))
            && names.passed()
        {
            return Ok(docs);
        }
    }
    decode_checked(entry, &compressed)
}

/// [`check_part`] for verify, which needs no documents: the number of documents of a part
/// that passes every check, else the same problem [`check_part`] reports.
///
/// Lines are checked by [`DocumentChecker`] (same acceptance as the decoder, no tree), and
/// names compared in place. Anything short of a clean pass (a bad line, count, order or
/// range, or a part too large for one buffer) takes [`check_part`]'s path, so the problem
/// reported is always the one the decoding path words.
pub(crate) fn count_part(
    id: &str,
    dek: &SecretBytes,
    entry: &PartEntry,
    sealed: &[u8],
) -> std::result::Result<u64, (String, String)> {
    let compressed = open_part(id, dek, entry, sealed)?;
    let fast = codec::with_part_buffer(|buf| {
        if !codec::decompress_whole(&compressed, entry.plain_bytes, buf) {
            return None;
        }
        let checker = DocumentChecker::default();
        let mut names = NameCheck::new(entry);
        let mut count = 0u64;
        for line in codec::document_lines(buf) {
            count += 1;
            if count > entry.documents {
                return None;
            }
            let ok = match checker.check(line) {
                Check::Valid(name) => names.push(name),
                Check::Invalid => false,
                Check::Unsure => match json::decode_document(line) {
                    Ok(doc) => names.push(Cow::Owned(doc.name)),
                    Err(_) => false,
                },
            };
            if !ok {
                return None;
            }
        }
        (count == entry.documents && names.passed()).then_some(count)
    });
    match fast {
        Some(count) => Ok(count),
        None => decode_checked(entry, &compressed).map(|docs| docs.len() as u64),
    }
}

/// What restore keeps of each part: the documents in its scope, as their JSON lines with
/// names moved into the target's database.
#[derive(Clone)]
pub(crate) struct RestoreLines {
    /// Which documents of the backup are restored.
    pub(crate) scope: Arc<Scope>,
    /// The target's documents root with a trailing `/`.
    pub(crate) target_root: Arc<str>,
}

impl RestoreLines {
    /// [`count_part`]'s checks (every line by [`DocumentChecker`], names in place, count,
    /// order, range; the same problems reported) keeping the lines in scope: no document
    /// tree is built, and the part's plain bytes are shared by its lines.
    pub(crate) fn check(
        &self,
        id: &str,
        dek: &SecretBytes,
        entry: &PartEntry,
        sealed: &[u8],
    ) -> std::result::Result<Vec<JsonDocument>, (String, String)> {
        let compressed = open_part(id, dek, entry, sealed)?;
        if let Some(docs) = self.fast(entry, &compressed) {
            return Ok(docs);
        }
        // A part too large for one buffer, or any problem: the decoding path reports it in
        // its words, or (a large good part) yields its documents, re-encoded exactly.
        let docs = decode_checked(entry, &compressed)?;
        Ok(docs
            .into_iter()
            .filter_map(|doc| {
                let rel = DocumentPath::relative_of_resource_name(&doc.name)?;
                // Re-encoded, not the checked line: marked unchecked.
                self.scope.contains_relative(rel).then(|| {
                    JsonDocument::new(
                        format!("{}{rel}", self.target_root),
                        json::encode_document(&doc).into(),
                    )
                })
            })
            .collect())
    }

    fn fast(&self, entry: &PartEntry, compressed: &[u8]) -> Option<Vec<JsonDocument>> {
        // An owned buffer: the lines handed on are slices of it.
        let mut plain = Vec::new();
        if !codec::decompress_whole(compressed, entry.plain_bytes, &mut plain) {
            return None;
        }
        let plain = bytes::Bytes::from(plain);
        let checker = DocumentChecker::default();
        let mut names = NameCheck::new(entry);
        let mut count = 0u64;
        let mut docs = Vec::new();
        for line in codec::document_lines(&plain) {
            count += 1;
            if count > entry.documents {
                return None;
            }
            let name = match checker.check(line) {
                Check::Valid(name) => name,
                Check::Invalid => return None,
                Check::Unsure => Cow::Owned(json::decode_document(line).ok()?.name),
            };
            let rel = DocumentPath::relative_of_resource_name(&name)?;
            if self.scope.contains_relative(rel) {
                // Checked just above (valid, or decoded when unsure).
                docs.push(JsonDocument::checked(
                    format!("{}{rel}", self.target_root),
                    plain.slice_ref(line),
                ));
            }
            if !names.push(name) {
                return None;
            }
        }
        (count == entry.documents && names.passed()).then_some(docs)
    }
}

/// The first checks of a part, before anything in it is read: size, ciphertext hash, then
/// the authenticated decryption; returns the compressed NDJSON.
fn open_part(
    id: &str,
    dek: &SecretBytes,
    entry: &PartEntry,
    sealed: &[u8],
) -> std::result::Result<Vec<u8>, (String, String)> {
    let fail = |kind: &str, detail: String| Err((kind.to_string(), detail));
    if sealed.len() as u64 != entry.size {
        return fail(
            "size",
            format!(
                "stored object is {} bytes, the manifest says {}",
                sealed.len(),
                entry.size
            ),
        );
    }
    let hash = codec::sha256_hex(sealed);
    if hash != entry.sha256 {
        return fail(
            "hash",
            "SHA-256 of the stored object does not match the manifest (changed or replaced)"
                .to_string(),
        );
    }
    match codec::open_object(dek, id, &entry.object, sealed) {
        Ok(p) => Ok(p),
        Err(Error::Integrity { detail, .. }) => fail("decrypt", detail),
        Err(e) => fail("decrypt", e.to_string()),
    }
}

/// Name checks of a part's documents on the fast paths, one name at a time and without
/// allocating: each name valid, above the one before, the first and last the manifest's.
/// `false` means "not a clean pass" and sends the part to [`decode_checked`] for wording.
struct NameCheck<'e, 'n> {
    entry: &'e PartEntry,
    /// The previous document's name (borrowed from the part unless it had escapes) and
    /// where its relative path starts.
    prev: Option<(Cow<'n, str>, usize)>,
}

impl<'e, 'n> NameCheck<'e, 'n> {
    fn new(entry: &'e PartEntry) -> Self {
        NameCheck { entry, prev: None }
    }

    fn push(&mut self, name: Cow<'n, str>) -> bool {
        let Some(rel) = DocumentPath::relative_of_resource_name(&name) else {
            return false;
        };
        match &self.prev {
            // `DocumentPath`'s order, compared in place.
            Some((p, at)) if codec::cmp_relative(rel, &p[*at..]) != Ordering::Greater => {
                return false;
            }
            None if rel != self.entry.first => return false,
            _ => {}
        }
        let at = name.len() - rel.len();
        self.prev = Some((name, at));
        true
    }

    /// Whether the last name was the manifest's (and there was one).
    fn passed(&self) -> bool {
        self.prev
            .as_ref()
            .is_some_and(|(p, at)| p[*at..] == *self.entry.last)
    }
}

/// The decoding checks of an opened part: decode (streaming, bounded), count, then every
/// name's validity and order, then the range; each problem worded for the report.
fn decode_checked(
    entry: &PartEntry,
    compressed: &[u8],
) -> std::result::Result<Vec<Document>, (String, String)> {
    let fail = |kind: &str, detail: String| Err((kind.to_string(), detail));
    let docs = match codec::decode_bounded_part(compressed, entry.plain_bytes, entry.documents) {
        Ok(d) => d,
        Err(e) => return fail("decode", e.to_string()),
    };
    if docs.len() as u64 != entry.documents {
        return fail(
            "count",
            format!(
                "holds {} documents, the manifest says {}",
                docs.len(),
                entry.documents
            ),
        );
    }
    let mut prev: Option<DocumentPath> = None;
    for d in &docs {
        let path = match d.path() {
            Ok((_, p)) => p,
            Err(e) => return fail("decode", e.to_string()),
        };
        if prev.as_ref().is_some_and(|p| &path <= p) {
            return fail(
                "order",
                format!("documents are not in name order at {path}"),
            );
        }
        prev = Some(path);
    }
    let first = docs
        .first()
        .and_then(|d| d.path().ok())
        .map(|(_, p)| p.to_string());
    let last = prev.map(|p| p.to_string());
    if first.as_deref() != Some(entry.first.as_str())
        || last.as_deref() != Some(entry.last.as_str())
    {
        return fail(
            "range",
            format!(
                "holds {} .. {}, the manifest says {} .. {}",
                first.unwrap_or_default(),
                last.unwrap_or_default(),
                entry.first,
                entry.last
            ),
        );
    }
    Ok(docs)
}

/// A part's check, run on a worker: [`check_part`], [`count_part`] or restore's
/// [`RestoreLines::check`].
trait PartCheck<T>:
    Fn(&str, &SecretBytes, &PartEntry, &[u8]) -> std::result::Result<T, (String, String)>
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<T, F> PartCheck<T> for F where
    F: Fn(&str, &SecretBytes, &PartEntry, &[u8]) -> std::result::Result<T, (String, String)>
        + Clone
        + Send
        + Sync
        + 'static
{
}

/// Downloads and checks parts, `concurrency` at a time, yielding `(index, documents)` in
/// manifest order. The caller decides what a problem means.
pub(crate) fn fetch_parts<'a>(
    repo: &'a Repository,
    opened: &'a Opened,
    pool: &'a Pool,
    indices: Vec<usize>,
    concurrency: usize,
) -> impl futures::Stream<Item = (usize, std::result::Result<Vec<Document>, PartProblem>)> + Send + 'a
{
    fetch_with(repo, opened, pool, indices, concurrency, check_part)
}

/// [`fetch_parts`] for restore: each document in scope as its checked JSON line, renamed
/// into the target's database ([`RestoreLines`]).
pub(crate) fn fetch_part_lines<'a>(
    repo: &'a Repository,
    opened: &'a Opened,
    pool: &'a Pool,
    indices: Vec<usize>,
    concurrency: usize,
    lines: RestoreLines,
) -> impl futures::Stream<Item = (usize, std::result::Result<Vec<JsonDocument>, PartProblem>)> + Send + 'a
{
    fetch_with(
        repo,
        opened,
        pool,
        indices,
        concurrency,
        move |id, dek, entry, sealed| lines.check(id, dek, entry, sealed),
    )
}

/// [`fetch_parts`] for checking only (verify, restore's verify-first pass): yields each
/// good part's document count; problems are the same.
pub(crate) fn check_parts<'a>(
    repo: &'a Repository,
    opened: &'a Opened,
    pool: &'a Pool,
    indices: Vec<usize>,
    concurrency: usize,
) -> impl futures::Stream<Item = (usize, std::result::Result<u64, PartProblem>)> + Send + 'a {
    fetch_with(repo, opened, pool, indices, concurrency, count_part)
}

fn fetch_with<'a, T: Send + 'static>(
    repo: &'a Repository,
    opened: &'a Opened,
    pool: &'a Pool,
    indices: Vec<usize>,
    concurrency: usize,
    check: impl PartCheck<T>,
) -> impl futures::Stream<Item = (usize, std::result::Result<T, PartProblem>)> + Send + 'a {
    let dek = Arc::new(opened.dek.clone());
    stream::iter(indices)
        .map(move |i| {
            let entry = opened.manifest.parts[i].clone();
            let path = repo.object_path(&opened.id, &entry.object);
            let id = opened.id.clone();
            let dek = dek.clone();
            let check = check.clone();
            async move {
                let problem = |kind: &str, detail: String| PartProblem {
                    object: entry.object.clone(),
                    path: path.clone(),
                    kind: kind.to_string(),
                    detail,
                };
                // Never more than the manifest's size for the part: a larger object was
                // swapped in, and is refused unread.
                let sealed = match repo.sink().get_bounded(&path, entry.size).await {
                    Ok(b) => b,
                    Err(Error::Integrity { detail, .. }) => {
                        return (i, Err(problem("size", detail)));
                    }
                    Err(Error::NotFound(_)) => {
                        return (
                            i,
                            Err(problem(
                                "missing",
                                "the part is missing from storage".into(),
                            )),
                        );
                    }
                    Err(e) => return (i, Err(problem("storage", e.to_string()))),
                };
                let entry2 = entry.clone();
                let checked = pool
                    .run(move || Ok(check(&id, &dek, &entry2, &sealed)))
                    .await;
                match checked {
                    Ok(Ok(found)) => (i, Ok(found)),
                    Ok(Err((kind, detail))) => (i, Err(problem(&kind, detail))),
                    Err(e) => (i, Err(problem("internal", e.to_string()))),
                }
            }
        })
        .buffered(concurrency)
}

/// Verifies every part of backup `backup_id`.
///
/// Returns `Err` only when the backup cannot be opened at all (no manifest, wrong key,
/// damaged manifest or key); bad or missing parts are listed in the report's `problems`
/// (see [`VerifyReport::into_result`]).
pub async fn verify(
    repo: &Repository,
    keys: &dyn KeyProvider,
    backup_id: &str,
    progress: Option<ProgressFn>,
    cancel: &CancellationToken,
) -> Result<VerifyReport> {
    let mut tracker = Tracker::new(progress, Phase::Preparing);
    tracker.emit_now();
    cancel.check()?;
    let opened = repo.open_backup(backup_id, keys).await?;
    let m = &opened.manifest;
    tracker.total_documents = Some(m.totals.documents);
    tracker.total_parts = Some(m.parts.len() as u64);
    tracker.set_phase(Phase::Verify);

    let mut problems = Vec::new();
    // Manifest-level checks: part ranges in order and not overlapping.
    let mut prev_last: Option<DocumentPath> = None;
    for entry in &m.parts {
        let first = DocumentPath::parse(&entry.first).ok();
        if let (Some(prev), Some(first)) = (&prev_last, &first) {
            if first <= prev {
                problems.push(PartProblem {
                    object: entry.object.clone(),
                    path: repo.object_path(backup_id, &entry.object),
                    kind: "order".into(),
                    detail: "its range overlaps the previous part's".into(),
                });
            }
        }
        prev_last = DocumentPath::parse(&entry.last).ok();
    }

    let parallelism = default_parallelism();
    let pool = Pool::new(parallelism, "verify")?;
    let mut documents = 0u64;
    let mut parts_ok = 0usize;
    let mut fetched = std::pin::pin!(check_parts(
        repo,
        &opened,
        &pool,
        (0..m.parts.len()).collect(),
        parallelism + 1,
    ));
    while let Some((i, result)) = fetched.next().await {
        cancel.check()?;
        tracker.parts += 1;
        tracker.bytes += m.parts[i].size;
        match result {
            Ok(count) => {
                parts_ok += 1;
                documents += count;
                tracker.documents = documents;
            }
            Err(p) => problems.push(p),
        }
        tracker.emit();
    }

    let listed: BTreeSet<String> = m.parts.iter().map(|p| p.object.clone()).collect();
    let dir = repo.backup_dir(backup_id);
    let mut unexpected: Vec<String> = repo
        .sink()
        .list(&dir)
        .try_filter_map(|meta| {
            let name = meta
                .path
                .strip_prefix(&dir)
                .unwrap_or(&meta.path)
                .to_string();
            // `dist/` holds a distributed backup's plan and task results, `restores/` those of
            // distributed restores; `manifests/` the manifest generations of erasures.
            let known = name == MANIFEST
                || name == KEY
                || name == super::hold::HOLD
                || name.starts_with(super::repo::MANIFESTS)
                || name.starts_with(super::distributed::DIST_DIR)
                || name.starts_with(super::distributed_restore::RESTORES_DIR)
                || listed.contains(&name);
            futures::future::ready(Ok((!known).then_some(name)))
        })
        .try_collect()
        .await?;
    unexpected.sort();
    // Keep problems in manifest order, parts with several problems together.
    let order: std::collections::HashMap<&str, usize> = m
        .parts
        .iter()
        .enumerate()
        .map(|(i, p)| (p.object.as_str(), i))
        .collect();
    problems.sort_by_key(|p| order.get(p.object.as_str()).copied().unwrap_or(usize::MAX));
    tracker.set_phase(Phase::Done);
    Ok(VerifyReport {
        backup_id: backup_id.to_string(),
        parts: m.parts.len(),
        parts_ok,
        documents,
        bytes: tracker.bytes,
        problems,
        unexpected_objects: unexpected,
        duration: tracker.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_relative() -> impl Strategy<Value = String> {
        // Few characters, so equal prefixes and segments (and '-' < '/' < 'a') are common.
        proptest::collection::vec("[ab._-]{1,3}", 1..4).prop_map(|s| {
            s.iter()
                .flat_map(|x| [x.clone(), "x".into()])
                .collect::<Vec<_>>()
                .join("/")
        })
    }

    /// Every way a part can disagree with its entry gets the same answer from the fast
    /// paths (`check_part`, `count_part`) as from the decoding path alone.
    #[test]
    fn fast_paths_report_what_the_decoding_path_reports() {
        let dek = SecretBytes::new(vec![7u8; 32]);
        let doc = |rel: &str| {
            Document::new(
                format!("projects/p/databases/d/documents/{rel}"),
                Default::default(),
            )
        };
        let docs = [doc("a/1"), doc("a/2"), doc("b/1")];
        let plain = codec::encode_part(&docs).unwrap();
        let json: u64 = docs
            .iter()
            .map(|d| crate::model::json::encode_document(d).len() as u64 + 1)
            .sum();
        let sealed = codec::seal_object(&dek, "bk", "parts/1.fkp", 1 << 20, &plain).unwrap();
        let good = PartEntry {
            object: "parts/1.fkp".into(),
            size: sealed.len() as u64,
            sha256: codec::sha256_hex(&sealed),
            documents: 3,
            plain_bytes: json,
            first: "a/1".into(),
            last: "b/1".into(),
        };
        let mut entries = vec![good.clone()];
        for documents in [0, 2, 4] {
            entries.push(PartEntry {
                documents,
                ..good.clone()
            });
        }
        for (first, last) in [("a/2", "b/1"), ("a/1", "a/2"), ("a/1", "c/1")] {
            entries.push(PartEntry {
                first: first.into(),
                last: last.into(),
                ..good.clone()
            });
        }
        entries.push(PartEntry {
            plain_bytes: json - 1,
            ..good.clone()
        });
        let lines = RestoreLines {
            scope: Arc::new(Scope::collections(["a"], true)),
            target_root: Arc::from("projects/q/databases/t/documents/"),
        };
        for entry in entries {
            let slow = decode_checked(&entry, &plain);
            assert_eq!(check_part("bk", &dek, &entry, &sealed), slow, "{entry:?}");
            assert_eq!(
                count_part("bk", &dek, &entry, &sealed),
                slow.clone().map(|d| d.len() as u64),
                "{entry:?}"
            );
            // Restore's lines: the documents of scope `a`, renamed into the target, or the
            // same problem.
            let renamed = slow.map(|docs| {
                docs.into_iter()
                    .filter(|d| d.name.contains("/documents/a/"))
                    .map(|d| {
                        let rel = d.name.rsplit("/documents/").next().unwrap().to_string();
                        Document::new(format!("projects/q/databases/t/documents/{rel}"), d.fields)
                    })
                    .collect::<Vec<_>>()
            });
            let got = lines
                .check("bk", &dek, &entry, &sealed)
                .map(|docs| docs.iter().map(|d| d.decode().unwrap()).collect::<Vec<_>>());
            assert_eq!(got, renamed, "{entry:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        /// The fast paths' in-place name order is `DocumentPath`'s.
        #[test]
        fn in_place_order_agrees(a in arb_relative(), b in arb_relative()) {
            if let (Ok(pa), Ok(pb)) = (DocumentPath::parse(&a), DocumentPath::parse(&b)) {
                prop_assert_eq!(codec::cmp_relative(&a, &b), pa.cmp(&pb));
            }
        }
    }
}
