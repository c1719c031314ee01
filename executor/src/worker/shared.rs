//! What the workers of one runtime share, as owned parts with private fields: the family's
//! queues, the idle protocol, the timers, spawning (`spawn.rs`), accounting and metrics
//! (`accounting.rs`), and lifecycle and shutdown (`lifecycle.rs`).
//!
//! # Where a task goes when it becomes runnable
//!
//! - Spawned or woken on a worker thread of this runtime: that worker's local queue (the task is
//!   likely to share data in that worker's cache with whoever woke it; `schedule.rs`).
//! - Spawned or woken anywhere else (another runtime's worker, `block_on`, a plain thread): the
//!   injector ([`Shared::schedule_remote`]).
//!
//! Either way, one idle worker is notified if nobody is searching (`idle.rs`). Under preemptive
//! classes each class's group of workers has its queues, its injector and its idle protocol, and
//! a task goes to its class's group (`class_threads.rs`).

use super::accounting::Accounting;
use super::blocking::BlockingPool;
use super::build::{Config, PolicyConfig};
use super::class_threads::Groups;
use super::fifo::FifoQueues;
use super::idle::Idle;
use super::lifecycle::Lifecycle;
use super::ordered::OrderedQueues;
use super::park::Unparker;
use super::preempt::Slot;
use super::reactor::{LazyReactor, Reactor};
use super::spawn::Spawner;
use crate::event::clock::fast_ns;
use crate::event::{self, EventKind};
use crate::loom::{Arc, Mutex};
use crate::policy::admission::AdmittedSet;
use crate::task::{Header, Notified};
use crate::time::driver::TimerDriver;

/// Everything the workers of one runtime share. Owned through [`Handle`](super::Handle).
pub(crate) struct Shared {
    /// Per worker: what other threads may do to it.
    remotes: Box<[Remote]>,
    /// The run queues of the runtime's family.
    queues: Queues,
    /// The scheduling policy and its parameters.
    config: PolicyConfig,
    /// How the workers are grouped (one group, or one per class: `class_threads.rs`).
    groups: Groups,
    /// Searching / parked bookkeeping (under preemptive classes: group 0's; each group wakes
    /// only its own workers).
    idle: Idle,
    /// Preemptive classes: the idle bookkeeping of groups 1 and up; empty otherwise.
    group_idles: Box<[Idle]>,
    /// Timers of this runtime.
    timers: TimerDriver,
    /// How long before a timer deadline the waiter stops sleeping and spins (ns).
    timer_spin_ns: u64,
    /// How many search rounds an idle worker spins before parking.
    spin_rounds: u32,
    /// Task ids, the registry of live tasks, where task blocks come from.
    pub(super) spawner: Spawner,
    /// Per-worker metrics and panic counts.
    pub(super) accounting: Accounting,
    /// Worker exits and shutdown.
    pub(super) lifecycle: Lifecycle,
    /// Periodic tasks admitted by admission control.
    admitted: Mutex<AdmittedSet>,
    /// Runtime tracing: the running session, if any (`trace/session.rs`).
    trace: crate::trace::session::Control,
    /// Per-task statistics for the dump, if `Builder::track_tasks` asked for them.
    task_table: Option<crate::trace::tasks::TaskTable>,
    /// The I/O reactor, created by the first socket (`reactor/mod.rs`).
    reactor: LazyReactor,
    /// Threads for blocking work (`blocking.rs`); none until the first job.
    blocking: BlockingPool,
}

/// The run queues of one family (`mod.rs`), shared with every core of that family.
pub(super) enum Queues {
    /// `Fifo`.
    Fifo(Arc<FifoQueues>),
    /// `Edf`, `Priority`, `Fair`.
    Ordered(Arc<OrderedQueues<false>>),
    /// `Classes`.
    Classes(Arc<OrderedQueues<true>>),
}

/// What other threads may do to a worker.
pub(super) struct Remote {
    /// Wake it when it is parked.
    pub(super) unpark: Unparker,
    /// Preemption request and running urgency (`preempt.rs`; only the ordered core sets them).
    pub(super) slot: Slot,
    /// Chosen by a push that made surplus (`notify_parked_for_surplus`): its next search steals
    /// at first sight (`patience.rs`, "Woken for surplus").
    pub(super) surplus_wake: crate::loom::atomic::AtomicBool,
}

