//! One task instance as one async task: its phases as jobs, with the kernel backend's metric
//! definitions.
//!
//! The event loop is the one the kernel backend's threads run ([`JobLoop`](crate::job_loop)):
//! the same releases, the same job boundaries, the same bookkeeping in [`JobStats`], so the rows of
//! both backends mean the same thing. What differs is how the task waits and spins:
//!
//! | event | async backends |
//! |---|---|
//! | `Run d` | spin until the task has used `d` of CPU time, in slices of at most [`SLICE`] of the worker thread's CPU clock, `yield_now().await` between slices |
//! | `Runtime d` | spin until `d` of wall time has passed, in slices of at most [`SLICE`], yielding between slices |
//! | `Yield` | `yield_now().await` |
//! | `Sleep d` | ends the job; the next is released at now + `d`, waited for with the runtime's `sleep_until` |
//! | `Timer` | ends the job; the next is released at the timer's next tick (absolute grid, or re-anchored at now after an overrun in relative mode), waited for with the runtime's `sleep_until` |
//! | `Lock m` / `Unlock m` | the runtime's async mutex (kairos: an inheriting `kairos::sync::Mutex`) |
//! | `Barrier b`, `Suspend` / `Resume` | the runtime's `Barrier`, `Notify` |
//! | `Wait`, `Signal`, `Broadcast`, `SignalWait` | a condition variable over the runtime's `Notify` and mutex ([`super::cond`]) |
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

use super::{AsyncTimer, Resources};
use crate::exec::SpawnParams;
use crate::job_loop::{Action, JobLoop, Walk};
use crate::kernel::metrics::{JobStats, TaskSink};
use crate::spin::{self, mono_ns, nanos, Stopped, WallSlice};
use crate::workload_file::model::{CondWait, Periodic, Phase, Repeat};
use std::future::Future;
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
    /// `Some` if the task is a plain periodic task repeated until the run ends (its phases are
    /// what `TaskSpec::periodic_phases` builds, in a workload with a duration): kairos runs it
    /// as its own periodic task ([`super::periodic`]), every runtime else (and kairos with
    /// `--kairos-periodic task-loop`) with [`run`].
    pub periodic: Option<Periodic>,
    /// Priority, nice value and metrics name (the task's own name) the task instance is
    /// spawned with.
    pub spawn: SpawnParams,
    /// The task's histograms, shared by its instances.
    pub sink: TaskSink,
    /// Whether instances keep a record of every job (`--cyclic`, `--rtapp-log`).
    pub keep_jobs: bool,
}

