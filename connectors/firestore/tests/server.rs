//! The connector against the in-process Firestore v1 server: the shared conformance suite,
//! fidelity, subcollections, missing parents, 1 MiB documents, point-in-time reads, faults,
//! PartitionQuery and its fallback, read-time validation and credential errors; the read path
//! against costly cursors and broken streams: one RunQuery per segment or partition, resumes
//! that skip exactly what was read.

use firekeep_core::Error;
use firekeep_core::model::{DatabaseId, Document, DocumentPath, Timestamp, Value};
use firekeep_core::source::{
    ConflictMode, FirestoreSource, FirestoreTarget, JsonDocument, NameRange, Scope, WriteOutcome,
    conformance,
};
use firekeep_firestore::{ConnectorConfig, Credentials, FirestoreConnector, RetryConfig};
use firekeep_firestore_server::{FirestoreServer, Method, RunningServer, sample};
use futures::TryStreamExt;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tonic::Code;

fn db(name: &str) -> DatabaseId {
    DatabaseId::new("firekeep-test", name).unwrap()
}

fn fast_retry() -> RetryConfig {
    RetryConfig {
        max_attempts: 8,
        initial_backoff: Duration::from_millis(2),
        max_backoff: Duration::from_millis(20),
    }
}

async fn connect(server: &RunningServer, database: &DatabaseId, page: i32) -> FirestoreConnector {
    let mut cfg = ConnectorConfig::emulator(database.clone(), server.emulator_host());
    cfg.retry = fast_retry();
    cfg.list_page_size = page;
    FirestoreConnector::connect(cfg).await.expect("connect")
}

async fn read_all(c: &FirestoreConnector, scope: &Scope, rt: Timestamp) -> Vec<Document> {
    c.stream_documents(scope, NameRange::all(), rt)
        .try_collect()
        .await
        .expect("read")
}

fn names(docs: &[Document]) -> Vec<String> {
    docs.iter().map(|d| d.name.clone()).collect()
}

#[tokio::test]
async fn conformance_suite_passes() {
    let server = FirestoreServer::builder().build().start().await.unwrap();
    // Small pages so the suite's reads cross page boundaries.
    let c = connect(&server, &db("conformance"), 3).await;
    conformance::run_all(&c).await;
    server.shutdown().await;
}

#[tokio::test]
async fn demo_data_reads_exactly_and_restores_exactly() {
    let server = FirestoreServer::builder().build().start().await.unwrap();
    let src_db = db("source");
    server.seed(sample::demo_database(&src_db, 300));
    let src = connect(&server, &src_db, 50).await;
    let rt = src.snapshot_time().await.unwrap();
    let docs = read_all(&src, &Scope::database(), rt).await;
    // Bit-exact, times included, against the server's own view.
    assert_eq!(docs, server.documents(&src_db, Some(rt)));
    let depth3 = docs
        .iter()
        .filter(|d| d.path().unwrap().1.depth() == 2)
        .count();
    assert!(depth3 > 0, "demo data has three levels of collections");
    assert_eq!(
        src.count_documents(&Scope::database(), rt).await.unwrap(),
        Some(docs.len() as u64)
    );

    // Restore into another database through BatchWrite, in target-sized batches.
    let dst_db = db("restored");
    let dst = connect(&server, &dst_db, 50).await;
    let limits = dst.batch_limits();
    let rehomed: Vec<Document> = docs.iter().map(|d| d.rehome(&dst_db).unwrap()).collect();
    for chunk in rehomed.chunks(limits.max_writes) {
        let r = dst
            .write_batch(chunk.to_vec(), ConflictMode::FailIfExists)
            .await
            .unwrap();
        assert!(
            r.iter().all(|r| r.outcome == WriteOutcome::Written),
            "{r:?}"
        );
    }
    let rt2 = dst.snapshot_time().await.unwrap();
    let back = read_all(&dst, &Scope::database(), rt2).await;
    assert_eq!(back.len(), docs.len());
    for (a, b) in docs.iter().zip(&back) {
        assert_eq!(a.path().unwrap().1, b.path().unwrap().1);
        assert!(
            a.fields == b.fields,
            "fields of {} differ after restore",
            a.name
        );
    }

    // Parents that exist only through subcollections: invisible to queries, found by
    // ListDocuments with show_missing and by ListCollectionIds.
    let ghosts: Vec<Document> = src
        .list_documents(None, "ghosts", true, rt)
        .try_collect()
        .await
        .unwrap();
    assert!(
        !ghosts.is_empty(),
        "missing parents listed with show_missing"
    );
    for g in &ghosts {
        assert!(g.create_time.is_none() && g.fields.is_empty(), "{g:?}");
        let (_, p) = g.path().unwrap();
        assert!(
            !docs.iter().any(|d| d.name == g.name),
            "missing parent read as a document"
        );
        let ids = src.list_collection_ids(Some(&p), rt).await.unwrap();
        assert_eq!(ids, vec!["items".to_string()]);
    }
    let shown: Vec<Document> = src
        .list_documents(None, "ghosts", false, rt)
        .try_collect()
        .await
        .unwrap();
    assert!(
        shown.is_empty(),
        "without show_missing, ghost parents are not listed"
    );
    server.shutdown().await;
}

