//! `compare` on the periodic built-in workloads (`latency-under-load`, `mixed-latency`,
//! `mixed-latency-hogs`, `non-yielding-hogs`): kairos under each policy, tokio and
//! (`--backends kernel`) Linux threads under SCHED_OTHER, SCHED_FIFO and SCHED_DEADLINE
//! ([`kernel`](mod@kernel)), release latency and deadline misses under load, one table.
//!
//! # What runs
//!
//! A [`PeriodicSet`]: periodic tasks with deadlines and CPU-bound background tasks, for a fixed
//! time, on a runtime with the set's worker count (`--workers` overrides). One runner per
//! backend: the set becomes a workload-file model ([`PeriodicSet::model`]) run by the runner
//! that runs workload files on that backend, and the result becomes a [`Round`]. The kernel rows
//! run it with [`crate::kernel::run`] ([`kernel`](mod@kernel)); kairos and tokio with
//! [`crate::async_backend::run`] ([`async_rows`](mod@async_rows), whose module docs have the
//! table of how each runtime runs it): on kairos the periodic tasks are kairos' own
//! (`Runtime::spawn_periodic`) with every policy's parameter set on them (deadline, priority,
//! nice; each policy reads its own), on tokio a release loop on `tokio::time::sleep_until`.
//! Only the simulator's rows ([`sim`](mod@sim)) drive kairos directly: the simulator is its own
//! backend.
//!
//! # Rounds
//!
//! `--rounds` rounds (default 3), **interleaved**: round 1 on every backend in table order, then
//! round 2, and so on, each on a freshly built runtime. A burst of load from another process then
//! hits one round of several backends rather than every round of one. Each metric is computed
//! per round and the table shows its median over the rounds with the range (min–max) beside it.
//!
//! # Metrics (per round, over every job of every periodic task unless said otherwise)
//!
//! - **rel→poll p50 / p99 / p99.9 / max**: percentiles of release → start latency (the job's
//!   release instant on the grid to its task's first clock read after the timer let it run),
//!   µs. kairos: from the job's `Job::release()` to the job body's first clock read; tokio:
//!   measured the same way in the loop.
//! - **response p99**: 99th percentile of release → completion, µs.
//! - **miss ratio**: jobs completed after their absolute deadline (release + `D`) / completed
//!   jobs. Releases that came after the run was stopped are not jobs; on kairos (and the
//!   simulator) the job running at the stop completes and counts, on tokio and the kernel rows
//!   it is cut off by the end of the run and is not a job.
//! - **lateness max** (and, JSON only, **lateness p99**): per completed job `end − (release +
//!   D)` from the job records ([`JobRecord`]), negative = early; the same definition as the
//!   file workloads' `JobStats::lateness`. Max over the jobs, µs; the p99 is over the lateness
//!   clamped at 0 (HdrHistogram). The per-task table shows each task's max.
//! - **CPU ms/s**: user + system CPU time of the whole process (`getrusage(RUSAGE_SELF)`, as
//!   the file workloads' `process CPU`) from just before the round's runtime (or threads) is
//!   built until it is shut down, per second of that span's wall time. It includes the
//!   runtime's own overhead (idle spinning, timers), the background tasks and the bench's
//!   bookkeeping, not just the periodic jobs. `-` on the simulator's rows (a simulated round
//!   has no CPU time of its own to measure).
//!
//! # The simulator's rows
//!
//! `--backends sim` (or `sim-<policy>`) adds one row per kairos policy run under
//! `kairos::sim` on virtual time, same workload, same columns ([`sim`](mod@sim)); their rounds
//! are seeds (`--seed`, then the next ones), and the machine's load does not affect them.
//! - **preemptions**: kairos' `Metrics::preemptions` of the round's runtime: polls in which a
//!   task asked `should_yield()` (directly, or inside `kairos::work` between slices, or in a
//!   kairos timer/join future) and the runtime said yes (a more urgent task was waiting, the
//!   `Fair` slice was used up, or the coop budget was spent), at most one per poll. `n/a` for
//!   tokio.
//! - **bg slices/s**: background slices (20 µs; 20 ms polls on `non-yielding-hogs`, see
//!   [`Hogs`](crate::workload::Hogs)) completed within the run window, all background
//!   tasks together, per second; **bg vs fifo**: its median relative to the `kairos-fifo` row's.
//!
//! Percentiles are HdrHistogram's (`kairos::stats::Histogram::value_at_percentile`: the highest
//! value of the bucket holding that rank, 3 significant digits).
//!
//! # Files
//!
//! `--json FILE`: one flat object per backend (median plus `_min`/`_max` per metric, and
//! `task.<name>.*` keys per task). `--hgrm DIR`: one `DIR/<workload>.<backend>.hgrm` per row,
//! the release→start latency of every job of every round (all periodic tasks), in µs, for
//! HdrHistogram's plotter. `--plot FILE.svg`: those histograms' percentile curves, one line
//! per row, in one SVG (see [`crate::plot`]).
//!
//! # Progress
//!
//! One line per (round, backend) on stderr, or a progress bar there instead when stdout and
//! stderr are terminals and the run is expected to last at least a few seconds (see
//! [`crate::progress`]).

