//! The `kernel` backend: a workload on plain Linux threads under the kernel's own schedulers.
//!
//! One OS thread per task instance. Each thread puts itself under its task's class
//! ([`sched_attr`]): SCHED_OTHER with the nice value, SCHED_FIFO or SCHED_RR with the priority,
//! SCHED_DEADLINE with the reservation (never pinned; see [`sched_attr`] for the kernel's rules).
//! A task without a class runs as SCHED_OTHER with its nice value. Threads then run their
//! phases as jobs ([`thread_job`]) from one common start instant until the workload's duration
//! ends; background hogs (`workload.hogs`) spin at SCHED_OTHER meanwhile, never yielding (so
//! both [`HogKind`](crate::workload_file::model::HogKind)s run alike: the kernel preempts a hog
//! thread whichever it is). A [`Watchdog`] bounds
//! the run.
//!
//! The report has one row per class used (threads of a class merged) plus one for the hogs;
//! the metric definitions are in [`metrics`]. A class whose threads were refused (no
//! CAP_SYS_NICE, admission control) says so in its status cell and the other classes still
//! run. The run happens once: `--rounds` does not apply (the workload's duration is the
//! measurement).

pub mod barrier;
pub mod cond;
pub mod metrics;
pub mod pi_mutex;
pub mod sched_attr;
pub mod thread_job;

use crate::error::BenchError;
use crate::table::num;
use crate::watchdog::Watchdog;
use crate::workload_file::model::{Class, Event, TaskSpec, Workload};
use metrics::JobStats;
use sched_attr::{Policy, Refusal};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;
use thread_job::{HogResult, Start, ThreadPlan, ThreadResult};

/// Time between the last thread being ready and the first release: enough for every thread to
/// leave the barrier and go to sleep until the start, so the first releases are not late
/// because of the start-up itself.
const START_MARGIN: Duration = Duration::from_millis(10);

/// One class's row.
#[derive(Debug)]
pub struct ClassRow {
    /// The class.
    pub class: Class,
    /// Threads of this class (task instances).
    pub threads: u32,
    /// Threads that took their policy and ran.
    pub ran: u32,
    /// `ok`, or why (some) threads did not run.
    pub status: String,
    /// Policies read back inside the threads that ran (distinct names, in order seen).
    pub read_back: Vec<String>,
    /// Whether every thread that ran read back the class it asked for.
    pub policy_matches: bool,
    /// Whether every thread that ran read its context switch counters.
    pub ctx_read: bool,
    /// Merged job metrics of the threads that ran.
    pub stats: JobStats,
}

/// The hogs' row.
#[derive(Debug, Default)]
pub struct HogRow {
    /// Hog threads.
    pub threads: usize,
    /// Work units done by all hogs.
    pub units: u64,
    /// CPU time of all hogs, ns.
    pub cpu_ns: u64,
    /// Longest wall time a hog ran, ns.
    pub wall_ns: u64,
    /// Involuntary context switches of all hogs.
    pub involuntary_cs: u64,
    /// Voluntary context switches of all hogs.
    pub voluntary_cs: u64,
}

impl HogRow {
    /// Work units per second of wall time (all hogs together).
    pub fn units_per_s(&self) -> f64 {
        self.units as f64 / (self.wall_ns.max(1) as f64 / 1e9)
    }
}

/// One task's instances on a kernel-backend run.
#[derive(Debug)]
pub struct TaskOutcome {
    /// Instances that took their policy and ran.
    pub ran: u32,
    /// Their merged job metrics (context switches and CPU time included).
    pub stats: JobStats,
}

/// A finished kernel-backend run.
#[derive(Debug)]
pub struct KernelRun {
    /// Wall time from the start instant until every thread had stopped.
    pub elapsed: Duration,
    /// One row per class, in order of first appearance in the workload.
    pub rows: Vec<ClassRow>,
    /// One per workload task, in the workload's order: the merged job metrics of its instances
    /// that ran (the periodic comparison reports per task).
    pub tasks: Vec<TaskOutcome>,
    /// Per workload task, per instance: the instance's job records, empty for an instance
    /// that did not run (`--cyclic`, `--rtapp-log`).
    pub jobs: crate::rt_compare::logs::FileJobs,
    /// The hogs, if the workload has any.
    pub hogs: Option<HogRow>,
    /// Remarks printed under the table (ignored settings).
    pub notes: Vec<String>,
}

