//! firekeep [`KeyProvider`] on Google Cloud KMS.
//!
//! Each backup's data key is wrapped with Cloud KMS `Encrypt` on a symmetric CryptoKey
//! (`projects/P/locations/L/keyRings/R/cryptoKeys/K`) and unwrapped with `Decrypt` on the same
//! CryptoKey (Cloud KMS finds the version that sealed it). Both bind the key to its backup with
//! the additional authenticated data `firekeep:backup_id=<backup id>`, so a wrapped key copied
//! to another backup does not decrypt, and Cloud Audit Logs show which key every call used.
//!
//! Every call carries the CRC32C integrity fields as Google documents them
//! (<https://cloud.google.com/kms/docs/data-integrity-guidelines>): `plaintext_crc32c` and
//! `additional_authenticated_data_crc32c` (and `ciphertext_crc32c` on Decrypt) are sent; an
//! Encrypt response must say `verified_plaintext_crc32c` and
//! `verified_additional_authenticated_data_crc32c`, carry a `ciphertext_crc32c` matching the
//! ciphertext and name a version of the requested key; a Decrypt response's
//! `plaintext_crc32c` must match the plaintext. Anything else is an integrity error and the
//! result is not used.
//!
//! Credentials are found the way Google's client libraries find them (service-account key
//! file, Application Default Credentials, the metadata server), by the Firestore connector's
//! auth code. The IAM role needed on the key is `roles/cloudkms.cryptoKeyEncrypterDecrypter`.
//!
//! ```no_run
//! # async fn demo() -> firekeep_core::Result<()> {
//! use firekeep_gcp_kms::{GcpKmsKeyProvider, GcpKmsOptions};
//! let kms = GcpKmsKeyProvider::new(
//!     "projects/acme/locations/europe-west1/keyRings/backups/cryptoKeys/firekeep",
//!     GcpKmsOptions::default(),
//! )
//! .await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use firekeep_core::keys::{KeyContext, KeyProvider, WrappedKey};
use firekeep_core::secret::SecretBytes;
use firekeep_core::{Error, Result};
use firekeep_firestore::Credentials;
use firekeep_firestore::auth::Auth;
use googleapis_tonic_google_cloud_kms_v1::google::cloud::kms::v1 as kms;
use kms::key_management_service_client::KeyManagementServiceClient;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;
use tonic::Code;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};
use zeroize::Zeroize;

/// Provider kind recorded in [`WrappedKey::provider`].
pub const KIND: &str = "gcp-kms";
/// The additional authenticated data is this prefix followed by the backup id.
pub const AAD_PREFIX: &str = "firekeep:backup_id=";
/// The production endpoint (TLS).
pub const DEFAULT_ENDPOINT: &str = "https://cloudkms.googleapis.com";
/// OAuth scope for Cloud KMS.
pub const SCOPES: &[&str] = &["https://www.googleapis.com/auth/cloudkms"];
/// The IAM role that allows Encrypt and Decrypt on a key.
pub const IAM_ROLE: &str = "roles/cloudkms.cryptoKeyEncrypterDecrypter";

/// How to reach Cloud KMS.
#[derive(Clone, Debug)]
pub struct GcpKmsOptions {
    /// Where the bearer token comes from. `None`: the Google default chain
    /// (`GOOGLE_APPLICATION_CREDENTIALS`, gcloud's ADC file, the metadata server), or, for a
    /// plaintext `http://` endpoint, [`Credentials::Emulator`]: a test server, sent no
    /// `authorization` header.
    pub credentials: Option<Credentials>,
    /// Endpoint override: `https://host` (a private endpoint, `cloudkms.<region>.rep...`) or
    /// plaintext `http://127.0.0.1:PORT` for a test server. `None`: [`DEFAULT_ENDPOINT`].
    pub endpoint: Option<String>,
    /// Deadline for one call.
    pub call_timeout: Duration,
    /// Attempts per call for transient failures (UNAVAILABLE, DEADLINE_EXCEEDED), at least 1.
    pub max_attempts: u32,
}

impl Default for GcpKmsOptions {
    fn default() -> Self {
        GcpKmsOptions {
            credentials: None,
            endpoint: None,
            call_timeout: Duration::from_secs(30),
            max_attempts: 4,
        }
    }
}

