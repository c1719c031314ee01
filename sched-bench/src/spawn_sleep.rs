//! `sched-bench micro --only spawn_sleep`: spawn cost and memory per task with a million tasks
//! alive at once.
//!
//! # What is measured
//!
//! A root task on a worker spawns `--spawn-sleep-tasks` tasks (default [`TASKS`], one million),
//! each of which sleeps [`SLEEP`] (1 s) on its runtime's timer, keeps every `JoinHandle` in a
//! `Vec` (allocated before the clock starts), then awaits them all. Reported:
//!
//! - **spawn ns/task**: time of the spawn loop divided by the task count (the other worker is
//!   already polling the first tasks meanwhile, as in an application);
//! - **memory per task**: `(peak RSS − RSS before the runtime was built) / tasks`, peak RSS being
//!   the kernel's high-water mark (`VmHWM` in `/proc/self/status`) read after every task was
//!   awaited. It includes the task blocks, the timer entries, the handle `Vec` (8 bytes a task)
//!   and anything else the runtime allocated for the run. All tasks are alive at the peak: each
//!   sleeps 1 s, longer than spawning all of them takes.
//!
//! # Rows, one child process each
//!
//! Each row runs in its own child process (this binary re-executed with the hidden subcommand
//! `spawn-sleep-child`), so no runtime's memory, allocator caches or page faults pollute another
//! row's RSS. The child prints one line of `key=value` pairs ([`ChildReport`]) on stdout.
//!
//! | row | task memory |
//! |---|---|
//! | `kairos (pool)` | kairos' default task pool, sized for the run with `kairos::configure_task_pool` before the runtime is built |
//! | `kairos (TaskAllocator::System)` | every task block boxed by the global allocator (glibc malloc here): the clean per-task figure |
//! | `tokio` | tokio's own (boxed) tasks |
//!
//! The task pool is **pre-faulted**: its whole capacity is resident from `configure_task_pool`
//! on, used or not. So the pool row shows the gross figure (which counts the untouched part of
//! the pool), the pre-faulted pool per task, and a *net* figure that counts only the pool chunks
//! the run actually took (`chunks_in_use` × chunk size, read right after the spawn loop, when
//! all tasks are alive) plus everything outside the pool. The chunk size is derived as pool
//! capacity / `chunks_total`.
//!
//! The pool is sized as [`POOL_BYTES_PER_TASK`] × tasks + [`POOL_SLACK`], rounded up to a MiB: a
//! sleeping task's block is at most 192 bytes (the note under the table showed 160 bytes of chunk
//! per live block on 2026-12-04). The note prints the pool bytes per live block, and tasks the
//! pool could not hold are counted in the `boxed` column, which must be 0: if a future kairos
//! grows the task block past 192 bytes, `boxed` says so.
//!
//! # Go (`--go`)
//!
//! With `micro --go` and `go` on the `PATH`, a last row runs the Go peer's `spawn_sleep` row
//! ([`crate::go_peer`]; `GOMAXPROCS` = `--workers`) in its own process: the main goroutine starts
//! `--spawn-sleep-tasks` goroutines that each `time.Sleep(1 s)`, waits until every one has
//! started, and reads `VmRSS` then. Its bytes per task are `(VmRSS then − VmRSS before) / tasks`
//! (the current resident size while all goroutines sleep, not the high-water mark); they go in
//! both the gross and the net column (nothing is pre-faulted), and its spawn time is the time
//! until every goroutine had started. The other columns are `-`.
//!
//! # Other processes' CPU
//!
//! The children's CPU time is this process's *children* time, which [`crate::machine`] would
//! count as other processes. [`ChildCpu`] measures it (`getrusage(RUSAGE_CHILDREN)`) and it is
//! subtracted, as a share of the window's wall time × CPUs, from the "others' CPU" figures.

use crate::error::BenchError;
use crate::go_peer::{GoPeer, RunArgs};
use crate::machine::CpuSample;
use crate::table::{num, Table};
use crate::watchdog::Watchdog;
use serde::Serialize;
use std::fmt;
use std::process::Command;
use std::str::FromStr;
use std::time::{Duration, Instant};

