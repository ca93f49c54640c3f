//! Tokens minted by third-party libraries (PyJWT, Google's google-auth; `mint_tokens.py`)
//! verified through a JWKS served on 127.0.0.1: accepted, or rejected for the right reason;
//! caching by `Cache-Control`, one refresh on an unknown `kid`, key rotation at the JWKS.
//! And the webhook alert sink's signed POST.

use firekeep_core::identity::alerts::{Alert, AlertSink};
use firekeep_core::identity::jwt::{JwtAuthenticator, JwtConfig, JwtVerifier};
use firekeep_core::identity::{AuthError, Authenticator};
use firekeep_core::policy::Policy;
use firekeep_core::secret::SecretBytes;
use firekeep_oidc::{JwksKeySource, WebhookAlertSink, webhook_signature};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn python() -> PathBuf {
    if let Ok(p) = std::env::var("FIREKEEP_PYTHON") {
        return p.into();
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    assert!(
        venv.exists(),
        "the tests need .venv with PyJWT and google-auth: run scripts/setup-python.sh"
    );
    venv
}

fn mint() -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/mint_tokens.py");
    let out = std::process::Command::new(python())
        .arg(script)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "mint_tokens.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

struct Request {
    headers: String,
    body: Vec<u8>,
}

/// A tiny HTTP/1.1 server on 127.0.0.1: answers every request with `respond(request)`
/// (status line, extra headers, body) and counts requests.
async fn serve(
    respond: impl Fn(&Request) -> (u16, String, Vec<u8>) + Send + Sync + 'static,
) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let count2 = count.clone();
    let respond = Arc::new(respond);
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let respond = respond.clone();
            let count = count2.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut tmp = [0u8; 4096];
                let head_end = loop {
                    let n = sock.read(&mut tmp).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&tmp[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let headers = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let len = headers
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                while buf.len() < head_end + len {
                    let n = sock.read(&mut tmp).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&tmp[..n]);
                }
                count.fetch_add(1, Ordering::SeqCst);
                let req = Request {
                    headers,
                    body: buf[head_end..].to_vec(),
                };
                let (status, extra, body) = respond(&req);
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: {}\r\ncontent-type: application/json\r\nconnection: close\r\n{extra}\r\n",
                    body.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(&body).await;
            });
        }
    });
    (format!("http://{addr}/jwks"), count)
}

