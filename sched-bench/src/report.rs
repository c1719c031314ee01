//! `Row`: one backend's result on one workload, and how rows are printed and serialised.
//!
//! One struct for the table and the JSON file, so both always show the same numbers. Fields a
//! backend cannot provide are `None` and print as `-` (tokio exposes no scheduler counters).
//! These rows hold throughput figures only: latency histograms (release to poll, response time,
//! lateness) are reported by the real-time comparison (`rt_compare/report.rs`).

use crate::exec::Counters;
use crate::json;
use crate::stats::Summary;
use crate::table::{num, Table};
use serde::Serialize;
use std::time::Duration;

/// One backend on one workload.
#[derive(Clone, Debug)]
pub struct Row {
    /// Backend label, e.g. `kairos-fifo`.
    pub backend: String,
    /// Workload name.
    pub workload: &'static str,
    /// Worker threads.
    pub workers: usize,
    /// Measured rounds (after one warm-up).
    pub rounds: usize,
    /// Wall time of one run, milliseconds, over the rounds.
    pub total_ms: Summary,
    /// Tasks one run completes.
    pub tasks: u64,
    /// Total busy time of one run divided by the workers: the best possible run time.
    pub ideal: Duration,
    /// Scheduler counters, averaged per round, where the backend has them.
    pub counters_per_round: Option<Counters>,
}

impl Row {
    /// Tasks completed per second at the median run time.
    pub fn throughput(&self) -> f64 {
        self.tasks as f64 / (self.total_ms.median / 1e3)
    }

    /// Ideal time / median time: 1.0 means the workers never idled or paid any overhead.
    pub fn efficiency(&self) -> f64 {
        self.ideal.as_secs_f64() * 1e3 / self.total_ms.median
    }
}

/// The comparison table.
pub fn table(rows: &[Row]) -> Table {
    let mut table = Table::new([
        "runtime/policy",
        "workload",
        "workers",
        "median ms",
        "min ms",
        "max ms",
        "tasks/s",
        "efficiency",
        "polls/rd",
        "steals/rd",
        "parks/rd",
    ])
    .text_columns(2);
    for r in rows {
        let counter = |f: fn(&Counters) -> u64| {
            r.counters_per_round
                .as_ref()
                .map_or_else(|| "-".to_owned(), |c| f(c).to_string())
        };
        table.row([
            r.backend.clone(),
            r.workload.to_owned(),
            r.workers.to_string(),
            num(r.total_ms.median),
            num(r.total_ms.min),
            num(r.total_ms.max),
            format!("{:.0}", r.throughput()),
            format!("{:.0}%", r.efficiency() * 100.0),
            counter(|c| c.polls),
            counter(|c| c.steals),
            counter(|c| c.parks),
        ]);
    }
    table
}

/// The note under [`compact_table`].
pub const COMPACT_NOTE: &str = "note: median over the rounds; --wide adds workload, min/max \
     ms; efficiency = ideal / median time (docs/sched-bench.md)";

/// The default table (at most 120 columns): the median run time, throughput, efficiency and
/// kairos' counters; [`table`] (`--wide`) adds the workload and the range.
pub fn compact_table(rows: &[Row]) -> Table {
    let mut table = Table::new([
        "backend",
        "workers",
        "median ms",
        "tasks/s",
        "efficiency",
        "polls/rd",
        "steals/rd",
        "parks/rd",
    ]);
    for r in rows {
        let counter = |f: fn(&Counters) -> u64| {
            r.counters_per_round
                .as_ref()
                .map_or_else(|| "-".to_owned(), |c| f(c).to_string())
        };
        table.row([
            r.backend.clone(),
            r.workers.to_string(),
            num(r.total_ms.median),
            format!("{:.0}", r.throughput()),
            format!("{:.0}%", r.efficiency() * 100.0),
            counter(|c| c.polls),
            counter(|c| c.steals),
            counter(|c| c.parks),
        ]);
    }
    table
}

/// One row as its JSON report object (`compare --json` on a batch workload): the fields of
/// [`Row`] plus the figures the table derives from them, serialised by derived `Serialize`.
#[derive(Debug, Serialize)]
pub struct RowJson<'a> {
    /// [`Row::backend`].
    pub backend: &'a str,
    /// [`Row::workload`].
    pub workload: &'a str,
    /// [`Row::workers`].
    pub workers: usize,
    /// [`Row::rounds`].
    pub rounds: usize,
    /// [`Row::total_ms`]: `{median, min, max}`.
    pub total_ms: Summary,
    /// [`Row::tasks`].
    pub tasks: u64,
    /// [`Row::throughput`] (`null` if not finite).
    pub throughput_tasks_per_s: f64,
    /// [`Row::ideal`], milliseconds.
    pub ideal_ms: f64,
    /// [`Row::efficiency`] (`null` if not finite).
    pub efficiency: f64,
    /// [`Row::counters_per_round`] without the preemptions; absent where the backend has no
    /// counters (tokio).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counters_per_round: Option<CountersJson>,
}

