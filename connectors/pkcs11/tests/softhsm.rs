//! The PKCS#11 key provider against SoftHSM2 (Debian package `softhsm2`, module
//! `/usr/lib/softhsm/libsofthsm2.so`, or `$FIREKEEP_PKCS11_MODULE`): tokens initialised by
//! `softhsm2-util` in a temporary folder, AES-256 keys generated inside the token (never
//! extractable), then round trips, the backup-id binding, backup → verify → restore of the
//! Firestore test server, rotation raw → HSM → raw, and the failures a user meets: wrong PIN,
//! missing key, another token's key under the same label, and a token that was removed.
//!
//! No test harness: SoftHSM reads `SOFTHSM2_CONF` once, when the module initialises, so
//! `main` sets it before any thread exists and runs the scenarios one after another.

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::Attribute;
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;
use firekeep_core::engine::{self, BackupOptions, CancellationToken, Repository, RestoreOptions};
use firekeep_core::keys::{KeyContext, KeyProvider, RawKey, random_data_key};
use firekeep_core::model::DatabaseId;
use firekeep_core::storage::memory::MemoryStorage;
use firekeep_firestore::{ConnectorConfig, FirestoreConnector};
use firekeep_firestore_server::{FirestoreServer, RunningServer, sample};
use firekeep_pkcs11::{Pkcs11KeyProvider, Pkcs11Options};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

const PIN: &str = "4711-firekeep";
const SO_PIN: &str = "so-pin-0815";

fn module() -> PathBuf {
    std::env::var_os("FIREKEEP_PKCS11_MODULE")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/usr/lib/softhsm/libsofthsm2.so".into())
}

