//! firekeep [`KeyProvider`] on a PKCS#11 token: an HSM (AWS CloudHSM, Google Cloud HSM via
//! its PKCS#11 library, Thales Luna, YubiHSM 2, nCipher) or SoftHSM.
//!
//! Each backup's data key is encrypted inside the token with `CKM_AES_GCM` under an AES-256
//! secret-key object found by label (and optionally `CKA_ID`); the AES key never leaves the
//! token. The GCM additional authenticated data is `firekeep:backup_id=<backup id>`, so a
//! wrapped key copied into another backup does not decrypt. The wrapped form stored in
//! `key.json` is `base64(nonce ‖ ciphertext ‖ tag)` with a 12-byte random nonce and a
//! 128-bit tag.
//!
//! The user PIN comes from the caller (the CLI reads it from a file or an environment
//! variable, never the command line), is held as a zeroizing secret and is never printed.
//!
//! ```no_run
//! # async fn demo() -> firekeep_core::Result<()> {
//! use firekeep_pkcs11::{Pkcs11KeyProvider, Pkcs11Options};
//! let hsm = Pkcs11KeyProvider::open(Pkcs11Options {
//!     module: "/usr/lib/softhsm/libsofthsm2.so".into(),
//!     token_label: "firekeep".into(),
//!     key_label: "backups".into(),
//!     key_id: None,
//!     pin: std::env::var("FIREKEEP_PKCS11_PIN").unwrap().into(),
//! })
//! .await?;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::{AuthPin, Ulong};
use firekeep_core::keys::{KeyContext, KeyProvider, WrappedKey};
use firekeep_core::secret::{SecretBytes, SecretString};
use firekeep_core::{Error, Result};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// Provider kind recorded in [`WrappedKey::provider`].
pub const KIND: &str = "pkcs11";
/// Prefix of the GCM associated data binding a data key to its backup.
pub const AAD_PREFIX: &str = "firekeep:backup_id=";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const DATA_KEY_LEN: usize = 32;

/// Where the key lives and how to log in.
#[derive(Clone)]
pub struct Pkcs11Options {
    /// The vendor's PKCS#11 module (`.so`), e.g. `/usr/lib/softhsm/libsofthsm2.so`,
    /// `/opt/cloudhsm/lib/libcloudhsm_pkcs11.so`.
    pub module: PathBuf,
    /// Label of the token (`CKA_LABEL` of the token, as `pkcs11-tool -L` shows it).
    pub token_label: String,
    /// Label of the AES-256 secret key object on the token.
    pub key_label: String,
    /// `CKA_ID` of the key, when several objects share the label.
    pub key_id: Option<Vec<u8>>,
    /// The user PIN (zeroized on drop, printed redacted).
    pub pin: SecretString,
}

impl fmt::Debug for Pkcs11Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Options")
            .field("module", &self.module)
            .field("token_label", &self.token_label)
            .field("key_label", &self.key_label)
            .field("key_id", &self.key_id.as_deref().map(hex))
            .field("pin", &self.pin)
            .finish()
    }
}

/// Environment variable holding the user PIN when the key URI gives no `pin-source`.
pub const ENV_PIN: &str = "FIREKEEP_PKCS11_PIN";
/// Environment variable naming the module when the key URI gives no `module-path`.
pub const ENV_MODULE: &str = "FIREKEEP_PKCS11_MODULE";

fn percent_decode(s: &str, what: &str) -> Result<Vec<u8>> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    Error::InvalidConfig(format!("PKCS#11 URI: bad %-escape in {what}"))
                })?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

