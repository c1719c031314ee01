//! Workload files on the async backends: kairos (one row per built policy) and tokio.
//!
//! One async task per task instance, spawned on a runtime with `--workers` workers; each runs
//! its phases as jobs ([`jobs`]) with the kernel backend's metric definitions
//! ([`crate::kernel::metrics`]), so the rows go into one table with the kernel rows
//! ([`crate::file_compare`]). Background hogs (`workload.hogs`) are CPU-bound tasks on the same
//! runtime that spin in [`jobs::SLICE`] slices of hog work units and yield between slices (a
//! [`HogKind::NonYielding`] hog: in slices of its poll length, 20 ms for the built-in
//! `non-yielding-hogs`, with no yield or cooperative check inside).
//!
//! The run: choose the start `T0` = now + 10 ms (as the kernel backend does) and the end
//! `T0 + duration`, spawn every task and hog from the `block_on` thread (they go through the
//! runtime's injection queue), wait for the tasks, then stop the hogs. Clocks: every instant is
//! `CLOCK_MONOTONIC` ns, read with the same function as the kernel backend; waits go through the
//! runtime's own timer ([`AsyncTimer`]), converted from the monotonic instant.
//!
//! CPU time: each task's future is wrapped in [`Metered`], which adds the polling thread's CPU
//! clock delta of every poll, so a task row's CPU ms is what the tasks themselves used, on
//! whichever worker. The whole process's CPU time over the run (`getrusage`) is reported beside
//! it: the difference is the runtime (timers, idle spinning, parking) and the driver.
//!
//! Scheduling fields: on kairos each task instance is spawned with the task's `priority` (read
//! by `Priority`) and `nice` (read by `Fair`) through [`Exec::spawn_with`], and sets its own
//! absolute deadline (release + job deadline, read by `Edf`) before it waits for each release,
//! so the timer wakes it with that deadline ([`AsyncTimer::set_deadline_mono`]). Hogs get
//! none (priority 0, nice 0, no deadline). Task instances are named `tasks` and hogs `hogs` in
//! kairos' per-name metrics, which splits the cooperative preemptions between the two rows.
//! Not applied: `class`, `reservation`, `slice`, `cpus` (kairos), every field (tokio, which has
//! no per-task parameters); `compare` prints a note naming them ([`ignored_fields`]).

pub mod cond;
pub mod jobs;

use crate::error::BenchError;
use crate::exec::{Counters, Exec, Kairos, SpawnParams, Tokio};
use crate::kernel::metrics::{hog_unit, JobStats};
use crate::spin::{mono_ns, nanos, thread_cpu_ns};
use crate::watchdog::Watchdog;
use crate::workload_file::model::{HogKind, Workload};
use jobs::{TaskPlan, SLICE};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

/// Time between choosing the start and the first release: enough to spawn every task, so the
/// first releases are not late because of the start-up itself (the kernel backend's margin).
const START_MARGIN: Duration = Duration::from_millis(10);

/// An [`Exec`] whose tasks can wait for an absolute `CLOCK_MONOTONIC` instant on the runtime's
/// own timer.
pub trait AsyncTimer: Exec {
    /// Waits until `CLOCK_MONOTONIC` reaches `at_ns` (or later: the runtime's timer
    /// granularity decides how much later).
    fn sleep_until_mono(at_ns: u64) -> impl Future<Output = ()> + Send;

    /// Sets the running task's absolute deadline to `CLOCK_MONOTONIC` instant `at_ns`, where
    /// the runtime orders tasks by deadline (kairos; a no-op on tokio and outside a task).
    fn set_deadline_mono(at_ns: u64) {
        let _ = at_ns;
    }

    /// The runtime's async mutex, for a workload's `lock` / `unlock` events.
    type Mutex: Send + Sync + 'static;

    /// Proof of holding [`AsyncTimer::Mutex`], kept from `lock` to `unlock` (dropping it
    /// unlocks).
    type Guard: Send + 'static;

    /// A new unlocked mutex.
    fn new_mutex() -> Self::Mutex;

