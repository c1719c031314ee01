//! `sleep` and `sleep_until`.

use super::heap::TimerKey;
use super::Instant;
use crate::context;
use crate::event;
use crate::worker::Handle;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// Waits until `duration` has passed.
///
/// The deadline is taken when `sleep` is called, on the clock of the runtime or simulation the
/// calling thread is in. Called outside any (a plain thread, e.g. building the future passed to
/// `Runtime::block_on` or `Sim::block_on`), the deadline is taken at the first poll instead, on
/// the poller's clock: until then the future cannot know whether it will run on real or virtual
/// time. The future completes on the first poll at or after the deadline, never before: completion is decided by reading the clock, the timer only
/// schedules that poll. The timer is registered at the first poll and cancelled when the future
/// is dropped.
///
/// # Panics
/// When polled outside a kairos runtime (a task or `block_on`).
///
/// ```
/// use kairos::time::{sleep, Instant};
/// use std::time::Duration;
///
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// let slept = rt.block_on(rt.spawn(async {
///     let start = Instant::now();
///     sleep(Duration::from_millis(2)).await;
///     start.elapsed()
/// }));
/// assert!(slept.unwrap() >= Duration::from_millis(2));
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    if outside_any_clock() {
        let d = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        return Sleep {
            raw: UNANCHORED | d.min(UNANCHORED - 1),
            entry: None,
        };
    }
    sleep_until(Instant::now().saturating_add(duration))
}

/// Tag bit of `Sleep::raw` for a duration not yet anchored. Deadlines are clamped below it: an
/// instant 2^63 ns (292 years) after the clock's epoch is as good as never.
const UNANCHORED: u64 = 1 << 63;

/// `deadline` in ns, clamped below [`UNANCHORED`].
fn clamp(deadline: Instant) -> u64 {
    deadline.as_nanos().min(UNANCHORED - 1)
}

/// Whether this thread is outside every runtime and simulation: a timer made here does not know
/// yet which clock will run it (the real one, or a simulation's virtual one), so a relative
/// duration is anchored at the first poll, on the poller's clock.
pub(super) fn outside_any_clock() -> bool {
    !event::virtual_clock() && context::with_handle(|h| h.is_none())
}

/// Waits until the clock reaches `deadline`. A deadline in the past completes at once.
///
/// # Panics
/// When polled outside a kairos runtime (a task or `block_on`).
///
/// ```
/// use kairos::time::{sleep_until, Instant};
/// use std::time::Duration;
///
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// let deadline = Instant::now() + Duration::from_millis(1);
/// rt.block_on(sleep_until(deadline));
/// assert!(Instant::now() >= deadline);
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        raw: clamp(deadline),
        entry: None,
    }
}

/// Future returned by [`sleep`] and [`sleep_until`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    /// When the sleep ends (ns on the runtime's clock, below [`UNANCHORED`]); or, with the
    /// [`UNANCHORED`] bit set, the duration of a `sleep(d)` made outside any runtime or
    /// simulation, to be counted from the first poll (see `outside_any_clock`). One word, so a
    /// sleeping task's block does not grow for it.
    raw: u64,
    /// The registered timer, once polled.
    entry: Option<Entry>,
}

/// A registered timer: which runtime's driver, and the key in it.
struct Entry {
    handle: Handle,
    key: TimerKey,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry").field("key", &self.key).finish()
    }
}

impl Sleep {
    /// When this sleep ends.
    ///
    /// ```
    /// use kairos::time::{sleep_until, Instant};
    /// let t = Instant::from_nanos(42);
    /// assert_eq!(sleep_until(t).deadline(), t);
    /// ```
    pub fn deadline(&self) -> Instant {
        if self.raw & UNANCHORED != 0 {
            // Not polled yet: the deadline it would get if polled now.
            return Instant::now().saturating_add(Duration::from_nanos(self.raw & !UNANCHORED));
        }
        Instant::from_nanos(self.raw)
    }

    /// Whether the deadline has passed.
    ///
    /// ```
    /// use kairos::time::{sleep_until, Instant};
    /// assert!(sleep_until(Instant::from_nanos(0)).is_elapsed());
    /// ```
    pub fn is_elapsed(&self) -> bool {
        Instant::now() >= self.deadline()
    }

    /// Moves the deadline (the sleep can be awaited again). The registered timer, if any, is
    /// cancelled; the next poll registers the new deadline.
    ///
    /// ```
    /// use kairos::time::{sleep, Instant};
    /// use std::time::Duration;
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// rt.block_on(async {
    ///     let mut s = sleep(Duration::from_secs(3600));
    ///     s.reset(Instant::now());
    ///     (&mut s).await;
    /// });
    /// ```
    pub fn reset(&mut self, deadline: Instant) {
        self.cancel();
        self.raw = clamp(deadline);
    }

    fn cancel(&mut self) {
        if let Some(entry) = self.entry.take() {
            entry.handle.shared().timers().cancel(entry.key);
        }
    }

    /// Registers or refreshes the timer for `cx`'s waker.
    fn register(&mut self, cx: &mut Context<'_>) {
        if let Some(entry) = &self.entry {
            if entry
                .handle
                .shared()
                .timers()
                .set_waker(entry.key, cx.waker())
            {
                return;
            }
            // Fired (woke us) but we are not due yet cannot happen with a monotonic clock;
            // register again rather than lose the wake-up.
            self.entry = None;
        }
        let handle = context::with_handle(|h| h.cloned()).unwrap_or_else(|| {
            panic!(
                "kairos::time::Sleep polled outside a kairos runtime: await it inside a task or \
                 Runtime::block_on"
            )
        });
        let shared = handle.shared();
        let (key, unpark) = shared.timers().register(self.raw, cx.waker());
        if let Some(worker) = unpark {
            shared.unpark_worker(worker);
        }
        self.entry = Some(Entry { handle, key });
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.raw & UNANCHORED != 0 {
            let d = Duration::from_nanos(self.raw & !UNANCHORED);
            self.raw = clamp(Instant::now().saturating_add(d));
        }
        if Instant::now().as_nanos() >= self.raw {
            // Completing is an operation of the cooperative budget (`coop.rs`): if the task
            // must yield, it is woken and this poll retried later.
            std::task::ready!(crate::coop::poll_proceed(cx));
            self.cancel();
            return Poll::Ready(());
        }
        self.register(cx);
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.cancel();
    }
}
