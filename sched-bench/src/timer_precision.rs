//! `sched-bench micro --only timer_precision`: how punctually a 1 ms periodic task is released,
//! on kairos, kairos with `timer_spin`, tokio, and a bare kernel thread (the floor).
//!
//! # What is measured
//!
//! One periodic task with a 1 ms period ([`PERIOD`]) runs for `--timer-secs` seconds (default 5)
//! on an otherwise idle runtime. Job `k` is *released* at `start + k·P` on an absolute grid (no
//! drift: a late job does not move later ones). For every job the task reads the clock right
//! after its tick (or sleep) returns; the *release→poll latency* is that reading minus the
//! scheduled release time. It contains the kernel's timer wake-up latency, the runtime's timer
//! dispatch (firing the timer, waking the task, getting a worker to poll it) and nothing else:
//! the task does no work. Latencies go into an HdrHistogram (1 ns to 60 s, 3 significant
//! digits); the table shows p50, p99, p99.9 and max in µs.
//!
//! The first [`WARMUP_JOBS`] jobs (100 ms) are not recorded: they include thread start-up, first
//! page faults of the timer structures and the CPU frequency ramp.
//!
//! | row | how the job waits | clock read after the wait |
//! |---|---|---|
//! | `linux floor` | plain `std::thread` (SCHED_OTHER, timer slack 1 ns via `prctl(PR_SET_TIMERSLACK, 1)`), `clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)` on the grid: cyclictest's loop | `clock_gettime(CLOCK_MONOTONIC)` |
//! | `kairos` | `kairos::time::interval_at` with `MissedTickBehavior::Skip`, in a task on a 2-worker runtime | `kairos::time::Instant::now()` |
//! | `kairos timer_spin 20us` | the same with `Builder::timer_spin(20 µs)` | same |
//! | `tokio` | `tokio::time::interval_at` with `MissedTickBehavior::Skip`, in a task on a 2-worker multi-thread runtime | `tokio::time::Instant::now()` |
//!
//! | `cyclictest (SCHED_FIFO p, …)` | only when `cyclictest` (package `rt-tests`) is on the `PATH`: `cyclictest -q -m -t1 -p P -i 1000 -l N -h 10000`, one thread at SCHED_FIFO priority `P` (`--rt-priority`, default 50) sleeping to an absolute 1 ms grid: the reference real-time loop; with `--laptop` unless `--cpu-latency-qos` (see below) | cyclictest's own; its histogram (1 µs buckets) is read back, so its percentiles have 1 µs resolution, and it records every loop (no warm-up) |
//!
//! The kairos rows take `--pin` and `--worker-priority realtime` ([`crate::rt_settings`]); their
//! label says so. Power management is kept equal across rows: cyclictest by default holds Linux's
//! CPU latency QoS at 0 µs while it runs (`/dev/cpu_dma_latency`: idle CPUs stay in states they
//! leave at once; on the 2-core VM its p50 is 17 µs with it and 42 µs without), so it runs with
//! `--laptop` (no request) unless `--cpu-latency-qos` holds the request for the whole run, every
//! row included. The goal of issue 17 is that kairos workers at SCHED_FIFO have a p50 within
//! [`TARGET_CYCLICTEST_RATIO`] of cyclictest's at the same priority; the verdict under the table
//! compares them only when the kairos rows ran at SCHED_FIFO. Without `cyclictest`, or when it
//! cannot raise its priority (no `CAP_SYS_NICE`), the row is left out with a one-line note.
//!
//! `tick()` returns the tick's *scheduled* instant on both runtimes, so the latency is computed
//! against the grid, not against some later reading. Each row uses its own runtime's clock for
//! both ends of the subtraction (all are `CLOCK_MONOTONIC` underneath).
//!
//! *Missed* counts jobs that were skipped because the task was more than one period late (all
//! four rows skip: the runtimes by `MissedTickBehavior::Skip`, the floor by the same rule).
//! *Early* counts jobs observed before their release time: that must be zero (kairos decides
//! completion against the clock); anything else is a bug.
//!
//! # How
//!
//! The four rows run one after another in one process, never at the same time: the machine has
//! two cores, and a concurrently running row would take one of them. Each runtime is built for
//! its row and shut down after it. Per row the table shows the share of the machine's CPU time
//! other processes used meanwhile ([`crate::machine`]): a compile on the other core shows up in
//! every percentile here.
//!
//! Expect tokio near 1 ms: its timer wheel has millisecond resolution and rounds deadlines up to
//! the next millisecond tick. kairos keeps nanosecond deadlines and sleeps with 1 ns timer
//! slack, so its latency should track the floor plus one worker hand-off.

