//! Faults on demand, for resilience tests: failing calls, cut streams, latency, methods
//! that answer UNIMPLEMENTED.

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
    unimplemented: HashSet<Method>,
    fail: Vec<FailRule>,
    cut: HashMap<Method, usize>,
    calls: HashMap<Method, u64>,
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

/// What a call must do, decided when it starts.
pub(crate) struct CallPlan {
    pub(crate) latency: Duration,
    /// For streaming calls: fail with UNAVAILABLE after this many documents.
    pub(crate) cut_after: Option<usize>,
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

    /// Every call waits this long before answering (zero turns it off).
    pub fn latency(&self, latency: Duration) {
        self.lock().latency = latency;
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

    /// Turns every fault off (call counts are kept).
    pub fn clear(&self) {
        let mut st = self.lock();
        let calls = std::mem::take(&mut st.calls);
        *st = State {
            calls,
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
            cut_after: st.cut.remove(&method),
        })
    }
}
