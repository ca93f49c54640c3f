//! firekeep [`KeyProvider`] on AWS KMS.
//!
//! New backups get their data key from KMS `GenerateDataKey` (AES_256); restores unwrap it with
//! `Decrypt`. Both bind the key to the backup with the encryption context
//! `{"firekeep:backup_id": <backup id>}`, so a wrapped key copied to another backup does not
//! decrypt, and CloudTrail shows which backup every Decrypt was for. Key rotation re-wraps
//! existing data keys with `Encrypt` under the same context.
//!
//! ```no_run
//! # async fn demo() -> firekeep_core::Result<()> {
//! use firekeep_aws_kms::{AwsKmsKeyProvider, AwsKmsOptions};
//! let kms = AwsKmsKeyProvider::new("alias/firekeep", AwsKmsOptions::default()).await?;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

use async_trait::async_trait;
use aws_config::BehaviorVersion;
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{DataKeySpec, KeyState};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use firekeep_core::keys::{KeyContext, KeyProvider, WrappedKey};
use firekeep_core::secret::{SecretBytes, SecretString};
use firekeep_core::{Error, Result};
use std::collections::BTreeMap;
use std::fmt;

/// Provider kind recorded in [`WrappedKey::provider`].
pub const KIND: &str = "aws-kms";
/// Encryption context key binding a data key to its backup.
pub const CONTEXT_KEY: &str = "firekeep:backup_id";

/// How to reach KMS. Unset values come from the AWS default chain (`AWS_REGION`,
/// `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`, `AWS_PROFILE`, SSO,
/// web identity, ECS/EC2 instance roles; `AWS_ENDPOINT_URL_KMS` for an endpoint).
#[derive(Clone, Default)]
pub struct AwsKmsOptions {
    /// Region, e.g. `eu-west-1` (otherwise `AWS_REGION` / the profile's region).
    pub region: Option<String>,
    /// Endpoint override (VPC endpoint, LocalStack, moto).
    pub endpoint: Option<String>,
    /// Named profile from `~/.aws/config`.
    pub profile: Option<String>,
    /// Static access key id (with `secret_access_key`), instead of the default chain.
    pub access_key_id: Option<String>,
    /// Static secret access key.
    pub secret_access_key: Option<SecretString>,
    /// Static session token.
    pub session_token: Option<SecretString>,
}

impl fmt::Debug for AwsKmsOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsKmsOptions")
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("profile", &self.profile)
            .field(
                "access_key_id",
                &self.access_key_id.as_ref().map(|_| "[set]"),
            )
            .field("secret_access_key", &self.secret_access_key)
            .field("session_token", &self.session_token)
            .finish()
    }
}

/// Wraps data keys under one AWS KMS symmetric key.
#[derive(Clone)]
pub struct AwsKmsKeyProvider {
    client: aws_sdk_kms::Client,
    /// What the user configured (key id, key ARN, alias name or alias ARN).
    configured: String,
    /// The key's ARN when `DescribeKey` was allowed, else the configured id.
    key_id: String,
    region: String,
}

