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
use crate::task::{Header, Notified};
use crate::worker::{Core, Wake};
use std::cell::{Cell, RefCell};
use std::ptr;

struct Context {
    /// The runtime this thread is in.
    handle: RefCell<Option<Handle>>,
    /// Worker index, on worker threads.
    worker: Cell<Option<usize>>,
    /// The worker's core while a task is polled.
    core: RefCell<Option<Box<Core>>>,
    /// The task being polled on this worker thread (null between polls). Only compared and,
    /// during its poll, dereferenced: the poller's reference keeps it alive until `poll_ended`.
    current: Cell<*const Header>,
    /// When the current poll started (ns, runtime clock).
    poll_start: Cell<u64>,
    /// Ready → poll latency of the current poll, `u64::MAX` if unknown.
    latency: Cell<u64>,
    /// `Fair`: this thread's CPU time at the end of its previous poll (or when it woke from a
    /// park): the next poll is charged the CPU time since (CFS charges CPU time, not wall
    /// time, so time the OS takes the worker away is not charged to the task it was running).
    /// 0: unknown, charge wall time.
    cpu_mark: Cell<u64>,
    /// Cooperative budget left in the current poll (`coop.rs`).
    budget: Cell<u32>,
    /// `should_yield` returned `true` in the current poll (counted once per poll).
    yield_asked: Cell<bool>,
    /// A task pushed onto this worker's queue during the current poll asked for a parked
    /// worker at the poll's next cooperative check ([`Wake::AtCheck`]).
    wake_at_check: Cell<bool>,
}

thread_local! {
    static CONTEXT: Context = const {
        Context {
            handle: RefCell::new(None),
            worker: Cell::new(None),
            core: RefCell::new(None),
            current: Cell::new(ptr::null()),
            poll_start: Cell::new(0),
            latency: Cell::new(u64::MAX),
            cpu_mark: Cell::new(0),
            budget: Cell::new(crate::coop::BUDGET),
            yield_asked: Cell::new(false),
            wake_at_check: Cell::new(false),
        }
    };
}

/// Marks the start of a poll of `header` on this worker thread (called by the worker just
/// before it runs the task): what `poll_ended`, `should_yield` and `task::set_*` need.
#[inline]
pub(crate) fn begin_poll(header: &Header, start: u64, latency: Option<u64>) {
    let _ = CONTEXT.try_with(|cx| {
        cx.current.set(header);
        cx.poll_start.set(start);
        cx.latency.set(latency.unwrap_or(u64::MAX));
        cx.budget.set(crate::coop::BUDGET);
        cx.yield_asked.set(false);
        cx.wake_at_check.set(false);
    });
}

/// Simulation: a poll of `header` continues after a charged `work` slice. Its start, latency,
/// budget and preemption state are the ones saved when the worker's previous step ended
/// ([`Saved`]).
pub(crate) fn resume_poll(header: &Header) {
    let _ = CONTEXT.try_with(|cx| cx.current.set(header));
}

/// The per-poll part of the context, saved and restored per virtual worker by the simulator
/// (one thread steps every virtual worker; a poll that continues after a `work` slice must find
/// its own start, budget and preemption state again).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Saved {
    poll_start: u64,
    latency: u64,
    cpu_mark: u64,
    budget: u32,
    yield_asked: bool,
    wake_at_check: bool,
}

impl Default for Saved {
    fn default() -> Saved {
        Saved {
            poll_start: 0,
            latency: u64::MAX,
            cpu_mark: 0,
            budget: crate::coop::BUDGET,
            yield_asked: false,
            wake_at_check: false,
        }
    }
}

/// Simulation: makes this thread virtual worker `worker` of the entered runtime (or no worker),
/// with its saved per-poll state; returns the state of the worker it was.
pub(crate) fn switch_worker(worker: Option<usize>, saved: Saved) -> Saved {
    CONTEXT.with(|cx| {
        cx.worker.set(worker);
        let out = Saved {
            poll_start: cx.poll_start.replace(saved.poll_start),
            latency: cx.latency.replace(saved.latency),
            cpu_mark: cx.cpu_mark.replace(saved.cpu_mark),
            budget: cx.budget.replace(saved.budget),
            yield_asked: cx.yield_asked.replace(saved.yield_asked),
            wake_at_check: cx.wake_at_check.replace(saved.wake_at_check),
        };
        cx.current.set(ptr::null());
        out
    })
}

