//! The servers under test: the same three applications written once for kairos and once for
//! tokio, line for line alike.
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
    rt.spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => kairos_connection(&app, stream, urgency),
                Err(e) => {
                    eprintln!("net: kairos server: accept failed: {e}");
                    kairos::time::sleep(Duration::from_millis(1)).await;
                }
            }
        }
    });
    Ok(Server {
        runtime: Runtime::Kairos(rt),
        addr,
    })
}

/// Spawns the task of one kairos connection. Each application is its own `async fn`, so a
/// task's future is only as large as its own application needs (an idle connection does not
/// carry the echo buffer).
fn kairos_connection(app: &App, stream: kairos::net::TcpStream, urgency: Urgency) {
    let _ = stream.set_nodelay(true);
    match app {
        App::Echo => drop(kairos::spawn(kairos_echo(stream))),
        App::Urgent => drop(kairos::spawn(kairos_urgent(stream, urgency))),
        App::Idle(waiting) => drop(kairos::spawn(kairos_idle(stream, waiting.clone()))),
    }
}

/// Echo on kairos.
async fn kairos_echo(stream: kairos::net::TcpStream) {
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = stream.read(&mut buf).await {
        if stream.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// Bulk and control requests on kairos.
async fn kairos_urgent(stream: kairos::net::TcpStream, urgency: Urgency) {
    let mut request = [0u8; REQUEST_BYTES];
    loop {
        let mut got = 0;
        while got < REQUEST_BYTES {
            match stream.read(&mut request[got..]).await {
                Ok(n @ 1..) => got += n,
                _ => return,
            }
        }
        let kind = Kind::of(&request);
        if kind == Kind::Control {
            urgency.mark();
        }
        kairos::work(kind.cpu()).await;
        protocol::answer(&mut request);
        if stream.write_all(&request).await.is_err() {
            return;
        }
    }
}

/// An idle connection on kairos.
async fn kairos_idle(stream: kairos::net::TcpStream, waiting: Arc<AtomicUsize>) {
    waiting.fetch_add(1, Ordering::Relaxed);
    let mut buf = [0u8; 64];
    while let Ok(1..) = stream.read(&mut buf).await {}
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
    rt.spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => tokio_connection(&app, stream),
                Err(e) => {
                    eprintln!("net: tokio server: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        }
    });
    Ok(Server {
        runtime: Runtime::Tokio(rt),
        addr,
    })
}

/// Spawns the task of one tokio connection (as [`kairos_connection`]).
fn tokio_connection(app: &App, stream: tokio::net::TcpStream) {
    let _ = stream.set_nodelay(true);
    match app {
        App::Echo => drop(tokio::spawn(tokio_echo(stream))),
        App::Urgent => drop(tokio::spawn(tokio_urgent(stream))),
        App::Idle(waiting) => drop(tokio::spawn(tokio_idle(stream, waiting.clone()))),
    }
}

/// Echo on tokio.
async fn tokio_echo(mut stream: tokio::net::TcpStream) {
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = stream.read(&mut buf).await {
        if stream.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// Bulk and control requests on tokio.
async fn tokio_urgent(mut stream: tokio::net::TcpStream) {
    let mut request = [0u8; REQUEST_BYTES];
    loop {
        let mut got = 0;
        while got < REQUEST_BYTES {
            match stream.read(&mut request[got..]).await {
                Ok(n @ 1..) => got += n,
                _ => return,
            }
        }
        crate::spin::cpu(crate::spin::nanos(Kind::of(&request).cpu()));
        protocol::answer(&mut request);
        if stream.write_all(&request).await.is_err() {
            return;
        }
    }
}

/// An idle connection on tokio.
async fn tokio_idle(mut stream: tokio::net::TcpStream, waiting: Arc<AtomicUsize>) {
    waiting.fetch_add(1, Ordering::Relaxed);
    let mut buf = [0u8; 64];
    while let Ok(1..) = stream.read(&mut buf).await {}
}
