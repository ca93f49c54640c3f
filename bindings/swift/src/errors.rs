//! [`FirekeepError`], the error enum Swift and Kotlin see, mapped from the core's errors;
//! every exported call runs behind [`guard`] / [`guard_async`] so a panic becomes
//! [`FirekeepError::Panic`] instead of unwinding into foreign code.

use firekeep_core::Error as CoreError;
use futures::FutureExt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Every failure firekeep reports to Swift/Kotlin. One variant per core error kind (see
/// `firekeep_core::Error`), plus `Callback` (a foreign callback failed) and `Panic` (a bug
/// in firekeep, caught before it crossed the boundary). `message` says what to do.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum FirekeepError {
    /// An argument or input value was not acceptable.
    #[error("{message}")]
    InvalidInput {
        /// What was wrong and what to do.
        message: String,
    },
    /// A configuration value (key, URL, policy, option) is wrong.
    #[error("{message}")]
    InvalidConfig {
        /// What was wrong and what to do.
        message: String,
    },
    /// The key supplied is not the key the data was protected with.
    #[error("{message}")]
    KeyMismatch {
        /// Key id recorded with the data.
        expected: String,
        /// Key id of the key supplied.
        actual: String,
        /// The full message.
        message: String,
    },
    /// Stored data failed an integrity check (tag, hash, count, truncation).
    #[error("{message}")]
    Integrity {
        /// The object (or part) that failed.
        object: String,
        /// What was wrong with it.
        detail: String,
        /// The full message.
        message: String,
    },
    /// A named thing (object, backup, document) does not exist.
    #[error("{message}")]
    NotFound {
        /// The full message.
        message: String,
    },
    /// Something that must be new already exists.
    #[error("{message}")]
    AlreadyExists {
        /// The full message.
        message: String,
    },
    /// Storage failed or refused access.
    #[error("{message}")]
    Storage {
        /// The full message.
        message: String,
    },
    /// Firestore answered with an error.
    #[error("{message}")]
    Firestore {
        /// gRPC status code name, e.g. `PERMISSION_DENIED`.
        code: String,
        /// The full message.
        message: String,
    },
    /// The key provider failed.
    #[error("{message}")]
    KeyProvider {
        /// The full message.
        message: String,
    },
    /// The principal may not perform the action; the message names the rule.
    #[error("{message}")]
    AuthorizationDenied {
        /// The full message.
        message: String,
    },
    /// The audit trail could not be written or failed verification.
    #[error("{message}")]
    Audit {
        /// The full message.
        message: String,
    },
    /// The operation was cancelled (token or dropped future).
    #[error("{message}")]
    Cancelled {
        /// The full message.
        message: String,
    },
    /// Local I/O failed.
    #[error("{message}")]
    Io {
        /// The full message.
        message: String,
    },
    /// A callback implemented in Swift/Kotlin (or Python) failed.
    #[error("{message}")]
    Callback {
        /// The full message.
        message: String,
    },
    /// firekeep panicked; this is a bug, please report it with the message.
    #[error("{message}")]
    Panic {
        /// The panic message.
        message: String,
    },
}

impl FirekeepError {
    /// The stable error code, the same as the CLI's `--json` and the other bindings
    /// (`ERR_KEY_MISMATCH` ...).
    pub fn code(&self) -> &'static str {
        match self {
            FirekeepError::InvalidInput { .. } => "ERR_INVALID_INPUT",
            FirekeepError::InvalidConfig { .. } => "ERR_INVALID_CONFIG",
            FirekeepError::KeyMismatch { .. } => "ERR_KEY_MISMATCH",
            FirekeepError::Integrity { .. } => "ERR_INTEGRITY",
            FirekeepError::NotFound { .. } => "ERR_NOT_FOUND",
            FirekeepError::AlreadyExists { .. } => "ERR_ALREADY_EXISTS",
            FirekeepError::Storage { .. } => "ERR_STORAGE",
            FirekeepError::Firestore { .. } => "ERR_FIRESTORE",
            FirekeepError::KeyProvider { .. } => "ERR_KEY_PROVIDER",
            FirekeepError::AuthorizationDenied { .. } => "ERR_AUTHORIZATION_DENIED",
            FirekeepError::Audit { .. } => "ERR_AUDIT",
            FirekeepError::Cancelled { .. } => "ERR_CANCELLED",
            FirekeepError::Io { .. } => "ERR_IO",
            FirekeepError::Callback { .. } => "ERR_CALLBACK",
            FirekeepError::Panic { .. } => "ERR_PANIC",
        }
    }
}

