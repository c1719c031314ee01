//! Statistics of one periodic task.

use crate::loom::atomic::{AtomicU64, Ordering};
use crate::loom::{lock, Mutex};
use crate::stats::Histogram;
use std::time::Duration;

/// Statistics of a periodic task ([`PeriodicHandle::stats`](crate::PeriodicHandle::stats)).
///
/// Definitions (see the `periodic` module docs): a job is *released* when its release time has
/// come and the driver starts it; it *completes* when its future returns; it *missed* if it
/// completed after its deadline; a release is *skipped* under
/// [`Overrun::Skip`](crate::Overrun::Skip) when it passed while the previous job ran (counted
/// when the next job is released, so `released + skipped` is the index of the last released
/// job plus one).
///
/// ```
/// let s = kairos::PeriodicStats::default();
/// assert_eq!((s.released, s.completed, s.missed, s.skipped), (0, 0, 0, 0));
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct PeriodicStats {
    /// Jobs started.
    pub released: u64,
    /// Jobs whose future returned.
    pub completed: u64,
    /// Completed jobs that finished after their deadline.
    pub missed: u64,
    /// Releases dropped by [`Overrun::Skip`](crate::Overrun::Skip).
    pub skipped: u64,
    /// Largest lateness (completion − deadline) of any job; zero if none was late.
    pub max_lateness: Duration,
    /// Release → start of each job (ns): how long the job waited for a worker.
    pub start_latency: Histogram,
    /// Release → completion of each job (ns).
    pub response_time: Histogram,
}

/// Live counters of one periodic task, written by its driver once per job.
pub(crate) struct Tracker {
    /// Jobs started.
    released: AtomicU64,
    /// Jobs completed.
    completed: AtomicU64,
    /// Jobs completed late.
    missed: AtomicU64,
    /// Releases skipped.
    skipped: AtomicU64,
    /// Largest positive lateness, ns.
    max_lateness: AtomicU64,
    /// `(start latency, response time)` histograms; locked once per job by the driver and by
    /// readers of `stats()`.
    histograms: Mutex<(Histogram, Histogram)>,
}

impl Tracker {
    /// All zero.
    pub(crate) fn new() -> Tracker {
        Tracker {
            released: AtomicU64::new(0),
            completed: AtomicU64::new(0),
            missed: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            max_lateness: AtomicU64::new(0),
            histograms: Mutex::new((Histogram::new(), Histogram::new())),
        }
    }

    /// A job started `latency` ns after its release.
    pub(crate) fn released(&self, latency: u64) {
        self.released.fetch_add(1, Ordering::Relaxed);
        lock(&self.histograms).0.record(latency);
    }

    /// A job completed with `response` ns of response time and `lateness` ns of lateness.
    pub(crate) fn completed(&self, response: u64, lateness: i64) {
        lock(&self.histograms).1.record(response);
        if lateness > 0 {
            self.missed.fetch_add(1, Ordering::Relaxed);
            self.max_lateness
                .fetch_max(lateness as u64, Ordering::Relaxed);
        }
        // Last, so a reader that sees the completion sees its miss too.
        self.completed.fetch_add(1, Ordering::Release);
    }

    /// `n` releases were skipped.
    pub(crate) fn skipped(&self, n: u64) {
        self.skipped.fetch_add(n, Ordering::Relaxed);
    }

    /// A snapshot.
    pub(crate) fn snapshot(&self) -> PeriodicStats {
        let completed = self.completed.load(Ordering::Acquire);
        let (start_latency, response_time) = lock(&self.histograms).clone();
        PeriodicStats {
            released: self.released.load(Ordering::Relaxed),
            completed,
            missed: self.missed.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
            max_lateness: Duration::from_nanos(self.max_lateness.load(Ordering::Relaxed)),
            start_latency,
            response_time,
        }
    }
}
