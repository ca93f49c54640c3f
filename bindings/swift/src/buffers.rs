//! Encrypt and decrypt over caller-owned memory: a small hand-written C surface beside the
//! uniffi one (issue 20).
//!
//! uniffi 0.32 has no borrowed-slice type: every byte array is copied by the foreign side into
//! a fresh `RustBuffer` on the way in and out of one on the way back (docs/mobile.md). These
//! functions take pointers and lengths instead, so Kotlin (direct `ByteBuffer`s through JNA),
//! Swift (`withUnsafeBytes`) and Python (ctypes `from_buffer`) pass memory they own, and the
//! only pass over the data is the encryption itself. The thin wrappers live beside the
//! generated sources: `bindings/kotlin/src/main/kotlin`, `bindings/swift/Sources/Buffers`
//! (with the C header `include/firekeep_buffers.h`), `bindings/swift/tests/buffers.py`.
//!
//! Errors travel the way uniffi's own do: a `RustCallStatus` whose `error_buf` holds the
//! lowered [`FirekeepError`], so the wrappers lift it with the generated converter and raise
//! the same exception/enum as `encrypt`/`decrypt`. Options arrive as the lowered
//! `ObjectOptions` record (an empty buffer for none).
//!
//! Every pointer and length is checked before use (null with a non-zero length, a range that
//! wraps the address space or exceeds `isize::MAX`, a length this platform cannot hold); the
//! output must not overlap the key or the input; its capacity is checked before a byte is
//! written; a panic is caught before it can unwind into the caller; the key is copied into a
//! zeroizing [`SecretBytes`] and never appears in an error.

use std::panic::{AssertUnwindSafe, catch_unwind};

use firekeep_core::format;
use firekeep_core::secret::SecretBytes;
use uniffi::{Lift, LowerError, RustBuffer, RustCallStatus, RustCallStatusCode};

use crate::errors::{FirekeepError, Result, invalid, panic_message};
use crate::object_format::{ObjectOptions, WHOLE_OBJECT_THREADS, data_key, header_for};

/// Returned (with nothing done) when the status pointer itself is null: no error can be
/// reported without it.
pub const NO_STATUS: u64 = u64::MAX;

/// A caller-owned byte range, checked: `len` fits this platform and `isize::MAX`, `addr` is
/// non-null unless `len` is 0, and `addr + len` does not wrap.
#[derive(Clone, Copy, Debug)]
struct Span {
    addr: usize,
    len: usize,
}

impl Span {
    fn new(ptr: *const u8, len: u64, what: &str) -> Result<Span> {
        let len = usize::try_from(len)
            .ok()
            .filter(|&n| isize::try_from(n).is_ok())
            .ok_or_else(|| invalid(format!("{what}: a length of {len} bytes is too large")))?;
        let addr = ptr as usize;
        if addr == 0 && len != 0 {
            return Err(invalid(format!(
                "{what} is a null pointer with a length of {len} bytes"
            )));
        }
        if addr.checked_add(len).is_none() {
            return Err(invalid(format!(
                "{what}: the range wraps the address space"
            )));
        }
        Ok(Span { addr, len })
    }

    fn overlaps(&self, other: &Span) -> bool {
        self.len != 0
            && other.len != 0
            && self.addr < other.addr + other.len
            && other.addr < self.addr + self.len
    }

    /// # Safety
    /// The caller's contract (see the extern functions): `len` readable bytes at `addr`, not
    /// written by anyone during the call.
    unsafe fn bytes<'a>(&self) -> &'a [u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: non-null and within isize::MAX (checked in `new`); readable and unchanged
        // for the call by the caller's contract.
        unsafe { std::slice::from_raw_parts(self.addr as *const u8, self.len) }
    }

