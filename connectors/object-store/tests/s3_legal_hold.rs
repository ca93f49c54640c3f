//! Legal hold on S3 (moto) with Object Lock: `hold place` sets the S3 legal hold on every
//! object of the backup and `hold release` clears them, checked with boto3 (AWS's own
//! client), which also tries the deletes S3 must refuse. Without Object Lock the repository
//! hold is still placed and the result says the store-level hold is not supported.

mod common;

use common::{moto, unique_bucket};
use firekeep_core::Error;
use firekeep_core::client::Client;
use firekeep_core::engine::{
    BackupOptions, CancellationToken, LegalHold, ObjectLockStatus, Retention, read_hold,
};
use firekeep_core::keys::RawKey;
use firekeep_core::model::{DatabaseId, Document, DocumentPath, Value};
use firekeep_core::setup::AuditHandle;
use firekeep_core::source::memory::MemoryFirestore;
use firekeep_core::storage::{ObjectHoldAnswer, ObjectHoldMode};
use firekeep_moto::{ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY};
use firekeep_object_store::{OpenClientOptions, open_client};
use std::collections::BTreeMap;
use std::sync::Arc;

const PREFIX: &str = "team";

fn create_bucket(object_lock: bool) -> String {
    let bucket = unique_bucket(if object_lock { "hold" } else { "nolock" });
    let headers: &[(&str, &str)] = if object_lock {
        &[("x-amz-bucket-object-lock-enabled", "true")]
    } else {
        &[]
    };
    let r = moto()
        .request("PUT", &format!("/{bucket}"), headers, b"")
        .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    bucket
}

fn client(bucket: &str, legal_hold: Option<&str>) -> (Client, AuditHandle) {
    let mut options = OpenClientOptions {
        repository: format!("s3://{bucket}/{PREFIX}"),
        ..OpenClientOptions::default()
    };
    for (k, v) in [
        ("endpoint", moto().endpoint()),
        ("allow_http", "true".into()),
        ("region", REGION.into()),
        ("access_key_id", ACCESS_KEY_ID.into()),
        ("secret_access_key", SECRET_ACCESS_KEY.into()),
        ("max_retries", "2".into()),
    ] {
        options.storage_options.insert(k.into(), v);
    }
    if let Some(mode) = legal_hold {
        options
            .storage_options
            .insert("object_legal_hold".into(), mode.into());
    }
    let keys = Arc::new(RawKey::from_bytes(&[9; 32]).unwrap());
    open_client(&options, keys).unwrap()
}

async fn backup(client: &Client) -> String {
    let db = DatabaseId::new("hold-project", "(default)").unwrap();
    let source = MemoryFirestore::new(db.clone());
    for i in 0..40 {
        let name = db.document_name(&DocumentPath::parse(&format!("cases/c{i}")).unwrap());
        let fields = BTreeMap::from([("body".to_string(), Value::String("x".repeat(900)))]);
        source.put(Document::new(name, fields)).unwrap();
    }
    let opts = BackupOptions {
        // Several parts, so "every object" means more than a manifest and a key.
        part_target_bytes: 8 * 1024,
        segment_size: 4096,
        ..BackupOptions::default()
    };
    client
        .backup(Arc::new(source), &opts, None, &CancellationToken::new())
        .await
        .unwrap()
        .backup_id
}

/// boto3's view of the backup's objects: `{key: legal hold status}` for each current
/// version, and, with `try_delete`, the error code S3 gave for deleting each held version.
fn boto3_legal_holds(bucket: &str, backup_id: &str, try_delete: bool) -> serde_json::Value {
    let script = r#"
import json, os, boto3, botocore
s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"], region_name=os.environ["REGION"],
                  aws_access_key_id="testing", aws_secret_access_key="testing")
bucket, prefix = os.environ["BUCKET"], os.environ["PREFIX"]
out = {"holds": {}, "deletes": {}}
for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
    for v in page.get("Versions", []):
        if not v["IsLatest"]:
            continue
        h = s3.get_object_legal_hold(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])
        out["holds"][v["Key"]] = h.get("LegalHold", {}).get("Status", "OFF")
        if os.environ["TRY_DELETE"] == "1":
            try:
                s3.delete_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])
                out["deletes"][v["Key"]] = "deleted"
            except botocore.exceptions.ClientError as e:
                out["deletes"][v["Key"]] = e.response["Error"]["Code"]
