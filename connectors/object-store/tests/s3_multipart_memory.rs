//! A 100 MiB streaming upload to S3 (moto) keeps this process's memory bounded by the part
//! size and concurrency, not the object size. Alone in its binary, so RSS is its own.

mod common;

use common::{moto, moto_options, unique_bucket};
use firekeep_core::storage::conformance::multipart_peak_rss_growth;
use firekeep_object_store::ObjectStoreSink;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_mib_multipart_upload_has_bounded_memory() {
    let bucket = unique_bucket("rss");
    moto().create_bucket(&bucket);
    let mut o = moto_options(&moto().endpoint());
    let part = 5 * 1024 * 1024;
    o.part_size = Some(part);
    o.max_concurrent_parts = Some(2);
    let sink = ObjectStoreSink::from_url(&format!("s3://{bucket}/rss"), o).unwrap();
    let total = 100 * 1024 * 1024;
    let t = std::time::Instant::now();
    let growth = multipart_peak_rss_growth(&sink, "big.bin", total, 1 << 20).await;
    let secs = t.elapsed().as_secs_f64();
    // Buffered: one part filling plus two in flight (15 MiB), plus the HTTP client's and
    // signer's copies; a whole-object buffer would be 100 MiB.
    let bound = 48 * 1024 * 1024;
    println!(
        "100 MiB multipart to moto: peak RSS growth {} MiB ({:.2} of the object), {:.1} MB/s",
        growth >> 20,
        growth as f64 / total as f64,
        total as f64 / 1e6 / secs
    );
    assert!(
        growth < bound,
        "peak RSS grew by {} MiB streaming 100 MiB with 5 MiB parts x 2",
        growth >> 20
    );
}
