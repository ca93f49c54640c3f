//! The committed golden object (`core/tests/golden/`, as age's testkit has): a fixed data
//! key, salt and nonce prefix seal a fixed plaintext into exactly the committed bytes,
//! through every AEAD backend, and the committed bytes open to the plaintext — in this
//! crate and in stock Python Tink (`tests/python/tink_cross.py`). A change to the object
//! format, the header encoding or the Tink layout fails here before it reaches a user's
//! bucket. `FIREKEEP_WRITE_GOLDEN=1` rewrites the files (only for a deliberate new format
//! version, with a new file name).

use firekeep_core::format::tink::StreamHeader;
use firekeep_core::format::{self, Backend, Compression, ObjectHeader};
use firekeep_core::secret::SecretBytes;
use std::path::{Path, PathBuf};
use std::process::Command;

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// The inputs, as `core/tests/golden/README.md` states them.
struct Inputs {
    key: SecretBytes,
    header: ObjectHeader,
    stream: StreamHeader,
    plaintext: Vec<u8>,
}

fn inputs() -> Inputs {
    let key = SecretBytes::new((0u8..32).collect());
    let header = ObjectHeader {
        key_id: format::data_key_id(&key),
        backup_id: "20261203T000000Z-golden".into(),
        object_name: "part-000001".into(),
        compression: Compression::None,
        segment_size: format::MIN_SEGMENT_SIZE,
    };
    let stream = StreamHeader {
        salt: (0xA0u8..0xC0).collect(),
        nonce_prefix: [1, 2, 3, 4, 5, 6, 7],
    };
    // 10,000 bytes: three 4 KiB segments, the last one partial.
    let line =
        b"firekeep golden object, format version 1: three segments of Tink AesGcmHkdfStreaming.\n";
    let plaintext = line.iter().copied().cycle().take(10_000).collect();
    Inputs {
        key,
        header,
        stream,
        plaintext,
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn golden_object_is_sealed_byte_for_byte_and_opens() {
    let i = inputs();
    if std::env::var_os("FIREKEEP_WRITE_GOLDEN").is_some() {
        let obj = format::seal_with(Backend::DEFAULT, &i.key, &i.header, &i.stream, &i.plaintext)
            .unwrap();
        std::fs::write(golden("object-v1.plaintext"), &i.plaintext).unwrap();
        std::fs::write(golden("object-v1.fko"), &obj).unwrap();
    }
    let committed = std::fs::read(golden("object-v1.fko")).expect("committed golden object");
    assert_eq!(
        std::fs::read(golden("object-v1.plaintext")).unwrap(),
        i.plaintext,
        "the committed plaintext is the README's"
    );
    for &backend in Backend::all() {
        let sealed =
            format::seal_with(backend, &i.key, &i.header, &i.stream, &i.plaintext).unwrap();
        assert!(
            sealed == committed,
            "{backend:?}: sealing the golden inputs no longer gives the committed bytes \
             (the object format changed: that needs a new format version)"
        );
    }
    let (header, plaintext) = format::open(&i.key, &committed).unwrap();
    assert_eq!(header, i.header);
    assert!(plaintext == i.plaintext);
    // The header and stream header sit where the README says.
    let header_bytes = i.header.to_bytes().unwrap();
    assert_eq!(&committed[..header_bytes.len()], &header_bytes[..]);
    assert_eq!(
        &committed[header_bytes.len()..header_bytes.len() + 40],
        &i.stream.to_bytes()[..]
    );
    // One flipped bit anywhere is refused.
    for at in [
        0,
        header_bytes.len() + 1,
        committed.len() / 2,
        committed.len() - 1,
    ] {
        let mut bad = committed.clone();
        bad[at] ^= 0x10;
        assert!(format::open(&i.key, &bad).is_err(), "bit flip at {at}");
    }
}

/// `FIREKEEP_PYTHON`, else the repo's venv, else `python3`.
fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("FIREKEEP_PYTHON") {
        return p.into();
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    if venv.exists() {
        return venv;
    }
    "python3".into()
}

#[test]
fn stock_tink_opens_the_golden_object() {
    let i = inputs();
    let dir = std::env::temp_dir().join(format!("firekeep-golden-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("tink.plaintext");
    let jobs = dir.join("jobs.json");
    std::fs::write(
        &jobs,
        serde_json::to_vec(&serde_json::json!([{
            "op": "decrypt", "key": hex(i.key.expose()),
            "object": golden("object-v1.fko"), "out": out,
        }]))
        .unwrap(),
    )
    .unwrap();
    let run = Command::new(python())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/python/tink_cross.py"))
        .arg(&jobs)
        .output()
        .expect("run Python (scripts/setup-python.sh makes .venv with Tink)");
    let got = std::fs::read(&out);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        run.status.success(),
        "stock Tink failed on the golden object: {}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(got.unwrap() == i.plaintext, "Tink decrypted other bytes");
}
