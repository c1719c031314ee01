//! `sched-bench micro`: scheduler micro-benchmarks, kairos (FIFO unless `--policy` says
//! otherwise) against tokio's multi-thread runtime, side by side in one process.
//!
//! # What is measured
//!
//! | benchmark | what one run does | reported per |
//! |---|---|---|
//! | `spawn_many` | spawn [`SPAWN_MANY`] no-op tasks, then await every handle | spawn |
//! | `yield_many` | [`YIELD_TASKS`] tasks each yield [`YIELDS_PER_TASK`] times; await all | yield |
//! | `ping_pong` | two tasks pass a value back and forth [`ROUND_TRIPS`] times | round trip (2 hops) |
//! | `chained_spawn` | each task spawns the next, [`CHAIN_DEPTH`] deep; the last signals | spawn |
//! | `worker_pool` | 1,000,000 messages through a channel of capacity 100 to 3 worker tasks (kairos `sync::mpmc`, tokio `mpsc` + `Mutex`; [`crate::worker_pool`]) | message |
//! | `worker_pool_ac` | the same, tokio's side on `async-channel` (mpmc, no `Mutex`); Go's `worker_pool` beside it | message |
//! | `ping_pong_mpsc` | as `ping_pong`, over the runtime's own `mpsc::channel(1)` ([`crate::sync_rows`]) | round trip |
//! | `ping_pong_oneshot` | as `ping_pong`, over a fresh runtime `oneshot` per hop | round trip |
//! | `mutex_contention` | 64 tasks increment one counter behind the runtime's async `Mutex`, 2,000 times each | increment |
//!
//! Four more benchmarks measure time and memory rather than throughput, have their own tables
//! and modules, and are **not** part of the default run (they take 10 to 25 s each, against a
//! few seconds for the eight above); select them with
//! `--only timer_precision,spawn_sleep,periodic,inversion`:
//!
//! | benchmark | what it measures | module |
//! |---|---|---|
//! | `timer_precision` | release→poll latency of a 1 ms periodic task (p50/p99/p99.9/max), kairos, kairos with `timer_spin`, tokio, a bare `clock_nanosleep` thread and cyclictest (when installed) | [`crate::timer_precision`] |
//! | `spawn_sleep` | 1M tasks each sleeping 1 s: spawn ns/task and peak RSS per task, one child process per runtime | [`crate::spawn_sleep`] |
//! | `periodic` | release→run latency of a 1 ms periodic task beside 8 busy yielding tasks, kairos `Edf` and Go | [`crate::busy_periodic`] |
//! | `inversion` | a high task's lock wait behind a low holder and two computing mediums, with and without inheritance, `Edf` and `Priority` (4 runs of `--timer-secs`) | [`crate::inversion`] |
//!
//! # The Go peer (`--go`)
//!
//! With `--go` and `go` on the `PATH`, sched-bench builds `peers/go` ([`crate::go_peer`]) and
//! runs every row it has there too, with `GOMAXPROCS` = `--workers`: a second table under the
//! throughput table has Go's median and range per row beside kairos' median and `go/kairos` (Go
//! median / kairos median, > 1: kairos faster). Each measured round runs the Go program once
//! (`-rounds 1 -warmup 1`: one unrecorded run in that process first, as the Rust runtimes had
//! their warm-up), interleaved with kairos' and tokio's rounds; `spawn_sleep` and `periodic` get
//! a Go row. Without `go`, one line says the Go peer was skipped and everything else runs as
//! without `--go`.
//!
//! Every run executes inside one root task spawned on a worker (not on the `block_on` thread),
//! so spawns go to the worker's local queue as they would in an application, and the clock is
//! read inside that task: runtime start-up and `block_on` hand-off are not counted.
//!
//! `ping_pong` and `chained_spawn` communicate through [`crate::chan`], the same runtime-agnostic
//! channel on both runtimes, so the difference is the runtimes' wake and scheduling paths only.
//!
//! # How
//!
//! Per benchmark, one kairos runtime (under `--policy`, FIFO by default) and one tokio runtime are built with the same worker
//! count and kept for all rounds (then dropped): one warm-up run each, then `rounds` rounds
//! alternating between them, the order flipped every round, so background noise on the machine
//! hits both alike. Each runtime's rounds are summarised as median, min and max ns per op; the
//! ratio is tokio median / kairos median (> 1: kairos faster). kairos' scheduler counters over
//! the measured rounds are reported per round; they include the searching and parking the
//! workers do as each round winds down.
//!
//! Under `--policy edf|priority|fair` every task has the default scheduling parameters (no
//! deadline, priority 128, nice 0), so the rows measure what the ordered queues cost (locks,
//! heaps, mirrors, the preemption handshake, per-poll timing), not any reordering: compare with
//! `--policy fifo` in the same session.
//!
//! `--peer none` leaves tokio out of the five throughput benchmarks: no tokio runtime is built,
//! the table has kairos' columns only, and the JSON rows have no `tokio` and
//! `ratio_tokio_over_kairos` keys (the top-level `peer` says which). Then everything the process
//! executes after start-up is kairos and the benchmark code, which is what an instruction count
//! under cachegrind (`scripts/cachegrind-micro.sh`) should see. `timer_precision` and
//! `spawn_sleep` compare against tokio by design and are refused with `--peer none`; `periodic`
//! has no tokio row and runs either way.
//!
//! `--pin` and `--worker-priority realtime` apply to every kairos runtime of the run
//! ([`crate::rt_settings`]); the first line above the table says which settings were in force.

