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

/// The two kinds of request of the urgent scenario, one `T` each.
#[derive(Clone, Copy, Debug, Serialize)]
struct Urgent<T> {
    /// Bulk requests.
    bulk: T,
    /// Control requests.
    control: T,
}

/// One urgent round on one runtime.
type UrgentRound = Urgent<Traffic>;

/// `net --json`: the settings, one object per scenario that ran, the goals, the notes and how
/// busy the machine was. Serialised by derived `Serialize`.
#[derive(Debug, Serialize)]
struct NetJson {
    /// `--workers`.
    workers: usize,
    /// `--rounds`.
    rounds: u32,
    /// `--duration`, seconds.
    duration_s: f64,
    /// The echo scenario, if it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    echo: Option<EchoJson>,
    /// The urgent scenario, if it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    urgent: Option<UrgentJson>,
    /// The idle scenario, if it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    idle: Option<IdleJson>,
    /// The goal lines.
    goals: Vec<Goal>,
    /// The notes printed under them.
    notes: Vec<String>,
    /// How busy the machine was (`null` if unknown).
    busy: Option<String>,
}

/// The echo scenario in `net --json`.
#[derive(Debug, Serialize)]
struct EchoJson {
    /// `--connections`.
    connections: u32,
    /// `--message-bytes`.
    message_bytes: u32,
    /// kairos' medians.
    kairos: TrafficMedian,
    /// tokio's medians.
    tokio: TrafficMedian,
    /// kairos' rounds.
    kairos_rounds: Vec<Traffic>,
    /// tokio's rounds.
    tokio_rounds: Vec<Traffic>,
}

/// The urgent scenario in `net --json`.
#[derive(Debug, Serialize)]
struct UrgentJson {
    /// `--urgency`.
    kairos_policy: &'static str,
    /// `--bulk-connections`.
    bulk_connections: u32,
    /// `--control-connections`.
    control_connections: u32,
    /// `--control-period`, seconds.
    control_period_s: f64,
    /// kairos' medians.
    kairos: Urgent<TrafficMedian>,
    /// tokio's medians.
    tokio: Urgent<TrafficMedian>,
    /// kairos' rounds.
    kairos_rounds: Vec<UrgentRound>,
    /// tokio's rounds.
    tokio_rounds: Vec<UrgentRound>,
}

/// The idle scenario in `net --json`.
#[derive(Debug, Serialize)]
struct IdleJson {
    /// Idle connections each child held.
    connections: u64,
    /// kairos' median resident bytes per connection.
    kairos_bytes_per_connection: f64,
    /// tokio's.
    tokio_bytes_per_connection: f64,
    /// kairos' rounds.
    kairos_rounds: Vec<IdleRowJson>,
    /// tokio's rounds.
    tokio_rounds: Vec<IdleRowJson>,
}

/// An [`IdleRow`] as its JSON object: its fields plus [`IdleRow::bytes_per_connection`].
#[derive(Debug, Serialize)]
struct IdleRowJson {
    /// The row.
    #[serde(flatten)]
    row: IdleRow,
    /// Resident bytes per connection.
    bytes_per_connection: f64,
}

impl IdleRowJson {
    /// The JSON objects of `rows`.
    fn of(rows: &[IdleRow]) -> Vec<IdleRowJson> {
        rows.iter()
            .map(|&row| IdleRowJson {
                row,
                bytes_per_connection: row.bytes_per_connection(),
            })
            .collect()
    }
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
    let mut report = NetJson {
        workers,
        rounds: args.rounds,
        duration_s: args.duration.as_secs_f64(),
        echo: None,
        urgent: None,
        idle: None,
        goals: Vec::new(),
        notes: Vec::new(),
        busy: None,
    };
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
        report.echo = Some(EchoJson {
            connections: args.connections,
            message_bytes: args.message_bytes,
            kairos: km,
            tokio: tm,
            kairos_rounds: k,
            tokio_rounds: t,
        });
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
        report.urgent = Some(UrgentJson {
            kairos_policy: args.urgency.name(),
            bulk_connections: args.bulk_connections,
            control_connections: args.control_connections,
            control_period_s: args.control_period.as_secs_f64(),
            kairos: Urgent {
                bulk: kb,
                control: kc,
            },
            tokio: Urgent {
                bulk: tb,
                control: tc,
            },
            kairos_rounds: k,
            tokio_rounds: t,
        });
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
        report.idle = Some(IdleJson {
            connections,
            kairos_bytes_per_connection: kb,
            tokio_bytes_per_connection: tb,
            kairos_rounds: IdleRowJson::of(&k),
            tokio_rounds: IdleRowJson::of(&t),
        });
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
        report.goals = goals;
        report.notes = notes;
        report.busy = busy;
        out.write_json("net", json::to_value(report))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The document has the schema version and the settings; a scenario that did not run
    /// leaves no key, an idle row's fields are flat beside its bytes per connection, and an
    /// unknown machine load is `null`.
    #[test]
    fn json_report_keeps_its_keys() {
        let traffic = Traffic {
            per_second: 10.0,
            latency: Percentiles::default(),
        };
        let row = IdleRow {
            connections: 2,
            rss_ready: 100,
            rss_connected: 300,
        };
        let report = NetJson {
            workers: 2,
            rounds: 1,
            duration_s: 0.5,
            echo: None,
            urgent: Some(UrgentJson {
                kairos_policy: "edf",
                bulk_connections: 3,
                control_connections: 4,
                control_period_s: 0.01,
                kairos: Urgent {
                    bulk: TrafficMedian::of(&[traffic]),
                    control: TrafficMedian::of(&[traffic]),
                },
                tokio: Urgent {
                    bulk: TrafficMedian::of(&[traffic]),
                    control: TrafficMedian::of(&[traffic]),
                },
                kairos_rounds: vec![Urgent {
                    bulk: traffic,
                    control: traffic,
                }],
                tokio_rounds: Vec::new(),
            }),
            idle: Some(IdleJson {
                connections: 2,
                kairos_bytes_per_connection: 100.0,
                tokio_bytes_per_connection: f64::NAN,
                kairos_rounds: IdleRowJson::of(&[row]),
                tokio_rounds: Vec::new(),
            }),
            goals: vec![Goal::new("idle bytes/connection", 1.0, 2.0, 1.0, false)],
            notes: Vec::new(),
            busy: None,
        };
        let v = json::written_and_read("net", report);
        assert_eq!(
            (v["workers"].as_u64(), v["duration_s"].as_f64()),
            (Some(2), Some(0.5))
        );
        assert!(v.get("echo").is_none() && v["busy"].is_null());
        let u = &v["urgent"];
        assert_eq!(
            (&u["kairos_policy"], &u["control_connections"]),
            (&"edf".into(), &4.into())
        );
        assert_eq!(u["kairos"]["control"]["per_second"]["median"], 10.0);
        assert_eq!(u["kairos_rounds"][0]["bulk"]["latency"]["p99_ns"], 0);
        let i = &v["idle"];
        assert!(i["tokio_bytes_per_connection"].is_null());
        let r = &i["kairos_rounds"][0];
        assert_eq!(
            (
                r["rss_connected"].as_u64(),
                r["bytes_per_connection"].as_f64()
            ),
            (Some(300), Some(100.0))
        );
        assert_eq!(v["goals"][0]["ratio"], 0.5);
    }
}
