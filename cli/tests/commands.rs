//! The commands through the real binary against an in-process Firestore test server and a
//! temp-folder repository: backup → list → verify → restore → diff, JSON shapes, exit codes,
//! configuration precedence, and that no secret ever reaches the output or the audit log.

mod common;
use common::{Env, bare_cmd, run, run_ok};
use firekeep_core::model::{Document, Value};
use std::collections::BTreeMap;

fn fields_by_path(docs: &[Document]) -> BTreeMap<String, BTreeMap<String, Value>> {
    docs.iter()
        .map(|d| (d.path().unwrap().1.to_string(), d.fields.clone()))
        .collect()
}

#[test]
fn backup_list_verify_restore_diff_round_trip() {
    let env = Env::new(400);
    let b = run_ok(
        env.cmd().args(["backup", "--json", "--label", "kind=test"]),
        0,
    )
    .json();
    let id = b["backup_id"].as_str().unwrap().to_string();
    let docs = b["documents"].as_u64().unwrap();
    assert_eq!(docs, env.documents("(default)").len() as u64);
    assert!(
        b["collections"]["users"]["documents"].as_u64().unwrap() > 0,
        "{b}"
    );
    assert!(b["key_id"].as_str().unwrap().starts_with("raw-"));

    let list = run_ok(env.cmd().args(["list", "--json"]), 0).json();
    let backups = list["backups"].as_array().unwrap();
    assert_eq!(backups.len(), 1);
    assert_eq!(backups[0]["id"], id.as_str());
    assert_eq!(backups[0]["documents"].as_u64(), Some(docs));
    assert_eq!(backups[0]["labels"]["kind"], "test");

    let human = run_ok(env.cmd().arg("list"), 0);
    assert!(human.stdout.contains(&id) && human.stdout.contains("DOCUMENTS"));

    let v = run_ok(env.cmd().args(["verify", "latest", "--json"]), 0).json();
    assert_eq!(v["backup_id"], id.as_str());
    assert_eq!(v["documents"].as_u64(), Some(docs));
    assert_eq!(v["problems"].as_array().unwrap().len(), 0);

    let dry = run_ok(
        env.cmd().args([
            "restore",
            &id,
            "--target-database",
            "dry",
            "--dry-run",
            "--json",
        ]),
        0,
    )
    .json();
    assert_eq!(dry["dry_run"], true);
    assert!(env.documents("dry").is_empty(), "a dry run writes nothing");

    let r = run_ok(
        env.cmd().args([
            "restore",
            "latest",
            "--target-database",
            "restored",
            "--json",
        ]),
        0,
    )
    .json();
    assert_eq!(r["written"].as_u64(), Some(docs));
    assert_eq!(
        fields_by_path(&env.documents("(default)")),
        fields_by_path(&env.documents("restored"))
    );

    // The live restored database equals the backup...
    let d = run_ok(
        env.cmd().args([
            "diff",
            &id,
            "--database",
            "restored",
            "--exit-code",
            "--json",
        ]),
        0,
    )
    .json();
    assert_eq!(d["unchanged"].as_u64(), Some(docs));
    // ...until a document changes.
    let mut changed = env.documents("restored").into_iter().next().unwrap();
    changed.fields.insert("edited".into(), Value::Boolean(true));
    env.server.seed([changed]);
    let d = run_ok(
        env.cmd().args([
            "diff",
            &id,
            "--database",
            "restored",
            "--exit-code",
            "--json",
        ]),
        10,
    )
    .json();
    assert_eq!(d["changed"].as_u64(), Some(1));

    // Every operation was audited, in order, under the local owner.
    let log = env.audit_log();
    for action in [
        "backup.created",
        "backup.listed",
        "backup.verified",
        "backup.restored",
        "backup.diffed",
    ] {
        assert!(
            log.contains(&format!("\"action\":\"{action}\"")),
            "{action}: {log}"
        );
    }
    run_ok(env.cmd().args(["audit", "verify"]), 0);
    let csv = run_ok(
        env.cmd().args([
            "audit",
            "export",
            "--format",
            "csv",
            "--action",
            "backup.restored",
        ]),
        0,
    );
    // Header, the dry run and the real restore.
    assert_eq!(csv.stdout.lines().count(), 3, "{}", csv.stdout);
    assert!(
        csv.stdout.contains("\"\"dry_run\"\":true"),
        "{}",
        csv.stdout
    );
}

