//! Retention in restic's terms, planned first and then applied: every object of each
//! dropped backup is deleted (manifest first, so a half-deleted backup is never listed),
//! orphaned objects of unfinished backups too, and the folders are checked empty after.
//!
//! Prune needs the key. Anyone who can write to the bucket can plant folders that look
//! like backups (a one-byte `manifest.fkm` under an id dated 2099), so retention counts
//! only backups whose data key unwraps and whose manifest decrypts, authenticates and
//! names its own folder. Folders with a manifest that does not open are reported in
//! [`PrunePlan::unreadable`] and left alone: never counted, never deleted, never a reason
//! to delete another backup.

use super::repo::{MANIFEST, Repository, UnreadableBackup, backup_id_time};
use crate::keys::KeyProvider;
use crate::model::Timestamp;
use crate::model::civil_from_days;
use crate::{Error, Result};
use futures::TryStreamExt;
use std::collections::BTreeMap;
use std::time::Duration;

/// Which backups to keep (restic's `forget` policy). A backup is kept when any rule keeps
/// it; the rest are removed. Buckets are UTC calendar hours, days, ISO weeks (Monday
/// first), months and years of each backup's start time (from its id); within each bucket
/// the newest backup is kept.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Retention {
    /// Keep the newest N backups.
    #[serde(default)]
    pub keep_last: usize,
    /// Keep the newest backup of each of the last N hours that have backups.
    #[serde(default)]
    pub keep_hourly: usize,
    /// ... of each of the last N days.
    #[serde(default)]
    pub keep_daily: usize,
    /// ... of each of the last N weeks.
    #[serde(default)]
    pub keep_weekly: usize,
    /// ... of each of the last N months.
    #[serde(default)]
    pub keep_monthly: usize,
    /// ... of each of the last N years.
    #[serde(default)]
    pub keep_yearly: usize,
    /// Keep every backup started within this long before the newest backup (as restic:
    /// relative to the newest backup, not to now, so a stalled schedule deletes nothing).
    /// [`plan_prune`] counts back from the newest authenticated backup, or from now if
    /// that backup claims a later start, so one backup dated in the future cannot empty
    /// the window.
    #[serde(default)]
    pub keep_within: Option<Duration>,
    /// Objects of unfinished backups (no manifest) are removed once nothing in their folder
    /// changed for this long (default 1 hour), so a backup still running is left alone.
    #[serde(default = "default_grace")]
    pub orphan_grace: Duration,
}

/// Parses a retention duration, the one grammar every front end uses (restic's): a
/// sequence of `<n><unit>` with units `y` (365 days), `m` (months: 30 days), `w`, `d`, `h`
/// and `s`, e.g. `1y2m`, `14d`, `36h`. `m` is months, never minutes: `90m` is 2700 days.
pub fn parse_duration(text: &str) -> Result<Duration> {
    let bad = || {
        Error::InvalidInput(format!(
            "{text:?} is not a duration; write e.g. 36h, 14d, 2w, 6m or 1y2m \
             (units y, m = months, w, d, h, s)"
        ))
    };
    let mut total: u64 = 0;
    let mut num = String::new();
    let mut any = false;
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u64 = num.parse().map_err(|_| bad())?;
        num.clear();
        let secs: u64 = match c {
            's' => 1,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            'm' => 30 * 86_400,
            'y' => 365 * 86_400,
            _ => return Err(bad()),
        };
        total = n
            .checked_mul(secs)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(bad)?;
        any = true;
    }
    if !num.is_empty() || !any {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

fn default_grace() -> Duration {
    Duration::from_secs(3600)
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            keep_last: 0,
            keep_hourly: 0,
            keep_daily: 0,
            keep_weekly: 0,
            keep_monthly: 0,
            keep_yearly: 0,
            keep_within: None,
            orphan_grace: default_grace(),
        }
    }
}