    /// Locks `m`, waiting while another task holds it.
    fn lock(m: Arc<Self::Mutex>) -> impl Future<Output = Self::Guard> + Send;

    /// The runtime's async barrier, for a workload's `barrier` events.
    type Barrier: Send + Sync + 'static;

    /// A new barrier released when `users` tasks have arrived.
    fn new_barrier(users: usize) -> Self::Barrier;

    /// Arrives at `b` and waits for the generation's last user.
    fn barrier_wait(b: &Self::Barrier) -> impl Future<Output = ()> + Send + '_;

    /// The runtime's `Notify`, for a workload's `suspend` / `resume` events.
    type Notify: Send + Sync + 'static;

    /// A new `Notify`.
    fn new_notify() -> Self::Notify;

    /// Waits for the next [`AsyncTimer::notify_waiters`] of `n` (the future is registered when
    /// it is created, as `Notify::notified` does on both runtimes).
    fn notified(n: &Self::Notify) -> impl Future<Output = ()> + Send + '_;

    /// Wakes every task waiting on `n` now; stores no permit.
    fn notify_waiters(n: &Self::Notify);

    /// Hands one notification to the first task waiting on `n`, or stores the permit if none
    /// waits (`Notify::notify_one` on both runtimes; [`cond::Cond`] calls it only for a
    /// waiter it counted).
    fn notify_one(n: &Self::Notify);
}

/// The mutexes, barriers, suspensions and conditions of one run on an async runtime, by name,
/// shared by every task instance.
pub struct Resources<E: AsyncTimer> {
    /// One per name the workload's `lock` events use.
    mutexes: std::collections::HashMap<String, Arc<E::Mutex>>,
    /// One per name the workload's `barrier` events use.
    barriers: std::collections::HashMap<String, E::Barrier>,
    /// One per task that suspends itself.
    suspensions: std::collections::HashMap<String, E::Notify>,
    /// One per name the workload's condition events (`wait`, `signal`, `broad`, `sync`) use.
    conds: std::collections::HashMap<String, cond::Cond<E>>,
}

impl<E: AsyncTimer> Resources<E> {
    /// The resources `workload`'s events name.
    pub fn new(workload: &Workload) -> Resources<E> {
        Resources {
            mutexes: workload
                .mutexes()
                .into_iter()
                .map(|n| (n, Arc::new(E::new_mutex())))
                .collect(),
            barriers: workload
                .barriers()
                .into_iter()
                .map(|(n, users)| (n, E::new_barrier(users.max(1))))
                .collect(),
            suspensions: workload
                .suspending()
                .into_iter()
                .map(|t| (t, E::new_notify()))
                .collect(),
            conds: workload
                .conds()
                .into_iter()
                .map(|c| (c, cond::Cond::new()))
                .collect(),
        }
    }

    /// The condition named `name`, if the workload uses it.
    pub fn cond(&self, name: &str) -> Option<&cond::Cond<E>> {
        self.conds.get(name)
    }

    /// The `Notify` of task `task`'s suspensions, if it suspends itself.
    pub fn suspension(&self, task: &str) -> Option<&E::Notify> {
        self.suspensions.get(task)
    }

    /// The mutex named `name`, if the workload uses it.
    pub fn mutex(&self, name: &str) -> Option<Arc<E::Mutex>> {
        self.mutexes.get(name).cloned()
    }

    /// The barrier named `name`, if the workload uses it.
    pub fn barrier(&self, name: &str) -> Option<&E::Barrier> {
        self.barriers.get(name)
    }
}

/// Name of the task instances in kairos' per-name metrics.
pub const TASKS_NAME: &str = "tasks";

/// Name of the hogs in kairos' per-name metrics.
pub const HOGS_NAME: &str = "hogs";

/// The runtime's clock instant `at_ns` corresponds to, as "now on that clock + the time left".
/// The monotonic clock is read first, so a skew between the two reads can only move the wait
/// later, never earlier.
fn time_left(at_ns: u64) -> Duration {
    Duration::from_nanos(at_ns.saturating_sub(mono_ns()))
}

