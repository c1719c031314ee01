//! The global chunk pool: chunks no heap owns.
//!
//! Two [`IndexStack`]s share one link array, beside a counter of never-used chunks:
//!
//! * `resident`: chunks whose pages are backed (pre-faulted at start, or returned by a heap).
//!   Taking one costs one CAS and no page fault.
//! * `fresh`: with a region that is not pre-faulted, the chunks no one has used yet are not on
//!   any stack: `fresh` counts up through them, and the thread that takes index `i` (one
//!   `fetch_add`, so each index goes to one thread) writes its header then. Its pages are backed
//!   on first touch. Taken when `resident` is empty. With a pre-faulted region every chunk starts
//!   on `resident` and `fresh` starts exhausted.
//! * `trimmed`: chunks whose block pages [`ChunkPool::trim`] gave back to the OS. Taken only
//!   when `resident` and `fresh` are empty; their first use faults pages back in (the price of
//!   trimming).
//!
//! A heap takes a chunk when its own chunks are full and returns one as soon as all of the
//! chunk's blocks are free again, so memory freed in one size class is reusable by every class
//! and every thread.

use crate::chunk::{Chunk, ChunkState};
use crate::error::AllocError;
use crate::index_stack::{IndexStack, NONE};
use crate::loom::probe::{self, SlowPath};
use crate::loom::stat;
use crate::loom::{AtomicU32, Ordering};
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
    /// Index of the next never-used chunk; `region.chunks()` or more when none is left.
    fresh: AtomicU32,
}

impl ChunkPool {
    /// A pool holding every chunk of `region`, lowest address first: all on `resident`
    /// with their headers written if `eager` (a pre-faulted region), all fresh otherwise.
    pub(crate) fn new(region: &Region, eager: bool) -> Result<ChunkPool, AllocError> {
        let pool = ChunkPool {
            resident: IndexStack::new(),
            trimmed: IndexStack::new(),
            links: SysSlice::new(region.chunks(), |_| AtomicU32::new(NONE))?,
            trimmed_count: stat::AtomicUsize::new(0),
            fresh: AtomicU32::new(if eager { region.chunks() as u32 } else { 0 }),
        };
        if eager {
            for i in (0..region.chunks() as u32).rev() {
                // SAFETY: the region was just built and is not shared yet; chunk `i` is in it.
                unsafe { Chunk(region.chunk(i)).init() };
                pool.resident.push(&pool.links, i);
            }
        }
        Ok(pool)
    }

    /// Takes a chunk (resident first). The caller owns the returned chunk exclusively.
    #[inline]
    pub(crate) fn pop(&self, region: &Region) -> Option<Chunk> {
        if let Some(i) = self.resident.pop(&self.links) {
            return Some(Chunk(region.chunk(i)));
        }
        self.pop_fresh(region).or_else(|| self.pop_trimmed(region))
    }

    /// Takes a never-used chunk and writes its header.
    #[cold]
    fn pop_fresh(&self, region: &Region) -> Option<Chunk> {
        let chunks = region.chunks() as u32;
        // Cheap early out once every chunk was handed out, so exhausted pools do not keep
        // incrementing (the counter stays far below overflow: it moves past `chunks` at most
        // once per concurrent caller that raced the last fresh chunk).
        if self.fresh.load(Ordering::Relaxed) >= chunks {
            return None;
        }
        let i = self.fresh.fetch_add(1, Ordering::Relaxed);
        if i >= chunks {
            probe::hit(SlowPath::FreshExhausted);
            return None;
        }
        probe::hit(SlowPath::FreshChunk);
        let chunk = Chunk(region.chunk(i));
        // SAFETY: `fetch_add` gave index `i` to this thread alone, and no one has used chunk `i`
        // before (it was never on a stack): its memory is ours and unshared. Publishing it to
        // other threads later (through a heap's `owner` or a stack push) orders this write.
        unsafe { chunk.init() };
        Some(chunk)
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
