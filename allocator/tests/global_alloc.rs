//! `PoolAlloc` as this test binary's `#[global_allocator]`: everything the test harness and std
//! allocate goes through it, including the lazy creation of the global instance itself.
#![cfg(not(loom))]

use std::collections::HashMap;
use std::sync::mpsc;

use kairos_alloc::PoolAlloc;

#[global_allocator]
static ALLOC: PoolAlloc = PoolAlloc;

#[test]
fn std_collections_and_threads_work_on_the_pool() {
    let v: Vec<u64> = (0..100).collect(); // 800 bytes: a region block
    assert!(kairos_alloc::global().contains(std::ptr::NonNull::from(&v[0]).cast()));
    let big: Vec<u8> = vec![7; 1 << 20]; // above the largest class: System
    assert!(!kairos_alloc::global().contains(std::ptr::NonNull::from(&big[0])));

    let mut map = HashMap::new();
    for i in 0..1000 {
        map.insert(i, format!("value {i}"));
    }
    assert_eq!(map[&999], "value 999");

    // Blocks allocated on one thread and dropped on another (remote frees), many threads
    // starting and exiting (heaps abandoned and adopted).
    let (tx, rx) = mpsc::channel::<Vec<String>>();
    let producers: Vec<_> = (0..4)
        .map(|t| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for round in 0..50 {
                    tx.send((0..20).map(|i| format!("{t}-{round}-{i}")).collect())
                        .unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let consumer =
        std::thread::spawn(move || rx.into_iter().map(|batch| batch.len()).sum::<usize>());
    for p in producers {
        p.join().unwrap();
    }
    assert_eq!(consumer.join().unwrap(), 4 * 50 * 20);

    let stats = kairos_alloc::global().stats();
    assert!(stats.remote_frees > 0, "{stats:?}");
    assert!(stats.allocs > 1000, "{stats:?}");
    drop((v, big, map));
}
