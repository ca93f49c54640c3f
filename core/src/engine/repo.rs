//! The repository: where backups live in a sink, how their objects are named, and `list`.

use super::codec;
use super::manifest::Manifest;
use crate::keys::{KeyContext, KeyProvider, WrappedKey};
use crate::model::Timestamp;
use crate::secret::SecretBytes;
use crate::source::Scope;
use crate::storage::{ObjectMeta, StorageSink};
use crate::{Error, Result};
use futures::{StreamExt, TryStreamExt};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Object name of the manifest inside a backup folder.
pub(crate) const MANIFEST: &str = "manifest.fkm";
/// Object name of the wrapped data key inside a backup folder.
pub(crate) const KEY: &str = "key.json";
/// Folder (inside a backup folder) of the manifest generations an erasure commits with
/// put-if-absent (see `engine::erase`).
pub(crate) const MANIFESTS: &str = "manifests/";

/// Object name of manifest generation `g` (≥ 2) inside a backup folder.
pub(crate) fn generation_object(g: u64) -> String {
    format!("{MANIFESTS}{g:020}.fkm")
}

/// Largest `manifest.fkm` read. A manifest lists every part in a few hundred bytes, so
/// 64 MiB is some 200,000 parts (over 12 TiB at the default part size); anything larger
/// was replaced or planted, and is refused before it is read.
pub const MAX_MANIFEST_BYTES: u64 = 64 << 20;
/// Largest `key.json` read: a wrapped key is well under 4 KiB, even from a KMS.
pub const MAX_KEY_BYTES: u64 = 64 << 10;

/// The layout of backups in a storage sink: `<prefix>/firekeep/v1/backups/<id>/...`.
#[derive(Clone, Debug)]
pub struct Repository {
    sink: Arc<dyn StorageSink>,
    root: String,
}

impl Repository {
    /// Backups at the root of `sink` (under `firekeep/v1/`).
    pub fn new(sink: Arc<dyn StorageSink>) -> Self {
        Repository {
            sink,
            root: "firekeep/v1".into(),
        }
    }

    /// Backups under `prefix` in `sink` (several repositories can share a bucket).
    pub fn with_prefix(sink: Arc<dyn StorageSink>, prefix: &str) -> Result<Self> {
        let prefix = prefix.trim_matches('/');
        if prefix.split('/').any(|s| s == "." || s == "..") {
            return Err(Error::InvalidConfig(format!(
                "repository prefix {prefix:?} may not contain '.' or '..' segments"
            )));
        }
        let root = if prefix.is_empty() {
            "firekeep/v1".to_string()
        } else {
            format!("{prefix}/firekeep/v1")
        };
        Ok(Repository { sink, root })
    }

    /// The storage sink.
    pub fn sink(&self) -> &Arc<dyn StorageSink> {
        &self.sink
    }

    /// Where the repository is, for reports (no credentials).
    pub fn describe(&self) -> String {
        format!("{} ({})", self.sink.describe(), self.root)
    }

    /// The repository's root path in the sink (`[<prefix>/]firekeep/v1`).
    pub(crate) fn root(&self) -> &str {
        &self.root
    }

    /// Prefix of every backup folder.
    pub(crate) fn backups_prefix(&self) -> String {
        format!("{}/backups/", self.root)
    }

    /// Folder of one backup, with a trailing `/`.
    pub(crate) fn backup_dir(&self, id: &str) -> String {
        format!("{}/backups/{id}/", self.root)
    }

    /// Full path of an object (`manifest.fkm`, `key.json`, `parts/...`) of a backup.
    pub fn object_path(&self, id: &str, object: &str) -> String {
        format!("{}/backups/{id}/{object}", self.root)
    }

    /// Every object of every backup folder, grouped by backup id (complete or not).
    pub(crate) async fn scan(&self) -> Result<BTreeMap<String, BackupObjects>> {
        let prefix = self.backups_prefix();
        let mut out: BTreeMap<String, BackupObjects> = BTreeMap::new();
        let mut stream = self.sink.list(&prefix);
        while let Some(meta) = stream.try_next().await? {
            let Some(rest) = meta.path.strip_prefix(&prefix) else {
                continue;
            };
            let Some((id, object)) = rest.split_once('/') else {
                continue;
            };
            let entry = out.entry(id.to_string()).or_default();
            match object {
                MANIFEST => entry.manifest = true,
                KEY => entry.key = true,
                _ => {}
            }
            entry.objects.push(meta);
        }
        Ok(out)
    }

