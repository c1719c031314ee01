//! The periodic comparison's tables, notes, JSON rows and `.hgrm` files.

use super::{RtOpts, RtRow, TaskRow};
use crate::error::BenchError;
use crate::json::SummaryFields;
use crate::stats::Summary;
use crate::table::{num, Table};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use std::fs::File;
use std::path::{Path, PathBuf};

/// `median (min–max)`, or just the median when the rounds agree (or there was one).
fn cell(s: &Summary) -> String {
    if s.min == s.max {
        num(s.median)
    } else {
        format!("{} ({}–{})", num(s.median), num(s.min), num(s.max))
    }
}

/// A ratio as a percentage cell: `0.3% (0.0–1.2)`.
fn percent_cell(s: &Summary) -> String {
    let p = |x: f64| format!("{:.1}", x * 100.0);
    if s.min == s.max {
        format!("{}%", p(s.median))
    } else {
        format!("{}% ({}–{})", p(s.median), p(s.min), p(s.max))
    }
}

/// `median (min–max)` with `decimals` decimals.
fn fixed_cell(s: &Summary, decimals: usize) -> String {
    let f = |x: f64| format!("{x:.decimals$}");
    if s.min == s.max {
        f(s.median)
    } else {
        format!("{} ({}–{})", f(s.median), f(s.min), f(s.max))
    }
}

/// CPU ms per second: one decimal; `-` without a value (the simulator's rows).
fn cpu_cell(s: Option<&Summary>) -> String {
    s.map_or_else(|| "-".to_owned(), |s| fixed_cell(s, 1))
}

/// [`cell`], or `-` when there is no value.
fn opt_cell(s: Option<&Summary>) -> String {
    s.map_or_else(|| "-".to_owned(), cell)
}

/// A count per round: integers (medians of an even count may end in .5).
fn count_cell(s: &Summary) -> String {
    let n = |x: f64| {
        if x.fract() == 0.0 {
            format!("{x:.0}")
        } else {
            format!("{x:.1}")
        }
    };
    if s.min == s.max {
        n(s.median)
    } else {
        format!("{} ({}–{})", n(s.median), n(s.min), n(s.max))
    }
}

/// The median background throughput of the `kairos-fifo` (or `kairos-fifo+loop`) row and of
/// the `sim-fifo` row, where there are such rows.
#[derive(Clone, Copy, Debug)]
struct FifoBackground {
    /// The measured rows' reference.
    real: Option<f64>,
    /// The simulator's rows' reference (simulated rows are compared with simulated rows).
    sim: Option<f64>,
}

fn fifo_background(rows: &[RtRow]) -> FifoBackground {
    let of = |prefix: &str| {
        rows.iter()
            .find(|r| r.backend.starts_with(prefix))
            .and_then(|r| r.background_per_s)
            .map(|s| s.median)
    };
    FifoBackground {
        real: of("kairos-fifo"),
        sim: of("sim-fifo"),
    }
}

/// Median background throughput of `row` relative to kairos-fifo's (sim rows: sim-fifo's):
/// `+1.2%`.
fn vs_fifo(row: &RtRow, fifo: FifoBackground) -> Option<f64> {
    let fifo = if row.simulated { fifo.sim } else { fifo.real };
    let fifo = fifo.filter(|f| *f > 0.0)?;
    Some(row.background_per_s?.median / fifo - 1.0)
}

/// A kernel row's status when it is not plain `ok`.
fn unusual_status(row: &RtRow) -> Option<&str> {
    row.status.as_deref().filter(|s| *s != "ok")
}

