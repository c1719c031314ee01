//! Which workers are idle, and who wakes whom.
//!
//! The protocol is the one of Go's scheduler (`runtime/proc.go`: `nmspinning`, `wakep`) as
//! refined in tokio's `multi_thread/idle.rs`:
//!
//! - A worker that runs out of local work becomes *searching* (it steals from other workers and
//!   polls the injector, spinning briefly) — but only while fewer than half of the workers are
//!   searching, so an idle runtime does not burn every core looking for work (bounded number of
//!   searching workers).
//! - Whoever makes work available (a push to a local queue or the injector) calls
//!   [`Idle::worker_to_notify`]: if some worker is already searching, it will find the work, so
//!   nobody is woken; otherwise exactly one parked worker is woken, and it starts out searching.
//!   One wake per push at most, and none while a searcher exists: no thundering herd.
//! - A searching worker that finds work leaves the searching state before running it; if it was
//!   the last searcher it wakes one more worker, because there may be more work than it took.
//!   This chain is how work spreads over idle workers one at a time.
//! - A worker about to park leaves the unparked (and searching) count and enters the sleeper list
//!   under one lock. If it was the last searcher, it must look at every queue once more *after*
//!   leaving (`Shared::notify_if_work_pending`): a pusher that saw it searching skipped the wake,
//!   so the work would otherwise sit there with everyone asleep. No lost unpark.
//!
//! # Memory ordering
//!
//! The pusher writes its queue, then does a `SeqCst` read-modify-write on `state` (a `fetch_add`
//! of 0, not a load, so it takes part in the modification order); the parking searcher does a
//! `SeqCst` read-modify-write on `state`, then reads the queues. Either the pusher's RMW comes
//! first (then the searcher's RMW synchronises with it and its queue reads see the push), or the
//! searcher's does (then the pusher sees `num_searching == 0` and wakes a worker).

use crate::loom::atomic::{AtomicUsize, Ordering};
use crate::loom::{lock, Mutex};

/// Low bits of `state`: number of searching workers.
const SEARCH_MASK: usize = (1 << UNPARK_SHIFT) - 1;
/// High bits of `state`: number of unparked workers.
const UNPARK_SHIFT: usize = 16;
/// One unparked worker.
const UNPARK_ONE: usize = 1 << UNPARK_SHIFT;

/// Most workers a runtime can have: the packed `state` counts searching workers in its low
/// [`UNPARK_SHIFT`] bits, and nothing else in the runtime bounds the worker count this low.
/// `runtime::Builder::build` rejects more with `BuildError::TooManyWorkers`.
pub(crate) const MAX_WORKERS: usize = SEARCH_MASK;

/// Idle bookkeeping shared by all workers.
pub(crate) struct Idle {
    /// `num_unparked << UNPARK_SHIFT | num_searching`.
    state: AtomicUsize,
    /// Indices of parked workers, most recently parked last. Guards the transitions into and out
    /// of the parked state.
    sleepers: Mutex<Vec<usize>>,
    /// Total number of workers.
    num_workers: usize,
}

fn num_searching(state: usize) -> usize {
    state & SEARCH_MASK
}

fn num_unparked(state: usize) -> usize {
    state >> UNPARK_SHIFT
}

impl Idle {
    /// All `num_workers` workers start unparked and not searching.
    pub(crate) fn new(num_workers: usize) -> Idle {
        assert!(num_workers <= MAX_WORKERS);
        Idle {
            state: AtomicUsize::new(num_workers << UNPARK_SHIFT),
            sleepers: Mutex::new(Vec::with_capacity(num_workers)),
            num_workers,
        }
    }

    /// Work was just made available: returns the parked worker to wake, if one is needed. The
    /// returned worker is already counted as unparked and searching.
    #[inline]
    pub(crate) fn worker_to_notify(&self) -> Option<usize> {
        if !self.notify_should_wakeup() {
            return None;
        }
        self.worker_to_notify_slow()
    }

    #[cold]
    fn worker_to_notify_slow(&self) -> Option<usize> {
        let mut sleepers = lock(&self.sleepers);
        // Re-check under the lock: another pusher may have woken someone meanwhile.
        if !self.notify_should_wakeup() {
            return None;
        }
        let worker = sleepers.pop()?;
        self.state.fetch_add(1 | UNPARK_ONE, Ordering::SeqCst);
        Some(worker)
    }

