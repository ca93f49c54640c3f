//! Test harness for firekeep's S3 and KMS tests: runs moto's server
//! (`moto_server -H 127.0.0.1 -p PORT`) on a free loopback port for the lifetime of a
//! [`MotoServer`], and a [`FaultProxy`] in front of it that can drop every connection and stop
//! listening, the way a crashed S3 endpoint looks to a client, while moto's in-memory state
//! survives for the "after the restart" half of a fault test.
//!
//! Standard library only, so it builds in seconds.
#![warn(missing_docs)]

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Region the tests use with moto.
pub const REGION: &str = "us-east-1";
/// Access key id the tests give moto (moto accepts any unless auth is enabled).
pub const ACCESS_KEY_ID: &str = "testing";
/// Secret access key the tests give moto.
pub const SECRET_ACCESS_KEY: &str = "testing";

const MISSING: &str = "moto_server was not found: run scripts/setup-python.sh (it installs \
                       moto[server] into .venv), or set FIREKEEP_MOTO_SERVER to its path";

/// Path of the `moto_server` executable: `$FIREKEEP_MOTO_SERVER`, else beside
/// `$FIREKEEP_PYTHON`, else `<repo>/.venv/bin/moto_server`, else `moto_server` on `PATH`.
pub fn moto_server_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("FIREKEEP_MOTO_SERVER") {
        return Some(PathBuf::from(p));
    }
    let mut candidates = Vec::new();
    if let Some(py) = std::env::var_os("FIREKEEP_PYTHON")
        && let Some(dir) = Path::new(&py).parent()
    {
        candidates.push(dir.join("moto_server"));
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    candidates.push(repo.join(".venv/bin/moto_server"));
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join("moto_server")));
    }
    candidates.into_iter().find(|p| p.is_file())
}

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("cannot bind a loopback port")
}

/// A moto server process; killed when dropped.
#[derive(Debug)]
pub struct MotoServer {
    child: Option<Child>,
    port: u16,
    extra_env: Vec<(String, String)>,
}

impl MotoServer {
    /// Starts moto on a free port and waits until it answers. Panics, saying to run
    /// `scripts/setup-python.sh`, when moto is not installed.
    pub fn start() -> MotoServer {
        Self::start_with_env(&[])
    }

    /// Like [`MotoServer::start`], with extra environment variables for moto (e.g.
    /// `INITIAL_NO_AUTH_ACTION_COUNT` to make it enforce IAM credentials and policies).
    pub fn start_with_env(env: &[(&str, &str)]) -> MotoServer {
        let mut server = MotoServer {
            child: None,
            port: free_port(),
            extra_env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let exe = moto_server_path().unwrap_or_else(|| panic!("{MISSING}"));
        // moto runs under a small shell watchdog that kills it when our end of its stdin
        // closes: on drop, and also when the test process exits without dropping (statics).
        let mut cmd = Command::new("sh");
        cmd.args([
            "-c",
            r#"exec 3<&0
               "$FK_MOTO" -H 127.0.0.1 -p "$FK_PORT" >/dev/null 2>&1 </dev/null & m=$!
               (read _ignored <&3; kill $m 2>/dev/null) &
               wait $m"#,
        ])
        .env("FK_MOTO", &exe)
        .env("FK_PORT", self.port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Keep the host's AWS configuration out of moto.
        .env("AWS_DEFAULT_REGION", REGION);
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}; {MISSING}", exe.display()));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("moto_server exited at start ({status}); {MISSING}");
            }
            if let Ok(r) = http(self.port, "GET", "/moto-api/", &[], b"")
                && r.status > 0
            {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "moto_server did not answer on port {} within 60 s",
                    self.port
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The port moto listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills the server (state is lost: moto keeps it in memory).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            // Closing stdin makes the watchdog kill moto and exit.
            drop(c.stdin.take());
            let _ = c.wait();
        }
    }

