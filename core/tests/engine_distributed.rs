//! A backup split into tasks: plan → task i of N → commit, over the real in-memory source
//! and memory/local storage. The multi-process and gRPC version is in the CLI's tests.

mod engine_common;

use engine_common::*;
use firekeep_core::Error;
use firekeep_core::engine::{
    self, DiffOptions, Partitioning, PlanOptions, Repository, RestoreOptions, Retention,
    TaskOptions, TaskOutcome,
};
use firekeep_core::model::{Document, Timestamp, Value};
use firekeep_core::source::memory::MemoryFirestore;
use firekeep_core::source::{FirestoreSource, Scope};
use firekeep_core::storage::StorageSink;
use firekeep_core::storage::local::LocalStorage;
use std::collections::BTreeMap;
use std::sync::Arc;

fn plan(
    source: &Arc<MemoryFirestore>,
    repo: &Repository,
    key: &dyn firekeep_core::keys::KeyProvider,
    tasks: usize,
) -> engine::PlanReport {
    let opts = PlanOptions {
        backup: small_parts(),
        task_count: tasks,
        partitions_per_task: 1,
    };
    block_on(engine::plan_backup(source.clone(), repo, key, &opts)).unwrap()
}

fn task(
    source: &Arc<MemoryFirestore>,
    repo: &Repository,
    key: &dyn firekeep_core::keys::KeyProvider,
    id: &str,
    index: usize,
    count: Option<usize>,
) -> firekeep_core::Result<engine::TaskReport> {
    block_on(engine::run_backup_task(
        source.clone(),
        repo,
        key,
        id,
        index,
        count,
        &TaskOptions::default(),
        None,
        &no_cancel(),
    ))
}

fn commit(
    repo: &Repository,
    key: &dyn firekeep_core::keys::KeyProvider,
    id: &str,
) -> firekeep_core::Result<engine::BackupReport> {
    block_on(engine::commit_backup(repo, key, id, &no_cancel()))
}

#[test]
fn four_tasks_commit_one_backup_equal_to_a_one_process_backup() {
    let source = Arc::new(sample_source(300));
    let (store, repo) = memory_repo();
    let key = raw_key(1);
    let p = plan(&source, &repo, &key, 4);
    assert_eq!(p.task_count, 4);
    // The memory source has no partitioning: the sampled split still gives every task work.
    assert_eq!(p.partitioning, Partitioning::Sampled);
    assert_eq!(p.partitions, 4);
    // Nothing is a backup before the commit.
    assert!(block_on(engine::list(&repo, &key)).unwrap().is_empty());
    // Tasks in any order.
    let mut total = 0;
    for i in [3, 1, 0, 2] {
        let r = task(&source, &repo, &key, &p.backup_id, i, Some(4)).unwrap();
        assert_eq!(r.outcome, TaskOutcome::Completed);
        assert!(r.documents > 0, "task {i} had no documents: {r:?}");
        total += r.documents;
    }
    assert_eq!(total as usize, source.len());
    let c = commit(&repo, &key, &p.backup_id).unwrap();
    assert_eq!(c.documents as usize, source.len());
    assert_eq!(c.read_time, p.read_time);

    // An ordinary backup at the same read time holds exactly the same documents.
    let one = run_backup(
        source.clone(),
        &repo,
        &key,
        &engine::BackupOptions {
            read_time: Some(p.read_time),
            ..small_parts()
        },
    )
    .unwrap();
    let d = block_on(engine::diff_backups(
        &repo,
        &key,
        &one.backup_id,
        &p.backup_id,
        &DiffOptions::default(),
        &no_cancel(),
    ))
    .unwrap();
    assert_eq!((d.added, d.removed, d.changed), (0, 0, 0), "{d:?}");
    assert_eq!(d.unchanged as usize, source.len());

    let v = block_on(engine::verify(
        &repo,
        &key,
        &p.backup_id,
        None,
        &no_cancel(),
    ))
    .unwrap();
    assert!(v.is_ok(), "{v:?}");
    assert!(v.unexpected_objects.is_empty(), "{v:?}");
    let target = Arc::new(MemoryFirestore::new(target_db()));
    let r = run_restore(
        &repo,
        &key,
        &p.backup_id,
        target.clone(),
        &RestoreOptions::default(),
    )
    .unwrap();
    assert_eq!(r.written as usize, source.len());
    assert_eq!(
        by_path(target.documents(None))
            .into_iter()
            .map(|(k, d)| (k, d.fields))
            .collect::<BTreeMap<_, _>>(),
        by_path(source.documents(None))
            .into_iter()
            .map(|(k, d)| (k, d.fields))
            .collect::<BTreeMap<_, _>>()
    );
    // The plan and task results are part of the backup folder, not garbage.
    assert!(store.paths().iter().any(|p| p.ends_with("dist/plan.fkm")));
    // Commit again (a retried commit job): the same backup, no error.
    let again = commit(&repo, &key, &p.backup_id).unwrap();
    assert_eq!(again.documents, c.documents);
    // A task retried after the commit does nothing.
    let late = task(&source, &repo, &key, &p.backup_id, 1, None).unwrap();
    assert_eq!(late.outcome, TaskOutcome::AlreadyCommitted);
}

