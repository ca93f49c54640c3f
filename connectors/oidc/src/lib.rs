//! firekeep identity over the network: a [`JwksKeySource`] that fetches an issuer's JSON Web
//! Key Set over HTTPS (cached by `Cache-Control`, refreshed on an unknown `kid` at most once
//! per interval) for the core's [`JwtVerifier`], presets for Google and Firebase ID tokens,
//! and a [`WebhookAlertSink`] that POSTs alerts with an HMAC-SHA256 signature header.
//!
//! Verification itself (signatures, claims, member mapping) is the core's
//! (`firekeep_core::identity`); this crate only moves bytes.

use async_trait::async_trait;
use firekeep_core::identity::alerts::{Alert, AlertSink};
use firekeep_core::identity::api_keys::ApiKeyAuthenticator;
use firekeep_core::identity::jwt::{
    FIREBASE_JWKS_URL, GOOGLE_JWKS_URL, JwtAuthenticator, JwtConfig, JwtKey, JwtVerifier,
    KeySource, StaticKeys, parse_jwks, select_keys,
};
use firekeep_core::identity::{AuthError, Authenticators};
use firekeep_core::policy::Policy;
use firekeep_core::secret::SecretBytes;
use firekeep_core::{Error, Result};
use hmac::{Hmac, Mac};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::Mutex;

/// The largest JWKS read (Google's is ~2 KiB).
pub const MAX_JWKS_BYTES: usize = 256 * 1024;
/// How long keys are kept when the response has no `max-age`.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);
/// The longest `max-age` honoured.
pub const MAX_MAX_AGE: Duration = Duration::from_secs(24 * 3600);
/// The shortest time between two fetches caused by unknown key ids.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(60);

/// `https://`, or `http://` to a loopback address (tests, a local issuer).
fn check_url(url: &str) -> Result<reqwest::Url> {
    let u = reqwest::Url::parse(url)
        .map_err(|e| Error::InvalidConfig(format!("{url:?} is not a URL: {e}")))?;
    let loopback = matches!(
        u.host_str(),
        Some("127.0.0.1") | Some("localhost") | Some("[::1]")
    );
    match u.scheme() {
        "https" => Ok(u),
        "http" if loopback => Ok(u),
        _ => Err(Error::InvalidConfig(format!(
            "{url:?}: keys and alerts go over https:// (http:// only to 127.0.0.1/localhost)"
        ))),
    }
}

/// `max-age` of a `Cache-Control` value; `no-store`/`no-cache` mean zero.
pub fn max_age(cache_control: Option<&str>) -> Duration {
    let Some(v) = cache_control else {
        return DEFAULT_MAX_AGE;
    };
    let mut age = None;
    for d in v.split(',').map(str::trim) {
        let d = d.to_ascii_lowercase();
        if d == "no-store" || d == "no-cache" {
            return Duration::ZERO;
        }
        if let Some(n) = d.strip_prefix("max-age=") {
            age = n
                .trim_matches('"')
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs);
        }
    }
    age.unwrap_or(DEFAULT_MAX_AGE).min(MAX_MAX_AGE)
}

struct Cache {
    keys: Vec<JwtKey>,
    fetched_at: Option<Instant>,
    fresh_until: Option<Instant>,
}

/// An issuer's key set fetched from its JWKS URL.
pub struct JwksKeySource {
    url: reqwest::Url,
    http: reqwest::Client,
    refresh_interval: Duration,
    cache: Mutex<Cache>,
    fetches: std::sync::atomic::AtomicU64,
}

