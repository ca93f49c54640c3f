//! The access review: every member and API key of an organization with their roles,
//! effective actions, expiry and last activity (from the audit trail), and findings —
//! members inactive for 90 days, keys past their rotation period, admins and owners without
//! an MFA condition, grants that expired. [`apply_inactive`] disables the inactive members
//! in the policy file, audited.

use super::api_keys::{self, KeyState, edit_policy_file};
use crate::Result;
use crate::audit::{AuditAction, AuditEvent, csv_cell};
use crate::model::Timestamp;
use crate::policy::{
    Action, BuiltinRole, Policy, PolicyDocument, Principal, RequestContext, Resource,
};
use crate::session::{AuditDetails, Operation, Session};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Thresholds of a review.
#[derive(Clone, Copy, Debug)]
pub struct ReviewOptions {
    /// Members with no audited activity for this many days are inactive.
    pub inactive_days: u32,
    /// Keys whose secret is older than this many days are due for rotation.
    pub rotation_days: u32,
}

impl Default for ReviewOptions {
    fn default() -> Self {
        ReviewOptions {
            inactive_days: 90,
            rotation_days: api_keys::DEFAULT_LIFETIME_DAYS,
        }
    }
}

/// What a finding is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// No audited activity for the inactivity period.
    InactiveMember,
    /// An API key's secret is older than the rotation period, or it expired unrevoked.
    KeyRotationDue,
    /// An API key has no stored secret hash, so it cannot authenticate.
    KeyWithoutSecret,
    /// An owner or admin whose role requires MFA for nothing.
    AdminWithoutMfa,
    /// A membership, project grant or role condition that expired (still in the policy).
    ExpiredGrant,
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What.
    pub kind: FindingKind,
    /// `member:ID` or `api_key:ID`.
    pub subject: String,
    /// For a person.
    pub message: String,
}

/// One member in the review.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MemberReview {
    /// Id.
    pub id: String,
    /// E-mail.
    pub email: Option<String>,
    /// Organization role.
    pub role: Option<String>,
    /// Project roles by project.
    pub projects: BTreeMap<String, String>,
    /// Effective actions (with MFA) organization-wide (`*`) and per granted project.
    pub effective_actions: BTreeMap<String, Vec<String>>,
    /// Membership expiry.
    pub expires_at: Option<String>,
    /// Disabled since.
    pub disabled_at: Option<String>,
    /// Last audited activity.
    pub last_activity: Option<String>,
}

/// One API key in the review.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyReview {
    /// The key as listed.
    #[serde(flatten)]
    pub key: api_keys::ApiKeyInfo,
    /// Last audited use.
    pub last_used: Option<String>,
}

/// The review of one organization.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccessReview {
    /// The organization.
    pub organization: String,
    /// When (RFC 3339).
    pub generated_at: String,
    /// The oldest audit event read (activity before it is unknown).
    pub trail_starts_at: Option<String>,
    /// Members.
    pub members: Vec<MemberReview>,
    /// API keys.
    pub api_keys: Vec<KeyReview>,
    /// Findings.
    pub findings: Vec<Finding>,
}

impl AuditDetails for AccessReview {
    fn audit_details(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("members".into(), Value::from(self.members.len()));
        m.insert("api_keys".into(), Value::from(self.api_keys.len()));
        m.insert("findings".into(), Value::from(self.findings.len()));
        m
    }
}

fn days_ago(now: Timestamp, days: u32) -> Timestamp {
    now.add_seconds(-i64::from(days) * 86_400).unwrap_or(now)
}

/// Whether `role` (or a role it extends) is owner or admin, and whether any role on its
/// chain requires MFA for something.
fn admin_and_mfa(doc: &PolicyDocument, role: &str) -> (bool, bool) {
    let (mut admin, mut mfa) = (false, false);
    let mut name = Some(role.to_string());
    let mut hops = 0;
    while let Some(r) = name.take() {
        if matches!(
            BuiltinRole::from_name(&r),
            Some(BuiltinRole::Owner | BuiltinRole::Admin)
        ) {
            admin = true;
        }
        if let Some(entry) = doc.roles.get(&r) {
            mfa |= !entry.conditions.require_mfa.is_empty();
            name = entry.extends.clone();
        }
        hops += 1;
        if hops > 32 {
            break;
        }
    }
    (admin, mfa)
}

