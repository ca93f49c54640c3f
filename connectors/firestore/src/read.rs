//! Reading: query plans for a scope, the resumable streamed document query, PartitionQuery
//! and count aggregation.
//!
//! Firestore orders document names segment by segment, so every document of top-level
//! collection `C` (at any depth) lies in `[C/"\0", C"\0"/"\0")`: the smallest document id
//! is `"\0"`, and `C"\0"` is the smallest collection id after `C` (the bounds Google's Node
//! client uses for recursive deletes). A chosen collection with its subcollections is one
//! all-descendants query between those cursors; without subcollections it is a plain
//! collection query.

use crate::connector::Inner;
use crate::convert::timestamp_to_proto;
use crate::proto::{self, structured_query};
use crate::retry::{Backoff, is_retryable, status_error};
use firekeep_core::model::{Document, DocumentPath, Timestamp, Value};
use firekeep_core::source::{NameRange, Scope, SourceDocument, WireDocument};
use firekeep_core::{Error, Result};
use futures::stream::{self, BoxStream, StreamExt};
use std::collections::VecDeque;
use std::ops::Bound;
use std::sync::Arc;

/// One query of a plan: a collection selector and a name range.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Segment {
    /// Empty with `all_descendants` = every collection at every depth.
    pub(crate) collection_id: String,
    pub(crate) all_descendants: bool,
    pub(crate) start: Bound<DocumentPath>,
    pub(crate) end: Bound<DocumentPath>,
}

fn path(segments: &[&str]) -> DocumentPath {
    DocumentPath::from_segments(segments.iter().map(|s| s.to_string()).collect())
        .expect("collection ids from Firestore form valid bound paths")
}

/// The greater of two lower bounds.
fn max_lower(a: Bound<DocumentPath>, b: Bound<DocumentPath>) -> Bound<DocumentPath> {
    use Bound::*;
    match (&a, &b) {
        (Unbounded, _) => b,
        (_, Unbounded) => a,
        (Included(x) | Excluded(x), Included(y) | Excluded(y)) => {
            if x > y {
                a
            } else if y > x {
                b
            } else if matches!(a, Excluded(_)) {
                a
            } else {
                b
            }
        }
    }
}

/// The lesser of two upper bounds.
fn min_upper(a: Bound<DocumentPath>, b: Bound<DocumentPath>) -> Bound<DocumentPath> {
    use Bound::*;
    match (&a, &b) {
        (Unbounded, _) => b,
        (_, Unbounded) => a,
        (Included(x) | Excluded(x), Included(y) | Excluded(y)) => {
            if x < y {
                a
            } else if y < x {
                b
            } else if matches!(a, Excluded(_)) {
                a
            } else {
                b
            }
        }
    }
}

fn is_empty(start: &Bound<DocumentPath>, end: &Bound<DocumentPath>) -> bool {
    use Bound::*;
    match (start, end) {
        (Included(s), Included(e)) => s > e,
        (Included(s) | Excluded(s), Included(e) | Excluded(e)) => s >= e,
        _ => false,
    }
}

/// Bounds for a plain (depth-0) query of collection `c`: a bound inside a subcollection
/// of `c/x` becomes a bound on `c/x`. `None` when the range misses the collection.
fn depth0_bounds(c: &str, range: &NameRange) -> Option<(Bound<DocumentPath>, Bound<DocumentPath>)> {
    let truncate = |p: &DocumentPath| path(&[&p.segments()[0], &p.segments()[1]]);
    let start = match &range.start {
        Bound::Unbounded => Bound::Unbounded,
        Bound::Included(p) | Bound::Excluded(p) if p.root_collection() < c => Bound::Unbounded,
        Bound::Included(p) | Bound::Excluded(p) if p.root_collection() > c => return None,
        b @ (Bound::Included(p) | Bound::Excluded(p)) if p.depth() == 0 => b.clone(),
        Bound::Included(p) | Bound::Excluded(p) => Bound::Excluded(truncate(p)),
    };
    let end = match &range.end {
        Bound::Unbounded => Bound::Unbounded,
        Bound::Included(p) | Bound::Excluded(p) if p.root_collection() < c => return None,
        Bound::Included(p) | Bound::Excluded(p) if p.root_collection() > c => Bound::Unbounded,
        b @ (Bound::Included(p) | Bound::Excluded(p)) if p.depth() == 0 => b.clone(),
        Bound::Included(p) | Bound::Excluded(p) => Bound::Included(truncate(p)),
    };
    (!is_empty(&start, &end)).then_some((start, end))
}

