//! Node bindings for firekeep: the native addon behind the `firekeep` npm package.
//!
//! This layer adds no logic of its own: it converts arguments, runs the core's
//! [`firekeep_core::client::Client`] on napi's tokio runtime (every I/O call returns a
//! Promise and never blocks the event loop), and reports [`firekeep_core::Error`] with its
//! stable code. Errors cross as `"<CODE>: <message>"` and `lib/errors.js` turns them into
//! `Error` subclasses with a `code` property; reports cross as the core's own JSON.

#![deny(clippy::all)]

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
use firekeep_core::format::{self, ObjectHeader};
use firekeep_core::keys::{KeyProvider, PassphraseKey, RawKey};
use firekeep_core::model::{DatabaseId, Timestamp, json};
use firekeep_core::policy::{Action, PrincipalKind, RequestContext, Resource, ResourceKind};
use firekeep_core::secret::{SecretBytes, SecretString};
use firekeep_core::setup::{AuditChoice, AuditHandle, PolicySource, SessionOptions};
use firekeep_core::source::{ConflictMode, Scope};
use firekeep_firestore::{ConnectorConfig, Credentials, FirestoreConnector};
use firekeep_gcp_kms::{GcpKmsKeyProvider, GcpKmsOptions};
use firekeep_object_store::{OpenClientOptions, open_client};
use firekeep_pkcs11::{Pkcs11KeyProvider, Pkcs11Options};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

pub mod segments;

// ---------------------------------------------------------------------------------------
// Errors

/// A core error as a JS error: `lib/errors.js` reads the code before the first `": "`.
fn js_err(e: CoreError) -> Error {
    Error::new(Status::GenericFailure, format!("{}: {}", e.code(), e))
}

/// A bad argument: becomes a `TypeError` in JS (Node's own code for it).
fn type_err(msg: impl std::fmt::Display) -> Error {
    Error::new(Status::InvalidArg, format!("ERR_INVALID_ARG_TYPE: {msg}"))
}

/// The core's `InvalidInput` as a `RangeError` (its message without the prefix), any
/// other error as usual.
fn invalid_input(e: CoreError) -> Error {
    match e {
        CoreError::InvalidInput(msg) => range_err(msg),
        other => js_err(other),
    }
}

/// Seconds in a retention duration (the core's grammar: units y, m = months, w, d, h, s).
#[napi]
pub fn parse_duration(text: String) -> Result<f64> {
    let d = firekeep_core::engine::parse_duration(&text).map_err(invalid_input)?;
    Ok(d.as_secs() as f64)
}

/// An argument out of range: becomes a `RangeError` in JS.
fn range_err(msg: impl std::fmt::Display) -> Error {
    Error::new(Status::InvalidArg, format!("ERR_OUT_OF_RANGE: {msg}"))
}

type CoreResult<T> = std::result::Result<T, CoreError>;

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

/// Runs `fut` on the tokio runtime and resolves a Promise with its result.
fn spawn<T, F>(env: &Env, fut: F) -> Result<PromiseRaw<'_, T>>
where
    T: 'static + Send + ToNapiValue,
    F: 'static + Send + Future<Output = CoreResult<T>>,
{
    env.spawn_future(async move { fut.await.map_err(js_err) })
}

// ---------------------------------------------------------------------------------------
// Cancellation and progress

/// A cancellation token; `lib/index.js` cancels it when an `AbortSignal` fires.
#[napi]
#[derive(Clone, Default)]
pub struct CancelToken {
    inner: CoreToken,
}

#[napi]
impl CancelToken {
    /// A fresh, uncancelled token.
    #[napi(constructor)]
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the operation to stop; it rejects with `ERR_CANCELLED` and leaves no manifest.
    #[napi]
    pub fn cancel(&self) {
        self.inner.cancel();
    }

    /// Whether `cancel()` was called.
    #[napi(getter)]
    pub fn cancelled(&self) -> bool {
        self.inner.is_cancelled()
    }
}

