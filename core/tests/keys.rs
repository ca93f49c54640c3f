//! Key providers: passphrase (PBKDF2-HMAC-SHA256) and raw key, wrapping, wrong keys,
//! tampering, rotation, and Project Wycheproof's PBKDF2-HMAC-SHA256 vectors.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use firekeep_core::Error;
use firekeep_core::keys::{
    DEFAULT_PBKDF2_ITERATIONS, KeyContext, KeyProvider, MIN_PBKDF2_ITERATIONS, PassphraseKey,
    RawKey, WrappedKey, pbkdf2_hmac_sha256, random_data_key, rewrap,
};
use firekeep_core::secret::SecretBytes;
use futures::executor::block_on;
use hmac::{Hmac, Mac};

/// Tests use the minimum iteration count: same code path, a sixth of the time.
const FAST: u32 = MIN_PBKDF2_ITERATIONS;
const PASSPHRASE: &str = "correct horse battery staple";

fn ctx(backup_id: &str) -> KeyContext {
    KeyContext {
        backup_id: backup_id.to_owned(),
    }
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).unwrap();
    b
}

fn expected_fingerprint(prefix: &str, key: &[u8]) -> String {
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).unwrap();
    mac.update(b"firekeep key id");
    let d = mac.finalize().into_bytes();
    let hex: String = d[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{hex}")
}

fn assert_mismatch(err: Error, expected: &str, actual: &str) {
    match err {
        Error::KeyMismatch {
            expected: e,
            actual: a,
        } => {
            assert_eq!(e, expected);
            assert_eq!(a, actual);
            assert_ne!(e, a);
        }
        other => panic!("expected KeyMismatch, got {other:?}"),
    }
}

fn assert_integrity(err: Error) {
    assert_eq!(err.code(), "ERR_INTEGRITY", "{err}");
}

// ---------------------------------------------------------------------------------------
// Raw key
// ---------------------------------------------------------------------------------------

#[test]
fn raw_key_accepts_openssl_output() {
    let bytes: [u8; 32] = random_bytes();
    let b64 = STANDARD.encode(bytes);
    assert_eq!(b64.len(), 44);
    let a = RawKey::from_base64(&format!("{b64}\n")).unwrap();
    let b = RawKey::from_base64(&format!("  {b64}\r\n")).unwrap();
    let c = RawKey::from_bytes(&bytes).unwrap();
    assert_eq!(a.key_id(), b.key_id());
    assert_eq!(a.key_id(), c.key_id());
    assert_eq!(a.key_id(), expected_fingerprint("raw-", &bytes));
    assert_eq!(a.to_base64().expose(), b64);
    let other = RawKey::generate().unwrap();
    assert_ne!(other.key_id(), a.key_id());
    assert_eq!(a.kind(), "raw");
}

#[test]
fn raw_key_refuses_anything_but_32_bytes_of_base64() {
    // 0xfb bytes encode to '+' and '/', which URL-safe base64 spells differently.
    let k32 = STANDARD.encode([0xfbu8; 32]);
    assert!(k32.contains('+') && k32.contains('/'));
    let cases = [
        String::new(),
        STANDARD.encode([7u8; 31]),
        STANDARD.encode([7u8; 33]),
        STANDARD.encode([7u8; 16]),
        "not base64 at all!".to_owned(),
        k32.trim_end_matches('=').to_owned(),
        k32.replace('=', "") + "==",
        hex(&[7u8; 32]),
        k32.replace('+', "-").replace('/', "_"),
    ];
    for case in cases {
        let err = RawKey::from_base64(&case).unwrap_err();
        assert_eq!(err.code(), "ERR_INVALID_CONFIG", "{case:?}: {err}");
        let msg = err.to_string();
        assert!(msg.contains("openssl rand -base64 32"), "{msg}");
        assert!(msg.contains("32 bytes"), "{msg}");
    }
    assert_eq!(
        RawKey::from_bytes(&[1u8; 31]).unwrap_err().code(),
        "ERR_INVALID_CONFIG"
    );
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn raw_key_wraps_and_unwraps() {
    let key = RawKey::generate().unwrap();
    let (dek, wrapped) = block_on(key.generate_data_key(&ctx("b1"))).unwrap();
    assert_eq!(dek.len(), 32);
    assert_eq!(wrapped.provider, "raw");
    assert_eq!(wrapped.key_id, key.key_id());
    let back = block_on(key.unwrap(&wrapped, &ctx("b1"))).unwrap();
    assert_eq!(back.expose(), dek.expose());

    // A second wrap of the same key uses a new nonce.
    let again = block_on(key.wrap(&dek, &ctx("b1"))).unwrap();
    assert_ne!(again.ciphertext, wrapped.ciphertext);

    // The wrapped key is plain JSON beside the data and survives a round trip.
    let json = serde_json::to_string(&wrapped).unwrap();
    let parsed: WrappedKey = serde_json::from_str(&json).unwrap();
    assert_eq!(
        block_on(key.unwrap(&parsed, &ctx("b1"))).unwrap().expose(),
        dek.expose()
    );
}

#[test]
fn wrong_raw_key_is_reported_by_key_id() {
    let right = RawKey::generate().unwrap();
    let wrong = RawKey::generate().unwrap();
    let (_, wrapped) = block_on(right.generate_data_key(&ctx("b"))).unwrap();
    let err = block_on(wrong.unwrap(&wrapped, &ctx("b"))).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(right.key_id()) && text.contains(wrong.key_id()),
        "{text}"
    );
    assert_mismatch(err, right.key_id(), wrong.key_id());
}

