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

mod document;
mod eval;

pub use document::{
    ApiKeyCredential, ApiKeyEntry, Conditions, MemberEntry, PolicyDocument, ProjectGrantEntry,
    RoleEntry,
};
pub use eval::Policy;

use crate::secret::SecretString;
use crate::{Error, Result};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// Something a principal may be allowed to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Action {
    /// List and view projects (databases) of the organization.
    ViewProjects,
    /// List and inspect backups (manifests, reports, diffs).
    ViewBackups,
    /// Read the audit trail.
    ViewAuditLogs,
    /// Export the audit trail (JSON, CSV) and apply audit retention.
    ExportAuditLogs,
    /// Take a backup.
    CreateBackup,
    /// Verify a backup's integrity (reads storage only).
    VerifyBackup,
    /// Restore a backup into a database.
    RestoreBackup,
    /// Delete backups, by hand or by a retention (prune) run.
    DeleteBackup,
    /// Create, change and remove backup schedules.
    ManageSchedules,
    /// Configure the storage backups are written to.
    ConfigureStorage,
    /// Manage encryption keys (key rotation, key providers).
    ManageKeys,
    /// Invite and remove members and change their roles.
    ManageTeam,
    /// Create and revoke API keys.
    ManageApiKeys,
    /// See and change billing.
    AccessBilling,
    /// Delete the organization.
    DeleteOrganization,
    /// Apply audit-trail retention (drop events older than N days).
    ManageAuditRetention,
    /// Erase documents from backups (right to erasure).
    EraseData,
    /// Export a backup's documents as plain JSON or CSV (data portability).
    ExportData,
    /// Place and release legal holds on backups.
    ManageLegalHolds,
}

impl Action {
    /// Every action, in declaration order.
    pub const ALL: [Action; 19] = [
        Action::ViewProjects,
        Action::ViewBackups,
        Action::ViewAuditLogs,
        Action::ExportAuditLogs,
        Action::CreateBackup,
        Action::VerifyBackup,
        Action::RestoreBackup,
        Action::DeleteBackup,
        Action::ManageSchedules,
        Action::ConfigureStorage,
        Action::ManageKeys,
        Action::ManageTeam,
        Action::ManageApiKeys,
        Action::AccessBilling,
        Action::DeleteOrganization,
        Action::ManageAuditRetention,
        Action::EraseData,
        Action::ExportData,
        Action::ManageLegalHolds,
    ];

    /// The stable name used in policy files, audit events and bindings (`create_backup`).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::ViewProjects => "view_projects",
            Action::ViewBackups => "view_backups",
            Action::ViewAuditLogs => "view_audit_logs",
            Action::ExportAuditLogs => "export_audit_logs",
            Action::CreateBackup => "create_backup",
            Action::VerifyBackup => "verify_backup",
            Action::RestoreBackup => "restore_backup",
            Action::DeleteBackup => "delete_backup",
            Action::ManageSchedules => "manage_schedules",
            Action::ConfigureStorage => "configure_storage",
            Action::ManageKeys => "manage_keys",
            Action::ManageTeam => "manage_team",
            Action::ManageApiKeys => "manage_api_keys",
            Action::AccessBilling => "access_billing",
            Action::DeleteOrganization => "delete_organization",
            Action::ManageAuditRetention => "manage_audit_retention",
            Action::EraseData => "erase_data",
            Action::ExportData => "export_data",
            Action::ManageLegalHolds => "manage_legal_holds",
        }
    }

    fn bit(self) -> u32 {
        1 << (self as u8)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Action::ALL
            .iter()
            .copied()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                Error::InvalidInput(format!(
                    "unknown action {s:?}; expected one of: {}",
                    Action::ALL.map(Action::as_str).join(", ")
                ))
            })
    }
}

impl serde::Serialize for Action {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Action {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Action::from_str(&s).map_err(|_| {
            serde::de::Error::custom(format!(
                "unknown action `{s}`, expected one of: {}",
                Action::ALL.map(Action::as_str).join(", ")
            ))
        })
    }
}

/// A set of actions, as a bit mask (one test per decision).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ActionSet(u32);

impl ActionSet {
    /// No action.
    pub const EMPTY: ActionSet = ActionSet(0);

    /// Every action.
    pub fn all() -> Self {
        Action::ALL.iter().copied().collect()
    }

