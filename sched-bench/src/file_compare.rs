//! `compare --workload FILE`: one workload file on the kernel backend, the kairos executor (one
//! row set per policy) and tokio, in one table (also when only one backend is asked for).
//!
//! Backends run one after another, each once for the workload's duration (`--rounds` does not
//! apply): the kernel backend through [`kernel::run`], the async ones through
//! [`async_backend::run`] on a runtime built with `--workers` workers and timers. Every row has
//! the same columns and the metric definitions of [`crate::kernel::metrics`]; a `backend` column
//! tells the rows apart. Kernel rows are one per scheduling class plus the hogs; async rows are
//! one for all tasks (the runtime has one policy) plus the hogs. Kernel rows also say how many
//! threads ran, whether the policy read back inside each thread is the one asked for, and
//! whether context switches could be read (JSON only).

use crate::async_backend::{self, AsyncRun, AsyncTimer};
use crate::backend::Backend;
use crate::error::BenchError;
use crate::exec::{Kairos, Tokio};
use crate::json;
use crate::kernel::metrics::{JobJson, JobStats};
use crate::kernel::{self, KernelRun};
use crate::rt_compare::logs::FileJobs;
use crate::table::{num, Table};
use crate::workload_file::model::{format_duration, Workload};
use serde::Serialize;

/// A count cell that may not apply to a backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Count {
    /// Measured (or known by construction).
    Value(u64),
    /// The backend has no such thing, or does not measure it (`n/a`).
    NotApplicable,
    /// Should have been measured but could not be read (`-`).
    Unread,
}

impl Count {
    fn cell(self) -> String {
        match self {
            Count::Value(v) => v.to_string(),
            Count::NotApplicable => "n/a".to_owned(),
            Count::Unread => "-".to_owned(),
        }
    }

    fn value(self) -> Option<u64> {
        match self {
            Count::Value(v) => Some(v),
            _ => None,
        }
    }
}

/// One row of the combined table.
#[derive(Debug)]
pub struct FileRow {
    /// `kernel`, `kairos-fifo`, `tokio`, ...
    pub backend: String,
    /// Kernel: the class (`SCHED_FIFO`, ...) or `hogs`; async: `tasks` or `hogs`.
    pub class: String,
    /// Threads (kernel) or async tasks of the row.
    pub threads: u64,
    /// `ok`, or why (some) threads did not run.
    pub status: String,
    /// Kernel: the policies read back inside the threads; async: `n/a`.
    pub read_back: String,
    /// Job metrics; `None` for hog rows (and for kernel classes where nothing ran).
    pub stats: Option<JobStats>,
    /// Preemptions: involuntary context switches (kernel), cooperative preemptions (kairos).
    pub preemptions: Count,
    /// Voluntary context switches (kernel only).
    pub voluntary: Count,
    /// CPU time of the row's threads or tasks, ns; `None` if nothing ran.
    pub cpu_ns: Option<u64>,
    /// Hogs: work units done and units per second of wall time.
    pub units: Option<(u64, f64)>,
    /// Kernel class rows: what the threads themselves observed.
    pub kernel: Option<KernelChecks>,
}

/// What a kernel class row's threads observed about their own setup.
#[derive(Clone, Copy, Debug)]
pub struct KernelChecks {
    /// Threads that ran (the others were refused their policy).
    pub threads_ran: u32,
    /// Whether every thread read back the policy (and nice value) it asked for.
    pub policy_matches: bool,
    /// Whether `/proc/thread-self/status` gave context switch counters.
    pub ctx_read: bool,
}

/// Everything one `compare --workload FILE` produced.
#[derive(Debug)]
pub struct FileRun {
    /// Rows in table order: backends as given, each backend's rows together.
    pub rows: Vec<FileRow>,
    /// Lines printed under the table (without the `note: ` prefix where it is a note).
    pub notes: Vec<String>,
    /// Per backend, in table order: its label and per-job records (`--cyclic`,
    /// `--rtapp-log`).
    pub jobs: Vec<(String, FileJobs)>,
}

