//! Faults on demand, for resilience tests: failing calls, cut streams, latency, methods
//! that answer UNIMPLEMENTED; and the costs of servers users have, for benchmarks and
//! regression tests: a per-stream rate limit and cursors that rescan what they skip.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;
use tonic::{Code, Status};

/// A Firestore RPC the server implements (for fault injection and call counts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // The variants are the RPC names.
pub enum Method {
    GetDocument,
    ListDocuments,
    UpdateDocument,
    DeleteDocument,
    CreateDocument,
    BatchGetDocuments,
    BeginTransaction,
    Commit,
    Rollback,
    RunQuery,
    RunAggregationQuery,
    PartitionQuery,
    ListCollectionIds,
    BatchWrite,
}

struct FailRule {
    method: Method,
    /// Calls to let through before failing.
    skip: u64,
    /// Calls still to fail.
    count: u64,
    code: Code,
}

#[derive(Default)]
struct State {
    latency: Duration,
    rate_limit: Option<u64>,
    cursor_cost: Duration,
    cursor_scanned: u64,
    unimplemented: HashSet<Method>,
    fail: Vec<FailRule>,
    cut: HashMap<Method, usize>,
    cut_every: HashMap<Method, usize>,
    stall: Option<(usize, Duration)>,
    calls: HashMap<Method, u64>,
    /// RunQuery streams sending now, and the most there were at once.
    open_streams: u64,
    peak_open_streams: u64,
}

/// Fault injection switches, shared by every call the server handles. Each switch applies
/// from the moment it is set.
#[derive(Default)]
pub struct Faults {
    state: Mutex<State>,
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faults").finish_non_exhaustive()
    }
}

/// A RunQuery stream being served (see [`Faults::peak_concurrent_streams`]).
pub(crate) struct OpenStream(std::sync::Arc<Faults>);

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.lock().open_streams -= 1;
    }
}

/// What a call must do, decided when it starts.
pub(crate) struct CallPlan {
    pub(crate) latency: Duration,
    /// For streaming calls: fail with UNAVAILABLE after this many documents.
    pub(crate) cut_after: Option<usize>,
    /// For RunQuery: most documents per second on this stream.
    pub(crate) rate_limit: Option<u64>,
    /// For RunQuery: time per document a `start_at` cursor skips (zero: cursors seek).
    pub(crate) cursor_cost: Duration,
    /// For RunQuery: after this many documents, send nothing for this long.
    pub(crate) stall: Option<(usize, Duration)>,
}

impl Faults {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The `n`th call of `method` from now (1 = the next one) fails with `code`.
    pub fn fail_nth_call(&self, method: Method, n: u64, code: Code) {
        self.lock().fail.push(FailRule {
            method,
            skip: n.saturating_sub(1),
            count: 1,
            code,
        });
    }

    /// The next `count` calls of `method` fail with `code` (a burst).
    pub fn fail_next_calls(&self, method: Method, count: u64, code: Code) {
        self.lock().fail.push(FailRule {
            method,
            skip: 0,
            count,
            code,
        });
    }

    /// The next call of the streaming `method` (RunQuery, BatchGetDocuments) sends `k`
    /// documents and then fails with UNAVAILABLE, as a dropped connection does.
    pub fn cut_stream_after(&self, method: Method, k: usize) {
        self.lock().cut.insert(method, k);
    }

    /// Every call of the streaming `method` from now on sends `k` documents and then fails
    /// with UNAVAILABLE (`None` turns it off): a reader must resume again and again. A
    /// one-off [`Faults::cut_stream_after`] takes precedence for the next call.
    pub fn cut_every_stream_after(&self, method: Method, k: Option<usize>) {
        let mut st = self.lock();
        match k {
            Some(k) => st.cut_every.insert(method, k),
            None => st.cut_every.remove(&method),
        };
    }

    /// The next RunQuery stream sends `k` documents and then goes silent for `pause`
    /// (connection open, nothing sent), as a stuck backend does; a reader must give up on
    /// it and resume.
    pub fn stall_stream_after(&self, k: usize, pause: Duration) {
        self.lock().stall = Some((k, pause));
    }