#[test]
fn exit_codes_and_json_errors() {
    let env = Env::new(60);
    // Missing repository: 6.
    let r = run_ok(env.cmd().args(["list", "--json"]), 6);
    assert_eq!(r.error()["error"]["code"], "ERR_NOT_FOUND");
    assert!(r.stdout.is_empty(), "errors go to stderr only");

    let b = run_ok(env.cmd().args(["backup", "--json"]), 0).json();
    let id = b["backup_id"].as_str().unwrap().to_string();

    // Unknown backup id: 6.
    run_ok(
        env.cmd()
            .args(["verify", "bk_20200101T000000.000Z_00000000", "--json"]),
        6,
    );

    // Wrong key: 4, naming the key id the backup needs.
    let other = env.dir.path().join("other.key");
    std::fs::write(
        &other,
        firekeep_core::keys::RawKey::generate()
            .unwrap()
            .to_base64()
            .expose(),
    )
    .unwrap();
    let r = run_ok(
        env.cmd()
            .args(["verify", "latest", "--json", "--key-file"])
            .arg(&other),
        4,
    );
    let err = r.error();
    assert_eq!(err["error"]["code"], "ERR_KEY_MISMATCH");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains(b["key_id"].as_str().unwrap())
    );

    // No key at all (no terminal to prompt on): 2.
    let r = run_ok(
        env.cmd()
            .env_remove("FIREKEEP_KEY_FILE")
            .args(["list", "--json"]),
        2,
    );
    assert!(
        r.error()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--key-file")
    );

    // Two key sources at the same level: 2.
    run_ok(
        env.cmd()
            .env("FIREKEEP_PASSPHRASE", "x".repeat(20))
            .args(["list", "--json"]),
        2,
    );

    // Bad usage: 2, as JSON with --json.
    let r = run_ok(
        env.cmd()
            .args(["restore", "--json", "--conflict", "sometimes", "x"]),
        2,
    );
    assert_eq!(r.error()["error"]["code"], "ERR_USAGE");

    // Read streams out of range: 2, naming the option; in range: a backup.
    for bad in ["0", "257"] {
        let r = run_ok(
            env.cmd().args(["backup", "--json", "--read-streams", bad]),
            2,
        );
        let message = r.error()["error"]["message"].as_str().unwrap().to_string();
        assert!(
            message.contains("read_streams") || message.contains("read-streams"),
            "{message}"
        );
    }
    run_ok(
        env.cmd().args(["backup", "--json", "--read-streams", "3"]),
        0,
    );

    // Tampered part: verify 3 naming the part; restore 3 writing nothing.
    let parts_dir = env.repo.join("firekeep/v1/backups").join(&id).join("parts");
    let part = std::fs::read_dir(&parts_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&part).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&part, &bytes).unwrap();
    let part_name = part.file_name().unwrap().to_str().unwrap().to_string();
    let r = run(env.cmd().args(["verify", &id, "--json"]));
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(&part_name) || r.stderr.contains(&part_name),
        "the bad part is named: {}\n{}",
        r.stdout,
        r.stderr
    );
    run_ok(
        env.cmd()
            .args(["restore", &id, "--target-database", "t", "--json"]),
        3,
    );
    assert!(
        env.documents("t").is_empty(),
        "nothing restored from a bad part"
    );
    assert!(env.audit_log().contains("backup.verify_failed"));
}

#[test]
fn a_viewer_may_list_but_not_back_up_and_the_denial_is_audited() {
    let env = Env::new(30);
    run_ok(env.cmd().arg("backup"), 0);
    let policy = env.dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        r#"
version = 1
[[members]]
id = "vera"
email = "vera@example.com"
organization = "acme"
role = "viewer"
"#,
    )
    .unwrap();
    let viewer = |c: &mut assert_cmd::Command| {
        c.env("FIREKEEP_POLICY", &policy)
            .env("FIREKEEP_ORGANIZATION", "acme")
            .env("FIREKEEP_PRINCIPAL", "user:vera@example.com");
    };
    let mut c = env.cmd();
    viewer(&mut c);
    let r = run_ok(c.args(["backup", "--json"]), 5);
    assert_eq!(r.error()["error"]["code"], "ERR_AUTHORIZATION_DENIED");
    let mut c = env.cmd();
    viewer(&mut c);
    run_ok(c.args(["list", "--json"]), 0);
    let mut c = env.cmd();
    viewer(&mut c);
    run_ok(c.args(["restore", "latest", "--target-database", "x"]), 5);
    assert!(env.documents("x").is_empty());
    let log = env.audit_log();
    let denied: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("\"action\":\"authorization.denied\""))
        .collect();
    assert_eq!(denied.len(), 2, "{log}");
    assert!(denied[0].contains("vera"));
}

