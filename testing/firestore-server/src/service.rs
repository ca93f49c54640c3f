//! The `google.firestore.v1.Firestore` service over the versioned store.

use crate::faults::{CallPlan, Faults, Method};
use crate::generated::firestore_server::Firestore;
use crate::query::{self, Query};
use crate::store::{self, Applied, Key, Store, Txn, prefix_end, version_at};
use firekeep_core::model::Timestamp;
use futures::stream::BoxStream;
use googleapis_tonic_google_firestore_v1::google::firestore::v1 as pb;
use googleapis_tonic_google_firestore_v1::google::rpc;
use std::collections::{HashMap, HashSet};
use std::ops::Bound;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::convert::timestamp_to_proto;

/// Documents fetched per lock acquisition when streaming.
const STREAM_CHUNK: usize = 64;
/// Responses buffered ahead of a slow reader (backpressure beyond that).
const STREAM_BUFFER: usize = 32;
/// How far behind a rate-limited stream may fall and still catch up at full speed.
const RATE_BURST: Duration = Duration::from_millis(100);
/// Most writes Firestore accepts in one BatchWrite.
const MAX_BATCH_WRITES: usize = 500;

#[derive(Clone)]
pub(crate) struct Service {
    pub(crate) store: Arc<Store>,
    pub(crate) faults: Arc<Faults>,
    pub(crate) partition_query: bool,
}

