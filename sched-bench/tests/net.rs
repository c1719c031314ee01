//! `sched-bench net` end to end: every scenario, tiny, on both runtimes; the output's structure
//! (tables, goal lines, JSON fields), never its figures.

mod common;

use std::process::Command;

/// `net --rounds 1 --duration 100ms ARGS --json FILE` (through `common::sched_bench_ok`):
/// stdout, and the parsed report.
fn net_ok(tag: &str, args: &[&str]) -> (String, serde_json::Value) {
    let dir = std::env::temp_dir().join(format!("sched-bench-net-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("net.json");
    let mut all = vec!["net", "--rounds", "1", "--duration", "100ms"];
    all.extend_from_slice(args);
    let json_arg = json.to_str().unwrap();
    all.extend_from_slice(&["--json", json_arg]);
    let stdout = common::sched_bench_ok(&all);
    let report = common::parse_document(&std::fs::read_to_string(&json).unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(report["command"], "net", "{report}");
    (stdout, report)
}

/// The goal line named `name`, which must end in `met` or `MISSED`.
fn goal_line<'a>(stdout: &'a str, name: &str) -> &'a str {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(&format!("goal: {name} kairos/tokio = ")))
        .unwrap_or_else(|| panic!("no goal line for {name}:\n{stdout}"));
    assert!(
        line.ends_with(": met") || line.ends_with(": MISSED"),
        "{line}"
    );
    line
}

/// Percentiles in a JSON object are ordered and come from recorded samples.
fn check_traffic(t: &serde_json::Value) {
    let p = |k: &str| t[k].as_f64().unwrap_or_else(|| panic!("{k} missing: {t}"));
    assert!(p("p50_ns") > 0.0, "{t}");
    assert!(p("p50_ns") <= p("p99_ns"), "{t}");
    assert!(p("p99_ns") <= p("p999_ns"), "{t}");
    assert!(p("p999_ns") <= p("max_ns"), "{t}");
    assert!(t["per_second"]["median"].as_f64().unwrap() > 0.0, "{t}");
}

/// echo and urgent: both runtimes answered requests, every table and goal line is there.
#[test]
fn echo_and_urgent_report_both_runtimes() {
    let (stdout, report) = net_ok(
        "traffic",
        &[
            "--only",
            "echo,urgent",
            "--connections",
            "4",
            "--bulk-connections",
            "2",
            "--control-connections",
            "1",
        ],
    );
    for header in [
        "| runtime ",
        "msg/s",
        "ctl p99 us",
        "| kairos-fifo ",
        "| kairos-edf ",
        "| tokio ",
    ] {
        assert!(stdout.contains(header), "{header}: {stdout}");
    }
    for name in [
        "echo throughput",
        "echo p99",
        "urgent control p99",
        "urgent bulk throughput",
    ] {
        goal_line(&stdout, name);
    }
    assert!(!stdout.contains("goal: idle"), "{stdout}");
    for side in ["kairos", "tokio"] {
        check_traffic(&report["echo"][side]);
        check_traffic(&report["urgent"][side]["bulk"]);
        check_traffic(&report["urgent"][side]["control"]);
        assert_eq!(
            report["echo"][format!("{side}_rounds")]
                .as_array()
                .unwrap()
                .len(),
            1
        );
    }
    assert_eq!(report["echo"]["connections"], 4, "{report}");
    assert_eq!(report["urgent"]["kairos_policy"], "edf", "{report}");
    assert_eq!(report["goals"].as_array().unwrap().len(), 4, "{report}");
    assert!(report.get("idle").is_none(), "{report}");
}

/// idle: one child per runtime holds the connections and reports its resident memory.
#[test]
fn idle_measures_each_runtime_in_a_child() {
    let (stdout, report) = net_ok("idle", &["--only", "idle", "--idle-connections", "50"]);
    goal_line(&stdout, "idle bytes/connection");
    assert!(stdout.contains("bytes/conn"), "{stdout}");
    let idle = &report["idle"];
    assert_eq!(idle["connections"], 50, "{report}");
    for side in ["kairos", "tokio"] {
        let round = &idle[format!("{side}_rounds")][0];
        assert_eq!(round["connections"], 50, "{report}");
        assert!(
            round["rss_connected"].as_u64().unwrap() >= round["rss_ready"].as_u64().unwrap(),
            "{report}"
        );
        assert!(round["rss_ready"].as_u64().unwrap() > 0, "{report}");
    }
    let goals = report["goals"].as_array().unwrap();
    assert_eq!(goals.len(), 1, "{report}");
    assert_eq!(goals[0]["name"], "idle bytes/connection", "{report}");
}

/// A scenario clap does not know is refused before anything runs.
#[test]
fn an_unknown_scenario_is_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_sched-bench"))
        .args(["net", "--only", "bulk"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("echo") && stderr.contains("idle"),
        "{stderr}"
    );
}
