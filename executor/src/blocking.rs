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
/// past that queue), and an idle thread exits after 10 s. The closure is not cancelled by
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
