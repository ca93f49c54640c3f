//! Where documents come from and where restores write them: the [`FirestoreSource`] and
//! [`FirestoreTarget`] traits, with an in-memory implementation of both.

use crate::Result;
use crate::model::{DatabaseId, Document, DocumentPath, Timestamp};
use async_trait::async_trait;
use futures::stream::BoxStream;
use std::ops::Bound;

#[cfg(feature = "testing")]
pub mod conformance;
pub mod memory;
mod wire;

pub use wire::{JsonDocument, SourceDocument, WireDocument, WireEncoder};

/// Which documents a backup, restore or diff covers.
#[derive(Clone, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Scope {
    /// Top-level collection ids to include; empty means every collection.
    #[serde(default)]
    pub collections: Vec<String>,
    /// Top-level collection ids to leave out.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Whether documents in subcollections (at any depth) of the chosen collections are
    /// included. `Scope::default()` sets it to false; use [`Scope::database`] for everything.
    #[serde(default)]
    pub subcollections: bool,
}

impl Scope {
    /// The whole database: every collection, every subcollection.
    pub fn database() -> Self {
        Scope {
            collections: Vec::new(),
            exclude: Vec::new(),
            subcollections: true,
        }
    }

    /// Chosen top-level collections, with or without their subcollections.
    pub fn collections<I, S>(ids: I, subcollections: bool) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Scope {
            collections: ids.into_iter().map(Into::into).collect(),
            exclude: Vec::new(),
            subcollections,
        }
    }

    /// The scope front ends build from their options: `collections` (none: every
    /// collection), whether their subcollections are included, and collections left out.
    pub fn of(collections: Vec<String>, subcollections: bool, exclude: Vec<String>) -> Self {
        Scope {
            collections,
            exclude,
            subcollections,
        }
    }

    /// Whether a document path is inside this scope.
    pub fn contains(&self, path: &DocumentPath) -> bool {
        let root = path.root_collection();
        if self.exclude.iter().any(|c| c == root) {
            return false;
        }
        if !self.collections.is_empty() && !self.collections.iter().any(|c| c == root) {
            return false;
        }
        self.subcollections || path.depth() == 0
    }

    /// [`Scope::contains`] for a valid relative path given as text (`users/u1/orders/o1`),
    /// without parsing it (restore asks for every document).
    pub(crate) fn contains_relative(&self, rel: &str) -> bool {
        let root = rel.split('/').next().unwrap_or(rel);
        if self.exclude.iter().any(|c| c == root) {
            return false;
        }
        if !self.collections.is_empty() && !self.collections.iter().any(|c| c == root) {
            return false;
        }
        // Depth 0 is `collection/document`: exactly one '/'.
        self.subcollections || rel.bytes().filter(|&b| b == b'/').count() == 1
    }
}

/// A range of document paths in Firestore key order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameRange {
    /// Lower bound (`Excluded(last)` resumes after the last document read).
    pub start: Bound<DocumentPath>,
    /// Upper bound.
    pub end: Bound<DocumentPath>,
}

impl NameRange {
    /// Every document.
    pub fn all() -> Self {
        NameRange {
            start: Bound::Unbounded,
            end: Bound::Unbounded,
        }
    }

    /// Whether a path falls in the range.
    pub fn contains(&self, path: &DocumentPath) -> bool {
        let above = match &self.start {
            Bound::Unbounded => true,
            Bound::Included(s) => path >= s,
            Bound::Excluded(s) => path > s,
        };
        let below = match &self.end {
            Bound::Unbounded => true,
            Bound::Included(e) => path <= e,
            Bound::Excluded(e) => path < e,
        };
        above && below
    }
}

/// A readable Firestore database.
///
/// Implementations: [`memory::MemoryFirestore`] here, the gRPC connector in
/// `firekeep-firestore`. Both pass the shared conformance suite.
#[async_trait]
pub trait FirestoreSource: Send + Sync {
    /// The database being read.
    fn database(&self) -> &DatabaseId;

