//! Putting the calling thread into a Linux scheduling class, and reading the class back.
//!
//! Every call here acts on the *calling thread* (pid argument 0; Linux schedules threads, not
//! processes), so each task thread sets its own policy from inside itself.
//!
//! - SCHED_OTHER: `sched_setscheduler(0, SCHED_OTHER)` then `setpriority(PRIO_PROCESS, tid,
//!   nice)`; a negative nice needs CAP_SYS_NICE (or `RLIMIT_NICE`).
//! - SCHED_FIFO / SCHED_RR: `sched_setscheduler(0, policy, priority)`; needs CAP_SYS_NICE (or
//!   `RLIMIT_RTPRIO`).
//! - SCHED_DEADLINE: the raw `sched_setattr` syscall (glibc has no wrapper) with the
//!   [`SchedAttr`] layout of `include/uapi/linux/sched/types.h`. The kernel's rules, checked
//!   before the call so the message can name them: 1024 ns <= runtime <= deadline <= period.
//!   The kernel also refuses (EPERM) a deadline thread whose CPU affinity does not span its root
//!   domain, so deadline threads are never pinned, and (EBUSY) a reservation that does not fit
//!   in the bandwidth left for deadline tasks (admission control).
//!
//! Errors become a [`Refusal`] whose text is the table's status cell.

use crate::workload_file::model::{Class, Reservation};
use std::fmt;
use std::time::Duration;

/// `SCHED_DEADLINE` in `include/uapi/linux/sched.h` (libc has it only on some targets).
const SCHED_DEADLINE: libc::c_int = 6;
/// `SCHED_RESET_ON_FORK`: a flag `sched_getscheduler` may OR into the policy.
const SCHED_RESET_ON_FORK: libc::c_int = 0x4000_0000;
/// `SCHED_ATTR_SIZE_VER0`: the first version of `struct sched_attr`, all we fill in.
const SCHED_ATTR_SIZE_VER0: u32 = 48;
/// Smallest runtime the kernel accepts (`1 << DL_SCALE` ns, `__checkparam_dl`).
const DL_MIN_RUNTIME: Duration = Duration::from_nanos(1024);
/// `CAP_SYS_NICE`'s bit in the capability sets of `/proc/self/status`.
const CAP_SYS_NICE_BIT: u32 = 23;

/// `struct sched_attr` (VER0, 48 bytes), as the `sched_setattr` syscall reads it.
#[repr(C)]
#[derive(Debug, Default)]
struct SchedAttr {
    /// Size of this struct: [`SCHED_ATTR_SIZE_VER0`].
    size: u32,
    /// `SCHED_*` policy number.
    sched_policy: u32,
    /// `SCHED_FLAG_*`; none used.
    sched_flags: u64,
    /// Nice value (SCHED_OTHER/BATCH).
    sched_nice: i32,
    /// Static priority (SCHED_FIFO/RR).
    sched_priority: u32,
    /// SCHED_DEADLINE budget per period, ns.
    sched_runtime: u64,
    /// SCHED_DEADLINE relative deadline, ns.
    sched_deadline: u64,
    /// SCHED_DEADLINE period, ns.
    sched_period: u64,
}

const _: () = assert!(std::mem::size_of::<SchedAttr>() == SCHED_ATTR_SIZE_VER0 as usize);

/// The scheduling parameters one thread asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// SCHED_OTHER with a nice value.
    Other {
        /// -20 ..= 19.
        nice: i32,
    },
    /// SCHED_FIFO at a priority.
    Fifo {
        /// 1 ..= 99.
        priority: u32,
    },
    /// SCHED_RR at a priority.
    Rr {
        /// 1 ..= 99.
        priority: u32,
    },
    /// SCHED_DEADLINE with a reservation.
    Deadline(Reservation),
}

/// The kernel's policy number of `class`.
pub fn class_number(class: Class) -> libc::c_int {
    match class {
        Class::Other => libc::SCHED_OTHER,
        Class::Fifo => libc::SCHED_FIFO,
        Class::Rr => libc::SCHED_RR,
        Class::Deadline => SCHED_DEADLINE,
    }
}

/// The name of a policy number as `sched_getscheduler` returns it.
pub fn policy_name(number: libc::c_int) -> String {
    match number {
        libc::SCHED_OTHER => "SCHED_OTHER".to_owned(),
        libc::SCHED_FIFO => "SCHED_FIFO".to_owned(),
        libc::SCHED_RR => "SCHED_RR".to_owned(),
        libc::SCHED_BATCH => "SCHED_BATCH".to_owned(),
        libc::SCHED_IDLE => "SCHED_IDLE".to_owned(),
        SCHED_DEADLINE => "SCHED_DEADLINE".to_owned(),
        n => format!("policy {n}"),
    }
}

