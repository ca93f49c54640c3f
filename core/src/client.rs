//! The client: every engine operation, authorized and audited through a session.
//!
//! This is what the CLI and the language bindings call. Each method builds the
//! [`Operation`] (permission, resource, audit actions, non-secret details) and runs the
//! engine inside [`Session::perform`], so a denied call never touches storage or Firestore
//! and every outcome — success, failure, denial — lands in the audit trail.

use crate::audit::AuditAction;
use crate::engine::{
    self, BackupList, BackupOptions, BackupReport, BackupSummary, CancellationToken, DiffOptions,
    DiffReport, Manifest, ProgressFn, PrunePlan, PruneReport, Repository, RestoreOptions,
    RestoreReport, Retention, RotateReport, VerifyReport,
};
use crate::keys::KeyProvider;
use crate::model::Timestamp;
use crate::policy::{Action, Decision, Resource, ResourceKind};
use crate::session::{AuditDetails, Operation, Requirement, Session};
use crate::source::{FirestoreSource, FirestoreTarget, Scope};
use crate::{Error, Result};
use serde_json::{Map, Value, json};
use std::sync::Arc;

mod distributed;

/// What [`Client::diff`] compares a backup with.
pub enum DiffWith {
    /// Another backup of this repository.
    Backup(String),
    /// The live database, read now.
    Source(Arc<dyn FirestoreSource>),
}

/// A prune's plan and, unless it was a dry run, what it removed ([`Client::prune`]).
#[derive(Clone, Debug, serde::Serialize)]
pub struct PruneOutcome {
    /// What the retention policy keeps and removes.
    pub plan: PrunePlan,
    /// What was removed; `None` for a dry run.
    pub report: Option<PruneReport>,
}

/// A session, a repository and a key provider: everything an operation needs.
#[derive(Clone)]
pub struct Client {
    session: Session,
    repo: Repository,
    keys: Arc<dyn KeyProvider>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("organization", &self.session.organization())
            .field("repository", &self.repo.describe())
            .field("key_id", &self.keys.key_id())
            .finish()
    }
}

fn scope_json(scope: &Scope) -> Value {
    serde_json::to_value(scope).unwrap_or(Value::Null)
}

/// The audit actions an operation needing `action` records on success and on failure (a
/// denial records `authorization.denied` and names the attempt). The one mapping every
/// front end uses.
pub fn audit_actions(action: Action) -> (AuditAction, AuditAction) {
    match action {
        Action::CreateBackup => (AuditAction::BackupCreated, AuditAction::BackupFailed),
        Action::VerifyBackup => (AuditAction::BackupVerified, AuditAction::BackupVerifyFailed),
        Action::RestoreBackup => (
            AuditAction::BackupRestored,
            AuditAction::BackupRestoreFailed,
        ),
        Action::DeleteBackup => (AuditAction::BackupPruned, AuditAction::BackupPruneFailed),
        Action::ViewBackups => (AuditAction::BackupListed, AuditAction::BackupListFailed),
        Action::ManageKeys => (AuditAction::KeyRotated, AuditAction::KeyRotateFailed),
        Action::EraseData => (AuditAction::BackupErased, AuditAction::BackupEraseFailed),
        Action::ExportData => (AuditAction::BackupExported, AuditAction::BackupExportFailed),
        Action::ManageLegalHolds => (AuditAction::BackupHeld, AuditAction::BackupHoldFailed),
        _ => (
            AuditAction::AuthorizationDenied,
            AuditAction::AuthorizationDenied,
        ),
    }
}

impl Client {
    /// A client acting as the session's principal on `repo`, with data keys wrapped by
    /// `keys`.
    pub fn new(session: Session, repo: Repository, keys: Arc<dyn KeyProvider>) -> Self {
        Client {
            session,
            repo,
            keys,
        }
    }

    /// The session (principal, policy, audit sink).
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The repository.
    pub fn repository(&self) -> &Repository {
        &self.repo
    }