#[test]
fn wrapped_key_is_bound_to_its_backup_and_label() {
    let key = RawKey::generate().unwrap();
    let (_, wrapped) = block_on(key.generate_data_key(&ctx("backup-a"))).unwrap();
    assert_integrity(block_on(key.unwrap(&wrapped, &ctx("backup-b"))).unwrap_err());
    assert_integrity(block_on(key.unwrap(&wrapped, &ctx("backup-a "))).unwrap_err());

    // Relabelling a key wrapped by A as wrapped by B does not make B's key open it.
    let other = RawKey::generate().unwrap();
    let relabelled = WrappedKey {
        key_id: other.key_id().to_owned(),
        ..wrapped.clone()
    };
    assert_integrity(block_on(other.unwrap(&relabelled, &ctx("backup-a"))).unwrap_err());
}

#[test]
fn every_tampered_byte_is_an_integrity_error() {
    let key = RawKey::generate().unwrap();
    let (_, wrapped) = block_on(key.generate_data_key(&ctx("b"))).unwrap();
    let blob = STANDARD.decode(&wrapped.ciphertext).unwrap();
    assert_eq!(blob.len(), 12 + 32 + 16);
    for i in 0..blob.len() {
        for bit in [0x01u8, 0x80] {
            let mut bad = blob.clone();
            bad[i] ^= bit;
            let tampered = WrappedKey {
                ciphertext: STANDARD.encode(&bad),
                ..wrapped.clone()
            };
            assert_integrity(block_on(key.unwrap(&tampered, &ctx("b"))).unwrap_err());
        }
    }
    for len in [0, 12, 59, 61] {
        let mut bad = blob.clone();
        bad.resize(len, 0);
        let tampered = WrappedKey {
            ciphertext: STANDARD.encode(&bad),
            ..wrapped.clone()
        };
        assert_integrity(block_on(key.unwrap(&tampered, &ctx("b"))).unwrap_err());
    }
    let not_base64 = WrappedKey {
        ciphertext: "%%%".into(),
        ..wrapped
    };
    assert_integrity(block_on(key.unwrap(&not_base64, &ctx("b"))).unwrap_err());
}

#[test]
fn wrap_refuses_data_keys_of_the_wrong_size() {
    let key = RawKey::generate().unwrap();
    let err = block_on(key.wrap(&SecretBytes::new(vec![0; 16]), &ctx("b"))).unwrap_err();
    assert_eq!(err.code(), "ERR_INVALID_INPUT");
}

// ---------------------------------------------------------------------------------------
// Passphrase
// ---------------------------------------------------------------------------------------

#[test]
fn passphrase_rules() {
    let err = PassphraseKey::new("eleven char").unwrap_err();
    assert_eq!(err.code(), "ERR_INVALID_CONFIG");
    assert!(err.to_string().contains("at least 12"), "{err}");
    // Characters, not bytes: 11 two-byte characters are still too short.
    assert!(PassphraseKey::new("ééééééééééé").is_err());
    assert!(PassphraseKey::with_iterations("🔥🔥🔥🔥🔥🔥🔥🔥🔥🔥🔥🔥", FAST).is_ok());

    let err = PassphraseKey::with_iterations(PASSPHRASE, MIN_PBKDF2_ITERATIONS - 1).unwrap_err();
    assert_eq!(err.code(), "ERR_INVALID_CONFIG");
    assert!(err.to_string().contains("at least 100000"), "{err}");
    assert!(PassphraseKey::with_params(PASSPHRASE, &[0u8; 8], FAST).is_err());

    let default = PassphraseKey::new(PASSPHRASE).unwrap();
    assert_eq!(default.iterations(), DEFAULT_PBKDF2_ITERATIONS);
    assert_eq!(default.iterations(), 600_000);
    assert_eq!(default.salt().len(), 16);
    let other = PassphraseKey::new(PASSPHRASE).unwrap();
    assert_ne!(default.salt(), other.salt(), "salts are random");
}

