//! The shared StorageSink conformance suite against S3 (moto), object_store's local
//! filesystem backend and its in-memory backend.

mod common;

use common::{moto, moto_options, s3_sink};
use firekeep_core::storage::StorageSink;
use firekeep_core::storage::conformance::{self as suite, Config};
use firekeep_object_store::{ObjectStoreOptions, ObjectStoreSink};

fn cfg() -> Config {
    Config::default()
}

macro_rules! s3_checks {
    ($($name:ident),* $(,)?) => {
        mod s3 {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (sink, _bucket) = s3_sink(stringify!($name).split('_').next().unwrap());
                    suite::$name(&sink, &cfg()).await;
                }
            )*
        }
    };
}

s3_checks!(
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_filesystem_backend_passes_the_suite() {
    let dir = std::env::temp_dir().join(format!("fk-os-local-{}", std::process::id()));
    let url = url_for(&dir);
    let sink = ObjectStoreSink::from_url(&url, ObjectStoreOptions::default()).unwrap();
    assert!(
        sink.describe().starts_with("file://"),
        "{}",
        sink.describe()
    );
    suite::run_all(&sink, &cfg()).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

fn url_for(dir: &std::path::Path) -> String {
    format!("file://{}", dir.display())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_memory_backend_passes_the_suite() {
    let sink = ObjectStoreSink::from_url("memory:///root", ObjectStoreOptions::default()).unwrap();
    suite::run_all(&sink, &cfg()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_names_bucket_prefix_and_endpoint_but_no_secret() {
    let (sink, bucket) = s3_sink("describe");
    let d = sink.describe();
    assert!(d.starts_with(&format!("s3://{bucket}/backups/team")), "{d}");
    assert!(d.contains(&moto().endpoint()), "{d}");
    let dbg = format!("{sink:?}");
    assert!(!dbg.contains(firekeep_moto::SECRET_ACCESS_KEY), "{dbg}");
    // A distinctive secret never shows in Debug of the options or in errors.
    let mut o = moto_options(&moto().endpoint());
    o.secret_access_key = Some("sUpEr-SeCrEt-KeY-123".into());
    assert!(!format!("{o:?}").contains("sUpEr-SeCrEt"));
    let s = ObjectStoreSink::from_url("s3://no-such-bucket-xyz/p", o).unwrap();
    let err = s.get("x").await.unwrap_err();
    assert!(!err.to_string().contains("sUpEr-SeCrEt"), "{err}");
    assert!(!format!("{s:?}").contains("sUpEr-SeCrEt"));
}
