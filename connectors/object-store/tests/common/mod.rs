//! Shared setup of the object-store tests: one moto server per test binary, a fresh bucket
//! per test.
#![allow(dead_code)]

use firekeep_moto::{ACCESS_KEY_ID, MotoServer, REGION, SECRET_ACCESS_KEY};
use firekeep_object_store::{ObjectStoreOptions, ObjectStoreSink};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The binary's moto server (stopped by its watchdog when the test process exits).
pub fn moto() -> &'static MotoServer {
    static MOTO: OnceLock<MotoServer> = OnceLock::new();
    MOTO.get_or_init(MotoServer::start)
}

/// A bucket name unique within this test process.
pub fn unique_bucket(tag: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "fk-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// Options pointing at moto with test credentials.
pub fn moto_options(endpoint: &str) -> ObjectStoreOptions {
    ObjectStoreOptions {
        endpoint: Some(endpoint.to_string()),
        region: Some(REGION.to_string()),
        allow_http: true,
        access_key_id: Some(ACCESS_KEY_ID.to_string()),
        secret_access_key: Some(SECRET_ACCESS_KEY.into()),
        part_size: Some(5 * 1024 * 1024),
        max_retries: Some(2),
        ..Default::default()
    }
}

/// A sink on a fresh moto bucket, under a prefix.
pub fn s3_sink(tag: &str) -> (ObjectStoreSink, String) {
    let bucket = unique_bucket(tag);
    moto().create_bucket(&bucket);
    let sink = ObjectStoreSink::from_url(
        &format!("s3://{bucket}/backups/team"),
        moto_options(&moto().endpoint()),
    )
    .expect("S3 sink on moto");
    (sink, bucket)
}
