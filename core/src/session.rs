//! The authorizing, auditing entry point: a session holds the principal and the policy.