use crate::busy_periodic::{self, PeriodicRowJson};
use crate::chan;
use crate::error::{BenchError, TaskFailed};
use crate::exec::{run_root, Counters, Exec, Kairos, Tokio};
use crate::go_peer::{GoPeer, RunArgs};
use crate::inversion::{self, InversionRow};
use crate::json;
use crate::machine::{self, CpuSample};
use crate::report::CountersJson;
use crate::rt_settings::RtSettings;
use crate::spawn_sleep::{self, SleepJson};
use crate::stats::Summary;
use crate::sync_rows::{self, SyncExec};
use crate::table::{num, Table};
use crate::timer_precision::{self, TimerRowJson};
use crate::watchdog::Watchdog;
use crate::worker_pool::{self, PoolExec};
use serde::Serialize;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Tasks spawned by `spawn_many`.
pub const SPAWN_MANY: usize = 100_000;
/// Tasks in `yield_many`.
pub const YIELD_TASKS: usize = 100;
/// Yields per task in `yield_many`.
pub const YIELDS_PER_TASK: usize = 1_000;
/// Round trips in `ping_pong`.
pub const ROUND_TRIPS: usize = 100_000;
/// Length of the spawn chain in `chained_spawn`.
pub const CHAIN_DEPTH: u32 = 10_000;

/// A single run taking longer than this is treated as a hang. Runs take milliseconds; even a
/// heavily loaded machine stays far below this.
const HANG_LIMIT: Duration = Duration::from_secs(60);

/// One micro-benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Micro {
    /// Spawn 100k no-op tasks from a worker, then await them all.
    #[value(name = "spawn_many")]
    SpawnMany,
    /// 100 tasks yielding 1000 times each.
    #[value(name = "yield_many")]
    YieldMany,
    /// Two tasks exchanging a value 100k times over a single-slot channel.
    #[value(name = "ping_pong")]
    PingPong,
    /// Each task spawns the next, 10k deep.
    #[value(name = "chained_spawn")]
    ChainedSpawn,
    /// 1M messages through a bounded channel (capacity 100) to 3 worker tasks.
    #[value(name = "worker_pool")]
    WorkerPool,
    /// `worker_pool` with tokio's side on `async-channel` (a true mpmc channel, no Mutex).
    #[value(name = "worker_pool_ac")]
    WorkerPoolAc,
    /// Two tasks exchanging a value 100k times over the runtime's own mpsc channels.
    #[value(name = "ping_pong_mpsc")]
    PingPongMpsc,
    /// Two tasks exchanging a value 100k times over a fresh oneshot channel per hop.
    #[value(name = "ping_pong_oneshot")]
    PingPongOneshot,
    /// 64 tasks incrementing one counter behind the runtime's async Mutex.
    #[value(name = "mutex_contention")]
    MutexContention,
    /// Release->poll latency of a 1 ms periodic task: kairos, kairos timer_spin, tokio, kernel
    /// floor (not in the default run: --timer-secs, default 5, per row).
    #[value(name = "timer_precision")]
    TimerPrecision,
    /// 1M tasks each sleeping 1 s: spawn ns/task, peak RSS per task, one child process per
    /// runtime (not in the default run).
    #[value(name = "spawn_sleep")]
    SpawnSleep,
    /// Release->run latency of a 1 ms periodic task beside 8 busy yielding tasks: kairos Edf,
    /// and Go with --go (not in the default run: --timer-secs per row).
    #[value(name = "periodic")]
    Periodic,
    /// Priority inversion on kairos: a high task's lock wait with and without inheritance,
    /// under Edf and Priority (not in the default run: --timer-secs per run, 4 runs).
    #[value(name = "inversion")]
    Inversion,
}