/// The restore path: documents as their backup's JSON lines, encoded straight to `Write`s
/// (`write_json_batch`), land exactly as the tree path lands them; a line that does not
/// decode fails alone, the rest of its batch is written.
#[tokio::test]
async fn json_lines_restore_exactly() {
    let server = FirestoreServer::builder().build().start().await.unwrap();
    let src_db = db("source");
    server.seed(sample::demo_database(&src_db, 200));
    let src = connect(&server, &src_db, 50).await;
    let rt = src.snapshot_time().await.unwrap();
    let docs = read_all(&src, &Scope::database(), rt).await;
    let dst_db = db("restored");
    let dst = connect(&server, &dst_db, 50).await;
    let lines: Vec<JsonDocument> = docs
        .iter()
        .map(|d| {
            JsonDocument::new(
                d.rehome(&dst_db).unwrap().name,
                firekeep_core::model::json::encode_document(d).into(),
            )
        })
        .collect();
    for chunk in lines.chunks(dst.batch_limits().max_writes) {
        let r = dst
            .write_json_batch(chunk.to_vec(), ConflictMode::FailIfExists)
            .await
            .unwrap();
        assert!(
            r.iter().all(|r| r.outcome == WriteOutcome::Written),
            "{r:?}"
        );
    }
    let back = read_all(&dst, &Scope::database(), dst.snapshot_time().await.unwrap()).await;
    assert_eq!(back.len(), docs.len());
    for (a, b) in docs.iter().zip(&back) {
        assert_eq!(a.path().unwrap().1, b.path().unwrap().1);
        assert!(a.fields == b.fields, "fields of {} differ", a.name);
    }
    // Again with fail-if-exists: every document exists now.
    let r = dst
        .write_json_batch(lines[..3].to_vec(), ConflictMode::FailIfExists)
        .await
        .unwrap();
    assert!(
        r.iter().all(
            |r| matches!(&r.outcome, WriteOutcome::Failed { code, .. } if code == "ALREADY_EXISTS")
        ),
        "{r:?}"
    );
    let broken = JsonDocument::new(
        lines[0].name().to_owned(),
        bytes::Bytes::from_static(b"{\"name\":"),
    );
    let r = dst
        .write_json_batch(vec![broken, lines[1].clone()], ConflictMode::Overwrite)
        .await
        .unwrap();
    assert!(
        matches!(&r[0].outcome, WriteOutcome::Failed { code, .. } if code == "INVALID_ARGUMENT"),
        "{r:?}"
    );
    assert_eq!(r[1].outcome, WriteOutcome::Written);
    server.shutdown().await;
}

#[tokio::test]
async fn one_mib_document_round_trips() {
    let server = FirestoreServer::builder().build().start().await.unwrap();
    let d = db("big");
    let c = connect(&server, &d, 10).await;
    let name = d.document_name(&DocumentPath::parse("big/one").unwrap());
    // Firestore's limit is 1 MiB including field names and the document name.
    let payload: String = "x".repeat(1024 * 1024 - 1024);
    let doc = Document::new(
        name.clone(),
        BTreeMap::from([("payload".to_string(), Value::String(payload))]),
    );
    let small = Document::new(
        d.document_name(&DocumentPath::parse("big/two").unwrap()),
        BTreeMap::new(),
    );
    let r = c
        .write_batch(vec![doc.clone(), small], ConflictMode::Overwrite)
        .await
        .unwrap();
    assert!(
        r.iter().all(|r| r.outcome == WriteOutcome::Written),
        "{r:?}"
    );
    let rt = c.snapshot_time().await.unwrap();
    let docs = read_all(&c, &Scope::database(), rt).await;
    assert_eq!(docs.len(), 2);
    assert!(docs[0].fields == doc.fields);
    server.shutdown().await;
}

