//! Helpers shared by the engine tests: sample databases, keys, temp dirs and fault-injecting
//! wrappers around the real memory/local implementations.
#![allow(dead_code)]

use async_trait::async_trait;
use bytes::Bytes;
use firekeep_core::engine::{
    self, BackupOptions, BackupReport, CancellationToken, Repository, RestoreOptions, RestoreReport,
};
use firekeep_core::keys::KeyProvider;
use firekeep_core::keys::RawKey;
use firekeep_core::model::{DatabaseId, Document, DocumentPath, GeoPoint, Timestamp, Value};
use firekeep_core::source::memory::MemoryFirestore;
use firekeep_core::source::{FirestoreSource, FirestoreTarget, NameRange, Scope};
use firekeep_core::storage::memory::MemoryStorage;
use firekeep_core::storage::{MultipartUpload, ObjectMeta, StorageSink};
use firekeep_core::{Error, Result};
use futures::stream::{BoxStream, StreamExt};
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

pub fn source_db() -> DatabaseId {
    DatabaseId::new("source-project", "(default)").unwrap()
}

pub fn target_db() -> DatabaseId {
    DatabaseId::new("target-project", "restored").unwrap()
}

pub fn name(db: &DatabaseId, path: &str) -> String {
    db.document_name(&DocumentPath::parse(path).unwrap())
}

/// A map holding every Firestore value type, including the awkward ones.
pub fn every_value(db: &DatabaseId) -> BTreeMap<String, Value> {
    let mut nested = Value::Integer(7);
    for i in 0..19 {
        nested = if i % 2 == 0 {
            Value::Array(vec![nested])
        } else {
            Value::Map(BTreeMap::from([("k".to_string(), nested)]))
        };
    }
    BTreeMap::from([
        ("null".into(), Value::Null),
        ("t".into(), Value::Boolean(true)),
        ("f".into(), Value::Boolean(false)),
        ("imin".into(), Value::Integer(i64::MIN)),
        ("imax".into(), Value::Integer(i64::MAX)),
        ("nan".into(), Value::Double(f64::NAN)),
        ("inf".into(), Value::Double(f64::INFINITY)),
        ("ninf".into(), Value::Double(f64::NEG_INFINITY)),
        ("negzero".into(), Value::Double(-0.0)),
        ("subnormal".into(), Value::Double(f64::from_bits(1))),
        ("pi".into(), Value::Double(std::f64::consts::PI)),
        ("tsmin".into(), Value::Timestamp(Timestamp::MIN)),
        ("tsmax".into(), Value::Timestamp(Timestamp::MAX)),
        (
            "tsns".into(),
            Value::Timestamp(Timestamp::new(1, 1).unwrap()),
        ),
        ("str".into(), Value::String("nul\0 é 𝄞 \"q\" \\ \n".into())),
        ("bytes".into(), Value::Bytes((0..=255u8).collect())),
        ("ref".into(), Value::Reference(name(db, "users/alice"))),
        (
            "geo".into(),
            Value::GeoPoint(GeoPoint {
                latitude: -90.0,
                longitude: 179.999999,
            }),
        ),
        ("emptyarr".into(), Value::Array(vec![])),
        ("emptymap".into(), Value::Map(BTreeMap::new())),
        ("deep".into(), nested),
        ("𝄞 key\0".into(), Value::String(String::new())),
    ])
}

/// A database with several collections, subcollections and one document of every type.
pub fn sample_source(per_collection: usize) -> MemoryFirestore {
    let db = source_db();
    let m = MemoryFirestore::new(db.clone());
    m.put(Document::new(name(&db, "types/all"), every_value(&db)))
        .unwrap();
    for c in ["orders", "users", "zeta"] {
        for i in 0..per_collection {
            let fields = BTreeMap::from([
                ("i".to_string(), Value::Integer(i as i64)),
                (
                    "body".to_string(),
                    Value::String(format!("{c}-{i}-").repeat(20)),
                ),
            ]);
            m.put(Document::new(name(&db, &format!("{c}/d{i:05}")), fields))
                .unwrap();
        }
    }
    for i in 0..per_collection.min(20) {
        let fields = BTreeMap::from([("n".to_string(), Value::Integer(i as i64))]);
        m.put(Document::new(
            name(&db, &format!("users/d00001/posts/p{i}")),
            fields,
        ))
        .unwrap();
    }
    m
}

pub fn raw_key(seed: u8) -> RawKey {
    RawKey::from_bytes(&[seed; 32]).unwrap()
}

