//! The repository head: an authenticated record of the newest backups, so that deleting
//! the newest manifests (a rollback) is detected instead of `restore latest` quietly
//! restoring older data.
//!
//! After each backup commits its manifest (and after prune and key rotation), the engine
//! writes `<root>/heads/<generation>.fkh`: the generation as 20 zero-padded decimal digits
//! (names sort by generation), written with put-if-absent so two concurrent writers never
//! replace each other's record — the loser reads the winner's record, merges its own ids
//! in and takes the next generation. The object is JSON `{"format": 1, "generation": n,
//! "wrapped": <a wrapped data key as in key.json>, "sealed": <base64 sealed object>}`; the
//! sealed object (the ordinary object format, backup id `head-<n>`, object name `head`)
//! holds JSON `{"generation": n, "written_at": RFC 3339, "newest": [ids, newest first]}`.
//! The data key is fresh per record and wrapped by the repository's key provider with the
//! key context `head-<n>`, so a record cannot be renamed to another generation, forged
//! without the key, or moved between generations.
//!
//! `list` reads the newest record that authenticates (trying at most
//! [`MAX_HEAD_CANDIDATES`], the rest are reported) and names every backup it records
//! that is no longer there or no longer authenticates. What it cannot detect: an attacker
//! who deletes the newest backups *and* the head records written after them rolls the
//! repository back to an older consistent state. The generation is also recorded in each
//! backup's audit event (the audit trail is a hash chain), and object lock or bucket
//! versioning make such deletions impossible or recoverable.

use super::codec;
use super::repo::Repository;
use crate::format::{self, Compression, ObjectHeader};
use crate::keys::{KeyContext, KeyProvider, WrappedKey};
use crate::model::Timestamp;
use crate::{Error, Result};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use futures::TryStreamExt;
use std::collections::BTreeMap;

/// How many of the newest backup ids a head record names.
pub const HEAD_NEWEST: usize = 16;
/// Largest head record read (it holds a wrapped key and a few ids).
pub const MAX_HEAD_BYTES: u64 = 64 << 10;
/// Head records tried, newest generation first, before giving up: planted records with
/// huge generations cost at most this many reads and unwraps.
pub const MAX_HEAD_CANDIDATES: usize = 8;
/// Attempts to write a record when concurrent writers keep taking the next generation.
const WRITE_ATTEMPTS: usize = 16;
/// Older records kept when a new one is written (the rest are deleted).
const KEEP_RECORDS: u64 = 8;
const HEAD_FORMAT: u32 = 1;

/// What the newest authenticated head record says about the repository.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RollbackCheck {
    /// Generation of the newest head record that authenticates; `None` when there is none
    /// (a repository from before head records, or every record was deleted or planted).
    pub generation: Option<u64>,
    /// Backups that record names which are missing now or do not authenticate, newest
    /// first: deleted outside firekeep, replaced, or the repository was rolled back.
    pub missing: Vec<String>,
    /// Head records that did not authenticate (planted or damaged), with the reason.
    pub unreadable_records: Vec<String>,
    /// Backups whose manifest is older than the generation an erasure committed (the
    /// record names it): the pre-erasure manifest was put back, rolling the erasure back.
    #[serde(default)]
    pub rolled_back: Vec<String>,
}