fn token_of(t: Option<&CancelToken>) -> CoreToken {
    t.map(|c| c.inner.clone()).unwrap_or_default()
}

/// A JS function receiving one JSON string per call, never blocking the caller.
type JsonCallback = ThreadsafeFunction<String, Unknown<'static>, String, Status, false>;
/// The same, not keeping the process alive (a client's audit callback).
type WeakJsonCallback = ThreadsafeFunction<String, Unknown<'static>, String, Status, false, true>;

fn progress_fn(cb: Option<Arc<JsonCallback>>) -> Option<ProgressFn> {
    let cb = cb?;
    Some(Arc::new(move |e: &ProgressEvent| {
        let json = serde_json::json!({
            "phase": format!("{:?}", e.phase).to_lowercase(),
            "documents": e.documents,
            "totalDocuments": e.total_documents,
            "bytes": e.bytes,
            "parts": e.parts,
            "totalParts": e.total_parts,
            "elapsed": e.elapsed.as_secs_f64(),
            "docsPerSec": e.docs_per_sec,
            "bytesPerSec": e.bytes_per_sec,
            "eta": e.eta.map(|d| d.as_secs_f64()),
        });
        // Non-blocking: a slow listener must not slow the backup; the queue is unbounded.
        cb.call(json.to_string(), ThreadsafeFunctionCallMode::NonBlocking);
    }))
}

// ---------------------------------------------------------------------------------------
// Keys

/// A key provider: passphrase, raw key or AWS KMS.
#[napi]
#[derive(Clone)]
pub struct Key {
    inner: Arc<dyn KeyProvider>,
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

// ---------------------------------------------------------------------------------------
// The object format on its own

fn data_key(key: &[u8]) -> Result<SecretBytes> {
    if key.len() != format::DATA_KEY_LEN {
        return Err(range_err(format!(
            "a data key is exactly {} bytes; got {} (use generateDataKey())",
            format::DATA_KEY_LEN,
            key.len()
        )));
    }
    Ok(SecretBytes::new(key.to_vec()))
}

/// Options of one encrypted object.
#[napi(object)]
#[derive(Default)]
pub struct ObjectOptions {
    /// Recorded in the header; default `standalone`.
    pub backup_id: Option<String>,
    /// Recorded in the header; default `object`.
    pub object_name: Option<String>,
    /// Ciphertext segment size in bytes, 4096 ..= 8388608 (default 1048576).
    pub segment_size: Option<f64>,
}

fn header_for(dek: &SecretBytes, o: Option<ObjectOptions>) -> Result<ObjectHeader> {
    let o = o.unwrap_or_default();
    let mut h = ObjectHeader::new(
        dek,
        o.backup_id.as_deref().unwrap_or("standalone"),
        o.object_name.as_deref().unwrap_or("object"),
    );
    if let Some(n) = o.segment_size {
        let (lo, hi) = (format::MIN_SEGMENT_SIZE, format::MAX_SEGMENT_SIZE);
        if !(n >= f64::from(lo) && n <= f64::from(hi) && n.fract() == 0.0) {
            return Err(range_err(format!(
                "segmentSize {n} is out of range; use {lo} ..= {hi} bytes (default {})",
                format::DEFAULT_SEGMENT_SIZE
            )));
        }
        h.segment_size = n as u32;
    }
    Ok(h)
}

/// A fresh random 32-byte data key.
#[napi]
pub fn generate_data_key() -> Buffer {
    firekeep_core::keys::random_data_key()
        .expose()
        .to_vec()
        .into()
}

/// The serialized object header for `key` (the associated data of the Tink body).
#[napi]
pub fn object_header(key: Buffer, options: Option<ObjectOptions>) -> Result<Buffer> {
    let dek = data_key(&key)?;
    let h = header_for(&dek, options)?;
    Ok(h.to_bytes().map_err(js_err)?.into())
}

/// Push-style encryptor of one object (used by `createEncryptStream`).
#[napi]
pub struct Encryptor {
    inner: Option<format::Encryptor>,
}

#[napi]
impl Encryptor {
    /// An encryptor under data key `key`.
    #[napi(constructor)]
    pub fn new(key: Buffer, options: Option<ObjectOptions>) -> Result<Self> {
        let dek = data_key(&key)?;
        let h = header_for(&dek, options)?;
        let inner = format::Encryptor::new(&dek, &h).map_err(js_err)?;
        Ok(Encryptor { inner: Some(inner) })
    }

