//! The segment pipeline: batches of segments read on the caller's thread, sealed or
//! opened in place on a worker thread, written in one `write` per batch.

use crate::errors::{CoreResult, py_err, value_err};
use crate::streaming::buffers::{PyBuf, Raw};
use crate::streaming::io::{Sink, Source};
use firekeep_core::Error as CoreError;
use firekeep_core::format::{Segment, SegmentOpener, SegmentSealer};
use pyo3::prelude::*;
use std::sync::mpsc;

/// What happens to each segment, in place: the core's sealer or opener, which count the
/// segments and check their lengths themselves.
pub(crate) trait Transform: Sync {
    /// Input bytes of a full segment `index` (the last one may have fewer).
    fn input_len(&self, index: u32) -> usize;
    /// Claims the next segment: `n` input bytes, the `last` or not.
    fn claim(&self, n: usize, last: bool) -> CoreResult<Segment>;
    /// Transforms `seg` (the start of `buf`) in place; returns the output length.
    fn run(&self, seg: Segment, buf: &mut [u8]) -> CoreResult<usize>;
}

impl Transform for SegmentSealer {
    fn input_len(&self, index: u32) -> usize {
        self.plaintext_capacity(index)
    }

    fn claim(&self, n: usize, last: bool) -> CoreResult<Segment> {
        self.next_segment(n, last)
    }

    fn run(&self, seg: Segment, buf: &mut [u8]) -> CoreResult<usize> {
        self.seal(seg, buf)
    }
}

impl Transform for SegmentOpener {
    fn input_len(&self, index: u32) -> usize {
        self.segment_capacity(index)
    }

    fn claim(&self, n: usize, last: bool) -> CoreResult<Segment> {
        self.next_segment(n, last)
    }

    fn run(&self, seg: Segment, buf: &mut [u8]) -> CoreResult<usize> {
        self.open(seg, buf)
    }
}

/// Segments per pipeline step. Handing work between threads costs tens of microseconds on
/// a loaded VM, a sizeable share of the ~150 us one 1 MiB segment takes to seal, so each
/// step moves a batch. Memory: three batches (12 MiB at the default 1 MiB segments).
pub(crate) const SEGMENTS_PER_BATCH: usize = 4;

/// Input byte counts of the segments of one batch (`len` of them).
#[derive(Clone, Copy, Default)]
pub(crate) struct Batch {
    first: u32,
    len: usize,
    n: [usize; SEGMENTS_PER_BATCH],
    /// The input ended inside this batch.
    eof: bool,
}

/// Reads the batch starting at segment `first` into `buf`, one segment per `slot`-byte slot.
pub(crate) fn read_batch<'py>(
    src: &mut Source<'py>,
    buf: &PyBuf<'py>,
    t: &dyn Transform,
    first: u32,
    slot: usize,
) -> PyResult<Batch> {
    let mut b = Batch {
        first,
        ..Batch::default()
    };
    for j in 0..SEGMENTS_PER_BATCH {
        // Saturating: the core refuses to count a segment past 2^32.
        let index = first.saturating_add(j as u32);
        let want = t.input_len(index);
        let got = src.fill(buf, j * slot, want)?;
        // An empty segment exists only as the first one (empty input).
        if got > 0 || index == 0 {
            b.n[j] = got;
            b.len += 1;
        }
        if got < want {
            b.eof = true;
            break;
        }
    }
    Ok(b)
}

/// Transforms a batch in place. Returns the output length of each segment that succeeded
/// and the error that stopped it, so the segments before a failure are still written
/// (decrypt writes exactly the verified prefix).
pub(crate) fn run_batch(
    t: &dyn Transform,
    raw: Raw,
    b: &Batch,
    last: bool,
    slot: usize,
) -> (Vec<usize>, Option<CoreError>) {
    let mut outs = Vec::with_capacity(b.len);
    for j in 0..b.len {
        // SAFETY: the caller gives this thread the batch's buffer alone while it runs.
        let seg = unsafe { &mut raw.slice_mut()[j * slot..(j + 1) * slot] };
        let is_last = last && j + 1 == b.len;
        match t
            .claim(b.n[j], is_last)
            .and_then(|claimed| t.run(claimed, seg))
        {
            Ok(out) => outs.push(out),
            Err(e) => return (outs, Some(e)),
        }
    }
    (outs, None)
}

