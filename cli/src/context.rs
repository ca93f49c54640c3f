//! What one invocation works with: merged settings, the repository, the key, the session
//! (principal + policy + audit trail) and the Firestore connection.

use crate::config::{FileConfig, Settings, Source};
use crate::error::{CliError, CliResult};
use crate::output::Output;
use crate::secrets::{self, Candidate, KeySecret, Prompt};
use firekeep_aws_kms::{AwsKmsKeyProvider, AwsKmsOptions};
use firekeep_core::Error;
use firekeep_core::client::Client;
use firekeep_core::engine::{CancellationToken, Repository};
use firekeep_core::keys::{KeyProvider, PassphraseKey, RawKey};
use firekeep_core::model::DatabaseId;
use firekeep_core::secret::SecretString;
use firekeep_core::session::Session;
use firekeep_core::setup::{AuditChoice, PolicySource, SessionOptions};
use firekeep_core::storage::StorageSink;
use firekeep_firestore::{ConnectorConfig, Credentials, FirestoreConnector};
use firekeep_gcp_kms::{GcpKmsKeyProvider, GcpKmsOptions};
use firekeep_object_store::OpenClientOptions;
use firekeep_pkcs11::{Pkcs11KeyProvider, Pkcs11Options};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the repository lives (the object-store connector's parser, shared with the bindings).
pub use firekeep_object_store::RepositoryLocation as RepoLocation;

/// Parses `--repo`: a path, `file:///path`, or an object-store URL. A malformed one is a
/// usage error (exit code 2).
pub fn parse_repo(repo: &str) -> CliResult<RepoLocation> {
    RepoLocation::parse(repo).map_err(|e| match e {
        Error::InvalidInput(msg) => CliError::usage(format!("--repo: {msg}")),
        other => other.into(),
    })
}

/// The state of one invocation.
pub struct Ctx {
    /// Merged global settings.
    pub settings: Settings,
    /// The config file (for `[backup]` and `[retention]`).
    pub file: FileConfig,
    /// Output mode.
    pub out: Output,
    /// Cancelled by Ctrl-C.
    pub cancel: CancellationToken,
}

impl Ctx {
    /// The repository location; an error saying how to set it if missing.
    pub fn repo_location(&self) -> CliResult<RepoLocation> {
        let repo = self.settings.repo.as_deref().ok_or_else(|| {
            CliError::usage(
                "no repository given; use --repo PATH, set FIREKEEP_REPO, or put repo = \"...\" \
                 in firekeep.toml",
            )
        })?;
        parse_repo(repo)
    }

    /// What the shared client builder ([`firekeep_object_store::open_client`]'s pieces)
    /// is given: the repository and its storage options, the audit log, the policy file,
    /// the principal (or the local user as Owner when there is no policy) and the API key
    /// secret from `FIREKEEP_API_KEY`.
    fn open_options(&self, create: bool) -> OpenClientOptions {
        let api_key_secret = std::env::var("FIREKEEP_API_KEY")
            .ok()
            .filter(|s| !s.is_empty())
            .map(SecretString::from);
        OpenClientOptions {
            repository: self.settings.repo.clone().unwrap_or_default(),
            storage_options: self.settings.storage_options.iter().cloned().collect(),
            create,
            session: SessionOptions {
                organization: self.settings.organization.clone(),
                principal: self.settings.principal.clone(),
                policy: self.settings.policy.clone().map(PolicySource::File),
                local_owner: local_user(),
                audit: AuditChoice::File(self.audit_path()),
                api_key_secret,
                principal_hint: "use --principal user:EMAIL (or FIREKEEP_PRINCIPAL)".into(),
                alert_webhook: Some(crate::commands::identity_args::webhook_factory()),
                ..SessionOptions::default()
            },
        }
    }

    /// Opens the storage. `create`: make a missing local folder (backup); otherwise a
    /// missing repository is `NotFound`.
    pub async fn open_storage(&self, create: bool) -> CliResult<Arc<dyn StorageSink>> {
        // Parse first: a missing or malformed --repo is a usage error (exit code 2).
        self.repo_location()?;
        Ok(self.open_options(create).open_storage()?)
    }

    /// The audit log file: explicit, else `audit.jsonl` in a local repository, else
    /// `./firekeep-audit.jsonl`.
    pub fn audit_path(&self) -> PathBuf {
        if let Some(p) = &self.settings.audit_log {
            return p.clone();
        }
        match self.repo_location() {
            Ok(RepoLocation::Local(dir)) if dir.is_dir() => dir.join("audit.jsonl"),
            _ => PathBuf::from("firekeep-audit.jsonl"),
        }
    }

    /// The session: the principal under the policy, auditing to the audit log, with the
    /// storage options as secrets. A missing or malformed principal is a usage error.
    pub fn session(&self) -> CliResult<Session> {
        let (session, _) = self.open_options(false).session().map_err(|e| match e {
            Error::InvalidInput(msg) => CliError::usage(msg),
            other => other.into(),
        })?;
        Ok(session)
    }

    /// The key provider from the global key options (prompting if allowed).
    pub async fn key_provider(&self, prompt: Prompt) -> CliResult<Arc<dyn KeyProvider>> {
        let mut candidates = Vec::new();
        if let Some((p, s)) = &self.settings.passphrase_file {
            candidates.push((Candidate::PassphraseFile(p.clone()), *s));
        }
        if let Some((p, s)) = &self.settings.key_file {
            candidates.push((Candidate::KeyFile(p.clone()), *s));
        }
        if let Some((k, s)) = &self.settings.kms_key {
            candidates.push((Candidate::Kms(k.clone()), *s));
        }
        candidates.extend(secrets::env_candidates(
            secrets::ENV_PASSPHRASE,
            secrets::ENV_KEY,
        ));
        let secret = secrets::resolve(candidates, prompt, "Passphrase", "the repository key")?;
        provider(secret, self.settings.credentials.as_deref()).await
    }

    /// The new key for `rotate-key`.
    pub async fn new_key_provider(
        &self,
        passphrase_file: Option<&Path>,
        key_file: Option<&Path>,
        kms_key: Option<&str>,
        from_env: &dyn Fn(&str) -> bool,
    ) -> CliResult<Arc<dyn KeyProvider>> {
        let level = |id: &str| {
            if from_env(id) {
                Source::Env
            } else {
                Source::Flag
            }
        };
        let mut candidates = Vec::new();
        if let Some(p) = passphrase_file {
            candidates.push((
                Candidate::PassphraseFile(p.to_path_buf()),
                level("new_passphrase_file"),
            ));
        }
        if let Some(p) = key_file {
            candidates.push((Candidate::KeyFile(p.to_path_buf()), level("new_key_file")));
        }
        if let Some(k) = kms_key {
            candidates.push((Candidate::Kms(k.to_string()), level("new_kms_key")));
        }
        candidates.extend(secrets::env_candidates(
            secrets::ENV_NEW_PASSPHRASE,
            secrets::ENV_NEW_KEY,
        ));
        let secret =
            secrets::resolve(candidates, Prompt::Confirm, "New passphrase", "the new key")?;
        provider(secret, self.settings.credentials.as_deref()).await
    }

    /// A client: session + repository + key; every operation authorized and audited.
    pub async fn client(&self, create: bool, prompt: Prompt) -> CliResult<Client> {
        let storage = self.open_storage(create).await?;
        let session = self.session()?;
        let keys = self.key_provider(prompt).await?;
        Ok(Client::new(session, Repository::new(storage), keys))
    }

    /// The configured database (`--project`, `--database`).
    pub fn database(&self) -> CliResult<DatabaseId> {
        let project = self.settings.project.clone().ok_or_else(|| {
            CliError::usage(
                "no Firestore project given; use --project ID, set FIREKEEP_PROJECT, or put \
                 project = \"...\" in firekeep.toml",
            )
        })?;
        Ok(DatabaseId::new(project, self.settings.database.clone())?)
    }

    /// Connects to a Firestore database: the emulator if configured, else a service-account
    /// file, else application default credentials.
    pub async fn firestore(&self, database: DatabaseId) -> CliResult<Arc<FirestoreConnector>> {
        let config = if let Some(host) = &self.settings.emulator_host {
            ConnectorConfig::emulator(database, host.clone())
        } else if let Some(file) = &self.settings.credentials {
            ConnectorConfig::new(database, Credentials::ServiceAccountFile(file.clone()))
        } else {
            ConnectorConfig::from_env(&database.project, &database.database)?
        };
        Ok(Arc::new(FirestoreConnector::connect(config).await?))
    }
}

/// Environment variable overriding the Cloud KMS endpoint (`https://host`, or plaintext
/// `http://127.0.0.1:PORT` for a test server, which gets no credentials).
pub const ENV_GCP_KMS_ENDPOINT: &str = "FIREKEEP_GCP_KMS_ENDPOINT";

/// Which KMS a `--kms-key` value names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KmsKey {
    /// AWS KMS: key id, key ARN, `alias/NAME` or alias ARN (or `aws-kms:` + one of them).
    Aws(String),
    /// Google Cloud KMS: `projects/P/locations/L/keyRings/R/cryptoKeys/K` (optionally
    /// `/cryptoKeyVersions/N`), or `gcp-kms:` + that name.
    Gcp(String),
    /// A key inside an HSM: an RFC 7512 URI `pkcs11:token=…;object=…[?module-path=…&pin-source=file:…]`.
    Pkcs11(String),
}

