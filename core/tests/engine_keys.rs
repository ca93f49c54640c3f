//! Keys: wrong key and wrong passphrase are reported as such (by key id), rotation re-wraps
//! every data key so the new key restores and the old one fails, and rotation resumes.

mod engine_common;

use engine_common::*;
use firekeep_core::Error;
use firekeep_core::engine::{self, RestoreOptions};
use firekeep_core::keys::{KeyProvider, PassphraseKey};
use firekeep_core::source::memory::MemoryFirestore;
use std::sync::Arc;

const ITER: u32 = 100_000;

#[test]
fn wrong_raw_key_is_a_key_mismatch_naming_the_key_id() {
    let (_, repo) = memory_repo();
    let right = raw_key(1);
    let wrong = raw_key(2);
    let rep = run_backup(Arc::new(sample_source(5)), &repo, &right, &small_parts()).unwrap();
    // `list` lists it as unreadable, naming the key it needs.
    let listed = block_on(engine::list(&repo, &wrong)).unwrap();
    assert!(listed.backups.is_empty());
    assert_eq!(listed.unreadable.len(), 1);
    assert_eq!(listed.unreadable[0].id, rep.backup_id);
    assert_eq!(listed.unreadable[0].code, "ERR_KEY_MISMATCH");
    assert!(listed.unreadable[0].message.contains(right.key_id()));
    for err in [
        block_on(engine::verify(
            &repo,
            &wrong,
            &rep.backup_id,
            None,
            &no_cancel(),
        ))
        .unwrap_err(),
        run_restore(
            &repo,
            &wrong,
            &rep.backup_id,
            Arc::new(MemoryFirestore::new(target_db())),
            &RestoreOptions::default(),
        )
        .unwrap_err(),
    ] {
        match &err {
            Error::KeyMismatch { expected, actual } => {
                assert_eq!(expected, right.key_id());
                assert_eq!(actual, wrong.key_id());
            }
            other => panic!("expected KeyMismatch, got {other}"),
        }
        assert!(err.to_string().contains(right.key_id()));
    }
}

/// A repository whose backups are under two keys (moved from one key to another without
/// rotating the old backups): each key lists its own backups and names the others as
/// unreadable, newest first, instead of failing on the first it cannot open.
#[test]
fn list_shows_backups_under_other_keys_as_unreadable() {
    let (store, repo) = memory_repo();
    let (a, b) = (raw_key(1), raw_key(2));
    let ids = backups_under(&repo, Arc::new(sample_source(3)), &[&a, &b, &a, &b]);
    let under_a = block_on(engine::list(&repo, &a)).unwrap();
    let ids_of = |v: Vec<&str>| v.into_iter().map(String::from).collect::<Vec<_>>();
    assert_eq!(
        under_a.iter().map(|s| s.id.clone()).collect::<Vec<_>>(),
        ids_of(vec![&ids[2], &ids[0]])
    );
    assert_eq!(
        under_a
            .unreadable
            .iter()
            .map(|u| u.id.clone())
            .collect::<Vec<_>>(),
        ids_of(vec![&ids[3], &ids[1]])
    );
    for u in &under_a.unreadable {
        assert_eq!(u.code, "ERR_KEY_MISMATCH");
        assert!(u.message.contains(b.key_id()), "{}", u.message);
        assert!(u.created_at.is_some());
    }
    let under_b = block_on(engine::list(&repo, &b)).unwrap();
    assert_eq!(under_b.len(), 2);
    assert_eq!(under_b[0].id, ids[3]);
    assert_eq!(under_b.unreadable.len(), 2);

    // A backup whose key.json is gone is damaged, not absent: listed with an integrity error.
    store.remove_sync(&repo.object_path(&ids[0], "key.json"));
    let listed = block_on(engine::list(&repo, &a)).unwrap();
    assert_eq!(listed.len(), 1);
    let damaged = listed.unreadable.iter().find(|u| u.id == ids[0]).unwrap();
    assert_eq!(damaged.code, "ERR_INTEGRITY");
    assert!(damaged.message.contains("key.json"), "{}", damaged.message);
}

/// A raw key whose unwrap fails like a KMS: for the backups in `refused`, or for all.
#[derive(Debug)]
struct RefusingKms {
    key: firekeep_core::keys::RawKey,
    refused: Option<Vec<String>>,
}

