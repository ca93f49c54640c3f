//! How to reach a Firestore database: endpoint, credentials, retry and write-rate settings.

use firekeep_core::model::DatabaseId;
use firekeep_core::secret::SecretString;
use firekeep_core::{Error, Result};
use std::path::PathBuf;
use std::time::Duration;

/// The production endpoint (TLS).
pub const DEFAULT_ENDPOINT: &str = "https://firestore.googleapis.com";

/// Default [`ConnectorConfig::list_page_size`]: large enough that the server's own cap
/// decides, below the `i32::MAX` Firestore rejects.
pub const DEFAULT_LIST_PAGE_SIZE: i32 = 65_535;

/// Where the connector gets its bearer token.
#[derive(Clone, Debug)]
pub enum Credentials {
    /// The emulator convention: plaintext gRPC and the token "owner".
    Emulator,
    /// A service-account key JSON file (as downloaded from IAM).
    ServiceAccountFile(PathBuf),
    /// Application Default Credentials: `GOOGLE_APPLICATION_CREDENTIALS`, else gcloud's
    /// `~/.config/gcloud/application_default_credentials.json`.
    ApplicationDefault,
    /// The GCE / Cloud Run / GKE metadata server.
    MetadataServer,
    /// A ready OAuth access token (not refreshed).
    AccessToken(SecretString),
}

impl Credentials {
    /// The credentials Google's client libraries would use: `GOOGLE_APPLICATION_CREDENTIALS`
    /// (a key file), else gcloud's ADC file, else the metadata server.
    pub fn from_env() -> Credentials {
        if let Some(path) = env_nonempty("GOOGLE_APPLICATION_CREDENTIALS") {
            Credentials::ServiceAccountFile(PathBuf::from(path))
        } else if gcloud_adc_path().is_some_and(|p| p.exists()) {
            Credentials::ApplicationDefault
        } else {
            Credentials::MetadataServer
        }
    }
}

/// Retry policy for transient gRPC failures: exponential backoff with full jitter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryConfig {
    /// Attempts per call, the first included (at least 1).
    pub max_attempts: u32,
    /// Backoff ceiling before the first retry; doubles each retry.
    pub initial_backoff: Duration,
    /// Largest backoff ceiling.
    pub max_backoff: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_attempts: 8,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// Everything [`crate::FirestoreConnector::connect`] needs.
#[derive(Clone, Debug)]
pub struct ConnectorConfig {
    /// Project and database (`(default)` or a named database).
    pub database: DatabaseId,
    /// Where the bearer token comes from.
    pub credentials: Credentials,
    /// gRPC endpoint. `None`: [`DEFAULT_ENDPOINT`], or for [`Credentials::Emulator`] the
    /// `FIRESTORE_EMULATOR_HOST` variable. `host:port` without a scheme means plaintext for
    /// the emulator and TLS otherwise.
    pub endpoint: Option<String>,
    /// Retry policy for transient failures.
    pub retry: RetryConfig,
    /// Page size asked of ListDocuments and ListCollectionIds. Firestore caps pages itself
    /// (at 300 today) and rejects `i32::MAX`, so the default asks for 65,535 and lets the
    /// server choose, as Google's clients do. Queries are not paged: each query or
    /// partition is one streamed RunQuery.
    pub list_page_size: i32,
    /// The 500/50/5 write ramp-up. `None`: on, except for emulator connections.
    pub ramp_up: Option<bool>,
    /// Deadline for one unary call; for a streamed query, the longest wait for its next
    /// response (the stream itself may run for as long as it keeps delivering).
    pub call_timeout: Duration,
}

impl ConnectorConfig {
    /// A configuration with default settings.
    pub fn new(database: DatabaseId, credentials: Credentials) -> Self {
        ConnectorConfig {
            database,
            credentials,
            endpoint: None,
            retry: RetryConfig::default(),
            list_page_size: DEFAULT_LIST_PAGE_SIZE,
            ramp_up: None,
            call_timeout: Duration::from_secs(300),
        }
    }

    /// An emulator connection to `host:port` (plaintext, token "owner").
    pub fn emulator(database: DatabaseId, host: impl Into<String>) -> Self {
        ConnectorConfig {
            endpoint: Some(host.into()),
            ..ConnectorConfig::new(database, Credentials::Emulator)
        }
    }

    /// Chooses credentials the way Google's client libraries do: `FIRESTORE_EMULATOR_HOST`
    /// (emulator), else `GOOGLE_APPLICATION_CREDENTIALS` (a key file), else gcloud's ADC
    /// file, else the metadata server.
    pub fn from_env(project: &str, database: &str) -> Result<Self> {
        let db = DatabaseId::new(project, database)?;
        if let Some(host) = env_nonempty("FIRESTORE_EMULATOR_HOST") {
            return Ok(ConnectorConfig::emulator(db, host));
        }
        Ok(ConnectorConfig::new(db, Credentials::from_env()))
    }

    /// The endpoint URI to dial, with scheme.
    pub(crate) fn resolved_endpoint(&self) -> Result<String> {
        let emulator = matches!(self.credentials, Credentials::Emulator);
        let raw = match (&self.endpoint, emulator) {
            (Some(e), _) => e.clone(),
            (None, true) => env_nonempty("FIRESTORE_EMULATOR_HOST").ok_or_else(|| {
                Error::InvalidConfig(
                    "emulator credentials chosen but no endpoint given and FIRESTORE_EMULATOR_HOST \
                     is not set; set it to host:port of the emulator"
                        .into(),
                )
            })?,
            (None, false) => DEFAULT_ENDPOINT.to_string(),
        };
        if raw.contains("://") {
            return Ok(raw);
        }
        Ok(if emulator {
            format!("http://{raw}")
        } else {
            format!("https://{raw}")
        })
    }
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// gcloud's Application Default Credentials file.
pub(crate) fn gcloud_adc_path() -> Option<PathBuf> {
    if let Some(dir) = env_nonempty("CLOUDSDK_CONFIG") {
        return Some(PathBuf::from(dir).join("application_default_credentials.json"));
    }
    let home = env_nonempty("HOME")?;
    Some(PathBuf::from(home).join(".config/gcloud/application_default_credentials.json"))
}