/// Writes the outputs of a batch: segments whose output fills their slot are contiguous
/// with the next, so most batches are one `write`.
pub(crate) fn write_batch<'py>(
    sink: &mut Sink<'py>,
    buf: &PyBuf<'py>,
    outs: &[usize],
    slot: usize,
) -> PyResult<()> {
    let mut start = 0;
    for (j, &out) in outs.iter().enumerate() {
        let end = j * slot + out;
        if out != slot || j + 1 == outs.len() {
            sink.write_buf(buf, start, end)?;
            start = (j + 1) * slot;
        }
    }
    Ok(())
}

/// Streams `src` through `t` into `sink`, a batch of segments at a time: while a worker
/// thread transforms one batch in place, this thread reads the next and writes the one
/// before. A segment is known to be the last when the input ends inside it or right after
/// it (Tink marks the last segment in its nonce), so the next batch is read before the
/// current one is handed over.
pub(crate) fn pump<'py>(
    py: Python<'py>,
    src: &mut Source<'py>,
    sink: &mut Sink<'py>,
    t: &dyn Transform,
    slot: usize,
) -> PyResult<()> {
    let buf_len = slot * SEGMENTS_PER_BATCH;
    let first = PyBuf::new(py, buf_len)?;
    let b0 = read_batch(src, &first, t, 0, slot)?;
    if b0.eof {
        // The whole input in one batch: no second thread.
        let raw = first.raw;
        let (outs, err) = py.detach(|| run_batch(t, raw, &b0, true, slot));
        write_batch(sink, &first, &outs, slot)?;
        return match err {
            Some(e) => Err(py_err(e)),
            None => Ok(()),
        };
    }
    let bufs = [first, PyBuf::new(py, buf_len)?, PyBuf::new(py, buf_len)?];
    let raws = [bufs[0].raw, bufs[1].raw, bufs[2].raw];
    type Done = (usize, Vec<usize>, Option<CoreError>);
    std::thread::scope(|s| {
        let (jobs, job_rx) = mpsc::sync_channel::<(usize, Batch, bool)>(2);
        let (done_tx, done) = mpsc::sync_channel::<Done>(2);
        // (A Receiver is not Sync; waiting without the GIL needs a shared reference.)
        let done = std::sync::Mutex::new(done);
        s.spawn(move || {
            for (b, batch, last) in job_rx {
                // While a job runs, its buffer is touched by no other code: the caller's
                // thread reads into and writes from the other two.
                let (outs, err) = run_batch(t, raws[b], &batch, last, slot);
                if done_tx.send((b, outs, err)).is_err() {
                    return;
                }
            }
        });
        let mut run = || -> PyResult<()> {
            let worker_gone = || value_err("the encryption worker thread stopped");
            let wait_and_write = |sink: &mut Sink<'py>| -> PyResult<()> {
                let (b, outs, err) = py
                    .detach(|| done.lock().map_err(|_| ())?.recv().map_err(|_| ()))
                    .map_err(|_| worker_gone())?;
                write_batch(sink, &bufs[b], &outs, slot)?;
                match err {
                    Some(e) => Err(py_err(e)),
                    None => Ok(()),
                }
            };
            let mut step = 0usize;
            let mut cur_batch = b0;
            let mut pending = false;
            loop {
                let cur = step % 3;
                let next = (step + 1) % 3;
                let (last, next_batch) = if cur_batch.eof {
                    (true, Batch::default())
                } else {
                    let next_first = cur_batch.first.saturating_add(cur_batch.len as u32);
                    let nb = read_batch(src, &bufs[next], t, next_first, slot)?;
                    (nb.len == 0, nb)
                };
                jobs.send((cur, cur_batch, last))
                    .map_err(|_| worker_gone())?;
                if pending {
                    wait_and_write(sink)?;
                }
                pending = true;
                if last {
                    break;
                }
                step += 1;
                cur_batch = next_batch;
            }
            wait_and_write(sink)
        };
        let result = run();
        // Closing the job queue stops the worker; the scope then joins it before the
        // buffers are dropped.
        drop(jobs);
        drop(done);
        result
    })
}