impl Micro {
    /// The benchmarks of the default run (no `--only`), in report order: the round-based ones.
    /// `timer_precision`, `spawn_sleep` and `periodic` run only when named in `--only`.
    pub const ALL: [Micro; 9] = [
        Micro::SpawnMany,
        Micro::YieldMany,
        Micro::PingPong,
        Micro::ChainedSpawn,
        Micro::WorkerPool,
        Micro::WorkerPoolAc,
        Micro::PingPongMpsc,
        Micro::PingPongOneshot,
        Micro::MutexContention,
    ];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Micro::SpawnMany => "spawn_many",
            Micro::YieldMany => "yield_many",
            Micro::PingPong => "ping_pong",
            Micro::ChainedSpawn => "chained_spawn",
            Micro::WorkerPool => "worker_pool",
            Micro::WorkerPoolAc => "worker_pool_ac",
            Micro::PingPongMpsc => "ping_pong_mpsc",
            Micro::PingPongOneshot => "ping_pong_oneshot",
            Micro::MutexContention => "mutex_contention",
            Micro::TimerPrecision => "timer_precision",
            Micro::SpawnSleep => "spawn_sleep",
            Micro::Periodic => "periodic",
            Micro::Inversion => "inversion",
        }
    }

    /// The Go peer's row for this benchmark, if it has one: its own name, or `ping_pong` (two
    /// `chan int` of capacity 1, which is what `ping_pong_mpsc` measures on the Rust side);
    /// `ping_pong_oneshot` and `mutex_contention` have no Go row.
    fn go_row(self) -> Option<&'static str> {
        match self {
            Micro::PingPongMpsc => Some("ping_pong"),
            Micro::WorkerPoolAc => Some("worker_pool"),
            Micro::PingPongOneshot | Micro::MutexContention => None,
            _ => Some(self.name()),
        }
    }

    /// Whether this is one of the round-based throughput benchmarks (kairos and tokio
    /// interleaved, one table), as opposed to one with its own module and table.
    fn is_rounds(self) -> bool {
        !matches!(
            self,
            Micro::TimerPrecision | Micro::SpawnSleep | Micro::Periodic | Micro::Inversion
        )
    }

    /// What one "op" is.
    pub fn unit(self) -> &'static str {
        match self {
            Micro::SpawnMany | Micro::ChainedSpawn => "ns/spawn",
            Micro::YieldMany => "ns/yield",
            Micro::PingPong | Micro::PingPongMpsc | Micro::PingPongOneshot => "ns/round trip",
            Micro::MutexContention => "ns/increment",
            Micro::WorkerPool | Micro::WorkerPoolAc => "ns/message",
            Micro::TimerPrecision => "us release->poll",
            Micro::SpawnSleep => "ns/spawn, B/task",
            Micro::Periodic => "us release->run",
            Micro::Inversion => "us lock wait",
        }
    }

    /// Ops in one run.
    pub fn ops(self) -> u64 {
        match self {
            Micro::SpawnMany => SPAWN_MANY as u64,
            Micro::YieldMany => (YIELD_TASKS * YIELDS_PER_TASK) as u64,
            Micro::PingPong | Micro::PingPongMpsc | Micro::PingPongOneshot => ROUND_TRIPS as u64,
            Micro::MutexContention => sync_rows::MUTEX_TASKS as u64 * sync_rows::MUTEX_INCREMENTS,
            Micro::ChainedSpawn => u64::from(CHAIN_DEPTH),
            Micro::WorkerPool | Micro::WorkerPoolAc => worker_pool::POOL_MESSAGES,
            Micro::TimerPrecision | Micro::Periodic | Micro::Inversion => 0,
            Micro::SpawnSleep => spawn_sleep::TASKS,
        }
    }

    /// One run on `exec`: ns per op.
    fn measure<E: PoolExec + SyncExec>(self, exec: &E) -> Result<f64, BenchError> {
        let _watchdog = Watchdog::arm(format!("{} on {}", self.name(), exec.label()), HANG_LIMIT);
        let elapsed = match self {
            Micro::SpawnMany => run_root(exec, spawn_many::<E>()),
            Micro::YieldMany => run_root(exec, yield_many::<E>()),
            Micro::PingPong => run_root(exec, ping_pong::<E>()),
            Micro::ChainedSpawn => run_root(exec, chained_spawn::<E>()),
            Micro::WorkerPool => run_root(exec, E::worker_pool()),
            Micro::WorkerPoolAc => run_root(exec, E::worker_pool_ac()),
            Micro::PingPongMpsc => run_root(exec, E::ping_pong_mpsc()),
            Micro::PingPongOneshot => run_root(exec, E::ping_pong_oneshot()),
            Micro::MutexContention => run_root(exec, E::mutex_contention()),
            Micro::TimerPrecision | Micro::SpawnSleep | Micro::Periodic | Micro::Inversion => {
                unreachable!("run() hands {} to its own module", self.name())
            }
        }?
        .map_err(|e| BenchError::Task {
            backend: exec.label(),
            message: e.0,
        })?;
        Ok(elapsed.as_nanos() as f64 / self.ops() as f64)
    }
}

async fn spawn_many<E: Exec>() -> Result<Duration, TaskFailed> {
    let mut handles = Vec::with_capacity(SPAWN_MANY);
    let start = Instant::now();
    for _ in 0..SPAWN_MANY {
        handles.push(E::spawn(async {}));
    }
    for h in handles {
        h.await?;
    }
    Ok(start.elapsed())
}

async fn yield_many<E: Exec>() -> Result<Duration, TaskFailed> {
    let start = Instant::now();
    let handles: Vec<_> = (0..YIELD_TASKS)
        .map(|_| {
            E::spawn(async {
                for _ in 0..YIELDS_PER_TASK {
                    E::yield_now().await;
                }
            })
        })
        .collect();
    for h in handles {
        h.await?;
    }
    Ok(start.elapsed())
}

