//! The authorized, audited repository client (`firekeep.Client`), built by the core's
//! shared client builder.

use crate::errors::{CoreResult, invalid_input, py_err, value_err};
use crate::firestore::Firestore;
use crate::keys::Key;
use crate::runtime::{CancellationToken, awaitable, block_on, progress_fn, to_json, token_of};
use crate::values::py_to_ts;
use firekeep_core::Error as CoreError;
use firekeep_core::audit::{AuditEvent, CallbackAuditSink, ExportFilter, ExportFormat};
use firekeep_core::client::{Client as CoreClient, DiffWith};
use firekeep_core::engine::{
    BackupOptions, CancellationToken as CoreToken, DiffOptions, RestoreOptions, Retention,
};
use firekeep_core::identity::alerts::{Alert, AlertSink, CallbackAlertSink};
use firekeep_core::model::Timestamp;
use firekeep_core::policy::PrincipalKind;
use firekeep_core::setup::{AuditChoice, AuditHandle, PolicySource, SessionOptions};
use firekeep_core::source::{ConflictMode, Scope};
use firekeep_object_store::{OpenClientOptions, open_client};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

pub(crate) fn events_json(events: &[AuditEvent]) -> String {
    to_json(&events)
}

/// Authorized, audited access to one backup repository (the core's `Client`).
#[pyclass(module = "firekeep._native", frozen)]
pub(crate) struct Client {
    pub(crate) inner: CoreClient,
    audit: AuditHandle,
}

