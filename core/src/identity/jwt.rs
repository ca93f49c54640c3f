//! JSON Web Tokens (RFC 7519) in compact JWS form: RS256 and ES256 against a key set, HS256
//! with a shared secret, claims checked with a bounded clock skew, and the verified identity
//! mapped to a member of the policy.
//!
//! The key fixes the algorithm: an RSA key verifies RS256 only, a P-256 key ES256 only, a
//! shared secret HS256 only. A token's `alg` is compared with its key's, never used to pick
//! how to verify, so `alg: none` and HS256-signed-with-the-RSA-public-key are refused by
//! construction.

use super::{AuthError, AuthMethod, Authenticated, Authenticator, bearer};
use crate::model::Timestamp;
use crate::policy::{Policy, Principal, RequestContext};
use crate::secret::SecretBytes;
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use std::fmt;
use std::sync::Arc;

/// Tokens longer than this are refused before they are decoded (Google's are ~1 KiB).
pub const MAX_TOKEN_LEN: usize = 16 * 1024;
/// The clock skew allowed unless configured (seconds).
pub const DEFAULT_LEEWAY_SECS: u32 = 60;
/// The largest clock skew that can be configured (seconds).
pub const MAX_LEEWAY_SECS: u32 = 300;
/// The shortest HS256 secret accepted (bytes): RFC 7518 §3.2 asks for at least the hash size.
pub const MIN_HS256_SECRET: usize = 32;

/// A JWS signature algorithm this crate verifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// HMAC with SHA-256.
    Hs256,
}

impl Algorithm {
    /// The JOSE name (`RS256`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Rs256 => "RS256",
            Algorithm::Es256 => "ES256",
            Algorithm::Hs256 => "HS256",
        }
    }
}

#[derive(Clone)]
enum KeyMaterial {
    /// Modulus and exponent, big-endian without leading zeros.
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// Uncompressed SEC1 point (0x04 ‖ x ‖ y).
    P256 {
        point: Vec<u8>,
    },
    Hmac(SecretBytes),
}

/// A verifying key with its key id. Its type fixes its algorithm.
#[derive(Clone)]
pub struct JwtKey {
    kid: Option<String>,
    material: KeyMaterial,
}

impl fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKey")
            .field("kid", &self.kid)
            .field("alg", &self.algorithm().as_str())
            .finish()
    }
}

fn strip_zeros(b: &[u8]) -> Vec<u8> {
    let first = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    b[first..].to_vec()
}

impl JwtKey {
    /// An HS256 shared secret (at least [`MIN_HS256_SECRET`] bytes).
    pub fn hs256(kid: Option<String>, secret: SecretBytes) -> crate::Result<Self> {
        if secret.len() < MIN_HS256_SECRET {
            return Err(crate::Error::InvalidConfig(format!(
                "an HS256 secret needs at least {MIN_HS256_SECRET} bytes; generate one with \
                 `openssl rand -base64 48`"
            )));
        }
        Ok(JwtKey {
            kid,
            material: KeyMaterial::Hmac(secret),
        })
    }

    /// An RS256 key from its modulus and public exponent (big-endian).
    pub fn rs256(kid: Option<String>, n: &[u8], e: &[u8]) -> Self {
        JwtKey {
            kid,
            material: KeyMaterial::Rsa {
                n: strip_zeros(n),
                e: strip_zeros(e),
            },
        }
    }

    /// An ES256 key from its affine coordinates (32 bytes each).
    pub fn es256(kid: Option<String>, x: &[u8], y: &[u8]) -> crate::Result<Self> {
        if x.len() != 32 || y.len() != 32 {
            return Err(crate::Error::InvalidConfig(
                "a P-256 key needs 32-byte x and y coordinates".into(),
            ));
        }
        let mut point = Vec::with_capacity(65);
        point.push(4);
        point.extend_from_slice(x);
        point.extend_from_slice(y);
        Ok(JwtKey {
            kid,
            material: KeyMaterial::P256 { point },
        })
    }

    /// The key id, if the key has one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The only algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        match self.material {
            KeyMaterial::Rsa { .. } => Algorithm::Rs256,
            KeyMaterial::P256 { .. } => Algorithm::Es256,
            KeyMaterial::Hmac(_) => Algorithm::Hs256,
        }
    }

    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        use ring::signature as sig;
        match &self.material {
            KeyMaterial::Rsa { n, e } => sig::RsaPublicKeyComponents { n, e }
                .verify(&sig::RSA_PKCS1_2048_8192_SHA256, message, signature)
                .is_ok(),
            KeyMaterial::P256 { point } => {
                sig::UnparsedPublicKey::new(&sig::ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, signature)
                    .is_ok()
            }
            KeyMaterial::Hmac(secret) => {
                use hmac::{Hmac, Mac};
                let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(secret.expose()) else {
                    return false;
                };
                mac.update(message);
                // Constant-time comparison.
                mac.verify_slice(signature).is_ok()
            }
        }
    }
}

