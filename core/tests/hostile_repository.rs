//! A hostile repository: someone who can write to the bucket (a leaked upload credential, a
//! compromised CI job) plants folders dated 2099, one-byte manifests, swapped or oversized
//! objects, symbolic links to /dev/zero, junk key.json files, PBKDF2 parameters asking for
//! hours of work, deletes the newest manifests; someone holding a data key seals a zstd
//! bomb. Each scenario runs on local disk and asserts that no real backup is lost, that the
//! problem is named, and (for the oversized cases) that memory stays bounded. The same core
//! scenarios run on S3 (moto) in connectors/object-store/tests/hostile_s3.rs.

mod engine_common;

use engine_common::*;
use firekeep_core::engine::{self, Manifest, Repository, Retention};
use firekeep_core::format::{self, Compression, ObjectHeader};
use firekeep_core::keys::{KeyContext, KeyProvider, PassphraseKey, WrappedKey};
use firekeep_core::model::Timestamp;
use firekeep_core::secret::SecretBytes;
use firekeep_core::storage::local::LocalStorage;
use firekeep_core::{Error, Result};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A local repository in a fresh temp dir.
fn local_repo(tag: &str) -> (TempDir, Repository) {
    let dir = TempDir::new(tag);
    let sink = LocalStorage::new(&dir.0).unwrap();
    (dir, Repository::new(Arc::new(sink)))
}

fn backup_dir(dir: &TempDir, id: &str) -> PathBuf {
    dir.0.join("firekeep/v1/backups").join(id)
}

/// `n` real backups under `key`, oldest first.
fn real_backups(repo: &Repository, key: &dyn KeyProvider, n: usize) -> Vec<String> {
    let keys: Vec<&dyn KeyProvider> = (0..n).map(|_| key).collect();
    backups_under(repo, Arc::new(sample_source(3)), &keys)
}

/// Asserts every id is listed as a readable backup and verifies clean.
fn assert_intact(repo: &Repository, key: &dyn KeyProvider, ids: &[String]) {
    let listed = block_on(engine::list(repo, key)).unwrap();
    for id in ids {
        assert!(
            listed.iter().any(|b| &b.id == id),
            "real backup {id} is gone or unreadable: {:?}",
            listed.unreadable
        );
        let v = block_on(engine::verify(repo, key, id, None, &no_cancel())).unwrap();
        assert!(v.is_ok(), "{id}: {:?}", v.problems);
    }
}

/// Peak resident memory of this process so far (VmHWM), in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap();
    kib * 1024
}

const FUTURE: [&str; 3] = [
    "bk_20990101T000000.000Z_00000001",
    "bk_20990102T000000.000Z_00000002",
    "bk_20990103T000000.000Z_00000003",
];

/// Plants the reproduction: three folders dated 2099 with a one-byte manifest.
fn plant_future_folders(repo: &Repository) {
    for id in FUTURE {
        block_on(repo.sink().put(
            &repo.object_path(id, "manifest.fkm"),
            bytes::Bytes::from_static(b"x"),
        ))
        .unwrap();
    }
}

fn keep_last(n: usize) -> Retention {
    Retention {
        keep_last: n,
        ..Default::default()
    }
}

