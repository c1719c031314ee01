//! The periodic built-ins on the kernel backend: rows `kernel-other`, `kernel-fifo`,
//! `kernel-deadline`.
//!
//! A round builds a workload-file model of the [`PeriodicSet`] (each periodic task one TOML-style
//! task: `Run(C)` then an absolute timer of period `T`, job deadline `D`; the background tasks
//! as `hogs`) with the row's Linux class on every periodic task, and runs it with
//! [`crate::kernel::run`]: one OS thread per task, the class set from inside the thread, absolute
//! `clock_nanosleep` releases, jobs spun on the thread's CPU clock. Hogs are SCHED_OTHER nice 0
//! threads on every row.
//!
//! | row | periodic threads |
//! |---|---|
//! | `kernel-other` | SCHED_OTHER, nice 0 |
//! | `kernel-fifo` | SCHED_FIFO, priority [`rt_priority`] of the task's kairos priority (rate monotonic, the order the `kairos-priority` row uses) |
//! | `kernel-deadline` | SCHED_DEADLINE, runtime `C` + [`deadline_margin`] (max(C/2, 50 µs)), deadline `D`, period `T` |
//!
//! The result becomes a [`Round`] with rt_compare's definitions: release → start is the
//! release on the grid to the thread's first clock read after its sleep; response = job end −
//! release; missed = jobs that *completed* after release + `D` (a job cut off by the end of
//! the run is not a job here, unlike the kernel backend's own report); preemptions =
//! involuntary context switches of the periodic threads (background: of the hogs); background
//! slices = the hogs' CPU time within the run / 20 µs (a kernel hog spins without yielding, so
//! its work is counted in slices of CPU time rather than yields).

use super::{Round, TaskRound};
use crate::error::BenchError;
use crate::kernel::{self, metrics::JobStats};
use crate::workload::{rt_priority, PeriodicSet, RtTask};
use crate::workload_file::model::{Class, Reservation, Sched, Workload};
use kairos::stats::Histogram;
use std::fmt;
use std::time::Duration;

/// The Linux class of one kernel row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelPolicy {
    /// SCHED_OTHER, nice 0.
    Other,
    /// SCHED_FIFO, rate-monotonic priorities.
    Fifo,
    /// SCHED_DEADLINE, runtime C + margin, deadline D, period T.
    Deadline,
}

/// The kernel rows `--backends kernel` stands for on a periodic workload, in table order.
pub const KERNEL_POLICIES: [KernelPolicy; 3] = [
    KernelPolicy::Other,
    KernelPolicy::Fifo,
    KernelPolicy::Deadline,
];

impl fmt::Display for KernelPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KernelPolicy::Other => "kernel-other",
            KernelPolicy::Fifo => "kernel-fifo",
            KernelPolicy::Deadline => "kernel-deadline",
        })
    }
}

/// SCHED_DEADLINE runtime beyond `C`: max(`C` / 2, 50 µs), capped so runtime <= `D`. It pays
/// for what the thread runs besides the job's `C` of spinning within a period (the wake-up, the
/// clock reads and bookkeeping between jobs, the spin loop's last check) and for the kernel's
/// budget accounting not matching the thread's CPU clock exactly. A job whose budget runs out
/// is throttled until its next period (a sure miss). Measured on a 2-core VM (Linux 6.18,
/// mixed-latency-hogs, release build): with `C` / 10 (+ 50 µs) `audio` (500 µs, D 1.5 ms,
/// T 10 ms) was throttled in every job, response ≈ T; with `C` / 2 no job was. The margin
/// only widens the reservation (bandwidth 0.41 → 0.62 for mixed-latency); the job still spins
/// exactly `C`.
pub fn deadline_margin(task: &RtTask) -> Duration {
    let margin = (task.work / 2).max(Duration::from_micros(50));
    margin.min(task.deadline().saturating_sub(task.work))
}

