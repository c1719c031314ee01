//! The remote free list: how a block freed on another thread gets home.
//!
//! Each class heap has one [`RemoteList`], a multi-producer, single-consumer intrusive stack:
//!
//! * **push** (any thread freeing a block the heap owns): write the current head into the
//!   block's first word, then one CAS `head: old -> block` (`Release`). A failed CAS means
//!   another push or the owner's take won; it retries with the new head.
//! * **take** (the owning thread only): one `swap(null)` (`Acquire`) detaches the whole list.
//!   No tail walk, no per-block atomic.
//!
//! This is the "thread free list" of mimalloc (Leijen et al. 2019, section 2.3) placed per heap
//! and class rather than per page, and Treiber's stack with pop replaced by take-all. Take-all
//! makes the structure ABA-free without tags: a pusher's CAS only needs the head it read to
//! still be the head, and if that block was taken, reused and pushed again in between, its
//! link was rewritten by that later push, so the list the pusher builds is still correct.
//!
//! The push is the whole remote free: no counter beside it. Remote frees are counted by the
//! freeing thread in its own heap record (a plain store), or, for a thread that owns no heap, in
//! one allocator-wide counter (see `engine.rs`), so the cache line of the head carries only the
//! CAS.

use core::ptr::NonNull;

use crossbeam_utils::CachePadded;

use crate::chunk::FreeBlock;
use crate::loom::probe::{self, SlowPath};
use crate::loom::{AtomicPtr, Ordering};

/// A multi-producer, take-all stack of freed blocks. On its own cache lines ([`CachePadded`]:
/// 128 bytes on x86-64, two lines, because x86 prefetches lines in pairs) so remote pushes do
/// not disturb the owner's fields next to it.
pub(crate) struct RemoteList(CachePadded<List>);

/// The fields of a [`RemoteList`]. `repr(C)`: the identity of the owning record sits next to
/// the head, on the line a freeing thread writes anyway, so deciding local vs remote and
/// counting reads nothing from the owner's busy lines (its lists and counters).
#[repr(C)]
struct List {
    /// Top of the stack; null when empty.
    head: AtomicPtr<FreeBlock>,
    /// Heap slot of the record this list belongs to (fixed).
    heap: u32,
    /// Size class of the record this list belongs to (fixed).
    class: u32,
}

impl RemoteList {
    /// An empty list of the record of heap slot `heap`, class `class`.
    pub(crate) fn new(heap: u32, class: u32) -> RemoteList {
        RemoteList(CachePadded::new(List {
            head: AtomicPtr::new(core::ptr::null_mut()),
            heap,
            class,
        }))
    }

    /// Pushes `block`, which the caller owns and gives up.
    ///
    /// # Safety
    /// `block` is a live block of a chunk owned by this list's heap, at least one word long and
    /// word aligned, and the caller never touches it again.
    #[inline]
    pub(crate) unsafe fn push(&self, block: NonNull<u8>) {
        let block = block.cast::<FreeBlock>();
        let mut head = self.0.head.load(Ordering::Relaxed);
        loop {
            // SAFETY: the block is ours until the CAS publishes it.
            unsafe { (*block.as_ptr()).next = head };
            // Release: the link written above (and the caller's last writes to the block)
            // happen-before the owner's `take`.
            match self.0.head.compare_exchange(
                head,
                block.as_ptr(),
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(actual) => {
                    probe::hit(SlowPath::RemotePushRetry);
                    head = actual;
                }
            }
        }
    }

    /// Detaches the whole list (owner only). Returns null when it was empty.
    ///
    /// The emptiness check is a plain load first, so an idle list costs no write to the shared
    /// cache line.
    #[inline]
    pub(crate) fn take(&self) -> *mut FreeBlock {
        if self.0.head.load(Ordering::Relaxed).is_null() {
            return core::ptr::null_mut();
        }
        // Acquire: pairs with every push's Release (the swap reads the last push, and earlier
        // pushes are in its release sequence), so all links are visible.
        let list = self.0.head.swap(core::ptr::null_mut(), Ordering::Acquire);
        if !list.is_null() {
            probe::hit(SlowPath::RemoteCollect);
        }
        list
    }

    /// Heap slot of the owning record.
    #[inline]
    pub(crate) fn heap(&self) -> u32 {
        self.0.heap
    }

    /// Size class of the owning record.
    #[inline]
    pub(crate) fn class(&self) -> u32 {
        self.0.class
    }
}
