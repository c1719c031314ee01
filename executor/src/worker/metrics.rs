//! Per-worker counters.
//!
//! Each worker writes only its own `WorkerMetrics`, which sits on its own cache line(s), with a
//! plain load + store (no read-modify-write: there is a single writer). Readers (`metrics()`)
//! load them with `Relaxed`: the figures are statistics, not synchronisation.

use crate::loom::atomic::{AtomicU64, Ordering};

/// Counters of one worker. Aligned to 128 bytes so two workers' counters never share a cache line
/// (or an adjacent-line prefetch pair).
#[derive(Default)]
#[repr(align(128))]
pub(crate) struct WorkerMetrics {
    /// Tasks polled.
    polls: AtomicU64,
    /// Successful steals (batches taken from another worker).
    steals: AtomicU64,
    /// Times the worker parked.
    parks: AtomicU64,
}

#[inline]
fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

impl WorkerMetrics {
    /// One more poll (owner only).
    #[inline]
    pub(crate) fn inc_polls(&self) {
        bump(&self.polls);
    }
    /// One more steal (owner only).
    #[inline]
    pub(crate) fn inc_steals(&self) {
        bump(&self.steals);
    }
    /// One more park (owner only).
    #[inline]
    pub(crate) fn inc_parks(&self) {
        bump(&self.parks);
    }
    /// `(polls, steals, parks)`.
    pub(crate) fn read(&self) -> (u64, u64, u64) {
        (
            self.polls.load(Ordering::Relaxed),
            self.steals.load(Ordering::Relaxed),
            self.parks.load(Ordering::Relaxed),
        )
    }
}