    /// Whether `action` is in the set.
    pub fn contains(self, action: Action) -> bool {
        self.0 & action.bit() != 0
    }

    /// Adds an action.
    pub fn insert(&mut self, action: Action) {
        self.0 |= action.bit();
    }

    /// Actions in both sets.
    pub fn intersection(self, other: ActionSet) -> ActionSet {
        ActionSet(self.0 & other.0)
    }

    /// Actions in either set.
    pub fn union(self, other: ActionSet) -> ActionSet {
        ActionSet(self.0 | other.0)
    }

    /// Whether every action of `self` is in `other`.
    pub fn is_subset(self, other: ActionSet) -> bool {
        self.0 & !other.0 == 0
    }

    /// The actions, in declaration order.
    pub fn iter(self) -> impl Iterator<Item = Action> {
        Action::ALL.into_iter().filter(move |a| self.contains(*a))
    }
}

impl FromIterator<Action> for ActionSet {
    fn from_iter<I: IntoIterator<Item = Action>>(iter: I) -> Self {
        let mut s = ActionSet::EMPTY;
        for a in iter {
            s.insert(a);
        }
        s
    }
}

impl fmt::Debug for ActionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(Action::as_str))
            .finish()
    }
}

/// The four built-in organization roles of DESIGN.md's permission matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BuiltinRole {
    /// Everything, including billing and deleting the organization.
    Owner,
    /// Everything except billing and deleting the organization.
    Admin,
    /// Views, creates and verifies backups, manages schedules.
    Member,
    /// Views projects, backups and logs.
    Viewer,
}

impl BuiltinRole {
    /// All four, most powerful first.
    pub const ALL: [BuiltinRole; 4] = [
        BuiltinRole::Owner,
        BuiltinRole::Admin,
        BuiltinRole::Member,
        BuiltinRole::Viewer,
    ];

    /// The role's name in policy files (`owner`, `admin`, `member`, `viewer`).
    pub fn as_str(self) -> &'static str {
        match self {
            BuiltinRole::Owner => "owner",
            BuiltinRole::Admin => "admin",
            BuiltinRole::Member => "member",
            BuiltinRole::Viewer => "viewer",
        }
    }

    /// The role with this name, if it is built in.
    pub fn from_name(name: &str) -> Option<Self> {
        BuiltinRole::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// The actions the role grants: DESIGN.md's matrix, plus the decisions documented in
    /// `docs/security.md` for the actions the matrix does not name.
    pub fn actions(self) -> ActionSet {
        use Action::*;
        let view = [ViewProjects, ViewBackups, ViewAuditLogs];
        let member = [CreateBackup, VerifyBackup, ManageSchedules];
        let admin = [
            ExportAuditLogs,
            RestoreBackup,
            DeleteBackup,
            ConfigureStorage,
            ManageKeys,
            ManageTeam,
            ManageApiKeys,
            ManageAuditRetention,
            EraseData,
            ExportData,
            ManageLegalHolds,
        ];
        let owner = [AccessBilling, DeleteOrganization];
        let mut set: ActionSet = view.into_iter().collect();
        if self == BuiltinRole::Viewer {
            return set;
        }
        set = set.union(member.into_iter().collect());
        if self == BuiltinRole::Member {
            return set;
        }
        set = set.union(admin.into_iter().collect());
        if self == BuiltinRole::Admin {
            return set;
        }
        set.union(owner.into_iter().collect())
    }
}

/// A role on one project, granted on top of (or instead of) an organization role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProjectRole {
    /// Views, backs up, verifies, restores and deletes backups of the project, manages its
    /// schedules and reads its audit events.
    Owner,
    /// Views, backs up and verifies only the collections the grant lists.
    User,
}

impl ProjectRole {
    /// The actions the project role grants inside its project.
    pub fn actions(self) -> ActionSet {
        use Action::*;
        match self {
            ProjectRole::Owner => [
                ViewProjects,
                ViewBackups,
                ViewAuditLogs,
                CreateBackup,
                VerifyBackup,
                RestoreBackup,
                DeleteBackup,
                ManageSchedules,
            ]
            .into_iter()
            .collect(),
            ProjectRole::User => [ViewProjects, ViewBackups, CreateBackup, VerifyBackup]
                .into_iter()
                .collect(),
        }
    }