/// Runs the planted-folders scenario on any repository (shared with the S3 suite's shape).
fn planted_folders_cost_nothing(repo: &Repository) {
    let key = raw_key(1);
    let real = real_backups(repo, &key, 3);
    plant_future_folders(repo);
    // A real backup's manifest copied under a future id: authentic bytes, wrong folder.
    let copied = "bk_20990104T000000.000Z_00000004";
    // Copied by a data-key holder, who can even wrap the key for the new folder: the
    // manifest still names its own backup.
    let data = block_on(repo.sink().get(&repo.object_path(&real[0], "manifest.fkm"))).unwrap();
    block_on(
        repo.sink()
            .put(&repo.object_path(copied, "manifest.fkm"), data),
    )
    .unwrap();
    let dek = block_on(key.unwrap(
        &read_wrapped(repo, &real[0]),
        &KeyContext {
            backup_id: real[0].clone(),
        },
    ))
    .unwrap();
    let rewrapped = block_on(key.wrap(
        &dek,
        &KeyContext {
            backup_id: copied.into(),
        },
    ))
    .unwrap();
    block_on(repo.sink().put(
        &repo.object_path(copied, "key.json"),
        serde_json::to_vec(&rewrapped).unwrap().into(),
    ))
    .unwrap();

    let plan = block_on(engine::plan_prune(
        repo,
        &key,
        &keep_last(3),
        Timestamp::now(),
    ))
    .unwrap();
    assert!(plan.remove.is_empty(), "would remove {:?}", plan.remove);
    let kept: Vec<&str> = plan.keep.iter().map(|k| k.id.as_str()).collect();
    let mut newest_first = real.clone();
    newest_first.reverse();
    assert_eq!(kept, newest_first);
    let mut named: Vec<&str> = plan.unreadable.iter().map(|u| u.id.as_str()).collect();
    named.sort();
    assert_eq!(named, [FUTURE[0], FUTURE[1], FUTURE[2], copied]);
    let copy = plan.unreadable.iter().find(|u| u.id == copied).unwrap();
    assert_eq!(copy.code, "ERR_INTEGRITY", "{}", copy.message);
    assert!(copy.message.contains(&real[0]), "{}", copy.message);
    block_on(engine::apply_prune(repo, &key, &plan)).unwrap();
    assert_intact(repo, &key, &real);
    // The planted folders are left alone (never deleted on a guess either).
    for id in FUTURE {
        block_on(repo.sink().head(&repo.object_path(id, "manifest.fkm"))).unwrap();
    }

    // keep-within counts back from the newest authenticated backup, not from 2099.
    let within = Retention {
        keep_within: Some(Duration::from_secs(3600)),
        ..Default::default()
    };
    let plan = block_on(engine::plan_prune(repo, &key, &within, Timestamp::now())).unwrap();
    assert!(plan.remove.is_empty(), "would remove {:?}", plan.remove);

    // `latest` is the newest real backup; list names every planted folder.
    let listed = block_on(engine::list(repo, &key)).unwrap();
    assert_eq!(listed.latest().unwrap().id, real[2]);
    assert_eq!(listed.unreadable.len(), 4);
    for u in &listed.unreadable {
        assert!(!u.message.is_empty() && !u.code.is_empty());
    }
    assert!(listed.rollback.is_ok(), "{:?}", listed.rollback);
}

#[test]
fn planted_future_folders_are_reported_never_counted_and_delete_nothing() {
    let (_dir, repo) = local_repo("hostile-planted");
    planted_folders_cost_nothing(&repo);
}

#[test]
fn planted_future_folders_in_memory_too() {
    let (_, repo) = memory_repo();
    planted_folders_cost_nothing(&repo);
}

/// A 1 GiB sparse file swapped in for a part, a manifest and a key.json is refused from its
/// size, never read: peak memory grows by far less than the object.
#[test]
fn oversized_objects_are_refused_unread_at_bounded_memory() {
    let (dir, repo) = local_repo("hostile-oversized");
    let key = raw_key(1);
    let ids = real_backups(&repo, &key, 3);
    let manifest = block_on(engine::read_manifest(&repo, &key, &ids[0])).unwrap();
    let part = manifest.parts[0].object.clone();
    let huge = |path: PathBuf| {
        let f = std::fs::File::create(path).unwrap();
        f.set_len(1 << 30).unwrap();
    };
    huge(backup_dir(&dir, &ids[0]).join(&part));
    huge(backup_dir(&dir, &ids[1]).join("manifest.fkm"));
    huge(backup_dir(&dir, &ids[2]).join("key.json"));
    let before = peak_rss();

    let v = block_on(engine::verify(&repo, &key, &ids[0], None, &no_cancel())).unwrap();
    let p = v.problems.iter().find(|p| p.object == part).unwrap();
    assert_eq!(p.kind, "size", "{}", p.detail);
    assert!(p.detail.contains("1073741824"), "{}", p.detail);

    let listed = block_on(engine::list(&repo, &key)).unwrap();
    let mut named: Vec<&str> = listed.unreadable.iter().map(|u| u.id.as_str()).collect();
    named.sort();
    assert_eq!(named, [ids[1].as_str(), ids[2].as_str()]);
    for u in &listed.unreadable {
        assert_eq!(u.code, "ERR_INTEGRITY");
        assert!(u.message.contains("1073741824"), "{}", u.message);
    }
    let grown = peak_rss().saturating_sub(before);
    assert!(
        grown < 128 << 20,
        "peak memory grew by {grown} bytes reading 1 GiB objects"
    );
}