fn softhsm_util(args: &[&str]) {
    let out = Command::new("softhsm2-util")
        .args(args)
        .output()
        .expect("softhsm2-util not found: install the Debian package softhsm2 (.ci/run does)");
    assert!(
        out.status.success(),
        "softhsm2-util {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Generates an AES-256 key inside the token: sensitive, not extractable.
fn generate_key(ctx: &Pkcs11, token: &str, label: &str) {
    let slot = ctx
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|s| ctx.get_token_info(*s).unwrap().label().trim_end() == token)
        .expect("token");
    let session = ctx.open_rw_session(slot).unwrap();
    session
        .login(UserType::User, Some(&AuthPin::new(PIN.into())))
        .unwrap();
    session
        .generate_key(
            &Mechanism::AesKeyGen,
            &[
                Attribute::Token(true),
                Attribute::Label(label.as_bytes().to_vec()),
                Attribute::ValueLen(32.into()),
                Attribute::Encrypt(true),
                Attribute::Decrypt(true),
                Attribute::Sensitive(true),
                Attribute::Extractable(false),
            ],
        )
        .unwrap();
}

fn options(token: &str, key: &str, pin: &str) -> Pkcs11Options {
    Pkcs11Options {
        module: module(),
        token_label: token.into(),
        key_label: key.into(),
        key_id: None,
        pin: pin.into(),
    }
}

fn ctx(id: &str) -> KeyContext {
    KeyContext {
        backup_id: id.into(),
    }
}

async fn round_trip_and_binding() {
    let hsm = Pkcs11KeyProvider::open(options("firekeep", "backups", PIN))
        .await
        .unwrap();
    assert_eq!(hsm.key_id(), "pkcs11:token=firekeep;object=backups");
    let dek = random_data_key();
    let wrapped = hsm.wrap(&dek, &ctx("bk_1")).await.unwrap();
    assert_eq!(wrapped.provider, "pkcs11");
    // Nonce, 32-byte key, tag; the key itself appears nowhere in the record.
    let json = serde_json::to_string(&wrapped).unwrap();
    assert!(!json.contains(&hex(dek.expose())));
    let back = hsm.unwrap(&wrapped, &ctx("bk_1")).await.unwrap();
    assert_eq!(back.expose(), dek.expose());
    // Two wraps of one key differ (fresh nonce).
    let again = hsm.wrap(&dek, &ctx("bk_1")).await.unwrap();
    assert_ne!(again.ciphertext, wrapped.ciphertext);
    // Moved to another backup: the GCM associated data no longer matches.
    let err = hsm.unwrap(&wrapped, &ctx("bk_2")).await.unwrap_err();
    assert_eq!(err.code(), "ERR_KEY_PROVIDER", "{err}");
    assert!(err.to_string().contains("another backup"), "{err}");
    // A damaged record is an integrity error, before any token call.
    let mut short = wrapped.clone();
    short.ciphertext = "AAAA".into();
    let err = hsm.unwrap(&short, &ctx("bk_1")).await.unwrap_err();
    assert_eq!(err.code(), "ERR_INTEGRITY", "{err}");
    // The PIN never shows in Debug output.
    assert!(!format!("{hsm:?}").contains(PIN));
    assert!(!format!("{:?}", options("firekeep", "backups", PIN)).contains(PIN));
    println!("ok: round trip and backup-id binding");
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

async fn failures_name_what_to_fix() {
    let err = Pkcs11KeyProvider::open(options("firekeep", "backups", "wrong-pin"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "ERR_KEY_PROVIDER");
    assert!(err.to_string().contains("wrong PIN"), "{err}");
    assert!(!err.to_string().contains("wrong-pin"), "{err}");

    let err = Pkcs11KeyProvider::open(options("firekeep", "no-such-key", PIN))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no AES secret key"), "{err}");
    assert!(err.to_string().contains("pkcs11-tool --keygen"), "{err}");

    let err = Pkcs11KeyProvider::open(options("no-such-token", "backups", PIN))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("no PKCS#11 token labelled"),
        "{err}"
    );
    assert!(err.to_string().contains("\"firekeep\""), "{err}");

    let mut bad = options("firekeep", "backups", PIN);
    bad.module = "/nonexistent/libpkcs11.so".into();
    let err = Pkcs11KeyProvider::open(bad).await.unwrap_err();
    assert_eq!(err.code(), "ERR_INVALID_CONFIG", "{err}");
    println!("ok: wrong PIN, missing key, missing token, missing module");
}

/// The same labels on another token name the same key id, but the key is another: unwrap
/// fails instead of returning a wrong key.
async fn another_tokens_key_under_the_same_label() {
    let hsm = Pkcs11KeyProvider::open(options("firekeep", "backups", PIN))
        .await
        .unwrap();
    let wrapped = hsm.wrap(&random_data_key(), &ctx("bk_x")).await.unwrap();
    let other = Pkcs11KeyProvider::open(options("spare", "backups", PIN))
        .await
        .unwrap();
    let mut moved = wrapped.clone();
    moved.key_id = other.key_id().to_string();
    let err = other.unwrap(&moved, &ctx("bk_x")).await.unwrap_err();
    assert!(err.to_string().contains("could not decrypt"), "{err}");
    // Unchanged record: a key mismatch naming both keys, without a token call.
    let err = other.unwrap(&wrapped, &ctx("bk_x")).await.unwrap_err();
    assert_eq!(err.code(), "ERR_KEY_MISMATCH", "{err}");
    println!("ok: another token's key with the same label");
}

async fn connect(server: &RunningServer, db: &DatabaseId) -> FirestoreConnector {
    FirestoreConnector::connect(ConnectorConfig::emulator(
        db.clone(),
        server.emulator_host(),
    ))
    .await
    .unwrap()
}

async fn backup_verify_restore_and_rotate() {
    let cancel = CancellationToken::new();
    let hsm = Pkcs11KeyProvider::open(options("firekeep", "backups", PIN))
        .await
        .unwrap();
    let server = FirestoreServer::builder().build().start().await.unwrap();
    let src = DatabaseId::new("firekeep-hsm", "source").unwrap();
    server.seed(sample::demo_database(&src, 200));
    let source = Arc::new(connect(&server, &src).await);
    let repo = Repository::new(Arc::new(MemoryStorage::new()));
    let opts = BackupOptions {
        part_target_bytes: 16 * 1024,
        ..BackupOptions::default()
    };
    let report = engine::backup(source, &repo, &hsm, &opts, None, &cancel)
        .await
        .unwrap();
    assert_eq!(report.key_id, hsm.key_id());
    let v = engine::verify(&repo, &hsm, &report.backup_id, None, &cancel)
        .await
        .unwrap();
    assert!(v.is_ok(), "{v:?}");
    let dst = DatabaseId::new("firekeep-hsm", "restored").unwrap();
    let target = Arc::new(connect(&server, &dst).await);
    let r = engine::restore(
        &repo,
        &hsm,
        &report.backup_id,
        target,
        &RestoreOptions::default(),
        None,
        &cancel,
    )
    .await
    .unwrap();
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    let want = server.documents(&src, Some(report.read_time));
    let got = server.documents(&dst, None);
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g.fields, w.fields, "{}", g.name);
    }

    // Rotation HSM → raw key → HSM: the data is untouched, each old key is refused after.
    let raw = RawKey::from_bytes(&[9u8; 32]).unwrap();
    let to_raw = engine::rotate_key(&repo, &hsm, &raw, &cancel)
        .await
        .unwrap();
    assert_eq!(to_raw.rotated, vec![report.backup_id.clone()]);
    let err = engine::verify(&repo, &hsm, &report.backup_id, None, &cancel)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "ERR_KEY_MISMATCH", "{err}");
    let back = engine::rotate_key(&repo, &raw, &hsm, &cancel)
        .await
        .unwrap();
    assert_eq!(back.rotated, vec![report.backup_id.clone()]);
    let v = engine::verify(&repo, &hsm, &report.backup_id, None, &cancel)
        .await
        .unwrap();
    assert!(v.is_ok(), "{v:?}");
    server.shutdown().await;
    println!("ok: backup, verify, restore and rotation raw <-> HSM");
}

