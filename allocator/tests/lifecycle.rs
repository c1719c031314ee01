//! Exhaustion, fallback, bad layouts, thread exit (abandon / adopt), explicit heaps, trimming,
//! and allocator handles outliving or outlived by threads.
#![cfg(not(loom))]

use std::alloc::Layout;
use std::ptr::NonNull;
use std::sync::{Arc, Barrier};

use kairos_alloc::{AllocError, Config, Pool, SizeClasses, CHUNK_SIZE};

fn addr_to_block(addr: usize) -> NonNull<u8> {
    NonNull::new(addr as *mut u8).unwrap()
}

#[test]
fn exhaustion_is_a_typed_error_and_recovers() {
    let pool = Pool::new(4096, Config::new(2 * CHUNK_SIZE)).unwrap();
    let n = 2 * pool.blocks_per_chunk();
    let blocks: Vec<_> = (0..n).map(|_| pool.alloc().unwrap()).collect();
    let err = pool.alloc().unwrap_err();
    assert_eq!(err, AllocError::Exhausted { chunks: 2 });
    let msg = err.to_string();
    assert!(
        msg.contains("Config::capacity") && msg.contains("fallback"),
        "{msg}"
    );
    // SAFETY: allocated from `pool`, freed once.
    unsafe { pool.free(blocks[0]) };
    let again = pool.alloc().unwrap();
    assert_eq!(again, blocks[0]);
    for b in blocks.into_iter().skip(1).chain([again]) {
        // SAFETY: as above.
        unsafe { pool.free(b) };
    }
    assert_eq!(pool.stats().live_blocks, 0);
}

#[test]
fn zero_capacity_is_always_exhausted() {
    let pool = Pool::new(64, Config::new(0)).unwrap();
    assert!(matches!(
        pool.alloc(),
        Err(AllocError::Exhausted { chunks: 0 })
    ));
}

#[test]
fn fallback_serves_exhaustion_and_big_layouts_and_is_counted() {
    let pool = Pool::new(4096, Config::new(CHUNK_SIZE).with_fallback(true)).unwrap();
    let n = pool.blocks_per_chunk();
    let mut blocks: Vec<_> = (0..n + 5).map(|_| pool.alloc().unwrap()).collect();
    let stats = pool.stats();
    assert_eq!(stats.fallback_allocs, 5);
    assert_eq!(stats.fallback_live, 5);
    assert_eq!(stats.live_blocks, n as u64);
    assert_eq!(blocks.iter().filter(|b| !pool.contains(**b)).count(), 5);
    for b in blocks.drain(..) {
        assert_eq!(b.as_ptr() as usize % 4096, 0);
        // SAFETY: allocated from `pool`, freed once.
        unsafe { pool.free(b) };
    }
    let stats = pool.stats();
    assert_eq!((stats.live_blocks, stats.fallback_live), (0, 0));

    let classes = SizeClasses::new(Config::new(CHUNK_SIZE).with_fallback(true)).unwrap();
    for layout in [
        Layout::from_size_align(100_000, 8).unwrap(),
        Layout::from_size_align(64, 8192).unwrap(),
    ] {
        let b = classes.alloc_layout(layout).unwrap();
        assert_eq!(b.as_ptr() as usize % layout.align(), 0);
        assert!(!classes.contains(b));
        // SAFETY: allocated with `layout`, freed once.
        unsafe { classes.free(b, layout) };
    }
    assert_eq!(classes.stats().fallback_allocs, 2);
    assert_eq!(classes.stats().fallback_live, 0);
    // Zero-size is an error even with fallback.
    assert_eq!(
        classes.alloc_layout(Layout::new::<()>()),
        Err(AllocError::ZeroSize)
    );
}

