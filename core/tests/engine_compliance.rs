//! Erasure across backups, legal hold and rollback detection on real (memory) repositories:
//! what is erased, what stays byte for byte, crashes at every write and delete, holds
//! against prune and erase.

mod engine_common;

use engine_common::*;
use firekeep_core::Error;
use firekeep_core::engine::{
    self, EraseOptions, EraseSelector, FieldMatch, Repository, RestoreOptions, Retention,
};
use firekeep_core::keys::KeyProvider;
use firekeep_core::model::{Document, Timestamp, Value};
use firekeep_core::source::memory::MemoryFirestore;
use firekeep_core::storage::StorageSink;
use firekeep_core::storage::memory::MemoryStorage;
use futures::TryStreamExt;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

const ALICE: &str = "alice";

/// Users `u000..`, orders owned by users (every 7th by alice), alice's user document
/// with a `posts` subcollection and a nested `likes` under one post.
fn people_source(users: usize) -> MemoryFirestore {
    let db = source_db();
    let m = MemoryFirestore::new(db.clone());
    let s = |v: &str| Value::String(v.to_string());
    for i in 0..users {
        let id = format!("u{i:04}");
        m.put(Document::new(
            name(&db, &format!("users/{id}")),
            BTreeMap::from([
                ("userId".into(), s(&id)),
                ("bio".into(), s(&format!("{id} ").repeat(30))),
            ]),
        ))
        .unwrap();
    }
    m.put(Document::new(
        name(&db, "users/alice"),
        BTreeMap::from([("userId".into(), s(ALICE)), ("email".into(), s("a@x"))]),
    ))
    .unwrap();
    for p in 0..30 {
        m.put(Document::new(
            name(&db, &format!("users/alice/posts/p{p:03}")),
            BTreeMap::from([("text".into(), s(&"secret words ".repeat(20)))]),
        ))
        .unwrap();
    }
    m.put(Document::new(
        name(&db, "users/alice/posts/p000/likes/l1"),
        BTreeMap::from([("by".into(), s("u0001"))]),
    ))
    .unwrap();
    for o in 0..users {
        let owner = if o % 7 == 0 {
            ALICE.to_string()
        } else {
            format!("u{o:04}")
        };
        m.put(Document::new(
            name(&db, &format!("orders/o{o:04}")),
            BTreeMap::from([
                ("userId".into(), s(&owner)),
                ("total".into(), Value::Integer(o as i64)),
            ]),
        ))
        .unwrap();
    }
    m
}

/// Relative paths of alice's documents in `people_source`.
fn is_alices(path: &str, fields: &BTreeMap<String, Value>) -> bool {
    path == "users/alice"
        || path.starts_with("users/alice/")
        || (path.starts_with("orders/")
            && fields.get("userId") == Some(&Value::String(ALICE.into())))
}

fn alice_request(backups: Vec<String>, dry_run: bool) -> EraseOptions {
    EraseOptions {
        selector: EraseSelector {
            paths: vec!["users/alice".into()],
            field_match: Some(FieldMatch {
                collection_group: "orders".into(),
                field: "userId".into(),
                value: Value::String(ALICE.into()),
            }),
            include_subcollections: true,
        },
        backups,
        dry_run,
    }
}

fn rel(doc: &Document) -> String {
    doc.path().unwrap().1.to_string()
}

/// Restores a backup into a fresh database and returns its documents by relative path.
fn restored(repo: &Repository, keys: &dyn KeyProvider, id: &str) -> BTreeMap<String, Document> {
    let target = Arc::new(MemoryFirestore::new(target_db()));
    run_restore(repo, keys, id, target.clone(), &RestoreOptions::default()).unwrap();
    target
        .documents(None)
        .into_iter()
        .map(|d| (rel(&d), d))
        .collect()
}

fn source_docs(source: &MemoryFirestore) -> BTreeMap<String, Document> {
    source
        .documents(None)
        .into_iter()
        .map(|d| (rel(&d), d))
        .collect()
}

/// Every object of the store, path → bytes.
fn objects(store: &MemoryStorage) -> BTreeMap<String, Vec<u8>> {
    block_on(async {
        let metas: Vec<_> = store.list("").try_collect().await.unwrap();
        let mut out = BTreeMap::new();
        for m in metas {
            out.insert(m.path.clone(), store.get(&m.path).await.unwrap().to_vec());
        }
        out
    })
}

