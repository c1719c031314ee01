//! Page-fault counters from `getrusage`: minor + major faults, for the process or one thread.
//!
//! A fault in steady state is a latency spike (a minor fault costs about a microsecond, a major
//! one a disk read), so the `faults` case counts them around a warm loop with `RUSAGE_SELF`, and
//! the two-thread cases count each thread's own with `RUSAGE_THREAD` (Linux), which leaves out
//! the faults of creating the threads (stacks, thread-local storage) that a whole-process count
//! would include. Elsewhere, or if the call fails, the counters read zero.

/// Minor + major page faults of the whole process so far.
pub fn process() -> u64 {
    read(libc::RUSAGE_SELF)
}

/// Minor + major page faults of the calling thread so far (Linux; the process's elsewhere).
pub fn thread() -> u64 {
    #[cfg(target_os = "linux")]
    {
        read(libc::RUSAGE_THREAD)
    }
    #[cfg(not(target_os = "linux"))]
    {
        read(libc::RUSAGE_SELF)
    }
}

fn read(who: libc::c_int) -> u64 {
    // SAFETY: `rusage` is plain old data; an all-zero value is valid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable `rusage`; `who` is one of the documented constants.
    if unsafe { libc::getrusage(who, &mut usage) } != 0 {
        return 0;
    }
    let minor = u64::try_from(usage.ru_minflt).unwrap_or(0);
    let major = u64::try_from(usage.ru_majflt).unwrap_or(0);
    minor + major
}

#[cfg(test)]
mod tests {
    #[test]
    fn touching_fresh_pages_counts_faults() {
        if !cfg!(target_os = "linux") {
            return;
        }
        let before = super::thread();
        // 4 MiB of fresh pages, each written once: at least some must fault.
        let mut v = vec![0u8; 4 << 20];
        for page in v.chunks_mut(4096) {
            page[0] = 1;
        }
        std::hint::black_box(&v);
        assert!(super::thread() > before);
        assert!(super::process() >= super::thread());
    }
}