/// The main table: one row per backend. A `status` column follows `backend` when some kernel
/// row's status is not `ok` (a refused policy); a row that never ran shows dashes.
pub fn table(rows: &[RtRow]) -> Table {
    let with_status = rows.iter().any(|r| unusual_status(r).is_some());
    let mut header = vec!["backend"];
    if with_status {
        header.push("status");
    }
    header.extend([
        "rounds",
        "jobs",
        "rel→poll µs mean",
        "p50",
        "p99",
        "p99.9",
        "max",
        "response µs p99",
        "miss ratio",
        "lateness µs max",
        "CPU ms/s",
        "preemptions",
        "bg slices/s",
        "bg vs fifo",
    ]);
    let mut t = Table::new(header).text_columns(if with_status { 2 } else { 1 });
    let fifo = fifo_background(rows);
    for r in rows {
        let mut cells = vec![r.backend.clone()];
        if with_status {
            cells.push(r.status.clone().unwrap_or_else(|| "ok".to_owned()));
        }
        if !r.measured {
            cells.extend((0..14).map(|_| "-".to_owned()));
            t.row(cells);
            continue;
        }
        cells.extend([
            r.rounds.to_string(),
            r.jobs.to_string(),
            cell(&r.start_mean),
            cell(&r.start_p50),
            cell(&r.start_p99),
            cell(&r.start_p999),
            cell(&r.start_max),
            cell(&r.response_p99),
            percent_cell(&r.miss_ratio),
            opt_cell(r.lateness_max.as_ref()),
            cpu_cell(r.cpu_ms_per_s.as_ref()),
            r.preemptions
                .as_ref()
                .map_or_else(|| "n/a".to_owned(), count_cell),
            r.background_per_s
                .as_ref()
                .map_or_else(|| "-".to_owned(), |s| fixed_cell(s, 0)),
            vs_fifo(r, fifo).map_or_else(|| "-".to_owned(), |d| format!("{:+.1}%", d * 100.0)),
        ]);
        t.row(cells);
    }
    t
}

/// The per-task table: one row per backend and periodic task.
pub fn task_table(rows: &[RtRow]) -> Table {
    let mut t = Table::new([
        "backend",
        "task",
        "C / T / D",
        "jobs",
        "missed",
        "miss ratio",
        "rel→poll µs p99",
        "response µs p99",
        "response µs max",
        "lateness µs max",
        "preemptions",
    ])
    .text_columns(3);
    for r in rows.iter().filter(|r| r.measured) {
        for task in &r.tasks {
            t.row([
                r.backend.clone(),
                task.name.to_owned(),
                task.params.clone(),
                task.jobs.to_string(),
                task.missed.to_string(),
                percent_cell(&task.miss_ratio),
                cell(&task.start_p99),
                cell(&task.response_p99),
                cell(&task.response_max),
                opt_cell(task.lateness_max.as_ref()),
                task.preemptions
                    .as_ref()
                    .map_or_else(|| "n/a".to_owned(), count_cell),
            ]);
        }
    }
    t
}

