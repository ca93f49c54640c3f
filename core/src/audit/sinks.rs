//! Audit sinks: in memory, an append-only JSON Lines file, and a callback for the bindings.

use super::chain::{ChainAnchor, ChainHead, ChainState};
use super::{AuditEvent, AuditSink, RetentionReport};
use crate::model::Timestamp;
use crate::{Error, Result};
use async_trait::async_trait;
use serde_json::Value;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves consistent data (we never half-update state
    // before I/O succeeds), so poisoning is not an error here.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A trail read back from a sink.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuditTrail {
    /// The retention anchor the trail starts from, if it was ever cut.
    pub anchor: Option<ChainAnchor>,
    /// The events, oldest first.
    pub events: Vec<AuditEvent>,
    /// An incomplete last line (a crash during a write), if one was found; the events
    /// before it are intact.
    pub torn_tail: Option<TornTail>,
}

impl AuditTrail {
    /// Verifies the chain (see [`super::verify_chain`]).
    pub fn verify(&self) -> std::result::Result<ChainHead, super::ChainError> {
        super::verify_chain(&self.events, self.anchor.as_ref())
    }
}

/// An incomplete last line of a JSONL trail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TornTail {
    /// Its 1-based line number.
    pub line: usize,
    /// Its length in bytes.
    pub bytes: usize,
}

/// Index of the first event to keep: the oldest events before `cutoff` form a prefix that
/// retention drops (a later event with an older clock stops the cut, so the chain stays
/// contiguous).
fn retention_split(events: &[AuditEvent], cutoff: Timestamp) -> usize {
    events
        .iter()
        .position(|e| e.time().map_or(true, |t| t >= cutoff))
        .unwrap_or(events.len())
}

fn confirm(
    confirmation: &mut AuditEvent,
    anchor: Option<&ChainAnchor>,
    dropped: u64,
    cutoff: Timestamp,
) {
    let anchor_hash = anchor.map_or(super::GENESIS_HASH.to_string(), |a| a.prev_hash.clone());
    let d = &mut confirmation.details;
    d.insert("cutoff".into(), Value::String(cutoff.to_rfc3339_millis()));
    d.insert("dropped".into(), Value::from(dropped));
    d.insert("anchorHash".into(), Value::String(anchor_hash));
}

fn new_anchor(
    old: Option<&ChainAnchor>,
    last_dropped: &AuditEvent,
    dropped: usize,
    cutoff: Timestamp,
) -> ChainAnchor {
    ChainAnchor {
        prev_hash: last_dropped.hash.clone(),
        dropped: old.map_or(0, |a| a.dropped) + dropped as u64,
        cutoff: cutoff.to_rfc3339_millis(),
        cut_at: Timestamp::now().to_rfc3339_millis(),
    }
}

// ---------------------------------------------------------------------------------------
// Memory

#[derive(Debug)]
struct MemoryState {
    anchor: Option<ChainAnchor>,
    events: Vec<AuditEvent>,
    chain: ChainState,
}

/// Keeps the trail in memory (tests, the demo, short-lived sessions).
#[derive(Debug)]
pub struct MemoryAuditSink {
    state: Mutex<MemoryState>,
}

impl Default for MemoryAuditSink {
    fn default() -> Self {
        MemoryAuditSink::new()
    }
}

impl MemoryAuditSink {
    /// An empty trail.
    pub fn new() -> Self {
        MemoryAuditSink {
            state: Mutex::new(MemoryState {
                anchor: None,
                events: Vec::new(),
                chain: ChainState::genesis(),
            }),
        }
    }

    /// A copy of the events so far.
    pub fn events(&self) -> Vec<AuditEvent> {
        lock(&self.state).events.clone()
    }

    /// The number of events held.
    pub fn len(&self) -> usize {
        lock(&self.state).events.len()
    }

    /// Whether no event is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl AuditSink for MemoryAuditSink {
    async fn append(&self, events: &[AuditEvent]) -> Result<()> {
        let mut st = lock(&self.state);
        for e in events {
            let mut e = e.clone();
            st.chain.seal(&mut e);
            st.events.push(e);
        }
        Ok(())
    }

    fn head(&self) -> Option<ChainHead> {
        Some(lock(&self.state).chain.head())
    }