impl Shared {
    /// Assembles the shared state of `remotes.len()` workers, grouped as `groups` says, with
    /// the policy, spin and blocking-pool settings of `settings`.
    pub(super) fn new(
        remotes: Vec<Remote>,
        groups: Groups,
        queues: Queues,
        settings: &Config,
        spawner: Spawner,
    ) -> Shared {
        let n = remotes.len();
        let config = settings.policy;
        let spin_rounds = settings.spin_rounds;
        let timer_spin_ns = u64::try_from(settings.timer_spin.as_nanos()).unwrap_or(u64::MAX);
        let blocking = settings.blocking;
        Shared {
            groups,
            idle: Idle::new(groups.size()),
            group_idles: (1..groups.count())
                .map(|_| Idle::new(groups.size()))
                .collect(),
            queues,
            config,
            timers: TimerDriver::new(),
            timer_spin_ns,
            spin_rounds,
            spawner,
            accounting: Accounting::new(n),
            lifecycle: Lifecycle::new(n),
            admitted: Mutex::new(AdmittedSet::default()),
            trace: crate::trace::session::Control::new(),
            task_table: config
                .track_tasks
                .then(|| crate::trace::tasks::TaskTable::new(4 * n)),
            reactor: LazyReactor::new(),
            blocking: BlockingPool::new(blocking),
            remotes: remotes.into_boxed_slice(),
        }
    }

    /// Number of workers.
    #[inline]
    pub(crate) fn num_workers(&self) -> usize {
        self.remotes.len()
    }

    /// The policy and its parameters.
    #[inline]
    pub(crate) fn config(&self) -> &PolicyConfig {
        &self.config
    }

    /// The runtime's timers.
    #[inline]
    pub(crate) fn timers(&self) -> &TimerDriver {
        &self.timers
    }

    /// Number of workers serving each class: all of them, or a third under preemptive classes
    /// (what admission control counts as the deadline class's workers).
    #[inline]
    pub(crate) fn class_workers(&self) -> usize {
        self.groups.size()
    }

    /// Worker `worker`'s group: 0 unless the workers are split by class (then 0 is the
    /// deadline class's).
    #[inline]
    pub(crate) fn group_of(&self, worker: usize) -> usize {
        self.groups.of(worker)
    }

    /// The idle protocol's state of worker `worker`'s group.
    #[inline]
    pub(crate) fn idle_of(&self, worker: usize) -> &Idle {
        if self.group_idles.is_empty() {
            &self.idle
        } else {
            self.group_idle(self.groups.of(worker))
        }
    }

    /// The idle protocol's state of group `group`.
    #[inline]
    fn group_idle(&self, group: usize) -> &Idle {
        match group {
            0 => &self.idle,
            g => &self.group_idles[g - 1],
        }
    }

    /// Runtime tracing's state.
    #[inline]
    pub(crate) fn trace(&self) -> &crate::trace::session::Control {
        &self.trace
    }

    /// The task table, if kept (`Builder::track_tasks`).
    #[inline]
    pub(crate) fn task_table(&self) -> Option<&crate::trace::tasks::TaskTable> {
        self.task_table.as_ref()
    }

    /// Periodic tasks admitted by admission control (`spawn_periodic`).
    pub(crate) fn admitted(&self) -> &Mutex<AdmittedSet> {
        &self.admitted
    }

    /// Search rounds before parking.
    #[inline]
    pub(super) fn spin_rounds(&self) -> u32 {
        self.spin_rounds
    }

    /// How long before a timer deadline the waiter spins (ns).
    #[inline]
    pub(super) fn timer_spin_ns(&self) -> u64 {
        self.timer_spin_ns
    }

    /// Worker `index`'s preemption slot.
    #[inline]
    pub(super) fn slot(&self, index: usize) -> &Slot {
        &self.remotes[index].slot
    }

    /// Every worker's preemption slot, in worker order.
    #[inline]
    pub(super) fn slots(&self) -> impl Iterator<Item = &Slot> {
        self.remotes.iter().map(|r| &r.slot)
    }

