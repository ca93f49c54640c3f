//! The authorizing, auditing entry point: a session holds the principal and the policy.
//!
//! Every operation goes through [`Session::perform`]: authorize against the policy, run,
//! then audit the outcome (`authorization.denied`, the operation's success action, or its
//! failure action). There is no way to run an operation through a session without both
//! steps, and an operation whose outcome cannot be audited reports [`Error::Audit`].

mod audit_trail;

pub use audit_trail::{AuditExport, AuditVerification};

use crate::audit::{
    Actor, AuditAction, AuditEvent, AuditSink, EventContext, EventResource, MemoryAuditSink,
    RetentionReport, redact_event,
};
use crate::model::Timestamp;
use crate::policy::{Action, Decision, Policy, Principal, RequestContext, Resource};
use crate::secret::SecretString;
use crate::{Error, Result};
use serde_json::{Map, Value};
use std::fmt;
use std::future::Future;
use std::sync::Arc;

/// Details an operation's result contributes to its audit event (counts, ids, sizes; never
/// secrets: the session redacts secret-named keys and known secret values regardless).
pub trait AuditDetails {
    /// The details to merge into the success event.
    fn audit_details(&self) -> Map<String, Value> {
        Map::new()
    }
}

impl AuditDetails for () {}

impl AuditDetails for bool {
    fn audit_details(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("result".into(), Value::Bool(*self));
        m
    }
}

macro_rules! count_details {
    ($($t:ty),*) => {$(
        impl AuditDetails for $t {
            fn audit_details(&self) -> Map<String, Value> {
                let mut m = Map::new();
                m.insert("result".into(), Value::from(*self));
                m
            }
        }
    )*};
}
count_details!(u32, u64, usize, i64);

impl AuditDetails for String {}

impl AuditDetails for Map<String, Value> {
    fn audit_details(&self) -> Map<String, Value> {
        self.clone()
    }
}

impl<T: AuditDetails> AuditDetails for Option<T> {
    fn audit_details(&self) -> Map<String, Value> {
        self.as_ref().map(T::audit_details).unwrap_or_default()
    }
}

impl<T> AuditDetails for Vec<T> {
    fn audit_details(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("count".into(), Value::from(self.len()));
        m
    }
}

impl AuditDetails for RetentionReport {
    fn audit_details(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        }
    }
}

/// One operation to run through [`Session::perform`]: what it needs permission for, what
/// it acts on, and how its outcome is recorded.
#[derive(Clone, Debug)]
pub struct Operation {
    /// The permission checked.
    pub action: Action,
    /// The resource acted on.
    pub resource: Resource,
    /// Audit action recorded when the operation succeeds.
    pub success: AuditAction,
    /// Audit action recorded when it fails.
    pub failure: AuditAction,
    /// Details recorded in every outcome event (denied, failed, succeeded).
    pub details: Map<String, Value>,
}

impl Operation {
    /// An operation with no details yet.
    pub fn new(
        action: Action,
        resource: Resource,
        success: AuditAction,
        failure: AuditAction,
    ) -> Self {
        Operation {
            action,
            resource,
            success,
            failure,
            details: Map::new(),
        }
    }

    /// Adds a detail.
    pub fn detail(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.details.insert(key.into(), value.into());
        self
    }
}

/// A further permission an operation needs, found while it runs (see
/// [`Session::perform_staged`]): e.g. restoring a backup also needs `restore_backup` on the
/// project the backup was taken from, which only its manifest names.
#[derive(Clone, Debug)]
pub struct Requirement {
    /// The permission checked.
    pub action: Action,
    /// The resource it is checked on.
    pub resource: Resource,
    /// What the requirement is about, for the denial message and the audit event's
    /// `denied_on` (`"the backup's source"`). Never data.
    pub what: String,
    /// Details recorded in every later event of the operation (e.g. `source_project`).
    pub details: Map<String, Value>,
}

impl Requirement {
    /// A requirement with no details.
    pub fn new(action: Action, resource: Resource, what: impl Into<String>) -> Self {
        Requirement {
            action,
            resource,
            what: what.into(),
            details: Map::new(),
        }
    }

