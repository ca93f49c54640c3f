//! Whole buffers: `encrypt`/`decrypt` into pooled results, `encryptInto`/`decryptInto` into
//! buffers the caller owns.

use crate::errors::{CoreResult, js_err, range_err};
use crate::object_format::{ObjectOptions, data_key, header_for};
use crate::runtime::spawn;
use crate::segments::pool::{Pool, Pooled};
use crate::segments::{PARALLEL_MIN_SEGMENTS, POOL_MIN, run_cpu};
use firekeep_core::format::{self};
use firekeep_core::secret::SecretBytes;
use napi::bindgen_prelude::*;
use napi_derive::napi;

/// A result buffer of `len` bytes (contents unspecified: every byte is overwritten): from
/// [`RESULTS`] if it is large, so that a loop of calls reuses the memory of the results JS
/// dropped instead of paying a page fault per 4 KiB of fresh memory.
pub(crate) fn output(len: usize) -> Output {
    match RESULTS.take(len) {
        Some(block) => Output::Pooled(Pooled {
            block,
            pool: &RESULTS,
        }),
        None => Output::Plain(vec![0u8; len]),
    }
}

/// Large results JS dropped, kept for the next calls: two (a loop of calls needs one or
/// two), and no cap on results held by JS (each is the result of a call).
pub(crate) static RESULTS: Pool = Pool::new(POOL_MIN, 2, usize::MAX);

/// A result handed to JS: a Buffer over pooled memory, or an ordinary Buffer.
pub enum Output {
    Pooled(Pooled),
    Plain(Vec<u8>),
}

impl std::ops::Deref for Output {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Output::Pooled(p) => &p.block,
            Output::Plain(v) => v,
        }
    }
}

impl std::ops::DerefMut for Output {
    fn deref_mut(&mut self) -> &mut [u8] {
        match self {
            Output::Pooled(p) => &mut p.block,
            Output::Plain(v) => v,
        }
    }
}

impl ToNapiValue for Output {
    unsafe fn to_napi_value(env: napi::sys::napi_env, val: Self) -> Result<napi::sys::napi_value> {
        match val {
            Output::Pooled(p) => unsafe { Pooled::to_napi_value(env, p) },
            Output::Plain(v) => unsafe { Buffer::to_napi_value(env, Buffer::from(v)) },
        }
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
) -> CoreResult<Output> {
    let mut out = output(format::sealed_len(header, input.len())?);
    format::seal_into(dek, header, input, &mut out, threads)?;
    Ok(out)
}

/// The plaintext of a whole object (`format::open_into`, into a pooled result); only
/// returned once every tag verified.
pub(crate) fn decrypt_all(dek: &SecretBytes, object: &[u8], threads: usize) -> CoreResult<Output> {
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
        Ok(out)
    })
}

/// Decrypts a whole object; rejects with `ERR_KEY_MISMATCH` or `ERR_INTEGRITY`.
#[napi(ts_return_type = "Promise<Buffer>")]
pub fn decrypt(env: &Env, key: Buffer, data: Buffer) -> Result<PromiseRaw<'_, Output>> {
    let dek = data_key(&key)?;
    let threads = threads_for(data.len());
    spawn(env, async move {
        let out = run_cpu(threads, move || decrypt_all(&dek, &data, threads)).await?;
        Ok(out)
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