pub mod async_rows;
pub mod compact;
mod goals;
pub mod kernel;
pub mod logs;
mod report;
pub mod sim;
pub mod summary;
#[cfg(test)]
pub mod testing;

use crate::async_backend;
use crate::backend::Backend;
use crate::error::BenchError;
use crate::json;
pub use crate::kernel::metrics::JobRecord;
use crate::machine::{self, CpuSample};
use crate::progress::Progress;
use crate::stats::Summary;
use crate::workload::{Builtin, PeriodicSet, RtTask};
use kairos::stats::Histogram;
use std::path::PathBuf;
use std::time::Duration;

pub use async_rows::KairosPeriodic;
use kernel::{KernelPolicy, KERNEL_POLICIES};
pub use report::{notes, table, task_table, to_json, write_hgrm};

/// Rounds when `--rounds` is not given.
pub const DEFAULT_ROUNDS: usize = 3;

/// Options of one periodic comparison, overrides applied.
#[derive(Debug)]
pub struct RtOpts {
    /// The workload (name and summary).
    pub workload: &'static Builtin,
    /// Its task set.
    pub set: PeriodicSet,
    /// Rounds per backend.
    pub rounds: usize,
    /// Workers of each runtime.
    pub workers: usize,
    /// Length of one round.
    pub duration: Duration,
    /// Backends in table order (`executor` expanded here).
    pub backends: Vec<Backend>,
    /// Where to write the JSON report.
    pub json: Option<PathBuf>,
    /// Where to write the `.hgrm` files.
    pub hgrm: Option<PathBuf>,
    /// Where to write one Chrome-format runtime trace per kairos round (`--trace`).
    pub trace: Option<PathBuf>,
    /// Where to write the SVG plot of the latency percentiles.
    pub plot: Option<PathBuf>,
    /// How the periodic tasks run on kairos.
    pub kairos_periodic: KairosPeriodic,
    /// Print a cyclictest-style line per row and periodic task (`--cyclic`).
    pub cyclic: bool,
    /// Where to write rt-app-style per-task logs (`--rtapp-log`).
    pub rtapp_log: Option<PathBuf>,
    /// The simulator's rows: round `r` (1-based) runs seed `seed + r - 1`.
    pub seed: u64,
    /// Print the full tables and notes instead of the compact default (`--wide`).
    pub wide: bool,
    /// Pinning and OS priority of the kairos workers (`--pin`, `--worker-priority`).
    pub rt: crate::rt_settings::RtSettings,
}

/// What one periodic task did in one round.
#[derive(Clone, Debug)]
pub struct TaskRound {
    /// Jobs started.
    pub released: u64,
    /// Jobs completed.
    pub completed: u64,
    /// Completed jobs that finished after their deadline.
    pub missed: u64,
    /// Release → start, ns.
    pub start_latency: Histogram,
    /// Release → completion, ns.
    pub response: Histogram,
    /// Cooperative preemptions of the task (kairos, per-name metrics; tokio: `None`).
    pub preemptions: Option<u64>,
    /// Every started job's release, start and end (`CLOCK_MONOTONIC` ns), in release order
    /// (see [`logs`](mod@logs)).
    pub jobs: Vec<JobRecord>,
}