    /// Ids of complete backups (those with a manifest), oldest first.
    pub(crate) async fn complete_ids(&self) -> Result<Vec<String>> {
        Ok(self
            .scan()
            .await?
            .into_iter()
            .filter(|(_, o)| o.manifest)
            .map(|(id, _)| id)
            .collect())
    }

    /// Reads and unwraps a backup's data key.
    pub(crate) async fn read_key(
        &self,
        id: &str,
        keys: &dyn KeyProvider,
    ) -> Result<(WrappedKey, SecretBytes)> {
        let path = self.object_path(id, KEY);
        let raw = self
            .sink
            .get_bounded(&path, MAX_KEY_BYTES)
            .await
            .map_err(|e| match e {
                Error::NotFound(_) => Error::NotFound(format!(
                    "backup {id} has no key.json in {}; it is incomplete or was pruned",
                    self.describe()
                )),
                other => other,
            })?;
        let wrapped: WrappedKey = serde_json::from_slice(&raw).map_err(|e| {
            Error::integrity(
                format!("backup {id} key.json"),
                format!("not a wrapped key: {e}"),
            )
        })?;
        let ctx = KeyContext {
            backup_id: id.to_string(),
        };
        let dek = keys.unwrap(&wrapped, &ctx).await?;
        Ok((wrapped, dek))
    }

    /// Opens a complete backup: its key and manifest.
    pub(crate) async fn open_backup(&self, id: &str, keys: &dyn KeyProvider) -> Result<Opened> {
        validate_backup_id(id)?;
        let manifest_path = self.object_path(id, MANIFEST);
        // Check for the manifest first: a missing backup is "not found", not a key error.
        let sealed = self
            .sink
            .get_bounded(&manifest_path, MAX_MANIFEST_BYTES)
            .await
            .map_err(|e| match e {
                Error::NotFound(_) => Error::NotFound(format!(
                    "backup {id} in {}: no manifest (it does not exist or never completed); \
                 `list` shows the complete backups",
                    self.describe()
                )),
                other => other,
            })?;
        let (wrapped, dek) = self.read_key(id, keys).await?;
        let plain = codec::open_object(&dek, id, MANIFEST, &sealed)
            .map_err(|e| name_object(e, id, MANIFEST))?;
        let mut manifest = Manifest::from_json(id, &plain)?;
        let mut manifest_size = sealed.len() as u64;
        let mut manifest_object = MANIFEST.to_string();
        // An erasure commits its generation under `manifests/` (put-if-absent) before it
        // rewrites `manifest.fkm`: the highest generation stored is the backup's state.
        if let Some(g) = self.stored_generations(id).await?.last().copied()
            && g > manifest.generation
        {
            let object = generation_object(g);
            let sealed = self
                .sink
                .get_bounded(&self.object_path(id, &object), MAX_MANIFEST_BYTES)
                .await?;
            let plain = codec::open_object(&dek, id, &object, &sealed)
                .map_err(|e| name_object(e, id, &object))?;
            manifest = Manifest::from_json(id, &plain)?;
            if manifest.generation != g {
                return Err(Error::integrity(
                    format!("backup {id} object {object}"),
                    format!("it holds manifest generation {}", manifest.generation),
                ));
            }
            manifest_size = sealed.len() as u64;
            manifest_object = object;
        }
        Ok(Opened {
            id: id.to_string(),
            wrapped,
            dek,
            manifest,
            manifest_size,
            manifest_object,
        })
    }

    /// Manifest generations stored under a backup's `manifests/` folder, ascending (names
    /// firekeep never writes are ignored).
    pub(crate) async fn stored_generations(&self, id: &str) -> Result<Vec<u64>> {
        let prefix = self.object_path(id, MANIFESTS);
        let mut out: Vec<u64> = self
            .sink
            .list(&prefix)
            .try_filter_map(|m| {
                let g = m
                    .path
                    .strip_prefix(&prefix)
                    .and_then(|n| n.strip_suffix(".fkm"))
                    .filter(|n| n.len() == 20 && n.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|n| n.parse::<u64>().ok());
                futures::future::ready(Ok(g))
            })
            .try_collect()
            .await?;
        out.sort_unstable();
        Ok(out)
    }
}