/// Symbolic links to /dev/zero in place of a part or a manifest are refused, not followed,
/// and prune does not take the folder of a backup whose manifest became a link for an
/// orphan to delete.
#[cfg(unix)]
#[test]
fn symlinks_to_dev_zero_are_refused_and_cost_no_backup() {
    let (dir, repo) = local_repo("hostile-symlink");
    let key = raw_key(1);
    let ids = real_backups(&repo, &key, 3);
    let manifest = block_on(engine::read_manifest(&repo, &key, &ids[0])).unwrap();
    let part = manifest.parts[0].object.clone();
    let link = |path: PathBuf| {
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
    };
    link(backup_dir(&dir, &ids[0]).join(&part));
    link(backup_dir(&dir, &ids[1]).join("manifest.fkm"));

    let v = block_on(engine::verify(&repo, &key, &ids[0], None, &no_cancel())).unwrap();
    let p = v.problems.iter().find(|p| p.object == part).unwrap();
    assert!(p.detail.contains("symbolic link"), "{}", p.detail);
    let err = block_on(repo.sink().get(&repo.object_path(&ids[1], "manifest.fkm"))).unwrap_err();
    assert!(err.to_string().contains("symbolic link"), "{err}");
    let err = block_on(engine::read_manifest(&repo, &key, &ids[1])).unwrap_err();
    assert!(err.to_string().contains("symbolic link"), "{err}");

    // Hours later, with a grace of zero, the linked-manifest folder is still not deleted.
    let retention = Retention {
        keep_last: 5,
        orphan_grace: Duration::ZERO,
        ..Default::default()
    };
    let later = Timestamp::now().add_seconds(7200).unwrap();
    let plan = block_on(engine::plan_prune(&repo, &key, &retention, later)).unwrap();
    let report = block_on(engine::apply_prune(&repo, &key, &plan)).unwrap();
    assert!(report.orphans.is_empty(), "{:?}", report.orphans);
    assert!(backup_dir(&dir, &ids[1]).join("key.json").exists());
    assert_intact(&repo, &key, &ids[2..]);
}

/// Deleting the newest manifests is detected: the head record names them, `list` reports
/// them and `latest` refuses. A prune that removes backups is not a rollback.
fn deleted_newest_are_detected(repo: &Repository) {
    let key = raw_key(1);
    let ids = real_backups(repo, &key, 4);
    let listed = block_on(engine::list(repo, &key)).unwrap();
    assert!(listed.rollback.is_ok(), "{:?}", listed.rollback);
    assert!(listed.rollback.generation.is_some());
    assert_eq!(listed.latest().unwrap().id, ids[3]);

    // A legitimate prune of the two oldest rewrites the head first: nothing missing.
    let plan = block_on(engine::plan_prune(
        repo,
        &key,
        &keep_last(3),
        Timestamp::now(),
    ))
    .unwrap();
    assert_eq!(plan.remove, vec![ids[0].clone()]);
    block_on(engine::apply_prune(repo, &key, &plan)).unwrap();
    let listed = block_on(engine::list(repo, &key)).unwrap();
    assert!(listed.rollback.is_ok(), "{:?}", listed.rollback);

    for id in &ids[2..] {
        block_on(repo.sink().delete(&repo.object_path(id, "manifest.fkm"))).unwrap();
    }
    let listed = block_on(engine::list(repo, &key)).unwrap();
    assert_eq!(
        listed.rollback.missing,
        vec![ids[3].clone(), ids[2].clone()]
    );
    let err = listed.latest().unwrap_err();
    assert_eq!(err.code(), "ERR_INTEGRITY");
    assert!(
        err.to_string().contains(&ids[3]) && err.to_string().contains(&ids[2]),
        "{err}"
    );
    // The older backup is still there and restorable by id.
    assert_intact(repo, &key, &ids[1..2]);
}

#[test]
fn deleted_newest_manifests_are_detected_on_local_disk() {
    let (_dir, repo) = local_repo("hostile-rollback");
    deleted_newest_are_detected(&repo);
}

