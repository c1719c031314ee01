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
use super::preempt::{self, Slot};
use super::Core;
use crate::loom::atomic::{AtomicBool, AtomicU64, Ordering};
use crate::loom::{lock, Arc, Condvar, Mutex};
use crate::policy::runqueue::{self, QueueOrder, TaskKey, Urgency};
use crate::queue::inject::Inject;
use crate::queue::local::Steal;
use crate::queue::ordered::Ordered;
use crate::runtime::context;
use crate::runtime::{Handle, Policy};
use crate::sched::Sched;
use crate::task::{self, JoinHandle, Notified, Registry, SchedState, TaskAllocator, TaskId};
use crate::time::{now_ns, Instant as RtInstant, TimerDriver};
use std::future::Future;
use std::time::{Duration, Instant};

/// Virtual nanoseconds a worker's running tasks advance between two raises of the runtime-wide
/// fair-share floor: 100 µs of virtual time, a tenth of the default slice, so placement is off
/// by at most that much and the shared floor is written at most ~10,000 times per CPU-second.
const FLOOR_GRANULE: u64 = 100_000;

/// Everything the workers of one runtime share. Owned through `Handle` (`Arc<Shared>`).
pub(crate) struct Shared {
    /// Per worker: what other threads may do to it.
    pub(crate) remotes: Box<[Remote]>,
    /// `Fifo`: tasks scheduled from outside the workers, and local overflow.
    pub(crate) inject: Inject<Notified>,
    /// Ordered policies: tasks scheduled from outside the workers, in policy order.
    pub(crate) global: Option<Ordered<Notified>>,
    /// The scheduling policy and its parameters.
    pub(crate) sched: SchedConfig,
    /// Periodic tasks admitted by admission control.
    pub(crate) admitted: Mutex<crate::runtime::periodic::Admitted>,
    /// `Fair`: the runtime-wide virtual-time floor (see `policy/runqueue.rs`), raised coarsely
    /// by the workers as they run tasks.
    fair_floor: AtomicU64,
    /// Searching / parked bookkeeping.
    pub(crate) idle: Idle,
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

/// What a push onto a worker's own queue asks of the caller (`context::schedule`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wake {
    /// Nothing: this worker runs the task when its current poll returns.
    No,
    /// Wake a parked worker now: other tasks were queued ahead of this one, or it is more
    /// urgent than this worker's running task while another worker idles.
    Now,
    /// The only queued task, no more urgent than this worker's running task, while another
    /// worker idles: wake a parked worker at this poll's next cooperative check if the task is
    /// still queued then (`context::should_yield`). A poll that returns first (a task that
    /// wakes another and then awaits, as in a ping-pong) costs no wake-up and no migration; a
    /// long poll delays the task by at most one cooperative-check gap.
    AtCheck,
}

/// The policy a runtime schedules by, with its parameters.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SchedConfig {
    /// The policy.
    pub(crate) policy: Policy,
    /// Its ordered structure (`None` for `Fifo`).
    pub(crate) ordering: Option<QueueOrder>,
    /// `Fair`: a poll longer than this is asked to yield (ns); `u64::MAX` under the others.
    pub(crate) fair_slice: u64,
    /// Whether `spawn_periodic` runs a schedulability test.
    pub(crate) admission_control: bool,
    /// Whether every poll's scheduling latency and duration go into the histograms.
    pub(crate) record_latency: bool,
}

/// What other threads may do to a worker.
pub(crate) struct Remote {
    /// Steal from its local queue.
    pub(crate) queue: RemoteQueue,
    /// Wake it when it is parked.
    pub(super) unpark: Unparker,
    /// Preemption request and running urgency (`worker/preempt.rs`).
    pub(crate) slot: Slot,
}

/// The stealable end of a worker's run queue.
pub(crate) enum RemoteQueue {
    /// `Fifo`: the ring's stealer end.
    Fifo(Steal<Notified>),
    /// Ordered policies: the queue itself (thieves `try_lock` it).
    Ordered(Arc<Ordered<Notified>>),
}

impl RemoteQueue {
    /// Whether the queue looked empty.
    fn is_empty(&self) -> bool {
        match self {
            RemoteQueue::Fifo(steal) => steal.is_empty(),
            RemoteQueue::Ordered(q) => q.is_empty(),
        }
    }
}

