//! The authorized, audited [`Client`], built by the core's shared client builder.

use crate::audit::AuditHead;
use crate::errors::{Result, guard, invalid};
use crate::key_providers::KeyProvider;
use crate::records::{
    BackupList, BackupOptions, BackupReport, BackupSummary, ClientConfig, ConflictMode,
    FirestoreConfig, RestoreOptions, RestoreReport, UnreadableBackup, VerifyReport, connect,
};
use crate::runtime::{CancellationToken, ProgressListener, cancellable, progress_fn};
use crate::streams::io_err;
use firekeep_core::Error as CoreError;
use firekeep_core::audit::{ExportFilter, ExportFormat};
use firekeep_core::client::Client as CoreClient;
use firekeep_core::engine::{
    BackupOptions as CoreBackupOptions, Repository, RestoreOptions as CoreRestoreOptions,
};
use firekeep_core::model::Timestamp;
use firekeep_core::setup::{AuditChoice, AuditHandle, PolicySource, SessionOptions};
use firekeep_core::source::{ConflictMode as CoreConflict, Scope};
use firekeep_core::storage::local::LocalStorage;
use std::path::PathBuf;
use std::sync::Arc;

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

pub(crate) fn scope(collections: Vec<String>, subcollections: bool) -> Scope {
    Scope::of(collections, subcollections, Vec::new())
}

/// Authorized, audited access to one backup repository: every call is checked against
/// the policy and recorded in the audit trail (success, failure and denial alike).
#[derive(uniffi::Object)]
pub struct Client {
    pub(crate) inner: CoreClient,
    audit: AuditHandle,
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
            Ok(Arc::new(Client {
                inner: CoreClient::new(session, Repository::new(storage), key.inner.clone()),
                audit,
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
            read_streams: options.read_streams as usize,
            ..CoreBackupOptions::default()
        };
        // Out-of-range options fail here, before anything is connected.
        opts.validate()?;
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

    /// The audit events recorded so far, as a JSON array (permission: view audit logs;
    /// audited as `audit.viewed`).
    pub async fn audit_events_json(&self) -> Result<String> {
        let session = self.inner.session();
        let events = cancellable(None, |_| session.audit_events(&self.audit)).await?;
        Ok(to_json(&events))
    }

    /// Verifies the hash chain of this client's audit trail (permission: view audit logs;
    /// audited as `audit.verified`). A broken chain fails with `Integrity`, naming the
    /// first bad event.
    pub async fn audit_verify(&self) -> Result<AuditHead> {
        let session = self.inner.session();
        let v = cancellable(None, |_| session.audit_verify(&self.audit)).await?;
        Ok(AuditHead {
            position: v.head.position,
            hash: v.head.hash,
        })
    }

    /// This client's audit events as `json` or `csv`, filtered by RFC 3339 instants and
    /// action names (`backup.*`) (permission: export audit logs; audited as
    /// `audit.exported`).
    #[uniffi::method(default(since = None, until = None, actions = []))]
    pub async fn audit_export(
        &self,
        format: String,
        since: Option<String>,
        until: Option<String>,
        actions: Vec<String>,
    ) -> Result<String> {
        let format: ExportFormat = format.parse()?;
        let time = |t: Option<String>| t.map(|t| Timestamp::parse_rfc3339(&t)).transpose();
        let filter = ExportFilter {
            from: time(since)?,
            to: time(until)?,
            actions,
        };
        let session = self.inner.session();
        let out = cancellable(None, |_| session.audit_export(&self.audit, &filter, format)).await?;
        Ok(out.text)
    }
}