/// Rewrites an integrity error so it names the backup and object.
pub(crate) fn name_object(e: Error, id: &str, object: &str) -> Error {
    match e {
        Error::Integrity { detail, .. } => {
            Error::integrity(format!("backup {id} object {object}"), detail)
        }
        other => other,
    }
}

/// The objects found in one backup folder.
#[derive(Debug, Default)]
pub(crate) struct BackupObjects {
    pub manifest: bool,
    pub key: bool,
    pub objects: Vec<ObjectMeta>,
}

/// An opened complete backup.
pub(crate) struct Opened {
    pub id: String,
    pub wrapped: WrappedKey,
    pub dek: SecretBytes,
    pub manifest: Manifest,
    pub manifest_size: u64,
    /// The object the manifest was read from: `manifest.fkm`, or `manifests/<g>.fkm` when
    /// an erasure committed a generation and stopped before rewriting `manifest.fkm`.
    pub manifest_object: String,
}

/// A complete backup, as `list` shows it (read from its manifest only).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct BackupSummary {
    /// Backup id.
    pub id: String,
    /// When the backup started (from the id).
    #[serde(serialize_with = "super::ser_ts")]
    pub created_at: Timestamp,
    /// The read time of the snapshot.
    #[serde(serialize_with = "super::ser_ts")]
    pub read_time: Timestamp,
    /// Source project id.
    pub project: String,
    /// Source database id.
    pub database: String,
    /// The scope backed up.
    pub scope: Scope,
    /// Documents.
    pub documents: u64,
    /// Uncompressed bytes.
    pub bytes: u64,
    /// Stored bytes (parts and manifest).
    pub stored_bytes: u64,
    /// Number of parts.
    pub parts: usize,
    /// Id of the provider key the data key is wrapped under now.
    pub key_id: String,
    /// Documents per top-level collection.
    pub collections: BTreeMap<String, u64>,
    /// User labels.
    pub labels: BTreeMap<String, String>,
    /// Manifest generation (1, plus one per erasure applied).
    pub generation: u64,
    /// Whether the backup is under legal hold (prune and erase refuse it).
    pub legal_hold: bool,
}

impl BackupSummary {
    pub(crate) fn from_opened(o: &Opened, legal_hold: bool) -> Result<Self> {
        let m = &o.manifest;
        Ok(BackupSummary {
            id: o.id.clone(),
            created_at: backup_id_time(&o.id).unwrap_or(Timestamp::MIN),
            read_time: m.read_time()?,
            project: m.project.clone(),
            database: m.database.clone(),
            scope: m.scope.clone(),
            documents: m.totals.documents,
            bytes: m.totals.bytes,
            stored_bytes: m.totals.stored_bytes + o.manifest_size,
            parts: m.parts.len(),
            key_id: o.wrapped.key_id.clone(),
            collections: m
                .totals
                .collections
                .iter()
                .map(|(k, v)| (k.clone(), v.documents))
                .collect(),
            labels: m.labels.clone(),
            generation: m.generation,
            legal_hold,
        })
    }
}

/// A complete backup that `list` could not open with the keys it was given, e.g. one made
/// under another key (a repository moved from a passphrase to KMS without `rotate-key`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct UnreadableBackup {
    /// Backup id.
    pub id: String,
    /// When the backup started (from the id), if the id is one firekeep made.
    #[serde(serialize_with = "super::ser_opt_ts")]
    pub created_at: Option<Timestamp>,
    /// The stable code of the error ([`Error::code`]), e.g. `ERR_KEY_MISMATCH`.
    pub code: String,
    /// What went wrong, naming the key id the backup needs where that is the problem.
    pub message: String,
}

/// What `list` found: the backups it could open and those it could not. Derefs to the
/// readable ones, newest first, so `list.first()`, `list.iter()` and `list.len()` work as
/// on a slice.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct BackupList {
    /// Complete backups opened with the client's keys, newest first.
    pub backups: Vec<BackupSummary>,
    /// Complete backups whose key or manifest could not be read, newest first.
    pub unreadable: Vec<UnreadableBackup>,
    /// What the repository's head record says: backups it names that are missing now
    /// (deleted, replaced, or the repository was rolled back).
    pub rollback: super::RollbackCheck,
}

