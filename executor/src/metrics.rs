//! Runtime counters.

use crate::stats::TaskStats;
use crate::worker::Shared;
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

/// A snapshot of a runtime's counters, summed over workers.
///
/// Counters are per worker and written without shared-cache-line traffic; a snapshot reads them
/// one by one, so it is not an atomic cut across workers.
///
/// ```
/// let rt = kairos::Runtime::builder().workers(2).build().unwrap();
/// let _ = rt.block_on(rt.spawn(async { panic!("counted") }));
/// let m = rt.metrics();
/// assert_eq!(m.workers, 2);
/// assert_eq!(m.panics, 1);
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Metrics {
    /// Worker threads.
    pub workers: usize,
    /// Task polls (including polls that only cancelled the task).
    pub polls: u64,
    /// Successful steals (each moves a batch of tasks between workers).
    pub steals: u64,
    /// Times a worker parked for lack of work.
    pub parks: u64,
    /// Panics caught in task futures, their destructors, or wakers run by the runtime (join
    /// wakers, timer wakers).
    pub panics: u64,
    /// Tasks spawned and not yet completed.
    pub live_tasks: usize,
    /// Timers registered and not yet fired or cancelled (sleeps being awaited).
    pub pending_timers: usize,
    /// Cooperative yields the runtime asked for and the task saw (`coop.rs`: preemption
    /// request, `Fair` slice, budget), at most one per poll.
    pub preemptions: u64,
    /// Completed periodic jobs that finished after their deadline.
    pub deadline_misses: u64,
    /// Every task's histograms and counters: scheduling latency (ready → poll), poll duration,
    /// and for periodic jobs response time and lateness. See [`TaskStats`].
    pub tasks: TaskStats,
    /// The same, per [`Sched::name`](crate::Sched::name) / [`Periodic::name`](crate::Periodic::name).
    pub by_name: BTreeMap<&'static str, TaskStats>,
}

impl Metrics {
    pub(crate) fn read(shared: &Shared) -> Metrics {
        let mut m = Metrics {
            workers: shared.num_workers(),
            panics: shared.panics(),
            live_tasks: shared.live_tasks(),
            pending_timers: shared.timers().len(),
            ..Metrics::default()
        };
        for w in shared.all_worker_metrics() {
            let (polls, steals, parks) = w.read();
            m.polls += polls;
            m.steals += steals;
            m.parks += parks;
            m.preemptions += w.preemptions();
            w.merge_into(&mut m.tasks, &mut m.by_name);
        }
        m.deadline_misses = m.tasks.deadline_misses;
        m
    }

    /// A readable multi-line summary: one row for all tasks and one per name, with counters
    /// and latency percentiles.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).record_latency(true).build().unwrap();
    /// rt.block_on(rt.spawn_with(kairos::Sched::default().name("hello"), async {})).unwrap();
    /// let text = rt.metrics().summary();
    /// assert!(text.contains("hello"));
    /// ```
    pub fn summary(&self) -> String {
        crate::stats::hgrm::summary(&self.tasks, &self.by_name)
    }

    /// Writes every non-empty histogram as an HdrHistogram percentile-distribution file
    /// (`.hgrm`, values in microseconds) into `dir`, named `{prefix}{metric}.hgrm` for all tasks
    /// and `{prefix}{name}.{metric}.hgrm` per name. Returns the paths written.
    ///
    /// # Errors
    /// I/O errors creating `dir` or writing a file.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).record_latency(true).build().unwrap();
    /// rt.block_on(rt.spawn(async {})).unwrap();
    /// let dir = std::env::temp_dir().join("kairos-doc-hgrm");
    /// let files = rt.metrics().write_hgrm(&dir, "run1.").unwrap();
    /// assert!(!files.is_empty());
    /// ```
    pub fn write_hgrm(&self, dir: &Path, prefix: &str) -> io::Result<Vec<PathBuf>> {
        crate::stats::hgrm::write_hgrm_files(dir, prefix, &self.tasks, &self.by_name)
    }
}
