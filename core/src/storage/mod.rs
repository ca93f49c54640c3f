//! Where backups are kept: the [`StorageSink`] trait, with in-memory and local-filesystem
//! implementations. Cloud stores live in `firekeep-object-store`; every implementation runs
//! the same conformance suite.

use crate::model::Timestamp;
use crate::{Error, Result};
use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use std::fmt::Debug;
use std::ops::Range;

#[cfg(feature = "testing")]
pub mod conformance;
pub mod local;
pub mod memory;

/// Metadata of a stored object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectMeta {
    /// Path of the object relative to the sink's root, `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification time, when the store reports one.
    pub last_modified: Option<Timestamp>,
}

/// A streaming upload in progress. Dropping it without `complete` leaves no object.
#[async_trait]
pub trait MultipartUpload: Send {
    /// Appends bytes. Memory stays bounded by the store's part size.
    async fn write(&mut self, data: Bytes) -> Result<()>;
    /// Finishes the upload, making the object visible; returns its size.
    async fn complete(self: Box<Self>) -> Result<u64>;
    /// Abandons the upload and removes what was sent.
    async fn abort(self: Box<Self>) -> Result<()>;
}

/// An object store holding firekeep's objects.
///
/// Paths are relative, `/`-separated, without leading `/`. Errors are typed:
/// `Error::NotFound`, `Error::AlreadyExists`, `Error::PermissionDenied`, otherwise
/// `Error::Storage`.
#[async_trait]
pub trait StorageSink: Send + Sync + Debug {
    /// Stores an object, replacing any object at the same path atomically.
    async fn put(&self, path: &str, data: Bytes) -> Result<()>;

    /// Stores an object only if none exists at `path`; otherwise `Error::AlreadyExists`.
    /// Used for manifests, so a backup id can be committed only once.
    async fn put_if_absent(&self, path: &str, data: Bytes) -> Result<()>;

    /// Starts a streaming (multipart) upload for a large object.
    async fn put_multipart(&self, path: &str) -> Result<Box<dyn MultipartUpload>>;

    /// Reads a whole object.
    async fn get(&self, path: &str) -> Result<Bytes>;

    /// Reads a byte range of an object (for verifying single segments).
    async fn get_range(&self, path: &str, range: Range<u64>) -> Result<Bytes>;

    /// Reads a whole object that may be at most `max` bytes, without ever holding more
    /// than `max` bytes of it: everything firekeep reads from a repository goes through
    /// this, because a repository is not trusted until what it holds is authenticated (an
    /// object swapped for a 20 GiB one must not exhaust memory).
    ///
    /// A larger object is `Error::Integrity` naming the object and both sizes. The default
    /// asks `head` for the size and then reads exactly that range, so an object replaced
    /// between the two calls still yields at most `max` bytes (and a size mismatch, which
    /// the caller's authentication rejects). Stores that can do better (one bounded
    /// request, refusing special files) override it.
    async fn get_bounded(&self, path: &str, max: u64) -> Result<Bytes> {
        let meta = self.head(path).await?;
        check_bound(path, meta.size, max)?;
        self.get_range(path, 0..meta.size).await
    }

    /// Metadata of an object.
    async fn head(&self, path: &str) -> Result<ObjectMeta>;

    /// Every object whose path starts with `prefix`, in no particular order; paged inside.
    fn list(&self, prefix: &str) -> BoxStream<'static, Result<ObjectMeta>>;

    /// Deletes an object; deleting an absent object succeeds.
    async fn delete(&self, path: &str) -> Result<()>;

    /// A description for reports and errors (`file:///backups`, `s3://bucket/prefix`), with
    /// no credentials in it.
    fn describe(&self) -> String;

    /// The store's own per-object legal hold (S3 Object Lock), when it has one. An optional
    /// capability: the default is `None` (memory, local folders, GCS, Azure), and the
    /// required methods above are all a backup needs.
    fn object_legal_hold(&self) -> Option<&dyn ObjectLegalHold> {
        None
    }
}

/// Whether firekeep sets the store's per-object legal hold when a backup is held (see
/// [`ObjectLegalHold`] and docs/storage.md).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectHoldMode {
    /// Set it where the bucket supports it; a bucket without Object Lock is reported (not an
    /// error), any other failure is an error.
    #[default]
    Auto,
    /// Set it, and fail when the bucket does not support it.
    Required,
    /// Never touch it (the repository hold alone).
    Off,
}

/// What the store answered to setting or reading an object's legal hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ObjectHoldAnswer {
    /// Done (or, for a read: the hold is on).
    On,
    /// Done (or, for a read: the hold is off or was never set).
    Off,
    /// The bucket does not support object legal holds (S3: created without Object Lock);
    /// the text says so and what to do.
    NotEnabled(String),
}

/// An optional capability of a [`StorageSink`]: a legal hold on single objects that the
/// store itself enforces (S3 Object Lock `PutObjectLegalHold`), so even credentials that may
/// delete objects cannot remove a held version until the hold is cleared. Paths are
/// relative to the sink's root, as in [`StorageSink`].
#[async_trait]
pub trait ObjectLegalHold: Send + Sync + Debug {
    /// Whether firekeep should set the hold (a store option; default [`ObjectHoldMode::Auto`]).
    fn mode(&self) -> ObjectHoldMode {
        ObjectHoldMode::Auto
    }

    /// Sets (`on`) or clears the legal hold on the current version of `path`. Answers
    /// [`ObjectHoldAnswer::On`]/[`ObjectHoldAnswer::Off`] as asked, or
    /// [`ObjectHoldAnswer::NotEnabled`]. Errors: `NotFound`, `PermissionDenied` (naming the
    /// permission), `Storage`.
    async fn set_legal_hold(&self, path: &str, on: bool) -> Result<ObjectHoldAnswer>;

    /// The legal hold status of the current version of `path`.
    async fn legal_hold(&self, path: &str) -> Result<ObjectHoldAnswer>;
}

/// The error for an object larger than what may be stored at its path.
pub(crate) fn check_bound(path: &str, size: u64, max: u64) -> Result<()> {
    if size > max {
        return Err(Error::integrity(
            path,
            format!(
                "the object is {size} bytes, more than the {max} bytes firekeep allows \
                 there: it was replaced or planted (not read); restore it from a copy or \
                 remove it"
            ),
        ));
    }
    Ok(())
}
