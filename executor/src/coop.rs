//! Cooperative preemption: how a running task is asked to give its worker back.
//!
//! kairos never interrupts a `poll`. A task yields only by returning `Pending`; the runtime can
//! only *ask*. It asks in three cases, all seen through one check ([`crate::task::should_yield`]):
//!
//! 1. **Preemption request.** When a task becomes runnable and is more urgent than the least
//!    urgent task running on any worker (ordered policies: earlier deadline under `Edf`, higher
//!    priority under `Priority`), that worker's preempt flag is set (`worker/preempt.rs`). The
//!    flag is cleared when the worker starts its next poll.
//! 2. **Time slice** (`Fair`, and the fair class of `Classes`): the current poll has run for
//!    `Builder::fair_slice` or longer; under `Classes` also a budgeted task's poll that has
//!    spent its bandwidth budget (`policy/cbs.rs`).
//! 3. **Budget.** Each poll starts with [`BUDGET`] units; every kairos future that completes an
//!    operation (a timer firing, a joined task's output) spends one. A task that keeps finding
//!    its awaits ready would otherwise never return `Pending`. tokio uses the same idea and the
//!    same number (`tokio/src/runtime/coop.rs`).
//!
//! Where the check runs: in kairos' own futures ([`crate::time::Sleep`], `Interval::tick`,
//! [`crate::JoinHandle`], the `sync` primitives) before they complete (the preemption flag at
//! every unit of budget they spend, the whole check at every [`CHECK_EVERY`]-th and the last);
//! in [`crate::work()`] between slices; and wherever user code calls
//! [`crate::task::should_yield`] (then `kairos::yield_now().await`). A yield
//! asked by the runtime and honoured is counted once per poll in the metrics as a preemption.
//!
//! The check also does two things on the task's behalf, because it is the only point inside a
//! long poll where the worker gets control back:
//!
//! - **Due timers fire** (their tasks may be more urgent than the running one, and are stamped
//!   ready on time).
//! - **Ready sockets are seen** at *explicit* checks, at most every `worker::EVENT_CHECK_NS`
//!   (100 µs) per worker thread, when the runtime has a reactor: a non-blocking check of the OS
//!   poller whose woken tasks are pushed like any wake (an urgent one sets this worker's preempt
//!   flag, so this very check can return `true`; the others get a parked worker through the
//!   deferred wake below).
//! - **Deferred wakes.** A task made runnable inside a poll that is no more urgent than the
//!   running task, while another worker idles, does not wake that worker at once
//!   (`worker::Wake::AtCheck`): if the poll returns first (a ping-pong), its own worker runs it
//!   next with no wake-up or migration. If the poll goes on computing instead, the next
//!   *explicit* check (`task::should_yield`, a `work` slice; not an awaited operation spending
//!   budget) wakes a parked worker for it.
//!
//! What is *not* preempted: a poll that computes without calling any of these. It holds its
//! worker until it returns, whatever the policy; that is the limit of cooperative scheduling and
//! every guarantee in `docs/policies.md` is stated with it.

use crate::context::{self, Context};
use crate::event::clock::{fast_ns, now_ns};
use crate::policy::classes::{class_of, Class};
use crate::policy::Policy;
use crate::task::{current, Header};
use crate::worker::{Handle, Shared, EVENT_CHECK_NS};
use std::task::{Context as TaskContext, Poll, Waker};

/// Operations a poll may complete through kairos futures before it is asked to yield. 128, as
/// tokio: large enough that a task rarely hits it, small enough that one task cannot keep a
/// worker for more than a few hundred microseconds of ready awaits.
pub(crate) const BUDGET: u32 = 128;

/// Budget units between two whole checks. An awaited operation that spends a unit reads its
/// worker's preemption flag (one load: a request is honoured at the very next unit) and runs the
/// rest of the check (due timers: the timer heap's earliest deadline, and the clock whenever a
/// timer is pending; the `Fair` slice; the budget's end) at every `CHECK_EVERY`-th unit and at
/// the last. A poll starts right after its worker fired due timers, so its first units need no
/// timer check. What waits longer than at every unit: a timer that falls due during a poll fires
/// up to 7 ready operations later (each well under a microsecond), and a `Fair` slice ends up to
/// 7 operations late.
pub(crate) const CHECK_EVERY: u32 = 8;

/// Called by kairos futures that are about to complete an operation: `Ready(())` to go on, or
/// `Pending` after waking the task, so that it goes back to its run queue and the worker picks
/// again (the operation is retried on the next poll).
#[inline]
pub(crate) fn poll_proceed(cx: &mut TaskContext<'_>) -> Poll<()> {
    if proceed(cx.waker()) {
        Poll::Ready(())
    } else {
        Poll::Pending
    }
}

/// [`poll_proceed`] with the task's waker: `true` to go on, `false` after waking it.
#[inline]
pub(crate) fn proceed(waker: &Waker) -> bool {
    if consume_budget() {
        true
    } else {
        waker.wake_by_ref();
        false
    }
}

