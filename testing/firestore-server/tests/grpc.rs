//! The server through a raw tonic client (the generated client of the same crate).

mod common;

use common::*;
use firekeep_core::model::Value;
use firekeep_firestore_server::sample;
use googleapis_tonic_google_firestore_v1::google::firestore::v1 as pb;

#[tokio::test]
async fn all_descendants_scan_pages_with_cursors_in_key_order() {
    let (server, mut client) = start().await;
    let db = db();
    server.seed(sample::demo_database(&db, 400));
    let expected = names(&server.documents(&db, None));
    assert!(expected.len() > 300);
    // Key order is segment-wise: users/u0000/posts/... before users/u0001.
    let mut sorted = expected.clone();
    sorted.sort_by(|a, b| a.split('/').cmp(b.split('/')));
    assert_eq!(sorted, expected);

    let mut got = Vec::new();
    let mut last: Option<String> = None;
    loop {
        let mut q = all_query("", true);
        q.limit = Some(37);
        q.start_at = last.as_ref().map(|n| pb::Cursor {
            values: vec![reference(n)],
            before: false,
        });
        let page = run(&mut client, &root(&db), q, None).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 37);
        last = page.last().map(|d| d.name.clone());
        got.extend(names(&page));
    }
    assert_eq!(got, expected);

    // Descending order with an end cursor that excludes it.
    let mut q = all_query("", true);
    q.order_by = vec![by_name(true)];
    q.end_at = Some(pb::Cursor {
        values: vec![reference(&expected[expected.len() - 5])],
        before: true,
    });
    let page = run(&mut client, &root(&db), q, None).await.unwrap();
    let mut tail: Vec<String> = expected[expected.len() - 4..].to_vec();
    tail.reverse();
    assert_eq!(names(&page), tail);
}

#[tokio::test]
async fn collection_selectors_from_root_and_from_a_document() {
    let (server, mut client) = start().await;
    let db = db();
    server.seed(vec![
        doc(&db, "a/1", &[("x", Value::Integer(1))]),
        doc(&db, "a/1/b/1", &[]),
        doc(&db, "a/1/b/1/c/1", &[]),
        doc(&db, "a/2/b/2", &[]),
        doc(&db, "a-/1", &[]),
        doc(&db, "b/9", &[]),
    ]);
    let top = run(&mut client, &root(&db), all_query("a", false), None)
        .await
        .unwrap();
    assert_eq!(names(&top), vec![name(&db, "a/1")]);
    let group = run(&mut client, &root(&db), all_query("b", true), None)
        .await
        .unwrap();
    assert_eq!(
        names(&group),
        vec![name(&db, "a/1/b/1"), name(&db, "a/2/b/2"), name(&db, "b/9")]
    );
    let under = run(&mut client, &name(&db, "a/1"), all_query("", true), None)
        .await
        .unwrap();
    assert_eq!(
        names(&under),
        vec![name(&db, "a/1/b/1"), name(&db, "a/1/b/1/c/1")]
    );
    let direct = run(&mut client, &name(&db, "a/1"), all_query("b", false), None)
        .await
        .unwrap();
    assert_eq!(names(&direct), vec![name(&db, "a/1/b/1")]);
}