/// The class a task runs in on this backend: its own, else SCHED_OTHER.
fn class_of(task: &TaskSpec) -> Class {
    task.sched.class.unwrap_or(Class::Other)
}

/// The policy of a task's threads.
fn policy_of(task: &TaskSpec) -> Result<Policy, Refusal> {
    let s = &task.sched;
    let prio = || {
        s.priority.ok_or_else(|| {
            Refusal::Invalid(format!("task {}: FIFO/RR needs a priority", task.name))
        })
    };
    Ok(match class_of(task) {
        Class::Other => Policy::Other { nice: s.nice },
        Class::Fifo => Policy::Fifo { priority: prio()? },
        Class::Rr => Policy::Rr { priority: prio()? },
        Class::Deadline => Policy::Deadline(s.reservation.ok_or_else(|| {
            Refusal::Invalid(format!(
                "task {}: SCHED_DEADLINE needs a reservation",
                task.name
            ))
        })?),
    })
}

/// The relative job deadline: the task's, else the period of its first timer.
pub fn job_deadline(task: &TaskSpec) -> Option<Duration> {
    task.deadline.or_else(|| {
        task.phases
            .iter()
            .flat_map(|p| &p.events)
            .find_map(|e| match e {
                Event::Timer(t) => Some(t.period),
                _ => None,
            })
    })
}

