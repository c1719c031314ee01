//! One round of a periodic workload on one backend: build the runtime, release the tasks on one
//! grid for the run's length with the background tasks spinning, stop, collect, shut down.
//!
//! # The same task set on both runtimes
//!
//! | | kairos (every policy) | tokio |
//! |---|---|---|
//! | periodic task | `Runtime::spawn_periodic(Periodic::new(T).deadline(D).offset(O).priority(p).nice(n).name(..))`; job `k` released at `t0 + k·T` | one task: `sleep_until(t0 + k·T)`, then the job, in a loop |
//! | job body | `kairos::work(C)`: `C` of thread CPU time in 20 µs slices, yielding between slices only when `kairos::task::should_yield()` says so | `C` of thread CPU time in 20 µs slices, `tokio::task::yield_now()` between every two slices |
//! | release → start | `PeriodicStats::start_latency`: release → the driver's first clock read after its timer fired and it was polled | release → the task's first clock read after `sleep_until` returned |
//! | response, miss | `PeriodicStats`: completion − release; missed iff completion > release + `D` | the same, measured in the loop |
//! | background task | `kairos::work(20 µs)`, `should_yield()` (counts a preemption if the runtime asked), `kairos::yield_now()`, in a loop; spawned with no parameters (no deadline, priority 0, nice 0) | 20 µs of thread CPU spin, `tokio::task::yield_now()`, in a loop |
//! | non-yielding background task (`non-yielding-hogs`) | a 20 ms wall-clock spin with no check inside, `should_yield()`, `kairos::yield_now()`, in a loop | the same spin, `tokio::task::yield_now()`, in a loop |
//!
//! `t0` is 10 ms after the runtime is built (time to spawn everything); every periodic task's
//! first release is `t0` (the offset is computed per task from the same `t0`, so the releases
//! of a set are simultaneous up to the microsecond between two spawns: the synchronous release,
//! the worst case of fixed-priority analysis). The background tasks start spinning as soon as
//! they are spawned. At `t0 + duration` the driving thread stops the periodic tasks (no further
//! release; the job in progress completes) and the background tasks (each ends after its current
//! slice), and waits for them all.
//!
//! Background throughput counts the slices that ended within `[t0, t0 + duration)`, all
//! background tasks together.

use super::{JobRecord, Round, TaskRound};
use crate::error::BenchError;
use crate::exec::{kairos_backend_label, KairosMode};
use crate::spin::{self, mono_ns, nanos};
use crate::watchdog::Watchdog;
use crate::workload::{Hogs, PeriodicSet, RtTask};
use kairos::stats::Histogram;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Time between building the runtime and the first release.
///
/// On tokio this also fixes the phase of the release grid against tokio's 1 ms timer ticks,
/// which start at the runtime's build: releases fall a few µs after a tick and each waits almost
/// a whole tick (with 10.5 ms they would wait about half of one). Kept at 10 ms, as the kernel
/// and workload-file backends use, rather than tuned per runtime.
pub(super) const START_MARGIN: Duration = Duration::from_millis(10);

/// Beyond the run's length, after which the watchdog declares a hang.
pub(super) const HANG_MARGIN: Duration = Duration::from_secs(60);

/// How long shutdown may wait for a worker still inside a poll.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// kairos' per-name metrics name of the background tasks.
pub const BACKGROUND_NAME: &str = "background";

/// Longest stretch a tokio job spins without yielding (the same as `kairos::WORK_SLICE`).
const TOKIO_SLICE: Duration = kairos::WORK_SLICE;

