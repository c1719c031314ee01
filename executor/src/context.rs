//! The thread-local runtime context: which runtime this thread belongs to, the worker's core
//! while one of its tasks is being polled, and the state of that poll.
//!
//! - On a worker thread, `handle` and `worker` are set for the thread's whole life, and `core`
//!   holds the worker's core for the duration of each poll, so a `spawn` or a wake from inside
//!   the task can push straight onto the local queue (`worker/schedule.rs`).
//! - Inside `block_on`, `handle` is set (so `kairos::spawn` works there) but `worker` and `core`
//!   are not: tasks scheduled from there go through the injector.
//! - Elsewhere, everything is empty and the free functions (`kairos::spawn`, `yield_now`) panic
//!   with a message that says so.
//!
//! The task being polled is the task layer's own thread-local (`task/current.rs`), so that a
//! task's controls reach it without this module. This module only holds the state and its
//! accessors; what is decided with it lives with the
//! decision: cooperative preemption in `coop.rs`, scheduling in `worker/`.

use crate::policy::Policy;
use crate::task::{current, Header};
use crate::worker::{AnyCore, Handle};
use std::cell::{Cell, RefCell};
use std::ptr;

/// One thread's context.
pub(crate) struct Context {
    /// The runtime this thread is in.
    handle: RefCell<Option<Handle>>,
    /// That runtime's policy, kept beside it (set wherever `handle` is) so that the channels'
    /// per-message question "does this runtime order by urgency?" is one cell read.
    policy: Cell<Option<Policy>>,
    /// Worker index, on worker threads.
    worker: Cell<Option<usize>>,
    /// The worker's core while a task is polled.
    core: RefCell<Option<AnyCore>>,
    /// When the current poll started (ns on the fast clock, `clock::fast_ns`).
    pub(crate) poll_start: Cell<u64>,
    /// Ready → poll latency of the current poll, `u64::MAX` if unknown.
    latency: Cell<u64>,
    /// `Fair`: this thread's CPU time when it last read its CPU clock (at the end of a poll,
    /// or when it woke from a park); see [`fair_charge`]. 0: unknown.
    cpu_mark: Cell<u64>,
    /// `Fair`: the wall time charged to short polls since `cpu_mark` ([`fair_charge`]).
    cpu_wall: Cell<u64>,
    /// Cooperative budget left in the current poll (`coop.rs`).
    pub(crate) budget: Cell<u32>,
    /// `should_yield` returned `true` in the current poll (counted once per poll).
    pub(crate) yield_asked: Cell<bool>,
    /// A task pushed onto this worker's queue during the current poll asked for a parked
    /// worker at the poll's next explicit cooperative check (`worker::Wake::AtCheck`).
    pub(crate) wake_at_check: Cell<bool>,
    /// When a cooperative check inside a poll last looked at the I/O reactor (ns, runtime
    /// clock; `coop.rs`).
    pub(crate) io_check: Cell<u64>,
    /// Inside a batch of wake-ups ([`hold_wakes`]): the groups of workers (bit `g` for group
    /// `g`) whose wake-up a push was told to hold back ([`hold_wake`]). `None` outside a batch.
    held_wakes: Cell<Option<u8>>,
}

thread_local! {
    static CONTEXT: Context = const {
        Context {
            handle: RefCell::new(None),
            policy: Cell::new(None),
            worker: Cell::new(None),
            core: RefCell::new(None),
            poll_start: Cell::new(0),
            latency: Cell::new(u64::MAX),
            cpu_mark: Cell::new(0),
            cpu_wall: Cell::new(0),
            budget: Cell::new(crate::coop::BUDGET),
            yield_asked: Cell::new(false),
            wake_at_check: Cell::new(false),
            io_check: Cell::new(0),
            held_wakes: Cell::new(None),
        }
    };
}

/// Runs `f`, a batch of wake-ups on this thread, collecting the worker wake-ups it holds back
/// ([`hold_wake`]): returns `f`'s result and the groups to wake now (bit `g` for group `g`).
/// Inside another batch, `f` just runs: the outer batch wakes them all at its end (0 here).
pub(crate) fn hold_wakes<R>(f: impl FnOnce() -> R) -> (R, u8) {
    let outer = CONTEXT.with(|cx| {
        let outer = cx.held_wakes.get().is_some();
        if !outer {
            cx.held_wakes.set(Some(0));
        }
        outer
    });
    if outer {
        return (f(), 0);
    }
    let out = f();
    let held = CONTEXT.with(|cx| cx.held_wakes.take()).unwrap_or(0);
    (out, held)
}

