//! `Runtime`: the worker threads, and starting and stopping them.
//!
//! # Shutdown
//!
//! Dropping the runtime, or [`Runtime::shutdown_timeout`]:
//!
//! 1. sets the shutdown flag and unparks every worker; each stops after its current poll and hands
//!    its core (local queue) back;
//! 2. waits for the workers (forever on drop, up to the timeout otherwise) and joins them;
//! 3. cleans up: closes the task registry and cancels every live task, dropping each pending
//!    future exactly once (destructors run on the thread that shuts down); then closes the
//!    injector and releases every queued reference, so every task block is freed.
//!
//! A worker still inside a poll when the timeout expires is detached and finishes that poll. If
//! the poll returns `Ready`, the task completes normally and its `JoinHandle` gets the output (the
//! work was done; the output is not thrown away); if it returns `Pending`, the task sees
//! `CANCELLED`, its future is dropped then and its `JoinHandle` resolves to a cancelled
//! `JoinError`. The worker releases its own queue on exit.
//! Dropping a runtime from one of its own workers cannot wait for that worker: the last worker to
//! exit runs the cleanup instead.

mod block_on;
mod builder;
mod handle;
pub(crate) mod periodic;
pub(crate) mod thread_setup;

pub use crate::worker::Handle;
pub use builder::{
    Builder, Policy, DEADLINE_CLASS_FIFO_PRIORITY, DEFAULT_AGING_INTERVAL, DEFAULT_DEADLINE_SHARE,
    DEFAULT_FAIR_RESERVE, DEFAULT_FAIR_SLICE, PREEMPTIVE_CLASSES_TIMER_SPIN,
};
pub use thread_setup::WorkerPriority;

use crate::context;
use crate::error::{BuildError, ShutdownError};
use crate::metrics::Metrics;
use crate::task::JoinHandle;
use crate::trace::{Trace, TraceError};
use crate::worker;
use std::fmt;
use std::future::Future;
use std::time::Duration;
use thread_setup::{SetupError, ThreadSetup};

/// A kairos runtime: worker threads polling tasks under a scheduling policy.
///
/// ```
/// use kairos::Runtime;
///
/// let rt = Runtime::builder().workers(2).build().unwrap();
/// let tasks: Vec<_> = (0..10u64).map(|i| rt.spawn(async move { i * i })).collect();
/// let sum = rt.block_on(async {
///     let mut sum = 0;
///     for t in tasks {
///         sum += t.await.unwrap();
///     }
///     sum
/// });
/// assert_eq!(sum, 285);
/// ```
pub struct Runtime {
    handle: Handle,
    /// Worker threads; emptied by shutdown.
    threads: Vec<std::thread::JoinHandle<()>>,
    /// A current-thread runtime's one worker core, while no `block_on` drives it
    /// ([`Builder::current_thread`]); `None` for a runtime with worker threads.
    driver: Option<crate::loom::Mutex<Option<crate::worker::AnyCore>>>,
    /// `Builder::cpu_latency_qos`'s request, withdrawn when the runtime is dropped (after the
    /// shutdown in `drop`).
    cpu_latency_qos: Option<crate::sys::CpuLatencyQos>,
}

impl Runtime {
    /// A [`Builder`] with the defaults.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// A runtime with the defaults (one worker per core, FIFO).
    ///
    /// # Errors
    /// See [`Builder::build`].
    ///
    /// ```
    /// let rt = kairos::Runtime::new().unwrap();
    /// assert_eq!(rt.block_on(async { 3 }), 3);
    /// ```
    pub fn new() -> Result<Runtime, BuildError> {
        Builder::new().build()
    }