impl BackupList {
    /// The newest backup that authenticated: what `latest` means. Backups newer than it
    /// that do not open are in [`BackupList::unreadable`] (under another key, damaged or
    /// planted) and are never `latest`: anyone who can write to the bucket could plant one.
    ///
    /// Fails with `Error::Integrity` when the head record names backups that are missing
    /// or no longer authenticate: `latest` would then quietly be older data. Name a backup
    /// id to proceed anyway.
    pub fn latest(&self) -> Result<&BackupSummary> {
        if !self.rollback.rolled_back.is_empty() {
            return Err(Error::integrity(
                "repository head",
                format!(
                    "backup(s) {} hold a manifest from before an erasure the head record \
                     names: the erasure was rolled back outside firekeep; run the erasure \
                     again before restoring",
                    self.rollback.rolled_back.join(", ")
                ),
            ));
        }
        if !self.rollback.missing.is_empty() {
            return Err(Error::integrity(
                "repository head",
                format!(
                    "backup(s) {} recorded as the newest (head record {}) are missing or no \
                     longer authenticate: they were deleted or replaced outside firekeep, or \
                     the repository was rolled back, so `latest` would be older data; \
                     investigate, or name a backup id explicitly",
                    self.rollback.missing.join(", "),
                    self.rollback.generation.unwrap_or_default()
                ),
            ));
        }
        self.backups.first().ok_or_else(|| {
            if self.unreadable.is_empty() {
                Error::NotFound(
                    "the repository has no complete backup yet; run `firekeep backup` first".into(),
                )
            } else {
                Error::NotFound(format!(
                    "no backup in the repository opens and authenticates with this key \
                     ({} could not be opened; `list` shows why)",
                    self.unreadable.len()
                ))
            }
        })
    }
}

impl std::ops::Deref for BackupList {
    type Target = [BackupSummary];
    fn deref(&self) -> &[BackupSummary] {
        &self.backups
    }
}

impl IntoIterator for BackupList {
    type Item = BackupSummary;
    type IntoIter = std::vec::IntoIter<BackupSummary>;
    fn into_iter(self) -> Self::IntoIter {
        self.backups.into_iter()
    }
}

impl<'a> IntoIterator for &'a BackupList {
    type Item = &'a BackupSummary;
    type IntoIter = std::slice::Iter<'a, BackupSummary>;
    fn into_iter(self) -> Self::IntoIter {
        self.backups.iter()
    }
}

/// Whether an error opening one backup concerns that backup alone (it is then listed as
/// unreadable) rather than the storage, the caller or the run (which fail the listing).
fn only_this_backup(e: &Error) -> bool {
    matches!(
        e,
        Error::KeyMismatch { .. }
            | Error::KeyProvider(_)
            | Error::Integrity { .. }
            | Error::InvalidInput(_)
    )
}

/// Backups `list` opens at once: each costs two small reads and a key unwrap (a KMS call for
/// KMS keys), so listing hundreds of backups in a bucket is bound by latency, not work.
const LIST_CONCURRENCY: usize = 8;

/// What `list` makes of one complete backup.
enum Listed {
    Readable(BackupSummary),
    Unreadable(UnreadableBackup, Error),
    /// Pruned since the scan.
    Gone,
}

/// Complete backups (those with a manifest), newest first, read from their manifests only
/// (no part is downloaded; up to [`LIST_CONCURRENCY`] at once). A backup whose key or
/// manifest cannot be read (another key, a key the KMS refuses, a damaged manifest) is
/// reported in [`BackupList::unreadable`] with its error; storage errors fail the listing,
/// and so does a key-provider error when no backup could be opened at all (a KMS that is
/// down or refuses these credentials).
pub async fn list(repo: &Repository, keys: &dyn KeyProvider) -> Result<BackupList> {
    let mut ids = repo.complete_ids().await?;
    ids.reverse();
    let mut out = BackupList {
        backups: Vec::with_capacity(ids.len()),
        unreadable: Vec::new(),
        rollback: super::RollbackCheck::default(),
    };
    let mut listed = futures::stream::iter(ids)
        .map(|id| list_one(repo, keys, id))
        .buffered(LIST_CONCURRENCY);
    let mut provider_error = None;
    while let Some(one) = listed.next().await {
        match one? {
            Listed::Readable(b) => out.backups.push(b),
            Listed::Unreadable(u, e) => {
                if let Error::KeyProvider(_) = e {
                    provider_error.get_or_insert(e);
                }
                out.unreadable.push(u);
            }
            Listed::Gone => {}
        }
    }
    match provider_error {
        // Nothing opened and the key provider failed: most likely it is down or refuses
        // these credentials altogether, which is an error, not a repository of unreadable
        // backups (a monitor would read it as "no backups").
        Some(e) if out.backups.is_empty() => Err(e),
        _ => {
            let ids: Vec<(String, u64)> = out
                .backups
                .iter()
                .map(|b| (b.id.clone(), b.generation))
                .collect();
            let other_key: Vec<String> = out
                .unreadable
                .iter()
                .filter(|u| u.code == "ERR_KEY_MISMATCH" || u.code == "ERR_KEY_PROVIDER")
                .map(|u| u.id.clone())
                .collect();
            out.rollback = super::head::check(repo, keys, &ids, &other_key).await?;
            Ok(out)
        }
    }
}