    /// Adds a detail.
    pub fn detail(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.details.insert(key.into(), value.into());
        self
    }
}

type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// A principal acting under a policy, with an audit sink. Cheap to clone.
#[derive(Clone)]
pub struct Session {
    principal: Principal,
    policy: Arc<Policy>,
    audit: Arc<dyn AuditSink>,
    context: RequestContext,
    clock: Clock,
    secrets: Arc<Vec<SecretString>>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("principal", &self.principal)
            .field("context", &self.context)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session for `principal` under `policy`, auditing to `audit`.
    pub fn new(principal: Principal, policy: Arc<Policy>, audit: Arc<dyn AuditSink>) -> Self {
        Session {
            principal,
            policy,
            audit,
            context: RequestContext::default(),
            clock: Arc::new(Timestamp::now),
            secrets: Arc::new(Vec::new()),
        }
    }

    /// A local user who is Owner of `organization` under the default policy (the CLI and
    /// the demo, acting on the user's own data).
    pub fn local_owner(organization: &str, user_id: &str, audit: Arc<dyn AuditSink>) -> Self {
        let policy = Arc::new(Policy::single_owner(organization, user_id));
        Session::new(Principal::user(organization, user_id), policy, audit)
    }

    /// [`Session::local_owner`] with an in-memory trail (tests, examples).
    pub fn local_owner_in_memory(organization: &str, user_id: &str) -> Self {
        Session::local_owner(organization, user_id, Arc::new(MemoryAuditSink::new()))
    }

    /// Sets the request context (IP, user agent, location, MFA).
    pub fn with_context(mut self, context: RequestContext) -> Self {
        self.context = context;
        self
    }

