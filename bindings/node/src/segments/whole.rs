//! Whole buffers: `encrypt`/`decrypt` into pooled results, `encryptInto`/`decryptInto` into
//! buffers the caller owns.

use crate::errors::{CoreResult, js_err, range_err};
use crate::object_format::{ObjectOptions, data_key, header_for};
use crate::runtime::spawn;
use crate::segments::{PARALLEL_MIN_SEGMENTS, POOL_MIN, run_cpu};
use firekeep_core::format::{self};
use firekeep_core::secret::SecretBytes;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A result buffer of `len` bytes (contents unspecified: every byte is overwritten).
///
/// Fresh memory is what a large result costs most: the kernel zeroes and maps every page
/// on first write (here that runs at about the speed of the cipher). So a result JS has
/// let go of is kept a moment ([`give_back`]) and reused by the next call of a similar
/// size; otherwise calloc takes a fresh mmap'd block without writing it.
pub(crate) fn output(len: usize) -> Vec<u8> {
    if len >= POOL_MIN {
        if let Some(v) = take_spare(len) {
            return v;
        }
    }
    // Pooled blocks get ~3% headroom, so that an object and its plaintext (a little
    // smaller) can take turns in the same block. Untouched headroom costs no memory.
    let cap = if len >= POOL_MIN {
        (len + len / 32).next_multiple_of(1 << 20)
    } else {
        len
    };
    let mut v = vec![0u8; cap];
    v.truncate(len);
    v
}

/// Freed large results, newest last, with when they were freed.
pub(crate) static SPARES: Mutex<Vec<(Vec<u8>, Instant)>> = Mutex::new(Vec::new());
/// How many freed results are kept, and for how long: enough for a loop of calls, short
/// enough that an idle process gives the memory back.
pub(crate) const SPARES_MAX: usize = 2;
pub(crate) const SPARE_TTL: Duration = Duration::from_secs(2);
/// Whether a thread is waiting to drop expired spares.
pub(crate) static EVICTING: AtomicBool = AtomicBool::new(false);

pub(crate) fn take_spare(len: usize) -> Option<Vec<u8>> {
    let mut spares = SPARES.lock().unwrap_or_else(|e| e.into_inner());
    // The smallest that fits, and not more than twice the size (the rest would be held).
    let i = (0..spares.len())
        .filter(|&i| {
            let c = spares[i].0.capacity();
            c >= len && c / 2 <= len
        })
        .min_by_key(|&i| spares[i].0.capacity())?;
    let (mut v, _) = spares.swap_remove(i);
    drop(spares);
    if v.len() >= len {
        v.truncate(len);
    } else {
        v.resize(len, 0);
    }
    Some(v)
}

/// Called by the finalizer of a result Buffer: keeps its memory for [`SPARE_TTL`].
pub(crate) fn give_back(v: Vec<u8>) {
    if v.capacity() < POOL_MIN {
        return;
    }
    let mut spares = SPARES.lock().unwrap_or_else(|e| e.into_inner());
    spares.push((v, Instant::now()));
    let old = if spares.len() > SPARES_MAX {
        Some(spares.remove(0))
    } else {
        None
    };
    if !EVICTING.swap(true, Ordering::AcqRel) {
        let started = std::thread::Builder::new()
            .name("firekeep-spares".into())
            .spawn(|| {
                loop {
                    std::thread::sleep(SPARE_TTL);
                    let mut spares = SPARES.lock().unwrap_or_else(|e| e.into_inner());
                    let (expired, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut *spares)
                        .into_iter()
                        .partition(|(_, t)| t.elapsed() >= SPARE_TTL);
                    *spares = keep;
                    let done = spares.is_empty();
                    if done {
                        EVICTING.store(false, Ordering::Release);
                    }
                    drop(spares);
                    drop(expired);
                    if done {
                        return;
                    }
                }
            });
        if started.is_err() {
            // No timer: keep nothing rather than hold memory indefinitely.
            spares.clear();
            EVICTING.store(false, Ordering::Release);
        }
    }
    drop(spares);
    drop(old);
}

