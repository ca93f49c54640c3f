//! Authentication in the core: JWT claims and algorithm binding with tokens signed here by
//! ring (ES256) and HMAC (HS256); RS256 and third-party-minted tokens (PyJWT, google-auth,
//! jose) are checked in `connectors/oidc`. Plus the property that no credential reaches an
//! error or an audit event.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use firekeep_core::audit::MemoryAuditSink;
use firekeep_core::identity::api_keys::{self, ApiKeyAuthenticator, NewApiKey};
use firekeep_core::identity::jwt::{
    JwtAuthenticator, JwtConfig, JwtKey, JwtVerifier, StaticKeys, parse_jwks,
};
use firekeep_core::identity::{AuthError, AuthMethod, Authenticator, Authenticators};
use firekeep_core::model::Timestamp;
use firekeep_core::policy::{Action, MemberEntry, Policy, PolicyDocument};
use firekeep_core::secret::SecretBytes;
use futures::executor::block_on;
use proptest::prelude::*;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};
use std::sync::Arc;

const NOW: i64 = 1_800_000_000;
const HS_SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-shared";

fn now() -> Timestamp {
    Timestamp::new(NOW, 0).unwrap()
}

fn member(id: &str, email: Option<&str>, role: &str) -> MemberEntry {
    MemberEntry {
        id: id.into(),
        email: email.map(Into::into),
        organization: "acme".into(),
        role: Some(role.into()),
        projects: Default::default(),
        expires_at: None,
        disabled_at: None,
    }
}

fn policy() -> Arc<Policy> {
    let mut doc = PolicyDocument {
        members: vec![
            member("alice", Some("alice@example.com"), "admin"),
            member("uid-bob", None, "viewer"),
        ],
        ..PolicyDocument::default()
    };
    doc.members[1].disabled_at = None;
    Arc::new(Policy::from_document(doc).unwrap())
}

fn compact(header: &Value, claims: &Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let h = B64.encode(serde_json::to_vec(header).unwrap());
    let c = B64.encode(serde_json::to_vec(claims).unwrap());
    let msg = format!("{h}.{c}");
    let sig = B64.encode(sign(msg.as_bytes()));
    format!("{msg}.{sig}")
}

fn hs256(claims: &Value) -> String {
    use hmac::{Hmac, Mac};
    compact(&json!({"alg": "HS256", "typ": "JWT"}), claims, |m| {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(HS_SECRET).unwrap();
        mac.update(m);
        mac.finalize().into_bytes().to_vec()
    })
}

fn claims() -> Value {
    json!({
        "iss": "https://issuer.example", "aud": "firekeep-api", "sub": "alice",
        "iat": NOW - 10, "exp": NOW + 3600,
    })
}

fn hs_verifier() -> JwtVerifier {
    let key = JwtKey::hs256(None, SecretBytes::new(HS_SECRET.to_vec())).unwrap();
    JwtVerifier::new(
        JwtConfig::new("https://issuer.example", "firekeep-api"),
        Arc::new(StaticKeys::new(vec![key])),
    )
}

fn authenticator(verifier: JwtVerifier) -> JwtAuthenticator {
    JwtAuthenticator::new(verifier, policy(), "acme").with_clock(now)
}

fn with(mut c: Value, k: &str, v: Value) -> Value {
    c[k] = v;
    c
}