/// Tasks spawned by default.
pub const TASKS: u64 = 1_000_000;
/// How long each task sleeps.
pub const SLEEP: Duration = Duration::from_secs(1);
/// Task-pool bytes reserved per task: at least the size class of a task block holding a sleep
/// future (160 bytes of chunk per block measured; 192 leaves room).
pub const POOL_BYTES_PER_TASK: usize = 192;
/// Extra pool capacity: partly used chunks of each heap, and the root task.
pub const POOL_SLACK: usize = 8 << 20;
/// A child taking longer than this is treated as hung (it exits with the watchdog's status).
const HANG_LIMIT: Duration = Duration::from_secs(120);

/// Which runtime a child measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ChildRuntime {
    /// kairos with its task pool.
    Kairos,
    /// kairos with `TaskAllocator::System`.
    #[value(name = "kairos-system")]
    KairosSystem,
    /// tokio's multi-thread runtime.
    Tokio,
}

impl ChildRuntime {
    /// The rows, in table order.
    pub const ALL: [ChildRuntime; 3] = [
        ChildRuntime::Kairos,
        ChildRuntime::KairosSystem,
        ChildRuntime::Tokio,
    ];

    /// The name on the child's command line.
    pub fn arg(self) -> &'static str {
        match self {
            ChildRuntime::Kairos => "kairos",
            ChildRuntime::KairosSystem => "kairos-system",
            ChildRuntime::Tokio => "tokio",
        }
    }

    /// The row label.
    pub fn label(self) -> &'static str {
        match self {
            ChildRuntime::Kairos => "kairos (pool)",
            ChildRuntime::KairosSystem => "kairos (TaskAllocator::System)",
            ChildRuntime::Tokio => "tokio",
        }
    }
}

/// What a child measured; all memory figures in bytes. Printed as one `key=value` line; its
/// fields, under the same names, are also the first fields of the row's JSON object.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ChildReport {
    /// Tasks spawned.
    pub tasks: u64,
    /// Time of the spawn loop, ns.
    pub spawn_ns: u64,
    /// Time from the first spawn until the last handle was awaited, ns.
    pub total_ns: u64,
    /// `VmRSS` before anything (pool, runtime) was created.
    pub rss_start: u64,
    /// `VmRSS` after `configure_task_pool` (the pre-faulted pool); equals `rss_start` otherwise.
    pub rss_pool: u64,
    /// `VmRSS` after the runtime was built.
    pub rss_built: u64,
    /// `VmHWM` (peak RSS) after every task was awaited.
    pub rss_peak: u64,
    /// Task-pool capacity (0: no pool).
    pub pool_capacity: u64,
    /// Pool chunks in the region.
    pub pool_chunks_total: u64,
    /// Pool chunks taken by heaps right after the spawn loop.
    pub pool_chunks_in_use: u64,
    /// Pool blocks live right after the spawn loop.
    pub pool_live_blocks: u64,
    /// Task blocks the runtime boxed with the global allocator instead of the pool, during the
    /// run (kairos only).
    pub boxed: u64,
}

/// The fields of [`ChildReport`], in print order, as (key, getter, setter).
type Field = (
    &'static str,
    fn(&ChildReport) -> u64,
    fn(&mut ChildReport, u64),
);
const FIELDS: [Field; 12] = [
    ("tasks", |r| r.tasks, |r, v| r.tasks = v),
    ("spawn_ns", |r| r.spawn_ns, |r, v| r.spawn_ns = v),
    ("total_ns", |r| r.total_ns, |r, v| r.total_ns = v),
    ("rss_start", |r| r.rss_start, |r, v| r.rss_start = v),
    ("rss_pool", |r| r.rss_pool, |r, v| r.rss_pool = v),
    ("rss_built", |r| r.rss_built, |r, v| r.rss_built = v),
    ("rss_peak", |r| r.rss_peak, |r, v| r.rss_peak = v),
    (
        "pool_capacity",
        |r| r.pool_capacity,
        |r, v| r.pool_capacity = v,
    ),
    (
        "pool_chunks_total",
        |r| r.pool_chunks_total,
        |r, v| r.pool_chunks_total = v,
    ),
    (
        "pool_chunks_in_use",
        |r| r.pool_chunks_in_use,
        |r, v| r.pool_chunks_in_use = v,
    ),
    (
        "pool_live_blocks",
        |r| r.pool_live_blocks,
        |r, v| r.pool_live_blocks = v,
    ),
    ("boxed", |r| r.boxed, |r, v| r.boxed = v),
];

