//! `sched-bench micro --go` end to end: the Go peer (`sched-bench/peers/go`) is built and runs one
//! round of each of its rows, and sched-bench's report carries what it parsed from the peer's
//! JSON lines. When `go` is not on the PATH the Go tests print a note and pass (nothing to run);
//! the skip path itself is tested with a PATH that has no `go`. No timing is asserted, only that
//! every row produced its figures.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether an executable `go` is on this process's PATH.
fn go_on_path() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|dir| dir.join("go").is_file()))
}

/// A fresh temporary folder named after `tag`.
fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sched-bench-go-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `sched-bench micro ARGS --json FILE` (with `path` as PATH if given) and returns stdout
/// and the parsed report, after checking the run succeeded.
fn micro(tag: &str, args: &[&str], path: Option<&Path>) -> (String, serde_json::Value) {
    let dir = temp_dir(tag);
    let json = dir.join("micro.json");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sched-bench"));
    cmd.arg("micro").args(args).arg("--json").arg(&json);
    if let Some(path) = path {
        cmd.env("PATH", path);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let text = std::fs::read_to_string(&json).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let report = common::parse_document(&text);
    assert_eq!(report["command"], "micro", "{report}");
    (stdout, report)
}

/// Every throughput row, one round each: the Go peer ran and each row has a Go median, a ratio,
/// and the second table lists it.
#[test]
fn go_peer_runs_each_throughput_row() {
    if !go_on_path() {
        eprintln!("note: go is not on the PATH; the Go peer test is skipped");
        return;
    }
    let rows = "spawn_many,yield_many,ping_pong,chained_spawn,worker_pool";
    let (stdout, report) = micro(
        "rounds",
        &["--go", "--rounds", "1", "--only", rows, "--peer", "none"],
        None,
    );
    assert_eq!(report["go_peer"], "ran", "{report}");
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 5, "{report}");
    for (row, name) in results.iter().zip(rows.split(',')) {
        assert_eq!(row["benchmark"], name, "{report}");
        let go = row["go"]["median"].as_f64().unwrap();
        assert!(go > 0.0 && go.is_finite(), "{report}");
        assert!(
            row["ratio_go_over_kairos"].as_f64().unwrap() > 0.0,
            "{report}"
        );
        assert!(stdout.contains(&format!("| {name}")), "{stdout}");
    }
    assert!(stdout.contains("go/kairos"), "{stdout}");
}

/// The two rows with their own tables: spawn_sleep gets a Go row with bytes per goroutine, and
/// periodic a Go row with every job of its one second recorded.
#[test]
fn go_peer_runs_spawn_sleep_and_periodic() {
    if !go_on_path() {
        eprintln!("note: go is not on the PATH; the Go peer test is skipped");
        return;
    }
    let (stdout, report) = micro(
        "own-tables",
        &[
            "--go",
            "--only",
            "spawn_sleep,periodic",
            "--spawn-sleep-tasks",
            "10000",
            "--timer-secs",
            "1",
        ],
        None,
    );
    let sleeps = report["spawn_sleep"].as_array().unwrap();
    let go = sleeps.last().unwrap();
    assert_eq!(go["row"], "go (goroutines)", "{report}");
    assert_eq!(go["tasks"], 10_000, "{report}");
    assert!(go["net_bytes_per_task"].as_f64().unwrap() > 0.0, "{report}");
    let periodic = report["periodic"].as_array().unwrap();
    assert_eq!(periodic.len(), 2, "{report}");
    assert_eq!(periodic[1]["row"], "go", "{report}");
    for row in periodic {
        assert_eq!(row["jobs_expected"], 1000, "{report}");
        let recorded = row["jobs_recorded"].as_u64().unwrap();
        assert!(recorded > 0 && recorded <= 1000, "{report}");
        assert!(row["p50_ns"].as_u64().unwrap() <= row["max_ns"].as_u64().unwrap());
    }
    assert!(stdout.contains("go p99"), "{stdout}");
}

/// Without `go` on the PATH, `--go` is a one-line note and the rest of the run goes on.
#[test]
fn go_flag_without_go_is_skipped_with_a_note() {
    let empty = temp_dir("no-go-path");
    let (stdout, report) = micro(
        "no-go",
        &["--go", "--rounds", "1", "--only", "chained_spawn"],
        Some(&empty),
    );
    std::fs::remove_dir_all(&empty).unwrap();
    assert!(
        stdout.contains("go is not on the PATH: the Go peer is skipped"),
        "{stdout}"
    );
    assert_eq!(report["go_peer"], "go not on the PATH", "{report}");
    let row = &report["results"][0];
    assert_eq!(row["benchmark"], "chained_spawn", "{report}");
    assert!(row.get("go").is_none(), "{report}");
    assert!(row["tokio"]["median"].as_f64().unwrap() > 0.0, "{report}");
}

/// `--pin` reaches the kairos runtime and the report says so.
#[test]
fn pin_applies_to_the_kairos_runtime() {
    let (stdout, report) = micro(
        "pin",
        &[
            "--pin",
            "--rounds",
            "1",
            "--only",
            "chained_spawn",
            "--peer",
            "none",
        ],
        None,
    );
    assert_eq!(report["kairos_workers"], "pinned", "{report}");
    assert!(stdout.contains("workers pinned"), "{stdout}");
}
