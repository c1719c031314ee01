//! One run queue for whichever ordered policy the runtime uses, and the urgency scale that
//! compares queues with each other.
//!
//! [`RunQueue`] dispatches to [`EdfQueue`], [`PriorityQueue`] or [`FairQueue`]; `queue/` wraps it
//! for concurrency. It stays pure: the caller passes `now` and each task's parameters in.
//!
//! Besides push and pop, a queued task can be taken out ([`RunQueue::remove`]) or given a new
//! key in place ([`RunQueue::rekey`]), for urgency that changes while a task waits (priority and
//! deadline inheritance, scheduling class moves). Both find the task with a predicate over the
//! items, in O(n) (why not O(log n): [`super::key`]); a re-keyed task keeps its enqueue
//! sequence.
//!
//! # Urgency
//!
//! Workers compare the heads of different queues (their own, the injector, a victim's) and the
//! task each worker is running, to keep the policy global rather than per worker. They compare
//! an [`Urgency`], one `u64` where smaller is more urgent:
//!
//! | policy | urgency of a task |
//! |---|---|
//! | `Edf` | its absolute deadline in ns; no deadline: [`Urgency::LEAST`] |
//! | `Priority` | `255 - effective priority` (aging included, as of the last push or pop) |
//! | `Fair` | its virtual runtime (absolute, on the runtime's one virtual time axis) |
//!
//! # One virtual clock under `Fair`
//!
//! All fair-share queues of a runtime share one virtual time axis: virtual runtimes are never
//! converted when a task moves between queues. The caller keeps a runtime-wide floor (the
//! largest virtual runtime any worker has started running, published coarsely) and passes it in
//! with every push; a queue places new and woken tasks against the larger of that floor and its
//! own `min_vruntime`. So a task woken on another worker than the one it last ran on is placed
//! exactly as if it had stayed, and stealing needs no lag arithmetic.
//!
//! Queue heads carry absolute virtual runtimes for the same reason: a head's urgency is
//! published when its queue changes (`queue/ordered.rs` mirrors), and a value relative to that
//! queue's floor at that moment would go stale while the other queues' floors move on (a task
//! left alone in the injector would look less and less urgent than heads that kept being
//! re-based, and wait until every worker's queue ran empty). Workers compare heads by
//! [`lag_behind`] the runtime-wide floor as they read it: everything at or behind the floor ties
//! at 0, so a worker keeps running its own queue among tasks that are all due, and a task that
//! fell behind is taken at the worker's next turn for the other queues.
//!
//! [`Urgency::IDLE`] (`u64::MAX`) is reserved for "no task": real urgencies are capped one below.

use super::classes::ClassQueue;
use super::edf::{EdfKey, EdfQueue};
use super::fair::UNPLACED;
use super::fair::{self, FairQueue};
use super::priority::{PriorityQueue, TOP};

/// Which ordered policy a [`RunQueue`] applies, with its parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum QueueOrder {
    /// Earliest deadline first.
    Edf,
    /// Highest priority first, one level of aging per `aging_interval` ns waited.
    Priority {
        /// Nanoseconds of waiting per level gained (`u64::MAX`: no aging).
        aging_interval: u64,
    },
    /// Smallest weighted virtual runtime first.
    Fair {
        /// A woken task is placed at most `sched_latency / 2` behind `min_vruntime`.
        sched_latency: u64,
    },
    /// Scheduling classes (`super::classes`): deadline, then priority, then fair.
    Classes {
        /// The priority class's aging, as under `Priority`.
        aging_interval: u64,
        /// The fair class's placement latency, as under `Fair`.
        sched_latency: u64,
    },
}

/// How urgent a task is on the common scale (see the module docs). Smaller is more urgent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Urgency(pub(crate) u64);

impl Urgency {
    /// No task (an idle worker, an empty queue). Less urgent than every task.
    pub(crate) const IDLE: Urgency = Urgency(u64::MAX);
    /// The least urgent task (no deadline under `Edf`).
    pub(crate) const LEAST: Urgency = Urgency(u64::MAX - 1);

    /// A task urgency, capped below [`IDLE`](Self::IDLE).
    #[inline]
    pub(crate) fn of(value: u64) -> Urgency {
        Urgency(value.min(Self::LEAST.0))
    }
}

