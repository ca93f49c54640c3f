//! The Client: every engine operation authorized and audited through the session —
//! successes, failures (with the error code) and denials, with no secrets in any event.

mod engine_common;

use engine_common::*;
use firekeep_core::Error;
use firekeep_core::audit::{AuditEvent, MemoryAuditSink};
use firekeep_core::client::{Client, DiffWith};
use firekeep_core::engine::{BackupOptions, DiffOptions, Repository, RestoreOptions, Retention};
use firekeep_core::keys::{KeyProvider, PassphraseKey};
use firekeep_core::model::{DatabaseId, Document, Timestamp, Value};
use firekeep_core::policy::{
    Action, ActionSet, ApiKeyEntry, BuiltinRole, Conditions, MemberEntry, Policy, PolicyDocument,
    Principal, PrincipalKind, ProjectGrantEntry, ProjectRole, RequestContext, Resource, RoleEntry,
};
use firekeep_core::session::Session;
use firekeep_core::source::memory::MemoryFirestore;
use firekeep_core::source::{FirestoreSource, FirestoreTarget, Scope};
use firekeep_core::storage::memory::MemoryStorage;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;

const ORG: &str = "acme";
const PASSPHRASE: &str = "a very secret passphrase 42";

fn policy() -> Arc<Policy> {
    let m = |id: &str, role: &str| MemberEntry {
        disabled_at: None,
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
fn diff_and_prune_as_front_ends_call_them() {
    let store = MemoryStorage::new();
    let audit = Arc::new(MemoryAuditSink::new());
    let key: Arc<dyn KeyProvider> =
        Arc::new(PassphraseKey::with_iterations(PASSPHRASE, 100_000).unwrap());
    let owner = client("olga", &store, &audit, key);
    let source = Arc::new(sample_source(10));
    let first = block_on(owner.backup(source.clone(), &small_parts(), None, &no_cancel())).unwrap();
    let second =
        block_on(owner.backup(source.clone(), &small_parts(), None, &no_cancel())).unwrap();

    let opts = DiffOptions::default();
    let with_backup = DiffWith::Backup(second.backup_id.clone());
    let d = block_on(owner.diff(&first.backup_id, with_backup, &opts, &no_cancel())).unwrap();
    assert!(d.is_empty());
    let with_source = DiffWith::Source(source.clone());
    let d = block_on(owner.diff(&first.backup_id, with_source, &opts, &no_cancel())).unwrap();
    assert!(d.is_empty());

    let keep_one = Retention {
        keep_last: 1,
        ..Default::default()
    };
    let dry = block_on(owner.prune(&keep_one, true)).unwrap();
    assert_eq!(dry.plan.remove.len(), 1);
    assert!(dry.report.is_none());
    assert_eq!(block_on(owner.list()).unwrap().len(), 2);
    let done = block_on(owner.prune(&keep_one, false)).unwrap();
    assert_eq!(done.report.unwrap().removed.len(), 1);
    let left = block_on(owner.list()).unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].id, second.backup_id);
    // The shape the bindings hand to Python and Node.
    let json = serde_json::to_value(&dry).unwrap();
    assert!(json["plan"].is_object() && json["report"].is_null());
}

