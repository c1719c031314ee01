//! The periodic built-ins on the async backends: rows `kairos-<policy>` and `tokio`.
//!
//! A round builds a workload-file model of the [`PeriodicSet`] ([`model`]: each periodic task
//! one TOML-style task, `Run(C)` then an absolute timer of period `T`, job deadline `D`, with
//! the task's kairos priority and nice value; the background tasks as `hogs` of the set's
//! [`HogKind`](crate::workload_file::model::HogKind)) and runs it with the workload-file runner
//! of the async backends, [`async_backend::run`], on a freshly built runtime; the result becomes
//! a [`Round`] ([`round`]), as the kernel rows do with [`crate::kernel::run`]
//! ([`super::kernel`]). One runner per backend: the built-ins and the workload files run the
//! same code.
//!
//! # The same task set on both runtimes
//!
//! | | kairos (every policy) | tokio |
//! |---|---|---|
//! | periodic task | `Runtime::spawn_periodic(Periodic::new(T).deadline(D).offset(O).priority(p).nice(n).name(task))`, overrun policy `Queue`; job `k` released at `t0 + k·T` ([`async_backend::periodic`]) | one task: `sleep_until(t0 + k·T)`, then the job, in a loop (the file runner's generic loop, [`async_backend::jobs`]); a late job's successors run back to back |
//! | job body | `kairos::work(C)`: `C` of thread CPU time in 20 µs slices, yielding between slices only when `kairos::task::should_yield()` says so | `C` of thread CPU time in 20 µs slices, `tokio::task::yield_now()` between every two slices |
//! | release → start | release on kairos' grid (`Job::release()`) → the job's first clock read | release on the grid → the task's first clock read after `sleep_until` returned |
//! | response, miss | completion − release; missed iff completion > release + `D` | the same |
//! | end of the run | the driving thread stops the task at `t0 + duration`: no release after it, the job in progress completes | no release at or after `t0 + duration`; a job still running then is cut off and is not a job (neither completed nor missed) |
//! | background task | a spin until the thread has used 20 µs of CPU time, with no check inside, `should_yield()` (counts a preemption if the runtime asked), `kairos::yield_now()`, in a loop; spawned with no parameters (no deadline, priority 0, nice 0), named `hogs` | the same spin, `tokio::task::yield_now()`, in a loop |
//! | non-yielding background task (`non-yielding-hogs`) | the same with 20 ms of hog work units on the wall clock (the worker is held for 20 ms however loaded the machine) | the same |
//!
//! kairos' parameters: every policy's at once (each policy reads its own): the job deadline
//! `D` (`Edf`, `Classes`), the kairos priority 0 ..= 255 of the
//! [`RtTask`](crate::workload::RtTask) (`Priority`, `Classes`; carried by the model's
//! `Sched::kairos_priority`), the nice value (`Fair`,
//! `Classes`); the task's own name in kairos' per-name metrics (its cooperative preemptions,
//! its name in a `--trace`). `--kairos-periodic task-loop` ([`KairosPeriodic::TaskLoop`]) runs
//! the periodic tasks on kairos with the generic loop too (spawned with the same priority, nice
//! and name, the job's deadline set before each wait for a release; jobs spin in 20 µs slices
//! with a yield after each), rows labelled `kairos-<policy>+loop`.
//!
//! `t0` is 10 ms after the run starts (time to spawn everything); every periodic task's first
//! release is `t0` (the releases of a set are simultaneous up to the time between two spawns:
//! the synchronous release, the worst case of fixed-priority analysis). The background tasks
//! start spinning at `t0` and stop when the periodic tasks have ended.
//!
//! # Figures
//!
//! Per task: released, completed, missed (completed after release + `D`), release → start and
//! response histograms, the job records, and on kairos the task's cooperative preemptions
//! (`Metrics::by_name`). Per round: kairos' cooperative preemptions over the run
//! (`Metrics::preemptions`), the hogs' (per-name), and the background throughput: the hog
//! slices ([`Hogs::slice`](crate::workload::Hogs::slice): 20 µs of CPU time, or 20 ms polls of wall time on
//! `non-yielding-hogs`) that ran whole within the window, all hogs together (the kernel rows,
//! whose hog threads do not slice, count their CPU time / the slice instead). The caller adds
//! the CPU figures.

