//! Reading, verifying and exporting the audit trail as session operations (what the CLI
//! and every binding's client call): authorized, audited, and a tampered trail refused.

use firekeep_core::Error;
use firekeep_core::audit::{
    AuditAction, AuditSink, ExportFilter, ExportFormat, FsyncPolicy, JsonlAuditSink,
    MemoryAuditSink,
};
use firekeep_core::model::Timestamp;
use firekeep_core::policy::{Action, MemberEntry, Policy, PolicyDocument, Principal, Resource};
use firekeep_core::session::{Operation, Session};
use firekeep_core::setup::AuditHandle;
use futures::executor::block_on;
use std::sync::Arc;

const ORG: &str = "acme";

fn policy() -> Arc<Policy> {
    let m = |id: &str, role: &str| MemberEntry {
        id: id.into(),
        email: None,
        organization: ORG.into(),
        role: Some(role.into()),
        projects: Default::default(),
        expires_at: None,
        disabled_at: None,
    };
    let doc = PolicyDocument {
        members: vec![m("olga", "owner"), m("vic", "viewer")],
        ..PolicyDocument::default()
    };
    Arc::new(Policy::from_document(doc).unwrap())
}

fn backup(session: &Session) {
    let op = Operation::new(
        Action::CreateBackup,
        Resource::organization(ORG).in_project("prod"),
        AuditAction::BackupCreated,
        AuditAction::BackupFailed,
    );
    block_on(session.perform(op, || async { Ok(()) })).unwrap();
}

fn actions(sink: &MemoryAuditSink) -> Vec<String> {
    sink.events().into_iter().map(|e| e.action).collect()
}

#[test]
fn viewing_verifying_and_exporting_are_authorized_and_audited() {
    let sink = Arc::new(MemoryAuditSink::new());
    let handle = AuditHandle::Memory(sink.clone());
    let owner = Session::new(Principal::user(ORG, "olga"), policy(), sink.clone());
    let viewer = Session::new(Principal::user(ORG, "vic"), policy(), sink.clone());
    backup(&owner);

    // A viewer reads the trail back (as it was before this read) and checks it.
    let events = block_on(viewer.audit_events(&handle)).unwrap();
    assert_eq!(events.len(), 1);
    let checked = block_on(viewer.audit_verify(&handle)).unwrap();
    assert_eq!((checked.events, checked.head.position), (2, 2));
    assert_eq!(actions(&sink)[1..], ["audit.viewed", "audit.verified"]);
    let verified = sink.events().pop().unwrap();
    assert_eq!(verified.details["events"], 2);
    assert_eq!(verified.actor.id, "vic");

    // Exporting needs export_audit_logs: refused for the viewer, and the refusal recorded.
    let filter = ExportFilter::default();
    let err = block_on(viewer.audit_export(&handle, &filter, ExportFormat::Csv)).unwrap_err();
    assert!(matches!(err, Error::AuthorizationDenied(_)), "{err}");
    assert_eq!(actions(&sink).last().unwrap(), "authorization.denied");

    let only_backups = ExportFilter {
        actions: vec!["backup.*".into()],
        ..ExportFilter::default()
    };
    let out = block_on(owner.audit_export(&handle, &only_backups, ExportFormat::Csv)).unwrap();
    assert_eq!(out.events, 1);
    assert_eq!(out.text.matches("backup.created").count(), 1);
    let exported = sink.events().pop().unwrap();
    assert_eq!(exported.action, "audit.exported");
    assert_eq!(exported.details["format"], "csv");
    assert_eq!(exported.details["events"], 1);
    assert!(
        !exported.details.contains_key("text"),
        "the export itself is not audited"
    );
}

#[test]
fn a_trail_cut_by_retention_still_verifies_from_its_anchor() {
    let sink = Arc::new(MemoryAuditSink::new());
    let handle = AuditHandle::Memory(sink.clone());
    let t0 = Timestamp::parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
    let clock = Arc::new(std::sync::Mutex::new(t0));
    let c = clock.clone();
    let owner = Session::new(Principal::user(ORG, "olga"), policy(), sink.clone())
        .with_clock(move || *c.lock().unwrap());
    for day in 0..40 {
        *clock.lock().unwrap() = t0.add_seconds(day * 86_400).unwrap();
        backup(&owner);
    }
    block_on(owner.apply_audit_retention(30)).unwrap();
    let checked = block_on(owner.audit_verify(&handle)).unwrap();
    assert!(
        checked.events < 40 && checked.head.position > 40,
        "{checked:?}"
    );
}

#[test]
fn a_tampered_file_is_an_integrity_error_naming_the_event() {
    let dir = std::env::temp_dir().join(format!("firekeep-trail-ops-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("audit.jsonl");
    let sink = Arc::new(JsonlAuditSink::open(&path, FsyncPolicy::PerBatch).unwrap());
    let owner = Session::new(Principal::user(ORG, "olga"), policy(), sink.clone());
    backup(&owner);
    backup(&owner);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("backup.created", "backup.deleted", 1)).unwrap();
    let handle = AuditHandle::File(path.clone());
    let err = block_on(owner.audit_verify(&handle)).unwrap_err();
    match err {
        Error::Integrity { object, .. } => {
            assert!(
                object.contains("audit.jsonl") && object.contains("event #1"),
                "{object}"
            )
        }
        other => panic!("expected Integrity, got {other}"),
    }
    // The failed check is itself recorded.
    let trail = block_on(sink.read()).unwrap();
    assert_eq!(trail.events.last().unwrap().action, "operation.failed");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_callback_sink_has_nothing_to_read_back() {
    let sink = Arc::new(MemoryAuditSink::new());
    let owner = Session::new(Principal::user(ORG, "olga"), policy(), sink);
    let err = block_on(owner.audit_events(&AuditHandle::Other)).unwrap_err();
    assert!(err.to_string().contains("callback"), "{err}");
}
