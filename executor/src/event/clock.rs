//! The runtime's one clock source: wall time (`now_ns`), the poll stamps' fast clock
//! (`fast_ns`, differences only) and the calling worker's CPU time (`thread_cpu_ns`), all in
//! integer nanoseconds.
//!
//! Each reads the installed sink's clock first (the simulator's virtual clock), else the OS:
//! `CLOCK_MONOTONIC` (read directly, as `std::time::Instant` reads it) from a process-wide
//! epoch, the time-stamp counter on a line calibrated against it (`fast_clock.rs`), and
//! `CLOCK_THREAD_CPUTIME_ID`. Every other module reads time through here.

use std::sync::OnceLock;

/// The clock's epoch on `sys::os_monotonic_ns`: the first time it was read in this process.
#[inline]
fn epoch_ns() -> u64 {
    static EPOCH: OnceLock<u64> = OnceLock::new();
    *EPOCH.get_or_init(crate::sys::os_monotonic_ns)
}

/// Whether the installed sink provides the clock (the simulator: time is virtual, and real
/// I/O, which waits on the OS, cannot take part).
#[inline]
pub(crate) fn is_virtual() -> bool {
    super::sink_now().is_some()
}

/// Nanoseconds since the epoch, now (the sink's clock if it provides one).
#[inline]
pub(crate) fn now_ns() -> u64 {
    if let Some(now) = super::sink_now() {
        return now;
    }
    os_now_ns()
}

/// Nanoseconds for a poll's stamps (ready, start, end: `worker/`, `coop.rs`), from the CPU's
/// counter (`fast_clock`), or the sink's clock if it provides one. Only the difference of two
/// `fast_ns` readings means something: never compare one with [`now_ns`].
#[inline]
pub(crate) fn fast_ns() -> u64 {
    if let Some(now) = super::sink_now() {
        return now;
    }
    super::fast_clock::now_ns()
}

/// Nanoseconds since the epoch on the OS's monotonic clock, whatever sink is installed (for a
/// sink that time-stamps events itself: runtime tracing).
#[inline]
pub(crate) fn os_now_ns() -> u64 {
    // 2^64 ns is 584 years of uptime. The epoch is read first, so the difference is never
    // negative.
    let epoch = epoch_ns();
    crate::sys::os_monotonic_ns().saturating_sub(epoch)
}

/// A raw time stamp: the CPU's time-stamp counter where there is one (x86-64's `rdtsc`, a few
/// nanoseconds, where `clock_gettime` through the vDSO costs tens), else [`os_now_ns`]. Its unit
/// is the counter's; `trace/ticks.rs` converts stamps to ns. Go's execution tracer stamps its
/// events the same way (`cputicks`).
#[inline]
pub(crate) fn ticks() -> u64 {
    #[cfg(all(target_arch = "x86_64", not(loom)))]
    {
        // SAFETY: `rdtsc` has no preconditions; it reads the time-stamp counter.
        #[allow(unused_unsafe)]
        unsafe {
            core::arch::x86_64::_rdtsc()
        }
    }
    #[cfg(not(all(target_arch = "x86_64", not(loom))))]
    {
        os_now_ns()
    }
}

/// The calling thread's CPU time in ns (the sink's clock of the stepping worker if it provides
/// one; else `CLOCK_THREAD_CPUTIME_ID`, a system call of ~100-300 ns, or the monotonic clock
/// where there is none).
pub(crate) fn thread_cpu_ns() -> u64 {
    if let Some(cpu) = super::sink_thread_cpu() {
        return cpu;
    }
    crate::sys::os_thread_cpu_ns().unwrap_or_else(now_ns)
}
