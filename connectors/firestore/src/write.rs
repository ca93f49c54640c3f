//! Restore writes: BatchWrite requests under Firestore's limits, preconditions for the
//! conflict modes, per-write retry of transient statuses, and the 500/50/5 ramp-up.

use crate::connector::Inner;
use crate::convert::fields_to_proto;
use crate::json_write;
use crate::proto;
use crate::retry::{Backoff, code_name, is_retryable};
use bytes::BufMut as _;
use firekeep_core::Result;
use firekeep_core::model::{Document, DocumentPath};
use firekeep_core::source::{BatchLimits, ConflictMode, JsonDocument, WriteOutcome, WriteResult};
use prost::Message;
use std::collections::HashSet;
use std::time::{Duration, Instant};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::{Code, Status};

/// Firestore's "500/50/5" guidance: start at 500 writes/s, grow 50% every 5 minutes.
#[derive(Debug, Default)]
pub(crate) struct Ramp {
    start: Option<Instant>,
    next_free: Option<Instant>,
}

const RAMP_START_PER_SEC: f64 = 500.0;
const RAMP_STEP: Duration = Duration::from_secs(300);

impl Ramp {
    /// Reserves `n` writes; returns when they may be sent.
    pub(crate) fn reserve(&mut self, n: usize, now: Instant) -> Instant {
        let start = *self.start.get_or_insert(now);
        let steps = (now.duration_since(start).as_secs() / RAMP_STEP.as_secs()).min(50) as i32;
        let rate = RAMP_START_PER_SEC * 1.5f64.powi(steps);
        let at = self.next_free.map_or(now, |t| t.max(now));
        self.next_free = Some(at + Duration::from_secs_f64(n as f64 / rate));
        at
    }
}

/// The `Write` restoring `doc` under `mode`.
pub(crate) fn write_for(doc: &Document, mode: ConflictMode) -> proto::Write {
    proto::Write {
        operation: Some(proto::write::Operation::Update(proto::Document {
            name: doc.name.clone(),
            fields: fields_to_proto(&doc.fields),
            create_time: None,
            update_time: None,
        })),
        current_document: match mode {
            ConflictMode::Overwrite => None,
            ConflictMode::SkipExisting | ConflictMode::FailIfExists => Some(proto::Precondition {
                condition_type: Some(proto::precondition::ConditionType::Exists(false)),
            }),
        },
        update_mask: None,
        update_transforms: Vec::new(),
    }
}