impl fmt::Debug for AwsKmsKeyProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsKmsKeyProvider")
            .field("key_id", &self.key_id)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl AwsKmsKeyProvider {
    /// Connects to KMS and resolves `key` (key id, key ARN, `alias/name` or alias ARN) to its
    /// key ARN with `DescribeKey`, failing early if the key is missing, disabled or pending
    /// deletion. Without `kms:DescribeKey` permission the configured id is used as is.
    pub async fn new(key: impl Into<String>, options: AwsKmsOptions) -> Result<Self> {
        let key = key.into();
        if key.trim().is_empty() {
            return Err(Error::InvalidConfig(
                "AWS KMS key id is empty; give a key id, key ARN or alias (alias/name)".into(),
            ));
        }
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(r) = &options.region {
            loader = loader.region(aws_config::Region::new(r.clone()));
        }
        if let Some(e) = &options.endpoint {
            loader = loader.endpoint_url(e);
        }
        if let Some(p) = &options.profile {
            loader = loader.profile_name(p);
        }
        match (&options.access_key_id, &options.secret_access_key) {
            (Some(id), Some(secret)) => {
                let creds = aws_sdk_kms::config::Credentials::new(
                    id,
                    secret.expose(),
                    options
                        .session_token
                        .as_ref()
                        .map(|t| t.expose().to_string()),
                    None,
                    "firekeep-options",
                );
                loader = loader.credentials_provider(creds);
            }
            (None, None) => {}
            _ => {
                return Err(Error::InvalidConfig(
                    "AWS KMS: give both access_key_id and secret_access_key, or neither (to use \
                     the default credential chain)"
                        .into(),
                ));
            }
        }
        let config = loader.load().await;
        let region = config.region().map(|r| r.to_string()).ok_or_else(|| {
            Error::InvalidConfig(
                "AWS KMS: no region; set AWS_REGION or the provider's region option".into(),
            )
        })?;
        let client = aws_sdk_kms::Client::new(&config);
        Self::from_client(client, key, region).await
    }

    /// Uses an already configured SDK client (`region` is for messages only).
    pub async fn from_client(
        client: aws_sdk_kms::Client,
        key: impl Into<String>,
        region: impl Into<String>,
    ) -> Result<Self> {
        let mut p = AwsKmsKeyProvider {
            client,
            configured: key.into(),
            key_id: String::new(),
            region: region.into(),
        };
        p.key_id = p.configured.clone();
        match p.client.describe_key().key_id(&p.configured).send().await {
            Ok(out) => {
                let meta = out.key_metadata().ok_or_else(|| {
                    Error::KeyProvider(format!(
                        "KMS DescribeKey of {} returned no key",
                        p.configured
                    ))
                })?;
                let state = meta.key_state();
                if !meta.enabled() || matches!(state, Some(KeyState::Disabled)) {
                    return Err(Error::KeyProvider(format!(
                        "AWS KMS key {} ({}) is disabled; enable it (aws kms enable-key) or use \
                         another key",
                        p.configured,
                        meta.arn().unwrap_or(meta.key_id())
                    )));
                }
                if matches!(state, Some(KeyState::PendingDeletion)) {
                    return Err(Error::KeyProvider(format!(
                        "AWS KMS key {} is pending deletion; cancel the deletion \
                         (aws kms cancel-key-deletion) to restore backups wrapped by it",
                        p.configured
                    )));
                }
                if let Some(arn) = meta.arn() {
                    p.key_id = arn.to_string();
                }
            }
            Err(e) if error_code(&e) == Some("AccessDeniedException") => {
                // Keep the configured id; GenerateDataKey/Decrypt may still be allowed.
            }
            Err(e) => return Err(p.error("DescribeKey", e, None)),
        }
        Ok(p)
    }

    /// The key as configured (alias or id), before resolution to an ARN.
    pub fn configured_key(&self) -> &str {
        &self.configured
    }

    fn error<E: ProvideErrorMetadata + std::error::Error + 'static, R: fmt::Debug>(
        &self,
        op: &str,
        e: SdkError<E, R>,
        context: Option<&KeyContext>,
    ) -> Error {
        let code = error_code(&e).unwrap_or("").to_string();
        let message = e
            .as_service_error()
            .and_then(|s| s.message())
            .map(str::to_string)
            .unwrap_or_else(|| first_line(&format!("{}", DisplayErrorChain(&e))));
        let key = &self.key_id;
        let region = &self.region;
        let text = match code.as_str() {
            "NotFoundException" => format!(
                "AWS KMS key {key} was not found in region {region} ({message}); check the key \
                 id or alias and the region"
            ),
            "DisabledException" => format!(
                "AWS KMS key {key} is disabled ({message}); enable it (aws kms enable-key) to use it"
            ),
            "KMSInvalidStateException" => format!(
                "AWS KMS key {key} cannot be used in its current state ({message}); if it is \
                 pending deletion, cancel the deletion"
            ),
            "AccessDeniedException"
            | "AccessDenied"
            | "UnrecognizedClientException"
            | "InvalidSignatureException" => format!(
                "AWS KMS refused {op} on key {key} ({message}); grant kms:GenerateDataKey, \
                 kms:Encrypt and kms:Decrypt on the key to these credentials"
            ),
            "InvalidCiphertextException" => match context {
                Some(c) => format!(
                    "AWS KMS could not decrypt the data key of backup {} ({message}): it was \
                     wrapped for another backup (encryption context {CONTEXT_KEY}) or is damaged",
                    c.backup_id
                ),
                None => format!("AWS KMS rejected the wrapped key ({message})"),
            },
            "" => format!(
                "AWS KMS {op} on key {key} in region {region} failed: {message}; check the \
                 network, endpoint and region"
            ),
            other => format!("AWS KMS {op} on key {key} failed: {other}: {message}"),
        };
        Error::KeyProvider(text)
    }

    fn context_of(&self, wrapped: &WrappedKey) -> Result<()> {
        if wrapped.provider != KIND {
            return Err(Error::KeyMismatch {
                expected: format!("{} key {}", wrapped.provider, wrapped.key_id),
                actual: format!("{KIND} key {}", self.key_id),
            });
        }
        Ok(())
    }

    fn wrapped(&self, key_arn: Option<&str>, ciphertext: &[u8]) -> WrappedKey {
        let mut params = BTreeMap::new();
        params.insert(
            "encryption_context_key".to_string(),
            CONTEXT_KEY.to_string(),
        );
        WrappedKey {
            provider: KIND.to_string(),
            key_id: key_arn.unwrap_or(&self.key_id).to_string(),
            params,
            ciphertext: B64.encode(ciphertext),
        }
    }
}