#[test]
fn hs256_claims_are_checked_with_bounded_skew() {
    let a = authenticator(hs_verifier());
    let ok = block_on(a.authenticate(&format!("Bearer {}", hs256(&claims())))).unwrap();
    assert_eq!(ok.principal.id(), "alice");
    assert_eq!(ok.method, AuthMethod::Jwt);
    assert!(!ok.context.mfa);

    let run = |c: Value| block_on(a.authenticate(&format!("Bearer {}", hs256(&c)))).unwrap_err();
    assert!(matches!(
        run(with(claims(), "exp", json!(NOW - 61))),
        AuthError::Expired { .. }
    ));
    // Within the 60 s skew: accepted.
    let skewed = with(claims(), "exp", json!(NOW - 30));
    block_on(a.authenticate(&format!("Bearer {}", hs256(&skewed)))).unwrap();
    assert!(matches!(
        run(with(claims(), "nbf", json!(NOW + 120))),
        AuthError::NotYetValid { .. }
    ));
    assert_eq!(
        run(with(claims(), "iat", json!(NOW + 120))),
        AuthError::IssuedInFuture
    );
    assert_eq!(
        run(with(claims(), "iss", json!("https://evil.example"))),
        AuthError::WrongIssuer
    );
    assert_eq!(
        run(with(claims(), "aud", json!(["other"]))),
        AuthError::WrongAudience
    );
    assert_eq!(
        run(with(claims(), "exp", Value::Null)),
        AuthError::MissingClaim("exp")
    );
    assert_eq!(
        run(with(claims(), "sub", json!("stranger"))),
        AuthError::NotAMember {
            organization: "acme".into()
        }
    );
    // A verified e-mail maps to the member; an unverified one does not.
    let by_mail = with(
        with(claims(), "sub", json!("g-123")),
        "email",
        json!("ALICE@example.com"),
    );
    assert_eq!(
        run(by_mail.clone()),
        AuthError::NotAMember {
            organization: "acme".into()
        }
    );
    let verified = with(by_mail, "email_verified", json!(true));
    let ok = block_on(a.authenticate(&format!("Bearer {}", hs256(&verified)))).unwrap();
    assert_eq!(ok.principal.id(), "alice");
    // The skew cannot be configured beyond 5 minutes.
    assert!(JwtConfig::new("i", "a").with_leeway(301).is_err());
    // Short HS256 secrets are refused.
    assert!(JwtKey::hs256(None, SecretBytes::new(vec![1; 16])).is_err());
}

#[test]
fn tampering_alg_none_and_algorithm_substitution_are_refused() {
    let a = authenticator(hs_verifier());
    let token = hs256(&claims());
    let (msg, _) = token.rsplit_once('.').unwrap();
    // Payload swapped under the same signature.
    let forged_claims =
        B64.encode(serde_json::to_vec(&with(claims(), "sub", json!("uid-bob"))).unwrap());
    let parts: Vec<&str> = token.split('.').collect();
    let forged = format!("{}.{forged_claims}.{}", parts[0], parts[2]);
    assert_eq!(
        block_on(a.authenticate(&format!("Bearer {forged}"))).unwrap_err(),
        AuthError::BadSignature
    );
    // alg none, with and without a signature.
    let none = compact(&json!({"alg": "none"}), &claims(), |_| Vec::new());
    assert_eq!(
        block_on(a.authenticate(&format!("Bearer {none}"))).unwrap_err(),
        AuthError::AlgorithmMismatch
    );
    let none2 = format!(
        "{}.{}.",
        B64.encode(br#"{"alg":"none"}"#),
        msg.split('.').nth(1).unwrap()
    );
    assert_eq!(
        block_on(a.authenticate(&format!("Bearer {none2}"))).unwrap_err(),
        AuthError::AlgorithmMismatch
    );

    // HS/RS confusion: a P-256 verifier given an HS256 token signed with its public key.
    let rng = SystemRandom::new();
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(
        &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        pkcs8.as_ref(),
        &rng,
    )
    .unwrap();
    let public = pair.public_key().as_ref().to_vec();
    let es_key = JwtKey::es256(Some("ec1".into()), &public[1..33], &public[33..]).unwrap();
    let es = authenticator(JwtVerifier::new(
        JwtConfig::new("https://issuer.example", "firekeep-api"),
        Arc::new(StaticKeys::new(vec![es_key])),
    ));
    let confused = compact(&json!({"alg": "HS256", "kid": "ec1"}), &claims(), |m| {
        use hmac::{Hmac, Mac};
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&public).unwrap();
        mac.update(m);
        mac.finalize().into_bytes().to_vec()
    });
    assert_eq!(
        block_on(es.authenticate(&format!("Bearer {confused}"))).unwrap_err(),
        AuthError::AlgorithmMismatch
    );
    // The genuine ES256 token verifies; an unknown kid does not.
    let es_token = |kid: &str| {
        compact(&json!({"alg": "ES256", "kid": kid}), &claims(), |m| {
            pair.sign(&rng, m).unwrap().as_ref().to_vec()
        })
    };
    block_on(es.authenticate(&format!("Bearer {}", es_token("ec1")))).unwrap();
    assert_eq!(
        block_on(es.authenticate(&format!("Bearer {}", es_token("ec9")))).unwrap_err(),
        AuthError::UnknownKey
    );

    // A JWKS with a symmetric key, or a key whose alg contradicts its type, yields nothing.
    let jwks = json!({"keys": [
        {"kty": "oct", "k": B64.encode(HS_SECRET), "kid": "s"},
        {"kty": "EC", "crv": "P-256", "alg": "HS256", "kid": "x",
         "x": B64.encode(&public[1..33]), "y": B64.encode(&public[33..])},
        {"kty": "EC", "crv": "P-256", "use": "enc", "kid": "y",
         "x": B64.encode(&public[1..33]), "y": B64.encode(&public[33..])},
    ]});
    assert!(parse_jwks(jwks.to_string().as_bytes()).unwrap().is_empty());
}

