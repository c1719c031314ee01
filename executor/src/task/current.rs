//! The running task's view of its own scheduling: change its parameters, ask whether to yield.
//!
//! These functions act on the task whose `poll` is running on the calling thread. Anywhere
//! else (inside `block_on`'s own future, on a plain thread) there is no current task: the
//! setters return [`NoCurrentTask`] and [`should_yield`] returns `false`.
//!
//! A changed parameter takes effect the next time the task is queued (it yields, or is woken
//! after it returned `Pending`): a queued task keeps the key it was queued with. Under `Edf` and
//! `Priority`, a running task that makes itself less urgent than a task queued on its worker or
//! on the injector is asked to yield at its next cooperative check (as if that task had just
//! arrived): a periodic task's next job, whose release is already due when the previous job
//! ends, must not run ahead of more urgent jobs that were released meanwhile.

use super::Header;
use crate::time::instant::Instant;
use std::cell::Cell;
use std::ptr::{self, NonNull};

thread_local! {
    /// The task being polled on this thread, null between polls. Set by the worker around each
    /// poll ([`enter`]); only compared and, during that poll, dereferenced: the poller's
    /// reference keeps the task alive until the worker clears it.
    static CURRENT: Cell<*const Header> = const { Cell::new(ptr::null()) };
}

thread_local! {
    /// Inside [`unconstrained`]: operations of the cooperative budget on this thread never ask
    /// to yield (`coop.rs` reads it, only when it would refuse one).
    static UNCONSTRAINED: Cell<bool> = const { Cell::new(false) };
}

/// Whether this thread runs inside [`unconstrained`].
#[cold]
pub(crate) fn is_unconstrained() -> bool {
    UNCONSTRAINED.try_with(Cell::get).unwrap_or(false)
}

/// Runs `f` with every operation of the cooperative budget on this thread allowed to go on
/// (the budget is still spent): for operations that are not awaited and so cannot yield, such
/// as `JoinSet::try_join_next`.
pub(crate) fn unconstrained<R>(f: impl FnOnce() -> R) -> R {
    /// Restores the previous flag, also if `f` unwinds.
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = UNCONSTRAINED.try_with(|u| u.set(self.0));
        }
    }
    let _restore = Restore(UNCONSTRAINED.try_with(|u| u.replace(true)).unwrap_or(false));
    f()
}

/// Makes `header` (or, null, no task) the task being polled on this thread.
#[inline]
pub(crate) fn enter(header: *const Header) {
    let _ = CURRENT.try_with(|c| c.set(header));
}

/// The task being polled on this thread, null if none.
#[inline]
pub(crate) fn get() -> *const Header {
    CURRENT.try_with(Cell::get).unwrap_or(ptr::null())
}

/// Runs `f` with the task being polled on this thread, if any (inside its poll).
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(&Header) -> R) -> Option<R> {
    let current = get();
    // SAFETY: `CURRENT` is set by the worker to the task it polls and cleared before the
    // poller gives up its reference, so while it is non-null the task is alive; we are inside
    // its poll on this very thread.
    (!current.is_null()).then(|| f(unsafe { &*current }))
}

/// Tells the running task's scheduler that the task changed its deadline or priority.
fn rekeyed(header: &Header) {
    // SAFETY: inside the task's poll (see `with_current`), whose reference keeps it alive.
    unsafe { (header.vtable.rekeyed)(NonNull::from(header)) }
}

/// Returned by the setters of [`kairos::task`](crate::task) when no task is being polled on
/// this thread: call them from inside a spawned task.
///
/// ```
/// let err = kairos::task::set_priority(3).unwrap_err();
/// assert!(err.to_string().contains("inside a task"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "no kairos task is running on this thread: call kairos::task setters from inside a task \
     spawned on a kairos runtime (not from block_on's own future or a plain thread)"
)]
pub struct NoCurrentTask;

/// Sets the running task's absolute deadline (used by `Edf`; see [`Sched`](crate::Sched)).
/// While the task is boosted by a lock it holds, this sets its base deadline; the boost stays
/// on top until the lock is released.
///
/// ```
/// use kairos::{Policy, Runtime};
/// use std::time::Duration;
/// let rt = Runtime::builder().workers(1).policy(Policy::Edf).build().unwrap();
/// let d = rt.block_on(rt.spawn(async {
///     let at = kairos::time::Instant::now() + Duration::from_millis(3);
///     kairos::task::set_deadline(at).unwrap();
///     kairos::task::deadline()
/// })).unwrap();
/// assert!(d.is_some());
/// ```
pub fn set_deadline(at: Instant) -> Result<(), NoCurrentTask> {
    with_current(|h| {
        super::boost::set_base(h, |p| p.deadline = Some(at.as_nanos()));
        rekeyed(h);
    })
    .ok_or(NoCurrentTask)
}

/// Removes the running task's deadline: under `Edf` it then runs after every task that has one.
///
/// ```
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// let d = rt.block_on(rt.spawn(async {
///     kairos::task::clear_deadline().unwrap();
///     kairos::task::deadline()
/// })).unwrap();
/// assert_eq!(d, None);
/// ```
pub fn clear_deadline() -> Result<(), NoCurrentTask> {
    with_current(|h| {
        super::boost::set_base(h, |p| p.deadline = None);
        rekeyed(h);
    })
    .ok_or(NoCurrentTask)
}

/// The running task's absolute deadline, if it has one (and `None` outside a task). While the
/// task holds a `kairos::sync::Mutex` that lends it a waiter's deadline, this is still its own
/// (base) deadline, which the setters change (`docs/sync.md`, "Inheritance").
///
/// ```
/// assert_eq!(kairos::task::deadline(), None);
/// ```
pub fn deadline() -> Option<Instant> {
    with_current(|h| super::boost::base(h).deadline.map(Instant::from_nanos)).flatten()
}

/// Sets the running task's base priority, 0 lowest, 255 highest (used by `Priority`).
///
/// ```
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// rt.block_on(rt.spawn(async { kairos::task::set_priority(9).unwrap() })).unwrap();
/// ```
pub fn set_priority(priority: u8) -> Result<(), NoCurrentTask> {
    with_current(|h| {
        super::boost::set_base(h, |p| p.priority = priority);
        rekeyed(h);
    })
    .ok_or(NoCurrentTask)
}

/// Sets the running task's nice value, clamped to -20..=19 (used by `Fair`).
///
/// ```
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// rt.block_on(rt.spawn(async { kairos::task::set_nice(5).unwrap() })).unwrap();
/// ```
pub fn set_nice(nice: i8) -> Result<(), NoCurrentTask> {
    with_current(|h| h.policy.set_nice(nice)).ok_or(NoCurrentTask)
}

/// Whether the running task should yield now: a more urgent task is waiting for this worker,
/// the task has used its time slice (`Fair`), or its cooperative budget. CPU-bound loops call it
/// between steps and `kairos::yield_now().await` when it says so. The first `true` in a poll is
/// counted as a preemption in the metrics. Cheap: a few thread-local reads and one atomic load
/// (plus a clock read under `Fair`). Outside a task: `false`.
///
/// ```
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// rt.block_on(rt.spawn(async {
///     for step in 0..1_000u32 {
///         std::hint::black_box(step); // one unit of work
///         if kairos::task::should_yield() {
///             kairos::yield_now().await;
///         }
///     }
/// })).unwrap();
/// ```
pub fn should_yield() -> bool {
    with_current(|h| (h.vtable.should_yield)()).unwrap_or(false)
}
