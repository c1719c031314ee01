//! Runtime counters.

use crate::worker::Shared;

/// A snapshot of a runtime's counters, summed over workers.
///
/// Counters are per worker and written without shared-cache-line traffic; a snapshot reads them
/// one by one, so it is not an atomic cut across workers.
///
/// ```
/// let rt = kairos::Runtime::builder().workers(2).build().unwrap();
/// let _ = rt.block_on(rt.spawn(async { panic!("counted") }));
/// let m = rt.metrics();
/// assert_eq!(m.workers, 2);
/// assert_eq!(m.panics, 1);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// Worker threads.
    pub workers: usize,
    /// Task polls (including polls that only cancelled the task).
    pub polls: u64,
    /// Successful steals (each moves a batch of tasks between workers).
    pub steals: u64,
    /// Times a worker parked for lack of work.
    pub parks: u64,
    /// Panics caught in task futures, their destructors, or wakers run by the runtime (join
    /// wakers, timer wakers).
    pub panics: u64,
    /// Tasks spawned and not yet completed.
    pub live_tasks: usize,
    /// Timers registered and not yet fired or cancelled (sleeps being awaited).
    pub pending_timers: usize,
}

impl Metrics {
    pub(crate) fn read(shared: &Shared) -> Metrics {
        let mut m = Metrics {
            workers: shared.num_workers(),
            panics: shared.panics(),
            live_tasks: shared.registry.len(),
            pending_timers: shared.timers.len(),
            ..Metrics::default()
        };
        for w in shared.worker_metrics.iter() {
            let (polls, steals, parks) = w.read();
            m.polls += polls;
            m.steals += steals;
            m.parks += parks;
        }
        m
    }
}
