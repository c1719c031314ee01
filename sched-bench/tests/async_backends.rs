//! `sched-bench compare --backend executor,tokio --workload FILE` end to end: a small TOML
//! workload (2 periodic tasks and a hog, 200 ms) on the kairos executor (every built policy)
//! and tokio, through the binary and its JSON report.
//!
//! No timing thresholds: jobs ran, released = completed + running at end, misses <= jobs with a
//! deadline, the latency histograms are present, the hogs did work, the table was printed and
//! nothing panicked.

mod common;

use common::{compare_ok, int, parse_rows, Row};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Two periodic tasks (one with a deadline shorter than its period, one with a priority the
/// async backends ignore) and one background hog, for 200 ms.
const TWO_TASKS: &str = r#"
name = "two-tasks"
duration = "200ms"
hogs = 1

[[task]]
name = "fast"
period = "2ms"
work = "100us"

[[task]]
name = "slow"
period = "10ms"
deadline = "8ms"
work = "1ms"
priority = 70
"#;

fn temp_file(name: &str, contents: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sched-bench-async-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

/// Runs `compare --backend <backends>` on `toml` with 2 workers; returns stdout and the JSON
/// rows.
fn run_compare(name: &str, backends: &str, toml: &str) -> (String, Vec<Row>) {
    let workload = temp_file(&format!("{name}.toml"), toml);
    let json = temp_file(&format!("{name}.json"), "");
    let stdout = compare_ok(
        backends,
        &workload,
        &[
            OsStr::new("--workers"),
            OsStr::new("2"),
            OsStr::new("--json"),
            json.as_os_str(),
        ],
    );
    assert!(stdout.contains("| backend"), "no table printed:\n{stdout}");
    let text = std::fs::read_to_string(&json).unwrap();
    (stdout, parse_rows(&text))
}

fn find<'a>(rows: &'a [Row], backend: &str, class: &str) -> &'a Row {
    rows.iter()
        .find(|r| r["backend"] == backend && r["class"] == class)
        .unwrap_or_else(|| panic!("no {backend}/{class} row in {rows:?}"))
}

/// The checks every async task row must pass.
fn assert_tasks_ran(row: &Row) {
    assert_eq!(row["status"], "ok", "{row:?}");
    assert_eq!(int(row, "threads"), 2, "{row:?}");
    let released = int(row, "released");
    let completed = int(row, "completed");
    assert!(completed > 0, "no job completed: {row:?}");
    assert_eq!(
        released,
        completed + int(row, "running_at_end"),
        "released != completed + running at end: {row:?}"
    );
    assert!(
        int(row, "missed") <= int(row, "jobs_with_deadline"),
        "{row:?}"
    );
    // Both tasks have a deadline (fast: its period), so every released job has one.
    assert_eq!(int(row, "jobs_with_deadline"), released, "{row:?}");
    for h in ["start_latency", "response"] {
        for q in ["p50", "p99", "max"] {
            assert!(
                row.contains_key(&format!("{h}_{q}_ns")),
                "no {h} {q}: {row:?}"
            );
        }
    }
    for key in ["lateness_p50_ns", "lateness_p99_ns", "lateness_max_ns"] {
        assert!(row.contains_key(key), "no {key}: {row:?}");
    }
    assert!(int(row, "cpu_ns") > 0, "{row:?}");
}

fn assert_hogs_ran(row: &Row) {
    assert_eq!(int(row, "threads"), 1, "{row:?}");
    assert!(int(row, "units") > 0, "the hog did no work: {row:?}");
    assert!(int(row, "cpu_ns") > 0, "{row:?}");
}

/// `executor` stands for these, in this order.
const KAIROS: [&str; 4] = [
    "kairos-fifo",
    "kairos-edf",
    "kairos-priority",
    "kairos-fair",
];