/// The line a child prints starts with this.
const REPORT_TAG: &str = "spawn_sleep_child";

impl fmt::Display for ChildReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REPORT_TAG)?;
        for (key, get, _) in FIELDS {
            write!(f, " {key}={}", get(self))?;
        }
        Ok(())
    }
}

impl FromStr for ChildReport {
    type Err = String;

    fn from_str(line: &str) -> Result<ChildReport, String> {
        let mut words = line.split_whitespace();
        if words.next() != Some(REPORT_TAG) {
            return Err(format!("not a {REPORT_TAG} line: {line:?}"));
        }
        let mut report = ChildReport::default();
        let mut seen = 0;
        for word in words {
            let (key, value) = word
                .split_once('=')
                .ok_or_else(|| format!("bad field {word:?}"))?;
            let (_, _, set) = FIELDS
                .iter()
                .find(|(k, _, _)| *k == key)
                .ok_or_else(|| format!("unknown field {key:?}"))?;
            set(
                &mut report,
                value
                    .parse()
                    .map_err(|e| format!("bad value in {word:?}: {e}"))?,
            );
            seen += 1;
        }
        if seen != FIELDS.len() {
            return Err(format!(
                "expected {} fields, got {seen}: {line:?}",
                FIELDS.len()
            ));
        }
        Ok(report)
    }
}

impl ChildReport {
    /// Chunk size of the pool (capacity / chunks), 0 without a pool.
    pub fn chunk_size(&self) -> u64 {
        self.pool_capacity
            .checked_div(self.pool_chunks_total)
            .unwrap_or(0)
    }

    /// Resident pool memory per task that is pre-faulted by `configure_task_pool`.
    pub fn prefaulted_per_task(&self) -> f64 {
        self.rss_pool.saturating_sub(self.rss_start) as f64 / self.tasks as f64
    }

    /// Pool memory the run actually took (whole chunks), per task.
    pub fn pool_used_per_task(&self) -> f64 {
        (self.pool_chunks_in_use * self.chunk_size()) as f64 / self.tasks as f64
    }

    /// `(peak − start) / tasks`: everything, including untouched pre-faulted pool.
    pub fn gross_per_task(&self) -> f64 {
        self.rss_peak.saturating_sub(self.rss_start) as f64 / self.tasks as f64
    }

    /// Gross minus the pre-faulted pool plus the pool chunks actually used: what the run
    /// needed. Equal to gross without a pool.
    pub fn net_per_task(&self) -> f64 {
        self.gross_per_task() - self.prefaulted_per_task() + self.pool_used_per_task()
    }

    /// Spawn loop time per task, ns.
    pub fn spawn_ns_per_task(&self) -> f64 {
        self.spawn_ns as f64 / self.tasks as f64
    }
}

/// Reads a `kB` field (e.g. `VmRSS`, `VmHWM`) of `/proc/self/status`, in bytes.
pub fn proc_status_bytes(field: &str) -> Result<u64, String> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("cannot read /proc/self/status: {e}"))?;
    parse_status_kb(&status, field)
        .map(|kb| kb * 1024)
        .ok_or_else(|| format!("no {field} in /proc/self/status"))
}

fn parse_status_kb(status: &str, field: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().strip_suffix("kB")?.trim().parse().ok()
    })
}

