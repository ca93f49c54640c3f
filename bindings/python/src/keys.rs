//! Key providers (`firekeep.Key`): passphrase, raw, AWS KMS, Cloud KMS and PKCS#11.

use crate::errors::{py_err, value_err};
use crate::runtime::block_on;
use firekeep_aws_kms::{AwsKmsKeyProvider, AwsKmsOptions};
use firekeep_core::keys::{KeyProvider, PassphraseKey, RawKey};
use firekeep_core::secret::SecretString;
use firekeep_gcp_kms::{GcpKmsKeyProvider, GcpKmsOptions};
use firekeep_pkcs11::{Pkcs11KeyProvider, Pkcs11Options};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::path::PathBuf;
use std::sync::Arc;

/// A key provider, built by `firekeep.Key.passphrase/raw/aws_kms/gcp_kms/pkcs11`.
#[pyclass(module = "firekeep._native", frozen)]
#[derive(Clone)]
pub(crate) struct Key {
    pub(crate) inner: Arc<dyn KeyProvider>,
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