/// The workload-file model of `set` for one kernel row: [`PeriodicSet::model`] with the row's
/// Linux class on every periodic task.
pub fn model(name: &str, set: &PeriodicSet, policy: KernelPolicy, duration: Duration) -> Workload {
    set.model(name, duration, |task| match policy {
        KernelPolicy::Other => Sched {
            class: Some(Class::Other),
            ..Sched::default()
        },
        KernelPolicy::Fifo => Sched {
            class: Some(Class::Fifo),
            priority: Some(rt_priority(task.priority)),
            ..Sched::default()
        },
        KernelPolicy::Deadline => Sched {
            class: Some(Class::Deadline),
            reservation: Some(Reservation {
                runtime: task.work + deadline_margin(task),
                deadline: task.deadline(),
                period: task.period,
            }),
            ..Sched::default()
        },
    })
}

/// One round of `set` on kernel threads under `policy`.
///
/// # Errors
/// As [`kernel::run`] (a thread that cannot be created); refused policies are not errors: the
/// round's `status` says why and `ran` is false.
pub fn round(
    name: &str,
    set: &PeriodicSet,
    policy: KernelPolicy,
    duration: Duration,
) -> Result<Round, BenchError> {
    let run = kernel::run(&model(name, set, policy, duration), true)?;
    // Every periodic task has the row's class, so there is one class row.
    let class = run.rows.first();
    let status = class.map_or_else(|| "no periodic task".to_owned(), |r| r.status.clone());
    let ctx_read = class.is_some_and(|r| r.ctx_read);
    let tasks: Vec<TaskRound> = run
        .tasks
        .iter()
        .map(|t| {
            let ctx = ctx_read && t.ran > 0;
            task_round(
                &t.stats,
                ctx.then_some(t.stats.involuntary_cs),
                t.stats.jobs.clone(),
            )
        })
        .collect();
    let preemptions = ctx_read.then(|| run.tasks.iter().map(|t| t.stats.involuntary_cs).sum());
    let slice = crate::spin::nanos(set.hogs.slice()).max(1);
    Ok(Round {
        tasks,
        preemptions,
        background_preemptions: run.hogs.as_ref().map(|h| h.involuntary_cs),
        background_slices: run.hogs.as_ref().map_or(0, |h| h.cpu_ns / slice),
        window: duration,
        status: Some(status),
        ran: run.tasks.iter().any(|t| t.ran > 0),
        cpu_ns: 0,
        cpu_wall: Duration::ZERO,
        simulated: false,
    })
}

/// One task's file-runner metrics (kernel or async) in rt_compare's terms, with its
/// preemptions (kernel: involuntary context switches; kairos: cooperative preemptions) and job
/// records.
pub(super) fn task_round(
    s: &JobStats,
    preemptions: Option<u64>,
    jobs: Vec<super::JobRecord>,
) -> TaskRound {
    TaskRound {
        released: s.released,
        completed: s.completed,
        missed: s.missed_completed,
        start_latency: convert(&s.start_latency),
        response: convert(&s.response),
        preemptions,
        jobs,
    }
}

/// The kernel's HdrHistogram (ns) as kairos' (ns): every recorded value with its count (the
/// file runners' histograms, kernel and async, in rt_compare's type).
fn convert(h: &crate::kernel::metrics::Hist) -> Histogram {
    let mut out = Histogram::new();
    let Some(h) = h.inner() else {
        return out;
    };
    for v in h.iter_recorded() {
        for _ in 0..v.count_at_value() {
            out.record(v.value_iterated_to());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{find, Shape};

    #[test]
    fn deadline_reservations_are_valid() {
        for w in ["latency-under-load", "mixed-latency"] {
            let Shape::Periodic(set) = find(w).unwrap().shape else {
                panic!("{w} is periodic");
            };
            for policy in KERNEL_POLICIES {
                let m = model(w, &set, policy, Duration::from_secs(1));
                crate::workload_file::validate::workload(&m)
                    .unwrap_or_else(|e| panic!("{w} on {policy}: {e:?}"));
            }
            let m = model(w, &set, KernelPolicy::Deadline, Duration::from_secs(1));
            for (t, spec) in set.tasks.iter().zip(&m.tasks) {
                let r = spec.sched.reservation.unwrap();
                assert!(r.runtime > t.work, "{w}/{}", t.name);
                assert!(r.runtime <= r.deadline && r.deadline <= r.period, "{r:?}");
            }
        }
    }
}
