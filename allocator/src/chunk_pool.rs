//! The global chunk pool: chunks no heap owns.
//!
//! Two [`IndexStack`]s share one link array:
//!
//! * `resident`: chunks whose pages are backed (pre-faulted at start, or returned by a heap).
//!   Taking one costs one CAS and no page fault.
//! * `trimmed`: chunks whose block pages [`ChunkPool::trim`] gave back to the OS. Taken only
//!   when `resident` is empty; their first use faults pages back in (the price of trimming).
//!
//! A heap takes a chunk when its own chunks are full and returns one as soon as all of the
//! chunk's blocks are free again, so memory freed in one size class is reusable by every class
//! and every thread.

use crate::chunk::{Chunk, ChunkState};
use crate::error::AllocError;
use crate::index_stack::{IndexStack, NONE};
use crate::loom::stat;
use crate::loom::AtomicU32;
use crate::region::Region;
use crate::sys_alloc::SysSlice;

/// Chunks not owned by any heap.
pub(crate) struct ChunkPool {
    /// Backed chunks, popped first.
    resident: IndexStack,
    /// Chunks whose block pages were released by `trim`.
    trimmed: IndexStack,
    /// `links[i]` = the chunk below chunk `i` on whichever stack holds it.
    links: SysSlice<AtomicU32>,
    /// Chunks on `trimmed` (statistics only).
    trimmed_count: stat::AtomicUsize,
}

impl ChunkPool {
    /// A pool holding every chunk of `region`, lowest address on top.
    pub(crate) fn new(region: &Region) -> Result<ChunkPool, AllocError> {
        let pool = ChunkPool {
            resident: IndexStack::new(),
            trimmed: IndexStack::new(),
            links: SysSlice::new(region.chunks(), |_| AtomicU32::new(NONE))?,
            trimmed_count: stat::AtomicUsize::new(0),
        };
        for i in (0..region.chunks() as u32).rev() {
            // SAFETY: the region was just built and is not shared yet; chunk `i` is in it.
            unsafe { Chunk(region.chunk(i)).init() };
            pool.resident.push(&pool.links, i);
        }
        Ok(pool)
    }

    /// Takes a chunk (resident first). The caller owns the returned chunk exclusively.
    #[inline]
    pub(crate) fn pop(&self, region: &Region) -> Option<Chunk> {
        if let Some(i) = self.resident.pop(&self.links) {
            return Some(Chunk(region.chunk(i)));
        }
        self.pop_trimmed(region)
    }

    /// Takes a trimmed chunk.
    #[cold]
    fn pop_trimmed(&self, region: &Region) -> Option<Chunk> {
        let i = self.trimmed.pop(&self.links)?;
        self.trimmed_count
            .fetch_sub(1, core::sync::atomic::Ordering::Relaxed);
        Some(Chunk(region.chunk(i)))
    }

    /// Returns a chunk whose blocks are all free.
    ///
    /// # Safety
    /// The caller owns `chunk` (no heap refers to it any more, `used == 0`).
    pub(crate) unsafe fn push(&self, region: &Region, chunk: Chunk) {
        // SAFETY: the caller owns the chunk.
        unsafe { chunk.with_local(|l| l.state = ChunkState::Pooled) };
        chunk
            .header()
            .owner
            .store(core::ptr::null_mut(), crate::loom::Ordering::Relaxed);
        self.resident.push(&self.links, region.index_of(chunk.0));
    }

    /// Gives the block pages of every resident chunk back to the OS and moves those chunks to
    /// the trimmed stack. Returns how many chunks were trimmed.
    ///
    /// Chunks are moved one at a time, so at most one chunk is invisible to allocating threads
    /// at any moment; an allocation racing with `trim` can see the pool one chunk short.
    #[cold]
    pub(crate) fn trim(&self, region: &Region) -> usize {
        let mut trimmed = 0;
        // Bounded: each iteration moves one chunk off `resident`; chunks returned concurrently
        // are trimmed too, but never more than the region holds.
        for _ in 0..region.chunks() {
            let Some(i) = self.resident.pop(&self.links) else {
                break;
            };
            if region.discard_chunk(i) {
                self.trimmed_count
                    .fetch_add(1, core::sync::atomic::Ordering::Relaxed);
                self.trimmed.push(&self.links, i);
                trimmed += 1;
            } else {
                self.resident.push(&self.links, i);
                break;
            }
        }
        trimmed
    }

    /// Chunks on the trimmed stack (statistics).
    pub(crate) fn trimmed(&self) -> usize {
        self.trimmed_count
            .load(core::sync::atomic::Ordering::Relaxed)
    }
}