    /// Adds plaintext; returns the ciphertext completed so far (possibly empty).
    #[napi]
    pub fn update(&mut self, data: &[u8]) -> Result<Buffer> {
        let enc = self
            .inner
            .as_mut()
            .ok_or_else(|| type_err("this Encryptor is finished; create a new one"))?;
        let mut out = Vec::with_capacity(data.len() + 4096);
        enc.update(data, &mut |b| {
            out.extend_from_slice(b);
            Ok(())
        })
        .map_err(js_err)?;
        Ok(out.into())
    }

    /// Ends the object; returns its last bytes.
    #[napi]
    pub fn finish(&mut self) -> Result<Buffer> {
        let enc = self
            .inner
            .take()
            .ok_or_else(|| type_err("this Encryptor is already finished"))?;
        let mut out = Vec::new();
        enc.finish(&mut |b| {
            out.extend_from_slice(b);
            Ok(())
        })
        .map_err(js_err)?;
        Ok(out.into())
    }
}

/// Push-style decryptor: returns only verified plaintext (used by `createDecryptStream`).
#[napi]
pub struct Decryptor {
    inner: Option<format::Decryptor>,
}

#[napi]
impl Decryptor {
    /// A decryptor under data key `key`.
    #[napi(constructor)]
    pub fn new(key: Buffer) -> Result<Self> {
        let dek = data_key(&key)?;
        Ok(Decryptor {
            inner: Some(format::Decryptor::new(format::Backend::DEFAULT, &dek)),
        })
    }

    /// Feeds ciphertext; returns the plaintext of every segment verified so far.
    #[napi]
    pub fn update(&mut self, data: &[u8]) -> Result<Buffer> {
        let dec = self
            .inner
            .as_mut()
            .ok_or_else(|| type_err("this Decryptor is finished; create a new one"))?;
        let mut out = Vec::with_capacity(data.len());
        dec.update(data, &mut |b| {
            out.extend_from_slice(b);
            Ok(())
        })
        .map_err(js_err)?;
        Ok(out.into())
    }

