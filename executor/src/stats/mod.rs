//! Latency statistics: per-task-name HdrHistograms recorded by each worker, merged on read.
//!
//! # What is measured
//!
//! All times are in **nanoseconds** on the runtime clock (real or virtual). For every task, and
//! separately for every task name given at spawn, a [`TaskStats`] holds:
//!
//! | field | one sample per | value |
//! |---|---|---|
//! | [`polls`](TaskStats::polls) | poll | count of polls |
//! | [`preemptions`](TaskStats::preemptions) | cooperative yield | count of yields the runtime asked for (preemption flag or coop budget), not voluntary `yield_now` calls |
//! | [`jobs`](TaskStats::jobs) | completed periodic job | count |
//! | [`deadline_misses`](TaskStats::deadline_misses) | job completed after its deadline | count (`completion > deadline`) |
//! | [`scheduling_latency`](TaskStats::scheduling_latency) | poll whose ready time is known | start of the poll − the instant the task became runnable (spawned, woken, or released) |
//! | [`response_time`](TaskStats::response_time) | completed job | completion − release of that job |
//! | [`lateness`](TaskStats::lateness) | completed job | `max(0, completion − deadline)`, i.e. tardiness: 0 for a job on time |
//! | [`poll_duration`](TaskStats::poll_duration) | poll | end − start of the `poll` call |
//!
//! `lateness` is clamped at 0 so its histogram stays in `u64` and answers "how late is the late
//! tail": its count is the number of jobs, the fraction of non-zero samples is the miss ratio,
//! and its high percentiles are the tardiness of the misses. (Signed lateness, how *early* jobs
//! finish, is `deadline − response` and is not kept.)
//!
//! Histograms keep 3 significant digits: exact up to 2047 ns, within 0.1% above (see
//! [`Histogram`]). Samples are not corrected for coordinated omission: every event is measured
//! from its own ready or release instant, so a stalled worker shows up as large samples rather
//! than as missing ones.
//!
//! # Recording: per worker, no shared writes
//!
//! Each worker owns one recorder (`recorder::Recorder`) behind a mutex that only that worker
//! locks on the hot path. Recording a poll is two histogram increments in memory that no other
//! thread touches, plus an uncontended lock on a line the worker already owns: no cache line is
//! written by two workers per poll. A single shared histogram with atomic counters would bounce
//! its lines between every pair of workers polling at the same time, which at millions of polls
//! per second costs more than the poll. The price is memory (one set of histograms per worker
//! and task name, see the recorder) and a merge on read.
//!
//! Reading (a snapshot, or the files at shutdown) locks each worker's recorder in turn and
//! merges it into a total and a per-name map (`merge_into`); it is a sum, not an atomic cut
//! across workers, which is harmless for statistics. Merging is exact: the merged histogram is
//! the one a single recorder would have produced.
//!
//! # Files: `.hgrm`
//!
//! `hgrm::write_hgrm_files` writes each non-empty histogram as a `.hgrm` file, the plain-text
//! percentile distribution of HdrHistogram's Java `outputPercentileDistribution` (format in
//! [`Histogram::write_hgrm`]), with values in **microseconds**: `{prefix}{metric}.hgrm` for all
//! tasks and `{prefix}{name}.{metric}.hgrm` per task name, `metric` being `scheduling_latency`,
//! `response_time`, `lateness` or `poll_duration`. To plot, open
//! <https://hdrhistogram.github.io/HdrHistogram/plotFiles.html> and select one or more files: the
//! x axis is the percentile on a `1/(1-p)` scale (so 99%, 99.9%, 99.99% are evenly spaced), the
//! y axis the latency in µs. Several files (policies, names, runs) plot on one chart.
//! `hgrm::summary` gives the same figures as a text table.

pub(crate) mod hgrm;
mod histogram;
pub(crate) mod recorder;

pub use histogram::Histogram;