use crate::error::BenchError;
use crate::machine::CpuSample;
use crate::rt_settings::{RtSettings, DEFAULT_RT_PRIORITY};
use crate::spawn_sleep::ChildCpu;
use crate::table::{num, Table};
use crate::watchdog::Watchdog;
use hdrhistogram::Histogram;
use serde::Serialize;
use std::time::Duration;

/// Period of the task.
pub const PERIOD: Duration = Duration::from_millis(1);
/// Jobs at the start of each row that are run but not recorded (100 ms at 1 ms).
pub const WARMUP_JOBS: u64 = 100;
/// `Builder::timer_spin` of the second kairos row.
pub const KAIROS_TIMER_SPIN: Duration = Duration::from_micros(20);
/// The largest latency the histograms track (60 s); larger ones are clamped to it.
const HIST_MAX_NS: u64 = 60_000_000_000;
/// Target from issue 3: kairos release→poll median.
pub const TARGET_P50_US: f64 = 60.0;
/// Target from issue 3: kairos release→poll p99.
pub const TARGET_P99_US: f64 = 200.0;
/// Target from issue 3: tokio median / kairos median at least this.
pub const TARGET_TOKIO_RATIO: f64 = 10.0;
/// Target from the design ("Time"): kairos median within this factor of the kernel floor's.
pub const TARGET_FLOOR_RATIO: f64 = 2.0;
/// Target of issue 17: kairos (SCHED_FIFO) median within this factor of cyclictest's median at
/// the same priority.
pub const TARGET_CYCLICTEST_RATIO: f64 = 1.2;
/// cyclictest's histogram range (`-h`), in µs; later samples count as overflows.
const CYCLICTEST_HIST_US: u64 = 10_000;

/// Options of the benchmark.
#[derive(Clone, Copy, Debug)]
pub struct TimerOpts {
    /// Recorded run length of each row, in seconds (the warm-up comes on top).
    pub secs: u32,
    /// Worker threads of each runtime.
    pub workers: usize,
    /// `--pin` / `--worker-priority` of the kairos rows.
    pub rt: RtSettings,
}

impl TimerOpts {
    /// Recorded jobs per row.
    pub fn jobs(&self) -> u64 {
        u64::from(self.secs) * 1_000_000_000 / PERIOD.as_nanos() as u64
    }
}

/// Release→poll latencies of one row.
#[derive(Debug)]
pub struct Latencies {
    /// In nanoseconds.
    hist: Histogram<u64>,
    /// Jobs observed before their release time (must stay 0).
    early: u64,
}

impl Latencies {
    fn new() -> Latencies {
        Latencies {
            hist: Histogram::new_with_bounds(1, HIST_MAX_NS, 3)
                .expect("static histogram bounds are valid"),
            early: 0,
        }
    }

    /// Records one job released at `scheduled_ns` and observed at `observed_ns` (same clock).
    fn record(&mut self, scheduled_ns: u64, observed_ns: u64) {
        match observed_ns.checked_sub(scheduled_ns) {
            Some(late) => self.hist.saturating_record(late.max(1)),
            None => self.early += 1,
        }
    }

