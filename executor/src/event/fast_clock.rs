//! The fast clock: the runtime clock's nanoseconds computed from the CPU's time-stamp counter
//! (`clock::ticks`: `rdtsc`, about 9 ns on the machines measured, where `clock_gettime` through
//! the vDSO costs about 20), for the stamps a timed poll takes: when its task became ready,
//! when the poll started and when it ended (`clock::fast_ns`).
//!
//! # Protocol
//!
//! The first reading pairs the counter with `clock::os_now_ns` (the pair's counter read is
//! bracketed by two clock reads; a bracket wider than [`PAIR_BRACKET_NS`] was interrupted and is
//! read again). Readings during the next [`SPAN_NS`] are the OS clock itself. The first reading
//! after that takes a second pair and fixes the line through both,
//! `ns = base_ns + ((ticks - base_ticks) * mult) >> 32`, with the second pair as its base, so
//! the two clocks agree where one hands over to the other. From then on every reading is the
//! line: one counter read, one multiplication.
//!
//! Only the difference of two fast readings means something (a ready → poll latency, a poll's
//! length). The line's slope is off by at most the brackets' width over the span (about 1e-4),
//! so the fast clock drifts from `clock::now_ns` by up to that fraction of the time since it was
//! fixed (and by whatever NTP slews the OS clock); a fast reading is never compared with a
//! `now_ns` one. Timers, deadlines, aging and periodic jobs stay on `now_ns`.
//!
//! Where the counter is not known to run at a constant rate on every core (the CPU does not
//! report an invariant TSC), where there is none (not x86-64), and under loom, the fast clock is
//! `clock::os_now_ns`. This is how the Linux kernel's `tsc` clocksource and Go's `nanotime`
//! (through the vDSO) read time too: the counter scaled by a calibrated multiplier.

use super::clock::{os_now_ns, ticks};
use std::sync::OnceLock;

/// How long the first pair and the second are apart: the longer, the more exact the slope
/// (a bracket of 100 ns over 1 ms is 1e-4), while readings during it cost an OS clock read.
const SPAN_NS: u64 = 1_000_000;

/// The widest bracket a (counter, clock) pair may have; a wider one was interrupted.
const PAIR_BRACKET_NS: u64 = 1_000;

/// A counter reading and the OS clock at the same moment.
#[derive(Clone, Copy, Debug)]
struct Pair {
    /// The counter.
    ticks: u64,
    /// `os_now_ns`: the middle of the bracket around the counter read.
    ns: u64,
}

/// The straight line from counter readings to ns.
#[derive(Clone, Copy, Debug)]
struct Line {
    /// The second pair's counter reading.
    base_ticks: u64,
    /// The second pair's clock reading.
    base_ns: u64,
    /// ns per tick, times 2^32.
    mult: u64,
}

impl Line {
    /// The line through `a` and a later `b`, based at `b`; `None` if the counter did not advance
    /// or its rate is beyond 2^32 ns per tick.
    fn through(a: Pair, b: Pair) -> Option<Line> {
        let ticks = b.ticks.checked_sub(a.ticks).filter(|&t| t > 0)?;
        let ns = b.ns.checked_sub(a.ns)?;
        let mult = u64::try_from((u128::from(ns) << 32) / u128::from(ticks)).ok()?;
        Some(Line {
            base_ticks: b.ticks,
            base_ns: b.ns,
            mult,
        })
    }

    /// Counter reading `t` in ns. A reading a little before the base (another core's counter
    /// a few ticks behind) maps a little before `base_ns`.
    #[inline]
    fn at(&self, t: u64) -> u64 {
        // The difference as signed: two's complement turns "a little behind" into a small
        // negative number. The product of a 64-bit difference and a 64-bit multiplier fits in
        // 128 bits.
        let d = i128::from(t.wrapping_sub(self.base_ticks) as i64);
        let ns = (d * i128::from(self.mult)) >> 32;
        self.base_ns
            .saturating_add_signed(i64::try_from(ns).unwrap_or(i64::MAX))
    }
}

/// The first pair, taken by the first reading that reads one; `None` inside: no invariant
/// counter.
static FIRST: OnceLock<Option<Pair>> = OnceLock::new();

/// The line once fixed; `None` inside: the fast clock is the OS clock for good.
static LINE: OnceLock<Option<Line>> = OnceLock::new();

/// The fast clock now, in ns (see the module docs).
#[inline]
pub(crate) fn now_ns() -> u64 {
    match LINE.get() {
        Some(Some(line)) => line.at(ticks()),
        Some(None) => os_now_ns(),
        None => calibrating(),
    }
}