/// Why the kernel (or our pre-check) refused a policy. `Display` is the table's status cell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// EPERM/EACCES without CAP_SYS_NICE.
    NeedsCapSysNice,
    /// SCHED_DEADLINE admission control (EBUSY).
    Admission {
        /// The reservation that did not fit.
        reservation: Reservation,
    },
    /// Parameters that break a kernel rule (checked before calling, or EINVAL).
    Invalid(String),
    /// Any other error, with the call and the OS message.
    Other(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NeedsCapSysNice => f.write_str("skipped: needs CAP_SYS_NICE"),
            Refusal::Admission { reservation: r } => write!(
                f,
                "admission control rejected: runtime {:?} / period {:?} ({:.1}% of a CPU) is over \
                 the SCHED_DEADLINE bandwidth still available",
                r.runtime,
                r.period,
                r.runtime.as_secs_f64() / r.period.as_secs_f64() * 100.0
            ),
            Refusal::Invalid(m) => write!(f, "invalid parameters: {m}"),
            Refusal::Other(m) => f.write_str(m),
        }
    }
}

/// The kernel's rules for a reservation: 1024 ns <= runtime <= deadline <= period.
///
/// # Errors
/// [`Refusal::Invalid`] naming the rule broken.
pub fn check_reservation(r: &Reservation) -> Result<(), Refusal> {
    if r.runtime < DL_MIN_RUNTIME {
        return Err(Refusal::Invalid(format!(
            "SCHED_DEADLINE runtime {:?} is below the kernel's minimum of 1024 ns",
            r.runtime
        )));
    }
    if r.runtime > r.deadline {
        return Err(Refusal::Invalid(format!(
            "SCHED_DEADLINE runtime {:?} exceeds the deadline {:?}; the kernel needs runtime <= \
             deadline <= period",
            r.runtime, r.deadline
        )));
    }
    if r.deadline > r.period {
        return Err(Refusal::Invalid(format!(
            "SCHED_DEADLINE deadline {:?} exceeds the period {:?}; the kernel needs runtime <= \
             deadline <= period",
            r.deadline, r.period
        )));
    }
    Ok(())
}

/// Puts the calling thread under `policy`.
///
/// # Errors
/// [`Refusal`]: no privilege, admission control, invalid parameters, other OS errors.
pub fn apply(policy: &Policy) -> Result<(), Refusal> {
    match *policy {
        Policy::Other { nice } => {
            set_scheduler(libc::SCHED_OTHER, 0)?;
            // SAFETY: gettid has no preconditions.
            let tid = unsafe { libc::gettid() };
            // SAFETY: setpriority only reads its integer arguments; `who` is our own thread id
            // (PRIO_PROCESS with a tid acts on that one thread on Linux).
            let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice) };
            if rc != 0 {
                return Err(errno_refusal("setpriority", None));
            }
            Ok(())
        }
        Policy::Fifo { priority } => set_scheduler(libc::SCHED_FIFO, priority),
        Policy::Rr { priority } => set_scheduler(libc::SCHED_RR, priority),
        Policy::Deadline(r) => {
            check_reservation(&r)?;
            let attr = SchedAttr {
                size: SCHED_ATTR_SIZE_VER0,
                sched_policy: SCHED_DEADLINE as u32,
                sched_runtime: nanos(r.runtime),
                sched_deadline: nanos(r.deadline),
                sched_period: nanos(r.period),
                ..SchedAttr::default()
            };
            // SAFETY: `attr` is a fully initialised `struct sched_attr` of the size its `size`
            // field states, alive for the call; pid 0 is the calling thread, flags 0.
            let rc = unsafe {
                libc::syscall(
                    libc::SYS_sched_setattr,
                    0 as libc::pid_t,
                    &attr as *const SchedAttr,
                    0 as libc::c_uint,
                )
            };
            if rc != 0 {
                return Err(errno_refusal("sched_setattr(SCHED_DEADLINE)", Some(r)));
            }
            Ok(())
        }
    }
}

/// The calling thread's policy as the kernel reports it (`sched_getscheduler(0)`, without
/// the reset-on-fork flag); `None` on error.
pub fn read_back() -> Option<libc::c_int> {
    // SAFETY: sched_getscheduler only reads its pid argument; 0 is the calling thread.
    let p = unsafe { libc::sched_getscheduler(0) };
    (p >= 0).then_some(p & !SCHED_RESET_ON_FORK)
}