#[test]
fn authorize_records_a_denial_and_nothing_when_allowed() {
    let store = MemoryStorage::new();
    let audit = Arc::new(MemoryAuditSink::new());
    let key: Arc<dyn KeyProvider> = Arc::new(raw_key(3));
    let resource = Resource::organization(ORG).in_project("p");
    let owner = client("olga", &store, &audit, key.clone());
    let d = block_on(owner.authorize(Action::RestoreBackup, resource.clone())).unwrap();
    assert!(d.allowed);
    assert!(
        audit.events().is_empty(),
        "an allowed check records nothing"
    );
    let viewer = client("vic", &store, &audit, key);
    let err = block_on(viewer.authorize(Action::RestoreBackup, resource)).unwrap_err();
    assert!(matches!(err, Error::AuthorizationDenied(_)), "{err}");
    assert_eq!(actions(&audit), vec!["authorization.denied"]);
    assert_eq!(
        firekeep_core::client::audit_actions(Action::VerifyBackup),
        (
            firekeep_core::audit::AuditAction::BackupVerified,
            firekeep_core::audit::AuditAction::BackupVerifyFailed
        )
    );
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

// ---- Issue 19, item 2: restore and diff are authorized against the backup's source ----

/// A database `project/(default)` with `n` documents in each of `users` and `orders`.
fn project_source(project: &str, n: usize) -> MemoryFirestore {
    let db = DatabaseId::new(project, "(default)").unwrap();
    let m = MemoryFirestore::new(db.clone());
    for c in ["users", "orders"] {
        for i in 0..n {
            let fields = BTreeMap::from([(
                "secret".to_string(),
                Value::String(format!("{project}-{c}-payload-{i}")),
            )]);
            m.put(Document::new(name(&db, &format!("{c}/d{i}")), fields))
                .unwrap();
        }
    }
    m
}

fn grant(role: ProjectRole, collections: &[&str]) -> ProjectGrantEntry {
    ProjectGrantEntry {
        role,
        collections: collections.iter().map(|c| c.to_string()).collect(),
        expires_at: None,
    }
}

/// olga: organization owner. dave: owner of project `dev` only (the reported case). pat:
/// owner of `dev`, and owner of `prod` limited to `users`. vera: owner of `dev`, user of
/// `prod`'s `users` (may view, not restore).
fn grants_policy() -> Arc<Policy> {
    let m = |id: &str, role: Option<&str>, projects: Vec<(&str, ProjectGrantEntry)>| MemberEntry {
        disabled_at: None,
        id: id.into(),
        email: Some(format!("{id}@acme.test")),
        organization: ORG.into(),
        role: role.map(Into::into),
        projects: projects
            .into_iter()
            .map(|(p, g)| (p.to_string(), g))
            .collect(),
        expires_at: None,
    };
    let dev = || ("dev", grant(ProjectRole::Owner, &[]));
    Arc::new(
        Policy::from_document(PolicyDocument {
            members: vec![
                m("olga", Some("owner"), vec![]),
                m("dave", None, vec![dev()]),
                m(
                    "pat",
                    None,
                    vec![dev(), ("prod", grant(ProjectRole::Owner, &["users"]))],
                ),
                m(
                    "vera",
                    None,
                    vec![dev(), ("prod", grant(ProjectRole::User, &["users"]))],
                ),
            ],
            ..PolicyDocument::default()
        })
        .unwrap(),
    )
}

struct Fixture {
    store: MemoryStorage,
    audit: Arc<MemoryAuditSink>,
    key: Arc<dyn KeyProvider>,
    prod_backup: String,
    dev_backup: String,
}

impl Fixture {
    /// Backups of `prod` and `dev` (taken by the organization owner).
    fn new() -> Fixture {
        let store = MemoryStorage::new();
        let audit = Arc::new(MemoryAuditSink::new());
        let key: Arc<dyn KeyProvider> = Arc::new(raw_key(3));
        let owner = self::Fixture::client_for("olga", &store, &audit, &key);
        let backup = |project: &str| {
            block_on(owner.backup(
                Arc::new(project_source(project, 5)),
                &BackupOptions::default(),
                None,
                &no_cancel(),
            ))
            .unwrap()
            .backup_id
        };
        let prod_backup = backup("prod");
        let dev_backup = backup("dev");
        Fixture {
            store,
            audit,
            key,
            prod_backup,
            dev_backup,
        }
    }

    fn client_for(
        user: &str,
        store: &MemoryStorage,
        audit: &Arc<MemoryAuditSink>,
        key: &Arc<dyn KeyProvider>,
    ) -> Client {
        let session = Session::new(Principal::user(ORG, user), grants_policy(), audit.clone());
        Client::new(
            session,
            Repository::new(Arc::new(store.clone())),
            key.clone(),
        )
    }

    fn client(&self, user: &str) -> Client {
        Fixture::client_for(user, &self.store, &self.audit, &self.key)
    }

    fn restore(
        &self,
        user: &str,
        backup: &str,
        target: &MemoryFirestore,
        collections: &[&str],
        dry_run: bool,
    ) -> Result<u64, Error> {
        let opts = RestoreOptions {
            scope: if collections.is_empty() {
                Scope::database()
            } else {
                Scope::collections(collections.iter().copied(), true)
            },
            dry_run,
            ..RestoreOptions::default()
        };
        block_on(self.client(user).restore(
            backup,
            Arc::new(target.clone()),
            &opts,
            None,
            &no_cancel(),
        ))
        .map(|r| r.written)
    }

    /// The events recorded since `from`, as JSON.
    fn events_since(&self, from: usize) -> Vec<serde_json::Value> {
        self.audit.events()[from..]
            .iter()
            .map(|e| serde_json::to_value(e).unwrap())
            .collect()
    }
}

fn dev_target() -> MemoryFirestore {
    MemoryFirestore::new(DatabaseId::new("dev", "(default)").unwrap())
}

/// The denial is one `authorization.denied` event naming the refused source, holding no
/// document data, and the caller's error does not name the source project either.
fn assert_source_denial(events: &[serde_json::Value], err: &Error, permission: &str) {
    assert!(matches!(err, Error::AuthorizationDenied(_)), "{err}");
    assert!(err.to_string().contains("the backup's source"), "{err}");
    assert!(!err.to_string().contains("prod"), "{err}");
    assert_eq!(events.len(), 1, "{events:#?}");
    let e = &events[0];
    assert_eq!(e["action"], "authorization.denied");
    assert_eq!(e["details"]["permission"], permission);
    assert_eq!(e["details"]["denied_on"], "the backup's source");
    assert_eq!(e["details"]["source_project"], "prod");
    assert_eq!(e["details"]["source_database"], "(default)");
    let text = e.to_string();
    assert!(!text.contains("payload"), "no document data: {text}");
    assert!(!text.contains("users/d"), "no document names: {text}");
}

/// The reported case: a member whose only grant is `owner` on `dev` restored a backup of
/// another project into `dev` by id. Now refused before any document is read or written
/// (dry runs too), and audited once; the same member still restores `dev`'s own backups.
#[test]
fn restore_needs_a_grant_on_the_backup_source_not_only_the_target() {
    let f = Fixture::new();
    let target = dev_target();
    for dry_run in [false, true] {
        let before = f.audit.events().len();
        let err = f
            .restore("dave", &f.prod_backup, &target, &[], dry_run)
            .unwrap_err();
        assert_source_denial(&f.events_since(before), &err, "restore_backup");
        assert!(target.is_empty(), "nothing written");
    }
    // Naming only some collections does not help without a grant on the source.
    let err = f
        .restore("dave", &f.prod_backup, &target, &["users"], false)
        .unwrap_err();
    assert!(matches!(err, Error::AuthorizationDenied(_)), "{err}");
    assert!(target.is_empty());

    // His own project's backup, into his own project: allowed.
    assert_eq!(
        f.restore("dave", &f.dev_backup, &target, &[], false)
            .unwrap(),
        10
    );
    let ok = f.audit.events().pop().unwrap();
    assert_eq!(ok.action, "backup.restored");
    assert_eq!(ok.details["source_project"], "dev");
    assert_eq!(ok.details["target_project"], "dev");
}

/// Source grants limited to collections cover exactly those collections; a grant that may
/// view but not restore (project `user`) does not allow restoring.
#[test]
fn restore_source_grant_is_checked_per_collection_and_action() {
    let f = Fixture::new();
    let target = dev_target();
    // pat owns prod's `users` only: the whole backup is more than that...
    let before = f.audit.events().len();
    let err = f
        .restore("pat", &f.prod_backup, &target, &[], false)
        .unwrap_err();
    assert!(
        err.to_string().contains("covers only some collections"),
        "{err}"
    );
    assert_eq!(f.events_since(before).len(), 1);
    let err = f
        .restore("pat", &f.prod_backup, &target, &["users", "orders"], false)
        .unwrap_err();
    assert!(matches!(err, Error::AuthorizationDenied(_)), "{err}");
    assert!(target.is_empty());
    // ...but `users` alone is his to restore, into a project he owns.
    assert_eq!(
        f.restore("pat", &f.prod_backup, &target, &["users"], false)
            .unwrap(),
        5
    );
    assert!(
        target
            .documents(None)
            .iter()
            .all(|d| d.path().unwrap().1.root_collection() == "users")
    );
    // vera may view prod's users but not restore them.
    let target = dev_target();
    let err = f
        .restore("vera", &f.prod_backup, &target, &["users"], false)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("restore_backup denied on the backup's source"),
        "{err}"
    );
    assert!(target.is_empty());
    // The organization owner restores anything anywhere.
    assert_eq!(
        f.restore("olga", &f.prod_backup, &target, &[], false)
            .unwrap(),
        10
    );
}

