//! One round of a periodic workload under kairos' deterministic simulator (`kairos::sim`): the
//! rows `sim-fifo`, `sim-edf`, `sim-priority`, `sim-fair` of `compare --backends sim`.
//!
//! # The same workload as the executor rows
//!
//! The round is the executor rows' ([`async_rows`](super::async_rows), where kairos runs the
//! set's plain periodic tasks as `spawn_periodic` tasks through the workload-file runner) on a
//! [`kairos::sim::Sim`] instead of a [`kairos::Runtime`], written directly against the
//! simulator (it is its own backend, with its own driver): the same worker count, the same
//! periodic tasks (`spawn_periodic` with [`periodic_params`]: period, deadline, kairos
//! priority, nice, name), the same job body ([`logged_job`]: `kairos::work(C)`, logged as
//! release, first clock read, end), background tasks of the same shape
//! ([`kairos_background`]: `kairos::work(20 µs)`, `should_yield()`, `yield_now()` in a loop;
//! the executor rows spin 20 µs of thread CPU time), the
//! same start margin (first release 10 ms after the start, all tasks together), the same
//! length, stop (no release at or after the end, the job in progress completes) and
//! accounting (misses of completed jobs; background slices that ended in the window). What
//! differs is time:
//!
//! - virtual time ([`kairos::sim::Mode::CostModel`]): `kairos::work(d)` keeps its virtual worker
//!   busy for exactly `d` (in 20 µs slices with a cooperative check between slices, as on the
//!   real runtime); everything else (polls, queue operations, timers, wake-ups, the driver's
//!   bookkeeping) takes **no** virtual time (no per-poll overhead is charged). rel→poll is
//!   therefore pure queueing delay under the policy: the time a released job waits for a
//!   virtual worker to finish the slice it is in and for the policy to pick it;
//! - the round lasts `duration` of virtual time; in real time it takes as long as its events
//!   take to process (typically much less);
//! - there is no process CPU time to speak of: the row's `CPU ms/s` is `-`.
//!
//! # Seeds and rounds
//!
//! Round `r` (1-based) runs seed `seed + r - 1`. The seed drives the simulator's random streams
//! (which of several workers ready at the same instant steps first, steal victims); the same
//! seed, binary and workload give the same round, bit for bit. On one worker the seed changes
//! little or nothing; the range over the rounds is the spread across seeds, never noise.

use super::{JobRecord, Round, TaskRound};
use crate::backend::sim_label;
use crate::error::BenchError;
use crate::watchdog::Watchdog;
use crate::workload::{Hogs, PeriodicSet, RtTask};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Virtual time between the simulation's start and the first release (the executor rows'
/// margin, `async_backend`'s 10 ms).
const START_MARGIN: Duration = Duration::from_millis(10);

/// Beyond the run's length, after which the watchdog declares a hang.
const HANG_MARGIN: Duration = Duration::from_secs(60);

/// kairos' per-name metrics name of the background tasks.
const BACKGROUND_NAME: &str = "background";

/// Seed of round 1 when `--seed` is not given.
pub const DEFAULT_SEED: u64 = 1;

