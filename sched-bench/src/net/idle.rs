//! The idle scenario of `sched-bench net`: resident memory per idle connection.
//!
//! Each measurement is a child process (this binary, `net --idle-child RUNTIME`) running only
//! the idle server ([`server::App::Idle`]) on 2 workers, so no other runtime's memory is in its
//! resident set:
//!
//! 1. the child raises its `RLIMIT_NOFILE` soft limit, starts the server, reads `VmRSS`
//!    (*ready*: runtime, reactor and listener exist) and prints `listening ADDR`;
//! 2. the parent opens the connections with blocking `std` sockets (in its own process, so the
//!    client side costs the child nothing);
//! 3. once every connection's task has counted itself (it then waits in a read that never
//!    completes), the child reads `VmRSS` again (*connected*) and prints one report line;
//! 4. the parent closes the child's stdin, and the child exits.
//!
//! Bytes per connection = (connected − ready) / connections: the task, its socket's
//! registration and whatever else the runtime keeps per connection, in user space. The
//! kernel's socket buffers are not in the resident set and are the same for both runtimes.
//!
//! Both processes hold one descriptor per connection (the child the accepted side, the parent
//! the connecting side) plus a few; if the hard `RLIMIT_NOFILE` cannot hold that, the run uses
//! fewer connections and says so.

use super::server::{self, App, Urgency};
use crate::error::BenchError;
use crate::spawn_sleep::proc_status_bytes;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Descriptors a process needs besides one per connection (stdio, epoll, eventfd, timerfd,
/// listener, the runtimes' own).
const SPARE_FDS: u64 = 64;

/// How long the child waits for every connection's task to count itself.
const CONNECT_LIMIT: Duration = Duration::from_secs(120);

/// The first word of the child's report line.
const REPORT_TAG: &str = "net_idle_child";

/// Which server a child runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum IdleRuntime {
    /// kairos (`Fifo`).
    Kairos,
    /// tokio multi-thread.
    Tokio,
}

impl IdleRuntime {
    /// The name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            IdleRuntime::Kairos => "kairos",
            IdleRuntime::Tokio => "tokio",
        }
    }
}

/// One child's measurement.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct IdleRow {
    /// Connections held.
    pub connections: u64,
    /// `VmRSS` with the server ready, bytes.
    pub rss_ready: u64,
    /// `VmRSS` with every connection's task waiting, bytes.
    pub rss_connected: u64,
}

impl IdleRow {
    /// Resident bytes per connection.
    pub fn bytes_per_connection(&self) -> f64 {
        self.rss_connected.saturating_sub(self.rss_ready) as f64 / self.connections.max(1) as f64
    }

    /// The report line.
    fn line(&self) -> String {
        format!(
            "{REPORT_TAG} connections={} rss_ready={} rss_connected={}",
            self.connections, self.rss_ready, self.rss_connected
        )
    }

    /// Parses [`IdleRow::line`].
    fn parse(line: &str) -> Option<IdleRow> {
        let mut words = line.split_whitespace();
        if words.next()? != REPORT_TAG {
            return None;
        }
        let mut field = |key: &str| -> Option<u64> {
            words
                .next()?
                .strip_prefix(key)?
                .strip_prefix('=')?
                .parse()
                .ok()
        };
        Some(IdleRow {
            connections: field("connections")?,
            rss_ready: field("rss_ready")?,
            rss_connected: field("rss_connected")?,
        })
    }
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the new soft limit.
///
/// # Errors
/// The OS refused to read or set the limit.
pub fn raise_nofile() -> Result<u64, String> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable `rlimit` for the call's duration.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(format!("getrlimit: {}", std::io::Error::last_os_error()));
    }
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max;
        // SAFETY: `limit` is a valid `rlimit`; raising the soft limit up to the hard one is
        // always permitted.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
            return Err(format!("setrlimit: {}", std::io::Error::last_os_error()));
        }
    }
    Ok(limit.rlim_cur)
}

/// How many of `wanted` connections the descriptor limit allows, and a note if fewer.
///
/// # Errors
/// The limit could not be read or raised.
pub fn connections_allowed(wanted: u64) -> Result<(u64, Option<String>), BenchError> {
    let limit = raise_nofile().map_err(BenchError::Usage)?;
    let fits = limit.saturating_sub(SPARE_FDS);
    if fits >= wanted {
        return Ok((wanted, None));
    }
    let note = format!(
        "idle: RLIMIT_NOFILE hard limit {limit} is too low for {wanted} connections (each \
         process needs one descriptor per connection plus {SPARE_FDS}); measured {fits}. Raise \
         it (ulimit -Hn, /etc/security/limits.conf) to measure {wanted}"
    );
    Ok((fits, Some(note)))
}

