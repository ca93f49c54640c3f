//! Tampering: one flipped byte in any part or in the manifest, a part swapped between two
//! backups, a deleted part. `verify` and `restore` fail naming the object, and restore
//! writes nothing from a bad part.

mod engine_common;

use engine_common::*;
use firekeep_core::Error;
use firekeep_core::engine::{self, Repository, RestoreOptions};
use firekeep_core::source::memory::MemoryFirestore;
use firekeep_core::storage::memory::MemoryStorage;
use std::sync::Arc;

struct Fixture {
    store: MemoryStorage,
    repo: Repository,
    id: String,
    parts: Vec<String>,
}

fn fixture() -> Fixture {
    let (store, repo) = memory_repo();
    let rep = run_backup(
        Arc::new(sample_source(40)),
        &repo,
        &raw_key(1),
        &small_parts(),
    )
    .unwrap();
    let mut parts: Vec<String> = store
        .paths()
        .into_iter()
        .filter(|p| p.ends_with(".fkp"))
        .collect();
    parts.sort();
    assert_eq!(parts.len(), rep.parts);
    Fixture {
        store,
        repo,
        id: rep.backup_id,
        parts,
    }
}

fn object_name(path: &str) -> String {
    path.rsplit_once("/parts/")
        .map(|(_, n)| format!("parts/{n}"))
        .unwrap()
}

fn restore_into_fresh(
    f: &Fixture,
    verify_first: bool,
) -> (MemoryFirestore, Result<engine::RestoreReport, Error>) {
    let target = MemoryFirestore::new(target_db());
    let opts = RestoreOptions {
        verify_first,
        ..Default::default()
    };
    let r = run_restore(&f.repo, &raw_key(1), &f.id, Arc::new(target.clone()), &opts);
    (target, r)
}

#[test]
fn flipping_any_byte_of_a_part_is_found_and_named() {
    let f = fixture();
    let victim = &f.parts[f.parts.len() / 2];
    let original = f.store.get_sync(victim).unwrap();
    // Positions across the header, the stream header, a segment body and the last tag.
    let len = original.len();
    for pos in [0, 7, 30, 60, 100, len / 2, len - 17, len - 1] {
        let mut bad = original.to_vec();
        bad[pos] ^= 0x01;
        f.store.put_sync(victim, bad);
        let v = block_on(engine::verify(
            &f.repo,
            &raw_key(1),
            &f.id,
            None,
            &no_cancel(),
        ))
        .unwrap();
        assert_eq!(v.problems.len(), 1, "byte {pos}: {:?}", v.problems);
        assert_eq!(v.problems[0].object, object_name(victim));
        assert_eq!(v.parts_ok, f.parts.len() - 1);
        let err = v.into_result().unwrap_err();
        assert!(matches!(&err, Error::Integrity { .. }));
        assert!(err.to_string().contains(&object_name(victim)), "{err}");

        // Restore (default: verify first) writes nothing at all.
        let (target, r) = restore_into_fresh(&f, true);
        assert!(r.unwrap_err().to_string().contains(&object_name(victim)));
        assert!(
            target.is_empty(),
            "restore wrote {} documents",
            target.len()
        );
    }
    f.store.put_sync(victim, original);
    assert!(
        block_on(engine::verify(
            &f.repo,
            &raw_key(1),
            &f.id,
            None,
            &no_cancel()
        ))
        .unwrap()
        .is_ok()
    );
}

#[test]
fn without_verify_first_nothing_from_the_bad_part_is_written() {
    let f = fixture();
    let victim = &f.parts[2];
    let mut bad = f.store.get_sync(victim).unwrap().to_vec();
    let n = bad.len();
    bad[n - 5] ^= 0x80;
    f.store.put_sync(victim, bad);
    // Restore stops at the bad part, after writing the parts before it.
    let (target, r) = restore_into_fresh(&f, false);
    let err = r.unwrap_err();
    assert!(err.to_string().contains(&object_name(victim)), "{err}");
    // Parts before it were restored; none of the bad part's documents were.
    let written = by_path(target.documents(None));
    let good = fixture_docs_of_parts(&f, &[0, 1]);
    assert!(good > 0);
    assert_eq!(written.len(), good);
    // Exactly the first documents in name order: those of parts 0 and 1.
    let all = by_path(sample_source(40).documents(None));
    let prefix: Vec<_> = all.keys().take(good).cloned().collect();
    assert_eq!(written.keys().cloned().collect::<Vec<_>>(), prefix);
}

