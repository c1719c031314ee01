//! `sched-bench net`: kairos' sockets against tokio's, on loopback, in one run.
//!
//! Three scenarios (`--only` picks some), each run for `--rounds` rounds that alternate the two
//! runtimes (kairos first in odd rounds, tokio first in even ones), so a slow phase of a shared
//! machine hits both; the tables show the median of the rounds of each figure.
//!
//! - **echo**: `--connections` (100) connections send `--message-bytes` (64) messages in a
//!   closed loop to an echo server; throughput (messages answered per second) and round-trip
//!   percentiles. Goals: throughput at least 1.0x tokio's, p99 at most tokio's.
//! - **urgent** (urgent requests under bulk load): one server, `--bulk-connections` (8)
//!   connections sending bulk requests (200 µs of CPU each) in a closed loop, enough to keep
//!   both workers busy, and `--control-connections` (2) sending a control request (20 µs of
//!   CPU, 1 ms deadline) every `--control-period` (2 ms). On kairos (`--urgency`, default
//!   `edf`) the control request marks its task urgent (`server.rs`). Latencies are response
//!   times stamped by the server (`protocol.rs`). Goals: control p99 at most 1/10 of tokio's,
//!   bulk throughput at least 0.9x tokio's.
//! - **idle**: `--idle-connections` (10,000) idle connections; resident bytes per connection,
//!   each runtime in a child process of its own (`idle.rs`). Goal: at most tokio's.
//!
//! The servers run on `--workers` (2) workers; the load comes from one client thread
//! (`client.rs`), the same for both. A goal line that says MISSED is a measured shortfall, not
//! an error: the exit status is 0 whenever the measurement itself worked.

mod client;
mod idle;
mod protocol;
mod server;

use crate::error::BenchError;
use crate::json::{self, Output};
use crate::machine::{self, CpuSample};
use crate::stats::Summary;
use crate::table::{num, Table};
use crate::watchdog::Watchdog;
use client::{Group, Hist, Load, Window};
use idle::{IdleRow, IdleRuntime};
use protocol::Kind;
use serde::Serialize;
use server::{App, Urgency};
use std::path::PathBuf;
use std::time::Duration;

/// `sched-bench net`'s command line.
#[derive(Debug, clap::Args)]
pub struct NetArgs {
    /// Run only these scenarios (comma-separated); default: all three.
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Scenario>,
    /// Rounds per runtime, alternating kairos and tokio; the tables show their median.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=1000))]
    rounds: u32,
    /// Worker threads of each server runtime.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=1024))]
    workers: u32,
    /// Measured time of one echo or urgent round, after a warm-up of a fifth of it (at least
    /// 100 ms), e.g. 2s or 500ms.
    #[arg(long, default_value = "2s", value_name = "DURATION", value_parser = crate::parse_run_length)]
    duration: Duration,
    /// echo: client connections.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    connections: u32,
    /// echo: bytes per message.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    message_bytes: u32,
    /// urgent: connections sending bulk requests (200 µs of CPU each) in a closed loop.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    bulk_connections: u32,
    /// urgent: connections sending control requests (20 µs of CPU, 1 ms deadline).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    control_connections: u32,
    /// urgent: time between two control requests of one connection (a request answered later
    /// is followed by the next at once).
    #[arg(long, default_value = "2ms", value_name = "DURATION", value_parser = crate::parse_run_length)]
    control_period: Duration,
    /// urgent: kairos' policy and how a control request is marked urgent.
    #[arg(long, value_enum, default_value = "edf")]
    urgency: Urgency,
    /// idle: connections held open (each process needs as many file descriptors; the soft
    /// RLIMIT_NOFILE is raised to the hard one, and fewer connections are measured, with a
    /// note, if even that is too low).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    idle_connections: u64,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Internal: run one idle measurement in this process (see `idle.rs`).
    #[arg(long, value_enum, hide = true)]
    idle_child: Option<IdleRuntime>,
}

/// A scenario of `net`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// 100 connections, 64-byte messages, closed loop.
    Echo,
    /// Control requests under bulk load.
    Urgent,
    /// 10,000 idle connections.
    Idle,
}

