//! One heap's state for one size class, and the allocation and free algorithms.
//!
//! Everything here except [`ClassHeap::remote`] is touched only by the thread that owns the
//! heap slot, so it needs no atomics. The paths, all O(1):
//!
//! * **alloc, fast** (`#[inline]`): take the *hot* block (below), else pop the *pending* list (blocks freed remotely and taken
//!   back, see below), else the current chunk's free list, else bump. A few loads and stores to
//!   memory this thread alone writes.
//! * **alloc, slow** (`#[cold]`, bounded): take the whole remote list with one swap and, if it
//!   held anything, make it the pending list and serve from it; else retire the full current
//!   chunk and make the head of the partial list current, or take a chunk from the global pool
//!   (a CAS). If all fail, the region is exhausted.
//! * **free, local**: keep the block as the *hot* block if that slot is empty and the block
//!   belongs to the current chunk; else push on the block's chunk free list; move the chunk between lists (full
//!   to partial; empty to the global pool), each an O(1) doubly-linked list operation. A
//!   pool's explicit `Heap` first tries [`ClassHeap::free_if_current`]: a block of the current
//!   chunk is this record's by its address alone, so the chunk header (whose `owner` the
//!   general path loads to find the heap) is not read.
//! * **free, remote**: done by another thread, see `remote.rs`.
//!
//! The hot block is a one-block cache for the alloc-free-alloc pattern (a task spawned, run and
//! freed before the next spawn): the free is one store and the next allocation one load and
//! one store, with no free-list link written into and read back from the block. It holds a
//! block of the current chunk only, so it never pins a chunk that would otherwise go back to
//! the pool (the current chunk stays with the heap anyway); `tidy` puts it back in its chunk.
//!
//! Serving straight from the pending list is what makes a producer→consumer stream cheap: a
//! block freed remotely still counts as used in its chunk (`used` includes remote and pending
//! blocks), so handing it out again touches neither its chunk header nor any chunk list, and
//! the slow path that takes a batch of them is one swap whatever the batch size (no per-block
//! walk, so no latency traded for throughput). The blocks go back to their chunks only when the
//! owner lets go of them: [`ClassHeap::drain`] (`Heap::collect`, thread exit,
//! `reclaim_abandoned`). This is mimalloc's use of its thread-free list (Leijen et al. 2019,
//! section 2.3: `free` and `thread_free` collected into the page's allocation list) moved from
//! the page to the heap.

use core::ptr::NonNull;

use crate::chunk::{Chunk, ChunkState, FreeBlock};
use crate::engine::Core;
use crate::loom::probe::{self, SlowPath};
use crate::loom::stat;
use crate::loom::UnsafeCell;
use crate::remote::RemoteList;

/// Owner-only lists of a class heap.
struct HeapLocal {
    /// Chunk allocations come from; `None` before the first allocation or after it filled up.
    current: Option<Chunk>,
    /// Head of the doubly-linked list of chunks (other than `current`) with free blocks.
    partial: Option<Chunk>,
    /// Blocks taken from the remote list: allocation serves them after `hot`. They still count
    /// as used in their chunks.
    pending: *mut FreeBlock,
    /// The last block freed locally, if it belongs to `current` and the slot was empty: the
    /// next allocation takes it back without touching a free list (see the module docs).
    /// Counts as used in its chunk. Invariant: `None`, or a block of `current`.
    hot: Option<NonNull<u8>>,
}

/// A heap's state for one size class.
#[repr(C)]
pub(crate) struct ClassHeap {
    /// Frees from other threads land here. First, on its own cache lines, with the record's
    /// heap slot and class (see [`ClassHeap::heap`]): what a freeing thread reads is there, and
    /// nothing the owner writes on its fast paths.
    pub(crate) remote: RemoteList,
    /// Owner-only lists.
    local: UnsafeCell<HeapLocal>,
    /// Blocks handed out (owner-written statistics).
    allocs: stat::AtomicU64,
    /// Blocks of this heap freed by the owner (owner-written statistics).
    frees: stat::AtomicU64,
    /// Blocks of this class owned by *other* heaps that the owner of this record freed, i.e.
    /// pushed on their remote lists (owner-written statistics: the freeing side counts).
    remote_frees: stat::AtomicU64,
    /// Chunks owned (owner-written statistics; also tells adoption from a fresh heap).
    chunks: stat::AtomicUsize,
}

