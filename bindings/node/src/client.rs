//! The authorized, audited repository client, built by the core's shared client builder.

use crate::audit::AuditHead;
use crate::authorize::{Decision, decision, parse_action};
use crate::client_open::{ClientOptions, open};
use crate::errors::{invalid_input, js_err, range_err, to_json, type_err};
use crate::firestore::Firestore;
use crate::keys::Key;
use crate::runtime::{CancelToken, JsonCallback, WeakJsonCallback, progress_fn, spawn, token_of};
use firekeep_core::audit::{ExportFilter, ExportFormat};
use firekeep_core::client::{Client as CoreClient, DiffWith};
use firekeep_core::engine::{BackupOptions, DiffOptions, RestoreOptions, Retention};
use firekeep_core::model::Timestamp;
use firekeep_core::policy::PrincipalKind;
use firekeep_core::setup::AuditHandle;
use firekeep_core::source::{ConflictMode, Scope};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::collections::HashMap;
use std::sync::Arc;

/// Authorized, audited access to one backup repository (the core's `Client`).
#[napi]
pub struct Client {
    pub(crate) inner: CoreClient,
    audit: AuditHandle,
}

pub(crate) fn opt_ts(s: Option<String>) -> Result<Option<Timestamp>> {
    s.map(|s| Timestamp::parse_rfc3339(&s).map_err(js_err))
        .transpose()
}

/// Backup options; `readTime` is RFC 3339 (the JS layer converts Dates).
#[napi(object)]
#[derive(Default)]
pub struct NativeBackupOptions {
    pub collections: Option<Vec<String>>,
    pub subcollections: Option<bool>,
    pub exclude: Option<Vec<String>>,
    pub read_time: Option<String>,
    pub labels: Option<HashMap<String, String>>,
    pub parallelism: Option<u32>,
    pub read_streams: Option<u32>,
}

/// Restore options.
#[napi(object)]
#[derive(Default)]
pub struct NativeRestoreOptions {
    pub collections: Option<Vec<String>>,
    pub subcollections: Option<bool>,
    /// `overwrite` (default), `skip` or `fail`.
    pub conflict: Option<String>,
    pub dry_run: Option<bool>,
    pub verify_first: Option<bool>,
}

#[napi]
impl Client {
    /// Opens a repository with a key, a principal and an audit sink. `auditCallback`
    /// receives each batch of audit events as JSON, `alertCallback` each alert of the
    /// policy's `[alerts]` rules (neither keeps the process alive).
    #[napi(constructor)]
    pub fn new(
        options: ClientOptions,
        #[napi(ts_arg_type = "((eventsJson: string) => void) | undefined | null")]
        audit_callback: Option<WeakJsonCallback>,
        #[napi(ts_arg_type = "((alertJson: string) => void) | undefined | null")]
        alert_callback: Option<WeakJsonCallback>,
    ) -> Result<Self> {
        let (inner, audit) = open(options, audit_callback, alert_callback)?;
        Ok(Client { inner, audit })
    }

    /// The principal's kind and id, e.g. `user:alice`.
    #[napi(getter)]
    pub fn principal(&self) -> String {
        let p = self.inner.session().principal();
        let kind = match p.kind() {
            PrincipalKind::User => "user",
            _ => "apikey",
        };
        format!("{kind}:{}", p.id())
    }

    /// The organization the principal acts in.
    #[napi(getter)]
    pub fn organization(&self) -> String {
        self.inner.session().organization().to_string()
    }

    /// A description of the repository.
    #[napi(getter)]
    pub fn repository(&self) -> String {
        self.inner.repository().describe()
    }

    /// The key id new backups are written under.
    #[napi(getter)]
    pub fn key_id(&self) -> String {
        self.inner.keys().key_id().to_string()
    }

