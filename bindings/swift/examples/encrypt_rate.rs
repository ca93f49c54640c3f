//! The Rust side of scripts/bench-ffi.sh and scripts/bench-kotlin.sh: the rates of
//! `firekeep_ffi::encrypt` and of `firekeep_ffi_encrypt_into` called from Rust (no FFI), best
//! of N rounds each (the two alternate, so load changes hit both), in MiB/s, printed as
//! `encrypt=X into=Y`.
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
    let need = firekeep_ffi::encrypted_len(data.len() as u64, None).expect("length") as usize;
    // The caller-owned output, allocated once and reused, as the bindings' callers do.
    let mut out = vec![0u8; need];
    let (mut best, mut best_into) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..rounds {
        // The FFI call takes its arguments by value; so does this one (same copies).
        let t = Instant::now();
        let obj = firekeep_ffi::encrypt(key.clone(), data.clone().into(), None).expect("encrypt");
        best = best.min(t.elapsed().as_secs_f64());
        std::hint::black_box(obj);

        let t = Instant::now();
        let mut status = uniffi::RustCallStatus::default();
        // SAFETY: live buffers of the stated lengths; `out` overlaps neither input.
        let n = unsafe {
            firekeep_ffi::firekeep_ffi_encrypt_into(
                key.as_ptr(),
                key.len() as u64,
                data.as_ptr(),
                data.len() as u64,
                out.as_mut_ptr(),
                out.len() as u64,
                uniffi::RustBuffer::new(),
                &mut status,
            )
        };
        best_into = best_into.min(t.elapsed().as_secs_f64());
        assert!(status.code == uniffi::RustCallStatusCode::Success && n as usize == need);
        std::hint::black_box(&out);
    }
    println!(
        "encrypt={:.1} into={:.1}",
        mib as f64 / best,
        mib as f64 / best_into
    );
}
