//! Cancellation tokens, progress listeners and cancel-on-drop for async calls.

use crate::errors::{Result, guard_async};
use firekeep_core::engine::{CancellationToken as CoreToken, ProgressEvent, ProgressFn};
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

/// Cancels a running operation from any thread; it then fails with `Cancelled` and a
/// backup leaves no manifest. Cancelling the awaiting Swift `Task` / Kotlin coroutine
/// (dropping the future) has the same effect.
#[derive(Debug, Default, uniffi::Object)]
pub struct CancellationToken {
    inner: CoreToken,
}

#[uniffi::export]
impl CancellationToken {
    /// A token that is not cancelled.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Asks the operation to stop at its next check point.
    pub fn cancel(&self) {
        self.inner.cancel();
    }

    /// Whether `cancel()` was called.
    pub fn is_cancelled(&self) -> bool {
        self.inner.is_cancelled()
    }
}

/// One progress report.
#[derive(Clone, Debug, uniffi::Record)]
pub struct Progress {
    /// `preparing`, `backup`, `verify`, `restore`, `finishing`, `done` ...
    pub phase: String,
    /// Documents so far.
    pub documents: u64,
    /// Total documents, when known.
    pub total_documents: Option<u64>,
    /// Bytes so far.
    pub bytes: u64,
    /// Parts so far.
    pub parts: u64,
    /// Total parts, when known.
    pub total_parts: Option<u64>,
    /// Seconds since the start.
    pub elapsed_seconds: f64,
    /// Documents per second.
    pub docs_per_sec: f64,
    /// Bytes per second.
    pub bytes_per_sec: f64,
    /// Estimated seconds left, when known.
    pub eta_seconds: Option<f64>,
}

/// Receives progress reports (implemented in Swift/Kotlin). Called from a background
/// thread; keep it quick.
#[uniffi::export(callback_interface)]
pub trait ProgressListener: Send + Sync {
    /// One report.
    fn on_progress(&self, progress: Progress);
}

pub(crate) fn progress_fn(listener: Option<Box<dyn ProgressListener>>) -> Option<ProgressFn> {
    let listener = listener?;
    Some(Arc::new(move |e: &ProgressEvent| {
        let p = Progress {
            phase: e.phase.as_str().to_string(),
            documents: e.documents,
            total_documents: e.total_documents,
            bytes: e.bytes,
            parts: e.parts,
            total_parts: e.total_parts,
            elapsed_seconds: e.elapsed.as_secs_f64(),
            docs_per_sec: e.docs_per_sec,
            bytes_per_sec: e.bytes_per_sec,
            eta_seconds: e.eta.map(|d| d.as_secs_f64()),
        };
        // A failing listener must not fail (or unwind through) the operation.
        let _ = catch_unwind(AssertUnwindSafe(|| listener.on_progress(p)));
    }))
}

/// Cancels its token when dropped armed: a dropped (cancelled) foreign future stops the
/// engine's work instead of letting it run on unobserved.
pub(crate) struct DropCancel(Option<CoreToken>);

impl Drop for DropCancel {
    fn drop(&mut self) {
        if let Some(t) = self.0.take() {
            t.cancel();
        }
    }
}

/// Runs an operation with a token that the caller's token and a dropped future both
/// cancel.
pub(crate) async fn cancellable<T, F, Fut>(
    cancel: Option<Arc<CancellationToken>>,
    f: F,
) -> Result<T>
where
    F: FnOnce(CoreToken) -> Fut,
    Fut: Future<Output = firekeep_core::Result<T>>,
{
    let token = cancel.map(|c| c.inner.clone()).unwrap_or_default();
    let mut armed = DropCancel(Some(token.clone()));
    let out = guard_async(async { Ok(f(token).await?) }).await;
    armed.0 = None;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropping_an_operation_cancels_its_token() {
        let token = CancellationToken::new();
        let fut = cancellable(Some(token.clone()), |_| {
            futures::future::pending::<firekeep_core::Result<()>>()
        });
        drop(Box::pin(fut));
        // Never polled: nothing armed yet, so the token stays as it was.
        assert!(!token.is_cancelled());
        let mut fut = Box::pin(cancellable(Some(token.clone()), |_| {
            futures::future::pending::<firekeep_core::Result<()>>()
        }));
        assert!(futures::FutureExt::now_or_never(&mut fut).is_none());
        drop(fut);
        assert!(token.is_cancelled());
    }
}
