//! The timer driver of one runtime: who stores timers, who waits for them, who fires them.
//!
//! # Storage
//!
//! One [`TimerHeap`] per runtime behind a mutex (register, cancel and re-register take the lock
//! for O(log n)). `next_deadline` mirrors the earliest deadline in an atomic, so a worker can ask
//! "is any timer due?" without the lock, and without reading the clock when there are no timers.
//!
//! # Who waits: the timer-waiter token
//!
//! Parked workers should not all wake at every deadline. One parked worker at a time holds the
//! *waiter token* (`waiter`: its index) and parks with a timeout to `next_deadline`; the others
//! park without one. Busy workers check `next_deadline` between polls (`worker::step`).
//!
//! A timer registered from any thread may become the new earliest deadline while the waiter is
//! already asleep with a later timeout, or about to compute it. The handshake:
//!
//! - registration: store the new `next_deadline` (under the heap lock), *then* read `waiter`
//!   with a read-modify-write (`fetch_add(0)`) and, if some worker holds the token, unpark it;
//! - waiter: take the token with a compare-and-swap on `waiter`, *then* load `next_deadline`
//!   and park until it.
//!
//! Both sides are read-modify-writes of `waiter`, so they are ordered in its modification order
//! and the later one synchronises with the earlier one (`AcqRel` suffices; no reliance on a
//! `SeqCst` total order across two locations, which loom cannot check). If the registration's
//! RMW comes first, the worker's CAS acquires it and its load sees the new deadline; if the
//! worker's CAS comes first, the registration sees the token and unparks the worker (the parker
//! remembers an unpark that arrives before the park). The loom model
//! `timer::register_vs_waiter` checks this: a missed hand-over is a deadlock there.
//!
//! # A second waiter for simultaneous deadlines
//!
//! Periodic tasks released on one grid often fall due together. With one waiter the second
//! release waits for the waiter to wake, fire both, and then wake a parked peer: two kernel
//! wake-ups in a row. So a second parked worker may take the *co-waiter* token (`co_waiter`)
//! and park with a timeout too, until the second-earliest deadline (`second_deadline`, the
//! earlier child of the heap's root, published with `next_deadline`), but only while that
//! deadline lies within [`CO_WAIT_WINDOW_NS`] of the earliest: both workers then wake by their
//! own timers at once, as two kernel threads would. The co-waiter is a shortcut, not a duty:
//! nothing relies on it waking (the waiter's handshake above is what guarantees that timers
//! fire), so a registration never unparks it and a stale `second_deadline` costs at most one
//! early or missed shortcut wake-up.
//!
//! # Who fires
//!
//! Whoever finds `next_deadline <= now`: the waiter when its timed park returns, or a busy worker
//! between two polls. `fire` takes expired entries under the lock in batches and wakes them after
//! releasing it (a waker may schedule, which may take other locks).

use super::heap::{TimerHeap, TimerKey};
use crate::loom::atomic::{AtomicU64, AtomicUsize, Ordering};
use crate::loom::{lock, Mutex};
use std::task::Waker;

/// `next_deadline` when no timer is pending.
const NO_DEADLINE: u64 = u64::MAX;
/// `waiter` when no worker holds the token.
const NO_WAITER: usize = usize::MAX;
/// How close to the earliest deadline the second-earliest must be for a second parked worker to
/// wait for it too (see "A second waiter" in the module docs): about one kernel wake-up latency,
/// the delay a release would otherwise wait for its worker after the first one fired it.
pub(crate) const CO_WAIT_WINDOW_NS: u64 = 50_000;
/// Expired timers taken per lock acquisition in `fire`: bounds the stack buffer and how long
/// registrations wait behind a burst of expiries.
const FIRE_BATCH: usize = 32;