    async fn read(&self) -> Result<AuditTrail> {
        let st = lock(&self.state);
        Ok(AuditTrail {
            anchor: st.anchor.clone(),
            events: st.events.clone(),
            torn_tail: None,
        })
    }

    async fn apply_retention(
        &self,
        cutoff: Timestamp,
        mut confirmation: AuditEvent,
    ) -> Result<RetentionReport> {
        let mut st = lock(&self.state);
        let k = retention_split(&st.events, cutoff);
        if k > 0 {
            let anchor = new_anchor(st.anchor.as_ref(), &st.events[k - 1], k, cutoff);
            st.events.drain(..k);
            st.anchor = Some(anchor);
        }
        let kept = st.events.len() as u64;
        confirm(&mut confirmation, st.anchor.as_ref(), k as u64, cutoff);
        st.chain.seal(&mut confirmation);
        st.events.push(confirmation);
        Ok(RetentionReport {
            dropped: k as u64,
            kept,
            cutoff: cutoff.to_rfc3339_millis(),
            anchor: st.anchor.clone(),
        })
    }
}

// ---------------------------------------------------------------------------------------
// JSON Lines

/// When the JSONL sink calls `fsync`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// After every event: slowest, loses nothing.
    PerEvent,
    /// After every `append` call (one batch): one fsync per operation.
    #[default]
    PerBatch,
}

#[derive(Debug)]
struct JsonlState {
    file: File,
    chain: ChainState,
}

/// An append-only JSON Lines file: one event per line, optionally preceded by one
/// `{"anchor": {...}}` line after retention. Opening a file whose last line is torn (a
/// crash mid-write) moves that line to `<file>.torn` and reports it via
/// [`JsonlAuditSink::recovered_torn_tail`]; the complete events before it are kept.
///
/// One writer per file: two processes appending to the same file would fork the chain.
#[derive(Debug)]
pub struct JsonlAuditSink {
    path: PathBuf,
    fsync: FsyncPolicy,
    state: Mutex<JsonlState>,
    recovered: Option<TornTail>,
}

const ANCHOR_PREFIX: &str = "{\"anchor\":";

#[derive(serde::Serialize, serde::Deserialize)]
struct AnchorLine {
    anchor: ChainAnchor,
}

/// Parses a JSONL trail. Returns the trail and the byte length of its complete lines.
fn parse_jsonl(bytes: &[u8], origin: &Path) -> Result<(AuditTrail, usize)> {
    let mut trail = AuditTrail::default();
    let mut offset = 0;
    let mut line_no = 0;
    while offset < bytes.len() {
        line_no += 1;
        let rest = &bytes[offset..];
        let (line, complete) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], true),
            None => (rest, false),
        };
        let parsed = std::str::from_utf8(line).ok().and_then(|text| {
            if line_no == 1 && text.starts_with(ANCHOR_PREFIX) {
                serde_json::from_str::<AnchorLine>(text)
                    .ok()
                    .map(|a| Err(a.anchor))
            } else {
                serde_json::from_str::<AuditEvent>(text).ok().map(Ok)
            }
        });
        if !complete {
            // A last line without its newline is a torn write, unless it is a whole event
            // whose hash checks out (the crash hit between the event and its newline).
            match parsed {
                Some(Ok(e)) if super::event_hash(&e) == e.hash => {
                    trail.events.push(e);
                    return Ok((trail, bytes.len()));
                }
                _ => {
                    trail.torn_tail = Some(TornTail {
                        line: line_no,
                        bytes: line.len(),
                    });
                    return Ok((trail, offset));
                }
            }
        }
        match parsed {
            Some(Ok(e)) => trail.events.push(e),
            Some(Err(anchor)) => trail.anchor = Some(anchor),
            None if line.is_empty() => {}
            None => {
                return Err(Error::Audit(format!(
                    "{}: line {line_no} is not an audit event; the file was edited or corrupted \
                     (lines before {line_no} are intact): restore it from a copy",
                    origin.display()
                )));
            }
        }
        offset += line.len() + 1;
    }
    Ok((trail, offset))
}

/// Reads a JSONL trail. A torn last line is reported in [`AuditTrail::torn_tail`] while the
/// events before it are returned; a missing file is an empty trail.
pub fn read_jsonl(path: &Path) -> Result<AuditTrail> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(parse_jsonl(&bytes, path)?.0),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(AuditTrail::default()),
        Err(e) => Err(Error::io(
            format!("reading audit log {}", path.display()),
            e,
        )),
    }
}

