//! Export for portability: a backup's documents, decrypted, as plain Firestore REST JSON
//! (NDJSON or one JSON array) or as flat CSV, one file per collection.
//!
//! Parts are downloaded, checked against the manifest and written out one at a time, so
//! memory stays at a few parts whatever the backup's size; parts whose authenticated name
//! range lies outside the chosen collections are never downloaded.
//!
//! CSV layout (one file per collection path, e.g. `users.csv`, `users.posts.csv` for
//! `users/{id}/posts`; each collection id percent-encoded except `A-Z a-z 0-9 _ -`):
//! columns `__path__` (relative document path), `__create_time__`, `__update_time__`,
//! then each top-level field name seen in that collection, sorted. Cells: strings,
//! references (full resource name) as text; integers and doubles in decimal (`NaN`,
//! `Infinity`, `-Infinity`); booleans `true`/`false`; null and absent fields empty;
//! timestamps RFC 3339; bytes base64; geopoints `lat,lng`; arrays and maps as their
//! Firestore REST JSON. Text cells starting with `=`, `+`, `-`, `@`, tab or carriage
//! return get a leading `'` so spreadsheets do not run them as formulas (OWASP's CSV
//! injection advice); numbers are never altered. Columns are found in a first pass over
//! the parts, so CSV reads the backup twice.

use super::codec;
use super::pool::{Pool, default_parallelism};
use super::progress::CancellationToken;
use super::repo::{Opened, Repository};
use super::verify::fetch_parts;
use crate::keys::KeyProvider;
use crate::model::{DatabaseId, Document, Value, json};
use crate::{Error, Result};
use base64::Engine as _;
use futures::StreamExt;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

/// Largest number of distinct columns in one collection's CSV.
const MAX_CSV_COLUMNS: usize = 20_000;

/// Output format of an export.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// `documents.ndjson`: one Firestore REST JSON document per line (as in the parts).
    #[default]
    Ndjson,
    /// `documents.json`: one JSON array of Firestore REST JSON documents.
    Json,
    /// One flat CSV per collection (see the module documentation).
    Csv,
}

impl std::str::FromStr for ExportFormat {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "ndjson" => Ok(ExportFormat::Ndjson),
            "json" => Ok(ExportFormat::Json),
            "csv" => Ok(ExportFormat::Csv),
            other => Err(Error::InvalidInput(format!(
                "unknown export format {other:?}; use ndjson, json or csv"
            ))),
        }
    }
}

/// What to export.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportOptions {
    /// Top-level collections to export (with their subcollections); empty means all.
    pub collections: Vec<String>,
    /// The output format.
    pub format: ExportFormat,
}

/// Where an export's files go: a directory, or one stream (stdout).
pub trait ExportOutput: Send {
    /// Opens output file `name` (`documents.ndjson`, `users.csv`, …) for writing.
    fn create(&mut self, name: &str) -> Result<Box<dyn Write + Send>>;
}

/// Files in a directory (created if missing; existing files of the same name are
/// replaced).
#[derive(Debug)]
pub struct DirOutput(pub std::path::PathBuf);

impl ExportOutput for DirOutput {
    fn create(&mut self, name: &str) -> Result<Box<dyn Write + Send>> {
        std::fs::create_dir_all(&self.0)
            .map_err(|e| Error::io(format!("creating {}", self.0.display()), e))?;
        let path = self.0.join(name);
        let f = std::fs::File::create(&path)
            .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
        Ok(Box::new(std::io::BufWriter::with_capacity(1 << 16, f)))
    }
}

/// One stream taking a single file (NDJSON, JSON, or the CSV of a single collection).
pub struct StreamOutput(Option<Box<dyn Write + Send>>);

impl StreamOutput {
    /// Writes the export to `w`.
    pub fn new(w: Box<dyn Write + Send>) -> Self {
        StreamOutput(Some(w))
    }
}

impl ExportOutput for StreamOutput {
    fn create(&mut self, _name: &str) -> Result<Box<dyn Write + Send>> {
        self.0.take().ok_or_else(|| {
            Error::InvalidInput(
                "this export makes several files (one CSV per collection); write it to a \
                 directory, or choose one collection"
                    .into(),
            )
        })
    }
}

/// What an export wrote.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ExportReport {
    /// Backup id.
    pub backup_id: String,
    /// The format.
    pub format: ExportFormat,
    /// Documents written.
    pub documents: u64,
    /// Files written, in the order they were opened.
    pub files: Vec<String>,
    /// Parts downloaded (the rest were ruled out by their name range).
    pub parts_read: usize,
}

