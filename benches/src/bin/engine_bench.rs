//! Backup / verify / restore throughput and peak memory of the engine.
//!
//! `engine_bench --docs N --dir DIR [--source generated|memory|wire] [--target counting|wire]
//! [--parallelism P] [--read-streams S]` (S defaults to P, or one per core)
//!
//! Backs up N documents of about 1 KiB into a `LocalStorage` at DIR, prints peak RSS
//! (VmHWM) right after the backup, then verifies and restores and prints one JSON line of
//! figures. The restore target counts and discards the documents' JSON lines
//! (`--target counting`, the engine alone) or encodes each one's protobuf `Write` with the
//! Firestore connector's encoder, counts and discards the bytes (`--target wire`: a restore
//! into Firestore without the network). `scripts/bench-backup.sh` runs it at
//! 100,000 and 1,000,000 documents and prints the ratios.
//!
//! `--source generated` (default) produces the documents on the fly, in name order, like an
//! in-memory source that holds nothing: peak RSS then measures the engine alone.
//! `--source memory` loads a `MemoryFirestore` first (its own footprint counts in RSS).
//! `--source wire` produces the same documents as protobuf `Document` messages, as the
//! gRPC connector receives them, and the backup writes their JSON with the connector's
//! protobuf-to-JSON path (`firekeep_firestore::wire`): what a backup of Firestore runs,
//! without the network. `--backup-only` stops after the backup, `--no-restore` after the
//! verify (so instruction counts of the three kinds of run give each operation's cost).
//! The source keeps 8,192 encoded document bodies and prefixes each
//! with its name, so it costs about what receiving a message costs.

use async_trait::async_trait;
use firekeep_core::Result;
use firekeep_core::engine::{self, BackupOptions, CancellationToken, Repository, RestoreOptions};
use firekeep_core::keys::RawKey;
use firekeep_core::model::{DatabaseId, Document, DocumentPath, Timestamp, Value};
use firekeep_core::source::memory::MemoryFirestore;
use firekeep_core::source::{
    ConflictMode, FirestoreSource, FirestoreTarget, JsonDocument, NameRange, Scope, SourceDocument,
    WireDocument, WriteOutcome, WriteResult,
};
use firekeep_core::storage::local::LocalStorage;
use futures::executor::block_on;
use futures::stream::{self, BoxStream, StreamExt};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

const COLLECTIONS: [&str; 4] = ["customers", "events", "orders", "products"];

/// A deterministic ~1 KiB document.
fn make_doc(db: &DatabaseId, collection: &str, i: u64) -> Document {
    let path = DocumentPath::parse(&format!("{collection}/{i:010}")).expect("valid path");
    let mut address = BTreeMap::new();
    address.insert(
        "street".to_string(),
        Value::String(format!("{} Long Street Name Avenue", i % 977)),
    );
    address.insert("city".to_string(), Value::String("Springfield".to_string()));
    address.insert(
        "zip".to_string(),
        Value::String(format!("{:05}", i % 99_991)),
    );
    let mut fields = BTreeMap::new();
    fields.insert("id".to_string(), Value::Integer(i as i64));
    fields.insert(
        "name".to_string(),
        Value::String(format!("Customer number {i} of the benchmark")),
    );
    fields.insert(
        "email".to_string(),
        Value::String(format!("user{i}@example.com")),
    );
    fields.insert("score".to_string(), Value::Double(i as f64 * 0.731));
    fields.insert("active".to_string(), Value::Boolean(i % 3 == 0));
    fields.insert(
        "created".to_string(),
        Value::Timestamp(
            Timestamp::new(1_700_000_000 + i as i64, (i % 1_000_000_000) as u32).expect("ts"),
        ),
    );
    fields.insert("address".to_string(), Value::Map(address));
    fields.insert(
        "tags".to_string(),
        Value::Array(
            (0..8)
                .map(|k| Value::String(format!("tag-{}", (i + k) % 50)))
                .collect(),
        ),
    );
    fields.insert(
        "notes".to_string(),
        // Varied text so zstd sees realistic (not trivially repetitive) content.
        Value::String(
            (0..4)
                .map(|k| {
                    format!(
                        "{:x}",
                        (i.wrapping_mul(2_654_435_761).wrapping_add(k * 40_503)) & 0xffff_ffff
                    )
                })
                .collect::<Vec<_>>()
                .join(" lorem ipsum dolor sit amet "),
        ),
    );
    fields.insert("ref".to_string(), Value::Reference(db.document_name(&path)));
    fields.insert(
        "payload".to_string(),
        Value::Bytes(
            (0..64)
                .map(|k| (i as u8).wrapping_mul(31).wrapping_add(k))
                .collect(),
        ),
    );
    Document {
        name: db.document_name(&path),
        fields,
        create_time: Some(Timestamp::new(1_700_000_000, 0).expect("ts")),
        update_time: Some(Timestamp::new(1_700_000_000 + i as i64, 0).expect("ts")),
    }
}