/// How a read picks its snapshot (the request's consistency selector).
enum Consistency<'a> {
    Latest,
    Transaction(&'a [u8]),
    NewTransaction(&'a pb::TransactionOptions),
    ReadTime(&'a prost_types::Timestamp),
}

impl Service {
    async fn begin(&self, method: Method) -> Result<CallPlan, Status> {
        let plan = self.faults.on_call(method)?;
        if !plan.latency.is_zero() {
            tokio::time::sleep(plan.latency).await;
        }
        Ok(plan)
    }

    fn new_txn(&self, database: &str, read_time: Option<Timestamp>) -> Vec<u8> {
        let mut data = self.store.write();
        data.next_txn += 1;
        let id = format!("txn-{}", data.next_txn).into_bytes();
        data.txns.insert(
            id.clone(),
            Txn {
                database: database.to_string(),
                read_time,
            },
        );
        id
    }

    fn txn_options(
        &self,
        database: &str,
        o: &pb::TransactionOptions,
    ) -> Result<(Vec<u8>, Timestamp), Status> {
        use pb::transaction_options::{Mode, read_only::ConsistencySelector};
        match &o.mode {
            Some(Mode::ReadOnly(ro)) => {
                let rt = match &ro.consistency_selector {
                    Some(ConsistencySelector::ReadTime(t)) => self.store.check_read_time(t)?,
                    None => self.store.now(),
                };
                Ok((self.new_txn(database, Some(rt)), rt))
            }
            _ => Ok((self.new_txn(database, None), self.store.now())),
        }
    }

    /// The read time of a read, and the id of a transaction it starts.
    fn snapshot(
        &self,
        database: &str,
        c: Consistency<'_>,
    ) -> Result<(Timestamp, Option<Vec<u8>>), Status> {
        match c {
            Consistency::Latest => Ok((self.store.now(), None)),
            Consistency::ReadTime(t) => Ok((self.store.check_read_time(t)?, None)),
            Consistency::NewTransaction(o) => {
                let (id, rt) = self.txn_options(database, o)?;
                Ok((rt, Some(id)))
            }
            Consistency::Transaction(id) => {
                let data = self.store.read();
                let txn = data
                    .txns
                    .get(id)
                    .filter(|t| t.database == database)
                    .ok_or_else(|| {
                        Status::invalid_argument(
                            "the transaction is not valid or has expired; start a new one",
                        )
                    })?;
                let rt = txn.read_time;
                drop(data);
                Ok((rt.unwrap_or_else(|| self.store.now()), None))
            }
        }
    }

    /// Applies writes atomically (Commit): all or nothing, one commit time.
    fn commit_writes(
        &self,
        database: &str,
        writes: &[pb::Write],
    ) -> Result<(Vec<pb::WriteResult>, Timestamp), Status> {
        let mut data = self.store.write();
        let commit_time = self.store.next_commit_time();
        let db = data.dbs.entry(database.to_string()).or_default();
        let mut overlay: HashMap<Key, Option<Arc<pb::Document>>> = HashMap::new();
        let mut applied: Vec<Applied> = Vec::with_capacity(writes.len());
        for w in writes {
            let key = write_key(w)?;
            let current = match overlay.get(&key) {
                Some(d) => d.clone(),
                None => db.get(&key, Timestamp::MAX).cloned(),
            };
            let a = store::apply_write(
                database,
                current.as_ref(),
                w,
                commit_time,
                &self.store.options,
            )?;
            overlay.insert(a.key.clone(), a.after.clone());
            applied.push(a);
        }
        let results = applied.iter().map(|a| a.result.clone()).collect();
        store::record(db, applied, commit_time);
        Ok((results, commit_time))
    }
}

fn write_key(w: &pb::Write) -> Result<Key, Status> {
    use pb::write::Operation;
    let name = match &w.operation {
        Some(Operation::Update(d)) => &d.name,
        Some(Operation::Delete(n)) => n,
        Some(Operation::Transform(t)) => &t.document,
        None => return Err(Status::invalid_argument("a write has no operation")),
    };
    Ok(store::parse_document_name(name)?.1)
}

fn unavailable_cut() -> Status {
    Status::unavailable("injected fault: the stream was cut")
}

fn rpc_status(s: &Status) -> rpc::Status {
    rpc::Status {
        code: s.code() as i32,
        message: s.message().to_string(),
        details: Vec::new(),
    }
}

/// A 20-character id like Firestore's auto-generated ones.
fn auto_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut x = Timestamp::now().nanos() as u64
        ^ (COUNTER.fetch_add(1, Ordering::Relaxed) << 32)
        ^ 0x9E37_79B9_7F4A_7C15;
    (0..20)
        .map(|_| {
            // xorshift64*: uniform enough for ids.
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            let r = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
            ALPHABET[(r >> 58) as usize % ALPHABET.len()] as char
        })
        .collect()
}

#[tonic::async_trait]
impl Firestore for Service {
    async fn get_document(
        &self,
        req: Request<pb::GetDocumentRequest>,
    ) -> Result<Response<pb::Document>, Status> {
        self.begin(Method::GetDocument).await?;
        let req = req.into_inner();
        let (database, key) = store::parse_document_name(&req.name)?;
        use pb::get_document_request::ConsistencySelector as C;
        let c = match &req.consistency_selector {
            Some(C::Transaction(t)) => Consistency::Transaction(t),
            Some(C::ReadTime(t)) => Consistency::ReadTime(t),
            None => Consistency::Latest,
        };
        let (rt, _) = self.snapshot(&database, c)?;
        let data = self.store.read();
        let doc = data
            .dbs
            .get(&database)
            .and_then(|db| db.get(&key, rt))
            .ok_or_else(|| Status::not_found(format!("Document \"{}\" not found.", req.name)))?;
        Ok(Response::new(query::mask_document(doc, req.mask.as_ref())?))
    }

    async fn list_documents(
        &self,
        req: Request<pb::ListDocumentsRequest>,
    ) -> Result<Response<pb::ListDocumentsResponse>, Status> {
        self.begin(Method::ListDocuments).await?;
        let req = req.into_inner();
        let (database, parent) = store::parse_parent(&req.parent)?;
        if !(req.order_by.is_empty()
            || req.order_by == "__name__"
            || req.order_by == "__name__ asc")
        {
            return Err(Status::invalid_argument(
                "ListDocuments supports ordering by __name__ only",
            ));
        }
        use pb::list_documents_request::ConsistencySelector as C;
        let c = match &req.consistency_selector {
            Some(C::Transaction(t)) => Consistency::Transaction(t),
            Some(C::ReadTime(t)) => Consistency::ReadTime(t),
            None => Consistency::Latest,
        };
        let (rt, _) = self.snapshot(&database, c)?;
        let page_size = if req.page_size > 0 {
            req.page_size as usize
        } else {
            usize::MAX
        };
        let mut prefix = parent.clone();
        if !req.collection_id.is_empty() {
            prefix.push(req.collection_id.clone());
        }
        let lo = if !req.page_token.is_empty() {
            let (_, k) = store::parse_document_name(&req.page_token)
                .map_err(|_| Status::invalid_argument("page_token is not valid"))?;
            // Everything under the last returned document was covered with it.
            Bound::Excluded(prefix_end(&k))
        } else if prefix.is_empty() {
            Bound::Unbounded
        } else if req.collection_id.is_empty() {
            Bound::Excluded(prefix.clone())
        } else {
            Bound::Included(prefix.clone())
        };
        let hi = if prefix.is_empty() {
            Bound::Unbounded
        } else {
            Bound::Excluded(prefix_end(&prefix))
        };
        let mask = req.mask.as_ref();
        let data = self.store.read();
        let mut out = Vec::new();
        let mut next_page_token = String::new();
        if let Some(db) = data.dbs.get(&database) {
            let n = parent.len();
            let root = format!("{database}/documents");
            let mut cur: Option<(Key, bool)> = None; // candidate, any live descendant
            let emit =
                |cand: Key, live_desc: bool, out: &mut Vec<pb::Document>| -> Result<(), Status> {
                    match db.get(&cand, rt) {
                        Some(doc) => out.push(query::mask_document(doc, mask)?),
                        None if req.show_missing && live_desc => out.push(pb::Document {
                            name: format!("{root}/{}", cand.join("/")),
                            ..Default::default()
                        }),
                        None => {}
                    }
                    Ok(())
                };
            let valid = !matches!((&lo, &hi), (Bound::Excluded(a) | Bound::Included(a), Bound::Excluded(b)) if a >= b);
            if valid {
                for (key, versions) in db.docs.range::<Key, _>((lo, hi)) {
                    if key.len() < n + 2 {
                        continue;
                    }
                    let cand = key[..n + 2].to_vec();
                    let live = version_at(versions, rt).is_some();
                    match &mut cur {
                        Some((c, any)) if *c == cand => {
                            if key.len() > n + 2 {
                                *any |= live;
                            }
                        }
                        _ => {
                            if let Some((c, any)) = cur.take() {
                                emit(c, any, &mut out)?;
                                if out.len() >= page_size {
                                    next_page_token =
                                        out.last().map(|d| d.name.clone()).unwrap_or_default();
                                    break;
                                }
                            }
                            cur = Some((cand, key.len() > n + 2 && live));
                        }
                    }
                }
                if next_page_token.is_empty()
                    && let Some((c, any)) = cur.take()
                {
                    emit(c, any, &mut out)?;
                }
            }
            if out.len() > page_size {
                out.truncate(page_size);
            }
            if out.len() == page_size && next_page_token.is_empty() && page_size != usize::MAX {
                next_page_token = out.last().map(|d| d.name.clone()).unwrap_or_default();
            }
        }
        Ok(Response::new(pb::ListDocumentsResponse {
            documents: out,
            next_page_token,
        }))
    }

    async fn update_document(
        &self,
        req: Request<pb::UpdateDocumentRequest>,
    ) -> Result<Response<pb::Document>, Status> {
        self.begin(Method::UpdateDocument).await?;
        let req = req.into_inner();
        let doc = req
            .document
            .ok_or_else(|| Status::invalid_argument("document is required"))?;
        let (database, key) = store::parse_document_name(&doc.name)?;
        let w = pb::Write {
            update_mask: req.update_mask,
            update_transforms: Vec::new(),
            current_document: req.current_document,
            operation: Some(pb::write::Operation::Update(doc)),
        };
        self.commit_writes(&database, &[w])?;
        let data = self.store.read();
        let doc = data
            .dbs
            .get(&database)
            .and_then(|db| db.get(&key, Timestamp::MAX))
            .cloned();
        drop(data);
        let doc = doc.ok_or_else(|| Status::internal("document vanished after update"))?;
        Ok(Response::new(query::mask_document(
            &doc,
            req.mask.as_ref(),
        )?))
    }

    async fn delete_document(
        &self,
        req: Request<pb::DeleteDocumentRequest>,
    ) -> Result<Response<()>, Status> {
        self.begin(Method::DeleteDocument).await?;
        let req = req.into_inner();
        let (database, _) = store::parse_document_name(&req.name)?;
        let w = pb::Write {
            current_document: req.current_document,
            operation: Some(pb::write::Operation::Delete(req.name)),
            ..Default::default()
        };
        self.commit_writes(&database, &[w])?;
        Ok(Response::new(()))
    }

    async fn create_document(
        &self,
        req: Request<pb::CreateDocumentRequest>,
    ) -> Result<Response<pb::Document>, Status> {
        self.begin(Method::CreateDocument).await?;
        let req = req.into_inner();
        let (database, _) = store::parse_parent(&req.parent)?;
        let id = if req.document_id.is_empty() {
            auto_id()
        } else {
            req.document_id
        };
        let name = format!("{}/{}/{}", req.parent, req.collection_id, id);
        let (_, key) = store::parse_document_name(&name)?;
        let mut doc = req.document.unwrap_or_default();
        doc.name = name;
        let w = pb::Write {
            current_document: Some(pb::Precondition {
                condition_type: Some(pb::precondition::ConditionType::Exists(false)),
            }),
            operation: Some(pb::write::Operation::Update(doc)),
            ..Default::default()
        };
        self.commit_writes(&database, &[w])?;
        let data = self.store.read();
        let doc = data
            .dbs
            .get(&database)
            .and_then(|db| db.get(&key, Timestamp::MAX))
            .cloned();
        drop(data);
        let doc = doc.ok_or_else(|| Status::internal("document vanished after create"))?;
        Ok(Response::new(query::mask_document(
            &doc,
            req.mask.as_ref(),
        )?))
    }

    type BatchGetDocumentsStream =
        BoxStream<'static, Result<pb::BatchGetDocumentsResponse, Status>>;

    async fn batch_get_documents(
        &self,
        req: Request<pb::BatchGetDocumentsRequest>,
    ) -> Result<Response<Self::BatchGetDocumentsStream>, Status> {
        let plan = self.begin(Method::BatchGetDocuments).await?;
        let req = req.into_inner();
        let database = store::parse_database(&req.database)?;
        use pb::batch_get_documents_request::ConsistencySelector as C;
        let c = match &req.consistency_selector {
            Some(C::Transaction(t)) => Consistency::Transaction(t),
            Some(C::NewTransaction(o)) => Consistency::NewTransaction(o),
            Some(C::ReadTime(t)) => Consistency::ReadTime(t),
            None => Consistency::Latest,
        };
        let mut keys = Vec::with_capacity(req.documents.len());
        for name in &req.documents {
            let (db, key) = store::parse_document_name(name)?;
            if db != database {
                return Err(Status::invalid_argument(format!(
                    "document {name} is not in database {database}"
                )));
            }
            keys.push((name.clone(), key));
        }
        let (rt, txn) = self.snapshot(&database, c)?;
        let mut out: Vec<Result<pb::BatchGetDocumentsResponse, Status>> = Vec::new();
        {
            let data = self.store.read();
            let db = data.dbs.get(&database);
            for (name, key) in keys {
                use pb::batch_get_documents_response::Result as R;
                let result = match db.and_then(|d| d.get(&key, rt)) {
                    Some(doc) => R::Found(query::mask_document(doc, req.mask.as_ref())?),
                    None => R::Missing(name),
                };
                out.push(Ok(pb::BatchGetDocumentsResponse {
                    transaction: Vec::new(),
                    read_time: Some(timestamp_to_proto(rt)),
                    result: Some(result),
                }));
            }
        }
        if let Some(id) = txn {
            match out.first_mut() {
                Some(Ok(first)) => first.transaction = id,
                _ => out.push(Ok(pb::BatchGetDocumentsResponse {
                    transaction: id,
                    read_time: Some(timestamp_to_proto(rt)),
                    result: None,
                })),
            }
        }
        if let Some(k) = plan.cut_after
            && k < out.len()
        {
            out.truncate(k);
            out.push(Err(unavailable_cut()));
        }
        Ok(Response::new(Box::pin(futures::stream::iter(out))))
    }

    async fn begin_transaction(
        &self,
        req: Request<pb::BeginTransactionRequest>,
    ) -> Result<Response<pb::BeginTransactionResponse>, Status> {
        self.begin(Method::BeginTransaction).await?;
        let req = req.into_inner();
        let database = store::parse_database(&req.database)?;
        let (transaction, _) = self.txn_options(&database, &req.options.unwrap_or_default())?;
        Ok(Response::new(pb::BeginTransactionResponse { transaction }))
    }

    async fn commit(
        &self,
        req: Request<pb::CommitRequest>,
    ) -> Result<Response<pb::CommitResponse>, Status> {
        self.begin(Method::Commit).await?;
        let req = req.into_inner();
        let database = store::parse_database(&req.database)?;
        if !req.transaction.is_empty() {
            let mut data = self.store.write();
            let ok = data
                .txns
                .get(&req.transaction)
                .is_some_and(|t| t.database == database);
            if !ok {
                return Err(Status::invalid_argument(
                    "the transaction is not valid or has expired; start a new one",
                ));
            }
            data.txns.remove(&req.transaction);
        }
        let (write_results, t) = self.commit_writes(&database, &req.writes)?;
        Ok(Response::new(pb::CommitResponse {
            write_results,
            commit_time: Some(timestamp_to_proto(t)),
        }))
    }

    async fn rollback(&self, req: Request<pb::RollbackRequest>) -> Result<Response<()>, Status> {
        self.begin(Method::Rollback).await?;
        let req = req.into_inner();
        store::parse_database(&req.database)?;
        match self.store.write().txns.remove(&req.transaction) {
            Some(_) => Ok(Response::new(())),
            None => Err(Status::invalid_argument(
                "the transaction is not valid or has expired",
            )),
        }
    }

    type RunQueryStream = BoxStream<'static, Result<pb::RunQueryResponse, Status>>;

    async fn run_query(
        &self,
        req: Request<pb::RunQueryRequest>,
    ) -> Result<Response<Self::RunQueryStream>, Status> {
        let plan = self.begin(Method::RunQuery).await?;
        let req = req.into_inner();
        let Some(pb::run_query_request::QueryType::StructuredQuery(sq)) = &req.query_type else {
            return Err(Status::invalid_argument(
                "RunQuery needs a structured query",
            ));
        };
        if req.explain_options.is_some() {
            return Err(Status::unimplemented(
                "explain_options is not supported by this server",
            ));
        }
        let q = Query::compile(&req.parent, sq)?;
        use pb::run_query_request::ConsistencySelector as C;
        let c = match &req.consistency_selector {
            Some(C::Transaction(t)) => Consistency::Transaction(t),
            Some(C::NewTransaction(o)) => Consistency::NewTransaction(o),
            Some(C::ReadTime(t)) => Consistency::ReadTime(t),
            None => Consistency::Latest,
        };
        let database = q.database.clone();
        let (rt, mut txn) = self.snapshot(&database, c)?;
        let skipped = if plan.cursor_cost.is_zero() {
            0
        } else {
            q.cursor_skipped(self.store.read().dbs.get(&database), rt)
        };
        let mut exec = q.execute(rt)?;
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        let store = self.store.clone();
        let faults = self.faults.clone();
        let mut cut_after = plan.cut_after;
        let rate_limit = plan.rate_limit;
        let cursor_cost = plan.cursor_cost;
        let mut stall = plan.stall;
        tokio::spawn(async move {
            if skipped > 0 {
                // A server without cursor seeks pays for every document before the cursor.
                faults.add_cursor_scanned(skipped as u64);
                tokio::time::sleep(cursor_cost * u32::try_from(skipped).unwrap_or(u32::MAX)).await;
            }
            let _open = faults.open_stream();
            let read_time = Some(timestamp_to_proto(rt));
            // When the next document is due under the rate limit.
            let mut due = tokio::time::Instant::now();
            let mut sent = 0usize;
            let mut reported_skips = 0usize;
            loop {
                let chunk = {
                    let data = store.read();
                    exec.next_chunk(data.dbs.get(&database), STREAM_CHUNK)
                };
                if chunk.is_empty() {
                    break;
                }
                for doc in chunk {
                    if cut_after == Some(sent) {
                        let _ = tx.send(Err(unavailable_cut())).await;
                        return;
                    }
                    if let Some((_, pause)) = stall.take_if(|(k, _)| *k == sent) {
                        tokio::time::sleep(pause).await;
                    }
                    let skipped = exec.skip - reported_skips;
                    reported_skips = exec.skip;
                    let resp = pb::RunQueryResponse {
                        transaction: txn.take().unwrap_or_default(),
                        document: Some(doc),
                        read_time,
                        skipped_results: skipped as i32,
                        ..Default::default()
                    };
                    if tx.send(Ok(resp)).await.is_err() {
                        return; // The client went away.
                    }
                    sent += 1;
                    if let Some(rate) = rate_limit {
                        // One document every 1/rate s; a reader that fell behind gets at
                        // most RATE_BURST of catching up (a token bucket, not a schedule).
                        // Sleeping only when a millisecond ahead keeps timer calls rare.
                        let now = tokio::time::Instant::now();
                        due = due.max(now.checked_sub(RATE_BURST).unwrap_or(now))
                            + Duration::from_secs_f64(1.0 / rate as f64);
                        if due > now + Duration::from_millis(1) {
                            tokio::time::sleep_until(due).await;
                        }
                    }
                }
            }
            if cut_after.take().is_some_and(|k| k <= sent) {
                let _ = tx.send(Err(unavailable_cut())).await;
                return;
            }
            if sent == 0 || txn.is_some() || exec.skip > reported_skips {
                let _ = tx
                    .send(Ok(pb::RunQueryResponse {
                        transaction: txn.take().unwrap_or_default(),
                        read_time,
                        skipped_results: (exec.skip - reported_skips) as i32,
                        ..Default::default()
                    }))
                    .await;
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    type RunAggregationQueryStream =
        BoxStream<'static, Result<pb::RunAggregationQueryResponse, Status>>;

    async fn run_aggregation_query(
        &self,
        req: Request<pb::RunAggregationQueryRequest>,
    ) -> Result<Response<Self::RunAggregationQueryStream>, Status> {
        self.begin(Method::RunAggregationQuery).await?;
        let req = req.into_inner();
        use pb::structured_aggregation_query::{QueryType, aggregation::Operator};
        let Some(pb::run_aggregation_query_request::QueryType::StructuredAggregationQuery(aq)) =
            &req.query_type
        else {
            return Err(Status::invalid_argument(
                "RunAggregationQuery needs a structured aggregation query",
            ));
        };
        let Some(QueryType::StructuredQuery(sq)) = &aq.query_type else {
            return Err(Status::invalid_argument("the aggregation has no query"));
        };
        let q = Query::compile(&req.parent, sq)?;
        use pb::run_aggregation_query_request::ConsistencySelector as C;
        let c = match &req.consistency_selector {
            Some(C::Transaction(t)) => Consistency::Transaction(t),
            Some(C::NewTransaction(o)) => Consistency::NewTransaction(o),
            Some(C::ReadTime(t)) => Consistency::ReadTime(t),
            None => Consistency::Latest,
        };
        let database = q.database.clone();
        let (rt, txn) = self.snapshot(&database, c)?;
        let mut exec = q.execute(rt)?;
        let mut count: u64 = 0;
        loop {
            let n = {
                let data = self.store.read();
                exec.next_chunk(data.dbs.get(&database), 1024).len()
            };
            if n == 0 {
                break;
            }
            count += n as u64;
        }
        let mut fields = HashMap::new();
        for (i, a) in aq.aggregations.iter().enumerate() {
            let alias = if a.alias.is_empty() {
                format!("field_{}", i + 1)
            } else {
                a.alias.clone()
            };
            let v = match &a.operator {
                Some(Operator::Count(c)) => {
                    let n = match c.up_to {
                        Some(u) if u <= 0 => {
                            return Err(Status::invalid_argument("count up_to must be positive"));
                        }
                        Some(u) => count.min(u as u64),
                        None => count,
                    };
                    pb::value::ValueType::IntegerValue(n as i64)
                }
                _ => {
                    return Err(Status::unimplemented(
                        "only count() aggregations are supported by this server",
                    ));
                }
            };
            fields.insert(
                alias,
                pb::Value {
                    value_type: Some(v),
                },
            );
        }
        let resp = pb::RunAggregationQueryResponse {
            result: Some(pb::AggregationResult {
                aggregate_fields: fields,
            }),
            transaction: txn.unwrap_or_default(),
            read_time: Some(timestamp_to_proto(rt)),
            explain_metrics: None,
        };
        Ok(Response::new(Box::pin(futures::stream::iter([Ok(resp)]))))
    }

    async fn partition_query(
        &self,
        req: Request<pb::PartitionQueryRequest>,
    ) -> Result<Response<pb::PartitionQueryResponse>, Status> {
        if !self.partition_query {
            self.faults.on_call(Method::PartitionQuery)?;
            return Err(Status::unimplemented(
                "PartitionQuery is not implemented by this server",
            ));
        }
        self.begin(Method::PartitionQuery).await?;
        let req = req.into_inner();
        let Some(pb::partition_query_request::QueryType::StructuredQuery(sq)) = &req.query_type
        else {
            return Err(Status::invalid_argument(
                "PartitionQuery needs a structured query",
            ));
        };
        let (_, parent) = store::parse_parent(&req.parent)?;
        let name_asc = sq.order_by.iter().all(|o| {
            o.field.as_ref().is_some_and(|f| f.field_path == "__name__")
                && o.direction != pb::structured_query::Direction::Descending as i32
        });
        if !parent.is_empty()
            || !sq.from.iter().all(|f| f.all_descendants)
            || !name_asc
            || sq.r#where.is_some()
            || sq.start_at.is_some()
            || sq.end_at.is_some()
            || sq.limit.is_some()
            || sq.offset != 0
        {
            return Err(Status::invalid_argument(
                "PartitionQuery needs an all-descendants query from the database root, ordered by \
                 __name__ ascending, without filters, cursors, limit or offset",
            ));
        }
        if req.partition_count <= 0 {
            return Err(Status::invalid_argument("partition_count must be positive"));
        }
        let q = Query::compile(&req.parent, sq)?;
        use pb::partition_query_request::ConsistencySelector as C;
        let rt = match &req.consistency_selector {
            Some(C::ReadTime(t)) => self.store.check_read_time(t)?,
            None => self.store.now(),
        };
        let database = q.database.clone();
        let mut exec = q.execute(rt)?;
        let mut names = Vec::new();
        loop {
            let chunk = {
                let data = self.store.read();
                exec.next_chunk(data.dbs.get(&database), 4096)
            };
            if chunk.is_empty() {
                break;
            }
            names.extend(chunk.into_iter().map(|d| d.name));
        }
        // partition_count is the number of split points wanted (partitions - 1).
        let k = (req.partition_count as usize).min(names.len().saturating_sub(1));
        let points: Vec<String> = (1..=k)
            .map(|i| names[i * names.len() / (k + 1)].clone())
            .collect();
        let size = if req.page_size > 0 {
            req.page_size as usize
        } else {
            points.len().max(1)
        };
        let pages: Vec<&[String]> = points.chunks(size).collect();
        let served: usize = if req.page_token.is_empty() {
            0
        } else {
            req.page_token
                .parse()
                .map_err(|_| Status::invalid_argument("page_token is not valid"))?
        };
        // Each page is ordered, but pages come last-first: Firestore does not promise order
        // across pages, so clients must sort.
        let page = pages
            .len()
            .checked_sub(served + 1)
            .and_then(|i| pages.get(i))
            .copied()
            .unwrap_or_default();
        let partitions: Vec<pb::Cursor> = page
            .iter()
            .map(|n| pb::Cursor {
                values: vec![query::reference(n)],
                // As split points: `end_at` excludes the point and `start_at` includes it.
                before: true,
            })
            .collect();
        let next_page_token = if served + 1 < pages.len() {
            (served + 1).to_string()
        } else {
            String::new()
        };
        Ok(Response::new(pb::PartitionQueryResponse {
            partitions,
            next_page_token,
        }))
    }

    async fn list_collection_ids(
        &self,
        req: Request<pb::ListCollectionIdsRequest>,
    ) -> Result<Response<pb::ListCollectionIdsResponse>, Status> {
        self.begin(Method::ListCollectionIds).await?;
        let req = req.into_inner();
        let (database, parent) = store::parse_parent(&req.parent)?;
        use pb::list_collection_ids_request::ConsistencySelector as C;
        let rt = match &req.consistency_selector {
            Some(C::ReadTime(t)) => self.store.check_read_time(t)?,
            None => self.store.now(),
        };
        let page_size = if req.page_size > 0 {
            req.page_size as usize
        } else {
            usize::MAX
        };
        let n = parent.len();
        let mut ids: Vec<String> = Vec::new();
        let mut next_page_token = String::new();
        let data = self.store.read();
        if let Some(db) = data.dbs.get(&database) {
            let mut from = {
                let mut k = parent.clone();
                if req.page_token.is_empty() {
                    Bound::Excluded(k)
                } else {
                    k.push(req.page_token.clone() + "\0");
                    Bound::Included(k)
                }
            };
            let hi = if parent.is_empty() {
                Bound::Unbounded
            } else {
                Bound::Excluded(prefix_end(&parent))
            };
            'outer: loop {
                let mut found: Option<String> = None;
                let mut skip_to: Option<Key> = None;
                for (key, versions) in db.docs.range::<Key, _>((from.clone(), hi.clone())) {
                    if key.len() <= n + 1 {
                        continue;
                    }
                    if version_at(versions, rt).is_some() {
                        found = Some(key[n].clone());
                        let mut k = parent.clone();
                        k.push(key[n].clone() + "\0");
                        skip_to = Some(k);
                        break;
                    }
                }
                match (found, skip_to) {
                    (Some(id), Some(k)) => {
                        if ids.len() == page_size {
                            next_page_token = ids.last().cloned().unwrap_or_default();
                            break 'outer;
                        }
                        ids.push(id);
                        from = Bound::Included(k);
                    }
                    _ => break,
                }
            }
        }
        Ok(Response::new(pb::ListCollectionIdsResponse {
            collection_ids: ids,
            next_page_token,
        }))
    }

    async fn batch_write(
        &self,
        req: Request<pb::BatchWriteRequest>,
    ) -> Result<Response<pb::BatchWriteResponse>, Status> {
        self.begin(Method::BatchWrite).await?;
        let req = req.into_inner();
        let database = store::parse_database(&req.database)?;
        if req.writes.len() > MAX_BATCH_WRITES {
            return Err(Status::invalid_argument(format!(
                "a BatchWrite may hold at most {MAX_BATCH_WRITES} writes, got {}; split the batch",
                req.writes.len()
            )));
        }
        let mut seen = HashSet::new();
        for w in &req.writes {
            if !seen.insert(write_key(w)?) {
                return Err(Status::invalid_argument(
                    "a BatchWrite may not write the same document more than once",
                ));
            }
        }
        let mut data = self.store.write();
        let commit_time = self.store.next_commit_time();
        let db = data.dbs.entry(database.clone()).or_default();
        let mut write_results = Vec::with_capacity(req.writes.len());
        let mut status = Vec::with_capacity(req.writes.len());
        let mut applied = Vec::new();
        for w in &req.writes {
            let key = write_key(w)?;
            let current = db.get(&key, Timestamp::MAX).cloned();
            match store::apply_write(
                &database,
                current.as_ref(),
                w,
                commit_time,
                &self.store.options,
            ) {
                Ok(a) => {
                    write_results.push(a.result.clone());
                    status.push(rpc::Status::default());
                    applied.push(a);
                }
                Err(e) => {
                    write_results.push(pb::WriteResult::default());
                    status.push(rpc_status(&e));
                }
            }
        }
        store::record(db, applied, commit_time);
        Ok(Response::new(pb::BatchWriteResponse {
            write_results,
            status,
        }))
    }
}
