//! State shared by all workers of one runtime, and the operations on it: spawn, schedule,
//! notify, shutdown.
//!
//! # Where a task goes when it becomes runnable
//!
//! - Spawned or woken on a worker thread of this runtime: that worker's local queue (the task is
//!   likely to share data in that worker's cache with whoever woke it).
//! - Spawned or woken anywhere else (another runtime's worker, `block_on`, a plain thread): the
//!   injector.
//!
//! Either way, one idle worker is notified if nobody is searching (`idle.rs`).

use super::idle::Idle;
use super::metrics::WorkerMetrics;
use super::park::Unparker;
use super::Core;
use crate::loom::atomic::{AtomicBool, AtomicU64, Ordering};
use crate::loom::{lock, Condvar, Mutex};
use crate::queue::inject::Inject;
use crate::queue::local::Steal;
use crate::runtime::context;
use crate::runtime::Handle;
use crate::task::{self, JoinHandle, Notified, Registry, TaskAllocator, TaskId};
use crate::time::TimerDriver;
use std::future::Future;
use std::time::{Duration, Instant};

/// Everything the workers of one runtime share. Owned through `Handle` (`Arc<Shared>`).
pub(crate) struct Shared {
    /// Per worker: what other threads may do to it.
    pub(super) remotes: Box<[Remote]>,
    /// Tasks scheduled from outside the workers, and local overflow.
    pub(crate) inject: Inject<Notified>,
    /// Searching / parked bookkeeping.
    pub(super) idle: Idle,
    /// Every live task, for shutdown.
    pub(crate) registry: Registry,
    /// Next task id (ids start at 1).
    next_task_id: AtomicU64,
    /// Set once, by shutdown. Workers check it between tasks and after every wake.
    shutdown: AtomicBool,
    /// Worker exits and returned cores, for shutdown.
    pub(super) lifecycle: Mutex<Lifecycle>,
    /// Signalled when a worker exits.
    pub(super) exited: Condvar,
    /// Panics of task futures (and destructors) caught by `catch_unwind`.
    panics: AtomicU64,
    /// One per worker, each written only by its worker.
    pub(crate) worker_metrics: Box<[WorkerMetrics]>,
    /// How many search rounds an idle worker spins before parking.
    pub(super) spin_rounds: u32,
    /// Where task blocks come from.
    task_allocator: TaskAllocator,
    /// Timers of this runtime.
    pub(crate) timers: TimerDriver,
    /// How long before a timer deadline the waiter stops sleeping and spins.
    pub(super) timer_spin: Duration,
}

/// What other threads may do to a worker.
pub(crate) struct Remote {
    /// Steal from its local queue.
    pub(super) steal: Steal<Notified>,
    /// Wake it when it is parked.
    pub(super) unpark: Unparker,
}

/// Worker thread bookkeeping for shutdown.
pub(crate) struct Lifecycle {
    /// Worker threads still running their loop.
    pub(super) alive: usize,
    /// Cores handed back by exited workers, drained by the cleanup. Boxed because workers own
    /// and pass their core as a `Box` (it moves in and out of the thread-local context on every
    /// poll; a box makes that a pointer move).
    #[allow(clippy::vec_box)]
    pub(super) cores: Vec<Box<Core>>,
    /// The cleanup ran: a worker exiting later drains its own queue.
    pub(super) cleaned: bool,
    /// Shutdown was requested from a worker thread, which cannot wait for itself: the last worker
    /// to exit runs the cleanup.
    pub(super) cleanup_on_last_exit: bool,
}

impl Shared {
    /// Builds the shared state for `remotes.len()` workers.
    pub(crate) fn new(
        remotes: Vec<Remote>,
        spin_rounds: u32,
        task_allocator: TaskAllocator,
        timer_spin: Duration,
    ) -> Shared {
        let n = remotes.len();
        Shared {
            idle: Idle::new(n),
            inject: Inject::new(),
            registry: Registry::new(4 * n),
            next_task_id: AtomicU64::new(1),
            shutdown: AtomicBool::new(false),
            lifecycle: Mutex::new(Lifecycle {
                alive: n,
                cores: Vec::with_capacity(n),
                cleaned: false,
                cleanup_on_last_exit: false,
            }),
            exited: Condvar::new(),
            panics: AtomicU64::new(0),
            worker_metrics: (0..n).map(|_| WorkerMetrics::default()).collect(),
            remotes: remotes.into_boxed_slice(),
            spin_rounds,
            task_allocator,
            timers: TimerDriver::new(),
            timer_spin,
        }
    }

    /// Number of workers.
    pub(crate) fn num_workers(&self) -> usize {
        self.remotes.len()
    }

    /// Whether shutdown has begun.
    #[inline]
    pub(crate) fn is_shutdown(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }

    /// Counts a caught panic.
    pub(crate) fn count_panic(&self) {
        self.panics.fetch_add(1, Ordering::Relaxed);
    }

    /// Panics caught so far.
    pub(crate) fn panics(&self) -> u64 {
        self.panics.load(Ordering::Relaxed)
    }

    /// Unparks worker `index` (the timer waiter, when a new earliest timer arrives).
    pub(crate) fn unpark_worker(&self, index: usize) {
        self.remotes[index].unpark.unpark();
    }