#[tokio::test]
async fn past_read_time_sees_the_old_state() {
    let server = FirestoreServer::builder().build().start().await.unwrap();
    let d = db("pitr");
    let c = connect(&server, &d, 2).await;
    let docs: Vec<Document> = (0..5)
        .map(|i| {
            Document::new(
                d.document_name(&DocumentPath::parse(&format!("c/d{i}")).unwrap()),
                BTreeMap::from([("v".to_string(), Value::Integer(i))]),
            )
        })
        .collect();
    c.write_batch(docs.clone(), ConflictMode::Overwrite)
        .await
        .unwrap();
    let t1 = c.snapshot_time().await.unwrap();
    let changed: Vec<Document> = docs
        .iter()
        .map(|doc| Document::new(doc.name.clone(), BTreeMap::new()))
        .collect();
    c.write_batch(changed, ConflictMode::Overwrite)
        .await
        .unwrap();
    let old = read_all(&c, &Scope::database(), t1).await;
    assert_eq!(old.len(), 5);
    for (o, want) in old.iter().zip(&docs) {
        assert_eq!(o.fields, want.fields);
    }
    let now = c.snapshot_time().await.unwrap();
    assert!(
        read_all(&c, &Scope::database(), now)
            .await
            .iter()
            .all(|d| d.fields.is_empty())
    );

    // Firestore's rules are checked before calling: the future, sub-microsecond times,
    // and old times that are not whole minutes are refused with an explanation.
    let future = now.add_seconds(3600).unwrap();
    let nanos = Timestamp::new(t1.seconds(), t1.nanos() / 1000 * 1000 + 1).unwrap();
    // Two hours ago and one second past a whole minute.
    let s = now.seconds() - 7200;
    let two_hours = Timestamp::new(s - s.rem_euclid(60) + 1, 0).unwrap();
    for (rt, needle) in [
        (future, "future"),
        (nanos, "microsecond"),
        (two_hours, "whole minute"),
    ] {
        let calls = server.faults().calls(Method::RunQuery);
        let err = c
            .stream_documents(&Scope::database(), NameRange::all(), rt)
            .try_collect::<Vec<_>>()
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{err}");
        assert!(err.to_string().contains(needle), "{err}");
        assert_eq!(
            server.faults().calls(Method::RunQuery),
            calls,
            "no call was made"
        );
    }
    server.shutdown().await;
}

async fn seeded(server: &RunningServer, name: &str, n: usize) -> (DatabaseId, Vec<Document>) {
    let d = db(name);
    server.seed(sample::demo_database(&d, n));
    let docs = server.documents(&d, None);
    (d, docs)
}

#[tokio::test]
async fn cut_streams_and_unavailable_bursts_lose_and_repeat_nothing() {
    let server = FirestoreServer::builder().build().start().await.unwrap();
    let (d, want) = seeded(&server, "faults", 400).await;
    let c = connect(&server, &d, 40).await;
    let rt = c.snapshot_time().await.unwrap();

    // The first stream breaks after 7 documents; the next three attempts to resume fail
    // (UNAVAILABLE twice, then INTERNAL); the fifth call streams the rest.
    let faults = server.faults();
    faults.cut_stream_after(Method::RunQuery, 7);
    faults.fail_nth_call(Method::RunQuery, 2, Code::Unavailable);
    faults.fail_nth_call(Method::RunQuery, 3, Code::Unavailable);
    faults.fail_nth_call(Method::RunQuery, 4, Code::Internal);
    let calls = faults.calls(Method::RunQuery);
    let got = read_all(&c, &Scope::database(), rt).await;
    assert_eq!(
        names(&got),
        names(&want),
        "nothing lost, nothing repeated, in order"
    );
    assert_eq!(got, want);
    assert_eq!(faults.calls(Method::RunQuery) - calls, 5);

    // A non-retryable code fails at once, with the server's message.
    let before = server.faults().calls(Method::RunQuery);
    server
        .faults()
        .fail_nth_call(Method::RunQuery, 1, Code::PermissionDenied);
    let err = c
        .stream_documents(&Scope::database(), NameRange::all(), rt)
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    match &err {
        Error::Firestore { code, .. } => assert_eq!(code, "PERMISSION_DENIED"),
        other => panic!("unexpected {other}"),
    }
    assert_eq!(
        server.faults().calls(Method::RunQuery),
        before + 1,
        "no retry"
    );

    // Bounded attempts: a long burst of UNAVAILABLE ends in an error, not a hang.
    server
        .faults()
        .fail_next_calls(Method::ListCollectionIds, 100, Code::Unavailable);
    let err = c.list_collection_ids(None, rt).await.unwrap_err();
    assert!(
        matches!(&err, Error::Firestore { code, .. } if code == "UNAVAILABLE"),
        "{err}"
    );
    server.faults().clear();
    server.shutdown().await;
}

