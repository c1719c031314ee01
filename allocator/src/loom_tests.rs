//! Loom models of the allocator's concurrent protocols.
//!
//! Run with:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=/work/target-alloc-loom \
//!     cargo test -p kairos-alloc --release --lib
//! ```
//!
//! Each model builds its own small allocator inside `loom::model` (one or three chunks, one
//! heap slot), so every atomic and cell it uses is loom's. After exploring, each test asserts
//! through the slow-path probes (`loom::probe`) that at least one execution took the slow path
//! the model is about, so a model that silently stopped reaching it fails instead of passing.
//!
//! | model | protocol | slow path it must reach |
//! |---|---|---|
//! | `remote_free_push_vs_collect` | remote list CAS push vs owner swap | CAS retry; non-empty take |
//! | `remote_free_served_by_alloc` | remote CAS push vs the owner's allocation taking the list and serving from it | CAS retry; serve from a taken list |
//! | `chunk_pool_aba` | tagged chunk-index stack | pop CAS failure (the ABA window) |
//! | `abandon_remote_free_adopt` | heap release, remote free, adoption | adoption; remote take |
//! | `chunk_handoff_between_heaps` | chunk returned by one heap, taken by another | chunk reuse |
//!
//! `--cfg kairos_loom_weaken` removes the ABA tag increment; `chunk_pool_aba` then fails.

use core::ptr::NonNull;
use std::collections::HashSet;

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::Arc;
use loom::thread;

use crate::chunk::{Chunk, CHUNK_SIZE};
use crate::chunk_pool::ChunkPool;
use crate::loom::probe::{self, SlowPath};
use crate::region::Region;
use crate::{AllocError, Config, Pool};

std::thread_local! {
    /// Executions explored by the test running on this OS thread (loom runs a model's threads
    /// as coroutines on it).
    static EXECUTIONS: core::cell::Cell<usize> = const { core::cell::Cell::new(0) };
}

/// Counts one explored execution.
fn explored() {
    EXECUTIONS.with(|e| e.set(e.get() + 1));
}

/// Prints and resets the execution count (shown with `--nocapture`).
fn report(model: &str) {
    let n = EXECUTIONS.with(|e| e.replace(0));
    println!("{model}: {n} executions explored");
    assert!(n > 1, "{model}: the model explored a single interleaving");
}

/// A block address as a `Send` value.
fn block(addr: usize) -> NonNull<u8> {
    NonNull::new(addr as *mut u8).expect("blocks are non-null")
}

/// Two threads free one block each (remote pushes that can collide) while the owner takes the
/// remote list once; afterwards every block is back exactly once.
#[test]
fn remote_free_push_vs_collect() {
    probe::reset();
    loom::model(|| {
        explored();
        let pool = Arc::new(Pool::new(64, Config::new(CHUNK_SIZE).with_max_heaps(1)).unwrap());
        let owner = pool.heap().unwrap();
        let a = owner.alloc().unwrap().as_ptr() as usize;
        let b = owner.alloc().unwrap().as_ptr() as usize;
        let done = Arc::new([AtomicBool::new(false), AtomicBool::new(false)]);
        let freers: Vec<_> = [a, b]
            .into_iter()
            .enumerate()
            .map(|(i, addr)| {
                let (pool, done) = (Arc::clone(&pool), Arc::clone(&done));
                thread::spawn(move || {
                    // SAFETY: `addr` was allocated from `pool` and is freed once, by this
                    // thread (which owns no heap: a remote free).
                    unsafe { pool.free(block(addr)) };
                    done[i].store(true, Ordering::Release);
                })
            })
            .collect();
        // Harness flags (see `abandon_remote_free_adopt` for why): frees seen as complete
        // before the take must be in it.
        let seen = done.iter().filter(|d| d.load(Ordering::Acquire)).count();
        let early = owner.collect(); // races with the pushes
        assert!(
            early >= seen,
            "a completed remote free was missed by the take"
        );
        for t in freers {
            t.join().unwrap();
        }
        let late = owner.collect();
        assert_eq!(
            early + late,
            2,
            "every remote free is collected exactly once"
        );
        let mut again = [
            owner.alloc().unwrap().as_ptr() as usize,
            owner.alloc().unwrap().as_ptr() as usize,
        ];
        again.sort_unstable();
        let mut expected = [a, b];
        expected.sort_unstable();
        assert_eq!(
            again, expected,
            "collected blocks are reused, none lost or duplicated"
        );
        for addr in again {
            // SAFETY: allocated from `pool`, freed once (locally).
            unsafe { owner.free(block(addr), pool.block_layout()) };
        }
        assert_eq!(pool.stats().live_blocks, 0);
    });
    report("remote_free_push_vs_collect");
    assert!(
        probe::hits(SlowPath::RemotePushRetry) > 0,
        "no execution retried the push CAS"
    );
    assert!(
        probe::hits(SlowPath::RemoteCollect) > 0,
        "no execution took a non-empty list"
    );
}

