//! Property tests: random alloc / free / cross-thread free sequences against a shadow set.
//!
//! Invariants checked on every step: each block is aligned for its layout, lies inside the
//! region, is never handed out twice while live (shadow set), and its contents are not
//! disturbed by other allocations (each live block carries its own address as a stamp). At the
//! end everything is freed and `stats().live_blocks` must be zero.
//!
//! Randomness is a seeded splitmix64, so a failure names the seed that reproduces it (up to
//! thread interleaving in the cross-thread test). No sleeps, no timing.
#![cfg(not(loom))]

use std::alloc::Layout;
use std::collections::HashSet;
use std::ptr::NonNull;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use kairos_alloc::{AllocError, Config, Pool, SizeClasses, CHUNK_SIZE};

/// splitmix64 (Steele, Lea, Flood, "Fast splittable pseudorandom number generators", 2014).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Writes the stamp (the block's address) into the first word of a fresh block.
fn stamp(block: NonNull<u8>) {
    // SAFETY: every block is at least 16 bytes and 16-aligned or it is at least `size` bytes
    // where size >= 8 for the layouts stamped here (checked by callers).
    unsafe {
        block
            .as_ptr()
            .cast::<usize>()
            .write_unaligned(block.as_ptr() as usize)
    };
}

/// Checks the stamp before a free.
fn check_stamp(block: NonNull<u8>) {
    // SAFETY: as in `stamp`; the block is still live.
    let v = unsafe { block.as_ptr().cast::<usize>().read_unaligned() };
    assert_eq!(
        v,
        block.as_ptr() as usize,
        "block contents were overwritten while live"
    );
}

fn random_layout(rng: &mut SplitMix64) -> Layout {
    let size = 8 + rng.below(4096 - 8 + 1);
    let align = 1 << rng.below(7); // 1..=64
    Layout::from_size_align(size, align).unwrap()
}

#[test]
fn size_classes_single_thread_random_ops() {
    for seed in 0..6u64 {
        let mut rng = SplitMix64(seed);
        // Small capacity so exhaustion happens: 8 chunks.
        let classes = SizeClasses::new(Config::new(8 * CHUNK_SIZE)).unwrap();
        let mut live: Vec<(NonNull<u8>, Layout)> = Vec::new();
        let mut shadow = HashSet::new();
        let mut exhausted = 0;
        for _ in 0..20_000 {
            if live.is_empty() || rng.below(100) < 55 {
                let layout = random_layout(&mut rng);
                match classes.alloc_layout(layout) {
                    Ok(block) => {
                        let addr = block.as_ptr() as usize;
                        assert_eq!(addr % layout.align(), 0, "seed {seed}: misaligned");
                        assert!(classes.contains(block), "seed {seed}: outside region");
                        assert!(shadow.insert(addr), "seed {seed}: block handed out twice");
                        stamp(block);
                        live.push((block, layout));
                    }
                    Err(AllocError::Exhausted { .. }) => exhausted += 1,
                    Err(e) => panic!("seed {seed}: unexpected {e}"),
                }
            } else {
                let (block, layout) = live.swap_remove(rng.below(live.len()));
                check_stamp(block);
                assert!(shadow.remove(&(block.as_ptr() as usize)));
                // SAFETY: allocated above with `layout`, freed once.
                unsafe { classes.free(block, layout) };
            }
            assert_eq!(classes.stats().live_blocks, live.len() as u64);
        }
        assert!(
            exhausted > 0,
            "seed {seed}: the test should reach exhaustion"
        );
        for (block, layout) in live.drain(..) {
            check_stamp(block);
            // SAFETY: as above.
            unsafe { classes.free(block, layout) };
        }
        let stats = classes.stats();
        assert_eq!(stats.live_blocks, 0);
        assert_eq!(stats.fallback_allocs, 0);
    }
}

