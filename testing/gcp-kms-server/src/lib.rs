//! A Cloud KMS v1 gRPC test server on 127.0.0.1: `Encrypt`, `Decrypt` and `GetCryptoKey` on
//! symmetric (`ENCRYPT_DECRYPT`) CryptoKeys, served from memory with real AES-256-GCM, plus
//! the version-state calls a test needs (`UpdateCryptoKeyVersion` to enable or disable,
//! `DestroyCryptoKeyVersion` to schedule destruction, `RestoreCryptoKeyVersion`).
//!
//! Cloud KMS has no emulator; this server does what firekeep relies on, as Google documents it:
//!
//! * key versions: Encrypt on a CryptoKey uses its primary version and names that version in the
//!   response; Decrypt takes the CryptoKey name and finds the version from the ciphertext;
//!   disabled and destroyed versions fail with `FAILED_PRECONDITION`;
//! * additional authenticated data: a ciphertext opens only with the AAD it was sealed with,
//!   otherwise `INVALID_ARGUMENT` "Decryption failed: ...";
//! * CRC32C integrity fields: request checksums are verified (`INVALID_ARGUMENT` on a
//!   mismatch) and reported in `verified_*_crc32c`; responses carry `ciphertext_crc32c` /
//!   `plaintext_crc32c`;
//! * IAM: [`RunningServer::deny`] makes every call on keys under a prefix (a key, or a whole
//!   project) fail with `PERMISSION_DENIED` "... (or it may not exist)", as Cloud KMS words it;
//! * an optional required bearer token (`UNAUTHENTICATED` otherwise);
//! * [`Fault`]s that break one response's integrity, to test that clients check it.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use firekeep_gcp_kms_server::KmsServer;
//! let server = KmsServer::builder().build().start().await?;
//! let key = "projects/p/locations/global/keyRings/r/cryptoKeys/k";
//! server.create_key(key);
//! println!("endpoint {}", server.endpoint());
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use googleapis_tonic_google_cloud_kms_v1::google::cloud::kms::v1 as kms;
use kms::crypto_key::CryptoKeyPurpose;
use kms::crypto_key_version::{CryptoKeyVersionAlgorithm, CryptoKeyVersionState};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::{Request, Response, Status};

#[allow(missing_docs, clippy::all, clippy::pedantic)]
mod generated {
    include!(concat!(
        env!("OUT_DIR"),
        "/google.cloud.kms.v1.KeyManagementService.rs"
    ));
}

/// Cloud KMS's limit on plaintext and AAD for Encrypt (64 KiB).
pub const MAX_PLAINTEXT: usize = 64 * 1024;
/// Cloud KMS's limit on Decrypt's ciphertext (plaintext + overhead, 64 KiB + 800 bytes).
pub const MAX_CIPHERTEXT: usize = 64 * 1024 + 800;

/// Google's message for a ciphertext that does not open (wrong key, wrong AAD, damaged).
pub const DECRYPTION_FAILED: &str =
    "Decryption failed: verify that 'name' refers to the correct CryptoKey.";

/// CRC32C (Castagnoli), the checksum Cloud KMS uses for its integrity fields.
pub fn crc32c(data: &[u8]) -> i64 {
    const CRC32C: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);
    i64::from(CRC32C.checksum(data))
}

/// A key version's state, as Cloud KMS names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionState {
    /// Usable for Encrypt (when primary) and Decrypt.
    Enabled,
    /// Not usable; the key material is kept and can be enabled again.
    Disabled,
    /// Scheduled for destruction (Cloud KMS waits 24 hours by default); not usable, but
    /// `RestoreCryptoKeyVersion` brings it back (disabled).
    DestroyScheduled,
    /// Key material destroyed; ciphertexts under it can never be decrypted.
    Destroyed,
}

impl VersionState {
    fn proto(self) -> CryptoKeyVersionState {
        match self {
            VersionState::Enabled => CryptoKeyVersionState::Enabled,
            VersionState::Disabled => CryptoKeyVersionState::Disabled,
            VersionState::DestroyScheduled => CryptoKeyVersionState::DestroyScheduled,
            VersionState::Destroyed => CryptoKeyVersionState::Destroyed,
        }
    }

