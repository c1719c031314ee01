//! The queue behind `mpsc` and `mpmc`: a FIFO buffer and two waiter lists under one lock.
//!
//! # Protocol
//!
//! All state lives in one `State` behind a spin lock (`spin_lock.rs`: a compare-and-swap to
//! take, a plain store to release, where a futex mutex releases with a second locked
//! instruction; every operation is a few steps on the buffer and the lists): the buffer, the
//! sender and receiver counts, the `closed` flag and the waiters of each side (`waiters.rs`).
//! Every operation takes the lock once, decides, takes at most the wakers it must wake, releases
//! the lock and only then wakes (a waker may run arbitrary code, and waking under the lock would
//! make the woken task contend for it at once). Under the lock run only the buffer's and the
//! lists' steps, a waker's clone or drop (a registration), and, for an unbounded channel past
//! [`PREALLOC_LIMIT`] messages, the buffer's growth.
//!
//! - **send**: closed → the value comes back in the error; buffer full (bounded) → register in
//!   `send` and wait; else push, and notify *one* waiting receiver if there is one.
//! - **recv**: a message → pop it, and notify *one* waiting sender if the channel is bounded and
//!   one waits (a slot just freed); empty and (no sender left or closed) → `None`; else register
//!   in `recv` and wait.
//! - **last sender dropped**: every waiting receiver is woken; they drain the buffer, then get
//!   `None`.
//! - **last receiver dropped**: the channel is closed, the buffered messages are dropped (after
//!   the lock is released: their destructors are user code) and every waiting sender is woken to
//!   get its value back.
//! - **close()** (a receiver): the channel is closed for senders; buffered messages can still be
//!   received; every waiter of both sides is woken.
//!
//! One notification per event, to one waiter, so there are no spurious wake-ups in steady
//! state. A notified waiter that finds the channel not ready (someone not waiting took the
//! message or the slot first) re-registers at the end of the queue; a notified waiter whose
//! future is dropped passes the notification on (`Waiters::remove`).
//!
//! **Urgency** (`docs/sync.md`, "Inheritance through channels"): a send stamps its message with
//! the sender's effective urgency (`sync/inherit.rs`) and, if it notifies a receiver task that
//! waits, raises that task to it before waking it (the receiver's waiter entry keeps a task
//! reference under the ordered policies only); the receive that takes the message runs the
//! receiver at least that urgent until its next receive. Raising and boosting happen with the
//! lock released.
//!
//! The buffer is a `VecDeque` reserved up to the capacity at creation (up to
//! [`PREALLOC_LIMIT`] messages, then grown as needed up to the capacity), so a bounded channel
//! allocates nothing per message.

pub(crate) mod blocking;
pub(crate) mod error;
pub(crate) mod future;
pub(crate) mod waiters;

use crate::coop;
use crate::loom::atomic::{AtomicBool, Ordering};
use crate::spin_lock::SpinLock;
use crate::sync::inherit::{self, MessageUrgency, ReceiverTask};
use error::{SendError, TryRecvError, TrySendError};
use std::collections::VecDeque;
use std::task::{ready, Context, Poll};
use waiters::Waiters;

/// The most messages a channel reserves room for when it is created.
pub(crate) const PREALLOC_LIMIT: usize = 4096;

/// One message in a channel's buffer.
#[derive(Debug)]
pub(crate) struct Message<T> {
    /// The value sent.
    pub(crate) value: T,
    /// Its sender's effective urgency when it was sent (`MessageUrgency::NONE` with
    /// inheritance off, under `Fifo` and `Fair`, or from outside a task).
    pub(crate) urgency: MessageUrgency,
}

/// A channel's shared state (see the module docs).
#[derive(Debug)]
pub(crate) struct Chan<T> {
    /// Everything, under one lock.
    state: SpinLock<State<T>>,
    /// Whether messages carry their sender's urgency (`set_inheritance`); read relaxed: a
    /// send racing a change may stamp either way.
    inherit: AtomicBool,
}

/// What the lock protects.
#[derive(Debug)]
struct State<T> {
    /// Messages sent and not yet received, oldest first.
    buf: VecDeque<Message<T>>,
    /// Most messages `buf` may hold; `usize::MAX` for an unbounded channel.
    cap: usize,
    /// Live senders.
    senders: usize,
    /// Live receivers.
    receivers: usize,
    /// No more sends are accepted: every receiver is gone, or one called `close`.
    closed: bool,
    /// Receivers waiting for a message.
    recv: Waiters,
    /// Senders waiting for room (bounded channels only).
    send: Waiters,
}