    /// `owner` or `user`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectRole::Owner => "owner",
            ProjectRole::User => "user",
        }
    }
}

/// What kind of principal acts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    /// A person (or a service account treated as one).
    User,
    /// An API key, created by a member and limited to its scopes.
    ApiKey,
}

impl PrincipalKind {
    /// `user` or `api_key`: the audit event's `actor.type`.
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::User => "user",
            PrincipalKind::ApiKey => "api_key",
        }
    }
}

/// Who acts: a user or an API key, acting inside one organization.
#[derive(Clone, Debug)]
pub struct Principal {
    kind: PrincipalKind,
    id: String,
    email: Option<String>,
    organization: String,
    secret: Option<SecretString>,
}

impl Principal {
    /// A user acting in `organization`.
    pub fn user(organization: impl Into<String>, id: impl Into<String>) -> Self {
        Principal {
            kind: PrincipalKind::User,
            id: id.into(),
            email: None,
            organization: organization.into(),
            secret: None,
        }
    }

    /// An API key (by its non-secret id) acting in `organization`.
    pub fn api_key(organization: impl Into<String>, key_id: impl Into<String>) -> Self {
        Principal {
            kind: PrincipalKind::ApiKey,
            id: key_id.into(),
            email: None,
            organization: organization.into(),
            secret: None,
        }
    }

    /// Parses how users name a principal: `user:ID`, `user:EMAIL`, a bare id or e-mail (a
    /// user), or `apikey:ID` (also `api-key:`/`api_key:`). With a policy, `user:EMAIL` names
    /// the member of `organization` whose e-mail that is. Errors are
    /// [`Error::InvalidInput`] saying which forms are accepted.
    pub fn parse(organization: &str, raw: &str, policy: Option<&Policy>) -> Result<Principal> {
        let (kind, id) = raw.split_once(':').unwrap_or(("user", raw));
        if id.is_empty() {
            return Err(Error::InvalidInput(format!(
                "principal {raw:?} has an empty id"
            )));
        }
        match kind {
            "user" => {
                if !id.contains('@') {
                    return Ok(Principal::user(organization, id));
                }
                let member = policy.and_then(|p| {
                    p.document()
                        .members
                        .iter()
                        .find(|m| m.organization == organization && m.email.as_deref() == Some(id))
                });
                let user_id = member.map_or(id, |m| m.id.as_str());
                Ok(Principal::user(organization, user_id).with_email(id))
            }
            "apikey" | "api-key" | "api_key" => Ok(Principal::api_key(organization, id)),
            _ => Err(Error::InvalidInput(format!(
                "principal {raw:?}: write user:ID, user:EMAIL or apikey:ID"
            ))),
        }
    }

    /// Adds the principal's e-mail address (recorded in audit events).
    pub fn with_email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// Attaches the API key's secret value, so that a session redacts it wherever it
    /// might appear in an audit event. Never printed.
    pub fn with_secret(mut self, secret: SecretString) -> Self {
        self.secret = Some(secret);
        self
    }

    /// User or API key.
    pub fn kind(&self) -> PrincipalKind {
        self.kind
    }

    /// The user id or API key id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The e-mail address, if known.
    pub fn email(&self) -> Option<&str> {
        self.email.as_deref()
    }

    /// The organization the principal acts in.
    pub fn organization(&self) -> &str {
        &self.organization
    }

    /// The attached secret (API key value), if any.
    pub fn secret(&self) -> Option<&SecretString> {
        self.secret.as_ref()
    }
}

/// What a resource is: the audit event's `resource.type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    /// The organization itself (team, billing, deletion).
    Organization,
    /// A project (a Google Cloud project).
    Project,
    /// A Firestore database.
    Database,
    /// A backup.
    Backup,
    /// The audit trail.
    AuditLog,
    /// A storage configuration (bucket, folder).
    Storage,
    /// An encryption key.
    Key,
    /// A backup schedule.
    Schedule,
    /// A member of the organization.
    Member,
    /// An API key.
    ApiKey,
    /// Billing.
    Billing,
}