    /// Starts the server again on the same port (with empty state).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Creates an S3 bucket (unsigned request; moto does not check signatures by default).
    pub fn create_bucket(&self, bucket: &str) {
        let r = http(self.port, "PUT", &format!("/{bucket}"), &[], b"")
            .expect("create bucket request failed");
        assert!(
            r.status == 200,
            "creating bucket {bucket} on moto failed: {} {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        );
    }

    /// Sends a raw HTTP request to moto.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> io::Result<HttpResponse> {
        http(self.port, method, path, headers, body)
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A raw HTTP response.
#[derive(Debug)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Body (chunked encoding removed).
    pub body: Vec<u8>,
}

/// A minimal HTTP/1.1 client (`Connection: close`) for setup calls the SDKs under test do
/// not cover (create bucket, IAM users, bucket policies).
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<HttpResponse> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| io::Error::other("malformed HTTP response"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other("malformed HTTP status line"))?;
    let mut body = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    Ok(HttpResponse { status, body })
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let n = usize::from_str_radix(String::from_utf8_lossy(&b[..eol]).trim(), 16).unwrap_or(0);
        if n == 0 || b.len() < eol + 2 + n {
            break;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + n]);
        b = &b[(eol + 4 + n).min(b.len())..];
    }
    out
}

/// A TCP proxy on a free loopback port in front of another port. [`FaultProxy::stop`] (or
/// an armed byte limit) drops every live connection and closes the port, so clients see the
/// server vanish; [`FaultProxy::resume`] listens again on the same port.
#[derive(Debug)]
pub struct FaultProxy {
    port: u16,
    upstream: u16,
    shared: Arc<Shared>,
    listener: Option<JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct Shared {
    up: AtomicBool,
    bytes_up: AtomicU64,
    /// Stop once this many client-to-server bytes have passed (0 = never).
    limit: AtomicU64,
    conns: Mutex<Vec<TcpStream>>,
}

impl Shared {
    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }
}

impl FaultProxy {
    /// Starts a proxy to `127.0.0.1:upstream`.
    pub fn start(upstream: u16) -> FaultProxy {
        let mut p = FaultProxy {
            port: free_port(),
            upstream,
            shared: Arc::new(Shared::default()),
            listener: None,
        };
        p.resume();
        p
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT` of the proxy.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Client-to-server bytes forwarded since start.
    pub fn bytes_up(&self) -> u64 {
        self.shared.bytes_up.load(Ordering::SeqCst)
    }

    /// Whether the proxy is accepting connections.
    pub fn is_up(&self) -> bool {
        self.shared.up.load(Ordering::SeqCst)
    }

    /// Stops (as [`FaultProxy::stop`]) once `n` more client-to-server bytes have passed.
    pub fn stop_after_bytes(&self, n: u64) {
        let at = self.bytes_up() + n.max(1);
        self.shared.limit.store(at, Ordering::SeqCst);
    }

    /// Drops every connection and closes the port; returns once the port is closed.
    pub fn stop(&mut self) {
        self.shared.cut();
        if let Some(h) = self.listener.take() {
            let _ = h.join();
        }
    }

    /// Listens again on the same port.
    pub fn resume(&mut self) {
        self.stop();
        self.shared.limit.store(0, Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)) {
                Ok(l) => break l,
                Err(e) if Instant::now() > deadline => {
                    panic!("proxy cannot rebind port {}: {e}", self.port)
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        self.shared.up.store(true, Ordering::SeqCst);
        let shared = self.shared.clone();
        let upstream = self.upstream;
        self.listener = Some(std::thread::spawn(move || {
            accept_loop(listener, upstream, shared)
        }));
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop();
    }
}

fn accept_loop(listener: TcpListener, upstream: u16, shared: Arc<Shared>) {
    while shared.up.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((client, _)) => {
                let _ = client.set_nonblocking(false);
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let (Ok(c2), Ok(s2), Ok(c3), Ok(s3)) = (
                    client.try_clone(),
                    server.try_clone(),
                    client.try_clone(),
                    server.try_clone(),
                ) else {
                    continue;
                };
                shared.conns.lock().unwrap().extend([c3, s3]);
                let sh = shared.clone();
                std::thread::spawn(move || pump(client, server, Some(sh)));
                std::thread::spawn(move || pump(s2, c2, None));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(2))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(2)),
        }
    }
}

/// Copies `from` to `to`; the client-to-server direction counts bytes and trips the limit.
fn pump(mut from: TcpStream, mut to: TcpStream, counter: Option<Arc<Shared>>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Some(sh) = &counter {
            let total = sh.bytes_up.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
            let limit = sh.limit.load(Ordering::SeqCst);
            if limit != 0 && total >= limit {
                sh.cut();
                break;
            }
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