/// The calling thread's nice value (`getpriority(PRIO_PROCESS, tid)`).
pub fn read_nice() -> i32 {
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    // SAFETY: getpriority only reads its integer arguments.
    unsafe { libc::getpriority(libc::PRIO_PROCESS, tid as libc::id_t) }
}

fn set_scheduler(policy: libc::c_int, priority: u32) -> Result<(), Refusal> {
    let param = libc::sched_param {
        sched_priority: priority as libc::c_int,
    };
    // SAFETY: `param` is a valid sched_param alive for the call; pid 0 is the calling thread.
    let rc = unsafe { libc::sched_setscheduler(0, policy, &param) };
    if rc != 0 {
        return Err(errno_refusal(
            &format!("sched_setscheduler({}, {priority})", policy_name(policy)),
            None,
        ));
    }
    Ok(())
}

/// Turns the current `errno` of a failed `call` into a refusal.
fn errno_refusal(call: &str, reservation: Option<Reservation>) -> Refusal {
    let err = std::io::Error::last_os_error();
    match (err.raw_os_error(), reservation) {
        (Some(libc::EPERM | libc::EACCES), _) if !has_cap_sys_nice() => Refusal::NeedsCapSysNice,
        (Some(libc::EPERM), Some(_)) => Refusal::Other(format!(
            "{call} refused (EPERM) although the process has CAP_SYS_NICE: the thread's CPU \
             affinity must span its whole root domain (do not run under taskset/cpusets that \
             narrow it)"
        )),
        (Some(libc::EPERM), None) => Refusal::Other(format!(
            "{call} refused (EPERM) although the process has CAP_SYS_NICE: with RT group \
             scheduling, this cgroup may have no real-time runtime (cpu.rt_runtime_us)"
        )),
        (Some(libc::EBUSY), Some(r)) => Refusal::Admission { reservation: r },
        (Some(libc::EINVAL), Some(r)) => Refusal::Invalid(format!(
            "{call}: EINVAL for runtime {:?}, deadline {:?}, period {:?}: the period is outside \
             kernel.sched_deadline_period_{{min,max}}_us, or the kernel has no SCHED_DEADLINE",
            r.runtime, r.deadline, r.period
        )),
        _ => Refusal::Other(format!("{call} failed: {err}")),
    }
}

/// Whether the process's effective capabilities include CAP_SYS_NICE (`CapEff` in
/// `/proc/self/status`). Unreadable: assume not, the likelier reason for EPERM.
pub fn has_cap_sys_nice() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        })
        .is_some_and(|caps| caps & (1 << CAP_SYS_NICE_BIT) != 0)
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(runtime_us: u64, deadline_us: u64, period_us: u64) -> Reservation {
        Reservation {
            runtime: Duration::from_micros(runtime_us),
            deadline: Duration::from_micros(deadline_us),
            period: Duration::from_micros(period_us),
        }
    }

    #[test]
    fn reservation_rules() {
        assert_eq!(check_reservation(&res(100, 500, 1000)), Ok(()));
        assert_eq!(check_reservation(&res(100, 100, 100)), Ok(()));
        let small = Reservation {
            runtime: Duration::from_nanos(1000),
            ..res(0, 10, 10)
        };
        assert!(check_reservation(&small)
            .unwrap_err()
            .to_string()
            .contains("1024 ns"));
        assert!(check_reservation(&res(600, 500, 1000))
            .unwrap_err()
            .to_string()
            .contains("exceeds the deadline"));
        assert!(check_reservation(&res(100, 2000, 1000))
            .unwrap_err()
            .to_string()
            .contains("exceeds the period"));
    }

    #[test]
    fn refusal_texts() {
        assert_eq!(
            Refusal::NeedsCapSysNice.to_string(),
            "skipped: needs CAP_SYS_NICE"
        );
        let a = Refusal::Admission {
            reservation: res(900, 1000, 1000),
        }
        .to_string();
        assert!(a.starts_with("admission control rejected: "), "{a}");
        assert!(a.contains("90.0%"), "{a}");
    }

    #[test]
    fn names() {
        assert_eq!(policy_name(libc::SCHED_FIFO), "SCHED_FIFO");
        assert_eq!(policy_name(class_number(Class::Deadline)), "SCHED_DEADLINE");
        assert!(read_back().is_some());
    }
}