use super::Round;
use crate::async_backend::{self, AsyncRun};
use crate::error::BenchError;
use crate::exec::{kairos_backend_label, Exec, Kairos, KairosMode, Tokio};
use crate::watchdog::Watchdog;
use crate::workload::{rt_priority, PeriodicSet};
use crate::workload_file::model::{Sched, Workload};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Beyond the run's length, after which the round's watchdog declares a hang (building and
/// shutting the runtime down included; the run itself has the file runner's watchdog too).
const HANG_MARGIN: Duration = Duration::from_secs(60);

/// How the periodic tasks run on kairos (`--kairos-periodic`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum KairosPeriodic {
    /// kairos' own periodic tasks, `Runtime::spawn_periodic` (what is measured).
    #[default]
    SpawnPeriodic,
    /// Diagnostic: the workload-file runner's generic loop for every periodic task; rows
    /// labelled kairos-POLICY+loop.
    ///
    /// Each periodic task is a plain task spawned with `spawn_with` (priority, nice, name) that
    /// sets its next job's deadline (`task::set_deadline(release + D)`) *before* it sleeps
    /// until the release on kairos' timer, so the timer wakes it with that deadline; jobs spin
    /// `C` of CPU time in 20 µs slices with a yield after each. It shows what `Edf` does when a
    /// released job is queued with its deadline, which `spawn_periodic`'s driver does not do
    /// (it clears its deadline between jobs).
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

/// The workload-file model of `set` for the async rows: [`PeriodicSet::model`] with every
/// task's portable priority (the file's 1 ..= 99, [`rt_priority`]), its kairos priority
/// (0 ..= 255, which kairos gets) and its nice value; no class.
pub fn model(name: &str, set: &PeriodicSet, duration: Duration) -> Workload {
    set.model(name, duration, |task| Sched {
        nice: i32::from(task.nice),
        priority: Some(rt_priority(task.priority)),
        kairos_priority: Some(task.priority),
        ..Sched::default()
    })
}

/// One round of `set` (the built-in `name`) on kairos under `policy` + `mode` on `workers`;
/// with `trace`, the round's runtime trace is written to that file (Chrome trace event format).
///
/// # Errors
/// The runtime cannot be built or shut down, a periodic task is refused, a task panicked, the
/// trace file cannot be written.
#[allow(clippy::too_many_arguments)]
pub fn kairos(
    policy: kairos::Policy,
    mode: KairosMode,
    periodic: KairosPeriodic,
    name: &str,
    set: &PeriodicSet,
    workers: Workers,
    duration: Duration,
    trace: Option<PathBuf>,
) -> Result<Round, BenchError> {
    let label = kairos_backend_label(policy, mode);
    let _watchdog = Watchdog::arm(format!("{label} round"), duration + HANG_MARGIN);
    let workload = model(name, set, duration);
    let mut exec = Kairos::backend_rt(workers.count, policy, mode, workers.rt)?;
    if periodic == KairosPeriodic::TaskLoop {
        exec = exec.task_loops();
    }
    if trace.is_some() {
        exec.runtime()
            .start_trace(kairos::trace::DEFAULT_CAPACITY)
            .map_err(|e| BenchError::Build {
                backend: label.clone(),
                message: format!("cannot start the trace: {e}"),
            })?;
    }
    let run = async_backend::run(&exec, &workload, true);
    let traced = match &run {
        Ok(_) => write_trace(exec.runtime(), trace.as_deref()),
        Err(_) => Ok(()),
    };
    let panics = exec.runtime().metrics().panics;
    let down = exec.shutdown();
    let run = run?;
    traced?;
    down?;
    if panics > 0 {
        return Err(BenchError::Task {
            backend: label,
            message: format!("{panics} task(s) panicked"),
        });
    }
    Ok(round(run, duration))
}

/// One round of `set` (the built-in `name`) on tokio's multi-thread runtime (with its timer
/// driver) on `workers` workers.
///
/// # Errors
/// The runtime cannot be built, a task panicked.
pub fn tokio(
    name: &str,
    set: &PeriodicSet,
    workers: usize,
    duration: Duration,
) -> Result<Round, BenchError> {
    let _watchdog = Watchdog::arm("tokio round".to_owned(), duration + HANG_MARGIN);
    // Built before the runtime: the run's start follows the build closely (on tokio its
    // distance to the timer wheel's ticks is the phase of the release grid).
    let workload = model(name, set, duration);
    let exec = Tokio::with_timers(workers)?;
    let run = async_backend::run(&exec, &workload, true);
    let down = exec.shutdown();
    let run = run?;
    down?;
    Ok(round(run, duration))
}

/// A file-runner run of [`model`] in rt_compare's terms: per task its counters, histograms,
/// job records and (kairos) cooperative preemptions; misses count completed jobs only; the
/// background slices are the hogs' slices completed within the window (each
/// [`Hogs::slice`](crate::workload::Hogs::slice) long: 20 µs of CPU time, or a 20 ms poll of
/// wall time). The CPU figures are filled in by the caller, which times the whole round.
pub fn round(run: AsyncRun, duration: Duration) -> Round {
    let tasks = run
        .per_task
        .iter()
        .zip(run.jobs)
        .map(|(t, jobs)| {
            super::kernel::task_round(
                &t.stats,
                t.preemptions,
                jobs.into_iter().flatten().collect(),
            )
        })
        .collect();
    Round {
        tasks,
        preemptions: run.counters.map(|c| c.preemptions),
        background_preemptions: run.hog_preemptions,
        background_slices: run.hogs.as_ref().map_or(0, |h| h.full_slices),
        window: duration,
        status: None,
        ran: true,
        cpu_ns: 0,
        cpu_wall: Duration::ZERO,
        simulated: false,
    }
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