/// Percentiles of one histogram, ns (HdrHistogram, 3 significant digits).
#[derive(Clone, Copy, Debug, Default, Serialize)]
struct Percentiles {
    /// Samples.
    samples: u64,
    /// Median.
    p50_ns: u64,
    /// 99th percentile.
    p99_ns: u64,
    /// 99.9th percentile.
    p999_ns: u64,
    /// Largest.
    max_ns: u64,
}

impl Percentiles {
    /// The percentiles of `h`.
    fn of(h: &Hist) -> Percentiles {
        Percentiles {
            samples: h.len(),
            p50_ns: h.value_at_quantile(0.50),
            p99_ns: h.value_at_quantile(0.99),
            p999_ns: h.value_at_quantile(0.999),
            max_ns: h.max(),
        }
    }
}

/// One kind of request in one round: its rate and round trips.
#[derive(Clone, Copy, Debug, Serialize)]
struct Traffic {
    /// Requests answered per second of the window.
    per_second: f64,
    /// Their round trips.
    latency: Percentiles,
}

impl Traffic {
    /// From what the client measured over `duration`.
    fn of(m: &client::Measured, duration: Duration) -> Traffic {
        Traffic {
            per_second: m.requests as f64 / duration.as_secs_f64(),
            latency: Percentiles::of(&m.latency),
        }
    }
}

/// The medians over rounds of a list of [`Traffic`].
#[derive(Clone, Copy, Debug, Serialize)]
struct TrafficMedian {
    /// Requests per second: median, min, max.
    per_second: Summary,
    /// Median of the rounds' p50, ns.
    p50_ns: f64,
    /// Median of the rounds' p99, ns.
    p99_ns: f64,
    /// Median of the rounds' p99.9, ns.
    p999_ns: f64,
    /// Median of the rounds' maximum, ns.
    max_ns: f64,
}

impl TrafficMedian {
    /// The medians of `rounds` (at least one).
    fn of(rounds: &[Traffic]) -> TrafficMedian {
        let med = |f: fn(&Traffic) -> f64| {
            Summary::of(&rounds.iter().map(f).collect::<Vec<_>>()).map_or(f64::NAN, |s| s.median)
        };
        let rates: Vec<f64> = rounds.iter().map(|t| t.per_second).collect();
        TrafficMedian {
            per_second: Summary::of(&rates).unwrap_or(Summary {
                median: f64::NAN,
                min: f64::NAN,
                max: f64::NAN,
            }),
            p50_ns: med(|t| t.latency.p50_ns as f64),
            p99_ns: med(|t| t.latency.p99_ns as f64),
            p999_ns: med(|t| t.latency.p999_ns as f64),
            max_ns: med(|t| t.latency.max_ns as f64),
        }
    }

    /// Table cells: rate, then the percentiles in µs.
    fn cells(&self) -> [String; 5] {
        [
            num(self.per_second.median),
            num(self.p50_ns / 1e3),
            num(self.p99_ns / 1e3),
            num(self.p999_ns / 1e3),
            num(self.max_ns / 1e3),
        ]
    }
}

/// One urgent round on one runtime.
#[derive(Clone, Copy, Debug, Serialize)]
struct UrgentRound {
    /// Bulk requests.
    bulk: Traffic,
    /// Control requests.
    control: Traffic,
}

/// A goal line: a ratio and its bound.
#[derive(Clone, Debug, Serialize)]
struct Goal {
    /// What is compared.
    name: String,
    /// kairos' figure over tokio's.
    ratio: f64,
    /// The bound the ratio must meet.
    target: f64,
    /// Whether the ratio must be at least (true) or at most (false) the target.
    at_least: bool,
    /// Whether it does.
    met: bool,
}

impl Goal {
    /// `kairos / tokio` against `target`.
    fn new(name: &str, kairos: f64, tokio: f64, target: f64, at_least: bool) -> Goal {
        let ratio = kairos / tokio;
        let met = if at_least {
            ratio >= target
        } else {
            ratio <= target
        };
        Goal {
            name: name.to_owned(),
            ratio,
            target,
            at_least,
            met,
        }
    }

