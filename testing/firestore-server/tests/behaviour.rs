//! Listing, batch reads, aggregation, partitions, transactions, write rules and faults,
//! through the generated tonic client.

mod common;

use common::*;
use firekeep_core::model::Value;
use firekeep_firestore_server::{FirestoreServer, Method, convert, sample};
use googleapis_tonic_google_firestore_v1::google::firestore::v1 as pb;
use pb::structured_query::{FieldFilter, FieldReference, Filter, field_filter, filter};
use std::time::{Duration, Instant};
use tonic::Code;

fn field_filter(field: &str, op: field_filter::Operator, value: pb::Value) -> Filter {
    Filter {
        filter_type: Some(filter::FilterType::FieldFilter(FieldFilter {
            field: Some(FieldReference {
                field_path: field.into(),
            }),
            op: op as i32,
            value: Some(value),
        })),
    }
}

#[tokio::test]
async fn list_documents_shows_missing_parents_and_pages() {
    let (server, mut client) = start().await;
    let db = db();
    let t0 = server.seed(vec![
        doc(&db, "c/a", &[("x", Value::Integer(1))]),
        doc(&db, "c/b/sub/1", &[]),
        doc(&db, "c/c", &[]),
        doc(&db, "c/c/sub/1", &[]),
        doc(&db, "d/z", &[]),
    ]);
    let list = |show_missing: bool, page_size: i32, page_token: String| pb::ListDocumentsRequest {
        parent: root(&db),
        collection_id: "c".into(),
        page_size,
        page_token,
        show_missing,
        ..Default::default()
    };
    let plain = client
        .list_documents(list(false, 0, String::new()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        plain
            .documents
            .iter()
            .map(|d| d.name.clone())
            .collect::<Vec<_>>(),
        vec![name(&db, "c/a"), name(&db, "c/c")]
    );
    let mut all = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_documents(list(true, 2, token))
            .await
            .unwrap()
            .into_inner();
        assert!(page.documents.len() <= 2);
        all.extend(page.documents);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let names: Vec<_> = all.iter().map(|d| d.name.clone()).collect();
    assert_eq!(
        names,
        vec![name(&db, "c/a"), name(&db, "c/b"), name(&db, "c/c")]
    );
    // A missing document has a name and nothing else, as in Firestore.
    assert!(all[1].create_time.is_none() && all[1].update_time.is_none());
    assert!(all[0].create_time.is_some());
    assert_eq!(all[0].fields.len(), 1);

    // At a read time before the subcollection document existed, c/b is not there at all.
    server.seed(vec![doc(&db, "c/e/sub/1", &[])]);
    let mut req = list(true, 0, String::new());
    req.consistency_selector = Some(pb::list_documents_request::ConsistencySelector::ReadTime(
        convert::timestamp_to_proto(t0),
    ));
    let past = client.list_documents(req).await.unwrap().into_inner();
    assert_eq!(past.documents.len(), 3);
}

#[tokio::test]
async fn batch_get_reports_found_and_missing_in_order() {
    let (server, mut client) = start().await;
    let db = db();
    server.seed(vec![doc(
        &db,
        "c/a",
        &[("x", Value::Integer(1)), ("y", Value::Integer(2))],
    )]);
    let mut stream = client
        .batch_get_documents(pb::BatchGetDocumentsRequest {
            database: db.database_name(),
            documents: vec![name(&db, "c/none"), name(&db, "c/a")],
            mask: Some(pb::DocumentMask {
                field_paths: vec!["y".into()],
            }),
            consistency_selector: None,
        })
        .await
        .unwrap()
        .into_inner();
    use pb::batch_get_documents_response::Result as R;
    let first = stream.message().await.unwrap().unwrap();
    assert_eq!(first.result, Some(R::Missing(name(&db, "c/none"))));
    assert!(first.read_time.is_some());
    let second = stream.message().await.unwrap().unwrap();
    let Some(R::Found(d)) = second.result else {
        panic!("c/a should be found")
    };
    assert_eq!(
        d.fields.keys().collect::<Vec<_>>(),
        vec!["y"],
        "the mask keeps only y"
    );
    assert!(stream.message().await.unwrap().is_none());
}

#[tokio::test]
async fn filters_orders_offsets_and_count() {
    let (server, mut client) = start().await;
    let db = db();
    server.seed((0..30).map(|i| {
        doc(
            &db,
            &format!("n/{i:02}"),
            &[
                ("i", Value::Integer(i)),
                ("even", Value::Boolean(i % 2 == 0)),
                ("d", Value::Double(i as f64 / 2.0)),
            ],
        )
    }));
    use field_filter::Operator as O;
    let mut q = all_query("n", false);
    q.r#where = Some(Filter {
        filter_type: Some(filter::FilterType::CompositeFilter(
            pb::structured_query::CompositeFilter {
                op: pb::structured_query::composite_filter::Operator::And as i32,
                filters: vec![
                    field_filter(
                        "even",
                        O::Equal,
                        convert::value_to_proto(&Value::Boolean(true)),
                    ),
                    field_filter("d", O::GreaterThanOrEqual, int(5)), // int vs double compare numerically
                ],
            },
        )),
    });
    q.order_by = vec![pb::structured_query::Order {
        field: Some(FieldReference {
            field_path: "i".into(),
        }),
        direction: pb::structured_query::Direction::Descending as i32,
    }];
    q.offset = 1;
    q.limit = Some(3);
    let got = run(&mut client, &root(&db), q.clone(), None).await.unwrap();
    assert_eq!(
        names(&got),
        vec![name(&db, "n/26"), name(&db, "n/24"), name(&db, "n/22")]
    );

    // __name__ range filters select a key range.
    let mut r = all_query("n", false);
    r.r#where = Some(field_filter(
        "__name__",
        O::GreaterThan,
        reference(&name(&db, "n/27")),
    ));
    let got = run(&mut client, &root(&db), r, None).await.unwrap();
    assert_eq!(names(&got), vec![name(&db, "n/28"), name(&db, "n/29")]);

    // count() over the same filter (offset/limit dropped) and with up_to.
    q.offset = 0;
    q.limit = None;
    q.order_by.clear();
    let count = |up_to: Option<i64>| pb::RunAggregationQueryRequest {
        parent: root(&db),
        query_type: Some(
            pb::run_aggregation_query_request::QueryType::StructuredAggregationQuery(
                pb::StructuredAggregationQuery {
                    aggregations: vec![pb::structured_aggregation_query::Aggregation {
                        alias: "n".into(),
                        operator: Some(
                            pb::structured_aggregation_query::aggregation::Operator::Count(
                                pb::structured_aggregation_query::aggregation::Count { up_to },
                            ),
                        ),
                    }],
                    query_type: Some(
                        pb::structured_aggregation_query::QueryType::StructuredQuery(q.clone()),
                    ),
                },
            ),
        ),
        ..Default::default()
    };
    for (up_to, want) in [(None, 10), (Some(4), 4)] {
        let mut s = client
            .run_aggregation_query(count(up_to))
            .await
            .unwrap()
            .into_inner();
        let r = s.message().await.unwrap().unwrap();
        assert_eq!(r.result.unwrap().aggregate_fields["n"], int(want));
    }
}