/// Issue 19, item 2, through the binary: a member whose only grant is `owner` on project
/// `dev` may not restore (nor diff) a backup of another project by id, even into `dev`;
/// nothing is written, and the denial is audited naming the refused source. A member with
/// grants on both projects may.
#[test]
fn restore_and_diff_are_authorized_against_the_backup_source() {
    let env = Env::new(30);
    let b = run_ok(env.cmd().args(["backup", "--json"]), 0).json();
    let id = b["backup_id"].as_str().unwrap().to_string();
    let policy = env.dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        r#"
version = 1
[[members]]
id = "dave"
email = "dave@example.com"
organization = "acme"
projects = { dev = { role = "owner" } }

[[members]]
id = "pat"
email = "pat@example.com"
organization = "acme"
projects = { dev = { role = "owner" }, cli-test = { role = "owner" } }
"#,
    )
    .unwrap();
    let as_user = |c: &mut assert_cmd::Command, who: &str| {
        c.env("FIREKEEP_POLICY", &policy)
            .env("FIREKEEP_ORGANIZATION", "acme")
            .env("FIREKEEP_PRINCIPAL", format!("user:{who}@example.com"));
    };
    let dev = |database: &str| {
        env.server.documents(
            &firekeep_core::model::DatabaseId::new("dev", database).unwrap(),
            None,
        )
    };

    for dry_run in [false, true] {
        let mut c = env.cmd();
        as_user(&mut c, "dave");
        c.args(["restore", &id, "--target-project", "dev", "--json"]);
        if dry_run {
            c.arg("--dry-run");
        }
        let r = run_ok(&mut c, 5);
        let msg = r.error()["error"]["message"].as_str().unwrap().to_string();
        assert!(msg.contains("the backup's source"), "{msg}");
        assert!(!msg.contains("cli-test"), "the source stays unnamed: {msg}");
    }
    assert!(dev("(default)").is_empty(), "nothing restored into dev");

    let mut c = env.cmd();
    as_user(&mut c, "dave");
    run_ok(c.args(["diff", &id, "--project", "dev", "--json"]), 5);

    let log = env.audit_log();
    let denied: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| l.contains("\"action\":\"authorization.denied\""))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(denied.len(), 3, "{log}");
    for (e, permission) in denied
        .iter()
        .zip(["restore_backup", "restore_backup", "view_backups"])
    {
        assert_eq!(e["actor"]["id"], "dave");
        assert_eq!(e["details"]["permission"], permission);
        assert_eq!(e["details"]["denied_on"], "the backup's source");
        assert_eq!(e["details"]["source_project"], "cli-test");
    }

    // Grants on both the source and the target: allowed.
    let mut c = env.cmd();
    as_user(&mut c, "pat");
    let r = run_ok(
        c.args(["restore", &id, "--target-project", "dev", "--json"]),
        0,
    )
    .json();
    assert_eq!(r["written"], b["documents"]);
    assert_eq!(
        dev("(default)").len() as u64,
        b["documents"].as_u64().unwrap()
    );
}

