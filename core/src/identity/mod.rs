//! Who is calling: turning a presented credential (an `Authorization` header value) into a
//! [`Principal`] of the policy, plus API-key lifecycle, access reviews and alerts.
//!
//! * [`Authenticator`]: the trait every front end calls with the header it received.
//! * [`jwt`]: JSON Web Tokens (RS256/ES256 against a key set, HS256 with a shared secret),
//!   with presets for Google and Firebase ID tokens. Fetching a JWKS over HTTP lives in the
//!   `firekeep-oidc` connector; the core only verifies.
//! * [`api_keys`]: high-entropy API-key secrets stored only as hashes in the policy file,
//!   created, rotated with a grace period, revoked.
//! * [`review`]: the access review (inactivity, key rotation, MFA for admins, expired grants).
//! * [`alerts`]: rules over audit events as they are appended, and where alerts go.
//!
//! Errors are [`AuthError`]s: typed, and built from fixed text only, so that no credential
//! (token, key secret) can reach an error message, a log line or an audit event.

pub mod alerts;
pub mod api_keys;
pub mod jwt;
pub mod review;

use crate::audit::{Actor, AuditAction, AuditEvent, AuditSink, EventContext, EventResource};
use crate::model::Timestamp;
use crate::policy::{Policy, Principal, RequestContext};
use crate::session::Session;
use async_trait::async_trait;
use serde_json::Value;
use std::sync::Arc;

/// Why a credential was not accepted. Messages say what to do and never contain the
/// credential (nor any text taken from it).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No credential was presented.
    #[error("no credential was presented; send `Authorization: Bearer <token or API key>`")]
    Missing,
    /// The header is not `Bearer <credential>`.
    #[error("the Authorization header must be `Bearer <token or API key>`")]
    UnsupportedScheme,
    /// The token is not a well-formed compact JWS.
    #[error("the token is malformed ({0}); send the ID token exactly as issued")]
    Malformed(&'static str),
    /// The token's `alg` is not the one the verifying key is for (`none`, HS/RS confusion).
    #[error(
        "the token's signature algorithm does not match the issuer's key (alg `none` and \
         algorithm substitution are refused)"
    )]
    AlgorithmMismatch,
    /// No key of the issuer has the token's key id.
    #[error("the token names a signing key the issuer does not publish; get a fresh token")]
    UnknownKey,
    /// The signature does not verify.
    #[error("the token's signature does not verify; get a fresh token from the issuer")]
    BadSignature,
    /// `exp` has passed (beyond the allowed clock skew).
    #[error("the token expired at {at}; get a fresh token")]
    Expired {
        /// When (RFC 3339).
        at: String,
    },
    /// `nbf` is still in the future (beyond the allowed clock skew).
    #[error("the token is not valid before {at}; check the clocks")]
    NotYetValid {
        /// When (RFC 3339).
        at: String,
    },
    /// `iat` is in the future (beyond the allowed clock skew).
    #[error("the token was issued in the future; check the clocks")]
    IssuedInFuture,
    /// `iss` is not an accepted issuer.
    #[error("the token was issued by an issuer this service does not accept")]
    WrongIssuer,
    /// `aud` does not name this service.
    #[error("the token is for another audience (client id / project) than this service")]
    WrongAudience,
    /// A required claim is missing or has the wrong type.
    #[error("the token lacks the `{0}` claim or it has the wrong type")]
    MissingClaim(&'static str),
    /// The key set could not be obtained (network, bad JWKS).
    #[error("the issuer's signing keys could not be fetched: {0}")]
    KeySource(String),
    /// The verified identity is not a member of the organization.
    #[error(
        "the caller is not a member of organization '{organization}' (matched by subject, or \
         by a verified e-mail); ask an owner or admin to add it to the policy"
    )]
    NotAMember {
        /// The organization.
        organization: String,
    },
    /// The member was disabled.
    #[error("the member was disabled; ask an owner or admin to re-enable it")]
    MemberDisabled,
    /// No API key of the policy has this secret.
    #[error("the API key is not known (never created, or rotated past its grace period)")]
    UnknownApiKey,
    /// The API key was revoked.
    #[error("API key '{key}' was revoked; use a current key")]
    ApiKeyRevoked {
        /// The key id (never the secret).
        key: String,
    },
    /// The API key expired.
    #[error("API key '{key}' expired at {at}; rotate it (`firekeep api-key rotate {key}`)")]
    ApiKeyExpired {
        /// The key id.
        key: String,
        /// When (RFC 3339).
        at: String,
    },
}

