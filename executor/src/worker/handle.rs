//! `Handle`: a cloneable reference to a runtime's workers, and the scheduler every task of that
//! runtime holds (its [`Schedule`] implementation).
//!
//! The type is defined here, with what the scheduler needs of it; its public methods (`current`,
//! `spawn`, `metrics`, `spawn_periodic`, ...) are in `runtime/handle.rs` and
//! `runtime/periodic.rs`.

use super::Shared;
use crate::context;
use crate::event;
use crate::loom::Arc;
use crate::task::{Header, Notified, Schedule};
use std::fmt;
use std::task::Waker;

/// A handle to a runtime: spawn tasks onto it from any thread.
///
/// `Clone + Send + Sync`; obtained from [`Runtime::handle`](crate::Runtime::handle) or, inside the
/// runtime, [`Handle::current`]. A handle does not keep the runtime's threads alive: once the
/// [`Runtime`](crate::Runtime) is dropped, spawning through a handle returns a `JoinHandle` that
/// resolves to a cancelled [`JoinError`](crate::JoinError).
///
/// ```
/// let rt = kairos::Runtime::builder().workers(2).build().unwrap();
/// let handle = rt.handle();
/// let answer = std::thread::spawn(move || handle.spawn(async { 42 }))
///     .join()
///     .unwrap();
/// assert_eq!(rt.block_on(answer).unwrap(), 42);
/// ```
#[derive(Clone)]
pub struct Handle {
    /// The workers' shared state.
    shared: Arc<Shared>,
}

impl Handle {
    /// A handle to `shared`.
    pub(super) fn new(shared: Shared) -> Handle {
        Handle {
            shared: Arc::new(shared),
        }
    }

    /// The workers' shared state.
    #[inline]
    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    /// Whether both handles refer to the same runtime.
    #[inline]
    pub(crate) fn ptr_eq(&self, other: &Handle) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl Schedule for Handle {
    #[inline]
    fn schedule(&self, task: Notified) {
        super::schedule::schedule_woken(self, task);
    }

    #[inline]
    fn release(&self, task: &Header) -> bool {
        self.shared.release(task)
    }

    fn on_panic(&self) {
        self.shared.count_panic();
    }

    /// Charges and records the poll, if it was this worker's current one and it is over (under
    /// the simulator a poll that charged a `work` slice continues, and is accounted for when it
    /// really ends).
    #[inline]
    fn poll_ended(&self, task: &Header) {
        if let Some((worker, start, latency)) = context::take_poll(task) {
            if event::continues(task.id.0) {
                return;
            }
            self.shared.poll_ended(worker, task, start, latency);
        }
    }

    /// Under `Edf` and `Priority`, republishes the running task's urgency (`ordered.rs`).
    fn rekeyed(&self, task: &Header) {
        if let Some(worker) = context::current_worker() {
            self.shared.running_rekeyed(worker, task);
        }
    }

    /// Under `Edf` and `Priority`, moves the task to its new place in the queue it waits in, or
    /// republishes its urgency if it runs on this thread (`ordered.rs`).
    fn reprioritized(&self, task: &Header) {
        self.shared.reprioritized(task);
    }

    #[inline]
    fn should_yield() -> bool {
        crate::coop::should_yield()
    }

    #[inline]
    fn proceed(waker: &Waker) -> bool {
        crate::coop::proceed(waker)
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("workers", &self.shared.num_workers())
            .finish_non_exhaustive()
    }
}
