//! Key rotation between providers with `engine::rotate_key`: passphrase → Cloud KMS (the test
//! server) → AWS KMS (moto) → raw key, each step verified and the previous key refused, then
//! a restore with the last key; and a Cloud KMS rotation that stops at a disabled key version
//! leaves every backup readable with the old key.

use firekeep_aws_kms::{AwsKmsKeyProvider, AwsKmsOptions};
use firekeep_core::engine::{self, BackupOptions, CancellationToken, Repository, RestoreOptions};
use firekeep_core::keys::{KeyProvider, PassphraseKey, RawKey};
use firekeep_core::model::{DatabaseId, Document, DocumentPath, Value};
use firekeep_core::source::memory::MemoryFirestore;
use firekeep_core::storage::memory::MemoryStorage;
use firekeep_gcp_kms::{GcpKmsKeyProvider, GcpKmsOptions};
use firekeep_gcp_kms_server::{KmsServer, VersionState};
use firekeep_moto::{ACCESS_KEY_ID, MotoServer, REGION, SECRET_ACCESS_KEY};
use std::collections::BTreeMap;
use std::sync::Arc;

const GCP_KEY: &str = "projects/acme/locations/europe-west1/keyRings/backups/cryptoKeys/firekeep";

fn source() -> MemoryFirestore {
    let db = DatabaseId::new("source-project", "(default)").unwrap();
    let m = MemoryFirestore::new(db.clone());
    for i in 0..50 {
        let fields = BTreeMap::from([
            ("i".to_string(), Value::Integer(i)),
            (
                "body".to_string(),
                Value::String(format!("doc {i} ").repeat(40)),
            ),
        ]);
        let name = db.document_name(&DocumentPath::parse(&format!("orders/d{i:03}")).unwrap());
        m.put(Document::new(name, fields)).unwrap();
    }
    m
}

fn small_parts() -> BackupOptions {
    BackupOptions {
        part_target_bytes: 8 * 1024,
        segment_size: 4096,
        ..Default::default()
    }
}

async fn aws_kms(moto: &MotoServer) -> AwsKmsKeyProvider {
    let conf = aws_sdk_kms::Config::builder()
        .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
        .region(aws_sdk_kms::config::Region::new(REGION))
        .endpoint_url(moto.endpoint())
        .credentials_provider(aws_sdk_kms::config::Credentials::new(
            ACCESS_KEY_ID,
            SECRET_ACCESS_KEY,
            None,
            None,
            "test",
        ))
        .build();
    let key = aws_sdk_kms::Client::from_conf(conf)
        .create_key()
        .send()
        .await
        .unwrap();
    let arn = key.key_metadata().unwrap().arn().unwrap().to_string();
    let opts = AwsKmsOptions {
        region: Some(REGION.into()),
        endpoint: Some(moto.endpoint()),
        access_key_id: Some(ACCESS_KEY_ID.into()),
        secret_access_key: Some(SECRET_ACCESS_KEY.into()),
        ..Default::default()
    };
    AwsKmsKeyProvider::new(arn, opts).await.unwrap()
}