/// Options that make many small parts, so part boundaries are exercised.
pub fn small_parts() -> BackupOptions {
    BackupOptions {
        part_target_bytes: 8 * 1024,
        segment_size: 4096,
        parallelism: 2,
        ..Default::default()
    }
}

pub fn memory_repo() -> (MemoryStorage, Repository) {
    let s = MemoryStorage::new();
    (s.clone(), Repository::new(Arc::new(s)))
}

pub fn no_cancel() -> CancellationToken {
    CancellationToken::new()
}

/// Documents keyed by relative path, names stripped (for comparing across databases).
pub fn by_path(docs: Vec<Document>) -> BTreeMap<String, Document> {
    docs.into_iter()
        .map(|d| {
            let (_, p) = d.path().unwrap();
            (
                p.to_string(),
                Document {
                    name: String::new(),
                    ..d
                },
            )
        })
        .collect()
}

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let mut r = [0u8; 8];
        getrandom_fill(&mut r);
        let hex: String = r.iter().map(|b| format!("{b:02x}")).collect();
        let p = std::env::temp_dir().join(format!("firekeep-{tag}-{hex}"));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

fn getrandom_fill(buf: &mut [u8]) {
    // Tests only need uniqueness: time and a counter suffice.
    static N: AtomicUsize = AtomicUsize::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let n = N.fetch_add(1, Ordering::Relaxed) as u64 ^ (std::process::id() as u64) << 32;
    let v = (t ^ n.rotate_left(17)).to_le_bytes();
    buf.copy_from_slice(&v[..buf.len()]);
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a [`FaultySink`] does wrong.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// The Nth put/put_if_absent (1-based) fails with a storage error.
    FailNthWrite(usize),
    /// Every write after the Nth reports "no space left on device".
    DiskFullAfter(usize),
    /// Every delete after the Nth fails with a storage error (a crash while cleaning up).
    FailDeletesAfter(usize),
    /// Every get waits one turn of the executor (as a network read would), so that reads
    /// issued together overlap; `FaultySink::max_reads_in_flight` records how many did.
    SlowReads,
}

/// A future that is pending once, then ready (and wakes itself in between).
struct YieldOnce(bool);

impl std::future::Future for YieldOnce {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            return std::task::Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

/// Wraps a real sink and injects one fault.
#[derive(Debug)]
pub struct FaultySink {
    pub inner: Arc<dyn StorageSink>,
    pub fault: Fault,
    pub writes: AtomicUsize,
    pub deletes: AtomicUsize,
    pub reads_in_flight: AtomicUsize,
    pub max_reads_in_flight: AtomicUsize,
}

impl FaultySink {
    pub fn new(inner: Arc<dyn StorageSink>, fault: Fault) -> Self {
        FaultySink {
            inner,
            fault,
            writes: AtomicUsize::new(0),
            deletes: AtomicUsize::new(0),
            reads_in_flight: AtomicUsize::new(0),
            max_reads_in_flight: AtomicUsize::new(0),
        }
    }

    /// With [`Fault::SlowReads`], waits one executor turn, recording reads in flight.
    async fn slow_read(&self) {
        if let Fault::SlowReads = self.fault {
            let now = self.reads_in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_reads_in_flight.fetch_max(now, Ordering::SeqCst);
            YieldOnce(false).await;
            self.reads_in_flight.fetch_sub(1, Ordering::SeqCst);
        }
    }

    fn check_write(&self) -> Result<()> {
        let n = self.writes.fetch_add(1, Ordering::SeqCst) + 1;
        match self.fault {
            Fault::FailNthWrite(k) if n == k => {
                Err(Error::Storage(format!("injected failure of write {n}")))
            }
            Fault::DiskFullAfter(k) if n > k => Err(Error::Storage(
                "no space left on the device while writing: free some space".into(),
            )),
            _ => Ok(()),
        }
    }
}

#[async_trait]
impl StorageSink for FaultySink {
    async fn put(&self, path: &str, data: Bytes) -> Result<()> {
        self.check_write()?;
        self.inner.put(path, data).await
    }
    async fn put_if_absent(&self, path: &str, data: Bytes) -> Result<()> {
        self.check_write()?;
        self.inner.put_if_absent(path, data).await
    }
    async fn put_multipart(&self, path: &str) -> Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart(path).await
    }
    async fn get(&self, path: &str) -> Result<Bytes> {
        self.slow_read().await;
        self.inner.get(path).await
    }
    async fn get_range(&self, path: &str, range: Range<u64>) -> Result<Bytes> {
        self.inner.get_range(path, range).await
    }
    async fn get_bounded(&self, path: &str, max: u64) -> Result<Bytes> {
        self.slow_read().await;
        self.inner.get_bounded(path, max).await
    }
    async fn head(&self, path: &str) -> Result<ObjectMeta> {
        self.inner.head(path).await
    }
    fn list(&self, prefix: &str) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }
    async fn delete(&self, path: &str) -> Result<()> {
        let n = self.deletes.fetch_add(1, Ordering::SeqCst) + 1;
        if let Fault::FailDeletesAfter(k) = self.fault
            && n > k
        {
            return Err(Error::Storage(format!("injected failure of delete {n}")));
        }
        self.inner.delete(path).await
    }
    fn describe(&self) -> String {
        format!("faulty({})", self.inner.describe())
    }
}

