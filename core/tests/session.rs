//! The session: every operation is authorized and its outcome audited (success, failure,
//! denial); an unauditable outcome is an error; secrets never reach a sink.

use firekeep_core::Error;
use firekeep_core::audit::{
    AuditAction, AuditEvent, AuditSink, CallbackAuditSink, FsyncPolicy, JsonlAuditSink,
    MemoryAuditSink, REDACTED, read_jsonl, verify_chain,
};
use firekeep_core::model::Timestamp;
use firekeep_core::policy::{
    Action, ApiKeyEntry, MemberEntry, Policy, PolicyDocument, Principal, RequestContext, Resource,
    ResourceKind,
};
use firekeep_core::secret::SecretString;
use firekeep_core::session::{AuditDetails, Operation, Requirement, Session};
use futures::executor::block_on;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

const ORG: &str = "acme";

fn backup_op(id: &str) -> Operation {
    Operation::new(
        Action::CreateBackup,
        Resource::organization(ORG)
            .in_project("prod")
            .in_database("(default)")
            .with_collections(["users"])
            .backup(id),
        AuditAction::BackupCreated,
        AuditAction::BackupFailed,
    )
    .detail("documents_expected", 3)
}

struct Report {
    documents: u64,
}

impl AuditDetails for Report {
    fn audit_details(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("documents".into(), self.documents.into());
        m
    }
}

fn team_policy() -> Arc<Policy> {
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
            api_keys: vec![ApiKeyEntry {
                credential: None,
                revoked_at: None,
                id: "ci-key".into(),
                organization: ORG.into(),
                created_by: "mia".into(),
                actions: vec![Action::CreateBackup],
                projects: None,
                expires_at: None,
            }],
            ..PolicyDocument::default()
        })
        .unwrap(),
    )
}

#[test]
fn success_failure_and_denial_are_all_audited() {
    let sink = Arc::new(MemoryAuditSink::new());
    let context = RequestContext {
        ip: Some("203.0.113.7".into()),
        user_agent: Some("firekeep-cli/0.1.0".into()),
        location: Some("Lisbon, PT".into()),
        mfa: false,
    };
    let owner = Session::new(Principal::user(ORG, "olga"), team_policy(), sink.clone())
        .with_context(context.clone());
    let viewer = Session::new(Principal::user(ORG, "vic"), team_policy(), sink.clone());

    // Allowed and succeeded.
    let report =
        block_on(owner.perform(backup_op("bk_1"), || async { Ok(Report { documents: 3 }) }))
            .unwrap();
    assert_eq!(report.documents, 3);

    // Allowed and failed: the error passes through, and is recorded with its code.
    let err = block_on(owner.perform(backup_op("bk_2"), || async {
        Err::<(), _>(Error::Storage("bucket is full".into()))
    }))
    .unwrap_err();
    assert!(matches!(err, Error::Storage(_)));

    // Denied: the closure never runs.
    let ran = AtomicBool::new(false);
    let err = block_on(viewer.perform(backup_op("bk_3"), || async {
        ran.store(true, Ordering::SeqCst);
        Ok(())
    }))
    .unwrap_err();
    assert!(
        !ran.load(Ordering::SeqCst),
        "a denied operation must not run"
    );
    let Error::AuthorizationDenied(msg) = &err else {
        panic!("{err:?}")
    };
    assert!(
        msg.contains("create_backup") && msg.contains("viewer"),
        "{msg}"
    );
    assert_eq!(err.code(), "ERR_AUTHORIZATION_DENIED");

    let events = sink.events();
    assert_eq!(events.len(), 3);
    verify_chain(&events, None).unwrap();

    let ok = serde_json::to_value(&events[0]).unwrap();
    assert_eq!(ok["action"], "backup.created");
    assert_eq!(
        ok["actor"],
        json!({"type": "user", "id": "olga", "email": "olga@acme.test"})
    );
    assert_eq!(ok["resource"], json!({"type": "backup", "id": "bk_1"}));
    assert_eq!(ok["organization"], json!({"id": "acme"}));
    assert_eq!(
        ok["context"],
        json!({"ip": "203.0.113.7", "userAgent": "firekeep-cli/0.1.0", "location": "Lisbon, PT"})
    );
    assert_eq!(ok["details"]["documents"], 3);
    assert_eq!(ok["details"]["documents_expected"], 3);
    assert_eq!(ok["details"]["project"], "prod");
    assert_eq!(ok["details"]["collections"], json!(["users"]));
    let ts = ok["timestamp"].as_str().unwrap();
    assert_eq!(ts.len(), "2026-01-01T00:00:00.000Z".len(), "{ts}");
    assert!(Timestamp::parse_rfc3339(ts).is_ok());
    assert!(ok["id"].as_str().unwrap().starts_with("log_"));

    let failed = &events[1];
    assert_eq!(failed.action, "backup.failed");
    assert_eq!(failed.details["error"]["code"], "ERR_STORAGE");
    assert!(
        failed.details["error"]["message"]
            .as_str()
            .unwrap()
            .contains("bucket is full")
    );

    let denied = &events[2];
    assert_eq!(denied.action, "authorization.denied");
    assert_eq!(denied.actor.id, "vic");
    assert_eq!(denied.details["permission"], "create_backup");
    assert_eq!(denied.details["attempted"], "backup.created");
    assert!(
        denied.details["reason"]
            .as_str()
            .unwrap()
            .contains("viewer")
    );

    // `check` has no side effects.
    assert!(
        viewer
            .check(Action::ViewBackups, &Resource::organization(ORG))
            .allowed
    );
    assert!(
        !viewer
            .check(Action::RestoreBackup, &Resource::organization(ORG))
            .allowed
    );
    assert_eq!(sink.len(), 3);
}