/// `diff` against the live database had the same hole: comparing a backup of `prod` with
/// `dev` lists `prod`'s document names. Now it needs `view_backups` on the backup's source.
#[test]
fn diff_needs_a_grant_on_the_backup_source() {
    let f = Fixture::new();
    let live_dev: Arc<dyn FirestoreSource> = Arc::new(project_source("dev", 2));
    let diff = |user: &str, backup: &str, collections: Option<&[&str]>| {
        let opts = DiffOptions {
            scope: collections.map(|c| Scope::collections(c.iter().copied(), true)),
            ..DiffOptions::default()
        };
        block_on(f.client(user).diff_with_source(
            backup,
            live_dev.clone(),
            None,
            &opts,
            &no_cancel(),
        ))
    };
    let before = f.audit.events().len();
    let err = diff("dave", &f.prod_backup, None).unwrap_err();
    assert_source_denial(&f.events_since(before), &err, "view_backups");
    // vera views prod's users: that diff is hers, the whole backup is not.
    let d = diff("vera", &f.prod_backup, Some(&["users"])).unwrap();
    assert_eq!(d.removed + d.changed + d.unchanged, 5);
    let err = diff("vera", &f.prod_backup, None).unwrap_err();
    assert!(matches!(err, Error::AuthorizationDenied(_)), "{err}");
    // dave's own project: allowed.
    assert!(diff("dave", &f.dev_backup, None).is_ok());

    // Two backups: the organization-wide check already refuses project-only members, and
    // each side's source is checked too (both recorded on success).
    let err = block_on(f.client("dave").diff_backups(
        &f.dev_backup,
        &f.prod_backup,
        &DiffOptions::default(),
        &no_cancel(),
    ))
    .unwrap_err();
    assert!(matches!(err, Error::AuthorizationDenied(_)), "{err}");
    block_on(f.client("olga").diff_backups(
        &f.dev_backup,
        &f.prod_backup,
        &DiffOptions::default(),
        &no_cancel(),
    ))
    .unwrap();
    let ok = f.audit.events().pop().unwrap();
    assert_eq!(ok.action, "backup.diffed");
    assert_eq!(ok.details["from_project"], "dev");
    assert_eq!(ok.details["to_project"], "prod");
}

