//! An explicitly owned heap: the per-thread heap as a value.
//!
//! [`Pool::alloc`](crate::Pool::alloc) and [`SizeClasses::alloc_layout`](crate::SizeClasses::alloc_layout)
//! find the calling thread's heap through a thread-local table. A [`Heap`] is the same thing
//! without the table: it owns one heap slot until dropped, so a worker thread can hold one and
//! skip the lookup, and loom models can create one per model thread.

use core::alloc::Layout;
use core::marker::PhantomData;
use core::ptr::NonNull;

use crate::class_heap::ClassHeap;
use crate::engine::Core;
use crate::error::AllocError;

/// One owned heap slot of a [`Pool`](crate::Pool) or [`SizeClasses`](crate::SizeClasses).
///
/// Not `Send`: its fast paths rely on being used by one thread. Dropping it releases the slot;
/// if blocks are still live, the heap is *abandoned* with them and the next thread that takes a
/// slot adopts it (their frees go to its remote list meanwhile; nothing leaks).
///
/// ```
/// use core::alloc::Layout;
/// use kairos_alloc::{Config, SizeClasses};
///
/// let classes = SizeClasses::new(Config::new(1 << 20)).unwrap();
/// let heap = classes.heap().unwrap();
/// let layout = Layout::from_size_align(100, 8).unwrap();
/// let block = heap.alloc_layout(layout).unwrap();
/// // SAFETY: `block` came from this allocator with `layout` and is freed once.
/// unsafe { heap.free(block, layout) };
/// assert_eq!(classes.stats().live_blocks, 0);
/// ```
pub struct Heap<'a> {
    /// The allocator the slot belongs to.
    core: &'a Core,
    /// The slot we own.
    slot: u32,
    /// The slot's records, one per class (`core.slot(slot)`, kept to skip the indexing).
    records: &'a [ClassHeap],
    /// `!Send` and `!Sync`: owner-only state is accessed without synchronisation.
    _owner_thread: PhantomData<*mut ()>,
}