    /// The key provider.
    pub fn keys(&self) -> &Arc<dyn KeyProvider> {
        &self.keys
    }

    /// Whether this client's principal may perform `action` on `resource`, as an operation:
    /// an allowed check returns the decision (nothing is recorded, nothing was done); a
    /// denial is recorded as `authorization.denied` (with the attempted action's audit
    /// names, see [`audit_actions`]) and returned as `Error::AuthorizationDenied`.
    pub async fn authorize(&self, action: Action, resource: Resource) -> Result<Decision> {
        let d = self.session.check(action, &resource);
        if d.allowed {
            return Ok(d);
        }
        let (ok, failed) = audit_actions(action);
        let op = self.op(action, resource, ok, failed);
        let text = d.to_string();
        // Denied: `perform` records the denial and never runs the closure.
        self.session
            .perform(op, || async move {
                Err::<(), _>(Error::AuthorizationDenied(text))
            })
            .await?;
        Err(Error::AuthorizationDenied(d.to_string()))
    }

    /// A resource in this session's organization.
    fn org(&self) -> Resource {
        Resource::organization(self.session.organization())
    }

    fn op(
        &self,
        action: Action,
        resource: Resource,
        ok: AuditAction,
        fail: AuditAction,
    ) -> Operation {
        Operation::new(action, resource, ok, fail).detail("repository", self.repo.describe())
    }

    /// The permission to read the data of a backup: `action` on the project and database the
    /// backup was taken from (its manifest says which), for the collections read — those
    /// `asked` for, else every collection the backup holds (its scope; empty is the whole
    /// database, which a grant limited to collections does not cover). Restoring or diffing
    /// a backup reveals its documents wherever they go, so a grant on the target alone must
    /// not be enough. The details name the source (`{side}_project`, `{side}_database`):
    /// identifiers, never data.
    fn source_requirement(
        &self,
        action: Action,
        manifest: &Manifest,
        asked: &[String],
        side: &str,
    ) -> Requirement {
        let collections = if asked.is_empty() {
            manifest.scope.collections.clone()
        } else {
            asked.to_vec()
        };
        let resource = self
            .org()
            .in_project(&manifest.project)
            .in_database(&manifest.database)
            .with_collections(collections)
            .of(ResourceKind::Backup, manifest.backup_id.clone());
        let what = if side == "source" {
            "the backup's source".to_string()
        } else {
            format!("the source of backup '{}' ({side})", manifest.backup_id)
        };
        Requirement::new(action, resource, what)
            .detail(format!("{side}_project"), manifest.project.clone())
            .detail(format!("{side}_database"), manifest.database.clone())
    }

    /// Opens backup `id`'s manifest (no document is read) for [`Client::source_requirement`].
    async fn manifest(&self, id: &str) -> Result<Manifest> {
        engine::read_manifest(&self.repo, self.keys.as_ref(), id).await
    }

    /// Takes a backup of `opts.scope` from `source` (permission: create backups on the
    /// source database). Audited as `backup.created` / `backup.failed`.
    pub async fn backup(
        &self,
        source: Arc<dyn FirestoreSource>,
        opts: &BackupOptions,
        progress: Option<ProgressFn>,
        cancel: &CancellationToken,
    ) -> Result<BackupReport> {
        let db = source.database().clone();
        let resource = self
            .org()
            .in_project(&db.project)
            .in_database(&db.database)
            .with_collections(opts.scope.collections.clone())
            .kind(ResourceKind::Backup);
        let mut op = self
            .op(
                Action::CreateBackup,
                resource,
                AuditAction::BackupCreated,
                AuditAction::BackupFailed,
            )
            .detail("scope", scope_json(&opts.scope))
            .detail("key_id", self.keys.key_id());
        if let Some(t) = opts.read_time {
            op = op.detail("requested_read_time", t.to_rfc3339());
        }
        self.session
            .perform(op, || {
                engine::backup(
                    source,
                    &self.repo,
                    self.keys.as_ref(),
                    opts,
                    progress,
                    cancel,
                )
            })
            .await
    }