/// Reviews `organization` in `policy` against `events` at `now`.
pub fn review(
    policy: &Policy,
    organization: &str,
    events: &[AuditEvent],
    options: ReviewOptions,
    now: Timestamp,
) -> AccessReview {
    let doc = policy.document();
    let mut last: HashMap<(&str, &str), Timestamp> = HashMap::new();
    let mut first: Option<Timestamp> = None;
    for e in events.iter().filter(|e| e.organization.id == organization) {
        let Ok(t) = e.time() else { continue };
        first = Some(first.map_or(t, |f| f.min(t)));
        let slot = last
            .entry((e.actor.kind.as_str(), e.actor.id.as_str()))
            .or_insert(t);
        *slot = (*slot).max(t);
    }
    let cutoff = days_ago(now, options.inactive_days);
    let trail_covers_period = first.is_some_and(|f| f <= cutoff);
    let ts = |t: Option<Timestamp>| t.map(|t| t.to_rfc3339());
    let mut findings = Vec::new();
    let mut members = Vec::new();
    for m in doc
        .members
        .iter()
        .filter(|m| m.organization == organization)
    {
        let subject = format!("member:{}", m.id);
        let seen = last.get(&("user", m.id.as_str())).copied();
        let principal = Principal::user(organization, &m.id);
        let ctx = RequestContext {
            mfa: true,
            ..RequestContext::default()
        };
        let allowed = |resource: &Resource| -> Vec<String> {
            Action::ALL
                .into_iter()
                .filter(|a| {
                    policy
                        .evaluate_at(&principal, *a, resource, &ctx, now)
                        .allowed
                })
                .map(|a| a.as_str().to_string())
                .collect()
        };
        let mut effective = BTreeMap::new();
        effective.insert(
            "*".to_string(),
            allowed(&Resource::organization(organization)),
        );
        for p in m.projects.keys() {
            let r = Resource::organization(organization).in_project(p);
            effective.insert(p.clone(), allowed(&r));
        }
        if m.disabled_at.is_none() {
            let inactive = match seen {
                Some(t) => t < cutoff,
                None => trail_covers_period,
            };
            if inactive {
                findings.push(Finding {
                    kind: FindingKind::InactiveMember,
                    subject: subject.clone(),
                    message: match seen {
                        Some(t) => format!(
                            "last active {}, more than {} days ago",
                            t.to_rfc3339(),
                            options.inactive_days
                        ),
                        None => format!(
                            "no activity in the audit trail, which covers more than {} days",
                            options.inactive_days
                        ),
                    },
                });
            }
        }
        if let Some(role) = &m.role {
            let (admin, mfa) = admin_and_mfa(doc, role);
            if admin && !mfa {
                findings.push(Finding {
                    kind: FindingKind::AdminWithoutMfa,
                    subject: subject.clone(),
                    message: format!(
                        "role '{role}' can administer the organization but requires MFA for \
                         nothing; add `conditions.require_mfa` to it"
                    ),
                });
            }
            if let Some(at) = doc.roles.get(role).and_then(|r| r.conditions.expires_at) {
                if now >= at {
                    findings.push(Finding {
                        kind: FindingKind::ExpiredGrant,
                        subject: subject.clone(),
                        message: format!("role '{role}' expired at {}", at.to_rfc3339()),
                    });
                }
            }
        }
        if let Some(at) = m.expires_at.filter(|t| now >= *t) {
            findings.push(Finding {
                kind: FindingKind::ExpiredGrant,
                subject: subject.clone(),
                message: format!("membership expired at {}; remove it", at.to_rfc3339()),
            });
        }
        for (p, g) in &m.projects {
            if let Some(at) = g.expires_at.filter(|t| now >= *t) {
                findings.push(Finding {
                    kind: FindingKind::ExpiredGrant,
                    subject: subject.clone(),
                    message: format!("project grant on '{p}' expired at {}", at.to_rfc3339()),
                });
            }
        }
        members.push(MemberReview {
            id: m.id.clone(),
            email: m.email.clone(),
            role: m.role.clone(),
            projects: m
                .projects
                .iter()
                .map(|(p, g)| (p.clone(), g.role.as_str().to_string()))
                .collect(),
            effective_actions: effective,
            expires_at: ts(m.expires_at),
            disabled_at: ts(m.disabled_at),
            last_activity: ts(seen),
        });
    }
    let mut keys = Vec::new();
    let rotation_cutoff = days_ago(now, options.rotation_days);
    for (info, entry) in api_keys::list(doc, Some(organization), now)
        .into_iter()
        .zip(
            doc.api_keys
                .iter()
                .filter(|k| k.organization == organization),
        )
    {
        let subject = format!("api_key:{}", info.id);
        match info.state {
            KeyState::NoSecret => findings.push(Finding {
                kind: FindingKind::KeyWithoutSecret,
                subject: subject.clone(),
                message:
                    "no stored secret hash; rotate it (`firekeep api-key rotate`) or revoke it"
                        .into(),
            }),
            KeyState::Expired => findings.push(Finding {
                kind: FindingKind::KeyRotationDue,
                subject: subject.clone(),
                message: "expired but not revoked; rotate or revoke it".into(),
            }),
            KeyState::Active | KeyState::InGrace => {
                let c = entry
                    .credential
                    .as_ref()
                    .expect("a key with a state has a credential");
                let age_from = c.rotated_at.unwrap_or(c.created_at);
                if age_from <= rotation_cutoff {
                    findings.push(Finding {
                        kind: FindingKind::KeyRotationDue,
                        subject: subject.clone(),
                        message: format!(
                            "secret from {}, older than {} days; rotate it",
                            age_from.to_rfc3339(),
                            options.rotation_days
                        ),
                    });
                }
            }
            KeyState::Revoked => {}
        }
        let last_used = last.get(&("api_key", info.id.as_str())).copied();
        keys.push(KeyReview {
            key: info,
            last_used: ts(last_used),
        });
    }
    AccessReview {
        organization: organization.to_string(),
        generated_at: now.to_rfc3339(),
        trail_starts_at: ts(first),
        members,
        api_keys: keys,
        findings,
    }
}

