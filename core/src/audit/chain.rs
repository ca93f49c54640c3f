//! The hash chain: canonical hashing of events, incremental verification, anchors.

use super::AuditEvent;
use crate::Error;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt;

/// `prevHash` of the first event of a trail that has never been cut.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Domain separation, so an event hash can never collide with another firekeep hash.
const DOMAIN: &[u8] = b"firekeep-audit-v1\n";

/// The hash of an event: lower-case hex SHA-256 of `firekeep-audit-v1\n` followed by the
/// event's canonical JSON without its `hash` field (object keys sorted at every level, no
/// whitespace, serde_json's number and string encoding). `prevHash` is included, which is
/// what links the chain.
pub fn event_hash(event: &AuditEvent) -> String {
    let mut buf = Vec::with_capacity(512);
    buf.extend_from_slice(DOMAIN);
    canonical_event(event, &mut buf);
    hex(&Sha256::digest(&buf))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// A JSON string exactly as serde_json escapes it (`\"`, `\\`, `\n`-style short escapes,
/// `\u00xx` for other control characters), written by hand because this runs for every
/// event of every verification.
fn put_str(buf: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    buf.reserve(bytes.len() + 2);
    buf.push(b'"');
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b >= 0x20 && b != b'"' && b != b'\\' {
            continue;
        }
        buf.extend_from_slice(&bytes[start..i]);
        start = i + 1;
        match b {
            b'"' => buf.extend_from_slice(b"\\\""),
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            0x08 => buf.extend_from_slice(b"\\b"),
            0x0c => buf.extend_from_slice(b"\\f"),
            _ => buf.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize],
                HEX[(b & 15) as usize],
            ]),
        }
    }
    buf.extend_from_slice(&bytes[start..]);
    buf.push(b'"');
}

fn put_opt(buf: &mut Vec<u8>, s: &Option<String>) {
    match s {
        Some(s) => put_str(buf, s),
        None => buf.extend_from_slice(b"null"),
    }
}

/// Writes the event's fields in sorted key order (the struct is fixed, so the order is too).
fn canonical_event(e: &AuditEvent, buf: &mut Vec<u8>) {
    buf.extend_from_slice(b"{\"action\":");
    put_str(buf, &e.action);
    buf.extend_from_slice(b",\"actor\":{\"email\":");
    put_opt(buf, &e.actor.email);
    buf.extend_from_slice(b",\"id\":");
    put_str(buf, &e.actor.id);
    buf.extend_from_slice(b",\"type\":");
    put_str(buf, &e.actor.kind);
    buf.extend_from_slice(b"},\"context\":{\"ip\":");
    put_opt(buf, &e.context.ip);
    buf.extend_from_slice(b",\"location\":");
    put_opt(buf, &e.context.location);
    buf.extend_from_slice(b",\"userAgent\":");
    put_opt(buf, &e.context.user_agent);
    buf.extend_from_slice(b"},\"details\":");
    canonical_map(&e.details, buf);
    buf.extend_from_slice(b",\"id\":");
    put_str(buf, &e.id);
    buf.extend_from_slice(b",\"organization\":{\"id\":");
    put_str(buf, &e.organization.id);
    buf.extend_from_slice(b"},\"prevHash\":");
    put_str(buf, &e.prev_hash);
    buf.extend_from_slice(b",\"resource\":{\"id\":");
    put_str(buf, &e.resource.id);
    buf.extend_from_slice(b",\"type\":");
    put_str(buf, &e.resource.kind);
    buf.extend_from_slice(b"},\"timestamp\":");
    put_str(buf, &e.timestamp);
    buf.push(b'}');
}

// Sorting here (rather than trusting the map's order) keeps hashes stable whether or not
// serde_json's `preserve_order` feature is enabled somewhere in the build.
fn canonical_map(m: &serde_json::Map<String, Value>, buf: &mut Vec<u8>) {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort_unstable();
    buf.push(b'{');
    for (i, k) in keys.into_iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        put_str(buf, k);
        buf.push(b':');
        canonical_value(&m[k], buf);
    }
    buf.push(b'}');
}

fn canonical_value(v: &Value, buf: &mut Vec<u8>) {
    match v {
        Value::Object(m) => canonical_map(m, buf),
        Value::Array(a) => {
            buf.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                canonical_value(x, buf);
            }
            buf.push(b']');
        }
        Value::String(s) => put_str(buf, s),
        Value::Number(n) => buf.extend_from_slice(n.to_string().as_bytes()),
        Value::Bool(b) => buf.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Null => buf.extend_from_slice(b"null"),
    }
}