/// The child side: measures `runtime` with `tasks` tasks on `workers` workers and prints one
/// [`ChildReport`] line on stdout.
///
/// # Errors
/// A runtime that cannot be built, a failed task, `/proc` unreadable.
pub fn child(runtime: ChildRuntime, tasks: u64, workers: usize) -> Result<(), BenchError> {
    let fail = |message: String| BenchError::Task {
        backend: runtime.label().to_owned(),
        message,
    };
    let build = |message: String| BenchError::Build {
        backend: runtime.label().to_owned(),
        message,
    };
    let _watchdog = Watchdog::arm(format!("spawn_sleep on {}", runtime.label()), HANG_LIMIT);
    let mut report = ChildReport {
        tasks,
        rss_start: proc_status_bytes("VmRSS").map_err(fail)?,
        ..ChildReport::default()
    };
    if runtime == ChildRuntime::Kairos {
        let capacity = usize::try_from(tasks)
            .ok()
            .and_then(|t| t.checked_mul(POOL_BYTES_PER_TASK))
            .and_then(|b| b.checked_add(POOL_SLACK))
            .and_then(|b| b.checked_next_multiple_of(1 << 20))
            .ok_or_else(|| build("task pool size overflows".to_owned()))?;
        kairos::configure_task_pool(capacity).map_err(|e| build(e.to_string()))?;
        report.pool_capacity = capacity as u64;
    }
    report.rss_pool = proc_status_bytes("VmRSS").map_err(fail)?;
    match runtime {
        ChildRuntime::Kairos | ChildRuntime::KairosSystem => {
            let allocator = if runtime == ChildRuntime::Kairos {
                kairos::TaskAllocator::Pool
            } else {
                kairos::TaskAllocator::System
            };
            let rt = kairos::Runtime::builder()
                .workers(workers)
                .thread_name("kairos-sleep")
                .task_allocator(allocator)
                .build()
                .map_err(|e| build(e.to_string()))?;
            report.rss_built = proc_status_bytes("VmRSS").map_err(fail)?;
            let boxed_before = kairos::task_memory().system_allocs;
            let root = rt.spawn(async move {
                let mut handles = Vec::with_capacity(tasks as usize);
                let start = Instant::now();
                for _ in 0..tasks {
                    handles.push(kairos::spawn(kairos::time::sleep(SLEEP)));
                }
                let spawned = start.elapsed();
                let memory = kairos::task_memory();
                for h in handles {
                    h.await.map_err(|e| e.to_string())?;
                }
                Ok::<_, String>((spawned, start.elapsed(), memory))
            });
            let (spawned, total, memory) = rt
                .block_on(root)
                .map_err(|e| fail(e.to_string()))?
                .map_err(fail)?;
            report.spawn_ns = spawned.as_nanos() as u64;
            report.total_ns = total.as_nanos() as u64;
            if let Some(pool) = memory.pool {
                report.pool_chunks_total = pool.chunks_total as u64;
                report.pool_chunks_in_use = pool.chunks_in_use as u64;
                report.pool_live_blocks = pool.live_blocks;
            }
            report.boxed = memory.system_allocs - boxed_before;
            if allocator == kairos::TaskAllocator::System {
                // Every task is boxed by design there; the column means "fell out of the pool".
                report.boxed = 0;
            }
            rt.shutdown_timeout(Duration::from_secs(10))
                .map_err(|e| BenchError::Shutdown {
                    backend: runtime.label().to_owned(),
                    message: e.to_string(),
                })?;
        }
        ChildRuntime::Tokio => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers)
                .thread_name("tokio-sleep")
                .enable_time()
                .build()
                .map_err(|e| build(e.to_string()))?;
            report.rss_built = proc_status_bytes("VmRSS").map_err(fail)?;
            let root = rt.spawn(async move {
                let mut handles = Vec::with_capacity(tasks as usize);
                let start = Instant::now();
                for _ in 0..tasks {
                    handles.push(tokio::spawn(tokio::time::sleep(SLEEP)));
                }
                let spawned = start.elapsed();
                for h in handles {
                    h.await.map_err(|e| e.to_string())?;
                }
                Ok::<_, String>((spawned, start.elapsed()))
            });
            let (spawned, total) = rt
                .block_on(root)
                .map_err(|e| fail(e.to_string()))?
                .map_err(fail)?;
            report.spawn_ns = spawned.as_nanos() as u64;
            report.total_ns = total.as_nanos() as u64;
            rt.shutdown_timeout(Duration::from_secs(10));
        }
    }
    report.rss_peak = proc_status_bytes("VmHWM").map_err(fail)?;
    println!("{report}");
    Ok(())
}

