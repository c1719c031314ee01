//! The parts of the ordered core only `Classes` runs (`OrderedFamily<true>`; the other ordered
//! policies compile none of them): bandwidth budgets (the constant bandwidth server's push and
//! throttling, `policy/cbs.rs`), the classes' poll start and push urgency, and the worker groups
//! of preemptive classes (`worker/class_threads.rs`): pushes routed to a task's class's group,
//! preemption requests within a group, and moving a queued task to its new class's group.

use super::{OrderedLocal, OrderedQueues};
use crate::event::clock::now_ns;
use crate::policy::cbs::Push;
use crate::policy::classes;
use crate::policy::runqueue::{Key, Urgency};
use crate::task::budget::Budget;
use crate::task::{self, Notified};
use crate::worker::class_threads::task_group;
use crate::worker::{preempt, Picked, Shared, Wake};

impl<const C: bool> OrderedQueues<C> {
    /// [`push_from`](Self::push_from) under preemptive classes (`class_threads.rs`): a task of
    /// another group goes to that group's injector, and one of its parked workers is woken (at
    /// the end of the batch of wake-ups this push belongs to, if any: `Shared::wake_batch`).
    #[cold]
    #[inline(never)]
    pub(super) fn push_routed(&self, shared: &Shared, worker: usize, task: Notified) -> Wake {
        let group = task_group(task.header());
        if group == self.groups.of(worker) {
            return self.push(shared, &self.queues[worker], task, group);
        }
        let _ = self.push(shared, self.injector(group), task, group);
        shared.notify_group_after_batch(group);
        Wake::No
    }

    /// Preemptive classes: [`preempt::after_push`] among group `group`'s workers (`me`, the
    /// calling worker, counts only if it is one of them).
    #[cold]
    #[inline(never)]
    pub(super) fn after_push_in_group(
        &self,
        shared: &Shared,
        group: usize,
        urgency: Urgency,
        me: Option<usize>,
    ) -> bool {
        let peers = self.groups.range(group);
        let me = me.filter(|w| peers.contains(w)).map(|w| w - peers.start);
        preempt::after_push(shared.slots_in(peers), urgency, me)
    }

    /// Preemptive classes: `header`'s task is queued in another group's queues than `group`,
    /// the one its class now names (inheritance changed its parameters while it waited): takes
    /// it out and pushes it into `group`'s injector, keyed by its new parameters. Reports
    /// whether it was found.
    #[cold]
    #[inline(never)]
    pub(super) fn regroup(
        &self,
        shared: &Shared,
        header: &task::Header,
        group: usize,
        now: u64,
    ) -> bool {
        let is = |t: &Notified| std::ptr::eq(t.header(), header);
        let others = (0..self.groups.count()).filter(|&g| g != group);
        for g in others {
            let found = self.injector(g).remove(now, is).or_else(|| {
                self.queues[self.groups.range(g)]
                    .iter()
                    .find_map(|q| q.remove(now, is))
            });
            if let Some((_, task)) = found {
                let _ = self.push(shared, self.injector(group), task, group);
                return true;
            }
        }
        false
    }

    /// A budgeted task is being pushed at `now`: under `Classes` its bandwidth server decides
    /// (`policy/cbs.rs`): queue it with the server's deadline (returned, to be queued), or park
    /// it until the server's replenishment ([`throttle`](Self::throttle); `None`). Under the
    /// other policies budgets act not: the task is returned unchanged. Out of line: most tasks
    /// have no budget.
    #[cold]
    #[inline(never)]
    pub(super) fn budgeted_push(
        &self,
        shared: &Shared,
        task: Notified,
        budget: Budget,
        now: u64,
    ) -> Option<Notified> {
        if !self.classes() {
            return Some(task);
        }
        let mut server = budget.load();
        let push = server.on_push(now);
        budget.store(&server);
        match push {
            Push::Queue(deadline) => {
                task.header().policy.set_deadline(Some(deadline));
                Some(task)
            }
            Push::ParkUntil(at) => {
                self.throttle(shared, task, at);
                None
            }
        }
    }

    /// `Classes`: parks a task whose bandwidth server is throttled until `at`, and arms a timer
    /// for `at` so that a worker is awake then to release it
    /// ([`release_throttled`](Self::release_throttled)). The timer's waker does nothing: the
    /// worker that fires it goes on to pick, and its pick releases the due tasks. The park
    /// stores the throttled set's hint (release) before the timer is registered, and the worker
    /// that fires the timer has read the timer driver's deadline after the registration, so its
    /// pick sees the hint (`queue/throttled.rs`).
    #[cold]
    #[inline(never)]
    pub(super) fn throttle(&self, shared: &Shared, task: Notified, at: u64) {
        self.throttled.park(task, at);
        let (_, unpark) = shared.timers().register(at, std::task::Waker::noop());
        if let Some(worker) = unpark {
            shared.unpark_worker(worker);
        }
    }

    /// Queues on worker `worker`'s queue (under preemptive classes: the deadline group's) every
    /// throttled task whose time has come (its push replenishes its server), and wakes a parked
    /// worker if more than this one can run. Out of line: the pick only pays the load of
    /// [`any_throttled`](Self::any_throttled).
    #[cold]
    #[inline(never)]
    pub(super) fn release_throttled(&self, shared: &Shared, worker: usize) {
        for task in self.throttled.take_due(now_ns()) {
            if self.push_from(shared, worker, task) != Wake::No {
                shared.notify_parked_near(worker);
            }
        }
    }
}

/// `Classes`: `begin_poll` of `OrderedFamily<true>`. A fair-class task stores its placed virtual
/// runtime and raises the floor, as under `Fair`; every class publishes its running urgency on
/// the classes' scale and rechecks the queue heads (a fair task is beaten by a higher class
/// only).
#[inline]
pub(super) fn classes_begin_poll<const C: bool>(
    q: &OrderedQueues<C>,
    local: &mut OrderedLocal,
    index: usize,
    shared: &Shared,
    picked: &Picked<Key>,
) {
    let key = picked.key;
    if let Key::Fair(vruntime) = key {
        picked.task.header().policy.set_vruntime(vruntime);
        q.advance_fair_floor(&mut local.fair_floor_published, vruntime);
    }
    let slot = shared.slot(index);
    let urgency = classes::running_urgency(key);
    slot.set_running(urgency);
    slot.set_task(picked.task.header() as *const task::Header as usize);
    slot.clear();
    // A pusher may have missed this pick (worker/preempt.rs).
    let group = local.group;
    preempt::after_publish(slot, urgency, || q.most_urgent_queued(group));
}

/// `Classes`: the urgency a push of `header` compares (`classes::push_urgency`). Out of line,
/// so that [`OrderedQueues::urgency`] stays as small as before `Classes` where it is inlined.
#[cold]
#[inline(never)]
pub(super) fn classes_push_urgency(header: &task::Header) -> Urgency {
    classes::push_urgency(header.policy.deadline(), header.policy.priority())
}
