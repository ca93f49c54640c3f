//! firekeep's [`StorageSink`] on the [`object_store`] crate: Amazon S3 and S3-compatible
//! stores (DigitalOcean Spaces, MinIO, Cloudflare R2, ...), Google Cloud Storage, Azure Blob
//! Storage and the local filesystem.
//!
//! ```no_run
//! # async fn demo() -> firekeep_core::Result<()> {
//! use firekeep_object_store::{ObjectStoreOptions, ObjectStoreSink};
//! let mut opts = ObjectStoreOptions::default();
//! opts.set("endpoint", "https://nyc3.digitaloceanspaces.com")?;
//! opts.set("region", "us-east-1")?;
//! let sink = ObjectStoreSink::from_url("s3://my-space/firekeep", opts)?;
//! # Ok(()) }
//! ```
//!
//! Credentials come from the providers' usual environment variables (`AWS_*`, `GOOGLE_*`,
//! `AZURE_*`) or from options; they never appear in `Debug` output, errors or
//! [`StorageSink::describe`]. Every request is retried with exponential backoff on throttling,
//! 5xx answers and connection errors (object_store's `RetryConfig`). See `docs/storage.md`.
#![warn(missing_docs)]

use async_trait::async_trait;
use bytes::Bytes;
use firekeep_core::model::Timestamp;
use firekeep_core::secret::SecretString;
use firekeep_core::storage::{
    MultipartUpload, ObjectHoldAnswer, ObjectHoldMode, ObjectLegalHold, ObjectMeta, StorageSink,
};
use firekeep_core::{Error, Result};
use futures::stream::{BoxStream, StreamExt};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey, Checksum, S3ConditionalPut};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::{Path, PathPart};
use object_store::{
    Attribute, Attributes, BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutMode,
    PutMultipartOptions, PutOptions, RetryConfig, WriteMultipart,
};
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

mod client;
mod legal_hold;
mod repository;
pub use client::{OpenClientOptions, open_client};
pub use repository::{RepositoryLocation, open_repository};

/// Default multipart part size: 8 MiB (S3 needs at least 5 MiB for all but the last part).
pub const DEFAULT_PART_SIZE: usize = 8 * 1024 * 1024;
/// Default number of parts uploaded at once. Memory per upload stays below
/// `part_size * (max_concurrent_parts + 1)`.
pub const DEFAULT_MAX_CONCURRENT_PARTS: usize = 4;

/// S3 Object Lock retention mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectLockMode {
    /// Users with `s3:BypassGovernanceRetention` can still delete early.
    Governance,
    /// Nobody, not even the root account, can delete before the retention date.
    Compliance,
}

impl ObjectLockMode {
    fn header_value(self) -> &'static str {
        match self {
            ObjectLockMode::Governance => "GOVERNANCE",
            ObjectLockMode::Compliance => "COMPLIANCE",
        }
    }
}

/// S3 Object Lock (WORM) retention applied to every object firekeep writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObjectLock {
    /// Retention mode.
    pub mode: ObjectLockMode,
    /// Retention period in days, counted from when the sink is opened.
    pub days: u32,
}

/// Settings for [`ObjectStoreSink::from_url`]. Everything is optional; unset values come from
/// the environment (`AWS_*`, `GOOGLE_*`, `AZURE_*`) or the provider's defaults.
///
/// String keys accepted by [`ObjectStoreOptions::set`] (the CLI's `--storage-opt key=value`):
/// `endpoint`, `region`, `virtual_hosted_style` (bool), `allow_http` (bool),
/// `access_key_id`, `secret_access_key`, `session_token`, `storage_class`, `sse_kms_key_id`,
/// `object_lock_mode` (`governance`/`compliance`), `object_lock_days`, `object_legal_hold`
/// (`auto`/`required`/`off`), `conditional_put`
/// (bool), `part_size` (bytes), `max_concurrent_parts`, `max_retries`, `retry_timeout_secs`,
/// `request_timeout_secs`; any other key is passed to object_store as a provider config key
/// (e.g. `google_service_account`, `azure_storage_account_name`, `aws_skip_signature`).
#[derive(Clone, Default)]
pub struct ObjectStoreOptions {
    /// Custom endpoint (S3-compatible services, MinIO, moto; Azure emulator).
    pub endpoint: Option<String>,
    /// Region (S3). S3-compatible services often want `us-east-1` or `auto` (R2).
    pub region: Option<String>,
    /// S3 virtual-hosted-style requests (`bucket.endpoint`) instead of path-style
    /// (`endpoint/bucket`). Unset: object_store's default (path-style with a custom endpoint).
    pub virtual_hosted_style: Option<bool>,
    /// Allow plain `http://` endpoints. Off unless asked for: credentials would travel in clear.
    pub allow_http: bool,
    /// Access key id (S3); otherwise `AWS_ACCESS_KEY_ID` or the provider chain.
    pub access_key_id: Option<String>,
    /// Secret access key (S3); otherwise `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: Option<SecretString>,
    /// Session token (S3); otherwise `AWS_SESSION_TOKEN`.
    pub session_token: Option<SecretString>,
    /// Storage class for new objects (S3: `STANDARD_IA`, `GLACIER_IR`, ...; GCS: `NEARLINE`, ...).
    pub storage_class: Option<String>,
    /// Encrypt objects server-side with this AWS KMS key (SSE-KMS), in addition to
    /// firekeep's own client-side encryption.
    pub sse_kms_key_id: Option<String>,
    /// S3 Object Lock retention for every object written (the bucket must have Object Lock
    /// enabled).
    pub object_lock: Option<ObjectLock>,
    /// Whether a legal hold on a backup also sets S3 Object Lock legal holds on its objects
    /// (unset: [`ObjectHoldMode::Auto`], where the bucket supports it). S3 only.
    pub object_legal_hold: Option<ObjectHoldMode>,
    /// Set to `Some(false)` for S3-compatible stores without `If-None-Match: *` support;
    /// put-if-absent then checks and writes in two steps (not atomic; see docs/storage.md).
    pub conditional_put: Option<bool>,
    /// Multipart part size in bytes (default [`DEFAULT_PART_SIZE`]; at least 5 MiB on S3).
    pub part_size: Option<usize>,
    /// Parts uploaded concurrently (default [`DEFAULT_MAX_CONCURRENT_PARTS`]).
    pub max_concurrent_parts: Option<usize>,
    /// Retries per request on throttling, 5xx and connection errors (default 10).
    pub max_retries: Option<usize>,
    /// Give up retrying a request after this long (default 3 minutes).
    pub retry_timeout: Option<Duration>,
    /// Timeout of one HTTP request (default 30 s, object_store's).
    pub request_timeout: Option<Duration>,
    /// Other object_store provider config keys (`aws_…`, `google_…`, `azure_…`). Values are
    /// treated as secrets: never printed.
    pub extra: BTreeMap<String, SecretString>,
}

