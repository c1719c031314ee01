//! `sched-bench compare`: one workload on several backends, one table.
//!
//! Workload files go to [`crate::file_compare`] (every backend, the kernel too), the periodic
//! built-ins (`latency-under-load`, `mixed-latency`, ...) to [`crate::rt_compare`]; this module
//! runs the batch built-ins (`mixed-small`):
//!
//! Each backend in turn: build the runtime, one warm-up run, `rounds` measured runs, shut it
//! down. Every run is the workload's body inside one root task on a worker; its wall time is
//! measured inside that task. Backends run one after another (not interleaved as in `micro`),
//! which keeps runtimes with different thread sets from competing for the cores; rerun to judge
//! run-to-run noise.
//!
//! Reported per backend: median / min / max run time, throughput (tasks per second at the
//! median), efficiency (ideal time = busy time / workers, over the median), and for kairos the
//! scheduler counters per round.

use crate::backend::{Backend, ExecVisitor};
use crate::error::BenchError;
use crate::exec::{run_root, Exec};
use crate::json;
use crate::machine::{self, CpuSample};
use crate::report::{self, Row};
use crate::rt_compare::RtOpts;
use crate::stats::Summary;
use crate::watchdog::Watchdog;
use crate::workload::{self, Shape, Sliced};
use std::path::PathBuf;
use std::time::Duration;

/// A single run taking longer than this is treated as a hang.
const HANG_LIMIT: Duration = Duration::from_secs(60);

/// Options of `sched-bench compare`.
#[derive(Debug)]
pub struct CompareOpts {
    /// Workload name (see `sched-bench workloads`) or workload file (every backend; see
    /// [`crate::file_compare`]).
    pub workload: String,
    /// Measured rounds per backend (`None`: 5 for batch workloads, 3 for periodic ones; not
    /// used by workload files).
    pub rounds: Option<usize>,
    /// Worker threads of each runtime (`None`: the periodic workload's own count, else 2).
    pub workers: Option<usize>,
    /// Length of one run of a periodic workload (`None`: the workload's own).
    pub duration: Option<Duration>,
    /// Backends, in table order.
    pub backends: Vec<Backend>,
    /// Where to write a JSON report, if anywhere.
    pub json: Option<PathBuf>,
    /// Where to write `.hgrm` files (periodic workloads), if anywhere.
    pub hgrm: Option<PathBuf>,
    /// Where to write a runtime trace per kairos round (periodic workloads), if anywhere.
    pub trace: Option<PathBuf>,
    /// Where to write an SVG plot of the latency percentiles (periodic workloads), if anywhere.
    pub plot: Option<PathBuf>,
    /// How periodic workloads run their periodic tasks on kairos.
    pub kairos_periodic: crate::rt_compare::KairosPeriodic,
    /// Print cyclictest-style lines (periodic workloads and workload files).
    pub cyclic: bool,
    /// Where to write rt-app-style logs (periodic workloads and workload files), if anywhere.
    pub rtapp_log: Option<PathBuf>,
    /// Seed of the sim rows' first round (`None`: [`crate::rt_compare::sim::DEFAULT_SEED`]);
    /// only with a sim backend.
    pub seed: Option<u64>,
    /// Print the full tables instead of the compact default (`--wide`).
    pub wide: bool,
    /// Workload files: the memory limit, bytes (`None`: half of `MemAvailable`).
    pub memory_limit: Option<u64>,
    /// Workload files: accept times beyond a day (`--allow-long-times`).
    pub allow_long_times: bool,
    /// Periodic built-ins: pinning and OS priority of the kairos workers (`--pin`,
    /// `--worker-priority`).
    pub rt: crate::rt_settings::RtSettings,
}

/// Rounds of a batch workload when `--rounds` is not given.
const DEFAULT_ROUNDS: usize = 5;

/// Workers when neither `--workers` nor the workload says.
const DEFAULT_WORKERS: usize = 2;