/// What a task brings to a push: its parameters, read from its header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TaskKey {
    /// Absolute deadline (ns), if any.
    pub(crate) deadline: Option<u64>,
    /// Base priority.
    pub(crate) priority: u8,
    /// Virtual runtime, or `UNPLACED` for a task that never ran under `Fair`.
    pub(crate) vruntime: u64,
    /// Under `Fair`: the runtime-wide virtual-time floor as the caller last saw it.
    pub(crate) floor: u64,
}

/// The key a task was queued with, returned by pops so that a stolen task can be re-queued
/// elsewhere with the same standing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Key {
    /// EDF key.
    Edf(EdfKey),
    /// Effective priority at the pop.
    Priority(u8),
    /// Virtual runtime (one axis for every queue, see the module docs).
    Fair(u64),
}

/// A run queue of one ordered policy.
#[derive(Debug)]
pub(crate) enum RunQueue<T> {
    /// `QueueOrder::Edf`.
    Edf(EdfQueue<T>),
    /// `QueueOrder::Priority`.
    Priority(PriorityQueue<T>),
    /// `QueueOrder::Fair`, with its placement latency and the largest runtime-wide floor seen.
    Fair(FairQueue<T>, u64, u64),
    /// `QueueOrder::Classes`.
    Classes(ClassQueue<T>),
}

impl<T> RunQueue<T> {
    /// An empty queue for `ordering`.
    pub(crate) fn new(ordering: QueueOrder) -> RunQueue<T> {
        match ordering {
            QueueOrder::Edf => RunQueue::Edf(EdfQueue::new()),
            QueueOrder::Priority { aging_interval } => {
                RunQueue::Priority(PriorityQueue::new(aging_interval.max(1)))
            }
            QueueOrder::Fair { sched_latency } => {
                RunQueue::Fair(FairQueue::new(), sched_latency, 0)
            }
            QueueOrder::Classes {
                aging_interval,
                sched_latency,
            } => RunQueue::Classes(ClassQueue::new(aging_interval, sched_latency)),
        }
    }

