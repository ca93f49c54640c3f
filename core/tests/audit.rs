//! The audit trail: hash-chain tamper detection on 10,000 events, the JSONL sink (torn
//! lines, fsync modes), export (time/action filters, RFC 4180 CSV, formula neutralising),
//! retention anchors, and the callback sink.

use firekeep_core::Error;
use firekeep_core::audit::{
    Actor, AuditAction, AuditEvent, AuditSink, CallbackAuditSink, ChainError, ChainErrorKind,
    ChainVerifier, EventResource, ExportFilter, ExportFormat, FsyncPolicy, GENESIS_HASH,
    JsonlAuditSink, MemoryAuditSink, csv_cell, event_hash, export, read_jsonl, verify_chain,
    verify_chain_with_head,
};
use firekeep_core::model::Timestamp;
use futures::executor::block_on;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

fn event_at(time: Timestamp, i: usize) -> AuditEvent {
    let actions = [
        AuditAction::BackupCreated,
        AuditAction::BackupVerified,
        AuditAction::AuthorizationDenied,
        AuditAction::BackupRestored,
    ];
    let mut e = AuditEvent::at(
        time,
        actions[i % actions.len()],
        Actor {
            kind: "user".into(),
            id: format!("user{}", i % 7),
            email: Some(format!("user{}@example.com", i % 7)),
        },
        EventResource {
            kind: "backup".into(),
            id: format!("bk_{i}"),
        },
        "acme",
    );
    e.context.ip = Some(format!("10.0.{}.{}", i / 256 % 256, i % 256));
    e.context.user_agent = Some("firekeep-tests".into());
    e.details.insert("documents".into(), json!(i * 3));
    e.details
        .insert("nested".into(), json!({"z": [1, 2.5, "x"], "a": {"k": i}}));
    e
}

fn base_time() -> Timestamp {
    Timestamp::parse_rfc3339("2026-01-01T00:00:00Z").unwrap()
}

/// A chained trail of `n` events, one minute apart.
fn trail(n: usize) -> Vec<AuditEvent> {
    let sink = MemoryAuditSink::new();
    let t0 = base_time();
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let batch: Vec<AuditEvent> = chunk
            .iter()
            .map(|&i| event_at(t0.add_seconds(60 * i as i64).unwrap(), i))
            .collect();
        block_on(sink.append(&batch)).unwrap();
    }
    sink.events()
}

/// Verifies a tampered trail whose first `start` events equal `original`'s, starting the
/// verifier from the state it has after those (identical, already verified) events. Because
/// verification stops at the first break, this gives exactly what a full `verify_chain` of
/// the tampered trail gives (checked against full runs on a sample below), at O(1) cost.
fn verify_from(
    original: &[AuditEvent],
    start: usize,
    rest: impl Iterator<Item = AuditEvent>,
) -> Result<(), ChainError> {
    let last = if start == 0 {
        GENESIS_HASH.to_string()
    } else {
        original[start - 1].hash.clone()
    };
    let before_last = match start {
        0 => None,
        1 => Some(GENESIS_HASH.to_string()),
        _ => Some(original[start - 2].hash.clone()),
    };
    let mut v = ChainVerifier::resume(start, last, before_last);
    for e in rest {
        v.push(&e)?;
    }
    Ok(())
}

fn edit(e: &mut AuditEvent, i: usize) {
    match i % 6 {
        0 => e.action = "backup.deleted".into(),
        1 => {
            e.details.insert("documents".into(), json!(999_999));
        }
        2 => e.actor.id = "mallory".into(),
        3 => e.timestamp = "2020-01-01T00:00:00.000Z".into(),
        4 => e.context.ip = None,
        _ => e.prev_hash = "f".repeat(64),
    };
}

/// A well-formed event that links to `prev` and carries a valid hash: what a careful forger
/// inserts.
fn forged(prev: &str, i: usize) -> AuditEvent {
    let mut e = event_at(base_time(), 1_000_000 + i);
    e.prev_hash = prev.to_string();
    e.hash = event_hash(&e);
    e
}