/// A result handed to JS as a Buffer over its own memory, which [`give_back`] gets when
/// the Buffer is collected.
pub struct Output(Vec<u8>);

impl ToNapiValue for Output {
    unsafe fn to_napi_value(env: napi::sys::napi_env, val: Self) -> Result<napi::sys::napi_value> {
        let mut v = val.0;
        if v.capacity() < POOL_MIN {
            return unsafe { Buffer::to_napi_value(env, Buffer::from(v)) };
        }
        let (ptr, len) = (v.as_mut_ptr(), v.len());
        let env = Env::from_raw(env);
        // SAFETY: `v` is moved into the finalizer's hint (its heap block does not move) and
        // lives until the Buffer is collected; no other Buffer shares the block.
        let finalize = |env: Env, v: Vec<u8>| {
            let mut total = 0;
            // SAFETY: called on the JS thread with its env.
            unsafe {
                napi::sys::napi_adjust_external_memory(env.raw(), -(v.len() as i64), &mut total)
            };
            give_back(v)
        };
        let slice = unsafe { BufferSlice::from_external(&env, ptr, len, v, finalize)? };
        // Tell V8 how much memory the Buffer holds, so that it collects dropped results
        // (and the pool gets their memory back) as soon as they add up.
        let mut total = 0;
        // SAFETY: on the JS thread with its env.
        unsafe { napi::sys::napi_adjust_external_memory(env.raw(), len as i64, &mut total) };
        unsafe { <&BufferSlice<'_>>::to_napi_value(env.raw(), &slice) }
    }
}

/// How many threads a whole-buffer job of `len` bytes is worth (the permits are taken
/// before the header, and so the segment size, is known).
pub(crate) fn threads_for(len: usize) -> usize {
    if len >= PARALLEL_MIN_SEGMENTS as usize * format::DEFAULT_SEGMENT_SIZE as usize {
        2
    } else {
        1
    }
}

/// The whole object for `input` (`format::seal_into`, into a pooled result).
pub(crate) fn encrypt_all(
    dek: &SecretBytes,
    header: &format::ObjectHeader,
    input: &[u8],
    threads: usize,
) -> CoreResult<Vec<u8>> {
    let mut out = output(format::sealed_len(header, input.len())?);
    format::seal_into(dek, header, input, &mut out, threads)?;
    Ok(out)
}

/// The plaintext of a whole object (`format::open_into`, into a pooled result); only
/// returned once every tag verified.
pub(crate) fn decrypt_all(dek: &SecretBytes, object: &[u8], threads: usize) -> CoreResult<Vec<u8>> {
    let mut out = output(format::opened_len_for(dek, object)?);
    format::open_into(dek, object, &mut out, threads)?;
    Ok(out)
}

/// Encrypts a whole buffer into one object, off the event loop (two threads for large
/// inputs).
#[napi(ts_return_type = "Promise<Buffer>")]
pub fn encrypt(
    env: &Env,
    key: Buffer,
    data: Buffer,
    options: Option<ObjectOptions>,
) -> Result<PromiseRaw<'_, Output>> {
    let dek = data_key(&key)?;
    let h = header_for(&dek, options)?;
    let threads = threads_for(data.len());
    spawn(env, async move {
        let out = run_cpu(threads, move || encrypt_all(&dek, &h, &data, threads)).await?;
        Ok(Output(out))
    })
}

/// Decrypts a whole object; rejects with `ERR_KEY_MISMATCH` or `ERR_INTEGRITY`.
#[napi(ts_return_type = "Promise<Buffer>")]
pub fn decrypt(env: &Env, key: Buffer, data: Buffer) -> Result<PromiseRaw<'_, Output>> {
    let dek = data_key(&key)?;
    let threads = threads_for(data.len());
    spawn(env, async move {
        let out = run_cpu(threads, move || decrypt_all(&dek, &data, threads)).await?;
        Ok(Output(out))
    })
}