/// Documents of `want` inside `scope`, in order.
fn in_scope(want: &[Document], scope: &Scope) -> Vec<String> {
    want.iter()
        .filter(|d| scope.contains(&d.path().unwrap().1))
        .map(|d| d.name.clone())
        .collect()
}

#[tokio::test]
async fn each_segment_is_one_streamed_query_even_where_cursors_rescan() {
    let server = FirestoreServer::builder().build().start().await.unwrap();
    let (d, want) = seeded(&server, "stream", 3000).await;
    assert!(want.len() > 2000, "more than a page of the old reader");
    // List pages of 3, so ListCollectionIds pages too.
    let c = connect(&server, &d, 3).await;
    let rt = c.snapshot_time().await.unwrap();
    let faults = server.faults();
    faults.cursor_cost(Duration::from_micros(5));

    // The whole database: one query, no cursor, every document once in order.
    let calls = faults.calls(Method::RunQuery);
    let scanned = faults.cursor_scanned();
    let got = read_all(&c, &Scope::database(), rt).await;
    assert_eq!(got, want);
    assert_eq!(faults.calls(Method::RunQuery) - calls, 1, "one RunQuery");
    assert_eq!(faults.cursor_scanned(), scanned, "no cursor rescans");

    // Chosen collections with subcollections: one query per collection.
    let ids = c.list_collection_ids(None, rt).await.unwrap();
    assert!(ids.len() >= 3, "{ids:?}");
    let scope = Scope::collections(ids.iter().skip(1).cloned(), true);
    let calls = faults.calls(Method::RunQuery);
    let got = read_all(&c, &scope, rt).await;
    assert_eq!(names(&got), in_scope(&want, &scope));
    assert_eq!(
        faults.calls(Method::RunQuery) - calls,
        ids.len() as u64 - 1,
        "one RunQuery per collection"
    );

    // A collection without its subcollections: one plain collection query.
    let scope = Scope::collections([ids[0].clone()], false);
    let calls = faults.calls(Method::RunQuery);
    let got = read_all(&c, &scope, rt).await;
    assert!(!got.is_empty());
    assert_eq!(names(&got), in_scope(&want, &scope));
    assert_eq!(faults.calls(Method::RunQuery) - calls, 1);

    // Partitions: one query each, joined in order.
    let parts = c.partition(&Scope::database(), rt, 4).await.unwrap();
    assert!(parts.len() > 1, "{parts:?}");
    let calls = faults.calls(Method::RunQuery);
    let mut joined = Vec::new();
    for r in parts.iter().cloned() {
        let docs: Vec<Document> = c
            .stream_documents(&Scope::database(), r, rt)
            .try_collect()
            .await
            .unwrap();
        joined.extend(docs);
    }
    assert_eq!(joined, want);
    assert_eq!(
        faults.calls(Method::RunQuery) - calls,
        parts.len() as u64,
        "one RunQuery per partition"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn streams_cut_midway_resume_just_after_the_last_name() {
    let server = FirestoreServer::builder().build().start().await.unwrap();
    let (d, want) = seeded(&server, "resume", 3000).await;
    assert!(want.len() > 2 * 1100, "{} documents", want.len());
    let n = want.len() as u64;
    let c = connect(&server, &d, 100).await;
    let rt = c.snapshot_time().await.unwrap();
    let faults = server.faults();
    // Costly cursors count what each resume skips; no time is charged.
    faults.cursor_cost(Duration::from_nanos(1));
    // Every stream breaks after `k` documents (more than the old reader's page of 1,000),
    // and the first two attempts fail outright.
    let k = 1100u64;
    faults.cut_every_stream_after(Method::RunQuery, Some(k as usize));
    faults.fail_next_calls(Method::RunQuery, 2, Code::Unavailable);
    let calls = faults.calls(Method::RunQuery);
    let scanned = faults.cursor_scanned();
    let got = read_all(&c, &Scope::database(), rt).await;
    assert_eq!(
        names(&got),
        names(&want),
        "nothing lost, nothing repeated, in order"
    );
    assert_eq!(got, want);
    // Two refused opens, then a stream per k documents and one that ends cleanly.
    let resumes = n / k;
    assert_eq!(faults.calls(Method::RunQuery) - calls, 2 + resumes + 1);
    // Resume i starts just after document i*k: its cursor skips exactly i*k documents.
    let skipped: u64 = (1..=resumes).map(|i| i * k).sum();
    assert_eq!(faults.cursor_scanned() - scanned, skipped);

    // Errors mid-stream that are not cuts: INTERNAL and RESOURCE_EXHAUSTED bursts on the
    // reopening calls are retried too.
    faults.fail_next_calls(Method::RunQuery, 1, Code::Internal);
    faults.fail_nth_call(Method::RunQuery, 3, Code::ResourceExhausted);
    let got = read_all(&c, &Scope::database(), rt).await;
    assert_eq!(got, want);
    faults.clear();
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_reads_each_partition_in_one_query_and_survives_cuts() {
    use firekeep_core::engine::{self, BackupOptions, CancellationToken, Repository};
    use firekeep_core::keys::RawKey;
    use firekeep_core::storage::memory::MemoryStorage;
    use std::sync::Arc;

    let server = FirestoreServer::builder().build().start().await.unwrap();
    let (d, want) = seeded(&server, "engine", 3000).await;
    let c = connect(&server, &d, 100).await;
    let faults = server.faults();
    faults.cursor_cost(Duration::from_nanos(1));
    let key = RawKey::from_bytes(&[7; 32]).unwrap();
    let opts = BackupOptions {
        parallelism: 3,
        read_streams: 3,
        part_target_bytes: 64 * 1024,
        ..BackupOptions::default()
    };
    // The partitions the backup will get (the data does not change).
    let rt = c.snapshot_time().await.unwrap();
    let partitions = c.partition(&Scope::database(), rt, 3).await.unwrap().len() as u64;
    assert!(partitions > 1);

    for cut in [None, Some(700)] {
        faults.cut_every_stream_after(Method::RunQuery, cut);
        let repo = Repository::new(Arc::new(MemoryStorage::new()));
        let calls = faults.calls(Method::RunQuery);
        let report = engine::backup(
            Arc::new(c.clone()),
            &repo,
            &key,
            &opts,
            None,
            &CancellationToken::new(),
        )
        .await
        .unwrap();
        // Every document once (the engine rejects overlapping or unordered parts).
        assert_eq!(report.documents, want.len() as u64, "cut {cut:?}");
        let runs = faults.calls(Method::RunQuery) - calls;
        match cut {
            // The snapshot-time query, then one stream per partition.
            None => assert_eq!(runs, 1 + partitions),
            // Resumes add calls, never fewer than one per 700 documents.
            Some(k) => assert!(runs > 1 + (want.len() / k) as u64, "{runs} RunQuery calls"),
        }
    }
    faults.clear();
    server.shutdown().await;
}

/// Reading waits on the network, encoding on the CPU: a backup keeps `read_streams`
/// partitions streaming at once whatever its worker count, and the result is the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_reads_read_streams_partitions_at_once_with_one_worker() {
    use firekeep_core::engine::{
        self, BackupOptions, CancellationToken, Repository, RestoreOptions,
    };
    use firekeep_core::keys::RawKey;
    use firekeep_core::storage::memory::MemoryStorage;
    use std::sync::Arc;

    let server = FirestoreServer::builder().build().start().await.unwrap();
    let (d, want) = seeded(&server, "streams", 2400).await;
    let c = connect(&server, &d, 100).await;
    let faults = server.faults();
    let key = RawKey::from_bytes(&[9; 32]).unwrap();
    let rt = c.snapshot_time().await.unwrap();
    for streams in [1usize, 6] {
        // The partitions the backup will get (the data does not change).
        let partitions = c.partition(&Scope::database(), rt, streams).await.unwrap();
        assert_eq!(partitions.len(), streams);
        // Every stream then lasts at least 2400 / streams / 1000 s, so streams read at
        // once overlap at the server.
        faults.rate_limit(Some(1000));
        faults.reset_peak_streams();
        let partition_calls = faults.calls(Method::PartitionQuery);
        let repo = Repository::new(Arc::new(MemoryStorage::new()));
        let opts = BackupOptions {
            parallelism: 1,
            read_streams: streams,
            part_target_bytes: 32 * 1024,
            ..BackupOptions::default()
        };
        let report = engine::backup(
            Arc::new(c.clone()),
            &repo,
            &key,
            &opts,
            None,
            &CancellationToken::new(),
        )
        .await
        .unwrap();
        faults.clear();
        assert_eq!(
            faults.peak_concurrent_streams(),
            streams as u64,
            "{streams} read streams"
        );
        // One stream needs no split points.
        let asked = u64::from(streams > 1);
        assert_eq!(
            faults.calls(Method::PartitionQuery) - partition_calls,
            asked
        );
        assert_eq!(report.documents, want.len() as u64);

        let verified = engine::verify(
            &repo,
            &key,
            &report.backup_id,
            None,
            &CancellationToken::new(),
        )
        .await
        .unwrap();
        assert!(verified.problems.is_empty(), "{:?}", verified.problems);
        assert_eq!(verified.documents, want.len() as u64);
        let dst_db = db(&format!("streams-restored-{streams}"));
        let dst = connect(&server, &dst_db, 100).await;
        let restored = engine::restore(
            &repo,
            &key,
            &report.backup_id,
            Arc::new(dst.clone()),
            &RestoreOptions::default(),
            None,
            &CancellationToken::new(),
        )
        .await
        .unwrap();
        assert_eq!(restored.written, want.len() as u64);
        let back = server.documents(&dst_db, None);
        assert_eq!(back.len(), want.len());
        for (a, b) in want.iter().zip(&back) {
            assert_eq!(a.path().unwrap().1, b.path().unwrap().1);
            assert!(a.fields == b.fields, "fields of {} differ", a.name);
        }
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_silent_stream_is_given_up_and_resumed() {
    let server = FirestoreServer::builder().build().start().await.unwrap();
    let (d, want) = seeded(&server, "stall", 150).await;
    let mut cfg = ConnectorConfig::emulator(d.clone(), server.emulator_host());
    cfg.retry = fast_retry();
    cfg.call_timeout = Duration::from_millis(200);
    let c = FirestoreConnector::connect(cfg).await.unwrap();
    let rt = c.snapshot_time().await.unwrap();
    // The stream goes silent after 50 documents for far longer than `call_timeout`.
    server
        .faults()
        .stall_stream_after(50, Duration::from_secs(30));
    let calls = server.faults().calls(Method::RunQuery);
    let got = read_all(&c, &Scope::database(), rt).await;
    assert_eq!(got, want);
    assert_eq!(
        server.faults().calls(Method::RunQuery) - calls,
        2,
        "the silent stream, then one resumed after document 50"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_long_stream_outlives_the_call_timeout() {
    let server = FirestoreServer::builder().build().start().await.unwrap();
    let (d, want) = seeded(&server, "long", 150).await;
    let mut cfg = ConnectorConfig::emulator(d.clone(), server.emulator_host());
    cfg.retry = fast_retry();
    // The stream takes well over this, but no response is ever this late.
    cfg.call_timeout = Duration::from_millis(250);
    let c = FirestoreConnector::connect(cfg).await.unwrap();
    let rt = c.snapshot_time().await.unwrap();
    // `want.len()` documents at 500/s: about a second on one stream.
    server.faults().rate_limit(Some(500));
    let calls = server.faults().calls(Method::RunQuery);
    let got = read_all(&c, &Scope::database(), rt).await;
    assert_eq!(got, want);
    assert_eq!(
        server.faults().calls(Method::RunQuery) - calls,
        1,
        "one stream, never cut by a deadline"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn slow_server_and_write_bursts() {
    let server = FirestoreServer::builder().build().start().await.unwrap();
    let (d, want) = seeded(&server, "slow", 120).await;
    let c = connect(&server, &d, 30).await;
    let rt = c.snapshot_time().await.unwrap();
    server.faults().latency(Duration::from_millis(30));
    let started = Instant::now();
    let got = read_all(&c, &Scope::database(), rt).await;
    assert!(
        started.elapsed() >= Duration::from_millis(30),
        "latency applied"
    );
    assert_eq!(got, want);
    server.faults().latency(Duration::ZERO);

    // BatchWrite: a burst of UNAVAILABLE RPCs, retried; every document written once.
    let dst = db("slow-restore");
    let w = connect(&server, &dst, 30).await;
    let docs: Vec<Document> = want.iter().map(|x| x.rehome(&dst).unwrap()).collect();
    server
        .faults()
        .fail_next_calls(Method::BatchWrite, 3, Code::Unavailable);
    let r = w
        .write_batch(docs.clone(), ConflictMode::FailIfExists)
        .await
        .unwrap();
    assert!(
        r.iter().all(|r| r.outcome == WriteOutcome::Written),
        "{r:?}"
    );
    let back = server.documents(&dst, None);
    assert_eq!(back.len(), docs.len());
    // Restoring again with skip-existing skips everything.
    let r = w
        .write_batch(docs, ConflictMode::SkipExisting)
        .await
        .unwrap();
    assert!(
        r.iter().all(|r| r.outcome == WriteOutcome::Skipped),
        "{r:?}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn partition_query_and_fallback_give_the_same_set() {
    let server = FirestoreServer::builder().build().start().await.unwrap();
    let (d, want) = seeded(&server, "parts", 500).await;
    let c = connect(&server, &d, 64).await;
    let rt = c.snapshot_time().await.unwrap();
    let parts = c.partition(&Scope::database(), rt, 6).await.unwrap();
    assert!(
        parts.len() > 1 && parts.len() <= 6,
        "{} partitions",
        parts.len()
    );
    // Read the partitions concurrently, then join in order.
    let reads = parts.into_iter().map(|r| {
        c.stream_documents(&Scope::database(), r, rt)
            .try_collect::<Vec<_>>()
    });
    let joined: Vec<Document> = futures::future::try_join_all(reads)
        .await
        .unwrap()
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(names(&joined), names(&want));

    let plain = FirestoreServer::builder()
        .partition_query(false)
        .build()
        .start()
        .await
        .unwrap();
    plain.seed(want.clone());
    let c2 = connect(&plain, &d, 64).await;
    let rt2 = c2.snapshot_time().await.unwrap();
    let parts = c2.partition(&Scope::database(), rt2, 6).await.unwrap();
    assert_eq!(
        parts,
        vec![NameRange::all()],
        "UNIMPLEMENTED falls back to one range"
    );
    let got = read_all(&c2, &Scope::database(), rt2).await;
    assert_eq!(names(&got), names(&want));
    server.shutdown().await;
    plain.shutdown().await;
}

#[tokio::test]
async fn bad_credentials_files_say_what_to_fix() {
    let server = FirestoreServer::builder().build().start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.json");
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "this is not json").unwrap();
    let badkey = dir.path().join("badkey.json");
    let secret_marker = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC-SECRET-MATERIAL";
    std::fs::write(
        &badkey,
        serde_json::json!({
            "type": "service_account",
            "project_id": "p",
            "private_key_id": "k1",
            "private_key": format!("-----BEGIN PRIVATE KEY-----\n{secret_marker}\n-----END PRIVATE KEY-----\n"),
            "client_email": "sa@p.iam.gserviceaccount.com",
            "client_id": "1",
            "token_uri": "http://127.0.0.1:9/token"
        })
        .to_string(),
    )
    .unwrap();
    let user = dir.path().join("user.json");
    std::fs::write(&user, r#"{"type":"external_account"}"#).unwrap();
    for (path, needle) in [
        (&missing, "could not read service-account key file"),
        (&garbage, "not a Google credentials JSON file"),
        (&badkey, "not a usable service-account key"),
        (&user, "external_account"),
    ] {
        let mut cfg =
            ConnectorConfig::new(db("creds"), Credentials::ServiceAccountFile(path.clone()));
        cfg.endpoint = Some(server.endpoint());
        let err = FirestoreConnector::connect(cfg).await.unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::InvalidConfig(_)), "{msg}");
        assert!(msg.contains(needle), "{msg}");
        assert!(
            msg.contains(&path.display().to_string()),
            "names the file: {msg}"
        );
        assert!(!msg.contains(secret_marker), "key material leaked: {msg}");
    }
    server.shutdown().await;
}