fn erase(
    repo: &Repository,
    keys: &dyn KeyProvider,
    opts: &EraseOptions,
) -> firekeep_core::Result<engine::EraseReport> {
    block_on(engine::erase(repo, keys, opts, &no_cancel()))
}

/// Asserts a restored backup equals the source without alice's documents, or (when
/// `erased` is false) equals the source.
fn assert_contents(
    got: &BTreeMap<String, Document>,
    source: &BTreeMap<String, Document>,
    erased: bool,
) {
    let expected: BTreeMap<&String, &Document> = source
        .iter()
        .filter(|(p, d)| !(erased && is_alices(p, &d.fields)))
        .collect();
    assert_eq!(got.len(), expected.len());
    for (p, d) in &expected {
        let g = got
            .get(*p)
            .unwrap_or_else(|| panic!("{p} missing after erase"));
        assert_eq!(g.fields, d.fields, "{p} changed");
    }
}

fn three_backups() -> (MemoryStorage, Repository, Arc<MemoryFirestore>, Vec<String>) {
    let (store, repo) = memory_repo();
    let source = Arc::new(people_source(300));
    let key = raw_key(1);
    let ids = backups_under(&repo, source.clone(), &[&key, &key, &key]);
    (store, repo, source, ids)
}

#[test]
fn erase_removes_a_person_from_every_backup_and_leaves_the_rest_byte_for_byte() {
    let (store, repo, source, ids) = three_backups();
    let key = raw_key(1);
    let src = source_docs(&source);
    let alices = src.iter().filter(|(p, d)| is_alices(p, &d.fields)).count();
    assert!(alices > 40, "{alices}");

    // Dry run: counts, and not one byte written or deleted.
    let before = objects(&store);
    let dry = erase(&repo, &key, &alice_request(vec![], true)).unwrap();
    assert_eq!(dry.documents as usize, alices * 3);
    assert!(objects(&store) == before, "a dry run changed the store");

    // A path-only request reads only the parts whose name range can hold alice.
    let only_user = EraseOptions {
        selector: EraseSelector {
            paths: vec!["users/alice".into()],
            field_match: None,
            include_subcollections: true,
        },
        backups: vec![ids[0].clone()],
        dry_run: true,
    };
    let r = erase(&repo, &key, &only_user).unwrap();
    let b = &r.backups[0];
    assert_eq!(b.documents, 32);
    let manifest = block_on(engine::read_manifest(&repo, &key, &ids[0])).unwrap();
    assert!(b.parts_read < manifest.parts.len() / 4, "{b:?}");

    let report = erase(&repo, &key, &alice_request(vec![], false)).unwrap();
    assert_eq!(report.documents as usize, alices * 3);
    let after = objects(&store);
    for (id, b) in ids.iter().zip(&report.backups) {
        assert_eq!(&b.backup_id, id);
        assert_eq!(b.generation, 2);
        let verified = block_on(engine::verify(&repo, &key, id, None, &no_cancel())).unwrap();
        assert!(verified.is_ok(), "{:?}", verified.problems);
        assert!(
            verified
                .unexpected_objects
                .iter()
                .all(|o| o.starts_with("manifests/")),
            "{:?}",
            verified.unexpected_objects
        );
        assert_contents(&restored(&repo, &key, id), &src, true);

        let m = block_on(engine::read_manifest(&repo, &key, id)).unwrap();
        assert_eq!(m.generation, 2);
        assert_eq!(m.totals.documents as usize, src.len() - alices);
        assert_eq!(m.erasures.len(), 1);
        assert_eq!(m.erasures[0].path_hashes.len(), alices);
        // The manifest names nothing of alice in clear (hashes only).
        let text = serde_json::to_string(&m).unwrap();
        assert!(!text.contains(ALICE), "the manifest names alice");
        // Parts not rewritten are the very same objects, byte for byte.
        let unchanged: Vec<_> = m
            .parts
            .iter()
            .filter(|p| !p.object.contains(".g"))
            .collect();
        assert_eq!(unchanged.len(), b.parts_unchanged);
        assert!(b.parts_unchanged > 0 && b.parts_rewritten > 0, "{b:?}");
        for p in unchanged {
            let path = repo.object_path(id, &p.object);
            assert_eq!(before[&path], after[&path], "{} changed", p.object);
        }
        // No part of the old generation is left.
        let dir = repo.object_path(id, "parts/");
        let stored: BTreeSet<&String> = after.keys().filter(|k| k.starts_with(&dir)).collect();
        assert_eq!(stored.len(), m.parts.len());
    }
    // Listing shows the generation, and nothing rolled back.
    let listed = block_on(engine::list(&repo, &key)).unwrap();
    assert!(listed.rollback.is_ok(), "{:?}", listed.rollback);
    assert!(listed.backups.iter().all(|b| b.generation == 2));

    // A second run finds nothing and changes nothing.
    let again = erase(&repo, &key, &alice_request(vec![], false)).unwrap();
    assert_eq!(again.documents, 0);
    let now = objects(&store);
    let changed: Vec<&String> = now
        .keys()
        .chain(after.keys())
        .filter(|k| now.get(*k) != after.get(*k))
        .collect();
    assert!(
        changed.is_empty(),
        "a run with nothing to erase changed {changed:?}"
    );
}