/// Bytes of the object `encrypt` makes of `length` plaintext bytes under these options
/// (the size `encryptInto` needs).
#[napi]
pub fn encrypted_length(key: Buffer, length: f64, options: Option<ObjectOptions>) -> Result<f64> {
    let dek = data_key(&key)?;
    let h = header_for(&dek, options)?;
    let len = js_length("length", length)?;
    let n = format::sealed_len(&h, len).map_err(js_err)?;
    Ok(n as f64)
}

/// Bytes of plaintext in `object` (the size `decryptInto` needs), read from its header
/// and length; nothing is decrypted, so this does not check the key or the tags.
#[napi]
pub fn decrypted_length(object: Buffer) -> Result<f64> {
    let (_, n) = format::opened_len(&object).map_err(js_err)?;
    Ok(n as f64)
}

/// A JS number that must be a byte count.
pub(crate) fn js_length(name: &str, v: f64) -> Result<usize> {
    if v >= 0.0 && v.fract() == 0.0 && v <= (1u64 << 53) as f64 {
        Ok(v as usize)
    } else {
        Err(range_err(format!(
            "{name} must be a whole number of bytes >= 0 (got {v})"
        )))
    }
}

/// Rejects an output buffer that is too short for `need` bytes or shares memory with the
/// input: the input is read while the output is written, on two threads.
pub(crate) fn check_out(
    input: &[u8],
    out: &[u8],
    need: usize,
    what: &str,
    size_fn: &str,
) -> Result<()> {
    if out.len() < need {
        return Err(range_err(format!(
            "out holds {} bytes; {what} needs {need} (size it with {size_fn})",
            out.len()
        )));
    }
    let (a, b) = (input.as_ptr() as usize, out.as_ptr() as usize);
    if a < b + out.len() && b < a + input.len() {
        return Err(range_err(
            "out shares memory with the input; pass a separate buffer",
        ));
    }
    Ok(())
}

/// [`encrypt`] into the caller's `out` (its first `encryptedLength` bytes), resolving to
/// that length: no result memory is allocated, so a loop reusing one buffer runs at the
/// speed of the Rust `format::seal_into` it calls. Neither buffer may be touched until the
/// Promise settles.
#[napi(ts_return_type = "Promise<number>")]
pub fn encrypt_into(
    env: &Env,
    key: Buffer,
    data: Buffer,
    mut out: Buffer,
    options: Option<ObjectOptions>,
) -> Result<PromiseRaw<'_, f64>> {
    let dek = data_key(&key)?;
    let h = header_for(&dek, options)?;
    let need = match format::sealed_len(&h, data.len()) {
        Ok(need) => need,
        Err(e) => return spawn(env, async move { Err(e) }),
    };
    check_out(&data, &out, need, "the object", "encryptedLength()")?;
    let threads = threads_for(data.len());
    spawn(env, async move {
        run_cpu(threads, move || {
            format::seal_into(&dek, &h, &data, &mut out[..need], threads)?;
            Ok(need as f64)
        })
        .await
    })
}

/// [`decrypt`] into the caller's `out` (its first `decryptedLength` bytes), resolving to
/// that length once every tag verified; on any error those bytes are zeroed. Neither
/// buffer may be touched until the Promise settles.
#[napi(ts_return_type = "Promise<number>")]
pub fn decrypt_into(
    env: &Env,
    key: Buffer,
    data: Buffer,
    mut out: Buffer,
) -> Result<PromiseRaw<'_, f64>> {
    let dek = data_key(&key)?;
    // Like `decrypt`, a bad object or another key rejects (and is named before any
    // question of the output's length); only argument errors throw.
    let need = match format::opened_len_for(&dek, &data) {
        Ok(need) => need,
        Err(e) => return spawn(env, async move { Err(e) }),
    };
    check_out(&data, &out, need, "the plaintext", "decryptedLength()")?;
    let threads = threads_for(data.len());
    spawn(env, async move {
        run_cpu(threads, move || {
            format::open_into(&dek, &data, &mut out[..need], threads)?;
            Ok(need as f64)
        })
        .await
    })
}