/// One row of the table.
#[derive(Debug)]
pub struct SleepRow {
    /// Which runtime.
    pub runtime: ChildRuntime,
    /// What its child measured.
    pub report: ChildReport,
    /// Other processes' share of the machine's CPU during the child (0..=1), if known.
    pub others_share: Option<f64>,
}

/// Runs one child per row, one after another; progress on stderr.
///
/// # Errors
/// This binary cannot be re-executed, a child failed (its stderr is passed through), or its
/// report line is malformed.
pub fn run(tasks: u64, workers: usize) -> Result<Vec<SleepRow>, BenchError> {
    let exe = std::env::current_exe().map_err(|e| BenchError::Build {
        backend: "spawn_sleep".to_owned(),
        message: format!("cannot find this executable to re-run it: {e}"),
    })?;
    let mut rows = Vec::with_capacity(ChildRuntime::ALL.len());
    for runtime in ChildRuntime::ALL {
        eprintln!(
            "spawn_sleep: {}: {tasks} tasks x sleep {SLEEP:?}, {workers} workers, in a child \
             process",
            runtime.label()
        );
        let fail = |message: String| BenchError::Task {
            backend: runtime.label().to_owned(),
            message,
        };
        let before = CpuSample::now();
        let children = ChildCpu::now();
        let output = Command::new(&exe)
            .args(["spawn-sleep-child", "--runtime", runtime.arg()])
            .args(["--tasks", &tasks.to_string()])
            .args(["--workers", &workers.to_string()])
            .stderr(std::process::Stdio::inherit())
            .output()
            .map_err(|e| fail(format!("cannot run {}: {e}", exe.display())))?;
        let others_share = before
            .and_then(|b| CpuSample::now()?.others_share_since(&b))
            .map(|s| (s - children.share_since()).max(0.0));
        if !output.status.success() {
            return Err(fail(format!(
                "the child process failed ({}); its messages are above",
                output.status
            )));
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let line = stdout
            .lines()
            .find(|l| l.starts_with(REPORT_TAG))
            .ok_or_else(|| fail(format!("the child printed no report: {stdout:?}")))?;
        let report: ChildReport = line.parse().map_err(fail)?;
        rows.push(SleepRow {
            runtime,
            report,
            others_share,
        });
    }
    Ok(rows)
}

/// The Go peer's row.
#[derive(Clone, Copy, Debug)]
pub struct GoSleepRow {
    /// Goroutines started.
    pub tasks: u64,
    /// Time until every goroutine had started, per goroutine.
    pub spawn_ns_per_task: f64,
    /// VmRSS growth per sleeping goroutine.
    pub bytes_per_task: f64,
    /// Other processes' share of the machine's CPU during the run (0..=1), if known.
    pub others_share: Option<f64>,
}

/// Runs the Go peer's `spawn_sleep` row once with `tasks` goroutines.
///
/// # Errors
/// The peer failed or printed no `bytes_per_task` (it could not read `/proc/self/status`).
pub fn run_go(go: &GoPeer, tasks: u64) -> Result<GoSleepRow, BenchError> {
    eprintln!("spawn_sleep: go: {tasks} goroutines x sleep {SLEEP:?}, in the Go peer");
    let before = CpuSample::now();
    let children = ChildCpu::now();
    let round = go
        .run(
            "spawn_sleep",
            1,
            RunArgs {
                tasks: Some(tasks),
                ..RunArgs::default()
            },
        )?
        .remove(0);
    let others_share = before
        .and_then(|b| CpuSample::now()?.others_share_since(&b))
        .map(|s| (s - children.share_since()).max(0.0));
    let bytes_per_task = round.bytes_per_task.ok_or_else(|| BenchError::Task {
        backend: "go".to_owned(),
        message: "spawn_sleep printed no bytes_per_task (is /proc/self/status readable?)"
            .to_owned(),
    })?;
    Ok(GoSleepRow {
        tasks: round.ops,
        spawn_ns_per_task: round.ns_per_op,
        bytes_per_task,
        others_share,
    })
}

/// CPU time of this process's waited-for children, to take it out of "other processes' CPU".
#[derive(Clone, Copy, Debug)]
pub struct ChildCpu {
    /// When sampled.
    at: Instant,
    /// Children's user + system time then, in seconds.
    cpu: f64,
}

impl ChildCpu {
    /// Samples now.
    pub fn now() -> ChildCpu {
        ChildCpu {
            at: Instant::now(),
            cpu: children_cpu_secs(),
        }
    }

    /// Children's CPU time since `self` as a share (0..=1) of all CPUs' time in that window.
    pub fn share_since(&self) -> f64 {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let window = self.at.elapsed().as_secs_f64() * cpus;
        if window <= 0.0 {
            return 0.0;
        }
        ((children_cpu_secs() - self.cpu) / window).clamp(0.0, 1.0)
    }
}

/// User + system time of all waited-for children, in seconds (0 if unavailable).
fn children_cpu_secs() -> f64 {
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage.
    if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) } != 0 {
        return 0.0;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// Target of issue 3: net bytes per sleeping task.
pub const TARGET_BYTES_PER_TASK: f64 = 200.0;

const MIB: f64 = (1 << 20) as f64;

/// The results table; the Go peer's row last, if given.
pub fn table(rows: &[SleepRow], go: Option<&GoSleepRow>) -> Table {
    let mut t = Table::new([
        "spawn_sleep (1 s sleeps)",
        "tasks",
        "spawn ns/task",
        "run s",
        "RSS before MiB",
        "peak RSS MiB",
        "gross B/task",
        "pre-faulted pool B/task",
        "pool used B/task",
        "net B/task",
        "boxed",
        "others' CPU",
    ]);
    for r in rows {
        let c = &r.report;
        let pooled = c.pool_capacity > 0;
        let pool_col = |x: f64| if pooled { num(x) } else { "-".to_owned() };
        t.row([
            r.runtime.label().to_owned(),
            c.tasks.to_string(),
            num(c.spawn_ns_per_task()),
            format!("{:.2}", c.total_ns as f64 / 1e9),
            num(c.rss_start as f64 / MIB),
            num(c.rss_peak as f64 / MIB),
            num(c.gross_per_task()),
            pool_col(c.prefaulted_per_task()),
            pool_col(c.pool_used_per_task()),
            num(c.net_per_task()),
            c.boxed.to_string(),
            r.others_share
                .map_or_else(|| "-".to_owned(), |s| format!("{:.0}%", s * 100.0)),
        ]);
    }
    if let Some(g) = go {
        let dash = || "-".to_owned();
        t.row([
            "go (goroutines)".to_owned(),
            g.tasks.to_string(),
            num(g.spawn_ns_per_task),
            dash(),
            dash(),
            dash(),
            num(g.bytes_per_task),
            dash(),
            dash(),
            num(g.bytes_per_task),
            dash(),
            g.others_share
                .map_or_else(dash, |s| format!("{:.0}%", s * 100.0)),
        ]);
    }
    t
}

/// Notes under the table: pool block size, and the target per row (with the Go row: issue 17's
/// goal, kairos' net bytes per task below Go's).
pub fn notes(rows: &[SleepRow], go: Option<&GoSleepRow>) -> Vec<String> {
    let mut lines = Vec::new();
    for r in rows {
        let c = &r.report;
        if c.pool_capacity > 0 && c.pool_live_blocks > 0 {
            lines.push(format!(
                "{}: pool of {} MiB ({} chunks of {} KiB), {} chunks in use for {} live blocks \
                 = {} B of chunk per block",
                r.runtime.label(),
                num(c.pool_capacity as f64 / MIB),
                c.pool_chunks_total,
                c.chunk_size() / 1024,
                c.pool_chunks_in_use,
                c.pool_live_blocks,
                num((c.pool_chunks_in_use * c.chunk_size()) as f64 / c.pool_live_blocks as f64),
            ));
        }
    }
    for r in rows {
        if r.runtime == ChildRuntime::Tokio {
            continue;
        }
        let net = r.report.net_per_task();
        lines.push(format!(
            "{}: net {} B/task <= {TARGET_BYTES_PER_TASK} B: {}",
            r.runtime.label(),
            num(net),
            if net <= TARGET_BYTES_PER_TASK {
                "met"
            } else {
                "MISSED"
            }
        ));
        if let Some(g) = go {
            lines.push(format!(
                "{}: net {} B/task < go {} B/goroutine: {}",
                r.runtime.label(),
                num(net),
                num(g.bytes_per_task),
                if net < g.bytes_per_task {
                    "met"
                } else {
                    "MISSED"
                }
            ));
        }
    }
    lines
}

/// A kairos or tokio row as its JSON report object (`micro --json`, under `spawn_sleep`),
/// serialised by derived `Serialize`.
#[derive(Debug, Serialize)]
pub struct SleepRowJson<'a> {
    /// [`ChildRuntime::label`].
    pub row: &'static str,
    /// [`SLEEP`], ns.
    pub sleep_ns: u64,
    /// [`SleepRow::report`], its fields flattened into the row.
    #[serde(flatten)]
    pub report: &'a ChildReport,
    /// [`ChildReport::spawn_ns_per_task`].
    pub spawn_ns_per_task: f64,
    /// [`ChildReport::gross_per_task`].
    pub gross_bytes_per_task: f64,
    /// [`ChildReport::prefaulted_per_task`].
    pub prefaulted_pool_bytes_per_task: f64,
    /// [`ChildReport::pool_used_per_task`].
    pub pool_used_bytes_per_task: f64,
    /// [`ChildReport::net_per_task`].
    pub net_bytes_per_task: f64,
    /// [`SleepRow::others_share`] (`null` if unknown).
    pub others_cpu_share: Option<f64>,
}