    /// Number of queued tasks.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        match self {
            RunQueue::Edf(q) => q.len(),
            RunQueue::Priority(q) => q.len(),
            RunQueue::Fair(q, ..) => q.len(),
            RunQueue::Classes(q) => q.len(),
        }
    }

    /// Queues a task that became runnable (spawned, woken, yielded) with its parameters.
    /// Under `Fair` the task is placed against the floor (new: level with it; otherwise no more
    /// than `sched_latency / 2` behind it) and the placed virtual runtime is returned, for the
    /// caller to store in the task.
    // Always: one caller per ordered family (`queue/ordered.rs`'s push, itself inlined into each
    // family's push), where it was inlined while that family was one (`docs/benchmarks.md`).
    #[inline(always)]
    pub(crate) fn push(&mut self, item: T, key: TaskKey, now: u64) -> Option<u64> {
        match self {
            RunQueue::Edf(q) => q.push(item, key.deadline),
            RunQueue::Priority(q) => q.push(item, key.priority, now),
            RunQueue::Fair(q, latency, floor) => {
                *floor = (*floor).max(key.floor);
                let min = q.min_vruntime().max(*floor);
                let placed = if key.vruntime == UNPLACED {
                    fair::place_new(min, 0)
                } else {
                    fair::place_woken(key.vruntime, min, *latency)
                };
                q.push(item, placed);
                return Some(placed);
            }
            RunQueue::Classes(q) => return q.push(item, key, now),
        }
        None
    }

    /// Queues a task taken from another queue with the key it was popped with: same deadline,
    /// the effective priority it had earned (its aging is kept), the same virtual runtime.
    pub(crate) fn push_moved(&mut self, item: T, key: Key, now: u64) {
        match (self, key) {
            (RunQueue::Edf(q), Key::Edf(k)) => q.push_key(item, k),
            (RunQueue::Priority(q), Key::Priority(p)) => q.push(item, p, now),
            (RunQueue::Fair(q, ..), Key::Fair(vruntime)) => q.push(item, vruntime),
            (RunQueue::Classes(q), key) => q.push_moved(item, key, now),
            _ => unreachable!("a key moved between queues of different policies"),
        }
    }

    /// Removes the most urgent task at `now`, with its key.
    #[inline]
    pub(crate) fn pop(&mut self, now: u64) -> Option<(Key, T)> {
        match self {
            RunQueue::Edf(q) => q.pop().map(|(k, t)| (Key::Edf(k), t)),
            RunQueue::Priority(q) => q.pop(now).map(|(p, t)| (Key::Priority(p), t)),
            RunQueue::Fair(q, ..) => q.pop().map(|(v, t)| (Key::Fair(v), t)),
            RunQueue::Classes(q) => q.pop(now),
        }
    }

    /// Removes the most urgent task for another queue: like [`pop`](Self::pop), but under
    /// `Fair` without raising this queue's floor (the task leaves without running here).
    pub(crate) fn pop_for_move(&mut self, now: u64) -> Option<(Key, T)> {
        match self {
            RunQueue::Fair(q, ..) => q.pop_batch(1).next().map(|(v, t)| (Key::Fair(v), t)),
            RunQueue::Classes(q) => q.pop_for_move(now),
            _ => self.pop(now),
        }
    }

    /// Removes the queued task `is` matches, with the key a pop at `now` would have returned it
    /// with (so it can be queued elsewhere with [`push_moved`](Self::push_moved)); `None` if
    /// none matches. The predicate should match at most one task (a task is queued at most once);
    /// if several match, the one queued first is taken. Under `Fair` the floor does not move: the
    /// task leaves without running here. O(n).
    pub(crate) fn remove(&mut self, now: u64, is: impl FnMut(&T) -> bool) -> Option<(Key, T)> {
        match self {
            RunQueue::Edf(q) => q.remove(is).map(|(k, t)| (Key::Edf(k), t)),
            RunQueue::Priority(q) => q.remove(now, is).map(|(p, t)| (Key::Priority(p), t)),
            RunQueue::Fair(q, ..) => q.remove(is).map(|(v, t)| (Key::Fair(v), t)),
            RunQueue::Classes(q) => q.remove(now, is),
        }
    }

    /// Gives the queued task `is` matches (chosen as by [`remove`](Self::remove)) a new key and
    /// reports whether one matched. O(n).
    ///
    /// The task keeps its enqueue sequence: among equal keys it keeps its place by arrival, and
    /// re-keying a task to the key it already has changes nothing (see
    /// [`KeyedHeap::rekey`](super::key::KeyedHeap::rekey)). What the key means:
    ///
    /// - `Key::Edf(k)`: the new deadline key.
    /// - `Key::Priority(p)`: the new *base* priority; the aging the task earned since it was
    ///   queued stays on top of it (unlike [`push_moved`](Self::push_moved), whose priority is
    ///   an effective one, aging included).
    /// - `Key::Fair(v)`: the new virtual runtime, used as given (no placement).
    ///
    /// Under `Classes` the key's variant names the class the task moves to
    /// ([`ClassQueue::rekey`]; `now` starts a priority's aging when the task changes class).
    ///
    /// # Panics
    ///
    /// If `key` is of another policy than the queue.
    pub(crate) fn rekey(&mut self, key: Key, now: u64, is: impl FnMut(&T) -> bool) -> bool {
        match (self, key) {
            (RunQueue::Classes(q), key) => q.rekey(key, now, is),
            (RunQueue::Edf(q), Key::Edf(k)) => q.rekey(k, is),
            (RunQueue::Priority(q), Key::Priority(p)) => q.rekey(p, is),
            (RunQueue::Fair(q, ..), Key::Fair(v)) => q.rekey(v, is),
            _ => unreachable!("a re-key with a key of another policy"),
        }
    }

    /// Urgency of the task [`pop`](Self::pop) would return at `now`, [`Urgency::IDLE`] if empty.
    #[inline]
    pub(crate) fn head_urgency(&self, now: u64) -> Urgency {
        match self {
            RunQueue::Edf(q) => q.peek_key().map_or(Urgency::IDLE, edf_urgency),
            RunQueue::Priority(q) => q.peek_priority(now).map_or(Urgency::IDLE, priority_urgency),
            RunQueue::Fair(q, ..) => q.peek_key().map_or(Urgency::IDLE, fair_urgency),
            RunQueue::Classes(q) => q.head_urgency(now),
        }
    }
}

/// Urgency of an EDF key.
#[inline]
pub(crate) fn edf_urgency(key: EdfKey) -> Urgency {
    match key {
        EdfKey::At(d) => Urgency::of(d),
        EdfKey::NoDeadline => Urgency::LEAST,
    }
}

