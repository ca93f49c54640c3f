//! Who acts: a user or an API key, inside one organization.

use super::Policy;
use crate::secret::SecretString;
use crate::{Error, Result};

/// What kind of principal acts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    /// A person (or a service account treated as one).
    User,
    /// An API key, created by a member and limited to its scopes.
    ApiKey,
}

impl PrincipalKind {
    /// `user` or `api_key`: the audit event's `actor.type`.
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::User => "user",
            PrincipalKind::ApiKey => "api_key",
        }
    }
}

/// Who acts: a user or an API key, acting inside one organization.
#[derive(Clone, Debug)]
pub struct Principal {
    kind: PrincipalKind,
    id: String,
    email: Option<String>,
    organization: String,
    secret: Option<SecretString>,
}

impl Principal {
    /// A user acting in `organization`.
    pub fn user(organization: impl Into<String>, id: impl Into<String>) -> Self {
        Principal {
            kind: PrincipalKind::User,
            id: id.into(),
            email: None,
            organization: organization.into(),
            secret: None,
        }
    }

    /// An API key (by its non-secret id) acting in `organization`.
    pub fn api_key(organization: impl Into<String>, key_id: impl Into<String>) -> Self {
        Principal {
            kind: PrincipalKind::ApiKey,
            id: key_id.into(),
            email: None,
            organization: organization.into(),
            secret: None,
        }
    }

    /// Parses how users name a principal: `user:ID`, `user:EMAIL`, a bare id or e-mail (a
    /// user), or `apikey:ID` (also `api-key:`/`api_key:`). With a policy, `user:EMAIL` names
    /// the member of `organization` whose e-mail that is. Errors are
    /// [`Error::InvalidInput`] saying which forms are accepted.
    pub fn parse(organization: &str, raw: &str, policy: Option<&Policy>) -> Result<Principal> {
        let (kind, id) = raw.split_once(':').unwrap_or(("user", raw));
        if id.is_empty() {
            return Err(Error::InvalidInput(format!(
                "principal {raw:?} has an empty id"
            )));
        }
        match kind {
            "user" => {
                if !id.contains('@') {
                    return Ok(Principal::user(organization, id));
                }
                let member = policy.and_then(|p| {
                    p.document()
                        .members
                        .iter()
                        .find(|m| m.organization == organization && m.email.as_deref() == Some(id))
                });
                let user_id = member.map_or(id, |m| m.id.as_str());
                Ok(Principal::user(organization, user_id).with_email(id))
            }
            "apikey" | "api-key" | "api_key" => Ok(Principal::api_key(organization, id)),
            _ => Err(Error::InvalidInput(format!(
                "principal {raw:?}: write user:ID, user:EMAIL or apikey:ID"
            ))),
        }
    }

    /// Adds the principal's e-mail address (recorded in audit events).
    pub fn with_email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// Attaches the API key's secret value, so that a session redacts it wherever it
    /// might appear in an audit event. Never printed.
    pub fn with_secret(mut self, secret: SecretString) -> Self {
        self.secret = Some(secret);
        self
    }

    /// User or API key.
    pub fn kind(&self) -> PrincipalKind {
        self.kind
    }

    /// The user id or API key id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The e-mail address, if known.
    pub fn email(&self) -> Option<&str> {
        self.email.as_deref()
    }

    /// The organization the principal acts in.
    pub fn organization(&self) -> &str {
        &self.organization
    }

    /// The attached secret (API key value), if any.
    pub fn secret(&self) -> Option<&SecretString> {
        self.secret.as_ref()
    }
}
