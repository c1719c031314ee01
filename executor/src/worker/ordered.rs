//! The ordered core (`Edf`, `Priority`, `Fair`, `Classes`): picking, stealing and pushing by
//! urgency.
//!
//! Each worker owns one [`Ordered`] queue (a policy structure behind a lock, with lock-free
//! mirrors of its head's urgency and its length: `queue/ordered.rs`), and the runtime has one
//! more as its injector.
//!
//! # The pick
//!
//! A worker about to pick looks at the urgency mirrors of its own queue, of the injector and of
//! every other worker's queue, and takes the most urgent head it sees:
//!
//! 1. its own head, if nothing visible is strictly more urgent (ties stay local: no lock
//!    traffic for equals);
//! 2. else the injector's head, if it is the most urgent (every [`INJECTOR_INTERVAL`]-th pick
//!    the injector also wins ties, so equal-urgency tasks from outside, e.g. no-deadline tasks
//!    under `Edf`, are not starved by a local queue that never empties);
//! 3. else it steals the most urgent task of the worker whose head is most urgent (one task
//!    while it has local work, up to half the victim's queue when it has none). The victim's lock
//!    is only `try_lock`ed: if the owner holds it, the thief falls back to its own queue for this
//!    pick.
//!
//! So, up to the races the mirrors allow, every pick on every worker takes the most urgent
//! runnable task in the runtime: the policy is global, not per worker. With one worker the only
//! other queue is the injector, and every decision is a function of the operations applied.
//!
//! Cost per pick: `2 + workers` atomic loads of mirrors (the other workers' lines move when
//! they push or pop), one uncontended lock of the own queue, and an `O(log n)` pop.
//!
//! # The push, and preemption
//!
//! A task made runnable is queued with its key (deadline, priority, or placed virtual runtime);
//! if it is more urgent than the least urgent running task, that worker is asked to yield at
//! its next cooperative check (`preempt.rs`), and [`OrderedQueues::push`] says whether a parked
//! worker must be woken for it ([`Wake`]). Before each poll the worker publishes the urgency of
//! the task it picked and rechecks the queue heads (`preempt.rs` explains the handshake).

use super::class_threads::{task_group, Groups};
use super::shared::Queues;
use super::{preempt, AnyCore, Core, Family, Picked, Shared, Wake, INJECTOR_INTERVAL};
use crate::context;
use crate::event::clock::{fast_ns, now_ns};
use crate::event::{self, EventKind};
use crate::loom::atomic::{AtomicU64, Ordering};
use crate::loom::Arc;
use crate::policy::classes::{self, Class};
use crate::policy::runqueue::{self, Key, QueueOrder, TaskKey, Urgency};
use crate::queue::ordered::{Ordered, STEAL_MAX};
use crate::queue::throttled::Throttled;
use crate::task::{self, Notified};

/// Virtual nanoseconds a worker's running tasks advance between two raises of the runtime-wide
/// fair-share floor: 100 µs of virtual time, a tenth of the default slice, so placement is off
/// by at most that much and the shared floor is written at most ~10,000 times per CPU-second.
const FLOOR_GRANULE: u64 = 100_000;

mod classes_only;
use classes_only::{classes_begin_poll, classes_push_urgency};

/// The ordered family (a marker type: the code is in its [`Family`] impl), monomorphised twice:
/// `OrderedFamily<false>` for `Edf`, `Priority` and `Fair`, `OrderedFamily<true>` for `Classes`,
/// so that what only `Classes` needs (budgets and their throttling, the classes' urgency,
/// preemptive classes' worker groups) is compiled out of the other policies' paths.
pub(crate) struct OrderedFamily<const CLASSES: bool>;

