//! Database ids and document paths, with Firestore's naming rules and key order.

use crate::{Error, Result};
use std::cmp::Ordering;
use std::fmt;

/// Largest document resource name Firestore accepts, in bytes (6 KiB).
pub const MAX_DOCUMENT_NAME_BYTES: usize = 6 * 1024;
/// Deepest subcollection nesting Firestore accepts.
pub const MAX_SUBCOLLECTION_DEPTH: usize = 100;
/// Largest single id segment, in bytes.
const MAX_SEGMENT_BYTES: usize = 1500;

/// A Firestore database: project id and database id (`(default)` or a named database).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DatabaseId {
    /// The Google Cloud project id.
    pub project: String,
    /// The database id, `(default)` for the default database.
    pub database: String,
}

impl DatabaseId {
    /// A database id, checking that neither part is empty or contains `/`.
    pub fn new(project: impl Into<String>, database: impl Into<String>) -> Result<Self> {
        let (project, database) = (project.into(), database.into());
        for (what, v) in [("project id", &project), ("database id", &database)] {
            if v.is_empty() || v.contains('/') {
                return Err(Error::InvalidConfig(format!(
                    "{what} {v:?} is not valid: it must be non-empty and contain no '/'"
                )));
            }
        }
        Ok(DatabaseId { project, database })
    }

    /// The `(default)` database of a project.
    pub fn default_database(project: impl Into<String>) -> Result<Self> {
        DatabaseId::new(project, "(default)")
    }

    /// `projects/{p}/databases/{d}`.
    pub fn database_name(&self) -> String {
        format!("projects/{}/databases/{}", self.project, self.database)
    }

    /// `projects/{p}/databases/{d}/documents`: the parent of top-level collections.
    pub fn documents_root(&self) -> String {
        format!("{}/documents", self.database_name())
    }

    /// The full resource name of a document in this database.
    pub fn document_name(&self, path: &DocumentPath) -> String {
        // Built in one allocation (restore names every document it writes with this): the
        // same string as `format!("{}/{path}", self.documents_root())`.
        let segments: usize = path.segments.iter().map(|s| s.len() + 1).sum();
        let mut name = String::with_capacity(
            "projects//databases//documents".len()
                + self.project.len()
                + self.database.len()
                + segments,
        );
        name.push_str("projects/");
        name.push_str(&self.project);
        name.push_str("/databases/");
        name.push_str(&self.database);
        name.push_str("/documents");
        for segment in &path.segments {
            name.push('/');
            name.push_str(segment);
        }
        name
    }
}

impl fmt::Display for DatabaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.project, self.database)
    }
}

/// A document path relative to the database root: `collection/doc[/collection/doc...]`.
///
/// Ordering is Firestore's key order: segment by segment (so `a/x/b/y` sorts before
/// `a-/z`), each segment compared as UTF-8 bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DocumentPath {
    segments: Vec<String>,
}

impl DocumentPath {
    /// Parses and validates a relative document path such as `users/alice/posts/1`.
    pub fn parse(path: &str) -> Result<Self> {
        let segments: Vec<String> = path.split('/').map(str::to_owned).collect();
        DocumentPath::from_segments(segments)
    }

    /// Builds a path from segments, validating Firestore's rules: an even, non-zero number
    /// of segments, each non-empty, at most 1,500 bytes, not `.` or `..`, not of the form
    /// `__.*__`; a name of at most 6 KiB; at most 100 levels of subcollections.
    pub fn from_segments(segments: Vec<String>) -> Result<Self> {
        if segments.is_empty() || segments.len() % 2 != 0 {
            return Err(Error::InvalidInput(format!(
                "{:?} is not a document path: it needs an even number of segments \
                 (collection/document[/collection/document...])",
                segments.join("/")
            )));
        }
        if segments.len() / 2 > MAX_SUBCOLLECTION_DEPTH {
            return Err(Error::InvalidInput(format!(
                "document path is {} levels deep; Firestore allows {MAX_SUBCOLLECTION_DEPTH}",
                segments.len() / 2
            )));
        }
        for s in &segments {
            validate_segment(s)?;
        }
        let total: usize = segments.iter().map(|s| s.len() + 1).sum();
        if total > MAX_DOCUMENT_NAME_BYTES {
            return Err(Error::InvalidInput(format!(
                "document path is {total} bytes; Firestore allows {MAX_DOCUMENT_NAME_BYTES}"
            )));
        }
        Ok(DocumentPath { segments })
    }

    /// Parses a full resource name `projects/{p}/databases/{d}/documents/{path}`.
    pub fn parse_resource_name(name: &str) -> Result<(DatabaseId, DocumentPath)> {
        let bad = || {
            Error::InvalidInput(format!(
                "{name:?} is not a document name like projects/P/databases/D/documents/C/ID"
            ))
        };
        let rest = name.strip_prefix("projects/").ok_or_else(bad)?;
        let (project, rest) = rest.split_once('/').ok_or_else(bad)?;
        let rest = rest.strip_prefix("databases/").ok_or_else(bad)?;
        let (database, rest) = rest.split_once('/').ok_or_else(bad)?;
        let rest = rest.strip_prefix("documents/").ok_or_else(bad)?;
        Ok((
            DatabaseId::new(project, database)?,
            DocumentPath::parse(rest)?,
        ))
    }

    /// The path's segments, alternating collection id and document id.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// The id of the top-level collection this document lives under.
    pub fn root_collection(&self) -> &str {
        &self.segments[0]
    }

    /// The id of the collection directly containing this document.
    pub fn collection_id(&self) -> &str {
        &self.segments[self.segments.len() - 2]
    }

