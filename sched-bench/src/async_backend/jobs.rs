//! One task instance as one async task: its phases as jobs, with the kernel backend's metric
//! definitions.
//!
//! This is the async mirror of the kernel backend's event loop (`kernel::thread_job`): the
//! same releases, the same job boundaries, the same bookkeeping in [`JobStats`], so the rows of
//! both backends mean the same thing. What differs is how the task waits and spins:
//!
//! | event | async backends |
//! |---|---|
//! | `Run d` | spin until the task has used `d` of CPU time, in slices of at most [`SLICE`] of the worker thread's CPU clock, `yield_now().await` between slices |
//! | `Runtime d` | spin until `d` of wall time has passed, in slices of at most [`SLICE`], yielding between slices |
//! | `Yield` | `yield_now().await` |
//! | `Sleep d` | ends the job; the next is released at now + `d`, waited for with the runtime's `sleep_until` |
//! | `Timer` | ends the job; the next is released at the timer's next tick (absolute grid, or re-anchored at now after an overrun in relative mode), waited for with the runtime's `sleep_until` |
//!
//! **Cooperative slicing.** An async task gives its worker up only at an `.await` that returns
//! `Pending`. A job spinning for 2 ms without awaiting would hold a worker for 2 ms, and no
//! other task on that worker, however urgent, could start before it ends: there would be no
//! preemption at all. Spinning in slices of at most 20 µs with a `yield_now` between them is
//! what a well-behaved CPU-bound task in a cooperative runtime does, and bounds the time a
//! released job waits for a busy worker to one slice (plus the queue ahead of it). This is the
//! only place "preemption" can happen in kairos and tokio; the runtime decides, at each yield,
//! what runs next (kairos `Fifo` and tokio: the back of the queue).
//!
//! CPU time is counted per slice on the thread that ran it (the thread CPU clock before and
//! after the slice, within one poll), so a task that migrates between workers between slices
//! still counts exactly the CPU it used. The last slice of a `Run`/`Runtime` is not followed by
//! a yield: the job ends when its work does, as on a kernel thread.

use super::AsyncTimer;
use crate::exec::SpawnParams;
use crate::kernel::metrics::{JobStats, OpenJob};
use crate::kernel::thread_job::times_left;
use crate::spin::{self, mono_ns, nanos, Stopped, WallSlice};
use crate::workload_file::model::{Event, Phase, Repeat, TimerMode};
use std::collections::HashMap;
use std::time::Duration;

/// Longest stretch a task spins without yielding to its runtime.
///
/// 20 µs: short against the periods a real-time workload uses (≥ 1 ms typically), so a job
/// released onto a busy worker waits at most about one slice for it; long against the cost of a
/// yield (a queue push and pop, well under 1 µs on both runtimes), so slicing costs little
/// throughput.
pub const SLICE: Duration = Duration::from_micros(20);

/// Everything one async task needs to run one task instance.
#[derive(Clone, Debug)]
pub struct TaskPlan {
    /// Offset of the first release from the run's start.
    pub delay: Duration,
    /// Passes over `phases`.
    pub repeat: Repeat,
    /// The task's phases.
    pub phases: Vec<Phase>,
    /// Relative deadline of each job; `None`: jobs have no deadline.
    pub deadline: Option<Duration>,
    /// Priority, nice value and metrics name the task instance is spawned with.
    pub spawn: SpawnParams,
}

/// The event loop of one task instance and the job it is in.
pub struct Jobs<'a> {
    plan: &'a TaskPlan,
    stats: JobStats,
    end: u64,
    /// Next tick of each private timer, by reference name, `CLOCK_MONOTONIC` ns.
    timers: HashMap<String, u64>,
    /// `None` between a job's end and the next release.
    job: Option<OpenJob>,
    /// Release of the current or last job: where a timer reached for the first time anchors.
    last: Option<u64>,
}

