//! API keys: a high-entropy secret shown once, stored only as a hash in the policy file with
//! its creation and expiry (90 days by default); rotated with a grace period during which
//! the previous secret still works; revoked. The policy's `[[api_keys]]` entries (scopes,
//! creator) are the keys: this module adds their credential and lifecycle.
//!
//! Every change to the policy file goes through a [`Session`], so it needs `manage_api_keys`
//! and is audited (`api_key.created`, `api_key.rotated`, `api_key.revoked`) by key id only.

use super::{AuthError, AuthMethod, Authenticated, Authenticator, bearer};
use crate::audit::AuditAction;
use crate::model::Timestamp;
use crate::policy::{
    Action, ApiKeyCredential, ApiKeyEntry, Policy, PolicyDocument, Principal, RequestContext,
    Resource, ResourceKind,
};
use crate::secret::SecretString;
use crate::session::{Operation, Session};
use crate::{Error, Result};
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Every secret starts with this (so that secret scanners and the [`super::Authenticators`]
/// router recognise it).
pub const SECRET_PREFIX: &str = "fk_";
/// Bytes of randomness in a secret (256 bits).
pub const SECRET_BYTES: usize = 32;
/// How long a new or rotated key lives unless told otherwise.
pub const DEFAULT_LIFETIME_DAYS: u32 = 90;
/// How long the previous secret keeps working after a rotation unless told otherwise.
pub const DEFAULT_GRACE_HOURS: u32 = 24;
/// The longest grace period accepted.
pub const MAX_GRACE_HOURS: u32 = 30 * 24;

const DAY: i64 = 86_400;

/// A new random secret (`fk_` and 43 base64url characters).
pub fn generate_secret() -> Result<SecretString> {
    let mut bytes = zeroize::Zeroizing::new([0u8; SECRET_BYTES]);
    getrandom::fill(bytes.as_mut())
        .map_err(|e| Error::KeyProvider(format!("the OS random source failed: {e}")))?;
    Ok(SecretString::new(format!(
        "{SECRET_PREFIX}{}",
        URL_SAFE_NO_PAD.encode(bytes.as_ref())
    )))
}

/// The stored form of a secret: `sha256:` and its lower-case hex SHA-256. A fast hash is
/// enough because the secret is 256 random bits (no dictionary to try), as for GitHub tokens.
pub fn hash_secret(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

fn hashes_equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

fn days(n: u32) -> i64 {
    i64::from(n) * DAY
}

/// What `firekeep api-key create` asks for.
#[derive(Clone, Debug)]
pub struct NewApiKey {
    /// The key's id (a name such as `ci`; not secret).
    pub id: String,
    /// The organization.
    pub organization: String,
    /// The member creating it (the key never does more than this member).
    pub created_by: String,
    /// Its scopes.
    pub actions: Vec<Action>,
    /// The projects it is limited to, if any.
    pub projects: Option<Vec<String>>,
    /// Lifetime in days ([`DEFAULT_LIFETIME_DAYS`] when `None`).
    pub lifetime_days: Option<u32>,
}

/// Adds a key to `doc` and returns its secret (to show once). The document stays valid: the
/// creator must be a member, the id new in the organization.
pub fn create(doc: &mut PolicyDocument, new: NewApiKey, now: Timestamp) -> Result<SecretString> {
    if new.id.is_empty() || new.id.contains(char::is_whitespace) {
        return Err(Error::InvalidInput(
            "an API key id is a non-empty name without spaces (e.g. ci-backups)".into(),
        ));
    }
    if new.actions.is_empty() {
        return Err(Error::InvalidInput(
            "an API key needs at least one action (its scopes), e.g. create_backup".into(),
        ));
    }
    if doc
        .api_keys
        .iter()
        .any(|k| k.organization == new.organization && k.id == new.id)
    {
        return Err(Error::AlreadyExists(format!(
            "API key '{}' already exists in organization '{}' (revoked ids are not reused); \
             choose another id or rotate it",
            new.id, new.organization
        )));
    }
    let lifetime = new.lifetime_days.unwrap_or(DEFAULT_LIFETIME_DAYS);
    if lifetime == 0 || lifetime > 366 {
        return Err(Error::InvalidInput(
            "an API key lives between 1 and 366 days; rotate it to extend".into(),
        ));
    }
    let secret = generate_secret()?;
    doc.api_keys.push(ApiKeyEntry {
        id: new.id,
        organization: new.organization,
        created_by: new.created_by,
        actions: new.actions,
        projects: new.projects,
        expires_at: Some(now.add_seconds(days(lifetime))?),
        credential: Some(ApiKeyCredential {
            hash: hash_secret(secret.expose()),
            created_at: now,
            rotated_at: None,
            previous_hash: None,
            previous_valid_until: None,
        }),
        revoked_at: None,
    });
    Policy::from_document(doc.clone())?;
    Ok(secret)
}

fn find<'a>(
    doc: &'a mut PolicyDocument,
    organization: &str,
    id: &str,
) -> Result<&'a mut ApiKeyEntry> {
    doc.api_keys
        .iter_mut()
        .find(|k| k.organization == organization && k.id == id)
        .ok_or_else(|| {
            Error::NotFound(format!(
                "no API key '{id}' in organization '{organization}'; `firekeep api-key list` shows them"
            ))
        })
}