/// Concurrent backups each get their own head generation; the later record names both.
#[test]
fn concurrent_backups_both_land_in_the_head() {
    let (_, repo) = memory_repo();
    let key = raw_key(1);
    let source: Arc<dyn firekeep_core::source::FirestoreSource> = Arc::new(sample_source(2));
    let (opts, cancel) = (small_parts(), no_cancel());
    let a = engine::backup(source.clone(), &repo, &key, &opts, None, &cancel);
    let b = engine::backup(source, &repo, &key, &opts, None, &cancel);
    let (a, b) = block_on(futures::future::join(a, b));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_ne!(a.head_generation, b.head_generation);
    let listed = block_on(engine::list(&repo, &key)).unwrap();
    assert!(listed.rollback.is_ok());
    for id in [&a.backup_id, &b.backup_id] {
        block_on(repo.sink().delete(&repo.object_path(id, "manifest.fkm"))).unwrap();
    }
    let listed = block_on(engine::list(&repo, &key)).unwrap();
    assert_eq!(listed.rollback.missing.len(), 2, "{:?}", listed.rollback);
}

/// A junk key.json in one folder does not stop rotate-key: it is skipped and named, the
/// real backups are rotated.
#[test]
fn junk_key_json_does_not_stop_rotate_key() {
    let (dir, repo) = local_repo("hostile-rotate");
    let (from, to) = (raw_key(1), raw_key(2));
    let ids = real_backups(&repo, &from, 2);
    let junk = "bk_20990101T000000.000Z_0000000a";
    std::fs::create_dir_all(backup_dir(&dir, junk)).unwrap();
    std::fs::write(backup_dir(&dir, junk).join("key.json"), b"{not json").unwrap();
    std::fs::copy(
        backup_dir(&dir, &ids[0]).join("manifest.fkm"),
        backup_dir(&dir, junk).join("manifest.fkm"),
    )
    .unwrap();
    let report = block_on(engine::rotate_key(&repo, &from, &to, &no_cancel())).unwrap();
    assert_eq!(report.rotated, ids);
    assert_eq!(report.unreadable.len(), 1);
    assert_eq!(report.unreadable[0].id, junk);
    assert!(
        report.unreadable[0].message.contains("key.json"),
        "{}",
        report.unreadable[0].message
    );
    assert_intact(&repo, &to, &ids);
    // The head moved to the new key with the backups.
    let listed = block_on(engine::list(&repo, &to)).unwrap();
    assert!(
        listed.rollback.generation.is_some(),
        "{:?}",
        listed.rollback
    );
    assert!(listed.rollback.missing.is_empty(), "{:?}", listed.rollback);
}

fn read_wrapped(repo: &Repository, id: &str) -> WrappedKey {
    let raw = block_on(repo.sink().get(&repo.object_path(id, "key.json"))).unwrap();
    serde_json::from_slice(&raw).unwrap()
}

