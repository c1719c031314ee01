//! One task instance on one OS thread: set up its policy, then run its phases as jobs.
//!
//! Protocol with the coordinator ([`super::run`]), through [`Start`]:
//!
//! 1. The thread sets its timer slack to 1 ns, pins itself (if the task names CPUs and is not
//!    SCHED_DEADLINE), sets its policy, and reads the policy back with `sched_getscheduler(0)`.
//! 2. It waits at the start barrier with every other thread and the coordinator; the
//!    coordinator then stores the run's start and end instants and passes a second barrier.
//!    (Two barriers because the start is chosen only once everyone is ready.)
//! 3. A thread whose setup failed returns now; the others run until the end instant, the stop
//!    flag, or the end of their loops, reading context switches and CPU time before and after.
//!
//! Every barrier wait happens on every path, so one refused thread never blocks the rest.
//!
//! The event loop itself (phases, job boundaries, timers, bookkeeping) is the shared
//! [`JobLoop`](crate::job_loop); this thread performs its actions: `Run` spins until the thread
//! has used that much CPU time (`CLOCK_THREAD_CPUTIME_ID`, so preemption stretches the job
//! instead of shortening the work, and no calibration is needed; [`spin::cpu_until`]);
//! `Runtime` spins on wall time; `Yield` is `sched_yield`; a release sleeps with an absolute
//! `clock_nanosleep` (see [`metrics`](super::metrics) for the definitions).

use super::barrier::{Barriers, Suspensions};
use super::cond::Conds;
use super::metrics::{CtxSwitches, JobStats, TaskSink};
use super::pi_mutex::{Held, PiMutexes};
use super::sched_attr::{self, Policy, Refusal};
use crate::job_loop::{Action, JobLoop, Walk};
use crate::spin::{self, mono_ns, nanos, thread_cpu_ns};
use crate::workload_file::model::{Phase, Repeat};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Barrier;
use std::time::Duration;

/// Everything one thread needs to run one task instance.
#[derive(Clone, Debug)]
pub struct ThreadPlan {
    /// The policy the thread puts itself under.
    pub policy: Policy,
    /// CPUs to pin to; `None`: not pinned (always `None` for SCHED_DEADLINE).
    pub cpus: Option<std::sync::Arc<[usize]>>,
    /// Offset of the first release from the run's start.
    pub delay: Duration,
    /// Passes over `phases`.
    pub repeat: Repeat,
    /// The task's phases (shared by its instances).
    pub phases: std::sync::Arc<[Phase]>,
    /// Relative deadline of each job; `None`: jobs have no deadline.
    pub deadline: Option<Duration>,
    /// The task's histograms, shared by its instances.
    pub sink: TaskSink,
    /// Whether the thread keeps a record of every job (`--cyclic`, `--rtapp-log`).
    pub keep_jobs: bool,
    /// The run's mutexes (`lock` / `unlock` events), shared by every thread.
    pub mutexes: std::sync::Arc<PiMutexes>,
    /// The run's barriers (`barrier` events), shared by every thread.
    pub barriers: std::sync::Arc<Barriers>,
    /// The run's suspend/resume generations (`suspend` / `resume` events).
    pub suspensions: std::sync::Arc<Suspensions>,
    /// The run's condition variables (`wait` / `signal` / `broad` / `sync` events).
    pub conds: std::sync::Arc<Conds>,
}

/// Shared between the coordinator and every thread for one run.
#[derive(Debug)]
pub struct Start {
    /// Passed twice by every thread and the coordinator (see the module docs).
    pub barrier: Barrier,
    /// Start of the run, `CLOCK_MONOTONIC` ns; valid after the second barrier.
    pub t0: AtomicU64,
    /// End of the run, `CLOCK_MONOTONIC` ns (`u64::MAX`: no duration); valid likewise.
    pub end: AtomicU64,
    /// Set by the coordinator when the task threads are done (stops the hogs of a run without
    /// a duration).
    pub stop: AtomicBool,
}

