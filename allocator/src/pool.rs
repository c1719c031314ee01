//! [`Pool`]: one block size.

use core::alloc::Layout;
use core::ptr::NonNull;

use crate::class_table::ClassTable;
use crate::config::Config;
use crate::engine::Core;
use crate::error::AllocError;
use crate::heap::Heap;
use crate::pool_box::PoolBox;
use crate::stats::Stats;
use crate::sys_alloc::SysArc;
use crate::thread_heap;

/// A pool of fixed-size blocks with O(1) allocation and free from any thread.
///
/// The block size is rounded up to a multiple of 16 bytes; blocks are aligned to the largest
/// power of two dividing it (capped at 4096), see [`Pool::block_layout`]. `Pool` is `Send` and
/// `Sync`: share it by reference or in an `Arc`, allocate on any thread, free on any thread.
///
/// ```
/// use kairos_alloc::{Config, Pool};
///
/// let pool = Pool::new(256, Config::new(1 << 20)).unwrap();
/// let block = pool.alloc().unwrap();
/// assert_eq!(block.as_ptr() as usize % 256, 0);
/// std::thread::scope(|s| {
///     let addr = block.as_ptr() as usize;
///     let pool = &pool;
///     s.spawn(move || {
///         let block = core::ptr::NonNull::new(addr as *mut u8).unwrap();
///         // SAFETY: allocated from `pool`, freed once (a remote free from this thread).
///         unsafe { pool.free(block) };
///     });
/// });
/// assert_eq!(pool.stats().live_blocks, 0);
/// ```
pub struct Pool {
    /// The shared allocator state.
    core: SysArc<Core>,
    /// Size and alignment of every block (the fallback allocation uses it too).
    layout: Layout,
}

impl Pool {
    /// Reserves `config.capacity` bytes of blocks of `block_size` bytes.
    ///
    /// Fails with [`AllocError::InvalidConfig`] if `block_size` is zero or above
    /// [`MAX_BLOCK_SIZE`](crate::MAX_BLOCK_SIZE), and with [`AllocError::Reserve`] if the OS
    /// refuses the memory.
    ///
    /// ```
    /// use kairos_alloc::{AllocError, Config, Pool};
    ///
    /// assert!(Pool::new(48, Config::new(1 << 20)).is_ok());
    /// assert!(matches!(Pool::new(0, Config::new(1 << 20)), Err(AllocError::InvalidConfig(_))));
    /// ```
    pub fn new(block_size: usize, config: Config) -> Result<Pool, AllocError> {
        let classes = ClassTable::new(&[block_size])?;
        let layout = classes.get(0).layout();
        Ok(Pool {
            core: Core::new(&config, classes)?,
            layout,
        })
    }

    /// Size and alignment of every block.
    ///
    /// ```
    /// let pool = kairos_alloc::Pool::new(40, kairos_alloc::Config::new(1 << 16)).unwrap();
    /// assert_eq!(pool.block_layout().size(), 48);
    /// assert_eq!(pool.block_layout().align(), 16);
    /// ```
    pub fn block_layout(&self) -> Layout {
        self.layout
    }

    /// Blocks one chunk holds.
    ///
    /// ```
    /// let pool = kairos_alloc::Pool::new(16 * 1024, kairos_alloc::Config::new(1 << 16)).unwrap();
    /// assert_eq!(pool.blocks_per_chunk(), 3);
    /// ```
    pub fn blocks_per_chunk(&self) -> usize {
        self.core.classes.get(0).blocks_per_chunk()
    }

    /// Allocates one block from the calling thread's heap.
    ///
    /// O(1): a free-list pop or a bump in the common case. Errors with
    /// [`AllocError::Exhausted`] when every chunk is in use (unless `Config::fallback`).
    ///
    /// ```
    /// let pool = kairos_alloc::Pool::new(64, kairos_alloc::Config::new(1 << 20)).unwrap();
    /// let block = pool.alloc().unwrap();
    /// // SAFETY: allocated from `pool`, freed once.
    /// unsafe { pool.free(block) };
    /// ```
    #[inline]
    pub fn alloc(&self) -> Result<NonNull<u8>, AllocError> {
        // Class 0 is the pool's only class: no size lookup.
        Core::alloc_class(&self.core, 0, self.layout)
    }

    /// Frees a block, on any thread.
    ///
    /// # Safety
    /// `ptr` was returned by this pool's [`alloc`](Pool::alloc) (or by one of its
    /// [`Heap`]s' `alloc`) and is freed exactly once; nothing uses it afterwards.
    ///
    /// ```
    /// let pool = kairos_alloc::Pool::new(64, kairos_alloc::Config::new(1 << 20)).unwrap();
    /// let block = pool.alloc().unwrap();
    /// // SAFETY: allocated from `pool`, freed once.
    /// unsafe { pool.free(block) };
    /// assert_eq!(pool.stats().local_frees, 1);
    /// ```
    #[inline]
    pub unsafe fn free(&self, ptr: NonNull<u8>) {
        let slot = thread_heap::owned_slot(&self.core);
        // SAFETY: forwarded contract; `slot` is owned by this thread.
        unsafe { self.core.free(ptr, self.layout, slot) }
    }

