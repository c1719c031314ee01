//! Inheritance seen from `kairos::sync`: which rule a waiter follows (its runtime's policy), and
//! the crate-internal API that lets a message carry its sender's urgency.
//!
//! The table itself (records of contended locks, boosted tasks, carried urgencies, the
//! recomputation) is in `task/boost.rs`, one layer below: the task setters
//! (`task::set_deadline`, ...) must reach it to change a boosted task's base, and the task layer
//! may not import this one.
//!
//! # Messages (for the channels)
//!
//! A channel that wants a deadline to flow through a pipeline does three things:
//!
//! 1. `send` stamps the message with [`MessageUrgency::current`] (the sender's *effective*
//!    parameters: a sender that is itself boosted passes the boost on);
//! 2. if a receiver task is parked waiting (it registered a [`ReceiverTask::current`] with its
//!    waker), `send` calls [`ReceiverTask::raise`] before waking it, so the woken receiver is
//!    queued with at least the message's urgency (it must run to take the message);
//! 3. a receive that takes a message calls [`boost_current_until_next_receive`] with the
//!    message's urgency.
//!
//! **When the receiver's own parameters come back**: when its next receive takes a message (that
//! message's urgency replaces the previous one, so a less urgent message lowers it back to its
//! base or to that message's urgency, whichever is more urgent), or when the task completes. A
//! receiver that waits on an empty channel keeps the last message's urgency meanwhile (it is not
//! runnable, so this costs nothing; a raise at the next send applies on top of it). The boost
//! combines with lock inheritance (effective = base raised by lock waiters and by the carried
//! urgency) and with the user's setters (which change the base), as `docs/sync.md` states.
//!
//! Limit: a channel that queues a less urgent message ahead of a more urgent one lowers its
//! receiver at the first receive; a channel that cares passes the most urgent of the taken and
//! still queued messages in step 3.

use crate::context;
use crate::policy::Policy;
use crate::task::boost::{self, Mode, Params};
use crate::task::{current, Header};
use std::ptr::NonNull;

/// The [`Mode`] of the runtime the calling thread is in: how a waiter registered from here is
/// ordered and what it donates. Outside any runtime: arrival order, no donation.
#[inline]
pub(crate) fn current_mode() -> Mode {
    match context::current_policy() {
        Some(Policy::Edf) => Mode::Edf,
        Some(Policy::Priority) => Mode::Priority,
        Some(Policy::Classes) => Mode::Classes,
        _ => Mode::Arrival,
    }
}

/// The urgency a message carries: its sender's effective deadline and priority under the
/// sender's runtime policy (nothing under `Fifo` and `Fair`, or outside a task).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MessageUrgency(Option<(Params, Mode)>);

impl MessageUrgency {
    /// No urgency (a message from outside any task, or inheritance off).
    pub(crate) const NONE: MessageUrgency = MessageUrgency(None);

    /// The calling task's effective urgency if `inherit` (the channel carries urgency), else
    /// [`MessageUrgency::NONE`].
    #[inline]
    pub(crate) fn current_if(inherit: bool) -> MessageUrgency {
        if inherit {
            MessageUrgency::current()
        } else {
            MessageUrgency::NONE
        }
    }

    /// The calling task's effective urgency. Inline up to the runtime's mode (one thread-local
    /// read): under `Fifo` and `Fair` a send does nothing more.
    #[inline]
    pub(crate) fn current() -> MessageUrgency {
        let mode = current_mode();
        if mode == Mode::Arrival {
            return MessageUrgency::NONE;
        }
        MessageUrgency::of_current_task(mode)
    }

    /// The calling task's parameters under `mode` (an ordered one).
    #[inline(never)]
    fn of_current_task(mode: Mode) -> MessageUrgency {
        MessageUrgency(current::with_current(|h| (boost::Params::of(h), mode)))
    }
}

/// A counted reference to a task that waits to receive, so that a sender may raise it.
pub(crate) struct ReceiverTask(NonNull<Header>);

impl std::fmt::Debug for ReceiverTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ReceiverTask").field(&self.0).finish()
    }
}

/// Whether a receiver registered from the calling thread should keep its task for a sender to
/// raise: inside a runtime whose policy orders by urgency.
#[inline]
fn raises_receivers() -> bool {
    current_mode() != Mode::Arrival
}

// SAFETY: the pointer owns a task reference; headers are `Sync`.
unsafe impl Send for ReceiverTask {}
// SAFETY: see `Send`.
unsafe impl Sync for ReceiverTask {}

impl ReceiverTask {
    /// The calling task, for a channel that carries urgency (`inherit`) inside a runtime that
    /// orders by it; `None` otherwise (no reference taken).
    #[inline]
    pub(crate) fn current_if(inherit: bool) -> Option<ReceiverTask> {
        if inherit && raises_receivers() {
            ReceiverTask::current()
        } else {
            None
        }
    }

    /// The calling task, if any (takes a reference).
    pub(crate) fn current() -> Option<ReceiverTask> {
        current::with_current(|h| {
            h.state.ref_inc();
            ReceiverTask(NonNull::from(h))
        })
    }

    /// Raises the task to at least `urgency` until its next receive (step 2 of the module docs).
    pub(crate) fn raise(&self, urgency: MessageUrgency) {
        if urgency.0.is_some() {
            // SAFETY: the reference this value owns keeps the task alive.
            boost::carry(unsafe { self.0.as_ref() }, urgency.0, true);
        }
    }
}

impl Drop for ReceiverTask {
    fn drop(&mut self) {
        // SAFETY: this value owns one reference and gives it up.
        unsafe { crate::task::raw::RawTask::from_header(self.0) }.drop_reference();
    }
}

/// The calling task took a message of `urgency`: it runs at least that urgent until its next
/// receive (which calls this again) or its completion (step 3 of the module docs). A message
/// without urgency costs one relaxed load while no task in the process carries one.
#[inline]
pub(crate) fn boost_current_until_next_receive(urgency: MessageUrgency) {
    if urgency.0.is_none() && !boost::active() {
        return;
    }
    current::with_current(|h| boost::carry(h, urgency.0, false));
}