impl fmt::Debug for ObjectStoreOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStoreOptions")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("virtual_hosted_style", &self.virtual_hosted_style)
            .field("allow_http", &self.allow_http)
            .field(
                "access_key_id",
                &self.access_key_id.as_ref().map(|_| "[set]"),
            )
            .field("secret_access_key", &self.secret_access_key)
            .field("session_token", &self.session_token)
            .field("storage_class", &self.storage_class)
            .field("sse_kms_key_id", &self.sse_kms_key_id)
            .field("object_lock", &self.object_lock)
            .field("object_legal_hold", &self.object_legal_hold)
            .field("conditional_put", &self.conditional_put)
            .field("part_size", &self.part_size)
            .field("max_concurrent_parts", &self.max_concurrent_parts)
            .field("max_retries", &self.max_retries)
            .field("retry_timeout", &self.retry_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("extra", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn parse_bool(key: &str, v: &str) -> Result<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(Error::InvalidConfig(format!(
            "storage option {key} must be true or false, not {v:?}"
        ))),
    }
}

fn parse_num<T: FromStr>(key: &str, v: &str) -> Result<T> {
    v.trim().parse().map_err(|_| {
        Error::InvalidConfig(format!(
            "storage option {key} must be a whole number, not {v:?}"
        ))
    })
}

impl ObjectStoreOptions {
    /// Sets one option from its string form (see the type's documentation for the keys).
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let v = value.to_string();
        match key {
            "endpoint" => self.endpoint = Some(v),
            "region" => self.region = Some(v),
            "virtual_hosted_style" => self.virtual_hosted_style = Some(parse_bool(key, value)?),
            "path_style" => self.virtual_hosted_style = Some(!parse_bool(key, value)?),
            "allow_http" => self.allow_http = parse_bool(key, value)?,
            "access_key_id" => self.access_key_id = Some(v),
            "secret_access_key" => self.secret_access_key = Some(SecretString::from(v)),
            "session_token" => self.session_token = Some(SecretString::from(v)),
            "storage_class" => self.storage_class = Some(v),
            "sse_kms_key_id" => self.sse_kms_key_id = Some(v),
            "object_lock_mode" => {
                let mode = match value.trim().to_ascii_lowercase().as_str() {
                    "governance" => ObjectLockMode::Governance,
                    "compliance" => ObjectLockMode::Compliance,
                    _ => {
                        return Err(Error::InvalidConfig(format!(
                            "object_lock_mode must be governance or compliance, not {value:?}"
                        )));
                    }
                };
                let days = self.object_lock.map(|l| l.days).unwrap_or(0);
                self.object_lock = Some(ObjectLock { mode, days });
            }
            "object_lock_days" => {
                let days = parse_num(key, value)?;
                let mode = self
                    .object_lock
                    .map(|l| l.mode)
                    .unwrap_or(ObjectLockMode::Governance);
                self.object_lock = Some(ObjectLock { mode, days });
            }
            "object_legal_hold" => {
                self.object_legal_hold = Some(match value.trim().to_ascii_lowercase().as_str() {
                    "auto" => ObjectHoldMode::Auto,
                    "required" => ObjectHoldMode::Required,
                    "off" => ObjectHoldMode::Off,
                    _ => {
                        return Err(Error::InvalidConfig(format!(
                            "object_legal_hold must be auto, required or off, not {value:?}"
                        )));
                    }
                })
            }
            "conditional_put" => self.conditional_put = Some(parse_bool(key, value)?),
            "part_size" => self.part_size = Some(parse_num(key, value)?),
            "max_concurrent_parts" => self.max_concurrent_parts = Some(parse_num(key, value)?),
            "max_retries" => self.max_retries = Some(parse_num(key, value)?),
            "retry_timeout_secs" => {
                self.retry_timeout = Some(Duration::from_secs(parse_num(key, value)?))
            }
            "request_timeout_secs" => {
                self.request_timeout = Some(Duration::from_secs(parse_num(key, value)?))
            }
            other => {
                self.extra
                    .insert(other.to_string(), SecretString::from(value));
            }
        }
        Ok(())
    }

    fn retry_config(&self) -> RetryConfig {
        let d = RetryConfig::default();
        RetryConfig {
            backoff: BackoffConfig::default(),
            max_retries: self.max_retries.unwrap_or(d.max_retries),
            retry_timeout: self.retry_timeout.unwrap_or(d.retry_timeout),
        }
    }

    fn client_options(&self) -> ClientOptions {
        let mut c = ClientOptions::new().with_allow_http(self.allow_http);
        if let Some(t) = self.request_timeout {
            c = c.with_timeout(t);
        }
        c
    }

    fn s3_only(&self, scheme: &str) -> Result<()> {
        let s3_only = [
            ("endpoint", self.endpoint.is_some() && scheme != "az"),
            ("region", self.region.is_some()),
            ("virtual_hosted_style", self.virtual_hosted_style.is_some()),
            ("access_key_id", self.access_key_id.is_some()),
            ("secret_access_key", self.secret_access_key.is_some()),
            ("session_token", self.session_token.is_some()),
            ("sse_kms_key_id", self.sse_kms_key_id.is_some()),
            ("object_lock_*", self.object_lock.is_some()),
            ("object_legal_hold", self.object_legal_hold.is_some()),
        ];
        if let Some((name, _)) = s3_only.iter().find(|(_, set)| *set) {
            return Err(Error::InvalidConfig(format!(
                "storage option {name} applies to s3:// URLs only, not {scheme}://; remove it"
            )));
        }
        Ok(())
    }
}