/// What a task thread reports.
#[derive(Debug)]
pub struct ThreadResult {
    /// `Err` if the thread could not take its policy (it then ran nothing).
    pub setup: Result<(), Refusal>,
    /// Policy number read back inside the thread after setting it (`None`: read failed).
    pub policy_read_back: Option<libc::c_int>,
    /// Nice value read back (SCHED_OTHER threads).
    pub nice_read_back: i32,
    /// Whether `/proc/thread-self/status` gave context switch counters before and after.
    pub ctx_read: bool,
    /// Job counters, CPU time, context switches and (if kept) job records; the latency
    /// histograms are in the task's sink.
    pub stats: JobStats,
}

/// Sleeps until `CLOCK_MONOTONIC` reaches `at_ns` (absolute `clock_nanosleep`, restarted on
/// signals).
pub fn sleep_until(at_ns: u64) {
    let ts = libc::timespec {
        tv_sec: (at_ns / 1_000_000_000) as libc::time_t,
        tv_nsec: (at_ns % 1_000_000_000) as libc::c_long,
    };
    loop {
        // SAFETY: `ts` is a valid timespec; with TIMER_ABSTIME the remainder pointer is unused
        // and may be null.
        let rc = unsafe {
            libc::clock_nanosleep(
                libc::CLOCK_MONOTONIC,
                libc::TIMER_ABSTIME,
                &ts,
                std::ptr::null_mut(),
            )
        };
        if rc != libc::EINTR {
            return;
        }
    }
}

/// Pins the calling thread to `cpus`.
fn pin(cpus: &[usize]) -> Result<(), Refusal> {
    // SAFETY: cpu_set_t is a plain bit array; all zeroes is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &cpu in cpus {
        if cpu >= libc::CPU_SETSIZE as usize {
            return Err(Refusal::Other(format!("CPU {cpu} is beyond CPU_SETSIZE")));
        }
        // SAFETY: `cpu` < CPU_SETSIZE (checked above), so the bit is inside `set`.
        unsafe { libc::CPU_SET(cpu, &mut set) };
    }
    // SAFETY: `set` is a valid cpu_set_t of the size passed; pid 0 is the calling thread.
    let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    if rc != 0 {
        return Err(Refusal::Other(format!(
            "sched_setaffinity({cpus:?}) failed: {} (are these CPUs online?)",
            std::io::Error::last_os_error()
        )));
    }
    Ok(())
}

/// The body of a task thread.
pub fn task_thread(plan: &ThreadPlan, start: &Start) -> ThreadResult {
    // Timer slack 1 ns, as cyclictest does: SCHED_OTHER sleeps otherwise end up to 50 µs late
    // by design, which would measure the slack instead of the scheduler (real-time and deadline
    // threads get no slack anyway). Failure only leaves the default slack.
    // SAFETY: PR_SET_TIMERSLACK takes one unsigned long and affects only the calling thread.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong) };
    let setup = match &plan.cpus {
        Some(cpus) => pin(cpus),
        None => Ok(()),
    }
    .and_then(|()| sched_attr::apply(&plan.policy));
    let policy_read_back = sched_attr::read_back();
    let nice_read_back = sched_attr::read_nice();
    start.barrier.wait();
    start.barrier.wait();
    let mut result = ThreadResult {
        setup,
        policy_read_back,
        nice_read_back,
        ctx_read: false,
        stats: JobStats::new(),
    };
    if result.setup.is_err() {
        return result;
    }
    let t0 = start.t0.load(Ordering::Acquire);
    let end = start.end.load(Ordering::Acquire);
    let cs0 = CtxSwitches::read();
    let cpu0 = thread_cpu_ns();
    result.stats = run_jobs(plan, end, t0.saturating_add(nanos(plan.delay)));
    let cpu1 = thread_cpu_ns();
    let cs1 = CtxSwitches::read();
    result.stats.cpu_ns = cpu1.saturating_sub(cpu0);
    if let (Some(a), Some(b)) = (cs0, cs1) {
        result.ctx_read = true;
        result.stats.voluntary_cs = b.voluntary.saturating_sub(a.voluntary);
        result.stats.involuntary_cs = b.involuntary.saturating_sub(a.involuntary);
    }
    result
}

