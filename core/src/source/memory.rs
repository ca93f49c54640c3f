//! An in-memory, versioned Firestore: a [`FirestoreSource`] and [`FirestoreTarget`] for unit
//! tests and embedding. Reads at a past `read_time` see the past.

use super::{
    ConflictMode, FirestoreSource, FirestoreTarget, NameRange, Scope, WriteOutcome, WriteResult,
};
use crate::model::{DatabaseId, Document, DocumentPath, Timestamp};
use crate::{Error, Result};
use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

/// Versions of one document, oldest first; `None` marks a deletion.
type History = Vec<(Timestamp, Option<Document>)>;

#[derive(Default)]
struct State {
    docs: BTreeMap<DocumentPath, History>,
    /// Last commit time handed out; commits get strictly increasing times.
    clock: Option<Timestamp>,
}

impl State {
    fn next_time(&mut self) -> Timestamp {
        let now = Timestamp::now();
        let t = match self.clock {
            Some(last) if now <= last => {
                let (s, n) = if last.nanos() == 999_999_999 {
                    (last.seconds() + 1, 0)
                } else {
                    (last.seconds(), last.nanos() + 1)
                };
                Timestamp::new(s, n).expect("clock in range")
            }
            _ => now,
        };
        self.clock = Some(t);
        t
    }

    fn at(&self, path: &DocumentPath, read_time: Timestamp) -> Option<&Document> {
        let history = self.docs.get(path)?;
        history
            .iter()
            .rev()
            .find(|(t, _)| *t <= read_time)
            .and_then(|(_, d)| d.as_ref())
    }
}

/// An in-memory Firestore database. Cheap to clone: clones share the data.
#[derive(Clone)]
pub struct MemoryFirestore {
    database: DatabaseId,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for MemoryFirestore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryFirestore")
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

impl MemoryFirestore {
    /// An empty database.
    pub fn new(database: DatabaseId) -> Self {
        MemoryFirestore {
            database,
            state: Arc::new(Mutex::new(State::default())),
        }
    }

    /// Writes (creates or replaces) a document now, setting its create and update times,
    /// and returns the commit time. The name must be in this database.
    pub fn put(&self, doc: Document) -> Result<Timestamp> {
        let path = self.own_path(&doc.name)?;
        let mut st = self.state.lock().expect("memory firestore poisoned");
        let t = st.next_time();
        let create = st.at(&path, t).and_then(|d| d.create_time).unwrap_or(t);
        let stored = Document {
            create_time: Some(create),
            update_time: Some(t),
            ..doc
        };
        st.docs.entry(path).or_default().push((t, Some(stored)));
        Ok(t)
    }

    /// Writes a document keeping the create and update times it carries (as a restore of a
    /// backup into memory does); missing times are set to the commit time.
    pub fn put_preserving_times(&self, doc: Document) -> Result<Timestamp> {
        let path = self.own_path(&doc.name)?;
        let mut st = self.state.lock().expect("memory firestore poisoned");
        let t = st.next_time();
        let stored = Document {
            create_time: doc.create_time.or(Some(t)),
            update_time: doc.update_time.or(Some(t)),
            ..doc
        };
        st.docs.entry(path).or_default().push((t, Some(stored)));
        Ok(t)
    }

    /// Deletes a document now; returns the commit time.
    pub fn delete(&self, path: &DocumentPath) -> Timestamp {
        let mut st = self.state.lock().expect("memory firestore poisoned");
        let t = st.next_time();
        st.docs.entry(path.clone()).or_default().push((t, None));
        t
    }

    /// The document at `path` as of `read_time` (now when `None`).
    pub fn get(&self, path: &DocumentPath, read_time: Option<Timestamp>) -> Option<Document> {
        let st = self.state.lock().expect("memory firestore poisoned");
        let rt = read_time.unwrap_or(Timestamp::MAX);
        st.at(path, rt).cloned()
    }

    /// Every live document as of `read_time` (now when `None`), in key order.
    pub fn documents(&self, read_time: Option<Timestamp>) -> Vec<Document> {
        let st = self.state.lock().expect("memory firestore poisoned");
        let rt = read_time.unwrap_or(Timestamp::MAX);
        st.docs
            .keys()
            .filter_map(|p| st.at(p, rt).cloned())
            .collect()
    }

