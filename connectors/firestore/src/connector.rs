//! The connection: channel, auth, per-call metadata and the retrying unary call.

use crate::auth::Auth;
use crate::config::{ConnectorConfig, Credentials};
use crate::convert::{document_from_proto, timestamp_from_proto, timestamp_to_proto};
use crate::proto::firestore_client::FirestoreClient;
use crate::proto::{self, structured_query};
use crate::read_time::{truncate_to_micros, validate_read_time};
use crate::retry::{Backoff, is_retryable, status_error};
use crate::write::Ramp;
use firekeep_core::model::{DatabaseId, Document, DocumentPath, Timestamp};
use firekeep_core::source::{
    BatchLimits, ConflictMode, FirestoreSource, FirestoreTarget, JsonDocument, NameRange, Scope,
    WriteResult,
};
use firekeep_core::{Error, Result};
use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, StreamExt};
use std::sync::{Arc, Mutex};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};
use tonic::{Response, Status};

/// Largest message accepted from the server (a page of 1 MiB documents stays far below).
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// HTTP/2 receive window per stream (one streamed query or partition).
const STREAM_WINDOW_BYTES: u32 = 4 * 1024 * 1024;
/// HTTP/2 receive window of the connection, shared by all streams on it.
const CONNECTION_WINDOW_BYTES: u32 = 8 * 1024 * 1024;

/// A Firestore database reached over gRPC. Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct FirestoreConnector {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: ConnectorConfig,
    channel: Channel,
    auth: Auth,
    routing: MetadataValue<Ascii>,
    prefix: MetadataValue<Ascii>,
    pub(crate) ramp: Option<Mutex<Ramp>>,
}

impl std::fmt::Debug for FirestoreConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FirestoreConnector")
            .field("database", &self.inner.config.database)
            .field("endpoint", &self.inner.config.endpoint)
            .field("auth", &self.inner.auth)
            .finish_non_exhaustive()
    }
}

/// Percent-encodes a routing-header value (project and database ids are URL-safe except
/// for `/` and the parentheses of `(default)`).
fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl FirestoreConnector {
    /// Connects (TLS for real endpoints, plaintext for the emulator) and, for real
    /// credentials, fetches a first token so wrong credentials fail here.
    pub async fn connect(config: ConnectorConfig) -> Result<Self> {
        let uri = config.resolved_endpoint()?;
        let bad_endpoint = |e: &dyn std::fmt::Display| {
            Error::InvalidConfig(format!(
                "Firestore endpoint {uri:?} is not usable: {e}; give host:port or https://host"
            ))
        };
        let mut endpoint = Endpoint::from_shared(uri.clone())
            .map_err(|e| bad_endpoint(&e))?
            .tcp_nodelay(true)
            // Flow control is what bounds a streamed query's memory: the server may send
            // at most one stream window ahead of what the reader consumed, and all streams
            // together at most the connection window. 4 MiB holds a 1 MiB document with
            // room to spare and keeps 80 MB/s flowing over a 50 ms round trip; adaptive
            // windows stay off (they would grow without this bound).
            .initial_stream_window_size(Some(STREAM_WINDOW_BYTES))
            .initial_connection_window_size(Some(CONNECTION_WINDOW_BYTES))
            .http2_adaptive_window(false)
            .keep_alive_while_idle(true)
            .http2_keep_alive_interval(std::time::Duration::from_secs(30));
        if uri.starts_with("https://") {
            endpoint = endpoint
                .tls_config(ClientTlsConfig::new().with_webpki_roots())
                .map_err(|e| bad_endpoint(&e))?;
        }
        let channel = endpoint.connect().await.map_err(|e| Error::Firestore {
            code: "UNAVAILABLE".into(),
            message: format!(
                "could not connect to {uri}: {e}; check the endpoint (or FIRESTORE_EMULATOR_HOST) \
                 and that the server is running and reachable"
            ),
        })?;
        let auth = Auth::new(&config.credentials, crate::auth::FIRESTORE_SCOPES).await?;
        let db_name = config.database.database_name();
        let routing = format!("database={}", url_encode(&db_name))
            .parse()
            .map_err(|_| Error::InvalidConfig(format!("database name {db_name:?} is not valid")))?;
        let prefix = db_name
            .parse()
            .map_err(|_| Error::InvalidConfig(format!("database name {db_name:?} is not valid")))?;
        let emulator = matches!(config.credentials, Credentials::Emulator);
        let ramp = config
            .ramp_up
            .unwrap_or(!emulator)
            .then(|| Mutex::new(Ramp::default()));
        Ok(FirestoreConnector {
            inner: Arc::new(Inner {
                config,
                channel,
                auth,
                routing,
                prefix,
                ramp,
            }),
        })
    }

    /// Connects with credentials chosen from the environment, see
    /// [`ConnectorConfig::from_env`].
    pub async fn from_env(project: &str, database: &str) -> Result<Self> {
        Self::connect(ConnectorConfig::from_env(project, database)?).await
    }

    /// The configuration this connector was made with.
    pub fn config(&self) -> &ConnectorConfig {
        &self.inner.config
    }

    /// Lists the documents of one collection under `parent` (the root when `None`) at
    /// `read_time`, paged. With `show_missing`, parents that exist only through their
    /// subcollections are listed too, with no fields and no create/update time.
    pub fn list_documents(
        &self,
        parent: Option<&DocumentPath>,
        collection: &str,
        show_missing: bool,
        read_time: Timestamp,
    ) -> BoxStream<'static, Result<Document>> {
        let inner = self.inner.clone();
        let parent = inner.parent_name(parent);
        let collection = collection.to_string();
        // State: next page token (None once the last page was fetched).
        stream::try_unfold(Some(String::new()), move |token| {
            let inner = inner.clone();
            let parent = parent.clone();
            let collection = collection.clone();
            async move {
                let Some(token) = token else {
                    return Ok(None);
                };
                let req = proto::ListDocumentsRequest {
                    parent,
                    collection_id: collection,
                    page_size: inner.config.list_page_size,
                    page_token: token,
                    show_missing,
                    consistency_selector: Some(
                        proto::list_documents_request::ConsistencySelector::ReadTime(
                            timestamp_to_proto(read_time),
                        ),
                    ),
                    ..Default::default()
                };
                let resp = inner
                    .unary("ListDocuments", req, |mut c, r| {
                        Box::pin(async move { c.list_documents(r).await })
                    })
                    .await?;
                let docs = resp
                    .documents
                    .into_iter()
                    .map(document_from_proto)
                    .collect::<Vec<_>>();
                let next = (!resp.next_page_token.is_empty()).then_some(resp.next_page_token);
                Ok(Some((stream::iter(docs), next)))
            }
        })
        .map(|page| match page {
            Ok(s) => s.left_stream(),
            Err(e) => stream::iter(vec![Err(e)]).right_stream(),
        })
        .flatten()
        .boxed()
    }
}