    /// Fires due timers (see `TimerDriver::fire`), counting panicking wakers as panics.
    pub(crate) fn fire_timers(&self, now: u64) {
        let (_, panicked) = self.timers.fire(now);
        if panicked > 0 {
            self.panics.fetch_add(panicked as u64, Ordering::Relaxed);
        }
    }

    /// Wakes one parked worker if the idle protocol says so.
    #[inline]
    pub(crate) fn notify_parked(&self) {
        if let Some(index) = self.idle.worker_to_notify() {
            self.remotes[index].unpark.unpark();
        }
    }

    /// After the last searcher left: wake a worker if any queue has work.
    pub(super) fn notify_if_work_pending(&self) {
        let pending = self.remotes.iter().any(|r| !r.steal.is_empty()) || !self.inject.is_empty();
        if pending {
            self.notify_parked();
        }
    }

    /// Queues a task scheduled from outside the workers. After shutdown the task is dropped (it
    /// was cancelled by the registry drain; this releases the reference).
    pub(crate) fn schedule_remote(&self, task: Notified) {
        match self.inject.try_push(task) {
            Ok(()) => self.notify_parked(),
            Err(task) => drop(task),
        }
    }

    /// Begins shutdown: workers stop after their current poll. Returns `false` if it had begun.
    pub(crate) fn signal_shutdown(&self) -> bool {
        if self.shutdown.swap(true, Ordering::AcqRel) {
            return false;
        }
        for remote in self.remotes.iter() {
            remote.unpark.unpark();
        }
        true
    }

    /// Waits until every worker has exited or `timeout` passed. Returns the number still running.
    pub(crate) fn wait_for_workers(&self, timeout: Option<Duration>) -> usize {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut lifecycle = lock(&self.lifecycle);
        while lifecycle.alive > 0 {
            lifecycle = match deadline {
                None => match self.exited.wait(lifecycle) {
                    Ok(guard) => guard,
                    Err(poisoned) => poisoned.into_inner(),
                },
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        break;
                    }
                    match self.exited.wait_timeout(lifecycle, deadline - now) {
                        Ok((guard, _)) => guard,
                        Err(poisoned) => poisoned.into_inner().0,
                    }
                }
            };
        }
        lifecycle.alive
    }

    /// Asks the last exiting worker to run the cleanup (shutdown requested from a worker).
    pub(crate) fn cleanup_on_last_exit(&self) {
        let run_now = {
            let mut lifecycle = lock(&self.lifecycle);
            lifecycle.cleanup_on_last_exit = true;
            lifecycle.alive == 0
        };
        if run_now {
            self.cleanup();
        }
    }

    /// Called by a worker thread when its loop ends.
    pub(super) fn worker_exited(&self, mut core: Box<Core>) {
        let cleanup = {
            let mut lifecycle = lock(&self.lifecycle);
            lifecycle.alive -= 1;
            if lifecycle.cleaned {
                // Exited after the cleanup (a worker that outlived `shutdown_timeout`): release
                // what it still holds itself.
                drop(lifecycle);
                core.drain();
                false
            } else {
                lifecycle.cores.push(core);
                lifecycle.alive == 0 && lifecycle.cleanup_on_last_exit
            }
        };
        self.exited.notify_all();
        if cleanup {
            self.cleanup();
        }
    }

    /// Cancels every task and releases every queued reference. Runs once, after the workers
    /// stopped (or the wait for them timed out).
    ///
    /// Order matters: first the registry is closed and drained, dropping every future exactly
    /// once (destructors may wake or spawn tasks: wakes land in the still-open injector, spawns
    /// are refused and cancelled). Then the injector is closed and every run queue is drained,
    /// which only releases references: the futures are already gone.
    pub(crate) fn cleanup(&self) {
        let cores = {
            let mut lifecycle = lock(&self.lifecycle);
            if lifecycle.cleaned {
                return;
            }
            lifecycle.cleaned = true;
            std::mem::take(&mut lifecycle.cores)
        };
        self.registry.close();
        while let Some(task) = self.registry.pop() {
            task.shutdown();
        }
        // Futures dropped above cancelled their timers; drop what is left (timers of futures
        // that live outside this runtime's tasks), releasing their wakers.
        self.fire_timers(u64::MAX);
        self.inject.close();
        while let Some(task) = self.inject.pop() {
            drop(task);
        }
        for mut core in cores {
            core.drain();
        }
    }

    /// Spawns `future` onto the runtime that `handle` refers to.
    pub(crate) fn spawn<F>(handle: &Handle, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let shared = &handle.shared;
        let id = TaskId(shared.next_task_id.fetch_add(1, Ordering::Relaxed));
        let (registered, notified, join) =
            task::new_task(future, handle.clone(), id, shared.task_allocator);
        match shared.registry.bind(registered) {
            Ok(()) => context::schedule(handle, notified),
            Err(registered) => {
                // Shut down: the task never runs, its JoinHandle reports it cancelled.
                drop(notified);
                registered.shutdown();
            }
        }
        join
    }
}

impl Shared {
    /// A worker whose thread could not be started (or whose core was lost with the failed
    /// spawn): count it as exited.
    pub(crate) fn worker_never_started(&self, core: Option<Box<Core>>) {
        match core {
            Some(core) => self.worker_exited(core),
            None => {
                lock(&self.lifecycle).alive -= 1;
                self.exited.notify_all();
            }
        }
    }
}
