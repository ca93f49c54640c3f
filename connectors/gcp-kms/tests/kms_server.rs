//! GcpKmsKeyProvider against the Cloud KMS test server (testing/gcp-kms-server) on 127.0.0.1:
//! round trips, AAD binding, key versions, IAM, CRC32C checks and credentials.

use firekeep_core::Error;
use firekeep_core::keys::{KeyContext, KeyProvider, random_data_key};
use firekeep_core::secret::SecretString;
use firekeep_firestore::Credentials;
use firekeep_gcp_kms::{
    AAD_PREFIX, GcpKmsError, GcpKmsKeyProvider, GcpKmsOptions, IAM_ROLE, KIND, parse_key_name,
};
use firekeep_gcp_kms_server::{Fault, KmsServer, RunningServer, VersionState};
use std::sync::atomic::{AtomicUsize, Ordering};

fn ctx(id: &str) -> KeyContext {
    KeyContext {
        backup_id: id.into(),
    }
}

/// A fresh key name per test (the tests share nothing, but names keep messages readable).
fn key_name(project: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "projects/{project}/locations/europe-west1/keyRings/backups/cryptoKeys/k{}",
        N.fetch_add(1, Ordering::Relaxed)
    )
}

async fn server() -> RunningServer {
    KmsServer::builder().build().start().await.unwrap()
}

fn options(s: &RunningServer) -> GcpKmsOptions {
    GcpKmsOptions {
        endpoint: Some(s.endpoint()),
        ..Default::default()
    }
}

async fn provider(s: &RunningServer, key: &str) -> GcpKmsKeyProvider {
    GcpKmsKeyProvider::new(key, options(s)).await.unwrap()
}

#[tokio::test]
async fn wrap_unwrap_round_trip_with_aad_and_checksums() {
    let s = server().await;
    let key = key_name("acme");
    let v1 = s.create_key(&key);
    let p = provider(&s, &key).await;
    assert_eq!(p.kind(), KIND);
    assert_eq!(p.key_id(), key);
    let (dk, wrapped) = p.generate_data_key(&ctx("bk_1")).await.unwrap();
    assert_eq!(dk.len(), 32);
    assert_eq!(wrapped.provider, "gcp-kms");
    assert_eq!(wrapped.key_id, key);
    assert_eq!(wrapped.params["aad_prefix"], AAD_PREFIX);
    assert_eq!(wrapped.params["key_version"], v1);
    let back = p.unwrap(&wrapped, &ctx("bk_1")).await.unwrap();
    assert_eq!(back.expose(), dk.expose());
    // Wrapping the same key again gives another ciphertext (random nonce) that also opens.
    let again = p.wrap(&dk, &ctx("bk_1")).await.unwrap();
    assert_ne!(again.ciphertext, wrapped.ciphertext);
    assert_eq!(
        p.unwrap(&again, &ctx("bk_1")).await.unwrap().expose(),
        dk.expose()
    );
    assert_eq!(s.calls("Encrypt"), 2);
    assert_eq!(s.calls("Decrypt"), 2);
    // A plaintext test endpoint without credentials gets no authorization header.
    assert_eq!(s.authorized_calls(), 0);
    // Nothing secret in Debug output.
    let dbg = format!("{p:?} {wrapped:?}");
    assert!(!dbg.contains(&format!("{:?}", dk.expose())), "{dbg}");
}

#[tokio::test]
async fn a_key_moved_to_another_backup_fails_as_decryption_failed() {
    let s = server().await;
    let key = key_name("acme");
    s.create_key(&key);
    let p = provider(&s, &key).await;
    let (_, wrapped) = p.generate_data_key(&ctx("bk_right")).await.unwrap();
    match p.try_unwrap(&wrapped, &ctx("bk_other")).await {
        Err(GcpKmsError::DecryptionFailed {
            backup_id,
            key: k,
            message,
        }) => {
            assert_eq!(backup_id, "bk_other");
            assert_eq!(k, key);
            assert!(message.starts_with("Decryption failed"), "{message}");
        }
        other => panic!("expected DecryptionFailed, got {other:?}"),
    }
    let err = p.unwrap(&wrapped, &ctx("bk_other")).await.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::KeyProvider(_)), "{err:?}");
    assert!(
        msg.contains("bk_other") && msg.contains("another backup"),
        "{msg}"
    );
}

