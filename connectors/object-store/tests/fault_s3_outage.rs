//! Fault: the S3 endpoint dies in the middle of a backup's uploads. A TCP proxy in front of
//! moto drops every connection once a set number of bytes has been sent and stops listening
//! (to the client that is the server crashing); moto's state survives behind it, so after
//! the endpoint comes back the half-written backup is still there to be pruned.
//! (Killing moto itself would lose its in-memory state, orphans included.)

mod common;

use common::{moto, moto_options, unique_bucket};
use firekeep_core::engine::{self, BackupOptions, CancellationToken, Repository, Retention};
use firekeep_core::keys::RawKey;
use firekeep_core::model::{DatabaseId, Document, DocumentPath, Timestamp, Value};
use firekeep_core::source::memory::MemoryFirestore;
use firekeep_core::storage::StorageSink;
use firekeep_moto::FaultProxy;
use firekeep_object_store::ObjectStoreSink;
use futures::TryStreamExt;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

fn source(n: usize) -> MemoryFirestore {
    let db = DatabaseId::new("firekeep-fault", "(default)").unwrap();
    let m = MemoryFirestore::new(db.clone());
    for i in 0..n {
        let p = DocumentPath::parse(&format!("items/i{i:05}")).unwrap();
        // Incompressible-ish text so parts have real size on the wire.
        let text: String = firekeep_core::storage::conformance::pattern(i as u64, 400)
            .into_iter()
            .map(|b| char::from(b'a' + b % 26))
            .collect();
        let fields = BTreeMap::from([
            ("n".to_string(), Value::Integer(i as i64)),
            ("text".to_string(), Value::String(text)),
        ]);
        m.put(Document::new(db.document_name(&p), fields)).unwrap();
    }
    m
}

async fn paths(sink: &dyn StorageSink) -> Vec<String> {
    sink.list("")
        .map_ok(|m| m.path)
        .try_collect()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_dying_mid_upload_leaves_no_manifest_and_prune_removes_the_orphans() {
    let bucket = unique_bucket("fault");
    moto().create_bucket(&bucket);
    let mut proxy = FaultProxy::start(moto().port());
    let mut o = moto_options(&proxy.endpoint());
    // Fail fast once the endpoint is gone (the default retries for minutes).
    o.max_retries = Some(2);
    o.retry_timeout = Some(Duration::from_secs(3));
    o.request_timeout = Some(Duration::from_secs(5));
    let sink: Arc<dyn StorageSink> =
        Arc::new(ObjectStoreSink::from_url(&format!("s3://{bucket}/fk"), o).unwrap());
    let repo = Repository::new(sink.clone());
    let key = RawKey::from_bytes(&[7u8; 32]).unwrap();
    let src = Arc::new(source(3000));
    let opts = BackupOptions {
        part_target_bytes: 32 * 1024,
        upload_concurrency: 2,
        ..BackupOptions::default()
    };
    let cancel = CancellationToken::new();

    // The endpoint dies after ~300 KB of uploads (the whole backup is over 1 MB).
    proxy.stop_after_bytes(300_000);
    let failed = engine::backup(src.clone(), &repo, &key, &opts, None, &cancel).await;
    assert!(
        !proxy.is_up(),
        "the proxy should have cut the uploads ({} bytes went through)",
        proxy.bytes_up()
    );
    let err = failed.expect_err("a backup whose storage died must fail");
    assert!(
        matches!(err.code(), "ERR_STORAGE" | "ERR_IO"),
        "clean storage error expected, got {err}"
    );

    // The endpoint comes back: no backup exists, but uploaded parts were left behind.
    proxy.resume();
    assert!(
        engine::list(&repo, &key).await.unwrap().is_empty(),
        "a failed backup must not be listed"
    );
    let left = paths(sink.as_ref()).await;
    assert!(
        !left.is_empty(),
        "the outage should have left orphaned parts"
    );
    assert!(
        left.iter().all(|p| !p.ends_with("manifest.fkm")),
        "{left:?}"
    );

    // The next backup succeeds and verifies.
    let ok = engine::backup(src.clone(), &repo, &key, &opts, None, &cancel)
        .await
        .expect("backup after the outage");
    assert!(
        engine::verify(&repo, &key, &ok.backup_id, None, &cancel)
            .await
            .unwrap()
            .is_ok()
    );
    let listed = engine::list(&repo, &key).await.unwrap();
    assert_eq!(listed.len(), 1);

    // prune removes the orphans of the failed backup and keeps the good one.
    let retention = Retention {
        keep_last: 5,
        orphan_grace: Duration::ZERO,
        ..Retention::default()
    };
    let plan = engine::plan_prune(
        &repo,
        &key,
        &retention,
        Timestamp::now().add_seconds(1).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(plan.orphans.len(), 1, "{plan:?}");
    assert!(plan.remove.is_empty(), "{plan:?}");
    let report = engine::apply_prune(&repo, &key, &plan).await.unwrap();
    assert_eq!(report.orphans.len(), 1);
    let after = paths(sink.as_ref()).await;
    assert!(!after.is_empty());
    assert!(
        after
            .iter()
            .all(|p| p.contains(&ok.backup_id) || p.contains("firekeep/v1/heads/")),
        "only the good backup's objects may remain: {after:?}"
    );
    assert!(
        engine::verify(&repo, &key, &ok.backup_id, None, &cancel)
            .await
            .unwrap()
            .is_ok()
    );
}
