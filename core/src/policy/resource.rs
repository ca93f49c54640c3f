//! What an action acts on, scoped organization → project → database → collections.

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
