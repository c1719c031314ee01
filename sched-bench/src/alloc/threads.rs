//! Two measured threads (a producer and a consumer), started together, optionally pinned.
//!
//! [`two_threads`] spawns both, pins them to two different cores if it was given two, makes each
//! take its allocator handle on its own thread, lines all three threads up on a barrier, and
//! times from the barrier to the moment both have finished. Each thread counts its own page
//! faults from the barrier on (`RUSAGE_THREAD`), so thread creation is not counted.

use super::family::Family;
use super::faults;
use crate::error::BenchError;
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// What one two-thread run produced (the consumer returns nothing but its errors).
#[derive(Debug)]
pub struct TwoThreads<P> {
    /// The producer's result.
    pub producer: P,
    /// From the start barrier until both threads had finished.
    pub elapsed: Duration,
    /// Page faults both threads took after the barrier.
    pub faults: u64,
}

/// Pins the calling thread to `core`; whether that worked.
pub fn pin(core: Option<core_affinity::CoreId>) -> bool {
    core.is_some_and(core_affinity::set_for_current)
}

/// Two cores to pin a producer and a consumer to, if the machine has two and lets us see them.
pub fn two_cores() -> Option<[core_affinity::CoreId; 2]> {
    let ids = core_affinity::get_core_ids()?;
    match ids.as_slice() {
        [a, b, ..] => Some([*a, *b]),
        _ => None,
    }
}

/// Runs `produce` and `consume` on two new threads, each with its own handle of `a`.
///
/// `cores`: pin the producer to the first and the consumer to the second. Returns the results
/// and whether both threads were pinned.
///
/// # Errors
/// A handle that could not be taken, or an error from either closure.
pub fn two_threads<'a, A, P, C, RP>(
    a: &'a A,
    cores: Option<[core_affinity::CoreId; 2]>,
    produce: P,
    consume: C,
) -> Result<(TwoThreads<RP>, bool), BenchError>
where
    A: Family,
    P: FnOnce(&A::Local<'a>) -> Result<RP, BenchError> + Send,
    C: FnOnce(&A::Local<'a>) -> Result<(), BenchError> + Send,
    RP: Send,
{
    let barrier = Barrier::new(3);
    let barrier = &barrier;
    std::thread::scope(|s| {
        let p = s.spawn(move || side(a, cores.map(|c| c[0]), barrier, produce));
        let c = s.spawn(move || side(a, cores.map(|c| c[1]), barrier, consume));
        barrier.wait();
        let start = Instant::now();
        let p = join(a, p);
        let c = join(a, c);
        let elapsed = start.elapsed();
        let (p, c) = (p?, c?);
        Ok((
            TwoThreads {
                producer: p.out,
                elapsed,
                faults: p.faults + c.faults,
            },
            p.pinned && c.pinned,
        ))
    })
}

/// What one side returns.
struct Side<R> {
    out: R,
    faults: u64,
    pinned: bool,
}

/// One thread's part: pin, take a handle, wait at the barrier, count faults around `body`.
fn side<'a, A: Family, R>(
    a: &'a A,
    core: Option<core_affinity::CoreId>,
    barrier: &Barrier,
    body: impl FnOnce(&A::Local<'a>) -> Result<R, BenchError>,
) -> Result<Side<R>, BenchError> {
    let pinned = pin(core);
    // Take the handle before the barrier, and pass the barrier even if that failed, so the
    // other two threads are never left waiting.
    let local = a.local();
    barrier.wait();
    let local = local?;
    let before = faults::thread();
    let out = body(&local)?;
    Ok(Side {
        out,
        faults: faults::thread().saturating_sub(before),
        pinned,
    })
}

/// Joins a measured thread; a panic becomes a [`BenchError::Task`].
fn join<A: Family, R>(
    a: &A,
    handle: std::thread::ScopedJoinHandle<'_, Result<R, BenchError>>,
) -> Result<R, BenchError> {
    handle.join().unwrap_or_else(|_| {
        Err(super::family::alloc_failed(
            a.which(),
            "a benchmark thread panicked".to_owned(),
        ))
    })
}