    /// The first `n` bytes (`n <= len`, checked by the caller), writable.
    ///
    /// # Safety
    /// The caller's contract: `len` writable, initialized bytes at `addr`, used by no one else
    /// during the call; and no other live slice overlaps them (checked by `refuse_overlap`).
    unsafe fn bytes_mut<'a>(&self, n: usize) -> &'a mut [u8] {
        debug_assert!(n <= self.len);
        if n == 0 {
            return &mut [];
        }
        // SAFETY: as `bytes`, plus exclusive: the output overlaps no input (checked).
        unsafe { std::slice::from_raw_parts_mut(self.addr as *mut u8, n) }
    }
}

fn refuse_overlap(output: &Span, input: &Span, what: &str) -> Result<()> {
    if output.overlaps(input) {
        return Err(invalid(format!(
            "the output buffer overlaps the {what}; use separate buffers"
        )));
    }
    Ok(())
}

/// The lowered `ObjectOptions` record, or none for an empty buffer. Takes ownership (the
/// foreign side allocated it with `rustbuffer_alloc`, as for any uniffi argument).
fn lift_options(options: RustBuffer) -> Result<Option<ObjectOptions>> {
    if options.is_empty() {
        options.destroy();
        return Ok(None);
    }
    <ObjectOptions as Lift<crate::UniFfiTag>>::try_lift(options)
        .map(Some)
        .map_err(|e| invalid(format!("the options could not be read: {e}")))
}

/// The data key from the caller's bytes, copied into zeroizing memory at once.
fn key_from(key: &Span) -> Result<SecretBytes> {
    // SAFETY: the caller's contract for `key`; the bytes are copied before anything is written.
    data_key(unsafe { key.bytes() }.to_vec())
}

/// Object length for `plaintext_len` bytes under `options`, overflow-checked (the core's
/// `sealed_len` works on `usize` of data that exists; this also answers for a file).
fn encrypted_len_of(plaintext_len: u64, options: Option<ObjectOptions>) -> Result<u64> {
    // The header's length does not depend on the key's value (its id has a fixed length):
    // a zero key sizes it.
    let sizing_key = SecretBytes::new(vec![0; format::DATA_KEY_LEN]);
    let header = header_for(&sizing_key, options)?;
    // Keeps ciphertext_len's u64 arithmetic far from overflow: the body is the plaintext plus
    // 16 bytes per segment of at least 4 KiB, plus a constant.
    if plaintext_len > u64::MAX / 2 {
        return Err(invalid(format!(
            "a plaintext of {plaintext_len} bytes is too large for one object"
        )));
    }
    format::object_len(&header, plaintext_len).map_err(Into::into)
}

/// Runs `f` behind `catch_unwind` and reports its error through `status` the way uniffi does
/// (`code` 1, `error_buf` = the lowered [`FirekeepError`], freed by the caller).
///
/// # Safety
/// `status` is null or points to a `RustCallStatus` the caller initialized (code 0, empty
/// buffer), as for every uniffi call.
unsafe fn call(status: *mut RustCallStatus, f: impl FnOnce() -> Result<u64>) -> u64 {
    // SAFETY: null or valid and exclusively ours for the call (the caller's contract).
    let Some(status) = (unsafe { status.as_mut() }) else {
        return NO_STATUS;
    };
    let result = catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| Err(panic_message(p)));
    match result {
        Ok(n) => n,
        Err(e) => {
            let buf = catch_unwind(AssertUnwindSafe(|| {
                <FirekeepError as LowerError<crate::UniFfiTag>>::lower_error(e)
            }));
            match buf {
                Ok(buf) => {
                    status.code = RustCallStatusCode::Error;
                    *status.error_buf = buf;
                }
                // Lowering a message cannot fail short of allocation failure; an empty buffer
                // is uniffi's own answer when even the panic message could not be built.
                Err(_) => status.code = RustCallStatusCode::UnexpectedError,
            }
            0
        }
    }
}