/// Runs `workload` on every backend (after expanding `executor`), prints the combined table and
/// notes, and writes the JSON report if asked.
///
/// # Errors
/// A runtime that cannot be built or shut down, a panicked task, a failed report write.
pub fn compare(
    workload: &Workload,
    backends: &[Backend],
    workers: usize,
    json_out: Option<json::Output>,
    keep_jobs: bool,
) -> Result<FileRun, BenchError> {
    let start = crate::machine::CpuSample::now();
    let run = run(workload, backends, workers, keep_jobs)?;
    println!("{}", table(&run.rows));
    for line in &run.notes {
        println!("{line}");
    }
    if let Some(note) = crate::machine::busy_note(start) {
        println!("{note}\n");
    }
    if let Some(out) = json_out {
        out.write_json("compare", to_json(&workload.name, &run.rows))?;
    }
    Ok(run)
}

/// Runs `workload` on every backend and returns the rows and notes, printing only progress (to
/// stderr). The library entry point of the tests.
///
/// # Errors
/// As [`compare`], without the report write.
pub fn run(
    workload: &Workload,
    backends: &[Backend],
    workers: usize,
    keep_jobs: bool,
) -> Result<FileRun, BenchError> {
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    let mut jobs = Vec::new();
    let mut async_labels = Vec::new();
    let length = workload.duration.map_or_else(
        || "until the tasks end".to_owned(),
        crate::workload_file::model::format_duration,
    );
    for backend in backends.iter().flat_map(|b| b.expand()) {
        match backend {
            Backend::Kernel => {
                eprintln!("{}: kernel, one run of {length}", workload.name);
                let run = kernel::run(workload, keep_jobs)?;
                notes.extend(run.notes.iter().map(|n| format!("note: kernel: {n}")));
                notes.push(format!(
                    "kernel backend: ran {:.3} s (times in µs; lateness < 0 is early)",
                    run.elapsed.as_secs_f64()
                ));
                rows.extend(kernel_rows(&run));
                jobs.push(("kernel".to_owned(), run.jobs));
            }
            Backend::Kairos(policy, mode) => {
                let exec = Kairos::backend(workers, policy, mode)?;
                let run = on(exec, workload, workers, &length, keep_jobs)?;
                async_labels.push(run.backend.clone());
                notes.push(summary(&run));
                rows.extend(async_rows(&run));
                jobs.push((run.backend, run.jobs));
            }
            Backend::Tokio => {
                let exec = Tokio::with_timers(workers)?;
                let run = on(exec, workload, workers, &length, keep_jobs)?;
                async_labels.push(run.backend.clone());
                notes.push(summary(&run));
                rows.extend(async_rows(&run));
                jobs.push((run.backend, run.jobs));
            }
            Backend::Executor => unreachable!("expand() never yields Executor"),
            Backend::Sim(_) | Backend::SimAll => {
                return Err(BenchError::Usage(
                    crate::backend::SIM_PERIODIC_ONLY.to_owned(),
                ))
            }
        }
    }
    if !async_labels.is_empty() {
        let who = async_labels.join(", ");
        let kairos: Vec<&str> = async_labels
            .iter()
            .filter(|l| l.starts_with("kairos-"))
            .map(String::as_str)
            .collect();
        if !kairos.is_empty() {
            let ignored = async_backend::ignored_fields(workload, true);
            notes.push(format!(
                "note: {}: each task runs with its priority (read by Priority), nice value \
                 (Fair) and job deadline (Edf, set before each release; Classes puts a task \
                 with a deadline in its deadline class, else one with a priority in its \
                 priority class, else in the fair class); hogs with none (fair); {}",
                kairos.join(", "),
                if ignored.is_empty() {
                    "the other scheduling fields (class, reservation, slice, cpus) are not \
                     applied; this workload sets none"
                        .to_owned()
                } else {
                    format!(
                        "not applied (the runtime has no equivalent): {}",
                        ignored.join("; ")
                    )
                }
            ));
        }
        if async_labels.iter().any(|l| l == "tokio") {
            let ignored = async_backend::ignored_fields(workload, false);
            notes.push(if ignored.is_empty() {
                "note: tokio: has no per-task scheduling parameters; this workload sets no \
                 scheduling fields"
                    .to_owned()
            } else {
                format!(
                    "note: tokio: has no per-task scheduling parameters, so these fields are \
                     ignored: {}",
                    ignored.join("; ")
                )
            });
        }
        notes.push(format!(
            "note: {who}: preemption is cooperative: jobs and hogs spin in slices of at most {} \
             and yield after every slice; `preemptions` counts the slices after which kairos \
             had asked the task to yield (its cooperative preemptions, Metrics::by_name; 0 under \
             Fifo, which never asks) and is n/a for tokio (it has none); context switches are \
             not measured per task (n/a)",
            format_duration(async_backend::jobs::SLICE)
        ));
        if async_labels.iter().any(|l| l == "tokio") {
            notes.push(
                "note: tokio: its timer wheel has 1 ms resolution, so releases wake on the \
                 next millisecond tick (what rel→start measures)"
                    .to_owned(),
            );
        }
        notes.push(format!(
            "note: one run per backend (--rounds does not apply to workload files); async \
             backends ran with {workers} workers (--workers); times in µs, lateness < 0 is early"
        ));
    }
    Ok(FileRun { rows, notes, jobs })
}