#[test]
fn bad_input_is_a_typed_error_not_a_panic() {
    let classes = SizeClasses::new(Config::new(CHUNK_SIZE)).unwrap();
    assert_eq!(
        classes.alloc_layout(Layout::new::<()>()),
        Err(AllocError::ZeroSize)
    );
    let too_big = Layout::from_size_align(4097, 8).unwrap();
    assert!(matches!(
        classes.alloc_layout(too_big),
        Err(AllocError::Unsupported {
            size: 4097,
            max_size: 4096,
            ..
        })
    ));
    let over_aligned = Layout::from_size_align(8, 8192).unwrap();
    assert!(matches!(
        classes.alloc_layout(over_aligned),
        Err(AllocError::Unsupported { .. })
    ));
    assert!(matches!(classes.boxed(()), Err(AllocError::ZeroSize)));
    assert!(matches!(
        Pool::new(0, Config::default()),
        Err(AllocError::InvalidConfig(_))
    ));
    assert!(matches!(
        Pool::new(1 << 20, Config::default()),
        Err(AllocError::InvalidConfig(_))
    ));
    assert!(matches!(
        Pool::new(64, Config::new(CHUNK_SIZE).with_max_heaps(0)),
        Err(AllocError::InvalidConfig(_))
    ));
    assert!(matches!(
        Pool::new(64, Config::new(usize::MAX)),
        Err(AllocError::InvalidConfig(_))
    ));
    let pool = Pool::new(64, Config::new(CHUNK_SIZE)).unwrap();
    assert!(matches!(
        pool.boxed([0u8; 65]),
        Err(AllocError::Unsupported { .. })
    ));
    assert!(matches!(pool.boxed([0u128; 1]).map(|_| ()), Ok(())));
}

#[test]
fn thread_exit_abandons_heap_and_next_thread_adopts_it() {
    let pool = Arc::new(Pool::new(256, Config::new(4 * CHUNK_SIZE).with_max_heaps(4)).unwrap());
    // Thread A allocates and exits with its blocks still live.
    let blocks: Vec<usize> = {
        let pool = Arc::clone(&pool);
        std::thread::spawn(move || {
            (0..10)
                .map(|_| pool.alloc().unwrap().as_ptr() as usize)
                .collect()
        })
        .join()
        .unwrap()
    };
    let stats = pool.stats();
    assert_eq!(stats.live_blocks, 10);
    assert_eq!(stats.heaps_owned, 0);
    assert_eq!(stats.heaps_abandoned, 1);
    assert_eq!(stats.chunks_in_use, 1);
    // The main thread frees them: remote frees onto the abandoned heap.
    for &b in &blocks {
        // SAFETY: allocated from `pool`, freed once.
        unsafe { pool.free(addr_to_block(b)) };
    }
    let stats = pool.stats();
    assert_eq!((stats.live_blocks, stats.remote_frees), (0, 10));
    assert_eq!(
        stats.heaps_abandoned, 1,
        "frees alone do not tidy an abandoned heap"
    );
    // Thread B takes a heap: the most recently released one, A's.
    let reused = {
        let pool = Arc::clone(&pool);
        std::thread::spawn(move || {
            let b = pool.alloc().unwrap();
            let stats = pool.stats();
            assert_eq!(stats.adoptions, 1);
            assert_eq!(
                stats.chunks_in_use, 1,
                "adopted the chunk instead of taking a new one"
            );
            let addr = b.as_ptr() as usize;
            // SAFETY: allocated from `pool`, freed once.
            unsafe { pool.free(b) };
            addr
        })
        .join()
        .unwrap()
    };
    assert!(pool.contains(addr_to_block(reused)));
    // B's exit tidied the heap: remote frees drained, the empty chunk went back to the pool.
    let stats = pool.stats();
    assert_eq!(stats.live_blocks, 0);
    assert_eq!(stats.chunks_in_use, 0, "{stats:?}");
    assert_eq!(stats.heaps_abandoned, 0);
}

#[test]
fn explicit_heap_abandon_and_adopt() {
    let pool = Pool::new(64, Config::new(CHUNK_SIZE).with_max_heaps(1)).unwrap();
    let a = pool.heap().unwrap();
    assert!(matches!(
        pool.heap(),
        Err(AllocError::TooManyHeaps { max: 1 })
    ));
    let x = a.alloc().unwrap();
    drop(a); // abandoned with `x` live
    assert_eq!(pool.stats().heaps_abandoned, 1);
    let b = pool.heap().unwrap(); // the only slot: adoption
    assert_eq!(pool.stats().adoptions, 1);
    let y = b.alloc().unwrap();
    assert_ne!(x, y);
    // SAFETY: both allocated from `pool`, freed once; `b` owns the adopted chunk: local frees.
    unsafe {
        b.free(x, pool.block_layout());
        b.free(y, pool.block_layout());
    }
    assert_eq!(pool.stats().local_frees, 2);
    drop(b);
    let stats = pool.stats();
    assert_eq!((stats.live_blocks, stats.chunks_in_use), (0, 0));
}