/// Encrypts `plaintext_len` bytes at `plaintext` into `out` (capacity `out_cap`) as one object,
/// as `encrypt` does; returns the object's length, [`encrypted_len`] of the plaintext length.
/// `options` is the lowered `ObjectOptions` record or an empty buffer for the defaults; it is
/// consumed. On error returns 0, sets `status` (code 1, the lowered `FirekeepError`) and the
/// output's contents are unspecified.
///
/// # Safety
/// Each pointer is null with a length of 0, or points to that many bytes that stay valid and
/// unchanged by anyone else for the call (`out`: writable, initialized memory, such as a
/// direct `ByteBuffer`, a `Data`, a `bytearray`). `status` is null (then nothing is done and
/// [`NO_STATUS`] returned) or an initialized `RustCallStatus`. `options` is a `RustBuffer`
/// from `ffi_firekeep_ffi_rustbuffer_alloc` or empty. Checked, not assumed: null pointers with
/// a length, wrapping ranges, an output that overlaps the key or the plaintext, a too-small
/// output.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn firekeep_ffi_encrypt_into(
    key: *const u8,
    key_len: u64,
    plaintext: *const u8,
    plaintext_len: u64,
    out: *mut u8,
    out_cap: u64,
    options: RustBuffer,
    status: *mut RustCallStatus,
) -> u64 {
    // SAFETY: `status` as documented; the closure relies on the documented contract.
    unsafe {
        call(status, || {
            let options = lift_options(options)?;
            let key = Span::new(key, key_len, "the key")?;
            let input = Span::new(plaintext, plaintext_len, "the plaintext")?;
            let output = Span::new(out.cast_const(), out_cap, "the output buffer")?;
            refuse_overlap(&output, &key, "key")?;
            refuse_overlap(&output, &input, "plaintext")?;
            let dek = key_from(&key)?;
            let header = header_for(&dek, options)?;
            let need = format::object_len(&header, plaintext_len)?;
            let need = usize::try_from(need)
                .ok()
                .filter(|&n| n <= output.len)
                .ok_or_else(|| too_small(output.len, need, "encryptedLen(plaintext length)"))?;
            // SAFETY: the caller's contract; `need <= output.len`, no overlap (checked above).
            let (src, dst) = (input.bytes(), output.bytes_mut(need));
            format::seal_into(&dek, &header, src, dst, WHOLE_OBJECT_THREADS)?;
            Ok(need as u64)
        })
    }
}

/// Decrypts the object of `object_len` bytes at `object` into `out` (capacity `out_cap`), as
/// `decrypt` does; returns the plaintext's length. An output as large as the object always
/// suffices (the plaintext is shorter). Another key fails with `KeyMismatch`, a changed byte
/// with `Integrity`; on error returns 0, sets `status`, and the first plaintext-length bytes
/// of the output are zeroed (no unverified plaintext is left behind).
///
/// # Safety
/// As [`firekeep_ffi_encrypt_into`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn firekeep_ffi_decrypt_into(
    key: *const u8,
    key_len: u64,
    object: *const u8,
    object_len: u64,
    out: *mut u8,
    out_cap: u64,
    status: *mut RustCallStatus,
) -> u64 {
    // SAFETY: `status` as documented; the closure relies on the documented contract.
    unsafe {
        call(status, || {
            let key = Span::new(key, key_len, "the key")?;
            let input = Span::new(object, object_len, "the object")?;
            let output = Span::new(out.cast_const(), out_cap, "the output buffer")?;
            refuse_overlap(&output, &key, "key")?;
            refuse_overlap(&output, &input, "object")?;
            let dek = key_from(&key)?;
            let src = input.bytes();
            let need = format::opened_len_for(&dek, src)?;
            if need > output.len {
                return Err(too_small(output.len, need as u64, "the object's length"));
            }
            // SAFETY: the caller's contract; `need <= output.len`, no overlap (checked above).
            format::open_into(&dek, src, output.bytes_mut(need), WHOLE_OBJECT_THREADS)?;
            Ok(need as u64)
        })
    }
}

