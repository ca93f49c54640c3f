//! The distributed backup's steps (plan, task, commit), authorized and audited like
//! [`Client::backup`]: each needs `create_backups` on the source database, for the plan's
//! collections. Each step is audited as `backup.created` / `backup.failed` with a `stage`
//! detail (`plan`, `task`, `commit`); only the commit's event means a backup exists.
//!
//! A distributed restore's steps are authorized like [`Client::restore`] (restore on the
//! target database, and on the backup's source for the collections read) and audited as
//! `backup.restored` / `backup.restore_failed` with `stage` `restore_plan`, `restore_task`
//! or `restore_summary`.

use super::{Client, object, scope_json};
use crate::audit::AuditAction;
use crate::engine::{
    self, BackupReport, CancellationToken, PlanOptions, PlanReport, ProgressFn, RestoreOptions,
    RestorePlanReport, RestoreReport, RestoreTaskReport, TaskOptions, TaskReport,
};
use crate::model::DatabaseId;
use crate::policy::{Action, ResourceKind};
use crate::session::{AuditDetails, Operation, Requirement};
use crate::source::{FirestoreSource, FirestoreTarget};
use crate::{Error, Result};
use serde_json::{Map, Value, json};
use std::sync::Arc;

impl Client {
    /// The operation of one step on database `db`, before the plan's collections are known.
    fn stage_op(&self, db: &DatabaseId, stage: &str, backup_id: Option<&str>) -> Operation {
        let resource = self.org().in_project(&db.project).in_database(&db.database);
        let resource = match backup_id {
            Some(id) => resource.of(ResourceKind::Backup, id),
            None => resource.kind(ResourceKind::Backup),
        };
        let mut op = self
            .op(
                Action::CreateBackup,
                resource,
                AuditAction::BackupCreated,
                AuditAction::BackupFailed,
            )
            .detail("stage", stage)
            .detail("key_id", self.keys.key_id());
        if let Some(id) = backup_id {
            op = op.detail("backup_id", id);
        }
        op
    }

    /// Reads backup `id`'s plan (no document) and requires `create_backups` for its
    /// collections on `db`, which must be the plan's database.
    async fn plan_requirement(&self, db: &DatabaseId, id: &str) -> Result<Requirement> {
        let plan = engine::read_plan(&self.repo, self.keys.as_ref(), id).await?;
        if plan.project != db.project || plan.database != db.database {
            return Err(Error::InvalidInput(format!(
                "backup {id} was planned on project {} database {}, not {}; use the plan's \
                 database",
                plan.project, plan.database, db
            )));
        }
        let resource = self
            .org()
            .in_project(&plan.project)
            .in_database(&plan.database)
            .with_collections(plan.scope.collections.clone())
            .of(ResourceKind::Backup, id);
        Ok(
            Requirement::new(Action::CreateBackup, resource, "the plan's collections")
                .detail("scope", scope_json(&plan.scope))
                .detail("task_count", plan.task_count),
        )
    }

    /// Plans a distributed backup of `opts.backup.scope` from `source` (permission: create
    /// backups on the source database, as [`Client::backup`]).
    pub async fn plan_backup(
        &self,
        source: Arc<dyn FirestoreSource>,
        opts: &PlanOptions,
    ) -> Result<PlanReport> {
        let db = source.database().clone();
        let resource = self
            .org()
            .in_project(&db.project)
            .in_database(&db.database)
            .with_collections(opts.backup.scope.collections.clone())
            .kind(ResourceKind::Backup);
        let mut op = self
            .op(
                Action::CreateBackup,
                resource,
                AuditAction::BackupCreated,
                AuditAction::BackupFailed,
            )
            .detail("stage", "plan")
            .detail("scope", scope_json(&opts.backup.scope))
            .detail("key_id", self.keys.key_id())
            .detail("task_count", opts.task_count);
        if let Some(t) = opts.backup.read_time {
            op = op.detail("requested_read_time", t.to_rfc3339());
        }
        self.session
            .perform(op, || {
                engine::plan_backup(source, &self.repo, self.keys.as_ref(), opts)
            })
            .await
    }