/// `Fair`: the CPU time used by this thread since its last mark, and a new mark at now (one
/// `CLOCK_THREAD_CPUTIME_ID` read). `None` when there was no mark.
pub(crate) fn take_cpu_since_mark() -> Option<u64> {
    let now = crate::sys::thread_cpu_ns();
    CONTEXT
        .try_with(|cx| {
            let mark = cx.cpu_mark.replace(now);
            (mark != 0).then(|| now.saturating_sub(mark))
        })
        .ok()
        .flatten()
}

/// `Fair`: marks this thread's CPU time now (after a park, so the sleep is not charged).
pub(crate) fn mark_cpu() {
    let now = crate::sys::thread_cpu_ns();
    let _ = CONTEXT.try_with(|cx| cx.cpu_mark.set(now));
}

/// The worker's `run` of a task returned: forget the task (if `poll_ended` did not already).
#[inline]
pub(crate) fn end_poll() {
    let _ = CONTEXT.try_with(|cx| cx.current.set(ptr::null()));
}

/// The poll of `header` returned (called by the task harness while it still holds the poller's
/// reference, before the task can be queued again): charges the poll to the task (`Fair`) and
/// records it in this worker's metrics.
#[inline]
pub(crate) fn poll_ended(handle: &Handle, header: &Header) {
    let polled = CONTEXT.try_with(|cx| {
        if !ptr::eq(cx.current.get(), header) {
            return None;
        }
        cx.current.set(ptr::null());
        if crate::sim::hook::is_continuation(header) {
            // Simulation: the poll continues after a `work` slice; it is accounted for when it
            // really ends.
            return None;
        }
        let latency = cx.latency.get();
        Some((
            cx.worker.get()?,
            cx.poll_start.get(),
            (latency != u64::MAX).then_some(latency),
        ))
    });
    if let Ok(Some((worker, start, latency))) = polled {
        handle.shared.poll_ended(worker, header, start, latency);
    }
}

/// The task being polled on this thread (`header`) changed its deadline or priority: see
/// `Shared::running_rekeyed`.
pub(crate) fn rekeyed(header: &Header) {
    let _ = CONTEXT.try_with(|cx| {
        let Some(worker) = cx.worker.get() else {
            return;
        };
        if let Some(handle) = cx.handle.borrow().as_ref() {
            handle.shared.running_rekeyed(worker, header);
        }
    });
}

/// Runs `f` with the task being polled on this thread, if any (inside its poll).
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(&Header) -> R) -> Option<R> {
    CONTEXT
        .try_with(|cx| {
            let current = cx.current.get();
            // SAFETY: `current` is set by `begin_poll` to the task being polled and cleared by
            // `poll_ended` before the poller gives up its reference, so while it is non-null the
            // task is alive; we are inside its poll on this very thread.
            (!current.is_null()).then(|| f(unsafe { &*current }))
        })
        .ok()
        .flatten()
}

/// Whether the task being polled on this thread should yield now (`coop.rs`): its worker was
/// asked to preempt it, or (under `Fair`) it has run a full slice in this poll, or its
/// cooperative budget is spent. The first `true` of a poll is counted as a preemption. Outside a
/// task poll on a worker thread: `false`.
pub(crate) fn should_yield() -> bool {
    coop_check(true)
}