#[test]
fn rotate_key_rewraps_and_the_old_key_stops_working() {
    let env = Env::new(30);
    run_ok(env.cmd().arg("backup"), 0);
    let new_key = firekeep_core::keys::RawKey::generate().unwrap();
    let new_b64 = new_key.to_base64().expose().to_string();
    let r = run_ok(
        env.cmd()
            .env("FIREKEEP_NEW_KEY", &new_b64)
            .args(["rotate-key", "--json"]),
        0,
    )
    .json();
    assert_eq!(r["rotated"].as_array().unwrap().len(), 1);
    // Under the old key the backup is listed as unreadable, naming the key it needs; and
    // `latest` still means it (opening it then fails as a key mismatch).
    let list = run_ok(env.cmd().args(["list", "--json"]), 0).json();
    assert!(list["backups"].as_array().unwrap().is_empty(), "{list}");
    assert_eq!(list["unreadable"][0]["code"], "ERR_KEY_MISMATCH");
    assert!(
        list["unreadable"][0]["message"]
            .as_str()
            .unwrap()
            .contains(r["to_key_id"].as_str().unwrap()),
        "{list}"
    );
    let human = run_ok(env.cmd().arg("list"), 0);
    assert!(
        human.stdout.contains("could not be opened with this key"),
        "{}",
        human.stdout
    );
    assert!(
        human.stdout.starts_with("no backup this key can open"),
        "{}",
        human.stdout
    );
    run_ok(env.cmd().args(["verify", "latest", "--json"]), 4);
    let v = run_ok(
        env.cmd()
            .env_remove("FIREKEEP_KEY_FILE")
            .env("FIREKEEP_KEY", &new_b64)
            .args(["verify", "--json"]),
        0,
    );
    assert!(!v.stdout.contains(&new_b64) && !v.stderr.contains(&new_b64));

    // One more backup under the old key: the repository now holds backups under two keys.
    // Rotating from the new key to a third re-wraps its backup, names the other, exits 4.
    run_ok(env.cmd().arg("backup"), 0);
    let third = firekeep_core::keys::RawKey::generate().unwrap();
    let third_b64 = third.to_base64().expose().to_string();
    let rotate = |json: bool| {
        let mut c = env.cmd();
        c.env_remove("FIREKEEP_KEY_FILE")
            .env("FIREKEEP_KEY", &new_b64)
            .env("FIREKEEP_NEW_KEY", &third_b64)
            .arg("rotate-key");
        if json {
            c.arg("--json");
        }
        run_ok(&mut c, 4)
    };
    let partial = rotate(true).json();
    assert_eq!(partial["rotated"].as_array().unwrap().len(), 1, "{partial}");
    assert_eq!(
        partial["other_keys"].as_array().unwrap().len(),
        1,
        "{partial}"
    );
    assert_eq!(partial["other_keys"][0]["key_id"], r["from_key_id"]);
    let human = rotate(false);
    assert!(
        human.stdout.contains("under other keys"),
        "{}",
        human.stdout
    );
}

#[test]
fn secrets_never_reach_output_or_the_audit_log() {
    let env = Env::new(30);
    let pass = "correct horse battery staple 42";
    let pass_file = env.dir.path().join("pass");
    std::fs::write(&pass_file, format!("{pass}\n")).unwrap();
    let mut outputs = String::new();
    let mut go = |c: &mut assert_cmd::Command, code: i32| {
        let r = run_ok(c, code);
        outputs.push_str(&r.stdout);
        outputs.push_str(&r.stderr);
    };
    let pp = |c: &mut assert_cmd::Command| {
        c.env_remove("FIREKEEP_KEY_FILE")
            .env("FIREKEEP_PASSPHRASE", pass);
    };
    let mut c = env.cmd();
    pp(&mut c);
    go(c.args(["backup", "--json"]), 0);
    let mut c = env.cmd();
    pp(&mut c);
    go(c.args(["list"]), 0);
    // Wrong passphrase (a file this time): listed as unreadable (0); opening it is a key
    // mismatch, 4.
    let wrong = env.dir.path().join("wrong");
    std::fs::write(&wrong, "not the right passphrase at all").unwrap();
    go(
        env.cmd()
            .env_remove("FIREKEEP_KEY_FILE")
            .args(["list", "--json", "--passphrase-file"])
            .arg(&wrong),
        0,
    );
    go(
        env.cmd()
            .env_remove("FIREKEEP_KEY_FILE")
            .args(["verify", "latest", "--json", "--passphrase-file"])
            .arg(&wrong),
        4,
    );
    // A malformed raw key: 2, without echoing it.
    let bad_key = "c2VjcmV0LWJ1dC1ub3QtMzItYnl0ZXMtbG9uZw==";
    go(
        env.cmd()
            .env_remove("FIREKEEP_KEY_FILE")
            .env("FIREKEEP_KEY", bad_key)
            .args(["list", "--json"]),
        2,
    );
    go(
        env.cmd()
            .env_remove("FIREKEEP_KEY_FILE")
            .env("FIREKEEP_KEY", bad_key)
            .arg("list"),
        2,
    );
    // A flag beats the environment; two flags are ambiguous: 2.
    go(
        env.cmd()
            .args(["list", "--passphrase-file"])
            .arg(&pass_file),
        0,
    );
    go(
        env.cmd()
            .args(["list", "--passphrase-file"])
            .arg(&pass_file)
            .arg("--key-file")
            .arg(&env.key_file),
        2,
    );
    let log = env.audit_log();
    for secret in [pass, bad_key, env.key_b64.as_str()] {
        assert!(!outputs.contains(secret), "secret in output:\n{outputs}");
        assert!(!log.contains(secret), "secret in audit log");
    }
    assert!(outputs.contains("ERR_KEY_MISMATCH"));
}

