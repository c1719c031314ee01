//! `sched-bench micro` end to end: one short round of one benchmark per policy flag, and
//! `--peer none` (kairos alone).

use std::process::Command;

/// Runs `sched-bench micro ARGS --json FILE` in a fresh temporary folder named after `tag`;
/// returns stdout, stderr and the JSON report (parsed, its schema version checked), after
/// checking the run succeeded.
fn micro_ok(tag: &str, args: &[&str]) -> (String, String, serde_json::Value) {
    let dir = std::env::temp_dir().join(format!("sched-bench-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("micro.json");
    let out = Command::new(env!("CARGO_BIN_EXE_sched-bench"))
        .arg("micro")
        .args(args)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let text = std::fs::read_to_string(&json).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let report: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    assert!(report.is_object(), "{report}");
    assert_eq!(report["schema_version"], 2, "{report}");
    assert_eq!(report["command"], "micro", "{report}");
    (stdout, stderr, report)
}

/// `--policy edf --record-latency off` builds kairos that way, says so on stdout and in the JSON
/// report, and the benchmark completes on both runtimes.
#[test]
fn micro_runs_under_the_requested_policy() {
    let (stdout, stderr, report) = micro_ok(
        "micro",
        &[
            "--rounds",
            "1",
            "--only",
            "chained_spawn",
            "--policy",
            "edf",
            "--record-latency",
            "off",
        ],
    );
    assert!(stdout.contains("kairos policy: edf"), "{stdout}");
    assert!(stdout.contains("record_latency off"), "{stdout}");
    assert!(stdout.contains("chained_spawn"), "{stdout}");
    assert!(stderr.contains("kairos-edf, tokio"), "{stderr}");
    assert_eq!(report["kairos_policy"], "edf", "{report}");
    assert_eq!(report["peer"], "tokio", "{report}");
    assert_eq!(report["kairos_record_latency"], "off", "{report}");
    let row = &report["results"][0];
    assert_eq!(row["benchmark"], "chained_spawn", "{report}");
    assert!(
        row["ratio_tokio_over_kairos"].as_f64().unwrap() > 0.0,
        "{report}"
    );
    let kairos = &row["kairos"];
    assert!(
        kairos["min"].as_f64() <= kairos["median"].as_f64(),
        "{report}"
    );
}

/// A policy clap does not know is refused with the valid values, before anything runs.
#[test]
fn micro_refuses_an_unknown_policy() {
    let out = Command::new(env!("CARGO_BIN_EXE_sched-bench"))
        .args(["micro", "--policy", "rr"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("fifo") && stderr.contains("edf") && stderr.contains("fair"),
        "{stderr}"
    );
}

/// `--peer none` builds no tokio runtime: progress, table and JSON report name kairos only, and
/// the JSON stays one well-formed object that says `"peer":"none"`.
#[test]
fn micro_peer_none_runs_kairos_alone() {
    let (stdout, stderr, report) = micro_ok(
        "micro-none",
        &[
            "--peer",
            "none",
            "--rounds",
            "1",
            "--workers",
            "1",
            "--only",
            "chained_spawn,ping_pong",
            "--policy",
            "fair",
        ],
    );
    assert!(stdout.contains("no peer"), "{stdout}");
    assert!(
        stdout.contains("chained_spawn") && stdout.contains("ping_pong"),
        "{stdout}"
    );
    assert!(stdout.contains("kairos median"), "{stdout}");
    assert!(!stdout.contains("tokio"), "{stdout}");
    assert!(stderr.contains("(kairos-fair)"), "{stderr}");
    assert!(!stderr.contains("tokio"), "{stderr}");
    assert_eq!(report["peer"], "none", "{report}");
    let benches: Vec<&str> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["benchmark"].as_str().unwrap())
        .collect();
    assert!(benches.contains(&"ping_pong"), "{report}");
    assert!(!report.to_string().contains("tokio"), "{report}");
}

/// `timer_precision` and `spawn_sleep` are comparisons with tokio: `--peer none` refuses them
/// with a message, before anything runs.
#[test]
fn micro_peer_none_refuses_the_tokio_comparisons() {
    for bench in ["timer_precision", "spawn_sleep"] {
        let out = Command::new(env!("CARGO_BIN_EXE_sched-bench"))
            .args(["micro", "--peer", "none", "--only", bench])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{bench}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("--peer none") && stderr.contains(bench),
            "{stderr}"
        );
    }
}

/// The rows on the runtimes' own sync primitives (issue 13, and `worker_pool_ac`: tokio on
/// `async-channel`) run on kairos and tokio (each run checks its result and fails otherwise:
/// values back in order, the counter exact, the messages' sum exact), have a
/// JSON row each, and the default table fits 120 columns; `--wide` adds the counter columns.
#[test]
fn sync_rows_run_and_the_default_table_fits_120_columns() {
    let rows = "ping_pong_mpsc,ping_pong_oneshot,mutex_contention,worker_pool_ac";
    let (stdout, _, report) = micro_ok("micro-sync", &["--rounds", "1", "--only", rows]);
    let results = report["results"].as_array().unwrap();
    let names: Vec<&str> = results
        .iter()
        .map(|r| r["benchmark"].as_str().unwrap())
        .collect();
    assert_eq!(names, rows.split(',').collect::<Vec<_>>(), "{report}");
    for r in results {
        assert!(r["kairos"]["median"].as_f64().unwrap() > 0.0, "{r}");
        assert!(r["tokio"]["median"].as_f64().unwrap() > 0.0, "{r}");
    }
    let widest = stdout.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    assert!(widest <= 120, "{widest} columns:\n{stdout}");
    assert!(!stdout.contains("steals/rd"), "{stdout}");
    let (wide, _, _) = micro_ok(
        "micro-sync-wide",
        &["--rounds", "1", "--only", "ping_pong_mpsc", "--wide"],
    );
    assert!(wide.contains("steals/rd"), "{wide}");
}

/// The `inversion` row runs its four runs (Edf and Priority, inheritance off and on), prints
/// its table and one goal line per policy, and writes its rows to the JSON report.
#[test]
fn inversion_row_runs_four_runs_with_a_goal_line_per_policy() {
    let (stdout, _, report) = micro_ok(
        "micro-inversion",
        &["--only", "inversion", "--timer-secs", "1"],
    );
    let rows = report["inversion"].as_array().expect("inversion rows");
    assert_eq!(rows.len(), 4, "{report}");
    for r in rows {
        assert!(r["requests"].as_u64().unwrap() > 0, "{r}");
        assert!(
            r["p50_us"].as_u64().unwrap() <= r["max_us"].as_u64().unwrap(),
            "{r}"
        );
    }
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.starts_with("goal: inversion"))
            .count(),
        2,
        "{stdout}"
    );
}
