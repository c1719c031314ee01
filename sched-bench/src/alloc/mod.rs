//! `sched-bench alloc`: kairos-alloc against the system allocator and mimalloc (issue 4).
//!
//! # What is measured
//!
//! Every case uses 128-byte blocks (layout 128 bytes, align 16) and writes the first word of
//! each block it gets. Allocators: `kairos` (a `kairos_alloc::Pool` of 128-byte blocks, 64 MiB,
//! through an explicitly owned per-thread `Heap`), `kairos-tls` (the same pool through
//! `Pool::alloc`/`Pool::free`, which find the thread's heap in a thread-local table, as the
//! executor's path does), `system` (`std::alloc::System`, glibc malloc) and `mimalloc`
//! (`MiMalloc` called through `GlobalAlloc`, not installed as the global allocator), and
//! `harness`: no allocator at all (the same buffer every time, frees do nothing), the floor of
//! every row: what the loop, the touch, the channel or ring and the clock cost by themselves;
//! see [`family`].
//!
//! | case | one run | reported |
//! |---|---|---|
//! | `pair` | alloc, touch, free, 2^20 times on one thread | ns per pair |
//! | `shuffled_1k` | 1,024 cycles: allocate 1,024 blocks, free them in a seeded shuffled order ([`shuffle`]) | ns per alloc+free |
//! | `shuffled_64k` | 16 cycles of the same with 65,536 live blocks (8 MiB) | ns per alloc+free |
//! | `cross_thread` | thread A allocates 2^20 blocks in batches of 256 sent over a bounded `mpsc` channel; thread B frees them (every free remote); not pinned | ns per block |
//! | `stream` | producer allocates 2^20 blocks one by one, pushes them through a 1,024-slot SPSC ring ([`spsc`]); consumer pops and frees; pinned to two cores | ns per block |
//! | `latency` | `stream` with every allocation timed on its own ([`latency`]) | p50, p99, p99.9, p99.99, max in ns |
//! | `faults` | warm up 2 cycles of `shuffled_64k`, then count `getrusage(RUSAGE_SELF)` minor+major faults over 8 more | faults per run |
//! | `spawn_many` | kairos, 2 workers, 100k no-op tasks spawned from a worker and awaited, `TaskAllocator::Pool` vs `System` ([`spawn`]) | ns per spawn |
//!
//! The time cases also count the page faults their measured threads took (`RUSAGE_THREAD`,
//! [`faults`]): a non-zero count in steady state shows an allocator going back to the kernel.
//!
//! # How
//!
//! Per case: one warm-up run per allocator, then `--rounds` rounds; in round `r` the allocators
//! run in the order rotated by `r`, so background noise and the cache state a predecessor leaves
//! fall on each alike. Medians of the rounds are reported with min and max, and the ratio
//! median / mimalloc's median (< 1: faster than mimalloc). The kairos pool is created (reserved
//! and pre-faulted) once, before the first case, and serves all rounds. Each run is guarded by a
//! [`Watchdog`]. The targets of issues 4 and 17 are checked at the end ([`report`]) against the
//! `kairos` row.

mod cases;
mod family;
mod faults;
mod latency;
mod report;
mod shuffle;
mod spawn;
mod spsc;
mod threads;

use crate::error::BenchError;
use crate::json;
use crate::machine::{self, CpuSample};
use crate::stats::Summary;
use crate::watchdog::Watchdog;
use family::{with_family, Family, KairosPool, Which};
use std::path::PathBuf;
use std::ptr::NonNull;
use std::time::Duration;

/// A run taking longer than this is a hang (runs take tens of milliseconds).
const HANG_LIMIT: Duration = Duration::from_secs(60);

/// Warm-up cycles of the `faults` loop before counting.
const FAULT_WARM_CYCLES: usize = 2;
/// Counted cycles of the `faults` loop.
const FAULT_CYCLES: usize = 8;

/// One benchmark case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Case {
    /// Same-thread alloc+free pairs.
    #[value(name = "pair")]
    Pair,
    /// 1,024 live blocks freed in shuffled order.
    #[value(name = "shuffled_1k")]
    Shuffled1k,
    /// 65,536 live blocks freed in shuffled order.
    #[value(name = "shuffled_64k")]
    Shuffled64k,
    /// Allocated on one thread, freed on another, in batches.
    #[value(name = "cross_thread")]
    CrossThread,
    /// Producer to consumer, one block at a time, pinned threads.
    #[value(name = "stream")]
    Stream,
    /// Allocation latency tail while a consumer frees remotely.
    #[value(name = "latency")]
    Latency,
    /// Page faults in a warm steady-state loop.
    #[value(name = "faults")]
    Faults,
    /// kairos spawn_many with TaskAllocator::Pool vs System.
    #[value(name = "spawn_many")]
    SpawnMany,
}

