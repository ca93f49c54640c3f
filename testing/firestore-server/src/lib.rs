//! An in-process Firestore v1 gRPC server for tests and the demo: in memory, versioned
//! (reads at a past `read_time` see the past), with faults on demand.
//!
//! It follows Firestore's documented behaviour, checked with Google's own Node client
//! (`node-tests/`): commit times have microsecond precision and strictly increase; stored
//! timestamp values are rounded down to microseconds, as Firestore documents ("precise only
//! to microseconds"; turn off with [`Builder::truncate_timestamps`]); `read_time`s must be
//! microsecond-precise, not in the future and at most an hour old (or whole minutes within
//! seven days with [`Builder::pitr`]); documents are limited to 1 MiB and nesting to 20.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use firekeep_firestore_server::FirestoreServer;
//! let server = FirestoreServer::builder().partition_query(true).build().start().await?;
//! println!("FIRESTORE_EMULATOR_HOST={}", server.emulator_host());
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Implemented: GetDocument, ListDocuments (incl. `show_missing`), CreateDocument,
//! UpdateDocument, DeleteDocument, BatchGetDocuments, BeginTransaction, Commit, Rollback,
//! RunQuery, RunAggregationQuery (count), PartitionQuery, ListCollectionIds, BatchWrite.
//! Everything else (Listen, Write, ExecutePipeline) answers UNIMPLEMENTED. Any bearer token,
//! or none, is accepted.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod convert;
mod faults;
mod query;
pub mod sample;
mod service;
mod store;
mod values;

#[allow(missing_docs, clippy::all, clippy::pedantic)]
mod generated {
    include!(concat!(
        env!("OUT_DIR"),
        "/google.firestore.v1.Firestore.rs"
    ));
}

/// `google.protobuf.Empty`, as prost maps it (named for the generated server code).
type Empty = ();

pub use faults::{Faults, Method};

use firekeep_core::model::{DatabaseId, Document, Timestamp};
use std::net::SocketAddr;
use std::sync::Arc;
use store::{Options, Store, Version};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Largest request the server accepts; Firestore's API limit is 10 MiB per request, and
/// the encoding adds a little.
const MAX_REQUEST_BYTES: usize = 11 * 1024 * 1024;

/// Configures a server; see [`FirestoreServer::builder`].
#[derive(Clone, Debug)]
pub struct Builder {
    port: u16,
    partition_query: bool,
    truncate_timestamps: bool,
    pitr: bool,
}

impl Builder {
    /// Listen on this port of 127.0.0.1 (default 0: any free port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Whether PartitionQuery is served (default true); when false it answers
    /// UNIMPLEMENTED, as some Firestore-compatible servers do.
    pub fn partition_query(mut self, on: bool) -> Self {
        self.partition_query = on;
        self
    }

    /// Whether written timestamp values are rounded down to microseconds, as Firestore
    /// does (default true). Seeded documents are stored as given either way.
    pub fn truncate_timestamps(mut self, on: bool) -> Self {
        self.truncate_timestamps = on;
        self
    }

    /// Whether point-in-time recovery is on: reads may then go back seven days in whole
    /// minutes (default false: one hour).
    pub fn pitr(mut self, on: bool) -> Self {
        self.pitr = on;
        self
    }

    /// The configured server, not yet listening.
    pub fn build(self) -> FirestoreServer {
        FirestoreServer { builder: self }
    }
}

/// A Firestore server waiting to be started.
#[derive(Clone, Debug)]
pub struct FirestoreServer {
    builder: Builder,
}

impl Default for FirestoreServer {
    fn default() -> Self {
        FirestoreServer::builder().build()
    }
}

impl FirestoreServer {
    /// A builder with the defaults: any free port, PartitionQuery on, timestamps truncated
    /// to microseconds, no point-in-time recovery.
    pub fn builder() -> Builder {
        Builder {
            port: 0,
            partition_query: true,
            truncate_timestamps: true,
            pitr: false,
        }
    }