fn seal(
    dek: &SecretBytes,
    id: &str,
    object: &str,
    compression: Compression,
    data: &[u8],
) -> Vec<u8> {
    let header = ObjectHeader {
        key_id: format::data_key_id(dek),
        backup_id: id.to_string(),
        object_name: object.to_string(),
        compression,
        segment_size: 1 << 20,
    };
    format::seal(dek, &header, data).unwrap()
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A part sealed by a data-key holder that decompresses to 512 MiB of copies of one
/// document (with a manifest resealed to match its size and hash) is an integrity problem
/// found at the manifest's plain_bytes, at bounded memory.
#[test]
fn zstd_bomb_stops_at_plain_bytes_with_bounded_memory() -> Result<()> {
    let (_, repo) = memory_repo();
    let key = raw_key(1);
    let id = real_backups(&repo, &key, 1).remove(0);
    let wrapped = read_wrapped(&repo, &id);
    let ctx = KeyContext {
        backup_id: id.clone(),
    };
    let dek = block_on(key.unwrap(&wrapped, &ctx))?;
    let mut manifest: Manifest = block_on(engine::read_manifest(&repo, &key, &id))?;
    let entry = manifest.parts[0].clone();
    // One real document line, repeated.
    let sealed = block_on(repo.sink().get(&repo.object_path(&id, &entry.object)))?;
    let (_, compressed) = format::open(&dek, &sealed)?;
    let plain = zstd::decode_all(&compressed[..]).unwrap();
    let line = plain
        .split_inclusive(|b| *b == b'\n')
        .next()
        .unwrap()
        .to_vec();
    let mut enc = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
    let block: Vec<u8> = line
        .iter()
        .copied()
        .cycle()
        .take(line.len() * 4096)
        .collect();
    let mut written = 0usize;
    while written < 512 << 20 {
        std::io::Write::write_all(&mut enc, &block).unwrap();
        written += block.len();
    }
    let bomb = enc.finish().unwrap();
    let sealed_bomb = seal(&dek, &id, &entry.object, Compression::Zstd, &bomb);
    manifest.parts[0].size = sealed_bomb.len() as u64;
    manifest.parts[0].sha256 = sha256_hex(&sealed_bomb);
    let sealed_manifest = seal(
        &dek,
        &id,
        "manifest.fkm",
        Compression::None,
        &serde_json::to_vec(&manifest).unwrap(),
    );
    block_on(
        repo.sink()
            .put(&repo.object_path(&id, &entry.object), sealed_bomb.into()),
    )?;
    block_on(repo.sink().put(
        &repo.object_path(&id, "manifest.fkm"),
        sealed_manifest.into(),
    ))?;

    let before = peak_rss();
    let started = Instant::now();
    let v = block_on(engine::verify(&repo, &key, &id, None, &no_cancel()))?;
    let p = v
        .problems
        .iter()
        .find(|p| p.object == entry.object)
        .unwrap();
    // Whichever bound is reached first: the recorded document count (one document past
    // it) or the recorded plain_bytes.
    assert!(
        p.kind == "count" || p.detail.contains("more than the"),
        "{}: {}",
        p.kind,
        p.detail
    );
    let err = v.into_result().unwrap_err();
    assert_eq!(err.code(), "ERR_INTEGRITY");
    let grown = peak_rss().saturating_sub(before);
    assert!(grown < 128 << 20, "peak memory grew by {grown} bytes");
    assert!(started.elapsed() < Duration::from_secs(20));
    Ok(())
}

/// A planted key.json asking for 100,000,000 PBKDF2 iterations is refused before any
/// derivation (it would take some 40 s per folder), named in the listing, and the error
/// carries no key id derived from the planted salt.
#[test]
fn huge_pbkdf2_iterations_are_refused_before_deriving() {
    let (_, repo) = memory_repo();
    let key = PassphraseKey::with_iterations("correct horse battery staple", 100_000).unwrap();
    let ids = real_backups(&repo, &key, 1);
    let planted = "bk_20990101T000000.000Z_0000000b";
    let mut wrapped = read_wrapped(&repo, &ids[0]);
    wrapped
        .params
        .insert("iterations".into(), "100000000".into());
    block_on(repo.sink().put(
        &repo.object_path(planted, "key.json"),
        serde_json::to_vec(&wrapped).unwrap().into(),
    ))
    .unwrap();
    let manifest = block_on(repo.sink().get(&repo.object_path(&ids[0], "manifest.fkm"))).unwrap();
    block_on(
        repo.sink()
            .put(&repo.object_path(planted, "manifest.fkm"), manifest.clone()),
    )
    .unwrap();
    // And one with another salt: one derivation, then named as a key mismatch.
    let other = "bk_20990102T000000.000Z_0000000c";
    let mut salted = read_wrapped(&repo, &ids[0]);
    salted.params.insert(
        "salt".into(),
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [5u8; 16]),
    );
    block_on(repo.sink().put(
        &repo.object_path(other, "key.json"),
        serde_json::to_vec(&salted).unwrap().into(),
    ))
    .unwrap();
    block_on(
        repo.sink()
            .put(&repo.object_path(other, "manifest.fkm"), manifest),
    )
    .unwrap();

    let derivations = key.derivations();
    let started = Instant::now();
    let listed = block_on(engine::list(&repo, &key)).unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(listed.latest().unwrap().id, ids[0]);
    let huge = listed
        .unreadable
        .iter()
        .find(|u| u.id == planted)
        .unwrap_or_else(|| panic!("{listed:?}"));
    assert!(huge.message.contains("iteration count"), "{}", huge.message);
    let salty = listed.unreadable.iter().find(|u| u.id == other).unwrap();
    assert_eq!(salty.code, "ERR_KEY_MISMATCH");
    // Only our own key id and the one key.json states appear, never the derived one.
    assert!(salty.message.contains(key.key_id()), "{}", salty.message);
    assert_eq!(key.derivations(), derivations + 1);
    let plan = block_on(engine::plan_prune(
        &repo,
        &key,
        &keep_last(1),
        Timestamp::now(),
    ))
    .unwrap();
    assert!(plan.remove.is_empty());
    assert_eq!(plan.unreadable.len(), 2);
}

