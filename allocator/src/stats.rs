//! A snapshot of an allocator's counters.
//!
//! Counters are written without read-modify-write on the owner's paths (each heap owns its own
//! counters and stores `old + 1` with `Relaxed`), so collecting statistics puts no shared cache
//! line on the fast path. The price: a snapshot sums counters of many heaps that are read at
//! slightly different moments, so it is exact only while no thread allocates or frees. Remote
//! frees are counted by the freeing thread in its own heap's records; the one shared counter is
//! for remote frees by threads that own no heap slot (one relaxed `fetch_add`, see `engine.rs`).

/// Counters of one [`Pool`](crate::Pool) or [`SizeClasses`](crate::SizeClasses).
///
/// ```
/// use kairos_alloc::{Config, Pool};
///
/// let pool = Pool::new(64, Config::new(1 << 20)).unwrap();
/// let a = pool.alloc().unwrap();
/// assert_eq!(pool.stats().live_blocks, 1);
/// // SAFETY: `a` came from `pool` and is freed once.
/// unsafe { pool.free(a) };
/// let s = pool.stats();
/// assert_eq!(s.live_blocks, 0);
/// assert_eq!(s.chunks_total, 16);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Region blocks handed out and not yet freed (fallback blocks are not included).
    pub live_blocks: u64,
    /// Region blocks handed out since creation.
    pub allocs: u64,
    /// Frees done by the thread owning the block's heap (non-atomic path).
    pub local_frees: u64,
    /// Frees done by another thread (pushed on the owner's remote list).
    pub remote_frees: u64,
    /// Chunks in the region.
    pub chunks_total: usize,
    /// Chunks owned by some heap (current, partially or fully used).
    pub chunks_in_use: usize,
    /// Chunks in the global pool (`chunks_total - chunks_in_use`, as seen by this snapshot).
    pub chunks_free: usize,
    /// Chunks of the global pool whose pages were given back to the OS by `trim`.
    pub chunks_trimmed: usize,
    /// Allocations served by the system allocator because of `Config::fallback`.
    pub fallback_allocs: u64,
    /// Fallback allocations not yet freed.
    pub fallback_live: u64,
    /// Heap slots.
    pub heaps_total: usize,
    /// Heap slots owned right now (by a thread or an explicit `Heap`).
    pub heaps_owned: usize,
    /// Heap slots not owned but still holding chunks: abandoned by an exited thread and not
    /// yet adopted.
    pub heaps_abandoned: usize,
    /// Times a thread took over an abandoned heap that still held chunks.
    pub adoptions: u64,
}
