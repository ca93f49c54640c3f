//! Segments in place for the streams: the helper thread that seals a full segment while
//! the event loop copies the next chunk, and the spans it works on.

use crate::errors::{CoreResult, type_err};
use crate::segments::cores;
use firekeep_core::Error as CoreError;
use napi::bindgen_prelude::*;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// A span of a JS Buffer that a native call borrows; sent to the helper thread only for
/// the duration of that call.
#[derive(Clone, Copy)]
pub(crate) struct Span {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: a `Span` is used on the helper thread only while the native call that made it
// waits for the helper's answer, and the two threads never touch the same bytes.
unsafe impl Send for Span {}

/// A job for the helper: None when the event loop took its work first (nothing to answer).
type Borrowing<'a> = Box<dyn FnOnce() -> Option<(CoreResult<usize>, Duration)> + Send + 'a>;
pub(crate) type Job = Borrowing<'static>;

/// The sealing (or opening) of one segment, taken by whichever thread gets to it first.
type Crypt<'a> = Box<dyn FnOnce() -> CoreResult<usize> + Send + 'a>;

/// One thread beside the event loop: it seals (or opens) the segment that is complete
/// while the event loop copies the next chunk into the following segment.
pub(crate) struct Helper {
    jobs: mpsc::Sender<Job>,
    done: mpsc::Receiver<(CoreResult<usize>, Duration)>,
}

pub(crate) static HELPER: Mutex<Option<Helper>> = Mutex::new(None);

/// How long the helper polls for the next job before it sleeps: a stream's next call
/// usually comes within this, and waking a sleeping thread costs tens of microseconds
/// (more in a VM), a sizeable part of sealing a 1 MiB segment.
pub(crate) const HELPER_SPIN: Duration = Duration::from_micros(200);
/// How long the event loop polls for the helper's answer before it sleeps.
pub(crate) const MAIN_SPIN: Duration = Duration::from_micros(500);

/// `rx.recv()`, polling for up to `spin` first; None once the sender is gone.
pub(crate) fn spin_recv<T>(rx: &mpsc::Receiver<T>, spin: Duration) -> Option<T> {
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

pub(crate) fn start_helper() -> std::io::Result<Helper> {
    let (jobs, job_rx) = mpsc::channel::<Job>();
    let (done_tx, done) = mpsc::channel();
    std::thread::Builder::new()
        .name("firekeep-segments".into())
        .spawn(move || {
            while let Some(job) = spin_recv(&job_rx, HELPER_SPIN) {
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).unwrap_or_else(
                    |_| {
                        let e = CoreError::InvalidInput("a segment worker panicked".into());
                        Some((Err(e), Duration::ZERO))
                    },
                );
                if let Some(r) = r
                    && done_tx.send(r).is_err()
                {
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
pub(crate) static MAIN_SHARE: AtomicU32 = AtomicU32::new(700);

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
///
/// If the helper has not started `crypt` by the time this thread has copied its share,
/// this thread runs `crypt` and the tail itself: on a busy machine the helper may wait
/// for a core for milliseconds, and waiting for it then made the stream 2–3x slower than
/// doing all the work here (measured with 4 other builds on 2 cores).
pub(crate) fn overlap(
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
    let slot: Arc<Mutex<Option<Crypt<'_>>>> = Arc::new(Mutex::new(Some(Box::new(crypt))));
    let theirs = Arc::clone(&slot);
    let job: Borrowing<'_> = Box::new(move || {
        let crypt = take(&theirs)?;
        let t0 = Instant::now();
        let r = crypt();
        // SAFETY: checked by the caller; this thread copies only `mine..len`.
        unsafe { copy_part(dst, src, mine, len - mine) };
        Some((r, t0.elapsed()))
    });
    // SAFETY: the job touches memory of this call only after taking `crypt` from the slot;
    // if it does, this function does not return before the helper has answered (nothing
    // between send and recv can unwind). If this thread takes `crypt` first, the job
    // later finds the (shared, heap-held) slot empty and touches nothing else.
    let job: Job = unsafe { std::mem::transmute(job) };
    if let Err(mpsc::SendError(job)) = helper.jobs.send(job) {
        *guard = None;
        return match job() {
            Some((r, _)) => r,
            None => Err(CoreError::InvalidInput("the segment job was lost".into())),
        };
    }
    let t0 = Instant::now();
    // SAFETY: checked by the caller; the helper copies only `mine..len`.
    unsafe { copy_part(dst, src, 0, mine) };
    let main_time = t0.elapsed();
    if let Some(crypt) = take(&slot) {
        // The helper has not started: do its part here rather than wait for it.
        // SAFETY: checked by the caller; the helper will not touch these bytes now.
        unsafe { copy_part(dst, src, mine, len - mine) };
        return crypt();
    }
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

/// Takes the segment's work from `slot`, unless the other thread already has.
fn take<'a>(slot: &Mutex<Option<Crypt<'a>>>) -> Option<Crypt<'a>> {
    slot.lock().unwrap_or_else(|e| e.into_inner()).take()
}

/// Checks a copy of `src[src_off..src_off + len]` to `dst[dst_off..]`, both disjoint from
/// `seg`, and returns the two spans.
pub(crate) fn copy_spans(
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
