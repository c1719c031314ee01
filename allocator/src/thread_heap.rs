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
//! In front of the table sits a one-entry cache, `LAST`: the allocator and slot of the last
//! lookup that hit, in a `Cell` with no destructor (so reading it costs one thread-local access
//! and two compares, no `RefCell` borrow, no scan). It is only ever set from a live entry and
//! cleared by that entry's destructor, so it never names a released slot or a freed allocator.
//!
//! When the table is full, entries of allocators whose handle was dropped are evicted; if none
//! is, or the table is unavailable (the thread is being torn down, or the table is already
//! borrowed), the caller falls back to the *transient* path: borrow a slot for one allocation.

/// Entries per thread: allocators a thread can use at once with a permanently owned heap.
#[cfg_attr(loom, allow(dead_code))]
const TABLE_CAPACITY: usize = 8;

#[cfg(not(loom))]
mod imp {
    use core::cell::{Cell, RefCell};

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
            // The cache must not outlive the entry it was copied from. `LAST` has no
            // destructor, so it is accessible even while thread-locals are being torn down.
            let _ = LAST.try_with(|last| {
                if core::ptr::eq(last.get().0, self.core.as_ptr()) {
                    last.set(EMPTY);
                }
            });
            // SAFETY: the entry owns the slot; after this nobody on this thread uses it.
            unsafe { self.core.release_heap(self.slot, true) };
        }
    }

    /// The empty value of `LAST`: no allocator.
    const EMPTY: (*const Core, u32) = (core::ptr::null(), 0);

    std::thread_local! {
        /// This thread's table. `const` initialised: no lazy-init allocation.
        static TABLE: RefCell<heapless::Vec<Entry, TABLE_CAPACITY>> =
            const { RefCell::new(heapless::Vec::new()) };
        /// The last hit of the table: `(allocator, slot)`, or [`EMPTY`] (see the module docs).
        static LAST: Cell<(*const Core, u32)> = const { Cell::new(EMPTY) };
    }

    /// The slot this thread owns in `core`, if any (the free path: never acquires).
    #[inline]
    pub(crate) fn owned_slot(core: &Core) -> Option<u32> {
        match LAST.try_with(Cell::get) {
            Ok((last, slot)) if core::ptr::eq(last, core) => Some(slot),
            _ => lookup(core),
        }
    }

    /// [`owned_slot`] through the table; caches a hit in `LAST`.
    #[cold]
    fn lookup(core: &Core) -> Option<u32> {
        let slot = TABLE
            .try_with(|table| {
                let table = table.try_borrow().ok()?;
                table
                    .iter()
                    .find(|e| core::ptr::eq(e.core.as_ptr(), core))
                    .map(|e| e.slot)
            })
            .ok()
            .flatten()?;
        let _ = LAST.try_with(|last| last.set((core, slot)));
        Some(slot)
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
