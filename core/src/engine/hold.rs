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
//! the object. Stores with S3 Object Lock can add a legal hold on the objects themselves;
//! firekeep does not set it (the object_store crate has no call for it), see
//! docs/storage.md.

use super::codec;
use super::repo::Repository;
use crate::keys::KeyProvider;
use crate::model::Timestamp;
use crate::{Error, Result};
use bytes::Bytes;

/// Object name of the hold inside a backup folder.
pub(crate) const HOLD: &str = "hold.fkl";
/// Largest hold object read (a short JSON record, sealed).
const MAX_HOLD_BYTES: u64 = 64 << 10;
/// Longest reason accepted.
const MAX_REASON_CHARS: usize = 1000;

/// A legal hold on one backup.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LegalHold {
    /// The backup held.
    pub backup_id: String,
    /// When the hold was placed (RFC 3339).
    pub held_at: String,
    /// Why (a case number, a ticket); sealed in the repository.
    pub reason: String,
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
    };
    let json = serde_json::to_vec(&record)
        .map_err(|e| Error::InvalidInput(format!("cannot encode the hold: {e}")))?;
    let sealed = codec::seal_object(&opened.dek, id, HOLD, opened.manifest.segment_size, &json)?;
    match repo
        .sink()
        .put_if_absent(&repo.object_path(id, HOLD), Bytes::from(sealed))
        .await
    {
        Ok(()) => Ok(record),
        Err(Error::AlreadyExists(_)) => match read_hold(repo, keys, id).await? {
            Some(existing) => Ok(existing),
            None => Err(Error::Storage(format!(
                "the hold on backup {id} changed while it was being placed; run again"
            ))),
        },
        Err(e) => Err(e),
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
    if record.backup_id != id {
        return Err(Error::integrity(
            format!("backup {id} object {HOLD}"),
            "the hold names another backup",
        ));
    }
    Ok(Some(record))
}

/// Releases the hold on backup `id` (which must open with `keys`). Returns the released
/// hold, or `None` when the backup was not held. A hold that does not authenticate is
/// released too (it is reported by [`read_hold`], and only the key holder gets here).
pub async fn release(
    repo: &Repository,
    keys: &dyn KeyProvider,
    id: &str,
) -> Result<Option<LegalHold>> {
    repo.open_backup(id, keys).await?;
    let existing = match read_hold(repo, keys, id).await {
        Ok(h) => h,
        Err(Error::Integrity { .. }) => None,
        Err(e) => return Err(e),
    };
    match repo.sink().delete(&repo.object_path(id, HOLD)).await {
        Ok(()) | Err(Error::NotFound(_)) => {}
        Err(e) => return Err(e),
    }
    Ok(existing)
}