#[test]
fn remote_frees_are_collected_by_the_owner() {
    let pool = Pool::new(16 * 1024, Config::new(CHUNK_SIZE).with_max_heaps(2)).unwrap();
    let owner = pool.heap().unwrap();
    let blocks: Vec<_> = (0..3).map(|_| owner.alloc().unwrap()).collect();
    assert!(matches!(owner.alloc(), Err(AllocError::Exhausted { .. })));
    let addrs: Vec<usize> = blocks.iter().map(|b| b.as_ptr() as usize).collect();
    std::thread::scope(|s| {
        s.spawn(|| {
            for &a in &addrs {
                // SAFETY: allocated from `pool`, freed once, remotely.
                unsafe { pool.free(addr_to_block(a)) };
            }
        });
    });
    assert_eq!(pool.stats().remote_frees, 3);
    // The slow path collects the remote list and serves from it.
    let mut again: Vec<usize> = (0..3)
        .map(|_| owner.alloc().unwrap().as_ptr() as usize)
        .collect();
    again.sort_unstable();
    let mut expected = addrs.clone();
    expected.sort_unstable();
    assert_eq!(again, expected);
    for a in again {
        // SAFETY: as above, local this time.
        unsafe { owner.free(addr_to_block(a), pool.block_layout()) };
    }
    assert_eq!(pool.stats().live_blocks, 0);
}

#[test]
fn chunks_move_between_classes_through_the_global_pool() {
    let classes = SizeClasses::new(Config::new(2 * CHUNK_SIZE)).unwrap();
    let small = Layout::from_size_align(64, 8).unwrap();
    let large = Layout::from_size_align(4096, 8).unwrap();
    // Fill both chunks with small blocks.
    let mut blocks = Vec::new();
    while let Ok(b) = classes.alloc_layout(small) {
        blocks.push(b);
    }
    assert!(classes.alloc_layout(large).is_err());
    for b in blocks {
        // SAFETY: allocated with `small`, freed once.
        unsafe { classes.free(b, small) };
    }
    // One chunk went back to the pool (the other is the small class's current chunk).
    let b = classes.alloc_layout(large).unwrap();
    // SAFETY: allocated with `large`, freed once.
    unsafe { classes.free(b, large) };
    assert_eq!(classes.stats().live_blocks, 0);
}

#[test]
fn trim_releases_pooled_chunks_and_they_stay_usable() {
    let pool = Pool::new(64, Config::new(4 * CHUNK_SIZE)).unwrap();
    let b = pool.alloc().unwrap();
    let trimmed = pool.trim();
    assert_eq!(
        trimmed, 3,
        "the chunk holding `b` is in use and not trimmed"
    );
    assert_eq!(pool.stats().chunks_trimmed, 3);
    // Fill the current chunk and go on into trimmed ones.
    let n = pool.blocks_per_chunk() * 2;
    let blocks: Vec<_> = (0..n).map(|_| pool.alloc().unwrap()).collect();
    assert!(pool.stats().chunks_trimmed < 3);
    for x in blocks.into_iter().chain([b]) {
        // SAFETY: allocated from `pool`, freed once.
        unsafe { pool.free(x) };
    }
    assert_eq!(pool.stats().live_blocks, 0);
}

#[test]
fn pool_box_drops_value_and_frees_on_any_thread() {
    let pool = Pool::new(64, Config::new(CHUNK_SIZE)).unwrap();
    let counter = Arc::new(());
    let b = pool.boxed(Arc::clone(&counter)).unwrap();
    assert_eq!(Arc::strong_count(&counter), 2);
    std::thread::scope(|s| {
        s.spawn(move || drop(b));
    });
    assert_eq!(Arc::strong_count(&counter), 1);
    let stats = pool.stats();
    assert_eq!((stats.live_blocks, stats.remote_frees), (0, 1));
}