/// The synchronisation items of [`AsyncTimer`] for a runtime whose `sync` module has tokio's
/// shape (`Mutex` with `lock_owned`, `Barrier`, `Notify`): kairos and tokio.
macro_rules! sync_items {
    ($rt:ident) => {
        type Mutex = $rt::sync::Mutex<()>;
        type Guard = $rt::sync::OwnedMutexGuard<()>;

        fn new_mutex() -> Self::Mutex {
            $rt::sync::Mutex::new(())
        }

        fn lock(m: Arc<Self::Mutex>) -> impl Future<Output = Self::Guard> + Send {
            m.lock_owned()
        }

        type Barrier = $rt::sync::Barrier;

        fn new_barrier(users: usize) -> Self::Barrier {
            $rt::sync::Barrier::new(users)
        }

        async fn barrier_wait(b: &Self::Barrier) {
            b.wait().await;
        }

        type Notify = $rt::sync::Notify;

        fn new_notify() -> Self::Notify {
            $rt::sync::Notify::new()
        }

        fn notified(n: &Self::Notify) -> impl Future<Output = ()> + Send + '_ {
            n.notified()
        }

        fn notify_waiters(n: &Self::Notify) {
            n.notify_waiters();
        }

        fn notify_one(n: &Self::Notify) {
            n.notify_one();
        }
    };
}

impl AsyncTimer for Kairos {
    fn sleep_until_mono(at_ns: u64) -> impl Future<Output = ()> + Send {
        let left = time_left(at_ns);
        kairos::time::sleep_until(kairos::time::Instant::now() + left)
    }

    fn set_deadline_mono(at_ns: u64) {
        let (now, mono) = (kairos::time::Instant::now(), mono_ns());
        let at = if at_ns >= mono {
            now.checked_add(Duration::from_nanos(at_ns - mono))
        } else {
            now.checked_sub(Duration::from_nanos(mono - at_ns))
        };
        if let Some(at) = at {
            // Outside a task there is nothing to set; the job loop always runs inside one.
            let _ = kairos::task::set_deadline(at);
        }
    }

    // kairos' mutex with inheritance on (`kairos::sync::Mutex::new`): a holder runs with the
    // most urgent waiter's deadline and priority, as a `PTHREAD_PRIO_INHERIT` mutex.
    sync_items!(kairos);
}

impl AsyncTimer for Tokio {
    fn sleep_until_mono(at_ns: u64) -> impl Future<Output = ()> + Send {
        let left = time_left(at_ns);
        tokio::time::sleep_until(tokio::time::Instant::now() + left)
    }

    // tokio's mutex: FIFO waiters, no inheritance (tokio has no task priorities).
    sync_items!(tokio);
}

/// A future plus the CPU time of the threads that polled it, summed over its polls.
struct Metered<F> {
    /// Boxed so `Metered` is `Unpin` without unsafe pin projection; one allocation per task.
    inner: Pin<Box<F>>,
    /// CPU ns used inside `inner.poll` so far.
    cpu_ns: u64,
}

impl<F: Future> Metered<F> {
    fn new(inner: F) -> Metered<F> {
        Metered {
            inner: Box::pin(inner),
            cpu_ns: 0,
        }
    }
}

impl<F: Future> Future for Metered<F> {
    type Output = (F::Output, u64);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let c0 = thread_cpu_ns();
        let poll = self.inner.as_mut().poll(cx);
        self.cpu_ns += thread_cpu_ns().saturating_sub(c0);
        let cpu = self.cpu_ns;
        poll.map(|out| (out, cpu))
    }
}

/// What the background hogs of one run did.
#[derive(Debug, Default)]
pub struct AsyncHogs {
    /// Hog tasks.
    pub tasks: usize,
    /// Work units done by all hogs ([`hog_unit`]).
    pub units: u64,
    /// Slices run by all hogs (a yield after each one but the last).
    pub slices: u64,
    /// CPU time of all hog tasks, ns.
    pub cpu_ns: u64,
    /// Longest wall time a hog ran, ns.
    pub wall_ns: u64,
}