/// The root task is the pinger; it spawns the ponger. A round trip is ping + pong: two sends,
/// two wakes.
async fn ping_pong<E: Exec>() -> Result<Duration, TaskFailed> {
    let (ping_tx, mut ping_rx) = chan::channel::<usize>();
    let (pong_tx, mut pong_rx) = chan::channel::<usize>();
    let start = Instant::now();
    let ponger = E::spawn(async move {
        while let Some(v) = ping_rx.recv().await {
            if pong_tx.send(v).await.is_err() {
                break;
            }
        }
    });
    for i in 0..ROUND_TRIPS {
        let lost = || TaskFailed("ping_pong: the ponger task stopped early".to_owned());
        ping_tx.send(i).await.map_err(|_| lost())?;
        if pong_rx.recv().await != Some(i) {
            return Err(lost());
        }
    }
    let elapsed = start.elapsed();
    drop(ping_tx);
    ponger.await?;
    Ok(elapsed)
}

/// Spawns link `remaining` of the chain; the last link signals `done`.
fn chain<E: Exec>(remaining: u32, done: chan::Sender<()>) {
    if remaining == 0 {
        // The slot is empty and the receiver waits, so this cannot fail; if it somehow did,
        // dropping `done` closes the channel and the root reports a broken chain.
        let _ = done.try_send(());
        return;
    }
    // Detached: the chain's end is observed through `done`, not through handles.
    drop(E::spawn(async move { chain::<E>(remaining - 1, done) }));
}

async fn chained_spawn<E: Exec>() -> Result<Duration, TaskFailed> {
    let (done_tx, mut done_rx) = chan::channel::<()>();
    let start = Instant::now();
    chain::<E>(CHAIN_DEPTH, done_tx);
    done_rx.recv().await.ok_or_else(|| {
        TaskFailed("chained_spawn: a link of the chain was dropped (task failed)".to_owned())
    })?;
    Ok(start.elapsed())
}

/// The runtime the round-based benchmarks run next to kairos (`--peer`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Peer {
    /// tokio's multi-thread runtime with the same worker count, rounds interleaved with kairos'.
    Tokio,
    /// No peer: kairos alone (for instruction counts that should see only kairos).
    None,
}

impl Peer {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Peer::Tokio => "tokio",
            Peer::None => "none",
        }
    }
}

/// Options of `sched-bench micro`.
#[derive(Debug)]
pub struct MicroOpts {
    /// Measured rounds per runtime (after one warm-up).
    pub rounds: usize,
    /// Worker threads of each runtime.
    pub workers: usize,
    /// Which benchmarks, in order; empty means all.
    pub only: Vec<Micro>,
    /// Where to write a JSON report, if anywhere.
    pub json: Option<PathBuf>,
    /// Print every round's ns/op (and kairos' counters for it) to stderr.
    pub verbose: bool,
    /// kairos' search rounds before parking (`Builder::spin_rounds`); `None`: kairos' default.
    pub kairos_spin_rounds: Option<u32>,
    /// `timer_precision`: measured seconds per row.
    pub timer_secs: u32,
    /// `spawn_sleep`: tasks spawned.
    pub spawn_sleep_tasks: u64,
    /// kairos' scheduling policy for the throughput benchmarks (`timer_precision` and
    /// `spawn_sleep` always use FIFO).
    pub policy: kairos::Policy,
    /// `Builder::record_latency` for the throughput benchmarks; `None`: the policy's default.
    pub record_latency: Option<bool>,
    /// What runs next to kairos in the throughput benchmarks.
    pub peer: Peer,
    /// Also run the Go peer where `go` is on the `PATH` (`--go`).
    pub go: bool,
    /// The full throughput table (`--wide`) rather than the compact one.
    pub wide: bool,
    /// `--pin` / `--worker-priority` of every kairos runtime.
    pub rt: RtSettings,
}

/// Result of one benchmark.
#[derive(Debug)]
pub struct MicroResult {
    /// Which benchmark.
    pub bench: Micro,
    /// kairos (under [`MicroOpts::policy`]), ns per op over the rounds.
    pub kairos: Summary,
    /// tokio, ns per op over the rounds (`None` under `--peer none`).
    pub tokio: Option<Summary>,
    /// Go, ns per op over the rounds (`None` without `--go` or without `go`).
    pub go: Option<Summary>,
    /// kairos counters over all measured rounds (divide by `rounds` for per round).
    pub kairos_counters: Counters,
    /// Measured rounds.
    pub rounds: usize,
}

impl MicroResult {
    /// tokio median / kairos median: > 1 means kairos is faster (`None` without tokio).
    pub fn ratio(&self) -> Option<f64> {
        self.tokio.as_ref().map(|t| t.median / self.kairos.median)
    }

    /// Go median / kairos median: > 1 means kairos is faster (`None` without Go).
    pub fn go_ratio(&self) -> Option<f64> {
        self.go.as_ref().map(|g| g.median / self.kairos.median)
    }
}