#[tokio::test]
async fn partition_query_splits_into_sorted_disjoint_ranges() {
    let (server, mut client) = start().await;
    let db = db();
    server.seed(sample::demo_database(&db, 500));
    let all = names(&server.documents(&db, None));
    let mut cursors = Vec::new();
    let mut token = String::new();
    loop {
        let r = client
            .partition_query(pb::PartitionQueryRequest {
                parent: root(&db),
                partition_count: 7,
                page_token: token,
                page_size: 3,
                query_type: Some(pb::partition_query_request::QueryType::StructuredQuery(
                    all_query("", true),
                )),
                consistency_selector: None,
            })
            .await
            .unwrap()
            .into_inner();
        cursors.extend(r.partitions);
        if r.next_page_token.is_empty() {
            break;
        }
        token = r.next_page_token;
    }
    assert_eq!(cursors.len(), 7);
    let mut points: Vec<String> = cursors
        .iter()
        .map(|c| match &c.values[0].value_type {
            Some(pb::value::ValueType::ReferenceValue(r)) => r.clone(),
            other => panic!("cursor value {other:?}"),
        })
        .collect();
    let unsorted = points.clone();
    points.sort_by(|a, b| a.split('/').cmp(b.split('/')));
    assert_ne!(
        unsorted, points,
        "pages come in no particular order; clients must sort"
    );
    // Reading each range with start_at/end_at covers everything exactly once.
    let mut seen = Vec::new();
    for i in 0..=points.len() {
        let mut q = all_query("", true);
        q.start_at = (i > 0).then(|| pb::Cursor {
            values: vec![reference(&points[i - 1])],
            before: true,
        });
        q.end_at = points.get(i).map(|p| pb::Cursor {
            values: vec![reference(p)],
            before: true,
        });
        let part = run(&mut client, &root(&db), q, None).await.unwrap();
        assert!(!part.is_empty());
        seen.extend(names(&part));
    }
    assert_eq!(seen, all);

    let (_plain, mut plain_client) =
        start_with(FirestoreServer::builder().partition_query(false).build()).await;
    let err = plain_client
        .partition_query(pb::PartitionQueryRequest {
            parent: root(&db),
            partition_count: 2,
            query_type: Some(pb::partition_query_request::QueryType::StructuredQuery(
                all_query("", true),
            )),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);
}

#[tokio::test]
async fn commit_is_atomic_and_batch_write_is_not() {
    let (server, mut client) = start().await;
    let db = db();
    server.seed(vec![doc(&db, "w/exists", &[])]);
    let create = |path: &str| pb::Write {
        current_document: Some(pb::Precondition {
            condition_type: Some(pb::precondition::ConditionType::Exists(false)),
        }),
        ..update(&doc(&db, path, &[("v", Value::Integer(1))]))
    };
    let err = client
        .commit(pb::CommitRequest {
            database: db.database_name(),
            writes: vec![create("w/new"), create("w/exists")],
            transaction: Vec::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    assert_eq!(
        server.documents(&db, None).len(),
        1,
        "a failed commit applies nothing"
    );

    let r = client
        .batch_write(pb::BatchWriteRequest {
            database: db.database_name(),
            writes: vec![create("w/new"), create("w/exists")],
            labels: Default::default(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        r.status.iter().map(|s| s.code).collect::<Vec<_>>(),
        vec![0, Code::AlreadyExists as i32]
    );
    assert_eq!(server.documents(&db, None).len(), 2);

    // One write per document per BatchWrite, and at most 500 writes.
    let dup = client
        .batch_write(pb::BatchWriteRequest {
            database: db.database_name(),
            writes: vec![create("w/x"), create("w/x")],
            labels: Default::default(),
        })
        .await
        .unwrap_err();
    assert_eq!(dup.code(), Code::InvalidArgument);
    let many = client
        .batch_write(pb::BatchWriteRequest {
            database: db.database_name(),
            writes: (0..501).map(|i| create(&format!("m/{i}"))).collect(),
            labels: Default::default(),
        })
        .await
        .unwrap_err();
    assert_eq!(many.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn document_limits_are_enforced() {
    let (server, mut client) = start().await;
    let db = db();
    let write = |fields: &[(&str, Value)]| pb::BatchWriteRequest {
        database: db.database_name(),
        writes: vec![update(&doc(&db, "big/d", fields))],
        labels: Default::default(),
    };
    // Just under 1 MiB by Firestore's size rules: name (4+2 + 16) + field (2) + string (n+1) + 32.
    let fits = 1024 * 1024 - (6 + 16) - 2 - 1 - 32;
    let r = client
        .batch_write(write(&[("s", Value::String("x".repeat(fits)))]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.status[0].code, 0, "{}", r.status[0].message);
    let r = client
        .batch_write(write(&[("s", Value::String("x".repeat(fits + 1)))]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.status[0].code, Code::InvalidArgument as i32);
    assert!(
        r.status[0].message.contains("exceeds"),
        "{}",
        r.status[0].message
    );
    let r = client
        .batch_write(write(&[("deep", sample::nested(21))]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.status[0].code, Code::InvalidArgument as i32);
    let r = client
        .batch_write(write(&[("__reserved__", Value::Null)]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.status[0].code, Code::InvalidArgument as i32);
    assert_eq!(
        server.documents(&db, None)[0].fields["s"],
        Value::String("x".repeat(fits))
    );
}

#[tokio::test]
async fn timestamps_round_down_to_microseconds_unless_configured() {
    let db = db();
    let ns = firekeep_core::model::Timestamp::new(1_700_000_000, 123_456_789).unwrap();
    for (truncate, want) in [(true, 123_456_000), (false, 123_456_789)] {
        let (server, mut client) = start_with(
            FirestoreServer::builder()
                .truncate_timestamps(truncate)
                .build(),
        )
        .await;
        client
            .batch_write(pb::BatchWriteRequest {
                database: db.database_name(),
                writes: vec![update(&doc(&db, "t/1", &[("t", Value::Timestamp(ns))]))],
                labels: Default::default(),
            })
            .await
            .unwrap();
        let Value::Timestamp(got) = server.documents(&db, None)[0].fields["t"] else {
            panic!("not a timestamp")
        };
        assert_eq!(got.nanos(), want);
    }
}

#[tokio::test]
async fn read_only_transactions_read_at_their_time() {
    let (server, mut client) = start().await;
    let db = db();
    let t1 = server.seed(vec![doc(&db, "x/a", &[("v", Value::Integer(1))])]);
    let begin = client
        .begin_transaction(pb::BeginTransactionRequest {
            database: db.database_name(),
            options: Some(pb::TransactionOptions {
                mode: Some(pb::transaction_options::Mode::ReadOnly(
                    pb::transaction_options::ReadOnly {
                        consistency_selector: Some(
                            pb::transaction_options::read_only::ConsistencySelector::ReadTime(
                                convert::timestamp_to_proto(t1),
                            ),
                        ),
                    },
                )),
            }),
        })
        .await
        .unwrap()
        .into_inner();
    server.seed(vec![doc(&db, "x/a", &[("v", Value::Integer(2))])]);
    let got = client
        .get_document(pb::GetDocumentRequest {
            name: name(&db, "x/a"),
            mask: None,
            consistency_selector: Some(pb::get_document_request::ConsistencySelector::Transaction(
                begin.transaction.clone(),
            )),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.fields["v"], int(1));
    client
        .rollback(pb::RollbackRequest {
            database: db.database_name(),
            transaction: begin.transaction.clone(),
        })
        .await
        .unwrap();
    let err = client
        .commit(pb::CommitRequest {
            database: db.database_name(),
            writes: Vec::new(),
            transaction: begin.transaction,
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::InvalidArgument,
        "a rolled-back transaction is gone"
    );
}

#[tokio::test]
async fn faults_fail_cut_slow_down_and_count() {
    let (server, mut client) = start().await;
    let db = db();
    server.seed((0..50).map(|i| doc(&db, &format!("f/{i:03}"), &[])));
    let f = server.faults();

    f.fail_nth_call(Method::RunQuery, 2, Code::Unavailable);
    assert!(
        run(&mut client, &root(&db), all_query("", true), None)
            .await
            .is_ok()
    );
    let err = run(&mut client, &root(&db), all_query("", true), None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert!(
        run(&mut client, &root(&db), all_query("", true), None)
            .await
            .is_ok()
    );

    f.fail_next_calls(Method::ListCollectionIds, 2, Code::ResourceExhausted);
    for want_ok in [false, false, true] {
        let r = client
            .list_collection_ids(pb::ListCollectionIdsRequest {
                parent: root(&db),
                ..Default::default()
            })
            .await;
        assert_eq!(r.is_ok(), want_ok);
    }

    // A cut stream delivers exactly k documents, then UNAVAILABLE.
    f.cut_stream_after(Method::RunQuery, 7);
    let req = pb::RunQueryRequest {
        parent: root(&db),
        query_type: Some(pb::run_query_request::QueryType::StructuredQuery(
            all_query("", true),
        )),
        ..Default::default()
    };
    let mut s = client.run_query(req.clone()).await.unwrap().into_inner();
    let mut got = 0;
    let err = loop {
        match s.message().await {
            Ok(Some(r)) => got += usize::from(r.document.is_some()),
            Ok(None) => panic!("the stream should have been cut"),
            Err(e) => break e,
        }
    };
    assert_eq!((got, err.code()), (7, Code::Unavailable));
    assert_eq!(
        run(&mut client, &root(&db), all_query("", true), None)
            .await
            .unwrap()
            .len(),
        50,
        "cuts apply once"
    );

    f.latency(Duration::from_millis(150));
    let t = Instant::now();
    run(&mut client, &root(&db), all_query("", true), None)
        .await
        .unwrap();
    assert!(t.elapsed() >= Duration::from_millis(150));
    f.latency(Duration::ZERO);

    f.unimplemented(Method::PartitionQuery);
    let err = client
        .partition_query(pb::PartitionQueryRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);
    f.clear();
    assert_eq!(f.calls(Method::RunQuery), 6);
}

#[tokio::test]
async fn streams_large_results_with_backpressure() {
    let (server, mut client) = start().await;
    let db = db();
    server.seed((0..5000).map(|i| {
        doc(
            &db,
            &format!("big/{i:05}"),
            &[("p", Value::String("x".repeat(1000)))],
        )
    }));
    let req = pb::RunQueryRequest {
        parent: root(&db),
        query_type: Some(pb::run_query_request::QueryType::StructuredQuery(
            all_query("", true),
        )),
        ..Default::default()
    };
    // Read one document, stall while the server is blocked on the bounded channel and
    // HTTP/2 flow control, then read on: nothing is lost or reordered.
    let mut s = client.run_query(req).await.unwrap().into_inner();
    let first = s.message().await.unwrap().unwrap().document.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut n = 1;
    let mut last = first.name;
    while let Some(r) = s.message().await.unwrap() {
        let d = r.document.unwrap();
        assert!(d.name > last);
        last = d.name;
        n += 1;
    }
    assert_eq!(n, 5000);
}

#[tokio::test]
async fn listen_and_write_streams_are_unimplemented() {
    let (_server, mut client) = start().await;
    let err = client
        .listen(futures::stream::iter(Vec::<pb::ListenRequest>::new()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);
    let err = client
        .write(futures::stream::iter(Vec::<pb::WriteRequest>::new()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);
}
