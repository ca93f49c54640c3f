//! Retention rules (restic's keep-last/hourly/daily/weekly/monthly/yearly/within) as table
//! tests over synthetic backup times, and plan → apply on a real repository.

mod engine_common;

use engine_common::*;
use firekeep_core::engine::{self, Retention};
use firekeep_core::model::Timestamp;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

fn ts(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap()
}

fn kept(r: &Retention, times: &[&str]) -> Vec<String> {
    let backups: Vec<(String, Timestamp)> = times.iter().map(|t| (t.to_string(), ts(t))).collect();
    let (keep, remove) = r.evaluate(&backups);
    assert_eq!(keep.len() + remove.len(), times.len());
    let mut k: Vec<String> = keep.into_iter().map(|(id, _)| id).collect();
    k.sort();
    k
}

#[test]
fn retention_rules_table() {
    // Backups every 6 hours over 20 days, plus some older monthly/yearly ones.
    let mut times: Vec<String> = Vec::new();
    for day in 1..=20 {
        for hour in [0, 6, 12, 18] {
            times.push(format!("2026-03-{day:02}T{hour:02}:00:00Z"));
        }
    }
    for m in [
        "2025-01-15T00:00:00Z",
        "2025-06-15T00:00:00Z",
        "2025-12-31T23:00:00Z",
        "2024-07-01T00:00:00Z",
        "2023-07-01T00:00:00Z",
    ] {
        times.push(m.to_string());
    }
    let refs: Vec<&str> = times.iter().map(String::as_str).collect();
    let r = |f: fn(&mut Retention)| {
        let mut r = Retention::default();
        f(&mut r);
        r
    };
    let cases: Vec<(Retention, Vec<&str>)> = vec![
        (
            r(|r| r.keep_last = 3),
            vec![
                "2026-03-20T06:00:00Z",
                "2026-03-20T12:00:00Z",
                "2026-03-20T18:00:00Z",
            ],
        ),
        (
            r(|r| r.keep_hourly = 2),
            vec!["2026-03-20T12:00:00Z", "2026-03-20T18:00:00Z"],
        ),
        (
            r(|r| r.keep_daily = 3),
            vec![
                "2026-03-18T18:00:00Z",
                "2026-03-19T18:00:00Z",
                "2026-03-20T18:00:00Z",
            ],
        ),
        // ISO weeks (Monday first): 2026-03-16 is a Monday, 2026-03-09 too.
        (
            r(|r| r.keep_weekly = 3),
            vec![
                "2026-03-08T18:00:00Z",
                "2026-03-15T18:00:00Z",
                "2026-03-20T18:00:00Z",
            ],
        ),
        (
            r(|r| r.keep_monthly = 3),
            vec![
                "2025-06-15T00:00:00Z",
                "2025-12-31T23:00:00Z",
                "2026-03-20T18:00:00Z",
            ],
        ),
        (
            r(|r| r.keep_yearly = 10),
            vec![
                "2023-07-01T00:00:00Z",
                "2024-07-01T00:00:00Z",
                "2025-12-31T23:00:00Z",
                "2026-03-20T18:00:00Z",
            ],
        ),
        (
            r(|r| r.keep_within = Some(Duration::from_secs(12 * 3600))),
            vec![
                "2026-03-20T06:00:00Z",
                "2026-03-20T12:00:00Z",
                "2026-03-20T18:00:00Z",
            ],
        ),
    ];
    for (rule, expected) in cases {
        let mut expected: Vec<String> = expected.into_iter().map(String::from).collect();
        expected.sort();
        assert_eq!(kept(&rule, &refs), expected, "{rule:?}");
    }
    // Rules combine as a union, and reasons name every rule that keeps a backup.
    let combo = Retention {
        keep_last: 1,
        keep_daily: 2,
        keep_yearly: 2,
        ..Default::default()
    };
    let backups: Vec<(String, Timestamp)> = refs.iter().map(|t| (t.to_string(), ts(t))).collect();
    let (keep, remove) = combo.evaluate(&backups);
    let ids: BTreeSet<_> = keep.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        ids,
        BTreeSet::from([
            "2026-03-20T18:00:00Z",
            "2026-03-19T18:00:00Z",
            "2025-12-31T23:00:00Z"
        ])
    );
    assert_eq!(keep[0].1, vec!["last", "daily", "yearly"]);
    assert_eq!(remove.len(), refs.len() - 3);
    assert!(Retention::default().is_empty());
}

#[test]
fn plan_then_apply_removes_every_object_of_dropped_backups() {
    let (store, repo) = memory_repo();
    let key = raw_key(1);
    let source = Arc::new(sample_source(5));
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(
            run_backup(source.clone(), &repo, &key, &small_parts())
                .unwrap()
                .backup_id,
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let refuse = block_on(engine::plan_prune(
        &repo,
        &key,
        &Retention::default(),
        Timestamp::now(),
    ));
    assert!(refuse.unwrap_err().to_string().contains("keeps nothing"));
    let plan = block_on(engine::plan_prune(
        &repo,
        &key,
        &Retention {
            keep_last: 2,
            ..Default::default()
        },
        Timestamp::now(),
    ))
    .unwrap();
    assert_eq!(plan.remove, vec![ids[1].clone(), ids[0].clone()]);
    assert_eq!(
        plan.keep.iter().map(|k| k.id.clone()).collect::<Vec<_>>(),
        vec![ids[3].clone(), ids[2].clone()]
    );
    assert!(plan.objects > 4 && plan.bytes > 0);
    let report = block_on(engine::apply_prune(&repo, &key, &plan)).unwrap();
    assert_eq!(report.removed.len(), 2);
    for id in &ids[..2] {
        assert!(
            !store.paths().iter().any(|p| p.contains(id.as_str())),
            "{id} left objects"
        );
    }
    let listed: Vec<_> = block_on(engine::list(&repo, &key))
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(listed, vec![ids[3].clone(), ids[2].clone()]);
    for id in &ids[2..] {
        assert!(
            block_on(engine::verify(&repo, &key, id, None, &no_cancel()))
                .unwrap()
                .is_ok()
        );
    }
}