    /// Jobs recorded (on time or late, not early).
    pub fn recorded(&self) -> u64 {
        self.hist.len()
    }

    /// Latency at quantile `q` (0..=1), in µs.
    pub fn quantile_us(&self, q: f64) -> f64 {
        self.hist.value_at_quantile(q) as f64 / 1e3
    }

    /// Largest latency, in µs.
    pub fn max_us(&self) -> f64 {
        self.hist.max() as f64 / 1e3
    }
}

/// The absolute grid of one row: job `k` is released at `start + k·period`; the first
/// [`WARMUP_JOBS`] are not recorded, and the row ends after `WARMUP_JOBS + jobs`.
#[derive(Clone, Copy, Debug)]
struct Grid {
    /// Release time of job 0 (ns, on the row's clock).
    start: u64,
    /// Period in ns.
    period: u64,
    /// Recorded jobs.
    jobs: u64,
}

/// What to do with the job released at some time.
#[derive(Debug, PartialEq, Eq)]
enum Job {
    /// Warm-up: run, do not record.
    Warmup,
    /// Record it.
    Measure,
    /// Past the end: stop.
    Done,
}

impl Grid {
    fn new(now_ns: u64, jobs: u64) -> Grid {
        let period = PERIOD.as_nanos() as u64;
        Grid {
            start: now_ns + period,
            period,
            jobs,
        }
    }

    fn classify(&self, release_ns: u64) -> Job {
        let index = release_ns.saturating_sub(self.start) / self.period;
        if index < WARMUP_JOBS {
            Job::Warmup
        } else if index < WARMUP_JOBS + self.jobs {
            Job::Measure
        } else {
            Job::Done
        }
    }

    /// The release after `release_ns` when the job was observed at `observed_ns`: the next grid
    /// point strictly after `observed_ns` (the `Skip` rule of both runtimes' intervals).
    fn next_release(&self, release_ns: u64, observed_ns: u64) -> u64 {
        let late = observed_ns.saturating_sub(release_ns);
        release_ns + (late / self.period + 1) * self.period
    }
}

/// One row of the table.
#[derive(Debug)]
pub struct TimerRow {
    /// Row label.
    pub label: String,
    /// The latencies.
    pub latencies: Latencies,
    /// Jobs the grid had in the measured part.
    pub expected: u64,
    /// Other processes' share of the machine's CPU during the row (0..=1), if known.
    pub others_share: Option<f64>,
}

impl TimerRow {
    /// Jobs skipped because the task was more than a period late.
    pub fn missed(&self) -> u64 {
        self.expected
            .saturating_sub(self.latencies.recorded() + self.latencies.early)
    }
}

