//! The thread-local runtime context: which runtime this thread belongs to, and the worker's core
//! while one of its tasks is being polled.
//!
//! - On a worker thread, `handle` and `worker` are set for the thread's whole life, and `core`
//!   holds the worker's [`Core`] for the duration of each poll, so a `spawn` or a wake from inside
//!   the task can push straight onto the local queue.
//! - Inside `block_on`, `handle` is set (so `kairos::spawn` works there) but `worker` and `core`
//!   are not: tasks scheduled from there go through the injector.
//! - Elsewhere, everything is empty and the free functions (`kairos::spawn`, `yield_now`) panic
//!   with a message that says so.

use super::Handle;
use crate::task::Notified;
use crate::worker::Core;
use std::cell::{Cell, RefCell};

struct Context {
    /// The runtime this thread is in.
    handle: RefCell<Option<Handle>>,
    /// Worker index, on worker threads.
    worker: Cell<Option<usize>>,
    /// The worker's core while a task is polled.
    core: RefCell<Option<Box<Core>>>,
}

thread_local! {
    static CONTEXT: Context = const {
        Context {
            handle: RefCell::new(None),
            worker: Cell::new(None),
            core: RefCell::new(None),
        }
    };
}

/// Runs a worker thread's loop `f` with the context set up for worker `index` of `handle`.
pub(crate) fn enter_worker<R>(handle: &Handle, index: usize, f: impl FnOnce() -> R) -> R {
    CONTEXT.with(|cx| {
        *cx.handle.borrow_mut() = Some(handle.clone());
        cx.worker.set(Some(index));
    });
    let out = f();
    // Drop the handle before the thread's TLS teardown so its order does not matter.
    let _ = CONTEXT.try_with(|cx| {
        cx.worker.set(None);
        cx.handle.borrow_mut().take()
    });
    out
}

/// Runs `f` (a poll) with `core` available to `schedule`, and returns the core.
#[inline]
pub(crate) fn with_core(core: Box<Core>, f: impl FnOnce()) -> Box<Core> {
    CONTEXT.with(|cx| {
        let previous = cx.core.replace(Some(core));
        debug_assert!(previous.is_none(), "nested worker core");
    });
    // `f` is a task poll, which catches panics itself; the core is always put back.
    f();
    CONTEXT
        .with(|cx| cx.core.take())
        .expect("worker core taken during a poll")
}

/// Schedules `task` of runtime `handle`: onto this worker's local queue if this thread is one of
/// `handle`'s workers in the middle of a poll, else onto the injector.
#[inline]
pub(crate) fn schedule(handle: &Handle, task: Notified) {
    let mut task = Some(task);
    let mut surplus = true;
    let _ = CONTEXT.try_with(|cx| {
        let current = cx.handle.borrow();
        let same = matches!(&*current, Some(h) if h.ptr_eq(handle));
        if !same {
            return;
        }
        if let Ok(mut core) = cx.core.try_borrow_mut() {
            if let Some(core) = core.as_mut() {
                if let Some(task) = task.take() {
                    surplus = core.push_local(task, &handle.shared);
                }
            }
        }
    });
    match task {
        // Pushed locally behind other tasks: there is more work than this worker can start
        // now, so make sure an idle worker comes to steal. The only queued task is not worth a
        // wake-up (a futex call and a migration): this worker runs it as soon as the current
        // poll returns. A searching worker may still steal it.
        None if surplus => handle.shared.notify_parked(),
        None => {}
        Some(task) => handle.shared.schedule_remote(task),
    }
}

/// Calls `f` with the current runtime's handle, if any.
#[inline]
pub(crate) fn with_handle<R>(f: impl FnOnce(Option<&Handle>) -> R) -> R {
    let mut f = Some(f);
    match CONTEXT.try_with(|cx| {
        let handle = cx.handle.borrow();
        (f.take().expect("called once"))(handle.as_ref())
    }) {
        Ok(out) => out,
        // Thread-local storage is being torn down: no runtime.
        Err(_) => (f.take().expect("not called"))(None),
    }
}

/// Whether this thread is a worker thread of any kairos runtime.
pub(crate) fn is_worker() -> bool {
    CONTEXT
        .try_with(|cx| cx.worker.get().is_some())
        .unwrap_or(false)
}

/// Whether this thread is a worker thread of `handle`'s runtime.
pub(crate) fn is_worker_of(handle: &Handle) -> bool {
    CONTEXT
        .try_with(|cx| {
            cx.worker.get().is_some() && matches!(&*cx.handle.borrow(), Some(h) if h.ptr_eq(handle))
        })
        .unwrap_or(false)
}

/// Makes `handle` the current runtime until the guard drops (used by `block_on`).
pub(crate) fn enter(handle: &Handle) -> EnterGuard {
    let previous = CONTEXT.with(|cx| cx.handle.replace(Some(handle.clone())));
    EnterGuard { previous }
}

/// Restores the previous runtime context on drop.
pub(crate) struct EnterGuard {
    previous: Option<Handle>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let _ = CONTEXT.try_with(|cx| cx.handle.replace(previous));
    }
}