impl AsyncHogs {
    /// Work units per second of wall time (all hogs together), as the kernel backend's.
    pub fn units_per_s(&self) -> f64 {
        self.units as f64 / (self.wall_ns.max(1) as f64 / 1e9)
    }
}

/// One hog's report.
#[derive(Debug, Default)]
struct HogOut {
    units: u64,
    slices: u64,
    wall_ns: u64,
}

/// A finished run of a workload file on one async runtime.
#[derive(Debug)]
pub struct AsyncRun {
    /// Backend label (`kairos-fifo`, `tokio`).
    pub backend: String,
    /// Task instances (async tasks) that ran jobs.
    pub tasks: u32,
    /// Their merged job metrics; `cpu_ns` is the tasks' CPU time, the context switch counts
    /// stay 0 (not measured per task: see the module docs); `jobs` stays empty (see
    /// `jobs` below).
    pub stats: JobStats,
    /// Per workload task, per instance: the instance's job records (`--cyclic`,
    /// `--rtapp-log`).
    pub jobs: crate::rt_compare::logs::FileJobs,
    /// The hogs, if the workload has any.
    pub hogs: Option<AsyncHogs>,
    /// Wall time from the start instant until every task had stopped.
    pub elapsed: Duration,
    /// CPU time of the whole process over the run (`getrusage(RUSAGE_SELF)`), ns.
    pub process_cpu_ns: u64,
    /// kairos' scheduler counters over the run (tokio: `None`).
    pub counters: Option<Counters>,
    /// Cooperative preemptions of the task instances over the run (kairos; tokio: `None`).
    pub task_preemptions: Option<u64>,
    /// Cooperative preemptions of the hogs over the run (kairos; tokio: `None`).
    pub hog_preemptions: Option<u64>,
}

/// User + system CPU time of the whole process (`getrusage(RUSAGE_SELF)`), ns.
pub(crate) fn process_cpu_ns() -> u64 {
    // SAFETY: `rusage` is plain old data; all zeroes is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable rusage; RUSAGE_SELF always exists.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    if rc != 0 {
        return 0;
    }
    let tv = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1_000;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// The task plans of `workload`: one per task, with its instance count.
fn plans(workload: &Workload, keep_jobs: bool) -> Vec<(Arc<TaskPlan>, u32)> {
    workload
        .tasks
        .iter()
        .map(|t| {
            let plan = TaskPlan {
                delay: t.delay,
                repeat: t.repeat,
                phases: t.phases.clone(),
                deadline: crate::kernel::job_deadline(t),
                spawn: SpawnParams {
                    priority: t
                        .sched
                        .priority
                        .map_or(0, |p| u8::try_from(p).unwrap_or(u8::MAX)),
                    nice: t.sched.nice.clamp(-20, 19) as i8,
                    name: Some(TASKS_NAME),
                },
                sink: crate::kernel::metrics::task_sink(),
                keep_jobs,
            };
            (Arc::new(plan), t.instances)
        })
        .collect()
}

/// The scheduling fields of `workload` an async backend ignores, as `task (fields)` items
/// (empty when no task sets any): on kairos (`kairos == true`) those other than priority and
/// nice, on tokio all of them. (Job deadlines are not a scheduling field here: kairos applies
/// them, tokio cannot.)
pub fn ignored_fields(workload: &Workload, kairos: bool) -> Vec<String> {
    workload
        .tasks
        .iter()
        .filter_map(|t| {
            let s = &t.sched;
            let mut f = Vec::new();
            if let Some(c) = s.class {
                f.push(format!("class {c}"));
            }
            if !kairos {
                if let Some(p) = s.priority {
                    f.push(format!("priority {p}"));
                }
                if s.nice != 0 {
                    f.push(format!("nice {}", s.nice));
                }
            }
            if s.reservation.is_some() {
                f.push("reservation".to_owned());
            }
            if s.slice.is_some() {
                f.push("slice".to_owned());
            }
            if t.cpus.is_some() {
                f.push("cpus".to_owned());
            }
            (!f.is_empty()).then(|| format!("{} ({})", t.name, f.join(", ")))
        })
        .collect()
}