/// Runs the selected benchmarks, printing progress to stderr and the table to stdout.
///
/// # Errors
/// A runtime that cannot be built, a failed task, a failed report write.
pub fn run(opts: &MicroOpts) -> Result<Vec<MicroResult>, BenchError> {
    let selected: Vec<Micro> = if opts.only.is_empty() {
        Micro::ALL.to_vec()
    } else {
        opts.only.clone()
    };
    if opts.peer == Peer::None {
        if let Some(b) = selected
            .iter()
            .find(|b| matches!(b, Micro::TimerPrecision | Micro::SpawnSleep))
        {
            return Err(BenchError::Usage(format!(
                "--peer none applies to spawn_many, yield_many, ping_pong, chained_spawn, \
                 worker_pool and periodic; {} compares against tokio by design (leave it out of \
                 --only, or use --peer tokio)",
                b.name()
            )));
        }
    }
    // Create the report file first: a bad path fails now, not after the whole run.
    let json_out = opts.json.as_deref().map(json::Output::create).transpose()?;
    let go = if opts.go {
        let peer = GoPeer::find(opts.workers)?;
        if peer.is_none() {
            println!("go is not on the PATH: the Go peer is skipped (apt-get install golang-go)");
        }
        peer
    } else {
        None
    };
    let start = CpuSample::now();
    let children = spawn_sleep::ChildCpu::now();
    let mut results = Vec::with_capacity(selected.len());
    let mut timers = None;
    let mut sleeps = None;
    let mut periodic = None;
    let mut inversion = None;
    for bench in selected {
        match bench {
            Micro::TimerPrecision => {
                timers = Some(timer_precision::run(&timer_precision::TimerOpts {
                    secs: opts.timer_secs,
                    workers: opts.workers,
                    rt: opts.rt,
                })?);
                continue;
            }
            Micro::SpawnSleep => {
                let rows = spawn_sleep::run(opts.spawn_sleep_tasks, opts.workers)?;
                let go_row = go
                    .as_ref()
                    .map(|g| spawn_sleep::run_go(g, opts.spawn_sleep_tasks))
                    .transpose()?;
                sleeps = Some((rows, go_row));
                continue;
            }
            Micro::Periodic => {
                periodic = Some(busy_periodic::run(
                    opts.timer_secs,
                    opts.workers,
                    opts.rt,
                    go.as_ref(),
                )?);
                continue;
            }
            Micro::Inversion => {
                inversion = Some(inversion::run(opts.timer_secs)?);
                continue;
            }
            _ => debug_assert!(bench.is_rounds()),
        }
        eprintln!(
            "{}: warm-up + {} rounds x (kairos-{}{}{}), {} workers",
            bench.name(),
            opts.rounds,
            policy_label(opts.policy),
            match opts.peer {
                Peer::Tokio => ", tokio",
                Peer::None => "",
            },
            if go.is_some() { ", go" } else { "" },
            opts.workers
        );
        results.push(run_one(bench, opts, go.as_ref())?);
    }
    if !results.is_empty() {
        println!(
            "kairos policy: {} ({} workers, record_latency {}, workers {}; {}{})",
            policy_label(opts.policy),
            opts.workers,
            record_latency_label(opts.record_latency),
            opts.rt.describe(),
            match opts.peer {
                Peer::Tokio => format!("tokio multi-thread, {} workers", opts.workers),
                Peer::None => "no peer".to_owned(),
            },
            if go.is_some() {
                format!("; go, GOMAXPROCS={}", opts.workers)
            } else {
                String::new()
            }
        );
        println!("{}", table(&results, opts.wide));
        if let Some(t) = go_table(&results) {
            println!("{t}");
        }
    }
    if let Some((rows, notes)) = &timers {
        println!("{}", timer_precision::table(rows));
        for line in timer_precision::verdicts(rows).iter().chain(notes) {
            println!("{line}");
        }
        println!();
    }
    if let Some((rows, go_row)) = &sleeps {
        println!("{}", spawn_sleep::table(rows, go_row.as_ref()));
        for line in spawn_sleep::notes(rows, go_row.as_ref()) {
            println!("{line}");
        }
        println!();
    }
    if let Some(rows) = &periodic {
        println!("{}", busy_periodic::table(rows));
        if let Some(line) = busy_periodic::verdict(rows) {
            println!("{line}");
        }
        println!();
    }
    if let Some(rows) = &inversion {
        println!("{}", inversion::table(rows));
        for line in inversion::verdicts(rows) {
            println!("{line}");
        }
        println!();
    }
    let busy = if sleeps.is_some() || go.is_some() {
        busy_note_without_children(start, children)
    } else {
        machine::busy_note(start)
    };
    if let Some(note) = &busy {
        println!("{note}\n");
    }
    if let Some(out) = json_out {
        let go_state = match (opts.go, &go) {
            (false, _) => "off",
            (true, None) => "go not on the PATH",
            (true, Some(_)) => "ran",
        };
        let mut report = to_json(&results, opts, busy.as_deref(), go_state);
        report.timer_precision = timers
            .as_ref()
            .map(|(rows, _)| timer_precision::to_json(rows));
        report.spawn_sleep = sleeps
            .as_ref()
            .map(|(rows, go_row)| spawn_sleep::to_json(rows, go_row.as_ref()));
        report.periodic = periodic.as_deref().map(busy_periodic::to_json);
        report.inversion = inversion.as_deref();
        out.write_json("micro", json::to_value(report))?;
    }
    Ok(results)
}

