//! `interval`: ticks on a fixed grid.

use super::{sleep_until, Instant, Sleep};
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// What an [`Interval`] does when ticks were missed: the tick scheduled at `t` was consumed at
/// `now >= t + P`, a full period or more late. A tick consumed less than a period late is not a
/// miss: the next one is at `t + P` whatever the behaviour, so small delays never move the grid.
///
/// With period `P` and ticks scheduled at `t0, t0+P, t0+2P, ...`, on a miss:
///
/// | behaviour | next scheduled tick |
/// |---|---|
/// | `Burst` | `t + P`: missed ticks complete back to back until it has caught up |
/// | `Delay` | `now + P`: the grid moves; later ticks are `P` apart from now on |
/// | `Skip` (default) | the first `t + kP` strictly after `now`: missed ticks are dropped, the grid stays |
///
/// ```
/// use kairos::time::MissedTickBehavior;
/// assert_eq!(MissedTickBehavior::default(), MissedTickBehavior::Skip);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissedTickBehavior {
    /// Catch up with back-to-back ticks.
    Burst,
    /// Restart the grid from the late tick.
    Delay,
    /// Keep the grid, drop the missed ticks.
    #[default]
    Skip,
}

impl MissedTickBehavior {
    /// The tick after the one scheduled at `tick`, consumed at `now`.
    fn next(self, tick: Instant, now: Instant, period: Duration) -> Instant {
        let p = period.as_nanos().max(1) as u64;
        if now.as_nanos() < tick.as_nanos().saturating_add(p) {
            return tick.saturating_add(period);
        }
        match self {
            MissedTickBehavior::Burst => tick.saturating_add(period),
            MissedTickBehavior::Delay => now.saturating_add(period),
            MissedTickBehavior::Skip => {
                let late = now.as_nanos().saturating_sub(tick.as_nanos());
                let periods = late / p + 1;
                Instant::from_nanos(tick.as_nanos().saturating_add(periods.saturating_mul(p)))
            }
        }
    }
}

/// Ticks every `period`, the first tick at once; [`MissedTickBehavior::Skip`] when late.
///
/// # Panics
/// If `period` is zero.
///
/// ```
/// use kairos::time::interval;
/// use std::time::Duration;
///
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// rt.block_on(async {
///     let mut every = interval(Duration::from_millis(1));
///     let first = every.tick().await;
///     let second = every.tick().await;
///     assert_eq!(second - first, Duration::from_millis(1));
/// });
/// ```
pub fn interval(period: Duration) -> Interval {
    let mut interval = interval_at(Instant::now(), period);
    // Outside any runtime or simulation the first tick is anchored at the first poll, on the
    // poller's clock (as `sleep`).
    interval.unanchored = super::sleep::outside_any_clock();
    interval
}

/// Like [`interval`], with the first tick at `start`.
///
/// # Panics
/// If `period` is zero.
///
/// ```
/// use kairos::time::{interval_at, Instant};
/// use std::time::Duration;
/// let start = Instant::now() + Duration::from_millis(1);
/// let it = interval_at(start, Duration::from_millis(5));
/// assert_eq!(it.period(), Duration::from_millis(5));
/// ```
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "kairos::time::interval: the period must be non-zero"
    );
    Interval {
        next: start,
        period,
        missed: MissedTickBehavior::Skip,
        sleep: sleep_until(start),
        unanchored: false,
    }
}

/// A stream of ticks on a grid; see [`interval`].
#[derive(Debug)]
pub struct Interval {
    /// When the next tick is scheduled.
    next: Instant,
    /// Grid spacing.
    period: Duration,
    /// What to do when late.
    missed: MissedTickBehavior,
    /// Sleeps until `next`.
    sleep: Sleep,
    /// Made by `interval` outside any runtime or simulation: the first tick is at the first
    /// poll.
    unanchored: bool,
}

impl Interval {
    /// Waits for the next tick and returns the instant it was *scheduled* for (not when it was
    /// observed: the difference is the lateness).
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// rt.block_on(async {
    ///     let mut it = kairos::time::interval(std::time::Duration::from_millis(1));
    ///     it.tick().await;
    /// });
    /// ```
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Poll form of [`tick`](Self::tick).
    ///
    /// ```
    /// use std::task::{Context, Poll, Waker};
    /// let mut it = kairos::time::interval(std::time::Duration::from_secs(1));
    /// // The first tick is due at once, so this poll needs no runtime.
    /// assert!(it.poll_tick(&mut Context::from_waker(Waker::noop())).is_ready());
    /// ```
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if std::mem::take(&mut self.unanchored) {
            self.next = Instant::now();
            self.sleep.reset(self.next);
        }
        if Pin::new(&mut self.sleep).poll(cx).is_pending() {
            return Poll::Pending;
        }
        let tick = self.next;
        self.next = self.missed.next(tick, Instant::now(), self.period);
        self.sleep.reset(self.next);
        Poll::Ready(tick)
    }

    /// Sets the behaviour for missed ticks.
    ///
    /// ```
    /// use kairos::time::{interval, MissedTickBehavior};
    /// let mut it = interval(std::time::Duration::from_millis(10));
    /// it.set_missed_tick_behavior(MissedTickBehavior::Delay);
    /// assert_eq!(it.missed_tick_behavior(), MissedTickBehavior::Delay);
    /// ```
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed = behavior;
    }

    /// The behaviour for missed ticks.
    ///
    /// ```
    /// let it = kairos::time::interval(std::time::Duration::from_millis(10));
    /// assert_eq!(it.missed_tick_behavior(), kairos::time::MissedTickBehavior::Skip);
    /// ```
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed
    }

    /// The grid spacing.
    ///
    /// ```
    /// let it = kairos::time::interval(std::time::Duration::from_millis(10));
    /// assert_eq!(it.period(), std::time::Duration::from_millis(10));
    /// ```
    pub fn period(&self) -> Duration {
        self.period
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn missed_tick_rules() {
        let p = Duration::from_nanos(10);
        let t = Instant::from_nanos(100);
        let now = Instant::from_nanos(135); // 3.5 periods late
        assert_eq!(MissedTickBehavior::Burst.next(t, now, p).as_nanos(), 110);
        assert_eq!(MissedTickBehavior::Delay.next(t, now, p).as_nanos(), 145);
        assert_eq!(MissedTickBehavior::Skip.next(t, now, p).as_nanos(), 140);
        // On time, or late by less than a period: all three keep the grid.
        let on_time = Instant::from_nanos(109);
        for b in [
            MissedTickBehavior::Burst,
            MissedTickBehavior::Delay,
            MissedTickBehavior::Skip,
        ] {
            assert_eq!(b.next(t, on_time, p).as_nanos(), 110);
        }
        // Exactly on a later grid point: Skip goes to the one after it.
        let on_grid = Instant::from_nanos(130);
        assert_eq!(MissedTickBehavior::Skip.next(t, on_grid, p).as_nanos(), 140);
    }
}