/// The child side: runs the idle server on `runtime`, reports, and exits when stdin closes.
///
/// # Errors
/// A server that cannot start, `/proc` unreadable, connections that never arrive.
pub fn child(runtime: IdleRuntime, connections: u64, workers: usize) -> Result<(), BenchError> {
    let fail = |message: String| BenchError::Task {
        backend: runtime.name().to_owned(),
        message,
    };
    raise_nofile().map_err(fail)?;
    let waiting = Arc::new(AtomicUsize::new(0));
    let app = App::Idle(waiting.clone());
    let server = match runtime {
        IdleRuntime::Kairos => server::kairos(app, workers, Urgency::Fifo)?,
        IdleRuntime::Tokio => server::tokio(app, workers)?,
    };
    let addr = server.addr;
    let rss_ready = proc_status_bytes("VmRSS").map_err(fail)?;
    println!("listening {addr}");
    std::io::stdout().flush().map_err(|e| fail(e.to_string()))?;
    let started = Instant::now();
    while (waiting.load(Ordering::Relaxed) as u64) < connections {
        if started.elapsed() > CONNECT_LIMIT {
            return Err(fail(format!(
                "only {} of {connections} connections arrived within {CONNECT_LIMIT:?}",
                waiting.load(Ordering::Relaxed)
            )));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let row = IdleRow {
        connections,
        rss_ready,
        rss_connected: proc_status_bytes("VmRSS").map_err(fail)?,
    };
    println!("{}", row.line());
    std::io::stdout().flush().map_err(|e| fail(e.to_string()))?;
    // Hold everything until the parent is done.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    server.stop();
    Ok(())
}

/// The parent side: one child measuring `runtime` with `connections` connections.
///
/// # Errors
/// The child could not start, failed, or printed no report; a connection failed.
pub fn measure(
    runtime: IdleRuntime,
    connections: u64,
    workers: usize,
) -> Result<IdleRow, BenchError> {
    let fail = |message: String| BenchError::Task {
        backend: format!("{} (idle child)", runtime.name()),
        message,
    };
    let exe = std::env::current_exe().map_err(|e| fail(format!("current_exe: {e}")))?;
    let mut child = Command::new(exe)
        .args(["net", "--idle-child", runtime.name()])
        .args(["--idle-connections", &connections.to_string()])
        .args(["--workers", &workers.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| fail(format!("could not start the child: {e}")))?;
    let result = (|| {
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| fail("no stdout".into()))?;
        let mut lines = BufReader::new(stdout).lines();
        let mut next_line = || -> Result<String, BenchError> {
            match lines.next() {
                Some(Ok(line)) => Ok(line),
                Some(Err(e)) => Err(fail(format!("reading its output: {e}"))),
                None => Err(fail("it exited without a report".into())),
            }
        };
        let first = next_line()?;
        let addr: std::net::SocketAddr = first
            .strip_prefix("listening ")
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| fail(format!("unexpected first line `{first}`")))?;
        let mut clients = Vec::with_capacity(connections as usize);
        for i in 0..connections {
            let stream = std::net::TcpStream::connect(addr)
                .map_err(|e| fail(format!("connection {i} of {connections}: {e}")))?;
            clients.push(stream);
        }
        let report = next_line()?;
        let row =
            IdleRow::parse(&report).ok_or_else(|| fail(format!("unexpected report `{report}`")))?;
        drop(clients);
        Ok(row)
    })();
    // Closing stdin ends a child that reported; one that did not is stopped.
    drop(child.stdin.take());
    if result.is_err() {
        let _ = child.kill();
    }
    let status = child
        .wait()
        .map_err(|e| fail(format!("waiting for it: {e}")))?;
    let row = result?;
    if !status.success() {
        return Err(fail(format!("it exited with {status}")));
    }
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::IdleRow;

    #[test]
    fn report_lines_round_trip() {
        let row = IdleRow {
            connections: 10,
            rss_ready: 4096,
            rss_connected: 8192,
        };
        assert_eq!(IdleRow::parse(&row.line()), Some(row));
        assert_eq!(row.bytes_per_connection(), 409.6);
        assert_eq!(IdleRow::parse("listening 127.0.0.1:1"), None);
    }
}