fn io_err(e: std::io::Error) -> Error {
    Error::io("writing the export", e)
}

/// Exports backup `backup_id` to `out`.
pub async fn export(
    repo: &Repository,
    keys: &dyn KeyProvider,
    backup_id: &str,
    opts: &ExportOptions,
    out: &mut dyn ExportOutput,
    cancel: &CancellationToken,
) -> Result<ExportReport> {
    let opened = repo.open_backup(backup_id, keys).await?;
    super::head::check_generation(repo, keys, backup_id, opened.manifest.generation).await?;
    let m = &opened.manifest;
    let wanted: BTreeSet<&str> = opts.collections.iter().map(String::as_str).collect();
    let root_of = |rel: &str| rel.split('/').next().unwrap_or_default().to_string();
    let indices: Vec<usize> = (0..m.parts.len())
        .filter(|&i| {
            let p = &m.parts[i];
            let (a, b) = (root_of(&p.first), root_of(&p.last));
            wanted.is_empty()
                || wanted
                    .iter()
                    .any(|c| a.as_bytes() <= c.as_bytes() && c.as_bytes() <= b.as_bytes())
        })
        .collect();
    let root = format!(
        "{}/",
        DatabaseId::new(&m.project, &m.database)?.documents_root()
    );
    let keep = |rel: &str| wanted.is_empty() || wanted.contains(root_of(rel).as_str());
    let pool = Pool::new(default_parallelism(), "export")?;
    let mut report = ExportReport {
        backup_id: backup_id.to_string(),
        format: opts.format,
        documents: 0,
        files: Vec::new(),
        parts_read: indices.len(),
    };
    match opts.format {
        ExportFormat::Ndjson | ExportFormat::Json => {
            let json = opts.format == ExportFormat::Json;
            let name = if json {
                "documents.json"
            } else {
                "documents.ndjson"
            };
            let mut w = out.create(name)?;
            report.files.push(name.to_string());
            if json {
                w.write_all(b"[").map_err(io_err)?;
            }
            let mut buf = Vec::with_capacity(1 << 16);
            let mut parts = std::pin::pin!(stream_parts(repo, &opened, &pool, indices));
            while let Some(docs) = parts.next().await {
                cancel.check()?;
                for doc in docs? {
                    let rel = codec::relative_name(&doc.name, &root).unwrap_or(&doc.name);
                    if !keep(rel) {
                        continue;
                    }
                    buf.clear();
                    if json {
                        buf.extend_from_slice(if report.documents == 0 { b"\n" } else { b",\n" });
                    }
                    json::encode_document_to(&doc, &mut buf);
                    if !json {
                        buf.push(b'\n');
                    }
                    w.write_all(&buf).map_err(io_err)?;
                    report.documents += 1;
                }
            }
            if json {
                w.write_all(b"\n]\n").map_err(io_err)?;
            }
            w.flush().map_err(io_err)?;
        }
        ExportFormat::Csv => {
            // Pass 1: each collection's columns.
            let mut columns: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            let mut parts = std::pin::pin!(stream_parts(repo, &opened, &pool, indices.clone()));
            while let Some(docs) = parts.next().await {
                cancel.check()?;
                for doc in docs? {
                    let rel = codec::relative_name(&doc.name, &root).unwrap_or(&doc.name);
                    if !keep(rel) {
                        continue;
                    }
                    let cols = columns.entry(csv_file_name(rel)).or_default();
                    cols.extend(doc.fields.keys().cloned());
                    if cols.len() > MAX_CSV_COLUMNS {
                        return Err(Error::InvalidInput(format!(
                            "a collection has over {MAX_CSV_COLUMNS} distinct fields: too many \
                             for CSV; export it as ndjson or json"
                        )));
                    }
                }
            }
            // Pass 2: rows, each collection's file open once.
            let mut writers: BTreeMap<String, (Box<dyn Write + Send>, Vec<String>)> =
                BTreeMap::new();
            let mut parts = std::pin::pin!(stream_parts(repo, &opened, &pool, indices));
            let mut row = Vec::with_capacity(1 << 12);
            while let Some(docs) = parts.next().await {
                cancel.check()?;
                for doc in docs? {
                    let rel = codec::relative_name(&doc.name, &root).unwrap_or(&doc.name);
                    if !keep(rel) {
                        continue;
                    }
                    let file = csv_file_name(rel);
                    if !writers.contains_key(&file) {
                        let cols: Vec<String> = columns
                            .get(&file)
                            .map(|c| c.iter().cloned().collect())
                            .unwrap_or_default();
                        let mut w = out.create(&file)?;
                        report.files.push(file.clone());
                        row.clear();
                        let header = ["__path__", "__create_time__", "__update_time__"]
                            .into_iter()
                            .map(str::to_string)
                            .chain(cols.iter().cloned());
                        for (i, h) in header.enumerate() {
                            if i > 0 {
                                row.push(b',');
                            }
                            csv_text(&mut row, &h);
                        }
                        row.extend_from_slice(b"\r\n");
                        w.write_all(&row).map_err(io_err)?;
                        writers.insert(file.clone(), (w, cols));
                    }
                    let (w, cols) = writers.get_mut(&file).expect("inserted above");
                    row.clear();
                    csv_row(&mut row, rel, &doc, cols);
                    w.write_all(&row).map_err(io_err)?;
                    report.documents += 1;
                }
            }
            for (_, (mut w, _)) in writers {
                w.flush().map_err(io_err)?;
            }
        }
    }
    Ok(report)
}