    /// Ends the input; returns the last verified plaintext. Fails with `ERR_INTEGRITY` if the
    /// object was truncated.
    #[napi]
    pub fn finish(&mut self) -> Result<Buffer> {
        let mut dec = self
            .inner
            .take()
            .ok_or_else(|| type_err("this Decryptor is already finished"))?;
        let out = match dec.finish().map_err(js_err)? {
            Some(n) => dec.plaintext()[..n].to_vec(),
            None if dec.is_done() => Vec::new(),
            None => {
                return Err(js_err(CoreError::integrity(
                    "object",
                    "the object ends before its last segment: it was truncated",
                )));
            }
        };
        Ok(out.into())
    }
}

// ---------------------------------------------------------------------------------------
// Documents: REST JSON in and out; `lib/values.js` maps it to JS values.

/// Parses and validates one document in Firestore REST JSON; returns it re-encoded
/// canonically (as backups store it).
#[napi]
pub fn normalize_document(json_text: String) -> Result<String> {
    let doc = json::decode_document(json_text.as_bytes()).map_err(js_err)?;
    doc.path().map_err(js_err)?;
    String::from_utf8(json::encode_document(&doc))
        .map_err(|_| js_err(CoreError::InvalidInput("document is not UTF-8".into())))
}

/// Parses an RFC 3339 timestamp into `[unixSeconds, nanos]`.
#[napi]
pub fn parse_rfc3339(s: String) -> Result<Vec<i64>> {
    let t = Timestamp::parse_rfc3339(&s).map_err(js_err)?;
    Ok(vec![t.seconds(), i64::from(t.nanos())])
}

/// Formats unix seconds and nanos as RFC 3339 (what REST JSON stores).
#[napi]
pub fn format_rfc3339(seconds: i64, nanos: u32) -> Result<String> {
    let t = Timestamp::new(seconds, nanos).map_err(range_err)?;
    Ok(t.to_rfc3339())
}

// ---------------------------------------------------------------------------------------
// Firestore source

/// Firestore connection options.
#[napi(object)]
#[derive(Default)]
pub struct FirestoreOptions {
    /// Default `(default)`.
    pub database: Option<String>,
    /// A service-account JSON file.
    pub credentials: Option<String>,
    /// `host:port` of an emulator (else env `FIRESTORE_EMULATOR_HOST`).
    pub emulator_host: Option<String>,
}

/// Where to read (backup) or write (restore) Firestore documents.
#[napi]
#[derive(Clone)]
pub struct Firestore {
    config: ConnectorConfig,
    connector: Arc<tokio::sync::Mutex<Option<Arc<FirestoreConnector>>>>,
}

impl Firestore {
    async fn connect(&self) -> CoreResult<Arc<FirestoreConnector>> {
        let mut slot = self.connector.lock().await;
        if let Some(c) = slot.clone() {
            return Ok(c);
        }
        let c = Arc::new(FirestoreConnector::connect(self.config.clone()).await?);
        *slot = Some(c.clone());
        Ok(c)
    }
}

#[napi]
impl Firestore {
    /// `emulatorHost` (or env `FIRESTORE_EMULATOR_HOST`) selects an emulator; else
    /// `credentials` (a service-account JSON file); else application default credentials.
    #[napi(constructor)]
    pub fn new(project: String, options: Option<FirestoreOptions>) -> Result<Self> {
        let o = options.unwrap_or_default();
        let database = o.database.unwrap_or_else(|| "(default)".into());
        let db = DatabaseId::new(&project, &database).map_err(js_err)?;
        let config = if let Some(host) = o.emulator_host {
            ConnectorConfig::emulator(db, host)
        } else if let Some(file) = o.credentials {
            ConnectorConfig::new(db, Credentials::ServiceAccountFile(PathBuf::from(file)))
        } else {
            ConnectorConfig::from_env(&project, &database).map_err(js_err)?
        };
        Ok(Firestore {
            config,
            connector: Arc::new(tokio::sync::Mutex::new(None)),
        })
    }

    /// The project id.
    #[napi(getter)]
    pub fn project(&self) -> String {
        self.config.database.project.clone()
    }