fn too_small(have: usize, need: u64, hint: &str) -> FirekeepError {
    invalid(format!(
        "the output buffer holds {have} bytes; this needs {need} (allocate {hint})"
    ))
}

/// Length of the object `encrypt` (or `encryptInto`) makes of `plaintext_len` bytes under
/// `options`, so a caller can allocate the output exactly: the header plus the Tink
/// streaming body (a 40-byte stream header, and a 16-byte tag per segment).
#[uniffi::export]
pub fn encrypted_len(plaintext_len: u64, options: Option<ObjectOptions>) -> Result<u64> {
    crate::errors::guard(|| encrypted_len_of(plaintext_len, options))
}

#[cfg(test)]
mod tests {
    use super::*;
    use uniffi::Lower;

    const KEY: [u8; 32] = [7; 32];

    /// Calls the extern function as a foreign caller would; the error lifted back.
    fn encrypt_raw(
        key: (*const u8, u64),
        input: (*const u8, u64),
        out: (*mut u8, u64),
        options: Option<ObjectOptions>,
    ) -> Result<u64> {
        let options = match options {
            Some(o) => <ObjectOptions as Lower<crate::UniFfiTag>>::lower(o),
            None => RustBuffer::new(),
        };
        let mut status = RustCallStatus::default();
        // SAFETY: the tests pass live buffers (or deliberately bad pointers the function must
        // refuse before touching them).
        let n = unsafe {
            firekeep_ffi_encrypt_into(
                key.0,
                key.1,
                input.0,
                input.1,
                out.0,
                out.1,
                options,
                &mut status,
            )
        };
        lift_status(status, n)
    }

    fn decrypt_raw(
        key: (*const u8, u64),
        input: (*const u8, u64),
        out: (*mut u8, u64),
    ) -> Result<u64> {
        let mut status = RustCallStatus::default();
        // SAFETY: as in `encrypt_raw`.
        let n = unsafe {
            firekeep_ffi_decrypt_into(key.0, key.1, input.0, input.1, out.0, out.1, &mut status)
        };
        lift_status(status, n)
    }

    fn lift_status(status: RustCallStatus, n: u64) -> Result<u64> {
        match status.code {
            RustCallStatusCode::Success => Ok(n),
            RustCallStatusCode::Error => {
                assert_eq!(n, 0);
                let buf = std::mem::ManuallyDrop::into_inner(status.error_buf);
                Err(<FirekeepError as Lift<crate::UniFfiTag>>::try_lift(buf).unwrap())
            }
            other => panic!("unexpected status {other:?}"),
        }
    }

    fn s(b: &[u8]) -> (*const u8, u64) {
        (b.as_ptr(), b.len() as u64)
    }
    fn m(b: &mut [u8]) -> (*mut u8, u64) {
        (b.as_mut_ptr(), b.len() as u64)
    }