impl RollbackCheck {
    /// Whether nothing suspicious was found.
    pub fn is_ok(&self) -> bool {
        self.missing.is_empty() && self.unreadable_records.is_empty() && self.rolled_back.is_empty()
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Envelope {
    format: u32,
    generation: u64,
    wrapped: WrappedKey,
    sealed: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Body {
    generation: u64,
    written_at: String,
    newest: Vec<String>,
    /// Manifest generation each erased backup reached (`engine::erase`), for every erased
    /// backup still present: an older manifest put back is a rolled-back erasure.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    erased: BTreeMap<String, u64>,
}

/// Erased backups a record keeps (bounded so a record stays far below
/// [`MAX_HEAD_BYTES`]); beyond it the oldest ids are dropped.
const MAX_ERASED: usize = 512;

/// An authenticated head record.
pub(crate) struct Head {
    pub generation: u64,
    pub newest: Vec<String>,
    pub erased: BTreeMap<String, u64>,
}

fn heads_prefix(repo: &Repository) -> String {
    format!("{}/heads/", repo.root())
}

fn record_path(repo: &Repository, generation: u64) -> String {
    format!("{}{generation:020}.fkh", heads_prefix(repo))
}

fn context(generation: u64) -> KeyContext {
    KeyContext {
        backup_id: format!("head-{generation}"),
    }
}

/// Generations of the stored records, newest first (names that are not a generation are
/// ignored: firekeep never writes them).
async fn generations(repo: &Repository) -> Result<Vec<u64>> {
    let prefix = heads_prefix(repo);
    let mut out: Vec<u64> = repo
        .sink()
        .list(&prefix)
        .try_filter_map(|m| {
            let g = m
                .path
                .strip_prefix(&prefix)
                .and_then(|n| n.strip_suffix(".fkh"))
                .filter(|n| n.len() == 20 && n.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|n| n.parse::<u64>().ok());
            futures::future::ready(Ok(g))
        })
        .try_collect()
        .await?;
    out.sort_unstable_by(|a, b| b.cmp(a));
    Ok(out)
}

async fn read_record(repo: &Repository, keys: &dyn KeyProvider, generation: u64) -> Result<Head> {
    let path = record_path(repo, generation);
    let object = format!("head record {generation}");
    let raw = repo.sink().get_bounded(&path, MAX_HEAD_BYTES).await?;
    let env: Envelope = serde_json::from_slice(&raw)
        .map_err(|e| Error::integrity(&object, format!("not a head record: {e}")))?;
    if env.format != HEAD_FORMAT || env.generation != generation {
        return Err(Error::integrity(
            &object,
            "its format or generation does not match its name",
        ));
    }
    let dek = keys.unwrap(&env.wrapped, &context(generation)).await?;
    let sealed = STANDARD
        .decode(env.sealed.as_bytes())
        .map_err(|e| Error::integrity(&object, format!("sealed body is not base64: {e}")))?;
    let plain = codec::open_object(&dek, &format!("head-{generation}"), "head", &sealed)
        .map_err(|e| super::repo::name_object(e, "head", &object))?;
    let body: Body = serde_json::from_slice(&plain)
        .map_err(|e| Error::integrity(&object, format!("body is not a head record: {e}")))?;
    if body.generation != generation
        || body.newest.len() > HEAD_NEWEST
        || body.erased.len() > MAX_ERASED
    {
        return Err(Error::integrity(
            &object,
            "its body does not match its name",
        ));
    }
    Ok(Head {
        generation,
        newest: body.newest,
        erased: body.erased,
    })
}

/// The newest head record that authenticates, and the newer ones that did not (reasons).
pub(crate) async fn read_head(
    repo: &Repository,
    keys: &dyn KeyProvider,
) -> Result<(Option<Head>, Vec<String>)> {
    let mut unreadable = Vec::new();
    for generation in generations(repo)
        .await?
        .into_iter()
        .take(MAX_HEAD_CANDIDATES)
    {
        match read_record(repo, keys, generation).await {
            Ok(head) => return Ok((Some(head), unreadable)),
            // Deleted meanwhile (pruned by a newer writer): try the next.
            Err(Error::NotFound(_)) => {}
            Err(
                e @ (Error::Integrity { .. }
                | Error::InvalidInput(_)
                | Error::KeyMismatch { .. }
                | Error::KeyProvider(_)),
            ) => unreadable.push(format!("head record {generation}: {e}")),
            Err(e) => return Err(e),
        }
    }
    Ok((None, unreadable))
}

/// Compares the newest head record with the backups that authenticated. `other_key` are
/// backups present under another key (after a rotation, or a repository under several
/// keys): not missing, and shown by `list` as unreadable with the key they need.
/// `authenticated` pairs each backup id with its manifest generation.
pub(crate) async fn check(
    repo: &Repository,
    keys: &dyn KeyProvider,
    authenticated: &[(String, u64)],
    other_key: &[String],
) -> Result<RollbackCheck> {
    let (head, unreadable_records) = read_head(repo, keys).await?;
    let Some(head) = head else {
        return Ok(RollbackCheck {
            generation: None,
            missing: Vec::new(),
            unreadable_records,
            rolled_back: Vec::new(),
        });
    };
    let missing = head
        .newest
        .iter()
        .filter(|id| !authenticated.iter().any(|(a, _)| a == *id) && !other_key.contains(id))
        .cloned()
        .collect();
    let rolled_back = authenticated
        .iter()
        .filter(|(id, g)| head.erased.get(id).is_some_and(|erased| erased > g))
        .map(|(id, _)| id.clone())
        .collect();
    Ok(RollbackCheck {
        generation: Some(head.generation),
        missing,
        unreadable_records,
        rolled_back,
    })
}

/// Fails when the newest head record says an erasure took backup `id` to a manifest
/// generation above `generation`: the manifest read is a pre-erasure one put back.
pub(crate) async fn check_generation(
    repo: &Repository,
    keys: &dyn KeyProvider,
    id: &str,
    generation: u64,
) -> Result<()> {
    match erased_generation(repo, keys, id).await? {
        Some((record, erased)) if erased > generation => Err(Error::integrity(
            format!("backup {id}"),
            format!(
                "its manifest is generation {generation}, but head record {record} says an \
                 erasure committed generation {erased}: the pre-erasure manifest was put back \
                 (a rollback). Do not restore it; run `firekeep erase` again with the \
                 original request, or restore the bucket's later object versions"
            ),
        )),
        _ => Ok(()),
    }
}

/// The newest head record's generation and the manifest generation it says an erasure
/// took backup `id` to, if any.
pub(crate) async fn erased_generation(
    repo: &Repository,
    keys: &dyn KeyProvider,
    id: &str,
) -> Result<Option<(u64, u64)>> {
    let (head, _) = read_head(repo, keys).await?;
    Ok(head.and_then(|h| h.erased.get(id).map(|g| (h.generation, *g))))
}

/// Records in the head that an erasure took backup `id` to manifest `generation`.
pub(crate) async fn record_erasure(
    repo: &Repository,
    keys: &dyn KeyProvider,
    id: &str,
    generation: u64,
) -> Result<u64> {
    update_inner(repo, keys, keys, &[], &[], Some((id, generation))).await
}

/// Writes the next head record: the newest recorded ids with `add` merged in and `remove`
/// taken out. Returns its generation. Concurrent writers each get their own generation
/// (put-if-absent); whoever writes second includes the first one's ids.
pub(crate) async fn update(
    repo: &Repository,
    keys: &dyn KeyProvider,
    add: &[String],
    remove: &[String],
) -> Result<u64> {
    update_rekeyed(repo, keys, keys, add, remove).await
}

/// [`update`], reading the current record with `read` and writing the new one under
/// `write` (key rotation moves the head to the new key with the backups).
pub(crate) async fn update_rekeyed(
    repo: &Repository,
    read: &dyn KeyProvider,
    keys: &dyn KeyProvider,
    add: &[String],
    remove: &[String],
) -> Result<u64> {
    update_inner(repo, read, keys, add, remove, None).await
}

async fn update_inner(
    repo: &Repository,
    read: &dyn KeyProvider,
    keys: &dyn KeyProvider,
    add: &[String],
    remove: &[String],
    erased: Option<(&str, u64)>,
) -> Result<u64> {
    for _ in 0..WRITE_ATTEMPTS {
        let (mut head, _) = read_head(repo, read).await?;
        if !std::ptr::addr_eq(read, keys) {
            // A resumed rotation may already have moved the head to the new key: take
            // whichever authenticated record is newer.
            let (under_new, _) = read_head(repo, keys).await?;
            if under_new.as_ref().map(|h| h.generation) > head.as_ref().map(|h| h.generation) {
                head = under_new;
            }
        }
        // The next generation after every stored record, readable or not: a record under
        // another key (a repository under several keys) or a planted one occupies its
        // generation, and put-if-absent would refuse it forever.
        let newest_stored = generations(repo).await?.first().copied();
        let generation = match newest_stored {
            None => 1,
            Some(g) => g.checked_add(1).ok_or_else(|| {
                Error::integrity(
                    format!("head record {g}"),
                    "a record at the largest possible generation was planted; delete it \
                     (it does not authenticate) and run the operation again",
                )
            })?,
        };
        let (mut newest, mut erased_map) = head.map(|h| (h.newest, h.erased)).unwrap_or_default();
        if let Some((id, g)) = erased {
            let entry = erased_map.entry(id.to_string()).or_default();
            *entry = (*entry).max(g);
        }
        erased_map.retain(|id, _| !remove.contains(id));
        while erased_map.len() > MAX_ERASED {
            // Ids sort by time: the oldest backup's entry goes first.
            erased_map.pop_first();
        }
        newest.extend(add.iter().cloned());
        newest.retain(|id| !remove.contains(id));
        newest.sort_unstable_by(|a, b| b.cmp(a));
        newest.dedup();
        newest.truncate(HEAD_NEWEST);
        let body = Body {
            generation,
            written_at: Timestamp::now().to_rfc3339(),
            newest,
            erased: erased_map,
        };
        let json = serde_json::to_vec(&body)
            .map_err(|e| Error::InvalidInput(format!("cannot encode the head record: {e}")))?;
        let ctx = context(generation);
        let (dek, wrapped) = keys.generate_data_key(&ctx).await?;
        let header = ObjectHeader {
            key_id: format::data_key_id(&dek),
            backup_id: ctx.backup_id.clone(),
            object_name: "head".into(),
            compression: Compression::None,
            segment_size: super::DEFAULT_SEGMENT_SIZE,
        };
        let sealed = format::seal(&dek, &header, &json)?;
        let env = Envelope {
            format: HEAD_FORMAT,
            generation,
            wrapped,
            sealed: STANDARD.encode(sealed),
        };
        let bytes = serde_json::to_vec(&env)
            .map_err(|e| Error::InvalidInput(format!("cannot encode the head record: {e}")))?;
        match repo
            .sink()
            .put_if_absent(&record_path(repo, generation), Bytes::from(bytes))
            .await
        {
            Ok(()) => {
                // Old records are history nobody reads; a few are kept so a reader racing
                // this write still finds the one it listed.
                for old in generations(repo).await? {
                    if old + KEEP_RECORDS <= generation {
                        let _ = repo.sink().delete(&record_path(repo, old)).await;
                    }
                }
                return Ok(generation);
            }
            Err(Error::AlreadyExists(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Error::Storage(format!(
        "could not write the repository head record after {WRITE_ATTEMPTS} attempts (other \
         writers kept taking the next generation); run the operation again"
    )))
}
