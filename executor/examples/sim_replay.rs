//! Runs one simulated scenario from a seed and prints its digest; optionally writes its trace.
//!
//! ```text
//! cargo run -p kairos --example sim_replay -- [--seed N] [--workers M] [--trace FILE.txt] [--json FILE.jsonl]
//! ```
//!
//! The scenario: 4 virtual workers under `Edf` (by default), 200 client tasks that each send
//! requests through a `kairos::sync::mpsc` channel to 4 server tasks, sleep a seeded random time,
//! do some `work`, and spawn a short-deadline child; the servers reply through
//! `kairos::sync::oneshot` channels. Same seed, same
//! binary: the same digest in every process (`scripts/test.sh` checks it across two processes).

use kairos::sim::{self, Sim};
use kairos::sync::{mpsc, oneshot};
use kairos::{Policy, Sched};
use std::time::Duration;

/// The scenario; returns the sum of the replies (checked by the caller).
fn scenario(sim: &mut Sim) -> u64 {
    sim.block_on(async {
        let (servers, inboxes): (Vec<_>, Vec<_>) = (0..4)
            .map(|_| mpsc::unbounded_channel::<(u64, oneshot::Sender<u64>)>())
            .unzip();
        let server_tasks: Vec<_> = inboxes
            .into_iter()
            .map(|mut inbox| {
                kairos::spawn(async move {
                    while let Some((x, reply)) = inbox.recv().await {
                        kairos::work(Duration::from_micros(15)).await;
                        let _ = reply.send(x * 2);
                    }
                })
            })
            .collect();
        let clients: Vec<_> = (0..200u64)
            .map(|i| {
                let server = servers[(i % 4) as usize].clone();
                let deadline = Duration::from_micros(200 + (i % 13) * 50);
                kairos::spawn_with(Sched::default().deadline(deadline), async move {
                    let mut rng = sim::rng();
                    kairos::time::sleep(Duration::from_micros(rng.below(500))).await;
                    let (reply_tx, reply) = oneshot::channel();
                    server
                        .send((i, reply_tx))
                        .expect("the servers outlive the clients");
                    let v = reply.await.unwrap_or(0);
                    kairos::work(Duration::from_micros(10 + rng.below(40))).await;
                    let child = kairos::spawn_with(
                        Sched::default().deadline(Duration::from_micros(20)),
                        async move { v + 1 },
                    );
                    child.await.unwrap_or(0)
                })
            })
            .collect();
        let mut sum = 0;
        for c in clients {
            sum += c.await.unwrap_or(0);
        }
        // The clients' senders are gone with them: dropping these ends the servers' loops.
        drop(servers);
        for t in server_tasks {
            let _ = t.await;
        }
        sim::annotate("sum", sum);
        sum
    })
}

fn main() {
    let mut seed = 7u64;
    let mut workers = 4usize;
    let mut trace_path = None;
    let mut json_path = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{a} needs a value")))
        };
        match a.as_str() {
            "--seed" => {
                seed = value()
                    .parse()
                    .unwrap_or_else(|_| usage("--seed takes an integer"))
            }
            "--workers" => {
                workers = value()
                    .parse()
                    .unwrap_or_else(|_| usage("--workers takes an integer"))
            }
            "--trace" => trace_path = Some(value()),
            "--json" => json_path = Some(value()),
            "-h" | "--help" => help(),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    let mut sim = sim::Builder::new()
        .seed(seed)
        .workers(workers)
        .policy(Policy::Edf)
        .build()
        .unwrap_or_else(|e| usage(&e.to_string()));
    let sum = scenario(&mut sim);
    // Each client i gets 2i + 1 back.
    let expected: u64 = (0..200u64).map(|i| 2 * i + 1).sum();
    assert_eq!(sum, expected, "lost or wrong replies (seed {seed})");
    println!(
        "seed {seed} workers {workers} digest {} events {} virtual_ns {}",
        sim.digest(),
        sim.events(),
        sim.elapsed().as_nanos()
    );
    let trace = sim.trace();
    if let Some(p) = trace_path {
        let f = std::fs::File::create(&p).unwrap_or_else(|e| usage(&format!("{p}: {e}")));
        trace
            .write_text(std::io::BufWriter::new(f))
            .unwrap_or_else(|e| usage(&format!("{p}: {e}")));
    }
    if let Some(p) = json_path {
        let f = std::fs::File::create(&p).unwrap_or_else(|e| usage(&format!("{p}: {e}")));
        trace
            .write_json_lines(std::io::BufWriter::new(f))
            .unwrap_or_else(|e| usage(&format!("{p}: {e}")));
    }
}

/// `--help`: what the example runs and its options, on stdout; exit 0.
fn help() -> ! {
    println!(
        "sim_replay: runs one simulated scenario (200 clients, 4 servers, Edf on 4 virtual \
         workers by default) from a seed and prints its digest.\n\
         Same seed, same binary: the same digest in every process.\n\n\
         usage: sim_replay [--seed N] [--workers M] [--trace FILE.txt] [--json FILE.jsonl]\n\n\
         options:\n  \
           --seed N            seed of the run (default 7)\n  \
           --workers M         virtual workers (default 4)\n  \
           --trace FILE.txt    write the trace as text, one event per line\n  \
           --json FILE.jsonl   write the trace as JSON lines\n  \
           -h, --help          this help"
    );
    std::process::exit(0)
}

/// A bad command line: the problem and the usage line on stderr; exit 2.
fn usage(msg: &str) -> ! {
    if !msg.is_empty() {
        eprintln!("sim_replay: {msg}");
    }
    eprintln!("usage: sim_replay [--seed N] [--workers M] [--trace FILE.txt] [--json FILE.jsonl]");
    std::process::exit(2)
}
