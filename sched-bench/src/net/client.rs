//! The load generator of `sched-bench net`: one client for every server, so both runtimes face
//! the same load.
//!
//! The client is a tokio current-thread runtime on one thread of its own (not a worker of the
//! server under test): every connection is a task on it. Each connection runs a closed loop
//! (send a request, read the whole response, send the next), except control connections, which
//! pace their requests. A request counts when it was sent inside the measurement *window*
//! (after a warm-up) and its response arrived before the window closed. An echo message's
//! round-trip time, as the client sees it, goes into an HdrHistogram (ns, 3 significant
//! digits); a request's *response time* as the server stamped it (`protocol.rs`) does, so the
//! urgent scenario's figures do not depend on when the client thread gets the CPU. Connections stop at the end of the
//! window and close, which ends their server tasks.

use super::protocol::{self, Kind, REQUEST_BYTES};
use hdrhistogram::Histogram;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Highest round trip the histograms hold (60 s); longer ones are recorded as this.
const MAX_NS: u64 = 60_000_000_000;

/// A histogram of round trips in ns.
pub type Hist = Histogram<u64>;

/// An empty round-trip histogram.
pub fn hist() -> Hist {
    match Histogram::new_with_bounds(1, MAX_NS, 3) {
        Ok(h) => h,
        Err(e) => unreachable!("constant histogram bounds are valid: {e}"),
    }
}

/// When requests count: sent at or after `start`, answered at or before `end`.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    /// End of the warm-up.
    pub start: Instant,
    /// End of the measurement; connections stop sending here.
    pub end: Instant,
}

impl Window {
    /// A window of `duration` after a warm-up of a fifth of it (at least 100 ms), from now.
    pub fn after_warmup(duration: Duration) -> Window {
        let warmup = (duration / 5).max(Duration::from_millis(100));
        let start = Instant::now() + warmup;
        Window {
            start,
            end: start + duration,
        }
    }

    /// Whether a request sent at `sent` and answered at `done` counts.
    fn counts(&self, sent: Instant, done: Instant) -> bool {
        sent >= self.start && done <= self.end
    }
}

/// What one kind of connection measured.
#[derive(Debug)]
pub struct Measured {
    /// Requests counted.
    pub requests: u64,
    /// Their round trips (echo) or response times (requests), ns.
    pub latency: Hist,
}

impl Measured {
    /// Nothing yet.
    fn new() -> Measured {
        Measured {
            requests: 0,
            latency: hist(),
        }
    }

    /// Adds one request's round trip or response time.
    fn record(&mut self, took: Duration) {
        self.requests += 1;
        let ns = u64::try_from(took.as_nanos()).unwrap_or(MAX_NS);
        self.latency.saturating_record(ns.clamp(1, MAX_NS));
    }

    /// Adds another connection's figures.
    fn merge(&mut self, other: &Measured) {
        self.requests += other.requests;
        // Same bounds on both sides: adding cannot fail.
        let _ = self.latency.add(&other.latency);
    }
}

/// One group of client connections.
#[derive(Clone, Copy, Debug)]
pub struct Group {
    /// How many connections.
    pub connections: usize,
    /// What they send: echo payloads of this many bytes, or requests of a kind.
    pub load: Load,
}

/// What a connection sends.
#[derive(Clone, Copy, Debug)]
pub enum Load {
    /// `bytes`-byte messages echoed back, closed loop.
    Echo {
        /// Message size.
        bytes: usize,
    },
    /// `REQUEST_BYTES` requests of `kind`; a new one `period` after the last was sent (or at
    /// once if the answer took longer); `Duration::ZERO`: closed loop.
    Requests {
        /// Bulk or control.
        kind: Kind,
        /// Pacing.
        period: Duration,
    },
}

/// Runs `groups` against the server at `addr` during `window`, on a client thread of its own;
/// returns one [`Measured`] per group.
///
/// # Errors
/// A connection that failed (refused, reset, end-of-stream before the answer), with the OS
/// error: the server under test misbehaved or the machine ran out of descriptors.
pub fn run(addr: SocketAddr, groups: &[Group], window: Window) -> Result<Vec<Measured>, String> {
    let groups = groups.to_vec();
    let thread = std::thread::Builder::new()
        .name("net-client".to_owned())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("client runtime: {e}"))?;
            rt.block_on(async move {
                let mut handles = Vec::new();
                for (g, group) in groups.iter().enumerate() {
                    for _ in 0..group.connections {
                        let load = group.load;
                        handles.push((g, tokio::spawn(connection(addr, load, window))));
                    }
                }
                let mut out: Vec<Measured> = groups.iter().map(|_| Measured::new()).collect();
                for (g, handle) in handles {
                    let measured = handle
                        .await
                        .map_err(|e| format!("client task: {e}"))?
                        .map_err(|e| format!("client connection to {addr}: {e}"))?;
                    out[g].merge(&measured);
                }
                Ok(out)
            })
        })
        .map_err(|e| format!("client thread: {e}"))?;
    thread
        .join()
        .map_err(|_| "the client thread panicked".to_owned())?
}

/// One connection's loop until the window ends.
async fn connection(addr: SocketAddr, load: Load, window: Window) -> std::io::Result<Measured> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let mut measured = Measured::new();
    match load {
        Load::Echo { bytes } => {
            let message = vec![0x5a; bytes];
            let mut answer = vec![0; bytes];
            loop {
                let sent = Instant::now();
                if sent >= window.end {
                    return Ok(measured);
                }
                stream.write_all(&message).await?;
                stream.read_exact(&mut answer).await?;
                let done = Instant::now();
                if window.counts(sent, done) {
                    measured.record(done.duration_since(sent));
                }
            }
        }
        Load::Requests { kind, period } => {
            let mut answer = [0u8; REQUEST_BYTES];
            loop {
                let sent = Instant::now();
                if sent >= window.end {
                    return Ok(measured);
                }
                stream.write_all(&protocol::request(kind)).await?;
                stream.read_exact(&mut answer).await?;
                if window.counts(sent, Instant::now()) {
                    measured.record(Duration::from_nanos(protocol::response_ns(&answer)));
                }
                if !period.is_zero() {
                    tokio::time::sleep_until((sent + period).into()).await;
                }
            }
        }
    }
}
