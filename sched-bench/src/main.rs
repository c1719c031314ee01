//! `sched-bench`: scheduling benchmarks for kairos.
//!
//! Subcommands:
//!
//! - `micro`: scheduler micro-benchmarks (spawn, yield, ping-pong, chained spawn, worker pool),
//!   kairos FIFO against tokio, interleaved round by round in one process (see [`micro`]), and
//!   with `--go` against the Go peer (see [`go_peer`]); on request also timer precision, a
//!   million sleeping tasks and a periodic task under load (see [`timer_precision`],
//!   [`spawn_sleep`], [`busy_periodic`]); `--pin` / `--worker-priority realtime` set kairos'
//!   workers (see [`rt_settings`]).
//! - `compare`: one workload on several backends, one table: for batch workloads run time,
//!   throughput and kairos' scheduler counters (see [`compare`]); for the periodic workloads
//!   (`latency-under-load`, `mixed-latency`) release latency, deadline misses, preemptions and
//!   background throughput per kairos policy, tokio and Linux SCHED_OTHER/FIFO/DEADLINE threads,
//!   and per policy under kairos' deterministic simulator (`--backends sim`; see
//!   [`rt_compare`]); for workload files
//!   the kernel backend's job metrics (see [`file_compare`]).
//! - `workloads`: the built-in workloads; `--check FILE` validates a workload file (TOML or
//!   rt-app JSON) and summarises it (see [`workload_file`]).
//! - `schedulability`: random periodic task sets swept over utilization under the deterministic
//!   simulator; per policy the fraction with no deadline miss, as a table, an SVG and JSON, and
//!   how fast the simulator runs (see [`schedulability`]).
//! - `report`: reruns the documented periodic comparisons and writes `results.md` and one SVG
//!   per workload (see [`results`]).
//! - `net`: kairos' sockets against tokio's on loopback: echo, urgent requests under bulk
//!   load, memory per idle connection (see [`net`]).
//! - `alloc`: kairos-alloc against the system allocator and mimalloc (see [`alloc`]).
//!
//! Results go to stdout as Markdown-compatible tables, followed by how much of the machine's CPU
//! other processes took meanwhile (see [`machine`]); progress goes to stderr; `--json FILE` also
//! writes a machine-readable report. Exit status: 0 ok, 1 error, 2 bad usage (clap), 3 a
//! measurement hung (see [`watchdog`]).
#![warn(missing_docs)]

mod alloc;
mod async_backend;
mod backend;
mod busy_periodic;
mod chan;
mod compare;
mod error;
mod exec;
mod file_compare;
mod go_peer;
mod inversion;
mod job_loop;
mod json;
mod kernel;
mod machine;
mod micro;
mod net;
mod plot;
mod progress;
mod report;
mod results;
mod rt_compare;
mod rt_settings;
mod schedulability;
mod soak;
mod spawn_sleep;
mod spin;
mod stats;
mod sync_rows;
mod table;
mod timer_precision;
mod watchdog;
mod worker_pool;
mod workload;
mod workload_file;

use backend::Backend;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Scheduling benchmarks: kairos policies against tokio and Linux's schedulers (SCHED_OTHER,
/// SCHED_FIFO, SCHED_DEADLINE threads).
#[derive(Debug, Parser)]
#[command(name = "sched-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Micro-benchmarks: kairos (FIFO, or --policy) vs tokio, same worker count, rounds
    /// interleaved.
    Micro(MicroArgs),
    /// Run one workload on several backends and print one comparison table.
    Compare(CompareArgs),
    /// Rerun the documented periodic comparisons (kernel,executor,tokio on the three periodic
    /// built-ins) and write results.md plus one SVG plot per workload.
    Report(ReportArgs),
    /// Fraction of random periodic task sets each policy schedules without a deadline miss,
    /// swept over utilization, under the deterministic simulator (kairos::sim); plus the
    /// simulator's speed.
    Schedulability(SchedulabilityArgs),
    /// List the built-in workloads, or check a workload file.
    Workloads(WorkloadsArgs),
    /// Allocator benchmarks: kairos-alloc vs the system allocator and mimalloc, 128-byte blocks.
    Alloc(AllocArgs),
    /// Sockets on loopback, kairos against tokio in one run: echo (throughput, round-trip
    /// percentiles), urgent requests under bulk load, and memory per idle connection.
    Net(net::NetArgs),
    /// Soak test: waves of random tasks (spawn, abort, panic, timeout, sleep, periodic,
    /// children) on kairos under every policy, each wave checked for exact outcomes, every
    /// destructor run once, and live tasks, timers and task blocks back to zero.
    Soak(SoakArgs),
    /// Internal: one row of `micro --only spawn_sleep`, run in its own process.
    #[command(hide = true)]
    SpawnSleepChild(SpawnSleepChildArgs),
}