/// The ordered core's shared queues (`CLASSES`: whether they hold scheduling classes).
pub(crate) struct OrderedQueues<const CLASSES: bool> {
    /// The policy's order.
    order: QueueOrder,
    /// Whether queue operations need the clock: `order` is `Priority` or `Classes` (aging).
    ages: bool,
    /// Tasks scheduled from outside the workers, in policy order (under preemptive classes:
    /// group 0's).
    inject: Ordered<Notified>,
    /// How the workers are grouped (`class_threads.rs`): under preemptive classes each group
    /// picks, steals and preempts only among its own workers, with its own injector.
    groups: Groups,
    /// Preemptive classes: the injectors of groups 1 and up (group 0's is `inject`); empty
    /// otherwise.
    group_inject: Box<[Ordered<Notified>]>,
    /// Each worker's queue (the owner pushes and pops, thieves `try_lock`).
    queues: Box<[Ordered<Notified>]>,
    /// `Fair`: the runtime-wide virtual-time floor (see `policy/runqueue.rs`), raised coarsely
    /// by the workers as they run tasks.
    fair_floor: AtomicU64,
    /// `Classes`: budgeted tasks throttled by their bandwidth server, until the time they may
    /// run again (`queue/throttled.rs`).
    throttled: Throttled<Notified>,
}

/// A worker's private part of the ordered core.
pub(crate) struct OrderedLocal {
    /// `Fair`: the virtual runtime this worker last published as the runtime-wide floor.
    fair_floor_published: u64,
    /// The worker's group (0 unless the workers are split by class).
    group: usize,
    /// First worker of the group: the victims are `lo..lo + size`.
    lo: usize,
    /// Workers in the group.
    size: usize,
}

impl OrderedLocal {
    /// The first worker of this worker's group and the group's size: `(0, workers)` unless the
    /// workers are split by class (`CLASSES`, a constant, says whether they can be).
    #[inline]
    fn peers<const CLASSES: bool>(&self, workers: usize) -> (usize, usize) {
        if CLASSES {
            (self.lo, self.size)
        } else {
            (0, workers)
        }
    }

    /// Nothing published yet; the worker serves group `group` of `groups`.
    pub(super) fn new(groups: Groups, group: usize) -> OrderedLocal {
        OrderedLocal {
            fair_floor_published: 0,
            group,
            lo: groups.range(group).start,
            size: groups.size(),
        }
    }
}

impl<const C: bool> OrderedQueues<C> {
    /// Empty queues of `order` for `workers` workers, grouped as `groups` says.
    pub(super) fn new(order: QueueOrder, workers: usize, groups: Groups) -> OrderedQueues<C> {
        debug_assert_eq!(C, matches!(order, QueueOrder::Classes { .. }));
        OrderedQueues {
            order,
            ages: matches!(
                order,
                QueueOrder::Priority { .. } | QueueOrder::Classes { .. }
            ),
            inject: Ordered::new(order),
            groups,
            group_inject: (1..groups.count()).map(|_| Ordered::new(order)).collect(),
            queues: (0..workers).map(|_| Ordered::new(order)).collect(),
            fair_floor: AtomicU64::new(0),
            throttled: Throttled::new(),
        }
    }

    /// Whether queue operations need the clock (`Priority`'s aging, also in `Classes`).
    #[inline]
    fn ages(&self) -> bool {
        self.ages
    }

    /// Whether the queues hold scheduling classes (a constant).
    #[inline]
    fn classes(&self) -> bool {
        C
    }

    /// Whether the workers are split into one group per class (preemptive classes).
    #[inline]
    fn by_class(&self) -> bool {
        C && self.groups.by_class()
    }

    /// The clock for a queue operation, read only when aging needs it: under `Priority` the
    /// fast clock (its queue only ever subtracts two of its own readings, `policy/priority.rs`),
    /// so that a push's ready stamp is the same reading; under `Classes` the runtime clock (the
    /// same reading goes to the budgets, whose deadlines are absolute times).
    #[inline]
    fn now(&self) -> u64 {
        match (self.ages(), C) {
            (false, _) => 0,
            (true, false) => fast_ns(),
            (true, true) => now_ns(),
        }
    }

    /// A push's ready stamp, given its queue reading `now`: that reading itself where it is a
    /// fast one (`Priority`, see [`now`](Self::now)), else a fast reading of its own.
    #[inline]
    fn ready_stamp(&self, now: u64) -> u64 {
        if self.ages() && !C {
            now
        } else {
            fast_ns()
        }
    }

    /// The urgency preemption compares for a task with these parameters (`LEAST` under `Fair`,
    /// which never preempts by urgency).
    #[inline]
    fn urgency(&self, header: &task::Header) -> Urgency {
        match self.order {
            QueueOrder::Edf => runqueue::edf_urgency(header.policy.deadline().into()),
            QueueOrder::Priority { .. } => runqueue::priority_urgency(header.policy.priority()),
            QueueOrder::Fair { .. } => Urgency::LEAST,
            QueueOrder::Classes { .. } => classes_push_urgency(header),
        }
    }

