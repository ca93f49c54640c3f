//! Python bindings for firekeep: the native module `firekeep._native`.
//!
//! This layer adds no logic of its own: it converts arguments, runs the core's
//! [`firekeep_core::client::Client`] (GIL released, on a shared tokio runtime), and maps
//! [`firekeep_core::Error`] to the exception classes of `firekeep._errors` by
//! [`firekeep_core::Error::code`]. Reports cross the boundary as JSON (the core's own
//! serde form) and become typed objects in `firekeep/_results.py`.

use firekeep_aws_kms::{AwsKmsKeyProvider, AwsKmsOptions};
use firekeep_core::Error as CoreError;
use firekeep_core::audit::{
    AuditEvent, CallbackAuditSink, ExportFilter, ExportFormat, export, read_jsonl, verify_chain,
};
use firekeep_core::client::Client as CoreClient;
use firekeep_core::engine::{
    BackupOptions, CancellationToken as CoreToken, DiffOptions, ProgressEvent, ProgressFn,
    RestoreOptions, Retention,
};
use firekeep_core::format as stream;
use firekeep_core::format::{self, ObjectHeader};
use firekeep_core::keys::{KeyProvider, PassphraseKey, RawKey};
use firekeep_core::model::{DatabaseId, Document, GeoPoint, Timestamp, Value, json};
use firekeep_core::policy::PrincipalKind;
use firekeep_core::secret::SecretString;
use firekeep_core::setup::{AuditChoice, AuditHandle, PolicySource, SessionOptions};
use firekeep_core::source::{ConflictMode, Scope};
use firekeep_firestore::{ConnectorConfig, Credentials, FirestoreConnector};
use firekeep_gcp_kms::{GcpKmsKeyProvider, GcpKmsOptions};
use firekeep_object_store::{OpenClientOptions, open_client};
use firekeep_pkcs11::{Pkcs11KeyProvider, Pkcs11Options};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use streaming::{data_key, segment_size};

mod streaming;

// ---------------------------------------------------------------------------------------
// Errors

/// The Python exception class for a core error code (see `firekeep/_errors.py`).
fn class_for(code: &str) -> &'static str {
    match code {
        "ERR_INVALID_INPUT" => "InvalidInput",
        "ERR_INVALID_CONFIG" => "InvalidConfig",
        "ERR_KEY_MISMATCH" => "KeyMismatch",
        "ERR_INTEGRITY" => "IntegrityError",
        "ERR_NOT_FOUND" => "NotFound",
        "ERR_ALREADY_EXISTS" => "AlreadyExists",
        "ERR_STORAGE_PERMISSION" | "ERR_STORAGE" => "StorageError",
        "ERR_FIRESTORE" => "FirestoreError",
        "ERR_KEY_PROVIDER" => "KeyProviderError",
        "ERR_AUTHORIZATION_DENIED" => "AuthorizationDenied",
        "ERR_AUDIT" => "AuditError",
        "ERR_CANCELLED" => "Cancelled",
        "ERR_IO" => "LocalIOError",
        _ => "Error",
    }
}

/// Converts a core error into the matching `firekeep` exception, with `.code` set. The
/// message is the core's, which never contains secrets.
fn py_err(e: CoreError) -> PyErr {
    let code = e.code();
    let message = e.to_string();
    Python::attach(|py| {
        let make = || -> PyResult<PyErr> {
            let module = py.import("firekeep._errors")?;
            let cls = module.getattr(class_for(code))?;
            let inst = cls.call1((message.clone(),))?;
            inst.setattr("code", code)?;
            Ok(PyErr::from_value(inst))
        };
        make().unwrap_or_else(|err| err)
    })
}

type CoreResult<T> = Result<T, CoreError>;

fn value_err(msg: impl Into<String>) -> PyErr {
    PyValueError::new_err(msg.into())
}

// ---------------------------------------------------------------------------------------
// Runtime

fn runtime() -> &'static tokio::runtime::Runtime {
    pyo3_async_runtimes::tokio::get_runtime()
}

/// Runs `fut` to completion with the GIL released, so other Python threads keep running.
fn block_on<T: Send>(
    py: Python<'_>,
    fut: impl Future<Output = CoreResult<T>> + Send,
) -> PyResult<T> {
    py.detach(|| runtime().block_on(fut)).map_err(py_err)
}

