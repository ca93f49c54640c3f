//! The tamper-evident audit trail: events, sinks, hash chain, export and retention.
//!
//! Every event has DESIGN.md's shape (`id`, `timestamp`, `action`, `actor`, `resource`,
//! `organization`, `context`, `details`) plus two chain fields: `prevHash` (the previous
//! event's `hash`, or 64 zeros for the first) and `hash` (SHA-256 over a canonical encoding
//! of the event without `hash`). Sinks chain the events they append, so editing, deleting,
//! inserting or reordering an event breaks the chain where it happened
//! ([`verify_chain`]). See `docs/security.md`.

mod chain;
mod export;
mod id;
mod redact;
mod sinks;

pub use chain::{
    ChainAnchor, ChainError, ChainErrorKind, ChainHead, ChainVerifier, GENESIS_HASH, event_hash,
    verify_chain, verify_chain_with_head,
};
pub use export::{
    CSV_COLUMNS, ExportFilter, ExportFormat, csv_cell, export, export_csv, export_json,
    filter_events,
};
pub use id::new_event_id;
pub use redact::{REDACTED, is_secret_key, redact_event};
pub use sinks::{
    AuditTrail, CallbackAuditSink, FsyncPolicy, JsonlAuditSink, MemoryAuditSink, TornTail,
    read_jsonl,
};

use crate::model::Timestamp;
use crate::{Error, Result};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;
use std::str::FromStr;

/// The stable vocabulary of audit actions (`backup.created`, ...). Never rename one: SIEM
/// rules and exports depend on these strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuditAction {
    /// A backup was taken.
    BackupCreated,
    /// A backup failed or was cancelled (no manifest was written).
    BackupFailed,
    /// A backup verified clean.
    BackupVerified,
    /// Verification failed or found damage.
    BackupVerifyFailed,
    /// A backup was restored.
    BackupRestored,
    /// A restore failed.
    BackupRestoreFailed,
    /// A backup was deleted.
    BackupDeleted,
    /// Deleting a backup failed.
    BackupDeleteFailed,
    /// Backups were listed or inspected.
    BackupListed,
    /// Listing or inspecting backups failed.
    BackupListFailed,
    /// A backup was compared with the database or another backup.
    BackupDiffed,
    /// A diff failed.
    BackupDiffFailed,
    /// A retention run (plan applied) removed backups.
    BackupPruned,
    /// A retention run failed.
    BackupPruneFailed,
    /// Data keys were re-wrapped under a new key.
    KeyRotated,
    /// Key rotation failed.
    KeyRotateFailed,
    /// The policy refused an operation.
    AuthorizationDenied,
    /// Storage was configured.
    StorageConfigured,
    /// A schedule was created, changed or removed.
    ScheduleUpdated,
    /// A member was added.
    MemberAdded,
    /// A member was removed.
    MemberRemoved,
    /// A member's role changed.
    MemberRoleChanged,
    /// An API key was created.
    ApiKeyCreated,
    /// An API key was revoked.
    ApiKeyRevoked,
    /// An API key's secret was rotated.
    ApiKeyRotated,
    /// Creating, rotating or revoking an API key failed.
    ApiKeyOperationFailed,
    /// A presented credential (token, API key) was refused; `details.reason` says why.
    AuthenticationFailed,
    /// An access review disabled inactive members (`details.members`).
    MembersDisabled,
    /// An access review was run.
    AccessReviewed,
    /// The audit trail was read.
    AuditViewed,
    /// The audit trail was exported.
    AuditExported,
    /// The audit trail's chain was verified.
    AuditVerified,
    /// Audit retention dropped old events; `details.anchorHash` confirms the new anchor.
    AuditRetentionApplied,
    /// Billing was viewed or changed.
    BillingAccessed,
    /// The organization was deleted.
    OrganizationDeleted,
    /// Any other allowed operation that failed.
    OperationFailed,
    /// Documents were erased from backups (counts only).
    BackupErased,
    /// An erasure failed.
    BackupEraseFailed,
    /// A backup's documents were exported in plain form.
    BackupExported,
    /// An export failed.
    BackupExportFailed,
    /// A legal hold was placed on a backup.
    BackupHeld,
    /// A legal hold was released.
    BackupReleased,
    /// Placing or releasing a legal hold failed.
    BackupHoldFailed,
}

