//! Scheduling classes: one run queue holding a deadline class, a priority class and a fair class,
//! always serving the highest non-empty one.
//!
//! # Which class a task is in
//!
//! A task's class is a function of its parameters alone ([`class_of`]), read at every push:
//!
//! | class | tasks | order within the class |
//! |---|---|---|
//! | [`Class::Deadline`] | a deadline is set (periodic tasks always have one) | EDF ([`EdfQueue`]) |
//! | [`Class::Priority`] | no deadline, priority `1..=255` | highest priority first, with aging ([`PriorityQueue`]) |
//! | [`Class::Fair`] | no deadline, priority 0 (plain `spawn`) | smallest weighted virtual runtime ([`FairQueue`]) |
//!
//! Priority 0 meaning "not in the priority class" follows Linux, where `SCHED_FIFO` and
//! `SCHED_RR` take priorities `1..=99` and `SCHED_OTHER` (fair) threads have priority 0
//! (`sched(7)`, `sched_setscheduler(2)`). The order between classes is Linux's too: its
//! scheduling classes are walked `dl > rt > fair` (`kernel/sched/sched.h`, `for_each_class`) and
//! the first non-empty one picks.
//!
//! # Order
//!
//! [`ClassQueue::pop`] takes the head of the deadline class if it is non-empty, else of the
//! priority class, else of the fair class; within each class the class's own structure decides,
//! with its `(key, enqueue sequence)` ties (`super::key`). A class is strictly above the ones
//! below it: priority aging raises a task within the priority class (at most to 255) and never
//! into the deadline class, and the fair class runs only when both others are empty. (Starvation
//! of the fair class by a deadline task that overruns is what bandwidth budgets prevent; the
//! priority class has no such limit, as `SCHED_FIFO` without RT throttling.)
//!
//! # One urgency scale across classes
//!
//! Workers compare heads of different queues by one `u64` [`Urgency`] (`super::runqueue`). Here
//! the class is the top two bits, so every task of a higher class is more urgent than every task
//! of a lower one, and the bits below keep the class's own urgency ([`banded`]):
//!
//! | class | urgency |
//! |---|---|
//! | deadline | the absolute deadline in ns, capped at `2^62 - 1` (146 years of uptime) |
//! | priority | `2^62 + 255 - effective priority` |
//! | fair | `2^63 + virtual runtime`, capped below `2^63 + 2^62` (heads are compared by their lag behind the floor: [`fair_lag`]) |
//!
//! # Class moves
//!
//! A task that changes its parameters (`task::set_deadline`, `set_priority`, or inheritance
//! lending it a waiter's deadline or priority) changes class at its next push. A queued one is
//! moved by [`ClassQueue::rekey`]: re-keyed in place when it stays in its class (keeping its
//! enqueue sequence, as every re-key does), else taken out of its class and pushed into the new
//! one with a fresh sequence, placed there as a push would be: priority aging starts again (the
//! wait in another class earned no aging), and a task entering the fair class is placed against
//! the floor as a woken task.
//!
//! # Costs
//!
//! Push, pop and peek: the cost of the class's structure plus at most two emptiness checks
//! (O(1)). Remove and re-key: O(n) over the three structures.

use super::edf::{EdfKey, EdfQueue};
use super::fair::{self, FairQueue, UNPLACED};
use super::priority::{PriorityQueue, TOP};
use super::runqueue::{Key, TaskKey, Urgency};

/// A task's scheduling class, highest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Class {
    /// Tasks with a deadline: EDF.
    Deadline,
    /// Tasks with a priority of 1 or more and no deadline: fixed priorities with aging.
    Priority,
    /// Every other task: weighted fair share.
    Fair,
}

/// The class of a task with these parameters (see the module docs).
#[inline]
pub(crate) fn class_of(deadline: Option<u64>, priority: u8) -> Class {
    if deadline.is_some() {
        Class::Deadline
    } else if priority > 0 {
        Class::Priority
    } else {
        Class::Fair
    }
}

/// Width of one class's band on the urgency scale.
const BAND: u64 = 1 << 62;

