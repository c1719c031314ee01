//! Two measurements for `docs/benchmarks.md` ("I/O"): does a reactor cost timer precision, and
//! does `spawn_blocking` keep a worker free?
//!
//! 1. Timer lateness on one idle worker: `sleep(1 ms)` repeated, with no socket (the timer
//!    waiter parks on its condition variable) and with one idle UDP socket (the reactor exists:
//!    the waiter blocks in epoll with a `timerfd` timeout). Rounds alternate the two, so machine
//!    noise hits both alike; each line prints the median and p99 lateness of one round.
//! 2. The issue's case: one worker, a 1 ms sleep beside a 200 ms blocking call run through
//!    `spawn_blocking`: how long the sleep took.
//!
//! ```text
//! cargo run --release -p kairos --example io_timers -- [rounds] [sleeps per round]
//! ```

use std::time::{Duration, Instant};

/// Median and p99 lateness (µs) of `n` sleeps of 1 ms on `rt`.
fn lateness(rt: &kairos::Runtime, n: usize) -> (f64, f64) {
    let mut late: Vec<u64> = rt.block_on(async move {
        kairos::spawn(async move {
            let mut late = Vec::with_capacity(n);
            for _ in 0..n {
                let start = Instant::now();
                kairos::time::sleep(Duration::from_millis(1)).await;
                late.push((start.elapsed() - Duration::from_millis(1)).as_nanos() as u64);
            }
            late
        })
        .await
        .unwrap()
    });
    late.sort_unstable();
    let at = |q: f64| late[((late.len() - 1) as f64 * q) as usize] as f64 / 1000.0;
    (at(0.5), at(0.99))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(500);

    let plain = kairos::Runtime::builder().workers(1).build().unwrap();
    let with_io = kairos::Runtime::builder().workers(1).build().unwrap();
    let _socket =
        with_io.block_on(async { kairos::net::UdpSocket::bind("127.0.0.1:0").await.unwrap() });
    println!("sleep(1 ms) lateness, 1 worker, {n} sleeps per round (µs):");
    for round in 1..=rounds {
        let (a50, a99) = lateness(&plain, n);
        let (b50, b99) = lateness(&with_io, n);
        println!(
            "round {round}: no reactor median {a50:.1} p99 {a99:.1} | reactor (epoll + timerfd) median {b50:.1} p99 {b99:.1}"
        );
    }

    let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    let slept = rt.block_on(async {
        let blocking = kairos::spawn_blocking(|| std::thread::sleep(Duration::from_millis(200)));
        let sleeper = kairos::spawn(async {
            let start = Instant::now();
            kairos::time::sleep(Duration::from_millis(1)).await;
            start.elapsed()
        });
        let slept = sleeper.await.unwrap();
        blocking.await.unwrap();
        slept
    });
    println!(
        "1 ms sleep beside a 200 ms spawn_blocking call, 1 worker: {:.3} ms",
        slept.as_secs_f64() * 1000.0
    );
}