fn run_one(bench: Micro, opts: &MicroOpts, go: Option<&GoPeer>) -> Result<MicroResult, BenchError> {
    let kairos = Kairos::tuned(opts.workers, opts.policy, |mut b| {
        b = opts.rt.apply(b);
        if let Some(rounds) = opts.kairos_spin_rounds {
            b = b.spin_rounds(rounds);
        }
        if let Some(on) = opts.record_latency {
            b = b.record_latency(on);
        }
        b
    })?;
    let tokio = match opts.peer {
        Peer::Tokio => Some(Tokio::new(opts.workers)?),
        Peer::None => None,
    };
    bench.measure(&kairos)?;
    if let Some(tokio) = &tokio {
        bench.measure(tokio)?;
    }
    let before = kairos.counters().unwrap_or_default();
    let mut k = Vec::with_capacity(opts.rounds);
    let mut t = Vec::with_capacity(opts.rounds);
    let mut g = Vec::with_capacity(opts.rounds);
    // One Go process per round, with one unrecorded run inside it first.
    let go_round = |g: &mut Vec<f64>| -> Result<(), BenchError> {
        if let Some(peer) = go {
            let args = RunArgs {
                warmup: 1,
                ..RunArgs::default()
            };
            if let Some(row) = bench.go_row() {
                g.push(peer.run(row, 1, args)?[0].ns_per_op);
            }
        }
        Ok(())
    };
    for round in 0..opts.rounds {
        let at_start = kairos.counters().unwrap_or_default();
        // Go first on odd rounds, last on even ones, as kairos and tokio swap places.
        if round % 2 == 1 {
            go_round(&mut g)?;
        }
        match &tokio {
            None => k.push(bench.measure(&kairos)?),
            Some(tokio) if round % 2 == 0 => {
                k.push(bench.measure(&kairos)?);
                t.push(bench.measure(tokio)?);
            }
            Some(tokio) => {
                t.push(bench.measure(tokio)?);
                k.push(bench.measure(&kairos)?);
            }
        }
        if round % 2 == 0 {
            go_round(&mut g)?;
        }
        if opts.verbose {
            let c = kairos.counters().unwrap_or_default().since(at_start);
            let tokio_ns = t
                .get(round)
                .map_or_else(String::new, |ns| format!(" tokio {}", num(*ns)));
            let go_ns = g
                .get(round)
                .map_or_else(String::new, |ns| format!(" go {}", num(*ns)));
            eprintln!(
                "  round {round}: kairos {}{tokio_ns}{go_ns} {} (kairos polls {} steals {} \
                 parks {})",
                num(k[round]),
                bench.unit(),
                c.polls,
                c.steals,
                c.parks
            );
        }
    }
    let kairos_counters = kairos.counters().unwrap_or_default().since(before);
    kairos.shutdown()?;
    if let Some(tokio) = tokio {
        tokio.shutdown()?;
    }
    let summary = |v: &[f64]| {
        Summary::of(v).ok_or_else(|| BenchError::Usage("--rounds must be at least 1".to_owned()))
    };
    Ok(MicroResult {
        bench,
        kairos: summary(&k)?,
        tokio: if t.is_empty() {
            None
        } else {
            Some(summary(&t)?)
        },
        go: if g.is_empty() {
            None
        } else {
            Some(summary(&g)?)
        },
        kairos_counters,
        rounds: opts.rounds,
    })
}

/// [`machine::busy_note`] with the CPU time of child processes (`spawn_sleep`'s and the Go
/// peer's, which the kernel books to them, not to this process) not counted as other processes'.
fn busy_note_without_children(
    start: Option<CpuSample>,
    children: spawn_sleep::ChildCpu,
) -> Option<String> {
    let share = CpuSample::now()?.others_share_since(&start?)?;
    let share = (share - children.share_since()).max(0.0);
    let hint = if share > 0.10 {
        " -- the machine was shared; rerun on a quiet machine before trusting these numbers"
    } else {
        ""
    };
    Some(format!(
        "other processes (not counting this run's child processes) used {:.0}% of the \
         machine's CPU time during this run{hint}",
        share * 100.0
    ))
}