/// The Go row as its JSON report object: fewer keys, gross and net bytes are the same figure.
#[derive(Debug, Serialize)]
pub struct GoSleepRowJson {
    /// `go (goroutines)`.
    pub row: &'static str,
    /// [`SLEEP`], ns.
    pub sleep_ns: u64,
    /// [`GoSleepRow::tasks`].
    pub tasks: u64,
    /// [`GoSleepRow::spawn_ns_per_task`].
    pub spawn_ns_per_task: f64,
    /// [`GoSleepRow::bytes_per_task`].
    pub gross_bytes_per_task: f64,
    /// [`GoSleepRow::bytes_per_task`] again.
    pub net_bytes_per_task: f64,
    /// [`GoSleepRow::others_share`] (`null` if unknown).
    pub others_cpu_share: Option<f64>,
}

/// One element of the `spawn_sleep` JSON array: a runtime's row or the Go row.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum SleepJson<'a> {
    /// A kairos or tokio row.
    Runtime(SleepRowJson<'a>),
    /// The Go row.
    Go(GoSleepRowJson),
}

impl SleepRow {
    /// This row's JSON report object.
    pub fn json(&self) -> SleepRowJson<'_> {
        let c = &self.report;
        SleepRowJson {
            row: self.runtime.label(),
            sleep_ns: SLEEP.as_nanos() as u64,
            report: c,
            spawn_ns_per_task: c.spawn_ns_per_task(),
            gross_bytes_per_task: c.gross_per_task(),
            prefaulted_pool_bytes_per_task: c.prefaulted_per_task(),
            pool_used_bytes_per_task: c.pool_used_per_task(),
            net_bytes_per_task: c.net_per_task(),
            others_cpu_share: self.others_share,
        }
    }
}