#[test]
fn commit_with_a_missing_task_names_it_and_writes_no_manifest() {
    let source = Arc::new(sample_source(50));
    let (store, repo) = memory_repo();
    let key = raw_key(1);
    let p = plan(&source, &repo, &key, 4);
    for i in [0, 1, 3] {
        task(&source, &repo, &key, &p.backup_id, i, None).unwrap();
    }
    let e = commit(&repo, &key, &p.backup_id).unwrap_err();
    assert!(matches!(e, Error::NotFound(_)), "{e:?}");
    let text = e.to_string();
    assert!(text.contains("task(s) 2 of 4"), "{text}");
    assert!(!store.paths().iter().any(|p| p.ends_with("manifest.fkm")));
    assert!(block_on(engine::list(&repo, &key)).unwrap().is_empty());
    // Run the missing one; now it commits.
    task(&source, &repo, &key, &p.backup_id, 2, None).unwrap();
    commit(&repo, &key, &p.backup_id).unwrap();
    assert_eq!(block_on(engine::list(&repo, &key)).unwrap().len(), 1);
}

#[test]
fn a_rerun_task_is_idempotent_and_a_killed_attempt_leaves_nothing() {
    let source = Arc::new(sample_source(80));
    let (store, repo) = memory_repo();
    let key = raw_key(1);
    let p = plan(&source, &repo, &key, 2);
    // What a SIGKILLed attempt of task 1 leaves: parts under its own attempt tag, no result.
    let stray = repo.object_path(&p.backup_id, "parts/t00001-deadbeef-00000000.fkp");
    block_on(store.put(&stray, bytes::Bytes::from_static(b"half a part"))).unwrap();
    let first = task(&source, &repo, &key, &p.backup_id, 0, Some(2)).unwrap();
    assert_eq!(first.outcome, TaskOutcome::Completed);
    let objects = store.paths().len();
    let again = task(&source, &repo, &key, &p.backup_id, 0, Some(2)).unwrap();
    assert_eq!(again.outcome, TaskOutcome::AlreadyCompleted);
    assert_eq!(again.documents, first.documents);
    assert_eq!(store.paths().len(), objects, "a re-run wrote nothing");
    task(&source, &repo, &key, &p.backup_id, 1, Some(2)).unwrap();
    let c = commit(&repo, &key, &p.backup_id).unwrap();
    assert_eq!(c.documents as usize, source.len());
    assert!(
        !store.paths().contains(&stray),
        "the killed attempt's part is gone"
    );
    let v = block_on(engine::verify(
        &repo,
        &key,
        &p.backup_id,
        None,
        &no_cancel(),
    ))
    .unwrap();
    assert!(v.is_ok() && v.unexpected_objects.is_empty(), "{v:?}");
}

#[test]
fn wrong_index_count_key_or_database_is_refused() {
    let source = Arc::new(sample_source(20));
    let (_store, repo) = memory_repo();
    let key = raw_key(1);
    let p = plan(&source, &repo, &key, 3);
    let e = task(&source, &repo, &key, &p.backup_id, 0, Some(4)).unwrap_err();
    assert!(e.to_string().contains("the plan has 3"), "{e}");
    let e = task(&source, &repo, &key, &p.backup_id, 3, None).unwrap_err();
    assert!(e.to_string().contains("out of range"), "{e}");
    let e = task(&source, &repo, &raw_key(2), &p.backup_id, 0, None).unwrap_err();
    assert!(matches!(e, Error::KeyMismatch { .. }), "{e:?}");
    let other = Arc::new(MemoryFirestore::new(target_db()));
    let e = task(&other, &repo, &key, &p.backup_id, 0, None).unwrap_err();
    assert!(e.to_string().contains("planned on project"), "{e}");
    let e = task(&source, &repo, &key, "bk_nope", 0, None).unwrap_err();
    assert!(matches!(e, Error::NotFound(_)), "{e:?}");
}