/// Whether the policy document gives `user` any path at all to `action` on `project`: an
/// organization role with the action not limited to other projects, or a project grant on
/// `project` whose role has the action. Written from the document, independently of the
/// evaluator: a necessary condition for reading that project's data.
fn has_some_grant(doc: &PolicyDocument, user: &str, action: Action, project: &str) -> bool {
    let Some(m) = doc.members.iter().find(|m| m.id == user) else {
        return false;
    };
    let by_role = m.role.as_deref().is_some_and(|role| {
        let actions: ActionSet = match BuiltinRole::from_name(role) {
            Some(b) => b.actions(),
            None => doc.roles[role].actions.iter().copied().collect(),
        };
        let projects = doc
            .roles
            .get(role)
            .and_then(|r| r.conditions.projects.as_ref());
        actions.contains(action) && projects.is_none_or(|ps| ps.iter().any(|p| p == project))
    });
    let by_grant = m
        .projects
        .get(project)
        .is_some_and(|g| g.role.actions().contains(action));
    by_role || by_grant
}

fn random_policy() -> impl Strategy<Value = PolicyDocument> {
    let projects = || proptest::sample::subsequence(vec!["prod", "dev", "staging"], 0..=3);
    let collections = || proptest::sample::subsequence(vec!["users", "orders"], 0..=2);
    let conditions = (
        proptest::option::of(projects()),
        proptest::option::of(collections()),
        proptest::sample::subsequence(Action::ALL.to_vec(), 0..=3),
    )
        .prop_map(|(p, c, mfa)| Conditions {
            projects: p.map(|v| v.into_iter().map(String::from).collect()),
            collections: c.map(|v| v.into_iter().map(String::from).collect()),
            require_mfa: mfa,
            expires_at: None,
        });
    let grant = (any::<bool>(), collections()).prop_map(|(owner, cols)| {
        let role = if owner || cols.is_empty() {
            ProjectRole::Owner
        } else {
            ProjectRole::User
        };
        grant(role, &cols)
    });
    let member = (
        proptest::option::of(proptest::sample::select(vec![
            "owner", "admin", "member", "viewer", "custom",
        ])),
        proptest::collection::btree_map(
            proptest::sample::select(vec!["prod", "dev"]),
            grant,
            0..=2,
        ),
    );
    (
        proptest::sample::subsequence(Action::ALL.to_vec(), 0..=8),
        conditions.clone(),
        conditions,
        proptest::collection::vec(member, 4),
        proptest::collection::vec(
            (
                0usize..4,
                proptest::sample::subsequence(Action::ALL.to_vec(), 0..=8),
                proptest::option::of(proptest::sample::subsequence(vec!["prod", "dev"], 0..=2)),
            ),
            0..=2,
        ),
    )
        .prop_map(|(custom_actions, custom_cond, admin_cond, members, keys)| {
            let mut roles = BTreeMap::new();
            roles.insert(
                "custom".to_string(),
                RoleEntry {
                    actions: custom_actions,
                    conditions: custom_cond,
                    ..RoleEntry::default()
                },
            );
            roles.insert(
                "admin".to_string(),
                RoleEntry {
                    conditions: admin_cond,
                    ..RoleEntry::default()
                },
            );
            let members = members
                .into_iter()
                .enumerate()
                .map(|(i, (role, projects))| MemberEntry {
                    disabled_at: None,
                    id: format!("u{i}"),
                    email: None,
                    organization: ORG.into(),
                    role: role.map(String::from),
                    projects: projects
                        .into_iter()
                        .map(|(p, g)| (p.to_string(), g))
                        .collect(),
                    expires_at: None,
                })
                .collect();
            let api_keys = keys
                .into_iter()
                .enumerate()
                .map(|(i, (creator, actions, projects))| ApiKeyEntry {
                    credential: None,
                    revoked_at: None,
                    id: format!("k{i}"),
                    organization: ORG.into(),
                    created_by: format!("u{creator}"),
                    actions,
                    projects: projects.map(|v| v.into_iter().map(String::from).collect()),
                    expires_at: None,
                })
                .collect();
            PolicyDocument {
                roles,
                members,
                api_keys,
                ..PolicyDocument::default()
            }
        })
}