impl ResourceKind {
    /// The stable name (`backup`, `audit_log`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Organization => "organization",
            ResourceKind::Project => "project",
            ResourceKind::Database => "database",
            ResourceKind::Backup => "backup",
            ResourceKind::AuditLog => "audit_log",
            ResourceKind::Storage => "storage",
            ResourceKind::Key => "key",
            ResourceKind::Schedule => "schedule",
            ResourceKind::Member => "member",
            ResourceKind::ApiKey => "api_key",
            ResourceKind::Billing => "billing",
        }
    }
}

/// What an action applies to: organization → project → (database, collections), plus the
/// kind and id of the object itself (a backup id, a key id ...).
///
/// Built with [`Resource::organization`] and the `in_*`/`with_*` methods:
/// `Resource::organization("acme").in_project("prod").in_database("(default)").backup("bk_1")`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Resource {
    /// The organization that owns the resource.
    pub organization: String,
    /// The project, for project-scoped resources.
    pub project: Option<String>,
    /// The Firestore database id, when one is concerned.
    pub database: Option<String>,
    /// The top-level collections concerned; empty means every collection (the whole
    /// database), which project grants limited to collections do not cover.
    pub collections: Vec<String>,
    /// What the resource is.
    pub kind: ResourceKind,
    /// Its id, if it has one (backup id, key id, member id).
    pub id: Option<String>,
}

impl Resource {
    /// The organization itself.
    pub fn organization(organization: impl Into<String>) -> Self {
        Resource {
            organization: organization.into(),
            project: None,
            database: None,
            collections: Vec::new(),
            kind: ResourceKind::Organization,
            id: None,
        }
    }

    /// Narrows to a project (kind becomes `project` unless already more specific).
    pub fn in_project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into());
        if self.kind == ResourceKind::Organization {
            self.kind = ResourceKind::Project;
        }
        self
    }

    /// Narrows to a database (kind becomes `database` if it was `organization`/`project`).
    pub fn in_database(mut self, database: impl Into<String>) -> Self {
        self.database = Some(database.into());
        if matches!(
            self.kind,
            ResourceKind::Organization | ResourceKind::Project
        ) {
            self.kind = ResourceKind::Database;
        }
        self
    }

    /// Limits to top-level collections (empty: all of them).
    pub fn with_collections<I, S>(mut self, collections: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.collections = collections.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the kind and id of the object acted on.
    pub fn of(mut self, kind: ResourceKind, id: impl Into<String>) -> Self {
        self.kind = kind;
        self.id = Some(id.into());
        self
    }

    /// Sets the kind without an id (e.g. the audit log, a new backup not yet named).
    pub fn kind(mut self, kind: ResourceKind) -> Self {
        self.kind = kind;
        self
    }

    /// Shorthand for `.of(ResourceKind::Backup, id)`.
    pub fn backup(self, id: impl Into<String>) -> Self {
        self.of(ResourceKind::Backup, id)
    }

    /// The id recorded in audit events: the object's id, else the most specific scope.
    pub fn audit_id(&self) -> String {
        if let Some(id) = &self.id {
            return id.clone();
        }
        match (&self.project, &self.database) {
            (Some(p), Some(d)) => format!("{p}/{d}"),
            (Some(p), None) => p.clone(),
            _ => self.organization.clone(),
        }
    }
}

/// Facts about the request that conditions and audit events use.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestContext {
    /// Client IP address.
    pub ip: Option<String>,
    /// Client user agent (`firekeep-cli/0.1.0`, `firekeep-python/0.1.0` ...).
    pub user_agent: Option<String>,
    /// Client location, if known.
    pub location: Option<String>,
    /// Whether the principal authenticated with a second factor in this session.
    pub mfa: bool,
}

