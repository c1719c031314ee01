//! One worker's event buffer: fixed capacity, one writer (the worker), readers at any time.
//!
//! # Protocol
//!
//! The buffer is filled once, front to back, never wrapped: slot `i` is written by the one
//! writer, then `len` is stored as `i + 1` with `Release`. A reader loads `len` with `Acquire`
//! and copies the slots below it, which are never written again, so reading needs no lock and
//! never waits for the writer (a worker still writing into a buffer after tracing stopped writes
//! only above the `len` the reader saw). When the buffer is full the event is counted in `lost`
//! and dropped: the writer never blocks and never allocates.

use super::Record;
use crate::loom::atomic::{AtomicU64, AtomicUsize, Ordering};
use crate::loom::UnsafeCell;
use std::mem::MaybeUninit;

/// A fill-once buffer of [`Record`]s with one writer.
pub(crate) struct EventBuf {
    /// The slots; `slots[..len]` are initialised and immutable.
    slots: Box<[UnsafeCell<MaybeUninit<Record>>]>,
    /// Published length.
    len: AtomicUsize,
    /// Events dropped because the buffer was full.
    lost: AtomicU64,
}

// SAFETY: a slot is written only by the single writer, before `len` publishes it (Release), and
// read only below a `len` loaded with Acquire, after which it is never written again.
unsafe impl Sync for EventBuf {}
// SAFETY: `Record` is `Send`; see `Sync`.
unsafe impl Send for EventBuf {}

impl EventBuf {
    /// An empty buffer of `capacity` records, allocated and its pages touched now, so that the
    /// worker's first write to each page does not take a page fault on its hot path.
    pub(crate) fn new(capacity: usize) -> EventBuf {
        let slots: Box<[UnsafeCell<MaybeUninit<Record>>]> = (0..capacity)
            .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
            .collect();
        // One write per 4 KiB page.
        let per_page = (4096 / std::mem::size_of::<Record>()).max(1);
        for slot in slots.iter().step_by(per_page) {
            // SAFETY: nobody else holds the buffer yet, and the slot stays unpublished; writing
            // a `MaybeUninit` needs no initialised value.
            slot.with_mut(|p| unsafe { std::ptr::write_volatile(p, MaybeUninit::zeroed()) });
        }
        EventBuf {
            slots,
            len: AtomicUsize::new(0),
            lost: AtomicU64::new(0),
        }
    }

    /// Appends `record`, or counts it lost if the buffer is full.
    ///
    /// Only one thread may call this on a buffer (the worker it belongs to).
    #[inline]
    pub(crate) fn push(&self, record: Record) {
        // Single writer: a relaxed load reads our own last store.
        let len = self.len.load(Ordering::Relaxed);
        let Some(slot) = self.slots.get(len) else {
            crate::loom::reached("trace.buffer_full");
            let lost = self.lost.load(Ordering::Relaxed);
            self.lost.store(lost + 1, Ordering::Relaxed);
            return;
        };
        // SAFETY: slot `len` is not published yet, so no reader touches it, and we are the only
        // writer.
        slot.with_mut(|p| unsafe { (*p).write(record) });
        self.len.store(len + 1, Ordering::Release);
    }

    /// A copy of the records published so far.
    pub(crate) fn snapshot(&self) -> Vec<Record> {
        let len = self.len.load(Ordering::Acquire);
        self.slots[..len]
            .iter()
            // SAFETY: slots below a `len` loaded with Acquire were initialised before it was
            // published and are never written again.
            .map(|slot| slot.with(|p| unsafe { (*p).assume_init() }))
            .collect()
    }

    /// Calls `f` with each record published so far, in order, without copying the buffer.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&Record)) {
        let len = self.len.load(Ordering::Acquire);
        for slot in &self.slots[..len] {
            // SAFETY: as in `snapshot`.
            slot.with(|p| f(unsafe { (*p).assume_init_ref() }));
        }
    }

    /// Events dropped because the buffer was full.
    pub(crate) fn lost(&self) -> u64 {
        self.lost.load(Ordering::Relaxed)
    }
}
