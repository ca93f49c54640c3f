//! Shared conformance suite for [`FirestoreSource`] + [`FirestoreTarget`] implementations.
//!
//! The in-memory database and the gRPC connector (against the in-process Firestore server)
//! must pass the same checks: key order, scopes, resumable ranges, point-in-time reads,
//! collection listing, partitioning, counts, conflict modes and exact value round trips.
//! Everything is seeded through the target, so the suite needs an **empty** database.
//! Runtime-agnostic (only `futures`); each check panics with a message naming what differed.
//!
//! ```text
//! let db = MyFirestore::new(...);          // empty
//! firekeep_core::source::conformance::run_all(&db).await;
//! ```

use super::{ConflictMode, FirestoreSource, FirestoreTarget, NameRange, Scope, WriteOutcome};
use crate::model::{DatabaseId, Document, DocumentPath, GeoPoint, Timestamp, Value};
use futures::TryStreamExt;
use std::collections::BTreeMap;
use std::ops::Bound;

/// Paths seeded by the suite. They exercise segment-wise order (`a` < `a-` although
/// `"a/"` > `"a-"` as strings, `b/10` < `b/9`), three subcollection levels, a parent that
/// exists only through its subcollection (`a/ghost`), and non-ASCII ids.
pub const SEED_PATHS: &[&str] = &[
    "a/a1",
    "a/a2",
    "a/a1/sub/s1",
    "a/a1/sub/s1/deep/d1",
    "a/a1/sub/s1/deep/d1/deeper/e1",
    "a/ghost/sub/g1",
    "a-/x",
    "aé/y",
    "b/10",
    "b/9",
    "b/10/sub/s2",
    "c/c1",
    "types/all",
];

/// One field of every Firestore value type with the edge cases a backup must keep.
/// Timestamps are microsecond-precise: Firestore rounds written timestamps to microseconds.
pub fn fidelity_fields(db: &DatabaseId) -> BTreeMap<String, Value> {
    let ts = |s: i64, n: u32| Value::Timestamp(Timestamp::new(s, n).expect("in range"));
    let mut deep = Value::String("bottom".into());
    for level in (0..crate::model::MAX_VALUE_NESTING).rev() {
        // Arrays may not hold arrays directly: alternate maps and arrays of maps.
        deep = if level % 2 == 1 {
            Value::Array(vec![deep])
        } else {
            Value::Map(BTreeMap::from([(format!("l{level}"), deep)]))
        };
    }
    let entries = vec![
        ("null", Value::Null),
        ("true", Value::Boolean(true)),
        ("false", Value::Boolean(false)),
        ("int_min", Value::Integer(i64::MIN)),
        ("int_max", Value::Integer(i64::MAX)),
        ("nan", Value::Double(f64::NAN)),
        ("neg_zero", Value::Double(-0.0)),
        ("pos_inf", Value::Double(f64::INFINITY)),
        ("neg_inf", Value::Double(f64::NEG_INFINITY)),
        ("subnormal", Value::Double(f64::from_bits(1))),
        ("max_double", Value::Double(f64::MAX)),
        ("ts_min", Value::Timestamp(Timestamp::MIN)),
        ("ts_max", ts(Timestamp::MAX.seconds(), 999_999_000)),
        ("ts_micros", ts(1_700_000_000, 123_456_000)),
        ("ts_pre_epoch", ts(-1, 999_999_000)),
        ("string_nul", Value::String("a\0b".into())),
        ("string_astral", Value::String("𝄞 😀 ü 中文".into())),
        ("string_empty", Value::String(String::new())),
        ("bytes", Value::Bytes((0..=255u8).collect())),
        ("bytes_empty", Value::Bytes(Vec::new())),
        (
            "reference",
            Value::Reference(db.document_name(&DocumentPath::parse("a/a1").expect("valid"))),
        ),
        (
            "geo",
            Value::GeoPoint(GeoPoint {
                latitude: -90.0,
                longitude: 179.999_999_9,
            }),
        ),
        ("array_empty", Value::Array(Vec::new())),
        ("map_empty", Value::Map(BTreeMap::new())),
        (
            "array_mixed",
            Value::Array(vec![
                Value::Integer(1),
                Value::Double(1.0),
                Value::String("1".into()),
                Value::Null,
                Value::Map(BTreeMap::from([("k".to_string(), Value::Boolean(false))])),
            ]),
        ),
        ("deep", deep),
        ("field.with.dots", Value::Integer(1)),
        ("ünïcødé key", Value::Integer(2)),
    ];
    entries
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

fn path(p: &str) -> DocumentPath {
    DocumentPath::parse(p).expect("suite paths are valid")
}

fn doc(db: &DatabaseId, p: &str, fields: BTreeMap<String, Value>) -> Document {
    Document::new(db.document_name(&path(p)), fields)
}

fn numbered(n: i64) -> BTreeMap<String, Value> {
    BTreeMap::from([("n".to_string(), Value::Integer(n))])
}

/// The seeded documents, in seeding order.
pub fn seed_documents(db: &DatabaseId) -> Vec<Document> {
    SEED_PATHS
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if *p == "types/all" {
                doc(db, p, fidelity_fields(db))
            } else {
                doc(db, p, numbered(i as i64))
            }
        })
        .collect()
}

