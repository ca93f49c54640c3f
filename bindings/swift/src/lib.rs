//! uniffi bindings (Swift, Kotlin) for firekeep.
//!
//! This layer adds no logic of its own: it converts arguments, calls the core (and the
//! Firestore connector), and maps [`firekeep_core::Error`] to [`FirekeepError`], which
//! Swift and Kotlin see as an error enum. Every exported call runs behind
//! [`std::panic::catch_unwind`], so a panic becomes [`FirekeepError::Panic`] instead of
//! unwinding into foreign code. Secrets (passphrases, keys) are moved into zeroizing
//! containers at once and never appear in errors or `Debug` output.
//!
//! Surface: the object format (bytes, files, and streaming through [`ByteSource`] /
//! [`ByteSink`] callbacks), key providers (passphrase, raw key), the policy evaluator,
//! audit-chain verification, and the authorized, audited [`Client`] (backup, verify,
//! restore, list) as async functions with a [`ProgressListener`] and a
//! [`CancellationToken`].

use firekeep_core::Error as CoreError;
use firekeep_core::audit::{AuditEvent, MemoryAuditSink, read_jsonl, verify_chain};
use firekeep_core::client::Client as CoreClient;
use firekeep_core::engine::{
    BackupOptions as CoreBackupOptions, CancellationToken as CoreToken, ProgressEvent, ProgressFn,
    Repository, RestoreOptions as CoreRestoreOptions,
};
use firekeep_core::format::{self, ObjectHeader};
use firekeep_core::keys::{self, KeyContext, KeyProvider as CoreKeyProvider, WrappedKey};
use firekeep_core::keys::{PassphraseKey, RawKey};
use firekeep_core::model::DatabaseId;
use firekeep_core::policy::{Action, Policy as CorePolicy, Principal, RequestContext, Resource};
use firekeep_core::secret::{SecretBytes, SecretString};
use firekeep_core::setup::{AuditChoice, AuditHandle, PolicySource, SessionOptions};
use firekeep_core::source::{ConflictMode as CoreConflict, Scope};
use firekeep_core::storage::local::LocalStorage;
use firekeep_firestore::{ConnectorConfig, Credentials, FirestoreConnector};
use futures::FutureExt;
use std::collections::HashMap;
use std::future::Future;
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

uniffi::setup_scaffolding!();

// ---------------------------------------------------------------------------------------
// Errors

/// Every failure firekeep reports to Swift/Kotlin. One variant per core error kind (see
/// `firekeep_core::Error`), plus `Callback` (a foreign callback failed) and `Panic` (a bug
/// in firekeep, caught before it crossed the boundary). `message` says what to do.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum FirekeepError {
    /// An argument or input value was not acceptable.
    #[error("{message}")]
    InvalidInput {
        /// What was wrong and what to do.
        message: String,
    },
    /// A configuration value (key, URL, policy, option) is wrong.
    #[error("{message}")]
    InvalidConfig {
        /// What was wrong and what to do.
        message: String,
    },
    /// The key supplied is not the key the data was protected with.
    #[error("{message}")]
    KeyMismatch {
        /// Key id recorded with the data.
        expected: String,
        /// Key id of the key supplied.
        actual: String,
        /// The full message.
        message: String,
    },
    /// Stored data failed an integrity check (tag, hash, count, truncation).
    #[error("{message}")]
    Integrity {
        /// The object (or part) that failed.
        object: String,
        /// What was wrong with it.
        detail: String,
        /// The full message.
        message: String,
    },
    /// A named thing (object, backup, document) does not exist.
    #[error("{message}")]
    NotFound {
        /// The full message.
        message: String,
    },
    /// Something that must be new already exists.
    #[error("{message}")]
    AlreadyExists {
        /// The full message.
        message: String,
    },
    /// Storage failed or refused access.
    #[error("{message}")]
    Storage {
        /// The full message.
        message: String,
    },
    /// Firestore answered with an error.
    #[error("{message}")]
    Firestore {
        /// gRPC status code name, e.g. `PERMISSION_DENIED`.
        code: String,
        /// The full message.
        message: String,
    },
    /// The key provider failed.
    #[error("{message}")]
    KeyProvider {
        /// The full message.
        message: String,
    },
    /// The principal may not perform the action; the message names the rule.
    #[error("{message}")]
    AuthorizationDenied {
        /// The full message.
        message: String,
    },
    /// The audit trail could not be written or failed verification.
    #[error("{message}")]
    Audit {
        /// The full message.
        message: String,
    },
    /// The operation was cancelled (token or dropped future).
    #[error("{message}")]
    Cancelled {
        /// The full message.
        message: String,
    },
    /// Local I/O failed.
    #[error("{message}")]
    Io {
        /// The full message.
        message: String,
    },
    /// A callback implemented in Swift/Kotlin (or Python) failed.
    #[error("{message}")]
    Callback {
        /// The full message.
        message: String,
    },
    /// firekeep panicked; this is a bug, please report it with the message.
    #[error("{message}")]
    Panic {
        /// The panic message.
        message: String,
    },
}

impl FirekeepError {
    /// The stable error code, the same as the CLI's `--json` and the other bindings
    /// (`ERR_KEY_MISMATCH` ...).
    pub fn code(&self) -> &'static str {
        match self {
            FirekeepError::InvalidInput { .. } => "ERR_INVALID_INPUT",
            FirekeepError::InvalidConfig { .. } => "ERR_INVALID_CONFIG",
            FirekeepError::KeyMismatch { .. } => "ERR_KEY_MISMATCH",
            FirekeepError::Integrity { .. } => "ERR_INTEGRITY",
            FirekeepError::NotFound { .. } => "ERR_NOT_FOUND",
            FirekeepError::AlreadyExists { .. } => "ERR_ALREADY_EXISTS",
            FirekeepError::Storage { .. } => "ERR_STORAGE",
            FirekeepError::Firestore { .. } => "ERR_FIRESTORE",
            FirekeepError::KeyProvider { .. } => "ERR_KEY_PROVIDER",
            FirekeepError::AuthorizationDenied { .. } => "ERR_AUTHORIZATION_DENIED",
            FirekeepError::Audit { .. } => "ERR_AUDIT",
            FirekeepError::Cancelled { .. } => "ERR_CANCELLED",
            FirekeepError::Io { .. } => "ERR_IO",
            FirekeepError::Callback { .. } => "ERR_CALLBACK",
            FirekeepError::Panic { .. } => "ERR_PANIC",
        }
    }
}