impl JwksKeySource {
    /// Keys from `url` (https, or http to loopback).
    pub fn new(url: &str) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::InvalidConfig(format!("HTTP client: {e}")))?;
        Ok(JwksKeySource {
            url: check_url(url)?,
            http,
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
            cache: Mutex::new(Cache {
                keys: Vec::new(),
                fetched_at: None,
                fresh_until: None,
            }),
            fetches: Default::default(),
        })
    }

    /// At most one refresh for unknown key ids per `interval`.
    pub fn with_refresh_interval(mut self, interval: Duration) -> Self {
        self.refresh_interval = interval;
        self
    }

    /// How many times the key set was fetched.
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn fetch(&self, cache: &mut Cache) -> std::result::Result<(), AuthError> {
        self.fetches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let now = Instant::now();
        // Counted as a fetch even when it fails, so a down issuer is not hammered.
        cache.fetched_at = Some(now);
        let fail = |what: String| AuthError::KeySource(format!("{}: {what}", self.url));
        let mut resp = self
            .http
            .get(self.url.clone())
            .send()
            .await
            .map_err(|e| fail(format!("request failed ({})", e.without_url())))?;
        if !resp.status().is_success() {
            return Err(fail(format!("HTTP {}", resp.status())));
        }
        let age = max_age(
            resp.headers()
                .get(reqwest::header::CACHE_CONTROL)
                .and_then(|v| v.to_str().ok()),
        );
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| fail(format!("reading the body ({})", e.without_url())))?
        {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(fail(format!("larger than {MAX_JWKS_BYTES} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        let keys = parse_jwks(&body).map_err(|e| fail(e.to_string()))?;
        cache.keys = keys;
        cache.fresh_until = Some(now + age);
        Ok(())
    }
}

#[async_trait]
impl KeySource for JwksKeySource {
    async fn keys_for(&self, kid: Option<&str>) -> std::result::Result<Vec<JwtKey>, AuthError> {
        let mut cache = self.cache.lock().await;
        let now = Instant::now();
        if cache.fresh_until.is_none_or(|t| now >= t) {
            self.fetch(&mut cache).await?;
            return Ok(select_keys(&cache.keys, kid));
        }
        let found = select_keys(&cache.keys, kid);
        let may_refresh = cache
            .fetched_at
            .is_none_or(|t| now.duration_since(t) >= self.refresh_interval);
        if found.is_empty() && kid.is_some() && may_refresh {
            // The issuer may have rotated its keys since we fetched.
            self.fetch(&mut cache).await?;
            return Ok(select_keys(&cache.keys, kid));
        }
        Ok(found)
    }
}

/// Google ID tokens for OAuth client `client_id`, mapped to members of `organization`.
pub fn google_id_tokens(
    client_id: &str,
    policy: Arc<Policy>,
    organization: &str,
) -> Result<JwtAuthenticator> {
    let keys = Arc::new(JwksKeySource::new(GOOGLE_JWKS_URL)?);
    let verifier = JwtVerifier::new(JwtConfig::google(client_id), keys);
    Ok(JwtAuthenticator::new(verifier, policy, organization))
}

/// Firebase Auth ID tokens of Firebase project `project_id`, mapped to members of
/// `organization` (the second factor sets `mfa`).
pub fn firebase_id_tokens(
    project_id: &str,
    policy: Arc<Policy>,
    organization: &str,
) -> Result<JwtAuthenticator> {
    let keys = Arc::new(JwksKeySource::new(FIREBASE_JWKS_URL)?);
    let verifier = JwtVerifier::new(JwtConfig::firebase(project_id), keys);
    Ok(JwtAuthenticator::new(verifier, policy, organization))
}

/// Any OIDC issuer: tokens from `issuer` for `audience`, keys from `jwks_url`.
pub fn oidc_tokens(
    issuer: &str,
    audience: &str,
    jwks_url: &str,
    policy: Arc<Policy>,
    organization: &str,
) -> Result<JwtAuthenticator> {
    let keys = Arc::new(JwksKeySource::new(jwks_url)?);
    let verifier = JwtVerifier::new(JwtConfig::new(issuer, audience), keys);
    Ok(JwtAuthenticator::new(verifier, policy, organization))
}

/// The header carrying the signature: `sha256=` and the hex HMAC-SHA256, keyed by the
/// shared secret, of `<timestamp>.<body>` (the timestamp is in [`TIMESTAMP_HEADER`]), so a
/// receiver can check origin and refuse replays.
pub const SIGNATURE_HEADER: &str = "X-Firekeep-Signature";
/// Unix seconds at sending, covered by the signature.
pub const TIMESTAMP_HEADER: &str = "X-Firekeep-Timestamp";

/// `sha256=<hex>` over `<timestamp>.<body>`.
pub fn webhook_signature(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

/// POSTs each alert as JSON to a URL with [`SIGNATURE_HEADER`] and [`TIMESTAMP_HEADER`].
pub struct WebhookAlertSink {
    url: reqwest::Url,
    secret: SecretBytes,
    http: reqwest::Client,
}

impl WebhookAlertSink {
    /// Alerts to `url` (https, or http to loopback), signed with `secret` (≥ 32 bytes).
    pub fn new(url: &str, secret: SecretBytes) -> Result<Self> {
        if secret.len() < 32 {
            return Err(Error::InvalidConfig(
                "a webhook signing secret needs at least 32 bytes".into(),
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::InvalidConfig(format!("HTTP client: {e}")))?;
        Ok(WebhookAlertSink {
            url: check_url(url)?,
            secret,
            http,
        })
    }
}

#[async_trait]
impl AlertSink for WebhookAlertSink {
    async fn send(&self, alert: &Alert) -> Result<()> {
        let body = serde_json::to_vec(alert).expect("an alert always encodes");
        let ts = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let signature = webhook_signature(self.secret.expose(), ts, &body);
        let resp = self
            .http
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .header(TIMESTAMP_HEADER, ts.to_string())
            .body(body)
            .send()
            .await
            .map_err(|e| {
                Error::Storage(format!("alert webhook {}: {}", self.url, e.without_url()))
            })?;
        if !resp.status().is_success() {
            return Err(Error::Storage(format!(
                "alert webhook {} answered HTTP {}",
                self.url,
                resp.status()
            )));
        }
        Ok(())
    }
}

/// The environment variable that holds the webhook signing secret for front ends that read
/// it from the environment (the CLI, the Node package).
pub const WEBHOOK_SECRET_ENV: &str = "FIREKEEP_ALERT_WEBHOOK_SECRET";

/// Webhook alert sinks for a policy's `alerts.webhook_url`, signed with the secret in
/// [`WEBHOOK_SECRET_ENV`] (at least 32 bytes), read when a session is built; without it such
/// a policy is refused (`InvalidConfig`) rather than left silent.
pub fn webhook_factory_from_env() -> firekeep_core::setup::WebhookFactory {
    Arc::new(|url: &str| {
        let secret = std::env::var(WEBHOOK_SECRET_ENV).map_err(|_| {
            Error::InvalidConfig(format!(
                "the policy sends alerts to a webhook: set {WEBHOOK_SECRET_ENV} to its signing \
                 secret (at least 32 bytes)"
            ))
        })?;
        let sink = WebhookAlertSink::new(url, SecretBytes::new(secret.into_bytes()))?;
        Ok(Arc::new(sink) as Arc<dyn AlertSink>)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_and_urls() {
        assert_eq!(
            max_age(Some("public, max-age=19800, must-revalidate")),
            Duration::from_secs(19800)
        );
        assert_eq!(max_age(Some("no-store")), Duration::ZERO);
        assert_eq!(max_age(None), DEFAULT_MAX_AGE);
        assert_eq!(max_age(Some("max-age=99999999")), MAX_MAX_AGE);
        assert!(check_url("http://example.com/jwks").is_err());
        assert!(check_url("http://127.0.0.1:9/jwks").is_ok());
        assert!(check_url("https://www.googleapis.com/oauth2/v3/certs").is_ok());
    }
}

/// What a front end (CLI, Python, Node) configures an [`Authenticators`] with: which ways
/// in are accepted for one organization of a policy. Built here once, so that every
/// binding only maps its arguments.
#[derive(Clone, Default)]
pub struct AuthenticatorOptions {
    /// The organization callers act in.
    pub organization: String,
    /// Accept API keys of the policy (`Bearer fk_…`).
    pub api_keys: bool,
    /// Accept Google ID tokens for this OAuth client id.
    pub google_client_id: Option<String>,
    /// Accept Firebase Auth ID tokens of this Firebase project.
    pub firebase_project: Option<String>,
    /// Accept tokens of a generic OIDC issuer: `(issuer, audience, jwks_url)`.
    pub oidc: Option<(String, String, String)>,
    /// Accept HS256 tokens: `(issuer, audience, shared secret)`.
    pub hs256: Option<(String, String, SecretBytes)>,
    /// Record refusals (`authentication.failed`) here.
    pub audit: Option<Arc<dyn firekeep_core::audit::AuditSink>>,
}

impl AuthenticatorOptions {
    /// The authenticator these options describe, over `policy`. At least one way in is
    /// required.
    pub fn build(&self, policy: Arc<Policy>) -> Result<Authenticators> {
        let org = self.organization.as_str();
        let mut a = Authenticators::new();
        let mut any = false;
        if self.api_keys {
            a = a.with_api_keys(Arc::new(ApiKeyAuthenticator::new(policy.clone(), org)));
            any = true;
        }
        if let Some(id) = &self.google_client_id {
            a = a.with_tokens(Arc::new(google_id_tokens(id, policy.clone(), org)?));
            any = true;
        }
        if let Some(p) = &self.firebase_project {
            a = a.with_tokens(Arc::new(firebase_id_tokens(p, policy.clone(), org)?));
            any = true;
        }
        if let Some((iss, aud, url)) = &self.oidc {
            a = a.with_tokens(Arc::new(oidc_tokens(iss, aud, url, policy.clone(), org)?));
            any = true;
        }
        if let Some((iss, aud, secret)) = &self.hs256 {
            let key = JwtKey::hs256(None, secret.clone())?;
            let verifier = JwtVerifier::new(
                JwtConfig::new(iss.as_str(), aud.as_str()),
                Arc::new(StaticKeys::new(vec![key])),
            );
            a = a.with_tokens(Arc::new(JwtAuthenticator::new(
                verifier,
                policy.clone(),
                org,
            )));
            any = true;
        }
        if !any {
            return Err(Error::InvalidConfig(
                "an authenticator needs at least one way in: API keys, Google or Firebase ID \
                 tokens, an OIDC issuer or an HS256 secret"
                    .into(),
            ));
        }
        if let Some(sink) = &self.audit {
            a = a.with_audit(sink.clone(), org);
        }
        Ok(a)
    }
}