    /// Backs up `source`; resolves with the report as JSON.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn backup<'e>(
        &self,
        env: &'e Env,
        source: &Firestore,
        options: Option<NativeBackupOptions>,
        #[napi(ts_arg_type = "((progressJson: string) => void) | undefined | null")]
        progress: Option<Arc<JsonCallback>>,
        cancel: Option<&CancelToken>,
    ) -> Result<PromiseRaw<'e, String>> {
        let o = options.unwrap_or_default();
        let mut opts = BackupOptions {
            scope: Scope::of(
                o.collections.unwrap_or_default(),
                o.subcollections.unwrap_or(true),
                o.exclude.unwrap_or_default(),
            ),
            read_time: opt_ts(o.read_time)?,
            labels: o.labels.unwrap_or_default().into_iter().collect(),
            ..BackupOptions::default()
        };
        if let Some(p) = o.parallelism {
            opts.parallelism = (p as usize).max(1);
        }
        if let Some(n) = o.read_streams {
            opts.read_streams = n as usize;
        }
        // Out-of-range options fail here, before anything is connected.
        opts.validate().map_err(js_err)?;
        let client = self.inner.clone();
        let source = source.clone();
        let t = token_of(cancel);
        let progress = progress_fn(progress);
        spawn(env, async move {
            let conn = source.connect().await?;
            Ok(to_json(&client.backup(conn, &opts, progress, &t).await?))
        })
    }

    /// Lists the backups; resolves with JSON.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn list<'e>(&self, env: &'e Env) -> Result<PromiseRaw<'e, String>> {
        let client = self.inner.clone();
        spawn(env, async move { Ok(to_json(&client.list().await?)) })
    }

    /// Verifies every part of a backup; with `throwOnError` false, resolves with the
    /// report even when it found problems.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn verify<'e>(
        &self,
        env: &'e Env,
        backup_id: String,
        throw_on_error: bool,
        #[napi(ts_arg_type = "((progressJson: string) => void) | undefined | null")]
        progress: Option<Arc<JsonCallback>>,
        cancel: Option<&CancelToken>,
    ) -> Result<PromiseRaw<'e, String>> {
        let client = self.inner.clone();
        let t = token_of(cancel);
        let progress = progress_fn(progress);
        spawn(env, async move {
            let r = if throw_on_error {
                client.verify(&backup_id, progress, &t).await?
            } else {
                client.verify_report(&backup_id, progress, &t).await?
            };
            Ok(to_json(&r))
        })
    }

    /// Restores a backup into `target`.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn restore<'e>(
        &self,
        env: &'e Env,
        backup_id: String,
        target: &Firestore,
        options: Option<NativeRestoreOptions>,
        #[napi(ts_arg_type = "((progressJson: string) => void) | undefined | null")]
        progress: Option<Arc<JsonCallback>>,
        cancel: Option<&CancelToken>,
    ) -> Result<PromiseRaw<'e, String>> {
        let o = options.unwrap_or_default();
        let conflict = o
            .conflict
            .as_deref()
            .unwrap_or("overwrite")
            .parse::<ConflictMode>()
            .map_err(invalid_input)?;
        let opts = RestoreOptions {
            scope: Scope::of(
                o.collections.unwrap_or_default(),
                o.subcollections.unwrap_or(true),
                vec![],
            ),
            conflict,
            dry_run: o.dry_run.unwrap_or(false),
            verify_first: o.verify_first.unwrap_or(true),
            ..RestoreOptions::default()
        };
        let client = self.inner.clone();
        let target = target.clone();
        let t = token_of(cancel);
        let progress = progress_fn(progress);
        spawn(env, async move {
            let conn = target.connect().await?;
            Ok(to_json(
                &client
                    .restore(&backup_id, conn, &opts, progress, &t)
                    .await?,
            ))
        })
    }

    /// Compares backup `fromId` with backup `toId`, or with the live database `source`.
    #[napi(ts_return_type = "Promise<string>")]
    #[allow(clippy::too_many_arguments)]
    pub fn diff<'e>(
        &self,
        env: &'e Env,
        from_id: String,
        to_id: Option<String>,
        source: Option<&Firestore>,
        max_names: Option<u32>,
        cancel: Option<&CancelToken>,
    ) -> Result<PromiseRaw<'e, String>> {
        let mut opts = DiffOptions::default();
        if let Some(n) = max_names {
            opts.max_names = n as usize;
        }
        if to_id.is_some() == source.is_some() {
            return Err(type_err(
                "diff needs exactly one of: another backup id, or a Firestore source",
            ));
        }
        let client = self.inner.clone();
        let source = source.cloned();
        let t = token_of(cancel);
        spawn(env, async move {
            let with = match (to_id, source) {
                (Some(to), _) => DiffWith::Backup(to),
                (None, Some(src)) => DiffWith::Source(src.connect().await?),
                (None, None) => unreachable!("checked above"),
            };
            Ok(to_json(&client.diff(&from_id, with, &opts, &t).await?))
        })
    }

    /// Plans a prune under `retentionJson` (the core's `Retention`, snake_case keys) and
    /// applies it unless `dryRun`. Resolves with `{"plan": …, "report": … | null}`.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn prune<'e>(
        &self,
        env: &'e Env,
        retention_json: String,
        dry_run: bool,
    ) -> Result<PromiseRaw<'e, String>> {
        let retention: Retention = serde_json::from_str(&retention_json)
            .map_err(|e| type_err(format!("bad retention: {e}")))?;
        if retention.is_empty() {
            return Err(range_err(
                "a retention policy needs at least one keep rule (it would remove every backup)",
            ));
        }
        let client = self.inner.clone();
        spawn(env, async move {
            Ok(to_json(&client.prune(&retention, dry_run).await?))
        })
    }

    /// Re-wraps every backup's data key under `newKey` (data is not re-encrypted).
    #[napi(ts_return_type = "Promise<string>")]
    pub fn rotate_key<'e>(
        &self,
        env: &'e Env,
        new_key: &Key,
        cancel: Option<&CancelToken>,
    ) -> Result<PromiseRaw<'e, String>> {
        let client = self.inner.clone();
        let to = new_key.inner.clone();
        let t = token_of(cancel);
        spawn(env, async move {
            Ok(to_json(&client.rotate_key(to.as_ref(), &t).await?))
        })
    }

    /// Whether the principal may perform `action` (a policy action name such as
    /// `restore_backup`) on a project/database/collections. Records no audit event.
    #[napi]
    pub fn check(
        &self,
        action: String,
        project: Option<String>,
        database: Option<String>,
        collections: Option<Vec<String>>,
    ) -> Result<Decision> {
        let action = parse_action(&action)?;
        let resource = self.resource(project, database, collections);
        Ok(decision(&self.inner.session().check(action, &resource)))
    }

    /// Like `check`, but a denial is an operation outcome: it is recorded in the audit
    /// trail as `authorization.denied` and rejects with `ERR_AUTHORIZATION_DENIED`.
    #[napi(ts_return_type = "Promise<Decision>")]
    pub fn authorize<'e>(
        &self,
        env: &'e Env,
        action: String,
        project: Option<String>,
        database: Option<String>,
        collections: Option<Vec<String>>,
    ) -> Result<PromiseRaw<'e, Decision>> {
        let action = parse_action(&action)?;
        let resource = self.resource(project, database, collections);
        let client = self.inner.clone();
        spawn(env, async move {
            let d = client.authorize(action, resource).await?;
            Ok(decision(&d))
        })
    }

    /// The audit events recorded so far, as JSON (memory and file sinks). Authorized as
    /// `view_audit_logs`, audited as `audit.viewed`.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn audit_events<'e>(&self, env: &'e Env) -> Result<PromiseRaw<'e, String>> {
        let (session, trail) = (self.inner.session().clone(), self.audit.clone());
        spawn(env, async move {
            Ok(to_json(&session.audit_events(&trail).await?))
        })
    }

    /// Verifies this client's audit trail (`view_audit_logs`, audited as
    /// `audit.verified`); a broken chain fails with `ERR_INTEGRITY` naming the first bad
    /// event.
    #[napi(ts_return_type = "Promise<AuditHead>")]
    pub fn audit_verify<'e>(&self, env: &'e Env) -> Result<PromiseRaw<'e, AuditHead>> {
        let (session, trail) = (self.inner.session().clone(), self.audit.clone());
        spawn(env, async move {
            let v = session.audit_verify(&trail).await?;
            Ok(AuditHead {
                events: v.events as f64,
                hash: v.head.hash,
            })
        })
    }

    /// This client's audit events as `json` or `csv`, filtered by time and action
    /// (`export_audit_logs`, audited as `audit.exported`).
    #[napi(ts_return_type = "Promise<string>")]
    pub fn audit_export<'e>(
        &self,
        env: &'e Env,
        format: String,
        since: Option<String>,
        until: Option<String>,
        actions: Option<Vec<String>>,
    ) -> Result<PromiseRaw<'e, String>> {
        let format: ExportFormat = format.parse().map_err(js_err)?;
        let filter = ExportFilter {
            from: opt_ts(since)?,
            to: opt_ts(until)?,
            actions: actions.unwrap_or_default(),
        };
        let (session, trail) = (self.inner.session().clone(), self.audit.clone());
        spawn(env, async move {
            Ok(session.audit_export(&trail, &filter, format).await?.text)
        })
    }
}