/// Cancels its token when dropped before [`DropCancel::disarm`]: an awaitable whose
/// asyncio task was cancelled drops its Rust future, and this stops the engine's work.
struct DropCancel(Option<CoreToken>);

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
fn awaitable<'py, F>(py: Python<'py>, token: CoreToken, fut: F) -> PyResult<Bound<'py, PyAny>>
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

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

// ---------------------------------------------------------------------------------------
// Cancellation and progress

/// A cancellation token for blocking calls: call `cancel()` from another thread.
#[pyclass(module = "firekeep._native", frozen)]
#[derive(Clone, Default)]
struct CancellationToken {
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

fn token_of(cancel: Option<&CancellationToken>) -> CoreToken {
    cancel.map(|c| c.inner.clone()).unwrap_or_default()
}

/// One progress report, handed to the progress callback.
#[pyclass(module = "firekeep._native", frozen, get_all)]
struct Progress {
    /// `preparing`, `backup`, `verify`, `restore`, `diff`, `delete`, `rotate`, `finishing`, `done`.
    phase: String,
    documents: u64,
    total_documents: Option<u64>,
    bytes: u64,
    parts: u64,
    total_parts: Option<u64>,
    elapsed: f64,
    docs_per_sec: f64,
    bytes_per_sec: f64,
    eta: Option<f64>,
}

#[pymethods]
impl Progress {
    fn __repr__(&self) -> String {
        format!(
            "Progress(phase={:?}, documents={}, total_documents={:?}, bytes={}, parts={}, elapsed={:.3})",
            self.phase, self.documents, self.total_documents, self.bytes, self.parts, self.elapsed
        )
    }
}

fn progress_fn(callback: Option<Py<PyAny>>) -> Option<ProgressFn> {
    let callback = Arc::new(callback?);
    Some(Arc::new(move |e: &ProgressEvent| {
        let p = Progress {
            phase: format!("{:?}", e.phase).to_lowercase(),
            documents: e.documents,
            total_documents: e.total_documents,
            bytes: e.bytes,
            parts: e.parts,
            total_parts: e.total_parts,
            elapsed: e.elapsed.as_secs_f64(),
            docs_per_sec: e.docs_per_sec,
            bytes_per_sec: e.bytes_per_sec,
            eta: e.eta.map(|d| d.as_secs_f64()),
        };
        Python::attach(|py| {
            // A failing progress callback must not fail the backup: report it as Python
            // reports errors in callbacks it cannot propagate.
            if let Err(err) = callback.call1(py, (p,)) {
                err.write_unraisable(py, Some(callback.bind(py)));
            }
        });
    }))
}

// ---------------------------------------------------------------------------------------
// Keys

/// A key provider, built by `firekeep.Key.passphrase/raw/aws_kms/gcp_kms/pkcs11`.
#[pyclass(module = "firekeep._native", frozen)]
#[derive(Clone)]
struct Key {
    inner: Arc<dyn KeyProvider>,
}

#[pymethods]
impl Key {
    /// A passphrase key (PBKDF2-HMAC-SHA256; `iterations` default 600,000).
    #[staticmethod]
    #[pyo3(signature = (passphrase, iterations=None))]
    fn passphrase(passphrase: String, iterations: Option<i64>) -> PyResult<Self> {
        let secret = SecretString::new(passphrase);
        let key = match iterations {
            None => PassphraseKey::new(secret),
            Some(n) if n <= 0 || n > i64::from(u32::MAX) => {
                return Err(value_err(format!(
                    "iterations must be a positive number (got {n}); the default is 600000"
                )));
            }
            Some(n) => PassphraseKey::with_iterations(secret, n as u32),
        };
        Ok(Key {
            inner: Arc::new(key.map_err(py_err)?),
        })
    }

    /// A raw 32-byte key (BYOK): `bytes` of length 32, or their base64 text as
    /// `openssl rand -base64 32` prints it.
    #[staticmethod]
    fn raw(key: &Bound<'_, PyAny>) -> PyResult<Self> {
        let provider = if let Ok(b) = key.cast::<PyBytes>() {
            RawKey::from_bytes(b.as_bytes())
        } else if let Ok(s) = key.extract::<String>() {
            RawKey::from_secret_base64(&SecretString::new(s))
        } else {
            return Err(PyTypeError::new_err(
                "a raw key is bytes (32 of them) or base64 text of 32 bytes",
            ));
        };
        Ok(Key {
            inner: Arc::new(provider.map_err(py_err)?),
        })
    }