/// Runs the four rows one after another, then the cyclictest row where it can run; progress on
/// stderr. Returns the rows and notes for under the table (a skipped cyclictest row).
///
/// # Errors
/// A runtime that cannot be built or shut down, a failed task, or a floor thread that failed.
pub fn run(opts: &TimerOpts) -> Result<(Vec<TimerRow>, Vec<String>), BenchError> {
    type RowFn = fn(&TimerOpts) -> Result<Latencies, BenchError>;
    let settings = if opts.rt.is_default() {
        String::new()
    } else {
        format!(" ({})", opts.rt.describe())
    };
    let kairos_label = format!("kairos{settings}");
    let spin_label = format!(
        "kairos timer_spin {}us{settings}",
        KAIROS_TIMER_SPIN.as_micros()
    );
    let rows: [(&str, RowFn); 4] = [
        ("linux floor (clock_nanosleep)", floor),
        (&kairos_label, |o| kairos_row(o, Duration::ZERO)),
        (&spin_label, |o| kairos_row(o, KAIROS_TIMER_SPIN)),
        ("tokio", tokio_row),
    ];
    let mut out = Vec::with_capacity(rows.len() + 1);
    for (label, row) in rows {
        eprintln!(
            "timer_precision: {label}: 1 ms period, {} ms warm-up + {} s",
            WARMUP_JOBS, opts.secs
        );
        let limit = Duration::from_secs(u64::from(opts.secs) + 60);
        let _watchdog = Watchdog::arm(format!("timer_precision on {label}"), limit);
        let before = CpuSample::now();
        let latencies = row(opts)?;
        let others_share = before.and_then(|b| CpuSample::now()?.others_share_since(&b));
        out.push(TimerRow {
            label: label.to_owned(),
            latencies,
            expected: opts.jobs(),
            others_share,
        });
    }
    let mut notes = Vec::new();
    let priority = opts.rt.fifo_priority.unwrap_or(DEFAULT_RT_PRIORITY);
    let label = if opts.rt.cpu_latency_qos {
        format!("cyclictest (SCHED_FIFO {priority}, QoS 0)")
    } else {
        format!("cyclictest (SCHED_FIFO {priority}, --laptop)")
    };
    match find_on_path("cyclictest") {
        None => notes.push(
            "cyclictest is not on the PATH: its row is skipped (apt-get install rt-tests)"
                .to_owned(),
        ),
        Some(exe) => {
            eprintln!("timer_precision: {label}: 1 ms interval, {} s", opts.secs);
            let before = CpuSample::now();
            let children = ChildCpu::now();
            match cyclictest(&exe, priority, opts.jobs(), opts.rt.cpu_latency_qos) {
                Ok(latencies) => out.push(TimerRow {
                    label,
                    latencies,
                    expected: opts.jobs(),
                    // cyclictest is a child process: its CPU time is not other processes'.
                    others_share: before
                        .and_then(|b| CpuSample::now()?.others_share_since(&b))
                        .map(|s| (s - children.share_since()).max(0.0)),
                }),
                Err(why) => notes.push(format!("{label} skipped: {why}")),
            }
        }
    }
    Ok((out, notes))
}

/// The first executable named `name` on `PATH`.
fn find_on_path(name: &str) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Runs cyclictest for `jobs` loops at SCHED_FIFO `priority` and reads its histogram back.
/// `Err` says why there is no row (it could not raise its priority, it failed, or its output
/// had no histogram).
///
/// Without `qos` (no `--cpu-latency-qos`) it runs with `--laptop`: cyclictest otherwise holds the
/// CPU latency QoS at 0 µs while it runs, which the other rows would not have had (on the 2-core
/// VM: p50 17 µs with it, 42 µs without).
fn cyclictest(
    exe: &std::path::Path,
    priority: u8,
    jobs: u64,
    qos: bool,
) -> Result<Latencies, String> {
    let mut cmd = std::process::Command::new(exe);
    if !qos {
        cmd.arg("--laptop");
    }
    let out = cmd
        .args(["-q", "-m", "-t1", "-i", "1000"])
        .args(["-p", &priority.to_string()])
        .args(["-l", &jobs.to_string()])
        .args(["-h", &CYCLICTEST_HIST_US.to_string()])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!(
            "cyclictest failed ({}; it needs CAP_SYS_NICE for SCHED_FIFO): {}",
            out.status,
            stderr.trim()
        ));
    }
    parse_cyclictest(&String::from_utf8_lossy(&out.stdout))
        .ok_or_else(|| format!("cyclictest printed no histogram: {}", stderr.trim()))
}

