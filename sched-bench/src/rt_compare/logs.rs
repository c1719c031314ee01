//! Per-job output of the periodic comparison: cyclictest-style summary lines (`--cyclic`) and
//! rt-app-style per-task logs (`--rtapp-log DIR`).
//!
//! Both read every row's per-job records ([`JobRecord`]: release, first clock read once the job
//! ran, completion; `CLOCK_MONOTONIC` ns), kept per task and round by every backend: kairos
//! (`spawn_periodic`: the job body's first clock read, which rel→poll uses too; the `+loop` rows
//! and tokio: the workload-file runner's loop's read after its sleep), the kernel rows (the
//! thread's read after its sleep) and the simulator's rows (virtual ns).
//!
//! # `--cyclic`
//!
//! One line per row and periodic task, cyclictest's summary format: `T: <task index> (<name>)
//! P:<priority> I:<period µs> C:<completed jobs> Min:<µs> Act:<µs> Avg:<µs> Max:<µs>`, where
//! Min / Avg / Max are the minimum, mean and maximum release → start latency over every started
//! job of every round and Act is the last started job's (of the last round), all truncated to
//! whole µs as cyclictest prints them. P is the priority the row used: the kairos priority on
//! `kairos-priority`, the SCHED_FIFO priority on `kernel-fifo`, else 0. cyclictest's
//! parenthesised field is the thread id; here it is the task's name.
//!
//! # `--rtapp-log DIR`
//!
//! One file per row and periodic task, `DIR/<workload>.<backend>-<task>-<index>.log`, in
//! rt-app's per-thread log format (one line per completed job, every round one after another);
//! the column mapping is [`rtapp_lines`]'s and docs/sched-bench.md's.
//!
//! # Workload files
//!
//! `compare --workload FILE` has both outputs on every backend row (`kernel`, `kairos-*`,
//! `tokio`), from the records the file's job loops keep per task instance
//! (`kernel::thread_job`, `async_backend::jobs`; [`FileJobs`]), through the same formatting:
//! the inputs are [`LogRow`]s and [`LogTask`]s, built from the periodic rows by [`rt_rows`] and
//! from a file's records by [`file_task_row`] and [`file_thread_row`]. `--cyclic` prints one
//! line per row and task of the file (`T:` its index in the file, its instances' jobs taken
//! together; Act = the last instance's last job); `--rtapp-log` writes one file per row and
//! task *instance* (rt-app's threads): `DIR/<workload>.<backend>-<thread>-<index>.log`, the
//! thread named like its task (`<task>-<k>` for instance `k` of a task with several), the
//! index (also the `idx` column) its position among all instances of the file, and rel_st
//! counted from the row's first release. A file task's `T` is its first timer's period (else
//! its first sleep, else 0) and its `C` the `run`/`runtime` events of its first phase.

use super::{JobRecord, RtRow, TaskRow};
use crate::error::BenchError;
use crate::workload_file::model::{Class, Event, Workload};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One logged task (or thread) on one row: what both outputs read.
#[derive(Clone, Debug)]
pub struct LogTask<'a> {
    /// Name: cyclictest's parenthesised field, rt-app's `<thread>` in the file name.
    pub name: String,
    /// Index: cyclictest's `T:`, rt-app's `idx` column and `<index>` in the file name.
    pub index: usize,
    /// Priority the row ran it at (see the module docs).
    pub priority: u32,
    /// Period `T` (rt-app's `c_period`).
    pub period: Duration,
    /// Work per job `C` (rt-app's `perf` and `c_duration`).
    pub work: Duration,
    /// Completed jobs (cyclictest's `C:`).
    pub completed: u64,
    /// Its jobs, one list per round (periodic built-ins) or per instance (a workload file's
    /// cyclic lines); each list in release order.
    pub job_log: &'a [Vec<JobRecord>],
}

/// One row's logged tasks.
#[derive(Clone, Debug)]
pub struct LogRow<'a> {
    /// Backend label of the row.
    pub backend: &'a str,
    /// Workload name.
    pub workload: &'a str,
    /// One per logged task, in index order.
    pub tasks: Vec<LogTask<'a>>,
}

impl TaskRow {
    /// The task as the logs read it.
    pub fn log(&self) -> LogTask<'_> {
        LogTask {
            name: self.name.to_owned(),
            index: self.index,
            priority: self.priority,
            period: self.period,
            work: self.work,
            completed: self.jobs,
            job_log: &self.job_log,
        }
    }
}

/// The measured rows as the logs read them.
pub fn rt_rows(rows: &[RtRow]) -> Vec<LogRow<'_>> {
    rows.iter()
        .filter(|r| r.measured)
        .map(|r| LogRow {
            backend: &r.backend,
            workload: r.workload,
            tasks: r.tasks.iter().map(TaskRow::log).collect(),
        })
        .collect()
}