async fn read<S: FirestoreSource + ?Sized>(
    src: &S,
    scope: &Scope,
    range: NameRange,
    rt: Timestamp,
) -> Vec<Document> {
    src.stream_documents(scope, range, rt)
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("stream_documents({scope:?}) failed: {e}"))
}

fn paths(docs: &[Document]) -> Vec<DocumentPath> {
    docs.iter()
        .map(|d| d.path().expect("valid document name").1)
        .collect()
}

fn sorted(ps: impl IntoIterator<Item = DocumentPath>) -> Vec<DocumentPath> {
    let mut v: Vec<_> = ps.into_iter().collect();
    v.sort();
    v
}

/// Runs every check against an empty database.
pub async fn run_all<T>(db: &T)
where
    T: FirestoreSource + FirestoreTarget + ?Sized,
{
    let id = FirestoreSource::database(db).clone();
    let seed = seed_documents(&id);
    let results = db
        .write_batch(seed.clone(), ConflictMode::Overwrite)
        .await
        .unwrap_or_else(|e| panic!("seeding write_batch failed: {e}"));
    assert_eq!(results.len(), seed.len(), "one write result per document");
    for (r, d) in results.iter().zip(&seed) {
        assert_eq!(r.name, d.name, "write results come back in input order");
        assert_eq!(r.outcome, WriteOutcome::Written, "seeding {}", d.name);
    }
    let t1 = db.snapshot_time().await.expect("snapshot_time");
    let all_paths = sorted(SEED_PATHS.iter().map(|p| path(p)));

    check_order_and_values(db, &seed, &all_paths, t1).await;
    check_scopes(db, &all_paths, t1).await;
    check_ranges(db, &all_paths, t1).await;
    check_listing(db, t1).await;
    check_partitions(db, &all_paths, t1).await;
    check_point_in_time(db, &all_paths, t1).await;
    check_conflict_modes(db).await;
}

/// Whole database in key order, with exactly the written fields and both times set.
pub async fn check_order_and_values<T>(
    db: &T,
    seed: &[Document],
    all_paths: &[DocumentPath],
    t1: Timestamp,
) where
    T: FirestoreSource + FirestoreTarget + ?Sized,
{
    let docs = read(db, &Scope::database(), NameRange::all(), t1).await;
    assert_eq!(
        paths(&docs),
        all_paths,
        "whole database in segment-wise key order"
    );
    for d in &docs {
        let want = seed.iter().find(|s| s.name == d.name).expect("seeded");
        assert!(
            d.fields == want.fields,
            "fields of {} differ after a round trip:\n got  {:?}\n want {:?}",
            d.name,
            d.fields,
            want.fields
        );
        assert!(
            d.create_time.is_some() && d.update_time.is_some(),
            "{} lacks create/update time",
            d.name
        );
    }
}

/// Chosen collections with and without subcollections, and exclusions.
pub async fn check_scopes<T>(db: &T, all_paths: &[DocumentPath], t1: Timestamp)
where
    T: FirestoreSource + FirestoreTarget + ?Sized,
{
    let scopes = vec![
        Scope::collections(["a"], true),
        Scope::collections(["a"], false),
        Scope::collections(["b", "a-"], true),
        Scope::collections(["c", "b"], false),
        Scope::collections(["nope"], true),
        Scope {
            exclude: vec!["a".into(), "types".into()],
            ..Scope::database()
        },
        Scope {
            exclude: vec!["b".into()],
            ..Scope::default()
        },
        Scope::default(),
    ];
    for scope in scopes {
        let want: Vec<_> = all_paths
            .iter()
            .filter(|p| scope.contains(p))
            .cloned()
            .collect();
        let got = paths(&read(db, &scope, NameRange::all(), t1).await);
        assert_eq!(got, want, "documents of {scope:?}");
        if let Some(n) = db.count_documents(&scope, t1).await.expect("count") {
            assert_eq!(n as usize, want.len(), "count_documents({scope:?})");
        }
    }
    // Depth-0 read of `a` must not list `a/ghost`, which exists only through `sub`.
    let top = paths(&read(db, &Scope::collections(["a"], false), NameRange::all(), t1).await);
    assert!(
        !top.contains(&path("a/ghost")),
        "missing parent listed as a document"
    );
}

