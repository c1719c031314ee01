//! `job_loop`: the event loop of one task instance, written once for every backend.
//!
//! A task instance walks its phases (see [`Phase`]) and turns each [`Event`] into an action:
//! spin on the CPU clock, spin on the wall clock, yield, or end the current job and wait for
//! the next release. What an action *costs* depends on the backend: a kernel thread spins and
//! sleeps on its own (`kernel/thread_job.rs`), an async task spins in slices and awaits its
//! runtime's timer (`async_backend/jobs.rs`). Everything else, which is what makes the rows of
//! the backends comparable, is here and nowhere else:
//!
//! - the walk: `repeat` passes over the phases, each phase's events `phase.repeat` times
//!   ([`Walk`]);
//! - job boundaries: `Sleep d` and `Timer` end the current job; the next is released at
//!   now + `d`, or at the timer's next tick ([`JobLoop::step`]);
//! - private timers, keyed by their reference name and anchored at the release of the job that
//!   first reaches them, so a TOML task's job *k* is released at start + delay + *k* × period;
//!   `Absolute` timers keep their grid, `Relative` ones re-anchor at now after an overrun
//!   (rt-app's `mode`);
//! - the bookkeeping: counters in the instance's own [`JobStats`], latencies into its task's
//!   shared histograms ([`TaskSink`], through a buffer of [`SINK_BATCH`] values), job records
//!   only when asked for (`keep_jobs`), so an instance's memory does not grow with the run's
//!   length; and the end of a run: a job cut off by the end counts as a miss only if its
//!   deadline had already passed ([`JobLoop::close`]).
//!
//! - mutexes (`lock` / `unlock`), barriers and condition variables: the loop names them
//!   ([`Action::Lock`], [`Action::Unlock`], [`Action::Barrier`], [`Action::Wait`], ...); each
//!   backend holds its own table of them (`kernel/pi_mutex.rs`, `kernel/barrier.rs`,
//!   `kernel/cond.rs`, the async runtimes' `AsyncTimer::Mutex`, `AsyncTimer::Barrier` and
//!   `AsyncTimer::Notify`), unlocks what an instance holds when its run ends, and ends a
//!   barrier or condition wait at the end of the run.
//!
//! The loop is sans-I/O: it reads no clock and waits for nothing; the backend passes `now` in
//! and performs the [`Action`]s, which is what lets the unit tests below drive it exactly.

use crate::kernel::metrics::{self, JobRecord, JobStats, OpenJob, Sample, TaskSink, SINK_BATCH};
use crate::spin::{nanos, Stopped};
use crate::workload_file::model::{CondWait, Event, Phase, Repeat, TimerMode};
use std::collections::HashMap;
use std::time::Duration;

/// Whether a loop repeated `repeat` times has iterations left after `done`.
pub fn times_left(repeat: Repeat, done: u64) -> bool {
    match repeat {
        Repeat::Times(n) => done < n,
        Repeat::Forever => true,
    }
}

/// The events of a task instance in order: `repeat` passes over `phases`, each phase's events
/// repeated `phase.repeat` times. Phases without events are skipped; a walk with no event at
/// all ends at once (rather than spinning forever on `Repeat::Forever`).
#[derive(Debug)]
pub struct Walk<'a> {
    /// Passes over the phases.
    repeat: Repeat,
    /// The phases.
    phases: &'a [Phase],
    /// Passes done.
    pass: u64,
    /// Index of the current phase.
    phase: usize,
    /// Repetitions of the current phase done.
    rep: u64,
    /// Index of the next event in the current phase.
    event: usize,
}

impl<'a> Walk<'a> {
    /// The walk over `phases`, `repeat` passes.
    pub fn new(repeat: Repeat, phases: &'a [Phase]) -> Walk<'a> {
        Walk {
            repeat,
            phases,
            pass: 0,
            phase: 0,
            rep: 0,
            event: 0,
        }
    }
}

impl<'a> Iterator for Walk<'a> {
    type Item = &'a Event;

