//! `firekeep demo`: the whole round trip with no setup. An in-process Firestore server with
//! a sample database, the real gRPC connector, a local repository and a generated demo key:
//! backup → verify → restore into a second database → compare document by document, then
//! the reports and the audit trail.

use crate::args::DemoArgs;
use crate::error::{CliError, CliResult, exit};
use crate::output::{Output, count, table};
use crate::progress::Progress;
use crate::render::{backup_text, verify_text};
use firekeep_core::Error;
use firekeep_core::audit::{AuditSink, FsyncPolicy, JsonlAuditSink, read_jsonl};
use firekeep_core::client::Client;
use firekeep_core::engine::{BackupOptions, CancellationToken, Repository, RestoreOptions};
use firekeep_core::keys::{KeyProvider, RawKey};
use firekeep_core::model::{DatabaseId, Document};
use firekeep_core::session::Session;
use firekeep_core::source::{FirestoreSource, NameRange, Scope};
use firekeep_core::storage::local::LocalStorage;
use firekeep_firestore::{ConnectorConfig, FirestoreConnector};
use firekeep_firestore_server::{FirestoreServer, sample};
use futures::StreamExt;
use serde_json::json;
use std::path::Path;
use std::sync::Arc;

/// The demo's project id.
const PROJECT: &str = "firekeep-demo";
/// Where the restore goes.
const RESTORED_DB: &str = "restored";

/// Runs the demo; returns the exit code.
pub async fn run(args: &DemoArgs, out: Output, cancel: CancellationToken) -> CliResult<i32> {
    let dir = &args.dir;
    std::fs::create_dir_all(dir).map_err(|e| CliError::file("creating demo folder", dir, e))?;
    let repo_dir = dir.join("repo");
    std::fs::create_dir_all(&repo_dir)
        .map_err(|e| CliError::file("creating demo repository", &repo_dir, e))?;
    let key_path = dir.join("demo.key");
    let (keys, key_created) = demo_key(&key_path)?;
    let audit_path = dir.join("audit.jsonl");
    let audit_before = read_jsonl(&audit_path)?.events.len();

    out.note(&format!(
        "firekeep demo: {} sample documents, repository {}",
        count(args.documents as u64),
        repo_dir.display()
    ));
    out.note(&format!(
        "{} demo key {} (mode 0600; a DEMO key, do not use it for real data)",
        if key_created { "generated" } else { "reusing" },
        key_path.display()
    ));

    // 1. Firestore: the in-process server, seeded, reached through the real connector.
    let server = FirestoreServer::builder()
        .partition_query(true)
        .build()
        .start()
        .await
        .map_err(|e| CliError::usage(format!("cannot start the demo Firestore server: {e}")))?;
    let source_db = DatabaseId::new(PROJECT, "(default)")?;
    let restored_db = DatabaseId::new(PROJECT, RESTORED_DB)?;
    server.seed(sample::demo_database(&source_db, args.documents));
    out.note(&format!(
        "started Firestore test server on {} and loaded {}/(default)",
        server.emulator_host(),
        PROJECT
    ));
    let connect = |db: DatabaseId| {
        let host = server.emulator_host();
        async move {
            FirestoreConnector::connect(ConnectorConfig::emulator(db, host))
                .await
                .map(Arc::new)
        }
    };
    let source = connect(source_db.clone()).await?;
    let target = connect(restored_db.clone()).await?;

    // 2. The client: a local Owner, auditing to the demo's audit log.
    let audit: Arc<dyn AuditSink> =
        Arc::new(JsonlAuditSink::open(&audit_path, FsyncPolicy::PerBatch)?);
    let session = Session::local_owner("demo", "demo-user", audit);
    let storage = Arc::new(LocalStorage::new(&repo_dir)?);
    let client = Client::new(session, Repository::new(storage), keys);

    // 3. Backup, verify, restore.
    let progress = Progress::new(!out.json);
    let backup = client
        .backup(
            source.clone(),
            &BackupOptions::default(),
            progress.callback(),
            &cancel,
        )
        .await?;
    progress.finish();
    out.note(&format!("\n== backup\n{}", backup_text(&backup)));

    let progress = Progress::new(!out.json);
    let verify = client
        .verify(&backup.backup_id, progress.callback(), &cancel)
        .await?;
    progress.finish();
    out.note(&format!("== verify\n{}", verify_text(&verify)));
    verify.into_result()?;

    let progress = Progress::new(!out.json);
    let restore = client
        .restore(
            &backup.backup_id,
            target.clone(),
            &RestoreOptions::default(),
            progress.callback(),
            &cancel,
        )
        .await?;
    progress.finish();
    out.note(&format!(
        "== restore\nrestored {} into {}: {} written, {} failed\n",
        restore.backup_id,
        restored_db,
        count(restore.written),
        restore.failed.len()
    ));

    // 4. Prove the restored database equals the original, through the connector.
    let compared = compare(source.as_ref(), target.as_ref(), &cancel).await?;
    out.note(&format!(
        "== compare\n{}/(default) and {} hold the same {} documents (every field equal, bit for bit)\n",
        PROJECT,
        restored_db,
        count(compared)
    ));

    // 5. The audit trail of this run.
    let trail = read_jsonl(&audit_path)?;
    let events: Vec<_> = trail.events.iter().skip(audit_before).collect();
    let chain_ok = trail.verify().is_ok();
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|e| {
            vec![
                e.timestamp.clone(),
                e.action.clone(),
                format!("{}:{}", e.actor.kind, e.actor.id),
                format!("{}:{}", e.resource.kind, e.resource.id),
            ]
        })
        .collect();
    out.note(&format!(
        "== audit trail ({}, hash chain {})\n{}",
        audit_path.display(),
        if chain_ok { "intact" } else { "BROKEN" },
        table(&["TIMESTAMP", "ACTION", "ACTOR", "RESOURCE"], &rows)
    ));
    server.shutdown().await;

    let repo_arg = repo_dir.display().to_string();
    let key_arg = key_path.display().to_string();
    out.result(
        &json!({
            "backup": backup,
            "verify": verify,
            "restore": restore,
            "compare": {"source": source_db.to_string(), "restored": restored_db.to_string(),
                        "documents": compared, "equal": true},
            "audit": {"file": audit_path.display().to_string(), "chain_ok": chain_ok,
                      "events": events},
            "repository": repo_arg,
            "key_file": key_arg,
        }),
        || {
            format!(
                "demo complete: backup {} verified, restored and compared equal.\n\
                 Look around:\n  firekeep list   --repo {repo_arg} --key-file {key_arg}\n  \
                 firekeep verify latest --repo {repo_arg} --key-file {key_arg}\n  \
                 firekeep audit verify --audit-log {}",
                backup.backup_id,
                audit_path.display()
            )
        },
    );
    Ok(if chain_ok { exit::OK } else { exit::INTEGRITY })
}

