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