async fn list_one(repo: &Repository, keys: &dyn KeyProvider, id: String) -> Result<Listed> {
    let summary = match repo.open_backup(&id, keys).await {
        Ok(opened) => match super::hold::is_held(repo, &id).await {
            Ok(held) => BackupSummary::from_opened(&opened, held),
            Err(e) => return Err(e),
        },
        Err(e @ Error::NotFound(_)) => {
            // Pruned since the scan (no manifest now): no longer a complete backup. A
            // manifest without its key.json is a damaged backup, listed as such.
            match repo.sink().head(&repo.object_path(&id, MANIFEST)).await {
                Ok(_) => Err(Error::Integrity {
                    object: format!("backup {id}"),
                    detail: e.to_string(),
                }),
                Err(Error::NotFound(_)) => return Ok(Listed::Gone),
                Err(other) => return Err(other),
            }
        }
        Err(e) => Err(e),
    };
    match summary {
        Ok(b) => Ok(Listed::Readable(b)),
        Err(e) if only_this_backup(&e) => Ok(Listed::Unreadable(
            UnreadableBackup {
                created_at: backup_id_time(&id),
                // Folder names come from the bucket: escaped, so a planted name cannot
                // carry terminal control sequences into a listing.
                id: id.escape_default().to_string(),
                code: e.code().into(),
                message: e.to_string(),
            },
            e,
        )),
        Err(e) => Err(e),
    }
}

/// The manifest of a complete backup (every part with its size, hash, count and name
/// range, totals, read time, scope), decrypted and checked.
pub async fn read_manifest(
    repo: &Repository,
    keys: &dyn KeyProvider,
    backup_id: &str,
) -> Result<Manifest> {
    let manifest = repo.open_backup(backup_id, keys).await?.manifest;
    super::head::check_generation(repo, keys, backup_id, manifest.generation).await?;
    Ok(manifest)
}

/// A new backup id for a backup starting at `at`: `bk_YYYYMMDDTHHMMSS.mmmZ_` + 8 random hex
/// digits. Ids sort by time (as strings), and name nothing of the data.
pub fn new_backup_id(at: Timestamp) -> String {
    let stamp: String = at
        .to_rfc3339_millis()
        .chars()
        .filter(|c| *c != '-' && *c != ':')
        .collect();
    let mut rnd = [0u8; 4];
    getrandom::fill(&mut rnd).expect("operating system random number generator failed");
    let hex: String = rnd.iter().map(|b| format!("{b:02x}")).collect();
    format!("bk_{stamp}_{hex}")
}

/// The start time encoded in a backup id, if it is one firekeep made.
pub fn backup_id_time(id: &str) -> Option<Timestamp> {
    let rest = id.strip_prefix("bk_")?;
    let (stamp, _) = rest.split_once('_')?;
    // 20261123T175943.123Z
    let b = stamp.as_bytes();
    if b.len() != 20 || b[8] != b'T' || b[15] != b'.' || b[19] != b'Z' {
        return None;
    }
    let s = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &stamp[0..4],
        &stamp[4..6],
        &stamp[6..8],
        &stamp[9..11],
        &stamp[11..13],
        &stamp[13..19]
    );
    Timestamp::parse_rfc3339(&s).ok()
}

/// Refuses ids that could escape the backup folder.
pub(crate) fn validate_backup_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
        && id != "."
        && id != "..";
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "{id:?} is not a backup id (like bk_20260101T000000.000Z_0a1b2c3d); `list` shows them"
        )))
    }
}
