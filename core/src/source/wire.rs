//! Documents as a source received them, encoded to the backup's JSON later, on the engine's
//! worker threads, without building a [`Document`] tree in between.

use crate::Result;
use crate::model::Document;
use bytes::Bytes;

/// Writes the Firestore REST JSON line of one document (no newline) from its source
/// encoding, appending to `out`: exactly the bytes
/// [`encode_document_to`](crate::model::json::encode_document_to) writes for the decoded
/// document, or the error decoding it would give.
pub type WireEncoder = fn(wire: &[u8], out: &mut Vec<u8>) -> Result<()>;

/// A document still in its source encoding (for the gRPC connector: the protobuf
/// `Document` message as received), with the name the reader already took from it.
#[derive(Clone)]
pub struct WireDocument {
    /// Full resource name, `projects/{p}/databases/{d}/documents/{path}`.
    pub name: String,
    /// The encoded document.
    pub wire: Bytes,
    /// Turns `wire` into the JSON line.
    pub encode: WireEncoder,
}

impl std::fmt::Debug for WireDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WireDocument")
            .field("name", &self.name)
            .field("wire_bytes", &self.wire.len())
            .finish_non_exhaustive()
    }
}

/// One document from [`FirestoreSource::stream_source_documents`](super::FirestoreSource::stream_source_documents):
/// decoded, or still in the source's encoding.
#[derive(Clone, Debug)]
pub enum SourceDocument {
    /// A decoded document.
    Decoded(Document),
    /// A document the engine encodes from its source encoding.
    Wire(WireDocument),
}

impl SourceDocument {
    /// The document's full resource name.
    pub fn name(&self) -> &str {
        match self {
            SourceDocument::Decoded(d) => &d.name,
            SourceDocument::Wire(w) => &w.name,
        }
    }

    /// Appends the document's JSON line (no newline) to `out`.
    pub fn encode_json(&self, out: &mut Vec<u8>) -> Result<()> {
        match self {
            SourceDocument::Decoded(d) => {
                crate::model::json::encode_document_to(d, out);
                Ok(())
            }
            SourceDocument::Wire(w) => (w.encode)(&w.wire, out),
        }
    }
}

/// A document of a backup on its way to a restore target, still as the JSON line the
/// backup stored ([`FirestoreTarget::write_json_batch`](super::FirestoreTarget::write_json_batch)).
///
/// The engine passes only lines it authenticated and checked
/// ([`decode_document`](crate::model::json::decode_document) accepts them), and marks them
/// so ([`is_checked`](Self::is_checked)): a target may then skip re-validating such a line
/// ([`visit_document`](crate::model::json::visit_document) does). A line made with
/// [`new`](Self::new) is unchecked and must be treated as input; [`check`](Self::check)
/// checks one. The bytes cannot change after the check (private, immutable `Bytes`).
#[derive(Clone)]
pub struct JsonDocument {
    /// Full resource name in the target's database. The line's own `"name"` is the
    /// document's name in the backed-up database and is ignored.
    name: String,
    /// The document's Firestore REST JSON line (no newline).
    json: Bytes,
    /// `decode_document` accepts `json` (set only by core, after checking it).
    checked: bool,
}

impl JsonDocument {
    /// An unchecked line named `name`: whoever reads it validates it in full.
    pub fn new(name: String, json: Bytes) -> Self {
        Self {
            name,
            json,
            checked: false,
        }
    }

    /// The line named `name`, checked as [`decode_document`](crate::model::json::decode_document)
    /// checks it: `Err` exactly when it refuses the line.
    pub fn check(name: String, json: Bytes) -> Result<Self> {
        use crate::model::json::{Check, DocumentChecker};
        match DocumentChecker::default().check(&json) {
            Check::Valid(_) => {}
            Check::Invalid | Check::Unsure => {
                crate::model::json::decode_document(&json)?;
            }
        }
        Ok(Self::checked(name, json))
    }

    /// A line core has checked ([`DocumentChecker`](crate::model::json::DocumentChecker)
    /// accepted it, or `decode_document` did).
    pub(crate) fn checked(name: String, json: Bytes) -> Self {
        Self {
            name,
            json,
            checked: true,
        }
    }

    /// Full resource name in the target's database.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The name, owned.
    pub fn into_name(self) -> String {
        self.name
    }

    /// The JSON line (no newline).
    pub fn json(&self) -> &Bytes {
        &self.json
    }

    /// Whether core checked the line (`decode_document` accepts it).
    pub fn is_checked(&self) -> bool {
        self.checked
    }

    /// The decoded document, named [`name`](Self::name).
    pub fn decode(&self) -> Result<Document> {
        let mut doc = crate::model::json::decode_document(&self.json)?;
        doc.name.clone_from(&self.name);
        Ok(doc)
    }

    /// An upper bound of the document's share of a write request, in bytes: the line with
    /// its new name. A protobuf `Write` is smaller than the JSON line it is encoded from
    /// (every value's JSON wrapper outweighs its tag and length), so batches sized by this
    /// stay under [`BatchLimits::max_bytes`](super::BatchLimits::max_bytes).
    pub fn size(&self) -> usize {
        self.json.len() + self.name.len() + 32
    }
}

impl std::fmt::Debug for JsonDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names only: field values are the user's data.
        f.debug_struct("JsonDocument")
            .field("name", &self.name)
            .field("json_bytes", &self.json.len())
            .field("checked", &self.checked)
            .finish()
    }
}
