//! The RBAC policy: the permission matrix, conditions, project grants, API keys, policy
//! files (JSON and TOML) and their errors, and property tests of the safety rules.

use firekeep_core::Error;
use firekeep_core::model::Timestamp;
use firekeep_core::policy::{
    Action, ActionSet, ApiKeyEntry, BuiltinRole, Conditions, MemberEntry, Policy, PolicyDocument,
    Principal, ProjectGrantEntry, ProjectRole, Reason, RequestContext, Resource, RoleEntry,
};
use proptest::prelude::*;
use std::collections::BTreeMap;

const ORG: &str = "acme";

fn member(id: &str, org: &str, role: Option<&str>) -> MemberEntry {
    MemberEntry {
        disabled_at: None,
        id: id.into(),
        email: Some(format!("{id}@example.com")),
        organization: org.into(),
        role: role.map(Into::into),
        projects: BTreeMap::new(),
        expires_at: None,
    }
}

fn ts(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap()
}

fn now() -> Timestamp {
    ts("2026-06-01T00:00:00Z")
}

fn ctx(mfa: bool) -> RequestContext {
    RequestContext {
        mfa,
        ..RequestContext::default()
    }
}

fn prod() -> Resource {
    Resource::organization(ORG)
        .in_project("prod")
        .in_database("(default)")
}

/// DESIGN.md's matrix, row by row (Owner, Admin, Member, Viewer), then the rows
/// docs/security.md decides. Written out by hand: the test is this table.
const MATRIX: &[(Action, [bool; 4])] = &[
    // View projects, backups, logs: everyone.
    (Action::ViewProjects, [true, true, true, true]),
    (Action::ViewBackups, [true, true, true, true]),
    (Action::ViewAuditLogs, [true, true, true, true]),
    // Create backups: not Viewer.
    (Action::CreateBackup, [true, true, true, false]),
    // Restore backups: Owner, Admin.
    (Action::RestoreBackup, [true, true, false, false]),
    // Manage schedules: not Viewer.
    (Action::ManageSchedules, [true, true, true, false]),
    // Configure storage, manage team: Owner, Admin.
    (Action::ConfigureStorage, [true, true, false, false]),
    (Action::ManageTeam, [true, true, false, false]),
    // Billing and deleting the organization: Owner only.
    (Action::AccessBilling, [true, false, false, false]),
    (Action::DeleteOrganization, [true, false, false, false]),
    // Decided in docs/security.md.
    (Action::VerifyBackup, [true, true, true, false]),
    (Action::DeleteBackup, [true, true, false, false]),
    (Action::ExportAuditLogs, [true, true, false, false]),
    (Action::ManageKeys, [true, true, false, false]),
    (Action::ManageApiKeys, [true, true, false, false]),
    (Action::ManageAuditRetention, [true, true, false, false]),
    (Action::EraseData, [true, true, false, false]),
    (Action::ExportData, [true, true, false, false]),
    (Action::ManageLegalHolds, [true, true, false, false]),
];

fn four_roles_policy() -> Policy {
    let members = BuiltinRole::ALL
        .iter()
        .map(|r| member(r.as_str(), ORG, Some(r.as_str())))
        .collect();
    Policy::from_document(PolicyDocument {
        members,
        ..PolicyDocument::default()
    })
    .unwrap()
}

#[test]
fn permission_matrix_every_role_and_action() {
    assert_eq!(MATRIX.len(), Action::ALL.len(), "every action has a row");
    let policy = four_roles_policy();
    let resources = [
        Resource::organization(ORG),
        prod(),
        prod().with_collections(["users"]).backup("bk_1"),
    ];
    for (action, row) in MATRIX {
        for (role, expected) in BuiltinRole::ALL.iter().zip(row) {
            for resource in &resources {
                let p = Principal::user(ORG, role.as_str());
                let d = policy.evaluate_at(&p, *action, resource, &ctx(false), now());
                assert_eq!(
                    d.allowed,
                    *expected,
                    "{} / {action} on {resource:?}: {d}",
                    role.as_str()
                );
                if d.allowed {
                    assert_eq!(
                        d.reason,
                        Reason::Role {
                            role: role.as_str().into()
                        }
                    );
                } else {
                    assert!(matches!(d.reason, Reason::NotGranted { .. }), "{d}");
                    let msg = d.into_result().unwrap_err().to_string();
                    assert!(
                        msg.contains(role.as_str()) && msg.contains(action.as_str()),
                        "{msg}"
                    );
                }
            }
        }
    }
}

#[test]
fn deny_by_default_and_across_organizations() {
    let policy = four_roles_policy();
    let stranger = Principal::user(ORG, "mallory");
    let d = policy.evaluate_at(&stranger, Action::ViewBackups, &prod(), &ctx(true), now());
    assert!(!d.allowed);
    assert_eq!(d.reason, Reason::NotAMember);

    // The owner of acme acting on another organization's resource.
    let owner = Principal::user(ORG, "owner");
    let other = Resource::organization("globex").in_project("prod");
    let d = policy.evaluate_at(&owner, Action::ViewBackups, &other, &ctx(true), now());
    assert!(!d.allowed);
    assert!(matches!(d.reason, Reason::CrossOrganization { .. }));
    // The same user claiming to act in an organization they do not belong to.
    let owner_elsewhere = Principal::user("globex", "owner");
    let d = policy.evaluate_at(
        &owner_elsewhere,
        Action::ViewBackups,
        &other,
        &ctx(true),
        now(),
    );
    assert_eq!(d.reason, Reason::NotAMember);
    assert!(
        Policy::empty()
            .evaluate_at(&owner, Action::ViewProjects, &prod(), &ctx(true), now())
            .into_result()
            .is_err()
    );
}

