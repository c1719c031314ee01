//! The blocking pool: threads for work that blocks (file I/O, `std` calls, long computations
//! that must not hold a worker), outside the workers.
//!
//! # Protocol
//!
//! Jobs go through a `crossbeam-channel` queue (unbounded: a job is never refused; the pool's
//! thread count is what is bounded). The pool counts, under one mutex, its `threads`, how many
//! are `idle` (waiting on the queue) and how many jobs are `queued` (sent, not yet received):
//!
//! - **submit**: send the job, `queued += 1`; if fewer threads are idle than jobs are queued
//!   and the pool has fewer than its `max_threads` ([`Limits`]; default [`MAX_THREADS`]),
//!   start a thread. So the pool grows only when
//!   no idle thread can take the job, and at most to the bound (jobs past it wait in the queue).
//! - **a thread**: `idle += 1`, wait on the queue for at most its `keep_alive` (default
//!   [`KEEP_ALIVE`]); with a job, `idle -= 1, queued -= 1` and run it. After `keep_alive`
//!   without one (at once for a zero keep-alive), it exits
//!   (`threads -= 1`) unless jobs are still queued (sent before it counted itself idle: another
//!   idle thread takes them, but the check keeps the last thread from leaving them behind).
//!   An idle pool thus shrinks back to zero threads.
//! - **shutdown**: dropping the pool (with the runtime) drops the sender: threads finish the
//!   queued jobs, then see the channel disconnected and exit. Nobody waits for them: a job that
//!   blocks forever keeps only its own thread.
//!
//! A job's panic is caught by the job itself (`blocking.rs` sends it to the awaiting task), so
//! a pool thread never unwinds.

use crate::loom::{lock, Arc, Mutex};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

/// Most threads one runtime's pool runs at once by default (tokio's default, 512).
pub(crate) const MAX_THREADS: usize = 512;

/// How long an idle pool thread waits for a job before it exits, by default (tokio's, 10 s).
pub(crate) const KEEP_ALIVE: Duration = Duration::from_secs(10);

/// The pool's bound and keep-alive (`Builder::max_blocking_threads`,
/// `Builder::blocking_keep_alive`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Most threads at once (at least 1).
    pub(crate) max_threads: usize,
    /// How long an idle thread waits for a job before it exits (zero: at once).
    pub(crate) keep_alive: Duration,
}

impl Default for Limits {
    /// [`MAX_THREADS`] and [`KEEP_ALIVE`].
    fn default() -> Limits {
        Limits {
            max_threads: MAX_THREADS,
            keep_alive: KEEP_ALIVE,
        }
    }
}

/// A job: a closure that does the work and reports its result itself.
pub(crate) type Job = Box<dyn FnOnce() + Send + 'static>;

/// One runtime's blocking pool. No thread runs until the first job.
pub(crate) struct BlockingPool {
    /// The queue's sending end; dropped with the pool, which stops the threads.
    sender: Sender<Job>,
    /// What the threads share.
    inner: Arc<Inner>,
}

/// The threads' side.
struct Inner {
    /// The queue's receiving end.
    receiver: Receiver<Job>,
    /// Thread and job counts.
    counts: Mutex<Counts>,
    /// How long an idle thread waits before exiting.
    keep_alive: Duration,
    /// The bound on `threads`.
    max_threads: usize,
}

/// The pool's counts (see the module docs).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    /// Running threads.
    pub(crate) threads: usize,
    /// Threads waiting for a job.
    pub(crate) idle: usize,
    /// Jobs sent and not yet taken.
    pub(crate) queued: usize,
}

impl BlockingPool {
    /// An empty pool with `limits`.
    pub(crate) fn new(limits: Limits) -> BlockingPool {
        Self::with_limits(limits.max_threads, limits.keep_alive)
    }