    /// Complete backups, newest first (permission: view backups), and those this client's
    /// keys cannot open ([`BackupList::unreadable`], e.g. made under another key). Derefs
    /// to the readable ones. Audited as `backup.listed`.
    pub async fn list(&self) -> Result<BackupList> {
        let op = self.op(
            Action::ViewBackups,
            self.org().kind(ResourceKind::Backup),
            AuditAction::BackupListed,
            AuditAction::BackupListFailed,
        );
        self.session
            .perform(op, || engine::list(&self.repo, self.keys.as_ref()))
            .await
    }

    /// Verifies every part of a backup (permission: verify backups). A backup with bad or
    /// missing parts fails with `Error::Integrity` naming each of them, audited as
    /// `backup.verify_failed`; use [`Client::verify_report`] for the full report.
    pub async fn verify(
        &self,
        backup_id: &str,
        progress: Option<ProgressFn>,
        cancel: &CancellationToken,
    ) -> Result<VerifyReport> {
        let report = self.verify_report(backup_id, progress, cancel).await?;
        report.into_result()?;
        Ok(report)
    }

    /// Like [`Client::verify`], but returns the report even when parts are bad (the audit
    /// event still records `backup.verify_failed` with the problems). `Err` only when the
    /// backup cannot be opened at all or the caller may not verify.
    pub async fn verify_report(
        &self,
        backup_id: &str,
        progress: Option<ProgressFn>,
        cancel: &CancellationToken,
    ) -> Result<VerifyReport> {
        let op = self.op(
            Action::VerifyBackup,
            self.org().backup(backup_id),
            AuditAction::BackupVerified,
            AuditAction::BackupVerifyFailed,
        );
        let mut bad: Option<VerifyReport> = None;
        let outcome = self
            .session
            .perform(op, || async {
                let report =
                    engine::verify(&self.repo, self.keys.as_ref(), backup_id, progress, cancel)
                        .await?;
                match report.into_result() {
                    Ok(()) => Ok(report),
                    Err(e) => {
                        bad = Some(report);
                        Err(e)
                    }
                }
            })
            .await;
        match (outcome, bad) {
            (Ok(report), _) => Ok(report),
            // The failure is audited; hand the caller the report to print.
            (Err(Error::Integrity { .. }), Some(report)) => Ok(report),
            (Err(e), _) => Err(e),
        }
    }

    /// Restores a backup into `target`. Permission: `restore_backup` on the target database
    /// (and the collections restored) **and** on the project and database the backup was
    /// taken from, checked once its manifest is open and before any document is read or
    /// written, so that nobody copies a project's data into a project they own. Audited as
    /// `backup.restored` / `backup.restore_failed` / `authorization.denied` (with
    /// `denied_on` when the source was refused).
    pub async fn restore(
        &self,
        backup_id: &str,
        target: Arc<dyn FirestoreTarget>,
        opts: &RestoreOptions,
        progress: Option<ProgressFn>,
        cancel: &CancellationToken,
    ) -> Result<RestoreReport> {
        let db = target.database().clone();
        let resource = self
            .org()
            .in_project(&db.project)
            .in_database(&db.database)
            .with_collections(opts.scope.collections.clone())
            .of(ResourceKind::Backup, backup_id);
        let op = self
            .op(
                Action::RestoreBackup,
                resource,
                AuditAction::BackupRestored,
                AuditAction::BackupRestoreFailed,
            )
            .detail("target_project", db.project.clone())
            .detail("target_database", db.database.clone())
            .detail("scope", scope_json(&opts.scope))
            .detail("dry_run", opts.dry_run)
            .detail(
                "conflict",
                serde_json::to_value(opts.conflict).unwrap_or(Value::Null),
            );
        self.session
            .perform_staged(
                op,
                || async {
                    let manifest = self.manifest(backup_id).await?;
                    let source = self.source_requirement(
                        Action::RestoreBackup,
                        &manifest,
                        &opts.scope.collections,
                        "source",
                    );
                    Ok(((), vec![source]))
                },
                |()| {
                    engine::restore(
                        &self.repo,
                        self.keys.as_ref(),
                        backup_id,
                        target,
                        opts,
                        progress,
                        cancel,
                    )
                },
            )
            .await
    }

