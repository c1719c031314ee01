//! `sched-bench micro` end to end: one short round of one benchmark per policy flag, and
//! `--peer none` (kairos alone).

use std::process::Command;

/// Runs `sched-bench micro ARGS --json FILE` in a fresh temporary folder named after `tag`;
/// returns stdout, stderr and the JSON report, after checking the run succeeded.
fn micro_ok(tag: &str, args: &[&str]) -> (String, String, String) {
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
    let report = std::fs::read_to_string(&json).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
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
    assert!(report.contains("\"kairos_policy\":\"edf\""), "{report}");
    assert!(report.contains("\"peer\":\"tokio\""), "{report}");
    assert!(report.contains("\"ratio_tokio_over_kairos\":"), "{report}");
    assert!(
        report.contains("\"kairos_record_latency\":\"off\""),
        "{report}"
    );
    assert!(
        report.contains("\"benchmark\":\"chained_spawn\""),
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

/// Checks that `json` is one well-formed JSON object: brackets balanced and properly nested
/// outside strings, strings closed, nothing after the end.
fn assert_one_json_object(json: &str) {
    let json = json.trim();
    assert!(json.starts_with('{'), "{json}");
    let mut stack = Vec::new();
    let (mut in_string, mut escaped) = (false, false);
    for (i, c) in json.char_indices() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' | '[' => stack.push(c),
            '}' => assert_eq!(stack.pop(), Some('{'), "at {i}: {json}"),
            ']' => assert_eq!(stack.pop(), Some('['), "at {i}: {json}"),
            _ => {}
        }
        assert!(
            !stack.is_empty() || i == json.len() - 1,
            "text after the object at {i}: {json}"
        );
    }
    assert!(!in_string && stack.is_empty(), "unterminated: {json}");
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
    assert_one_json_object(&report);
    assert!(report.contains("\"peer\":\"none\""), "{report}");
    assert!(report.contains("\"benchmark\":\"ping_pong\""), "{report}");
    assert!(!report.contains("tokio"), "{report}");
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

#[test]
fn json_check_rejects_malformed_objects() {
    assert_one_json_object(r#"{"a":[1,{"b":"}"}],"c":null}"#);
    for bad in [r#"{"a":1"#, r#"{"a":[1}"#, r#"{"a":"x}"#, r#"{"a":1}{}"#] {
        assert!(
            std::panic::catch_unwind(|| assert_one_json_object(bad)).is_err(),
            "{bad}"
        );
    }
}
