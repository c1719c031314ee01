//! `Builder::lock_memory`: the refusal path, in a child process (`mlockall` is process-wide, so
//! the test runner's own process must not be locked or have its limits changed).
#![cfg(target_os = "linux")]

mod caps;

use kairos::{BuildError, Runtime};

/// Set in the child's environment: run the child half.
const CHILD_VAR: &str = "KAIROS_LOCK_MEMORY_CHILD";

/// `CAP_IPC_LOCK`: lets a process lock memory beyond `RLIMIT_MEMLOCK`.
const CAP_IPC_LOCK: u32 = 14;

/// Lowers `RLIMIT_MEMLOCK` to 0 and drops `CAP_IPC_LOCK` from this process's effective and
/// permitted sets; the reason it could not, if any.
fn forbid_locking() -> Result<(), String> {
    caps::zero_rlimit(libc::RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK")?;
    caps::drop_capability(CAP_IPC_LOCK)
}

/// Child half of [`refusal_is_a_typed_error_naming_the_limit`]: forbids locking, then builds a
/// runtime with `lock_memory(true)` and prints the outcome on a line of its own.
#[test]
fn child_builds_with_locking_forbidden() {
    if std::env::var_os(CHILD_VAR).is_none() {
        return;
    }
    if let Err(why) = forbid_locking() {
        println!("\nSKIP {why}");
        return;
    }
    match Runtime::builder().workers(1).lock_memory(true).build() {
        Err(e @ BuildError::LockMemory { .. }) => println!("\nREFUSED {e}"),
        Err(e) => println!("\nOTHER {e}"),
        Ok(_) => println!("\nLOCKED"),
    }
}

/// Parameters: a child process of this test binary with `RLIMIT_MEMLOCK` 0 and without
/// `CAP_IPC_LOCK` builds a runtime with `lock_memory(true)`. Asserts `build()` fails with
/// `BuildError::LockMemory`, whose message names the limit (0 bytes), the capability and the
/// builder option. Skipped, saying why, if the child cannot lower its limit or drop the
/// capability.
#[test]
fn refusal_is_a_typed_error_naming_the_limit() {
    let out = kairos_tests::run_child_test("child_builds_with_locking_forbidden", CHILD_VAR, "1");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed: {}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    if let Some(why) = stdout.lines().find_map(|l| l.strip_prefix("SKIP ")) {
        eprintln!("skipped: the child could not forbid memory locking: {why}");
        return;
    }
    let msg = stdout
        .lines()
        .find_map(|l| l.strip_prefix("REFUSED "))
        .unwrap_or_else(|| panic!("lock_memory was not refused with LockMemory:\n{stdout}"));
    assert!(msg.contains("RLIMIT_MEMLOCK) is 0 bytes"), "{msg}");
    assert!(
        msg.contains("CAP_IPC_LOCK") && msg.contains("lock_memory"),
        "{msg}"
    );
}