pub(crate) fn opt_ts(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Timestamp>> {
    obj.map(py_to_ts).transpose()
}

pub(crate) fn conflict_mode(s: &str) -> PyResult<ConflictMode> {
    s.parse().map_err(invalid_input)
}

pub(crate) fn count(name: &str, n: i64) -> PyResult<usize> {
    usize::try_from(n).map_err(|_| value_err(format!("{name} must be >= 0 (got {n})")))
}

/// A prepared operation: the future plus its token.
pub(crate) struct Op<F> {
    token: CoreToken,
    fut: F,
}

impl<F> Op<F>
where
    F: Future<Output = CoreResult<String>> + Send + 'static,
{
    fn run(self, py: Python<'_>, is_async: bool) -> PyResult<Py<PyAny>> {
        if is_async {
            Ok(awaitable(py, self.token, self.fut)?.unbind())
        } else {
            let s = block_on(py, self.fut)?;
            Ok(s.into_pyobject(py)?.into_any().unbind())
        }
    }
}

#[pymethods]
impl Client {
    /// See `firekeep.Client` for the arguments.
    #[new]
    #[pyo3(signature = (repository, key, *, storage_options=None, organization="default", principal=None, policy=None, audit=None, create=true, identity=None, on_alert=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        repository: &str,
        key: &Key,
        storage_options: Option<BTreeMap<String, String>>,
        organization: &str,
        principal: Option<&str>,
        policy: Option<&str>,
        audit: Option<&Bound<'_, PyAny>>,
        create: bool,
        identity: Option<PyRef<'_, crate::identity::Identity>>,
        on_alert: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        if identity.is_some() && principal.is_some() {
            return Err(PyTypeError::new_err(
                "give principal= or identity= (an authenticated caller), not both",
            ));
        }
        let audit = match audit {
            None => AuditChoice::Memory,
            Some(a) if a.is_callable() => {
                let cb: Py<PyAny> = a.clone().unbind();
                let sink = CallbackAuditSink::new(move |events: &[AuditEvent]| {
                    let text = events_json(events);
                    Python::attach(|py| -> PyResult<()> {
                        let parsed = py.import("json")?.call_method1("loads", (text,))?;
                        cb.call1(py, (parsed,))?;
                        Ok(())
                    })
                    .map_err(|e| CoreError::Audit(format!("the Python audit callback raised {e}")))
                });
                AuditChoice::Sink(Arc::new(sink))
            }
            Some(a) => {
                let s: String = a.extract().map_err(|_| {
                    PyTypeError::new_err(
                        "audit is \"memory\", a file path (str or os.PathLike), or a callable",
                    )
                })?;
                if s == "memory" {
                    AuditChoice::Memory
                } else {
                    AuditChoice::File(PathBuf::from(s))
                }
            }
        };
        // The one client builder every front end uses: repository, audit sink, policy,
        // principal, and the storage options registered as secrets. Its errors are typed
        // (InvalidInput/InvalidConfig -> ValueError subclasses, NotFound).
        let options = OpenClientOptions {
            repository: repository.to_string(),
            storage_options: storage_options.unwrap_or_default(),
            create,
            session: SessionOptions {
                organization: organization.to_string(),
                principal: principal.map(str::to_string),
                policy: policy.map(|p| PolicySource::Text(p.to_string())),
                local_owner: "local".into(),
                audit,
                principal_hint: "pass principal=\"user:EMAIL\"".into(),
                // A policy's alerts.webhook_url: signed with FIREKEEP_ALERT_WEBHOOK_SECRET.
                alert_webhook: Some(firekeep_oidc::webhook_factory_from_env()),
                ..SessionOptions::default()
            },
        };
        let mut options = options;
        if let Some(cb) = on_alert {
            options.session.alert_sinks.push(alert_callback(cb)?);
        }
        if let Some(who) = identity {
            // The authenticated caller: its principal, API-key secret and second factor.
            options.session = options.session.with_identity(&who.inner);
        }
        let (inner, audit) = open_client(&options, key.inner.clone()).map_err(py_err)?;
        Ok(Client { inner, audit })
    }

    /// The principal's kind and id, e.g. `user:alice`.
    #[getter]
    fn principal(&self) -> String {
        let p = self.inner.session().principal();
        let kind = match p.kind() {
            PrincipalKind::User => "user",
            _ => "apikey",
        };
        format!("{kind}:{}", p.id())
    }

    #[getter]
    fn organization(&self) -> String {
        self.inner.session().organization().to_string()
    }

    #[getter]
    fn repository(&self) -> String {
        self.inner.repository().describe()
    }

    #[getter]
    fn key_id(&self) -> String {
        self.inner.keys().key_id().to_string()
    }

    #[pyo3(signature = (source, *, collections=None, subcollections=true, exclude=vec![], read_time=None, labels=None, parallelism=None, read_streams=None, progress=None, cancel=None, is_async=false))]
    #[allow(clippy::too_many_arguments)]
    fn backup(
        &self,
        py: Python<'_>,
        source: &Firestore,
        collections: Option<Vec<String>>,
        subcollections: bool,
        exclude: Vec<String>,
        read_time: Option<&Bound<'_, PyAny>>,
        labels: Option<BTreeMap<String, String>>,
        parallelism: Option<i64>,
        read_streams: Option<i64>,
        progress: Option<Py<PyAny>>,
        cancel: Option<&CancellationToken>,
        is_async: bool,
    ) -> PyResult<Py<PyAny>> {
        let mut opts = BackupOptions {
            scope: Scope::of(collections.unwrap_or_default(), subcollections, exclude),
            read_time: opt_ts(read_time)?,
            labels: labels.unwrap_or_default(),
            ..BackupOptions::default()
        };
        if let Some(p) = parallelism {
            opts.parallelism = count("parallelism", p)?.max(1);
        }
        if let Some(n) = read_streams {
            opts.read_streams = count("read_streams", n)?;
        }
        // Out-of-range options fail here, before anything is connected.
        opts.validate().map_err(py_err)?;
        let client = self.inner.clone();
        let source = source.clone();
        let token = token_of(cancel);
        let t = token.clone();
        let progress = progress_fn(progress);
        Op {
            token,
            fut: async move {
                let conn = source.connect().await?;
                let r = client.backup(conn, &opts, progress, &t).await?;
                Ok(to_json(&r))
            },
        }
        .run(py, is_async)
    }

    #[pyo3(signature = (*, is_async=false))]
    fn list(&self, py: Python<'_>, is_async: bool) -> PyResult<Py<PyAny>> {
        let client = self.inner.clone();
        Op {
            token: CoreToken::new(),
            fut: async move { Ok(to_json(&client.list().await?)) },
        }
        .run(py, is_async)
    }

    #[pyo3(signature = (backup_id, *, raise_on_error=true, progress=None, cancel=None, is_async=false))]
    #[allow(clippy::too_many_arguments)]
    fn verify(
        &self,
        py: Python<'_>,
        backup_id: String,
        raise_on_error: bool,
        progress: Option<Py<PyAny>>,
        cancel: Option<&CancellationToken>,
        is_async: bool,
    ) -> PyResult<Py<PyAny>> {
        let client = self.inner.clone();
        let token = token_of(cancel);
        let t = token.clone();
        let progress = progress_fn(progress);
        Op {
            token,
            fut: async move {
                let r = if raise_on_error {
                    client.verify(&backup_id, progress, &t).await?
                } else {
                    client.verify_report(&backup_id, progress, &t).await?
                };
                Ok(to_json(&r))
            },
        }
        .run(py, is_async)
    }

    #[pyo3(signature = (backup_id, target, *, collections=None, subcollections=true, conflict="overwrite", dry_run=false, verify_first=true, progress=None, cancel=None, is_async=false))]
    #[allow(clippy::too_many_arguments)]
    fn restore(
        &self,
        py: Python<'_>,
        backup_id: String,
        target: &Firestore,
        collections: Option<Vec<String>>,
        subcollections: bool,
        conflict: &str,
        dry_run: bool,
        verify_first: bool,
        progress: Option<Py<PyAny>>,
        cancel: Option<&CancellationToken>,
        is_async: bool,
    ) -> PyResult<Py<PyAny>> {
        let opts = RestoreOptions {
            scope: Scope::of(collections.unwrap_or_default(), subcollections, vec![]),
            conflict: conflict_mode(conflict)?,
            dry_run,
            verify_first,
            ..RestoreOptions::default()
        };
        let client = self.inner.clone();
        let target = target.clone();
        let token = token_of(cancel);
        let t = token.clone();
        let progress = progress_fn(progress);
        Op {
            token,
            fut: async move {
                let conn = target.connect().await?;
                let r = client
                    .restore(&backup_id, conn, &opts, progress, &t)
                    .await?;
                Ok(to_json(&r))
            },
        }
        .run(py, is_async)
    }

    /// Compares backup `from_id` with backup `to` (a backup id) or with a live database
    /// (`source`).
    #[pyo3(signature = (from_id, to=None, *, source=None, max_names=100, cancel=None, is_async=false))]
    #[allow(clippy::too_many_arguments)]
    fn diff(
        &self,
        py: Python<'_>,
        from_id: String,
        to: Option<String>,
        source: Option<&Firestore>,
        max_names: i64,
        cancel: Option<&CancellationToken>,
        is_async: bool,
    ) -> PyResult<Py<PyAny>> {
        let opts = DiffOptions {
            max_names: count("max_names", max_names)?,
            ..DiffOptions::default()
        };
        let client = self.inner.clone();
        let source = source.cloned();
        if to.is_some() == source.is_some() {
            return Err(value_err(
                "diff needs exactly one of: another backup id, or source=Firestore(...)",
            ));
        }
        let token = token_of(cancel);
        let t = token.clone();
        Op {
            token,
            fut: async move {
                let with = match (to, source) {
                    (Some(to), _) => DiffWith::Backup(to),
                    (None, Some(src)) => DiffWith::Source(src.connect().await?),
                    (None, None) => unreachable!("checked above"),
                };
                Ok(to_json(&client.diff(&from_id, with, &opts, &t).await?))
            },
        }
        .run(py, is_async)
    }

    /// Plans a prune under `retention` (JSON of the core's `Retention`) and applies it
    /// unless `dry_run`. Returns `{"plan": ..., "report": ... | null}`.
    #[pyo3(signature = (retention, *, dry_run=false, is_async=false))]
    fn prune(
        &self,
        py: Python<'_>,
        retention: &str,
        dry_run: bool,
        is_async: bool,
    ) -> PyResult<Py<PyAny>> {
        let retention: Retention = serde_json::from_str(retention)
            .map_err(|e| value_err(format!("bad retention: {e}")))?;
        if retention.is_empty() {
            return Err(value_err(
                "a retention policy needs at least one keep_* rule (it would remove every backup)",
            ));
        }
        let client = self.inner.clone();
        Op {
            token: CoreToken::new(),
            fut: async move { Ok(to_json(&client.prune(&retention, dry_run).await?)) },
        }
        .run(py, is_async)
    }

    #[pyo3(signature = (new_key, *, cancel=None, is_async=false))]
    fn rotate_key(
        &self,
        py: Python<'_>,
        new_key: &Key,
        cancel: Option<&CancellationToken>,
        is_async: bool,
    ) -> PyResult<Py<PyAny>> {
        let client = self.inner.clone();
        let to = new_key.inner.clone();
        let token = token_of(cancel);
        let t = token.clone();
        Op {
            token,
            fut: async move { Ok(to_json(&client.rotate_key(to.as_ref(), &t).await?)) },
        }
        .run(py, is_async)
    }

    /// The audit events recorded so far, as JSON (memory and file sinks; a callable sink
    /// has handed them to its function already). Authorized as `view_audit_logs`, audited
    /// as `audit.viewed`.
    fn audit_events(&self, py: Python<'_>) -> PyResult<String> {
        let (session, trail) = (self.inner.session().clone(), self.audit.clone());
        block_on(py, async move {
            Ok(events_json(&session.audit_events(&trail).await?))
        })
    }

    /// Verifies this client's audit trail: (events, head hash). Authorized as
    /// `view_audit_logs`, audited as `audit.verified`; a broken chain raises
    /// `firekeep.IntegrityError` naming the first bad event.
    fn audit_verify(&self, py: Python<'_>) -> PyResult<(u64, String)> {
        let (session, trail) = (self.inner.session().clone(), self.audit.clone());
        let v = block_on(py, async move { session.audit_verify(&trail).await })?;
        Ok((v.events, v.head.hash))
    }

    /// Exports this client's audit events as `json` or `csv`, filtered by time and action.
    /// Authorized as `export_audit_logs`, audited as `audit.exported`.
    #[pyo3(signature = (format="json", since=None, until=None, actions=vec![]))]
    fn audit_export(
        &self,
        py: Python<'_>,
        format: &str,
        since: Option<&Bound<'_, PyAny>>,
        until: Option<&Bound<'_, PyAny>>,
        actions: Vec<String>,
    ) -> PyResult<String> {
        let format: ExportFormat = format.parse().map_err(py_err)?;
        let filter = ExportFilter {
            from: opt_ts(since)?,
            to: opt_ts(until)?,
            actions,
        };
        let (session, trail) = (self.inner.session().clone(), self.audit.clone());
        let out = block_on(py, async move {
            session.audit_export(&trail, &filter, format).await
        })?;
        Ok(out.text)
    }
}

/// A policy's `[alerts]` delivered to a Python callable, one dict per alert. A callable that
/// raises fails the alert sink (recorded like any failing sink), never the operation.
fn alert_callback(cb: &Bound<'_, PyAny>) -> PyResult<Arc<dyn AlertSink>> {
    if !cb.is_callable() {
        return Err(PyTypeError::new_err(
            "on_alert must be a callable taking one alert (a dict)",
        ));
    }
    let cb: Py<PyAny> = cb.clone().unbind();
    Ok(Arc::new(CallbackAlertSink::new(move |a: &Alert| {
        let text = serde_json::to_string(a).unwrap_or_else(|_| "null".into());
        Python::attach(|py| -> PyResult<()> {
            let parsed = py.import("json")?.call_method1("loads", (text,))?;
            cb.call1(py, (parsed,))?;
            Ok(())
        })
        .map_err(|e| CoreError::Audit(format!("the Python on_alert callback raised {e}")))
    })))
}