    /// Replaces the clock (expiry conditions, event timestamps); for tests.
    pub fn with_clock(mut self, clock: impl Fn() -> Timestamp + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Registers a secret (passphrase, raw key, token) that must never appear in an audit
    /// event: any occurrence in an event's text is replaced by `[REDACTED]`.
    pub fn with_secret(mut self, secret: SecretString) -> Self {
        Arc::make_mut(&mut self.secrets).push(secret);
        self
    }

    /// Registers the values of configuration options whose names say they hold a secret
    /// (`secret_access_key`, `session_token`, `azure_storage_account_key`,
    /// `azure_storage_sas_key`, `google_service_account_key`, ...; see
    /// [`crate::audit::is_secret_key`]), so storage credentials given as options never reach
    /// an audit event whichever front end took them.
    pub fn with_secret_options<'a>(
        self,
        options: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Self {
        options
            .into_iter()
            .filter(|(k, v)| !v.is_empty() && crate::audit::is_secret_key(k))
            .fold(self, |s, (_, v)| s.with_secret(SecretString::from(v)))
    }

    /// Who acts.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The organization the session acts in.
    pub fn organization(&self) -> &str {
        self.principal.organization()
    }

    /// The policy.
    pub fn policy(&self) -> &Arc<Policy> {
        &self.policy
    }

    /// The audit sink.
    pub fn audit_sink(&self) -> &Arc<dyn AuditSink> {
        &self.audit
    }

    /// The request context.
    pub fn context(&self) -> &RequestContext {
        &self.context
    }

    /// Authorization only, without side effects (e.g. filtering a list).
    pub fn check(&self, action: Action, resource: &Resource) -> Decision {
        self.policy.evaluate_at(
            &self.principal,
            action,
            resource,
            &self.context,
            (self.clock)(),
        )
    }

    /// The only way to run an operation: authorize, run, audit.
    ///
    /// * Denied: records `authorization.denied` and returns [`Error::AuthorizationDenied`]
    ///   naming the rule; `f` never runs.
    /// * Allowed: runs `f`. On success records `op.success` with `op.details` merged with the
    ///   result's [`AuditDetails`]; on failure records `op.failure` with the error's code and
    ///   message and returns the error.
    /// * If the outcome cannot be recorded, returns [`Error::Audit`] (for a success, the
    ///   operation's effects stand but the caller learns they went unaudited).
    pub async fn perform<T, F, Fut>(&self, op: Operation, f: F) -> Result<T>
    where
        F: FnOnce() -> Fut + Send,
        Fut: Future<Output = Result<T>> + Send,
        T: AuditDetails + Send,
    {
        self.perform_staged(op, || async { Ok(((), Vec::new())) }, |()| f())
            .await
    }

    /// [`Session::perform`] for an operation whose full set of permissions is known only
    /// once it has started: restoring or diffing a backup reads the data of the project the
    /// backup was taken from, which only its manifest names.
    ///
    /// 1. `op` is authorized first; if denied, nothing runs (as in `perform`).
    /// 2. `prepare` runs (e.g. opens the manifest; it must not read or write any document)
    ///    and returns a value for `run` plus further [`Requirement`]s. Its failure is
    ///    audited as `op.failure`.
    /// 3. Every requirement is authorized; its details join the operation's from here on.
    ///    The first denial is audited as `authorization.denied` (with `denied_on` saying
    ///    which requirement) and returned as [`Error::AuthorizationDenied`]; `run` never
    ///    runs.
    /// 4. `run` runs and its outcome is audited as in `perform`.
    pub async fn perform_staged<P, T, FP, FutP, F, Fut>(
        &self,
        mut op: Operation,
        prepare: FP,
        run: F,
    ) -> Result<T>
    where
        FP: FnOnce() -> FutP + Send,
        FutP: Future<Output = Result<(P, Vec<Requirement>)>> + Send,
        F: FnOnce(P) -> Fut + Send,
        Fut: Future<Output = Result<T>> + Send,
        P: Send,
        T: AuditDetails + Send,
    {
        let decision = self.check(op.action, &op.resource);
        if !decision.allowed {
            let denied = Error::AuthorizationDenied(decision.to_string());
            return Err(self.deny(&op, &decision, None, denied).await);
        }
        let prepared = match prepare().await {
            Ok(p) => p,
            Err(err) => return Err(self.fail(&op, err).await),
        };
        let (value, requirements) = prepared;
        for req in requirements {
            op.details.extend(req.details.clone());
            let decision = self.check(req.action, &req.resource);
            if !decision.allowed {
                let denied = Error::AuthorizationDenied(format!(
                    "{} denied on {}: {}",
                    decision.action, req.what, decision.reason
                ));
                return Err(self.deny(&op, &decision, Some(&req.what), denied).await);
            }
        }
        match run(value).await {
            Ok(value) => {
                let mut details = op.details.clone();
                details.extend(value.audit_details());
                self.record(op.success, &op, details).await.map_err(|e| {
                    Error::Audit(format!(
                        "the operation succeeded but could not be audited ({e}); fix the \
                             audit log before continuing"
                    ))
                })?;
                Ok(value)
            }
            Err(err) => Err(self.fail(&op, err).await),
        }
    }

    /// Records a denial of `op` (on `what`, for a [`Requirement`]) and returns `denied`, or
    /// the audit error if it could not be recorded.
    async fn deny(
        &self,
        op: &Operation,
        decision: &Decision,
        what: Option<&str>,
        denied: Error,
    ) -> Error {
        let mut details = op.details.clone();
        details.insert("permission".into(), decision.action.as_str().into());
        details.insert("attempted".into(), op.success.as_str().into());
        details.insert("reason".into(), decision.reason.to_string().into());
        if let Some(what) = what {
            details.insert("denied_on".into(), what.into());
        }
        match self
            .record(AuditAction::AuthorizationDenied, op, details)
            .await
        {
            Ok(()) => denied,
            Err(e) => unaudited(&denied, e),
        }
    }

    /// Records the failure of `op` and returns `err`, or the audit error if it could not be
    /// recorded.
    async fn fail(&self, op: &Operation, err: Error) -> Error {
        let mut details = op.details.clone();
        let mut error = Map::new();
        error.insert("code".into(), err.code().into());
        error.insert("message".into(), err.to_string().into());
        details.insert("error".into(), Value::Object(error));
        match self.record(op.failure, op, details).await {
            Ok(()) => err,
            Err(e) => unaudited(&err, e),
        }
    }

    /// Applies audit retention: drops events older than `keep_days` days (30, 90, 365 ...)
    /// and records the cut as a chained `audit.retention_applied` event that confirms the
    /// new anchor. Needs [`Action::ManageAuditRetention`]; denial and failure are audited.
    pub async fn apply_audit_retention(&self, keep_days: u32) -> Result<RetentionReport> {
        let resource =
            Resource::organization(self.organization()).kind(crate::policy::ResourceKind::AuditLog);
        let op = Operation::new(
            Action::ManageAuditRetention,
            resource,
            AuditAction::AuditRetentionApplied,
            AuditAction::OperationFailed,
        )
        .detail("keepDays", keep_days);
        let decision = self.check(op.action, &op.resource);
        if !decision.allowed {
            // Same denial path as `perform`; the closure never runs.
            return self
                .perform(op, || async { Ok(RetentionReport::default_for_denial()) })
                .await;
        }
        let now = (self.clock)();
        let cutoff = now.add_seconds(-i64::from(keep_days) * 86_400)?;
        let confirmation = self.event(op.success, &op, op.details.clone(), now);
        match self.audit.apply_retention(cutoff, confirmation).await {
            Ok(report) => Ok(report),
            Err(err) => {
                let mut details = op.details.clone();
                details.insert("error".into(), err.code().into());
                details.insert("message".into(), err.to_string().into());
                self.record(op.failure, &op, details)
                    .await
                    .map_err(|e| unaudited(&err, e))?;
                Err(err)
            }
        }
    }

    fn event(
        &self,
        action: AuditAction,
        op: &Operation,
        mut details: Map<String, Value>,
        now: Timestamp,
    ) -> AuditEvent {
        let p = &self.principal;
        let email = p
            .email()
            .or_else(|| self.policy.member_email(p.organization(), p.id()))
            .map(str::to_string);
        let actor = Actor {
            kind: p.kind().as_str().to_string(),
            id: p.id().to_string(),
            email,
        };
        let r = &op.resource;
        let resource = EventResource {
            kind: r.kind.as_str().to_string(),
            id: r.audit_id(),
        };
        if let Some(project) = &r.project {
            details
                .entry("project")
                .or_insert_with(|| project.clone().into());
        }
        if let Some(db) = &r.database {
            details
                .entry("database")
                .or_insert_with(|| db.clone().into());
        }
        if !r.collections.is_empty() {
            details
                .entry("collections")
                .or_insert_with(|| r.collections.clone().into());
        }
        if r.organization != p.organization() {
            details.insert("resourceOrganization".into(), r.organization.clone().into());
        }
        let mut event = AuditEvent::at(now, action, actor, resource, p.organization());
        event.context = EventContext {
            ip: self.context.ip.clone(),
            user_agent: self.context.user_agent.clone(),
            location: self.context.location.clone(),
        };
        event.details = details;
        let mut secrets: Vec<&str> = self.secrets.iter().map(SecretString::expose).collect();
        if let Some(s) = p.secret() {
            secrets.push(s.expose());
        }
        redact_event(&mut event, &secrets);
        event
    }

    async fn record(
        &self,
        action: AuditAction,
        op: &Operation,
        details: Map<String, Value>,
    ) -> Result<()> {
        let event = self.event(action, op, details, (self.clock)());
        self.audit.append(std::slice::from_ref(&event)).await
    }
}

fn unaudited(outcome: &Error, audit: Error) -> Error {
    Error::Audit(format!(
        "could not record the outcome ({outcome}) in the audit log: {audit}; fix the audit log \
         before continuing"
    ))
}

impl RetentionReport {
    fn default_for_denial() -> Self {
        RetentionReport {
            dropped: 0,
            kept: 0,
            cutoff: String::new(),
            anchor: None,
        }
    }
}
