//! Generates a tonic server for `google.firestore.v1.Firestore` over the prost types of
//! `googleapis-tonic-google-firestore-v1` (that crate ships only the client).

fn main() {
    const T: &str = "googleapis_tonic_google_firestore_v1::google::firestore::v1";
    // (rust name, route name, input, output, server-streaming)
    let methods = [
        (
            "get_document",
            "GetDocument",
            "GetDocumentRequest",
            "Document",
            false,
        ),
        (
            "list_documents",
            "ListDocuments",
            "ListDocumentsRequest",
            "ListDocumentsResponse",
            false,
        ),
        (
            "update_document",
            "UpdateDocument",
            "UpdateDocumentRequest",
            "Document",
            false,
        ),
        (
            "delete_document",
            "DeleteDocument",
            "DeleteDocumentRequest",
            "()",
            false,
        ),
        (
            "batch_get_documents",
            "BatchGetDocuments",
            "BatchGetDocumentsRequest",
            "BatchGetDocumentsResponse",
            true,
        ),
        (
            "begin_transaction",
            "BeginTransaction",
            "BeginTransactionRequest",
            "BeginTransactionResponse",
            false,
        ),
        ("commit", "Commit", "CommitRequest", "CommitResponse", false),
        ("rollback", "Rollback", "RollbackRequest", "()", false),
        (
            "run_query",
            "RunQuery",
            "RunQueryRequest",
            "RunQueryResponse",
            true,
        ),
        (
            "run_aggregation_query",
            "RunAggregationQuery",
            "RunAggregationQueryRequest",
            "RunAggregationQueryResponse",
            true,
        ),
        (
            "partition_query",
            "PartitionQuery",
            "PartitionQueryRequest",
            "PartitionQueryResponse",
            false,
        ),
        (
            "list_collection_ids",
            "ListCollectionIds",
            "ListCollectionIdsRequest",
            "ListCollectionIdsResponse",
            false,
        ),
        (
            "batch_write",
            "BatchWrite",
            "BatchWriteRequest",
            "BatchWriteResponse",
            false,
        ),
        (
            "create_document",
            "CreateDocument",
            "CreateDocumentRequest",
            "Document",
            false,
        ),
    ];
    let mut service = tonic_build::manual::Service::builder()
        .name("Firestore")
        .package("google.firestore.v1");
    for (name, route, input, output, streaming) in methods {
        let ty = |t: &str| {
            if t == "()" {
                // `()` is not a path; lib.rs defines this alias for google.protobuf.Empty.
                "crate::Empty".to_string()
            } else {
                format!("{T}::{t}")
            }
        };
        let mut m = tonic_build::manual::Method::builder()
            .name(name)
            .route_name(route)
            .input_type(ty(input))
            .output_type(ty(output))
            .codec_path("tonic_prost::ProstCodec");
        if streaming {
            m = m.server_streaming();
        }
        service = service.method(m.build());
    }
    tonic_build::manual::Builder::new()
        .build_client(false)
        .build_transport(false)
        .compile(&[service.build()]);
}