impl From<CoreError> for FirekeepError {
    fn from(e: CoreError) -> Self {
        let message = e.to_string();
        match e {
            CoreError::InvalidInput(_) => FirekeepError::InvalidInput { message },
            CoreError::InvalidConfig(_) => FirekeepError::InvalidConfig { message },
            CoreError::KeyMismatch { expected, actual } => FirekeepError::KeyMismatch {
                expected,
                actual,
                message,
            },
            CoreError::Integrity { object, detail } => FirekeepError::Integrity {
                object,
                detail,
                message,
            },
            CoreError::NotFound(_) => FirekeepError::NotFound { message },
            CoreError::AlreadyExists(_) => FirekeepError::AlreadyExists { message },
            CoreError::PermissionDenied(_) | CoreError::Storage(_) => {
                FirekeepError::Storage { message }
            }
            CoreError::Firestore { code, .. } => FirekeepError::Firestore { code, message },
            CoreError::KeyProvider(_) => FirekeepError::KeyProvider { message },
            CoreError::AuthorizationDenied(_) => FirekeepError::AuthorizationDenied { message },
            CoreError::Audit(_) => FirekeepError::Audit { message },
            CoreError::Cancelled => FirekeepError::Cancelled { message },
            CoreError::Io { .. } => FirekeepError::Io { message },
            // The core's enum is non-exhaustive: a new kind still arrives with its message.
            _ => FirekeepError::InvalidInput { message },
        }
    }
}

/// A foreign callback that threw something uniffi could not map (Swift `Error`, Kotlin
/// exception of another type).
impl From<uniffi::UnexpectedUniFFICallbackError> for FirekeepError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        FirekeepError::Callback {
            message: format!("a callback failed: {}", e.reason),
        }
    }
}

type Result<T, E = FirekeepError> = std::result::Result<T, E>;

fn invalid(message: impl Into<String>) -> FirekeepError {
    FirekeepError::InvalidInput {
        message: message.into(),
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> FirekeepError {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    FirekeepError::Panic {
        message: format!("firekeep panicked (a bug; please report it): {what}"),
    }
}

/// Runs `f`, turning a panic into [`FirekeepError::Panic`].
fn guard<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| Err(panic_message(p)))
}

/// Awaits `fut`, turning a panic into [`FirekeepError::Panic`].
async fn guard_async<T>(fut: impl Future<Output = Result<T>>) -> Result<T> {
    AssertUnwindSafe(fut)
        .catch_unwind()
        .await
        .unwrap_or_else(|p| Err(panic_message(p)))
}

// ---------------------------------------------------------------------------------------
// The object format

/// Options of one encrypted object; every field has a default.
#[derive(Clone, Debug, uniffi::Record)]
pub struct ObjectOptions {
    /// Recorded in the (authenticated, not secret) header.
    #[uniffi(default = "standalone")]
    pub backup_id: String,
    /// Recorded in the header; a copy under another name fails to decrypt.
    #[uniffi(default = "object")]
    pub object_name: String,
    /// Ciphertext segment size, 4 KiB ..= 8 MiB (default 1 MiB).
    #[uniffi(default = 1048576)]
    pub segment_size: u32,
}

impl Default for ObjectOptions {
    fn default() -> Self {
        ObjectOptions {
            backup_id: "standalone".into(),
            object_name: "object".into(),
            segment_size: format::DEFAULT_SEGMENT_SIZE,
        }
    }
}

fn data_key(key: Vec<u8>) -> Result<SecretBytes> {
    let key = SecretBytes::new(key);
    if key.len() != format::DATA_KEY_LEN {
        return Err(invalid(format!(
            "a data key is exactly {} bytes; got {} (use generateDataKey())",
            format::DATA_KEY_LEN,
            key.len()
        )));
    }
    Ok(key)
}

fn header_for(dek: &SecretBytes, options: Option<ObjectOptions>) -> Result<ObjectHeader> {
    let o = options.unwrap_or_default();
    let (lo, hi) = (format::MIN_SEGMENT_SIZE, format::MAX_SEGMENT_SIZE);
    if !(lo..=hi).contains(&o.segment_size) {
        return Err(invalid(format!(
            "segment_size {} is out of range; use {lo} ..= {hi} bytes (default {})",
            o.segment_size,
            format::DEFAULT_SEGMENT_SIZE
        )));
    }
    let mut h = ObjectHeader::new(dek, &o.backup_id, &o.object_name);
    h.segment_size = o.segment_size;
    Ok(h)
}

/// A fresh random 32-byte data key. Keep it secret; wrap it with a [`KeyProvider`].
#[uniffi::export]
pub fn generate_data_key() -> Vec<u8> {
    keys::random_data_key().expose().to_vec()
}

/// The non-secret id of a data key, as recorded in the headers of objects it encrypts.
#[uniffi::export]
pub fn data_key_id(key: Vec<u8>) -> Result<String> {
    guard(|| Ok(format::data_key_id(&data_key(key)?)))
}

/// Threads for `encrypt`/`decrypt` of a whole object: the core splits its segments into
/// runs (an object of a few segments stays on the calling thread). Mobile devices have
/// more cores than this, but a backup tool should not take them all.
const WHOLE_OBJECT_THREADS: usize = 2;

/// Encrypts `plaintext` into one object (firekeep header ‖ Tink AesGcmHkdfStreaming body).
#[uniffi::export]
pub fn encrypt(
    key: Vec<u8>,
    plaintext: Vec<u8>,
    options: Option<ObjectOptions>,
) -> Result<Vec<u8>> {
    guard(|| {
        let dek = data_key(key)?;
        let header = header_for(&dek, options)?;
        let mut out = vec![0; format::sealed_len(&header, plaintext.len())?];
        format::seal_into(&dek, &header, &plaintext, &mut out, WHOLE_OBJECT_THREADS)?;
        Ok(out)
    })
}

