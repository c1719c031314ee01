//! `timeout`: bound the time a future may take.

use super::{sleep, Sleep};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// Runs `future` for at most `duration`.
///
/// Returns `Ok(output)` if the future completes first, `Err(Elapsed)` once the deadline passes
/// (the future is then dropped with the `Timeout`). The future is polled before the deadline is
/// checked, so a future that is ready at once always succeeds, even with a zero timeout.
///
/// # Panics
/// When polled outside a kairos runtime, if the future is not ready at its first poll.
///
/// ```
/// use kairos::time::{sleep, timeout};
/// use std::time::Duration;
///
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// rt.block_on(async {
///     assert_eq!(timeout(Duration::from_secs(5), async { 1 }).await, Ok(1));
///     let slow = sleep(Duration::from_secs(3600));
///     assert!(timeout(Duration::from_millis(1), slow).await.is_err());
/// });
/// ```
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep(duration),
    }
}

/// The deadline of a [`timeout`] passed before the future completed.
///
/// ```
/// let e = kairos::time::Elapsed(());
/// assert_eq!(e.to_string(), "deadline has elapsed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("deadline has elapsed")]
pub struct Elapsed(pub ());

/// Future returned by [`timeout`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct Timeout<F> {
    future: F,
    sleep: Sleep,
}

impl<F> Timeout<F> {
    /// When the timeout expires.
    ///
    /// ```
    /// use kairos::time::{timeout, Instant};
    /// use std::time::Duration;
    /// let t = timeout(Duration::from_secs(1), async {});
    /// assert!(t.deadline() > Instant::now());
    /// ```
    pub fn deadline(&self) -> super::Instant {
        self.sleep.deadline()
    }

    /// The wrapped future.
    ///
    /// ```
    /// let t = kairos::time::timeout(std::time::Duration::from_secs(1), async { 3 });
    /// let _inner = t.into_inner();
    /// ```
    pub fn into_inner(self) -> F {
        self.future
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: structural pinning of `future` (never moved out while pinned: `into_inner`
        // takes `self` by value, which requires `Timeout: Unpin` once pinned) and `sleep` is
        // `Unpin`; we never move either field out of the pinned struct here.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above: `future` is pinned because `self` is.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        if let Poll::Ready(output) = future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        match Pin::new(&mut this.sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}
