//! `AbortHandle`: a cloneable right to cancel a task, without the right to its output.
//!
//! It owns one task reference (`state.rs`), taken with `State::ref_inc` when it is made
//! ([`JoinHandle::abort_handle`](super::JoinHandle::abort_handle), `JoinSet::spawn`) or cloned
//! and released when it is dropped, so the header it reads stays valid however long it is kept.
//! It never touches the task's output or its join waker: cancelling goes through the same
//! `remote_abort` as [`JoinHandle::abort`](super::JoinHandle::abort).

use super::raw::RawTask;
use super::TaskId;
use std::fmt;

/// Cancels a task from anywhere, any number of times, without owning its output.
///
/// Made by [`JoinHandle::abort_handle`](super::JoinHandle::abort_handle) and returned by
/// [`JoinSet::spawn`](super::JoinSet::spawn). Aborting has the effect of
/// [`JoinHandle::abort`](super::JoinHandle::abort): a waiting task's future is dropped by a
/// worker soon, a running one when its current poll returns, a finished one is not affected.
/// Dropping an `AbortHandle` does nothing to the task.
///
/// ```
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// let handle = rt.spawn(std::future::pending::<()>());
/// let abort = handle.abort_handle();
/// std::thread::spawn(move || abort.abort()).join().unwrap();
/// assert!(rt.block_on(handle).unwrap_err().is_cancelled());
/// ```
pub struct AbortHandle {
    /// The task; the handle owns one reference to it.
    raw: RawTask,
}

// SAFETY: the handle only calls `remote_abort` and reads the atomic state and the immutable id,
// all of which are thread-safe; it never touches the future or the output.
unsafe impl Send for AbortHandle {}
// SAFETY: as for `Send`: every method takes `&self` and is thread-safe.
unsafe impl Sync for AbortHandle {}

impl AbortHandle {
    /// Takes a new reference to `raw` for the handle.
    pub(super) fn new(raw: RawTask) -> AbortHandle {
        raw.header().state.ref_inc();
        AbortHandle { raw }
    }

    /// Cancels the task (see the type's docs). Idempotent.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// let handle = rt.spawn(std::future::pending::<()>());
    /// let abort = handle.abort_handle();
    /// abort.abort();
    /// abort.abort(); // a second abort changes nothing
    /// assert!(rt.block_on(handle).unwrap_err().is_cancelled());
    /// ```
    pub fn abort(&self) {
        self.raw.remote_abort();
    }

    /// Whether the task has completed (returned, panicked, or was cancelled). Never blocks.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// let handle = rt.spawn(async {});
    /// let abort = handle.abort_handle();
    /// rt.block_on(handle).unwrap();
    /// assert!(abort.is_finished());
    /// ```
    pub fn is_finished(&self) -> bool {
        self.raw.header().state.load().is_complete()
    }

    /// The task's id (the same as its [`JoinHandle::id`](super::JoinHandle::id)).
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// let handle = rt.spawn(async {});
    /// assert_eq!(handle.abort_handle().id(), handle.id());
    /// ```
    pub fn id(&self) -> TaskId {
        self.raw.header().id
    }
}

impl Clone for AbortHandle {
    /// Another handle to the same task (one more task reference).
    fn clone(&self) -> AbortHandle {
        AbortHandle::new(self.raw)
    }
}

impl Drop for AbortHandle {
    fn drop(&mut self) {
        self.raw.drop_reference();
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("id", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}