    /// Compares two backups. Permission: `view_backups` in the organization, and on the
    /// project and database each backup was taken from (for the collections compared),
    /// checked once the manifests are open and before any document is read. Audited as
    /// `backup.diffed` / `backup.diff_failed` / `authorization.denied`.
    pub async fn diff_backups(
        &self,
        from: &str,
        to: &str,
        opts: &DiffOptions,
        cancel: &CancellationToken,
    ) -> Result<DiffReport> {
        let op = self
            .op(
                Action::ViewBackups,
                self.org().backup(from),
                AuditAction::BackupDiffed,
                AuditAction::BackupDiffFailed,
            )
            .detail("from", from)
            .detail("to", to);
        self.session
            .perform_staged(
                op,
                || async {
                    let a = self.manifest(from).await?;
                    let b = self.manifest(to).await?;
                    // Both sides are read within one scope: the one asked for, else `from`'s.
                    let asked = match &opts.scope {
                        Some(scope) => scope.collections.clone(),
                        None => a.scope.collections.clone(),
                    };
                    let reqs = vec![
                        self.source_requirement(Action::ViewBackups, &a, &asked, "from"),
                        self.source_requirement(Action::ViewBackups, &b, &asked, "to"),
                    ];
                    Ok(((), reqs))
                },
                |()| engine::diff_backups(&self.repo, self.keys.as_ref(), from, to, opts, cancel),
            )
            .await
    }

    /// Compares a backup with the live database. Permission: `view_backups` on the live
    /// database (and the collections compared, if `opts.scope` names them) **and** on the
    /// project and database the backup was taken from, checked once its manifest is open
    /// and before any document is read. Audited as `backup.diffed` / `backup.diff_failed` /
    /// `authorization.denied`.
    pub async fn diff_with_source(
        &self,
        backup_id: &str,
        source: Arc<dyn FirestoreSource>,
        read_time: Option<Timestamp>,
        opts: &DiffOptions,
        cancel: &CancellationToken,
    ) -> Result<DiffReport> {
        let db = source.database().clone();
        let asked = opts
            .scope
            .as_ref()
            .map(|s| s.collections.clone())
            .unwrap_or_default();
        let resource = self
            .org()
            .in_project(&db.project)
            .in_database(&db.database)
            .with_collections(asked.clone())
            .of(ResourceKind::Backup, backup_id);
        let op = self
            .op(
                Action::ViewBackups,
                resource,
                AuditAction::BackupDiffed,
                AuditAction::BackupDiffFailed,
            )
            .detail("from", backup_id)
            .detail("to", format!("live:{}/{}", db.project, db.database));
        self.session
            .perform_staged(
                op,
                || async {
                    let manifest = self.manifest(backup_id).await?;
                    let req =
                        self.source_requirement(Action::ViewBackups, &manifest, &asked, "source");
                    Ok(((), vec![req]))
                },
                |()| {
                    engine::diff_backup_with_source(
                        &self.repo,
                        self.keys.as_ref(),
                        backup_id,
                        source,
                        read_time,
                        opts,
                        cancel,
                    )
                },
            )
            .await
    }

    /// Compares backup `from` with another backup or with the live database (read now):
    /// [`Client::diff_backups`] or [`Client::diff_with_source`], with their permissions
    /// and audit. What every front end's `diff` calls.
    pub async fn diff(
        &self,
        from: &str,
        with: DiffWith,
        opts: &DiffOptions,
        cancel: &CancellationToken,
    ) -> Result<DiffReport> {
        match with {
            DiffWith::Backup(to) => self.diff_backups(from, &to, opts, cancel).await,
            DiffWith::Source(source) => {
                self.diff_with_source(from, source, None, opts, cancel)
                    .await
            }
        }
    }