#[test]
fn passphrase_key_id_is_the_fingerprint_of_the_derived_key() {
    let salt: [u8; 16] = random_bytes();
    let key = PassphraseKey::with_params(PASSPHRASE, &salt, FAST).unwrap();
    let mut kek = [0u8; 32];
    pbkdf2_hmac_sha256(PASSPHRASE.as_bytes(), &salt, FAST, &mut kek);
    assert_eq!(key.key_id(), expected_fingerprint("pp-", &kek));
    assert_eq!(key.kind(), "passphrase");
    let same = PassphraseKey::with_params(PASSPHRASE, &salt, FAST).unwrap();
    assert_eq!(same.key_id(), key.key_id());
    let more_iterations = PassphraseKey::with_params(PASSPHRASE, &salt, FAST + 1).unwrap();
    assert_ne!(more_iterations.key_id(), key.key_id());
}

#[test]
fn passphrase_wraps_and_a_new_instance_unwraps() {
    let writer = PassphraseKey::with_iterations(PASSPHRASE, FAST).unwrap();
    let (dek1, w1) = block_on(writer.generate_data_key(&ctx("b1"))).unwrap();
    let (dek2, w2) = block_on(writer.generate_data_key(&ctx("b2"))).unwrap();
    // One instance, one salt, one key id.
    assert_eq!(w1.key_id, w2.key_id);
    assert_eq!(w1.key_id, writer.key_id());
    assert_eq!(w1.params, w2.params);
    assert_eq!(w1.params["kdf"], "pbkdf2-hmac-sha256");
    assert_eq!(w1.params["iterations"], FAST.to_string());
    assert_eq!(STANDARD.decode(&w1.params["salt"]).unwrap(), writer.salt());

    // A restore run knows only the passphrase: its own salt differs, the stored one wins.
    let reader = PassphraseKey::new(PASSPHRASE).unwrap();
    assert_ne!(reader.salt(), writer.salt());
    let back1 = block_on(reader.unwrap(&w1, &ctx("b1"))).unwrap();
    let back2 = block_on(reader.unwrap(&w2, &ctx("b2"))).unwrap();
    assert_eq!(back1.expose(), dek1.expose());
    assert_eq!(back2.expose(), dek2.expose());
    assert_ne!(dek1.expose(), dek2.expose());
}

#[test]
fn wrong_passphrase_names_both_key_ids() {
    let writer = PassphraseKey::with_iterations(PASSPHRASE, FAST).unwrap();
    let (_, wrapped) = block_on(writer.generate_data_key(&ctx("b"))).unwrap();
    let reader = PassphraseKey::with_iterations("correct horse battery stable", FAST).unwrap();
    let err = block_on(reader.unwrap(&wrapped, &ctx("b"))).unwrap_err();
    // `actual` is the reader's own key id (its own salt), never the id the passphrase
    // gives under the backup's salt: that salt comes from the repository, and the derived
    // id would be a guessing oracle for whoever planted it.
    let salt = STANDARD.decode(&wrapped.params["salt"]).unwrap();
    let mut kek = [0u8; 32];
    pbkdf2_hmac_sha256(b"correct horse battery stable", &salt, FAST, &mut kek);
    let oracle = expected_fingerprint("pp-", &kek);
    assert!(!format!("{err} {err:?}").contains(&oracle));
    assert_mismatch(err, writer.key_id(), reader.key_id());
}

/// Parameters a planted key.json may ask for are bounded: at most 10,000,000 iterations
/// and a 16..=64-byte salt, refused before any derivation; the same salt derives once.
#[test]
fn planted_passphrase_params_are_bounded_and_derived_once() {
    let key = PassphraseKey::with_iterations(PASSPHRASE, FAST).unwrap();
    let (_, wrapped) = block_on(key.generate_data_key(&ctx("b"))).unwrap();
    let before = key.derivations();
    for (k, v) in [
        ("iterations", "10000001".to_string()),
        ("iterations", "100000000".to_string()),
        ("salt", STANDARD.encode([7u8; 65])),
        ("salt", STANDARD.encode([7u8; 15])),
    ] {
        let mut w = wrapped.clone();
        w.params.insert(k.to_owned(), v);
        let err = block_on(key.unwrap(&w, &ctx("b"))).unwrap_err();
        assert_eq!(err.code(), "ERR_INVALID_INPUT", "{err}");
    }
    assert_eq!(key.derivations(), before, "a refused parameter was derived");
    // Many backups sharing one foreign salt cost one derivation.
    let mut w = wrapped.clone();
    w.params.insert("salt".into(), STANDARD.encode([3u8; 16]));
    for _ in 0..5 {
        assert!(block_on(key.unwrap(&w, &ctx("b"))).is_err());
    }
    assert_eq!(key.derivations(), before + 1);
}