    /// The printed line.
    fn line(&self) -> String {
        format!(
            "goal: {} kairos/tokio = {:.3}x ({} {}x): {}",
            self.name,
            self.ratio,
            if self.at_least { ">=" } else { "<=" },
            self.target,
            if self.met { "met" } else { "MISSED" }
        )
    }
}

/// Runs `sched-bench net`, or its idle child.
///
/// # Errors
/// A runtime that cannot be built, a failed connection, an unwritable JSON file.
pub fn main(args: NetArgs) -> Result<(), BenchError> {
    let workers = args.workers as usize;
    if let Some(runtime) = args.idle_child {
        return idle::child(runtime, args.idle_connections, workers);
    }
    let json_out = args.json.as_deref().map(Output::create).transpose()?;
    let only = if args.only.is_empty() {
        vec![Scenario::Echo, Scenario::Urgent, Scenario::Idle]
    } else {
        args.only.clone()
    };
    let start = CpuSample::now();
    let mut goals = Vec::new();
    let mut notes = Vec::new();
    let mut body = json::Obj::new()
        .int("workers", workers as u64)
        .int("rounds", u64::from(args.rounds))
        .num("duration_s", args.duration.as_secs_f64());
    println!(
        "net: loopback, servers on {workers} workers (kairos, tokio multi-thread), one client \
         thread; {} rounds alternating, medians",
        args.rounds
    );
    if only.contains(&Scenario::Echo) {
        let (k, t) = echo(&args)?;
        let (km, tm) = (TrafficMedian::of(&k), TrafficMedian::of(&t));
        println!(
            "\necho: {} connections, {}-byte messages, closed loop, {:?} per round",
            args.connections, args.message_bytes, args.duration
        );
        let mut table = Table::new(["runtime", "msg/s", "p50 us", "p99 us", "p99.9 us", "max us"])
            .text_columns(1);
        for (name, m) in [("kairos-fifo", &km), ("tokio", &tm)] {
            table.row(std::iter::once(name.to_owned()).chain(m.cells()));
        }
        print!("{table}");
        goals.push(Goal::new(
            "echo throughput",
            km.per_second.median,
            tm.per_second.median,
            1.0,
            true,
        ));
        goals.push(Goal::new("echo p99", km.p99_ns, tm.p99_ns, 1.0, false));
        body = body.val(
            "echo",
            json::Obj::new()
                .int("connections", u64::from(args.connections))
                .int("message_bytes", u64::from(args.message_bytes))
                .val("kairos", km)
                .val("tokio", tm)
                .val("kairos_rounds", &k)
                .val("tokio_rounds", &t)
                .finish(),
        );
    }
    if only.contains(&Scenario::Urgent) {
        let (k, t) = urgent(&args)?;
        let median = |rounds: &[UrgentRound], f: fn(&UrgentRound) -> Traffic| {
            TrafficMedian::of(&rounds.iter().map(f).collect::<Vec<_>>())
        };
        let (kb, kc) = (median(&k, |r| r.bulk), median(&k, |r| r.control));
        let (tb, tc) = (median(&t, |r| r.bulk), median(&t, |r| r.control));
        println!(
            "\nurgent: {} bulk connections (closed loop, {} us CPU each), {} control connections \
             (every {:?}, {} us CPU, deadline {:?}); kairos policy {}; response times (client's \
             send to the server's answer, stamped by the server)",
            args.bulk_connections,
            Kind::Bulk.cpu().as_micros(),
            args.control_connections,
            args.control_period,
            Kind::Control.cpu().as_micros(),
            protocol::CONTROL_DEADLINE,
            args.urgency.name()
        );
        let mut table = Table::new([
            "runtime",
            "bulk req/s",
            "ctl req/s",
            "ctl p50 us",
            "ctl p99 us",
            "ctl p99.9 us",
            "ctl max us",
            "bulk p99 us",
        ])
        .text_columns(1);
        let kairos_name = format!("kairos-{}", args.urgency.name());
        for (name, b, c) in [(kairos_name.as_str(), &kb, &kc), ("tokio", &tb, &tc)] {
            let [rate, p50, p99, p999, max] = c.cells();
            table.row([
                name.to_owned(),
                num(b.per_second.median),
                rate,
                p50,
                p99,
                p999,
                max,
                num(b.p99_ns / 1e3),
            ]);
        }
        print!("{table}");
        goals.push(Goal::new(
            "urgent control p99",
            kc.p99_ns,
            tc.p99_ns,
            0.1,
            false,
        ));
        goals.push(Goal::new(
            "urgent bulk throughput",
            kb.per_second.median,
            tb.per_second.median,
            0.9,
            true,
        ));
        body = body.val(
            "urgent",
            json::Obj::new()
                .str("kairos_policy", args.urgency.name())
                .int("bulk_connections", u64::from(args.bulk_connections))
                .int("control_connections", u64::from(args.control_connections))
                .num("control_period_s", args.control_period.as_secs_f64())
                .val(
                    "kairos",
                    json::Obj::new().val("bulk", kb).val("control", kc).finish(),
                )
                .val(
                    "tokio",
                    json::Obj::new().val("bulk", tb).val("control", tc).finish(),
                )
                .val("kairos_rounds", &k)
                .val("tokio_rounds", &t)
                .finish(),
        );
    }
    if only.contains(&Scenario::Idle) {
        let (connections, note) = idle::connections_allowed(args.idle_connections)?;
        notes.extend(note);
        let (k, t) = idle_rounds(&args, connections)?;
        let med = |rows: &[IdleRow], f: fn(&IdleRow) -> f64| {
            Summary::of(&rows.iter().map(f).collect::<Vec<_>>()).map_or(f64::NAN, |s| s.median)
        };
        let (kb, tb) = (
            med(&k, IdleRow::bytes_per_connection),
            med(&t, IdleRow::bytes_per_connection),
        );
        println!(
            "\nidle: {connections} idle connections, each runtime in a child process; resident \
             bytes per connection = (VmRSS connected - VmRSS ready) / connections"
        );
        let mut table = Table::new([
            "runtime",
            "connections",
            "bytes/conn",
            "RSS ready MiB",
            "RSS connected MiB",
        ])
        .text_columns(1);
        let mib = |b: f64| num(b / (1 << 20) as f64);
        for (name, rows, bytes) in [("kairos-fifo", &k, kb), ("tokio", &t, tb)] {
            table.row([
                name.to_owned(),
                connections.to_string(),
                num(bytes),
                mib(med(rows, |r| r.rss_ready as f64)),
                mib(med(rows, |r| r.rss_connected as f64)),
            ]);
        }
        print!("{table}");
        goals.push(Goal::new("idle bytes/connection", kb, tb, 1.0, false));
        let rows = |rows: &[IdleRow]| {
            json::array(rows.iter().map(|r| {
                json::Obj::new()
                    .int("connections", r.connections)
                    .int("rss_ready", r.rss_ready)
                    .int("rss_connected", r.rss_connected)
                    .num("bytes_per_connection", r.bytes_per_connection())
                    .finish()
            }))
        };
        body = body.val(
            "idle",
            json::Obj::new()
                .int("connections", connections)
                .num("kairos_bytes_per_connection", kb)
                .num("tokio_bytes_per_connection", tb)
                .val("kairos_rounds", rows(&k))
                .val("tokio_rounds", rows(&t))
                .finish(),
        );
    }
    println!();
    for goal in &goals {
        println!("{}", goal.line());
    }
    for note in &notes {
        println!("note: {note}");
    }
    let busy = machine::busy_note(start);
    if let Some(line) = &busy {
        println!("{line}");
    }
    if let Some(out) = json_out {
        let body = body
            .val("goals", &goals)
            .val("notes", &notes)
            .val("busy", &busy)
            .finish();
        out.write_json("net", body)?;
    }
    Ok(())
}