/// Runs `workload` once on kernel threads; with `keep_jobs`, keeps every job's record
/// (`--cyclic`, `--rtapp-log`, the periodic comparison's logs).
///
/// # Errors
/// [`BenchError::Build`] if the OS refuses to create a thread; policy refusals are not errors
/// (they are reported in the rows).
pub fn run(workload: &Workload, keep_jobs: bool) -> Result<KernelRun, BenchError> {
    let sinks: Vec<metrics::TaskSink> = workload
        .tasks
        .iter()
        .map(|_| metrics::task_sink())
        .collect();
    let mut notes = Vec::new();
    let mutexes = Arc::new(
        pi_mutex::PiMutexes::new(&workload.mutexes()).map_err(|message| BenchError::Build {
            backend: "kernel".to_owned(),
            message,
        })?,
    );
    let barriers = Arc::new(barrier::Barriers::new(&workload.barriers()));
    let suspensions = Arc::new(barrier::Suspensions::new(&workload.suspending()));
    let conds =
        Arc::new(
            cond::Conds::new(&workload.conds()).map_err(|message| BenchError::Build {
                backend: "kernel".to_owned(),
                message,
            })?,
        );
    let mut plans: Vec<(Class, Result<ThreadPlan, Refusal>)> = Vec::new();
    // The workload task of each plan.
    let mut task_of: Vec<usize> = Vec::new();
    for (t, task) in workload.tasks.iter().enumerate() {
        let class = class_of(task);
        let cpus = match (&task.cpus, class) {
            (Some(c), Class::Deadline) => {
                notes.push(format!(
                    "task {}: cpus {c:?} ignored: SCHED_DEADLINE threads are not pinned (the \
                     kernel refuses affinity narrower than the root domain)",
                    task.name
                ));
                None
            }
            (c, _) => c.as_deref().map(std::sync::Arc::from),
        };
        if task.sched.slice.is_some() {
            notes.push(format!(
                "task {}: the SCHED_OTHER custom slice is not applied by this backend",
                task.name
            ));
        }
        let plan = policy_of(task).map(|policy| ThreadPlan {
            policy,
            cpus,
            delay: task.delay,
            repeat: task.repeat,
            phases: Arc::from(task.phases.as_slice()),
            deadline: job_deadline(task),
            sink: Arc::clone(&sinks[t]),
            keep_jobs,
            mutexes: Arc::clone(&mutexes),
            barriers: Arc::clone(&barriers),
            suspensions: Arc::clone(&suspensions),
            conds: Arc::clone(&conds),
        });
        for _ in 0..task.instances {
            plans.push((class, plan.clone()));
            task_of.push(t);
        }
    }

    let runnable: Vec<usize> = (0..plans.len()).filter(|&i| plans[i].1.is_ok()).collect();
    let start = Arc::new(Start {
        barrier: Barrier::new(runnable.len() + workload.hogs + 1),
        t0: AtomicU64::new(0),
        end: AtomicU64::new(u64::MAX),
        stop: AtomicBool::new(false),
    });
    let limit = crate::workload_file::budget::watchdog_limit(workload) + START_MARGIN;
    let _watchdog = Watchdog::arm(
        format!("workload {} on the kernel backend", workload.name),
        limit,
    );

    let mut task_handles = Vec::with_capacity(runnable.len());
    let mut hog_handles = Vec::with_capacity(workload.hogs);
    let mut spawn_error = None;
    for &i in &runnable {
        let Ok(plan) = plans[i].1.clone() else {
            continue;
        };
        let start = Arc::clone(&start);
        match std::thread::Builder::new()
            .name(format!("kernel-task-{i}"))
            .spawn(move || thread_job::task_thread(&plan, &start))
        {
            Ok(h) => task_handles.push((i, h)),
            Err(e) => {
                spawn_error = Some(e);
                break;
            }
        }
    }
    if spawn_error.is_none() {
        for h in 0..workload.hogs {
            let start = Arc::clone(&start);
            match std::thread::Builder::new()
                .name(format!("kernel-hog-{h}"))
                .spawn(move || thread_job::hog_thread(&start))
            {
                Ok(h) => hog_handles.push(h),
                Err(e) => {
                    spawn_error = Some(e);
                    break;
                }
            }
        }
    }
    if let Some(e) = spawn_error {
        // The barrier can no longer fill: the threads already started would wait forever.
        // Exiting is the only way to not leave them behind.
        eprintln!("sched-bench: error: could not start a kernel-backend thread: {e}");
        std::process::exit(1);
    }

    start.barrier.wait();
    let t0 = crate::spin::mono_ns() + crate::spin::nanos(START_MARGIN);
    let end = workload
        .duration
        .map_or(u64::MAX, |d| t0.saturating_add(crate::spin::nanos(d)));
    start.t0.store(t0, Ordering::Release);
    start.end.store(end, Ordering::Release);
    start.barrier.wait();

    let mut results: Vec<Option<ThreadResult>> = (0..plans.len()).map(|_| None).collect();
    let mut panicked = None;
    for (i, h) in task_handles {
        match h.join() {
            Ok(r) => results[i] = Some(r),
            Err(_) => panicked = Some(i),
        }
    }
    start.stop.store(true, Ordering::Relaxed);
    let hog_results: Vec<HogResult> = hog_handles
        .into_iter()
        .filter_map(|h| h.join().ok())
        .collect();
    let elapsed = Duration::from_nanos(crate::spin::mono_ns().saturating_sub(t0));
    if let Some(i) = panicked {
        return Err(BenchError::Task {
            backend: "kernel".to_owned(),
            message: format!("task thread {i} panicked"),
        });
    }

    let mut rows = class_rows(&plans, &results);
    // Histograms are per task (shared by its instances): each task's go to its class's row,
    // once, if any of its instances ran.
    for (t, task) in workload.tasks.iter().enumerate() {
        let ran = task_of
            .iter()
            .zip(&results)
            .any(|(&i, r)| i == t && r.as_ref().is_some_and(|r| r.setup.is_ok()));
        if let Some(row) = rows
            .iter_mut()
            .find(|r| r.class == class_of(task))
            .filter(|_| ran)
        {
            row.stats.add(&metrics::sink_stats(&sinks[t]));
        }
    }
    let mut jobs: crate::rt_compare::logs::FileJobs =
        workload.tasks.iter().map(|_| Vec::new()).collect();
    let mut tasks: Vec<TaskOutcome> = workload
        .tasks
        .iter()
        .map(|_| TaskOutcome {
            ran: 0,
            stats: JobStats::new(),
        })
        .collect();
    for (&t, result) in task_of.iter().zip(&mut results) {
        match result.as_mut().filter(|r| r.setup.is_ok()) {
            Some(res) => {
                tasks[t].ran += 1;
                tasks[t].stats.add(&res.stats);
                // Moved, not copied: the merged rows above and here already have theirs.
                jobs[t].push(std::mem::take(&mut res.stats.jobs));
            }
            None => jobs[t].push(Vec::new()),
        }
    }
    for (task, sink) in tasks.iter_mut().zip(&sinks) {
        if task.ran > 0 {
            task.stats.add(&metrics::sink_stats(sink));
        }
    }
    let hogs = (workload.hogs > 0).then(|| {
        let mut row = HogRow {
            threads: workload.hogs,
            ..HogRow::default()
        };
        for h in &hog_results {
            row.units += h.units;
            row.cpu_ns += h.cpu_ns;
            row.wall_ns = row.wall_ns.max(h.wall_ns);
            if let Some(c) = h.ctx {
                row.involuntary_cs += c.involuntary;
                row.voluntary_cs += c.voluntary;
            }
        }
        row
    });
    Ok(KernelRun {
        elapsed,
        rows,
        tasks,
        jobs,
        hogs,
        notes,
    })
}

