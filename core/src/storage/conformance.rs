//! Shared conformance suite for `StorageSink` implementations.
//!
//! Every sink (memory, local filesystem, object_store on S3/moto, ...) must pass the same
//! checks. Each check works under its own prefix, so checks may run concurrently against one
//! sink, and panics with a message naming the sink and what differed. Runtime-agnostic: only
//! `futures` is used.
//!
//! ```text
//! let sink = MySink::new(...);
//! firekeep_core::storage::conformance::run_all(&sink, &Config::default()).await;
//! ```

use super::{ObjectMeta, StorageSink};
use crate::Error;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use std::collections::BTreeMap;

/// Sizes used by the suite.
#[derive(Clone, Debug)]
pub struct Config {
    /// Objects written for the list-paging check (S3 pages at 1000 keys: keep it above).
    pub many_objects: usize,
    /// Bytes written by the multipart check.
    pub multipart_bytes: usize,
    /// Concurrent `put_if_absent` calls in the race check.
    pub racers: usize,
    /// Root prefix of everything the suite writes.
    pub root: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            many_objects: 1100,
            multipart_bytes: 12 * 1024 * 1024 + 12_345,
            racers: 8,
            root: "conformance".into(),
        }
    }
}

/// Deterministic pseudo-random bytes (xorshift64*), distinct for each `seed`.
pub fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Peak resident set size of this process in bytes (Linux `VmHWM`), if known.
pub fn peak_rss_bytes() -> Option<u64> {
    proc_status_kib("VmHWM:").map(|k| k * 1024)
}

/// Current resident set size of this process in bytes (Linux `VmRSS`), if known.
pub fn rss_bytes() -> Option<u64> {
    proc_status_kib("VmRSS:").map(|k| k * 1024)
}

fn proc_status_kib(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

async fn list_map(sink: &dyn StorageSink, prefix: &str) -> BTreeMap<String, ObjectMeta> {
    let items: Vec<ObjectMeta> = sink
        .list(prefix)
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("{}: list({prefix:?}) failed: {e}", sink.describe()));
    let n = items.len();
    let map: BTreeMap<_, _> = items.into_iter().map(|m| (m.path.clone(), m)).collect();
    assert_eq!(
        map.len(),
        n,
        "{}: list({prefix:?}) returned duplicates",
        sink.describe()
    );
    map
}

fn expect_not_found<T: std::fmt::Debug>(sink: &dyn StorageSink, what: &str, r: crate::Result<T>) {
    match r {
        Err(Error::NotFound(_)) => {}
        other => panic!(
            "{}: {what} should be Error::NotFound, got {other:?}",
            sink.describe()
        ),
    }
}

/// Runs every check, one after the other.
pub async fn run_all(sink: &dyn StorageSink, cfg: &Config) {
    put_get_head(sink, cfg).await;
    ranges(sink, cfg).await;
    bounded(sink, cfg).await;
    not_found(sink, cfg).await;
    put_if_absent(sink, cfg).await;
    put_if_absent_race(sink, cfg).await;
    list_prefixes(sink, cfg).await;
    list_paging(sink, cfg).await;
    names(sink, cfg).await;
    delete_and_verify_absent(sink, cfg).await;
    multipart(sink, cfg).await;
    multipart_abort(sink, cfg).await;
}

/// put, get and head round-trip; overwrite replaces; empty objects work.
pub async fn put_get_head(sink: &dyn StorageSink, cfg: &Config) {
    let d = sink.describe();
    let p = format!("{}/basic/a/b/object.bin", cfg.root);
    let data = Bytes::from(pattern(1, 100_003));
    sink.put(&p, data.clone())
        .await
        .unwrap_or_else(|e| panic!("{d}: put {p}: {e}"));
    assert!(
        sink.get(&p).await.unwrap() == data,
        "{d}: get returned other bytes than put"
    );
    let meta = sink.head(&p).await.unwrap();
    assert_eq!(meta.size, data.len() as u64, "{d}: head size");
    assert_eq!(meta.path, p, "{d}: head path");
    let other = Bytes::from(pattern(2, 777));
    sink.put(&p, other.clone()).await.unwrap();
    assert!(
        sink.get(&p).await.unwrap() == other,
        "{d}: put did not replace the object"
    );
    assert_eq!(
        sink.head(&p).await.unwrap().size,
        777,
        "{d}: head after overwrite"
    );
    let empty = format!("{}/basic/empty", cfg.root);
    sink.put(&empty, Bytes::new()).await.unwrap();
    assert_eq!(
        sink.get(&empty).await.unwrap().len(),
        0,
        "{d}: empty object"
    );
    assert_eq!(
        sink.head(&empty).await.unwrap().size,
        0,
        "{d}: empty object size"
    );
}