    fn name(self) -> &'static str {
        match self {
            VersionState::Enabled => "ENABLED",
            VersionState::Disabled => "DISABLED",
            VersionState::DestroyScheduled => "DESTROY_SCHEDULED",
            VersionState::Destroyed => "DESTROYED",
        }
    }
}

/// A deliberate integrity failure in the next responses, to test that clients check the
/// CRC32C fields and the version name as Google documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Encrypt answers `verified_plaintext_crc32c = false` (as if the field was lost).
    UnverifiedPlaintext,
    /// Encrypt answers `verified_additional_authenticated_data_crc32c = false`.
    UnverifiedAad,
    /// Encrypt's ciphertext has a flipped bit; `ciphertext_crc32c` is of the original.
    CorruptCiphertext,
    /// Decrypt's plaintext has a flipped bit; `plaintext_crc32c` is of the original.
    CorruptPlaintext,
    /// Encrypt names a version of another CryptoKey in its response.
    WrongName,
}

struct Version {
    state: VersionState,
    /// The test server's key material; it is test data, so it is not zeroized.
    key: LessSafeKey,
}

struct CryptoKey {
    /// Versions 1..=n (index + 1).
    versions: Vec<Version>,
    /// 1-based primary version number.
    primary: usize,
}

#[derive(Default)]
struct State {
    keys: BTreeMap<String, CryptoKey>,
    /// Resource-name prefixes whose calls are refused (IAM).
    denied: Vec<String>,
    fault: Option<Fault>,
    /// Calls served per method name, for tests that count round trips.
    calls: BTreeMap<&'static str, u64>,
    /// Calls that carried an `authorization` header (any value).
    authorized_calls: u64,
}

/// Configures a server; see [`KmsServer::builder`].
#[derive(Clone, Debug, Default)]
pub struct Builder {
    port: u16,
    token: Option<String>,
}

impl Builder {
    /// The port to bind on 127.0.0.1 (0, the default: any free port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Require `authorization: Bearer <token>` on every call (default: no check).
    pub fn require_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The configured server, not yet listening.
    pub fn build(self) -> KmsServer {
        KmsServer { builder: self }
    }
}

/// A Cloud KMS test server waiting to be started.
#[derive(Debug)]
pub struct KmsServer {
    builder: Builder,
}

impl KmsServer {
    /// A builder with the defaults: any free port, no token required.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Binds 127.0.0.1 and serves on the current tokio runtime until shut down or dropped.
    pub async fn start(self) -> std::io::Result<RunningServer> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.builder.port)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State::default()));
        let svc = Service {
            state: state.clone(),
            token: self.builder.token.map(|t| format!("Bearer {t}")),
        };
        let grpc = generated::key_management_service_server::KeyManagementServiceServer::new(svc);
        let (tx, rx) = oneshot::channel::<()>();
        let incoming = tokio_stream::StreamExt::map(
            tokio_stream::wrappers::TcpListenerStream::new(listener),
            |conn| {
                if let Ok(stream) = &conn {
                    // Small unary replies would otherwise wait out delayed ACKs.
                    let _ = stream.set_nodelay(true);
                }
                conn
            },
        );
        let task = tokio::spawn(async move {
            let r = tonic::transport::Server::builder()
                .add_service(grpc)
                .serve_with_incoming_shutdown(incoming, async {
                    let _ = rx.await;
                })
                .await;
            if let Err(e) = r {
                eprintln!("Cloud KMS test server stopped: {e}");
            }
        });
        Ok(RunningServer {
            addr,
            state,
            stop: Some(tx),
            task: Some(task),
        })
    }
}

/// A listening server. Dropping it stops the server.
pub struct RunningServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

fn new_version() -> Version {
    let mut key = [0u8; 32];
    SystemRandom::new()
        .fill(&mut key)
        .expect("system random number generator failed");
    Version {
        state: VersionState::Enabled,
        key: LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).expect("32-byte AES key")),
    }
}

/// Whether `name` is `projects/*/locations/*/keyRings/*/cryptoKeys/*`.
pub fn is_crypto_key_name(name: &str) -> bool {
    let p: Vec<&str> = name.split('/').collect();
    p.len() == 8
        && p[0] == "projects"
        && p[2] == "locations"
        && p[4] == "keyRings"
        && p[6] == "cryptoKeys"
        && [1, 3, 5, 7].iter().all(|&i| !p[i].is_empty())
}