/// The results table; the tokio columns only if some row has tokio figures (`--peer tokio`).
fn table(results: &[MicroResult], wide: bool) -> Table {
    if !wide {
        return compact_table(results);
    }
    let with_tokio = results.iter().any(|r| r.tokio.is_some());
    let tokio_header = ["tokio median", "tokio min", "tokio max", "tokio/kairos"];
    let mut header = vec![
        "benchmark",
        "unit",
        "kairos median",
        "kairos min",
        "kairos max",
    ];
    if with_tokio {
        header.extend(tokio_header);
    }
    header.extend(["kairos polls/rd", "steals/rd", "parks/rd"]);
    let mut table = Table::new(header).text_columns(2);
    for r in results {
        let per_round = |x: u64| num(x as f64 / r.rounds as f64);
        let mut row = vec![
            r.bench.name().to_owned(),
            r.bench.unit().to_owned(),
            num(r.kairos.median),
            num(r.kairos.min),
            num(r.kairos.max),
        ];
        if with_tokio {
            match (&r.tokio, r.ratio()) {
                (Some(t), Some(ratio)) => row.extend([
                    num(t.median),
                    num(t.min),
                    num(t.max),
                    format!("{ratio:.2}x"),
                ]),
                _ => row.extend(tokio_header.map(|_| "-".to_owned())),
            }
        }

        row.extend([
            per_round(r.kairos_counters.polls),
            per_round(r.kairos_counters.steals),
            per_round(r.kairos_counters.parks),
        ]);
        table.row(row);
    }
    table
}

/// The default throughput table, at most 120 columns: medians with the range over the rounds
/// beside them, and the ratio; the scheduler counters are in the `--wide` table and the JSON.
fn compact_table(results: &[MicroResult]) -> Table {
    let with_tokio = results.iter().any(|r| r.tokio.is_some());
    let range = |s: &Summary| format!("{}-{}", num(s.min), num(s.max));
    let mut header = vec!["benchmark", "unit", "kairos median", "kairos range"];
    if with_tokio {
        header.extend(["tokio median", "tokio range", "tokio/kairos"]);
    }
    let mut table = Table::new(header).text_columns(2);
    for r in results {
        let mut row = vec![
            r.bench.name().to_owned(),
            r.bench.unit().to_owned(),
            num(r.kairos.median),
            range(&r.kairos),
        ];
        if with_tokio {
            match (&r.tokio, r.ratio()) {
                (Some(t), Some(ratio)) => {
                    row.extend([num(t.median), range(t), format!("{ratio:.2}x")]);
                }
                _ => row.extend(["-".to_owned(), "-".to_owned(), "-".to_owned()]),
            }
        }
        table.row(row);
    }
    table
}

/// The Go peer's table (rows that have Go figures; `None` if none has): Go's median and range
/// beside kairos' median, in a table of its own so that neither table grows past 120 columns.
fn go_table(results: &[MicroResult]) -> Option<Table> {
    let mut table = Table::new([
        "benchmark",
        "unit",
        "kairos median",
        "go median",
        "go min",
        "go max",
        "go/kairos",
    ])
    .text_columns(2);
    let mut any = false;
    for r in results {
        if let (Some(g), Some(ratio)) = (&r.go, r.go_ratio()) {
            any = true;
            table.row([
                r.bench.name().to_owned(),
                r.bench.unit().to_owned(),
                num(r.kairos.median),
                num(g.median),
                num(g.min),
                num(g.max),
                format!("{ratio:.2}x"),
            ]);
        }
    }
    any.then_some(table)
}

/// `micro --json`: the run's settings, the throughput benchmarks' rows under `results`, and the
/// standalone benchmarks' rows (those that ran) under their own keys. Serialised by derived
/// `Serialize`.
#[derive(Debug, Serialize)]
pub struct MicroJson<'a> {
    /// [`MicroOpts::policy`] as `--policy` spells it.
    pub kairos_policy: String,
    /// [`MicroOpts::peer`].
    pub peer: &'static str,
    /// The Go peer: `off`, `ran` or `go not on the PATH`.
    pub go_peer: &'a str,
    /// [`MicroOpts::rt`], described.
    pub kairos_workers: String,
    /// [`MicroOpts::record_latency`]: `on`, `off` or `default`.
    pub kairos_record_latency: &'static str,
    /// [`MicroOpts::rounds`].
    pub rounds: usize,
    /// [`MicroOpts::workers`].
    pub workers: usize,
    /// [`MicroOpts::kairos_spin_rounds`], or `default`.
    pub kairos_spin_rounds: String,
    /// How busy the machine was, or `unknown`.
    pub machine: &'a str,
    /// The throughput benchmarks.
    pub results: Vec<MicroRowJson<'a>>,
    /// `timer_precision`'s rows, if it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timer_precision: Option<Vec<TimerRowJson<'a>>>,
    /// `spawn_sleep`'s rows, if it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spawn_sleep: Option<Vec<SleepJson<'a>>>,
    /// `periodic`'s rows, if it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub periodic: Option<Vec<PeriodicRowJson<'a>>>,
    /// `inversion`'s rows, if it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inversion: Option<&'a [InversionRow]>,
}

