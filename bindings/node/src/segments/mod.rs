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
//!   A helper that has not started by then (its core busy elsewhere) is not waited for:
//!   the event loop does the work itself.
//! * Whole buffers: `format::seal_into` / `open_into` write each segment once, in its
//!   final place in the result, the two halves on two threads. `encrypt`/`decrypt` take
//!   the result from a small pool of recently dropped ones (fresh memory costs a page
//!   fault per 4 KiB); `encryptInto`/`decryptInto` write into a buffer the caller owns.
//! * At most one CPU job per core runs at once ([`run_cpu`]), whatever the number of
//!   concurrent calls: more only adds threads competing with the event loop.

pub mod helper;
pub mod stream;
pub mod whole;

use crate::errors::CoreResult;
use firekeep_core::Error as CoreError;
use std::sync::LazyLock;
use tokio::sync::Semaphore;

/// Inputs below this many segments are not worth a second thread.
pub(crate) const PARALLEL_MIN_SEGMENTS: u64 = 4;

/// Results at least this large are pooled (smaller ones come from malloc's reused memory
/// anyway). They are not put on huge pages: on a host whose memory is fragmented, the
/// first huge-page faults stall on compaction (measured 0.2x of ordinary pages here).
pub(crate) const POOL_MIN: usize = 8 << 20;

pub(crate) fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

/// One permit per core: the CPU-bound jobs of every concurrent call share them, so 50
/// concurrent encrypts run two at a time on two cores instead of 50 threads at once.
pub(crate) static CPU: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(cores()));

/// Runs `f` on the blocking pool once `threads` CPU permits are free (capped at the core
/// count); `f` may use that many threads.
pub(crate) async fn run_cpu<T, F>(threads: usize, f: F) -> CoreResult<T>
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