/// A [`StorageSink`] on any `object_store` backend, rooted at a prefix.
pub struct ObjectStoreSink {
    store: Arc<dyn ObjectStore>,
    /// Key prefix without leading or trailing `/` (may be empty).
    prefix: String,
    description: String,
    attributes: Attributes,
    part_size: usize,
    max_concurrent_parts: usize,
    conditional_put: bool,
    /// Percent-encode path segments (the local filesystem backend decodes `%xx` in names).
    encode_segments: bool,
    /// S3 only: how to send Object Lock legal-hold requests.
    legal_hold: Option<legal_hold::S3LegalHold>,
}

impl fmt::Debug for ObjectStoreSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStoreSink")
            .field("location", &self.description)
            .field("part_size", &self.part_size)
            .field("max_concurrent_parts", &self.max_concurrent_parts)
            .field("conditional_put", &self.conditional_put)
            .finish_non_exhaustive()
    }
}

/// firekeep's own option keys, valid for every URL scheme they apply to.
const FIREKEEP_KEYS: &str = "endpoint, region, path_style, virtual_hosted_style, allow_http, \
     access_key_id, secret_access_key, session_token, storage_class, sse_kms_key_id, \
     object_lock_mode, object_lock_days, object_legal_hold, conditional_put, part_size, \
     max_concurrent_parts, max_retries, retry_timeout_secs, request_timeout_secs";

/// The provider keys users set most, named in the error for an unknown key (object_store
/// accepts a few more aliases; each name here is checked to parse by a unit test).
const GOOGLE_KEYS: &[&str] = &[
    "google_service_account",
    "google_service_account_key",
    "google_application_credentials",
    "google_base_url",
    "google_bearer_token",
    "google_skip_signature",
];
const S3_KEYS: &[&str] = &[
    "aws_skip_signature",
    "aws_imdsv1_fallback",
    "aws_unsigned_payload",
    "aws_checksum_algorithm",
    "aws_container_credentials_relative_uri",
    "aws_s3_express",
    "aws_request_payer",
];
const AZURE_KEYS: &[&str] = &[
    "azure_storage_account_name",
    "azure_storage_account_key",
    "azure_storage_sas_key",
    "azure_storage_token",
    "azure_storage_client_id",
    "azure_storage_client_secret",
    "azure_storage_tenant_id",
    "azure_storage_use_emulator",
    "azure_storage_endpoint",
    "azure_use_azure_cli",
    "azure_federated_token_file",
    "azure_msi_endpoint",
    "azure_skip_signature",
];

/// The error for an option key the provider does not know, naming the valid ones.
fn unknown_key(provider: &str, key: &str, valid: &[&str]) -> Error {
    Error::InvalidConfig(format!(
        "unknown {provider} storage option {key:?}; valid options are {FIREKEEP_KEYS} \
         (where they apply) and {}; see docs/storage.md",
        valid.join(", ")
    ))
}

fn config_err(what: &str, e: object_store::Error) -> Error {
    Error::InvalidConfig(format!("{what}: {}", redact(&e.to_string())))
}

