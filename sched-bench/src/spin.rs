//! `spin`: the clocks every backend reads and the busy loops that stand for CPU work.
//!
//! One module for every backend, so a job's work means the same thing on each:
//!
//! - [`cpu_until`] spins until the calling thread has used `d` more CPU time
//!   (`CLOCK_THREAD_CPUTIME_ID`): preemption stretches the job instead of shortening the work,
//!   and no calibration is needed. The kernel backend's `Run` events use it whole; the async
//!   backends call [`cpu_slice`] repeatedly with a `yield_now().await` between slices
//!   (`async_backend/jobs.rs`), because an async task can give its worker up only at an await.
//! - [`wall_until`] spins until `CLOCK_MONOTONIC` reaches an instant (the `Runtime` event).
//! - [`cpu`] spins a fixed amount of thread CPU time with no end bound (the periodic
//!   comparison's job bodies and background slices).
//! - [`wall`] spins a fixed wall time (the throughput workloads' job bodies, `workload.rs`).
//!   Unlike `kairos::work(d)`, which counts thread CPU time in slices with cooperative checks
//!   between them (and takes virtual time under simulation), this loop is the same on every
//!   runtime: the calling worker thread is busy for `d` and cannot run other tasks.
//!
//! The bounded loops return [`Stopped`] once `CLOCK_MONOTONIC` passes the run's end, so no job
//! outlives its run.

use std::time::{Duration, Instant};

/// The run ended while a loop was spinning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stopped;

/// `CLOCK_MONOTONIC` now, ns.
#[inline]
pub fn mono_ns() -> u64 {
    clock_ns(libc::CLOCK_MONOTONIC)
}

/// CPU time of the calling thread, ns.
#[inline]
pub fn thread_cpu_ns() -> u64 {
    clock_ns(libc::CLOCK_THREAD_CPUTIME_ID)
}

fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; both clocks used here exist on Linux.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    debug_assert_eq!(rc, 0, "clock_gettime({clock}) failed");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// `d` in ns, saturating.
#[inline]
pub fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Keeps the calling thread busy for `d` of wall time (not CPU time: if the OS deschedules the
/// thread meanwhile, the loop ends early in CPU terms, which is what a real-time deadline sees).
#[inline(never)]
pub fn wall(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// Spins until the calling thread has used `ns` more nanoseconds of CPU time.
#[inline(never)]
pub fn cpu(ns: u64) {
    let start = thread_cpu_ns();
    while thread_cpu_ns().wrapping_sub(start) < ns {
        std::hint::spin_loop();
    }
}

/// Spins until the calling thread has used `d` more CPU time, or `CLOCK_MONOTONIC` reaches
/// `end`.
///
/// # Errors
/// [`Stopped`] if `end` came first.
pub fn cpu_until(d: Duration, end: u64) -> Result<(), Stopped> {
    cpu_slice(nanos(d), end).map(|_| ())
}

/// Spins until the calling thread has used `want` ns more CPU time, or `CLOCK_MONOTONIC`
/// reaches `end`; returns the CPU time used (≥ `want`), measured on this thread.
///
/// # Errors
/// [`Stopped`] if `end` came first.
pub fn cpu_slice(want: u64, end: u64) -> Result<u64, Stopped> {
    let c0 = thread_cpu_ns();
    loop {
        let used = thread_cpu_ns().saturating_sub(c0);
        if used >= want {
            return Ok(used);
        }
        if mono_ns() >= end {
            return Err(Stopped);
        }
        std::hint::spin_loop();
    }
}

/// What [`wall_slice`] saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WallSlice {
    /// `until` was reached.
    Done,
    /// The slice ended first; spin again after yielding.
    More,
}

/// Spins until `CLOCK_MONOTONIC` reaches `until`, or the run ends.
///
/// # Errors
/// [`Stopped`] if `end` came first.
pub fn wall_until(until: u64, end: u64) -> Result<(), Stopped> {
    wall_slice(until, end, u64::MAX).map(|_| ())
}

/// Spins until `CLOCK_MONOTONIC` reaches `until` ([`WallSlice::Done`]) or `slice` ns have
/// passed ([`WallSlice::More`]).
///
/// # Errors
/// [`Stopped`] if the run's `end` came first.
pub fn wall_slice(until: u64, end: u64, slice: u64) -> Result<WallSlice, Stopped> {
    let slice_end = mono_ns().saturating_add(slice);
    loop {
        let now = mono_ns();
        if now >= until {
            return Ok(WallSlice::Done);
        }
        if now >= end {
            return Err(Stopped);
        }
        if now >= slice_end {
            return Ok(WallSlice::More);
        }
        std::hint::spin_loop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_spins_at_least_the_requested_time() {
        let start = Instant::now();
        wall(Duration::from_micros(200));
        assert!(start.elapsed() >= Duration::from_micros(200));
    }

    #[test]
    fn cpu_uses_at_least_the_requested_cpu_time() {
        let c0 = thread_cpu_ns();
        cpu(100_000);
        assert!(thread_cpu_ns() - c0 >= 100_000);
        assert!(cpu_slice(50_000, u64::MAX).unwrap() >= 50_000);
        assert_eq!(cpu_until(Duration::from_micros(10), u64::MAX), Ok(()));
    }

    #[test]
    fn bounded_loops_stop_at_the_end() {
        // An end already in the past stops a loop that has work left.
        assert_eq!(cpu_until(Duration::from_secs(3600), 0), Err(Stopped));
        assert_eq!(wall_until(u64::MAX, 0), Err(Stopped));
        // A target already reached returns at once, before the end is looked at.
        assert_eq!(wall_until(0, 0), Ok(()));
        assert_eq!(wall_slice(0, 0, 0), Ok(WallSlice::Done));
        assert_eq!(wall_slice(u64::MAX, u64::MAX, 0), Ok(WallSlice::More));
    }

    #[test]
    fn nanos_saturates() {
        assert_eq!(nanos(Duration::from_micros(3)), 3_000);
        assert_eq!(nanos(Duration::MAX), u64::MAX);
    }
}