/// Gives a key a new secret (returned, to show once) and a new expiry (`lifetime_days`, or
/// [`DEFAULT_LIFETIME_DAYS`]); the previous secret keeps working for `grace_hours` (0: stops
/// now). Revoked keys cannot be rotated.
pub fn rotate(
    doc: &mut PolicyDocument,
    organization: &str,
    id: &str,
    grace_hours: u32,
    lifetime_days: Option<u32>,
    now: Timestamp,
) -> Result<SecretString> {
    if grace_hours > MAX_GRACE_HOURS {
        return Err(Error::InvalidInput(format!(
            "a grace period of {grace_hours} h is longer than the {MAX_GRACE_HOURS} h allowed"
        )));
    }
    let key = find(doc, organization, id)?;
    if let Some(at) = key.revoked_at {
        return Err(Error::InvalidInput(format!(
            "API key '{id}' was revoked at {}; create a new key instead",
            at.to_rfc3339()
        )));
    }
    let secret = generate_secret()?;
    let hash = hash_secret(secret.expose());
    let grace_end = now.add_seconds(i64::from(grace_hours) * 3600)?;
    let (created_at, previous) = match key.credential.take() {
        Some(c) => (c.created_at, (grace_hours > 0).then_some(c.hash)),
        None => (now, None),
    };
    key.credential = Some(ApiKeyCredential {
        hash,
        created_at,
        rotated_at: Some(now),
        previous_valid_until: previous.as_ref().map(|_| grace_end),
        previous_hash: previous,
    });
    key.expires_at = Some(now.add_seconds(days(lifetime_days.unwrap_or(DEFAULT_LIFETIME_DAYS)))?);
    Ok(secret)
}

/// Revokes a key: it fails from `now` on (also its previous secret). The entry stays, so the
/// review lists it and its id is not reused.
pub fn revoke(
    doc: &mut PolicyDocument,
    organization: &str,
    id: &str,
    now: Timestamp,
) -> Result<()> {
    let key = find(doc, organization, id)?;
    if key.revoked_at.is_some() {
        return Err(Error::InvalidInput(format!(
            "API key '{id}' is already revoked"
        )));
    }
    key.revoked_at = Some(now);
    if let Some(c) = &mut key.credential {
        c.previous_hash = None;
        c.previous_valid_until = None;
    }
    Ok(())
}

/// A key's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    /// Works.
    Active,
    /// Works, and its previous secret too until the grace period ends.
    InGrace,
    /// Past its expiry.
    Expired,
    /// Revoked.
    Revoked,
    /// Has no stored hash (a policy entry written by hand): cannot authenticate.
    NoSecret,
}