/// The queries that read `scope` within `range`, in key order. `ids` are the top-level
/// collection ids to consider when the scope names none (listed at the read time).
pub(crate) fn plan_with(scope: &Scope, range: &NameRange, ids: Vec<String>) -> Vec<Segment> {
    let mut ids: Vec<String> = if scope.collections.is_empty() {
        ids
    } else {
        scope.collections.clone()
    };
    ids.sort();
    ids.dedup();
    ids.retain(|c| !scope.exclude.contains(c));
    let mut out = Vec::new();
    for c in ids {
        if scope.subcollections {
            let nul_id = "\0";
            let next = format!("{c}\0");
            let start = max_lower(range.start.clone(), Bound::Included(path(&[&c, nul_id])));
            let end = min_upper(range.end.clone(), Bound::Excluded(path(&[&next, nul_id])));
            if !is_empty(&start, &end) {
                out.push(Segment {
                    collection_id: String::new(),
                    all_descendants: true,
                    start,
                    end,
                });
            }
        } else if let Some((start, end)) = depth0_bounds(&c, range) {
            out.push(Segment {
                collection_id: c,
                all_descendants: false,
                start,
                end,
            });
        }
    }
    out
}

/// Whether the scope is the whole database (one all-descendants query, no listing).
fn is_whole_database(scope: &Scope) -> bool {
    scope.collections.is_empty() && scope.exclude.is_empty() && scope.subcollections
}

async fn plan(
    inner: &Inner,
    scope: &Scope,
    range: &NameRange,
    read_time: Timestamp,
) -> Result<Vec<Segment>> {
    if is_whole_database(scope) {
        return Ok(vec![Segment {
            collection_id: String::new(),
            all_descendants: true,
            start: range.start.clone(),
            end: range.end.clone(),
        }]);
    }
    let ids = if scope.collections.is_empty() {
        inner.list_collection_ids(None, read_time).await?
    } else {
        Vec::new()
    };
    Ok(plan_with(scope, range, ids))
}

fn reference(inner: &Inner, p: &DocumentPath) -> proto::Value {
    crate::convert::value_to_proto(&Value::Reference(inner.config.database.document_name(p)))
}

fn name_order() -> Vec<structured_query::Order> {
    vec![structured_query::Order {
        field: Some(structured_query::FieldReference {
            field_path: "__name__".into(),
        }),
        direction: structured_query::Direction::Ascending as i32,
    }]
}

/// The structured query for a segment, starting at `start`.
fn query(
    inner: &Inner,
    seg: &Segment,
    start: &Bound<DocumentPath>,
    limit: Option<i32>,
) -> proto::StructuredQuery {
    let cursor = |p: &DocumentPath, before: bool| proto::Cursor {
        values: vec![reference(inner, p)],
        before,
    };
    proto::StructuredQuery {
        from: vec![structured_query::CollectionSelector {
            collection_id: seg.collection_id.clone(),
            all_descendants: seg.all_descendants,
        }],
        order_by: name_order(),
        start_at: match start {
            Bound::Unbounded => None,
            Bound::Included(p) => Some(cursor(p, true)),
            Bound::Excluded(p) => Some(cursor(p, false)),
        },
        end_at: match &seg.end {
            Bound::Unbounded => None,
            Bound::Included(p) => Some(cursor(p, false)),
            Bound::Excluded(p) => Some(cursor(p, true)),
        },
        limit,
        ..Default::default()
    }
}

/// The resumable document stream: each segment is ONE streaming RunQuery with no `limit`,
/// as Google's clients read a query. HTTP/2 flow control (the channel's stream window)
/// holds the rest of the results at the server while this side is busy, so memory stays
/// at one window per stream whatever the segment's size. A stream that fails with a
/// retryable code (or stays silent for `call_timeout`) is reopened with `start_at` just
/// after the last name received, so nothing is lost or repeated; a stream that ends
/// without an error has delivered every result (gRPC reports a dropped connection as
/// UNAVAILABLE, never as a clean end). Cursors are used only to resume: on servers where a
/// cursor is not an index seek, every cursor rescans what came before it.
struct Reader {
    inner: Arc<Inner>,
    scope: Scope,
    range: NameRange,
    read_time: Timestamp,
    segments: Option<VecDeque<Segment>>,
    current: Option<Segment>,
    last: Option<DocumentPath>,
    stream: Option<tonic::Streaming<crate::wire::WireResponse>>,
    backoff: Backoff,
    finished: bool,
}

