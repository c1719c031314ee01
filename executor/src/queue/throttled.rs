//! [`Throttled`]: tasks parked until a point in time, with a hint a worker's pick tests in one
//! load.
//!
//! Under `Classes` a budgeted task whose bandwidth server is throttled (constant bandwidth
//! server rule, `policy/cbs.rs`) waits here until its next period; the pick of any worker
//! releases the tasks whose time has come (`worker/ordered/classes_only.rs`).
//!
//! # Protocol
//!
//! A min-heap keyed by release time behind a mutex (the loom shim's), and `next`: the heap's
//! earliest key, `u64::MAX` when it is empty. `next` is written only while the lock is held,
//! after the heap changed, so whenever the lock is free `next` equals the earliest key.
//!
//! - [`park`](Throttled::park) pushes and stores the new earliest key (release). The caller
//!   then arranges for a worker to pick at or after the release time (a timer whose firing
//!   happens after the park).
//! - [`take_due`](Throttled::take_due) loads `next` (acquire); if it is later than `now` it
//!   returns at once, without the lock (a pick's whole cost when nothing is due); otherwise it
//!   locks, pops every task due at `now`, stores the new earliest key and returns them.
//!
//! A pick ordered after a park (through the timer, or through any release/acquire chain) loads
//! a `next` no later than that park's key, so a due task is never missed by it; a pick not
//! ordered after the park may see the older `next` and leave the task to a later pick. Each
//! task is returned by exactly one `take_due` (the pops happen under the lock). Loom models:
//! `loom_tests/throttled.rs`.

use crate::loom::atomic::{AtomicU64, Ordering};
use crate::loom::{lock, Mutex};
use crate::policy::key::KeyedHeap;

/// Tasks parked until their release time (see the module docs).
#[derive(Debug)]
pub(crate) struct Throttled<T> {
    /// The parked tasks by release time (ns).
    parked: Mutex<KeyedHeap<u64, T>>,
    /// The earliest release time in `parked`, `u64::MAX` if none; stored under its lock.
    next: AtomicU64,
}

impl<T> Throttled<T> {
    /// Nothing parked.
    pub(crate) fn new() -> Throttled<T> {
        Throttled {
            parked: Mutex::new(KeyedHeap::new()),
            next: AtomicU64::new(u64::MAX),
        }
    }

    /// Whether any task is parked, as far as this thread sees (one load).
    #[inline]
    pub(crate) fn any(&self) -> bool {
        self.next.load(Ordering::Acquire) != u64::MAX
    }

    /// Parks `task` until `at` (ns).
    pub(crate) fn park(&self, task: T, at: u64) {
        let mut parked = lock(&self.parked);
        parked.push(task, at);
        let next = parked.peek_key().unwrap_or(u64::MAX);
        self.next.store(next, Ordering::Release);
    }

    /// Every parked task due at `now`, earliest first; empty without taking the lock if the
    /// hint says none is due.
    pub(crate) fn take_due(&self, now: u64) -> Vec<T> {
        if self.next.load(Ordering::Acquire) > now {
            crate::loom::reached("throttled.not_due");
            return Vec::new();
        }
        let mut due = Vec::new();
        let mut parked = lock(&self.parked);
        while parked.peek_key().is_some_and(|at| at <= now) {
            if let Some((_, task)) = parked.pop() {
                due.push(task);
            }
        }
        if !due.is_empty() {
            crate::loom::reached("throttled.released");
        }
        let next = parked.peek_key().unwrap_or(u64::MAX);
        self.next.store(next, Ordering::Release);
        due
    }

    /// Takes every parked task, due or not (shutdown); afterwards nothing is parked.
    pub(crate) fn take_all(&self) -> Vec<T> {
        let mut parked = lock(&self.parked);
        self.next.store(u64::MAX, Ordering::Release);
        std::iter::from_fn(|| parked.pop().map(|(_, t)| t)).collect()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn releases_in_time_order_only_what_is_due() {
        let t = Throttled::new();
        assert!(!t.any());
        t.park("late", 30);
        t.park("early", 10);
        t.park("mid", 20);
        assert!(t.any());
        assert!(t.take_due(5).is_empty());
        assert_eq!(t.take_due(20), ["early", "mid"]);
        assert!(t.any());
        assert_eq!(t.take_all(), ["late"]);
        assert!(!t.any());
        assert!(t.take_due(u64::MAX - 1).is_empty());
    }
}
