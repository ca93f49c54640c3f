//! The compiled policy and its evaluation: a few hash lookups and bit tests per decision.

use super::document::{self, PolicyDocument, Syntax, config_error, locate};
use super::{
    Action, ActionSet, BuiltinRole, Decision, MemberEntry, Principal, PrincipalKind, ProjectRole,
    Reason, RequestContext, Resource,
};
use crate::model::Timestamp;
use crate::{Error, Result};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

/// How deep `extends` chains may go (also stops cycles).
const MAX_EXTENDS_DEPTH: usize = 16;

/// A compiled, immutable policy. Build it from a [`PolicyDocument`], a JSON or TOML file,
/// or [`Policy::single_owner`]; share it behind an `Arc`.
#[derive(Debug)]
pub struct Policy {
    document: PolicyDocument,
    roles: HashMap<String, Arc<CompiledRole>>,
    orgs: HashMap<String, OrgIndex>,
}

#[derive(Debug)]
struct CompiledRole {
    name: Arc<str>,
    actions: ActionSet,
    projects: Option<HashSet<String>>,
    collections: Option<HashSet<String>>,
    mfa: ActionSet,
    expires_at: Option<Timestamp>,
}

/// The conditions of a role and every role it extends, combined so that each holds:
/// project and collection lists intersect, MFA sets unite, the earliest expiry wins.
#[derive(Debug, Default)]
struct ChainConditions {
    projects: Option<HashSet<String>>,
    collections: Option<HashSet<String>>,
    mfa: ActionSet,
    expires_at: Option<Timestamp>,
}

