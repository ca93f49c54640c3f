//! Seeds N documents of about 1 KiB and reads them all back through a raw tonic client in
//! pages of 1,000 (all-descendants RunQuery, `__name__` order, `start_at` cursors), printing
//! documents/s and the process's RSS after seeding and at its peak.
//!
//! `cargo run --release -p firekeep-firestore-server --example scan -- 200000`

use firekeep_core::model::{DatabaseId, Document, DocumentPath, Value};
use firekeep_firestore_server::FirestoreServer;
use googleapis_tonic_google_firestore_v1::google::firestore::v1 as pb;
use pb::firestore_client::FirestoreClient;
use pb::structured_query::{CollectionSelector, Direction, FieldReference, Order};
use std::collections::BTreeMap;
use std::time::Instant;

fn rss_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let db = DatabaseId::default_database("bench").unwrap();
    let server = FirestoreServer::builder().build().start().await.unwrap();
    server.seed((0..n).map(|i| {
        let path = DocumentPath::parse(&format!("c{}/d{i:07}", i % 4)).unwrap();
        let fields = BTreeMap::from([
            ("i".to_string(), Value::Integer(i as i64)),
            ("payload".to_string(), Value::String("x".repeat(1000))),
        ]);
        Document::new(db.document_name(&path), fields)
    }));
    let seeded = rss_kib("VmRSS:");
    let channel = tonic::transport::Channel::from_shared(server.endpoint())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = FirestoreClient::new(channel).max_decoding_message_size(64 << 20);
    let started = Instant::now();
    let mut read = 0usize;
    let mut last: Option<String> = None;
    loop {
        let q = pb::StructuredQuery {
            from: vec![CollectionSelector {
                collection_id: String::new(),
                all_descendants: true,
            }],
            order_by: vec![Order {
                field: Some(FieldReference {
                    field_path: "__name__".into(),
                }),
                direction: Direction::Ascending as i32,
            }],
            start_at: last.take().map(|name| pb::Cursor {
                values: vec![pb::Value {
                    value_type: Some(pb::value::ValueType::ReferenceValue(name)),
                }],
                before: false,
            }),
            limit: Some(1000),
            ..Default::default()
        };
        let req = pb::RunQueryRequest {
            parent: db.documents_root(),
            query_type: Some(pb::run_query_request::QueryType::StructuredQuery(q)),
            ..Default::default()
        };
        let mut s = client.run_query(req).await.unwrap().into_inner();
        let mut page = 0;
        while let Some(r) = s.message().await.unwrap() {
            if let Some(d) = r.document {
                page += 1;
                last = Some(d.name);
            }
        }
        read += page;
        if page < 1000 {
            break;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(read, n);
    println!(
        "{n} docs read in {secs:.2}s: {:.0} docs/s; RSS after seeding {} MiB, peak {} MiB (peak/seeded {:.2})",
        n as f64 / secs,
        seeded / 1024,
        rss_kib("VmHWM:") / 1024,
        rss_kib("VmHWM:") as f64 / seeded as f64
    );
}