/// One key as `firekeep api-key list` shows it (never its secret or hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiKeyInfo {
    /// Key id.
    pub id: String,
    /// Organization.
    pub organization: String,
    /// Creator.
    pub created_by: String,
    /// Scopes.
    pub actions: Vec<String>,
    /// Projects, if limited.
    pub projects: Option<Vec<String>>,
    /// Created (RFC 3339).
    pub created_at: Option<String>,
    /// Last rotated.
    pub rotated_at: Option<String>,
    /// Expires.
    pub expires_at: Option<String>,
    /// Revoked.
    pub revoked_at: Option<String>,
    /// State at the time of listing.
    pub state: KeyState,
}

/// The state of `key` at `now`.
pub fn state(key: &ApiKeyEntry, now: Timestamp) -> KeyState {
    if key.revoked_at.is_some() {
        return KeyState::Revoked;
    }
    if key.expires_at.is_some_and(|t| now >= t) {
        return KeyState::Expired;
    }
    match &key.credential {
        None => KeyState::NoSecret,
        Some(c) if c.previous_valid_until.is_some_and(|t| now < t) => KeyState::InGrace,
        Some(_) => KeyState::Active,
    }
}

/// The keys of `organization` (every organization when `None`).
pub fn list(doc: &PolicyDocument, organization: Option<&str>, now: Timestamp) -> Vec<ApiKeyInfo> {
    let ts = |t: Option<Timestamp>| t.map(|t| t.to_rfc3339());
    doc.api_keys
        .iter()
        .filter(|k| organization.is_none_or(|o| k.organization == o))
        .map(|k| ApiKeyInfo {
            id: k.id.clone(),
            organization: k.organization.clone(),
            created_by: k.created_by.clone(),
            actions: k.actions.iter().map(|a| a.as_str().to_string()).collect(),
            projects: k.projects.clone(),
            created_at: ts(k.credential.as_ref().map(|c| c.created_at)),
            rotated_at: ts(k.credential.as_ref().and_then(|c| c.rotated_at)),
            expires_at: ts(k.expires_at),
            revoked_at: ts(k.revoked_at),
            state: state(k, now),
        })
        .collect()
}

/// Finds the key whose current (or, in its grace period, previous) secret is `secret` and
/// checks it is usable at `now`.
pub fn verify_secret<'a>(
    doc: &'a PolicyDocument,
    organization: &str,
    secret: &str,
    now: Timestamp,
) -> std::result::Result<&'a ApiKeyEntry, AuthError> {
    if !secret.starts_with(SECRET_PREFIX) || secret.len() > 256 {
        return Err(AuthError::UnknownApiKey);
    }
    let hash = hash_secret(secret);
    let key = doc
        .api_keys
        .iter()
        .filter(|k| k.organization == organization)
        .find(|k| {
            k.credential.as_ref().is_some_and(|c| {
                hashes_equal(&c.hash, &hash)
                    || (c
                        .previous_hash
                        .as_deref()
                        .is_some_and(|p| hashes_equal(p, &hash))
                        && c.previous_valid_until.is_some_and(|t| now < t))
            })
        })
        .ok_or(AuthError::UnknownApiKey)?;
    if key.revoked_at.is_some() {
        return Err(AuthError::ApiKeyRevoked {
            key: key.id.clone(),
        });
    }
    if let Some(at) = key.expires_at.filter(|t| now >= *t) {
        return Err(AuthError::ApiKeyExpired {
            key: key.id.clone(),
            at: at.to_rfc3339(),
        });
    }
    let creator_disabled = doc.members.iter().any(|m| {
        m.organization == organization && m.id == key.created_by && m.disabled_at.is_some()
    });
    if creator_disabled {
        return Err(AuthError::MemberDisabled);
    }
    Ok(key)
}

/// Authenticates `Bearer fk_…` callers as the API key of the policy whose secret it is.
pub struct ApiKeyAuthenticator {
    policy: Arc<Policy>,
    organization: String,
    clock: Arc<dyn Fn() -> Timestamp + Send + Sync>,
}

