//! The job metrics every backend reports, as recorded by the kernel backend's threads.
//!
//! Definitions (the same for kairos and tokio once they run file workloads; `docs/sched-bench.md`,
//! "Kernel backend", states them for users):
//!
//! - **release**: the instant a job becomes due: the start of the run plus the task's `delay`
//!   for a task's first job, then each tick of a timer event (absolute mode: on the grid;
//!   relative mode: re-anchored at "now" after an overrun) and the due end of each non-zero
//!   sleep. Releases at or after the end of the run are not counted.
//! - **release→start latency**: first instant the thread runs after the release (it read the
//!   clock) − release. A job released while its predecessor still runs waits for it, and that
//!   wait is part of its latency.
//! - **response time**: job end (the thread reached its next wait) − release.
//! - **lateness**: job end − absolute deadline, where the absolute deadline is release + the
//!   task's relative `deadline`, or release + the period of the task's first timer when the task
//!   states no deadline. Negative when early. Jobs of a task with neither have no deadline.
//! - **missed**: completed jobs with lateness > 0, plus jobs still running at the end of the run
//!   whose absolute deadline had passed by then. **Miss ratio** = missed / released jobs that
//!   have a deadline.
//! - **preemptions**: involuntary context switches of the thread (`nonvoluntary_ctxt_switches`
//!   in `/proc/thread-self/status`) over the run; voluntary ones are reported beside them.
//! - **CPU time**: the thread's `CLOCK_THREAD_CPUTIME_ID` over the run.
//! - **background throughput**: work units per second of the background hogs (one unit = a
//!   fixed, machine-speed-dependent arithmetic loop, see [`hog_unit`]).
//!
//! Histograms are HdrHistograms in nanoseconds, 3 significant digits, up to 60 s (larger values
//! saturate). Lateness is signed, so it is kept as two histograms ([`SignedHist`]).

use hdrhistogram::Histogram;
use serde::Serialize;

/// Largest recordable value (ns); larger ones are recorded as this.
const HIST_MAX_NS: u64 = 60_000_000_000;

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIST_MAX_NS, 3).expect("static histogram bounds are valid")
}

/// An HdrHistogram of nanoseconds (1 ns ..= 60 s, 3 significant digits) allocated on its first
/// value: an empty one costs one pointer instead of the full histogram's ~220 KB, which is what
/// keeps per-instance [`JobStats`] small (task instances record into their task's shared
/// histograms, see [`TaskSink`]).
#[derive(Debug, Clone, Default)]
pub struct Hist(Option<Box<Histogram<u64>>>);

/// The job metrics of one report row ([`JobStats::json`]), flattened into the row's JSON
/// object; percentiles are absent when no job recorded that value.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct JobJson {
    /// Released jobs.
    pub released: u64,
    /// Completed jobs.
    pub completed: u64,
    /// Jobs released but still running when the run ended.
    pub running_at_end: u64,
    /// Missed jobs (see the module docs).
    pub missed: u64,
    /// Released jobs that have a deadline.
    pub jobs_with_deadline: u64,
    /// `missed / jobs_with_deadline`; `null` without such jobs.
    pub miss_ratio: f64,
    /// Release → start, 50th percentile, ns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_latency_p50_ns: Option<u64>,
    /// Release → start, 99th percentile, ns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_latency_p99_ns: Option<u64>,
    /// Release → start, maximum, ns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_latency_max_ns: Option<u64>,
    /// Response time, 50th percentile, ns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_p50_ns: Option<u64>,
    /// Response time, 99th percentile, ns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_p99_ns: Option<u64>,
    /// Response time, maximum, ns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_max_ns: Option<u64>,
    /// Lateness, 50th percentile, ns (negative: early).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lateness_p50_ns: Option<f64>,
    /// Lateness, 99th percentile, ns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lateness_p99_ns: Option<f64>,
    /// Lateness, maximum, ns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lateness_max_ns: Option<f64>,
}

impl Hist {
    /// The histogram, allocated on first use.
    fn get_mut(&mut self) -> &mut Histogram<u64> {
        self.0.get_or_insert_with(|| Box::new(histogram()))
    }

    /// Records `v` ns: 0 as 1 ns (HdrHistogram's lowest bound), beyond 60 s as 60 s.
    pub fn record(&mut self, v: u64) {
        self.get_mut().saturating_record(v.max(1));
    }