    /// An empty pool of at most `max_threads` threads that exit after `keep_alive` idle.
    pub(crate) fn with_limits(max_threads: usize, keep_alive: Duration) -> BlockingPool {
        let (sender, receiver) = crossbeam_channel::unbounded();
        BlockingPool {
            sender,
            inner: Arc::new(Inner {
                receiver,
                counts: Mutex::new(Counts::default()),
                keep_alive,
                max_threads: max_threads.max(1),
            }),
        }
    }

    /// Queues `job`, starting a thread if no idle one can take it (see the module docs).
    /// Returns an error only if the OS refused to start the first thread.
    pub(crate) fn submit(&self, job: Job) -> std::io::Result<()> {
        let mut counts = lock(&self.inner.counts);
        if self.sender.send(job).is_err() {
            unreachable!("the pool holds a receiver while it lives");
        }
        counts.queued += 1;
        if counts.idle >= counts.queued || counts.threads >= self.inner.max_threads {
            return Ok(());
        }
        counts.threads += 1;
        let inner = self.inner.clone();
        let spawned = std::thread::Builder::new()
            .name("kairos-blocking".into())
            .spawn(move || inner.run());
        match spawned {
            Ok(_) => Ok(()),
            Err(e) => {
                counts.threads -= 1;
                if counts.threads == 0 {
                    // Nobody will ever run the job: take it back so the error is the answer.
                    if self.inner.receiver.try_recv().is_ok() {
                        counts.queued -= 1;
                    }
                    return Err(e);
                }
                // Running threads will take it.
                Ok(())
            }
        }
    }

    /// The current counts (tests).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn counts(&self) -> Counts {
        *lock(&self.inner.counts)
    }

    /// The bound and keep-alive the pool runs with (tests).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn limits(&self) -> Limits {
        Limits {
            max_threads: self.inner.max_threads,
            keep_alive: self.inner.keep_alive,
        }
    }
}

impl Inner {
    /// A pool thread's loop.
    fn run(&self) {
        loop {
            lock(&self.counts).idle += 1;
            match self.receiver.recv_timeout(self.keep_alive) {
                Ok(job) => {
                    {
                        let mut counts = lock(&self.counts);
                        counts.idle -= 1;
                        counts.queued -= 1;
                    }
                    job();
                }
                Err(RecvTimeoutError::Timeout) => {
                    let mut counts = lock(&self.counts);
                    counts.idle -= 1;
                    if counts.queued == 0 {
                        counts.threads -= 1;
                        return;
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let mut counts = lock(&self.counts);
                    counts.idle -= 1;
                    counts.threads -= 1;
                    return;
                }
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn grows_to_the_bound_then_queues_and_shrinks_when_idle() {
        let pool = BlockingPool::with_limits(2, Duration::from_millis(1));
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let release_rx = Arc::new(Mutex::new(release_rx));
        let (done_tx, done_rx) = mpsc::channel::<usize>();
        for i in 0..3 {
            let release_rx = release_rx.clone();
            let done_tx = done_tx.clone();
            pool.submit(Box::new(move || {
                lock(&release_rx).recv().unwrap();
                done_tx.send(i).unwrap();
            }))
            .unwrap();
        }
        // Two threads at most; the third job waits in the queue.
        assert_eq!(pool.counts().threads, 2);
        for _ in 0..3 {
            release_tx.send(()).unwrap();
        }
        let mut done: Vec<usize> = (0..3).map(|_| done_rx.recv().unwrap()).collect();
        done.sort_unstable();
        assert_eq!(done, [0, 1, 2]);
        // Idle threads exit after the keep-alive: wait for it without a timing threshold by
        // polling the count until it reaches zero (each check yields).
        while pool.counts().threads > 0 {
            std::thread::yield_now();
        }
        assert_eq!(pool.counts(), Counts::default());
        // And it grows again.
        let (tx, rx) = mpsc::channel();
        pool.submit(Box::new(move || tx.send(7).unwrap())).unwrap();
        assert_eq!(rx.recv().unwrap(), 7);
    }
}
