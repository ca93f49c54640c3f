//! `encrypt`/`decrypt` and the segment primitives behind `createEncryptStream` /
//! `createDecryptStream`, at the speed of the Rust format code.
//!
//! AES-GCM on one core runs at about the speed of a memory copy, so the shape is decided
//! by copies and allocations, not by the cipher:
//!
//! * Streams: `lib/streams.js` copies each chunk once, straight into a Node-allocated
//!   segment `Buffer`, and this module seals (or opens) that segment in place; the same
//!   `Buffer` is what the stream pushes. No `Vec` per chunk and no external buffers
//!   (which Node frees only on a later event-loop turn, so a fast producer grew RSS far
//!   beyond the data in flight). A full segment waits for the next byte anyway (Tink marks
//!   the last segment), so it is sealed on a helper thread during the next call, while the
//!   event loop copies the new chunk; the helper also takes a share of that copy, tuned so
//!   both finish together (copying into fresh pages costs about as much as the cipher).
//! * Whole buffers: `format::seal_into` / `open_into` write each segment once, in its
//!   final place in the result, the two halves on two threads. `encrypt`/`decrypt` take
//!   the result from a small pool of recently dropped ones (fresh memory costs a page
//!   fault per 4 KiB); `encryptInto`/`decryptInto` write into a buffer the caller owns.
//! * At most one CPU job per core runs at once ([`run_cpu`]), whatever the number of
//!   concurrent calls: more only adds threads competing with the event loop.

use crate::{ObjectOptions, data_key, header_for, js_err, range_err, spawn, type_err};
use firekeep_core::Error as CoreError;
use firekeep_core::format::aead::TAG_LEN;
use firekeep_core::format::tink::{SegmentCipher, StreamHeader, TinkParams};
use firekeep_core::format::{self, Backend, HEADER_PREFIX_LEN, STREAM_HEADER_LEN};
use firekeep_core::secret::SecretBytes;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, LazyLock, Mutex, mpsc};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

type CoreResult<T> = std::result::Result<T, CoreError>;

/// Inputs below this many segments are not worth a second thread.
const PARALLEL_MIN_SEGMENTS: u64 = 4;

/// Results at least this large are pooled (smaller ones come from malloc's reused memory
/// anyway). They are not put on huge pages: on a host whose memory is fragmented, the
/// first huge-page faults stall on compaction (measured 0.2x of ordinary pages here).
const POOL_MIN: usize = 8 << 20;

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

/// One permit per core: the CPU-bound jobs of every concurrent call share them, so 50
/// concurrent encrypts run two at a time on two cores instead of 50 threads at once.
static CPU: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(cores()));

/// Runs `f` on the blocking pool once `threads` CPU permits are free (capped at the core
/// count); `f` may use that many threads.
async fn run_cpu<T, F>(threads: usize, f: F) -> CoreResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> CoreResult<T> + Send + 'static,
{
    let n = threads.clamp(1, cores()) as u32;
    let _permits = CPU
        .acquire_many(n)
        .await
        .map_err(|_| CoreError::InvalidInput("the CPU work queue was closed".into()))?;
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| CoreError::InvalidInput(format!("a worker thread failed: {e}")))?
}

// ---------------------------------------------------------------------------------------
// Whole buffers

