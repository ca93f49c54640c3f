//! Bearer tokens for Google API calls (Firestore here; Cloud KMS in firekeep-gcp-kms reuses
//! this module rather than keep a second copy of the credential chain). Key material and
//! tokens never reach an error message or a `Debug` output.

use crate::config::{Credentials, gcloud_adc_path};
use firekeep_core::{Error, Result};
use gcp_auth::TokenProvider;
use std::path::Path;
use std::sync::Arc;
use tonic::metadata::{Ascii, MetadataValue};

/// OAuth scope for Firestore data access.
pub const FIRESTORE_SCOPES: &[&str] = &["https://www.googleapis.com/auth/datastore"];

/// Produces the `authorization` header for each call.
#[derive(Clone)]
pub enum Auth {
    /// A fixed header (emulator "owner", or a caller-supplied access token).
    Static(MetadataValue<Ascii>),
    /// A refreshing token source (service account, ADC, metadata server).
    Provider {
        /// Issues and caches tokens.
        provider: Arc<dyn TokenProvider>,
        /// Where the credentials came from, for messages (never the credentials).
        source: String,
        /// OAuth scopes requested for every token.
        scopes: &'static [&'static str],
    },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Static(_) => f.write_str("Auth::Static(<redacted>)"),
            Auth::Provider { source, .. } => write!(f, "Auth::Provider({source})"),
        }
    }
}

fn bearer(token: &str) -> Result<MetadataValue<Ascii>> {
    let mut v: MetadataValue<Ascii> = format!("Bearer {token}").parse().map_err(|_| {
        Error::InvalidConfig(
            "the access token contains characters not allowed in an HTTP header; \
             pass the token exactly as issued"
                .into(),
        )
    })?;
    v.set_sensitive(true);
    Ok(v)
}

impl Auth {
    /// Resolves credentials and, for real ones, fetches a first token for `scopes` so that
    /// wrong credentials fail at connect time rather than mid-backup.
    pub async fn new(creds: &Credentials, scopes: &'static [&'static str]) -> Result<Auth> {
        let (provider, source): (Arc<dyn TokenProvider>, String) = match creds {
            Credentials::Emulator => return bearer("owner").map(Auth::Static),
            Credentials::AccessToken(t) => return bearer(t.expose()).map(Auth::Static),
            Credentials::ServiceAccountFile(path) => {
                let source = format!("service-account key file {}", path.display());
                (key_file_provider(path, &source).await?, source)
            }
            Credentials::ApplicationDefault => {
                if let Some(path) =
                    std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS").filter(|p| !p.is_empty())
                {
                    let path = Path::new(&path);
                    let source = format!(
                        "Application Default Credentials file {} (GOOGLE_APPLICATION_CREDENTIALS)",
                        path.display()
                    );
                    (key_file_provider(path, &source).await?, source)
                } else {
                    let path = gcloud_adc_path().ok_or_else(|| {
                        Error::InvalidConfig(
                            "Application Default Credentials: neither GOOGLE_APPLICATION_CREDENTIALS \
                             nor HOME is set; run `gcloud auth application-default login` or point \
                             GOOGLE_APPLICATION_CREDENTIALS at a service-account key file"
                                .into(),
                        )
                    })?;
                    let source =
                        format!("gcloud Application Default Credentials {}", path.display());
                    (key_file_provider(&path, &source).await?, source)
                }
            }
            Credentials::MetadataServer => {
                let source = "the metadata server (GCE, Cloud Run, GKE)".to_string();
                let p = gcp_auth::MetadataServiceAccount::new().await.map_err(|e| {
                    Error::InvalidConfig(format!(
                        "could not get credentials from {source}: {e}; outside Google Cloud, set \
                         GOOGLE_APPLICATION_CREDENTIALS to a service-account key file or run \
                         `gcloud auth application-default login`"
                    ))
                })?;
                (Arc::new(p), source)
            }
        };
        provider.token(scopes).await.map_err(|e| {
            Error::InvalidConfig(format!(
                "could not obtain an access token using {source}: {e}; check that the key is \
                 current (not deleted or disabled) and that the machine can reach \
                 oauth2.googleapis.com"
            ))
        })?;
        Ok(Auth::Provider {
            provider,
            source,
            scopes,
        })
    }

    /// The `authorization` header value for the next call. A token that cannot be
    /// refreshed is `Error::Firestore` with code `UNAUTHENTICATED`.
    pub async fn header(&self) -> Result<MetadataValue<Ascii>> {
        match self {
            Auth::Static(v) => Ok(v.clone()),
            Auth::Provider {
                provider,
                source,
                scopes,
            } => {
                let token = provider.token(scopes).await.map_err(|e| Error::Firestore {
                    code: "UNAUTHENTICATED".into(),
                    message: format!("could not refresh the access token from {source}: {e}"),
                })?;
                bearer(token.as_str())
            }
        }
    }
}

/// A token provider for a credentials JSON file: a service-account key, or gcloud's
/// authorized-user ADC file.
async fn key_file_provider(path: &Path, source: &str) -> Result<Arc<dyn TokenProvider>> {
    let text = tokio::fs::read_to_string(path).await.map_err(|e| {
        Error::InvalidConfig(format!(
            "could not read {source}: {e}; check the path and its permissions \
             (GOOGLE_APPLICATION_CREDENTIALS or --credentials)"
        ))
    })?;
    // Parse only to learn the type; the error never quotes the content (it holds a key).
    let kind = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned))
        .ok_or_else(|| {
            Error::InvalidConfig(format!(
                "{source} is not a Google credentials JSON file (no \"type\" field); download a \
                 service-account key (IAM > Service accounts > Keys > Add key > JSON)"
            ))
        })?;
    match kind.as_str() {
        "service_account" => {
            let sa = gcp_auth::CustomServiceAccount::from_json(&text).map_err(|e| {
                Error::InvalidConfig(format!(
                    "{source} is not a usable service-account key: {e}; download a new JSON key \
                     for the service account"
                ))
            })?;
            Ok(Arc::new(sa))
        }
        "authorized_user" if gcloud_adc_path().as_deref() == Some(path) => {
            let p = gcp_auth::ConfigDefaultCredentials::new().await.map_err(|e| {
                Error::InvalidConfig(format!(
                    "could not use {source}: {e}; run `gcloud auth application-default login` again"
                ))
            })?;
            Ok(Arc::new(p))
        }
        other => Err(Error::InvalidConfig(format!(
            "{source} holds credentials of type {other:?}, which firekeep does not support here; \
             use a service-account key file, or gcloud's default ADC location"
        ))),
    }
}
