//! Passphrase provider: the key-encryption key is PBKDF2-HMAC-SHA256(passphrase, salt,
//! iterations), 32 bytes. Salt and iteration count are stored, not secret, in each
//! [`WrappedKey`]'s params, so any run can derive the same key again.

use super::raw::{KEY_LEN, fingerprint, mismatch, unwrap_with_kek, wrap_with_kek};
use super::{KeyContext, KeyProvider, WrappedKey};
use crate::secret::{SecretBytes, SecretString};
use crate::{Error, Result};
use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};
use zeroize::Zeroizing;

/// PBKDF2 iterations used for new backups (OWASP's 2023 figure for PBKDF2-HMAC-SHA256).
pub const DEFAULT_PBKDF2_ITERATIONS: u32 = 600_000;
/// Fewest iterations accepted, when writing or reading.
pub const MIN_PBKDF2_ITERATIONS: u32 = 100_000;
/// Most iterations accepted, when writing or reading. Stored params are untrusted: anyone
/// who can write to the bucket can plant a `key.json` asking for any count, and `list`,
/// `latest`, prune and rotate-key derive once per distinct (salt, iterations). 10,000,000
/// is about 17 times the default (some 4 s of one core here) — far above any count worth
/// choosing, low enough that a planted folder costs seconds, not minutes.
pub const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
/// Longest salt accepted when reading (new backups use [`SALT_LEN`]): a planted
/// megabyte salt would be hashed on every iteration's first block and kept in the cache.
pub const MAX_SALT_LEN: usize = 64;
/// Shortest passphrase accepted, in characters.
pub const MIN_PASSPHRASE_CHARS: usize = 12;
/// Length of the random salt of new backups.
pub const SALT_LEN: usize = 16;

const KDF_NAME: &str = "pbkdf2-hmac-sha256";
const PARAM_KDF: &str = "kdf";
const PARAM_SALT: &str = "salt";
const PARAM_ITERATIONS: &str = "iterations";

/// PBKDF2-HMAC-SHA256 of `password` and `salt`, filling `out` (`iterations` 0 counts as 1).
///
/// RustCrypto's `pbkdf2` on every build: with SHA-NI it measured about 3x faster than
/// OpenSSL and 1.6x faster than ring here (scripts/bench-pbkdf2.sh).
pub fn pbkdf2_hmac_sha256(password: &[u8], salt: &[u8], iterations: u32, out: &mut [u8]) {
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, iterations.max(1), out);
}

/// Derivations by (salt, iterations). Each entry is a cell that the first caller fills
/// while the others wait on it, so backups sharing a salt derive once even when opened
/// at the same time from several threads.
type DerivationCache = Mutex<HashMap<(Vec<u8>, u32), Arc<OnceLock<Arc<Derived>>>>>;

/// A derived key-encryption key and its id.
struct Derived {
    kek: Zeroizing<[u8; KEY_LEN]>,
    key_id: String,
}

/// Wraps data keys under a key derived from a passphrase.
///
/// One instance picks one random salt, so every key it wraps shares one derivation and
/// one key id. Unwrapping derives with the salt and iterations stored in the wrapped key;
/// derivations are cached per (salt, iterations), as each costs about a quarter second.
/// Derivation is CPU-bound and blocking: async callers on a runtime may want to run the
/// first `wrap`/`unwrap` on a blocking thread.
pub struct PassphraseKey {
    passphrase: SecretString,
    salt: Vec<u8>,
    iterations: u32,
    own: OnceLock<Arc<Derived>>,
    cache: DerivationCache,
}

impl PassphraseKey {
    /// Provider kind recorded in wrapped keys.
    pub const KIND: &'static str = "passphrase";

    /// A provider with a fresh random 16-byte salt and 600,000 iterations. Refuses a
    /// passphrase shorter than 12 characters.
    pub fn new(passphrase: impl Into<SecretString>) -> Result<Self> {
        PassphraseKey::with_iterations(passphrase, DEFAULT_PBKDF2_ITERATIONS)
    }

    /// A provider with a fresh random salt and the given iteration count (at least
    /// 100,000).
    pub fn with_iterations(passphrase: impl Into<SecretString>, iterations: u32) -> Result<Self> {
        let mut salt = vec![0u8; SALT_LEN];
        getrandom::fill(&mut salt).map_err(|e| {
            Error::KeyProvider(format!(
                "the operating system's random number generator failed ({e}); retry"
            ))
        })?;
        PassphraseKey::with_params(passphrase, &salt, iterations)
    }