    /// Moves `value` into a block. Fails with [`AllocError::Unsupported`] if `T` does not fit
    /// [`block_layout`](Pool::block_layout), [`AllocError::ZeroSize`] for zero-sized `T`.
    ///
    /// ```
    /// let pool = kairos_alloc::Pool::new(64, kairos_alloc::Config::new(1 << 20)).unwrap();
    /// let b = pool.boxed([7u64; 4]).unwrap();
    /// assert_eq!(b[3], 7);
    /// assert!(pool.boxed([0u8; 65]).is_err());
    /// ```
    pub fn boxed<T>(&self, value: T) -> Result<PoolBox<'_, T>, AllocError> {
        let layout = Layout::new::<T>();
        if layout.size() == 0 {
            return Err(AllocError::ZeroSize);
        }
        if layout.size() > self.layout.size() || layout.align() > self.layout.align() {
            return Err(AllocError::Unsupported {
                size: layout.size(),
                align: layout.align(),
                max_size: self.layout.size(),
                max_align: self.layout.align(),
            });
        }
        let block = self.alloc()?;
        // SAFETY: the block fits `T` (checked above) and is ours; it is freed with the block
        // layout it was allocated with.
        Ok(unsafe { PoolBox::from_block(&self.core, block, self.layout, value) })
    }

    /// Takes a heap slot for explicit use (see [`Heap`]).
    ///
    /// ```
    /// let pool = kairos_alloc::Pool::new(64, kairos_alloc::Config::new(1 << 20)).unwrap();
    /// let heap = pool.heap().unwrap();
    /// let block = heap.alloc().unwrap();
    /// // SAFETY: allocated from `pool`, freed once.
    /// unsafe { heap.free(block, pool.block_layout()) };
    /// ```
    pub fn heap(&self) -> Result<Heap<'_>, AllocError> {
        Heap::acquire(&self.core)
    }

    /// Whether `ptr` points into this allocator's region (fallback blocks do not).
    ///
    /// ```
    /// let pool = kairos_alloc::Pool::new(64, kairos_alloc::Config::new(1 << 20)).unwrap();
    /// let block = pool.alloc().unwrap();
    /// assert!(pool.contains(block));
    /// assert!(!pool.contains(core::ptr::NonNull::from(&0u8)));
    /// // SAFETY: allocated above, freed once.
    /// unsafe { pool.free(block) };
    /// ```
    pub fn contains(&self, ptr: NonNull<u8>) -> bool {
        self.core.region.contains(ptr.as_ptr())
    }

    /// A snapshot of the counters.
    ///
    /// ```
    /// let pool = kairos_alloc::Pool::new(64, kairos_alloc::Config::new(1 << 20)).unwrap();
    /// assert_eq!(pool.stats().chunks_free, 16);
    /// ```
    pub fn stats(&self) -> Stats {
        self.core.stats()
    }

    /// Tidies abandoned heaps (of exited threads, not yet adopted): drains their remote frees
    /// and returns their empty chunks to the global pool. Returns blocks drained.
    ///
    /// Adoption does this anyway when the next thread needs a heap; call it to get the memory
    /// back sooner. A maintenance call, O(heaps + pending frees); a thread taking its first
    /// heap while it runs may find no free slot (`TooManyHeaps`, or the fallback).
    ///
    /// ```
    /// let pool = kairos_alloc::Pool::new(64, kairos_alloc::Config::new(1 << 20)).unwrap();
    /// let addr = std::thread::scope(|s| {
    ///     s.spawn(|| pool.alloc().unwrap().as_ptr() as usize).join().unwrap()
    /// }); // the thread exited: its heap is abandoned with one live block
    /// let block = core::ptr::NonNull::new(addr as *mut u8).unwrap();
    /// // SAFETY: allocated from `pool` above, freed once.
    /// unsafe { pool.free(block) };
    /// assert_eq!(pool.stats().heaps_abandoned, 1);
    /// assert_eq!(pool.reclaim_abandoned(), 1);
    /// assert_eq!(pool.stats().chunks_in_use, 0);
    /// ```
    pub fn reclaim_abandoned(&self) -> usize {
        self.core.reclaim_abandoned()
    }

    /// Reclaims abandoned heaps ([`reclaim_abandoned`](Pool::reclaim_abandoned)), then gives
    /// the pages of every chunk in the global pool back to the OS (`madvise`); returns how many
    /// chunks were trimmed. Chunks owned by heaps are untouched. A trimmed chunk takes
    /// page faults when next used: call this in quiet phases, not on a real-time path.
    ///
    /// ```
    /// let pool = kairos_alloc::Pool::new(64, kairos_alloc::Config::new(1 << 20)).unwrap();
    /// let trimmed = pool.trim();
    /// assert_eq!(pool.stats().chunks_trimmed, trimmed);
    /// let block = pool.alloc().unwrap(); // still works, from a trimmed chunk
    /// // SAFETY: allocated from `pool`, freed once.
    /// unsafe { pool.free(block) };
    /// ```
    pub fn trim(&self) -> usize {
        self.core.trim()
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.core
            .closed
            .store(true, core::sync::atomic::Ordering::Relaxed);
        thread_heap::forget(&self.core);
    }
}

impl core::fmt::Debug for Pool {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Pool")
            .field("block_layout", &self.layout)
            .field("stats", &self.stats())
            .finish()
    }
}