fn b64(field: &str) -> Result<Vec<u8>, crate::Error> {
    URL_SAFE_NO_PAD
        .decode(field.trim_end_matches('='))
        .map_err(|_| crate::Error::InvalidInput("a JWK field is not base64url".into()))
}

/// Parses a JSON Web Key Set (RFC 7517). RSA and P-256 signing keys are kept; keys for
/// encryption (`use: enc`), symmetric keys (`kty: oct`: a public key set never holds
/// secrets) and keys whose `alg` contradicts their type are left out.
pub fn parse_jwks(json: &[u8]) -> crate::Result<Vec<JwtKey>> {
    let doc: Value = serde_json::from_slice(json)
        .map_err(|e| crate::Error::InvalidInput(format!("the JWKS is not JSON: {e}")))?;
    let keys = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| crate::Error::InvalidInput("the JWKS has no `keys` array".into()))?;
    let mut out = Vec::new();
    for k in keys {
        let s = |name: &str| k.get(name).and_then(Value::as_str);
        if s("use").is_some_and(|u| u != "sig") {
            continue;
        }
        let kid = s("kid").map(str::to_string);
        let key = match (s("kty"), s("crv")) {
            (Some("RSA"), _) => match (s("n"), s("e")) {
                (Some(n), Some(e)) => JwtKey::rs256(kid, &b64(n)?, &b64(e)?),
                _ => continue,
            },
            (Some("EC"), Some("P-256")) => match (s("x"), s("y")) {
                (Some(x), Some(y)) => JwtKey::es256(kid, &b64(x)?, &b64(y)?)?,
                _ => continue,
            },
            _ => continue,
        };
        if s("alg").is_some_and(|a| a != key.algorithm().as_str()) {
            continue;
        }
        out.push(key);
    }
    Ok(out)
}

/// Where verifying keys come from: a fixed set, or (in `firekeep-oidc`) a JWKS URL.
#[async_trait]
pub trait KeySource: Send + Sync {
    /// The keys that may have signed a token with this key id (every key when the token
    /// names none). A source that can refresh does so when `kid` is unknown.
    async fn keys_for(&self, kid: Option<&str>) -> Result<Vec<JwtKey>, AuthError>;
}

/// A fixed set of keys (an HS256 secret, or a JWKS read once).
#[derive(Clone, Debug)]
pub struct StaticKeys(Vec<JwtKey>);

impl StaticKeys {
    /// These keys.
    pub fn new(keys: Vec<JwtKey>) -> Self {
        StaticKeys(keys)
    }
}

/// The keys matching `kid` (all when `kid` is `None`).
pub fn select_keys(keys: &[JwtKey], kid: Option<&str>) -> Vec<JwtKey> {
    keys.iter()
        .filter(|k| kid.is_none() || k.kid() == kid)
        .cloned()
        .collect()
}

#[async_trait]
impl KeySource for StaticKeys {
    async fn keys_for(&self, kid: Option<&str>) -> Result<Vec<JwtKey>, AuthError> {
        Ok(select_keys(&self.0, kid))
    }
}

/// Which claim says the user signed in with a second factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MfaClaim {
    /// RFC 8176 `amr` containing `mfa` (or `otp`, `hwk`, `swk` with another method).
    Amr,
    /// Firebase Auth: `firebase.sign_in_second_factor` is set (`phone`, `totp`).
    FirebaseSecondFactor,
}

/// What a token must say to be accepted.
#[derive(Clone, Debug)]
pub struct JwtConfig {
    /// Accepted `iss` values (exact match).
    pub issuers: Vec<String>,
    /// Accepted audiences: the token's `aud` must contain one of them.
    pub audiences: Vec<String>,
    /// Clock skew allowed on `exp`, `nbf` and `iat` (seconds, at most [`MAX_LEEWAY_SECS`]).
    pub leeway_secs: u32,
    /// Where the second factor is read from.
    pub mfa_claim: MfaClaim,
}

/// Google's issuers for ID tokens.
pub const GOOGLE_ISSUERS: [&str; 2] = ["https://accounts.google.com", "accounts.google.com"];
/// Google's JWKS for ID tokens.
pub const GOOGLE_JWKS_URL: &str = "https://www.googleapis.com/oauth2/v3/certs";
/// Firebase Auth's JWKS for ID tokens.
pub const FIREBASE_JWKS_URL: &str =
    "https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com";

