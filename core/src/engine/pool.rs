//! A small pool of std threads for CPU work (JSON, zstd, AES-GCM, SHA-256), bridged to
//! async code with oneshot channels. The core has no async runtime, so it cannot use
//! `spawn_blocking`; callers bound the work in flight themselves (e.g. `buffered(n)`).

use crate::{Error, Result};
use futures::channel::oneshot;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// A fixed set of worker threads. Dropping the pool lets the threads finish their current
/// job and exit; it does not wait for them.
pub(crate) struct Pool {
    tx: Option<mpsc::Sender<Job>>,
}

impl Pool {
    /// Starts `threads` workers (at least one).
    pub fn new(threads: usize, name: &str) -> Result<Self> {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("firekeep-{name}-{i}"))
                .spawn(move || {
                    loop {
                        // Hold the lock only while taking a job, not while running it.
                        let job = match rx.lock() {
                            Ok(guard) => guard.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                })
                .map_err(|e| Error::io("starting a worker thread", e))?;
        }
        Ok(Pool { tx: Some(tx) })
    }

    /// Runs `f` on a worker; the future resolves to its result. A panic in `f` becomes an
    /// error instead of tearing down the caller.
    pub fn run<R, F>(&self, f: F) -> impl Future<Output = Result<R>> + Send + 'static
    where
        R: Send + 'static,
        F: FnOnce() -> Result<R> + Send + 'static,
    {
        let (done_tx, done_rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            // The receiver may be gone (operation abandoned); nothing to do then.
            let _ = done_tx.send(out);
        });
        let sent = self
            .tx
            .as_ref()
            .map(|tx| tx.send(job).is_ok())
            .unwrap_or(false);
        async move {
            if !sent {
                return Err(Error::InvalidInput("worker pool is shut down".into()));
            }
            match done_rx.await {
                Ok(Ok(result)) => result,
                Ok(Err(_panic)) => Err(Error::InvalidInput(
                    "internal error: a worker thread panicked; please report this bug".into(),
                )),
                Err(_) => Err(Error::InvalidInput(
                    "internal error: a worker thread stopped".into(),
                )),
            }
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Closing the channel makes idle workers exit.
        self.tx.take();
    }
}

/// The number of worker threads to use when the caller says 0 ("all cores").
pub(crate) fn default_parallelism() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}
