//! The Client: every engine operation authorized and audited through the session —
//! successes, failures (with the error code) and denials, with no secrets in any event.

mod engine_common;

use engine_common::*;
use firekeep_core::Error;
use firekeep_core::audit::{AuditEvent, MemoryAuditSink};
use firekeep_core::client::Client;
use firekeep_core::engine::{BackupOptions, DiffOptions, Repository, RestoreOptions, Retention};
use firekeep_core::keys::{KeyProvider, PassphraseKey};
use firekeep_core::model::Timestamp;
use firekeep_core::policy::{MemberEntry, Policy, PolicyDocument, Principal};
use firekeep_core::session::Session;
use firekeep_core::source::memory::MemoryFirestore;
use firekeep_core::storage::memory::MemoryStorage;
use std::sync::Arc;

const ORG: &str = "acme";
const PASSPHRASE: &str = "a very secret passphrase 42";

fn policy() -> Arc<Policy> {
    let m = |id: &str, role: &str| MemberEntry {
        id: id.into(),
        email: Some(format!("{id}@acme.test")),
        organization: ORG.into(),
        role: Some(role.into()),
        projects: Default::default(),
        expires_at: None,
    };
    Arc::new(
        Policy::from_document(PolicyDocument {
            members: vec![m("olga", "owner"), m("vic", "viewer"), m("mia", "member")],
            ..PolicyDocument::default()
        })
        .unwrap(),
    )
}

fn client(
    user: &str,
    store: &MemoryStorage,
    audit: &Arc<MemoryAuditSink>,
    key: Arc<dyn KeyProvider>,
) -> Client {
    let session = Session::new(Principal::user(ORG, user), policy(), audit.clone());
    Client::new(session, Repository::new(Arc::new(store.clone())), key)
}

fn actions(audit: &MemoryAuditSink) -> Vec<String> {
    audit
        .events()
        .into_iter()
        .map(|e: AuditEvent| e.action)
        .collect()
}

#[test]
fn operations_are_authorized_and_audited() {
    let store = MemoryStorage::new();
    let audit = Arc::new(MemoryAuditSink::new());
    let key: Arc<dyn KeyProvider> =
        Arc::new(PassphraseKey::with_iterations(PASSPHRASE, 100_000).unwrap());
    let owner = client("olga", &store, &audit, key.clone());
    let member = client("mia", &store, &audit, key.clone());
    let viewer = client("vic", &store, &audit, key.clone());
    let source = Arc::new(sample_source(10));

    let rep = block_on(member.backup(source.clone(), &small_parts(), None, &no_cancel())).unwrap();
    let listed = block_on(viewer.list()).unwrap();
    assert_eq!(listed.len(), 1);
    let v = block_on(member.verify(&rep.backup_id, None, &no_cancel())).unwrap();
    assert!(v.is_ok());
    let d = block_on(member.diff_with_source(
        &rep.backup_id,
        source.clone(),
        None,
        &DiffOptions::default(),
        &no_cancel(),
    ))
    .unwrap();
    assert!(d.is_empty());

    // A viewer may not back up; a member may not restore. Nothing runs.
    let before = store.paths();
    let err = block_on(viewer.backup(
        source.clone(),
        &BackupOptions::default(),
        None,
        &no_cancel(),
    ))
    .unwrap_err();
    assert!(matches!(err, Error::AuthorizationDenied(_)), "{err}");
    assert_eq!(store.paths(), before);
    let target = MemoryFirestore::new(target_db());
    let err = block_on(member.restore(
        &rep.backup_id,
        Arc::new(target.clone()),
        &RestoreOptions::default(),
        None,
        &no_cancel(),
    ))
    .unwrap_err();
    assert!(matches!(err, Error::AuthorizationDenied(_)), "{err}");
    assert!(target.is_empty());

    let r = block_on(owner.restore(
        &rep.backup_id,
        Arc::new(target.clone()),
        &RestoreOptions::default(),
        None,
        &no_cancel(),
    ))
    .unwrap();
    assert_eq!(r.written, rep.documents);

    // A failure is audited with its code: verify of a missing backup.
    let err = block_on(member.verify("bk_20200101T000000.000Z_00000000", None, &no_cancel()))
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)));

    let plan = block_on(owner.plan_prune(
        &Retention {
            keep_last: 1,
            ..Default::default()
        },
        Timestamp::now(),
    ))
    .unwrap();
    assert!(plan.remove.is_empty());
    let err = block_on(member.apply_prune(&plan)).unwrap_err();
    assert!(matches!(err, Error::AuthorizationDenied(_)));
    block_on(owner.apply_prune(&plan)).unwrap();

    let new_key = raw_key(7);
    let err = block_on(member.rotate_key(&new_key, &no_cancel())).unwrap_err();
    assert!(matches!(err, Error::AuthorizationDenied(_)));
    let rot = block_on(owner.rotate_key(&new_key, &no_cancel())).unwrap();
    assert_eq!(rot.rotated, vec![rep.backup_id.clone()]);

    assert_eq!(
        actions(&audit),
        vec![
            "backup.created",
            "backup.listed",
            "backup.verified",
            "backup.diffed",
            "authorization.denied",
            "authorization.denied",
            "backup.restored",
            "backup.verify_failed",
            "backup.listed",
            "authorization.denied",
            "backup.pruned",
            "authorization.denied",
            "key.rotated",
        ]
    );
    let events = audit.events();
    let created = &events[0];
    assert_eq!(created.resource.kind, "backup");
    assert_eq!(created.details["backup_id"], rep.backup_id.as_str());
    assert_eq!(created.details["documents"], rep.documents);
    assert_eq!(events[7].details["error"]["code"], "ERR_NOT_FOUND");
    assert_eq!(events[12].details["rotated"][0], rep.backup_id.as_str());
    // No secret anywhere in the trail.
    let all = serde_json::to_string(&events).unwrap();
    assert!(!all.contains(PASSPHRASE));
}

#[test]
fn verify_failure_is_an_integrity_error_naming_the_part_and_audited() {
    let store = MemoryStorage::new();
    let audit = Arc::new(MemoryAuditSink::new());
    let c = client("olga", &store, &audit, Arc::new(raw_key(1)));
    let rep = block_on(c.backup(
        Arc::new(sample_source(20)),
        &small_parts(),
        None,
        &no_cancel(),
    ))
    .unwrap();
    let part = store
        .paths()
        .into_iter()
        .find(|p| p.ends_with("00000001.fkp"))
        .unwrap();
    let mut bad = store.get_sync(&part).unwrap().to_vec();
    bad[50] ^= 1;
    store.put_sync(&part, bad);
    let err = block_on(c.verify(&rep.backup_id, None, &no_cancel())).unwrap_err();
    assert!(matches!(&err, Error::Integrity { .. }));
    assert!(err.to_string().contains("parts/00000001.fkp"), "{err}");
    // The report form hands back the problems; both calls were audited as failures.
    let report = block_on(c.verify_report(&rep.backup_id, None, &no_cancel())).unwrap();
    assert_eq!(report.problems.len(), 1);
    let acts = actions(&audit);
    assert_eq!(
        &acts[acts.len() - 2..],
        ["backup.verify_failed", "backup.verify_failed"]
    );
    let last = audit.events().pop().unwrap();
    assert!(
        last.details["error"]["message"]
            .as_str()
            .unwrap()
            .contains("parts/00000001.fkp")
    );
}