/// The documents of each chosen part, checked against the manifest, in name order.
fn stream_parts<'a>(
    repo: &'a Repository,
    opened: &'a Opened,
    pool: &'a Pool,
    indices: Vec<usize>,
) -> impl futures::Stream<Item = Result<Vec<Document>>> + 'a {
    fetch_parts(repo, opened, pool, indices, 3).map(move |(_, r)| {
        r.map_err(|p| super::verify::problems_error(&opened.id, std::slice::from_ref(&p)))
    })
}

/// `users/u1/posts/p1` → `users.posts.csv`.
fn csv_file_name(rel: &str) -> String {
    let segs: Vec<&str> = rel.split('/').collect();
    let mut name = String::new();
    for (i, c) in segs.iter().step_by(2).take(segs.len() / 2).enumerate() {
        if i > 0 {
            name.push('.');
        }
        for b in c.bytes() {
            if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
                name.push(char::from(b));
            } else {
                name.push_str(&format!("%{b:02X}"));
            }
        }
    }
    name.push_str(".csv");
    name
}

/// A quoted CSV text cell, defused against formula injection.
fn csv_text(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        out.push(b'\'');
    }
    for b in s.bytes() {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

fn csv_row(out: &mut Vec<u8>, rel: &str, doc: &Document, cols: &[String]) {
    csv_text(out, rel);
    out.push(b',');
    if let Some(t) = &doc.create_time {
        out.extend_from_slice(t.to_rfc3339().as_bytes());
    }
    out.push(b',');
    if let Some(t) = &doc.update_time {
        out.extend_from_slice(t.to_rfc3339().as_bytes());
    }
    for c in cols {
        out.push(b',');
        if let Some(v) = doc.fields.get(c) {
            csv_value(out, v);
        }
    }
    out.extend_from_slice(b"\r\n");
}

fn csv_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => {}
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Integer(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Value::Double(d) => {
            let text = if d.is_nan() {
                "NaN".to_string()
            } else if d.is_infinite() {
                if *d > 0.0 { "Infinity" } else { "-Infinity" }.to_string()
            } else {
                format!("{d:?}")
            };
            out.extend_from_slice(text.as_bytes());
        }
        Value::Timestamp(t) => out.extend_from_slice(t.to_rfc3339().as_bytes()),
        Value::String(s) | Value::Reference(s) => csv_text(out, s),
        Value::Bytes(b) => out.extend_from_slice(
            base64::engine::general_purpose::STANDARD
                .encode(b)
                .as_bytes(),
        ),
        Value::GeoPoint(g) => {
            out.extend_from_slice(format!("\"{:?},{:?}\"", g.latitude, g.longitude).as_bytes())
        }
        Value::Array(_) | Value::Map(_) => {
            let mut j = Vec::new();
            json::encode_value_to(v, &mut j);
            csv_text(out, &String::from_utf8_lossy(&j));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_defused() {
        let mut out = Vec::new();
        csv_text(&mut out, "=HYPERLINK(\"http://x\")");
        assert_eq!(out, b"\"'=HYPERLINK(\"\"http://x\"\")\"");
        out.clear();
        csv_value(&mut out, &Value::Integer(-5));
        assert_eq!(out, b"-5");
        assert_eq!(csv_file_name("users/u1/posts/p1"), "users.posts.csv");
        assert_eq!(csv_file_name("a.b/x"), "a%2Eb.csv");
    }
}
