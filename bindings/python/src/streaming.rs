//! `firekeep.encrypt` / `firekeep.decrypt`: the object format over bytes-like objects and
//! binary file-likes, at the speed of the Rust format code.
//!
//! Where the time goes decides the shape. AES-GCM on one core runs at about the speed of
//! a memory copy, so every copy of a segment costs as much as encrypting it, and reading
//! a large input from RAM costs as much again. Hence:
//!
//! * bytes-like in, bytes out: each segment is copied once, straight into its place in
//!   the result, and sealed or opened there; the two halves run on two threads.
//! * streams: segments are read with `readinto` into reusable `bytearray`s (owned by
//!   Python, so no reference a callee keeps can outlive them), sealed or opened in place
//!   on a worker thread while the caller's thread reads the next batch of segments, and
//!   written with one `write` per batch. Memory: three batches of four segments.
//!
//! The crypto runs without the GIL. Decryption hands out only verified plaintext.

use crate::{py_err, value_err};
use firekeep_core::Error as CoreError;
use firekeep_core::format::aead::TAG_LEN;
use firekeep_core::format::tink::{SegmentCipher, StreamHeader, TinkParams};
use firekeep_core::format::{self, Backend, HEADER_PREFIX_LEN, ObjectHeader};
use firekeep_core::secret::SecretBytes;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PySlice};
use std::sync::mpsc;

type CoreResult<T> = Result<T, CoreError>;