impl Remote {
    /// A worker's remote side.
    pub(super) fn new(queue: RemoteQueue, unpark: Unparker) -> Remote {
        Remote {
            queue,
            unpark,
            slot: Slot::new(),
        }
    }
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
        sched: SchedConfig,
    ) -> Shared {
        let n = remotes.len();
        Shared {
            idle: Idle::new(n),
            inject: Inject::new(),
            global: sched.ordering.map(Ordered::new),
            sched,
            admitted: Mutex::new(Default::default()),
            fair_floor: AtomicU64::new(0),
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
        let (fired, panicked) = self.timers.fire(now);
        if fired > 0 {
            crate::sim::hook::record(crate::sim::EventKind::TimerFire, 0, fired as u64, 0);
        }
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
        let pending = self.remotes.iter().any(|r| !r.queue.is_empty())
            || !self.inject.is_empty()
            || self.global.as_ref().is_some_and(|g| !g.is_empty());
        if pending {
            self.notify_parked();
        }
    }

    /// Queues a task scheduled from outside the workers. After shutdown the task is dropped (it
    /// was cancelled by the registry drain; this releases the reference).
    pub(crate) fn schedule_remote(&self, task: Notified) {
        if self.sched.record_latency {
            task.header().sched.set_ready_at(now_ns());
        }
        if let Some(global) = &self.global {
            let _ = self.push_ordered(global, task);
            self.notify_parked();
            return;
        }
        match self.inject.try_push(task) {
            Ok(()) => self.notify_parked(),
            Err(task) => drop(task),
        }
    }

    /// Queues a runnable task on an ordered queue (`q`: a worker's or the injector) with its
    /// parameters, asks the least urgent running worker to yield if the task is more urgent,
    /// and says whether a parked worker should be woken for it ([`Wake`]). A closed queue
    /// (shutdown) drops the task's reference.
    pub(crate) fn push_ordered(&self, q: &Ordered<Notified>, task: Notified) -> Wake {
        let now = if self.sched.record_latency || self.ages() {
            now_ns()
        } else {
            0
        };
        let sched = &task.header().sched;
        let key = TaskKey {
            deadline: sched.deadline(),
            priority: sched.priority(),
            vruntime: sched.vruntime(),
            floor: self.fair_floor.load(Ordering::Relaxed),
        };
        if self.sched.record_latency {
            sched.set_ready_at(now);
        }
        let urgency = match self.sched.ordering {
            Some(QueueOrder::Edf) => runqueue::edf_urgency(key.deadline.into()),
            Some(QueueOrder::Priority { .. }) => runqueue::priority_urgency(key.priority),
            _ => Urgency::LEAST,
        };
        // Under `Fair` the queue places the task; the placed virtual runtime travels as its key
        // and is stored in the header when the task is picked.
        if let Err(task) = q.push(task, key, now) {
            drop(task);
            return Wake::No;
        }
        let me = context::current_worker();
        let idle_elsewhere = urgency < Urgency::LEAST
            && preempt::after_push(self.remotes.iter().map(|r| &r.slot), urgency, me);
        if q.len() > 1 {
            Wake::Now
        } else if !idle_elsewhere {
            Wake::No
        } else if me.is_none_or(|i| urgency < self.remotes[i].slot.running()) {
            // More urgent than what this worker runs: it must not wait for this poll while
            // another worker idles (it would have preempted it, had no worker been idle).
            Wake::Now
        } else {
            Wake::AtCheck
        }
    }

    /// Whether worker `worker`'s own queue looked non-empty.
    #[inline]
    pub(crate) fn has_local_work(&self, worker: usize) -> bool {
        self.remotes
            .get(worker)
            .is_some_and(|r| !r.queue.is_empty())
    }

    /// The task running on `worker` (`header`) changed its deadline or priority: publish its new
    /// urgency and, if a queued task is now more urgent, ask it to yield at its next
    /// cooperative check. Without this, a task that made itself less
    /// urgent would keep the worker while more urgent tasks wait (nothing else compares a queued
    /// task with the running one after it was queued).
    pub(crate) fn running_rekeyed(&self, worker: usize, header: &task::Header) {
        let urgency = match self.sched.ordering {
            Some(QueueOrder::Edf) => runqueue::edf_urgency(header.sched.deadline().into()),
            Some(QueueOrder::Priority { .. }) => {
                runqueue::priority_urgency(header.sched.priority())
            }
            _ => return,
        };
        let Some(remote) = self.remotes.get(worker) else {
            return;
        };
        remote.slot.set_running(urgency);
        // A pusher that read the old urgency may have flagged nobody: the same recheck as
        // after a pick.
        preempt::after_publish(&remote.slot, urgency, || self.most_urgent_queued());
    }

    /// The most urgent head among the injector and every worker's queue (by their mirrors):
    /// what a worker's pick could take instead of the task it runs.
    pub(super) fn most_urgent_queued(&self) -> Urgency {
        let mut best = self.global_head();
        for r in self.remotes.iter() {
            if let RemoteQueue::Ordered(q) = &r.queue {
                best = best.min(q.head());
            }
        }
        best
    }

    /// A poll of `header` on worker `worker`, started at `start`, returned: charge it to the
    /// task under `Fair` (CFS's `update_curr`: virtual runtime grows by the poll's length
    /// scaled by 1024 / weight) and record it in the worker's metrics.
    pub(crate) fn poll_ended(
        &self,
        worker: usize,
        header: &task::Header,
        start: u64,
        latency: Option<u64>,
    ) {
        if !self.times_polls() {
            return;
        }
        let ran = now_ns().saturating_sub(start);
        if self.is_fair() {
            // CPU time since the previous poll ended on this thread (one system call), so the
            // scheduler's own pick is charged to the task too; wall time if there is no mark.
            let cpu = context::take_cpu_since_mark().unwrap_or(ran);
            let sched = &header.sched;
            let vruntime = sched.vruntime();
            if vruntime != task::sched::UNPLACED {
                let weight = crate::policy::fair::weight(sched.nice());
                sched.set_vruntime(crate::policy::fair::charge(vruntime, cpu, weight));
            }
        }
        if self.sched.record_latency {
            self.worker_metrics[worker].record_poll(header.sched.name(), latency, ran);
        }
    }

    /// A periodic job completed (recorded on the worker that runs its driver, or worker 0).
    pub(crate) fn record_job(&self, name: Option<&'static str>, response: u64, lateness: i64) {
        let worker = context::current_worker().unwrap_or(0);
        if let Some(m) = self.worker_metrics.get(worker) {
            m.record_job(name, response, lateness);
        }
    }

    /// Whether polls are charged to tasks (`Fair`).
    #[inline]
    pub(crate) fn is_fair(&self) -> bool {
        matches!(self.sched.ordering, Some(QueueOrder::Fair { .. }))
    }

    /// Whether queue operations need the clock (`Priority`'s aging).
    #[inline]
    pub(crate) fn ages(&self) -> bool {
        matches!(self.sched.ordering, Some(QueueOrder::Priority { .. }))
    }

    /// Whether each poll's start and end are timed: for the histograms, or to charge `Fair`.
    #[inline]
    pub(crate) fn times_polls(&self) -> bool {
        self.sched.record_latency || self.is_fair()
    }

    /// The task polled on `worker` was asked to yield (`coop.rs`): one preemption.
    pub(crate) fn count_preemption(&self, worker: usize, header: &task::Header) {
        self.worker_metrics[worker].record_preemption(header.sched.name());
    }

    /// Urgency mirror of the injector of the ordered policies (`IDLE` if empty or `Fifo`).
    #[inline]
    pub(super) fn global_head(&self) -> Urgency {
        match &self.global {
            Some(g) if !g.is_empty() => g.head(),
            _ => Urgency::IDLE,
        }
    }

    /// `Fair`: raises the runtime-wide floor to `vruntime` if this worker has moved at least
    /// [`FLOOR_GRANULE`] virtual ns past what it last published (so the shared line is written
    /// about once per granule of virtual time per worker, not once per poll).
    #[inline]
    pub(super) fn advance_fair_floor(&self, published: &mut u64, vruntime: u64) {
        if vruntime >= published.saturating_add(FLOOR_GRANULE) {
            *published = vruntime;
            self.fair_floor.fetch_max(vruntime, Ordering::Relaxed);
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
    pub(crate) fn worker_exited(&self, mut core: Box<Core>) {
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
        if let Some(global) = &self.global {
            global.close();
            while let Some((_, task)) = global.pop(u64::MAX) {
                drop(task);
            }
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
        Shared::spawn_with(handle, SchedState::default(), future)
    }

    /// Spawns `future` with scheduling parameters `sched`.
    pub(crate) fn spawn_sched<F>(handle: &Handle, sched: Sched, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let deadline = if sched.needs_clock() {
            sched.absolute_deadline(RtInstant::now())
        } else {
            sched.absolute_deadline(RtInstant::from_nanos(0))
        };
        if let (Some(name), true) = (sched.get_name(), handle.shared.sched.record_latency) {
            // One short lock per worker per named spawn, so that no worker allocates this
            // name's histograms in the middle of its hot path later.
            for m in handle.shared.worker_metrics.iter() {
                m.register(name);
            }
        }
        let state = SchedState::new(
            deadline,
            sched.get_priority(),
            sched.get_nice(),
            sched.get_name(),
        );
        Shared::spawn_with(handle, state, future)
    }

    /// Spawns `future` with the given per-task scheduling state.
    fn spawn_with<F>(handle: &Handle, sched: SchedState, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let shared = &handle.shared;
        let id = TaskId(shared.next_task_id.fetch_add(1, Ordering::Relaxed));
        if crate::sim::hook::active() {
            crate::sim::hook::record(
                crate::sim::EventKind::Spawn,
                id.0,
                sched.deadline().unwrap_or(0),
                u64::from(sched.priority()),
            );
        }
        let (registered, notified, join) =
            task::new_task(future, handle.clone(), id, shared.task_allocator, sched);
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