impl KmsKey {
    /// Tells the two apart: Cloud KMS names are resource paths starting with `projects/`;
    /// every AWS form (UUID, `arn:`, `alias/`, `mrk-`) differs. An explicit `gcp-kms:` or
    /// `aws-kms:` prefix settles it.
    pub fn parse(key: &str) -> KmsKey {
        let key = key.trim();
        if let Some(k) = key.strip_prefix("gcp-kms:") {
            KmsKey::Gcp(k.trim_start_matches('/').to_string())
        } else if key.starts_with("pkcs11:") {
            KmsKey::Pkcs11(key.to_string())
        } else if let Some(k) = key.strip_prefix("aws-kms:") {
            KmsKey::Aws(k.to_string())
        } else if key.starts_with("projects/") {
            KmsKey::Gcp(key.to_string())
        } else {
            KmsKey::Aws(key.to_string())
        }
    }
}

/// Builds a key provider from a secret. `google_credentials` (`--credentials`) is also what
/// Cloud KMS uses; without it, the Google default chain.
pub async fn provider(
    secret: KeySecret,
    google_credentials: Option<&Path>,
) -> CliResult<Arc<dyn KeyProvider>> {
    Ok(match secret {
        KeySecret::Passphrase(p) => Arc::new(PassphraseKey::new(p)?),
        KeySecret::Raw(k) => Arc::new(RawKey::from_secret_base64(&k)?),
        KeySecret::Kms(id) => match KmsKey::parse(&id) {
            // Region, credentials and endpoint (AWS_ENDPOINT_URL_KMS) from the AWS chain.
            KmsKey::Aws(id) => {
                Arc::new(AwsKmsKeyProvider::new(id, AwsKmsOptions::default()).await?)
            }
            KmsKey::Gcp(name) => {
                let endpoint = std::env::var(ENV_GCP_KMS_ENDPOINT)
                    .ok()
                    .filter(|e| !e.trim().is_empty());
                let options = GcpKmsOptions {
                    credentials: google_credentials
                        .map(|p| Credentials::ServiceAccountFile(p.to_path_buf())),
                    endpoint,
                    ..GcpKmsOptions::default()
                };
                Arc::new(GcpKmsKeyProvider::new(name, options).await?)
            }
            // Module and PIN from the URI's module-path/pin-source or FIREKEEP_PKCS11_MODULE
            // and FIREKEEP_PKCS11_PIN; never from the command line.
            KmsKey::Pkcs11(uri) => {
                Arc::new(Pkcs11KeyProvider::open(Pkcs11Options::from_uri(&uri)?).await?)
            }
        },
    })
}

