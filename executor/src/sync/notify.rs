//! [`Notify`]: wake one waiting task, or all of them, without data.
//!
//! # Protocol
//!
//! One lock (the crate's loom shim) over: a stored permit (at most one), the waiting
//! [`Notified`] futures in arrival order, the ones handed a `notify_one` that have not seen it
//! yet, and a generation counter for `notify_waiters`.
//!
//! - `notify_one`: hands the notification to the first waiter (removed from the queue, recorded
//!   as notified, woken after the lock is released); with no waiter, stores the permit, which
//!   the next `notified().await` consumes at once.
//! - `notify_waiters`: bumps the generation and wakes every waiter. A [`Notified`] records the
//!   generation when it is *created*, so one created before the call completes even if it was
//!   not polled yet (the "check a condition, then await" pattern loses no wake-up). It stores no
//!   permit.
//! - A [`Notified`] dropped after it was handed a `notify_one` passes it on (to the next waiter,
//!   or back to the permit): a cancelled waiter never swallows a notification.

use crate::loom::{lock, Mutex};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// Notifies tasks waiting for an event.
///
/// ```
/// use kairos::sync::Notify;
/// use std::sync::Arc;
///
/// let rt = kairos::Runtime::builder().workers(2).build().unwrap();
/// let notify = Arc::new(Notify::new());
/// let n = notify.clone();
/// rt.block_on(async move {
///     let waiter = kairos::spawn(async move { n.notified().await; 1 });
///     notify.notify_one(); // stored if the waiter has not arrived yet
///     assert_eq!(waiter.await.unwrap(), 1);
/// });
/// ```
pub struct Notify {
    /// Permit, waiters, generation.
    state: Mutex<State>,
}

/// The locked part.
struct State {
    /// A `notify_one` with nobody waiting.
    permit: bool,
    /// `notify_waiters` calls so far.
    generation: u64,
    /// Waiting futures in arrival order: sequence number and waker.
    waiters: VecDeque<(u64, Waker)>,
    /// Waiters handed a `notify_one` that have not seen it yet.
    notified: Vec<u64>,
    /// Next sequence number.
    seq: u64,
}

impl State {
    /// Hands one notification to the first waiter (its waker returned) or stores the permit.
    fn notify_one(&mut self) -> Option<Waker> {
        match self.waiters.pop_front() {
            Some((seq, waker)) => {
                self.notified.push(seq);
                Some(waker)
            }
            None => {
                self.permit = true;
                None
            }
        }
    }
}

impl Notify {
    /// A `Notify` with no stored permit.
    ///
    /// ```
    /// let _n = kairos::sync::Notify::new();
    /// ```
    pub fn new() -> Notify {
        Notify {
            state: Mutex::new(State {
                permit: false,
                generation: 0,
                waiters: VecDeque::new(),
                notified: Vec::new(),
                seq: 0,
            }),
        }
    }

    /// Wakes the first waiting task, or, if none waits, lets the next `notified().await`
    /// complete at once (one stored permit; more calls do not add more).
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// let n = kairos::sync::Notify::new();
    /// n.notify_one();
    /// rt.block_on(n.notified()); // consumes the stored permit
    /// ```
    pub fn notify_one(&self) {
        let waker = lock(&self.state).notify_one();
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Wakes every task waiting now, and every [`Notified`] created before this call; stores no
    /// permit.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// let n = kairos::sync::Notify::new();
    /// let (a, b) = (n.notified(), n.notified()); // created before the call: both count
    /// n.notify_waiters();
    /// rt.block_on(async {
    ///     a.await;
    ///     b.await;
    /// });
    /// ```
    pub fn notify_waiters(&self) {
        let wakers: Vec<Waker> = {
            let mut s = lock(&self.state);
            s.generation += 1;
            s.waiters.drain(..).map(|(_, w)| w).collect()
        };
        wakers.into_iter().for_each(Waker::wake);
    }

    /// A future that completes when this task is notified (see [`notify_one`](Self::notify_one)
    /// and [`notify_waiters`](Self::notify_waiters)).
    ///
    /// ```
    /// let n = kairos::sync::Notify::new();
    /// let waiting = n.notified(); // counts for `notify_waiters` from here on
    /// n.notify_waiters();
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// rt.block_on(waiting);
    /// ```
    pub fn notified(&self) -> Notified<'_> {
        let generation = lock(&self.state).generation;
        Notified {
            notify: self,
            generation,
            seq: None,
        }
    }
}

impl Default for Notify {
    fn default() -> Notify {
        Notify::new()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = lock(&self.state);
        f.debug_struct("Notify")
            .field("permit", &s.permit)
            .field("waiters", &s.waiters.len())
            .finish()
    }
}

/// Future of [`Notify::notified`]. Cancel-safe: dropping it after it was handed a
/// `notify_one` passes the notification on.
///
/// ```
/// let n = kairos::sync::Notify::new();
/// let f: kairos::sync::Notified<'_> = n.notified();
/// drop(f);
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Notified<'a> {
    /// The `Notify`.
    notify: &'a Notify,
    /// `notify_waiters` generation at creation.
    generation: u64,
    /// Sequence number while queued or notified.
    seq: Option<u64>,
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // One operation of the cooperative budget, as awaiting a `JoinHandle`.
        std::task::ready!(crate::coop::poll_proceed(cx));
        let mut s = lock(&self.notify.state);
        if let Some(seq) = self.seq {
            if let Some(i) = s.notified.iter().position(|&n| n == seq) {
                s.notified.swap_remove(i);
                drop(s);
                self.seq = None;
                return Poll::Ready(());
            }
        }
        if s.generation != self.generation {
            if let Some(seq) = self.seq {
                s.waiters.retain(|(q, _)| *q != seq);
            }
            drop(s);
            self.seq = None;
            return Poll::Ready(());
        }
        match self.seq {
            Some(seq) => {
                if let Some((_, w)) = s.waiters.iter_mut().find(|(q, _)| *q == seq) {
                    if !w.will_wake(cx.waker()) {
                        *w = cx.waker().clone();
                    }
                }
                Poll::Pending
            }
            None if s.permit => {
                s.permit = false;
                Poll::Ready(())
            }
            None => {
                crate::loom::reached("notify.waits");
                let seq = s.seq;
                s.seq += 1;
                s.waiters.push_back((seq, cx.waker().clone()));
                drop(s);
                self.seq = Some(seq);
                Poll::Pending
            }
        }
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        let Some(seq) = self.seq else { return };
        let waker = {
            let mut s = lock(&self.notify.state);
            if let Some(i) = s.notified.iter().position(|&n| n == seq) {
                // Handed a notification it will never see: pass it on.
                crate::loom::reached("notify.cancel_passes_on");
                s.notified.swap_remove(i);
                s.notify_one()
            } else {
                s.waiters.retain(|(q, _)| *q != seq);
                None
            }
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notified")
            .field("waiting", &self.seq.is_some())
            .finish()
    }
}
