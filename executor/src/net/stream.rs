//! What every connected stream socket (TCP, Unix) shares: [`Stream`], the registered socket
//! with the reads, writes and half-close done once for both, and the macros that give each
//! public type its inherent methods and its `AsyncRead`/`AsyncWrite` implementations
//! (`futures-io`, and tokio's with the `tokio-io` feature) from it:
//!
//! - `reads!(T)`: `read`, `poll_read`, `AsyncRead`;
//! - `writes!(T)`: `write`, `write_all`, `poll_write`, `poll_shutdown`, `AsyncWrite`.
//!
//! `T` must have a field `io: Stream<_>`. [`TcpStream`](super::TcpStream) and
//! [`UnixStream`](super::UnixStream) take both, the owned halves of a TCP stream one each (they
//! share the [`Stream`], which is reference-counted for that).

use super::evented::Evented;
use crate::loom::Arc;
use crate::worker::reactor::Direction;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::task::{Context, Poll};

/// A stream socket type of std: shut down in one direction.
pub(crate) trait Shut {
    /// `shutdown(2)`.
    fn shut(&self, how: Shutdown) -> io::Result<()>;
}

impl Shut for std::net::TcpStream {
    fn shut(&self, how: Shutdown) -> io::Result<()> {
        self.shutdown(how)
    }
}

impl Shut for std::os::unix::net::UnixStream {
    fn shut(&self, how: Shutdown) -> io::Result<()> {
        self.shutdown(how)
    }
}

/// A connected stream socket registered with the reactor, shared by the halves of a split.
pub(crate) struct Stream<E: AsRawFd> {
    /// The registration; dropped (deregistered, closed) with the last holder.
    io: Arc<Evented<E>>,
}

impl<E> Stream<E>
where
    E: AsRawFd + Shut,
    for<'a> &'a E: Read + Write,
{
    /// Wraps a registered socket.
    pub(crate) fn new(io: Evented<E>) -> Stream<E> {
        Stream { io: Arc::new(io) }
    }

    /// Another holder of the same socket (for the halves of a split).
    pub(crate) fn share(&self) -> Stream<E> {
        Stream {
            io: self.io.clone(),
        }
    }

    /// The std socket (addresses, options).
    #[inline]
    pub(crate) fn get(&self) -> &E {
        self.io.get()
    }

    /// Reads into `buf` when readable.
    #[inline]
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Direction::Read, |mut s| s.read(buf))
    }

    /// Writes from `buf` when writable.
    #[inline]
    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Direction::Write, |mut s| s.write(buf))
    }

    /// Shuts down the write direction (the peer reads end-of-stream). A socket already shut
    /// down or reset by the peer counts as closed.
    pub(crate) fn poll_shutdown(&self) -> Poll<io::Result<()>> {
        match self.get().shut(Shutdown::Write) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Poll::Ready(Ok(())),
            other => Poll::Ready(other),
        }
    }

    /// Writes all of `buf`; a write of zero bytes is `WriteZero`.
    pub(crate) async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let n = std::future::poll_fn(|cx| self.poll_write(cx, buf)).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            buf = &buf[n..];
        }
        Ok(())
    }
}

impl<E: AsRawFd + fmt::Debug> fmt::Debug for Stream<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}

/// The read side of `$ty` (a type with a field `io: Stream<_>`): inherent `read` and
/// `poll_read`, and `AsyncRead` (`futures-io`; tokio's with the `tokio-io` feature).
macro_rules! reads {
    ($ty:ty) => {
        impl $ty {
            /// Reads into `buf`; `Ok(0)` at end-of-stream (the peer shut down its write
            /// direction or closed). A reset connection is an error of kind `ConnectionReset`.
            pub async fn read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
                std::future::poll_fn(|cx| self.poll_read(cx, buf)).await
            }

            /// Polls a read (what [`read`](Self::read) awaits).
            pub fn poll_read(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io.poll_read(cx, buf)
            }
        }

        impl futures_io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io.poll_read(cx, buf)
            }
        }

        #[cfg(feature = "tokio-io")]
        impl tokio::io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let n = std::task::ready!(self.io.poll_read(cx, buf.initialize_unfilled()))?;
                buf.advance(n);
                std::task::Poll::Ready(Ok(()))
            }
        }
    };
}

/// The write side of `$ty` (a type with a field `io: Stream<_>`): inherent `write`,
/// `write_all`, `poll_write` and `poll_shutdown`, and `AsyncWrite` (`futures-io`; tokio's with
/// the `tokio-io` feature; flushing does nothing, as sockets do not buffer in user space).
macro_rules! writes {
    ($ty:ty) => {
        impl $ty {
            /// Writes some of `buf`; returns how much.
            pub async fn write(&self, buf: &[u8]) -> std::io::Result<usize> {
                std::future::poll_fn(|cx| self.poll_write(cx, buf)).await
            }

            /// Writes all of `buf`.
            pub async fn write_all(&self, buf: &[u8]) -> std::io::Result<()> {
                self.io.write_all(buf).await
            }

            /// Polls a write (what [`write`](Self::write) awaits).
            pub fn poll_write(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io.poll_write(cx, buf)
            }

            /// Shuts the write direction down (never waits): the peer reads end-of-stream.
            pub fn poll_shutdown(&self) -> std::task::Poll<std::io::Result<()>> {
                self.io.poll_shutdown()
            }
        }

        impl futures_io::AsyncWrite for $ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io.poll_write(cx, buf)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.io.poll_shutdown()
            }
        }

        #[cfg(feature = "tokio-io")]
        impl tokio::io::AsyncWrite for $ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io.poll_write(cx, buf)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_shutdown(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.io.poll_shutdown()
            }
        }
    };
}

pub(crate) use {reads, writes};