#[test]
fn firebase_second_factor_sets_mfa() {
    let key = JwtKey::hs256(Some("k".into()), SecretBytes::new(HS_SECRET.to_vec())).unwrap();
    let v = JwtVerifier::new(
        JwtConfig::firebase("my-proj"),
        Arc::new(StaticKeys::new(vec![key])),
    );
    let a = authenticator(v);
    let c = json!({
        "iss": "https://securetoken.google.com/my-proj", "aud": "my-proj", "sub": "uid-bob",
        "iat": NOW, "exp": NOW + 3600,
        "firebase": {"sign_in_provider": "password", "sign_in_second_factor": "totp"},
    });
    let ok = block_on(a.authenticate(&format!("Bearer {}", hs256(&c)))).unwrap();
    assert!(ok.context.mfa);
    assert_eq!(ok.principal.id(), "uid-bob");
    let mut c2 = c.clone();
    c2["firebase"] = json!({"sign_in_provider": "password"});
    assert!(
        !block_on(a.authenticate(&format!("Bearer {}", hs256(&c2))))
            .unwrap()
            .context
            .mfa
    );
}

fn key_policy() -> (Arc<Policy>, String) {
    let mut doc = policy().document().clone();
    let secret = api_keys::create(
        &mut doc,
        NewApiKey {
            id: "ci".into(),
            organization: "acme".into(),
            created_by: "alice".into(),
            actions: vec![Action::CreateBackup],
            projects: None,
            lifetime_days: None,
        },
        now(),
    )
    .unwrap();
    (
        Arc::new(Policy::from_document(doc).unwrap()),
        secret.expose().to_string(),
    )
}

#[test]
fn api_keys_authenticate_by_hash_and_route_by_prefix() {
    let (p, secret) = key_policy();
    let sink = Arc::new(MemoryAuditSink::new());
    let all = Authenticators::new()
        .with_api_keys(Arc::new(
            ApiKeyAuthenticator::new(p.clone(), "acme").with_clock(now),
        ))
        .with_tokens(Arc::new(authenticator(hs_verifier())))
        .with_audit(sink.clone(), "acme");
    let k = block_on(all.authenticate(&format!("Bearer {secret}"))).unwrap();
    assert_eq!((k.principal.id(), k.method), ("ci", AuthMethod::ApiKey));
    let t = block_on(all.authenticate(&format!("Bearer {}", hs256(&claims())))).unwrap();
    assert_eq!(t.principal.id(), "alice");
    let wrong = format!("Bearer {}x", &secret[..secret.len() - 1]);
    assert_eq!(
        block_on(all.authenticate(&wrong)).unwrap_err(),
        AuthError::UnknownApiKey
    );
    let events = sink.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].action, "authentication.failed");
    assert_eq!(events[0].details["reason"], "unknown_api_key");
}