/// Runs the task from its first release at `first` until its loops end or the run does (the
/// shared event loop, [`JobLoop`], performed with sliced spins and the runtime's timer), and
/// returns what it observed (CPU time is measured around the task, not here).
pub async fn run<E: AsyncTimer>(
    plan: &TaskPlan,
    resources: &Resources<E>,
    end: u64,
    first: u64,
) -> JobStats {
    let mut jobs = JobLoop::new(plan.deadline, end, plan.sink.clone(), plan.keep_jobs);
    if jobs.release(first).is_err() {
        return jobs.stats;
    }
    wait_release::<E>(&mut jobs, first).await;
    // The guards of the mutexes this instance holds; dropped (unlocked) at `unlock`, or when
    // the run ends inside a critical section.
    let mut held: Vec<(&str, E::Guard)> = Vec::new();
    let mut outcome = Ok(());
    for event in Walk::new(plan.repeat, &plan.phases) {
        let done = match jobs.step(event, mono_ns()) {
            Err(stopped) => Err(stopped),
            Ok(Action::Cpu(d)) => spin_cpu::<E>(d, end).await,
            Ok(Action::WallUntil(at)) => spin_wall::<E>(at, end).await,
            Ok(Action::Yield) => {
                E::yield_now().await;
                Ok(())
            }
            Ok(Action::None) => Ok(()),
            Ok(Action::Release(at)) => {
                wait_release::<E>(&mut jobs, at).await;
                Ok(())
            }
            Ok(Action::Lock(m)) => {
                // Validation: the workload names it and this instance does not hold it.
                if let Some(mutex) = resources.mutex(m) {
                    held.push((m, E::lock(mutex).await));
                }
                Ok(())
            }
            Ok(Action::Unlock(m)) => {
                held.retain(|(name, _)| *name != m);
                Ok(())
            }
            Ok(Action::Barrier(b)) => match resources.barrier(b) {
                Some(barrier) => until_end::<E, _>(E::barrier_wait(barrier), end).await,
                None => Ok(()),
            },
            Ok(Action::Suspend(t)) => match resources.suspension(t) {
                Some(n) => until_end::<E, _>(E::notified(n), end).await,
                None => Ok(()),
            },
            Ok(Action::Resume(t)) => {
                if let Some(n) = resources.suspension(t) {
                    E::notify_waiters(n);
                }
                Ok(())
            }
            Ok(Action::Signal(c)) => {
                if let Some(c) = resources.cond(c) {
                    c.signal();
                }
                Ok(())
            }
            Ok(Action::Broadcast(c)) => {
                if let Some(c) = resources.cond(c) {
                    c.broadcast();
                }
                Ok(())
            }
            Ok(Action::Wait(w)) => cond_wait(resources, &mut held, w, false, end).await,
            Ok(Action::SignalWait(w)) => cond_wait(resources, &mut held, w, true, end).await,
        };
        if done.is_err() {
            outcome = done;
            break;
        }
    }
    drop(held);
    jobs.close(outcome, mono_ns())
}

/// A `wait` (`signal_first`: a `sync`) on condition `w.cond` with mutex `w.mutex`, which this
/// instance holds (validation): its guard leaves `held` for the wait and comes back with the
/// relock; a wait ended by the end of the run leaves the mutex unlocked.
async fn cond_wait<'e, E: AsyncTimer>(
    resources: &Resources<E>,
    held: &mut Vec<(&'e str, E::Guard)>,
    w: &'e CondWait,
    signal_first: bool,
    end: u64,
) -> Result<(), Stopped> {
    let (Some(cond), Some(mutex)) = (resources.cond(&w.cond), resources.mutex(&w.mutex)) else {
        return Ok(());
    };
    let Some(i) = held.iter().position(|(name, _)| *name == w.mutex) else {
        return Ok(());
    };
    let (name, guard) = held.remove(i);
    if signal_first {
        cond.signal();
    }
    let guard = cond.wait(mutex, guard, end).await?;
    held.push((name, guard));
    Ok(())
}

/// Runs `f` until it completes or `CLOCK_MONOTONIC` reaches `end` (the runtime's timer), which
/// drops it: a barrier wait ends with the run although an instance that stopped never arrives.
pub(crate) async fn until_end<E: AsyncTimer, F: Future<Output = ()>>(
    f: F,
    end: u64,
) -> Result<(), Stopped> {
    if end == u64::MAX {
        f.await;
        return Ok(());
    }
    let mut f = std::pin::pin!(f);
    let mut timeout = std::pin::pin!(E::sleep_until_mono(end));
    std::future::poll_fn(|cx| {
        if f.as_mut().poll(cx).is_ready() {
            return std::task::Poll::Ready(Ok(()));
        }
        if timeout.as_mut().poll(cx).is_ready() {
            return std::task::Poll::Ready(Err(Stopped));
        }
        std::task::Poll::Pending
    })
    .await
}

/// Waits for the release at `at` on the runtime's timer, then records the job's start (the
/// first clock read once the task runs again).
async fn wait_release<E: AsyncTimer>(jobs: &mut JobLoop, at: u64) {
    if let Some(d) = jobs.deadline_of(at) {
        // Before the wait, so that the timer wakes the task with the job's deadline (kairos
        // `Edf` orders it by that deadline from the release on).
        E::set_deadline_mono(d);
    }
    if mono_ns() < at {
        E::sleep_until_mono(at).await;
    }
    jobs.started(at, mono_ns());
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