/// Decrypts a whole object. A different key fails with `KeyMismatch`; any changed,
/// truncated or extended byte with `Integrity`.
#[uniffi::export]
pub fn decrypt(key: Vec<u8>, object: Vec<u8>) -> Result<Vec<u8>> {
    guard(|| {
        let dek = data_key(key)?;
        let mut out = vec![0; format::opened_len_for(&dek, &object)?];
        format::open_into(&dek, &object, &mut out, WHOLE_OBJECT_THREADS)?;
        Ok(out)
    })
}

/// The header fields of an object (not secret; needs no key).
#[derive(Clone, Debug, uniffi::Record)]
pub struct ObjectInfo {
    /// Id of the data key the object is encrypted with.
    pub key_id: String,
    /// Backup id recorded in the header.
    pub backup_id: String,
    /// Object name recorded in the header.
    pub object_name: String,
    /// Ciphertext segment size.
    pub segment_size: u32,
}

/// Reads an object's header (its first bytes suffice: at most 64 KiB).
#[uniffi::export]
pub fn object_info(object: Vec<u8>) -> Result<ObjectInfo> {
    guard(|| {
        let (h, _) = format::read_header(&object)?;
        Ok(ObjectInfo {
            key_id: h.key_id,
            backup_id: h.backup_id,
            object_name: h.object_name,
            segment_size: h.segment_size,
        })
    })
}

/// Where streaming encryption/decryption reads from (implemented in Swift/Kotlin).
#[uniffi::export(callback_interface)]
pub trait ByteSource: Send + Sync {
    /// Up to `max_len` more bytes; an empty result means the end of the input.
    fn read(&self, max_len: u32) -> Result<Vec<u8>>;
}

/// Where streaming encryption/decryption writes to (implemented in Swift/Kotlin).
#[uniffi::export(callback_interface)]
pub trait ByteSink: Send + Sync {
    /// Takes the next bytes of output, in order.
    fn write(&self, data: Vec<u8>) -> Result<()>;
}

/// Read size of the streaming calls: one call per MiB keeps the callback overhead small.
const STREAM_CHUNK: u32 = 1 << 20;

/// Encrypts everything `source` yields into `sink`, one segment in memory at a time.
/// Returns the object's length in bytes.
#[uniffi::export]
pub fn encrypt_stream(
    key: Vec<u8>,
    source: Box<dyn ByteSource>,
    sink: Box<dyn ByteSink>,
    options: Option<ObjectOptions>,
) -> Result<u64> {
    guard(|| {
        let dek = data_key(key)?;
        let header = header_for(&dek, options)?;
        let mut enc = format::Encryptor::new(&dek, &header)?;
        // The emit callback returns core errors; keep the sink's own error to return it.
        let mut sink_err: Option<FirekeepError> = None;
        let mut emit = |b: &[u8]| -> firekeep_core::Result<()> {
            sink.write(b.to_vec()).map_err(|e| {
                let msg = e.to_string();
                sink_err = Some(e);
                CoreError::InvalidInput(msg)
            })
        };
        loop {
            let chunk = source.read(STREAM_CHUNK)?;
            if chunk.is_empty() {
                break;
            }
            if let Err(e) = enc.update(&chunk, &mut emit) {
                return Err(sink_err.take().unwrap_or_else(|| e.into()));
            }
        }
        match enc.finish(&mut emit) {
            Ok(n) => Ok(n),
            Err(e) => Err(sink_err.take().unwrap_or_else(|| e.into())),
        }
    })
}

/// Decrypts an object `source` yields into `sink`. Only verified plaintext reaches the
/// sink; a truncated object fails with `Integrity` at the end. Returns the plaintext
/// length.
#[uniffi::export]
pub fn decrypt_stream(
    key: Vec<u8>,
    source: Box<dyn ByteSource>,
    sink: Box<dyn ByteSink>,
) -> Result<u64> {
    guard(|| {
        let dek = data_key(key)?;
        let mut dec = format::Decryptor::new(format::Backend::DEFAULT, &dek);
        let mut total = 0u64;
        let mut sink_err: Option<FirekeepError> = None;
        let mut emit = |b: &[u8]| -> firekeep_core::Result<()> {
            total += b.len() as u64;
            sink.write(b.to_vec()).map_err(|e| {
                let msg = e.to_string();
                sink_err = Some(e);
                CoreError::InvalidInput(msg)
            })
        };
        loop {
            let chunk = source.read(STREAM_CHUNK)?;
            if chunk.is_empty() {
                break;
            }
            if let Err(e) = dec.update(&chunk, &mut emit) {
                return Err(sink_err.take().unwrap_or_else(|| e.into()));
            }
        }
        let last = match dec.finish()? {
            Some(n) => dec.plaintext()[..n].to_vec(),
            None if dec.is_done() => Vec::new(),
            None => {
                return Err(CoreError::integrity(
                    "object",
                    "the object ends before its last segment: it was truncated",
                )
                .into());
            }
        };
        if !last.is_empty() {
            emit(&last).map_err(|e| sink_err.take().unwrap_or_else(|| e.into()))?;
        }
        Ok(total)
    })
}

fn io_err(context: String) -> impl FnOnce(std::io::Error) -> FirekeepError {
    move |e| CoreError::io(context, e).into()
}

