//! Faults: a sink failing the Nth write, a full disk, a source stream cut midway, and
//! cancellation. Afterwards no manifest exists for the failed backup, `list` does not show
//! it, `prune` removes whatever it left, and the previous backups still verify.

mod engine_common;

use engine_common::*;
use firekeep_core::Error;
use firekeep_core::engine::{self, ProgressEvent, Repository, Retention};
use firekeep_core::model::Timestamp;
use firekeep_core::storage::StorageSink;
use firekeep_core::storage::local::LocalStorage;
use firekeep_core::storage::memory::MemoryStorage;
use std::sync::Arc;
use std::time::Duration;

/// Every path in the store that is not part of the complete backups `ok` (or the
/// repository head records they wrote).
fn foreign_objects(store: &MemoryStorage, ok: &[&str]) -> Vec<String> {
    store
        .paths()
        .into_iter()
        .filter(|p| !p.contains("firekeep/v1/heads/"))
        .filter(|p| !ok.iter().any(|id| p.contains(id)))
        .collect()
}

fn assert_clean_after_failure(store: &MemoryStorage, repo: &Repository, good: &str) {
    let key = raw_key(1);
    let listed = block_on(engine::list(repo, &key)).unwrap();
    assert_eq!(
        listed.iter().map(|b| b.id.as_str()).collect::<Vec<_>>(),
        vec![good]
    );
    assert!(
        !store
            .paths()
            .iter()
            .any(|p| p.ends_with("manifest.fkm") && !p.contains(good)),
        "a failed backup left a manifest"
    );
    // The engine already removed what it wrote; prune (grace 0) finds nothing else either.
    let retention = Retention {
        keep_last: 10,
        orphan_grace: Duration::ZERO,
        ..Default::default()
    };
    let plan = block_on(engine::plan_prune(repo, &key, &retention, Timestamp::now())).unwrap();
    block_on(engine::apply_prune(repo, &key, &plan)).unwrap();
    assert_eq!(foreign_objects(store, &[good]), Vec::<String>::new());
    let v = block_on(engine::verify(repo, &key, good, None, &no_cancel())).unwrap();
    assert!(v.is_ok(), "{:?}", v.problems);
}

#[test]
fn sink_failing_the_nth_write_leaves_no_backup() {
    let source = sample_source(60);
    let key = raw_key(1);
    for n in [1, 2, 5] {
        let store = MemoryStorage::new();
        let good_repo = Repository::new(Arc::new(store.clone()));
        let good = run_backup(Arc::new(source.clone()), &good_repo, &key, &small_parts()).unwrap();
        let faulty = Arc::new(FaultySink::new(
            Arc::new(store.clone()),
            Fault::FailNthWrite(n),
        ));
        let repo = Repository::new(faulty);
        let err = run_backup(Arc::new(source.clone()), &repo, &key, &small_parts()).unwrap_err();
        assert!(
            matches!(&err, Error::Storage(m) if m.contains(&format!("write {n}"))),
            "{err}"
        );
        assert_clean_after_failure(&store, &good_repo, &good.backup_id);
    }
    // Failing the manifest write itself (the last write).
    let store = MemoryStorage::new();
    let good_repo = Repository::new(Arc::new(store.clone()));
    let good = run_backup(Arc::new(source.clone()), &good_repo, &key, &small_parts()).unwrap();
    let writes = 1 + good.parts + 1;
    let repo = Repository::new(Arc::new(FaultySink::new(
        Arc::new(store.clone()),
        Fault::FailNthWrite(writes),
    )));
    assert!(run_backup(Arc::new(source.clone()), &repo, &key, &small_parts()).is_err());
    assert_clean_after_failure(&store, &good_repo, &good.backup_id);
}

#[test]
fn full_disk_gives_a_clear_error_and_nothing_listed() {
    let source = sample_source(60);
    let key = raw_key(1);
    let store = MemoryStorage::new();
    let good_repo = Repository::new(Arc::new(store.clone()));
    let good = run_backup(Arc::new(source.clone()), &good_repo, &key, &small_parts()).unwrap();
    let repo = Repository::new(Arc::new(FaultySink::new(
        Arc::new(store.clone()),
        Fault::DiskFullAfter(3),
    )));
    let err = run_backup(Arc::new(source), &repo, &key, &small_parts()).unwrap_err();
    assert_eq!(err.code(), "ERR_STORAGE");
    assert!(err.to_string().contains("no space left"), "{err}");
    assert_clean_after_failure(&store, &good_repo, &good.backup_id);
}