/// Per-job records of one workload-file run on one backend row: per workload task (in the
/// file's order), per instance, that instance's jobs in release order (empty for an instance
/// that did not run).
pub type FileJobs = Vec<Vec<Vec<JobRecord>>>;

/// A workload-file task's period for the logs: its first timer's period, else its first
/// sleep, else 0.
fn file_period(task: &crate::workload_file::model::TaskSpec) -> Duration {
    let events = || task.phases.iter().flat_map(|p| &p.events);
    events()
        .find_map(|e| match e {
            Event::Timer(t) => Some(t.period),
            _ => None,
        })
        .or_else(|| {
            events().find_map(|e| match e {
                Event::Sleep(d) if !d.is_zero() => Some(*d),
                _ => None,
            })
        })
        .unwrap_or_default()
}

/// A workload-file task's work per job for the logs: its first phase's `run` and `runtime`
/// events summed (one pass of the phase).
fn file_work(task: &crate::workload_file::model::TaskSpec) -> Duration {
    task.phases.first().map_or(Duration::ZERO, |p| {
        p.events
            .iter()
            .map(|e| match e {
                Event::Run(d) | Event::Runtime(d) => *d,
                _ => Duration::ZERO,
            })
            .sum()
    })
}

/// The priority a workload-file row runs a task at: its `priority` on `kernel` for SCHED_FIFO
/// and SCHED_RR tasks and on `kairos-priority`, else 0.
fn file_priority(backend: &str, task: &crate::workload_file::model::TaskSpec) -> u32 {
    let applies = match backend {
        "kernel" => matches!(task.sched.class, Some(Class::Fifo | Class::Rr)),
        "kairos-priority" => true,
        _ => false,
    };
    if applies {
        task.sched.priority.unwrap_or(0)
    } else {
        0
    }
}

fn completed(jobs: &[Vec<JobRecord>]) -> u64 {
    jobs.iter().flatten().filter(|j| j.end > 0).count() as u64
}

/// A workload-file row for `--cyclic`: one task per workload task, its instances' jobs as
/// the lists (`T:` is the task's index in the file).
pub fn file_task_row<'a>(
    workload: &'a Workload,
    backend: &'a str,
    jobs: &'a FileJobs,
) -> LogRow<'a> {
    let tasks = workload
        .tasks
        .iter()
        .zip(jobs)
        .enumerate()
        .map(|(i, (task, instances))| LogTask {
            name: task.name.clone(),
            index: i,
            priority: file_priority(backend, task),
            period: file_period(task),
            work: file_work(task),
            completed: completed(instances),
            job_log: instances,
        })
        .collect();
    LogRow {
        backend,
        workload: &workload.name,
        tasks,
    }
}

/// A workload-file row for `--rtapp-log`: one task per task instance (rt-app's threads),
/// named like the task (`<task>-<k>` for instance `k` of a task with several), indexed by
/// its position among all instances of the file.
pub fn file_thread_row<'a>(
    workload: &'a Workload,
    backend: &'a str,
    jobs: &'a FileJobs,
) -> LogRow<'a> {
    let mut tasks = Vec::new();
    for (task, instances) in workload.tasks.iter().zip(jobs) {
        for (k, jobs) in instances.iter().enumerate() {
            tasks.push(LogTask {
                name: if instances.len() == 1 {
                    task.name.clone()
                } else {
                    format!("{}-{k}", task.name)
                },
                index: tasks.len(),
                priority: file_priority(backend, task),
                period: file_period(task),
                work: file_work(task),
                completed: completed(std::slice::from_ref(jobs)),
                job_log: std::slice::from_ref(jobs),
            });
        }
    }
    LogRow {
        backend,
        workload: &workload.name,
        tasks,
    }
}

