//! Core errors as JS errors: `"<CODE>: <message>"`, which `lib/errors.js` turns into
//! `Error` subclasses; bad arguments as `TypeError`/`RangeError`.

use firekeep_core::Error as CoreError;
use napi::bindgen_prelude::*;

/// A core error as a JS error: `lib/errors.js` reads the code before the first `": "`.
pub(crate) fn js_err(e: CoreError) -> Error {
    Error::new(Status::GenericFailure, format!("{}: {}", e.code(), e))
}

/// A bad argument: becomes a `TypeError` in JS (Node's own code for it).
pub(crate) fn type_err(msg: impl std::fmt::Display) -> Error {
    Error::new(Status::InvalidArg, format!("ERR_INVALID_ARG_TYPE: {msg}"))
}

/// The core's `InvalidInput` as a `RangeError` (its message without the prefix), any
/// other error as usual.
pub(crate) fn invalid_input(e: CoreError) -> Error {
    match e {
        CoreError::InvalidInput(msg) => range_err(msg),
        other => js_err(other),
    }
}

/// An argument out of range: becomes a `RangeError` in JS.
pub(crate) fn range_err(msg: impl std::fmt::Display) -> Error {
    Error::new(Status::InvalidArg, format!("ERR_OUT_OF_RANGE: {msg}"))
}

pub(crate) type CoreResult<T> = std::result::Result<T, CoreError>;

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}