impl From<CoreError> for FirekeepError {
    fn from(e: CoreError) -> Self {
        let message = e.to_string();
        match e {
            CoreError::InvalidInput(_) => FirekeepError::InvalidInput { message },
            CoreError::InvalidConfig(_) => FirekeepError::InvalidConfig { message },
            CoreError::KeyMismatch { expected, actual } => FirekeepError::KeyMismatch {
                expected,
                actual,
                message,
            },
            CoreError::Integrity { object, detail } => FirekeepError::Integrity {
                object,
                detail,
                message,
            },
            CoreError::NotFound(_) => FirekeepError::NotFound { message },
            CoreError::AlreadyExists(_) => FirekeepError::AlreadyExists { message },
            CoreError::PermissionDenied(_) | CoreError::Storage(_) => {
                FirekeepError::Storage { message }
            }
            CoreError::Firestore { code, .. } => FirekeepError::Firestore { code, message },
            CoreError::KeyProvider(_) => FirekeepError::KeyProvider { message },
            CoreError::AuthorizationDenied(_) => FirekeepError::AuthorizationDenied { message },
            CoreError::Audit(_) => FirekeepError::Audit { message },
            CoreError::Cancelled => FirekeepError::Cancelled { message },
            CoreError::Io { .. } => FirekeepError::Io { message },
            // The core's enum is non-exhaustive: a new kind still arrives with its message.
            _ => FirekeepError::InvalidInput { message },
        }
    }
}

/// A foreign callback that threw something uniffi could not map (Swift `Error`, Kotlin
/// exception of another type).
impl From<uniffi::UnexpectedUniFFICallbackError> for FirekeepError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        FirekeepError::Callback {
            message: format!("a callback failed: {}", e.reason),
        }
    }
}

pub(crate) type Result<T, E = FirekeepError> = std::result::Result<T, E>;

pub(crate) fn invalid(message: impl Into<String>) -> FirekeepError {
    FirekeepError::InvalidInput {
        message: message.into(),
    }
}

pub(crate) fn panic_message(payload: Box<dyn std::any::Any + Send>) -> FirekeepError {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    FirekeepError::Panic {
        message: format!("firekeep panicked (a bug; please report it): {what}"),
    }
}

/// Runs `f`, turning a panic into [`FirekeepError::Panic`].
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| Err(panic_message(p)))
}

/// Awaits `fut`, turning a panic into [`FirekeepError::Panic`].
pub(crate) async fn guard_async<T>(fut: impl Future<Output = Result<T>>) -> Result<T> {
    AssertUnwindSafe(fut)
        .catch_unwind()
        .await
        .unwrap_or_else(|p| Err(panic_message(p)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use firekeep_core::Error as CoreError;

    #[test]
    fn a_panic_becomes_a_panic_error() {
        let r: Result<()> = guard(|| panic!("boom {}", 42));
        match r {
            Err(FirekeepError::Panic { message }) => {
                assert!(message.contains("boom 42"), "{message}")
            }
            other => panic!("expected Panic, got {other:?}"),
        }
    }

    #[test]
    fn an_async_panic_becomes_a_panic_error() {
        let r: Result<()> = futures::executor::block_on(guard_async(async { panic!("late") }));
        assert!(matches!(r, Err(FirekeepError::Panic { ref message }) if message.contains("late")));
    }

    #[test]
    fn core_errors_keep_their_kind_and_fields() {
        let e = FirekeepError::from(CoreError::KeyMismatch {
            expected: "a".into(),
            actual: "b".into(),
        });
        assert_eq!(e.code(), "ERR_KEY_MISMATCH");
        assert!(matches!(e, FirekeepError::KeyMismatch { ref expected, .. } if expected == "a"));
        assert_eq!(
            FirekeepError::from(CoreError::Cancelled).code(),
            "ERR_CANCELLED"
        );
    }
}