    /// Every call waits this long before answering (zero turns it off).
    pub fn latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    /// Each RunQuery stream sends at most `docs_per_sec` documents a second (`None` or
    /// zero turns it off), as a server whose per-query throughput is bounded. Streams are
    /// limited independently (ten streams get ten times the rate of one), and a stream
    /// whose reader fell behind may catch up by at most 100 ms worth of documents at once,
    /// as a token bucket does: waiting does not bank throughput.
    pub fn rate_limit(&self, docs_per_sec: Option<u64>) {
        self.lock().rate_limit = docs_per_sec.filter(|&r| r > 0);
    }

    /// Costly cursors: a RunQuery with a `start_at` cursor first scans every document of
    /// its query from the start of the collection selector's range up to the cursor and
    /// waits `per_skipped_doc` for each, as a server does whose cursor is not an index
    /// seek. Paging a query with cursors then costs time quadratic in its size; one
    /// stream costs nothing. Zero turns it off (cursors seek).
    pub fn cursor_cost(&self, per_skipped_doc: Duration) {
        self.lock().cursor_cost = per_skipped_doc;
    }

    /// Documents skipped by costly `start_at` cursors so far (see [`Faults::cursor_cost`]).
    pub fn cursor_scanned(&self) -> u64 {
        self.lock().cursor_scanned
    }

    pub(crate) fn add_cursor_scanned(&self, n: u64) {
        self.lock().cursor_scanned += n;
    }

    /// `method` answers UNIMPLEMENTED, as some Firestore-compatible servers do for
    /// PartitionQuery.
    pub fn unimplemented(&self, method: Method) {
        self.lock().unimplemented.insert(method);
    }

    /// Number of calls of `method` received so far (including failed ones).
    pub fn calls(&self, method: Method) -> u64 {
        self.lock().calls.get(&method).copied().unwrap_or(0)
    }

    /// The most RunQuery streams that were sending documents at the same time since the
    /// last [`Faults::reset_peak_streams`] (a stream counts from when it starts sending,
    /// after any cursor cost, until it has handed its last document to the transport or
    /// its reader went away).
    pub fn peak_concurrent_streams(&self) -> u64 {
        self.lock().peak_open_streams
    }

    /// Starts a new [`Faults::peak_concurrent_streams`] measurement.
    pub fn reset_peak_streams(&self) {
        let mut st = self.lock();
        st.peak_open_streams = st.open_streams;
    }

    /// Counts a RunQuery stream as open until the guard drops.
    pub(crate) fn open_stream(self: &std::sync::Arc<Self>) -> OpenStream {
        let mut st = self.lock();
        st.open_streams += 1;
        st.peak_open_streams = st.peak_open_streams.max(st.open_streams);
        OpenStream(self.clone())
    }

    /// Turns every fault off (call counts, stream counts and scanned documents are kept).
    pub fn clear(&self) {
        let mut st = self.lock();
        let calls = std::mem::take(&mut st.calls);
        let (cursor_scanned, open, peak) =
            (st.cursor_scanned, st.open_streams, st.peak_open_streams);
        *st = State {
            calls,
            cursor_scanned,
            open_streams: open,
            peak_open_streams: peak,
            ..State::default()
        };
    }

    /// Counts the call and decides its faults.
    pub(crate) fn on_call(&self, method: Method) -> Result<CallPlan, Status> {
        let mut st = self.lock();
        *st.calls.entry(method).or_insert(0) += 1;
        if st.unimplemented.contains(&method) {
            return Err(Status::unimplemented(format!(
                "{method:?} is not implemented by this server"
            )));
        }
        let mut failure = None;
        for rule in st.fail.iter_mut().filter(|r| r.method == method) {
            if rule.skip > 0 {
                rule.skip -= 1;
            } else if rule.count > 0 && failure.is_none() {
                rule.count -= 1;
                failure = Some(rule.code);
            }
        }
        st.fail.retain(|r| r.count > 0);
        if let Some(code) = failure {
            return Err(Status::new(
                code,
                format!("injected fault: {method:?} failed on purpose"),
            ));
        }
        Ok(CallPlan {
            latency: st.latency,
            cut_after: st
                .cut
                .remove(&method)
                .or_else(|| st.cut_every.get(&method).copied()),
            rate_limit: st.rate_limit,
            cursor_cost: st.cursor_cost,
            stall: if method == Method::RunQuery {
                st.stall.take()
            } else {
                None
            },
        })
    }
}