#[test]
fn executor_and_tokio_run_a_toml_workload() {
    let (stdout, rows) = run_compare("both", "executor,tokio", TWO_TASKS);
    for backend in KAIROS.into_iter().chain(["tokio"]) {
        assert_tasks_ran(find(&rows, backend, "tasks"));
        assert_hogs_ran(find(&rows, backend, "hogs"));
    }
    assert_eq!(rows.len(), 10, "{rows:?}");
    // kairos reports cooperative preemptions (none under Fifo, which never asks a task to
    // yield); tokio has none to report.
    for backend in KAIROS {
        for class in ["tasks", "hogs"] {
            assert!(find(&rows, backend, class).contains_key("preemptions"));
        }
    }
    assert_eq!(int(find(&rows, "kairos-fifo", "tasks"), "preemptions"), 0);
    assert!(!find(&rows, "tokio", "tasks").contains_key("preemptions"));
    assert!(
        stdout.contains("each task runs with its priority"),
        "no note about the applied scheduling fields:\n{stdout}"
    );
    assert!(
        stdout
            .contains("tokio: has no per-task scheduling parameters, so these fields are ignored")
            && stdout.contains("slow (priority 70)"),
        "no note about the priority tokio ignores:\n{stdout}"
    );
}

#[test]
fn kairos_fifo_by_name_runs_a_file_alone() {
    let (_, rows) = run_compare("fifo", "kairos-fifo", TWO_TASKS);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_tasks_ran(find(&rows, "kairos-fifo", "tasks"));
}

#[test]
fn builtin_workloads_still_run_on_executor_and_tokio() {
    let out = Command::new(env!("CARGO_BIN_EXE_sched-bench"))
        .args([
            "compare",
            "--backends",
            "executor,tokio",
            "--workload",
            "mixed-small",
            "--rounds",
            "1",
        ])
        .output()
        .expect("run sched-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "sched-bench failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("kairos-fifo") && stdout.contains("tokio"),
        "{stdout}"
    );
}

/// rt-app's `lock` / `unlock` (issue 13, fixture `mutex.json`: a control loop and two logger
/// instances sharing one mutex, 1 s) on the kernel backend (a `PTHREAD_PRIO_INHERIT` mutex),
/// kairos (an inheriting `kairos::sync::Mutex`) and tokio (its `Mutex`): every backend ran all
/// three instances to the end of the run with the same per-job accounting (released =
/// completed + running at end; misses within the jobs with a deadline), and the file's lock
/// events are listed by `--check`.
#[test]
fn mutex_file_runs_on_kernel_kairos_and_tokio() {
    let workload = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rt-app/mutex.json");
    let json = temp_file("mutex-report.json", "");
    compare_ok(
        "kernel,kairos-edf,kairos-classes,tokio",
        &workload,
        &[
            OsStr::new("--workers"),
            OsStr::new("2"),
            OsStr::new("--json"),
            json.as_os_str(),
        ],
    );
    let rows = parse_rows(&std::fs::read_to_string(&json).unwrap());
    for (backend, class) in [
        ("kernel", "SCHED_OTHER"),
        ("kairos-edf", "tasks"),
        ("kairos-classes", "tasks"),
        ("tokio", "tasks"),
    ] {
        let row = find(&rows, backend, class);
        assert_eq!(row["status"], "ok", "{row:?}");
        assert_eq!(int(row, "threads"), 3, "{row:?}");
        let completed = int(row, "completed");
        assert!(completed > 0, "no job completed: {row:?}");
        assert_eq!(
            int(row, "released"),
            completed + int(row, "running_at_end"),
            "{row:?}"
        );
        assert!(
            int(row, "missed") <= int(row, "jobs_with_deadline"),
            "{row:?}"
        );
    }
    let out = Command::new(env!("CARGO_BIN_EXE_sched-bench"))
        .args(["workloads", "--check"])
        .arg(&workload)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("lock shared") && stdout.contains("unlock shared"),
        "{stdout}"
    );
}

/// rt-app's `barrier` (fixture `barrier.json`: a 2 ms task and a 10 ms task meeting at one
/// barrier every loop, 1 s) on the kernel backend, kairos and tokio: per backend the two
/// tasks' rt-app logs (one line per job) have the same number of jobs give or take the one in
/// progress, where without the barrier the fast task would have about five times as many.
#[test]
fn barrier_file_keeps_tasks_in_step_on_every_backend() {
    let (logs, jobs) = jobs_per_log("barrier.json", "barrier");
    for backend in ["kernel", "kairos-edf", "tokio"] {
        let fast = jobs(&format!("{backend}-fast-0"));
        let slow = jobs(&format!("{backend}-slow-1"));
        assert!(slow > 0, "{backend}: no slow job");
        assert!(
            fast.abs_diff(slow) <= 1,
            "{backend}: fast {fast}, slow {slow}"
        );
    }
    let _ = std::fs::remove_dir_all(&logs);
}