    /// Binds 127.0.0.1 and serves on the current tokio runtime until shut down or dropped.
    pub async fn start(self) -> std::io::Result<RunningServer> {
        let b = self.builder;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", b.port)).await?;
        let addr = listener.local_addr()?;
        let store = Arc::new(Store::new(Options {
            truncate_timestamps: b.truncate_timestamps,
            pitr: b.pitr,
            max_read_age_secs: 3600,
        }));
        let faults = Arc::new(Faults::default());
        let svc = service::Service {
            store: store.clone(),
            faults: faults.clone(),
            partition_query: b.partition_query,
        };
        let grpc = generated::firestore_server::FirestoreServer::new(svc)
            .max_decoding_message_size(MAX_REQUEST_BYTES)
            .max_encoding_message_size(usize::MAX);
        let (tx, rx) = oneshot::channel::<()>();
        // Without TCP_NODELAY small unary replies wait out the peer's delayed ACK (~40 ms).
        let incoming = tokio_stream::StreamExt::map(
            tokio_stream::wrappers::TcpListenerStream::new(listener),
            |conn| {
                if let Ok(stream) = &conn {
                    let _ = stream.set_nodelay(true);
                }
                conn
            },
        );
        let task = tokio::spawn(async move {
            let r = tonic::transport::Server::builder()
                .add_service(grpc)
                .serve_with_incoming_shutdown(incoming, async {
                    let _ = rx.await;
                })
                .await;
            if let Err(e) = r {
                eprintln!("firestore test server stopped: {e}");
            }
        });
        Ok(RunningServer {
            addr,
            store,
            faults,
            stop: Some(tx),
            task: Some(task),
        })
    }
}

/// A listening server. Dropping it stops the server.
pub struct RunningServer {
    addr: SocketAddr,
    store: Arc<Store>,
    faults: Arc<Faults>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl RunningServer {
    /// The address listened on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, for a plaintext gRPC channel.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `127.0.0.1:PORT`, the value for `FIRESTORE_EMULATOR_HOST`.
    pub fn emulator_host(&self) -> String {
        self.addr.to_string()
    }

    /// Loads documents directly, in one commit, and returns its commit time. Each
    /// document's create and update times become the commit time; values are stored
    /// exactly as given (no timestamp rounding), so tests can plant any value.
    ///
    /// # Panics
    /// If a document name is not a valid Firestore document name (a test bug).
    pub fn seed(&self, docs: impl IntoIterator<Item = Document>) -> Timestamp {
        let mut data = self.store.write();
        let t = self.store.next_commit_time();
        let commit = convert::timestamp_to_proto(t);
        for doc in docs {
            let (db, path) = doc
                .path()
                .unwrap_or_else(|e| panic!("seed: bad document name {:?}: {e}", doc.name));
            let mut p = convert::document_to_proto(&doc);
            let versions = data
                .dbs
                .entry(db.database_name())
                .or_default()
                .docs
                .entry(path.segments().to_vec())
                .or_default();
            let existing = versions
                .last()
                .and_then(|v| v.doc.as_ref())
                .and_then(|d| d.create_time);
            p.create_time = Some(existing.unwrap_or(commit));
            p.update_time = Some(commit);
            let v = Version {
                time: t,
                doc: Some(Arc::new(p)),
            };
            match versions.last_mut() {
                Some(last) if last.time == t => *last = v,
                _ => versions.push(v),
            }
        }
        t
    }

    /// Every document of `database` at `read_time` (now when `None`), in key order.
    pub fn documents(&self, database: &DatabaseId, read_time: Option<Timestamp>) -> Vec<Document> {
        let rt = read_time.unwrap_or(Timestamp::MAX);
        let data = self.store.read();
        let Some(db) = data.dbs.get(&database.database_name()) else {
            return Vec::new();
        };
        db.docs
            .values()
            .filter_map(|versions| store::version_at(versions, rt))
            .map(|d| convert::document_from_proto(d).expect("stored documents are valid"))
            .collect()
    }

    /// A read time at which everything committed so far is visible.
    pub fn now(&self) -> Timestamp {
        self.store.now()
    }

    /// The fault switches.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Stops listening and waits for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}
