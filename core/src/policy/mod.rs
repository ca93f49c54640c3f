//! Role-based authorization: principals, roles, policies and their evaluation.
//!
//! * [`Action`]: what a principal wants to do (15 actions, stable snake_case names).
//! * [`Resource`]: what it acts on, scoped organization → project → (database, collections).
//! * [`Principal`]: who acts (a user or an API key), always inside one organization.
//! * [`Policy`]: roles, members and API keys as data ([`PolicyDocument`], JSON or TOML),
//!   compiled into indexes so that [`Policy::evaluate`] is a few hash lookups.
//! * [`Decision`]: allow or deny, and the rule that decided.
//!
//! Deny by default: anything no rule grants is refused, and nothing crosses organizations.
//! The permission matrix is documented in `docs/security.md`.

mod action;
mod decision;
mod document;
mod eval;
mod principal;
mod resource;
mod role;

pub use action::{Action, ActionSet};
pub use decision::{Decision, Reason, RequestContext};
pub use document::{
    ApiKeyCredential, ApiKeyEntry, Conditions, MemberEntry, PolicyDocument, ProjectGrantEntry,
    RoleEntry,
};
pub use eval::Policy;
pub use principal::{Principal, PrincipalKind};
pub use resource::{Resource, ResourceKind};
pub use role::{BuiltinRole, ProjectRole};
