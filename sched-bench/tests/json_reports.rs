//! Every subcommand that writes `--json` writes one document serde_json parses, carrying
//! `schema_version` and the `command` that wrote it (issue 19's acceptance). Each runs on a
//! tiny configuration; the checks are on the document's shape, never on timings.

mod common;

use common::{parse_document, rows_of};
use std::path::PathBuf;
use std::process::Command;

/// A fresh temporary folder for one test.
fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sched-bench-json-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `sched-bench ARGS --json FILE` and returns the parsed, version-checked document.
fn report(tag: &str, args: &[&str]) -> serde_json::Value {
    let dir = temp_dir(tag);
    let json = dir.join("report.json");
    let out = Command::new(env!("CARGO_BIN_EXE_sched-bench"))
        .args(args)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: {stderr}\n{stdout}");
    let doc = parse_document(&std::fs::read_to_string(&json).unwrap());
    let _ = std::fs::remove_dir_all(&dir);
    doc
}

/// Two periodic tasks for 100 ms, as a workload file.
const TOML: &str = r#"
name = "json-tiny"
duration = "100ms"

[[task]]
name = "fast"
period = "2ms"
work = "100us"

[[task]]
name = "slow"
period = "10ms"
deadline = "8ms"
work = "1ms"
"#;

#[test]
fn micro_report() {
    let doc = report(
        "micro",
        &[
            "micro",
            "--rounds",
            "1",
            "--workers",
            "1",
            "--only",
            "chained_spawn,timer_precision",
            "--timer-secs",
            "1",
        ],
    );
    assert_eq!(doc["command"], "micro");
    assert_eq!(doc["results"][0]["benchmark"], "chained_spawn", "{doc}");
    // The standalone benchmark's rows sit in the same document.
    // Four rows, and a fifth where cyclictest is installed and may raise its priority.
    let timer = rows_of(&doc["timer_precision"]);
    assert!(timer.len() == 4 || timer.len() == 5, "{doc}");
    if let Some(cyclic) = timer.get(4) {
        assert!(cyclic["row"].starts_with("cyclictest"), "{doc}");
    }
}

#[test]
fn compare_reports_of_every_kind() {
    // A batch built-in.
    let batch = report(
        "batch",
        &[
            "compare",
            "--workload",
            "mixed-small",
            "--backends",
            "kairos-fifo",
            "--rounds",
            "1",
        ],
    );
    assert_eq!(batch["command"], "compare");
    let row = &batch["rows"][0];
    assert_eq!(row["backend"], "kairos-fifo", "{batch}");
    let ms = &row["total_ms"];
    assert!(ms["min"].as_f64() <= ms["median"].as_f64(), "{batch}");
    assert!(
        row["counters_per_round"]["polls"].as_u64() > Some(0),
        "{batch}"
    );
    // A periodic built-in, with the mean the summary tables use.
    let periodic = report(
        "periodic",
        &[
            "compare",
            "--workload",
            "mixed-latency",
            "--backends",
            "sim-edf",
            "--duration",
            "100ms",
            "--rounds",
            "1",
        ],
    );
    let rows = rows_of(&periodic["rows"]);
    assert_eq!(rows[0]["backend"], "sim-edf");
    let mean: f64 = rows[0]["start_latency_mean_us"].parse().unwrap();
    assert!(mean >= 0.0, "{rows:?}");
    // A workload file on the kernel backend alone, and on an async backend.
    let dir = temp_dir("file");
    let file = dir.join("tiny.toml");
    std::fs::write(&file, TOML).unwrap();
    let file = file.to_str().unwrap();
    for backends in ["kernel", "kairos-edf"] {
        let doc = report(
            &format!("file-{backends}"),
            &["compare", "--workload", file, "--backends", backends],
        );
        let rows = rows_of(&doc["rows"]);
        assert!(!rows.is_empty(), "{doc}");
        assert!(rows.iter().all(|r| r.contains_key("class")), "{doc}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn schedulability_report() {
    let doc = report(
        "sched",
        &[
            "schedulability",
            "--from",
            "0.5",
            "--to",
            "0.5",
            "--sets",
            "1",
            "--tasks",
            "2",
            "--horizon",
            "100ms",
            "--speed-runs",
            "0",
        ],
    );
    assert_eq!(doc["command"], "schedulability");
    assert_eq!(rows_of(&doc["points"]).len(), 1, "{doc}");
    assert_eq!(doc["tasks"], 2);
}

#[test]
fn alloc_report() {
    let doc = report("alloc", &["alloc", "--rounds", "1", "--only", "pair"]);
    assert_eq!(doc["command"], "alloc");
    let results = doc["results"].as_array().unwrap();
    assert!(!results.is_empty(), "{doc}");
    // A summary is serialised from the Summary struct the tables print.
    for r in results {
        let s = &r["summary"];
        assert!(s["min"].as_f64() <= s["median"].as_f64(), "{r}");
        assert!(s["median"].as_f64() <= s["max"].as_f64(), "{r}");
    }
}