/// Which runtime runs first in round `r` (0-based): kairos in even rounds, tokio in odd ones.
fn kairos_first(r: u32) -> bool {
    r.is_multiple_of(2)
}

/// A watchdog for one round of `what` on `runtime`.
fn watchdog(what: &str, round: u32, runtime: &str, duration: Duration) -> Watchdog {
    Watchdog::arm(
        format!("net {what} round {} on {runtime}", round + 1),
        duration * 4 + Duration::from_secs(60),
    )
}

/// Runs the client `groups` against `addr` for one round.
fn drive(
    backend: &str,
    addr: std::net::SocketAddr,
    groups: &[Group],
    duration: Duration,
) -> Result<Vec<client::Measured>, BenchError> {
    client::run(addr, groups, Window::after_warmup(duration)).map_err(|message| BenchError::Task {
        backend: backend.to_owned(),
        message,
    })
}

/// The echo rounds: (kairos, tokio), one [`Traffic`] per round each.
fn echo(args: &NetArgs) -> Result<(Vec<Traffic>, Vec<Traffic>), BenchError> {
    let groups = [Group {
        connections: args.connections as usize,
        load: Load::Echo {
            bytes: args.message_bytes as usize,
        },
    }];
    let workers = args.workers as usize;
    let (mut k, mut t) = (Vec::new(), Vec::new());
    for r in 0..args.rounds {
        for kairos in [kairos_first(r), !kairos_first(r)] {
            let name = if kairos { "kairos-fifo" } else { "tokio" };
            eprintln!("net: echo round {}/{} on {name}", r + 1, args.rounds);
            let _guard = watchdog("echo", r, name, args.duration);
            let server = if kairos {
                server::kairos(App::Echo, workers, Urgency::Fifo)?
            } else {
                server::tokio(App::Echo, workers)?
            };
            let measured = drive(name, server.addr, &groups, args.duration)?;
            server.stop();
            let traffic = Traffic::of(&measured[0], args.duration);
            if kairos { &mut k } else { &mut t }.push(traffic);
        }
    }
    Ok((k, t))
}