impl ObjectStoreSink {
    /// Opens the store named by `url`: `s3://bucket/prefix`, `gs://bucket/prefix`,
    /// `az://container/prefix` (account from `AZURE_STORAGE_ACCOUNT_NAME` or the
    /// `azure_storage_account_name` option), `file:///absolute/path` (created if missing) or
    /// `memory:///` (for tests).
    pub fn from_url(url: &str, options: ObjectStoreOptions) -> Result<Self> {
        let parsed = url::Url::parse(url).map_err(|e| {
            Error::InvalidConfig(format!(
                "storage URL {:?} is not a URL ({e}); use s3://bucket/prefix, gs://bucket/prefix, \
                 az://container/prefix or file:///path",
                redact(url)
            ))
        })?;
        let scheme = parsed.scheme().to_ascii_lowercase();
        let bucket = parsed.host_str().unwrap_or("").to_string();
        let prefix = percent_encoding::percent_decode_str(parsed.path())
            .decode_utf8_lossy()
            .trim_matches('/')
            .to_string();
        let part_size = options.part_size.unwrap_or(DEFAULT_PART_SIZE);
        let max_concurrent_parts = options
            .max_concurrent_parts
            .unwrap_or(DEFAULT_MAX_CONCURRENT_PARTS)
            .max(1);
        if part_size == 0 {
            return Err(Error::InvalidConfig("part_size must be positive".into()));
        }
        let mut attributes = Attributes::new();
        if let Some(class) = &options.storage_class {
            attributes.insert(Attribute::StorageClass, class.clone().into());
        }
        let need_bucket = || {
            if bucket.is_empty() {
                Err(Error::InvalidConfig(format!(
                    "storage URL {:?} names no bucket or container; use {scheme}://NAME/prefix",
                    redact(url)
                )))
            } else {
                Ok(())
            }
        };
        let mut encode_segments = false;
        let mut conditional_put = true;
        let mut legal_hold = None;
        let (store, description): (Arc<dyn ObjectStore>, String) = match scheme.as_str() {
            "s3" | "s3a" => {
                need_bucket()?;
                if part_size < 5 * 1024 * 1024 {
                    return Err(Error::InvalidConfig(format!(
                        "part_size {part_size} is below S3's 5 MiB minimum; use at least 5242880"
                    )));
                }
                let mut b = AmazonS3Builder::from_env().with_bucket_name(&bucket);
                for (k, v) in &options.extra {
                    let key = AmazonS3ConfigKey::from_str(k)
                        .map_err(|_| unknown_key("S3", k, S3_KEYS))?;
                    b = b.with_config(key, v.expose());
                }
                if let Some(e) = &options.endpoint {
                    b = b.with_endpoint(e);
                }
                if let Some(r) = &options.region {
                    b = b.with_region(r);
                }
                if let Some(v) = options.virtual_hosted_style {
                    b = b.with_virtual_hosted_style_request(v);
                }
                if let Some(k) = &options.access_key_id {
                    b = b.with_access_key_id(k);
                }
                if let Some(s) = &options.secret_access_key {
                    b = b.with_secret_access_key(s.expose());
                }
                if let Some(t) = &options.session_token {
                    b = b.with_token(t.expose());
                }
                if let Some(k) = &options.sse_kms_key_id {
                    b = b.with_sse_kms_encryption(k);
                }
                conditional_put = options.conditional_put.unwrap_or(true);
                b = b.with_conditional_put(if conditional_put {
                    S3ConditionalPut::ETagMatch
                } else {
                    S3ConditionalPut::Disabled
                });
                let mut client = options.client_options();
                if let Some(lock) = options.object_lock {
                    if lock.days == 0 {
                        return Err(Error::InvalidConfig(
                            "object_lock_days must be at least 1".into(),
                        ));
                    }
                    // Object Lock needs a payload checksum on every write, and the retention
                    // headers must be signed: object_store signs its default headers.
                    b = b.with_checksum_algorithm(Checksum::SHA256);
                    let until = Timestamp::now()
                        .add_seconds(i64::from(lock.days) * 86_400)?
                        .to_rfc3339();
                    let mut headers = object_store::HeaderMap::new();
                    // S3 wants this (or Content-MD5) beside the checksum on locked uploads.
                    headers.insert(
                        "x-amz-sdk-checksum-algorithm",
                        object_store::HeaderValue::from_static("SHA256"),
                    );
                    headers.insert(
                        "x-amz-object-lock-mode",
                        object_store::HeaderValue::from_static(lock.mode.header_value()),
                    );
                    headers.insert(
                        "x-amz-object-lock-retain-until-date",
                        object_store::HeaderValue::from_str(&until)
                            .map_err(|e| Error::InvalidConfig(e.to_string()))?,
                    );
                    client = client.with_default_headers(headers);
                }
                let b = b
                    .with_allow_http(options.allow_http)
                    .with_client_options(client)
                    .with_retry(options.retry_config());
                // What the store resolves its requests with, for the legal-hold requests.
                let config = |k: AmazonS3ConfigKey| b.get_config_value(&k);
                let flag = |k: AmazonS3ConfigKey| config(k).is_some_and(|v| v == "true");
                let endpoint = config(AmazonS3ConfigKey::S3Endpoint)
                    .or_else(|| config(AmazonS3ConfigKey::Endpoint));
                let region =
                    config(AmazonS3ConfigKey::Region).unwrap_or_else(|| "us-east-1".into());
                let virtual_hosted = flag(AmazonS3ConfigKey::VirtualHostedStyleRequest);
                let skip_signature = flag(AmazonS3ConfigKey::SkipSignature);
                // S3 Express directory buckets have no Object Lock.
                let express = flag(AmazonS3ConfigKey::S3Express);
                let store = b
                    .build()
                    .map_err(|e| config_err("cannot configure S3 storage", e))?;
                let mut d = format!("s3://{bucket}/{prefix}");
                if let Some(e) = &options.endpoint {
                    d.push_str(&format!(" (endpoint {})", redact(e)));
                }
                if !express {
                    // The store's client options without the Object Lock retention headers
                    // (those belong on writes only).
                    use object_store::client::HttpConnector as _;
                    let http = object_store::client::ReqwestConnector::default()
                        .connect(&options.client_options())
                        .map_err(|e| config_err("cannot configure S3 storage", e))?;
                    legal_hold = Some(legal_hold::S3LegalHold {
                        mode: options.object_legal_hold.unwrap_or_default(),
                        http,
                        credentials: Arc::clone(store.credentials()),
                        bucket_endpoint: legal_hold::bucket_endpoint(
                            endpoint.as_deref(),
                            &bucket,
                            &region,
                            virtual_hosted,
                        ),
                        bucket: bucket.clone(),
                        region,
                        skip_signature,
                        max_tries: options.retry_config().max_retries.clamp(1, 10) + 1,
                        store: d.clone(),
                    });
                }
                (Arc::new(store), d)
            }
            "gs" | "gcs" => {
                need_bucket()?;
                options.s3_only("gs")?;
                let mut b = GoogleCloudStorageBuilder::from_env().with_bucket_name(&bucket);
                for (k, v) in &options.extra {
                    let key = GoogleConfigKey::from_str(k)
                        .map_err(|_| unknown_key("GCS", k, GOOGLE_KEYS))?;
                    b = b.with_config(key, v.expose());
                }
                let store = b
                    .with_client_options(options.client_options())
                    .with_retry(options.retry_config())
                    .build()
                    .map_err(|e| config_err("cannot configure Google Cloud Storage", e))?;
                (Arc::new(store), format!("gs://{bucket}/{prefix}"))
            }
            "az" | "azure" | "abfs" => {
                need_bucket()?;
                options.s3_only("az")?;
                if options.storage_class.is_some() {
                    return Err(Error::InvalidConfig(
                        "storage_class is not supported for Azure; set the access tier on the \
                         container instead"
                            .into(),
                    ));
                }
                let mut b = MicrosoftAzureBuilder::from_env().with_container_name(&bucket);
                for (k, v) in &options.extra {
                    let key = AzureConfigKey::from_str(k)
                        .map_err(|_| unknown_key("Azure", k, AZURE_KEYS))?;
                    b = b.with_config(key, v.expose());
                }
                if let Some(e) = &options.endpoint {
                    b = b.with_endpoint(e.clone());
                }
                let store = b
                    .with_allow_http(options.allow_http)
                    .with_client_options(options.client_options())
                    .with_retry(options.retry_config())
                    .build()
                    .map_err(|e| config_err("cannot configure Azure Blob Storage", e))?;
                (Arc::new(store), format!("az://{bucket}/{prefix}"))
            }
            "file" => {
                options.s3_only("file")?;
                let dir = parsed.to_file_path().map_err(|_| {
                    Error::InvalidConfig(format!(
                        "storage URL {url:?} is not an absolute file path; use file:///abs/path"
                    ))
                })?;
                std::fs::create_dir_all(&dir)
                    .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
                let store = LocalFileSystem::new_with_prefix(&dir)
                    .map_err(|e| config_err("cannot open the local directory", e))?
                    .with_fsync(true);
                encode_segments = true;
                let d = format!("file://{}", dir.display());
                return Ok(Self::build(
                    Arc::new(store),
                    "",
                    d,
                    attributes_for_local(),
                    part_size,
                    max_concurrent_parts,
                    true,
                    encode_segments,
                ));
            }
            "memory" => (Arc::new(InMemory::new()), format!("memory:///{prefix}")),
            other => {
                return Err(Error::InvalidConfig(format!(
                    "unsupported storage URL scheme {other}://; use s3://, gs://, az://, file:// \
                     or memory://"
                )));
            }
        };
        let mut sink = Self::build(
            store,
            &prefix,
            description,
            attributes,
            part_size,
            max_concurrent_parts,
            conditional_put,
            encode_segments,
        );
        sink.legal_hold = legal_hold;
        Ok(sink)
    }

