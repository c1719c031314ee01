//! Helpers shared by the integration tests that run `sched-bench compare --json` and read its
//! report back.
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::HashMap;

/// One report row: column name to value, as text.
pub type Row = HashMap<String, String>;

/// Parses the report: an array of flat objects whose values are strings, numbers or null.
pub fn parse_rows(text: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut chars = text.trim().chars().peekable();
    assert_eq!(chars.next(), Some('['), "{text}");
    let string = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| -> String {
        let mut s = String::new();
        while let Some(c) = chars.next() {
            match c {
                '"' => return s,
                '\\' => s.push(chars.next().unwrap()),
                c => s.push(c),
            }
        }
        panic!("unterminated string in {text}");
    };
    loop {
        match chars.next() {
            Some('{') => {
                let mut row = Row::new();
                loop {
                    match chars.next() {
                        Some('"') => {
                            let key = string(&mut chars);
                            assert_eq!(chars.next(), Some(':'));
                            let value = if chars.peek() == Some(&'"') {
                                chars.next();
                                string(&mut chars)
                            } else {
                                let mut v = String::new();
                                while let Some(&c) = chars.peek() {
                                    if c == ',' || c == '}' {
                                        break;
                                    }
                                    v.push(c);
                                    chars.next();
                                }
                                v
                            };
                            row.insert(key, value);
                        }
                        Some(',') => {}
                        Some('}') => break,
                        other => panic!("unexpected {other:?} in {text}"),
                    }
                }
                rows.push(row);
            }
            Some(',') => {}
            Some(']') => return rows,
            other => panic!("unexpected {other:?} in {text}"),
        }
    }
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