    fn next(&mut self) -> Option<&'a Event> {
        if self.phases.iter().all(|p| p.events.is_empty()) {
            return None;
        }
        loop {
            if !times_left(self.repeat, self.pass) {
                return None;
            }
            let Some(phase) = self.phases.get(self.phase) else {
                self.pass += 1;
                self.phase = 0;
                continue;
            };
            if phase.events.is_empty() || !times_left(phase.repeat, self.rep) {
                self.phase += 1;
                self.rep = 0;
                self.event = 0;
                continue;
            }
            if let Some(e) = phase.events.get(self.event) {
                self.event += 1;
                return Some(e);
            }
            self.rep += 1;
            self.event = 0;
        }
    }
}

/// What the backend does for one event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action<'e> {
    /// Spin until the task has used this much more CPU time (or the run ends).
    Cpu(Duration),
    /// Spin until `CLOCK_MONOTONIC` reaches this instant, ns (or the run ends).
    WallUntil(u64),
    /// Give the CPU (or the worker) up once.
    Yield,
    /// Nothing (a zero sleep).
    None,
    /// The current job has ended; release the next one at this instant, ns: wait for it, then
    /// call [`JobLoop::started`]. The job's absolute deadline is [`JobLoop::deadline_of`].
    Release(u64),
    /// Lock the named mutex, waiting while another task instance holds it; the wait is part of
    /// the current job (its response time and lateness), as in rt-app.
    Lock(&'e str),
    /// Unlock the named mutex.
    Unlock(&'e str),
    /// Wait at the named barrier until all its users have arrived (or the run ends); the wait
    /// is part of the current job.
    Barrier(&'e str),
    /// Block until a `resume` of this task arrives (or the run ends); part of the current job.
    Suspend(&'e str),
    /// Wake the suspended instances of the named task.
    Resume(&'e str),
    /// Release the held mutex `.mutex`, block until the condition `.cond` is signalled (or
    /// the run ends), then lock the mutex again; part of the current job.
    Wait(&'e CondWait),
    /// Wake one instance waiting on the named condition, if any.
    Signal(&'e str),
    /// Wake every instance waiting on the named condition.
    Broadcast(&'e str),
    /// `Signal`, then `Wait` (rt-app `sync`).
    SignalWait(&'e CondWait),
}

/// The state of one task instance's event loop: its jobs, timers and statistics.
#[derive(Debug)]
pub struct JobLoop {
    /// Relative deadline of each job.
    deadline: Option<Duration>,
    /// End of the run, `CLOCK_MONOTONIC` ns (`u64::MAX`: none).
    end: u64,
    /// What was observed so far: counters (and job records when kept); its histograms stay
    /// empty (values go to `sink`).
    pub stats: JobStats,
    /// The task's shared histograms.
    sink: TaskSink,
    /// Values not yet added to `sink` (at most [`SINK_BATCH`] + 1).
    pending: Vec<Sample>,
    /// Whether to keep every job's [`JobRecord`] in `stats.jobs`.
    keep_jobs: bool,
    /// Next tick of each private timer, by reference name, ns.
    timers: HashMap<String, u64>,
    /// `None` between a job's end and the next release.
    job: Option<OpenJob>,
    /// Release of the current or last job: where a timer reached for the first time anchors.
    last: Option<u64>,
}

impl JobLoop {
    /// A loop whose jobs have relative deadline `deadline` and that stops at `end`, recording
    /// into `sink`, keeping job records if `keep_jobs`.
    pub fn new(deadline: Option<Duration>, end: u64, sink: TaskSink, keep_jobs: bool) -> JobLoop {
        JobLoop {
            deadline,
            end,
            stats: JobStats::new(),
            sink,
            // One more than a batch: `started` buffers without flushing (see there).
            pending: Vec::with_capacity(SINK_BATCH + 1),
            keep_jobs,
            timers: HashMap::new(),
            job: None,
            last: None,
        }
    }

    /// Checks that a release at `at` falls inside the run and makes it the timers' anchor.
    ///
    /// # Errors
    /// [`Stopped`] if `at` is at or after the end.
    pub fn release(&mut self, at: u64) -> Result<(), Stopped> {
        if at >= self.end {
            return Err(Stopped);
        }
        self.last = Some(at);
        Ok(())
    }

    /// The absolute deadline of a job released at `at`.
    pub fn deadline_of(&self, at: u64) -> Option<u64> {
        self.deadline.map(|d| at.saturating_add(nanos(d)))
    }

    /// The job released at `release` started (first clock read once it ran) at `started`.
    pub fn started(&mut self, release: u64, started: u64) {
        let abs_deadline = self.deadline_of(release);
        self.stats.released += 1;
        if abs_deadline.is_some() {
            self.stats.with_deadline += 1;
        }
        // Buffered without a flush: adding a batch to the sink (locking it, first allocating its
        // histograms) here would fall inside the job's measured span; the next sample, at the
        // job's end, flushes.
        self.pending
            .push(Sample::Start(started.saturating_sub(release)));
        if self.keep_jobs {
            self.stats.jobs.push(JobRecord {
                release,
                start: started,
                end: 0,
            });
        }
        self.job = Some(OpenJob {
            release,
            abs_deadline,
        });
    }

    /// Buffers `v` for the sink, adding the buffer to it when full.
    fn sample(&mut self, v: Sample) {
        self.pending.push(v);
        if self.pending.len() >= SINK_BATCH {
            metrics::flush(&self.sink, &mut self.pending);
        }
    }

    #[cfg(test)]
    /// Heap bytes this instance holds: its buffer, timers and kept job records (not the
    /// task's shared histograms).
    pub fn heap_bytes(&self) -> usize {
        self.pending.capacity() * std::mem::size_of::<Sample>()
            + self.stats.heap_bytes()
            + self
                .timers
                .keys()
                .map(|k| {
                    k.capacity() + 2 * std::mem::size_of::<u64>() + std::mem::size_of::<String>()
                })
                .sum::<usize>()
    }

    /// What to do for `event` at `now`.
    ///
    /// # Errors
    /// [`Stopped`] if `now` is at or after the end, or the next release would be.
    pub fn step<'e>(&mut self, event: &'e Event, now: u64) -> Result<Action<'e>, Stopped> {
        if now >= self.end {
            return Err(Stopped);
        }
        let at = match event {
            Event::Run(d) => return Ok(Action::Cpu(*d)),
            Event::Runtime(d) => return Ok(Action::WallUntil(now.saturating_add(nanos(*d)))),
            Event::Yield => return Ok(Action::Yield),
            Event::Lock(m) => return Ok(Action::Lock(m)),
            Event::Unlock(m) => return Ok(Action::Unlock(m)),
            Event::Barrier(b) => return Ok(Action::Barrier(b)),
            Event::Suspend(t) => return Ok(Action::Suspend(t)),
            Event::Resume(t) => return Ok(Action::Resume(t)),
            Event::Wait(w) => return Ok(Action::Wait(w)),
            Event::Signal(c) => return Ok(Action::Signal(c)),
            Event::Broadcast(c) => return Ok(Action::Broadcast(c)),
            Event::SignalWait(w) => return Ok(Action::SignalWait(w)),
            Event::Sleep(d) if d.is_zero() => return Ok(Action::None),
            Event::Sleep(d) => now.saturating_add(nanos(*d)),
            Event::Timer(t) => {
                let anchor = self.last.unwrap_or(now);
                let period = nanos(t.period).max(1);
                let next = self
                    .timers
                    .entry(t.reference.clone())
                    .or_insert(anchor.saturating_add(period));
                let release = match t.mode {
                    TimerMode::Absolute => *next,
                    // rt-app: an overrun re-anchors the timer at "now"; missed ticks are dropped.
                    TimerMode::Relative if *next < now => now,
                    TimerMode::Relative => *next,
                };
                *next = release.saturating_add(period);
                release
            }
        };
        self.finish(now);
        self.release(at)?;
        Ok(Action::Release(at))
    }

    /// Ends the current job at `at` (the walk does it at the job's release event; a runtime's
    /// own periodic task, which releases its jobs itself, calls it when a job's work is done).
    pub fn finish(&mut self, at: u64) {
        if let Some(job) = self.job.take() {
            self.stats.completed += 1;
            if self.keep_jobs {
                if let Some(r) = self.stats.jobs.last_mut() {
                    r.end = at;
                }
            }
            self.sample(Sample::Response(at.saturating_sub(job.release)));
            if let Some(d) = job.abs_deadline {
                let lateness = at as i64 - d as i64;
                self.sample(Sample::Lateness(lateness));
                if lateness > 0 {
                    self.stats.missed += 1;
                    self.stats.missed_completed += 1;
                }
            }
        }
    }

    /// Ends the run at `now`: `Ok` (the walk ended) completes the open job; `Err(Stopped)` (the
    /// run ended first) leaves it open, a miss if its deadline passed before the end. Adds the
    /// buffered values to the sink and returns the counters (and job records).
    pub fn close(mut self, outcome: Result<(), Stopped>, now: u64) -> JobStats {
        match outcome {
            Ok(()) => self.finish(now),
            Err(Stopped) => {
                if let Some(OpenJob {
                    abs_deadline: Some(d),
                    ..
                }) = self.job
                {
                    if d < self.end.min(now) {
                        self.stats.missed += 1;
                    }
                }
            }
        }
        metrics::flush(&self.sink, &mut self.pending);
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload_file::model::Timer;

    const MS: u64 = 1_000_000;

    fn phase(repeat: Repeat, events: Vec<Event>) -> Phase {
        Phase {
            name: "p".to_owned(),
            repeat,
            events,
        }
    }

    fn timer(mode: TimerMode) -> Event {
        Event::Timer(Timer {
            reference: "unique".to_owned(),
            period: Duration::from_millis(10),
            mode,
        })
    }

    #[test]
    fn walk_repeats_phases_and_passes() {
        let a = Event::Yield;
        let b = Event::Run(Duration::from_millis(1));
        let phases = [
            phase(Repeat::Times(2), vec![a.clone()]),
            phase(Repeat::Times(1), vec![]),
            phase(Repeat::Times(1), vec![b.clone()]),
        ];
        let walked: Vec<&Event> = Walk::new(Repeat::Times(2), &phases).collect();
        assert_eq!(walked, [&a, &a, &b, &a, &a, &b]);
        let forever: Vec<&Event> = Walk::new(Repeat::Forever, &phases).take(7).collect();
        assert_eq!(forever.len(), 7);
        let empty = [phase(Repeat::Forever, vec![])];
        assert_eq!(Walk::new(Repeat::Forever, &empty).next(), None);
    }

    #[test]
    fn absolute_timer_keeps_its_grid_and_jobs_are_recorded() {
        let mut l = JobLoop::new(
            Some(Duration::from_millis(5)),
            100 * MS,
            metrics::task_sink(),
            true,
        );
        l.release(0).unwrap();
        l.started(0, MS / 10);
        assert_eq!(
            l.step(&Event::Run(Duration::from_millis(1)), MS),
            Ok(Action::Cpu(Duration::from_millis(1)))
        );
        let t = timer(TimerMode::Absolute);
        assert_eq!(l.step(&t, 3 * MS), Ok(Action::Release(10 * MS)));
        l.started(10 * MS, 25 * MS);
        // Reached late (at 26 ms): the grid stays at 10, 20, 30 ms.
        assert_eq!(l.step(&t, 26 * MS), Ok(Action::Release(20 * MS)));
        assert_eq!(l.deadline_of(20 * MS), Some(25 * MS));
        let stats = l.close(Ok(()), 27 * MS);
        assert_eq!((stats.released, stats.completed), (2, 2));
        // The job released at 0 ended at 3 ms (deadline 5 ms); the one released at 10 ms ended
        // at 26 ms, after its deadline of 15 ms.
        assert_eq!(stats.missed, 1);
    }

    #[test]
    fn relative_timer_reanchors_after_an_overrun() {
        let mut l = JobLoop::new(None, u64::MAX, metrics::task_sink(), true);
        l.release(0).unwrap();
        let t = timer(TimerMode::Relative);
        assert_eq!(l.step(&t, 25 * MS), Ok(Action::Release(25 * MS)));
        assert_eq!(l.step(&t, 26 * MS), Ok(Action::Release(35 * MS)));
        assert_eq!(
            l.step(&Event::Sleep(Duration::ZERO), 40 * MS),
            Ok(Action::None)
        );
        assert_eq!(
            l.step(&Event::Sleep(Duration::from_millis(2)), 40 * MS),
            Ok(Action::Release(42 * MS))
        );
        assert_eq!(
            l.step(&Event::Runtime(Duration::from_millis(1)), 43 * MS),
            Ok(Action::WallUntil(44 * MS))
        );
        // Lock and unlock name their mutex and stay inside the job (no release).
        let (lock, unlock) = (Event::Lock("m".to_owned()), Event::Unlock("m".to_owned()));
        l.started(42 * MS, 44 * MS);
        let completed = l.stats.completed;
        assert_eq!(l.step(&lock, 44 * MS), Ok(Action::Lock("m")));
        assert_eq!(l.step(&unlock, 45 * MS), Ok(Action::Unlock("m")));
        assert_eq!(l.stats.completed, completed);
        assert!(l.job.is_some(), "the job is still open");
    }

    #[test]
    fn the_end_stops_and_an_open_late_job_is_a_miss() {
        let mut l = JobLoop::new(
            Some(Duration::from_millis(1)),
            10 * MS,
            metrics::task_sink(),
            true,
        );
        assert_eq!(l.release(10 * MS), Err(Stopped));
        l.release(0).unwrap();
        l.started(0, 0);
        assert_eq!(l.step(&Event::Yield, 10 * MS), Err(Stopped));
        // A release past the end stops too, after ending the current job.
        let mut m = JobLoop::new(None, 10 * MS, metrics::task_sink(), true);
        m.release(0).unwrap();
        m.started(0, 0);
        assert_eq!(
            m.step(&Event::Sleep(Duration::from_millis(20)), MS),
            Err(Stopped)
        );
        assert_eq!(m.close(Err(Stopped), 10 * MS).completed, 1);
        // Cut off at the end with its deadline (1 ms) long past: a miss, not a completion.
        let stats = l.close(Err(Stopped), 12 * MS);
        assert_eq!((stats.completed, stats.missed), (0, 1));
    }

    /// Issue 18, points 1 and 2: an instance's memory does not grow with its number of jobs
    /// (values go to the task's shared histograms, job records are kept only when asked), and
    /// two instances of one task share one set of histograms.
    #[test]
    fn instance_memory_is_bounded_and_histograms_are_per_task() {
        let sink = metrics::task_sink();
        let run = |keep_jobs: bool, jobs: u64| {
            let mut l = JobLoop::new(None, u64::MAX, sink.clone(), keep_jobs);
            l.release(0).unwrap();
            let t = timer(TimerMode::Absolute);
            let mut peak = 0;
            for k in 0..jobs {
                l.started(k * 10 * MS, k * 10 * MS + 1000 + k);
                assert!(matches!(
                    l.step(&t, k * 10 * MS + 2 * MS),
                    Ok(Action::Release(_))
                ));
                peak = peak.max(l.heap_bytes());
            }
            (peak, l.close(Ok(()), jobs * 10 * MS))
        };
        let (peak_short, _) = run(false, 10);
        let (peak_long, stats) = run(false, 100_000);
        assert_eq!(
            peak_short, peak_long,
            "an instance grew with the run's length"
        );
        assert!(peak_long <= 16 * 1024, "{peak_long} bytes per instance");
        assert!(stats.jobs.is_empty() && stats.start_latency.is_empty());
        assert_eq!(stats.released, 100_000);
        let merged = metrics::sink_stats(&sink);
        assert_eq!(merged.start_latency.len(), 100_010);
        assert_eq!(merged.response.len(), 100_010);
        // Kept when an output needs them: 24 bytes a job.
        let (peak_kept, kept) = run(true, 1000);
        assert_eq!(kept.jobs.len(), 1000);
        assert!(peak_kept > peak_long);
    }
}