    /// Plans a prune under `retention` as of now and, unless `dry_run`, applies it:
    /// [`Client::plan_prune`] then [`Client::apply_prune`]. What every front end's `prune`
    /// calls.
    pub async fn prune(&self, retention: &Retention, dry_run: bool) -> Result<PruneOutcome> {
        let plan = self.plan_prune(retention, Timestamp::now()).await?;
        let report = if dry_run {
            None
        } else {
            Some(self.apply_prune(&plan).await?)
        };
        Ok(PruneOutcome { plan, report })
    }

    /// Plans a prune without deleting anything (permission: view backups). Needs this
    /// client's key: only backups it authenticates are counted or removed (see
    /// [`PrunePlan::unreadable`]). Audited as
    /// `backup.listed` with the plan's counts.
    pub async fn plan_prune(&self, retention: &Retention, now: Timestamp) -> Result<PrunePlan> {
        let op = self
            .op(
                Action::ViewBackups,
                self.org().kind(ResourceKind::Backup),
                AuditAction::BackupListed,
                AuditAction::BackupListFailed,
            )
            .detail("prune_plan", true)
            .detail(
                "retention",
                serde_json::to_value(retention).unwrap_or(Value::Null),
            );
        self.session
            .perform(op, || {
                engine::plan_prune(&self.repo, self.keys.as_ref(), retention, now)
            })
            .await
    }

    /// Applies a prune plan (permission: delete backups). Audited as `backup.pruned` /
    /// `backup.prune_failed`, listing every deleted backup id.
    pub async fn apply_prune(&self, plan: &PrunePlan) -> Result<PruneReport> {
        let op = self
            .op(
                Action::DeleteBackup,
                self.org().kind(ResourceKind::Backup),
                AuditAction::BackupPruned,
                AuditAction::BackupPruneFailed,
            )
            .detail("planned_removals", json!(plan.remove))
            .detail("planned_orphans", json!(plan.orphans));
        self.session
            .perform(op, || {
                engine::apply_prune(&self.repo, self.keys.as_ref(), plan)
            })
            .await
    }

    /// Erases documents from backups (permission: `erase_data`); see [`engine::erase`].
    /// Audited as `backup.erased` / `backup.erase_failed` with counts and the shape of the
    /// request (how many paths, the collection group and field name), never the paths or
    /// the value matched.
    pub async fn erase(
        &self,
        opts: &engine::EraseOptions,
        cancel: &CancellationToken,
    ) -> Result<engine::EraseReport> {
        let sel = &opts.selector;
        let op = self
            .op(
                Action::EraseData,
                self.org().kind(ResourceKind::Backup),
                AuditAction::BackupErased,
                AuditAction::BackupEraseFailed,
            )
            .detail("paths", sel.paths.len())
            .detail(
                "collection_group",
                sel.field_match.as_ref().map(|m| m.collection_group.clone()),
            )
            .detail("field", sel.field_match.as_ref().map(|m| m.field.clone()))
            .detail("include_subcollections", sel.include_subcollections)
            .detail("requested_backups", json!(opts.backups))
            .detail("dry_run", opts.dry_run);
        self.session
            .perform(op, || {
                engine::erase(&self.repo, self.keys.as_ref(), opts, cancel)
            })
            .await
    }