/// Splits `<crypto key>/cryptoKeyVersions/<n>` into the key name and the version number.
fn split_version(name: &str) -> Option<(&str, usize)> {
    let (key, v) = name.rsplit_once("/cryptoKeyVersions/")?;
    let n: usize = v.parse().ok()?;
    (is_crypto_key_name(key) && n > 0).then_some((key, n))
}

impl RunningServer {
    /// The address listened on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The plaintext endpoint URL, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Creates a symmetric CryptoKey with one enabled version (the primary); returns the
    /// version's name. Panics on a malformed name or an existing key (test setup errors).
    pub fn create_key(&self, name: &str) -> String {
        assert!(is_crypto_key_name(name), "not a CryptoKey name: {name}");
        let mut st = self.state();
        assert!(!st.keys.contains_key(name), "key {name} exists");
        st.keys.insert(
            name.to_string(),
            CryptoKey {
                versions: vec![new_version()],
                primary: 1,
            },
        );
        format!("{name}/cryptoKeyVersions/1")
    }

    /// Adds a version to a key and makes it the primary (as a rotation does); returns its
    /// name.
    pub fn rotate(&self, key: &str) -> String {
        let mut st = self.state();
        let k = st.keys.get_mut(key).expect("rotate: no such key");
        k.versions.push(new_version());
        k.primary = k.versions.len();
        format!("{key}/cryptoKeyVersions/{}", k.primary)
    }

    /// Sets a version's state (`.../cryptoKeyVersions/N`). Destroyed is final: the key
    /// material is replaced, as if erased.
    pub fn set_state(&self, version: &str, state: VersionState) {
        let (key, n) = split_version(version).expect("set_state: not a version name");
        let mut st = self.state();
        let k = st.keys.get_mut(key).expect("set_state: no such key");
        let v = k
            .versions
            .get_mut(n - 1)
            .expect("set_state: no such version");
        assert!(
            v.state != VersionState::Destroyed || state == VersionState::Destroyed,
            "a destroyed version cannot come back"
        );
        if state == VersionState::Destroyed {
            *v = new_version();
        }
        v.state = state;
    }

    /// Refuses (PERMISSION_DENIED) every call on resources whose name starts with `prefix`:
    /// a key name, or `projects/<id>/` for a project these credentials have no access to.
    pub fn deny(&self, prefix: &str) {
        self.state().denied.push(prefix.to_string());
    }

    /// Sets (or with `None` clears) a fault injected into every following response.
    pub fn set_fault(&self, fault: Option<Fault>) {
        self.state().fault = fault;
    }

    /// Calls served so far of one method (`"Encrypt"`, `"Decrypt"`, `"GetCryptoKey"`).
    pub fn calls(&self, method: &str) -> u64 {
        self.state().calls.get(method).copied().unwrap_or(0)
    }

    /// Calls so far that carried an `authorization` header.
    pub fn authorized_calls(&self) -> u64 {
        self.state().authorized_calls
    }

