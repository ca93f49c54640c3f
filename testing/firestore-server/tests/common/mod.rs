//! Helpers shared by the gRPC tests: a started server and a raw generated client.
#![allow(dead_code)]

use firekeep_core::model::{DatabaseId, Document, DocumentPath, Timestamp, Value};
use firekeep_firestore_server::{FirestoreServer, RunningServer, convert};
use googleapis_tonic_google_firestore_v1::google::firestore::v1 as pb;
use pb::firestore_client::FirestoreClient;
use pb::structured_query::{CollectionSelector, Direction, FieldReference, Order};
use std::collections::BTreeMap;
use tonic::transport::Channel;

pub type Client = FirestoreClient<Channel>;

pub async fn start() -> (RunningServer, Client) {
    start_with(FirestoreServer::builder().build()).await
}

pub async fn start_with(server: FirestoreServer) -> (RunningServer, Client) {
    let server = server.start().await.expect("server starts");
    let channel = Channel::from_shared(server.endpoint())
        .unwrap()
        .connect()
        .await
        .expect("client connects");
    let client = FirestoreClient::new(channel).max_decoding_message_size(64 << 20);
    (server, client)
}

pub fn db() -> DatabaseId {
    DatabaseId::default_database("p").unwrap()
}

pub fn root(db: &DatabaseId) -> String {
    db.documents_root()
}

pub fn name(db: &DatabaseId, path: &str) -> String {
    db.document_name(&DocumentPath::parse(path).unwrap())
}

pub fn doc(db: &DatabaseId, path: &str, fields: &[(&str, Value)]) -> Document {
    Document::new(
        name(db, path),
        fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect::<BTreeMap<_, _>>(),
    )
}

pub fn reference(name: &str) -> pb::Value {
    pb::Value {
        value_type: Some(pb::value::ValueType::ReferenceValue(name.to_string())),
    }
}

pub fn int(i: i64) -> pb::Value {
    pb::Value {
        value_type: Some(pb::value::ValueType::IntegerValue(i)),
    }
}

pub fn by_name(desc: bool) -> Order {
    Order {
        field: Some(FieldReference {
            field_path: "__name__".into(),
        }),
        direction: if desc {
            Direction::Descending
        } else {
            Direction::Ascending
        } as i32,
    }
}

/// An all-descendants query from the root (or `collection` only), ordered by name.
pub fn all_query(collection: &str, all_descendants: bool) -> pb::StructuredQuery {
    pb::StructuredQuery {
        from: vec![CollectionSelector {
            collection_id: collection.into(),
            all_descendants,
        }],
        order_by: vec![by_name(false)],
        ..Default::default()
    }
}

/// Runs a query; returns the documents and the read time of the responses.
pub async fn run(
    client: &mut Client,
    parent: &str,
    q: pb::StructuredQuery,
    read_time: Option<Timestamp>,
) -> Result<Vec<Document>, tonic::Status> {
    let req = pb::RunQueryRequest {
        parent: parent.into(),
        query_type: Some(pb::run_query_request::QueryType::StructuredQuery(q)),
        consistency_selector: read_time.map(|t| {
            pb::run_query_request::ConsistencySelector::ReadTime(convert::timestamp_to_proto(t))
        }),
        explain_options: None,
    };
    let mut stream = client.run_query(req).await?.into_inner();
    let mut out = Vec::new();
    while let Some(r) = stream.message().await? {
        if let Some(d) = r.document {
            out.push(convert::document_from_proto(&d).unwrap());
        }
    }
    Ok(out)
}

pub fn names(docs: &[Document]) -> Vec<String> {
    docs.iter().map(|d| d.name.clone()).collect()
}

pub fn update(doc: &Document) -> pb::Write {
    pb::Write {
        operation: Some(pb::write::Operation::Update(convert::document_to_proto(
            doc,
        ))),
        ..Default::default()
    }
}
