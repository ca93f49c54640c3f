//! Turning what a front end was given into a [`Session`]: the audit sink, the policy (a file,
//! or text that is a path, JSON or TOML), the principal (or the local owner when there is no
//! policy), the request context and the secrets to keep out of audit events. The CLI and
//! every binding call [`SessionOptions::build`] (through `firekeep_object_store::open_client`
//! when they also open a repository), so these mean the same thing everywhere; each front end
//! only maps its language's types and errors.

use crate::audit::{
    Actor, AuditAction, AuditEvent, AuditSink, EventContext, EventResource, FsyncPolicy,
    JsonlAuditSink, MemoryAuditSink, read_jsonl,
};
use crate::identity::alerts::{AlertRules, AlertSink, AlertingAuditSink, JsonlAlertSink};
use crate::model::Timestamp;
use crate::policy::{Policy, Principal, PrincipalKind, RequestContext};
use crate::secret::SecretString;
use crate::session::Session;
use crate::{Error, Result};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the policy comes from.
#[derive(Clone, Debug)]
pub enum PolicySource {
    /// A policy file (TOML or JSON, by its extension or content).
    File(PathBuf),
    /// Text given inline: a path to a policy file when it is one line naming a file, else JSON
    /// when it starts with `{`, else TOML.
    Text(String),
}

impl PolicySource {
    /// Reads and checks the policy.
    pub fn load(&self) -> Result<Policy> {
        match self {
            PolicySource::File(p) => Policy::from_file(p),
            PolicySource::Text(text) => {
                let p = Path::new(text);
                if !text.contains('\n') && p.is_file() {
                    Policy::from_file(p)
                } else if text.trim_start().starts_with('{') {
                    Policy::from_json(text)
                } else {
                    Policy::from_toml(text)
                }
            }
        }
    }
}

/// Which audit sink a session writes to.
#[derive(Clone)]
pub enum AuditChoice {
    /// Kept in memory (readable back through [`AuditHandle::Memory`]).
    Memory,
    /// Appended to a JSONL file (hash-chained, fsynced per batch).
    File(PathBuf),
    /// A sink the front end made (e.g. a callback into its language).
    Sink(Arc<dyn AuditSink>),
}

/// How the front end can read back what its session audited.
#[derive(Clone)]
pub enum AuditHandle {
    /// The in-memory sink.
    Memory(Arc<MemoryAuditSink>),
    /// The JSONL file.
    File(PathBuf),
    /// The front end's own sink.
    Other,
}

/// Everything a session is made from.
#[derive(Clone)]
pub struct SessionOptions {
    /// The organization the principal acts in.
    pub organization: String,
    /// `user:ID`, `user:EMAIL`, `ID` or `apikey:ID`. Required with a policy; without one it
    /// names the local owner (a `user:` prefix is dropped).
    pub principal: Option<String>,
    /// The policy; `None` makes the principal (or [`SessionOptions::local_owner`]) the Owner
    /// of the organization: someone running firekeep on their own data.
    pub policy: Option<PolicySource>,
    /// The owner's user id when there is neither a policy nor a principal.
    pub local_owner: String,
    /// The audit sink.
    pub audit: AuditChoice,
    /// Who is calling from where (recorded in audit events).
    pub context: RequestContext,
    /// Options (e.g. storage options) whose secret values never reach an audit event.
    pub secret_options: Vec<(String, String)>,
    /// The secret of an `apikey:` principal, if the front end has one.
    pub api_key_secret: Option<SecretString>,
    /// How to give a principal in this front end, said when a policy is set without one
    /// (e.g. `pass principal="user:EMAIL"`).
    pub principal_hint: String,
    /// Where alerts go when the policy has an `[alerts]` table (besides its `file`): a
    /// callback of the front end, a webhook (`firekeep-oidc`).
    pub alert_sinks: Vec<Arc<dyn AlertSink>>,
    /// Makes the sink for the policy's `alerts.webhook_url` (front ends linking
    /// `firekeep-oidc`); without it such a policy is refused rather than left silent.
    pub alert_webhook: Option<WebhookFactory>,
}