    /// The database id.
    #[napi(getter)]
    pub fn database(&self) -> String {
        self.config.database.database.clone()
    }
}

// ---------------------------------------------------------------------------------------
// Client

/// Client options (see `docs/node.md`).
#[napi(object)]
pub struct ClientOptions {
    /// A path, `file:///path`, `s3://bucket/prefix`, `gs://…` or `az://…`.
    pub repository: String,
    pub key: ClassInstance<'static, Key>,
    /// object_store options (`aws_endpoint`, `aws_region`, …).
    pub storage_options: Option<HashMap<String, String>>,
    /// Default `default`.
    pub organization: Option<String>,
    /// `user:ID`, `user:EMAIL` or `apikey:ID`.
    pub principal: Option<String>,
    /// Policy text (TOML or JSON) or a path to a policy file.
    pub policy: Option<String>,
    /// `memory` (default) or a JSONL file path.
    pub audit: Option<String>,
    /// Create a local repository that does not exist yet (default true).
    pub create: Option<bool>,
    /// The caller's IP address, recorded in audit events (`context.ip`).
    pub ip: Option<String>,
    /// The caller's user agent, recorded in audit events (`context.userAgent`).
    pub user_agent: Option<String>,
    /// The caller's location, recorded in audit events (`context.location`).
    pub location: Option<String>,
    /// Whether the caller authenticated with a second factor (policy conditions may ask).
    pub mfa: Option<bool>,
}

/// The outcome of an authorization check.
#[napi(object)]
pub struct Decision {
    /// The action asked about (`restore_backup`, ...).
    pub action: String,
    /// Whether the principal may perform it.
    pub allowed: bool,
    /// The rule that allows it, or why it is denied.
    pub reason: String,
}

/// Authorized, audited access to one backup repository (the core's `Client`).
#[napi]
pub struct Client {
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

fn opt_ts(s: Option<String>) -> Result<Option<Timestamp>> {
    s.map(|s| Timestamp::parse_rfc3339(&s).map_err(js_err))
        .transpose()
}

/// Backup options; `readTime` is RFC 3339 (the JS layer converts Dates).
#[napi(object)]
#[derive(Default)]
pub struct NativeBackupOptions {
    pub collections: Option<Vec<String>>,
    pub subcollections: Option<bool>,
    pub exclude: Option<Vec<String>>,
    pub read_time: Option<String>,
    pub labels: Option<HashMap<String, String>>,
    pub parallelism: Option<u32>,
}

/// Restore options.
#[napi(object)]
#[derive(Default)]
pub struct NativeRestoreOptions {
    pub collections: Option<Vec<String>>,
    pub subcollections: Option<bool>,
    /// `overwrite` (default), `skip` or `fail`.
    pub conflict: Option<String>,
    pub dry_run: Option<bool>,
    pub verify_first: Option<bool>,
}

#[napi]
impl Client {
    /// Opens a repository with a key, a principal and an audit sink. `auditCallback`
    /// receives each batch of audit events as JSON (it does not keep the process alive).
    #[napi(constructor)]
    pub fn new(
        options: ClientOptions,
        #[napi(ts_arg_type = "((eventsJson: string) => void) | undefined | null")]
        audit_callback: Option<WeakJsonCallback>,
    ) -> Result<Self> {
        let audit = match (audit_callback, options.audit) {
            (Some(cb), _) => {
                let sink = CallbackAuditSink::new(move |events: &[AuditEvent]| {
                    cb.call(to_json(&events), ThreadsafeFunctionCallMode::NonBlocking);
                    Ok(())
                });
                AuditChoice::Sink(Arc::new(sink))
            }
            (None, None) => AuditChoice::Memory,
            (None, Some(s)) if s == "memory" => AuditChoice::Memory,
            (None, Some(s)) => AuditChoice::File(PathBuf::from(s)),
        };
        // The one client builder every front end uses: repository, audit sink, policy,
        // principal, context, and the storage options registered as secrets.
        let open = OpenClientOptions {
            // Sorted, so the first bad option reported is the same on every run.
            storage_options: options
                .storage_options
                .unwrap_or_default()
                .into_iter()
                .collect(),
            repository: options.repository,
            create: options.create.unwrap_or(true),
            session: SessionOptions {
                organization: options.organization.unwrap_or_else(|| "default".into()),
                principal: options.principal,
                policy: options.policy.map(PolicySource::Text),
                local_owner: "local".into(),
                audit,
                context: RequestContext {
                    ip: options.ip,
                    user_agent: options.user_agent,
                    location: options.location,
                    mfa: options.mfa.unwrap_or(false),
                },
                principal_hint: "pass principal: \"user:EMAIL\"".into(),
                ..SessionOptions::default()
            },
        };
        // A malformed repository, principal or missing principal is a bad argument
        // (`TypeError`); the rest keep their codes.
        let (inner, audit) =
            open_client(&open, options.key.inner.clone()).map_err(|e| match e {
                CoreError::InvalidInput(m) => {
                    Error::new(Status::InvalidArg, format!("ERR_INVALID_ARG_VALUE: {m}"))
                }
                e => js_err(e),
            })?;
        Ok(Client { inner, audit })
    }

