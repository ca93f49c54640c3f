//! Round trips against the whole-object code, known answers, and misuse attempts.

use super::*;
use crate::format::{self, MIN_SEGMENT_SIZE};
use crate::keys::random_data_key;

fn small_header(dek: &SecretBytes) -> ObjectHeader {
    let mut h = ObjectHeader::new(dek, "b1", "part-000001");
    h.segment_size = MIN_SEGMENT_SIZE;
    h
}

/// Seals `data` segment by segment in one buffer per segment, as a binding does.
fn seal_by_segments(sealer: &SegmentSealer, data: &[u8]) -> Vec<u8> {
    let mut out = sealer.prefix().to_vec();
    let (mut at, mut index) = (0, 0);
    loop {
        let cap = sealer.plaintext_capacity(index);
        let n = cap.min(data.len() - at);
        let last = at + n == data.len();
        let mut buf = vec![0u8; cap + TAG_LEN];
        buf[..n].copy_from_slice(&data[at..at + n]);
        let seg = sealer.next_segment(n, last).unwrap();
        let sealed = sealer.seal(seg, &mut buf).unwrap();
        out.extend_from_slice(&buf[..sealed]);
        at += n;
        index += 1;
        if last {
            return out;
        }
    }
}

fn open_by_segments(dek: &SecretBytes, object: &[u8]) -> Result<Vec<u8>> {
    let plen = SegmentOpener::prefix_len(&object[..HEADER_PREFIX_LEN])?;
    let opener = SegmentOpener::new(dek, &object[..plen])?;
    let mut rest = &object[plen..];
    let (mut out, mut index) = (Vec::new(), 0);
    loop {
        let n = opener.segment_capacity(index).min(rest.len());
        let last = n == rest.len();
        let mut buf = rest[..n].to_vec();
        let seg = opener.next_segment(n, last)?;
        let p = opener.open(seg, &mut buf)?;
        out.extend_from_slice(&buf[..p]);
        rest = &rest[n..];
        index += 1;
        if last {
            return Ok(out);
        }
    }
}

#[test]
fn segments_make_the_object_the_whole_object_code_opens() {
    let dek = random_data_key();
    let h = small_header(&dek);
    let first = SegmentSealer::new(&dek, &h).unwrap().plaintext_capacity(0);
    let later = SegmentSealer::new(&dek, &h).unwrap().plaintext_capacity(1);
    for len in [
        0,
        1,
        first,
        first + 1,
        first + later,
        first + 3 * later + 17,
    ] {
        let data: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
        let object = seal_by_segments(&SegmentSealer::new(&dek, &h).unwrap(), &data);
        let (header, plain) = format::open(&dek, &object).unwrap();
        assert_eq!((header, &plain), (h.clone(), &data), "len {len}");
        assert_eq!(open_by_segments(&dek, &object).unwrap(), data, "len {len}");
        let whole = format::seal(&dek, &h, &data).unwrap();
        assert_eq!(open_by_segments(&dek, &whole).unwrap(), data, "len {len}");
    }
}

#[test]
fn a_known_stream_header_gives_the_same_bytes_by_segments_and_whole() {
    let dek = random_data_key();
    let h = small_header(&dek);
    let sh = StreamHeader {
        salt: vec![3; 32],
        nonce_prefix: [9; 7],
    };
    let data = vec![5u8; 10_000];
    let by_segments = seal_by_segments(
        &SegmentSealer::with_stream_header(&dek, &h, sh.clone()).unwrap(),
        &data,
    );
    let whole = SegmentSealer::with_stream_header(&dek, &h, sh).unwrap();
    let mut out = vec![0u8; whole.object_len(data.len())];
    whole.seal_whole_into(&data, &mut out, 2).unwrap();
    assert_eq!(by_segments, out);
}

#[test]
fn the_sealer_refuses_misuse() {
    let dek = random_data_key();
    let s = SegmentSealer::new(&dek, &small_header(&dek)).unwrap();
    let cap = s.plaintext_capacity(0);
    let mut buf = vec![0u8; cap + TAG_LEN];
    let msg = |r: Result<Segment>| r.unwrap_err().to_string();
    assert!(msg(s.next_segment(cap + 1, true)).contains("do not fit"));
    // Only the last segment may be short: a short one in the middle would shift
    // every later segment for a reader.
    assert!(msg(s.next_segment(cap - 1, false)).contains("exactly"));
    // A segment claimed from another object's sealer would repeat this one's index.
    let other = SegmentSealer::new(&dek, &small_header(&dek)).unwrap();
    let foreign = other.next_segment(cap, false).unwrap();
    assert!(
        s.seal(foreign, &mut buf)
            .unwrap_err()
            .to_string()
            .contains("another object")
    );
    let seg = s.next_segment(cap, false).unwrap();
    assert!(
        s.seal(seg, &mut buf[..cap])
            .unwrap_err()
            .to_string()
            .contains("needs a buffer")
    );
    // That segment index was counted even though its seal failed: never reused.
    assert!(msg(s.next_segment(0, true)).contains("empty"));
    let seg = s.next_segment(10, true).unwrap();
    assert_eq!(seg.index(), 1);
    assert_eq!(s.seal(seg, &mut buf).unwrap(), 10 + TAG_LEN);
    assert!(msg(s.next_segment(10, true)).contains("already processed"));
    let mut out = vec![0u8; s.object_len(1)];
    assert!(s.seal_whole_into(&[1], &mut out, 1).is_err());
    let fresh = SegmentSealer::new(&dek, &small_header(&dek)).unwrap();
    let mut short = vec![0u8; fresh.object_len(1) - 1];
    assert!(fresh.seal_whole_into(&[1], &mut short, 1).is_err());
}

#[test]
fn the_opener_detects_truncation_tampering_and_another_key() {
    let dek = random_data_key();
    let h = small_header(&dek);
    let data = vec![7u8; 3 * MIN_SEGMENT_SIZE as usize];
    let object = format::seal(&dek, &h, &data).unwrap();
    let plen = SegmentOpener::prefix_len(&object).unwrap();
    // Cut inside the last segment's tag, and right after a full segment.
    let full = plen
        + SegmentOpener::new(&dek, &object[..plen])
            .unwrap()
            .segment_capacity(0);
    for cut in [object.len() - 1, full, full + 5] {
        let err = open_by_segments(&dek, &object[..cut]).unwrap_err();
        assert!(matches!(err, Error::Integrity { .. }), "cut {cut}: {err}");
    }
    let mut bad = object.clone();
    bad[plen + 3] ^= 1;
    let err = open_by_segments(&dek, &bad).unwrap_err();
    assert!(matches!(err, Error::Integrity { .. }), "{err}");
    let err = SegmentOpener::new(&random_data_key(), &object[..plen])
        .err()
        .unwrap();
    assert!(matches!(err, Error::KeyMismatch { .. }), "{err}");
    assert!(SegmentOpener::prefix_len(&object[..3]).is_err());
    // A tag-short segment is reported as truncation, and nothing follows the last.
    let o = SegmentOpener::new(&dek, &object[..plen]).unwrap();
    assert!(matches!(
        o.next_segment(5, true),
        Err(Error::Integrity { .. })
    ));
    let o = SegmentOpener::new(&dek, &object[..plen]).unwrap();
    let seg = o.next_segment(TAG_LEN, true).unwrap();
    let mut buf = vec![0u8; TAG_LEN];
    assert!(o.open(seg, &mut buf).is_err());
    assert!(
        o.next_segment(TAG_LEN, true)
            .unwrap_err()
            .to_string()
            .contains("already")
    );
}
