//! `spawn_blocking`: run a blocking closure on the runtime's blocking pool
//! (`worker/blocking.rs`) and await its result through an ordinary [`JoinHandle`].
//!
//! The closure goes to the pool at once; a small task of the runtime waits for its result on a
//! one-shot slot (result, then waker, under one lock) and completes with it, so the handle is
//! the one `spawn` returns: awaiting it gives the closure's value, or a `JoinError` if the
//! closure panicked. Aborting the handle (or dropping the runtime) drops the waiting task; the
//! closure still runs to its end on its thread, as there is no way to stop a blocking call.
//!
//! Inside the simulator (`kairos::sim`), where time is virtual and threads would make runs
//! irreproducible, the closure runs at once on the calling thread, inside `spawn_blocking`,
//! and the handle completes with its result: deterministic, and it never hangs. Its blocking
//! time is not charged to virtual time (use `kairos::work` to model CPU time).

use crate::context;
use crate::event::clock::is_virtual;
use crate::loom::{lock, Arc, Mutex};
use crate::task::JoinHandle;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// What the closure produced: its value or its panic.
type Outcome<R> = std::thread::Result<R>;

/// The one-shot slot between the pool thread and the waiting task.
struct Slot<R> {
    /// The outcome, once the closure returned.
    outcome: Option<Outcome<R>>,
    /// The waiting task's waker.
    waker: Option<Waker>,
}

/// The waiting task's future.
struct Wait<R> {
    /// Shared with the job.
    slot: Arc<Mutex<Slot<R>>>,
}

impl<R> Future for Wait<R> {
    type Output = R;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<R> {
        let mut slot = lock(&self.slot);
        match slot.outcome.take() {
            Some(Ok(value)) => Poll::Ready(value),
            // The task panics with the closure's payload: its JoinHandle reports the panic.
            Some(Err(panic)) => {
                drop(slot);
                std::panic::resume_unwind(panic)
            }
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// Runs `f` on the runtime's blocking pool, so that it does not hold a worker; returns the
/// handle to await its result.
///
/// For work that blocks the thread: file I/O, `std` calls that wait, long computations. The
/// pool grows by a thread when no idle one can take a job, up to 512 threads per runtime (jobs
/// past that queue; [`Builder::max_blocking_threads`](crate::Builder::max_blocking_threads)),
/// and an idle thread exits after 10 s
/// ([`Builder::blocking_keep_alive`](crate::Builder::blocking_keep_alive)). The closure is not cancelled by
/// aborting the handle. Inside `kairos::sim` it runs at once on the calling thread (see the
/// module docs).
///
/// # Panics
///
/// Outside a kairos runtime (a task, or `Runtime::block_on`), as `kairos::spawn`.
///
/// ```
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// let sum = rt.block_on(async {
///     kairos::spawn_blocking(|| (1..=10u64).sum::<u64>()).await.unwrap()
/// });
/// assert_eq!(sum, 55);
/// ```
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    context::with_handle(|handle| {
        let Some(handle) = handle else {
            panic!(
                "kairos::spawn_blocking called outside a kairos runtime: call it from a task or \
                 inside Runtime::block_on"
            )
        };
        let run = move || std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        if is_virtual() {
            let outcome = run();
            return handle.spawn(async move {
                match outcome {
                    Ok(value) => value,
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            });
        }
        let slot = Arc::new(Mutex::new(Slot {
            outcome: None,
            waker: None,
        }));
        let job_slot = slot.clone();
        let job = Box::new(move || {
            let outcome = run();
            let waker = {
                let mut slot = lock(&job_slot);
                slot.outcome = Some(outcome);
                slot.waker.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        });
        match handle.shared().blocking().submit(job) {
            Ok(()) => handle.spawn(Wait { slot }),
            Err(e) => handle.spawn(async move {
                panic!("kairos::spawn_blocking: the OS refused to start a pool thread: {e}")
            }),
        }
    })
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::worker::blocking::{Counts, Limits};
    use std::sync::{mpsc, Arc, Mutex};
    use std::time::Duration;

    /// The pool's counts and limits, read on a thread of `rt`.
    fn pool(rt: &crate::Runtime) -> (Counts, Limits) {
        rt.block_on(async {
            crate::context::with_handle(|h| match h {
                Some(h) => (
                    h.shared().blocking().counts(),
                    h.shared().blocking().limits(),
                ),
                None => unreachable!("block_on enters the runtime"),
            })
        })
    }

    /// The pool's counts.
    fn counts(rt: &crate::Runtime) -> Counts {
        pool(rt).0
    }

    /// `max_blocking_threads(2)`: three jobs that block run two at a time, the third waits in
    /// the queue; with `blocking_keep_alive(ZERO)` the pool then shrinks back to no thread.
    /// No clock: "started" and "release" are channels, and the shrink is waited for by watching
    /// the count, so a pool that never shrinks hangs the test instead of passing.
    #[test]
    fn builder_knobs_bound_the_pool_and_a_zero_keep_alive_empties_it() {
        let rt = crate::Runtime::builder()
            .workers(1)
            .max_blocking_threads(2)
            .blocking_keep_alive(Duration::ZERO)
            .build()
            .unwrap();
        let limits = Limits {
            max_threads: 2,
            keep_alive: Duration::ZERO,
        };
        assert_eq!(pool(&rt).1, limits);
        let (started_tx, started_rx) = mpsc::channel::<usize>();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let release_rx = Arc::new(Mutex::new(release_rx));
        let handles: Vec<_> = rt.block_on(async {
            (0..3)
                .map(|i| {
                    let started_tx = started_tx.clone();
                    let release_rx = release_rx.clone();
                    crate::spawn_blocking(move || {
                        started_tx.send(i).unwrap();
                        release_rx.lock().unwrap().recv().unwrap();
                        i
                    })
                })
                .collect()
        });
        let first = [started_rx.recv().unwrap(), started_rx.recv().unwrap()];
        // Both threads are blocked in their jobs: the third job cannot have started, and the
        // pool did not grow past its bound.
        assert_eq!(
            started_rx.try_recv(),
            Err(mpsc::TryRecvError::Empty),
            "{first:?}"
        );
        let c = counts(&rt);
        assert_eq!((c.threads, c.idle, c.queued), (2, 0, 1));
        for _ in 0..3 {
            release_tx.send(()).unwrap();
        }
        let sum: usize = handles.into_iter().map(|h| rt.block_on(h).unwrap()).sum();
        assert_eq!(sum, 3);
        while counts(&rt).threads > 0 {
            std::thread::yield_now();
        }
        assert_eq!(counts(&rt), Counts::default());
        // The defaults without the knobs.
        let rt = crate::Runtime::builder().workers(1).build().unwrap();
        assert_eq!(pool(&rt).1, Limits::default());
    }

    /// A pool of no threads could never run a job: the builder refuses it and says what to do.
    #[test]
    fn zero_blocking_threads_is_refused() {
        let err = crate::Runtime::builder()
            .max_blocking_threads(0)
            .build()
            .err()
            .unwrap();
        let text = err.to_string();
        assert!(text.contains("max_blocking_threads"), "{text}");
        assert!(text.contains("1 or more"), "{text}");
    }
}
