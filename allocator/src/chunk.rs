//! Chunks: the unit the region is cut into, and the per-chunk free list.
//!
//! A chunk is [`CHUNK_SIZE`] bytes aligned to [`CHUNK_SIZE`]. Its first [`HEADER_SIZE`] bytes
//! are a [`ChunkHeader`]; the rest is blocks of one size, starting at the class's `first` offset
//! (the header rounded up to the block's alignment):
//!
//! ```text
//!  chunk base (multiple of 64 KiB)                                   base + 64 KiB
//!  |                                                                             |
//!  +--------+-----+---------+---------+---------+-- ... --+---------+------------+
//!  | header | pad | block 0 | block 1 | block 2 |         | block n | tail slack |
//!  +--------+-----+---------+---------+---------+-- ... --+---------+------------+
//!  ^ owner (atomic)     ^ free list threads through freed blocks     ^ end
//!    free, bump, used,          ^ bump: first never-used block
//!    state, prev/next
//! ```
//!
//! Any block's header is `block_address & !(CHUNK_SIZE - 1)`: that is how a free finds the
//! owning heap in O(1) without a size or a lookup table.
//!
//! Per-chunk free lists follow mimalloc's *free list sharding* (D. Leijen, B. Zorn, L. de Moura,
//! "Mimalloc: Free List Sharding in Action", APLAS 2019, section 2): a heap allocates from one
//! chunk's list until it is empty, so blocks handed out together are close together, and a
//! chunk whose blocks all come back is recognised at once (`used == 0`) and returned to the
//! global pool. Fresh blocks are bump-allocated (`bump`), so a new chunk needs no setup loop.
//!
//! Only the owning heap touches [`ChunkLocal`]; other threads only read [`ChunkHeader::owner`].

use core::ptr::NonNull;

use crate::class_heap::ClassHeap;
use crate::class_table::ClassInfo;
use crate::loom::{AtomicPtr, Ordering, UnsafeCell};

/// Size and alignment of a chunk: 64 KiB.
///
/// Large enough that the header and the alignment padding cost little (at most one 4 KiB page
/// for the 4 KiB class), small enough that a class with few live blocks does not pin much
/// memory, and a power of two so the header is found by masking.
///
/// ```
/// assert_eq!(kairos_alloc::CHUNK_SIZE, 64 * 1024);
/// ```
pub const CHUNK_SIZE: usize = 1 << 16;

/// Bytes reserved for the header at the start of every chunk (the header rounded up to a cache
/// line, so the first block never shares a line with header fields written by the owner).
pub(crate) const HEADER_SIZE: usize = core::mem::size_of::<ChunkHeader>().next_multiple_of(64);

// The header fits two cache lines, so the 64 and 128 byte classes start right after it. (Under
// loom the atomics and cells are bigger model objects, so the check is for real builds only.)
#[cfg(not(loom))]
const _: () = assert!(HEADER_SIZE <= 128, "chunk header grew past 128 bytes");

/// Where a chunk is, from its owner's point of view. Every chunk is in exactly one state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChunkState {
    /// In the global chunk pool; no owner, no live blocks.
    Pooled,
    /// Its heap's current chunk: allocation pops from its free list, then bumps.
    Current,
    /// Has free blocks and is on its heap's partial list.
    Partial,
    /// Every block is live (or waiting on the heap's remote list); on no list.
    Full,
}

/// A freed block: the first word holds the next free block.
///
/// The link lives in the block itself (an intrusive list), so free lists need no memory of
/// their own. Blocks are at least 16 bytes and 16-aligned, so the word fits and is aligned.
#[repr(C)]
pub(crate) struct FreeBlock {
    /// Next block of the same list, or null.
    pub(crate) next: *mut FreeBlock,
}

/// The owner-only part of a chunk header.
#[derive(Debug)]
pub(crate) struct ChunkLocal {
    /// Head of this chunk's free list (blocks freed locally or drained from the remote list).
    pub(crate) free: *mut FreeBlock,
    /// Offset of the first never-used block; blocks in `[bump, end)` were never handed out.
    pub(crate) bump: u32,
    /// Offset just past the last block.
    pub(crate) end: u32,
    /// Block size of the class the chunk currently serves.
    pub(crate) block_size: u32,
    /// Blocks handed out and not on this chunk's free list. Blocks freed remotely but not yet
    /// drained still count, so `used == 0` means no pointer into the chunk exists anywhere.
    pub(crate) used: u32,
    /// List membership, see [`ChunkState`].
    pub(crate) state: ChunkState,
    /// Previous chunk on the heap's partial list (doubly linked for O(1) removal).
    pub(crate) prev: Option<Chunk>,
    /// Next chunk on the heap's partial list.
    pub(crate) next: Option<Chunk>,
}

/// The header at the start of every chunk.
#[repr(C)]
pub(crate) struct ChunkHeader {
    /// The class heap that owns the chunk; null while pooled. A free reads it to decide local
    /// vs remote and to find the remote list. It changes only while `used == 0`, when no block
    /// of the chunk can be in anyone's hands, so a reader holding a live block reads a stable
    /// value (published to it by whatever handed it the block).
    pub(crate) owner: AtomicPtr<ClassHeap>,
    /// Owner-only state: touched only by the thread owning `owner`'s heap.
    pub(crate) local: UnsafeCell<ChunkLocal>,
}