/// Range reads return exactly the requested bytes.
pub async fn ranges(sink: &dyn StorageSink, cfg: &Config) {
    let d = sink.describe();
    let p = format!("{}/range/object", cfg.root);
    let data = pattern(3, 1_048_576 + 4321);
    sink.put(&p, Bytes::from(data.clone())).await.unwrap();
    let n = data.len() as u64;
    for r in [0..1, 0..n, 1234..5678, n - 1..n, 1_048_576..n, 17..17] {
        let got = sink
            .get_range(&p, r.clone())
            .await
            .unwrap_or_else(|e| panic!("{d}: get_range {r:?}: {e}"));
        assert!(
            got[..] == data[r.start as usize..r.end as usize],
            "{d}: get_range {r:?} returned {} wrong bytes",
            got.len()
        );
    }
    assert!(
        sink.get_range(&p, n + 10..n + 20).await.is_err(),
        "{d}: a range starting past the end must fail"
    );
    expect_not_found(
        sink,
        "get_range of a missing object",
        sink.get_range(&format!("{}/range/missing", cfg.root), 0..10)
            .await,
    );
}

/// `get_bounded` returns objects up to its bound whole (empty ones too) and refuses a larger
/// one with `Error::Integrity` naming its size; a missing object is `Error::NotFound`.
pub async fn bounded(sink: &dyn StorageSink, cfg: &Config) {
    let d = sink.describe();
    let p = format!("{}/bounded/object", cfg.root);
    let data = Bytes::from(pattern(4, 10_000));
    sink.put(&p, data.clone()).await.unwrap();
    for max in [10_000, 10_001, u64::MAX] {
        let got = sink
            .get_bounded(&p, max)
            .await
            .unwrap_or_else(|e| panic!("{d}: get_bounded(max {max}): {e}"));
        assert!(got == data, "{d}: get_bounded returned other bytes");
    }
    match sink.get_bounded(&p, 9_999).await {
        Err(crate::Error::Integrity { detail, .. }) => {
            assert!(detail.contains("10000"), "{d}: {detail}")
        }
        other => panic!("{d}: get_bounded of an oversized object: {other:?}"),
    }
    let empty = format!("{}/bounded/empty", cfg.root);
    sink.put(&empty, Bytes::new()).await.unwrap();
    assert!(sink.get_bounded(&empty, 0).await.unwrap().is_empty(), "{d}");
    expect_not_found(
        sink,
        "get_bounded of a missing object",
        sink.get_bounded(&format!("{}/bounded/missing", cfg.root), 10)
            .await,
    );
}

/// Missing objects are `Error::NotFound`; deleting one succeeds.
pub async fn not_found(sink: &dyn StorageSink, cfg: &Config) {
    let p = format!("{}/missing/nothing-here", cfg.root);
    expect_not_found(sink, "get of a missing object", sink.get(&p).await);
    expect_not_found(sink, "head of a missing object", sink.head(&p).await);
    sink.delete(&p).await.unwrap_or_else(|e| {
        panic!(
            "{}: deleting a missing object must succeed: {e}",
            sink.describe()
        )
    });
}