/// One round on one backend.
#[derive(Clone, Debug)]
pub struct Round {
    /// One per periodic task, in the set's order.
    pub tasks: Vec<TaskRound>,
    /// The runtime's cooperative preemptions (kairos; tokio: `None`).
    pub preemptions: Option<u64>,
    /// Those of the background tasks (kairos; tokio: `None`).
    pub background_preemptions: Option<u64>,
    /// Background slices completed within the window.
    pub background_slices: u64,
    /// The window: `t0 .. t0 + duration`.
    pub window: Duration,
    /// Kernel rows: `ok` or why (some) threads did not run; `None` on kairos and tokio.
    pub status: Option<String>,
    /// Whether any periodic task ran (false: the kernel refused the row's policy).
    pub ran: bool,
    /// CPU time (user + system) of the whole process over the round, from just before the
    /// runtime or threads are built until they are shut down, ns (set by [`run()`]).
    pub cpu_ns: u64,
    /// Wall time of that same span.
    pub cpu_wall: Duration,
    /// Whether the round ran under the simulator (virtual time; no CPU figures).
    pub simulated: bool,
}

/// One backend's result: per-round metrics summarised over the rounds.
#[derive(Clone, Debug)]
pub struct RtRow {
    /// `kairos-edf`, `tokio`, `kernel-fifo`, ...
    pub backend: String,
    /// Kernel rows: `ok`, or the distinct refusals of its rounds; `None` on kairos and tokio.
    pub status: Option<String>,
    /// Whether any round ran (false: every round was refused; the metrics are empty).
    pub measured: bool,
    /// Workload name.
    pub workload: &'static str,
    /// Workers (kernel rows: the CPUs the process may use).
    pub workers: usize,
    /// Rounds (kernel rows: rounds that ran, unless none did).
    pub rounds: usize,
    /// Length of one round.
    pub duration: Duration,
    /// Background tasks.
    pub background_tasks: usize,
    /// Jobs completed over all rounds (all periodic tasks).
    pub jobs: u64,
    /// Jobs started over all rounds.
    pub released: u64,
    /// Jobs that missed over all rounds.
    pub missed: u64,
    /// Mean release → start per round, µs (HdrHistogram's mean of the round's jobs).
    pub start_mean: Summary,
    /// Release → start percentiles per round, µs.
    pub start_p50: Summary,
    /// 99th percentile.
    pub start_p99: Summary,
    /// 99.9th percentile.
    pub start_p999: Summary,
    /// Maximum.
    pub start_max: Summary,
    /// Response time p99 per round, µs.
    pub response_p99: Summary,
    /// Missed / completed per round (fraction).
    pub miss_ratio: Summary,
    /// Maximum lateness (job end − (release + D)) of the completed jobs per round, µs;
    /// `None` when some round completed no job.
    pub lateness_max: Option<Summary>,
    /// 99th percentile of the lateness clamped at 0 per round, µs (`None` as above).
    pub lateness_p99: Option<Summary>,
    /// Process CPU time per second of the round, ms/s (`None` for the simulator's rows).
    pub cpu_ms_per_s: Option<Summary>,
    /// Whether the row ran under the simulator (`sim-*`).
    pub simulated: bool,
    /// Cooperative preemptions per round (kairos).
    pub preemptions: Option<Summary>,
    /// Background slices per second per round (when the set has background tasks).
    pub background_per_s: Option<Summary>,
    /// Cooperative preemptions of the background tasks per round (kairos, with background).
    pub background_preemptions: Option<Summary>,
    /// Release → start of every job of every round, ns (the `.hgrm` file).
    pub start_latency: Histogram,
    /// Per periodic task.
    pub tasks: Vec<TaskRow>,
}

/// One periodic task's result on one backend.
#[derive(Clone, Debug)]
pub struct TaskRow {
    /// Task name.
    pub name: &'static str,
    /// `C / T / D` as text.
    pub params: String,
    /// Jobs completed over all rounds.
    pub jobs: u64,
    /// Jobs missed over all rounds.
    pub missed: u64,
    /// Missed / completed per round.
    pub miss_ratio: Summary,
    /// Release → start p99 per round, µs.
    pub start_p99: Summary,
    /// Response p99 per round, µs.
    pub response_p99: Summary,
    /// Response max per round, µs.
    pub response_max: Summary,
    /// Maximum lateness of the completed jobs per round, µs (`None` when some round completed
    /// no job).
    pub lateness_max: Option<Summary>,
    /// Cooperative preemptions per round (kairos).
    pub preemptions: Option<Summary>,
    /// Index of the task in the set.
    pub index: usize,
    /// Priority the row ran it at: kairos priority on `kairos-priority`, SCHED_FIFO priority on
    /// `kernel-fifo`, else 0.
    pub priority: u32,
    /// Period `T`.
    pub period: Duration,
    /// Work per job `C`.
    pub work: Duration,
    /// Its jobs, one list per round.
    pub job_log: Vec<Vec<JobRecord>>,
}