    /// The preemption slots of workers `workers`, in worker order.
    #[inline]
    pub(super) fn slots_in(&self, workers: std::ops::Range<usize>) -> impl Iterator<Item = &Slot> {
        self.remotes[workers].iter().map(|r| &r.slot)
    }

    /// Whether worker `worker`'s running task was asked to yield.
    #[inline]
    pub(crate) fn preempt_requested(&self, worker: usize) -> bool {
        self.remotes[worker].slot.requested()
    }

    /// Whether each poll's start and end are timed: for the histograms, or to charge `Fair`.
    #[inline]
    pub(crate) fn times_polls(&self) -> bool {
        self.config.times_polls()
    }

    /// Unparks worker `index` (the timer waiter, when a new earliest timer arrives).
    pub(crate) fn unpark_worker(&self, index: usize) {
        if self.remotes[index].unpark.unpark() {
            self.interrupt_poller();
        }
    }

    /// Whether worker `index` was last woken by a push that made surplus; clears it.
    #[inline]
    pub(super) fn take_surplus_wake(&self, index: usize) -> bool {
        self.remotes[index]
            .surplus_wake
            .load(crate::loom::atomic::Ordering::Relaxed)
            && self.remotes[index]
                .surplus_wake
                .swap(false, crate::loom::atomic::Ordering::Relaxed)
    }

    /// Unparks every worker (shutdown).
    pub(super) fn unpark_all(&self) {
        for index in 0..self.remotes.len() {
            self.unpark_worker(index);
        }
    }

    /// The unparked worker was blocked in the I/O poller: make its wait return.
    #[cold]
    fn interrupt_poller(&self) {
        if let Some(reactor) = self.reactor.get() {
            reactor.notify();
        }
    }

    /// The I/O reactor, if a socket created it.
    #[inline]
    pub(crate) fn reactor(&self) -> Option<&Reactor> {
        self.reactor.get()
    }

    /// The I/O reactor, created on first use. A parked timer waiter is unparked after the
    /// creation so that it goes back to sleep in the poller: the creation stores the reactor,
    /// then reads the waiter token with a read-modify-write; the waiter takes the token, then
    /// loads the reactor (the handshake of `time/driver.rs`, "Who waits").
    #[cold]
    pub(crate) fn reactor_or_create(&self) -> std::io::Result<Arc<Reactor>> {
        let (reactor, created) = self.reactor.get_or_create()?;
        if created {
            if let Some(waiter) = self.timers.current_waiter() {
                self.unpark_worker(waiter);
            }
        }
        Ok(reactor)
    }

    /// The blocking pool.
    #[inline]
    pub(crate) fn blocking(&self) -> &BlockingPool {
        &self.blocking
    }

    /// The wakers of the tasks whose sockets are ready now, without blocking: empty if there is
    /// no reactor or another thread holds its turn (it will see the events itself).
    pub(crate) fn ready_io_now(&self) -> Vec<std::task::Waker> {
        let Some(reactor) = self.reactor() else {
            return Vec::new();
        };
        let Some(mut turn) = reactor.try_lock_turn() else {
            return Vec::new();
        };
        reactor.turn(&mut turn, Some(std::time::Duration::ZERO))
    }

    /// A cooperative check inside a poll (`coop.rs`): wakes the tasks whose sockets are ready
    /// now, with the polling worker's core in the thread context, so they are pushed as any
    /// wake from a poll is (an urgent one asks this worker to yield).
    #[cold]
    pub(crate) fn poll_io_now(&self) {
        let io = self.ready_io_now();
        if !io.is_empty() {
            super::wake_io(self, io);
        }
    }

    /// Shuts the reactor down, if there is one (runtime cleanup).
    pub(super) fn shutdown_reactor(&self) {
        if let Some(reactor) = self.reactor.get() {
            reactor.shutdown();
        }
    }

    /// Fires due timers (see `TimerDriver::fire`), counting panicking wakers as panics.
    pub(crate) fn fire_timers(&self, now: u64) {
        let (fired, panicked) = self.wake_batch(|| self.timers.fire(now));
        if fired > 0 {
            event::emit(EventKind::TimerFire, || (0, fired as u64, 0));
        }
        if panicked > 0 {
            self.accounting.count_panics(panicked as u64);
        }
    }