/// One throughput benchmark's result as its JSON report object (ns per op); a peer's figures and
/// ratio are absent where the peer did not run.
#[derive(Debug, Serialize)]
pub struct MicroRowJson<'a> {
    /// [`Micro::name`].
    pub benchmark: &'static str,
    /// [`Micro::unit`].
    pub unit: &'static str,
    /// [`Micro::ops`].
    pub ops_per_run: u64,
    /// [`MicroResult::kairos`].
    pub kairos: Summary,
    /// [`MicroResult::tokio`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokio: Option<&'a Summary>,
    /// [`MicroResult::ratio`] (`null` if not finite).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio_tokio_over_kairos: Option<f64>,
    /// [`MicroResult::go`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub go: Option<&'a Summary>,
    /// [`MicroResult::go_ratio`] (`null` if not finite).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio_go_over_kairos: Option<f64>,
    /// [`MicroResult::kairos_counters`], over all measured rounds.
    pub kairos_counters_total: CountersJson,
}

impl MicroResult {
    /// This result's JSON report object.
    pub fn json(&self) -> MicroRowJson<'_> {
        MicroRowJson {
            benchmark: self.bench.name(),
            unit: self.bench.unit(),
            ops_per_run: self.bench.ops(),
            kairos: self.kairos,
            tokio: self.tokio.as_ref(),
            ratio_tokio_over_kairos: self.ratio(),
            go: self.go.as_ref(),
            ratio_go_over_kairos: self.go_ratio(),
            kairos_counters_total: CountersJson::of(self.kairos_counters),
        }
    }
}

/// The report without the standalone benchmarks' rows (the caller adds those that ran).
fn to_json<'a>(
    results: &'a [MicroResult],
    opts: &MicroOpts,
    busy: Option<&'a str>,
    go_state: &'a str,
) -> MicroJson<'a> {
    MicroJson {
        kairos_policy: policy_label(opts.policy),
        peer: opts.peer.name(),
        go_peer: go_state,
        kairos_workers: opts.rt.describe(),
        kairos_record_latency: record_latency_label(opts.record_latency),
        rounds: opts.rounds,
        workers: opts.workers,
        kairos_spin_rounds: opts
            .kairos_spin_rounds
            .map_or_else(|| "default".to_owned(), |n| n.to_string()),
        machine: busy.unwrap_or("unknown"),
        results: results.iter().map(MicroResult::json).collect(),
        timer_precision: None,
        spawn_sleep: None,
        periodic: None,
        inversion: None,
    }
}

/// [`MicroOpts::record_latency`] as the report shows it: `on`, `off` or `default`.
fn record_latency_label(record_latency: Option<bool>) -> &'static str {
    match record_latency {
        Some(true) => "on",
        Some(false) => "off",
        None => "default",
    }
}

/// `fifo`, `edf`, `priority`, `fair`: the policy as `--policy` spells it.
fn policy_label(policy: kairos::Policy) -> String {
    policy.to_string().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The document has the schema version, the settings, one object per result (a peer that
    /// did not run leaves no keys) and only the standalone rows that ran.
    #[test]
    fn json_report_keeps_its_keys() {
        let s = Summary::single;
        let results = [MicroResult {
            bench: Micro::SpawnMany,
            kairos: s(10.0),
            tokio: Some(s(20.0)),
            go: None,
            kairos_counters: Counters {
                polls: 5,
                ..Counters::default()
            },
            rounds: 1,
        }];
        let opts = MicroOpts {
            rounds: 1,
            workers: 2,
            only: Vec::new(),
            json: None,
            verbose: false,
            kairos_spin_rounds: None,
            timer_secs: 1,
            spawn_sleep_tasks: 1,
            policy: kairos::Policy::Fifo,
            record_latency: Some(false),
            peer: Peer::Tokio,
            go: false,
            wide: false,
            rt: RtSettings::default(),
        };
        let mut report = to_json(&results, &opts, None, "off");
        report.inversion = Some(&[]);
        let v = json::written_and_read("micro", report);
        assert_eq!(
            (&v["kairos_policy"], &v["peer"]),
            (&"fifo".into(), &"tokio".into())
        );
        assert_eq!(v["kairos_record_latency"], "off");
        assert_eq!(
            (&v["kairos_spin_rounds"], &v["machine"]),
            (&"default".into(), &"unknown".into())
        );
        assert_eq!(
            (v["rounds"].as_u64(), v["workers"].as_u64()),
            (Some(1), Some(2))
        );
        let r = &v["results"][0];
        assert_eq!(r["benchmark"], "spawn_many");
        assert_eq!(r["kairos"]["median"], 10.0);
        assert_eq!(r["ratio_tokio_over_kairos"], 2.0);
        assert!(r.get("go").is_none() && r.get("ratio_go_over_kairos").is_none());
        assert_eq!(r["kairos_counters_total"]["polls"], 5);
        assert!(r["kairos_counters_total"].get("preemptions").is_none());
        assert_eq!(v["inversion"], serde_json::json!([]));
        assert!(v.get("timer_precision").is_none() && v.get("periodic").is_none());
    }
}
