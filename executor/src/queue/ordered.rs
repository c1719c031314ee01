//! Run queues of the ordered policies (`Edf`, `Priority`, `Fair`): a policy structure behind a
//! lock, with lock-free mirrors of its head and length.
//!
//! # Protocol
//!
//! Each worker owns one [`Ordered`] queue and the runtime has one more as its injector. The
//! structure inside ([`RunQueue`]) is single-owner data, so it sits behind a mutex:
//!
//! - The owner locks for every push and pop. The lock is almost always uncontended (it lives in
//!   the owner's cache), so this costs one uncontended lock/unlock pair, the price of keeping an
//!   `O(log n)` ordered structure instead of a FIFO ring.
//! - Other workers never wait for it: a thief calls [`Ordered::steal_into`], which only
//!   `try_lock`s and gives up if the owner holds the lock (it looks elsewhere or retries next
//!   round). The injector is locked (blocking) by everyone: its critical sections are a push or
//!   a pop, never user code.
//! - Never two of these locks at once: a steal pops under the victim's lock, releases it, then
//!   pushes under the thief's. No lock order, no deadlock.
//!
//! After every change, still under the lock, the queue publishes two mirrors: `len` and `head`,
//! the [`Urgency`] of the task a pop would return. Workers read the mirrors of every queue, with
//! no lock, to decide where the most urgent runnable task is (`worker/ordered.rs`). A mirror can be
//! stale by the time it is used; the decision is then off by one race, never unsafe: a pop on a
//! queue that turned out to be empty returns `None`, and the idle protocol's final recheck reads
//! `len` after a `SeqCst` read-modify-write that the pusher's own RMW is ordered with
//! (`worker/idle.rs`), so a published task is never missed by a worker going to sleep.
//!
//! Priority aging moves heads as time passes without any push or pop; the mirror then shows the
//! head's urgency as of the last change. Every pop re-evaluates aging exactly.
//!
//! # Re-keying and removing a queued task
//!
//! [`Ordered::rekey`] gives a queued task a new key in place (its urgency rose while it waited:
//! priority or deadline inheritance) and [`Ordered::remove`] takes it out (a scheduling class
//! move). Both lock the queue (blocking, as for the injector: the critical section is an O(n)
//! scan of the structure, never user code), find the task with a predicate, change the
//! structure and republish the mirrors under the lock exactly as push and pop do, so once the
//! lock is released `head` shows the task if it became the most urgent.
//!
//! A task is in at most one queue, and only between a push and the pop that takes it. Popped, it
//! is in none: running, about to run (the first task of a steal, or one the injector gave up),
//! or *in flight* in a steal (popped under the victim's lock, not yet pushed under the thief's).
//! The queue lock orders a re-key with the steal's pop on the victim and with the thief's push
//! on its own queue, so exactly one of these happens:
//!
//! - the re-key holds the victim's lock first: a steal meanwhile finds the lock taken and gives
//!   up for this round, and a later one pops the task with its new key and moves it with it;
//! - the steal holds it first: the re-key finds nothing there and reports "not found" (`false`,
//!   `None`), never a half-applied change. The task lands on the thief's queue with the key it
//!   was popped with, or runs on the thief.
//!
//! So a caller (priority and deadline inheritance, `OrderedQueues::reprioritized` in
//! `worker/ordered.rs`; class moves later) must:
//!
//! 1. store the task's new parameters in its header first, where every later push reads them;
//! 2. re-key on the queue the task is in;
//! 3. on "not found", read the task's state (`task/state.rs`): running, idle or complete, stop
//!    (its next push reads the new parameters); `NOTIFIED` without `RUNNING` (queued or on its
//!    way to a queue), it was moved or is in flight: retry on the queue it lands in. A flight
//!    ends with the thief's push right after the steal's pop, or with the thief taking
//!    `RUNNING` for the one task it runs directly.
//!
//! Retrying is harmless: a re-keyed task keeps its enqueue sequence, so re-keying a task to the
//! key it already has (a task popped and re-pushed with the new parameters in between) changes
//! nothing. Nothing records which queue a task is in: inheritance scans the injector and every
//! worker's queue (a contended-lock path only).
//!
//! # Layout: the mirrors are read far more often than they change
//!
//! Every pick of every worker reads the mirrors of every queue, so they live on their own cache
//! line, away from the lock and the structure the owner writes on each push and pop; and a
//! mirror is stored only when its value changes. `len` is published as a lower bound that
//! changes rarely: exact up to 2 (what `is_empty` and "other tasks queued" need), then the
//! largest power of two not above the length (enough to size a steal). A queue that holds
//! about 50 tasks of one urgency then writes no shared line at all on a push or pop. (With the
//! lock and mirrors on one line, the owner's unlock waited for the line the other workers' picks
//! kept reading: docs/benchmarks.md, "Edf and Priority: what this session changed".)

