//! In-memory `StorageSink` for unit tests and embedding.

use super::{MultipartUpload, ObjectMeta, StorageSink};
use crate::model::Timestamp;
use crate::{Error, Result};
use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures::stream::{self, BoxStream, StreamExt};
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};

#[derive(Clone)]
struct Object {
    data: Bytes,
    modified: Timestamp,
}

/// An in-memory object store. Cheap to clone: clones share the objects. Test helpers
/// ([`MemoryStorage::paths`], [`MemoryStorage::get_sync`], [`MemoryStorage::put_sync`])
/// let tests inspect and tamper with what was stored.
#[derive(Clone, Default)]
pub struct MemoryStorage {
    objects: Arc<Mutex<BTreeMap<String, Object>>>,
}

impl std::fmt::Debug for MemoryStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStorage")
            .field("objects", &self.lock().len())
            .finish()
    }
}

impl MemoryStorage {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Object>> {
        // A panic while holding the lock cannot leave the map half-updated (every change
        // is one insert or remove), so a poisoned lock is still usable.
        self.objects.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every stored path, sorted.
    pub fn paths(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// An object's bytes, if present.
    pub fn get_sync(&self, path: &str) -> Option<Bytes> {
        self.lock().get(path).map(|o| o.data.clone())
    }

    /// Stores an object directly (tests use it to tamper with backups).
    pub fn put_sync(&self, path: &str, data: impl Into<Bytes>) {
        self.lock().insert(
            path.to_string(),
            Object {
                data: data.into(),
                modified: Timestamp::now(),
            },
        );
    }

    /// Removes an object directly; returns whether it existed.
    pub fn remove_sync(&self, path: &str) -> bool {
        self.lock().remove(path).is_some()
    }

    /// Total bytes stored.
    pub fn total_bytes(&self) -> u64 {
        self.lock().values().map(|o| o.data.len() as u64).sum()
    }
}

pub(crate) fn check_path(path: &str) -> Result<()> {
    if path.is_empty()
        || path.starts_with('/')
        || path.ends_with('/')
        || path
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
        || path.contains('\0')
    {
        return Err(Error::InvalidInput(format!(
            "{path:?} is not a valid object path: use relative '/'-separated names without \
             empty, '.' or '..' segments"
        )));
    }
    Ok(())
}

fn not_found(path: &str) -> Error {
    Error::NotFound(format!("object {path} in memory storage"))
}

#[async_trait]
impl StorageSink for MemoryStorage {
    async fn put(&self, path: &str, data: Bytes) -> Result<()> {
        check_path(path)?;
        self.put_sync(path, data);
        Ok(())
    }

    async fn put_if_absent(&self, path: &str, data: Bytes) -> Result<()> {
        check_path(path)?;
        let mut objects = self.lock();
        if objects.contains_key(path) {
            return Err(Error::AlreadyExists(format!(
                "object {path} in memory storage"
            )));
        }
        objects.insert(
            path.to_string(),
            Object {
                data,
                modified: Timestamp::now(),
            },
        );
        Ok(())
    }

    async fn put_multipart(&self, path: &str) -> Result<Box<dyn MultipartUpload>> {
        check_path(path)?;
        Ok(Box::new(MemoryUpload {
            store: self.clone(),
            path: path.to_string(),
            buf: BytesMut::new(),
        }))
    }

    async fn get(&self, path: &str) -> Result<Bytes> {
        check_path(path)?;
        self.get_sync(path).ok_or_else(|| not_found(path))
    }

    async fn get_range(&self, path: &str, range: Range<u64>) -> Result<Bytes> {
        let data = self.get(path).await?;
        let len = data.len() as u64;
        if range.start > range.end || range.end > len {
            return Err(Error::InvalidInput(format!(
                "range {}..{} is outside object {path} of {len} bytes",
                range.start, range.end
            )));
        }
        Ok(data.slice(range.start as usize..range.end as usize))
    }

    async fn head(&self, path: &str) -> Result<ObjectMeta> {
        check_path(path)?;
        let objects = self.lock();
        let o = objects.get(path).ok_or_else(|| not_found(path))?;
        Ok(ObjectMeta {
            path: path.to_string(),
            size: o.data.len() as u64,
            last_modified: Some(o.modified),
        })
    }

    fn list(&self, prefix: &str) -> BoxStream<'static, Result<ObjectMeta>> {
        let metas: Vec<Result<ObjectMeta>> = self
            .lock()
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, o)| {
                Ok(ObjectMeta {
                    path: k.clone(),
                    size: o.data.len() as u64,
                    last_modified: Some(o.modified),
                })
            })
            .collect();
        stream::iter(metas).boxed()
    }

    async fn delete(&self, path: &str) -> Result<()> {
        check_path(path)?;
        self.lock().remove(path);
        Ok(())
    }

    fn describe(&self) -> String {
        "memory://".to_string()
    }
}

struct MemoryUpload {
    store: MemoryStorage,
    path: String,
    buf: BytesMut,
}

#[async_trait]
impl MultipartUpload for MemoryUpload {
    async fn write(&mut self, data: Bytes) -> Result<()> {
        self.buf.extend_from_slice(&data);
        Ok(())
    }

    async fn complete(self: Box<Self>) -> Result<u64> {
        let len = self.buf.len() as u64;
        self.store.put_sync(&self.path, self.buf.freeze());
        Ok(len)
    }

    async fn abort(self: Box<Self>) -> Result<()> {
        Ok(())
    }
}