/// What one backup reads as: erased, or as before. Anything else fails the test.
fn erased_or_untouched(
    repo: &Repository,
    key: &dyn KeyProvider,
    id: &str,
    src: &BTreeMap<String, Document>,
) -> bool {
    let verified = block_on(engine::verify(repo, key, id, None, &no_cancel())).unwrap();
    assert!(verified.is_ok(), "{id}: {:?}", verified.problems);
    let got = restored(repo, key, id);
    let erased = !got.contains_key("users/alice");
    assert_contents(&got, src, erased);
    erased
}

#[test]
fn a_crash_at_any_write_or_delete_leaves_each_backup_whole_and_a_rerun_finishes() {
    let key = raw_key(1);
    // How many writes and deletes a clean run makes.
    let (store, _, source, _) = three_backups();
    let src = source_docs(&source);
    let counting = Arc::new(FaultySink::new(Arc::new(store), Fault::SlowReads));
    let repo = Repository::new(counting.clone());
    erase(&repo, &key, &alice_request(vec![], false)).unwrap();
    let writes = counting.writes.load(std::sync::atomic::Ordering::SeqCst);
    let deletes = counting.deletes.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        writes > 6 && deletes > 6,
        "{writes} writes, {deletes} deletes"
    );

    let faults = (0..writes)
        .map(Fault::DiskFullAfter)
        .chain((0..deletes).step_by(3).map(Fault::FailDeletesAfter));
    let mut partial = 0;
    for fault in faults {
        let (store, repo, _, ids) = three_backups();
        let faulty = Repository::new(Arc::new(FaultySink::new(Arc::new(store.clone()), fault)));
        let failed = erase(&faulty, &key, &alice_request(vec![], false));
        assert!(failed.is_err(), "{fault:?} did not fail the run");
        let states: Vec<bool> = ids
            .iter()
            .map(|id| erased_or_untouched(&repo, &key, id, &src))
            .collect();
        if states.iter().any(|e| *e) && states.iter().any(|e| !e) {
            partial += 1;
        }
        // The re-run finishes the job: every backup erased, verified, nothing left over.
        erase(&repo, &key, &alice_request(vec![], false)).unwrap();
        for id in &ids {
            assert!(
                erased_or_untouched(&repo, &key, id, &src),
                "{fault:?}: {id} not erased"
            );
            let v = block_on(engine::verify(&repo, &key, id, None, &no_cancel())).unwrap();
            assert!(
                v.unexpected_objects
                    .iter()
                    .all(|o| o.starts_with("manifests/")),
                "{fault:?}: {:?}",
                v.unexpected_objects
            );
        }
        let listed = block_on(engine::list(&repo, &key)).unwrap();
        assert!(listed.rollback.is_ok(), "{fault:?}: {:?}", listed.rollback);
    }
    assert!(partial > 0, "no crash fell between two backups");
}