    /// Starts the worker threads of `config`, each with its thread setup (pinning, priority).
    pub(crate) fn start(
        config: worker::Config,
        setups: Vec<ThreadSetup>,
        thread_name: &str,
        trace: Option<usize>,
        long_poll: Option<crate::trace::long_poll::Callback>,
        current_thread: bool,
    ) -> Result<Runtime, BuildError> {
        #[cfg(not(loom))]
        if config.task_allocator == crate::task::TaskAllocator::Pool {
            // Reserve and pre-fault the task pool now, not on the first spawn's latency path.
            let _ = crate::task::task_pool();
        }
        let workers = config.workers;
        let (handle, cores) = worker::build(config);
        if let Some(callback) = long_poll {
            handle.shared().trace().long_poll.set(callback);
        }
        if let Some(capacity) = trace {
            // Before any worker runs: each installs its sink at its first step. The capacity
            // was checked by the builder and no trace runs yet, so this cannot fail.
            let _ = handle.shared().trace().start(workers, capacity);
        }
        if current_thread {
            // No thread: `block_on` drives the one core on the calling thread.
            return Ok(Runtime {
                handle,
                threads: Vec::new(),
                driver: Some(crate::loom::Mutex::new(cores.into_iter().next())),
                cpu_latency_qos: None,
            });
        }
        let mut runtime = Runtime {
            handle: handle.clone(),
            threads: Vec::with_capacity(workers),
            driver: None,
            cpu_latency_qos: None,
        };
        // Each worker applies its own pinning and priority and reports here before it runs
        // anything; `build()` fails if any of them could not.
        let (report_tx, report_rx) = std::sync::mpsc::channel::<(usize, Result<(), SetupError>)>();
        let mut cores = cores.into_iter().zip(setups).enumerate();
        while let Some((index, (core, setup))) = cores.next() {
            let thread_handle = handle.clone();
            let report = report_tx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("{thread_name}-{index}"))
                .spawn(move || {
                    let _ = report.send((index, thread_setup::apply(&setup)));
                    drop(report);
                    worker::run(core, thread_handle)
                });
            match spawned {
                Ok(thread) => runtime.threads.push(thread),
                Err(source) => {
                    // The closure (with its core) was dropped; account for it and the cores that
                    // never got a thread, then stop the ones that did.
                    runtime.handle.shared().worker_never_started(None);
                    for (_, (core, _)) in cores.by_ref() {
                        runtime.handle.shared().worker_never_started(Some(core));
                    }
                    drop(runtime);
                    return Err(BuildError::SpawnWorker { index, source });
                }
            }
        }
        drop(report_tx);
        let mut first_error = None;
        for (index, result) in report_rx.iter().take(workers) {
            if let Err(err) = result {
                let err = match err {
                    SetupError::Pin { core } => BuildError::Pin {
                        worker: index,
                        core,
                    },
                    SetupError::Priority { priority, source } => BuildError::Priority {
                        worker: index,
                        priority,
                        missing: thread_setup::missing_privilege(priority),
                        source,
                    },
                };
                // Report the lowest worker index for a stable message.
                if first_error.as_ref().is_none_or(|(i, _)| index < *i) {
                    first_error = Some((index, err));
                }
            }
        }
        match first_error {
            // Dropping the runtime stops the workers that did start.
            Some((_, err)) => Err(err),
            None => Ok(runtime),
        }
    }

    /// Spawns a task onto the runtime and returns its [`JoinHandle`].
    ///
    /// The task starts running on a worker at once; awaiting the handle is only needed for the
    /// output. From outside the runtime the task goes to the global queue; from inside a task,
    /// prefer [`kairos::spawn`](crate::spawn), which uses the worker's local queue.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(2).build().unwrap();
    /// let handle = rt.spawn(async { "done" });
    /// assert_eq!(rt.block_on(handle).unwrap(), "done");
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }

    /// Spawns a task with scheduling parameters (deadline, priority, nice value, name; see
    /// [`Sched`](crate::Sched)) and returns its [`JoinHandle`]. A relative deadline counts from
    /// now.
    ///
    /// ```
    /// use kairos::{Policy, Runtime, Sched};
    /// use std::time::Duration;
    /// let rt = Runtime::builder().workers(1).policy(Policy::Edf).build().unwrap();
    /// let h = rt.spawn_with(Sched::default().deadline(Duration::from_millis(5)), async { 9 });
    /// assert_eq!(rt.block_on(h).unwrap(), 9);
    /// ```
    #[track_caller]
    pub fn spawn_with<F>(&self, sched: crate::sched::Sched, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn_with(sched, future)
    }

    /// Runs `future` to completion on the current thread, with this runtime as the context (so
    /// `kairos::spawn` inside it spawns onto this runtime), and returns its output.
    ///
    /// # Panics
    /// On a worker thread of any kairos runtime: that would block the worker and can deadlock.
    /// `.await` the future instead. Panics of `future` itself propagate to the caller.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// let v = rt.block_on(async {
    ///     let a = kairos::spawn(async { 20 });
    ///     let b = kairos::spawn(async { 22 });
    ///     a.await.unwrap() + b.await.unwrap()
    /// });
    /// assert_eq!(v, 42);
    /// ```
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        match &self.driver {
            Some(slot) => block_on::drive(&self.handle, slot, future),
            None => block_on::block_on(&self.handle, future),
        }
    }

    /// A handle for spawning from other threads.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// let handle = rt.handle();
    /// let t = std::thread::spawn(move || handle.spawn(async { 5 }));
    /// assert_eq!(rt.block_on(t.join().unwrap()).unwrap(), 5);
    /// ```
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// A snapshot of the runtime's counters.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// rt.block_on(rt.spawn(async {})).unwrap();
    /// assert_eq!(rt.metrics().live_tasks, 0);
    /// ```
    pub fn metrics(&self) -> Metrics {
        self.handle.metrics()
    }

    /// Starts recording a runtime trace with room for `capacity` events per worker (see
    /// [`kairos::trace`](crate::trace)). A worker that is parked installs its recorder when it
    /// next wakes.
    ///
    /// # Errors
    /// [`TraceError::AlreadyTracing`] if a trace runs (stop it first),
    /// [`TraceError::ZeroCapacity`] for a capacity of 0.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(2).build().unwrap();
    /// rt.start_trace(1 << 16).unwrap();
    /// assert!(rt.start_trace(16).is_err());
    /// rt.block_on(rt.spawn(async {})).unwrap();
    /// let trace = rt.stop_trace().unwrap();
    /// assert_eq!(trace.workers(), 2);
    /// ```
    pub fn start_trace(&self, capacity: usize) -> Result<(), TraceError> {
        self.handle.start_trace(capacity)
    }

    /// Stops the running trace and returns it, or `None` if none runs. Does not wait for the
    /// workers: an event being recorded at this moment may be left out.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// assert!(rt.stop_trace().is_none());
    /// ```
    pub fn stop_trace(&self) -> Option<Trace> {
        self.handle.stop_trace()
    }

    /// Every live task: id, name, state, scheduling parameters, and with
    /// [`Builder::track_tasks`] its spawn location and poll statistics (without it, while a
    /// trace runs, its poll statistics since the trace started). Callable from any thread while
    /// the runtime runs; see [`TaskDump`](crate::trace::TaskDump).
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// let t = rt.spawn_with(kairos::Sched::default().name("forever"), std::future::pending::<()>());
    /// let dump = rt.dump();
    /// assert_eq!(dump.tasks().len(), 1);
    /// assert_eq!(dump.tasks()[0].name, Some("forever"));
    /// # drop(t);
    /// ```
    pub fn dump(&self) -> crate::trace::TaskDump {
        self.handle.dump()
    }

    /// Shuts the runtime down, waiting at most `timeout` for workers to finish their current
    /// poll; then cancels every remaining task (see the module docs). Dropping the runtime does
    /// the same but waits without limit.
    ///
    /// # Errors
    /// [`ShutdownError::TimedOut`] if some workers were still inside a poll at the deadline. The
    /// runtime is shut down either way.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = kairos::Runtime::builder().workers(2).build().unwrap();
    /// let pending = rt.spawn(std::future::pending::<()>());
    /// rt.shutdown_timeout(Duration::from_secs(10)).unwrap();
    /// assert!(pending.is_finished());
    /// ```
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Result<(), ShutdownError> {
        match self.shutdown(Some(timeout)) {
            0 => Ok(()),
            stuck => Err(ShutdownError::TimedOut { stuck, timeout }),
        }
    }

    /// Stops the workers and cleans up; returns how many workers did not stop in time.
    fn shutdown(&mut self, timeout: Option<Duration>) -> usize {
        let shared = self.handle.shared();
        if !shared.signal_shutdown() && self.threads.is_empty() && self.driver.is_none() {
            return 0;
        }
        if let Some(slot) = self.driver.take() {
            // A current-thread runtime: its core is in the slot (no `block_on` can be running,
            // it borrows the runtime); it exits here, as a worker thread's loop would.
            let core = slot.into_inner().unwrap_or_else(|p| p.into_inner());
            if let Some(core) = core {
                shared.worker_exited(core);
            }
        }
        if context::is_worker_of(&self.handle) {
            // We are one of the workers: we cannot wait for ourselves.
            self.threads.clear();
            shared.cleanup_on_last_exit();
            return 0;
        }
        let stuck = shared.wait_for_workers(timeout);
        for thread in self.threads.drain(..) {
            if stuck == 0 || thread.is_finished() {
                // Worker loops do not panic (task panics are caught), so `join` returns Ok.
                let _ = thread.join();
            }
        }
        shared.cleanup();
        stuck
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shutdown(None);
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("workers", &self.handle.shared().num_workers())
            .finish_non_exhaustive()
    }
}
