//! The tamper-evident audit trail: events, sinks, hash chain, export and retention.
