//! Task blocks come from the `kairos-alloc` pool and all go back to it.
//!
//! One test function only: the pool's statistics are process-wide, so no other test may run
//! tasks in this binary at the same time.

use kairos::{Runtime, TaskAllocator};

/// A runtime that ran 1M tasks (spawned in waves from inside a worker and from outside) leaves
/// zero live blocks in the task pool once dropped; a future too large for the pool's classes is
/// boxed instead, counted, and freed; a `TaskAllocator::System` runtime boxes every task.
#[test]
fn pool_serves_every_task_and_gets_every_block_back() {
    let before = kairos::task_memory();
    let rt = Runtime::builder().workers(2).build().unwrap();
    let pool_before = kairos::task_memory()
        .pool
        .expect("task pool reserved at build");
    assert_eq!(pool_before.live_blocks, 0);

    const WAVES: u64 = 100;
    const PER_WAVE: u64 = 10_000;
    let total = rt.block_on(rt.spawn(async {
        let mut total = 0u64;
        for wave in 0..WAVES {
            let handles: Vec<_> = (0..PER_WAVE)
                .map(|i| kairos::spawn(async move { wave * PER_WAVE + i }))
                .collect();
            for h in handles {
                total += h.await.unwrap();
            }
        }
        total
    }));
    let n = WAVES * PER_WAVE;
    assert_eq!(total.unwrap(), n * (n - 1) / 2);

    // Pending tasks, freed by shutdown.
    let pending: Vec<_> = (0..1000)
        .map(|_| rt.spawn(std::future::pending::<()>()))
        .collect();
    let during = kairos::task_memory().pool.unwrap();
    assert!(during.live_blocks >= 1000, "{during:?}");

    // Larger than the largest class: boxed, counted.
    let big = rt.block_on(rt.spawn(async {
        let buffer = [7u8; 64 * 1024];
        kairos::yield_now().await;
        buffer.iter().map(|&b| u64::from(b)).sum::<u64>()
    }));
    assert_eq!(big.unwrap(), 7 * 64 * 1024);
    let after_big = kairos::task_memory();
    assert_eq!(after_big.system_allocs, before.system_allocs + 1);

    drop(rt);
    drop(pending);
    let after = kairos::task_memory();
    let pool = after.pool.unwrap();
    assert_eq!(pool.live_blocks, 0, "{pool:?}");
    assert!(pool.allocs >= n, "{pool:?}");
    assert_eq!(after.system_live, before.system_live, "{after:?}");

    // A System runtime boxes every task and frees every box.
    let rt = Runtime::builder()
        .workers(1)
        .task_allocator(TaskAllocator::System)
        .build()
        .unwrap();
    rt.block_on(async {
        for _ in 0..100 {
            kairos::spawn(async {}).await.unwrap();
        }
    });
    drop(rt);
    let last = kairos::task_memory();
    assert_eq!(last.system_allocs, after.system_allocs + 100);
    assert_eq!(last.system_live, before.system_live);
    assert_eq!(last.pool.unwrap().live_blocks, 0);
}
