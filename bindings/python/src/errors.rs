//! Core errors as the exception classes of `firekeep._errors`, chosen by
//! [`firekeep_core::Error::code`].

use firekeep_core::Error as CoreError;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// The Python exception class for a core error code (see `firekeep/_errors.py`).
pub(crate) fn class_for(code: &str) -> &'static str {
    match code {
        "ERR_INVALID_INPUT" => "InvalidInput",
        "ERR_INVALID_CONFIG" => "InvalidConfig",
        "ERR_KEY_MISMATCH" => "KeyMismatch",
        "ERR_INTEGRITY" => "IntegrityError",
        "ERR_NOT_FOUND" => "NotFound",
        "ERR_ALREADY_EXISTS" => "AlreadyExists",
        "ERR_STORAGE_PERMISSION" | "ERR_STORAGE" => "StorageError",
        "ERR_FIRESTORE" => "FirestoreError",
        "ERR_KEY_PROVIDER" => "KeyProviderError",
        "ERR_AUTHORIZATION_DENIED" => "AuthorizationDenied",
        "ERR_UNAUTHENTICATED" => "Unauthenticated",
        "ERR_AUDIT" => "AuditError",
        "ERR_CANCELLED" => "Cancelled",
        "ERR_IO" => "LocalIOError",
        _ => "Error",
    }
}

/// Converts a core error into the matching `firekeep` exception, with `.code` set. The
/// message is the core's, which never contains secrets.
pub(crate) fn py_err(e: CoreError) -> PyErr {
    let code = e.code();
    let message = e.to_string();
    Python::attach(|py| {
        let make = || -> PyResult<PyErr> {
            let module = py.import("firekeep._errors")?;
            let cls = module.getattr(class_for(code))?;
            let inst = cls.call1((message.clone(),))?;
            inst.setattr("code", code)?;
            Ok(PyErr::from_value(inst))
        };
        make().unwrap_or_else(|err| err)
    })
}

pub(crate) type CoreResult<T> = Result<T, CoreError>;

pub(crate) fn value_err(msg: impl Into<String>) -> PyErr {
    PyValueError::new_err(msg.into())
}

/// The core's `InvalidInput` as a `ValueError` (its message without the prefix).
pub(crate) fn invalid_input(e: CoreError) -> PyErr {
    match e {
        CoreError::InvalidInput(msg) => value_err(msg),
        other => py_err(other),
    }
}