/// The lines printed under the tables.
pub fn notes(opts: &RtOpts, rows: &[RtRow]) -> Vec<String> {
    let mut notes = vec![format!(
        "note: {}: {} workers, {:.1} s per round, {} round(s) per backend run interleaved (round 1 \
         on every backend, then round 2, ...), a fresh runtime each; each cell is the median over \
         the rounds with the range (min–max); jobs = completed jobs of all periodic tasks over \
         all rounds",
        opts.workload.name,
        opts.workers,
        opts.duration.as_secs_f64(),
        opts.rounds
    )];
    notes.push(
        "note: rel→poll = release → the job's first clock read once its task runs; response = \
         release → completion; miss ratio = jobs completed after release + D / completed jobs; \
         lateness = job end − (release + D), negative = early, max over completed jobs; CPU \
         ms/s = the whole process's user + system CPU time (getrusage) per second of the round \
         (runtime build to shutdown), runtime overhead and background tasks included; \
         preemptions = kairos Metrics::preemptions per round (polls in which the runtime asked \
         the task to yield and it asked should_yield(); n/a for tokio); bg slices/s = 20 µs \
         background slices (20 ms polls on non-yielding-hogs) completed per second, all \
         background tasks together; bg vs fifo = \
         relative to kairos-fifo's median (definitions: docs/sched-bench.md)"
            .to_owned(),
    );
    notes.push(
        "note: kairos and tokio run the workload's file model with the workload-file runner \
         (async_backend); kairos runs the periodic tasks with spawn_periodic and their jobs \
         with kairos::work(C) (yields between 20 µs slices only when kairos asks; rows +loop: \
         the runner's generic loop instead); tokio runs a sleep_until loop and spins C in 20 µs \
         slices with yield_now between every two; background tasks spin 20 µs of CPU time \
         (20 ms of wall time on non-yielding-hogs) and yield after each on both"
            .to_owned(),
    );
    if rows.iter().any(|r| r.status.is_some()) {
        let cpus = rows
            .iter()
            .find(|r| r.status.is_some())
            .map_or(0, |r| r.workers);
        notes.push(format!(
            "note: kernel-*: one OS thread per periodic task on all {cpus} CPUs the process may \
             use (--workers does not apply; not pinned), jobs spun on the thread's CPU clock, \
             releases by absolute clock_nanosleep; periodic threads kernel-other SCHED_OTHER \
             nice 0, kernel-fifo SCHED_FIFO at 1 + kairos priority × 98 / 255 (rate monotonic), \
             kernel-deadline SCHED_DEADLINE runtime C + max(C/2, 50 µs), deadline D, period T; \
             background = SCHED_OTHER nice-0 threads spinning without yielding (bg slices/s = \
             their CPU time / 20 µs per second); preemptions = involuntary context switches of \
             the periodic threads; a job cut off by the end of a round is not counted"
        ));
    }
    if let Some(sim) = rows.iter().find(|r| r.simulated) {
        let seeds = if opts.rounds == 1 {
            format!("seed {}", opts.seed)
        } else {
            format!(
                "seeds {}..={} (round r: seed {} + r - 1)",
                opts.seed,
                opts.seed.wrapping_add(opts.rounds as u64 - 1),
                opts.seed
            )
        };
        notes.push(format!(
            "note: sim-*: kairos' deterministic simulator (kairos::sim, cost model) running the \
             same workload (same tasks, parameters, background tasks, spawn_periodic and \
             kairos::work code) on {} virtual workers for {:.1} s of virtual time per round; \
             kairos::work(C) costs exactly C of virtual time, polls, queues, timers and wake-ups \
             cost none (no per-poll overhead), so rel→poll is the queueing delay the policy \
             alone causes (waiting for the running 20 µs slice to end and for the policy to \
             pick the job); CPU ms/s: - (no process CPU time to measure); rounds are {seeds}; \
             the simulation is deterministic (the same seed gives the same row, so one round \
             is enough; a range is the spread across seeds, not noise) and does not depend on \
             the machine's load; bg vs fifo is relative to sim-fifo{}",
            sim.workers,
            opts.duration.as_secs_f64(),
            if opts.kairos_periodic == super::KairosPeriodic::TaskLoop {
                "; --kairos-periodic task-loop applies to the executor rows only (sim rows run \
                 spawn_periodic)"
            } else {
                ""
            }
        ));
    }
    if rows.iter().any(|r| r.backend == "tokio") {
        notes.push(
            "note: tokio: its timer wheel has 1 ms resolution and rounds every wake up to the \
             next tick of a grid that starts when the runtime is built; the first release is \
             10 ms (+ a few µs) after the build, so every release falls just after a tick and \
             waits almost 1 ms: rel→poll reflects that phase (releases 0.5 ms later in the grid \
             would wait about 0.5 ms)"
                .to_owned(),
        );
    }
    notes
}

/// One row as its JSON report object (`compare --json` on a periodic workload), flat: a
/// [`Summary`] is three fields `key`, `key_min`, `key_max` ([`SummaryFields`]). Serialised by
/// derived `Serialize`; a row that never ran has only the fields up to `simulated`.
#[derive(Debug, Serialize)]
pub struct RtRowJson<'a> {
    /// [`RtRow::backend`].
    pub backend: &'a str,
    /// [`RtRow::status`] (kernel rows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'a str>,
    /// [`RtRow::workload`].
    pub workload: &'static str,
    /// [`RtRow::workers`].
    pub workers: usize,
    /// [`RtRow::rounds`].
    pub rounds: usize,
    /// [`RtRow::duration`], seconds.
    pub duration_s: f64,
    /// [`RtRow::background_tasks`].
    pub background_tasks: usize,
    /// [`RtRow::simulated`], written only when true.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub simulated: bool,
    /// The figures, if [`RtRow::measured`].
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub figures: Option<RtFiguresJson<'a>>,
}