/// Encrypts the file at `input` into a new file at `output` (streaming). Returns the
/// output's length. A partial output is removed on failure.
#[uniffi::export]
pub fn encrypt_file(
    key: Vec<u8>,
    input: String,
    output: String,
    options: Option<ObjectOptions>,
) -> Result<u64> {
    guard(|| {
        let dek = data_key(key)?;
        let header = header_for(&dek, options)?;
        let run = || -> Result<u64> {
            let mut src =
                std::fs::File::open(&input).map_err(io_err(format!("opening {input}")))?;
            let dst =
                std::fs::File::create(&output).map_err(io_err(format!("creating {output}")))?;
            let mut w = format::EncryptingWriter::new(&dek, &header, std::io::BufWriter::new(dst))?;
            std::io::copy(&mut src, &mut w).map_err(io_err(format!("encrypting {input}")))?;
            let mut inner = w.finish()?;
            inner.flush().map_err(io_err(format!("writing {output}")))?;
            let f = inner.into_inner().map_err(|e| {
                FirekeepError::from(CoreError::io(format!("writing {output}"), e.into_error()))
            })?;
            f.sync_all().map_err(io_err(format!("syncing {output}")))?;
            Ok(f.metadata()
                .map_err(io_err(format!("reading {output}")))?
                .len())
        };
        run().inspect_err(|_| {
            let _ = std::fs::remove_file(&output);
        })
    })
}

/// Decrypts the object file at `input` into a new file at `output` (streaming, verified
/// segment by segment). Returns the plaintext length. A partial output is removed on
/// failure, so no unverified plaintext is left behind.
#[uniffi::export]
pub fn decrypt_file(key: Vec<u8>, input: String, output: String) -> Result<u64> {
    guard(|| {
        let dek = data_key(key)?;
        let run = || -> Result<u64> {
            let src = std::fs::File::open(&input).map_err(io_err(format!("opening {input}")))?;
            let mut r = format::DecryptingReader::new(&dek, std::io::BufReader::new(src))?;
            let dst =
                std::fs::File::create(&output).map_err(io_err(format!("creating {output}")))?;
            let mut w = std::io::BufWriter::new(dst);
            let mut total = 0u64;
            while let Some(seg) = r.next_segment()? {
                w.write_all(seg)
                    .map_err(io_err(format!("writing {output}")))?;
                total += seg.len() as u64;
            }
            w.flush().map_err(io_err(format!("writing {output}")))?;
            Ok(total)
        };
        run().inspect_err(|_| {
            let _ = std::fs::remove_file(&output);
        })
    })
}

// ---------------------------------------------------------------------------------------
// Keys

/// A key provider: wraps each backup's data key. Built from a passphrase or a raw key.
#[derive(Debug, uniffi::Object)]
pub struct KeyProvider {
    inner: Arc<dyn CoreKeyProvider>,
}

/// A fresh random raw key as base64 text (what `openssl rand -base64 32` prints). Store
/// it somewhere safe: without it no backup made with it can be read.
#[uniffi::export]
pub fn generate_raw_key() -> Result<String> {
    guard(|| Ok(RawKey::generate()?.to_base64().expose().to_string()))
}

#[uniffi::export(async_runtime = "tokio")]
impl KeyProvider {
    /// A passphrase key (PBKDF2-HMAC-SHA256; `iterations` default 600,000, at least
    /// 100,000; passphrases of at least 12 characters).
    #[uniffi::constructor(default(iterations = None))]
    pub fn passphrase(passphrase: String, iterations: Option<u32>) -> Result<Arc<Self>> {
        guard(|| {
            let secret = SecretString::new(passphrase);
            let key = match iterations {
                None => PassphraseKey::new(secret)?,
                Some(n) => PassphraseKey::with_iterations(secret, n)?,
            };
            Ok(Arc::new(KeyProvider {
                inner: Arc::new(key),
            }))
        })
    }

    /// A raw 32-byte key given as base64 text.
    #[uniffi::constructor]
    pub fn raw_base64(key: String) -> Result<Arc<Self>> {
        guard(|| {
            let k = RawKey::from_secret_base64(&SecretString::new(key))?;
            Ok(Arc::new(KeyProvider { inner: Arc::new(k) }))
        })
    }

    /// A raw key given as its 32 bytes.
    #[uniffi::constructor]
    pub fn raw_bytes(key: Vec<u8>) -> Result<Arc<Self>> {
        guard(|| {
            let key = SecretBytes::new(key);
            let k = RawKey::from_bytes(key.expose())?;
            Ok(Arc::new(KeyProvider { inner: Arc::new(k) }))
        })
    }

    /// `passphrase` or `raw`.
    pub fn kind(&self) -> String {
        self.inner.kind().to_string()
    }

    /// The non-secret key id recorded with every backup made with this key.
    pub fn key_id(&self) -> String {
        self.inner.key_id().to_string()
    }

    /// Wraps a data key for `backup_id`; the result (JSON) is not secret.
    pub async fn wrap_data_key(&self, data_key: Vec<u8>, backup_id: String) -> Result<String> {
        guard_async(async {
            let dek = self::data_key(data_key)?;
            let w = self.inner.wrap(&dek, &KeyContext { backup_id }).await?;
            serde_json::to_string(&w).map_err(|e| invalid(format!("wrapped key: {e}")))
        })
        .await
    }

    /// Unwraps a data key wrapped by [`KeyProvider::wrap_data_key`] for the same
    /// `backup_id`. Another key fails with `KeyMismatch`.
    pub async fn unwrap_data_key(&self, wrapped: String, backup_id: String) -> Result<Vec<u8>> {
        guard_async(async {
            let w: WrappedKey = serde_json::from_str(&wrapped)
                .map_err(|e| invalid(format!("not a wrapped key (JSON from wrapDataKey): {e}")))?;
            let dek = self.inner.unwrap(&w, &KeyContext { backup_id }).await?;
            Ok(dek.expose().to_vec())
        })
        .await
    }
}

// ---------------------------------------------------------------------------------------
// Policy

/// Who asks.
#[derive(Clone, Debug, uniffi::Record)]
pub struct PrincipalSpec {
    /// The organization the principal acts in.
    pub organization: String,
    /// `user:ID`, `user:EMAIL` (a member found by e-mail) or `apikey:ID`.
    pub principal: String,
    /// Whether the principal signed in with a second factor.
    #[uniffi(default = false)]
    pub mfa: bool,
}

