//! Who is calling: `Authenticator` over the core's authenticators (built by
//! `firekeep_oidc::AuthenticatorOptions`), the `Identity` it resolves with (which a `Client`
//! acts as: `identity` option), and API-key and access-review operations on a policy file.

use crate::errors::{js_err, to_json, type_err};
use crate::runtime::spawn;
use firekeep_core::identity::{Authenticated, Authenticator as _, Authenticators};
use firekeep_core::secret::SecretBytes;
use firekeep_core::setup::{AuditChoice, PolicySource, SessionOptions};
use firekeep_oidc::AuthenticatorOptions as CoreOptions;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::path::PathBuf;
use std::sync::Arc;

/// A verified caller (never holds anything printable of its credential).
#[napi]
pub struct Identity {
    pub(crate) inner: Authenticated,
}

#[napi]
impl Identity {
    /// `user:ID` or `apikey:ID`.
    #[napi(getter)]
    pub fn principal(&self) -> String {
        self.inner.identity().principal
    }

    /// principal, kind, id, email, organization, mfa, method, expires_at as JSON.
    #[napi]
    pub fn to_json_string(&self) -> String {
        to_json(&self.inner.identity())
    }
}

/// An OIDC issuer whose ID tokens are accepted.
#[napi(object)]
pub struct OidcIssuer {
    pub issuer: String,
    pub audience: String,
    pub jwks_url: String,
}

/// HS256 tokens signed with a shared secret.
#[napi(object)]
pub struct Hs256Issuer {
    pub issuer: String,
    pub audience: String,
    pub secret: Buffer,
}

/// Which ways in are accepted (see `docs/identity.md`).
#[napi(object)]
pub struct AuthenticatorOptions {
    /// Policy text (TOML or JSON) or a path to a policy file.
    pub policy: String,
    /// Default `default`.
    pub organization: Option<String>,
    /// Accept the policy's API keys (default true).
    pub api_keys: Option<bool>,
    pub google_client_id: Option<String>,
    pub firebase_project: Option<String>,
    pub oidc: Option<OidcIssuer>,
    pub hs256: Option<Hs256Issuer>,
}

/// Verifies `Authorization` header values against a policy.
#[napi]
pub struct Authenticator {
    inner: Arc<Authenticators>,
}

#[napi]
impl Authenticator {
    #[napi(constructor)]
    pub fn new(options: AuthenticatorOptions) -> Result<Self> {
        let policy = PolicySource::Text(options.policy).load().map_err(js_err)?;
        let core = CoreOptions {
            organization: options.organization.unwrap_or_else(|| "default".into()),
            api_keys: options.api_keys.unwrap_or(true),
            google_client_id: options.google_client_id,
            firebase_project: options.firebase_project,
            oidc: options.oidc.map(|o| (o.issuer, o.audience, o.jwks_url)),
            hs256: options
                .hs256
                .map(|h| (h.issuer, h.audience, SecretBytes::new(h.secret.to_vec()))),
            audit: None,
        };
        let inner = core.build(Arc::new(policy)).map_err(js_err)?;
        Ok(Authenticator {
            inner: Arc::new(inner),
        })
    }

    /// Verifies the header value; resolves with the caller, rejects with
    /// `ERR_UNAUTHENTICATED` (never echoing the credential).
    #[napi(ts_return_type = "Promise<Identity>")]
    pub fn authenticate<'e>(
        &self,
        env: &'e Env,
        authorization: Option<String>,
    ) -> Result<PromiseRaw<'e, Identity>> {
        let header = authorization.unwrap_or_default();
        if header.len() > 64 * 1024 {
            return Err(type_err("the Authorization header is longer than 64 KiB"));
        }
        let a = self.inner.clone();
        spawn(env, async move {
            let inner = a.authenticate(&header).await?;
            Ok(Identity { inner })
        })
    }
}

/// Who manages keys or reviews access, on which policy file and trail.
#[napi(object)]
pub struct AdminOptions {
    /// The policy file.
    pub policy: String,
    /// `user:ID` or `user:EMAIL` of a member allowed to manage keys / the team.
    pub principal: String,
    pub organization: Option<String>,
    /// The JSONL audit trail (default: in memory, lost).
    pub audit: Option<String>,
}