/// Before the line is fixed: the OS clock, and the pairs that fix the line. A pair that cannot
/// be read with a narrow bracket (a busy moment) is tried again at the next reading; a CPU without
/// an invariant counter, or a counter that did not advance over the span, leaves the OS clock
/// for good.
#[cold]
#[inline(never)]
fn calibrating() -> u64 {
    let now = os_now_ns();
    let first = match FIRST.get() {
        Some(first) => *first,
        None if !invariant_counter() => None,
        None => match pair() {
            Some(p) => *FIRST.get_or_init(|| Some(p)),
            None => return now,
        },
    };
    let Some(first) = first else {
        FIRST.get_or_init(|| None);
        LINE.get_or_init(|| None);
        return now;
    };
    if now.saturating_sub(first.ns) >= SPAN_NS {
        if let Some(second) = pair() {
            LINE.get_or_init(|| Line::through(first, second));
        }
    }
    now
}

/// A (counter, clock) pair with a narrow bracket, if one is found in a few tries.
fn pair() -> Option<Pair> {
    (0..8).find_map(|_| {
        let before = os_now_ns();
        let t = ticks();
        let after = os_now_ns();
        let width = after.checked_sub(before)?;
        (width <= PAIR_BRACKET_NS).then_some(Pair {
            ticks: t,
            ns: before + width / 2,
        })
    })
}

/// Whether the counter runs at a constant rate, in every power state, on every core: CPUID leaf
/// 0x8000_0007's EDX bit 8, "invariant TSC" (Intel SDM vol. 3B, 18.17.1; AMD APM vol. 3,
/// CPUID Fn8000_0007).
#[cfg(all(target_arch = "x86_64", not(loom)))]
fn invariant_counter() -> bool {
    use core::arch::x86_64::__cpuid;
    // SAFETY: `cpuid` exists on every x86-64 CPU and has no preconditions; leaf 0x8000_0000
    // gives the highest extended leaf, which is checked before 0x8000_0007 is read.
    #[allow(unused_unsafe)]
    let max = unsafe { __cpuid(0x8000_0000) }.eax;
    if max < 0x8000_0007 {
        return false;
    }
    // SAFETY: as above; the leaf exists (checked).
    #[allow(unused_unsafe)]
    let edx = unsafe { __cpuid(0x8000_0007) }.edx;
    edx & (1 << 8) != 0
}

/// Elsewhere (and under loom) the counter is not used.
#[cfg(not(all(target_arch = "x86_64", not(loom))))]
fn invariant_counter() -> bool {
    false
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn the_line_maps_its_pairs_and_what_lies_between() {
        // 3 ticks per ns: a pair at (3,000, 1,000) and one at (3,003,000, 1,001,000).
        let a = Pair {
            ticks: 3_000,
            ns: 1_000,
        };
        let b = Pair {
            ticks: 3_003_000,
            ns: 1_001_000,
        };
        let line = Line::through(a, b).unwrap();
        assert_eq!(line.at(b.ticks), b.ns);
        // Fixed point: 1/3 ns per tick rounds down by at most 1 ns over a million ticks.
        assert!(line.at(a.ticks).abs_diff(a.ns) <= 1);
        assert!(line.at(b.ticks + 3_000_000).abs_diff(b.ns + 1_000_000) <= 1);
        // A reading a little behind the base maps a little before it.
        assert!(line.at(b.ticks - 30).abs_diff(b.ns - 10) <= 1);
    }

    #[test]
    fn a_counter_that_did_not_advance_fixes_no_line() {
        let a = Pair { ticks: 5, ns: 10 };
        assert!(Line::through(a, a).is_none());
        assert!(Line::through(a, Pair { ticks: 4, ns: 20 }).is_none());
    }

    #[test]
    fn fast_readings_follow_the_os_clock() {
        // Past the span the line is fixed (or the OS clock is used for good).
        let first = now_ns();
        while os_now_ns() < first + 2 * SPAN_NS {
            std::hint::spin_loop();
            let _ = now_ns();
        }
        assert!(LINE.get().is_some(), "the line is fixed after the span");
        // Each fast reading is bracketed by two OS readings, so the interval between the two
        // fast readings lies between the brackets' inner and outer intervals, give or take the
        // slope's error: at most 2 x PAIR_BRACKET_NS / SPAN_NS = 2e-3 (however long a
        // preemption between the reads is: it widens the brackets, not the error).
        let bracket = || (os_now_ns(), now_ns(), os_now_ns());
        let (a0, fast0, a1) = bracket();
        while os_now_ns() < a1 + 20 * SPAN_NS {
            std::hint::spin_loop();
        }
        let (b0, fast1, b1) = bracket();
        let fast = fast1.saturating_sub(fast0) as f64;
        let (inner, outer) = ((b0 - a1) as f64, (b1 - a0) as f64);
        assert!(
            fast >= inner * (1.0 - 2e-3) - 2.0 && fast <= outer * (1.0 + 2e-3) + 2.0,
            "fast {fast} ns, OS between {inner} and {outer} ns"
        );
    }
}