/// `within` (the class's own urgency) on the common scale: the class in the top two bits,
/// `within` capped to the band below them.
#[inline]
pub(crate) fn banded(class: Class, within: u64) -> Urgency {
    let base = match class {
        Class::Deadline => 0,
        Class::Priority => BAND,
        Class::Fair => 2 * BAND,
    };
    Urgency(base + within.min(BAND - 1))
}

/// A head urgency for comparing heads of different queues: in the fair band, the virtual
/// runtime's lag behind the runtime-wide `floor` (0 at or behind it), as
/// `super::runqueue::lag_behind` does under `Fair`; other bands unchanged.
#[inline]
pub(crate) fn fair_lag(head: Urgency, floor: u64) -> Urgency {
    let base = banded(Class::Fair, 0).0;
    if head >= Urgency(base) && head != Urgency::IDLE {
        banded(Class::Fair, (head.0 - base).saturating_sub(floor))
    } else {
        head
    }
}

/// The largest head urgency whose [`fair_lag`] is at most `own`'s (see
/// `super::runqueue::lag_bound`).
#[inline]
pub(crate) fn fair_lag_bound(own: Urgency, floor: u64) -> Urgency {
    if own >= banded(Class::Fair, 0) && own != Urgency::IDLE {
        own.max(banded(Class::Fair, floor))
    } else {
        own
    }
}

/// Urgency of an EDF key in the deadline class.
#[inline]
fn deadline_urgency(key: EdfKey) -> Urgency {
    match key {
        EdfKey::At(d) => banded(Class::Deadline, d),
        // Not produced by this queue (a deadline-class task has a deadline); kept total.
        EdfKey::NoDeadline => banded(Class::Deadline, u64::MAX),
    }
}

/// Urgency of an effective priority in the priority class.
#[inline]
fn priority_urgency(priority: u8) -> Urgency {
    banded(Class::Priority, u64::from(TOP - priority))
}

/// The urgency preemption compares for a task being queued with these parameters: its banded
/// urgency in the deadline and priority classes; [`Urgency::LEAST`] in the fair class, which
/// never preempts by urgency (as under `Policy::Fair`: fair share preempts by time slice).
#[inline]
pub(crate) fn push_urgency(deadline: Option<u64>, priority: u8) -> Urgency {
    match class_of(deadline, priority) {
        Class::Deadline => deadline_urgency(EdfKey::from(deadline)),
        Class::Priority => priority_urgency(priority),
        Class::Fair => Urgency::LEAST,
    }
}

/// The urgency a worker publishes for the task it runs, from the key it was popped with. A fair
/// task publishes the most urgent value of the fair band: no fair task beats it (fair share
/// preempts by time slice), every task of a higher class does.
#[inline]
pub(crate) fn running_urgency(key: Key) -> Urgency {
    match key {
        Key::Edf(k) => deadline_urgency(k),
        Key::Priority(p) => priority_urgency(p),
        Key::Fair(_) => banded(Class::Fair, 0),
    }
}

/// The urgency of a running task with these parameters, as [`running_urgency`] of the key it
/// would be queued with (for a task whose parameters change while it runs).
#[inline]
pub(crate) fn running_urgency_of(deadline: Option<u64>, priority: u8) -> Urgency {
    match class_of(deadline, priority) {
        Class::Deadline => deadline_urgency(EdfKey::from(deadline)),
        Class::Priority => priority_urgency(priority),
        Class::Fair => banded(Class::Fair, 0),
    }
}

/// The three classes' run queues.
#[derive(Debug)]
pub(crate) struct ClassQueue<T> {
    /// The deadline class.
    deadline: EdfQueue<T>,
    /// The priority class.
    priority: PriorityQueue<T>,
    /// The fair class.
    fair: FairQueue<T>,
    /// Fair placement: a woken task is placed at most `sched_latency / 2` behind the floor.
    sched_latency: u64,
    /// The largest runtime-wide fair floor seen in a push (see `super::runqueue`).
    floor: u64,
}

impl<T> ClassQueue<T> {
    /// Empty classes: priority aging of one level per `aging_interval` ns (`u64::MAX`: none),
    /// fair placement latency `sched_latency` ns.
    pub(crate) fn new(aging_interval: u64, sched_latency: u64) -> ClassQueue<T> {
        ClassQueue {
            deadline: EdfQueue::new(),
            priority: PriorityQueue::new(aging_interval.max(1)),
            fair: FairQueue::new(),
            sched_latency,
            floor: 0,
        }
    }

