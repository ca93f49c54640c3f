//! The built-in organization roles and the project roles of a grant.

use super::{Action, ActionSet};

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
