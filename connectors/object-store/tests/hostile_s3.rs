//! The core's hostile-repository scenarios (core/tests/hostile_repository.rs) on S3 (moto):
//! planted folders dated 2099 with one-byte manifests, deleted newest manifests, a part
//! swapped for a 64 MiB object (refused from its size, at bounded memory) and a junk
//! key.json in rotate-key. No real backup is lost and every problem is named.

mod common;

use bytes::Bytes;
use common::s3_sink;
use firekeep_core::engine::{self, BackupOptions, CancellationToken, Repository, Retention};
use firekeep_core::keys::RawKey;
use firekeep_core::model::{DatabaseId, Document, DocumentPath, Timestamp, Value};
use firekeep_core::source::memory::MemoryFirestore;
use std::collections::BTreeMap;
use std::sync::Arc;

fn source() -> Arc<MemoryFirestore> {
    let db = DatabaseId::new("firekeep-hostile", "(default)").unwrap();
    let m = MemoryFirestore::new(db.clone());
    for i in 0..20 {
        let p = DocumentPath::parse(&format!("items/i{i:05}")).unwrap();
        let fields = BTreeMap::from([("n".to_string(), Value::Integer(i))]);
        m.put(Document::new(db.document_name(&p), fields)).unwrap();
    }
    Arc::new(m)
}

fn key(seed: u8) -> RawKey {
    RawKey::from_bytes(&[seed; 32]).unwrap()
}

async fn backups(repo: &Repository, key: &RawKey, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..n {
        let r = engine::backup(
            source(),
            repo,
            key,
            &BackupOptions::default(),
            None,
            &CancellationToken::new(),
        )
        .await
        .unwrap();
        ids.push(r.backup_id);
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    ids
}

async fn assert_intact(repo: &Repository, key: &RawKey, ids: &[String]) {
    let listed = engine::list(repo, key).await.unwrap();
    for id in ids {
        assert!(listed.iter().any(|b| &b.id == id), "{id} lost: {listed:?}");
        let v = engine::verify(repo, key, id, None, &CancellationToken::new())
            .await
            .unwrap();
        assert!(v.is_ok(), "{id}: {:?}", v.problems);
    }
}

fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planted_folders_and_deleted_newest_on_s3() {
    let (sink, _) = s3_sink("hostile");
    let repo = Repository::new(Arc::new(sink));
    let k = key(1);
    let real = backups(&repo, &k, 3).await;
    let planted = [
        "bk_20990101T000000.000Z_00000001",
        "bk_20990102T000000.000Z_00000002",
        "bk_20990103T000000.000Z_00000003",
    ];
    for id in planted {
        repo.sink()
            .put(
                &repo.object_path(id, "manifest.fkm"),
                Bytes::from_static(b"x"),
            )
            .await
            .unwrap();
    }
    let retention = Retention {
        keep_last: 3,
        ..Retention::default()
    };
    let plan = engine::plan_prune(&repo, &k, &retention, Timestamp::now())
        .await
        .unwrap();
    assert!(plan.remove.is_empty(), "{plan:?}");
    let mut named: Vec<&str> = plan.unreadable.iter().map(|u| u.id.as_str()).collect();
    named.sort();
    assert_eq!(named, planted);
    engine::apply_prune(&repo, &k, &plan).await.unwrap();
    assert_intact(&repo, &k, &real).await;
    let listed = engine::list(&repo, &k).await.unwrap();
    assert_eq!(listed.latest().unwrap().id, real[2]);

    // Deleting the newest manifest is detected, and `latest` refuses.
    repo.sink()
        .delete(&repo.object_path(&real[2], "manifest.fkm"))
        .await
        .unwrap();
    let listed = engine::list(&repo, &k).await.unwrap();
    assert_eq!(listed.rollback.missing, vec![real[2].clone()]);
    let err = listed.latest().unwrap_err();
    assert!(err.to_string().contains(&real[2]), "{err}");
    assert_intact(&repo, &k, &real[..2]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_part_and_junk_key_json_on_s3() {
    let (sink, _) = s3_sink("hostile-big");
    let repo = Repository::new(Arc::new(sink));
    let (from, to) = (key(1), key(2));
    let ids = backups(&repo, &from, 2).await;
    let manifest = engine::read_manifest(&repo, &from, &ids[0]).await.unwrap();
    let part = manifest.parts[0].object.clone();
    // 64 MiB streamed in 1 MiB writes (the upload itself stays small in memory).
    let mut up = repo
        .sink()
        .put_multipart(&repo.object_path(&ids[0], &part))
        .await
        .unwrap();
    let chunk = Bytes::from(vec![0u8; 1 << 20]);
    for _ in 0..64 {
        up.write(chunk.clone()).await.unwrap();
    }
    up.complete().await.unwrap();
    let before = peak_rss();
    let v = engine::verify(&repo, &from, &ids[0], None, &CancellationToken::new())
        .await
        .unwrap();
    let p = v.problems.iter().find(|p| p.object == part).unwrap();
    assert_eq!(p.kind, "size", "{}", p.detail);
    assert!(
        p.detail.contains(&(64u64 << 20).to_string()),
        "{}",
        p.detail
    );
    let grown = peak_rss().saturating_sub(before);
    assert!(grown < 32 << 20, "peak RSS grew by {grown} bytes");

    // A junk key.json beside a copied manifest does not stop rotate-key.
    let junk = "bk_20990101T000000.000Z_0000000a";
    let m = repo
        .sink()
        .get(&repo.object_path(&ids[1], "manifest.fkm"))
        .await
        .unwrap();
    repo.sink()
        .put(&repo.object_path(junk, "manifest.fkm"), m)
        .await
        .unwrap();
    repo.sink()
        .put(
            &repo.object_path(junk, "key.json"),
            Bytes::from_static(b"{junk"),
        )
        .await
        .unwrap();
    let report = engine::rotate_key(&repo, &from, &to, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(report.rotated, ids);
    assert_eq!(report.unreadable.len(), 1);
    assert_eq!(report.unreadable[0].id, junk);
    let v = engine::verify(&repo, &to, &ids[1], None, &CancellationToken::new())
        .await
        .unwrap();
    assert!(v.is_ok(), "{:?}", v.problems);
}
