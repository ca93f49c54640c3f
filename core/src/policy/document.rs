//! Policies as data: the serde shape of a policy file (JSON or TOML) and its parsing, with
//! errors that name the line and the field.

use super::{Action, ProjectRole};
use crate::identity::alerts::AlertRules;
use crate::model::Timestamp;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A policy file: custom roles (and conditions on the built-in ones), members and API keys.
///
/// ```toml
/// version = 1
///
/// [roles.auditor]
/// extends = "viewer"
/// actions = ["export_audit_logs"]
/// conditions = { require_mfa = ["export_audit_logs"], expires_at = 2027-01-01T00:00:00Z }
///
/// [[members]]
/// id = "alice"
/// email = "alice@example.com"
/// organization = "acme"
/// role = "owner"
///
/// [[members]]
/// id = "bob"
/// organization = "acme"
/// projects = { prod = { role = "user", collections = ["users"] } }
///
/// [[api_keys]]
/// id = "ci"
/// organization = "acme"
/// created_by = "alice"
/// actions = ["create_backup", "verify_backup"]
/// projects = ["prod"]
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocument {
    /// Format version; only 1 exists.
    #[serde(default = "version_one")]
    pub version: u32,
    /// Custom roles by name, and conditions on the built-in roles (`owner`, `admin`,
    /// `member`, `viewer`), whose actions are fixed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub roles: BTreeMap<String, RoleEntry>,
    /// One entry per (organization, member).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberEntry>,
    /// API keys, each created by a member of the same organization.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_keys: Vec<ApiKeyEntry>,
    /// Alert rules evaluated over audit events as they are appended
    /// ([`crate::identity::alerts`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerts: Option<AlertRules>,
}

impl Default for PolicyDocument {
    fn default() -> Self {
        PolicyDocument {
            version: 1,
            roles: BTreeMap::new(),
            members: Vec::new(),
            api_keys: Vec::new(),
            alerts: None,
        }
    }
}

impl PolicyDocument {
    /// The document as pretty-printed JSON (a policy file `Policy::from_json` reads back).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a policy document always encodes")
    }

    /// The document as TOML (a policy file `Policy::from_toml` reads back; comments of the
    /// file it was read from are not kept).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("a policy document always encodes")
    }
}

fn version_one() -> u32 {
    1
}

/// A role: its actions (custom roles) and conditions.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleEntry {
    /// What the role is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Another role (built-in or custom) whose actions this one also grants, under that
    /// role's conditions as well as its own (see [`Conditions`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extends: Option<String>,
    /// Actions the role grants (custom roles only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<Action>,
    /// Limits on when and where the role applies.
    #[serde(default)]
    pub conditions: Conditions,
}

/// Conditions on a role. Every condition present must hold for the role to grant anything.
///
/// They travel with every path that grants a permission: a role that `extends` another is
/// bound by the conditions of every role on its chain (MFA sets unite, project and
/// collection lists intersect, the earliest expiry wins), and an action in the
/// `require_mfa` of a member's role needs MFA however it is granted — by the role, a project
/// grant, or an API key the member created.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    /// The role applies only to resources in these projects (not to organization-wide ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projects: Option<Vec<String>>,
    /// The role applies only to resources naming only these collections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collections: Option<Vec<String>>,
    /// Actions that need MFA: granted by this role only to a principal that authenticated
    /// with MFA, and to a member holding this role by no other path without it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub require_mfa: Vec<Action>,
    /// The role grants nothing from this instant on.
    #[serde(
        default,
        with = "opt_timestamp",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires_at: Option<Timestamp>,
}

/// A member of one organization.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberEntry {
    /// The user id (what [`super::Principal::user`] is given).
    pub id: String,
    /// E-mail address, recorded in audit events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The organization.
    pub organization: String,
    /// The organization-wide role, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Project roles by project id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub projects: BTreeMap<String, ProjectGrantEntry>,
    /// The whole membership ends at this instant (time-limited access).
    #[serde(
        default,
        with = "opt_timestamp",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires_at: Option<Timestamp>,
    /// The member was disabled at this instant (e.g. by an access review for inactivity):
    /// it is denied everything, and so are the API keys it created, until the field is removed.
    #[serde(
        default,
        with = "opt_timestamp",
        skip_serializing_if = "Option::is_none"
    )]
    pub disabled_at: Option<Timestamp>,
}

/// A role on one project.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectGrantEntry {
    /// `owner` or `user`.
    pub role: ProjectRole,
    /// The collections granted: required for `user`; for `owner`, empty means all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub collections: Vec<String>,
    /// The grant ends at this instant.
    #[serde(
        default,
        with = "opt_timestamp",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires_at: Option<Timestamp>,
}

/// An API key: a set of actions, optionally limited to projects, never more than its creator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyEntry {
    /// The key's non-secret id.
    pub id: String,
    /// The organization it acts in.
    pub organization: String,
    /// The member who created it; the key can do no more than this member can.
    pub created_by: String,
    /// The actions it may perform (its scopes).
    pub actions: Vec<Action>,
    /// The projects it is limited to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projects: Option<Vec<String>>,
    /// The key stops working at this instant.
    #[serde(
        default,
        with = "opt_timestamp",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires_at: Option<Timestamp>,
    /// The hash of the key's secret and its rotation state (keys made by
    /// `firekeep api-key create`); a key without one cannot authenticate a request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<ApiKeyCredential>,
    /// The key was revoked at this instant: it fails from then on.
    #[serde(
        default,
        with = "opt_timestamp",
        skip_serializing_if = "Option::is_none"
    )]
    pub revoked_at: Option<Timestamp>,
}