// SAFETY: the owner-only fields are only accessed by the thread owning the heap slot; ownership
// moves between threads only through the free-heap stack's Release/Acquire CAS, which orders
// every access of the old owner before every access of the new one. `remote` is atomic.
unsafe impl Sync for ClassHeap {}
// SAFETY: as above; the raw pointers inside refer to the region, which outlives the record.
unsafe impl Send for ClassHeap {}

/// Adds one to an owner-written counter without a read-modify-write.
#[inline(always)]
fn bump(counter: &stat::AtomicU64) {
    use core::sync::atomic::Ordering::Relaxed;
    counter.store(counter.load(Relaxed) + 1, Relaxed);
}

impl ClassHeap {
    /// An empty record for heap slot `heap`, class `class`.
    pub(crate) fn new(heap: u32, class: u32) -> ClassHeap {
        ClassHeap {
            remote: RemoteList::new(heap, class),
            local: UnsafeCell::new(HeapLocal {
                current: None,
                partial: None,
                pending: core::ptr::null_mut(),
                hot: None,
            }),
            allocs: stat::AtomicU64::new(0),
            frees: stat::AtomicU64::new(0),
            remote_frees: stat::AtomicU64::new(0),
            chunks: stat::AtomicUsize::new(0),
        }
    }

    /// Heap slot this record belongs to (fixed): compared with the freeing thread's slot to
    /// choose the local or the remote free path.
    #[inline]
    pub(crate) fn heap(&self) -> u32 {
        self.remote.heap()
    }

    /// Size class this record serves (fixed).
    #[inline]
    pub(crate) fn class(&self) -> u32 {
        self.remote.class()
    }

    /// Runs `f` on the owner-only lists.
    ///
    /// # Safety
    /// The caller owns the heap slot and no other `local` call on this record is active.
    #[inline(always)]
    unsafe fn local<R>(&self, f: impl FnOnce(&mut HeapLocal) -> R) -> R {
        // SAFETY: exclusive access by the caller's contract.
        self.local.with_mut(|l| f(unsafe { &mut *l }))
    }

    /// Allocates a block of this class, or `None` when the region is exhausted.
    ///
    /// # Safety
    /// The caller owns the heap slot, and `core` is the allocator this record belongs to.
    #[inline]
    pub(crate) unsafe fn alloc(&self, core: &Core) -> Option<NonNull<u8>> {
        // SAFETY: the caller owns the heap slot, so the lists and the current chunk are ours;
        // a pending block was taken from the remote list with Acquire, so its link is visible.
        let block = unsafe {
            self.local(|l| {
                if let Some(block) = l.hot.take() {
                    return Some(block);
                }
                match NonNull::new(l.pending) {
                    Some(block) => {
                        l.pending = (*block.as_ptr()).next;
                        Some(block.cast())
                    }
                    None => match l.current {
                        Some(chunk) => chunk.pop_block(),
                        None => None,
                    },
                }
            })
        };
        match block {
            Some(block) => {
                bump(&self.allocs);
                Some(block)
            }
            // SAFETY: forwarded contract.
            None => unsafe { self.alloc_slow(core) },
        }
    }

    /// The slow path: see the module docs.
    ///
    /// # Safety
    /// As [`ClassHeap::alloc`].
    #[cold]
    #[inline(never)]
    unsafe fn alloc_slow(&self, core: &Core) -> Option<NonNull<u8>> {
        // SAFETY: (whole block) the caller owns the heap slot, hence every chunk this
        // record owns (current, partial, full) and every chunk it takes from the pool; the
        // taken remote list's links are visible (`take` is Acquire).
        unsafe {
            // 1. Blocks freed remotely: take them all (one swap) and serve from them. The
            // current chunk stays current (full) meanwhile.
            let list = self.remote.take();
            if let Some(block) = NonNull::new(list) {
                probe::hit(SlowPath::ServeRemote);
                self.local(|l| l.pending = (*block.as_ptr()).next);
                bump(&self.allocs);
                return Some(block.cast());
            }
            // 2. The current chunk had no free block and no bump room: every block is live.
            if let Some(full) = self.local(|l| l.current.take()) {
                full.with_local(|c| c.state = ChunkState::Full);
            }
            // 3. A chunk with free blocks, else a fresh one from the pool.
            let next = match self.pop_partial() {
                Some(chunk) => chunk,
                None => self.fresh_chunk(core)?,
            };
            next.with_local(|c| c.state = ChunkState::Current);
            self.local(|l| l.current = Some(next));
            let block = next.pop_block();
            debug_assert!(block.is_some(), "a partial or fresh chunk has a free block");
            if block.is_some() {
                bump(&self.allocs);
            }
            block
        }
    }

