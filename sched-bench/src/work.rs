//! `work`: simulated CPU work, a busy loop on the clock.
//!
//! The throughput workloads (`workload.rs`) run the same job bodies on every backend, so they
//! spin here rather than in `kairos::work(d)`, which counts thread CPU time in slices with
//! cooperative checks between them (and takes virtual time under simulation). This loop is the
//! same on every runtime: the calling worker thread is busy for `d` and cannot run other tasks.
//! The real-time comparison's kairos jobs use `kairos::work` (`rt_compare/`).

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
