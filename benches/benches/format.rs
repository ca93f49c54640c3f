//! Object-format throughput: encrypting and decrypting a 256 MiB stream, against the same
//! backend's one-shot AES-256-GCM on 1 MiB buffers, measured in the same run.
//!
//! `cargo bench -p firekeep-benches --bench format -- --warm-up-time 1 --measurement-time 3`
//! Ratios to report: `stream/<backend>/encrypt` ÷ `oneshot/<backend>/seal`, and
//! `stream/<backend>/decrypt` ÷ `oneshot/<backend>/open` (in-cache buffer) and ÷
//! `stream/<backend>/oneshot-open-from-memory` (same 256 MiB in memory, so the same DRAM
//! traffic: this isolates the format's own overhead).

use aes_gcm::aead::{AeadInOut, KeyInit};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use firekeep_core::format::tink::StreamHeader;
use firekeep_core::format::{
    self, Backend, Compression, DecryptingReader, EncryptingWriter, Encryptor, ObjectHeader,
};
use firekeep_core::secret::SecretBytes;
use std::hint::black_box;
use std::io::Write;

const MIB: usize = 1 << 20;
const STREAM: usize = 256 * MIB;

fn setup() -> (SecretBytes, ObjectHeader, StreamHeader) {
    let dek = SecretBytes::new((0..32).collect());
    let header = ObjectHeader {
        key_id: format::data_key_id(&dek),
        backup_id: "bench".into(),
        object_name: "part-000001".into(),
        compression: Compression::None,
        segment_size: format::DEFAULT_SEGMENT_SIZE,
    };
    let sh = StreamHeader {
        salt: vec![1; 32],
        nonce_prefix: [2; 7],
    };
    (dek, header, sh)
}

fn oneshot(c: &mut Criterion) {
    let key = [7u8; 32];
    let nonce = [9u8; 12];
    let mut buf = vec![0x5au8; MIB];
    let mut g = c.benchmark_group("oneshot");
    g.sample_size(20);
    g.throughput(Throughput::Bytes(MIB as u64));

    let ring_key = ring::aead::LessSafeKey::new(
        ring::aead::UnboundKey::new(&ring::aead::AES_256_GCM, &key).unwrap(),
    );
    g.bench_function("fast/seal", |b| {
        b.iter(|| {
            let n = ring::aead::Nonce::assume_unique_for_key(nonce);
            let tag = ring_key
                .seal_in_place_separate_tag(n, ring::aead::Aad::empty(), &mut buf)
                .unwrap();
            let _ = black_box(tag);
        })
    });
    // Opening needs a valid tag: keep one ciphertext and decrypt a copy each time (the
    // copy is ~1/30 of the work; it only makes the baseline slower, i.e. harder to beat).
    let n = ring::aead::Nonce::assume_unique_for_key(nonce);
    let tag: ring::aead::Tag = ring_key
        .seal_in_place_separate_tag(n, ring::aead::Aad::empty(), &mut buf)
        .unwrap();
    let ct = buf.clone();
    g.bench_function("fast/open", |b| {
        b.iter(|| {
            buf.copy_from_slice(&ct);
            let n = ring::aead::Nonce::assume_unique_for_key(nonce);
            black_box(
                ring_key
                    .open_in_place_separate_tag(n, ring::aead::Aad::empty(), tag, &mut buf, 0..)
                    .unwrap(),
            );
        })
    });

    let rc = aes_gcm::Aes256Gcm::new_from_slice(&key).unwrap();
    g.bench_function("portable/seal", |b| {
        b.iter(|| {
            black_box(
                rc.encrypt_inout_detached((&nonce).into(), &[], buf.as_mut_slice().into())
                    .unwrap(),
            );
        })
    });
    let rc_tag = rc
        .encrypt_inout_detached((&nonce).into(), &[], buf.as_mut_slice().into())
        .unwrap();
    let rc_ct = buf.clone();
    g.bench_function("portable/open", |b| {
        b.iter(|| {
            buf.copy_from_slice(&rc_ct);
            rc.decrypt_inout_detached((&nonce).into(), &[], buf.as_mut_slice().into(), &rc_tag)
                .unwrap();
            black_box(&buf);
        })
    });
    g.finish();
}

