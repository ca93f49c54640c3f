//! The CLI's errors and the exit codes scripts rely on (documented in docs/cli.md).

use firekeep_core::Error as CoreError;

/// Exit codes. Stable: scripts depend on them.
pub mod exit {
    /// Success.
    pub const OK: i32 = 0;
    /// Any other failure (storage, Firestore, I/O, audit).
    pub const FAILURE: i32 = 1;
    /// Bad usage or configuration (flags, config file, key source).
    pub const USAGE: i32 = 2;
    /// An integrity check failed (verify found bad or missing parts, tampered data).
    pub const INTEGRITY: i32 = 3;
    /// The key supplied is not the key the backup was made with.
    pub const KEY_MISMATCH: i32 = 4;
    /// The principal may not perform the operation.
    pub const DENIED: i32 = 5;
    /// The repository, backup or file does not exist.
    pub const NOT_FOUND: i32 = 6;
    /// `diff --exit-code` found differences.
    pub const DIFFERENCES: i32 = 10;
    /// Cancelled (Ctrl-C / SIGINT).
    pub const CANCELLED: i32 = 130;
}

/// Everything the CLI reports as a failure.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A failure from the core or a connector.
    #[error(transparent)]
    Core(#[from] CoreError),
    /// Bad command-line usage or configuration.
    #[error("{0}")]
    Usage(String),
    /// A local file could not be read or written.
    #[error("{what} {path}: {source}")]
    File {
        /// What firekeep was doing.
        what: &'static str,
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl CliError {
    /// Shorthand for a usage error.
    pub fn usage(msg: impl Into<String>) -> Self {
        CliError::Usage(msg.into())
    }

    /// A file error; a missing file maps to exit code 6.
    pub fn file(what: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        CliError::File {
            what,
            path: path.display().to_string(),
            source,
        }
    }

    /// The machine-readable code printed with `--json`.
    pub fn code(&self) -> &'static str {
        match self {
            CliError::Core(e) => e.code(),
            CliError::Usage(_) => "ERR_USAGE",
            CliError::File { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                "ERR_NOT_FOUND"
            }
            CliError::File { .. } => "ERR_IO",
        }
    }

    /// The process exit code.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Core(e) => match e {
                CoreError::InvalidInput(_) | CoreError::InvalidConfig(_) => exit::USAGE,
                CoreError::Integrity { .. } => exit::INTEGRITY,
                CoreError::KeyMismatch { .. } => exit::KEY_MISMATCH,
                CoreError::AuthorizationDenied(_) | CoreError::Unauthenticated(_) => exit::DENIED,
                CoreError::NotFound(_) => exit::NOT_FOUND,
                CoreError::Cancelled => exit::CANCELLED,
                _ => exit::FAILURE,
            },
            CliError::Usage(_) => exit::USAGE,
            CliError::File { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                exit::NOT_FOUND
            }
            CliError::File { .. } => exit::FAILURE,
        }
    }
}

/// Result alias for the CLI.
pub type CliResult<T> = std::result::Result<T, CliError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_error_kinds() {
        let cases: Vec<(CliError, i32, &str)> = vec![
            (
                CoreError::KeyMismatch {
                    expected: "a".into(),
                    actual: "b".into(),
                }
                .into(),
                4,
                "ERR_KEY_MISMATCH",
            ),
            (CoreError::integrity("p", "tag").into(), 3, "ERR_INTEGRITY"),
            (
                CoreError::AuthorizationDenied("viewer".into()).into(),
                5,
                "ERR_AUTHORIZATION_DENIED",
            ),
            (CoreError::NotFound("x".into()).into(), 6, "ERR_NOT_FOUND"),
            (CoreError::Cancelled.into(), 130, "ERR_CANCELLED"),
            (CoreError::Storage("disk".into()).into(), 1, "ERR_STORAGE"),
            (CliError::usage("bad"), 2, "ERR_USAGE"),
            (
                CliError::file(
                    "reading",
                    std::path::Path::new("/x"),
                    std::io::Error::from(std::io::ErrorKind::NotFound),
                ),
                6,
                "ERR_NOT_FOUND",
            ),
        ];
        for (err, code, name) in cases {
            assert_eq!(err.exit_code(), code, "{err}");
            assert_eq!(err.code(), name, "{err}");
        }
    }
}
