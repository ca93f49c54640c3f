//! Memory kept for reuse: large results of `encrypt`/`decrypt` and the segment Buffers of
//! the streams, handed to JS as Buffers over Rust memory whose finalizer brings the memory
//! back here.
//!
//! Fresh memory is what a large Buffer costs most: the kernel zeroes and maps every page on
//! first write (about the speed of the cipher), and glibc hands blocks of a MiB or more back
//! to the kernel when they are freed. A block JS has let go of is kept for a moment instead
//! and reused by the next Buffer of a similar size.

use napi::bindgen_prelude::*;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long a freed block is kept: enough for a loop of calls or a running stream, short
/// enough that an idle process gives the memory back.
pub(crate) const SPARE_TTL: Duration = Duration::from_secs(2);

/// Blocks of one use, with their limits.
pub(crate) struct Pool {
    state: Mutex<State>,
    /// Smallest capacity worth pooling (smaller blocks come from malloc's reused memory).
    min: usize,
    /// How many freed blocks are kept.
    max_spares: usize,
    /// Most bytes of pooled blocks in existence, held by JS or kept as spares; beyond it
    /// [`Pool::take`] gives nothing and the caller allocates as before. `usize::MAX`: no cap.
    limit: usize,
    /// Whether a thread is waiting to drop expired spares.
    evicting: AtomicBool,
}

#[derive(Default)]
struct State {
    /// Freed blocks, newest last, with when they were freed.
    spares: Vec<(Vec<u8>, Instant)>,
    /// Capacity of the pool's blocks that JS holds (given out, not yet finalized).
    live: usize,
}

/// What a pool holds, for tests and diagnostics.
pub(crate) struct Usage {
    pub live: usize,
    pub spare: usize,
}

impl Pool {
    pub(crate) const fn new(min: usize, max_spares: usize, limit: usize) -> Self {
        Pool {
            state: Mutex::new(State {
                spares: Vec::new(),
                live: 0,
            }),
            min,
            max_spares,
            limit,
            evicting: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether blocks of `len` bytes are pooled at all.
    pub(crate) fn pools(&self, len: usize) -> bool {
        len >= self.min
    }

    /// Capacity of a new block for `len` bytes: ~3% headroom, so that an object and its
    /// plaintext (a little smaller), or a stream's first and later segments, can take turns
    /// in the same block. Untouched headroom costs no memory.
    fn capacity_for(len: usize) -> usize {
        (len + len / 32).next_multiple_of(64 << 10)
    }

    /// A block of `len` bytes (contents unspecified) that counts as held by JS until
    /// [`Pool::give_back`]: a spare if one fits, else a new one if the cap allows; None
    /// below the pool's minimum or at its cap.
    pub(crate) fn take(&self, len: usize) -> Option<Vec<u8>> {
        if !self.pools(len) {
            return None;
        }
        let mut s = self.lock();
        // The smallest that fits, and not more than twice the size (the rest would be held).
        let fits = (0..s.spares.len())
            .filter(|&i| {
                let c = s.spares[i].0.capacity();
                c >= len && c / 2 <= len
            })
            .min_by_key(|&i| s.spares[i].0.capacity());
        match fits {
            Some(i) => {
                let mut v = s.spares.swap_remove(i).0;
                s.live += v.capacity();
                drop(s);
                if v.len() >= len {
                    v.truncate(len);
                } else {
                    v.resize(len, 0);
                }
                Some(v)
            }
            None => {
                let cap = Self::capacity_for(len);
                let spare: usize = s.spares.iter().map(|(v, _)| v.capacity()).sum();
                if s.live + spare + cap > self.limit {
                    return None;
                }
                s.live += cap;
                drop(s);
                // calloc: a fresh mmap'd block, not written here.
                let mut v = vec![0u8; cap];
                v.truncate(len);
                Some(v)
            }
        }
    }

    /// Takes back a block JS no longer reaches (from the finalizer of its Buffer): kept for
    /// [`SPARE_TTL`] unless `max_spares` newer ones are kept already.
    pub(crate) fn give_back(&'static self, v: Vec<u8>) {
        let mut s = self.lock();
        s.live = s.live.saturating_sub(v.capacity());
        s.spares.push((v, Instant::now()));
        let old = if s.spares.len() > self.max_spares {
            Some(s.spares.remove(0))
        } else {
            None
        };
        if !self.evicting.swap(true, Ordering::AcqRel) {
            let started = std::thread::Builder::new()
                .name("firekeep-spares".into())
                .spawn(move || self.evict());
            if started.is_err() {
                // No timer: keep nothing rather than hold memory indefinitely.
                s.spares.clear();
                self.evicting.store(false, Ordering::Release);
            }
        }
        drop(s);
        drop(old);
    }

    /// Drops spares older than [`SPARE_TTL`] until none is left.
    fn evict(&self) {
        loop {
            std::thread::sleep(SPARE_TTL);
            let mut s = self.lock();
            let (expired, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut s.spares)
                .into_iter()
                .partition(|(_, t)| t.elapsed() >= SPARE_TTL);
            s.spares = keep;
            let done = s.spares.is_empty();
            if done {
                self.evicting.store(false, Ordering::Release);
            }
            drop(s);
            drop(expired);
            if done {
                return;
            }
        }
    }

    pub(crate) fn usage(&self) -> Usage {
        let s = self.lock();
        Usage {
            live: s.live,
            spare: s.spares.iter().map(|(v, _)| v.capacity()).sum(),
        }
    }
}

/// A block from `pool` handed to JS as a Buffer over its own memory; the pool gets the
/// block back when the Buffer is collected.
pub struct Pooled {
    pub(crate) block: Vec<u8>,
    pub(crate) pool: &'static Pool,
}

impl ToNapiValue for Pooled {
    unsafe fn to_napi_value(env: napi::sys::napi_env, val: Self) -> Result<napi::sys::napi_value> {
        let Pooled { mut block, pool } = val;
        let (ptr, len) = (block.as_mut_ptr(), block.len());
        let env = Env::from_raw(env);
        let finalize = move |env: Env, v: Vec<u8>| {
            let mut total = 0;
            // SAFETY: called on the JS thread with its env.
            unsafe {
                napi::sys::napi_adjust_external_memory(env.raw(), -(v.len() as i64), &mut total)
            };
            pool.give_back(v)
        };
        // Tell V8 how much memory the Buffer holds, so that it collects dropped Buffers (and
        // the pool gets their memory back) as soon as they add up.
        // Before the Buffer is made: where external Buffers are not allowed (Electron),
        // napi-rs copies the block and runs the finalizer at once.
        let mut total = 0;
        // SAFETY: on the JS thread with its env.
        unsafe { napi::sys::napi_adjust_external_memory(env.raw(), len as i64, &mut total) };
        // SAFETY: `block` is moved into the finalizer's hint (its heap memory does not move)
        // and lives until the Buffer is collected; no other Buffer shares the memory, and the
        // pool reuses it only after the finalizer ran, when no JS value reaches it.
        let slice = unsafe { BufferSlice::from_external(&env, ptr, len, block, finalize)? };
        unsafe { <&BufferSlice<'_>>::to_napi_value(env.raw(), &slice) }
    }
}
