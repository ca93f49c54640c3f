//! Backup → verify → restore → equal, point-in-time, selective restore, dry run, conflict
//! modes, diff, list and progress, over MemoryFirestore with the memory and local sinks.

mod engine_common;

use engine_common::*;
use firekeep_core::engine::{
    self, BackupOptions, DiffOptions, Phase, ProgressEvent, Repository, RestoreOptions,
};
use firekeep_core::keys::KeyProvider;
use firekeep_core::model::{Document, DocumentPath, Value};
use firekeep_core::source::memory::MemoryFirestore;
use firekeep_core::source::{ConflictMode, Scope};
use firekeep_core::storage::local::LocalStorage;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

fn roundtrip(repo: &Repository) {
    let source = sample_source(120);
    let key = raw_key(1);
    let events: Arc<Mutex<Vec<ProgressEvent>>> = Arc::default();
    let ev = events.clone();
    let progress: engine::ProgressFn =
        Arc::new(move |e: &ProgressEvent| ev.lock().unwrap().push(e.clone()));
    let report = block_on(engine::backup(
        Arc::new(source.clone()),
        repo,
        &key,
        &small_parts(),
        Some(progress),
        &no_cancel(),
    ))
    .unwrap();
    let expected = source.documents(None);
    assert_eq!(report.documents, expected.len() as u64);
    assert!(
        report.parts > 5,
        "small parts expected, got {}",
        report.parts
    );
    assert_eq!(report.collections["users"].documents, 120 + 20);
    assert_eq!(report.collections["types"].documents, 1);
    let events = events.lock().unwrap();
    assert_eq!(events.first().unwrap().phase, Phase::Preparing);
    assert_eq!(events.last().unwrap().phase, Phase::Done);
    assert_eq!(events.last().unwrap().documents, report.documents);
    assert_eq!(
        events
            .iter()
            .find(|e| e.phase == Phase::Backup)
            .unwrap()
            .total_documents,
        Some(report.documents)
    );

    let listed = block_on(engine::list(repo, &key)).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, report.backup_id);
    assert_eq!(listed[0].documents, report.documents);
    assert_eq!(listed[0].parts, report.parts);
    assert_eq!(listed[0].read_time, report.read_time);

    let v = block_on(engine::verify(
        repo,
        &key,
        &report.backup_id,
        None,
        &no_cancel(),
    ))
    .unwrap();
    assert!(v.is_ok(), "{:?}", v.problems);
    assert_eq!(v.documents, report.documents);
    assert_eq!(v.parts_ok, report.parts);

    let target = MemoryFirestore::new(target_db());
    let r = block_on(engine::restore(
        repo,
        &key,
        &report.backup_id,
        Arc::new(target.clone()),
        &RestoreOptions::default(),
        None,
        &no_cancel(),
    ))
    .unwrap();
    assert_eq!(r.written, report.documents);
    assert!(r.failed.is_empty());
    let restored = target.documents(None);
    assert!(restored.iter().all(|d| {
        d.name
            .starts_with("projects/target-project/databases/restored/")
    }));
    // Exact equality of every field and both server timestamps.
    assert_eq!(by_path(restored), by_path(expected));
    let all = target
        .get(&DocumentPath::parse("types/all").unwrap(), None)
        .unwrap();
    assert_eq!(all.fields, every_value(&source_db()));
}

#[test]
fn backup_verify_restore_equal_memory_sink() {
    let (_, repo) = memory_repo();
    roundtrip(&repo);
}

#[test]
fn backup_verify_restore_equal_local_sink() {
    let dir = TempDir::new("roundtrip");
    let repo = Repository::new(Arc::new(LocalStorage::new(&dir.0).unwrap()));
    roundtrip(&repo);
    // Object names reveal nothing of the data.
    let mut names = Vec::new();
    let mut stack = vec![dir.0.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let e = e.unwrap();
            names.push(e.file_name().into_string().unwrap());
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            }
        }
    }
    for n in &names {
        for secret in ["users", "orders", "zeta", "types", "source-project"] {
            assert!(!n.contains(secret), "object name {n} reveals {secret}");
        }
    }
}

