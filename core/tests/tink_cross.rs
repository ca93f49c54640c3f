//! Cross-implementation check with stock Python Tink (PyPI `tink`), both directions:
//! Tink decrypts objects firekeep wrote (with the docs' worked example code), and firekeep
//! opens bodies Tink wrote. Needs the test venv: run scripts/setup-python.sh.

use firekeep_core::format::tink::TinkParams;
use firekeep_core::format::{self, Compression, ObjectHeader};
use firekeep_core::secret::SecretBytes;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `FIREKEEP_PYTHON`, else the repo's venv, else `python3`.
fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("FIREKEEP_PYTHON") {
        return p.into();
    }
    let venv = repo().join(".venv/bin/python");
    if venv.exists() {
        return venv;
    }
    "python3".into()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn data(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(2654435761).wrapping_add(seed) >> 13) as u8)
        .collect()
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn python_tink_reads_ours_and_we_read_tinks() {
    let py = python();
    let probe = Command::new(&py)
        .args(["-c", "import tink, tink.streaming_aead"])
        .output();
    match probe {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "Python at {} cannot import tink ({}): run scripts/setup-python.sh",
            py.display(),
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => panic!(
            "cannot run Python at {} ({e}): run scripts/setup-python.sh",
            py.display()
        ),
    }

    let dir = TempDir(std::env::temp_dir().join(format!(
        "firekeep-tink-cross-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )));
    std::fs::create_dir_all(&dir.0).unwrap();
    let path = |name: &str| dir.0.join(name);

    let dek = SecretBytes::new((100..132).collect());
    let mut jobs = Vec::new();
    let mut cases = Vec::new();
    for seg in [4096u32, format::DEFAULT_SEGMENT_SIZE] {
        let one = TinkParams::firekeep(seg).first_plaintext_len();
        for len in [0, 1, one - 1, one, 3 << 20] {
            let id = format!("s{seg}-n{len}");
            let pt = data(len, seg ^ len as u32);
            let header = ObjectHeader {
                key_id: format::data_key_id(&dek),
                backup_id: "bk-cross".into(),
                object_name: format!("part-{id}"),
                compression: Compression::None,
                segment_size: seg,
            };
            // firekeep → Tink.
            let obj = format::seal(&dek, &header, &pt).unwrap();
            std::fs::write(path(&format!("{id}.fk")), &obj).unwrap();
            jobs.push(serde_json::json!({
                "op": "decrypt", "key": hex(dek.expose()),
                "object": path(&format!("{id}.fk")), "out": path(&format!("{id}.fk.pt")),
            }));
            // Tink → firekeep: Tink encrypts with the header as associated data.
            let header_bytes = header.to_bytes().unwrap();
            std::fs::write(path(&format!("{id}.aad")), &header_bytes).unwrap();
            std::fs::write(path(&format!("{id}.pt")), &pt).unwrap();
            jobs.push(serde_json::json!({
                "op": "encrypt", "key": hex(dek.expose()), "segment_size": seg,
                "aad": path(&format!("{id}.aad")), "plaintext": path(&format!("{id}.pt")),
                "out": path(&format!("{id}.tink")),
            }));
            cases.push((id, pt, header_bytes));
        }
    }
    std::fs::write(path("jobs.json"), serde_json::to_vec(&jobs).unwrap()).unwrap();
    let out = Command::new(&py)
        .arg(repo().join("tests/python/tink_cross.py"))
        .arg(path("jobs.json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tink_cross.py failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    for (id, pt, header_bytes) in cases {
        let tink_pt = std::fs::read(path(&format!("{id}.fk.pt"))).unwrap();
        assert!(
            tink_pt == pt,
            "{id}: Tink decrypted firekeep's object to other bytes"
        );
        let mut obj = header_bytes;
        obj.extend_from_slice(&std::fs::read(path(&format!("{id}.tink"))).unwrap());
        let (_, ours) = format::open(&dek, &obj)
            .unwrap_or_else(|e| panic!("{id}: firekeep cannot open Tink's body: {e}"));
        assert!(
            ours == pt,
            "{id}: firekeep decrypted Tink's body to other bytes"
        );
        // And the streaming reader agrees.
        let mut r = format::DecryptingReader::new(&dek, &obj[..]).unwrap();
        let mut streamed = Vec::new();
        std::io::Read::read_to_end(&mut r, &mut streamed).unwrap();
        assert!(streamed == pt, "{id}: streaming reader disagrees");
    }
}

/// docs/format.md shows the worked example verbatim, so the code readers copy is the code
/// the test above runs.
#[test]
fn docs_show_the_tested_example() {
    let example = std::fs::read_to_string(repo().join("tests/python/tink_example.py")).unwrap();
    let docs =
        std::fs::read_to_string(repo().join("docs/format.md")).expect("docs/format.md exists");
    assert!(
        docs.contains(example.trim()),
        "docs/format.md must contain tests/python/tink_example.py verbatim"
    );
}