#[test]
fn every_tampering_of_a_10000_event_trail_is_found_at_its_index() {
    let n = 10_000;
    let events = trail(n);
    let head = verify_chain(&events, None).expect("untouched trail verifies");
    assert_eq!(head.position, n as u64);
    assert_eq!(head.hash, events[n - 1].hash);

    let at = |i: usize, kind| ChainError { index: i, kind };
    let prev_of = |i: usize| {
        if i == 0 {
            GENESIS_HASH.to_string()
        } else {
            events[i - 1].hash.clone()
        }
    };

    for i in 0..n {
        // Edit of event i (without re-hashing): found at i.
        let mut e = events[i].clone();
        edit(&mut e, i);
        let rest = std::iter::once(e).chain(events[i + 1..].iter().take(1).cloned());
        assert_eq!(
            verify_from(&events, i, rest),
            Err(at(i, ChainErrorKind::Edited)),
            "edit {i}"
        );

        // Deletion of event i: found at i (the last one needs the recorded head).
        if i + 1 < n {
            let rest = events[i + 1..].iter().take(1).cloned();
            assert_eq!(
                verify_from(&events, i, rest),
                Err(at(i, ChainErrorKind::Broken)),
                "delete {i}"
            );
        }

        // Insertion of a forged, correctly linked event at i: found at i.
        let rest =
            std::iter::once(forged(&prev_of(i), i)).chain(events[i..].iter().take(1).cloned());
        assert_eq!(
            verify_from(&events, i, rest),
            Err(at(i, ChainErrorKind::Inserted)),
            "insert {i}"
        );

        // Reordering: events i and i+1 swapped: found at i.
        if i + 1 < n {
            let rest = [events[i + 1].clone(), events[i].clone()].into_iter();
            assert_eq!(
                verify_from(&events, i, rest),
                Err(at(i, ChainErrorKind::Broken)),
                "swap {i}"
            );
        }
    }

    // The last event deleted: only a head recorded elsewhere can tell.
    let truncated = &events[..n - 1];
    assert!(verify_chain(truncated, None).is_ok());
    assert_eq!(
        verify_chain_with_head(truncated, None, &head),
        Err(at(n - 1, ChainErrorKind::Truncated))
    );
    assert_eq!(
        verify_chain_with_head(&events, None, &head),
        Ok(head.clone())
    );

    // Full verifications of whole tampered trails agree with the incremental ones, at the
    // edges and in the middle. Verification stops at the first break, so a run costs O(i):
    // the sample favours small indices plus the far end. Tampering is done in place and
    // undone, to avoid copying 10,000 events per run.
    let mut events = events;
    for i in [0, 1, 2, 3, 100, n / 2, n - 2] {
        let original = events[i].clone();
        edit(&mut events[i], i);
        assert_eq!(
            verify_chain(&events, None),
            Err(at(i, ChainErrorKind::Edited))
        );
        // Edited and re-hashed: the next event no longer follows it.
        events[i] = original.clone();
        edit(&mut events[i], i + 1);
        events[i].hash = event_hash(&events[i]);
        let found = verify_chain(&events, None).unwrap_err();
        assert!(
            found.index == i || found.index == i + 1,
            "{found:?} for {i}"
        );
        events[i] = original;

        let removed = events.remove(i);
        assert_eq!(
            verify_chain(&events, None),
            Err(at(i, ChainErrorKind::Broken))
        );
        // Moved far later: the chain breaks where it was taken from.
        events.insert(n - 1, removed);
        assert_eq!(
            verify_chain(&events, None),
            Err(at(i, ChainErrorKind::Broken))
        );
        let removed = events.remove(n - 1);
        events.insert(i, removed);

        let prev = if i == 0 {
            GENESIS_HASH.to_string()
        } else {
            events[i - 1].hash.clone()
        };
        events.insert(i, forged(&prev, i));
        assert_eq!(
            verify_chain(&events, None),
            Err(at(i, ChainErrorKind::Inserted))
        );
        // A naive insertion: a copy of a distant event.
        events[i] = events[(i + n / 2) % n].clone();
        assert_eq!(
            verify_chain(&events, None),
            Err(at(i, ChainErrorKind::Broken))
        );
        events.remove(i);

        events.swap(i, i + 1);
        assert_eq!(
            verify_chain(&events, None),
            Err(at(i, ChainErrorKind::Broken))
        );
        events.swap(i, i + 1);
    }
    assert_eq!(
        verify_chain(&events, None),
        Ok(head),
        "every tampering was undone"
    );
    let msg = Error::from(at(5, ChainErrorKind::Edited)).to_string();
    assert!(msg.contains("event 5") && msg.contains("modified"), "{msg}");
}