impl Reader {
    async fn next(&mut self) -> Option<Result<WireDocument>> {
        if self.finished {
            return None;
        }
        match self.step().await {
            Ok(Some(d)) => Some(Ok(d)),
            Ok(None) => {
                self.finished = true;
                None
            }
            Err(e) => {
                self.finished = true;
                Some(Err(e))
            }
        }
    }

    async fn step(&mut self) -> Result<Option<WireDocument>> {
        if self.segments.is_none() {
            self.inner.check_read_time(self.read_time)?;
            let plan = plan(&self.inner, &self.scope, &self.range, self.read_time).await?;
            self.segments = Some(plan.into());
        }
        loop {
            if self.current.is_none() {
                match self.segments.as_mut().and_then(VecDeque::pop_front) {
                    None => return Ok(None),
                    Some(s) => {
                        self.current = Some(s);
                        self.last = None;
                    }
                }
            }
            let Some(stream) = self.stream.as_mut() else {
                self.open_stream().await?;
                continue;
            };
            // `call_timeout` bounds the wait for each response, not the whole stream: a
            // segment of 10^8 documents streams far longer than any sensible deadline.
            let message = match tokio::time::timeout(
                self.inner.config.call_timeout,
                stream.message(),
            )
            .await
            {
                Ok(m) => m,
                Err(_) => Err(tonic::Status::deadline_exceeded(format!(
                    "no response within {:?}",
                    self.inner.config.call_timeout
                ))),
            };
            match message {
                Ok(Some(resp)) => {
                    let Some(doc) = resp.document else { continue };
                    let (_, path) = DocumentPath::parse_resource_name(&doc.name)?;
                    if self.last.as_ref().is_some_and(|last| &path <= last) {
                        // Out of order or repeated: never hand a document out twice.
                        continue;
                    }
                    // Progress: the next failure starts a fresh backoff series.
                    self.backoff.reset();
                    let wanted = self.scope.contains(&path);
                    self.last = Some(path);
                    if wanted {
                        return Ok(Some(doc));
                    }
                }
                Ok(None) => {
                    // A clean end: the segment is complete.
                    self.stream = None;
                    self.current = None;
                }
                Err(s) => {
                    self.stream = None;
                    if !(is_retryable(s.code()) && self.backoff.retry().await) {
                        return Err(status_error("RunQuery", &s));
                    }
                    // The next loop reopens the segment just after `last`.
                }
            }
        }
    }

    async fn open_stream(&mut self) -> Result<()> {
        let seg = self.current.as_ref().expect("a segment is current");
        let start = match &self.last {
            Some(p) => Bound::Excluded(p.clone()),
            None => seg.start.clone(),
        };
        let msg = proto::RunQueryRequest {
            parent: self.inner.root(),
            query_type: Some(proto::run_query_request::QueryType::StructuredQuery(query(
                &self.inner,
                seg,
                &start,
                None,
            ))),
            consistency_selector: Some(proto::run_query_request::ConsistencySelector::ReadTime(
                timestamp_to_proto(self.read_time),
            )),
            ..Default::default()
        };
        loop {
            let req = self.inner.streaming_request(msg.clone()).await?;
            let opened = tokio::time::timeout(
                self.inner.config.call_timeout,
                self.inner.run_query_wire(req),
            )
            .await
            .unwrap_or_else(|_| {
                Err(tonic::Status::deadline_exceeded(format!(
                    "RunQuery did not answer within {:?}",
                    self.inner.config.call_timeout
                )))
            });
            match opened {
                Ok(resp) => {
                    self.stream = Some(resp.into_inner());
                    return Ok(());
                }
                Err(s) if is_retryable(s.code()) && self.backoff.retry().await => continue,
                Err(s) => return Err(status_error("RunQuery", &s)),
            }
        }
    }
}

/// The documents of `scope` within `range`, kept encoded (see [`Reader`]).
pub(crate) fn stream_wire_documents(
    inner: Arc<Inner>,
    scope: Scope,
    range: NameRange,
    read_time: Timestamp,
) -> BoxStream<'static, Result<WireDocument>> {
    let backoff = Backoff::new(inner.config.retry);
    let reader = Reader {
        inner,
        scope,
        range,
        read_time,
        segments: None,
        current: None,
        last: None,
        stream: None,
        backoff,
        finished: false,
    };
    stream::unfold(reader, |mut r| async move {
        r.next().await.map(|item| (item, r))
    })
    .boxed()
}

/// The same documents decoded (prost, then the core model).
pub(crate) fn stream_documents(
    inner: Arc<Inner>,
    scope: Scope,
    range: NameRange,
    read_time: Timestamp,
) -> BoxStream<'static, Result<Document>> {
    stream_wire_documents(inner, scope, range, read_time)
        .map(|d| d.and_then(|d| crate::wire::decode_document(&d)))
        .boxed()
}

