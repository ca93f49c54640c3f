//! Firestore documents and values between Python objects and the core's model, and the
//! core's text grammars (durations, RFC 3339).

use crate::errors::{invalid_input, py_err, value_err};
use firekeep_core::model::{Document, GeoPoint, Timestamp, Value, json};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use std::collections::BTreeMap;

pub(crate) fn ts_to_py(py: Python<'_>, t: Timestamp) -> PyResult<Py<PyAny>> {
    let cls = py.import("firekeep._types")?.getattr("Timestamp")?;
    Ok(cls
        .call_method1("from_unix", (t.seconds(), t.nanos()))?
        .unbind())
}

pub(crate) fn value_to_py(py: Python<'_>, v: &Value) -> PyResult<Py<PyAny>> {
    let types = py.import("firekeep._types")?;
    Ok(match v {
        Value::Null => py.None(),
        Value::Boolean(b) => b.into_pyobject(py)?.to_owned().into_any().unbind(),
        Value::Integer(i) => i.into_pyobject(py)?.into_any().unbind(),
        Value::Double(d) => d.into_pyobject(py)?.into_any().unbind(),
        Value::Timestamp(t) => ts_to_py(py, *t)?,
        Value::String(s) => s.into_pyobject(py)?.into_any().unbind(),
        Value::Bytes(b) => PyBytes::new(py, b).into_any().unbind(),
        Value::Reference(r) => types.getattr("Reference")?.call1((r,))?.unbind(),
        Value::GeoPoint(g) => types
            .getattr("GeoPoint")?
            .call1((g.latitude, g.longitude))?
            .unbind(),
        Value::Array(a) => {
            let items = a
                .iter()
                .map(|x| value_to_py(py, x))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_any().unbind()
        }
        Value::Map(m) => {
            let d = PyDict::new(py);
            for (k, x) in m {
                d.set_item(k, value_to_py(py, x)?)?;
            }
            d.into_any().unbind()
        }
    })
}

pub(crate) fn py_to_ts(obj: &Bound<'_, PyAny>) -> PyResult<Timestamp> {
    let (secs, nanos): (i64, u32) = obj
        .py()
        .import("firekeep._types")?
        .getattr("_unix_parts")?
        .call1((obj,))?
        .extract()?;
    Timestamp::new(secs, nanos).map_err(|e| value_err(e.to_string()))
}

pub(crate) fn py_to_value(obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
    if depth > firekeep_core::model::MAX_VALUE_NESTING {
        return Err(value_err(
            "value nested deeper than Firestore's 20 levels of maps and arrays",
        ));
    }
    let py = obj.py();
    let types = py.import("firekeep._types")?;
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<pyo3::types::PyBool>() {
        return Ok(Value::Boolean(b.is_true()));
    }
    if obj.is_instance_of::<pyo3::types::PyInt>() {
        return obj.extract::<i64>().map(Value::Integer).map_err(|_| {
            value_err("integer out of Firestore's 64-bit range (-2**63 ..= 2**63-1)")
        });
    }
    if obj.is_instance_of::<pyo3::types::PyFloat>() {
        return Ok(Value::Double(obj.extract()?));
    }
    if obj.is_instance_of::<pyo3::types::PyString>() {
        return Ok(Value::String(obj.extract()?));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Value::Bytes(b.as_bytes().to_vec()));
    }
    if obj.is_instance(&types.getattr("GeoPoint")?)? {
        return Ok(Value::GeoPoint(GeoPoint {
            latitude: obj.getattr("latitude")?.extract()?,
            longitude: obj.getattr("longitude")?.extract()?,
        }));
    }
    if obj.is_instance(&types.getattr("Reference")?)? {
        return Ok(Value::Reference(obj.getattr("name")?.extract()?));
    }
    if obj.is_instance(&py.import("datetime")?.getattr("datetime")?)? {
        return Ok(Value::Timestamp(py_to_ts(obj)?));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut m = BTreeMap::new();
        for (k, v) in d.iter() {
            let k: String = k
                .extract()
                .map_err(|_| PyTypeError::new_err("map keys must be str"))?;
            m.insert(k, py_to_value(&v, depth + 1)?);
        }
        return Ok(Value::Map(m));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<pyo3::types::PyTuple>() {
        let mut a = Vec::new();
        for v in obj.try_iter()? {
            a.push(py_to_value(&v?, depth + 1)?);
        }
        return Ok(Value::Array(a));
    }
    Err(PyTypeError::new_err(format!(
        "cannot store a {} in Firestore; use None, bool, int, float, str, bytes, datetime, \
         GeoPoint, Reference, list or dict",
        obj.get_type().name()?
    )))
}

/// (name, fields, create_time, update_time) of a decoded document.
pub(crate) type DecodedDocument = (String, Py<PyAny>, Option<Py<PyAny>>, Option<Py<PyAny>>);

/// Decodes one document from Firestore REST JSON: (name, fields, create_time, update_time).
#[pyfunction]
pub(crate) fn decode_document(py: Python<'_>, data: &[u8]) -> PyResult<DecodedDocument> {
    let doc = json::decode_document(data).map_err(py_err)?;
    let fields = value_to_py(py, &Value::Map(doc.fields))?;
    let c = doc.create_time.map(|t| ts_to_py(py, t)).transpose()?;
    let u = doc.update_time.map(|t| ts_to_py(py, t)).transpose()?;
    Ok((doc.name, fields, c, u))
}

/// Encodes a document as Firestore REST JSON (the form backups store).
#[pyfunction]
#[pyo3(signature = (name, fields, create_time=None, update_time=None))]
pub(crate) fn encode_document<'py>(
    py: Python<'py>,
    name: String,
    fields: &Bound<'py, PyDict>,
    create_time: Option<&Bound<'py, PyAny>>,
    update_time: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let Value::Map(fields) = py_to_value(fields.as_any(), 0)? else {
        unreachable!("a dict converts to a map")
    };
    let mut doc = Document::new(name, fields);
    doc.create_time = create_time.map(py_to_ts).transpose()?;
    doc.update_time = update_time.map(py_to_ts).transpose()?;
    // Validate the name the way a decode would, so bad names fail here, not at restore.
    doc.path().map_err(py_err)?;
    Ok(PyBytes::new(py, &json::encode_document(&doc)))
}

/// Seconds in a retention duration (the core's one grammar: units y, m = months, w, d, h, s).
#[pyfunction]
pub(crate) fn parse_duration(text: &str) -> PyResult<u64> {
    Ok(firekeep_core::engine::parse_duration(text)
        .map_err(invalid_input)?
        .as_secs())
}

/// Parses an RFC 3339 timestamp into (unix seconds, nanos).
#[pyfunction]
pub(crate) fn parse_rfc3339(s: &str) -> PyResult<(i64, u32)> {
    let t = Timestamp::parse_rfc3339(s).map_err(py_err)?;
    Ok((t.seconds(), t.nanos()))
}