/// The bucket of a time for each calendar rule: (hour, day, week, month, year).
fn buckets(t: Timestamp) -> [i64; 5] {
    let secs = t.seconds();
    let days = secs.div_euclid(86_400);
    let (y, m, _) = civil_from_days(days);
    // 1970-01-01 was a Thursday; +3 makes weeks start on Monday.
    let week = (days + 3).div_euclid(7);
    [secs.div_euclid(3600), days, week, y * 12 + i64::from(m), y]
}

impl Retention {
    /// Whether no rule is set (such a policy would remove everything, so it is refused).
    pub fn is_empty(&self) -> bool {
        self.keep_last == 0
            && self.keep_hourly == 0
            && self.keep_daily == 0
            && self.keep_weekly == 0
            && self.keep_monthly == 0
            && self.keep_yearly == 0
            && self.keep_within.is_none()
    }

    /// Applies the rules to backups `(id, start time)` in any order. Returns the kept ones
    /// (newest first) with the rules that keep them, and the removed ids (newest first).
    pub fn evaluate(
        &self,
        backups: &[(String, Timestamp)],
    ) -> (Vec<(String, Vec<String>)>, Vec<String>) {
        self.evaluate_inner(backups, None)
    }

    /// Like [`Retention::evaluate`], but `keep_within` counts back from the newest backup
    /// or `now`, whichever is earlier.
    pub fn evaluate_at(
        &self,
        backups: &[(String, Timestamp)],
        now: Timestamp,
    ) -> (Vec<(String, Vec<String>)>, Vec<String>) {
        self.evaluate_inner(backups, Some(now))
    }

    fn evaluate_inner(
        &self,
        backups: &[(String, Timestamp)],
        now: Option<Timestamp>,
    ) -> (Vec<(String, Vec<String>)>, Vec<String>) {
        let mut sorted: Vec<&(String, Timestamp)> = backups.iter().collect();
        sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
        let newest = match (sorted.first().map(|b| b.1), now) {
            (Some(newest), Some(now)) => Some(newest.min(now)),
            (newest, _) => newest,
        };
        let names = ["hourly", "daily", "weekly", "monthly", "yearly"];
        let mut left = [
            self.keep_hourly,
            self.keep_daily,
            self.keep_weekly,
            self.keep_monthly,
            self.keep_yearly,
        ];
        let mut last: [Option<i64>; 5] = [None; 5];
        let mut keep = Vec::new();
        let mut remove = Vec::new();
        for (i, (id, t)) in sorted.iter().enumerate() {
            let mut reasons = Vec::new();
            if i < self.keep_last {
                reasons.push("last".to_string());
            }
            let b = buckets(*t);
            for r in 0..5 {
                if left[r] > 0 && last[r] != Some(b[r]) {
                    last[r] = Some(b[r]);
                    left[r] -= 1;
                    reasons.push(names[r].to_string());
                }
            }
            if let (Some(within), Some(newest)) = (self.keep_within, newest) {
                let limit = newest.unix_millis() - within.as_millis() as i64;
                if t.unix_millis() >= limit {
                    reasons.push("within".to_string());
                }
            }
            if reasons.is_empty() {
                remove.push(id.clone());
            } else {
                keep.push((id.clone(), reasons));
            }
        }
        (keep, remove)
    }
}

/// A kept backup and the rules that keep it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct KeptBackup {
    /// Backup id.
    pub id: String,
    /// Rules keeping it (`last`, `hourly`, `daily`, `weekly`, `monthly`, `yearly`,
    /// `within`, `unrecognised-id`).
    pub reasons: Vec<String>,
}

/// What `apply_prune` will delete.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PrunePlan {
    /// Backups kept, newest first.
    pub keep: Vec<KeptBackup>,
    /// Complete backups to delete, newest first.
    pub remove: Vec<String>,
    /// Folders of unfinished backups (no manifest) older than the grace period.
    pub orphans: Vec<String>,
    /// Folders with a manifest the key cannot open or authenticate (another key, a damaged
    /// or planted manifest or key.json), newest first. Left alone: not counted by any rule
    /// and not deleted.
    pub unreadable: Vec<UnreadableBackup>,
    /// Objects and bytes the plan deletes.
    pub objects: usize,
    /// Stored bytes the plan frees.
    pub bytes: u64,
}