/// How the periodic tasks run on kairos (`--kairos-periodic`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum KairosPeriodic {
    /// kairos' own periodic tasks, `Runtime::spawn_periodic` (what is measured).
    #[default]
    SpawnPeriodic,
    /// Diagnostic: a plain task per periodic task that sets the next job's deadline before it
    /// sleeps; rows labelled kairos-POLICY+loop.
    ///
    /// The task is spawned with `spawn_with` (priority, nice, name, first deadline) and runs
    /// the tokio backend's release loop on kairos' timer, calling `task::set_deadline(release +
    /// D)` *before* `sleep_until(release)`, so the timer wakes it with that deadline; jobs run
    /// `kairos::work(C)`. It shows what `Edf` does when a released job is queued with its
    /// deadline, which `spawn_periodic`'s driver does not do (it clears its deadline between
    /// jobs).
    TaskLoop,
}

/// The kairos workers of a round: how many, pinned or not, at which OS priority.
#[derive(Clone, Copy, Debug)]
pub struct Workers {
    /// Worker threads (per class under preemptive classes).
    pub count: usize,
    /// `--pin`, `--worker-priority`.
    pub rt: crate::rt_settings::RtSettings,
}

/// One round on kairos under `policy` on `workers`; with `trace`, the round's runtime trace is
/// written to that file (Chrome trace event format).
///
/// # Errors
/// The runtime cannot be built or shut down, a periodic task is refused, a task panicked, the
/// trace file cannot be written.
pub fn kairos(
    policy: kairos::Policy,
    kairos_mode: KairosMode,
    mode: KairosPeriodic,
    set: &PeriodicSet,
    workers: Workers,
    duration: Duration,
    trace: Option<PathBuf>,
) -> Result<Round, BenchError> {
    let Workers { count: workers, rt } = workers;
    let label = kairos_backend_label(policy, kairos_mode);
    let _watchdog = Watchdog::arm(format!("{label} round"), duration + HANG_MARGIN);
    let rt = kairos_mode
        .tune(
            rt.apply(
                kairos::Runtime::builder()
                    .workers(workers)
                    .policy(policy)
                    .thread_name("kairos-bench"),
            ),
        )
        .build()
        .map_err(|e| BenchError::Build {
            backend: label.clone(),
            message: e.to_string(),
        })?;
    if trace.is_some() {
        rt.start_trace(kairos::trace::DEFAULT_CAPACITY)
            .map_err(|e| BenchError::Build {
                backend: label.clone(),
                message: format!("cannot start the trace: {e}"),
            })?;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let t0 = Instant::now() + START_MARGIN;
    let end = t0 + duration;
    let background: Vec<_> = (0..set.background)
        .map(|_| {
            rt.spawn_with(
                kairos::Sched::default().name(BACKGROUND_NAME),
                kairos_background(t0, end, Arc::clone(&stop), set.hogs, false),
            )
        })
        .collect();
    if mode == KairosPeriodic::TaskLoop {
        return kairos_task_loops(rt, label, set, t0, end, stop, background, duration, trace);
    }
    let mut periodic = Vec::with_capacity(set.tasks.len());
    let mut logs = Vec::with_capacity(set.tasks.len());
    for task in set.tasks {
        let work = task.work;
        let log: JobLog = Arc::default();
        logs.push(Arc::clone(&log));
        let params = periodic_params(task, t0.saturating_duration_since(Instant::now()));
        let handle = rt
            .spawn_periodic(params, move |job| logged_job(job, work, Arc::clone(&log)))
            .map_err(|e| spawn_error(&label, task, &e))?;
        periodic.push(handle);
    }
    sleep_until(end);
    for h in &periodic {
        h.stop();
    }
    stop.store(true, Ordering::Relaxed);
    let (stats, slices) = rt
        .block_on(join_round(
            periodic
                .into_iter()
                .map(|h| async move { Ok::<_, kairos::JoinError>(h.join().await) })
                .collect(),
            background,
        ))
        .map_err(|message| BenchError::Task {
            backend: label.clone(),
            message,
        })?;
    write_trace(&rt, trace.as_deref())?;
    let metrics = rt.metrics();
    rt.shutdown_timeout(SHUTDOWN_TIMEOUT)
        .map_err(|e| BenchError::Shutdown {
            backend: label.clone(),
            message: e.to_string(),
        })?;
    if metrics.panics > 0 {
        return Err(BenchError::Task {
            backend: label,
            message: format!("{} task(s) panicked", metrics.panics),
        });
    }
    let clock = KairosClock::now();
    let tasks = periodic_rounds(set, stats, &logs, &metrics, |i| clock.mono(i));
    Ok(kairos_round(tasks, &metrics, slices, duration))
}

/// Stops the round's trace, if one records, and writes it to `path` (Chrome trace event format).
fn write_trace(rt: &kairos::Runtime, path: Option<&Path>) -> Result<(), BenchError> {
    let (Some(path), Some(trace)) = (path, path.and_then(|_| rt.stop_trace())) else {
        return Ok(());
    };
    let io = |source| BenchError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
    trace.write_chrome_json(&mut out).map_err(io)?;
    std::io::Write::flush(&mut out).map_err(io)
}

/// The `spawn_periodic` parameters of `task` (every policy's parameter at once), first release
/// `offset` after the spawn.
pub(super) fn periodic_params(task: &RtTask, offset: Duration) -> kairos::Periodic {
    kairos::Periodic::new(task.period)
        .deadline(task.deadline())
        .offset(offset)
        .priority(task.priority)
        .nice(task.nice)
        .name(task.name)
}

/// A refused `spawn_periodic`.
pub(super) fn spawn_error(label: &str, task: &RtTask, e: &kairos::AdmissionError) -> BenchError {
    BenchError::Task {
        backend: label.to_owned(),
        message: format!("spawn_periodic({}): {e}", task.name),
    }
}

/// One job of a `spawn_periodic` task: `kairos::work(work)`, logged as (release, first clock
/// read, end) on kairos' clock (the OS clock, or virtual time under the simulator).
pub(super) async fn logged_job(job: kairos::Job, work: Duration, log: JobLog) {
    let start = kairos::time::Instant::now();
    kairos::work(work).await;
    let end = kairos::time::Instant::now();
    if let Ok(mut log) = log.lock() {
        log.push((job.release(), start, end));
    }
}

/// The periodic tasks' rounds from their final statistics, their job logs (instants turned into
/// ns by `ns`) and the runtime's per-name preemptions.
pub(super) fn periodic_rounds(
    set: &PeriodicSet,
    stats: Vec<kairos::PeriodicStats>,
    logs: &[JobLog],
    metrics: &kairos::Metrics,
    ns: impl Fn(kairos::time::Instant) -> u64,
) -> Vec<TaskRound> {
    set.tasks
        .iter()
        .zip(stats)
        .zip(logs)
        .map(|((task, s), log)| TaskRound {
            released: s.released,
            completed: s.completed,
            missed: s.missed,
            start_latency: s.start_latency,
            response: s.response_time,
            preemptions: Some(preempted_by_name(metrics, task.name)),
            jobs: log
                .lock()
                .map(|log| {
                    log.iter()
                        .map(|&(release, start, end)| JobRecord {
                            release: ns(release),
                            start: ns(start),
                            end: ns(end),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect()
}

/// Cooperative preemptions kairos counted for tasks named `name`.
fn preempted_by_name(metrics: &kairos::Metrics, name: &str) -> u64 {
    metrics.by_name.get(name).map_or(0, |s| s.preemptions)
}

/// A measured kairos round from its tasks, the runtime's metrics and the background slices
/// (the CPU figures are filled in by the caller, which times the whole round).
pub(super) fn kairos_round(
    tasks: Vec<TaskRound>,
    metrics: &kairos::Metrics,
    slices: u64,
    duration: Duration,
) -> Round {
    Round {
        tasks,
        preemptions: Some(metrics.preemptions),
        background_preemptions: Some(preempted_by_name(metrics, BACKGROUND_NAME)),
        background_slices: slices,
        window: duration,
        status: None,
        ran: true,
        cpu_ns: 0,
        cpu_wall: Duration::ZERO,
        simulated: false,
    }
}

/// The rest of a [`KairosPeriodic::TaskLoop`] round: spawn one loop task per periodic task,
/// run until `end`, stop, collect, shut down.
#[allow(clippy::too_many_arguments)]
fn kairos_task_loops(
    rt: kairos::Runtime,
    label: String,
    set: &PeriodicSet,
    t0: Instant,
    end: Instant,
    stop: Arc<AtomicBool>,
    background: Vec<kairos::JoinHandle<u64>>,
    duration: Duration,
    trace: Option<PathBuf>,
) -> Result<Round, BenchError> {
    // t0 and end on kairos' clock (both clocks are CLOCK_MONOTONIC; this read pairs them).
    let (k_now, now) = (kairos::time::Instant::now(), Instant::now());
    let k_t0 = k_now + t0.saturating_duration_since(now);
    let k_end = k_t0 + duration;
    let loops: Vec<_> = set
        .tasks
        .iter()
        .map(|&task| {
            let sched = kairos::Sched::default()
                .deadline_at(k_t0 + task.deadline())
                .priority(task.priority)
                .nice(task.nice)
                .name(task.name);
            rt.spawn_with(sched, kairos_loop(task, k_t0, k_end, Arc::clone(&stop)))
        })
        .collect();
    sleep_until(end);
    stop.store(true, Ordering::Relaxed);
    let joined = rt.block_on(join_round(loops, background));
    write_trace(&rt, trace.as_deref())?;
    let metrics = rt.metrics();
    let down = rt.shutdown_timeout(SHUTDOWN_TIMEOUT);
    let (mut tasks, slices) = joined.map_err(|message| BenchError::Task {
        backend: label.clone(),
        message,
    })?;
    down.map_err(|e| BenchError::Shutdown {
        backend: label.clone(),
        message: e.to_string(),
    })?;
    for (t, task) in tasks.iter_mut().zip(set.tasks) {
        t.preemptions = Some(preempted_by_name(&metrics, task.name));
    }
    Ok(kairos_round(tasks, &metrics, slices, duration))
}

/// [`KairosPeriodic::TaskLoop`]'s periodic task: the tokio loop on kairos' timer, with the
/// job's deadline set before the wait for its release.
async fn kairos_loop(
    task: RtTask,
    t0: kairos::time::Instant,
    end: kairos::time::Instant,
    stop: Arc<AtomicBool>,
) -> TaskRound {
    let mut out = TaskRound::new();
    let clock = KairosClock::now();
    let deadline = task.deadline();
    for k in 0u32.. {
        let release = t0 + task.period * k;
        if release >= end {
            break;
        }
        let _ = kairos::task::set_deadline(release + deadline);
        kairos::time::sleep_until(release).await;
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let started = kairos::time::Instant::now();
        clock.job_started(&mut out, release, started);
        kairos::work(task.work).await;
        clock.job_done(
            &mut out,
            release,
            started,
            kairos::time::Instant::now(),
            deadline,
        );
    }
    out
}

/// A kairos background task: slices of CPU ([`Hogs::slice`]), a yield after each, until `stop`;
/// returns the slices that ended within `[t0, end)` on the clock `I` (std's on the runtime,
/// kairos' virtual one under the simulator).
///
/// A cooperative hog's slice is one `kairos::work(20 µs)`. A non-yielding hog's slice is one
/// poll with no cooperative check: on the real runtime (`simulated` false) a spin on the wall
/// clock, so the worker is held for the poll's length whatever the machine's load; under the
/// simulator a run of `kairos::work(WORK_SLICE)` calls, each ending before `work` would check
/// `should_yield()`, which keeps the virtual worker busy for the poll's length.
pub(super) async fn kairos_background<I: Since + PartialOrd>(
    t0: I,
    end: I,
    stop: Arc<AtomicBool>,
    hogs: Hogs,
    simulated: bool,
) -> u64 {
    let mut counted = 0;
    while !stop.load(Ordering::Relaxed) {
        match hogs {
            Hogs::Cooperative => kairos::work(hogs.slice()).await,
            Hogs::NonYielding(poll) if !simulated => spin::wall(poll),
            Hogs::NonYielding(poll) => {
                let mut left = poll;
                while !left.is_zero() {
                    let piece = left.min(kairos::WORK_SLICE);
                    kairos::work(piece).await;
                    left -= piece;
                }
            }
        }
        let now = I::now();
        if now >= t0 && now < end {
            counted += 1;
        }
        // The task yields after every slice anyway; asking first lets kairos count the slices
        // after which it wanted the worker back (a more urgent task was waiting) as preemptions.
        let _ = kairos::task::should_yield();
        kairos::yield_now().await;
    }
    counted
}

/// Awaits the periodic tasks' results in order, then the background tasks' slice counts; the
/// first failure (a panicked task) becomes the error message.
pub(super) async fn join_round<T, E: std::fmt::Display>(
    periodic: Vec<impl std::future::Future<Output = Result<T, E>>>,
    background: Vec<impl std::future::Future<Output = Result<u64, E>>>,
) -> Result<(Vec<T>, u64), String> {
    let mut tasks = Vec::with_capacity(periodic.len());
    for h in periodic {
        tasks.push(h.await.map_err(|e| e.to_string())?);
    }
    let mut slices = 0;
    for h in background {
        slices += h.await.map_err(|e| e.to_string())?;
    }
    Ok((tasks, slices))
}

/// One round on tokio's multi-thread runtime (with its timer driver).
///
/// # Errors
/// The runtime cannot be built, a task panicked.
pub fn tokio(set: &PeriodicSet, workers: usize, duration: Duration) -> Result<Round, BenchError> {
    let _watchdog = Watchdog::arm("tokio round".to_owned(), duration + HANG_MARGIN);
    let rt = crate::exec::tokio_with_timers(workers)?;
    let stop = Arc::new(AtomicBool::new(false));
    let t0 = Instant::now() + START_MARGIN;
    let end = t0 + duration;
    let background: Vec<_> = (0..set.background)
        .map(|_| rt.spawn(tokio_background(t0, end, Arc::clone(&stop), set.hogs)))
        .collect();
    let periodic: Vec<_> = set
        .tasks
        .iter()
        .map(|&task| rt.spawn(tokio_periodic(task, t0, end, Arc::clone(&stop))))
        .collect();
    sleep_until(end);
    stop.store(true, Ordering::Relaxed);
    let joined = rt.block_on(join_round(periodic, background));
    rt.shutdown_timeout(SHUTDOWN_TIMEOUT);
    let (tasks, slices) = joined.map_err(|message| BenchError::Task {
        backend: "tokio".to_owned(),
        message,
    })?;
    Ok(Round {
        tasks,
        preemptions: None,
        background_preemptions: None,
        background_slices: slices,
        window: duration,
        status: None,
        ran: true,
        cpu_ns: 0,
        cpu_wall: Duration::ZERO,
        simulated: false,
    })
}

/// A tokio periodic task: job `k` released at `t0 + k·T` while that is before `end` and the
/// run is not stopped; jobs of an overrun run late, back to back (kairos' `Overrun::Queue`).
async fn tokio_periodic(
    task: RtTask,
    t0: Instant,
    end: Instant,
    stop: Arc<AtomicBool>,
) -> TaskRound {
    let mut out = TaskRound::new();
    let clock = StdClock::now();
    let deadline = task.deadline();
    for k in 0u32.. {
        let release = t0 + task.period * k;
        if release >= end {
            break;
        }
        tokio::time::sleep_until(tokio::time::Instant::from_std(release)).await;
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let started = Instant::now();
        clock.job_started(&mut out, release, started);
        tokio_work(task.work).await;
        clock.job_done(&mut out, release, started, Instant::now(), deadline);
    }
    out
}

/// `d` of the calling thread's CPU time in slices of at most 20 µs, `yield_now` between slices.
async fn tokio_work(d: Duration) {
    let mut left = nanos(d);
    let slice = nanos(TOKIO_SLICE);
    while left > 0 {
        let chunk = left.min(slice);
        spin::cpu(chunk);
        left -= chunk;
        if left > 0 {
            tokio::task::yield_now().await;
        }
    }
}

/// A tokio background task, as [`kairos_background`].
async fn tokio_background(t0: Instant, end: Instant, stop: Arc<AtomicBool>, hogs: Hogs) -> u64 {
    let mut counted = 0;
    let slice = nanos(hogs.slice());
    while !stop.load(Ordering::Relaxed) {
        match hogs {
            Hogs::Cooperative => spin::cpu(slice),
            Hogs::NonYielding(poll) => spin::wall(poll),
        }
        let now = Instant::now();
        if now >= t0 && now < end {
            counted += 1;
        }
        tokio::task::yield_now().await;
    }
    counted
}

/// Sleeps the calling (driving, non-worker) thread until `at`.
fn sleep_until(at: Instant) {
    let now = Instant::now();
    if at > now {
        std::thread::sleep(at - now);
    }
}

impl TaskRound {
    /// Nothing yet.
    pub fn new() -> TaskRound {
        TaskRound {
            released: 0,
            completed: 0,
            missed: 0,
            start_latency: Histogram::new(),
            response: Histogram::new(),
            preemptions: None,
            jobs: Vec::new(),
        }
    }
}

/// A kairos periodic task's completed jobs: (release, first clock read in the job, end).
pub(super) type JobLog = Arc<
    Mutex<
        Vec<(
            kairos::time::Instant,
            kairos::time::Instant,
            kairos::time::Instant,
        )>,
    >,
>;

/// One reading of an instant type's clock paired with `CLOCK_MONOTONIC` (both clocks are
/// `CLOCK_MONOTONIC` on Linux; the pairing converts one into the other's ns).
#[derive(Clone, Copy)]
struct Paired<I> {
    at: I,
    mono: u64,
}

/// std's `Instant`, paired.
type StdClock = Paired<Instant>;
/// kairos' `Instant`, paired.
type KairosClock = Paired<kairos::time::Instant>;

/// What [`Paired`] needs of an instant type.
pub(super) trait Since: Copy {
    /// The instant now.
    fn now() -> Self;
    /// `self - earlier`, zero if `earlier` is later.
    fn since(self, earlier: Self) -> Duration;
}

impl Since for Instant {
    fn now() -> Self {
        Instant::now()
    }
    fn since(self, earlier: Self) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

impl Since for kairos::time::Instant {
    fn now() -> Self {
        kairos::time::Instant::now()
    }
    fn since(self, earlier: Self) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

impl<I: Since> Paired<I> {
    /// Reads both clocks now.
    fn now() -> Paired<I> {
        Paired {
            at: I::now(),
            mono: mono_ns(),
        }
    }

    /// A release loop's job `released` at `release` started at `started`: counts it and records
    /// its release → start latency.
    fn job_started(&self, out: &mut TaskRound, release: I, started: I) {
        out.released += 1;
        out.start_latency.record(nanos(started.since(release)));
    }

    /// The job finished at `done`: records it (times on `CLOCK_MONOTONIC`), its response time,
    /// and whether it missed `release + deadline`.
    fn job_done(&self, out: &mut TaskRound, release: I, started: I, done: I, deadline: Duration) {
        out.jobs.push(JobRecord {
            release: self.mono(release),
            start: self.mono(started),
            end: self.mono(done),
        });
        out.completed += 1;
        out.response.record(nanos(done.since(release)));
        if done.since(release) > deadline {
            out.missed += 1;
        }
    }

    /// `i` as `CLOCK_MONOTONIC` ns.
    fn mono(&self, i: I) -> u64 {
        let ahead = nanos(i.since(self.at));
        if ahead > 0 {
            self.mono.saturating_add(ahead)
        } else {
            self.mono.saturating_sub(nanos(self.at.since(i)))
        }
    }
}