    /// Wakes one parked worker of `worker`'s group if that group's idle protocol says so (work
    /// was queued where that group looks: `worker`'s own queue).
    #[inline]
    pub(crate) fn notify_parked_near(&self, worker: usize) {
        if let Some(index) = self.idle_of(worker).worker_to_notify() {
            self.unpark_worker(index);
        }
    }

    /// A push made surplus on this thread's worker's own queue (`Wake::Now`): wakes one parked
    /// worker of group 0 (any worker of a runtime whose workers are not split by class; under
    /// preemptive classes a push wakes its group itself: `ordered.rs`) that is not resting
    /// (`idle.rs`), if the idle protocol says so. The worker chosen steals at first sight in
    /// its next search (`patience.rs`, "Woken for surplus").
    #[inline]
    pub(crate) fn notify_parked_for_surplus(&self) {
        if let Some(index) = self.idle.worker_to_notify_for_surplus() {
            // Before the unpark, whose release the woken worker's park acquires.
            self.remotes[index]
                .surplus_wake
                .store(true, crate::loom::atomic::Ordering::Relaxed);
            self.unpark_worker(index);
        }
    }

    /// Runs `wakes`, a batch of wake-ups (timers firing, I/O events) on this thread. Under
    /// preemptive classes, the wake-ups of other groups' workers its pushes call for are held
    /// back until the batch's end (`context::hold_wakes`), then done the highest class first.
    ///
    /// Why: a woken worker of a higher class runs at a higher OS priority and may preempt this
    /// thread on its core at once. Woken at the first push, it would leave the rest of the batch
    /// (the other timers that fired: often the releases of more urgent tasks) in this thread's
    /// hands until its poll ended. Queued first and woken after, the batch's tasks are all in
    /// their group's injector when its worker picks, and it wakes its peers itself if there is
    /// more (the idle protocol's chain).
    #[inline]
    pub(crate) fn wake_batch<R>(&self, wakes: impl FnOnce() -> R) -> R {
        if !self.groups.by_class() {
            return wakes();
        }
        self.wake_batch_held(wakes)
    }

    #[cold]
    #[inline(never)]
    fn wake_batch_held<R>(&self, wakes: impl FnOnce() -> R) -> R {
        let (out, groups) = crate::context::hold_wakes(wakes);
        for group in 0..self.groups.count() {
            if groups & (1 << group) != 0 {
                self.notify_group(group);
            }
        }
        out
    }

    /// A push queued a task for group `group`'s workers, of whom one should be woken: now, or
    /// inside a batch of wake-ups ([`wake_batch`](Self::wake_batch)) at its end.
    #[inline]
    pub(crate) fn notify_group_after_batch(&self, group: usize) {
        if !crate::context::hold_wake(group) {
            self.notify_group(group);
        }
    }

    /// Wakes one parked worker of group `group` if its idle protocol says so.
    #[inline]
    pub(crate) fn notify_group(&self, group: usize) {
        if let Some(index) = self.group_idle(group).worker_to_notify() {
            self.unpark_worker(index);
        }
    }

    /// Wakes a parked worker to take over the timer wait: one of group 0, the group whose
    /// workers hold the timer-waiter token (every worker, unless the workers are split by
    /// class: then the deadline class's, `Core::sleep`), if its idle protocol says so.
    pub(super) fn notify_timer_waiter(&self) {
        self.notify_group(0);
    }

    /// After the last searcher of `worker`'s group left: wake a worker of the group if any queue
    /// it looks at has work. `declined`: its search left the work in other workers' rings to
    /// their owners (Fifo's patience, `patience.rs`), so only the injector counts (the rings hold
    /// what it chose to leave; its park is bounded, and it looks at them again after it).
    pub(super) fn notify_if_work_pending(&self, worker: usize, declined: bool) {
        if self.work_pending(worker, declined) {
            self.notify_parked_near(worker);
        }
    }

    /// Whether any queue worker `worker`'s group looks at has work (`Fifo` with `declined`: the
    /// injector only).
    fn work_pending(&self, worker: usize, declined: bool) -> bool {
        match &self.queues {
            Queues::Fifo(q) if declined => !q.inject.is_empty(),
            Queues::Fifo(q) => q.any_work(),
            Queues::Ordered(q) => q.any_work(self.groups.of(worker)),
            Queues::Classes(q) => q.any_work(self.groups.of(worker)),
        }
    }