impl AuditAction {
    /// Every action of the vocabulary.
    pub const ALL: [AuditAction; 43] = [
        AuditAction::BackupCreated,
        AuditAction::BackupFailed,
        AuditAction::BackupVerified,
        AuditAction::BackupVerifyFailed,
        AuditAction::BackupRestored,
        AuditAction::BackupRestoreFailed,
        AuditAction::BackupDeleted,
        AuditAction::BackupDeleteFailed,
        AuditAction::BackupListed,
        AuditAction::BackupListFailed,
        AuditAction::BackupDiffed,
        AuditAction::BackupDiffFailed,
        AuditAction::BackupPruned,
        AuditAction::BackupPruneFailed,
        AuditAction::KeyRotated,
        AuditAction::KeyRotateFailed,
        AuditAction::AuthorizationDenied,
        AuditAction::StorageConfigured,
        AuditAction::ScheduleUpdated,
        AuditAction::MemberAdded,
        AuditAction::MemberRemoved,
        AuditAction::MemberRoleChanged,
        AuditAction::ApiKeyCreated,
        AuditAction::ApiKeyRevoked,
        AuditAction::ApiKeyRotated,
        AuditAction::ApiKeyOperationFailed,
        AuditAction::AuthenticationFailed,
        AuditAction::MembersDisabled,
        AuditAction::AccessReviewed,
        AuditAction::AuditViewed,
        AuditAction::AuditExported,
        AuditAction::AuditVerified,
        AuditAction::AuditRetentionApplied,
        AuditAction::BillingAccessed,
        AuditAction::OrganizationDeleted,
        AuditAction::OperationFailed,
        AuditAction::BackupErased,
        AuditAction::BackupEraseFailed,
        AuditAction::BackupExported,
        AuditAction::BackupExportFailed,
        AuditAction::BackupHeld,
        AuditAction::BackupReleased,
        AuditAction::BackupHoldFailed,
    ];

    /// The stable dotted name.
    pub fn as_str(self) -> &'static str {
        use AuditAction::*;
        match self {
            BackupCreated => "backup.created",
            BackupFailed => "backup.failed",
            BackupVerified => "backup.verified",
            BackupVerifyFailed => "backup.verify_failed",
            BackupRestored => "backup.restored",
            BackupRestoreFailed => "backup.restore_failed",
            BackupDeleted => "backup.deleted",
            BackupDeleteFailed => "backup.delete_failed",
            BackupListed => "backup.listed",
            BackupListFailed => "backup.list_failed",
            BackupDiffed => "backup.diffed",
            BackupDiffFailed => "backup.diff_failed",
            BackupPruned => "backup.pruned",
            BackupPruneFailed => "backup.prune_failed",
            KeyRotated => "key.rotated",
            KeyRotateFailed => "key.rotate_failed",
            AuthorizationDenied => "authorization.denied",
            StorageConfigured => "storage.configured",
            ScheduleUpdated => "schedule.updated",
            MemberAdded => "member.added",
            MemberRemoved => "member.removed",
            MemberRoleChanged => "member.role_changed",
            ApiKeyCreated => "api_key.created",
            ApiKeyRevoked => "api_key.revoked",
            ApiKeyRotated => "api_key.rotated",
            ApiKeyOperationFailed => "api_key.operation_failed",
            AuthenticationFailed => "authentication.failed",
            MembersDisabled => "member.disabled",
            AccessReviewed => "access.reviewed",
            AuditViewed => "audit.viewed",
            AuditExported => "audit.exported",
            AuditVerified => "audit.verified",
            AuditRetentionApplied => "audit.retention_applied",
            BillingAccessed => "billing.accessed",
            OrganizationDeleted => "organization.deleted",
            OperationFailed => "operation.failed",
            BackupErased => "backup.erased",
            BackupEraseFailed => "backup.erase_failed",
            BackupExported => "backup.exported",
            BackupExportFailed => "backup.export_failed",
            BackupHeld => "backup.held",
            BackupReleased => "backup.released",
            BackupHoldFailed => "backup.hold_failed",
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuditAction {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        AuditAction::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| Error::InvalidInput(format!("unknown audit action {s:?}")))
    }
}

/// Who did it: `{"type", "id", "email"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// `user`, `api_key` or `system`.
    #[serde(rename = "type")]
    pub kind: String,
    /// User id or API key id.
    pub id: String,
    /// E-mail address, if known.
    pub email: Option<String>,
}