/// What the action is on. Leave fields empty for the organization as a whole.
#[derive(Clone, Debug, uniffi::Record)]
pub struct ResourceSpec {
    /// The organization that owns the resource.
    pub organization: String,
    /// The project (Firestore project id).
    #[uniffi(default = None)]
    pub project: Option<String>,
    /// The Firestore database id.
    #[uniffi(default = None)]
    pub database: Option<String>,
    /// Top-level collections concerned; empty means the whole database.
    #[uniffi(default = [])]
    pub collections: Vec<String>,
    /// A backup id, for actions on one backup.
    #[uniffi(default = None)]
    pub backup_id: Option<String>,
}

/// A policy decision.
#[derive(Clone, Debug, uniffi::Record)]
pub struct Decision {
    /// The action asked for (`create_backup` ...).
    pub action: String,
    /// Whether it is allowed.
    pub allowed: bool,
    /// The rule that allowed it, or why it was denied (what to do about it).
    pub reason: String,
}

/// An RBAC policy (members, roles, API keys), evaluated offline.
#[derive(Debug, uniffi::Object)]
pub struct Policy {
    inner: CorePolicy,
}

fn resource(spec: &ResourceSpec) -> Resource {
    let mut r = Resource::organization(&spec.organization);
    if let Some(p) = &spec.project {
        r = r.in_project(p);
    }
    if let Some(d) = &spec.database {
        r = r.in_database(d);
    }
    if !spec.collections.is_empty() {
        r = r.with_collections(spec.collections.clone());
    }
    if let Some(b) = &spec.backup_id {
        r = r.backup(b);
    }
    r
}

fn principal(org: &str, raw: &str, policy: Option<&CorePolicy>) -> Result<Principal> {
    Principal::parse(org, raw, policy).map_err(|e| match e {
        CoreError::InvalidInput(msg) => invalid(msg),
        other => other.into(),
    })
}

fn parse_policy(text: &str) -> Result<CorePolicy> {
    Ok(if text.trim_start().starts_with('{') {
        CorePolicy::from_json(text)?
    } else {
        CorePolicy::from_toml(text)?
    })
}

#[uniffi::export]
impl Policy {
    /// A policy from TOML or JSON text (the format of `firekeep` policy files).
    #[uniffi::constructor]
    pub fn parse(text: String) -> Result<Arc<Self>> {
        guard(|| {
            Ok(Arc::new(Policy {
                inner: parse_policy(&text)?,
            }))
        })
    }

    /// A policy from a `.toml` or `.json` file.
    #[uniffi::constructor]
    pub fn from_file(path: String) -> Result<Arc<Self>> {
        guard(|| {
            Ok(Arc::new(Policy {
                inner: CorePolicy::from_file(std::path::Path::new(&path))?,
            }))
        })
    }

    /// Decides whether `principal` may perform `action` (`create_backup`,
    /// `restore_backup` ...) on `resource` now. Deny by default.
    pub fn evaluate(
        &self,
        principal: PrincipalSpec,
        action: String,
        resource: ResourceSpec,
    ) -> Result<Decision> {
        guard(|| {
            let action = Action::from_str(&action)?;
            let who = self::principal(
                &principal.organization,
                &principal.principal,
                Some(&self.inner),
            )?;
            let ctx = RequestContext {
                mfa: principal.mfa,
                ..RequestContext::default()
            };
            let d = self
                .inner
                .evaluate(&who, action, &self::resource(&resource), &ctx);
            Ok(Decision {
                action: d.action.as_str().to_string(),
                allowed: d.allowed,
                reason: d.reason.to_string(),
            })
        })
    }

    /// Every action `principal` may perform on `resource` now.
    pub fn allowed_actions(
        &self,
        principal: PrincipalSpec,
        resource: ResourceSpec,
    ) -> Result<Vec<String>> {
        guard(|| {
            let who = self::principal(
                &principal.organization,
                &principal.principal,
                Some(&self.inner),
            )?;
            let ctx = RequestContext {
                mfa: principal.mfa,
                ..RequestContext::default()
            };
            let now = firekeep_core::model::Timestamp::now();
            let set = self
                .inner
                .effective_actions(&who, &self::resource(&resource), &ctx, now);
            Ok(set.iter().map(|a| a.as_str().to_string()).collect())
        })
    }
}

/// Every action name a policy knows, for pickers in admin apps.
#[uniffi::export]
pub fn policy_actions() -> Vec<String> {
    Action::ALL.iter().map(|a| a.as_str().to_string()).collect()
}

// ---------------------------------------------------------------------------------------
// Audit

/// The end of a verified audit chain.
#[derive(Clone, Debug, uniffi::Record)]
pub struct AuditHead {
    /// Number of events ever appended.
    pub position: u64,
    /// Hash of the newest event; record it elsewhere to detect deletion of the newest events.
    pub hash: String,
}

/// Verifies the hash chain of a JSONL audit file. A broken chain fails with `Audit`,
/// naming the first bad event.
#[uniffi::export]
pub fn audit_verify_file(path: String) -> Result<AuditHead> {
    guard(|| {
        let trail = read_jsonl(std::path::Path::new(&path))?;
        let head = trail
            .verify()
            .map_err(|e| FirekeepError::from(CoreError::Audit(e.to_string())))?;
        Ok(AuditHead {
            position: head.position,
            hash: head.hash,
        })
    })
}

/// Verifies the hash chain of a JSON array of audit events (as `Client.auditEventsJson`
/// returns).
#[uniffi::export]
pub fn audit_verify_events(events_json: String) -> Result<AuditHead> {
    guard(|| {
        let events: Vec<AuditEvent> = serde_json::from_str(&events_json)
            .map_err(|e| invalid(format!("not a JSON array of audit events: {e}")))?;
        let head = verify_chain(&events, None)
            .map_err(|e| FirekeepError::from(CoreError::Audit(e.to_string())))?;
        Ok(AuditHead {
            position: head.position,
            hash: head.hash,
        })
    })
}

// ---------------------------------------------------------------------------------------
// Cancellation and progress