/// Why a decision was made: the rule that allowed, or the reason for denial.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// An organization role grants the action.
    Role {
        /// The role's name.
        role: Arc<str>,
    },
    /// A project role grants the action on the resource's project.
    ProjectRole {
        /// The project.
        project: String,
        /// The project role.
        role: ProjectRole,
    },
    /// The API key's scopes and its creator's permissions both allow the action.
    ApiKey {
        /// The key id.
        key: String,
        /// Why the creator is allowed.
        creator: Box<Reason>,
    },
    /// The resource belongs to another organization than the principal acts in.
    CrossOrganization {
        /// The principal's organization.
        principal: String,
        /// The resource's organization.
        resource: String,
    },
    /// The principal is not a member of the organization.
    NotAMember,
    /// The policy has no such API key in the organization.
    UnknownApiKey {
        /// The key id.
        key: String,
    },
    /// The membership or API key has expired.
    Expired {
        /// What expired (`membership`, `role viewer`, `API key k1`).
        what: String,
        /// When.
        at: String,
    },
    /// The member was disabled (e.g. inactive, by an access review).
    Disabled {
        /// When.
        at: String,
    },
    /// The API key was revoked.
    Revoked {
        /// The key id.
        key: String,
        /// When.
        at: String,
    },
    /// The role requires a second factor for this action.
    MfaRequired {
        /// The role with the condition.
        role: Arc<str>,
    },
    /// The role is limited to some projects and the resource is not in one of them.
    ProjectNotAllowed {
        /// The role with the condition.
        role: Arc<str>,
    },
    /// The role or grant is limited to some collections and the resource is not.
    CollectionNotAllowed {
        /// The role or grant with the condition.
        role: String,
    },
    /// No role of the principal grants the action.
    NotGranted {
        /// The principal's roles, for the message.
        roles: String,
    },
    /// The API key's scopes do not include the action or the project.
    OutsideApiKeyScope {
        /// The key id.
        key: String,
    },
    /// The API key's creator may not do this, so neither may the key.
    CreatorDenied {
        /// The key id.
        key: String,
        /// Why the creator is denied.
        creator: Box<Reason>,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Role { role } => write!(f, "role '{role}' grants it"),
            Reason::ProjectRole { project, role } => {
                write!(f, "project role '{}' on project '{project}' grants it", role.as_str())
            }
            Reason::ApiKey { key, creator } => {
                write!(f, "API key '{key}' is scoped for it and its creator's {creator}")
            }
            Reason::CrossOrganization {
                principal,
                resource,
            } => write!(
                f,
                "the resource belongs to organization '{resource}' but the principal acts in \
                 '{principal}'; nothing crosses organizations, use a session of '{resource}'"
            ),
            Reason::NotAMember => f.write_str(
                "the principal is not a member of the organization; ask an owner or admin to add it",
            ),
            Reason::UnknownApiKey { key } => write!(
                f,
                "API key '{key}' is not in the policy for this organization (revoked or never \
                 created); use a current key"
            ),
            Reason::Expired { what, at } => {
                write!(f, "the {what} expired at {at}; ask an owner or admin to renew it")
            }
            Reason::Disabled { at } => write!(
                f,
                "the member was disabled at {at}; ask an owner or admin to re-enable it"
            ),
            Reason::Revoked { key, at } => {
                write!(f, "API key '{key}' was revoked at {at}; use a current key")
            }
            Reason::MfaRequired { role } => write!(
                f,
                "role '{role}' requires multi-factor authentication for this action; sign in with MFA"
            ),
            Reason::ProjectNotAllowed { role } => {
                write!(f, "role '{role}' does not cover this project")
            }
            Reason::CollectionNotAllowed { role } => write!(
                f,
                "{role} covers only some collections; name only those collections"
            ),
            Reason::NotGranted { roles } => write!(
                f,
                "no role grants it (roles: {roles}); ask an owner or admin for a role that does"
            ),
            Reason::OutsideApiKeyScope { key } => write!(
                f,
                "API key '{key}' is not scoped for this action or project; create a key with that scope"
            ),
            Reason::CreatorDenied { key, creator } => write!(
                f,
                "API key '{key}' can do no more than the member who created it, and that member is denied: {creator}"
            ),
        }
    }
}

/// The outcome of [`Policy::evaluate`]: allow or deny, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The action asked for.
    pub action: Action,
    /// Whether it is allowed.
    pub allowed: bool,
    /// The rule that allowed it, or why it was denied.
    pub reason: Reason,
}

impl Decision {
    /// Whether the action is allowed.
    pub fn is_allowed(&self) -> bool {
        self.allowed
    }

    /// This decision as a `Result`: `Err(Error::AuthorizationDenied)` when denied.
    pub fn into_result(self) -> Result<()> {
        if self.allowed {
            Ok(())
        } else {
            Err(Error::AuthorizationDenied(self.to_string()))
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.allowed { "allowed" } else { "denied" };
        write!(f, "{} {verdict}: {}", self.action, self.reason)
    }
}