impl ChainConditions {
    fn add(&mut self, c: &document::Conditions) {
        fn narrow(acc: &mut Option<HashSet<String>>, more: &Option<Vec<String>>) {
            if let Some(more) = more {
                let more: HashSet<String> = more.iter().cloned().collect();
                *acc = Some(match acc.take() {
                    Some(have) => have.intersection(&more).cloned().collect(),
                    None => more,
                });
            }
        }
        narrow(&mut self.projects, &c.projects);
        narrow(&mut self.collections, &c.collections);
        self.mfa = self.mfa.union(c.require_mfa.iter().copied().collect());
        self.expires_at = match (self.expires_at, c.expires_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
}

#[derive(Debug, Default)]
struct OrgIndex {
    members: HashMap<String, CompiledMember>,
    api_keys: HashMap<String, CompiledKey>,
}

#[derive(Debug)]
struct CompiledMember {
    email: Option<String>,
    role: Option<Arc<CompiledRole>>,
    projects: HashMap<String, CompiledGrant>,
    expires_at: Option<Timestamp>,
    disabled_at: Option<Timestamp>,
}

#[derive(Debug)]
struct CompiledGrant {
    role: ProjectRole,
    /// `None`: every collection of the project.
    collections: Option<HashSet<String>>,
    expires_at: Option<Timestamp>,
}

#[derive(Debug)]
struct CompiledKey {
    created_by: String,
    actions: ActionSet,
    projects: Option<HashSet<String>>,
    expires_at: Option<Timestamp>,
    revoked_at: Option<Timestamp>,
}

fn expired(at: Option<Timestamp>, now: Timestamp) -> Option<String> {
    at.filter(|t| now >= *t).map(|t| t.to_rfc3339())
}

impl Policy {
    /// A policy with the built-in roles and nobody in it: denies everything.
    pub fn empty() -> Self {
        Policy::from_document(PolicyDocument::default()).expect("the empty policy is valid")
    }

    /// The default policy with one member: `user_id` is Owner of `organization`.
    /// Used for a local user running the CLI on their own data.
    pub fn single_owner(organization: &str, user_id: &str) -> Self {
        let doc = PolicyDocument {
            members: vec![MemberEntry {
                disabled_at: None,
                id: user_id.to_string(),
                email: None,
                organization: organization.to_string(),
                role: Some(BuiltinRole::Owner.as_str().to_string()),
                projects: Default::default(),
                expires_at: None,
            }],
            ..PolicyDocument::default()
        };
        Policy::from_document(doc).expect("a single-owner policy is valid")
    }

    /// Compiles a policy document, checking every reference (roles, creators).
    pub fn from_document(document: PolicyDocument) -> Result<Self> {
        compile(document, None, "document")
    }

    /// Parses and compiles a JSON policy. Errors name the line, column and field.
    pub fn from_json(source: &str) -> Result<Self> {
        let doc = document::parse(source, Syntax::Json, "(JSON)")?;
        compile(doc, Some(source), "(JSON)")
    }

    /// Parses and compiles a TOML policy. Errors name the line, column and field.
    pub fn from_toml(source: &str) -> Result<Self> {
        let doc = document::parse(source, Syntax::Toml, "(TOML)")?;
        compile(doc, Some(source), "(TOML)")
    }

    /// Reads a policy file: `.json` is JSON, anything else TOML.
    pub fn from_file(path: &Path) -> Result<Self> {
        let source = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("reading policy file {}", path.display()), e))?;
        let origin = path.display().to_string();
        let syntax = match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("json") => Syntax::Json,
            _ => Syntax::Toml,
        };
        let doc = document::parse(&source, syntax, &origin)?;
        compile(doc, Some(&source), &origin)
    }

    /// The document this policy was compiled from.
    pub fn document(&self) -> &PolicyDocument {
        &self.document
    }

    /// The actions a role (built-in or custom) grants, before conditions.
    pub fn role_actions(&self, role: &str) -> Option<ActionSet> {
        self.roles.get(role).map(|r| r.actions)
    }

    /// The e-mail address a member was given in the policy, if any.
    pub fn member_email(&self, organization: &str, user_id: &str) -> Option<&str> {
        self.orgs
            .get(organization)?
            .members
            .get(user_id)?
            .email
            .as_deref()
    }

    /// Decides whether `principal` may perform `action` on `resource` now.
    pub fn evaluate(
        &self,
        principal: &Principal,
        action: Action,
        resource: &Resource,
        context: &RequestContext,
    ) -> Decision {
        self.evaluate_at(principal, action, resource, context, Timestamp::now())
    }

    /// [`Policy::evaluate`] at a given instant (for expiry conditions).
    pub fn evaluate_at(
        &self,
        principal: &Principal,
        action: Action,
        resource: &Resource,
        context: &RequestContext,
        now: Timestamp,
    ) -> Decision {
        let (allowed, reason) = self.decide(principal, action, resource, context.mfa, now);
        Decision {
            action,
            allowed,
            reason,
        }
    }

    /// Every action `principal` may perform on `resource` at `now`.
    pub fn effective_actions(
        &self,
        principal: &Principal,
        resource: &Resource,
        context: &RequestContext,
        now: Timestamp,
    ) -> ActionSet {
        Action::ALL
            .into_iter()
            .filter(|a| self.decide(principal, *a, resource, context.mfa, now).0)
            .collect()
    }

    fn decide(
        &self,
        principal: &Principal,
        action: Action,
        resource: &Resource,
        mfa: bool,
        now: Timestamp,
    ) -> (bool, Reason) {
        // Nothing crosses organizations, whatever the roles say.
        if principal.organization() != resource.organization {
            return (
                false,
                Reason::CrossOrganization {
                    principal: principal.organization().to_string(),
                    resource: resource.organization.clone(),
                },
            );
        }
        let Some(org) = self.orgs.get(principal.organization()) else {
            return (false, Reason::NotAMember);
        };
        match principal.kind() {
            PrincipalKind::User => decide_user(org, principal.id(), action, resource, mfa, now),
            PrincipalKind::ApiKey => {
                let Some(key) = org.api_keys.get(principal.id()) else {
                    let key = principal.id().to_string();
                    return (false, Reason::UnknownApiKey { key });
                };
                if let Some(at) = key.revoked_at {
                    let key = principal.id().to_string();
                    let at = at.to_rfc3339();
                    return (false, Reason::Revoked { key, at });
                }
                if let Some(at) = expired(key.expires_at, now) {
                    let what = format!("API key '{}'", principal.id());
                    return (false, Reason::Expired { what, at });
                }
                let in_projects = match (&key.projects, &resource.project) {
                    (None, _) => true,
                    (Some(set), Some(p)) => set.contains(p),
                    (Some(_), None) => false,
                };
                if !key.actions.contains(action) || !in_projects {
                    let key = principal.id().to_string();
                    return (false, Reason::OutsideApiKeyScope { key });
                }
                // A key cannot present a second factor, so its creator is judged without one:
                // the key's permissions stay a subset of its creator's.
                let (ok, creator) = decide_user(org, &key.created_by, action, resource, false, now);
                let key = principal.id().to_string();
                let creator = Box::new(creator);
                if ok {
                    (true, Reason::ApiKey { key, creator })
                } else {
                    (false, Reason::CreatorDenied { key, creator })
                }
            }
        }
    }
}