/// Spends one unit of the current poll's cooperative budget; `false` if the task should yield
/// instead (budget spent, preemption requested, slice used: see [`should_yield`]). Outside a
/// task poll on a worker: `true`.
///
/// The whole check runs at every [`CHECK_EVERY`]-th unit, at the last one, and whenever this
/// worker's preemption flag is set; the other units read that flag only.
#[inline]
pub(crate) fn consume_budget() -> bool {
    context::with_poll(|cx, worker, header, handle| {
        let left = cx.budget.get();
        if left == 0 {
            return current::is_unconstrained();
        }
        let left = left - 1;
        cx.budget.set(left);
        if left % CHECK_EVERY != 0 && !handle.shared().preempt_requested(worker) {
            return true;
        }
        !budget_check(cx, worker, header, handle) || current::is_unconstrained()
    })
    .unwrap_or(true)
}

/// [`check`] for a unit of budget, out of line: the units that run it are the few.
#[inline(never)]
fn budget_check(cx: &Context, worker: usize, header: &Header, handle: &Handle) -> bool {
    check(cx, worker, header, handle, Check::Budget)
}

/// Whether the task being polled on this thread should yield now: its worker was asked to
/// preempt it, or (under `Fair`) it has run a full slice in this poll, or its cooperative
/// budget is spent. The first `true` of a poll is counted as a preemption. Outside a task poll
/// on a worker thread: `false`.
pub(crate) fn should_yield() -> bool {
    context::with_poll(|cx, worker, header, handle| {
        check(cx, worker, header, handle, Check::Explicit)
    })
    .unwrap_or(false)
}

/// Who runs a cooperative check.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Check {
    /// The task itself (`task::should_yield`, `work`'s slices): a sign that its poll goes on
    /// computing. Only such a check wakes the parked worker a `Wake::AtCheck` push asked for.
    Explicit,
    /// An awaited kairos operation spending budget, after which the poll usually returns: a task
    /// that wakes another and then awaits should not pay a wake-up and a migration for a task
    /// its own worker runs next.
    Budget,
}

/// The check itself (see the module docs): fires timers that came due during this poll, wakes
/// a parked worker for a deferred push, and says whether the task should yield.
#[inline]
fn check(cx: &Context, worker: usize, header: &Header, handle: &Handle, by: Check) -> bool {
    let shared = handle.shared();
    let mut now = None;
    // Timers that came due during this poll fire here, not after it: their tasks may be more
    // urgent than this one (they then set this worker's preempt flag), and under every policy
    // they are stamped ready on time.
    if let Some(deadline) = shared.timers().next_deadline() {
        let t = now_ns();
        now = Some(t);
        if deadline <= t {
            shared.fire_timers(t);
        }
    }
    // Sockets that became ready during a poll that goes on computing are seen here too, at
    // most every `EVENT_CHECK_NS` (the worker checks between polls at the same interval): a
    // request for an urgent task must not wait for a long poll to end before anyone looks.
    // Explicit checks only: a poll spending budget on ready awaits usually returns soon, and
    // the tasks this check wakes would queue behind it on this worker (the deferred wake below
    // runs at explicit checks only), where the other workers would take them between polls.
    if by == Check::Explicit && shared.reactor().is_some() {
        let t = *now.get_or_insert_with(now_ns);
        if t.saturating_sub(cx.io_check.get()) >= EVENT_CHECK_NS {
            cx.io_check.set(t);
            shared.poll_io_now();
        }
    }
    // A task pushed during this poll (or by the timers or sockets just handled) waits for a parked worker no
    // longer than this check (`Wake::AtCheck`).
    if by == Check::Explicit && cx.wake_at_check.replace(false) && shared.has_local_work(worker) {
        shared.notify_parked_near(worker);
    }
    let slice = shared.config().fair_slice;
    let asked = cx.budget.get() == 0
        || shared.preempt_requested(worker)
        || (slice != u64::MAX && {
            // The poll's start is a fast-clock stamp: measured on the same clock.
            let ran = fast_ns().saturating_sub(cx.poll_start.get());
            // Under `Classes` the slice is the fair class's only (the other classes keep their
            // own order); a budgeted task yields once this poll has spent its budget.
            (ran >= slice && sliced(shared, header)) || over_budget(shared, header, ran)
        });
    if asked && !cx.yield_asked.replace(true) {
        shared.count_preemption(worker, header);
    }
    asked
}

/// Whether `header` is a budgeted task under `Classes` whose poll has run `ran` ns, at least
/// what its budget had left when the poll started (budgets act under `Classes` only).
#[inline]
fn over_budget(shared: &Shared, header: &Header, ran: u64) -> bool {
    header
        .policy
        .budget()
        .is_some_and(|b| shared.config().policy == Policy::Classes && ran >= b.load().left())
}

/// Whether `header`'s polls are held to the fair slice: every task under `Fair`, fair-class
/// tasks under `Classes`.
#[inline]
fn sliced(shared: &Shared, header: &Header) -> bool {
    shared.config().policy != Policy::Classes
        || class_of(header.policy.deadline(), header.policy.priority()) == Class::Fair
}
