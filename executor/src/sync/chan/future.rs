//! The `send` and `recv` futures of `mpsc` and `mpmc`.

use super::error::SendError;
use super::Chan;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Future of a bounded `send`: completes once the value is in the channel, or with the value
/// back in a [`SendError`] if the channel is closed. Spends one unit of the task's cooperative
/// budget per poll (see `docs/sync.md`).
///
/// Cancellation safe: dropping it before it completes sends nothing (the value is dropped with
/// it) and gives its place among the waiting senders up; a wake-up it had received is passed on
/// to the next waiting sender.
///
/// ```
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// let (tx, mut rx) = kairos::sync::mpsc::channel::<u32>(1);
/// rt.block_on(async move {
///     let fut: kairos::sync::mpsc::SendFuture<'_, u32> = tx.send(1);
///     fut.await.unwrap();
///     assert_eq!(rx.recv().await, Some(1));
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct SendFuture<'a, T> {
    /// The channel.
    chan: &'a Chan<T>,
    /// The value, until sent.
    value: Option<T>,
    /// Waiter entry among the senders, while waiting.
    key: Option<usize>,
}

impl<'a, T> SendFuture<'a, T> {
    /// A future sending `value` on `chan`.
    pub(crate) fn new(chan: &'a Chan<T>, value: T) -> SendFuture<'a, T> {
        SendFuture {
            chan,
            value: Some(value),
            key: None,
        }
    }
}

impl<T> Unpin for SendFuture<'_, T> {}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.chan.poll_send(cx, &mut this.value, &mut this.key)
    }
}

impl<T> Drop for SendFuture<'_, T> {
    fn drop(&mut self) {
        self.chan.cancel_send(&mut self.key);
    }
}

impl<T> fmt::Debug for SendFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendFuture")
            .field("sent", &self.value.is_none())
            .field("waiting", &self.key.is_some())
            .finish()
    }
}

/// Future of a `recv`: the next message, or `None` once every sender is gone (or the channel
/// was closed) and the buffer is drained. Spends one unit of the task's cooperative budget per
/// poll (see `docs/sync.md`).
///
/// Cancellation safe: dropping it before it completes loses no message (a message is only taken
/// out of the channel by the poll that returns it) and gives its place among the waiting
/// receivers up; a wake-up it had received is passed on to the next waiting receiver.
///
/// ```
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// let (tx, mut rx) = kairos::sync::mpsc::unbounded_channel::<u32>();
/// tx.send(5).unwrap();
/// let fut: kairos::sync::mpsc::RecvFuture<'_, u32> = rx.recv();
/// assert_eq!(rt.block_on(fut), Some(5));
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct RecvFuture<'a, T> {
    /// The channel.
    chan: &'a Chan<T>,
    /// Waiter entry among the receivers, while waiting.
    key: Option<usize>,
}

impl<'a, T> RecvFuture<'a, T> {
    /// A future receiving from `chan`.
    pub(crate) fn new(chan: &'a Chan<T>) -> RecvFuture<'a, T> {
        RecvFuture { chan, key: None }
    }
}

impl<T> Unpin for RecvFuture<'_, T> {}

impl<T> Future for RecvFuture<'_, T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        this.chan.poll_recv(cx, &mut this.key)
    }
}

impl<T> Drop for RecvFuture<'_, T> {
    fn drop(&mut self) {
        self.chan.cancel_recv(&mut self.key);
    }
}

impl<T> fmt::Debug for RecvFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvFuture")
            .field("waiting", &self.key.is_some())
            .finish()
    }
}
