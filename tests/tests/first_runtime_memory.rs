//! Resident memory a program pays for its first runtime (issue 17: at most 8 MiB by default).
//! Alone in its test binary, so no other test allocates meanwhile.
//!
//! The default task pool is reserved address space, backed as tasks use it; only
//! `kairos::configure_task_pool` pre-faults it (`docs/allocator.md`). Before that change the
//! first runtime added about 68 MiB (the pre-faulted 64 MiB pool).

/// `VmRSS` of this process in KiB, or `None` where `/proc` is not there.
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn first_runtime_adds_at_most_8_mib() {
    let Some(before) = rss_kib() else {
        eprintln!("skipped: /proc/self/status is not readable on this system");
        return;
    };
    let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    assert_eq!(rt.block_on(rt.spawn(async { 1 })).unwrap(), 1);
    let added = rss_kib().unwrap().saturating_sub(before);
    eprintln!("the first runtime (1 worker, defaults) added {added} KiB of resident memory");
    assert!(
        added <= 8 * 1024,
        "the first runtime added {added} KiB of resident memory (goal: at most 8192 KiB)"
    );
    let pool = kairos::task_memory()
        .pool
        .expect("the default runtime uses the task pool");
    assert!(pool.live_blocks <= 1, "{pool:?}");
}
