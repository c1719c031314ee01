//! The typed half of the task: polling, completion, cancellation and freeing, monomorphised for
//! each future type `F` and scheduler `S` and reached through the header's vtable.
//!
//! Every function here follows the ownership rules of `state.rs`: the stage is touched only by
//! the holder of `RUNNING`, or after `COMPLETE` by whoever owns the output; the join waker only
//! per `JOIN_WAKER`. User code (the future's `poll`, its destructor, the output's destructor, the
//! join waker) runs under `catch_unwind`, so a panic in it never unwinds through the runtime.

use super::raw::{Cell, Header, Stage, Vtable};
use super::state::{TransitionToIdle, TransitionToRunning};
use super::waker::waker_ref;
use super::{JoinError, Notified, Schedule};
use crate::event::{self, EventKind};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker};

/// The vtable for `Cell<F, S>`.
pub(super) fn vtable<F, S>() -> &'static Vtable
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    &Vtable {
        poll: poll::<F, S>,
        schedule: schedule::<F, S>,
        dealloc: dealloc::<F, S>,
        try_read_output: try_read_output::<F, S>,
        drop_join_handle: drop_join_handle::<F, S>,
        shutdown: shutdown::<F, S>,
        rekeyed: rekeyed::<F, S>,
        reprioritized: reprioritized::<F, S>,
        should_yield: S::should_yield,
    }
}

/// # Safety (for every function below)
/// `ptr` points to the header of a live `Cell<F, S>`, and the caller holds the reference the
/// function's doc says it consumes.
unsafe fn cell<'a, F: Future, S>(ptr: NonNull<Header>) -> &'a Cell<F, S> {
    // SAFETY: the header is the first field of the `#[repr(C)]` cell, so the cast is valid; the
    // caller's reference keeps the cell alive.
    unsafe { ptr.cast::<Cell<F, S>>().as_ref() }
}

/// Polls the task once, consuming the caller's `Notified` reference.
unsafe fn poll<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the caller holds a `Notified` reference.
    let cell = unsafe { cell::<F, S>(ptr) };
    let state = &cell.header.state;
    match state.transition_to_running() {
        TransitionToRunning::Success => {}
        TransitionToRunning::Cancelled => return cancel_and_complete(cell),
        TransitionToRunning::Failed => {
            crate::loom::reached("task.run_failed");
            if state.ref_dec() {
                // SAFETY: last reference.
                unsafe { dealloc::<F, S>(ptr) };
            }
            return;
        }
    }
    // The poller's reference keeps the task alive, so the waker can borrow it without a count.
    let waker = waker_ref(ptr);
    let mut cx = Context::from_waker(&waker);
    let polled = poll_future(cell, &mut cx);
    // Before the task can be queued again (below, or by a waker once it is idle): the scheduler
    // charges the poll (fair share's virtual runtime) and records it.
    cell.scheduler.poll_ended(&cell.header);
    if polled.is_ready() {
        return complete(cell);
    }
    match state.transition_to_idle() {
        TransitionToIdle::Ok => {}
        TransitionToIdle::OkNotified => {
            crate::loom::reached("task.woken_during_poll");
            // SAFETY: the poller's reference becomes the new Notified (`state.rs`).
            cell.scheduler
                .schedule(unsafe { Notified::from_raw(raw(ptr)) });
        }
        TransitionToIdle::OkDealloc => {
            // SAFETY: last reference.
            unsafe { dealloc::<F, S>(ptr) };
        }
        TransitionToIdle::Cancelled => {
            crate::loom::reached("task.cancelled_during_poll");
            cancel_and_complete(cell)
        }
    }
}

fn raw(ptr: NonNull<Header>) -> super::raw::RawTask {
    // SAFETY: callers pass the header of a task they hold a reference to.
    unsafe { super::raw::RawTask::from_header(ptr) }
}

/// Polls the future. On `Ready` (or panic) the future is dropped and the result stored.
/// Requires `RUNNING`.
fn poll_future<F: Future, S: Schedule>(cell: &Cell<F, S>, cx: &mut Context<'_>) -> Poll<()> {
    let id = cell.header.id;
    let polled = catch_unwind(AssertUnwindSafe(|| {
        cell.stage.with_mut(|stage| {
            // SAFETY: we hold RUNNING, which gives exclusive access to the stage.
            match unsafe { &mut *stage } {
                // SAFETY: the future lives in the heap block, which never moves, and is only
                // dropped in place: it is pinned.
                Stage::Running(future) => unsafe { Pin::new_unchecked(future) }.poll(cx),
                _ => unreachable!("a completed task was polled"),
            }
        })
    }));
    let result = match polled {
        Ok(Poll::Pending) => return Poll::Pending,
        Ok(Poll::Ready(output)) => Ok(output),
        Err(payload) => {
            cell.scheduler.on_panic();
            Err(JoinError::panic(id, payload))
        }
    };
    // Drop the future first (its destructor may panic: counted, the result is kept).
    if drop_stage(cell).is_err() {
        cell.scheduler.on_panic();
    }
    // SAFETY: still RUNNING: exclusive access to the stage.
    cell.stage
        .with_mut(|stage| unsafe { *stage = Stage::Finished(result) });
    Poll::Ready(())
}

