//! Alerts on the audit stream: rules from the policy file's `[alerts]` table, evaluated on
//! each event as it is appended ([`AlertingAuditSink`]), delivered to [`AlertSink`]s (a JSON
//! Lines file, a callback for the bindings, or a signed webhook in `firekeep-oidc`).
//!
//! ```toml
//! [alerts]
//! denials = { count = 5, within_minutes = 10 }   # N denials by one actor within M minutes
//! working_hours = { start = 8, end = 18 }         # restores/deletions outside 08:00-18:00 UTC
//! audit_export = true                             # any audit.exported
//! key_rotation_failure = true                     # key.rotate_failed, api_key.operation_failed
//! file = "alerts.jsonl"                           # where alerts go (and/or:)
//! webhook_url = "https://hooks.example.com/firekeep"
//! ```

use crate::audit::{Actor, AuditAction, AuditEvent, AuditSink, ChainHead, RetentionReport};
use crate::model::Timestamp;
use crate::{Error, Result};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The `[alerts]` table of a policy file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertRules {
    /// Alert when one actor is denied `count` times within `within_minutes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denials: Option<DenialRule>,
    /// Alert on restores and deletions (by hand or by pruning) outside these UTC hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_hours: Option<WorkingHours>,
    /// Alert on every `audit.exported`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub audit_export: bool,
    /// Alert on every failed key rotation (`key.rotate_failed`, and
    /// `api_key.operation_failed` of a rotation).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub key_rotation_failure: bool,
    /// Append alerts to this JSON Lines file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// POST alerts to this URL, signed (front ends that link `firekeep-oidc`; the CLI reads
    /// the signing secret from `FIREKEEP_ALERT_WEBHOOK_SECRET`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
}

/// N denials by one actor within M minutes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DenialRule {
    /// N (at least 1).
    pub count: u32,
    /// M (at least 1).
    pub within_minutes: u32,
}

/// Hours (UTC, 0-23) in which restores and deletions are expected: `start` ≤ hour < `end`
/// (a window across midnight when `start` > `end`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkingHours {
    /// First hour inside.
    pub start: u8,
    /// First hour outside.
    pub end: u8,
}

impl WorkingHours {
    fn contains(self, hour: u8) -> bool {
        if self.start <= self.end {
            hour >= self.start && hour < self.end
        } else {
            hour >= self.start || hour < self.end
        }
    }
}

impl AlertRules {
    /// Checks the thresholds make sense.
    pub fn validate(&self) -> Result<()> {
        if let Some(d) = self.denials {
            if d.count == 0 || d.within_minutes == 0 {
                return Err(Error::InvalidConfig(
                    "alerts.denials needs count ≥ 1 and within_minutes ≥ 1".into(),
                ));
            }
        }
        if let Some(h) = self.working_hours {
            if h.start > 23 || h.end > 24 || h.start == h.end {
                return Err(Error::InvalidConfig(
                    "alerts.working_hours needs 0 ≤ start ≤ 23, 0 ≤ end ≤ 24 and start ≠ end"
                        .into(),
                ));
            }
        }
        Ok(())
    }
}

/// One alert.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// `denials`, `outside_working_hours`, `audit_exported` or `key_rotation_failed`.
    pub rule: String,
    /// What happened, for a person.
    pub message: String,
    /// When the triggering event happened (RFC 3339).
    pub timestamp: String,
    /// The organization.
    pub organization: String,
    /// Who acted.
    pub actor: Actor,
    /// The audit events that triggered it (ids).
    pub event_ids: Vec<String>,
}

/// Evaluates [`AlertRules`] on events in order, keeping the denial windows.
#[derive(Debug, Default)]
pub struct AlertEvaluator {
    rules: AlertRules,
    denials: HashMap<(String, String, String), VecDeque<(i64, String)>>,
}

impl AlertEvaluator {
    /// An evaluator of `rules`.
    pub fn new(rules: AlertRules) -> Self {
        AlertEvaluator {
            rules,
            denials: HashMap::new(),
        }
    }