impl JwtConfig {
    /// A token issued by `issuer` for `audience`.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        JwtConfig {
            issuers: vec![issuer.into()],
            audiences: vec![audience.into()],
            leeway_secs: DEFAULT_LEEWAY_SECS,
            mfa_claim: MfaClaim::Amr,
        }
    }

    /// Google ID tokens for an OAuth client id (verify with [`GOOGLE_JWKS_URL`]).
    pub fn google(client_id: impl Into<String>) -> Self {
        JwtConfig {
            issuers: GOOGLE_ISSUERS.map(str::to_string).to_vec(),
            ..JwtConfig::new("", client_id)
        }
    }

    /// Firebase Auth ID tokens of a Firebase project (verify with [`FIREBASE_JWKS_URL`]):
    /// issuer `https://securetoken.google.com/<project>`, audience the project id, the
    /// second factor from `firebase.sign_in_second_factor`.
    pub fn firebase(project_id: &str) -> Self {
        JwtConfig {
            mfa_claim: MfaClaim::FirebaseSecondFactor,
            ..JwtConfig::new(
                format!("https://securetoken.google.com/{project_id}"),
                project_id,
            )
        }
    }

    /// Sets the clock skew; more than [`MAX_LEEWAY_SECS`] is refused.
    pub fn with_leeway(mut self, secs: u32) -> crate::Result<Self> {
        if secs > MAX_LEEWAY_SECS {
            return Err(crate::Error::InvalidConfig(format!(
                "a clock skew of {secs} s is more than the {MAX_LEEWAY_SECS} s allowed; fix the clocks instead"
            )));
        }
        self.leeway_secs = secs;
        Ok(self)
    }
}

/// The claims of a verified token that firekeep uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedClaims {
    /// `iss`.
    pub issuer: String,
    /// `sub`.
    pub subject: String,
    /// `email`, if present.
    pub email: Option<String>,
    /// `email_verified` is `true`.
    pub email_verified: bool,
    /// A second factor was used (per [`JwtConfig::mfa_claim`]).
    pub mfa: bool,
    /// `exp`.
    pub expires_at: Timestamp,
}

fn part(p: &str) -> Result<Vec<u8>, AuthError> {
    // RFC 7515 uses unpadded base64url; padding or other alphabets are malformed.
    URL_SAFE_NO_PAD
        .decode(p)
        .map_err(|_| AuthError::Malformed("a part is not base64url"))
}

fn numeric(claims: &Value, name: &'static str) -> Result<Option<i64>, AuthError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| {
                v.as_f64()
                    .filter(|f| f.is_finite())
                    .map(|f| f.floor() as i64)
            })
            .map(Some)
            .ok_or(AuthError::MissingClaim(name)),
    }
}

fn rfc3339(secs: i64) -> String {
    Timestamp::new(secs, 0).map_or_else(|_| secs.to_string(), |t| t.to_rfc3339())
}

/// Verifies compact JWS tokens against a key source and a [`JwtConfig`].
#[derive(Clone)]
pub struct JwtVerifier {
    config: JwtConfig,
    keys: Arc<dyn KeySource>,
}

impl JwtVerifier {
    /// Verifies tokens with `keys` under `config`.
    pub fn new(config: JwtConfig, keys: Arc<dyn KeySource>) -> Self {
        JwtVerifier { config, keys }
    }

    /// The configuration.
    pub fn config(&self) -> &JwtConfig {
        &self.config
    }

