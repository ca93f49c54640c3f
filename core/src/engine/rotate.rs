//! `rotate_key`: re-wrap every backup's data key under a new key provider. Data is not
//! re-encrypted; only each `key.json` is replaced (atomically), after checking that the
//! data key opens the backup's manifest.

use super::codec;
use super::progress::CancellationToken;
use super::repo::{KEY, MANIFEST, MAX_KEY_BYTES, MAX_MANIFEST_BYTES, Repository, name_object};
use crate::keys::{KeyContext, KeyProvider};
use crate::{Error, Result};
use bytes::Bytes;
use futures::StreamExt;

/// What a key rotation did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RotateReport {
    /// Key id the data keys were wrapped under.
    pub from_key_id: String,
    /// Key id they are wrapped under now.
    pub to_key_id: String,
    /// Backups whose data key was re-wrapped.
    pub rotated: Vec<String>,
    /// Backups already wrapped under the new key (a resumed rotation).
    pub already_rotated: Vec<String>,
    /// Backups left as they are because their data key is wrapped under neither key (e.g. a
    /// repository that moved from a passphrase to KMS): rotate them with their own key.
    pub other_keys: Vec<OtherKeyBackup>,
    /// Folders with a manifest whose `key.json` or manifest cannot be read or authenticated
    /// (damaged, planted, or refused by the key): left as they are, each with its error.
    /// They do not stop the rotation of the others.
    #[serde(default)]
    pub unreadable: Vec<super::repo::UnreadableBackup>,
}

/// A backup `rotate_key` left alone: its data key is wrapped under another key.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct OtherKeyBackup {
    /// Backup id.
    pub id: String,
    /// The key id its data key is wrapped under (from its `key.json`).
    pub key_id: String,
}

/// Re-wraps the data key of every complete backup from `from` to `to`.
///
/// Backups under a third key are skipped and named in [`RotateReport::other_keys`], so a
/// repository holding backups under several keys can be rotated one key at a time; if
/// `from` opens none of the backups (and none is under `to` yet), that is
/// `Error::KeyMismatch` naming a key a backup needs. Up to [`ROTATE_CONCURRENCY`] backups
/// are re-wrapped at once (each `key.json` is replaced atomically, after the new wrapping
/// was checked to open). Any other error stops the rotation, and some of the backups in
/// flight beside the failed one may have been rotated by then: rotation is resumable, and
/// running it again reports them as already under `to`.
pub async fn rotate_key(
    repo: &Repository,
    from: &dyn KeyProvider,
    to: &dyn KeyProvider,
    cancel: &CancellationToken,
) -> Result<RotateReport> {
    let mut report = RotateReport {
        from_key_id: from.key_id().to_string(),
        to_key_id: to.key_id().to_string(),
        ..Default::default()
    };
    let mut first_mismatch = None;
    let mut done = futures::stream::iter(repo.complete_ids().await?)
        .map(|id| rotate_one(repo, from, to, cancel, id))
        .buffered(ROTATE_CONCURRENCY);
    while let Some(one) = done.next().await {
        match one? {
            Rotated::Now(id) => report.rotated.push(id),
            Rotated::Already(id) => report.already_rotated.push(id),
            Rotated::OtherKey(b, e) => {
                first_mismatch.get_or_insert(e);
                report.other_keys.push(b);
            }
            Rotated::Unreadable(u) => report.unreadable.push(u),
        }
    }
    match first_mismatch {
        // `from` is the key of no backup here: the caller has the wrong key.
        Some(e) if report.rotated.is_empty() && report.already_rotated.is_empty() => Err(e),
        _ => {
            // The head record moves to the new key with the backups, or readers holding
            // only the new key could no longer tell a rollback.
            if !report.rotated.is_empty() {
                super::head::update_rekeyed(repo, from, to, &[], &[]).await?;
            }
            Ok(report)
        }
    }
}

/// Backups re-wrapped at once: each is a few reads and writes and two or three key-provider
/// calls (KMS round trips), so a repository of hundreds is bound by latency.
const ROTATE_CONCURRENCY: usize = 8;

/// What `rotate_key` did with one backup.
enum Rotated {
    Now(String),
    Already(String),
    /// Under a third key; the key mismatch `from` reported.
    OtherKey(OtherKeyBackup, Error),
    /// Its key.json or manifest does not parse or authenticate.
    Unreadable(super::repo::UnreadableBackup),
}

async fn rotate_one(
    repo: &Repository,
    from: &dyn KeyProvider,
    to: &dyn KeyProvider,
    cancel: &CancellationToken,
    id: String,
) -> Result<Rotated> {
    match rotate_checked(repo, from, to, cancel, id.clone()).await {
        // A problem of this folder alone (junk key.json, a manifest that does not
        // authenticate, an oversized object) is reported, not a reason to stop rotating
        // the real backups beside it. Nothing of it was written.
        Err(e @ (Error::Integrity { .. } | Error::InvalidInput(_))) => {
            Ok(Rotated::Unreadable(super::repo::UnreadableBackup {
                created_at: super::repo::backup_id_time(&id),
                id: id.escape_default().to_string(),
                code: e.code().into(),
                message: e.to_string(),
            }))
        }
        other => other,
    }
}

async fn rotate_checked(
    repo: &Repository,
    from: &dyn KeyProvider,
    to: &dyn KeyProvider,
    cancel: &CancellationToken,
    id: String,
) -> Result<Rotated> {
    cancel.check()?;
    let path = repo.object_path(&id, KEY);
    let raw = repo.sink().get_bounded(&path, MAX_KEY_BYTES).await?;
    let wrapped: crate::keys::WrappedKey = serde_json::from_slice(&raw).map_err(|e| {
        Error::integrity(
            format!("backup {id} key.json"),
            format!("not a wrapped key: {e}"),
        )
    })?;
    if wrapped.key_id == to.key_id() && wrapped.provider == to.kind() {
        // Claimed by key.json, which anyone with write access can plant: believed only
        // once `to` opens the data key and it authenticates the manifest.
        repo.open_backup(&id, to).await?;
        return Ok(Rotated::Already(id));
    }
    let ctx = KeyContext {
        backup_id: id.clone(),
    };
    let dek = match from.unwrap(&wrapped, &ctx).await {
        Ok(dek) => dek,
        Err(e @ Error::KeyMismatch { .. }) => {
            let other = OtherKeyBackup {
                id,
                key_id: wrapped.key_id,
            };
            return Ok(Rotated::OtherKey(other, e));
        }
        Err(e) => return Err(e),
    };
    // Prove the data key is this backup's before replacing the only copy of its wrapping.
    let sealed = repo
        .sink()
        .get_bounded(&repo.object_path(&id, MANIFEST), MAX_MANIFEST_BYTES)
        .await?;
    codec::open_object(&dek, &id, MANIFEST, &sealed).map_err(|e| name_object(e, &id, MANIFEST))?;
    let rewrapped = to.wrap(&dek, &ctx).await?;
    // Check the new wrapping opens before it replaces the old one.
    let check = to.unwrap(&rewrapped, &ctx).await?;
    if check.expose() != dek.expose() {
        return Err(Error::KeyProvider(format!(
            "key provider {} did not return the data key it wrapped; rotation stopped \
             before backup {id}",
            to.key_id()
        )));
    }
    let json = serde_json::to_vec_pretty(&rewrapped)
        .map_err(|e| Error::InvalidInput(format!("cannot encode the wrapped key: {e}")))?;
    // The last cancellation point: once the put starts, this backup is rotated.
    cancel.check()?;
    repo.sink().put(&path, Bytes::from(json)).await?;
    Ok(Rotated::Now(id))
}