/// What went wrong with a Cloud KMS call. Converts into [`firekeep_core::Error`] at the
/// [`KeyProvider`] boundary (see the `From` impl); the message names the key and says what to
/// do, and never holds key material or tokens.
#[derive(Debug, thiserror::Error)]
pub enum GcpKmsError {
    /// The key name is not a CryptoKey (or CryptoKeyVersion) resource name.
    #[error(
        "{0:?} is not a Cloud KMS key name; give projects/PROJECT/locations/LOCATION/keyRings/RING/cryptoKeys/KEY (optionally /cryptoKeyVersions/N to pin the version used to encrypt)"
    )]
    BadKeyName(String),
    /// The endpoint or credentials are not usable.
    #[error("Cloud KMS configuration: {0}")]
    Config(String),
    /// The key version is disabled or destroyed (FAILED_PRECONDITION).
    #[error(
        "Cloud KMS key {key}: {message} Enable the key version (gcloud kms keys versions enable), or, if it was destroyed, restore it while it is only scheduled for destruction; a destroyed version's data keys cannot be recovered"
    )]
    KeyVersionNotEnabled {
        /// The CryptoKey.
        key: String,
        /// Google's message (names the version and its state).
        message: String,
    },
    /// IAM refused the call (or the key is in a project these credentials cannot see).
    #[error(
        "Cloud KMS refused {op} on key {key}: {message} Grant {IAM_ROLE} on the key to these credentials ({credentials}), and check that the key name (project, location, key ring) is right"
    )]
    PermissionDenied {
        /// `Encrypt` or `Decrypt`.
        op: &'static str,
        /// The CryptoKey.
        key: String,
        /// Google's message.
        message: String,
        /// Where the credentials came from (never the credentials).
        credentials: String,
    },
    /// The key does not exist.
    #[error(
        "Cloud KMS key {key} was not found ({message}); check the project, location, key ring and key name (gcloud kms keys list --keyring RING --location LOCATION)"
    )]
    NotFound {
        /// The CryptoKey.
        key: String,
        /// Google's message.
        message: String,
    },
    /// Decrypt failed: the wrapped key was sealed for another backup (AAD), under another key,
    /// or is damaged.
    #[error(
        "Cloud KMS could not decrypt the data key of backup {backup_id} with key {key} ({message}): it was wrapped for another backup (additional authenticated data {AAD_PREFIX}<id>) or under another key, or it is damaged"
    )]
    DecryptionFailed {
        /// The CryptoKey.
        key: String,
        /// The backup the key was opened for.
        backup_id: String,
        /// Google's message.
        message: String,
    },
    /// A request or response failed its CRC32C or name check.
    #[error(
        "Cloud KMS {op} on key {key}: {detail}; the request or response was corrupted in transit, the result was discarded; retry, and report it if it persists"
    )]
    Integrity {
        /// `Encrypt` or `Decrypt`.
        op: &'static str,
        /// The CryptoKey.
        key: String,
        /// Which check failed.
        detail: String,
    },
    /// The credentials were refused or could not be refreshed (UNAUTHENTICATED).
    #[error(
        "Cloud KMS did not accept the credentials from {credentials} for key {key}: {message}; check GOOGLE_APPLICATION_CREDENTIALS or run gcloud auth application-default login"
    )]
    Unauthenticated {
        /// The CryptoKey.
        key: String,
        /// Google's message.
        message: String,
        /// Where the credentials came from.
        credentials: String,
    },
    /// Cloud KMS could not be reached, or answered with another error.
    #[error(
        "Cloud KMS {op} on key {key} failed: {code:?}: {message}; check the network and the endpoint ({endpoint})"
    )]
    Call {
        /// `Encrypt` or `Decrypt`.
        op: &'static str,
        /// The CryptoKey.
        key: String,
        /// gRPC status code.
        code: Code,
        /// Google's message.
        message: String,
        /// The endpoint dialled.
        endpoint: String,
    },
}

impl From<GcpKmsError> for Error {
    fn from(e: GcpKmsError) -> Error {
        match e {
            GcpKmsError::BadKeyName(_) | GcpKmsError::Config(_) => {
                Error::InvalidConfig(e.to_string())
            }
            GcpKmsError::Integrity { ref key, .. } => {
                Error::integrity(format!("Cloud KMS response for key {key}"), e.to_string())
            }
            other => Error::KeyProvider(other.to_string()),
        }
    }
}