fn conditions_policy() -> Policy {
    let mut roles = BTreeMap::new();
    roles.insert(
        "auditor".to_string(),
        RoleEntry {
            description: Some("reads and exports logs of prod, with MFA".into()),
            extends: Some("viewer".into()),
            actions: vec![Action::ExportAuditLogs],
            conditions: Conditions {
                projects: Some(vec!["prod".into()]),
                collections: None,
                require_mfa: vec![Action::ExportAuditLogs],
                expires_at: Some(ts("2026-12-31T00:00:00Z")),
            },
        },
    );
    roles.insert(
        "admin".to_string(),
        RoleEntry {
            conditions: Conditions {
                require_mfa: vec![Action::RestoreBackup],
                ..Conditions::default()
            },
            ..RoleEntry::default()
        },
    );
    let mut bob = member("bob", ORG, None);
    bob.projects.insert(
        "prod".into(),
        ProjectGrantEntry {
            role: ProjectRole::User,
            collections: vec!["users".into(), "orders".into()],
            expires_at: None,
        },
    );
    let mut carol = member("carol", ORG, Some("viewer"));
    carol.projects.insert(
        "staging".into(),
        ProjectGrantEntry {
            role: ProjectRole::Owner,
            collections: vec![],
            expires_at: Some(ts("2026-07-01T00:00:00Z")),
        },
    );
    let mut temp = member("temp", ORG, Some("admin"));
    temp.expires_at = Some(ts("2026-05-01T00:00:00Z"));
    Policy::from_document(PolicyDocument {
        roles,
        members: vec![
            member("alice", ORG, Some("admin")),
            member("audrey", ORG, Some("auditor")),
            bob,
            carol,
            temp,
        ],
        ..PolicyDocument::default()
    })
    .unwrap()
}

#[test]
fn conditions_mfa_projects_collections_expiry() {
    let p = conditions_policy();
    let user = |id: &str| Principal::user(ORG, id);
    let eval = |id: &str, a: Action, r: &Resource, mfa: bool, at: Timestamp| {
        p.evaluate_at(&user(id), a, r, &ctx(mfa), at)
    };

    // MFA on a built-in role's action.
    let d = eval("alice", Action::RestoreBackup, &prod(), false, now());
    assert!(matches!(d.reason, Reason::MfaRequired { .. }), "{d}");
    assert!(d.to_string().contains("MFA"));
    assert!(eval("alice", Action::RestoreBackup, &prod(), true, now()).allowed);
    assert!(eval("alice", Action::CreateBackup, &prod(), false, now()).allowed);

    // Custom role: extends viewer, adds export, only on prod, export needs MFA, expires.
    assert!(eval("audrey", Action::ViewBackups, &prod(), false, now()).allowed);
    assert!(!eval("audrey", Action::ExportAuditLogs, &prod(), false, now()).allowed);
    assert!(eval("audrey", Action::ExportAuditLogs, &prod(), true, now()).allowed);
    let staging = Resource::organization(ORG).in_project("staging");
    let d = eval("audrey", Action::ViewBackups, &staging, true, now());
    assert!(matches!(d.reason, Reason::ProjectNotAllowed { .. }), "{d}");
    assert!(!eval("audrey", Action::CreateBackup, &prod(), true, now()).allowed);
    let later = ts("2027-01-01T00:00:00Z");
    let d = eval("audrey", Action::ViewBackups, &prod(), true, later);
    assert!(matches!(d.reason, Reason::Expired { .. }), "{d}");

    // Project user: only the granted collections, only member-like actions.
    let users = prod().with_collections(["users"]);
    let both = prod().with_collections(["users", "orders"]);
    let secret = prod().with_collections(["users", "payroll"]);
    assert!(eval("bob", Action::CreateBackup, &users, false, now()).allowed);
    assert!(eval("bob", Action::CreateBackup, &both, false, now()).allowed);
    let d = eval("bob", Action::CreateBackup, &secret, false, now());
    assert!(
        matches!(d.reason, Reason::CollectionNotAllowed { .. }),
        "{d}"
    );
    // The whole database is more than the granted collections.
    assert!(!eval("bob", Action::CreateBackup, &prod(), false, now()).allowed);
    assert!(!eval("bob", Action::RestoreBackup, &users, true, now()).allowed);
    assert!(
        !eval(
            "bob",
            Action::CreateBackup,
            &staging.clone().with_collections(["users"]),
            false,
            now()
        )
        .allowed
    );
    assert!(
        !eval(
            "bob",
            Action::ViewBackups,
            &Resource::organization(ORG),
            false,
            now()
        )
        .allowed
    );

    // Viewer in the org, project owner of staging until July.
    assert!(eval("carol", Action::RestoreBackup, &staging, false, now()).allowed);
    assert!(!eval("carol", Action::RestoreBackup, &prod(), false, now()).allowed);
    assert!(
        !eval(
            "carol",
            Action::RestoreBackup,
            &staging,
            false,
            ts("2026-08-01T00:00:00Z")
        )
        .allowed
    );
    assert!(!eval("carol", Action::ConfigureStorage, &staging, false, now()).allowed);

    // Expired membership.
    let d = eval("temp", Action::ViewProjects, &prod(), true, now());
    assert!(matches!(d.reason, Reason::Expired { .. }), "{d}");
    assert!(
        eval(
            "temp",
            Action::ViewProjects,
            &prod(),
            true,
            ts("2026-04-01T00:00:00Z")
        )
        .allowed
    );
}

