//! `Waker`s for tasks: a pointer to the task header and one static vtable.
//!
//! An owned waker holds one task reference. `wake` hands that reference to the run queue if the
//! task must be submitted (no increment), `wake_by_ref` takes a new one only in that case. Both
//! go through the state word, so a wake while the task is running only sets `NOTIFIED` and the
//! poller resubmits it at the end of the poll: no wake-up is lost and the task is never queued
//! twice.

use super::raw::{Header, RawTask};
use super::state::{TransitionToNotifiedByRef, TransitionToNotifiedByVal};
use crate::event;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable, Waker};

static WAKER_VTABLE: RawWakerVTable =
    RawWakerVTable::new(clone_waker, wake_by_val, wake_by_ref, drop_waker);

/// A waker that borrows the poller's reference instead of owning one; it must not outlive the
/// poll. Cloning it makes a normal, owned waker.
pub(super) struct WakerRef {
    waker: ManuallyDrop<Waker>,
}

impl Deref for WakerRef {
    type Target = Waker;
    fn deref(&self) -> &Waker {
        &self.waker
    }
}

/// Builds the borrowed waker used while polling the task at `ptr`.
pub(super) fn waker_ref(ptr: NonNull<Header>) -> WakerRef {
    let raw = RawWaker::new(ptr.as_ptr() as *const (), &WAKER_VTABLE);
    // SAFETY: the vtable functions uphold the RawWaker contract for task headers; the
    // `ManuallyDrop` means no reference is released for this borrowed waker.
    let waker = unsafe { Waker::from_raw(raw) };
    WakerRef {
        waker: ManuallyDrop::new(waker),
    }
}

fn task(data: *const ()) -> RawTask {
    // SAFETY: waker data is always a non-null pointer to the header of a task the waker holds
    // (or borrows) a reference to.
    unsafe { RawTask::from_header(NonNull::new_unchecked(data as *mut Header)) }
}

unsafe fn clone_waker(data: *const ()) -> RawWaker {
    task(data).header().state.ref_inc();
    RawWaker::new(data, &WAKER_VTABLE)
}

/// Event: the task's waker was called (by the task itself, if it is the one polled here).
#[inline]
fn record_wake(task: RawTask) {
    let header = task.header();
    event::wake(
        || header.id.0,
        || std::ptr::eq(super::current::get(), header),
    );
}

unsafe fn wake_by_val(data: *const ()) {
    let task = task(data);
    record_wake(task);
    match task.header().state.transition_to_notified_by_val() {
        TransitionToNotifiedByVal::Submit => task.schedule(),
        TransitionToNotifiedByVal::Dealloc => {
            crate::loom::reached("waker.wake_frees_task");
            task.dealloc()
        }
        TransitionToNotifiedByVal::DoNothing => {}
    }
}

unsafe fn wake_by_ref(data: *const ()) {
    let task = task(data);
    record_wake(task);
    match task.header().state.transition_to_notified_by_ref() {
        TransitionToNotifiedByRef::Submit => task.schedule(),
        TransitionToNotifiedByRef::DoNothing => {}
    }
}

unsafe fn drop_waker(data: *const ()) {
    task(data).drop_reference();
}
