//! Google's Node client (`@google-cloud/firestore`) checks the connector, both ways, on the
//! in-process Firestore server:
//!
//! 1. Node writes every value type, subcollections, a missing parent and a batch; the
//!    connector's read of that database must equal Node's own read (values, types, times).
//! 2. The connector writes firekeep's fidelity set and subcollections; Node must read back
//!    exactly what was written.
//!
//! Run by `scripts/test.d/35-firestore-connector-node.sh` after `npm ci` in `node-tests`.
//! Exits non-zero, printing the differences, when anything disagrees.

use firekeep_core::model::{DatabaseId, Document, DocumentPath, Timestamp, Value};
use firekeep_core::source::conformance::fidelity_fields;
use firekeep_core::source::{ConflictMode, FirestoreSource, FirestoreTarget, NameRange, Scope};
use firekeep_firestore::{ConnectorConfig, FirestoreConnector};
use firekeep_firestore_server::FirestoreServer;
use futures::TryStreamExt;
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

fn typed(v: &Value, db: &DatabaseId) -> Json {
    let bits = |x: f64| format!("{:016x}", x.to_bits());
    match v {
        Value::Null => json!({ "null": null }),
        Value::Boolean(b) => json!({ "bool": b }),
        Value::Integer(i) => json!({ "int": i.to_string() }),
        Value::Double(d) => json!({ "double": bits(*d) }),
        Value::Timestamp(t) => json!({ "ts": [t.seconds().to_string(), t.nanos()] }),
        Value::String(s) => json!({ "str": s }),
        Value::Bytes(b) => {
            json!({ "bytes": b.iter().map(|x| format!("{x:02x}")).collect::<String>() })
        }
        Value::Reference(r) => {
            let root = format!("{}/", db.documents_root());
            json!({ "ref": r.strip_prefix(&root).unwrap_or(r) })
        }
        Value::GeoPoint(g) => json!({ "geo": [bits(g.latitude), bits(g.longitude)] }),
        Value::Array(a) => json!({ "array": a.iter().map(|x| typed(x, db)).collect::<Vec<_>>() }),
        Value::Map(m) => json!({ "map": typed_fields(m, db) }),
    }
}

fn typed_fields(m: &BTreeMap<String, Value>, db: &DatabaseId) -> Json {
    Json::Object(m.iter().map(|(k, v)| (k.clone(), typed(v, db))).collect())
}

fn time(t: Option<Timestamp>) -> Json {
    let t = t.expect("read documents carry times");
    json!([t.seconds().to_string(), t.nanos()])
}

fn typed_doc(d: &Document, db: &DatabaseId, with_times: bool) -> (String, Json) {
    let (_, p) = d.path().expect("valid name");
    let mut j = json!({ "path": p.to_string(), "fields": typed_fields(&d.fields, db) });
    if with_times {
        j["create"] = time(d.create_time);
        j["update"] = time(d.update_time);
    }
    (p.to_string(), j)
}

fn node(dir: &PathBuf, host: &str, args: &[&str]) -> String {
    let out = Command::new("node")
        .arg("crosscheck.js")
        .args(args)
        .current_dir(dir)
        .env("FIRESTORE_EMULATOR_HOST", host)
        .output()
        .expect("run node (is Node.js installed?)");
    if !out.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        panic!("node crosscheck.js {args:?} failed");
    }
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn node_dump(dir: &PathBuf, host: &str, db: &str, with_times: bool) -> BTreeMap<String, Json> {
    node(dir, host, &["dump", db])
        .lines()
        .map(|l| {
            let mut j: Json = serde_json::from_str(l).expect("dump line is JSON");
            if !with_times {
                let o = j.as_object_mut().expect("object");
                o.remove("create");
                o.remove("update");
            }
            (j["path"].as_str().expect("path").to_string(), j)
        })
        .collect()
}