/// Runs the comparison, prints the tables and notes, writes the files asked for, and returns
/// the rows.
///
/// # Errors
/// A runtime that cannot be built or shut down, a failed task, a failed file write.
pub fn compare(opts: &RtOpts) -> Result<Vec<RtRow>, BenchError> {
    let json_out = opts.json.as_deref().map(json::Output::create).transpose()?;
    let plot_out = opts.plot.as_deref().map(json::Output::create).transpose()?;
    if let Some(dir) = &opts.hgrm {
        std::fs::create_dir_all(dir).map_err(|source| BenchError::Io {
            path: dir.clone(),
            source,
        })?;
    }
    let start = CpuSample::now();
    let rows = run(opts)?;
    if opts.wide {
        println!("{}", table(&rows));
        if opts.set.tasks.len() > 1 {
            println!("{}", task_table(&rows));
        }
        for line in report::notes(opts, &rows) {
            println!("{line}");
        }
    } else {
        for r in &rows {
            println!("{}", compact::verdict(r));
        }
        println!();
        println!("{}", compact::table(&rows));
        for line in compact::notes(opts, &rows) {
            println!("{line}");
        }
    }
    if !opts.rt.is_default() {
        println!("note: kairos workers: {}", opts.rt.describe());
    }
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let realtime = opts.rt.fifo_priority.is_some();
    for line in goals::lines(opts.workload.name, &rows, opts.workers, cpus, realtime) {
        println!("{line}");
    }
    if opts.cyclic {
        println!("{}", logs::cyclic(&logs::rt_rows(&rows)));
    }
    // How busy the machine was matters to the measured rows only.
    if rows.iter().any(|r| !r.simulated) {
        if let Some(note) = machine::busy_note(start) {
            println!("{note}\n");
        }
    }
    if let Some(dir) = &opts.rtapp_log {
        for path in logs::write_rtapp(dir, &logs::rt_rows(&rows))? {
            eprintln!("wrote {}", path.display());
        }
    }
    if let Some(dir) = &opts.hgrm {
        for path in write_hgrm(dir, &rows)? {
            eprintln!("wrote {}", path.display());
        }
    }
    if let (Some(out), Some(path)) = (plot_out, &opts.plot) {
        out.write(&plot(path, opts.workload.name, &rows)?)?;
    }
    if let Some(out) = json_out {
        out.write_json("compare", json::to_value(to_json(&rows)))?;
    }
    Ok(rows)
}

