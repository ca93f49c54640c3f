//! firekeep's Azure and GCS sinks against third-party emulators, each prepared and checked
//! with the vendor's own Python client (`testing/emulators`):
//! - Azure Blob on Azurite (Microsoft's emulator): the whole shared StorageSink conformance
//!   suite (put-if-absent races included) and backup → verify → restore → prune end to end.
//! - GCS on fake-gcs-server: it serves object_store's XML-API reads, lists and deletes but
//!   not its XML-API uploads ("invalid uploadType"; real GCS serves both), so a backup
//!   written elsewhere is uploaded with Google's client and then listed, verified, restored
//!   and pruned through firekeep's `gs://` sink; uploads are covered by docs/storage.md.

use firekeep_core::engine::{
    self, BackupOptions, CancellationToken, Repository, RestoreOptions, Retention,
};
use firekeep_core::keys::RawKey;
use firekeep_core::model::{DatabaseId, Timestamp};
use firekeep_core::storage::StorageSink;
use firekeep_core::storage::conformance::{self as suite, Config};
use firekeep_core::storage::local::LocalStorage;
use firekeep_emulators::{AZURITE_ACCOUNT, AZURITE_KEY, Azurite, FakeGcs};
use firekeep_firestore::{ConnectorConfig, FirestoreConnector};
use firekeep_firestore_server::{FirestoreServer, RunningServer, sample};
use firekeep_object_store::{ObjectStoreOptions, ObjectStoreSink};
use futures::TryStreamExt;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

fn cfg() -> Config {
    Config::default()
}

fn unique(tag: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let tag: String = tag
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(20)
        .collect::<String>()
        .to_ascii_lowercase();
    format!(
        "fk-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

fn azurite() -> &'static Azurite {
    static A: OnceLock<Azurite> = OnceLock::new();
    A.get_or_init(Azurite::start)
}

fn fake_gcs() -> &'static FakeGcs {
    static G: OnceLock<FakeGcs> = OnceLock::new();
    G.get_or_init(FakeGcs::start)
}

/// Options for Azurite as a user would give them for any Azure-compatible endpoint.
fn azure_options() -> ObjectStoreOptions {
    let mut o = ObjectStoreOptions::default();
    o.set("endpoint", &azurite().endpoint()).unwrap();
    o.set("allow_http", "true").unwrap();
    o.set("azure_storage_account_name", AZURITE_ACCOUNT)
        .unwrap();
    o.set("azure_storage_account_key", AZURITE_KEY).unwrap();
    o.set("max_retries", "2").unwrap();
    o
}

fn azure_sink(tag: &str) -> (ObjectStoreSink, String) {
    let container = unique(tag);
    azurite().create_container(&container);
    let sink =
        ObjectStoreSink::from_url(&format!("az://{container}/backups/team"), azure_options())
            .expect("Azure sink on Azurite");
    (sink, container)
}

fn gcs_options() -> ObjectStoreOptions {
    let dir = std::env::temp_dir();
    let sa = fake_gcs().service_account_file(&dir);
    let mut o = ObjectStoreOptions::default();
    o.set("google_service_account", sa.to_str().unwrap())
        .unwrap();
    o.set("allow_http", "true").unwrap();
    o.set("max_retries", "2").unwrap();
    o
}

/// A `gs://` sink on a new fake-gcs-server bucket holding the files under `seed` (uploaded
/// with Google's client under the sink's prefix).
fn gcs_sink(tag: &str, seed: &std::path::Path) -> (ObjectStoreSink, String) {
    let bucket = unique(tag);
    fake_gcs().create_bucket(&bucket);
    fake_gcs().upload_dir(&bucket, "backups/team", seed);
    let sink = ObjectStoreSink::from_url(&format!("gs://{bucket}/backups/team"), gcs_options())
        .expect("GCS sink on fake-gcs-server");
    (sink, bucket)
}

macro_rules! checks {
    ($module:ident, $make:ident, $($name:ident),* $(,)?) => {
        mod $module {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (sink, _bucket) = $make(stringify!($name));
                    suite::$name(&sink, &cfg()).await;
                }
            )*
        }
    };
}

checks!(
    azure,
    azure_sink,
    put_get_head,
    ranges,
    not_found,
    put_if_absent,
    put_if_absent_race,
    list_prefixes,
    list_paging,
    names,
    delete_and_verify_absent,
    multipart,
    multipart_abort,
);