    /// A provider with a given salt (at least 16 bytes) and iteration count (at least
    /// 100,000), e.g. to reproduce a key id.
    pub fn with_params(
        passphrase: impl Into<SecretString>,
        salt: &[u8],
        iterations: u32,
    ) -> Result<Self> {
        let passphrase = passphrase.into();
        // The message leaves out even the length of the refused passphrase.
        if passphrase.expose().chars().count() < MIN_PASSPHRASE_CHARS {
            return Err(Error::InvalidConfig(format!(
                "the passphrase is too short: use at least {MIN_PASSPHRASE_CHARS} characters; \
                 a phrase of several random words is best"
            )));
        }
        check_iterations(iterations)?;
        if !(SALT_LEN..=MAX_SALT_LEN).contains(&salt.len()) {
            return Err(Error::InvalidConfig(format!(
                "the PBKDF2 salt is {} bytes; use {SALT_LEN} to {MAX_SALT_LEN} random bytes",
                salt.len()
            )));
        }
        Ok(PassphraseKey {
            passphrase,
            salt: salt.to_vec(),
            iterations,
            own: OnceLock::new(),
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The salt this instance wraps with (not secret).
    pub fn salt(&self) -> &[u8] {
        &self.salt
    }

    /// The iteration count this instance wraps with.
    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    fn own(&self) -> &Arc<Derived> {
        self.own
            .get_or_init(|| self.derive(self.salt.clone(), self.iterations))
    }

    /// Derives (or fetches from the cache) the KEK for `salt` and `iterations`.
    fn derive(&self, salt: Vec<u8>, iterations: u32) -> Arc<Derived> {
        let cell = self
            .cache
            .lock()
            .expect("cache lock")
            .entry((salt.clone(), iterations))
            .or_default()
            .clone();
        // Outside the map's lock: other salts derive meanwhile.
        cell.get_or_init(|| {
            let mut kek = Zeroizing::new([0u8; KEY_LEN]);
            pbkdf2_hmac_sha256(
                self.passphrase.expose().as_bytes(),
                &salt,
                iterations,
                &mut kek[..],
            );
            let key_id = fingerprint("pp-", &kek[..]);
            Arc::new(Derived { kek, key_id })
        })
        .clone()
    }

    /// How many distinct (salt, iterations) derivations this provider has made (or
    /// started): a planted `key.json` costs at most one each.
    pub fn derivations(&self) -> usize {
        self.cache.lock().expect("cache lock").len()
    }

    /// The derivation recorded in a wrapped key's params.
    fn params_of(wrapped: &WrappedKey) -> Result<(Vec<u8>, u32)> {
        let bad = |what: &str| {
            Error::InvalidInput(format!(
                "the wrapped data key's passphrase parameters are unusable ({what}); \
                 the backup's key record is damaged"
            ))
        };
        match wrapped.params.get(PARAM_KDF).map(String::as_str) {
            Some(KDF_NAME) | None => {}
            Some(_) => return Err(bad("unknown key derivation function")),
        }
        let salt = wrapped
            .params
            .get(PARAM_SALT)
            .and_then(|s| STANDARD.decode(s).ok())
            .ok_or_else(|| bad("missing or malformed salt"))?;
        let iterations: u32 = wrapped
            .params
            .get(PARAM_ITERATIONS)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("missing or malformed iteration count"))?;
        if !(MIN_PBKDF2_ITERATIONS..=MAX_PBKDF2_ITERATIONS).contains(&iterations) {
            return Err(bad("iteration count out of range"));
        }
        if !(SALT_LEN..=MAX_SALT_LEN).contains(&salt.len()) {
            return Err(bad("salt length out of range"));
        }
        Ok((salt, iterations))
    }
}

fn check_iterations(iterations: u32) -> Result<()> {
    if iterations < MIN_PBKDF2_ITERATIONS {
        return Err(Error::InvalidConfig(format!(
            "{iterations} PBKDF2 iterations are too few to resist guessing: use at least \
             {MIN_PBKDF2_ITERATIONS} (default {DEFAULT_PBKDF2_ITERATIONS})"
        )));
    }
    if iterations > MAX_PBKDF2_ITERATIONS {
        return Err(Error::InvalidConfig(format!(
            "{iterations} PBKDF2 iterations would take minutes per backup: use at most \
             {MAX_PBKDF2_ITERATIONS} (default {DEFAULT_PBKDF2_ITERATIONS})"
        )));
    }
    Ok(())
}

impl fmt::Debug for PassphraseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PassphraseKey")
            .field("key_id", &self.own.get().map(|d| d.key_id.as_str()))
            .field("iterations", &self.iterations)
            .field("passphrase", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl KeyProvider for PassphraseKey {
    fn kind(&self) -> &'static str {
        PassphraseKey::KIND
    }

    /// Derives the key on first use (about a quarter second at 600,000 iterations).
    fn key_id(&self) -> &str {
        &self.own().key_id
    }

    async fn wrap(&self, data_key: &SecretBytes, context: &KeyContext) -> Result<WrappedKey> {
        let own = self.own();
        let params = BTreeMap::from([
            (PARAM_KDF.to_owned(), KDF_NAME.to_owned()),
            (PARAM_SALT.to_owned(), STANDARD.encode(&self.salt)),
            (PARAM_ITERATIONS.to_owned(), self.iterations.to_string()),
        ]);
        wrap_with_kek(
            PassphraseKey::KIND,
            &own.key_id,
            &own.kek,
            params,
            data_key,
            context,
        )
    }

    async fn unwrap(&self, wrapped: &WrappedKey, context: &KeyContext) -> Result<SecretBytes> {
        if wrapped.provider != PassphraseKey::KIND {
            // Another kind of key protects this backup; its id says which.
            return Err(mismatch(wrapped, self.key_id()));
        }
        let (salt, iterations) = PassphraseKey::params_of(wrapped)?;
        let derived = self.derive(salt, iterations);
        if derived.key_id != wrapped.key_id {
            // Name this provider's own key id, never the one just derived: that is a
            // function of the passphrase and a salt the repository (perhaps an attacker)
            // chose, and printing or auditing it would hand out a guessing oracle.
            return Err(mismatch(wrapped, self.key_id()));
        }
        unwrap_with_kek(&derived.kek, wrapped, context)
    }
}