/// The owner's allocation slow path takes the remote list and serves from it (the pending
/// list) while two threads push on it: on an exhausted pool (one chunk of three 16 KiB
/// blocks, all live), the owner allocates once racing with the two remote frees, then twice
/// more after them. Exactly the two freed blocks come back, once each, and a fourth
/// allocation finds the pool exhausted again.
#[test]
fn remote_free_served_by_alloc() {
    probe::reset();
    loom::model(|| {
        explored();
        let pool =
            Arc::new(Pool::new(16 * 1024, Config::new(CHUNK_SIZE).with_max_heaps(1)).unwrap());
        let owner = pool.heap().unwrap();
        let blocks: Vec<usize> = (0..3)
            .map(|_| owner.alloc().unwrap().as_ptr() as usize)
            .collect();
        assert!(matches!(owner.alloc(), Err(AllocError::Exhausted { .. })));
        let freers: Vec<_> = blocks[..2]
            .iter()
            .map(|&addr| {
                let pool = Arc::clone(&pool);
                thread::spawn(move || {
                    // SAFETY: allocated from `pool`, freed once, by this thread (no heap: a
                    // remote free).
                    unsafe { pool.free(block(addr)) };
                })
            })
            .collect();
        // Races with the pushes: takes whatever is on the remote list, or finds nothing.
        let mut got: Vec<usize> = owner
            .alloc()
            .ok()
            .map(|b| b.as_ptr() as usize)
            .into_iter()
            .collect();
        for t in freers {
            t.join().unwrap();
        }
        while got.len() < 2 {
            got.push(owner.alloc().expect("a freed block is served").as_ptr() as usize);
        }
        assert!(
            matches!(owner.alloc(), Err(AllocError::Exhausted { .. })),
            "only the two freed blocks were free"
        );
        got.sort_unstable();
        let mut expected = blocks[..2].to_vec();
        expected.sort_unstable();
        assert_eq!(got, expected, "each freed block served once");
        for addr in got.into_iter().chain([blocks[2]]) {
            // SAFETY: allocated from `pool`, freed once (locally).
            unsafe { owner.free(block(addr), pool.block_layout()) };
        }
        let stats = pool.stats();
        assert_eq!((stats.live_blocks, stats.remote_frees), (0, 2));
    });
    report("remote_free_served_by_alloc");
    assert!(
        probe::hits(SlowPath::RemotePushRetry) > 0,
        "no execution retried the push CAS"
    );
    assert!(
        probe::hits(SlowPath::ServeRemote) > 0,
        "no allocation served a block from a taken remote list"
    );
}

