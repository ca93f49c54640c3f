//! The engine's side of store-level (S3 Object Lock) legal holds, on the real memory store
//! wrapped with a per-object hold table that can refuse requests: which objects get the
//! hold, and what stays when setting or clearing fails part-way. The S3 requests themselves
//! are tested against moto in connectors/object-store/tests/s3_legal_hold.rs.

mod engine_common;

use async_trait::async_trait;
use bytes::Bytes;
use engine_common::*;
use firekeep_core::engine::{self, ObjectLockStatus, Repository};
use firekeep_core::storage::memory::MemoryStorage;
use firekeep_core::storage::{
    MultipartUpload, ObjectHoldAnswer, ObjectHoldMode, ObjectLegalHold, ObjectMeta, StorageSink,
};
use firekeep_core::{Error, Result};
use futures::stream::BoxStream;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};

/// A memory store with a per-object legal hold table.
#[derive(Debug)]
struct LockingSink {
    inner: MemoryStorage,
    mode: ObjectHoldMode,
    /// Whether the "bucket" has Object Lock.
    enabled: bool,
    holds: Mutex<BTreeMap<String, bool>>,
    /// Requests on paths containing this are refused (access denied).
    refuse: Mutex<Option<String>>,
    requests: Mutex<usize>,
}

impl LockingSink {
    fn new(inner: MemoryStorage, mode: ObjectHoldMode, enabled: bool) -> Arc<Self> {
        Arc::new(LockingSink {
            inner,
            mode,
            enabled,
            holds: Mutex::new(BTreeMap::new()),
            refuse: Mutex::new(None),
            requests: Mutex::new(0),
        })
    }

    fn held(&self) -> Vec<String> {
        let h = self.holds.lock().unwrap();
        h.iter()
            .filter(|(_, on)| **on)
            .map(|(p, _)| p.clone())
            .collect()
    }
}

#[async_trait]
impl ObjectLegalHold for LockingSink {
    fn mode(&self) -> ObjectHoldMode {
        self.mode
    }
    async fn set_legal_hold(&self, path: &str, on: bool) -> Result<ObjectHoldAnswer> {
        *self.requests.lock().unwrap() += 1;
        if !self.enabled {
            return Ok(ObjectHoldAnswer::NotEnabled(
                "bucket b does not have S3 Object Lock enabled".into(),
            ));
        }
        if let Some(r) = self.refuse.lock().unwrap().as_deref()
            && path.contains(r)
        {
            return Err(Error::PermissionDenied(
                "needs s3:PutObjectLegalHold".into(),
            ));
        }
        self.inner.head(path).await?;
        self.holds.lock().unwrap().insert(path.to_string(), on);
        Ok(if on {
            ObjectHoldAnswer::On
        } else {
            ObjectHoldAnswer::Off
        })
    }
    async fn legal_hold(&self, path: &str) -> Result<ObjectHoldAnswer> {
        let on = self.holds.lock().unwrap().get(path).copied() == Some(true);
        Ok(if on {
            ObjectHoldAnswer::On
        } else {
            ObjectHoldAnswer::Off
        })
    }
}

#[async_trait]
impl StorageSink for LockingSink {
    async fn put(&self, path: &str, data: Bytes) -> Result<()> {
        self.inner.put(path, data).await
    }
    async fn put_if_absent(&self, path: &str, data: Bytes) -> Result<()> {
        self.inner.put_if_absent(path, data).await
    }
    async fn put_multipart(&self, path: &str) -> Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart(path).await
    }
    async fn get(&self, path: &str) -> Result<Bytes> {
        self.inner.get(path).await
    }
    async fn get_range(&self, path: &str, range: Range<u64>) -> Result<Bytes> {
        self.inner.get_range(path, range).await
    }
    async fn head(&self, path: &str) -> Result<ObjectMeta> {
        self.inner.head(path).await
    }
    fn list(&self, prefix: &str) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }
    async fn delete(&self, path: &str) -> Result<()> {
        self.inner.delete(path).await
    }
    fn describe(&self) -> String {
        format!("locking({})", self.inner.describe())
    }
    fn object_legal_hold(&self) -> Option<&dyn ObjectLegalHold> {
        Some(self)
    }
}

fn setup(mode: ObjectHoldMode, enabled: bool) -> (Arc<LockingSink>, Repository, String) {
    let (store, plain) = memory_repo();
    let ids = backups_under(&plain, Arc::new(sample_source(60)), &[&raw_key(1)]);
    let sink = LockingSink::new(store, mode, enabled);
    let repo = Repository::new(sink.clone());
    (sink, repo, ids[0].clone())
}