impl Inner {
    pub(crate) fn root(&self) -> String {
        self.config.database.documents_root()
    }

    pub(crate) fn parent_name(&self, parent: Option<&DocumentPath>) -> String {
        match parent {
            Some(p) => self.config.database.document_name(p),
            None => self.root(),
        }
    }

    pub(crate) fn client(&self) -> FirestoreClient<Channel> {
        FirestoreClient::new(self.channel.clone())
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES)
    }

    /// A gRPC client for calls with their own codec (BatchWrite's encoded requests).
    pub(crate) fn raw_grpc(&self) -> tonic::client::Grpc<Channel> {
        tonic::client::Grpc::new(self.channel.clone())
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES)
    }

    /// RunQuery with the responses' documents kept encoded ([`crate::wire`]).
    pub(crate) async fn run_query_wire(
        &self,
        req: tonic::Request<crate::proto::RunQueryRequest>,
    ) -> std::result::Result<Response<tonic::Streaming<crate::wire::WireResponse>>, Status> {
        let mut grpc = tonic::client::Grpc::new(self.channel.clone())
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        grpc.ready()
            .await
            .map_err(|e| Status::unknown(format!("Service was not ready: {e}")))?;
        let path = tonic::codegen::http::uri::PathAndQuery::from_static(
            "/google.firestore.v1.Firestore/RunQuery",
        );
        grpc.server_streaming(req, path, crate::wire::RunQueryCodec)
            .await
    }

    /// Wraps a message with auth, routing metadata and the call deadline.
    pub(crate) async fn request<T>(&self, msg: T) -> Result<tonic::Request<T>> {
        let mut r = self.streaming_request(msg).await?;
        r.set_timeout(self.config.call_timeout);
        Ok(r)
    }

    /// Wraps a message with auth and routing metadata but no deadline: a whole-segment
    /// RunQuery may stream for hours, so its reader bounds the wait for each response
    /// instead of the call.
    pub(crate) async fn streaming_request<T>(&self, msg: T) -> Result<tonic::Request<T>> {
        let mut r = tonic::Request::new(msg);
        let md = r.metadata_mut();
        md.insert("authorization", self.auth.header().await?);
        md.insert("x-goog-request-params", self.routing.clone());
        md.insert("google-cloud-resource-prefix", self.prefix.clone());
        Ok(r)
    }

    /// One unary call, retried on transient codes.
    pub(crate) async fn unary<Req, Resp, F>(&self, what: &str, msg: Req, call: F) -> Result<Resp>
    where
        Req: Clone,
        F: Fn(
            FirestoreClient<Channel>,
            tonic::Request<Req>,
        ) -> BoxFuture<'static, std::result::Result<Response<Resp>, Status>>,
    {
        let mut backoff = Backoff::new(self.config.retry);
        loop {
            let req = self.request(msg.clone()).await?;
            match call(self.client(), req).await {
                Ok(resp) => return Ok(resp.into_inner()),
                Err(s) if is_retryable(s.code()) && backoff.retry().await => continue,
                Err(s) => return Err(status_error(what, &s)),
            }
        }
    }

    /// Checks a read time against Firestore's rules using this machine's clock.
    pub(crate) fn check_read_time(&self, read_time: Timestamp) -> Result<()> {
        validate_read_time(read_time, Timestamp::now())
    }

    pub(crate) async fn list_collection_ids(
        &self,
        parent: Option<&DocumentPath>,
        read_time: Timestamp,
    ) -> Result<Vec<String>> {
        self.check_read_time(read_time)?;
        let parent = self.parent_name(parent);
        let mut ids = Vec::new();
        let mut token = String::new();
        loop {
            let req = proto::ListCollectionIdsRequest {
                parent: parent.clone(),
                page_size: self.config.list_page_size,
                page_token: token,
                consistency_selector: Some(
                    proto::list_collection_ids_request::ConsistencySelector::ReadTime(
                        timestamp_to_proto(read_time),
                    ),
                ),
            };
            let resp = self
                .unary("ListCollectionIds", req, |mut c, r| {
                    Box::pin(async move { c.list_collection_ids(r).await })
                })
                .await?;
            ids.extend(resp.collection_ids);
            if resp.next_page_token.is_empty() {
                break;
            }
            token = resp.next_page_token;
        }
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    /// A read time the server vouches for: the `read_time` of a one-document query,
    /// truncated to the microsecond precision Firestore accepts.
    async fn snapshot_time(&self) -> Result<Timestamp> {
        let query = proto::StructuredQuery {
            from: vec![structured_query::CollectionSelector {
                collection_id: String::new(),
                all_descendants: true,
            }],
            limit: Some(1),
            ..Default::default()
        };
        let msg = proto::RunQueryRequest {
            parent: self.root(),
            query_type: Some(proto::run_query_request::QueryType::StructuredQuery(query)),
            ..Default::default()
        };
        let mut backoff = Backoff::new(self.config.retry);
        loop {
            let req = self.request(msg.clone()).await?;
            let result = async {
                let mut s = self.client().run_query(req).await?.into_inner();
                let mut time = None;
                while let Some(r) = s.message().await? {
                    if let Some(t) = r.read_time {
                        time = Some(t);
                    }
                }
                Ok::<_, Status>(time)
            }
            .await;
            match result {
                Ok(Some(t)) => return Ok(truncate_to_micros(timestamp_from_proto(&t)?)),
                Ok(None) => {
                    return Err(Error::Firestore {
                        code: "INTERNAL".into(),
                        message: "the server answered a query without a read_time; \
                                  it does not behave like Firestore"
                            .into(),
                    });
                }
                Err(s) if is_retryable(s.code()) && backoff.retry().await => continue,
                Err(s) => return Err(status_error("RunQuery (snapshot time)", &s)),
            }
        }
    }
}