/// Urgency of an (effective) priority.
#[inline]
pub(crate) fn priority_urgency(priority: u8) -> Urgency {
    Urgency(u64::from(TOP - priority))
}

/// Urgency of a virtual runtime: the virtual runtime itself (one axis for every queue).
#[inline]
pub(crate) fn fair_urgency(vruntime: u64) -> Urgency {
    Urgency::of(vruntime)
}

/// A queue head's urgency for comparing heads of different queues, with `floor` the
/// runtime-wide virtual-time floor as the caller read it: a fair-share head (under `Fair`, and in
/// the fair band of `Classes`) becomes its lag behind the floor, 0 at or behind it (see "One
/// virtual clock under `Fair`" in the module docs); other heads are unchanged.
#[inline]
pub(crate) fn lag_behind(order: QueueOrder, head: Urgency, floor: u64) -> Urgency {
    match order {
        QueueOrder::Fair { .. } if head != Urgency::IDLE => Urgency(head.0.saturating_sub(floor)),
        QueueOrder::Classes { .. } => super::classes::fair_lag(head, floor),
        _ => head,
    }
}

/// The largest head urgency `h` with `lag_behind(h) <= lag_behind(own)`: the bound to pop
/// another queue's head with once the lags were compared (the pop rechecks it under the lock).
#[inline]
pub(crate) fn lag_bound(order: QueueOrder, own: Urgency, floor: u64) -> Urgency {
    match order {
        QueueOrder::Fair { .. } if own != Urgency::IDLE => own.max(Urgency::of(floor)),
        QueueOrder::Classes { .. } => super::classes::fair_lag_bound(own, floor),
        _ => own,
    }
}

