//! Secrets never leak: a passphrase and a raw key (raw, hex or base64, whole or in part)
//! appear in no error message and no `Debug`/`Display` output, whatever goes wrong.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE};
use firekeep_core::keys::{
    KeyContext, KeyProvider, MIN_PBKDF2_ITERATIONS, PassphraseKey, RawKey, WrappedKey,
    pbkdf2_hmac_sha256, rewrap,
};
use firekeep_core::secret::{SecretBytes, SecretString};
use futures::executor::block_on;

const PASSPHRASE: &str = "Tr0ub4dor&3-purple-elephant";
const SHORT_PASSPHRASE: &str = "hunter2xyz";
const FAST: u32 = MIN_PBKDF2_ITERATIONS;

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every rendering of a secret an accidental log line could contain.
fn forms_of(bytes: &[u8]) -> Vec<String> {
    vec![
        STANDARD.encode(bytes),
        STANDARD_NO_PAD.encode(bytes),
        URL_SAFE.encode(bytes),
        hex(bytes),
        hex(bytes).to_uppercase(),
        format!("{bytes:?}"),
        format!("{:?}", &bytes[..4]),
    ]
}

/// Fails if any 8-character window of any form of a secret occurs in `output`.
fn assert_no_leak(output: &str, secrets: &[String], what: &str) {
    for secret in secrets {
        let chars: Vec<char> = secret.chars().collect();
        let window = chars.len().min(8);
        for w in chars.windows(window) {
            let piece: String = w.iter().collect();
            assert!(
                !output.contains(&piece),
                "{what} leaks a piece of a secret ({piece:?}): {output}"
            );
        }
    }
}

fn ctx(id: &str) -> KeyContext {
    KeyContext {
        backup_id: id.to_owned(),
    }
}

#[test]
fn secrets_never_appear_in_errors_or_debug_output() {
    let raw_bytes: [u8; 32] = {
        let mut b = [0u8; 32];
        getrandom::fill(&mut b).unwrap();
        b
    };
    let raw_b64 = STANDARD.encode(raw_bytes);
    let raw = RawKey::from_base64(&format!("{raw_b64}\n")).unwrap();
    let pp = PassphraseKey::with_iterations(PASSPHRASE, FAST).unwrap();

    // What the passphrase derives (the KEK) is as secret as the passphrase itself.
    let salt = pp.salt().to_vec();
    let mut kek = [0u8; 32];
    pbkdf2_hmac_sha256(PASSPHRASE.as_bytes(), &salt, FAST, &mut kek);

    let mut secrets = vec![PASSPHRASE.to_owned(), SHORT_PASSPHRASE.to_owned()];
    secrets.extend(forms_of(&raw_bytes));
    secrets.extend(forms_of(&kek));

    let c = ctx("backup-1");
    let (dek, by_pp) = block_on(pp.generate_data_key(&c)).unwrap();
    let by_raw = block_on(raw.wrap(&dek, &c)).unwrap();
    secrets.extend(forms_of(dek.expose()));

    let mut outputs: Vec<(String, String)> = Vec::new();
    let mut record = |what: &str, text: String| outputs.push((what.to_owned(), text));

    // Debug of providers (before and after derivation), wrapped keys, secrets.
    record("raw Debug", format!("{raw:?} {raw:#?}"));
    record("passphrase Debug", format!("{pp:?} {pp:#?}"));
    record("wrapped Debug", format!("{by_pp:?} {by_raw:?}"));
    record(
        "wrapped JSON",
        serde_json::to_string(&by_pp).unwrap() + &serde_json::to_string(&by_raw).unwrap(),
    );
    record("data key", format!("{dek:?} {dek}"));
    record(
        "SecretString",
        format!(
            "{:?} {}",
            SecretString::new(PASSPHRASE),
            SecretString::new(PASSPHRASE)
        ),
    );
    record(
        "SecretBytes",
        format!(
            "{:?} {}",
            SecretBytes::new(raw_bytes.to_vec()),
            SecretBytes::new(raw_bytes.to_vec())
        ),
    );
    record("raw to_base64", format!("{:?}", raw.to_base64()));

    // Errors from bad inputs that contain (most of) the secret.
    let mut errors = Vec::new();
    errors.push(PassphraseKey::new(SHORT_PASSPHRASE).unwrap_err());
    errors.push(PassphraseKey::with_iterations(PASSPHRASE, 1000).unwrap_err());
    errors.push(PassphraseKey::with_params(PASSPHRASE, b"short", FAST).unwrap_err());
    errors.push(RawKey::from_base64(&raw_b64[..40]).unwrap_err());
    errors.push(RawKey::from_base64(&format!("{raw_b64}AAAA")).unwrap_err());
    errors.push(RawKey::from_base64(&raw_b64.replacen(&raw_b64[10..11], "!", 1)).unwrap_err());
    errors.push(RawKey::from_base64(&hex(&raw_bytes)).unwrap_err());
    errors.push(RawKey::from_bytes(&raw_bytes[..31]).unwrap_err());
    errors.push(RawKey::from_secret_base64(&SecretString::new(format!("{raw_b64}?"))).unwrap_err());

    // Errors from wrong keys, wrong backups and damaged records.
    let wrong_pp = PassphraseKey::with_iterations(format!("{PASSPHRASE}!"), FAST).unwrap();
    let wrong_raw = RawKey::generate().unwrap();
    errors.push(block_on(wrong_pp.unwrap(&by_pp, &c)).unwrap_err());
    errors.push(block_on(wrong_raw.unwrap(&by_raw, &c)).unwrap_err());
    errors.push(block_on(raw.unwrap(&by_pp, &c)).unwrap_err());
    errors.push(block_on(pp.unwrap(&by_raw, &c)).unwrap_err());
    errors.push(block_on(pp.unwrap(&by_pp, &ctx("backup-2"))).unwrap_err());
    errors.push(block_on(raw.unwrap(&by_raw, &ctx("backup-2"))).unwrap_err());
    errors.push(block_on(rewrap(&wrong_raw, &pp, &by_raw, &c)).unwrap_err());
    let damaged = WrappedKey {
        ciphertext: by_raw.ciphertext.chars().rev().collect(),
        ..by_raw.clone()
    };
    errors.push(block_on(raw.unwrap(&damaged, &c)).unwrap_err());
    let mut bad_params = by_pp.clone();
    bad_params.params.insert("iterations".into(), "7".into());
    errors.push(block_on(pp.unwrap(&bad_params, &c)).unwrap_err());
    errors.push(block_on(raw.wrap(&SecretBytes::new(raw_bytes[..16].to_vec()), &c)).unwrap_err());

    assert!(errors.len() >= 19);
    for (i, err) in errors.iter().enumerate() {
        record(
            &format!("error #{i} ({})", err.code()),
            format!("{err} | {err:?} | {err:#?}"),
        );
    }

    // Debug of the providers again, now that derivations are cached.
    record("passphrase Debug after use", format!("{pp:?} {wrong_pp:?}"));

    for (what, text) in &outputs {
        assert_no_leak(text, &secrets, what);
    }
    // The outputs are not empty shells: key ids are there to help the user.
    let all: String = outputs.iter().map(|(_, t)| t.as_str()).collect();
    assert!(all.contains(raw.key_id()) && all.contains(pp.key_id()));
    assert!(all.contains("[REDACTED]"));
}
