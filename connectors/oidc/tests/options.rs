//! The front ends' one way to configure authentication, and acting as the caller.

use firekeep_core::audit::MemoryAuditSink;
use firekeep_core::identity::Authenticator;
use firekeep_core::identity::api_keys::{self, NewApiKey};
use firekeep_core::model::Timestamp;
use firekeep_core::policy::{Action, Policy};
use firekeep_core::secret::SecretBytes;
use firekeep_core::setup::{PolicySource, SessionOptions};
use firekeep_oidc::AuthenticatorOptions;
use std::sync::Arc;

#[tokio::test]
async fn options_build_an_authenticator_whose_callers_become_sessions() {
    let mut doc = Policy::from_toml(
        "[[members]]\nid = \"alice\"\norganization = \"acme\"\nrole = \"admin\"\n",
    )
    .unwrap()
    .document()
    .clone();
    let secret = api_keys::create(
        &mut doc,
        NewApiKey {
            id: "ci".into(),
            organization: "acme".into(),
            created_by: "alice".into(),
            actions: vec![Action::ViewBackups],
            projects: None,
            lifetime_days: None,
        },
        Timestamp::now(),
    )
    .unwrap();
    let policy = Arc::new(Policy::from_document(doc.clone()).unwrap());
    let audit = Arc::new(MemoryAuditSink::new());
    assert!(
        AuthenticatorOptions::default()
            .build(policy.clone())
            .is_err()
    );
    let auth = AuthenticatorOptions {
        organization: "acme".into(),
        api_keys: true,
        hs256: Some((
            "https://issuer.test".into(),
            "api".into(),
            SecretBytes::new(vec![7; 32]),
        )),
        audit: Some(audit.clone()),
        ..AuthenticatorOptions::default()
    }
    .build(policy)
    .unwrap();
    let caller = auth
        .authenticate(&format!("Bearer {}", secret.expose()))
        .await
        .unwrap();
    let who = caller.identity();
    assert_eq!(who.principal, "apikey:ci");
    assert_eq!(who.method, "api_key");
    assert!(
        !serde_json::to_string(&who)
            .unwrap()
            .contains(secret.expose())
    );
    let (session, _) = SessionOptions {
        policy: Some(PolicySource::Text(doc.to_json())),
        ..SessionOptions::default()
    }
    .with_identity(&caller)
    .build()
    .unwrap();
    assert_eq!(session.principal().id(), "ci");
    assert_eq!(session.organization(), "acme");
    // A token signed with another secret is refused, and the refusal audited.
    assert!(auth.authenticate("Bearer a.b.c").await.is_err());
    assert_eq!(audit.events()[0].action, "authentication.failed");
}
