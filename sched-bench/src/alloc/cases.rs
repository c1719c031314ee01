//! The throughput cases: one measured run of each, on one allocator.
//!
//! Every run allocates [`BLOCK_SIZE`](super::family::BLOCK_SIZE)-byte blocks and writes the
//! first word of each ([`touch`]), as a user initialising it would. Times come from
//! `std::time::Instant` around the whole run, divided by the items in it; page faults are the
//! measured threads' own (`RUSAGE_THREAD`) over the run.

use super::family::{alloc_failed, touch, Family, Local};
use super::faults;
use super::spsc::Ring;
use super::threads::{two_threads, TwoThreads};
use crate::error::BenchError;
use std::hint::black_box;
use std::ptr::NonNull;
use std::sync::mpsc;
use std::time::Instant;

/// Alloc+free pairs in one `pair` run.
pub const PAIRS: usize = 1 << 20;
/// Blocks live at once in `shuffled_1k`.
pub const SHUFFLED_SMALL: usize = 1 << 10;
/// Blocks live at once in `shuffled_64k` and in the `faults` loop.
pub const SHUFFLED_LARGE: usize = 1 << 16;
/// Allocations (= frees) in one `shuffled_*` run: 1,024 cycles of 1,024 blocks, or 16 cycles of
/// 65,536.
pub const SHUFFLED_OPS: usize = 1 << 20;
/// Items in one `cross_thread` or `stream` run.
pub const ITEMS: usize = 1 << 20;
/// Blocks per batch handed from producer to consumer in `cross_thread`.
pub const BATCH: usize = 256;
/// Batches in flight (filled or being freed) in `cross_thread`: enough that neither side waits
/// for the other in steady state, few enough that the live set stays small (2,048 blocks).
pub const BATCHES_IN_FLIGHT: usize = 8;
/// Slots of the `stream` and `latency` ring. The live set is at most this many blocks.
pub const RING_SLOTS: usize = 1024;

/// One run's result: ns per item, page faults of the measured threads, whether pinned.
#[derive(Clone, Copy, Debug)]
pub struct Run {
    /// Nanoseconds per item (pair, alloc+free, or streamed block).
    pub ns: f64,
    /// Page faults the measured threads took during the run.
    pub faults: u64,
    /// For two-thread cases: whether both threads were pinned.
    pub pinned: Option<bool>,
}

fn ns_per(elapsed: std::time::Duration, items: usize) -> f64 {
    elapsed.as_nanos() as f64 / items as f64
}

/// `pair`: allocate a block, touch it, free it, [`PAIRS`] times on one thread.
///
/// # Errors
/// The allocator returned no block.
pub fn pair<A: Family>(a: &A) -> Result<Run, BenchError> {
    let local = a.local()?;
    let before = faults::thread();
    let start = Instant::now();
    for i in 0..PAIRS {
        let block = local.alloc().ok_or_else(|| a.exhausted())?;
        touch(block, i);
        // SAFETY: allocated just above from this family, freed once.
        unsafe { local.free(black_box(block)) };
    }
    let elapsed = start.elapsed();
    Ok(Run {
        ns: ns_per(elapsed, PAIRS),
        faults: faults::thread().saturating_sub(before),
        pinned: None,
    })
}

/// `cycles` times: allocate `order.len()` blocks into `blocks`, then free them in `order`.
/// `blocks` is scratch space of the same length, allocated by the caller so that its own
/// memory (and page faults) stays out of the measurement.
///
/// # Errors
/// The allocator returned no block (the blocks of the unfinished cycle are leaked).
pub fn churn<A: Family>(
    a: &A,
    local: &A::Local<'_>,
    order: &[usize],
    blocks: &mut [NonNull<u8>],
    cycles: usize,
) -> Result<(), BenchError> {
    debug_assert_eq!(order.len(), blocks.len());
    for _ in 0..cycles {
        for (i, slot) in blocks.iter_mut().enumerate() {
            let block = local.alloc().ok_or_else(|| a.exhausted())?;
            touch(block, i);
            *slot = block;
        }
        for &i in order {
            // SAFETY: `order` is a permutation of the indices of `blocks`, so every block of
            // this cycle is freed once.
            unsafe { local.free(blocks[i]) };
        }
    }
    Ok(())
}

/// Scratch space for [`churn`] with `n` blocks, every page already touched.
pub fn scratch(n: usize) -> Vec<NonNull<u8>> {
    vec![NonNull::<u8>::dangling(); n]
}

