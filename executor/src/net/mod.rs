//! Sockets: TCP, UDP and Unix domain, driven by the runtime's reactor.
//!
//! Every type registers its (non-blocking) socket with the reactor of the runtime it is
//! created in, on first use of the network the reactor is created (`worker/reactor/`), and
//! workers wait for readiness themselves: a parked worker blocks in the OS poller with a
//! timeout to its next timer, a busy one checks between polls. A task woken by I/O is
//! scheduled like any woken task, under the runtime's policy. Operations spend the task's
//! cooperative budget, so a task that always finds its socket ready still yields.
//!
//! Streams implement the `futures-io` `AsyncRead`/`AsyncWrite` traits; with the `tokio-io`
//! feature, tokio's too. Errors are `std::io::Error`s from the OS (a refused connection is
//! `ConnectionRefused`, a reset one `ConnectionReset`); a socket used after its runtime was
//! dropped fails with an error saying so; a socket waited on inside the simulator
//! (`kairos::sim`, which has no network model) fails with `ErrorKind::Unsupported` instead
//! of hanging. `docs/io.md` has the design.
//!
//! ```
//! use kairos::net::{TcpListener, TcpStream};
//!
//! let rt = kairos::Runtime::builder().workers(2).build().unwrap();
//! rt.block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     kairos::spawn(async move {
//!         let (stream, _) = listener.accept().await.unwrap();
//!         let mut buf = [0; 5];
//!         let n = stream.read(&mut buf).await.unwrap();
//!         stream.write_all(&buf[..n]).await.unwrap();
//!     });
//!     let stream = TcpStream::connect(addr).await.unwrap();
//!     stream.write_all(b"hello").await.unwrap();
//!     let mut buf = [0; 5];
//!     let mut got = 0;
//!     while got < 5 {
//!         got += stream.read(&mut buf[got..]).await.unwrap();
//!     }
//!     assert_eq!(&buf, b"hello");
//! });
//! ```

mod evented;
mod stream;
mod tcp;
mod udp;
mod unix;

pub use tcp::{OwnedReadHalf, OwnedWriteHalf, TcpListener, TcpStream, DEFAULT_BACKLOG};
pub use udp::UdpSocket;
pub use unix::{UnixListener, UnixStream};
