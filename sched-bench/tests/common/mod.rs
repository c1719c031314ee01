//! Helpers shared by the integration tests that run `sched-bench compare --json` and read its
//! report back.
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::HashMap;

/// One report row: column name to value, as text (strings as they are, numbers as Rust prints
/// them, `null` as `null`).
pub type Row = HashMap<String, String>;

/// The report layout version the tests expect (`sched-bench/src/json.rs`).
pub const SCHEMA_VERSION: u64 = 2;

/// Parses a `--json` report with serde_json and checks that it is an object carrying
/// `schema_version` and `command`.
pub fn parse_document(text: &str) -> serde_json::Value {
    let doc: serde_json::Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    assert_eq!(doc["schema_version"], SCHEMA_VERSION, "{text}");
    assert!(doc["command"].is_string(), "no command in {text}");
    doc
}

/// `value`'s flat objects as [`Row`]s; panics if it is not an array of flat objects.
pub fn rows_of(value: &serde_json::Value) -> Vec<Row> {
    let items = value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"));
    items
        .iter()
        .map(|item| {
            let obj = item
                .as_object()
                .unwrap_or_else(|| panic!("not an object: {item}"));
            obj.iter()
                .map(|(k, v)| {
                    let text = match v {
                        serde_json::Value::String(s) => s.clone(),
                        serde_json::Value::Number(n) => match (n.as_u64(), n.as_i64()) {
                            (Some(u), _) => u.to_string(),
                            (None, Some(i)) => i.to_string(),
                            _ => n.as_f64().unwrap().to_string(),
                        },
                        serde_json::Value::Null => "null".to_owned(),
                        serde_json::Value::Bool(b) => b.to_string(),
                        other => panic!("{k} is not flat: {other}"),
                    };
                    (k.clone(), text)
                })
                .collect()
        })
        .collect()
}

/// Parses a report whose table rows are under `rows` (every `compare` report).
pub fn parse_rows(text: &str) -> Vec<Row> {
    rows_of(&parse_document(text)["rows"])
}

pub fn int(row: &Row, key: &str) -> u64 {
    row.get(key)
        .unwrap_or_else(|| panic!("no {key} in {row:?}"))
        .parse()
        .unwrap_or_else(|_| panic!("{key} is not an integer in {row:?}"))
}

/// Runs `sched-bench` with `args`, asserts that it succeeded without a panic, and returns its
/// stdout.
pub fn sched_bench_ok<I, S>(args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sched-bench"))
        .args(args)
        .output()
        .expect("run sched-bench");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "sched-bench failed: {stderr}\n{stdout}"
    );
    assert!(!stderr.contains("panicked"), "a panic: {stderr}");
    stdout
}

/// `sched-bench compare --backend <backends> --workload <workload> <extra...>`, through
/// [`sched_bench_ok`].
pub fn compare_ok(
    backends: &str,
    workload: &std::path::Path,
    extra: &[&std::ffi::OsStr],
) -> String {
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "compare".as_ref(),
        "--backend".as_ref(),
        backends.as_ref(),
        "--workload".as_ref(),
        workload.as_os_str(),
    ];
    args.extend_from_slice(extra);
    sched_bench_ok(args)
}
