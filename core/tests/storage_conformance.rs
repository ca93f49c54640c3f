//! The shared StorageSink conformance suite (core::storage::conformance) against the core's
//! own sinks. The object-store crate runs the same suite against S3-on-moto.

use firekeep_core::storage::StorageSink;
use firekeep_core::storage::conformance::{self as suite, Config};
use firekeep_core::storage::local::LocalStorage;
use firekeep_core::storage::memory::MemoryStorage;
use futures::executor::block_on;

/// Tests here run one at a time, so the RSS check measures only its own upload.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("fk-conf-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn memory_storage_passes_the_suite() {
    let _serial = serial();
    let sink = MemoryStorage::new();
    block_on(suite::run_all(&sink, &Config::default()));
}

#[test]
fn local_storage_passes_the_suite() {
    let _serial = serial();
    let dir = temp_dir("local");
    let sink = LocalStorage::new(&dir).unwrap();
    // Listing has no pages on a filesystem; a few hundred objects (each fsynced) suffice.
    let cfg = Config {
        many_objects: 300,
        ..Config::default()
    };
    block_on(suite::run_all(&sink, &cfg));
    assert!(sink.describe().contains(&dir.display().to_string()));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn local_storage_multipart_memory_does_not_grow_with_the_object() {
    let _serial = serial();
    let dir = temp_dir("local-rss");
    let sink = LocalStorage::new(&dir).unwrap();
    let total = 64 * 1024 * 1024;
    let growth = block_on(suite::multipart_peak_rss_growth(
        &sink,
        "big/object",
        total,
        1 << 20,
    ));
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        growth < 40 * 1024 * 1024,
        "streaming 64 MiB into LocalStorage grew peak RSS by {} MiB",
        growth >> 20
    );
}

/// A temp file a crashed writer left behind stays hidden while it could still be a write
/// in progress, and is listed (so prune deletes it) once it is an hour old.
#[test]
fn local_storage_lists_stale_temp_files_only() {
    let _serial = serial();
    let dir = temp_dir("stale-temp");
    let sink = LocalStorage::new(&dir).unwrap();
    block_on(sink.put("b/parts/1", bytes::Bytes::from_static(b"x"))).unwrap();
    let fresh = dir.join("b/parts/.fk-tmp-fresh");
    let stale = dir.join("b/parts/.fk-tmp-stale");
    std::fs::write(&fresh, b"partial").unwrap();
    std::fs::write(&stale, b"partial").unwrap();
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();
    let listed = |sink: &LocalStorage| {
        let mut names: Vec<String> =
            block_on(futures::StreamExt::collect::<Vec<_>>(sink.list("b/")))
                .into_iter()
                .map(|m| m.unwrap().path)
                .collect();
        names.sort();
        names
    };
    assert_eq!(listed(&sink), vec!["b/parts/.fk-tmp-stale", "b/parts/1"]);
    block_on(sink.delete("b/parts/.fk-tmp-stale")).unwrap();
    block_on(sink.delete("b/parts/1")).unwrap();
    assert!(!stale.exists());
    assert!(
        fresh.exists(),
        "a fresh temp file may be a write in progress"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