/// Wraps data keys under one Cloud KMS symmetric CryptoKey.
#[derive(Clone)]
pub struct GcpKmsKeyProvider {
    channel: Channel,
    /// `None` for a plaintext test server: no `authorization` header at all.
    auth: Option<Auth>,
    /// The CryptoKey name (what [`KeyProvider::key_id`] reports and Decrypt uses).
    key: String,
    /// What Encrypt names: the CryptoKey, or a pinned CryptoKeyVersion.
    encrypt_name: String,
    endpoint: String,
    credentials_source: String,
    options: GcpKmsOptions,
}

impl fmt::Debug for GcpKmsKeyProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GcpKmsKeyProvider")
            .field("key", &self.key)
            .field("encrypt_name", &self.encrypt_name)
            .field("endpoint", &self.endpoint)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

/// Whether `name` is `projects/*/locations/*/keyRings/*/cryptoKeys/*`.
fn is_crypto_key_name(name: &str) -> bool {
    let p: Vec<&str> = name.split('/').collect();
    p.len() == 8
        && p[0] == "projects"
        && p[2] == "locations"
        && p[4] == "keyRings"
        && p[6] == "cryptoKeys"
        && [1, 3, 5, 7]
            .iter()
            .all(|&i| !p[i].is_empty() && !p[i].contains(char::is_whitespace))
}

/// Splits a key name into the CryptoKey and, if pinned, the full version name.
pub fn parse_key_name(name: &str) -> std::result::Result<(String, Option<String>), GcpKmsError> {
    let name = name.trim();
    if is_crypto_key_name(name) {
        return Ok((name.to_string(), None));
    }
    if let Some((key, v)) = name.rsplit_once("/cryptoKeyVersions/")
        && is_crypto_key_name(key)
        && v.parse::<u64>().is_ok_and(|n| n > 0)
    {
        return Ok((key.to_string(), Some(name.to_string())));
    }
    Err(GcpKmsError::BadKeyName(name.to_string()))
}

/// CRC32C (Castagnoli), the checksum of Cloud KMS's integrity fields.
pub fn crc32c(data: &[u8]) -> i64 {
    const CRC32C: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);
    i64::from(CRC32C.checksum(data))
}

/// The additional authenticated data binding a data key to `backup_id`.
pub fn aad_for(backup_id: &str) -> Vec<u8> {
    format!("{AAD_PREFIX}{backup_id}").into_bytes()
}