/// Where a trail starts after retention cut its oldest events: the first kept event's
/// `prevHash` must equal `prevHash` here, and a chained `audit.retention_applied` event with
/// `details.anchorHash` equal to it must follow (so the anchor itself cannot be forged
/// without breaking the chain).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainAnchor {
    /// `hash` of the last dropped event.
    pub prev_hash: String,
    /// How many events were dropped in total since the trail began.
    pub dropped: u64,
    /// Events before this instant (RFC 3339) were dropped by the last cut.
    pub cutoff: String,
    /// When the cut was made (RFC 3339).
    pub cut_at: String,
}

/// The end of a verified chain: the absolute position (events ever appended, dropped ones
/// included) and the last `hash`. Recording it elsewhere lets [`verify_chain_with_head`]
/// detect deletion of the newest events, which no chain can detect on its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    /// Number of events ever appended (including ones dropped by retention).
    pub position: u64,
    /// `hash` of the newest event (or the anchor's / genesis hash if there is none).
    pub hash: String,
}

/// What kind of break [`verify_chain`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainErrorKind {
    /// The event's content no longer matches its own `hash`: it was edited.
    Edited,
    /// The event does not follow the one before it: events were deleted, reordered, or
    /// the previous event was edited and re-hashed.
    Broken,
    /// The event is followed by an event that links to the one before it: it was inserted.
    Inserted,
    /// The trail ends before the recorded head: the newest events were deleted.
    Truncated,
    /// The trail starts with an anchor that no `audit.retention_applied` event confirms.
    AnchorUnconfirmed,
}

/// A chain break: the index (0-based, in the events as read) of the first bad event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainError {
    /// Index of the first event that was edited, inserted, or where events are missing
    /// or out of order.
    pub index: usize,
    /// What was found there.
    pub kind: ChainErrorKind,
}

impl fmt::Display for ChainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = self.index;
        match self.kind {
            ChainErrorKind::Edited => write!(
                f,
                "audit event {i} was modified: its content does not match its hash"
            ),
            ChainErrorKind::Broken => write!(
                f,
                "audit event {i} does not follow the event before it: events were deleted or \
                 reordered here (or the event before it was edited and re-hashed)"
            ),
            ChainErrorKind::Inserted => write!(
                f,
                "audit event {i} was inserted: the event after it links to the event before it"
            ),
            ChainErrorKind::Truncated => write!(
                f,
                "the audit trail ends at event {i} but the recorded head is later: the newest \
                 events were deleted"
            ),
            ChainErrorKind::AnchorUnconfirmed => f.write_str(
                "the audit trail starts at an anchor that no audit.retention_applied event \
                 confirms: events were dropped outside of retention",
            ),
        }?;
        f.write_str("; restore the trail from a copy and investigate")
    }
}

impl std::error::Error for ChainError {}

impl From<ChainError> for Error {
    fn from(e: ChainError) -> Self {
        Error::Audit(e.to_string())
    }
}

/// Verifies a trail one event at a time, in O(1) memory: feed events with
/// [`ChainVerifier::push`]; the first error is the first bad index.
#[derive(Clone, Debug)]
pub struct ChainVerifier {
    index: usize,
    base: u64,
    expected_prev: String,
    before_prev: Option<String>,
}

impl ChainVerifier {
    /// A verifier for a trail starting at genesis or at `anchor`.
    pub fn new(anchor: Option<&ChainAnchor>) -> Self {
        ChainVerifier {
            index: 0,
            base: anchor.map_or(0, |a| a.dropped),
            expected_prev: anchor.map_or(GENESIS_HASH.to_string(), |a| a.prev_hash.clone()),
            before_prev: None,
        }
    }

    /// A verifier that continues after `index` events already checked, whose last two hashes
    /// were `last` and `before_last` (for incremental verification of appended events).
    pub fn resume(index: usize, last: String, before_last: Option<String>) -> Self {
        ChainVerifier {
            index,
            base: 0,
            expected_prev: last,
            before_prev: before_last,
        }
    }

    /// Checks the next event.
    pub fn push(&mut self, event: &AuditEvent) -> Result<(), ChainError> {
        if event_hash(event) != event.hash {
            return Err(self.error(self.index, ChainErrorKind::Edited));
        }
        if event.prev_hash != self.expected_prev {
            // Linking past the previous event means the previous event was slipped in.
            if self.index > 0 && self.before_prev.as_deref() == Some(event.prev_hash.as_str()) {
                return Err(self.error(self.index - 1, ChainErrorKind::Inserted));
            }
            return Err(self.error(self.index, ChainErrorKind::Broken));
        }
        let prev = std::mem::replace(&mut self.expected_prev, event.hash.clone());
        self.before_prev = Some(prev);
        self.index += 1;
        Ok(())
    }