    /// The last searcher of `worker`'s group found work (and left the searching state): if
    /// there is more to do, one parked worker of the group is woken (the idle protocol,
    /// `idle.rs`). More to do: a queue of the group has work, or timers are pending with nobody
    /// waiting for them. The queues are read after the leave (a read-modify-write of the idle
    /// state), so a push that counted on this searcher is seen, and a later push finds no
    /// searcher and wakes a worker itself: the argument of the parking recheck
    /// (`notify_if_work_pending`). tokio wakes a peer here unconditionally; kairos does not,
    /// because the wake-up is a system call and an interrupt on the path from a timer release to
    /// its poll (the timer waiter wakes, fires, finds the task as the last searcher): 14 µs of
    /// the timer row's 51 µs p50, and under preemptive classes the woken `SCHED_FIFO` worker
    /// would then search at real-time priority, on a core a fair worker computes on, for nothing
    /// (figures: `docs/benchmarks.md`, "Preemptive classes: bursts of releases" and "Session
    /// 11").
    #[inline]
    pub(super) fn notify_after_search(&self, worker: usize) {
        if !self.more_after_search(worker) {
            return;
        }
        self.notify_parked_near(worker);
    }

    /// [`notify_after_search`](Self::notify_after_search)'s test: work in a queue of
    /// `worker`'s group, or pending timers that no parked worker waits for.
    fn more_after_search(&self, worker: usize) -> bool {
        self.work_pending(worker, false)
            || (self.timers.next_deadline().is_some() && self.timers.current_waiter().is_none())
    }

    /// Queues a task scheduled from outside the workers on the injector. After shutdown the task
    /// is dropped (it was cancelled by the registry drain; this releases the reference).
    pub(crate) fn schedule_remote(&self, task: Notified) {
        match &self.queues {
            Queues::Fifo(q) => {
                if self.config.record_latency {
                    task.header().policy.set_ready_at(fast_ns());
                }
                match q.inject.try_push(task) {
                    Ok(()) => self.notify_group(0),
                    Err(task) => drop(task),
                }
            }
            Queues::Ordered(q) => {
                let _ = q.push_remote(self, task);
                self.notify_group(0);
            }
            Queues::Classes(q) => {
                let group = q.push_remote(self, task);
                self.notify_group(group);
            }
        }
    }

    /// Whether worker `worker`'s own queue looked non-empty.
    #[inline]
    pub(crate) fn has_local_work(&self, worker: usize) -> bool {
        match &self.queues {
            Queues::Fifo(q) => q.stealers.get(worker).is_some_and(|s| !s.is_empty()),
            Queues::Ordered(q) => q.has_work(worker),
            Queues::Classes(q) => q.has_work(worker),
        }
    }

    /// The task running on `worker` (`header`) changed its deadline or priority: under `Edf`
    /// and `Priority`, publish its new urgency and recheck the queues (`ordered.rs`).
    pub(crate) fn running_rekeyed(&self, worker: usize, header: &Header) {
        match &self.queues {
            Queues::Fifo(_) => {}
            Queues::Ordered(q) => q.running_rekeyed(self, worker, header),
            Queues::Classes(q) => q.running_rekeyed(self, worker, header),
        }
    }

    /// Inheritance changed `header`'s deadline or priority from outside its poll: under `Edf` and
    /// `Priority`, re-key it where it is queued and request preemption for it (`ordered.rs`).
    pub(crate) fn reprioritized(&self, header: &Header) {
        match &self.queues {
            Queues::Fifo(_) => {}
            Queues::Ordered(q) => q.reprioritized(self, header),
            Queues::Classes(q) => q.reprioritized(self, header),
        }
    }

    /// Closes the injector and releases what it holds (the cleanup at shutdown).
    pub(super) fn close_injector(&self) {
        match &self.queues {
            Queues::Fifo(q) => q.close(),
            Queues::Ordered(q) => q.close(),
            Queues::Classes(q) => q.close(),
        }
    }
}
