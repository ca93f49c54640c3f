//! The object format on its own: whole-buffer encryptor/decryptor, data keys, headers.

use crate::errors::{CoreResult, py_err, value_err};
use crate::streaming::{data_key, segment_size};
use firekeep_core::format as stream;
use firekeep_core::format::{self, ObjectHeader};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

/// Push-style encryptor of one object (firekeep header ‖ Tink AesGcmHkdfStreaming body).
#[pyclass(module = "firekeep._native")]
pub(crate) struct Encryptor {
    inner: Option<stream::Encryptor>,
}

#[pymethods]
impl Encryptor {
    #[new]
    #[pyo3(signature = (key, backup_id="standalone", object_name="object", segment_size=format::DEFAULT_SEGMENT_SIZE as i64))]
    fn new(key: &[u8], backup_id: &str, object_name: &str, segment_size: i64) -> PyResult<Self> {
        let dek = data_key(key)?;
        let mut header = ObjectHeader::new(&dek, backup_id, object_name);
        header.segment_size = self::segment_size(segment_size)?;
        let inner = stream::Encryptor::new(&dek, &header).map_err(py_err)?;
        Ok(Encryptor { inner: Some(inner) })
    }

    /// Adds plaintext; returns the ciphertext completed so far (possibly empty).
    fn update<'py>(&mut self, py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        let enc = self
            .inner
            .as_mut()
            .ok_or_else(|| value_err("this Encryptor is finished; create a new one"))?;
        let mut out = Vec::with_capacity(data.len() + 4096);
        py.detach(|| {
            enc.update(data, &mut |b| {
                out.extend_from_slice(b);
                Ok(())
            })
        })
        .map_err(py_err)?;
        Ok(PyBytes::new(py, &out))
    }

    /// Ends the object; returns its last bytes.
    fn finish<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let enc = self
            .inner
            .take()
            .ok_or_else(|| value_err("this Encryptor is already finished"))?;
        let mut out = Vec::new();
        py.detach(|| {
            enc.finish(&mut |b| {
                out.extend_from_slice(b);
                Ok(())
            })
        })
        .map_err(py_err)?;
        Ok(PyBytes::new(py, &out))
    }
}

/// Push-style decryptor: returns only verified plaintext.
#[pyclass(module = "firekeep._native")]
pub(crate) struct Decryptor {
    inner: Option<stream::Decryptor>,
}

#[pymethods]
impl Decryptor {
    #[new]
    fn new(key: &[u8]) -> PyResult<Self> {
        let dek = data_key(key)?;
        Ok(Decryptor {
            inner: Some(stream::Decryptor::new(format::Backend::DEFAULT, &dek)),
        })
    }

    /// Feeds ciphertext; returns the plaintext of every segment verified so far.
    fn update<'py>(&mut self, py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        let dec = self
            .inner
            .as_mut()
            .ok_or_else(|| value_err("this Decryptor is finished; create a new one"))?;
        let mut out = Vec::with_capacity(data.len());
        py.detach(|| {
            dec.update(data, &mut |b| {
                out.extend_from_slice(b);
                Ok(())
            })
        })
        .map_err(py_err)?;
        Ok(PyBytes::new(py, &out))
    }

    /// Ends the input; returns the last verified plaintext. Fails with
    /// `firekeep.IntegrityError` if the object was truncated.
    fn finish<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let mut dec = self
            .inner
            .take()
            .ok_or_else(|| value_err("this Decryptor is already finished"))?;
        let out = py
            .detach(|| -> CoreResult<Vec<u8>> { Ok(dec.finish_plaintext()?.to_vec()) })
            .map_err(py_err)?;
        Ok(PyBytes::new(py, &out))
    }

    /// The object's header fields once read (`key_id`, `backup_id`, `object_name`,
    /// `segment_size`), else None.
    fn header<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(h) = self.inner.as_ref().and_then(|d| d.header()) else {
            return Ok(None);
        };
        let d = PyDict::new(py);
        d.set_item("key_id", &h.key_id)?;
        d.set_item("backup_id", &h.backup_id)?;
        d.set_item("object_name", &h.object_name)?;
        d.set_item("segment_size", h.segment_size)?;
        Ok(Some(d))
    }
}

/// A fresh random 32-byte data key.
#[pyfunction]
pub(crate) fn generate_data_key<'py>(py: Python<'py>) -> Bound<'py, PyBytes> {
    let k = firekeep_core::keys::random_data_key();
    PyBytes::new(py, k.expose())
}

/// The serialized object header for `key` (the associated data of the Tink body).
#[pyfunction]
#[pyo3(signature = (key, backup_id="standalone", object_name="object", segment_size=format::DEFAULT_SEGMENT_SIZE as i64))]
pub(crate) fn object_header<'py>(
    py: Python<'py>,
    key: &[u8],
    backup_id: &str,
    object_name: &str,
    segment_size: i64,
) -> PyResult<Bound<'py, PyBytes>> {
    let dek = data_key(key)?;
    let mut header = ObjectHeader::new(&dek, backup_id, object_name);
    header.segment_size = self::segment_size(segment_size)?;
    Ok(PyBytes::new(py, &header.to_bytes().map_err(py_err)?))
}