impl AccessReview {
    /// The members [`FindingKind::InactiveMember`] names.
    pub fn inactive_members(&self) -> Vec<String> {
        self.findings
            .iter()
            .filter(|f| f.kind == FindingKind::InactiveMember)
            .filter_map(|f| f.subject.strip_prefix("member:").map(str::to_string))
            .collect()
    }

    /// For a person: principals, then findings.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "Access review of organization '{}' at {} (audit trail from {})\n\nMembers:\n",
            self.organization,
            self.generated_at,
            self.trail_starts_at.as_deref().unwrap_or("-")
        );
        for m in &self.members {
            let projects: Vec<String> = self.members_projects(m).into_iter().collect();
            out.push_str(&format!(
                "  {:<20} role {:<8} {} last active {}{}{}\n",
                m.id,
                m.role.as_deref().unwrap_or("-"),
                if projects.is_empty() {
                    String::new()
                } else {
                    format!("projects {} ", projects.join(","))
                },
                m.last_activity.as_deref().unwrap_or("never"),
                m.expires_at
                    .as_deref()
                    .map(|e| format!(", expires {e}"))
                    .unwrap_or_default(),
                m.disabled_at
                    .as_deref()
                    .map(|e| format!(", DISABLED {e}"))
                    .unwrap_or_default(),
            ));
        }
        out.push_str("\nAPI keys:\n");
        for k in &self.api_keys {
            out.push_str(&format!(
                "  {:<20} {:?} by {} scopes {} expires {} last used {}\n",
                k.key.id,
                k.key.state,
                k.key.created_by,
                k.key.actions.join(","),
                k.key.expires_at.as_deref().unwrap_or("never"),
                k.last_used.as_deref().unwrap_or("never"),
            ));
        }
        out.push_str(&format!("\nFindings ({}):\n", self.findings.len()));
        for f in &self.findings {
            out.push_str(&format!(
                "  [{}] {}: {}\n",
                kind_name(f.kind),
                f.subject,
                f.message
            ));
        }
        out
    }

    fn members_projects(&self, m: &MemberReview) -> Vec<String> {
        m.projects.iter().map(|(p, r)| format!("{p}:{r}")).collect()
    }

    /// CSV: one row per member and per key (`type,id,role,scopes,projects,expires_at,
    /// last_activity,findings`), cells neutralised against spreadsheet formulas.
    pub fn to_csv(&self) -> String {
        let mut out =
            String::from("type,id,role,actions,projects,expires_at,last_activity,findings\n");
        let findings = |subject: &str| -> String {
            self.findings
                .iter()
                .filter(|f| f.subject == subject)
                .map(|f| kind_name(f.kind))
                .collect::<Vec<_>>()
                .join(";")
        };
        let row = |cells: [&str; 8]| -> String {
            let mut line = cells.map(csv_cell).join(",");
            line.push('\n');
            line
        };
        for m in &self.members {
            let actions = m
                .effective_actions
                .get("*")
                .map(|a| a.join(";"))
                .unwrap_or_default();
            out.push_str(&row([
                "member",
                &m.id,
                m.role.as_deref().unwrap_or(""),
                &actions,
                &self.members_projects(m).join(";"),
                m.expires_at.as_deref().unwrap_or(""),
                m.last_activity.as_deref().unwrap_or(""),
                &findings(&format!("member:{}", m.id)),
            ]));
        }
        for k in &self.api_keys {
            out.push_str(&row([
                "api_key",
                &k.key.id,
                "",
                &k.key.actions.join(";"),
                &k.key.projects.clone().unwrap_or_default().join(";"),
                k.key.expires_at.as_deref().unwrap_or(""),
                k.last_used.as_deref().unwrap_or(""),
                &findings(&format!("api_key:{}", k.key.id)),
            ]));
        }
        out
    }
}