    /// The urgency a worker publishes while it runs the task `header`: as
    /// [`urgency`](Self::urgency), except that under `Classes` a fair-class task publishes the top of the
    /// fair band (`policy/classes.rs`), so that only a higher class preempts it.
    #[inline]
    fn running_urgency(&self, header: &task::Header) -> Urgency {
        if self.classes() {
            classes::running_urgency_of(header.policy.deadline(), header.policy.priority())
        } else {
            self.urgency(header)
        }
    }

    /// Whether worker `worker`'s queue looked non-empty.
    pub(super) fn has_work(&self, worker: usize) -> bool {
        self.queues.get(worker).is_some_and(|q| !q.is_empty())
    }

    /// Whether any queue group `group`'s workers pick from looked non-empty.
    pub(super) fn any_work(&self, group: usize) -> bool {
        !self.injector(group).is_empty() || self.peer_queues(group).iter().any(|q| !q.is_empty())
    }

    /// The queues of group `group`'s workers (all of them unless split by class).
    #[inline]
    fn peer_queues(&self, group: usize) -> &[Ordered<Notified>] {
        if !self.by_class() {
            &self.queues
        } else {
            &self.queues[self.groups.range(group)]
        }
    }

    /// Group `group`'s injector.
    #[inline]
    fn injector(&self, group: usize) -> &Ordered<Notified> {
        if !C || group == 0 {
            &self.inject
        } else {
            &self.group_inject[group - 1]
        }
    }

    /// The group a task with `header`'s parameters goes to (0 unless split by class).
    #[inline]
    fn group_of_task(&self, header: &task::Header) -> usize {
        if self.by_class() {
            task_group(header)
        } else {
            0
        }
    }

    /// Queues a task scheduled from outside the workers on the injector of its group, and
    /// returns that group (for the caller to wake one of its workers).
    pub(super) fn push_remote(&self, shared: &Shared, task: Notified) -> usize {
        let group = self.group_of_task(task.header());
        let _ = self.push(shared, self.injector(group), task, group);
        group
    }

    /// Queues `task`, made runnable on worker `worker`'s thread: on `worker`'s queue, or under
    /// preemptive classes, if the task's class is served by another group, on that group's
    /// injector (then one of its workers is woken here, and the caller is told [`Wake::No`]).
    #[inline]
    fn push_from(&self, shared: &Shared, worker: usize, task: Notified) -> Wake {
        if self.by_class() {
            return self.push_routed(shared, worker, task);
        }
        self.push(shared, &self.queues[worker], task, 0)
    }

    /// Queues a runnable task on `q` (a queue or the injector of group `group`) with its
    /// parameters, asks the least urgent running worker of the group to yield if the task is
    /// more urgent, and says whether a parked worker should be woken for it ([`Wake`]). A
    /// closed queue (shutdown) drops the task's reference.
    fn push(&self, shared: &Shared, q: &Ordered<Notified>, task: Notified, group: usize) -> Wake {
        let record = shared.config().record_latency;
        let now = self.now();
        // Budgets act under `Classes` only.
        let task = match C.then(|| task.header().policy.budget()).flatten() {
            Some(budget) => match self.budgeted_push(shared, task, budget, now) {
                Some(task) => task,
                None => return Wake::No,
            },
            None => task,
        };
        let sched = &task.header().policy;
        let key = TaskKey {
            deadline: sched.deadline(),
            priority: sched.priority(),
            vruntime: sched.vruntime(),
            floor: self.fair_floor.load(Ordering::Relaxed),
        };
        if record {
            sched.set_ready_at(self.ready_stamp(now));
        }
        let urgency = self.urgency(task.header());
        // Under `Fair` the queue places the task; the placed virtual runtime travels as its key
        // and is stored in the header when the task is picked.
        if let Err(task) = q.push(task, key, now) {
            drop(task);
            return Wake::No;
        }
        let me = context::current_worker();
        let idle_elsewhere = urgency < Urgency::LEAST
            && if self.by_class() {
                self.after_push_in_group(shared, group, urgency, me)
            } else {
                preempt::after_push(shared.slots(), urgency, me)
            };
        if q.len() > 1 {
            Wake::Now
        } else if !idle_elsewhere {
            Wake::No
        } else if me.is_none_or(|i| urgency < shared.slot(i).running()) {
            // More urgent than what this worker runs: it must not wait for this poll while
            // another worker idles (it would have preempted it, had no worker been idle).
            Wake::Now
        } else {
            Wake::AtCheck
        }
    }