/// Makes a webhook [`AlertSink`] for a URL.
pub type WebhookFactory = Arc<dyn Fn(&str) -> Result<Arc<dyn AlertSink>> + Send + Sync>;

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            organization: "default".into(),
            principal: None,
            policy: None,
            local_owner: "local".into(),
            audit: AuditChoice::Memory,
            context: RequestContext::default(),
            secret_options: Vec::new(),
            api_key_secret: None,
            principal_hint: "give one as user:EMAIL or apikey:ID".into(),
            alert_sinks: Vec::new(),
            alert_webhook: None,
        }
    }
}

impl SessionOptions {
    /// The audit sink alone (the first thing [`SessionOptions::build`] opens).
    pub fn audit_sink(&self) -> Result<(Arc<dyn AuditSink>, AuditHandle)> {
        Ok(match &self.audit {
            AuditChoice::Memory => {
                let m = Arc::new(MemoryAuditSink::new());
                (m.clone(), AuditHandle::Memory(m))
            }
            AuditChoice::File(path) => (
                Arc::new(JsonlAuditSink::open(path, FsyncPolicy::PerBatch)?),
                AuditHandle::File(path.clone()),
            ),
            AuditChoice::Sink(s) => (s.clone(), AuditHandle::Other),
        })
    }

    /// Acts as an authenticated caller: its principal, its API-key secret (checked again
    /// against the policy when the session is built) and its second factor.
    pub fn with_identity(mut self, caller: &crate::identity::Authenticated) -> Self {
        self.principal = Some(caller.identity().principal);
        self.organization = caller.principal.organization().to_string();
        self.api_key_secret = caller.principal.secret().cloned();
        self.context.mfa = caller.context.mfa;
        self
    }

    /// Wraps `sink` so that the policy's alert rules run on every appended event. The
    /// denial windows start from the trail's recent events (a file or memory trail), so
    /// that denials across separate CLI runs count together.
    fn alerting(&self, sink: Arc<dyn AuditSink>, rules: &AlertRules) -> Result<Arc<dyn AuditSink>> {
        let mut sinks = self.alert_sinks.clone();
        if let Some(file) = &rules.file {
            sinks.push(Arc::new(JsonlAlertSink::new(file)));
        }
        if let Some(url) = &rules.webhook_url {
            let make = self.alert_webhook.as_ref().ok_or_else(|| {
                Error::InvalidConfig(
                    "the policy sends alerts to a webhook, which this front end cannot do; \
                     use the CLI or alerts.file"
                        .into(),
                )
            })?;
            sinks.push(make(url)?);
        }
        let alerting = AlertingAuditSink::new(sink, rules.clone(), sinks)?;
        if let (Some(d), AuditChoice::File(path)) = (rules.denials, &self.audit) {
            let since = Timestamp::now().add_seconds(-i64::from(d.within_minutes) * 60)?;
            let trail = read_jsonl(path)?;
            alerting.seed(
                trail
                    .events
                    .iter()
                    .filter(|e| e.time().is_ok_and(|t| t >= since)),
            );
        }
        Ok(Arc::new(alerting))
    }