/// What it was done to: `{"type", "id"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventResource {
    /// The resource kind (`backup`, `project`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    /// The resource id.
    pub id: String,
}

/// The organization: `{"id"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventOrganization {
    /// Organization id.
    pub id: String,
}

/// Where the request came from: `{"ip", "userAgent", "location"}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventContext {
    /// Client IP address.
    pub ip: Option<String>,
    /// Client user agent.
    #[serde(rename = "userAgent")]
    pub user_agent: Option<String>,
    /// Client location.
    pub location: Option<String>,
}

/// One audit event, in DESIGN.md's JSON shape plus the chain fields `prevHash` and `hash`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// `log_` followed by a 26-character time-sortable unique suffix.
    pub id: String,
    /// RFC 3339 UTC with milliseconds.
    pub timestamp: String,
    /// A dotted name from [`AuditAction`] (kept as text so that newer vocabularies read).
    pub action: String,
    /// Who acted.
    pub actor: Actor,
    /// What was acted on.
    pub resource: EventResource,
    /// The organization the event belongs to.
    pub organization: EventOrganization,
    /// Request context.
    pub context: EventContext,
    /// Action-specific details (never secrets: they are redacted before any sink).
    pub details: Map<String, Value>,
    /// The previous event's `hash` (64 zeros for the first event of a trail).
    #[serde(rename = "prevHash", default)]
    pub prev_hash: String,
    /// Lower-case hex SHA-256 of this event (see [`event_hash`]).
    #[serde(default)]
    pub hash: String,
}

impl AuditEvent {
    /// A new, unchained event stamped now with a fresh id. Sinks fill `prevHash`/`hash`.
    pub fn new(
        action: AuditAction,
        actor: Actor,
        resource: EventResource,
        organization: impl Into<String>,
    ) -> Self {
        AuditEvent::at(Timestamp::now(), action, actor, resource, organization)
    }

    /// Like [`AuditEvent::new`] with a given time.
    pub fn at(
        time: Timestamp,
        action: AuditAction,
        actor: Actor,
        resource: EventResource,
        organization: impl Into<String>,
    ) -> Self {
        AuditEvent {
            id: new_event_id(time),
            timestamp: time.to_rfc3339_millis(),
            action: action.as_str().to_string(),
            actor,
            resource,
            organization: EventOrganization {
                id: organization.into(),
            },
            context: EventContext::default(),
            details: Map::new(),
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    /// The event's time, parsed.
    pub fn time(&self) -> Result<Timestamp> {
        Timestamp::parse_rfc3339(&self.timestamp)
    }
}

/// Where audit events go. Implementations chain the events they append (set `prevHash`
/// and `hash`), redact secret-named detail keys, and make the append durable before
/// returning. Sinks that store events can also read them back for export and verification.
#[async_trait]
pub trait AuditSink: Send + Sync {
    /// Chains and durably appends `events`, in order. An error means the events may not be
    /// recorded; callers must fail the operation rather than continue unaudited.
    async fn append(&self, events: &[AuditEvent]) -> Result<()>;

    /// The chain head after the last append (position and hash), for recording outside
    /// the trail so that truncation can be detected. `None` if the sink does not track it.
    fn head(&self) -> Option<ChainHead> {
        None
    }

    /// Reads the whole trail back. Sinks that only forward events return an error.
    async fn read(&self) -> Result<AuditTrail> {
        Err(Error::Audit(
            "this audit sink forwards events and cannot read them back; export from the store \
             it forwards to, or use a JSONL or memory sink"
                .to_string(),
        ))
    }

    /// Drops the oldest events with a time before `cutoff` (a prefix of the trail), records
    /// an anchor so the rest still verifies, then appends `confirmation` with
    /// `details.anchorHash` set to the anchor. Sinks that cannot rewrite return an error.
    async fn apply_retention(
        &self,
        cutoff: Timestamp,
        confirmation: AuditEvent,
    ) -> Result<RetentionReport> {
        let _ = (cutoff, confirmation);
        Err(Error::Audit(
            "this audit sink cannot apply retention; apply it where the events are stored"
                .to_string(),
        ))
    }
}

/// What a retention run did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetentionReport {
    /// Events dropped by this run.
    pub dropped: u64,
    /// Events kept (before the confirmation event).
    pub kept: u64,
    /// Events older than this were dropped (RFC 3339).
    pub cutoff: String,
    /// The anchor now at the head of the trail.
    pub anchor: Option<ChainAnchor>,
}