#[test]
fn point_in_time_backup_restores_the_past() {
    let source = sample_source(10);
    let db = source_db();
    let before = source.documents(None);
    let t = block_on(firekeep_core::source::FirestoreSource::snapshot_time(
        &source,
    ))
    .unwrap();
    source.delete(&DocumentPath::parse("users/d00003").unwrap());
    source
        .put(Document::new(name(&db, "users/new"), BTreeMap::new()))
        .unwrap();
    source
        .put(Document::new(
            name(&db, "orders/d00001"),
            BTreeMap::from([("changed".to_string(), Value::Boolean(true))]),
        ))
        .unwrap();
    let (_, repo) = memory_repo();
    let key = raw_key(2);
    let opts = BackupOptions {
        read_time: Some(t),
        ..small_parts()
    };
    let rep = run_backup(Arc::new(source.clone()), &repo, &key, &opts).unwrap();
    assert_eq!(rep.read_time, t);
    let target = MemoryFirestore::new(target_db());
    run_restore(
        &repo,
        &key,
        &rep.backup_id,
        Arc::new(target.clone()),
        &RestoreOptions::default(),
    )
    .unwrap();
    assert_eq!(by_path(target.documents(None)), by_path(before.clone()));

    // And a diff against the live database names exactly the three changes.
    let d = block_on(engine::diff_backup_with_source(
        &repo,
        &key,
        &rep.backup_id,
        Arc::new(source),
        None,
        &DiffOptions::default(),
        &no_cancel(),
    ))
    .unwrap();
    assert_eq!(d.added_names, vec!["users/new"]);
    assert_eq!(d.removed_names, vec!["users/d00003"]);
    assert_eq!(d.changed_names, vec!["orders/d00001"]);
    assert_eq!(d.unchanged, before.len() as u64 - 2);
}

#[test]
fn selective_restore_and_selective_backup() {
    let source = sample_source(30);
    let (_, repo) = memory_repo();
    let key = raw_key(3);
    let rep = run_backup(Arc::new(source.clone()), &repo, &key, &small_parts()).unwrap();

    // users without subcollections.
    let target = MemoryFirestore::new(target_db());
    let opts = RestoreOptions {
        scope: Scope::collections(["users"], false),
        ..Default::default()
    };
    let r = run_restore(&repo, &key, &rep.backup_id, Arc::new(target.clone()), &opts).unwrap();
    assert_eq!(r.written, 30);
    assert!(target.documents(None).iter().all(|d| {
        let (_, p) = d.path().unwrap();
        p.root_collection() == "users" && p.depth() == 0
    }));
    // Only the parts that can hold users were read.
    assert!(
        r.parts_read < rep.parts,
        "{} of {}",
        r.parts_read,
        rep.parts
    );

    // users with subcollections, excluding nothing else.
    let target = MemoryFirestore::new(target_db());
    let opts = RestoreOptions {
        scope: Scope::collections(["users"], true),
        ..Default::default()
    };
    let r = run_restore(&repo, &key, &rep.backup_id, Arc::new(target.clone()), &opts).unwrap();
    assert_eq!(r.written, 50);

    // A backup of chosen collections holds only them.
    let opts = BackupOptions {
        scope: Scope {
            collections: vec![],
            exclude: vec!["orders".into(), "types".into()],
            subcollections: true,
        },
        ..small_parts()
    };
    let rep2 = run_backup(Arc::new(source), &repo, &key, &opts).unwrap();
    assert_eq!(rep2.documents, 30 + 20 + 30);
    assert_eq!(
        rep2.collections.keys().collect::<Vec<_>>(),
        vec!["users", "zeta"]
    );
}

#[test]
fn dry_run_and_conflict_modes() {
    let source = sample_source(10);
    let (_, repo) = memory_repo();
    let key = raw_key(4);
    let rep = run_backup(Arc::new(source.clone()), &repo, &key, &small_parts()).unwrap();
    let target = MemoryFirestore::new(target_db());
    let dry = RestoreOptions {
        dry_run: true,
        ..Default::default()
    };
    let r = run_restore(&repo, &key, &rep.backup_id, Arc::new(target.clone()), &dry).unwrap();
    assert!(r.dry_run);
    assert_eq!(r.written, rep.documents);
    assert!(target.is_empty(), "a dry run wrote documents");

    // Pre-existing document in the target.
    let existing = Document::new(
        name(&target_db(), "users/d00002"),
        BTreeMap::from([("mine".to_string(), Value::Boolean(true))]),
    );
    target.put(existing.clone()).unwrap();
    let skip = RestoreOptions {
        conflict: ConflictMode::SkipExisting,
        ..Default::default()
    };
    let r = run_restore(&repo, &key, &rep.backup_id, Arc::new(target.clone()), &skip).unwrap();
    assert_eq!(r.skipped, 1);
    assert_eq!(r.written, rep.documents - 1);
    let kept = target
        .get(&DocumentPath::parse("users/d00002").unwrap(), None)
        .unwrap();
    assert_eq!(kept.fields, existing.fields);

    let fail = RestoreOptions {
        conflict: ConflictMode::FailIfExists,
        ..Default::default()
    };
    let r = run_restore(&repo, &key, &rep.backup_id, Arc::new(target.clone()), &fail).unwrap();
    assert_eq!(r.written, 0);
    assert_eq!(r.failed.len() as u64, rep.documents);
    assert!(
        r.failed
            .iter()
            .all(|f| f.code == "ALREADY_EXISTS" && f.name.contains("/documents/"))
    );

    let over = RestoreOptions::default();
    let r = run_restore(&repo, &key, &rep.backup_id, Arc::new(target.clone()), &over).unwrap();
    assert_eq!(r.written, rep.documents);
    let back = target
        .get(&DocumentPath::parse("users/d00002").unwrap(), None)
        .unwrap();
    assert!(!back.fields.contains_key("mine"));
}