    /// Number of queued tasks in all classes.
    #[inline(never)]
    pub(crate) fn len(&self) -> usize {
        self.deadline.len() + self.priority.len() + self.fair.len()
    }

    /// The fair floor placement uses: the larger of the class's `min_vruntime` and the
    /// runtime-wide floor seen.
    #[inline]
    fn fair_min(&self) -> u64 {
        self.fair.min_vruntime().max(self.floor)
    }

    /// The virtual runtime a task with `vruntime` enters the fair class with: level with the
    /// floor if it never ran there (`UNPLACED`), else placed as a woken task.
    #[inline]
    fn place(&self, vruntime: u64) -> u64 {
        let min = self.fair_min();
        if vruntime == UNPLACED {
            fair::place_new(min, 0)
        } else {
            fair::place_woken(vruntime, min, self.sched_latency)
        }
    }

    /// Queues a runnable task in the class its parameters give. Returns the placed virtual
    /// runtime for a fair-class task (for the caller to store), `None` otherwise.
    // Out of line: `RunQueue`'s match stays small enough for the other policies' arms to be
    // inlined as before this variant existed.
    #[inline(never)]
    pub(crate) fn push(&mut self, item: T, key: TaskKey, now: u64) -> Option<u64> {
        match class_of(key.deadline, key.priority) {
            Class::Deadline => self.deadline.push(item, key.deadline),
            Class::Priority => self.priority.push(item, key.priority, now),
            Class::Fair => {
                self.floor = self.floor.max(key.floor);
                let placed = self.place(key.vruntime);
                self.fair.push(item, placed);
                return Some(placed);
            }
        }
        None
    }

    /// Queues a task taken from another queue of classes with the key it was popped with (its
    /// class is the key's).
    pub(crate) fn push_moved(&mut self, item: T, key: Key, now: u64) {
        match key {
            Key::Edf(k) => self.deadline.push_key(item, k),
            Key::Priority(p) => self.priority.push(item, p, now),
            Key::Fair(v) => self.fair.push(item, v),
        }
    }

    /// Removes the head of the highest non-empty class at `now`, with its key.
    // Out of line: `RunQueue`'s match stays small enough for the other policies' arms to be
    // inlined as before this variant existed.
    #[inline(never)]
    pub(crate) fn pop(&mut self, now: u64) -> Option<(Key, T)> {
        if let Some((k, t)) = self.deadline.pop() {
            return Some((Key::Edf(k), t));
        }
        if let Some((p, t)) = self.priority.pop(now) {
            return Some((Key::Priority(p), t));
        }
        self.fair.pop().map(|(v, t)| (Key::Fair(v), t))
    }

    /// Like [`pop`](Self::pop), but a fair task leaves without raising the class's
    /// `min_vruntime` (it runs elsewhere).
    #[inline(never)]
    pub(crate) fn pop_for_move(&mut self, now: u64) -> Option<(Key, T)> {
        if self.deadline.len() > 0 || self.priority.len() > 0 {
            return self.pop(now);
        }
        self.fair
            .pop_batch(1)
            .next()
            .map(|(v, t)| (Key::Fair(v), t))
    }

    /// Removes the queued task `is` matches from whichever class holds it, with the key a pop at
    /// `now` would have returned it with. O(n).
    pub(crate) fn remove(&mut self, now: u64, mut is: impl FnMut(&T) -> bool) -> Option<(Key, T)> {
        if let Some((k, t)) = self.deadline.remove(&mut is) {
            return Some((Key::Edf(k), t));
        }
        if let Some((p, t)) = self.priority.remove(now, &mut is) {
            return Some((Key::Priority(p), t));
        }
        self.fair.remove(is).map(|(v, t)| (Key::Fair(v), t))
    }

