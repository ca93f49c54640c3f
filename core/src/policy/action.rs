//! Actions a principal may be allowed to do, and sets of them.

use crate::{Error, Result};
use std::fmt;
use std::str::FromStr;

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
