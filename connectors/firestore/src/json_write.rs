//! A backup's JSON line written straight to the bytes of the protobuf `Write` that restores
//! it, without building a core `Document` or a prost tree: the reverse of [`crate::wire`].
//!
//! [`write_bytes`] walks the compact JSON firekeep writes
//! ([`visit_document`](firekeep_core::model::json::visit_document): a line the engine
//! checked is not validated again) and emits protobuf as it
//! goes. Anything the walk leaves (escapes, numbers written unusually, invalid lines) goes
//! to the exact slow path ([`slow_write_bytes`]: decode, `write_for`, prost), so the bytes,
//! or the error, are always what that path gives, up to the order of map entries, which
//! protobuf leaves free (prost writes a `HashMap`'s order, this writes key order).

use crate::wire::{
    KEY_ARRAY, KEY_BOOLEAN, KEY_BYTES, KEY_DOUBLE, KEY_GEO_POINT, KEY_INTEGER, KEY_MAP, KEY_NULL,
    KEY_REFERENCE, KEY_STRING, KEY_TIMESTAMP,
};
use crate::write::write_for;
use firekeep_core::model::Timestamp;
use firekeep_core::model::json::{FieldsVisitor, visit_document};
use firekeep_core::source::{ConflictMode, JsonDocument};
use firekeep_core::{Error, Result};
use prost::Message as _;

/// `Write.update` (field 1) and `Document.name` (field 1), length-delimited.
const KEY_UPDATE: u8 = 1 << 3 | 2;
const KEY_NAME: u8 = 1 << 3 | 2;
/// `Document.fields` (field 2) entries; `MapValue.fields` (field 1) entries.
const KEY_DOCUMENT_ENTRY: u8 = 2 << 3 | 2;
const KEY_MAP_ENTRY: u8 = 1 << 3 | 2;
/// A map entry's key (field 1) and value (field 2).
const KEY_ENTRY_KEY: u8 = 1 << 3 | 2;
const KEY_ENTRY_VALUE: u8 = 2 << 3 | 2;
/// `ArrayValue.values` (field 1).
const KEY_ELEMENT: u8 = 1 << 3 | 2;
/// `Write.current_document` = `Precondition{exists: false}` (field 4 holding field 1).
const PRECONDITION_MISSING: [u8; 4] = [4 << 3 | 2, 2, 1 << 3, 0];
/// `Value`'s string and bytes kinds (fields 17 and 18): two-byte keys.
const KEY_STRING_2: [u8; 2] = [KEY_STRING | 0x80, 1];
const KEY_BYTES_2: [u8; 2] = [KEY_BYTES | 0x80, 1];
/// `Timestamp.seconds`/`nanos` and `LatLng.latitude`/`longitude`.
const KEY_SECONDS: u8 = 1 << 3;
const KEY_NANOS: u8 = 2 << 3;
const KEY_LATITUDE: u8 = 1 << 3 | 1;
const KEY_LONGITUDE: u8 = 2 << 3 | 1;

/// Appends the protobuf encoding of the `Write` that restores `doc` under `mode` (an
/// update of `doc.name` with the line's fields; for the skip and fail modes, the
/// precondition that the document does not exist) to `out`: the bytes prost writes for
/// [`slow_write_bytes`]'s `Write`, with map entries in key order, or its error.
pub fn write_bytes(doc: &JsonDocument, mode: ConflictMode, out: &mut Vec<u8>) -> Result<()> {
    if fast_write_bytes(doc, mode, out) {
        return Ok(());
    }
    slow_write_bytes(doc, mode, out)
}

/// [`write_bytes`] for each document of a batch, on one of tokio's blocking threads: a
/// batch is milliseconds of CPU, and the task writing a restore's batches would otherwise
/// encode them one after another. A document that does not encode gets its error's text.
/// Needs a tokio runtime (the connector's calls run in one).
pub async fn write_bytes_batch(
    docs: Vec<JsonDocument>,
    mode: ConflictMode,
) -> Result<(Vec<JsonDocument>, Vec<std::result::Result<Vec<u8>, String>>)> {
    tokio::task::spawn_blocking(move || {
        let writes = docs
            .iter()
            .map(|doc| {
                let mut bytes = Vec::with_capacity(doc.json().len());
                write_bytes(doc, mode, &mut bytes)
                    .map(|()| bytes)
                    .map_err(|e| e.to_string())
            })
            .collect();
        (docs, writes)
    })
    .await
    .map_err(|e| Error::InvalidInput(format!("internal error: encoding writes failed: {e}")))
}

/// [`write_bytes`]'s direct path alone: `false` (and `out` as it was) when the line needs
/// the slow path.
pub fn fast_write_bytes(doc: &JsonDocument, mode: ConflictMode, out: &mut Vec<u8>) -> bool {
    let start = out.len();
    let mut w = ProtoWriter {
        out: &mut *out,
        open: Vec::new(),
        depth: 0,
    };
    w.open(&[KEY_UPDATE]);
    w.bytes_field(&[KEY_NAME], doc.name().as_bytes());
    if visit_document(doc, &mut w) && w.open.len() == 1 {
        w.close();
        if mode != ConflictMode::Overwrite {
            out.extend_from_slice(&PRECONDITION_MISSING);
        }
        return true;
    }
    out.truncate(start);
    false
}

