//! Per-worker counters.
//!
//! Each worker writes only its own `WorkerMetrics`, which sits on its own cache line(s), with a
//! plain load + store (no read-modify-write: there is a single writer). Readers (`metrics()`)
//! load them with `Relaxed`: the figures are statistics, not synchronisation.
//!
//! The histograms (`stats/`) sit in a [`Recorder`] behind a mutex that only this worker locks
//! on its hot path (once per poll): the lock word and the histograms live in this worker's
//! cache, so recording writes no line another core is using. `metrics()` locks each recorder
//! briefly to merge it; that is the only time the line moves.

use crate::loom::atomic::{AtomicU64, Ordering};
use crate::loom::{lock, Mutex};
use crate::stats::recorder::Recorder;
use crate::stats::TaskStats;
use crossbeam_utils::CachePadded;
use std::collections::BTreeMap;

/// Counters of one worker. [`CachePadded`] (128 bytes on x86-64 and aarch64) so two workers'
/// counters never share a cache line (or an adjacent-line prefetch pair).
pub(crate) struct WorkerMetrics(CachePadded<Counters>);

/// The fields of a [`WorkerMetrics`].
struct Counters {
    /// Tasks polled.
    polls: AtomicU64,
    /// Successful steals (batches taken from another worker).
    steals: AtomicU64,
    /// Times the worker parked.
    parks: AtomicU64,
    /// Cooperative yields the runtime asked for.
    preemptions: AtomicU64,
    /// Histograms and per-name breakdown of this worker's polls and jobs.
    recorder: Mutex<Recorder>,
}

impl Default for WorkerMetrics {
    fn default() -> WorkerMetrics {
        WorkerMetrics(CachePadded::new(Counters {
            polls: AtomicU64::new(0),
            steals: AtomicU64::new(0),
            parks: AtomicU64::new(0),
            preemptions: AtomicU64::new(0),
            recorder: Mutex::new(Recorder::new()),
        }))
    }
}

#[inline]
fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

impl WorkerMetrics {
    /// One more poll (owner only).
    #[inline]
    pub(crate) fn inc_polls(&self) {
        bump(&self.0.polls);
    }
    /// One more steal (owner only).
    #[inline]
    pub(crate) fn inc_steals(&self) {
        bump(&self.0.steals);
    }
    /// One more park (owner only).
    #[inline]
    pub(crate) fn inc_parks(&self) {
        bump(&self.0.parks);
    }
    /// Records one poll: its ready → poll latency (if known) and its duration (owner only).
    #[inline]
    pub(crate) fn record_poll(&self, name: Option<&'static str>, latency: Option<u64>, ran: u64) {
        lock(&self.0.recorder).record_poll(name, latency, ran);
    }
    /// Records one preemption (owner only).
    #[inline]
    pub(crate) fn record_preemption(&self, name: Option<&'static str>) {
        bump(&self.0.preemptions);
        lock(&self.0.recorder).record_preemption(name);
    }
    /// Creates the histograms of `name` now, so that its first poll on this worker does not
    /// allocate them on the hot path.
    pub(crate) fn register(&self, name: &'static str) {
        lock(&self.0.recorder).register(name);
    }
    /// Records one completed periodic job.
    pub(crate) fn record_job(&self, name: Option<&'static str>, response: u64, lateness: i64) {
        lock(&self.0.recorder).record_job(name, response, lateness);
    }
    /// Adds this worker's histograms to `total` and `by_name`.
    pub(crate) fn merge_into(
        &self,
        total: &mut TaskStats,
        by_name: &mut BTreeMap<&'static str, TaskStats>,
    ) {
        lock(&self.0.recorder).merge_into(total, by_name);
    }
    /// Cooperative preemptions so far.
    pub(crate) fn preemptions(&self) -> u64 {
        self.0.preemptions.load(Ordering::Relaxed)
    }
    /// `(polls, steals, parks)`.
    pub(crate) fn read(&self) -> (u64, u64, u64) {
        (
            self.0.polls.load(Ordering::Relaxed),
            self.0.steals.load(Ordering::Relaxed),
            self.0.parks.load(Ordering::Relaxed),
        )
    }
}