/// Timers of one runtime.
pub(crate) struct TimerDriver {
    /// Pending timers.
    heap: Mutex<TimerHeap>,
    /// Earliest pending deadline in ns, `NO_DEADLINE` if none. Written under the heap lock.
    next_deadline: AtomicU64,
    /// Second-earliest pending deadline in ns, `NO_DEADLINE` if fewer than two timers. Written
    /// under the heap lock; read as a hint (see "A second waiter" in the module docs).
    second_deadline: AtomicU64,
    /// Index of the worker holding the waiter token, `NO_WAITER` if none.
    waiter: AtomicUsize,
    /// Index of the worker holding the co-waiter token, `NO_WAITER` if none.
    co_waiter: AtomicUsize,
}

impl TimerDriver {
    /// No timers, no waiter.
    pub(crate) fn new() -> TimerDriver {
        TimerDriver {
            heap: Mutex::new(TimerHeap::new()),
            next_deadline: AtomicU64::new(NO_DEADLINE),
            second_deadline: AtomicU64::new(NO_DEADLINE),
            waiter: AtomicUsize::new(NO_WAITER),
            co_waiter: AtomicUsize::new(NO_WAITER),
        }
    }

    /// Adds a timer. Returns its key, and the worker to unpark if this timer became the earliest
    /// while a worker waits with the token (see the module docs).
    pub(crate) fn register(&self, deadline: u64, waker: &Waker) -> (TimerKey, Option<usize>) {
        let (key, earliest) = {
            let mut heap = lock(&self.heap);
            let key = heap.insert(deadline, waker.clone());
            let earliest = heap.earliest() == Some(deadline);
            if earliest {
                self.next_deadline.store(deadline, Ordering::SeqCst);
            }
            self.publish_second(&heap);
            (key, earliest)
        };
        if !earliest {
            return (key, None);
        }
        // A read-modify-write, not a load: see "Who waits" in the module docs.
        let waiter = self.waiter.fetch_add(0, Ordering::SeqCst);
        if waiter == NO_WAITER {
            return (key, None);
        }
        crate::loom::reached("timer.register_unparks_waiter");
        (key, Some(waiter))
    }

    /// Replaces a pending timer's waker. Returns `false` if the timer is no longer pending.
    pub(crate) fn set_waker(&self, key: TimerKey, waker: &Waker) -> bool {
        lock(&self.heap).set_waker(key, waker)
    }

    /// Removes a pending timer (no-op if it already fired).
    pub(crate) fn cancel(&self, key: TimerKey) {
        let mut heap = lock(&self.heap);
        if heap.cancel(key) {
            self.publish_earliest(&heap);
        }
    }

    /// Updates `next_deadline` after removals. Heap lock held. A removal only moves the
    /// earliest deadline later, so no waiter needs a wake for it: at worst it wakes early, finds
    /// nothing due, and parks again.
    fn publish_earliest(&self, heap: &TimerHeap) {
        let next = heap.earliest().unwrap_or(NO_DEADLINE);
        self.next_deadline.store(next, Ordering::SeqCst);
        self.publish_second(heap);
    }

    /// Updates the `second_deadline` hint. Heap lock held.
    fn publish_second(&self, heap: &TimerHeap) {
        let second = heap.second_earliest().unwrap_or(NO_DEADLINE);
        self.second_deadline.store(second, Ordering::Relaxed);
    }