#[test]
fn hash_is_independent_of_detail_key_order() {
    let mut a = event_at(base_time(), 1);
    a.prev_hash = GENESIS_HASH.into();
    let text = serde_json::to_string(&a).unwrap();
    let mut b: AuditEvent = serde_json::from_str(&text).unwrap();
    // Rebuild details in reverse key order: the hash must not change.
    let reversed: serde_json::Map<String, Value> = b.details.clone().into_iter().rev().collect();
    b.details = reversed;
    assert_eq!(event_hash(&a), event_hash(&b));
    b.details.insert("documents".into(), json!(4));
    assert_ne!(event_hash(&a), event_hash(&b));
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!(
            "firekeep-audit-{name}-{}-{}",
            std::process::id(),
            Timestamp::now().unix_millis()
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn jsonl_sink_appends_durably_and_survives_a_torn_last_line() {
    let dir = TempDir::new("jsonl");
    let path = dir.0.join("audit.jsonl");
    let t0 = base_time();
    for fsync in [FsyncPolicy::PerEvent, FsyncPolicy::PerBatch] {
        let _ = std::fs::remove_file(&path);
        let sink = JsonlAuditSink::open(&path, fsync).unwrap();
        let batch: Vec<AuditEvent> = (0..10).map(|i| event_at(t0, i)).collect();
        block_on(sink.append(&batch)).unwrap();
        block_on(sink.append(&batch[..3])).unwrap();
        let trail = read_jsonl(&path).unwrap();
        assert_eq!(trail.events.len(), 13);
        assert!(trail.torn_tail.is_none());
        let head = trail.verify().unwrap();
        assert_eq!(Some(head), sink.head());
        // The stored shape is DESIGN.md's, plus the chain fields.
        let first: Value = serde_json::from_str(
            std::fs::read_to_string(&path)
                .unwrap()
                .lines()
                .next()
                .unwrap(),
        )
        .unwrap();
        let keys: Vec<&str> = first
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        for k in [
            "id",
            "timestamp",
            "action",
            "actor",
            "resource",
            "organization",
            "context",
            "details",
            "prevHash",
            "hash",
        ] {
            assert!(keys.contains(&k), "{k} in {keys:?}");
        }
        assert!(first["id"].as_str().unwrap().starts_with("log_"));
        assert_eq!(first["timestamp"], "2026-01-01T00:00:00.000Z");
        assert_eq!(first["context"]["userAgent"], "firekeep-tests");
        assert_eq!(first["actor"]["type"], "user");
        assert_eq!(first["resource"]["type"], "backup");
        assert_eq!(first["organization"]["id"], "acme");
    }

    // A crash mid-write leaves half a line.
    let full = std::fs::read(&path).unwrap();
    let mut line = serde_json::to_vec(&event_at(t0, 99)).unwrap();
    line.truncate(line.len() / 2);
    let mut torn = full.clone();
    torn.extend_from_slice(&line);
    std::fs::write(&path, &torn).unwrap();
    let trail = read_jsonl(&path).unwrap();
    assert_eq!(trail.events.len(), 13, "earlier events stay readable");
    let tail = trail.torn_tail.clone().expect("torn tail reported");
    assert_eq!((tail.line, tail.bytes), (14, line.len()));
    trail.verify().unwrap();

    // Reopening moves the torn bytes aside and appends after the last whole event.
    let sink = JsonlAuditSink::open(&path, FsyncPolicy::PerBatch).unwrap();
    assert_eq!(sink.recovered_torn_tail(), Some(&tail));
    let saved = std::fs::read(dir.0.join("audit.jsonl.torn")).unwrap();
    assert_eq!(&saved[..line.len()], &line[..]);
    assert_eq!(std::fs::read(&path).unwrap(), full);
    block_on(sink.append(&[event_at(t0, 100)])).unwrap();
    let trail = read_jsonl(&path).unwrap();
    assert_eq!(trail.events.len(), 14);
    assert_eq!(trail.verify().unwrap().position, 14);

    // A whole last event missing only its newline is kept.
    let mut no_newline = std::fs::read(&path).unwrap();
    no_newline.pop();
    std::fs::write(&path, &no_newline).unwrap();
    assert_eq!(read_jsonl(&path).unwrap().events.len(), 14);
    let sink = JsonlAuditSink::open(&path, FsyncPolicy::PerEvent).unwrap();
    assert!(sink.recovered_torn_tail().is_none());
    block_on(sink.append(&[event_at(t0, 101)])).unwrap();
    assert_eq!(read_jsonl(&path).unwrap().verify().unwrap().position, 15);

    // A garbled line in the middle is tampering, reported with its line number.
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[4] = "{\"id\": \"log_garbage\"";
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let err = read_jsonl(&path).unwrap_err().to_string();
    assert!(err.contains("line 5"), "{err}");
    assert!(JsonlAuditSink::open(&path, FsyncPolicy::PerBatch).is_err());
}

#[test]
fn export_filters_by_time_and_action_as_json_and_csv() {
    let sink = MemoryAuditSink::new();
    let t0 = base_time();
    let mut events: Vec<AuditEvent> = (0..40)
        .map(|i| event_at(t0.add_seconds(3600 * i as i64).unwrap(), i))
        .collect();
    // Cells a spreadsheet would run as formulas, and cells needing quotes.
    events[1].actor.email = Some("=HYPERLINK(\"http://evil\",\"x\")".into());
    events[5].resource.id = "+1,2".into();
    events[9].context.user_agent = Some("-cmd|' /C calc'!A0".into());
    events[13].context.location = Some("@SUM(A1)\r\nline two".into());
    block_on(sink.append(&events)).unwrap();
    let stored = sink.events();

    let filter = ExportFilter {
        from: Some(t0.add_seconds(3600).unwrap()),
        to: Some(t0.add_seconds(3600 * 14).unwrap()),
        actions: vec!["backup.verified".into(), "backup.restored".into()],
    };
    let json_out = export(&stored, &filter, ExportFormat::Json);
    let parsed: Vec<AuditEvent> = serde_json::from_str(&json_out).unwrap();
    let expected: Vec<&AuditEvent> = stored[1..14]
        .iter()
        .filter(|e| e.action == "backup.verified" || e.action == "backup.restored")
        .collect();
    assert_eq!(parsed.len(), expected.len());
    assert!(parsed.iter().zip(&expected).all(|(a, b)| a == *b));
    assert_eq!(parsed.len(), 7);

    let family = ExportFilter {
        actions: vec!["backup.*".into()],
        ..ExportFilter::default()
    };
    assert_eq!(
        export(&stored, &family, ExportFormat::Json)
            .matches("\"log_")
            .count(),
        30
    );

    let csv_out = export(&stored, &ExportFilter::default(), ExportFormat::Csv);
    let rows = parse_csv(&csv_out);
    assert_eq!(rows.len(), 41);
    assert_eq!(rows[0][0], "id");
    assert!(rows.iter().all(|r| r.len() == 15));
    assert_eq!(rows[2][5], "'=HYPERLINK(\"http://evil\",\"x\")");
    assert_eq!(rows[6][7], "'+1,2");
    assert_eq!(rows[10][10], "'-cmd|' /C calc'!A0");
    assert_eq!(rows[14][11], "'@SUM(A1)\r\nline two");
    let details: Value = serde_json::from_str(&rows[1][12]).unwrap();
    assert_eq!(details["nested"]["z"][2], "x");
    assert!(csv_out.ends_with("\r\n"));
    assert_eq!(csv_cell("plain"), "plain");
    assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
    assert_eq!(csv_cell("-5"), "'-5");
    assert_eq!(csv_cell("a,b"), "\"a,b\"");
}

/// A strict RFC 4180 reader, so the test checks the format rather than our own writer.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    cell.push('"');
                } else {
                    quoted = false;
                }
            } else {
                cell.push(c);
            }
            continue;
        }
        match c {
            '"' => {
                assert!(cell.is_empty(), "quote inside an unquoted cell");
                quoted = true;
            }
            ',' => row.push(std::mem::take(&mut cell)),
            '\r' => {
                assert_eq!(chars.next(), Some('\n'), "bare CR outside quotes");
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            '\n' => panic!("bare LF outside quotes"),
            c => cell.push(c),
        }
    }
    assert!(!quoted && row.is_empty() && cell.is_empty());
    rows
}

