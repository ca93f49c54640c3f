//! The CLI against S3 and AWS KMS served by moto on loopback: a backup into s3:// with a
//! KMS-wrapped data key, list, verify, restore, and rotation from KMS to a raw key.

mod common;
use common::{Env, run_ok};
use firekeep_moto::MotoServer;

/// Creates a symmetric KMS key on moto and returns its ARN (moto routes by the signing
/// scope of the Authorization header and does not check the signature).
fn create_kms_key(moto: &MotoServer) -> String {
    let auth = "AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/kms/aws4_request, \
                SignedHeaders=host, Signature=00";
    let r = moto
        .request(
            "POST",
            "/",
            &[
                ("X-Amz-Target", "TrentService.CreateKey"),
                ("Content-Type", "application/x-amz-json-1.1"),
                ("Authorization", auth),
            ],
            b"{}",
        )
        .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    v["KeyMetadata"]["Arn"].as_str().unwrap().to_string()
}

#[test]
fn backup_to_s3_with_a_kms_key_then_rotate_to_a_raw_key() {
    let moto = MotoServer::start();
    moto.create_bucket("fk-cli");
    let arn = create_kms_key(&moto);
    let env = Env::new(120);
    let aws = |c: &mut assert_cmd::Command| {
        c.env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL_KMS", moto.endpoint())
            .env("FIREKEEP_REPO", "s3://fk-cli/team/prod")
            .env_remove("FIREKEEP_KEY_FILE")
            .env("FIREKEEP_KMS_KEY", &arn)
            .env("FIREKEEP_AUDIT_LOG", env.dir.path().join("audit.jsonl"))
            .args([
                "--storage-option",
                &format!("endpoint={}", moto.endpoint()),
                "--storage-option",
                "allow_http=true",
            ]);
    };
    let mut c = env.cmd();
    aws(&mut c);
    let b = run_ok(c.args(["backup", "--json"]), 0).json();
    assert_eq!(b["key_id"], arn.as_str());
    let docs = b["documents"].as_u64().unwrap();
    assert!(
        b["repository"].as_str().unwrap().starts_with("s3://fk-cli"),
        "{b}"
    );

    let mut c = env.cmd();
    aws(&mut c);
    let v = run_ok(c.args(["verify", "latest", "--json"]), 0).json();
    assert_eq!(v["documents"].as_u64(), Some(docs));

    let mut c = env.cmd();
    aws(&mut c);
    run_ok(
        c.args(["restore", "latest", "--target-database", "fromS3", "--json"]),
        0,
    );
    assert_eq!(env.documents("fromS3").len() as u64, docs);

    // Rotate the data key from KMS to the raw key; then the raw key reads the backup.
    let mut c = env.cmd();
    aws(&mut c);
    c.env("FIREKEEP_NEW_KEY_FILE", &env.key_file);
    let r = run_ok(c.args(["rotate-key", "--json"]), 0).json();
    assert_eq!(r["to_key_id"].as_str().unwrap().get(..4), Some("raw-"));
    let mut c = env.cmd();
    aws(&mut c);
    c.env_remove("FIREKEEP_KMS_KEY")
        .env("FIREKEEP_KEY_FILE", &env.key_file);
    let list = run_ok(c.args(["list", "--json"]), 0).json();
    assert_eq!(list["backups"][0]["key_id"], r["to_key_id"]);
}

/// The legal-hold status of `key` as moto answers `GET ?legal-hold` (moto reads who asks
/// from the Authorization header and does not check the signature).
fn legal_hold_status(moto: &MotoServer, bucket: &str, key: &str) -> String {
    let auth = "AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/s3/aws4_request, \
                SignedHeaders=host, Signature=00";
    let r = moto
        .request(
            "GET",
            &format!("/{bucket}/{key}?legal-hold"),
            &[("Authorization", auth)],
            b"",
        )
        .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let body = String::from_utf8_lossy(&r.body).to_string();
    match body.split_once("<Status>") {
        Some((_, rest)) => rest.split('<').next().unwrap_or("").to_string(),
        None => "OFF".into(),
    }
}

#[test]
fn hold_place_sets_the_s3_legal_hold_and_release_clears_it() {
    let moto = MotoServer::start();
    let r = moto
        .request(
            "PUT",
            "/fk-cli-hold",
            &[("x-amz-bucket-object-lock-enabled", "true")],
            b"",
        )
        .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let env = Env::new(50);
    let s3 = |c: &mut assert_cmd::Command| {
        c.env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("FIREKEEP_REPO", "s3://fk-cli-hold/team")
            .env("FIREKEEP_AUDIT_LOG", env.dir.path().join("audit.jsonl"))
            .args([
                "--storage-option",
                &format!("endpoint={}", moto.endpoint()),
                "--storage-option",
                "allow_http=true",
            ]);
    };
    let mut c = env.cmd();
    s3(&mut c);
    let b = run_ok(c.args(["backup", "--json"]), 0).json();
    let id = b["backup_id"].as_str().unwrap().to_string();
    let manifest = format!("team/firekeep/v1/backups/{id}/manifest.fkm");
    assert_eq!(legal_hold_status(&moto, "fk-cli-hold", &manifest), "OFF");

    let mut c = env.cmd();
    s3(&mut c);
    let h = run_ok(
        c.args(["hold", "place", &id, "--reason", "case 9", "--json"]),
        0,
    )
    .json();
    assert_eq!(h["hold"]["object_lock"]["status"], "applied", "{h}");
    let n = h["hold"]["object_lock"]["objects"].as_u64().unwrap();
    assert!(n >= 4, "{h}");
    assert_eq!(legal_hold_status(&moto, "fk-cli-hold", &manifest), "ON");
    // Again, in human form: idempotent, and it says what S3 did.
    let mut c = env.cmd();
    s3(&mut c);
    let out = run_ok(c.args(["hold", "place", &id]), 0);
    assert!(
        out.stdout
            .contains(&format!("S3 Object Lock legal hold set on {n} objects")),
        "{}",
        out.stdout
    );
    let audit = std::fs::read_to_string(env.dir.path().join("audit.jsonl")).unwrap();
    assert!(audit.contains("\"object_lock_objects\":"), "{audit}");

    let mut c = env.cmd();
    s3(&mut c);
    let r = run_ok(c.args(["hold", "release", &id, "--json"]), 0).json();
    assert_eq!(r["released"], true, "{r}");
    assert_eq!(r["hold"]["object_lock"]["objects"].as_u64(), Some(n), "{r}");
    assert_eq!(legal_hold_status(&moto, "fk-cli-hold", &manifest), "OFF");
}