/// `put_if_absent` creates once, then reports `Error::AlreadyExists` and keeps the first.
pub async fn put_if_absent(sink: &dyn StorageSink, cfg: &Config) {
    let d = sink.describe();
    let p = format!("{}/pia/manifest.json", cfg.root);
    sink.put_if_absent(&p, Bytes::from_static(b"first"))
        .await
        .unwrap_or_else(|e| panic!("{d}: first put_if_absent: {e}"));
    match sink.put_if_absent(&p, Bytes::from_static(b"second")).await {
        Err(Error::AlreadyExists(_)) => {}
        other => panic!("{d}: second put_if_absent should be AlreadyExists, got {other:?}"),
    }
    assert_eq!(
        &sink.get(&p).await.unwrap()[..],
        b"first",
        "{d}: put_if_absent replaced the object"
    );
    // After a delete the path is free again.
    sink.delete(&p).await.unwrap();
    sink.put_if_absent(&p, Bytes::from_static(b"third"))
        .await
        .unwrap();
    assert_eq!(&sink.get(&p).await.unwrap()[..], b"third");
}

/// `cfg.racers` concurrent `put_if_absent` calls on one path: exactly one wins, and the
/// stored object is the winner's.
pub async fn put_if_absent_race(sink: &dyn StorageSink, cfg: &Config) {
    let d = sink.describe();
    for round in 0..3 {
        let p = format!("{}/race/{round}/manifest", cfg.root);
        let bodies: Vec<Bytes> = (0..cfg.racers)
            .map(|i| Bytes::from(format!("racer {i} {}", "x".repeat(i * 1000))))
            .collect();
        let results =
            futures::future::join_all(bodies.iter().map(|b| sink.put_if_absent(&p, b.clone())))
                .await;
        let winners: Vec<usize> = results
            .iter()
            .enumerate()
            .filter(|(_, r)| r.is_ok())
            .map(|(i, _)| i)
            .collect();
        assert_eq!(
            winners.len(),
            1,
            "{d}: round {round}: {} of {} racers won: {results:?}",
            winners.len(),
            cfg.racers
        );
        for (i, r) in results.iter().enumerate() {
            if i != winners[0] {
                assert!(
                    matches!(r, Err(Error::AlreadyExists(_))),
                    "{d}: loser {i} got {r:?}, not AlreadyExists"
                );
            }
        }
        assert!(
            sink.get(&p).await.unwrap() == bodies[winners[0]],
            "{d}: stored object is not the winner's"
        );
    }
}

/// `list` matches by string prefix and reports sizes.
pub async fn list_prefixes(sink: &dyn StorageSink, cfg: &Config) {
    let d = sink.describe();
    let r = format!("{}/list", cfg.root);
    let objs = [
        ("x/1", 1usize),
        ("x/2", 22),
        ("x/deep/er/3", 333),
        ("xz", 4),
        ("y/5", 5),
    ];
    for (p, n) in objs {
        sink.put(&format!("{r}/{p}"), Bytes::from(pattern(n as u64, n)))
            .await
            .unwrap();
    }
    let all = list_map(sink, &format!("{r}/")).await;
    assert_eq!(
        all.len(),
        objs.len(),
        "{d}: list of the whole prefix: {:?}",
        all.keys()
    );
    for (p, n) in objs {
        let m = all
            .get(&format!("{r}/{p}"))
            .unwrap_or_else(|| panic!("{d}: list lacks {r}/{p}"));
        assert_eq!(m.size, n as u64, "{d}: listed size of {p}");
    }
    let xs: Vec<String> = list_map(sink, &format!("{r}/x/"))
        .await
        .into_keys()
        .collect();
    assert_eq!(
        xs,
        [
            format!("{r}/x/1"),
            format!("{r}/x/2"),
            format!("{r}/x/deep/er/3")
        ],
        "{d}"
    );
    let x_any = list_map(sink, &format!("{r}/x")).await;
    assert_eq!(
        x_any.len(),
        4,
        "{d}: list is by string prefix: {:?}",
        x_any.keys()
    );
    assert!(
        list_map(sink, &format!("{r}/nothing/")).await.is_empty(),
        "{d}: empty prefix listed objects"
    );
    assert!(
        list_map(sink, &format!("{r}/nothing")).await.is_empty(),
        "{d}"
    );
}

