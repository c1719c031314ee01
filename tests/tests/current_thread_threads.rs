//! A current-thread runtime starts no thread: alone in its test binary, so the process's thread
//! count can only change through the runtime under test.

/// Threads of this process (`/proc/self/status`), or `None` where /proc is missing.
fn threads() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Threads:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn building_and_running_starts_no_thread() {
    let Some(before) = threads() else {
        eprintln!("skipped: /proc/self/status is not readable on this system");
        return;
    };
    let rt = kairos::Runtime::builder().current_thread().build().unwrap();
    let v = rt.block_on(async {
        kairos::time::sleep(std::time::Duration::from_millis(1)).await;
        kairos::spawn(async { 7 }).await.unwrap()
    });
    assert_eq!(v, 7);
    assert_eq!(
        threads(),
        Some(before),
        "the current-thread runtime started a thread"
    );
    // The check can fail: a threaded runtime adds its workers.
    let threaded = kairos::Runtime::builder().workers(1).build().unwrap();
    assert_eq!(threads(), Some(before + 1));
    drop(threaded);
}