/// A pointer to a chunk header that carries provenance over the whole chunk.
///
/// Blocks are addressed as `chunk base + offset`, so the pointer must come from the region (not
/// from a `&ChunkHeader`, whose provenance covers only the header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Chunk(pub(crate) NonNull<ChunkHeader>);

impl Chunk {
    /// The chunk containing `block`: mask off the low bits.
    #[inline]
    pub(crate) fn of(block: NonNull<u8>) -> Chunk {
        let offset = block.as_ptr() as usize & (CHUNK_SIZE - 1);
        // `wrapping_sub` keeps the block's provenance (the region); the result is the chunk
        // base, which is non-null because the region never starts at address 0.
        let base = block.as_ptr().wrapping_sub(offset).cast::<ChunkHeader>();
        Chunk(NonNull::new(base).unwrap_or(NonNull::dangling()))
    }

    /// Writes a fresh, pooled header. Used once per chunk when the region is built.
    ///
    /// # Safety
    /// The chunk must be inside a live region and not yet shared with any thread.
    pub(crate) unsafe fn init(self) {
        let header = ChunkHeader {
            owner: AtomicPtr::new(core::ptr::null_mut()),
            local: UnsafeCell::new(ChunkLocal {
                free: core::ptr::null_mut(),
                bump: 0,
                end: 0,
                block_size: 0,
                used: 0,
                state: ChunkState::Pooled,
                prev: None,
                next: None,
            }),
        };
        // SAFETY: the caller guarantees the memory is ours and unshared; `Chunk` pointers are
        // chunk aligned, which satisfies the header's alignment.
        unsafe { self.0.as_ptr().write(header) };
    }

    /// The header.
    #[inline]
    pub(crate) fn header(&self) -> &ChunkHeader {
        // SAFETY: `Chunk`s are only made for chunks of a live region, whose headers were
        // initialised when the region was built and are never moved or freed while it lives.
        unsafe { self.0.as_ref() }
    }

    /// Runs `f` on the owner-only state.
    ///
    /// # Safety
    /// The caller owns the chunk (owns `owner`'s heap, or took the chunk off the pool) and no
    /// other `with_local` call on this chunk is active.
    #[inline(always)]
    pub(crate) unsafe fn with_local<R>(&self, f: impl FnOnce(&mut ChunkLocal) -> R) -> R {
        // SAFETY: exclusive access by the caller's contract.
        self.header()
            .local
            .with_mut(|local| f(unsafe { &mut *local }))
    }

    /// Takes the chunk from the pool for `owner`, serving blocks of `class`.
    ///
    /// # Safety
    /// The caller popped the chunk off the global pool (so owns it exclusively) and owns
    /// `owner`'s heap.
    pub(crate) unsafe fn assign(&self, owner: &ClassHeap, class: &ClassInfo) {
        // SAFETY: exclusive owner by the caller's contract.
        unsafe {
            self.with_local(|l| {
                l.free = core::ptr::null_mut();
                l.bump = class.first;
                l.end = class.end;
                l.block_size = class.size;
                l.used = 0;
                l.state = ChunkState::Current;
                l.prev = None;
                l.next = None;
            })
        };
        // Release: not needed for the freeing thread (it learns of a block only through a
        // happens-before edge from its allocation), but cheap and it keeps `owner` coherent
        // with `local` for anyone who does read both.
        self.header().owner.store(
            owner as *const ClassHeap as *mut ClassHeap,
            Ordering::Release,
        );
    }

    /// Pops a block: free list first, then bump. `None` when every block is used.
    ///
    /// # Safety
    /// The caller owns the chunk.
    #[inline]
    pub(crate) unsafe fn pop_block(&self) -> Option<NonNull<u8>> {
        let base = self.0.as_ptr().cast::<u8>();
        // SAFETY: the caller owns the chunk, so `with_local` is exclusive. A block on the free
        // list is a free block of this chunk whose first word is the link written when it was
        // freed. `bump < end <= CHUNK_SIZE`, so a bumped block is inside the chunk.
        unsafe {
            self.with_local(|l| {
                if let Some(block) = NonNull::new(l.free) {
                    l.free = (*block.as_ptr()).next;
                    l.used += 1;
                    return Some(block.cast());
                }
                if l.bump < l.end {
                    let block = base.add(l.bump as usize);
                    l.bump += l.block_size;
                    l.used += 1;
                    return NonNull::new(block);
                }
                None
            })
        }
    }

    /// Pushes a freed block on this chunk's free list and returns `(state, used)` after the
    /// push, so the heap can move the chunk between lists.
    ///
    /// # Safety
    /// The caller owns the chunk; `block` is a live block of it, given back exactly once.
    #[inline]
    pub(crate) unsafe fn push_block(&self, block: NonNull<u8>) -> (ChunkState, u32) {
        let block = block.cast::<FreeBlock>();
        // SAFETY: the caller owns the chunk (exclusive `with_local`) and the block, which is at
        // least one aligned word long, so the link can be written into it.
        unsafe {
            self.with_local(|l| {
                (*block.as_ptr()).next = l.free;
                l.free = block.as_ptr();
                l.used -= 1;
                (l.state, l.used)
            })
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn masking_finds_the_chunk() {
        let region = crate::region::Region::reserve(2, true).unwrap();
        let chunk = Chunk(region.chunk(1));
        let inside = NonNull::new(chunk.0.as_ptr().cast::<u8>().wrapping_add(12_345)).unwrap();
        assert_eq!(Chunk::of(inside), chunk);
        assert_eq!(Chunk::of(chunk.0.cast()), chunk);
    }
}