    /// Exports a backup's documents, decrypted, to `out` (see [`engine::export`]).
    /// Permission: `export_data` in the organization and on the project and database the
    /// backup was taken from (for the collections exported), checked once its manifest is
    /// open and before any document is read. Audited as `backup.exported` /
    /// `backup.export_failed` with counts and file names, never the data.
    pub async fn export(
        &self,
        backup_id: &str,
        opts: &engine::ExportOptions,
        out: &mut dyn engine::ExportOutput,
        cancel: &CancellationToken,
    ) -> Result<engine::ExportReport> {
        let op = self
            .op(
                Action::ExportData,
                self.org().backup(backup_id),
                AuditAction::BackupExported,
                AuditAction::BackupExportFailed,
            )
            .detail("backup_id", backup_id)
            .detail("collections", json!(opts.collections))
            .detail("format", json!(opts.format));
        self.session
            .perform_staged(
                op,
                || async {
                    let manifest = self.manifest(backup_id).await?;
                    let req = self.source_requirement(
                        Action::ExportData,
                        &manifest,
                        &opts.collections,
                        "source",
                    );
                    Ok(((), vec![req]))
                },
                |()| engine::export(&self.repo, self.keys.as_ref(), backup_id, opts, out, cancel),
            )
            .await
    }

    /// Places a legal hold on a backup (permission: `manage_legal_holds`): prune and
    /// erase refuse it until [`Client::release_hold`]. Where the store supports it (S3
    /// Object Lock), the store's own legal hold is also set on every object of the backup
    /// (see [`engine::hold`] and [`engine::LegalHold::object_lock`]); running it again is
    /// idempotent. Audited as `backup.held`, with the store-level status and object count.
    pub async fn hold(&self, backup_id: &str, reason: &str) -> Result<engine::LegalHold> {
        let op = self.op(
            Action::ManageLegalHolds,
            self.org().backup(backup_id),
            AuditAction::BackupHeld,
            AuditAction::BackupHoldFailed,
        );
        self.session
            .perform(op, || {
                engine::hold(&self.repo, self.keys.as_ref(), backup_id, reason)
            })
            .await
    }

    /// Releases a backup's legal hold (permission: `manage_legal_holds`); `None` when it
    /// was not held. Store-level legal holds are cleared first; if that fails the hold
    /// stays. Audited as `backup.released`.
    pub async fn release_hold(&self, backup_id: &str) -> Result<Option<engine::LegalHold>> {
        let op = self.op(
            Action::ManageLegalHolds,
            self.org().backup(backup_id),
            AuditAction::BackupReleased,
            AuditAction::BackupHoldFailed,
        );
        self.session
            .perform(op, || {
                engine::release(&self.repo, self.keys.as_ref(), backup_id)
            })
            .await
    }