/// cyclictest's `-h` output for one thread: `BUCKET COUNT` lines (bucket = µs) and `# Max
/// Latencies: N` / `# Histogram Overflows: N` trailers. Overflows are recorded at the maximum.
fn parse_cyclictest(stdout: &str) -> Option<Latencies> {
    let mut lat = Latencies::new();
    let mut seen = false;
    let mut max_us = None;
    let mut overflows = 0;
    for line in stdout.lines() {
        let field = |prefix: &str| {
            line.strip_prefix(prefix)
                .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        };
        if let Some(m) = field("# Max Latencies:") {
            max_us = Some(m);
        } else if let Some(o) = field("# Histogram Overflows:") {
            overflows = o;
        } else if !line.starts_with('#') {
            let mut cols = line.split_whitespace().map(str::parse::<u64>);
            if let (Some(Ok(bucket)), Some(Ok(count))) = (cols.next(), cols.next()) {
                seen = true;
                if count > 0 {
                    lat.hist.saturating_record_n((bucket * 1_000).max(1), count);
                }
            }
        }
    }
    if overflows > 0 {
        let at = max_us.unwrap_or(CYCLICTEST_HIST_US) * 1_000;
        lat.hist.saturating_record_n(at, overflows);
    }
    seen.then_some(lat)
}

/// `CLOCK_MONOTONIC` in ns.
fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    debug_assert_eq!(rc, 0, "clock_gettime(CLOCK_MONOTONIC) failed");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The cyclictest-like floor: a plain thread sleeping to absolute grid points.
fn floor(opts: &TimerOpts) -> Result<Latencies, BenchError> {
    let jobs = opts.jobs();
    let thread = std::thread::Builder::new()
        .name("timer-floor".to_owned())
        .spawn(move || -> Result<Latencies, String> {
            // SAFETY: PR_SET_TIMERSLACK takes one unsigned long argument and only affects the
            // calling thread.
            let rc = unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong) };
            if rc != 0 {
                return Err(format!(
                    "prctl(PR_SET_TIMERSLACK, 1) failed: {}",
                    std::io::Error::last_os_error()
                ));
            }
            let grid = Grid::new(monotonic_ns(), jobs);
            let mut lat = Latencies::new();
            let mut release = grid.start;
            loop {
                let ts = libc::timespec {
                    tv_sec: (release / 1_000_000_000) as libc::time_t,
                    tv_nsec: (release % 1_000_000_000) as libc::c_long,
                };
                loop {
                    // SAFETY: `ts` is a valid timespec; with TIMER_ABSTIME the remainder
                    // pointer is not used and may be null.
                    let rc = unsafe {
                        libc::clock_nanosleep(
                            libc::CLOCK_MONOTONIC,
                            libc::TIMER_ABSTIME,
                            &ts,
                            std::ptr::null_mut(),
                        )
                    };
                    match rc {
                        0 => break,
                        libc::EINTR => continue,
                        e => {
                            return Err(format!(
                                "clock_nanosleep failed: {}",
                                std::io::Error::from_raw_os_error(e)
                            ))
                        }
                    }
                }
                let observed = monotonic_ns();
                match grid.classify(release) {
                    Job::Done => return Ok(lat),
                    Job::Measure => lat.record(release, observed),
                    Job::Warmup => {}
                }
                release = grid.next_release(release, observed);
            }
        })
        .map_err(|e| floor_error(format!("could not start the thread: {e}")))?;
    thread
        .join()
        .map_err(|_| floor_error("the thread panicked".to_owned()))?
        .map_err(floor_error)
}

fn floor_error(message: String) -> BenchError {
    BenchError::Task {
        backend: "linux floor".to_owned(),
        message,
    }
}