/// Counters and latency histograms of a set of tasks (one task name, or all tasks).
///
/// The exact meaning of each field is in the [module docs](self); times are in nanoseconds.
/// Values from several workers add up with [`merge`](Self::merge).
///
/// ```
/// use kairos::stats::TaskStats;
///
/// let mut a = TaskStats::default();
/// a.polls = 3;
/// a.scheduling_latency.record(1_200);
/// let mut b = TaskStats::default();
/// b.polls = 2;
/// b.scheduling_latency.record(800);
/// a.merge(&b);
/// assert_eq!(a.polls, 5);
/// assert_eq!(a.scheduling_latency.count(), 2);
/// assert_eq!(a.scheduling_latency.max(), 1_200);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct TaskStats {
    /// Polls, including polls that only cancelled the task.
    pub polls: u64,
    /// Cooperative yields the runtime asked for: the task's poll returned because its preemption
    /// flag was set or its coop budget ran out (see the crate docs on preemption).
    pub preemptions: u64,
    /// Completed jobs of periodic tasks.
    pub jobs: u64,
    /// Jobs that completed strictly after their deadline (`lateness > 0`).
    pub deadline_misses: u64,
    /// Runnable (spawned, woken or released) → start of the poll that ran it, ns.
    pub scheduling_latency: Histogram,
    /// Release → completion of each job, ns.
    pub response_time: Histogram,
    /// `max(0, completion − deadline)` of each job (tardiness), ns; 0 for a job on time.
    pub lateness: Histogram,
    /// Duration of each poll, ns.
    pub poll_duration: Histogram,
}

impl TaskStats {
    /// Adds `other` to `self`: counters add (saturating), histograms merge.
    ///
    /// ```
    /// use kairos::stats::TaskStats;
    ///
    /// let mut total = TaskStats::default();
    /// let mut worker = TaskStats::default();
    /// worker.jobs = 1;
    /// worker.deadline_misses = 1;
    /// worker.lateness.record(50_000);
    /// total.merge(&worker);
    /// total.merge(&worker);
    /// assert_eq!((total.jobs, total.deadline_misses), (2, 2));
    /// assert_eq!(total.lateness.count(), 2);
    /// ```
    pub fn merge(&mut self, other: &TaskStats) {
        self.polls = self.polls.saturating_add(other.polls);
        self.preemptions = self.preemptions.saturating_add(other.preemptions);
        self.jobs = self.jobs.saturating_add(other.jobs);
        self.deadline_misses = self.deadline_misses.saturating_add(other.deadline_misses);
        self.scheduling_latency.merge(&other.scheduling_latency);
        self.response_time.merge(&other.response_time);
        self.lateness.merge(&other.lateness);
        self.poll_duration.merge(&other.poll_duration);
    }

    /// Stats with every histogram sized for values up to `high_ns` (see
    /// `Histogram::with_max`), for recorders on the hot path.
    pub(crate) fn with_max(high_ns: u64) -> TaskStats {
        TaskStats {
            scheduling_latency: Histogram::with_max(high_ns),
            response_time: Histogram::with_max(high_ns),
            lateness: Histogram::with_max(high_ns),
            poll_duration: Histogram::with_max(high_ns),
            ..TaskStats::default()
        }
    }

    /// The four histograms with their metric names (the `.hgrm` file suffixes), in a fixed order.
    pub(crate) fn histograms(&self) -> [(&'static str, &Histogram); 4] {
        [
            ("scheduling_latency", &self.scheduling_latency),
            ("response_time", &self.response_time),
            ("lateness", &self.lateness),
            ("poll_duration", &self.poll_duration),
        ]
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn merge_adds_counters_and_histograms() {
        let mut a = TaskStats::with_max(1 << 20);
        a.polls = 1;
        a.preemptions = 2;
        a.poll_duration.record(10);
        let mut b = TaskStats {
            polls: u64::MAX,
            jobs: 3,
            ..TaskStats::default()
        };
        b.response_time.record(1 << 30);
        a.merge(&b);
        assert_eq!((a.polls, a.preemptions, a.jobs), (u64::MAX, 2, 3));
        assert_eq!(a.poll_duration.count(), 1);
        assert_eq!(a.response_time.count(), 1);
        assert!(a.response_time.max() >= 1 << 30);
        let names: Vec<_> = a.histograms().iter().map(|(name, _)| *name).collect();
        assert_eq!(
            names,
            [
                "scheduling_latency",
                "response_time",
                "lateness",
                "poll_duration"
            ]
        );
    }
}