#[test]
fn putting_the_pre_erasure_manifest_back_is_reported_and_a_rerun_erases_again() {
    let (store, repo, source, ids) = three_backups();
    let key = raw_key(1);
    let src = source_docs(&source);
    let before = objects(&store);
    erase(&repo, &key, &alice_request(vec![], false)).unwrap();

    // An attacker with write access puts backup 1's old objects back and removes the new.
    let id = &ids[1];
    let dir = repo.object_path(id, "");
    block_on(async {
        let now: Vec<_> = store.list(&dir).try_collect().await.unwrap();
        for o in now {
            store.delete(&o.path).await.unwrap();
        }
        for (path, bytes) in before.iter().filter(|(p, _)| p.starts_with(&dir)) {
            store.put(path, bytes.clone().into()).await.unwrap();
        }
    });
    let listed = block_on(engine::list(&repo, &key)).unwrap();
    assert_eq!(listed.rollback.rolled_back, vec![id.clone()]);
    assert!(matches!(listed.latest(), Err(Error::Integrity { .. })));
    let e = block_on(engine::read_manifest(&repo, &key, id)).unwrap_err();
    assert!(e.to_string().contains("rollback"), "{e}");

    // Erasing again moves it past the recorded generation.
    let again = erase(&repo, &key, &alice_request(vec![id.clone()], false)).unwrap();
    assert_eq!(again.backups[0].generation, 3);
    assert!(erased_or_untouched(&repo, &key, id, &src));
    assert!(
        block_on(engine::list(&repo, &key))
            .unwrap()
            .rollback
            .is_ok()
    );
}

#[test]
fn a_held_backup_survives_prune_and_erase_until_released() {
    let (store, repo, _, ids) = three_backups();
    let key = raw_key(1);
    let hold = block_on(engine::hold(&repo, &key, &ids[0], "case 2026-17")).unwrap();
    assert_eq!(hold.reason, "case 2026-17");
    // Holding again keeps the first hold.
    let again = block_on(engine::hold(&repo, &key, &ids[0], "other")).unwrap();
    assert_eq!(again, hold);
    // A memory store has no per-object legal hold, and the result says so.
    let o = hold.object_lock.clone().unwrap();
    assert_eq!(o.status, engine::ObjectLockStatus::NotSupported);
    assert_eq!(o.objects, 0);
    // What the store did is never part of the sealed record.
    assert_eq!(
        block_on(engine::read_hold(&repo, &key, &ids[0])).unwrap(),
        Some(engine::LegalHold {
            object_lock: None,
            ..hold
        })
    );
    let listed = block_on(engine::list(&repo, &key)).unwrap();
    assert_eq!(
        listed
            .iter()
            .filter(|b| b.legal_hold)
            .map(|b| b.id.clone())
            .collect::<Vec<_>>(),
        vec![ids[0].clone()]
    );
    // The hold's reason is sealed: not in the stored bytes.
    let stored = objects(&store);
    assert!(
        !stored
            .values()
            .any(|b| b.windows(12).any(|w| w == b"case 2026-17"))
    );

    // Erase refuses, and writes nothing.
    let e = erase(&repo, &key, &alice_request(vec![], false)).unwrap_err();
    assert!(matches!(e, Error::PermissionDenied(_)), "{e}");
    assert!(
        e.to_string().contains(&ids[0]) && e.to_string().contains("legal hold"),
        "{e}"
    );
    assert!(
        objects(&store) == stored,
        "a refused erase changed the store"
    );

    // Prune keeps it whatever the rules say.
    let keep_one = Retention {
        keep_last: 1,
        ..Retention::default()
    };
    let plan = block_on(engine::plan_prune(&repo, &key, &keep_one, Timestamp::now())).unwrap();
    assert!(
        plan.keep
            .iter()
            .any(|k| k.id == ids[0] && k.reasons == ["legal-hold"])
    );
    assert_eq!(plan.remove, vec![ids[1].clone()]);
    block_on(engine::apply_prune(&repo, &key, &plan)).unwrap();
    // A hold placed after planning is honoured when the plan is applied.
    let plan = block_on(engine::plan_prune(&repo, &key, &keep_one, Timestamp::now())).unwrap();
    assert!(plan.remove.is_empty());

    // A planted, unauthenticated hold still blocks deletion (bucket writers can delete
    // anyway; a hold they could void by corrupting it would protect nothing).
    let planted = repo.object_path(&ids[2], "hold.fkl");
    let late_plan = engine::PrunePlan {
        remove: vec![ids[2].clone()],
        ..plan.clone()
    };
    block_on(store.put(&planted, b"junk".to_vec().into())).unwrap();
    let report = block_on(engine::apply_prune(&repo, &key, &late_plan)).unwrap();
    assert_eq!(report.held, vec![ids[2].clone()]);
    assert!(block_on(engine::read_hold(&repo, &key, &ids[2])).is_err());
    block_on(engine::release(&repo, &key, &ids[2])).unwrap();

    // Released, the next prune removes it.
    let released = block_on(engine::release(&repo, &key, &ids[0])).unwrap();
    assert!(released.is_some());
    assert_eq!(
        block_on(engine::read_hold(&repo, &key, &ids[0])).unwrap(),
        None
    );
    let plan = block_on(engine::plan_prune(&repo, &key, &keep_one, Timestamp::now())).unwrap();
    assert_eq!(plan.remove, vec![ids[0].clone()]);
    block_on(engine::apply_prune(&repo, &key, &plan)).unwrap();
    let left: Vec<String> = block_on(engine::list(&repo, &key))
        .unwrap()
        .iter()
        .map(|b| b.id.clone())
        .collect();
    assert_eq!(left, vec![ids[2].clone()]);
}