/// A background hog: from `t0` until `end` or `stop`, hog work units in slices of wall time
/// ([`SLICE`], or a [`HogKind::NonYielding`] hog's poll) with no yield or cooperative check
/// inside a slice, and a yield between slices.
async fn hog<E: AsyncTimer>(t0: u64, end: u64, stop: Arc<AtomicBool>, kind: HogKind) -> HogOut {
    if mono_ns() < t0 {
        E::sleep_until_mono(t0).await;
    }
    let mut out = HogOut::default();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let slice = nanos(match kind {
        HogKind::Yielding => SLICE,
        HogKind::NonYielding(poll) => poll,
    });
    let mut now = mono_ns();
    loop {
        let slice_end = now.saturating_add(slice);
        while now < slice_end && now < end {
            hog_unit(&mut state);
            out.units += 1;
            now = mono_ns();
        }
        out.slices += 1;
        if now >= end || stop.load(Ordering::Relaxed) {
            break;
        }
        E::note_preemption_check();
        E::yield_now().await;
        now = mono_ns();
    }
    out.wall_ns = now.saturating_sub(t0);
    out
}

/// Runs `workload` once on `exec` (which must have been built with timers) and returns the
/// merged metrics; with `keep_jobs`, every job's record too (`--cyclic`, `--rtapp-log`).
///
/// # Errors
/// [`BenchError::Task`] if a task or hog panicked.
pub fn run<E: AsyncTimer>(
    exec: &E,
    workload: &Workload,
    keep_jobs: bool,
) -> Result<AsyncRun, BenchError> {
    let backend = exec.label();
    let plans = plans(workload, keep_jobs);
    let sinks: Vec<_> = plans.iter().map(|(p, _)| p.sink.clone()).collect();
    let _watchdog = Watchdog::arm(
        format!("workload {} on {backend}", workload.name),
        crate::workload_file::budget::watchdog_limit(workload) + START_MARGIN,
    );
    let (hogs, hog_kind) = (workload.hogs, workload.hog_kind);
    let counters0 = exec.counters();
    let preempted0 = (
        exec.preemptions_of(TASKS_NAME),
        exec.preemptions_of(HOGS_NAME),
    );
    let cpu0 = process_cpu_ns();
    let t0 = mono_ns() + nanos(START_MARGIN);
    let end = workload
        .duration
        .map_or(u64::MAX, |d| t0.saturating_add(nanos(d)));
    let resources = Arc::new(Resources::<E>::new(workload));
    let (tasks, hog_outs) = exec.block_on(async move {
        let stop = Arc::new(AtomicBool::new(false));
        let mut joins = Vec::new();
        for (plan, instances) in &plans {
            for _ in 0..*instances {
                let plan = Arc::clone(plan);
                let resources = Arc::clone(&resources);
                joins.push(E::spawn_with(
                    plan.spawn,
                    Metered::new(async move {
                        let first = t0.saturating_add(nanos(plan.delay));
                        jobs::run::<E>(&plan, &resources, end, first).await
                    }),
                ));
            }
        }
        let hog_joins: Vec<_> = (0..hogs)
            .map(|_| {
                let hog_params = SpawnParams {
                    name: Some(HOGS_NAME),
                    ..SpawnParams::default()
                };
                E::spawn_with(
                    hog_params,
                    Metered::new(hog::<E>(t0, end, Arc::clone(&stop), hog_kind)),
                )
            })
            .collect();
        let mut tasks = Vec::with_capacity(joins.len());
        for j in joins {
            tasks.push(j.await);
        }
        stop.store(true, Ordering::Relaxed);
        let mut hog_outs = Vec::with_capacity(hog_joins.len());
        for j in hog_joins {
            hog_outs.push(j.await);
        }
        (tasks, hog_outs)
    });
    let elapsed = Duration::from_nanos(mono_ns().saturating_sub(t0));
    let process_cpu = process_cpu_ns().saturating_sub(cpu0);
    let counters = match (counters0, exec.counters()) {
        (Some(a), Some(b)) => Some(b.since(a)),
        _ => None,
    };
    let delta = |before: Option<u64>, after: Option<u64>| Some(after?.saturating_sub(before?));
    let task_preemptions = delta(preempted0.0, exec.preemptions_of(TASKS_NAME));
    let hog_preemptions = delta(preempted0.1, exec.preemptions_of(HOGS_NAME));
    let failed = |e: crate::error::TaskFailed| BenchError::Task {
        backend: backend.clone(),
        message: e.0,
    };
    let mut stats = JobStats::new();
    let mut n = 0u32;
    let mut jobs: crate::rt_compare::logs::FileJobs =
        workload.tasks.iter().map(|_| Vec::new()).collect();
    // Spawned in the plans' order, instance after instance.
    let task_of = workload
        .tasks
        .iter()
        .enumerate()
        .flat_map(|(i, t)| std::iter::repeat_n(i, t.instances as usize));
    for (t, i) in tasks.into_iter().zip(task_of) {
        let (mut s, cpu) = t.map_err(failed)?;
        jobs[i].push(std::mem::take(&mut s.jobs));
        stats.add(&s);
        stats.cpu_ns += cpu;
        n += 1;
    }
    for sink in &sinks {
        stats.add(&crate::kernel::metrics::sink_stats(sink));
    }
    let hogs = if hogs > 0 {
        let mut row = AsyncHogs {
            tasks: hogs,
            ..AsyncHogs::default()
        };
        for h in hog_outs {
            let (h, cpu) = h.map_err(failed)?;
            row.units += h.units;
            row.slices += h.slices;
            row.cpu_ns += cpu;
            row.wall_ns = row.wall_ns.max(h.wall_ns);
        }
        Some(row)
    } else {
        None
    };
    Ok(AsyncRun {
        backend,
        tasks: n,
        stats,
        jobs,
        hogs,
        elapsed,
        process_cpu_ns: process_cpu,
        counters,
        task_preemptions,
        hog_preemptions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload_file::model::HogKind;

    /// A workload of one hog of `kind` beside a light periodic task (which keeps the run going
    /// until its end: the hogs stop when the tasks have), `duration` long.
    fn one_hog(kind: HogKind, duration: Duration) -> Workload {
        use crate::workload_file::model::{Periodic, Repeat, Sched, TaskSpec};
        Workload {
            name: "one-hog".to_owned(),
            duration: Some(duration),
            seed: 0,
            hogs: 1,
            hog_kind: kind,
            tasks: vec![TaskSpec {
                name: "t".to_owned(),
                instances: 1,
                sched: Sched::default(),
                deadline: None,
                cpus: None,
                delay: Duration::ZERO,
                repeat: Repeat::Forever,
                phases: TaskSpec::periodic_phases(Periodic {
                    period: Duration::from_millis(5),
                    work: Duration::from_micros(10),
                }),
            }],
        }
    }

    /// A non-yielding hog yields only between whole polls: over a 40 ms run with 10 ms polls it
    /// runs at most five slices (four whole polls and the one cut by the end), where a yielding
    /// hog runs hundreds of 20 µs slices.
    #[test]
    fn non_yielding_hogs_yield_only_between_polls() {
        let exec = Tokio::with_timers(1).unwrap();
        let run = |kind| {
            let r = super::run(&exec, &one_hog(kind, Duration::from_millis(40)), false).unwrap();
            r.hogs.unwrap().slices
        };
        let long = run(HogKind::NonYielding(Duration::from_millis(10)));
        assert!((1..=5).contains(&long), "{long} slices");
        let short = run(HogKind::Yielding);
        assert!(short > 5, "{short} yielding slices");
        exec.shutdown().unwrap();
    }
}