/// One deleted backup (or orphan folder).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PrunedBackup {
    /// Backup id.
    pub id: String,
    /// Objects deleted.
    pub objects: usize,
    /// Bytes freed.
    pub bytes: u64,
}

/// What `apply_prune` did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct PruneReport {
    /// Complete backups deleted.
    pub removed: Vec<PrunedBackup>,
    /// Orphan folders deleted.
    pub orphans: Vec<PrunedBackup>,
    /// Orphans skipped because a manifest appeared since planning (a backup finished).
    pub skipped: Vec<String>,
    /// Planned removals skipped because a legal hold was placed on them since planning.
    pub held: Vec<String>,
}

/// Plans a prune: which complete backups `retention` keeps and removes, and which orphaned
/// folders (no manifest, unchanged for `retention.orphan_grace` before `now`) go too.
///
/// Only backups `keys` opens and authenticates (as [`super::list`] does) are counted and
/// may be removed; the rest are reported in [`PrunePlan::unreadable`] and kept. Backup
/// times come from their (authenticated) ids.
pub async fn plan_prune(
    repo: &Repository,
    keys: &dyn KeyProvider,
    retention: &Retention,
    now: Timestamp,
) -> Result<PrunePlan> {
    if retention.is_empty() {
        return Err(Error::InvalidConfig(
            "the retention policy keeps nothing; set at least one of keep-last, keep-hourly, \
             keep-daily, keep-weekly, keep-monthly, keep-yearly or keep-within"
                .into(),
        ));
    }
    // Scan first: a backup that completes after the scan is then still found (and counted)
    // by the listing, never taken for an orphan.
    let scan = repo.scan().await?;
    let listed = super::list(repo, keys).await?;
    let authenticated: std::collections::BTreeSet<&str> =
        listed.backups.iter().map(|b| b.id.as_str()).collect();
    let mut dated = Vec::new();
    let mut keep = Vec::new();
    let mut orphans = Vec::new();
    let mut sizes: BTreeMap<&str, (usize, u64)> = BTreeMap::new();
    let grace_ms = retention.orphan_grace.as_millis() as i64;
    for (id, objs) in &scan {
        sizes.insert(
            id,
            (
                objs.objects.len(),
                objs.objects.iter().map(|o| o.size).sum(),
            ),
        );
        if objs.manifest {
            if !authenticated.contains(id.as_str()) {
                // Unreadable (reported below) or gone since the scan: not ours to count.
                continue;
            }
            match backup_id_time(id) {
                Some(t) => dated.push((id.clone(), t)),
                // Never delete what we cannot date.
                None => keep.push(KeptBackup {
                    id: id.clone(),
                    reasons: vec!["unrecognised-id".into()],
                }),
            }
        } else {
            let newest = objs
                .objects
                .iter()
                .filter_map(|o| o.last_modified)
                .max()
                .or_else(|| backup_id_time(id));
            let old = newest.is_none_or(|t| now.unix_millis() - t.unix_millis() >= grace_ms);
            // A folder name firekeep never makes is not an unfinished backup of ours (and
            // apply would refuse it, stopping the whole prune): left alone.
            if old && super::repo::validate_backup_id(id).is_ok() {
                orphans.push(id.clone());
            }
        }
    }
    let (kept, evaluated_remove) = retention.evaluate_at(&dated, now);
    keep.extend(
        kept.into_iter()
            .map(|(id, reasons)| KeptBackup { id, reasons }),
    );
    // A backup under legal hold is kept whatever the rules say.
    let mut remove = Vec::with_capacity(evaluated_remove.len());
    for id in evaluated_remove {
        if super::hold::is_held(repo, &id).await? {
            keep.push(KeptBackup {
                id,
                reasons: vec!["legal-hold".into()],
            });
        } else {
            remove.push(id);
        }
    }
    keep.sort_by(|a, b| b.id.cmp(&a.id));
    let (mut objects, mut bytes) = (0, 0);
    for id in remove.iter().chain(&orphans) {
        let (n, b) = sizes.get(id.as_str()).copied().unwrap_or_default();
        objects += n;
        bytes += b;
    }
    Ok(PrunePlan {
        keep,
        remove,
        orphans,
        unreadable: listed.unreadable,
        objects,
        bytes,
    })
}