/// Runs the task from its first release at `first` until its loops end or the run does (the
/// shared event loop, [`JobLoop`], performed with blocking spins and sleeps).
fn run_jobs(plan: &ThreadPlan, end: u64, first: u64) -> JobStats {
    let mut jobs = JobLoop::new(plan.deadline, end, plan.sink.clone(), plan.keep_jobs);
    if jobs.release(first).is_err() {
        return jobs.stats;
    }
    wait_release(&mut jobs, first);
    let mut held = Held::new(&plan.mutexes);
    let outcome = Walk::new(plan.repeat, &plan.phases).try_for_each(|event| {
        match jobs.step(event, mono_ns())? {
            Action::Cpu(d) => spin::cpu_until(d, end),
            Action::WallUntil(at) => spin::wall_until(at, end),
            Action::Yield => {
                // SAFETY: sched_yield has no preconditions.
                unsafe { libc::sched_yield() };
                Ok(())
            }
            Action::None => Ok(()),
            Action::Release(at) => {
                wait_release(&mut jobs, at);
                Ok(())
            }
            Action::Lock(m) => {
                held.lock(m);
                Ok(())
            }
            Action::Unlock(m) => {
                held.unlock(m);
                Ok(())
            }
            Action::Barrier(b) => plan.barriers.wait(b, end),
            Action::Suspend(t) => plan.suspensions.suspend(t, end),
            Action::Resume(t) => {
                plan.suspensions.resume(t);
                Ok(())
            }
            Action::Signal(c) => {
                plan.conds.signal(c);
                Ok(())
            }
            Action::Broadcast(c) => {
                plan.conds.broadcast(c);
                Ok(())
            }
            Action::Wait(w) => match plan.conds.get(&w.cond) {
                Some(cond) => held.cond_wait(cond, &w.mutex, end),
                None => Ok(()),
            },
            Action::SignalWait(w) => match plan.conds.get(&w.cond) {
                Some(cond) => {
                    cond.signal();
                    held.cond_wait(cond, &w.mutex, end)
                }
                None => Ok(()),
            },
        }
    });
    // A run that ended inside a critical section lets the other threads have the mutex.
    drop(held);
    jobs.close(outcome, mono_ns())
}

/// Sleeps until the release at `at`, then records the job's start (the first clock read after).
fn wait_release(jobs: &mut JobLoop, at: u64) {
    if mono_ns() < at {
        sleep_until(at);
    }
    jobs.started(at, mono_ns());
}

/// What a background hog reports.
#[derive(Debug, Default)]
pub struct HogResult {
    /// Work units done ([`hog_unit`](super::metrics::hog_unit)).
    pub units: u64,
    /// Thread CPU time, ns.
    pub cpu_ns: u64,
    /// Wall time it ran, ns.
    pub wall_ns: u64,
    /// Context switches over the run, if `/proc` gave them.
    pub ctx: Option<CtxSwitches>,
}

/// The body of a background hog: SCHED_OTHER (inherited), busy from the start of the run until
/// its end or the stop flag, counting work units.
pub fn hog_thread(start: &Start) -> HogResult {
    start.barrier.wait();
    start.barrier.wait();
    let t0 = start.t0.load(Ordering::Acquire);
    let end = start.end.load(Ordering::Acquire);
    sleep_until(t0);
    let cs0 = CtxSwitches::read();
    let cpu0 = thread_cpu_ns();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut units = 0u64;
    let mut now = mono_ns();
    while now < end && !start.stop.load(Ordering::Relaxed) {
        super::metrics::hog_unit(&mut state);
        units += 1;
        now = mono_ns();
    }
    let cpu1 = thread_cpu_ns();
    let ctx = match (cs0, CtxSwitches::read()) {
        (Some(a), Some(b)) => Some(CtxSwitches {
            voluntary: b.voluntary.saturating_sub(a.voluntary),
            involuntary: b.involuntary.saturating_sub(a.involuntary),
        }),
        _ => None,
    };
    HogResult {
        units,
        cpu_ns: cpu1.saturating_sub(cpu0),
        wall_ns: now.saturating_sub(t0),
        ctx,
    }
}