/// `NameRange` bounds, including resuming after the last document read (`Excluded`).
pub async fn check_ranges<T>(db: &T, all_paths: &[DocumentPath], t1: Timestamp)
where
    T: FirestoreSource + FirestoreTarget + ?Sized,
{
    let scopes = [
        Scope::database(),
        Scope::collections(["a"], true),
        Scope::collections(["a", "b"], false),
    ];
    for scope in scopes {
        let want: Vec<_> = all_paths
            .iter()
            .filter(|p| scope.contains(p))
            .cloned()
            .collect();
        // Resume after each position in turn: the suffix, nothing lost or repeated.
        for (k, last) in want.iter().enumerate() {
            let range = NameRange {
                start: Bound::Excluded(last.clone()),
                end: Bound::Unbounded,
            };
            let got = paths(&read(db, &scope, range, t1).await);
            assert_eq!(got, want[k + 1..], "{scope:?} resumed after {last}");
        }
    }
    // Bounds that are not documents of the scope (a deep path bounding a depth-0 read).
    let range = NameRange {
        start: Bound::Excluded(path("a/a1/sub/s1")),
        end: Bound::Included(path("b/10/sub/s2")),
    };
    for scope in [Scope::database(), Scope::collections(["a", "b"], false)] {
        let want: Vec<_> = all_paths
            .iter()
            .filter(|p| scope.contains(p) && range.contains(p))
            .cloned()
            .collect();
        let got = paths(&read(db, &scope, range.clone(), t1).await);
        assert_eq!(got, want, "{scope:?} within {range:?}");
    }
    let range = NameRange {
        start: Bound::Included(path("a-/x")),
        end: Bound::Excluded(path("b/9")),
    };
    let got = paths(&read(db, &Scope::database(), range.clone(), t1).await);
    let want: Vec<_> = all_paths
        .iter()
        .filter(|p| range.contains(p))
        .cloned()
        .collect();
    assert_eq!(got, want, "included start, excluded end");
}

/// Collection ids at the root, under a document, and under a missing parent.
pub async fn check_listing<T>(db: &T, t1: Timestamp)
where
    T: FirestoreSource + FirestoreTarget + ?Sized,
{
    let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let root = db.list_collection_ids(None, t1).await.expect("list root");
    assert_eq!(
        root,
        ids(&["a", "a-", "aé", "b", "c", "types"]),
        "root collection ids"
    );
    for (parent, want) in [
        ("a/a1", ids(&["sub"])),
        ("a/a1/sub/s1", ids(&["deep"])),
        ("a/ghost", ids(&["sub"])),
        ("c/c1", ids(&[])),
    ] {
        let got = db
            .list_collection_ids(Some(&path(parent)), t1)
            .await
            .expect("list under a document");
        assert_eq!(got, want, "collection ids under {parent}");
    }
}

/// Partitions are disjoint, ordered, and together cover exactly the database.
pub async fn check_partitions<T>(db: &T, all_paths: &[DocumentPath], t1: Timestamp)
where
    T: FirestoreSource + FirestoreTarget + ?Sized,
{
    for max in [1, 2, 4, 64] {
        let parts = db
            .partition(&Scope::database(), t1, max)
            .await
            .expect("partition");
        assert!(
            !parts.is_empty() && parts.len() <= max.max(1),
            "{} partitions for max {max}",
            parts.len()
        );
        let mut joined = Vec::new();
        for r in parts {
            joined.extend(paths(&read(db, &Scope::database(), r, t1).await));
        }
        assert_eq!(
            joined, all_paths,
            "partitions (max {max}) cover the database once, in order"
        );
        let parts = db
            .partition(&Scope::collections(["a"], true), t1, max)
            .await
            .expect("partition of a scope");
        let mut joined = Vec::new();
        let scope = Scope::collections(["a"], true);
        for r in parts {
            joined.extend(paths(&read(db, &scope, r, t1).await));
        }
        let want: Vec<_> = all_paths
            .iter()
            .filter(|p| scope.contains(p))
            .cloned()
            .collect();
        assert_eq!(joined, want, "partitions of {scope:?} (max {max})");
    }
}