/// Cancels a running operation from any thread; it then fails with `Cancelled` and a
/// backup leaves no manifest. Cancelling the awaiting Swift `Task` / Kotlin coroutine
/// (dropping the future) has the same effect.
#[derive(Debug, Default, uniffi::Object)]
pub struct CancellationToken {
    inner: CoreToken,
}

#[uniffi::export]
impl CancellationToken {
    /// A token that is not cancelled.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Asks the operation to stop at its next check point.
    pub fn cancel(&self) {
        self.inner.cancel();
    }

    /// Whether `cancel()` was called.
    pub fn is_cancelled(&self) -> bool {
        self.inner.is_cancelled()
    }
}

/// One progress report.
#[derive(Clone, Debug, uniffi::Record)]
pub struct Progress {
    /// `preparing`, `backup`, `verify`, `restore`, `finishing`, `done` ...
    pub phase: String,
    /// Documents so far.
    pub documents: u64,
    /// Total documents, when known.
    pub total_documents: Option<u64>,
    /// Bytes so far.
    pub bytes: u64,
    /// Parts so far.
    pub parts: u64,
    /// Total parts, when known.
    pub total_parts: Option<u64>,
    /// Seconds since the start.
    pub elapsed_seconds: f64,
    /// Documents per second.
    pub docs_per_sec: f64,
    /// Bytes per second.
    pub bytes_per_sec: f64,
    /// Estimated seconds left, when known.
    pub eta_seconds: Option<f64>,
}

/// Receives progress reports (implemented in Swift/Kotlin). Called from a background
/// thread; keep it quick.
#[uniffi::export(callback_interface)]
pub trait ProgressListener: Send + Sync {
    /// One report.
    fn on_progress(&self, progress: Progress);
}

fn progress_fn(listener: Option<Box<dyn ProgressListener>>) -> Option<ProgressFn> {
    let listener = listener?;
    Some(Arc::new(move |e: &ProgressEvent| {
        let p = Progress {
            phase: format!("{:?}", e.phase).to_lowercase(),
            documents: e.documents,
            total_documents: e.total_documents,
            bytes: e.bytes,
            parts: e.parts,
            total_parts: e.total_parts,
            elapsed_seconds: e.elapsed.as_secs_f64(),
            docs_per_sec: e.docs_per_sec,
            bytes_per_sec: e.bytes_per_sec,
            eta_seconds: e.eta.map(|d| d.as_secs_f64()),
        };
        // A failing listener must not fail (or unwind through) the operation.
        let _ = catch_unwind(AssertUnwindSafe(|| listener.on_progress(p)));
    }))
}

/// Cancels its token when dropped armed: a dropped (cancelled) foreign future stops the
/// engine's work instead of letting it run on unobserved.
struct DropCancel(Option<CoreToken>);

impl Drop for DropCancel {
    fn drop(&mut self) {
        if let Some(t) = self.0.take() {
            t.cancel();
        }
    }
}

/// Runs an operation with a token that the caller's token and a dropped future both
/// cancel.
async fn cancellable<T, F, Fut>(cancel: Option<Arc<CancellationToken>>, f: F) -> Result<T>
where
    F: FnOnce(CoreToken) -> Fut,
    Fut: Future<Output = firekeep_core::Result<T>>,
{
    let token = cancel.map(|c| c.inner.clone()).unwrap_or_default();
    let mut armed = DropCancel(Some(token.clone()));
    let out = guard_async(async { Ok(f(token).await?) }).await;
    armed.0 = None;
    out
}

// ---------------------------------------------------------------------------------------
// Client

/// Where a Firestore database is.
#[derive(Clone, Debug, uniffi::Record)]
pub struct FirestoreConfig {
    /// The Google Cloud project id.
    pub project: String,
    /// The database id.
    #[uniffi(default = "(default)")]
    pub database: String,
    /// `host:port` of an emulator or test server (plaintext, token "owner").
    #[uniffi(default = None)]
    pub emulator_host: Option<String>,
    /// A service-account JSON file; else application default credentials.
    #[uniffi(default = None)]
    pub credentials_file: Option<String>,
}

async fn connect(cfg: FirestoreConfig) -> firekeep_core::Result<Arc<FirestoreConnector>> {
    let db = DatabaseId::new(&cfg.project, &cfg.database)?;
    let config = if let Some(host) = cfg.emulator_host {
        ConnectorConfig::emulator(db, host)
    } else if let Some(file) = cfg.credentials_file {
        ConnectorConfig::new(db, Credentials::ServiceAccountFile(PathBuf::from(file)))
    } else {
        ConnectorConfig::from_env(&cfg.project, &cfg.database)?
    };
    Ok(Arc::new(FirestoreConnector::connect(config).await?))
}

/// How a client is set up.
#[derive(Clone, Debug, uniffi::Record)]
pub struct ClientConfig {
    /// A local directory holding the backups (created if missing).
    pub repository: String,
    /// The organization the principal acts in.
    #[uniffi(default = "default")]
    pub organization: String,
    /// `user:ID`, `user:EMAIL` or `apikey:ID`. Without a policy the principal is the
    /// organization's only owner.
    #[uniffi(default = "user:local")]
    pub principal: String,
    /// A policy (TOML or JSON text) deciding what the principal may do.
    #[uniffi(default = None)]
    pub policy: Option<String>,
    /// A JSONL audit file to append to; else events are kept in memory.
    #[uniffi(default = None)]
    pub audit_file: Option<String>,
}

/// What to back up.
#[derive(Clone, Debug, uniffi::Record)]
pub struct BackupOptions {
    /// Top-level collections; empty means the whole database.
    #[uniffi(default = [])]
    pub collections: Vec<String>,
    /// Whether the collections' subcollections are included.
    #[uniffi(default = true)]
    pub subcollections: bool,
    /// Labels recorded in the manifest.
    pub labels: HashMap<String, String>,
}

/// What to do with a document that already exists in the target.
#[derive(Clone, Copy, Debug, uniffi::Enum)]
pub enum ConflictMode {
    /// Replace it.
    Overwrite,
    /// Keep it; count it as skipped.
    SkipExisting,
    /// Count it as failed.
    FailIfExists,
}