    /// The alerts `event` raises.
    pub fn observe(&mut self, event: &AuditEvent) -> Vec<Alert> {
        let mut out = Vec::new();
        let time = event.time().unwrap_or(Timestamp::now());
        let alert = |rule: &str, message: String, ids: Vec<String>| Alert {
            rule: rule.into(),
            message,
            timestamp: event.timestamp.clone(),
            organization: event.organization.id.clone(),
            actor: event.actor.clone(),
            event_ids: ids,
        };
        let who = format!("{} '{}'", event.actor.kind, event.actor.id);
        let action = event.action.as_str();
        if let Some(rule) = self.rules.denials {
            if action == AuditAction::AuthorizationDenied.as_str() {
                let key = (
                    event.organization.id.clone(),
                    event.actor.kind.clone(),
                    event.actor.id.clone(),
                );
                let window = self.denials.entry(key).or_default();
                let now = time.seconds();
                window.push_back((now, event.id.clone()));
                let since = now - i64::from(rule.within_minutes) * 60;
                while window.front().is_some_and(|(t, _)| *t <= since) {
                    window.pop_front();
                }
                if window.len() >= rule.count as usize {
                    let ids = window.drain(..).map(|(_, id)| id).collect();
                    out.push(alert(
                        "denials",
                        format!(
                            "{who} was denied {} times within {} minutes",
                            rule.count, rule.within_minutes
                        ),
                        ids,
                    ));
                }
            }
        }
        if let Some(hours) = self.rules.working_hours {
            let destructive = [
                AuditAction::BackupRestored,
                AuditAction::BackupDeleted,
                AuditAction::BackupPruned,
            ];
            if destructive.iter().any(|a| a.as_str() == action) {
                let hour = (time.seconds().rem_euclid(86_400) / 3600) as u8;
                if !hours.contains(hour) {
                    out.push(alert(
                        "outside_working_hours",
                        format!(
                            "{action} by {who} at {:02}h UTC, outside {:02}h-{:02}h",
                            hour, hours.start, hours.end
                        ),
                        vec![event.id.clone()],
                    ));
                }
            }
        }
        if self.rules.audit_export && action == AuditAction::AuditExported.as_str() {
            out.push(alert(
                "audit_exported",
                format!("the audit trail was exported by {who}"),
                vec![event.id.clone()],
            ));
        }
        let rotation_failed = action == AuditAction::KeyRotateFailed.as_str()
            || (action == AuditAction::ApiKeyOperationFailed.as_str()
                && event.details.contains_key("grace_hours"));
        if self.rules.key_rotation_failure && rotation_failed {
            out.push(alert(
                "key_rotation_failed",
                format!(
                    "a key rotation by {who} failed ({action} on {})",
                    event.resource.id
                ),
                vec![event.id.clone()],
            ));
        }
        out
    }
}

/// Where alerts go.
#[async_trait]
pub trait AlertSink: Send + Sync {
    /// Delivers one alert.
    async fn send(&self, alert: &Alert) -> Result<()>;
}

/// Appends alerts as JSON lines to a file.
pub struct JsonlAlertSink {
    path: PathBuf,
    lock: Mutex<()>,
}

impl JsonlAlertSink {
    /// Appends to `path` (created if missing).
    pub fn new(path: impl AsRef<Path>) -> Self {
        JsonlAlertSink {
            path: path.as_ref().to_path_buf(),
            lock: Mutex::new(()),
        }
    }
}

#[async_trait]
impl AlertSink for JsonlAlertSink {
    async fn send(&self, alert: &Alert) -> Result<()> {
        let mut line = serde_json::to_vec(alert).expect("an alert always encodes");
        line.push(b'\n');
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| Error::io(format!("opening alert file {}", self.path.display()), e))?;
        f.write_all(&line).map_err(|e| {
            Error::io(
                format!("appending to alert file {}", self.path.display()),
                e,
            )
        })
    }
}

type AlertCallback = dyn Fn(&Alert) -> Result<()> + Send + Sync;

/// Hands each alert to a function (the bindings' callbacks).
pub struct CallbackAlertSink(Box<AlertCallback>);

impl CallbackAlertSink {
    /// Calls `f` with each alert.
    pub fn new(f: impl Fn(&Alert) -> Result<()> + Send + Sync + 'static) -> Self {
        CallbackAlertSink(Box::new(f))
    }
}

#[async_trait]
impl AlertSink for CallbackAlertSink {
    async fn send(&self, alert: &Alert) -> Result<()> {
        (self.0)(alert)
    }
}

/// An audit sink that evaluates alert rules on the events it appends (after the inner sink
/// stored them) and delivers the alerts. A failed delivery never fails the audited
/// operation: it is counted ([`AlertingAuditSink::failed_deliveries`]) and the alert is
/// still recorded in the trail.
pub struct AlertingAuditSink {
    inner: Arc<dyn AuditSink>,
    evaluator: Mutex<AlertEvaluator>,
    sinks: Vec<Arc<dyn AlertSink>>,
    failed: std::sync::atomic::AtomicU64,
}

impl AlertingAuditSink {
    /// Wraps `inner`, evaluating `rules` and delivering to `sinks`.
    pub fn new(
        inner: Arc<dyn AuditSink>,
        rules: AlertRules,
        sinks: Vec<Arc<dyn AlertSink>>,
    ) -> Result<Self> {
        rules.validate()?;
        Ok(AlertingAuditSink {
            inner,
            evaluator: Mutex::new(AlertEvaluator::new(rules)),
            sinks,
            failed: Default::default(),
        })
    }

