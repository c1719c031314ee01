//! Time: the runtime's clock, sleeps, timeouts and intervals.
//!
//! - [`Instant`]: integer nanoseconds on the runtime's clock (the OS monotonic clock; under
//!   [`crate::sim`], the simulation's virtual clock).
//! - [`sleep()`], [`sleep_until`], [`timeout()`], [`interval()`]: futures driven by the runtime's timer
//!   driver. Deadlines are nanoseconds, not milliseconds: no timer wheel tick rounds them.
//!
//! # How precise
//!
//! A timer is stored in the runtime's timer heap (O(log n) insert and cancel). One parked worker
//! holds the *timer-waiter token* and sleeps in the kernel until the earliest deadline, with the
//! thread's timer slack set to 1 ns (`prctl(PR_SET_TIMERSLACK)` on Linux, instead of the default
//! 50 µs), so the wake-up is as early as the kernel's high-resolution timers allow. When the
//! next two timers fall due within 50 µs of each other (periodic tasks on one grid), a second
//! parked worker waits for the second one as well, so each wakes by its own timer instead of
//! the second waiting for the first worker to wake it (`time/driver.rs`). Busy workers
//! check for due timers between polls. The woken task then waits for a worker like any runnable
//! task: on an idle runtime the release-to-poll latency is the kernel's wake-up latency plus one
//! scheduling step; on a busy one it adds at most the current poll of each worker.
//! `Builder::timer_spin` makes the waiter spin for the last stretch before a deadline instead of
//! sleeping through it (lower latency, at the price of burning a core for that stretch).
//!
//! Completion is always decided against the clock, so a sleep never completes early.

pub(crate) mod driver;
mod heap;
pub(crate) mod instant;
mod interval;
mod sleep;
mod timeout;

pub use instant::Instant;
pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use sleep::{sleep, sleep_until, Sleep};
pub use timeout::{timeout, Elapsed, Timeout};
