//! What runtime tracing costs while it records: `yield_many` and `ping_pong` (the shapes of
//! `sched-bench micro`'s rows) timed with tracing off and on, in alternating rounds in one
//! process, with the median of each and their ratio.
//!
//! ```text
//! cargo run --release -p kairos --example trace_overhead [-- ROUNDS [WORKERS]]
//! ```
//!
//! Each round runs each row twice, untraced and traced (`start_trace` before, `stop_trace`
//! after; the buffers are allocated and touched before the clock starts), in alternating order
//! (odd rounds traced first), so that a slow drift of the machine's load falls on both sides.
//! Printed per row: the median of the untraced and of the traced times, their ratio, and the
//! median of the per-round ratios (each traced run against the untraced one next to it), which
//! a shared machine's load swings disturb less. Defaults: 10 rounds, 2 workers.

use kairos::{Runtime, Sched};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// Tasks in `yield_many`.
const YIELD_TASKS: usize = 100;
/// Yields per task.
const YIELDS_PER_TASK: usize = 1_000;
/// Round trips in `ping_pong`.
const ROUND_TRIPS: usize = 20_000;
/// Trace buffer capacity per worker: room for every event of either row (300,000 events of
/// `yield_many` over the workers).
const CAPACITY: usize = 1 << 19;

/// A one-slot signal between two tasks.
#[derive(Clone, Default)]
struct Signal(Arc<Mutex<(u32, Option<Waker>)>>);

impl Signal {
    fn send(&self) {
        let waker = {
            let mut g = self.0.lock().unwrap();
            g.0 += 1;
            g.1.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    fn recv(&self) -> Recv<'_> {
        Recv(self)
    }
}

/// Waits for one `send`.
struct Recv<'a>(&'a Signal);

impl Future for Recv<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut g = (self.0).0.lock().unwrap();
        if g.0 > 0 {
            g.0 -= 1;
            Poll::Ready(())
        } else {
            g.1 = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

/// `YIELD_TASKS` tasks yield `YIELDS_PER_TASK` times each.
async fn yield_many() {
    let tasks: Vec<_> = (0..YIELD_TASKS)
        .map(|_| {
            kairos::spawn_with(Sched::default().name("yielder"), async {
                for _ in 0..YIELDS_PER_TASK {
                    kairos::yield_now().await;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
}

/// Two tasks signal each other `ROUND_TRIPS` times.
async fn ping_pong() {
    let (a, b) = (Signal::default(), Signal::default());
    let (a2, b2) = (a.clone(), b.clone());
    let pong = kairos::spawn_with(Sched::default().name("pong"), async move {
        for _ in 0..ROUND_TRIPS {
            a2.recv().await;
            b2.send();
        }
    });
    let ping = kairos::spawn_with(Sched::default().name("ping"), async move {
        for _ in 0..ROUND_TRIPS {
            a.send();
            b.recv().await;
        }
    });
    ping.await.unwrap();
    pong.await.unwrap();
}

/// One timed run of `row` (spawned from a task, so the work starts on a worker).
fn time<F: Future<Output = ()> + Send + 'static>(
    rt: &Runtime,
    traced: bool,
    row: fn() -> F,
) -> (Duration, u64) {
    if traced {
        rt.start_trace(CAPACITY).expect("no trace runs");
    }
    let start = Instant::now();
    rt.block_on(rt.spawn(row())).unwrap();
    let elapsed = start.elapsed();
    let events = if traced {
        let trace = rt.stop_trace().expect("trace runs");
        assert_eq!(trace.lost(), 0, "raise CAPACITY");
        trace.events().len() as u64
    } else {
        0
    };
    (elapsed, events)
}

/// The median of `v`.
fn median<T: PartialOrd + Copy>(v: &mut [T]) -> T {
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let workers: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2);
    let rt = Runtime::builder().workers(workers).build().unwrap();
    type Row = (&'static str, fn(&Runtime, bool) -> (Duration, u64));
    let rows: [Row; 2] = [
        ("yield_many", |rt, t| time(rt, t, yield_many)),
        ("ping_pong", |rt, t| time(rt, t, ping_pong)),
    ];
    println!(
        "| row | off (median) | on (median) | on / off | median of round ratios | events per traced run |"
    );
    println!("|---|--:|--:|--:|--:|--:|");
    for (name, run) in rows {
        let (mut off, mut on, mut ratios, mut events) = (Vec::new(), Vec::new(), Vec::new(), 0);
        run(&rt, false); // warm-up
        run(&rt, true);
        for round in 0..rounds {
            let traced_first = round % 2 == 1;
            let mut pair = [Duration::ZERO; 2];
            for traced in [traced_first, !traced_first] {
                let (d, n) = run(&rt, traced);
                pair[usize::from(traced)] = d;
                if traced {
                    events = n;
                }
            }
            off.push(pair[0]);
            on.push(pair[1]);
            ratios.push(pair[1].as_secs_f64() / pair[0].as_secs_f64());
        }
        let (off, on) = (median(&mut off), median(&mut on));
        println!(
            "| {name} | {:.2} ms | {:.2} ms | {:.3} | {:.3} | {events} |",
            off.as_secs_f64() * 1e3,
            on.as_secs_f64() * 1e3,
            on.as_secs_f64() / off.as_secs_f64(),
            median(&mut ratios)
        );
    }
}