/// More objects than one list page (S3: 1000) are all listed, once each.
pub async fn list_paging(sink: &dyn StorageSink, cfg: &Config) {
    let d = sink.describe();
    let r = format!("{}/paging", cfg.root);
    futures::stream::iter(0..cfg.many_objects)
        .map(|i| {
            let p = format!("{r}/{i:05}");
            async move { sink.put(&p, Bytes::from(i.to_string())).await }
        })
        .buffer_unordered(32)
        .try_collect::<Vec<_>>()
        .await
        .unwrap_or_else(|e| panic!("{d}: writing {} objects: {e}", cfg.many_objects));
    let listed = list_map(sink, &format!("{r}/")).await;
    assert_eq!(listed.len(), cfg.many_objects, "{d}: paged list count");
    for i in [0, cfg.many_objects / 2, cfg.many_objects - 1] {
        assert!(
            listed.contains_key(&format!("{r}/{i:05}")),
            "{d}: list lacks object {i}"
        );
    }
}

/// Unicode, spaces, `+`, `=` and percent signs survive put/get/head/list/delete unchanged.
pub async fn names(sink: &dyn StorageSink, cfg: &Config) {
    let d = sink.describe();
    let r = format!("{}/names", cfg.root);
    let names = [
        "ünïcödé/日本語/😀.bin",
        "pct/a%20b%2Fc%25",
        "spaces/a b  c",
        "plus/a+b=c,d;e",
        "mixed/Ω%41/ü%FF",
    ];
    for (i, n) in names.iter().enumerate() {
        let p = format!("{r}/{n}");
        let body = Bytes::from(pattern(100 + i as u64, 10 + i));
        sink.put(&p, body.clone())
            .await
            .unwrap_or_else(|e| panic!("{d}: put {p:?}: {e}"));
        assert!(sink.get(&p).await.unwrap() == body, "{d}: get {p:?}");
        assert_eq!(
            sink.head(&p).await.unwrap().size,
            body.len() as u64,
            "{d}: head {p:?}"
        );
    }
    let listed: Vec<String> = list_map(sink, &format!("{r}/")).await.into_keys().collect();
    let mut want: Vec<String> = names.iter().map(|n| format!("{r}/{n}")).collect();
    want.sort();
    assert_eq!(
        listed, want,
        "{d}: listed names differ from the names written"
    );
    // A percent-encoded name and its decoded form are different objects.
    expect_not_found(
        sink,
        "the decoded form of a %-name",
        sink.get(&format!("{r}/pct/a b/c%")).await,
    );
    for n in names {
        sink.delete(&format!("{r}/{n}")).await.unwrap();
    }
    assert!(
        list_map(sink, &format!("{r}/")).await.is_empty(),
        "{d}: names left after delete"
    );
}

/// Deleting removes the object from get, head and list, and verify-absent holds.
pub async fn delete_and_verify_absent(sink: &dyn StorageSink, cfg: &Config) {
    let d = sink.describe();
    let r = format!("{}/delete", cfg.root);
    let paths: Vec<String> = (0..5).map(|i| format!("{r}/part-{i}")).collect();
    for p in &paths {
        sink.put(p, Bytes::from_static(b"data")).await.unwrap();
    }
    assert_eq!(list_map(sink, &format!("{r}/")).await.len(), 5, "{d}");
    for p in &paths {
        sink.delete(p)
            .await
            .unwrap_or_else(|e| panic!("{d}: delete {p}: {e}"));
    }
    for p in &paths {
        expect_not_found(sink, "get after delete", sink.get(p).await);
        expect_not_found(sink, "head after delete", sink.head(p).await);
    }
    assert!(
        list_map(sink, &format!("{r}/")).await.is_empty(),
        "{d}: deleted objects still listed"
    );
    sink.delete(&paths[0])
        .await
        .unwrap_or_else(|e| panic!("{d}: second delete: {e}"));
}

