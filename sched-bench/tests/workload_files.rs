//! `sched-bench workloads --check FILE` end to end: rt-app files (the fixtures, and rt-app's
//! published examples when `../shared` is there) are accepted with a
//! summary, invalid files exit non-zero with file, line and field, and the built-in listing is
//! unchanged.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sched_bench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sched-bench"))
        .args(args)
        .output()
        .expect("run sched-bench")
}

/// The repository's rt-app fixtures, plus rt-app's published examples when `../shared` is
/// beside the repository (optional: without it the test says so and checks the fixtures alone).
fn rt_app_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut dirs = vec![root.join("tests/fixtures/rt-app")];
    let shared = root.join("../../shared/rt-app/examples");
    if shared.is_dir() {
        dirs.push(shared);
    } else {
        eprintln!(
            "note: {} is absent: skipping rt-app's published examples, checking the \
             repository's fixtures only",
            shared.display()
        );
    }
    dirs.iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect()
}

fn temp_file(name: &str, contents: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sched-bench-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn check_accepts_every_rt_app_example() {
    let mut n = 0;
    for path in rt_app_files() {
        let out = sched_bench(&["workloads", "--check", path.to_str().unwrap()]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{}: {stderr}", path.display());
        assert!(stdout.contains("workload `"), "{stdout}");
        assert!(stdout.contains("| task "), "{stdout}");
        n += 1;
    }
    assert!(n >= 6, "expected at least the 6 fixtures, checked {n}");
}

#[test]
fn check_accepts_a_toml_file() {
    let path = temp_file(
        "ok.toml",
        "duration = \"2s\"\nhogs = 1\n\n[[task]]\nname = \"ctl\"\nperiod = \"1ms\"\nwork = \"100us\"\npolicy = \"fifo\"\npriority = 50\n",
    );
    let out = sched_bench(&["workloads", "--check", path.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("workload `ok`: 1 task(s), 1 thread(s), 1 hog(s), duration 2s"),
        "{stdout}"
    );
    assert!(stdout.contains("SCHED_FIFO prio 50"), "{stdout}");
}

#[test]
fn check_rejects_invalid_files_with_file_line_and_field() {
    let cases = [
        (
            "neg.toml",
            "duration = \"1s\"\n[[task]]\nname = \"a\"\nperiod = \"-10ms\"\nwork = \"1ms\"\n",
            ":4: task[0].period: ",
        ),
        (
            "typo.toml",
            "duration = \"1s\"\n[[task]]\nname = \"a\"\nperiod = \"10ms\"\nwork = \"1ms\"\nprio = 3\n",
            ":6: task[0]: unknown field `prio`",
        ),
        (
            "dl.json",
            "{\n\"global\": { \"duration\": 1 },\n\"tasks\": { \"t\": {\n\"run\": 10,\n\"policy\": \"SCHED_DEADLINE\",\n\"dl-runtime\": 100,\n\"dl-period\": 1000,\n\"dl-deadline\": 2000 } } }",
            ":8: tasks.t.dl-deadline: ",
        ),
        (
            "fork.json",
            "{\n\"global\": { \"duration\": 1 },\n\"tasks\": { \"t\": {\n\"fork\": \"t\",\n\"run\": 10 } } }",
            ":4: tasks.t.fork: unsupported rt-app event `fork`",
        ),
    ];
    for (name, text, needle) in cases {
        let path = temp_file(name, text);
        let out = sched_bench(&["workloads", "--check", path.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert!(
            out.stdout.is_empty(),
            "{name}: printed a summary for an invalid file"
        );
        assert!(
            stderr.contains(&format!("{}{needle}", path.display())),
            "{name}: {stderr}"
        );
    }
    let out = sched_bench(&["workloads", "--check", "/nonexistent/w.toml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/w.toml: could not read"));
}

#[test]
fn workloads_without_check_lists_the_builtins() {
    let out = sched_bench(&["workloads"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("mixed-small"));
}

/// `workloads --export` prints a periodic built-in as a TOML file that `--check` accepts, and
/// refuses the batch built-in with a message.
#[test]
fn export_gives_a_valid_toml_file() {
    let out = sched_bench(&["workloads", "--export", "mixed-latency-hogs"]);
    assert!(out.status.success(), "{out:?}");
    let toml = String::from_utf8(out.stdout).unwrap();
    assert!(toml.contains("hogs = 3"), "{toml}");
    let path = temp_file("exported-hogs.toml", &toml);
    let check = sched_bench(&["workloads", "--check", path.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{stdout}");
    assert!(
        stdout.contains("5 task(s)") && stdout.contains("3 hog(s)"),
        "{stdout}"
    );
    let batch = sched_bench(&["workloads", "--export", "mixed-small"]);
    assert!(!batch.status.success());
    assert!(String::from_utf8_lossy(&batch.stderr).contains("batch workload"));
}
