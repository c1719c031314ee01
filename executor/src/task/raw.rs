//! The task block and its type-erased handle.
//!
//! A task is one [`Cell<F, S>`] allocation. Its first field is the [`Header`] (`#[repr(C)]`), so a
//! pointer to the cell is also a pointer to the header: run queues, wakers and the registry store
//! `NonNull<Header>` and reach the typed parts through the header's [`Vtable`], whose functions are
//! monomorphised for each `(F, S)` in `harness`.

use super::harness;
use super::id::TaskId;
use super::policy_state::PolicyState;
use super::state::State;
use super::{JoinError, Schedule};
use crate::loom::UnsafeCell;
use std::future::Future;
use std::ptr::NonNull;
use std::task::Waker;

/// The type-erased, always-valid part of a task.
#[repr(C)]
pub(crate) struct Header {
    /// Lifecycle flags and reference count; see `state.rs`.
    pub(crate) state: State,
    /// Typed operations on the cell this header starts.
    pub(crate) vtable: &'static Vtable,
    /// Intrusive links of the runtime's task registry. Only read or written while holding the
    /// lock of the registry shard the task belongs to.
    pub(crate) links: UnsafeCell<Links>,
    /// The task's id (spawn order within its runtime).
    pub(crate) id: TaskId,
    /// What the scheduling policies read and write: deadline, priority, nice value, virtual
    /// runtime, ready stamp, name (`policy_state.rs`).
    pub(crate) policy: PolicyState,
}

// SAFETY: the header's mutable parts are the atomic state and the links, which are only accessed
// under the registry shard lock.
unsafe impl Send for Header {}
// SAFETY: see `Send`.
unsafe impl Sync for Header {}

/// Registry membership of a task (a doubly linked list per shard).
#[derive(Default)]
pub(crate) struct Links {
    /// Previous task in the shard's list.
    pub(crate) prev: Option<NonNull<Header>>,
    /// Next task in the shard's list.
    pub(crate) next: Option<NonNull<Header>>,
    /// Whether the task is in a list. Removal is idempotent: completion and shutdown may both try
    /// to unlink the task, and only the one that finds it linked releases the registry reference.
    pub(crate) linked: bool,
}

/// The task block: header, scheduler handle, the future or its output, and the join waker.
#[repr(C)]
pub(crate) struct Cell<F: Future, S> {
    /// Must stay first: `NonNull<Header>` and `NonNull<Cell>` are the same address.
    pub(crate) header: Header,
    /// Where to resubmit the task when it is woken.
    pub(crate) scheduler: S,
    /// The future while it runs, then its output until the `JoinHandle` takes it. Accessed only
    /// by the owner of `RUNNING`, or, after `COMPLETE`, by the `JoinHandle` (or by the task itself
    /// when there is no `JoinHandle`); see `state.rs`.
    pub(crate) stage: UnsafeCell<Stage<F>>,
    /// The waker of whoever awaits the `JoinHandle`; ownership governed by `JOIN_WAKER`.
    pub(crate) join_waker: UnsafeCell<Option<Waker>>,
}

/// What the task holds: the future, its result, or nothing once the result was taken.
pub(crate) enum Stage<F: Future> {
    /// Still running.
    Running(F),
    /// Finished: the output, or why there is none.
    Finished(Result<F::Output, JoinError>),
    /// The result was taken by the `JoinHandle` or dropped.
    Consumed,
}

/// Operations that need the concrete future and scheduler types.
pub(crate) struct Vtable {
    /// Runs the task once, consuming the caller's `Notified` reference.
    pub(crate) poll: unsafe fn(NonNull<Header>),
    /// Submits the task to its scheduler, consuming one reference as the `Notified`.
    pub(crate) schedule: unsafe fn(NonNull<Header>),
    /// Frees the block (reference count reached zero).
    pub(crate) dealloc: unsafe fn(NonNull<Header>),
    /// `JoinHandle::poll`: writes `Poll<Result<F::Output, JoinError>>` into the pointer if ready,
    /// otherwise registers the waker.
    pub(crate) try_read_output: unsafe fn(NonNull<Header>, *mut (), &Waker),
    /// `JoinHandle` dropped: clear interest (dropping the output if already complete), release the
    /// handle's reference.
    pub(crate) drop_join_handle: unsafe fn(NonNull<Header>),
    /// Runtime shutdown: cancel, consuming the registry's reference.
    pub(crate) shutdown: unsafe fn(NonNull<Header>),
    /// The task, being polled, changed its own deadline or priority (`Schedule::rekeyed`).
    pub(crate) rekeyed: unsafe fn(NonNull<Header>),
    /// Another thread or task changed the task's deadline or priority while it may be queued or
    /// running elsewhere (`Schedule::reprioritized`); the caller holds a reference.
    pub(crate) reprioritized: unsafe fn(NonNull<Header>),
    /// `Schedule::should_yield` of the task's scheduler type.
    pub(crate) should_yield: fn() -> bool,
}