impl<'a> Jobs<'a> {
    /// A task instance that stops at `end` (`CLOCK_MONOTONIC` ns; `u64::MAX`: no end).
    pub fn new(plan: &'a TaskPlan, end: u64) -> Jobs<'a> {
        Jobs {
            plan,
            stats: JobStats::new(),
            end,
            timers: HashMap::new(),
            job: None,
            last: None,
        }
    }

    /// Runs the task from its first release at `first` until its loops end or the run does,
    /// and returns what it observed (CPU time is measured around the task, not here).
    pub async fn run<E: AsyncTimer>(mut self, first: u64) -> JobStats {
        if self.release::<E>(first).await.is_err() {
            return self.stats;
        }
        let plan = self.plan;
        let outcome = async {
            let mut pass = 0u64;
            while times_left(plan.repeat, pass) {
                for phase in &plan.phases {
                    let mut rep = 0u64;
                    while times_left(phase.repeat, rep) {
                        for event in &phase.events {
                            self.event::<E>(event).await?;
                        }
                        rep += 1;
                    }
                }
                pass += 1;
            }
            Ok::<(), Stopped>(())
        }
        .await;
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
        self.stats
    }

    async fn event<E: AsyncTimer>(&mut self, event: &Event) -> Result<(), Stopped> {
        let now = mono_ns();
        if now >= self.end {
            return Err(Stopped);
        }
        match event {
            Event::Run(d) => spin_cpu::<E>(*d, self.end).await,
            Event::Runtime(d) => spin_wall::<E>(now.saturating_add(nanos(*d)), self.end).await,
            Event::Yield => {
                E::yield_now().await;
                Ok(())
            }
            Event::Sleep(d) if d.is_zero() => Ok(()),
            Event::Sleep(d) => {
                self.finish(now);
                self.release::<E>(now.saturating_add(nanos(*d))).await
            }
            Event::Timer(t) => {
                self.finish(now);
                let anchor = self.last.unwrap_or(now);
                let period = nanos(t.period).max(1);
                let next = self
                    .timers
                    .entry(t.reference.clone())
                    .or_insert(anchor.saturating_add(period));
                let release = match t.mode {
                    TimerMode::Absolute => *next,
                    // rt-app: an overrun re-anchors the timer at "now"; missed ticks are dropped.
                    TimerMode::Relative if *next < now => now,
                    TimerMode::Relative => *next,
                };
                *next = release.saturating_add(period);
                self.release::<E>(release).await
            }
        }
    }

    /// Ends the current job at `at`.
    fn finish(&mut self, at: u64) {
        if let Some(job) = self.job.take() {
            self.stats.job_finished(job, at);
        }
    }

    /// Releases the next job at `at`: waits for it on the runtime's timer, then records its
    /// start (the first clock read after the timer let the task run again).
    async fn release<E: AsyncTimer>(&mut self, at: u64) -> Result<(), Stopped> {
        if at >= self.end {
            return Err(Stopped);
        }
        self.last = Some(at);
        let abs_deadline = self.plan.deadline.map(|d| at.saturating_add(nanos(d)));
        if let Some(d) = abs_deadline {
            // Before the wait, so that the timer wakes the task with the job's deadline (kairos
            // `Edf` orders it by that deadline from the release on).
            E::set_deadline_mono(d);
        }
        if mono_ns() < at {
            E::sleep_until_mono(at).await;
        }
        let started = mono_ns();
        self.job = Some(self.stats.job_started(at, started, abs_deadline));
        Ok(())
    }
}

/// Spins until the task has used `d` more CPU time (summed over slices, each measured on the
/// thread that ran it), or the run ends; yields between slices.
async fn spin_cpu<E: AsyncTimer>(d: Duration, end: u64) -> Result<(), Stopped> {
    let mut left = nanos(d);
    let slice = nanos(SLICE);
    while left > 0 {
        let used = spin::cpu_slice(left.min(slice), end)?;
        left = left.saturating_sub(used);
        if left > 0 {
            E::note_preemption_check();
            E::yield_now().await;
        }
    }
    Ok(())
}

/// Spins until `CLOCK_MONOTONIC` reaches `until`, or the run ends; yields every [`SLICE`].
async fn spin_wall<E: AsyncTimer>(until: u64, end: u64) -> Result<(), Stopped> {
    while spin::wall_slice(until, end, nanos(SLICE))? == WallSlice::More {
        E::note_preemption_check();
        E::yield_now().await;
    }
    Ok(())
}