/// Generates `n` documents spread over [`COLLECTIONS`], in name order, holding nothing.
struct GeneratedSource {
    db: DatabaseId,
    per_collection: u64,
    /// With `--source wire`: protobuf bodies (everything but the name) of documents
    /// `0..WIRE_BODIES`; document `i` uses body `i % WIRE_BODIES`.
    wire_bodies: Option<Arc<Vec<Vec<u8>>>>,
}

const WIRE_BODIES: u64 = 8192;

/// Protobuf `Document` bodies without the name field, from [`make_doc`].
fn wire_bodies(db: &DatabaseId) -> Vec<Vec<u8>> {
    use prost::Message as _;
    (0..WIRE_BODIES)
        .map(|i| {
            let mut doc =
                firekeep_firestore::convert::document_to_proto(&make_doc(db, COLLECTIONS[0], i));
            doc.name.clear();
            doc.encode_to_vec()
        })
        .collect()
}

/// Document `name` with `body`, as one protobuf `Document` (the name is field 1).
fn wire_document(name: String, body: &[u8]) -> WireDocument {
    let mut wire = Vec::with_capacity(name.len() + body.len() + 4);
    wire.push(0x0a); // field 1, length-delimited
    let mut len = name.len() as u64;
    while len >= 0x80 {
        wire.push((len as u8) | 0x80);
        len >>= 7;
    }
    wire.push(len as u8);
    wire.extend_from_slice(name.as_bytes());
    wire.extend_from_slice(body);
    WireDocument {
        name,
        wire: bytes::Bytes::from(wire),
        encode: firekeep_firestore::wire::document_json,
    }
}

impl GeneratedSource {
    /// Indexes (collection * per_collection + i) of the documents in `range`.
    fn index_range(&self, range: &NameRange) -> std::ops::Range<u64> {
        let total = COLLECTIONS.len() as u64 * self.per_collection;
        let per = self.per_collection;
        let start = match &range.start {
            Bound::Unbounded => 0,
            Bound::Included(p) => {
                let (c, i) = self.index_of(p);
                c as u64 * per + i
            }
            Bound::Excluded(p) => {
                let (c, i) = self.index_of(p);
                c as u64 * per + i + 1
            }
        };
        let end = match &range.end {
            Bound::Unbounded => total,
            Bound::Included(p) => {
                let (c, i) = self.index_of(p);
                c as u64 * per + i + 1
            }
            Bound::Excluded(p) => {
                let (c, i) = self.index_of(p);
                c as u64 * per + i
            }
        };
        start..end
    }

    fn index_of(&self, p: &DocumentPath) -> (usize, u64) {
        let c = COLLECTIONS
            .iter()
            .position(|c| *c == p.root_collection())
            .unwrap_or(0);
        (c, p.document_id().parse().unwrap_or(0))
    }
}

#[async_trait]
impl FirestoreSource for GeneratedSource {
    fn database(&self) -> &DatabaseId {
        &self.db
    }
    async fn snapshot_time(&self) -> Result<Timestamp> {
        Ok(Timestamp::now())
    }
    async fn list_collection_ids(
        &self,
        _: Option<&DocumentPath>,
        _: Timestamp,
    ) -> Result<Vec<String>> {
        Ok(COLLECTIONS.iter().map(|c| c.to_string()).collect())
    }
    fn stream_documents(
        &self,
        scope: &Scope,
        range: NameRange,
        _: Timestamp,
    ) -> BoxStream<'static, Result<Document>> {
        let db = self.db.clone();
        let scope = scope.clone();
        let per = self.per_collection;
        stream::iter(self.index_range(&range))
            .filter_map(move |k| {
                let c = COLLECTIONS[(k / per) as usize];
                let doc = make_doc(&db, c, k % per);
                let keep = doc.path().map(|(_, p)| scope.contains(&p)).unwrap_or(false);
                futures::future::ready(keep.then_some(Ok(doc)))
            })
            .boxed()
    }
    fn stream_source_documents(
        &self,
        scope: &Scope,
        range: NameRange,
        read_time: Timestamp,
    ) -> BoxStream<'static, Result<SourceDocument>> {
        let Some(bodies) = self.wire_bodies.clone() else {
            return self
                .stream_documents(scope, range, read_time)
                .map(|d| d.map(SourceDocument::Decoded))
                .boxed();
        };
        let db = self.db.clone();
        let scope = scope.clone();
        let per = self.per_collection;
        stream::iter(self.index_range(&range))
            .filter_map(move |k| {
                let c = COLLECTIONS[(k / per) as usize];
                let path = DocumentPath::parse(&format!("{c}/{:010}", k % per)).expect("valid");
                let keep = scope.contains(&path);
                let body = &bodies[(k % WIRE_BODIES) as usize];
                futures::future::ready(keep.then(|| {
                    Ok(SourceDocument::Wire(wire_document(
                        db.document_name(&path),
                        body,
                    )))
                }))
            })
            .boxed()
    }
    async fn partition(&self, _: &Scope, _: Timestamp, max: usize) -> Result<Vec<NameRange>> {
        // Split at collection boundaries and within them, like PartitionQuery cursors.
        let total = COLLECTIONS.len() as u64 * self.per_collection;
        let n = (max as u64).clamp(1, total.max(1));
        let cut = |k: u64| {
            DocumentPath::parse(&format!(
                "{}/{:010}",
                COLLECTIONS[(k / self.per_collection) as usize],
                k % self.per_collection
            ))
            .expect("valid path")
        };
        let mut ranges = Vec::new();
        let mut start = Bound::Unbounded;
        for j in 1..n {
            let p = cut(total * j / n);
            ranges.push(NameRange {
                start,
                end: Bound::Excluded(p.clone()),
            });
            start = Bound::Included(p);
        }
        ranges.push(NameRange {
            start,
            end: Bound::Unbounded,
        });
        Ok(ranges)
    }
    async fn count_documents(&self, _: &Scope, _: Timestamp) -> Result<Option<u64>> {
        Ok(Some(COLLECTIONS.len() as u64 * self.per_collection))
    }
}