    /// Re-wraps every backup's data key from this client's key provider to `to`
    /// (permission: manage keys). Audited as `key.rotated` / `key.rotate_failed`. Use a new
    /// client with `to` afterwards.
    pub async fn rotate_key(
        &self,
        to: &dyn KeyProvider,
        cancel: &CancellationToken,
    ) -> Result<RotateReport> {
        let op = self
            .op(
                Action::ManageKeys,
                self.org().of(ResourceKind::Key, self.keys.key_id()),
                AuditAction::KeyRotated,
                AuditAction::KeyRotateFailed,
            )
            .detail("from_key_id", self.keys.key_id())
            .detail("to_key_id", to.key_id());
        self.session
            .perform(op, || {
                engine::rotate_key(&self.repo, self.keys.as_ref(), to, cancel)
            })
            .await
    }
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

impl AuditDetails for BackupReport {
    fn audit_details(&self) -> Map<String, Value> {
        object(json!({
            "backup_id": self.backup_id,
            "read_time": self.read_time.to_rfc3339(),
            "project": self.project,
            "database": self.database,
            "documents": self.documents,
            "bytes": self.bytes,
            "stored_bytes": self.stored_bytes,
            "parts": self.parts,
            "key_id": self.key_id,
            "duration_ms": self.duration.as_millis() as u64,
            // The audit chain keeps the head generation each backup reached, so deleting
            // the newest backups *and* their head records is still visible in the trail.
            "head_generation": self.head_generation,
        }))
    }
}

impl AuditDetails for BackupSummary {}

impl AuditDetails for BackupList {
    fn audit_details(&self) -> Map<String, Value> {
        object(json!({
            "count": self.backups.len(),
            "unreadable": self.unreadable.iter().map(|b| b.id.clone()).collect::<Vec<_>>(),
            "head_generation": self.rollback.generation,
            "missing": self.rollback.missing,
        }))
    }
}

impl AuditDetails for VerifyReport {
    fn audit_details(&self) -> Map<String, Value> {
        object(json!({
            "backup_id": self.backup_id,
            "parts": self.parts,
            "parts_ok": self.parts_ok,
            "documents": self.documents,
            "problems": self.problems.iter().map(|p| json!({"object": p.object, "kind": p.kind})).collect::<Vec<_>>(),
        }))
    }
}

impl AuditDetails for RestoreReport {
    fn audit_details(&self) -> Map<String, Value> {
        object(json!({
            "backup_id": self.backup_id,
            "dry_run": self.dry_run,
            "documents": self.documents,
            "written": self.written,
            "skipped": self.skipped,
            "failed": self.failed.len(),
            "duration_ms": self.duration.as_millis() as u64,
        }))
    }
}

impl AuditDetails for DiffReport {
    fn audit_details(&self) -> Map<String, Value> {
        object(json!({
            "added": self.added,
            "removed": self.removed,
            "changed": self.changed,
            "unchanged": self.unchanged,
        }))
    }
}

impl AuditDetails for PrunePlan {
    fn audit_details(&self) -> Map<String, Value> {
        object(json!({
            "keep": self.keep.len(),
            "remove": self.remove,
            "orphans": self.orphans,
            "unreadable": self.unreadable.iter().map(|b| b.id.clone()).collect::<Vec<_>>(),
        }))
    }
}

impl AuditDetails for PruneReport {
    fn audit_details(&self) -> Map<String, Value> {
        object(json!({
            "removed": self.removed.iter().map(|b| b.id.clone()).collect::<Vec<_>>(),
            "orphans_removed": self.orphans.iter().map(|b| b.id.clone()).collect::<Vec<_>>(),
            "objects_deleted": self.removed.iter().chain(&self.orphans).map(|b| b.objects).sum::<usize>(),
            "bytes_freed": self.removed.iter().chain(&self.orphans).map(|b| b.bytes).sum::<u64>(),
            "skipped": self.skipped,
        }))
    }
}

impl AuditDetails for engine::EraseReport {
    fn audit_details(&self) -> Map<String, Value> {
        object(json!({
            "dry_run": self.dry_run,
            "documents": self.documents,
            "backups": self.backups.iter().map(|b| json!({
                "backup_id": b.backup_id,
                "documents": b.documents,
                "parts_rewritten": b.parts_rewritten,
                "parts_dropped": b.parts_dropped,
                "generation": b.generation,
            })).collect::<Vec<_>>(),
        }))
    }
}

impl AuditDetails for engine::ExportReport {
    fn audit_details(&self) -> Map<String, Value> {
        object(json!({
            "backup_id": self.backup_id,
            "documents": self.documents,
            "files": self.files,
            "parts_read": self.parts_read,
        }))
    }
}

impl AuditDetails for engine::LegalHold {
    // The reason is sealed in the repository and may name a person: not audited.
    fn audit_details(&self) -> Map<String, Value> {
        let mut d = object(json!({"backup_id": self.backup_id, "held_at": self.held_at}));
        if let Some(o) = &self.object_lock {
            d.insert("object_lock".into(), json!(o.status_name()));
            d.insert("object_lock_objects".into(), json!(o.objects));
        }
        d
    }
}

impl AuditDetails for RotateReport {
    fn audit_details(&self) -> Map<String, Value> {
        object(json!({
            "rotated": self.rotated,
            "already_rotated": self.already_rotated.len(),
            "other_keys": self.other_keys.iter().map(|b| b.id.clone()).collect::<Vec<_>>(),
            "unreadable": self.unreadable.iter().map(|b| b.id.clone()).collect::<Vec<_>>(),
        }))
    }
}