#[test]
fn bad_requests_are_refused_before_anything_is_read() {
    let (_, repo) = memory_repo();
    let key = raw_key(1);
    for sel in [
        EraseSelector::default(),
        EraseSelector {
            paths: vec!["users".into()],
            ..Default::default()
        },
        EraseSelector {
            field_match: Some(FieldMatch {
                collection_group: "a/b".into(),
                field: "x".into(),
                value: Value::Null,
            }),
            ..Default::default()
        },
    ] {
        let opts = EraseOptions {
            selector: sel,
            ..Default::default()
        };
        assert!(matches!(
            erase(&repo, &key, &opts),
            Err(Error::InvalidInput(_))
        ));
    }
}

mod through_the_client {
    use super::*;
    use firekeep_core::audit::MemoryAuditSink;
    use firekeep_core::client::Client;
    use firekeep_core::engine::{ExportFormat, ExportOptions, StreamOutput};
    use firekeep_core::policy::{MemberEntry, Policy, PolicyDocument, Principal};
    use firekeep_core::session::Session;
    use std::io::Write;
    use std::sync::Mutex;

    fn client(user: &str, store: &MemoryStorage, audit: &Arc<MemoryAuditSink>) -> Client {
        let m = |id: &str, role: &str| MemberEntry {
            id: id.into(),
            email: None,
            organization: "acme".into(),
            role: Some(role.into()),
            projects: Default::default(),
            expires_at: None,
            disabled_at: None,
        };
        let policy = Policy::from_document(PolicyDocument {
            members: vec![m("olga", "owner"), m("mia", "member")],
            ..PolicyDocument::default()
        })
        .unwrap();
        let session = Session::new(
            Principal::user("acme", user),
            Arc::new(policy),
            audit.clone(),
        );
        Client::new(
            session,
            Repository::new(Arc::new(store.clone())),
            Arc::new(raw_key(1)),
        )
    }

