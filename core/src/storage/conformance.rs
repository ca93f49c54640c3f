//! Shared conformance suite for `StorageSink` implementations.
