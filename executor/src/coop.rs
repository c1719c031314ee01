//! Cooperative preemption: how a running task is asked to give its worker back.
//!
//! kairos never interrupts a `poll`. A task yields only by returning `Pending`; the runtime can
//! only *ask*. It asks in three cases, all seen through one check ([`crate::task::should_yield`]):
//!
//! 1. **Preemption request.** When a task becomes runnable and is more urgent than the least
//!    urgent task running on any worker (ordered policies: earlier deadline under `Edf`, higher
//!    priority under `Priority`), that worker's preempt flag is set (`worker/shared.rs`). The
//!    flag is cleared when the worker starts its next poll.
//! 2. **Time slice** (`Fair` only): the current poll has run for `Builder::fair_slice` or longer.
//! 3. **Budget.** Each poll starts with [`BUDGET`] units; every kairos future that completes an
//!    operation (a timer firing, a joined task's output) spends one. A task that keeps finding
//!    its awaits ready would otherwise never return `Pending`. tokio uses the same idea and the
//!    same number (`tokio/src/runtime/coop.rs`).
//!
//! Where the check runs: in kairos' own futures ([`crate::time::Sleep`], `Interval::tick`,
//! [`crate::JoinHandle`]) before they complete, in [`crate::work()`] between slices, and wherever
//! user code calls [`crate::task::should_yield`] (then `kairos::yield_now().await`). A yield
//! asked by the runtime and honoured is counted once per poll in the metrics as a preemption.
//!
//! What is *not* preempted: a poll that computes without calling any of these. It holds its
//! worker until it returns, whatever the policy; that is the limit of cooperative scheduling and
//! every guarantee in `docs/policies.md` is stated with it.

use crate::runtime::context;
use std::task::{Context, Poll};

/// Operations a poll may complete through kairos futures before it is asked to yield. 128, as
/// tokio: large enough that a task rarely hits it, small enough that one task cannot keep a
/// worker for more than a few hundred microseconds of ready awaits.
pub(crate) const BUDGET: u32 = 128;

/// Called by kairos futures that are about to complete an operation: `Ready(())` to go on, or
/// `Pending` after waking the task, so that it goes back to its run queue and the worker picks
/// again (the operation is retried on the next poll).
#[inline]
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    if context::consume_budget() {
        Poll::Ready(())
    } else {
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