/// Splits writes into requests: at most `max_writes` and `max_bytes` each, and never the
/// same document twice in one request (Firestore rejects that).
fn split(sizes: &[(usize, &str)], limits: BatchLimits) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    let mut bytes = 0usize;
    let mut names: HashSet<&str> = HashSet::new();
    for (i, (size, name)) in sizes.iter().enumerate() {
        let full = cur.len() >= limits.max_writes
            || (!cur.is_empty() && bytes + size > limits.max_bytes)
            || names.contains(name);
        if full {
            out.push(std::mem::take(&mut cur));
            bytes = 0;
            names.clear();
        }
        cur.push(i);
        bytes += size;
        names.insert(name);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Whether a document named `name` may be written through `inner` (it must already be in
/// the connector's database); the failure message otherwise.
fn check_name(inner: &Inner, name: &str) -> std::result::Result<(), String> {
    let (db, _) = DocumentPath::parse_resource_name(name).map_err(|e| e.to_string())?;
    if db == inner.config.database {
        Ok(())
    } else {
        Err(format!(
            "document {name} belongs to database {db}, not {}; rehome it first",
            inner.config.database
        ))
    }
}

pub(crate) async fn write_batch(
    inner: &Inner,
    docs: Vec<Document>,
    mode: ConflictMode,
) -> Result<Vec<WriteResult>> {
    let writes = docs
        .iter()
        .map(|doc| check_name(inner, &doc.name).map(|()| write_for(doc, mode).encode_to_vec()))
        .collect();
    let names = docs.into_iter().map(|d| d.name).collect();
    write_encoded(inner, names, writes, mode).await
}

/// [`write_batch`] for documents as their backup's JSON lines: each line is encoded
/// straight to its `Write` ([`json_write::write_bytes`]); a line that does not decode
/// fails alone, as `INVALID_ARGUMENT`.
pub(crate) async fn write_json_batch(
    inner: &Inner,
    docs: Vec<JsonDocument>,
    mode: ConflictMode,
) -> Result<Vec<WriteResult>> {
    let named: Vec<_> = docs.iter().map(|d| check_name(inner, d.name())).collect();
    let (docs, encoded) = json_write::write_bytes_batch(docs, mode).await?;
    let writes = named
        .into_iter()
        .zip(encoded)
        .map(|(named, encoded)| named.and(encoded))
        .collect();
    let names = docs.into_iter().map(JsonDocument::into_name).collect();
    write_encoded(inner, names, writes, mode).await
}

/// Sends encoded writes (one per document, in order; `Err` a document that failed before
/// sending) in requests within Firestore's limits, and reports an outcome per document.
async fn write_encoded(
    inner: &Inner,
    names: Vec<String>,
    writes: Vec<std::result::Result<Vec<u8>, String>>,
    mode: ConflictMode,
) -> Result<Vec<WriteResult>> {
    let mut outcomes: Vec<Option<WriteOutcome>> = vec![None; names.len()];
    let mut valid = Vec::with_capacity(names.len());
    let mut encoded: Vec<Option<Vec<u8>>> = Vec::with_capacity(names.len());
    for (i, w) in writes.into_iter().enumerate() {
        match w {
            Ok(bytes) => {
                valid.push(i);
                encoded.push(Some(bytes));
            }
            Err(message) => {
                outcomes[i] = Some(WriteOutcome::Failed {
                    code: "INVALID_ARGUMENT".into(),
                    message,
                });
                encoded.push(None);
            }
        }
    }
    let sizes: Vec<(usize, &str)> = valid
        .iter()
        .map(|&i| {
            let w = encoded[i].as_ref().expect("valid write");
            // The field's key and length prefix, generously.
            (w.len() + 16, names[i].as_str())
        })
        .collect();
    let limits = BatchLimits {
        max_bytes: 9 * 1024 * 1024,
        max_writes: 500,
    };
    for group in split(&sizes, limits) {
        let group: Vec<usize> = group.into_iter().map(|j| valid[j]).collect();
        send(inner, &group, &encoded, mode, &mut outcomes).await?;
    }
    Ok(names
        .into_iter()
        .zip(outcomes)
        .map(|(name, o)| WriteResult {
            name,
            outcome: o.expect("every write has an outcome"),
        })
        .collect())
}

/// A `BatchWriteRequest` already encoded (its writes are encoded one by one, some straight
/// from JSON), sent as is.
#[derive(Clone, Debug)]
pub(crate) struct EncodedRequest(pub(crate) bytes::Bytes);

/// The gRPC codec of BatchWrite: requests as encoded bytes, responses through prost.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct BatchWriteCodec;

impl Codec for BatchWriteCodec {
    type Encode = EncodedRequest;
    type Decode = proto::BatchWriteResponse;
    type Encoder = BatchWriteCodec;
    type Decoder = BatchWriteCodec;

    fn encoder(&mut self) -> BatchWriteCodec {
        BatchWriteCodec
    }

    fn decoder(&mut self) -> BatchWriteCodec {
        BatchWriteCodec
    }
}

impl Encoder for BatchWriteCodec {
    type Item = EncodedRequest;
    type Error = Status;

    fn encode(&mut self, item: EncodedRequest, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item.0);
        Ok(())
    }
}

impl Decoder for BatchWriteCodec {
    type Item = proto::BatchWriteResponse;
    type Error = Status;

    fn decode(
        &mut self,
        src: &mut DecodeBuf<'_>,
    ) -> Result<Option<proto::BatchWriteResponse>, Status> {
        proto::BatchWriteResponse::decode(src)
            .map(Some)
            .map_err(|e| Status::internal(format!("decoding a BatchWrite response: {e}")))
    }
}

/// The `BatchWriteRequest` of `database` with the writes `group` of `encoded`.
fn encode_request(database: &str, group: &[usize], encoded: &[Option<Vec<u8>>]) -> Vec<u8> {
    let writes = group
        .iter()
        .map(|&i| encoded[i].as_ref().expect("valid write"));
    let len = writes.clone().map(|w| w.len() + 11).sum::<usize>() + database.len() + 11;
    let mut out = Vec::with_capacity(len);
    let field = |out: &mut Vec<u8>, key: u8, bytes: &[u8]| {
        out.push(key);
        prost::encoding::encode_varint(bytes.len() as u64, out);
        out.extend_from_slice(bytes);
    };
    // database = 1, writes = 2 (labels = 3: none).
    if !database.is_empty() {
        field(&mut out, 1 << 3 | 2, database.as_bytes());
    }
    for w in writes {
        field(&mut out, 2 << 3 | 2, w);
    }
    out
}

/// Sends one request's writes, re-sending the ones that failed transiently.
async fn send(
    inner: &Inner,
    group: &[usize],
    encoded: &[Option<Vec<u8>>],
    mode: ConflictMode,
    outcomes: &mut [Option<WriteOutcome>],
) -> Result<()> {
    let mut pending: Vec<usize> = group.to_vec();
    let mut backoff = Backoff::new(inner.config.retry);
    let database = inner.config.database.database_name();
    loop {
        if let Some(ramp) = &inner.ramp {
            let at = ramp
                .lock()
                .expect("ramp lock poisoned")
                .reserve(pending.len(), Instant::now());
            tokio::time::sleep_until(at.into()).await;
        }
        let req = EncodedRequest(encode_request(&database, &pending, encoded).into());
        let grpc = inner.raw_grpc();
        let resp = inner
            .unary("BatchWrite", req, move |_, r| {
                let mut grpc = grpc.clone();
                Box::pin(async move {
                    grpc.ready()
                        .await
                        .map_err(|e| Status::unknown(format!("Service was not ready: {e}")))?;
                    let path = tonic::codegen::http::uri::PathAndQuery::from_static(
                        "/google.firestore.v1.Firestore/BatchWrite",
                    );
                    grpc.unary(r, path, BatchWriteCodec).await
                })
            })
            .await?;
        let mut retry = Vec::new();
        let mut last_transient = None;
        for (k, &i) in pending.iter().enumerate() {
            let (code, message) = resp
                .status
                .get(k)
                .map(|s| (Code::from_i32(s.code), s.message.clone()))
                .unwrap_or((Code::Ok, String::new()));
            let outcome = match code {
                Code::Ok => WriteOutcome::Written,
                c if is_retryable(c) => {
                    retry.push(i);
                    last_transient = Some((c, message));
                    continue;
                }
                Code::AlreadyExists | Code::FailedPrecondition
                    if mode == ConflictMode::SkipExisting =>
                {
                    WriteOutcome::Skipped
                }
                Code::AlreadyExists | Code::FailedPrecondition
                    if mode == ConflictMode::FailIfExists =>
                {
                    WriteOutcome::Failed {
                        code: "ALREADY_EXISTS".into(),
                        message: format!(
                            "the document already exists (conflict mode fail-if-exists): {message}"
                        ),
                    }
                }
                c => WriteOutcome::Failed {
                    code: code_name(c).into(),
                    message,
                },
            };
            outcomes[i] = Some(outcome);
        }
        if retry.is_empty() {
            return Ok(());
        }
        if !backoff.retry().await {
            let (c, message) = last_transient.expect("a transient status was seen");
            for i in retry {
                outcomes[i] = Some(WriteOutcome::Failed {
                    code: code_name(c).into(),
                    message: format!("still failing after retries: {message}"),
                });
            }
            return Ok(());
        }
        pending = retry;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_respects_limits_and_duplicates() {
        let limits = BatchLimits {
            max_writes: 3,
            max_bytes: 100,
        };
        let sizes = [
            (10, "a"),
            (10, "b"),
            (10, "c"),
            (10, "d"),
            (95, "e"),
            (10, "e"),
            (200, "f"),
        ];
        let groups = split(&sizes, limits);
        assert_eq!(
            groups,
            vec![vec![0, 1, 2], vec![3], vec![4], vec![5], vec![6]]
        );
    }

    #[test]
    fn ramp_starts_at_500_per_second_and_grows() {
        let mut r = Ramp::default();
        let t0 = Instant::now();
        assert_eq!(r.reserve(500, t0), t0);
        let second = r.reserve(500, t0);
        assert_eq!(second.duration_since(t0), Duration::from_secs(1));
        // After 5 minutes the rate is 750/s: 750 writes take one second.
        let mut r = Ramp::default();
        r.reserve(1, t0);
        let later = t0 + Duration::from_secs(301);
        let a = r.reserve(750, later);
        let b = r.reserve(1, later);
        assert_eq!(a, later);
        assert_eq!(b.duration_since(later), Duration::from_secs(1));
    }
}
