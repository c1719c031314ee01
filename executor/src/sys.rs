//! Thin wrappers over OS calls the workers make about themselves.

/// Sets the calling thread's timer slack to 1 ns (Linux `prctl(PR_SET_TIMERSLACK)`).
///
/// The kernel may delay a timed sleep's wake-up by the thread's timer slack to batch wake-ups;
/// the default is 50 µs, which would dwarf kairos' timer precision. 1 ns is the smallest value
/// (0 means "reset to the default"). Failure is ignored: the timers still work, with the
/// default slack. Real-time (SCHED_FIFO/RR) threads get no slack from the kernel anyway.
pub(crate) fn set_min_timer_slack() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_TIMERSLACK takes one integer argument and only affects the calling thread.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
    }
}

/// The calling thread's timer slack in ns, if the OS reports one.
#[cfg(all(test, not(loom)))]
pub(crate) fn timer_slack() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: PR_GET_TIMERSLACK takes no argument and returns the slack.
        let slack = unsafe { libc::prctl(libc::PR_GET_TIMERSLACK, 0, 0, 0, 0) };
        u64::try_from(slack).ok()
    }
    #[cfg(not(target_os = "linux"))]
    None
}

#[cfg(all(test, not(loom), target_os = "linux"))]
mod tests {
    #[test]
    fn timer_slack_is_set_to_one_nanosecond() {
        std::thread::spawn(|| {
            super::set_min_timer_slack();
            assert_eq!(super::timer_slack(), Some(1));
        })
        .join()
        .unwrap();
    }
}

/// The calling thread's CPU time in ns (`CLOCK_THREAD_CPUTIME_ID`; a system call, ~100-300 ns).
/// Falls back to the monotonic clock where there is none.
/// Under a simulation: the stepping virtual worker's consumed time.
#[cfg(target_os = "linux")]
pub(crate) fn thread_cpu_ns() -> u64 {
    if let Some(cpu) = crate::sim::hook::virtual_cpu() {
        return cpu;
    }
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant the kernel knows.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return crate::time::now_ns();
    }
    (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64
}

/// Without a thread CPU clock: the monotonic clock.
#[cfg(not(target_os = "linux"))]
pub(crate) fn thread_cpu_ns() -> u64 {
    if let Some(cpu) = crate::sim::hook::virtual_cpu() {
        return cpu;
    }
    crate::time::now_ns()
}