#[test]
fn a_result_from_another_plan_is_refused() {
    let source = Arc::new(sample_source(20));
    let (store, repo) = memory_repo();
    let key = raw_key(1);
    let a = plan(&source, &repo, &key, 2);
    let b = plan(&source, &repo, &key, 2);
    for i in 0..2 {
        task(&source, &repo, &key, &b.backup_id, i, None).unwrap();
    }
    task(&source, &repo, &key, &a.backup_id, 0, None).unwrap();
    // Someone with write access copies B's result for task 1 into A's folder.
    let from = repo.object_path(&b.backup_id, "dist/task-00001.fkm");
    let to = repo.object_path(&a.backup_id, "dist/task-00001.fkm");
    let bytes = block_on(store.get(&from)).unwrap();
    block_on(store.put(&to, bytes)).unwrap();
    let e = commit(&repo, &key, &a.backup_id).unwrap_err();
    assert!(matches!(e, Error::Integrity { .. }), "{e:?}");
    assert!(e.to_string().contains("task-00001.fkm"), "{e}");
    // The task, too, refuses to take it for its own.
    let e = task(&source, &repo, &key, &a.backup_id, 1, None).unwrap_err();
    assert!(matches!(e, Error::Integrity { .. }), "{e:?}");
    assert!(
        !store
            .paths()
            .iter()
            .any(|p| p.contains(&a.backup_id) && p.ends_with("manifest.fkm"))
    );
}

#[test]
fn sampled_partitions_split_one_collection_of_auto_ids_evenly() {
    let db = source_db();
    let m = Arc::new(MemoryFirestore::new(db.clone()));
    // Auto-IDs as the client libraries make them: 20 random letters of the 62.
    let alphabet = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for i in 0..2000 {
        let id: String = (0..20)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                alphabet[(state % 62) as usize] as char
            })
            .collect();
        m.put(Document::new(
            name(&db, &format!("events/{id}")),
            BTreeMap::from([("i".to_string(), Value::Integer(i))]),
        ))
        .unwrap();
    }
    let (_store, repo) = memory_repo();
    let key = raw_key(1);
    let p = plan(&m, &repo, &key, 4);
    assert_eq!(p.partitions, 4);
    let mut counts = Vec::new();
    for i in 0..4 {
        counts.push(
            task(&m, &repo, &key, &p.backup_id, i, None)
                .unwrap()
                .documents,
        );
    }
    assert_eq!(counts.iter().sum::<u64>(), 2000);
    for c in &counts {
        assert!((300..=700).contains(c), "uneven split {counts:?}");
    }
    commit(&repo, &key, &p.backup_id).unwrap();
}

#[test]
fn a_plan_never_committed_is_pruned_after_the_grace_period() {
    let dir = TempDir::new("dist-prune");
    let local = Arc::new(LocalStorage::new(&dir.0).unwrap());
    let repo = Repository::new(local);
    let key = raw_key(1);
    let source = Arc::new(sample_source(20));
    let p = plan(&source, &repo, &key, 2);
    task(&source, &repo, &key, &p.backup_id, 0, None).unwrap();
    let retention = Retention {
        keep_last: 5,
        ..Default::default()
    };
    let now = block_on(engine::plan_prune(
        &repo,
        &key,
        &retention,
        Timestamp::now(),
    ))
    .unwrap();
    assert!(now.orphans.is_empty(), "a running plan is left alone");
    let later = Timestamp::now().add_seconds(7200).unwrap();
    let pp = block_on(engine::plan_prune(&repo, &key, &retention, later)).unwrap();
    assert_eq!(pp.orphans, vec![p.backup_id.clone()]);
    block_on(engine::apply_prune(&repo, &key, &pp)).unwrap();
    assert!(
        !dir.0
            .join("firekeep/v1/backups")
            .join(&p.backup_id)
            .exists()
    );
    // Its tasks now fail clearly instead of writing into a pruned folder.
    let e = task(&source, &repo, &key, &p.backup_id, 1, None).unwrap_err();
    assert!(matches!(e, Error::NotFound(_)), "{e:?}");
}