    /// The task running on `worker` (`header`) changed its deadline or priority: publish its new
    /// urgency and, if a queued task is now more urgent, ask it to yield at its next
    /// cooperative check. Without this, a task that made itself less urgent would keep the
    /// worker while more urgent tasks wait (nothing else compares a queued task with the running
    /// one after it was queued).
    pub(super) fn running_rekeyed(&self, shared: &Shared, worker: usize, header: &task::Header) {
        if matches!(self.order, QueueOrder::Fair { .. }) || worker >= self.queues.len() {
            return;
        }
        let urgency = self.running_urgency(header);
        let slot = shared.slot(worker);
        slot.set_running(urgency);
        let group = self.groups.of(worker);
        if self.group_of_task(header) != group {
            // Preemptive classes: its class is another group's; it moves there at its next
            // push, which this request brings forward to its next cooperative check.
            slot.request();
            return;
        }
        // A pusher that read the old urgency may have flagged nobody: the same recheck as
        // after a pick.
        preempt::after_publish(slot, urgency, || self.most_urgent_queued(group));
    }

    /// Inheritance (`task/boost.rs`) changed `header`'s deadline or priority (the new values are
    /// in its header already): under `Edf` and `Priority`, follow the re-key protocol of
    /// `queue/ordered.rs`.
    ///
    /// - Running on this thread (the task restores or raises itself): publish its urgency as
    ///   [`running_rekeyed`](Self::running_rekeyed) does.
    /// - Queued: re-key it in the queue that holds it (the injector, then every worker's queue:
    ///   nothing records which one), then act as a push of that urgency would: ask the least
    ///   urgent running worker to yield if the task now beats it, and wake a parked worker if one
    ///   idles. So in the classic inversion a boosted lock holder waiting behind a medium task
    ///   runs after that task's next cooperative check.
    /// - Not found, and `NOTIFIED` without `RUNNING` (in flight in a steal, or picked and about
    ///   to run): retry a bounded number of times; the flight ends with the thief's push or the
    ///   poll, which read the new parameters anyway.
    /// - Running on another worker (found by the header address each worker records at its
    ///   pick): republish its urgency in that worker's slot, and flag that worker if a queued
    ///   task now beats it (a withdrawn boost).
    /// - Otherwise (idle, complete): nothing; the next push reads the new parameters.
    pub(super) fn reprioritized(&self, shared: &Shared, header: &task::Header) {
        let key = match self.order {
            QueueOrder::Edf => Key::Edf(header.policy.deadline().into()),
            QueueOrder::Priority { .. } => Key::Priority(header.policy.priority()),
            QueueOrder::Fair { .. } => return,
            // The class follows the parameters: a re-key may move the task to another class
            // (`ClassQueue::rekey`), e.g. a fair lock holder lent a waiter's deadline.
            QueueOrder::Classes { .. } => {
                let sched = &header.policy;
                match classes::class_of(sched.deadline(), sched.priority()) {
                    Class::Deadline => Key::Edf(sched.deadline().into()),
                    Class::Priority => Key::Priority(sched.priority()),
                    Class::Fair => Key::Fair(sched.vruntime()),
                }
            }
        };
        if std::ptr::eq(task::current::get(), header) {
            if let Some(worker) = context::current_worker() {
                self.running_rekeyed(shared, worker, header);
            }
            return;
        }
        let is = |t: &Notified| std::ptr::eq(t.header(), header);
        /// Re-key attempts while the task is in flight between two queues.
        const RETRIES: u32 = 64;
        let group = self.group_of_task(header);
        for _ in 0..RETRIES {
            let now = self.now();
            let found = self.injector(group).rekey(key, now, is)
                || self
                    .peer_queues(group)
                    .iter()
                    .any(|q| q.rekey(key, now, is))
                || (self.by_class() && self.regroup(shared, header, group, now));
            if found {
                let urgency = self.urgency(header);
                let me = context::current_worker();
                if self.after_push_in_group(shared, group, urgency, me) {
                    shared.notify_group(group);
                }
                return;
            }
            // Running on another worker (or, under the simulator, continuing its poll after a
            // `work` slice): republish its urgency there, and ask that worker to yield if a
            // queued task now beats it (a boost withdrawn), as its own recheck after a pick
            // would.
            let addr = header as *const task::Header as usize;
            let mut running = false;
            for (worker, slot) in shared.slots().enumerate().filter(|(_, s)| s.polls(addr)) {
                let urgency = self.running_urgency(header);
                slot.set_running(urgency);
                slot.clear();
                running = true;
                let runs_in = self.groups.of(worker);
                if runs_in != group {
                    // Preemptive classes: it moves to its class's threads at its next push,
                    // which this request brings forward to its next cooperative check.
                    slot.request();
                    continue;
                }
                preempt::after_publish(slot, urgency, || self.most_urgent_queued(runs_in));
            }
            let state = header.state.load();
            if running || state.is_running() || !state.is_notified() || state.is_complete() {
                return;
            }
            crate::loom::spin_loop();
        }
    }