/// Runs the workload on one async runtime and shuts it down.
fn on<E: AsyncTimer>(
    exec: E,
    workload: &Workload,
    workers: usize,
    length: &str,
    keep_jobs: bool,
) -> Result<AsyncRun, BenchError> {
    eprintln!(
        "{}: {}, one run of {length}, {workers} workers",
        workload.name,
        exec.label()
    );
    let run = async_backend::run(&exec, workload, keep_jobs);
    let down = exec.shutdown();
    let run = run?;
    down?;
    Ok(run)
}

/// The line under the table for one async run.
fn summary(run: &AsyncRun) -> String {
    let hog_cpu = run.hogs.as_ref().map_or(0, |h| h.cpu_ns);
    let mut line = format!(
        "{} backend: ran {:.3} s; process CPU {} ms (tasks {} ms, hogs {} ms, the rest: \
         runtime and driver threads)",
        run.backend,
        run.elapsed.as_secs_f64(),
        num(run.process_cpu_ns as f64 / 1e6),
        num(run.stats.cpu_ns as f64 / 1e6),
        num(hog_cpu as f64 / 1e6),
    );
    if let Some(c) = run.counters {
        line.push_str(&format!(
            "; polls {}, steals {}, parks {}",
            c.polls, c.steals, c.parks
        ));
    }
    if run.native_periodic > 0 {
        line.push_str(&format!(
            "; {} of {} task instances ran as kairos periodic tasks (spawn_periodic)",
            run.native_periodic, run.tasks
        ));
    }
    line
}

/// The kernel run's rows, as in its own table.
fn kernel_rows(run: &KernelRun) -> Vec<FileRow> {
    let mut rows: Vec<FileRow> = run
        .rows
        .iter()
        .map(|r| {
            let ran = r.ran > 0;
            let cs = |v: u64| {
                if ran && r.ctx_read {
                    Count::Value(v)
                } else {
                    Count::Unread
                }
            };
            FileRow {
                backend: "kernel".to_owned(),
                class: r.class.to_string(),
                threads: u64::from(r.threads),
                status: r.status.clone(),
                read_back: if ran {
                    r.read_back.join(",")
                } else {
                    "-".to_owned()
                },
                stats: ran.then(|| r.stats.clone()),
                preemptions: cs(r.stats.involuntary_cs),
                voluntary: cs(r.stats.voluntary_cs),
                cpu_ns: ran.then_some(r.stats.cpu_ns),
                units: None,
                kernel: Some(KernelChecks {
                    threads_ran: r.ran,
                    policy_matches: r.policy_matches,
                    ctx_read: r.ctx_read,
                }),
            }
        })
        .collect();
    if let Some(h) = &run.hogs {
        rows.push(FileRow {
            backend: "kernel".to_owned(),
            class: "hogs".to_owned(),
            threads: h.threads as u64,
            status: "ok".to_owned(),
            read_back: "SCHED_OTHER".to_owned(),
            stats: None,
            preemptions: Count::Value(h.involuntary_cs),
            voluntary: Count::Value(h.voluntary_cs),
            cpu_ns: Some(h.cpu_ns),
            units: Some((h.units, h.units_per_s())),
            kernel: None,
        });
    }
    rows
}