impl ApiKeyAuthenticator {
    /// Checks secrets against the keys of `organization` in `policy`.
    pub fn new(policy: Arc<Policy>, organization: impl Into<String>) -> Self {
        ApiKeyAuthenticator {
            policy,
            organization: organization.into(),
            clock: Arc::new(Timestamp::now),
        }
    }

    /// Uses another clock (tests).
    pub fn with_clock(mut self, clock: impl Fn() -> Timestamp + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }
}

#[async_trait]
impl Authenticator for ApiKeyAuthenticator {
    async fn authenticate(
        &self,
        authorization: &str,
    ) -> std::result::Result<Authenticated, AuthError> {
        let secret = bearer(authorization)?;
        let key = verify_secret(
            self.policy.document(),
            &self.organization,
            secret,
            (self.clock)(),
        )?;
        Ok(Authenticated {
            principal: Principal::api_key(&self.organization, &key.id)
                .with_secret(SecretString::new(secret)),
            context: RequestContext::default(),
            method: AuthMethod::ApiKey,
            expires_at: key.expires_at,
        })
    }
}

/// Reads a policy file, applies `edit` to its document, checks the result compiles and
/// writes it back in the same syntax (JSON by a `.json` extension, else TOML), replacing the
/// file atomically. TOML comments are not kept.
pub fn edit_policy_file<T>(
    path: &Path,
    edit: impl FnOnce(&mut PolicyDocument) -> Result<T>,
) -> Result<T> {
    let policy = Policy::from_file(path)?;
    let mut doc = policy.document().clone();
    let out = edit(&mut doc)?;
    Policy::from_document(doc.clone())?;
    let json = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let text = if json { doc.to_json() } else { doc.to_toml() };
    let tmp = path.with_extension("tmp-firekeep");
    std::fs::write(&tmp, text.as_bytes())
        .map_err(|e| Error::io(format!("writing {}", tmp.display()), e))?;
    std::fs::rename(&tmp, path)
        .map_err(|e| Error::io(format!("replacing policy file {}", path.display()), e))?;
    Ok(out)
}

fn key_operation(session: &Session, id: &str, success: AuditAction) -> Operation {
    Operation::new(
        Action::ManageApiKeys,
        Resource::organization(session.organization()).of(ResourceKind::ApiKey, id),
        success,
        AuditAction::ApiKeyOperationFailed,
    )
}

/// Creates a key in the policy file as `session`'s principal (who needs `manage_api_keys`
/// and becomes the creator), audited as `api_key.created`. Returns the secret to show once.
pub async fn create_in_file(
    session: &Session,
    path: &Path,
    mut new: NewApiKey,
) -> Result<SecretString> {
    new.organization = session.organization().to_string();
    new.created_by = session.principal().id().to_string();
    let op = key_operation(session, &new.id, AuditAction::ApiKeyCreated)
        .detail("key_id", new.id.clone())
        .detail(
            "expires_in_days",
            new.lifetime_days.unwrap_or(DEFAULT_LIFETIME_DAYS),
        );
    session
        .perform(op, || async {
            edit_policy_file(path, |doc| create(doc, new, Timestamp::now())).map(Redacted)
        })
        .await
        .map(|r| r.0)
}

/// Rotates a key in the policy file, audited as `api_key.rotated` (failures as
/// `api_key.operation_failed`). Returns the new secret to show once.
pub async fn rotate_in_file(
    session: &Session,
    path: &Path,
    id: &str,
    grace_hours: u32,
    lifetime_days: Option<u32>,
) -> Result<SecretString> {
    let org = session.organization().to_string();
    let op = key_operation(session, id, AuditAction::ApiKeyRotated)
        .detail("key_id", id)
        .detail("grace_hours", grace_hours);
    session
        .perform(op, || async {
            edit_policy_file(path, |doc| {
                rotate(doc, &org, id, grace_hours, lifetime_days, Timestamp::now())
            })
            .map(Redacted)
        })
        .await
        .map(|r| r.0)
}