#[async_trait::async_trait]
impl KeyProvider for RefusingKms {
    fn kind(&self) -> &'static str {
        self.key.kind()
    }
    fn key_id(&self) -> &str {
        self.key.key_id()
    }
    async fn wrap(
        &self,
        data_key: &firekeep_core::secret::SecretBytes,
        context: &firekeep_core::keys::KeyContext,
    ) -> firekeep_core::Result<firekeep_core::keys::WrappedKey> {
        self.key.wrap(data_key, context).await
    }
    async fn unwrap(
        &self,
        wrapped: &firekeep_core::keys::WrappedKey,
        context: &firekeep_core::keys::KeyContext,
    ) -> firekeep_core::Result<firekeep_core::secret::SecretBytes> {
        let refused = match &self.refused {
            Some(ids) => ids.contains(&context.backup_id),
            None => true,
        };
        if refused {
            return Err(Error::KeyProvider(format!(
                "the KMS refused Decrypt for backup {} (injected)",
                context.backup_id
            )));
        }
        self.key.unwrap(wrapped, context).await
    }
}

/// A key the KMS refuses for one backup lists that backup as unreadable; a KMS that refuses
/// every backup (down, or these credentials not allowed) fails the listing instead of
/// reporting a repository of unreadable backups.
#[test]
fn list_fails_when_the_key_provider_opens_nothing() {
    let (_, repo) = memory_repo();
    let a = raw_key(1);
    let ids = backups_under(&repo, Arc::new(sample_source(2)), &[&a, &a, &a]);
    let one = RefusingKms {
        key: raw_key(1),
        refused: Some(vec![ids[1].clone()]),
    };
    let listed = block_on(engine::list(&repo, &one)).unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed.unreadable.len(), 1);
    assert_eq!(listed.unreadable[0].id, ids[1]);
    assert_eq!(listed.unreadable[0].code, "ERR_KEY_PROVIDER");
    let down = RefusingKms {
        key: raw_key(1),
        refused: None,
    };
    let err = block_on(engine::list(&repo, &down)).unwrap_err();
    assert!(matches!(err, Error::KeyProvider(_)), "{err}");
}

/// A repository with backups under two keys is rotated to a third one key at a time: each
/// rotation re-wraps its key's backups and names the others, instead of stopping at the
/// first backup under the other key.
#[test]
fn rotation_of_a_repository_under_two_keys_goes_one_key_at_a_time() {
    let (_, repo) = memory_repo();
    let (a, b, c) = (raw_key(1), raw_key(2), raw_key(3));
    let ids = backups_under(&repo, Arc::new(sample_source(2)), &[&a, &b, &a, &b]);
    let first = block_on(engine::rotate_key(&repo, &a, &c, &no_cancel())).unwrap();
    assert_eq!(first.rotated, vec![ids[0].clone(), ids[2].clone()]);
    let others: Vec<_> = first
        .other_keys
        .iter()
        .map(|o| (o.id.clone(), o.key_id.clone()))
        .collect();
    assert_eq!(
        others,
        vec![
            (ids[1].clone(), b.key_id().to_string()),
            (ids[3].clone(), b.key_id().to_string())
        ]
    );
    let second = block_on(engine::rotate_key(&repo, &b, &c, &no_cancel())).unwrap();
    assert_eq!(second.rotated, vec![ids[1].clone(), ids[3].clone()]);
    assert_eq!(second.already_rotated, vec![ids[0].clone(), ids[2].clone()]);
    assert!(second.other_keys.is_empty());
    let listed = block_on(engine::list(&repo, &c)).unwrap();
    assert_eq!(listed.len(), 4);
    assert!(listed.unreadable.is_empty());
    // A key that opens none of the backups is still a key mismatch, naming the key needed.
    let err = block_on(engine::rotate_key(&repo, &a, &b, &no_cancel())).unwrap_err();
    assert!(
        matches!(&err, Error::KeyMismatch { expected, .. } if expected == c.key_id()),
        "{err}"
    );
}

