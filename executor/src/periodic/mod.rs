//! Periodic real-time tasks: jobs released on an absolute time grid, each with a deadline, with
//! miss and lateness accounting.
//!
//! # Model
//!
//! A periodic task `(offset O, period T, relative deadline D)` releases job `k` (k = 0, 1, ...)
//! at `r_k = s + O + k·T`, where `s` is the spawn time, and job `k` must complete by
//! `d_k = r_k + D` (`D` defaults to `T`: an implicit deadline). This is the periodic task model
//! of Liu & Layland (JACM 1973) and of Linux's SCHED_DEADLINE (`sched_attr.sched_period`,
//! `sched_deadline`). Releases are on the grid: a late job never shifts later releases.
//!
//! One kairos task runs all jobs of a periodic task, one after the other (`driver.rs`): it sets
//! its own deadline to `d_k` and *then* sleeps until `r_k` (so the timer's wake-up queues it
//! with the job's deadline: under `Edf` the release is ordered, and preempts, by `d_k`), runs
//! the job's future to completion, and accounts for it:
//!
//! - *release → start latency*: from `r_k` to the moment the job's first poll begins;
//! - *response time*: `completion - r_k`;
//! - *lateness*: `completion - d_k` (negative: early); the job *missed* iff lateness > 0.
//!
//! # Overruns
//!
//! A job still running when the next release comes (`completion > r_{k+1}`) is an *overrun*.
//! [`Overrun::Queue`] (default) runs the next job as soon as this one ends, with its own
//! release and deadline unchanged (it starts late and may miss). [`Overrun::Skip`] drops every
//! release that passed while the job ran, counting each as skipped, and continues with the first
//! release still in the future — the behaviour of rt-app's `timer` in absolute mode and of a
//! cyclic executive that sheds load.
//!
//! # Stopping
//!
//! [`PeriodicHandle::stop`] ends the task after the job in progress (if any): no further release
//! happens, the job running is not cancelled.

mod driver;
mod stats;

pub use stats::PeriodicStats;

use crate::loom::atomic::{AtomicBool, Ordering};
use crate::loom::{lock, Arc, Mutex};
use crate::task::JoinHandle;
use crate::time::Instant;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

pub(crate) use driver::run as run_driver;
pub(crate) use stats::Tracker;

/// What to do with releases that pass while a job overruns its period.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Overrun {
    /// Run every released job, late if need be (default).
    #[default]
    Queue,
    /// Skip releases that passed while the previous job ran; count them as skipped.
    Skip,
}

/// Parameters of a periodic task: period, relative deadline, offset, name, and the scheduling
/// parameters of its jobs.
///
/// ```
/// use kairos::{Overrun, Periodic};
/// use std::time::Duration;
/// let p = Periodic::new(Duration::from_millis(10))
///     .deadline(Duration::from_millis(4))
///     .offset(Duration::from_millis(1))
///     .wcet(Duration::from_millis(2))
///     .overrun(Overrun::Skip)
///     .name("audio");
/// assert_eq!(p.get_period(), Duration::from_millis(10));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Periodic {
    /// Time between two releases.
    period: Duration,
    /// Relative deadline; `None`: the period.
    deadline: Option<Duration>,
    /// First release after spawn.
    offset: Duration,
    /// Worst-case execution time, for admission control.
    wcet: Option<Duration>,
    /// Behaviour on overrun.
    overrun: Overrun,
    /// Priority of its jobs under `Priority`.
    priority: u8,
    /// Nice value of its jobs under `Fair`.
    nice: i8,
    /// Metrics name.
    name: Option<&'static str>,
}

impl Periodic {
    /// A task released every `period`, with an implicit deadline (= period), no offset.
    ///
    /// ```
    /// let p = kairos::Periodic::new(std::time::Duration::from_millis(1));
    /// assert_eq!(p.get_deadline(), std::time::Duration::from_millis(1));
    /// ```
    pub fn new(period: Duration) -> Periodic {
        Periodic {
            period,
            deadline: None,
            offset: Duration::ZERO,
            wcet: None,
            overrun: Overrun::Queue,
            priority: 0,
            nice: 0,
            name: None,
        }
    }

    /// The relative deadline of each job (from its release). Default: the period.
    ///
    /// ```
    /// let p = kairos::Periodic::new(std::time::Duration::from_millis(10))
    ///     .deadline(std::time::Duration::from_millis(2));
    /// assert_eq!(p.get_deadline(), std::time::Duration::from_millis(2));
    /// ```
    pub fn deadline(mut self, d: Duration) -> Periodic {
        self.deadline = Some(d);
        self
    }