#[test]
fn tampered_passphrase_params_fail_cleanly() {
    let key = PassphraseKey::with_iterations(PASSPHRASE, FAST).unwrap();
    let (_, wrapped) = block_on(key.generate_data_key(&ctx("b"))).unwrap();
    let with = |k: &str, v: &str| {
        let mut w = wrapped.clone();
        w.params.insert(k.to_owned(), v.to_owned());
        block_on(key.unwrap(&w, &ctx("b"))).unwrap_err()
    };
    // A different derivation gives a different key id: reported as a mismatch.
    let err = with("iterations", &(FAST + 1).to_string());
    assert_eq!(err.code(), "ERR_KEY_MISMATCH");
    let err = with("salt", &STANDARD.encode([9u8; 16]));
    assert_eq!(err.code(), "ERR_KEY_MISMATCH");
    // Unusable parameters are refused before any derivation.
    for (k, v) in [
        ("iterations", "10"),
        ("iterations", "4000000000"),
        ("iterations", "many"),
        ("salt", "%%%"),
        ("kdf", "scrypt"),
    ] {
        assert_eq!(with(k, v).code(), "ERR_INVALID_INPUT", "{k}={v}");
    }
    assert_integrity(block_on(key.unwrap(&wrapped, &ctx("other"))).unwrap_err());
}

#[test]
fn providers_of_another_kind_report_a_mismatch() {
    let pp = PassphraseKey::with_iterations(PASSPHRASE, FAST).unwrap();
    let raw = RawKey::generate().unwrap();
    let (_, by_pp) = block_on(pp.generate_data_key(&ctx("b"))).unwrap();
    let (_, by_raw) = block_on(raw.generate_data_key(&ctx("b"))).unwrap();
    assert_mismatch(
        block_on(raw.unwrap(&by_pp, &ctx("b"))).unwrap_err(),
        pp.key_id(),
        raw.key_id(),
    );
    assert_mismatch(
        block_on(pp.unwrap(&by_raw, &ctx("b"))).unwrap_err(),
        raw.key_id(),
        pp.key_id(),
    );
}

#[test]
fn rotation_rewraps_the_same_data_key() {
    let old = PassphraseKey::with_iterations(PASSPHRASE, FAST).unwrap();
    let new = RawKey::generate().unwrap();
    let newer = PassphraseKey::with_iterations("another long passphrase", FAST).unwrap();
    let c = ctx("b");
    let (dek, w_old) = block_on(old.generate_data_key(&c)).unwrap();

    let w_new = block_on(rewrap(&old, &new, &w_old, &c)).unwrap();
    assert_eq!(w_new.provider, "raw");
    assert_eq!(w_new.key_id, new.key_id());
    assert_eq!(
        block_on(new.unwrap(&w_new, &c)).unwrap().expose(),
        dek.expose()
    );

    let w_newer = block_on(rewrap(&new, &newer, &w_new, &c)).unwrap();
    assert_eq!(
        block_on(newer.unwrap(&w_newer, &c)).unwrap().expose(),
        dek.expose()
    );
    // The old wrapped key still opens with the old key: rotation changes no data.
    assert_eq!(
        block_on(old.unwrap(&w_old, &c)).unwrap().expose(),
        dek.expose()
    );

    // Rotating with the wrong current key fails and yields nothing.
    let err = block_on(rewrap(&newer, &new, &w_old, &c)).unwrap_err();
    assert_eq!(err.code(), "ERR_KEY_MISMATCH");
}

#[test]
fn random_data_keys_differ() {
    let a = random_data_key();
    let b = random_data_key();
    assert_eq!(a.len(), 32);
    assert_ne!(a.expose(), b.expose());
}

// ---------------------------------------------------------------------------------------
// Project Wycheproof
// ---------------------------------------------------------------------------------------

#[test]
fn wycheproof_pbkdf2_hmac_sha256() {
    use wycheproof::TestResult;
    use wycheproof::pbkdf2::{TestName, TestSet};

    let set = TestSet::load(TestName::Pbkdf2HmacSha256).unwrap();
    let mut checked = 0;
    for group in &set.test_groups {
        for t in &group.tests {
            let mut out = vec![0u8; t.dk_len];
            let iterations = u32::try_from(t.iteration_count).unwrap();
            pbkdf2_hmac_sha256(&t.password, &t.salt, iterations, &mut out);
            let matches = out[..] == t.dk[..];
            match t.result {
                TestResult::Valid | TestResult::Acceptable => {
                    assert!(matches, "tcId {} ({}): wrong output", t.tc_id, t.comment)
                }
                TestResult::Invalid => {
                    assert!(!matches, "tcId {} ({}): accepted", t.tc_id, t.comment)
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, set.number_of_tests);
    assert!(checked >= 60, "only {checked} vectors");
}