impl Case {
    /// Every case, in report order.
    pub const ALL: [Case; 8] = [
        Case::Pair,
        Case::Shuffled1k,
        Case::Shuffled64k,
        Case::CrossThread,
        Case::Stream,
        Case::Latency,
        Case::Faults,
        Case::SpawnMany,
    ];

    /// The name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Case::Pair => "pair",
            Case::Shuffled1k => "shuffled_1k",
            Case::Shuffled64k => "shuffled_64k",
            Case::CrossThread => "cross_thread",
            Case::Stream => "stream",
            Case::Latency => "latency",
            Case::Faults => "faults",
            Case::SpawnMany => "spawn_many",
        }
    }

    /// The metrics one run yields: (name, unit). Most cases have one.
    pub fn metrics(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Case::Pair => &[("pair", "ns/pair")],
            Case::Shuffled1k => &[("shuffled_1k", "ns/alloc+free")],
            Case::Shuffled64k => &[("shuffled_64k", "ns/alloc+free")],
            Case::CrossThread => &[("cross_thread", "ns/block")],
            Case::Stream => &[("stream", "ns/block")],
            Case::Latency => &[
                ("latency p50", "ns/alloc"),
                ("latency p99", "ns/alloc"),
                ("latency p99.9", "ns/alloc"),
                ("latency p99.99", "ns/alloc"),
                ("latency max", "ns/alloc"),
            ],
            Case::Faults => &[("faults", "faults/run")],
            Case::SpawnMany => &[("spawn_many", "ns/spawn")],
        }
    }
}

/// Options of `sched-bench alloc`.
#[derive(Debug)]
pub struct AllocOpts {
    /// Measured rounds per allocator (after one warm-up).
    pub rounds: usize,
    /// Which cases, in order; empty means all.
    pub only: Vec<Case>,
    /// Where to write a JSON report, if anywhere.
    pub json: Option<PathBuf>,
    /// Print every run's result to stderr.
    pub verbose: bool,
}

/// What the cases share: the kairos pool, the free orders, the cores to pin to.
struct Ctx {
    pool: KairosPool,
    order_small: Vec<usize>,
    order_large: Vec<usize>,
    cores: Option<[core_affinity::CoreId; 2]>,
}

/// One run's result: a value per metric of its case, the measured threads' page faults, and
/// whether its threads were pinned (two-thread cases).
#[derive(Clone, Debug)]
struct Measured {
    values: Vec<f64>,
    faults: u64,
    pinned: Option<bool>,
}

/// One table row: one metric of one case on one allocator, over the rounds.
#[derive(Clone, Debug)]
pub struct Row {
    /// The case.
    pub case: Case,
    /// The metric's name (the case's name, or e.g. `latency p99.99`).
    pub metric: &'static str,
    /// Its unit.
    pub unit: &'static str,
    /// Which allocator (or task allocator, for `spawn_many`).
    pub allocator: &'static str,
    /// The metric over the rounds.
    pub summary: Summary,
    /// Page faults per run of the measured threads over the rounds (first metric of a case).
    pub faults: Option<Summary>,
    /// Whether every run's threads were pinned (two-thread cases).
    pub pinned: Option<bool>,
}