/// Urgency of a task about to run, from the key it was popped with, for deciding whom to
/// preempt. Under `Fair` every running task counts as least urgent: fair share preempts by time
/// slice, not by comparing tasks across workers.
#[inline]
pub(crate) fn key_urgency(key: Key) -> Urgency {
    match key {
        Key::Edf(k) => edf_urgency(k),
        Key::Priority(p) => priority_urgency(p),
        Key::Fair(_) => Urgency::LEAST,
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
    fn edf_pops_by_deadline_and_reports_urgency() {
        let mut q = RunQueue::new(QueueOrder::Edf);
        q.push(1, key(Some(30), 0), 0);
        q.push(2, key(None, 0), 0);
        q.push(3, key(Some(10), 0), 0);
        assert_eq!(q.head_urgency(0), Urgency(10));
        let order: Vec<_> = std::iter::from_fn(|| q.pop(0).map(|(_, t)| t)).collect();
        assert_eq!(order, vec![3, 1, 2]);
        assert_eq!(q.head_urgency(0), Urgency::IDLE);
        assert!(Urgency::of(u64::MAX) < Urgency::IDLE);
    }

    #[test]
    fn rekey_and_remove_under_each_policy() {
        let mut q = RunQueue::new(QueueOrder::Edf);
        q.push(1, key(Some(30), 0), 0);
        q.push(2, key(None, 0), 0);
        assert!(q.rekey(Key::Edf(EdfKey::At(10)), 0, |&t| t == 2));
        assert_eq!(q.head_urgency(0), Urgency(10));
        assert_eq!(
            q.remove(0, |&t| t == 2),
            Some((Key::Edf(EdfKey::At(10)), 2))
        );
        assert_eq!(q.remove(0, |&t| t == 2), None);
        assert_eq!(q.head_urgency(0), Urgency(30));

        let mut q = RunQueue::new(QueueOrder::Priority { aging_interval: 10 });
        q.push("a", key(None, 1), 0);
        q.push("b", key(None, 3), 0);
        // "a" inherits base 5; the 2 levels it aged by 20 ns stay on top of it.
        assert!(q.rekey(Key::Priority(5), 0, |&t| t == "a"));
        assert_eq!(q.head_urgency(20), priority_urgency(7));
        assert_eq!(q.remove(20, |&t| t == "a"), Some((Key::Priority(7), "a")));
        assert!(!q.rekey(Key::Priority(9), 0, |&t| t == "a"));

        let mut q = RunQueue::new(QueueOrder::Fair {
            sched_latency: 6_000,
        });
        assert_eq!(q.push(1, key(None, 0), 0), Some(0));
        let ran = TaskKey {
            vruntime: 500,
            ..key(None, 0)
        };
        assert_eq!(q.push(2, ran, 0), Some(500));
        // Level with task 1, which was queued first and stays ahead.
        assert!(q.rekey(Key::Fair(0), 0, |&t| t == 2));
        assert_eq!(q.remove(0, |&t| t == 1), Some((Key::Fair(0), 1)));
        assert_eq!(q.pop(0), Some((Key::Fair(0), 2)));
        assert!(!q.rekey(Key::Fair(0), 0, |&t| t == 2));
    }

    #[test]
    #[should_panic(expected = "another policy")]
    fn rekey_with_another_policys_key_panics() {
        let mut q = RunQueue::new(QueueOrder::Edf);
        q.push(1, key(Some(30), 0), 0);
        let _ = q.rekey(Key::Fair(0), 0, |_| true);
    }

    #[test]
    fn priority_moved_task_keeps_its_aging() {
        let mut a = RunQueue::new(QueueOrder::Priority { aging_interval: 10 });
        a.push("low", key(None, 0), 0);
        // 50 ns later it has aged 5 levels.
        let (k, t) = a.pop_for_move(50).unwrap();
        assert_eq!(k, Key::Priority(5));
        let mut b = RunQueue::new(QueueOrder::Priority { aging_interval: 10 });
        b.push("four", key(None, 4), 50);
        b.push_moved(t, k, 50);
        assert_eq!(b.head_urgency(50), priority_urgency(5));
        assert_eq!(b.pop(50).map(|(_, t)| t), Some("low"));
    }

    #[test]
    fn fair_places_against_the_runtime_floor_and_moves_unchanged() {
        let mut a = RunQueue::new(QueueOrder::Fair {
            sched_latency: 6_000,
        });
        assert_eq!(a.push(1, key(None, 0), 0), Some(0));
        assert_eq!(a.pop(0).map(|(k, _)| k), Some(Key::Fair(0)));
        // A task that ran to 10_000 and is re-queued keeps its virtual runtime.
        let ran = TaskKey {
            vruntime: 10_000,
            ..key(None, 0)
        };
        assert_eq!(a.push(2, ran, 0), Some(10_000));
        // With the runtime floor at 50_000, a new task starts there, and a sleeper far behind
        // is placed latency / 2 behind it.
        let floor = 50_000;
        assert_eq!(
            a.push(
                3,
                TaskKey {
                    floor,
                    ..key(None, 0)
                },
                0
            ),
            Some(50_000)
        );
        let sleeper = TaskKey {
            vruntime: 5,
            floor,
            ..key(None, 0)
        };
        assert_eq!(a.push(4, sleeper, 0), Some(47_000));
        // Task 2 is the head: its urgency is its own virtual runtime; compared with other
        // heads it is 40_000 behind the floor, and the lag saturates at 0.
        assert_eq!(a.head_urgency(0), Urgency(10_000));
        let order = QueueOrder::Fair {
            sched_latency: 6_000,
        };
        assert_eq!(lag_behind(order, a.head_urgency(0), floor), Urgency(0));
        assert_eq!(lag_behind(order, Urgency(50_007), floor), Urgency(7));
        assert_eq!(lag_behind(order, Urgency::IDLE, floor), Urgency::IDLE);
        // Popping another queue's head after comparing lags: anything at or behind the floor
        // ties with an own head behind it; ahead of the floor, the own head bounds.
        assert_eq!(lag_bound(order, Urgency(10_000), floor), Urgency(floor));
        assert_eq!(lag_bound(order, Urgency(60_000), floor), Urgency(60_000));
        assert_eq!(lag_bound(order, Urgency::IDLE, floor), Urgency::IDLE);
        assert_eq!(lag_behind(QueueOrder::Edf, Urgency(5), floor), Urgency(5));
        let (k, t) = a.pop_for_move(0).unwrap();
        assert_eq!((k, t), (Key::Fair(10_000), 2));
        let mut b = RunQueue::new(QueueOrder::Fair {
            sched_latency: 6_000,
        });
        b.push_moved(t, k, 0);
        assert_eq!(b.pop(0), Some((Key::Fair(10_000), 2)));
        assert_eq!(key_urgency(Key::Fair(1)), Urgency::LEAST);
    }
}
