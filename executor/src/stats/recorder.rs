//! `Recorder`: the statistics one worker records, per task name.
//!
//! # Layout
//!
//! A recorder is owned by one worker (behind a mutex only that worker locks on the hot path) and
//! holds one [`TaskStats`] for tasks without a name plus one per `&'static str` name seen so far.
//! The total over all tasks is **not** kept: each event is recorded exactly once, in the stats
//! of its task's name (or the unnamed stats), and [`Recorder::merge_into`] adds them all up
//! on read. So a poll costs two histogram increments (duration, and latency when known), not
//! four, whether or not the task is named.
//!
//! # Finding a name
//!
//! Names are few (a handful per program), so they live in a `Vec` searched linearly. The first
//! pass compares pointers (`std::ptr::eq` on the `&str`, i.e. data pointer and length): the same
//! string literal passed at every spawn is the same pointer, so the usual lookup is a few pointer
//! compares. A second pass compares contents, for equal names from different literals (e.g. two
//! crates, or a leaked `String`); they share one entry, keyed by the first pointer seen.
//!
//! # Allocation
//!
//! [`Recorder::new`] creates the unnamed stats; a name's stats are created when the name is first
//! seen (or earlier, with [`Recorder::register`]). Either way each histogram is sized up front for
//! 1 ns .. [`PRESIZED_MAX_NS`] (60 s), so recording allocates nothing afterwards unless a value
//! exceeds that range (a histogram then grows once per doubling). The cost is memory: 27 648
//! 8-byte counters per histogram, 216 KiB, so 864 KiB per `TaskStats`, per worker and per name.
//! The first sighting of a name allocates and zeroes that much on the worker's hot path; spawn
//! paths that know the name can call [`Recorder::register`] instead.

// Each worker's `WorkerMetrics` (`worker/metrics.rs`) holds one behind its mutex.

use std::collections::btree_map::{BTreeMap, Entry};

use super::TaskStats;

/// Range every recorder histogram covers without growing: 60 s in nanoseconds. Latencies and
/// poll times beyond a minute are failures worth a one-time allocation; each further doubling
/// would cost another 8 KiB per histogram that most programs never use.
pub(crate) const PRESIZED_MAX_NS: u64 = 60_000_000_000;

/// The statistics one worker recorded, split by task name. See the [module docs](self).
#[derive(Debug)]
pub(crate) struct Recorder {
    /// Events of tasks spawned without a name.
    unnamed: TaskStats,
    /// Events of named tasks, one entry per distinct name in order of first sighting. Keys are
    /// distinct as strings (see [`Recorder::stats_for`]).
    named: Vec<(&'static str, TaskStats)>,
}

impl Default for Recorder {
    fn default() -> Recorder {
        Recorder::new()
    }
}

impl Recorder {
    /// An empty recorder with the unnamed stats pre-sized (see [`PRESIZED_MAX_NS`]).
    pub(crate) fn new() -> Recorder {
        Recorder {
            unnamed: TaskStats::with_max(PRESIZED_MAX_NS),
            named: Vec::new(),
        }
    }

    /// Creates the stats of `name` now if it has none yet, so its first event does not allocate.
    pub(crate) fn register(&mut self, name: &'static str) {
        self.named_stats(name);
    }

    /// The stats that events of a task called `name` go to.
    #[inline]
    fn stats_for(&mut self, name: Option<&'static str>) -> &mut TaskStats {
        match name {
            None => &mut self.unnamed,
            Some(name) => self.named_stats(name),
        }
    }

    /// The stats of `name`, created on first sight.
    #[inline]
    fn named_stats(&mut self, name: &'static str) -> &mut TaskStats {
        let found = match self.named.iter().position(|&(n, _)| std::ptr::eq(n, name)) {
            Some(i) => Some(i),
            None => self.named.iter().position(|&(n, _)| n == name),
        };
        let i = match found {
            Some(i) => i,
            None => self.add_name(name),
        };
        &mut self.named[i].1
    }

