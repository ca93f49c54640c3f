//! Who is calling: `firekeep.Authenticator` over the core's authenticators (built by
//! `firekeep_oidc::AuthenticatorOptions`), and the `Identity` it returns, which a `Client`
//! acts as (`identity=`).

use crate::errors::{py_err, value_err};
use crate::runtime::runtime;
use firekeep_core::identity::{Authenticated, Authenticator as _, Authenticators};
use firekeep_core::secret::SecretBytes;
use firekeep_core::setup::PolicySource;
use firekeep_oidc::AuthenticatorOptions;
use pyo3::prelude::*;
use std::sync::Arc;

/// A verified caller.
#[pyclass(module = "firekeep._native", frozen)]
pub(crate) struct Identity {
    pub(crate) inner: Authenticated,
}

#[pymethods]
impl Identity {
    /// `user:ID` or `apikey:ID`.
    #[getter]
    fn principal(&self) -> String {
        self.inner.identity().principal
    }
    /// The identity as JSON (principal, kind, id, email, organization, mfa, method,
    /// expires_at); never the credential.
    fn to_json(&self) -> String {
        serde_json::to_string(&self.inner.identity()).unwrap_or_default()
    }
    fn __repr__(&self) -> String {
        let i = self.inner.identity();
        format!(
            "Identity(principal={:?}, mfa={}, method={:?})",
            i.principal,
            if i.mfa { "True" } else { "False" },
            i.method
        )
    }
}

/// Verifies `Authorization` header values against a policy.
#[pyclass(module = "firekeep._native", frozen)]
pub(crate) struct Authenticator {
    inner: Arc<Authenticators>,
}

#[pymethods]
impl Authenticator {
    /// See `firekeep.Authenticator`.
    #[new]
    #[pyo3(signature = (policy, *, organization="default", api_keys=true, google_client_id=None, firebase_project=None, oidc=None, hs256=None))]
    fn new(
        policy: &str,
        organization: &str,
        api_keys: bool,
        google_client_id: Option<String>,
        firebase_project: Option<String>,
        oidc: Option<(String, String, String)>,
        hs256: Option<(String, String, Vec<u8>)>,
    ) -> PyResult<Self> {
        let policy = PolicySource::Text(policy.to_string())
            .load()
            .map_err(py_err)?;
        let options = AuthenticatorOptions {
            organization: organization.to_string(),
            api_keys,
            google_client_id,
            firebase_project,
            oidc,
            hs256: hs256.map(|(i, a, s)| (i, a, SecretBytes::new(s))),
            audit: None,
        };
        let inner = options.build(Arc::new(policy)).map_err(py_err)?;
        Ok(Authenticator {
            inner: Arc::new(inner),
        })
    }

    /// Verifies the header value (GIL released: a key set may be fetched).
    fn authenticate(&self, py: Python<'_>, authorization: &str) -> PyResult<Identity> {
        if authorization.len() > 64 * 1024 {
            return Err(value_err("the Authorization header is longer than 64 KiB"));
        }
        let a = self.inner.clone();
        let out =
            py.detach(|| runtime().block_on(async move { a.authenticate(authorization).await }));
        out.map(|inner| Identity { inner })
            .map_err(|e| py_err(e.into()))
    }

    /// [`Authenticator::authenticate`] as an asyncio awaitable.
    fn authenticate_async<'py>(
        &self,
        py: Python<'py>,
        authorization: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let a = self.inner.clone();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            a.authenticate(&authorization)
                .await
                .map(|inner| Identity { inner })
                .map_err(|e| py_err(e.into()))
        })
    }
}

fn admin_session(
    policy: &std::path::Path,
    principal: String,
    organization: &str,
    audit: Option<std::path::PathBuf>,
) -> PyResult<firekeep_core::session::Session> {
    use firekeep_core::setup::{AuditChoice, SessionOptions};
    let options = SessionOptions {
        organization: organization.to_string(),
        principal: Some(principal),
        policy: Some(PolicySource::File(policy.to_path_buf())),
        audit: audit.map_or(AuditChoice::Memory, AuditChoice::File),
        principal_hint: "pass principal=\"user:EMAIL\"".into(),
        ..SessionOptions::default()
    };
    Ok(options.build().map_err(py_err)?.0)
}

fn actions(names: &[String]) -> PyResult<Vec<firekeep_core::policy::Action>> {
    names.iter().map(|n| n.parse().map_err(py_err)).collect()
}