    /// Number of live documents now.
    pub fn len(&self) -> usize {
        self.documents(None).len()
    }

    /// Whether the database has no live documents.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn own_path(&self, name: &str) -> Result<DocumentPath> {
        let (db, path) = DocumentPath::parse_resource_name(name)?;
        if db != self.database {
            return Err(Error::InvalidInput(format!(
                "document {name:?} belongs to database {db}, not {}",
                self.database
            )));
        }
        Ok(path)
    }
}

#[async_trait]
impl FirestoreSource for MemoryFirestore {
    fn database(&self) -> &DatabaseId {
        &self.database
    }

    async fn snapshot_time(&self) -> Result<Timestamp> {
        let mut st = self.state.lock().expect("memory firestore poisoned");
        Ok(st.next_time())
    }

    async fn list_collection_ids(
        &self,
        parent: Option<&DocumentPath>,
        read_time: Timestamp,
    ) -> Result<Vec<String>> {
        let st = self.state.lock().expect("memory firestore poisoned");
        let depth = parent.map_or(0, |p| p.segments().len());
        let mut ids = BTreeSet::new();
        for path in st.docs.keys() {
            let within = parent.is_none_or(|p| path.is_within(p) && path != p);
            if within && st.at(path, read_time).is_some() {
                ids.insert(path.segments()[depth].clone());
            }
        }
        Ok(ids.into_iter().collect())
    }

    fn stream_documents(
        &self,
        scope: &Scope,
        range: NameRange,
        read_time: Timestamp,
    ) -> BoxStream<'static, Result<Document>> {
        // Page through the map so a large database is never copied whole.
        const PAGE: usize = 256;
        let state = self.state.clone();
        let scope = scope.clone();
        stream::unfold(Some(range), move |range| {
            let state = state.clone();
            let scope = scope.clone();
            async move {
                let range = range?;
                let st = state.lock().expect("memory firestore poisoned");
                let mut page = Vec::with_capacity(PAGE);
                let mut last = None;
                let bounds = (range.start.clone(), range.end.clone());
                for (path, _) in st.docs.range(bounds) {
                    last = Some(path.clone());
                    if !scope.contains(path) {
                        continue;
                    }
                    if let Some(doc) = st.at(path, read_time) {
                        page.push(Ok(doc.clone()));
                        if page.len() == PAGE {
                            break;
                        }
                    }
                }
                let next = match (page.len() == PAGE, last) {
                    (true, Some(last)) => Some(NameRange {
                        start: std::ops::Bound::Excluded(last),
                        end: range.end.clone(),
                    }),
                    _ => None,
                };
                if page.is_empty() {
                    return None;
                }
                Some((stream::iter(page), next))
            }
        })
        .flatten()
        .boxed()
    }

    async fn count_documents(&self, scope: &Scope, read_time: Timestamp) -> Result<Option<u64>> {
        let st = self.state.lock().expect("memory firestore poisoned");
        let n = st
            .docs
            .keys()
            .filter(|p| scope.contains(p) && st.at(p, read_time).is_some())
            .count();
        Ok(Some(n as u64))
    }
}

#[async_trait]
impl FirestoreTarget for MemoryFirestore {
    fn database(&self) -> &DatabaseId {
        &self.database
    }

    async fn write_batch(
        &self,
        docs: Vec<Document>,
        mode: ConflictMode,
    ) -> Result<Vec<WriteResult>> {
        let mut results = Vec::with_capacity(docs.len());
        for doc in docs {
            let name = doc.name.clone();
            let path = match self.own_path(&name) {
                Ok(p) => p,
                Err(e) => {
                    results.push(WriteResult {
                        name,
                        outcome: WriteOutcome::Failed {
                            code: "INVALID_ARGUMENT".into(),
                            message: e.to_string(),
                        },
                    });
                    continue;
                }
            };
            let exists = self.get(&path, None).is_some();
            let outcome = match (mode, exists) {
                (ConflictMode::SkipExisting, true) => WriteOutcome::Skipped,
                (ConflictMode::FailIfExists, true) => WriteOutcome::Failed {
                    code: "ALREADY_EXISTS".into(),
                    message: format!("document {name} already exists"),
                },
                _ => {
                    self.put_preserving_times(doc)?;
                    WriteOutcome::Written
                }
            };
            results.push(WriteResult { name, outcome });
        }
        Ok(results)
    }
}
