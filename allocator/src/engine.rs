//! The shared core behind [`Pool`](crate::Pool) and [`SizeClasses`](crate::SizeClasses).
//!
//! A [`Core`] owns the region, the global chunk pool, the class table and a fixed table of heap
//! slots. A heap slot is one [`ClassHeap`] per class plus an "owned" flag; slots are handed to
//! threads through a tagged-index stack of free slots:
//!
//! * **acquire**: pop a slot (a CAS). If the slot still holds chunks, it was abandoned by a
//!   thread that exited: the new owner *adopts* it and continues from its lists, including the
//!   remote frees that arrived while nobody owned it.
//! * **release** (thread exit, `Heap` drop): drain the remote lists, return empty current chunks
//!   to the pool, push the slot (a CAS, Release: the next owner sees all of our writes).
//!
//! A free needs no slot: it finds the owner through the chunk header and, unless the freeing
//! thread owns that heap, pushes on the owner's remote list. So a thread that only frees (an
//! I/O thread waking tasks) never takes a slot, and frees into an abandoned heap are simply
//! collected by whoever adopts it. Nothing is lost: every block is on a chunk list, a remote
//! list, or live, and every slot is owned or on the free stack until the core is dropped.
//!
//! This is mimalloc's abandonment scheme (Leijen et al. 2019, section 3) at heap granularity:
//! mimalloc hands abandoned *segments* to other threads one by one; we hand over the whole
//! heap, which keeps adoption O(1).

use core::alloc::Layout;
use core::ptr::NonNull;
use std::alloc::{GlobalAlloc, System};

use crate::chunk::Chunk;
use crate::chunk_pool::ChunkPool;
use crate::class_heap::ClassHeap;
use crate::class_table::ClassTable;
use crate::config::Config;
use crate::error::AllocError;
use crate::index_stack::{IndexStack, NONE};
use crate::loom::probe::{self, SlowPath};
use crate::loom::{stat, AtomicU32, Ordering};
use crate::region::Region;
use crate::stats::Stats;
use crate::sys_alloc::{SysArc, SysSlice};
use crate::thread_heap;

/// Everything one allocator instance shares between threads.
pub(crate) struct Core {
    /// The reserved memory.
    pub(crate) region: Region,
    /// Chunks no heap owns.
    pub(crate) pool: ChunkPool,
    /// Block sizes served.
    pub(crate) classes: ClassTable,
    /// `max_heaps * classes.len()` records; slot `s` owns `[s * n, (s + 1) * n)`. Never moved
    /// or freed while the core lives, so chunk headers can point at them.
    class_heaps: SysSlice<ClassHeap>,
    /// Whether slot `s` is owned right now (statistics only).
    owned: SysSlice<stat::AtomicBool>,
    /// Slots no thread owns: fresh, released, or abandoned.
    free_heaps: IndexStack,
    /// Links of `free_heaps`.
    heap_links: SysSlice<AtomicU32>,
    /// `Config::fallback`.
    fallback: bool,
    /// Fallback allocations made (statistics).
    fallback_allocs: stat::AtomicU64,
    /// Fallback allocations freed (statistics).
    fallback_frees: stat::AtomicU64,
    /// Remote frees done by threads that own no heap slot here (statistics; a thread with a
    /// slot counts its remote frees in its own records, without a read-modify-write).
    orphan_remote_frees: stat::AtomicU64,
    /// Acquisitions that adopted a heap still holding chunks (statistics).
    adoptions: stat::AtomicU64,
    /// Set when the user's handle is dropped: per-thread tables may evict their entry for this
    /// core (it can no longer be used to allocate).
    pub(crate) closed: stat::AtomicBool,
}