fn policy() -> Arc<Policy> {
    Arc::new(
        Policy::from_toml(
            "[[members]]\nid = \"alice\"\nemail = \"alice@example.com\"\norganization = \"acme\"\nrole = \"admin\"\n",
        )
        .unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn third_party_tokens_against_a_served_jwks() {
    let minted = mint();
    let jwks = Arc::new(Mutex::new(minted["jwks_before"].to_string()));
    let jwks2 = jwks.clone();
    let (url, fetches) = serve(move |_| {
        (
            200,
            "cache-control: public, max-age=300\r\n".into(),
            jwks2.lock().unwrap().clone().into_bytes(),
        )
    })
    .await;
    let source = Arc::new(
        JwksKeySource::new(&url)
            .unwrap()
            .with_refresh_interval(Duration::from_millis(300)),
    );
    let auth = JwtAuthenticator::new(
        JwtVerifier::new(
            JwtConfig::new("https://issuer.test", "firekeep-api"),
            source.clone(),
        ),
        policy(),
        "acme",
    );
    let token = |name: &str| format!("Bearer {}", minted["tokens"][name].as_str().unwrap());
    let check = |name: &'static str| {
        let auth = &auth;
        let t = token(name);
        async move { auth.authenticate(&t).await }
    };

    for good in ["rs256", "es256", "google_auth"] {
        let ok = check(good).await.unwrap_or_else(|e| panic!("{good}: {e}"));
        assert_eq!(ok.principal.id(), "alice", "{good}");
    }
    // One fetch served all three (max-age=300).
    assert_eq!(fetches.load(Ordering::SeqCst), 1);

    assert!(matches!(
        check("expired").await,
        Err(AuthError::Expired { .. })
    ));
    assert!(matches!(
        check("not_yet_valid").await,
        Err(AuthError::NotYetValid { .. })
    ));
    assert_eq!(
        check("wrong_iss").await.unwrap_err(),
        AuthError::WrongIssuer
    );
    assert_eq!(
        check("wrong_aud").await.unwrap_err(),
        AuthError::WrongAudience
    );
    assert_eq!(
        check("alg_none").await.unwrap_err(),
        AuthError::AlgorithmMismatch
    );
    assert_eq!(
        check("hs_rs_confusion").await.unwrap_err(),
        AuthError::AlgorithmMismatch
    );
    assert_eq!(
        check("wrong_key").await.unwrap_err(),
        AuthError::BadSignature
    );
    assert_eq!(fetches.load(Ordering::SeqCst), 1);

    // An unknown kid refreshes once; a second one inside the interval does not.
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(
        check("unknown_kid").await.unwrap_err(),
        AuthError::UnknownKey
    );
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
    assert_eq!(
        check("unknown_kid").await.unwrap_err(),
        AuthError::UnknownKey
    );
    assert_eq!(fetches.load(Ordering::SeqCst), 2);

    // The issuer rotates: rsa-2 replaces rsa-1. Once the interval has passed, a token
    // signed by rsa-2 makes one refresh and is accepted; rsa-1's tokens now fail.
    *jwks.lock().unwrap() = minted["jwks_after"].to_string();
    tokio::time::sleep(Duration::from_millis(350)).await;
    check("rotated").await.unwrap();
    assert_eq!(fetches.load(Ordering::SeqCst), 3);
    check("es256").await.unwrap();
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(check("rs256").await.unwrap_err(), AuthError::UnknownKey);
    assert_eq!(fetches.load(Ordering::SeqCst), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_or_oversized_jwks_is_a_key_source_error() {
    let (url, _) = serve(|_| (500, String::new(), b"oops".to_vec())).await;
    let source = JwksKeySource::new(&url).unwrap();
    let e = firekeep_core::identity::jwt::KeySource::keys_for(&source, Some("k"))
        .await
        .unwrap_err();
    assert!(
        matches!(e, AuthError::KeySource(ref m) if m.contains("HTTP 500")),
        "{e}"
    );
    let (url, _) = serve(|_| (200, String::new(), vec![b' '; 300 * 1024])).await;
    let source = JwksKeySource::new(&url).unwrap();
    let e = firekeep_core::identity::jwt::KeySource::keys_for(&source, None)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("larger than"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_alerts_are_posted_with_a_verifiable_signature() {
    let secret = b"webhook-secret-webhook-secret-0123456789".to_vec();
    let received = Arc::new(Mutex::new(Vec::<(String, Vec<u8>)>::new()));
    let r2 = received.clone();
    let (url, _) = serve(move |req| {
        r2.lock()
            .unwrap()
            .push((req.headers.clone(), req.body.clone()));
        (204, String::new(), Vec::new())
    })
    .await;
    let sink = WebhookAlertSink::new(&url, SecretBytes::new(secret.clone())).unwrap();
    let alert = Alert {
        rule: "audit_exported".into(),
        message: "the audit trail was exported by user 'eve'".into(),
        timestamp: "2026-12-03T10:00:00.000Z".into(),
        organization: "acme".into(),
        actor: firekeep_core::audit::Actor {
            kind: "user".into(),
            id: "eve".into(),
            email: None,
        },
        event_ids: vec!["log_1".into()],
    };
    sink.send(&alert).await.unwrap();
    let (headers, body) = received.lock().unwrap()[0].clone();
    let header = |name: &str| {
        headers
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
            })
            .unwrap()
    };
    let ts: u64 = header("x-firekeep-timestamp").parse().unwrap();
    // The receiver's check, with Python's hmac module (not our code).
    let check = std::process::Command::new(python())
        .args([
            "-c",
            "import hmac,hashlib,sys; k,ts,sig=sys.argv[1:4]; body=sys.stdin.buffer.read(); \
             exp='sha256='+hmac.new(k.encode(), ts.encode()+b'.'+body, hashlib.sha256).hexdigest(); \
             sys.exit(0 if hmac.compare_digest(exp, sig) else 1)",
            std::str::from_utf8(&secret).unwrap(),
            &ts.to_string(),
            &header("x-firekeep-signature"),
        ])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(&body)?;
            c.wait()
        })
        .unwrap();
    assert!(
        check.success(),
        "Python's hmac does not accept the signature"
    );
    assert_eq!(
        header("x-firekeep-signature"),
        webhook_signature(&secret, ts, &body)
    );
    let back: Alert = serde_json::from_slice(&body).unwrap();
    assert_eq!(back, alert);

    // A receiver's error is the sink's error.
    let (url, _) = serve(|_| (503, String::new(), Vec::new())).await;
    let sink = WebhookAlertSink::new(&url, SecretBytes::new(secret)).unwrap();
    assert!(
        sink.send(&alert)
            .await
            .unwrap_err()
            .to_string()
            .contains("503")
    );
    assert!(
        WebhookAlertSink::new("http://example.com/hook", SecretBytes::new(vec![0; 32])).is_err()
    );
}
