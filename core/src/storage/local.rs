//! Local-filesystem `StorageSink` with atomic writes (temp file, fsync, rename).