#[test]
fn pool_single_thread_random_ops_reuse_chunks() {
    for seed in 0..6u64 {
        let mut rng = SplitMix64(seed ^ 0xABCD);
        let pool = Pool::new(1024, Config::new(3 * CHUNK_SIZE)).unwrap();
        let capacity = 3 * pool.blocks_per_chunk();
        let mut live = Vec::new();
        let mut shadow = HashSet::new();
        for _ in 0..20_000 {
            if live.is_empty() || rng.below(2) == 0 {
                match pool.alloc() {
                    Ok(block) => {
                        assert_eq!(block.as_ptr() as usize % 1024, 0);
                        assert!(pool.contains(block));
                        assert!(shadow.insert(block.as_ptr() as usize), "seed {seed}: twice");
                        stamp(block);
                        live.push(block);
                    }
                    Err(AllocError::Exhausted { .. }) => assert_eq!(live.len(), capacity),
                    Err(e) => panic!("{e}"),
                }
            } else {
                let block = live.swap_remove(rng.below(live.len()));
                check_stamp(block);
                shadow.remove(&(block.as_ptr() as usize));
                // SAFETY: allocated from `pool`, freed once.
                unsafe { pool.free(block) };
            }
        }
        for block in live {
            // SAFETY: as above.
            unsafe { pool.free(block) };
        }
        let stats = pool.stats();
        assert_eq!(stats.live_blocks, 0);
        // Every chunk came back to the global pool except the thread's current chunk.
        assert!(stats.chunks_in_use <= 1, "{stats:?}");
    }
}

/// Four threads allocate, free their own blocks, and pass blocks around a ring to be freed by
/// the next thread (remote frees), all checked against one shared shadow set.
#[test]
fn cross_thread_random_ops() {
    const THREADS: usize = 4;
    for seed in 0..3u64 {
        let classes = Arc::new(SizeClasses::new(Config::new(16 * CHUNK_SIZE)).unwrap());
        let shadow = Arc::new(Mutex::new(HashSet::new()));
        let (senders, receivers): (Vec<_>, Vec<_>) = (0..THREADS)
            .map(|_| mpsc::channel::<(usize, Layout)>())
            .unzip();
        let mut handles = Vec::new();
        for (i, rx) in receivers.into_iter().enumerate() {
            let tx = senders[(i + 1) % THREADS].clone();
            let classes = Arc::clone(&classes);
            let shadow = Arc::clone(&shadow);
            handles.push(std::thread::spawn(move || {
                let mut rng = SplitMix64(seed * 100 + i as u64);
                let mut mine: Vec<(NonNull<u8>, Layout)> = Vec::new();
                let free = |block: NonNull<u8>, layout: Layout| {
                    check_stamp(block);
                    assert!(shadow.lock().unwrap().remove(&(block.as_ptr() as usize)));
                    // SAFETY: allocated from `classes` with `layout`, freed once.
                    unsafe { classes.free(block, layout) };
                };
                for _ in 0..5_000 {
                    while let Ok((addr, layout)) = rx.try_recv() {
                        free(NonNull::new(addr as *mut u8).unwrap(), layout);
                    }
                    match rng.below(10) {
                        0..=4 => {
                            let layout = random_layout(&mut rng);
                            if let Ok(block) = classes.alloc_layout(layout) {
                                assert_eq!(block.as_ptr() as usize % layout.align(), 0);
                                assert!(classes.contains(block));
                                assert!(
                                    shadow.lock().unwrap().insert(block.as_ptr() as usize),
                                    "block handed out twice"
                                );
                                stamp(block);
                                mine.push((block, layout));
                            }
                        }
                        5..=7 if !mine.is_empty() => {
                            let (block, layout) = mine.swap_remove(rng.below(mine.len()));
                            free(block, layout);
                        }
                        _ if !mine.is_empty() => {
                            let (block, layout) = mine.swap_remove(rng.below(mine.len()));
                            tx.send((block.as_ptr() as usize, layout)).unwrap();
                        }
                        _ => {}
                    }
                }
                for (block, layout) in mine {
                    free(block, layout);
                }
                drop(tx);
                // Everything sent to us after our loop: keep receiving until all senders
                // (the previous thread) are gone.
                while let Ok((addr, layout)) = rx.recv() {
                    free(NonNull::new(addr as *mut u8).unwrap(), layout);
                }
            }));
        }
        drop(senders);
        for h in handles {
            h.join().unwrap();
        }
        assert!(shadow.lock().unwrap().is_empty());
        let stats = classes.stats();
        assert_eq!(stats.live_blocks, 0, "{stats:?}");
        assert!(stats.remote_frees > 0);
        // All threads exited. Remote frees that reached a heap after its thread exited wait on
        // its remote list until adoption or an explicit reclaim.
        classes.reclaim_abandoned();
        let stats = classes.stats();
        assert_eq!(stats.chunks_in_use, 0, "{stats:?}");
        assert_eq!(stats.heaps_abandoned, 0);
        assert_eq!(stats.heaps_owned, 0);
    }
}
