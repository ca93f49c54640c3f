//! [`Bytes`]: a byte array crossing the FFI in one piece.
//!
//! uniffi 0.32 passes `Vec<u8>` as a `RustBuffer` holding an i32 length and the bytes, but its
//! generic `Vec<T>` converter lifts that buffer one element at a time (a bounds check and a push
//! per byte, into a new `Vec`) and lowers it the same way into a `Vec::new()` that grows by
//! doubling. On 64 MiB that costs several times the encryption itself (issue 20; profile in
//! docs/mobile.md). `Bytes` has the same wire form and the same metadata (`bytes` in Swift,
//! `ByteArray` in Kotlin, `bytes` in Python), so the generated foreign code does not change,
//! but it takes the foreign side's buffer as is (no copy: the length prefix is skipped by an
//! offset) and returns a buffer whose prefix was reserved when it was allocated (no copy either).

use std::ops::{Deref, DerefMut};

use uniffi::{FfiConverter, MetadataBuffer, RustBuffer, TypeId};

/// Bytes of the i32 length prefix in the serialized form.
const PREFIX: usize = 4;

/// A byte array for exported calls; derefs to `[u8]`. Build it from a `Vec<u8>` or with
/// [`Bytes::zeroed`] (which reserves the length prefix, so returning it copies nothing).
#[derive(Clone, Default)]
pub struct Bytes {
    buf: Vec<u8>,
    /// Where the bytes start in `buf`: 0, or [`PREFIX`] when the prefix is reserved.
    start: usize,
}

impl Bytes {
    /// `len` zero bytes, with the length prefix reserved in front.
    pub fn zeroed(len: usize) -> Bytes {
        Bytes {
            buf: vec![0; PREFIX + len],
            start: PREFIX,
        }
    }

    /// The bytes as a `Vec<u8>` (copies only if the prefix was reserved).
    pub fn into_vec(self) -> Vec<u8> {
        if self.start == 0 {
            self.buf
        } else {
            self.buf[self.start..].to_vec()
        }
    }

    fn into_rust_buffer(self) -> RustBuffer {
        let len = self.len();
        // A byte array is at most i32::MAX bytes on the wire (Kotlin and Swift sizes are i32).
        let n = i32::try_from(len).expect("a byte array over the FFI is at most 2 GiB - 1");
        let mut buf = if self.start == PREFIX {
            self.buf
        } else {
            let mut b = Vec::with_capacity(PREFIX + len);
            b.extend_from_slice(&[0; PREFIX]);
            b.extend_from_slice(&self.buf[self.start..]);
            b
        };
        buf[..PREFIX].copy_from_slice(&n.to_be_bytes());
        RustBuffer::from_vec(buf)
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(buf: Vec<u8>) -> Bytes {
        Bytes { buf, start: 0 }
    }
}

impl From<&[u8]> for Bytes {
    fn from(b: &[u8]) -> Bytes {
        Bytes::from(b.to_vec())
    }
}

impl From<Bytes> for Vec<u8> {
    fn from(b: Bytes) -> Vec<u8> {
        b.into_vec()
    }
}

impl Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}

impl DerefMut for Bytes {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..]
    }
}

impl PartialEq for Bytes {
    fn eq(&self, other: &Bytes) -> bool {
        **self == **other
    }
}

impl Eq for Bytes {}

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bytes({} bytes)", self.len())
    }
}

fn read_len(buf: &[u8]) -> uniffi::Result<usize> {
    let Some(prefix) = buf.get(..PREFIX) else {
        uniffi::deps::anyhow::bail!(
            "a byte array needs a 4-byte length; got {} bytes",
            buf.len()
        );
    };
    let n = i32::from_be_bytes(prefix.try_into().expect("4 bytes"));
    Ok(usize::try_from(n)?)
}

// SAFETY: the same wire form as uniffi's `Vec<u8>` (i32 big-endian length, then the bytes, in
// a RustBuffer), and the same metadata, so the generated foreign code reads and writes it as
// `bytes`; every length is checked before use.
unsafe impl FfiConverter<crate::UniFfiTag> for Bytes {
    type FfiType = RustBuffer;

    fn lower(obj: Bytes) -> RustBuffer {
        obj.into_rust_buffer()
    }