    /// The earliest pending deadline (ns), if any.
    #[inline]
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        match self.next_deadline.load(Ordering::SeqCst) {
            NO_DEADLINE => None,
            deadline => Some(deadline),
        }
    }

    /// Wakes every timer whose deadline is `<= now`. Returns how many fired, and how many of
    /// their wakers panicked.
    ///
    /// A timer's waker is whatever waker polled the `Sleep`: usually a kairos task's, but it can
    /// be user code (a future polled by hand with its own waker). A panic in it is caught here,
    /// so it cannot unwind through the worker that fires timers; the caller counts it.
    pub(crate) fn fire(&self, now: u64) -> (usize, usize) {
        let mut fired = 0;
        let mut panicked = 0;
        loop {
            let mut batch = heapless::Vec::<Waker, FIRE_BATCH>::new();
            let more = {
                let mut heap = lock(&self.heap);
                while !batch.is_full() {
                    match heap.pop_expired(now) {
                        Some(waker) => {
                            let _ = batch.push(waker);
                        }
                        None => break,
                    }
                }
                self.publish_earliest(&heap);
                batch.is_full()
            };
            fired += batch.len();
            for waker in batch {
                let woke = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| waker.wake()));
                panicked += usize::from(woke.is_err());
            }
            if !more {
                return (fired, panicked);
            }
        }
    }

    /// The second-earliest deadline if it falls within [`CO_WAIT_WINDOW_NS`] of the earliest:
    /// what a co-waiter would wait for. A hint (see "A second waiter" in the module docs).
    #[inline]
    pub(crate) fn simultaneous_deadline(&self) -> Option<u64> {
        let second = self.second_deadline.load(Ordering::Relaxed);
        let next = self.next_deadline()?;
        (second != NO_DEADLINE && second <= next.saturating_add(CO_WAIT_WINDOW_NS))
            .then_some(second)
    }

    /// Worker `index`, parking without the waiter token, tries to take the co-waiter token.
    pub(crate) fn try_become_co_waiter(&self, index: usize) -> bool {
        let taken = self
            .co_waiter
            .compare_exchange(NO_WAITER, index, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok();
        if !taken {
            crate::loom::reached("timer.co_waiter_taken");
        }
        taken
    }

    /// Worker `index` gives the co-waiter token back after its park.
    pub(crate) fn release_co_waiter(&self, index: usize) {
        let prev = self.co_waiter.swap(NO_WAITER, Ordering::AcqRel);
        debug_assert_eq!(prev, index, "released a co-waiter token it did not hold");
    }

    /// The worker holding the co-waiter token (tests watch it).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn current_co_waiter(&self) -> Option<usize> {
        match self.co_waiter.load(Ordering::SeqCst) {
            NO_WAITER => None,
            waiter => Some(waiter),
        }
    }

    /// Worker `index` tries to take the waiter token before parking.
    pub(crate) fn try_become_waiter(&self, index: usize) -> bool {
        self.waiter
            .compare_exchange(NO_WAITER, index, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    /// Worker `index` gives the token back after its park.
    pub(crate) fn release_waiter(&self, index: usize) {
        let prev = self.waiter.swap(NO_WAITER, Ordering::SeqCst);
        debug_assert_eq!(prev, index, "released a waiter token it did not hold");
    }

    /// The worker holding the waiter token, read with a read-modify-write (for the handshake
    /// of a change the waiter must see after taking the token: the reactor's creation).
    pub(crate) fn current_waiter(&self) -> Option<usize> {
        match self.waiter.fetch_add(0, Ordering::SeqCst) {
            NO_WAITER => None,
            waiter => Some(waiter),
        }
    }

    /// Number of pending timers.
    pub(crate) fn len(&self) -> usize {
        lock(&self.heap).len()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::time::Duration;

    /// Two sleeps due together (a microsecond apart) on an idle two-worker runtime: one parked
    /// worker waits with the waiter token, the other with the co-waiter token, so each would
    /// wake by its own timer. Without the co-waiter the second worker parks with no timeout.
    #[test]
    fn timers_due_together_get_a_second_waiting_worker() {
        let rt = crate::Runtime::builder().workers(2).build().unwrap();
        for _ in 0..2 {
            rt.spawn(crate::time::sleep(Duration::from_secs(60)));
        }
        let handle = rt.handle();
        let timers = handle.shared().timers();
        // Not a timing threshold: a bound on how long to wait for both workers to park.
        let start = std::time::Instant::now();
        loop {
            if let (Some(waiter), Some(co_waiter)) =
                (timers.current_waiter(), timers.current_co_waiter())
            {
                assert_ne!(waiter, co_waiter);
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "no co-waiter: waiter {:?}, co-waiter {:?}",
                timers.current_waiter(),
                timers.current_co_waiter()
            );
            std::thread::yield_now();
        }
    }
}