/// Drops the future (or output) in place, catching a panic from its destructor. Requires
/// exclusive access to the stage.
fn drop_stage<F: Future, S>(cell: &Cell<F, S>) -> Result<(), Box<dyn std::any::Any + Send>> {
    catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the caller has exclusive access to the stage (RUNNING, or it owns the output).
        cell.stage
            .with_mut(|stage| unsafe { *stage = Stage::Consumed });
    }))
}

/// Drops the future of a cancelled task and completes it with `JoinError::Cancelled` (or the
/// panic of the future's destructor). Requires `RUNNING`.
fn cancel_and_complete<F: Future, S: Schedule>(cell: &Cell<F, S>) {
    let id = cell.header.id;
    event::emit(EventKind::Cancel, || (id.0, 0, 0));
    let result = match drop_stage(cell) {
        Ok(()) => JoinError::cancelled(id),
        Err(payload) => {
            cell.scheduler.on_panic();
            JoinError::panic(id, payload)
        }
    };
    // SAFETY: RUNNING: exclusive access to the stage.
    cell.stage
        .with_mut(|stage| unsafe { *stage = Stage::Finished(Err(result)) });
    complete(cell);
}

/// `RUNNING` → `COMPLETE`: leave the registry, hand the output to the `JoinHandle` (or drop it
/// if there is none), wake the join waker, and release the running reference (plus the
/// registry's, if this call unlinked the task).
///
/// The task leaves the registry *before* `COMPLETE` is published, so whoever sees the task
/// complete (a joiner) also sees it gone from the registry (`Metrics::live_tasks`).
fn complete<F: Future, S: Schedule>(cell: &Cell<F, S>) {
    // Urgency carried from a received message ends with the task (`boost.rs`).
    super::boost::finished(&cell.header);
    let refs = if cell.scheduler.release(&cell.header) {
        2
    } else {
        1
    };
    let prev = cell.header.state.transition_to_complete();
    if !prev.is_join_interested() {
        // Nobody will read the output: we own it. A panicking destructor is ignored here,
        // exactly as for a value dropped by a detached thread.
        crate::loom::reached("task.complete_without_join_handle");
        let _ = drop_stage(cell);
    } else if prev.is_join_waker_set() {
        crate::loom::reached("task.complete_wakes_join_waker");
        let woke = catch_unwind(AssertUnwindSafe(|| {
            cell.join_waker.with(|slot| {
                // SAFETY: JOIN_WAKER was set when COMPLETE was set, so the handle no longer
                // writes the slot (`state.rs`): nobody writes it while we read.
                let slot = unsafe { &*slot };
                match slot {
                    Some(waker) => waker.wake_by_ref(),
                    None => unreachable!("JOIN_WAKER set with an empty slot"),
                }
            })
        }));
        if woke.is_err() {
            cell.scheduler.on_panic();
        }
    }
    if cell.header.state.ref_dec_n(refs) {
        let ptr = NonNull::from(&cell.header);
        // SAFETY: last reference.
        unsafe { dealloc::<F, S>(ptr) };
    }
}

/// Submits the task, consuming one reference as its `Notified`.
unsafe fn schedule<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the caller holds the reference that becomes the Notified.
    let cell = unsafe { cell::<F, S>(ptr) };
    // SAFETY: as above.
    cell.scheduler
        .schedule(unsafe { Notified::from_raw(raw(ptr)) });
}

/// Drops the cell and frees the block. Called exactly once, when the reference count reaches
/// zero.
unsafe fn dealloc<F: Future, S>(ptr: NonNull<Header>) {
    // SAFETY: the block was allocated as a `Cell<F, S>` by `alloc::alloc` in `RawTask::new`,
    // and no reference remains, so nobody else can observe it.
    unsafe { super::alloc::free(ptr.cast::<Cell<F, S>>()) };
}

/// The task, being polled (the poller holds a reference), changed its parameters.
unsafe fn rekeyed<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the caller is inside the task's poll, whose reference keeps it alive.
    let cell = unsafe { cell::<F, S>(ptr) };
    cell.scheduler.rekeyed(&cell.header);
}