    /// Takes a chunk from the global pool for this class.
    ///
    /// # Safety
    /// The caller owns the heap slot.
    #[cold]
    unsafe fn fresh_chunk(&self, core: &Core) -> Option<Chunk> {
        let chunk = core.pool.pop(&core.region)?;
        // SAFETY: we just popped the chunk, so we own it; the caller owns this heap.
        unsafe { chunk.assign(self, core.classes.get(self.class() as usize)) };
        self.chunks
            .store(self.chunks() + 1, core::sync::atomic::Ordering::Relaxed);
        Some(chunk)
    }

    /// Frees a block of a chunk this heap owns, on the owner's thread.
    ///
    /// # Safety
    /// The caller owns the heap slot; `block` is a live block of a chunk owned by this record,
    /// freed exactly once.
    #[inline]
    pub(crate) unsafe fn free_local(&self, core: &Core, block: NonNull<u8>) {
        // SAFETY: forwarded contract (a block of this record's current chunk is this record's).
        if unsafe { self.free_if_current(core, block) } {
            return;
        }
        bump(&self.frees);
        // SAFETY: forwarded contract.
        unsafe { self.release(core, block) };
    }

    /// Frees `block` locally if it lies in this record's current chunk, found without reading
    /// the chunk's header; `false` (nothing done) otherwise.
    ///
    /// A block outside the region cannot match: the current chunk lies inside it.
    ///
    /// # Safety
    /// The caller owns the heap slot; `block` was returned by this record's allocator, is live
    /// and is given up (if this returns `true`, it was freed).
    #[inline(always)]
    pub(crate) unsafe fn free_if_current(&self, core: &Core, block: NonNull<u8>) -> bool {
        let chunk = Chunk::of(block);
        // SAFETY: the caller owns the heap slot.
        let kept = unsafe {
            self.local(|l| {
                if l.current != Some(chunk) {
                    return None;
                }
                let keep = l.hot.is_none();
                if keep {
                    l.hot = Some(block);
                }
                Some(keep)
            })
        };
        let Some(kept) = kept else {
            return false;
        };
        bump(&self.frees);
        if !kept {
            // SAFETY: the block's chunk is this record's current chunk, so this record owns
            // it; the rest is the caller's contract.
            unsafe { self.release(core, block) };
        }
        true
    }

    /// Gives `block` back to its chunk and moves the chunk between lists if needed.
    ///
    /// # Safety
    /// As [`ClassHeap::free_local`] (the block may also come from the remote list).
    #[inline]
    unsafe fn release(&self, core: &Core, block: NonNull<u8>) {
        let chunk = Chunk::of(block);
        // SAFETY: the chunk is owned by this heap, which the caller owns; the block is live.
        let (state, used) = unsafe { chunk.push_block(block) };
        match state {
            ChunkState::Current => {}
            ChunkState::Full if used == 0 => {
                // SAFETY: as above; no block of the chunk is live any more.
                unsafe { self.retire_empty(core, chunk) }
            }
            ChunkState::Full => {
                // SAFETY: as above.
                unsafe { self.push_partial(chunk) }
            }
            ChunkState::Partial if used == 0 => {
                // SAFETY: as above.
                unsafe {
                    self.unlink_partial(chunk);
                    self.retire_empty(core, chunk);
                }
            }
            ChunkState::Partial => {}
            ChunkState::Pooled => debug_assert!(false, "free into a pooled chunk"),
        }
    }

    /// Returns an empty chunk (on no list) to the global pool.
    ///
    /// # Safety
    /// The caller owns the heap; `chunk` is owned by it, empty, and on none of its lists.
    #[cold]
    unsafe fn retire_empty(&self, core: &Core, chunk: Chunk) {
        // SAFETY: forwarded contract: the chunk has no live block, so nobody else refers to it.
        unsafe { core.pool.push(&core.region, chunk) };
        self.chunks
            .store(self.chunks() - 1, core::sync::atomic::Ordering::Relaxed);
    }

    /// Gives up to `max` remotely freed blocks back to their chunks; returns how many.
    ///
    /// Pending blocks go first; the remote list is taken (one swap) at most once per call.
    ///
    /// # Safety
    /// The caller owns the heap slot.
    pub(crate) unsafe fn drain(&self, core: &Core, max: usize) -> usize {
        // SAFETY: the caller owns the heap slot.
        let mut list =
            unsafe { self.local(|l| core::mem::replace(&mut l.pending, core::ptr::null_mut())) };
        let mut took_remote = false;
        let mut drained = 0;
        while drained < max {
            if list.is_null() {
                if took_remote {
                    break;
                }
                took_remote = true;
                list = self.remote.take();
                continue;
            }
            // SAFETY: `list` is a block pushed on our remote list (taken with Acquire, so its
            // link is visible); blocks on it belong to chunks this heap owns and are not live.
            unsafe {
                let block = NonNull::new_unchecked(list);
                list = (*list).next;
                self.release(core, block.cast());
            }
            drained += 1;
        }
        // SAFETY: the caller owns the heap slot.
        unsafe { self.local(|l| l.pending = list) };
        drained
    }

