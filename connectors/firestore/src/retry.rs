//! Transient-failure handling: which gRPC codes retry, and exponential backoff with full
//! jitter (the delay is uniform in `[0, min(max, initial * 2^n)]`, which spreads retries
//! of many clients apart).

use crate::config::RetryConfig;
use firekeep_core::Error;
use rand::Rng;
use std::time::Duration;
use tonic::{Code, Status};

/// Codes Firestore documents as safe to retry.
pub(crate) fn is_retryable(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable
            | Code::DeadlineExceeded
            | Code::ResourceExhausted
            | Code::Aborted
            | Code::Internal
    )
}

/// Canonical upper-case name of a gRPC code (`ALREADY_EXISTS`).
pub(crate) fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// A server status as the core's error, keeping the server's message and adding a hint
/// for the codes a user can act on.
pub(crate) fn status_error(what: &str, s: &Status) -> Error {
    let hint = match s.code() {
        Code::Unauthenticated => {
            "; the credentials were rejected: check the key file or run `gcloud auth application-default login`"
        }
        Code::PermissionDenied => {
            "; grant the principal roles/datastore.user (restore) or roles/datastore.viewer (backup) on the project"
        }
        Code::NotFound => "; check the project and database id",
        _ => "",
    };
    Error::Firestore {
        code: code_name(s.code()).to_string(),
        message: format!("{what}: {}{hint}", s.message()),
    }
}

/// Backoff state for one operation.
#[derive(Debug)]
pub(crate) struct Backoff {
    config: RetryConfig,
    failures: u32,
}

impl Backoff {
    pub(crate) fn new(config: RetryConfig) -> Self {
        Backoff {
            config,
            failures: 0,
        }
    }

    /// Forgets earlier failures (after progress was made).
    pub(crate) fn reset(&mut self) {
        self.failures = 0;
    }

    /// Records a failure; sleeps and returns true when another attempt is allowed.
    pub(crate) async fn retry(&mut self) -> bool {
        self.failures += 1;
        if self.failures >= self.config.max_attempts.max(1) {
            return false;
        }
        tokio::time::sleep(self.delay(self.failures - 1)).await;
        true
    }

    fn delay(&self, n: u32) -> Duration {
        let ceiling = self
            .config
            .initial_backoff
            .saturating_mul(1u32 << n.min(20))
            .min(self.config.max_backoff);
        let nanos = ceiling.as_nanos().min(u128::from(u64::MAX)) as u64;
        Duration::from_nanos(rand::rng().random_range(0..=nanos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_codes() {
        for c in [
            Code::Unavailable,
            Code::DeadlineExceeded,
            Code::ResourceExhausted,
            Code::Aborted,
            Code::Internal,
        ] {
            assert!(is_retryable(c));
        }
        for c in [
            Code::InvalidArgument,
            Code::PermissionDenied,
            Code::NotFound,
            Code::AlreadyExists,
            Code::FailedPrecondition,
        ] {
            assert!(!is_retryable(c));
        }
    }

    #[test]
    fn jitter_stays_under_the_ceiling() {
        let b = Backoff::new(RetryConfig {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(50),
        });
        let mut distinct = std::collections::HashSet::new();
        for n in 0..10 {
            for _ in 0..20 {
                let d = b.delay(n);
                assert!(d <= Duration::from_millis(10 << n.min(20)).min(Duration::from_millis(50)));
                distinct.insert(d);
            }
        }
        assert!(distinct.len() > 10, "delays should be jittered");
    }

    #[tokio::test]
    async fn attempts_are_bounded() {
        let mut b = Backoff::new(RetryConfig {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(1),
        });
        assert!(b.retry().await);
        assert!(b.retry().await);
        assert!(!b.retry().await);
        b.reset();
        assert!(b.retry().await);
    }
}
