//! The task that runs a periodic task's jobs (see the module docs for the model).

use super::{Control, Job, Overrun, Periodic};
use crate::event::{self, EventKind};
use crate::loom::Arc;
use crate::time::{sleep_until, Instant, Sleep};
use crate::worker::Handle;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Runs the jobs of `periodic`, released from `start + offset`, until stopped.
pub(crate) async fn run<F, Fut>(
    periodic: Periodic,
    start: Instant,
    control: Arc<Control>,
    handle: Handle,
    mut job_fn: F,
) where
    F: FnMut(Job) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let period = periodic.get_period();
    let relative_deadline = periodic.get_deadline();
    let name = periodic.sched().get_name();
    let first = start.saturating_add(periodic.offset);
    let mut index: u64 = 0;
    // Releases skipped since the last job, counted when the next job is released (so that
    // `released + skipped` is always the index of the last released job plus one).
    let mut skipped: u64 = 0;
    loop {
        let Some(release) = release_time(first, period, index) else {
            return; // past the end of the clock
        };
        let deadline = release.saturating_add(relative_deadline);
        // The job's deadline is set *before* waiting for its release: the timer's wake-up queues
        // this task, and under `Edf` it must be queued (and compared with running tasks for
        // preemption) with the job's own deadline. Set after the wake-up, it would only apply
        // at the task's next queueing, and the release would wait as a task without a deadline.
        // (The driver is the task being polled, so this cannot fail.)
        let _ = crate::task::set_deadline(deadline);
        if !(WaitRelease {
            sleep: sleep_until(release),
            control: &control,
        })
        .await
        {
            return; // stopped
        }
        if skipped > 0 {
            control.stats.skipped(skipped);
            skipped = 0;
        }
        let started = Instant::now();
        control.stats.released(ns_between(release, started));
        event::emit(EventKind::Release, || {
            let task = crate::task::with_current(|h| h.id.0).unwrap_or(0);
            (task, index, release.as_nanos())
        });
        job_fn(Job {
            release,
            deadline,
            index,
        })
        .await;
        let end = Instant::now();
        let response = ns_between(release, end);
        let lateness = signed_ns(end, deadline);
        control.stats.completed(response, lateness);
        event::emit(EventKind::Complete, || {
            let task = crate::task::with_current(|h| h.id.0).unwrap_or(0);
            (task, index, lateness.max(0) as u64)
        });
        if lateness > 0 {
            #[cfg(feature = "tracing")]
            tracing::warn!(
                task = crate::task::with_current(|h| h.id.0),
                name,
                job = index,
                lateness_ns = lateness,
                "deadline miss"
            );
            event::emit(EventKind::DeadlineMiss, || {
                let task = crate::task::with_current(|h| h.id.0).unwrap_or(0);
                (task, lateness as u64, index)
            });
        }
        handle.shared().record_job(name, response, lateness);
        index += 1;
        if periodic.overrun == Overrun::Skip {
            // Skip every release that is already in the past.
            while release_time(first, period, index).is_some_and(|r| r < end) {
                index += 1;
                skipped += 1;
            }
        }
    }
}

/// `first + index * period`, or `None` past the end of the clock.
fn release_time(first: Instant, period: std::time::Duration, index: u64) -> Option<Instant> {
    let at = u128::from(first.as_nanos())
        .checked_add(period.as_nanos().checked_mul(u128::from(index))?)?;
    u64::try_from(at).ok().map(Instant::from_nanos)
}

/// `later - earlier` in ns, 0 if negative.
fn ns_between(earlier: Instant, later: Instant) -> u64 {
    later.as_nanos().saturating_sub(earlier.as_nanos())
}

/// `a - b` in ns as a signed number (saturating).
fn signed_ns(a: Instant, b: Instant) -> i64 {
    let (a, b) = (a.as_nanos() as i128, b.as_nanos() as i128);
    (a - b).clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// Waits for a release time unless the task is stopped first: `true` at the release, `false`
/// when stopped.
struct WaitRelease<'a> {
    /// The timer for the release.
    sleep: Sleep,
    /// Where `stop` is signalled.
    control: &'a Control,
}

impl Future for WaitRelease<'_> {
    type Output = bool;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        if self.control.is_stopped() {
            return Poll::Ready(false);
        }
        self.control.register(cx.waker());
        // Re-check after registering: a `stop` between the check and the registration found
        // no waker to wake.
        if self.control.is_stopped() {
            return Poll::Ready(false);
        }
        Pin::new(&mut self.sleep).poll(cx).map(|()| true)
    }
}