#[test]
fn many_allocators_on_one_thread() {
    // More allocators than the per-thread table holds, all live at once: the extra ones take
    // the transient path.
    let pools: Vec<_> = (0..12)
        .map(|_| Pool::new(64, Config::new(CHUNK_SIZE)).unwrap())
        .collect();
    let blocks: Vec<_> = pools.iter().map(|p| p.alloc().unwrap()).collect();
    for (p, b) in pools.iter().zip(&blocks) {
        assert!(p.contains(*b));
        // SAFETY: allocated from `p`, freed once.
        unsafe { p.free(*b) };
        assert_eq!(p.stats().live_blocks, 0);
    }
    drop(pools);
    // Many allocators created and dropped in sequence: closed entries are evicted.
    for _ in 0..20 {
        let p = Pool::new(64, Config::new(CHUNK_SIZE)).unwrap();
        let b = p.alloc().unwrap();
        // SAFETY: allocated from `p`, freed once.
        unsafe { p.free(b) };
        assert_eq!(p.stats().heaps_owned, 1);
    }
}

#[test]
fn pool_dropped_while_another_thread_holds_a_heap() {
    let barrier = Arc::new(Barrier::new(2));
    let pool = Arc::new(Pool::new(64, Config::new(CHUNK_SIZE)).unwrap());
    let t = {
        let pool = Arc::clone(&pool);
        let barrier = Arc::clone(&barrier);
        std::thread::spawn(move || {
            let b = pool.alloc().unwrap();
            // SAFETY: allocated from `pool`, freed once.
            unsafe { pool.free(b) };
            drop(pool); // our table entry still references the core
            barrier.wait(); // main drops the last handle
            barrier.wait();
            // Thread exit releases the slot and the last reference: the region is unmapped.
        })
    };
    barrier.wait();
    drop(Arc::try_unwrap(pool).expect("the other thread dropped its Arc"));
    barrier.wait();
    t.join().unwrap();
}

#[test]
fn stats_are_zero_after_everything_is_freed_across_threads() {
    let classes = Arc::new(SizeClasses::new(Config::new(32 * CHUNK_SIZE)).unwrap());
    let layouts: Vec<Layout> = (0..7)
        .map(|i| Layout::from_size_align(64 << i, 8).unwrap())
        .collect();
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let classes = Arc::clone(&classes);
            let layouts = layouts.clone();
            std::thread::spawn(move || {
                layouts
                    .iter()
                    .flat_map(|&l| (0..20).map(move |_| l))
                    .map(|l| (classes.alloc_layout(l).unwrap().as_ptr() as usize, l))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let all: Vec<(usize, Layout)> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    assert_eq!(classes.stats().live_blocks, all.len() as u64);
    for (a, l) in all {
        // SAFETY: allocated from `classes` with `l`, freed once.
        unsafe { classes.free(addr_to_block(a), l) };
    }
    classes.reclaim_abandoned();
    let stats = classes.stats();
    assert_eq!(stats.live_blocks, 0);
    assert_eq!(stats.chunks_in_use, 0, "{stats:?}");
    assert_eq!(stats.chunks_free, stats.chunks_total);
}

/// The per-thread cache of the last (allocator, slot) lookup must die with the table entry: a
/// new allocator built where a dropped one lived (the system allocator tends to reuse the
/// address) gets its own slot, not the dead one's.
#[test]
fn a_new_pool_never_inherits_a_dropped_pools_slot() {
    for _ in 0..4 {
        let pool = Pool::new(64, Config::new(CHUNK_SIZE).with_max_heaps(2)).unwrap();
        let block = pool.alloc().unwrap();
        // SAFETY: allocated from `pool`, freed once (local: this thread owns a slot now).
        unsafe { pool.free(block) };
        let stats = pool.stats();
        assert_eq!(stats.heaps_owned, 1, "{stats:?}");
        assert_eq!((stats.local_frees, stats.remote_frees), (1, 0), "{stats:?}");
        drop(pool);
    }
}