/// The ABA scenario on the global chunk pool: thread 1 pops (read top and below, then CAS);
/// thread 2 pops two chunks and pushes them back. If thread 1 is preempted between its read and
/// its CAS, the top is the same chunk again but the tag differs, so the CAS must fail.
#[test]
fn chunk_pool_aba() {
    probe::reset();
    loom::model(|| {
        explored();
        let region = Arc::new(Region::reserve(3, true).unwrap());
        let pool = Arc::new(ChunkPool::new(&region, true).unwrap());
        let t1 = {
            let (region, pool) = (Arc::clone(&region), Arc::clone(&pool));
            thread::spawn(move || {
                if let Some(c) = pool.pop(&region) {
                    // SAFETY: we popped `c`, so we own it; it is empty.
                    unsafe { pool.push(&region, c) };
                }
            })
        };
        let t2 = {
            let (region, pool) = (Arc::clone(&region), Arc::clone(&pool));
            thread::spawn(move || {
                let a = pool.pop(&region);
                let b = pool.pop(&region);
                for c in [a, b].into_iter().flatten() {
                    // SAFETY: we popped `c`, so we own it; it is empty.
                    unsafe { pool.push(&region, c) };
                }
            })
        };
        t1.join().unwrap();
        t2.join().unwrap();
        // Exactly the three chunks, each once (a broken tag shows up as a cycle or a loss).
        let mut seen = HashSet::new();
        for _ in 0..4 {
            match pool.pop(&region) {
                Some(c) => assert!(seen.insert(region.index_of(c.0)), "chunk on the pool twice"),
                None => break,
            }
        }
        assert_eq!(seen.len(), 3, "a chunk was lost");
    });
    report("chunk_pool_aba");
    assert!(
        probe::hits(SlowPath::StackPopRetry) > 0,
        "no execution hit the ABA window"
    );
}

/// A region that is not pre-faulted: two threads take chunks concurrently while the fresh
/// counter runs out (three chunks, four pops in all). Every chunk goes to exactly one thread, with
/// its header written by that thread, and one pop finds the pool empty; a chunk pushed back is
/// taken again before any fresh one.
#[test]
fn chunk_pool_fresh_race() {
    probe::reset();
    loom::model(|| {
        explored();
        let region = Arc::new(Region::reserve(3, false).unwrap());
        let pool = Arc::new(ChunkPool::new(&region, false).unwrap());
        let take_two = |region: Arc<Region>, pool: Arc<ChunkPool>| {
            thread::spawn(move || {
                let got: Vec<u32> = (0..2)
                    .filter_map(|_| pool.pop(&region))
                    .map(|c| {
                        // The header this thread (or the fresh path) wrote is readable.
                        // SAFETY: we popped `c`, so we own it.
                        assert_eq!(unsafe { c.with_local(|l| l.used) }, 0);
                        region.index_of(c.0)
                    })
                    .collect();
                got
            })
        };
        let t1 = take_two(Arc::clone(&region), Arc::clone(&pool));
        let t2 = take_two(Arc::clone(&region), Arc::clone(&pool));
        let mut all = t1.join().unwrap();
        all.extend(t2.join().unwrap());
        all.sort_unstable();
        assert_eq!(all, [0, 1, 2], "each chunk exactly once");
        assert!(pool.pop(&region).is_none());
        // A returned chunk comes back from `resident`.
        // SAFETY: chunk 1 was handed out above and nobody holds it; it is empty.
        unsafe { pool.push(&region, Chunk(region.chunk(1))) };
        assert_eq!(pool.pop(&region).map(|c| region.index_of(c.0)), Some(1));
    });
    report("chunk_pool_fresh_race");
    assert!(probe::hits(SlowPath::FreshChunk) > 0, "no fresh chunk");
    assert!(
        probe::hits(SlowPath::FreshExhausted) > 0,
        "no pop lost the race for the last fresh chunk"
    );
}

