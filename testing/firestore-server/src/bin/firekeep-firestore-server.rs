//! `firekeep-firestore-server`: the in-process Firestore test server as a process, for
//! tests in other languages (`FIRESTORE_EMULATOR_HOST`) and the demo.
//!
//! Prints `listening on 127.0.0.1:PORT` once ready, then serves until killed (SIGINT or
//! SIGTERM) or, with `--exit-on-stdin-eof`, until its standard input closes.

use firekeep_core::model::DatabaseId;
use firekeep_firestore_server::{FirestoreServer, sample};
use std::io::Write;

const USAGE: &str = "usage: firekeep-firestore-server [--port N] [--seed-demo] [--demo-project P] \
[--demo-docs N] [--no-partition-query] [--keep-nanos] [--pitr] [--exit-on-stdin-eof] \
[--latency-ms MS] [--rate-limit DOCS_PER_SEC] [--cursor-cost-ns NS]

--latency-ms: every call waits MS before answering; --rate-limit: each RunQuery stream sends
at most DOCS_PER_SEC documents a second; --cursor-cost-ns: a RunQuery start_at cursor costs NS
per document it skips (a server whose cursors are not index seeks).";

struct Args {
    port: u16,
    seed_demo: bool,
    demo_project: String,
    demo_docs: usize,
    partition_query: bool,
    keep_nanos: bool,
    pitr: bool,
    exit_on_stdin_eof: bool,
    latency_ms: u64,
    rate_limit: u64,
    cursor_cost_ns: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        port: 0,
        seed_demo: false,
        demo_project: "demo".into(),
        demo_docs: 2000,
        partition_query: true,
        keep_nanos: false,
        pitr: false,
        exit_on_stdin_eof: false,
        latency_ms: 0,
        rate_limit: 0,
        cursor_cost_ns: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--port" => {
                a.port = value("--port")?
                    .parse()
                    .map_err(|e| format!("--port: {e}"))?
            }
            "--seed-demo" => a.seed_demo = true,
            "--demo-project" => a.demo_project = value("--demo-project")?,
            "--demo-docs" => {
                a.demo_docs = value("--demo-docs")?
                    .parse()
                    .map_err(|e| format!("--demo-docs: {e}"))?
            }
            "--no-partition-query" => a.partition_query = false,
            "--keep-nanos" => a.keep_nanos = true,
            "--pitr" => a.pitr = true,
            "--exit-on-stdin-eof" => a.exit_on_stdin_eof = true,
            "--latency-ms" => {
                a.latency_ms = value("--latency-ms")?
                    .parse()
                    .map_err(|e| format!("--latency-ms: {e}"))?
            }
            "--rate-limit" => {
                a.rate_limit = value("--rate-limit")?
                    .parse()
                    .map_err(|e| format!("--rate-limit: {e}"))?
            }
            "--cursor-cost-ns" => {
                a.cursor_cost_ns = value("--cursor-cost-ns")?
                    .parse()
                    .map_err(|e| format!("--cursor-cost-ns: {e}"))?
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(a)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let server = FirestoreServer::builder()
        .port(args.port)
        .partition_query(args.partition_query)
        .truncate_timestamps(!args.keep_nanos)
        .pitr(args.pitr)
        .build()
        .start()
        .await;
    let server = match server {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "cannot listen on 127.0.0.1:{}: {e}; choose another --port",
                args.port
            );
            std::process::exit(1);
        }
    };
    let faults = server.faults();
    faults.latency(std::time::Duration::from_millis(args.latency_ms));
    faults.rate_limit(Some(args.rate_limit));
    faults.cursor_cost(std::time::Duration::from_nanos(args.cursor_cost_ns));
    if args.seed_demo {
        let db = match DatabaseId::default_database(args.demo_project.clone()) {
            Ok(db) => db,
            Err(e) => {
                eprintln!("--demo-project: {e}");
                std::process::exit(2);
            }
        };
        server.seed(sample::demo_database(&db, args.demo_docs));
    }
    println!("listening on {}", server.emulator_host());
    let _ = std::io::stdout().flush();
    let stdin_closed = async {
        if args.exit_on_stdin_eof {
            let _ = tokio::task::spawn_blocking(|| {
                let mut sink = Vec::new();
                let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
            })
            .await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
        _ = stdin_closed => {}
    }
    server.shutdown().await;
}
