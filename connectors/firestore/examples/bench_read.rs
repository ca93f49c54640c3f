//! Read benchmark driver for `scripts/bench-firestore-read.sh`.
//!
//! ```text
//! bench_read serve N[,N...] [FAULTS] seeds database bench-N with N ~1 KiB documents per N,
//!                                    prints "listening on HOST:PORT", serves until stdin closes
//!                                    FAULTS: --latency-ms MS (every call), --rate-limit R
//!                                    (documents/s per RunQuery stream), --cursor-cost-ns NS
//!                                    (per document a start_at cursor skips)
//! bench_read read HOST DATABASE      reads DATABASE through the connector and prints one
//!                                    JSON line: docs, secs, docs_per_sec, peak_rss_kib
//! bench_read read-paged HOST DATABASE PAGE
//!                                    reads DATABASE the way the connector used to: RunQuery
//!                                    pages of PAGE documents, each resumed by a start_at
//!                                    cursor after the last name (the regression to measure)
//! ```
//! The server and the readers run in separate processes so each reader's peak RSS is its own.

use firekeep_core::model::{DatabaseId, Document, DocumentPath, Timestamp, Value};
use firekeep_core::source::{FirestoreSource, NameRange, Scope};
use firekeep_firestore::{ConnectorConfig, FirestoreConnector};
use firekeep_firestore_server::FirestoreServer;
use futures::StreamExt;
use std::collections::BTreeMap;
use std::io::Read;
use std::time::{Duration, Instant};

const PROJECT: &str = "firekeep-bench";

/// A document of about 1 KiB: a few typed fields and an 880-byte string.
fn bench_doc(db: &DatabaseId, i: usize) -> Document {
    let path = DocumentPath::parse(&format!("bench/d{i:08}")).expect("valid path");
    let filler: String = (0..880)
        .map(|k| char::from(b'a' + ((i * 7 + k * 13) % 26) as u8))
        .collect();
    let fields = BTreeMap::from([
        ("i".to_string(), Value::Integer(i as i64)),
        ("x".to_string(), Value::Double(i as f64 / 3.0)),
        ("flag".to_string(), Value::Boolean(i % 2 == 0)),
        (
            "at".to_string(),
            Value::Timestamp(Timestamp::new(1_700_000_000 + i as i64, 123_456_000).expect("valid")),
        ),
        (
            "tags".to_string(),
            Value::Array(vec![
                Value::String("alpha".into()),
                Value::String("beta".into()),
            ]),
        ),
        ("body".to_string(), Value::String(filler)),
    ]);
    Document::new(db.document_name(&path), fields)
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

async fn serve(sizes: &str, faults: &[&str]) {
    let server = FirestoreServer::builder()
        .build()
        .start()
        .await
        .expect("start server");
    for pair in faults.chunks(2) {
        let [flag, value] = pair else {
            panic!("{} needs a value", pair[0]);
        };
        let v: u64 = value.parse().expect("fault values are numbers");
        match *flag {
            "--latency-ms" => server.faults().latency(Duration::from_millis(v)),
            "--rate-limit" => server.faults().rate_limit(Some(v)),
            "--cursor-cost-ns" => server.faults().cursor_cost(Duration::from_nanos(v)),
            other => panic!("unknown fault flag {other}"),
        }
    }
    for n in sizes.split(',') {
        let n: usize = n.parse().expect("sizes are numbers");
        let db = DatabaseId::new(PROJECT, format!("bench-{n}")).expect("valid id");
        // Seed in chunks to keep the seeding process's own peak low.
        for start in (0..n).step_by(10_000) {
            server.seed((start..(start + 10_000).min(n)).map(|i| bench_doc(&db, i)));
        }
    }
    println!("listening on {}", server.emulator_host());
    // Serve until the driving script closes our stdin.
    tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await
    .expect("stdin watcher");
    server.shutdown().await;
}

async fn read(host: &str, database: &str) {
    let db = DatabaseId::new(PROJECT, database).expect("valid id");
    let c = FirestoreConnector::connect(ConnectorConfig::emulator(db, host))
        .await
        .expect("connect");
    let rt = c.snapshot_time().await.expect("snapshot time");
    let started = Instant::now();
    let mut docs = 0u64;
    let mut bytes = 0usize;
    // What a backup reads: documents kept as protobuf (the backup's workers write their
    // JSON), so this measures the server and the transport, not decoding.
    let mut stream = c.stream_source_documents(&Scope::database(), NameRange::all(), rt);
    while let Some(d) = stream.next().await {
        let d = d.expect("read");
        docs += 1;
        bytes += d.name().len();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{{\"reader\":\"connector\",\"docs\":{docs},\"secs\":{secs:.3},\"docs_per_sec\":{:.0},\"peak_rss_kib\":{},\"name_bytes\":{bytes}}}",
        docs as f64 / secs,
        peak_rss_kib()
    );
}

/// Pages of `page` documents, each a RunQuery with `limit` and a `start_at` cursor just after
/// the previous page's last name: what the connector did before it streamed whole queries.
async fn read_paged(host: &str, database: &str, page: i32) {
    use firekeep_firestore::proto::{self, run_query_request::QueryType, structured_query as sq};
    let db = DatabaseId::new(PROJECT, database).expect("valid id");
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{host}"))
        .expect("endpoint")
        .connect()
        .await
        .expect("connect");
    let mut client = proto::firestore_client::FirestoreClient::new(channel)
        .max_decoding_message_size(64 * 1024 * 1024);
    let started = Instant::now();
    let (mut docs, mut pages) = (0u64, 0u64);
    let mut last: Option<String> = None;
    loop {
        let query = proto::StructuredQuery {
            from: vec![sq::CollectionSelector {
                collection_id: String::new(),
                all_descendants: true,
            }],
            order_by: vec![sq::Order {
                field: Some(sq::FieldReference {
                    field_path: "__name__".into(),
                }),
                direction: sq::Direction::Ascending as i32,
            }],
            start_at: last.clone().map(|name| proto::Cursor {
                values: vec![proto::Value {
                    value_type: Some(proto::value::ValueType::ReferenceValue(name)),
                }],
                before: false,
            }),
            limit: Some(page),
            ..Default::default()
        };
        let req = proto::RunQueryRequest {
            parent: db.documents_root(),
            query_type: Some(QueryType::StructuredQuery(query)),
            ..Default::default()
        };
        let mut stream = client.run_query(req).await.expect("RunQuery").into_inner();
        let mut n = 0;
        while let Some(resp) = stream.message().await.expect("RunQuery stream") {
            if let Some(d) = resp.document {
                last = Some(d.name);
                n += 1;
            }
        }
        docs += n;
        pages += 1;
        if n < page as u64 {
            break;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{{\"reader\":\"paged\",\"docs\":{docs},\"pages\":{pages},\"secs\":{secs:.3},\"docs_per_sec\":{:.0},\"peak_rss_kib\":{}}}",
        docs as f64 / secs,
        peak_rss_kib()
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["serve", sizes, faults @ ..] => serve(sizes, faults).await,
        ["read", host, database] => read(host, database).await,
        ["read-paged", host, database, page] => {
            read_paged(host, database, page.parse().expect("PAGE is a number")).await
        }
        _ => {
            eprintln!(
                "usage: bench_read serve N[,N...] [--latency-ms MS] [--rate-limit R] \
                 [--cursor-cost-ns NS] | bench_read read HOST DATABASE \
                 | bench_read read-paged HOST DATABASE PAGE"
            );
            std::process::exit(2);
        }
    }
}
