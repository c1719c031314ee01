//! The periodic comparison's tables, notes, JSON rows and `.hgrm` files.

use super::{RtOpts, RtRow};
use crate::error::BenchError;
use crate::json::{self, Obj};
use crate::stats::Summary;
use crate::table::{num, Table};
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
         background slices completed per second, all background tasks together; bg vs fifo = \
         relative to kairos-fifo's median (definitions: docs/sched-bench.md)"
            .to_owned(),
    );
    notes.push(
        "note: kairos runs the periodic tasks with spawn_periodic and their jobs with \
         kairos::work(C) (yields between 20 µs slices only when kairos asks); tokio runs a \
         sleep_until loop and spins C in 20 µs slices with yield_now between every two; \
         background tasks yield after every 20 µs slice on both"
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

/// Adds `key` (median), `key_min`, `key_max`.
fn summary_fields(o: Obj, key: &str, s: &Summary) -> Obj {
    o.num(key, s.median)
        .num(&format!("{key}_min"), s.min)
        .num(&format!("{key}_max"), s.max)
}

/// The rows as a JSON array of flat objects.
pub fn to_json(rows: &[RtRow]) -> serde_json::Value {
    let fifo = fifo_background(rows);
    json::array(rows.iter().map(|r| {
        let mut o = Obj::new().str("backend", &r.backend);
        if let Some(s) = &r.status {
            o = o.str("status", s);
        }
        o = o
            .str("workload", r.workload)
            .int("workers", r.workers as u64)
            .int("rounds", r.rounds as u64)
            .num("duration_s", r.duration.as_secs_f64())
            .int("background_tasks", r.background_tasks as u64);
        if r.simulated {
            o = o.val("simulated", true);
        }
        if !r.measured {
            return o.finish();
        }
        o = o
            .int("released", r.released)
            .int("jobs", r.jobs)
            .int("missed", r.missed);
        for (key, s) in [
            ("start_latency_mean_us", &r.start_mean),
            ("start_latency_p50_us", &r.start_p50),
            ("start_latency_p99_us", &r.start_p99),
            ("start_latency_p999_us", &r.start_p999),
            ("start_latency_max_us", &r.start_max),
            ("response_p99_us", &r.response_p99),
            ("miss_ratio", &r.miss_ratio),
        ] {
            o = summary_fields(o, key, s);
        }
        if let Some(c) = &r.cpu_ms_per_s {
            o = summary_fields(o, "cpu_ms_per_s", c);
        }
        if let Some(l) = &r.lateness_max {
            o = summary_fields(o, "lateness_max_us", l);
        }
        if let Some(l) = &r.lateness_p99 {
            o = summary_fields(o, "lateness_p99_us", l);
        }
        if let Some(p) = &r.preemptions {
            o = summary_fields(o, "preemptions", p);
        }
        if let Some(b) = &r.background_per_s {
            o = summary_fields(o, "background_slices_per_s", b);
        }
        if let Some(p) = &r.background_preemptions {
            o = summary_fields(o, "background_preemptions", p);
        }
        if let Some(d) = vs_fifo(r, fifo) {
            o = o.num("background_vs_fifo", d);
        }
        for t in &r.tasks {
            let k = |field: &str| format!("task.{}.{field}", t.name);
            o = o.int(&k("jobs"), t.jobs).int(&k("missed"), t.missed);
            for (field, s) in [
                ("miss_ratio", &t.miss_ratio),
                ("start_latency_p99_us", &t.start_p99),
                ("response_p99_us", &t.response_p99),
                ("response_max_us", &t.response_max),
            ] {
                o = summary_fields(o, &k(field), s);
            }
            if let Some(l) = &t.lateness_max {
                o = summary_fields(o, &k("lateness_max_us"), l);
            }
            if let Some(p) = &t.preemptions {
                o = summary_fields(o, &k("preemptions"), p);
            }
        }
        o.finish()
    }))
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