#[test]
fn api_keys_are_scoped_and_bounded_by_their_creator() {
    let doc = PolicyDocument {
        members: vec![
            member("mia", ORG, Some("member")),
            member("olga", ORG, Some("owner")),
        ],
        api_keys: vec![
            ApiKeyEntry {
                credential: None,
                revoked_at: None,
                id: "ci".into(),
                organization: ORG.into(),
                created_by: "mia".into(),
                // Restore is in scope, but mia (a Member) cannot restore.
                actions: vec![Action::CreateBackup, Action::RestoreBackup],
                projects: Some(vec!["prod".into()]),
                expires_at: Some(ts("2026-09-01T00:00:00Z")),
            },
            ApiKeyEntry {
                credential: None,
                revoked_at: None,
                id: "ops".into(),
                organization: ORG.into(),
                created_by: "olga".into(),
                actions: vec![Action::RestoreBackup, Action::ViewBackups],
                projects: None,
                expires_at: None,
            },
        ],
        ..PolicyDocument::default()
    };
    let p = Policy::from_document(doc).unwrap();
    let ci = Principal::api_key(ORG, "ci");
    let ops = Principal::api_key(ORG, "ops");
    let e = |k: &Principal, a, r: &Resource| p.evaluate_at(k, a, r, &ctx(false), now());

    let d = e(&ci, Action::CreateBackup, &prod());
    assert!(d.allowed, "{d}");
    assert!(matches!(d.reason, Reason::ApiKey { .. }));
    let d = e(&ci, Action::RestoreBackup, &prod());
    assert!(matches!(d.reason, Reason::CreatorDenied { .. }), "{d}");
    let d = e(&ci, Action::VerifyBackup, &prod());
    assert!(matches!(d.reason, Reason::OutsideApiKeyScope { .. }), "{d}");
    let staging = Resource::organization(ORG).in_project("staging");
    assert!(!e(&ci, Action::CreateBackup, &staging).allowed);
    let d = p.evaluate_at(
        &ci,
        Action::CreateBackup,
        &prod(),
        &ctx(false),
        ts("2026-10-01T00:00:00Z"),
    );
    assert!(matches!(d.reason, Reason::Expired { .. }), "{d}");
    assert!(e(&ops, Action::RestoreBackup, &staging).allowed);
    assert!(!e(&ops, Action::DeleteBackup, &staging).allowed);
    let d = e(
        &Principal::api_key(ORG, "nope"),
        Action::ViewBackups,
        &prod(),
    );
    assert!(matches!(d.reason, Reason::UnknownApiKey { .. }), "{d}");
    // Keys of one organization never act in another.
    assert!(
        !e(
            &Principal::api_key("globex", "ops"),
            Action::ViewBackups,
            &prod()
        )
        .allowed
    );
}

/// Issue 19, leak 1: a project grant does not get around the `require_mfa` of the member's
/// organization role. Leak 2: nor does an API key created by that member. Before the fix
/// both were allowed through the project grant.
fn mfa_admin_with_project_grant() -> Policy {
    let mut roles = BTreeMap::new();
    roles.insert(
        "admin".to_string(),
        RoleEntry {
            conditions: Conditions {
                require_mfa: vec![Action::RestoreBackup, Action::DeleteBackup],
                ..Conditions::default()
            },
            ..RoleEntry::default()
        },
    );
    let mut ada = member("ada", ORG, Some("admin"));
    ada.projects.insert(
        "prod".into(),
        ProjectGrantEntry {
            role: ProjectRole::Owner,
            collections: vec![],
            expires_at: None,
        },
    );
    Policy::from_document(PolicyDocument {
        roles,
        members: vec![ada],
        api_keys: vec![ApiKeyEntry {
            credential: None,
            revoked_at: None,
            id: "ada-ci".into(),
            organization: ORG.into(),
            created_by: "ada".into(),
            actions: vec![Action::RestoreBackup, Action::CreateBackup],
            projects: Some(vec!["prod".into()]),
            expires_at: None,
        }],
        ..PolicyDocument::default()
    })
    .unwrap()
}

#[test]
fn project_grant_does_not_bypass_role_require_mfa() {
    let p = mfa_admin_with_project_grant();
    let ada = Principal::user(ORG, "ada");
    let d = p.evaluate_at(&ada, Action::RestoreBackup, &prod(), &ctx(false), now());
    assert!(!d.allowed, "{d}");
    assert!(matches!(d.reason, Reason::MfaRequired { .. }), "{d}");
    let d = p.evaluate_at(&ada, Action::DeleteBackup, &prod(), &ctx(false), now());
    assert!(matches!(d.reason, Reason::MfaRequired { .. }), "{d}");
    // With MFA, and for actions the role does not protect, nothing changes.
    assert!(
        p.evaluate_at(&ada, Action::RestoreBackup, &prod(), &ctx(true), now())
            .allowed
    );
    assert!(
        p.evaluate_at(&ada, Action::CreateBackup, &prod(), &ctx(false), now())
            .allowed
    );
}