/// kairos, `timer_spin` = `spin` (zero: kairos' default).
fn kairos_row(opts: &TimerOpts, spin: Duration) -> Result<Latencies, BenchError> {
    use kairos::time::{interval_at, Instant, MissedTickBehavior};
    let label = || format!("kairos (timer_spin {spin:?})");
    let rt = opts
        .rt
        .apply(
            kairos::Runtime::builder()
                .workers(opts.workers)
                .thread_name("kairos-timer")
                .timer_spin(spin),
        )
        .build()
        .map_err(|e| BenchError::Build {
            backend: label(),
            message: e.to_string(),
        })?;
    let jobs = opts.jobs();
    // The periodic task runs on a worker (spawned, not the block_on future itself).
    let result = rt.block_on(rt.spawn(async move {
        let grid = Grid::new(Instant::now().as_nanos(), jobs);
        let mut every = interval_at(
            Instant::from_nanos(grid.start),
            Duration::from_nanos(grid.period),
        );
        every.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut lat = Latencies::new();
        loop {
            let release = every.tick().await.as_nanos();
            let observed = Instant::now().as_nanos();
            match grid.classify(release) {
                Job::Done => return lat,
                Job::Measure => lat.record(release, observed),
                Job::Warmup => {}
            }
        }
    }));
    let lat = result.map_err(|e| BenchError::Task {
        backend: label(),
        message: e.to_string(),
    })?;
    // The interval was dropped with the task: no timer may be left behind.
    let pending = rt.metrics().pending_timers;
    if pending != 0 {
        eprintln!(
            "timer_precision: warning: {} left {pending} pending timers after the periodic task \
             ended (expected 0)",
            label()
        );
    }
    rt.shutdown_timeout(Duration::from_secs(10))
        .map_err(|e| BenchError::Shutdown {
            backend: label(),
            message: e.to_string(),
        })?;
    Ok(lat)
}

/// tokio multi-thread runtime with its time driver (and nothing else) enabled.
fn tokio_row(opts: &TimerOpts) -> Result<Latencies, BenchError> {
    use tokio::time::{interval_at, Instant, MissedTickBehavior};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(opts.workers)
        .thread_name("tokio-timer")
        .enable_time()
        .build()
        .map_err(|e| BenchError::Build {
            backend: "tokio".to_owned(),
            message: e.to_string(),
        })?;
    let jobs = opts.jobs();
    let result = rt.block_on(rt.spawn(async move {
        // tokio's Instant is opaque: keep its own origin and compute ns offsets from it.
        let origin = Instant::now();
        let ns = |t: Instant| t.saturating_duration_since(origin).as_nanos() as u64;
        let grid = Grid::new(0, jobs);
        let mut every = interval_at(
            origin + Duration::from_nanos(grid.start),
            Duration::from_nanos(grid.period),
        );
        every.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut lat = Latencies::new();
        loop {
            let release = ns(every.tick().await);
            let observed = ns(Instant::now());
            match grid.classify(release) {
                Job::Done => return lat,
                Job::Measure => lat.record(release, observed),
                Job::Warmup => {}
            }
        }
    }));
    rt.shutdown_timeout(Duration::from_secs(10));
    result.map_err(|e| BenchError::Task {
        backend: "tokio".to_owned(),
        message: e.to_string(),
    })
}

/// The results table.
pub fn table(rows: &[TimerRow]) -> Table {
    let floor_p50 = rows.first().map(|r| r.latencies.quantile_us(0.5));
    let mut t = Table::new([
        "timer_precision (1 ms period)",
        "jobs",
        "missed",
        "early",
        "p50 us",
        "p99 us",
        "p99.9 us",
        "max us",
        "p50 / floor p50",
        "others' CPU",
    ]);
    for r in rows {
        let l = &r.latencies;
        t.row([
            r.label.clone(),
            l.recorded().to_string(),
            r.missed().to_string(),
            l.early.to_string(),
            num(l.quantile_us(0.5)),
            num(l.quantile_us(0.99)),
            num(l.quantile_us(0.999)),
            num(l.max_us()),
            floor_p50.map_or_else(|| "-".to_owned(), |f| ratio(l.quantile_us(0.5) / f)),
            r.others_share
                .map_or_else(|| "-".to_owned(), |s| format!("{:.0}%", s * 100.0)),
        ]);
    }
    t
}

fn ratio(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.2}x")
    } else {
        "-".to_owned()
    }
}