/// Reads the demo key, or generates one and writes it with mode 0600.
fn demo_key(path: &Path) -> CliResult<(Arc<dyn KeyProvider>, bool)> {
    if path.exists() {
        let secret = crate::secrets::read_key_file(path)?;
        return Ok((Arc::new(RawKey::from_secret_base64(&secret)?), false));
    }
    let key = RawKey::generate()?;
    let mut text = String::from(
        "# firekeep DEMO key, generated by `firekeep demo`. Not for real data.\n\
         # Lines starting with '#' are ignored; the key is base64 of 32 random bytes.\n",
    );
    text.push_str(key.to_base64().expose());
    text.push('\n');
    write_private(path, text.as_bytes())?;
    Ok((Arc::new(key), true))
}

/// Creates a file readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> CliResult<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .map_err(|e| CliError::file("creating demo key", path, e))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| CliError::file("writing demo key", path, e))
}

/// Streams both databases in key order and compares them document by document: same
/// relative paths, same fields. Returns the number of documents.
async fn compare(
    a: &dyn FirestoreSource,
    b: &dyn FirestoreSource,
    cancel: &CancellationToken,
) -> CliResult<u64> {
    let (ta, tb) = (a.snapshot_time().await?, b.snapshot_time().await?);
    let scope = Scope::database();
    let mut sa = a.stream_documents(&scope, NameRange::all(), ta);
    let mut sb = b.stream_documents(&scope, NameRange::all(), tb);
    let mut n = 0u64;
    loop {
        cancel.check()?;
        let (da, db) = (sa.next().await.transpose()?, sb.next().await.transpose()?);
        match (da, db) {
            (None, None) => return Ok(n),
            (Some(x), None) => return Err(differs(&x, "is missing from the restored database")),
            (None, Some(y)) => return Err(differs(&y, "exists only in the restored database")),
            (Some(x), Some(y)) => {
                let (px, py) = (x.path()?.1, y.path()?.1);
                if px != py {
                    let (first, why) = if px < py {
                        (&x, "is missing from the restored database")
                    } else {
                        (&y, "exists only in the restored database")
                    };
                    return Err(differs(first, why));
                }
                if x.fields != y.fields {
                    return Err(differs(&x, "has different fields after the restore"));
                }
                n += 1;
            }
        }
    }
}

fn differs(doc: &Document, why: &str) -> CliError {
    let path = doc
        .path()
        .map(|(_, p)| p.to_string())
        .unwrap_or_else(|_| doc.name.clone());
    Error::integrity(format!("document {path}"), why.to_string()).into()
}