impl AuthError {
    /// A stable code for audit events and bindings (`expired`, `bad_signature` ...).
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::Missing => "missing",
            AuthError::UnsupportedScheme => "unsupported_scheme",
            AuthError::Malformed(_) => "malformed",
            AuthError::AlgorithmMismatch => "algorithm_mismatch",
            AuthError::UnknownKey => "unknown_key",
            AuthError::BadSignature => "bad_signature",
            AuthError::Expired { .. } => "expired",
            AuthError::NotYetValid { .. } => "not_yet_valid",
            AuthError::IssuedInFuture => "issued_in_future",
            AuthError::WrongIssuer => "wrong_issuer",
            AuthError::WrongAudience => "wrong_audience",
            AuthError::MissingClaim(_) => "missing_claim",
            AuthError::KeySource(_) => "key_source",
            AuthError::NotAMember { .. } => "not_a_member",
            AuthError::MemberDisabled => "member_disabled",
            AuthError::UnknownApiKey => "unknown_api_key",
            AuthError::ApiKeyRevoked { .. } => "api_key_revoked",
            AuthError::ApiKeyExpired { .. } => "api_key_expired",
        }
    }
}

impl From<AuthError> for crate::Error {
    fn from(e: AuthError) -> Self {
        crate::Error::Unauthenticated(e.to_string())
    }
}

/// How the caller authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    /// A JSON Web Token (OIDC ID token, Firebase ID token, HS256 token).
    Jwt,
    /// An API key.
    ApiKey,
}

impl AuthMethod {
    /// `jwt` or `api_key`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Jwt => "jwt",
            AuthMethod::ApiKey => "api_key",
        }
    }
}

/// Who is calling, once their credential is verified.
#[derive(Clone, Debug)]
pub struct Authenticated {
    /// The policy principal (a member, or an API key by its id).
    pub principal: Principal,
    /// The request context the credential proves (`mfa` from the token's second factor).
    pub context: RequestContext,
    /// How.
    pub method: AuthMethod,
    /// When the credential stops being valid, if it says.
    pub expires_at: Option<Timestamp>,
}

/// What a front end shows of an [`Authenticated`] caller (never the credential).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Identity {
    /// `user:ID` or `apikey:ID`: what a session's `principal` option takes.
    pub principal: String,
    /// `user` or `api_key`.
    pub kind: String,
    /// The member or key id.
    pub id: String,
    /// The member's e-mail, if known.
    pub email: Option<String>,
    /// The organization.
    pub organization: String,
    /// Whether a second factor was used.
    pub mfa: bool,
    /// `jwt` or `api_key`.
    pub method: String,
    /// When the credential expires (RFC 3339), if it says.
    pub expires_at: Option<String>,
}

impl Authenticated {
    /// The caller as front ends show it.
    pub fn identity(&self) -> Identity {
        let p = &self.principal;
        let prefix = match p.kind() {
            crate::policy::PrincipalKind::User => "user",
            crate::policy::PrincipalKind::ApiKey => "apikey",
        };
        Identity {
            principal: format!("{prefix}:{}", p.id()),
            kind: p.kind().as_str().to_string(),
            id: p.id().to_string(),
            email: p.email().map(str::to_string),
            organization: p.organization().to_string(),
            mfa: self.context.mfa,
            method: self.method.as_str().to_string(),
            expires_at: self.expires_at.map(|t| t.to_rfc3339()),
        }
    }

    /// A session acting as the caller, with its context (`ip`/`user_agent` from `context`
    /// are kept when the credential does not set them).
    pub fn session(
        &self,
        policy: Arc<Policy>,
        audit: Arc<dyn AuditSink>,
        mut context: RequestContext,
    ) -> Session {
        context.mfa = self.context.mfa;
        Session::new(self.principal.clone(), policy, audit).with_context(context)
    }
}