/// A folder whose name firekeep never makes (here with a space and a terminal escape),
/// old enough to look like an orphan, neither stops prune nor is deleted, and is listed
/// with its name escaped.
#[test]
fn odd_folder_names_neither_stop_prune_nor_reach_the_terminal_raw() {
    let (_, repo) = memory_repo();
    let key = raw_key(1);
    let ids = real_backups(&repo, &key, 2);
    let odd = "odd name\u{1b}[31m";
    for object in ["parts/00000001.fkp", "manifest.fkm"] {
        let folder = if object == "manifest.fkm" {
            format!("{odd}2")
        } else {
            odd.to_string()
        };
        block_on(repo.sink().put(
            &repo.object_path(&folder, object),
            bytes::Bytes::from_static(b"junk"),
        ))
        .unwrap();
    }
    let retention = Retention {
        keep_last: 1,
        orphan_grace: Duration::ZERO,
        ..Default::default()
    };
    let later = Timestamp::now().add_seconds(7200).unwrap();
    let plan = block_on(engine::plan_prune(&repo, &key, &retention, later)).unwrap();
    assert!(plan.orphans.is_empty(), "{:?}", plan.orphans);
    assert_eq!(plan.remove, vec![ids[0].clone()]);
    assert_eq!(plan.unreadable.len(), 1);
    assert!(
        !plan.unreadable[0].id.contains('\u{1b}'),
        "{:?}",
        plan.unreadable[0]
    );
    block_on(engine::apply_prune(&repo, &key, &plan)).unwrap();
    assert_intact(&repo, &key, &ids[1..]);
}

/// Prune with a key that opens nothing removes nothing: every folder is reported.
#[test]
fn prune_with_the_wrong_key_removes_nothing() {
    let (_, repo) = memory_repo();
    let ids = real_backups(&repo, &raw_key(1), 3);
    let plan = block_on(engine::plan_prune(
        &repo,
        &raw_key(9),
        &keep_last(1),
        Timestamp::now(),
    ))
    .unwrap();
    assert!(plan.remove.is_empty() && plan.keep.is_empty());
    assert_eq!(plan.unreadable.len(), 3);
    assert!(plan.unreadable.iter().all(|u| u.code == "ERR_KEY_MISMATCH"));
    block_on(engine::apply_prune(&repo, &raw_key(9), &plan)).unwrap();
    assert_intact(&repo, &raw_key(1), &ids);
}

#[allow(dead_code)]
fn _uses(_: Error) {}

/// Planted head records (junk at a higher generation, one at the largest generation) are
/// named, never believed; a backup still completes and says why its head record could not
/// be written.
#[test]
fn planted_head_records_are_named_and_never_believed() {
    let (_, repo) = memory_repo();
    let key = raw_key(1);
    let ids = real_backups(&repo, &key, 2);
    let junk = "firekeep/v1/heads/00000000000000000100.fkh";
    block_on(
        repo.sink()
            .put(junk, bytes::Bytes::from_static(b"{\"format\":1}")),
    )
    .unwrap();
    let listed = block_on(engine::list(&repo, &key)).unwrap();
    assert_eq!(listed.rollback.unreadable_records.len(), 1);
    assert!(
        listed.rollback.unreadable_records[0].contains("head record 100"),
        "{:?}",
        listed.rollback
    );
    // The authenticated record below it still names the real backups.
    assert!(listed.rollback.generation.is_some_and(|g| g < 100));
    assert_eq!(listed.latest().unwrap().id, ids[1]);

    // The next record goes above the planted one and names every backup.
    let third = real_backups(&repo, &key, 1).remove(0);
    let listed = block_on(engine::list(&repo, &key)).unwrap();
    assert_eq!(listed.rollback.generation, Some(101));
    assert!(listed.rollback.unreadable_records.is_empty());

    // A record planted at the largest generation: the backup completes, reports why no
    // record was written, and the planted one is named.
    let max = format!("firekeep/v1/heads/{:020}.fkh", u64::MAX);
    block_on(repo.sink().put(&max, bytes::Bytes::from_static(b"x"))).unwrap();
    let report = run_backup(Arc::new(sample_source(2)), &repo, &key, &small_parts()).unwrap();
    assert_eq!(report.head_generation, None);
    assert!(
        report
            .head_error
            .as_deref()
            .unwrap()
            .contains("largest possible generation"),
        "{report:?}"
    );
    let listed = block_on(engine::list(&repo, &key)).unwrap();
    assert!(listed.iter().any(|b| b.id == report.backup_id));
    assert!(listed.iter().any(|b| b.id == third));
    assert!(!listed.rollback.unreadable_records.is_empty());
}