    /// Feeds past events to the rules' windows without alerting (a new process continuing
    /// a trail).
    pub fn seed<'a>(&self, events: impl Iterator<Item = &'a AuditEvent>) {
        let mut ev = self.evaluator.lock().unwrap_or_else(|p| p.into_inner());
        for e in events {
            ev.observe(e);
        }
    }

    /// Alerts that could not be delivered so far.
    pub fn failed_deliveries(&self) -> u64 {
        self.failed.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[async_trait]
impl AuditSink for AlertingAuditSink {
    async fn append(&self, events: &[AuditEvent]) -> Result<()> {
        self.inner.append(events).await?;
        let alerts: Vec<Alert> = {
            let mut ev = self.evaluator.lock().unwrap_or_else(|p| p.into_inner());
            events.iter().flat_map(|e| ev.observe(e)).collect()
        };
        for alert in &alerts {
            for sink in &self.sinks {
                if sink.send(alert).await.is_err() {
                    self.failed
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }
        Ok(())
    }

    fn head(&self) -> Option<ChainHead> {
        self.inner.head()
    }

    async fn read(&self) -> Result<crate::audit::AuditTrail> {
        self.inner.read().await
    }

    async fn apply_retention(
        &self,
        cutoff: Timestamp,
        confirmation: AuditEvent,
    ) -> Result<RetentionReport> {
        self.inner.apply_retention(cutoff, confirmation).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{EventResource, MemoryAuditSink};

    fn event(action: AuditAction, actor: &str, secs: i64) -> AuditEvent {
        AuditEvent::at(
            Timestamp::new(secs, 0).unwrap(),
            action,
            Actor {
                kind: "user".into(),
                id: actor.into(),
                email: None,
            },
            EventResource {
                kind: "backup".into(),
                id: "bk".into(),
            },
            "acme",
        )
    }

    #[test]
    fn denials_alert_once_the_threshold_is_reached_within_the_window() {
        let mut ev = AlertEvaluator::new(AlertRules {
            denials: Some(DenialRule {
                count: 3,
                within_minutes: 10,
            }),
            ..AlertRules::default()
        });
        let d = AuditAction::AuthorizationDenied;
        let t = 1_800_000_000;
        assert!(ev.observe(&event(d, "mallory", t)).is_empty());
        assert!(ev.observe(&event(d, "mallory", t + 60)).is_empty());
        // Another actor's denials do not count towards mallory's.
        assert!(ev.observe(&event(d, "bob", t + 61)).is_empty());
        // Too late: the first denial left the window.
        assert!(ev.observe(&event(d, "mallory", t + 601)).is_empty());
        let a = ev.observe(&event(d, "mallory", t + 602));
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].rule, "denials");
        assert_eq!(a[0].event_ids.len(), 3);
        assert_eq!(a[0].actor.id, "mallory");
    }

    #[test]
    fn restores_outside_hours_exports_and_rotation_failures_alert() {
        let mut ev = AlertEvaluator::new(AlertRules {
            working_hours: Some(WorkingHours { start: 8, end: 18 }),
            audit_export: true,
            key_rotation_failure: true,
            ..AlertRules::default()
        });
        let midnight = 1_800_000_000 - 1_800_000_000 % 86_400;
        let restore = AuditAction::BackupRestored;
        assert_eq!(
            ev.observe(&event(restore, "a", midnight + 3 * 3600)).len(),
            1
        );
        assert!(
            ev.observe(&event(restore, "a", midnight + 9 * 3600))
                .is_empty()
        );
        assert!(
            ev.observe(&event(AuditAction::BackupListed, "a", midnight))
                .is_empty()
        );
        let a = ev.observe(&event(AuditAction::AuditExported, "a", midnight + 9 * 3600));
        assert_eq!(a[0].rule, "audit_exported");
        let a = ev.observe(&event(AuditAction::KeyRotateFailed, "a", midnight));
        assert_eq!(a[0].rule, "key_rotation_failed");
        let night = WorkingHours { start: 22, end: 6 };
        assert!(night.contains(23) && night.contains(2) && !night.contains(12));
    }

    #[test]
    fn the_alerting_sink_stores_then_delivers_to_jsonl_and_callback_sinks() {
        let dir = std::env::temp_dir().join(format!("fk-alerts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("alerts.jsonl");
        let _ = std::fs::remove_file(&path);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen2 = seen.clone();
        let memory = Arc::new(MemoryAuditSink::new());
        let sink = AlertingAuditSink::new(
            memory.clone(),
            AlertRules {
                audit_export: true,
                ..AlertRules::default()
            },
            vec![
                Arc::new(JsonlAlertSink::new(&path)),
                Arc::new(CallbackAlertSink::new(move |a| {
                    seen2.lock().unwrap().push(a.clone());
                    Ok(())
                })),
                Arc::new(CallbackAlertSink::new(|_| Err(Error::Audit("down".into())))),
            ],
        )
        .unwrap();
        let e = event(AuditAction::AuditExported, "eve", 1_800_000_000);
        futures::executor::block_on(sink.append(std::slice::from_ref(&e))).unwrap();
        assert_eq!(memory.events().len(), 1);
        let line = std::fs::read_to_string(&path).unwrap();
        let a: Alert = serde_json::from_str(line.trim()).unwrap();
        assert_eq!(a.rule, "audit_exported");
        assert_eq!(a.event_ids, vec![e.id.clone()]);
        assert_eq!(seen.lock().unwrap().len(), 1);
        assert_eq!(sink.failed_deliveries(), 1);
        assert!(
            AlertRules {
                denials: Some(DenialRule {
                    count: 0,
                    within_minutes: 1
                }),
                ..AlertRules::default()
            }
            .validate()
            .is_err()
        );
    }
}