/// The scheduler counters a report writes (a batch row's per round, `micro`'s totals): polls,
/// steals and parks.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct CountersJson {
    /// [`Counters::polls`].
    pub polls: u64,
    /// [`Counters::steals`].
    pub steals: u64,
    /// [`Counters::parks`].
    pub parks: u64,
}

impl CountersJson {
    /// The reported counters of `c` (its preemptions are left out).
    pub fn of(c: Counters) -> CountersJson {
        CountersJson {
            polls: c.polls,
            steals: c.steals,
            parks: c.parks,
        }
    }
}

impl Row {
    /// This row's JSON report object.
    pub fn json(&self) -> RowJson<'_> {
        RowJson {
            backend: &self.backend,
            workload: self.workload,
            workers: self.workers,
            rounds: self.rounds,
            total_ms: self.total_ms,
            tasks: self.tasks,
            throughput_tasks_per_s: self.throughput(),
            ideal_ms: self.ideal.as_secs_f64() * 1e3,
            efficiency: self.efficiency(),
            counters_per_round: self.counters_per_round.map(CountersJson::of),
        }
    }
}

/// The rows as a JSON array of objects ([`RowJson`]).
pub fn to_json(rows: &[Row]) -> serde_json::Value {
    json::array(rows.iter().map(|r| json::to_value(r.json())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Backend;
    use crate::rt_compare::compact::MAX_WIDTH;
    use crate::workload::{self, Shape};

    /// The derived JSON object has the schema-2 keys, a non-finite figure becomes `null`, and
    /// tokio's row has no counters.
    #[test]
    fn json_rows_keep_schema_2_keys() {
        let row = Row {
            backend: "kairos-fifo".to_owned(),
            workload: "mixed-small",
            workers: 2,
            rounds: 3,
            total_ms: crate::stats::Summary {
                median: 0.0,
                min: 0.0,
                max: 1.0,
            },
            tasks: 10,
            ideal: Duration::from_millis(4),
            counters_per_round: Some(Counters {
                polls: 7,
                steals: 1,
                parks: 2,
                preemptions: 3,
            }),
        };
        let v = to_json(std::slice::from_ref(&row));
        let obj = v[0].as_object().unwrap();
        let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        let mut want = [
            "backend",
            "workload",
            "workers",
            "rounds",
            "total_ms",
            "tasks",
            "throughput_tasks_per_s",
            "ideal_ms",
            "efficiency",
            "counters_per_round",
        ];
        want.sort_unstable();
        let mut got = keys.clone();
        got.sort_unstable();
        assert_eq!(got, want);
        // 10 tasks in 0 ms: infinite throughput, which JSON cannot hold.
        assert!(obj["throughput_tasks_per_s"].is_null(), "{v}");
        assert_eq!(obj["ideal_ms"], 4.0);
        assert_eq!(obj["total_ms"]["max"], 1.0);
        assert_eq!(obj["counters_per_round"]["steals"], 1);
        assert!(obj["counters_per_round"].get("preemptions").is_none());
        let tokio = Row {
            backend: "tokio".to_owned(),
            counters_per_round: None,
            ..row
        };
        assert!(to_json(&[tokio])[0].get("counters_per_round").is_none());
    }

    /// The default table of every batch built-in on every backend that runs it, with wide
    /// synthetic numbers (ten-digit counters per round, no timing), fits [`MAX_WIDTH`]
    /// columns, and so does its note.
    #[test]
    fn compact_table_fits_120_columns() {
        let mut checked = 0;
        for w in workload::BUILTIN {
            if !matches!(w.shape, Shape::Sliced(_)) {
                continue;
            }
            let rows: Vec<Row> = [Backend::Executor, Backend::Tokio]
                .iter()
                .flat_map(|b| b.expand())
                .map(|b| Row {
                    backend: b.to_string(),
                    workload: w.name,
                    workers: 1024,
                    rounds: 1000,
                    total_ms: crate::stats::Summary {
                        median: 0.001,
                        min: 0.0005,
                        max: 123_456.7,
                    },
                    tasks: 123_456_789,
                    ideal: Duration::from_secs(1),
                    counters_per_round: (b != Backend::Tokio).then_some(Counters {
                        polls: 9_999_999_999,
                        steals: 9_999_999_999,
                        parks: 9_999_999_999,
                        preemptions: 9_999_999_999,
                    }),
                })
                .collect();
            let text = compact_table(&rows).to_string();
            for line in text.lines().chain(std::iter::once(COMPACT_NOTE)) {
                assert!(line.chars().count() <= MAX_WIDTH, "{}: {line}", w.name);
            }
            assert_eq!(text.lines().count(), 2 + rows.len(), "{text}");
            checked += 1;
        }
        assert!(checked >= 1);
    }
}