#[test]
fn cross_organization_operations_are_denied_and_audited_in_the_own_organization() {
    let sink = Arc::new(MemoryAuditSink::new());
    let owner = Session::local_owner(ORG, "olga", sink.clone());
    assert_eq!(owner.organization(), ORG);
    let op = Operation::new(
        Action::ViewBackups,
        Resource::organization("globex").in_project("prod"),
        AuditAction::BackupListed,
        AuditAction::BackupListFailed,
    );
    let err = block_on(owner.perform(op, || async { Ok(Vec::<u8>::new()) })).unwrap_err();
    assert!(err.to_string().contains("globex"), "{err}");
    let e = &sink.events()[0];
    assert_eq!(e.organization.id, ORG);
    assert_eq!(e.details["resourceOrganization"], "globex");
}

#[test]
fn an_outcome_that_cannot_be_audited_is_an_error() {
    let healthy = Arc::new(AtomicBool::new(true));
    let h = healthy.clone();
    let recorded = Arc::new(AtomicUsize::new(0));
    let r = recorded.clone();
    let sink = Arc::new(CallbackAuditSink::new(move |events: &[AuditEvent]| {
        if h.load(Ordering::SeqCst) {
            r.fetch_add(events.len(), Ordering::SeqCst);
            Ok(())
        } else {
            Err(Error::Storage("disk full".into()))
        }
    }));
    let owner = Session::local_owner(ORG, "olga", sink.clone());
    healthy.store(false, Ordering::SeqCst);
    for outcome in [Ok(()), Err(Error::Cancelled)] {
        let err = block_on(owner.perform(backup_op("bk"), || async { outcome })).unwrap_err();
        assert!(
            matches!(&err, Error::Audit(m) if m.contains("disk full")),
            "{err:?}"
        );
    }
    let viewer = Session::new(Principal::user(ORG, "vic"), team_policy(), sink.clone());
    let err = block_on(viewer.perform(backup_op("bk"), || async { Ok(()) })).unwrap_err();
    assert!(
        matches!(&err, Error::Audit(m) if m.contains("authorization denied")),
        "{err:?}"
    );
    assert_eq!(recorded.load(Ordering::SeqCst), 0);
    healthy.store(true, Ordering::SeqCst);
    block_on(owner.perform(backup_op("bk"), || async { Ok(()) })).unwrap();
    assert_eq!(recorded.load(Ordering::SeqCst), 1);
}

