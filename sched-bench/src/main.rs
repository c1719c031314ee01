//! `sched-bench`: scheduling benchmarks for kairos.
//!
//! Subcommands:
//!
//! - `micro`: scheduler micro-benchmarks (spawn, yield, ping-pong, chained spawn), kairos FIFO
//!   against tokio, interleaved round by round in one process (see [`micro`]).
//! - `compare`: one workload on several backends, one table with run time, throughput and
//!   kairos' scheduler counters (see [`compare`]).
//! - `workloads`: the built-in workloads.
//!
//! Results go to stdout as Markdown-compatible tables, followed by how much of the machine's CPU
//! other processes took meanwhile (see [`machine`]); progress goes to stderr; `--json FILE` also
//! writes a machine-readable report. Exit status: 0 ok, 1 error, 2 bad usage (clap), 3 a
//! measurement hung (see [`watchdog`]).
#![warn(missing_docs)]

mod backend;
mod chan;
mod compare;
mod error;
mod exec;
mod json;
mod machine;
mod micro;
mod report;
mod stats;
mod table;
mod watchdog;
mod work;
mod workload;

use backend::Backend;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Scheduling benchmarks: kairos policies against tokio (and, later, Linux schedulers).
#[derive(Debug, Parser)]
#[command(name = "sched-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Micro-benchmarks: kairos FIFO vs tokio, same worker count, rounds interleaved.
    Micro(MicroArgs),
    /// Run one workload on several backends and print one comparison table.
    Compare(CompareArgs),
    /// List the built-in workloads.
    Workloads,
}

#[derive(Debug, Args)]
struct MicroArgs {
    /// Measured rounds per runtime (after one warm-up); the table shows their median.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    rounds: u32,
    /// Worker threads of each runtime.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=1024))]
    workers: u32,
    /// Run only these benchmarks (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<micro::Micro>,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Print every round's result and kairos' counters for it to stderr.
    #[arg(long, short)]
    verbose: bool,
    /// Override kairos' search rounds before an idle worker parks (Builder::spin_rounds;
    /// default: kairos' own default). For studying the spin/park trade-off; tokio is unaffected.
    #[arg(long, value_name = "N")]
    kairos_spin_rounds: Option<u32>,
}

#[derive(Debug, Args)]
struct CompareArgs {
    /// Workload to run (`sched-bench workloads` lists them).
    #[arg(long, default_value = "mixed-small")]
    workload: String,
    /// Measured rounds per backend (after one warm-up); the table shows their median.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    rounds: u32,
    /// Worker threads of each runtime.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=1024))]
    workers: u32,
    /// Backends to compare, comma-separated, in table order. Valid: kairos-fifo, kairos-edf,
    /// kairos-priority, kairos-fair, tokio (only kairos-fifo is implemented by kairos so far).
    #[arg(long, value_delimiter = ',', default_value = "kairos-fifo,tokio")]
    backends: Vec<Backend>,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Micro(a) => micro::run(&micro::MicroOpts {
            rounds: a.rounds as usize,
            workers: a.workers as usize,
            only: a.only,
            json: a.json,
            verbose: a.verbose,
            kairos_spin_rounds: a.kairos_spin_rounds,
        })
        .map(drop),
        Command::Compare(a) => compare::run(&compare::CompareOpts {
            workload: a.workload,
            rounds: a.rounds as usize,
            workers: a.workers as usize,
            backends: a.backends,
            json: a.json,
        })
        .map(drop),
        Command::Workloads => {
            let mut t = table::Table::new(["workload", "description"]).text_columns(2);
            for w in workload::BUILTIN {
                t.row([w.name, w.summary]);
            }
            print!("{t}");
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sched-bench: error: {e}");
            ExitCode::FAILURE
        }
    }
}