#[derive(Debug, Args)]
struct SoakArgs {
    /// How long to run waves, e.g. 60s or 10m (at least one wave runs).
    #[arg(long, value_name = "DURATION", value_parser = parse_soak_length, default_value = "60s")]
    duration: std::time::Duration,
    /// Worker threads of each runtime.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=1024))]
    workers: u32,
    /// Run at least this many waves, however short the duration.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    waves: u64,
    /// Top-level tasks per wave.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    tasks: u32,
    /// Seed of the random task mix.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// `soak --duration`: a duration with a unit (`s`, `m` as minutes, ...).
fn parse_soak_length(text: &str) -> Result<std::time::Duration, String> {
    if let Some(m) = text
        .strip_suffix('m')
        .filter(|m| m.chars().all(|c| c.is_ascii_digit()))
    {
        let m: u64 = m.parse().map_err(|e| format!("`{text}`: {e}"))?;
        return Ok(std::time::Duration::from_secs(m.saturating_mul(60)));
    }
    workload_file::toml_format::parse_duration(text)
}

#[derive(Debug, Args)]
struct MicroArgs {
    /// Measured rounds per runtime (after one warm-up); the table shows their median.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    rounds: u32,
    /// Worker threads of each runtime.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=1024))]
    workers: u32,
    /// Run only these benchmarks (comma-separated). Without it: spawn_many, yield_many,
    /// ping_pong, chained_spawn, worker_pool, worker_pool_ac, ping_pong_mpsc,
    /// ping_pong_oneshot, mutex_contention. timer_precision (~5 x (timer-secs + 0.1) s),
    /// spawn_sleep (3 child processes, ~3 s each), periodic (2 x timer-secs) and inversion
    /// (4 x timer-secs) run only when named here.
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<micro::Micro>,
    /// timer_precision and periodic: measured seconds per row (run one after another).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=3600))]
    timer_secs: u32,
    /// spawn_sleep: tasks spawned (each sleeps 1 s).
    #[arg(long, default_value_t = spawn_sleep::TASKS, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    spawn_sleep_tasks: u64,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Print every round's result and kairos' counters for it to stderr.
    #[arg(long, short)]
    verbose: bool,
    /// Override kairos' search rounds before an idle worker parks (Builder::spin_rounds;
    /// default: kairos' own default). For studying the spin/park trade-off; tokio is unaffected.
    #[arg(long, value_name = "N")]
    kairos_spin_rounds: Option<u32>,
    /// kairos' scheduling policy for spawn_many, yield_many, ping_pong and chained_spawn. Tasks
    /// keep default parameters, so an ordered policy shows what its queues cost, not a
    /// different order.
    #[arg(long, value_enum, default_value = "fifo")]
    policy: MicroPolicy,
    /// kairos' per-poll latency and duration histograms (Builder::record_latency) in the
    /// throughput benchmarks; without it, the policy's default (on for edf, priority, fair).
    #[arg(long, value_enum)]
    record_latency: Option<OnOff>,
    /// What runs next to kairos in the throughput rows (spawn_many .. worker_pool): tokio
    /// (rounds interleaved), or none (kairos alone: the table and JSON have no tokio figures;
    /// for instruction counts of kairos only, scripts/cachegrind-micro.sh).
    #[arg(long, value_enum, default_value = "tokio")]
    peer: micro::Peer,
    /// Also run the Go peer (sched-bench/peers/go, built with `go build` on first use) where
    /// `go` is on the PATH, with GOMAXPROCS = --workers: a Go column in the throughput table and
    /// a Go row in spawn_sleep and periodic. Without `go`: a one-line note, no Go figures.
    #[arg(long)]
    go: bool,
    /// The full throughput table (min and max in columns of their own, kairos' polls, steals
    /// and parks per round) instead of the compact one (at most 120 columns); --json writes
    /// every field either way.
    #[arg(long)]
    wide: bool,
    #[command(flatten)]
    rt: RtArgs,
}

/// The kairos workers' real-time settings (`micro`, and `compare` on the periodic built-ins).
#[derive(clap::Args, Debug)]
struct RtArgs {
    /// Pin kairos worker i to the i-th allowed core (Builder::pin_workers), in every kairos
    /// runtime of the run.
    #[arg(long)]
    pin: bool,
    /// OS priority of every kairos runtime's workers: normal, or realtime (SCHED_FIFO at
    /// --rt-priority; needs CAP_SYS_NICE, else the runtime build fails and says so). Under
    /// kairos-classes-preemptive it moves the deadline class to --rt-priority.
    #[arg(long, value_enum, default_value = "normal")]
    worker_priority: rt_settings::WorkerPriorityArg,
    /// SCHED_FIFO priority of --worker-priority realtime (and of micro's timer_precision
    /// cyclictest row).
    #[arg(long, default_value_t = rt_settings::DEFAULT_RT_PRIORITY,
          value_parser = clap::value_parser!(u8).range(1..=99))]
    rt_priority: u8,
    /// Hold Linux's CPU latency QoS at 0 µs (/dev/cpu_dma_latency; needs root) for the whole
    /// run, and in every kairos runtime (Builder::cpu_latency_qos): idle CPUs then stay in
    /// states they leave at once, as cyclictest asks by default. Without it, timer_precision
    /// runs cyclictest with --laptop, so every row runs under the same power management.
    #[arg(long)]
    cpu_latency_qos: bool,
}

