//! The CLI with a key inside SoftHSM2 (`--kms-key pkcs11:token=…;object=…?module-path=…`):
//! backup, verify and restore, the PIN from a file named by the URI's `pin-source` (never the
//! command line), a wrong PIN's error, and a PIN written into the URI refused.
//! The token lives in a temporary folder (`SOFTHSM2_CONF` is given to each child process);
//! its AES-256 key is imported with `softhsm2-util --import --aes`.

mod common;
use common::{Env, run, run_ok};
use std::process::Command;

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

fn softhsm(conf: &std::path::Path, args: &[&str]) {
    let out = Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", conf)
        .args(args)
        .output()
        .expect("softhsm2-util not found: install the Debian package softhsm2 (.ci/run does)");
    assert!(
        out.status.success(),
        "softhsm2-util {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn backup_verify_restore_with_a_key_inside_softhsm() {
    let env = Env::new(60);
    let dir = env.dir.path();
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens).unwrap();
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap();
    softhsm(
        &conf,
        &[
            "--init-token",
            "--free",
            "--label",
            "cli",
            "--pin",
            "2468",
            "--so-pin",
            "1357",
        ],
    );
    let aes = dir.join("aes.key");
    std::fs::write(&aes, [0x42u8; 32]).unwrap();
    softhsm(
        &conf,
        &[
            "--import",
            aes.to_str().unwrap(),
            "--aes",
            "--token",
            "cli",
            "--label",
            "backups",
            "--id",
            "0a",
            "--pin",
            "2468",
        ],
    );
    std::fs::remove_file(&aes).unwrap();
    let pin = dir.join("pin");
    std::fs::write(&pin, "2468\n").unwrap();
    let uri = format!(
        "pkcs11:token=cli;object=backups?module-path={MODULE}&pin-source=file:{}",
        pin.display()
    );
    let hsm = |c: &mut assert_cmd::Command| {
        c.env("SOFTHSM2_CONF", &conf)
            .env_remove("FIREKEEP_KEY_FILE")
            .env("FIREKEEP_AUDIT_LOG", dir.join("audit.jsonl"));
    };

    let mut c = env.cmd();
    hsm(&mut c);
    let b = run_ok(c.args(["backup", "--kms-key", &uri, "--json"]), 0).json();
    assert_eq!(b["key_id"], "pkcs11:token=cli;object=backups");
    let docs = b["documents"].as_u64().unwrap();

    let mut c = env.cmd();
    hsm(&mut c);
    let v = run_ok(c.args(["--kms-key", &uri, "verify", "latest", "--json"]), 0).json();
    assert_eq!(v["documents"].as_u64(), Some(docs));

    let mut c = env.cmd();
    hsm(&mut c);
    let r = run_ok(
        c.args([
            "--kms-key",
            &uri,
            "restore",
            "latest",
            "--target-database",
            "from-hsm",
            "--json",
        ]),
        0,
    )
    .json();
    assert_eq!(r["written"].as_u64(), Some(docs), "{r}");

    // A wrong PIN (from the environment this time): a key-provider error, PIN not echoed.
    let no_pin = format!("pkcs11:token=cli;object=backups?module-path={MODULE}");
    let mut c = env.cmd();
    hsm(&mut c);
    c.env("FIREKEEP_PKCS11_PIN", "9999");
    let r = run(c.args(["--kms-key", &no_pin, "verify", "latest", "--json"]));
    assert_ne!(r.code, 0);
    let e = &r.error()["error"];
    assert_eq!(e["code"], "ERR_KEY_PROVIDER", "{e}");
    let msg = e["message"].as_str().unwrap();
    assert!(msg.contains("wrong PIN") && !msg.contains("9999"), "{msg}");

    // A PIN in the URI is refused before anything is opened.
    let mut c = env.cmd();
    hsm(&mut c);
    let r = run(c.args([
        "--kms-key",
        &format!("{no_pin}&pin-value=2468"),
        "verify",
        "latest",
        "--json",
    ]));
    let e = &r.error()["error"];
    assert_eq!(e["code"], "ERR_INVALID_CONFIG", "{e}");
    assert!(!e["message"].as_str().unwrap().contains("2468"), "{e}");
}