impl Pkcs11Options {
    /// Options from an RFC 7512 key URI:
    /// `pkcs11:token=<label>;object=<key label>[;id=%01%02][?module-path=/path/lib.so&pin-source=file:/path]`.
    /// Without `module-path`, `$FIREKEEP_PKCS11_MODULE`; without `pin-source`,
    /// `$FIREKEEP_PKCS11_PIN`. A PIN written into the URI (`pin-value`) is refused: URIs end
    /// up in shell history, process lists and configuration files.
    pub fn from_uri(uri: &str) -> Result<Self> {
        let rest = uri.trim().strip_prefix("pkcs11:").ok_or_else(|| {
            Error::InvalidConfig(format!(
                "{uri:?} is not a PKCS#11 URI (pkcs11:token=…;object=…)"
            ))
        })?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (mut token, mut object, mut id, mut module, mut pin_file) =
            (None, None, None, None, None);
        for attr in path.split(';').filter(|a| !a.is_empty()) {
            let (k, v) = attr.split_once('=').ok_or_else(|| {
                Error::InvalidConfig(format!("PKCS#11 URI attribute {attr:?} has no '='"))
            })?;
            let text = || -> Result<String> {
                String::from_utf8(percent_decode(v, k)?)
                    .map_err(|_| Error::InvalidConfig(format!("PKCS#11 URI: {k} is not UTF-8")))
            };
            match k {
                "token" => token = Some(text()?),
                "object" => object = Some(text()?),
                "id" => id = Some(percent_decode(v, k)?),
                // Attributes that narrow the search further are not needed to find one key.
                "type" if v == "secret-key" => {}
                "manufacturer"
                | "model"
                | "serial"
                | "library-manufacturer"
                | "library-description"
                | "library-version"
                | "slot-id"
                | "slot-description"
                | "slot-manufacturer" => {}
                other => {
                    return Err(Error::InvalidConfig(format!(
                        "PKCS#11 URI attribute {other:?} is not supported; use token=, \
                         object= and optionally id="
                    )));
                }
            }
        }
        for attr in query.split('&').filter(|a| !a.is_empty()) {
            let (k, v) = attr.split_once('=').unwrap_or((attr, ""));
            let v = String::from_utf8(percent_decode(v, k)?)
                .map_err(|_| Error::InvalidConfig(format!("PKCS#11 URI: {k} is not UTF-8")))?;
            match k {
                "module-path" => module = Some(PathBuf::from(v)),
                "pin-source" => {
                    let path = v.strip_prefix("file:").unwrap_or(&v);
                    pin_file = Some(PathBuf::from(path.trim_start_matches("//")));
                }
                "pin-value" => {
                    return Err(Error::InvalidConfig(format!(
                        "a PIN in the PKCS#11 URI is refused (it would be visible in shell \
                         history and process lists); put it in a file named by \
                         pin-source=file:/path, or in {ENV_PIN}"
                    )));
                }
                other => {
                    return Err(Error::InvalidConfig(format!(
                        "PKCS#11 URI query {other:?} is not supported; use module-path= and \
                         pin-source="
                    )));
                }
            }
        }
        let token_label = token.ok_or_else(|| {
            Error::InvalidConfig("the PKCS#11 URI names no token (token=<label>)".into())
        })?;
        let key_label = object.ok_or_else(|| {
            Error::InvalidConfig("the PKCS#11 URI names no key (object=<label>)".into())
        })?;
        let module = module
            .or_else(|| std::env::var_os(ENV_MODULE).map(PathBuf::from))
            .ok_or_else(|| {
                Error::InvalidConfig(format!(
                    "which PKCS#11 module? add ?module-path=/path/to/vendor-pkcs11.so to the \
                     URI or set {ENV_MODULE}"
                ))
            })?;
        let pin = match pin_file {
            Some(path) => {
                let raw = std::fs::read_to_string(&path).map_err(|e| {
                    Error::io(
                        format!("reading the PKCS#11 PIN file {}", path.display()),
                        e,
                    )
                })?;
                let pin = SecretString::from(raw.trim_end_matches(['\r', '\n']));
                drop(SecretString::from(raw));
                pin
            }
            None => match std::env::var(ENV_PIN) {
                Ok(p) if !p.is_empty() => SecretString::from(p),
                _ => {
                    return Err(Error::InvalidConfig(format!(
                        "the PKCS#11 user PIN is needed: set {ENV_PIN}, or add \
                         ?pin-source=file:/path/to/pin to the URI"
                    )));
                }
            },
        };
        Ok(Pkcs11Options {
            module,
            token_label,
            key_label,
            key_id: id,
            pin,
        })
    }
}