#[test]
fn a_scoped_plan_at_a_past_read_time_backs_up_that_snapshot() {
    let source = Arc::new(sample_source(40));
    let t = block_on(source.snapshot_time()).unwrap();
    source
        .put(Document::new(
            name(&source_db(), "users/late"),
            BTreeMap::new(),
        ))
        .unwrap();
    let (_store, repo) = memory_repo();
    let key = raw_key(1);
    let opts = PlanOptions {
        backup: engine::BackupOptions {
            scope: Scope::collections(["users"], true),
            read_time: Some(t),
            ..small_parts()
        },
        task_count: 3,
        partitions_per_task: 2,
    };
    let p = block_on(engine::plan_backup(source.clone(), &repo, &key, &opts)).unwrap();
    for i in 0..3 {
        task(&source, &repo, &key, &p.backup_id, i, None).unwrap();
    }
    let c = commit(&repo, &key, &p.backup_id).unwrap();
    // users: 40 documents + 20 posts below users/d00001, not the one written after t.
    assert_eq!(c.documents, 60);
    assert_eq!(c.read_time, t);
}

#[test]
fn a_restore_split_into_tasks_writes_the_backup_once_and_sums_up() {
    let source = Arc::new(sample_source(120));
    let (_store, repo) = memory_repo();
    let key = raw_key(1);
    let b = run_backup(source.clone(), &repo, &key, &small_parts()).unwrap();
    let target = Arc::new(MemoryFirestore::new(target_db()));
    let p = block_on(engine::plan_restore(
        &repo,
        &key,
        &b.backup_id,
        &target_db(),
        &RestoreOptions::default(),
        3,
    ))
    .unwrap();
    assert_eq!(p.task_count, 3);
    assert!(p.parts >= 3, "{p:?}");
    let run_task = |i: usize| {
        block_on(engine::run_restore_task(
            &repo,
            &key,
            &b.backup_id,
            &p.restore_id,
            target.clone(),
            i,
            Some(3),
            None,
            &no_cancel(),
        ))
    };
    run_task(0).unwrap();
    run_task(2).unwrap();
    let e = block_on(engine::summarize_restore(
        &repo,
        &key,
        &b.backup_id,
        &p.restore_id,
    ))
    .unwrap_err();
    assert!(e.to_string().contains("task(s) 1 of 3"), "{e}");
    let one = run_task(1).unwrap();
    assert_eq!(one.outcome, TaskOutcome::Completed);
    assert!(one.report.written > 0);
    assert_eq!(run_task(1).unwrap().outcome, TaskOutcome::AlreadyCompleted);
    let sum = block_on(engine::summarize_restore(
        &repo,
        &key,
        &b.backup_id,
        &p.restore_id,
    ))
    .unwrap();
    assert_eq!(sum.written as usize, source.len());
    assert!(sum.failed.is_empty());
    let fields = |docs: Vec<Document>| {
        by_path(docs)
            .into_iter()
            .map(|(k, d)| (k, d.fields))
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(
        fields(target.documents(None)),
        fields(source.documents(None))
    );
    // A task pointed at another database is refused; so is a restore id never planned.
    let other = Arc::new(MemoryFirestore::new(source_db()));
    let e = block_on(engine::run_restore_task(
        &repo,
        &key,
        &b.backup_id,
        &p.restore_id,
        other,
        0,
        None,
        None,
        &no_cancel(),
    ))
    .unwrap_err();
    assert!(e.to_string().contains("writes to project"), "{e}");
    let e = block_on(engine::summarize_restore(
        &repo,
        &key,
        &b.backup_id,
        "rs_0000000000000000",
    ))
    .unwrap_err();
    assert!(matches!(e, Error::NotFound(_)), "{e:?}");
    // The restore's objects do not count as unexpected in the backup's folder.
    let v = block_on(engine::verify(
        &repo,
        &key,
        &b.backup_id,
        None,
        &no_cancel(),
    ))
    .unwrap();
    assert!(v.unexpected_objects.is_empty(), "{v:?}");
}