    /// The head after the events pushed so far.
    pub fn head(&self) -> ChainHead {
        ChainHead {
            position: self.base + self.index as u64,
            hash: self.expected_prev.clone(),
        }
    }

    fn error(&self, index: usize, kind: ChainErrorKind) -> ChainError {
        ChainError { index, kind }
    }
}

/// Verifies a whole trail (starting at genesis, or at `anchor` after retention) and returns
/// its head. The error names the first bad event's index.
pub fn verify_chain(
    events: &[AuditEvent],
    anchor: Option<&ChainAnchor>,
) -> Result<ChainHead, ChainError> {
    let mut v = ChainVerifier::new(anchor);
    for e in events {
        v.push(e)?;
    }
    if let Some(anchor) = anchor {
        let confirmed = events.iter().rev().any(|e| {
            e.action == super::AuditAction::AuditRetentionApplied.as_str()
                && e.details.get("anchorHash").and_then(Value::as_str)
                    == Some(anchor.prev_hash.as_str())
        });
        if !confirmed {
            return Err(ChainError {
                index: 0,
                kind: ChainErrorKind::AnchorUnconfirmed,
            });
        }
    }
    Ok(v.head())
}

/// [`verify_chain`], and also checks the trail reaches `expected` (a head recorded earlier),
/// which detects deletion of the newest events.
pub fn verify_chain_with_head(
    events: &[AuditEvent],
    anchor: Option<&ChainAnchor>,
    expected: &ChainHead,
) -> Result<ChainHead, ChainError> {
    let head = verify_chain(events, anchor)?;
    if head.position < expected.position {
        return Err(ChainError {
            index: events.len(),
            kind: ChainErrorKind::Truncated,
        });
    }
    // The recorded head must be on this chain: find the event at that position.
    let base = anchor.map_or(0, |a| a.dropped);
    let on_chain = if expected.position == base {
        anchor.map_or(GENESIS_HASH, |a| a.prev_hash.as_str()) == expected.hash
    } else if expected.position < base {
        true // cut away by retention; the anchor vouches for it
    } else {
        let i = (expected.position - base - 1) as usize;
        events[i].hash == expected.hash
    };
    if !on_chain {
        return Err(ChainError {
            index: (expected.position.saturating_sub(base + 1)) as usize,
            kind: ChainErrorKind::Broken,
        });
    }
    Ok(head)
}

/// Chaining state shared by the sinks: the absolute position and the last hash.
#[derive(Clone, Debug)]
pub(crate) struct ChainState {
    pub position: u64,
    pub last: String,
}

impl ChainState {
    pub fn genesis() -> Self {
        ChainState {
            position: 0,
            last: GENESIS_HASH.to_string(),
        }
    }

    pub fn head(&self) -> ChainHead {
        ChainHead {
            position: self.position,
            hash: self.last.clone(),
        }
    }

    /// Links `event` after the last one, redacting secret-named detail keys first (the hash
    /// must cover what is stored).
    pub fn seal(&mut self, event: &mut AuditEvent) {
        super::redact::redact_event(event, &[]);
        event.prev_hash = self.last.clone();
        event.hash = event_hash(event);
        self.last = event.hash.clone();
        self.position += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_numbers_encode_like_serde_json() {
        let samples = [
            "plain",
            "quote \" backslash \\ slash /",
            "\n\r\t\u{8}\u{c}\u{0}\u{1f}\u{7f}",
            "unicode é 漢 🎉",
            "",
        ];
        for s in samples {
            let mut buf = Vec::new();
            put_str(&mut buf, s);
            assert_eq!(
                String::from_utf8(buf).unwrap(),
                serde_json::to_string(s).unwrap()
            );
        }
        for v in [
            serde_json::json!(1.5e300),
            serde_json::json!(-0.0),
            serde_json::json!(u64::MAX),
            serde_json::json!(i64::MIN),
            serde_json::json!(0.1),
        ] {
            let mut buf = Vec::new();
            canonical_value(&v, &mut buf);
            assert_eq!(
                String::from_utf8(buf).unwrap(),
                serde_json::to_string(&v).unwrap()
            );
        }
    }
}
