//! Structured queries: compiled once, then evaluated against the store, either by walking
//! the key-ordered map in chunks (queries ordered by `__name__` only, the connector's case)
//! or by collecting, sorting and cutting (queries ordered by fields).

use crate::store::{self, Db, Key, prefix_end, version_at};
use crate::values::{self, Fields};
use firekeep_core::model::Timestamp;
use googleapis_tonic_google_firestore_v1::google::firestore::v1 as pb;
use pb::structured_query::{Direction, composite_filter, field_filter, filter, unary_filter};
use pb::value::ValueType;
use std::cmp::Ordering;
use std::ops::Bound;
use std::sync::Arc;
use tonic::Status;

/// A field a query orders or filters by.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum FieldRef {
    /// `__name__`: the document's key.
    Name,
    Path(Vec<String>),
}

impl FieldRef {
    fn parse(f: Option<&pb::structured_query::FieldReference>) -> Result<Self, Status> {
        let f = f.ok_or_else(|| Status::invalid_argument("a field reference is missing"))?;
        if f.field_path == "__name__" {
            return Ok(FieldRef::Name);
        }
        Ok(FieldRef::Path(
            values::parse_field_path(&f.field_path).map_err(Status::invalid_argument)?,
        ))
    }

    fn value<'a>(&self, doc: &'a pb::Document, name: &'a pb::Value) -> Option<&'a pb::Value> {
        match self {
            FieldRef::Name => Some(name),
            FieldRef::Path(p) => values::get_path(&doc.fields, p),
        }
    }
}

#[derive(Debug)]
enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Field(FieldRef, field_filter::Operator, pb::Value),
    Unary(FieldRef, unary_filter::Operator),
}

fn compile_filter(
    f: &pb::structured_query::Filter,
    ineq: &mut Vec<FieldRef>,
) -> Result<Cond, Status> {
    match &f.filter_type {
        Some(filter::FilterType::CompositeFilter(c)) => {
            let parts = c
                .filters
                .iter()
                .map(|x| compile_filter(x, ineq))
                .collect::<Result<Vec<_>, _>>()?;
            match composite_filter::Operator::try_from(c.op) {
                Ok(composite_filter::Operator::Or) => Ok(Cond::Or(parts)),
                _ => Ok(Cond::And(parts)),
            }
        }
        Some(filter::FilterType::FieldFilter(ff)) => {
            let field = FieldRef::parse(ff.field.as_ref())?;
            let op = field_filter::Operator::try_from(ff.op)
                .ok()
                .filter(|o| *o != field_filter::Operator::Unspecified)
                .ok_or_else(|| Status::invalid_argument("a field filter has no operator"))?;
            let value = ff
                .value
                .clone()
                .ok_or_else(|| Status::invalid_argument("a field filter has no value"))?;
            use field_filter::Operator as O;
            if matches!(
                op,
                O::LessThan
                    | O::LessThanOrEqual
                    | O::GreaterThan
                    | O::GreaterThanOrEqual
                    | O::NotEqual
                    | O::NotIn
            ) && !ineq.contains(&field)
            {
                ineq.push(field.clone());
            }
            if matches!(op, O::In | O::NotIn | O::ArrayContainsAny)
                && !matches!(value.value_type, Some(ValueType::ArrayValue(_)))
            {
                return Err(Status::invalid_argument(format!(
                    "the {op:?} filter needs an array value"
                )));
            }
            Ok(Cond::Field(field, op, value))
        }
        Some(filter::FilterType::UnaryFilter(u)) => {
            let pb::structured_query::unary_filter::OperandType::Field(f) = u
                .operand_type
                .as_ref()
                .ok_or_else(|| Status::invalid_argument("a unary filter has no field"))?;
            let field = FieldRef::parse(Some(f))?;
            let op = unary_filter::Operator::try_from(u.op)
                .map_err(|_| Status::invalid_argument("a unary filter has no operator"))?;
            if matches!(
                op,
                unary_filter::Operator::IsNotNan | unary_filter::Operator::IsNotNull
            ) && !ineq.contains(&field)
            {
                ineq.push(field.clone());
            }
            Ok(Cond::Unary(field, op))
        }
        None => Ok(Cond::And(Vec::new())),
    }
}