/// Another task (priority or deadline inheritance, `task/boost.rs`) changed this task's
/// parameters; the caller holds a reference.
unsafe fn reprioritized<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the caller holds a reference to the task, which keeps it alive.
    let cell = unsafe { cell::<F, S>(ptr) };
    cell.scheduler.reprioritized(&cell.header);
}

/// `JoinHandle::poll`: if complete, moves the output into `dst`; else registers `waker`.
/// Joining is an operation of the cooperative budget: the scheduler may ask to yield first
/// (`dst` is then left `Pending`).
unsafe fn try_read_output<F: Future, S: Schedule>(
    ptr: NonNull<Header>,
    dst: *mut (),
    waker: &Waker,
) {
    if !S::proceed(waker) {
        return;
    }
    // SAFETY: the JoinHandle holds a reference.
    let cell = unsafe { cell::<F, S>(ptr) };
    if !can_read_output(cell, waker) {
        return;
    }
    // SAFETY: COMPLETE with JOIN_INTEREST set: the output belongs to the handle.
    let stage = cell
        .stage
        .with_mut(|stage| unsafe { std::mem::replace(&mut *stage, Stage::Consumed) });
    let output = match stage {
        Stage::Finished(output) => output,
        _ => panic!("JoinHandle polled after it returned Ready"),
    };
    // SAFETY: the caller passes a `Poll<Result<F::Output, JoinError>>` (see `JoinHandle::poll`).
    unsafe { *dst.cast::<Poll<Result<F::Output, JoinError>>>() = Poll::Ready(output) };
}

/// The join-waker protocol of `state.rs`: returns `true` once the task is complete; otherwise
/// makes sure `waker` is in the slot and published.
fn can_read_output<F: Future, S>(cell: &Cell<F, S>, waker: &Waker) -> bool {
    let state = &cell.header.state;
    let snapshot = state.load();
    if snapshot.is_complete() {
        return true;
    }
    let res = if snapshot.is_join_waker_set() {
        // SAFETY: JOIN_WAKER set: the task may read the slot concurrently, and so may we.
        let same = cell.join_waker.with(|slot| match unsafe { &*slot } {
            Some(current) => current.will_wake(waker),
            None => false,
        });
        if same {
            return false;
        }
        state
            .unset_join_waker()
            .and_then(|_| set_join_waker(cell, waker))
    } else {
        set_join_waker(cell, waker)
    };
    match res {
        Ok(_) => false,
        Err(s) => {
            debug_assert!(s.is_complete());
            true
        }
    }
}

/// Writes `waker` into the (unpublished) slot and publishes it.
fn set_join_waker<F: Future, S>(
    cell: &Cell<F, S>,
    waker: &Waker,
) -> Result<super::state::Snapshot, super::state::Snapshot> {
    // SAFETY: JOIN_WAKER is clear and the task is not complete: the slot is the handle's alone.
    cell.join_waker
        .with_mut(|slot| unsafe { *slot = Some(waker.clone()) });
    let res = cell.header.state.set_join_waker();
    if res.is_err() {
        crate::loom::reached("task.join_waker_raced_completion");
        // Completed meanwhile; the task never saw the bit, the slot is still ours. Drop the
        // waker now rather than at deallocation.
        // SAFETY: as above.
        cell.join_waker.with_mut(|slot| unsafe { *slot = None });
    }
    res
}

/// The `JoinHandle` is dropped.
unsafe fn drop_join_handle<F: Future, S>(ptr: NonNull<Header>) {
    // SAFETY: the JoinHandle holds a reference.
    let cell = unsafe { cell::<F, S>(ptr) };
    if cell.header.state.unset_join_interest().is_err() {
        // Completed with interest set: the output is ours to drop.
        crate::loom::reached("task.join_handle_drops_output");
        let _ = drop_stage(cell);
    }
    if cell.header.state.ref_dec() {
        // SAFETY: last reference.
        unsafe { dealloc::<F, S>(ptr) };
    }
}

/// Shutdown: cancel the task, consuming the registry's reference (already unlinked by the
/// caller).
unsafe fn shutdown<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the caller holds the registry's reference.
    let cell = unsafe { cell::<F, S>(ptr) };
    if cell.header.state.transition_to_shutdown() {
        // We hold RUNNING now; `complete` releases the registry reference as the running one
        // (the task is already unlinked, so `release` returns false).
        cancel_and_complete(cell);
        return;
    }
    // Running elsewhere (that poller sees CANCELLED when it returns) or already complete.
    crate::loom::reached("task.shutdown_found_running_or_complete");
    if cell.header.state.ref_dec() {
        // SAFETY: last reference.
        unsafe { dealloc::<F, S>(ptr) };
    }
}