/// Wraps data keys with an AES-256 key inside a PKCS#11 token.
#[derive(Clone)]
pub struct Pkcs11KeyProvider {
    inner: Arc<Inner>,
}

struct Inner {
    ctx: Pkcs11,
    options: Pkcs11Options,
    /// `pkcs11:token=…;object=…[;id=…]` (RFC 7512 style): what `key.json` records.
    key_uri: String,
}

impl fmt::Debug for Pkcs11KeyProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11KeyProvider")
            .field("key", &self.inner.key_uri)
            .field("module", &self.inner.options.module)
            .finish()
    }
}

/// One initialised context per module and process: `C_Initialize` may run once per
/// process, and every provider on the same module shares it.
fn context(module: &Path) -> Result<Pkcs11> {
    static CONTEXTS: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    let mut map = CONTEXTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(ctx) = map.get(module) {
        return Ok(ctx.clone());
    }
    let ctx = Pkcs11::new(module).map_err(|e| {
        Error::InvalidConfig(format!(
            "cannot load the PKCS#11 module {}: {e}; give the path of your HSM vendor's \
             library (e.g. /usr/lib/softhsm/libsofthsm2.so)",
            module.display()
        ))
    })?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => {
            return Err(Error::KeyProvider(format!(
                "the PKCS#11 module {} failed to initialise: {e}",
                module.display()
            )));
        }
    }
    map.insert(module.to_path_buf(), ctx.clone());
    Ok(ctx)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Percent-encodes what RFC 7512 reserves in a path attribute value.
fn uri_value(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Pkcs11KeyProvider {
    /// Loads the module, finds the token and the key, and checks the PIN once, so a wrong
    /// PIN, a missing token or a missing key is reported before any work starts.
    pub async fn open(options: Pkcs11Options) -> Result<Self> {
        let mut key_uri = format!(
            "pkcs11:token={};object={}",
            uri_value(&options.token_label),
            uri_value(&options.key_label)
        );
        if let Some(id) = &options.key_id {
            key_uri.push_str(";id=");
            for b in id {
                key_uri.push_str(&format!("%{b:02X}"));
            }
        }
        let inner = tokio::task::spawn_blocking(move || -> Result<Inner> {
            let ctx = context(&options.module)?;
            let inner = Inner {
                ctx,
                options,
                key_uri,
            };
            let session = inner.login()?;
            inner.find_key(&session)?;
            Ok(inner)
        })
        .await
        .map_err(|e| Error::KeyProvider(format!("the PKCS#11 task failed: {e}")))??;
        Ok(Pkcs11KeyProvider {
            inner: Arc::new(inner),
        })
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(&inner))
            .await
            .map_err(|e| Error::KeyProvider(format!("the PKCS#11 task failed: {e}")))?
    }
}

impl Inner {
    fn token_slot(&self) -> Result<Slot> {
        let module = self.options.module.display();
        let slots = self.ctx.get_slots_with_token().map_err(|e| {
            Error::KeyProvider(format!("PKCS#11 module {module}: cannot list slots: {e}"))
        })?;
        let mut labels = Vec::new();
        for slot in slots {
            // A token removed between listing and reading is simply not there.
            let Ok(info) = self.ctx.get_token_info(slot) else {
                continue;
            };
            if info.label().trim_end() == self.options.token_label {
                return Ok(slot);
            }
            labels.push(info.label().trim_end().to_string());
        }
        Err(Error::KeyProvider(format!(
            "no PKCS#11 token labelled {:?} in {module} (tokens present: {labels:?}); is the \
             HSM connected and the token initialised?",
            self.options.token_label
        )))
    }