impl GoSleepRow {
    /// This row's JSON report object.
    pub fn json(&self) -> GoSleepRowJson {
        GoSleepRowJson {
            row: "go (goroutines)",
            sleep_ns: SLEEP.as_nanos() as u64,
            tasks: self.tasks,
            spawn_ns_per_task: self.spawn_ns_per_task,
            gross_bytes_per_task: self.bytes_per_task,
            net_bytes_per_task: self.bytes_per_task,
            others_cpu_share: self.others_share,
        }
    }
}

/// The rows as JSON report objects; the Go row (fewer keys) last, if given.
pub fn to_json<'a>(rows: &'a [SleepRow], go: Option<&GoSleepRow>) -> Vec<SleepJson<'a>> {
    rows.iter()
        .map(|r| SleepJson::Runtime(r.json()))
        .chain(go.map(|g| SleepJson::Go(g.json())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{parse_status_kb, to_json, ChildReport, ChildRuntime, GoSleepRow, SleepRow};

    /// A runtime's JSON row carries the child's fields flattened plus the per-task figures; the
    /// Go row, last, has fewer keys; unknown CPU shares and non-finite figures are `null`.
    #[test]
    fn json_rows_flatten_the_report() {
        let rows = [SleepRow {
            runtime: ChildRuntime::Tokio,
            report: ChildReport {
                tasks: 10,
                rss_start: 100,
                rss_peak: 1_100,
                ..ChildReport::default()
            },
            others_share: Some(0.5),
        }];
        let go = GoSleepRow {
            tasks: 10,
            spawn_ns_per_task: f64::NAN,
            bytes_per_task: 64.0,
            others_share: None,
        };
        let text = serde_json::to_string(&to_json(&rows, Some(&go))).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let (r, g) = (&v[0], &v[1]);
        assert_eq!(r["row"], "tokio");
        assert_eq!(
            (r["tasks"].as_u64(), r["boxed"].as_u64()),
            (Some(10), Some(0))
        );
        assert_eq!(r["gross_bytes_per_task"], 100.0);
        assert_eq!(r["others_cpu_share"], 0.5);
        assert_eq!(r.as_object().unwrap().len(), 20);
        assert_eq!(g["row"], "go (goroutines)");
        assert_eq!(g["sleep_ns"], 1_000_000_000);
        assert!(g["spawn_ns_per_task"].is_null() && g["others_cpu_share"].is_null());
        assert_eq!(g.as_object().unwrap().len(), 7);
    }

    #[test]
    fn report_line_round_trips() {
        let r = ChildReport {
            tasks: 1_000,
            spawn_ns: 2,
            total_ns: 3,
            rss_start: 4,
            rss_pool: 5,
            rss_built: 6,
            rss_peak: 7,
            pool_capacity: 8,
            pool_chunks_total: 9,
            pool_chunks_in_use: 10,
            pool_live_blocks: 11,
            boxed: 12,
        };
        let line = r.to_string();
        assert!(line.starts_with("spawn_sleep_child tasks=1000 spawn_ns=2 "));
        assert_eq!(line.parse::<ChildReport>(), Ok(r));
        assert!("spawn_sleep_child tasks=1".parse::<ChildReport>().is_err());
        assert!("other tasks=1".parse::<ChildReport>().is_err());
    }

    #[test]
    fn per_task_figures() {
        let r = ChildReport {
            tasks: 1_000,
            rss_start: 10_000,
            rss_pool: 10_000 + 300_000,
            rss_peak: 10_000 + 300_000 + 50_000,
            pool_capacity: 300 * 1024,
            pool_chunks_total: 300 / 64,
            pool_chunks_in_use: 2,
            ..ChildReport::default()
        };
        assert_eq!(r.chunk_size(), 300 * 1024 / 4);
        assert_eq!(r.gross_per_task(), 350.0);
        assert_eq!(r.prefaulted_per_task(), 300.0);
        assert_eq!(r.pool_used_per_task(), (2 * 300 * 1024 / 4) as f64 / 1000.0);
        assert_eq!(r.net_per_task(), 50.0 + r.pool_used_per_task());
        let no_pool = ChildReport {
            tasks: 10,
            rss_start: 100,
            rss_pool: 100,
            rss_peak: 2_100,
            ..ChildReport::default()
        };
        assert_eq!(no_pool.net_per_task(), 200.0);
    }

    #[test]
    fn reads_status_fields() {
        let status = "Name:\tx\nVmHWM:\t  1234 kB\nVmRSS:\t   99 kB\n";
        assert_eq!(parse_status_kb(status, "VmHWM"), Some(1234));
        assert_eq!(parse_status_kb(status, "VmRSS"), Some(99));
        assert_eq!(parse_status_kb(status, "VmPeak"), None);
    }
}
