//! PBKDF2-HMAC-SHA256 at firekeep's default 600,000 iterations: the cost of opening a
//! passphrase-protected backup. `scripts/bench-pbkdf2.sh` runs this and times Python's
//! `hashlib.pbkdf2_hmac` (OpenSSL) with the same parameters for the ratio.

use criterion::{Criterion, criterion_group, criterion_main};
use firekeep_core::keys::{DEFAULT_PBKDF2_ITERATIONS, SALT_LEN, pbkdf2_hmac_sha256};
use std::hint::black_box;
use std::time::Duration;

/// The same inputs scripts/bench-pbkdf2.sh gives Python.
const PASSWORD: &[u8] = b"correct horse battery staple";
const SALT: [u8; SALT_LEN] = [7u8; SALT_LEN];

fn pbkdf2(c: &mut Criterion) {
    let mut group = c.benchmark_group("pbkdf2_hmac_sha256");
    // One derivation takes tens of milliseconds: a few samples are enough.
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    group.bench_function(DEFAULT_PBKDF2_ITERATIONS.to_string(), |b| {
        b.iter(|| {
            let mut out = [0u8; 32];
            pbkdf2_hmac_sha256(
                black_box(PASSWORD),
                black_box(&SALT),
                DEFAULT_PBKDF2_ITERATIONS,
                &mut out,
            );
            out
        })
    });
    group.finish();
}

criterion_group!(benches, pbkdf2);
criterion_main!(benches);