/// A copyable, untyped pointer to a live task. Does not own a reference by itself: the typed
/// owners in `task/mod.rs` do.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawTask {
    ptr: NonNull<Header>,
}

impl RawTask {
    /// Allocates the task block (from the task pool or the global allocator, see `alloc.rs`).
    pub(crate) fn new<F, S>(
        future: F,
        scheduler: S,
        id: TaskId,
        allocator: super::TaskAllocator,
        policy: PolicyState,
    ) -> RawTask
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
        S: Schedule,
    {
        let cell = super::alloc::alloc(
            Cell {
                header: Header {
                    state: State::new(),
                    vtable: harness::vtable::<F, S>(),
                    links: UnsafeCell::new(Links::default()),
                    id,
                    policy,
                },
                scheduler,
                stage: UnsafeCell::new(Stage::Running(future)),
                join_waker: UnsafeCell::new(None),
            },
            allocator,
        );
        RawTask {
            ptr: cell.cast::<Header>(),
        }
    }

    /// Wraps a header pointer.
    ///
    /// # Safety
    /// `ptr` must point to the header of a live task.
    pub(crate) unsafe fn from_header(ptr: NonNull<Header>) -> RawTask {
        RawTask { ptr }
    }

    /// The header pointer.
    pub(crate) fn header_ptr(self) -> NonNull<Header> {
        self.ptr
    }

    /// The header. Valid while any reference is held, which every caller of this does.
    pub(crate) fn header<'a>(self) -> &'a Header {
        // SAFETY: `RawTask` values only exist for tasks on which the holder owns a reference, so
        // the block is live for at least as long as the holder uses it.
        unsafe { self.ptr.as_ref() }
    }

    /// See [`Vtable::poll`].
    pub(crate) fn poll(self) {
        // SAFETY: the caller gives up a `Notified` reference, as `poll` requires.
        unsafe { (self.header().vtable.poll)(self.ptr) }
    }

    /// See [`Vtable::schedule`].
    pub(crate) fn schedule(self) {
        // SAFETY: the caller gives up one reference, which becomes the `Notified`.
        unsafe { (self.header().vtable.schedule)(self.ptr) }
    }

    /// See [`Vtable::dealloc`].
    pub(crate) fn dealloc(self) {
        // SAFETY: called only when the reference count reached zero.
        unsafe { (self.header().vtable.dealloc)(self.ptr) }
    }

    /// See [`Vtable::try_read_output`].
    ///
    /// # Safety
    /// `dst` must point to a `Poll<Result<T, JoinError>>` where `T` is the task's output type, and
    /// the caller must be the task's `JoinHandle`.
    pub(crate) unsafe fn try_read_output(self, dst: *mut (), waker: &Waker) {
        // SAFETY: forwarded from the caller's contract.
        unsafe { (self.header().vtable.try_read_output)(self.ptr, dst, waker) }
    }

    /// See [`Vtable::drop_join_handle`]. Called once, by the `JoinHandle`'s `Drop`.
    pub(crate) fn drop_join_handle(self) {
        // SAFETY: the `JoinHandle` gives up its reference and its interest.
        unsafe { (self.header().vtable.drop_join_handle)(self.ptr) }
    }

    /// See [`Vtable::shutdown`].
    pub(crate) fn shutdown(self) {
        // SAFETY: the caller gives up the registry reference.
        unsafe { (self.header().vtable.shutdown)(self.ptr) }
    }

    /// Releases one reference, freeing the task if it was the last.
    pub(crate) fn drop_reference(self) {
        if self.header().state.ref_dec() {
            self.dealloc();
        }
    }

    /// Requests cancellation from anywhere (`JoinHandle::abort`).
    pub(crate) fn remote_abort(self) {
        if self.header().state.transition_to_notified_and_cancel() {
            // A reference was taken for the new Notified: a worker will drop the future.
            self.schedule();
        }
    }
}

#[cfg(all(test, not(loom)))]
mod layout_tests {
    use super::*;
    use crate::worker::Handle;
    use std::mem::size_of;

    fn cell_size<F: Future>(_future: &F) -> usize {
        size_of::<Cell<F, Handle>>()
    }

    /// The sizes `docs/architecture.md` ("Memory per task") reports. If this fails, update the
    /// document together with the layout.
    #[test]
    fn task_layout_sizes() {
        assert_eq!(size_of::<Header>(), 96);
        assert_eq!(size_of::<Handle>(), 8);
        assert_eq!(size_of::<Option<Waker>>(), 16);
        let sleeper = async {
            crate::time::sleep(std::time::Duration::from_secs(1)).await;
        };
        let cell = cell_size(&sleeper);
        eprintln!(
            "sleeper future {} B, Sleep {} B, cell {} B, Links {} B",
            size_of_val(&sleeper),
            size_of::<crate::time::Sleep>(),
            cell,
            size_of::<Links>()
        );
        assert_eq!(size_of_val(&sleeper), 32);
        assert_eq!(size_of::<crate::time::Sleep>(), 24);
        assert_eq!(cell, 160, "a task sleeping 1 s is {cell} bytes");
    }
}