use crate::loom::atomic::{AtomicU64, AtomicUsize, Ordering as AtomicOrdering};
use crate::loom::{lock, Mutex};
use crate::policy::runqueue::{Key, QueueOrder, RunQueue, TaskKey, Urgency};
use crossbeam_utils::CachePadded;

/// An ordered run queue shared between threads.
pub(crate) struct Ordered<T> {
    /// The policy structure and whether the queue still accepts tasks.
    inner: CachePadded<Mutex<Inner<T>>>,
    /// The lock-free mirrors, on their own line. `CachePadded` aligns to 128 bytes on x86_64
    /// (a cache line, or the pair of lines its adjacent-line prefetcher moves together) and
    /// aarch64, and to the line size elsewhere.
    mirrors: CachePadded<Mirrors>,
}

/// What other threads read without the lock (written under it, only on change).
struct Mirrors {
    /// [`Urgency`] of the head as of the last change (`Urgency::IDLE` when empty).
    head: AtomicU64,
    /// Number of queued tasks as of the last change, as [`len_mirror`] rounds it.
    len: AtomicUsize,
}

/// The published form of a queue length `n`: `n` up to 2, then the largest power of two not
/// above `n`. A lower bound on `n` that is exact for the questions asked of it (empty? more than
/// one?) and changes only when `n` crosses a power of two.
#[inline]
fn len_mirror(n: usize) -> usize {
    if n <= 2 {
        n
    } else {
        1 << (usize::BITS - 1 - n.leading_zeros())
    }
}

/// The locked part.
struct Inner<T> {
    /// The tasks, in policy order.
    rq: RunQueue<T>,
    /// Set by shutdown: pushes are refused (the caller drops the task).
    closed: bool,
}

impl<T> Ordered<T> {
    /// An empty, open queue of `ordering`.
    pub(crate) fn new(ordering: QueueOrder) -> Ordered<T> {
        Ordered {
            inner: CachePadded::new(Mutex::new(Inner {
                rq: RunQueue::new(ordering),
                closed: false,
            })),
            mirrors: CachePadded::new(Mirrors {
                head: AtomicU64::new(Urgency::IDLE.0),
                len: AtomicUsize::new(0),
            }),
        }
    }

    /// Urgency of the head as of the last change; `Urgency::IDLE` when empty.
    #[inline]
    pub(crate) fn head(&self) -> Urgency {
        Urgency(self.mirrors.head.load(AtomicOrdering::Acquire))
    }