/// "Written" for every document named, counted in `count`.
fn written(count: &AtomicU64, names: impl ExactSizeIterator<Item = String>) -> Vec<WriteResult> {
    count.fetch_add(names.len() as u64, Ordering::Relaxed);
    names
        .map(|name| WriteResult {
            name,
            outcome: WriteOutcome::Written,
        })
        .collect()
}

/// A restore target that counts and discards (measures the engine's restore side).
struct CountingTarget {
    db: DatabaseId,
    written: AtomicU64,
}

#[async_trait]
impl FirestoreTarget for CountingTarget {
    fn database(&self) -> &DatabaseId {
        &self.db
    }
    async fn write_batch(&self, docs: Vec<Document>, _: ConflictMode) -> Result<Vec<WriteResult>> {
        Ok(written(&self.written, docs.into_iter().map(|d| d.name)))
    }
    /// The lines are counted and dropped, so the figure is the engine's side alone.
    async fn write_json_batch(
        &self,
        docs: Vec<JsonDocument>,
        _: ConflictMode,
    ) -> Result<Vec<WriteResult>> {
        Ok(written(
            &self.written,
            docs.into_iter().map(JsonDocument::into_name),
        ))
    }
}

/// A restore target that runs the Firestore connector's real encoding of each write
/// (`json_write::write_bytes`: the JSON line to the protobuf `Write`'s bytes), counts and
/// discards the bytes: what a restore into Firestore costs, without the network.
struct WireTarget {
    db: DatabaseId,
    written: AtomicU64,
    encoded_bytes: AtomicU64,
}