#[tokio::test]
async fn list_collection_ids_pages_and_sees_only_live_collections() {
    let (server, mut client) = start().await;
    let db = db();
    server.seed(vec![
        doc(&db, "c1/x", &[]),
        doc(&db, "c2/x/sub/y", &[]),
        doc(&db, "c3/x", &[]),
        doc(&db, "c1/x/s1/y", &[]),
        doc(&db, "c1/x/s2/y", &[]),
    ]);
    let mut ids = Vec::new();
    let mut token = String::new();
    loop {
        let r = client
            .list_collection_ids(pb::ListCollectionIdsRequest {
                parent: root(&db),
                page_size: 2,
                page_token: token.clone(),
                consistency_selector: None,
            })
            .await
            .unwrap()
            .into_inner();
        assert!(r.collection_ids.len() <= 2);
        ids.extend(r.collection_ids);
        if r.next_page_token.is_empty() {
            break;
        }
        token = r.next_page_token;
    }
    assert_eq!(ids, vec!["c1", "c2", "c3"]);
    let r = client
        .list_collection_ids(pb::ListCollectionIdsRequest {
            parent: name(&db, "c1/x"),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.collection_ids, vec!["s1", "s2"]);
}

#[tokio::test]
async fn commit_batch_write_and_get_document() {
    let (server, mut client) = start().await;
    let db = db();
    let fields = sample::fidelity_fields(&db, false);
    let d = firekeep_core::model::Document::new(name(&db, "f/all"), fields.clone());
    let r = client
        .commit(pb::CommitRequest {
            database: db.database_name(),
            writes: vec![update(&d)],
            transaction: Vec::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let commit_time = r.commit_time.unwrap();
    assert_eq!(
        commit_time.nanos % 1000,
        0,
        "commit times are microsecond-precise"
    );
    let got = client
        .get_document(pb::GetDocumentRequest {
            name: name(&db, "f/all"),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let got = firekeep_firestore_server::convert::document_from_proto(&got).unwrap();
    assert_eq!(got.fields, fields, "every value type round-trips exactly");
    assert_eq!(got.create_time, got.update_time);

    // BatchWrite: a status per write; a create of an existing document fails alone.
    let create = |path: &str| pb::Write {
        current_document: Some(pb::Precondition {
            condition_type: Some(pb::precondition::ConditionType::Exists(false)),
        }),
        ..update(&doc(&db, path, &[("v", Value::Integer(2))]))
    };
    let r = client
        .batch_write(pb::BatchWriteRequest {
            database: db.database_name(),
            writes: vec![create("f/all"), create("f/new")],
            labels: Default::default(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.status[0].code, tonic::Code::AlreadyExists as i32);
    assert_eq!(r.status[1].code, 0);
    assert!(r.write_results[1].update_time.is_some());
    let missing = client
        .get_document(pb::GetDocumentRequest {
            name: name(&db, "f/none"),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);
    assert_eq!(server.documents(&db, None).len(), 2);
}

#[tokio::test]
async fn read_times_see_the_past_and_refuse_the_future() {
    let (server, mut client) = start().await;
    let db = db();
    let t1 = server.seed(vec![doc(&db, "h/a", &[("v", Value::Integer(1))])]);
    server.seed(vec![
        doc(&db, "h/a", &[("v", Value::Integer(2))]),
        doc(&db, "h/b", &[]),
    ]);
    let old = run(&mut client, &root(&db), all_query("h", false), Some(t1))
        .await
        .unwrap();
    assert_eq!(names(&old), vec![name(&db, "h/a")]);
    assert_eq!(old[0].fields["v"], Value::Integer(1));
    let now = run(&mut client, &root(&db), all_query("h", false), None)
        .await
        .unwrap();
    assert_eq!(now.len(), 2);
    assert_eq!(now[0].fields["v"], Value::Integer(2));
    assert_eq!(now[0].create_time, Some(t1), "create time survives updates");

    let started = std::time::Instant::now();
    let future = firekeep_core::model::Timestamp::now()
        .add_seconds(5)
        .unwrap();
    let err = run(&mut client, &root(&db), all_query("h", false), Some(future))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(err.message().contains("future"), "{}", err.message());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let ns = firekeep_core::model::Timestamp::new(t1.seconds(), t1.nanos() + 1).unwrap();
    let err = run(&mut client, &root(&db), all_query("h", false), Some(ns))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    let old = t1.add_seconds(-7200).unwrap();
    let err = run(&mut client, &root(&db), all_query("h", false), Some(old))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::FailedPrecondition);
}

#[tokio::test]
async fn databases_are_separate() {
    let (server, mut client) = start().await;
    let a = db();
    let b = firekeep_core::model::DatabaseId::new("other", "named-db").unwrap();
    server.seed(vec![
        doc(&a, "x/1", &[]),
        doc(&b, "y/1", &[]),
        doc(&b, "y/2", &[]),
    ]);
    assert_eq!(server.documents(&a, None).len(), 1);
    assert_eq!(server.documents(&b, None).len(), 2);
    let got = run(&mut client, &root(&b), all_query("", true), None)
        .await
        .unwrap();
    assert_eq!(names(&got), vec![name(&b, "y/1"), name(&b, "y/2")]);
    let ids = client
        .list_collection_ids(pb::ListCollectionIdsRequest {
            parent: root(&a),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .collection_ids;
    assert_eq!(ids, vec!["x"]);
    // A write naming a document of another database is refused.
    let r = client
        .batch_write(pb::BatchWriteRequest {
            database: a.database_name(),
            writes: vec![update(&doc(&b, "y/3", &[]))],
            labels: Default::default(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.status[0].code, tonic::Code::InvalidArgument as i32);
}