/// How an API key's secret is checked: only its hash is stored, never the secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyCredential {
    /// `sha256:` and the lower-case hex SHA-256 of the secret (256 random bits, so a fast
    /// hash cannot be reversed by guessing).
    pub hash: String,
    /// When the key was created.
    #[serde(with = "req_timestamp")]
    pub created_at: Timestamp,
    /// When the secret was last rotated (its age for the rotation finding).
    #[serde(
        default,
        with = "opt_timestamp",
        skip_serializing_if = "Option::is_none"
    )]
    pub rotated_at: Option<Timestamp>,
    /// The hash of the secret before the last rotation, still accepted until
    /// `previous_valid_until` (the grace period).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_hash: Option<String>,
    /// End of the previous secret's grace period.
    #[serde(
        default,
        with = "opt_timestamp",
        skip_serializing_if = "Option::is_none"
    )]
    pub previous_valid_until: Option<Timestamp>,
}

/// Serde for a required timestamp (same forms as [`opt_timestamp`]).
mod req_timestamp {
    use crate::model::Timestamp;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Timestamp, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_rfc3339())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> std::result::Result<Timestamp, D::Error> {
        super::opt_timestamp::deserialize(d)?
            .ok_or_else(|| serde::de::Error::custom("expected a timestamp"))
    }
}

/// Serde for optional timestamps: RFC 3339 strings, or TOML's native datetimes.
mod opt_timestamp {
    use crate::model::Timestamp;
    use serde::de::{self, MapAccess, Visitor};
    use serde::{Deserializer, Serializer};
    use std::fmt;

    pub fn serialize<S: Serializer>(
        v: &Option<Timestamp>,
        s: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        match v {
            Some(t) => s.serialize_str(&t.to_rfc3339()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> std::result::Result<Option<Timestamp>, D::Error> {
        d.deserialize_any(TsVisitor).map(Some)
    }

    struct TsVisitor;

    impl<'de> Visitor<'de> for TsVisitor {
        type Value = Timestamp;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an RFC 3339 timestamp such as 2027-01-01T00:00:00Z")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Timestamp, E> {
            Timestamp::parse_rfc3339(v).map_err(|_| {
                E::custom(format!(
                    "{v:?} is not an RFC 3339 timestamp such as 2027-01-01T00:00:00Z"
                ))
            })
        }

        // TOML datetimes arrive as a one-entry map holding the datetime's text.
        fn visit_map<A: MapAccess<'de>>(
            self,
            mut map: A,
        ) -> std::result::Result<Timestamp, A::Error> {
            let Some((_, text)) = map.next_entry::<String, String>()? else {
                return Err(de::Error::custom("expected a timestamp"));
            };
            self.visit_str(&text)
        }
    }
}

/// Which syntax a policy file uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Syntax {
    Json,
    Toml,
}

/// Parses a policy document, turning serde errors into `InvalidConfig` naming the line,
/// column and field path (`members[2].role`).
pub(crate) fn parse(source: &str, syntax: Syntax, origin: &str) -> Result<PolicyDocument> {
    match syntax {
        Syntax::Json => {
            let mut de = serde_json::Deserializer::from_str(source);
            let doc: PolicyDocument = serde_path_to_error::deserialize(&mut de).map_err(|e| {
                let path = e.path().to_string();
                let inner = e.into_inner();
                let (line, column) = (inner.line(), inner.column());
                let msg = inner.to_string();
                let msg = msg
                    .rfind(" at line ")
                    .map_or(msg.as_str(), |i| &msg[..i])
                    .to_string();
                config_error(origin, Some((line, column)), &path, &msg)
            })?;
            de.end().map_err(|e| {
                config_error(
                    origin,
                    Some((e.line(), e.column())),
                    ".",
                    "unexpected text after the policy object",
                )
            })?;
            Ok(doc)
        }
        Syntax::Toml => {
            let de = toml::Deserializer::parse(source).map_err(|e| {
                let pos = e.span().map(|s| line_col(source, s.start));
                config_error(origin, pos, ".", e.message())
            })?;
            serde_path_to_error::deserialize(de).map_err(|e| {
                let path = e.path().to_string();
                let inner = e.into_inner();
                let pos = inner.span().map(|s| line_col(source, s.start));
                config_error(origin, pos, &path, inner.message())
            })
        }
    }
}

/// 1-based line and column of a byte offset.
pub(crate) fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = offset
        - before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1)
        + 1;
    (line, col)
}

/// Finds the line of a value for errors found after parsing: each needle is searched (as a
/// quoted string, else bare) after the previous one, so `["\"bob\"", "\"ghost\""]` finds bob's role.
pub(crate) fn locate(source: &str, needles: &[&str]) -> Option<(usize, usize)> {
    let mut pos = 0;
    let mut found = None;
    for needle in needles {
        let candidates = [format!("\"{needle}\""), format!("'{needle}'")];
        // Quoted first (a value, a JSON key); bare as a fallback (a TOML table header).
        let hit = candidates
            .iter()
            .filter_map(|c| source[pos..].find(c.as_str()).map(|i| pos + i))
            .min()
            .or_else(|| source[pos..].find(needle).map(|i| pos + i))?;
        found = Some(hit);
        pos = hit + 1;
    }
    found.map(|o| line_col(source, o))
}

pub(crate) fn config_error(
    origin: &str,
    pos: Option<(usize, usize)>,
    field: &str,
    msg: &str,
) -> Error {
    let field = if field.is_empty() { "." } else { field };
    match pos {
        Some((line, col)) => Error::InvalidConfig(format!(
            "policy {origin}: line {line}, column {col}: field `{field}`: {msg}"
        )),
        None => Error::InvalidConfig(format!("policy {origin}: field `{field}`: {msg}")),
    }
}
