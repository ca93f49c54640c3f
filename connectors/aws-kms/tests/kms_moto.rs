//! AwsKmsKeyProvider against moto's KMS on 127.0.0.1.

use firekeep_aws_kms::{AwsKmsKeyProvider, AwsKmsOptions, CONTEXT_KEY, KIND};
use firekeep_core::Error;
use firekeep_core::keys::{KeyContext, KeyProvider};
use firekeep_moto::{ACCESS_KEY_ID, MotoServer, REGION, SECRET_ACCESS_KEY};
use std::sync::OnceLock;

fn moto() -> &'static MotoServer {
    static MOTO: OnceLock<MotoServer> = OnceLock::new();
    MOTO.get_or_init(MotoServer::start)
}

fn options() -> AwsKmsOptions {
    AwsKmsOptions {
        region: Some(REGION.into()),
        endpoint: Some(moto().endpoint()),
        access_key_id: Some(ACCESS_KEY_ID.into()),
        secret_access_key: Some(SECRET_ACCESS_KEY.into()),
        ..Default::default()
    }
}

async fn admin() -> aws_sdk_kms::Client {
    let creds =
        aws_sdk_kms::config::Credentials::new(ACCESS_KEY_ID, SECRET_ACCESS_KEY, None, None, "test");
    let conf = aws_sdk_kms::Config::builder()
        .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
        .region(aws_sdk_kms::config::Region::new(REGION))
        .endpoint_url(moto().endpoint())
        .credentials_provider(creds)
        .build();
    aws_sdk_kms::Client::from_conf(conf)
}

/// Creates a symmetric key (optionally with a key policy); returns its ARN.
async fn new_key(policy: Option<&str>) -> String {
    let mut req = admin().await.create_key().description("firekeep test");
    if let Some(p) = policy {
        req = req.policy(p);
    }
    let out = req.send().await.expect("create_key on moto");
    out.key_metadata().unwrap().arn().unwrap().to_string()
}

fn uuid(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap()
}

fn ctx(id: &str) -> KeyContext {
    KeyContext {
        backup_id: id.into(),
    }
}

#[tokio::test]
async fn generate_and_unwrap_round_trip_with_encryption_context() {
    let arn = new_key(None).await;
    let p = AwsKmsKeyProvider::new(arn.clone(), options())
        .await
        .unwrap();
    assert_eq!(p.kind(), KIND);
    assert_eq!(p.key_id(), arn);
    let (key, wrapped) = p.generate_data_key(&ctx("bk_1")).await.unwrap();
    assert_eq!(key.len(), 32);
    assert_eq!(wrapped.provider, "aws-kms");
    assert_eq!(wrapped.key_id, arn);
    assert_eq!(
        wrapped
            .params
            .get("encryption_context_key")
            .map(String::as_str),
        Some(CONTEXT_KEY)
    );
    let back = p.unwrap(&wrapped, &ctx("bk_1")).await.unwrap();
    assert_eq!(back.expose(), key.expose());
    // Two backups get different keys.
    let (key2, wrapped2) = p.generate_data_key(&ctx("bk_2")).await.unwrap();
    assert_ne!(key2.expose(), key.expose());
    assert_ne!(wrapped2.ciphertext, wrapped.ciphertext);
    // wrap() (used by key rotation) wraps an existing data key under the same context.
    let rewrapped = p.wrap(&key, &ctx("bk_1")).await.unwrap();
    assert_ne!(rewrapped.ciphertext, wrapped.ciphertext);
    assert_eq!(
        p.unwrap(&rewrapped, &ctx("bk_1")).await.unwrap().expose(),
        key.expose()
    );
    // Nothing secret in Debug.
    let dbg = format!("{p:?} {wrapped:?} {:?}", options());
    assert!(!dbg.contains(SECRET_ACCESS_KEY), "{dbg}");
}

