//! Progress events and cancellation for long operations.

use crate::{Error, Result};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// What a long operation is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Reading the manifest, keys, counting documents.
    Preparing,
    /// Reading documents and writing parts (backup).
    Backup,
    /// Checking parts (verify, or restore's pre-flight check).
    Verify,
    /// Writing documents to the target (restore).
    Restore,
    /// Comparing documents (diff).
    Diff,
    /// Deleting objects (prune, cleanup of a failed backup).
    Delete,
    /// Re-wrapping data keys (rotate-key).
    Rotate,
    /// Writing the manifest / final checks.
    Finishing,
    /// The operation finished successfully.
    Done,
}

impl Phase {
    /// The stable snake_case name (as serialized): what every front end shows.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Preparing => "preparing",
            Phase::Backup => "backup",
            Phase::Verify => "verify",
            Phase::Restore => "restore",
            Phase::Diff => "diff",
            Phase::Delete => "delete",
            Phase::Rotate => "rotate",
            Phase::Finishing => "finishing",
            Phase::Done => "done",
        }
    }
}

/// One progress report. Rates are averages since the operation started.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ProgressEvent {
    /// What is happening.
    pub phase: Phase,
    /// Documents processed so far in this phase.
    pub documents: u64,
    /// Total documents, when known (from `count_documents` or the manifest).
    pub total_documents: Option<u64>,
    /// Bytes processed so far (stored bytes for backup and verify).
    pub bytes: u64,
    /// Parts (or backups, for prune and rotation) done so far.
    pub parts: u64,
    /// Total parts, when known.
    pub total_parts: Option<u64>,
    /// Time since the operation started.
    pub elapsed: Duration,
    /// Average documents per second.
    pub docs_per_sec: f64,
    /// Average bytes per second.
    pub bytes_per_sec: f64,
    /// Estimated time left, when a total is known.
    pub eta: Option<Duration>,
}

/// A progress callback. Called from the task running the operation (never from worker
/// threads); keep it quick.
pub type ProgressFn = Arc<dyn Fn(&ProgressEvent) + Send + Sync>;

/// Cancels a running operation from anywhere (another task, a signal handler). Cheap to
/// clone; clones share the flag. The operation stops at its next check point and returns
/// [`Error::Cancelled`]; a cancelled backup writes no manifest and removes its parts.
#[derive(Clone, Debug, Default)]
pub struct CancellationToken(Arc<AtomicBool>);

impl CancellationToken {
    /// A token that is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests cancellation.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether cancellation was requested.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// `Err(Error::Cancelled)` once cancellation was requested.
    pub fn check(&self) -> Result<()> {
        if self.is_cancelled() {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    }
}

/// Accumulates counters and emits events, throttled so a fast operation does not spend
/// its time in the callback.
pub(crate) struct Tracker {
    callback: Option<ProgressFn>,
    started: Instant,
    last_emit: Option<Instant>,
    pub phase: Phase,
    pub documents: u64,
    pub total_documents: Option<u64>,
    pub bytes: u64,
    pub parts: u64,
    pub total_parts: Option<u64>,
}

/// Minimum time between two throttled events.
const EMIT_EVERY: Duration = Duration::from_millis(100);

impl Tracker {
    pub fn new(callback: Option<ProgressFn>, phase: Phase) -> Self {
        Tracker {
            callback,
            started: Instant::now(),
            last_emit: None,
            phase,
            documents: 0,
            total_documents: None,
            bytes: 0,
            parts: 0,
            total_parts: None,
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Switches phase, resetting nothing but always emitting.
    pub fn set_phase(&mut self, phase: Phase) {
        self.phase = phase;
        self.emit_now();
    }

    /// Emits unless an event went out less than [`EMIT_EVERY`] ago.
    pub fn emit(&mut self) {
        if self.callback.is_none() {
            return;
        }
        let now = Instant::now();
        if self
            .last_emit
            .is_some_and(|last| now.duration_since(last) < EMIT_EVERY)
        {
            return;
        }
        self.emit_now();
    }

    /// Emits unconditionally.
    pub fn emit_now(&mut self) {
        let Some(cb) = &self.callback else { return };
        self.last_emit = Some(Instant::now());
        let elapsed = self.started.elapsed();
        let secs = elapsed.as_secs_f64().max(1e-9);
        let docs_per_sec = self.documents as f64 / secs;
        let bytes_per_sec = self.bytes as f64 / secs;
        let eta = match (self.total_documents, self.total_parts) {
            (Some(total), _) if docs_per_sec > 0.0 && total >= self.documents => Some(
                Duration::from_secs_f64((total - self.documents) as f64 / docs_per_sec),
            ),
            (_, Some(total)) if self.parts > 0 && total >= self.parts => Some(
                Duration::from_secs_f64((total - self.parts) as f64 * secs / self.parts as f64),
            ),
            _ => None,
        };
        let event = ProgressEvent {
            phase: self.phase,
            documents: self.documents,
            total_documents: self.total_documents,
            bytes: self.bytes,
            parts: self.parts,
            total_parts: self.total_parts,
            elapsed,
            docs_per_sec,
            bytes_per_sec,
            eta,
        };
        cb(&event);
    }
}