impl RtArgs {
    /// As the kairos builders take them.
    fn settings(&self) -> rt_settings::RtSettings {
        rt_settings::RtSettings::new(
            self.pin,
            self.worker_priority,
            self.rt_priority,
            self.cpu_latency_qos,
        )
    }
}

/// A switch given on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum OnOff {
    /// Enabled.
    On,
    /// Disabled.
    Off,
}

/// `--policy` of `micro`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum MicroPolicy {
    /// kairos::Policy::Fifo.
    Fifo,
    /// kairos::Policy::Edf.
    Edf,
    /// kairos::Policy::Priority.
    Priority,
    /// kairos::Policy::Fair.
    Fair,
}

impl From<MicroPolicy> for kairos::Policy {
    fn from(p: MicroPolicy) -> kairos::Policy {
        match p {
            MicroPolicy::Fifo => kairos::Policy::Fifo,
            MicroPolicy::Edf => kairos::Policy::Edf,
            MicroPolicy::Priority => kairos::Policy::Priority,
            MicroPolicy::Fair => kairos::Policy::Fair,
        }
    }
}

#[derive(Debug, Args)]
struct SpawnSleepChildArgs {
    /// Which runtime to measure.
    #[arg(long, value_enum)]
    runtime: spawn_sleep::ChildRuntime,
    /// Tasks to spawn.
    #[arg(long, default_value_t = spawn_sleep::TASKS)]
    tasks: u64,
    /// Worker threads.
    #[arg(long, default_value_t = 2)]
    workers: usize,
}

#[derive(Debug, Args)]
struct AllocArgs {
    /// Measured rounds per allocator (after one warm-up); the tables show their median.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    rounds: u32,
    /// Run only these cases (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<alloc::Case>,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Print every run's result to stderr.
    #[arg(long, short)]
    verbose: bool,
}

#[derive(Debug, Args)]
struct ReportArgs {
    /// Directory for results.md; the SVGs go to its results/ subdirectory. `--out docs`
    /// regenerates the committed docs/results.md; the default writes outside the tracked tree.
    #[arg(long, value_name = "DIR", default_value = "target/report")]
    out: PathBuf,
    /// Rounds per backend (docs/benchmarks.md uses 5).
    #[arg(long, default_value_t = results::DEFAULT_ROUNDS as u32,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    rounds: u32,
    /// Length of one round (default: each workload's, 3 s).
    #[arg(long, value_name = "DURATION", value_parser = parse_run_length)]
    duration: Option<std::time::Duration>,
}

