//! Human-readable text of the core's reports, shared by the commands and the demo.

use crate::output::{bytes, count, table};
use firekeep_core::engine::{
    BackupList, BackupReport, BackupSummary, DiffReport, PrunePlan, VerifyReport,
};

/// Human text of a backup report.
pub fn backup_text(r: &BackupReport) -> String {
    let mut s = format!(
        "backup {} of {}/{} complete\n  read time {}\n  {} documents, {} ({} stored in {} parts) in {:.1}s\n  key id {}\n\n",
        r.backup_id,
        r.project,
        r.database,
        r.read_time.to_rfc3339(),
        count(r.documents),
        bytes(r.bytes),
        bytes(r.stored_bytes),
        r.parts,
        r.duration.as_secs_f64(),
        r.key_id,
    );
    let rows: Vec<Vec<String>> = r
        .collections
        .iter()
        .map(|(c, t)| vec![c.clone(), count(t.documents), bytes(t.bytes)])
        .collect();
    s.push_str(&table(&["COLLECTION", "DOCUMENTS", "BYTES"], &rows));
    s
}

/// Human text of a backup listing.
pub fn list_text(list: &BackupList) -> String {
    let mut text = if list.backups.is_empty() && !list.unreadable.is_empty() {
        "no backup this key can open".to_string()
    } else {
        backups_table(&list.backups)
    };
    if !list.unreadable.is_empty() {
        let rows: Vec<Vec<String>> = list
            .unreadable
            .iter()
            .map(|u| vec![u.id.clone(), u.code.clone(), u.message.clone()])
            .collect();
        text.push_str(&format!(
            "\n\n{} complete backup(s) could not be opened with this key:\n{}",
            list.unreadable.len(),
            table(&["ID", "ERROR", "DETAIL"], &rows)
        ));
    }
    if !list.rollback.missing.is_empty() {
        text.push_str(&format!(
            "\n\nWARNING: the repository head record (generation {}) names backup(s) that \
             are missing or no longer authenticate: {}\nThey were deleted or replaced \
             outside firekeep, or the repository was rolled back; `latest` refuses until \
             this is resolved.",
            list.rollback.generation.unwrap_or_default(),
            list.rollback.missing.join(", ")
        ));
    }
    for r in &list.rollback.unreadable_records {
        text.push_str(&format!("\nwarning: {r}"));
    }
    text
}

/// A table of backups, newest last.
pub fn backups_table(backups: &[BackupSummary]) -> String {
    if backups.is_empty() {
        return "no backups yet".into();
    }
    let rows: Vec<Vec<String>> = backups
        .iter()
        .map(|b| {
            vec![
                b.id.clone(),
                b.read_time.to_rfc3339(),
                format!("{}/{}", b.project, b.database),
                count(b.documents),
                bytes(b.stored_bytes),
                b.key_id.clone(),
            ]
        })
        .collect();
    table(
        &[
            "ID",
            "READ TIME",
            "DATABASE",
            "DOCUMENTS",
            "STORED",
            "KEY ID",
        ],
        &rows,
    )
}

/// Human text of a verify report.
pub fn verify_text(r: &VerifyReport) -> String {
    let mut s = if r.is_ok() {
        format!(
            "backup {} OK: {} parts, {} documents, {} checked in {:.1}s\n",
            r.backup_id,
            r.parts,
            count(r.documents),
            bytes(r.bytes),
            r.duration.as_secs_f64()
        )
    } else {
        format!(
            "backup {} FAILED verification: {} of {} parts OK\n",
            r.backup_id, r.parts_ok, r.parts
        )
    };
    for p in &r.problems {
        s.push_str(&format!(
            "  {} ({}): {}: {}\n",
            p.object, p.path, p.kind, p.detail
        ));
    }
    for o in &r.unexpected_objects {
        s.push_str(&format!("  unexpected object {o}\n"));
    }
    s
}

/// Human text of a diff report.
pub fn diff_text(r: &DiffReport) -> String {
    let mut s = format!(
        "{} → {}: {} added, {} removed, {} changed, {} unchanged\n",
        r.from,
        r.to,
        count(r.added),
        count(r.removed),
        count(r.changed),
        count(r.unchanged)
    );
    for (sign, names) in [
        ("+", &r.added_names),
        ("-", &r.removed_names),
        ("~", &r.changed_names),
    ] {
        for n in names {
            s.push_str(&format!("  {sign} {n}\n"));
        }
    }
    if r.truncated {
        s.push_str("  (list truncated)\n");
    }
    s
}

/// Human text of a prune plan.
pub fn plan_text(plan: &PrunePlan) -> String {
    let mut s = String::new();
    for k in &plan.keep {
        s.push_str(&format!("keep    {}  ({})\n", k.id, k.reasons.join(", ")));
    }
    for r in &plan.remove {
        s.push_str(&format!("remove  {r}\n"));
    }
    for o in &plan.orphans {
        s.push_str(&format!("remove  {o}  (unfinished: no manifest)\n"));
    }
    if !plan.unreadable.is_empty() {
        s.push_str(&format!(
            "{} folder(s) with a manifest this key cannot open or authenticate were left \
             alone and not counted (made under another key, damaged, or planted):\n",
            plan.unreadable.len()
        ));
        for u in &plan.unreadable {
            s.push_str(&format!("  {}  {}: {}\n", u.id, u.code, u.message));
        }
    }
    s
}