/// Verifies every backup with `good`, and checks `old` no longer opens them (a key mismatch,
/// named, not garbage).
async fn check_moved(
    repo: &Repository,
    ids: &[String],
    good: &dyn KeyProvider,
    old: &dyn KeyProvider,
) {
    let cancel = CancellationToken::new();
    for id in ids {
        let v = engine::verify(repo, good, id, None, &cancel).await.unwrap();
        assert!(v.is_ok(), "{id} under {}: {v:?}", good.key_id());
        let err = engine::verify(repo, old, id, None, &cancel)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "ERR_KEY_MISMATCH", "{err}");
        assert!(err.to_string().contains(good.key_id()), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passphrase_to_cloud_kms_to_aws_kms_to_raw() {
    let cancel = CancellationToken::new();
    let gcp_server = KmsServer::builder().build().start().await.unwrap();
    gcp_server.create_key(GCP_KEY);
    let moto = MotoServer::start();

    let src = Arc::new(source());
    let repo = Repository::new(Arc::new(MemoryStorage::new()));
    let pass = PassphraseKey::with_iterations("correct horse battery staple", 100_000).unwrap();
    let gcp = GcpKmsKeyProvider::new(
        GCP_KEY,
        GcpKmsOptions {
            endpoint: Some(gcp_server.endpoint()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let aws = aws_kms(&moto).await;
    let raw = RawKey::from_bytes(&[7u8; 32]).unwrap();

    let mut ids = Vec::new();
    for _ in 0..2 {
        let r = engine::backup(src.clone(), &repo, &pass, &small_parts(), None, &cancel)
            .await
            .unwrap();
        ids.push(r.backup_id);
    }
    // A backup made directly under Cloud KMS joins them before the first rotation: rotate
    // skips it as already rotated.
    let direct = engine::backup(src.clone(), &repo, &gcp, &small_parts(), None, &cancel)
        .await
        .unwrap();

    let r = engine::rotate_key(&repo, &pass, &gcp, &cancel)
        .await
        .unwrap();
    assert_eq!(r.rotated.len(), 2, "{r:?}");
    assert_eq!(r.already_rotated, vec![direct.backup_id.clone()]);
    ids.push(direct.backup_id);
    check_moved(&repo, &ids, &gcp, &pass).await;
    let decrypts_before = gcp_server.calls("Decrypt");

    let r = engine::rotate_key(&repo, &gcp, &aws, &cancel)
        .await
        .unwrap();
    assert_eq!(r.rotated.len(), 3, "{r:?}");
    assert!(gcp_server.calls("Decrypt") >= decrypts_before + 3);
    check_moved(&repo, &ids, &aws, &gcp).await;

    let r = engine::rotate_key(&repo, &aws, &raw, &cancel)
        .await
        .unwrap();
    assert_eq!(r.rotated.len(), 3, "{r:?}");
    check_moved(&repo, &ids, &raw, &aws).await;

    // And back into Cloud KMS, then a restore with it gives the source's documents.
    let r = engine::rotate_key(&repo, &raw, &gcp, &cancel)
        .await
        .unwrap();
    assert_eq!(r.rotated.len(), 3, "{r:?}");
    let target_db = DatabaseId::new("target-project", "restored").unwrap();
    let target = Arc::new(MemoryFirestore::new(target_db));
    let report = engine::restore(
        &repo,
        &gcp,
        &ids[0],
        target.clone(),
        &RestoreOptions::default(),
        None,
        &cancel,
    )
    .await
    .unwrap();
    assert_eq!(report.written, 50);
    let got: Vec<_> = target
        .documents(None)
        .into_iter()
        .map(|d| d.fields)
        .collect();
    let want: Vec<_> = src.documents(None).into_iter().map(|d| d.fields).collect();
    assert_eq!(got, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_into_a_disabled_cloud_kms_key_fails_and_changes_nothing() {
    let cancel = CancellationToken::new();
    let gcp_server = KmsServer::builder().build().start().await.unwrap();
    let v1 = gcp_server.create_key(GCP_KEY);
    let src = Arc::new(source());
    let repo = Repository::new(Arc::new(MemoryStorage::new()));
    let raw = RawKey::from_bytes(&[9u8; 32]).unwrap();
    let id = engine::backup(src, &repo, &raw, &small_parts(), None, &cancel)
        .await
        .unwrap()
        .backup_id;
    let gcp = GcpKmsKeyProvider::new(
        GCP_KEY,
        GcpKmsOptions {
            endpoint: Some(gcp_server.endpoint()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    gcp_server.set_state(&v1, VersionState::Disabled);
    let err = engine::rotate_key(&repo, &raw, &gcp, &cancel)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("DISABLED"), "{err}");
    // The backup is still under the raw key.
    assert!(
        engine::verify(&repo, &raw, &id, None, &cancel)
            .await
            .unwrap()
            .is_ok()
    );
}