fn confirmation(time: Timestamp) -> AuditEvent {
    AuditEvent::at(
        time,
        AuditAction::AuditRetentionApplied,
        Actor {
            kind: "user".into(),
            id: "owner".into(),
            email: None,
        },
        EventResource {
            kind: "audit_log".into(),
            id: "acme".into(),
        },
        "acme",
    )
}

#[test]
fn retention_drops_old_events_and_the_rest_still_verifies() {
    let dir = TempDir::new("retention");
    let path = dir.0.join("audit.jsonl");
    let t0 = base_time();
    let day = 86_400;
    let now = t0.add_seconds(400 * day).unwrap();
    // One event per day for 400 days.
    let events: Vec<AuditEvent> = (0..400)
        .map(|i| event_at(t0.add_seconds(i as i64 * day + 10).unwrap(), i))
        .collect();
    let memory = MemoryAuditSink::new();
    let jsonl = JsonlAuditSink::open(&path, FsyncPolicy::PerBatch).unwrap();
    let sinks: [&dyn AuditSink; 2] = [&memory, &jsonl];
    for sink in sinks {
        block_on(sink.append(&events)).unwrap();
        let before = block_on(sink.read()).unwrap();
        let mut dropped_total = 0;
        for keep_days in [365u32, 90, 30] {
            let cutoff = now.add_seconds(-i64::from(keep_days) * day).unwrap();
            let report = block_on(sink.apply_retention(cutoff, confirmation(now))).unwrap();
            let trail = block_on(sink.read()).unwrap();
            dropped_total += report.dropped;
            let anchor = trail.anchor.clone().expect("anchor recorded");
            assert_eq!(anchor.dropped, dropped_total);
            assert!(
                trail.events[..trail.events.len() - 1]
                    .iter()
                    .all(|e| e.time().unwrap() >= cutoff || e.action == "audit.retention_applied")
            );
            let head = trail.verify().expect("the kept trail verifies");
            assert_eq!(Some(head.clone()), sink.head());
            // The absolute position still counts every event ever appended.
            let appended = 400
                + [365u32, 90, 30]
                    .iter()
                    .position(|k| *k == keep_days)
                    .unwrap() as u64
                + 1;
            assert_eq!(head.position, appended);
            let last = trail.events.last().unwrap();
            assert_eq!(last.action, "audit.retention_applied");
            assert_eq!(last.details["anchorHash"], json!(anchor.prev_hash));
        }
        assert_eq!(dropped_total, 370);
        let trail = block_on(sink.read()).unwrap();
        assert_eq!(
            trail.events.len(),
            30 + 3,
            "30 days and the three confirmations"
        );
        // The dropped prefix matched the original trail's hashes: the anchor is the hash of
        // the last dropped original event.
        let anchor = trail.anchor.clone().unwrap();
        assert!(before.events.iter().any(|e| e.hash == anchor.prev_hash));

        // Dropping one more event by hand breaks the chain at 0 ...
        let mut cut = trail.events.clone();
        cut.remove(0);
        assert_eq!(verify_chain(&cut, Some(&anchor)).unwrap_err().index, 0);
        // ... and forging the anchor to match is caught: no retention event confirms it.
        let mut forged_anchor = anchor.clone();
        forged_anchor.prev_hash = trail.events[0].hash.clone();
        assert_eq!(
            verify_chain(&cut, Some(&forged_anchor)).unwrap_err().kind,
            ChainErrorKind::AnchorUnconfirmed
        );
        // Without its anchor the cut trail does not verify either.
        assert_eq!(verify_chain(&trail.events, None).unwrap_err().index, 0);
    }
    // The JSONL file keeps its anchor across reopening.
    let reopened = JsonlAuditSink::open(&path, FsyncPolicy::PerBatch).unwrap();
    block_on(reopened.append(&[event_at(now, 1)])).unwrap();
    let trail = read_jsonl(&path).unwrap();
    assert!(trail.anchor.is_some());
    assert_eq!(trail.verify().unwrap().position, 404);
}

