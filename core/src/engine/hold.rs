//! Legal hold: a backup marked as evidence that `prune` and `erase` refuse to touch until
//! the hold is released.
//!
//! The hold is the object `hold.fkl` in the backup's folder, sealed under the backup's
//! data key like its manifest (object name `hold.fkl`, no compression). Its plaintext is
//! JSON `{"backup_id", "held_at": RFC 3339, "reason"}`; the reason is sealed because it may
//! name a case or a person.
//!
//! Deletion paths check only that the object *exists*: a hold that does not authenticate
//! (planted or damaged) still blocks deletion, because whoever can write to the bucket
//! can delete a backup anyway, while a hold that a bucket writer could void by corrupting
//! it would protect nothing. [`release`] needs the key (the backup must open) and deletes
//! the object.
//!
//! Where the sink has the [`ObjectLegalHold`](crate::storage::ObjectLegalHold) capability
//! (S3 with Object Lock), placing a hold also sets the store's own legal hold on every
//! object in the backup's folder (parts, manifests, `key.json`, `hold.fkl`, a distributed
//! backup's plan and task results), after the hold record is written; releasing clears them
//! before the record is deleted. So the repository record is the first thing placed and
//! the last thing removed:
//!
//! * place: if the store-level hold fails part-way, the record stays (the stronger state)
//!   and the error names the objects left and says to run place again, which is idempotent
//!   (setting ON twice is a no-op in S3);
//! * release: if clearing fails, the record stays (prune and erase still refuse), and the
//!   error says to run release again.
//!
//! A bucket without Object Lock is reported in [`LegalHold::object_lock`] under
//! [`ObjectHoldMode::Auto`], and is an error under [`ObjectHoldMode::Required`].

use super::codec;
use super::repo::Repository;
use crate::keys::KeyProvider;
use crate::model::Timestamp;
use crate::storage::{ObjectHoldAnswer, ObjectHoldMode};
use crate::{Error, Result};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};

/// Object name of the hold inside a backup folder.
pub(crate) const HOLD: &str = "hold.fkl";
/// Largest hold object read (a short JSON record, sealed).
const MAX_HOLD_BYTES: u64 = 64 << 10;
/// Longest reason accepted.
const MAX_REASON_CHARS: usize = 1000;
/// Store-level hold requests in flight at once (one small request per object).
const HOLD_CONCURRENCY: usize = 8;
/// Objects named in an error about the store-level hold (the rest are counted).
const NAMED_IN_ERROR: usize = 5;

/// A legal hold on one backup.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LegalHold {
    /// The backup held.
    pub backup_id: String,
    /// When the hold was placed (RFC 3339).
    pub held_at: String,
    /// Why (a case number, a ticket); sealed in the repository.
    pub reason: String,
    /// What placing or releasing did to the store's own per-object legal hold; `None` when
    /// the hold was only read. Never part of the sealed record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_lock: Option<ObjectLockOutcome>,
}

/// The store-level (S3 Object Lock) side of placing or releasing a hold.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ObjectLockOutcome {
    /// What happened.
    pub status: ObjectLockStatus,
    /// Objects of the backup whose store-level legal hold is now ON (place) or OFF
    /// (release); 0 unless `status` is `applied`.
    pub objects: u64,
    /// Why nothing was set, for `not_supported` and `disabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// See [`ObjectLockOutcome::status`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectLockStatus {
    /// Every object of the backup has the store's legal hold set (place) or cleared
    /// (release).
    Applied,
    /// The store has no per-object legal hold (local, GCS, Azure, memory), or the S3 bucket
    /// was created without Object Lock: the repository hold alone protects the backup.
    NotSupported,
    /// Turned off by the storage option `object_legal_hold=off`.
    Disabled,
}

impl ObjectLockOutcome {
    fn not_supported(detail: impl Into<String>) -> Self {
        ObjectLockOutcome {
            status: ObjectLockStatus::NotSupported,
            objects: 0,
            detail: Some(detail.into()),
        }
    }

    /// The status as its wire name (`applied`, `not_supported`, `disabled`).
    pub fn status_name(&self) -> &'static str {
        match self.status {
            ObjectLockStatus::Applied => "applied",
            ObjectLockStatus::NotSupported => "not_supported",
            ObjectLockStatus::Disabled => "disabled",
        }
    }
}

