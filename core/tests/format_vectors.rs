//! Known-answer tests of the format's primitives: Tink's published AesGcmHkdfStreaming
//! vector, and Project Wycheproof's AES-GCM and HKDF-SHA256 vectors through every AEAD
//! backend compiled in (this crate's tests enable `fast-aead`, so both).

use firekeep_core::format::aead;
use firekeep_core::format::tink::{self, HkdfHash, Layout, StreamHeader, TinkParams};
use firekeep_core::format::{self, Backend, Compression, ObjectHeader};
use firekeep_core::secret::SecretBytes;
use wycheproof::TestResult;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The vector in tink-cc `tink/streamingaead/internal/testing/aes_gcm_hkdf_streaming_test_vectors.cc`
/// (`CreateTestVector0`, "from the cross language tests, test_manually_created_test_vector"):
/// 16-byte key, HKDF-SHA1, 64-byte ciphertext segments, associated data "aad".
#[test]
fn tink_published_vector_decrypts_and_reencrypts() {
    let params = TinkParams {
        key_size: 16,
        hkdf_hash: HkdfHash::Sha1,
        ciphertext_segment_size: 64,
        first_segment_offset: 0,
    };
    let key = hex("6eb56cdc726dfbe5d57f2fcdc6e9345b");
    let plaintext = b"This is a fairly long plaintext. It is of the exact length to create three output blocks. ";
    let header = ["18", "93b3af5e14ab378d065addfc8484da64", "2c0862877baea8"].concat();
    let ciphertext = hex(&[
        header.as_str(),
        "db92d9c77406a406168478821c4298eab3e6d531277f4c1a051714faebcaefcbca7b7be05e9445ea",
        "a0bb2904153398a25084dd80ae0edcd1c3079fcea2cd3770630ee36f7539207b8ec9d754956d486b71cdf989f0ed6fba6779b63558be0a66e668df14e1603cd2",
        "af8944844078345286d0b292e772e7190775c51a0f83e40c0b75821027e7e538e111",
    ]
    .concat());
    let layout = Layout::new(&params, ciphertext.len() as u64).unwrap();
    assert_eq!(layout.segment_count(), 3);
    assert_eq!(layout.plaintext_len(), plaintext.len() as u64);
    let stream_header = StreamHeader::parse(&params, &ciphertext).unwrap();
    for &backend in Backend::all() {
        let got = tink::decrypt(backend, &params, &key, b"aad", &ciphertext).unwrap();
        assert_eq!(got, plaintext, "{backend:?}");
        // Same salt and nonce prefix: our encryption is byte-identical to Tink's.
        let again =
            tink::encrypt(backend, &params, &key, b"aad", &stream_header, plaintext).unwrap();
        assert_eq!(again, ciphertext, "{backend:?}");
        // Other associated data or a flipped byte: rejected.
        assert!(tink::decrypt(backend, &params, &key, b"aae", &ciphertext).is_err());
        let mut bad = ciphertext.clone();
        bad[30] ^= 1;
        assert!(tink::decrypt(backend, &params, &key, b"aad", &bad).is_err());
    }
}

/// Tink's general parameters other than the vector's: SHA-512, AES-256, a first-segment
/// offset; the layout arithmetic agrees with what encryption produces.
#[test]
fn general_parameters_round_trip() {
    for (key_size, hash, seg, offset) in [
        (32, HkdfHash::Sha512, 100, 0),
        (16, HkdfHash::Sha256, 80, 5),
        (32, HkdfHash::Sha256, 4096, 17),
    ] {
        let params = TinkParams {
            key_size,
            hkdf_hash: hash,
            ciphertext_segment_size: seg,
            first_segment_offset: offset,
        };
        let key = vec![7u8; key_size];
        let sh = StreamHeader::random(&params);
        for len in [0usize, 1, 50, 500, 9000] {
            let pt: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let ct = tink::encrypt(Backend::DEFAULT, &params, &key, b"ad", &sh, &pt).unwrap();
            assert_eq!(ct.len() as u64, params.ciphertext_len(len as u64));
            for &backend in Backend::all() {
                assert_eq!(
                    tink::decrypt(backend, &params, &key, b"ad", &ct).unwrap(),
                    pt
                );
            }
        }
    }
}

