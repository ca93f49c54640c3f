//! Versioned in-memory storage: per database a BTreeMap from document key (path segments,
//! which order exactly as Firestore orders keys) to the document's versions.

use crate::convert::{timestamp_from_proto, timestamp_to_proto};
use crate::values::{self, Fields};
use firekeep_core::model::{DocumentPath, MAX_VALUE_NESTING, Timestamp};
use googleapis_tonic_google_firestore_v1::google::firestore::v1 as pb;
use pb::document_transform::field_transform::{ServerValue, TransformType};
use pb::value::ValueType;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, Ordering as AtomicOrdering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use tonic::Status;

/// A document key: the segments of its path below `.../documents`. `Vec<String>` compares
/// segment by segment and strings by bytes, which is Firestore's key order.
pub(crate) type Key = Vec<String>;

/// Largest document Firestore stores, in bytes of its documented storage size.
pub(crate) const MAX_DOCUMENT_SIZE: usize = 1024 * 1024;

/// One version of a document; `doc: None` records a deletion.
pub(crate) struct Version {
    pub(crate) time: Timestamp,
    pub(crate) doc: Option<Arc<pb::Document>>,
}

/// One database's documents.
#[derive(Default)]
pub(crate) struct Db {
    pub(crate) docs: BTreeMap<Key, Vec<Version>>,
}

impl Db {
    /// The document at `key` as of `read_time`.
    pub(crate) fn get(&self, key: &Key, read_time: Timestamp) -> Option<&Arc<pb::Document>> {
        version_at(self.docs.get(key)?, read_time)
    }
}

/// The live document among `versions` as of `read_time`.
pub(crate) fn version_at(versions: &[Version], read_time: Timestamp) -> Option<&Arc<pb::Document>> {
    versions
        .iter()
        .rev()
        .find(|v| v.time <= read_time)
        .and_then(|v| v.doc.as_ref())
}

/// A transaction: read-only ones read at a fixed time.
pub(crate) struct Txn {
    pub(crate) database: String,
    pub(crate) read_time: Option<Timestamp>,
}

/// Everything the server holds.
#[derive(Default)]
pub(crate) struct Data {
    /// Keyed by `projects/{p}/databases/{d}`.
    pub(crate) dbs: HashMap<String, Db>,
    pub(crate) txns: HashMap<Vec<u8>, Txn>,
    pub(crate) next_txn: u64,
}

/// Server options that change semantics.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Options {
    pub(crate) truncate_timestamps: bool,
    pub(crate) pitr: bool,
    pub(crate) max_read_age_secs: i64,
}

/// Shared state: the data under a lock, and the commit clock.
pub(crate) struct Store {
    data: RwLock<Data>,
    /// Last time handed out (microseconds since the epoch); commits take strictly later times.
    clock_micros: AtomicI64,
    pub(crate) options: Options,
}

fn micros_of(t: Timestamp) -> i64 {
    t.seconds() * 1_000_000 + i64::from(t.nanos() / 1000)
}

fn from_micros(m: i64) -> Timestamp {
    Timestamp::new(
        m.div_euclid(1_000_000),
        (m.rem_euclid(1_000_000) * 1000) as u32,
    )
    .expect("clock within Firestore's range")
}

