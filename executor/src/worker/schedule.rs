//! Scheduling a runnable task: onto the local queue of the worker whose thread made it
//! runnable, or onto the injector.
//!
//! On a worker thread of the task's runtime, with its core in the context (inside a poll, or
//! while it fires timers), the task goes to that worker's queue ([`Family::push_local`]), which
//! says whether an idle worker must be woken for it ([`Wake`]):
//!
//! - `Now`: the task is queued behind others, more than this worker can start now; or (Fifo)
//!   thieves emptied this worker's queue since it last popped, a sign that it is stuck in a
//!   poll (`queue/local.rs`, `push_back`); or (ordered policies) it is more urgent than what this
//!   worker runs while another idles. One parked worker is notified, unless every parked worker
//!   is resting (it left this kind of surplus to its owner a moment ago and looks again soon by
//!   itself: `idle.rs`, `patience.rs`).
//! - `No`: the only queued task is not worth a wake-up (a futex call and a migration): this
//!   worker runs it as soon as the current poll returns. A searching worker may still steal it.
//! - `AtCheck` (ordered policies): wake a parked worker at the poll's next explicit cooperative
//!   check if the task is still queued then (`coop.rs`).
//!
//! Anywhere else the task goes to the injector and one parked worker is notified.
//!
//! [`Family::push_local`]: super::Family::push_local

use super::{Handle, Wake};
use crate::context;
use crate::event::{self, EventKind};
use crate::task::Notified;

/// Schedules `task` of the runtime `handle` refers to, newly spawned.
#[inline]
pub(super) fn schedule(handle: &Handle, task: Notified) {
    schedule_as(handle, task, EventKind::Spawn);
}

/// Schedules `task` of the runtime `handle` refers to, woken.
#[inline]
pub(super) fn schedule_woken(handle: &Handle, task: Notified) {
    schedule_as(handle, task, EventKind::Wake);
}

/// Schedules `task`; `cause` (`Spawn` or `Wake`) is what a trace records when this thread is not
/// one of the runtime's workers.
#[inline]
fn schedule_as(handle: &Handle, task: Notified, cause: EventKind) {
    let shared = handle.shared();
    let mut task = Some(task);
    let wake = context::with_local_core(handle, |cx, core| {
        let task = task.take()?;
        if event::active() {
            if event::continues(task.header().id.0) {
                // Simulation: the poll continues after its `work` slice.
                core.set_resume(task);
                return Some(Wake::No);
            }
            if event::records(EventKind::Enqueue) {
                record_enqueue(&task, core.index() as u64);
            }
        }
        match core.push_local(shared, task) {
            Wake::AtCheck => {
                // Between two polls this worker picks next anyway: nothing to defer.
                if cx.in_poll() {
                    cx.wake_at_check.set(true);
                }
                Some(Wake::No)
            }
            wake => Some(wake),
        }
    })
    .flatten();
    match task {
        // Under preemptive classes the push woke the task's group itself (`Wake::No` here).
        None if wake == Some(Wake::Now) => shared.notify_parked_for_surplus(),
        None => {}
        Some(task) => {
            if event::records(EventKind::Enqueue) {
                record_enqueue(&task, u64::MAX);
            }
            shared.trace().outside(cause, || outside_args(&task, cause));
            shared.schedule_remote(task)
        }
    }
}

/// A trace's arguments of `cause` for `task` on a thread that is not a worker (`EventKind`).
#[cold]
fn outside_args(task: &Notified, cause: EventKind) -> (u64, u64, u64) {
    let h = task.header();
    match cause {
        EventKind::Spawn => (
            h.id.0,
            h.policy.deadline().unwrap_or(0),
            u64::from(h.policy.priority()),
        ),
        _ => (h.id.0, 0, 0),
    }
}

/// Trace: `task` is queued on worker `queue`'s local queue (`u64::MAX`: the injector).
#[cold]
fn record_enqueue(task: &Notified, queue: u64) {
    let h = task.header();
    event::emit(EventKind::Enqueue, || {
        (h.id.0, queue, h.policy.deadline().unwrap_or(0))
    });
}