/// Runs every round on every backend (interleaved) and summarises, printing only progress.
///
/// # Errors
/// As [`compare`], without the file writes.
pub fn run(opts: &RtOpts) -> Result<Vec<RtRow>, BenchError> {
    let backends: Vec<RowBackend> = opts
        .backends
        .iter()
        .flat_map(|b| b.expand())
        .flat_map(|b| match b {
            Backend::Kernel => KERNEL_POLICIES
                .iter()
                .map(|&p| RowBackend::Kernel(p))
                .collect(),
            Backend::Sim(p) => vec![RowBackend::Sim(p)],
            b => vec![RowBackend::Async(b)],
        })
        .collect();
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let mut rounds: Vec<Vec<Round>> = vec![Vec::with_capacity(opts.rounds); backends.len()];
    let steps = opts.rounds * backends.len();
    let progress = Progress::new(
        opts.workload.name,
        steps as u64,
        opts.duration * u32::try_from(steps).unwrap_or(u32::MAX),
    );
    for r in 0..opts.rounds {
        for (i, backend) in backends.iter().enumerate() {
            progress.start(
                || format!("round {}/{} on {backend}", r + 1, opts.rounds),
                || {
                    let threads = match backend {
                        RowBackend::Kernel(_) => format!("threads on {cpus} CPUs"),
                        RowBackend::Async(_) => format!("{} workers", opts.workers),
                        RowBackend::Sim(_) => format!(
                            "{} virtual workers, seed {}",
                            opts.workers,
                            opts.seed.wrapping_add(r as u64)
                        ),
                    };
                    let virt = if matches!(backend, RowBackend::Sim(_)) {
                        " of virtual time"
                    } else {
                        ""
                    };
                    format!(
                        "{}: round {}/{} on {backend}, {threads}, {:.1} s{virt}",
                        opts.workload.name,
                        r + 1,
                        opts.rounds,
                        opts.duration.as_secs_f64()
                    )
                },
            );
            let cpu0 = async_backend::process_cpu_ns();
            let wall0 = std::time::Instant::now();
            let mut round = match *backend {
                RowBackend::Kernel(policy) => {
                    kernel::round(opts.workload.name, &opts.set, policy, opts.duration)?
                }
                RowBackend::Async(Backend::Kairos(policy, mode)) => async_rows::kairos(
                    policy,
                    mode,
                    opts.kairos_periodic,
                    opts.workload.name,
                    &opts.set,
                    async_rows::Workers {
                        count: opts.workers,
                        rt: opts.rt,
                    },
                    opts.duration,
                    opts.trace.as_deref().map(|dir| {
                        dir.join(format!(
                            "{}.{}.round{}.json",
                            opts.workload.name,
                            crate::exec::kairos_backend_label(policy, mode),
                            r + 1
                        ))
                    }),
                )?,
                RowBackend::Async(Backend::Tokio) => {
                    async_rows::tokio(opts.workload.name, &opts.set, opts.workers, opts.duration)?
                }
                RowBackend::Sim(policy) => sim::round(
                    policy,
                    &opts.set,
                    opts.workers,
                    opts.duration,
                    opts.seed.wrapping_add(r as u64),
                )?,
                RowBackend::Async(
                    Backend::Kernel | Backend::Executor | Backend::Sim(_) | Backend::SimAll,
                ) => {
                    unreachable!("expanded above")
                }
            };
            round.cpu_ns = async_backend::process_cpu_ns().saturating_sub(cpu0);
            round.cpu_wall = wall0.elapsed();
            rounds[i].push(round);
            progress.done();
        }
    }
    progress.finish();
    let rows = backends
        .iter()
        .zip(&rounds)
        .map(|(b, r)| match b {
            RowBackend::Async(Backend::Kairos(..))
                if opts.kairos_periodic == KairosPeriodic::TaskLoop =>
            {
                summarise(format!("{b}+loop"), opts, opts.workers, r)
            }
            RowBackend::Async(_) | RowBackend::Sim(_) => {
                summarise(b.to_string(), opts, opts.workers, r)
            }
            RowBackend::Kernel(_) => {
                // Summarise the rounds that ran; if none did, the (empty) rounds give a row
                // whose metrics are not shown.
                let ran: Vec<Round> = r.iter().filter(|r| r.ran).cloned().collect();
                let mut row = summarise(
                    b.to_string(),
                    opts,
                    cpus,
                    if ran.is_empty() { r } else { &ran },
                )?;
                row.measured = !ran.is_empty();
                let mut statuses: Vec<&str> = Vec::new();
                for s in r.iter().filter_map(|r| r.status.as_deref()) {
                    if s != "ok" && !statuses.contains(&s) {
                        statuses.push(s);
                    }
                }
                row.status = Some(if statuses.is_empty() {
                    "ok".to_owned()
                } else {
                    statuses.join("; ")
                });
                Ok(row)
            }
        })
        .collect::<Result<Vec<RtRow>, BenchError>>()?;
    Ok(rows
        .into_iter()
        .zip(&backends)
        .map(|(mut row, b)| {
            for (t, task) in row.tasks.iter_mut().zip(opts.set.tasks) {
                t.priority = match b {
                    RowBackend::Async(Backend::Kairos(kairos::Policy::Priority, _))
                    | RowBackend::Sim(kairos::Policy::Priority) => u32::from(task.priority),
                    RowBackend::Kernel(KernelPolicy::Fifo) => {
                        crate::workload::rt_priority(task.priority)
                    }
                    _ => 0,
                };
            }
            row
        })
        .collect())
}

/// What one table row runs on: an async runtime, or kernel threads under one Linux class.
#[derive(Clone, Copy, Debug)]
enum RowBackend {
    /// kairos under one policy, or tokio.
    Async(Backend),
    /// Kernel threads ([`kernel`]).
    Kernel(KernelPolicy),
    /// kairos under one policy in the simulator ([`sim`](mod@sim)).
    Sim(kairos::Policy),
}