/// Turns a presented credential into a principal of the policy.
#[async_trait]
pub trait Authenticator: Send + Sync {
    /// Verifies `authorization` (an `Authorization` header value: `Bearer <credential>`).
    async fn authenticate(&self, authorization: &str) -> Result<Authenticated, AuthError>;
}

/// The credential of a `Bearer` header. Other schemes are refused.
pub fn bearer(authorization: &str) -> Result<&str, AuthError> {
    let value = authorization.trim();
    if value.is_empty() {
        return Err(AuthError::Missing);
    }
    let (scheme, rest) = value.split_once(' ').ok_or(AuthError::UnsupportedScheme)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::UnsupportedScheme);
    }
    let credential = rest.trim();
    if credential.is_empty() {
        return Err(AuthError::Missing);
    }
    Ok(credential)
}

/// Several ways in, one header: API keys (recognised by their `fk_` prefix) go to the API-key
/// authenticator, anything else to the token authenticators, tried in order until one
/// accepts the token's issuer. Failures are recorded as `authentication.failed` events (the
/// reason's code, never the credential) when an audit sink is given.
pub struct Authenticators {
    api_keys: Option<Arc<dyn Authenticator>>,
    tokens: Vec<Arc<dyn Authenticator>>,
    audit: Option<(Arc<dyn AuditSink>, String)>,
}

impl Authenticators {
    /// No way in yet.
    pub fn new() -> Self {
        Authenticators {
            api_keys: None,
            tokens: Vec::new(),
            audit: None,
        }
    }

    /// Accepts API keys.
    pub fn with_api_keys(mut self, a: Arc<dyn Authenticator>) -> Self {
        self.api_keys = Some(a);
        self
    }

    /// Accepts tokens this authenticator verifies.
    pub fn with_tokens(mut self, a: Arc<dyn Authenticator>) -> Self {
        self.tokens.push(a);
        self
    }

    /// Records failures in `sink` as events of `organization`.
    pub fn with_audit(mut self, sink: Arc<dyn AuditSink>, organization: impl Into<String>) -> Self {
        self.audit = Some((sink, organization.into()));
        self
    }

    async fn route(&self, authorization: &str) -> Result<Authenticated, AuthError> {
        let credential = bearer(authorization)?;
        if credential.starts_with(api_keys::SECRET_PREFIX) {
            return match &self.api_keys {
                Some(a) => a.authenticate(authorization).await,
                None => Err(AuthError::UnsupportedScheme),
            };
        }
        let mut last = AuthError::UnsupportedScheme;
        for a in &self.tokens {
            match a.authenticate(authorization).await {
                Err(AuthError::WrongIssuer) => last = AuthError::WrongIssuer,
                other => return other,
            }
        }
        Err(last)
    }
}

impl Default for Authenticators {
    fn default() -> Self {
        Authenticators::new()
    }
}

#[async_trait]
impl Authenticator for Authenticators {
    async fn authenticate(&self, authorization: &str) -> Result<Authenticated, AuthError> {
        let outcome = self.route(authorization).await;
        if let (Err(e), Some((sink, org))) = (&outcome, &self.audit) {
            let mut event = AuditEvent::new(
                AuditAction::AuthenticationFailed,
                Actor {
                    kind: "system".into(),
                    id: "authenticator".into(),
                    email: None,
                },
                EventResource {
                    kind: "organization".into(),
                    id: org.clone(),
                },
                org.clone(),
            );
            event.context = EventContext::default();
            event
                .details
                .insert("reason".into(), Value::String(e.code().into()));
            // An unrecordable failure is still a failure: the caller is refused either way.
            let _ = sink.append(&[event]).await;
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bearer_is_accepted() {
        assert_eq!(bearer("Bearer abc").unwrap(), "abc");
        assert_eq!(bearer("bearer   abc ").unwrap(), "abc");
        assert_eq!(bearer("Basic abc"), Err(AuthError::UnsupportedScheme));
        assert_eq!(bearer("abc"), Err(AuthError::UnsupportedScheme));
        assert_eq!(bearer(""), Err(AuthError::Missing));
        assert_eq!(bearer("Bearer  "), Err(AuthError::UnsupportedScheme));
    }
}