#[test]
fn configuration_precedence_is_flag_then_env_then_file() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("firekeep.toml"),
        "repo = \"from-file\"\nkey_file = \"k\"\n",
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("k"),
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    )
    .unwrap();
    let missing = |r: common::Run| r.error()["error"]["message"].as_str().unwrap().to_string();
    // File only: the file's folder-relative path.
    let m = missing(run_ok(bare_cmd(tmp.path()).args(["list", "--json"]), 6));
    assert!(
        m.contains(&tmp.path().join("from-file").display().to_string()),
        "{m}"
    );
    // Env beats file.
    let m = missing(run_ok(
        bare_cmd(tmp.path())
            .env("FIREKEEP_REPO", "/nonexistent/from-env")
            .args(["list", "--json"]),
        6,
    ));
    assert!(m.contains("/nonexistent/from-env"), "{m}");
    // Flag beats env.
    let m = missing(run_ok(
        bare_cmd(tmp.path())
            .env("FIREKEEP_REPO", "/nonexistent/from-env")
            .args(["list", "--json", "--repo", "file:///nonexistent/from-flag"]),
        6,
    ));
    assert!(m.contains("/nonexistent/from-flag"), "{m}");
    // A typo in the config file is an error naming the key and line.
    std::fs::write(
        tmp.path().join("bad.toml"),
        "repo = \"x\"\nprojekt = \"p\"\n",
    )
    .unwrap();
    let r = run_ok(
        bare_cmd(tmp.path()).args(["list", "--json", "--config", "bad.toml"]),
        2,
    );
    let m = r.error()["error"]["message"].as_str().unwrap().to_string();
    assert!(m.contains("projekt") && m.contains("line 2"), "{m}");
}

/// A folder planted in the repository (a one-byte manifest dated 2099) is neither kept in
/// place of a real backup by prune nor `latest`; it is named in the prune output. Deleting
/// the newest manifest afterwards makes `latest` fail naming it, and `list` warn.
#[test]
fn planted_folders_and_deleted_newest_are_named_in_the_output() {
    let env = Env::new(20);
    let ids: Vec<String> = (0..2)
        .map(|_| {
            let b = run_ok(env.cmd().args(["backup", "--json"]), 0).json();
            b["backup_id"].as_str().unwrap().to_string()
        })
        .collect();
    let planted = "bk_20990101T000000.000Z_00000001";
    let dir = env.repo.join("firekeep/v1/backups").join(planted);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("manifest.fkm"), b"x").unwrap();

    let pruned = run_ok(env.cmd().args(["prune", "--keep-last", "1", "--json"]), 0).json();
    assert_eq!(pruned["plan"]["remove"][0], ids[0].as_str(), "{pruned}");
    assert_eq!(pruned["plan"]["keep"][0]["id"], ids[1].as_str(), "{pruned}");
    assert_eq!(pruned["plan"]["unreadable"][0]["id"], planted, "{pruned}");
    assert!(dir.join("manifest.fkm").exists());
    let human = run_ok(
        env.cmd().args(["prune", "--keep-last", "1", "--dry-run"]),
        0,
    );
    assert!(
        human.stdout.contains(planted) && human.stdout.contains("left alone"),
        "{}",
        human.stdout
    );
    let v = run_ok(env.cmd().args(["verify", "latest", "--json"]), 0);
    assert_eq!(v.json()["backup_id"], ids[1].as_str());
    assert!(v.stderr.contains(planted), "{}", v.stderr);

    std::fs::remove_file(
        env.repo
            .join("firekeep/v1/backups")
            .join(&ids[1])
            .join("manifest.fkm"),
    )
    .unwrap();
    let failed = run_ok(env.cmd().args(["verify", "latest", "--json"]), 3);
    assert!(failed.stderr.contains(&ids[1]), "{}", failed.stderr);
    let list = run_ok(env.cmd().arg("list"), 0);
    assert!(
        list.stdout.contains("WARNING") && list.stdout.contains(&ids[1]),
        "{}",
        list.stdout
    );
}