impl std::fmt::Display for RowBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RowBackend::Async(b) => b.fmt(f),
            RowBackend::Kernel(p) => p.fmt(f),
            RowBackend::Sim(p) => f.write_str(&crate::backend::sim_label(*p)),
        }
    }
}

/// The SVG of every row's release → start latency percentiles (`--plot`).
///
/// # Errors
/// [`BenchError::Io`] naming `path`, with plotters' message, if drawing fails.
pub fn plot(path: &std::path::Path, workload: &str, rows: &[RtRow]) -> Result<String, BenchError> {
    let curves: Vec<(&str, &Histogram)> = rows
        .iter()
        .filter(|r| r.measured)
        .map(|r| (r.backend.as_str(), &r.start_latency))
        .collect();
    crate::plot::latency_svg(
        &format!("{workload}: release → poll latency by percentile"),
        &curves,
    )
    .map_err(|message| BenchError::Io {
        path: path.to_owned(),
        source: std::io::Error::other(message),
    })
}

/// `ns` in µs.
fn us(ns: u64) -> f64 {
    ns as f64 / 1e3
}

/// Missed / completed (0 without jobs).
fn ratio(missed: u64, completed: u64) -> f64 {
    if completed == 0 {
        0.0
    } else {
        missed as f64 / completed as f64
    }
}

/// Lateness (end − (release + `deadline`)) of every completed job in `jobs`, ns.
fn lateness_ns(jobs: &[JobRecord], deadline: Duration) -> impl Iterator<Item = i64> + '_ {
    let d = i128::try_from(deadline.as_nanos()).unwrap_or(i128::MAX);
    jobs.iter().filter(|j| j.end > 0).map(move |j| {
        let l = i128::from(j.end) - i128::from(j.release) - d;
        i64::try_from(l).unwrap_or(if l < 0 { i64::MIN } else { i64::MAX })
    })
}

/// Maximum lateness of the completed jobs of `tasks` (each with its task's `D`), µs; `None`
/// without completed jobs.
fn max_lateness<'a>(tasks: impl Iterator<Item = (&'a TaskRound, &'a RtTask)>) -> Option<f64> {
    tasks
        .flat_map(|(t, task)| lateness_ns(&t.jobs, task.deadline()))
        .max()
        .map(|ns| ns as f64 / 1e3)
}

/// 99th percentile of one round's lateness clamped at 0 (HdrHistogram), µs; `None` without
/// completed jobs.
fn p99_lateness(r: &Round, set: &PeriodicSet) -> Option<f64> {
    let mut h = Histogram::new();
    for (t, task) in r.tasks.iter().zip(set.tasks) {
        for l in lateness_ns(&t.jobs, task.deadline()) {
            h.record(u64::try_from(l.max(0)).unwrap_or(0));
        }
    }
    (!h.is_empty()).then(|| us(h.p99()))
}

/// The summary of `f` over the rounds, or `None` if some round has no value.
fn summary_if_all(
    rounds: &[Round],
    f: impl Fn(&Round) -> Option<f64>,
) -> Result<Option<Summary>, BenchError> {
    rounds
        .iter()
        .map(f)
        .collect::<Option<Vec<f64>>>()
        .map(|v| summary(&v))
        .transpose()
}

fn summary(samples: &[f64]) -> Result<Summary, BenchError> {
    Summary::of(samples).ok_or_else(|| BenchError::Usage("--rounds must be at least 1".to_owned()))
}