#[test]
fn source_stream_cut_midway_leaves_no_backup() {
    let source = sample_source(60);
    let key = raw_key(1);
    let store = MemoryStorage::new();
    let repo = Repository::new(Arc::new(store.clone()));
    let good = run_backup(Arc::new(source.clone()), &repo, &key, &small_parts()).unwrap();
    let cutting = CuttingSource {
        inner: source,
        ok_docs: 100,
    };
    let err = run_backup(Arc::new(cutting), &repo, &key, &small_parts()).unwrap_err();
    assert!(
        matches!(&err, Error::Firestore { code, .. } if code == "UNAVAILABLE"),
        "{err}"
    );
    assert_clean_after_failure(&store, &repo, &good.backup_id);
}

#[test]
fn cancellation_mid_backup_leaves_no_backup() {
    let source = sample_source(200);
    let key = raw_key(1);
    let store = MemoryStorage::new();
    let repo = Repository::new(Arc::new(store.clone()));
    let good = run_backup(Arc::new(source.clone()), &repo, &key, &small_parts()).unwrap();
    let cancel = no_cancel();
    let c2 = cancel.clone();
    // Cancel from the progress callback once some parts are stored.
    let progress: engine::ProgressFn = Arc::new(move |e: &ProgressEvent| {
        if e.parts >= 3 {
            c2.cancel();
        }
    });
    let mut opts = small_parts();
    opts.part_target_bytes = 4096;
    let err = block_on(engine::backup(
        Arc::new(source.clone()),
        &repo,
        &key,
        &opts,
        Some(progress),
        &cancel,
    ))
    .unwrap_err();
    assert!(matches!(err, Error::Cancelled), "{err}");
    assert_clean_after_failure(&store, &repo, &good.backup_id);

    // Already cancelled: nothing is written at all.
    let before = store.paths();
    let err = block_on(engine::backup(
        Arc::new(source),
        &repo,
        &key,
        &opts,
        None,
        &cancel,
    ))
    .unwrap_err();
    assert!(matches!(err, Error::Cancelled));
    assert_eq!(store.paths(), before);
}

#[test]
fn prune_removes_what_a_crash_leaves_but_not_a_running_backup() {
    // Simulate a crash: parts and key of a backup whose manifest was never written.
    let dir = TempDir::new("crash");
    let local = Arc::new(LocalStorage::new(&dir.0).unwrap());
    let repo = Repository::new(local.clone());
    let key = raw_key(1);
    let source = sample_source(30);
    let good = run_backup(Arc::new(source), &repo, &key, &small_parts()).unwrap();
    let crashed = engine::new_backup_id(Timestamp::now());
    for obj in ["key.json", "parts/00000000.fkp", "parts/00000001.fkp"] {
        block_on(local.put(
            &repo.object_path(&crashed, obj),
            bytes::Bytes::from_static(b"junk"),
        ))
        .unwrap();
    }
    assert_eq!(block_on(engine::list(&repo, &key)).unwrap().len(), 1);

    // Within the grace period the folder could be a backup still running: kept.
    let retention = Retention {
        keep_last: 5,
        ..Default::default()
    };
    let plan = block_on(engine::plan_prune(
        &repo,
        &key,
        &retention,
        Timestamp::now(),
    ))
    .unwrap();
    assert!(plan.orphans.is_empty());
    // Two hours later it is an orphan.
    let later = Timestamp::now().add_seconds(7200).unwrap();
    let plan = block_on(engine::plan_prune(&repo, &key, &retention, later)).unwrap();
    assert_eq!(plan.orphans, vec![crashed.clone()]);
    assert!(plan.remove.is_empty());
    let report = block_on(engine::apply_prune(&repo, &key, &plan)).unwrap();
    assert_eq!(report.orphans[0].objects, 3);
    // Nothing of it is left on disk, not even its folder.
    let backups = dir.0.join("firekeep/v1/backups");
    let left: Vec<_> = std::fs::read_dir(&backups)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from(&good.backup_id)]);
    let v = block_on(engine::verify(
        &repo,
        &key,
        &good.backup_id,
        None,
        &no_cancel(),
    ))
    .unwrap();
    assert!(v.is_ok());
}

#[test]
fn local_sink_reports_a_read_only_or_missing_place_clearly() {
    // A file where the repository directory should be.
    let dir = TempDir::new("notdir");
    let file = dir.0.join("file");
    std::fs::write(&file, b"x").unwrap();
    let err = LocalStorage::new(&file).unwrap_err();
    assert!(
        err.to_string().contains(&file.display().to_string()),
        "{err}"
    );
}