/// Runs the comparison, prints the table to stdout and returns its rows.
///
/// # Errors
/// Unknown workload, a runtime that cannot be built, a failed task, a failed report write.
pub fn run(opts: &CompareOpts) -> Result<Vec<Row>, BenchError> {
    let kernel = opts.backends.contains(&Backend::Kernel);
    let periodic_only = |what: &'static str| {
        let files = if matches!(what, "--cyclic" | "--rtapp-log") {
            " and to workload files"
        } else {
            ""
        };
        BenchError::Usage(format!(
            "{what} applies to the periodic built-in workloads (latency-under-load, \
             mixed-latency, mixed-latency-hogs, non-yielding-hogs){files}, not to '{}'",
            opts.workload
        ))
    };
    let workers = opts.workers.unwrap_or(DEFAULT_WORKERS);
    let sim = opts.backends.iter().any(|b| b.is_sim());
    if opts.seed.is_some() && !sim {
        return Err(BenchError::Usage(
            "--seed applies to the simulator's rows (--backends sim or sim-<policy>)".to_owned(),
        ));
    }
    let no_sim = || {
        BenchError::Usage(format!(
            "'{}': {}",
            opts.workload,
            crate::backend::SIM_PERIODIC_ONLY
        ))
    };
    if is_workload_file(&opts.workload) {
        if sim {
            return Err(no_sim());
        }
        // --cyclic and --rtapp-log apply to workload files too; the others do not.
        periodic_flags(opts, false).map_err(periodic_only)?;
        let path = std::path::Path::new(&opts.workload);
        if opts.allow_long_times {
            crate::workload_file::validate::allow_long_times();
        }
        let file =
            crate::workload_file::load(path).map_err(|e| BenchError::Usage(e.to_string()))?;
        let keep_jobs = opts.cyclic || opts.rtapp_log.is_some();
        if let Some(limit) = opts
            .memory_limit
            .or_else(crate::workload_file::budget::default_limit)
        {
            crate::workload_file::budget::check_memory(&file, keep_jobs, limit)
                .map_err(|e| BenchError::Usage(format!("{}: {e}", path.display())))?;
        }
        let json_out = opts.json.as_deref().map(json::Output::create).transpose()?;
        let jobs =
            crate::file_compare::compare(&file, &opts.backends, workers, json_out, keep_jobs)?.jobs;
        crate::rt_compare::logs::file_outputs(
            &file,
            &jobs,
            opts.cyclic,
            opts.rtapp_log.as_deref(),
        )?;
        return Ok(Vec::new());
    }
    let workload = workload::find(&opts.workload)?;
    let sliced = match workload.shape {
        Shape::Sliced(sliced) => sliced,
        Shape::Periodic(set) => {
            crate::rt_compare::compare(&RtOpts {
                workload,
                set,
                rounds: opts.rounds.unwrap_or(crate::rt_compare::DEFAULT_ROUNDS),
                workers: opts.workers.unwrap_or(set.workers),
                duration: opts.duration.unwrap_or(set.duration),
                backends: opts.backends.clone(),
                json: opts.json.clone(),
                hgrm: opts.hgrm.clone(),
                trace: opts.trace.clone(),
                plot: opts.plot.clone(),
                kairos_periodic: opts.kairos_periodic,
                cyclic: opts.cyclic,
                rtapp_log: opts.rtapp_log.clone(),
                seed: opts.seed.unwrap_or(crate::rt_compare::sim::DEFAULT_SEED),
                wide: opts.wide,
                rt: opts.rt,
            })?;
            return Ok(Vec::new());
        }
    };
    if sim {
        return Err(no_sim());
    }
    if kernel {
        return Err(BenchError::Usage(format!(
            "the kernel backend runs workload files (TOML or rt-app JSON, see docs/sched-bench.md) \
             and the periodic built-ins (latency-under-load, mixed-latency, mixed-latency-hogs, \
             non-yielding-hogs); \
             '{}' is neither",
            opts.workload
        )));
    }
    periodic_flags(opts, true).map_err(periodic_only)?;
    let rounds = opts.rounds.unwrap_or(DEFAULT_ROUNDS);
    let json_out = opts.json.as_deref().map(json::Output::create).transpose()?;
    let start = CpuSample::now();
    let mut rows = Vec::with_capacity(opts.backends.len());
    for backend in opts.backends.iter().flat_map(|b| b.expand()) {
        eprintln!(
            "{}: {backend}, warm-up + {rounds} rounds, {workers} workers",
            workload.name
        );
        rows.push(backend.run(
            workers,
            Measure {
                name: workload.name,
                sliced,
                rounds,
                workers,
            },
        )?);
    }
    if opts.wide {
        println!("{}", report::table(&rows));
    } else {
        println!("{}", report::compact_table(&rows));
        println!("{}", report::COMPACT_NOTE);
    }
    if let Some(note) = machine::busy_note(start) {
        println!("{note}\n");
    }
    if let Some(out) = json_out {
        out.write_json("compare", report::to_json(&rows))?;
    }
    Ok(rows)
}

