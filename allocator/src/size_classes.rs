//! [`SizeClasses`]: many block sizes behind one region.

use core::alloc::Layout;
use core::ptr::NonNull;

use crate::class_table::{ClassTable, DEFAULT_CLASSES};
use crate::config::Config;
use crate::engine::Core;
use crate::error::AllocError;
use crate::heap::Heap;
use crate::pool_box::PoolBox;
use crate::stats::Stats;
use crate::sys_alloc::SysArc;
use crate::thread_heap;

/// Blocks of several sizes from one reserved region, O(1) allocation and free from any thread.
///
/// A request for a [`Layout`] is served from the smallest class whose size and alignment fit
/// it. All classes share the region and its chunk pool, so memory freed in one class is
/// reusable by the others once a whole chunk is free.
///
/// ```
/// use core::alloc::Layout;
/// use kairos_alloc::{Config, SizeClasses};
///
/// let classes = SizeClasses::new(Config::new(1 << 20)).unwrap();
/// let layout = Layout::from_size_align(200, 64).unwrap();
/// let block = classes.alloc_layout(layout).unwrap(); // served by the 256-byte class
/// assert_eq!(block.as_ptr() as usize % 64, 0);
/// // SAFETY: allocated from `classes` with `layout`, freed once.
/// unsafe { classes.free(block, layout) };
/// ```
pub struct SizeClasses {
    /// The shared allocator state.
    core: SysArc<Core>,
}

impl SizeClasses {
    /// An allocator with the [`DEFAULT_CLASSES`] (64 B to 4 KiB).
    ///
    /// ```
    /// let classes = kairos_alloc::SizeClasses::new(kairos_alloc::Config::new(1 << 20)).unwrap();
    /// assert_eq!(classes.max_block_size(), 4096);
    /// ```
    pub fn new(config: Config) -> Result<SizeClasses, AllocError> {
        SizeClasses::with_classes(&DEFAULT_CLASSES, config)
    }

    /// An allocator with the given class sizes: strictly increasing, each at most
    /// [`MAX_BLOCK_SIZE`](crate::MAX_BLOCK_SIZE), at most [`MAX_CLASSES`](crate::MAX_CLASSES)
    /// of them, each rounded up to a multiple of 16.
    ///
    /// ```
    /// use kairos_alloc::{Config, SizeClasses};
    ///
    /// let classes = SizeClasses::with_classes(&[96, 192, 384], Config::new(1 << 20)).unwrap();
    /// assert_eq!(classes.class_sizes().collect::<Vec<_>>(), [96, 192, 384]);
    /// assert!(SizeClasses::with_classes(&[128, 64], Config::new(1 << 20)).is_err());
    /// ```
    pub fn with_classes(sizes: &[usize], config: Config) -> Result<SizeClasses, AllocError> {
        let classes = ClassTable::new(sizes)?;
        Ok(SizeClasses {
            core: Core::new(&config, classes)?,
        })
    }