/// Inside a batch of wake-ups ([`hold_wakes`]): notes that a worker of group `group` is to be
/// woken at the batch's end, and returns `true`. Outside one: `false` (wake it now).
pub(crate) fn hold_wake(group: usize) -> bool {
    CONTEXT.with(|cx| match cx.held_wakes.get() {
        Some(groups) => {
            cx.held_wakes.set(Some(groups | 1 << group));
            true
        }
        None => false,
    })
}

/// Inside a task poll on a worker thread: calls `f` with the context, the worker index, the
/// polled task and the runtime's handle. `None` anywhere else.
#[inline]
pub(crate) fn with_poll<R>(f: impl FnOnce(&Context, usize, &Header, &Handle) -> R) -> Option<R> {
    CONTEXT
        .try_with(|cx| {
            let worker = cx.worker.get()?;
            let handle = cx.handle.borrow();
            let handle = handle.as_ref()?;
            with_current(|header| f(cx, worker, header, handle))
        })
        .ok()
        .flatten()
}

/// Marks the start of a poll of `header` on this worker thread (called by the worker just
/// before it runs the task): what the poll's accounting, `should_yield` and `task::set_*` need.
#[inline]
pub(crate) fn begin_poll(header: &Header, start: u64, latency: Option<u64>) {
    current::enter(header);
    let _ = CONTEXT.try_with(|cx| {
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
    current::enter(header);
}

/// The per-poll part of the context, saved and restored per virtual worker by the simulator
/// (one thread steps every virtual worker; a poll that continues after a `work` slice must find
/// its own start, budget and preemption state again).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Saved {
    poll_start: u64,
    latency: u64,
    cpu_mark: u64,
    cpu_wall: u64,
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
            cpu_wall: 0,
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
            cpu_wall: cx.cpu_wall.replace(saved.cpu_wall),
            budget: cx.budget.replace(saved.budget),
            yield_asked: cx.yield_asked.replace(saved.yield_asked),
            wake_at_check: cx.wake_at_check.replace(saved.wake_at_check),
        };
        current::enter(ptr::null());
        out
    })
}

/// `Fair`: how much wall time of short polls may be charged before the CPU clock is read again
/// ([`fair_charge`]).
const CPU_CLOCK_EVERY_NS: u64 = 50_000;

/// `Fair`: the charge for a poll that took `wall` ns of wall-clock time.
///
/// CFS charges CPU time, not wall time, so that time the OS takes the worker away is not
/// charged to the task it was running; but the thread CPU clock is a system call (hundreds of
/// ns on a VM, more than a whole yield). So short polls are charged their wall time, and once
/// `CPU_CLOCK_EVERY_NS` of wall time has been charged since the last CPU clock reading (or a
/// single poll is that long), the clock is read and this poll is charged the CPU time since that
/// reading minus what the short polls in between were charged. The charges then add up to the
/// thread's CPU time as before (the picks between polls included), a poll the OS interrupted for
/// long is charged its CPU time, and a task that yields constantly costs one clock read per
/// 50 µs instead of one per poll. What a short poll can be overcharged (an OS preemption inside
/// it) is taken back from the next charge that reads the clock.
pub(crate) fn fair_charge(wall: u64) -> u64 {
    CONTEXT
        .try_with(|cx| {
            let mark = cx.cpu_mark.get();
            let charged = cx.cpu_wall.get().saturating_add(wall);
            if mark != 0 && charged < CPU_CLOCK_EVERY_NS {
                cx.cpu_wall.set(charged);
                return wall;
            }
            let now = crate::event::clock::thread_cpu_ns();
            cx.cpu_mark.set(now);
            cx.cpu_wall.set(0);
            if mark == 0 {
                return wall;
            }
            now.saturating_sub(mark).saturating_sub(charged - wall)
        })
        .unwrap_or(wall)
}

/// `Fair`: marks this thread's CPU time now (after a park, so the sleep is not charged).
pub(crate) fn mark_cpu() {
    let now = crate::event::clock::thread_cpu_ns();
    let _ = CONTEXT.try_with(|cx| {
        cx.cpu_mark.set(now);
        cx.cpu_wall.set(0);
    });
}

/// The worker's `run` of a task returned: forget the task (if `take_poll` did not already).
#[inline]
pub(crate) fn end_poll() {
    current::enter(ptr::null());
}

/// The poll of `header` returned: forgets it as the current task and returns what its
/// accounting needs, `(worker, start, latency)`, if it was this worker's current poll. Called by
/// the scheduler while the poller's reference is still held.
#[inline]
pub(crate) fn take_poll(header: &Header) -> Option<(usize, u64, Option<u64>)> {
    if !ptr::eq(current::get(), header) {
        return None;
    }
    current::enter(ptr::null());
    CONTEXT
        .try_with(|cx| {
            let latency = cx.latency.get();
            Some((
                cx.worker.get()?,
                cx.poll_start.get(),
                (latency != u64::MAX).then_some(latency),
            ))
        })
        .ok()
        .flatten()
}