/// The urgent rounds: (kairos, tokio), one [`UrgentRound`] per round each.
fn urgent(args: &NetArgs) -> Result<(Vec<UrgentRound>, Vec<UrgentRound>), BenchError> {
    let groups = [
        Group {
            connections: args.bulk_connections as usize,
            load: Load::Requests {
                kind: Kind::Bulk,
                period: Duration::ZERO,
            },
        },
        Group {
            connections: args.control_connections as usize,
            load: Load::Requests {
                kind: Kind::Control,
                period: args.control_period,
            },
        },
    ];
    let workers = args.workers as usize;
    let kairos_name = format!("kairos-{}", args.urgency.name());
    let (mut k, mut t) = (Vec::new(), Vec::new());
    for r in 0..args.rounds {
        for kairos in [kairos_first(r), !kairos_first(r)] {
            let name = if kairos {
                kairos_name.as_str()
            } else {
                "tokio"
            };
            eprintln!("net: urgent round {}/{} on {name}", r + 1, args.rounds);
            let _guard = watchdog("urgent", r, name, args.duration);
            let server = if kairos {
                server::kairos(App::Urgent, workers, args.urgency)?
            } else {
                server::tokio(App::Urgent, workers)?
            };
            let measured = drive(name, server.addr, &groups, args.duration)?;
            server.stop();
            let round = UrgentRound {
                bulk: Traffic::of(&measured[0], args.duration),
                control: Traffic::of(&measured[1], args.duration),
            };
            if kairos { &mut k } else { &mut t }.push(round);
        }
    }
    Ok((k, t))
}

/// The idle rounds: (kairos, tokio), one child each per round.
fn idle_rounds(
    args: &NetArgs,
    connections: u64,
) -> Result<(Vec<IdleRow>, Vec<IdleRow>), BenchError> {
    let (mut k, mut t) = (Vec::new(), Vec::new());
    for r in 0..args.rounds {
        for kairos in [kairos_first(r), !kairos_first(r)] {
            let runtime = if kairos {
                IdleRuntime::Kairos
            } else {
                IdleRuntime::Tokio
            };
            eprintln!(
                "net: idle round {}/{} on {} ({connections} connections)",
                r + 1,
                args.rounds,
                runtime.name()
            );
            let row = idle::measure(runtime, connections, args.workers as usize)?;
            if kairos { &mut k } else { &mut t }.push(row);
        }
    }
    Ok((k, t))
}