#[derive(Debug, Args)]
struct SchedulabilityArgs {
    /// Lowest utilization of the sweep, per worker (a set's total utilization is this x
    /// --workers).
    #[arg(long, default_value_t = 0.5)]
    from: f64,
    /// Highest utilization of the sweep (included when a whole number of steps from --from).
    #[arg(long, default_value_t = 1.0)]
    to: f64,
    /// Step between two utilizations.
    #[arg(long, default_value_t = 0.05)]
    step: f64,
    /// Periodic tasks per set.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    tasks: u32,
    /// Random task sets per utilization.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    sets: u32,
    /// Seed of the task sets and of the simulations: the same seed gives the same table.
    #[arg(long, default_value_t = schedulability::DEFAULT_SEED)]
    seed: u64,
    /// Virtual workers of each simulation (global scheduling across them).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
    workers: u32,
    /// Virtual time each task set runs, e.g. 1s or 500ms.
    #[arg(long, default_value = "1s", value_name = "DURATION", value_parser = parse_run_length)]
    horizon: std::time::Duration,
    /// Shortest period of the generated tasks (log-uniform between this and --max-period).
    #[arg(long, default_value = "1ms", value_name = "DURATION", value_parser = parse_run_length)]
    min_period: std::time::Duration,
    /// Longest period of the generated tasks.
    #[arg(long, default_value = "100ms", value_name = "DURATION", value_parser = parse_run_length)]
    max_period: std::time::Duration,
    /// Threads simulating task sets in parallel (default: the CPUs available; the results do
    /// not depend on it).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    jobs: Option<u32>,
    /// Speed measurement: 10-task sets per policy each simulated for 1 s, timed (0: skip).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(0..=1000))]
    speed_runs: u32,
    /// Write an SVG plot of the fraction of schedulable sets per policy to this file.
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct WorkloadsArgs {
    /// Parse and validate this workload file (sched-bench TOML, or rt-app JSON), print its
    /// tasks and phases, and exit non-zero with the file, line and field if it is invalid.
    #[arg(long, value_name = "FILE", conflicts_with = "export")]
    check: Option<PathBuf>,
    /// Print a periodic built-in (latency-under-load, mixed-latency, mixed-latency-hogs,
    /// non-yielding-hogs) as a sched-bench TOML workload file, to run on any backend with `compare --workload FILE`.
    #[arg(long, value_name = "NAME")]
    export: Option<String>,
}

#[derive(Debug, Args)]
struct CompareArgs {
    /// Workload to run: a built-in name (`sched-bench workloads` lists them), or a workload
    /// file (an existing path, or a name ending in .toml/.json; TOML or rt-app JSON). A file
    /// runs once per backend for its duration (--rounds does not apply); the kernel backend
    /// runs files and the periodic built-ins.
    #[arg(long, default_value = "latency-under-load")]
    workload: String,
    /// Rounds per backend; the table shows their median (and range). Default: 5 measured
    /// rounds after one warm-up for batch workloads (mixed-small), 3 interleaved rounds for the
    /// periodic ones (latency-under-load, mixed-latency, mixed-latency-hogs,
    /// non-yielding-hogs). A sim row's
    /// rounds are seeds (--seed, then the next ones).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
    rounds: Option<u32>,
    /// Worker threads of each runtime (kairos, tokio; not the kernel backend). Default: the
    /// periodic workload's own count (latency-under-load 2, mixed-latency 1), else 2.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    workers: Option<u32>,
    /// Length of one round of a periodic workload, e.g. 500ms or 3s (default: the workload's,
    /// 3 s).
    #[arg(long, value_name = "DURATION", value_parser = parse_run_length)]
    duration: Option<std::time::Duration>,
    /// Backends to compare, comma-separated, in table order. Valid: kairos-fifo, kairos-edf,
    /// kairos-priority, kairos-fair, kairos-classes (Policy::Classes, cooperative: tasks with a
    /// deadline, then with a priority, then the rest fair), kairos-classes-preemptive (the same
    /// with one group of worker threads per class at OS priorities; needs CAP_SYS_NICE), tokio,
    /// executor (kairos under
    /// Fifo, Edf, Priority and Fair, one row set each), kernel (Linux threads: on files one row
    /// per scheduling class; on the periodic built-ins rows kernel-other, kernel-fifo,
    /// kernel-deadline), sim-fifo, sim-edf, sim-priority, sim-fair, sim-classes, sim (kairos'
    /// deterministic simulator under Fifo, Edf, Priority and Fair; the periodic built-ins
    /// only, on virtual time: see --seed).
    #[arg(
        long,
        alias = "backend",
        value_delimiter = ',',
        default_value = "executor,tokio"
    )]
    backends: Vec<Backend>,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Periodic workloads: write one HdrHistogram percentile file per row (release→start
    /// latency of every job, µs) into this directory, named WORKLOAD.BACKEND.hgrm.
    #[arg(long, value_name = "DIR")]
    hgrm: Option<PathBuf>,
    /// Periodic workloads: write one SVG plot of every row's release→start latency percentile
    /// curve (HdrHistogram's log percentile axis, µs on a log axis) to this file.
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
    /// How the periodic built-ins run their periodic tasks on kairos (workload files always run
    /// plain periodic tasks as spawn_periodic tasks there).
    #[arg(long, value_enum, default_value = "spawn-periodic")]
    kairos_periodic: rt_compare::KairosPeriodic,
    /// Periodic workloads: record a runtime trace of every kairos round and write it to this
    /// directory as WORKLOAD.BACKEND.roundN.json, in the Chrome trace event format that
    /// Perfetto (ui.perfetto.dev) and chrome://tracing open (docs/observability.md).
    #[arg(long, value_name = "DIR")]
    trace: Option<PathBuf>,
    /// Periodic workloads and workload files: after the tables, print a cyclictest-style line
    /// per row and periodic task (T: index, P: priority, I: period µs, C: jobs, Min/Act/Avg/Max:
    /// release→start µs).
    #[arg(long)]
    cyclic: bool,
    /// Periodic workloads and workload files: write one rt-app-style log per row and periodic
    /// task (workload files: task instance) (one line per job, µs) into this directory, named
    /// WORKLOAD.BACKEND-TASK-INDEX.log.
    #[arg(long, value_name = "DIR")]
    rtapp_log: Option<PathBuf>,
    /// Simulator rows (sim, `sim-<policy>`): the seed of round 1; round r runs seed + r - 1
    /// (default 1). The simulation is deterministic: the same seed gives the same row.
    #[arg(long)]
    seed: Option<u64>,
    /// Print the full tables (ranges over the rounds, response time, CPU, preemptions,
    /// background throughput, per task) instead of the default verdicts and compact table
    /// (at most 120 columns). --json writes every field either way.
    #[arg(long)]
    wide: bool,
    /// Workload files: refuse a workload whose memory estimate exceeds this size (e.g. 512M,
    /// 8G). Default: half of MemAvailable in /proc/meminfo.
    #[arg(long, value_name = "SIZE", value_parser = workload_file::budget::parse_size)]
    memory_limit: Option<u64>,
    /// Workload files: accept times (duration, delay, run, sleep, periods, deadlines) longer
    /// than a day, which are refused by default as likely unit mistakes.
    #[arg(long)]
    allow_long_times: bool,
    /// Periodic built-ins: the kairos rows' real-time settings.
    #[command(flatten)]
    rt: RtArgs,
}