/// Lines comparing the rows with the targets of issue 3 and the design (printed under the
/// table). Expects the rows in [`run`]'s order.
pub fn verdicts(rows: &[TimerRow]) -> Vec<String> {
    let [floor, kairos, spin, tokio, rest @ ..] = rows else {
        return Vec::new();
    };
    let mark = |ok: bool| if ok { "met" } else { "MISSED" };
    let mut lines = Vec::new();
    for r in [kairos, spin] {
        let (p50, p99) = (r.latencies.quantile_us(0.5), r.latencies.quantile_us(0.99));
        let floor_ratio = p50 / floor.latencies.quantile_us(0.5);
        let tokio_ratio = tokio.latencies.quantile_us(0.5) / p50;
        lines.push(format!(
            "{}: p50 {} us <= {TARGET_P50_US} us: {}; p99 {} us <= {TARGET_P99_US} us: {}; \
             tokio p50 / p50 = {} >= {TARGET_TOKIO_RATIO}x: {}; p50 / floor p50 = {} <= \
             {TARGET_FLOOR_RATIO}x: {}",
            r.label,
            num(p50),
            mark(p50 <= TARGET_P50_US),
            num(p99),
            mark(p99 <= TARGET_P99_US),
            ratio(tokio_ratio),
            mark(tokio_ratio >= TARGET_TOKIO_RATIO),
            ratio(floor_ratio),
            mark(floor_ratio <= TARGET_FLOOR_RATIO),
        ));
    }
    if let Some(cyclic) = rest.first() {
        let p50 = cyclic.latencies.quantile_us(0.5);
        if kairos.label.contains("SCHED_FIFO") {
            let r = kairos.latencies.quantile_us(0.5) / p50;
            lines.push(format!(
                "{} p50 / {} p50 = {} <= {TARGET_CYCLICTEST_RATIO}x: {}",
                kairos.label,
                cyclic.label,
                ratio(r),
                mark(r <= TARGET_CYCLICTEST_RATIO)
            ));
        } else {
            lines.push(format!(
                "{}: p50 {} us; the kairos rows ran at normal priority: add --worker-priority \
                 realtime to compare them at the same priority",
                cyclic.label,
                num(p50)
            ));
        }
    }
    lines
}

/// One row as its JSON report object (`micro --json`, under `timer_precision`), serialised by
/// derived `Serialize`.
#[derive(Debug, Serialize)]
pub struct TimerRowJson<'a> {
    /// [`TimerRow::label`].
    pub row: &'a str,
    /// [`PERIOD`], ns.
    pub period_ns: u64,
    /// [`TimerRow::expected`].
    pub jobs_expected: u64,
    /// Jobs recorded (on time or late).
    pub jobs_recorded: u64,
    /// [`TimerRow::missed`].
    pub missed: u64,
    /// Jobs observed before their release.
    pub early: u64,
    /// Median release→poll latency, µs.
    pub p50_us: f64,
    /// 99th percentile, µs.
    pub p99_us: f64,
    /// 99.9th percentile, µs.
    pub p999_us: f64,
    /// Largest, µs.
    pub max_us: f64,
    /// [`TimerRow::others_share`] (`null` if unknown).
    pub others_cpu_share: Option<f64>,
}

impl TimerRow {
    /// This row's JSON report object.
    pub fn json(&self) -> TimerRowJson<'_> {
        let l = &self.latencies;
        TimerRowJson {
            row: &self.label,
            period_ns: PERIOD.as_nanos() as u64,
            jobs_expected: self.expected,
            jobs_recorded: l.recorded(),
            missed: self.missed(),
            early: l.early,
            p50_us: l.quantile_us(0.5),
            p99_us: l.quantile_us(0.99),
            p999_us: l.quantile_us(0.999),
            max_us: l.max_us(),
            others_cpu_share: self.others_share,
        }
    }
}

/// The rows as JSON report objects ([`TimerRowJson`]).
pub fn to_json(rows: &[TimerRow]) -> Vec<TimerRowJson<'_>> {
    rows.iter().map(TimerRow::json).collect()
}

