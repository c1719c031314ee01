//! Fork-join of short computing tasks: what stealing costs a task that spawns a few jobs and
//! waits for them.
//!
//! ```text
//! cargo run -p kairos --release --example fork_join
//! ```
//!
//! On a 2-worker Fifo runtime one task spawns `jobs` tasks that each compute (spin) for `us`
//! microseconds, awaits them all, and does it again, 200 times per run; seven runs per
//! configuration. Each line prints the median time of one fork-join and the ideal (the work
//! divided by the two workers): the difference is what spreading the jobs costs, mostly how long
//! the second worker takes to start on them (its wake-up, then Fifo's patience before it steals
//! from a short queue: `executor/src/worker/patience.rs`; figures in `docs/benchmarks.md`).

use std::time::{Duration, Instant};

/// Fork-joins per run.
const ROUNDS: u32 = 200;
/// Runs per configuration (the median is printed).
const RUNS: usize = 7;

/// Computes for `d` without yielding.
fn spin(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

fn main() {
    let rt = kairos::Runtime::builder().workers(2).build().unwrap();
    println!("| jobs x work | median ms per fork-join | ideal ms | min | max |");
    println!("|---|--:|--:|--:|--:|");
    for (jobs, us) in [(4u64, 1000u64), (4, 100), (8, 50), (2, 1000)] {
        let mut times: Vec<f64> = (0..RUNS)
            .map(|_| {
                let start = Instant::now();
                rt.block_on(rt.spawn(async move {
                    for _ in 0..ROUNDS {
                        let handles: Vec<_> = (0..jobs)
                            .map(|_| kairos::spawn(async move { spin(Duration::from_micros(us)) }))
                            .collect();
                        for h in handles {
                            h.await.unwrap();
                        }
                    }
                }))
                .unwrap();
                start.elapsed().as_secs_f64() * 1e3 / f64::from(ROUNDS)
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let ideal = (jobs * us) as f64 / 2.0 / 1000.0;
        println!(
            "| {jobs} x {us} µs | {:.3} | {ideal:.3} | {:.3} | {:.3} |",
            times[RUNS / 2],
            times[0],
            times[RUNS - 1]
        );
    }
}