    fn try_lift(v: RustBuffer) -> uniffi::Result<Bytes> {
        let buf = v.destroy_into_vec();
        let n = read_len(&buf)?;
        if buf.len() - PREFIX != n {
            uniffi::deps::anyhow::bail!(
                "a byte array of {n} bytes arrived in a buffer of {} bytes",
                buf.len() - PREFIX
            );
        }
        Ok(Bytes { buf, start: PREFIX })
    }

    fn write(obj: Bytes, buf: &mut Vec<u8>) {
        let n = i32::try_from(obj.len()).expect("a byte array over the FFI is at most 2 GiB - 1");
        buf.extend_from_slice(&n.to_be_bytes());
        buf.extend_from_slice(&obj);
    }

    fn try_read(buf: &mut &[u8]) -> uniffi::Result<Bytes> {
        let n = read_len(buf)?;
        let Some(bytes) = buf.get(PREFIX..PREFIX + n) else {
            uniffi::deps::anyhow::bail!("a byte array of {n} bytes runs past its buffer");
        };
        let out = Bytes::from(bytes);
        *buf = &buf[PREFIX + n..];
        Ok(out)
    }

    const TYPE_ID_META: MetadataBuffer = <Vec<u8> as TypeId<crate::UniFfiTag>>::TYPE_ID_META;
}

uniffi::derive_ffi_traits!(impl Lower<crate::UniFfiTag> for Bytes);
uniffi::derive_ffi_traits!(impl Lift<crate::UniFfiTag> for Bytes);
uniffi::derive_ffi_traits!(impl LowerReturn<crate::UniFfiTag> for Bytes);
uniffi::derive_ffi_traits!(impl LiftReturn<crate::UniFfiTag> for Bytes);
uniffi::derive_ffi_traits!(impl LiftRef<crate::UniFfiTag> for Bytes);
uniffi::derive_ffi_traits!(impl TypeId<crate::UniFfiTag> for Bytes);

#[cfg(test)]
mod tests {
    use super::*;
    use uniffi::{Lift, Lower};

    fn wire(b: &[u8]) -> Vec<u8> {
        let mut v = (b.len() as i32).to_be_bytes().to_vec();
        v.extend_from_slice(b);
        v
    }

    #[test]
    fn lowers_and_lifts_like_vec_u8() {
        for data in [
            vec![],
            vec![7u8],
            (0..=255u8).cycle().take(100_000).collect(),
        ] {
            // Lowered: the same bytes as uniffi's Vec<u8>, from either constructor.
            let mut z = Bytes::zeroed(data.len());
            z.copy_from_slice(&data);
            for b in [Bytes::from(data.clone()), z] {
                let rb = <Bytes as Lower<crate::UniFfiTag>>::lower(b);
                assert_eq!(rb.destroy_into_vec(), wire(&data));
            }
            // Lifted from what the foreign side writes.
            let rb = RustBuffer::from_vec(wire(&data));
            let b = <Bytes as Lift<crate::UniFfiTag>>::try_lift(rb).unwrap();
            assert_eq!(&*b, &data[..]);
            assert_eq!(b.clone().into_vec(), data);
            // Serialized inside another buffer (records, options).
            let mut buf = vec![];
            <Bytes as Lower<crate::UniFfiTag>>::write(b, &mut buf);
            buf.push(9);
            let mut r = &buf[..];
            let back = <Bytes as Lift<crate::UniFfiTag>>::try_read(&mut r).unwrap();
            assert_eq!(back.into_vec(), data);
            assert_eq!(r, &[9]);
        }
    }

    #[test]
    fn refuses_wrong_lengths() {
        let lift = |v: Vec<u8>| {
            <Bytes as Lift<crate::UniFfiTag>>::try_lift(RustBuffer::from_vec(v)).map(|_| ())
        };
        assert!(lift(vec![0, 0]).is_err()); // no room for the length
        assert!(lift(vec![0, 0, 0, 3, 1, 2]).is_err()); // short
        assert!(lift(vec![0, 0, 0, 1, 1, 2]).is_err()); // junk after
        assert!(lift(vec![0xff, 0xff, 0xff, 0xff]).is_err()); // negative
        let mut r: &[u8] = &[0, 0, 0, 5, 1];
        assert!(<Bytes as Lift<crate::UniFfiTag>>::try_read(&mut r).is_err());
        let mut r: &[u8] = &[0x7f, 0xff, 0xff, 0xff, 1];
        assert!(<Bytes as Lift<crate::UniFfiTag>>::try_read(&mut r).is_err());
    }
}