    /// A `Write` whose bytes the test reads back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn export(c: &Client, id: &str, opts: &ExportOptions) -> firekeep_core::Result<Vec<u8>> {
        let buf = Shared::default();
        let mut out = StreamOutput::new(Box::new(buf.clone()));
        block_on(c.export(id, opts, &mut out, &no_cancel()))?;
        let bytes = buf.0.lock().unwrap().clone();
        Ok(bytes)
    }

    #[test]
    fn erase_export_and_hold_need_their_permissions_and_audit_counts_only() {
        let (store, _, source, ids) = three_backups();
        let audit = Arc::new(MemoryAuditSink::new());
        let owner = client("olga", &store, &audit);
        let member = client("mia", &store, &audit);

        for denied in [
            block_on(member.erase(&alice_request(vec![], false), &no_cancel())).map(|_| ()),
            export(&member, &ids[0], &ExportOptions::default()).map(|_| ()),
            block_on(member.hold(&ids[0], "x")).map(|_| ()),
        ] {
            assert!(
                matches!(denied, Err(Error::AuthorizationDenied(_))),
                "{denied:?}"
            );
        }

        // NDJSON export equals the source, document for document.
        let ndjson = export(&owner, &ids[0], &ExportOptions::default()).unwrap();
        let exported: BTreeMap<String, Document> = ndjson
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| firekeep_core::model::json::decode_document(l).unwrap())
            .map(|d| (rel(&d), d))
            .collect();
        let src = source_docs(&source);
        assert_eq!(exported.len(), src.len());
        for (p, d) in &src {
            assert_eq!(exported[p].fields, d.fields, "{p}");
        }
        // One collection as a JSON array: only its documents, parts outside never read.
        let json = export(
            &owner,
            &ids[0],
            &ExportOptions {
                collections: vec!["orders".into()],
                format: ExportFormat::Json,
            },
        )
        .unwrap();
        let arr: Vec<serde_json::Value> = serde_json::from_slice(&json).unwrap();
        assert_eq!(
            arr.len(),
            src.keys().filter(|p| p.starts_with("orders/")).count()
        );

        block_on(owner.hold(&ids[0], "case 9")).unwrap();
        let e = block_on(owner.erase(&alice_request(vec![], false), &no_cancel())).unwrap_err();
        assert!(matches!(e, Error::PermissionDenied(_)));
        assert!(block_on(owner.release_hold(&ids[0])).unwrap().is_some());
        let r = block_on(owner.erase(&alice_request(vec![], false), &no_cancel())).unwrap();
        assert!(r.documents > 0);

        let events = audit.events();
        let names: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
        for expected in [
            "authorization.denied",
            "backup.exported",
            "backup.held",
            "backup.erase_failed",
            "backup.released",
            "backup.erased",
        ] {
            assert!(names.contains(&expected), "{expected} not in {names:?}");
        }
        // Neither the erased paths nor the value matched, nor the hold's reason, reach
        // the audit trail.
        let trail = serde_json::to_string(&events).unwrap();
        for secret in [ALICE, "case 9", "users/alice"] {
            assert!(!trail.contains(secret), "{secret} in the audit trail");
        }
        let erased = events
            .iter()
            .rfind(|e| e.action == "backup.erased")
            .unwrap();
        assert_eq!(erased.details["documents"], serde_json::json!(r.documents));
    }

    #[test]
    fn csv_export_is_flat_per_collection_and_defuses_formulas() {
        let (store, repo) = memory_repo();
        let db = source_db();
        let src = MemoryFirestore::new(db.clone());
        let s = |v: &str| Value::String(v.into());
        src.put(Document::new(
            name(&db, "notes/n1"),
            BTreeMap::from([
                ("text".into(), s("=cmd|' /C calc'!A0")),
                ("n".into(), Value::Integer(-3)),
                ("quote".into(), s("say \"hi\"\nbye")),
            ]),
        ))
        .unwrap();
        src.put(Document::new(
            name(&db, "notes/n2"),
            BTreeMap::from([
                ("other".into(), s("@SUM(1+1)")),
                ("tags".into(), Value::Array(vec![s("a")])),
            ]),
        ))
        .unwrap();
        let id = run_backup(Arc::new(src), &repo, &raw_key(1), &small_parts())
            .unwrap()
            .backup_id;
        let audit = Arc::new(MemoryAuditSink::new());
        let owner = client("olga", &store, &audit);
        let csv = export(
            &owner,
            &id,
            &ExportOptions {
                collections: vec![],
                format: ExportFormat::Csv,
            },
        )
        .unwrap();
        let text = String::from_utf8(csv).unwrap();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "\"__path__\",\"__create_time__\",\"__update_time__\",\"n\",\"other\",\"quote\",\"tags\",\"text\""
        );
        assert!(lines[1].starts_with("\"notes/n1\","), "{}", lines[1]);
        assert!(
            lines[1].contains(",-3,,\"say \"\"hi\"\"\nbye\",,\"'=cmd|' /C calc'!A0\""),
            "{}",
            lines[1]
        );
        assert!(lines[2].contains("\"'@SUM(1+1)\""), "{}", lines[2]);
        assert!(
            lines[2].contains(r#""{""arrayValue"":{""values"":[{""stringValue"":""a""}]}}""#),
            "{}",
            lines[2]
        );
    }
}