impl<'a> Heap<'a> {
    /// Takes a free slot of `core`.
    pub(crate) fn acquire(core: &'a Core) -> Result<Heap<'a>, AllocError> {
        let slot = core.acquire_heap()?;
        Ok(Heap {
            core,
            slot,
            records: core.slot(slot),
            _owner_thread: PhantomData,
        })
    }

    /// Allocates one block of the smallest class (for a [`Pool`](crate::Pool): its block).
    ///
    /// ```
    /// use kairos_alloc::{Config, Pool};
    ///
    /// let pool = Pool::new(128, Config::new(1 << 20)).unwrap();
    /// let heap = pool.heap().unwrap();
    /// let block = heap.alloc().unwrap();
    /// // SAFETY: allocated from this pool, freed once with the pool's block layout.
    /// unsafe { heap.free(block, pool.block_layout()) };
    /// ```
    #[inline]
    pub fn alloc(&self) -> Result<NonNull<u8>, AllocError> {
        // Every allocator has at least one class, so `records` is not empty.
        let Some(record) = self.records.first() else {
            return self.alloc_failed();
        };
        // SAFETY: we own the slot, and `record` belongs to `self.core`.
        match unsafe { record.alloc(self.core) } {
            Some(block) => Ok(block),
            None => self.alloc_failed(),
        }
    }

    /// An [`alloc`](Heap::alloc) that found no block: the system allocator if
    /// `Config::fallback`, else the exhaustion error.
    #[cold]
    fn alloc_failed(&self) -> Result<NonNull<u8>, AllocError> {
        let layout = self.core.classes.get(0).layout();
        self.core.fallback_alloc(layout, self.core.exhausted())
    }

    /// Allocates a block for `layout` from the smallest class that fits it.
    ///
    /// ```
    /// use core::alloc::Layout;
    /// use kairos_alloc::{AllocError, Config, SizeClasses};
    ///
    /// let classes = SizeClasses::new(Config::new(1 << 20)).unwrap();
    /// let heap = classes.heap().unwrap();
    /// let err = heap.alloc_layout(Layout::new::<()>()).unwrap_err();
    /// assert_eq!(err, AllocError::ZeroSize);
    /// ```
    #[inline]
    pub fn alloc_layout(&self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        // SAFETY: we own the slot.
        unsafe { self.core.alloc_with(self.slot, layout) }
    }

    /// Frees a block of this allocator: local if this heap owns it, else a remote free.
    ///
    /// # Safety
    /// `ptr` was returned by this allocator (any heap, any thread) for `layout` (for a `Pool`:
    /// [`Pool::block_layout`](crate::Pool::block_layout)), and is freed exactly once.
    ///
    /// ```
    /// use kairos_alloc::{Config, Pool};
    ///
    /// let pool = Pool::new(64, Config::new(1 << 20)).unwrap();
    /// let a = pool.heap().unwrap();
    /// let block = a.alloc().unwrap();
    /// let b = pool.heap().unwrap();
    /// // SAFETY: allocated from this pool and freed once; from `b` it is a remote free.
    /// unsafe { b.free(block, pool.block_layout()) };
    /// assert_eq!(pool.stats().remote_frees, 1);
    /// ```
    #[inline]
    pub unsafe fn free(&self, ptr: NonNull<u8>, layout: Layout) {
        // A pool's heap has one class: a block of its current chunk is ours, and is freed
        // inline without reading the chunk's header. Every other block takes the general path.
        if let [record] = self.records {
            // SAFETY: we own the slot; forwarded contract.
            if unsafe { record.free_if_current(self.core, ptr) } {
                return;
            }
        }
        // SAFETY: forwarded contract; we own the slot.
        unsafe { self.core.free(ptr, layout, Some(self.slot)) }
    }

    /// Gives every block freed remotely so far back to its chunk; returns how many.
    ///
    /// Allocation does not: it serves remotely freed blocks again as they are (one swap takes
    /// them all), so they stay counted in their chunks. Call this to return memory to the
    /// global pool promptly (O(number of pending blocks)).
    ///
    /// ```
    /// use kairos_alloc::{Config, Pool};
    ///
    /// let pool = Pool::new(64, Config::new(1 << 20)).unwrap();
    /// let owner = pool.heap().unwrap();
    /// let block = owner.alloc().unwrap();
    /// // SAFETY: allocated from this pool and freed once (remotely: this thread's table
    /// // heap is not `owner`).
    /// unsafe { pool.free(block) };
    /// assert_eq!(owner.collect(), 1);
    /// ```
    pub fn collect(&self) -> usize {
        // SAFETY: we own the slot.
        unsafe { self.core.collect(self.slot) }
    }
}

impl Drop for Heap<'_> {
    fn drop(&mut self) {
        // SAFETY: we own the slot and stop using it.
        unsafe { self.core.release_heap(self.slot, true) };
    }
}

impl core::fmt::Debug for Heap<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Heap").field("slot", &self.slot).finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::{Config, Pool};

    /// A pool heap frees a block of its current chunk inline and every other block (an older
    /// chunk's, another heap's) on the general path: every block comes back where it belongs,
    /// chunks no longer used go back to the pool, and the other heap's block is a remote free.
    #[test]
    fn a_pool_heap_frees_blocks_of_every_chunk_and_of_other_heaps() {
        let pool = Pool::new(4096, Config::new(16 << 16)).unwrap();
        let layout = pool.block_layout();
        let a = pool.heap().unwrap();
        let b = pool.heap().unwrap();
        // About 15 blocks per chunk: these span three chunks, the last one current.
        let blocks: Vec<_> = (0..40).map(|_| a.alloc().unwrap()).collect();
        let foreign = b.alloc().unwrap();
        let chunks_before = pool.stats().chunks_in_use;
        assert!(chunks_before >= 4, "three chunks of a's and one of b's");
        for block in blocks.into_iter().rev() {
            // SAFETY: allocated from this pool above, freed once.
            unsafe { a.free(block, layout) };
        }
        // SAFETY: allocated from this pool by `b`, freed once (a remote free from `a`).
        unsafe { a.free(foreign, layout) };
        let stats = pool.stats();
        assert_eq!(stats.local_frees, 40);
        assert_eq!(stats.remote_frees, 1);
        assert_eq!(b.collect(), 1);
        assert_eq!(pool.stats().live_blocks, 0);
        // The older chunks emptied and went back to the pool; each heap keeps its current one.
        assert_eq!(pool.stats().chunks_in_use, 2);
        // Everything is allocatable again.
        let again: Vec<_> = (0..40).map(|_| a.alloc().unwrap()).collect();
        for block in again {
            // SAFETY: allocated from this pool above, freed once.
            unsafe { a.free(block, layout) };
        }
        assert_eq!(pool.stats().live_blocks, 0);
    }
}
