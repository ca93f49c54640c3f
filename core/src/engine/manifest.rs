//! The manifest: the sealed JSON document, written last, that makes a backup exist.

use crate::source::Scope;
use crate::{Error, Result};
use std::collections::BTreeMap;

/// One stored part of a backup.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PartEntry {
    /// Object name inside the backup (`parts/00000001.fkp`); also sealed into its header.
    pub object: String,
    /// Size of the stored (sealed) object in bytes.
    pub size: u64,
    /// Hex SHA-256 of the stored object.
    pub sha256: String,
    /// Number of documents in the part.
    pub documents: u64,
    /// Size of the uncompressed NDJSON in bytes.
    pub plain_bytes: u64,
    /// Relative path of the first document (Firestore key order).
    pub first: String,
    /// Relative path of the last document.
    pub last: String,
}

/// Documents and bytes of one top-level collection (including its subcollections).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CollectionTotals {
    /// Documents.
    pub documents: u64,
    /// Uncompressed NDJSON bytes.
    pub bytes: u64,
}

/// Totals over the whole backup.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Totals {
    /// Documents.
    pub documents: u64,
    /// Uncompressed NDJSON bytes.
    pub bytes: u64,
    /// Stored (compressed, sealed) bytes of all parts.
    pub stored_bytes: u64,
    /// Per top-level collection.
    pub collections: BTreeMap<String, CollectionTotals>,
}

/// Everything known about a complete backup. Stored sealed under the backup's data key.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// Manifest layout version ([`super::MANIFEST_VERSION`]).
    pub manifest_version: u32,
    /// Version of the engine that wrote it.
    pub engine_version: String,
    /// The backup id (also the storage folder name).
    pub backup_id: String,
    /// When the backup started (RFC 3339).
    pub started_at: String,
    /// When the manifest was written (RFC 3339).
    pub completed_at: String,
    /// The one read time every document was read at (RFC 3339, nanoseconds).
    pub read_time: String,
    /// Source project id.
    pub project: String,
    /// Source database id.
    pub database: String,
    /// The scope that was backed up.
    pub scope: Scope,
    /// Non-secret fingerprint of the data key (stable across key rotation).
    pub data_key_id: String,
    /// Id of the provider key the data key was first wrapped under (`key.json` holds the
    /// current one after rotation).
    pub key_id: String,
    /// Zstd level used for the parts.
    pub zstd_level: i32,
    /// Ciphertext segment size of the sealed objects.
    pub segment_size: u32,
    /// User labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Totals.
    pub totals: Totals,
    /// Every part, in document name order.
    pub parts: Vec<PartEntry>,
    /// Manifest generation: 1 as the backup wrote it, +1 for each erasure that rewrote it
    /// (see `engine::erase`). Readers take the highest generation stored.
    #[serde(default = "first_generation")]
    pub generation: u64,
    /// Erasures applied to this backup, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub erasures: Vec<ErasureRecord>,
}

fn first_generation() -> u64 {
    1
}

/// One erasure applied to a backup: when, how much, and which documents as keyed hashes
/// (never the paths in clear), so a later check can tell whether a path was erased.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ErasureRecord {
    /// The manifest generation the erasure produced.
    pub generation: u64,
    /// When it was committed (RFC 3339).
    pub erased_at: String,
    /// Documents removed.
    pub documents: u64,
    /// Hex HKDF-SHA256 keyed hash of each removed relative document path (keyed with the
    /// backup's data key, info `firekeep erased path` ‖ 0x00 ‖ path), sorted.
    pub path_hashes: Vec<String>,
}

impl Manifest {
    /// Parses manifest JSON, refusing versions this engine does not know.
    pub fn from_json(backup_id: &str, bytes: &[u8]) -> Result<Self> {
        let m: Manifest = serde_json::from_slice(bytes).map_err(|e| {
            Error::integrity(
                format!("backup {backup_id} manifest"),
                format!("manifest is not valid JSON for this version of firekeep: {e}"),
            )
        })?;
        if m.manifest_version > super::MANIFEST_VERSION {
            return Err(Error::InvalidInput(format!(
                "backup {backup_id} was written by a newer firekeep (manifest version {}); \
                 upgrade firekeep to read it",
                m.manifest_version
            )));
        }
        if m.backup_id != backup_id {
            return Err(Error::integrity(
                format!("backup {backup_id} manifest"),
                format!("manifest belongs to backup {}", m.backup_id),
            ));
        }
        Ok(m)
    }

    /// The read time as a timestamp.
    pub fn read_time(&self) -> Result<crate::model::Timestamp> {
        crate::model::Timestamp::parse_rfc3339(&self.read_time)
    }
}