    /// Moves the queued task `is` matches to the class of `key` with that key, and reports
    /// whether one matched (see "Class moves" in the module docs). O(n).
    ///
    /// - Same class: re-keyed in place (the task keeps its enqueue sequence); a priority keeps
    ///   the aging earned, as [`RunQueue::rekey`](super::runqueue::RunQueue::rekey) says. A
    ///   fair task re-keyed within the fair class is left as it is: its virtual runtime is the
    ///   queue's own record, and a class change is the only re-key the fair class needs.
    /// - Another class: removed from its class and pushed into `key`'s at `now`; a
    ///   `Key::Fair(v)` is placed (`v` is the task's last virtual runtime, or `UNPLACED`).
    pub(crate) fn rekey(&mut self, key: Key, now: u64, mut is: impl FnMut(&T) -> bool) -> bool {
        let in_place = match key {
            Key::Edf(k) => self.deadline.rekey(k, &mut is),
            Key::Priority(p) => self.priority.rekey(p, &mut is),
            Key::Fair(_) => self.fair.contains(&mut is),
        };
        if in_place {
            return true;
        }
        let Some((_, item)) = self.remove(now, is) else {
            return false;
        };
        match key {
            Key::Edf(k) => self.deadline.push_key(item, k),
            Key::Priority(p) => self.priority.push(item, p, now),
            Key::Fair(v) => {
                let placed = self.place(v);
                self.fair.push(item, placed);
            }
        }
        true
    }