impl Store {
    pub(crate) fn new(options: Options) -> Self {
        Store {
            data: RwLock::new(Data::default()),
            clock_micros: AtomicI64::new(0),
            options,
        }
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Data> {
        self.data.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, Data> {
        self.data.write().unwrap_or_else(|e| e.into_inner())
    }

    /// A consistent read time for "now": no commit can later take a time at or before it.
    pub(crate) fn now(&self) -> Timestamp {
        let now = micros_of(Timestamp::now());
        let prev = self.clock_micros.fetch_max(now, AtomicOrdering::SeqCst);
        from_micros(prev.max(now))
    }

    /// A new commit time: microsecond precision like Firestore's, strictly increasing.
    /// Call with the write lock held so commits apply in time order.
    pub(crate) fn next_commit_time(&self) -> Timestamp {
        let now = micros_of(Timestamp::now());
        let prev = self
            .clock_micros
            .fetch_update(AtomicOrdering::SeqCst, AtomicOrdering::SeqCst, |c| {
                Some(now.max(c + 1))
            })
            .expect("closure always returns Some");
        from_micros(now.max(prev + 1))
    }

    /// Checks a requested read time as Firestore does: not in the future, microsecond
    /// precision, within the version retention window.
    pub(crate) fn check_read_time(&self, t: &prost_types::Timestamp) -> Result<Timestamp, Status> {
        let rt = timestamp_from_proto(t).map_err(|e| Status::invalid_argument(e.to_string()))?;
        let now = self.now();
        if rt > now {
            return Err(Status::invalid_argument(format!(
                "read_time {rt} is in the future (server time is {now}); use a past time or none"
            )));
        }
        if rt.nanos() % 1000 != 0 {
            return Err(Status::invalid_argument(format!(
                "read_time {rt} must be a microsecond-precision timestamp"
            )));
        }
        let age = now.seconds() - rt.seconds();
        let o = self.options;
        let within_hour = age <= o.max_read_age_secs;
        let pitr_ok = o.pitr && age <= 7 * 86_400 && rt.nanos() == 0 && rt.seconds() % 60 == 0;
        if !within_hour && !pitr_ok {
            return Err(Status::failed_precondition(format!(
                "read_time {rt} is too old: reads may go back one hour, or seven days in whole \
                 minutes when point-in-time recovery is enabled"
            )));
        }
        Ok(rt)
    }
}

/// Splits `projects/{p}/databases/{d}[/rest]` into the database name and the rest.
pub(crate) fn split_database(name: &str) -> Result<(String, &str), Status> {
    let bad = || {
        Status::invalid_argument(format!(
            "{name:?} is not a resource name like projects/P/databases/D/documents/..."
        ))
    };
    let rest = name.strip_prefix("projects/").ok_or_else(bad)?;
    let (project, rest) = rest.split_once('/').ok_or_else(bad)?;
    let rest = rest.strip_prefix("databases/").ok_or_else(bad)?;
    let (database, rest) = match rest.split_once('/') {
        Some((d, r)) => (d, r),
        None => (rest, ""),
    };
    if project.is_empty() || database.is_empty() {
        return Err(bad());
    }
    Ok((format!("projects/{project}/databases/{database}"), rest))
}

/// Parses a database name (`projects/{p}/databases/{d}`).
pub(crate) fn parse_database(name: &str) -> Result<String, Status> {
    let (db, rest) = split_database(name)?;
    if !rest.is_empty() {
        return Err(Status::invalid_argument(format!(
            "{name:?} is not a database name like projects/P/databases/D"
        )));
    }
    Ok(db)
}

/// Parses a parent: the documents root or a document; returns the database and the
/// parent document's key (empty for the root).
pub(crate) fn parse_parent(parent: &str) -> Result<(String, Key), Status> {
    let (db, rest) = split_database(parent)?;
    if rest == "documents" {
        return Ok((db, Vec::new()));
    }
    let Some(path) = rest.strip_prefix("documents/") else {
        return Err(Status::invalid_argument(format!(
            "parent {parent:?} must be projects/P/databases/D/documents or a document under it"
        )));
    };
    let p = DocumentPath::parse(path).map_err(|e| Status::invalid_argument(e.to_string()))?;
    Ok((db, p.segments().to_vec()))
}

/// Parses a full document name.
pub(crate) fn parse_document_name(name: &str) -> Result<(String, Key), Status> {
    let (db, rest) = split_database(name)?;
    let Some(path) = rest.strip_prefix("documents/") else {
        return Err(Status::invalid_argument(format!(
            "{name:?} is not a document name like projects/P/databases/D/documents/C/ID"
        )));
    };
    let p = DocumentPath::parse(path).map_err(|e| Status::invalid_argument(e.to_string()))?;
    Ok((db, p.segments().to_vec()))
}

/// The smallest key above every key that starts with `prefix`.
pub(crate) fn prefix_end(prefix: &[String]) -> Key {
    let mut k = prefix.to_vec();
    if let Some(last) = k.last_mut() {
        last.push('\0');
    }
    k
}

/// The outcome of applying one write to one document.
pub(crate) struct Applied {
    pub(crate) key: Key,
    /// The document afterwards (`None`: absent).
    pub(crate) after: Option<Arc<pb::Document>>,
    /// Whether anything changed (unchanged writes keep the old update time).
    pub(crate) changed: bool,
    pub(crate) result: pb::WriteResult,
}

fn timestamp_value(t: Timestamp) -> pb::Value {
    pb::Value {
        value_type: Some(ValueType::TimestampValue(timestamp_to_proto(t))),
    }
}

fn truncate_timestamps(v: &mut pb::Value) {
    match &mut v.value_type {
        Some(ValueType::TimestampValue(t)) => t.nanos -= t.nanos.rem_euclid(1000),
        Some(ValueType::ArrayValue(a)) => a.values.iter_mut().for_each(truncate_timestamps),
        Some(ValueType::MapValue(m)) => m.fields.values_mut().for_each(truncate_timestamps),
        _ => {}
    }
}

fn check_fields(fields: &Fields, name: &str) -> Result<(), Status> {
    for (k, v) in fields {
        if k.is_empty() || (k.len() >= 4 && k.starts_with("__") && k.ends_with("__")) {
            return Err(Status::invalid_argument(format!(
                "document {name}: field name {k:?} is empty or reserved (__.*__); rename it"
            )));
        }
        if values::depth(v) > MAX_VALUE_NESTING {
            return Err(Status::invalid_argument(format!(
                "document {name}: field {k:?} nests arrays/maps deeper than {MAX_VALUE_NESTING} levels"
            )));
        }
        if v.value_type.is_none() {
            return Err(Status::invalid_argument(format!(
                "document {name}: field {k:?} has no value"
            )));
        }
        check_nested(v, name)?;
    }
    Ok(())
}

fn check_nested(v: &pb::Value, name: &str) -> Result<(), Status> {
    match &v.value_type {
        Some(ValueType::MapValue(m)) => check_fields(&m.fields, name),
        Some(ValueType::ArrayValue(a)) => {
            for x in &a.values {
                if matches!(x.value_type, Some(ValueType::ArrayValue(_))) {
                    return Err(Status::invalid_argument(format!(
                        "document {name}: an array may not directly contain another array"
                    )));
                }
                check_nested(x, name)?;
            }
            Ok(())
        }
        Some(ValueType::TimestampValue(t)) => timestamp_from_proto(t)
            .map(|_| ())
            .map_err(|e| Status::invalid_argument(format!("document {name}: {e}"))),
        None => Err(Status::invalid_argument(format!(
            "document {name}: a value is unset"
        ))),
        Some(
            ValueType::FieldReferenceValue(_)
            | ValueType::VariableReferenceValue(_)
            | ValueType::FunctionValue(_)
            | ValueType::PipelineValue(_),
        ) => Err(Status::invalid_argument(format!(
            "document {name}: pipeline expressions cannot be stored"
        ))),
        _ => Ok(()),
    }
}

fn numeric(v: &pb::Value) -> Option<(Option<i64>, f64)> {
    match v.value_type {
        Some(ValueType::IntegerValue(i)) => Some((Some(i), i as f64)),
        Some(ValueType::DoubleValue(d)) => Some((None, d)),
        _ => None,
    }
}

fn apply_transform(
    fields: &mut Fields,
    t: &pb::document_transform::FieldTransform,
    commit_time: Timestamp,
) -> Result<pb::Value, Status> {
    let path = values::parse_field_path(&t.field_path).map_err(Status::invalid_argument)?;
    let current = values::get_path(fields, &path).cloned();
    let new = match &t.transform_type {
        Some(TransformType::SetToServerValue(sv)) if *sv == ServerValue::RequestTime as i32 => {
            timestamp_value(commit_time)
        }
        Some(TransformType::Increment(by)) => {
            match (current.as_ref().and_then(numeric), numeric(by)) {
                (Some((Some(a), _)), Some((Some(b), _))) => pb::Value {
                    value_type: Some(ValueType::IntegerValue(a.saturating_add(b))),
                },
                (Some((_, a)), Some((_, b))) => pb::Value {
                    value_type: Some(ValueType::DoubleValue(a + b)),
                },
                (None, Some(_)) => by.clone(),
                _ => return Err(Status::invalid_argument("increment needs a number")),
            }
        }
        Some(TransformType::Maximum(v)) | Some(TransformType::Minimum(v)) => {
            let want_max = matches!(t.transform_type, Some(TransformType::Maximum(_)));
            if numeric(v).is_none() {
                return Err(Status::invalid_argument("maximum/minimum need a number"));
            }
            match current {
                Some(c) if numeric(&c).is_some() => {
                    let o = values::compare(v, &c);
                    let take_new = if want_max { o.is_gt() } else { o.is_lt() };
                    if take_new { v.clone() } else { c }
                }
                _ => v.clone(),
            }
        }
        Some(TransformType::AppendMissingElements(add)) => {
            let mut items = match current {
                Some(pb::Value {
                    value_type: Some(ValueType::ArrayValue(a)),
                }) => a.values,
                _ => Vec::new(),
            };
            for x in &add.values {
                if !items
                    .iter()
                    .any(|y| values::compare(x, y).is_eq() && values::same_class(x, y))
                {
                    items.push(x.clone());
                }
            }
            pb::Value {
                value_type: Some(ValueType::ArrayValue(pb::ArrayValue { values: items })),
            }
        }
        Some(TransformType::RemoveAllFromArray(rm)) => {
            let mut items = match current {
                Some(pb::Value {
                    value_type: Some(ValueType::ArrayValue(a)),
                }) => a.values,
                _ => Vec::new(),
            };
            items.retain(|y| !rm.values.iter().any(|x| values::compare(x, y).is_eq()));
            pb::Value {
                value_type: Some(ValueType::ArrayValue(pb::ArrayValue { values: items })),
            }
        }
        _ => return Err(Status::invalid_argument("unsupported field transform")),
    };
    values::set_path(fields, &path, new.clone());
    Ok(new)
}

/// Applies one write to the current state of its document (`current`), as of `commit_time`.
pub(crate) fn apply_write(
    database: &str,
    current: Option<&Arc<pb::Document>>,
    w: &pb::Write,
    commit_time: Timestamp,
    options: &Options,
) -> Result<Applied, Status> {
    use pb::precondition::ConditionType;
    use pb::write::Operation;
    let name = match &w.operation {
        Some(Operation::Update(d)) => d.name.as_str(),
        Some(Operation::Delete(n)) => n.as_str(),
        Some(Operation::Transform(t)) => t.document.as_str(),
        None => return Err(Status::invalid_argument("a write has no operation")),
    };
    let (db, key) = parse_document_name(name)?;
    if db != database {
        return Err(Status::invalid_argument(format!(
            "document {name} is not in database {database}"
        )));
    }
    match w.current_document.as_ref().and_then(|p| p.condition_type) {
        Some(ConditionType::Exists(true)) if current.is_none() => {
            return Err(Status::not_found(format!("No document to update: {name}")));
        }
        Some(ConditionType::Exists(false)) if current.is_some() => {
            return Err(Status::already_exists(format!(
                "Document already exists: {name}"
            )));
        }
        Some(ConditionType::UpdateTime(t)) => {
            let matches = current
                .and_then(|c| c.update_time)
                .is_some_and(|u| u.seconds == t.seconds && u.nanos == t.nanos);
            if !matches {
                return Err(Status::failed_precondition(format!(
                    "the update_time precondition of {name} does not match the stored document"
                )));
            }
        }
        _ => {}
    }
    let base: Fields = current.map(|c| c.fields.clone()).unwrap_or_default();
    let (mut fields, transforms) = match &w.operation {
        Some(Operation::Delete(_)) => {
            return Ok(Applied {
                key,
                after: None,
                changed: current.is_some(),
                result: pb::WriteResult::default(),
            });
        }
        Some(Operation::Transform(t)) => (base.clone(), &t.field_transforms),
        Some(Operation::Update(doc)) => {
            let mut fields = match &w.update_mask {
                Some(mask) => {
                    let mut f = base.clone();
                    for p in &mask.field_paths {
                        let path = values::parse_field_path(p).map_err(Status::invalid_argument)?;
                        match values::get_path(&doc.fields, &path) {
                            Some(v) => values::set_path(&mut f, &path, v.clone()),
                            None => values::delete_path(&mut f, &path),
                        }
                    }
                    f
                }
                None => doc.fields.clone(),
            };
            if options.truncate_timestamps {
                fields.values_mut().for_each(truncate_timestamps);
            }
            (fields, &w.update_transforms)
        }
        None => unreachable!("checked above"),
    };
    check_fields(&fields, name)?;
    let mut transform_results = Vec::new();
    for t in transforms {
        transform_results.push(apply_transform(&mut fields, t, commit_time)?);
    }
    let rel = &name[name.find("/documents/").map(|i| i + 11).unwrap_or(0)..];
    let size = values::name_size(rel) + values::fields_size(&fields) + 32;
    if size > MAX_DOCUMENT_SIZE {
        return Err(Status::invalid_argument(format!(
            "Document {name} cannot be written because its size ({size} bytes) exceeds the \
             maximum allowed size of {MAX_DOCUMENT_SIZE} bytes"
        )));
    }
    let unchanged = current.is_some_and(|c| values::identical_fields(&c.fields, &fields));
    let commit = timestamp_to_proto(commit_time);
    let after = match current {
        Some(c) if unchanged => c.clone(),
        _ => Arc::new(pb::Document {
            name: name.to_string(),
            fields,
            create_time: Some(current.and_then(|c| c.create_time).unwrap_or(commit)),
            update_time: Some(commit),
        }),
    };
    Ok(Applied {
        key,
        changed: !unchanged,
        result: pb::WriteResult {
            update_time: after.update_time,
            transform_results,
        },
        after: Some(after),
    })
}

/// Records the outcome of applied writes at `commit_time`.
pub(crate) fn record(db: &mut Db, applied: Vec<Applied>, commit_time: Timestamp) {
    for a in applied {
        if !a.changed {
            continue;
        }
        let versions = db.docs.entry(a.key).or_default();
        match versions.last_mut() {
            // Several writes to one document in one commit: the last one wins.
            Some(v) if v.time == commit_time => v.doc = a.after,
            _ => versions.push(Version {
                time: commit_time,
                doc: a.after,
            }),
        }
    }
}