    /// Number of recorded values.
    pub fn len(&self) -> u64 {
        self.0.as_ref().map_or(0, |h| h.len())
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value at quantile `q` (0 when empty).
    pub fn value_at_quantile(&self, q: f64) -> u64 {
        self.0.as_ref().map_or(0, |h| h.value_at_quantile(q))
    }

    /// Largest recorded value (0 when empty).
    pub fn max(&self) -> u64 {
        self.0.as_ref().map_or(0, |h| h.max())
    }

    /// Smallest recorded value (0 when empty).
    pub fn min(&self) -> u64 {
        self.0.as_ref().map_or(0, |h| h.min())
    }

    /// Adds every value of `other` (allocating only if `other` has values).
    pub fn add(&mut self, other: &Hist) {
        if let Some(o) = other.0.as_deref().filter(|o| !o.is_empty()) {
            // Same bounds everywhere, so adding cannot fail.
            let _ = self.get_mut().add(o);
        }
    }

    /// The histogram itself, `None` while nothing was recorded.
    pub fn inner(&self) -> Option<&Histogram<u64>> {
        self.0.as_deref()
    }

    /// Heap bytes held (0 while empty).
    #[cfg(test)]
    pub fn heap_bytes(&self) -> usize {
        self.0.as_ref().map_or(0, |h| {
            std::mem::size_of::<Histogram<u64>>() + h.distinct_values() * 8
        })
    }
}

/// A histogram of signed nanosecond values: negative values by magnitude in `neg`, the others
/// in `pos`, so both sides keep HdrHistogram's relative precision.
#[derive(Debug, Clone)]
pub struct SignedHist {
    /// Magnitudes of the negative values.
    neg: Hist,
    /// Values >= 0 (0 recorded as 1 ns: HdrHistogram's lowest bound).
    pos: Hist,
}

impl SignedHist {
    /// An empty histogram.
    pub fn new() -> SignedHist {
        SignedHist {
            neg: Hist::default(),
            pos: Hist::default(),
        }
    }

    /// Records `v` nanoseconds.
    pub fn record(&mut self, v: i64) {
        if v < 0 {
            self.neg.record(v.unsigned_abs());
        } else {
            self.pos.record(v as u64);
        }
    }

    /// Number of recorded values.
    pub fn len(&self) -> u64 {
        self.neg.len() + self.pos.len()
    }

    /// Adds every value of `other`.
    pub fn add(&mut self, other: &SignedHist) {
        self.neg.add(&other.neg);
        self.pos.add(&other.pos);
    }

    /// The value at quantile `q` (0..=1) of all recorded values, in ns; `None` when empty.
    ///
    /// Rank `r = ceil(q * n)` (at least 1): the `r` smallest negatives come first, by
    /// decreasing magnitude, then the non-negative values in increasing order.
    pub fn quantile(&self, q: f64) -> Option<i64> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * n as f64).ceil() as u64).clamp(1, n);
        let n_neg = self.neg.len();
        if rank <= n_neg {
            // Ascending order of the negatives is descending order of their magnitudes.
            let from_top = n_neg - rank + 1;
            let mag = self.neg.value_at_quantile(from_top as f64 / n_neg as f64);
            Some(-(mag as i64))
        } else {
            let q_pos = (rank - n_neg) as f64 / self.pos.len() as f64;
            Some(self.pos.value_at_quantile(q_pos) as i64)
        }
    }

    /// The largest recorded value in ns; `None` when empty.
    pub fn max(&self) -> Option<i64> {
        if !self.pos.is_empty() {
            Some(self.pos.max() as i64)
        } else if !self.neg.is_empty() {
            Some(-(self.neg.min() as i64))
        } else {
            None
        }
    }
}

impl Default for SignedHist {
    fn default() -> SignedHist {
        SignedHist::new()
    }
}

/// The histograms of one task, shared by all its instances: each instance buffers up to
/// [`SINK_BATCH`] values and adds them here under the lock, so a task of any instance count
/// holds one set of histograms and an instance only its buffer. Counters stay in each
/// instance's own [`JobStats`]; this one holds histograms only.
pub type TaskSink = std::sync::Arc<std::sync::Mutex<JobStats>>;

/// Values an instance buffers before adding them to its [`TaskSink`] (16 bytes each: 4 KiB).
pub const SINK_BATCH: usize = 256;

/// One buffered value for a [`TaskSink`].
#[derive(Clone, Copy, Debug)]
pub enum Sample {
    /// A release→start latency, ns.
    Start(u64),
    /// A response time, ns.
    Response(u64),
    /// A lateness, ns.
    Lateness(i64),
}

/// A new, empty sink.
pub fn task_sink() -> TaskSink {
    std::sync::Arc::new(std::sync::Mutex::new(JobStats::new()))
}

/// Adds `samples` to `sink` and empties them. A poisoned lock (a panicked instance) is used
/// anyway: the histograms stay valid.
pub fn flush(sink: &TaskSink, samples: &mut Vec<Sample>) {
    if samples.is_empty() {
        return;
    }
    let mut s = sink
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for v in samples.drain(..) {
        match v {
            Sample::Start(ns) => s.start_latency.record(ns),
            Sample::Response(ns) => s.response.record(ns),
            Sample::Lateness(ns) => s.lateness.record(ns),
        }
    }
}

