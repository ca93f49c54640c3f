//! The object readers on arbitrary bytes: never panic, and never return plaintext other
//! than the sealed one.
//!
//! Input byte 0 picks the mode: odd → the rest is the object itself; even → the rest is a
//! list of edits (4-byte position, 1-byte XOR mask; then a truncate/append byte) applied to
//! a valid object, which reaches the segment code far more often than random bytes.
#![no_main]

use firekeep_core::format::tink::StreamHeader;
use firekeep_core::format::{self, Compression, DecryptingReader, ObjectHeader, SegmentReader};
use firekeep_core::secret::SecretBytes;
use libfuzzer_sys::fuzz_target;
use std::io::Read;
use std::sync::OnceLock;

const PLAINTEXT_LEN: usize = 10_000;

fn fixture() -> &'static (SecretBytes, Vec<u8>, Vec<u8>) {
    static F: OnceLock<(SecretBytes, Vec<u8>, Vec<u8>)> = OnceLock::new();
    F.get_or_init(|| {
        let dek = SecretBytes::new((0..32).collect());
        let header = ObjectHeader {
            key_id: format::data_key_id(&dek),
            backup_id: "fuzz".into(),
            object_name: "part".into(),
            compression: Compression::None,
            segment_size: 4096,
        };
        let pt: Vec<u8> = (0..PLAINTEXT_LEN).map(|i| (i * 13) as u8).collect();
        let sh = StreamHeader {
            salt: vec![3; 32],
            nonce_prefix: [4; 7],
        };
        let obj = format::seal_with(format::Backend::DEFAULT, &dek, &header, &sh, &pt).unwrap();
        (dek, obj, pt)
    })
}

fuzz_target!(|data: &[u8]| {
    let (dek, obj, pt) = fixture();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let input: Vec<u8> = if mode & 1 == 1 {
        rest.to_vec()
    } else {
        let mut o = obj.clone();
        let mut edits = rest.chunks_exact(5);
        for e in &mut edits {
            let pos = u32::from_le_bytes([e[0], e[1], e[2], e[3]]) as usize;
            if !o.is_empty() {
                let i = pos % o.len();
                o[i] ^= e[4];
            }
        }
        match edits.remainder().first() {
            Some(&t) if t < 128 => o.truncate(o.len() * t as usize / 128),
            Some(&t) => o.extend(std::iter::repeat_n(t, t as usize - 127)),
            None => {}
        }
        o
    };
    let original = input == *obj;

    let _ = format::read_header(&input);
    if let Ok((_, got)) = format::open(dek, &input) {
        assert!(original && got == *pt, "open accepted a modified object");
    }

    if let Ok(mut r) = DecryptingReader::new(dek, &input[..]) {
        let mut got = Vec::new();
        let ok = r.read_to_end(&mut got).is_ok();
        // Whatever comes out must be a prefix of the one plaintext ever sealed.
        assert!(
            pt.starts_with(&got),
            "released plaintext that was never sealed"
        );
        if ok {
            assert!(original, "streaming reader accepted a modified object");
        }
    }

    if let Ok(r) = SegmentReader::new(dek, &input, input.len() as u64) {
        for i in 0..r.segment_count().min(64) {
            let range = r.segment_range(i);
            if let Some(ct) = input.get(range.start as usize..range.end as usize)
                && let Ok(p) = r.decrypt_segment(i, ct)
            {
                let pr = r.plaintext_range(i);
                assert_eq!(
                    pt.get(pr.start as usize..pr.end as usize),
                    Some(&p[..]),
                    "segment reader released wrong plaintext"
                );
            }
        }
    }
});
