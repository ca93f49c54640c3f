//! Properties of the object format: round trips through every reader, and every kind of
//! tampering (bit flips, truncation, dropped/reordered/duplicated segments, appended bytes,
//! swapped headers, wrong keys) is an error, never wrong plaintext.

use bytes::Bytes;
use firekeep_core::Error;
use firekeep_core::format::tink::{StreamHeader, TinkParams};
use firekeep_core::format::{
    self, Backend, Compression, DecryptingReader, EncryptingWriter, Encryptor, ObjectHeader,
    SegmentReader,
};
use firekeep_core::secret::SecretBytes;
use futures::StreamExt;
use proptest::prelude::*;
use std::io::{Read, Write};

fn dek(seed: u8) -> SecretBytes {
    SecretBytes::new(
        (0..32)
            .map(|i| seed.wrapping_mul(31).wrapping_add(i))
            .collect(),
    )
}

fn header(dek: &SecretBytes, name: &str, segment_size: u32) -> ObjectHeader {
    ObjectHeader {
        key_id: format::data_key_id(dek),
        backup_id: "bk-20260101T000000Z-abcd".into(),
        object_name: name.into(),
        compression: Compression::Zstd,
        segment_size,
    }
}

fn data(len: usize, seed: u64) -> Vec<u8> {
    // xorshift: cheap, deterministic, incompressible enough.
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A reader that hands out at most `chunk` bytes per call (exercises partial reads).
struct Chunked<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.chunk.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Result of decrypting through one path: `Ok(plaintext)` or the error plus whatever
/// plaintext was released before it.
type Outcome = Result<Vec<u8>, (Error, Vec<u8>)>;

fn via_open(dek: &SecretBytes, obj: &[u8]) -> Outcome {
    format::open(dek, obj)
        .map(|(_, p)| p)
        .map_err(|e| (e, Vec::new()))
}

fn via_reader(dek: &SecretBytes, obj: &[u8], chunk: usize) -> Outcome {
    let mut r = match DecryptingReader::new(dek, Chunked { data: obj, chunk }) {
        Ok(r) => r,
        Err(e) => return Err((e, Vec::new())),
    };
    let mut out = Vec::new();
    let mut buf = vec![0u8; 3000];
    loop {
        match r.read(&mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => return Err((format::from_io_error(e, "test"), out)),
        }
    }
}

fn via_stream(dek: &SecretBytes, obj: &[u8], chunk: usize) -> Outcome {
    let chunks: Vec<Result<Bytes, Error>> = obj
        .chunks(chunk.max(1))
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let mut s = format::decrypt_stream(dek, futures::stream::iter(chunks));
    let mut out = Vec::new();
    futures::executor::block_on(async {
        while let Some(item) = s.next().await {
            match item {
                Ok(b) => out.extend_from_slice(&b),
                Err(e) => return Err((e, out.clone())),
            }
        }
        Ok(out.clone())
    })
}

fn via_segments(dek: &SecretBytes, obj: &[u8]) -> Outcome {
    let r = match SegmentReader::new(dek, obj, obj.len() as u64) {
        Ok(r) => r,
        Err(e) => return Err((e, Vec::new())),
    };
    let mut out = Vec::new();
    // Decrypt in reverse order: each segment stands alone.
    let mut parts = Vec::new();
    for i in (0..r.segment_count()).rev() {
        let range = r.segment_range(i);
        match r.decrypt_segment(i, &obj[range.start as usize..range.end as usize]) {
            Ok(p) => {
                assert_eq!(
                    p.len() as u64,
                    r.plaintext_range(i).end - r.plaintext_range(i).start
                );
                parts.push(p)
            }
            Err(e) => return Err((e, Vec::new())),
        }
    }
    for p in parts.into_iter().rev() {
        out.extend_from_slice(&p);
    }
    assert_eq!(out.len() as u64, r.plaintext_len());
    Ok(out)
}

fn all_ways(dek: &SecretBytes, obj: &[u8]) -> Vec<(&'static str, Outcome)> {
    vec![
        ("open", via_open(dek, obj)),
        ("reader", via_reader(dek, obj, 7919)),
        ("reader-1MiB", via_reader(dek, obj, 1 << 20)),
        ("stream", via_stream(dek, obj, 1000)),
        ("segments", via_segments(dek, obj)),
    ]
}

fn assert_roundtrip(dek: &SecretBytes, obj: &[u8], plaintext: &[u8]) {
    for (how, outcome) in all_ways(dek, obj) {
        match outcome {
            Ok(p) => assert!(p == plaintext, "{how}: wrong plaintext ({} bytes)", p.len()),
            Err((e, _)) => panic!("{how}: {e}"),
        }
    }
}

/// Every path fails, and releases at most a prefix of the true plaintext.
fn assert_rejected(dek: &SecretBytes, obj: &[u8], plaintext: &[u8], what: &str) {
    for (how, outcome) in all_ways(dek, obj) {
        match outcome {
            Ok(p) => panic!(
                "{what}: {how} accepted a tampered object ({} bytes of plaintext, original {})",
                p.len(),
                plaintext.len()
            ),
            Err((_, released)) => assert!(
                plaintext.starts_with(&released),
                "{what}: {how} released plaintext that is not a prefix of the original"
            ),
        }
    }
}

fn fixed_stream_header(seed: u8) -> StreamHeader {
    StreamHeader {
        salt: (0..32).map(|i| i ^ seed).collect(),
        nonce_prefix: [seed; 7],
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Round trip through every reader, and the writer's output (any write chunking)
    /// equals the one-shot seal's for the same salt and nonce prefix, on every backend.
    #[test]
    fn round_trip(
        seg_pick in 0usize..4,
        segments in 0.0f64..3.5,
        extra in -2i64..3,
        write_chunk in 1usize..20000,
        seed in any::<u8>(),
    ) {
        let seg = [4096u32, 5000, 16384, 65536][seg_pick];
        let params = TinkParams::firekeep(seg);
        let len = ((segments * params.plaintext_segment_len() as f64) as i64 + extra).max(0) as usize;
        let k = dek(seed);
        let h = header(&k, "part-000001", seg);
        let pt = data(len, seed as u64 + 1);
        let sh = fixed_stream_header(seed);
        let sealed = format::seal_with(Backend::DEFAULT, &k, &h, &sh, &pt).unwrap();
        prop_assert_eq!(sealed.len() as u64, format::object_len(&h, len as u64).unwrap());
        assert_roundtrip(&k, &sealed, &pt);
        for &backend in Backend::all() {
            let again = format::seal_with(backend, &k, &h, &sh, &pt).unwrap();
            prop_assert!(again == sealed, "backend {:?} differs", backend);
            let enc = Encryptor::with_options(backend, &k, &h, &sh).unwrap();
            let mut w = EncryptingWriter::from_encryptor(enc, Vec::new());
            for c in pt.chunks(write_chunk) {
                w.write_all(c).unwrap();
            }
            let streamed = w.finish().unwrap();
            prop_assert!(streamed == sealed, "writer on {:?} differs from seal", backend);
            let (hh, p) = format::open_with(backend, &k, &sealed).unwrap();
            prop_assert_eq!(&hh, &h);
            prop_assert!(p == pt);
        }
        // Random salts: two seals of the same plaintext differ but both open.
        let a = format::seal(&k, &h, &pt).unwrap();
        let b = format::seal(&k, &h, &pt).unwrap();
        prop_assert!(a != b);
        prop_assert!(format::open(&k, &a).unwrap().1 == pt);
    }

    /// Truncation anywhere is an error in every reader.
    #[test]
    fn truncation_is_detected(len in 0usize..20000, cut_frac in 0.0f64..1.0) {
        let k = dek(3);
        let h = header(&k, "part-t", 4096);
        let pt = data(len, 9);
        let sealed = format::seal(&k, &h, &pt).unwrap();
        let cut = (cut_frac * sealed.len() as f64) as usize;
        assert_rejected(&k, &sealed[..cut], &pt, "truncation");
    }
}

/// Plaintext lengths at and around every segment boundary, small and 1 MiB segments.
#[test]
fn boundary_lengths_round_trip() {
    let k = dek(1);
    for seg in [4096u32, format::DEFAULT_SEGMENT_SIZE] {
        let p = TinkParams::firekeep(seg);
        let first = p.first_plaintext_len();
        let per = p.plaintext_segment_len();
        let mut lens = vec![0, 1, first - 1, first, first + 1];
        if seg == 4096 {
            for k in 1..4 {
                lens.extend([first + k * per - 1, first + k * per, first + k * per + 1]);
            }
        } else {
            lens.extend([3 << 20, first + 2 * per]);
        }
        for len in lens {
            let pt = data(len, len as u64);
            let obj = format::seal(&k, &header(&k, "p", seg), &pt).unwrap();
            assert_roundtrip(&k, &obj, &pt);
            let r = SegmentReader::new(&k, &obj, obj.len() as u64).unwrap();
            for i in 0..r.segment_count() {
                let pr = r.plaintext_range(i);
                if pr.start < pr.end {
                    assert_eq!(r.segment_for_offset(pr.start), i);
                    assert_eq!(r.segment_for_offset(pr.end - 1), i);
                }
            }
        }
    }
}

/// A small (two-segment) object: every single bit flip anywhere is rejected by every reader.
#[test]
fn every_bit_flip_is_rejected() {
    let k = dek(2);
    let h = header(&k, "part-flip", 4096);
    let pt = data(TinkParams::firekeep(4096).first_plaintext_len() + 60, 5);
    let obj = format::seal(&k, &h, &pt).unwrap();
    let mut tampered = obj.clone();
    for byte in 0..obj.len() {
        for bit in 0..8 {
            tampered[byte] ^= 1 << bit;
            assert!(
                format::open(&k, &tampered).is_err(),
                "open accepted flip at {byte}.{bit}"
            );
            assert!(
                via_reader(&k, &tampered, 1 << 20).is_err(),
                "reader accepted flip at {byte}.{bit}"
            );
            assert!(
                via_segments(&k, &tampered).is_err(),
                "segments accepted flip at {byte}.{bit}"
            );
            tampered[byte] ^= 1 << bit;
        }
    }
    // Streaming: every flip in the body, with the released-prefix check.
    let (_, hlen) = format::read_header(&obj).unwrap();
    for byte in (hlen..obj.len()).step_by(7) {
        tampered[byte] ^= 0x80;
        assert_rejected(&k, &tampered, &pt, "bit flip");
        tampered[byte] ^= 0x80;
    }
}

/// Splits an object into (prefix = header ‖ stream header, segments).
fn split(k: &SecretBytes, obj: &[u8]) -> (Vec<u8>, Vec<Vec<u8>>) {
    let r = SegmentReader::new(k, obj, obj.len() as u64).unwrap();
    let first = r.segment_range(0).start as usize;
    let segs = (0..r.segment_count())
        .map(|i| {
            let range = r.segment_range(i);
            obj[range.start as usize..range.end as usize].to_vec()
        })
        .collect();
    (obj[..first].to_vec(), segs)
}

fn join(prefix: &[u8], segs: &[Vec<u8>]) -> Vec<u8> {
    let mut out = prefix.to_vec();
    for s in segs {
        out.extend_from_slice(s);
    }
    out
}

#[test]
fn dropped_reordered_duplicated_segments_are_rejected() {
    let k = dek(4);
    let seg = 4096u32;
    let p = TinkParams::firekeep(seg);
    // Five segments, all full so that segment lengths cannot betray reordering.
    let len = p.first_plaintext_len() + 4 * p.plaintext_segment_len();
    let pt = data(len, 11);
    let obj = format::seal(&k, &header(&k, "part-seg", seg), &pt).unwrap();
    let (prefix, segs) = split(&k, &obj);
    assert_eq!(segs.len(), 5);
    assert_eq!(join(&prefix, &segs), obj);
    for i in 0..segs.len() {
        let mut dropped = segs.clone();
        dropped.remove(i);
        assert_rejected(&k, &join(&prefix, &dropped), &pt, &format!("drop {i}"));
        let mut dup = segs.clone();
        dup.insert(i, segs[i].clone());
        assert_rejected(&k, &join(&prefix, &dup), &pt, &format!("duplicate {i}"));
        for j in 0..segs.len() {
            if i != j && segs[i].len() == segs[j].len() {
                let mut swapped = segs.clone();
                swapped.swap(i, j);
                assert_rejected(&k, &join(&prefix, &swapped), &pt, &format!("swap {i} {j}"));
            }
        }
    }
    // The segment reader refuses a segment presented under another index.
    let r = SegmentReader::new(&k, &obj, obj.len() as u64).unwrap();
    assert!(r.decrypt_segment(2, &segs[3]).is_err());
    assert!(r.decrypt_segment(1, &segs[1]).is_ok());
}

#[test]
fn appended_bytes_are_rejected() {
    let k = dek(5);
    let seg = 4096u32;
    for len in [0usize, 100, 4040, 4041, 10000] {
        let pt = data(len, 13);
        let obj = format::seal(&k, &header(&k, "part-app", seg), &pt).unwrap();
        let (_, segs) = split(&k, &obj);
        let mut extras: Vec<Vec<u8>> = vec![vec![0], vec![0u8; 16], vec![0xAB; 17]];
        extras.push(segs.last().unwrap().clone());
        extras.push(vec![7u8; seg as usize]);
        for extra in extras {
            let mut o = obj.clone();
            o.extend_from_slice(&extra);
            assert_rejected(&k, &o, &pt, &format!("append {} to {len}", extra.len()));
        }
    }
}

#[test]
fn swapped_headers_are_rejected() {
    let k = dek(6);
    let pt = data(9000, 17);
    let a = format::seal(&k, &header(&k, "part-a", 4096), &pt).unwrap();
    let b = format::seal(&k, &header(&k, "part-b", 4096), &pt).unwrap();
    let mut other_backup = header(&k, "part-a", 4096);
    other_backup.backup_id = "bk-other".into();
    let c = format::seal(&k, &other_backup, &pt).unwrap();
    let (_, ha) = format::read_header(&a).unwrap();
    let (_, hb) = format::read_header(&b).unwrap();
    let (_, hc) = format::read_header(&c).unwrap();
    let mut a_head_b_body = a[..ha].to_vec();
    a_head_b_body.extend_from_slice(&b[hb..]);
    assert_rejected(&k, &a_head_b_body, &pt, "header of a, body of b");
    let mut c_head_a_body = c[..hc].to_vec();
    c_head_a_body.extend_from_slice(&a[ha..]);
    assert_rejected(&k, &c_head_a_body, &pt, "header of another backup");
    assert_roundtrip(&k, &a, &pt);
}

#[test]
fn wrong_key_is_reported_by_key_id() {
    let k = dek(7);
    let other = dek(8);
    let h = header(&k, "part-k", 4096);
    let obj = format::seal(&k, &h, b"secret rows").unwrap();
    let expect = |e: Error| match e {
        Error::KeyMismatch { expected, actual } => {
            assert_eq!(expected, h.key_id);
            assert_eq!(actual, format::data_key_id(&other));
        }
        e => panic!("expected KeyMismatch, got {e}"),
    };
    expect(format::open(&other, &obj).unwrap_err());
    expect(DecryptingReader::new(&other, &obj[..]).err().unwrap());
    expect(
        SegmentReader::new(&other, &obj, obj.len() as u64)
            .err()
            .unwrap(),
    );
    expect(via_stream(&other, &obj, 5).unwrap_err().0);
    // Sealing under a header that names another key is refused too.
    expect(format::seal(&other, &h, b"x").unwrap_err());
    // A forged key id does not help: the body still fails its tags.
    let mut forged = h.clone();
    forged.key_id = format::data_key_id(&other);
    let (_, hlen) = format::read_header(&obj).unwrap();
    let mut o = forged.to_bytes().unwrap();
    o.extend_from_slice(&obj[hlen..]);
    assert!(matches!(
        format::open(&other, &o),
        Err(Error::Integrity { .. })
    ));
}

#[test]
fn header_round_trips_and_rejects_garbage() {
    let k = dek(9);
    let mut h = header(&k, "manifest", format::MAX_SEGMENT_SIZE);
    h.compression = Compression::None;
    let bytes = h.to_bytes().unwrap();
    assert_eq!(&bytes[..5], b"FKEEP");
    assert_eq!(
        format::read_header(&bytes).unwrap(),
        (h.clone(), bytes.len())
    );
    assert!(format::read_header(&bytes[..bytes.len() - 1]).is_err());
    assert!(format::read_header(b"PK\x03\x04 not ours").is_err());
    for bad in [format::MIN_SEGMENT_SIZE - 1, format::MAX_SEGMENT_SIZE + 1] {
        h.segment_size = bad;
        assert!(matches!(
            format::seal(&k, &h, b""),
            Err(Error::InvalidInput(_))
        ));
    }
    let id = format::data_key_id(&k);
    assert!(id.starts_with("dek-") && id.len() == 20, "{id}");
    assert_ne!(id, format::data_key_id(&dek(10)));
    assert!(matches!(
        format::open(
            &SecretBytes::new(vec![1; 16]),
            &format::seal(&k, &header(&k, "x", 4096), b"").unwrap()
        ),
        Err(Error::InvalidInput(_))
    ));
}

#[test]
fn async_encrypt_stream_round_trips() {
    let k = dek(12);
    let h = header(&k, "part-async", 4096);
    let pt = data(50_000, 23);
    let chunks: Vec<Result<Bytes, Error>> = pt
        .chunks(3333)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let s = format::encrypt_stream(&k, &h, futures::stream::iter(chunks)).unwrap();
    let pieces: Vec<Bytes> = futures::executor::block_on(s.map(|r| r.unwrap()).collect());
    let obj: Vec<u8> = pieces.concat();
    assert_roundtrip(&k, &obj, &pt);
    // A failing input ends the output with that error, and no last segment is written.
    let failing =
        futures::stream::iter(vec![Ok(Bytes::from_static(b"abc")), Err(Error::Cancelled)]);
    let s = format::encrypt_stream(&k, &h, failing).unwrap();
    let items: Vec<Result<Bytes, Error>> = futures::executor::block_on(s.collect());
    assert!(matches!(items.last(), Some(Err(Error::Cancelled))));
    let partial: Vec<u8> = items.into_iter().filter_map(|r| r.ok()).flatten().collect();
    assert!(format::open(&k, &partial).is_err());
}

#[test]
fn dropped_writer_leaves_an_unreadable_object() {
    let k = dek(13);
    let h = header(&k, "part-drop", 4096);
    let mut out = Vec::new();
    {
        let mut w = EncryptingWriter::new(&k, &h, &mut out).unwrap();
        w.write_all(&data(20_000, 1)).unwrap();
        // Dropped without finish(): the last segment is never written.
    }
    assert!(!out.is_empty());
    assert!(format::open(&k, &out).is_err());
    assert!(via_reader(&k, &out, 4096).is_err());
}

/// Truncation exactly at, just before and just after every segment boundary.
#[test]
fn truncation_at_and_between_boundaries_is_rejected() {
    let k = dek(14);
    for seg in [4096u32, 5000] {
        let p = TinkParams::firekeep(seg);
        for len in [
            p.first_plaintext_len(),
            p.first_plaintext_len() + 2 * p.plaintext_segment_len(),
            p.first_plaintext_len() + 2 * p.plaintext_segment_len() + 100,
        ] {
            let pt = data(len, 29);
            let obj = format::seal(&k, &header(&k, "part-cut", seg), &pt).unwrap();
            let r = SegmentReader::new(&k, &obj, obj.len() as u64).unwrap();
            for i in 0..r.segment_count() {
                let range = r.segment_range(i);
                for cut in [range.start, range.start + 1, range.end - 1, range.end] {
                    let cut = cut as usize;
                    if cut < obj.len() {
                        assert_rejected(&k, &obj[..cut], &pt, &format!("cut at {cut} (seg {i})"));
                    }
                }
            }
        }
    }
}

/// `seal_into`/`open_into` on any number of threads: byte for byte what one thread
/// writes (same stream header), readable by `open`, and the parallel open rejects a
/// tampered segment in any run, zeroing its output.
#[test]
fn seal_into_and_open_into_match_single_thread_on_any_thread_count() {
    let k = dek(9);
    let params = TinkParams::firekeep(4096);
    let sh = StreamHeader {
        salt: vec![3; 32],
        nonce_prefix: [4; 7],
    };
    let first = params.first_plaintext_len();
    let per = params.plaintext_segment_len();
    for len in [
        0,
        1,
        first - 1,
        first,
        first + 1,
        first + per,
        first + 9 * per + 7,
    ] {
        let pt = data(len, len as u64 + 1);
        let one =
            format::tink::encrypt(Backend::DEFAULT, &params, k.expose(), b"aad", &sh, &pt).unwrap();
        for threads in [1, 2, 3, 7] {
            let mut out = vec![0xAA; one.len()];
            format::tink::encrypt_into(
                Backend::DEFAULT,
                &params,
                k.expose(),
                b"aad",
                &sh,
                &pt,
                &mut out,
                threads,
            )
            .unwrap();
            assert_eq!(out, one, "len {len}, {threads} threads");
            let mut back = vec![0x55; len];
            format::tink::decrypt_into(
                Backend::DEFAULT,
                &params,
                k.expose(),
                b"aad",
                &one,
                &mut back,
                threads,
            )
            .unwrap();
            assert_eq!(back, pt, "len {len}, {threads} threads");
        }
    }

    // Whole objects: sealed on 3 threads, opened by `open` and by `open_into`.
    let h = header(&k, "part-000009", 4096);
    let pt = data(first + 12 * per + 100, 77);
    let mut obj = vec![0; format::sealed_len(&h, pt.len()).unwrap()];
    format::seal_into(&k, &h, &pt, &mut obj, 3).unwrap();
    assert_eq!(format::open(&k, &obj).unwrap().1, pt);
    let (got_header, n) = format::opened_len(&obj).unwrap();
    assert_eq!((got_header, n), (h.clone(), pt.len()));
    let mut back = vec![0; n];
    assert_eq!(format::open_into(&k, &obj, &mut back, 2).unwrap(), h);
    assert_eq!(back, pt);

    // A flipped byte in the last segment (the second thread's run) fails, names the
    // object and segment, and leaves no plaintext behind.
    let mut bad = obj.clone();
    let at = bad.len() - 30;
    bad[at] ^= 1;
    let mut out = vec![0x11; n];
    match format::open_into(&k, &bad, &mut out, 2) {
        Err(Error::Integrity { object, detail }) => {
            assert_eq!(object, "part-000009");
            assert!(detail.contains("segment 13"), "{detail}");
        }
        other => panic!("expected an integrity error, got {other:?}"),
    }
    assert!(
        out.iter().all(|&b| b == 0),
        "output not zeroed after a failed open"
    );

    // Wrong lengths are refused before anything is written; another key is named first.
    let mut short = vec![0; obj.len() - 1];
    assert!(matches!(
        format::seal_into(&k, &h, &pt, &mut short, 2),
        Err(Error::InvalidInput(m)) if m.contains("sealed_len")
    ));
    let mut short = vec![0; n - 1];
    assert!(matches!(
        format::open_into(&k, &obj, &mut short, 2),
        Err(Error::InvalidInput(m)) if m.contains("plaintext_len")
    ));
    assert!(matches!(
        format::open_into(&dek(10), &obj, &mut back, 2),
        Err(Error::KeyMismatch { .. })
    ));
}