#[test]
fn callback_sink_forwards_chained_events_and_reports_failures() {
    let seen: Arc<Mutex<Vec<AuditEvent>>> = Arc::default();
    let seen2 = seen.clone();
    let fail = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let fail2 = fail.clone();
    let sink = CallbackAuditSink::new(move |events: &[AuditEvent]| {
        if fail2.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(Error::Storage("SIEM unreachable".into()));
        }
        seen2.lock().unwrap().extend_from_slice(events);
        Ok(())
    });
    let t0 = base_time();
    block_on(sink.append(&[event_at(t0, 0), event_at(t0, 1)])).unwrap();
    fail.store(true, std::sync::atomic::Ordering::SeqCst);
    let err = block_on(sink.append(&[event_at(t0, 2)])).unwrap_err();
    assert!(
        matches!(err, Error::Audit(ref m) if m.contains("SIEM unreachable")),
        "{err}"
    );
    fail.store(false, std::sync::atomic::Ordering::SeqCst);
    block_on(sink.append(&[event_at(t0, 3)])).unwrap();
    let events = seen.lock().unwrap().clone();
    assert_eq!(events.len(), 3);
    // The failed batch did not advance the chain.
    let head = verify_chain(&events, None).unwrap();
    assert_eq!(Some(head.clone()), sink.head());
    // A new sink continuing from the recorded head extends the same chain.
    let seen3: Arc<Mutex<Vec<AuditEvent>>> = Arc::default();
    let seen4 = seen3.clone();
    let next = CallbackAuditSink::new(move |e: &[AuditEvent]| {
        seen4.lock().unwrap().extend_from_slice(e);
        Ok(())
    })
    .with_head(head);
    block_on(next.append(&[event_at(t0, 4)])).unwrap();
    let mut all = events;
    all.extend(seen3.lock().unwrap().iter().cloned());
    assert_eq!(verify_chain(&all, None).unwrap().position, 4);
    assert!(block_on(next.read()).is_err());
}