#[test]
fn wrong_passphrase_is_a_key_mismatch() {
    let (_, repo) = memory_repo();
    let right = PassphraseKey::with_iterations("correct horse battery staple", ITER).unwrap();
    let rep = run_backup(Arc::new(sample_source(5)), &repo, &right, &small_parts()).unwrap();
    // Same salt as stored, other passphrase: the derived key id differs.
    let wrong =
        PassphraseKey::with_params("incorrect horse battery staple", right.salt(), ITER).unwrap();
    let err = block_on(engine::verify(
        &repo,
        &wrong,
        &rep.backup_id,
        None,
        &no_cancel(),
    ))
    .unwrap_err();
    assert!(
        matches!(&err, Error::KeyMismatch { expected, .. } if expected == right.key_id()),
        "{err}"
    );
    assert!(!err.to_string().contains("incorrect horse"));
    // The right passphrase with a fresh instance (new salt) still opens it: the salt is stored.
    let again = PassphraseKey::with_iterations("correct horse battery staple", ITER).unwrap();
    assert!(
        block_on(engine::verify(
            &repo,
            &again,
            &rep.backup_id,
            None,
            &no_cancel()
        ))
        .unwrap()
        .is_ok()
    );
}

#[test]
fn rotate_then_restore_with_new_key_and_fail_with_old() {
    let (store, repo) = memory_repo();
    let old = PassphraseKey::with_iterations("old passphrase 12345", ITER).unwrap();
    let new = raw_key(9);
    let source = sample_source(10);
    let a = run_backup(Arc::new(source.clone()), &repo, &old, &small_parts()).unwrap();
    let b = run_backup(Arc::new(source.clone()), &repo, &old, &small_parts()).unwrap();
    let parts_before: Vec<_> = store
        .paths()
        .into_iter()
        .filter(|p| !p.ends_with("key.json"))
        .map(|p| (store.get_sync(&p).unwrap(), p))
        .collect();

    let report = block_on(engine::rotate_key(&repo, &old, &new, &no_cancel())).unwrap();
    assert_eq!(
        report.rotated,
        vec![a.backup_id.clone(), b.backup_id.clone()]
    );
    assert_eq!(report.to_key_id, new.key_id());
    // Data untouched: every part and manifest byte-identical.
    for (bytes, p) in &parts_before {
        assert_eq!(&store.get_sync(p).unwrap(), bytes, "{p} changed");
    }
    let listed = block_on(engine::list(&repo, &new)).unwrap();
    assert!(listed.iter().all(|s| s.key_id == new.key_id()));
    let target = MemoryFirestore::new(target_db());
    let r = run_restore(
        &repo,
        &new,
        &a.backup_id,
        Arc::new(target.clone()),
        &RestoreOptions::default(),
    )
    .unwrap();
    assert_eq!(r.written, a.documents);
    let err = block_on(engine::verify(
        &repo,
        &old,
        &a.backup_id,
        None,
        &no_cancel(),
    ))
    .unwrap_err();
    assert!(
        matches!(&err, Error::KeyMismatch { expected, .. } if expected == new.key_id()),
        "{err}"
    );

    // Resuming (running again) skips what is done; rotating with a wrong `from` fails.
    let again = block_on(engine::rotate_key(&repo, &old, &new, &no_cancel())).unwrap();
    assert!(again.rotated.is_empty());
    assert_eq!(again.already_rotated.len(), 2);
    let err = block_on(engine::rotate_key(&repo, &raw_key(3), &old, &no_cancel())).unwrap_err();
    assert!(matches!(err, Error::KeyMismatch { .. }), "{err}");
}

#[test]
fn key_json_moved_between_backups_does_not_open() {
    let (store, repo) = memory_repo();
    let key = raw_key(1);
    let a = run_backup(Arc::new(sample_source(5)), &repo, &key, &small_parts()).unwrap();
    let b = run_backup(Arc::new(sample_source(6)), &repo, &key, &small_parts()).unwrap();
    let ka = store
        .get_sync(&repo.object_path(&a.backup_id, "key.json"))
        .unwrap();
    store.put_sync(&repo.object_path(&b.backup_id, "key.json"), ka);
    let err = block_on(engine::verify(
        &repo,
        &key,
        &b.backup_id,
        None,
        &no_cancel(),
    ))
    .unwrap_err();
    assert!(
        matches!(err, Error::Integrity { .. } | Error::KeyMismatch { .. }),
        "{err}"
    );
}