fn admin_session(o: &AdminOptions) -> Result<firekeep_core::session::Session> {
    let options = SessionOptions {
        organization: o.organization.clone().unwrap_or_else(|| "default".into()),
        principal: Some(o.principal.clone()),
        policy: Some(PolicySource::File(PathBuf::from(&o.policy))),
        audit: o
            .audit
            .clone()
            .map_or(AuditChoice::Memory, |p| AuditChoice::File(p.into())),
        principal_hint: "pass principal: \"user:EMAIL\"".into(),
        ..SessionOptions::default()
    };
    Ok(options.build().map_err(js_err)?.0)
}

/// Creates an API key; resolves with its secret (shown once).
#[napi(ts_return_type = "Promise<string>")]
pub fn api_key_create<'e>(
    env: &'e Env,
    options: AdminOptions,
    key_id: String,
    actions: Vec<String>,
    projects: Option<Vec<String>>,
    expires_in_days: Option<u32>,
) -> Result<PromiseRaw<'e, String>> {
    use firekeep_core::identity::api_keys::{NewApiKey, create_in_file};
    let session = admin_session(&options)?;
    let actions = actions
        .iter()
        .map(|a| a.parse())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(js_err)?;
    let new = NewApiKey {
        id: key_id,
        organization: String::new(),
        created_by: String::new(),
        actions,
        projects,
        lifetime_days: expires_in_days,
    };
    let path = PathBuf::from(options.policy);
    spawn(env, async move {
        Ok(create_in_file(&session, &path, new)
            .await?
            .expose()
            .to_string())
    })
}

/// Rotates an API key; resolves with the new secret.
#[napi(ts_return_type = "Promise<string>")]
pub fn api_key_rotate<'e>(
    env: &'e Env,
    options: AdminOptions,
    key_id: String,
    grace_hours: Option<u32>,
    expires_in_days: Option<u32>,
) -> Result<PromiseRaw<'e, String>> {
    let session = admin_session(&options)?;
    let path = PathBuf::from(options.policy);
    spawn(env, async move {
        let s = firekeep_core::identity::api_keys::rotate_in_file(
            &session,
            &path,
            &key_id,
            grace_hours.unwrap_or(firekeep_core::identity::api_keys::DEFAULT_GRACE_HOURS),
            expires_in_days,
        )
        .await?;
        Ok(s.expose().to_string())
    })
}

/// Revokes an API key.
#[napi(ts_return_type = "Promise<void>")]
pub fn api_key_revoke<'e>(
    env: &'e Env,
    options: AdminOptions,
    key_id: String,
) -> Result<PromiseRaw<'e, ()>> {
    let session = admin_session(&options)?;
    let path = PathBuf::from(options.policy);
    spawn(env, async move {
        firekeep_core::identity::api_keys::revoke_in_file(&session, &path, &key_id).await
    })
}

/// The keys of a policy file as JSON (never secrets or hashes).
#[napi]
pub fn api_key_list(policy: String, organization: Option<String>) -> Result<String> {
    let p =
        firekeep_core::policy::Policy::from_file(std::path::Path::new(&policy)).map_err(js_err)?;
    let org = organization.unwrap_or_else(|| "default".into());
    Ok(to_json(&firekeep_core::identity::api_keys::list(
        p.document(),
        Some(&org),
        firekeep_core::model::Timestamp::now(),
    )))
}

/// The access review as JSON; `applyInactive` disables inactive members in the file.
#[napi(ts_return_type = "Promise<string>")]
pub fn access_review<'e>(
    env: &'e Env,
    options: AdminOptions,
    inactive_days: Option<u32>,
    rotation_days: Option<u32>,
    apply_inactive: Option<bool>,
) -> Result<PromiseRaw<'e, String>> {
    use firekeep_core::identity::review::{self, ReviewOptions};
    let session = admin_session(&options)?;
    let path = PathBuf::from(options.policy);
    let defaults = ReviewOptions::default();
    let opts = ReviewOptions {
        inactive_days: inactive_days.unwrap_or(defaults.inactive_days),
        rotation_days: rotation_days.unwrap_or(defaults.rotation_days),
    };
    spawn(env, async move {
        let r = review::run(&session, opts).await?;
        if apply_inactive.unwrap_or(false) {
            review::apply_inactive(&session, &path, &r).await?;
        }
        Ok(to_json(&r))
    })
}