/// Project Wycheproof AES-GCM: 96-bit IV, 128-bit tag, 128- and 256-bit keys, through the
/// one-shot API of every backend.
#[test]
fn wycheproof_aes_gcm_all_backends() {
    let set = wycheproof::aead::TestSet::load(wycheproof::aead::TestName::AesGcm).unwrap();
    let mut checked = 0;
    for group in &set.test_groups {
        if group.nonce_size != 96 || group.tag_size != 128 || !matches!(group.key_size, 128 | 256) {
            continue;
        }
        for t in &group.tests {
            let nonce: [u8; 12] = t.nonce[..].try_into().unwrap();
            let mut ct_tag = t.ct.to_vec();
            ct_tag.extend_from_slice(&t.tag);
            for &backend in Backend::all() {
                let opened = aead::open_with(backend, &t.key, &nonce, &t.aad, &ct_tag);
                match t.result {
                    TestResult::Valid | TestResult::Acceptable => {
                        assert_eq!(
                            opened.unwrap_or_else(|e| panic!("tc {} {backend:?}: {e}", t.tc_id)),
                            &t.pt[..],
                            "tc {} {backend:?}",
                            t.tc_id
                        );
                        let sealed = aead::seal_with(backend, &t.key, &nonce, &t.aad, &t.pt);
                        assert_eq!(sealed, ct_tag, "tc {} {backend:?}", t.tc_id);
                        if group.key_size == 256 {
                            let key: [u8; 32] = t.key[..].try_into().unwrap();
                            assert_eq!(aead::seal(&key, &nonce, &t.aad, &t.pt), ct_tag);
                            assert_eq!(
                                aead::open(&key, &nonce, &t.aad, &ct_tag).unwrap(),
                                &t.pt[..]
                            );
                        }
                    }
                    TestResult::Invalid => {
                        assert!(opened.is_err(), "tc {} {backend:?} accepted", t.tc_id)
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "only {checked} Wycheproof AES-GCM cases ran");
}

/// Project Wycheproof HKDF-SHA256 (the segment-key derivation, shared by both backends).
#[test]
fn wycheproof_hkdf_sha256() {
    let set = wycheproof::hkdf::TestSet::load(wycheproof::hkdf::TestName::HkdfSha256).unwrap();
    let mut checked = 0;
    for group in &set.test_groups {
        for t in &group.tests {
            let mut out = vec![0u8; t.size];
            let r = tink::hkdf(HkdfHash::Sha256, &t.ikm, &t.salt, &t.info, &mut out);
            match t.result {
                TestResult::Valid | TestResult::Acceptable => {
                    r.unwrap();
                    assert_eq!(out, &t.okm[..], "tc {}", t.tc_id);
                }
                TestResult::Invalid => assert!(r.is_err(), "tc {} accepted", t.tc_id),
            }
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} Wycheproof HKDF cases ran");
}

/// The two backends produce identical objects, and each opens the other's.
#[test]
fn backends_are_byte_identical() {
    assert!(
        Backend::all().len() >= 2,
        "this crate's tests enable fast-aead so both backends are compared"
    );
    let dek = SecretBytes::new((0..32).collect());
    let h = ObjectHeader {
        key_id: format::data_key_id(&dek),
        backup_id: "b".into(),
        object_name: "o".into(),
        compression: Compression::None,
        segment_size: 4096,
    };
    let sh = StreamHeader {
        salt: vec![9; 32],
        nonce_prefix: [1, 2, 3, 4, 5, 6, 7],
    };
    let pt: Vec<u8> = (0..30_000u32).map(|i| (i * 7) as u8).collect();
    let objects: Vec<Vec<u8>> = Backend::all()
        .iter()
        .map(|&b| format::seal_with(b, &dek, &h, &sh, &pt).unwrap())
        .collect();
    for o in &objects {
        assert_eq!(o, &objects[0]);
        for &b in Backend::all() {
            assert_eq!(format::open_with(b, &dek, o).unwrap().1, pt);
        }
    }
}