    /// A logged-in session on the token. Sessions are cheap; one per operation keeps the
    /// provider `Sync` without holding a lock across the token's latency.
    fn login(&self) -> Result<Session> {
        let slot = self.token_slot()?;
        let token = &self.options.token_label;
        let session = self.ctx.open_ro_session(slot).map_err(|e| {
            Error::KeyProvider(format!(
                "cannot open a session on PKCS#11 token {token:?}: {e}"
            ))
        })?;
        let pin = AuthPin::new(self.options.pin.expose().into());
        match session.login(UserType::User, Some(&pin)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(session),
            Err(CkError::Pkcs11(RvError::PinIncorrect | RvError::PinInvalid, _)) => {
                Err(Error::KeyProvider(format!(
                    "PKCS#11 token {token:?} refused the PIN (wrong PIN); check the PIN file \
                     or FIREKEEP_PKCS11_PIN (tokens lock after a few wrong PINs)"
                )))
            }
            Err(CkError::Pkcs11(RvError::PinLocked, _)) => Err(Error::KeyProvider(format!(
                "PKCS#11 token {token:?} has locked its user PIN after too many wrong tries; \
                 the security officer must reset it"
            ))),
            Err(e) => Err(Error::KeyProvider(format!(
                "login to PKCS#11 token {token:?} failed: {e}"
            ))),
        }
    }

    fn find_key(&self, session: &Session) -> Result<ObjectHandle> {
        let mut template = vec![
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::Label(self.options.key_label.as_bytes().to_vec()),
        ];
        if let Some(id) = &self.options.key_id {
            template.push(Attribute::Id(id.clone()));
        }
        let found = session.find_objects(&template).map_err(|e| {
            Error::KeyProvider(format!("cannot search {} for its key: {e}", self.key_uri))
        })?;
        let key = match found.as_slice() {
            [one] => *one,
            [] => {
                return Err(Error::KeyProvider(format!(
                    "no AES secret key {} on the token; create one inside the token (e.g. \
                     pkcs11-tool --keygen --key-type AES:32 --label {:?} --login), or check \
                     the key label",
                    self.key_uri, self.options.key_label
                )));
            }
            many => {
                return Err(Error::KeyProvider(format!(
                    "{} AES keys match {}; give the key's CKA_ID as well",
                    many.len(),
                    self.key_uri
                )));
            }
        };
        let len = session
            .get_attributes(key, &[AttributeType::ValueLen])
            .ok()
            .and_then(|a| match a.first() {
                Some(Attribute::ValueLen(n)) => Some(u64::from(*n)),
                _ => None,
            });
        if let Some(n) = len
            && n != 32
        {
            return Err(Error::KeyProvider(format!(
                "{} is an AES-{} key; firekeep needs AES-256",
                self.key_uri,
                n * 8
            )));
        }
        Ok(key)
    }

    fn encrypt(&self, plain: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
        let session = self.login()?;
        let key = self.find_key(&session)?;
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce)
            .map_err(|e| Error::KeyProvider(format!("no random nonce: {e}")))?;
        let mut iv = nonce;
        let params = GcmParams::new(&mut iv, aad, Ulong::new((TAG_LEN * 8) as _))
            .map_err(|e| Error::KeyProvider(format!("GCM parameters: {e}")))?;
        let sealed = session
            .encrypt(&Mechanism::AesGcm(params), key, plain)
            .map_err(|e| {
                Error::KeyProvider(format!(
                    "{} refused to encrypt with CKM_AES_GCM: {e}; the key needs CKA_ENCRYPT \
                     and the token must support AES-GCM",
                    self.key_uri
                ))
            })?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    fn decrypt(&self, wrapped: &[u8], aad: &[u8], backup_id: &str) -> Result<SecretBytes> {
        if wrapped.len() != NONCE_LEN + DATA_KEY_LEN + TAG_LEN {
            return Err(Error::integrity(
                format!("backup {backup_id} key.json"),
                format!(
                    "a PKCS#11-wrapped data key is {} bytes, not {}",
                    NONCE_LEN + DATA_KEY_LEN + TAG_LEN,
                    wrapped.len()
                ),
            ));
        }
        let session = self.login()?;
        let key = self.find_key(&session)?;
        let mut iv = [0u8; NONCE_LEN];
        iv.copy_from_slice(&wrapped[..NONCE_LEN]);
        let params = GcmParams::new(&mut iv, aad, Ulong::new((TAG_LEN * 8) as _))
            .map_err(|e| Error::KeyProvider(format!("GCM parameters: {e}")))?;
        let plain = session
            .decrypt(&Mechanism::AesGcm(params), key, &wrapped[NONCE_LEN..])
            .map_err(|e| {
                Error::KeyProvider(format!(
                    "{} could not decrypt the data key of backup {backup_id} ({e}): it was \
                     wrapped by another key with the same label, or for another backup \
                     (key.json moved between backups)",
                    self.key_uri
                ))
            })?;
        let key = SecretBytes::new(plain);
        if key.expose().len() != DATA_KEY_LEN {
            return Err(Error::integrity(
                format!("backup {backup_id} key.json"),
                "the unwrapped data key is not 32 bytes",
            ));
        }
        Ok(key)
    }
}