/// A token deleted while a provider holds it (an HSM unplugged, a partition removed):
/// operations fail with a typed error naming the token; nothing panics.
async fn a_removed_token() {
    let hsm = Pkcs11KeyProvider::open(options("removable", "backups", PIN))
        .await
        .unwrap();
    let wrapped = hsm.wrap(&random_data_key(), &ctx("bk_r")).await.unwrap();
    softhsm_util(&["--delete-token", "--token", "removable"]);
    let err = hsm.unwrap(&wrapped, &ctx("bk_r")).await.unwrap_err();
    assert_eq!(err.code(), "ERR_KEY_PROVIDER", "{err}");
    assert!(err.to_string().contains("removable"), "{err}");
    let err = Pkcs11KeyProvider::open(options("removable", "backups", PIN))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("no PKCS#11 token labelled"),
        "{err}"
    );
    println!("ok: a removed token");
}

fn setup(dir: &Path) {
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens).unwrap();
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap();
    // SAFETY: main runs this before it starts any thread.
    unsafe { std::env::set_var("SOFTHSM2_CONF", &conf) };
    for label in ["firekeep", "spare", "removable"] {
        softhsm_util(&[
            "--init-token",
            "--free",
            "--label",
            label,
            "--pin",
            PIN,
            "--so-pin",
            SO_PIN,
        ]);
    }
    // Keys are made by a separate context, finalised before the provider's own.
    let ctx = Pkcs11::new(module()).unwrap();
    ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .unwrap();
    for token in ["firekeep", "spare", "removable"] {
        generate_key(&ctx, token, "backups");
    }
    ctx.finalize().unwrap();
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        round_trip_and_binding().await;
        failures_name_what_to_fix().await;
        another_tokens_key_under_the_same_label().await;
        backup_verify_restore_and_rotate().await;
        a_removed_token().await;
    });
}
