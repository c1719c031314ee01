//! `sched-bench soak` end to end, in its own process (its task-block checks are process-wide):
//! two waves on each of the five policies pass every check, and the summary counts them.

use std::process::Command;

#[test]
fn two_waves_per_policy_pass_every_check() {
    let out = Command::new(env!("CARGO_BIN_EXE_sched-bench"))
        .args([
            "soak",
            "--duration",
            "0s",
            "--waves",
            "10",
            "--tasks",
            "300",
        ])
        .output()
        .expect("run sched-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.starts_with("soak: ok: 10 waves")
            && stdout.contains("Fifo, Edf, Priority, Fair, Classes (3000 tasks"),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("soak: slowest wave: ")),
        "{stdout}"
    );
    // The deliberate panics are kept off stderr; nothing else is printed there.
    assert!(stderr.is_empty(), "{stderr}");
}