    fn message(r: Result<u64>) -> String {
        match r {
            Err(FirekeepError::InvalidInput { message }) => message,
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }

    fn opts() -> ObjectOptions {
        ObjectOptions {
            backup_id: "b1".into(),
            object_name: "part-7".into(),
            segment_size: 4096,
        }
    }

    #[test]
    fn round_trips_with_the_uniffi_functions_both_ways() {
        for len in [0usize, 1, 4096 - 57, 4096 - 56, 3 * 4096 + 5, 100_000] {
            let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let need = encrypted_len(len as u64, Some(opts())).unwrap() as usize;
            // A larger output than needed: the length written is returned.
            let mut out = vec![0u8; need + 9];
            let n = encrypt_raw(s(&KEY), s(&data), m(&mut out), Some(opts())).unwrap();
            assert_eq!(n as usize, need);
            assert_eq!(out[need..], [0; 9], "nothing written past the object");
            let back = crate::decrypt(KEY.to_vec(), out[..need].to_vec().into()).unwrap();
            assert_eq!(&*back, &data[..]);
            let info = crate::object_info(out[..need].to_vec().into()).unwrap();
            assert_eq!(
                (info.object_name.as_str(), info.segment_size),
                ("part-7", 4096)
            );

            let obj = crate::encrypt(KEY.to_vec(), data.clone().into(), None).unwrap();
            let mut plain = vec![0xAAu8; obj.len()]; // the object's length always suffices
            let n = decrypt_raw(s(&KEY), s(&obj), m(&mut plain)).unwrap();
            assert_eq!(&plain[..n as usize], &data[..]);
        }
    }

    #[test]
    fn encrypted_len_matches_encrypt_and_rejects_bad_input() {
        for len in [0u64, 1, 1 << 20, (1 << 20) + 1] {
            let obj = crate::encrypt(KEY.to_vec(), vec![1; len as usize].into(), None).unwrap();
            assert_eq!(encrypted_len(len, None).unwrap(), obj.len() as u64);
        }
        assert!(encrypted_len(u64::MAX, None).is_err());
        let bad = ObjectOptions {
            segment_size: 10,
            ..opts()
        };
        assert!(encrypted_len(1, Some(bad)).is_err());
    }

    #[test]
    fn refuses_null_pointers_with_a_length() {
        let data = [1u8; 10];
        let mut out = vec![0u8; 1000];
        let null = std::ptr::null::<u8>();
        let e = message(encrypt_raw((null, 32), s(&data), m(&mut out), None));
        assert!(e.contains("key is a null pointer"), "{e}");
        let e = message(encrypt_raw(s(&KEY), (null, 10), m(&mut out), None));
        assert!(e.contains("plaintext is a null pointer"), "{e}");
        let e = message(encrypt_raw(
            s(&KEY),
            s(&data),
            (std::ptr::null_mut(), 1000),
            None,
        ));
        assert!(e.contains("output buffer is a null pointer"), "{e}");
        let e = message(decrypt_raw(s(&KEY), (null, 5), m(&mut out)));
        assert!(e.contains("object is a null pointer"), "{e}");
        // Null with length 0 is an empty input.
        let n = encrypt_raw(s(&KEY), (null, 0), m(&mut out), None).unwrap();
        assert_eq!(n, encrypted_len(0, None).unwrap());
        // A null status: nothing is done.
        // SAFETY: all pointers are valid; only the status is null.
        let n = unsafe {
            firekeep_ffi_encrypt_into(
                KEY.as_ptr(),
                32,
                data.as_ptr(),
                10,
                out.as_mut_ptr(),
                1000,
                RustBuffer::new(),
                std::ptr::null_mut(),
            )
        };
        assert_eq!(n, NO_STATUS);
    }

    #[test]
    fn refuses_wrong_lengths_without_echoing_the_key() {
        let data = [1u8; 10];
        let mut out = vec![0u8; 1000];
        // A 31-byte key: InvalidInput, and the key's bytes are not in the message.
        let key31 = [0x5Au8; 31];
        let e = message(encrypt_raw(s(&key31), s(&data), m(&mut out), None));
        assert!(e.contains("exactly 32 bytes; got 31"), "{e}");
        assert!(!e.contains("5a") && !e.contains("90"), "{e}");
        // Lengths too large for the address space or that wrap.
        let e = message(encrypt_raw(
            s(&KEY),
            (data.as_ptr(), u64::MAX),
            m(&mut out),
            None,
        ));
        assert!(e.contains("too large"), "{e}");
        let high = usize::MAX - 4;
        let e = message(encrypt_raw(
            s(&KEY),
            (high as *const u8, 10),
            m(&mut out),
            None,
        ));
        assert!(e.contains("wraps"), "{e}");
    }

    #[test]
    fn refuses_a_too_small_output_before_writing() {
        let data = vec![3u8; 5000];
        let need = encrypted_len(5000, None).unwrap() as usize;
        let mut out = vec![0xEEu8; need - 1];
        let e = message(encrypt_raw(s(&KEY), s(&data), m(&mut out), None));
        assert!(
            e.contains(&format!("holds {} bytes; this needs {need}", need - 1)),
            "{e}"
        );
        assert!(out.iter().all(|&b| b == 0xEE), "nothing written");

        let obj = crate::encrypt(KEY.to_vec(), data.clone().into(), None).unwrap();
        let mut small = vec![0xEEu8; 4999];
        let e = message(decrypt_raw(s(&KEY), s(&obj), m(&mut small)));
        assert!(e.contains("this needs 5000"), "{e}");
        assert!(small.iter().all(|&b| b == 0xEE), "nothing written");
        let mut empty: [u8; 0] = [];
        assert!(decrypt_raw(s(&KEY), s(&obj), m(&mut empty)).is_err());
    }

    #[test]
    fn refuses_overlapping_input_and_output() {
        let need = encrypted_len(100, None).unwrap() as usize;
        let mut buf = vec![0u8; need + 100];
        buf[..32].copy_from_slice(&KEY);
        let p = buf.as_mut_ptr();
        // SAFETY: inside `buf`; the function must refuse these before using them.
        let tail = unsafe { p.add(need - 50) }.cast_const();
        let out = (p, need as u64);
        // The plaintext is the buffer's tail, the output its head: they overlap.
        let e = message(encrypt_raw(s(&KEY), (tail, 100), out, None));
        assert!(e.contains("overlaps the plaintext"), "{e}");
        // In place.
        let e = message(encrypt_raw(s(&KEY), (p.cast_const(), 100), out, None));
        assert!(e.contains("overlaps the plaintext"), "{e}");
        // The key inside the output.
        let e = message(encrypt_raw((p.cast_const(), 32), (tail, 0), out, None));
        assert!(e.contains("overlaps the key"), "{e}");
        // Adjacent is not overlapping: the plaintext right after the output.
        // SAFETY: inside `buf`.
        let after = unsafe { p.add(need) }.cast_const();
        assert!(encrypt_raw(s(&KEY), (after, 100), out, None).is_ok());
        // Decrypt with the plaintext written over the object: refused.
        let e = message(decrypt_raw(
            (after, 32),
            (p.cast_const(), need as u64),
            (p, 100),
        ));
        assert!(e.contains("overlaps the object"), "{e}");
    }

    #[test]
    fn errors_are_the_uniffi_error_kinds() {
        let obj = crate::encrypt(KEY.to_vec(), vec![9u8; 10_000].into(), None).unwrap();
        let mut out = vec![0u8; obj.len()];
        let other = [8u8; 32];
        match decrypt_raw(s(&other), s(&obj), m(&mut out)) {
            Err(FirekeepError::KeyMismatch {
                expected, actual, ..
            }) => assert_ne!(expected, actual),
            r => panic!("expected KeyMismatch, got {r:?}"),
        }
        let mut bad = obj.to_vec();
        let last = bad.len() - 20;
        bad[last] ^= 1;
        assert!(matches!(
            decrypt_raw(s(&KEY), s(&bad), m(&mut out)),
            Err(FirekeepError::Integrity { .. })
        ));
        assert!(out.iter().all(|&b| b == 0), "no unverified plaintext left");
        let bad_opts = ObjectOptions {
            segment_size: 1,
            ..opts()
        };
        let e = message(encrypt_raw(s(&KEY), s(&[1]), m(&mut out), Some(bad_opts)));
        assert!(e.contains("segment_size 1 is out of range"), "{e}");
    }

    #[test]
    fn a_panic_is_reported_not_unwound() {
        let mut status = RustCallStatus::default();
        // SAFETY: `status` is a valid, initialized status.
        let n = unsafe { call(&mut status, || panic!("inside")) };
        match lift_status(status, n) {
            Err(FirekeepError::Panic { message }) => assert!(message.contains("inside")),
            r => panic!("expected Panic, got {r:?}"),
        }
    }
}
