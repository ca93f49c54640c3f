//! Whole objects sealed and opened in memory by one process, printed as one JSON line of
//! MiB/s: the Rust side of the bindings' `encrypt`/`decrypt` comparisons.
//!
//! `object_bench [--mib 256] [--reps 9]`
//!
//! - `first`: the process's first `format::seal_into` on 2 threads into a newly allocated
//!   result (fresh pages: a fault per 4 KiB), allocation included;
//! - `into`: `seal_into` on 2 threads into that same buffer again (median of `reps`);
//! - `fresh`: `seal_into` on 2 threads into a new result each call, dropped after (median);
//! - `open_into`: `format::open_into` on 2 threads into one reused buffer (median);
//! - `stream_encrypt`: an `EncryptingWriter` fed the plaintext in 1 MiB chunks into
//!   `io::sink` (median; what criterion's `stream/fast/encrypt-from-memory` measures);
//! - `stream_decrypt`: a `DecryptingReader` over the sealed object in memory, each
//!   plaintext segment read and dropped (median; criterion's `stream/fast/decrypt`).
//!
//! `scripts/bench-node.sh` runs it alternately with the same measurements made from Node,
//! so that each pair is taken minutes apart at most: on a shared VM the cost of fresh
//! memory changes several-fold from one minute to the next, which a criterion run made
//! earlier would not see.

use firekeep_core::format::{self, ObjectHeader};
use firekeep_core::secret::SecretBytes;
use std::hint::black_box;
use std::io::Write;
use std::time::Instant;

/// Both sides use two threads: the bindings' whole-object calls do.
const THREADS: usize = 2;

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} takes a whole number, got {v}"))
        })
        .unwrap_or(default)
}

/// MiB/s of the median of `reps` runs of `f`.
fn median(mib: usize, reps: usize, mut f: impl FnMut()) -> f64 {
    let mut secs: Vec<f64> = (0..reps.max(1))
        .map(|_| {
            let t0 = Instant::now();
            f();
            t0.elapsed().as_secs_f64()
        })
        .collect();
    secs.sort_by(f64::total_cmp);
    mib as f64 / secs[secs.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mib = arg(&args, "--mib", 256);
    let reps = arg(&args, "--reps", 9);
    let len = mib << 20;
    let dek = SecretBytes::new((0..32).collect());
    // The header the bindings write when given no options.
    let header = ObjectHeader::new(&dek, "standalone", "object");
    let plaintext: Vec<u8> = (0..len).map(|i| (i * 31 + i / 4099) as u8).collect();
    let need = format::sealed_len(&header, len).expect("header encodes");

    let t0 = Instant::now();
    let mut sealed = vec![0u8; need];
    format::seal_into(&dek, &header, &plaintext, &mut sealed, THREADS).expect("seal");
    let first = mib as f64 / t0.elapsed().as_secs_f64();

    let into = median(mib, reps, || {
        format::seal_into(&dek, &header, &plaintext, &mut sealed, THREADS).expect("seal")
    });
    let fresh = median(mib, reps, || {
        let mut out = vec![0u8; need];
        format::seal_into(&dek, &header, &plaintext, &mut out, THREADS).expect("seal");
        black_box(out);
    });
    let mut opened = vec![0u8; len];
    format::open_into(&dek, &sealed, &mut opened, THREADS).expect("open");
    let open_into = median(mib, reps, || {
        format::open_into(&dek, &sealed, &mut opened, THREADS).expect("open");
    });
    assert!(opened == plaintext, "opened plaintext differs");
    // The streams: one thread, as the Node streams' Rust counterparts.
    let stream_encrypt = median(mib, reps, || {
        let mut w = format::EncryptingWriter::new(&dek, &header, std::io::sink()).expect("writer");
        for c in plaintext.chunks(1 << 20) {
            w.write_all(c).expect("write");
        }
        w.finish().expect("finish");
    });
    let stream_decrypt = median(mib, reps, || {
        let mut r = format::DecryptingReader::new(&dek, &sealed[..]).expect("reader");
        let mut total = 0;
        while let Some(p) = r.next_segment().expect("open") {
            total += black_box(p).len();
        }
        assert_eq!(total, len);
    });
    println!(
        "{}",
        serde_json::json!({
            "first": first, "into": into, "fresh": fresh, "open_into": open_into,
            "stream_encrypt": stream_encrypt, "stream_decrypt": stream_decrypt,
        })
    );
}
