//! How a local task is woken from any thread: the set's shared ready list and each task's waker.
//!
//! Local futures never leave the thread that owns the [`LocalSet`](super::LocalSet), but their
//! wakers are `Send + Sync` like every waker and may be called from anywhere (a timer on a
//! worker, a channel sender on another thread). So the only state a waker touches is this
//! thread-safe part:
//!
//! - [`Remote`]: the indices of woken tasks, in wake order, and the waker of whoever drives the
//!   set (the task or `block_on` polling `RunUntil`).
//! - [`TaskWaker`]: one per task, with a `queued` flag so a task sits in the ready list at most
//!   once however often it is woken.
//!
//! # Protocol
//! - wake: `queued.swap(true)`; if it was false, push the index and wake the driver. If it was
//!   true, the task is already listed (or finished) and nothing more is needed.
//! - run (owner thread): pop an index, `queued.swap(false)`, then poll. A wake during the poll
//!   lists the task again, so no wake is lost between the swap and the poll's end; a wake before
//!   the swap found the task listed, and the swap acquires what that wake released.
//! - finish: `queued.store(true)` for good, so late wakes of a finished task are no-ops and never
//!   list an index that a newer task may reuse.

use crate::loom::atomic::{AtomicBool, Ordering};
use crate::loom::{lock, Mutex};
use std::collections::VecDeque;
// `std::task::Wake` is implemented on `std::sync::Arc`, so the wakers use it even under loom;
// the state they share (the flag, the locks) comes through the loom shim.
use std::sync::Arc;
use std::task::{Wake, Waker};

/// The part of a local set other threads reach.
#[derive(Default)]
pub(crate) struct Remote {
    /// Slab indices of woken tasks, oldest first.
    ready: Mutex<VecDeque<usize>>,
    /// Waker of the future that drives the set, registered on each of its polls.
    driver: Mutex<Option<Waker>>,
}

impl Remote {
    /// Lists `index` as runnable and wakes the driver.
    fn push(&self, index: usize) {
        lock(&self.ready).push_back(index);
        let driver = lock(&self.driver).clone();
        if let Some(driver) = driver {
            driver.wake();
        }
    }

    /// Takes the oldest runnable index.
    pub(crate) fn pop(&self) -> Option<usize> {
        lock(&self.ready).pop_front()
    }

    /// Whether some task is listed.
    pub(crate) fn has_ready(&self) -> bool {
        !lock(&self.ready).is_empty()
    }

    /// Registers the waker of the current driver (kept if it would wake the same task).
    pub(crate) fn register_driver(&self, waker: &Waker) {
        let mut driver = lock(&self.driver);
        match &*driver {
            Some(old) if old.will_wake(waker) => {}
            _ => *driver = Some(waker.clone()),
        }
    }
}

/// The waker of one local task.
pub(crate) struct TaskWaker {
    /// Slot of the task in its set's slab.
    index: usize,
    /// Whether the task is listed in `Remote::ready` (or finished; see the module docs).
    queued: AtomicBool,
    /// The set's shared part.
    remote: Arc<Remote>,
}

impl TaskWaker {
    /// The waker of a new task at `index`, listed as runnable (a new task runs once).
    pub(crate) fn new_listed(index: usize, remote: Arc<Remote>) -> Arc<TaskWaker> {
        let waker = Arc::new(TaskWaker {
            index,
            queued: AtomicBool::new(true),
            remote,
        });
        waker.remote.push(index);
        waker
    }

    /// Called by the owner right before polling the task: wakes from now on list it again.
    ///
    /// A swap, not a store: a wake that found the task still listed (and so pushed nothing)
    /// released what it announced with its own swap; this read-modify-write reads that value and
    /// so acquires it, and the poll that follows sees it. A plain store would not synchronise
    /// with that wake (the loom model `local_set::wake_vs_run_is_never_lost` fails with one).
    pub(crate) fn unlist(&self) {
        self.queued.swap(false, Ordering::AcqRel);
    }

    /// The task finished: ignore every later wake.
    pub(crate) fn retire(&self) {
        self.queued.store(true, Ordering::Release);
    }
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.queued.swap(true, Ordering::AcqRel) {
            self.remote.push(self.index);
        } else {
            crate::loom::reached("local_set.wake_while_listed");
        }
    }
}