    /// Runs task `index` of distributed backup `backup_id` against `source` (permission:
    /// create backups on the source database for the plan's collections). `count` is the
    /// job engine's task count, checked against the plan's.
    #[allow(clippy::too_many_arguments)]
    pub async fn backup_task(
        &self,
        source: Arc<dyn FirestoreSource>,
        backup_id: &str,
        index: usize,
        count: Option<usize>,
        opts: &TaskOptions,
        progress: Option<ProgressFn>,
        cancel: &CancellationToken,
    ) -> Result<TaskReport> {
        let db = source.database().clone();
        let op = self
            .stage_op(&db, "task", Some(backup_id))
            .detail("task_index", index);
        self.session
            .perform_staged(
                op,
                || async { Ok(((), vec![self.plan_requirement(&db, backup_id).await?])) },
                |()| {
                    engine::run_backup_task(
                        source,
                        &self.repo,
                        self.keys.as_ref(),
                        backup_id,
                        index,
                        count,
                        opts,
                        progress,
                        cancel,
                    )
                },
            )
            .await
    }

    /// Commits distributed backup `backup_id`, planned on database `db` (permission: create
    /// backups there for the plan's collections). Audited as `backup.created` with
    /// `stage: commit` — the event that says the backup exists.
    pub async fn commit_backup(
        &self,
        db: &DatabaseId,
        backup_id: &str,
        cancel: &CancellationToken,
    ) -> Result<BackupReport> {
        let op = self.stage_op(db, "commit", Some(backup_id));
        self.session
            .perform_staged(
                op,
                || async { Ok(((), vec![self.plan_requirement(db, backup_id).await?])) },
                |()| engine::commit_backup(&self.repo, self.keys.as_ref(), backup_id, cancel),
            )
            .await
    }
}

impl Client {
    /// The operation of a distributed restore step on target `db`, with the requirements
    /// on the backup's source (its manifest names it) and, for tasks and the summary, on the
    /// target for the plan's collections.
    fn restore_stage_op(
        &self,
        db: &DatabaseId,
        backup_id: &str,
        collections: Vec<String>,
        stage: &str,
    ) -> Operation {
        let resource = self
            .org()
            .in_project(&db.project)
            .in_database(&db.database)
            .with_collections(collections)
            .of(ResourceKind::Backup, backup_id);
        self.op(
            Action::RestoreBackup,
            resource,
            AuditAction::BackupRestored,
            AuditAction::BackupRestoreFailed,
        )
        .detail("stage", stage)
        .detail("target_project", db.project.clone())
        .detail("target_database", db.database.clone())
    }

    /// Requirements of a step of restore `restore_id`: the plan must target `db`; restore on
    /// it for the plan's collections, and on the backup's source.
    async fn restore_requirements(
        &self,
        db: &DatabaseId,
        backup_id: &str,
        restore_id: &str,
    ) -> Result<Vec<Requirement>> {
        let plan = engine::read_restore_plan(&self.repo, self.keys.as_ref(), backup_id, restore_id)
            .await?;
        if plan.project != db.project || plan.database != db.database {
            return Err(Error::InvalidInput(format!(
                "restore {restore_id} writes to project {} database {}, not {db}",
                plan.project, plan.database
            )));
        }
        let target = self
            .org()
            .in_project(&plan.project)
            .in_database(&plan.database)
            .with_collections(plan.scope.collections.clone())
            .of(ResourceKind::Backup, backup_id);
        let manifest = self.manifest(backup_id).await?;
        Ok(vec![
            Requirement::new(Action::RestoreBackup, target, "the plan's target")
                .detail("restore_id", restore_id)
                .detail("scope", scope_json(&plan.scope)),
            self.source_requirement(
                Action::RestoreBackup,
                &manifest,
                &plan.scope.collections,
                "source",
            ),
        ])
    }