/// The figures of a measured row, flattened into its [`RtRowJson`]; an optional summary is
/// absent where the row has none.
#[derive(Debug, Serialize)]
pub struct RtFiguresJson<'a> {
    /// [`RtRow::released`].
    pub released: u64,
    /// [`RtRow::jobs`].
    pub jobs: u64,
    /// [`RtRow::missed`].
    pub missed: u64,
    /// [`RtRow::start_mean`].
    #[serde(flatten)]
    pub start_latency_mean_us: SummaryFields<'a>,
    /// [`RtRow::start_p50`].
    #[serde(flatten)]
    pub start_latency_p50_us: SummaryFields<'a>,
    /// [`RtRow::start_p99`].
    #[serde(flatten)]
    pub start_latency_p99_us: SummaryFields<'a>,
    /// [`RtRow::start_p999`].
    #[serde(flatten)]
    pub start_latency_p999_us: SummaryFields<'a>,
    /// [`RtRow::start_max`].
    #[serde(flatten)]
    pub start_latency_max_us: SummaryFields<'a>,
    /// [`RtRow::response_p99`].
    #[serde(flatten)]
    pub response_p99_us: SummaryFields<'a>,
    /// [`RtRow::miss_ratio`].
    #[serde(flatten)]
    pub miss_ratio: SummaryFields<'a>,
    /// [`RtRow::cpu_ms_per_s`].
    #[serde(flatten)]
    pub cpu_ms_per_s: Option<SummaryFields<'a>>,
    /// [`RtRow::lateness_max`].
    #[serde(flatten)]
    pub lateness_max_us: Option<SummaryFields<'a>>,
    /// [`RtRow::lateness_p99`].
    #[serde(flatten)]
    pub lateness_p99_us: Option<SummaryFields<'a>>,
    /// [`RtRow::preemptions`].
    #[serde(flatten)]
    pub preemptions: Option<SummaryFields<'a>>,
    /// [`RtRow::background_per_s`].
    #[serde(flatten)]
    pub background_slices_per_s: Option<SummaryFields<'a>>,
    /// [`RtRow::background_preemptions`].
    #[serde(flatten)]
    pub background_preemptions: Option<SummaryFields<'a>>,
    /// Median background throughput relative to kairos-fifo's (sim rows: sim-fifo's), where
    /// both have background tasks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub background_vs_fifo: Option<f64>,
    /// The periodic tasks' figures.
    #[serde(flatten)]
    pub tasks: TaskFields<'a>,
}

/// The periodic tasks of a row as flat fields named `task.NAME.FIELD`: `jobs`, `missed`, and
/// as [`SummaryFields`] `miss_ratio`, `start_latency_p99_us`, `response_p99_us`,
/// `response_max_us`, and `lateness_max_us` and `preemptions` where the task has them.
#[derive(Clone, Copy, Debug)]
pub struct TaskFields<'a>(pub &'a [TaskRow]);

impl Serialize for TaskFields<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for t in self.0 {
            let key = |field: &str| format!("task.{}.{field}", t.name);
            map.serialize_entry(&key("jobs"), &t.jobs)?;
            map.serialize_entry(&key("missed"), &t.missed)?;
            let summaries = [
                ("miss_ratio", Some(&t.miss_ratio)),
                ("start_latency_p99_us", Some(&t.start_p99)),
                ("response_p99_us", Some(&t.response_p99)),
                ("response_max_us", Some(&t.response_max)),
                ("lateness_max_us", t.lateness_max.as_ref()),
                ("preemptions", t.preemptions.as_ref()),
            ];
            for (field, summary) in summaries {
                if let Some(s) = summary {
                    SummaryFields::new(&key(field), s).write(&mut map)?;
                }
            }
        }
        map.end()
    }
}