    /// Puts the hot block back in its chunk, drains every remote free and returns the current
    /// chunk to the pool if it is empty;
    /// returns how many blocks were drained. Used when the owner lets go of the heap (thread
    /// exit, `Heap` drop) and by `reclaim_abandoned`: O(pending), not a real-time path.
    ///
    /// # Safety
    /// The caller owns the heap slot.
    #[cold]
    pub(crate) unsafe fn tidy(&self, core: &Core) -> usize {
        // SAFETY: (whole block) the caller owns the heap slot and so the current chunk.
        unsafe {
            if let Some(hot) = self.local(|l| l.hot.take()) {
                self.release(core, hot);
            }
            let mut drained = 0;
            loop {
                let n = self.drain(core, usize::MAX);
                if n == 0 {
                    break;
                }
                drained += n;
            }
            if let Some(current) = self.local(|l| l.current) {
                if current.with_local(|c| c.used) == 0 {
                    self.local(|l| l.current = None);
                    self.retire_empty(core, current);
                }
            }
            drained
        }
    }

    /// Pushes a chunk that just got a free block on the front of the partial list.
    ///
    /// # Safety
    /// The caller owns the heap and the chunk, which is on no list.
    unsafe fn push_partial(&self, chunk: Chunk) {
        // SAFETY: (whole block) the caller owns the heap and its chunks; each `with_local`
        // call is on a different chunk or finishes before the next starts.
        unsafe {
            let head = self.local(|l| l.partial);
            chunk.with_local(|c| {
                c.state = ChunkState::Partial;
                c.prev = None;
                c.next = head;
            });
            if let Some(head) = head {
                head.with_local(|c| c.prev = Some(chunk));
            }
            self.local(|l| l.partial = Some(chunk));
        }
    }

    /// Pops the front of the partial list.
    ///
    /// # Safety
    /// The caller owns the heap.
    unsafe fn pop_partial(&self) -> Option<Chunk> {
        // SAFETY: (whole block) the caller owns the heap and its chunks.
        unsafe {
            let head = self.local(|l| l.partial)?;
            let next = head.with_local(|c| {
                c.prev = None;
                c.next.take()
            });
            if let Some(next) = next {
                next.with_local(|c| c.prev = None);
            }
            self.local(|l| l.partial = next);
            Some(head)
        }
    }

    /// Removes a chunk from anywhere in the partial list.
    ///
    /// # Safety
    /// The caller owns the heap; `chunk` is on its partial list.
    unsafe fn unlink_partial(&self, chunk: Chunk) {
        // SAFETY: (whole block) the caller owns the heap and its chunks.
        unsafe {
            let (prev, next) = chunk.with_local(|c| (c.prev.take(), c.next.take()));
            match prev {
                Some(prev) => prev.with_local(|c| c.next = next),
                None => self.local(|l| l.partial = next),
            }
            if let Some(next) = next {
                next.with_local(|c| c.prev = prev);
            }
        }
    }

    /// Blocks handed out (statistics).
    pub(crate) fn allocs(&self) -> u64 {
        self.allocs.load(core::sync::atomic::Ordering::Relaxed)
    }

    /// Blocks freed by the owner (statistics).
    pub(crate) fn frees(&self) -> u64 {
        self.frees.load(core::sync::atomic::Ordering::Relaxed)
    }

    /// Records one remote free done by this record's owner (see the field).
    ///
    /// # Safety
    /// The caller owns the heap slot (the counter is written without a read-modify-write).
    #[inline]
    pub(crate) unsafe fn count_remote_free(&self) {
        bump(&self.remote_frees);
    }

    /// Remote frees done by this record's owner (statistics).
    pub(crate) fn remote_frees(&self) -> u64 {
        self.remote_frees
            .load(core::sync::atomic::Ordering::Relaxed)
    }

    /// Chunks owned (statistics).
    pub(crate) fn chunks(&self) -> usize {
        self.chunks.load(core::sync::atomic::Ordering::Relaxed)
    }
}