    /// Stops listening and waits for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

struct Service {
    state: Arc<Mutex<State>>,
    token: Option<String>,
}

/// The ciphertext layout of this server (Cloud KMS's own is opaque; like it, it names the
/// version): version number (u32, big-endian) ‖ 12-byte nonce ‖ AES-256-GCM ciphertext+tag.
const CT_HEADER: usize = 4 + NONCE_LEN;

fn check_crc(field: &str, data_field: &str, data: &[u8], crc: Option<i64>) -> Result<(), Status> {
    match crc {
        Some(c) if c != crc32c(data) => Err(Status::invalid_argument(format!(
            "The checksum in field {field} did not match the data in field {data_field}."
        ))),
        _ => Ok(()),
    }
}

impl Service {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn check_token<T>(&self, req: &Request<T>) -> Result<(), Status> {
        let header = req.metadata().get("authorization");
        if header.is_some() {
            self.lock().authorized_calls += 1;
        }
        let Some(want) = &self.token else {
            return Ok(());
        };
        let got = header.and_then(|v| v.to_str().ok());
        if got != Some(want.as_str()) {
            return Err(Status::unauthenticated(
                "Request had invalid authentication credentials. Expected OAuth 2 access token, \
                 login cookie or other valid authentication credential.",
            ));
        }
        Ok(())
    }
}

fn count(st: &mut State, method: &'static str) {
    *st.calls.entry(method).or_default() += 1;
}

fn check_iam(st: &State, name: &str, permission: &str) -> Result<(), Status> {
    if st.denied.iter().any(|p| name.starts_with(p.as_str())) {
        return Err(Status::permission_denied(format!(
            "Permission '{permission}' denied on resource '{name}' (or it may not exist)."
        )));
    }
    Ok(())
}

fn not_found(name: &str) -> Status {
    Status::not_found(format!("CryptoKey {name} not found."))
}

fn not_enabled(version: &str, state: VersionState) -> Status {
    Status::failed_precondition(format!(
        "{version} is not enabled, current state is: {}.",
        state.name()
    ))
}

impl Service {
    /// Finds a version by name for the state calls, after the IAM check.
    fn with_version<R>(
        &self,
        name: &str,
        permission: &str,
        f: impl FnOnce(&str, usize, &mut Version) -> Result<R, Status>,
    ) -> Result<R, Status> {
        let mut st = self.lock();
        check_iam(&st, name, permission)?;
        let (key, n) = split_version(name).ok_or_else(|| {
            Status::invalid_argument(format!(
                "Resource name [{name}] does not match any known resource name pattern."
            ))
        })?;
        let k = st.keys.get_mut(key).ok_or_else(|| not_found(key))?;
        let v = k
            .versions
            .get_mut(n - 1)
            .ok_or_else(|| Status::not_found(format!("CryptoKeyVersion {name} not found.")))?;
        f(key, n, v)
    }
}

fn version_proto(key: &str, n: usize, v: &Version) -> kms::CryptoKeyVersion {
    kms::CryptoKeyVersion {
        name: format!("{key}/cryptoKeyVersions/{n}"),
        state: v.state.proto() as i32,
        protection_level: kms::ProtectionLevel::Software as i32,
        algorithm: CryptoKeyVersionAlgorithm::GoogleSymmetricEncryption as i32,
        ..Default::default()
    }
}

#[tonic::async_trait]
impl generated::key_management_service_server::KeyManagementService for Service {
    async fn encrypt(
        &self,
        request: Request<kms::EncryptRequest>,
    ) -> Result<Response<kms::EncryptResponse>, Status> {
        self.check_token(&request)?;
        let req = request.into_inner();
        let mut st = self.lock();
        count(&mut st, "Encrypt");
        // Encrypt takes a CryptoKey (its primary version) or a CryptoKeyVersion.
        let (key_name, pinned) = match split_version(&req.name) {
            Some((k, n)) => (k.to_string(), Some(n)),
            None if is_crypto_key_name(&req.name) => (req.name.clone(), None),
            None => {
                return Err(Status::invalid_argument(format!(
                    "Resource name [{}] does not match any known resource name pattern.",
                    req.name
                )));
            }
        };
        check_iam(&st, &req.name, "cloudkms.cryptoKeyVersions.useToEncrypt")?;
        if req.plaintext.len() > MAX_PLAINTEXT {
            return Err(Status::invalid_argument(format!(
                "The plaintext must be at most {MAX_PLAINTEXT} bytes."
            )));
        }
        if req.additional_authenticated_data.len() > MAX_PLAINTEXT {
            return Err(Status::invalid_argument(format!(
                "The additional authenticated data must be at most {MAX_PLAINTEXT} bytes."
            )));
        }
        check_crc(
            "plaintext_crc32c",
            "plaintext",
            &req.plaintext,
            req.plaintext_crc32c,
        )?;
        check_crc(
            "additional_authenticated_data_crc32c",
            "additional_authenticated_data",
            &req.additional_authenticated_data,
            req.additional_authenticated_data_crc32c,
        )?;
        let fault = st.fault;
        let key = st.keys.get(&key_name).ok_or_else(|| not_found(&key_name))?;
        let n = pinned.unwrap_or(key.primary);
        let version_name = format!("{key_name}/cryptoKeyVersions/{n}");
        let v = key.versions.get(n - 1).ok_or_else(|| {
            Status::not_found(format!("CryptoKeyVersion {version_name} not found."))
        })?;
        if v.state != VersionState::Enabled {
            return Err(not_enabled(&version_name, v.state));
        }
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| Status::internal("random number generator failed"))?;
        let mut sealed = req.plaintext.clone();
        v.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&req.additional_authenticated_data),
                &mut sealed,
            )
            .map_err(|_| Status::internal("encryption failed"))?;
        let mut ciphertext = Vec::with_capacity(CT_HEADER + sealed.len());
        ciphertext.extend_from_slice(&(n as u32).to_be_bytes());
        ciphertext.extend_from_slice(&nonce);
        ciphertext.extend_from_slice(&sealed);
        let ciphertext_crc32c = Some(crc32c(&ciphertext));
        let mut resp = kms::EncryptResponse {
            name: version_name,
            ciphertext,
            ciphertext_crc32c,
            verified_plaintext_crc32c: req.plaintext_crc32c.is_some(),
            verified_additional_authenticated_data_crc32c: req
                .additional_authenticated_data_crc32c
                .is_some(),
            protection_level: kms::ProtectionLevel::Software as i32,
        };
        match fault {
            Some(Fault::UnverifiedPlaintext) => resp.verified_plaintext_crc32c = false,
            Some(Fault::UnverifiedAad) => {
                resp.verified_additional_authenticated_data_crc32c = false
            }
            Some(Fault::CorruptCiphertext) => {
                let last = resp.ciphertext.len() - 1;
                resp.ciphertext[last] ^= 1;
            }
            Some(Fault::WrongName) => resp.name =
                "projects/other/locations/global/keyRings/r/cryptoKeys/other/cryptoKeyVersions/1"
                    .into(),
            Some(Fault::CorruptPlaintext) | None => {}
        }
        Ok(Response::new(resp))
    }

    async fn decrypt(
        &self,
        request: Request<kms::DecryptRequest>,
    ) -> Result<Response<kms::DecryptResponse>, Status> {
        self.check_token(&request)?;
        let req = request.into_inner();
        let mut st = self.lock();
        count(&mut st, "Decrypt");
        // Decrypt takes the CryptoKey; the ciphertext says which version sealed it.
        if !is_crypto_key_name(&req.name) {
            return Err(Status::invalid_argument(format!(
                "Resource name [{}] does not match any known resource name pattern; Decrypt \
                 takes a CryptoKey name (projects/*/locations/*/keyRings/*/cryptoKeys/*).",
                req.name
            )));
        }
        check_iam(&st, &req.name, "cloudkms.cryptoKeyVersions.useToDecrypt")?;
        if req.ciphertext.len() > MAX_CIPHERTEXT {
            return Err(Status::invalid_argument(format!(
                "The ciphertext must be at most {MAX_CIPHERTEXT} bytes."
            )));
        }
        check_crc(
            "ciphertext_crc32c",
            "ciphertext",
            &req.ciphertext,
            req.ciphertext_crc32c,
        )?;
        check_crc(
            "additional_authenticated_data_crc32c",
            "additional_authenticated_data",
            &req.additional_authenticated_data,
            req.additional_authenticated_data_crc32c,
        )?;
        let fault = st.fault;
        let key = st.keys.get(&req.name).ok_or_else(|| not_found(&req.name))?;
        if req.ciphertext.len() < CT_HEADER + 16 {
            return Err(Status::invalid_argument(DECRYPTION_FAILED));
        }
        let n = u32::from_be_bytes(req.ciphertext[..4].try_into().expect("4 bytes")) as usize;
        let v = n
            .checked_sub(1)
            .and_then(|i| key.versions.get(i))
            .ok_or_else(|| Status::invalid_argument(DECRYPTION_FAILED))?;
        if v.state != VersionState::Enabled {
            return Err(not_enabled(
                &format!("{}/cryptoKeyVersions/{n}", req.name),
                v.state,
            ));
        }
        let nonce: [u8; NONCE_LEN] = req.ciphertext[4..CT_HEADER].try_into().expect("nonce");
        let mut buf = req.ciphertext[CT_HEADER..].to_vec();
        let plain_len = v
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&req.additional_authenticated_data),
                &mut buf,
            )
            .map_err(|_| Status::invalid_argument(DECRYPTION_FAILED))?
            .len();
        buf.truncate(plain_len);
        let plaintext_crc32c = Some(crc32c(&buf));
        if fault == Some(Fault::CorruptPlaintext) && !buf.is_empty() {
            buf[0] ^= 1;
        }
        Ok(Response::new(kms::DecryptResponse {
            plaintext: buf,
            plaintext_crc32c,
            used_primary: n == key.primary,
            protection_level: kms::ProtectionLevel::Software as i32,
        }))
    }

    async fn get_crypto_key(
        &self,
        request: Request<kms::GetCryptoKeyRequest>,
    ) -> Result<Response<kms::CryptoKey>, Status> {
        self.check_token(&request)?;
        let req = request.into_inner();
        let mut st = self.lock();
        count(&mut st, "GetCryptoKey");
        check_iam(&st, &req.name, "cloudkms.cryptoKeys.get")?;
        let key = st.keys.get(&req.name).ok_or_else(|| not_found(&req.name))?;
        let primary = &key.versions[key.primary - 1];
        Ok(Response::new(kms::CryptoKey {
            name: req.name.clone(),
            primary: Some(version_proto(&req.name, key.primary, primary)),
            purpose: CryptoKeyPurpose::EncryptDecrypt as i32,
            version_template: Some(kms::CryptoKeyVersionTemplate {
                protection_level: kms::ProtectionLevel::Software as i32,
                algorithm: CryptoKeyVersionAlgorithm::GoogleSymmetricEncryption as i32,
            }),
            ..Default::default()
        }))
    }

    async fn update_crypto_key_version(
        &self,
        request: Request<kms::UpdateCryptoKeyVersionRequest>,
    ) -> Result<Response<kms::CryptoKeyVersion>, Status> {
        self.check_token(&request)?;
        let req = request.into_inner();
        let paths = req.update_mask.map(|m| m.paths).unwrap_or_default();
        if paths != ["state"] {
            return Err(Status::invalid_argument(
                "update_mask must be exactly [\"state\"] on this test server",
            ));
        }
        let version = req
            .crypto_key_version
            .ok_or_else(|| Status::invalid_argument("crypto_key_version is required"))?;
        let to = match CryptoKeyVersionState::try_from(version.state) {
            Ok(CryptoKeyVersionState::Enabled) => VersionState::Enabled,
            Ok(CryptoKeyVersionState::Disabled) => VersionState::Disabled,
            _ => {
                return Err(Status::invalid_argument(
                    "The state can only be updated to ENABLED or DISABLED.",
                ));
            }
        };
        self.with_version(
            &version.name,
            "cloudkms.cryptoKeyVersions.update",
            |key, n, v| {
                if !matches!(v.state, VersionState::Enabled | VersionState::Disabled) {
                    return Err(Status::failed_precondition(format!(
                        "{} is in state {} and cannot be changed to {}.",
                        version.name,
                        v.state.name(),
                        to.name()
                    )));
                }
                v.state = to;
                Ok(Response::new(version_proto(key, n, v)))
            },
        )
    }

    async fn destroy_crypto_key_version(
        &self,
        request: Request<kms::DestroyCryptoKeyVersionRequest>,
    ) -> Result<Response<kms::CryptoKeyVersion>, Status> {
        self.check_token(&request)?;
        let name = request.into_inner().name;
        self.with_version(&name, "cloudkms.cryptoKeyVersions.destroy", |key, n, v| {
            if !matches!(v.state, VersionState::Enabled | VersionState::Disabled) {
                return Err(Status::failed_precondition(format!(
                    "{name} is in state {} and cannot be destroyed.",
                    v.state.name()
                )));
            }
            v.state = VersionState::DestroyScheduled;
            Ok(Response::new(version_proto(key, n, v)))
        })
    }

    async fn restore_crypto_key_version(
        &self,
        request: Request<kms::RestoreCryptoKeyVersionRequest>,
    ) -> Result<Response<kms::CryptoKeyVersion>, Status> {
        self.check_token(&request)?;
        let name = request.into_inner().name;
        self.with_version(&name, "cloudkms.cryptoKeyVersions.restore", |key, n, v| {
            if v.state != VersionState::DestroyScheduled {
                return Err(Status::failed_precondition(format!(
                    "{name} is in state {} and cannot be restored; only DESTROY_SCHEDULED \
                     versions can.",
                    v.state.name()
                )));
            }
            v.state = VersionState::Disabled;
            Ok(Response::new(version_proto(key, n, v)))
        })
    }
}