/// Deletes every object of one backup folder (manifest first) and checks none is left.
async fn delete_backup(repo: &Repository, id: &str) -> Result<PrunedBackup> {
    let dir = repo.backup_dir(id);
    let sink = repo.sink();
    let mut objects: Vec<_> = sink.list(&dir).try_collect().await?;
    // Manifest first: from then on the backup is not listed, whatever happens next.
    objects.sort_by_key(|o| !o.path.ends_with(MANIFEST));
    let bytes = objects.iter().map(|o| o.size).sum();
    for o in &objects {
        sink.delete(&o.path).await?;
    }
    let left: Vec<_> = sink.list(&dir).try_collect().await?;
    if !left.is_empty() {
        return Err(Error::Storage(format!(
            "deleted backup {id} but {} object(s) remain (first: {}); run prune again, and check \
             the storage's delete permissions or object lock",
            left.len(),
            left[0].path
        )));
    }
    Ok(PrunedBackup {
        id: id.to_string(),
        objects: objects.len(),
        bytes,
    })
}

/// Applies a plan from [`plan_prune`]: deletes the backups it removes and its orphans,
/// and verifies nothing of them is left. Before deleting, the repository head record is
/// rewritten without the removed backups (under `keys`), so their deletion is not later
/// reported as a rollback; if deletion then fails, the head merely omits backups that
/// still exist, which is harmless.
pub async fn apply_prune(
    repo: &Repository,
    keys: &dyn KeyProvider,
    plan: &PrunePlan,
) -> Result<PruneReport> {
    let mut report = PruneReport::default();
    if !plan.remove.is_empty() {
        super::head::update(repo, keys, &[], &plan.remove).await?;
    }
    for id in &plan.remove {
        super::repo::validate_backup_id(id)?;
        // The plan may predate a hold: checked again right before deleting.
        if super::hold::is_held(repo, id).await? {
            report.held.push(id.clone());
            continue;
        }
        report.removed.push(delete_backup(repo, id).await?);
    }
    for id in &plan.orphans {
        super::repo::validate_backup_id(id)?;
        // A backup that was still running at planning time may have finished since.
        match repo.sink().head(&repo.object_path(id, MANIFEST)).await {
            // A manifest appeared, or something that is not a manifest (a planted link):
            // either way not an orphan to delete now.
            Ok(_) | Err(Error::Integrity { .. }) => {
                report.skipped.push(id.clone());
                continue;
            }
            Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        if super::hold::is_held(repo, id).await? {
            report.held.push(id.clone());
            continue;
        }
        report.orphans.push(delete_backup(repo, id).await?);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations_use_one_grammar_where_m_is_months() {
        let day = 86_400;
        assert_eq!(parse_duration("36h").unwrap().as_secs(), 36 * 3600);
        assert_eq!(parse_duration("6m").unwrap().as_secs(), 6 * 30 * day);
        assert_eq!(parse_duration("90m").unwrap().as_secs(), 90 * 30 * day);
        assert_eq!(parse_duration("1y2m").unwrap().as_secs(), (365 + 60) * day);
        assert_eq!(parse_duration("1w2d30s").unwrap().as_secs(), 9 * day + 30);
        for bad in ["", "5", "h", "3x", "1.5d", "-1d", "99999999999999999999y"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