print(json.dumps(out))
"#;
    let endpoint = moto().endpoint();
    let prefix = format!("{PREFIX}/firekeep/v1/backups/{backup_id}/");
    let out = firekeep_emulators::run_python(
        script,
        &[
            ("ENDPOINT", endpoint.as_str()),
            ("REGION", REGION),
            ("BUCKET", bucket),
            ("PREFIX", prefix.as_str()),
            ("TRY_DELETE", if try_delete { "1" } else { "0" }),
        ],
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn holds(v: &serde_json::Value) -> BTreeMap<String, String> {
    serde_json::from_value(v["holds"].clone()).unwrap()
}

fn audit_text(audit: &AuditHandle) -> String {
    let AuditHandle::Memory(m) = audit else {
        panic!("memory audit sink expected")
    };
    format!("{:?}", m.events())
}

fn applied(h: &LegalHold) -> u64 {
    let o = h
        .object_lock
        .as_ref()
        .expect("place/release report object_lock");
    assert_eq!(o.status, ObjectLockStatus::Applied, "{o:?}");
    o.objects
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_sets_s3_legal_hold_on_every_object_and_release_clears_them() {
    let bucket = create_bucket(true);
    let (client, audit) = client(&bucket, None);
    let old = backup(&client).await;
    let new = backup(&client).await;

    let placed = client.hold(&old, "case 42").await.unwrap();
    let n = applied(&placed);
    // (a) boto3 sees ON on every object of the held backup (parts, manifest, key, record)...
    let seen = boto3_legal_holds(&bucket, &old, false);
    let held = holds(&seen);
    assert_eq!(held.len() as u64, n, "{seen}");
    assert!(n >= 5, "parts, manifest, key.json and hold.fkl: {seen}");
    assert!(held.keys().any(|k| k.ends_with("/hold.fkl")), "{seen}");
    assert!(held.keys().any(|k| k.ends_with("/manifest.fkm")), "{seen}");
    assert!(held.keys().any(|k| k.ends_with("/key.json")), "{seen}");
    assert!(held.values().all(|s| s == "ON"), "{seen}");
    // ... and firekeep reads the same back through the capability.
    let sink = client.repository().sink();
    let cap = sink.object_legal_hold().expect("S3 has the capability");
    assert_eq!(cap.mode(), ObjectHoldMode::Auto);
    let manifest = client.repository().object_path(&old, "manifest.fkm");
    assert_eq!(
        cap.legal_hold(&manifest).await.unwrap(),
        ObjectHoldAnswer::On
    );
    let audited = audit_text(&audit);
    assert!(
        audited.contains("object_lock_objects") && audited.contains("applied"),
        "{audited}"
    );

    // (d) placing again is idempotent: same hold, same objects, still ON.
    let again = client.hold(&old, "another reason").await.unwrap();
    assert_eq!(again.held_at, placed.held_at);
    assert_eq!(again.reason, "case 42");
    assert_eq!(applied(&again), n);

    // S3 itself refuses to delete a held version, whoever asks (boto3 with the version id).
    let tried = boto3_legal_holds(&bucket, &old, true);
    let deletes: BTreeMap<String, String> =
        serde_json::from_value(tried["deletes"].clone()).unwrap();
    assert_eq!(deletes.len() as u64, n, "{tried}");
    assert!(deletes.values().all(|c| c == "AccessDenied"), "{tried}");

    // Prune keeps the held backup.
    let keep_one = Retention {
        keep_last: 1,
        ..Retention::default()
    };
    let kept = client.prune(&keep_one, false).await.unwrap();
    assert!(kept.plan.remove.is_empty(), "{kept:?}");
    assert!(
        kept.plan
            .keep
            .iter()
            .any(|k| k.id == old && k.reasons.iter().any(|r| r == "legal-hold")),
        "{kept:?}"
    );

    // (b) release clears every hold (boto3 sees OFF), then prune removes the backup.
    let released = client.release_hold(&old).await.unwrap().expect("was held");
    assert_eq!(applied(&released), n);
    let seen = boto3_legal_holds(&bucket, &old, false);
    let after = holds(&seen);
    // hold.fkl is gone (a delete marker on top of its cleared version).
    assert_eq!(after.len() as u64, n - 1, "{seen}");
    assert!(after.values().all(|s| s == "OFF"), "{seen}");
    let pruned = client.prune(&keep_one, false).await.unwrap();
    let report = pruned.report.unwrap();
    assert_eq!(
        report
            .removed
            .iter()
            .map(|b| b.id.as_str())
            .collect::<Vec<_>>(),
        [old.as_str()]
    );
    assert!(holds(&boto3_legal_holds(&bucket, &old, false)).is_empty());
    // Released and pruned: releasing again says it was not held.
    assert!(client.release_hold(&new).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_without_object_lock_keeps_the_repository_hold_and_says_so() {
    let bucket = create_bucket(false);
    let (client, _) = client(&bucket, None);
    let id = backup(&client).await;
    // (c) auto: the repository hold is placed; the result says S3 could not hold the objects.
    let h = client.hold(&id, "").await.unwrap();
    let o = h.object_lock.clone().unwrap();
    assert_eq!(o.status, ObjectLockStatus::NotSupported, "{o:?}");
    assert_eq!(o.objects, 0);
    let why = o.detail.unwrap();
    assert!(
        why.contains("Object Lock") && why.contains(&bucket),
        "{why}"
    );
    let record = read_hold(client.repository(), client.keys().as_ref(), &id).await;
    assert_eq!(record.unwrap().unwrap().backup_id, id);

    // required: an error that says what to do, and the repository hold stays.
    let (strict, _) = client_with(&bucket, "required");
    let e = strict.hold(&id, "").await.unwrap_err();
    assert!(matches!(e, Error::InvalidConfig(_)), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("held in the repository only") && text.contains("object_legal_hold"),
        "{text}"
    );
    assert!(!text.contains(SECRET_ACCESS_KEY), "{text}");
    // Releasing works on such a bucket, whatever the mode.
    let r = strict.release_hold(&id).await.unwrap().unwrap();
    assert_eq!(
        r.object_lock.unwrap().status,
        ObjectLockStatus::NotSupported
    );

    // off: the S3 side is not touched at all.
    let (off, _) = client_with(&bucket, "off");
    let h = off.hold(&id, "").await.unwrap();
    assert_eq!(h.object_lock.unwrap().status, ObjectLockStatus::Disabled);
}

fn client_with(bucket: &str, mode: &str) -> (Client, AuditHandle) {
    client(bucket, Some(mode))
}