    /// A read time at which the whole database can be read consistently, now.
    async fn snapshot_time(&self) -> Result<Timestamp>;

    /// Collection ids directly under `parent` (the database root when `None`), at `read_time`.
    async fn list_collection_ids(
        &self,
        parent: Option<&DocumentPath>,
        read_time: Timestamp,
    ) -> Result<Vec<String>>;

    /// Streams the documents of `scope` within `range`, in Firestore key order, all as of
    /// `read_time`. The stream applies backpressure: nothing is buffered beyond a page.
    fn stream_documents(
        &self,
        scope: &Scope,
        range: NameRange,
        read_time: Timestamp,
    ) -> BoxStream<'static, Result<Document>>;

    /// The same documents as [`stream_documents`](Self::stream_documents), possibly still in
    /// the source's encoding ([`SourceDocument::Wire`]) so the backup encodes them on its
    /// worker threads without building a [`Document`] tree. The default wraps
    /// `stream_documents`.
    fn stream_source_documents(
        &self,
        scope: &Scope,
        range: NameRange,
        read_time: Timestamp,
    ) -> BoxStream<'static, Result<SourceDocument>> {
        use futures::StreamExt as _;
        self.stream_documents(scope, range, read_time)
            .map(|d| d.map(SourceDocument::Decoded))
            .boxed()
    }

    /// Splits the scope into at most `max_partitions` disjoint, ordered ranges that can be
    /// read in parallel. The default is one range covering everything.
    async fn partition(
        &self,
        _scope: &Scope,
        _read_time: Timestamp,
        _max_partitions: usize,
    ) -> Result<Vec<NameRange>> {
        Ok(vec![NameRange::all()])
    }

    /// Number of documents in the scope at `read_time`, when cheap to learn (for progress
    /// estimates); `None` when unknown.
    async fn count_documents(&self, _scope: &Scope, _read_time: Timestamp) -> Result<Option<u64>> {
        Ok(None)
    }
}

/// What to do when a restored document already exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictMode {
    /// Replace the existing document.
    #[default]
    Overwrite,
    /// Leave the existing document and report it as skipped.
    SkipExisting,
    /// Report the existing document as a failure.
    FailIfExists,
}

impl ConflictMode {
    /// The name every front end accepts and prints: `overwrite`, `skip` or `fail`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictMode::Overwrite => "overwrite",
            ConflictMode::SkipExisting => "skip",
            ConflictMode::FailIfExists => "fail",
        }
    }
}

impl std::str::FromStr for ConflictMode {
    type Err = crate::Error;

    /// `overwrite`, `skip` (or `skip-existing`), `fail` (or `fail-if-exists`).
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "overwrite" => Ok(ConflictMode::Overwrite),
            "skip" | "skip-existing" => Ok(ConflictMode::SkipExisting),
            "fail" | "fail-if-exists" => Ok(ConflictMode::FailIfExists),
            _ => Err(crate::Error::InvalidInput(format!(
                "conflict {s:?} is not one of \"overwrite\", \"skip\", \"fail\""
            ))),
        }
    }
}

/// The outcome of writing one document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteOutcome {
    /// The document was written.
    Written,
    /// The document existed and the conflict mode said to skip it.
    Skipped,
    /// The document was not written.
    Failed {
        /// gRPC-style status code name (`ALREADY_EXISTS`, `INVALID_ARGUMENT`, ...).
        code: String,
        /// Why.
        message: String,
    },
}

/// The result of one write in a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteResult {
    /// Full resource name of the document.
    pub name: String,
    /// What happened.
    pub outcome: WriteOutcome,
}

/// Limits on one [`FirestoreTarget::write_batch`] call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchLimits {
    /// Most documents per batch (Firestore: 500).
    pub max_writes: usize,
    /// Most encoded bytes per batch (Firestore: 10 MiB, with headroom).
    pub max_bytes: usize,
}

