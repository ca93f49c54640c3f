//! Opening a `Client`: its options, the audit sink (memory, file or callback), the alert
//! callback, and the caller (a principal, or an `Identity` from an `Authenticator`).

use crate::errors::{js_err, to_json, type_err};
use crate::keys::Key;
use crate::runtime::WeakJsonCallback;
use firekeep_core::Error as CoreError;
use firekeep_core::audit::{AuditEvent, CallbackAuditSink};
use firekeep_core::client::Client as CoreClient;
use firekeep_core::identity::alerts::{Alert, CallbackAlertSink};
use firekeep_core::policy::RequestContext;
use firekeep_core::setup::{AuditChoice, AuditHandle, PolicySource, SessionOptions};
use firekeep_object_store::{OpenClientOptions, open_client};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::ThreadsafeFunctionCallMode;
use napi_derive::napi;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Client options (see `docs/node.md`).
#[napi(object)]
pub struct ClientOptions {
    /// A path, `file:///path`, `s3://bucket/prefix`, `gs://…` or `az://…`.
    pub repository: String,
    pub key: ClassInstance<'static, Key>,
    /// object_store options (`aws_endpoint`, `aws_region`, …).
    pub storage_options: Option<HashMap<String, String>>,
    /// Default `default`.
    pub organization: Option<String>,
    /// `user:ID`, `user:EMAIL` or `apikey:ID`.
    pub principal: Option<String>,
    /// Policy text (TOML or JSON) or a path to a policy file.
    pub policy: Option<String>,
    /// `memory` (default) or a JSONL file path.
    pub audit: Option<String>,
    /// Create a local repository that does not exist yet (default true).
    pub create: Option<bool>,
    /// The caller's IP address, recorded in audit events (`context.ip`).
    pub ip: Option<String>,
    /// The caller's user agent, recorded in audit events (`context.userAgent`).
    pub user_agent: Option<String>,
    /// The caller's location, recorded in audit events (`context.location`).
    pub location: Option<String>,
    /// Whether the caller authenticated with a second factor (policy conditions may ask).
    pub mfa: Option<bool>,
    /// A caller verified by `Authenticator` to act as (instead of `principal`/`mfa`).
    pub identity: Option<ClassInstance<'static, crate::identity::Identity>>,
}

/// Builds the core client with the one builder every front end uses: repository, audit
/// sink, policy, principal, context, alert sinks, and the storage options as secrets.
pub(crate) fn open(
    options: ClientOptions,
    audit_callback: Option<WeakJsonCallback>,
    alert_callback: Option<WeakJsonCallback>,
) -> Result<(CoreClient, AuditHandle)> {
    let audit = match (audit_callback, options.audit) {
        (Some(cb), _) => {
            let sink = CallbackAuditSink::new(move |events: &[AuditEvent]| {
                cb.call(to_json(&events), ThreadsafeFunctionCallMode::NonBlocking);
                Ok(())
            });
            AuditChoice::Sink(Arc::new(sink))
        }
        (None, None) => AuditChoice::Memory,
        (None, Some(s)) if s == "memory" => AuditChoice::Memory,
        (None, Some(s)) => AuditChoice::File(PathBuf::from(s)),
    };
    let mut session = SessionOptions {
        organization: options.organization.unwrap_or_else(|| "default".into()),
        principal: options.principal,
        policy: options.policy.map(PolicySource::Text),
        local_owner: "local".into(),
        audit,
        context: RequestContext {
            ip: options.ip,
            user_agent: options.user_agent,
            location: options.location,
            mfa: options.mfa.unwrap_or(false),
        },
        principal_hint: "pass principal: \"user:EMAIL\"".into(),
        // A policy's alerts.webhook_url: signed with FIREKEEP_ALERT_WEBHOOK_SECRET.
        alert_webhook: Some(firekeep_oidc::webhook_factory_from_env()),
        ..SessionOptions::default()
    };
    if let Some(cb) = alert_callback {
        // Non-blocking: an alert listener must not hold up the audited operation.
        session
            .alert_sinks
            .push(Arc::new(CallbackAlertSink::new(move |a: &Alert| {
                cb.call(to_json(a), ThreadsafeFunctionCallMode::NonBlocking);
                Ok(())
            })));
    }
    if let Some(who) = &options.identity {
        if session.principal.is_some() {
            return Err(type_err(
                "give principal or identity (an authenticated caller), not both",
            ));
        }
        // The authenticated caller: its principal, API-key secret and second factor.
        session = session.with_identity(&who.inner);
    }
    let open = OpenClientOptions {
        // Sorted, so the first bad option reported is the same on every run.
        storage_options: options
            .storage_options
            .unwrap_or_default()
            .into_iter()
            .collect(),
        repository: options.repository,
        create: options.create.unwrap_or(true),
        session,
    };
    // A malformed repository, principal or missing principal is a bad argument
    // (`TypeError`); the rest keep their codes.
    open_client(&open, options.key.inner.clone()).map_err(|e| match e {
        CoreError::InvalidInput(m) => {
            Error::new(Status::InvalidArg, format!("ERR_INVALID_ARG_VALUE: {m}"))
        }
        e => js_err(e),
    })
}
