//! `firekeep api-key create|list|rotate|revoke` and `firekeep access review` through the
//! binary: a key's secret is printed once, stored only as a hash, works (and only it) as
//! FIREKEEP_API_KEY, keeps working through a rotation's grace period, fails once revoked;
//! the review finds an admin without MFA and a member never seen, and --apply-inactive
//! disables it.

mod common;

use common::{Env, run_ok};

const POLICY: &str = r#"
version = 1
[[members]]
id = "alice"
email = "alice@example.com"
organization = "acme"
role = "admin"

[[members]]
id = "vera"
organization = "acme"
role = "viewer"
"#;

#[test]
fn api_keys_created_rotated_and_revoked_through_the_cli() {
    let env = Env::new(5);
    run_ok(env.cmd().arg("backup"), 0);
    let policy = env.dir.path().join("policy.toml");
    std::fs::write(&policy, POLICY).unwrap();
    let as_ = |who: &str, secret: Option<&str>| {
        let mut c = env.cmd();
        c.env("FIREKEEP_POLICY", &policy)
            .env("FIREKEEP_ORGANIZATION", "acme")
            .env("FIREKEEP_PRINCIPAL", who);
        if let Some(s) = secret {
            c.env("FIREKEEP_API_KEY", s);
        }
        c
    };
    let created = run_ok(
        as_("user:alice@example.com", None).args([
            "api-key",
            "create",
            "ci",
            "--action",
            "view_backups",
            "--action",
            "create_backup",
            "--json",
        ]),
        0,
    )
    .json();
    let secret = created["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("fk_"));
    let text = std::fs::read_to_string(&policy).unwrap();
    assert!(
        !text.contains(&secret) && text.contains("sha256:"),
        "{text}"
    );

    // The key works with its secret only.
    run_ok(as_("apikey:ci", Some(&secret)).args(["list", "--json"]), 0);
    let r = run_ok(
        as_("apikey:ci", Some("fk_wrong")).args(["list", "--json"]),
        5,
    );
    assert_eq!(r.error()["error"]["code"], "ERR_UNAUTHENTICATED");
    assert!(!r.stderr.contains(&secret));
    run_ok(as_("apikey:ci", None).args(["list", "--json"]), 5);
    // A viewer may not create keys.
    run_ok(
        as_("user:vera", None).args(["api-key", "create", "x", "--action", "view_backups"]),
        5,
    );

    let listed = run_ok(
        as_("user:alice", None).args(["api-key", "list", "--json"]),
        0,
    )
    .json();
    assert_eq!(listed[0]["id"], "ci");
    assert_eq!(listed[0]["state"], "active");
    assert!(!listed.to_string().contains("sha256"));

    let rotated = run_ok(
        as_("user:alice", None).args(["api-key", "rotate", "ci", "--grace-hours", "1", "--json"]),
        0,
    )
    .json();
    let new_secret = rotated["secret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, secret);
    // Both work during the grace period.
    run_ok(as_("apikey:ci", Some(&secret)).args(["list"]), 0);
    run_ok(as_("apikey:ci", Some(&new_secret)).args(["list"]), 0);

    run_ok(as_("user:alice", None).args(["api-key", "revoke", "ci"]), 0);
    run_ok(as_("apikey:ci", Some(&new_secret)).args(["list"]), 5);

    let log = env.audit_log();
    for action in ["api_key.created", "api_key.rotated", "api_key.revoked"] {
        assert!(
            log.contains(&format!("\"action\":\"{action}\"")),
            "{action}: {log}"
        );
    }
    // The key's uses are in the trail by id; no secret is.
    assert!(log.contains("\"type\":\"api_key\",\"id\":\"ci\""), "{log}");
    assert!(!log.contains(&secret) && !log.contains(&new_secret));
}

#[test]
fn access_review_reports_findings_and_disables_inactive_members() {
    let env = Env::new(5);
    run_ok(env.cmd().arg("backup"), 0);
    let policy = env.dir.path().join("policy.toml");
    std::fs::write(&policy, POLICY).unwrap();
    // An audit trail that starts 200 days ago: vera has never been seen since.
    let audit = env.dir.path().join("audit.jsonl");
    let old = firekeep_core::audit::AuditEvent::at(
        firekeep_core::model::Timestamp::now()
            .add_seconds(-200 * 86_400)
            .unwrap(),
        firekeep_core::audit::AuditAction::BackupListed,
        firekeep_core::audit::Actor {
            kind: "user".into(),
            id: "alice".into(),
            email: None,
        },
        firekeep_core::audit::EventResource {
            kind: "organization".into(),
            id: "acme".into(),
        },
        "acme",
    );
    let sink = firekeep_core::audit::JsonlAuditSink::open(
        &audit,
        firekeep_core::audit::FsyncPolicy::PerBatch,
    )
    .unwrap();
    futures::executor::block_on(firekeep_core::audit::AuditSink::append(&sink, &[old])).unwrap();
    drop(sink);
    let cmd = || {
        let mut c = env.cmd();
        c.env("FIREKEEP_POLICY", &policy)
            .env("FIREKEEP_ORGANIZATION", "acme")
            .env("FIREKEEP_PRINCIPAL", "user:alice")
            .env("FIREKEEP_AUDIT_LOG", &audit);
        c
    };
    let r = run_ok(cmd().args(["access", "review", "--json"]), 0).json();
    let findings = r["findings"].to_string();
    assert!(
        findings.contains("admin_without_mfa") && findings.contains("member:alice"),
        "{findings}"
    );
    assert!(
        findings.contains("inactive_member") && findings.contains("member:vera"),
        "{findings}"
    );
    let csv = run_ok(cmd().args(["access", "review", "--format", "csv"]), 0).stdout;
    assert!(csv.starts_with("type,id,role,"), "{csv}");
    assert!(
        csv.lines().any(|l| l.starts_with("member,vera,viewer,")),
        "{csv}"
    );
    run_ok(cmd().args(["access", "review", "--apply-inactive"]), 0);
    assert!(
        std::fs::read_to_string(&policy)
            .unwrap()
            .contains("disabled_at")
    );
    let mut c = env.cmd();
    c.env("FIREKEEP_POLICY", &policy)
        .env("FIREKEEP_ORGANIZATION", "acme")
        .env("FIREKEEP_PRINCIPAL", "user:vera")
        .env("FIREKEEP_AUDIT_LOG", &audit);
    let r = run_ok(c.args(["list"]), 5);
    assert!(r.stderr.contains("disabled"), "{}", r.stderr);
    let log = std::fs::read_to_string(&audit).unwrap();
    assert!(log.contains("\"action\":\"member.disabled\""), "{log}");
}
