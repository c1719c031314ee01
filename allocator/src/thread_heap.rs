//! The per-thread heap table: which heap slot this thread owns in which allocator.
//!
//! A thin layer over explicit heap slots (the same slots [`Heap`](crate::Heap) owns), used only
//! outside loom. Each thread keeps a fixed-capacity table, a `heapless::Vec` of at most
//! [`TABLE_CAPACITY`] entries `(allocator, slot)`:
//!
//! * bounded and allocation-free, so it works when [`PoolAlloc`](crate::PoolAlloc) is the
//!   global allocator (a growing `Vec` here would re-enter the allocator we are inside);
//! * a linear scan of at most eight pointer compares, which beats hashing at this size.
//!
//! An entry holds a counted reference to the allocator's core, so a `Pool` dropped on another
//! thread cannot disappear under this thread; the entry's destructor (thread exit) releases the
//! slot, which abandons the heap for adoption, and drops the reference.
//!
//! When the table is full, entries of allocators whose handle was dropped are evicted; if none
//! is, or the table is unavailable (the thread is being torn down, or the table is already
//! borrowed), the caller falls back to the *transient* path: borrow a slot for one allocation.

/// Entries per thread: allocators a thread can use at once with a permanently owned heap.
#[cfg_attr(loom, allow(dead_code))]
const TABLE_CAPACITY: usize = 8;

#[cfg(not(loom))]
mod imp {
    use core::cell::RefCell;

    use super::TABLE_CAPACITY;
    use crate::engine::Core;
    use crate::error::AllocError;
    use crate::sys_alloc::SysArc;

    /// One allocator this thread owns a heap slot in.
    struct Entry {
        /// Keeps the allocator alive while we own one of its slots.
        core: SysArc<Core>,
        /// The slot we own.
        slot: u32,
    }

    impl Drop for Entry {
        fn drop(&mut self) {
            // SAFETY: the entry owns the slot; after this nobody on this thread uses it.
            unsafe { self.core.release_heap(self.slot, true) };
        }
    }

    std::thread_local! {
        /// This thread's table. `const` initialised: no lazy-init allocation.
        static TABLE: RefCell<heapless::Vec<Entry, TABLE_CAPACITY>> =
            const { RefCell::new(heapless::Vec::new()) };
    }

    /// The slot this thread owns in `core`, if any (the free path: never acquires).
    #[inline]
    pub(crate) fn owned_slot(core: &Core) -> Option<u32> {
        TABLE
            .try_with(|table| {
                let table = table.try_borrow().ok()?;
                table
                    .iter()
                    .find(|e| core::ptr::eq(e.core.as_ptr(), core))
                    .map(|e| e.slot)
            })
            .ok()
            .flatten()
    }

    /// The slot this thread owns in `core`, acquiring one on first use. `Ok(None)` means the
    /// table cannot take an entry: use the transient path.
    #[inline]
    pub(crate) fn slot_for_alloc(core: &SysArc<Core>) -> Result<Option<u32>, AllocError> {
        if let Some(slot) = owned_slot(core) {
            return Ok(Some(slot));
        }
        register(core)
    }

    /// Acquires a slot in `core` and records it in the table.
    #[cold]
    fn register(core: &SysArc<Core>) -> Result<Option<u32>, AllocError> {
        let mut evicted = None;
        let result = TABLE
            .try_with(|table| {
                let Ok(mut table) = table.try_borrow_mut() else {
                    return Ok(None);
                };
                if table.is_full() {
                    let closed = table
                        .iter()
                        .position(|e| e.core.closed.load(core::sync::atomic::Ordering::Relaxed));
                    match closed {
                        Some(i) => evicted = Some(table.swap_remove(i)),
                        None => return Ok(None),
                    }
                }
                let slot = core.acquire_heap()?;
                let entry = Entry {
                    core: core.clone(),
                    slot,
                };
                // Cannot fail: there is room (checked or made above). If it somehow did, the
                // returned entry is dropped, which releases the slot again.
                Ok(table.push(entry).ok().map(|()| slot))
            })
            .unwrap_or(Ok(None));
        // Dropped outside the borrow: releasing may unmap a region.
        drop(evicted);
        result
    }

    /// Releases this thread's slot in `core` (the handle is being dropped on this thread).
    pub(crate) fn forget(core: &Core) {
        let entry = TABLE
            .try_with(|table| {
                let mut table = table.try_borrow_mut().ok()?;
                let i = table
                    .iter()
                    .position(|e| core::ptr::eq(e.core.as_ptr(), core))?;
                Some(table.swap_remove(i))
            })
            .ok()
            .flatten();
        drop(entry);
    }
}

#[cfg(loom)]
mod imp {
    //! Under loom there is no thread table: models own heaps explicitly through `Heap`, and
    //! the convenience API takes the transient path.

    use crate::engine::Core;
    use crate::error::AllocError;
    use crate::sys_alloc::SysArc;

    /// No table: never owns a slot.
    pub(crate) fn owned_slot(_core: &Core) -> Option<u32> {
        None
    }

    /// No table: always the transient path.
    pub(crate) fn slot_for_alloc(_core: &SysArc<Core>) -> Result<Option<u32>, AllocError> {
        Ok(None)
    }

    /// No table: nothing to forget.
    pub(crate) fn forget(_core: &Core) {}
}

pub(crate) use imp::{forget, owned_slot, slot_for_alloc};