    /// Nobody is searching and somebody is parked.
    #[inline]
    fn notify_should_wakeup(&self) -> bool {
        // An RMW, not a load: see "Memory ordering" in the module docs.
        let state = self.state.fetch_add(0, Ordering::SeqCst);
        num_searching(state) == 0 && num_unparked(state) < self.num_workers
    }

    /// A worker out of local work asks to search. Refused (returns `false`) when half of the
    /// workers are already searching.
    pub(crate) fn transition_worker_to_searching(&self) -> bool {
        let state = self.state.load(Ordering::SeqCst);
        if 2 * num_searching(state) >= self.num_workers {
            return false;
        }
        // May overshoot the bound by the number of workers racing here; the bound is a heuristic
        // against wasted CPU, not a correctness condition.
        self.state.fetch_add(1, Ordering::SeqCst);
        true
    }

    /// A searching worker found work. Returns `true` if it was the last searcher, in which case
    /// the caller must wake another worker.
    pub(crate) fn transition_worker_from_searching(&self) -> bool {
        let prev = self.state.fetch_sub(1, Ordering::SeqCst);
        debug_assert!(num_searching(prev) > 0);
        let last = num_searching(prev) == 1;
        if last {
            crate::loom::reached("idle.last_searcher_found_work");
        }
        last
    }

    /// `worker` is about to park. Returns `true` if it was the last searcher, in which case it
    /// must check all queues once more before sleeping.
    pub(crate) fn transition_worker_to_parked(&self, worker: usize, is_searching: bool) -> bool {
        let mut sleepers = lock(&self.sleepers);
        let dec = UNPARK_ONE | usize::from(is_searching);
        let prev = self.state.fetch_sub(dec, Ordering::SeqCst);
        sleepers.push(worker);
        let last = is_searching && num_searching(prev) == 1;
        if last {
            crate::loom::reached("idle.last_searcher_parks");
        }
        last
    }

    /// A parked worker leaves the parked state on its own (its timed park found timers due):
    /// removes it from the sleeper list and counts it as unparked and searching, exactly as if
    /// `worker_to_notify` had chosen it. Returns `false` (and changes nothing) if a notifier had
    /// already chosen it.
    pub(crate) fn unpark_self(&self, worker: usize) -> bool {
        let mut sleepers = lock(&self.sleepers);
        let Some(pos) = sleepers.iter().position(|&w| w == worker) else {
            return false;
        };
        sleepers.swap_remove(pos);
        self.state.fetch_add(1 | UNPARK_ONE, Ordering::SeqCst);
        true
    }

    /// Whether `worker` is still in the sleeper list (not yet chosen by `worker_to_notify`).
    /// A parked worker that wakes up and is still listed was woken spuriously (or for shutdown).
    pub(crate) fn is_parked(&self, worker: usize) -> bool {
        lock(&self.sleepers).contains(&worker)
    }

    /// Number of workers currently searching (for tests and metrics).
    #[cfg(test)]
    pub(crate) fn num_searching(&self) -> usize {
        num_searching(self.state.load(Ordering::SeqCst))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn at_most_half_search() {
        let idle = Idle::new(4);
        assert!(idle.transition_worker_to_searching());
        assert!(idle.transition_worker_to_searching());
        assert!(!idle.transition_worker_to_searching());
        assert_eq!(idle.num_searching(), 2);
    }

    #[test]
    fn notify_wakes_one_parked_worker_only_when_nobody_searches() {
        let idle = Idle::new(2);
        // Both busy: nobody to wake.
        assert_eq!(idle.worker_to_notify(), None);
        assert!(!idle.transition_worker_to_parked(1, false));
        assert_eq!(idle.worker_to_notify(), Some(1));
        // Worker 1 now counts as searching: a second push wakes nobody.
        assert_eq!(idle.worker_to_notify(), None);
        assert!(!idle.is_parked(1));
        // The last searcher parking must recheck the queues.
        assert!(idle.transition_worker_to_parked(1, true));
    }
}