/// [`should_yield`]; `at_explicit_check`: called by the task itself (`task::should_yield`,
/// `work`'s slices), a sign that its poll goes on computing, rather than by an awaited kairos
/// operation spending budget ([`consume_budget`]), after which the poll usually returns. Only an
/// explicit check wakes the parked worker a `Wake::AtCheck` push asked for: a task that wakes
/// another and then awaits a kairos operation should not pay a wake-up and a migration for a
/// task its own worker runs next.
fn coop_check(at_explicit_check: bool) -> bool {
    CONTEXT
        .try_with(|cx| {
            let current = cx.current.get();
            if current.is_null() {
                return false;
            }
            let Some(worker) = cx.worker.get() else {
                return false;
            };
            let handle = cx.handle.borrow();
            let Some(handle) = handle.as_ref() else {
                return false;
            };
            let shared = &handle.shared;
            let mut now = None;
            // Timers that came due during this poll fire here, not after it: their tasks may be
            // more urgent than this one (they then set this worker's preempt flag), and under
            // every policy they are stamped ready on time.
            if let Some(deadline) = shared.timers.next_deadline() {
                let t = crate::time::now_ns();
                now = Some(t);
                if deadline <= t {
                    shared.fire_timers(t);
                }
            }
            // A task pushed during this poll (or by the timers just fired) waits for a parked
            // worker no longer than this check (`Wake::AtCheck`).
            if at_explicit_check && cx.wake_at_check.replace(false) && shared.has_local_work(worker)
            {
                shared.notify_parked();
            }
            let asked = cx.budget.get() == 0
                || shared.remotes[worker].slot.requested()
                || (shared.sched.fair_slice != u64::MAX
                    && now
                        .unwrap_or_else(crate::time::now_ns)
                        .saturating_sub(cx.poll_start.get())
                        >= shared.sched.fair_slice);
            if asked && !cx.yield_asked.replace(true) {
                // SAFETY: as in `with_current`: non-null means inside this task's poll.
                let header = unsafe { &*current };
                shared.count_preemption(worker, header);
            }
            asked
        })
        .unwrap_or(false)
}

/// Spends one unit of the current poll's cooperative budget; `false` if the task should yield
/// instead (budget spent or preemption requested; see [`should_yield`]).
#[inline]
pub(crate) fn consume_budget() -> bool {
    let spent = CONTEXT
        .try_with(|cx| {
            if cx.current.get().is_null() {
                return false;
            }
            let left = cx.budget.get();
            if left > 0 {
                cx.budget.set(left - 1);
            }
            left == 0
        })
        .unwrap_or(false);
    !(spent || coop_check(false))
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
    let mut wake = Wake::Now;
    let traced = crate::sim::hook::active();
    let _ = CONTEXT.try_with(|cx| {
        let current = cx.handle.borrow();
        let same = matches!(&*current, Some(h) if h.ptr_eq(handle));
        if !same {
            return;
        }
        if let Ok(mut core) = cx.core.try_borrow_mut() {
            if let Some(core) = core.as_mut() {
                if let Some(task) = task.take() {
                    if traced {
                        if crate::sim::hook::is_continuation(task.header()) {
                            // Simulation: the poll continues after its `work` slice.
                            core.set_resume(task);
                            wake = Wake::No;
                            return;
                        }
                        record_enqueue(&task, core.index() as u64);
                    }
                    wake = core.push_local(task, &handle.shared);
                    if wake == Wake::AtCheck {
                        // Between two polls this worker picks next anyway: nothing to defer.
                        if !cx.current.get().is_null() {
                            cx.wake_at_check.set(true);
                        }
                        wake = Wake::No;
                    }
                }
            }
        }
    });
    if traced {
        if let Some(task) = &task {
            record_enqueue(task, u64::MAX);
        }
    }
    match task {
        // Pushed locally behind other tasks: there is more work than this worker can start
        // now, so make sure an idle worker comes to steal. The only queued task is not worth a
        // wake-up (a futex call and a migration): this worker runs it as soon as the current
        // poll returns, or (ordered policies, `Wake::AtCheck`) a parked worker is woken at the
        // poll's next cooperative check. A searching worker may still steal it.
        None if wake == Wake::Now => handle.shared.notify_parked(),
        None => {}
        Some(task) => handle.shared.schedule_remote(task),
    }
}

/// Trace: `task` is queued on worker `queue`'s local queue (`u64::MAX`: the injector).
#[cold]
fn record_enqueue(task: &Notified, queue: u64) {
    let h = task.header();
    crate::sim::hook::record(
        crate::sim::EventKind::Enqueue,
        h.id.0,
        queue,
        h.sched.deadline().unwrap_or(0),
    );
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

/// The index of the worker this thread is, if it is one.
pub(crate) fn current_worker() -> Option<usize> {
    CONTEXT.try_with(|cx| cx.worker.get()).ok().flatten()
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