    /// A fresh random raw key; keep `to_base64()` somewhere safe.
    #[staticmethod]
    fn generate_raw() -> PyResult<(Self, String)> {
        let k = RawKey::generate().map_err(py_err)?;
        let text = k.to_base64().expose().to_string();
        Ok((Key { inner: Arc::new(k) }, text))
    }

    /// An AWS KMS key (id, ARN or alias). Credentials and region from the AWS chain unless
    /// given; `endpoint` for VPC endpoints or test servers.
    #[staticmethod]
    #[pyo3(signature = (key_id, region=None, endpoint=None, profile=None, access_key_id=None, secret_access_key=None, session_token=None))]
    #[allow(clippy::too_many_arguments)]
    fn aws_kms(
        py: Python<'_>,
        key_id: String,
        region: Option<String>,
        endpoint: Option<String>,
        profile: Option<String>,
        access_key_id: Option<String>,
        secret_access_key: Option<String>,
        session_token: Option<String>,
    ) -> PyResult<Self> {
        let options = AwsKmsOptions {
            region,
            endpoint,
            profile,
            access_key_id,
            secret_access_key: secret_access_key.map(SecretString::new),
            session_token: session_token.map(SecretString::new),
        };
        let provider = block_on(py, AwsKmsKeyProvider::new(key_id, options))?;
        Ok(Key {
            inner: Arc::new(provider),
        })
    }

    /// A Google Cloud KMS key: the CryptoKey name
    /// (`projects/P/locations/L/keyRings/R/cryptoKeys/K`, or a `.../cryptoKeyVersions/N` to pin
    /// the version new wraps use). Credentials: `credentials_file` (a service-account key), an
    /// `access_token`, or the Google default chain; `endpoint` for a private endpoint or a
    /// plaintext `http://127.0.0.1:PORT` test server (sent no credentials).
    #[staticmethod]
    #[pyo3(signature = (key_name, endpoint=None, credentials_file=None, access_token=None))]
    fn gcp_kms(
        py: Python<'_>,
        key_name: String,
        endpoint: Option<String>,
        credentials_file: Option<PathBuf>,
        access_token: Option<String>,
    ) -> PyResult<Self> {
        let credentials = match (credentials_file, access_token) {
            (Some(_), Some(_)) => {
                return Err(value_err("give credentials_file or access_token, not both"));
            }
            (Some(f), None) => Some(firekeep_firestore::Credentials::ServiceAccountFile(f)),
            (None, Some(t)) => Some(firekeep_firestore::Credentials::AccessToken(
                SecretString::new(t),
            )),
            (None, None) => None,
        };
        let options = GcpKmsOptions {
            credentials,
            endpoint,
            ..GcpKmsOptions::default()
        };
        let provider = block_on(py, GcpKmsKeyProvider::new(key_name, options))?;
        Ok(Key {
            inner: Arc::new(provider),
        })
    }

    /// A key inside an HSM, by its RFC 7512 URI
    /// `pkcs11:token=<label>;object=<key label>?module-path=/path/vendor.so&pin-source=file:/pin`
    /// (without `module-path`, `$FIREKEEP_PKCS11_MODULE`; without `pin-source`,
    /// `$FIREKEEP_PKCS11_PIN`; a PIN in the URI is refused). Logs in once to check the PIN,
    /// token and key.
    #[staticmethod]
    fn pkcs11(py: Python<'_>, uri: String) -> PyResult<Self> {
        let options = Pkcs11Options::from_uri(&uri).map_err(py_err)?;
        let provider = block_on(py, Pkcs11KeyProvider::open(options))?;
        Ok(Key {
            inner: Arc::new(provider),
        })
    }

    /// `passphrase`, `raw`, `aws-kms`, `gcp-kms` or `pkcs11`.
    #[getter]
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    /// The non-secret key id recorded with each backup.
    #[getter]
    fn key_id(&self) -> String {
        self.inner.key_id().to_string()
    }