    /// Delay of the first release after the spawn. Default: zero.
    ///
    /// ```
    /// let p = kairos::Periodic::new(std::time::Duration::from_millis(10))
    ///     .offset(std::time::Duration::from_millis(3));
    /// # let _ = p;
    /// ```
    pub fn offset(mut self, offset: Duration) -> Periodic {
        self.offset = offset;
        self
    }

    /// Worst-case execution time of one job, used by admission control
    /// ([`Builder::admission_control`](crate::Builder::admission_control)), which requires it.
    ///
    /// ```
    /// let p = kairos::Periodic::new(std::time::Duration::from_millis(10))
    ///     .wcet(std::time::Duration::from_millis(1));
    /// # let _ = p;
    /// ```
    pub fn wcet(mut self, wcet: Duration) -> Periodic {
        self.wcet = Some(wcet);
        self
    }

    /// What to do when a job overruns its period. Default: [`Overrun::Queue`].
    ///
    /// ```
    /// let p = kairos::Periodic::new(std::time::Duration::from_millis(10))
    ///     .overrun(kairos::Overrun::Skip);
    /// # let _ = p;
    /// ```
    pub fn overrun(mut self, overrun: Overrun) -> Periodic {
        self.overrun = overrun;
        self
    }

    /// Priority of the jobs under `Priority` (0 lowest, 255 highest). Default 0.
    ///
    /// ```
    /// let p = kairos::Periodic::new(std::time::Duration::from_millis(10)).priority(200);
    /// # let _ = p;
    /// ```
    pub fn priority(mut self, priority: u8) -> Periodic {
        self.priority = priority;
        self
    }

    /// Nice value of the jobs under `Fair` (-20..=19). Default 0.
    ///
    /// ```
    /// let p = kairos::Periodic::new(std::time::Duration::from_millis(10)).nice(-5);
    /// # let _ = p;
    /// ```
    pub fn nice(mut self, nice: i8) -> Periodic {
        self.nice = nice.clamp(-20, 19);
        self
    }

    /// A name for metrics ([`Metrics::by_name`](crate::Metrics::by_name)).
    ///
    /// ```
    /// let p = kairos::Periodic::new(std::time::Duration::from_millis(10)).name("ctrl");
    /// # let _ = p;
    /// ```
    pub fn name(mut self, name: &'static str) -> Periodic {
        self.name = Some(name);
        self
    }

    /// The period.
    ///
    /// ```
    /// let p = kairos::Periodic::new(std::time::Duration::from_millis(7));
    /// assert_eq!(p.get_period().as_millis(), 7);
    /// ```
    pub fn get_period(&self) -> Duration {
        self.period
    }

    /// The relative deadline (the period unless set).
    ///
    /// ```
    /// let p = kairos::Periodic::new(std::time::Duration::from_millis(7));
    /// assert_eq!(p.get_deadline().as_millis(), 7);
    /// ```
    pub fn get_deadline(&self) -> Duration {
        self.deadline.unwrap_or(self.period)
    }

    /// The offset of the first release.
    pub(crate) fn get_offset(&self) -> Duration {
        self.offset
    }

    /// The worst-case execution time, if given.
    pub(crate) fn get_wcet(&self) -> Option<Duration> {
        self.wcet
    }

    /// The priority of the jobs.
    pub(crate) fn get_priority(&self) -> u8 {
        self.priority
    }

    /// The scheduling parameters of the driver task.
    pub(crate) fn sched(&self) -> crate::sched::Sched {
        let s = crate::sched::Sched::default()
            .priority(self.priority)
            .nice(self.nice);
        match self.name {
            Some(name) => s.name(name),
            None => s,
        }
    }
}

/// One job of a periodic task, passed to the job function.
///
/// ```
/// use kairos::{Job, Periodic, Runtime};
/// use std::time::Duration;
/// let rt = Runtime::builder().workers(1).build().unwrap();
/// let h = rt
///     .spawn_periodic(Periodic::new(Duration::from_millis(1)), |job: Job| async move {
///         assert!(job.deadline() > job.release());
///         if job.index() == 2 {
///             kairos::task::should_yield(); // any work here
///         }
///     })
///     .unwrap();
/// while h.stats().completed < 3 {
///     std::thread::yield_now();
/// }
/// h.stop();
/// rt.block_on(h.join());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Job {
    /// Release time.
    release: Instant,
    /// Absolute deadline.
    deadline: Instant,
    /// 0-based job number.
    index: u64,
}