impl GcpKmsKeyProvider {
    /// Connects to Cloud KMS for `key` (a CryptoKey name, or a CryptoKeyVersion name to pin
    /// the version Encrypt uses; Decrypt always names the CryptoKey). Real credentials fetch a
    /// first token here, so wrong credentials fail before a backup starts. The key itself is
    /// first used by the first wrap or unwrap: `roles/cloudkms.cryptoKeyEncrypterDecrypter`
    /// does not include reading the key's metadata.
    pub async fn new(key: impl AsRef<str>, options: GcpKmsOptions) -> Result<Self> {
        let (key, pinned) = parse_key_name(key.as_ref())?;
        let raw = options
            .endpoint
            .clone()
            .filter(|e| !e.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
        let endpoint = if raw.contains("://") {
            raw
        } else {
            format!("https://{raw}")
        };
        let plaintext = endpoint.starts_with("http://");
        let credentials = match &options.credentials {
            Some(c) => c.clone(),
            None if plaintext => Credentials::Emulator,
            None => Credentials::from_env(),
        };
        let bad = |e: &dyn fmt::Display| {
            GcpKmsError::Config(format!(
                "endpoint {endpoint:?} is not usable: {e}; give https://host or, for a test \
                 server, http://127.0.0.1:PORT"
            ))
        };
        let mut ep = Endpoint::from_shared(endpoint.clone())
            .map_err(|e| bad(&e))?
            .tcp_nodelay(true)
            .connect_timeout(Duration::from_secs(20))
            .timeout(options.call_timeout);
        if !plaintext {
            ep = ep
                .tls_config(ClientTlsConfig::new().with_webpki_roots())
                .map_err(|e| bad(&e))?;
        }
        // Lazy: a KMS that is down fails the first call (with a retry), not the constructor,
        // so commands that never unwrap a key still run.
        let channel = ep.connect_lazy();
        let credentials_source = match &credentials {
            Credentials::Emulator => "no credentials (test server)".to_string(),
            Credentials::AccessToken(_) => "an access token".to_string(),
            Credentials::ServiceAccountFile(p) => {
                format!("service-account key file {}", p.display())
            }
            Credentials::ApplicationDefault => "Application Default Credentials".to_string(),
            Credentials::MetadataServer => "the metadata server".to_string(),
        };
        let auth = match credentials {
            Credentials::Emulator => None,
            ref c => Some(Auth::new(c, SCOPES).await?),
        };
        Ok(GcpKmsKeyProvider {
            channel,
            auth,
            encrypt_name: pinned.unwrap_or_else(|| key.clone()),
            key,
            endpoint,
            credentials_source,
            options,
        })
    }

    /// The version Encrypt is pinned to, if one was configured.
    pub fn pinned_version(&self) -> Option<&str> {
        (self.encrypt_name != self.key).then_some(self.encrypt_name.as_str())
    }

    fn status_error(&self, op: &'static str, s: tonic::Status, backup_id: &str) -> GcpKmsError {
        let key = self.key.clone();
        let message = s.message().to_string();
        match s.code() {
            Code::FailedPrecondition => GcpKmsError::KeyVersionNotEnabled { key, message },
            Code::PermissionDenied => GcpKmsError::PermissionDenied {
                op,
                key,
                message,
                credentials: self.credentials_source.clone(),
            },
            Code::NotFound => GcpKmsError::NotFound { key, message },
            Code::Unauthenticated => GcpKmsError::Unauthenticated {
                key,
                message,
                credentials: self.credentials_source.clone(),
            },
            Code::InvalidArgument
                if op == "Decrypt" && message.starts_with("Decryption failed") =>
            {
                GcpKmsError::DecryptionFailed {
                    key,
                    backup_id: backup_id.to_string(),
                    message,
                }
            }
            // A checksum Cloud KMS found wrong in our request: corrupted on the way.
            Code::InvalidArgument if message.contains("checksum") => GcpKmsError::Integrity {
                op,
                key,
                detail: format!("Cloud KMS rejected the request checksum: {message}"),
            },
            code => GcpKmsError::Call {
                op,
                key,
                code,
                message,
                endpoint: self.endpoint.clone(),
            },
        }
    }

    /// One unary call with auth, retried with backoff on transient codes.
    async fn call<Req, Resp, F, Fut>(
        &self,
        op: &'static str,
        backup_id: &str,
        req: &Req,
        f: F,
    ) -> std::result::Result<Resp, GcpKmsError>
    where
        Req: Clone,
        F: Fn(KeyManagementServiceClient<Channel>, tonic::Request<Req>) -> Fut,
        Fut:
            std::future::Future<Output = std::result::Result<tonic::Response<Resp>, tonic::Status>>,
    {
        let attempts = self.options.max_attempts.max(1);
        let mut backoff = Duration::from_millis(100);
        let mut attempt = 1;
        loop {
            let mut request = tonic::Request::new(req.clone());
            if let Some(auth) = &self.auth {
                let header = auth.header().await.map_err(|e| {
                    let message = match e {
                        Error::Firestore { message, .. } => message,
                        other => other.to_string(),
                    };
                    GcpKmsError::Unauthenticated {
                        key: self.key.clone(),
                        message,
                        credentials: self.credentials_source.clone(),
                    }
                })?;
                request.metadata_mut().insert("authorization", header);
            }
            request.set_timeout(self.options.call_timeout);
            // Google's routing header: the resource the call is about.
            if let Ok(v) = format!("name={}", self.key.replace('/', "%2F")).parse() {
                request.metadata_mut().insert("x-goog-request-params", v);
            }
            let client = KeyManagementServiceClient::new(self.channel.clone());
            match f(client, request).await {
                Ok(r) => return Ok(r.into_inner()),
                Err(s)
                    if attempt < attempts
                        && matches!(s.code(), Code::Unavailable | Code::DeadlineExceeded) =>
                {
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    attempt += 1;
                }
                Err(s) => return Err(self.status_error(op, s, backup_id)),
            }
        }
    }

    /// Encrypts a data key under the key with the backup's AAD, checking every integrity
    /// field of the response.
    pub async fn try_wrap(
        &self,
        data_key: &SecretBytes,
        context: &KeyContext,
    ) -> std::result::Result<WrappedKey, GcpKmsError> {
        let aad = aad_for(&context.backup_id);
        let req = kms::EncryptRequest {
            name: self.encrypt_name.clone(),
            plaintext: data_key.expose().to_vec(),
            plaintext_crc32c: Some(crc32c(data_key.expose())),
            additional_authenticated_data_crc32c: Some(crc32c(&aad)),
            additional_authenticated_data: aad,
        };
        let mut req = req;
        let result = self
            .call("Encrypt", &context.backup_id, &req, |mut c, r| async move {
                c.encrypt(r).await
            })
            .await;
        // Our copy of the data key is erased; the per-attempt copy tonic encodes is dropped
        // inside tonic, beyond our reach (as with any gRPC client).
        req.plaintext.zeroize();
        let out = result?;
        let integrity = |detail: String| GcpKmsError::Integrity {
            op: "Encrypt",
            key: self.key.clone(),
            detail,
        };
        if !out.verified_plaintext_crc32c {
            return Err(integrity(
                "the response does not confirm the plaintext checksum (verified_plaintext_crc32c is false)".into(),
            ));
        }
        if !out.verified_additional_authenticated_data_crc32c {
            return Err(integrity(
                "the response does not confirm the AAD checksum (verified_additional_authenticated_data_crc32c is false)".into(),
            ));
        }
        if out.ciphertext_crc32c != Some(crc32c(&out.ciphertext)) {
            return Err(integrity(
                "the ciphertext does not match ciphertext_crc32c".into(),
            ));
        }
        let version_of_key = match self.pinned_version() {
            Some(v) => out.name == v,
            None => out
                .name
                .strip_prefix(self.key.as_str())
                .and_then(|rest| rest.strip_prefix("/cryptoKeyVersions/"))
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())),
        };
        if !version_of_key {
            return Err(integrity(format!(
                "the response names {:?}, not a version of {}",
                out.name, self.encrypt_name
            )));
        }
        let mut params = BTreeMap::new();
        params.insert("aad_prefix".to_string(), AAD_PREFIX.to_string());
        params.insert("key_version".to_string(), out.name);
        Ok(WrappedKey {
            provider: KIND.to_string(),
            key_id: self.key.clone(),
            params,
            ciphertext: B64.encode(&out.ciphertext),
        })
    }

    /// Decrypts a wrapped data key with the CryptoKey and the backup's AAD, checking the
    /// plaintext checksum.
    pub async fn try_unwrap(
        &self,
        wrapped: &WrappedKey,
        context: &KeyContext,
    ) -> std::result::Result<SecretBytes, GcpKmsError> {
        let ciphertext =
            B64.decode(wrapped.ciphertext.trim())
                .map_err(|e| GcpKmsError::Integrity {
                    op: "Decrypt",
                    key: self.key.clone(),
                    detail: format!(
                        "the wrapped data key of backup {} is not base64: {e}",
                        context.backup_id
                    ),
                })?;
        let aad = aad_for(&context.backup_id);
        let req = kms::DecryptRequest {
            name: self.key.clone(),
            ciphertext_crc32c: Some(crc32c(&ciphertext)),
            ciphertext,
            additional_authenticated_data_crc32c: Some(crc32c(&aad)),
            additional_authenticated_data: aad,
        };
        let out = self
            .call("Decrypt", &context.backup_id, &req, |mut c, r| async move {
                c.decrypt(r).await
            })
            .await?;
        let checksum = out.plaintext_crc32c;
        let plain = SecretBytes::new(out.plaintext);
        if checksum != Some(crc32c(plain.expose())) {
            return Err(GcpKmsError::Integrity {
                op: "Decrypt",
                key: self.key.clone(),
                detail: "the plaintext does not match plaintext_crc32c".into(),
            });
        }
        if plain.len() != 32 {
            return Err(GcpKmsError::Integrity {
                op: "Decrypt",
                key: self.key.clone(),
                detail: format!(
                    "the data key of backup {} is {} bytes, not 32",
                    context.backup_id,
                    plain.len()
                ),
            });
        }
        Ok(plain)
    }
}

#[async_trait]
impl KeyProvider for GcpKmsKeyProvider {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn key_id(&self) -> &str {
        &self.key
    }

    async fn wrap(&self, data_key: &SecretBytes, context: &KeyContext) -> Result<WrappedKey> {
        Ok(self.try_wrap(data_key, context).await?)
    }

    async fn unwrap(&self, wrapped: &WrappedKey, context: &KeyContext) -> Result<SecretBytes> {
        // Another provider's or another key's wrapped key: say which key it needs, without a
        // call (Cloud KMS would only answer "Decryption failed").
        if wrapped.provider != KIND || wrapped.key_id != self.key {
            return Err(Error::KeyMismatch {
                expected: format!("{} key {}", wrapped.provider, wrapped.key_id),
                actual: format!("{KIND} key {}", self.key),
            });
        }
        Ok(self.try_unwrap(wrapped, context).await?)
    }
}