/// The role's MFA requirement holds on projects its own `projects` limit does not reach, and
/// for actions it lists without granting; the denial names MFA only where MFA is what is
/// missing.
#[test]
fn role_require_mfa_reaches_grants_outside_the_role_scope() {
    let mut roles = BTreeMap::new();
    roles.insert(
        "dev_lead".to_string(),
        RoleEntry {
            extends: Some("member".into()),
            conditions: Conditions {
                projects: Some(vec!["dev".into()]),
                require_mfa: vec![Action::RestoreBackup, Action::DeleteBackup],
                ..Conditions::default()
            },
            ..RoleEntry::default()
        },
    );
    let mut lee = member("lee", ORG, Some("dev_lead"));
    lee.projects.insert(
        "prod".into(),
        ProjectGrantEntry {
            role: ProjectRole::Owner,
            collections: vec![],
            expires_at: None,
        },
    );
    let p = Policy::from_document(PolicyDocument {
        roles,
        members: vec![lee],
        ..PolicyDocument::default()
    })
    .unwrap();
    let lee = Principal::user(ORG, "lee");
    let e = |a, r: &Resource, mfa| p.evaluate_at(&lee, a, r, &ctx(mfa), now());
    // prod is outside the role's projects, but its MFA requirement still holds there.
    let d = e(Action::RestoreBackup, &prod(), false);
    assert!(matches!(d.reason, Reason::MfaRequired { .. }), "{d}");
    let d = e(Action::RestoreBackup, &prod(), true);
    assert!(matches!(d.reason, Reason::ProjectRole { .. }), "{d}");
    // Not MFA-protected: the grant applies as before.
    assert!(e(Action::CreateBackup, &prod(), false).allowed);
    // Where nothing grants the action, MFA is not what is missing.
    let dev = Resource::organization(ORG).in_project("dev");
    let d = e(Action::RestoreBackup, &dev, false);
    assert!(matches!(d.reason, Reason::NotGranted { .. }), "{d}");
}

#[test]
fn api_key_does_not_reach_mfa_action_through_creator_project_grant() {
    let p = mfa_admin_with_project_grant();
    let key = Principal::api_key(ORG, "ada-ci");
    // Even a session that claims MFA: a key presents no second factor.
    for mfa in [false, true] {
        let d = p.evaluate_at(&key, Action::RestoreBackup, &prod(), &ctx(mfa), now());
        assert!(!d.allowed, "{d}");
        match &d.reason {
            Reason::CreatorDenied { creator, .. } => {
                assert!(matches!(**creator, Reason::MfaRequired { .. }), "{d}")
            }
            other => panic!("unexpected reason {other:?}"),
        }
    }
    let d = p.evaluate_at(&key, Action::CreateBackup, &prod(), &ctx(false), now());
    assert!(d.allowed, "{d}");
}

/// Issue 19, leak 3: a role that `extends` another inherits its conditions along with its
/// actions (MFA, projects, collections, expiry), through two levels.
#[test]
fn extends_inherits_conditions() {
    let mut roles = BTreeMap::new();
    roles.insert(
        "admin".to_string(),
        RoleEntry {
            conditions: Conditions {
                require_mfa: vec![Action::RestoreBackup],
                ..Conditions::default()
            },
            ..RoleEntry::default()
        },
    );
    roles.insert(
        "prod_ops".to_string(),
        RoleEntry {
            extends: Some("admin".into()),
            conditions: Conditions {
                projects: Some(vec!["prod".into(), "staging".into()]),
                collections: Some(vec!["users".into(), "orders".into()]),
                expires_at: Some(ts("2026-12-31T00:00:00Z")),
                ..Conditions::default()
            },
            ..RoleEntry::default()
        },
    );
    roles.insert(
        "night_ops".to_string(),
        RoleEntry {
            extends: Some("prod_ops".into()),
            actions: vec![Action::ExportAuditLogs],
            conditions: Conditions {
                projects: Some(vec!["prod".into(), "dev".into()]),
                collections: Some(vec!["users".into()]),
                expires_at: Some(ts("2027-06-01T00:00:00Z")),
                ..Conditions::default()
            },
            ..RoleEntry::default()
        },
    );
    let p = Policy::from_document(PolicyDocument {
        roles,
        members: vec![member("nina", ORG, Some("night_ops"))],
        ..PolicyDocument::default()
    })
    .unwrap();
    let nina = Principal::user(ORG, "nina");
    let e = |a, r: &Resource, mfa, at| p.evaluate_at(&nina, a, r, &ctx(mfa), at);
    let users = prod().with_collections(["users"]);

    // admin's MFA requirement on restore reaches two levels down.
    let d = e(Action::RestoreBackup, &users, false, now());
    assert!(matches!(d.reason, Reason::MfaRequired { .. }), "{d}");
    assert!(e(Action::RestoreBackup, &users, true, now()).allowed);
    // Projects intersect along the chain: staging (prod_ops only) and dev (night_ops only)
    // are both out.
    for project in ["staging", "dev"] {
        let r = Resource::organization(ORG)
            .in_project(project)
            .with_collections(["users"]);
        let d = e(Action::ViewBackups, &r, true, now());
        assert!(
            matches!(d.reason, Reason::ProjectNotAllowed { .. }),
            "{project}: {d}"
        );
    }
    // Collections intersect: orders is allowed by prod_ops but not by night_ops.
    let d = e(
        Action::ViewBackups,
        &prod().with_collections(["orders"]),
        true,
        now(),
    );
    assert!(
        matches!(d.reason, Reason::CollectionNotAllowed { .. }),
        "{d}"
    );
    // The earliest expiry on the chain wins (prod_ops', not night_ops' later one).
    let d = e(
        Action::ViewBackups,
        &users,
        true,
        ts("2027-01-15T00:00:00Z"),
    );
    assert!(matches!(d.reason, Reason::Expired { .. }), "{d}");
    // The role's own action is granted under the same conditions.
    assert!(e(Action::ExportAuditLogs, &users, false, now()).allowed);
}