#[test]
fn audit_action_vocabulary_is_stable() {
    let names: Vec<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
    for required in [
        "backup.created",
        "backup.failed",
        "backup.verified",
        "backup.verify_failed",
        "backup.restored",
        "backup.restore_failed",
        "backup.deleted",
        "backup.pruned",
        "authorization.denied",
        "storage.configured",
        "key.rotated",
        "member.role_changed",
        "audit.exported",
        "audit.retention_applied",
    ] {
        assert!(names.contains(&required), "{required}");
        assert_eq!(required.parse::<AuditAction>().unwrap().as_str(), required);
    }
    let unique: std::collections::HashSet<&&str> = names.iter().collect();
    assert_eq!(unique.len(), names.len());
}

#[test]
fn concurrent_appends_keep_one_valid_chain() {
    let dir = TempDir::new("concurrent");
    let path = dir.0.join("audit.jsonl");
    let sink = Arc::new(JsonlAuditSink::open(&path, FsyncPolicy::PerBatch).unwrap());
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let sink = sink.clone();
            std::thread::spawn(move || {
                for b in 0..25 {
                    let batch: Vec<AuditEvent> = (0..4)
                        .map(|i| event_at(base_time(), t * 1000 + b * 10 + i))
                        .collect();
                    block_on(sink.append(&batch)).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let trail = read_jsonl(&path).unwrap();
    assert_eq!(trail.events.len(), 400);
    assert_eq!(trail.verify().unwrap(), sink.head().unwrap());
    // Batches are never interleaved: each batch's four events are contiguous.
    for chunk in trail.events.chunks(4) {
        let ids: Vec<usize> = chunk
            .iter()
            .map(|e| e.resource.id.trim_start_matches("bk_").parse().unwrap())
            .collect();
        assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "{ids:?}");
    }
}
