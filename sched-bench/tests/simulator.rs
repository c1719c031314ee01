//! The simulator's two benchmarks through the binary: `compare --backends sim` (one row per
//! kairos policy on the periodic built-ins, in the executor rows' table, deterministic per seed)
//! and `schedulability` (a utilization sweep of random task sets, as a table, JSON and SVG).
//!
//! Tiny configurations (100–200 ms of virtual time, a few task sets) keep each test to a few
//! seconds in a debug build. The only thresholds are the simulator's exact results (EDF
//! schedules every set with U <= 1 on one worker; the same seed gives the same row), never a
//! real-time measurement.

mod common;

use common::{parse_document, parse_rows, rows_of, sched_bench_ok, Row};
use std::path::PathBuf;

const SIM_ROWS: [&str; 4] = ["sim-fifo", "sim-edf", "sim-priority", "sim-fair"];
const POLICY_COLUMNS: [&str; 4] = ["edf", "priority-rm", "fifo", "fair"];

/// A fresh directory for one test's files.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sched-bench-sim-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The cells of the Markdown table rows of `stdout` whose first cell is `first`.
fn table_row(stdout: &str, first: &str) -> Option<Vec<String>> {
    stdout.lines().find_map(|l| {
        let cells: Vec<String> = l
            .trim()
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_owned())
            .collect();
        (l.starts_with('|') && cells[0] == first).then_some(cells)
    })
}

/// The header cells of the first table of `stdout` whose first header cell is `first`.
fn header(stdout: &str, first: &str) -> Vec<String> {
    table_row(stdout, first).unwrap_or_else(|| panic!("no table headed {first}:\n{stdout}"))
}

/// The `compare` table's rows in order: backend names of the lines below the header.
fn backends(stdout: &str) -> Vec<String> {
    let mut lines = stdout.lines().skip_while(|l| !l.starts_with("| backend "));
    lines.next();
    lines.next(); // the alignment line
    lines
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .next()
                .unwrap()
                .trim()
                .to_owned()
        })
        .collect()
}

