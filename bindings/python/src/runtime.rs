//! The shared tokio runtime: blocking calls with the GIL released, asyncio awaitables,
//! cancellation tokens and progress callbacks.

use crate::errors::{CoreResult, py_err};
use firekeep_core::engine::{CancellationToken as CoreToken, ProgressEvent, ProgressFn};
use pyo3::prelude::*;
use std::future::Future;
use std::sync::Arc;

pub(crate) fn runtime() -> &'static tokio::runtime::Runtime {
    pyo3_async_runtimes::tokio::get_runtime()
}

/// Runs `fut` to completion with the GIL released, so other Python threads keep running.
pub(crate) fn block_on<T: Send>(
    py: Python<'_>,
    fut: impl Future<Output = CoreResult<T>> + Send,
) -> PyResult<T> {
    py.detach(|| runtime().block_on(fut)).map_err(py_err)
}

/// Cancels its token when dropped before [`DropCancel::disarm`]: an awaitable whose
/// asyncio task was cancelled drops its Rust future, and this stops the engine's work.
pub(crate) struct DropCancel(Option<CoreToken>);

impl DropCancel {
    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for DropCancel {
    fn drop(&mut self) {
        if let Some(t) = self.0.take() {
            t.cancel();
        }
    }
}

/// Wraps an operation as an asyncio awaitable. Cancelling the task cancels `token`.
pub(crate) fn awaitable<'py, F>(
    py: Python<'py>,
    token: CoreToken,
    fut: F,
) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = CoreResult<String>> + Send + 'static,
{
    pyo3_async_runtimes::tokio::future_into_py(py, async move {
        let mut guard = DropCancel(Some(token));
        let out = fut.await;
        guard.disarm();
        out.map_err(py_err)
    })
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

/// A cancellation token for blocking calls: call `cancel()` from another thread.
#[pyclass(module = "firekeep._native", frozen)]
#[derive(Clone, Default)]
pub(crate) struct CancellationToken {
    inner: CoreToken,
}

#[pymethods]
impl CancellationToken {
    #[new]
    fn new() -> Self {
        Self::default()
    }

    /// Asks the operation to stop; it fails with `firekeep.Cancelled` and leaves no manifest.
    fn cancel(&self) {
        self.inner.cancel();
    }

    /// Whether `cancel()` was called.
    #[getter]
    fn cancelled(&self) -> bool {
        self.inner.is_cancelled()
    }

    fn __repr__(&self) -> String {
        format!("CancellationToken(cancelled={})", self.inner.is_cancelled())
    }
}

pub(crate) fn token_of(cancel: Option<&CancellationToken>) -> CoreToken {
    cancel.map(|c| c.inner.clone()).unwrap_or_default()
}

/// One progress report, handed to the progress callback: the core's event, read through
/// getters (durations as seconds).
#[pyclass(module = "firekeep._native", frozen)]
pub(crate) struct Progress(ProgressEvent);

#[pymethods]
impl Progress {
    /// `preparing`, `backup`, `verify`, `restore`, `diff`, `delete`, `rotate`, `finishing`, `done`.
    #[getter]
    fn phase(&self) -> &'static str {
        self.0.phase.as_str()
    }
    #[getter]
    fn documents(&self) -> u64 {
        self.0.documents
    }
    #[getter]
    fn total_documents(&self) -> Option<u64> {
        self.0.total_documents
    }
    #[getter]
    fn bytes(&self) -> u64 {
        self.0.bytes
    }
    #[getter]
    fn parts(&self) -> u64 {
        self.0.parts
    }
    #[getter]
    fn total_parts(&self) -> Option<u64> {
        self.0.total_parts
    }
    #[getter]
    fn elapsed(&self) -> f64 {
        self.0.elapsed.as_secs_f64()
    }
    #[getter]
    fn docs_per_sec(&self) -> f64 {
        self.0.docs_per_sec
    }
    #[getter]
    fn bytes_per_sec(&self) -> f64 {
        self.0.bytes_per_sec
    }
    #[getter]
    fn eta(&self) -> Option<f64> {
        self.0.eta.map(|d| d.as_secs_f64())
    }

    fn __repr__(&self) -> String {
        format!(
            "Progress(phase={:?}, documents={}, total_documents={:?}, bytes={}, parts={}, elapsed={:.3})",
            self.phase(),
            self.0.documents,
            self.0.total_documents,
            self.0.bytes,
            self.0.parts,
            self.elapsed()
        )
    }
}

pub(crate) fn progress_fn(callback: Option<Py<PyAny>>) -> Option<ProgressFn> {
    let callback = Arc::new(callback?);
    Some(Arc::new(move |e: &ProgressEvent| {
        let p = Progress(e.clone());
        Python::attach(|py| {
            // A failing progress callback must not fail the backup: report it as Python
            // reports errors in callbacks it cannot propagate.
            if let Err(err) = callback.call1(py, (p,)) {
                err.write_unraisable(py, Some(callback.bind(py)));
            }
        });
    }))
}