    /// Number of queued tasks as of the last change, as a lower bound: exact up to 2, then the
    /// largest power of two not above it (see the module docs).
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.mirrors.len.load(AtomicOrdering::Acquire)
    }

    /// Whether the queue looked empty at its last change.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Queues a runnable task (see [`RunQueue::push`]). Returns the placed virtual runtime
    /// under `Fair`, or the task back if the queue is closed.
    // Always: it has one caller per ordered family (`worker/ordered.rs`'s push), where it was
    // inlined while that family was one (`docs/benchmarks.md`, preemptive classes).
    #[inline(always)]
    pub(crate) fn push(&self, task: T, key: TaskKey, now: u64) -> Result<Option<u64>, T> {
        let mut inner = lock(&self.inner);
        if inner.closed {
            return Err(task);
        }
        let placed = inner.rq.push(task, key, now);
        self.publish(&inner.rq, now);
        Ok(placed)
    }

    /// Removes the most urgent task (blocking on the lock).
    pub(crate) fn pop(&self, now: u64) -> Option<(Key, T)> {
        let mut inner = lock(&self.inner);
        let popped = inner.rq.pop(now);
        if popped.is_some() {
            self.publish(&inner.rq, now);
        }
        popped
    }

    /// Removes the most urgent task if it is at least as urgent as `bound` (blocking on the
    /// lock). For the injector: a worker takes from it only when its head beats the local one.
    pub(crate) fn pop_if(&self, bound: Urgency, now: u64) -> Option<(Key, T)> {
        let mut inner = lock(&self.inner);
        if inner.rq.head_urgency(now) > bound {
            return None;
        }
        let popped = inner.rq.pop_for_move(now);
        if popped.is_some() {
            self.publish(&inner.rq, now);
        }
        popped
    }

    /// Removes the queued task `is` matches, with the key a pop would have returned it with
    /// ([`RunQueue::remove`]); `None` if it is not in this queue: popped, or moved by a steal
    /// (see the module docs for what the caller does then). Blocks on the lock; O(n).
    // No runtime path removes a queued task yet: scheduling class moves will (remove from one
    // class's queue, push to another's). Until then only the tests and loom models call it.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn remove(&self, now: u64, is: impl FnMut(&T) -> bool) -> Option<(Key, T)> {
        let mut inner = lock(&self.inner);
        let removed = inner.rq.remove(now, is);
        if removed.is_some() {
            self.publish(&inner.rq, now);
        } else {
            crate::loom::reached("ordered.remove_missed");
        }
        removed
    }

    /// Gives the queued task `is` matches a new key ([`RunQueue::rekey`]: it keeps its enqueue
    /// sequence) and reports whether it was in this queue. `false`: popped, or moved by a steal
    /// (see the module docs for what the caller does then). Blocks on the lock; O(n).
    // Called by priority and deadline inheritance (`worker/ordered.rs`, `reprioritized`).
    pub(crate) fn rekey(&self, key: Key, now: u64, is: impl FnMut(&T) -> bool) -> bool {
        let mut inner = lock(&self.inner);
        let found = inner.rq.rekey(key, now, is);
        if found {
            self.publish(&inner.rq, now);
        } else {
            crate::loom::reached("ordered.rekey_missed");
        }
        found
    }

    /// Moves up to `max` of the most urgent tasks into `dst`, most urgent first, if this queue's
    /// lock is free right now (`try_lock`: a thief never waits for the owner). Returns the most
    /// urgent one (not queued in `dst`: the caller runs it) and its key.
    pub(crate) fn steal_into(&self, dst: &Ordered<T>, max: usize, now: u64) -> Option<(Key, T)> {
        let mut batch: heapless::Vec<(Key, T), STEAL_MAX> = heapless::Vec::new();
        {
            let mut inner = match self.inner.try_lock() {
                Ok(inner) => inner,
                Err(_) => {
                    crate::loom::reached("ordered.steal_contended");
                    return None;
                }
            };
            for _ in 0..max.clamp(1, STEAL_MAX) {
                match inner.rq.pop_for_move(now) {
                    Some(entry) => {
                        if batch.push(entry).is_err() {
                            unreachable!("steal batch bound");
                        }
                    }
                    None => break,
                }
            }
            if batch.is_empty() {
                return None;
            }
            self.publish(&inner.rq, now);
        }
        crate::loom::reached("ordered.steal");
        let mut batch = batch.into_iter();
        let (key, first) = batch.next()?;
        let mut inner = lock(&dst.inner);
        // A closed destination (shutdown) keeps the tasks anyway: the shutdown drain of the
        // thief's queue releases them.
        for (k, task) in batch {
            inner.rq.push_moved(task, k, now);
        }
        dst.publish(&inner.rq, now);
        Some((key, first))
    }

    /// Stops accepting pushes (shutdown).
    pub(crate) fn close(&self) {
        lock(&self.inner).closed = true;
    }

    /// Republishes the mirrors. Called with the lock held. Always inlined into push and pop, as
    /// it was before `Classes` made `RunQueue`'s match larger.
    #[inline(always)]
    fn publish(&self, rq: &RunQueue<T>, now: u64) {
        // Only this queue's lock holder writes the mirrors, so the relaxed loads see the last
        // stores; an unchanged value is not stored again (readers keep their copy of the line).
        let m = &self.mirrors;
        let len = len_mirror(rq.len());
        if m.len.load(AtomicOrdering::Relaxed) != len {
            m.len.store(len, AtomicOrdering::Release);
        }
        let head = rq.head_urgency(now).0;
        if m.head.load(AtomicOrdering::Relaxed) != head {
            m.head.store(head, AtomicOrdering::Release);
        }
    }
}

