//! `Instant`: a point on the runtime's clock, in integer nanoseconds.

use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::time::Duration;

/// A point in time on the runtime's clock: nanoseconds since a process-wide epoch (the first
/// time the clock was read), on the OS monotonic clock; under a simulation ([`crate::sim`]), on
/// its virtual clock, which starts at [`crate::sim::EPOCH`].
///
/// Integer nanoseconds make deadline arithmetic exact and cheap, and let the simulator replace
/// the clock with a virtual one without changing callers.
///
/// ```
/// use kairos::time::Instant;
/// use std::time::Duration;
///
/// let start = Instant::now();
/// let later = start + Duration::from_millis(5);
/// assert_eq!(later - start, Duration::from_millis(5));
/// assert!(later > start);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(u64);

pub(crate) use crate::event::clock::now_ns;

impl Instant {
    /// The current time.
    ///
    /// ```
    /// let a = kairos::time::Instant::now();
    /// let b = kairos::time::Instant::now();
    /// assert!(b >= a);
    /// ```
    #[inline]
    pub fn now() -> Instant {
        Instant(now_ns())
    }

    /// The instant `nanos` nanoseconds after the clock's epoch.
    ///
    /// ```
    /// let t = kairos::time::Instant::from_nanos(1_500);
    /// assert_eq!(t.as_nanos(), 1_500);
    /// ```
    pub const fn from_nanos(nanos: u64) -> Instant {
        Instant(nanos)
    }

    /// Nanoseconds since the clock's epoch.
    ///
    /// ```
    /// let t = kairos::time::Instant::now();
    /// assert!(t.as_nanos() < u64::MAX);
    /// ```
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Time from `earlier` to `self`, or zero if `earlier` is later.
    ///
    /// ```
    /// use kairos::time::Instant;
    /// let (a, b) = (Instant::from_nanos(10), Instant::from_nanos(25));
    /// assert_eq!(b.saturating_duration_since(a).as_nanos(), 15);
    /// assert_eq!(a.saturating_duration_since(b).as_nanos(), 0);
    /// ```
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }

    /// Time from `earlier` to `self`, or `None` if `earlier` is later.
    ///
    /// ```
    /// use kairos::time::Instant;
    /// assert!(Instant::from_nanos(1).checked_duration_since(Instant::from_nanos(2)).is_none());
    /// ```
    pub fn checked_duration_since(self, earlier: Instant) -> Option<Duration> {
        self.0.checked_sub(earlier.0).map(Duration::from_nanos)
    }

    /// Time elapsed since `self` (zero if `self` is in the future).
    ///
    /// ```
    /// let start = kairos::time::Instant::now();
    /// let _ = start.elapsed();
    /// ```
    pub fn elapsed(self) -> Duration {
        Instant::now().saturating_duration_since(self)
    }

    /// `self + d`, or `None` on overflow.
    ///
    /// ```
    /// use kairos::time::Instant;
    /// use std::time::Duration;
    /// assert!(Instant::from_nanos(u64::MAX).checked_add(Duration::from_nanos(1)).is_none());
    /// ```
    pub fn checked_add(self, d: Duration) -> Option<Instant> {
        let d = u64::try_from(d.as_nanos()).ok()?;
        self.0.checked_add(d).map(Instant)
    }

    /// `self - d`, or `None` before the epoch.
    ///
    /// ```
    /// use kairos::time::Instant;
    /// use std::time::Duration;
    /// assert!(Instant::from_nanos(5).checked_sub(Duration::from_nanos(6)).is_none());
    /// ```
    pub fn checked_sub(self, d: Duration) -> Option<Instant> {
        let d = u64::try_from(d.as_nanos()).ok()?;
        self.0.checked_sub(d).map(Instant)
    }

    /// `self + d`, clamped to the largest representable instant (a deadline "never").
    pub(crate) fn saturating_add(self, d: Duration) -> Instant {
        self.checked_add(d).unwrap_or(Instant(u64::MAX))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// # Panics
    /// On overflow (584 years after the epoch); use [`Instant::checked_add`] to avoid it.
    fn add(self, d: Duration) -> Instant {
        self.checked_add(d)
            .expect("overflow when adding a Duration to a kairos Instant")
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    /// # Panics
    /// Before the epoch; use [`Instant::checked_sub`] to avoid it.
    fn sub(self, d: Duration) -> Instant {
        self.checked_sub(d)
            .expect("overflow when subtracting a Duration from a kairos Instant")
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, d: Duration) {
        *self = *self - d;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    /// Saturates at zero, like `std::time::Instant`.
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Instant({}ns)", self.0)
    }
}