/// What firekeep wrote is what Microsoft's client reads back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_client_reads_what_the_sink_wrote() {
    let data = bytes::Bytes::from((0..300_000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>());
    let sha = sha256_hex(&data);
    let (az, container) = azure_sink("vendorread");
    az.put("a/b.bin", data.clone()).await.unwrap();
    let listed = azurite().list_blobs(&container);
    assert_eq!(
        listed,
        vec![("backups/team/a/b.bin".to_string(), data.len() as u64, sha)]
    );
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    use std::fmt::Write;
    let digest = sha2::Sha256::digest(data);
    digest.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[test]
fn describe_names_no_secret() {
    let (az, _) = azure_sink("describe");
    assert!(az.describe().starts_with("az://"), "{}", az.describe());
    assert!(!format!("{az:?}").contains(AZURITE_KEY));
}

fn db(name: &str) -> DatabaseId {
    DatabaseId::new("firekeep-emulators", name).unwrap()
}

async fn connect(server: &RunningServer, database: &DatabaseId) -> FirestoreConnector {
    FirestoreConnector::connect(ConnectorConfig::emulator(
        database.clone(),
        server.emulator_host(),
    ))
    .await
    .expect("connect to the Firestore test server")
}

fn small_parts() -> BackupOptions {
    BackupOptions {
        part_target_bytes: 16 * 1024,
        segment_size: 4096,
        ..BackupOptions::default()
    }
}

fn key() -> RawKey {
    RawKey::from_bytes(&[7u8; 32]).unwrap()
}

/// Restores `id` from `repo` into a new database and checks it document by document
/// against the source at the backup's read time.
async fn restore_and_compare(
    server: &RunningServer,
    repo: &Repository,
    id: &str,
    src: &DatabaseId,
    read_time: Timestamp,
    into: &str,
) {
    let cancel = CancellationToken::new();
    let dst = db(into);
    let target = Arc::new(connect(server, &dst).await);
    let r = engine::restore(
        repo,
        &key(),
        id,
        target,
        &RestoreOptions::default(),
        None,
        &cancel,
    )
    .await
    .expect("restore");
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    let want: Vec<_> = server
        .documents(src, Some(read_time))
        .iter()
        .map(|d| d.rehome(&dst).unwrap())
        .collect();
    let got = server.documents(&dst, None);
    assert_eq!(r.written, want.len() as u64);
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g.name, w.name);
        assert_eq!(g.fields, w.fields, "{}", g.name);
    }
}

fn keep_last(n: usize) -> Retention {
    Retention {
        keep_last: n,
        ..Retention::default()
    }
}

/// Backup → verify → restore → prune with every object in Azurite; Microsoft's client sees
/// exactly the objects firekeep lists, and none after the prune.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_backup_verify_restore_prune() {
    let cancel = CancellationToken::new();
    let server = FirestoreServer::builder().build().start().await.unwrap();
    let src = db("azure-source");
    server.seed(sample::demo_database(&src, 300));
    let source = Arc::new(connect(&server, &src).await);
    let (sink, container) = azure_sink("e2e");
    let sink: Arc<dyn StorageSink> = Arc::new(sink);
    let repo = Repository::new(sink.clone());

    let first = engine::backup(source.clone(), &repo, &key(), &small_parts(), None, &cancel)
        .await
        .expect("backup into Azurite");
    assert!(first.parts > 3, "{first:?}");
    let v = engine::verify(&repo, &key(), &first.backup_id, None, &cancel)
        .await
        .unwrap();
    assert!(v.is_ok(), "{v:?}");
    restore_and_compare(
        &server,
        &repo,
        &first.backup_id,
        &src,
        first.read_time,
        "azure-restored",
    )
    .await;

    // Microsoft's client lists the same objects, byte for byte in size.
    let ours: Vec<(String, u64)> = {
        let mut v: Vec<_> = sink
            .list("")
            .map_ok(|m| (format!("backups/team/{}", m.path), m.size))
            .try_collect()
            .await
            .unwrap();
        v.sort();
        v
    };
    let theirs: Vec<(String, u64)> = azurite()
        .list_blobs(&container)
        .into_iter()
        .map(|(n, s, _)| (n, s))
        .collect();
    assert_eq!(ours, theirs);

    // A second backup, then keep only it: the first one's objects are gone from Azure.
    let second = engine::backup(source, &repo, &key(), &small_parts(), None, &cancel)
        .await
        .unwrap();
    let plan = engine::plan_prune(&repo, &key(), &keep_last(1), Timestamp::now())
        .await
        .unwrap();
    let report = engine::apply_prune(&repo, &key(), &plan).await.unwrap();
    assert_eq!(report.removed.len(), 1, "{report:?}");
    assert_eq!(report.removed[0].id, first.backup_id);
    let left: Vec<_> = azurite()
        .list_blobs(&container)
        .into_iter()
        .filter(|(n, _, _)| n.contains("/backups/"))
        .collect();
    assert!(!left.is_empty());
    assert!(
        left.iter().all(|(n, _, _)| n.contains(&second.backup_id)),
        "{left:?}"
    );
    server.shutdown().await;
}