impl<T> Chan<T> {
    /// A channel with one sender and one receiver; `cap` messages at most (`usize::MAX`:
    /// unbounded; 0 is taken as 1).
    pub(crate) fn new(cap: usize) -> Chan<T> {
        let cap = cap.max(1);
        Chan {
            state: SpinLock::new(State {
                buf: VecDeque::with_capacity(cap.min(PREALLOC_LIMIT)),
                cap,
                senders: 1,
                receivers: 1,
                closed: false,
                recv: Waiters::new(),
                send: Waiters::new(),
            }),
            inherit: AtomicBool::new(true),
        }
    }

    /// Turns urgency inheritance through this channel on or off (every sender and receiver).
    pub(crate) fn set_inheritance(&self, on: bool) {
        self.inherit.store(on, Ordering::Relaxed);
    }

    /// Whether messages carry their sender's urgency.
    pub(crate) fn inherits(&self) -> bool {
        self.inherit.load(Ordering::Relaxed)
    }

    /// The urgency a message sent now carries.
    #[inline]
    fn stamp(&self) -> MessageUrgency {
        MessageUrgency::current_if(self.inherit.load(Ordering::Relaxed))
    }

    /// Sends without waiting.
    #[inline]
    pub(crate) fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let urgency = self.stamp();
        let notified = self.state.with(|st| {
            if st.closed {
                return Err(TrySendError::Closed(value));
            }
            if st.buf.len() >= st.cap {
                return Err(TrySendError::Full(value));
            }
            st.buf.push_back(Message { value, urgency });
            Ok(st.recv.notify_one_task())
        })?;
        wake_receiver(notified, urgency);
        Ok(())
    }

    /// The `send` future's poll: spends cooperative budget, then [`Chan::poll_send_now`].
    #[inline]
    pub(crate) fn poll_send(
        &self,
        cx: &mut Context<'_>,
        value: &mut Option<T>,
        key: &mut Option<usize>,
    ) -> Poll<Result<(), SendError<T>>> {
        ready!(coop::poll_proceed(cx));
        self.poll_send_now(cx, value, key)
    }

    /// Sends `value` (taken out of the option when the send completes), or registers `key` to
    /// wait for room.
    pub(crate) fn poll_send_now(
        &self,
        cx: &mut Context<'_>,
        value: &mut Option<T>,
        key: &mut Option<usize>,
    ) -> Poll<Result<(), SendError<T>>> {
        let urgency = self.stamp();
        let sent = self.state.with(|st| {
            if st.closed {
                st.send.remove(key);
                return Some(Err(()));
            }
            if st.buf.len() >= st.cap {
                crate::loom::reached("chan.send_waits");
                st.send.register(key, cx.waker());
                return None;
            }
            st.send.remove(key);
            let v = value.take().expect("send future polled after completion");
            st.buf.push_back(Message { value: v, urgency });
            Some(Ok(st.recv.notify_one_task()))
        });
        match sent {
            None => Poll::Pending,
            Some(Err(())) => {
                let v = value.take().expect("send future polled after completion");
                Poll::Ready(Err(SendError(v)))
            }
            Some(Ok(notified)) => {
                wake_receiver(notified, urgency);
                Poll::Ready(Ok(()))
            }
        }
    }

    /// A `send` future is dropped before completing: frees its waiter entry, passing a
    /// notification it had received on to another sender.
    #[inline]
    pub(crate) fn cancel_send(&self, key: &mut Option<usize>) {
        if key.is_some() {
            self.cancel_send_waiting(key);
        }
    }

    /// [`Chan::cancel_send`] of a future that holds a waiter entry.
    #[cold]
    #[inline(never)]
    fn cancel_send_waiting(&self, key: &mut Option<usize>) {
        let waker = self.state.with(|st| {
            if st.send.remove(key) {
                crate::loom::reached("chan.send_notification_passed_on");
                st.send.notify_one()
            } else {
                None
            }
        });
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Receives without waiting.
    #[inline]
    pub(crate) fn try_recv(&self) -> Result<T, TryRecvError> {
        let (msg, waker) = self.state.with(|st| match st.buf.pop_front() {
            Some(msg) => Ok((msg, st.send.notify_one())),
            None if st.senders == 0 || st.closed => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        })?;
        if let Some(w) = waker {
            w.wake();
        }
        inherit::boost_current_until_next_receive(msg.urgency);
        Ok(msg.value)
    }

    /// The `recv` future's poll: spends cooperative budget, then [`Chan::poll_recv_now`].
    #[inline]
    pub(crate) fn poll_recv(
        &self,
        cx: &mut Context<'_>,
        key: &mut Option<usize>,
    ) -> Poll<Option<T>> {
        ready!(coop::poll_proceed(cx));
        self.poll_recv_now(cx, key)
    }

    /// Takes the oldest message, or `None` once the channel is closed and drained, or registers
    /// `key` to wait.
    pub(crate) fn poll_recv_now(
        &self,
        cx: &mut Context<'_>,
        key: &mut Option<usize>,
    ) -> Poll<Option<T>> {
        let received = self.state.with(|st| match st.buf.pop_front() {
            Some(msg) => {
                st.recv.remove(key);
                Poll::Ready(Some((msg, st.send.notify_one())))
            }
            None if st.senders == 0 || st.closed => {
                st.recv.remove(key);
                Poll::Ready(None)
            }
            None => {
                crate::loom::reached("chan.recv_waits");
                // The waiting task is kept for a sender to raise (`sync/inherit.rs`, step 2).
                st.recv.register_task(key, cx.waker(), || {
                    ReceiverTask::current_if(self.inherit.load(Ordering::Relaxed))
                });
                Poll::Pending
            }
        });
        let (msg, waker) = match received {
            Poll::Ready(Some(received)) => received,
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => return Poll::Pending,
        };
        if let Some(w) = waker {
            w.wake();
        }
        inherit::boost_current_until_next_receive(msg.urgency);
        Poll::Ready(Some(msg.value))
    }

    /// A `recv` future is dropped before completing: frees its waiter entry, passing a
    /// notification it had received on to another receiver.
    #[inline]
    pub(crate) fn cancel_recv(&self, key: &mut Option<usize>) {
        if key.is_some() {
            self.cancel_recv_waiting(key);
        }
    }

    /// [`Chan::cancel_recv`] of a future that holds a waiter entry.
    #[cold]
    #[inline(never)]
    fn cancel_recv_waiting(&self, key: &mut Option<usize>) {
        let (notified, urgency) = self.state.with(|st| {
            let notified = if st.recv.remove(key) {
                crate::loom::reached("chan.recv_notification_passed_on");
                st.recv.notify_one_task()
            } else {
                None
            };
            // The oldest message is the one the passed-on notification is for.
            let urgency = st.buf.front().map_or(MessageUrgency::NONE, |m| m.urgency);
            (notified, urgency)
        });
        wake_receiver(notified, urgency);
    }

    /// A sender was cloned.
    pub(crate) fn add_sender(&self) {
        self.state.with(|st| st.senders += 1);
    }

    /// A sender was dropped; the last one wakes every waiting receiver.
    pub(crate) fn drop_sender(&self) {
        let last = self.state.with(|st| {
            st.senders -= 1;
            st.senders == 0
        });
        if last {
            waiters::wake_all(&self.state, |st| &mut st.recv);
        }
    }

    /// A receiver was cloned (`mpmc`).
    pub(crate) fn add_receiver(&self) {
        self.state.with(|st| st.receivers += 1);
    }

    /// A receiver was dropped; the last one closes the channel, drops the buffered messages and
    /// wakes every waiting sender.
    pub(crate) fn drop_receiver(&self) {
        let dropped = self.state.with(|st| {
            st.receivers -= 1;
            if st.receivers > 0 {
                return None;
            }
            st.closed = true;
            Some(std::mem::take(&mut st.buf))
        });
        let Some(dropped) = dropped else { return };
        // User destructors run outside the lock.
        drop(dropped);
        waiters::wake_all(&self.state, |st| &mut st.send);
    }

    /// Closes the channel for senders; buffered messages stay receivable. Wakes every waiter.
    pub(crate) fn close(&self) {
        let was_closed = self
            .state
            .with(|st| std::mem::replace(&mut st.closed, true));
        if was_closed {
            return;
        }
        waiters::wake_all(&self.state, |st| &mut st.send);
        waiters::wake_all(&self.state, |st| &mut st.recv);
    }

    /// Whether senders are refused (every receiver gone, or closed).
    pub(crate) fn is_closed(&self) -> bool {
        self.state.with(|st| st.closed)
    }

    /// Messages buffered now.
    pub(crate) fn len(&self) -> usize {
        self.state.with(|st| st.buf.len())
    }

    /// The capacity (`usize::MAX` for unbounded).
    pub(crate) fn capacity(&self) -> usize {
        self.state.with(|st| st.cap)
    }

    /// Whether every sender is gone.
    pub(crate) fn is_disconnected(&self) -> bool {
        self.state.with(|st| st.senders == 0)
    }
}

/// Wakes the receiver a send (or a passed-on notification) chose, after raising its task to the
/// message's urgency so that it is queued at least that urgent (`sync/inherit.rs`, step 2).
/// Called with the channel's lock released; drops the task reference afterwards.
#[inline]
fn wake_receiver(
    notified: Option<(std::task::Waker, Option<ReceiverTask>)>,
    urgency: MessageUrgency,
) {
    if let Some((waker, task)) = notified {
        if let Some(task) = &task {
            task.raise(urgency);
        }
        waker.wake();
    }
}