fn collections_within(resource: &Resource, allowed: &HashSet<String>) -> bool {
    !resource.collections.is_empty() && resource.collections.iter().all(|c| allowed.contains(c))
}

/// Whether an organization role grants the action here; `Err` carries a specific denial
/// (conditions), `Ok(false)` means the role simply lacks the action.
fn role_allows(
    role: &CompiledRole,
    action: Action,
    resource: &Resource,
    mfa: bool,
    now: Timestamp,
) -> std::result::Result<bool, Reason> {
    if !role.actions.contains(action) {
        return Ok(false);
    }
    if let Some(at) = expired(role.expires_at, now) {
        let what = format!("role '{}'", role.name);
        return Err(Reason::Expired { what, at });
    }
    if let Some(projects) = &role.projects {
        if !resource
            .project
            .as_ref()
            .is_some_and(|p| projects.contains(p))
        {
            return Err(Reason::ProjectNotAllowed {
                role: role.name.clone(),
            });
        }
    }
    if let Some(collections) = &role.collections {
        if !collections_within(resource, collections) {
            return Err(Reason::CollectionNotAllowed {
                role: format!("role '{}'", role.name),
            });
        }
    }
    if role.mfa.contains(action) && !mfa {
        return Err(Reason::MfaRequired {
            role: role.name.clone(),
        });
    }
    Ok(true)
}

