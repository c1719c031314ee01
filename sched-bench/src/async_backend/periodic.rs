//! A plain periodic task instance as kairos' own periodic task (`Runtime::spawn_periodic`).
//!
//! A task whose phases are what `TaskSpec::periodic_phases` builds (run `C`, then an absolute
//! timer of period `T`), repeated until the run ends, with job deadline `D`
//! ([`TaskPlan::periodic`]), runs on kairos as
//!
//! ```text
//! spawn_periodic(Periodic::new(T).deadline(D).offset(first − now).priority(p).nice(n).name(task),
//!                |job| { start = now; kairos::work(C); end = now })
//! ```
//!
//! so the kairos rows of such tasks measure kairos' periodic tasks, a product feature: the
//! driver's release grid, its timer, its per-job deadline under `Edf`, its overrun policy
//! (`Queue`: a late job's successors run back to back, the absolute timer's behaviour). The
//! job body spins `C` of thread CPU time with `kairos::work` (20 µs slices, yielding only when
//! `kairos::task::should_yield()` says so) and records the job into the task's
//! [`JobLoop`]/[`JobStats`] with the generic loop's definitions and clock:
//!
//! - release: the job's `Job::release()` (kairos' grid) as `CLOCK_MONOTONIC` ns, converted
//!   through one paired reading of both clocks at the spawn;
//! - start: the job's first `CLOCK_MONOTONIC` read; end: the read after `kairos::work(C)`;
//! - released / completed: one each per job whose work is done (recorded after `end`, so the
//!   bookkeeping stays outside the job's measured span); a stop never cancels a job, so these
//!   are the counts of kairos' `PeriodicStats` (debug builds check); missed iff end > release
//!   + `D`.
//!
//! The driving thread stops the task at the end of the run ([`NativePeriodic::stop`]): no
//! release after that, and the job in progress completes (and counts), as with
//! `PeriodicHandle::stop`. The generic loop instead cuts a job off at the end. CPU time is
//! that of the job bodies' polls ([`Metered`] around `kairos::work`). A job that panics makes
//! the instance's join an error, as a panicking generic instance does.

use super::{Metered, NativePeriodic, TaskPlan};
use crate::error::{BenchError, TaskFailed};
use crate::exec::Kairos;
use crate::job_loop::JobLoop;
use crate::kernel::metrics::JobStats;
use crate::spin::{mono_ns, nanos};
use crate::workload_file::model::Periodic;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// What the jobs of one periodic task instance share.
struct Shared {
    /// The instance's jobs (`None` once taken by the join).
    jobs: Mutex<Option<JobLoop>>,
    /// CPU ns of the job bodies.
    cpu_ns: AtomicU64,
    /// Set by a job whose body was dropped while its thread panicked.
    panicked: AtomicBool,
    /// One reading of kairos' clock and `CLOCK_MONOTONIC` together.
    clock: (kairos::time::Instant, u64),
}

impl Shared {
    /// Runs `f` on the job loop, if it is still there.
    fn with(&self, f: impl FnOnce(&mut JobLoop)) {
        let mut jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(jobs) = jobs.as_mut() {
            f(jobs);
        }
    }

    /// kairos instant `i` as `CLOCK_MONOTONIC` ns.
    fn mono(&self, i: kairos::time::Instant) -> u64 {
        let (at, mono) = self.clock;
        if i >= at {
            mono.saturating_add(nanos(i.saturating_duration_since(at)))
        } else {
            mono.saturating_sub(nanos(at.saturating_duration_since(i)))
        }
    }
}

/// Marks `Shared::panicked` if dropped during a panic (a job body that did not finish).
struct PanicFlag<'a>(&'a AtomicBool);

impl Drop for PanicFlag<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, Ordering::Relaxed);
        }
    }
}

/// The `spawn_periodic` parameters of `plan` (period `p.period`, deadline `deadline`), first
/// release `offset` after the spawn.
pub fn params(
    plan: &TaskPlan,
    p: Periodic,
    deadline: Duration,
    offset: Duration,
) -> kairos::Periodic {
    let mut params = kairos::Periodic::new(p.period)
        .deadline(deadline)
        .offset(offset)
        .priority(plan.spawn.priority)
        .nice(plan.spawn.nice);
    if let Some(name) = plan.spawn.name {
        params = params.name(name);
    }
    params
}

/// Starts `plan` on `exec` as a kairos periodic task whose first release is at `first`
/// (`CLOCK_MONOTONIC` ns), if the plan is a plain periodic task with a job deadline and `exec`
/// runs such plans natively; `None` otherwise (the generic loop runs it).
pub fn spawn(
    exec: &Kairos,
    plan: &Arc<TaskPlan>,
    first: u64,
) -> Option<Result<NativePeriodic, BenchError>> {
    if !exec.native_periodic() {
        return None;
    }
    let p = plan.periodic?;
    let deadline = plan.deadline?;
    let shared = Arc::new(Shared {
        jobs: Mutex::new(Some(JobLoop::new(
            Some(deadline),
            u64::MAX,
            plan.sink.clone(),
            plan.keep_jobs,
        ))),
        cpu_ns: AtomicU64::new(0),
        panicked: AtomicBool::new(false),
        clock: (kairos::time::Instant::now(), mono_ns()),
    });
    let offset = Duration::from_nanos(first.saturating_sub(mono_ns()));
    let job_shared = Arc::clone(&shared);
    let work = p.work;
    let spawned = exec.runtime().spawn_periodic(
        params(plan, p, deadline, offset),
        move |job: kairos::Job| {
            let shared = Arc::clone(&job_shared);
            async move {
                let start = mono_ns();
                let flag = PanicFlag(&shared.panicked);
                let ((), cpu) = Metered::new(kairos::work(work)).await;
                let end = mono_ns();
                drop(flag);
                // The bookkeeping after the job's end, outside its measured span (as the
                // driver's own statistics are kept).
                let release = shared.mono(job.release());
                shared.cpu_ns.fetch_add(cpu, Ordering::Relaxed);
                shared.with(|jobs| {
                    jobs.started(release, start);
                    jobs.finish(end);
                });
            }
        },
    );
    let handle = match spawned {
        Ok(h) => h,
        Err(e) => {
            return Some(Err(BenchError::Task {
                backend: crate::exec::Exec::label(exec),
                message: format!(
                    "spawn_periodic({}): {e}",
                    plan.spawn.name.unwrap_or("a task")
                ),
            }))
        }
    };
    let handle = Arc::new(handle);
    let stopper = Arc::clone(&handle);
    let name = plan.spawn.name.unwrap_or("a periodic task");
    Some(Ok(NativePeriodic {
        stop: Box::new(move || stopper.stop()),
        join: Box::pin(async move {
            let handle = Arc::try_unwrap(handle)
                .map_err(|_| TaskFailed(format!("{name}: its periodic handle is still shared")))?;
            let reported = handle.join().await;
            if shared.panicked.load(Ordering::Relaxed) {
                return Err(TaskFailed(format!("a job of {name} panicked")));
            }
            let jobs = shared
                .jobs
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            let stats = jobs.map_or_else(JobStats::new, |j| j.close(Ok(()), mono_ns()));
            // The job bodies saw every job the driver started and completed.
            debug_assert_eq!(
                (stats.released, stats.completed),
                (reported.released, reported.completed),
                "{name}: job records vs spawn_periodic's counts"
            );
            Ok((stats, shared.cpu_ns.load(Ordering::Relaxed)))
        }),
    }))
}