/// The same documents for a backup: kept encoded, turned into JSON by its workers.
pub(crate) fn stream_source_documents(
    inner: Arc<Inner>,
    scope: Scope,
    range: NameRange,
    read_time: Timestamp,
) -> BoxStream<'static, Result<SourceDocument>> {
    stream_wire_documents(inner, scope, range, read_time)
        .map(|d| d.map(SourceDocument::Wire))
        .boxed()
}

fn is_unimplemented(e: &Error) -> bool {
    matches!(e, Error::Firestore { code, .. } if code == "UNIMPLEMENTED")
}

/// Split points from PartitionQuery over the whole database (the ranges cover every
/// document; `stream_documents` intersects them with the scope).
pub(crate) async fn partition(
    inner: &Inner,
    _scope: &Scope,
    read_time: Timestamp,
    max_partitions: usize,
) -> Result<Vec<NameRange>> {
    if max_partitions <= 1 {
        return Ok(vec![NameRange::all()]);
    }
    inner.check_read_time(read_time)?;
    let q = proto::StructuredQuery {
        from: vec![structured_query::CollectionSelector {
            collection_id: String::new(),
            all_descendants: true,
        }],
        order_by: name_order(),
        ..Default::default()
    };
    let mut points = Vec::new();
    let mut token = String::new();
    loop {
        let req = proto::PartitionQueryRequest {
            parent: inner.root(),
            // Cursors are split points: n - 1 of them make n partitions.
            partition_count: (max_partitions - 1) as i64,
            page_token: token,
            // All of them in one page if the server allows (it may cap pages and hand
            // out the rest, unordered, under page tokens).
            page_size: i32::try_from(max_partitions - 1).unwrap_or(i32::MAX),
            query_type: Some(proto::partition_query_request::QueryType::StructuredQuery(
                q.clone(),
            )),
            consistency_selector: Some(
                proto::partition_query_request::ConsistencySelector::ReadTime(timestamp_to_proto(
                    read_time,
                )),
            ),
        };
        let resp = match inner
            .unary("PartitionQuery", req, |mut c, r| {
                Box::pin(async move { c.partition_query(r).await })
            })
            .await
        {
            Ok(r) => r,
            Err(e) if is_unimplemented(&e) => return Ok(vec![NameRange::all()]),
            Err(e) => return Err(e),
        };
        for cursor in resp.partitions {
            let Some(proto::value::ValueType::ReferenceValue(name)) =
                cursor.values.first().and_then(|v| v.value_type.clone())
            else {
                return Err(Error::Firestore {
                    code: "INTERNAL".into(),
                    message: "PartitionQuery returned a cursor that is not a document reference"
                        .into(),
                });
            };
            points.push(DocumentPath::parse_resource_name(&name)?.1);
        }
        if resp.next_page_token.is_empty() {
            break;
        }
        token = resp.next_page_token;
    }
    // Cursors arrive unordered across pages.
    points.sort();
    points.dedup();
    if points.len() > max_partitions - 1 {
        let n = points.len();
        let keep = max_partitions - 1;
        points = (1..=keep)
            .map(|i| points[i * n / (keep + 1)].clone())
            .collect();
        points.dedup();
    }
    Ok(ranges_from_points(points))
}

/// `[.., p1), [p1, p2), .., [pn, ..)`.
pub(crate) fn ranges_from_points(points: Vec<DocumentPath>) -> Vec<NameRange> {
    let mut out = Vec::with_capacity(points.len() + 1);
    let mut start = Bound::Unbounded;
    for p in points {
        out.push(NameRange {
            start,
            end: Bound::Excluded(p.clone()),
        });
        start = Bound::Included(p);
    }
    out.push(NameRange {
        start,
        end: Bound::Unbounded,
    });
    out
}