/// Whether backup `id` is held: a hold object exists, authenticated or not (see the
/// module documentation).
pub(crate) async fn is_held(repo: &Repository, id: &str) -> Result<bool> {
    match repo.sink().head(&repo.object_path(id, HOLD)).await {
        Ok(_) => Ok(true),
        Err(Error::NotFound(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Fails with `Error::PermissionDenied` naming the held backups among `ids`.
pub(crate) async fn refuse_held(repo: &Repository, ids: &[String], what: &str) -> Result<()> {
    let mut held = Vec::new();
    for id in ids {
        if is_held(repo, id).await? {
            held.push(id.clone());
        }
    }
    if held.is_empty() {
        return Ok(());
    }
    Err(Error::PermissionDenied(format!(
        "backup(s) {} are under legal hold, so {what} is refused; release the hold \
         (`firekeep hold release <backup>`) once the matter allows it",
        held.join(", ")
    )))
}

/// Places a legal hold on backup `id` (which must open with `keys`). Holding a backup that
/// is already held keeps the first hold and returns it.
pub async fn hold(
    repo: &Repository,
    keys: &dyn KeyProvider,
    id: &str,
    reason: &str,
) -> Result<LegalHold> {
    if reason.chars().count() > MAX_REASON_CHARS || reason.chars().any(char::is_control) {
        return Err(Error::InvalidInput(format!(
            "a hold reason is one line of at most {MAX_REASON_CHARS} characters"
        )));
    }
    let opened = repo.open_backup(id, keys).await?;
    let record = LegalHold {
        backup_id: id.to_string(),
        held_at: Timestamp::now().to_rfc3339(),
        reason: reason.to_string(),
        object_lock: None,
    };
    let json = serde_json::to_vec(&record)
        .map_err(|e| Error::InvalidInput(format!("cannot encode the hold: {e}")))?;
    let sealed = codec::seal_object(&opened.dek, id, HOLD, opened.manifest.segment_size, &json)?;
    let mut placed = match repo
        .sink()
        .put_if_absent(&repo.object_path(id, HOLD), Bytes::from(sealed))
        .await
    {
        Ok(()) => record,
        Err(Error::AlreadyExists(_)) => match read_hold(repo, keys, id).await? {
            Some(existing) => existing,
            None => {
                return Err(Error::Storage(format!(
                    "the hold on backup {id} changed while it was being placed; run again"
                )));
            }
        },
        Err(e) => return Err(e),
    };
    // After the record: a failure here leaves the backup held in the repository.
    placed.object_lock = Some(set_object_holds(repo, id, true).await?);
    Ok(placed)
}

/// Sets (`on`) or clears the store-level legal hold on every object of backup `id`.
async fn set_object_holds(repo: &Repository, id: &str, on: bool) -> Result<ObjectLockOutcome> {
    let Some(cap) = repo.sink().object_legal_hold() else {
        return Ok(ObjectLockOutcome::not_supported(format!(
            "{} has no per-object legal hold; the repository hold alone protects the backup",
            repo.sink().describe()
        )));
    };
    let mode = cap.mode();
    if mode == ObjectHoldMode::Off {
        return Ok(ObjectLockOutcome {
            status: ObjectLockStatus::Disabled,
            objects: 0,
            detail: Some(
                "the storage option object_legal_hold=off leaves the objects' S3 legal hold \
                 untouched"
                    .into(),
            ),
        });
    }
    let mut paths: Vec<String> = repo
        .sink()
        .list(&repo.backup_dir(id))
        .map_ok(|m| m.path)
        .try_collect()
        .await?;
    // Placing: the record's own hold first; it also answers whether the bucket supports
    // the hold at all. Releasing: the record's hold last, once every other object is
    // cleared, so a failed release leaves the record held in S3 as well as present.
    let record = repo.object_path(id, HOLD);
    paths.retain(|p| *p != record);
    let last = if on {
        paths.insert(0, record);
        None
    } else if paths.is_empty() {
        paths.push(record);
        None
    } else {
        Some(record)
    };
    let total = paths.len() + usize::from(last.is_some());
    let first = paths.remove(0);
    match cap.set_legal_hold(&first, on).await {
        Ok(ObjectHoldAnswer::NotEnabled(why)) => {
            // Releasing has nothing to clear on such a bucket, whatever the mode.
            if on && mode == ObjectHoldMode::Required {
                return Err(Error::InvalidConfig(format!(
                    "{why}; backup {id} is held in the repository only (the storage option \
                     object_legal_hold=required asks for the S3 legal hold too: use a bucket \
                     with Object Lock, or set object_legal_hold=auto)"
                )));
            }
            return Ok(ObjectLockOutcome::not_supported(why));
        }
        Ok(_) => {}
        Err(e) => return Err(hold_failure(id, on, total, vec![(first, e)])),
    }
    let results: Vec<std::result::Result<bool, (String, Error)>> = futures::stream::iter(paths)
        .map(|p| async move {
            match cap.set_legal_hold(&p, on).await {
                Ok(ObjectHoldAnswer::NotEnabled(why)) => Err((p, Error::Storage(why))),
                Ok(_) => Ok(true),
                // Gone since the listing (a concurrent cleanup of stale task results).
                Err(Error::NotFound(_)) => Ok(false),
                Err(e) => Err((p, e)),
            }
        })
        .buffer_unordered(HOLD_CONCURRENCY)
        .collect()
        .await;
    let mut done = 1u64;
    let mut failed = Vec::new();
    for r in results {
        match r {
            Ok(true) => done += 1,
            Ok(false) => {}
            Err(f) => failed.push(f),
        }
    }
    if !failed.is_empty() {
        return Err(hold_failure(id, on, total, failed));
    }
    if let Some(record) = last {
        match cap.set_legal_hold(&record, on).await {
            Ok(ObjectHoldAnswer::NotEnabled(why)) => {
                return Err(hold_failure(
                    id,
                    on,
                    total,
                    vec![(record, Error::Storage(why))],
                ));
            }
            Ok(_) => done += 1,
            Err(e) => return Err(hold_failure(id, on, total, vec![(record, e)])),
        }
    }
    Ok(ObjectLockOutcome {
        status: ObjectLockStatus::Applied,
        objects: done,
        detail: None,
    })
}

/// The error for store-level holds that could not be set or cleared: names the objects
/// (a few), keeps the first error's kind, and says what to run again.
fn hold_failure(id: &str, on: bool, total: usize, mut failed: Vec<(String, Error)>) -> Error {
    failed.sort_by(|a, b| a.0.cmp(&b.0));
    let names: Vec<&str> = failed
        .iter()
        .take(NAMED_IN_ERROR)
        .map(|(p, _)| p.as_str())
        .collect();
    let more = failed.len().saturating_sub(NAMED_IN_ERROR);
    let (verb, state, again) = if on {
        (
            "set",
            "backup is held in the repository (prune and erase refuse it)",
            format!("`firekeep hold place {id}`"),
        )
    } else {
        (
            "cleared",
            "hold was NOT released (prune and erase still refuse the backup)",
            format!("`firekeep hold release {id}`"),
        )
    };
    let msg = format!(
        "the S3 legal hold could not be {verb} on {} of the {total} objects of backup {id} \
         ({}{}): {}; the {state}; fix that and run {again} again (it is idempotent)",
        failed.len(),
        names.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        },
        failed[0].1,
    );
    match &failed[0].1 {
        Error::PermissionDenied(_) => Error::PermissionDenied(msg),
        Error::InvalidConfig(_) => Error::InvalidConfig(msg),
        Error::Unauthenticated(_) => Error::Unauthenticated(msg),
        _ => Error::Storage(msg),
    }
}

/// The hold on backup `id`, if any, authenticated with the backup's key. A hold object
/// that does not authenticate is an `Error::Integrity` (it still blocks deletion).
pub async fn read_hold(
    repo: &Repository,
    keys: &dyn KeyProvider,
    id: &str,
) -> Result<Option<LegalHold>> {
    super::repo::validate_backup_id(id)?;
    let sealed = match repo
        .sink()
        .get_bounded(&repo.object_path(id, HOLD), MAX_HOLD_BYTES)
        .await
    {
        Ok(b) => b,
        Err(Error::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let (_, dek) = repo.read_key(id, keys).await?;
    let plain = codec::open_object(&dek, id, HOLD, &sealed)
        .map_err(|e| super::repo::name_object(e, id, HOLD))?;
    let record: LegalHold = serde_json::from_slice(&plain).map_err(|e| {
        Error::integrity(
            format!("backup {id} object {HOLD}"),
            format!("not a hold: {e}"),
        )
    })?;
    let mut record = record;
    // Only what placing or releasing did: a sealed record never carries it.
    record.object_lock = None;
    if record.backup_id != id {
        return Err(Error::integrity(
            format!("backup {id} object {HOLD}"),
            "the hold names another backup",
        ));
    }
    Ok(Some(record))
}

/// Releases the hold on backup `id` (which must open with `keys`). Returns the released
/// hold (with what was done to the store-level hold in [`LegalHold::object_lock`]), or
/// `None` when the backup was not held. A hold that does not authenticate is released too
/// (it is reported by [`read_hold`], and only the key holder gets here). The store-level
/// holds are cleared before the record is deleted; if clearing fails, the record stays.
pub async fn release(
    repo: &Repository,
    keys: &dyn KeyProvider,
    id: &str,
) -> Result<Option<LegalHold>> {
    repo.open_backup(id, keys).await?;
    if !is_held(repo, id).await? {
        return Ok(None);
    }
    let existing = match read_hold(repo, keys, id).await {
        Ok(h) => h,
        Err(Error::Integrity { .. }) => None,
        Err(e) => return Err(e),
    };
    let outcome = set_object_holds(repo, id, false).await?;
    match repo.sink().delete(&repo.object_path(id, HOLD)).await {
        Ok(()) | Err(Error::NotFound(_)) => {}
        Err(e) => return Err(e),
    }
    Ok(existing.map(|h| LegalHold {
        object_lock: Some(outcome),
        ..h
    }))
}
