//! The Rust side of scripts/bench-ffi.sh: the rate of `firekeep_ffi::encrypt` called from
//! Rust (no FFI), best of N rounds, in MiB/s.
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let mib: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(64);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let mut data = vec![0u8; mib << 20];
    for (i, b) in data.iter_mut().enumerate() {
        *b = (i.wrapping_mul(2_654_435_761) >> 13) as u8;
    }
    let key = firekeep_ffi::generate_data_key();
    let mut best = f64::INFINITY;
    for _ in 0..rounds {
        // The FFI call takes its arguments by value; so does this one (same copies).
        let t = Instant::now();
        let obj = firekeep_ffi::encrypt(key.clone(), data.clone().into(), None).expect("encrypt");
        best = best.min(t.elapsed().as_secs_f64());
        std::hint::black_box(obj);
    }
    println!("{:.1}", mib as f64 / best);
}