/// Issue 19, property: over random policies (custom roles with conditions, project grants
/// limited to collections, API keys), no principal ever restores or diffs the data of a
/// project on which it has no grant of that action (`restore_backup` to restore,
/// `view_backups` to diff): a denied restore writes nothing, and whatever succeeds is
/// allowed on the backup's source by the policy. Counts both outcomes so the property is
/// not vacuous.
#[test]
fn no_principal_reads_a_project_it_has_no_grant_on() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let f = Fixture::new();
    let backups = [
        ("prod", f.prod_backup.clone()),
        ("dev", f.dev_backup.clone()),
    ];
    let mut runner = TestRunner::deterministic();
    let case = (
        random_policy(),
        0usize..6,
        0usize..2,
        proptest::sample::select(vec!["prod", "dev"]),
        proptest::sample::select(vec![vec![], vec!["users"], vec!["users", "orders"]]),
        any::<bool>(),
        any::<bool>(),
    );
    let (mut restored, mut diffed, mut denied, mut by_key) = (0, 0, 0, 0);
    for _ in 0..400 {
        let (doc, who, which, target_project, cols, mfa, diff) =
            case.new_tree(&mut runner).unwrap().current();
        let policy = Arc::new(Policy::from_document(doc.clone()).unwrap());
        let (principal, user) = if who < 4 || doc.api_keys.is_empty() {
            let u = format!("u{}", who % 4);
            (Principal::user(ORG, &u), u)
        } else {
            let k = &doc.api_keys[who % doc.api_keys.len()];
            (Principal::api_key(ORG, &k.id), k.created_by.clone())
        };
        let session = Session::new(principal.clone(), policy.clone(), f.audit.clone())
            .with_context(RequestContext {
                mfa,
                ..RequestContext::default()
            });
        let client = Client::new(
            session,
            Repository::new(Arc::new(f.store.clone())),
            f.key.clone(),
        );
        let (source_project, backup) = &backups[which];
        let scope = (!cols.is_empty()).then(|| Scope::collections(cols.iter().copied(), true));
        let source = Resource::organization(ORG)
            .in_project(*source_project)
            .in_database("(default)")
            .with_collections(cols.iter().copied());
        let action = if diff {
            Action::ViewBackups
        } else {
            Action::RestoreBackup
        };
        let before = f.audit.events().len();
        let outcome = if diff {
            let live: Arc<dyn FirestoreSource> = Arc::new(project_source(target_project, 1));
            let opts = DiffOptions {
                scope,
                ..DiffOptions::default()
            };
            block_on(client.diff_with_source(backup, live, None, &opts, &no_cancel())).map(|_| ())
        } else {
            let target =
                MemoryFirestore::new(DatabaseId::new(target_project, "(default)").unwrap());
            let opts = RestoreOptions {
                scope: scope.unwrap_or_else(Scope::database),
                ..RestoreOptions::default()
            };
            let r = block_on(client.restore(
                backup,
                Arc::new(target.clone()),
                &opts,
                None,
                &no_cancel(),
            ));
            if r.is_err() {
                assert!(target.is_empty(), "a refused restore wrote documents");
            }
            r.map(|_| ())
        };
        let events = &f.audit.events()[before..];
        assert_eq!(events.len(), 1, "one event per call: {events:?}");
        match outcome {
            Ok(()) => {
                assert!(
                    has_some_grant(&doc, &user, action, source_project),
                    "{principal:?} {action} on {source_project} without any grant: {doc:#?}"
                );
                let d = policy.evaluate(
                    &principal,
                    action,
                    &source,
                    &RequestContext {
                        mfa,
                        ..RequestContext::default()
                    },
                );
                assert!(d.allowed, "succeeded though the source denies: {d}");
                if principal.kind() == PrincipalKind::ApiKey {
                    let k = doc
                        .api_keys
                        .iter()
                        .find(|k| k.id == principal.id())
                        .unwrap();
                    let scoped = k
                        .projects
                        .as_ref()
                        .is_none_or(|ps| ps.iter().any(|p| p == source_project));
                    assert!(scoped, "key {} used outside its project scopes", k.id);
                    by_key += 1;
                }
                if diff {
                    diffed += 1;
                } else {
                    restored += 1;
                }
            }
            Err(e) => {
                assert!(matches!(e, Error::AuthorizationDenied(_)), "{e}");
                assert_eq!(events[0].action, "authorization.denied");
                denied += 1;
            }
        }
    }
    assert!(
        restored > 10 && diffed > 10 && denied > 40 && by_key > 0,
        "restored {restored}, diffed {diffed}, denied {denied}, by API keys {by_key}"
    );
}

/// The bindings run these futures on multi-threaded runtimes (tokio tasks, napi, pyo3):
/// the staged authorization must keep every client future `Send`.
#[test]
fn client_futures_stay_send() {
    fn assert_send<T: Send>(_: T) {}
    let f = Fixture::new();
    let c = f.client("olga");
    let target: Arc<dyn FirestoreTarget> = Arc::new(dev_target());
    let live: Arc<dyn FirestoreSource> = Arc::new(project_source("dev", 1));
    let (restore, diff, opts) = (
        RestoreOptions::default(),
        DiffOptions::default(),
        no_cancel(),
    );
    assert_send(c.restore(&f.prod_backup, target, &restore, None, &opts));
    assert_send(c.diff_with_source(&f.prod_backup, live, None, &diff, &opts));
    assert_send(c.diff_backups(&f.prod_backup, &f.dev_backup, &diff, &opts));
}