#[tokio::test]
async fn rotation_of_the_cloud_kms_key_keeps_old_wrapped_keys_readable() {
    let s = server().await;
    let key = key_name("acme");
    let v1 = s.create_key(&key);
    let p = provider(&s, &key).await;
    let (dk1, w1) = p.generate_data_key(&ctx("bk_a")).await.unwrap();
    let v2 = s.rotate(&key);
    let (dk2, w2) = p.generate_data_key(&ctx("bk_b")).await.unwrap();
    assert_eq!(w1.params["key_version"], v1);
    assert_eq!(w2.params["key_version"], v2);
    assert_eq!(
        p.unwrap(&w1, &ctx("bk_a")).await.unwrap().expose(),
        dk1.expose()
    );
    assert_eq!(
        p.unwrap(&w2, &ctx("bk_b")).await.unwrap().expose(),
        dk2.expose()
    );
}

#[tokio::test]
async fn disabled_and_destroyed_versions_are_clear_errors() {
    let s = server().await;
    let key = key_name("acme");
    let v1 = s.create_key(&key);
    let p = provider(&s, &key).await;
    let (dk, wrapped) = p.generate_data_key(&ctx("bk_v")).await.unwrap();

    s.set_state(&v1, VersionState::Disabled);
    for err in [
        p.try_unwrap(&wrapped, &ctx("bk_v")).await.unwrap_err(),
        p.try_wrap(&dk, &ctx("bk_v")).await.unwrap_err(),
    ] {
        match &err {
            GcpKmsError::KeyVersionNotEnabled { key: k, message } => {
                assert_eq!(k, &key);
                assert!(
                    message.contains(&v1) && message.contains("DISABLED"),
                    "{message}"
                );
            }
            other => panic!("expected KeyVersionNotEnabled, got {other:?}"),
        }
        assert!(
            err.to_string().contains("gcloud kms keys versions enable"),
            "{err}"
        );
    }
    // Enabled again, it works again.
    s.set_state(&v1, VersionState::Enabled);
    assert_eq!(
        p.unwrap(&wrapped, &ctx("bk_v")).await.unwrap().expose(),
        dk.expose()
    );

    s.set_state(&v1, VersionState::Destroyed);
    let err = p.unwrap(&wrapped, &ctx("bk_v")).await.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::KeyProvider(_)), "{err:?}");
    assert!(msg.contains("DESTROYED") && msg.contains(&key), "{msg}");
}

#[tokio::test]
async fn permission_denied_and_another_project_name_the_role() {
    let s = server().await;
    let key = key_name("acme");
    s.create_key(&key);
    let p = provider(&s, &key).await;
    let (_, wrapped) = p.generate_data_key(&ctx("bk_p")).await.unwrap();
    s.deny(&key);
    for err in [
        p.try_unwrap(&wrapped, &ctx("bk_p")).await.unwrap_err(),
        p.try_wrap(&random_data_key(), &ctx("bk_p"))
            .await
            .unwrap_err(),
    ] {
        assert!(
            matches!(err, GcpKmsError::PermissionDenied { .. }),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains(IAM_ROLE) && msg.contains(&key), "{msg}");
    }
    // A key in a project these credentials cannot see: Cloud KMS answers PERMISSION_DENIED
    // "(or it may not exist)", and the message says to check the name too.
    let other = key_name("someone-else");
    s.create_key(&other);
    s.deny("projects/someone-else/");
    let q = provider(&s, &other).await;
    let err = q.wrap(&random_data_key(), &ctx("bk_p")).await.unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("or it may not exist") && msg.contains("key name"),
        "{msg}"
    );
}