/// Document count of the scope via count aggregations (`None` if unsupported).
pub(crate) async fn count(
    inner: &Inner,
    scope: &Scope,
    read_time: Timestamp,
) -> Result<Option<u64>> {
    inner.check_read_time(read_time)?;
    let mut total = 0u64;
    for seg in plan(inner, scope, &NameRange::all(), read_time).await? {
        let agg = proto::StructuredAggregationQuery {
            aggregations: vec![proto::structured_aggregation_query::Aggregation {
                alias: "n".into(),
                operator: Some(
                    proto::structured_aggregation_query::aggregation::Operator::Count(
                        proto::structured_aggregation_query::aggregation::Count { up_to: None },
                    ),
                ),
            }],
            query_type: Some(
                proto::structured_aggregation_query::QueryType::StructuredQuery(query(
                    inner, &seg, &seg.start, None,
                )),
            ),
        };
        let msg = proto::RunAggregationQueryRequest {
            parent: inner.root(),
            query_type: Some(
                proto::run_aggregation_query_request::QueryType::StructuredAggregationQuery(agg),
            ),
            consistency_selector: Some(
                proto::run_aggregation_query_request::ConsistencySelector::ReadTime(
                    timestamp_to_proto(read_time),
                ),
            ),
            ..Default::default()
        };
        let mut backoff = Backoff::new(inner.config.retry);
        let n = loop {
            let req = inner.request(msg.clone()).await?;
            let result = async {
                let mut s = inner
                    .client()
                    .run_aggregation_query(req)
                    .await?
                    .into_inner();
                let mut n = None;
                while let Some(r) = s.message().await? {
                    if let Some(res) = r.result {
                        n = res
                            .aggregate_fields
                            .get("n")
                            .and_then(|v| match v.value_type {
                                Some(proto::value::ValueType::IntegerValue(i)) => {
                                    u64::try_from(i).ok()
                                }
                                _ => None,
                            });
                    }
                }
                Ok::<_, tonic::Status>(n)
            }
            .await;
            match result {
                Ok(n) => break n,
                Err(s) if s.code() == tonic::Code::Unimplemented => return Ok(None),
                Err(s) if is_retryable(s.code()) && backoff.retry().await => continue,
                Err(s) => return Err(status_error("RunAggregationQuery", &s)),
            }
        };
        match n {
            Some(n) => total += n,
            None => return Ok(None),
        }
    }
    Ok(Some(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> DocumentPath {
        DocumentPath::parse(s).unwrap()
    }

    #[test]
    fn collection_bounds_follow_segment_order() {
        let scope = Scope::collections(["b", "a"], true);
        let plan = plan_with(&scope, &NameRange::all(), vec![]);
        assert_eq!(plan.len(), 2);
        let a = NameRange {
            start: plan[0].start.clone(),
            end: plan[0].end.clone(),
        };
        // Everything under a (any depth) is inside, a- and b are not.
        assert!(a.contains(&p("a/x")));
        assert!(a.contains(&p("a/\u{10FFFF}/s/y/t/z")));
        assert!(!a.contains(&p("a-/x")));
        assert!(!a.contains(&p("a\0/x")));
        assert!(!a.contains(&p("b/x")));
        assert!(!a.contains(&p("0/x")));
    }

    #[test]
    fn depth0_bounds_truncate_deep_paths() {
        let r = NameRange {
            start: Bound::Excluded(p("c/x/sub/y")),
            end: Bound::Excluded(p("c/z/sub/w")),
        };
        let (s, e) = depth0_bounds("c", &r).unwrap();
        assert_eq!(s, Bound::Excluded(p("c/x")));
        assert_eq!(e, Bound::Included(p("c/z")));
        assert!(depth0_bounds("b", &r).is_none());
        assert!(depth0_bounds("d", &r).is_none());
        let scope = Scope {
            exclude: vec!["b".into()],
            ..Scope::default()
        };
        let plan = plan_with(&scope, &NameRange::all(), vec!["a".into(), "b".into()]);
        assert_eq!(plan.len(), 1);
        assert_eq!(plan[0].collection_id, "a");
        assert!(!plan[0].all_descendants);
    }

    #[test]
    fn bounds_intersect() {
        let lo = max_lower(Bound::Included(p("a/b")), Bound::Excluded(p("a/b")));
        assert_eq!(lo, Bound::Excluded(p("a/b")));
        let hi = min_upper(Bound::Included(p("a/c")), Bound::Excluded(p("a/d")));
        assert_eq!(hi, Bound::Included(p("a/c")));
        assert!(is_empty(
            &Bound::Excluded(p("a/b")),
            &Bound::Included(p("a/b"))
        ));
        assert!(!is_empty(
            &Bound::Included(p("a/b")),
            &Bound::Included(p("a/b"))
        ));
        let ranges = ranges_from_points(vec![p("a/m"), p("b/m")]);
        assert_eq!(ranges.len(), 3);
        assert!(ranges[0].contains(&p("a/a")) && !ranges[0].contains(&p("a/m")));
        assert!(ranges[1].contains(&p("a/m")) && !ranges[1].contains(&p("b/m")));
        assert!(ranges[2].contains(&p("b/m")));
    }
}