fn aad(context: &KeyContext) -> Vec<u8> {
    format!("{AAD_PREFIX}{}", context.backup_id).into_bytes()
}

#[async_trait]
impl KeyProvider for Pkcs11KeyProvider {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn key_id(&self) -> &str {
        &self.inner.key_uri
    }

    async fn wrap(&self, data_key: &SecretBytes, context: &KeyContext) -> Result<WrappedKey> {
        let plain = SecretBytes::new(data_key.expose().to_vec());
        let aad = aad(context);
        let sealed = self
            .blocking(move |inner| inner.encrypt(plain.expose(), &aad))
            .await?;
        let mut params = BTreeMap::new();
        params.insert("mechanism".into(), "CKM_AES_GCM".into());
        Ok(WrappedKey {
            provider: KIND.into(),
            key_id: self.inner.key_uri.clone(),
            params,
            ciphertext: B64.encode(sealed),
        })
    }

    async fn unwrap(&self, wrapped: &WrappedKey, context: &KeyContext) -> Result<SecretBytes> {
        if wrapped.provider != KIND || wrapped.key_id != self.inner.key_uri {
            return Err(Error::KeyMismatch {
                expected: format!("{} {}", wrapped.provider, wrapped.key_id),
                actual: format!("{KIND} {}", self.inner.key_uri),
            });
        }
        let raw = B64.decode(&wrapped.ciphertext).map_err(|_| {
            Error::integrity(
                format!("backup {} key.json", context.backup_id),
                "the wrapped data key is not base64",
            )
        })?;
        let aad = aad(context);
        let id = context.backup_id.clone();
        self.blocking(move |inner| inner.decrypt(&raw, &aad, &id))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_uris_parse_and_refuse_a_pin_in_the_uri() {
        let dir = std::env::temp_dir().join(format!("fk-pkcs11-uri-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pin_file = dir.join("pin");
        std::fs::write(&pin_file, "12 34\n").unwrap();
        let o = Pkcs11Options::from_uri(&format!(
            "pkcs11:token=My%20HSM;object=backups;id=%01%ff;type=secret-key\
             ?module-path=/opt/hsm/lib.so&pin-source=file:{}",
            pin_file.display()
        ))
        .unwrap();
        assert_eq!(o.token_label, "My HSM");
        assert_eq!(o.key_label, "backups");
        assert_eq!(o.key_id, Some(vec![1, 0xff]));
        assert_eq!(o.module, PathBuf::from("/opt/hsm/lib.so"));
        assert_eq!(o.pin.expose(), "12 34");
        assert!(!format!("{o:?}").contains("12 34"));

        let err =
            Pkcs11Options::from_uri("pkcs11:token=t;object=k?module-path=/x.so&pin-value=1234")
                .unwrap_err();
        assert_eq!(err.code(), "ERR_INVALID_CONFIG");
        assert!(!err.to_string().contains("1234"), "{err}");
        assert!(err.to_string().contains("pin-source"), "{err}");

        for bad in [
            "token=t;object=k",
            "pkcs11:object=k?module-path=/x.so",
            "pkcs11:token=t?module-path=/x.so",
            "pkcs11:token=t;object=k;flavour=x?module-path=/x.so",
            "pkcs11:token=%zz;object=k?module-path=/x.so",
        ] {
            let err = Pkcs11Options::from_uri(bad).unwrap_err();
            assert_eq!(err.code(), "ERR_INVALID_CONFIG", "{bad}: {err}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
