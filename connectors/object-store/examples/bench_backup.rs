//! One backup of N synthetic documents from an in-memory source into S3 (any endpoint, e.g.
//! moto) or the local filesystem; prints one JSON line with documents, bytes, seconds and
//! RSS. Driven by scripts/bench-s3.sh, which runs it once per target in separate processes
//! so each peak RSS is its own.
//!
//! Usage: bench_backup <docs> s3 <endpoint> <bucket> | bench_backup <docs> local <dir>

use firekeep_core::engine::{self, BackupOptions, CancellationToken, Repository};
use firekeep_core::keys::RawKey;
use firekeep_core::model::{DatabaseId, Document, DocumentPath, Timestamp, Value};
use firekeep_core::source::memory::MemoryFirestore;
use firekeep_core::storage::StorageSink;
use firekeep_core::storage::conformance::{pattern, peak_rss_bytes, rss_bytes};
use firekeep_core::storage::local::LocalStorage;
use firekeep_object_store::{ObjectStoreOptions, ObjectStoreSink};
use std::collections::BTreeMap;
use std::sync::Arc;

fn doc(db: &DatabaseId, i: usize) -> Document {
    let bytes = pattern(i as u64, 96);
    let word = |k: usize| -> String {
        bytes[k * 8..k * 8 + 8]
            .iter()
            .map(|b| char::from(b'a' + b % 26))
            .collect()
    };
    let fields = BTreeMap::from([
        (
            "name".to_string(),
            Value::String(format!("{} {}", word(0), word(1))),
        ),
        (
            "email".to_string(),
            Value::String(format!("{}@{}.example", word(2), word(3))),
        ),
        (
            "age".to_string(),
            Value::Integer(18 + (bytes[40] % 60) as i64),
        ),
        (
            "score".to_string(),
            Value::Double(f64::from(bytes[41]) / 7.0),
        ),
        ("active".to_string(), Value::Boolean(bytes[42] % 2 == 0)),
        (
            "createdAt".to_string(),
            Value::Timestamp(Timestamp::new(1_700_000_000 + i as i64, 123_000).unwrap()),
        ),
        (
            "tags".to_string(),
            Value::Array(vec![Value::String(word(4)), Value::String(word(5))]),
        ),
        (
            "address".to_string(),
            Value::Map(BTreeMap::from([
                ("city".to_string(), Value::String(word(6))),
                (
                    "zip".to_string(),
                    Value::String(format!("{:05}", i % 100_000)),
                ),
            ])),
        ),
    ]);
    let p = DocumentPath::parse(&format!("users/u{i:08}")).unwrap();
    Document::new(db.document_name(&p), fields)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage =
        "usage: bench_backup <docs> s3 <endpoint> <bucket> | bench_backup <docs> local <dir>";
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).expect(usage);
    let target = args.get(2).expect(usage).clone();
    let sink: Arc<dyn StorageSink> = match target.as_str() {
        "s3" => {
            let o = ObjectStoreOptions {
                endpoint: Some(args.get(3).expect(usage).clone()),
                region: Some("us-east-1".into()),
                allow_http: true,
                access_key_id: Some("testing".into()),
                secret_access_key: Some("testing".into()),
                ..Default::default()
            };
            let bucket = args.get(4).expect(usage);
            Arc::new(ObjectStoreSink::from_url(&format!("s3://{bucket}/bench"), o).unwrap())
        }
        "local" => Arc::new(LocalStorage::new(args.get(3).expect(usage)).unwrap()),
        _ => panic!("{usage}"),
    };
    let db = DatabaseId::new("bench", "(default)").unwrap();
    let src = MemoryFirestore::new(db.clone());
    for i in 0..n {
        src.put(doc(&db, i)).unwrap();
    }
    let source_rss = rss_bytes().unwrap_or(0);
    // Peak from here on is the backup's own (Linux clear_refs 5 resets VmHWM).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let key = RawKey::from_bytes(&[1u8; 32]).unwrap();
    let repo = Repository::new(sink);
    let t = std::time::Instant::now();
    let report = engine::backup(
        Arc::new(src),
        &repo,
        &key,
        &BackupOptions::default(),
        None,
        &CancellationToken::new(),
    )
    .await
    .expect("backup");
    let secs = t.elapsed().as_secs_f64();
    let peak = peak_rss_bytes().unwrap_or(0);
    println!(
        "{{\"target\":\"{target}\",\"documents\":{},\"bytes\":{},\"stored_bytes\":{},\"parts\":{},\"seconds\":{secs:.3},\"mb_per_s\":{:.2},\"source_rss_mb\":{:.1},\"peak_rss_mb\":{:.1},\"backup_rss_growth_mb\":{:.1}}}",
        report.documents,
        report.bytes,
        report.stored_bytes,
        report.parts,
        report.bytes as f64 / 1e6 / secs,
        source_rss as f64 / 1048576.0,
        peak as f64 / 1048576.0,
        peak.saturating_sub(source_rss) as f64 / 1048576.0,
    );
}