    /// Whether any task is throttled (one load; always `false` outside `Classes`).
    #[inline]
    fn any_throttled(&self) -> bool {
        C && self.throttled.any()
    }

    /// The most urgent head among group `group`'s injector and its workers' queues (by their
    /// mirrors): what a worker's pick could take instead of the task it runs.
    fn most_urgent_queued(&self, group: usize) -> Urgency {
        self.peer_queues(group)
            .iter()
            .fold(self.injector_head(group), |best, q| best.min(q.head()))
    }

    /// `Fair` and `Classes`: the runtime-wide virtual-time floor as this thread sees it (0 for
    /// the other policies, which do not compare by lag).
    #[inline]
    fn lag_floor(&self) -> u64 {
        match self.order {
            QueueOrder::Fair { .. } | QueueOrder::Classes { .. } => {
                self.fair_floor.load(Ordering::Relaxed)
            }
            QueueOrder::Edf | QueueOrder::Priority { .. } => 0,
        }
    }

    /// Urgency mirror of group `group`'s injector's head (`IDLE` if empty).
    #[inline]
    fn injector_head(&self, group: usize) -> Urgency {
        let inject = self.injector(group);
        if inject.is_empty() {
            Urgency::IDLE
        } else {
            inject.head()
        }
    }

    /// `Fair`: raises the runtime-wide floor to `vruntime` if this worker has moved at least
    /// [`FLOOR_GRANULE`] virtual ns past what it last published (so the shared line is written
    /// about once per granule of virtual time per worker, not once per poll).
    #[inline]
    fn advance_fair_floor(&self, published: &mut u64, vruntime: u64) {
        if vruntime >= published.saturating_add(FLOOR_GRANULE) {
            *published = vruntime;
            self.fair_floor.fetch_max(vruntime, Ordering::Relaxed);
        }
    }

    /// Half of `victim`'s queue (rounded up), at most one steal batch.
    fn half(&self, victim: usize) -> usize {
        self.queues[victim].len().div_ceil(2).clamp(1, STEAL_MAX)
    }

    /// Closes every queue and releases what the injector holds (shutdown).
    pub(super) fn close(&self) {
        for inject in std::iter::once(&self.inject).chain(self.group_inject.iter()) {
            inject.close();
            while let Some((_, task)) = inject.pop(u64::MAX) {
                drop(task);
            }
        }
        drop(self.throttled.take_all());
    }
}

/// What `build.rs` needs of an ordered family beyond [`Family`]: its queues, and how
/// [`Shared`] holds them.
pub(crate) trait OrderedErase: Family<Local = OrderedLocal> {
    /// Empty queues of `order` for `workers` workers, grouped as `groups` says.
    fn new_queues(order: QueueOrder, workers: usize, groups: Groups) -> Arc<Self::Queues>;
    /// The queues, as [`Shared`] holds them.
    fn erase_queues(queues: Arc<Self::Queues>) -> Queues;
}

