//! The servers under test: three applications written once, over a small [`Host`] /
//! [`Conn`] interface that kairos and tokio each implement with their own API (kairos'
//! `TcpStream::read`/`write_all`, tokio's `AsyncReadExt`/`AsyncWriteExt`), so both runtimes run
//! the same code.
//!
//! - **echo**: every connection's task reads what arrives (up to 4 KiB) and writes it back.
//! - **urgent**: every connection's task reads whole requests (`protocol.rs`),
//!   burns the kind's CPU time and answers with its response time (`protocol::answer`). On kairos a control request first marks its task
//!   urgent ([`Urgency::mark`]: a deadline of `now + 1 ms` under `Edf` and `Classes`, priority
//!   255 under `Priority`), so the wakes of that connection's task are ordered ahead of the bulk
//!   tasks, which have no deadline and priority 0. The CPU time is `kairos::work` on kairos (it
//!   checks between 20 µs slices whether a more urgent task waits, and yields to it) and a plain
//!   spin on the thread's CPU clock on tokio (tokio has no such check).
//! - **idle**: every connection's task counts itself, then waits in a read that never completes
//!   (the peer sends nothing) until the peer closes.
//!
//! Each server listens on `127.0.0.1:0`; an accept error (such as `EMFILE`) is reported on
//! stderr and the accept loop goes on after a millisecond.

use super::protocol::{self, Kind, CONTROL_DEADLINE, REQUEST_BYTES};
use crate::error::BenchError;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Which application a server runs.
#[derive(Clone, Debug)]
pub enum App {
    /// Echo.
    Echo,
    /// Bulk and control requests.
    Urgent,
    /// Idle connections, counted in the shared counter once their task waits.
    Idle(Arc<AtomicUsize>),
}

/// The kairos policy of the urgent scenario and how a control request asks for urgency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Urgency {
    /// `Policy::Edf`; a control request sets its task's deadline to now + 1 ms.
    Edf,
    /// `Policy::Classes`; the deadline puts the task in the deadline class.
    Classes,
    /// `Policy::Priority`; a control request sets its task's priority to 255.
    Priority,
    /// `Policy::Fifo`, nothing marked: what kairos does without urgency (a baseline).
    Fifo,
}

impl Urgency {
    /// The runtime's policy.
    pub fn policy(self) -> kairos::Policy {
        match self {
            Urgency::Edf => kairos::Policy::Edf,
            Urgency::Classes => kairos::Policy::Classes,
            Urgency::Priority => kairos::Policy::Priority,
            Urgency::Fifo => kairos::Policy::Fifo,
        }
    }

    /// The name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Urgency::Edf => "edf",
            Urgency::Classes => "classes",
            Urgency::Priority => "priority",
            Urgency::Fifo => "fifo",
        }
    }

    /// Marks the running task urgent for the control request it has just read.
    fn mark(self) {
        // Inside a task these cannot fail; outside one there is nothing to mark.
        let _ = match self {
            Urgency::Edf | Urgency::Classes => {
                kairos::task::set_deadline(kairos::time::Instant::now() + CONTROL_DEADLINE)
            }
            Urgency::Priority => kairos::task::set_priority(u8::MAX),
            Urgency::Fifo => Ok(()),
        };
    }
}