/// Runs the selected cases, printing progress to stderr and the tables to stdout.
///
/// # Errors
/// An allocator or runtime that cannot be built, an allocation that failed, a failed report
/// write.
pub fn run(opts: &AllocOpts) -> Result<Vec<Row>, BenchError> {
    if opts.rounds == 0 {
        return Err(BenchError::Usage("--rounds must be at least 1".to_owned()));
    }
    let selected: Vec<Case> = if opts.only.is_empty() {
        Case::ALL.to_vec()
    } else {
        opts.only.clone()
    };
    let json_out = opts.json.as_deref().map(json::Output::create).transpose()?;
    let start = CpuSample::now();
    let ctx = Ctx {
        pool: KairosPool::new()?,
        order_small: shuffle::permutation(cases::SHUFFLED_SMALL, shuffle::SEED),
        order_large: shuffle::permutation(cases::SHUFFLED_LARGE, shuffle::SEED),
        cores: threads::two_cores(),
    };
    let mut rows = Vec::new();
    let mut clock = None;
    for &case in &selected {
        eprintln!(
            "{}: warm-up + {} rounds x ({})",
            case.name(),
            opts.rounds,
            if case == Case::SpawnMany {
                "Pool, System".to_owned()
            } else {
                Which::ALL.map(Which::name).join(", ")
            }
        );
        if case == Case::SpawnMany {
            rows.extend(run_spawn_many(opts)?);
            continue;
        }
        rows.extend(run_case(case, &ctx, opts)?);
        if case == Case::Latency {
            clock = Some(latency::clock_only(ctx.cores.map(|c| c[0]))?);
        }
    }
    let pinning = pinning_note(&rows, ctx.cores.is_some());
    let pool = pool_note(&ctx.pool)?;
    let busy = machine::busy_note(start);
    let report = report::Report {
        rows: &rows,
        clock,
        pinning: pinning.as_deref(),
        pool: &pool,
        busy: busy.as_deref(),
        rounds: opts.rounds,
    };
    print!("{}", report.text());
    if let Some(out) = json_out {
        out.write_json("alloc", json::to_value(report.json()))?;
    }
    Ok(rows)
}

/// Warm-up, then `rounds` rotated rounds of `case` on every allocator.
fn run_case(case: Case, ctx: &Ctx, opts: &AllocOpts) -> Result<Vec<Row>, BenchError> {
    let n = Which::ALL.len();
    for which in Which::ALL {
        measure(case, which, ctx)?;
    }
    let mut runs: Vec<Vec<Measured>> = vec![Vec::with_capacity(opts.rounds); n];
    for round in 0..opts.rounds {
        for k in 0..n {
            let index = (k + round) % n;
            let which = Which::ALL[index];
            let m = measure(case, which, ctx)?;
            if opts.verbose {
                eprintln!(
                    "  round {round}: {:<10} {:?} faults {}",
                    which.name(),
                    m.values,
                    m.faults
                );
            }
            runs[index].push(m);
        }
    }
    let mut rows = Vec::new();
    for (m, &(metric, unit)) in case.metrics().iter().enumerate() {
        for (which, runs) in Which::ALL.iter().zip(&runs) {
            let values: Vec<f64> = runs.iter().map(|r| r.values[m]).collect();
            let faults: Vec<f64> = runs.iter().map(|r| r.faults as f64).collect();
            rows.push(Row {
                case,
                metric,
                unit,
                allocator: which.name(),
                summary: summary(&values)?,
                faults: if m == 0 { Summary::of(&faults) } else { None },
                pinned: runs
                    .iter()
                    .map(|r| r.pinned)
                    .try_fold(true, |all, p| p.map(|p| all && p)),
            });
        }
    }
    Ok(rows)
}

fn summary(values: &[f64]) -> Result<Summary, BenchError> {
    Summary::of(values).ok_or_else(|| BenchError::Usage("--rounds must be at least 1".to_owned()))
}

/// One run of `case` on `which`.
fn measure(case: Case, which: Which, ctx: &Ctx) -> Result<Measured, BenchError> {
    let _watchdog = Watchdog::arm(
        format!("alloc {} on {}", case.name(), which.name()),
        HANG_LIMIT,
    );
    with_family!(which, &ctx.pool, |a| measure_on(case, a, ctx))
}

fn measure_on<A: Family>(case: Case, a: &A, ctx: &Ctx) -> Result<Measured, BenchError> {
    let one = |r: cases::Run| Measured {
        values: vec![r.ns],
        faults: r.faults,
        pinned: r.pinned,
    };
    Ok(match case {
        Case::Pair => one(cases::pair(a)?),
        Case::Shuffled1k => one(cases::shuffled(a, &ctx.order_small)?),
        Case::Shuffled64k => one(cases::shuffled(a, &ctx.order_large)?),
        Case::CrossThread => one(cases::cross_thread(a)?),
        Case::Stream => one(cases::stream(a, ctx.cores)?),
        Case::Latency => {
            let (tail, faults, pinned) = latency::latency(a, ctx.cores)?;
            Measured {
                values: vec![tail.p50, tail.p99, tail.p999, tail.p9999, tail.max],
                faults,
                pinned: Some(pinned),
            }
        }
        Case::Faults => {
            let faults = steady_state_faults(a, &ctx.order_large)?;
            Measured {
                values: vec![faults as f64],
                faults,
                pinned: None,
            }
        }
        Case::SpawnMany => unreachable!("spawn_many runs on kairos runtimes, not on a Family"),
    })
}

