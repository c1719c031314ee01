//! `sched-bench compare --workload FILE --cyclic --rtapp-log DIR` end to end on the kernel
//! backend and the kairos executor: one cyclictest-style line per task and row, one rt-app log
//! per task instance and row, with rt-app's header and complete data lines.
//!
//! No timing thresholds: only the shape of the output is checked.

mod common;

use common::compare_ok;
use std::collections::BTreeMap;
use std::ffi::OsStr;

/// rt-app's log header (as `rt_compare::logs::RTAPP_HEADER`).
const HEADER: &str =
    "#idx\tperf\trun\tperiod\tstart\tend\trel_st\tslack\tc_duration\tc_period\twu_lat";

/// Two periodic tasks for 200 ms, no class (SCHED_OTHER on the kernel backend: no privileges
/// needed).
const TWO_TASKS: &str = r#"
name = "logs"
duration = "200ms"

[[task]]
name = "fast"
period = "5ms"
work = "100us"

[[task]]
name = "slow"
period = "10ms"
work = "200us"
"#;

#[test]
fn cyclic_and_rtapp_logs_on_workload_files() {
    let dir = std::env::temp_dir().join(format!("sched-bench-logs-{}", std::process::id()));
    let logs = dir.join("rtapp");
    std::fs::create_dir_all(&dir).unwrap();
    let workload = dir.join("logs.toml");
    std::fs::write(&workload, TWO_TASKS).unwrap();
    let stdout = compare_ok(
        "kernel,executor",
        &workload,
        &[
            OsStr::new("--workers"),
            OsStr::new("2"),
            OsStr::new("--cyclic"),
            OsStr::new("--rtapp-log"),
            logs.as_os_str(),
        ],
    );

    // The cyclic block: `<backend>:` then its `T:` lines.
    let block = stdout
        .split_once("cyclictest-style summary")
        .unwrap_or_else(|| panic!("no cyclic block:\n{stdout}"))
        .1;
    let mut rows: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current = None;
    for line in block.lines().skip(1) {
        if line.starts_with("T:") {
            let backend: &String = current.as_ref().expect("a T: line before any row name");
            rows.get_mut(backend).unwrap().push(line.to_owned());
        } else if let Some(name) = line.strip_suffix(':').filter(|n| !n.contains(' ')) {
            rows.insert(name.to_owned(), Vec::new());
            current = Some(name.to_owned());
        } else {
            break;
        }
    }
    assert!(rows.contains_key("kernel"), "no kernel row: {rows:?}");
    assert!(
        rows.keys().any(|b| b.starts_with("kairos-")),
        "no kairos row: {rows:?}"
    );
    for (backend, lines) in &rows {
        assert_eq!(lines.len(), 2, "{backend}: {lines:?}");
        assert!(lines[0].contains("(  fast)"), "{backend}: {lines:?}");
        assert!(lines[1].contains("(  slow)"), "{backend}: {lines:?}");
        for l in lines {
            for field in ["P:", "I:", "C:", "Min:", "Act:", "Avg:", "Max:"] {
                assert!(l.contains(field), "{backend}: {l}");
            }
        }
    }

    // One log per row and task instance, rt-app's header, every data line complete.
    let files: Vec<String> = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(files.len(), 2 * rows.len(), "{files:?}");
    let columns = HEADER.split('\t').count();
    for backend in rows.keys() {
        for (thread, index) in [("fast", 0), ("slow", 1)] {
            let name = format!("logs.{backend}-{thread}-{index}.log");
            let text = std::fs::read_to_string(logs.join(&name))
                .unwrap_or_else(|e| panic!("{name}: {e}; files: {files:?}"));
            let mut lines = text.lines();
            assert_eq!(lines.next(), Some(HEADER), "{name}");
            let data: Vec<&str> = lines.collect();
            assert!(!data.is_empty(), "{name}: no data line");
            for l in data {
                let cells: Vec<&str> = l.split('\t').collect();
                assert_eq!(cells.len(), columns, "{name}: {l}");
                assert_eq!(cells[0], index.to_string(), "{name}: {l}");
                assert!(
                    cells.iter().all(|c| c.parse::<i64>().is_ok()),
                    "{name}: {l}"
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