const TOML_POLICY: &str = r#"
version = 1

[roles.auditor]
extends = "viewer"
actions = ["export_audit_logs"]
conditions = { require_mfa = ["export_audit_logs"], expires_at = 2027-01-01T00:00:00Z }

[roles.owner.conditions]
require_mfa = ["delete_organization"]

[[members]]
id = "alice"
email = "alice@example.com"
organization = "acme"
role = "owner"

[[members]]
id = "bob"
organization = "acme"
projects = { prod = { role = "user", collections = ["users"] } }

[[members]]
id = "ann"
organization = "acme"
role = "auditor"
expires_at = "2026-12-01T00:00:00Z"

[[api_keys]]
id = "ci"
organization = "acme"
created_by = "alice"
actions = ["create_backup", "verify_backup"]
projects = ["prod"]
"#;

#[test]
fn toml_and_json_policies_parse_to_the_same_decisions() {
    let from_toml = Policy::from_toml(TOML_POLICY).unwrap();
    let json = serde_json::to_string_pretty(from_toml.document()).unwrap();
    let from_json = Policy::from_json(&json).unwrap();
    assert_eq!(from_toml.document(), from_json.document());
    assert_eq!(
        from_json.document().roles["auditor"].conditions.expires_at,
        Some(ts("2027-01-01T00:00:00Z"))
    );
    let principals = [
        Principal::user(ORG, "alice"),
        Principal::user(ORG, "bob"),
        Principal::user(ORG, "ann"),
        Principal::api_key(ORG, "ci"),
    ];
    let resources = [
        prod(),
        prod().with_collections(["users"]),
        Resource::organization(ORG),
    ];
    let mut allowed = 0;
    for p in &principals {
        for r in &resources {
            for a in Action::ALL {
                for mfa in [false, true] {
                    let x = from_toml.evaluate_at(p, a, r, &ctx(mfa), now());
                    let y = from_json.evaluate_at(p, a, r, &ctx(mfa), now());
                    assert_eq!(x, y);
                    allowed += usize::from(x.allowed);
                }
            }
        }
    }
    assert!(allowed > 50, "the policy allows things: {allowed}");
    let alice = Principal::user(ORG, "alice");
    let org = Resource::organization(ORG);
    assert!(
        !from_toml
            .evaluate_at(&alice, Action::DeleteOrganization, &org, &ctx(false), now())
            .allowed
    );
    assert!(
        from_toml
            .evaluate_at(&alice, Action::DeleteOrganization, &org, &ctx(true), now())
            .allowed
    );
    assert_eq!(
        from_toml.member_email(ORG, "alice"),
        Some("alice@example.com")
    );
}