    /// The principal's kind and id, e.g. `user:alice`.
    #[napi(getter)]
    pub fn principal(&self) -> String {
        let p = self.inner.session().principal();
        let kind = match p.kind() {
            PrincipalKind::User => "user",
            _ => "apikey",
        };
        format!("{kind}:{}", p.id())
    }

    /// The organization the principal acts in.
    #[napi(getter)]
    pub fn organization(&self) -> String {
        self.inner.session().organization().to_string()
    }

    /// A description of the repository.
    #[napi(getter)]
    pub fn repository(&self) -> String {
        self.inner.repository().describe()
    }

    /// The key id new backups are written under.
    #[napi(getter)]
    pub fn key_id(&self) -> String {
        self.inner.keys().key_id().to_string()
    }

    /// Backs up `source`; resolves with the report as JSON.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn backup<'e>(
        &self,
        env: &'e Env,
        source: &Firestore,
        options: Option<NativeBackupOptions>,
        #[napi(ts_arg_type = "((progressJson: string) => void) | undefined | null")]
        progress: Option<Arc<JsonCallback>>,
        cancel: Option<&CancelToken>,
    ) -> Result<PromiseRaw<'e, String>> {
        let o = options.unwrap_or_default();
        let mut opts = BackupOptions {
            scope: scope(
                o.collections,
                o.subcollections.unwrap_or(true),
                o.exclude.unwrap_or_default(),
            ),
            read_time: opt_ts(o.read_time)?,
            labels: o.labels.unwrap_or_default().into_iter().collect(),
            ..BackupOptions::default()
        };
        if let Some(p) = o.parallelism {
            opts.parallelism = (p as usize).max(1);
        }
        let client = self.inner.clone();
        let source = source.clone();
        let t = token_of(cancel);
        let progress = progress_fn(progress);
        spawn(env, async move {
            let conn = source.connect().await?;
            Ok(to_json(&client.backup(conn, &opts, progress, &t).await?))
        })
    }