    /// Wraps an already configured `object_store` backend. `description` must not contain
    /// credentials.
    pub fn new(store: Arc<dyn ObjectStore>, prefix: &str, description: impl Into<String>) -> Self {
        Self::build(
            store,
            prefix,
            description.into(),
            Attributes::new(),
            DEFAULT_PART_SIZE,
            DEFAULT_MAX_CONCURRENT_PARTS,
            true,
            false,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn build(
        store: Arc<dyn ObjectStore>,
        prefix: &str,
        description: String,
        attributes: Attributes,
        part_size: usize,
        max_concurrent_parts: usize,
        conditional_put: bool,
        encode_segments: bool,
    ) -> Self {
        ObjectStoreSink {
            store,
            prefix: prefix.trim_matches('/').to_string(),
            description,
            attributes,
            part_size,
            max_concurrent_parts,
            conditional_put,
            encode_segments,
            legal_hold: None,
        }
    }

    /// The multipart part size in bytes.
    pub fn part_size(&self) -> usize {
        self.part_size
    }

    /// The underlying `object_store` backend.
    pub fn inner(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    fn key(&self, path: &str) -> Result<Path> {
        if path.is_empty() || path.starts_with('/') || path.ends_with('/') {
            return Err(Error::InvalidInput(format!(
                "object path {path:?} must be relative, non-empty and not end with '/'"
            )));
        }
        let full = if self.prefix.is_empty() {
            path.to_string()
        } else {
            format!("{}/{path}", self.prefix)
        };
        if self.encode_segments {
            if full.split('/').any(|s| s.is_empty()) {
                return Err(Error::InvalidInput(format!(
                    "object path {path:?} has an empty segment ('//')"
                )));
            }
            return Ok(Path::from_iter(full.split('/').map(PathPart::from)));
        }
        Path::parse(&full).map_err(|e| {
            Error::InvalidInput(format!(
                "object path {path:?} is not a valid object name: {e}"
            ))
        })
    }

    fn map_err(&self, op: &str, path: &str, e: object_store::Error) -> Error {
        map_error(&self.description, op, path, e)
    }
}

fn relative_path(prefix: &str, encode_segments: bool, location: &Path) -> Option<String> {
    let raw = if encode_segments {
        location
            .parts()
            .map(|p| {
                percent_encoding::percent_decode_str(p.as_ref())
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect::<Vec<_>>()
            .join("/")
    } else {
        location.as_ref().to_string()
    };
    if prefix.is_empty() {
        return Some(raw);
    }
    raw.strip_prefix(prefix)?
        .strip_prefix('/')
        .map(str::to_string)
}

fn to_meta(prefix: &str, encode_segments: bool, m: object_store::ObjectMeta) -> Option<ObjectMeta> {
    Some(ObjectMeta {
        path: relative_path(prefix, encode_segments, &m.location)?,
        size: m.size,
        last_modified: Timestamp::from_unix_millis(m.last_modified.timestamp_millis()).ok(),
    })
}

fn attributes_for_local() -> Attributes {
    // The local filesystem backend rejects attributes it cannot store.
    Attributes::new()
}

fn map_error(store: &str, op: &str, path: &str, e: object_store::Error) -> Error {
    use object_store::Error as E;
    let detail = redact(&e.to_string());
    match e {
        E::NotFound { .. } => Error::NotFound(format!("{path} in {store}")),
        E::AlreadyExists { .. } | E::Precondition { .. } => {
            Error::AlreadyExists(format!("{path} in {store}"))
        }
        E::PermissionDenied { .. } | E::Unauthenticated { .. } => Error::PermissionDenied(format!(
            "{op} {path} in {store} was refused ({detail}); check the credentials (options or \
             AWS_*/GOOGLE_*/AZURE_* environment) and the bucket policy"
        )),
        // Listing reports HTTP failures as generic errors; the status is only in the text.
        E::Generic { .. }
            if detail.contains("status code: 403") || detail.contains("status code: 401") =>
        {
            Error::PermissionDenied(format!(
                "{op} {path} in {store} was refused ({detail}); check the credentials (options \
                 or AWS_*/GOOGLE_*/AZURE_* environment) and the bucket policy"
            ))
        }
        E::InvalidPath { .. } => Error::InvalidInput(format!("{op} {path}: {detail}")),
        E::NotImplemented { .. } | E::NotSupported { .. } => Error::Storage(format!(
            "{op} {path}: {store} does not support this ({detail})"
        )),
        _ => Error::Storage(format!(
            "{op} {path} in {store} failed after retries: {detail}; check the endpoint, network \
             and bucket"
        )),
    }
}

/// Removes URL query strings (presigned signatures, SAS tokens) and user-info from a message.
fn redact(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    while let Some(i) = rest.find("://") {
        let end = rest[i..]
            .find(|c: char| c.is_whitespace() || c == ')' || c == '"' || c == '\'')
            .map(|e| i + e)
            .unwrap_or(rest.len());
        out.push_str(&rest[..i + 3]);
        let mut url = &rest[i + 3..end];
        let authority_end = url.find(['/', '?']).unwrap_or(url.len());
        if let Some(at) = url[..authority_end].rfind('@') {
            out.push_str("[redacted]@");
            url = &url[at + 1..];
        }
        match url.find('?') {
            Some(q) => {
                out.push_str(&url[..q]);
                out.push_str("?[redacted]");
            }
            None => out.push_str(url),
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[async_trait]
impl ObjectLegalHold for ObjectStoreSink {
    fn mode(&self) -> ObjectHoldMode {
        self.legal_hold
            .as_ref()
            .map(|h| h.mode)
            .unwrap_or(ObjectHoldMode::Off)
    }

    async fn set_legal_hold(&self, path: &str, on: bool) -> Result<ObjectHoldAnswer> {
        let key = self.key(path)?;
        match &self.legal_hold {
            Some(h) => h.set(key.as_ref(), on).await,
            None => Ok(ObjectHoldAnswer::NotEnabled(format!(
                "{} has no per-object legal hold",
                self.description
            ))),
        }
    }

    async fn legal_hold(&self, path: &str) -> Result<ObjectHoldAnswer> {
        let key = self.key(path)?;
        match &self.legal_hold {
            Some(h) => h.get(key.as_ref()).await,
            None => Ok(ObjectHoldAnswer::NotEnabled(format!(
                "{} has no per-object legal hold",
                self.description
            ))),
        }
    }
}

#[async_trait]
impl StorageSink for ObjectStoreSink {
    fn object_legal_hold(&self) -> Option<&dyn ObjectLegalHold> {
        // Only S3 stores have it; the others answer `None` like the core's sinks.
        self.legal_hold
            .as_ref()
            .map(|_| self as &dyn ObjectLegalHold)
    }

    async fn put(&self, path: &str, data: Bytes) -> Result<()> {
        let key = self.key(path)?;
        let opts = PutOptions {
            mode: PutMode::Overwrite,
            attributes: self.attributes.clone(),
            ..Default::default()
        };
        self.store
            .put_opts(&key, data.into(), opts)
            .await
            .map(|_| ())
            .map_err(|e| self.map_err("writing", path, e))
    }

    async fn put_if_absent(&self, path: &str, data: Bytes) -> Result<()> {
        let key = self.key(path)?;
        if !self.conditional_put {
            // No atomic create on this store: check, then write (documented race window).
            match self.store.head(&key).await {
                Ok(_) => {
                    return Err(Error::AlreadyExists(format!(
                        "{path} in {}",
                        self.description
                    )));
                }
                Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(self.map_err("checking", path, e)),
            }
            return self.put(path, data).await;
        }
        let opts = PutOptions {
            mode: PutMode::Create,
            attributes: self.attributes.clone(),
            ..Default::default()
        };
        self.store
            .put_opts(&key, data.into(), opts)
            .await
            .map(|_| ())
            .map_err(|e| self.map_err("creating", path, e))
    }

    async fn put_multipart(&self, path: &str) -> Result<Box<dyn MultipartUpload>> {
        let key = self.key(path)?;
        let opts = PutMultipartOptions {
            attributes: self.attributes.clone(),
            ..Default::default()
        };
        let upload = self
            .store
            .put_multipart_opts(&key, opts)
            .await
            .map_err(|e| self.map_err("starting upload of", path, e))?;
        Ok(Box::new(Upload {
            writer: Some(WriteMultipart::new_with_chunk_size(upload, self.part_size)),
            max_concurrent_parts: self.max_concurrent_parts,
            written: 0,
            path: path.to_string(),
            store: self.description.clone(),
        }))
    }

    async fn get(&self, path: &str) -> Result<Bytes> {
        let key = self.key(path)?;
        let r = self
            .store
            .get(&key)
            .await
            .map_err(|e| self.map_err("reading", path, e))?;
        r.bytes()
            .await
            .map_err(|e| self.map_err("reading", path, e))
    }

    async fn get_range(&self, path: &str, range: Range<u64>) -> Result<Bytes> {
        if range.start > range.end {
            return Err(Error::InvalidInput(format!(
                "byte range {range:?} of {path} is reversed"
            )));
        }
        if range.start == range.end {
            // Zero-length reads are not valid HTTP ranges; answer them after a head.
            self.head(path).await?;
            return Ok(Bytes::new());
        }
        let key = self.key(path)?;
        self.store
            .get_range(&key, range)
            .await
            .map_err(|e| self.map_err("reading a range of", path, e))
    }

    async fn head(&self, path: &str) -> Result<ObjectMeta> {
        let key = self.key(path)?;
        let m = self
            .store
            .head(&key)
            .await
            .map_err(|e| self.map_err("inspecting", path, e))?;
        let last_modified = Timestamp::from_unix_millis(m.last_modified.timestamp_millis()).ok();
        Ok(ObjectMeta {
            path: path.to_string(),
            size: m.size,
            last_modified,
        })
    }

    fn list(&self, prefix: &str) -> BoxStream<'static, Result<ObjectMeta>> {
        // object_store lists whole "directories"; list the deepest one containing the prefix
        // and filter the rest by string prefix.
        let dir = match prefix.rfind('/') {
            Some(i) => &prefix[..i],
            None => "",
        };
        let full_dir = match (self.prefix.is_empty(), dir.is_empty()) {
            (true, _) => dir.to_string(),
            (false, true) => self.prefix.clone(),
            (false, false) => format!("{}/{dir}", self.prefix),
        };
        let dir_path = if full_dir.is_empty() {
            None
        } else if self.encode_segments {
            Some(Path::from_iter(full_dir.split('/').map(PathPart::from)))
        } else {
            match Path::parse(&full_dir) {
                Ok(p) => Some(p),
                Err(e) => {
                    let err = Error::InvalidInput(format!("list prefix {prefix:?}: {e}"));
                    return futures::stream::once(async move { Err(err) }).boxed();
                }
            }
        };
        let (root, encode, description) = (
            self.prefix.clone(),
            self.encode_segments,
            self.description.clone(),
        );
        let want = prefix.to_string();
        self.store
            .list(dir_path.as_ref())
            .filter_map(move |item| {
                let out = match item {
                    Ok(m) => to_meta(&root, encode, m)
                        .filter(|m| m.path.starts_with(&want))
                        .map(Ok),
                    // A missing directory lists as empty.
                    Err(object_store::Error::NotFound { .. }) => None,
                    Err(e) => Some(Err(map_error(&description, "listing", &want, e))),
                };
                futures::future::ready(out)
            })
            .boxed()
    }

    async fn delete(&self, path: &str) -> Result<()> {
        let key = self.key(path)?;
        match self.store.delete(&key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.map_err("deleting", path, e)),
        }
    }

    fn describe(&self) -> String {
        self.description.clone()
    }
}

/// A streaming upload: buffers at most one part plus `max_concurrent_parts` parts in flight.
struct Upload {
    writer: Option<WriteMultipart>,
    max_concurrent_parts: usize,
    written: u64,
    path: String,
    store: String,
}

impl Upload {
    fn err(&self, op: &str, e: object_store::Error) -> Error {
        map_error(&self.store, op, &self.path, e)
    }
}

#[async_trait]
impl MultipartUpload for Upload {
    async fn write(&mut self, data: Bytes) -> Result<()> {
        let n = data.len() as u64;
        let max = self.max_concurrent_parts;
        let Some(w) = self.writer.as_mut() else {
            return Err(Error::Storage(format!(
                "upload of {} already ended",
                self.path
            )));
        };
        // Wait for a free upload slot before buffering more: this is what bounds memory.
        if let Err(e) = w.wait_for_capacity(max).await {
            let w = self.writer.take();
            if let Some(w) = w {
                let _ = w.abort().await;
            }
            return Err(self.err("uploading", e));
        }
        w.put(data);
        self.written += n;
        Ok(())
    }

    async fn complete(mut self: Box<Self>) -> Result<u64> {
        let Some(w) = self.writer.take() else {
            return Err(Error::Storage(format!(
                "upload of {} already ended",
                self.path
            )));
        };
        // `finish` aborts the multipart upload itself when a part fails.
        w.finish()
            .await
            .map_err(|e| self.err("completing the upload of", e))?;
        Ok(self.written)
    }

    async fn abort(mut self: Box<Self>) -> Result<()> {
        match self.writer.take() {
            Some(w) => w
                .abort()
                .await
                .map_err(|e| self.err("aborting the upload of", e)),
            None => Ok(()),
        }
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        // Dropped mid-upload (error or cancellation): abort in the background so the store
        // does not keep the uploaded parts.
        if let Some(w) = self.writer.take()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            rt.spawn(async move {
                let _ = w.abort().await;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_named_provider_key_parses_and_unknown_ones_list_them() {
        use object_store::aws::AmazonS3ConfigKey;
        for k in super::S3_KEYS {
            AmazonS3ConfigKey::from_str(k).unwrap_or_else(|_| panic!("{k}"));
        }
        for k in super::GOOGLE_KEYS {
            GoogleConfigKey::from_str(k).unwrap_or_else(|_| panic!("{k}"));
        }
        for k in super::AZURE_KEYS {
            AzureConfigKey::from_str(k).unwrap_or_else(|_| panic!("{k}"));
        }
        // The spelling an earlier docs/storage.md gave: the error names the right one.
        let mut o = ObjectStoreOptions::default();
        o.set("azure_use_emulator", "true").unwrap();
        let err = ObjectStoreSink::from_url("az://c/p", o).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("\"azure_use_emulator\""), "{msg}");
        assert!(msg.contains("azure_storage_use_emulator"), "{msg}");
        assert!(msg.contains("part_size"), "{msg}");
    }

    use super::*;

    #[test]
    fn redact_strips_query_strings_and_userinfo() {
        let m = "error sending request for url (https://acct.blob.core.windows.net/c/x?sig=SECRET&se=1): timeout";
        let r = redact(m);
        assert!(!r.contains("SECRET"), "{r}");
        assert!(
            r.contains("https://acct.blob.core.windows.net/c/x?[redacted]"),
            "{r}"
        );
        assert!(!redact("s3://user:pw@host/b").contains("pw"));
        assert_eq!(redact("no urls here"), "no urls here");
    }

    #[test]
    fn options_parse_and_debug_hides_secrets() {
        let mut o = ObjectStoreOptions::default();
        o.set("secret_access_key", "very-secret-value").unwrap();
        o.set("aws_session_token", "another-secret").unwrap();
        o.set("object_lock_mode", "compliance").unwrap();
        o.set("object_lock_days", "30").unwrap();
        o.set("allow_http", "true").unwrap();
        let d = format!("{o:?}");
        assert!(
            !d.contains("very-secret-value") && !d.contains("another-secret"),
            "{d}"
        );
        assert_eq!(
            o.object_lock,
            Some(ObjectLock {
                mode: ObjectLockMode::Compliance,
                days: 30
            })
        );
        assert!(o.allow_http);
        assert!(matches!(
            o.set("part_size", "big"),
            Err(Error::InvalidConfig(_))
        ));
        assert!(matches!(
            o.set("allow_http", "maybe"),
            Err(Error::InvalidConfig(_))
        ));
    }

    #[test]
    fn bad_urls_and_options_are_config_errors() {
        let o = ObjectStoreOptions::default;
        assert!(matches!(
            ObjectStoreSink::from_url("ftp://x/y", o()),
            Err(Error::InvalidConfig(_))
        ));
        assert!(matches!(
            ObjectStoreSink::from_url("not a url", o()),
            Err(Error::InvalidConfig(_))
        ));
        assert!(matches!(
            ObjectStoreSink::from_url("s3:///prefix", o()),
            Err(Error::InvalidConfig(_))
        ));
        let mut small = o();
        small.part_size = Some(1024);
        assert!(matches!(
            ObjectStoreSink::from_url("s3://b/p", small),
            Err(Error::InvalidConfig(_))
        ));
        let mut region = o();
        region.region = Some("eu-west-1".into());
        assert!(matches!(
            ObjectStoreSink::from_url("gs://b/p", region),
            Err(Error::InvalidConfig(_))
        ));
        let mut unknown = o();
        unknown.set("no_such_option", "1").unwrap();
        assert!(matches!(
            ObjectStoreSink::from_url("s3://b/p", unknown),
            Err(Error::InvalidConfig(_))
        ));
    }

    #[test]
    fn object_legal_hold_option_and_capability() {
        let mut o = ObjectStoreOptions::default();
        assert!(matches!(
            o.set("object_legal_hold", "sometimes"),
            Err(Error::InvalidConfig(_))
        ));
        o.set("object_legal_hold", "Required").unwrap();
        assert_eq!(o.object_legal_hold, Some(ObjectHoldMode::Required));
        // S3 only: elsewhere it is an error rather than silently ignored.
        assert!(matches!(
            ObjectStoreSink::from_url("gs://b/p", o.clone()),
            Err(Error::InvalidConfig(_))
        ));
        let s3 = ObjectStoreSink::from_url("s3://b/p", o).unwrap();
        let cap = s3.object_legal_hold().expect("S3 has it");
        assert_eq!(cap.mode(), ObjectHoldMode::Required);
        let default = ObjectStoreSink::from_url("s3://b/p", ObjectStoreOptions::default()).unwrap();
        assert_eq!(
            default.object_legal_hold().unwrap().mode(),
            ObjectHoldMode::Auto
        );
        let memory = ObjectStoreSink::from_url("memory:///p", ObjectStoreOptions::default());
        assert!(memory.unwrap().object_legal_hold().is_none());
    }

    #[test]
    fn keys_join_prefix_and_reject_bad_paths() {
        let s =
            ObjectStoreSink::from_url("memory:///root/dir", ObjectStoreOptions::default()).unwrap();
        assert_eq!(s.key("a/b").unwrap().as_ref(), "root/dir/a/b");
        assert!(s.key("/a").is_err());
        assert!(s.key("a//b").is_err());
        assert!(s.key("").is_err());
        assert!(s.key("a/../b").is_err());
        assert_eq!(
            relative_path(&s.prefix, false, &Path::parse("root/dir/x/y").unwrap()).as_deref(),
            Some("x/y")
        );
        assert_eq!(
            relative_path(&s.prefix, false, &Path::parse("root/dirx/y").unwrap()),
            None
        );
        assert_eq!(s.describe(), "memory:///root/dir");
    }
}
