//! `sched-bench micro` end to end: one short round of one benchmark per policy flag.

use std::process::Command;

/// `--policy edf --record-latency off` builds kairos that way, says so on stdout and in the JSON
/// report, and the benchmark completes on both runtimes.
#[test]
fn micro_runs_under_the_requested_policy() {
    let dir = std::env::temp_dir().join(format!("sched-bench-micro-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("micro.json");
    let out = Command::new(env!("CARGO_BIN_EXE_sched-bench"))
        .args([
            "micro",
            "--rounds",
            "1",
            "--only",
            "chained_spawn",
            "--policy",
            "edf",
            "--record-latency",
            "off",
        ])
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("kairos policy: edf"), "{stdout}");
    assert!(stdout.contains("record_latency off"), "{stdout}");
    assert!(stdout.contains("chained_spawn"), "{stdout}");
    assert!(stderr.contains("kairos-edf, tokio"), "{stderr}");
    let report = std::fs::read_to_string(&json).unwrap();
    assert!(report.contains("\"kairos_policy\":\"edf\""), "{report}");
    assert!(
        report.contains("\"kairos_record_latency\":\"off\""),
        "{report}"
    );
    assert!(
        report.contains("\"benchmark\":\"chained_spawn\""),
        "{report}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
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
