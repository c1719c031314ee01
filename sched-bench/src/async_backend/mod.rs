//! Workload files on the async backends: kairos (one row per built policy) and tokio.
//!
//! One async task per task instance, spawned on a runtime with `--workers` workers; each runs
//! its phases as jobs ([`jobs`]) with the kernel backend's metric definitions
//! ([`crate::kernel::metrics`]), so the rows go into one table with the kernel rows
//! ([`crate::file_compare`]). Background hogs (`workload.hogs`) are CPU-bound tasks on the same
//! runtime that spin in [`jobs::SLICE`] slices of hog work units and yield between slices (a
//! [`HogKind::YieldingCpu`] hog, the periodic built-ins': a spin of 20 µs of thread CPU time
//! per slice;
//! a [`HogKind::NonYielding`] hog: in slices of its poll length, 20 ms for the built-in
//! `non-yielding-hogs`, with no yield or cooperative check inside).
//!
//! The run: choose the start `T0` = now + 10 ms (as the kernel backend does) and the end
//! `T0 + duration`, spawn every task and hog from the `block_on` thread (they go through the
//! runtime's injection queue), stop the kairos periodic tasks at the end (if any: the driving
//! thread sleeps until then), wait for the tasks, then stop the hogs. Clocks: every instant is
//! `CLOCK_MONOTONIC` ns, read with the same function as the kernel backend; waits go through the
//! runtime's own timer ([`AsyncTimer`]), converted from the monotonic instant.
//!
//! Plain periodic tasks on kairos: a task whose phases are a TOML task's (`run C`, then an
//! absolute `timer` of period `T`), repeated until the end of a workload with a duration
//! ([`jobs::TaskPlan::periodic`]), runs on kairos as kairos' own periodic task,
//! `Runtime::spawn_periodic` with job body `kairos::work(C)` ([`periodic`]; the driving thread
//! stops it at the end, and its job in progress completes), so kairos rows measure kairos'
//! periodic tasks: the periodic built-ins of `compare` run through here
//! ([`crate::rt_compare::async_rows`]), and so do workload files whose tasks are plain periodic
//! ones. Every other task, every task on tokio, and every task on a kairos runtime built with
//! [`Kairos::task_loops`] (`--kairos-periodic task-loop`) runs the generic loop of [`jobs`].
//!
//! CPU time: each task's future is wrapped in [`Metered`], which adds the polling thread's CPU
//! clock delta of every poll, so a task row's CPU ms is what the tasks themselves used, on
//! whichever worker. The whole process's CPU time over the run (`getrusage`) is reported beside
//! it: the difference is the runtime (timers, idle spinning, parking) and the driver.
//!
//! Scheduling fields: on kairos each task instance is spawned with the task's `priority` (read
//! by `Priority`) and `nice` (read by `Fair`) through [`Exec::spawn_with`], and sets its own
//! absolute deadline (release + job deadline, read by `Edf`) before it waits for each release,
//! so the timer wakes it with that deadline ([`AsyncTimer::set_deadline_mono`]); a plain
//! periodic task gets the same priority, nice value and job deadline as `spawn_periodic`
//! parameters. A task's kairos priority is its `Sched::kairos_priority` when set (the periodic
//! built-ins' 0 ..= 255), else its file `priority`. Hogs get none (priority 0, nice 0, no
//! deadline). In kairos' per-name metrics each task instance is named after its task
//! ([`static_name`]) and the hogs `hogs` ([`hog_name`]): the file rows sum the tasks' counts,
//! the built-in rows report each task's own, and a `--trace` names every task.
//! Not applied: `class`, `reservation`, `slice`, `cpus` (kairos), every field (tokio, which has
//! no per-task parameters); `compare` prints a note naming them ([`ignored_fields`]).

pub mod cond;
pub mod jobs;
pub mod periodic;

use crate::error::{BenchError, TaskFailed};
use crate::exec::{Counters, Exec, Kairos, SpawnParams, Tokio};
use crate::kernel::metrics::{hog_unit, JobStats};
use crate::spin::{mono_ns, nanos, thread_cpu_ns};
use crate::watchdog::Watchdog;
use crate::workload_file::model::{HogKind, Repeat, Workload};
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

    /// Starts task instance `plan` (first release at `CLOCK_MONOTONIC` instant `first`) as the
    /// runtime's own periodic task, if the runtime has them and runs the plan that way (kairos:
    /// a plan with [`TaskPlan::periodic`] set, unless built with [`Kairos::task_loops`]; see
    /// [`periodic`]). `None`: the caller runs the plan's generic job loop ([`jobs::run`]).
    fn spawn_periodic(
        &self,
        plan: &Arc<TaskPlan>,
        first: u64,
    ) -> Option<Result<NativePeriodic, BenchError>> {
        let _ = (plan, first);
        None
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

/// Name of the hogs in kairos' per-name metrics (unless a task has that name: [`hog_name`]).
pub const HOGS_NAME: &str = "hogs";

/// `name` as a `&'static str` (kairos' per-name metrics and periodic tasks take one): each
/// distinct name is leaked once per process, so repeated runs of a workload add nothing.
pub fn static_name(name: &str) -> &'static str {
    static NAMES: std::sync::Mutex<std::collections::BTreeSet<&'static str>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let mut names = NAMES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(n) = names.get(name) {
        return n;
    }
    let n: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(n);
    n
}