fn kind_name(k: FindingKind) -> &'static str {
    match k {
        FindingKind::InactiveMember => "inactive_member",
        FindingKind::KeyRotationDue => "key_rotation_due",
        FindingKind::KeyWithoutSecret => "key_without_secret",
        FindingKind::AdminWithoutMfa => "admin_without_mfa",
        FindingKind::ExpiredGrant => "expired_grant",
    }
}

fn review_operation(session: &Session, success: AuditAction) -> Operation {
    Operation::new(
        Action::ManageTeam,
        Resource::organization(session.organization()),
        success,
        AuditAction::OperationFailed,
    )
}

/// Runs the review as `session`'s principal (who needs `manage_team`), reading the trail
/// from the session's audit sink; audited as `access.reviewed`.
pub async fn run(session: &Session, options: ReviewOptions) -> Result<AccessReview> {
    let op = review_operation(session, AuditAction::AccessReviewed);
    session
        .perform(op, || async {
            let trail = session.audit_sink().read().await?;
            Ok(review(
                session.policy(),
                session.organization(),
                &trail.events,
                options,
                Timestamp::now(),
            ))
        })
        .await
}

/// The members disabled by [`apply_inactive`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Disabled(pub Vec<String>);

impl AuditDetails for Disabled {
    fn audit_details(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("members".into(), Value::from(self.0.clone()));
        m
    }
}

/// Disables the members `review` found inactive, in the policy file at `path` (which the
/// session's policy was read from); audited as `member.disabled` with their ids.
pub async fn apply_inactive(
    session: &Session,
    path: &Path,
    review: &AccessReview,
) -> Result<Disabled> {
    let ids = review.inactive_members();
    let org = session.organization().to_string();
    let op = review_operation(session, AuditAction::MembersDisabled);
    session
        .perform(op, || async {
            let now = Timestamp::now();
            edit_policy_file(path, |doc| {
                for m in doc.members.iter_mut() {
                    if m.organization == org && ids.contains(&m.id) && m.disabled_at.is_none() {
                        m.disabled_at = Some(now);
                    }
                }
                Ok(Disabled(ids.clone()))
            })
        })
        .await
}