#[test]
fn compare_sim_prints_the_four_sim_rows() {
    let dir = temp_dir("rows");
    let json = dir.join("report.json");
    let stdout = sched_bench_ok([
        "compare",
        "--backend",
        "sim",
        "--workload",
        "mixed-latency",
        "--duration",
        "200ms",
        "--wide",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(backends(&stdout), SIM_ROWS, "{stdout}");
    let head = header(&stdout, "backend");
    let cpu = head
        .iter()
        .position(|h| h == "CPU ms/s")
        .expect("CPU column");
    let jobs = head.iter().position(|h| h == "jobs").unwrap();
    for name in SIM_ROWS {
        let row = table_row(&stdout, name).unwrap();
        assert_eq!(row.len(), head.len(), "{row:?}");
        assert_eq!(row[cpu], "-", "a simulated row has no CPU time: {row:?}");
        // 3 rounds (seeds 1..=3) of 200 ms: ctrl 100 jobs per round, sensor 25, audio 20,
        // video 10, telemetry 2 (releases at t0 + k·T < t0 + 200 ms).
        assert_eq!(row[jobs], "471", "{row:?}");
    }
    assert!(
        stdout.contains("note: sim-*: kairos' deterministic simulator"),
        "{stdout}"
    );
    assert!(stdout.contains("seeds 1..=3"), "{stdout}");
    // The machine's load does not matter to simulated rows: no line about it.
    assert!(!stdout.contains("other processes used"), "{stdout}");
    let rows = parse_rows(&std::fs::read_to_string(&json).unwrap());
    let names: Vec<&str> = rows.iter().map(|r| r["backend"].as_str()).collect();
    assert_eq!(names, SIM_ROWS);
    for r in &rows {
        assert_eq!(r["simulated"], "true", "{r:?}");
        assert!(!r.contains_key("cpu_ms_per_s"), "{r:?}");
    }
    let edf = rows.iter().find(|r| r["backend"] == "sim-edf").unwrap();
    assert_eq!(
        edf["missed"], "0",
        "EDF meets every deadline of mixed-latency: {edf:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Without --wide: a verdict line per row first, then the compact table, then short notes;
/// every line at most 120 characters (the simulator makes the numbers exact).
#[test]
fn default_output_is_verdicts_then_a_compact_table() {
    let stdout = sched_bench_ok([
        "compare",
        "--backend",
        "sim",
        "--workload",
        "mixed-latency",
        "--duration",
        "200ms",
    ]);
    for line in stdout.lines() {
        assert!(
            line.chars().count() <= 120,
            "{} chars: {line}",
            line.chars().count()
        );
    }
    let first: Vec<&str> = stdout.lines().take(SIM_ROWS.len()).collect();
    for (line, name) in first.iter().zip(SIM_ROWS) {
        assert!(line.starts_with(&format!("{name}: ")), "{stdout}");
        assert!(
            line.contains(" of 471 jobs missed; rel→poll p99 "),
            "{line}"
        );
    }
    assert!(
        first[1].starts_with("sim-edf: 0 of 471 jobs missed"),
        "EDF meets every deadline of mixed-latency: {stdout}"
    );
    assert_eq!(backends(&stdout), SIM_ROWS, "{stdout}");
    let head = header(&stdout, "backend");
    assert_eq!(
        head,
        [
            "backend",
            "jobs",
            "miss ratio",
            "rel→poll µs p50",
            "p99",
            "max",
            "worst lateness µs"
        ]
    );
    assert!(stdout.contains("--wide"), "{stdout}");
    assert!(
        !stdout.contains("| task"),
        "no per-task table by default: {stdout}"
    );
}

#[test]
fn executor_and_sim_rows_share_one_table() {
    let stdout = sched_bench_ok([
        "compare",
        "--backend",
        "executor,sim",
        "--workload",
        "mixed-latency-hogs",
        "--duration",
        "100ms",
        "--rounds",
        "1",
        "--wide",
    ]);
    let mut expected = vec![
        "kairos-fifo",
        "kairos-edf",
        "kairos-priority",
        "kairos-fair",
    ];
    expected.extend(SIM_ROWS);
    assert_eq!(backends(&stdout), expected, "{stdout}");
    let head = header(&stdout, "backend");
    let cpu = head.iter().position(|h| h == "CPU ms/s").unwrap();
    let vs_fifo = head.iter().position(|h| h == "bg vs fifo").unwrap();
    for name in expected {
        let row = table_row(&stdout, name).unwrap();
        assert_eq!(row.len(), head.len(), "{row:?}");
        let simulated = name.starts_with("sim-");
        assert_eq!(row[cpu] == "-", simulated, "{row:?}");
        // Each family is compared with its own fifo row.
        if name.ends_with("-fifo") {
            assert_eq!(row[vs_fifo], "+0.0%", "{row:?}");
        }
    }
    // Real rows were measured: the machine line is printed for them.
    assert!(stdout.contains("note: sim-*"), "{stdout}");
}

#[test]
fn the_same_seed_gives_the_same_row() {
    let dir = temp_dir("seed");
    let run = |seed: &str, name: &str| -> Row {
        let json = dir.join(name);
        sched_bench_ok([
            "compare",
            "--backend",
            "sim-edf",
            "--workload",
            "latency-under-load",
            "--duration",
            "100ms",
            "--rounds",
            "1",
            "--seed",
            seed,
            "--json",
            json.to_str().unwrap(),
        ]);
        let mut rows = parse_rows(&std::fs::read_to_string(json).unwrap());
        assert_eq!(rows.len(), 1);
        rows.remove(0)
    };
    let (a, b) = (run("5", "a.json"), run("5", "b.json"));
    assert_eq!(a, b, "seed 5 twice");
    assert_eq!(a["jobs"], "100", "a 1 ms task for 100 ms: {a:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sim_refuses_the_batch_workload_and_seed_needs_sim() {
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_sched-bench"))
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["compare", "--backend", "sim", "--workload", "mixed-small"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("periodic built-in workloads") && err.contains("mixed-small"),
        "{err}"
    );
    let out = run(&[
        "compare",
        "--backend",
        "executor",
        "--workload",
        "mixed-latency",
        "--seed",
        "3",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--seed"));
}

#[test]
fn schedulability_table_json_and_plot() {
    let dir = temp_dir("sweep");
    let json = dir.join("sweep.json");
    let svg = dir.join("sweep.svg");
    let stdout = sched_bench_ok([
        "schedulability",
        "--sets",
        "3",
        "--tasks",
        "5",
        "--horizon",
        "100ms",
        "--max-period",
        "20ms",
        "--speed-runs",
        "1",
        "--json",
        json.to_str().unwrap(),
        "--plot",
        svg.to_str().unwrap(),
    ]);
    // Table: U, mean U, sets, then one column per policy; one row per U from 0.50 to 1.00.
    let head = header(&stdout, "U");
    assert_eq!(head[..3], ["U", "mean U", "sets"]);
    assert_eq!(head[3..], POLICY_COLUMNS);
    let utilizations: Vec<String> = (0..=10)
        .map(|k| format!("{:.2}", 0.5 + 0.05 * k as f64))
        .collect();
    for u in &utilizations {
        let row = table_row(&stdout, u).unwrap_or_else(|| panic!("no row {u}:\n{stdout}"));
        assert_eq!(row.len(), head.len());
        let mean: f64 = row[1].parse().unwrap();
        let target: f64 = u.parse().unwrap();
        assert!(mean <= target + 1e-9 && mean > target - 0.1, "{row:?}");
        assert_eq!(row[2], "3");
        for cell in &row[3..] {
            let f: f64 = cell.parse().unwrap();
            assert!((0.0..=1.0).contains(&f), "{row:?}");
        }
        // EDF on one worker schedules every set with U <= 1.
        assert_eq!(row[3], "1.00", "EDF missed at U = {u}: {row:?}");
    }
    // Speed: one row per policy with a positive time.
    let speed = header(&stdout, "policy");
    assert_eq!(speed[1], "real ms per simulated s");
    for name in POLICY_COLUMNS {
        let row = table_row(&stdout, name).unwrap();
        let ms: f64 = row[1].split_whitespace().next().unwrap().parse().unwrap();
        assert!(ms > 0.0, "{row:?}");
    }
    // JSON: the points and the speed, with the same fractions.
    let doc = parse_document(&std::fs::read_to_string(&json).unwrap());
    assert_eq!(doc["command"], "schedulability");
    let array = |key: &str| -> Vec<Row> { rows_of(&doc[key]) };
    let points = array("points");
    assert_eq!(points.len(), 11);
    for p in &points {
        assert_eq!(p["edf"], "1", "{p:?}");
        assert_eq!(p["sets"], "3");
    }
    assert_eq!(array("speed").len(), 4);
    assert!(doc["tasks"] == 5 && doc["seed"] == 1, "{doc}");
    // SVG: one 2-pixel line per policy, each named in the legend.
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    let lines = svg
        .lines()
        .filter(|l| l.starts_with("<polyline") && l.contains("stroke-width=\"2\""))
        .count();
    assert_eq!(lines, POLICY_COLUMNS.len(), "{svg}");
    for name in POLICY_COLUMNS {
        assert!(svg.contains(name), "no {name} in the SVG");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn schedulability_is_deterministic_and_independent_of_jobs() {
    let run = |jobs: &str| {
        let stdout = sched_bench_ok([
            "schedulability",
            "--from",
            "0.9",
            "--sets",
            "4",
            "--tasks",
            "4",
            "--horizon",
            "60ms",
            "--max-period",
            "10ms",
            "--speed-runs",
            "0",
            "--jobs",
            jobs,
        ]);
        stdout
            .lines()
            .filter(|l| l.starts_with("| 0.9") || l.starts_with("| 1.0"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let (one, two) = (run("1"), run("2"));
    assert_eq!(one.len(), 3, "{one:?}");
    assert_eq!(one, two);
}
