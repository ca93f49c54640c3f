//! Memory shared with Python across threads: raw spans of objects kept alive, and
//! `bytearray`s pinned by a buffer export.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PySlice};

/// A span of memory that stays valid and unmoved while it is used from another thread:
/// a `bytes` object we hold, a `bytearray` pinned by a buffer export, or a result object
/// not yet handed to Python.
#[derive(Clone, Copy)]
pub(crate) struct Raw {
    pub(crate) ptr: *mut u8,
    pub(crate) len: usize,
}

// SAFETY: every `Raw` points into an object kept alive (and, for bytearrays, unresizable)
// for as long as any thread uses it; threads never touch the same bytes at once.
unsafe impl Send for Raw {}
unsafe impl Sync for Raw {}

impl Raw {
    /// SAFETY: the caller guarantees the memory is live and not aliased mutably.
    pub(crate) unsafe fn slice<'a>(self) -> &'a [u8] {
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// SAFETY: the caller guarantees the memory is live and used by no one else.
    pub(crate) unsafe fn slice_mut<'a>(self) -> &'a mut [u8] {
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

/// A reusable segment buffer: a `bytearray` plus a `memoryview` of it. The view is a
/// buffer export, so the array cannot be resized (its memory cannot move) while we work
/// in it without the GIL; slices of the view are what `readinto`/`write` receive.
pub(crate) struct PyBuf<'py> {
    pub(crate) view: Bound<'py, PyAny>,
    pub(crate) raw: Raw,
}

impl<'py> PyBuf<'py> {
    pub(crate) fn new(py: Python<'py>, len: usize) -> PyResult<Self> {
        let array = PyByteArray::new_with(py, len, |_| Ok(()))?;
        let view = py
            .import("builtins")?
            .getattr("memoryview")?
            .call1((&array,))?;
        let raw = Raw {
            ptr: array.data(),
            len,
        };
        Ok(PyBuf { view, raw })
    }

    /// A fresh `memoryview` of `start..end`, for one call into Python.
    fn part(&self, start: usize, end: usize) -> PyResult<Bound<'py, PyAny>> {
        let py = self.view.py();
        self.view
            .get_item(PySlice::new(py, start as isize, end as isize, 1))
    }
}

impl Drop for PyBuf<'_> {
    fn drop(&mut self) {
        // Unpin. A failure (someone still holds an export) only means the array lives on
        // unpinned, which is safe: we no longer use its memory.
        let _ = self.view.call_method0("release");
    }
}

/// Runs `f(view)` on a fresh view of `buf[start..end]` and releases the view afterwards,
/// so a callee that kept it (against the `io` contract) fails loudly instead of seeing
/// the buffer's next contents.
pub(crate) fn with_part<'py, T>(
    buf: &PyBuf<'py>,
    start: usize,
    end: usize,
    what: &str,
    f: impl FnOnce(&Bound<'py, PyAny>) -> PyResult<T>,
) -> PyResult<T> {
    let part = buf.part(start, end)?;
    let out = f(&part);
    if part.call_method0("release").is_err() {
        return Err(PyValueError::new_err(format!(
            "{what} kept an export of the buffer it was given; firekeep reuses that buffer, \
             so copy the data (bytes(b)) instead of keeping a view of it"
        )));
    }
    out
}