fn stream(c: &mut Criterion) {
    let (dek, header, sh) = setup();
    let chunk = vec![0x5au8; MIB];
    // Both backends write identical bytes, so one ciphertext serves both decrypt benches.
    let object = {
        let enc = Encryptor::with_options(Backend::DEFAULT, &dek, &header, &sh).unwrap();
        let mut w = EncryptingWriter::from_encryptor(enc, Vec::with_capacity(STREAM + MIB));
        for _ in 0..STREAM / MIB {
            w.write_all(&chunk).unwrap();
        }
        w.finish().unwrap()
    };

    // Same-source baseline: 256 one-shot 1 MiB ciphertexts in memory, each copied into a
    // working buffer and opened, so the data crosses DRAM exactly as the stream's does.
    let key = [7u8; 32];
    let ring_key = ring::aead::LessSafeKey::new(
        ring::aead::UnboundKey::new(&ring::aead::AES_256_GCM, &key).unwrap(),
    );
    let rc = aes_gcm::Aes256Gcm::new_from_slice(&key).unwrap();
    let nonce = |i: usize| {
        let mut n = [0u8; 12];
        n[..8].copy_from_slice(&(i as u64).to_be_bytes());
        n
    };
    let mut sealed = Vec::with_capacity(STREAM);
    let mut tags = Vec::new();
    for i in 0..STREAM / MIB {
        let start = sealed.len();
        sealed.extend_from_slice(&chunk);
        let n = ring::aead::Nonce::assume_unique_for_key(nonce(i));
        let tag = ring_key
            .seal_in_place_separate_tag(n, ring::aead::Aad::empty(), &mut sealed[start..])
            .unwrap();
        tags.push(tag);
    }

    // Distinct plaintext for encrypt-from-memory (xorshift, so not all one byte).
    let plaintext: Vec<u8> = {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        (0..STREAM / 8)
            .flat_map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x.to_le_bytes()
            })
            .collect()
    };

    let mut g = c.benchmark_group("stream");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(STREAM as u64));
    let mut buf = vec![0u8; MIB];
    g.bench_function("fast/oneshot-open-from-memory", |b| {
        b.iter(|| {
            for (i, ct) in sealed.chunks(MIB).enumerate() {
                buf.copy_from_slice(ct);
                let n = ring::aead::Nonce::assume_unique_for_key(nonce(i));
                black_box(
                    ring_key
                        .open_in_place_separate_tag(
                            n,
                            ring::aead::Aad::empty(),
                            tags[i],
                            &mut buf,
                            0..,
                        )
                        .unwrap(),
                );
            }
        })
    });
    g.bench_function("portable/oneshot-open-from-memory", |b| {
        b.iter(|| {
            for (i, ct) in sealed.chunks(MIB).enumerate() {
                buf.copy_from_slice(ct);
                let tag: [u8; 16] = tags[i].as_ref().try_into().unwrap();
                rc.decrypt_inout_detached(
                    (&nonce(i)).into(),
                    &[],
                    buf.as_mut_slice().into(),
                    (&tag).into(),
                )
                .unwrap();
                black_box(&buf);
            }
        })
    });
    for &backend in Backend::all() {
        let name = match backend {
            Backend::Portable => "portable",
            _ => "fast",
        };
        g.bench_function(format!("{name}/encrypt"), |b| {
            b.iter(|| {
                let enc = Encryptor::with_options(backend, &dek, &header, &sh).unwrap();
                let mut w = EncryptingWriter::from_encryptor(enc, std::io::sink());
                for _ in 0..STREAM / MIB {
                    w.write_all(&chunk).unwrap();
                }
                w.finish().unwrap();
            })
        });
        // The same 256 MiB as distinct bytes in memory (not one cache-resident 1 MiB chunk
        // written 256 times): the baseline for callers that stream a large in-memory or
        // file source, such as the Python and Node packages' encrypt.
        g.bench_function(format!("{name}/encrypt-from-memory"), |b| {
            b.iter(|| {
                let enc = Encryptor::with_options(backend, &dek, &header, &sh).unwrap();
                let mut w = EncryptingWriter::from_encryptor(enc, std::io::sink());
                for c in plaintext.chunks(MIB) {
                    w.write_all(c).unwrap();
                }
                w.finish().unwrap();
            })
        });
        g.bench_function(format!("{name}/decrypt"), |b| {
            b.iter(|| {
                let mut r = DecryptingReader::with_backend(backend, &dek, &object[..]).unwrap();
                let mut total = 0usize;
                while let Some(p) = r.next_segment().unwrap() {
                    total += black_box(p).len();
                }
                assert_eq!(total, STREAM);
            })
        });
    }
    g.finish();
}

/// Whole objects in memory, the API the Python, Node and Swift/Kotlin `encrypt`/`decrypt`
/// call (`format::seal_into`/`open_into`): the Rust baselines for those packages.
/// `seal_into`/`open_into` write into one reused 256 MiB buffer (the best a Rust caller can
/// do); `seal` and `2-thread-fresh-result` allocate their result each time (fresh pages
/// from the kernel: what a first call costs).
fn object(c: &mut Criterion) {
    let (dek, header, _) = setup();
    let plaintext: Vec<u8> = (0..STREAM).map(|i| (i * 31 + i / 4099) as u8).collect();
    let mut sealed = vec![0u8; format::sealed_len(&header, STREAM).unwrap()];
    let mut opened = vec![0u8; STREAM];
    let mut g = c.benchmark_group("object");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(STREAM as u64));
    for threads in [1, 2] {
        g.bench_function(format!("seal_into/{threads}-thread"), |b| {
            b.iter(|| format::seal_into(&dek, &header, &plaintext, &mut sealed, threads).unwrap())
        });
    }
    g.bench_function("seal/fresh-result", |b| {
        b.iter(|| black_box(format::seal(&dek, &header, &plaintext).unwrap()))
    });
    g.bench_function("seal_into/2-thread-fresh-result", |b| {
        b.iter(|| {
            let mut out = vec![0u8; sealed.len()];
            format::seal_into(&dek, &header, &plaintext, &mut out, 2).unwrap();
            black_box(out)
        })
    });
    for threads in [1, 2] {
        g.bench_function(format!("open_into/{threads}-thread"), |b| {
            b.iter(|| format::open_into(&dek, &sealed, &mut opened, threads).unwrap())
        });
    }
    g.finish();
    assert_eq!(opened, plaintext);
}

criterion_group!(benches, oneshot, stream, object);
criterion_main!(benches);