fn summarise(
    backend: String,
    opts: &RtOpts,
    workers: usize,
    rounds: &[Round],
) -> Result<RtRow, BenchError> {
    let per_round = |f: &dyn Fn(&Round) -> f64| -> Result<Summary, BenchError> {
        summary(&rounds.iter().map(f).collect::<Vec<_>>())
    };
    let merged = |r: &Round, h: fn(&TaskRound) -> &Histogram| {
        let mut all = Histogram::new();
        for t in &r.tasks {
            all.merge(h(t));
        }
        all
    };
    let start = |r: &Round| merged(r, |t| &t.start_latency);
    let sum = |r: &Round, f: fn(&TaskRound) -> u64| r.tasks.iter().map(f).sum::<u64>();
    let mut start_latency = Histogram::new();
    for r in rounds {
        start_latency.merge(&start(r));
    }
    let preemptions = if rounds.iter().all(|r| r.preemptions.is_some()) {
        Some(per_round(&|r| r.preemptions.unwrap_or(0) as f64)?)
    } else {
        None
    };
    let background_preemptions =
        if opts.set.background > 0 && rounds.iter().all(|r| r.background_preemptions.is_some()) {
            Some(per_round(&|r| {
                r.background_preemptions.unwrap_or(0) as f64
            })?)
        } else {
            None
        };
    let background_per_s = if opts.set.background > 0 {
        Some(per_round(&|r| {
            r.background_slices as f64 / r.window.as_secs_f64().max(1e-9)
        })?)
    } else {
        None
    };
    let tasks = opts
        .set
        .tasks
        .iter()
        .enumerate()
        .map(|(i, task)| {
            fn nth(r: &Round, i: usize) -> &TaskRound {
                &r.tasks[i]
            }
            let of = |r| nth(r, i);
            let per_task = |f: &dyn Fn(&TaskRound) -> f64| {
                summary(&rounds.iter().map(|r| f(of(r))).collect::<Vec<_>>())
            };
            Ok(TaskRow {
                name: task.name,
                params: format!(
                    "{} / {} / {}",
                    crate::workload_file::model::format_duration(task.work),
                    crate::workload_file::model::format_duration(task.period),
                    crate::workload_file::model::format_duration(task.deadline())
                ),
                jobs: rounds.iter().map(|r| of(r).completed).sum(),
                missed: rounds.iter().map(|r| of(r).missed).sum(),
                miss_ratio: per_task(&|t| ratio(t.missed, t.completed))?,
                start_p99: per_task(&|t| us(t.start_latency.p99()))?,
                response_p99: per_task(&|t| us(t.response.p99()))?,
                response_max: per_task(&|t| us(t.response.max()))?,
                lateness_max: summary_if_all(rounds, |r| {
                    max_lateness(std::iter::once((&r.tasks[i], task)))
                })?,
                preemptions: if rounds.iter().all(|r| of(r).preemptions.is_some()) {
                    Some(per_task(&|t| t.preemptions.unwrap_or(0) as f64)?)
                } else {
                    None
                },
                index: i,
                priority: 0,
                period: task.period,
                work: task.work,
                job_log: rounds.iter().map(|r| of(r).jobs.clone()).collect(),
            })
        })
        .collect::<Result<Vec<_>, BenchError>>()?;
    Ok(RtRow {
        backend,
        status: None,
        measured: true,
        workload: opts.workload.name,
        workers,
        rounds: rounds.len(),
        duration: opts.duration,
        background_tasks: opts.set.background,
        jobs: rounds.iter().map(|r| sum(r, |t| t.completed)).sum(),
        released: rounds.iter().map(|r| sum(r, |t| t.released)).sum(),
        missed: rounds.iter().map(|r| sum(r, |t| t.missed)).sum(),
        start_mean: per_round(&|r| start(r).mean() / 1e3)?,
        start_p50: per_round(&|r| us(start(r).p50()))?,
        start_p99: per_round(&|r| us(start(r).p99()))?,
        start_p999: per_round(&|r| us(start(r).p999()))?,
        start_max: per_round(&|r| us(start(r).max()))?,
        response_p99: per_round(&|r| us(merged(r, |t| &t.response).p99()))?,
        miss_ratio: per_round(&|r| ratio(sum(r, |t| t.missed), sum(r, |t| t.completed)))?,
        lateness_max: summary_if_all(rounds, |r| max_lateness(r.tasks.iter().zip(opts.set.tasks)))?,
        lateness_p99: summary_if_all(rounds, |r| p99_lateness(r, &opts.set))?,
        cpu_ms_per_s: summary_if_all(rounds, |r| {
            (!r.simulated).then(|| r.cpu_ns as f64 / 1e6 / r.cpu_wall.as_secs_f64().max(1e-9))
        })?,
        simulated: rounds.iter().any(|r| r.simulated),
        preemptions,
        background_per_s,
        background_preemptions,
        start_latency,
        tasks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lateness_is_end_minus_release_plus_deadline_for_completed_jobs() {
        let job = |release, end| JobRecord {
            release,
            start: release,
            end,
        };
        let jobs = [job(1_000, 4_000), job(10_000, 25_000), job(20_000, 0)];
        let late: Vec<i64> = lateness_ns(&jobs, Duration::from_nanos(10_000)).collect();
        assert_eq!(late, [-7_000, 5_000]);
    }
}
