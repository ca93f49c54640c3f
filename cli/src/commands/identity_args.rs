//! Arguments of `firekeep api-key …` and `firekeep access …` (kept here, next to their
//! commands, so that `args.rs` only names them).

use clap::{Args, Subcommand, ValueEnum};

/// `firekeep api-key ...`.
#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key as the --principal (who needs manage_api_keys); prints its secret once.
    Create(ApiKeyCreateArgs),
    /// List the organization's keys (never their secrets).
    List,
    /// Give a key a new secret (printed once); the old one works for a grace period.
    Rotate(ApiKeyRotateArgs),
    /// Revoke a key: it fails from now on.
    Revoke(ApiKeyIdArg),
}

/// `firekeep api-key create`.
#[derive(Debug, Args)]
pub struct ApiKeyCreateArgs {
    /// The key's id (a name, not secret), e.g. ci-backups.
    pub id: String,
    /// An action the key may perform, e.g. create_backup (repeatable, at least one).
    #[arg(long = "action", value_name = "ACTION", required = true)]
    pub actions: Vec<String>,
    /// Limit the key to this project (repeatable); default: every project.
    #[arg(long = "only-project", value_name = "ID")]
    pub projects: Vec<String>,
    /// Days until the key expires.
    #[arg(long, value_name = "DAYS", default_value_t = 90)]
    pub expires_in_days: u32,
}

/// `firekeep api-key rotate`.
#[derive(Debug, Args)]
pub struct ApiKeyRotateArgs {
    /// The key's id.
    pub id: String,
    /// Hours the previous secret keeps working (0: stops now).
    #[arg(long, value_name = "HOURS", default_value_t = 24)]
    pub grace_hours: u32,
    /// Days until the new secret expires.
    #[arg(long, value_name = "DAYS", default_value_t = 90)]
    pub expires_in_days: u32,
}

/// A key id.
#[derive(Debug, Args)]
pub struct ApiKeyIdArg {
    /// The key's id.
    pub id: String,
}

/// `firekeep access ...`.
#[derive(Debug, Subcommand)]
pub enum AccessCommand {
    /// Members and API keys with roles, effective actions, expiry, last activity and
    /// findings (inactive members, keys due for rotation, admins without MFA, expired grants).
    Review(AccessReviewArgs),
}

/// Review output format (`--json` also selects JSON).
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ReviewFormat {
    /// For a person.
    Text,
    /// One JSON document.
    Json,
    /// One row per member and key.
    Csv,
}

/// `firekeep access review`.
#[derive(Debug, Args)]
pub struct AccessReviewArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReviewFormat::Text)]
    pub format: ReviewFormat,
    /// Members with no audited activity for this many days are inactive.
    #[arg(long, value_name = "DAYS", default_value_t = 90)]
    pub inactive_days: u32,
    /// Keys whose secret is older than this many days are due for rotation.
    #[arg(long, value_name = "DAYS", default_value_t = 90)]
    pub rotation_days: u32,
    /// Disable the inactive members in the policy file (audited as member.disabled).
    #[arg(long)]
    pub apply_inactive: bool,
}

/// Webhook alert sinks for a policy's `alerts.webhook_url`, signed with the secret in
/// `FIREKEEP_ALERT_WEBHOOK_SECRET` (at least 32 bytes): the connector's, shared with Node.
pub fn webhook_factory() -> firekeep_core::setup::WebhookFactory {
    firekeep_oidc::webhook_factory_from_env()
}