impl Core {
    /// Reserves the region and builds an allocator serving `classes`.
    pub(crate) fn new(config: &Config, classes: ClassTable) -> Result<SysArc<Core>, AllocError> {
        let chunks = config.chunk_count()?;
        let region = Region::reserve(chunks, config.prefault)?;
        let pool = ChunkPool::new(&region, config.prefault)?;
        let n = classes.len();
        let heaps = config.max_heaps;
        let total = heaps
            .checked_mul(n)
            .ok_or(AllocError::InvalidConfig("max_heaps is too large"))?;
        let class_heaps = SysSlice::new(total, |k| ClassHeap::new((k / n) as u32, (k % n) as u32))?;
        let owned = SysSlice::new(heaps, |_| stat::AtomicBool::new(false))?;
        let heap_links = SysSlice::new(heaps, |_| AtomicU32::new(NONE))?;
        let free_heaps = IndexStack::new();
        for slot in (0..heaps as u32).rev() {
            free_heaps.push(&heap_links, slot);
        }
        SysArc::new(Core {
            region,
            pool,
            classes,
            class_heaps,
            owned,
            free_heaps,
            heap_links,
            fallback: config.fallback,
            fallback_allocs: stat::AtomicU64::new(0),
            fallback_frees: stat::AtomicU64::new(0),
            orphan_remote_frees: stat::AtomicU64::new(0),
            adoptions: stat::AtomicU64::new(0),
            closed: stat::AtomicBool::new(false),
        })
    }

    /// Number of heap slots.
    fn heaps(&self) -> usize {
        self.owned.len()
    }

    /// The records of slot `slot`, one per class.
    #[inline]
    pub(crate) fn slot(&self, slot: u32) -> &[ClassHeap] {
        let n = self.classes.len();
        &self.class_heaps[slot as usize * n..(slot as usize + 1) * n]
    }

    /// Takes a heap slot for the calling thread (adopting it if it was abandoned with chunks).
    #[cold]
    pub(crate) fn acquire_heap(&self) -> Result<u32, AllocError> {
        let slot = self
            .free_heaps
            .pop(&self.heap_links)
            .ok_or(AllocError::TooManyHeaps { max: self.heaps() })?;
        self.owned[slot as usize].store(true, core::sync::atomic::Ordering::Relaxed);
        if self.slot(slot).iter().any(|h| h.chunks() != 0) {
            probe::hit(SlowPath::Adoption);
            self.adoptions
                .fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        }
        Ok(slot)
    }

    /// Gives a slot up. With `tidy`, first drains its remote lists and returns empty current
    /// chunks to the pool (O(pending); done on thread exit, skipped on the transient path).
    ///
    /// # Safety
    /// The caller owns `slot` and stops using it.
    #[cold]
    pub(crate) unsafe fn release_heap(&self, slot: u32, tidy: bool) {
        if tidy {
            for heap in self.slot(slot) {
                // SAFETY: the caller owns the slot.
                unsafe { heap.tidy(self) };
            }
        }
        self.owned[slot as usize].store(false, core::sync::atomic::Ordering::Relaxed);
        self.free_heaps.push(&self.heap_links, slot);
    }

    /// Allocates a block of `class` from heap `slot`.
    ///
    /// # Safety
    /// The caller owns `slot`; `class` is a valid class index.
    #[inline]
    pub(crate) unsafe fn alloc_in(
        &self,
        slot: u32,
        class: usize,
    ) -> Result<NonNull<u8>, AllocError> {
        // SAFETY: forwarded contract.
        match unsafe { self.slot(slot)[class].alloc(self) } {
            Some(block) => Ok(block),
            None => Err(self.exhausted()),
        }
    }

    /// The exhaustion error.
    #[cold]
    pub(crate) fn exhausted(&self) -> AllocError {
        AllocError::Exhausted {
            chunks: self.region.chunks(),
        }
    }

    /// Allocates for `layout` on the calling thread's heap (taking one on first use).
    #[inline]
    pub(crate) fn alloc(this: &SysArc<Core>, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        match this.classes.class_for(layout) {
            Ok(class) => Core::alloc_class(this, class, layout),
            Err(err) => this.fallback_alloc(layout, err),
        }
    }

