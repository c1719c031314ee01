//! `JoinHandle`: the spawner's side of a task.

use super::raw::RawTask;
use super::{AbortHandle, JoinError, TaskId};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

/// An owned permission to await a task's output, or to cancel the task.
///
/// Awaiting it yields `Ok(output)`, or a [`JoinError`] if the task panicked or was cancelled.
/// Dropping it *detaches* the task: the task keeps running and its output is dropped when it
/// completes. It can be awaited from another task, from [`Runtime::block_on`](crate::Runtime::block_on),
/// or from any other executor.
///
/// ```
/// let rt = kairos::Runtime::builder().workers(2).build().unwrap();
/// let handle = rt.spawn(async { 6 * 7 });
/// assert_eq!(rt.block_on(handle).unwrap(), 42);
/// ```
pub struct JoinHandle<T> {
    /// The task; the handle owns one reference and the `JOIN_INTEREST` bit.
    raw: RawTask,
    _output: PhantomData<T>,
}

// SAFETY: the handle only moves `T` out of the task (which requires `T: Send`) and touches the
// task through its atomic state protocol.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: `&JoinHandle` only allows `abort`, `is_finished` and `id`, which are thread-safe.
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> Unpin for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    pub(super) fn new(raw: RawTask) -> JoinHandle<T> {
        JoinHandle {
            raw,
            _output: PhantomData,
        }
    }

    /// Cancels the task. If it is waiting, a worker drops its future soon (its destructors run
    /// there); if it is being polled right now, it is dropped when that poll returns. A task that
    /// already completed is not affected, and neither is one whose current poll returns `Ready`:
    /// a finished result is never thrown away. Otherwise awaiting the handle yields a
    /// `JoinError` with [`is_cancelled`](JoinError::is_cancelled).
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// let handle = rt.spawn(std::future::pending::<()>());
    /// handle.abort();
    /// assert!(rt.block_on(handle).unwrap_err().is_cancelled());
    /// ```
    pub fn abort(&self) {
        self.raw.remote_abort();
    }

    /// A cloneable handle that can cancel the task but not read its output (for a caller that
    /// hands the output to one place and the right to cancel to others).
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// let handle = rt.spawn(std::future::pending::<()>());
    /// let abort = handle.abort_handle();
    /// abort.abort();
    /// assert!(rt.block_on(handle).unwrap_err().is_cancelled());
    /// ```
    pub fn abort_handle(&self) -> AbortHandle {
        AbortHandle::new(self.raw)
    }

    /// Whether the task has completed (returned, panicked, or was cancelled). Never blocks.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// let handle = rt.spawn(async {});
    /// let handle = rt.block_on(async move {
    ///     while !handle.is_finished() {
    ///         kairos::yield_now().await;
    ///     }
    ///     handle
    /// });
    /// assert!(handle.is_finished());
    /// ```
    pub fn is_finished(&self) -> bool {
        self.raw.header().state.load().is_complete()
    }

    /// The task's id.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// println!("spawned {}", rt.spawn(async {}).id());
    /// ```
    pub fn id(&self) -> TaskId {
        self.raw.header().id
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Joining is an operation of the cooperative budget: `try_read_output` asks the
        // scheduler first (`Schedule::proceed`).
        let mut out: Poll<Result<T, JoinError>> = Poll::Pending;
        // SAFETY: `out` has the task's output type (the handle was created for it), and we are
        // the task's JoinHandle.
        unsafe {
            self.raw.try_read_output(
                &mut out as *mut Poll<Result<T, JoinError>> as *mut (),
                cx.waker(),
            )
        };
        out
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        self.raw.drop_join_handle();
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}