/// The hogs' name in kairos' per-name metrics: [`HOGS_NAME`], with `'` appended until no task
/// of `workload` has it (task instances are named after their task).
fn hog_name(workload: &Workload) -> &'static str {
    let mut name = HOGS_NAME.to_owned();
    while workload.tasks.iter().any(|t| t.name == name) {
        name.push('\'');
    }
    static_name(&name)
}

/// A task instance run as the runtime's own periodic task ([`AsyncTimer::spawn_periodic`]).
pub struct NativePeriodic {
    /// Stops the task: no release after the job in progress, which completes. The runner
    /// calls it from the driving thread at the end of the run.
    pub stop: Box<dyn FnOnce() + Send>,
    /// Waits (inside the runtime's `block_on`) for the task to end after `stop` and gives what
    /// a generic instance's join gives: its job statistics and its CPU time, ns.
    pub join: TaskJoin,
}

/// A task instance's join, whichever way it runs: its job statistics and CPU time, ns.
pub type TaskJoin = Pin<Box<dyn Future<Output = Result<(JobStats, u64), TaskFailed>> + Send>>;

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

    fn spawn_periodic(
        &self,
        plan: &Arc<TaskPlan>,
        first: u64,
    ) -> Option<Result<NativePeriodic, BenchError>> {
        periodic::spawn(self, plan, first)
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
    /// Of those, the slices that ran their whole length within the run (the last slice of
    /// each hog, cut off by the end of the run, does not): the periodic built-ins' background
    /// throughput.
    pub full_slices: u64,
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
    full_slices: u64,
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
    /// Per workload task (its instances merged), in file order: as `stats`.
    pub per_task: Vec<AsyncTask>,
    /// Task instances that ran as the runtime's own periodic tasks (kairos `spawn_periodic`);
    /// the others ran the generic job loop.
    pub native_periodic: u32,
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

/// One workload task's instances in an [`AsyncRun`].
#[derive(Debug)]
pub struct AsyncTask {
    /// Their merged job metrics (`jobs` empty: see [`AsyncRun::jobs`]), CPU time included.
    pub stats: JobStats,
    /// Their cooperative preemptions over the run (kairos; tokio: `None`).
    pub preemptions: Option<u64>,
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
                periodic: t
                    .as_periodic()
                    .filter(|_| t.repeat == Repeat::Forever && workload.duration.is_some()),
                spawn: SpawnParams {
                    priority: t.sched.kairos_priority.unwrap_or_else(|| {
                        t.sched
                            .priority
                            .map_or(0, |p| u8::try_from(p).unwrap_or(u8::MAX))
                    }),
                    nice: t.sched.nice.clamp(-20, 19) as i8,
                    name: Some(static_name(&t.name)),
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

/// A background hog: from `t0` until `end` or `stop`, slices of hog work units ([`SLICE`] of
/// wall time, or a [`HogKind::NonYielding`] hog's poll of wall time) or of a spin on the
/// thread's CPU clock ([`SLICE`] of CPU time, [`HogKind::YieldingCpu`]), with no yield or
/// cooperative check inside a slice, and a yield between slices.
async fn hog<E: AsyncTimer>(t0: u64, end: u64, stop: Arc<AtomicBool>, kind: HogKind) -> HogOut {
    if mono_ns() < t0 {
        E::sleep_until_mono(t0).await;
    }
    let mut out = HogOut::default();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let slice = nanos(match kind {
        HogKind::Yielding | HogKind::YieldingCpu => SLICE,
        HogKind::NonYielding(poll) => poll,
    });
    let mut now = mono_ns();
    loop {
        let full = if kind == HogKind::YieldingCpu {
            // The thread CPU clock spun as the `run` events' slices are (no work units: the
            // periodic built-ins report slices, not units).
            let full = crate::spin::cpu_slice(slice, end).is_ok();
            now = mono_ns();
            full && now < end
        } else {
            let slice_end = now.saturating_add(slice);
            while now < slice_end && now < end {
                hog_unit(&mut state);
                out.units += 1;
                now = mono_ns();
            }
            now >= slice_end && now < end
        };
        out.slices += 1;
        out.full_slices += u64::from(full);
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
/// [`BenchError::Task`] if a task or hog panicked or a periodic task was refused.
pub fn run<E: AsyncTimer>(
    exec: &E,
    workload: &Workload,
    keep_jobs: bool,
) -> Result<AsyncRun, BenchError> {
    // The start first: on tokio the release grid's phase against the timer wheel's 1 ms ticks
    // (which start when the runtime is built) decides how long each release waits, so the
    // time from the build to here is kept short and fixed (the periodic built-ins' rows have
    // always measured with the grid a few µs after a tick).
    let t0 = mono_ns() + nanos(START_MARGIN);
    let backend = exec.label();
    let plans = plans(workload, keep_jobs);
    let sinks: Vec<_> = plans.iter().map(|(p, _)| p.sink.clone()).collect();
    let _watchdog = Watchdog::arm(
        format!("workload {} on {backend}", workload.name),
        crate::workload_file::budget::watchdog_limit(workload) + START_MARGIN,
    );
    let (hogs, hog_kind, hog_name) = (workload.hogs, workload.hog_kind, hog_name(workload));
    let task_names: Vec<&'static str> = plans.iter().filter_map(|(p, _)| p.spawn.name).collect();
    let preempted = || {
        (
            task_names
                .iter()
                .map(|n| exec.preemptions_of(n))
                .collect::<Vec<_>>(),
            exec.preemptions_of(hog_name),
        )
    };
    let counters0 = exec.counters();
    let preempted0 = preempted();
    let cpu0 = process_cpu_ns();
    let end = workload
        .duration
        .map_or(u64::MAX, |d| t0.saturating_add(nanos(d)));
    let resources = Arc::new(Resources::<E>::new(workload));
    let stop = Arc::new(AtomicBool::new(false));
    // Spawn everything (from the `block_on` thread: kairos' and tokio's spawns need the
    // runtime's context); the tasks run on the workers from here on.
    let spawned = exec.block_on(async {
        let mut joins: Vec<TaskJoin> = Vec::new();
        let mut stops = Vec::new();
        for (plan, instances) in &plans {
            let first = t0.saturating_add(nanos(plan.delay));
            for _ in 0..*instances {
                if let Some(native) = exec.spawn_periodic(plan, first) {
                    let native = native?;
                    stops.push(native.stop);
                    joins.push(native.join);
                    continue;
                }
                let plan = Arc::clone(plan);
                let resources = Arc::clone(&resources);
                joins.push(Box::pin(E::spawn_with(
                    plan.spawn,
                    Metered::new(
                        async move { jobs::run::<E>(&plan, &resources, end, first).await },
                    ),
                )));
            }
        }
        let hog_joins: Vec<_> = (0..hogs)
            .map(|_| {
                let hog_params = SpawnParams {
                    name: Some(hog_name),
                    ..SpawnParams::default()
                };
                E::spawn_with(
                    hog_params,
                    Metered::new(hog::<E>(t0, end, Arc::clone(&stop), hog_kind)),
                )
            })
            .collect();
        Ok::<_, BenchError>((joins, stops, hog_joins))
    });
    let (joins, stops, hog_joins) = match spawned {
        Ok(s) => s,
        Err(e) => {
            // A refused periodic task: end what already runs before reporting.
            stop.store(true, Ordering::Relaxed);
            return Err(e);
        }
    };
    let native_periodic = u32::try_from(stops.len()).unwrap_or(u32::MAX);
    if !stops.is_empty() {
        // The runtime's periodic tasks release until stopped: the driving thread stops them at
        // the end (their plans are plain periodic tasks of a workload with a duration, so
        // `end` is finite), from outside the runtime, so no runtime delay moves the stop.
        crate::kernel::thread_job::sleep_until(end);
        for stop in stops {
            stop();
        }
    }
    let (tasks, hog_outs) = exec.block_on(async {
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
    let preempted1 = preempted();
    let task_preempted: Vec<Option<u64>> = preempted0
        .0
        .iter()
        .zip(&preempted1.0)
        .map(|(&a, &b)| delta(a, b))
        .collect();
    // `None` on a runtime without per-name counts (tokio), even without tasks.
    let task_preemptions = preempted1
        .1
        .and(task_preempted.iter().copied().sum::<Option<u64>>());
    let hog_preemptions = delta(preempted0.1, preempted1.1);
    let failed = |e: TaskFailed| BenchError::Task {
        backend: backend.clone(),
        message: e.0,
    };
    let mut per_task: Vec<AsyncTask> = task_preempted
        .into_iter()
        .map(|preemptions| AsyncTask {
            stats: JobStats::new(),
            preemptions,
        })
        .collect();
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
        per_task[i].stats.add(&s);
        per_task[i].stats.cpu_ns += cpu;
        n += 1;
    }
    let mut stats = JobStats::new();
    for (task, sink) in per_task.iter_mut().zip(&sinks) {
        task.stats.add(&crate::kernel::metrics::sink_stats(sink));
        stats.add(&task.stats);
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
            row.full_slices += h.full_slices;
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
        per_task,
        native_periodic,
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
        use crate::workload_file::model::{Periodic, TaskSpec};
        Workload {
            name: "one-hog".to_owned(),
            duration: Some(duration),
            seed: 0,
            hogs: 1,
            hog_kind: kind,
            tasks: vec![TaskSpec::plain_periodic(
                "t",
                Periodic {
                    period: Duration::from_millis(5),
                    work: Duration::from_micros(10),
                },
            )],
        }
    }

    /// On kairos a plain periodic task runs as kairos' own periodic task (unless the runtime
    /// runs task loops); its jobs follow kairos' release grid exactly `T` apart, each released
    /// job completes (a job running at the stop completes), and it shows under its own name in
    /// kairos' per-name metrics. tokio runs the generic loop.
    #[test]
    fn plain_periodic_tasks_run_as_kairos_periodic_tasks() {
        let w = one_hog(HogKind::Yielding, Duration::from_millis(60));
        let period = nanos(Duration::from_millis(5));
        let check = |r: &AsyncRun| {
            let t = &r.per_task[0].stats;
            assert!(t.released >= 1, "{t:?}");
            let jobs = &r.jobs[0][0];
            assert_eq!(jobs.len() as u64, t.released);
            for pair in jobs.windows(2) {
                assert_eq!(pair[1].release - pair[0].release, period, "{jobs:?}");
            }
            assert!(jobs.iter().all(|j| j.start >= j.release), "{jobs:?}");
            assert_eq!(r.stats.released, t.released);
        };
        let kairos =
            Kairos::backend(2, kairos::Policy::Edf, crate::exec::KairosMode::default()).unwrap();
        let r = super::run(&kairos, &w, true).unwrap();
        check(&r);
        assert_eq!(r.native_periodic, 1);
        let t = &r.per_task[0].stats;
        assert_eq!(
            t.completed, t.released,
            "a stopped periodic task completes its job"
        );
        assert!(r.per_task[0].preemptions.is_some());
        assert!(kairos.runtime().metrics().by_name.contains_key("t"));
        kairos.shutdown().unwrap();

        let loops = Kairos::backend(2, kairos::Policy::Edf, crate::exec::KairosMode::default())
            .unwrap()
            .task_loops();
        let r = super::run(&loops, &w, true).unwrap();
        check(&r);
        assert_eq!(r.native_periodic, 0);
        loops.shutdown().unwrap();

        let tokio = Tokio::with_timers(2).unwrap();
        let r = super::run(&tokio, &w, true).unwrap();
        check(&r);
        assert_eq!(r.native_periodic, 0);
        assert_eq!(r.per_task[0].preemptions, None);
        tokio.shutdown().unwrap();
    }

    /// A non-yielding hog yields only between whole polls, a yielding one after every short
    /// slice. The bounds hold however loaded the machine is: a non-yielding poll lasts at least
    /// 10 ms of wall time, so a 40 ms run holds at most five of them (four whole, one cut by the
    /// end); a yielding slice spins at most 20 µs of CPU time (`YieldingCpu`) or of wall time
    /// (`Yielding`, and CPU time never exceeds wall time), so its hog's CPU time stays below
    /// 1 ms per slice, where a 10 ms poll would not.
    #[test]
    fn non_yielding_hogs_yield_only_between_polls() {
        let exec = Tokio::with_timers(1).unwrap();
        let run = |kind| {
            let r = super::run(&exec, &one_hog(kind, Duration::from_millis(40)), false).unwrap();
            let h = r.hogs.unwrap();
            assert!(h.full_slices <= h.slices, "{h:?}");
            h
        };
        let long = run(HogKind::NonYielding(Duration::from_millis(10)));
        assert!(long.slices <= 5, "{long:?}");
        for kind in [HogKind::YieldingCpu, HogKind::Yielding] {
            let short = run(kind);
            assert!(
                short.cpu_ns <= short.slices * 1_000_000,
                "{kind:?}: {short:?}"
            );
        }
        exec.shutdown().unwrap();
    }
}
