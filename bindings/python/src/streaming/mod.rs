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
mod buffers;
mod io;
mod pipeline;

use crate::errors::{py_err, value_err};
use crate::streaming::buffers::{PyBuf, Raw};
use crate::streaming::io::{Sink, Source};
use crate::streaming::pipeline::pump;
use firekeep_core::Error as CoreError;
use firekeep_core::format::tink::StreamHeader;
use firekeep_core::format::{self, HEADER_PREFIX_LEN, ObjectHeader};
use firekeep_core::format::{SegmentOpener, SegmentSealer};
use firekeep_core::secret::SecretBytes;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// A `bytes` object of `len` bytes whose contents the caller fills before handing it out
/// (`PyBytes::new_with` would first zero it: a wasted pass over the whole result).
pub(crate) fn new_bytes(py: Python<'_>, len: usize) -> PyResult<(Bound<'_, PyBytes>, Raw)> {
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
pub(crate) const MEMORY_THREADS: usize = 2;

/// The whole object for `data` in a new `bytes` object, sealed in place there
/// (`SegmentSealer::seal_whole_into`) without the GIL.
pub(crate) fn encrypt_memory<'py>(
    py: Python<'py>,
    data: Raw,
    sealer: SegmentSealer,
) -> PyResult<Bound<'py, PyBytes>> {
    let (obj, out) = new_bytes(py, sealer.object_len(data.len))?;
    py.detach(|| {
        // SAFETY: `out` is the fresh result, written only here; `data` is pinned for the
        // whole call and only read.
        sealer.seal_whole_into(
            unsafe { data.slice() },
            unsafe { out.slice_mut() },
            MEMORY_THREADS,
        )
    })
    .map_err(py_err)?;
    Ok(obj)
}

/// The plaintext of a whole object in memory (`format::open_into`) in a new `bytes`
/// object; only handed out once every tag verified.
pub(crate) fn decrypt_memory<'py>(
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
    let sealer = match test_stream_header {
        None => SegmentSealer::new(&dek, &header),
        Some(b) if b.len() == 32 + 7 => SegmentSealer::with_stream_header(
            &dek,
            &header,
            StreamHeader {
                salt: b[..32].to_vec(),
                nonce_prefix: b[32..].try_into().expect("7 bytes"),
            },
        ),
        Some(_) => {
            return Err(value_err(
                "test_stream_header is salt (32) ‖ nonce prefix (7)",
            ));
        }
    }
    .map_err(py_err)?;
    let mut src = Source::new(src)?;
    let mut sink = Sink::new(dst)?;
    if let (Some(data), Sink::Collect(_)) = (src.memory(), &sink) {
        return Ok(Some(encrypt_memory(py, data, sealer)?.into_any().unbind()));
    }
    sink.write_bytes(py, sealer.prefix())?;
    let slot = sealer.params().ciphertext_segment_size;
    pump(py, &mut src, &mut sink, &sealer, slot)?;
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
    let prefix_len = SegmentOpener::prefix_len(unsafe { start.raw.slice() }).map_err(py_err)?;
    let whole = PyBuf::new(py, prefix_len)?;
    // SAFETY: both buffers are ours.
    unsafe { whole.raw.slice_mut()[..HEADER_PREFIX_LEN].copy_from_slice(start.raw.slice()) };
    let want = prefix_len - HEADER_PREFIX_LEN;
    if src.fill(&whole, HEADER_PREFIX_LEN, want)? < want {
        return Err(truncated());
    }
    // SAFETY: our buffer, filled above.
    let opener = SegmentOpener::new(&dek, unsafe { whole.raw.slice() }).map_err(py_err)?;
    let slot = opener.header().tink_params().ciphertext_segment_size;
    pump(py, &mut src, &mut sink, &opener, slot)?;
    Ok(sink.finish(py))
}
