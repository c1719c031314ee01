//! Thin wrappers over OS calls the workers make about themselves, and the CPU latency request
//! a runtime (or a program) can hold ([`CpuLatencyQos`]).

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

/// `clock_gettime(clock)` in ns, `None` if the call fails.
#[cfg(target_os = "linux")]
#[inline]
fn clock_ns(clock: libc::clockid_t) -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock ids passed are constants the kernel
    // knows.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    (rc == 0).then(|| {
        (ts.tv_sec as u64)
            .wrapping_mul(1_000_000_000)
            .wrapping_add(ts.tv_nsec as u64)
    })
}

/// `CLOCK_MONOTONIC` in ns since some fixed point, read directly (what `std::time::Instant`
/// reads, without its `Duration` arithmetic). Read through `event::clock::now_ns`.
#[cfg(target_os = "linux")]
#[inline]
pub(crate) fn os_monotonic_ns() -> u64 {
    clock_ns(libc::CLOCK_MONOTONIC).unwrap_or(0)
}

/// Elsewhere: `std::time::Instant`, from its first read.
#[cfg(not(target_os = "linux"))]
pub(crate) fn os_monotonic_ns() -> u64 {
    static BASE: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    BASE.get_or_init(std::time::Instant::now)
        .elapsed()
        .as_nanos() as u64
}

/// The calling thread's CPU time in ns (`CLOCK_THREAD_CPUTIME_ID`, a system call), if the OS
/// has a thread CPU clock. Read through `event::clock::thread_cpu_ns`, which the simulator
/// overrides.
#[cfg(target_os = "linux")]
pub(crate) fn os_thread_cpu_ns() -> Option<u64> {
    clock_ns(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// Without a thread CPU clock: none.
#[cfg(not(target_os = "linux"))]
pub(crate) fn os_thread_cpu_ns() -> Option<u64> {
    None
}

/// The device through which a process asks Linux to keep every CPU's wake-up from idle within a
/// bound (the kernel's "CPU latency QoS", `Documentation/power/pm_qos_interface.rst`): the
/// request holds while the file stays open, and the kernel applies the smallest of all open
/// requests to every CPU.
pub(crate) const CPU_LATENCY_QOS_DEVICE: &str = "/dev/cpu_dma_latency";

/// A request to Linux to keep every CPU's wake-up from idle within a bound (the kernel's CPU
/// latency QoS, through `/dev/cpu_dma_latency`, as cyclictest makes while it runs), held until
/// dropped. [`Builder::cpu_latency_qos`](crate::Builder::cpu_latency_qos) holds one for a
/// runtime's lifetime; this is the same request for as long as a program wants it, for threads
/// that are not a runtime's too (the kernel applies the smallest open request to every CPU).
///
/// ```
/// use std::time::Duration;
/// match kairos::CpuLatencyQos::hold(Duration::ZERO) {
///     Ok(request) => drop(request), // withdrawn here
///     Err(e) => eprintln!("{e}"),   // writing the device needs root
/// }
/// ```
#[derive(Debug)]
pub struct CpuLatencyQos {
    /// The open device; closing it withdraws the request.
    _device: std::fs::File,
}

impl CpuLatencyQos {
    /// Asks the kernel to keep every CPU's exit latency from idle at most `limit` (in whole
    /// microseconds, rounded down, at most `i32::MAX`) until the returned request is dropped.
    ///
    /// # Errors
    /// The OS error opening or writing `/dev/cpu_dma_latency`: without write access (it is
    /// root's by default), or on a system without it.
    pub fn hold(limit: std::time::Duration) -> std::io::Result<CpuLatencyQos> {
        use std::io::Write;
        let limit_us = i32::try_from(limit.as_micros()).unwrap_or(i32::MAX);
        let mut device = std::fs::OpenOptions::new()
            .write(true)
            .open(CPU_LATENCY_QOS_DEVICE)?;
        // The device takes the bound as a binary native-endian 32-bit integer.
        device.write_all(&limit_us.to_ne_bytes())?;
        Ok(CpuLatencyQos { _device: device })
    }
}

/// The CPU latency bound in force now (µs), as the device reports it (the smallest open request,
/// or the kernel's default when none is open).
#[cfg(all(test, not(loom)))]
pub(crate) fn cpu_latency_qos_in_force() -> std::io::Result<i32> {
    let bytes = std::fs::read(CPU_LATENCY_QOS_DEVICE)?;
    let bytes: [u8; 4] = bytes
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| std::io::Error::other("short read"))?;
    Ok(i32::from_ne_bytes(bytes))
}

/// Locks every page of the process in RAM, now and in the future:
/// `mlockall(MCL_CURRENT | MCL_FUTURE)` (`Builder::lock_memory`). On refusal: the OS error
/// number, its text, and the soft `RLIMIT_MEMLOCK` as text.
#[cfg(target_os = "linux")]
pub(crate) fn lock_memory() -> Result<(), (i32, String, String)> {
    // SAFETY: mlockall takes flags only and changes no memory the program can observe.
    let rc = unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE) };
    if rc == 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` through a valid pointer.
    let limit = if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut lim) } == 0 {
        if lim.rlim_cur == libc::RLIM_INFINITY {
            "unlimited".to_owned()
        } else {
            format!("{} bytes", lim.rlim_cur)
        }
    } else {
        "unknown".to_owned()
    };
    Err((err.raw_os_error().unwrap_or(0), err.to_string(), limit))
}

/// Locking memory is implemented for Linux only.
#[cfg(not(target_os = "linux"))]
pub(crate) fn lock_memory() -> Result<(), (i32, String, String)> {
    Err((
        0,
        "not supported on this platform (Linux only)".to_owned(),
        "unknown".to_owned(),
    ))
}