fn io_err(path: &Path, what: &str) -> impl FnOnce(std::io::Error) -> Error {
    let context = format!("{what} audit log {}", path.display());
    move |e| Error::io(context, e)
}

impl JsonlAuditSink {
    /// Opens (or creates) a JSONL trail for appending, recovering a torn last line.
    pub fn open(path: impl Into<PathBuf>, fsync: FsyncPolicy) -> Result<Self> {
        let path = path.into();
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io_err(&path, "opening"))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(io_err(&path, "reading"))?;
        let (trail, good) = parse_jsonl(&bytes, &path)?;
        let mut recovered = None;
        if let Some(torn) = trail.torn_tail.clone() {
            let mut torn_path = path.clone().into_os_string();
            torn_path.push(".torn");
            let mut keep = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&torn_path)
                .map_err(io_err(&path, "saving the torn line of"))?;
            keep.write_all(&bytes[good..])
                .and_then(|_| keep.write_all(b"\n"))
                .and_then(|_| keep.sync_all())
                .map_err(io_err(&path, "saving the torn line of"))?;
            file.set_len(good as u64)
                .and_then(|_| file.sync_all())
                .map_err(io_err(&path, "truncating the torn line of"))?;
            recovered = Some(torn);
        } else if good > 0 && bytes[good - 1] != b'\n' {
            // A complete last event lacking only its newline: finish the line.
            file.write_all(b"\n")
                .and_then(|_| file.sync_data())
                .map_err(io_err(&path, "writing"))?;
        }
        let chain = chain_state(&trail);
        file.seek(SeekFrom::End(0))
            .map_err(io_err(&path, "seeking"))?;
        Ok(JsonlAuditSink {
            path,
            fsync,
            state: Mutex::new(JsonlState { file, chain }),
            recovered,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The torn last line found (and moved to `<file>.torn`) when the file was opened.
    pub fn recovered_torn_tail(&self) -> Option<&TornTail> {
        self.recovered.as_ref()
    }
}

fn chain_state(trail: &AuditTrail) -> ChainState {
    let base = trail.anchor.as_ref().map_or(0, |a| a.dropped);
    match (trail.events.last(), &trail.anchor) {
        (Some(e), _) => ChainState {
            position: base + trail.events.len() as u64,
            last: e.hash.clone(),
        },
        (None, Some(a)) => ChainState {
            position: base,
            last: a.prev_hash.clone(),
        },
        (None, None) => ChainState::genesis(),
    }
}

fn event_line(e: &AuditEvent) -> Result<Vec<u8>> {
    let mut line = serde_json::to_vec(e)
        .map_err(|err| Error::Audit(format!("could not encode audit event: {err}")))?;
    line.push(b'\n');
    Ok(line)
}

#[async_trait]
impl AuditSink for JsonlAuditSink {
    async fn append(&self, events: &[AuditEvent]) -> Result<()> {
        let mut st = lock(&self.state);
        // Chain on a copy of the state: it only advances once the bytes are durable.
        let mut chain = st.chain.clone();
        let mut batch = Vec::new();
        for e in events {
            let mut e = e.clone();
            chain.seal(&mut e);
            let line = event_line(&e)?;
            if self.fsync == FsyncPolicy::PerEvent {
                st.file
                    .write_all(&line)
                    .and_then(|_| st.file.sync_data())
                    .map_err(io_err(&self.path, "appending to"))?;
            } else {
                batch.extend_from_slice(&line);
            }
        }
        if !batch.is_empty() {
            st.file
                .write_all(&batch)
                .and_then(|_| st.file.sync_data())
                .map_err(io_err(&self.path, "appending to"))?;
        }
        st.chain = chain;
        Ok(())
    }

    fn head(&self) -> Option<ChainHead> {
        Some(lock(&self.state).chain.head())
    }

    async fn read(&self) -> Result<AuditTrail> {
        let _st = lock(&self.state); // no append while reading
        read_jsonl(&self.path)
    }

    async fn apply_retention(
        &self,
        cutoff: Timestamp,
        mut confirmation: AuditEvent,
    ) -> Result<RetentionReport> {
        let mut st = lock(&self.state);
        let mut trail = read_jsonl(&self.path)?;
        let k = retention_split(&trail.events, cutoff);
        if k > 0 {
            let anchor = new_anchor(trail.anchor.as_ref(), &trail.events[k - 1], k, cutoff);
            trail.events.drain(..k);
            trail.anchor = Some(anchor);
            // Write the cut trail beside the file and rename it over: a crash leaves either
            // the old or the new trail, never half of one.
            let mut tmp = self.path.clone().into_os_string();
            tmp.push(".retention.tmp");
            let tmp = PathBuf::from(tmp);
            let mut out = Vec::new();
            let anchor_line = AnchorLine {
                anchor: trail.anchor.clone().expect("set above"),
            };
            out.extend_from_slice(
                &serde_json::to_vec(&anchor_line)
                    .map_err(|e| Error::Audit(format!("could not encode anchor: {e}")))?,
            );
            out.push(b'\n');
            for e in &trail.events {
                out.extend_from_slice(&event_line(e)?);
            }
            let mut f = File::create(&tmp).map_err(io_err(&tmp, "writing"))?;
            f.write_all(&out)
                .and_then(|_| f.sync_all())
                .map_err(io_err(&tmp, "writing"))?;
            std::fs::rename(&tmp, &self.path).map_err(io_err(&self.path, "replacing"))?;
            if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                // Make the rename durable too; not all platforms can open a directory.
                if let Ok(d) = File::open(dir) {
                    let _ = d.sync_all();
                }
            }
            st.file = OpenOptions::new()
                .read(true)
                .append(true)
                .open(&self.path)
                .map_err(io_err(&self.path, "reopening"))?;
        }
        let kept = trail.events.len() as u64;
        confirm(&mut confirmation, trail.anchor.as_ref(), k as u64, cutoff);
        let mut chain = chain_state(&trail);
        chain.seal(&mut confirmation);
        st.file
            .write_all(&event_line(&confirmation)?)
            .and_then(|_| st.file.sync_data())
            .map_err(io_err(&self.path, "appending to"))?;
        st.chain = chain;
        Ok(RetentionReport {
            dropped: k as u64,
            kept,
            cutoff: cutoff.to_rfc3339_millis(),
            anchor: trail.anchor,
        })
    }
}

