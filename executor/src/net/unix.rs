//! Unix domain stream sockets: [`UnixListener`], [`UnixStream`].

use super::evented::Evented;
use super::stream::{reads, writes, Stream};
use crate::worker::reactor::Direction;
use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::unix::net::SocketAddr;
use std::path::Path;

/// A Unix domain socket listening for connections.
///
/// ```
/// use kairos::net::{UnixListener, UnixStream};
///
/// let dir = std::env::temp_dir().join(format!("kairos-doc-unix-{}", std::process::id()));
/// let _ = std::fs::remove_file(&dir);
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// rt.block_on(async {
///     let listener = UnixListener::bind(&dir).unwrap();
///     let path = dir.clone();
///     let client = kairos::spawn(async move {
///         let stream = UnixStream::connect(&path).await.unwrap();
///         stream.write_all(b"hi").await.unwrap();
///     });
///     let (stream, _) = listener.accept().await.unwrap();
///     let mut buf = [0; 2];
///     let mut got = 0;
///     while got < 2 {
///         got += stream.read(&mut buf[got..]).await.unwrap();
///     }
///     assert_eq!(&buf, b"hi");
///     client.await.unwrap();
/// });
/// std::fs::remove_file(&dir).unwrap();
/// ```
pub struct UnixListener {
    /// The listening socket.
    io: Evented<std::os::unix::net::UnixListener>,
}

impl UnixListener {
    /// Binds to `path` (which must not exist) and listens.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        Self::from_std(std::os::unix::net::UnixListener::bind(path)?)
    }

    /// Registers a std listener with the current runtime (switching it to non-blocking mode).
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        listener.set_nonblocking(true)?;
        Ok(UnixListener {
            io: Evented::new(listener)?,
        })
    }

    /// Waits for a connection.
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (stream, addr) = self.io.io(Direction::Read, |l| l.accept()).await?;
        Ok((UnixStream::from_std(stream)?, addr))
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixListener")
            .field("io", &self.io)
            .finish()
    }
}

/// A Unix domain stream connection. Reads and writes take `&self`; implements the
/// `futures-io` (and, with `tokio-io`, tokio's) `AsyncRead` and `AsyncWrite` traits. See
/// [`UnixListener`] for an example.
pub struct UnixStream {
    /// The socket.
    io: Stream<std::os::unix::net::UnixStream>,
}

impl UnixStream {
    /// Connects to the socket at `path`. A Unix connect completes at once or fails (the
    /// listener's queue is full: `WouldBlock`), so it is done on the calling thread.
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        Self::from_std(std::os::unix::net::UnixStream::connect(path)?)
    }

    /// A connected pair of sockets.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = std::os::unix::net::UnixStream::pair()?;
        Ok((Self::from_std(a)?, Self::from_std(b)?))
    }

    /// Registers a connected std stream with the current runtime (switching it to non-blocking
    /// mode).
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        Ok(UnixStream {
            io: Stream::new(Evented::new(stream)?),
        })
    }

    /// Shuts down the read, write, or both directions.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get().shutdown(how)
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().peer_addr()
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream").field("io", &self.io).finish()
    }
}

reads!(UnixStream);
writes!(UnixStream);