/// A source whose document stream fails after `ok_docs` documents (a cut connection).
pub struct CuttingSource {
    pub inner: MemoryFirestore,
    pub ok_docs: usize,
}

#[async_trait]
impl FirestoreSource for CuttingSource {
    fn database(&self) -> &DatabaseId {
        FirestoreSource::database(&self.inner)
    }
    async fn snapshot_time(&self) -> Result<Timestamp> {
        self.inner.snapshot_time().await
    }
    async fn list_collection_ids(
        &self,
        parent: Option<&DocumentPath>,
        read_time: Timestamp,
    ) -> Result<Vec<String>> {
        self.inner.list_collection_ids(parent, read_time).await
    }
    fn stream_documents(
        &self,
        scope: &Scope,
        range: NameRange,
        read_time: Timestamp,
    ) -> BoxStream<'static, Result<Document>> {
        let ok = self.ok_docs;
        self.inner
            .stream_documents(scope, range, read_time)
            .enumerate()
            .map(move |(i, d)| {
                if i < ok {
                    d
                } else {
                    Err(Error::Firestore {
                        code: "UNAVAILABLE".into(),
                        message: "connection reset by peer (injected)".into(),
                    })
                }
            })
            .boxed()
    }
}

/// One small backup of `source` under each key in turn; their ids, oldest first. Ids sort
/// by their millisecond start time, so backups are started at least 2 ms apart.
pub fn backups_under(
    repo: &Repository,
    source: Arc<dyn FirestoreSource>,
    keys: &[&dyn KeyProvider],
) -> Vec<String> {
    keys.iter()
        .map(|key| {
            let id = run_backup(source.clone(), repo, *key, &small_parts())
                .unwrap()
                .backup_id;
            std::thread::sleep(std::time::Duration::from_millis(2));
            id
        })
        .collect()
}

/// A memory repository whose reads each wait one executor turn, to observe how many an
/// operation overlaps ([`FaultySink::max_reads_in_flight`], reset with [`reset_overlap`]).
pub fn slow_read_repo() -> (Arc<FaultySink>, Repository) {
    let (store, _) = memory_repo();
    let sink = Arc::new(FaultySink::new(Arc::new(store), Fault::SlowReads));
    (sink.clone(), Repository::new(sink))
}

/// Forgets the reads overlapped so far.
pub fn reset_overlap(sink: &FaultySink) {
    sink.max_reads_in_flight.store(0, Ordering::SeqCst);
}

/// Asserts that reads overlapped since [`reset_overlap`], at most `limit` at once.
pub fn assert_overlapped(sink: &FaultySink, limit: usize) {
    let overlap = sink.max_reads_in_flight.load(Ordering::SeqCst);
    assert!(
        overlap > 1,
        "reads never overlapped (max in flight {overlap})"
    );
    assert!(
        overlap <= limit,
        "{overlap} reads at once, more than {limit}"
    );
}

/// `engine::backup` of `source` with no progress callback and no cancellation: what most
/// tests do.
pub fn run_backup(
    source: Arc<dyn FirestoreSource>,
    repo: &Repository,
    keys: &dyn KeyProvider,
    opts: &BackupOptions,
) -> Result<BackupReport> {
    block_on(engine::backup(source, repo, keys, opts, None, &no_cancel()))
}

/// `engine::restore` of `backup_id` into `target` with no progress callback and no
/// cancellation.
pub fn run_restore(
    repo: &Repository,
    keys: &dyn KeyProvider,
    backup_id: &str,
    target: Arc<dyn FirestoreTarget>,
    opts: &RestoreOptions,
) -> Result<RestoreReport> {
    block_on(engine::restore(
        repo,
        keys,
        backup_id,
        target,
        opts,
        None,
        &no_cancel(),
    ))
}