fn fixture_docs_of_parts(f: &Fixture, idx: &[usize]) -> usize {
    let m = block_on(engine::read_manifest(&f.repo, &raw_key(1), &f.id)).unwrap();
    idx.iter().map(|i| m.parts[*i].documents as usize).sum()
}

#[test]
fn flipping_a_byte_of_the_manifest_fails_to_open() {
    let f = fixture();
    let path = f.repo.object_path(&f.id, "manifest.fkm");
    let original = f.store.get_sync(&path).unwrap();
    for pos in [3, original.len() / 2, original.len() - 1] {
        let mut bad = original.to_vec();
        bad[pos] ^= 0x04;
        f.store.put_sync(&path, bad);
        let err = block_on(engine::verify(
            &f.repo,
            &raw_key(1),
            &f.id,
            None,
            &no_cancel(),
        ))
        .unwrap_err();
        assert!(matches!(&err, Error::Integrity { .. }), "byte {pos}: {err}");
        assert!(err.to_string().contains("manifest.fkm"), "{err}");
        let (target, r) = restore_into_fresh(&f, true);
        assert!(r.is_err());
        assert!(target.is_empty());
        // list names the damaged backup rather than showing it.
        let listed = block_on(engine::list(&f.repo, &raw_key(1))).unwrap();
        assert!(listed.backups.is_empty(), "byte {pos}");
        assert_eq!(listed.unreadable[0].id, f.id);
        assert_eq!(listed.unreadable[0].code, "ERR_INTEGRITY");
    }
}

#[test]
fn a_part_swapped_between_backups_is_detected() {
    let f = fixture();
    // A second backup of other data in the same repository, with the same key.
    let rep2 = run_backup(
        Arc::new(sample_source(41)),
        &f.repo,
        &raw_key(1),
        &small_parts(),
    )
    .unwrap();
    let from = f.repo.object_path(&rep2.backup_id, "parts/00000001.fkp");
    let to = &f.parts[1];
    f.store.put_sync(to, f.store.get_sync(&from).unwrap());
    let v = block_on(engine::verify(
        &f.repo,
        &raw_key(1),
        &f.id,
        None,
        &no_cancel(),
    ))
    .unwrap();
    assert_eq!(v.problems.len(), 1);
    assert_eq!(v.problems[0].object, "parts/00000001.fkp");
    let (target, r) = restore_into_fresh(&f, true);
    assert!(r.unwrap_err().to_string().contains("parts/00000001.fkp"));
    assert!(target.is_empty());

    // Renaming a part within the backup is detected too (swap parts 0 and 1).
    let f = fixture();
    let a = f.store.get_sync(&f.parts[0]).unwrap();
    let b = f.store.get_sync(&f.parts[1]).unwrap();
    f.store.put_sync(&f.parts[0], b);
    f.store.put_sync(&f.parts[1], a);
    let v = block_on(engine::verify(
        &f.repo,
        &raw_key(1),
        &f.id,
        None,
        &no_cancel(),
    ))
    .unwrap();
    let named: Vec<_> = v.problems.iter().map(|p| p.object.clone()).collect();
    assert_eq!(named, vec!["parts/00000000.fkp", "parts/00000001.fkp"]);
}

#[test]
fn a_deleted_part_is_named_as_missing() {
    let f = fixture();
    let victim = f.parts.last().unwrap();
    assert!(f.store.remove_sync(victim));
    let v = block_on(engine::verify(
        &f.repo,
        &raw_key(1),
        &f.id,
        None,
        &no_cancel(),
    ))
    .unwrap();
    assert_eq!(v.problems.len(), 1);
    assert_eq!(v.problems[0].kind, "missing");
    assert_eq!(v.problems[0].object, object_name(victim));
    let (target, r) = restore_into_fresh(&f, true);
    let err = r.unwrap_err();
    assert!(err.to_string().contains(&object_name(victim)), "{err}");
    assert!(target.is_empty());
}

#[test]
fn an_extra_object_is_reported_but_not_a_failure() {
    let f = fixture();
    f.store.put_sync(
        &f.repo.object_path(&f.id, "parts/99999999.fkp"),
        b"stray".to_vec(),
    );
    let v = block_on(engine::verify(
        &f.repo,
        &raw_key(1),
        &f.id,
        None,
        &no_cancel(),
    ))
    .unwrap();
    assert!(v.is_ok());
    assert_eq!(v.unexpected_objects, vec!["parts/99999999.fkp"]);
}