fn no_leak(
    credential: &str,
    err: &AuthError,
    events: &str,
) -> std::result::Result<(), TestCaseError> {
    let core: firekeep_core::Error = err.clone().into();
    for text in [
        err.to_string(),
        format!("{err:?}"),
        core.to_string(),
        format!("{core:?}"),
    ] {
        prop_assert!(!text.contains(credential), "{text}");
    }
    prop_assert!(!events.contains(credential), "{events}");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// No credential, well-formed or not, reaches an error message, its Debug form, the
    /// core error it becomes, or an audit event.
    #[test]
    fn no_credential_reaches_errors_or_audit_events(
        raw in "[A-Za-z0-9_.-]{16,200}",
        sub in "[a-z0-9]{12,40}",
        exp_delta in -100_000i64..100_000,
        secret_tail in "[A-Za-z0-9_-]{43}",
    ) {
        let (p, _) = key_policy();
        let sink = Arc::new(MemoryAuditSink::new());
        let all = Authenticators::new()
            .with_api_keys(Arc::new(ApiKeyAuthenticator::new(p, "acme").with_clock(now)))
            .with_tokens(Arc::new(authenticator(hs_verifier())))
            .with_audit(sink.clone(), "acme");
        let token = hs256(&json!({
            "iss": "https://issuer.example", "aud": "firekeep-api", "sub": sub,
            "email": format!("{sub}@example.com"), "exp": NOW + exp_delta,
        }));
        let forged = format!("{}x", &token[..token.len() - 1]);
        let api_key = format!("fk_{secret_tail}");
        for credential in [raw.as_str(), token.as_str(), forged.as_str(), api_key.as_str()] {
            if let Err(e) = block_on(all.authenticate(&format!("Bearer {credential}"))) {
                let events = serde_json::to_string(&sink.events()).unwrap();
                no_leak(credential, &e, &events)?;
            }
        }
    }
}

mod access_review {
    use super::*;
    use firekeep_core::audit::{Actor, AuditAction, AuditEvent, AuditSink, EventResource};
    use firekeep_core::identity::review::{self, FindingKind, ReviewOptions};
    use firekeep_core::policy::{Principal, ProjectGrantEntry, ProjectRole, Resource, RoleEntry};
    use firekeep_core::session::Session;

    const DAY: i64 = 86_400;

    fn at(days_ago: i64) -> Timestamp {
        Timestamp::new(NOW - days_ago * DAY, 0).unwrap()
    }

    fn used(actor: &str, kind: &str, days_ago: i64) -> AuditEvent {
        AuditEvent::at(
            at(days_ago),
            AuditAction::BackupListed,
            Actor {
                kind: kind.into(),
                id: actor.into(),
                email: None,
            },
            EventResource {
                kind: "organization".into(),
                id: "acme".into(),
            },
            "acme",
        )
    }

    fn document() -> PolicyDocument {
        let mut doc = PolicyDocument {
            members: vec![
                member("alice", Some("alice@example.com"), "admin"),
                member("bob", None, "viewer"),
                member("carol", None, "secure-admin"),
            ],
            ..PolicyDocument::default()
        };
        doc.roles.insert(
            "secure-admin".into(),
            RoleEntry {
                extends: Some("admin".into()),
                conditions: firekeep_core::policy::Conditions {
                    require_mfa: vec![Action::ManageTeam],
                    ..Default::default()
                },
                ..RoleEntry::default()
            },
        );
        doc.members[1].projects.insert(
            "prod".into(),
            ProjectGrantEntry {
                role: ProjectRole::Owner,
                collections: vec![],
                expires_at: Some(at(5)),
            },
        );
        let new = |id: &str, days: u32| NewApiKey {
            id: id.into(),
            organization: "acme".into(),
            created_by: "alice".into(),
            actions: vec![Action::CreateBackup],
            projects: None,
            lifetime_days: Some(days),
        };
        api_keys::create(&mut doc, new("old", 365), at(100)).unwrap();
        api_keys::create(&mut doc, new("fresh", 90), at(10)).unwrap();
        doc
    }