#[async_trait::async_trait]
impl FirestoreSource for FirestoreConnector {
    fn database(&self) -> &DatabaseId {
        &self.inner.config.database
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
        crate::read::stream_documents(self.inner.clone(), scope.clone(), range, read_time)
    }

    fn stream_source_documents(
        &self,
        scope: &Scope,
        range: NameRange,
        read_time: Timestamp,
    ) -> BoxStream<'static, Result<firekeep_core::source::SourceDocument>> {
        crate::read::stream_source_documents(self.inner.clone(), scope.clone(), range, read_time)
    }

    async fn partition(
        &self,
        scope: &Scope,
        read_time: Timestamp,
        max_partitions: usize,
    ) -> Result<Vec<NameRange>> {
        crate::read::partition(&self.inner, scope, read_time, max_partitions).await
    }

    async fn count_documents(&self, scope: &Scope, read_time: Timestamp) -> Result<Option<u64>> {
        crate::read::count(&self.inner, scope, read_time).await
    }
}

#[async_trait::async_trait]
impl FirestoreTarget for FirestoreConnector {
    fn database(&self) -> &DatabaseId {
        &self.inner.config.database
    }

    async fn write_batch(
        &self,
        docs: Vec<Document>,
        mode: ConflictMode,
    ) -> Result<Vec<WriteResult>> {
        crate::write::write_batch(&self.inner, docs, mode).await
    }

    async fn write_json_batch(
        &self,
        docs: Vec<JsonDocument>,
        mode: ConflictMode,
    ) -> Result<Vec<WriteResult>> {
        crate::write::write_json_batch(&self.inner, docs, mode).await
    }

    fn batch_limits(&self) -> BatchLimits {
        BatchLimits::default()
    }
}
