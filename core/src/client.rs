//! The client: every engine operation, authorized and audited through a session.