#[tokio::test]
async fn a_missing_key_is_not_found() {
    let s = server().await;
    let key = key_name("acme");
    let p = provider(&s, &key).await;
    let err = p
        .try_wrap(&random_data_key(), &ctx("bk_n"))
        .await
        .unwrap_err();
    assert!(matches!(err, GcpKmsError::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains(&key), "{err}");
}

#[tokio::test]
async fn another_keys_wrapped_key_is_a_key_mismatch_without_a_call() {
    let s = server().await;
    let (a, b) = (key_name("acme"), key_name("acme"));
    s.create_key(&a);
    s.create_key(&b);
    let pa = provider(&s, &a).await;
    let pb = provider(&s, &b).await;
    let (_, wrapped) = pa.generate_data_key(&ctx("bk_m")).await.unwrap();
    let before = s.calls("Decrypt");
    match pb.unwrap(&wrapped, &ctx("bk_m")).await {
        Err(Error::KeyMismatch { expected, actual }) => {
            assert!(expected.contains(&a), "{expected}");
            assert!(actual.contains(&b), "{actual}");
        }
        other => panic!("expected KeyMismatch, got {other:?}"),
    }
    assert_eq!(s.calls("Decrypt"), before);
    // Relabelled as b's, Cloud KMS itself refuses it: the AEAD key differs.
    let mut forged = wrapped.clone();
    forged.key_id = b.clone();
    let err = pb.try_unwrap(&forged, &ctx("bk_m")).await.unwrap_err();
    assert!(
        matches!(err, GcpKmsError::DecryptionFailed { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn corrupted_responses_fail_their_crc32c_and_name_checks() {
    let s = server().await;
    let key = key_name("acme");
    s.create_key(&key);
    let p = provider(&s, &key).await;
    let dk = random_data_key();
    let (_, good) = p.generate_data_key(&ctx("bk_c")).await.unwrap();
    for (fault, needle) in [
        (Fault::UnverifiedPlaintext, "verified_plaintext_crc32c"),
        (
            Fault::UnverifiedAad,
            "verified_additional_authenticated_data_crc32c",
        ),
        (Fault::CorruptCiphertext, "ciphertext_crc32c"),
        (Fault::WrongName, "not a version of"),
    ] {
        s.set_fault(Some(fault));
        let err = p.try_wrap(&dk, &ctx("bk_c")).await.unwrap_err();
        match &err {
            GcpKmsError::Integrity { detail, .. } => assert!(detail.contains(needle), "{detail}"),
            other => panic!("{fault:?}: expected Integrity, got {other:?}"),
        }
        let core: Error = err.into();
        assert_eq!(core.code(), "ERR_INTEGRITY", "{core}");
    }
    s.set_fault(Some(Fault::CorruptPlaintext));
    let err = p.try_unwrap(&good, &ctx("bk_c")).await.unwrap_err();
    match &err {
        GcpKmsError::Integrity { detail, .. } => {
            assert!(detail.contains("plaintext_crc32c"), "{detail}")
        }
        other => panic!("expected Integrity, got {other:?}"),
    }
    s.set_fault(None);
    p.unwrap(&good, &ctx("bk_c")).await.unwrap();
}

#[tokio::test]
async fn a_damaged_wrapped_key_fails_cleanly() {
    let s = server().await;
    let key = key_name("acme");
    s.create_key(&key);
    let p = provider(&s, &key).await;
    let (_, mut wrapped) = p.generate_data_key(&ctx("bk_d")).await.unwrap();
    let mut raw = base64_decode(&wrapped.ciphertext);
    let mid = raw.len() / 2;
    raw[mid] ^= 0x40;
    wrapped.ciphertext = base64_encode(&raw);
    let err = p.try_unwrap(&wrapped, &ctx("bk_d")).await.unwrap_err();
    assert!(
        matches!(err, GcpKmsError::DecryptionFailed { .. }),
        "{err:?}"
    );
    wrapped.ciphertext = "not base64!".into();
    let err = p.try_unwrap(&wrapped, &ctx("bk_d")).await.unwrap_err();
    assert!(matches!(err, GcpKmsError::Integrity { .. }), "{err:?}");
}

#[tokio::test]
async fn pinned_version_encrypts_with_that_version_and_decrypts_by_key() {
    let s = server().await;
    let key = key_name("acme");
    let v1 = s.create_key(&key);
    s.rotate(&key);
    let p = GcpKmsKeyProvider::new(&v1, options(&s)).await.unwrap();
    assert_eq!(p.key_id(), key, "key_id is the CryptoKey, not the version");
    assert_eq!(p.pinned_version(), Some(v1.as_str()));
    let (dk, w) = p.generate_data_key(&ctx("bk_pin")).await.unwrap();
    assert_eq!(w.params["key_version"], v1);
    let unpinned = provider(&s, &key).await;
    assert_eq!(
        unpinned.unwrap(&w, &ctx("bk_pin")).await.unwrap().expose(),
        dk.expose()
    );
}

#[tokio::test]
async fn bad_key_names_are_config_errors_that_show_the_format() {
    for bad in [
        "",
        "alias/firekeep",
        "projects/p/locations/l/keyRings/r",
        "projects/p/locations/l/keyRings/r/cryptoKeys/",
        "projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/0",
        "projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/x",
    ] {
        let err = GcpKmsKeyProvider::new(bad, GcpKmsOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidConfig(_)), "{bad}: {err:?}");
        assert!(
            err.to_string().contains("projects/PROJECT/locations"),
            "{err}"
        );
    }
    assert_eq!(
        parse_key_name("projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/3")
            .unwrap(),
        (
            "projects/p/locations/l/keyRings/r/cryptoKeys/k".to_string(),
            Some("projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/3".to_string())
        )
    );
}

#[tokio::test]
async fn the_access_token_is_sent_and_a_wrong_one_is_unauthenticated() {
    let s = KmsServer::builder()
        .require_token("tok-123")
        .build()
        .start()
        .await
        .unwrap();
    let key = key_name("acme");
    s.create_key(&key);
    let with = |t: &str| GcpKmsOptions {
        credentials: Some(Credentials::AccessToken(SecretString::from(t))),
        ..options(&s)
    };
    let good = GcpKmsKeyProvider::new(&key, with("tok-123")).await.unwrap();
    let (dk, w) = good.generate_data_key(&ctx("bk_t")).await.unwrap();
    assert_eq!(s.authorized_calls(), 1);
    assert_eq!(
        good.unwrap(&w, &ctx("bk_t")).await.unwrap().expose(),
        dk.expose()
    );
    let bad = GcpKmsKeyProvider::new(&key, with("tok-wrong"))
        .await
        .unwrap();
    let err = bad.try_unwrap(&w, &ctx("bk_t")).await.unwrap_err();
    assert!(
        matches!(err, GcpKmsError::Unauthenticated { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        !msg.contains("tok-wrong") && !msg.contains("tok-123"),
        "{msg}"
    );
    assert!(!format!("{bad:?}").contains("tok-wrong"));
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_call_error_naming_it() {
    // A port nothing listens on: bind, read the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let p = GcpKmsKeyProvider::new(
        key_name("acme"),
        GcpKmsOptions {
            endpoint: Some(endpoint.clone()),
            max_attempts: 2,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let err = p
        .try_wrap(&random_data_key(), &ctx("bk_u"))
        .await
        .unwrap_err();
    match &err {
        GcpKmsError::Call { code, .. } => assert_eq!(*code, tonic::Code::Unavailable),
        other => panic!("expected Call, got {other:?}"),
    }
    assert!(err.to_string().contains(&endpoint), "{err}");
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[tokio::test]
async fn credentials_go_through_the_shared_google_auth_code() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.json");
    let opts = |path: &std::path::Path| GcpKmsOptions {
        credentials: Some(Credentials::ServiceAccountFile(path.to_path_buf())),
        endpoint: Some("http://127.0.0.1:9".into()),
        ..Default::default()
    };
    let err = GcpKmsKeyProvider::new(key_name("acme"), opts(&missing))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidConfig(_)), "{err:?}");
    assert!(err.to_string().contains("missing.json"), "{err}");
    // A file that is not a Google credentials file: the error never quotes its content.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "-----BEGIN PRIVATE KEY----- s3cr3t").unwrap();
    let err = GcpKmsKeyProvider::new(key_name("acme"), opts(&bad))
        .await
        .unwrap_err();
    assert!(!err.to_string().contains("s3cr3t"), "{err}");
    assert!(err.to_string().contains("service-account key"), "{err}");
}

#[tokio::test]
async fn https_endpoints_use_tls_and_fail_cleanly_against_a_plaintext_server() {
    // The default endpoint builds a TLS channel without any network use (connect is lazy and
    // an access token needs no exchange).
    let token = || Some(Credentials::AccessToken(SecretString::from("t")));
    let p = GcpKmsKeyProvider::new(
        key_name("acme"),
        GcpKmsOptions {
            credentials: token(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(format!("{p:?}").contains("https://cloudkms.googleapis.com"));
    // TLS to the plaintext test server: a handshake failure, reported as a call error.
    let s = server().await;
    let key = key_name("acme");
    s.create_key(&key);
    let endpoint = format!("https://{}", s.addr());
    let p = GcpKmsKeyProvider::new(
        &key,
        GcpKmsOptions {
            credentials: token(),
            endpoint: Some(endpoint.clone()),
            max_attempts: 1,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let err = p
        .try_wrap(&random_data_key(), &ctx("bk_tls"))
        .await
        .unwrap_err();
    assert!(matches!(err, GcpKmsError::Call { .. }), "{err:?}");
    assert!(err.to_string().contains(&endpoint), "{err}");
    assert_eq!(s.calls("Encrypt"), 0);
}
