//! Documents as REST JSON in and out (`lib/values.js` maps it to JS values), and the
//! core's text grammars (durations, RFC 3339).

use crate::errors::{invalid_input, js_err, range_err};
use firekeep_core::Error as CoreError;
use firekeep_core::model::{Timestamp, json};
use napi::bindgen_prelude::*;
use napi_derive::napi;

/// Parses and validates one document in Firestore REST JSON; returns it re-encoded
/// canonically (as backups store it).
#[napi]
pub fn normalize_document(json_text: String) -> Result<String> {
    let doc = json::decode_document(json_text.as_bytes()).map_err(js_err)?;
    doc.path().map_err(js_err)?;
    String::from_utf8(json::encode_document(&doc))
        .map_err(|_| js_err(CoreError::InvalidInput("document is not UTF-8".into())))
}

/// Parses an RFC 3339 timestamp into `[unixSeconds, nanos]`.
#[napi]
pub fn parse_rfc3339(s: String) -> Result<Vec<i64>> {
    let t = Timestamp::parse_rfc3339(&s).map_err(js_err)?;
    Ok(vec![t.seconds(), i64::from(t.nanos())])
}

/// Formats unix seconds and nanos as RFC 3339 (what REST JSON stores).
#[napi]
pub fn format_rfc3339(seconds: i64, nanos: u32) -> Result<String> {
    let t = Timestamp::new(seconds, nanos).map_err(range_err)?;
    Ok(t.to_rfc3339())
}

/// Seconds in a retention duration (the core's grammar: units y, m = months, w, d, h, s).
#[napi]
pub fn parse_duration(text: String) -> Result<f64> {
    let d = firekeep_core::engine::parse_duration(&text).map_err(invalid_input)?;
    Ok(d.as_secs() as f64)
}
