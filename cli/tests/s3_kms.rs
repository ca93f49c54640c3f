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