fn decide_user(
    org: &OrgIndex,
    user: &str,
    action: Action,
    resource: &Resource,
    mfa: bool,
    now: Timestamp,
) -> (bool, Reason) {
    let Some(member) = org.members.get(user) else {
        return (false, Reason::NotAMember);
    };
    if let Some(at) = member.disabled_at {
        let at = at.to_rfc3339();
        return (false, Reason::Disabled { at });
    }
    if let Some(at) = expired(member.expires_at, now) {
        let what = "membership".to_string();
        return (false, Reason::Expired { what, at });
    }
    // A second factor the member's role (with everything it extends) requires for this
    // action is required whichever way the action is granted: by the role itself
    // (`role_allows`), or by a project grant below — and so, through its creator judged
    // without MFA, by an API key. Otherwise a project grant would be a way around the role's
    // `require_mfa`.
    let needs_mfa = member
        .role
        .as_ref()
        .filter(|r| r.mfa.contains(action) && !mfa);
    let mut denial = None;
    if let Some(role) = &member.role {
        match role_allows(role, action, resource, mfa, now) {
            Ok(true) => {
                return (
                    true,
                    Reason::Role {
                        role: role.name.clone(),
                    },
                );
            }
            Ok(false) => {}
            Err(reason) => denial = Some(reason),
        }
    }
    if let Some(project) = &resource.project {
        if let Some(grant) = member.projects.get(project) {
            if grant.role.actions().contains(action) {
                if let Some(at) = expired(grant.expires_at, now) {
                    let what = format!("project grant on '{project}'");
                    denial.get_or_insert(Reason::Expired { what, at });
                } else if grant
                    .collections
                    .as_ref()
                    .is_some_and(|c| !collections_within(resource, c))
                {
                    let role = format!("the project grant on '{project}'");
                    denial.get_or_insert(Reason::CollectionNotAllowed { role });
                } else if let Some(role) = needs_mfa {
                    // The one thing missing, so the most useful reason to give.
                    denial = Some(Reason::MfaRequired {
                        role: role.name.clone(),
                    });
                } else {
                    let project = project.clone();
                    return (
                        true,
                        Reason::ProjectRole {
                            project,
                            role: grant.role,
                        },
                    );
                }
            }
        }
    }
    let reason = denial.unwrap_or_else(|| {
        let mut roles: Vec<String> = member.role.iter().map(|r| r.name.to_string()).collect();
        roles.extend(
            member
                .projects
                .iter()
                .map(|(p, g)| format!("project {p}: {}", g.role.as_str())),
        );
        if roles.is_empty() {
            roles.push("none".to_string());
        }
        Reason::NotGranted {
            roles: roles.join(", "),
        }
    });
    (false, reason)
}