/// One round under the simulator with `policy` on `workers` virtual workers, `duration` of
/// virtual time, random streams from `seed`.
///
/// # Errors
/// The simulation cannot be built (bad parameters), a periodic task is refused, a task panicked.
///
/// # Panics
/// As [`kairos::sim::Sim::run_for`]: if virtual time stops advancing (a bug in the simulator or
/// the workload; the message names the seed).
pub fn round(
    policy: kairos::Policy,
    set: &PeriodicSet,
    workers: usize,
    duration: Duration,
    seed: u64,
) -> Result<Round, BenchError> {
    let label = sim_label(policy);
    let _watchdog = Watchdog::arm(
        format!("{label} round (seed {seed})"),
        duration + HANG_MARGIN,
    );
    let mut sim = kairos::sim::Builder::new()
        .seed(seed)
        .workers(workers)
        .policy(policy)
        .keep_trace(false)
        .build()
        .map_err(|e| BenchError::Build {
            backend: label.clone(),
            message: e.to_string(),
        })?;
    let stop = Arc::new(AtomicBool::new(false));
    // Virtual time stands still between the simulator's calls, so every offset is exact.
    let t0 = sim.now() + START_MARGIN;
    let end = t0 + duration;
    let background: Vec<_> = (0..set.background)
        .map(|_| {
            sim.spawn_with(
                kairos::Sched::default().name(BACKGROUND_NAME),
                kairos_background(t0, end, Arc::clone(&stop), set.hogs),
            )
        })
        .collect();
    let mut periodic = Vec::with_capacity(set.tasks.len());
    let mut logs: Vec<JobLog> = Vec::with_capacity(set.tasks.len());
    for task in set.tasks {
        let work = task.work;
        let log: JobLog = Arc::default();
        logs.push(Arc::clone(&log));
        let handle = sim
            .spawn_periodic(periodic_params(task, START_MARGIN), move |job| {
                logged_job(job, work, Arc::clone(&log))
            })
            .map_err(|e| spawn_error(&label, task, &e))?;
        periodic.push(handle);
    }
    // Up to just before `end`: a release at exactly `t0 + duration` is after the run, as on the
    // real runtime (where the driving thread stops the tasks at `end`).
    sim.run_for((START_MARGIN + duration).saturating_sub(Duration::from_nanos(1)));
    let joined = sim.block_on(async {
        for h in &periodic {
            h.stop();
        }
        stop.store(true, Ordering::Relaxed);
        join_round(
            periodic
                .into_iter()
                .map(|h| async move { Ok::<_, kairos::JoinError>(h.join().await) })
                .collect(),
            background,
        )
        .await
    });
    let metrics = sim.metrics();
    drop(sim);
    let (stats, slices) = joined.map_err(|message| BenchError::Task {
        backend: label.clone(),
        message,
    })?;
    if metrics.panics > 0 {
        return Err(BenchError::Task {
            backend: label,
            message: format!("{} task(s) panicked (seed {seed})", metrics.panics),
        });
    }
    let tasks = periodic_rounds(set, stats, &logs, &metrics);
    Ok(Round {
        tasks,
        preemptions: Some(metrics.preemptions),
        background_preemptions: Some(preempted_by_name(&metrics, BACKGROUND_NAME)),
        background_slices: slices,
        window: duration,
        status: None,
        ran: true,
        cpu_ns: 0,
        cpu_wall: Duration::ZERO,
        simulated: true,
    })
}

/// The `spawn_periodic` parameters of `task` (every policy's parameter at once), first release
/// `offset` after the spawn.
fn periodic_params(task: &RtTask, offset: Duration) -> kairos::Periodic {
    kairos::Periodic::new(task.period)
        .deadline(task.deadline())
        .offset(offset)
        .priority(task.priority)
        .nice(task.nice)
        .name(task.name)
}

/// A refused `spawn_periodic`.
fn spawn_error(label: &str, task: &RtTask, e: &kairos::AdmissionError) -> BenchError {
    BenchError::Task {
        backend: label.to_owned(),
        message: format!("spawn_periodic({}): {e}", task.name),
    }
}

/// A periodic task's completed jobs: (release, first clock read in the job, end).
type JobLog = Arc<
    Mutex<
        Vec<(
            kairos::time::Instant,
            kairos::time::Instant,
            kairos::time::Instant,
        )>,
    >,
>;

/// One job of a `spawn_periodic` task: `kairos::work(work)`, logged as (release, first clock
/// read, end) on the simulator's virtual clock.
async fn logged_job(job: kairos::Job, work: Duration, log: JobLog) {
    let start = kairos::time::Instant::now();
    kairos::work(work).await;
    let end = kairos::time::Instant::now();
    if let Ok(mut log) = log.lock() {
        log.push((job.release(), start, end));
    }
}