/// A running server, until [`Server::stop`] (or drop) drops its runtime.
pub struct Server {
    /// The runtime under test.
    runtime: Runtime,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Server {
    /// Stops the server: drops its runtime with every connection task and socket.
    pub fn stop(self) {
        match self.runtime {
            Runtime::Kairos(rt) => drop(rt),
            // Nothing blocks in the server's tasks: the timeout is never reached in practice.
            Runtime::Tokio(rt) => rt.shutdown_timeout(Duration::from_secs(5)),
        }
    }
}

/// The runtime of a [`Server`].
enum Runtime {
    /// kairos.
    Kairos(kairos::Runtime),
    /// tokio.
    Tokio(tokio::runtime::Runtime),
}

/// Starts `app` on a kairos runtime of `workers` workers under `urgency`'s policy.
///
/// # Errors
/// The runtime could not be built or the listener not bound.
pub fn kairos(app: App, workers: usize, urgency: Urgency) -> Result<Server, BenchError> {
    let fail = |message: String| BenchError::Build {
        backend: format!("kairos-{}", urgency.name()),
        message,
    };
    let rt = kairos::Runtime::builder()
        .workers(workers)
        .policy(urgency.policy())
        .thread_name("net-kairos")
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let listener = rt
        .block_on(kairos::net::TcpListener::bind("127.0.0.1:0"))
        .map_err(|e| fail(format!("bind: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| fail(format!("local_addr: {e}")))?;
    rt.spawn(serve(KairosListener { listener, urgency }, app));
    Ok(Server {
        runtime: Runtime::Kairos(rt),
        addr,
    })
}

/// Starts `app` on a tokio multi-thread runtime of `workers` workers.
///
/// # Errors
/// The runtime could not be built or the listener not bound.
pub fn tokio(app: App, workers: usize) -> Result<Server, BenchError> {
    let fail = |message: String| BenchError::Build {
        backend: "tokio".to_owned(),
        message,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .thread_name("net-tokio")
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .map_err(|e| fail(format!("bind: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| fail(format!("local_addr: {e}")))?;
    rt.spawn(serve(TokioListener(listener), app));
    Ok(Server {
        runtime: Runtime::Tokio(rt),
        addr,
    })
}

/// What the applications need from a runtime: accept, spawn, pause, and a connection's
/// reads, writes and CPU time, each through the runtime's own API.
trait Host: Send + Sync + 'static {
    /// An accepted connection.
    type Conn: Conn;
    /// The runtime's name in messages.
    const NAME: &'static str;
    /// Waits for a connection (with `TCP_NODELAY` set).
    fn accept(&self) -> impl Future<Output = io::Result<Self::Conn>> + Send;
    /// Spawns a task on the runtime.
    fn spawn(future: impl Future<Output = ()> + Send + 'static);
    /// Waits a millisecond (after a failed accept).
    fn pause() -> impl Future<Output = ()> + Send;
}

/// A connection of a [`Host`].
trait Conn: Send + 'static {
    /// Reads into `buf`.
    fn read(&mut self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> + Send;
    /// Writes all of `buf`.
    fn write_all(&mut self, buf: &[u8]) -> impl Future<Output = io::Result<()>> + Send;
    /// Spends a request's CPU time.
    fn cpu(&mut self, kind: Kind) -> impl Future<Output = ()> + Send;
}

/// The accept loop: one task per connection. Each application is its own `async fn`, so a
/// task's future is only as large as its own application needs (an idle connection does not
/// carry the echo buffer).
async fn serve<H: Host>(host: H, app: App) {
    loop {
        match host.accept().await {
            Ok(conn) => match &app {
                App::Echo => H::spawn(echo(conn)),
                App::Urgent => H::spawn(urgent(conn)),
                App::Idle(waiting) => H::spawn(idle(conn, waiting.clone())),
            },
            Err(e) => {
                eprintln!("net: {} server: accept failed: {e}", H::NAME);
                H::pause().await;
            }
        }
    }
}

/// Echo.
async fn echo(mut conn: impl Conn) {
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = conn.read(&mut buf).await {
        if conn.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// Bulk and control requests.
async fn urgent(mut conn: impl Conn) {
    let mut request = [0u8; REQUEST_BYTES];
    loop {
        let mut got = 0;
        while got < REQUEST_BYTES {
            match conn.read(&mut request[got..]).await {
                Ok(n @ 1..) => got += n,
                _ => return,
            }
        }
        conn.cpu(Kind::of(&request)).await;
        protocol::answer(&mut request);
        if conn.write_all(&request).await.is_err() {
            return;
        }
    }
}

/// An idle connection: counts itself, then waits for the peer to close.
async fn idle(mut conn: impl Conn, waiting: Arc<AtomicUsize>) {
    waiting.fetch_add(1, Ordering::Relaxed);
    let mut buf = [0u8; 64];
    while let Ok(1..) = conn.read(&mut buf).await {}
}

/// kairos' listener, and the urgency its connections' control requests ask for.
struct KairosListener {
    /// The listener.
    listener: kairos::net::TcpListener,
    /// How a control request is marked.
    urgency: Urgency,
}

/// A kairos connection.
struct KairosConn {
    /// The socket.
    stream: kairos::net::TcpStream,
    /// How a control request is marked.
    urgency: Urgency,
}

impl Host for KairosListener {
    type Conn = KairosConn;
    const NAME: &'static str = "kairos";

    async fn accept(&self) -> io::Result<KairosConn> {
        let (stream, _) = self.listener.accept().await?;
        stream.set_nodelay(true)?;
        Ok(KairosConn {
            stream,
            urgency: self.urgency,
        })
    }

    fn spawn(future: impl Future<Output = ()> + Send + 'static) {
        drop(kairos::spawn(future));
    }

    async fn pause() {
        kairos::time::sleep(Duration::from_millis(1)).await;
    }
}

impl Conn for KairosConn {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.read(buf).await
    }

    async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.stream.write_all(buf).await
    }

    /// A control request first marks the task urgent; `kairos::work` yields between its
    /// slices to a more urgent task.
    async fn cpu(&mut self, kind: Kind) {
        if kind == Kind::Control {
            self.urgency.mark();
        }
        kairos::work(kind.cpu()).await;
    }
}

/// tokio's listener.
struct TokioListener(tokio::net::TcpListener);

impl Host for TokioListener {
    type Conn = tokio::net::TcpStream;
    const NAME: &'static str = "tokio";

    async fn accept(&self) -> io::Result<tokio::net::TcpStream> {
        let (stream, _) = self.0.accept().await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    fn spawn(future: impl Future<Output = ()> + Send + 'static) {
        drop(tokio::spawn(future));
    }

    async fn pause() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

impl Conn for tokio::net::TcpStream {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        AsyncReadExt::read(self, buf).await
    }

    async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        AsyncWriteExt::write_all(self, buf).await
    }

    /// A spin on the thread's CPU clock: tokio has no cooperative check to yield at.
    async fn cpu(&mut self, kind: Kind) {
        crate::spin::cpu(crate::spin::nanos(kind.cpu()));
    }
}