    /// Plans a restore of `backup_id` into `target` by `task_count` tasks (permission: as
    /// [`Client::restore`]). Writes only the sealed plan.
    pub async fn plan_restore(
        &self,
        backup_id: &str,
        target: &DatabaseId,
        opts: &RestoreOptions,
        task_count: usize,
    ) -> Result<RestorePlanReport> {
        let op = self
            .restore_stage_op(
                target,
                backup_id,
                opts.scope.collections.clone(),
                "restore_plan",
            )
            .detail("scope", scope_json(&opts.scope))
            .detail("task_count", task_count)
            .detail("dry_run", opts.dry_run);
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
                    engine::plan_restore(
                        &self.repo,
                        self.keys.as_ref(),
                        backup_id,
                        target,
                        opts,
                        task_count,
                    )
                },
            )
            .await
    }

    /// Runs task `index` of restore `restore_id` into `target` (the plan's target).
    #[allow(clippy::too_many_arguments)]
    pub async fn restore_task(
        &self,
        backup_id: &str,
        restore_id: &str,
        target: Arc<dyn FirestoreTarget>,
        index: usize,
        count: Option<usize>,
        progress: Option<ProgressFn>,
        cancel: &CancellationToken,
    ) -> Result<RestoreTaskReport> {
        let db = target.database().clone();
        let op = self
            .restore_stage_op(&db, backup_id, Vec::new(), "restore_task")
            .detail("restore_id", restore_id)
            .detail("task_index", index);
        self.session
            .perform_staged(
                op,
                || async {
                    Ok((
                        (),
                        self.restore_requirements(&db, backup_id, restore_id)
                            .await?,
                    ))
                },
                |()| {
                    engine::run_restore_task(
                        &self.repo,
                        self.keys.as_ref(),
                        backup_id,
                        restore_id,
                        target,
                        index,
                        count,
                        progress,
                        cancel,
                    )
                },
            )
            .await
    }

    /// The whole restore `restore_id` into `db` once every task has run.
    pub async fn restore_summary(
        &self,
        db: &DatabaseId,
        backup_id: &str,
        restore_id: &str,
    ) -> Result<RestoreReport> {
        let op = self
            .restore_stage_op(db, backup_id, Vec::new(), "restore_summary")
            .detail("restore_id", restore_id);
        self.session
            .perform_staged(
                op,
                || async {
                    Ok((
                        (),
                        self.restore_requirements(db, backup_id, restore_id).await?,
                    ))
                },
                |()| {
                    engine::summarize_restore(&self.repo, self.keys.as_ref(), backup_id, restore_id)
                },
            )
            .await
    }
}

impl AuditDetails for PlanReport {
    fn audit_details(&self) -> Map<String, Value> {
        object(json!({
            "backup_id": self.backup_id,
            "read_time": self.read_time.to_rfc3339(),
            "project": self.project,
            "database": self.database,
            "task_count": self.task_count,
            "partitions": self.partitions,
            "partitioning": self.partitioning,
        }))
    }
}

impl AuditDetails for TaskReport {
    fn audit_details(&self) -> Map<String, Value> {
        object(json!({
            "backup_id": self.backup_id,
            "task_index": self.task_index,
            "task_count": self.task_count,
            "outcome": self.outcome,
            "documents": self.documents,
            "parts": self.parts,
            "stored_bytes": self.stored_bytes,
            "duration_ms": self.duration.as_millis() as u64,
        }))
    }
}

impl AuditDetails for RestorePlanReport {
    fn audit_details(&self) -> Map<String, Value> {
        object(json!({
            "restore_id": self.restore_id,
            "backup_id": self.backup_id,
            "task_count": self.task_count,
            "parts": self.parts,
        }))
    }
}

impl AuditDetails for RestoreTaskReport {
    fn audit_details(&self) -> Map<String, Value> {
        let mut m = self.report.audit_details();
        m.insert("outcome".into(), json!(self.outcome));
        m.insert("task_count".into(), json!(self.task_count));
        m
    }
}