#[async_trait]
impl FirestoreTarget for WireTarget {
    fn database(&self) -> &DatabaseId {
        &self.db
    }
    async fn write_batch(
        &self,
        docs: Vec<Document>,
        mode: ConflictMode,
    ) -> Result<Vec<WriteResult>> {
        let lines = docs
            .into_iter()
            .map(|d| {
                let json = firekeep_core::model::json::encode_document(&d).into();
                JsonDocument::new(d.name, json)
            })
            .collect();
        self.write_json_batch(lines, mode).await
    }
    async fn write_json_batch(
        &self,
        docs: Vec<JsonDocument>,
        mode: ConflictMode,
    ) -> Result<Vec<WriteResult>> {
        // As the connector encodes a batch: on a blocking thread of the tokio runtime the
        // restore runs in (`main`).
        let (docs, writes) = firekeep_firestore::json_write::write_bytes_batch(docs, mode).await?;
        let mut bytes = 0u64;
        for w in writes {
            bytes += w.map_err(firekeep_core::Error::InvalidInput)?.len() as u64;
        }
        self.encoded_bytes.fetch_add(bytes, Ordering::Relaxed);
        Ok(written(
            &self.written,
            docs.into_iter().map(JsonDocument::into_name),
        ))
    }
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let docs: u64 = arg(&args, "--docs")
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = arg(&args, "--dir").unwrap_or_else(|| "target/engine-bench".into());
    let source_kind = arg(&args, "--source").unwrap_or_else(|| "generated".into());
    let parallelism: usize = arg(&args, "--parallelism")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    // `counting` (default): the restore target discards the lines (the engine alone);
    // `wire`: it encodes each write as the Firestore connector does.
    let target_kind = arg(&args, "--target").unwrap_or_else(|| "counting".into());
    // A generated source is CPU-bound, not network-bound: by default one partition per
    // worker, as before read streams were an option of their own.
    let read_streams: usize = arg(&args, "--read-streams")
        .and_then(|v| v.parse().ok())
        .unwrap_or(if parallelism == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            parallelism
        });
    let skip_restore = args.iter().any(|a| a == "--backup-only");
    // Backup and verify only: with `--backup-only` and a full run, instruction counts of the
    // three runs give each operation's own cost by difference.
    let skip_restore_only = args.iter().any(|a| a == "--no-restore");
    let _ = std::fs::remove_dir_all(&dir);

    let db = DatabaseId::new("bench", "(default)")?;
    let per = docs.div_ceil(COLLECTIONS.len() as u64);
    let source: Arc<dyn FirestoreSource> = if source_kind == "memory" {
        let m = MemoryFirestore::new(db.clone());
        for k in 0..per * COLLECTIONS.len() as u64 {
            m.put(make_doc(&db, COLLECTIONS[(k / per) as usize], k % per))?;
        }
        Arc::new(m)
    } else {
        Arc::new(GeneratedSource {
            db: db.clone(),
            per_collection: per,
            wire_bodies: (source_kind == "wire").then(|| Arc::new(wire_bodies(&db))),
        })
    };
    let rss_before = vm_hwm_kib();
    let sink = Arc::new(LocalStorage::new(&dir)?);
    let repo = Repository::new(sink);
    let key = RawKey::from_bytes(&[7u8; 32])?;
    let cancel = CancellationToken::new();
    let opts = BackupOptions {
        parallelism,
        read_streams,
        ..Default::default()
    };

    let t = Instant::now();
    let rep = block_on(engine::backup(source, &repo, &key, &opts, None, &cancel))?;
    let backup_s = t.elapsed().as_secs_f64();
    let rss_backup = vm_hwm_kib();

    let mut out = serde_json::json!({
        "documents": rep.documents,
        "source": source_kind,
        "json_bytes": rep.bytes,
        "stored_bytes": rep.stored_bytes,
        "parts": rep.parts,
        "avg_doc_bytes": rep.bytes as f64 / rep.documents.max(1) as f64,
        "backup_seconds": backup_s,
        "backup_docs_per_sec": rep.documents as f64 / backup_s,
        "backup_json_mb_per_sec": rep.bytes as f64 / 1e6 / backup_s,
        "backup_stored_mb_per_sec": rep.stored_bytes as f64 / 1e6 / backup_s,
        "peak_rss_before_backup_kib": rss_before,
        "peak_rss_after_backup_kib": rss_backup,
    });
    if !skip_restore {
        let t = Instant::now();
        let v = block_on(engine::verify(&repo, &key, &rep.backup_id, None, &cancel))?;
        let verify_s = t.elapsed().as_secs_f64();
        assert!(v.is_ok(), "verify found problems: {:?}", v.problems);
        out["verify_seconds"] = verify_s.into();
        out["verify_docs_per_sec"] = (v.documents as f64 / verify_s).into();
    }
    if !skip_restore && !skip_restore_only {
        let restored = DatabaseId::new("bench", "restored")?;
        let (target, wire): (Arc<dyn FirestoreTarget>, Option<Arc<WireTarget>>) =
            if target_kind == "wire" {
                let t = Arc::new(WireTarget {
                    db: restored,
                    written: AtomicU64::new(0),
                    encoded_bytes: AtomicU64::new(0),
                });
                (t.clone(), Some(t))
            } else {
                let t = Arc::new(CountingTarget {
                    db: restored,
                    written: AtomicU64::new(0),
                });
                (t, None)
            };
        // The connector runs in tokio: the wire target encodes on its blocking threads.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(|e| firekeep_core::Error::InvalidInput(e.to_string()))?;
        let t = Instant::now();
        let r = runtime.block_on(engine::restore(
            &repo,
            &key,
            &rep.backup_id,
            target,
            &RestoreOptions {
                verify_first: false,
                ..Default::default()
            },
            None,
            &cancel,
        ))?;
        let restore_s = t.elapsed().as_secs_f64();
        assert_eq!(r.written, rep.documents);
        out["restore_seconds"] = restore_s.into();
        out["restore_docs_per_sec"] = (r.written as f64 / restore_s).into();
        out["restore_target"] = target_kind.clone().into();
        if let Some(w) = wire {
            out["restore_write_bytes"] = w.encoded_bytes.load(Ordering::Relaxed).into();
        }
    }
    println!("{out}");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
