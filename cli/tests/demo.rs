//! `firekeep demo` end to end, through the real binary.

mod common;
use common::{bare_cmd, run_ok};

#[test]
fn demo_round_trip_reports_equal_databases_and_an_intact_audit_trail() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let r = run_ok(
        bare_cmd(tmp.path())
            .args(["demo", "--documents", "300", "--json", "--dir"])
            .arg(&dir),
        0,
    );
    let v = r.json();
    let docs = v["backup"]["documents"].as_u64().unwrap();
    assert!(docs >= 300, "{v}");
    assert_eq!(v["verify"]["problems"].as_array().unwrap().len(), 0);
    assert_eq!(v["verify"]["documents"].as_u64(), Some(docs));
    assert_eq!(v["restore"]["written"].as_u64(), Some(docs));
    assert_eq!(v["restore"]["failed"].as_array().unwrap().len(), 0);
    assert_eq!(v["compare"]["documents"].as_u64(), Some(docs));
    assert_eq!(v["compare"]["equal"], true);
    assert_eq!(v["audit"]["chain_ok"], true);
    let actions: Vec<&str> = v["audit"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["backup.created", "backup.verified", "backup.restored"]
    );

    // The key file is private, labelled, and its secret appears nowhere in the output.
    let key_path = dir.join("demo.key");
    let key_text = std::fs::read_to_string(&key_path).unwrap();
    assert!(key_text.contains("DEMO key"));
    let secret = key_text
        .lines()
        .find(|l| !l.starts_with('#'))
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(secret.len(), 44);
    assert!(!r.stdout.contains(&secret) && !r.stderr.contains(&secret));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // A second run reuses the key, so the repository stays readable with it.
    run_ok(
        bare_cmd(tmp.path())
            .args(["demo", "--documents", "50", "--dir"])
            .arg(&dir),
        0,
    );
    let list = run_ok(
        bare_cmd(tmp.path())
            .args(["list", "--json", "--repo"])
            .arg(dir.join("repo"))
            .arg("--key-file")
            .arg(&key_path),
        0,
    );
    assert_eq!(list.json()["backups"].as_array().unwrap().len(), 2);
    let human = run_ok(
        bare_cmd(tmp.path())
            .args(["audit", "verify", "--audit-log"])
            .arg(dir.join("audit.jsonl")),
        0,
    );
    assert!(human.stdout.contains("chain intact"), "{}", human.stdout);
}