/// A streaming upload in uneven chunks: invisible until complete, then byte-identical.
pub async fn multipart(sink: &dyn StorageSink, cfg: &Config) {
    let d = sink.describe();
    let p = format!("{}/multipart/big.bin", cfg.root);
    let data = Bytes::from(pattern(7, cfg.multipart_bytes));
    let mut up = sink
        .put_multipart(&p)
        .await
        .unwrap_or_else(|e| panic!("{d}: put_multipart: {e}"));
    let mut off = 0usize;
    let mut step = 1usize;
    while off < data.len() {
        // Chunk sizes from 1 byte to a few MiB, so parts never line up with writes.
        let n = step.min(data.len() - off);
        up.write(data.slice(off..off + n))
            .await
            .unwrap_or_else(|e| panic!("{d}: write: {e}"));
        off += n;
        step = (step * 7 + 13) % (3 * 1024 * 1024) + 1;
    }
    expect_not_found(sink, "an upload before complete", sink.head(&p).await);
    let size = up
        .complete()
        .await
        .unwrap_or_else(|e| panic!("{d}: complete: {e}"));
    assert_eq!(size, data.len() as u64, "{d}: complete() size");
    assert_eq!(
        sink.head(&p).await.unwrap().size,
        data.len() as u64,
        "{d}: head size"
    );
    assert!(
        sink.get(&p).await.unwrap() == data,
        "{d}: multipart object differs from what was written"
    );
    let mid = data.len() as u64 / 2;
    assert!(
        sink.get_range(&p, mid..mid + 100).await.unwrap()[..]
            == data[mid as usize..mid as usize + 100],
        "{d}"
    );
    // An empty streaming upload makes an empty object.
    let e = format!("{}/multipart/empty.bin", cfg.root);
    let up = sink.put_multipart(&e).await.unwrap();
    assert_eq!(up.complete().await.unwrap(), 0, "{d}: empty upload size");
    assert_eq!(
        sink.get(&e).await.unwrap().len(),
        0,
        "{d}: empty upload content"
    );
}

/// An aborted streaming upload leaves no object.
pub async fn multipart_abort(sink: &dyn StorageSink, cfg: &Config) {
    let d = sink.describe();
    let p = format!("{}/multipart-abort/gone.bin", cfg.root);
    let mut up = sink.put_multipart(&p).await.unwrap();
    up.write(Bytes::from(pattern(9, 6 * 1024 * 1024)))
        .await
        .unwrap();
    up.abort()
        .await
        .unwrap_or_else(|e| panic!("{d}: abort: {e}"));
    expect_not_found(sink, "an aborted upload", sink.head(&p).await);
    assert!(
        list_map(sink, &format!("{}/multipart-abort/", cfg.root))
            .await
            .is_empty(),
        "{d}: aborted upload listed"
    );
}

/// Streams `total` bytes (fresh buffers of `chunk` bytes, so nothing can be shared) through
/// `put_multipart` and returns how much the process's peak RSS grew. Meaningful only when
/// nothing else runs in the process: give it its own test binary. Checks the object's size.
pub async fn multipart_peak_rss_growth(
    sink: &dyn StorageSink,
    path: &str,
    total: usize,
    chunk: usize,
) -> u64 {
    let d = sink.describe();
    // Reset the peak to the current RSS (Linux `clear_refs` 5), so earlier peaks of this
    // process do not hide this upload's.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let before = if reset { rss_bytes() } else { peak_rss_bytes() }
        .expect("RSS is read from /proc/self/status (Linux)");
    let mut up = sink
        .put_multipart(path)
        .await
        .unwrap_or_else(|e| panic!("{d}: put_multipart: {e}"));
    let mut sent = 0usize;
    let mut seed = 0u64;
    while sent < total {
        let n = chunk.min(total - sent);
        seed += 1;
        up.write(Bytes::from(pattern(seed, n)))
            .await
            .unwrap_or_else(|e| panic!("{d}: write at {sent}: {e}"));
        sent += n;
    }
    let size = up
        .complete()
        .await
        .unwrap_or_else(|e| panic!("{d}: complete: {e}"));
    assert_eq!(size, total as u64, "{d}: uploaded size");
    assert_eq!(
        sink.head(path).await.unwrap().size,
        total as u64,
        "{d}: stored size"
    );
    peak_rss_bytes().unwrap().saturating_sub(before)
}