/// A span of memory that stays valid and unmoved while it is used from another thread:
/// a `bytes` object we hold, a `bytearray` pinned by a buffer export, or a result object
/// not yet handed to Python.
#[derive(Clone, Copy)]
struct Raw {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: every `Raw` points into an object kept alive (and, for bytearrays, unresizable)
// for as long as any thread uses it; threads never touch the same bytes at once.
unsafe impl Send for Raw {}
unsafe impl Sync for Raw {}

impl Raw {
    /// SAFETY: the caller guarantees the memory is live and not aliased mutably.
    unsafe fn slice<'a>(self) -> &'a [u8] {
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// SAFETY: the caller guarantees the memory is live and used by no one else.
    unsafe fn slice_mut<'a>(self) -> &'a mut [u8] {
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

/// A reusable segment buffer: a `bytearray` plus a `memoryview` of it. The view is a
/// buffer export, so the array cannot be resized (its memory cannot move) while we work
/// in it without the GIL; slices of the view are what `readinto`/`write` receive.
struct PyBuf<'py> {
    view: Bound<'py, PyAny>,
    raw: Raw,
}

impl<'py> PyBuf<'py> {
    fn new(py: Python<'py>, len: usize) -> PyResult<Self> {
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
fn with_part<'py, T>(
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

// ---------------------------------------------------------------------------------------
// Sources and sinks

/// Where plaintext (encrypt) or ciphertext (decrypt) comes from.
enum Source<'py> {
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
    fn new(src: &Bound<'py, PyAny>) -> PyResult<Self> {
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
    fn memory(&self) -> Option<Raw> {
        match self {
            Source::Memory { data, pos: 0, .. } => Some(*data),
            _ => None,
        }
    }

    /// Fills `buf[off..off + want]`; returns how many bytes came, less than `want` only at
    /// the end of the input.
    fn fill(&mut self, buf: &PyBuf<'py>, off: usize, want: usize) -> PyResult<usize> {
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
enum Sink<'py> {
    /// Collected, returned as `bytes`.
    Collect(Vec<u8>),
    /// A binary file-like's `write`.
    Write(Bound<'py, PyAny>),
}

impl<'py> Sink<'py> {
    fn new(dst: Option<&Bound<'py, PyAny>>) -> PyResult<Self> {
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

    fn write_bytes(&mut self, py: Python<'py>, data: &[u8]) -> PyResult<()> {
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
    fn write_buf(&mut self, buf: &PyBuf<'py>, mut start: usize, end: usize) -> PyResult<()> {
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

    fn finish(self, py: Python<'py>) -> Option<Py<PyAny>> {
        match self {
            Sink::Collect(v) => Some(PyBytes::new(py, &v).into_any().unbind()),
            Sink::Write(_) => None,
        }
    }
}

/// How much of `len` bytes a `write` call took. `None` counts as all: buffered files and
/// most hand-written writers return the length or nothing (a non-blocking raw file that
/// returns None for "nothing written" is not a supported destination).
fn written(r: Bound<'_, PyAny>, len: usize) -> PyResult<usize> {
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

// ---------------------------------------------------------------------------------------
// Segment pipeline

/// What happens to each segment, in place.
trait Transform: Sync {
    /// Input bytes of segment `index` (the last one may have fewer).
    fn input_len(&self, index: u32) -> usize;
    /// Transforms `buf[..n]` (segment `index`) in place; returns the output length.
    fn run(&self, index: u32, last: bool, buf: &mut [u8], n: usize) -> CoreResult<usize>;
}

struct Seal {
    cipher: SegmentCipher,
    params: TinkParams,
}

impl Transform for Seal {
    fn input_len(&self, index: u32) -> usize {
        if index == 0 {
            self.params.first_plaintext_len()
        } else {
            self.params.plaintext_segment_len()
        }
    }

    fn run(&self, index: u32, last: bool, buf: &mut [u8], n: usize) -> CoreResult<usize> {
        let tag = self.cipher.seal(index, last, &mut buf[..n]);
        buf[n..n + TAG_LEN].copy_from_slice(&tag);
        Ok(n + TAG_LEN)
    }
}

struct Open {
    cipher: SegmentCipher,
    params: TinkParams,
    object: String,
}

impl Transform for Open {
    fn input_len(&self, index: u32) -> usize {
        let seg = self.params.ciphertext_segment_size;
        if index == 0 {
            seg - self.params.header_len() - self.params.first_segment_offset
        } else {
            seg
        }
    }

    fn run(&self, index: u32, last: bool, buf: &mut [u8], n: usize) -> CoreResult<usize> {
        if n < TAG_LEN {
            return Err(CoreError::integrity(
                &self.object,
                format!("object is truncated: segment {index} is {n} bytes, shorter than a tag"),
            ));
        }
        self.cipher.open(index, last, &mut buf[..n])
    }
}

/// Segments per pipeline step. Handing work between threads costs tens of microseconds on
/// a loaded VM, a sizeable share of the ~150 us one 1 MiB segment takes to seal, so each
/// step moves a batch. Memory: three batches (12 MiB at the default 1 MiB segments).
const SEGMENTS_PER_BATCH: usize = 4;

/// Input byte counts of the segments of one batch (`len` of them).
#[derive(Clone, Copy, Default)]
struct Batch {
    first: u32,
    len: usize,
    n: [usize; SEGMENTS_PER_BATCH],
    /// The input ended inside this batch.
    eof: bool,
}

/// Reads the batch starting at segment `first` into `buf`, one segment per `slot`-byte slot.
fn read_batch<'py>(
    src: &mut Source<'py>,
    buf: &PyBuf<'py>,
    t: &dyn Transform,
    first: u32,
    slot: usize,
) -> PyResult<Batch> {
    let mut b = Batch {
        first,
        ..Batch::default()
    };
    for j in 0..SEGMENTS_PER_BATCH {
        let index = first
            .checked_add(j as u32)
            .ok_or_else(|| value_err("more than 2^32 segments; use a larger segment_size"))?;
        let want = t.input_len(index);
        let got = src.fill(buf, j * slot, want)?;
        // An empty segment exists only as the first one (empty input).
        if got > 0 || index == 0 {
            b.n[j] = got;
            b.len += 1;
        }
        if got < want {
            b.eof = true;
            break;
        }
    }
    Ok(b)
}

/// Transforms a batch in place. Returns the output length of each segment that succeeded
/// and the error that stopped it, so the segments before a failure are still written
/// (decrypt writes exactly the verified prefix).
fn run_batch(
    t: &dyn Transform,
    raw: Raw,
    b: &Batch,
    last: bool,
    slot: usize,
) -> (Vec<usize>, Option<CoreError>) {
    let mut outs = Vec::with_capacity(b.len);
    for j in 0..b.len {
        // SAFETY: the caller gives this thread the batch's buffer alone while it runs.
        let seg = unsafe { &mut raw.slice_mut()[j * slot..(j + 1) * slot] };
        let is_last = last && j + 1 == b.len;
        match t.run(b.first + j as u32, is_last, seg, b.n[j]) {
            Ok(out) => outs.push(out),
            Err(e) => return (outs, Some(e)),
        }
    }
    (outs, None)
}

/// Writes the outputs of a batch: segments whose output fills their slot are contiguous
/// with the next, so most batches are one `write`.
fn write_batch<'py>(
    sink: &mut Sink<'py>,
    buf: &PyBuf<'py>,
    outs: &[usize],
    slot: usize,
) -> PyResult<()> {
    let mut start = 0;
    for (j, &out) in outs.iter().enumerate() {
        let end = j * slot + out;
        if out != slot || j + 1 == outs.len() {
            sink.write_buf(buf, start, end)?;
            start = (j + 1) * slot;
        }
    }
    Ok(())
}

/// Streams `src` through `t` into `sink`, a batch of segments at a time: while a worker
/// thread transforms one batch in place, this thread reads the next and writes the one
/// before. A segment is known to be the last when the input ends inside it or right after
/// it (Tink marks the last segment in its nonce), so the next batch is read before the
/// current one is handed over.
fn pump<'py>(
    py: Python<'py>,
    src: &mut Source<'py>,
    sink: &mut Sink<'py>,
    t: &dyn Transform,
    slot: usize,
) -> PyResult<()> {
    let buf_len = slot * SEGMENTS_PER_BATCH;
    let first = PyBuf::new(py, buf_len)?;
    let b0 = read_batch(src, &first, t, 0, slot)?;
    if b0.eof {
        // The whole input in one batch: no second thread.
        let raw = first.raw;
        let (outs, err) = py.detach(|| run_batch(t, raw, &b0, true, slot));
        write_batch(sink, &first, &outs, slot)?;
        return match err {
            Some(e) => Err(py_err(e)),
            None => Ok(()),
        };
    }
    let bufs = [first, PyBuf::new(py, buf_len)?, PyBuf::new(py, buf_len)?];
    let raws = [bufs[0].raw, bufs[1].raw, bufs[2].raw];
    type Done = (usize, Vec<usize>, Option<CoreError>);
    std::thread::scope(|s| {
        let (jobs, job_rx) = mpsc::sync_channel::<(usize, Batch, bool)>(2);
        let (done_tx, done) = mpsc::sync_channel::<Done>(2);
        // (A Receiver is not Sync; waiting without the GIL needs a shared reference.)
        let done = std::sync::Mutex::new(done);
        s.spawn(move || {
            for (b, batch, last) in job_rx {
                // While a job runs, its buffer is touched by no other code: the caller's
                // thread reads into and writes from the other two.
                let (outs, err) = run_batch(t, raws[b], &batch, last, slot);
                if done_tx.send((b, outs, err)).is_err() {
                    return;
                }
            }
        });
        let mut run = || -> PyResult<()> {
            let worker_gone = || value_err("the encryption worker thread stopped");
            let wait_and_write = |sink: &mut Sink<'py>| -> PyResult<()> {
                let (b, outs, err) = py
                    .detach(|| done.lock().map_err(|_| ())?.recv().map_err(|_| ()))
                    .map_err(|_| worker_gone())?;
                write_batch(sink, &bufs[b], &outs, slot)?;
                match err {
                    Some(e) => Err(py_err(e)),
                    None => Ok(()),
                }
            };
            let mut step = 0usize;
            let mut cur_batch = b0;
            let mut pending = false;
            loop {
                let cur = step % 3;
                let next = (step + 1) % 3;
                let (last, next_batch) = if cur_batch.eof {
                    (true, Batch::default())
                } else {
                    let next_first = cur_batch
                        .first
                        .checked_add(cur_batch.len as u32)
                        .ok_or_else(|| {
                            value_err("more than 2^32 segments; use a larger segment_size")
                        })?;
                    let nb = read_batch(src, &bufs[next], t, next_first, slot)?;
                    (nb.len == 0, nb)
                };
                jobs.send((cur, cur_batch, last))
                    .map_err(|_| worker_gone())?;
                if pending {
                    wait_and_write(sink)?;
                }
                pending = true;
                if last {
                    break;
                }
                step += 1;
                cur_batch = next_batch;
            }
            wait_and_write(sink)
        };
        let result = run();
        // Closing the job queue stops the worker; the scope then joins it before the
        // buffers are dropped.
        drop(jobs);
        drop(done);
        result
    })
}

// ---------------------------------------------------------------------------------------
// Whole objects in memory

/// A `bytes` object of `len` bytes whose contents the caller fills before handing it out
/// (`PyBytes::new_with` would first zero it: a wasted pass over the whole result).
fn new_bytes(py: Python<'_>, len: usize) -> PyResult<(Bound<'_, PyBytes>, Raw)> {
    // SAFETY: a new, unshared bytes object; it is filled before Python code sees it.
    unsafe {
        let ptr = pyo3::ffi::PyBytes_FromStringAndSize(std::ptr::null(), len as isize);
        let obj = Bound::from_owned_ptr_or_err(py, ptr)?.cast_into_unchecked::<PyBytes>();
        let data = pyo3::ffi::PyBytes_AsString(obj.as_ptr()) as *mut u8;
        Ok((obj, Raw { ptr: data, len }))
    }
}

/// Threads for a whole object in memory (the core splits the segments into runs; a few
/// segments stay on one thread).
const MEMORY_THREADS: usize = 2;

/// `header_bytes ‖ stream` of `data` in a new `bytes` object, sealed in place there
/// (`tink::encrypt_into`) without the GIL.
fn encrypt_memory<'py>(
    py: Python<'py>,
    data: Raw,
    dek: &SecretBytes,
    header_bytes: &[u8],
    params: &TinkParams,
    sh: &StreamHeader,
) -> PyResult<Bound<'py, PyBytes>> {
    let total = header_bytes.len() + params.ciphertext_len(data.len as u64) as usize;
    let (obj, out) = new_bytes(py, total)?;
    py.detach(|| {
        // SAFETY: `out` is the fresh result, written only here; `data` is pinned for the
        // whole call and only read.
        let (head, body) = unsafe { out.slice_mut() }.split_at_mut(header_bytes.len());
        head.copy_from_slice(header_bytes);
        format::tink::encrypt_into(
            Backend::DEFAULT,
            params,
            dek.expose(),
            header_bytes,
            sh,
            unsafe { data.slice() },
            body,
            MEMORY_THREADS,
        )
    })
    .map_err(py_err)?;
    Ok(obj)
}

/// The plaintext of a whole object in memory (`format::open_into`) in a new `bytes`
/// object; only handed out once every tag verified.
fn decrypt_memory<'py>(
    py: Python<'py>,
    dek: &SecretBytes,
    data: Raw,
) -> PyResult<Bound<'py, PyBytes>> {
    // SAFETY: pinned by the caller, only read.
    let object = unsafe { data.slice() };
    let len = format::opened_len_for(dek, object).map_err(py_err)?;
    let (obj, out) = new_bytes(py, len)?;
    py.detach(|| {
        // SAFETY: `out` is the fresh result, written only here.
        format::open_into(dek, object, unsafe { out.slice_mut() }, MEMORY_THREADS)
    })
    .map_err(py_err)?;
    Ok(obj)
}

// ---------------------------------------------------------------------------------------
// The module functions

pub(crate) fn data_key(key: &[u8]) -> PyResult<SecretBytes> {
    if key.len() != format::DATA_KEY_LEN {
        return Err(value_err(format!(
            "a data key is exactly {} bytes; got {} (use firekeep.generate_data_key())",
            format::DATA_KEY_LEN,
            key.len()
        )));
    }
    Ok(SecretBytes::new(key.to_vec()))
}

pub(crate) fn segment_size(n: i64) -> PyResult<u32> {
    let (lo, hi) = (format::MIN_SEGMENT_SIZE, format::MAX_SEGMENT_SIZE);
    if n < i64::from(lo) || n > i64::from(hi) {
        return Err(value_err(format!(
            "segment_size {n} is out of range; use {lo} ..= {hi} bytes (default {})",
            format::DEFAULT_SEGMENT_SIZE
        )));
    }
    Ok(n as u32)
}

/// Encrypts `src` (bytes-like or a binary file) with data key `key` into one object:
/// header ‖ Tink AesGcmHkdfStreaming body. Returns the bytes without `dst`, else writes
/// them to `dst` and returns None. `test_stream_header` (salt ‖ nonce prefix, 39 bytes)
/// replaces the random one, for known-answer tests only: reusing it with the same key and
/// header reuses nonces.
#[pyfunction]
#[pyo3(signature = (src, dst, key, backup_id, object_name, segment_size, test_stream_header=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn encrypt<'py>(
    py: Python<'py>,
    src: &Bound<'py, PyAny>,
    dst: Option<&Bound<'py, PyAny>>,
    key: &[u8],
    backup_id: &str,
    object_name: &str,
    segment_size: i64,
    test_stream_header: Option<&[u8]>,
) -> PyResult<Option<Py<PyAny>>> {
    let dek = data_key(key)?;
    let mut header = ObjectHeader::new(&dek, backup_id, object_name);
    header.segment_size = self::segment_size(segment_size)?;
    let params = header.tink_params();
    let mut prefix = header.to_bytes().map_err(py_err)?;
    let hlen = prefix.len();
    let sh = match test_stream_header {
        None => StreamHeader::random(&params),
        Some(b) if b.len() == params.key_size + 7 => StreamHeader {
            salt: b[..params.key_size].to_vec(),
            nonce_prefix: b[params.key_size..].try_into().expect("7 bytes"),
        },
        Some(_) => {
            return Err(value_err(
                "test_stream_header is salt (32) ‖ nonce prefix (7)",
            ));
        }
    };
    let cipher = SegmentCipher::new(
        Backend::DEFAULT,
        &params,
        dek.expose(),
        &prefix,
        &sh,
        object_name,
    )
    .map_err(py_err)?;
    prefix.extend_from_slice(&sh.to_bytes());
    let seal = Seal { cipher, params };
    let mut src = Source::new(src)?;
    let mut sink = Sink::new(dst)?;
    if let (Some(data), Sink::Collect(_)) = (src.memory(), &sink) {
        return Ok(Some(
            encrypt_memory(py, data, &dek, &prefix[..hlen], &params, &sh)?
                .into_any()
                .unbind(),
        ));
    }
    sink.write_bytes(py, &prefix)?;
    pump(
        py,
        &mut src,
        &mut sink,
        &seal,
        params.ciphertext_segment_size,
    )?;
    Ok(sink.finish(py))
}

/// Decrypts an object made by `encrypt` (or a backup part, with its data key). Only
/// verified plaintext is returned or written.
#[pyfunction]
#[pyo3(signature = (src, dst, key))]
pub(crate) fn decrypt<'py>(
    py: Python<'py>,
    src: &Bound<'py, PyAny>,
    dst: Option<&Bound<'py, PyAny>>,
    key: &[u8],
) -> PyResult<Option<Py<PyAny>>> {
    let dek = data_key(key)?;
    let mut src = Source::new(src)?;
    let mut sink = Sink::new(dst)?;
    if let (Some(data), Sink::Collect(_)) = (src.memory(), &sink) {
        return Ok(Some(decrypt_memory(py, &dek, data)?.into_any().unbind()));
    }
    // The header: its fixed prefix tells its length; the Tink stream header follows.
    let truncated = || {
        py_err(CoreError::integrity(
            "object",
            "object is truncated: it ends inside its header",
        ))
    };
    let start = PyBuf::new(py, HEADER_PREFIX_LEN)?;
    if src.fill(&start, 0, HEADER_PREFIX_LEN)? < HEADER_PREFIX_LEN {
        return Err(truncated());
    }
    // SAFETY: our buffer, filled above.
    let hlen = format::header_len(unsafe { start.raw.slice() }).map_err(py_err)?;
    let stream_header_len = format::STREAM_HEADER_LEN;
    let whole = PyBuf::new(py, hlen + stream_header_len)?;
    // SAFETY: both buffers are ours.
    unsafe { whole.raw.slice_mut()[..HEADER_PREFIX_LEN].copy_from_slice(start.raw.slice()) };
    let want = hlen + stream_header_len - HEADER_PREFIX_LEN;
    if src.fill(&whole, HEADER_PREFIX_LEN, want)? < want {
        return Err(truncated());
    }
    // SAFETY: our buffer, filled above.
    let bytes = unsafe { whole.raw.slice() };
    let (header, cipher) = format::object_cipher(&dek, bytes).map_err(py_err)?;
    let params = header.tink_params();
    let object = header.object_name;
    let open = Open {
        cipher,
        params,
        object,
    };
    pump(
        py,
        &mut src,
        &mut sink,
        &open,
        params.ciphertext_segment_size,
    )?;
    Ok(sink.finish(py))
}
