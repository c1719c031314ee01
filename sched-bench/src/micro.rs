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
//!
//! Two more benchmarks measure time and memory rather than throughput, have their own tables and
//! modules, and are **not** part of the default run (they take about 25 s together, against a
//! few seconds for the four above); select them with `--only timer_precision,spawn_sleep`:
//!
//! | benchmark | what it measures | module |
//! |---|---|---|
//! | `timer_precision` | release→poll latency of a 1 ms periodic task (p50/p99/p99.9/max), kairos, kairos with `timer_spin`, tokio and a bare `clock_nanosleep` thread | [`crate::timer_precision`] |
//! | `spawn_sleep` | 1M tasks each sleeping 1 s: spawn ns/task and peak RSS per task, one child process per runtime | [`crate::spawn_sleep`] |
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
//! `--peer none` leaves tokio out of these four benchmarks: no tokio runtime is built, the table
//! has kairos' columns only, and the JSON rows have no `tokio` and `ratio_tokio_over_kairos` keys
//! (the top-level `peer` says which). Then everything the process executes after start-up is
//! kairos and the benchmark code, which is what an instruction count under cachegrind
//! (`scripts/cachegrind-micro.sh`) should see. `timer_precision` and `spawn_sleep` compare
//! against tokio by design and are refused with `--peer none`.

use crate::chan;
use crate::error::{BenchError, TaskFailed};
use crate::exec::{run_root, Counters, Exec, Kairos, Tokio};
use crate::json::{self, Obj};
use crate::machine::{self, CpuSample};
use crate::spawn_sleep;
use crate::stats::Summary;
use crate::table::{num, Table};
use crate::timer_precision;
use crate::watchdog::Watchdog;
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
    /// Release->poll latency of a 1 ms periodic task: kairos, kairos timer_spin, tokio, kernel
    /// floor (not in the default run: --timer-secs, default 5, per row).
    #[value(name = "timer_precision")]
    TimerPrecision,
    /// 1M tasks each sleeping 1 s: spawn ns/task, peak RSS per task, one child process per
    /// runtime (not in the default run).
    #[value(name = "spawn_sleep")]
    SpawnSleep,
}

