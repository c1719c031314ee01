//! Inheritance seen from `kairos::sync`: which rule a waiter follows (its runtime's policy).
//!
//! The table itself (records of contended locks, boosted tasks, the recomputation) is in
//! `task/boost.rs`, one layer below: the task setters (`task::set_deadline`, ...) must reach it
//! to change a boosted task's base, and the task layer may not import this one.

use crate::context;
use crate::policy::Policy;
use crate::task::boost::Mode;

/// The [`Mode`] of the runtime the calling thread is in: how a waiter registered from here is
/// ordered and what it donates. Outside any runtime: arrival order, no donation.
pub(crate) fn current_mode() -> Mode {
    context::with_handle(|h| match h.map(|h| h.shared().config().policy) {
        Some(Policy::Edf) => Mode::Edf,
        Some(Policy::Priority) => Mode::Priority,
        Some(Policy::Classes) => Mode::Classes,
        _ => Mode::Arrival,
    })
}
