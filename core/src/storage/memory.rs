//! In-memory `StorageSink` for unit tests and embedding.
