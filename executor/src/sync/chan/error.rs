//! The channels' typed errors. Every error that gives a value back holds it, so nothing sent is
//! lost by a failed send.

use std::fmt;

/// A send failed because the channel is closed (every receiver is gone, or a receiver closed
/// it): nothing will ever receive. The value that was not sent is inside.
///
/// What to do: the consumer side is gone; stop producing, or take the value back with
/// [`SendError::into_inner`].
///
/// ```
/// let (tx, rx) = kairos::sync::mpsc::unbounded_channel::<u32>();
/// drop(rx);
/// let err = tx.send(7).unwrap_err();
/// assert_eq!(err.into_inner(), 7);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("sending on a closed channel: every receiver is gone (the value is returned in the error)")]
pub struct SendError<T>(pub T);

impl<T> SendError<T> {
    /// The value that was not sent.
    ///
    /// ```
    /// assert_eq!(kairos::sync::SendError(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

/// A `try_send` that did not send; the value is inside.
///
/// ```
/// use kairos::sync::{mpsc, TrySendError};
/// let (tx, rx) = mpsc::channel::<u32>(1);
/// tx.try_send(1).unwrap();
/// assert!(matches!(tx.try_send(2), Err(TrySendError::Full(2))));
/// drop(rx);
/// assert!(matches!(tx.try_send(3), Err(TrySendError::Closed(3))));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TrySendError<T> {
    /// The channel's buffer is full: retry later, or `send(..).await` to wait for room.
    #[error("channel full: await send() to wait for room, or retry later")]
    Full(T),
    /// The channel is closed (see [`SendError`]): nothing will ever receive.
    #[error("sending on a closed channel: every receiver is gone")]
    Closed(T),
}

impl<T> TrySendError<T> {
    /// The value that was not sent.
    ///
    /// ```
    /// assert_eq!(kairos::sync::TrySendError::Full(4).into_inner(), 4);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(v) | TrySendError::Closed(v) => v,
        }
    }

    /// Whether the channel was full (rather than closed).
    ///
    /// ```
    /// assert!(kairos::sync::TrySendError::Full(()).is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        matches!(self, TrySendError::Full(_))
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> From<SendError<T>> for TrySendError<T> {
    fn from(e: SendError<T>) -> TrySendError<T> {
        TrySendError::Closed(e.0)
    }
}

/// A `try_recv` that received nothing.
///
/// ```
/// use kairos::sync::{mpsc, TryRecvError};
/// let (tx, mut rx) = mpsc::unbounded_channel::<u32>();
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// drop(tx);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TryRecvError {
    /// Nothing to receive now, but a sender may still send: retry later, or `recv().await`.
    #[error("channel empty: await recv() to wait for a value, or retry later")]
    Empty,
    /// Nothing to receive, ever: every sender is gone (or the channel was closed) and the
    /// buffer is drained.
    #[error("channel closed and drained: every sender is gone")]
    Closed,
}

/// A receive that can never succeed: the sending side is gone without sending (oneshot), or
/// every sender is gone (watch).
///
/// ```
/// let (tx, rx) = kairos::sync::oneshot::channel::<u32>();
/// drop(tx);
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// assert_eq!(rt.block_on(rx), Err(kairos::sync::RecvError));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the sender is gone: nothing more will be received")]
pub struct RecvError;