    /// Appends a new name's pre-sized stats; returns its index. Kept out of line: it runs once per
    /// name and allocates.
    #[cold]
    #[inline(never)]
    fn add_name(&mut self, name: &'static str) -> usize {
        self.named
            .push((name, TaskStats::with_max(PRESIZED_MAX_NS)));
        self.named.len() - 1
    }

    /// Records one poll of a task called `name` (`None`: unnamed) that took `poll_ns`, and its
    /// scheduling latency (runnable → poll start) when the worker knows when the task became
    /// runnable.
    #[inline]
    pub(crate) fn record_poll(
        &mut self,
        name: Option<&'static str>,
        scheduling_latency_ns: Option<u64>,
        poll_ns: u64,
    ) {
        let stats = self.stats_for(name);
        stats.polls = stats.polls.saturating_add(1);
        stats.poll_duration.record(poll_ns);
        if let Some(latency) = scheduling_latency_ns {
            stats.scheduling_latency.record(latency);
        }
    }

    /// Records one cooperative yield the runtime asked of a task called `name`.
    #[inline]
    pub(crate) fn record_preemption(&mut self, name: Option<&'static str>) {
        let stats = self.stats_for(name);
        stats.preemptions = stats.preemptions.saturating_add(1);
    }

    /// Records one completed job of a task called `name`: `response_ns` from release to
    /// completion, `lateness_ns` = completion − deadline (negative: early). A positive lateness
    /// counts as a deadline miss; the lateness histogram gets `max(0, lateness_ns)`.
    #[inline]
    pub(crate) fn record_job(
        &mut self,
        name: Option<&'static str>,
        response_ns: u64,
        lateness_ns: i64,
    ) {
        let stats = self.stats_for(name);
        stats.jobs = stats.jobs.saturating_add(1);
        if lateness_ns > 0 {
            stats.deadline_misses = stats.deadline_misses.saturating_add(1);
        }
        stats.response_time.record(response_ns);
        // `max(0)` makes the value non-negative, so the cast is exact.
        stats.lateness.record(lateness_ns.max(0) as u64);
    }

