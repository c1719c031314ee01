//! The public methods of [`Handle`] (the type itself is the workers' handle: `worker/handle.rs`).

use crate::context;
use crate::metrics::Metrics;
use crate::sched::Sched;
use crate::task::JoinHandle;
use crate::trace::{Trace, TraceError};
use crate::worker::Handle;
use std::future::Future;

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
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_task(future)
    }

    /// Spawns a task with scheduling parameters; see
    /// [`Runtime::spawn_with`](crate::Runtime::spawn_with).
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// let h = rt.handle().spawn_with(kairos::Sched::default().name("x"), async { 2 });
    /// assert_eq!(rt.block_on(h).unwrap(), 2);
    /// ```
    #[track_caller]
    pub fn spawn_with<F>(&self, sched: Sched, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_task_with(sched, future)
    }

    /// A snapshot of the runtime's counters.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(2).build().unwrap();
    /// rt.block_on(rt.spawn(async {})).unwrap();
    /// assert!(rt.handle().metrics().polls >= 1);
    /// ```
    pub fn metrics(&self) -> Metrics {
        Metrics::read(self.shared())
    }

    /// Starts recording a runtime trace; see
    /// [`Runtime::start_trace`](crate::Runtime::start_trace).
    ///
    /// # Errors
    /// See [`Runtime::start_trace`](crate::Runtime::start_trace).
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// let handle = rt.handle();
    /// handle.start_trace(1024).unwrap();
    /// rt.block_on(handle.spawn(async {})).unwrap();
    /// assert!(handle.stop_trace().is_some());
    /// ```
    pub fn start_trace(&self, capacity: usize) -> Result<(), TraceError> {
        let shared = self.shared();
        shared.trace().start(shared.num_workers(), capacity)
    }

    /// Stops the running trace and returns it; see
    /// [`Runtime::stop_trace`](crate::Runtime::stop_trace).
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).trace(64).build().unwrap();
    /// assert!(rt.handle().stop_trace().is_some());
    /// assert!(rt.handle().stop_trace().is_none());
    /// ```
    pub fn stop_trace(&self) -> Option<Trace> {
        self.shared().trace().stop()
    }

    /// Every live task; see [`Runtime::dump`](crate::Runtime::dump).
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// let handle = rt.handle();
    /// let text = std::thread::spawn(move || handle.dump().to_string()).join().unwrap();
    /// assert!(text.starts_with("0 live task(s)"));
    /// ```
    pub fn dump(&self) -> crate::trace::TaskDump {
        let shared = self.shared();
        let now = crate::event::clock::now_ns();
        let source = match shared.task_table() {
            Some(table) => crate::trace::PollSource::Table(table),
            None => match shared.trace().poll_stats() {
                Some(polls) => crate::trace::PollSource::Trace(polls),
                None => crate::trace::PollSource::None,
            },
        };
        let mut tasks = Vec::with_capacity(shared.live_tasks());
        shared.for_each_task(|header| {
            tasks.push(crate::trace::task_info(header, &source, now));
        });
        crate::trace::TaskDump::new(tasks)
    }
}
