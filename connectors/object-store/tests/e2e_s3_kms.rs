//! End to end: the Firestore test server, read through the Firestore connector, backed up by
//! the engine into S3 (moto) with an AWS-KMS-wrapped data key; verified; restored into another
//! database; and the data key rotated from a passphrase to KMS and back.

mod common;

use common::{moto, s3_sink};
use firekeep_aws_kms::{AwsKmsKeyProvider, AwsKmsOptions};
use firekeep_core::engine::{self, BackupOptions, CancellationToken, Repository, RestoreOptions};
use firekeep_core::keys::KeyProvider;
use firekeep_core::keys::PassphraseKey;
use firekeep_core::model::DatabaseId;
use firekeep_core::storage::StorageSink;
use firekeep_firestore::{ConnectorConfig, FirestoreConnector};
use firekeep_firestore_server::{FirestoreServer, RunningServer, sample};
use firekeep_moto::{ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY};
use futures::TryStreamExt;
use std::sync::Arc;

fn db(name: &str) -> DatabaseId {
    DatabaseId::new("firekeep-e2e", name).unwrap()
}

async fn connect(server: &RunningServer, database: &DatabaseId) -> FirestoreConnector {
    FirestoreConnector::connect(ConnectorConfig::emulator(
        database.clone(),
        server.emulator_host(),
    ))
    .await
    .expect("connect to the Firestore test server")
}

async fn kms_provider() -> AwsKmsKeyProvider {
    let conf = aws_sdk_kms::Config::builder()
        .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
        .region(aws_sdk_kms::config::Region::new(REGION))
        .endpoint_url(moto().endpoint())
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
        endpoint: Some(moto().endpoint()),
        access_key_id: Some(ACCESS_KEY_ID.into()),
        secret_access_key: Some(SECRET_ACCESS_KEY.into()),
        ..Default::default()
    };
    AwsKmsKeyProvider::new(arn, opts).await.unwrap()
}

fn small_parts() -> BackupOptions {
    BackupOptions {
        part_target_bytes: 16 * 1024,
        segment_size: 4096,
        ..BackupOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firestore_to_s3_with_kms_verify_restore_and_rotate() {
    let cancel = CancellationToken::new();
    let server = FirestoreServer::builder().build().start().await.unwrap();
    let src_db = db("source");
    server.seed(sample::demo_database(&src_db, 400));
    let source = Arc::new(connect(&server, &src_db).await);
    let (sink, _bucket) = s3_sink("e2e");
    let sink: Arc<dyn StorageSink> = Arc::new(sink);
    let repo = Repository::new(sink.clone());
    let kms = kms_provider().await;

    // Backup with a KMS-generated data key.
    let report = engine::backup(source.clone(), &repo, &kms, &small_parts(), None, &cancel)
        .await
        .expect("backup into S3 with KMS");
    assert!(
        report.parts > 3,
        "expected several parts, got {}",
        report.parts
    );
    assert_eq!(report.key_id, kms.key_id());
    let expected = server.documents(&src_db, Some(report.read_time));
    assert_eq!(report.documents, expected.len() as u64);
    assert!(
        report.repository.starts_with("s3://"),
        "{}",
        report.repository
    );
    // Object names reveal nothing of the data.
    let names: Vec<String> = sink
        .list("")
        .map_ok(|m| m.path)
        .try_collect()
        .await
        .unwrap();
    assert!(names.len() > report.parts);
    for n in &names {
        assert!(!n.contains("users") && !n.contains("orders"), "{n}");
    }

    let v = engine::verify(&repo, &kms, &report.backup_id, None, &cancel)
        .await
        .unwrap();
    assert!(v.is_ok(), "{v:?}");
    assert_eq!(v.documents, report.documents);

    // Restore into another database and compare document by document.
    let dst_db = db("restored");
    let target = Arc::new(connect(&server, &dst_db).await);
    let r = engine::restore(
        &repo,
        &kms,
        &report.backup_id,
        target,
        &RestoreOptions::default(),
        None,
        &cancel,
    )
    .await
    .expect("restore");
    assert_eq!(r.written, report.documents, "{r:?}");
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    let restored = server.documents(&dst_db, None);
    let want: Vec<_> = expected
        .iter()
        .map(|d| d.rehome(&dst_db).unwrap())
        .collect();
    assert_eq!(restored.len(), want.len());
    for (got, want) in restored.iter().zip(&want) {
        assert_eq!(got.name, want.name);
        assert_eq!(got.fields, want.fields, "{}", got.name);
    }

    // A second backup under a passphrase; rotate everything to KMS, then back.
    let pass = PassphraseKey::with_iterations("correct horse battery staple", 100_000).unwrap();
    let second = engine::backup(source.clone(), &repo, &pass, &small_parts(), None, &cancel)
        .await
        .unwrap();
    let to_kms = engine::rotate_key(&repo, &pass, &kms, &cancel)
        .await
        .expect("passphrase -> KMS");
    assert_eq!(to_kms.rotated, vec![second.backup_id.clone()]);
    assert_eq!(to_kms.already_rotated, vec![report.backup_id.clone()]);
    for id in [&report.backup_id, &second.backup_id] {
        assert!(
            engine::verify(&repo, &kms, id, None, &cancel)
                .await
                .unwrap()
                .is_ok()
        );
        // The passphrase no longer opens it: a key mismatch, not garbage.
        let err = engine::verify(&repo, &pass, id, None, &cancel)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "ERR_KEY_MISMATCH", "{err}");
    }
    let back = engine::rotate_key(&repo, &kms, &pass, &cancel)
        .await
        .expect("KMS -> passphrase");
    assert_eq!(back.rotated.len(), 2);
    for id in [&report.backup_id, &second.backup_id] {
        assert!(
            engine::verify(&repo, &pass, id, None, &cancel)
                .await
                .unwrap()
                .is_ok()
        );
    }
    let listed = engine::list(&repo, &pass).await.unwrap();
    assert_eq!(listed.len(), 2);
    server.shutdown().await;
}
