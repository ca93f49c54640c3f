//! The core's one error type. Messages say what went wrong and what to do; they never
//! contain secrets (passphrases, keys, tokens).

/// Result alias used throughout the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every failure the core reports.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An argument or input value was not acceptable (bad path, bad JSON, bad size).
    #[error("invalid input: {0}")]
    InvalidInput(String),

    /// A configuration value (key, URL, policy, option) is wrong; the message says how to fix it.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),

    /// The key supplied is not the key the data was protected with.
    #[error(
        "wrong key: the data is protected by key id {expected}, but the key supplied has id {actual}; \
         supply the key with id {expected}"
    )]
    KeyMismatch {
        /// Key id recorded with the data.
        expected: String,
        /// Key id of the key that was supplied.
        actual: String,
    },

    /// Stored data failed an integrity check (authentication tag, hash, count, truncation).
    #[error("integrity check failed for {object}: {detail}")]
    Integrity {
        /// The object (or part) that failed.
        object: String,
        /// What was wrong with it.
        detail: String,
    },

    /// A named thing (object, backup, document) does not exist.
    #[error("not found: {0}")]
    NotFound(String),

    /// Something that must be new already exists (put-if-absent lost, backup id taken).
    #[error("already exists: {0}")]
    AlreadyExists(String),

    /// The storage backend refused access (credentials, bucket policy).
    #[error("storage permission denied: {0}")]
    PermissionDenied(String),

    /// Any other storage failure (I/O, network, no space).
    #[error("storage error: {0}")]
    Storage(String),

    /// Firestore answered with an error.
    #[error("Firestore error {code}: {message}")]
    Firestore {
        /// gRPC status code name, e.g. `PERMISSION_DENIED`.
        code: String,
        /// The server's message.
        message: String,
    },

    /// The key provider (passphrase, raw key, KMS) failed.
    #[error("key provider error: {0}")]
    KeyProvider(String),

    /// The presented credential (token, API key) was not accepted; the message says why
    /// and never contains the credential.
    #[error("authentication failed: {0}")]
    Unauthenticated(String),

    /// The principal may not perform the action; the reason names the rule.
    #[error("authorization denied: {0}")]
    AuthorizationDenied(String),

    /// The audit trail could not be written or failed verification.
    #[error("audit error: {0}")]
    Audit(String),

    /// The operation was cancelled by its caller.
    #[error("operation cancelled")]
    Cancelled,

    /// Local I/O failed.
    #[error("I/O error while {context}: {source}")]
    Io {
        /// What firekeep was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// Wraps an I/O error with what firekeep was doing at the time.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// A stable, machine-readable code for this error kind (used by the CLI's `--json`
    /// output and by the bindings, e.g. `ERR_KEY_MISMATCH`).
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidInput(_) => "ERR_INVALID_INPUT",
            Error::InvalidConfig(_) => "ERR_INVALID_CONFIG",
            Error::Unauthenticated(_) => "ERR_UNAUTHENTICATED",
            Error::KeyMismatch { .. } => "ERR_KEY_MISMATCH",
            Error::Integrity { .. } => "ERR_INTEGRITY",
            Error::NotFound(_) => "ERR_NOT_FOUND",
            Error::AlreadyExists(_) => "ERR_ALREADY_EXISTS",
            Error::PermissionDenied(_) => "ERR_STORAGE_PERMISSION",
            Error::Storage(_) => "ERR_STORAGE",
            Error::Firestore { .. } => "ERR_FIRESTORE",
            Error::KeyProvider(_) => "ERR_KEY_PROVIDER",
            Error::AuthorizationDenied(_) => "ERR_AUTHORIZATION_DENIED",
            Error::Audit(_) => "ERR_AUDIT",
            Error::Cancelled => "ERR_CANCELLED",
            Error::Io { .. } => "ERR_IO",
        }
    }

    /// Shorthand for an [`Error::Integrity`].
    pub fn integrity(object: impl Into<String>, detail: impl Into<String>) -> Self {
        Error::Integrity {
            object: object.into(),
            detail: detail.into(),
        }
    }
}