/// Creates an API key in the policy file as `principal`; returns its secret (shown once).
#[pyfunction]
#[pyo3(signature = (policy, key_id, *, principal, actions, organization="default", projects=None, expires_in_days=90, audit=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn api_key_create(
    py: Python<'_>,
    policy: std::path::PathBuf,
    key_id: String,
    principal: String,
    actions: Vec<String>,
    organization: &str,
    projects: Option<Vec<String>>,
    expires_in_days: u32,
    audit: Option<std::path::PathBuf>,
) -> PyResult<String> {
    use firekeep_core::identity::api_keys::{NewApiKey, create_in_file};
    let session = admin_session(&policy, principal, organization, audit)?;
    let new = NewApiKey {
        id: key_id,
        organization: String::new(),
        created_by: String::new(),
        actions: self::actions(&actions)?,
        projects,
        lifetime_days: Some(expires_in_days),
    };
    let secret = crate::runtime::block_on(py, create_in_file(&session, &policy, new))?;
    Ok(secret.expose().to_string())
}

/// Rotates an API key; returns the new secret. The old one works for `grace_hours`.
#[pyfunction]
#[pyo3(signature = (policy, key_id, *, principal, organization="default", grace_hours=24, expires_in_days=90, audit=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn api_key_rotate(
    py: Python<'_>,
    policy: std::path::PathBuf,
    key_id: String,
    principal: String,
    organization: &str,
    grace_hours: u32,
    expires_in_days: u32,
    audit: Option<std::path::PathBuf>,
) -> PyResult<String> {
    let session = admin_session(&policy, principal, organization, audit)?;
    let fut = firekeep_core::identity::api_keys::rotate_in_file(
        &session,
        &policy,
        &key_id,
        grace_hours,
        Some(expires_in_days),
    );
    Ok(crate::runtime::block_on(py, fut)?.expose().to_string())
}

/// Revokes an API key.
#[pyfunction]
#[pyo3(signature = (policy, key_id, *, principal, organization="default", audit=None))]
pub(crate) fn api_key_revoke(
    py: Python<'_>,
    policy: std::path::PathBuf,
    key_id: String,
    principal: String,
    organization: &str,
    audit: Option<std::path::PathBuf>,
) -> PyResult<()> {
    let session = admin_session(&policy, principal, organization, audit)?;
    let fut = firekeep_core::identity::api_keys::revoke_in_file(&session, &policy, &key_id);
    crate::runtime::block_on(py, fut)
}

/// The keys of the policy file (JSON; never secrets or hashes).
#[pyfunction]
#[pyo3(signature = (policy, *, organization="default"))]
pub(crate) fn api_key_list(policy: std::path::PathBuf, organization: &str) -> PyResult<String> {
    let p = firekeep_core::policy::Policy::from_file(&policy).map_err(py_err)?;
    let keys = firekeep_core::identity::api_keys::list(
        p.document(),
        Some(organization),
        firekeep_core::model::Timestamp::now(),
    );
    Ok(serde_json::to_string(&keys).unwrap_or_default())
}

/// The access review (JSON, CSV or text) as `principal`, from the JSONL trail `audit`;
/// `apply_inactive` disables the inactive members in the policy file.
#[pyfunction]
#[pyo3(signature = (policy, *, principal, audit, organization="default", inactive_days=90, rotation_days=90, apply_inactive=false, format="json"))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn access_review(
    py: Python<'_>,
    policy: std::path::PathBuf,
    principal: String,
    audit: std::path::PathBuf,
    organization: &str,
    inactive_days: u32,
    rotation_days: u32,
    apply_inactive: bool,
    format: &str,
) -> PyResult<String> {
    use firekeep_core::identity::review::{self, ReviewOptions};
    let session = admin_session(&policy, principal, organization, Some(audit))?;
    let options = ReviewOptions {
        inactive_days,
        rotation_days,
    };
    let r = crate::runtime::block_on(py, async {
        let r = review::run(&session, options).await?;
        if apply_inactive {
            review::apply_inactive(&session, &policy, &r).await?;
        }
        Ok(r)
    })?;
    match format {
        "json" => Ok(serde_json::to_string(&r).unwrap_or_default()),
        "csv" => Ok(r.to_csv()),
        "text" => Ok(r.to_text()),
        other => Err(value_err(format!(
            "format {other:?}: use json, csv or text"
        ))),
    }
}
