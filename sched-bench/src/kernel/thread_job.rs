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
//! Events (see [`Event`]): `Run` spins until the thread has used that much CPU time
//! (`CLOCK_THREAD_CPUTIME_ID`, so preemption stretches the job instead of shortening the work,
//! and no calibration is needed); `Runtime` spins on wall time; `Yield` is `sched_yield`;
//! `Sleep` and `Timer` end the current job and release the next one (see
//! [`metrics`](super::metrics) for the definitions). Timers are private to the thread, keyed by
//! their reference name, and anchored at the release of the job that first reaches them, so a
//! TOML task's job *k* is released at start + delay + *k* × period.

use super::metrics::{CtxSwitches, JobStats, OpenJob};
use super::sched_attr::{self, Policy, Refusal};
use crate::spin::{self, mono_ns, nanos, thread_cpu_ns, Stopped};
use crate::workload_file::model::{Event, Phase, Repeat, TimerMode};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Barrier;
use std::time::Duration;

/// Everything one thread needs to run one task instance.
#[derive(Clone, Debug)]
pub struct ThreadPlan {
    /// The policy the thread puts itself under.
    pub policy: Policy,
    /// CPUs to pin to; `None`: not pinned (always `None` for SCHED_DEADLINE).
    pub cpus: Option<Vec<usize>>,
    /// Offset of the first release from the run's start.
    pub delay: Duration,
    /// Passes over `phases`.
    pub repeat: Repeat,
    /// The task's phases.
    pub phases: Vec<Phase>,
    /// Relative deadline of each job; `None`: jobs have no deadline.
    pub deadline: Option<Duration>,
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
    /// Job metrics.
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
    Jobs::new(plan, &mut result.stats, end).run(t0.saturating_add(nanos(plan.delay)));
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

/// A private periodic timer.
struct TimerState {
    /// The next tick, `CLOCK_MONOTONIC` ns.
    next: u64,
}

/// The event loop of one thread and the job it is in.
struct Jobs<'a> {
    plan: &'a ThreadPlan,
    stats: &'a mut JobStats,
    end: u64,
    timers: HashMap<String, TimerState>,
    /// `None` between a job's end and the next release.
    job: Option<OpenJob>,
    /// Release of the current or last job: where a timer reached for the first time anchors.
    last: Option<u64>,
}

impl<'a> Jobs<'a> {
    fn new(plan: &'a ThreadPlan, stats: &'a mut JobStats, end: u64) -> Jobs<'a> {
        Jobs {
            plan,
            stats,
            end,
            timers: HashMap::new(),
            job: None,
            last: None,
        }
    }

    /// Runs the task from its first release at `first` until its loops end or the run does.
    fn run(mut self, first: u64) {
        if self.release(first).is_err() {
            return;
        }
        let plan = self.plan;
        let outcome = (|| -> Result<(), Stopped> {
            let mut pass = 0u64;
            while times_left(plan.repeat, pass) {
                for phase in &plan.phases {
                    let mut rep = 0u64;
                    while times_left(phase.repeat, rep) {
                        for event in &phase.events {
                            self.event(event)?;
                        }
                        rep += 1;
                    }
                }
                pass += 1;
            }
            Ok(())
        })();
        match outcome {
            Ok(()) => self.finish(mono_ns()),
            Err(Stopped) => {
                // Still running at the end: a miss if its deadline has passed by then.
                if let Some(OpenJob {
                    abs_deadline: Some(d),
                    ..
                }) = self.job
                {
                    if d < self.end.min(mono_ns()) {
                        self.stats.missed += 1;
                    }
                }
            }
        }
    }

    fn event(&mut self, event: &Event) -> Result<(), Stopped> {
        let now = mono_ns();
        if now >= self.end {
            return Err(Stopped);
        }
        match event {
            Event::Run(d) => spin::cpu_until(*d, self.end),
            Event::Runtime(d) => spin::wall_until(now.saturating_add(nanos(*d)), self.end),
            Event::Yield => {
                // SAFETY: sched_yield has no preconditions.
                unsafe { libc::sched_yield() };
                Ok(())
            }
            Event::Sleep(d) if d.is_zero() => Ok(()),
            Event::Sleep(d) => {
                self.finish(now);
                self.release(now.saturating_add(nanos(*d)))
            }
            Event::Timer(t) => {
                self.finish(now);
                let anchor = self.last_release(now);
                let period = nanos(t.period).max(1);
                let state = self
                    .timers
                    .entry(t.reference.clone())
                    .or_insert(TimerState {
                        next: anchor.saturating_add(period),
                    });
                let release = match t.mode {
                    TimerMode::Absolute => state.next,
                    // rt-app: an overrun re-anchors the timer at "now"; missed ticks are dropped.
                    TimerMode::Relative if state.next < now => now,
                    TimerMode::Relative => state.next,
                };
                state.next = release.saturating_add(period);
                self.release(release)
            }
        }
    }

    /// The release of the current or last job (the anchor of a timer reached first now).
    fn last_release(&self, now: u64) -> u64 {
        self.last.unwrap_or(now)
    }

    /// Ends the current job at `at`.
    fn finish(&mut self, at: u64) {
        if let Some(job) = self.job.take() {
            self.stats.job_finished(job, at);
        }
    }

    /// Releases the next job at `at`: waits for it, then records its start.
    fn release(&mut self, at: u64) -> Result<(), Stopped> {
        if at >= self.end {
            return Err(Stopped);
        }
        self.last = Some(at);
        if mono_ns() < at {
            sleep_until(at);
        }
        let started = mono_ns();
        let abs_deadline = self.plan.deadline.map(|d| at.saturating_add(nanos(d)));
        self.job = Some(self.stats.job_started(at, started, abs_deadline));
        Ok(())
    }
}

/// Whether a loop repeated `repeat` times has iterations left after `done`.
pub(crate) fn times_left(repeat: Repeat, done: u64) -> bool {
    match repeat {
        Repeat::Times(n) => done < n,
        Repeat::Forever => true,
    }
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
