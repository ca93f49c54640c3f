//! Promises on napi's tokio runtime, cancellation tokens and progress callbacks.

use crate::errors::{CoreResult, js_err};
use firekeep_core::engine::{CancellationToken as CoreToken, ProgressEvent, ProgressFn};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use std::future::Future;
use std::sync::Arc;

/// Runs `fut` on the tokio runtime and resolves a Promise with its result.
pub(crate) fn spawn<T, F>(env: &Env, fut: F) -> Result<PromiseRaw<'_, T>>
where
    T: 'static + Send + ToNapiValue,
    F: 'static + Send + Future<Output = CoreResult<T>>,
{
    env.spawn_future(async move { fut.await.map_err(js_err) })
}

/// A cancellation token; `lib/index.js` cancels it when an `AbortSignal` fires.
#[napi]
#[derive(Clone, Default)]
pub struct CancelToken {
    inner: CoreToken,
}

#[napi]
impl CancelToken {
    /// A fresh, uncancelled token.
    #[napi(constructor)]
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the operation to stop; it rejects with `ERR_CANCELLED` and leaves no manifest.
    #[napi]
    pub fn cancel(&self) {
        self.inner.cancel();
    }

    /// Whether `cancel()` was called.
    #[napi(getter)]
    pub fn cancelled(&self) -> bool {
        self.inner.is_cancelled()
    }
}

pub(crate) fn token_of(t: Option<&CancelToken>) -> CoreToken {
    t.map(|c| c.inner.clone()).unwrap_or_default()
}

/// A JS function receiving one JSON string per call, never blocking the caller.
pub(crate) type JsonCallback = ThreadsafeFunction<String, Unknown<'static>, String, Status, false>;
/// The same, not keeping the process alive (a client's audit callback).
pub(crate) type WeakJsonCallback =
    ThreadsafeFunction<String, Unknown<'static>, String, Status, false, true>;

pub(crate) fn progress_fn(cb: Option<Arc<JsonCallback>>) -> Option<ProgressFn> {
    let cb = cb?;
    Some(Arc::new(move |e: &ProgressEvent| {
        let json = serde_json::json!({
            "phase": e.phase.as_str().to_string(),
            "documents": e.documents,
            "totalDocuments": e.total_documents,
            "bytes": e.bytes,
            "parts": e.parts,
            "totalParts": e.total_parts,
            "elapsed": e.elapsed.as_secs_f64(),
            "docsPerSec": e.docs_per_sec,
            "bytesPerSec": e.bytes_per_sec,
            "eta": e.eta.map(|d| d.as_secs_f64()),
        });
        // Non-blocking: a slow listener must not slow the backup; the queue is unbounded.
        cb.call(json.to_string(), ThreadsafeFunctionCallMode::NonBlocking);
    }))
}