#[tokio::test]
async fn alias_resolves_to_the_key_arn() {
    let arn = new_key(None).await;
    let alias = format!("alias/firekeep-{}", std::process::id());
    admin()
        .await
        .create_alias()
        .alias_name(&alias)
        .target_key_id(&arn)
        .send()
        .await
        .unwrap();
    let by_alias = AwsKmsKeyProvider::new(alias.clone(), options())
        .await
        .unwrap();
    assert_eq!(by_alias.key_id(), arn, "key_id() is the resolved ARN");
    assert_eq!(by_alias.configured_key(), alias);
    let (key, wrapped) = by_alias.generate_data_key(&ctx("bk_alias")).await.unwrap();
    assert_eq!(wrapped.key_id, arn);
    let by_arn = AwsKmsKeyProvider::new(arn, options()).await.unwrap();
    assert_eq!(
        by_arn
            .unwrap(&wrapped, &ctx("bk_alias"))
            .await
            .unwrap()
            .expose(),
        key.expose()
    );
}

#[tokio::test]
async fn wrong_encryption_context_is_a_clear_key_provider_error() {
    let p = AwsKmsKeyProvider::new(new_key(None).await, options())
        .await
        .unwrap();
    let (_, wrapped) = p.generate_data_key(&ctx("bk_right")).await.unwrap();
    match p.unwrap(&wrapped, &ctx("bk_other")).await {
        Err(Error::KeyProvider(m)) => {
            assert!(
                m.contains("bk_other") && m.contains("another backup"),
                "{m}"
            );
        }
        other => panic!("expected KeyProvider error, got {other:?}"),
    }
}

#[tokio::test]
async fn another_key_is_reported_as_key_mismatch() {
    let a = AwsKmsKeyProvider::new(new_key(None).await, options())
        .await
        .unwrap();
    let b = AwsKmsKeyProvider::new(new_key(None).await, options())
        .await
        .unwrap();
    let (_, wrapped) = a.generate_data_key(&ctx("bk_m")).await.unwrap();
    match b.unwrap(&wrapped, &ctx("bk_m")).await {
        Err(Error::KeyMismatch { expected, actual }) => {
            assert_eq!(expected, a.key_id());
            assert_eq!(actual, b.key_id());
        }
        other => panic!("expected KeyMismatch, got {other:?}"),
    }
    // A key wrapped by another provider kind is a mismatch too, not garbage.
    let mut foreign = wrapped.clone();
    foreign.provider = "passphrase".into();
    assert!(matches!(
        b.unwrap(&foreign, &ctx("bk_m")).await,
        Err(Error::KeyMismatch { .. })
    ));
}