    /// Lists the backups; resolves with JSON.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn list<'e>(&self, env: &'e Env) -> Result<PromiseRaw<'e, String>> {
        let client = self.inner.clone();
        spawn(env, async move { Ok(to_json(&client.list().await?)) })
    }

    /// Verifies every part of a backup; with `throwOnError` false, resolves with the
    /// report even when it found problems.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn verify<'e>(
        &self,
        env: &'e Env,
        backup_id: String,
        throw_on_error: bool,
        #[napi(ts_arg_type = "((progressJson: string) => void) | undefined | null")]
        progress: Option<Arc<JsonCallback>>,
        cancel: Option<&CancelToken>,
    ) -> Result<PromiseRaw<'e, String>> {
        let client = self.inner.clone();
        let t = token_of(cancel);
        let progress = progress_fn(progress);
        spawn(env, async move {
            let r = if throw_on_error {
                client.verify(&backup_id, progress, &t).await?
            } else {
                client.verify_report(&backup_id, progress, &t).await?
            };
            Ok(to_json(&r))
        })
    }

    /// Restores a backup into `target`.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn restore<'e>(
        &self,
        env: &'e Env,
        backup_id: String,
        target: &Firestore,
        options: Option<NativeRestoreOptions>,
        #[napi(ts_arg_type = "((progressJson: string) => void) | undefined | null")]
        progress: Option<Arc<JsonCallback>>,
        cancel: Option<&CancelToken>,
    ) -> Result<PromiseRaw<'e, String>> {
        let o = options.unwrap_or_default();
        let conflict = o
            .conflict
            .as_deref()
            .unwrap_or("overwrite")
            .parse::<ConflictMode>()
            .map_err(invalid_input)?;
        let opts = RestoreOptions {
            scope: scope(o.collections, o.subcollections.unwrap_or(true), vec![]),
            conflict,
            dry_run: o.dry_run.unwrap_or(false),
            verify_first: o.verify_first.unwrap_or(true),
            ..RestoreOptions::default()
        };
        let client = self.inner.clone();
        let target = target.clone();
        let t = token_of(cancel);
        let progress = progress_fn(progress);
        spawn(env, async move {
            let conn = target.connect().await?;
            Ok(to_json(
                &client
                    .restore(&backup_id, conn, &opts, progress, &t)
                    .await?,
            ))
        })
    }

    /// Compares backup `fromId` with backup `toId`, or with the live database `source`.
    #[napi(ts_return_type = "Promise<string>")]
    #[allow(clippy::too_many_arguments)]
    pub fn diff<'e>(
        &self,
        env: &'e Env,
        from_id: String,
        to_id: Option<String>,
        source: Option<&Firestore>,
        max_names: Option<u32>,
        cancel: Option<&CancelToken>,
    ) -> Result<PromiseRaw<'e, String>> {
        let mut opts = DiffOptions::default();
        if let Some(n) = max_names {
            opts.max_names = n as usize;
        }
        if to_id.is_some() == source.is_some() {
            return Err(type_err(
                "diff needs exactly one of: another backup id, or a Firestore source",
            ));
        }
        let client = self.inner.clone();
        let source = source.cloned();
        let t = token_of(cancel);
        spawn(env, async move {
            let r = match (to_id, source) {
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
        })
    }

    /// Plans a prune under `retentionJson` (the core's `Retention`, snake_case keys) and
    /// applies it unless `dryRun`. Resolves with `{"plan": …, "report": … | null}`.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn prune<'e>(
        &self,
        env: &'e Env,
        retention_json: String,
        dry_run: bool,
    ) -> Result<PromiseRaw<'e, String>> {
        let retention: Retention = serde_json::from_str(&retention_json)
            .map_err(|e| type_err(format!("bad retention: {e}")))?;
        if retention.is_empty() {
            return Err(range_err(
                "a retention policy needs at least one keep rule (it would remove every backup)",
            ));
        }
        let client = self.inner.clone();
        spawn(env, async move {
            let plan = client.plan_prune(&retention, Timestamp::now()).await?;
            let report = if dry_run {
                None
            } else {
                Some(client.apply_prune(&plan).await?)
            };
            Ok(serde_json::json!({"plan": plan, "report": report}).to_string())
        })
    }

    /// Re-wraps every backup's data key under `newKey` (data is not re-encrypted).
    #[napi(ts_return_type = "Promise<string>")]
    pub fn rotate_key<'e>(
        &self,
        env: &'e Env,
        new_key: &Key,
        cancel: Option<&CancelToken>,
    ) -> Result<PromiseRaw<'e, String>> {
        let client = self.inner.clone();
        let to = new_key.inner.clone();
        let t = token_of(cancel);
        spawn(env, async move {
            Ok(to_json(&client.rotate_key(to.as_ref(), &t).await?))
        })
    }

    /// Whether the principal may perform `action` (a policy action name such as
    /// `restore_backup`) on a project/database/collections. Records no audit event.
    #[napi]
    pub fn check(
        &self,
        action: String,
        project: Option<String>,
        database: Option<String>,
        collections: Option<Vec<String>>,
    ) -> Result<Decision> {
        let action = parse_action(&action)?;
        let resource = self.resource(project, database, collections);
        Ok(decision(&self.inner.session().check(action, &resource)))
    }

    /// Like `check`, but a denial is an operation outcome: it is recorded in the audit
    /// trail as `authorization.denied` and rejects with `ERR_AUTHORIZATION_DENIED`.
    #[napi(ts_return_type = "Promise<Decision>")]
    pub fn authorize<'e>(
        &self,
        env: &'e Env,
        action: String,
        project: Option<String>,
        database: Option<String>,
        collections: Option<Vec<String>>,
    ) -> Result<PromiseRaw<'e, Decision>> {
        let action = parse_action(&action)?;
        let resource = self.resource(project, database, collections);
        let client = self.inner.clone();
        spawn(env, async move {
            let d = client.authorize(action, resource).await?;
            Ok(decision(&d))
        })
    }

    /// The audit events recorded so far, as JSON (memory and file sinks).
    #[napi]
    pub fn audit_events(&self) -> Result<String> {
        match &self.audit {
            AuditHandle::Memory(m) => Ok(to_json(&m.events())),
            AuditHandle::File(p) => Ok(to_json(&read_jsonl(p).map_err(js_err)?.events)),
            AuditHandle::Other => Err(type_err(
                "this client's audit sink is a callback; its events went to that function",
            )),
        }
    }
}