// ---------------------------------------------------------------------------------------
// Callback

/// The function a [`CallbackAuditSink`] hands chained events to.
pub type AuditCallback = dyn Fn(&[AuditEvent]) -> Result<()> + Send + Sync;

/// Chains events and hands them to a function (the bindings pass Python/JS/Swift
/// callbacks). If the callback fails, the events count as not recorded.
pub struct CallbackAuditSink {
    callback: Arc<AuditCallback>,
    chain: Mutex<ChainState>,
}

impl std::fmt::Debug for CallbackAuditSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackAuditSink")
            .field("head", &lock(&self.chain).head())
            .finish_non_exhaustive()
    }
}

impl CallbackAuditSink {
    /// A sink starting a new chain.
    pub fn new(callback: impl Fn(&[AuditEvent]) -> Result<()> + Send + Sync + 'static) -> Self {
        CallbackAuditSink {
            callback: Arc::new(callback),
            chain: Mutex::new(ChainState::genesis()),
        }
    }

    /// Continues an existing chain from its recorded head.
    pub fn with_head(self, head: ChainHead) -> Self {
        *lock(&self.chain) = ChainState {
            position: head.position,
            last: head.hash,
        };
        self
    }
}

#[async_trait]
impl AuditSink for CallbackAuditSink {
    async fn append(&self, events: &[AuditEvent]) -> Result<()> {
        let mut st = lock(&self.chain);
        let mut chain = st.clone();
        let sealed: Vec<AuditEvent> = events
            .iter()
            .map(|e| {
                let mut e = e.clone();
                chain.seal(&mut e);
                e
            })
            .collect();
        (self.callback)(&sealed).map_err(|e| match e {
            Error::Audit(_) => e,
            other => Error::Audit(format!("the audit callback failed: {other}")),
        })?;
        *st = chain;
        Ok(())
    }

    fn head(&self) -> Option<ChainHead> {
        Some(lock(&self.chain).head())
    }
}
