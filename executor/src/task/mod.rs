//! Tasks: a spawned future, its output and its bookkeeping in one heap block; and the running
//! task's own controls ([`set_deadline`], [`set_priority`], [`set_nice`], [`should_yield`]).
//!
//! Built on them, for programs that manage many tasks: [`JoinSet`] (tasks joined in the order
//! they finish), [`AbortHandle`], [`Group`] (structured cancellation and deadline inheritance)
//! and task-local values ([`LocalKey`], declared with [`task_local!`](crate::task_local)).
//! The repository's `docs/sync.md` ("Tasks") describes them together with `select!` and
//! `join!`.
//!
//! This module knows neither the runtime nor the simulator: what a task needs of whoever runs
//! it is the `Schedule` trait (implemented by the workers' handle), and what it reports goes
//! through the event seam.
//!
//! # Layout
//!
//! One allocation per task (`raw::Cell`): a type-erased `Header` first (state word, vtable,
//! registry links, id), then the scheduler handle, the stage (the future, later its output) and
//! the join waker slot. Everything that only needs the header (run queues, wakers, the registry)
//! holds a `NonNull<Header>`; the vtable recovers the concrete types.
//!
//! # References
//!
//! The task is freed when its reference count (`state.rs`) drops to zero. References are held by
//! typed owners, each of which releases exactly one reference when dropped:
//!
//! - `Notified`: the task is in a run queue (or on its way there) and must be polled. Running it
//!   consumes it.
//! - `RegisteredTask`: the runtime's registry of live tasks, released when the task completes or
//!   by shutdown, which cancels the task first.
//! - wakers (`waker.rs`), and the [`JoinHandle`].
//!
//! # Lifecycle of one task
//!
//! `spawn` → `new_task` (state `NOTIFIED | JOIN_INTEREST`, 3 references) → registry `bind` →
//! `Notified` submitted to a run queue → a worker pops it and calls `Notified::run` → the future
//! is polled under `catch_unwind` → `Pending`: the poller's reference is released, or, if a wake
//! came during the poll, resubmitted → a waker's `wake` submits a new `Notified` → ... → `Ready`
//! (or panic, or cancel): output stored, `RUNNING` becomes `COMPLETE`, the join waker is woken,
//! the registry releases its reference → the last reference frees the block.

mod abort;
mod alloc;
pub(crate) mod boost;
pub(crate) mod budget;
pub(crate) mod current;
mod error;
pub(crate) mod group;
mod harness;
mod id;
mod join;
mod join_set;
mod local;
pub(crate) mod policy_state;
pub(crate) mod raw;
mod registry;
pub(crate) mod state;
mod waker;

pub use abort::AbortHandle;
#[cfg(not(loom))]
pub(crate) use alloc::pool as task_pool;
pub use alloc::{
    configure_task_pool, task_memory, TaskAllocator, TaskMemory, TaskPoolError, TASK_POOL_CAPACITY,
};
pub(crate) use current::with_current;
pub use current::{
    clear_deadline, deadline, set_deadline, set_nice, set_priority, should_yield, NoCurrentTask,
};
pub use error::JoinError;
pub use group::{Group, GroupError, GroupHandle};
pub use id::TaskId;
pub use join::JoinHandle;
pub use join_set::JoinSet;
pub use local::{AccessError, LocalKey, TaskLocalFuture};
pub(crate) use policy_state::PolicyState;
pub(crate) use raw::Header;
pub(crate) use registry::Registry;

use raw::RawTask;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::task::Waker;