    /// The document's own id (last segment).
    pub fn document_id(&self) -> &str {
        &self.segments[self.segments.len() - 1]
    }

    /// Subcollection depth: 0 for a document in a top-level collection.
    pub fn depth(&self) -> usize {
        self.segments.len() / 2 - 1
    }

    /// The parent document, if this document is in a subcollection.
    pub fn parent_document(&self) -> Option<DocumentPath> {
        (self.segments.len() > 2).then(|| DocumentPath {
            segments: self.segments[..self.segments.len() - 2].to_vec(),
        })
    }

    /// Whether `self` is `other` or lies in one of `other`'s subcollections.
    pub fn is_within(&self, other: &DocumentPath) -> bool {
        self.segments.starts_with(&other.segments)
    }
}

impl DocumentPath {
    /// The relative path inside a full resource name (the text its [`DocumentPath`]
    /// prints as) when [`DocumentPath::parse_resource_name`] accepts the name, else `None`;
    /// without allocating, for checks that run per document (verify, restore).
    pub(crate) fn relative_of_resource_name(name: &str) -> Option<&str> {
        let rest = name.strip_prefix("projects/")?;
        let (project, rest) = rest.split_once('/')?;
        let rest = rest.strip_prefix("databases/")?;
        let (database, rest) = rest.split_once('/')?;
        let rel = rest.strip_prefix("documents/")?;
        // `DatabaseId::new`'s rules; neither part can hold a '/' after `split_once`.
        if project.is_empty() || database.is_empty() {
            return None;
        }
        // `from_segments`' rules, segment by segment.
        let (mut segments, mut total) = (0usize, 0usize);
        for s in rel.split('/') {
            if segment_problem(s).is_some() {
                return None;
            }
            segments += 1;
            total += s.len() + 1;
        }
        (segments % 2 == 0
            && segments / 2 <= MAX_SUBCOLLECTION_DEPTH
            && total <= MAX_DOCUMENT_NAME_BYTES)
            .then_some(rel)
    }
}

fn segment_problem(s: &str) -> Option<&'static str> {
    if s.is_empty() {
        Some("is empty")
    } else if s == "." || s == ".." {
        Some("may not be '.' or '..'")
    } else if s.len() > MAX_SEGMENT_BYTES {
        Some("is longer than 1,500 bytes")
    } else if s.len() >= 4 && s.starts_with("__") && s.ends_with("__") {
        Some("matches the reserved pattern __.*__")
    } else {
        None
    }
}

fn validate_segment(s: &str) -> Result<()> {
    match segment_problem(s) {
        Some(p) => Err(Error::InvalidInput(format!(
            "path segment {s:?} {p}; rename the collection or document"
        ))),
        None => Ok(()),
    }
}

impl Ord for DocumentPath {
    fn cmp(&self, other: &Self) -> Ordering {
        // Vec<String> compares element-wise and String compares by bytes: Firestore order.
        self.segments.cmp(&other.segments)
    }
}

impl PartialOrd for DocumentPath {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for DocumentPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.segments.join("/"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_name_is_root_slash_path() {
        let db = DatabaseId::new("p-1", "(default)").unwrap();
        for rel in ["c/d", "users/alice/posts/1", "a-/z"] {
            let path = DocumentPath::parse(rel).unwrap();
            let name = db.document_name(&path);
            assert_eq!(name, format!("{}/{path}", db.documents_root()));
            assert_eq!(
                DocumentPath::parse_resource_name(&name).unwrap(),
                (db.clone(), path)
            );
        }
    }

    #[test]
    fn order_is_segment_wise() {
        let a = DocumentPath::parse("a/x/b/y").unwrap();
        let b = DocumentPath::parse("a-/z").unwrap();
        let c = DocumentPath::parse("a/x").unwrap();
        assert!(c < a && a < b);
    }

    #[test]
    fn validation() {
        assert!(DocumentPath::parse("users").is_err());
        assert!(DocumentPath::parse("users//x").is_err());
        assert!(DocumentPath::parse("users/__x__").is_err());
        assert!(DocumentPath::parse("users/..").is_err());
        assert!(DocumentPath::parse("a/b/".repeat(101).trim_end_matches('/')).is_err());
        let long = format!("c/{}", "x".repeat(1500));
        assert!(DocumentPath::parse(&long).is_ok());
        let (db, p) = DocumentPath::parse_resource_name(
            "projects/p/databases/(default)/documents/users/a/posts/1",
        )
        .unwrap();
        assert_eq!(db.database, "(default)");
        assert_eq!(p.depth(), 1);
        assert_eq!(
            db.document_name(&p),
            "projects/p/databases/(default)/documents/users/a/posts/1"
        );
    }
}

/// [`DocumentPath::relative_of_resource_name`] agrees with parsing: validity and text.
#[cfg(test)]
mod order_tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_relative() -> impl Strategy<Value = String> {
        // Few characters, so equal prefixes and segments (and '-' < '/' < 'a') are common.
        proptest::collection::vec("[ab./_-]{0,3}", 1..6).prop_map(|s| s.join("/"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn relative_name_agrees_with_parse(
            rel in arb_relative(),
            project in "[p/]{0,2}",
            database in "[d/]{0,2}",
        ) {
            let name = format!("projects/{project}/databases/{database}/documents/{rel}");
            let parsed = DocumentPath::parse_resource_name(&name);
            match DocumentPath::relative_of_resource_name(&name) {
                Some(r) => prop_assert_eq!(r, parsed.unwrap().1.to_string()),
                None => prop_assert!(parsed.is_err()),
            }
        }

    }
}