/// A result buffer of `len` bytes (contents unspecified: every byte is overwritten).
///
/// Fresh memory is what a large result costs most: the kernel zeroes and maps every page
/// on first write (here that runs at about the speed of the cipher). So a result JS has
/// let go of is kept a moment ([`give_back`]) and reused by the next call of a similar
/// size; otherwise calloc takes a fresh mmap'd block without writing it.
fn output(len: usize) -> Vec<u8> {
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
static SPARES: Mutex<Vec<(Vec<u8>, Instant)>> = Mutex::new(Vec::new());
/// How many freed results are kept, and for how long: enough for a loop of calls, short
/// enough that an idle process gives the memory back.
const SPARES_MAX: usize = 2;
const SPARE_TTL: Duration = Duration::from_secs(2);
/// Whether a thread is waiting to drop expired spares.
static EVICTING: AtomicBool = AtomicBool::new(false);

fn take_spare(len: usize) -> Option<Vec<u8>> {
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
fn give_back(v: Vec<u8>) {
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
fn threads_for(len: usize) -> usize {
    if len >= PARALLEL_MIN_SEGMENTS as usize * format::DEFAULT_SEGMENT_SIZE as usize {
        2
    } else {
        1
    }
}

/// `header ‖ stream header` and the cipher of a new object.
fn new_object(
    dek: &SecretBytes,
    header: &format::ObjectHeader,
) -> CoreResult<(Vec<u8>, SegmentCipher, TinkParams)> {
    let params = header.tink_params();
    let mut prefix = header.to_bytes()?;
    let sh = StreamHeader::random(&params);
    let cipher = SegmentCipher::new(
        Backend::DEFAULT,
        &params,
        dek.expose(),
        &prefix,
        &sh,
        header.object_name.clone(),
    )?;
    prefix.extend_from_slice(&sh.to_bytes());
    Ok((prefix, cipher, params))
}

/// The whole object for `input` (`format::seal_into`, into a pooled result).
fn encrypt_all(
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
fn decrypt_all(dek: &SecretBytes, object: &[u8], threads: usize) -> CoreResult<Vec<u8>> {
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
fn js_length(name: &str, v: f64) -> Result<usize> {
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
fn check_out(input: &[u8], out: &[u8], need: usize, what: &str, size_fn: &str) -> Result<()> {
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

// ---------------------------------------------------------------------------------------
// Segments in place, for the streams

/// A span of a JS Buffer that a native call borrows; sent to the helper thread only for
/// the duration of that call.
#[derive(Clone, Copy)]
struct Span {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: a `Span` is used on the helper thread only while the native call that made it
// waits for the helper's answer, and the two threads never touch the same bytes.
unsafe impl Send for Span {}

type Job = Box<dyn FnOnce() -> (CoreResult<usize>, Duration) + Send + 'static>;

/// One thread beside the event loop: it seals (or opens) the segment that is complete
/// while the event loop copies the next chunk into the following segment.
struct Helper {
    jobs: mpsc::Sender<Job>,
    done: mpsc::Receiver<(CoreResult<usize>, Duration)>,
}

static HELPER: Mutex<Option<Helper>> = Mutex::new(None);

/// How long the helper polls for the next job before it sleeps: a stream's next call
/// usually comes within this, and waking a sleeping thread costs tens of microseconds
/// (more in a VM), a sizeable part of sealing a 1 MiB segment.
const HELPER_SPIN: Duration = Duration::from_micros(200);
/// How long the event loop polls for the helper's answer before it sleeps.
const MAIN_SPIN: Duration = Duration::from_micros(500);

/// `rx.recv()`, polling for up to `spin` first; None once the sender is gone.
fn spin_recv<T>(rx: &mpsc::Receiver<T>, spin: Duration) -> Option<T> {
    let t0 = Instant::now();
    loop {
        match rx.try_recv() {
            Ok(v) => return Some(v),
            Err(mpsc::TryRecvError::Disconnected) => return None,
            Err(mpsc::TryRecvError::Empty) if t0.elapsed() < spin => std::hint::spin_loop(),
            Err(mpsc::TryRecvError::Empty) => return rx.recv().ok(),
        }
    }
}

fn start_helper() -> std::io::Result<Helper> {
    let (jobs, job_rx) = mpsc::channel::<Job>();
    let (done_tx, done) = mpsc::channel();
    std::thread::Builder::new()
        .name("firekeep-segments".into())
        .spawn(move || {
            while let Some(job) = spin_recv(&job_rx, HELPER_SPIN) {
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).unwrap_or_else(
                    |_| {
                        let e = CoreError::InvalidInput("a segment worker panicked".into());
                        (Err(e), Duration::ZERO)
                    },
                );
                if done_tx.send(r).is_err() {
                    return;
                }
            }
        })?;
    Ok(Helper { jobs, done })
}

/// Share of the copy (per mille) the event loop does itself; the helper copies the rest
/// after sealing. Adjusted after every call so both threads finish together: page faults
/// on fresh Buffers make the copy cost as much as the cipher, so neither side alone
/// should carry it.
static MAIN_SHARE: AtomicU32 = AtomicU32::new(700);

/// Copies `len` bytes from `src + at` to `dst + at`.
///
/// SAFETY: the caller checked both spans (inside their Buffers, disjoint, `at + len`
/// within them).
unsafe fn copy_part(dst: Span, src: Span, at: usize, len: usize) {
    unsafe { std::ptr::copy_nonoverlapping(src.ptr.add(at), dst.ptr.add(at), len) }
}

/// Runs `crypt` on the helper thread while this thread copies `src` into `dst` (same
/// lengths, checked by the caller, memory disjoint from `crypt`'s); the helper copies the
/// tail of it once `crypt` is done. Returns `crypt`'s result once both are done.
fn overlap(
    crypt: impl FnOnce() -> CoreResult<usize> + Send,
    dst: Span,
    src: Span,
) -> CoreResult<usize> {
    let len = src.len;
    let mut guard = HELPER.lock().unwrap_or_else(|e| e.into_inner());
    let inline = |crypt: Box<dyn FnOnce() -> CoreResult<usize> + Send + '_>| {
        // SAFETY: checked by the caller.
        unsafe { copy_part(dst, src, 0, len) };
        crypt()
    };
    if cores() < 2 {
        return inline(Box::new(crypt));
    }
    if guard.is_none() {
        match start_helper() {
            Ok(h) => *guard = Some(h),
            Err(_) => return inline(Box::new(crypt)),
        }
    }
    let helper = guard.as_ref().expect("started above");
    let share = MAIN_SHARE.load(Ordering::Relaxed) as usize;
    let mine = (len * share / 1000).min(len);
    let job: Box<dyn FnOnce() -> (CoreResult<usize>, Duration) + Send + '_> = Box::new(move || {
        let t0 = Instant::now();
        let r = crypt();
        // SAFETY: checked by the caller; this thread copies only `mine..len`.
        unsafe { copy_part(dst, src, mine, len - mine) };
        (r, t0.elapsed())
    });
    // SAFETY: the job only borrows memory of this call, and this function does not return
    // before the helper has answered (nothing between send and recv can unwind).
    let job: Job = unsafe { std::mem::transmute(job) };
    if let Err(mpsc::SendError(job)) = helper.jobs.send(job) {
        *guard = None;
        return job().0;
    }
    let t0 = Instant::now();
    // SAFETY: checked by the caller; the helper copies only `mine..len`.
    unsafe { copy_part(dst, src, 0, mine) };
    let main_time = t0.elapsed();
    match spin_recv(&helper.done, MAIN_SPIN).ok_or(()) {
        Ok((r, helper_time)) => {
            // Give the side that finished first a bigger share next time.
            let next = if main_time < helper_time {
                (share + 10).min(1000)
            } else {
                share.saturating_sub(10)
            };
            MAIN_SHARE.store(next as u32, Ordering::Relaxed);
            r
        }
        Err(_) => {
            *guard = None;
            Err(CoreError::InvalidInput(
                "the segment worker thread stopped".into(),
            ))
        }
    }
}

/// Checks a copy of `src[src_off..src_off + len]` to `dst[dst_off..]`, both disjoint from
/// `seg`, and returns the two spans.
fn copy_spans(
    seg: &[u8],
    dst: &mut [u8],
    dst_off: u32,
    src: &[u8],
    src_off: u32,
    len: u32,
) -> Result<(Span, Span)> {
    let (dst_off, src_off, len) = (dst_off as usize, src_off as usize, len as usize);
    if dst_off + len > dst.len() || src_off + len > src.len() {
        return Err(type_err("copy out of bounds"));
    }
    let d = Span {
        ptr: dst[dst_off..].as_mut_ptr(),
        len,
    };
    let s = Span {
        ptr: src[src_off..].as_ptr() as *mut u8,
        len,
    };
    let disjoint = |a: &Span, b: (*const u8, usize)| {
        let (a0, a1) = (a.ptr as usize, a.ptr as usize + a.len);
        let (b0, b1) = (b.0 as usize, b.0 as usize + b.1);
        a1 <= b0 || b1 <= a0
    };
    let seg_range = (seg.as_ptr(), seg.len());
    if !disjoint(&d, seg_range) || !disjoint(&s, seg_range) || !disjoint(&d, (s.ptr, s.len)) {
        return Err(type_err(
            "the segment, source and destination must not overlap",
        ));
    }
    Ok((d, s))
}

/// Hands out segment indices in order and refuses anything after the last segment, so a
/// (segment, nonce) pair is never used twice whatever the caller does.
struct Counter {
    next: u32,
    done: bool,
}

impl Counter {
    fn take(&mut self, last: bool) -> Result<u32> {
        if self.done {
            return Err(type_err(
                "this object's last segment was already processed; create a new stream",
            ));
        }
        let i = self.next;
        self.next = i.checked_add(1).ok_or_else(|| {
            js_err(CoreError::InvalidInput(
                "more than 2^32 segments; use a larger segmentSize".into(),
            ))
        })?;
        self.done = last;
        Ok(i)
    }
}

fn check_room(len: usize, n: u32, cap: usize, what: &str) -> Result<usize> {
    let n = n as usize;
    if n > cap || n + TAG_LEN > len {
        return Err(type_err(format!(
            "{what}: {n} bytes do not fit this segment (at most {cap}, buffer of {len})"
        )));
    }
    Ok(n)
}

/// Seals the segments of one new object in place in caller-owned buffers
/// (`lib/streams.js` drives it: `createEncryptStream`).
#[napi]
pub struct SegmentSealer {
    cipher: Arc<SegmentCipher>,
    params: TinkParams,
    prefix: Vec<u8>,
    counter: Counter,
}

#[napi]
impl SegmentSealer {
    /// A new object under data key `key` (fresh random salt and nonce prefix).
    #[napi(constructor)]
    pub fn new(key: Buffer, options: Option<ObjectOptions>) -> Result<Self> {
        let dek = data_key(&key)?;
        let h = header_for(&dek, options)?;
        let (prefix, cipher, params) = new_object(&dek, &h).map_err(js_err)?;
        Ok(SegmentSealer {
            cipher: Arc::new(cipher),
            params,
            prefix,
            counter: Counter {
                next: 0,
                done: false,
            },
        })
    }

    /// The object's first bytes: header ‖ Tink stream header.
    #[napi(getter)]
    pub fn prefix(&self) -> Buffer {
        self.prefix.clone().into()
    }

    /// Plaintext bytes of segment 0.
    #[napi(getter)]
    pub fn first_plaintext_len(&self) -> u32 {
        self.params.first_plaintext_len() as u32
    }

    /// Plaintext bytes of every later segment.
    #[napi(getter)]
    pub fn plaintext_len(&self) -> u32 {
        self.params.plaintext_segment_len() as u32
    }

    fn index(&mut self, len: usize, n: u32, last: bool) -> Result<(u32, usize)> {
        let cap = if self.counter.next == 0 {
            self.params.first_plaintext_len()
        } else {
            self.params.plaintext_segment_len()
        };
        let n = check_room(len, n, cap, "seal")?;
        Ok((self.counter.take(last)?, n))
    }

    /// Seals the next segment, `buf[..n]`, in place and writes its tag at `buf[n..n + 16]`.
    #[napi]
    pub fn seal(&mut self, mut buf: BufferSlice<'_>, n: u32, last: bool) -> Result<()> {
        let (index, n) = self.index(buf.len(), n, last)?;
        let tag = self.cipher.seal(index, last, &mut buf[..n]);
        buf[n..n + TAG_LEN].copy_from_slice(&tag);
        Ok(())
    }

    /// Seals the next segment, `seg[..n]` (as `seal`, returning the sealed length), while
    /// copying `src[srcOff..srcOff + len]` to `dst[dstOff..]`: the copy of the next chunk
    /// runs on this thread while another core seals.
    #[napi]
    #[allow(clippy::too_many_arguments)]
    pub fn seal_copy(
        &mut self,
        mut seg: BufferSlice<'_>,
        n: u32,
        last: bool,
        mut dst: BufferSlice<'_>,
        dst_off: u32,
        src: &[u8],
        src_off: u32,
        len: u32,
    ) -> Result<u32> {
        let (d, s) = copy_spans(&seg, &mut dst, dst_off, src, src_off, len)?;
        let (index, n) = self.index(seg.len(), n, last)?;
        let cipher = &self.cipher;
        let seg: &mut [u8] = &mut seg;
        let out = overlap(
            move || {
                let tag = cipher.seal(index, last, &mut seg[..n]);
                seg[n..n + TAG_LEN].copy_from_slice(&tag);
                Ok(n + TAG_LEN)
            },
            d,
            s,
        )
        .map_err(js_err)?;
        Ok(out as u32)
    }
}

/// The total length of an object's header and Tink stream header, from its first 10
/// bytes (checks magic and version).
#[napi]
pub fn object_prefix_len(first: &[u8]) -> Result<u32> {
    if first.len() < HEADER_PREFIX_LEN {
        return Err(type_err(format!(
            "objectPrefixLen needs the object's first {HEADER_PREFIX_LEN} bytes"
        )));
    }
    let hlen = format::header_len(first).map_err(js_err)?;
    Ok((hlen + STREAM_HEADER_LEN) as u32)
}

/// Opens the segments of one object in place in caller-owned buffers
/// (`lib/streams.js` drives it: `createDecryptStream`).
#[napi]
pub struct SegmentOpener {
    cipher: Arc<SegmentCipher>,
    params: TinkParams,
    object: String,
    counter: Counter,
}

#[napi]
impl SegmentOpener {
    /// Checks `prefix` (header ‖ stream header, `objectPrefixLen` bytes) against data key
    /// `key`: `ERR_KEY_MISMATCH` for another key, `ERR_INTEGRITY` for a damaged header.
    #[napi(constructor)]
    pub fn new(key: Buffer, prefix: &[u8]) -> Result<Self> {
        let dek = data_key(&key)?;
        let (header, cipher) = format::object_cipher(&dek, prefix).map_err(js_err)?;
        let params = header.tink_params();
        let object = header.object_name;
        Ok(SegmentOpener {
            cipher: Arc::new(cipher),
            params,
            object,
            counter: Counter {
                next: 0,
                done: false,
            },
        })
    }

    /// Ciphertext bytes (with tag) of segment 0.
    #[napi(getter)]
    pub fn first_segment_len(&self) -> u32 {
        (self.params.ciphertext_segment_size
            - self.params.header_len()
            - self.params.first_segment_offset) as u32
    }

    /// Ciphertext bytes (with tag) of every later segment.
    #[napi(getter)]
    pub fn segment_len(&self) -> u32 {
        self.params.ciphertext_segment_size as u32
    }

    fn index(&mut self, len: usize, n: u32, last: bool) -> Result<(u32, usize)> {
        let cap = if self.counter.next == 0 {
            self.first_segment_len() as usize
        } else {
            self.segment_len() as usize
        };
        let i = self.counter.next;
        let n = n as usize;
        if n > cap || n > len {
            return Err(type_err(format!(
                "open: {n} bytes do not fit this segment (at most {cap}, buffer of {len})"
            )));
        }
        if n < TAG_LEN {
            return Err(js_err(CoreError::integrity(
                &self.object,
                format!("object is truncated: segment {i} is {n} bytes, shorter than a tag"),
            )));
        }
        Ok((self.counter.take(last)?, n))
    }

    /// Verifies and decrypts the next segment, `buf[..n]` (ciphertext ‖ tag), in place;
    /// returns the plaintext length. Fails with `ERR_INTEGRITY` (and `buf` holds nothing
    /// usable).
    #[napi]
    pub fn open(&mut self, mut buf: BufferSlice<'_>, n: u32, last: bool) -> Result<u32> {
        let (index, n) = self.index(buf.len(), n, last)?;
        let p = self
            .cipher
            .open(index, last, &mut buf[..n])
            .map_err(js_err)?;
        Ok(p as u32)
    }

    /// Opens the next segment, `seg[..n]` (as `open`), while copying
    /// `src[srcOff..srcOff + len]` to `dst[dstOff..]` on this thread.
    #[napi]
    #[allow(clippy::too_many_arguments)]
    pub fn open_copy(
        &mut self,
        mut seg: BufferSlice<'_>,
        n: u32,
        last: bool,
        mut dst: BufferSlice<'_>,
        dst_off: u32,
        src: &[u8],
        src_off: u32,
        len: u32,
    ) -> Result<u32> {
        let (d, s) = copy_spans(&seg, &mut dst, dst_off, src, src_off, len)?;
        let (index, n) = self.index(seg.len(), n, last)?;
        let cipher = &self.cipher;
        let seg: &mut [u8] = &mut seg;
        let out = overlap(move || cipher.open(index, last, &mut seg[..n]), d, s).map_err(js_err)?;
        Ok(out as u32)
    }
}
