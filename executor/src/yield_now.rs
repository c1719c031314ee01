//! Cooperative yielding.

use crate::context;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Yields to the scheduler: the current task goes to the back of its worker's run queue, so
/// every task queued before it runs first.
///
/// kairos does not preempt a running poll; a long computation should `yield_now().await` now and
/// then so other tasks (and the injector) get their turn.
///
/// # Panics
/// When polled outside a kairos runtime (a task or `block_on`).
///
/// ```
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// rt.block_on(rt.spawn(async {
///     for _ in 0..3 {
///         kairos::yield_now().await;
///     }
/// }))
/// .unwrap();
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// Future returned by [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    /// Returned `Pending` once already.
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        if !context::with_handle(|h| h.is_some()) {
            panic!(
                "kairos::yield_now() polled outside a kairos runtime: await it inside a task or \
                 Runtime::block_on"
            );
        }
        self.yielded = true;
        // Woken while running: the end of this poll resubmits the task at the back of the queue.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
