//! docs/recovery.md's recipe, taken from the page as written, reads a passphrase-wrapped
//! and a raw-key backup with stock Python tools only (cryptography, Tink, zstandard; no
//! firekeep import), and every document it prints equals what firekeep's own restore
//! restores — including after an erasure (the newest manifest generation). Needs the test
//! venv: run scripts/setup-python.sh.

mod engine_common;

use engine_common::*;
use firekeep_core::engine::{self, EraseOptions, EraseSelector, Repository, RestoreOptions};
use firekeep_core::keys::{KeyProvider, PassphraseKey};
use firekeep_core::model::{Document, json};
use firekeep_core::source::memory::MemoryFirestore;
use firekeep_core::storage::local::LocalStorage;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `FIREKEEP_PYTHON`, else the repo's venv, else `python3`.
fn python() -> PathBuf {
    if let Ok(p) = std::env::var("FIREKEEP_PYTHON") {
        return p.into();
    }
    let venv = repo_root().join(".venv/bin/python");
    if venv.exists() {
        return venv;
    }
    "python3".into()
}

/// The one ```python block of docs/recovery.md.
fn recipe() -> String {
    let doc = std::fs::read_to_string(repo_root().join("docs/recovery.md")).unwrap();
    let blocks: Vec<&str> = doc
        .split("```python\n")
        .skip(1)
        .map(|b| b.split("\n```").next().unwrap())
        .collect();
    assert_eq!(
        blocks.len(),
        1,
        "docs/recovery.md should hold one python block"
    );
    assert!(!blocks[0].contains("firekeep_core") && !blocks[0].contains("import firekeep"));
    blocks[0].to_string() + "\n"
}

fn by_name(docs: impl IntoIterator<Item = Document>) -> BTreeMap<String, Document> {
    docs.into_iter().map(|d| (d.name.clone(), d)).collect()
}

/// Runs the recipe on backup `id` of the local repository at `dir`; its documents.
fn recover(dir: &Path, id: &str, key_args: &[&str]) -> BTreeMap<String, Document> {
    let script = dir.join("recover.py");
    std::fs::write(&script, recipe()).unwrap();
    let out = Command::new(python())
        .arg(&script)
        .arg(dir.join("firekeep/v1/backups").join(id))
        .args(key_args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "recover.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    by_name(
        out.stdout
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| json::decode_document(l).unwrap()),
    )
}

fn restored(repo: &Repository, keys: &dyn KeyProvider, id: &str) -> BTreeMap<String, Document> {
    let target = Arc::new(MemoryFirestore::new(source_db()));
    run_restore(repo, keys, id, target.clone(), &RestoreOptions::default()).unwrap();
    by_name(target.documents(None))
}

/// Fields and both server times, compared as their JSON (NaN equals NaN there).
fn assert_same(a: &BTreeMap<String, Document>, b: &BTreeMap<String, Document>) {
    assert_eq!(a.len(), b.len());
    for (name, d) in a {
        let other = b.get(name).unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(
            json::encode_document(d),
            json::encode_document(other),
            "{name}"
        );
    }
}

#[test]
fn the_recipe_reads_passphrase_and_raw_key_backups_as_firekeep_restores_them() {
    let tmp = TempDir::new("recovery-doc");
    let source = Arc::new(sample_source(40));
    let passphrase = "correct horse battery staple";
    let raw_b64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    std::fs::write(tmp.0.join("passphrase.txt"), format!("{passphrase}\n")).unwrap();
    std::fs::write(tmp.0.join("raw.key"), format!("# demo key\n{raw_b64}\n")).unwrap();
    let pp: Arc<dyn KeyProvider> =
        Arc::new(PassphraseKey::with_iterations(passphrase, 100_000).unwrap());
    let raw: Arc<dyn KeyProvider> =
        Arc::new(firekeep_core::keys::RawKey::from_base64(raw_b64).unwrap());
    let pp_file = tmp.0.join("passphrase.txt");
    let raw_file = tmp.0.join("raw.key");
    for (name, key, args) in [
        (
            "passphrase",
            pp,
            ["--passphrase-file", pp_file.to_str().unwrap()],
        ),
        ("raw", raw, ["--key-file", raw_file.to_str().unwrap()]),
    ] {
        let dir = tmp.0.join(name);
        let repo = Repository::new(Arc::new(LocalStorage::new(&dir).unwrap()));
        let id = run_backup(source.clone(), &repo, key.as_ref(), &small_parts())
            .unwrap()
            .backup_id;
        let ours = restored(&repo, key.as_ref(), &id);
        assert_eq!(ours.len(), source.len());
        assert_same(&recover(&dir, &id, &args), &ours);

        // After an erasure the recipe reads the newest generation, as restore does.
        let opts = EraseOptions {
            selector: EraseSelector {
                paths: vec!["users/d00001".into()],
                field_match: None,
                include_subcollections: true,
            },
            backups: vec![],
            dry_run: false,
        };
        let r = block_on(engine::erase(&repo, key.as_ref(), &opts, &no_cancel())).unwrap();
        assert!(r.documents > 1);
        let ours = restored(&repo, key.as_ref(), &id);
        assert_eq!(ours.len() as u64, source.len() as u64 - r.documents);
        assert_same(&recover(&dir, &id, &args), &ours);
    }
}