/// Implements [`Family`] and [`OrderedErase`] for `OrderedFamily<$classes>`, held as
/// `AnyCore::$variant` and `Queues::$variant`: one body for both monomorphisations (a generic
/// impl could not name the variant to erase into).
macro_rules! ordered_family {
    ($classes:literal, $variant:ident) => {
        impl OrderedErase for OrderedFamily<$classes> {
            fn new_queues(order: QueueOrder, workers: usize, groups: Groups) -> Arc<Self::Queues> {
                Arc::new(OrderedQueues::new(order, workers, groups))
            }

            fn erase_queues(queues: Arc<Self::Queues>) -> Queues {
                Queues::$variant(queues)
            }
        }

        impl Family for OrderedFamily<$classes> {
            type Queues = OrderedQueues<$classes>;
            type Local = OrderedLocal;
            type Key = Key;

            #[inline]
            fn erase(core: Box<Core<Self>>) -> AnyCore {
                AnyCore::$variant(core)
            }

            #[inline]
            fn unerase(core: AnyCore) -> Box<Core<Self>> {
                match core {
                    AnyCore::$variant(core) => core,
                    _ => unreachable!("an ordered worker's core changed family"),
                }
            }

            /// Steps 1–3 of the module docs: the most urgent visible task.
            // Always inlined into the worker loop, as it was before the throttle check made it
            // larger than the inliner's threshold (the check's slow path is out of line).
            #[inline(always)]
            fn next_task(core: &mut Core<Self>, shared: &Shared) -> Option<Picked<Key>> {
                let q = &*core.queues;
                let now = q.now();
                if q.any_throttled() {
                    q.release_throttled(shared, core.index);
                }
                let own_head = q.queues[core.index].head();
                let group = core.local.group;
                let (victim, remote_head) = most_urgent_victim(q, &core.local, core.index);
                // Fair-share heads compare by their lag behind the runtime-wide floor (see "One
                // virtual clock under `Fair`" in `policy/runqueue.rs`); other heads as they are.
                let floor = q.lag_floor();
                let lag = |head| runqueue::lag_behind(q.order, head, floor);
                let own = lag(own_head);
                let injector = lag(q.injector_head(group));
                let remote = lag(remote_head);
                let best_other = injector.min(remote);
                let injector_turn = core.tick.is_multiple_of(INJECTOR_INTERVAL);
                if best_other < own || (own != Urgency::IDLE && best_other == own && injector_turn)
                {
                    if injector <= remote {
                        let bound = runqueue::lag_bound(q.order, own_head, floor);
                        if let Some(picked) = pop_injector(q, group, bound, now) {
                            return Some(picked);
                        }
                    } else if let Some(victim) = victim {
                        // Local work exists: take only the urgent one. Empty: take a batch.
                        let max = if own == Urgency::IDLE {
                            q.half(victim)
                        } else {
                            1
                        };
                        if let Some(picked) =
                            steal_from(&core.queues, core.index, shared, victim, max, now)
                        {
                            return Some(picked);
                        }
                    }
                }
                let q = &*core.queues;
                if let Some((key, task)) = q.queues[core.index].pop(now) {
                    return Some(Picked { task, key });
                }
                pop_injector(q, group, Urgency::IDLE, now)
            }

            /// One search round of an idle worker: the most urgent victim first, then the
            /// injector, then the other victims in random order (the most urgent one's lock may
            /// have been held).
            fn steal(core: &mut Core<Self>, shared: &Shared) -> Option<Picked<Key>> {
                let now = core.queues.now();
                let group = core.local.group;
                let injector = core.queues.injector_head(group);
                let (victim, remote) = most_urgent_victim(&core.queues, &core.local, core.index);
                if let Some(victim) = victim {
                    if remote < injector || injector == Urgency::IDLE {
                        let max = core.queues.half(victim);
                        if let Some(picked) =
                            steal_from(&core.queues, core.index, shared, victim, max, now)
                        {
                            return Some(picked);
                        }
                    }
                }
                if let Some(picked) = pop_injector(&core.queues, group, Urgency::IDLE, now) {
                    return Some(picked);
                }
                let (lo, n) = core.local.peers::<$classes>(core.queues.queues.len());
                let start = core.rng.below(n as u32) as usize;
                for i in 0..n {
                    let v = lo + (start + i) % n;
                    if v == core.index || Some(v) == victim {
                        continue;
                    }
                    let max = core.queues.half(v);
                    if let Some(picked) = steal_from(&core.queues, core.index, shared, v, max, now)
                    {
                        return Some(picked);
                    }
                }
                None
            }

            /// Publishes the picked task: `Fair` (and the fair class of `Classes`) stores its
            /// placed virtual runtime and raises the floor; every ordered policy publishes its
            /// urgency and clears this worker's preemption request; `Edf`, `Priority` and
            /// `Classes` then recheck the queue heads (`preempt.rs`; under `Classes` a fair task
            /// is beaten only by a higher class).
            #[inline(always)]
            fn begin_poll(core: &mut Core<Self>, shared: &Shared, picked: &Picked<Key>) {
                if $classes {
                    return classes_begin_poll(
                        &core.queues,
                        &mut core.local,
                        core.index,
                        shared,
                        picked,
                    );
                }
                let key = picked.key;
                if let Key::Fair(vruntime) = key {
                    picked.task.header().policy.set_vruntime(vruntime);
                    core.queues
                        .advance_fair_floor(&mut core.local.fair_floor_published, vruntime);
                }
                let slot = shared.slot(core.index);
                let urgency = runqueue::key_urgency(key);
                slot.set_running(urgency);
                slot.set_task(picked.task.header() as *const task::Header as usize);
                slot.clear();
                if matches!(key, Key::Edf(_) | Key::Priority(_)) {
                    // A pusher may have missed this pick (worker/preempt.rs).
                    let group = core.local.group;
                    preempt::after_publish(slot, urgency, || core.queues.most_urgent_queued(group));
                }
            }

            #[inline]
            fn push_local(core: &mut Core<Self>, shared: &Shared, task: Notified) -> Wake {
                let wake = core.queues.push_from(shared, core.index, task);
                if $classes && wake == Wake::Now && core.queues.by_class() {
                    // The caller would wake group 0: wake this worker's group instead.
                    shared.notify_parked_near(core.index);
                    return Wake::No;
                }
                wake
            }

            #[inline]
            fn before_park(core: &mut Core<Self>, shared: &Shared) {
                let slot = shared.slot(core.index);
                slot.set_running(Urgency::IDLE);
                slot.set_task(0);
            }

            #[inline]
            fn after_park(_: &mut Core<Self>, shared: &Shared) {
                if shared.config().is_fair() {
                    // The time parked is not CPU time of the next task.
                    context::mark_cpu();
                }
            }

            fn drain(core: &mut Core<Self>) {
                let q = &core.queues.queues[core.index];
                q.close();
                while let Some((_, task)) = q.pop(u64::MAX) {
                    drop(task);
                }
            }
        }
    };
}