#[test]
fn secrets_are_redacted_before_any_sink() {
    let dir = std::env::temp_dir().join(format!("firekeep-session-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("audit.jsonl");
    let _ = std::fs::remove_file(&path);
    let jsonl = Arc::new(JsonlAuditSink::open(&path, FsyncPolicy::PerEvent).unwrap());
    let forwarded = Arc::new(std::sync::Mutex::new(String::new()));
    let f = forwarded.clone();
    let callback = Arc::new(CallbackAuditSink::new(move |events: &[AuditEvent]| {
        f.lock()
            .unwrap()
            .push_str(&serde_json::to_string(events).unwrap());
        Ok(())
    }));
    let memory = Arc::new(MemoryAuditSink::new());

    let api_key_value = "fk_live_8d7f6a5e4c3b2a19";
    let passphrase = "correct horse battery staple";
    let sinks: [Arc<dyn AuditSink>; 3] = [jsonl.clone(), callback, memory.clone()];
    for sink in sinks {
        let principal =
            Principal::api_key(ORG, "ci-key").with_secret(SecretString::new(api_key_value));
        let session = Session::new(principal, team_policy(), sink)
            .with_secret(SecretString::new(passphrase))
            .with_context(RequestContext {
                // A client that leaks its key into the user agent.
                user_agent: Some(format!("curl/8 key={api_key_value}")),
                ..RequestContext::default()
            });
        let op = backup_op("bk_s")
            .detail("passphrase", "hunter2-not-registered")
            .detail(
                "options",
                json!({"apiKey": "abc", "key_id": "kid_123", "note": format!("used {passphrase}")}),
            )
            .detail("comment", format!("token {api_key_value} in free text"));
        block_on(session.perform(op, || async {
            Err::<(), _>(Error::KeyProvider(format!(
                "could not derive key from {passphrase}"
            )))
        }))
        .unwrap_err();
        // A denied action carries the same details.
        let op = Operation::new(
            Action::RestoreBackup,
            Resource::organization(ORG).in_project("prod"),
            AuditAction::BackupRestored,
            AuditAction::BackupRestoreFailed,
        )
        .detail("secret", passphrase);
        block_on(session.perform(op, || async { Ok(()) })).unwrap_err();
    }

    let file = std::fs::read_to_string(&path).unwrap();
    let memory_text = serde_json::to_string(&memory.events()).unwrap();
    for text in [&file, &*forwarded.lock().unwrap(), &memory_text] {
        assert!(text.contains("backup.failed") && text.contains("authorization.denied"));
        for secret in [
            api_key_value,
            passphrase,
            "hunter2-not-registered",
            "\"abc\"",
        ] {
            assert!(!text.contains(secret), "{secret} leaked into {text}");
        }
        assert!(text.contains(REDACTED));
        assert!(text.contains("kid_123"), "non-secret key ids are kept");
    }
    let trail = read_jsonl(&path).unwrap();
    trail.verify().unwrap();
    let e = &trail.events[0];
    assert_eq!(e.actor.kind, "api_key");
    assert_eq!(
        e.context.user_agent.as_deref(),
        Some("curl/8 key=[REDACTED]")
    );
    assert_eq!(e.details["passphrase"], REDACTED);
    assert_eq!(e.details["options"]["apiKey"], REDACTED);
    assert_eq!(e.details["comment"], "token [REDACTED] in free text");
    assert!(
        !format!(
            "{:?}",
            Principal::api_key(ORG, "k").with_secret(SecretString::new(api_key_value))
        )
        .contains(api_key_value)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Storage credentials given as options (what the CLI's `--storage-option`, Python's
/// `storage_options` and Node's `storageOptions` carry) are scrubbed from every event;
/// non-secret options stay readable.
#[test]
fn secret_storage_options_never_reach_an_event() {
    let memory = Arc::new(MemoryAuditSink::new());
    let options = [
        ("secret_access_key", "AKIAsecretvalue0001"),
        ("session_token", "sessiontoken0002"),
        ("azure_storage_account_key", "YWNjb3VudGtleTAwMDM="),
        ("azure_storage_sas_key", "sv=2022&sig=sasvalue0004"),
        ("google_service_account_key", "{\"private_key\":\"pk0005\"}"),
        ("endpoint", "http://127.0.0.1:10000/devstoreaccount1"),
        ("sse_kms_key_id", "alias/bucket-key"),
    ];
    let session = Session::new(Principal::user(ORG, "mia"), team_policy(), memory.clone())
        .with_secret_options(options.iter().copied());
    let all: String = options.iter().map(|(k, v)| format!("{k}={v} ")).collect();
    block_on(
        session.perform(backup_op("bk_o").detail("note", all.clone()), || async {
            Err::<(), _>(Error::Storage(format!("store said: {all}")))
        }),
    )
    .unwrap_err();
    let text = serde_json::to_string(&memory.events()).unwrap();
    for (_, secret) in &options[..5] {
        assert!(!text.contains(secret), "{secret} leaked into {text}");
    }
    assert!(
        text.contains("http://127.0.0.1:10000/devstoreaccount1"),
        "{text}"
    );
    assert!(text.contains("alias/bucket-key"), "{text}");
}

#[test]
fn audit_retention_through_the_session() {
    let sink = Arc::new(MemoryAuditSink::new());
    let t0 = Timestamp::parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
    let clock = Arc::new(std::sync::Mutex::new(t0));
    let c = clock.clone();
    let owner = Session::new(Principal::user(ORG, "olga"), team_policy(), sink.clone())
        .with_clock(move || *c.lock().unwrap());
    for day in 0..100 {
        *clock.lock().unwrap() = t0.add_seconds(day * 86_400).unwrap();
        block_on(owner.perform(backup_op("bk"), || async { Ok(()) })).unwrap();
    }
    *clock.lock().unwrap() = t0.add_seconds(100 * 86_400).unwrap();

    let viewer = Session::new(Principal::user(ORG, "vic"), team_policy(), sink.clone());
    let err = block_on(viewer.apply_audit_retention(30)).unwrap_err();
    assert!(matches!(err, Error::AuthorizationDenied(_)));
    assert_eq!(sink.len(), 101);

    let report = block_on(owner.apply_audit_retention(30)).unwrap();
    assert_eq!(report.dropped, 70);
    let trail = block_on(sink.read()).unwrap();
    assert_eq!(trail.events.len(), 101 - 70 + 1);
    trail.verify().unwrap();
    let last = trail.events.last().unwrap();
    assert_eq!(last.action, "audit.retention_applied");
    assert_eq!(last.actor.id, "olga");
    assert_eq!(last.resource.kind, ResourceKind::AuditLog.as_str());
    assert_eq!(last.details["keepDays"], 30);
    assert_eq!(last.details["dropped"], 70);
}

/// `perform_staged`: requirements found while the operation runs (a backup's source) are
/// authorized before `run`; a refused one is a single audited denial naming it (`run` never
/// runs), a failing `prepare` is audited as the operation's failure, and the requirements'
/// details join the success event.
#[test]
fn staged_requirements_are_authorized_before_the_operation_runs() {
    let audit = Arc::new(MemoryAuditSink::new());
    let session = Session::new(Principal::user(ORG, "mia"), team_policy(), audit.clone());
    let ran = AtomicBool::new(false);
    let restore_prod = || {
        Requirement::new(
            Action::RestoreBackup,
            Resource::organization(ORG)
                .in_project("prod")
                .in_database("(default)"),
            "the backup's source",
        )
        .detail("source_project", "prod")
    };
    let view_prod = || Requirement {
        action: Action::ViewBackups,
        ..restore_prod()
    };

    // mia (member) may create backups but not restore: the requirement is refused.
    let err = block_on(session.perform_staged(
        backup_op("bk_1"),
        || async { Ok((7u64, vec![view_prod(), restore_prod()])) },
        |n| {
            let ran = &ran;
            async move {
                ran.store(true, Ordering::SeqCst);
                Ok(n)
            }
        },
    ))
    .unwrap_err();
    assert!(matches!(err, Error::AuthorizationDenied(_)), "{err}");
    assert!(
        err.to_string()
            .contains("restore_backup denied on the backup's source: no role grants it"),
        "{err}"
    );
    assert!(!ran.load(Ordering::SeqCst), "run never runs");
    let events = audit.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].action, "authorization.denied");
    assert_eq!(events[0].details["permission"], "restore_backup");
    assert_eq!(events[0].details["attempted"], "backup.created");
    assert_eq!(events[0].details["denied_on"], "the backup's source");
    assert_eq!(events[0].details["source_project"], "prod");

    // A failing prepare is the operation's failure; nothing runs.
    let err = block_on(session.perform_staged(
        backup_op("bk_2"),
        || async { Err::<((), Vec<Requirement>), _>(Error::NotFound("backup bk_2".into())) },
        |()| async {
            ran.store(true, Ordering::SeqCst);
            Ok(())
        },
    ))
    .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)));
    assert!(!ran.load(Ordering::SeqCst));
    let last = audit.events().pop().unwrap();
    assert_eq!(last.action, "backup.failed");
    assert_eq!(last.details["error"]["code"], "ERR_NOT_FOUND");

    // Granted requirements: run runs once, and their details join the success event.
    let n = block_on(session.perform_staged(
        backup_op("bk_3"),
        || async { Ok((3u64, vec![view_prod()])) },
        |n| async move { Ok(Report { documents: n }) },
    ))
    .unwrap();
    assert_eq!(n.documents, 3);
    let last = audit.events().pop().unwrap();
    assert_eq!(last.action, "backup.created");
    assert_eq!(last.details["source_project"], "prod");
    assert_eq!(last.details["documents"], 3);
    assert_eq!(audit.events().len(), 3);

    // The operation itself is checked first: vic (viewer) may not create backups, so
    // prepare never runs.
    let viewer = Session::new(Principal::user(ORG, "vic"), team_policy(), audit.clone());
    let prepared = AtomicBool::new(false);
    let err = block_on(viewer.perform_staged(
        backup_op("bk_4"),
        || async {
            prepared.store(true, Ordering::SeqCst);
            Ok(((), vec![]))
        },
        |()| async { Ok(()) },
    ))
    .unwrap_err();
    assert!(matches!(err, Error::AuthorizationDenied(_)));
    assert!(!prepared.load(Ordering::SeqCst));
    assert!(
        audit
            .events()
            .pop()
            .unwrap()
            .details
            .get("denied_on")
            .is_none()
    );
}
