//! `Handle`: a cloneable reference to a runtime, usable from any thread.

use super::context;
use crate::loom::Arc;
use crate::metrics::Metrics;
use crate::sched::Sched;
use crate::task::{Header, JoinHandle, Notified, Schedule};
use crate::worker::Shared;
use std::fmt;
use std::future::Future;

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
    pub(crate) shared: Arc<Shared>,
}

impl Handle {
    /// The handle of the runtime this code runs in (a task, or inside `block_on`).
    ///
    /// # Panics
    /// Outside a kairos runtime. Use [`try_current`](Self::try_current) to check instead.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// rt.block_on(async {
    ///     let handle = kairos::Handle::current();
    ///     assert_eq!(handle.spawn(async { 1 }).await.unwrap(), 1);
    /// });
    /// ```
    pub fn current() -> Handle {
        Handle::try_current().expect(
            "kairos::Handle::current() called outside a kairos runtime: call it from a task or \
             inside Runtime::block_on, or pass a Handle obtained from Runtime::handle()",
        )
    }

    /// The handle of the runtime this code runs in, or `None` outside any runtime.
    ///
    /// ```
    /// assert!(kairos::Handle::try_current().is_none());
    /// ```
    pub fn try_current() -> Option<Handle> {
        context::with_handle(|h| h.cloned())
    }

    /// Spawns a task; see [`Runtime::spawn`](crate::Runtime::spawn).
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// let handle = rt.handle();
    /// assert_eq!(rt.block_on(handle.spawn(async { "hi" })).unwrap(), "hi");
    /// ```
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Shared::spawn(self, future)
    }

    /// Spawns a task with scheduling parameters; see
    /// [`Runtime::spawn_with`](crate::Runtime::spawn_with).
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// let h = rt.handle().spawn_with(kairos::Sched::default().name("x"), async { 2 });
    /// assert_eq!(rt.block_on(h).unwrap(), 2);
    /// ```
    pub fn spawn_with<F>(&self, sched: Sched, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Shared::spawn_sched(self, sched, future)
    }

    /// A snapshot of the runtime's counters.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(2).build().unwrap();
    /// rt.block_on(rt.spawn(async {})).unwrap();
    /// assert!(rt.handle().metrics().polls >= 1);
    /// ```
    pub fn metrics(&self) -> Metrics {
        Metrics::read(&self.shared)
    }

    pub(crate) fn ptr_eq(&self, other: &Handle) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl Schedule for Handle {
    #[inline]
    fn schedule(&self, task: Notified) {
        context::schedule(self, task);
    }

    #[inline]
    fn release(&self, task: &Header) -> bool {
        self.shared.registry.remove(task)
    }

    fn on_panic(&self) {
        self.shared.count_panic();
    }

    #[inline]
    fn poll_ended(&self, task: &Header) {
        context::poll_ended(self, task);
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("workers", &self.shared.num_workers())
            .finish_non_exhaustive()
    }
}
