//! `work`: simulated CPU work, a busy loop on the clock.
//!
//! Stands in for `kairos::work(d)` (planned: it will spin for `d` on the real runtime and advance
//! the virtual clock in simulation). Until then the benchmarks spin here, which is the same on
//! every runtime: the calling worker thread is busy for `d` and cannot run other tasks.

use std::time::{Duration, Instant};

/// Keeps the calling thread busy for `d` of wall time (not CPU time: if the OS deschedules the
/// thread meanwhile, the loop ends early in CPU terms, which is what a real-time deadline sees).
#[inline(never)]
pub fn work(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

#[cfg(test)]
mod tests {
    use super::work;
    use std::time::{Duration, Instant};

    #[test]
    fn spins_at_least_the_requested_time() {
        let start = Instant::now();
        work(Duration::from_micros(200));
        assert!(start.elapsed() >= Duration::from_micros(200));
    }
}