impl Default for BatchLimits {
    fn default() -> Self {
        BatchLimits {
            max_writes: 500,
            max_bytes: 9 * 1024 * 1024,
        }
    }
}

/// A writable Firestore database (restore target).
#[async_trait]
pub trait FirestoreTarget: Send + Sync {
    /// The database written to.
    fn database(&self) -> &DatabaseId;

    /// Writes documents (already named in this target's database; not atomic) and reports
    /// an outcome per document, in input order. Transient failures are retried inside;
    /// an `Err` means the whole batch could not be attempted.
    async fn write_batch(
        &self,
        docs: Vec<Document>,
        mode: ConflictMode,
    ) -> Result<Vec<WriteResult>>;

    /// [`write_batch`](Self::write_batch) for documents still as their backup's JSON lines
    /// (what restore passes, so no [`Document`] tree is built on its way to a target that
    /// can encode the lines directly). Same contract and limits; a document's size for
    /// [`BatchLimits::max_bytes`] is [`JsonDocument::size`].
    ///
    /// The default decodes each line ([`JsonDocument::decode`]) and calls `write_batch`,
    /// so a target implementing only `write_batch` works unchanged.
    async fn write_json_batch(
        &self,
        docs: Vec<JsonDocument>,
        mode: ConflictMode,
    ) -> Result<Vec<WriteResult>> {
        let docs = docs
            .iter()
            .map(JsonDocument::decode)
            .collect::<Result<Vec<_>>>()?;
        self.write_batch(docs, mode).await
    }

    /// Batch limits callers must respect.
    fn batch_limits(&self) -> BatchLimits {
        BatchLimits::default()
    }
}

#[cfg(test)]
mod tests {
    use super::{ConflictMode, Scope};
    use crate::model::DocumentPath;

    #[test]
    fn scope_of_front_end_options() {
        let top = DocumentPath::parse("users/u1").unwrap();
        let sub = DocumentPath::parse("users/u1/orders/o1").unwrap();
        let other = DocumentPath::parse("logs/l1").unwrap();
        // No collections: every collection, as `Scope::database` with subcollections.
        assert_eq!(Scope::of(vec![], true, vec![]), Scope::database());
        // Without subcollections, every collection's top-level documents only (the Python and
        // Node bindings used to ignore the flag when no collection was named).
        let shallow = Scope::of(vec![], false, vec![]);
        assert!(shallow.contains(&top) && shallow.contains(&other) && !shallow.contains(&sub));
        let chosen = Scope::of(vec!["users".into()], true, vec![]);
        assert!(chosen.contains(&sub) && !chosen.contains(&other));
        let excluded = Scope::of(vec![], true, vec!["logs".into()]);
        assert!(excluded.contains(&sub) && !excluded.contains(&other));
        for scope in [Scope::database(), shallow, chosen, excluded] {
            for path in [&top, &sub, &other] {
                assert_eq!(
                    scope.contains_relative(&path.to_string()),
                    scope.contains(path)
                );
            }
        }
    }

    #[test]
    fn conflict_names_parse_once_and_round_trip() {
        for m in [
            ConflictMode::Overwrite,
            ConflictMode::SkipExisting,
            ConflictMode::FailIfExists,
        ] {
            assert_eq!(m.as_str().parse::<ConflictMode>().unwrap(), m);
        }
        assert_eq!(
            "skip-existing".parse::<ConflictMode>().unwrap(),
            ConflictMode::SkipExisting
        );
        assert_eq!(
            "fail-if-exists".parse::<ConflictMode>().unwrap(),
            ConflictMode::FailIfExists
        );
        let e = "replace".parse::<ConflictMode>().unwrap_err().to_string();
        assert!(e.contains("\"replace\" is not one of"), "{e}");
    }
}
