//! Runs one simulated scenario from a seed and prints its digest; optionally writes its trace.
//!
//! ```text
//! cargo run -p kairos --example sim_replay -- [--seed N] [--workers M] [--trace FILE.txt] [--json FILE.jsonl]
//! ```
//!
//! The scenario: 4 virtual workers under `Edf` (by default), 200 client tasks that each send
//! requests through a channel to 4 server tasks, sleep a seeded random time, do some `work`, and
//! spawn a short-deadline child; the servers reply through one-shot slots. Same seed, same
//! binary: the same digest in every process (`scripts/test.sh` checks it across two processes).

use kairos::sim::{self, Sim};
use kairos::{Policy, Sched};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// A minimal unbounded multi-producer channel (one receiver).
struct Chan<T> {
    inner: Mutex<(VecDeque<T>, Option<Waker>, bool)>,
}

impl<T> Chan<T> {
    fn new() -> Arc<Chan<T>> {
        Arc::new(Chan {
            inner: Mutex::new((VecDeque::new(), None, false)),
        })
    }

    fn send(&self, v: T) {
        let mut g = self.inner.lock().unwrap();
        g.0.push_back(v);
        if let Some(w) = g.1.take() {
            w.wake();
        }
    }

    fn close(&self) {
        let mut g = self.inner.lock().unwrap();
        g.2 = true;
        if let Some(w) = g.1.take() {
            w.wake();
        }
    }

    fn recv(self: &Arc<Self>) -> Recv<T> {
        Recv(self.clone())
    }
}

struct Recv<T>(Arc<Chan<T>>);

impl<T> Future for Recv<T> {
    type Output = Option<T>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut g = self.0.inner.lock().unwrap();
        if let Some(v) = g.0.pop_front() {
            return Poll::Ready(Some(v));
        }
        if g.2 {
            return Poll::Ready(None);
        }
        g.1 = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// The scenario; returns the sum of the replies (checked by the caller).
fn scenario(sim: &mut Sim) -> u64 {
    sim.block_on(async {
        let servers: Vec<_> = (0..4)
            .map(|_| Chan::<(u64, Arc<Chan<u64>>)>::new())
            .collect();
        let server_tasks: Vec<_> = servers
            .iter()
            .map(|inbox| {
                let inbox = inbox.clone();
                kairos::spawn(async move {
                    while let Some((x, reply)) = inbox.recv().await {
                        kairos::work(Duration::from_micros(15)).await;
                        reply.send(x * 2);
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
                    let reply = Chan::new();
                    server.send((i, reply.clone()));
                    let v = reply.recv().await.unwrap_or(0);
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
        for s in &servers {
            s.close();
        }
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