/// `shuffled_*`: [`churn`] with `order.len()` live blocks, [`SHUFFLED_OPS`] allocations in all.
///
/// # Errors
/// The allocator returned no block.
pub fn shuffled<A: Family>(a: &A, order: &[usize]) -> Result<Run, BenchError> {
    let local = a.local()?;
    let cycles = (SHUFFLED_OPS / order.len().max(1)).max(1);
    let mut blocks = scratch(order.len());
    let before = faults::thread();
    let start = Instant::now();
    churn(a, &local, order, &mut blocks, cycles)?;
    let elapsed = start.elapsed();
    Ok(Run {
        ns: ns_per(elapsed, cycles * order.len()),
        faults: faults::thread().saturating_sub(before),
        pinned: None,
    })
}

/// `cross_thread`: the producer allocates [`ITEMS`] blocks in batches of [`BATCH`] and sends
/// each batch over a bounded `std::sync::mpsc` channel; the consumer frees every block of a
/// batch and sends the empty `Vec` back for reuse. Not pinned.
///
/// # Errors
/// The allocator returned no block; a thread panicked.
pub fn cross_thread<A: Family>(a: &A) -> Result<Run, BenchError> {
    let (full_tx, full_rx) = mpsc::sync_channel::<Vec<usize>>(BATCHES_IN_FLIGHT);
    let (empty_tx, empty_rx) = mpsc::sync_channel::<Vec<usize>>(BATCHES_IN_FLIGHT);
    for _ in 0..BATCHES_IN_FLIGHT {
        // Cannot fail: the receiver is alive and the channel has room for all of them.
        let _ = empty_tx.send(Vec::with_capacity(BATCH));
    }
    let gone = || {
        alloc_failed(
            a.which(),
            "cross_thread: the other thread stopped early".to_owned(),
        )
    };
    let produce = move |local: &A::Local<'_>| {
        let mut sent = 0;
        while sent < ITEMS {
            let mut batch = empty_rx.recv().map_err(|_| gone())?;
            for i in 0..BATCH {
                let block = local.alloc().ok_or_else(|| a.exhausted())?;
                touch(block, i);
                batch.push(block.as_ptr() as usize);
            }
            full_tx.send(batch).map_err(|_| gone())?;
            sent += BATCH;
        }
        // Dropping `full_tx` here ends the consumer's loop.
        Ok(())
    };
    let consume = move |local: &A::Local<'_>| {
        while let Ok(mut batch) = full_rx.recv() {
            for &addr in &batch {
                if let Some(block) = NonNull::new(addr as *mut u8) {
                    // SAFETY: the producer allocated it from this family and sent it once.
                    unsafe { local.free(block) };
                }
            }
            batch.clear();
            // The producer may have finished and dropped its receiver: nothing to do then.
            let _ = empty_tx.send(batch);
        }
        Ok(())
    };
    let (run, _) = two_threads(a, None, produce, consume)?;
    Ok(two_thread_run(&run, ITEMS, None))
}

fn two_thread_run<P>(run: &TwoThreads<P>, items: usize, pinned: Option<bool>) -> Run {
    Run {
        ns: ns_per(run.elapsed, items),
        faults: run.faults,
        pinned,
    }
}

/// End of stream (no block lives at address 0).
pub const END: usize = 0;

/// `stream`: the producer allocates [`ITEMS`] blocks one by one and pushes each through a
/// [`Ring`] of [`RING_SLOTS`]; the consumer pops and frees. Threads pinned to `cores` if given.
///
/// # Errors
/// The allocator returned no block; a thread panicked.
pub fn stream<A: Family>(
    a: &A,
    cores: Option<[core_affinity::CoreId; 2]>,
) -> Result<Run, BenchError> {
    let mut ring = Ring::new(RING_SLOTS);
    let (mut tx, mut rx) = ring.split();
    let produce = move |local: &A::Local<'_>| {
        for i in 0..ITEMS {
            let Some(block) = local.alloc() else {
                tx.push(END);
                return Err(a.exhausted());
            };
            touch(block, i);
            tx.push(block.as_ptr() as usize);
        }
        tx.push(END);
        Ok(())
    };
    let consume = move |local: &A::Local<'_>| {
        free_until_end(local, &mut rx);
        Ok(())
    };
    let (run, pinned) = two_threads(a, cores, produce, consume)?;
    Ok(two_thread_run(&run, ITEMS, Some(pinned)))
}

/// The consumer of `stream` and `latency`: pops and frees blocks until [`END`].
pub fn free_until_end<L: Local>(local: &L, rx: &mut super::spsc::Consumer<'_>) {
    loop {
        let addr = rx.pop();
        let Some(block) = NonNull::new(addr as *mut u8) else {
            return;
        };
        // SAFETY: the producer allocated it from this family and pushed it once.
        unsafe { local.free(block) };
    }
}