/// A thread exits with a live block (its heap is abandoned); another thread frees that block
/// remotely while the main thread adopts the heap and allocates. Every block of the chunk is
/// handed out exactly once afterwards.
#[test]
fn abandon_remote_free_adopt() {
    probe::reset();
    loom::model(|| {
        explored();
        // One chunk of three 16 KiB blocks, one heap slot: acquiring must adopt.
        let pool =
            Arc::new(Pool::new(16 * 1024, Config::new(CHUNK_SIZE).with_max_heaps(1)).unwrap());
        let live = {
            let pool = Arc::clone(&pool);
            thread::spawn(move || {
                let heap = pool.heap().unwrap();
                let kept = heap.alloc().unwrap();
                let x = heap.alloc().unwrap();
                let y = heap.alloc().unwrap();
                // SAFETY: allocated from `pool`, freed once (locally).
                unsafe {
                    heap.free(x, pool.block_layout());
                    heap.free(y, pool.block_layout());
                }
                kept.as_ptr() as usize // `heap` dropped: abandoned with `kept` live
            })
            .join()
            .unwrap()
        };
        // `freed` is harness, not allocator: the freer's store conflicts with the main
        // thread's loads, which makes loom try the free at each of those points. (Loom's DPOR
        // records only the last access to an atomic, so the remote list's load-then-CAS
        // against the owner's load-then-swap alone would not make it reorder the threads.)
        let freed = Arc::new(AtomicBool::new(false));
        let freer = {
            let (pool, freed) = (Arc::clone(&pool), Arc::clone(&freed));
            thread::spawn(move || {
                // SAFETY: allocated from `pool`, freed once, remotely.
                unsafe { pool.free(block(live)) };
                freed.store(true, Ordering::Release);
            })
        };
        let freed_before_adoption = freed.load(Ordering::Acquire);
        let heap = pool.heap().unwrap(); // adoption, racing with the remote free
        let mut got = Vec::new();
        for _ in 0..2 {
            // The two blocks freed locally before abandonment: on the chunk's free list.
            got.push(heap.alloc().unwrap().as_ptr() as usize);
        }
        let freed_before_slow_path = freed.load(Ordering::Acquire);
        match heap.alloc() {
            Ok(b) => got.push(b.as_ptr() as usize),
            Err(AllocError::Exhausted { .. }) => {
                assert!(
                    !(freed_before_adoption || freed_before_slow_path),
                    "a completed remote free must be visible to the adopter"
                );
            }
            Err(e) => panic!("{e}"),
        }
        freer.join().unwrap();
        while got.len() < 3 {
            got.push(heap.alloc().unwrap().as_ptr() as usize);
        }
        assert!(matches!(heap.alloc(), Err(AllocError::Exhausted { .. })));
        let distinct: HashSet<_> = got.iter().copied().collect();
        assert_eq!(distinct.len(), 3, "a block was handed out twice");
        assert!(
            distinct.contains(&live),
            "the remotely freed block came back"
        );
        for addr in got {
            // SAFETY: allocated from `pool`, freed once.
            unsafe { heap.free(block(addr), pool.block_layout()) };
        }
        drop(heap);
        let stats = pool.stats();
        assert_eq!(
            (stats.live_blocks, stats.chunks_in_use, stats.adoptions),
            (0, 0, 1)
        );
    });
    report("abandon_remote_free_adopt");
    assert!(
        probe::hits(SlowPath::Adoption) > 0,
        "no execution adopted a heap"
    );
    assert!(
        probe::hits(SlowPath::RemoteCollect) > 0,
        "no execution collected the remote free"
    );
}

/// Two heaps share one chunk through the global pool: whichever gets it first fills it, frees
/// everything and returns it; the other then (or meanwhile, failing) takes it. Loom checks that
/// the chunk header's owner-only cell is handed over with a happens-before edge.
#[test]
fn chunk_handoff_between_heaps() {
    loom::model(|| {
        explored();
        let pool =
            Arc::new(Pool::new(16 * 1024, Config::new(CHUNK_SIZE).with_max_heaps(2)).unwrap());
        let worker = |pool: Arc<Pool>| {
            move || {
                let heap = pool.heap().unwrap();
                let got = heap.alloc().ok().map(|b| b.as_ptr() as usize);
                if let Some(addr) = got {
                    // SAFETY: allocated from `pool`, freed once (locally).
                    unsafe { heap.free(block(addr), pool.block_layout()) };
                }
                drop(heap); // tidy: the empty chunk goes back to the pool
                got.is_some()
            }
        };
        let t = thread::spawn(worker(Arc::clone(&pool)));
        let mine = worker(Arc::clone(&pool))();
        let theirs = t.join().unwrap();
        assert!(mine || theirs, "the chunk was available to someone");
        let stats = pool.stats();
        assert_eq!((stats.live_blocks, stats.chunks_in_use), (0, 0));
    });
    report("chunk_handoff_between_heaps");
}