/// A copy of the histograms in `sink`.
pub fn sink_stats(sink: &TaskSink) -> JobStats {
    sink.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// A job in progress: when it was released and its absolute deadline (ns, `CLOCK_MONOTONIC`).
#[derive(Clone, Copy, Debug)]
pub struct OpenJob {
    /// Release time.
    pub release: u64,
    /// Absolute deadline, if the task has one.
    pub abs_deadline: Option<u64>,
}

/// What one task thread (or a whole class, merged) observed.
#[derive(Debug, Clone)]
pub struct JobStats {
    /// Jobs released before the end of the run.
    pub released: u64,
    /// Jobs that finished before the end of the run.
    pub completed: u64,
    /// Released jobs that have an absolute deadline (the miss ratio's denominator).
    pub with_deadline: u64,
    /// Completed late, or still running at the end past their deadline.
    pub missed: u64,
    /// Of `missed`, the jobs that completed late (the periodic comparison's misses, which
    /// count completed jobs only).
    pub missed_completed: u64,
    /// Release→start latency, ns.
    pub start_latency: Hist,
    /// Release→end, ns, of completed jobs.
    pub response: Hist,
    /// End − absolute deadline, ns, of completed jobs with a deadline.
    pub lateness: SignedHist,
    /// Involuntary context switches over the run.
    pub involuntary_cs: u64,
    /// Voluntary context switches over the run.
    pub voluntary_cs: u64,
    /// Thread CPU time over the run, ns.
    pub cpu_ns: u64,
    /// Every released job's instants, in release order (`end` 0 while it runs; a job cut off
    /// by the end of the run keeps 0). 24 bytes a job, kept only when an output needs them
    /// (`--cyclic`, `--rtapp-log`, the periodic comparison's per-job logs); empty otherwise.
    pub jobs: Vec<JobRecord>,
}

/// One job's instants, `CLOCK_MONOTONIC` ns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JobRecord {
    /// Release (on the job's grid).
    pub release: u64,
    /// First clock read once the job ran.
    pub start: u64,
    /// Completion; 0 if the job did not complete.
    pub end: u64,
}

impl JobStats {
    /// The per-job cells every backend's table shows, in this order: released, completed,
    /// running at end, missed, miss ratio, then release→start, response and lateness as
    /// `p50 / p99 / max` in µs (`-` where there is nothing to show).
    pub fn table_cells(&self) -> [String; 8] {
        let lateness = if self.lateness.len() == 0 {
            "-".to_owned()
        } else {
            format!(
                "{} / {} / {}",
                super::us(self.lateness.quantile(0.5)),
                super::us(self.lateness.quantile(0.99)),
                super::us(self.lateness.max())
            )
        };
        [
            self.released.to_string(),
            self.completed.to_string(),
            self.running_at_end().to_string(),
            self.missed.to_string(),
            self.miss_ratio()
                .map_or_else(|| "-".to_owned(), |m| format!("{:.1}%", m * 100.0)),
            super::triple(&self.start_latency),
            super::triple(&self.response),
            lateness,
        ]
    }

    /// The columns every backend reports for its jobs, as JSON row fields: counts, miss ratio,
    /// and release→start, response and lateness percentiles (ns). One definition for every
    /// report that shows job metrics.
    pub fn json(&self) -> JobJson {
        let percentiles = |h: &Hist| {
            (!h.is_empty()).then(|| (h.value_at_quantile(0.5), h.value_at_quantile(0.99), h.max()))
        };
        let start = percentiles(&self.start_latency);
        let response = percentiles(&self.response);
        let lateness = |q: f64| self.lateness.quantile(q).map(|v| v as f64);
        JobJson {
            released: self.released,
            completed: self.completed,
            running_at_end: self.running_at_end(),
            missed: self.missed,
            jobs_with_deadline: self.with_deadline,
            miss_ratio: self.miss_ratio().unwrap_or(f64::NAN),
            start_latency_p50_ns: start.map(|p| p.0),
            start_latency_p99_ns: start.map(|p| p.1),
            start_latency_max_ns: start.map(|p| p.2),
            response_p50_ns: response.map(|p| p.0),
            response_p99_ns: response.map(|p| p.1),
            response_max_ns: response.map(|p| p.2),
            lateness_p50_ns: lateness(0.5),
            lateness_p99_ns: lateness(0.99),
            lateness_max_ns: self.lateness.max().map(|v| v as f64),
        }
    }

    /// No jobs yet.
    pub fn new() -> JobStats {
        JobStats {
            released: 0,
            completed: 0,
            with_deadline: 0,
            missed: 0,
            missed_completed: 0,
            start_latency: Hist::default(),
            response: Hist::default(),
            lateness: SignedHist::new(),
            involuntary_cs: 0,
            voluntary_cs: 0,
            cpu_ns: 0,
            jobs: Vec::new(),
        }
    }

