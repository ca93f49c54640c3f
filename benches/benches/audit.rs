//! Audit trail throughput: JSONL append with one fsync per batch of 100 events (events/s),
//! and chain verification (events/s).
//! Run: `cargo bench -p firekeep-benches --bench audit -- --warm-up-time 1 --measurement-time 3`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use firekeep_core::audit::{
    Actor, AuditAction, AuditEvent, AuditSink, EventResource, FsyncPolicy, JsonlAuditSink,
    MemoryAuditSink, verify_chain,
};
use futures::executor::block_on;
use std::hint::black_box;

fn event(i: usize) -> AuditEvent {
    let mut e = AuditEvent::new(
        AuditAction::BackupCreated,
        Actor {
            kind: "user".into(),
            id: format!("user{}", i % 50),
            email: Some(format!("user{}@example.com", i % 50)),
        },
        EventResource {
            kind: "backup".into(),
            id: format!("bk_{i}"),
        },
        "acme",
    );
    e.context.ip = Some("203.0.113.7".into());
    e.context.user_agent = Some("firekeep-cli/0.1.0".into());
    e.details.insert("documents".into(), (i * 31).into());
    e.details.insert("bytes".into(), (i * 4096).into());
    e.details.insert("project".into(), "prod".into());
    e
}

fn bench(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("firekeep-bench-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sink = JsonlAuditSink::open(dir.join("audit.jsonl"), FsyncPolicy::PerBatch).unwrap();
    let batch: Vec<AuditEvent> = (0..100).map(event).collect();
    let mut g = c.benchmark_group("audit");
    g.throughput(Throughput::Elements(100));
    g.bench_function("jsonl append, fsync per batch of 100", |b| {
        b.iter(|| block_on(sink.append(black_box(&batch))).unwrap())
    });

    let memory = MemoryAuditSink::new();
    let events: Vec<AuditEvent> = (0..10_000).map(event).collect();
    block_on(memory.append(&events)).unwrap();
    let chained = memory.events();
    g.throughput(Throughput::Elements(chained.len() as u64));
    g.sample_size(10);
    g.bench_function("verify_chain, 10000 events", |b| {
        b.iter(|| verify_chain(black_box(&chained), None).unwrap())
    });
    g.finish();
    std::fs::remove_dir_all(&dir).unwrap();
}

criterion_group!(benches, bench);
criterion_main!(benches);