/// `--duration`: a duration with a unit, longer than zero.
fn parse_run_length(text: &str) -> Result<std::time::Duration, String> {
    let d = workload_file::toml_format::parse_duration(text)?;
    if d.is_zero() {
        return Err("the run length must be longer than zero".to_owned());
    }
    Ok(d)
}

/// Runs `f` with the CPU latency QoS of `--cpu-latency-qos` held for its whole duration.
fn hold_qos(
    rt: rt_settings::RtSettings,
    f: impl FnOnce() -> Result<(), error::BenchError>,
) -> Result<(), error::BenchError> {
    let _hold = rt
        .hold_cpu_latency_qos()
        .map_err(error::BenchError::Usage)?;
    f()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Micro(a) => hold_qos(a.rt.settings(), || {
            micro::run(&micro::MicroOpts {
                rounds: a.rounds as usize,
                workers: a.workers as usize,
                only: a.only,
                json: a.json,
                verbose: a.verbose,
                kairos_spin_rounds: a.kairos_spin_rounds,
                timer_secs: a.timer_secs,
                spawn_sleep_tasks: a.spawn_sleep_tasks,
                policy: a.policy.into(),
                record_latency: a.record_latency.map(|v| v == OnOff::On),
                peer: a.peer,
                go: a.go,
                wide: a.wide,
                rt: a.rt.settings(),
            })
            .map(drop)
        }),
        Command::Soak(a) => {
            let started = std::time::Instant::now();
            soak::run(a.duration, a.waves, a.workers as usize, a.tasks as usize, a.seed).map(|r| {
                println!(
                    "soak: ok: {} waves in {:.1} s on Fifo, Edf, Priority, Fair, Classes ({} tasks, {} \
                     children, {} periodic; {} destructors each run once; live tasks, timers \
                     and task blocks back to their start after every wave)",
                    r.waves,
                    started.elapsed().as_secs_f64(),
                    r.tasks,
                    r.children,
                    r.periodic,
                    r.drops
                );
                if let Some((wave, policy, took)) = r.slowest {
                    println!(
                        "soak: slowest wave: {wave} ({policy:?}), {:.1} ms",
                        took.as_secs_f64() * 1e3
                    );
                }
            })
        }
        Command::Net(a) => net::main(a),
        Command::SpawnSleepChild(a) => spawn_sleep::child(a.runtime, a.tasks, a.workers),
        Command::Compare(a) => hold_qos(a.rt.settings(), || {
            compare::run(&compare::CompareOpts {
                allow_long_times: a.allow_long_times,
                memory_limit: a.memory_limit,
                workload: a.workload,
                rounds: a.rounds.map(|r| r as usize),
                workers: a.workers.map(|w| w as usize),
                duration: a.duration,
                backends: a.backends,
                json: a.json,
                hgrm: a.hgrm,
                trace: a.trace,
                plot: a.plot,
                kairos_periodic: a.kairos_periodic,
                cyclic: a.cyclic,
                rtapp_log: a.rtapp_log,
                seed: a.seed,
                wide: a.wide,
                rt: a.rt.settings(),
            })
            .map(drop)
        }),
        Command::Report(a) => results::run(&results::ReportOpts {
            out: a.out,
            rounds: a.rounds as usize,
            duration: a.duration,
        })
        .map(|paths| {
            for p in paths {
                eprintln!("wrote {}", p.display());
            }
        }),
        Command::Schedulability(a) => schedulability::run(&schedulability::SchedOpts {
            from: a.from,
            to: a.to,
            step: a.step,
            tasks: a.tasks as usize,
            sets: a.sets as usize,
            seed: a.seed,
            workers: a.workers as usize,
            horizon: a.horizon,
            min_period: a.min_period,
            max_period: a.max_period,
            jobs: a.jobs.map(|j| j as usize),
            speed_runs: a.speed_runs as usize,
            plot: a.plot,
            json: a.json,
        })
        .map(drop),
        Command::Alloc(a) => alloc::run(&alloc::AllocOpts {
            rounds: a.rounds as usize,
            only: a.only,
            json: a.json,
            verbose: a.verbose,
        })
        .map(drop),
        Command::Workloads(WorkloadsArgs {
            check: Some(path), ..
        }) => workload_file::check(&path).map_err(|e| error::BenchError::Usage(e.to_string())),
        Command::Workloads(WorkloadsArgs {
            export: Some(name), ..
        }) => workload::export_toml(&name).map(|toml| print!("{toml}")),
        Command::Workloads(WorkloadsArgs { .. }) => {
            let mut t = table::Table::new(["workload", "description"]).text_columns(2);
            for w in workload::BUILTIN {
                t.row([w.name, w.summary]);
            }
            print!("{t}");
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sched-bench: error: {e}");
            ExitCode::FAILURE
        }
    }
}
