//! The engine's one seam to the object format ([`crate::format`]) and the part codec
//! ([`crate::model::json`]): sealing/opening objects bound to a backup id and object name,
//! and encoding/decoding parts of documents.

use crate::format::{self, Compression, ObjectHeader};
use crate::model::Document;
use crate::model::json;
use crate::secret::SecretBytes;
use crate::source::SourceDocument;
use crate::{Error, Result};

/// Hex SHA-256 of bytes (ciphertext hashes in the manifest).
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(data);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    out
}

/// The non-secret fingerprint of a data key, as recorded in object headers.
pub(crate) fn data_key_id(dek: &SecretBytes) -> String {
    format::data_key_id(dek)
}

/// Seals `plaintext` (a zstd frame) as object `object` of backup `backup_id`.
pub(crate) fn seal_object(
    dek: &SecretBytes,
    backup_id: &str,
    object: &str,
    segment_size: u32,
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    let header = ObjectHeader {
        key_id: format::data_key_id(dek),
        backup_id: backup_id.to_string(),
        object_name: object.to_string(),
        compression: if object.ends_with(".fkp") {
            Compression::Zstd
        } else {
            Compression::None
        },
        segment_size,
    };
    format::seal(dek, &header, plaintext)
}

/// Opens a sealed object, checking that its header names `backup_id` and `object` (so an
/// object moved between backups or renamed is detected) and every authentication tag.
pub(crate) fn open_object(
    dek: &SecretBytes,
    backup_id: &str,
    object: &str,
    sealed: &[u8],
) -> Result<Vec<u8>> {
    let (header, _) = format::read_header(sealed)
        .map_err(|e| Error::integrity(object, format!("unreadable object header: {e}")))?;
    // Checked before decrypting: a part copied from another backup carries that backup's
    // key id too, and "belongs to backup X" says more than "wrong key".
    if header.backup_id != backup_id || header.object_name != object {
        return Err(Error::integrity(
            object,
            format!(
                "the object is {} of backup {}, not {object} of backup {backup_id} \
                 (moved, renamed or swapped)",
                header.object_name, header.backup_id
            ),
        ));
    }
    let (_, plain) = format::open(dek, sealed)?;
    Ok(plain)
}

/// An encoded part: zstd-compressed NDJSON and each document's line length.
pub(crate) struct EncodedPart {
    pub compressed: Vec<u8>,
    pub sizes: Vec<usize>,
}

/// Encodes documents as zstd-compressed NDJSON: one JSON buffer (sized from the batch's
/// estimate, so it rarely grows) compressed in one call. One-shot compression avoids the
/// streaming encoder's external-dictionary mode, which is markedly slower; the output is
/// one ordinary zstd frame that [`json::decode_part`] and the `zstd` tool read.
pub(crate) fn encode_part(
    docs: &[SourceDocument],
    zstd_level: i32,
    size_hint: usize,
) -> Result<EncodedPart> {
    let mut buf = Vec::with_capacity(size_hint + size_hint / 8 + 4096);
    let mut sizes = Vec::with_capacity(docs.len());
    for doc in docs {
        let before = buf.len();
        doc.encode_json(&mut buf)?;
        buf.push(b'\n');
        sizes.push(buf.len() - before);
    }
    let compressed = zstd::bulk::compress(&buf, zstd_level)
        .map_err(|e| Error::io("compressing a part with zstd", e))?;
    Ok(EncodedPart { compressed, sizes })
}

/// The relative document path inside a full resource name, given the database's
/// documents root with a trailing `/` (`projects/p/databases/d/documents/`).
pub(crate) fn relative_name<'a>(name: &'a str, root: &str) -> Option<&'a str> {
    name.strip_prefix(root).filter(|rel| !rel.is_empty())
}

/// Firestore key order of two relative document paths: segment by segment, each segment
/// compared as bytes (so `a/x/b/y` < `a-/z`). Same order as `DocumentPath`'s `Ord`,
/// without allocating.
pub(crate) fn cmp_relative(a: &str, b: &str) -> std::cmp::Ordering {
    a.split('/').cmp(b.split('/'))
}

/// Decodes a zstd-compressed NDJSON part that its (authenticated) manifest entry says
/// holds `documents` documents in `plain_bytes` bytes of NDJSON. Decompression stops at
/// `plain_bytes` and decoding after one document too many, so a part sealed by a data-key
/// holder to decompress to gigabytes (a zstd bomb) is an error at bounded memory and time.
pub(crate) fn decode_part(
    compressed: &[u8],
    plain_bytes: u64,
    documents: u64,
) -> Result<Vec<Document>> {
    let decoder = json::PartDecoder::new(compressed)?.limit_plain_bytes(plain_bytes);
    // One more than recorded is enough to tell the count is wrong.
    let cap = usize::try_from(documents.saturating_add(1)).unwrap_or(usize::MAX);
    let mut docs = Vec::with_capacity(cap.min(1 << 16));
    for doc in decoder.take(cap) {
        docs.push(doc?);
    }
    Ok(docs)
}

/// A cheap estimate of the JSON size of a document from a source, for sizing parts.
pub(crate) fn estimate_source_size(doc: &SourceDocument) -> usize {
    match doc {
        SourceDocument::Decoded(d) => estimate_size(d),
        // Protobuf is more compact than the JSON mapping (every value gains a
        // `{"xxxValue":...}` wrapper, bytes grow by base64): about 1.6x on typical documents.
        SourceDocument::Wire(w) => w.wire.len() + w.wire.len() / 2 + w.wire.len() / 8 + 32,
    }
}

/// A cheap upper-ish estimate of a document's encoded JSON size, for sizing parts and
/// restore batches without encoding twice.
pub(crate) fn estimate_size(doc: &Document) -> usize {
    use crate::model::Value;
    fn value(v: &Value) -> usize {
        // Each value is wrapped as {"xxxValue": ...}: ~16 bytes of overhead.
        16 + match v {
            Value::Null | Value::Boolean(_) => 5,
            Value::Integer(_) => 22,
            Value::Double(_) => 24,
            Value::Timestamp(_) => 32,
            Value::String(s) | Value::Reference(s) => s.len() + s.len() / 16 + 2,
            Value::Bytes(b) => b.len().div_ceil(3) * 4 + 2,
            Value::GeoPoint(_) => 60,
            Value::Array(items) => 12 + items.iter().map(value).sum::<usize>() + items.len(),
            Value::Map(fields) => 12 + fields_size(fields),
        }
    }
    fn fields_size(fields: &std::collections::BTreeMap<String, Value>) -> usize {
        fields.iter().map(|(k, v)| k.len() + 4 + value(v)).sum()
    }
    doc.name.len() + 90 + fields_size(&doc.fields)
}