/// rt-app's `suspend` / `resume` (fixture `suspend.json`: a 5 ms driver resumes a worker that
/// suspends itself before each job, 1 s) on the kernel backend, kairos and tokio: per backend
/// the worker completed some jobs and at most one more than the driver (each worker job needs
/// its own resume), where without the suspension it would complete about eight times as many.
#[test]
fn suspended_worker_follows_its_driver_on_every_backend() {
    let (logs, jobs) = jobs_per_log("suspend.json", "suspend");
    for backend in ["kernel", "kairos-edf", "tokio"] {
        let driver = jobs(&format!("{backend}-driver-0"));
        let worker = jobs(&format!("{backend}-worker-1"));
        assert!(worker > 0, "{backend}: the worker was never resumed");
        assert!(
            worker <= driver + 1,
            "{backend}: driver {driver}, worker {worker}"
        );
    }
    let _ = std::fs::remove_dir_all(&logs);
}

/// Runs `fixture` (an rt-app file in `tests/fixtures/rt-app`) on the kernel backend, kairos and
/// tokio with `--rtapp-log`, and returns a function giving the number of jobs in one task
/// instance's log (`<backend>-<task>[-<instance>]-<thread index>`).
fn jobs_per_log(fixture: &str, tag: &str) -> (PathBuf, impl Fn(&str) -> usize) {
    let workload = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/rt-app")
        .join(fixture);
    let logs = std::env::temp_dir().join(format!("sched-bench-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&logs);
    compare_ok(
        "kernel,kairos-edf,tokio",
        &workload,
        &[
            OsStr::new("--workers"),
            OsStr::new("2"),
            OsStr::new("--rtapp-log"),
            logs.as_os_str(),
        ],
    );
    let stem = fixture.trim_end_matches(".json").to_owned();
    let dir = logs.clone();
    (logs, move |instance: &str| {
        let file = format!("{stem}.{instance}.log");
        let text =
            std::fs::read_to_string(dir.join(&file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        text.lines().skip(1).count()
    })
}

/// rt-app's `wait` and `broad` (fixture `cond.json`: a 5 ms producer broadcasts to two consumer
/// instances waiting on a condition with a shared mutex, 1 s) on the kernel backend (a
/// `pthread_cond_t` with a `PTHREAD_PRIO_INHERIT` mutex), kairos and tokio (their `Notify` and
/// mutex): per backend both consumer instances completed jobs (each broadcast wakes every
/// waiter) and neither more than one beyond the producer (each consumer job needs its own
/// broadcast), where without the wait a consumer would complete about twelve times as many.
#[test]
fn broadcast_wakes_every_waiting_consumer_on_every_backend() {
    let (logs, jobs) = jobs_per_log("cond.json", "cond");
    for backend in ["kernel", "kairos-edf", "tokio"] {
        let producer = jobs(&format!("{backend}-producer-0"));
        for i in ["0-1", "1-2"] {
            let consumer = jobs(&format!("{backend}-consumer-{i}"));
            assert!(consumer > 0, "{backend}: consumer {i} was never woken");
            assert!(
                consumer <= producer + 1,
                "{backend}: producer {producer}, consumer {i} {consumer}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&logs);
}

/// rt-app's `sync` and `signal` (fixture `sync.json`: two tasks wake each other with `sync`
/// on one condition, and a ticker signals a condition nobody waits on) on the kernel backend,
/// kairos and tokio: per backend the two take turns, so their job counts differ by at most
/// one, and neither is stuck (a lost signal would leave both waiting until the end).
#[test]
fn sync_makes_two_tasks_take_turns_on_every_backend() {
    let (logs, jobs) = jobs_per_log("sync.json", "sync");
    for backend in ["kernel", "kairos-edf", "tokio"] {
        let ping = jobs(&format!("{backend}-ping-0"));
        let pong = jobs(&format!("{backend}-pong-1"));
        assert!(ping > 1 && pong > 1, "{backend}: ping {ping}, pong {pong}");
        assert!(
            ping.abs_diff(pong) <= 1,
            "{backend}: ping {ping}, pong {pong}"
        );
        assert!(
            jobs(&format!("{backend}-ticker-2")) > 0,
            "{backend}: ticker"
        );
    }
    let _ = std::fs::remove_dir_all(&logs);
}
