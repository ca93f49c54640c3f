//! The request's context, and the evaluator's answer with the rule that decided.

use super::{Action, ProjectRole};
use crate::{Error, Result};
use std::fmt;
use std::sync::Arc;

/// Facts about the request that conditions and audit events use.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestContext {
    /// Client IP address.
    pub ip: Option<String>,
    /// Client user agent (`firekeep-cli/0.1.0`, `firekeep-python/0.1.0` ...).
    pub user_agent: Option<String>,
    /// Client location, if known.
    pub location: Option<String>,
    /// Whether the principal authenticated with a second factor in this session.
    pub mfa: bool,
}

/// Why a decision was made: the rule that allowed, or the reason for denial.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// An organization role grants the action.
    Role {
        /// The role's name.
        role: Arc<str>,
    },
    /// A project role grants the action on the resource's project.
    ProjectRole {
        /// The project.
        project: String,
        /// The project role.
        role: ProjectRole,
    },
    /// The API key's scopes and its creator's permissions both allow the action.
    ApiKey {
        /// The key id.
        key: String,
        /// Why the creator is allowed.
        creator: Box<Reason>,
    },
    /// The resource belongs to another organization than the principal acts in.
    CrossOrganization {
        /// The principal's organization.
        principal: String,
        /// The resource's organization.
        resource: String,
    },
    /// The principal is not a member of the organization.
    NotAMember,
    /// The policy has no such API key in the organization.
    UnknownApiKey {
        /// The key id.
        key: String,
    },
    /// The membership or API key has expired.
    Expired {
        /// What expired (`membership`, `role viewer`, `API key k1`).
        what: String,
        /// When.
        at: String,
    },
    /// The member was disabled (e.g. inactive, by an access review).
    Disabled {
        /// When.
        at: String,
    },
    /// The API key was revoked.
    Revoked {
        /// The key id.
        key: String,
        /// When.
        at: String,
    },
    /// The role requires a second factor for this action.
    MfaRequired {
        /// The role with the condition.
        role: Arc<str>,
    },
    /// The role is limited to some projects and the resource is not in one of them.
    ProjectNotAllowed {
        /// The role with the condition.
        role: Arc<str>,
    },
    /// The role or grant is limited to some collections and the resource is not.
    CollectionNotAllowed {
        /// The role or grant with the condition.
        role: String,
    },
    /// No role of the principal grants the action.
    NotGranted {
        /// The principal's roles, for the message.
        roles: String,
    },
    /// The API key's scopes do not include the action or the project.
    OutsideApiKeyScope {
        /// The key id.
        key: String,
    },
    /// The API key's creator may not do this, so neither may the key.
    CreatorDenied {
        /// The key id.
        key: String,
        /// Why the creator is denied.
        creator: Box<Reason>,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Role { role } => write!(f, "role '{role}' grants it"),
            Reason::ProjectRole { project, role } => {
                write!(f, "project role '{}' on project '{project}' grants it", role.as_str())
            }
            Reason::ApiKey { key, creator } => {
                write!(f, "API key '{key}' is scoped for it and its creator's {creator}")
            }
            Reason::CrossOrganization {
                principal,
                resource,
            } => write!(
                f,
                "the resource belongs to organization '{resource}' but the principal acts in \
                 '{principal}'; nothing crosses organizations, use a session of '{resource}'"
            ),
            Reason::NotAMember => f.write_str(
                "the principal is not a member of the organization; ask an owner or admin to add it",
            ),
            Reason::UnknownApiKey { key } => write!(
                f,
                "API key '{key}' is not in the policy for this organization (revoked or never \
                 created); use a current key"
            ),
            Reason::Expired { what, at } => {
                write!(f, "the {what} expired at {at}; ask an owner or admin to renew it")
            }
            Reason::Disabled { at } => write!(
                f,
                "the member was disabled at {at}; ask an owner or admin to re-enable it"
            ),
            Reason::Revoked { key, at } => {
                write!(f, "API key '{key}' was revoked at {at}; use a current key")
            }
            Reason::MfaRequired { role } => write!(
                f,
                "role '{role}' requires multi-factor authentication for this action; sign in with MFA"
            ),
            Reason::ProjectNotAllowed { role } => {
                write!(f, "role '{role}' does not cover this project")
            }
            Reason::CollectionNotAllowed { role } => write!(
                f,
                "{role} covers only some collections; name only those collections"
            ),
            Reason::NotGranted { roles } => write!(
                f,
                "no role grants it (roles: {roles}); ask an owner or admin for a role that does"
            ),
            Reason::OutsideApiKeyScope { key } => write!(
                f,
                "API key '{key}' is not scoped for this action or project; create a key with that scope"
            ),
            Reason::CreatorDenied { key, creator } => write!(
                f,
                "API key '{key}' can do no more than the member who created it, and that member is denied: {creator}"
            ),
        }
    }
}

/// The outcome of [`Policy::evaluate`]: allow or deny, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The action asked for.
    pub action: Action,
    /// Whether it is allowed.
    pub allowed: bool,
    /// The rule that allowed it, or why it was denied.
    pub reason: Reason,
}

impl Decision {
    /// Whether the action is allowed.
    pub fn is_allowed(&self) -> bool {
        self.allowed
    }

    /// This decision as a `Result`: `Err(Error::AuthorizationDenied)` when denied.
    pub fn into_result(self) -> Result<()> {
        if self.allowed {
            Ok(())
        } else {
            Err(Error::AuthorizationDenied(self.to_string()))
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.allowed { "allowed" } else { "denied" };
        write!(f, "{} {verdict}: {}", self.action, self.reason)
    }
}