fn error_code<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> Option<&str> {
    e.as_service_error().and_then(|s| s.code())
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

/// Displays an error with its sources (the SDK's top-level message alone is "dispatch
/// failure" and the like).
struct DisplayErrorChain<'a>(&'a dyn std::error::Error);

impl fmt::Display for DisplayErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut src = self.0.source();
        while let Some(s) = src {
            write!(f, ": {s}")?;
            src = s.source();
        }
        Ok(())
    }
}

fn check_len(key: SecretBytes, op: &str) -> Result<SecretBytes> {
    if key.len() != 32 {
        return Err(Error::KeyProvider(format!(
            "AWS KMS {op} returned a {}-byte data key; expected 32 bytes (AES_256)",
            key.len()
        )));
    }
    Ok(key)
}

#[async_trait]
impl KeyProvider for AwsKmsKeyProvider {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn key_id(&self) -> &str {
        &self.key_id
    }

    async fn generate_data_key(&self, context: &KeyContext) -> Result<(SecretBytes, WrappedKey)> {
        let out = self
            .client
            .generate_data_key()
            .key_id(&self.configured)
            .key_spec(DataKeySpec::Aes256)
            .encryption_context(CONTEXT_KEY, &context.backup_id)
            .send()
            .await
            .map_err(|e| self.error("GenerateDataKey", e, Some(context)))?;
        let plain = out.plaintext().ok_or_else(|| {
            Error::KeyProvider("AWS KMS GenerateDataKey returned no plaintext key".into())
        })?;
        let key = check_len(SecretBytes::new(plain.as_ref().to_vec()), "GenerateDataKey")?;
        let blob = out.ciphertext_blob().ok_or_else(|| {
            Error::KeyProvider("AWS KMS GenerateDataKey returned no ciphertext".into())
        })?;
        Ok((key, self.wrapped(out.key_id(), blob.as_ref())))
    }

    async fn wrap(&self, data_key: &SecretBytes, context: &KeyContext) -> Result<WrappedKey> {
        let out = self
            .client
            .encrypt()
            .key_id(&self.configured)
            .plaintext(Blob::new(data_key.expose().to_vec()))
            .encryption_context(CONTEXT_KEY, &context.backup_id)
            .send()
            .await
            .map_err(|e| self.error("Encrypt", e, Some(context)))?;
        let blob = out
            .ciphertext_blob()
            .ok_or_else(|| Error::KeyProvider("AWS KMS Encrypt returned no ciphertext".into()))?;
        Ok(self.wrapped(out.key_id(), blob.as_ref()))
    }

    async fn unwrap(&self, wrapped: &WrappedKey, context: &KeyContext) -> Result<SecretBytes> {
        self.context_of(wrapped)?;
        // The ciphertext names its KMS key; a key ARN recorded for another key than ours
        // means the user configured the wrong key (or an alias now pointing elsewhere).
        if self.key_id.starts_with("arn:")
            && wrapped.key_id.starts_with("arn:")
            && wrapped.key_id != self.key_id
        {
            return Err(Error::KeyMismatch {
                expected: wrapped.key_id.clone(),
                actual: self.key_id.clone(),
            });
        }
        let blob = B64.decode(wrapped.ciphertext.trim()).map_err(|e| {
            Error::integrity(
                format!("wrapped data key of backup {}", context.backup_id),
                format!("ciphertext is not base64: {e}"),
            )
        })?;
        let out = self
            .client
            .decrypt()
            // Naming our key makes KMS refuse (IncorrectKeyException) a ciphertext of another.
            .key_id(&self.configured)
            .ciphertext_blob(Blob::new(blob))
            .encryption_context(CONTEXT_KEY, &context.backup_id)
            .send()
            .await
            .map_err(|e| {
                if error_code(&e) == Some("IncorrectKeyException") {
                    return Error::KeyMismatch {
                        expected: wrapped.key_id.clone(),
                        actual: self.key_id.clone(),
                    };
                }
                self.error("Decrypt", e, Some(context))
            })?;
        let plain = out
            .plaintext()
            .ok_or_else(|| Error::KeyProvider("AWS KMS Decrypt returned no plaintext".into()))?;
        check_len(SecretBytes::new(plain.as_ref().to_vec()), "Decrypt")
    }
}
