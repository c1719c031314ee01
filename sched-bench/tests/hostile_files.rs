//! Issue 18's hostile workload files (`tests/fixtures/hostile/`), end to end: every one is
//! either accepted or refused before anything runs, with the file, line and field, and the
//! refusals that depend on a limit (memory) name the flag that overrides it. Nothing here runs
//! a workload: memory is checked through the estimate, hangs through the validator.

use std::path::PathBuf;
use std::process::{Command, Output};

fn sched_bench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sched-bench"))
        .args(args)
        .output()
        .expect("run sched-bench")
}

fn fixture(name: &str) -> String {
    let p: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests/fixtures/hostile", name]
        .iter()
        .collect();
    p.to_str().unwrap().to_owned()
}

/// `workloads --check`: the error text, asserting failure.
fn check_err(name: &str) -> String {
    let out = sched_bench(&["workloads", "--check", &fixture(name)]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{name} was accepted");
    assert!(stderr.contains(name), "no file name: {stderr}");
    stderr
}

fn check_ok(name: &str) {
    let out = sched_bench(&["workloads", "--check", &fixture(name)]);
    assert!(
        out.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn absurd_times_are_refused_with_field_and_line() {
    assert!(check_err("huge-delay.toml").contains(":8: task[0].delay:"));
    assert!(check_err("delay-max.json").contains(":3: tasks.t.delay:"));
    let e = check_err("huge-sleep.json");
    assert!(
        e.contains(":3: tasks.t.sleep:") && e.contains("--allow-long-times"),
        "{e}"
    );
}

#[test]
fn keys_rt_app_ignores_are_accepted_with_a_warning() {
    let out = sched_bench(&["workloads", "--check", &fixture("global-frag.json")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("global-frag.json:5: global.frag:") && stderr.contains("rt-app ignores it"),
        "{stderr}"
    );
}

#[test]
fn reading_limits_bom_and_names() {
    check_ok("bom.toml");
    check_ok("long-finite.json");
    let e = check_err("nul-name.json");
    assert!(e.contains("U+0000"), "{e}");
    let e = check_err("control-workload-name.toml");
    assert!(e.contains(":2: name:") && e.contains("U+0007"), "{e}");
    let e = check_err("single-bracket-task.toml");
    assert!(e.contains(":4: task:") && e.contains("[[task]]"), "{e}");
    let e = check_err("unknown-key.toml");
    assert!(e.contains(":13: task[1]:") && e.contains("prioriti"), "{e}");
    // /dev/zero has size 0 in its metadata: the cap is on what is read.
    let out = sched_bench(&["workloads", "--check", "/dev/zero"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("larger than 16 MiB"), "{stderr}");
}

/// The memory estimate refuses before anything runs (no thread, no task is started: the
/// refusal is the only output), naming the driving field and the flag.
#[test]
fn memory_estimate_refuses_with_field_and_flag() {
    for (name, field) in [
        ("count-million.toml", "`count`"),
        ("instance-million.json", "`instance`"),
    ] {
        let out = sched_bench(&[
            "compare",
            "--workload",
            &fixture(name),
            "--backends",
            "kernel",
            "--memory-limit",
            "1G",
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name} ran");
        assert!(
            stderr.contains(field) && stderr.contains("--memory-limit"),
            "{stderr}"
        );
        assert!(out.stdout.is_empty(), "{name} started running");
    }
    // Point 2: job records are only counted (and kept) for --cyclic / --rtapp-log.
    let out = sched_bench(&[
        "compare",
        "--workload",
        &fixture("one-ns-period.toml"),
        "--backends",
        "kernel",
        "--memory-limit",
        "1G",
        "--cyclic",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("--cyclic/--rtapp-log"), "{stderr}");
}