fn compare(what: &str, ours: &BTreeMap<String, Json>, theirs: &BTreeMap<String, Json>) -> bool {
    let mut ok = ours.keys().eq(theirs.keys());
    if !ok {
        eprintln!(
            "{what}: document sets differ\n connector: {:?}\n node:      {:?}",
            ours.keys().collect::<Vec<_>>(),
            theirs.keys().collect::<Vec<_>>()
        );
    }
    for (path, a) in ours {
        if let Some(b) = theirs.get(path)
            && a != b
        {
            ok = false;
            eprintln!("{what}: {path} differs\n connector: {a}\n node:      {b}");
        }
    }
    ok
}

async fn connector(host: &str, db: &DatabaseId) -> FirestoreConnector {
    FirestoreConnector::connect(ConnectorConfig::emulator(db.clone(), host))
        .await
        .expect("connect")
}

async fn read_typed(c: &FirestoreConnector, with_times: bool) -> BTreeMap<String, Json> {
    let rt = c.snapshot_time().await.expect("snapshot time");
    let db = FirestoreSource::database(c).clone();
    let docs: Vec<Document> = c
        .stream_documents(&Scope::database(), NameRange::all(), rt)
        .try_collect()
        .await
        .expect("connector read");
    docs.iter().map(|d| typed_doc(d, &db, with_times)).collect()
}

#[tokio::main]
async fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node-tests");
    let server = FirestoreServer::builder()
        .build()
        .start()
        .await
        .expect("start server");
    let host = server.emulator_host();
    let mut ok = true;

    // 1. Node writes, the connector reads.
    let node_db = DatabaseId::new("firekeep-node", "node-written").unwrap();
    node(&dir, &host, &["write", &node_db.database]);
    let ours = read_typed(&connector(&host, &node_db).await, true).await;
    let theirs = node_dump(&dir, &host, &node_db.database, true);
    ok &= compare("written by Node, read by the connector", &ours, &theirs);
    let ghost_children = ours.keys().filter(|p| p.starts_with("ghosts/g1/")).count();
    if ghost_children != 1 || ours.contains_key("ghosts/g1") || ours.len() != 65 {
        ok = false;
        eprintln!(
            "unexpected document set from Node's writes: {:?}",
            ours.keys()
        );
    }

    // 2. The connector writes, Node reads.
    let rust_db = DatabaseId::new("firekeep-node", "connector-written").unwrap();
    let c = connector(&host, &rust_db).await;
    let name = |p: &str| rust_db.document_name(&DocumentPath::parse(p).unwrap());
    let level = |n: i64| BTreeMap::from([("level".to_string(), Value::Integer(n))]);
    let mut docs = vec![
        Document::new(name("types/all"), fidelity_fields(&rust_db)),
        Document::new(name("a/a1"), level(0)),
        Document::new(name("a/a1/sub/s1"), level(1)),
        Document::new(name("a/a1/sub/s1/deep/d1"), level(2)),
        Document::new(name("a/ghost/sub/g1"), level(1)),
    ];
    for i in 0..60 {
        docs.push(Document::new(name(&format!("many/m{i:03}")), level(i)));
    }
    let written: BTreeMap<String, Json> =
        docs.iter().map(|d| typed_doc(d, &rust_db, false)).collect();
    let results = c
        .write_batch(docs, ConflictMode::FailIfExists)
        .await
        .expect("write");
    assert!(
        results
            .iter()
            .all(|r| r.outcome == firekeep_core::source::WriteOutcome::Written)
    );
    let theirs = node_dump(&dir, &host, &rust_db.database, false);
    ok &= compare("written by the connector, read by Node", &written, &theirs);
    let theirs_timed = node_dump(&dir, &host, &rust_db.database, true);
    ok &= compare(
        "create/update times of connector-written data",
        &read_typed(&c, true).await,
        &theirs_timed,
    );

    server.shutdown().await;
    if !ok {
        eprintln!("node cross-check FAILED");
        std::process::exit(1);
    }
    println!(
        "node cross-check passed: {} documents written by Node and {} by the connector agree",
        ours.len(),
        written.len()
    );
}