#[cfg(test)]
mod tests {
    use super::{
        parse_cyclictest, to_json, Grid, Job, Latencies, TimerOpts, TimerRow, WARMUP_JOBS,
    };
    use crate::rt_settings::RtSettings;

    #[test]
    fn reads_cyclictests_histogram_and_overflows() {
        let out = "# /dev/cpu_dma_latency set to 0us\n# Histogram\n000013 000001\n\
                   000016 000002\n000020 000000\n# Total: 000000004\n# Min Latencies: 00013\n\
                   # Max Latencies: 04945\n# Histogram Overflows: 00001\n";
        let l = parse_cyclictest(out).unwrap();
        assert_eq!(l.recorded(), 4);
        assert!(
            (l.quantile_us(0.5) - 16.0).abs() < 0.1,
            "{}",
            l.quantile_us(0.5)
        );
        assert!((l.max_us() - 4945.0).abs() < 5.0, "{}", l.max_us());
        assert!(parse_cyclictest("# Histogram\n# Total: 0\n").is_none());
    }

    #[test]
    fn grid_skips_warmup_and_ends() {
        let g = Grid::new(0, 3);
        let p = g.period;
        assert_eq!(g.start, p);
        assert_eq!(g.classify(g.start), Job::Warmup);
        assert_eq!(g.classify(g.start + (WARMUP_JOBS - 1) * p), Job::Warmup);
        assert_eq!(g.classify(g.start + WARMUP_JOBS * p), Job::Measure);
        assert_eq!(g.classify(g.start + (WARMUP_JOBS + 2) * p), Job::Measure);
        assert_eq!(g.classify(g.start + (WARMUP_JOBS + 3) * p), Job::Done);
    }

    #[test]
    fn grid_skip_rule_matches_the_intervals() {
        let g = Grid::new(0, 10);
        let p = g.period;
        // On time or slightly late: the next grid point.
        assert_eq!(g.next_release(p, p), 2 * p);
        assert_eq!(g.next_release(p, p + p / 2), 2 * p);
        // 2.5 periods late: two jobs skipped, the grid stays.
        assert_eq!(g.next_release(p, p + 5 * p / 2), 4 * p);
    }

    /// The derived JSON rows keep their keys, integers stay integers and an unknown CPU share
    /// is `null`.
    #[test]
    fn json_rows_keep_their_keys() {
        let mut latencies = Latencies::new();
        latencies.record(1_000, 51_000);
        let row = TimerRow {
            label: "kairos".to_owned(),
            latencies,
            expected: 3,
            others_share: None,
        };
        let text = serde_json::to_string(&to_json(&[row])).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let r = &v[0];
        assert_eq!(r["row"], "kairos");
        assert_eq!(r["period_ns"], 1_000_000);
        assert_eq!(
            (r["jobs_expected"].as_u64(), r["jobs_recorded"].as_u64()),
            (Some(3), Some(1))
        );
        assert_eq!(
            (r["missed"].as_u64(), r["early"].as_u64()),
            (Some(2), Some(0))
        );
        assert!(r["p50_us"].is_f64() && r["p99_us"].is_f64() && r["p999_us"].is_f64());
        assert!((r["max_us"].as_f64().unwrap() - 50.0).abs() < 0.1);
        assert!(r["others_cpu_share"].is_null());
        assert_eq!(r.as_object().unwrap().len(), 11);
    }

    #[test]
    fn latencies_count_early_jobs_apart() {
        let mut l = Latencies::new();
        l.record(1_000, 51_000);
        l.record(1_000, 1_000);
        l.record(2_000, 1_000);
        assert_eq!(l.recorded(), 2);
        assert_eq!(l.early, 1);
        assert!((l.max_us() - 50.0).abs() < 0.1);
    }

    #[test]
    fn jobs_per_second_at_one_ms() {
        let o = TimerOpts {
            secs: 5,
            workers: 2,
            rt: RtSettings::default(),
        };
        assert_eq!(o.jobs(), 5_000);
    }
}