    /// The class sizes, smallest first.
    ///
    /// ```
    /// let classes = kairos_alloc::SizeClasses::new(kairos_alloc::Config::new(0)).unwrap();
    /// assert_eq!(classes.class_sizes().next(), Some(64));
    /// ```
    pub fn class_sizes(&self) -> impl Iterator<Item = usize> + '_ {
        self.core.classes.iter().map(|c| c.size as usize)
    }

    /// The largest block size served from the region.
    ///
    /// ```
    /// let classes = kairos_alloc::SizeClasses::new(kairos_alloc::Config::new(0)).unwrap();
    /// assert_eq!(classes.max_block_size(), 4096);
    /// ```
    pub fn max_block_size(&self) -> usize {
        self.class_sizes().last().unwrap_or(0)
    }

    /// Allocates a block for `layout` from the calling thread's heap.
    ///
    /// Errors: [`AllocError::ZeroSize`] for zero-size layouts; [`AllocError::Unsupported`] for
    /// layouts larger or more aligned than the largest class, and [`AllocError::Exhausted`]
    /// when the region is full, both unless `Config::fallback` is on, in which case the system
    /// allocator serves them.
    ///
    /// ```
    /// use core::alloc::Layout;
    /// use kairos_alloc::{AllocError, Config, SizeClasses};
    ///
    /// let classes = SizeClasses::new(Config::new(1 << 20)).unwrap();
    /// let big = Layout::from_size_align(8192, 8).unwrap();
    /// assert!(matches!(classes.alloc_layout(big), Err(AllocError::Unsupported { .. })));
    ///
    /// let with_fallback = SizeClasses::new(Config::new(1 << 20).with_fallback(true)).unwrap();
    /// let block = with_fallback.alloc_layout(big).unwrap();
    /// assert_eq!(with_fallback.stats().fallback_allocs, 1);
    /// // SAFETY: allocated from `with_fallback` with `big`, freed once.
    /// unsafe { with_fallback.free(block, big) };
    /// ```
    #[inline]
    pub fn alloc_layout(&self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        Core::alloc(&self.core, layout)
    }

    /// Frees a block, on any thread.
    ///
    /// Region blocks are found by masking the address (the layout is not needed for them);
    /// blocks from the fallback go back to the system allocator with `layout`.
    ///
    /// # Safety
    /// `ptr` was returned by this allocator for `layout` and is freed exactly once.
    ///
    /// ```
    /// use core::alloc::Layout;
    ///
    /// let classes = kairos_alloc::SizeClasses::new(kairos_alloc::Config::new(1 << 20)).unwrap();
    /// let layout = Layout::new::<[u64; 20]>();
    /// let block = classes.alloc_layout(layout).unwrap();
    /// // SAFETY: allocated from `classes` with `layout`, freed once.
    /// unsafe { classes.free(block, layout) };
    /// ```
    #[inline]
    pub unsafe fn free(&self, ptr: NonNull<u8>, layout: Layout) {
        let slot = thread_heap::owned_slot(&self.core);
        // SAFETY: forwarded contract; `slot` is owned by this thread.
        unsafe { self.core.free(ptr, layout, slot) }
    }

    /// Moves `value` into a block of the smallest fitting class.
    ///
    /// ```
    /// let classes = kairos_alloc::SizeClasses::new(kairos_alloc::Config::new(1 << 20)).unwrap();
    /// let mut b = classes.boxed(String::from("task")).unwrap();
    /// b.push('!');
    /// assert_eq!(*b, "task!");
    /// ```
    pub fn boxed<T>(&self, value: T) -> Result<PoolBox<'_, T>, AllocError> {
        let layout = Layout::new::<T>();
        let block = self.alloc_layout(layout)?;
        // SAFETY: the block was allocated for `T`'s layout and is ours; it is freed with it.
        Ok(unsafe { PoolBox::from_block(&self.core, block, layout, value) })
    }

    /// Takes a heap slot for explicit use (see [`Heap`]).
    ///
    /// ```
    /// use core::alloc::Layout;
    ///
    /// let classes = kairos_alloc::SizeClasses::new(kairos_alloc::Config::new(1 << 20)).unwrap();
    /// let heap = classes.heap().unwrap();
    /// let layout = Layout::new::<u64>();
    /// let block = heap.alloc_layout(layout).unwrap();
    /// // SAFETY: allocated from `classes` with `layout`, freed once.
    /// unsafe { heap.free(block, layout) };
    /// ```
    pub fn heap(&self) -> Result<Heap<'_>, AllocError> {
        Heap::acquire(&self.core)
    }

    /// Whether `ptr` points into this allocator's region (fallback blocks do not).
    ///
    /// ```
    /// let classes = kairos_alloc::SizeClasses::new(kairos_alloc::Config::new(1 << 20)).unwrap();
    /// let block = classes.alloc_layout(core::alloc::Layout::new::<u64>()).unwrap();
    /// assert!(classes.contains(block));
    /// assert!(!classes.contains(core::ptr::NonNull::from(&0u8)));
    /// // SAFETY: allocated above, freed once.
    /// unsafe { classes.free(block, core::alloc::Layout::new::<u64>()) };
    /// ```
    pub fn contains(&self, ptr: NonNull<u8>) -> bool {
        self.core.region.contains(ptr.as_ptr())
    }

    /// A snapshot of the counters.
    ///
    /// ```
    /// let classes = kairos_alloc::SizeClasses::new(kairos_alloc::Config::new(1 << 20)).unwrap();
    /// assert_eq!(classes.stats().live_blocks, 0);
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
    /// let classes = kairos_alloc::SizeClasses::new(kairos_alloc::Config::new(1 << 20)).unwrap();
    /// let addr = std::thread::scope(|s| {
    ///     s.spawn(|| classes.alloc_layout(core::alloc::Layout::new::<u64>()).unwrap().as_ptr() as usize).join().unwrap()
    /// }); // the thread exited: its heap is abandoned with one live block
    /// let block = core::ptr::NonNull::new(addr as *mut u8).unwrap();
    /// // SAFETY: allocated from `classes` above, freed once.
    /// unsafe { classes.free(block, core::alloc::Layout::new::<u64>()) };
    /// assert_eq!(classes.stats().heaps_abandoned, 1);
    /// assert_eq!(classes.reclaim_abandoned(), 1);
    /// assert_eq!(classes.stats().chunks_in_use, 0);
    /// ```
    pub fn reclaim_abandoned(&self) -> usize {
        self.core.reclaim_abandoned()
    }

    /// Gives the pages of every chunk in the global pool back to the OS; see [`Pool::trim`].
    ///
    /// [`Pool::trim`]: crate::Pool::trim
    ///
    /// ```
    /// let classes = kairos_alloc::SizeClasses::new(kairos_alloc::Config::new(1 << 20)).unwrap();
    /// assert_eq!(classes.trim(), classes.stats().chunks_trimmed);
    /// ```
    pub fn trim(&self) -> usize {
        self.core.trim()
    }

    /// The shared core (used by [`PoolAlloc`](crate::PoolAlloc)).
    pub(crate) fn core(&self) -> &Core {
        &self.core
    }

    /// Wraps a core (used by the global instance).
    pub(crate) fn from_core(core: SysArc<Core>) -> SizeClasses {
        SizeClasses { core }
    }
}

impl Drop for SizeClasses {
    fn drop(&mut self) {
        self.core
            .closed
            .store(true, core::sync::atomic::Ordering::Relaxed);
        thread_heap::forget(&self.core);
    }
}

impl core::fmt::Debug for SizeClasses {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SizeClasses")
            .field(
                "classes",
                &self.class_sizes().collect::<heapless::Vec<usize, 16>>(),
            )
            .field("stats", &self.stats())
            .finish()
    }
}