/// An async run's rows: all tasks, then the hogs.
fn async_rows(run: &AsyncRun) -> Vec<FileRow> {
    let count = |c: Option<u64>| c.map_or(Count::NotApplicable, Count::Value);
    let mut rows = vec![FileRow {
        backend: run.backend.clone(),
        class: "tasks".to_owned(),
        threads: u64::from(run.tasks),
        status: "ok".to_owned(),
        read_back: "n/a".to_owned(),
        stats: Some(run.stats.clone()),
        voluntary: Count::NotApplicable,
        cpu_ns: Some(run.stats.cpu_ns),
        units: None,
        preemptions: count(run.task_preemptions),
        kernel: None,
    }];
    if let Some(h) = &run.hogs {
        rows.push(FileRow {
            backend: run.backend.clone(),
            class: "hogs".to_owned(),
            threads: h.tasks as u64,
            status: "ok".to_owned(),
            read_back: "n/a".to_owned(),
            stats: None,
            preemptions: count(run.hog_preemptions),
            voluntary: Count::NotApplicable,
            cpu_ns: Some(h.cpu_ns),
            units: Some((h.units, h.units_per_s())),
            kernel: None,
        });
    }
    rows
}

/// The table: one row per backend and class (kernel) or tasks/hogs (async).
pub fn table(rows: &[FileRow]) -> Table {
    let mut t = Table::new([
        "backend",
        "class",
        "threads/tasks",
        "status",
        "read back",
        "released",
        "completed",
        "running at end",
        "missed",
        "miss ratio",
        "rel→start µs p50/p99/max",
        "response µs p50/p99/max",
        "lateness µs p50/p99/max",
        "preemptions",
        "vol. cs",
        "CPU ms",
        "bg units/s",
    ])
    .text_columns(5);
    let dash = || "-".to_owned();
    for r in rows {
        let mut cells = vec![
            r.backend.clone(),
            r.class.clone(),
            r.threads.to_string(),
            r.status.clone(),
            r.read_back.clone(),
        ];
        match &r.stats {
            Some(s) => cells.extend(s.table_cells()),
            None => cells.extend((0..8).map(|_| dash())),
        }
        cells.extend([
            r.preemptions.cell(),
            r.voluntary.cell(),
            r.cpu_ns.map_or_else(dash, |c| num(c as f64 / 1e6)),
            r.units
                .map_or_else(dash, |(_, per_s)| format!("{per_s:.0}")),
        ]);
        t.row(cells);
    }
    t
}

/// One row of the combined table as its JSON report object, serialised by derived
/// `Serialize`. Kernel rows add `threads_ran`, `policy_matches`, `ctx_switches_read` and (when
/// read) `involuntary_cs`, the same count as `preemptions`; a field a row does not have is
/// absent.
#[derive(Debug, Serialize)]
pub struct FileRowJson<'a> {
    /// [`FileRow::backend`].
    pub backend: &'a str,
    /// The workload's name.
    pub workload: &'a str,
    /// [`FileRow::class`].
    pub class: &'a str,
    /// [`FileRow::threads`].
    pub threads: u64,
    /// [`FileRow::status`].
    pub status: &'a str,
    /// [`FileRow::read_back`].
    pub policy_read_back: &'a str,
    /// Kernel rows: [`KernelChecks::threads_ran`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threads_ran: Option<u32>,
    /// Kernel rows: [`KernelChecks::policy_matches`], `yes` or `no`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_matches: Option<&'static str>,
    /// Kernel rows: [`KernelChecks::ctx_read`], `yes` or `no`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ctx_switches_read: Option<&'static str>,
    /// [`FileRow::stats`], flattened (job rows only).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub stats: Option<JobJson>,
    /// [`FileRow::preemptions`] where measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preemptions: Option<u64>,
    /// Kernel rows: the same count as `preemptions` (involuntary context switches).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub involuntary_cs: Option<u64>,
    /// [`FileRow::voluntary`] where measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voluntary_cs: Option<u64>,
    /// [`FileRow::cpu_ns`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_ns: Option<u64>,
    /// Hog rows: work units done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub units: Option<u64>,
    /// Hog rows: work units per second of wall time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub units_per_s: Option<f64>,
}

