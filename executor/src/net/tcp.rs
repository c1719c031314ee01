//! TCP: [`TcpListener`], [`TcpStream`] and its owned halves.
//!
//! Sockets are created non-blocking (`socket2` for the options std lacks: the listen backlog,
//! a connect that does not block) and registered with the reactor (`evented.rs`). A connect
//! in progress completes when the socket turns writable: then `SO_ERROR` says whether it
//! failed (a refused connection is an `io::Error` of kind `ConnectionRefused`, never a panic).

use super::evented::Evented;
use super::stream::{reads, writes, Stream};
use crate::worker::reactor::Direction;
use socket2::{Domain, Protocol, Socket, Type};
use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::task::{Context, Poll};

/// The listen backlog of [`TcpListener::bind`]: how many connections the kernel queues before
/// `accept` (Linux caps it at `net.core.somaxconn`).
pub const DEFAULT_BACKLOG: u32 = 1024;

/// Tries `f` on each address `addr` resolves to, returning the first success or the last error.
/// Name resolution (`ToSocketAddrs`) is done on the calling thread, as std does: pass
/// `SocketAddr`s (or IP literals) from tasks that must not block.
async fn each_addr<T, F, Fut>(addr: impl ToSocketAddrs, mut f: F) -> io::Result<T>
where
    F: FnMut(SocketAddr) -> Fut,
    Fut: std::future::Future<Output = io::Result<T>>,
{
    let mut last = None;
    for addr in addr.to_socket_addrs()? {
        match f(addr).await {
            Ok(out) => return Ok(out),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "kairos::net: the address resolved to no socket address",
        )
    }))
}

/// A TCP socket listening for connections.
///
/// ```
/// use kairos::net::{TcpListener, TcpStream};
///
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// rt.block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let addr = listener.local_addr().unwrap();
///     let client = kairos::spawn(async move {
///         let stream = TcpStream::connect(addr).await.unwrap();
///         stream.write_all(b"ping").await.unwrap();
///     });
///     let (stream, _peer) = listener.accept().await.unwrap();
///     let mut buf = [0; 4];
///     let mut got = 0;
///     while got < 4 {
///         got += stream.read(&mut buf[got..]).await.unwrap();
///     }
///     assert_eq!(&buf, b"ping");
///     client.await.unwrap();
/// });
/// ```
pub struct TcpListener {
    /// The listening socket.
    io: Evented<std::net::TcpListener>,
}

impl TcpListener {
    /// Binds to `addr` and listens with [`DEFAULT_BACKLOG`]. Port 0 picks a free port
    /// ([`local_addr`](TcpListener::local_addr) tells which). Must be called inside a kairos
    /// runtime (a task, or `Runtime::block_on`).
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        Self::bind_with_backlog(addr, DEFAULT_BACKLOG).await
    }

    /// Binds to `addr` and listens with a backlog of `backlog` pending connections.
    /// `SO_REUSEADDR` is set, so a restarted server can bind a port in `TIME_WAIT`.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// rt.block_on(async {
    ///     let listener = kairos::net::TcpListener::bind_with_backlog("127.0.0.1:0", 16)
    ///         .await
    ///         .unwrap();
    ///     assert!(listener.local_addr().unwrap().port() != 0);
    /// });
    /// ```
    pub async fn bind_with_backlog(
        addr: impl ToSocketAddrs,
        backlog: u32,
    ) -> io::Result<TcpListener> {
        let backlog = i32::try_from(backlog).unwrap_or(i32::MAX);
        each_addr(addr, |addr| async move {
            let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
            socket.set_reuse_address(true)?;
            socket.set_nonblocking(true)?;
            socket.bind(&addr.into())?;
            socket.listen(backlog)?;
            Self::from_std(socket.into())
        })
        .await
    }

    /// Registers a std listener with the current runtime (switching it to non-blocking mode).
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        Ok(TcpListener {
            io: Evented::new(listener)?,
        })
    }

    /// Waits for a connection. An error (such as `EMFILE`, out of file descriptors) is returned
    /// as is; the listener stays usable and the next `accept` tries again.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection (what [`accept`](TcpListener::accept) awaits).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let (stream, addr) =
            std::task::ready!(self.io.poll_io(cx, Direction::Read, |l| l.accept()))?;
        Poll::Ready(TcpStream::from_std(stream).map(|s| (s, addr)))
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener").field("io", &self.io).finish()
    }
}