fn array_items(v: &pb::Value) -> &[pb::Value] {
    match &v.value_type {
        Some(ValueType::ArrayValue(a)) => &a.values,
        _ => &[],
    }
}

fn eq(a: &pb::Value, b: &pb::Value) -> bool {
    values::compare(a, b) == Ordering::Equal
}

fn is_null(v: &pb::Value) -> bool {
    matches!(v.value_type, Some(ValueType::NullValue(_)))
}

impl Cond {
    fn matches(&self, doc: &pb::Document, name: &pb::Value) -> bool {
        use field_filter::Operator as O;
        match self {
            Cond::And(c) => c.iter().all(|x| x.matches(doc, name)),
            Cond::Or(c) => c.iter().any(|x| x.matches(doc, name)),
            Cond::Field(f, op, want) => {
                let Some(v) = f.value(doc, name) else {
                    return false;
                };
                let range = |ok: fn(Ordering) -> bool| {
                    values::same_class(v, want)
                        && !values::is_nan(v)
                        && !values::is_nan(want)
                        && ok(values::compare(v, want))
                };
                match op {
                    O::Equal => eq(v, want),
                    O::NotEqual => !is_null(v) && !eq(v, want),
                    O::LessThan => range(Ordering::is_lt),
                    O::LessThanOrEqual => range(Ordering::is_le),
                    O::GreaterThan => range(Ordering::is_gt),
                    O::GreaterThanOrEqual => range(Ordering::is_ge),
                    O::ArrayContains => array_items(v).iter().any(|x| eq(x, want)),
                    O::In => array_items(want).iter().any(|x| eq(v, x)),
                    O::NotIn => !is_null(v) && !array_items(want).iter().any(|x| eq(v, x)),
                    O::ArrayContainsAny => array_items(v)
                        .iter()
                        .any(|x| array_items(want).iter().any(|y| eq(x, y))),
                    O::Unspecified => false,
                }
            }
            Cond::Unary(f, op) => {
                let v = f.value(doc, name);
                use unary_filter::Operator as U;
                match op {
                    U::IsNan => v.is_some_and(values::is_nan),
                    U::IsNull => v.is_some_and(is_null),
                    U::IsNotNan => v.is_some_and(|v| !values::is_nan(v)),
                    U::IsNotNull => v.is_some_and(|v| !is_null(v)),
                    U::Unspecified => false,
                }
            }
        }
    }
}

/// A compiled query.
pub(crate) struct Query {
    pub(crate) database: String,
    parent: Key,
    collection_id: String,
    all_descendants: bool,
    filter: Option<Cond>,
    /// Effective order (explicit, then implicit inequality fields, then `__name__`).
    orders: Vec<(FieldRef, bool)>,
    start_at: Option<pb::Cursor>,
    end_at: Option<pb::Cursor>,
    pub(crate) offset: usize,
    pub(crate) limit: Option<usize>,
    projection: Option<Vec<Vec<String>>>,
}