/// Most tasks one steal moves. 32: enough to rebalance a burst in a few steals, few enough that
/// the batch is a short stack array and the victim's lock is held briefly.
pub(crate) const STEAL_MAX: usize = 32;

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::policy::edf::EdfKey;

    #[test]
    fn len_mirror_is_exact_to_two_then_a_power_of_two_lower_bound() {
        let expected = [0, 1, 2, 2, 4, 4, 4, 4, 8, 8];
        for (n, &m) in expected.iter().enumerate() {
            assert_eq!(len_mirror(n), m, "n = {n}");
        }
        for n in 3..10_000 {
            let m = len_mirror(n);
            assert!(m.is_power_of_two() && m <= n && n < 2 * m, "n = {n}: {m}");
        }
        assert_eq!(len_mirror(usize::MAX), 1 << (usize::BITS - 1));
    }

    fn key(deadline: u64) -> TaskKey {
        TaskKey {
            deadline: Some(deadline),
            priority: 0,
            vruntime: crate::task::policy_state::UNPLACED,
            floor: 0,
        }
    }

    #[test]
    fn mirrors_follow_rekeys_and_removals() {
        let q = Ordered::<u32>::new(QueueOrder::Edf);
        for (task, d) in [(1, 30), (2, 20), (3, 40)] {
            q.push(task, key(d), 0).unwrap();
        }
        assert_eq!((q.head(), q.len()), (Urgency(20), 2));
        assert!(q.rekey(Key::Edf(EdfKey::At(10)), 0, |&t| t == 3));
        assert_eq!(q.head(), Urgency(10));
        assert_eq!(
            q.remove(0, |&t| t == 3),
            Some((Key::Edf(EdfKey::At(10)), 3))
        );
        assert_eq!((q.head(), q.len()), (Urgency(20), 2));
        assert!(!q.rekey(Key::Edf(EdfKey::At(0)), 0, |&t| t == 3));
        assert_eq!(q.remove(0, |&t| t == 3), None);
        assert_eq!(q.head(), Urgency(20));
        // Removing the head exposes the next one; the last leaves the queue idle.
        assert_eq!(q.remove(0, |&t| t == 2).map(|(_, t)| t), Some(2));
        assert_eq!((q.head(), q.len()), (Urgency(30), 1));
        assert_eq!(q.remove(0, |_| true).map(|(_, t)| t), Some(1));
        assert!(q.is_empty());
        assert_eq!(q.head(), Urgency::IDLE);
    }

    #[test]
    fn mirrors_follow_pushes_and_pops() {
        let q = Ordered::<u32>::new(QueueOrder::Edf);
        assert!(q.is_empty());
        assert_eq!(q.head(), Urgency::IDLE);
        for (i, d) in [50u64, 40, 30, 20, 10].into_iter().enumerate() {
            q.push(i as u32, key(d), 0).unwrap();
            assert_eq!(q.len(), len_mirror(i + 1));
            assert_eq!(q.head(), Urgency::of(d), "the most urgent is the head");
        }
        while q.pop(0).is_some() {}
        assert!(q.is_empty());
        assert_eq!(q.head(), Urgency::IDLE);
        let line = std::mem::align_of::<CachePadded<u8>>();
        assert!(std::mem::align_of::<Ordered<u32>>() >= line);
        #[cfg(target_arch = "x86_64")]
        assert_eq!(line, 128);
    }
}