/// What a task needs from the scheduler that owns it.
///
/// Implemented by the workers' handle (`worker/handle.rs`), which serves the real runtime and
/// the simulator's virtual workers alike, so tasks are the same code under both.
pub(crate) trait Schedule: Send + Sync + Sized + 'static {
    /// Puts a runnable task on a run queue.
    fn schedule(&self, task: Notified);

    /// The task completed: unlink it from the registry. Returns `true` if it was still linked, in
    /// which case the caller releases the registry's reference too.
    fn release(&self, task: &Header) -> bool;

    /// A task's future panicked (counted in metrics).
    fn on_panic(&self);

    /// A poll of `task` returned (called with the poller's reference still held, before the
    /// task can be queued again): charge and record it. Default: nothing.
    #[inline]
    fn poll_ended(&self, task: &Header) {
        let _ = task;
    }

    /// The task being polled (`task`) changed its own deadline or priority
    /// (`task::set_deadline`, ...): a scheduler that compares running tasks with queued ones
    /// republishes it. Default: nothing.
    #[inline]
    fn rekeyed(&self, task: &Header) {
        let _ = task;
    }

    /// Priority or deadline inheritance (`task/boost.rs`) changed `task`'s deadline or priority
    /// from outside its poll: a task queued in an ordered queue moves to its new place (and may
    /// preempt a less urgent running task), a running one republishes its urgency. The caller
    /// holds a reference to `task`. Default: nothing (the next push reads the new parameters).
    #[inline]
    fn reprioritized(&self, task: &Header) {
        let _ = task;
    }

    /// Whether the task being polled on this thread should yield now (`task::should_yield`).
    /// Default: never.
    #[inline]
    fn should_yield() -> bool {
        false
    }

    /// Called before a `JoinHandle` completes in the task being polled on this thread, an
    /// operation of the cooperative budget: `true` to go on, `false` to yield instead (then
    /// `waker` was woken, and the join is retried at the next poll). Default: go on.
    #[inline]
    fn proceed(waker: &Waker) -> bool {
        let _ = waker;
        true
    }
}

/// A reference to a task that must be polled. Holding it is the right to poll the task once.
pub(crate) struct Notified {
    raw: RawTask,
}

// SAFETY: a `Notified` only allows polling through the vtable, which requires the future to be
// `Send` (checked in `new_task`); the header itself is `Sync`.
unsafe impl Send for Notified {}

impl Notified {
    /// Adopts one reference that the caller owns and that is responsible for the `NOTIFIED` bit.
    ///
    /// # Safety
    /// The caller must own a reference to a live task and give it up.
    pub(crate) unsafe fn from_raw(raw: RawTask) -> Notified {
        Notified { raw }
    }

    /// Polls the task once (or cancels it, if it was aborted). Consumes the reference.
    #[inline]
    pub(crate) fn run(self) {
        let raw = ManuallyDrop::new(self).raw;
        raw.poll();
    }

    /// The task's header (for tracing and tests).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn header(&self) -> &Header {
        self.raw.header()
    }
}

impl Drop for Notified {
    fn drop(&mut self) {
        self.raw.drop_reference();
    }
}

/// The registry's reference to a live task.
pub(crate) struct RegisteredTask {
    raw: RawTask,
}

// SAFETY: as for `Notified`: only vtable operations that are valid from any thread.
unsafe impl Send for RegisteredTask {}

impl RegisteredTask {
    /// Cancels the task during runtime shutdown (dropping the future unless another thread is
    /// polling it right now) and releases the registry's reference.
    pub(crate) fn shutdown(self) {
        let raw = ManuallyDrop::new(self).raw;
        raw.shutdown();
    }
}

impl Drop for RegisteredTask {
    fn drop(&mut self) {
        self.raw.drop_reference();
    }
}

/// Allocates a task for `future`, returning its three initial references: the registry's, the
/// first `Notified`, and the `JoinHandle`.
pub(crate) fn new_task<F, S>(
    future: F,
    scheduler: S,
    id: TaskId,
    allocator: TaskAllocator,
    policy: PolicyState,
) -> (RegisteredTask, Notified, JoinHandle<F::Output>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    let raw = RawTask::new(future, scheduler, id, allocator, policy);
    (
        RegisteredTask { raw },
        Notified { raw },
        JoinHandle::new(raw),
    )
}
