//! The CLI with a Google Cloud KMS key (`--kms-key projects/...`) served by the Cloud KMS test
//! server on loopback: backup, verify, list, a disabled key version's error, and rotation from
//! Cloud KMS to a raw key and back.

mod common;
use common::{Env, run, run_ok};
use firekeep_gcp_kms_server::{KmsServer, VersionState};

const KEY: &str = "projects/cli-test/locations/europe-west1/keyRings/backups/cryptoKeys/firekeep";

#[test]
fn backup_with_a_cloud_kms_key_then_rotate_to_a_raw_key_and_back() {
    let env = Env::new(60);
    let kms = env.block_on(async { KmsServer::builder().build().start().await.unwrap() });
    let v1 = kms.create_key(KEY);
    let gcp = |c: &mut assert_cmd::Command| {
        c.env("FIREKEEP_GCP_KMS_ENDPOINT", kms.endpoint())
            .env_remove("FIREKEEP_KEY_FILE")
            .env("FIREKEEP_AUDIT_LOG", env.dir.path().join("audit.jsonl"));
    };

    let mut c = env.cmd();
    gcp(&mut c);
    let b = run_ok(c.args(["backup", "--kms-key", KEY, "--json"]), 0).json();
    assert_eq!(b["key_id"], KEY);
    let docs = b["documents"].as_u64().unwrap();
    assert!(kms.calls("Encrypt") >= 1);

    let mut c = env.cmd();
    gcp(&mut c);
    c.env("FIREKEEP_KMS_KEY", KEY);
    let v = run_ok(c.args(["verify", "latest", "--json"]), 0).json();
    assert_eq!(v["documents"].as_u64(), Some(docs));

    // A disabled key version: the error names the version and says how to enable it.
    kms.set_state(&v1, VersionState::Disabled);
    let mut c = env.cmd();
    gcp(&mut c);
    let r = run(c.args(["--kms-key", KEY, "verify", "latest", "--json"]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    let e = &r.error()["error"];
    assert_eq!(e["code"], "ERR_KEY_PROVIDER", "{e}");
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.contains(&v1) && msg.contains("DISABLED") && msg.contains("versions enable"),
        "{msg}"
    );
    kms.set_state(&v1, VersionState::Enabled);

    // Rotate Cloud KMS -> raw key; the raw key reads it, the KMS key no longer does.
    let mut c = env.cmd();
    gcp(&mut c);
    c.env("FIREKEEP_KMS_KEY", KEY)
        .env("FIREKEEP_NEW_KEY_FILE", &env.key_file);
    let r = run_ok(c.args(["rotate-key", "--json"]), 0).json();
    assert_eq!(r["from_key_id"], KEY);
    let raw_id = r["to_key_id"].as_str().unwrap().to_string();
    let mut c = env.cmd();
    gcp(&mut c);
    c.env("FIREKEEP_KEY_FILE", &env.key_file);
    let list = run_ok(c.args(["list", "--json"]), 0).json();
    assert_eq!(list["backups"][0]["key_id"], raw_id.as_str());

    // And back to Cloud KMS with --new-kms-key, then restore with it.
    let mut c = env.cmd();
    gcp(&mut c);
    c.env("FIREKEEP_KEY_FILE", &env.key_file);
    let r = run_ok(
        c.args([
            "rotate-key",
            "--new-kms-key",
            &format!("gcp-kms:{KEY}"),
            "--json",
        ]),
        0,
    )
    .json();
    assert_eq!(r["to_key_id"], KEY);
    let mut c = env.cmd();
    gcp(&mut c);
    c.env("FIREKEEP_KMS_KEY", KEY);
    run_ok(
        c.args([
            "restore",
            "latest",
            "--target-database",
            "fromGcpKms",
            "--json",
        ]),
        0,
    );
    assert_eq!(env.documents("fromGcpKms").len() as u64, docs);
}

#[test]
fn a_malformed_cloud_kms_key_name_is_a_usage_error() {
    let env = Env::new(0);
    let mut c = env.cmd();
    c.env_remove("FIREKEEP_KEY_FILE")
        .env("FIREKEEP_GCP_KMS_ENDPOINT", "http://127.0.0.1:9");
    let r = run(c.args([
        "--kms-key",
        "projects/p/locations/l/keyRings/r",
        "backup",
        "--json",
    ]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    let msg = r.error()["error"]["message"].as_str().unwrap().to_string();
    assert!(msg.contains("projects/PROJECT/locations/LOCATION"), "{msg}");
}
