//! `firekeep-gcp-kms-server`: the Cloud KMS test server as a process, for tests in other
//! languages (Google's Python client).
//!
//! Prints `listening on 127.0.0.1:PORT` once ready, then serves until killed or, with
//! `--exit-on-stdin-eof`, until its standard input closes. Keys are set up from arguments,
//! applied in order.

use firekeep_gcp_kms_server::{KmsServer, VersionState};
use std::io::Write;

const USAGE: &str = "usage: firekeep-gcp-kms-server [--port N] [--token T] [--key CRYPTO_KEY]... \
[--rotate CRYPTO_KEY]... [--disable VERSION]... [--destroy VERSION]... [--deny PREFIX]... \
[--exit-on-stdin-eof]";

enum Setup {
    Key(String),
    Rotate(String),
    State(String, VersionState),
    Deny(String),
}

fn main() {
    let mut port = 0u16;
    let mut token = None;
    let mut setup = Vec::new();
    let mut exit_on_eof = false;
    let mut it = std::env::args().skip(1);
    let fail = |msg: String| -> ! {
        eprintln!("{msg}\n{USAGE}");
        std::process::exit(2)
    };
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .unwrap_or_else(|| fail(format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--port" => {
                port = value()
                    .parse()
                    .unwrap_or_else(|e| fail(format!("--port: {e}")))
            }
            "--token" => token = Some(value()),
            "--key" => setup.push(Setup::Key(value())),
            "--rotate" => setup.push(Setup::Rotate(value())),
            "--disable" => setup.push(Setup::State(value(), VersionState::Disabled)),
            "--destroy" => setup.push(Setup::State(value(), VersionState::Destroyed)),
            "--deny" => setup.push(Setup::Deny(value())),
            "--exit-on-stdin-eof" => exit_on_eof = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return;
            }
            other => fail(format!("unknown argument {other:?}")),
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async move {
        let mut b = KmsServer::builder().port(port);
        if let Some(t) = token {
            b = b.require_token(t);
        }
        let server = b.build().start().await.unwrap_or_else(|e| {
            eprintln!("cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1)
        });
        for s in setup {
            match s {
                Setup::Key(k) => {
                    server.create_key(&k);
                }
                Setup::Rotate(k) => {
                    server.rotate(&k);
                }
                Setup::State(v, st) => server.set_state(&v, st),
                Setup::Deny(p) => server.deny(&p),
            }
        }
        println!("listening on {}", server.addr());
        let _ = std::io::stdout().flush();
        if exit_on_eof {
            // Blocking read of stdin until EOF (the parent closed it or exited).
            let _ = tokio::task::spawn_blocking(|| {
                let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
            })
            .await;
        } else {
            let _ = tokio::signal::ctrl_c().await;
        }
        server.shutdown().await;
    });
}