/// `--cyclic` and `--rtapp-log DIR` of a workload-file run: `rows` holds each backend row's
/// label and records.
///
/// # Errors
/// As [`write_rtapp`].
pub fn file_outputs(
    workload: &Workload,
    rows: &[(String, FileJobs)],
    cyclic_lines: bool,
    rtapp_dir: Option<&Path>,
) -> Result<(), BenchError> {
    if cyclic_lines {
        let rows: Vec<LogRow<'_>> = rows
            .iter()
            .map(|(b, j)| file_task_row(workload, b, j))
            .collect();
        println!("{}", cyclic(&rows));
    }
    if let Some(dir) = rtapp_dir {
        let rows: Vec<LogRow<'_>> = rows
            .iter()
            .map(|(b, j)| file_thread_row(workload, b, j))
            .collect();
        for path in write_rtapp(dir, &rows)? {
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(())
}

/// rt-app's log header.
pub const RTAPP_HEADER: &str =
    "#idx\tperf\trun\tperiod\tstart\tend\trel_st\tslack\tc_duration\tc_period\twu_lat";

/// ns as whole µs (truncated).
fn us(ns: u64) -> u64 {
    ns / 1000
}

/// Release → start of a job, ns.
fn latency(j: &JobRecord) -> u64 {
    j.start.saturating_sub(j.release)
}

/// The cyclictest-style line of one task on one row.
pub fn cyclic_line(task: &LogTask<'_>) -> String {
    let all = || task.job_log.iter().flatten();
    let n = all().count() as u64;
    let min = all().map(latency).min().unwrap_or(0);
    let max = all().map(latency).max().unwrap_or(0);
    let sum: u128 = all().map(|j| u128::from(latency(j))).sum();
    let avg = if n == 0 {
        0
    } else {
        u64::try_from(sum / u128::from(n)).unwrap_or(u64::MAX)
    };
    let act = task
        .job_log
        .iter()
        .rev()
        .find_map(|r| r.last())
        .map_or(0, latency);
    format!(
        "T:{:2} ({:>6}) P:{:2} I:{} C:{:7} Min:{:7} Act:{:5} Avg:{:5} Max:{:8}",
        task.index,
        task.name,
        task.priority,
        task.period.as_micros(),
        task.completed,
        us(min),
        us(act),
        us(avg),
        us(max)
    )
}

/// The `--cyclic` block: a header, then per measured row its name and one line per task.
pub fn cyclic(rows: &[LogRow<'_>]) -> String {
    let mut out = String::from(
        "cyclictest-style summary (release → start latency in µs over every job of every round \
         (workload files: of every instance); Act = the last job's; P = kairos priority on \
         kairos-priority, SCHED_FIFO priority on kernel-fifo (workload files: the task's \
         priority on kernel SCHED_FIFO/RR tasks), else 0; I = period µs; C = completed jobs):\n",
    );
    for r in rows {
        let _ = writeln!(out, "{}:", r.backend);
        for t in &r.tasks {
            let _ = writeln!(out, "{}", cyclic_line(t));
        }
    }
    out
}

/// The rt-app log lines (without header) of one task's jobs in one round; `base` is the round's
/// first release (rt-app's "start of the use case").
///
/// rt-app logs one line per loop of a thread; a periodic rt-app thread's loop is its run, then
/// its timer's sleep until the next release, so a loop ends when the thread wakes for the next
/// job. Per completed job `k` (next started job `k+1`, if any), µs:
///
/// | column | value |
/// |---|---|
/// | idx | the task's index in the set |
/// | perf | `C` (rt-app: calibration loops done; here the CPU work done, always `C`) |
/// | run | end(k) − start(k) (wall time of the job, preemptions included) |
/// | period | loop end − start(k), loop end = start(k+1), or end(k) for the last job |
/// | start, end | start(k) and the loop end, `CLOCK_MONOTONIC` µs |
/// | rel_st | start(k) − `base` |
/// | slack | release(k) + `T` − end(k) (negative: the job ran past the next release) |
/// | c_duration, c_period | `C`, `T` |
/// | wu_lat | start(k+1) − release(k+1): the wake-up that ends the loop (0 for the last job) |
pub fn rtapp_lines(task: &LogTask<'_>, jobs: &[JobRecord], base: u64) -> String {
    let mut out = String::new();
    let c = task.work.as_micros();
    let t = task.period.as_micros();
    let period_ns = crate::spin::nanos(task.period);
    for (k, j) in jobs.iter().enumerate() {
        if j.end == 0 {
            continue;
        }
        let next = jobs.get(k + 1);
        let loop_end = next.map_or(j.end, |n| n.start);
        let slack = (i128::from(j.release) + i128::from(period_ns) - i128::from(j.end)) / 1000;
        let _ = writeln!(
            out,
            "{}\t{c}\t{}\t{}\t{}\t{}\t{}\t{slack}\t{c}\t{t}\t{}",
            task.index,
            us(j.end.saturating_sub(j.start)),
            us(loop_end.saturating_sub(j.start)),
            us(j.start),
            us(loop_end),
            us(j.start.saturating_sub(base)),
            next.map_or(0, |n| us(latency(n))),
        );
    }
    out
}

/// The rt-app log file of a row's task.
pub fn rtapp_path(dir: &Path, row: &LogRow<'_>, task: &LogTask<'_>) -> PathBuf {
    dir.join(format!(
        "{}.{}-{}-{}.log",
        row.workload, row.backend, task.name, task.index
    ))
}

/// Writes one rt-app log per measured row and periodic task into `dir` (created if needed)
/// and returns the paths.
///
/// # Errors
/// [`BenchError::Io`] naming the directory or file.
pub fn write_rtapp(dir: &Path, rows: &[LogRow<'_>]) -> Result<Vec<PathBuf>, BenchError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| BenchError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut paths = Vec::new();
    for row in rows {
        let rounds = row.tasks.first().map_or(0, |t| t.job_log.len());
        // Each round's first release over all tasks.
        let bases: Vec<u64> = (0..rounds)
            .map(|r| {
                row.tasks
                    .iter()
                    .filter_map(|t| t.job_log.get(r)?.first().map(|j| j.release))
                    .min()
                    .unwrap_or(0)
            })
            .collect();
        for task in &row.tasks {
            let mut text = format!("{RTAPP_HEADER}\n");
            for (jobs, &base) in task.job_log.iter().zip(&bases) {
                text.push_str(&rtapp_lines(task, jobs, base));
            }
            let path = rtapp_path(dir, row, task);
            std::fs::write(&path, text).map_err(io(&path))?;
            paths.push(path);
        }
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Summary;
    use std::time::Duration;

    fn task(job_log: Vec<Vec<JobRecord>>) -> TaskRow {
        let s = Summary::of(&[1.0]).unwrap();
        TaskRow {
            name: "ctrl",
            params: String::new(),
            jobs: job_log.iter().flatten().filter(|j| j.end > 0).count() as u64,
            missed: 0,
            miss_ratio: s,
            start_p99: s,
            response_p99: s,
            response_max: s,
            lateness_max: None,
            preemptions: None,
            index: 1,
            priority: 97,
            period: Duration::from_millis(2),
            work: Duration::from_micros(100),
            job_log,
        }
    }

    fn job(release_us: u64, latency_us: u64, run_us: u64) -> JobRecord {
        let release = release_us * 1000;
        let start = release + latency_us * 1000;
        JobRecord {
            release,
            start,
            end: if run_us == 0 {
                0
            } else {
                start + run_us * 1000
            },
        }
    }

    #[test]
    fn cyclic_line_has_cyclictest_fields() {
        let t = task(vec![
            vec![job(1000, 7, 100), job(3000, 20, 100)],
            vec![job(9000, 12, 100)],
        ]);
        assert_eq!(
            cyclic_line(&t.log()),
            "T: 1 (  ctrl) P:97 I:2000 C:      3 Min:      7 Act:   12 Avg:   13 Max:      20"
        );
    }

    #[test]
    fn rtapp_columns_follow_the_loop() {
        // Second job overruns (runs 2100 µs > T); the third never completed.
        let jobs = [job(1000, 5, 100), job(3000, 10, 2100), job(5000, 200, 0)];
        let t = task(vec![jobs.to_vec()]);
        let lines = rtapp_lines(&t.log(), &jobs, 1_000_000);
        let rows: Vec<Vec<&str>> = lines.lines().map(|l| l.split('\t').collect()).collect();
        assert_eq!(rows.len(), 2, "{lines}");
        assert_eq!(RTAPP_HEADER.split('\t').count(), rows[0].len());
        // idx perf run period start end rel_st slack c_duration c_period wu_lat
        assert_eq!(
            rows[0],
            ["1", "100", "100", "2005", "1005", "3010", "5", "1895", "100", "2000", "10"]
        );
        assert_eq!(
            rows[1],
            ["1", "100", "2100", "2190", "3010", "5200", "2010", "-110", "100", "2000", "200"]
        );
    }

    #[test]
    fn rtapp_files_are_named_like_rt_app() {
        let dir = std::env::temp_dir().join(format!("sched-bench-rtapp-{}", std::process::id()));
        let s = Summary::of(&[1.0]).unwrap();
        let row = RtRow {
            backend: "kairos-edf".to_owned(),
            status: None,
            measured: true,
            workload: "mixed-latency",
            workers: 1,
            rounds: 1,
            duration: Duration::from_secs(1),
            background_tasks: 0,
            jobs: 1,
            released: 1,
            missed: 0,
            start_mean: s,
            start_p50: s,
            start_p99: s,
            start_p999: s,
            start_max: s,
            response_p99: s,
            miss_ratio: s,
            lateness_max: None,
            lateness_p99: None,
            cpu_ms_per_s: Some(s),
            simulated: false,
            preemptions: None,
            background_per_s: None,
            background_preemptions: None,
            start_latency: kairos::stats::Histogram::new(),
            tasks: vec![task(vec![vec![job(1000, 5, 100)]])],
        };
        let paths = write_rtapp(&dir, &rt_rows(&[row])).unwrap();
        assert_eq!(paths, [dir.join("mixed-latency.kairos-edf-ctrl-1.log")]);
        let text = std::fs::read_to_string(&paths[0]).unwrap();
        assert!(text.starts_with(RTAPP_HEADER), "{text}");
        assert_eq!(text.lines().count(), 2);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
