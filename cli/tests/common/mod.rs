//! Shared test harness: an in-process Firestore test server (on its own tokio runtime, so
//! plain `#[test]`s can block on the `firekeep` binary while it serves), a temp folder with
//! a repository and a raw key, and a `firekeep` command preconfigured for both.
#![allow(dead_code)]

use assert_cmd::Command;
use firekeep_core::keys::RawKey;
use firekeep_core::model::{DatabaseId, Document};
use firekeep_firestore_server::{FirestoreServer, RunningServer, sample};
use std::path::{Path, PathBuf};

/// The project every test uses.
pub const PROJECT: &str = "cli-test";

/// A running server plus a scratch folder.
pub struct Env {
    pub server: RunningServer,
    pub dir: tempfile::TempDir,
    pub repo: PathBuf,
    pub key_file: PathBuf,
    pub key_b64: String,
    // Dropped last: the server's tasks run on it.
    rt: tokio::runtime::Runtime,
}

impl Env {
    /// A server holding `docs` sample documents in `cli-test/(default)`.
    pub fn new(docs: usize) -> Env {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let server = rt.block_on(async {
            FirestoreServer::builder()
                .partition_query(true)
                .build()
                .start()
                .await
                .unwrap()
        });
        if docs > 0 {
            server.seed(sample::demo_database(&db("(default)"), docs));
        }
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        let key = RawKey::generate().unwrap();
        let key_b64 = key.to_base64().expose().to_string();
        let key_file = dir.path().join("backup.key");
        std::fs::write(&key_file, format!("{key_b64}\n")).unwrap();
        Env {
            server,
            dir,
            repo,
            key_file,
            key_b64,
            rt,
        }
    }

    /// `firekeep` with the repository, project, emulator and key set through the
    /// environment, run in the scratch folder (so no stray ./firekeep.toml is read).
    pub fn cmd(&self) -> Command {
        let mut c = Command::from_std(self.std_cmd());
        c.timeout(std::time::Duration::from_secs(120));
        c
    }

    /// [`Env::cmd`] as a plain process command (to spawn and kill).
    pub fn std_cmd(&self) -> std::process::Command {
        let mut c = bare_std(self.dir.path());
        c.env("FIRESTORE_EMULATOR_HOST", self.server.emulator_host())
            .env("FIREKEEP_REPO", &self.repo)
            .env("FIREKEEP_PROJECT", PROJECT)
            .env("FIREKEEP_KEY_FILE", &self.key_file);
        c
    }

    /// Documents of a database in the server, now.
    pub fn documents(&self, database: &str) -> Vec<Document> {
        self.server.documents(&db(database), None)
    }

    /// Runs something on the server's runtime.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// The audit log of the repository.
    pub fn audit_log(&self) -> String {
        std::fs::read_to_string(self.repo.join("audit.jsonl")).unwrap_or_default()
    }
}

/// A database of the test project.
pub fn db(database: &str) -> DatabaseId {
    DatabaseId::new(PROJECT, database).unwrap()
}

/// `firekeep` with a clean environment (no FIREKEEP_* or Google variables from the caller).
pub fn bare_cmd(cwd: &Path) -> Command {
    let mut c = Command::from_std(bare_std(cwd));
    c.timeout(std::time::Duration::from_secs(120));
    c
}

fn bare_std(cwd: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin!("firekeep"));
    for (k, _) in std::env::vars() {
        if k.starts_with("FIREKEEP_")
            || k == "FIRESTORE_EMULATOR_HOST"
            || k == "GOOGLE_APPLICATION_CREDENTIALS"
        {
            c.env_remove(k);
        }
    }
    c.current_dir(cwd).env("USER", "tester");
    c
}

/// Output of a finished command.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// The `--json` error document on stderr.
    pub fn error(&self) -> serde_json::Value {
        let line = self.stderr.lines().last().unwrap_or("");
        serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("stderr is not a JSON error ({e}):\n{}", self.stderr))
    }
}

/// Runs a command and captures everything.
pub fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs and insists on `code`.
pub fn run_ok(cmd: &mut Command, code: i32) -> Run {
    let r = run(cmd);
    assert_eq!(
        r.code, code,
        "unexpected exit code\nstdout:\n{}\nstderr:\n{}",
        r.stdout, r.stderr
    );
    r
}