    /// Opens the audit sink, reads the policy, parses the principal and registers the
    /// secret options. Errors: the sink's or the policy's, or `InvalidInput` for a missing or
    /// malformed principal.
    pub fn build(&self) -> Result<(Session, AuditHandle)> {
        let (sink, handle) = self.audit_sink()?;
        let org = self.organization.as_str();
        let session = match &self.policy {
            None => {
                let user = self.principal.as_deref().unwrap_or(&self.local_owner);
                let user = user.strip_prefix("user:").unwrap_or(user);
                Session::local_owner(org, user, sink)
            }
            Some(source) => {
                let policy = source.load()?;
                // Refused credentials are recorded straight to the trail (no alert rule
                // reads them, and no webhook is called from this synchronous builder).
                let trail = sink.clone();
                let sink = match &policy.document().alerts {
                    Some(rules) => self.alerting(sink, rules)?,
                    None => sink,
                };
                let raw = self.principal.as_deref().ok_or_else(|| {
                    Error::InvalidInput(format!(
                        "a policy is set but no principal; {}",
                        self.principal_hint
                    ))
                })?;
                let mut who = Principal::parse(org, raw, Some(&policy))?;
                if who.kind() == PrincipalKind::ApiKey {
                    let checked = check_api_key_secret(&policy, &who, self.api_key_secret.as_ref());
                    if let Err(e) = checked {
                        record_authentication_failure(&trail, &who, &self.context, &e);
                        return Err(e);
                    }
                }
                if let (PrincipalKind::ApiKey, Some(secret)) = (who.kind(), &self.api_key_secret) {
                    who = who.with_secret(secret.clone());
                }
                Session::new(who, Arc::new(policy), sink)
            }
        }
        .with_context(self.context.clone())
        .with_secret_options(
            self.secret_options
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        Ok((session, handle))
    }
}

/// Records a refused credential (`authentication.failed`, the reason's text only). The
/// refusal stands whether or not it could be recorded.
fn record_authentication_failure(
    sink: &Arc<dyn AuditSink>,
    who: &Principal,
    context: &RequestContext,
    error: &Error,
) {
    let mut event = AuditEvent::new(
        AuditAction::AuthenticationFailed,
        Actor {
            kind: who.kind().as_str().into(),
            id: who.id().into(),
            email: None,
        },
        EventResource {
            kind: "organization".into(),
            id: who.organization().into(),
        },
        who.organization(),
    );
    event.context = EventContext {
        ip: context.ip.clone(),
        user_agent: context.user_agent.clone(),
        location: context.location.clone(),
    };
    event.details.insert(
        "reason".into(),
        serde_json::Value::String(error.code().into()),
    );
    let _ = futures::executor::block_on(sink.append(&[event]));
}

/// A key with a stored hash (made by `api-key create`) is only used with its secret: the
/// secret must be given and be this key's current (or in-grace previous) one.
fn check_api_key_secret(
    policy: &Policy,
    who: &Principal,
    secret: Option<&SecretString>,
) -> Result<()> {
    let entry = policy
        .document()
        .api_keys
        .iter()
        .find(|k| k.organization == who.organization() && k.id == who.id());
    if entry.is_none_or(|k| k.credential.is_none()) {
        return Ok(());
    }
    let secret = secret.ok_or_else(|| {
        Error::Unauthenticated(format!(
            "API key '{}' needs its secret (FIREKEEP_API_KEY or the front end's api_key option)",
            who.id()
        ))
    })?;
    let key = crate::identity::api_keys::verify_secret(
        policy.document(),
        who.organization(),
        secret.expose(),
        crate::model::Timestamp::now(),
    )?;
    if key.id != who.id() {
        return Err(crate::identity::AuthError::UnknownApiKey.into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_policy_makes_the_principal_or_the_local_owner_the_owner() {
        let (s, h) = SessionOptions::default().build().unwrap();
        assert_eq!(s.principal().id(), "local");
        assert!(matches!(h, AuditHandle::Memory(_)));
        let o = SessionOptions {
            principal: Some("user:alice".into()),
            ..SessionOptions::default()
        };
        assert_eq!(o.build().unwrap().0.principal().id(), "alice");
    }

    #[test]
    fn a_policy_needs_a_principal_and_is_json_or_toml() {
        let json = r#"{"version": 1, "members": [{"id": "bob", "organization": "default", "role": "viewer"}]}"#;
        let toml = "version = 1\n[[members]]\nid = \"bob\"\norganization = \"default\"\nrole = \"viewer\"\n";
        for text in [json, toml] {
            let mut o = SessionOptions {
                policy: Some(PolicySource::Text(text.into())),
                principal_hint: "use --principal".into(),
                ..SessionOptions::default()
            };
            let e = o.build().err().unwrap().to_string();
            assert!(e.contains("no principal; use --principal"), "{e}");
            o.principal = Some("user:bob".into());
            assert_eq!(o.build().unwrap().0.principal().id(), "bob");
            o.principal = Some("robot:x".into());
            assert!(matches!(o.build(), Err(Error::InvalidInput(_))));
        }
    }

    #[test]
    fn an_api_key_with_a_stored_hash_needs_its_secret() {
        let toml = "version = 1\n[[members]]\nid = \"bob\"\norganization = \"default\"\nrole = \"admin\"\n";
        let mut doc = Policy::from_toml(toml).unwrap().document().clone();
        let new = |id: &str| crate::identity::api_keys::NewApiKey {
            id: id.into(),
            organization: "default".into(),
            created_by: "bob".into(),
            actions: vec![crate::policy::Action::ViewBackups],
            projects: None,
            lifetime_days: None,
        };
        let now = crate::model::Timestamp::now();
        let secret = crate::identity::api_keys::create(&mut doc, new("ci"), now).unwrap();
        let other = crate::identity::api_keys::create(&mut doc, new("ci2"), now).unwrap();
        let memory = Arc::new(MemoryAuditSink::new());
        let mut o = SessionOptions {
            policy: Some(PolicySource::Text(doc.to_json())),
            principal: Some("apikey:ci".into()),
            audit: AuditChoice::Sink(memory.clone()),
            ..SessionOptions::default()
        };
        assert!(matches!(o.build(), Err(Error::Unauthenticated(_))));
        o.api_key_secret = Some(other.clone());
        assert!(matches!(o.build(), Err(Error::Unauthenticated(_))));
        let events = memory.events();
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].action, "authentication.failed");
        assert_eq!(events[1].actor.id, "ci");
        let text = serde_json::to_string(&events).unwrap();
        assert!(!text.contains(other.expose()), "{text}");
        o.api_key_secret = Some(secret);
        assert_eq!(o.build().unwrap().0.principal().id(), "ci");
    }

    #[test]
    fn policy_alerts_count_denials_across_sessions_on_one_trail() {
        let dir = std::env::temp_dir().join(format!("fk-setup-alerts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (trail, alerts) = (dir.join("audit.jsonl"), dir.join("alerts.jsonl"));
        let _ = (std::fs::remove_file(&trail), std::fs::remove_file(&alerts));
        let policy = format!(
            "[alerts]\ndenials = {{ count = 2, within_minutes = 10 }}\nfile = {:?}\n\n\
             [[members]]\nid = \"vera\"\norganization = \"default\"\nrole = \"viewer\"\n",
            alerts.display().to_string()
        );
        let o = SessionOptions {
            policy: Some(PolicySource::Text(policy.clone())),
            principal: Some("user:vera".into()),
            audit: AuditChoice::File(trail.clone()),
            ..SessionOptions::default()
        };
        let deny = || {
            let (s, _) = o.build().unwrap();
            let op = crate::session::Operation::new(
                crate::policy::Action::DeleteBackup,
                crate::policy::Resource::organization("default"),
                crate::audit::AuditAction::BackupDeleted,
                crate::audit::AuditAction::BackupDeleteFailed,
            );
            futures::executor::block_on(s.perform(op, || async { Ok(()) })).unwrap_err();
        };
        deny();
        assert!(!alerts.exists());
        deny();
        let text = std::fs::read_to_string(&alerts).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.contains("\"rule\":\"denials\""));
        // A webhook needs a front end that can send one.
        let hook = policy.replace(
            "[alerts]\n",
            "[alerts]\nwebhook_url = \"https://h.example\"\n",
        );
        let o = SessionOptions {
            policy: Some(PolicySource::Text(hook)),
            principal: Some("user:vera".into()),
            ..SessionOptions::default()
        };
        assert!(matches!(o.build(), Err(Error::InvalidConfig(_))));
    }

    #[test]
    fn secret_options_never_reach_an_audit_event() {
        let o = SessionOptions {
            secret_options: vec![
                ("aws_secret_access_key".into(), "s3cr3t-value".into()),
                ("aws_region".into(), "us-east-1".into()),
            ],
            ..SessionOptions::default()
        };
        let (s, h) = o.build().unwrap();
        let op = crate::session::Operation::new(
            crate::policy::Action::ViewBackups,
            crate::policy::Resource::organization("default"),
            crate::audit::AuditAction::BackupListed,
            crate::audit::AuditAction::BackupListFailed,
        );
        let failed = s.perform(op, || async {
            Err::<(), _>(Error::Storage(
                "failed with s3cr3t-value in us-east-1".into(),
            ))
        });
        futures::executor::block_on(failed).unwrap_err();
        let AuditHandle::Memory(m) = h else {
            panic!("memory sink expected")
        };
        let text = serde_json::to_string(&m.events()).unwrap();
        assert!(!text.contains("s3cr3t-value"), "{text}");
        assert!(text.contains("us-east-1"), "{text}");
    }
}