/// The periodic tasks' rounds from their final statistics, their job logs (virtual ns) and the
/// simulator's per-name preemptions.
fn periodic_rounds(
    set: &PeriodicSet,
    stats: Vec<kairos::PeriodicStats>,
    logs: &[JobLog],
    metrics: &kairos::Metrics,
) -> Vec<TaskRound> {
    let ns = kairos::time::Instant::as_nanos;
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

/// A background task under the simulator: slices ([`Hogs::slice`]) with a yield after each,
/// until `stop`; returns the slices that ended within `[t0, end)` of virtual time.
///
/// A cooperative hog's slice is one `kairos::work(20 µs)`. A non-yielding hog's slice is a run
/// of `kairos::work(WORK_SLICE)` calls, each ending before `work` would check
/// `should_yield()`, which keeps the virtual worker busy for the poll's length with no
/// cooperative check inside.
async fn kairos_background(
    t0: kairos::time::Instant,
    end: kairos::time::Instant,
    stop: Arc<AtomicBool>,
    hogs: Hogs,
) -> u64 {
    let mut counted = 0;
    while !stop.load(Ordering::Relaxed) {
        match hogs {
            Hogs::Cooperative => kairos::work(hogs.slice()).await,
            Hogs::NonYielding(poll) => {
                let mut left = poll;
                while !left.is_zero() {
                    let piece = left.min(kairos::WORK_SLICE);
                    kairos::work(piece).await;
                    left -= piece;
                }
            }
        }
        let now = kairos::time::Instant::now();
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
async fn join_round<T, E: std::fmt::Display>(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{find, Shape};

    fn set(name: &str) -> PeriodicSet {
        match find(name).unwrap().shape {
            Shape::Periodic(set) => set,
            Shape::Sliced(_) => panic!("{name} is not periodic"),
        }
    }

    #[test]
    fn same_seed_same_round() {
        let set = set("mixed-latency-hogs");
        let run = || round(kairos::Policy::Edf, &set, 1, Duration::from_millis(100), 7).unwrap();
        let (a, b) = (run(), run());
        assert!(a.simulated);
        assert_eq!(a.background_slices, b.background_slices);
        for (x, y) in a.tasks.iter().zip(&b.tasks) {
            assert_eq!(x.jobs, y.jobs);
            assert_eq!(x.start_latency.max(), y.start_latency.max());
        }
    }

    #[test]
    fn jobs_follow_the_grid_and_edf_meets_every_deadline() {
        let set = set("mixed-latency");
        let r = round(kairos::Policy::Edf, &set, 1, Duration::from_millis(200), 1).unwrap();
        for (t, task) in r.tasks.iter().zip(set.tasks) {
            // Releases at t0 + k·T for k·T < 200 ms, every one completed.
            let expected = 200_000 / task.period.as_micros() as u64;
            assert_eq!(t.completed, expected, "{}", task.name);
            assert_eq!(t.missed, 0, "{}", task.name);
            // A job takes at least C of virtual time; exactly C when nothing preempts it, as
            // for ctrl (its releases coincide with audio's, which goes first under EDF).
            let c = task.work.as_nanos() as u64;
            assert!(t.jobs.iter().all(|j| j.end - j.start >= c), "{}", task.name);
            if task.name == "ctrl" {
                assert!(t.jobs.iter().all(|j| j.end - j.start == c), "{:?}", t.jobs);
            }
        }
        assert_eq!(r.background_slices, 0);
    }

    /// `non-yielding-hogs` on one virtual worker under cooperative `Classes`: the tick is in the
    /// deadline class, the hogs fair, yet a release that finds a hog mid-poll waits for that
    /// poll to end: the tick's release→poll latency reaches far beyond its deadline but never
    /// beyond one hog poll (20 ms), and the hogs ran whole 20 ms polls.
    #[test]
    fn non_yielding_hogs_delay_cooperative_classes_by_at_most_one_poll() {
        let set = set("non-yielding-hogs");
        let crate::workload::Hogs::NonYielding(poll) = set.hogs else {
            panic!("non-yielding-hogs has cooperative hogs");
        };
        let r = round(
            kairos::Policy::Classes,
            &set,
            1,
            Duration::from_millis(200),
            1,
        )
        .unwrap();
        let tick = &r.tasks[0];
        let poll_ns = poll.as_nanos() as u64;
        let worst = tick.start_latency.max();
        assert!(worst > 1_000_000, "no release waited for a hog: {worst} ns");
        assert!(
            worst <= poll_ns + 50_000,
            "waited beyond one hog poll: {worst} ns"
        );
        assert!(tick.missed > 0);
        // Virtual time: at most 200 ms of hog polls fit in the window, ten polls.
        assert!(
            r.background_slices >= 1 && r.background_slices <= 10,
            "{}",
            r.background_slices
        );
    }

    /// The same tick beside the cooperative hogs of `latency-under-load` (20 µs slices) on one
    /// virtual worker under `Classes`: every job meets its deadline, and no release waits
    /// longer than one hog slice plus a job.
    #[test]
    fn cooperative_hogs_leave_the_deadline_class_on_time() {
        let mut set = set("latency-under-load");
        set.background = 2;
        let r = round(
            kairos::Policy::Classes,
            &set,
            1,
            Duration::from_millis(200),
            1,
        )
        .unwrap();
        let tick = &r.tasks[0];
        assert_eq!(tick.missed, 0);
        assert_eq!(tick.completed, 200);
        assert!(
            tick.start_latency.max() <= 20_000 + 15_000,
            "{}",
            tick.start_latency.max()
        );
    }
}