#[tokio::test]
async fn missing_key_is_reported_with_what_to_check() {
    for missing in [
        "alias/does-not-exist",
        "11111111-2222-3333-4444-555555555555",
    ] {
        match AwsKmsKeyProvider::new(missing, options()).await {
            Err(Error::KeyProvider(m)) => {
                assert!(m.contains("not found") && m.contains(REGION), "{m}");
            }
            other => panic!("{missing}: expected KeyProvider error, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn disabled_key_is_refused_when_the_provider_is_opened() {
    let arn = new_key(None).await;
    let before = AwsKmsKeyProvider::new(arn.clone(), options())
        .await
        .unwrap();
    let (key, wrapped) = before.generate_data_key(&ctx("bk_d")).await.unwrap();
    // moto's DisableKey/EnableKey take the bare key id, not the ARN.
    admin()
        .await
        .disable_key()
        .key_id(uuid(&arn))
        .send()
        .await
        .unwrap();
    match AwsKmsKeyProvider::new(arn.clone(), options()).await {
        Err(Error::KeyProvider(m)) => {
            assert!(m.contains("disabled") && m.contains("enable-key"), "{m}")
        }
        other => panic!("expected a disabled-key error, got {other:?}"),
    }
    // moto (unlike AWS, which answers DisabledException) still decrypts with a disabled key,
    // so only the open-time check can be shown here.
    match before.unwrap(&wrapped, &ctx("bk_d")).await {
        Ok(k) => assert_eq!(k.expose(), key.expose()),
        Err(Error::KeyProvider(m)) => assert!(m.contains("disabled"), "{m}"),
        Err(other) => panic!("a disabled key must give a KeyProvider error, got {other:?}"),
    }
    admin()
        .await
        .enable_key()
        .key_id(uuid(&arn))
        .send()
        .await
        .unwrap();
    assert!(AwsKmsKeyProvider::new(arn, options()).await.is_ok());
}

#[tokio::test]
async fn key_pending_deletion_is_refused() {
    let arn = new_key(None).await;
    admin()
        .await
        .schedule_key_deletion()
        .key_id(uuid(&arn))
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    match AwsKmsKeyProvider::new(arn, options()).await {
        Err(Error::KeyProvider(m)) => assert!(
            m.contains("disabled") || m.contains("pending deletion"),
            "{m}"
        ),
        other => panic!("expected a key-state error, got {other:?}"),
    }
}

#[tokio::test]
async fn access_denied_names_the_permissions_to_grant() {
    // moto enforces key policies only for DescribeKey (Principal "*", Resource "*"): the
    // provider then falls back to the configured id and still works.
    let deny = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"kms:DescribeKey","Resource":"*"}]}"#;
    let arn = new_key(Some(deny)).await;
    let key_uuid = arn.rsplit('/').next().unwrap().to_string();
    let p = AwsKmsKeyProvider::new(key_uuid.clone(), options())
        .await
        .unwrap();
    assert_eq!(
        p.key_id(),
        key_uuid,
        "without DescribeKey the configured id is kept"
    );
    let (key, wrapped) = p.generate_data_key(&ctx("bk_p")).await.unwrap();
    assert_eq!(
        p.unwrap(&wrapped, &ctx("bk_p")).await.unwrap().expose(),
        key.expose()
    );
    // A ciphertext whose KMS key these credentials cannot use: moto answers
    // AccessDeniedException (the ciphertext names a key unknown to this account/region).
    let other = MotoServer::start();
    let mut o = options();
    o.endpoint = Some(other.endpoint());
    let foreign_client = {
        let creds = aws_sdk_kms::config::Credentials::new(
            ACCESS_KEY_ID,
            SECRET_ACCESS_KEY,
            None,
            None,
            "test",
        );
        aws_sdk_kms::Client::from_conf(
            aws_sdk_kms::Config::builder()
                .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
                .region(aws_sdk_kms::config::Region::new(REGION))
                .endpoint_url(other.endpoint())
                .credentials_provider(creds)
                .build(),
        )
    };
    let foreign_key = foreign_client.create_key().send().await.unwrap();
    let foreign_arn = foreign_key
        .key_metadata()
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    let fp = AwsKmsKeyProvider::new(foreign_arn, o).await.unwrap();
    let (_, mut foreign) = fp.generate_data_key(&ctx("bk_p")).await.unwrap();
    foreign.key_id = p.key_id().to_string();
    match p.unwrap(&foreign, &ctx("bk_p")).await {
        Err(Error::KeyProvider(m)) => {
            assert!(m.contains("refused") && m.contains("kms:Decrypt"), "{m}")
        }
        other => panic!("expected an access-denied KeyProvider error, got {other:?}"),
    }
}

#[tokio::test]
async fn unreachable_endpoint_and_bad_config_fail_cleanly() {
    let mut o = options();
    o.endpoint = Some(format!("http://127.0.0.1:{}", firekeep_moto::free_port()));
    match AwsKmsKeyProvider::new("alias/x", o).await {
        Err(Error::KeyProvider(m)) => {
            assert!(m.contains("network") || m.contains("endpoint"), "{m}")
        }
        other => panic!("expected a KeyProvider error, got {other:?}"),
    }
    let mut half = options();
    half.secret_access_key = None;
    assert!(matches!(
        AwsKmsKeyProvider::new("alias/x", half).await,
        Err(Error::InvalidConfig(_))
    ));
    assert!(matches!(
        AwsKmsKeyProvider::new(" ", options()).await,
        Err(Error::InvalidConfig(_))
    ));
}
