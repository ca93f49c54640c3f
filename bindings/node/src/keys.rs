//! Key providers (`Key`): passphrase, raw, AWS KMS, Cloud KMS and PKCS#11.

use crate::errors::{js_err, range_err};
use crate::runtime::spawn;
use firekeep_aws_kms::{AwsKmsKeyProvider, AwsKmsOptions};
use firekeep_core::format::{self};
use firekeep_core::keys::{KeyProvider, PassphraseKey, RawKey};
use firekeep_core::secret::SecretString;
use firekeep_gcp_kms::{GcpKmsKeyProvider, GcpKmsOptions};
use firekeep_pkcs11::{Pkcs11KeyProvider, Pkcs11Options};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::sync::Arc;

/// A key provider: passphrase, raw key or AWS KMS.
#[napi]
#[derive(Clone)]
pub struct Key {
    pub(crate) inner: Arc<dyn KeyProvider>,
}

/// AWS KMS options; credentials and region come from the AWS chain unless given.
#[napi(object)]
#[derive(Default)]
pub struct AwsKmsKeyOptions {
    pub region: Option<String>,
    /// A VPC endpoint or a test server.
    pub endpoint: Option<String>,
    pub profile: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
}

/// Google Cloud KMS options; credentials default to the Google chain
/// (GOOGLE_APPLICATION_CREDENTIALS, gcloud's ADC file, the metadata server).
#[napi(object)]
#[derive(Default)]
pub struct GcpKmsKeyOptions {
    /// A private endpoint, or a plaintext `http://127.0.0.1:PORT` test server (sent no
    /// credentials).
    pub endpoint: Option<String>,
    /// A service-account key JSON file.
    pub credentials: Option<String>,
    /// A ready OAuth access token (not refreshed).
    pub access_token: Option<String>,
}

#[napi]
impl Key {
    /// A passphrase key (PBKDF2-HMAC-SHA256; `iterations` default 600,000).
    #[napi(factory)]
    pub fn passphrase(passphrase: String, iterations: Option<f64>) -> Result<Self> {
        let secret = SecretString::new(passphrase);
        let key = match iterations {
            None => PassphraseKey::new(secret),
            Some(n) if !(n >= 1.0 && n <= f64::from(u32::MAX) && n.fract() == 0.0) => {
                return Err(range_err(format!(
                    "iterations must be a positive integer (got {n}); the default is 600000"
                )));
            }
            Some(n) => PassphraseKey::with_iterations(secret, n as u32),
        };
        Ok(Key {
            inner: Arc::new(key.map_err(js_err)?),
        })
    }

    /// A raw key (BYOK) from 32 bytes.
    #[napi(factory)]
    pub fn raw_bytes(key: Buffer) -> Result<Self> {
        if key.len() != format::DATA_KEY_LEN {
            return Err(range_err(format!(
                "a raw key is exactly 32 bytes; got {}",
                key.len()
            )));
        }
        Ok(Key {
            inner: Arc::new(RawKey::from_bytes(&key).map_err(js_err)?),
        })
    }

    /// A raw key (BYOK) from base64 of 32 bytes, as `openssl rand -base64 32` prints.
    #[napi(factory)]
    pub fn raw_base64(key: String) -> Result<Self> {
        let k = RawKey::from_secret_base64(&SecretString::new(key)).map_err(js_err)?;
        Ok(Key { inner: Arc::new(k) })
    }

    /// A fresh random raw key and its base64 text (keep that somewhere safe).
    #[napi]
    pub fn generate_raw() -> Result<GeneratedKey> {
        let k = RawKey::generate().map_err(js_err)?;
        let base64 = k.to_base64().expose().to_string();
        Ok(GeneratedKey {
            key: Key { inner: Arc::new(k) },
            base64,
        })
    }

    /// An AWS KMS key (id, ARN or alias). Resolves once the client is configured.
    #[napi(ts_return_type = "Promise<Key>")]
    pub fn aws_kms(
        env: &Env,
        key_id: String,
        options: Option<AwsKmsKeyOptions>,
    ) -> Result<PromiseRaw<'_, Key>> {
        let o = options.unwrap_or_default();
        let options = AwsKmsOptions {
            region: o.region,
            endpoint: o.endpoint,
            profile: o.profile,
            access_key_id: o.access_key_id,
            secret_access_key: o.secret_access_key.map(SecretString::new),
            session_token: o.session_token.map(SecretString::new),
        };
        spawn(env, async move {
            let p = AwsKmsKeyProvider::new(key_id, options).await?;
            Ok(Key { inner: Arc::new(p) })
        })
    }

    /// A Google Cloud KMS key: the CryptoKey name
    /// (`projects/P/locations/L/keyRings/R/cryptoKeys/K`). Resolves once credentials are ready.
    #[napi(ts_return_type = "Promise<Key>")]
    pub fn gcp_kms(
        env: &Env,
        key_name: String,
        options: Option<GcpKmsKeyOptions>,
    ) -> Result<PromiseRaw<'_, Key>> {
        let o = options.unwrap_or_default();
        let credentials = match (o.credentials, o.access_token) {
            (Some(_), Some(_)) => {
                return Err(js_err(firekeep_core::Error::InvalidConfig(
                    "give credentials or accessToken, not both".into(),
                )));
            }
            (Some(f), None) => Some(firekeep_firestore::Credentials::ServiceAccountFile(
                f.into(),
            )),
            (None, Some(t)) => Some(firekeep_firestore::Credentials::AccessToken(
                SecretString::new(t),
            )),
            (None, None) => None,
        };
        let options = GcpKmsOptions {
            credentials,
            endpoint: o.endpoint,
            ..GcpKmsOptions::default()
        };
        spawn(env, async move {
            let p = GcpKmsKeyProvider::new(key_name, options).await?;
            Ok(Key { inner: Arc::new(p) })
        })
    }

    /// A key inside an HSM, by its RFC 7512 URI
    /// `pkcs11:token=<label>;object=<key label>?module-path=/path/vendor.so&pin-source=file:/pin`
    /// (without `module-path`, `FIREKEEP_PKCS11_MODULE`; without `pin-source`,
    /// `FIREKEEP_PKCS11_PIN`; a PIN in the URI is refused). Resolves once the token accepted the
    /// PIN and the key was found.
    #[napi(ts_return_type = "Promise<Key>")]
    pub fn pkcs11(env: &Env, uri: String) -> Result<PromiseRaw<'_, Key>> {
        spawn(env, async move {
            let p = Pkcs11KeyProvider::open(Pkcs11Options::from_uri(&uri)?).await?;
            Ok(Key { inner: Arc::new(p) })
        })
    }

    /// `passphrase`, `raw`, `aws-kms`, `gcp-kms` or `pkcs11`.
    #[napi(getter)]
    pub fn kind(&self) -> String {
        self.inner.kind().to_string()
    }

    /// The non-secret key id recorded with each backup.
    #[napi(getter)]
    pub fn key_id(&self) -> String {
        self.inner.key_id().to_string()
    }
}

/// A generated raw key.
#[napi]
pub struct GeneratedKey {
    key: Key,
    base64: String,
}

#[napi]
impl GeneratedKey {
    /// The key provider.
    #[napi(getter)]
    pub fn key(&self) -> Key {
        self.key.clone()
    }

    /// The key as base64 (secret).
    #[napi(getter)]
    pub fn base64(&self) -> String {
        self.base64.clone()
    }
}