    /// Allocates a block of `class` (which fits `layout`) on the calling thread's heap.
    #[inline]
    pub(crate) fn alloc_class(
        this: &SysArc<Core>,
        class: usize,
        layout: Layout,
    ) -> Result<NonNull<u8>, AllocError> {
        let result = match thread_heap::slot_for_alloc(this) {
            // SAFETY: the thread table hands out slots this thread owns.
            Ok(Some(slot)) => unsafe { this.alloc_in(slot, class) },
            Ok(None) => this.alloc_transient(class),
            Err(err) => Err(err),
        };
        match result {
            Ok(block) => Ok(block),
            Err(err) => this.fallback_alloc(layout, err),
        }
    }

    /// Allocates for `layout` on an explicitly owned heap.
    ///
    /// # Safety
    /// The caller owns `slot`.
    #[inline]
    pub(crate) unsafe fn alloc_with(
        &self,
        slot: u32,
        layout: Layout,
    ) -> Result<NonNull<u8>, AllocError> {
        let result = match self.classes.class_for(layout) {
            // SAFETY: forwarded contract.
            Ok(class) => unsafe { self.alloc_in(slot, class) },
            Err(err) => Err(err),
        };
        match result {
            Ok(block) => Ok(block),
            Err(err) => self.fallback_alloc(layout, err),
        }
    }

    /// Allocation for a thread without a table entry (table full, or being destroyed, or
    /// loom): borrow a slot for this one allocation. Two extra CASes, still O(1).
    #[cold]
    fn alloc_transient(&self, class: usize) -> Result<NonNull<u8>, AllocError> {
        let slot = self.acquire_heap()?;
        // SAFETY: we just acquired the slot.
        let result = unsafe { self.alloc_in(slot, class) };
        // SAFETY: we own the slot and stop using it.
        unsafe { self.release_heap(slot, false) };
        result
    }

    /// Turns an error into a system allocation if fallback is on.
    #[cold]
    pub(crate) fn fallback_alloc(
        &self,
        layout: Layout,
        err: AllocError,
    ) -> Result<NonNull<u8>, AllocError> {
        if !self.fallback || err == AllocError::ZeroSize {
            return Err(err);
        }
        NonNull::new(self.system_alloc(layout)).ok_or(err)
    }