impl RtRow {
    /// This row's JSON report object; `fifo` is the run's background reference
    /// (`background_vs_fifo`).
    fn json<'a>(&'a self, fifo: FifoBackground) -> RtRowJson<'a> {
        let opt = |key: &'static str, s: &'a Option<Summary>| {
            s.as_ref().map(|s| SummaryFields::new(key, s))
        };
        RtRowJson {
            backend: &self.backend,
            status: self.status.as_deref(),
            workload: self.workload,
            workers: self.workers,
            rounds: self.rounds,
            duration_s: self.duration.as_secs_f64(),
            background_tasks: self.background_tasks,
            simulated: self.simulated,
            figures: self.measured.then(|| RtFiguresJson {
                released: self.released,
                jobs: self.jobs,
                missed: self.missed,
                start_latency_mean_us: SummaryFields::new(
                    "start_latency_mean_us",
                    &self.start_mean,
                ),
                start_latency_p50_us: SummaryFields::new("start_latency_p50_us", &self.start_p50),
                start_latency_p99_us: SummaryFields::new("start_latency_p99_us", &self.start_p99),
                start_latency_p999_us: SummaryFields::new(
                    "start_latency_p999_us",
                    &self.start_p999,
                ),
                start_latency_max_us: SummaryFields::new("start_latency_max_us", &self.start_max),
                response_p99_us: SummaryFields::new("response_p99_us", &self.response_p99),
                miss_ratio: SummaryFields::new("miss_ratio", &self.miss_ratio),
                cpu_ms_per_s: opt("cpu_ms_per_s", &self.cpu_ms_per_s),
                lateness_max_us: opt("lateness_max_us", &self.lateness_max),
                lateness_p99_us: opt("lateness_p99_us", &self.lateness_p99),
                preemptions: opt("preemptions", &self.preemptions),
                background_slices_per_s: opt("background_slices_per_s", &self.background_per_s),
                background_preemptions: opt("background_preemptions", &self.background_preemptions),
                background_vs_fifo: vs_fifo(self, fifo),
                tasks: TaskFields(&self.tasks),
            }),
        }
    }
}

/// The rows as JSON report objects ([`RtRowJson`]).
pub fn to_json(rows: &[RtRow]) -> Vec<RtRowJson<'_>> {
    let fifo = fifo_background(rows);
    rows.iter().map(|r| r.json(fifo)).collect()
}

/// The `.hgrm` file of a row: `<workload>.<backend>.hgrm`.
pub fn hgrm_path(dir: &Path, row: &RtRow) -> PathBuf {
    dir.join(format!("{}.{}.hgrm", row.workload, row.backend))
}

/// Writes one `.hgrm` per measured row (release → start latency of every job of every round, µs) and
/// returns the paths.
///
/// # Errors
/// [`BenchError::Io`] naming the file.
pub fn write_hgrm(dir: &Path, rows: &[RtRow]) -> Result<Vec<PathBuf>, BenchError> {
    rows.iter()
        .filter(|r| r.measured)
        .map(|r| {
            let path = hgrm_path(dir, r);
            File::create(&path)
                .and_then(|f| r.start_latency.write_hgrm(f, 1000.0))
                .map_err(|source| BenchError::Io {
                    path: path.clone(),
                    source,
                })?;
            Ok(path)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;
    use crate::rt_compare::testing::row;

    /// Summaries are flat `key`, `key_min`, `key_max` fields, tasks `task.NAME.FIELD`, a missing
    /// summary leaves no keys and a row that never ran only its identity.
    #[test]
    fn json_rows_are_flat() {
        let measured = row("kairos-fifo", "mixed-latency", &["ctrl"]);
        let mut refused = row("kernel-deadline", "mixed-latency", &[]);
        refused.measured = false;
        refused.status = Some("refused".to_owned());
        let mut sim = row("sim-edf", "mixed-latency", &[]);
        sim.cpu_ms_per_s = None;
        let rows = [measured, refused, sim];
        let v = json::written_and_read("compare", to_json(&rows));
        let [k, r, s] = [&v["rows"][0], &v["rows"][1], &v["rows"][2]];
        assert_eq!(k["backend"], "kairos-fifo");
        assert_eq!(
            (k["jobs"].as_u64(), k["duration_s"].as_f64()),
            (Some(1_234_567), Some(3.0))
        );
        assert_eq!(k["start_latency_p99_us"], 98_765.4);
        assert_eq!(k["start_latency_p99_us_min"], 98_765.4 / 2.0);
        assert_eq!(k["cpu_ms_per_s_max"], 1999.9 * 2.0);
        assert_eq!(k["background_vs_fifo"], 0.0);
        assert_eq!(k["task.ctrl.jobs"], 123_456);
        assert_eq!(k["task.ctrl.preemptions_max"], 24_690.0);
        assert!(k.get("status").is_none() && k.get("simulated").is_none());
        assert_eq!(r["status"], "refused");
        assert_eq!(r.as_object().unwrap().len(), 7);
        assert_eq!(s["simulated"], true);
        assert!(s.get("cpu_ms_per_s").is_none() && s.get("cpu_ms_per_s_min").is_none());
        assert!(s.get("background_vs_fifo").is_none());
    }
}
