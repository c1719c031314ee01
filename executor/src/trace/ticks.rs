//! The trace's time stamps: the CPU's time-stamp counter where there is one
//! (`event::clock::ticks`), converted to the runtime clock's nanoseconds when the trace stops,
//! by the straight line through the (counter, clock) pairs read at start and at stop. Elsewhere
//! the stamps are the runtime clock itself.
//!
//! This assumes a counter that runs at a constant rate and agrees across cores (an "invariant
//! TSC", which every x86-64 CPU of the last decade has, and which hypervisors pass through);
//! where it does not, a trace's times are off, not its order within a worker.

use crate::event::clock;

/// A raw time stamp now (`event::clock::ticks`).
#[inline]
pub(crate) fn now() -> u64 {
    clock::ticks()
}

/// A (stamp, clock) pair.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mark {
    /// Raw stamp.
    ticks: u64,
    /// Runtime clock, ns.
    ns: u64,
}

impl Mark {
    /// Both clocks, now.
    pub(crate) fn now() -> Mark {
        Mark {
            ticks: now(),
            ns: clock::now_ns(),
        }
    }

    /// The runtime clock's ns.
    pub(crate) fn ns(self) -> u64 {
        self.ns
    }
}

/// Converts stamps to ns by the line through two marks.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Convert {
    /// The first mark.
    start: Mark,
    /// ns per tick.
    rate: f64,
}

impl Convert {
    /// The conversion through `start` and `stop`.
    pub(crate) fn new(start: Mark, stop: Mark) -> Convert {
        let ticks = stop.ticks.saturating_sub(start.ticks);
        let ns = stop.ns.saturating_sub(start.ns);
        let rate = if ticks == 0 {
            1.0
        } else {
            ns as f64 / ticks as f64
        };
        Convert { start, rate }
    }

    /// Stamp `t` in the runtime clock's ns.
    pub(crate) fn ns(&self, t: u64) -> u64 {
        let dt = t as f64 - self.start.ticks as f64;
        (self.start.ns as f64 + dt * self.rate).max(0.0) as u64
    }
}