    fn __repr__(&self) -> String {
        format!(
            "Key(kind={:?}, key_id={:?})",
            self.inner.kind(),
            self.inner.key_id()
        )
    }
}

// ---------------------------------------------------------------------------------------
// The object format on its own

/// Push-style encryptor of one object (firekeep header ‖ Tink AesGcmHkdfStreaming body).
#[pyclass(module = "firekeep._native")]
struct Encryptor {
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
struct Decryptor {
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
            .detach(|| -> CoreResult<Vec<u8>> {
                match dec.finish()? {
                    Some(n) => Ok(dec.plaintext()[..n].to_vec()),
                    None if dec.is_done() => Ok(Vec::new()),
                    None => Err(CoreError::integrity(
                        "object",
                        "the object ends before its last segment: it was truncated",
                    )),
                }
            })
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
fn generate_data_key<'py>(py: Python<'py>) -> Bound<'py, PyBytes> {
    let k = firekeep_core::keys::random_data_key();
    PyBytes::new(py, k.expose())
}

/// The serialized object header for `key` (the associated data of the Tink body).
#[pyfunction]
#[pyo3(signature = (key, backup_id="standalone", object_name="object", segment_size=format::DEFAULT_SEGMENT_SIZE as i64))]
fn object_header<'py>(
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

// ---------------------------------------------------------------------------------------
// Documents and values

fn ts_to_py(py: Python<'_>, t: Timestamp) -> PyResult<Py<PyAny>> {
    let cls = py.import("firekeep._types")?.getattr("Timestamp")?;
    Ok(cls
        .call_method1("from_unix", (t.seconds(), t.nanos()))?
        .unbind())
}

fn value_to_py(py: Python<'_>, v: &Value) -> PyResult<Py<PyAny>> {
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

fn py_to_ts(obj: &Bound<'_, PyAny>) -> PyResult<Timestamp> {
    let (secs, nanos): (i64, u32) = obj
        .py()
        .import("firekeep._types")?
        .getattr("_unix_parts")?
        .call1((obj,))?
        .extract()?;
    Timestamp::new(secs, nanos).map_err(|e| value_err(e.to_string()))
}

fn py_to_value(obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
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
type DecodedDocument = (String, Py<PyAny>, Option<Py<PyAny>>, Option<Py<PyAny>>);

/// Decodes one document from Firestore REST JSON: (name, fields, create_time, update_time).
#[pyfunction]
fn decode_document(py: Python<'_>, data: &[u8]) -> PyResult<DecodedDocument> {
    let doc = json::decode_document(data).map_err(py_err)?;
    let fields = value_to_py(py, &Value::Map(doc.fields))?;
    let c = doc.create_time.map(|t| ts_to_py(py, t)).transpose()?;
    let u = doc.update_time.map(|t| ts_to_py(py, t)).transpose()?;
    Ok((doc.name, fields, c, u))
}

/// Encodes a document as Firestore REST JSON (the form backups store).
#[pyfunction]
#[pyo3(signature = (name, fields, create_time=None, update_time=None))]
fn encode_document<'py>(
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

/// The core's `InvalidInput` as a `ValueError` (its message without the prefix).
fn invalid_input(e: CoreError) -> PyErr {
    match e {
        CoreError::InvalidInput(msg) => value_err(msg),
        other => py_err(other),
    }
}

/// Seconds in a retention duration (the core's one grammar: units y, m = months, w, d, h, s).
#[pyfunction]
fn parse_duration(text: &str) -> PyResult<u64> {
    Ok(firekeep_core::engine::parse_duration(text)
        .map_err(invalid_input)?
        .as_secs())
}

/// Parses an RFC 3339 timestamp into (unix seconds, nanos).
#[pyfunction]
fn parse_rfc3339(s: &str) -> PyResult<(i64, u32)> {
    let t = Timestamp::parse_rfc3339(s).map_err(py_err)?;
    Ok((t.seconds(), t.nanos()))
}

// ---------------------------------------------------------------------------------------
// Firestore source

/// Where to read (backup) or write (restore) Firestore documents.
#[pyclass(module = "firekeep._native", frozen)]
#[derive(Clone)]
struct Firestore {
    config: ConnectorConfig,
    connector: Arc<Mutex<Option<Arc<FirestoreConnector>>>>,
}

impl Firestore {
    async fn connect(&self) -> CoreResult<Arc<FirestoreConnector>> {
        if let Some(c) = self.connector.lock().expect("lock").clone() {
            return Ok(c);
        }
        let c = Arc::new(FirestoreConnector::connect(self.config.clone()).await?);
        *self.connector.lock().expect("lock") = Some(c.clone());
        Ok(c)
    }
}

#[pymethods]
impl Firestore {
    /// `emulator_host` (or env `FIRESTORE_EMULATOR_HOST`) selects an emulator; else
    /// `credentials` (a service-account JSON file); else application default credentials.
    #[new]
    #[pyo3(signature = (project, database="(default)", credentials=None, emulator_host=None))]
    fn new(
        project: &str,
        database: &str,
        credentials: Option<PathBuf>,
        emulator_host: Option<String>,
    ) -> PyResult<Self> {
        let db = DatabaseId::new(project, database).map_err(py_err)?;
        let config = if let Some(host) = emulator_host {
            ConnectorConfig::emulator(db, host)
        } else if let Some(file) = credentials {
            ConnectorConfig::new(db, Credentials::ServiceAccountFile(file))
        } else {
            ConnectorConfig::from_env(project, database).map_err(py_err)?
        };
        Ok(Firestore {
            config,
            connector: Arc::new(Mutex::new(None)),
        })
    }

    #[getter]
    fn project(&self) -> String {
        self.config.database.project.clone()
    }

    #[getter]
    fn database(&self) -> String {
        self.config.database.database.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "Firestore(project={:?}, database={:?})",
            self.config.database.project, self.config.database.database
        )
    }
}

// ---------------------------------------------------------------------------------------
// Client

fn events_json(events: &[AuditEvent]) -> String {
    to_json(&events)
}

/// Authorized, audited access to one backup repository (the core's `Client`).
#[pyclass(module = "firekeep._native", frozen)]
struct Client {
    inner: CoreClient,
    audit: AuditHandle,
}

fn scope(collections: Option<Vec<String>>, subcollections: bool, exclude: Vec<String>) -> Scope {
    let mut s = match collections {
        Some(c) if !c.is_empty() => Scope::collections(c, subcollections),
        _ => Scope::database(),
    };
    s.exclude = exclude;
    s
}

fn opt_ts(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Timestamp>> {
    obj.map(py_to_ts).transpose()
}

fn conflict_mode(s: &str) -> PyResult<ConflictMode> {
    s.parse().map_err(invalid_input)
}

fn count(name: &str, n: i64) -> PyResult<usize> {
    usize::try_from(n).map_err(|_| value_err(format!("{name} must be >= 0 (got {n})")))
}

/// A prepared operation: the future plus its token.
struct Op<F> {
    token: CoreToken,
    fut: F,
}

impl<F> Op<F>
where
    F: Future<Output = CoreResult<String>> + Send + 'static,
{
    fn run(self, py: Python<'_>, is_async: bool) -> PyResult<Py<PyAny>> {
        if is_async {
            Ok(awaitable(py, self.token, self.fut)?.unbind())
        } else {
            let s = block_on(py, self.fut)?;
            Ok(s.into_pyobject(py)?.into_any().unbind())
        }
    }
}

#[pymethods]
impl Client {
    /// See `firekeep.Client` for the arguments.
    #[new]
    #[pyo3(signature = (repository, key, *, storage_options=None, organization="default", principal=None, policy=None, audit=None, create=true))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        repository: &str,
        key: &Key,
        storage_options: Option<BTreeMap<String, String>>,
        organization: &str,
        principal: Option<&str>,
        policy: Option<&str>,
        audit: Option<&Bound<'_, PyAny>>,
        create: bool,
    ) -> PyResult<Self> {
        let audit = match audit {
            None => AuditChoice::Memory,
            Some(a) if a.is_callable() => {
                let cb: Py<PyAny> = a.clone().unbind();
                let sink = CallbackAuditSink::new(move |events: &[AuditEvent]| {
                    let text = events_json(events);
                    Python::attach(|py| -> PyResult<()> {
                        let parsed = py.import("json")?.call_method1("loads", (text,))?;
                        cb.call1(py, (parsed,))?;
                        Ok(())
                    })
                    .map_err(|e| CoreError::Audit(format!("the Python audit callback raised {e}")))
                });
                AuditChoice::Sink(Arc::new(sink))
            }
            Some(a) => {
                let s: String = a.extract().map_err(|_| {
                    PyTypeError::new_err(
                        "audit is \"memory\", a file path (str or os.PathLike), or a callable",
                    )
                })?;
                if s == "memory" {
                    AuditChoice::Memory
                } else {
                    AuditChoice::File(PathBuf::from(s))
                }
            }
        };
        // The one client builder every front end uses: repository, audit sink, policy,
        // principal, and the storage options registered as secrets. Its errors are typed
        // (InvalidInput/InvalidConfig -> ValueError subclasses, NotFound).
        let options = OpenClientOptions {
            repository: repository.to_string(),
            storage_options: storage_options.unwrap_or_default(),
            create,
            session: SessionOptions {
                organization: organization.to_string(),
                principal: principal.map(str::to_string),
                policy: policy.map(|p| PolicySource::Text(p.to_string())),
                local_owner: "local".into(),
                audit,
                principal_hint: "pass principal=\"user:EMAIL\"".into(),
                ..SessionOptions::default()
            },
        };
        let (inner, audit) = open_client(&options, key.inner.clone()).map_err(py_err)?;
        Ok(Client { inner, audit })
    }

    /// The principal's kind and id, e.g. `user:alice`.
    #[getter]
    fn principal(&self) -> String {
        let p = self.inner.session().principal();
        let kind = match p.kind() {
            PrincipalKind::User => "user",
            _ => "apikey",
        };
        format!("{kind}:{}", p.id())
    }

    #[getter]
    fn organization(&self) -> String {
        self.inner.session().organization().to_string()
    }

    #[getter]
    fn repository(&self) -> String {
        self.inner.repository().describe()
    }

    #[getter]
    fn key_id(&self) -> String {
        self.inner.keys().key_id().to_string()
    }

    #[pyo3(signature = (source, *, collections=None, subcollections=true, exclude=vec![], read_time=None, labels=None, parallelism=None, progress=None, cancel=None, is_async=false))]
    #[allow(clippy::too_many_arguments)]
    fn backup(
        &self,
        py: Python<'_>,
        source: &Firestore,
        collections: Option<Vec<String>>,
        subcollections: bool,
        exclude: Vec<String>,
        read_time: Option<&Bound<'_, PyAny>>,
        labels: Option<BTreeMap<String, String>>,
        parallelism: Option<i64>,
        progress: Option<Py<PyAny>>,
        cancel: Option<&CancellationToken>,
        is_async: bool,
    ) -> PyResult<Py<PyAny>> {
        let mut opts = BackupOptions {
            scope: scope(collections, subcollections, exclude),
            read_time: opt_ts(read_time)?,
            labels: labels.unwrap_or_default(),
            ..BackupOptions::default()
        };
        if let Some(p) = parallelism {
            opts.parallelism = count("parallelism", p)?.max(1);
        }
        let client = self.inner.clone();
        let source = source.clone();
        let token = token_of(cancel);
        let t = token.clone();
        let progress = progress_fn(progress);
        Op {
            token,
            fut: async move {
                let conn = source.connect().await?;
                let r = client.backup(conn, &opts, progress, &t).await?;
                Ok(to_json(&r))
            },
        }
        .run(py, is_async)
    }

    #[pyo3(signature = (*, is_async=false))]
    fn list(&self, py: Python<'_>, is_async: bool) -> PyResult<Py<PyAny>> {
        let client = self.inner.clone();
        Op {
            token: CoreToken::new(),
            fut: async move { Ok(to_json(&client.list().await?)) },
        }
        .run(py, is_async)
    }

    #[pyo3(signature = (backup_id, *, raise_on_error=true, progress=None, cancel=None, is_async=false))]
    #[allow(clippy::too_many_arguments)]
    fn verify(
        &self,
        py: Python<'_>,
        backup_id: String,
        raise_on_error: bool,
        progress: Option<Py<PyAny>>,
        cancel: Option<&CancellationToken>,
        is_async: bool,
    ) -> PyResult<Py<PyAny>> {
        let client = self.inner.clone();
        let token = token_of(cancel);
        let t = token.clone();
        let progress = progress_fn(progress);
        Op {
            token,
            fut: async move {
                let r = if raise_on_error {
                    client.verify(&backup_id, progress, &t).await?
                } else {
                    client.verify_report(&backup_id, progress, &t).await?
                };
                Ok(to_json(&r))
            },
        }
        .run(py, is_async)
    }

    #[pyo3(signature = (backup_id, target, *, collections=None, subcollections=true, conflict="overwrite", dry_run=false, verify_first=true, progress=None, cancel=None, is_async=false))]
    #[allow(clippy::too_many_arguments)]
    fn restore(
        &self,
        py: Python<'_>,
        backup_id: String,
        target: &Firestore,
        collections: Option<Vec<String>>,
        subcollections: bool,
        conflict: &str,
        dry_run: bool,
        verify_first: bool,
        progress: Option<Py<PyAny>>,
        cancel: Option<&CancellationToken>,
        is_async: bool,
    ) -> PyResult<Py<PyAny>> {
        let opts = RestoreOptions {
            scope: scope(collections, subcollections, vec![]),
            conflict: conflict_mode(conflict)?,
            dry_run,
            verify_first,
            ..RestoreOptions::default()
        };
        let client = self.inner.clone();
        let target = target.clone();
        let token = token_of(cancel);
        let t = token.clone();
        let progress = progress_fn(progress);
        Op {
            token,
            fut: async move {
                let conn = target.connect().await?;
                let r = client
                    .restore(&backup_id, conn, &opts, progress, &t)
                    .await?;
                Ok(to_json(&r))
            },
        }
        .run(py, is_async)
    }

    /// Compares backup `from_id` with backup `to` (a backup id) or with a live database
    /// (`source`).
    #[pyo3(signature = (from_id, to=None, *, source=None, max_names=100, cancel=None, is_async=false))]
    #[allow(clippy::too_many_arguments)]
    fn diff(
        &self,
        py: Python<'_>,
        from_id: String,
        to: Option<String>,
        source: Option<&Firestore>,
        max_names: i64,
        cancel: Option<&CancellationToken>,
        is_async: bool,
    ) -> PyResult<Py<PyAny>> {
        let opts = DiffOptions {
            max_names: count("max_names", max_names)?,
            ..DiffOptions::default()
        };
        let client = self.inner.clone();
        let source = source.cloned();
        if to.is_some() == source.is_some() {
            return Err(value_err(
                "diff needs exactly one of: another backup id, or source=Firestore(...)",
            ));
        }
        let token = token_of(cancel);
        let t = token.clone();
        Op {
            token,
            fut: async move {
                let r = match (to, source) {
                    (Some(to), _) => client.diff_backups(&from_id, &to, &opts, &t).await?,
                    (None, Some(src)) => {
                        let conn = src.connect().await?;
                        client
                            .diff_with_source(&from_id, conn, None, &opts, &t)
                            .await?
                    }
                    (None, None) => unreachable!("checked above"),
                };
                Ok(to_json(&r))
            },
        }
        .run(py, is_async)
    }

    /// Plans a prune under `retention` (JSON of the core's `Retention`) and applies it
    /// unless `dry_run`. Returns `{"plan": ..., "report": ... | null}`.
    #[pyo3(signature = (retention, *, dry_run=false, is_async=false))]
    fn prune(
        &self,
        py: Python<'_>,
        retention: &str,
        dry_run: bool,
        is_async: bool,
    ) -> PyResult<Py<PyAny>> {
        let retention: Retention = serde_json::from_str(retention)
            .map_err(|e| value_err(format!("bad retention: {e}")))?;
        if retention.is_empty() {
            return Err(value_err(
                "a retention policy needs at least one keep_* rule (it would remove every backup)",
            ));
        }
        let client = self.inner.clone();
        Op {
            token: CoreToken::new(),
            fut: async move {
                let plan = client.plan_prune(&retention, Timestamp::now()).await?;
                let report = if dry_run {
                    None
                } else {
                    Some(client.apply_prune(&plan).await?)
                };
                Ok(serde_json::json!({"plan": plan, "report": report}).to_string())
            },
        }
        .run(py, is_async)
    }

    #[pyo3(signature = (new_key, *, cancel=None, is_async=false))]
    fn rotate_key(
        &self,
        py: Python<'_>,
        new_key: &Key,
        cancel: Option<&CancellationToken>,
        is_async: bool,
    ) -> PyResult<Py<PyAny>> {
        let client = self.inner.clone();
        let to = new_key.inner.clone();
        let token = token_of(cancel);
        let t = token.clone();
        Op {
            token,
            fut: async move { Ok(to_json(&client.rotate_key(to.as_ref(), &t).await?)) },
        }
        .run(py, is_async)
    }

    /// The audit events recorded so far, as JSON (memory and file sinks; a callable sink
    /// has handed them to its function already).
    fn audit_events(&self) -> PyResult<String> {
        match &self.audit {
            AuditHandle::Memory(m) => Ok(events_json(&m.events())),
            AuditHandle::File(p) => Ok(events_json(&read_jsonl(p).map_err(py_err)?.events)),
            AuditHandle::Other => Err(value_err(
                "this client's audit sink is a callable; its events went to that function",
            )),
        }
    }
}

/// Exports audit events (JSON array text) as `json` or `csv`, filtered by time and action.
#[pyfunction]
#[pyo3(signature = (events_json, format="json", since=None, until=None, actions=vec![]))]
fn audit_export(
    events_json: &str,
    format: &str,
    since: Option<&Bound<'_, PyAny>>,
    until: Option<&Bound<'_, PyAny>>,
    actions: Vec<String>,
) -> PyResult<String> {
    let events: Vec<AuditEvent> = serde_json::from_str(events_json)
        .map_err(|e| value_err(format!("not a JSON array of audit events: {e}")))?;
    let fmt: ExportFormat = format.parse().map_err(py_err)?;
    let filter = ExportFilter {
        from: opt_ts(since)?,
        to: opt_ts(until)?,
        actions,
    };
    Ok(export(&events, &filter, fmt))
}

/// Reads a JSONL audit trail.
#[pyfunction]
fn audit_read(path: PathBuf) -> PyResult<String> {
    Ok(events_json(&read_jsonl(&path).map_err(py_err)?.events))
}

/// Verifies the hash chain of a JSONL audit file or of a JSON array of events; returns
/// (events, head hash). A broken chain raises `firekeep.AuditError` naming the first bad
/// event.
#[pyfunction]
#[pyo3(signature = (path=None, events_json=None))]
fn audit_verify(path: Option<PathBuf>, events_json: Option<&str>) -> PyResult<(u64, String)> {
    let head = match (path, events_json) {
        (Some(p), None) => read_jsonl(&p).map_err(py_err)?.verify(),
        (None, Some(text)) => {
            let events: Vec<AuditEvent> = serde_json::from_str(text)
                .map_err(|e| value_err(format!("not a JSON array of audit events: {e}")))?;
            verify_chain(&events, None)
        }
        _ => return Err(value_err("give exactly one of path= or events_json=")),
    }
    .map_err(|e| py_err(CoreError::Audit(e.to_string())))?;
    Ok((head.position, head.hash))
}

/// The native module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<CancellationToken>()?;
    m.add_class::<Progress>()?;
    m.add_class::<Key>()?;
    m.add_class::<Encryptor>()?;
    m.add_class::<Decryptor>()?;
    m.add_class::<Firestore>()?;
    m.add_class::<Client>()?;
    m.add_function(wrap_pyfunction!(generate_data_key, m)?)?;
    m.add_function(wrap_pyfunction!(streaming::encrypt, m)?)?;
    m.add_function(wrap_pyfunction!(streaming::decrypt, m)?)?;
    m.add_function(wrap_pyfunction!(object_header, m)?)?;
    m.add_function(wrap_pyfunction!(decode_document, m)?)?;
    m.add_function(wrap_pyfunction!(encode_document, m)?)?;
    m.add_function(wrap_pyfunction!(parse_rfc3339, m)?)?;
    m.add_function(wrap_pyfunction!(parse_duration, m)?)?;
    m.add_function(wrap_pyfunction!(audit_export, m)?)?;
    m.add_function(wrap_pyfunction!(audit_read, m)?)?;
    m.add_function(wrap_pyfunction!(audit_verify, m)?)?;
    Ok(())
}