impl Micro {
    /// The benchmarks of the default run (no `--only`), in report order: the round-based ones.
    /// `timer_precision` and `spawn_sleep` run only when named in `--only`.
    pub const ALL: [Micro; 4] = [
        Micro::SpawnMany,
        Micro::YieldMany,
        Micro::PingPong,
        Micro::ChainedSpawn,
    ];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Micro::SpawnMany => "spawn_many",
            Micro::YieldMany => "yield_many",
            Micro::PingPong => "ping_pong",
            Micro::ChainedSpawn => "chained_spawn",
            Micro::TimerPrecision => "timer_precision",
            Micro::SpawnSleep => "spawn_sleep",
        }
    }

    /// Whether this is one of the round-based throughput benchmarks (kairos and tokio
    /// interleaved, one table), as opposed to one with its own module and table.
    fn is_rounds(self) -> bool {
        !matches!(self, Micro::TimerPrecision | Micro::SpawnSleep)
    }

    /// What one "op" is.
    pub fn unit(self) -> &'static str {
        match self {
            Micro::SpawnMany | Micro::ChainedSpawn => "ns/spawn",
            Micro::YieldMany => "ns/yield",
            Micro::PingPong => "ns/round trip",
            Micro::TimerPrecision => "us release->poll",
            Micro::SpawnSleep => "ns/spawn, B/task",
        }
    }

    /// Ops in one run.
    pub fn ops(self) -> u64 {
        match self {
            Micro::SpawnMany => SPAWN_MANY as u64,
            Micro::YieldMany => (YIELD_TASKS * YIELDS_PER_TASK) as u64,
            Micro::PingPong => ROUND_TRIPS as u64,
            Micro::ChainedSpawn => u64::from(CHAIN_DEPTH),
            Micro::TimerPrecision => 0,
            Micro::SpawnSleep => spawn_sleep::TASKS,
        }
    }

    /// One run on `exec`: ns per op.
    fn measure<E: Exec>(self, exec: &E) -> Result<f64, BenchError> {
        let _watchdog = Watchdog::arm(format!("{} on {}", self.name(), exec.label()), HANG_LIMIT);
        let elapsed = match self {
            Micro::SpawnMany => run_root(exec, spawn_many::<E>()),
            Micro::YieldMany => run_root(exec, yield_many::<E>()),
            Micro::PingPong => run_root(exec, ping_pong::<E>()),
            Micro::ChainedSpawn => run_root(exec, chained_spawn::<E>()),
            Micro::TimerPrecision | Micro::SpawnSleep => {
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
        if let Some(b) = selected.iter().find(|b| !b.is_rounds()) {
            return Err(BenchError::Usage(format!(
                "--peer none applies to spawn_many, yield_many, ping_pong and chained_spawn; {} \
                 compares against tokio by design (leave it out of --only, or use --peer tokio)",
                b.name()
            )));
        }
    }
    // Create the report file first: a bad path fails now, not after the whole run.
    let json_out = opts.json.as_deref().map(json::Output::create).transpose()?;
    let start = CpuSample::now();
    let children = spawn_sleep::ChildCpu::now();
    let mut results = Vec::with_capacity(selected.len());
    let mut timers = None;
    let mut sleeps = None;
    for bench in selected {
        match bench {
            Micro::TimerPrecision => {
                timers = Some(timer_precision::run(&timer_precision::TimerOpts {
                    secs: opts.timer_secs,
                    workers: opts.workers,
                })?);
                continue;
            }
            Micro::SpawnSleep => {
                sleeps = Some(spawn_sleep::run(opts.spawn_sleep_tasks, opts.workers)?);
                continue;
            }
            _ => debug_assert!(bench.is_rounds()),
        }
        eprintln!(
            "{}: warm-up + {} rounds x (kairos-{}{}), {} workers",
            bench.name(),
            opts.rounds,
            policy_label(opts.policy),
            match opts.peer {
                Peer::Tokio => ", tokio",
                Peer::None => "",
            },
            opts.workers
        );
        results.push(run_one(bench, opts)?);
    }
    if !results.is_empty() {
        println!(
            "kairos policy: {} ({} workers, record_latency {}; {})",
            policy_label(opts.policy),
            opts.workers,
            match opts.record_latency {
                Some(true) => "on",
                Some(false) => "off",
                None => "default",
            },
            match opts.peer {
                Peer::Tokio => format!("tokio multi-thread, {} workers", opts.workers),
                Peer::None => "no peer".to_owned(),
            }
        );
        println!("{}", table(&results));
    }
    if let Some(rows) = &timers {
        println!("{}", timer_precision::table(rows));
        for line in timer_precision::verdicts(rows) {
            println!("{line}");
        }
        println!();
    }
    if let Some(rows) = &sleeps {
        println!("{}", spawn_sleep::table(rows));
        for line in spawn_sleep::notes(rows) {
            println!("{line}");
        }
        println!();
    }
    let busy = if sleeps.is_some() {
        busy_note_without_children(start, children)
    } else {
        machine::busy_note(start)
    };
    if let Some(note) = &busy {
        println!("{note}\n");
    }
    if let Some(out) = json_out {
        let mut extra = Vec::new();
        if let Some(rows) = &timers {
            extra.push(("timer_precision", timer_precision::to_json(rows)));
        }
        if let Some(rows) = &sleeps {
            extra.push(("spawn_sleep", spawn_sleep::to_json(rows)));
        }
        out.write_json("micro", to_json(&results, opts, busy.as_deref(), &extra))?;
    }
    Ok(results)
}

fn run_one(bench: Micro, opts: &MicroOpts) -> Result<MicroResult, BenchError> {
    let kairos = Kairos::tuned(opts.workers, opts.policy, |mut b| {
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
    for round in 0..opts.rounds {
        let at_start = kairos.counters().unwrap_or_default();
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
        if opts.verbose {
            let c = kairos.counters().unwrap_or_default().since(at_start);
            let tokio_ns = t
                .get(round)
                .map_or_else(String::new, |ns| format!(" tokio {}", num(*ns)));
            eprintln!(
                "  round {round}: kairos {}{tokio_ns} {} (kairos polls {} steals {} parks {})",
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
        kairos_counters,
        rounds: opts.rounds,
    })
}

/// [`machine::busy_note`] with the CPU time of `spawn_sleep`'s child processes (which the kernel
/// books to them, not to this process) not counted as other processes'.
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
        "other processes (not counting spawn_sleep's child processes) used {:.0}% of the \
         machine's CPU time during this run{hint}",
        share * 100.0
    ))
}

/// The results table; the tokio columns only if some row has tokio figures (`--peer tokio`).
fn table(results: &[MicroResult]) -> Table {
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

/// The report; `extra` are further top-level keys (the standalone benchmarks' rows).
fn to_json(
    results: &[MicroResult],
    opts: &MicroOpts,
    busy: Option<&str>,
    extra: &[(&str, serde_json::Value)],
) -> serde_json::Value {
    let rows = results.iter().map(|r| {
        let mut row = Obj::new()
            .str("benchmark", r.bench.name())
            .str("unit", r.bench.unit())
            .int("ops_per_run", r.bench.ops())
            .val("kairos", r.kairos);
        if let (Some(t), Some(ratio)) = (&r.tokio, r.ratio()) {
            row = row.val("tokio", t).num("ratio_tokio_over_kairos", ratio);
        }
        row.val(
            "kairos_counters_total",
            Obj::new()
                .int("polls", r.kairos_counters.polls)
                .int("steals", r.kairos_counters.steals)
                .int("parks", r.kairos_counters.parks)
                .finish(),
        )
        .finish()
    });
    let mut obj = Obj::new()
        .str("command", "micro")
        .str("kairos_policy", &policy_label(opts.policy))
        .str("peer", opts.peer.name())
        .str(
            "kairos_record_latency",
            match opts.record_latency {
                Some(true) => "on",
                Some(false) => "off",
                None => "default",
            },
        )
        .int("rounds", opts.rounds as u64)
        .int("workers", opts.workers as u64)
        .str(
            "kairos_spin_rounds",
            &opts
                .kairos_spin_rounds
                .map_or_else(|| "default".to_owned(), |n| n.to_string()),
        )
        .str("machine", busy.unwrap_or("unknown"))
        .val("results", json::array(rows));
    for (key, value) in extra {
        obj = obj.val(key, value);
    }
    obj.finish()
}

/// `fifo`, `edf`, `priority`, `fair`: the policy as `--policy` spells it.
fn policy_label(policy: kairos::Policy) -> String {
    policy.to_string().to_lowercase()
}
