//! Policy decisions for the client's principal: resources, action names, decisions.

use crate::client::Client;
use firekeep_core::Error as CoreError;
use firekeep_core::policy::{Action, Resource, ResourceKind};
use napi::bindgen_prelude::*;
use napi_derive::napi;

/// The outcome of an authorization check.
#[napi(object)]
pub struct Decision {
    /// The action asked about (`restore_backup`, ...).
    pub action: String,
    /// Whether the principal may perform it.
    pub allowed: bool,
    /// The rule that allows it, or why it is denied.
    pub reason: String,
}

impl Client {
    pub(crate) fn resource(
        &self,
        project: Option<String>,
        database: Option<String>,
        collections: Option<Vec<String>>,
    ) -> Resource {
        let mut r = Resource::organization(self.inner.session().organization());
        if let Some(p) = project {
            r = r.in_project(p);
        }
        if let Some(d) = database {
            r = r.in_database(d);
        }
        r.with_collections(collections.unwrap_or_default())
            .kind(ResourceKind::Backup)
    }
}

/// A policy action name; an unknown one is a bad argument (`TypeError`).
pub(crate) fn parse_action(action: &str) -> Result<Action> {
    action.parse().map_err(|e: CoreError| {
        Error::new(Status::InvalidArg, format!("ERR_INVALID_ARG_VALUE: {e}"))
    })
}

pub(crate) fn decision(d: &firekeep_core::policy::Decision) -> Decision {
    Decision {
        action: d.action.as_str().to_string(),
        allowed: d.allowed,
        reason: d.reason.to_string(),
    }
}