/// A TCP connection.
///
/// Reads and writes take `&self`, so one task can read and write at once (`join`), and
/// [`into_split`](TcpStream::into_split) gives owned halves for two tasks. Implements the
/// `futures-io` `AsyncRead` and `AsyncWrite` traits (and tokio's with the `tokio-io` feature);
/// `poll_close`/`poll_shutdown` shut the write direction down (the peer reads end-of-stream).
/// Dropping it closes the connection. See [`TcpListener`] for an example.
pub struct TcpStream {
    /// The socket, shared with the halves of `into_split`.
    io: Stream<std::net::TcpStream>,
}

impl TcpStream {
    /// Connects to `addr` (each address it resolves to, in turn, until one accepts).
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// rt.block_on(async {
    ///     // Nobody listens on a port that was just closed.
    ///     let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    ///     let err = kairos::net::TcpStream::connect(port).await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    /// });
    /// ```
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        each_addr(addr, Self::connect_addr).await
    }

    /// Connects to one address: a non-blocking connect, then wait until writable and read
    /// `SO_ERROR`.
    async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_nonblocking(true)?;
        match socket.connect(&addr.into()) {
            Ok(()) => {}
            Err(e)
                if e.raw_os_error() == Some(libc::EINPROGRESS)
                    || e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        let io = Evented::new(std::net::TcpStream::from(socket))?;
        loop {
            let event = io.ready(Direction::Write).await?;
            if let Some(e) = io.get().take_error()? {
                return Err(e);
            }
            match io.get().peer_addr() {
                Ok(_) => {
                    return Ok(TcpStream {
                        io: Stream::new(io),
                    });
                }
                // Still in progress (the optimistic first check): wait for the real event.
                Err(e) if e.kind() == io::ErrorKind::NotConnected => io.clear(event),
                Err(e) => return Err(e),
            }
        }
    }

    /// Registers a connected std stream with the current runtime (switching it to non-blocking
    /// mode).
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        Ok(TcpStream {
            io: Stream::new(Evented::new(stream)?),
        })
    }

    /// Shuts down the read, write, or both directions (`shutdown(2)`).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get().shutdown(how)
    }

    /// Sets `TCP_NODELAY` (no Nagle delay for small writes).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get().nodelay()
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }

    /// Splits into a read half and a write half that can move to different tasks. The
    /// connection closes when both are dropped.
    ///
    /// ```
    /// use kairos::net::{TcpListener, TcpStream};
    ///
    /// let rt = kairos::Runtime::builder().workers(2).build().unwrap();
    /// rt.block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let addr = listener.local_addr().unwrap();
    ///     let server = kairos::spawn(async move {
    ///         let (stream, _) = listener.accept().await.unwrap();
    ///         let (read, write) = stream.into_split();
    ///         let mut buf = [0; 64];
    ///         loop {
    ///             let n = read.read(&mut buf).await.unwrap();
    ///             if n == 0 {
    ///                 break;
    ///             }
    ///             write.write_all(&buf[..n]).await.unwrap();
    ///         }
    ///     });
    ///     let stream = TcpStream::connect(addr).await.unwrap();
    ///     stream.write_all(b"echo").await.unwrap();
    ///     stream.shutdown(std::net::Shutdown::Write).unwrap();
    ///     let mut got = Vec::new();
    ///     let mut buf = [0; 64];
    ///     loop {
    ///         let n = stream.read(&mut buf).await.unwrap();
    ///         if n == 0 {
    ///             break;
    ///         }
    ///         got.extend_from_slice(&buf[..n]);
    ///     }
    ///     assert_eq!(got, b"echo");
    ///     server.await.unwrap();
    /// });
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        (
            OwnedReadHalf {
                io: self.io.share(),
            },
            OwnedWriteHalf { io: self.io },
        )
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream").field("io", &self.io).finish()
    }
}

reads!(TcpStream);
writes!(TcpStream);

/// The read half of a [`TcpStream`] ([`TcpStream::into_split`]).
pub struct OwnedReadHalf {
    /// The socket, shared with the write half.
    io: Stream<std::net::TcpStream>,
}

impl OwnedReadHalf {
    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().peer_addr()
    }
}

impl fmt::Debug for OwnedReadHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedReadHalf")
            .field("io", &self.io)
            .finish()
    }
}

reads!(OwnedReadHalf);

/// The write half of a [`TcpStream`] ([`TcpStream::into_split`]).
pub struct OwnedWriteHalf {
    /// The socket, shared with the read half.
    io: Stream<std::net::TcpStream>,
}

impl OwnedWriteHalf {
    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().peer_addr()
    }
}

impl fmt::Debug for OwnedWriteHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedWriteHalf")
            .field("io", &self.io)
            .finish()
    }
}

writes!(OwnedWriteHalf);
