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
//! - A worker whose search left work in other workers' rings to their owners (Fifo's patience,
//!   `patience.rs`) parks *resting*: for at most `patience::RECHECK_NS`, after which it searches
//!   again by itself. A push that made surplus on its own ring ([`Idle::worker_to_notify_for_surplus`])
//!   does not wake a resting worker: the surplus is exactly what it chose to leave, and it will
//!   look again. Every other notification (the injector, timers, the last searcher's chain)
//!   wakes resting workers as any other.
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
    /// The parked workers, most recently parked last. Guards the transitions into and out of
    /// the parked state.
    sleepers: Mutex<Vec<Sleeper>>,
    /// How many parked workers are resting (written under the `sleepers` lock, read without it by [`Idle::worker_to_notify_for_surplus`]'s fast path).
    num_resting: AtomicUsize,
    /// Total number of workers.
    num_workers: usize,
}

/// One parked worker.
#[derive(Clone, Copy)]
struct Sleeper {
    /// Its index (in the runtime, not in the group).
    worker: usize,
    /// Parked resting (see the module docs).
    resting: bool,
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
            num_resting: AtomicUsize::new(0),
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
        self.worker_to_notify_slow(false)
    }

    /// A push made surplus on the pusher's own ring: like [`Idle::worker_to_notify`], but a
    /// resting worker is not chosen (see the module docs).
    #[inline]
    pub(crate) fn worker_to_notify_for_surplus(&self) -> Option<usize> {
        if !self.notify_should_wakeup() {
            return None;
        }
        let state = self.state.load(Ordering::Relaxed);
        let parked = self.num_workers - num_unparked(state);
        if parked <= self.num_resting.load(Ordering::Relaxed) {
            crate::loom::reached("idle.surplus_leaves_resting_worker");
            return None;
        }
        self.worker_to_notify_slow(true)
    }

    /// Under the lock: the most recently parked sleeper (`skip_resting`: that is not resting),
    /// taken out of the list and counted as unparked and searching.
    #[cold]
    fn worker_to_notify_slow(&self, skip_resting: bool) -> Option<usize> {
        let mut sleepers = lock(&self.sleepers);
        // Re-check under the lock: another pusher may have woken someone meanwhile.
        if !self.notify_should_wakeup() {
            return None;
        }
        let pos = sleepers
            .iter()
            .rposition(|s| !(skip_resting && s.resting))?;
        Some(self.choose(&mut sleepers, pos))
    }

    /// Takes the sleeper at `pos` out of the list, counted as unparked and searching.
    fn choose(&self, sleepers: &mut Vec<Sleeper>, pos: usize) -> usize {
        let Sleeper { worker, resting } = sleepers.swap_remove(pos);
        if resting {
            self.num_resting.fetch_sub(1, Ordering::Relaxed);
        }
        self.state.fetch_add(1 | UNPARK_ONE, Ordering::SeqCst);
        worker
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

    /// `worker` is about to park, `resting` or not (see the module docs). Returns `true` if it
    /// was the last searcher, in which case it must check all queues once more before sleeping.
    pub(crate) fn transition_worker_to_parked(
        &self,
        worker: usize,
        is_searching: bool,
        resting: bool,
    ) -> bool {
        let mut sleepers = lock(&self.sleepers);
        let dec = UNPARK_ONE | usize::from(is_searching);
        let prev = self.state.fetch_sub(dec, Ordering::SeqCst);
        sleepers.push(Sleeper { worker, resting });
        if resting {
            self.num_resting.fetch_add(1, Ordering::Relaxed);
        }
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
        let Some(pos) = sleepers.iter().position(|s| s.worker == worker) else {
            return false;
        };
        self.choose(&mut sleepers, pos);
        true
    }

    /// Whether `worker` is still in the sleeper list (not yet chosen by `worker_to_notify`).
    /// A parked worker that wakes up and is still listed was woken spuriously (or for shutdown).
    pub(crate) fn is_parked(&self, worker: usize) -> bool {
        lock(&self.sleepers).iter().any(|s| s.worker == worker)
    }

    /// Number of parked workers resting (for tests).
    #[cfg(test)]
    pub(crate) fn num_resting(&self) -> usize {
        self.num_resting.load(Ordering::Relaxed)
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
        assert!(!idle.transition_worker_to_parked(1, false, false));
        assert_eq!(idle.worker_to_notify(), Some(1));
        // Worker 1 now counts as searching: a second push wakes nobody.
        assert_eq!(idle.worker_to_notify(), None);
        assert!(!idle.is_parked(1));
        // The last searcher parking must recheck the queues.
        assert!(idle.transition_worker_to_parked(1, true, false));
    }

    #[test]
    fn surplus_leaves_a_resting_worker_to_its_recheck() {
        let idle = Idle::new(3);
        assert!(!idle.transition_worker_to_parked(1, false, true));
        // Only a resting worker is parked: a surplus push wakes nobody.
        assert_eq!(idle.worker_to_notify_for_surplus(), None);
        assert!(!idle.transition_worker_to_parked(2, false, false));
        // A plain sleeper is chosen for surplus; the resting one stays parked.
        assert_eq!(idle.worker_to_notify_for_surplus(), Some(2));
        assert!(idle.is_parked(1));
    }

    #[test]
    fn other_notifications_wake_a_resting_worker() {
        let idle = Idle::new(2);
        assert!(!idle.transition_worker_to_parked(1, false, true));
        assert_eq!(idle.num_resting(), 1);
        assert_eq!(idle.worker_to_notify_for_surplus(), None);
        assert_eq!(idle.worker_to_notify(), Some(1));
        assert_eq!(idle.num_resting(), 0);
        // Woken, it no longer rests: parked plainly, surplus wakes it.
        assert!(idle.transition_worker_to_parked(1, true, false));
        assert_eq!(idle.worker_to_notify_for_surplus(), Some(1));
    }

    #[test]
    fn a_resting_worker_that_wakes_itself_stops_resting() {
        let idle = Idle::new(2);
        assert!(!idle.transition_worker_to_parked(1, false, true));
        assert!(idle.unpark_self(1));
        assert!(idle.transition_worker_to_parked(1, true, false));
        assert_eq!(idle.worker_to_notify_for_surplus(), Some(1));
    }
}