/// Merges thread results into one row per class.
fn class_rows(
    plans: &[(Class, Result<ThreadPlan, Refusal>)],
    results: &[Option<ThreadResult>],
) -> Vec<ClassRow> {
    let mut rows: Vec<ClassRow> = Vec::new();
    for ((class, plan), result) in plans.iter().zip(results) {
        let idx = match rows.iter().position(|r| r.class == *class) {
            Some(i) => i,
            None => {
                rows.push(ClassRow {
                    class: *class,
                    threads: 0,
                    ran: 0,
                    status: String::new(),
                    read_back: Vec::new(),
                    policy_matches: true,
                    ctx_read: true,
                    stats: JobStats::new(),
                });
                rows.len() - 1
            }
        };
        let row = &mut rows[idx];
        row.threads += 1;
        let refusal = match (plan, result) {
            (Err(r), _) => Some(r.clone()),
            (Ok(_), Some(res)) => match &res.setup {
                Err(r) => Some(r.clone()),
                Ok(()) => {
                    row.ran += 1;
                    let got = res.policy_read_back;
                    let name = got.map_or_else(|| "unreadable".to_owned(), sched_attr::policy_name);
                    if !row.read_back.contains(&name) {
                        row.read_back.push(name);
                    }
                    if got != Some(sched_attr::class_number(*class)) {
                        row.policy_matches = false;
                    }
                    if let Ok(ThreadPlan {
                        policy: Policy::Other { nice },
                        ..
                    }) = plan
                    {
                        if res.nice_read_back != *nice {
                            row.policy_matches = false;
                        }
                    }
                    row.ctx_read &= res.ctx_read;
                    row.stats.add(&res.stats);
                    None
                }
            },
            (Ok(_), None) => Some(Refusal::Other("thread did not report".to_owned())),
        };
        if let Some(r) = refusal {
            if row.status.is_empty() {
                row.status = r.to_string();
            }
        }
    }
    for row in &mut rows {
        if row.status.is_empty() {
            row.status = "ok".to_owned();
        } else if row.ran > 0 {
            row.status = format!(
                "{} of {} threads ran; the others: {}",
                row.ran, row.threads, row.status
            );
        }
        if row.ran == 0 {
            row.ctx_read = false;
        }
    }
    rows
}

/// A signed ns value as µs for a table cell; `-` for none.
pub fn us(ns: Option<i64>) -> String {
    ns.map_or_else(|| "-".to_owned(), |v| num(v as f64 / 1e3))
}

/// `p50 / p99 / max` of a ns histogram in µs for a table cell; `-` when empty.
pub fn triple(h: &metrics::Hist) -> String {
    if h.is_empty() {
        return "-".to_owned();
    }
    format!(
        "{} / {} / {}",
        num(h.value_at_quantile(0.5) as f64 / 1e3),
        num(h.value_at_quantile(0.99) as f64 / 1e3),
        num(h.max() as f64 / 1e3)
    )
}