fn config_err(r: Result<Policy, Error>) -> String {
    match r {
        Err(Error::InvalidConfig(m)) => m,
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
}

#[test]
fn invalid_policies_name_line_and_field() {
    // Unknown action, TOML: line 4.
    let bad = "version = 1\n[roles.ops]\nextends = \"member\"\nactions = [\"restore_backups\"]\n";
    let m = config_err(Policy::from_toml(bad));
    assert!(
        m.contains("line 4") && m.contains("roles.ops.actions"),
        "{m}"
    );
    assert!(
        m.contains("restore_backups") && m.contains("restore_backup,"),
        "{m}"
    );

    // Unknown field in a member, JSON: line 3.
    let bad =
        "{\"members\": [\n  {\"id\": \"a\", \"organization\": \"acme\",\n   \"rol\": \"owner\"}]}";
    let m = config_err(Policy::from_json(bad));
    assert!(
        m.contains("line 3") && m.contains("members[0]") && m.contains("rol"),
        "{m}"
    );

    // Wrong type, TOML.
    let bad = "[[members]]\nid = \"a\"\norganization = \"acme\"\nexpires_at = 12\n";
    let m = config_err(Policy::from_toml(bad));
    assert!(
        m.contains("line 4") && m.contains("members[0].expires_at"),
        "{m}"
    );

    // Reference to an unknown role, found after parsing: still line and field.
    let bad = "[[members]]\nid = \"a\"\norganization = \"acme\"\nrole = \"owner\"\n\n[[members]]\nid = \"b\"\norganization = \"acme\"\nrole = \"ghost\"\n";
    let m = config_err(Policy::from_toml(bad));
    assert!(
        m.contains("line 9") && m.contains("members[1].role") && m.contains("ghost"),
        "{m}"
    );

    // API key created by a non-member.
    let bad = "{\"api_keys\": [{\"id\": \"k\", \"organization\": \"acme\",\n \"created_by\": \"eve\", \"actions\": []}]}";
    let m = config_err(Policy::from_json(bad));
    assert!(
        m.contains("line 2") && m.contains("api_keys[0].created_by"),
        "{m}"
    );

    // Built-in roles have fixed actions.
    let bad = "[roles.viewer]\nactions = [\"restore_backup\"]\n";
    let m = config_err(Policy::from_toml(bad));
    assert!(m.contains("line 1") && m.contains("roles.viewer"), "{m}");

    // Cycles, duplicate members, project users without collections, TOML syntax.
    let bad = "[roles.a]\nextends = \"b\"\n[roles.b]\nextends = \"a\"\n";
    assert!(config_err(Policy::from_toml(bad)).contains("cycle"));
    let bad = "[[members]]\nid = \"a\"\norganization = \"o\"\n[[members]]\nid = \"a\"\norganization = \"o\"\n";
    assert!(config_err(Policy::from_toml(bad)).contains("twice"));
    let bad =
        "[[members]]\nid = \"a\"\norganization = \"o\"\nprojects = { p = { role = \"user\" } }\n";
    assert!(config_err(Policy::from_toml(bad)).contains("members[0].projects.p.collections"));
    let m = config_err(Policy::from_toml("version = 1\n[roles\n"));
    assert!(m.contains("line 2"), "{m}");
    let m = config_err(Policy::from_json("{\"version\": 2}"));
    assert!(m.contains("version"), "{m}");
}

#[test]
fn policy_file_by_extension() {
    let dir = std::env::temp_dir().join(format!("firekeep-policy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let toml_path = dir.join("policy.toml");
    std::fs::write(&toml_path, TOML_POLICY).unwrap();
    let p = Policy::from_file(&toml_path).unwrap();
    let json_path = dir.join("policy.json");
    std::fs::write(&json_path, serde_json::to_string(p.document()).unwrap()).unwrap();
    assert_eq!(
        Policy::from_file(&json_path).unwrap().document(),
        p.document()
    );
    std::fs::write(&toml_path, "[[members]]\nid = 3\n").unwrap();
    let m = config_err(Policy::from_file(&toml_path));
    assert!(
        m.contains("policy.toml") && m.contains("line 2") && m.contains("members[0].id"),
        "{m}"
    );
    assert!(matches!(
        Policy::from_file(&dir.join("missing.toml")),
        Err(Error::Io { .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------------------
// Property tests

const ORGS: [&str; 3] = ["acme", "globex", "initech"];
const PROJECTS: [&str; 3] = ["prod", "staging", "dev"];
const COLLECTIONS: [&str; 3] = ["users", "orders", "payroll"];
const USERS: [&str; 4] = ["u0", "u1", "u2", "u3"];

fn subset<T: Clone + std::fmt::Debug + 'static>(
    items: &'static [T],
) -> impl Strategy<Value = Vec<T>> {
    proptest::sample::subsequence(items.to_vec(), 0..=items.len())
}

fn action() -> impl Strategy<Value = Action> {
    proptest::sample::select(Action::ALL.to_vec())
}

fn timestamp_opt() -> impl Strategy<Value = Option<Timestamp>> {
    proptest::option::of(
        (1_700_000_000i64..1_900_000_000).prop_map(|s| Timestamp::new(s, 0).unwrap()),
    )
}

fn conditions() -> impl Strategy<Value = Conditions> {
    (
        proptest::option::of(subset(&PROJECTS)),
        proptest::option::of(subset(&COLLECTIONS)),
        subset(&Action::ALL),
        timestamp_opt(),
    )
        .prop_map(|(p, c, mfa, exp)| Conditions {
            projects: p.map(|v| v.into_iter().map(String::from).collect()),
            collections: c.map(|v| v.into_iter().map(String::from).collect()),
            require_mfa: mfa,
            expires_at: exp,
        })
}

fn role_name() -> impl Strategy<Value = String> {
    proptest::sample::select(vec![
        "owner", "admin", "member", "viewer", "custom_a", "custom_b",
    ])
    .prop_map(String::from)
}

fn grant() -> impl Strategy<Value = ProjectGrantEntry> {
    (
        prop_oneof![Just(ProjectRole::Owner), Just(ProjectRole::User)],
        proptest::collection::vec(proptest::sample::select(COLLECTIONS.to_vec()), 1..3),
        timestamp_opt(),
    )
        .prop_map(|(role, cols, exp)| ProjectGrantEntry {
            role,
            collections: cols.into_iter().map(String::from).collect(),
            expires_at: exp,
        })
}

fn member_entry(org: &'static str, id: &'static str) -> impl Strategy<Value = MemberEntry> {
    (
        proptest::option::of(role_name()),
        proptest::collection::btree_map(proptest::sample::select(PROJECTS.to_vec()), grant(), 0..2),
        timestamp_opt(),
    )
        .prop_map(move |(role, projects, exp)| MemberEntry {
            disabled_at: None,
            id: id.into(),
            email: None,
            organization: org.into(),
            role,
            projects: projects
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            expires_at: exp,
        })
}

/// Random policies over three organizations: custom roles, conditions on built-in roles,
/// members with project grants, API keys with random scopes.
fn policy_doc() -> impl Strategy<Value = PolicyDocument> {
    let custom = || {
        (
            subset(&Action::ALL),
            proptest::option::of(role_name()),
            conditions(),
        )
    };
    let members = proptest::collection::vec(
        (0..ORGS.len(), 0..USERS.len()).prop_flat_map(|(o, u)| member_entry(ORGS[o], USERS[u])),
        1..10,
    );
    (
        custom(),
        custom(),
        conditions(),
        members,
        proptest::collection::vec(
            (
                subset(&Action::ALL),
                proptest::option::of(subset(&PROJECTS)),
                timestamp_opt(),
                0usize..64,
            ),
            0..4,
        ),
    )
        .prop_map(
            |((a1, e1, c1), (a2, _e2, c2), builtin_cond, members, keys)| {
                let mut roles = BTreeMap::new();
                // custom_b extends nothing, custom_a may extend anything but itself.
                let e1 = e1.filter(|e| e != "custom_a");
                roles.insert(
                    "custom_a".into(),
                    RoleEntry {
                        description: None,
                        extends: e1,
                        actions: a1,
                        conditions: c1,
                    },
                );
                roles.insert(
                    "custom_b".into(),
                    RoleEntry {
                        description: None,
                        extends: None,
                        actions: a2,
                        conditions: c2,
                    },
                );
                roles.insert(
                    "member".into(),
                    RoleEntry {
                        conditions: builtin_cond,
                        ..RoleEntry::default()
                    },
                );
                // Deduplicate (org, id).
                let mut seen = std::collections::HashSet::new();
                let members: Vec<MemberEntry> = members
                    .into_iter()
                    .filter(|m| seen.insert((m.organization.clone(), m.id.clone())))
                    .collect();
                let api_keys = keys
                    .into_iter()
                    .enumerate()
                    .map(|(i, (actions, projects, exp, pick))| {
                        let creator = &members[pick % members.len()];
                        ApiKeyEntry {
                            credential: None,
                            revoked_at: None,
                            id: format!("k{i}"),
                            organization: creator.organization.clone(),
                            created_by: creator.id.clone(),
                            actions,
                            projects: projects.map(|v| v.into_iter().map(String::from).collect()),
                            expires_at: exp,
                        }
                    })
                    .collect();
                PolicyDocument {
                    alerts: None,
                    version: 1,
                    roles,
                    members,
                    api_keys,
                }
            },
        )
}

fn resource() -> impl Strategy<Value = Resource> {
    (
        proptest::sample::select(ORGS.to_vec()),
        proptest::option::of(proptest::sample::select(PROJECTS.to_vec())),
        subset(&COLLECTIONS),
    )
        .prop_map(|(org, project, cols)| {
            let mut r = Resource::organization(org);
            if let Some(p) = project {
                r = r.in_project(p).in_database("(default)");
            }
            r.with_collections(cols)
        })
}

fn principal(doc: &PolicyDocument, pick: usize, org: usize, key: bool) -> Principal {
    if key && !doc.api_keys.is_empty() {
        let k = &doc.api_keys[pick % doc.api_keys.len()];
        Principal::api_key(&k.organization, &k.id)
    } else {
        let m = &doc.members[pick % doc.members.len()];
        // Sometimes claim another organization than the member's own.
        let org = if org == 0 {
            m.organization.as_str()
        } else {
            ORGS[org % ORGS.len()]
        };
        Principal::user(org, &m.id)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// A Viewer (with no project grant) never creates, restores or deletes anything, however
    /// the policy conditions its role, with or without MFA, and neither do its API keys.
    #[test]
    fn viewer_never_creates_restores_or_deletes(
        doc in policy_doc(), r in resource(), mfa in any::<bool>(), t in 1_700_000_000i64..1_900_000_000
    ) {
        let mut doc = doc;
        for m in &mut doc.members {
            m.role = Some("viewer".into());
            m.projects.clear();
        }
        let p = Policy::from_document(doc.clone()).unwrap();
        let now = Timestamp::new(t, 0).unwrap();
        let forbidden = [Action::CreateBackup, Action::RestoreBackup, Action::DeleteBackup, Action::DeleteOrganization];
        let mut principals: Vec<Principal> = doc.members.iter().map(|m| Principal::user(&m.organization, &m.id)).collect();
        principals.extend(doc.api_keys.iter().map(|k| Principal::api_key(&k.organization, &k.id)));
        for pr in &principals {
            for a in forbidden {
                let d = p.evaluate_at(pr, a, &r, &ctx(mfa), now);
                prop_assert!(!d.allowed, "{:?} {}", pr, d);
            }
        }
    }

    /// No principal ever acts on a resource of another organization than the one it acts in,
    /// nor in an organization it is not a member (or key) of.
    #[test]
    fn nothing_crosses_organizations(
        doc in policy_doc(), r in resource(), a in action(), pick in 0usize..64, org in 0usize..3,
        key in any::<bool>(), mfa in any::<bool>()
    ) {
        let p = Policy::from_document(doc.clone()).unwrap();
        let pr = principal(&doc, pick, org, key);
        let d = p.evaluate_at(&pr, a, &r, &ctx(mfa), now());
        if d.allowed {
            prop_assert_eq!(pr.organization(), r.organization.as_str());
            let belongs = doc.members.iter().any(|m| m.organization == r.organization && m.id == pr.id())
                || doc.api_keys.iter().any(|k| k.organization == r.organization && k.id == pr.id());
            prop_assert!(belongs, "{:?} allowed in {}", pr, r.organization);
        }
    }

    /// An API key's effective permissions are a subset of its creator's, on every resource,
    /// and of its own scopes.
    #[test]
    fn api_key_is_a_subset_of_its_creator(
        doc in policy_doc(), r in resource(), mfa in any::<bool>(), t in 1_700_000_000i64..1_900_000_000
    ) {
        let p = Policy::from_document(doc.clone()).unwrap();
        let now = Timestamp::new(t, 0).unwrap();
        for k in &doc.api_keys {
            let key = Principal::api_key(&k.organization, &k.id);
            let creator = Principal::user(&k.organization, &k.created_by);
            let key_set = p.effective_actions(&key, &r, &ctx(mfa), now);
            let creator_set = p.effective_actions(&creator, &r, &ctx(mfa), now);
            let scopes: ActionSet = k.actions.iter().copied().collect();
            prop_assert!(key_set.is_subset(creator_set), "key {:?} creator {:?}", key_set, creator_set);
            prop_assert!(key_set.is_subset(scopes));
        }
    }
}

/// The roles a member's role extends, itself first (the generated policies have no cycles).
fn role_chain<'a>(doc: &'a PolicyDocument, role: &str) -> Vec<(&'a str, Option<&'a Conditions>)> {
    let mut chain = Vec::new();
    let mut current = Some(role.to_string());
    while let Some(name) = current.take() {
        let (name, entry) = match doc.roles.get_key_value(&name) {
            Some((k, e)) => (k.as_str(), Some(e)),
            None => (
                BuiltinRole::from_name(&name)
                    .expect("generated roles exist")
                    .as_str(),
                None,
            ),
        };
        chain.push((name, entry.map(|e| &e.conditions)));
        if BuiltinRole::from_name(name).is_none() {
            current = entry.and_then(|e| e.extends.clone());
        }
    }
    chain
}

/// Whether `c` holds for `r` at `now` with `mfa` for `action` (the documented semantics of
/// each condition, written out independently of the evaluator).
fn condition_holds(
    c: &Conditions,
    action: Action,
    r: &Resource,
    mfa: bool,
    now: Timestamp,
) -> bool {
    let projects = c
        .projects
        .as_ref()
        .is_none_or(|ps| r.project.as_ref().is_some_and(|p| ps.contains(p)));
    let collections = c
        .collections
        .as_ref()
        .is_none_or(|cs| !r.collections.is_empty() && r.collections.iter().all(|x| cs.contains(x)));
    let mfa_ok = mfa || !c.require_mfa.contains(&action);
    let fresh = c.expires_at.is_none_or(|t| now < t);
    projects && collections && mfa_ok && fresh
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Issue 19: an action listed in `require_mfa` by any role on a member's role chain is
    /// never allowed without MFA, whatever path grants it (the role, a project grant), and
    /// never to an API key the member created (keys present no second factor).
    #[test]
    fn no_grant_path_around_role_mfa(
        doc in policy_doc(), r in resource(), t in 1_700_000_000i64..1_900_000_000
    ) {
        let p = Policy::from_document(doc.clone()).unwrap();
        let now = Timestamp::new(t, 0).unwrap();
        for m in &doc.members {
            let Some(role) = &m.role else { continue };
            let needs_mfa: ActionSet = role_chain(&doc, role)
                .into_iter()
                .filter_map(|(_, c)| c)
                .flat_map(|c| c.require_mfa.iter().copied())
                .collect();
            let r = Resource { organization: m.organization.clone(), ..r.clone() };
            let user = Principal::user(&m.organization, &m.id);
            let keys = doc
                .api_keys
                .iter()
                .filter(|k| k.organization == m.organization && k.created_by == m.id)
                .map(|k| Principal::api_key(&k.organization, &k.id));
            for a in needs_mfa.iter() {
                let d = p.evaluate_at(&user, a, &r, &ctx(false), now);
                prop_assert!(!d.allowed, "{} without MFA: {}", m.id, d);
                for key in keys.clone() {
                    for mfa in [false, true] {
                        let d = p.evaluate_at(&key, a, &r, &ctx(mfa), now);
                        prop_assert!(!d.allowed, "{:?}: {}", key, d);
                    }
                }
            }
        }
    }

    /// Issue 19: what a member's role allows, with no project grant to add to it, satisfies
    /// the conditions of every role on its `extends` chain (conditions travel with
    /// inherited actions).
    #[test]
    fn role_grants_only_within_every_inherited_condition(
        doc in policy_doc(), r in resource(), a in action(), mfa in any::<bool>(),
        t in 1_700_000_000i64..1_900_000_000
    ) {
        let mut doc = doc;
        for m in &mut doc.members {
            m.projects.clear();
        }
        let p = Policy::from_document(doc.clone()).unwrap();
        let now = Timestamp::new(t, 0).unwrap();
        for m in &doc.members {
            let Some(role) = &m.role else { continue };
            let r = Resource { organization: m.organization.clone(), ..r.clone() };
            let d = p.evaluate_at(&Principal::user(&m.organization, &m.id), a, &r, &ctx(mfa), now);
            if d.allowed {
                for (name, c) in role_chain(&doc, role) {
                    if let Some(c) = c {
                        prop_assert!(
                            condition_holds(c, a, &r, mfa, now),
                            "{} allowed {} on {:?} though role {} forbids it: {:?}", m.id, a, r, name, c
                        );
                    }
                }
            }
        }
    }
}

/// The generators above are not vacuous: across random policies, principals and resources,
/// the properties see plenty of allowed decisions (including API keys and project grants).
#[test]
fn property_generators_exercise_allowed_paths() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut allowed, mut key_allowed, mut project_allowed) = (0, 0, 0);
    for _ in 0..300 {
        let doc = policy_doc().new_tree(&mut runner).unwrap().current();
        let r = resource().new_tree(&mut runner).unwrap().current();
        let p = Policy::from_document(doc.clone()).unwrap();
        for pick in 0..8 {
            for key in [false, true] {
                let pr = principal(&doc, pick, 0, key);
                let r = Resource {
                    organization: pr.organization().to_string(),
                    ..r.clone()
                };
                for a in Action::ALL {
                    let d = p.evaluate_at(&pr, a, &r, &ctx(true), now());
                    allowed += usize::from(d.allowed);
                    key_allowed +=
                        usize::from(d.allowed && matches!(d.reason, Reason::ApiKey { .. }));
                    project_allowed +=
                        usize::from(d.allowed && matches!(d.reason, Reason::ProjectRole { .. }));
                }
            }
        }
    }
    assert!(
        allowed > 1000 && key_allowed > 100 && project_allowed > 10,
        "{allowed} {key_allowed} {project_allowed}"
    );
}