/// A read at an earlier read time sees the earlier state (documents, fields, collections).
pub async fn check_point_in_time<T>(db: &T, all_paths: &[DocumentPath], t1: Timestamp)
where
    T: FirestoreSource + FirestoreTarget + ?Sized,
{
    let id = FirestoreSource::database(db).clone();
    let r = db
        .write_batch(
            vec![
                doc(&id, "a/a2", numbered(999)),
                doc(&id, "later/l1", numbered(1)),
            ],
            ConflictMode::Overwrite,
        )
        .await
        .expect("write after t1");
    assert!(
        r.iter().all(|r| r.outcome == WriteOutcome::Written),
        "{r:?}"
    );
    let t2 = db.snapshot_time().await.expect("snapshot_time");
    assert!(t2 > t1, "snapshot times move forward");

    let old = read(db, &Scope::database(), NameRange::all(), t1).await;
    assert_eq!(paths(&old), all_paths, "read at t1 ignores later writes");
    let a2 = old
        .iter()
        .find(|d| d.name.ends_with("/a/a2"))
        .expect("a/a2");
    assert_eq!(a2.fields, numbered(1), "a/a2 as of t1");
    let new = read(db, &Scope::database(), NameRange::all(), t2).await;
    assert_eq!(
        new.len(),
        all_paths.len() + 1,
        "read at t2 sees the new document"
    );
    let a2 = new
        .iter()
        .find(|d| d.name.ends_with("/a/a2"))
        .expect("a/a2");
    assert_eq!(a2.fields, numbered(999), "a/a2 as of t2");
    let root = db.list_collection_ids(None, t1).await.expect("list at t1");
    assert!(
        !root.contains(&"later".to_string()),
        "collection listing at t1: {root:?}"
    );
    let root = db.list_collection_ids(None, t2).await.expect("list at t2");
    assert!(
        root.contains(&"later".to_string()),
        "collection listing at t2: {root:?}"
    );
}

/// Overwrite replaces, skip-existing skips, fail-if-exists fails; new documents are
/// written in every mode.
pub async fn check_conflict_modes<T>(db: &T)
where
    T: FirestoreSource + FirestoreTarget + ?Sized,
{
    let id = FirestoreSource::database(db).clone();
    let r = db
        .write_batch(
            vec![
                doc(&id, "a/a1", numbered(-1)),
                doc(&id, "modes/skip", numbered(1)),
            ],
            ConflictMode::SkipExisting,
        )
        .await
        .expect("skip-existing batch");
    assert_eq!(r[0].outcome, WriteOutcome::Skipped, "existing doc skipped");
    assert_eq!(r[1].outcome, WriteOutcome::Written, "new doc written");

    let r = db
        .write_batch(
            vec![
                doc(&id, "a/a1", numbered(-2)),
                doc(&id, "modes/fail", numbered(2)),
            ],
            ConflictMode::FailIfExists,
        )
        .await
        .expect("fail-if-exists batch");
    match &r[0].outcome {
        WriteOutcome::Failed { code, .. } => assert_eq!(code, "ALREADY_EXISTS"),
        other => panic!("fail-if-exists on an existing doc gave {other:?}"),
    }
    assert_eq!(r[1].outcome, WriteOutcome::Written, "new doc written");

    let t = db.snapshot_time().await.expect("snapshot_time");
    let a = read(db, &Scope::collections(["a"], false), NameRange::all(), t).await;
    assert_eq!(
        a[0].fields,
        numbered(0),
        "a/a1 untouched by skip/fail modes"
    );

    let r = db
        .write_batch(
            vec![doc(&id, "a/a1", numbered(-3))],
            ConflictMode::Overwrite,
        )
        .await
        .expect("overwrite batch");
    assert_eq!(r[0].outcome, WriteOutcome::Written);
    let t = db.snapshot_time().await.expect("snapshot_time");
    let a = read(db, &Scope::collections(["a"], false), NameRange::all(), t).await;
    assert_eq!(a[0].fields, numbered(-3), "overwrite replaced a/a1");
    let modes = read(
        db,
        &Scope::collections(["modes"], false),
        NameRange::all(),
        t,
    )
    .await;
    assert_eq!(
        modes.len(),
        2,
        "new documents written in skip and fail modes"
    );
}
