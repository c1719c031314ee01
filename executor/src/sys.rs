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

/// The calling thread's CPU time in ns (`CLOCK_THREAD_CPUTIME_ID`, a system call), if the OS
/// has a thread CPU clock. Read through `event::clock::thread_cpu_ns`, which the simulator
/// overrides.
#[cfg(target_os = "linux")]
pub(crate) fn os_thread_cpu_ns() -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant the kernel knows.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64)
}

/// Without a thread CPU clock: none.
#[cfg(not(target_os = "linux"))]
pub(crate) fn os_thread_cpu_ns() -> Option<u64> {
    None
}
