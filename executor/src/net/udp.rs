//! UDP: [`UdpSocket`].

use super::evented::Evented;
use crate::worker::reactor::Direction;
use std::fmt;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

/// A UDP socket.
///
/// Unconnected, it sends to and receives from any address ([`send_to`](UdpSocket::send_to),
/// [`recv_from`](UdpSocket::recv_from)); after [`connect`](UdpSocket::connect), it has one
/// peer ([`send`](UdpSocket::send), [`recv`](UdpSocket::recv)). Methods take `&self`: one
/// socket can be shared by tasks through an `Arc`.
///
/// ```
/// use kairos::net::UdpSocket;
///
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// rt.block_on(async {
///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
///     let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
///     a.send_to(b"hi", b.local_addr().unwrap()).await.unwrap();
///     let mut buf = [0; 8];
///     let (n, from) = b.recv_from(&mut buf).await.unwrap();
///     assert_eq!((&buf[..n], from), (&b"hi"[..], a.local_addr().unwrap()));
/// });
/// ```
pub struct UdpSocket {
    /// The socket.
    io: Evented<std::net::UdpSocket>,
}

impl UdpSocket {
    /// Binds to `addr` (the first address it resolves to that binds). Port 0 picks a free
    /// port.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        Self::from_std(std::net::UdpSocket::bind(addr)?)
    }

    /// Registers a std socket with the current runtime (switching it to non-blocking mode).
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        Ok(UdpSocket {
            io: Evented::new(socket)?,
        })
    }

    /// Sets the peer of [`send`](UdpSocket::send) and [`recv`](UdpSocket::recv), and drops
    /// datagrams from other addresses.
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        self.io.get().connect(addr)
    }

    /// Sends `buf` as one datagram to `addr`; returns the bytes sent.
    pub async fn send_to(&self, buf: &[u8], addr: impl ToSocketAddrs) -> io::Result<usize> {
        let addr = addr.to_socket_addrs()?.next().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "kairos::net: the address resolved to no socket address",
            )
        })?;
        self.io.io(Direction::Write, |s| s.send_to(buf, addr)).await
    }

    /// Receives one datagram into `buf` (the rest of a longer one is dropped); returns its
    /// length and sender.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.io(Direction::Read, |s| s.recv_from(buf)).await
    }

    /// Sends `buf` to the connected peer.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.io(Direction::Write, |s| s.send(buf)).await
    }

    /// Receives one datagram from the connected peer.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.io(Direction::Read, |s| s.recv(buf)).await
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }

    /// The connected peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().peer_addr()
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket").field("io", &self.io).finish()
    }
}