/// The first periodic-only option given, if any; `per_job`: count the per-job outputs
/// (`--cyclic`, `--rtapp-log`) too (workload files have them, batch workloads not).
fn periodic_flags(opts: &CompareOpts, per_job: bool) -> Result<(), &'static str> {
    let given = [
        (opts.duration.is_some(), "--duration"),
        (opts.hgrm.is_some(), "--hgrm"),
        (opts.plot.is_some(), "--plot"),
        (per_job && opts.cyclic, "--cyclic"),
        (per_job && opts.rtapp_log.is_some(), "--rtapp-log"),
        (opts.rt.pin, "--pin"),
        (
            opts.rt.fifo_priority.is_some(),
            "--worker-priority realtime",
        ),
    ];
    match given.iter().find(|(set, _)| *set) {
        Some(&(_, flag)) => Err(flag),
        None => Ok(()),
    }
}

/// Whether `--workload` names a file: an existing path or a `.toml`/`.json` name (else it is a
/// built-in name).
fn is_workload_file(arg: &str) -> bool {
    let path = std::path::Path::new(arg);
    path.exists()
        || path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("toml") || e.eq_ignore_ascii_case("json"))
}

/// Warm-up plus measured rounds of one workload on one runtime.
struct Measure {
    name: &'static str,
    sliced: Sliced,
    rounds: usize,
    workers: usize,
}

impl ExecVisitor for Measure {
    type Output = Row;

    fn visit<E: Exec>(self, exec: &E) -> Result<Row, BenchError> {
        let once = || -> Result<Duration, BenchError> {
            let _watchdog = Watchdog::arm(
                format!("workload {} on {}", self.name, exec.label()),
                HANG_LIMIT,
            );
            let outcome =
                run_root(exec, self.sliced.run::<E>())?.map_err(|e| BenchError::Task {
                    backend: exec.label(),
                    message: e.0,
                })?;
            if outcome.tasks_completed != self.sliced.tasks() {
                return Err(BenchError::Task {
                    backend: exec.label(),
                    message: format!(
                        "{} of {} tasks completed",
                        outcome.tasks_completed,
                        self.sliced.tasks()
                    ),
                });
            }
            Ok(outcome.elapsed)
        };
        once()?;
        let before = exec.counters();
        let mut ms = Vec::with_capacity(self.rounds);
        for _ in 0..self.rounds {
            ms.push(once()?.as_secs_f64() * 1e3);
        }
        let counters_per_round = match (before, exec.counters()) {
            (Some(b), Some(a)) => {
                let d = a.since(b);
                let n = self.rounds as u64;
                Some(crate::exec::Counters {
                    polls: d.polls / n,
                    steals: d.steals / n,
                    parks: d.parks / n,
                    preemptions: d.preemptions / n,
                })
            }
            _ => None,
        };
        Ok(Row {
            backend: exec.label(),
            workload: self.name,
            workers: self.workers,
            rounds: self.rounds,
            total_ms: Summary::of(&ms)
                .ok_or_else(|| BenchError::Usage("--rounds must be at least 1".to_owned()))?,
            tasks: self.sliced.tasks(),
            ideal: self.sliced.cpu_work() / u32::try_from(self.workers).unwrap_or(u32::MAX),
            counters_per_round,
        })
    }
}