    /// Urgency of the task [`pop`](Self::pop) would return at `now`, [`Urgency::IDLE`] if
    /// every class is empty.
    // Out of line: `RunQueue`'s match stays small enough for the other policies' arms to be
    // inlined as before this variant existed.
    #[inline(never)]
    pub(crate) fn head_urgency(&self, now: u64) -> Urgency {
        if let Some(k) = self.deadline.peek_key() {
            return deadline_urgency(k);
        }
        if let Some(p) = self.priority.peek_priority(now) {
            return priority_urgency(p);
        }
        self.fair
            .peek_key()
            .map_or(Urgency::IDLE, |v| banded(Class::Fair, v))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn key(deadline: Option<u64>, priority: u8) -> TaskKey {
        TaskKey {
            deadline,
            priority,
            vruntime: UNPLACED,
            floor: 0,
        }
    }

    #[test]
    fn class_follows_the_parameters() {
        assert_eq!(class_of(Some(5), 0), Class::Deadline);
        assert_eq!(class_of(Some(5), 200), Class::Deadline);
        assert_eq!(class_of(None, 1), Class::Priority);
        assert_eq!(class_of(None, 0), Class::Fair);
    }

    #[test]
    fn higher_class_first_then_the_class_order() {
        let mut q = ClassQueue::new(u64::MAX, 6_000);
        q.push("fair", key(None, 0), 0);
        q.push("p3", key(None, 3), 0);
        q.push("late", key(Some(900), 0), 0);
        q.push("p9", key(None, 9), 0);
        q.push("early", key(Some(100), 1), 0);
        assert_eq!(q.len(), 5);
        assert_eq!(q.head_urgency(0), banded(Class::Deadline, 100));
        let order: Vec<_> = std::iter::from_fn(|| q.pop(0).map(|(_, t)| t)).collect();
        assert_eq!(order, vec!["early", "late", "p9", "p3", "fair"]);
        assert_eq!(q.head_urgency(0), Urgency::IDLE);
    }

    #[test]
    fn bands_never_overlap() {
        // The latest deadline beats the highest priority, which beats the most urgent fair task.
        assert!(banded(Class::Deadline, u64::MAX) < banded(Class::Priority, 0));
        assert!(banded(Class::Priority, u64::MAX) < banded(Class::Fair, 0));
        assert!(banded(Class::Fair, u64::MAX) < Urgency::LEAST);
        assert!(push_urgency(None, 255) < push_urgency(None, 1));
        assert_eq!(push_urgency(None, 0), Urgency::LEAST);
        // A running fair task is beaten by any higher class, by no fair task.
        let fair_runner = running_urgency(Key::Fair(7));
        assert!(push_urgency(None, 1) < fair_runner);
        assert!(banded(Class::Fair, 0) >= fair_runner);
        assert_eq!(running_urgency_of(None, 0), fair_runner);
        assert_eq!(running_urgency_of(Some(3), 0), banded(Class::Deadline, 3));
        // Heads compare by fair lag behind the floor, in the fair band only.
        let floor = 1_000;
        assert_eq!(
            fair_lag(banded(Class::Fair, 400), floor),
            banded(Class::Fair, 0)
        );
        assert_eq!(
            fair_lag(banded(Class::Fair, 1_500), floor),
            banded(Class::Fair, 500)
        );
        assert_eq!(
            fair_lag(banded(Class::Priority, 3), floor),
            banded(Class::Priority, 3)
        );
        assert_eq!(fair_lag(Urgency::IDLE, floor), Urgency::IDLE);
        assert_eq!(
            fair_lag_bound(banded(Class::Fair, 400), floor),
            banded(Class::Fair, floor)
        );
        assert_eq!(
            fair_lag_bound(banded(Class::Fair, 1_500), floor),
            banded(Class::Fair, 1_500)
        );
        assert_eq!(
            fair_lag_bound(banded(Class::Deadline, 9), floor),
            banded(Class::Deadline, 9)
        );
        assert_eq!(fair_lag_bound(Urgency::IDLE, floor), Urgency::IDLE);
    }

    #[test]
    fn aging_stays_within_the_priority_class() {
        let mut q = ClassQueue::new(10, 6_000);
        q.push("low", key(None, 1), 0);
        // Long past 255 levels of aging: still below any deadline.
        q.push("deadline", key(Some(u64::MAX - 1), 0), 1_000_000);
        assert_eq!(q.pop(1_000_000).map(|(_, t)| t), Some("deadline"));
        assert_eq!(q.pop(1_000_000), Some((Key::Priority(255), "low")));
    }

    #[test]
    fn rekey_moves_a_task_between_classes() {
        let mut q = ClassQueue::new(u64::MAX, 6_000);
        q.push(1, key(None, 0), 0);
        q.push(2, key(None, 0), 0);
        q.push(3, key(None, 5), 0);
        // Fair task 2 lent priority 9: above task 3.
        assert!(q.rekey(Key::Priority(9), 0, |&t| t == 2));
        assert_eq!(q.head_urgency(0), banded(Class::Priority, 255 - 9));
        // Then a deadline: the deadline class.
        assert!(q.rekey(Key::Edf(EdfKey::At(50)), 0, |&t| t == 2));
        assert_eq!(q.head_urgency(0), banded(Class::Deadline, 50));
        // In place within the class.
        assert!(q.rekey(Key::Edf(EdfKey::At(40)), 0, |&t| t == 2));
        assert_eq!(q.head_urgency(0), banded(Class::Deadline, 40));
        // Back to the fair class: placed level with the floor, behind task 1 (queued first).
        assert!(q.rekey(Key::Fair(UNPLACED), 0, |&t| t == 2));
        // A fair re-key of a fair task changes nothing.
        assert!(q.rekey(Key::Fair(123), 0, |&t| t == 1));
        assert!(!q.rekey(Key::Priority(1), 0, |&t| t == 9), "not queued");
        let order: Vec<_> = std::iter::from_fn(|| q.pop(0)).collect();
        assert_eq!(
            order,
            vec![(Key::Priority(5), 3), (Key::Fair(0), 1), (Key::Fair(0), 2)]
        );
    }

    #[test]
    fn moved_tasks_keep_class_and_key() {
        let mut a = ClassQueue::new(10, 6_000);
        a.push("d", key(Some(7), 0), 0);
        a.push("p", key(None, 4), 0);
        let ran = TaskKey {
            vruntime: 500,
            ..key(None, 0)
        };
        assert_eq!(a.push("f", ran, 0), Some(500));
        let mut b = ClassQueue::new(10, 6_000);
        while let Some((k, t)) = a.pop_for_move(30) {
            b.push_moved(t, k, 30);
        }
        // The priority task aged 3 levels in `a` and keeps them.
        let order: Vec<_> = std::iter::from_fn(|| b.pop(30)).collect();
        assert_eq!(
            order,
            vec![
                (Key::Edf(EdfKey::At(7)), "d"),
                (Key::Priority(7), "p"),
                (Key::Fair(500), "f")
            ]
        );
        assert_eq!(
            a.remove(0, |_| true),
            None,
            "everything moved, `a` is empty"
        );
    }
}