/// Backups written to a local folder, uploaded into fake-gcs-server with Google's client,
/// then listed, verified and restored through firekeep's `gs://` sink; a prune that cannot
/// write (the emulator refuses uploads) deletes nothing; a swapped object is caught by verify.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gcs_list_verify_restore_and_failed_prune_loses_nothing() {
    let cancel = CancellationToken::new();
    let server = FirestoreServer::builder().build().start().await.unwrap();
    let src = db("gcs-source");
    server.seed(sample::demo_database(&src, 300));
    let source = Arc::new(connect(&server, &src).await);
    let dir = tempfile::tempdir().unwrap();
    let local = Repository::new(Arc::new(LocalStorage::new(dir.path()).unwrap()));
    let first = engine::backup(
        source.clone(),
        &local,
        &key(),
        &small_parts(),
        None,
        &cancel,
    )
    .await
    .unwrap();
    let second = engine::backup(source, &local, &key(), &small_parts(), None, &cancel)
        .await
        .unwrap();

    let (sink, bucket) = gcs_sink("e2e", dir.path());
    let sink: Arc<dyn StorageSink> = Arc::new(sink);
    let repo = Repository::new(sink.clone());
    let listed = engine::list(&repo, &key()).await.unwrap();
    let ids: Vec<&str> = listed.backups.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(
        ids,
        vec![second.backup_id.as_str(), first.backup_id.as_str()]
    );
    for id in [&first.backup_id, &second.backup_id] {
        let v = engine::verify(&repo, &key(), id, None, &cancel)
            .await
            .unwrap();
        assert!(v.is_ok(), "{v:?}");
    }
    restore_and_compare(
        &server,
        &repo,
        &first.backup_id,
        &src,
        first.read_time,
        "gcs-restored",
    )
    .await;

    // Prune records the repository's newest backups (a head record) before it deletes
    // anything; fake-gcs-server refuses that upload, so the prune fails, and nothing is lost.
    let before = fake_gcs().list_objects(&bucket);
    let plan = engine::plan_prune(&repo, &key(), &keep_last(1), Timestamp::now())
        .await
        .unwrap();
    assert_eq!(plan.remove, vec![first.backup_id.clone()]);
    let err = engine::apply_prune(&repo, &key(), &plan).await.unwrap_err();
    assert_eq!(err.code(), "ERR_STORAGE", "{err}");
    assert_eq!(fake_gcs().list_objects(&bucket), before);
    let left: Vec<_> = before
        .into_iter()
        .filter(|(n, _, _)| n.contains(&second.backup_id))
        .collect();

    // Someone with write access to the bucket swaps a part for another of the same size.
    let (part, size, _) = left
        .iter()
        .find(|(n, _, _)| n.contains("/parts/"))
        .expect("a part object")
        .clone();
    let swap = tempfile::tempdir().unwrap();
    let rel = part.strip_prefix("backups/team/").unwrap();
    let file = swap.path().join(rel);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, vec![0x5a; size as usize]).unwrap();
    fake_gcs().upload_dir(&bucket, "backups/team", swap.path());
    let v = engine::verify(&repo, &key(), &second.backup_id, None, &cancel)
        .await
        .unwrap();
    assert!(!v.is_ok(), "verify missed a swapped part: {v:?}");
    server.shutdown().await;
}