/// Revokes a key in the policy file, audited as `api_key.revoked`.
pub async fn revoke_in_file(session: &Session, path: &Path, id: &str) -> Result<()> {
    let org = session.organization().to_string();
    let op = key_operation(session, id, AuditAction::ApiKeyRevoked).detail("key_id", id);
    session
        .perform(op, || async {
            edit_policy_file(path, |doc| revoke(doc, &org, id, Timestamp::now()))
        })
        .await
}

/// A secret passing through an audited operation: contributes nothing to its event.
struct Redacted(SecretString);

impl crate::session::AuditDetails for Redacted {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::MemberEntry;

    fn doc() -> PolicyDocument {
        PolicyDocument {
            members: vec![MemberEntry {
                id: "alice".into(),
                email: None,
                organization: "acme".into(),
                role: Some("admin".into()),
                projects: Default::default(),
                expires_at: None,
                disabled_at: None,
            }],
            ..PolicyDocument::default()
        }
    }

    fn new_key(id: &str) -> NewApiKey {
        NewApiKey {
            id: id.into(),
            organization: "acme".into(),
            created_by: "alice".into(),
            actions: vec![Action::CreateBackup],
            projects: None,
            lifetime_days: None,
        }
    }

    #[test]
    fn secrets_are_random_prefixed_and_stored_only_as_hashes() {
        let mut d = doc();
        let t0 = Timestamp::new(1_800_000_000, 0).unwrap();
        let s1 = create(&mut d, new_key("ci"), t0).unwrap();
        let s2 = create(&mut d, new_key("ci2"), t0).unwrap();
        assert_ne!(s1.expose(), s2.expose());
        assert!(s1.expose().starts_with("fk_") && s1.expose().len() == 3 + 43);
        let text = d.to_toml() + &d.to_json();
        assert!(!text.contains(s1.expose()) && !text.contains(&s1.expose()[3..]));
        assert!(text.contains(&hash_secret(s1.expose())));
        assert_eq!(
            d.api_keys[0].expires_at,
            Some(t0.add_seconds(90 * DAY).unwrap())
        );
        assert!(create(&mut d, new_key("ci"), t0).is_err());
        // The document read back from TOML is the same.
        let back = Policy::from_toml(&d.to_toml()).unwrap();
        assert_eq!(back.document(), &d);
    }

    #[test]
    fn rotation_keeps_the_old_secret_for_the_grace_period_and_revocation_stops_both() {
        let mut d = doc();
        let t0 = Timestamp::new(1_800_000_000, 0).unwrap();
        let old = create(&mut d, new_key("ci"), t0).unwrap();
        let t1 = t0.add_seconds(DAY).unwrap();
        let new = rotate(&mut d, "acme", "ci", 2, None, t1).unwrap();
        let at = |h: i64| t1.add_seconds(h * 3600).unwrap();
        assert_eq!(
            verify_secret(&d, "acme", old.expose(), at(1)).unwrap().id,
            "ci"
        );
        assert_eq!(
            verify_secret(&d, "acme", new.expose(), at(1)).unwrap().id,
            "ci"
        );
        assert_eq!(
            verify_secret(&d, "acme", old.expose(), at(2)).unwrap_err(),
            AuthError::UnknownApiKey
        );
        assert_eq!(state(&d.api_keys[0], at(1)), KeyState::InGrace);
        assert_eq!(state(&d.api_keys[0], at(3)), KeyState::Active);
        // Expired 90 days after the rotation.
        let late = t1.add_seconds(90 * DAY).unwrap();
        assert!(matches!(
            verify_secret(&d, "acme", new.expose(), late),
            Err(AuthError::ApiKeyExpired { .. })
        ));
        revoke(&mut d, "acme", "ci", at(3)).unwrap();
        assert_eq!(
            verify_secret(&d, "acme", new.expose(), at(4)).unwrap_err(),
            AuthError::ApiKeyRevoked { key: "ci".into() }
        );
        assert!(rotate(&mut d, "acme", "ci", 0, None, at(5)).is_err());
        // Another organization's key is never matched.
        assert_eq!(
            verify_secret(&d, "other", new.expose(), at(1)).unwrap_err(),
            AuthError::UnknownApiKey
        );
    }
}