    /// Adds everything recorded here to `total` (all tasks) and to `by_name` (named tasks, one
    /// entry per name, created if missing). Call it for each worker's recorder to get the
    /// runtime-wide figures.
    pub(crate) fn merge_into(
        &self,
        total: &mut TaskStats,
        by_name: &mut BTreeMap<&'static str, TaskStats>,
    ) {
        total.merge(&self.unnamed);
        for (name, stats) in &self.named {
            total.merge(stats);
            match by_name.entry(name) {
                Entry::Vacant(slot) => {
                    slot.insert(stats.clone());
                }
                Entry::Occupied(mut slot) => slot.get_mut().merge(stats),
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn polls_go_to_their_name_and_add_up_in_the_total() {
        let mut r = Recorder::new();
        r.record_poll(None, Some(1_000), 50);
        r.record_poll(Some("sensor"), Some(2_000), 60);
        r.record_poll(Some("sensor"), None, 70);
        r.record_poll(Some("control"), Some(3_000), 80);
        r.record_preemption(Some("control"));
        r.record_preemption(None);

        let mut total = TaskStats::default();
        let mut by_name = BTreeMap::new();
        r.merge_into(&mut total, &mut by_name);
        assert_eq!(total.polls, 4);
        assert_eq!(total.preemptions, 2);
        assert_eq!(total.poll_duration.count(), 4);
        assert_eq!(total.scheduling_latency.count(), 3);
        assert_eq!(total.scheduling_latency.min(), 1_000);
        assert_eq!(
            by_name.keys().copied().collect::<Vec<_>>(),
            ["control", "sensor"]
        );
        let sensor = &by_name["sensor"];
        assert_eq!((sensor.polls, sensor.preemptions), (2, 0));
        assert_eq!(sensor.scheduling_latency.count(), 1);
        assert_eq!(sensor.poll_duration.min(), 60);
        assert_eq!(sensor.poll_duration.max(), 70);
        assert_eq!(by_name["control"].preemptions, 1);
    }

    #[test]
    fn equal_names_from_different_pointers_share_an_entry() {
        let a: &'static str = "worker-task";
        // Same text, different allocation (a leaked String), so `ptr::eq` fails and the
        // content comparison must find the entry.
        let b: &'static str = Box::leak(String::from("worker-task").into_boxed_str());
        assert!(!std::ptr::eq(a, b));
        // A prefix of `a` at the same address: pointer-equal data, different length.
        let prefix: &'static str = &a[..6];
        let mut r = Recorder::new();
        r.record_poll(Some(a), None, 1);
        r.record_poll(Some(b), None, 1);
        r.record_poll(Some(prefix), None, 1);
        assert_eq!(r.named.len(), 2);
        assert_eq!(r.named[0].1.polls, 2);
        assert_eq!(r.named[1], (prefix, r.named[1].1.clone()));
        assert_eq!(r.named[1].1.polls, 1);
    }

    #[test]
    fn jobs_count_misses_and_clamp_lateness() {
        let mut r = Recorder::new();
        r.record_job(Some("periodic"), 900, -100); // early
        r.record_job(Some("periodic"), 1_000, 0); // exactly on the deadline: not a miss
        r.record_job(Some("periodic"), 1_500, 500); // late by 500 ns
        r.record_job(None, 10, i64::MIN);
        r.record_job(None, u64::MAX, i64::MAX);

        let mut total = TaskStats::default();
        let mut by_name = BTreeMap::new();
        r.merge_into(&mut total, &mut by_name);
        let p = &by_name["periodic"];
        assert_eq!((p.jobs, p.deadline_misses), (3, 1));
        assert_eq!(p.lateness.count(), 3);
        assert_eq!(p.lateness.min(), 0);
        assert_eq!(p.lateness.max(), 500);
        assert_eq!(p.lateness.value_at_percentile(60.0), 0);
        assert_eq!(p.response_time.min(), 900);
        assert_eq!((total.jobs, total.deadline_misses), (5, 2));
        assert_eq!(total.lateness.max(), i64::MAX as u64);
        assert_eq!(total.response_time.max(), u64::MAX);
    }

    #[test]
    fn merge_into_sums_workers() {
        let mut workers = [Recorder::new(), Recorder::new()];
        for (w, r) in workers.iter_mut().enumerate() {
            for i in 0..100u64 {
                r.record_poll(Some("a"), Some(i * 10 + w as u64), i);
                r.record_poll(None, None, i);
            }
            r.register("only-registered");
        }
        workers[1].record_job(Some("b"), 5, 1);

        let mut total = TaskStats::default();
        let mut by_name = BTreeMap::new();
        for r in &workers {
            r.merge_into(&mut total, &mut by_name);
        }
        assert_eq!(total.polls, 400);
        assert_eq!(total.scheduling_latency.count(), 200);
        assert_eq!(by_name["a"].polls, 200);
        assert_eq!(by_name["a"].scheduling_latency.max(), 991);
        assert_eq!(by_name["b"].deadline_misses, 1);
        // A registered name with no events still appears, empty.
        assert_eq!(
            by_name["only-registered"],
            TaskStats::with_max(PRESIZED_MAX_NS)
        );

        // Merging is the same as having recorded everything in one recorder.
        let mut single = Recorder::new();
        for w in 0..2u64 {
            for i in 0..100u64 {
                single.record_poll(Some("a"), Some(i * 10 + w), i);
            }
        }
        let (mut t, mut m) = (TaskStats::default(), BTreeMap::new());
        single.merge_into(&mut t, &mut m);
        assert_eq!(m["a"], by_name["a"]);
    }

    #[test]
    fn recording_does_not_grow_presized_histograms() {
        let mut r = Recorder::new();
        r.register("n");
        let before = r.named[0].1.clone();
        r.record_poll(Some("n"), Some(PRESIZED_MAX_NS), PRESIZED_MAX_NS);
        // The counts array was already long enough: the histogram still has the same buckets.
        let after = &r.named[0].1;
        assert_eq!(
            before.poll_duration.bucket_count(),
            after.poll_duration.bucket_count()
        );
        assert_eq!(r.named.len(), 1);
        assert!(r.named.capacity() >= 1);
    }
}