#[test]
fn diff_between_backups_and_list_order() {
    let source = sample_source(15);
    let db = source_db();
    let (_, repo) = memory_repo();
    let key = raw_key(5);
    let a = run_backup(Arc::new(source.clone()), &repo, &key, &small_parts()).unwrap();
    source.delete(&DocumentPath::parse("zeta/d00001").unwrap());
    source
        .put(Document::new(name(&db, "orders/d00002"), BTreeMap::new()))
        .unwrap();
    source
        .put(Document::new(
            name(&db, "users/d00001/posts/zz"),
            BTreeMap::new(),
        ))
        .unwrap();
    let b = run_backup(Arc::new(source.clone()), &repo, &key, &small_parts()).unwrap();
    let d = block_on(engine::diff_backups(
        &repo,
        &key,
        &a.backup_id,
        &b.backup_id,
        &DiffOptions::default(),
        &no_cancel(),
    ))
    .unwrap();
    assert_eq!(d.added_names, vec!["users/d00001/posts/zz"]);
    assert_eq!(d.removed_names, vec!["zeta/d00001"]);
    assert_eq!(d.changed_names, vec!["orders/d00002"]);
    let same = block_on(engine::diff_backups(
        &repo,
        &key,
        &b.backup_id,
        &b.backup_id,
        &DiffOptions::default(),
        &no_cancel(),
    ))
    .unwrap();
    assert!(same.is_empty());
    assert_eq!(same.unchanged, b.documents);

    let listed = block_on(engine::list(&repo, &key)).unwrap();
    let ids: Vec<_> = listed.iter().map(|s| s.id.clone()).collect();
    assert_eq!(
        ids,
        vec![b.backup_id.clone(), a.backup_id.clone()],
        "newest first"
    );
    assert!(b.backup_id > a.backup_id, "ids sort by time");
    assert!(
        engine::backup_id_time(&a.backup_id).unwrap()
            <= engine::backup_id_time(&b.backup_id).unwrap()
    );
}

#[test]
fn empty_database_backs_up_and_restores() {
    let source = MemoryFirestore::new(source_db());
    let (_, repo) = memory_repo();
    let key = raw_key(6);
    let rep = run_backup(Arc::new(source), &repo, &key, &BackupOptions::default()).unwrap();
    assert_eq!((rep.documents, rep.parts), (0, 0));
    let v = block_on(engine::verify(
        &repo,
        &key,
        &rep.backup_id,
        None,
        &no_cancel(),
    ))
    .unwrap();
    assert!(v.is_ok());
    let target = MemoryFirestore::new(target_db());
    let r = run_restore(
        &repo,
        &key,
        &rep.backup_id,
        Arc::new(target.clone()),
        &RestoreOptions::default(),
    )
    .unwrap();
    assert_eq!(r.written, 0);
}

/// `list` opens backups concurrently (each open is latency-bound reads and a key unwrap) and
/// still returns them newest first.
#[test]
fn list_opens_backups_concurrently_newest_first() {
    let (sink, repo) = slow_read_repo();
    let key = raw_key(1);
    let mut ids = backups_under(
        &repo,
        Arc::new(sample_source(1)),
        &[&key as &dyn KeyProvider; 12],
    );
    reset_overlap(&sink);
    let listed = block_on(engine::list(&repo, &key)).unwrap();
    ids.reverse();
    assert_eq!(listed.iter().map(|b| b.id.clone()).collect::<Vec<_>>(), ids);
    assert!(listed.unreadable.is_empty());
    assert_overlapped(&sink, 8);
}

/// `rotate_key` re-wraps backups concurrently and still reports them oldest first.
#[test]
fn rotation_rewraps_backups_concurrently_in_order() {
    let (sink, repo) = slow_read_repo();
    let (old, new) = (raw_key(1), raw_key(2));
    let ids = backups_under(
        &repo,
        Arc::new(sample_source(1)),
        &[&old as &dyn KeyProvider; 12],
    );
    reset_overlap(&sink);
    let report = block_on(engine::rotate_key(&repo, &old, &new, &no_cancel())).unwrap();
    assert_eq!(report.rotated, ids);
    assert_overlapped(&sink, 8);
    let listed = block_on(engine::list(&repo, &new)).unwrap();
    assert_eq!(listed.len(), 12);
    assert!(listed.iter().all(|b| b.key_id == new.key_id()));
}