    /// Verifies `token` at time `now`: structure, signature (the key fixes the algorithm),
    /// then `iss`, `aud`, `exp`, `nbf`, `iat` with the configured skew.
    pub async fn verify(&self, token: &str, now: Timestamp) -> Result<VerifiedClaims, AuthError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(AuthError::Malformed("longer than 16 KiB"));
        }
        let mut parts = token.split('.');
        let (Some(h64), Some(c64), Some(s64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthError::Malformed("not three dot-separated parts"));
        };
        let header: Value = serde_json::from_slice(&part(h64)?)
            .map_err(|_| AuthError::Malformed("the header is not JSON"))?;
        if header.get("crit").is_some() {
            // RFC 7515 §4.1.11: extensions we do not understand must be refused.
            return Err(AuthError::Malformed(
                "critical header extensions are not supported",
            ));
        }
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or(AuthError::Malformed("the header has no `alg`"))?;
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => return Err(AuthError::Malformed("`kid` is not a string")),
        };
        let signature = part(s64)?;
        let candidates = self.keys.keys_for(kid).await?;
        if candidates.is_empty() {
            return Err(AuthError::UnknownKey);
        }
        let same_alg: Vec<&JwtKey> = candidates
            .iter()
            .filter(|k| k.algorithm().as_str() == alg)
            .collect();
        if same_alg.is_empty() {
            return Err(AuthError::AlgorithmMismatch);
        }
        let message = &token.as_bytes()[..h64.len() + 1 + c64.len()];
        if !same_alg.iter().any(|k| k.verify(message, &signature)) {
            return Err(AuthError::BadSignature);
        }

        // Only now is the payload believed.
        let claims: Value = serde_json::from_slice(&part(c64)?)
            .map_err(|_| AuthError::Malformed("the claims are not JSON"))?;
        self.check_claims(&claims, now)
    }

    fn check_claims(&self, claims: &Value, now: Timestamp) -> Result<VerifiedClaims, AuthError> {
        let s = |name: &'static str| claims.get(name).and_then(Value::as_str);
        let issuer = s("iss").ok_or(AuthError::MissingClaim("iss"))?;
        if !self.config.issuers.iter().any(|i| i == issuer) {
            return Err(AuthError::WrongIssuer);
        }
        let audiences: Vec<&str> = match claims.get("aud") {
            Some(Value::String(a)) => vec![a.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => return Err(AuthError::MissingClaim("aud")),
        };
        if !audiences
            .iter()
            .any(|a| self.config.audiences.iter().any(|c| c == a))
        {
            return Err(AuthError::WrongAudience);
        }
        let leeway = i64::from(self.config.leeway_secs.min(MAX_LEEWAY_SECS));
        let now = now.seconds();
        let exp = numeric(claims, "exp")?.ok_or(AuthError::MissingClaim("exp"))?;
        if now >= exp.saturating_add(leeway) {
            return Err(AuthError::Expired { at: rfc3339(exp) });
        }
        if let Some(nbf) = numeric(claims, "nbf")? {
            if now < nbf.saturating_sub(leeway) {
                return Err(AuthError::NotYetValid { at: rfc3339(nbf) });
            }
        }
        if let Some(iat) = numeric(claims, "iat")? {
            if iat.saturating_sub(leeway) > now {
                return Err(AuthError::IssuedInFuture);
            }
        }
        let subject = s("sub").filter(|s| !s.is_empty());
        let subject = subject.ok_or(AuthError::MissingClaim("sub"))?;
        let mfa = match self.config.mfa_claim {
            MfaClaim::Amr => claims
                .get("amr")
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().any(|m| m.as_str() == Some("mfa"))),
            MfaClaim::FirebaseSecondFactor => claims
                .pointer("/firebase/sign_in_second_factor")
                .and_then(Value::as_str)
                .is_some_and(|f| !f.is_empty()),
        };
        Ok(VerifiedClaims {
            issuer: issuer.to_string(),
            subject: subject.to_string(),
            email: s("email").map(str::to_string),
            email_verified: claims.get("email_verified") == Some(&Value::Bool(true)),
            mfa,
            expires_at: Timestamp::new(exp, 0).map_err(|_| AuthError::MissingClaim("exp"))?,
        })
    }
}

/// Authenticates `Bearer <JWT>` callers as members of one organization of a policy: the
/// member whose id is the token's subject, else the member whose e-mail is the token's
/// verified e-mail.
pub struct JwtAuthenticator {
    verifier: JwtVerifier,
    policy: Arc<Policy>,
    organization: String,
    clock: Arc<dyn Fn() -> Timestamp + Send + Sync>,
}

impl JwtAuthenticator {
    /// Maps verified tokens to members of `organization` in `policy`.
    pub fn new(
        verifier: JwtVerifier,
        policy: Arc<Policy>,
        organization: impl Into<String>,
    ) -> Self {
        JwtAuthenticator {
            verifier,
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

    /// The member a verified token names.
    pub fn principal_for(&self, claims: &VerifiedClaims) -> Result<Principal, AuthError> {
        let members = &self.policy.document().members;
        let in_org = |m: &&crate::policy::MemberEntry| m.organization == self.organization;
        let by_subject = members
            .iter()
            .filter(in_org)
            .find(|m| m.id == claims.subject);
        let by_email = || {
            let email = claims.email.as_deref().filter(|_| claims.email_verified)?;
            members.iter().filter(in_org).find(|m| {
                m.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
            })
        };
        let member = by_subject
            .or_else(by_email)
            .ok_or_else(|| AuthError::NotAMember {
                organization: self.organization.clone(),
            })?;
        if member.disabled_at.is_some() {
            return Err(AuthError::MemberDisabled);
        }
        let mut p = Principal::user(&self.organization, &member.id);
        if let Some(e) = member.email.as_deref().or(claims.email.as_deref()) {
            p = p.with_email(e);
        }
        Ok(p)
    }
}

#[async_trait]
impl Authenticator for JwtAuthenticator {
    async fn authenticate(&self, authorization: &str) -> Result<Authenticated, AuthError> {
        let token = bearer(authorization)?;
        let claims = self.verifier.verify(token, (self.clock)()).await?;
        let principal = self.principal_for(&claims)?;
        Ok(Authenticated {
            principal,
            context: RequestContext {
                mfa: claims.mfa,
                ..RequestContext::default()
            },
            method: AuthMethod::Jwt,
            expires_at: Some(claims.expires_at),
        })
    }
}