pub(crate) use crate::task::with_current;

/// Runs a worker thread's loop `f` with the context set up for worker `index` of `handle`.
pub(crate) fn enter_worker<R>(handle: &Handle, index: usize, f: impl FnOnce() -> R) -> R {
    CONTEXT.with(|cx| {
        set_handle(cx, Some(handle.clone()));
        cx.worker.set(Some(index));
    });
    let out = f();
    // Drop the handle before the thread's TLS teardown so its order does not matter.
    let _ = CONTEXT.try_with(|cx| {
        cx.worker.set(None);
        set_handle(cx, None)
    });
    out
}

/// Runs `f` (a poll) with `core` in the context, where scheduling on this thread finds it, and
/// returns the core.
#[inline]
pub(crate) fn with_core(core: AnyCore, f: impl FnOnce()) -> AnyCore {
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

/// If this thread is one of `handle`'s workers with its core in the context (inside a poll, or
/// firing timers), calls `f` with the context and the core. `None` otherwise (another runtime,
/// `block_on`, a plain thread, or the core already borrowed).
#[inline]
pub(crate) fn with_local_core<R>(
    handle: &Handle,
    f: impl FnOnce(&Context, &mut AnyCore) -> R,
) -> Option<R> {
    CONTEXT
        .try_with(|cx| {
            let same = matches!(&*cx.handle.borrow(), Some(h) if h.ptr_eq(handle));
            if !same {
                return None;
            }
            let mut core = cx.core.try_borrow_mut().ok()?;
            let core = core.as_mut()?;
            Some(f(cx, core))
        })
        .ok()
        .flatten()
}

impl Context {
    /// Whether a task is being polled on this thread right now.
    #[inline]
    pub(crate) fn in_poll(&self) -> bool {
        !current::get().is_null()
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

/// The index of the worker this thread is, if it is one.
#[inline]
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
    let previous = CONTEXT.with(|cx| set_handle(cx, Some(handle.clone())));
    EnterGuard { previous }
}

/// Makes `handle` this thread's runtime (and its policy the cached one); returns the previous.
fn set_handle(cx: &Context, handle: Option<Handle>) -> Option<Handle> {
    cx.policy
        .set(handle.as_ref().map(|h| h.shared().config().policy));
    cx.handle.replace(handle)
}

/// The policy of the runtime this thread is in (one thread-local read), `None` outside any.
#[inline]
pub(crate) fn current_policy() -> Option<Policy> {
    CONTEXT.try_with(|cx| cx.policy.get()).ok().flatten()
}

/// Restores the previous runtime context on drop.
pub(crate) struct EnterGuard {
    previous: Option<Handle>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let _ = CONTEXT.try_with(|cx| set_handle(cx, previous));
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::{fair_charge, hold_wake, hold_wakes, mark_cpu};
    use crate::event::clock::thread_cpu_ns;

    /// Short polls are charged their wall time; the poll that reads the CPU clock is charged the
    /// CPU time since the mark minus those charges, so the charges add up to the CPU time used
    /// between the mark and that reading (here: at least the 300 µs spun, at most what the
    /// thread used around the whole sequence).
    #[test]
    fn fair_charges_add_up_to_the_cpu_time() {
        let before = thread_cpu_ns();
        mark_cpu();
        let mut charged = 0;
        for _ in 0..3 {
            assert_eq!(
                fair_charge(1_000),
                1_000,
                "a short poll is charged its wall time"
            );
            charged += 1_000;
            let start = thread_cpu_ns();
            while thread_cpu_ns() - start < 100_000 {
                std::hint::spin_loop();
            }
        }
        // A long poll (wall 60 µs) reads the clock.
        charged += fair_charge(60_000);
        let after = thread_cpu_ns();
        assert!(charged >= 300_000, "charged {charged} ns for 300 µs spun");
        assert!(
            charged <= after - before,
            "charged {charged} of {} ns",
            after - before
        );
        // The reading set a new mark: the next short poll is charged its wall time again.
        assert_eq!(fair_charge(500), 500);
    }

    #[test]
    fn wakes_are_held_only_inside_a_batch_and_the_outer_batch_gets_them_all() {
        assert!(!hold_wake(0), "outside a batch a wake-up is done at once");
        let ((), groups) = hold_wakes(|| {
            assert!(hold_wake(0));
            let ((), inner) = hold_wakes(|| {
                assert!(hold_wake(2));
            });
            assert_eq!(
                inner, 0,
                "a nested batch leaves its wake-ups to the outer one"
            );
            assert!(hold_wake(0));
        });
        assert_eq!(groups, 0b101);
        assert!(!hold_wake(1), "the batch is over");
    }
}
