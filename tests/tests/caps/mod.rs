//! Shared by the tests that check a refusal path in a child process: drop a Linux capability
//! and lower a resource limit to 0 for the rest of the (child) process.

/// `struct __user_cap_header_struct` (`linux/capability.h`).
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

/// `struct __user_cap_data_struct`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// `_LINUX_CAPABILITY_VERSION_3`: two `CapData`, capabilities 0..=63.
const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// Lowers resource limit `resource` (`libc::RLIMIT_*`) to 0, soft and hard; the reason it could
/// not, if any.
pub fn zero_rlimit(resource: libc::__rlimit_resource_t, name: &str) -> Result<(), String> {
    let zero = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: setrlimit reads one `rlimit` through a valid pointer.
    if unsafe { libc::setrlimit(resource, &zero) } != 0 {
        return Err(format!(
            "setrlimit({name}, 0) failed: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// Drops capability `cap` (below 32, e.g. 14 `CAP_IPC_LOCK`, 23 `CAP_SYS_NICE`) from this
/// process's effective and permitted sets; the reason it could not, if any.
pub fn drop_capability(cap: u32) -> Result<(), String> {
    assert!(cap < 32, "only the first capability word is handled");
    let mut header = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: capget writes two `CapData` (version 3) through a valid pointer.
    if unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) } != 0 {
        return Err(format!(
            "capget failed: {}",
            std::io::Error::last_os_error()
        ));
    }
    let bit = 1u32 << cap;
    data[0].effective &= !bit;
    data[0].permitted &= !bit;
    // SAFETY: capset reads the header and two `CapData` through valid pointers; dropping a
    // capability is always allowed.
    if unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) } != 0 {
        return Err(format!(
            "capset failed: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}