    /// Allocates from `System`, counted as a fallback allocation (null on failure).
    ///
    /// `layout` must have a non-zero size.
    #[cold]
    pub(crate) fn system_alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() == 0 {
            return core::ptr::null_mut();
        }
        // SAFETY: `layout` has a non-zero size (checked above).
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            self.fallback_allocs
                .fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        }
        ptr
    }

    /// Frees a block; `slot` is the heap the calling thread owns, if any.
    ///
    /// # Safety
    /// `ptr` was returned by this core for `layout` and is freed once; if `slot` is `Some`, the
    /// caller owns it.
    #[inline]
    pub(crate) unsafe fn free(&self, ptr: NonNull<u8>, layout: Layout, slot: Option<u32>) {
        if !self.region.contains(ptr.as_ptr()) {
            // SAFETY: forwarded contract: a block outside the region came from fallback.
            unsafe { self.fallback_free(ptr, layout) };
            return;
        }
        // Relaxed is enough: the owner was stored before the block was handed out, and the
        // block reached us through a happens-before edge (Acquire kept for loom's benefit).
        let owner = Chunk::of(ptr).header().owner.load(Ordering::Acquire);
        debug_assert!(!owner.is_null(), "free of a block in a pooled chunk");
        // SAFETY: a live block's chunk is owned by a class heap of this core, which lives as
        // long as the core.
        let owner = unsafe { &*owner };
        if Some(owner.heap()) == slot {
            // SAFETY: the caller owns `slot`, which owns the block's chunk.
            unsafe { owner.free_local(self, ptr) };
        } else {
            // SAFETY: the block is live, belongs to `owner` and is given up by the caller.
            unsafe { owner.remote.push(ptr) };
            self.count_remote_free(slot, owner.class());
        }
    }

    /// Counts a remote free of a `class` block in the freeing thread's own record, or in the
    /// shared counter if it owns no slot.
    #[inline]
    fn count_remote_free(&self, slot: Option<u32>, class: u32) {
        match slot {
            // SAFETY: the caller of `free` owns `slot`.
            Some(slot) => unsafe { self.slot(slot)[class as usize].count_remote_free() },
            None => {
                self.orphan_remote_frees
                    .fetch_add(1, core::sync::atomic::Ordering::Relaxed);
            }
        }
    }

    /// Frees a fallback block.
    ///
    /// # Safety
    /// `ptr` came from [`Core::system_alloc`] with `layout`.
    #[cold]
    unsafe fn fallback_free(&self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr.as_ptr(), layout) };
        self.fallback_frees
            .fetch_add(1, core::sync::atomic::Ordering::Relaxed);
    }

    /// Drains all remote frees of `slot` into their chunks; returns how many.
    ///
    /// # Safety
    /// The caller owns `slot`.
    pub(crate) unsafe fn collect(&self, slot: u32) -> usize {
        let mut total = 0;
        for heap in self.slot(slot) {
            // SAFETY: forwarded contract.
            total += unsafe { heap.drain(self, usize::MAX) };
        }
        total
    }

    /// Tidies every heap slot nobody owns (abandoned heaps): drains their remote lists and
    /// returns their empty current chunks to the pool. Returns blocks drained.
    ///
    /// Slots are taken off the free stack for the duration (chained through their own links,
    /// which we own while they are popped) and pushed back in the same order, so an
    /// acquisition racing with this call can find no free slot and fail with `TooManyHeaps`
    /// (or fall back). A maintenance call: O(heaps + pending blocks).
    #[cold]
    pub(crate) fn reclaim_abandoned(&self) -> usize {
        let mut held = NONE;
        let mut drained = 0;
        for _ in 0..self.heaps() {
            let Some(slot) = self.free_heaps.pop(&self.heap_links) else {
                break;
            };
            for heap in self.slot(slot) {
                // SAFETY: we popped the slot, so we own it.
                drained += unsafe { heap.tidy(self) };
            }
            self.heap_links[slot as usize].store(held, Ordering::Relaxed);
            held = slot;
        }
        while held != NONE {
            let next = self.heap_links[held as usize].load(Ordering::Relaxed);
            self.free_heaps.push(&self.heap_links, held);
            held = next;
        }
        drained
    }

    /// Reclaims abandoned heaps, then gives the pages of every pooled chunk back to the OS.
    /// Returns chunks trimmed.
    pub(crate) fn trim(&self) -> usize {
        self.reclaim_abandoned();
        self.pool.trim(&self.region)
    }

    /// A snapshot of the counters (exact only while no thread allocates or frees).
    pub(crate) fn stats(&self) -> Stats {
        use core::sync::atomic::Ordering::Relaxed;
        let mut stats = Stats {
            chunks_total: self.region.chunks(),
            chunks_trimmed: self.pool.trimmed(),
            fallback_allocs: self.fallback_allocs.load(Relaxed),
            heaps_total: self.heaps(),
            adoptions: self.adoptions.load(Relaxed),
            remote_frees: self.orphan_remote_frees.load(Relaxed),
            ..Stats::default()
        };
        stats.fallback_live = stats
            .fallback_allocs
            .saturating_sub(self.fallback_frees.load(Relaxed));
        for slot in 0..self.heaps() as u32 {
            let mut chunks = 0;
            for heap in self.slot(slot) {
                stats.allocs += heap.allocs();
                stats.local_frees += heap.frees();
                stats.remote_frees += heap.remote_frees();
                chunks += heap.chunks();
            }
            stats.chunks_in_use += chunks;
            if self.owned[slot as usize].load(Relaxed) {
                stats.heaps_owned += 1;
            } else if chunks != 0 {
                stats.heaps_abandoned += 1;
            }
        }
        stats.live_blocks = stats
            .allocs
            .saturating_sub(stats.local_frees + stats.remote_frees);
        stats.chunks_free = stats.chunks_total.saturating_sub(stats.chunks_in_use);
        stats
    }
}
