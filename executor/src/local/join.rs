//! [`LocalJoinHandle`]: awaits a local task's output, like [`JoinHandle`](crate::JoinHandle) for
//! a spawned one.
//!
//! The task and its handle live on the same thread, so they share a plain `Rc` slot: the task
//! stores `Ok(output)`, or the set stores a [`JoinError`] (panic, abort, the set dropped), and
//! wakes the handle's waker.

use crate::task::{JoinError, TaskId};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// What a task and its handle share.
pub(super) struct Slot<T> {
    /// The task's id (for `JoinError::id`).
    pub(super) id: TaskId,
    /// The result, once there is one; taken by the handle.
    result: RefCell<Option<Result<T, JoinError>>>,
    /// Set once the result was stored (stays set after the handle takes it).
    finished: Cell<bool>,
    /// `abort` was called: the set drops the future at its next turn.
    pub(super) aborted: Cell<bool>,
    /// The handle's waker.
    waker: RefCell<Option<Waker>>,
}

impl<T> Slot<T> {
    pub(super) fn new(id: TaskId) -> Rc<Slot<T>> {
        Rc::new(Slot {
            id,
            result: RefCell::new(None),
            finished: Cell::new(false),
            aborted: Cell::new(false),
            waker: RefCell::new(None),
        })
    }

    /// Stores the result (the first one wins) and wakes the handle.
    pub(super) fn finish(&self, result: Result<T, JoinError>) {
        if self.finished.replace(true) {
            return;
        }
        *self.result.borrow_mut() = Some(result);
        if let Some(w) = self.waker.borrow_mut().take() {
            w.wake();
        }
    }
}

/// How the set reaches a slot without knowing the output type.
pub(super) trait Fail {
    /// Completes the task with `error` unless it already has a result.
    fn fail(&self, error: JoinError);
    /// Whether the handle asked to abort.
    fn aborted(&self) -> bool;
}

impl<T> Fail for Slot<T> {
    fn fail(&self, error: JoinError) {
        self.finish(Err(error));
    }
    fn aborted(&self) -> bool {
        self.aborted.get()
    }
}

/// Awaits the output of a task spawned with [`spawn_local`](crate::spawn_local) or
/// [`LocalSet::spawn_local`](crate::LocalSet::spawn_local). Not `Send`: it stays on the thread
/// of its set. Dropping it detaches the task (it keeps running).
///
/// ```
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// let local = kairos::LocalSet::new();
/// let v = rt.block_on(local.run_until(async {
///     let shared = std::rc::Rc::new(20); // not Send
///     let s = shared.clone();
///     let h: kairos::LocalJoinHandle<i32> = kairos::spawn_local(async move { *s + 1 });
///     h.await.unwrap() * 2
/// }));
/// assert_eq!(v, 42);
/// ```
pub struct LocalJoinHandle<T> {
    /// Shared with the task.
    slot: Rc<Slot<T>>,
    /// The task's waker, to run it once more after an abort.
    wake: Waker,
}

impl<T> LocalJoinHandle<T> {
    pub(super) fn new(slot: Rc<Slot<T>>, wake: Waker) -> LocalJoinHandle<T> {
        LocalJoinHandle { slot, wake }
    }

    /// The task's id (unique within the runtime that drives the set).
    ///
    /// ```
    /// let local = kairos::LocalSet::new();
    /// let a = local.spawn_local(async {});
    /// let b = local.spawn_local(async {});
    /// assert_ne!(a.id(), b.id());
    /// ```
    pub fn id(&self) -> TaskId {
        self.slot.id
    }

    /// Whether the task has finished (completed, panicked, or was cancelled).
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// let local = kairos::LocalSet::new();
    /// let h = local.spawn_local(async { 1 });
    /// assert!(!h.is_finished());
    /// rt.block_on(local.run_until(kairos::yield_now()));
    /// assert!(h.is_finished());
    /// ```
    pub fn is_finished(&self) -> bool {
        self.slot.finished.get()
    }

    /// Cancels the task: its future is dropped at the set's next turn (or now, if the task is not
    /// running), and the handle resolves to a cancelled [`JoinError`] unless the task had
    /// already finished.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// let local = kairos::LocalSet::new();
    /// let h = local.spawn_local(std::future::pending::<()>());
    /// h.abort();
    /// let err = rt.block_on(local.run_until(h)).unwrap_err();
    /// assert!(err.is_cancelled());
    /// ```
    pub fn abort(&self) {
        self.slot.aborted.set(true);
        self.wake.wake_by_ref();
    }
}

impl<T> Future for LocalJoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(result) = self.slot.result.borrow_mut().take() {
            return Poll::Ready(result);
        }
        assert!(
            !self.slot.finished.get(),
            "LocalJoinHandle polled after it returned Ready"
        );
        *self.slot.waker.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl<T> fmt::Debug for LocalJoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalJoinHandle")
            .field("id", &self.slot.id)
            .field("finished", &self.slot.finished.get())
            .finish()
    }
}