fn backup_objects(sink: &LockingSink, repo: &Repository, id: &str) -> Vec<String> {
    let folder = repo.object_path(id, "");
    let mut all: Vec<String> = block_on(futures::TryStreamExt::try_collect::<Vec<_>>(
        sink.list(&folder),
    ))
    .unwrap()
    .into_iter()
    .map(|m| m.path)
    .collect();
    all.sort();
    all
}

#[test]
fn place_holds_every_object_of_the_backup_and_release_clears_them_first() {
    let (sink, repo, id) = setup(ObjectHoldMode::Auto, true);
    let key = raw_key(1);
    let h = block_on(engine::hold(&repo, &key, &id, "case")).unwrap();
    let objects = backup_objects(&sink, &repo, &id);
    assert!(objects.len() >= 5, "{objects:?}");
    assert!(objects.iter().any(|p| p.ends_with("/hold.fkl")));
    assert_eq!(sink.held(), objects, "every object, nothing else");
    let o = h.object_lock.unwrap();
    assert_eq!(o.status, ObjectLockStatus::Applied);
    assert_eq!(o.objects as usize, objects.len());

    let r = block_on(engine::release(&repo, &key, &id))
        .unwrap()
        .unwrap();
    assert_eq!(r.object_lock.unwrap().objects as usize, objects.len());
    assert!(sink.held().is_empty());
    assert_eq!(block_on(engine::read_hold(&repo, &key, &id)).unwrap(), None);
}

#[test]
fn a_failed_place_keeps_the_repository_hold_and_a_rerun_completes_it() {
    let (sink, repo, id) = setup(ObjectHoldMode::Auto, true);
    let key = raw_key(1);
    *sink.refuse.lock().unwrap() = Some("/parts/".into());
    let e = block_on(engine::hold(&repo, &key, &id, "case")).unwrap_err();
    assert!(matches!(e, Error::PermissionDenied(_)), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("s3:PutObjectLegalHold")
            && text.contains("/parts/")
            && text.contains("held in the repository")
            && text.contains(&format!("firekeep hold place {id}")),
        "{text}"
    );
    let first = block_on(engine::read_hold(&repo, &key, &id))
        .unwrap()
        .expect("the repository hold stays");
    assert!(!sink.held().is_empty(), "the other objects were held");

    *sink.refuse.lock().unwrap() = None;
    let again = block_on(engine::hold(&repo, &key, &id, "other")).unwrap();
    assert_eq!(again.held_at, first.held_at);
    assert_eq!(sink.held(), backup_objects(&sink, &repo, &id));
}

#[test]
fn a_failed_release_keeps_the_hold() {
    let (sink, repo, id) = setup(ObjectHoldMode::Auto, true);
    let key = raw_key(1);
    block_on(engine::hold(&repo, &key, &id, "case")).unwrap();
    *sink.refuse.lock().unwrap() = Some("manifest".into());
    let e = block_on(engine::release(&repo, &key, &id)).unwrap_err();
    assert!(matches!(e, Error::PermissionDenied(_)), "{e}");
    assert!(e.to_string().contains("NOT released"), "{e}");
    assert!(
        block_on(engine::read_hold(&repo, &key, &id))
            .unwrap()
            .is_some(),
        "the record stays while S3 holds remain"
    );
    assert!(sink.held().iter().any(|p| p.ends_with("/hold.fkl")));
    *sink.refuse.lock().unwrap() = None;
    block_on(engine::release(&repo, &key, &id))
        .unwrap()
        .unwrap();
    assert!(sink.held().is_empty());
}

#[test]
fn a_bucket_without_object_lock_is_reported_or_refused_as_the_mode_says() {
    let key = raw_key(1);
    let (sink, repo, id) = setup(ObjectHoldMode::Auto, false);
    let h = block_on(engine::hold(&repo, &key, &id, "")).unwrap();
    assert_eq!(
        h.object_lock.unwrap().status,
        ObjectLockStatus::NotSupported
    );
    // One request answered the question; the others were not sent.
    assert_eq!(*sink.requests.lock().unwrap(), 1);

    let (_, repo, id) = setup(ObjectHoldMode::Required, false);
    let e = block_on(engine::hold(&repo, &key, &id, "")).unwrap_err();
    assert!(matches!(e, Error::InvalidConfig(_)), "{e}");
    assert!(
        block_on(engine::read_hold(&repo, &key, &id))
            .unwrap()
            .is_some()
    );
    // Release has nothing to clear there, whatever the mode.
    assert!(
        block_on(engine::release(&repo, &key, &id))
            .unwrap()
            .is_some()
    );

    let (sink, repo, id) = setup(ObjectHoldMode::Off, true);
    let h = block_on(engine::hold(&repo, &key, &id, "")).unwrap();
    assert_eq!(h.object_lock.unwrap().status, ObjectLockStatus::Disabled);
    assert_eq!(*sink.requests.lock().unwrap(), 0);
    assert!(sink.held().is_empty());
}