/// The reference for [`write_bytes`]: the line decoded to a core `Document`, converted to
/// prost's `Write` and encoded by prost.
pub fn slow_write_bytes(doc: &JsonDocument, mode: ConflictMode, out: &mut Vec<u8>) -> Result<()> {
    write_for(&doc.decode()?, mode)
        .encode(out)
        .expect("a Vec grows as needed");
    Ok(())
}

/// Writes protobuf into `out`, each length-delimited message opened with a one-byte length
/// that is widened (its content moved up) when the message turns out longer: most values
/// are under 128 bytes, so sizes are not computed twice.
struct ProtoWriter<'o> {
    out: &'o mut Vec<u8>,
    /// Where the content of each open message starts.
    open: Vec<usize>,
    /// Map and array values open: entries at depth 0 are the document's fields.
    depth: usize,
}

impl ProtoWriter<'_> {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.out.push(v as u8 | 0x80);
            v >>= 7;
        }
        self.out.push(v as u8);
    }

    fn open(&mut self, key: &[u8]) {
        self.out.extend_from_slice(key);
        self.out.push(0);
        self.open.push(self.out.len());
    }

    fn close(&mut self) {
        let start = self.open.pop().expect("an open message");
        let len = self.out.len() - start;
        if len < 0x80 {
            self.out[start - 1] = len as u8;
            return;
        }
        let mut prefix = [0u8; 10];
        let mut n = 0;
        let mut v = len as u64;
        while v >= 0x80 {
            prefix[n] = v as u8 | 0x80;
            v >>= 7;
            n += 1;
        }
        prefix[n] = v as u8;
        n += 1;
        self.out.resize(self.out.len() + n - 1, 0);
        self.out.copy_within(start..start + len, start + n - 1);
        self.out[start - 1..start - 1 + n].copy_from_slice(&prefix[..n]);
    }

    fn bytes_field(&mut self, key: &[u8], b: &[u8]) {
        self.out.extend_from_slice(key);
        self.varint(b.len() as u64);
        self.out.extend_from_slice(b);
    }

    fn fixed64(&mut self, key: u8, d: f64) {
        self.out.push(key);
        self.out.extend_from_slice(&d.to_bits().to_le_bytes());
    }
}

impl FieldsVisitor for ProtoWriter<'_> {
    fn entry_start(&mut self, key: &str) {
        self.open(&[if self.depth == 0 {
            KEY_DOCUMENT_ENTRY
        } else {
            KEY_MAP_ENTRY
        }]);
        // prost leaves out a map entry's key when it is the default (empty).
        if !key.is_empty() {
            self.bytes_field(&[KEY_ENTRY_KEY], key.as_bytes());
        }
        self.open(&[KEY_ENTRY_VALUE]);
    }

    fn entry_end(&mut self) {
        self.close();
        self.close();
    }

    fn element_start(&mut self) {
        self.open(&[KEY_ELEMENT]);
    }

    fn element_end(&mut self) {
        self.close();
    }

    fn null(&mut self) {
        self.out.extend_from_slice(&[KEY_NULL, 0]);
    }

    fn boolean(&mut self, b: bool) {
        self.out.extend_from_slice(&[KEY_BOOLEAN, u8::from(b)]);
    }

    fn integer(&mut self, i: i64) {
        self.out.push(KEY_INTEGER);
        self.varint(i as u64);
    }

    fn double(&mut self, d: f64) {
        self.fixed64(KEY_DOUBLE, d);
    }

    fn timestamp(&mut self, t: Timestamp) {
        self.open(&[KEY_TIMESTAMP]);
        // proto3 scalars: zero is left out.
        if t.seconds() != 0 {
            self.out.push(KEY_SECONDS);
            self.varint(t.seconds() as u64);
        }
        if t.nanos() != 0 {
            self.out.push(KEY_NANOS);
            self.varint(u64::from(t.nanos()));
        }
        self.close();
    }

    fn string(&mut self, s: &str) {
        self.bytes_field(&KEY_STRING_2, s.as_bytes());
    }

    fn reference(&mut self, r: &str) {
        self.bytes_field(&[KEY_REFERENCE], r.as_bytes());
    }

    fn bytes(&mut self, b: &[u8]) {
        self.bytes_field(&KEY_BYTES_2, b);
    }

    fn geo_point(&mut self, latitude: f64, longitude: f64) {
        self.open(&[KEY_GEO_POINT]);
        // prost leaves out a coordinate equal to 0.0, so -0.0 too.
        if latitude != 0.0 {
            self.fixed64(KEY_LATITUDE, latitude);
        }
        if longitude != 0.0 {
            self.fixed64(KEY_LONGITUDE, longitude);
        }
        self.close();
    }

    fn map_start(&mut self) {
        self.open(&[KEY_MAP]);
        self.depth += 1;
    }

    fn map_end(&mut self) {
        self.depth -= 1;
        self.close();
    }

    fn array_start(&mut self) {
        self.open(&[KEY_ARRAY]);
        self.depth += 1;
    }

    fn array_end(&mut self) {
        self.depth -= 1;
        self.close();
    }
}
