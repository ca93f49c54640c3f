//! The policy evaluator: principals, resources and decisions.

use crate::errors::{Result, guard, invalid};
use firekeep_core::Error as CoreError;
use firekeep_core::policy::{Action, Policy as CorePolicy, Principal, RequestContext, Resource};
use std::str::FromStr;
use std::sync::Arc;

/// Who asks.
#[derive(Clone, Debug, uniffi::Record)]
pub struct PrincipalSpec {
    /// The organization the principal acts in.
    pub organization: String,
    /// `user:ID`, `user:EMAIL` (a member found by e-mail) or `apikey:ID`.
    pub principal: String,
    /// Whether the principal signed in with a second factor.
    #[uniffi(default = false)]
    pub mfa: bool,
}

/// What the action is on. Leave fields empty for the organization as a whole.
#[derive(Clone, Debug, uniffi::Record)]
pub struct ResourceSpec {
    /// The organization that owns the resource.
    pub organization: String,
    /// The project (Firestore project id).
    #[uniffi(default = None)]
    pub project: Option<String>,
    /// The Firestore database id.
    #[uniffi(default = None)]
    pub database: Option<String>,
    /// Top-level collections concerned; empty means the whole database.
    #[uniffi(default = [])]
    pub collections: Vec<String>,
    /// A backup id, for actions on one backup.
    #[uniffi(default = None)]
    pub backup_id: Option<String>,
}

/// A policy decision.
#[derive(Clone, Debug, uniffi::Record)]
pub struct Decision {
    /// The action asked for (`create_backup` ...).
    pub action: String,
    /// Whether it is allowed.
    pub allowed: bool,
    /// The rule that allowed it, or why it was denied (what to do about it).
    pub reason: String,
}

/// An RBAC policy (members, roles, API keys), evaluated offline.
#[derive(Debug, uniffi::Object)]
pub struct Policy {
    inner: CorePolicy,
}

pub(crate) fn resource(spec: &ResourceSpec) -> Resource {
    let mut r = Resource::organization(&spec.organization);
    if let Some(p) = &spec.project {
        r = r.in_project(p);
    }
    if let Some(d) = &spec.database {
        r = r.in_database(d);
    }
    if !spec.collections.is_empty() {
        r = r.with_collections(spec.collections.clone());
    }
    if let Some(b) = &spec.backup_id {
        r = r.backup(b);
    }
    r
}

pub(crate) fn principal(org: &str, raw: &str, policy: Option<&CorePolicy>) -> Result<Principal> {
    Principal::parse(org, raw, policy).map_err(|e| match e {
        CoreError::InvalidInput(msg) => invalid(msg),
        other => other.into(),
    })
}

pub(crate) fn parse_policy(text: &str) -> Result<CorePolicy> {
    Ok(if text.trim_start().starts_with('{') {
        CorePolicy::from_json(text)?
    } else {
        CorePolicy::from_toml(text)?
    })
}

#[uniffi::export]
impl Policy {
    /// A policy from TOML or JSON text (the format of `firekeep` policy files).
    #[uniffi::constructor]
    pub fn parse(text: String) -> Result<Arc<Self>> {
        guard(|| {
            Ok(Arc::new(Policy {
                inner: parse_policy(&text)?,
            }))
        })
    }

    /// A policy from a `.toml` or `.json` file.
    #[uniffi::constructor]
    pub fn from_file(path: String) -> Result<Arc<Self>> {
        guard(|| {
            Ok(Arc::new(Policy {
                inner: CorePolicy::from_file(std::path::Path::new(&path))?,
            }))
        })
    }

    /// Decides whether `principal` may perform `action` (`create_backup`,
    /// `restore_backup` ...) on `resource` now. Deny by default.
    pub fn evaluate(
        &self,
        principal: PrincipalSpec,
        action: String,
        resource: ResourceSpec,
    ) -> Result<Decision> {
        guard(|| {
            let action = Action::from_str(&action)?;
            let who = self::principal(
                &principal.organization,
                &principal.principal,
                Some(&self.inner),
            )?;
            let ctx = RequestContext {
                mfa: principal.mfa,
                ..RequestContext::default()
            };
            let d = self
                .inner
                .evaluate(&who, action, &self::resource(&resource), &ctx);
            Ok(Decision {
                action: d.action.as_str().to_string(),
                allowed: d.allowed,
                reason: d.reason.to_string(),
            })
        })
    }

    /// Every action `principal` may perform on `resource` now.
    pub fn allowed_actions(
        &self,
        principal: PrincipalSpec,
        resource: ResourceSpec,
    ) -> Result<Vec<String>> {
        guard(|| {
            let who = self::principal(
                &principal.organization,
                &principal.principal,
                Some(&self.inner),
            )?;
            let ctx = RequestContext {
                mfa: principal.mfa,
                ..RequestContext::default()
            };
            let now = firekeep_core::model::Timestamp::now();
            let set = self
                .inner
                .effective_actions(&who, &self::resource(&resource), &ctx, now);
            Ok(set.iter().map(|a| a.as_str().to_string()).collect())
        })
    }
}

/// Every action name a policy knows, for pickers in admin apps.
#[uniffi::export]
pub fn policy_actions() -> Vec<String> {
    Action::ALL.iter().map(|a| a.as_str().to_string()).collect()
}