impl Query {
    /// Validates and compiles a structured query under `parent`.
    pub(crate) fn compile(parent: &str, q: &pb::StructuredQuery) -> Result<Query, Status> {
        let (database, parent) = store::parse_parent(parent)?;
        let [from] = q.from.as_slice() else {
            return Err(Status::invalid_argument(
                "a query must select exactly one collection (from)",
            ));
        };
        if from.collection_id.is_empty() && !from.all_descendants {
            return Err(Status::invalid_argument(
                "a collection id is required unless all_descendants is set",
            ));
        }
        if q.find_nearest.is_some() {
            return Err(Status::unimplemented(
                "find_nearest is not supported by this server",
            ));
        }
        let mut ineq = Vec::new();
        let filter = q
            .r#where
            .as_ref()
            .map(|f| compile_filter(f, &mut ineq))
            .transpose()?;
        let mut orders = Vec::new();
        for o in &q.order_by {
            let desc = o.direction == Direction::Descending as i32;
            orders.push((FieldRef::parse(o.field.as_ref())?, desc));
        }
        if !orders.iter().any(|(f, _)| *f == FieldRef::Name) {
            let last_desc = orders.last().map(|(_, d)| *d).unwrap_or(false);
            let mut implicit: Vec<FieldRef> = ineq
                .into_iter()
                .filter(|f| *f != FieldRef::Name && !orders.iter().any(|(g, _)| g == f))
                .collect();
            implicit.sort_by(|a, b| match (a, b) {
                (FieldRef::Path(x), FieldRef::Path(y)) => x.cmp(y),
                _ => Ordering::Equal,
            });
            orders.extend(implicit.into_iter().map(|f| (f, last_desc)));
            orders.push((FieldRef::Name, last_desc));
        }
        for c in q.start_at.iter().chain(q.end_at.iter()) {
            if c.values.len() > orders.len() {
                return Err(Status::invalid_argument(
                    "a cursor has more values than the query has orderings",
                ));
            }
        }
        if q.offset < 0 {
            return Err(Status::invalid_argument("offset must not be negative"));
        }
        let limit = match q.limit {
            Some(l) if l < 0 => return Err(Status::invalid_argument("limit must not be negative")),
            Some(l) => Some(l as usize),
            None => None,
        };
        let projection = match &q.select {
            Some(p) => Some(
                p.fields
                    .iter()
                    .filter(|f| f.field_path != "__name__")
                    .map(|f| {
                        values::parse_field_path(&f.field_path).map_err(Status::invalid_argument)
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            None => None,
        };
        Ok(Query {
            database,
            parent,
            collection_id: from.collection_id.clone(),
            all_descendants: from.all_descendants,
            filter,
            orders,
            start_at: q.start_at.clone(),
            end_at: q.end_at.clone(),
            offset: q.offset as usize,
            limit,
            projection,
        })
    }

    /// Whether the query only orders by `__name__` (then it streams straight off the map).
    fn by_name_only(&self) -> Option<bool> {
        match self.orders.as_slice() {
            [(FieldRef::Name, desc)] => Some(*desc),
            _ => None,
        }
    }

    /// `__name__` comparisons that every result must satisfy (top-level AND), as keys.
    fn name_filters(&self) -> Vec<(field_filter::Operator, Key)> {
        let prefix = format!("{}/documents/", self.database);
        let mut out = Vec::new();
        let conds: Vec<&Cond> = match &self.filter {
            Some(Cond::And(c)) => c.iter().collect(),
            Some(c) => vec![c],
            None => Vec::new(),
        };
        for c in conds {
            if let Cond::Field(FieldRef::Name, op, v) = c
                && let Some(ValueType::ReferenceValue(r)) = &v.value_type
                && let Some(rel) = r.strip_prefix(&prefix)
            {
                out.push((*op, rel.split('/').map(str::to_owned).collect()));
            }
        }
        out
    }

    /// The key range the collection selector covers.
    fn selector_range(&self) -> (Bound<Key>, Bound<Key>) {
        if self.all_descendants {
            if self.parent.is_empty() {
                (Bound::Unbounded, Bound::Unbounded)
            } else {
                (
                    Bound::Excluded(self.parent.clone()),
                    Bound::Excluded(prefix_end(&self.parent)),
                )
            }
        } else {
            let mut p = self.parent.clone();
            p.push(self.collection_id.clone());
            let end = prefix_end(&p);
            (Bound::Included(p), Bound::Excluded(end))
        }
    }

    fn selects(&self, key: &Key) -> bool {
        let n = self.parent.len();
        if key.len() <= n || key[..n] != self.parent[..] {
            return false;
        }
        if self.all_descendants {
            self.collection_id.is_empty() || key[key.len() - 2] == self.collection_id
        } else {
            key.len() == n + 2 && key[n] == self.collection_id
        }
    }

    fn matches(&self, doc: &pb::Document, name: &pb::Value) -> bool {
        self.filter.as_ref().is_none_or(|f| f.matches(doc, name))
    }

    fn output(&self, doc: &Arc<pb::Document>) -> pb::Document {
        match &self.projection {
            None => (**doc).clone(),
            Some(paths) => pb::Document {
                fields: values::project(&doc.fields, paths),
                ..(**doc).clone()
            },
        }
    }

    /// How many results lie before this query's `start_at` cursor: the documents a server
    /// without cursor seeks scans and throws away before its first result. Counted by
    /// walking them, from the start of the collection selector's range. Only queries
    /// ordered by `__name__` ascending with a reference cursor (the ones a backup sends)
    /// are costed; others count zero.
    pub(crate) fn cursor_skipped(&self, db: Option<&Db>, read_time: Timestamp) -> usize {
        let (Some(db), Some(false), Some(c)) = (db, self.by_name_only(), &self.start_at) else {
            return 0;
        };
        let Some(Some(ValueType::ReferenceValue(r))) = c.values.first().map(|v| &v.value_type)
        else {
            return 0;
        };
        let Ok((_, key)) = store::parse_document_name(r) else {
            return 0;
        };
        let (lo, hi) = self.selector_range();
        // `before`: the cursor's own document is a result, so only keys below it are skipped.
        let cut = if c.before {
            Bound::Excluded(key)
        } else {
            Bound::Included(key)
        };
        let hi = tighter_upper(hi, cut);
        if !non_empty(&lo, &hi) {
            return 0;
        }
        db.docs
            .range::<Key, _>((lo, hi))
            .filter(|(key, _)| self.selects(key))
            .filter_map(|(_, versions)| version_at(versions, read_time))
            .filter(|doc| self.matches(doc, &reference(&doc.name)))
            .count()
    }

    /// Starts executing: returns a cursor that yields result documents chunk by chunk.
    pub(crate) fn execute(self, read_time: Timestamp) -> Result<Execution, Status> {
        let mode = match self.by_name_only() {
            Some(desc) => {
                let (mut lo, mut hi) = self.selector_range();
                let key_of = |c: &pb::Cursor| -> Result<Option<Key>, Status> {
                    match c.values.first().map(|v| &v.value_type) {
                        None => Ok(None),
                        Some(Some(ValueType::ReferenceValue(r))) => {
                            let (db, key) = store::parse_document_name(r)?;
                            if db != self.database {
                                return Err(Status::invalid_argument(format!(
                                    "cursor {r} is not in database {}",
                                    self.database
                                )));
                            }
                            Ok(Some(key))
                        }
                        _ => Err(Status::invalid_argument(
                            "a __name__ cursor value must be a reference",
                        )),
                    }
                };
                // Cursors become key bounds; in descending order start_at bounds from above.
                if let Some(c) = &self.start_at
                    && let Some(k) = key_of(c)?
                {
                    let b = if c.before {
                        Bound::Included(k)
                    } else {
                        Bound::Excluded(k)
                    };
                    if desc {
                        hi = tighter_upper(hi, b)
                    } else {
                        lo = tighter_lower(lo, b)
                    }
                }
                if let Some(c) = &self.end_at
                    && let Some(k) = key_of(c)?
                {
                    let b = if c.before {
                        Bound::Excluded(k)
                    } else {
                        Bound::Included(k)
                    };
                    if desc {
                        lo = tighter_lower(lo, b)
                    } else {
                        hi = tighter_upper(hi, b)
                    }
                }
                // `__name__` range filters narrow the walk too (they are still checked per
                // document; the bounds only skip keys that cannot match).
                for (op, k) in self.name_filters() {
                    use field_filter::Operator as O;
                    match op {
                        O::Equal => {
                            lo = tighter_lower(lo, Bound::Included(k.clone()));
                            hi = tighter_upper(hi, Bound::Included(k));
                        }
                        O::LessThan => hi = tighter_upper(hi, Bound::Excluded(k)),
                        O::LessThanOrEqual => hi = tighter_upper(hi, Bound::Included(k)),
                        O::GreaterThan => lo = tighter_lower(lo, Bound::Excluded(k)),
                        O::GreaterThanOrEqual => lo = tighter_lower(lo, Bound::Included(k)),
                        _ => {}
                    }
                }
                Mode::Scan { lo, hi, desc }
            }
            None => Mode::Sorted(None),
        };
        Ok(Execution {
            query: self,
            read_time,
            mode,
            skip: 0,
            emitted: 0,
            done: false,
        })
    }
}

fn tighter_lower(a: Bound<Key>, b: Bound<Key>) -> Bound<Key> {
    let key = |x: &Bound<Key>| match x {
        Bound::Included(k) | Bound::Excluded(k) => Some(k.clone()),
        Bound::Unbounded => None,
    };
    match (key(&a), key(&b)) {
        (None, _) => b,
        (_, None) => a,
        (Some(x), Some(y)) => match x.cmp(&y) {
            Ordering::Less => b,
            Ordering::Greater => a,
            Ordering::Equal if matches!(a, Bound::Excluded(_)) => a,
            Ordering::Equal => b,
        },
    }
}

fn tighter_upper(a: Bound<Key>, b: Bound<Key>) -> Bound<Key> {
    let key = |x: &Bound<Key>| match x {
        Bound::Included(k) | Bound::Excluded(k) => Some(k.clone()),
        Bound::Unbounded => None,
    };
    match (key(&a), key(&b)) {
        (None, _) => b,
        (_, None) => a,
        (Some(x), Some(y)) => match x.cmp(&y) {
            Ordering::Less => a,
            Ordering::Greater => b,
            Ordering::Equal if matches!(a, Bound::Excluded(_)) => a,
            Ordering::Equal => b,
        },
    }
}

/// Whether `(lo, hi)` is a range `BTreeMap::range` accepts and that may hold keys.
fn non_empty(lo: &Bound<Key>, hi: &Bound<Key>) -> bool {
    match (lo, hi) {
        (Bound::Included(a), Bound::Included(b)) => a <= b,
        (Bound::Included(a) | Bound::Excluded(a), Bound::Excluded(b))
        | (Bound::Excluded(a), Bound::Included(b)) => a < b,
        _ => true,
    }
}

enum Mode {
    /// Walk the map between these bounds (remaining part), in key order or reversed.
    Scan {
        lo: Bound<Key>,
        hi: Bound<Key>,
        desc: bool,
    },
    /// Results computed once on the first chunk, then handed out.
    Sorted(Option<std::vec::IntoIter<Arc<pb::Document>>>),
}

/// A running query: call [`Execution::next_chunk`] with the database until it returns
/// an empty chunk.
pub(crate) struct Execution {
    pub(crate) query: Query,
    read_time: Timestamp,
    mode: Mode,
    /// Results skipped for the offset so far.
    pub(crate) skip: usize,
    emitted: usize,
    done: bool,
}

/// Keys examined per chunk, so the lock is held briefly.
const SCAN_CHUNK: usize = 512;

impl Execution {
    fn admit(&mut self, doc: &Arc<pb::Document>, out: &mut Vec<pb::Document>) {
        if self.skip < self.query.offset {
            self.skip += 1;
            return;
        }
        if self.query.limit.is_some_and(|l| self.emitted >= l) {
            self.done = true;
            return;
        }
        self.emitted += 1;
        out.push(self.query.output(doc));
        if self.query.limit.is_some_and(|l| self.emitted >= l) {
            self.done = true;
        }
    }

    /// The next results (empty when finished). `db` is `None` when the database is empty.
    pub(crate) fn next_chunk(&mut self, db: Option<&Db>, max: usize) -> Vec<pb::Document> {
        let mut out = Vec::new();
        if self.done || self.query.limit == Some(0) {
            self.done = true;
            return out;
        }
        let Some(db) = db else {
            self.done = true;
            return out;
        };
        let rt = self.read_time;
        match &mut self.mode {
            Mode::Scan { lo, hi, desc } => {
                let desc = *desc;
                if !non_empty(lo, hi) {
                    self.done = true;
                    return out;
                }
                let range = db.docs.range::<Key, _>((lo.clone(), hi.clone()));
                let iter: Box<dyn Iterator<Item = (&Key, &Vec<store::Version>)>> = if desc {
                    Box::new(range.rev())
                } else {
                    Box::new(range)
                };
                let mut last = None;
                let mut hits = Vec::new();
                for (scanned, (key, versions)) in iter.enumerate() {
                    if scanned >= SCAN_CHUNK || hits.len() >= max {
                        break;
                    }
                    last = Some(key.clone());
                    if !self.query.selects(key) {
                        continue;
                    }
                    if let Some(doc) = version_at(versions, rt) {
                        let name = reference(&doc.name);
                        if self.query.matches(doc, &name) {
                            hits.push(doc.clone());
                        }
                    }
                }
                match last {
                    None => self.done = true,
                    Some(k) if desc => *hi = Bound::Excluded(k),
                    Some(k) => *lo = Bound::Excluded(k),
                }
                for d in &hits {
                    self.admit(d, &mut out);
                    if self.done {
                        break;
                    }
                }
                if out.is_empty() && !self.done {
                    // Only non-matching keys in this chunk: keep scanning.
                    return self.next_chunk(Some(db), max);
                }
            }
            Mode::Sorted(results) => {
                if results.is_none() {
                    *results = Some(self.query.sorted(db, rt).into_iter());
                }
                let mut items: Vec<Arc<pb::Document>> = Vec::new();
                if let Some(it) = results {
                    items.extend(it.take(max));
                }
                if items.is_empty() {
                    self.done = true;
                }
                for d in &items {
                    self.admit(d, &mut out);
                }
            }
        }
        out
    }
}

/// A document name as a reference value (what `__name__` filters and orders compare).
pub(crate) fn reference(name: &str) -> pb::Value {
    pb::Value {
        value_type: Some(ValueType::ReferenceValue(name.to_string())),
    }
}

impl Query {
    fn order_values(&self, doc: &pb::Document) -> Option<Vec<pb::Value>> {
        let name = reference(&doc.name);
        self.orders
            .iter()
            .map(|(f, _)| f.value(doc, &name).cloned())
            .collect()
    }

    fn cmp_to_cursor(&self, vals: &[pb::Value], cursor: &pb::Cursor) -> Ordering {
        for ((v, c), (_, desc)) in vals.iter().zip(&cursor.values).zip(&self.orders) {
            let o = values::compare(v, c);
            let o = if *desc { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    }

    /// All results, for field-ordered queries: filter, sort, apply cursors.
    fn sorted(&self, db: &Db, rt: Timestamp) -> Vec<Arc<pb::Document>> {
        let (lo, hi) = self.selector_range();
        let mut rows: Vec<(Vec<pb::Value>, Arc<pb::Document>)> = Vec::new();
        for (key, versions) in db.docs.range::<Key, _>((lo, hi)) {
            if !self.selects(key) {
                continue;
            }
            let Some(doc) = version_at(versions, rt) else {
                continue;
            };
            if !self.matches(doc, &reference(&doc.name)) {
                continue;
            }
            // Documents lacking an ordered field are not in the results, as in Firestore.
            if let Some(vals) = self.order_values(doc) {
                rows.push((vals, doc.clone()));
            }
        }
        rows.sort_by(|(a, _), (b, _)| {
            for ((x, y), (_, desc)) in a.iter().zip(b).zip(&self.orders) {
                let o = values::compare(x, y);
                let o = if *desc { o.reverse() } else { o };
                if o != Ordering::Equal {
                    return o;
                }
            }
            Ordering::Equal
        });
        rows.retain(|(vals, _)| {
            let after_start = self.start_at.as_ref().is_none_or(|c| {
                let o = self.cmp_to_cursor(vals, c);
                if c.before { o.is_ge() } else { o.is_gt() }
            });
            let before_end = self.end_at.as_ref().is_none_or(|c| {
                let o = self.cmp_to_cursor(vals, c);
                if c.before { o.is_lt() } else { o.is_le() }
            });
            after_start && before_end
        });
        rows.into_iter().map(|(_, d)| d).collect()
    }
}

/// Keeps only the listed fields of a document (a read mask).
pub(crate) fn mask_document(
    doc: &pb::Document,
    mask: Option<&pb::DocumentMask>,
) -> Result<pb::Document, Status> {
    match mask {
        None => Ok(doc.clone()),
        Some(m) => {
            let paths = m
                .field_paths
                .iter()
                .map(|p| values::parse_field_path(p).map_err(Status::invalid_argument))
                .collect::<Result<Vec<_>, _>>()?;
            let fields: Fields = values::project(&doc.fields, &paths);
            Ok(pb::Document {
                fields,
                ..doc.clone()
            })
        }
    }
}