impl Job {
    /// When the job was released (on the grid, not when it started).
    pub fn release(&self) -> Instant {
        self.release
    }

    /// The job's absolute deadline: release + relative deadline.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The job's number: 0 for the first release.
    pub fn index(&self) -> u64 {
        self.index
    }
}

/// State shared by a periodic task's driver and its handle.
pub(crate) struct Control {
    /// Set by `stop`.
    stopped: AtomicBool,
    /// The driver's waker while it waits for a release.
    waker: Mutex<Option<Waker>>,
    /// Statistics.
    pub(crate) stats: Tracker,
}

impl Control {
    /// Fresh control block.
    pub(crate) fn new() -> Control {
        Control {
            stopped: AtomicBool::new(false),
            waker: Mutex::new(None),
            stats: Tracker::new(),
        }
    }

    /// Whether `stop` was called.
    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// Stops further releases and wakes the driver if it waits for one.
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        if let Some(w) = lock(&self.waker).take() {
            w.wake();
        }
    }

    /// Registers the driver's waker (then re-checks the flag, so a `stop` in between is seen).
    pub(crate) fn register(&self, waker: &Waker) {
        let mut slot = lock(&self.waker);
        match &*slot {
            Some(w) if w.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
    }
}

/// Handle to a periodic task: statistics, stop, join.
///
/// Dropping the handle does not stop the task; call [`stop`](Self::stop).
pub struct PeriodicHandle {
    /// Shared with the driver.
    control: Arc<Control>,
    /// The driver task.
    join: JoinHandle<()>,
    /// Called once when the handle stops the task (admission control forgets it).
    pub(crate) on_stop: Option<Box<dyn Fn() + Send + Sync>>,
}

impl PeriodicHandle {
    /// Wraps a spawned driver.
    pub(crate) fn new(control: Arc<Control>, join: JoinHandle<()>) -> PeriodicHandle {
        PeriodicHandle {
            control,
            join,
            on_stop: None,
        }
    }

    /// A snapshot of the task's statistics.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// let h = rt.spawn_periodic(kairos::Periodic::new(Duration::from_millis(1)), |_| async {}).unwrap();
    /// while h.stats().completed == 0 {
    ///     std::thread::yield_now();
    /// }
    /// assert!(h.stats().released >= 1);
    /// h.stop();
    /// ```
    pub fn stats(&self) -> PeriodicStats {
        self.control.stats.snapshot()
    }

    /// Stops the task: no release after the job in progress (which is not cancelled).
    /// Idempotent.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// let h = rt.spawn_periodic(kairos::Periodic::new(Duration::from_secs(3600)), |_| async {}).unwrap();
    /// h.stop();
    /// rt.block_on(h.join()); // ends at once: the next release never comes
    /// ```
    pub fn stop(&self) {
        if !self.control.stopped.load(Ordering::Acquire) {
            if let Some(f) = &self.on_stop {
                f();
            }
        }
        self.control.stop();
    }

    /// Whether [`stop`](Self::stop) was called.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// let h = rt.spawn_periodic(kairos::Periodic::new(Duration::from_secs(1)), |_| async {}).unwrap();
    /// assert!(!h.is_stopped());
    /// h.stop();
    /// assert!(h.is_stopped());
    /// ```
    pub fn is_stopped(&self) -> bool {
        self.control.is_stopped()
    }

    /// Waits until the task has ended (after [`stop`](Self::stop), or when the runtime shuts
    /// down) and returns its final statistics. See [`stop`](Self::stop) for an example.
    pub fn join(self) -> Join {
        Join {
            join: self.join,
            control: self.control,
        }
    }
}

impl fmt::Debug for PeriodicHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeriodicHandle")
            .field("stopped", &self.is_stopped())
            .field("stats", &self.stats())
            .finish()
    }
}

/// Future of [`PeriodicHandle::join`]: ready with the final statistics when the periodic task
/// has ended.
#[must_use = "futures do nothing unless awaited"]
pub struct Join {
    /// The driver task.
    join: JoinHandle<()>,
    /// Its statistics.
    control: Arc<Control>,
}

impl fmt::Debug for Join {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join").field("task", &self.join).finish()
    }
}

impl Future for Join {
    type Output = PeriodicStats;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<PeriodicStats> {
        // A cancelled driver (runtime shutdown) or a panicking job also ends the task.
        Pin::new(&mut self.join)
            .poll(cx)
            .map(|_| self.control.stats.snapshot())
    }
}