/// What and how to restore.
#[derive(Clone, Debug, uniffi::Record)]
pub struct RestoreOptions {
    /// Top-level collections; empty means everything in the backup.
    #[uniffi(default = [])]
    pub collections: Vec<String>,
    /// Whether the collections' subcollections are included.
    #[uniffi(default = true)]
    pub subcollections: bool,
    /// Conflict mode.
    pub conflict: ConflictMode,
    /// Count what would be written without writing.
    #[uniffi(default = false)]
    pub dry_run: bool,
}

/// The outcome of a backup.
#[derive(Clone, Debug, uniffi::Record)]
pub struct BackupReport {
    /// The new backup's id.
    pub backup_id: String,
    /// The consistent snapshot time (RFC 3339).
    pub read_time: String,
    /// Documents backed up.
    pub documents: u64,
    /// Uncompressed JSON bytes.
    pub bytes: u64,
    /// Bytes stored (compressed, encrypted).
    pub stored_bytes: u64,
    /// Parts written.
    pub parts: u64,
    /// Id of the key wrapping the backup's data key.
    pub key_id: String,
    /// The full report as JSON (per-collection totals, timings).
    pub json: String,
}

/// The outcome of a verify.
#[derive(Clone, Debug, uniffi::Record)]
pub struct VerifyReport {
    /// The backup.
    pub backup_id: String,
    /// Parts in the manifest.
    pub parts: u64,
    /// Parts that passed every check.
    pub parts_ok: u64,
    /// Documents counted.
    pub documents: u64,
    /// The full report as JSON.
    pub json: String,
}

/// The outcome of a restore.
#[derive(Clone, Debug, uniffi::Record)]
pub struct RestoreReport {
    /// The backup.
    pub backup_id: String,
    /// Documents in scope.
    pub documents: u64,
    /// Documents written.
    pub written: u64,
    /// Documents skipped (existing, with `SkipExisting`).
    pub skipped: u64,
    /// Documents that failed.
    pub failed: u64,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// The full report as JSON (with each failure's name and reason).
    pub json: String,
}

/// One complete backup in the repository.
#[derive(Clone, Debug, uniffi::Record)]
pub struct BackupSummary {
    /// The backup id.
    pub id: String,
    /// When it was taken (RFC 3339).
    pub created_at: String,
    /// Its snapshot time (RFC 3339).
    pub read_time: String,
    /// Source project.
    pub project: String,
    /// Source database.
    pub database: String,
    /// Documents.
    pub documents: u64,
    /// Bytes stored.
    pub stored_bytes: u64,
    /// Id of the key wrapping its data key.
    pub key_id: String,
}

/// A complete backup `list` could not open with the client's key.
#[derive(Clone, Debug, uniffi::Record)]
pub struct UnreadableBackup {
    /// The backup id.
    pub id: String,
    /// When it was taken (RFC 3339), from the id.
    pub created_at: Option<String>,
    /// The error code, e.g. `ERR_KEY_MISMATCH`.
    pub code: String,
    /// What went wrong, naming the key id it needs where that is the problem.
    pub message: String,
}