/// The `faults` case: whole-process page faults over [`FAULT_CYCLES`] warm cycles of the
/// 65,536-block shuffled churn, after [`FAULT_WARM_CYCLES`] uncounted ones.
fn steady_state_faults<A: Family>(a: &A, order: &[usize]) -> Result<u64, BenchError> {
    let local = a.local()?;
    let mut blocks: Vec<NonNull<u8>> = cases::scratch(order.len());
    cases::churn(a, &local, order, &mut blocks, FAULT_WARM_CYCLES)?;
    let before = faults::process();
    cases::churn(a, &local, order, &mut blocks, FAULT_CYCLES)?;
    Ok(faults::process().saturating_sub(before))
}

/// `spawn_many`: both kairos runtimes, one warm-up each, rounds alternating (order flipped).
fn run_spawn_many(opts: &AllocOpts) -> Result<Vec<Row>, BenchError> {
    use kairos::TaskAllocator;
    let pool = spawn::SpawnRuntime::new(TaskAllocator::Pool)?;
    let system = spawn::SpawnRuntime::new(TaskAllocator::System)?;
    pool.measure()?;
    system.measure()?;
    let (mut p, mut s) = (Vec::new(), Vec::new());
    for round in 0..opts.rounds {
        if round % 2 == 0 {
            p.push(pool.measure()?);
            s.push(system.measure()?);
        } else {
            s.push(system.measure()?);
            p.push(pool.measure()?);
        }
        if opts.verbose {
            eprintln!(
                "  round {round}: Pool {:.1} System {:.1} ns/spawn",
                p[round], s[round]
            );
        }
    }
    pool.shutdown()?;
    system.shutdown()?;
    let row = |allocator, values: &[f64]| {
        Ok(Row {
            case: Case::SpawnMany,
            metric: "spawn_many",
            unit: "ns/spawn",
            allocator,
            summary: summary(values)?,
            faults: None,
            pinned: None,
        })
    };
    Ok(vec![
        row(spawn::name(TaskAllocator::Pool), &p)?,
        row(spawn::name(TaskAllocator::System), &s)?,
    ])
}

/// Says whether the pinned cases really ran pinned.
fn pinning_note(rows: &[Row], had_cores: bool) -> Option<String> {
    let pinned: Vec<bool> = rows.iter().filter_map(|r| r.pinned).collect();
    if pinned.is_empty() {
        return None;
    }
    Some(if pinned.iter().all(|&p| p) {
        "stream and latency: producer pinned to the first core, consumer to the second \
         (core_affinity)"
            .to_owned()
    } else if !had_cores {
        "stream and latency: pinning FAILED (core_affinity found fewer than two cores); \
         threads ran unpinned"
            .to_owned()
    } else {
        "stream and latency: pinning FAILED for some runs (core_affinity::set_for_current \
         refused); those threads ran unpinned"
            .to_owned()
    })
}

/// The kairos pool's counters after the run, and a check that every block came back: a live
/// block here would be a kairos-alloc bug (every case frees what it allocates).
fn pool_note(pool: &KairosPool) -> Result<String, BenchError> {
    let s = pool.pool().stats();
    if s.live_blocks != 0 || s.fallback_allocs != 0 {
        return Err(family::alloc_failed(
            Which::Kairos,
            format!(
                "after the run the pool reports {} live blocks and {} fallback allocations; \
                 expected 0 and 0 (a kairos-alloc accounting bug or leak)",
                s.live_blocks, s.fallback_allocs
            ),
        ));
    }
    Ok(format!(
        "kairos pool after the run: {} allocations, {} local and {} remote frees, 0 live; \
         chunks in use {} of {}; heaps owned {}, abandoned {}, adoptions {}",
        s.allocs,
        s.local_frees,
        s.remote_frees,
        s.chunks_in_use,
        s.chunks_total,
        s.heaps_owned,
        s.heaps_abandoned,
        s.adoptions
    ))
}