    #[test]
    fn findings_name_inactive_members_old_keys_admins_without_mfa_and_expired_grants() {
        let policy = Policy::from_document(document()).unwrap();
        let events = vec![
            used("system", "system", 120),
            used("carol", "user", 100),
            used("alice", "user", 3),
            used("bob", "user", 1),
            used("fresh", "api_key", 2),
        ];
        let r = review::review(&policy, "acme", &events, ReviewOptions::default(), now());
        let kinds: Vec<(FindingKind, &str)> = r
            .findings
            .iter()
            .map(|f| (f.kind, f.subject.as_str()))
            .collect();
        assert!(
            kinds.contains(&(FindingKind::InactiveMember, "member:carol")),
            "{kinds:?}"
        );
        assert!(
            !kinds
                .iter()
                .any(|(k, s)| *k == FindingKind::InactiveMember && *s != "member:carol")
        );
        assert!(kinds.contains(&(FindingKind::AdminWithoutMfa, "member:alice")));
        assert!(!kinds.contains(&(FindingKind::AdminWithoutMfa, "member:carol")));
        assert!(kinds.contains(&(FindingKind::ExpiredGrant, "member:bob")));
        assert!(kinds.contains(&(FindingKind::KeyRotationDue, "api_key:old")));
        assert!(!kinds.iter().any(|(_, s)| *s == "api_key:fresh"));
        let fresh = r.api_keys.iter().find(|k| k.key.id == "fresh").unwrap();
        assert_eq!(
            fresh.last_used.as_deref(),
            Some(at(2).to_rfc3339().as_str())
        );
        let bob = r.members.iter().find(|m| m.id == "bob").unwrap();
        // The expired project grant no longer gives bob anything beyond viewer.
        assert_eq!(
            bob.effective_actions["prod"],
            vec!["view_projects", "view_backups", "view_audit_logs"]
        );
        let csv = r.to_csv();
        assert!(
            csv.lines()
                .any(|l| l.starts_with("member,carol,") && l.ends_with("inactive_member")),
            "{csv}"
        );
        assert!(r.to_text().contains("[admin_without_mfa] member:alice"));
        // A trail shorter than the period says nothing about members never seen.
        let short = review::review(
            &policy,
            "acme",
            &events[2..],
            ReviewOptions::default(),
            now(),
        );
        assert!(
            !short
                .findings
                .iter()
                .any(|f| f.kind == FindingKind::InactiveMember)
        );
    }

    #[test]
    fn apply_inactive_disables_them_in_the_file_audited() {
        let dir = std::env::temp_dir().join(format!("fk-review-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("policy.toml");
        let mut doc = document();
        doc.roles.clear();
        doc.members[2].role = Some("admin".into());
        std::fs::write(&path, doc.to_toml()).unwrap();
        let sink = Arc::new(MemoryAuditSink::new());
        let events = vec![used("system", "system", 400), used("alice", "user", 1)];
        sink.append(&events).await_blocking();
        let policy = Arc::new(Policy::from_file(&path).unwrap());
        let session = Session::new(Principal::user("acme", "alice"), policy, sink.clone());
        let r = block_on(review::run(&session, ReviewOptions::default())).unwrap();
        assert_eq!(
            r.inactive_members(),
            vec!["bob".to_string(), "carol".to_string()]
        );
        let disabled = block_on(review::apply_inactive(&session, &path, &r)).unwrap();
        assert_eq!(disabled.0, vec!["bob", "carol"]);
        let after = Policy::from_file(&path).unwrap();
        let decision = after.evaluate(
            &Principal::user("acme", "carol"),
            Action::ViewBackups,
            &Resource::organization("acme"),
            &Default::default(),
        );
        assert!(!decision.allowed);
        assert!(decision.to_string().contains("disabled"), "{decision}");
        let actions: Vec<String> = sink.events().iter().map(|e| e.action.clone()).collect();
        assert_eq!(&actions[2..], ["access.reviewed", "member.disabled"]);
        assert_eq!(sink.events()[3].details["members"], json!(["bob", "carol"]));
        // A viewer may not run a review.
        let viewer = Session::new(
            Principal::user("acme", "bob"),
            Arc::new(Policy::from_document(document()).unwrap()),
            sink.clone(),
        );
        assert!(block_on(review::run(&viewer, ReviewOptions::default())).is_err());
    }

    trait Blocking {
        fn await_blocking(self);
    }
    impl<F: std::future::Future<Output = firekeep_core::Result<()>>> Blocking for F {
        fn await_blocking(self) {
            block_on(self).unwrap()
        }
    }
}