fn local_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "local".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kms_key_kinds() {
        let gcp = "projects/p/locations/global/keyRings/r/cryptoKeys/k";
        assert_eq!(KmsKey::parse(gcp), KmsKey::Gcp(gcp.into()));
        assert_eq!(
            KmsKey::parse(&format!("gcp-kms:{gcp}")),
            KmsKey::Gcp(gcp.into())
        );
        assert_eq!(
            KmsKey::parse(&format!("gcp-kms://{gcp}")),
            KmsKey::Gcp(gcp.into())
        );
        let hsm = "pkcs11:token=firekeep;object=backups?module-path=/usr/lib/x.so";
        assert_eq!(KmsKey::parse(hsm), KmsKey::Pkcs11(hsm.into()));
        for aws in [
            "alias/firekeep",
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "mrk-1234abcd12ab34cd56ef1234567890ab",
        ] {
            assert_eq!(KmsKey::parse(aws), KmsKey::Aws(aws.into()));
        }
        assert_eq!(
            KmsKey::parse("aws-kms:alias/x"),
            KmsKey::Aws("alias/x".into())
        );
    }

    #[test]
    fn repo_urls() {
        assert_eq!(
            parse_repo("file:///var/b").unwrap(),
            RepoLocation::Local("/var/b".into())
        );
        assert_eq!(
            parse_repo("rel/dir").unwrap(),
            RepoLocation::Local("rel/dir".into())
        );
        assert_eq!(
            parse_repo("s3://bucket/p").unwrap(),
            RepoLocation::Remote("s3://bucket/p".into())
        );
        assert_eq!(parse_repo("ftp://x").unwrap_err().exit_code(), 2);
        assert_eq!(parse_repo("file://relative").unwrap_err().exit_code(), 2);
    }
}