impl FileRow {
    /// This row's JSON report object, for the workload named `workload`.
    pub fn json<'a>(&'a self, workload: &'a str) -> FileRowJson<'a> {
        let preemptions = self.preemptions.value();
        FileRowJson {
            backend: &self.backend,
            workload,
            class: &self.class,
            threads: self.threads,
            status: &self.status,
            policy_read_back: &self.read_back,
            threads_ran: self.kernel.map(|k| k.threads_ran),
            policy_matches: self.kernel.map(|k| json::yes_no(k.policy_matches)),
            ctx_switches_read: self.kernel.map(|k| json::yes_no(k.ctx_read)),
            stats: self.stats.as_ref().map(JobStats::json),
            preemptions,
            involuntary_cs: preemptions.filter(|_| self.backend == "kernel"),
            voluntary_cs: self.voluntary.value(),
            cpu_ns: self.cpu_ns,
            units: self.units.map(|u| u.0),
            units_per_s: self.units.map(|u| u.1),
        }
    }
}

/// The rows as a JSON array of flat objects ([`FileRowJson`]).
pub fn to_json(workload: &str, rows: &[FileRow]) -> serde_json::Value {
    json::array(rows.iter().map(|r| json::to_value(r.json(workload))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(backend: &str, class: &str) -> FileRow {
        FileRow {
            backend: backend.to_owned(),
            class: class.to_owned(),
            threads: 2,
            status: "ok".to_owned(),
            read_back: "n/a".to_owned(),
            stats: None,
            preemptions: Count::NotApplicable,
            voluntary: Count::NotApplicable,
            cpu_ns: None,
            units: None,
            kernel: None,
        }
    }

    /// Kernel job rows carry the kernel checks, the job fields flattened and `involuntary_cs`;
    /// async hog rows only what they have; a ratio without jobs is `null`.
    #[test]
    fn json_rows_carry_only_their_fields() {
        let kernel = FileRow {
            stats: Some(JobStats::new()),
            preemptions: Count::Value(5),
            voluntary: Count::Value(9),
            cpu_ns: Some(1_000),
            kernel: Some(KernelChecks {
                threads_ran: 2,
                policy_matches: true,
                ctx_read: false,
            }),
            ..row("kernel", "SCHED_FIFO")
        };
        let hogs = FileRow {
            units: Some((40, 2.5)),
            ..row("tokio", "hogs")
        };
        let v = to_json("w", &[kernel, hogs]);
        let k = v[0].as_object().unwrap();
        assert_eq!(k["workload"], "w");
        assert_eq!(k["threads_ran"], 2);
        assert_eq!(k["policy_matches"], "yes");
        assert_eq!(k["ctx_switches_read"], "no");
        assert_eq!(k["released"], 0);
        assert_eq!(k["jobs_with_deadline"], 0);
        assert!(k["miss_ratio"].is_null(), "{v}");
        assert!(
            k.get("start_latency_p99_ns").is_none(),
            "no job, no percentile: {v}"
        );
        assert_eq!(k["preemptions"], 5);
        assert_eq!(k["involuntary_cs"], 5);
        assert_eq!(k["voluntary_cs"], 9);
        assert_eq!(k["cpu_ns"], 1_000);
        let h = v[1].as_object().unwrap();
        let mut keys: Vec<&str> = h.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "backend",
                "class",
                "policy_read_back",
                "status",
                "threads",
                "units",
                "units_per_s",
                "workload"
            ]
        );
        assert_eq!(h["units_per_s"], 2.5);
    }
}