/// Builds the indexes and checks every reference; errors name the field and, when the
/// source text is known, its line.
fn compile(document: PolicyDocument, source: Option<&str>, origin: &str) -> Result<Policy> {
    let err = |needles: &[&str], field: &str, msg: &str| {
        let pos = source.and_then(|s| locate(s, needles));
        config_error(origin, pos, field, msg)
    };
    if document.version != 1 {
        return Err(config_error(
            origin,
            None,
            "version",
            &format!(
                "version {} is not supported; use version = 1",
                document.version
            ),
        ));
    }

    // Roles: built-ins first, then custom roles resolved through `extends`.
    let mut roles: HashMap<String, Arc<CompiledRole>> = HashMap::new();
    for (name, entry) in &document.roles {
        let field = format!("roles.{name}");
        if name.trim().is_empty() {
            return Err(err(&[], &field, "a role name may not be empty"));
        }
        if BuiltinRole::from_name(name).is_some()
            && (!entry.actions.is_empty() || entry.extends.is_some())
        {
            return Err(err(
                &[name],
                &field,
                "the actions of built-in roles are fixed; only `conditions` may be set on them \
                 (define a custom role that `extends` it instead)",
            ));
        }
    }
    // A role is never more than what it extends: its actions are the union along the
    // `extends` chain, and so are its conditions (every role on the chain must hold), so an
    // inherited action keeps the MFA, project, collection and expiry limits of the role that
    // grants it.
    let resolve = |name: &str| -> Result<(ActionSet, ChainConditions)> {
        let mut actions = ActionSet::EMPTY;
        let mut conditions = ChainConditions::default();
        let mut current = name.to_string();
        for _ in 0..MAX_EXTENDS_DEPTH {
            let entry = document.roles.get(&current);
            if let Some(entry) = entry {
                conditions.add(&entry.conditions);
            }
            if let Some(b) = BuiltinRole::from_name(&current) {
                return Ok((actions.union(b.actions()), conditions));
            }
            let Some(entry) = entry else {
                return Err(err(
                    &[&current],
                    &format!("roles.{name}.extends"),
                    &format!(
                        "unknown role {current:?}; define it under `roles` or use owner, admin, member or viewer"
                    ),
                ));
            };
            actions = actions.union(entry.actions.iter().copied().collect());
            match &entry.extends {
                Some(parent) => current = parent.clone(),
                None => return Ok((actions, conditions)),
            }
        }
        Err(err(
            &[name],
            &format!("roles.{name}.extends"),
            &format!(
                "`extends` chain is longer than {MAX_EXTENDS_DEPTH} or loops; remove the cycle"
            ),
        ))
    };
    let names: Vec<String> = BuiltinRole::ALL
        .iter()
        .map(|b| b.as_str().to_string())
        .chain(document.roles.keys().cloned())
        .collect();
    for name in names {
        if roles.contains_key(&name) {
            continue;
        }
        let (actions, conditions) = resolve(&name)?;
        let role = CompiledRole {
            name: Arc::from(name.as_str()),
            actions,
            projects: conditions.projects,
            collections: conditions.collections,
            mfa: conditions.mfa,
            expires_at: conditions.expires_at,
        };
        roles.insert(name, Arc::new(role));
    }

    let mut orgs: HashMap<String, OrgIndex> = HashMap::new();
    for (i, m) in document.members.iter().enumerate() {
        let field = |f: &str| format!("members[{i}].{f}");
        if m.id.is_empty() || m.organization.is_empty() {
            return Err(err(
                &[],
                &field("id"),
                "a member needs a non-empty `id` and `organization`",
            ));
        }
        let role = match &m.role {
            None => None,
            Some(r) => Some(roles.get(r).cloned().ok_or_else(|| {
                err(
                    &[&m.id, r],
                    &field("role"),
                    &format!(
                        "unknown role {r:?}; define it under `roles` or use owner, admin, member or viewer"
                    ),
                )
            })?),
        };
        let mut projects = HashMap::new();
        for (p, g) in &m.projects {
            if g.role == ProjectRole::User && g.collections.is_empty() {
                return Err(err(
                    &[&m.id, p],
                    &field(&format!("projects.{p}.collections")),
                    "a project `user` grant must list the collections it covers",
                ));
            }
            let collections =
                (!g.collections.is_empty()).then(|| g.collections.iter().cloned().collect());
            projects.insert(
                p.clone(),
                CompiledGrant {
                    role: g.role,
                    collections,
                    expires_at: g.expires_at,
                },
            );
        }
        let org = orgs.entry(m.organization.clone()).or_default();
        if org.members.contains_key(&m.id) {
            return Err(err(
                &[&m.id, &m.id],
                &field("id"),
                &format!(
                    "member {:?} is listed twice in organization {:?}; merge the entries",
                    m.id, m.organization
                ),
            ));
        }
        org.members.insert(
            m.id.clone(),
            CompiledMember {
                email: m.email.clone(),
                role,
                projects,
                expires_at: m.expires_at,
                disabled_at: m.disabled_at,
            },
        );
    }

    for (i, k) in document.api_keys.iter().enumerate() {
        let field = |f: &str| format!("api_keys[{i}].{f}");
        if k.id.is_empty() {
            return Err(err(&[], &field("id"), "an API key needs a non-empty `id`"));
        }
        let creator_known = orgs
            .get(&k.organization)
            .is_some_and(|o| o.members.contains_key(&k.created_by));
        if !creator_known {
            return Err(err(
                &[&k.id, &k.created_by],
                &field("created_by"),
                &format!(
                    "{:?} is not a member of organization {:?}; an API key must be created by a member of its organization",
                    k.created_by, k.organization
                ),
            ));
        }
        let org = orgs.get_mut(&k.organization).expect("checked above");
        if org.api_keys.contains_key(&k.id) {
            return Err(err(
                &[&k.id, &k.id],
                &field("id"),
                &format!("API key {:?} is listed twice; keep one entry", k.id),
            ));
        }
        org.api_keys.insert(
            k.id.clone(),
            CompiledKey {
                created_by: k.created_by.clone(),
                actions: k.actions.iter().copied().collect(),
                projects: k.projects.as_ref().map(|v| v.iter().cloned().collect()),
                expires_at: k.expires_at,
                revoked_at: k.revoked_at,
            },
        );
    }

    Ok(Policy {
        document,
        roles,
        orgs,
    })
}