ordered_family!(false, Ordered);
ordered_family!(true, Classes);

/// Group `group`'s injector's head if it is at least as urgent as `bound`.
fn pop_injector<const C: bool>(
    q: &OrderedQueues<C>,
    group: usize,
    bound: Urgency,
    now: u64,
) -> Option<Picked<Key>> {
    let inject = q.injector(group);
    if inject.is_empty() {
        return None;
    }
    let (key, task) = inject.pop_if(bound, now)?;
    Some(Picked { task, key })
}

/// The other worker of this worker's group whose queue head is most urgent, and that urgency
/// (`IDLE`: none). Ties go to the first in the scan, which starts after this worker's index.
fn most_urgent_victim<const C: bool>(
    q: &OrderedQueues<C>,
    local: &OrderedLocal,
    index: usize,
) -> (Option<usize>, Urgency) {
    let queues = &q.queues;
    let (lo, n) = local.peers::<C>(queues.len());
    let mut best = (None, Urgency::IDLE);
    for i in 1..n {
        let v = lo + (index - lo + i) % n;
        let head = queues[v].head();
        if head < best.1 {
            best = (Some(v), head);
        }
    }
    best
}

/// Steals up to `max` tasks from `victim` into this worker's queue, returning the most urgent.
fn steal_from<const C: bool>(
    q: &OrderedQueues<C>,
    index: usize,
    shared: &Shared,
    victim: usize,
    max: usize,
    now: u64,
) -> Option<Picked<Key>> {
    let queues = &q.queues;
    let (key, task) = queues[victim].steal_into(&queues[index], max, now)?;
    shared.worker_metrics(index).inc_steals();
    event::emit(EventKind::Steal, || (task.header().id.0, victim as u64, 0));
    Some(Picked { task, key })
}
