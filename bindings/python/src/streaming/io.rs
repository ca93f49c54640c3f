//! Sources and sinks: bytes-like objects and binary file-likes read with `readinto` and
//! written with `write`.

use crate::streaming::buffers::{PyBuf, Raw, with_part};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PySlice};

/// Where plaintext (encrypt) or ciphertext (decrypt) comes from.
pub(crate) enum Source<'py> {
    /// `bytes`, or a `bytearray` pinned by `_pin`: read straight from its memory.
    Memory {
        data: Raw,
        pos: usize,
        _pin: Option<Bound<'py, PyAny>>,
    },
    /// Any other contiguous buffer (memoryview, array, numpy ...) as a byte view: copied a
    /// segment at a time by slice assignment.
    View {
        view: Bound<'py, PyAny>,
        len: usize,
        pos: usize,
    },
    /// A binary file-like with `readinto`.
    ReadInto(Bound<'py, PyAny>),
    /// A file-like with only `read`.
    Read(Bound<'py, PyAny>),
}

impl<'py> Source<'py> {
    pub(crate) fn new(src: &Bound<'py, PyAny>) -> PyResult<Self> {
        let py = src.py();
        if let Ok(b) = src.cast::<PyBytes>() {
            let data = b.as_bytes();
            return Ok(Source::Memory {
                data: Raw {
                    ptr: data.as_ptr() as *mut u8,
                    len: data.len(),
                },
                pos: 0,
                _pin: Some(b.clone().into_any()),
            });
        }
        if let Ok(a) = src.cast::<PyByteArray>() {
            // The view pins the array (no resize) while we read it.
            let pin = py.import("builtins")?.getattr("memoryview")?.call1((a,))?;
            return Ok(Source::Memory {
                data: Raw {
                    ptr: a.data(),
                    len: a.len(),
                },
                pos: 0,
                _pin: Some(pin),
            });
        }
        if let Ok(m) = src.getattr("readinto") {
            return Ok(Source::ReadInto(m));
        }
        if let Ok(m) = src.getattr("read") {
            return Ok(Source::Read(m));
        }
        let not_supported = || {
            PyTypeError::new_err(format!(
                "src must be bytes, bytearray, memoryview or a binary file-like object with \
                 readinto() or read(), not {}",
                src.get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ))
        };
        let view = py
            .import("builtins")?
            .getattr("memoryview")?
            .call1((src,))
            .map_err(|_| not_supported())?;
        let view = if view.getattr("c_contiguous")?.extract::<bool>()? {
            view.call_method1("cast", ("B",))?
        } else {
            // A strided view: one contiguous copy, then as bytes.
            let b = view.call_method0("tobytes")?;
            return Source::new(&b);
        };
        let len = view.len()?;
        Ok(Source::View { view, len, pos: 0 })
    }

    /// The whole input, if it is already in memory.
    pub(crate) fn memory(&self) -> Option<Raw> {
        match self {
            Source::Memory { data, pos: 0, .. } => Some(*data),
            _ => None,
        }
    }

    /// Fills `buf[off..off + want]`; returns how many bytes came, less than `want` only at
    /// the end of the input.
    pub(crate) fn fill(&mut self, buf: &PyBuf<'py>, off: usize, want: usize) -> PyResult<usize> {
        let py = buf.view.py();
        match self {
            Source::Memory { data, pos, .. } => {
                let n = want.min(data.len - *pos);
                // SAFETY: `data` is pinned and `buf` is ours; they never overlap.
                unsafe {
                    std::ptr::copy_nonoverlapping(data.ptr.add(*pos), buf.raw.ptr.add(off), n);
                }
                *pos += n;
                Ok(n)
            }
            Source::View { view, len, pos } => {
                let n = want.min(*len - *pos);
                if n > 0 {
                    let from =
                        view.get_item(PySlice::new(py, *pos as isize, (*pos + n) as isize, 1))?;
                    buf.view
                        .set_item(PySlice::new(py, off as isize, (off + n) as isize, 1), from)?;
                }
                *pos += n;
                Ok(n)
            }
            Source::ReadInto(readinto) => {
                let mut got = 0;
                while got < want {
                    let asked = want - got;
                    let r = with_part(buf, off + got, off + want, "src.readinto", |part| {
                        readinto.call1((part,))
                    })?;
                    if r.is_none() {
                        return Err(PyValueError::new_err(
                            "src.readinto() returned None: src is a non-blocking stream with \
                             no data ready; give a blocking binary file",
                        ));
                    }
                    let n: usize = r.extract().map_err(|_| {
                        PyTypeError::new_err("src.readinto() must return the number of bytes read")
                    })?;
                    if n > asked {
                        return Err(PyValueError::new_err(format!(
                            "src.readinto() claims {n} bytes into a buffer of {asked}"
                        )));
                    }
                    if n == 0 {
                        break;
                    }
                    got += n;
                }
                Ok(got)
            }
            Source::Read(read) => {
                let mut got = 0;
                while got < want {
                    let block = read.call1((want - got,))?;
                    if block.is_instance_of::<pyo3::types::PyString>() {
                        return Err(PyTypeError::new_err(
                            "src is a text stream; open it in binary mode ('rb')",
                        ));
                    }
                    let block = match block.cast_into::<PyBytes>() {
                        Ok(b) => b,
                        Err(e) => {
                            let obj = e.into_inner();
                            if obj.is_none() {
                                return Err(PyValueError::new_err(
                                    "src.read() returned None: src is a non-blocking stream \
                                     with no data ready; give a blocking binary file",
                                ));
                            }
                            py.import("builtins")?
                                .getattr("bytes")?
                                .call1((obj,))?
                                .cast_into::<PyBytes>()?
                        }
                    };
                    let b = block.as_bytes();
                    if b.is_empty() {
                        break;
                    }
                    if b.len() > want - got {
                        return Err(PyValueError::new_err(format!(
                            "src.read({}) returned {} bytes",
                            want - got,
                            b.len()
                        )));
                    }
                    // SAFETY: `buf` is ours and has room for `want` bytes at `off`.
                    unsafe {
                        std::ptr::copy_nonoverlapping(
                            b.as_ptr(),
                            buf.raw.ptr.add(off + got),
                            b.len(),
                        );
                    }
                    got += b.len();
                }
                Ok(got)
            }
        }
    }
}

/// Where the output goes.
pub(crate) enum Sink<'py> {
    /// Collected, returned as `bytes`.
    Collect(Vec<u8>),
    /// A binary file-like's `write`.
    Write(Bound<'py, PyAny>),
}

impl<'py> Sink<'py> {
    pub(crate) fn new(dst: Option<&Bound<'py, PyAny>>) -> PyResult<Self> {
        match dst {
            None => Ok(Sink::Collect(Vec::new())),
            Some(d) => d.getattr("write").map(Sink::Write).map_err(|_| {
                PyTypeError::new_err(format!(
                    "dst must be a binary file-like object with write(), not {}",
                    d.get_type()
                        .name()
                        .map(|n| n.to_string())
                        .unwrap_or_default()
                ))
            }),
        }
    }

    pub(crate) fn write_bytes(&mut self, py: Python<'py>, data: &[u8]) -> PyResult<()> {
        match self {
            Sink::Collect(v) => {
                v.extend_from_slice(data);
                Ok(())
            }
            Sink::Write(w) => {
                let mut rest = PyBytes::new(py, data).into_any();
                loop {
                    let len = rest.len()?;
                    let n = written(w.call1((&rest,))?, len)?;
                    if n == len {
                        return Ok(());
                    }
                    rest = rest.get_item(PySlice::new(py, n as isize, len as isize, 1))?;
                }
            }
        }
    }

    /// Writes `buf[start..end]`: one `write` of a view of it (more if the file takes less).
    pub(crate) fn write_buf(
        &mut self,
        buf: &PyBuf<'py>,
        mut start: usize,
        end: usize,
    ) -> PyResult<()> {
        match self {
            Sink::Collect(v) => {
                // SAFETY: `buf` is ours; no other thread uses this segment now.
                v.extend_from_slice(unsafe { &buf.raw.slice()[start..end] });
                Ok(())
            }
            Sink::Write(w) => {
                while start < end {
                    let n = with_part(buf, start, end, "dst.write", |part| {
                        written(w.call1((part,))?, end - start)
                    })?;
                    start += n;
                }
                Ok(())
            }
        }
    }

    pub(crate) fn finish(self, py: Python<'py>) -> Option<Py<PyAny>> {
        match self {
            Sink::Collect(v) => Some(PyBytes::new(py, &v).into_any().unbind()),
            Sink::Write(_) => None,
        }
    }
}

/// How much of `len` bytes a `write` call took. `None` counts as all: buffered files and
/// most hand-written writers return the length or nothing (a non-blocking raw file that
/// returns None for "nothing written" is not a supported destination).
pub(crate) fn written(r: Bound<'_, PyAny>, len: usize) -> PyResult<usize> {
    if r.is_none() {
        return Ok(len);
    }
    let n: usize = r.extract().map_err(|_| {
        PyTypeError::new_err("dst.write() must return the number of bytes written or None")
    })?;
    if n == 0 || n > len {
        return Err(PyValueError::new_err(format!(
            "dst.write() of {len} bytes reported {n} written; give a blocking binary file"
        )));
    }
    Ok(n)
}