/// What `list` found.
#[derive(Clone, Debug, uniffi::Record)]
pub struct BackupList {
    /// Complete backups the client's key opens, newest first.
    pub backups: Vec<BackupSummary>,
    /// Complete backups it cannot open, newest first.
    pub unreadable: Vec<UnreadableBackup>,
    /// Backups the repository's head record names that are missing now or no longer
    /// authenticate (deleted outside firekeep, or a rollback), newest first.
    pub missing: Vec<String>,
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

fn scope(collections: Vec<String>, subcollections: bool) -> Scope {
    if collections.is_empty() {
        Scope::database()
    } else {
        Scope::collections(collections, subcollections)
    }
}

/// Authorized, audited access to one backup repository: every call is checked against
/// the policy and recorded in the audit trail (success, failure and denial alike).
#[derive(uniffi::Object)]
pub struct Client {
    inner: CoreClient,
    memory: Option<Arc<MemoryAuditSink>>,
    audit_file: Option<PathBuf>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl Client {
    /// A client on `config.repository` whose backups' data keys `key` wraps.
    #[uniffi::constructor]
    pub fn new(config: ClientConfig, key: Arc<KeyProvider>) -> Result<Arc<Self>> {
        guard(|| {
            let path = PathBuf::from(&config.repository);
            if config.repository.is_empty() {
                return Err(invalid("the repository is empty; give a directory path"));
            }
            std::fs::create_dir_all(&path)
                .map_err(io_err(format!("creating repository {}", path.display())))?;
            let storage = Arc::new(LocalStorage::new(&path)?);
            // The session from the builder every front end shares (audit sink, policy as
            // JSON/TOML text, principal or local owner).
            let options = SessionOptions {
                organization: config.organization.clone(),
                principal: Some(config.principal.clone()),
                policy: config.policy.clone().map(PolicySource::Text),
                audit: match &config.audit_file {
                    Some(f) => AuditChoice::File(PathBuf::from(f)),
                    None => AuditChoice::Memory,
                },
                principal_hint: "set ClientConfig.principal to \"user:EMAIL\"".into(),
                ..SessionOptions::default()
            };
            let (session, audit) = options.build().map_err(|e| match e {
                CoreError::InvalidInput(msg) => invalid(msg),
                other => other.into(),
            })?;
            let memory = match audit {
                AuditHandle::Memory(m) => Some(m),
                _ => None,
            };
            Ok(Arc::new(Client {
                inner: CoreClient::new(session, Repository::new(storage), key.inner.clone()),
                memory,
                audit_file: config.audit_file.map(PathBuf::from),
            }))
        })
    }

    /// Backs up `source` (permission: create backups on that database).
    #[uniffi::method(default(progress = None, cancel = None))]
    pub async fn backup(
        &self,
        source: FirestoreConfig,
        options: BackupOptions,
        progress: Option<Box<dyn ProgressListener>>,
        cancel: Option<Arc<CancellationToken>>,
    ) -> Result<BackupReport> {
        let opts = CoreBackupOptions {
            scope: scope(options.collections, options.subcollections),
            labels: options.labels.into_iter().collect(),
            ..CoreBackupOptions::default()
        };
        let progress = progress_fn(progress);
        let r = cancellable(cancel, |t| async move {
            let conn = connect(source).await?;
            self.inner.backup(conn, &opts, progress, &t).await
        })
        .await?;
        Ok(BackupReport {
            backup_id: r.backup_id.clone(),
            read_time: r.read_time.to_rfc3339(),
            documents: r.documents,
            bytes: r.bytes,
            stored_bytes: r.stored_bytes,
            parts: r.parts as u64,
            key_id: r.key_id.clone(),
            json: to_json(&r),
        })
    }

    /// Checks every part of a backup without touching Firestore (permission: verify
    /// backups). Bad or missing parts fail with `Integrity` naming them.
    #[uniffi::method(default(progress = None, cancel = None))]
    pub async fn verify(
        &self,
        backup_id: String,
        progress: Option<Box<dyn ProgressListener>>,
        cancel: Option<Arc<CancellationToken>>,
    ) -> Result<VerifyReport> {
        let progress = progress_fn(progress);
        let r = cancellable(cancel, |t| async move {
            self.inner.verify(&backup_id, progress, &t).await
        })
        .await?;
        Ok(VerifyReport {
            backup_id: r.backup_id.clone(),
            parts: r.parts as u64,
            parts_ok: r.parts_ok as u64,
            documents: r.documents,
            json: to_json(&r),
        })
    }

    /// Restores a backup into `target` (permission: restore backups).
    #[uniffi::method(default(progress = None, cancel = None))]
    pub async fn restore(
        &self,
        backup_id: String,
        target: FirestoreConfig,
        options: RestoreOptions,
        progress: Option<Box<dyn ProgressListener>>,
        cancel: Option<Arc<CancellationToken>>,
    ) -> Result<RestoreReport> {
        let opts = CoreRestoreOptions {
            scope: scope(options.collections, options.subcollections),
            conflict: match options.conflict {
                ConflictMode::Overwrite => CoreConflict::Overwrite,
                ConflictMode::SkipExisting => CoreConflict::SkipExisting,
                ConflictMode::FailIfExists => CoreConflict::FailIfExists,
            },
            dry_run: options.dry_run,
            ..CoreRestoreOptions::default()
        };
        let progress = progress_fn(progress);
        let r = cancellable(cancel, |t| async move {
            let conn = connect(target).await?;
            self.inner
                .restore(&backup_id, conn, &opts, progress, &t)
                .await
        })
        .await?;
        Ok(RestoreReport {
            backup_id: r.backup_id.clone(),
            documents: r.documents,
            written: r.written,
            skipped: r.skipped,
            failed: r.failed.len() as u64,
            dry_run: r.dry_run,
            json: to_json(&r),
        })
    }

    /// Complete backups, newest first (permission: view backups), and those this client's
    /// key cannot open (made under another key, refused by the KMS, damaged).
    pub async fn list(&self) -> Result<BackupList> {
        let list = cancellable(None, |_| self.inner.list()).await?;
        let missing = list.rollback.missing.clone();
        let unreadable = list
            .unreadable
            .iter()
            .map(|u| UnreadableBackup {
                id: u.id.clone(),
                created_at: u.created_at.map(|t| t.to_rfc3339()),
                code: u.code.clone(),
                message: u.message.clone(),
            })
            .collect();
        let backups = list
            .into_iter()
            .map(|b| BackupSummary {
                id: b.id,
                created_at: b.created_at.to_rfc3339(),
                read_time: b.read_time.to_rfc3339(),
                project: b.project,
                database: b.database,
                documents: b.documents,
                stored_bytes: b.stored_bytes,
                key_id: b.key_id,
            })
            .collect();
        Ok(BackupList {
            backups,
            unreadable,
            missing,
        })
    }

    /// The audit events recorded so far, as a JSON array (verify it with
    /// `auditVerifyEvents`).
    pub fn audit_events_json(&self) -> Result<String> {
        guard(|| {
            let events = match (&self.memory, &self.audit_file) {
                (Some(m), _) => m.events(),
                (None, Some(p)) => read_jsonl(p)?.events,
                (None, None) => Vec::new(),
            };
            Ok(to_json(&events))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_panic_error() {
        let r: Result<()> = guard(|| panic!("boom {}", 42));
        match r {
            Err(FirekeepError::Panic { message }) => {
                assert!(message.contains("boom 42"), "{message}")
            }
            other => panic!("expected Panic, got {other:?}"),
        }
    }

    #[test]
    fn an_async_panic_becomes_a_panic_error() {
        let r: Result<()> = futures::executor::block_on(guard_async(async { panic!("late") }));
        assert!(matches!(r, Err(FirekeepError::Panic { ref message }) if message.contains("late")));
    }

    #[test]
    fn core_errors_keep_their_kind_and_fields() {
        let e = FirekeepError::from(CoreError::KeyMismatch {
            expected: "a".into(),
            actual: "b".into(),
        });
        assert_eq!(e.code(), "ERR_KEY_MISMATCH");
        assert!(matches!(e, FirekeepError::KeyMismatch { ref expected, .. } if expected == "a"));
        assert_eq!(
            FirekeepError::from(CoreError::Cancelled).code(),
            "ERR_CANCELLED"
        );
    }

    #[test]
    fn dropping_an_operation_cancels_its_token() {
        let token = CancellationToken::new();
        let fut = cancellable(Some(token.clone()), |_| {
            futures::future::pending::<firekeep_core::Result<()>>()
        });
        drop(Box::pin(fut));
        // Never polled: nothing armed yet, so the token stays as it was.
        assert!(!token.is_cancelled());
        let mut fut = Box::pin(cancellable(Some(token.clone()), |_| {
            futures::future::pending::<firekeep_core::Result<()>>()
        }));
        assert!(futures::FutureExt::now_or_never(&mut fut).is_none());
        drop(fut);
        assert!(token.is_cancelled());
    }
}