impl Client {
    fn resource(
        &self,
        project: Option<String>,
        database: Option<String>,
        collections: Option<Vec<String>>,
    ) -> Resource {
        let mut r = Resource::organization(self.inner.session().organization());
        if let Some(p) = project {
            r = r.in_project(p);
        }
        if let Some(d) = database {
            r = r.in_database(d);
        }
        r.with_collections(collections.unwrap_or_default())
            .kind(ResourceKind::Backup)
    }
}

/// A policy action name; an unknown one is a bad argument (`TypeError`).
fn parse_action(action: &str) -> Result<Action> {
    action.parse().map_err(|e: CoreError| {
        Error::new(Status::InvalidArg, format!("ERR_INVALID_ARG_VALUE: {e}"))
    })
}

fn decision(d: &firekeep_core::policy::Decision) -> Decision {
    Decision {
        action: d.action.as_str().to_string(),
        allowed: d.allowed,
        reason: d.reason.to_string(),
    }
}

/// Exports audit events (a JSON array) as `json` or `csv`, filtered by time and action.
#[napi]
pub fn audit_export(
    events_json: String,
    format: String,
    since: Option<String>,
    until: Option<String>,
    actions: Option<Vec<String>>,
) -> Result<String> {
    let events: Vec<AuditEvent> = serde_json::from_str(&events_json)
        .map_err(|e| type_err(format!("not a JSON array of audit events: {e}")))?;
    let fmt: ExportFormat = format.parse().map_err(js_err)?;
    let filter = ExportFilter {
        from: opt_ts(since)?,
        to: opt_ts(until)?,
        actions: actions.unwrap_or_default(),
    };
    Ok(export(&events, &filter, fmt))
}

/// Reads a JSONL audit trail as a JSON array.
#[napi]
pub fn audit_read(path: String) -> Result<String> {
    Ok(to_json(
        &read_jsonl(&PathBuf::from(path)).map_err(js_err)?.events,
    ))
}

/// The result of an audit chain check.
#[napi(object)]
pub struct AuditHead {
    /// How many events the chain holds.
    pub events: f64,
    /// The hash of the last event.
    pub hash: String,
}

/// Verifies the hash chain of a JSONL audit file (`path`) or of a JSON array of events;
/// a broken chain fails with `ERR_AUDIT` naming the first bad event.
#[napi]
pub fn audit_verify(path: Option<String>, events_json: Option<String>) -> Result<AuditHead> {
    let head = match (path, events_json) {
        (Some(p), None) => read_jsonl(&PathBuf::from(p)).map_err(js_err)?.verify(),
        (None, Some(text)) => {
            let events: Vec<AuditEvent> = serde_json::from_str(&text)
                .map_err(|e| type_err(format!("not a JSON array of audit events: {e}")))?;
            verify_chain(&events, None)
        }
        _ => return Err(type_err("give exactly one of a path or events")),
    }
    .map_err(|e| js_err(CoreError::Audit(e.to_string())))?;
    Ok(AuditHead {
        events: head.position as f64,
        hash: head.hash,
    })
}
