//! firekeep StorageSink on the object_store crate: S3, S3-compatible, GCS, Azure, local