    /// Jobs released but not completed: the ones running (or waiting to run) at the end.
    pub fn running_at_end(&self) -> u64 {
        self.released - self.completed
    }

    /// Missed / released jobs with a deadline; `None` without such jobs.
    pub fn miss_ratio(&self) -> Option<f64> {
        (self.with_deadline > 0).then(|| self.missed as f64 / self.with_deadline as f64)
    }

    #[cfg(test)]
    /// Heap bytes held: the histograms allocated so far and the job records' capacity.
    pub fn heap_bytes(&self) -> usize {
        self.start_latency.heap_bytes()
            + self.response.heap_bytes()
            + self.lateness.neg.heap_bytes()
            + self.lateness.pos.heap_bytes()
            + self.jobs.capacity() * std::mem::size_of::<JobRecord>()
    }

    /// Adds `other`'s counts and histograms (merging threads into a class).
    pub fn add(&mut self, other: &JobStats) {
        self.released += other.released;
        self.completed += other.completed;
        self.with_deadline += other.with_deadline;
        self.missed += other.missed;
        self.missed_completed += other.missed_completed;
        self.start_latency.add(&other.start_latency);
        self.response.add(&other.response);
        self.lateness.add(&other.lateness);
        self.involuntary_cs += other.involuntary_cs;
        self.voluntary_cs += other.voluntary_cs;
        self.cpu_ns += other.cpu_ns;
        self.jobs.extend_from_slice(&other.jobs);
    }
}

impl Default for JobStats {
    fn default() -> JobStats {
        JobStats::new()
    }
}

/// One unit of background work: 1024 steps of a xorshift generator, kept from being optimised
/// away. Its duration depends on the machine, so unit counts compare backends on one machine,
/// not machines.
#[inline(never)]
pub fn hog_unit(state: &mut u64) {
    let mut x = *state | 1;
    for _ in 0..1024 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    *state = std::hint::black_box(x);
}

/// Context switch counters of the calling thread, from `/proc/thread-self/status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CtxSwitches {
    /// `voluntary_ctxt_switches`: the thread blocked or yielded.
    pub voluntary: u64,
    /// `nonvoluntary_ctxt_switches`: the kernel took the CPU away (preemption).
    pub involuntary: u64,
}

impl CtxSwitches {
    /// Reads the calling thread's counters; `None` if `/proc` is unavailable.
    pub fn read() -> Option<CtxSwitches> {
        let status = std::fs::read_to_string("/proc/thread-self/status").ok()?;
        CtxSwitches::parse(&status)
    }

    /// Parses a `/proc/<pid>/task/<tid>/status` text.
    pub fn parse(status: &str) -> Option<CtxSwitches> {
        let field = |name: &str| -> Option<u64> {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|rest| rest.trim_start_matches(':').trim().parse().ok())
        };
        Some(CtxSwitches {
            voluntary: field("voluntary_ctxt_switches")?,
            involuntary: field("nonvoluntary_ctxt_switches")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_quantiles_order_negatives_first() {
        let mut h = SignedHist::new();
        for v in [-300, -100, 0, 200, 400] {
            h.record(v);
        }
        assert_eq!(h.len(), 5);
        assert_eq!(h.quantile(0.0), Some(-300));
        assert_eq!(h.quantile(0.4), Some(-100));
        assert_eq!(h.quantile(0.6), Some(1));
        assert_eq!(h.quantile(0.8), Some(200));
        assert_eq!(h.quantile(1.0), Some(400));
        assert_eq!(h.max(), Some(400));
        let mut only_early = SignedHist::new();
        only_early.record(-50);
        only_early.record(-20);
        assert_eq!(only_early.max(), Some(-20));
        assert_eq!(SignedHist::new().quantile(0.5), None);
    }

    #[test]
    fn parses_proc_status() {
        let text = "Name:\tx\nvoluntary_ctxt_switches:\t12\nnonvoluntary_ctxt_switches:\t3\n";
        assert_eq!(
            CtxSwitches::parse(text),
            Some(CtxSwitches {
                voluntary: 12,
                involuntary: 3
            })
        );
        assert_eq!(CtxSwitches::parse("Name: x\n"), None);
        if cfg!(target_os = "linux") {
            assert!(CtxSwitches::read().is_some());
        }
    }

    #[test]
    fn merged_stats_add_up() {
        let mut a = JobStats::new();
        a.released = 3;
        a.completed = 2;
        a.with_deadline = 3;
        a.missed = 1;
        let mut b = JobStats::new();
        b.add(&a);
        b.add(&a);
        assert_eq!(b.released, 6);
        assert_eq!(b.running_at_end(), 2);
        assert_eq!(b.miss_ratio(), Some(2.0 / 6.0));
    }
}
