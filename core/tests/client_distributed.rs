//! The distributed backup and restore steps through the client: authorized like a backup
//! or restore (a viewer may not run a task, a member may not restore), every step audited
//! with its stage.

mod engine_common;

use engine_common::*;
use firekeep_core::Error;
use firekeep_core::audit::MemoryAuditSink;
use firekeep_core::client::Client;
use firekeep_core::engine::{PlanOptions, Repository, RestoreOptions, TaskOptions};
use firekeep_core::keys::KeyProvider;
use firekeep_core::policy::{MemberEntry, Policy, PolicyDocument, Principal};
use firekeep_core::session::Session;
use firekeep_core::source::FirestoreSource;
use firekeep_core::source::memory::MemoryFirestore;
use firekeep_core::storage::memory::MemoryStorage;
use std::sync::Arc;

const ORG: &str = "acme";

fn client(user: &str, store: &MemoryStorage, audit: &Arc<MemoryAuditSink>) -> Client {
    let m = |id: &str, role: &str| MemberEntry {
        id: id.into(),
        email: Some(format!("{id}@acme.test")),
        organization: ORG.into(),
        role: Some(role.into()),
        projects: Default::default(),
        expires_at: None,
        disabled_at: None,
    };
    let policy = Arc::new(
        Policy::from_document(PolicyDocument {
            members: vec![m("olga", "owner"), m("vic", "viewer"), m("mia", "member")],
            ..PolicyDocument::default()
        })
        .unwrap(),
    );
    let session = Session::new(Principal::user(ORG, user), policy, audit.clone());
    let key: Arc<dyn KeyProvider> = Arc::new(raw_key(7));
    Client::new(session, Repository::new(Arc::new(store.clone())), key)
}

#[test]
fn distributed_steps_are_authorized_and_audited_with_their_stage() {
    let store = MemoryStorage::new();
    let audit = Arc::new(MemoryAuditSink::new());
    let member = client("mia", &store, &audit);
    let viewer = client("vic", &store, &audit);
    let owner = client("olga", &store, &audit);
    let source = Arc::new(sample_source(40));
    let src: Arc<dyn FirestoreSource> = source.clone();

    let opts = PlanOptions {
        backup: small_parts(),
        task_count: 2,
        partitions_per_task: 1,
    };
    let e = block_on(viewer.plan_backup(src.clone(), &opts)).unwrap_err();
    assert!(matches!(e, Error::AuthorizationDenied(_)), "{e}");
    assert!(store.paths().is_empty(), "a denied plan wrote nothing");
    let plan = block_on(member.plan_backup(src.clone(), &opts)).unwrap();
    let before = store.paths();
    let e = block_on(viewer.backup_task(
        src.clone(),
        &plan.backup_id,
        0,
        None,
        &TaskOptions::default(),
        None,
        &no_cancel(),
    ))
    .unwrap_err();
    assert!(matches!(e, Error::AuthorizationDenied(_)), "{e}");
    assert_eq!(store.paths(), before, "a denied task wrote nothing");
    for i in 0..2 {
        block_on(member.backup_task(
            src.clone(),
            &plan.backup_id,
            i,
            Some(2),
            &TaskOptions::default(),
            None,
            &no_cancel(),
        ))
        .unwrap();
    }
    let db = source.database().clone();
    let e = block_on(viewer.commit_backup(&db, &plan.backup_id, &no_cancel())).unwrap_err();
    assert!(matches!(e, Error::AuthorizationDenied(_)), "{e}");
    let c = block_on(member.commit_backup(&db, &plan.backup_id, &no_cancel())).unwrap();
    assert_eq!(c.documents as usize, source.len());

    // Restore: a member may not even plan one; the owner runs it in two tasks.
    let target = Arc::new(MemoryFirestore::new(target_db()));
    let e =
        block_on(member.plan_restore(&plan.backup_id, &target_db(), &RestoreOptions::default(), 2))
            .unwrap_err();
    assert!(matches!(e, Error::AuthorizationDenied(_)), "{e}");
    let rp =
        block_on(owner.plan_restore(&plan.backup_id, &target_db(), &RestoreOptions::default(), 2))
            .unwrap();
    let e = block_on(member.restore_task(
        &plan.backup_id,
        &rp.restore_id,
        target.clone(),
        0,
        None,
        None,
        &no_cancel(),
    ))
    .unwrap_err();
    assert!(matches!(e, Error::AuthorizationDenied(_)), "{e}");
    assert!(target.is_empty());
    for i in 0..2 {
        block_on(owner.restore_task(
            &plan.backup_id,
            &rp.restore_id,
            target.clone(),
            i,
            Some(2),
            None,
            &no_cancel(),
        ))
        .unwrap();
    }
    let sum =
        block_on(owner.restore_summary(&target_db(), &plan.backup_id, &rp.restore_id)).unwrap();
    assert_eq!(sum.written as usize, source.len());

    let events = audit.events();
    let stage = |action: &str, stage: &str| {
        events
            .iter()
            .filter(|e| e.action == action && e.details.get("stage") == Some(&stage.into()))
            .count()
    };
    assert_eq!(stage("backup.created", "plan"), 1);
    assert_eq!(stage("backup.created", "task"), 2);
    assert_eq!(stage("backup.created", "commit"), 1);
    assert_eq!(stage("backup.restored", "restore_plan"), 1);
    assert_eq!(stage("backup.restored", "restore_task"), 2);
    assert_eq!(stage("backup.restored", "restore_summary"), 1);
    let denied = events
        .iter()
        .filter(|e| e.action == "authorization.denied")
        .count();
    assert_eq!(denied, 5);
    let commit = events
        .iter()
        .find(|e| e.action == "backup.created" && e.details.get("stage") == Some(&"commit".into()))
        .unwrap();
    assert_eq!(commit.details["backup_id"], plan.backup_id.as_str());
    assert_eq!(commit.details["documents"], c.documents);
}
