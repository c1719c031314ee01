//! `Builder` and `Policy`: how a runtime is configured.

use super::thread_setup::{available_cores, ThreadSetup, WorkerPriority};
use super::Runtime;
use crate::error::BuildError;
use crate::policy::runqueue::QueueOrder;
use crate::task::TaskAllocator;
use crate::worker::{self, PolicyConfig, DEFAULT_SPIN_ROUNDS, MAX_WORKERS};

use std::time::Duration;

pub use crate::policy::Policy;

mod preemptive;

/// Configures and builds a [`Runtime`].
///
/// ```
/// use kairos::{Policy, Runtime};
/// let rt = Runtime::builder()
///     .workers(2)
///     .policy(Policy::Fifo)
///     .thread_name("my-app-worker")
///     .seed(42)
///     .build()
///     .expect("runtime");
/// assert_eq!(rt.block_on(rt.spawn(async { 1 + 1 })).unwrap(), 2);
/// ```
#[derive(Clone, Debug)]
#[must_use = "a Builder does nothing until build() is called"]
pub struct Builder {
    /// `None`: one per available core.
    workers: Option<usize>,
    policy: Policy,
    thread_name: String,
    seed: u64,
    spin_rounds: u32,
    task_allocator: TaskAllocator,
    /// `None`: the default for the runtime's mode (`timer_spin_for`).
    timer_spin: Option<Duration>,
    pinning: Pinning,
    priority: WorkerPriority,
    best_effort_priority: bool,
    aging_interval: Duration,
    fair_slice: Duration,
    admission_control: bool,
    deadline_share: u8,
    fair_reserve: u8,
    lock_memory: bool,
    /// `cpu_latency_qos`: the bound asked for.
    cpu_latency_qos: Option<Duration>,
    record_latency: Option<bool>,
    /// Trace from the start with this many events per worker.
    trace: Option<usize>,
    /// Keep per-task statistics for the task dump.
    track_tasks: bool,
    /// Report polls longer than this.
    long_poll: Option<(Duration, crate::trace::long_poll::Hook)>,
    /// Run the one worker on the thread that calls `block_on` (`current_thread`).
    current_thread: bool,
    /// The blocking pool's bound and keep-alive.
    blocking: worker::blocking::Limits,
    /// One group of worker threads per scheduling class, at OS priorities.
    preemptive_classes: bool,
}

/// Default [`Builder::aging_interval`]: 10 ms per level, so a priority-0 task reaches the top
/// level after 2.55 s of waiting.
pub const DEFAULT_AGING_INTERVAL: Duration = Duration::from_millis(10);

/// Default [`Builder::fair_slice`]: 1 ms, about CFS's minimum granularity (0.75 ms) rounded.
pub const DEFAULT_FAIR_SLICE: Duration = Duration::from_millis(1);

/// Default [`Builder::deadline_share`]: 95%, Linux's default share for real-time threads
/// (`sched_rt_runtime_us / sched_rt_period_us` = 950000 / 1000000).
pub const DEFAULT_DEADLINE_SHARE: u8 = 95;

/// Default [`Builder::fair_reserve`]: 5%, what Linux's default leaves to non-real-time threads.
pub const DEFAULT_FAIR_RESERVE: u8 = 5;

/// [`Builder::preemptive_classes`]: the `SCHED_FIFO` priority of the deadline class's worker
/// threads, unless [`Builder::worker_priority`] names one (`WorkerPriority::Realtime(p)`).
pub const DEADLINE_CLASS_FIFO_PRIORITY: u8 = 20;

/// Default [`Builder::timer_spin`] under [`Builder::preemptive_classes`]: 60 µs.
///
/// Under preemptive classes the timer waiter is always a deadline-class worker, at
/// `SCHED_FIFO`, and a periodic release is usually a deadline task's. Waking from a timed sleep
/// on an idle core takes tens of microseconds (on a virtual machine, whose idle vCPU first has to
/// be scheduled again, 30-50 µs was measured), and while that worker wakes, a busy deadline
/// worker may fire the timer at a cooperative check and queue the release behind its own job.
/// Spinning the last 60 µs keeps the waiter awake when the release falls due, so it fires the
/// timer and polls the released task itself: the release-to-poll p99 of `mixed-latency`'s
/// control task went from a median 1.35x kernel `SCHED_FIFO` threads' to 1.04x over 16-17
/// alternating runs (`docs/benchmarks.md`, "Session 11"). The cost is at most that much CPU per timed wake of a
/// deadline worker, taken from the fair class's thread on that core, and never more than a tenth
/// of that worker's time: after a spin of `s` the worker sleeps all the way for the next `9 s`.
/// The spin ends early when the worker is woken for work. [`Builder::timer_spin`] overrides it
/// (`Duration::ZERO`: off).
pub const PREEMPTIVE_CLASSES_TIMER_SPIN: Duration = Duration::from_micros(60);

/// How workers are placed on cores.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Pinning {
    /// Wherever the OS schedules them.
    None,
    /// Worker i on the i-th available core (mod their number).
    Spread,
    /// Worker i on `cores[i % cores.len()]`.
    Cores(Vec<usize>),
}

/// Seed used when none is given: fixed, so runs are reproducible by default.
const DEFAULT_SEED: u64 = 0x6b61_6972_6f73_2d31; // "kairos-1"

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

impl Builder {
    /// A builder with the defaults: one worker per available core, `Policy::Fifo`, threads named
    /// `kairos-worker-N`, a fixed seed.
    ///
    /// ```
    /// let rt = kairos::Builder::new().build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn new() -> Builder {
        Builder {
            workers: None,
            policy: Policy::Fifo,
            thread_name: "kairos-worker".to_owned(),
            seed: DEFAULT_SEED,
            spin_rounds: DEFAULT_SPIN_ROUNDS,
            task_allocator: TaskAllocator::Pool,
            timer_spin: None,
            pinning: Pinning::None,
            priority: WorkerPriority::Normal,
            best_effort_priority: false,
            aging_interval: DEFAULT_AGING_INTERVAL,
            fair_slice: DEFAULT_FAIR_SLICE,
            admission_control: false,
            deadline_share: DEFAULT_DEADLINE_SHARE,
            fair_reserve: DEFAULT_FAIR_RESERVE,
            lock_memory: false,
            cpu_latency_qos: None,
            record_latency: None,
            trace: None,
            track_tasks: false,
            long_poll: None,
            current_thread: false,
            blocking: worker::blocking::Limits::default(),
            preemptive_classes: false,
        }
    }

    /// A current-thread runtime: one worker and no worker thread. [`Runtime::block_on`] runs that
    /// worker on the calling thread, polling its future and the runtime's tasks in turn (timers
    /// and I/O included), as tokio's `current_thread` flavour does. Between `block_on` calls
    /// nothing runs: spawned tasks wait for the next one. The policy, the seed and everything
    /// else apply as usual; [`workers`](Self::workers) must stay 1, and pinning and worker
    /// priority are refused (there is no worker thread to set them on: set them on the thread
    /// that calls `block_on`). Only one `block_on` drives the worker at a time; a second one,
    /// from another thread, waits for its future like on a threaded runtime.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().current_thread().build().unwrap();
    /// let caller = std::thread::current().id();
    /// let ran_on = rt.block_on(async { kairos::spawn(async { std::thread::current().id() }).await });
    /// assert_eq!(ran_on.unwrap(), caller);
    /// ```
    pub fn current_thread(mut self) -> Builder {
        self.current_thread = true;
        self.workers = Some(1);
        self
    }

    /// Number of worker threads (at least 1). Default: the number of cores available to the
    /// process (`std::thread::available_parallelism`).
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// assert_eq!(rt.metrics().workers, 1);
    /// ```
    pub fn workers(mut self, workers: usize) -> Builder {
        self.workers = Some(workers);
        self
    }

    /// The scheduling policy. Default: [`Policy::Fifo`].
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().policy(kairos::Policy::Fifo).build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn policy(mut self, policy: Policy) -> Builder {
        self.policy = policy;
        self
    }

    /// `Priority` only: a waiting task's effective priority rises one level per `interval` of
    /// waiting (and drops back to its base when it runs), so nothing starves: a task of base
    /// priority `b` is at the top level after `(255 - b) * interval`. Default
    /// [`DEFAULT_AGING_INTERVAL`] (10 ms). `Duration::MAX` turns aging off. Zero is an error at
    /// `build()`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = kairos::Runtime::builder()
    ///     .policy(kairos::Policy::Priority)
    ///     .aging_interval(Duration::from_millis(1))
    ///     .build()
    ///     .unwrap();
    /// # drop(rt);
    /// ```
    pub fn aging_interval(mut self, interval: Duration) -> Builder {
        self.aging_interval = interval;
        self
    }

    /// `Fair`, and the fair class of `Classes`: a poll that has run this long is asked to yield
    /// at its next cooperative check ([`task::should_yield`](crate::task::should_yield)). Default
    /// [`DEFAULT_FAIR_SLICE`] (1 ms). Zero is an error at `build()`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = kairos::Runtime::builder()
    ///     .policy(kairos::Policy::Fair)
    ///     .fair_slice(Duration::from_micros(500))
    ///     .build()
    ///     .unwrap();
    /// # drop(rt);
    /// ```
    pub fn fair_slice(mut self, slice: Duration) -> Builder {
        self.fair_slice = slice;
        self
    }

    /// Admission control for periodic tasks: with `true`,
    /// [`Runtime::spawn_periodic`](crate::Runtime::spawn_periodic) refuses a task (with an
    /// [`AdmissionError`](crate::AdmissionError) naming the test and the numbers) when the
    /// periodic task set would fail the policy's schedulability test. Needs `Edf`, `Priority`
    /// or `Classes` (`build()` fails otherwise; under `Classes` the periodic tasks are in the
    /// deadline class, held to [`deadline_share`](Self::deadline_share) and EDF's test).
    /// Default: off.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder()
    ///     .policy(kairos::Policy::Edf)
    ///     .admission_control(true)
    ///     .build()
    ///     .unwrap();
    /// # drop(rt);
    /// ```
    pub fn admission_control(mut self, on: bool) -> Builder {
        self.admission_control = on;
        self
    }

    /// `Classes` with [`admission_control`](Self::admission_control): the share of every
    /// worker, in percent, that the deadline class may use. `spawn_periodic` refuses a task
    /// when the periodic set's total utilization would exceed `share * workers`
    /// ([`AdmissionError`](crate::AdmissionError) `DeadlineShare`, naming the numbers; the rule
    /// of Linux's `SCHED_DEADLINE`), then runs the EDF test of the worker count. Default
    /// [`DEFAULT_DEADLINE_SHARE`] (95%). More than 100, or more than 100 minus
    /// [`fair_reserve`](Self::fair_reserve), is an error at `build()`.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder()
    ///     .policy(kairos::Policy::Classes)
    ///     .admission_control(true)
    ///     .deadline_share(80)
    ///     .build()
    ///     .unwrap();
    /// # drop(rt);
    /// ```
    pub fn deadline_share(mut self, percent: u8) -> Builder {
        self.deadline_share = percent;
        self
    }

    /// `Classes`: the share of every worker, in percent, kept for the fair class: the deadline
    /// class's share ([`deadline_share`](Self::deadline_share)) may not exceed 100 minus it
    /// (`build()` fails otherwise). Admitted periodic tasks whose jobs stay within their
    /// budget (`Sched::budget`) then leave at least this share to the classes below the
    /// deadline class (`docs/policies.md`, "Budgets and admission", says what it does not
    /// cover: the priority class is not limited). Default [`DEFAULT_FAIR_RESERVE`] (5%).
    ///
    /// ```
    /// let err = kairos::Runtime::builder()
    ///     .policy(kairos::Policy::Classes)
    ///     .fair_reserve(10)
    ///     .build()
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("deadline_share"));
    /// ```
    pub fn fair_reserve(mut self, percent: u8) -> Builder {
        self.fair_reserve = percent;
        self
    }

    /// Locks the whole process's memory in RAM at `build()`, now and for every later allocation
    /// (`mlockall(MCL_CURRENT | MCL_FUTURE)`, Linux), so that no page fault to swap or to a
    /// dropped file page stalls a real-time task. It is process-wide and stays after the
    /// runtime is dropped. Needs a large enough `RLIMIT_MEMLOCK` or `CAP_IPC_LOCK`; when the OS
    /// refuses, `build()` fails with [`BuildError::LockMemory`], which names the limit and what
    /// to do. Default: off.
    ///
    /// ```
    /// // Without the limit or the capability, the error says what to change.
    /// match kairos::Runtime::builder().workers(1).lock_memory(true).build() {
    ///     Ok(rt) => drop(rt),
    ///     Err(e) => eprintln!("{e}"),
    /// }
    /// ```
    pub fn lock_memory(mut self, on: bool) -> Builder {
        self.lock_memory = on;
        self
    }

    /// Asks Linux to keep every CPU's wake-up from idle within `limit` while the runtime lives
    /// (the kernel's CPU latency QoS, through `/dev/cpu_dma_latency`, as cyclictest and
    /// real-time audio servers do; `Duration::ZERO` keeps idle CPUs in states they leave at
    /// once). An idle CPU then wakes for a timer or an unpark without the exit latency of a deep
    /// idle state, or on a VM the cost of a halted virtual CPU: on the 2-core VM of
    /// `docs/benchmarks.md` a 1 ms timer's release → poll p50 went from 36 to 18 µs, as
    /// cyclictest's went from 42 (`--laptop`) to 17 µs. The price is power, on every CPU of the
    /// machine (the kernel applies the smallest request of any process to all of them), for as
    /// long as the runtime lives; the request is withdrawn when it is dropped
    /// ([`CpuLatencyQos`](crate::CpuLatencyQos) makes the same request without a runtime).
    ///
    /// Needs write access to `/dev/cpu_dma_latency` (root's by default); without it `build()`
    /// fails with [`BuildError::CpuLatencyQos`]. Default: no request. The bound is taken in
    /// whole microseconds (rounded down, at most `i32::MAX`).
    ///
    /// ```
    /// use std::time::Duration;
    /// match kairos::Runtime::builder().workers(1).cpu_latency_qos(Duration::ZERO).build() {
    ///     Ok(rt) => drop(rt),
    ///     Err(e) => eprintln!("{e}"), // not root: the error says what is needed
    /// }
    /// ```
    pub fn cpu_latency_qos(mut self, limit: Duration) -> Builder {
        self.cpu_latency_qos = Some(limit);
        self
    }

    /// Whether every poll's scheduling latency (ready → poll) and duration are recorded in the
    /// histograms of [`Metrics::tasks`](crate::Metrics::tasks) and `by_name`. It costs two or
    /// three clock reads per poll (20–60 ns each on a 2-core VM) and two histogram records.
    /// Default: on for `Edf`, `Priority` and `Fair` (latency policies, which read the clock
    /// anyway), off for `Fifo`, the throughput policy (as tokio's poll-time histogram is
    /// opt-in). Periodic jobs' response time, lateness and misses are recorded either way (once
    /// per job).
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).record_latency(true).build().unwrap();
    /// rt.block_on(rt.spawn(async {})).unwrap();
    /// assert_eq!(rt.metrics().tasks.poll_duration.count(), 1);
    /// ```
    pub fn record_latency(mut self, on: bool) -> Builder {
        self.record_latency = Some(on);
        self
    }

    /// Most threads the runtime's blocking pool runs at once ([`spawn_blocking`](crate::spawn_blocking()),
    /// [`kairos::fs`](crate::fs)). The pool starts a thread only when no idle one can take a
    /// job; past the bound, jobs wait in its queue for a thread to finish one. Default: 512.
    /// 0 is refused by [`build`](Self::build).
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).max_blocking_threads(2).build().unwrap();
    /// let sum = rt.block_on(async {
    ///     let a = kairos::spawn_blocking(|| 1);
    ///     let b = kairos::spawn_blocking(|| 2);
    ///     let c = kairos::spawn_blocking(|| 3); // waits for one of two threads
    ///     a.await.unwrap() + b.await.unwrap() + c.await.unwrap()
    /// });
    /// assert_eq!(sum, 6);
    /// ```
    pub fn max_blocking_threads(mut self, threads: usize) -> Builder {
        self.blocking.max_threads = threads;
        self
    }

    /// How long an idle blocking-pool thread waits for a job before it exits; the pool shrinks
    /// back to no thread when it has nothing to do. `Duration::ZERO`: a thread exits as soon as
    /// the queue is empty (no idle threads kept; each burst of jobs starts threads anew).
    /// Default: 10 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = kairos::Runtime::builder()
    ///     .workers(1)
    ///     .blocking_keep_alive(Duration::from_millis(500))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(rt.block_on(async { kairos::spawn_blocking(|| 7).await.unwrap() }), 7);
    /// ```
    pub fn blocking_keep_alive(mut self, keep_alive: Duration) -> Builder {
        self.blocking.keep_alive = keep_alive;
        self
    }

    /// Prefix of worker thread names; worker `i` is named `"{prefix}-{i}"`. Default:
    /// `kairos-worker`. Linux shows the first 15 bytes (in `top -H`, `ps -L`).
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).thread_name("rt").build().unwrap();
    /// let name = rt.block_on(rt.spawn(async {
    ///     std::thread::current().name().map(str::to_owned)
    /// }));
    /// assert_eq!(name.unwrap().as_deref(), Some("rt-0"));
    /// ```
    pub fn thread_name(mut self, prefix: impl Into<String>) -> Builder {
        self.thread_name = prefix.into();
        self
    }

    /// Seed of the scheduler's random choices (the order in which an idle worker visits steal
    /// victims). Default: a fixed constant, so two runs of the same program make the same
    /// choices wherever thread timing allows it.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().seed(7).build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn seed(mut self, seed: u64) -> Builder {
        self.seed = seed;
        self
    }

    /// How many search rounds an idle worker spins (stealing, with backoff) before it parks.
    /// More rounds: lower wake-up latency when work arrives in quick succession, more CPU burnt
    /// when the runtime goes idle. 0 makes a single steal pass, then parks. Default: 32 (about
    /// 10–50 µs).
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().spin_rounds(0).build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn spin_rounds(mut self, rounds: u32) -> Builder {
        self.spin_rounds = rounds;
        self
    }

    /// Where task blocks (header, future, output) are allocated. Default:
    /// [`TaskAllocator::Pool`], the process-wide fixed-size pool (O(1), no system calls or page
    /// faults in steady state), with the global allocator as the counted fallback.
    ///
    /// ```
    /// use kairos::{Runtime, TaskAllocator};
    /// let rt = Runtime::builder().task_allocator(TaskAllocator::System).build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn task_allocator(mut self, allocator: TaskAllocator) -> Builder {
        self.task_allocator = allocator;
        self
    }

    /// How long before a timer's deadline the worker waiting for it stops sleeping in the
    /// kernel and spins instead, to release the timer closer to its deadline (kernel wake-up
    /// latency is tens of microseconds). Costs that stretch of CPU per timer wake-up, at most a
    /// tenth of the waiting worker's time (after a spin of `s`, the next `9 s` sleep all the
    /// way); a wake for work during the spin ends it at once. Default: zero (sleep all the
    /// way), except under [`preemptive_classes`](Self::preemptive_classes), where the deadline
    /// class's workers spin [`PREEMPTIVE_CLASSES_TIMER_SPIN`] (60 µs); `Duration::ZERO` turns
    /// that off.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = kairos::Runtime::builder().timer_spin(Duration::from_micros(20)).build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn timer_spin(mut self, spin: Duration) -> Builder {
        self.timer_spin = Some(spin);
        self
    }

    /// The timer spin the workers use: the one set, or the default of the mode
    /// (`class_threads`: preemptive classes granted).
    fn timer_spin_for(&self, class_threads: bool) -> Duration {
        self.timer_spin.unwrap_or(if class_threads {
            PREEMPTIVE_CLASSES_TIMER_SPIN
        } else {
            Duration::ZERO
        })
    }

    /// Pins worker `i` to the `i`-th core the process may run on (modulo their number), queried
    /// from the OS before any thread starts. Default: off.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).pin_workers(true).build();
    /// // Ok where the OS allows pinning; otherwise a BuildError naming the core.
    /// # drop(rt);
    /// ```
    pub fn pin_workers(mut self, pin: bool) -> Builder {
        self.pinning = if pin { Pinning::Spread } else { Pinning::None };
        self
    }

    /// Pins worker `i` to `cores[i % cores.len()]` (OS core ids, as `taskset` shows them).
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(2).pin_to(vec![0]).build();
    /// # drop(rt);
    /// ```
    pub fn pin_to(mut self, cores: Vec<usize>) -> Builder {
        self.pinning = Pinning::Cores(cores);
        self
    }

    /// OS scheduling priority of the worker threads. Default: [`WorkerPriority::Normal`].
    /// Without the privilege it needs, `build()` fails with [`BuildError::Priority`] naming
    /// the missing capability, unless [`best_effort_priority`](Self::best_effort_priority) is
    /// on.
    ///
    /// `Realtime` workers preempt everything of lower priority on their cores while they run;
    /// idle workers park (after `spin_rounds`), and Linux's real-time throttling keeps 5% of
    /// each second for other threads, but a task that never awaits keeps its core busy.
    ///
    /// ```
    /// use kairos::WorkerPriority;
    /// let rt = kairos::Runtime::builder().worker_priority(WorkerPriority::Nice(5)).build();
    /// assert!(rt.is_ok()); // raising the nice value needs no privilege
    /// ```
    pub fn worker_priority(mut self, priority: WorkerPriority) -> Builder {
        self.priority = priority;
        self
    }

    /// If the worker priority cannot be applied, print a warning to stderr and run at normal
    /// priority instead of failing `build()`. Default: off.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder()
    ///     .worker_priority(kairos::WorkerPriority::Realtime(10))
    ///     .best_effort_priority(true)
    ///     .build();
    /// assert!(rt.is_ok());
    /// ```
    pub fn best_effort_priority(mut self, best_effort: bool) -> Builder {
        self.best_effort_priority = best_effort;
        self
    }

    /// Records a runtime trace from the start, with room for `capacity` events per worker
    /// (events past it are counted as lost); [`Runtime::stop_trace`] returns it. Default: no
    /// trace (start one later with [`Runtime::start_trace`]). See `docs/observability.md`.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).trace(1 << 16).build().unwrap();
    /// rt.block_on(rt.spawn(async {})).unwrap();
    /// let trace = rt.stop_trace().unwrap();
    /// assert!(!trace.events().is_empty());
    /// ```
    pub fn trace(mut self, capacity: usize) -> Builder {
        self.trace = Some(capacity);
        self
    }

    /// Keeps, for every live task, where it was spawned, how often and how long it was polled,
    /// and when it last was, for [`Runtime::dump`]. It costs a short lock at each spawn,
    /// completion and poll, and two clock reads per poll. Default: off (the dump then lists the
    /// tasks, their states and parameters, with poll statistics only while a trace runs).
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).track_tasks(true).build().unwrap();
    /// let t = rt.spawn(std::future::pending::<()>());
    /// let dump = rt.dump();
    /// assert_eq!(dump.tasks()[0].spawned_at.unwrap().line(), line!() - 2);
    /// # drop(t);
    /// ```
    pub fn track_tasks(mut self, on: bool) -> Builder {
        self.track_tasks = on;
        self
    }

    /// Calls `callback` for every poll that takes longer than `threshold`, with the task's id,
    /// name and spawn location (a blocking call inside a task shows up here). Turns on
    /// [`track_tasks`](Self::track_tasks) for the spawn locations, and times every poll (two
    /// clock reads). The callback runs on the worker, right after the poll: keep it short.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use std::time::Duration;
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let log = seen.clone();
    /// let rt = kairos::Runtime::builder()
    ///     .workers(1)
    ///     .long_poll(Duration::from_millis(20), move |p| log.lock().unwrap().push(p.name))
    ///     .build()
    ///     .unwrap();
    /// let slow = kairos::Sched::default().name("slow");
    /// rt.block_on(rt.spawn_with(slow, async { std::thread::sleep(Duration::from_millis(30)) }))
    ///     .unwrap();
    /// drop(rt);
    /// assert_eq!(*seen.lock().unwrap(), vec![Some("slow")]);
    /// ```
    pub fn long_poll(
        mut self,
        threshold: Duration,
        callback: impl Fn(&crate::trace::LongPoll) + Send + Sync + 'static,
    ) -> Builder {
        self.long_poll = Some((
            threshold,
            crate::trace::long_poll::Hook(std::sync::Arc::new(callback)),
        ));
        self
    }

    /// Preemptive scheduling classes (needs [`Policy::Classes`]): each class gets its own
    /// worker threads, `workers` of them (so `3 × workers` threads in all), at OS priorities
    /// one above the other: the deadline class's at `SCHED_FIFO` priority
    /// [`DEADLINE_CLASS_FIFO_PRIORITY`] (20), the priority class's at `SCHED_FIFO` one below,
    /// the fair class's at `SCHED_OTHER`. When a task of a higher class becomes runnable while
    /// every core computes fair tasks, the kernel preempts a fair worker in the middle of its
    /// poll: no cooperative check is needed, so a fair task that never yields no longer delays
    /// deadline and priority tasks. Default: off (cooperative classes).
    ///
    /// - **Threads and cores**: worker `j` of each class shares a core with worker `j` of the
    ///   others when pinned ([`pin_workers`](Self::pin_workers), [`pin_to`](Self::pin_to)).
    ///   The higher classes' threads park when their class has nothing to run. Worker threads
    ///   are numbered class by class (`{prefix}-0` .. `{prefix}-{n-1}` deadline, then
    ///   priority, then fair), and [`Metrics`](crate::Metrics) counts all of them.
    /// - **Priorities**: [`worker_priority`](Self::worker_priority)`(Realtime(p))` moves the
    ///   deadline class to `p` and the priority class to `p - 1` (`p` at least 2);
    ///   `Nice(n)` applies to the fair class's threads.
    /// - **A task that changes class** (`task::set_deadline`, `set_priority`, inheritance)
    ///   moves to its new class's threads at its next wake or yield; a running one is asked to
    ///   yield at its next cooperative check.
    /// - **Privilege**: needs `CAP_SYS_NICE` (or a sufficient `RLIMIT_RTPRIO`). `build()`
    ///   checks first, with a short-lived probe thread, and fails with
    ///   [`BuildError::PreemptiveClasses`], or with
    ///   [`best_effort_priority`](Self::best_effort_priority) prints a warning and builds
    ///   cooperative classes on `workers` threads.
    /// - Not with [`current_thread`](Self::current_thread). The simulator runs `Classes`
    ///   cooperatively (`docs/policies.md`, "Preemptive classes").
    ///
    /// ```
    /// use kairos::{Policy, Runtime};
    /// // Without CAP_SYS_NICE this warns and runs cooperative classes.
    /// let rt = Runtime::builder()
    ///     .workers(1)
    ///     .policy(Policy::Classes)
    ///     .preemptive_classes(true)
    ///     .best_effort_priority(true)
    ///     .build()
    ///     .unwrap();
    /// assert!(matches!(rt.metrics().workers, 1 | 3));
    /// ```
    pub fn preemptive_classes(mut self, on: bool) -> Builder {
        self.preemptive_classes = on;
        self
    }

    /// Per-worker setup, validated before any thread starts: `workers` threads, or under
    /// preemptive classes (`class_threads`) `workers` per class, class by class.
    fn thread_setups(
        &self,
        workers: usize,
        class_threads: bool,
    ) -> Result<Vec<ThreadSetup>, BuildError> {
        if let Err(reason) = self.priority.validate() {
            return Err(BuildError::InvalidPriority {
                priority: self.priority,
                reason,
            });
        }
        let cores: Option<Vec<usize>> = match &self.pinning {
            Pinning::None => None,
            Pinning::Spread => {
                let available = available_cores().ok_or(BuildError::CoreListUnavailable)?;
                if available.is_empty() {
                    return Err(BuildError::CoreListUnavailable);
                }
                Some(available)
            }
            Pinning::Cores(cores) => {
                if cores.is_empty() {
                    return Err(BuildError::NoCores);
                }
                let available = available_cores().ok_or(BuildError::CoreListUnavailable)?;
                if let Some(&core) = cores.iter().find(|c| !available.contains(c)) {
                    return Err(BuildError::NoSuchCore { core, available });
                }
                Some(cores.clone())
            }
        };
        let priorities = if class_threads {
            self.class_priorities()?.to_vec()
        } else {
            vec![self.priority]
        };
        // Worker `j` of every class on the same core.
        Ok(priorities
            .iter()
            .flat_map(|&priority| (0..workers).map(move |i| (i, priority)))
            .map(|(i, priority)| ThreadSetup {
                core: cores.as_ref().map(|c| c[i % c.len()]),
                priority,
                best_effort: self.best_effort_priority,
            })
            .collect())
    }

    /// Starts the worker threads.
    ///
    /// # Errors
    /// [`BuildError`] if the configuration is invalid (no workers or more than the runtime
    /// supports, a zero `aging_interval` or `fair_slice`, admission control under `Fifo` or
    /// `Fair`, a worker priority out of range, cores to pin to that the process may not use) or
    /// a worker thread could not be started, pinned, or given its priority.
    ///
    /// ```
    /// assert!(kairos::Runtime::builder().workers(0).build().is_err());
    /// ```
    pub fn build(self) -> Result<Runtime, BuildError> {
        let workers = match self.workers {
            Some(0) => return Err(BuildError::NoWorkers),
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        if workers > MAX_WORKERS {
            return Err(BuildError::TooManyWorkers {
                requested: workers,
                max: MAX_WORKERS,
            });
        }
        let class_threads = self.use_class_threads()?;
        let threads = if class_threads {
            workers * worker::CLASSES
        } else {
            workers
        };
        if threads > MAX_WORKERS {
            return Err(BuildError::TooManyWorkers {
                requested: threads,
                max: MAX_WORKERS,
            });
        }
        let config = worker::Config {
            workers: threads,
            class_threads,
            seed: self.seed,
            spin_rounds: self.spin_rounds,
            task_allocator: self.task_allocator,
            timer_spin: self.timer_spin_for(class_threads),
            policy: self.policy_config()?,
            blocking: self.blocking,
        };
        if self.blocking.max_threads == 0 {
            return Err(BuildError::InvalidParameter {
                parameter: "max_blocking_threads",
                reason: "the blocking pool needs at least one thread to run spawn_blocking \
                         jobs: pass 1 or more",
            });
        }
        if self.trace == Some(0) {
            return Err(BuildError::InvalidParameter {
                parameter: "trace",
                reason: "needs room for at least one event per worker: pass a capacity above 0",
            });
        }
        if self.current_thread {
            if workers != 1 {
                return Err(BuildError::InvalidParameter {
                    parameter: "workers",
                    reason: "a current-thread runtime has one worker, the thread that calls \
                             block_on: drop current_thread() to get worker threads",
                });
            }
            if self.pinning != Pinning::None || self.priority != WorkerPriority::Normal {
                return Err(BuildError::InvalidParameter {
                    parameter: "current_thread",
                    reason: "pinning and worker priority apply to worker threads and a \
                             current-thread runtime has none: pin or prioritise the thread that \
                             calls block_on instead",
                });
            }
        }
        let setups = self.thread_setups(workers, class_threads)?;
        if self.lock_memory {
            crate::sys::lock_memory().map_err(|(errno, reason, limit)| BuildError::LockMemory {
                reason,
                limit,
                errno,
            })?;
        }
        // Before the threads start, so a refusal leaves nothing running.
        let qos = match self.cpu_latency_qos {
            None => None,
            Some(limit) => Some(crate::sys::CpuLatencyQos::hold(limit).map_err(|e| {
                BuildError::CpuLatencyQos {
                    reason: e.to_string(),
                }
            })?),
        };
        let mut runtime = Runtime::start(
            config,
            setups,
            &self.thread_name,
            self.trace,
            self.long_poll.map(|(_, hook)| hook.0),
            self.current_thread,
        )?;
        runtime.cpu_latency_qos = qos;
        Ok(runtime)
    }

    /// The policy and its parameters, validated.
    pub(crate) fn policy_config(&self) -> Result<PolicyConfig, BuildError> {
        if self.aging_interval.is_zero() {
            return Err(BuildError::InvalidParameter {
                parameter: "aging_interval",
                reason: "must be positive (Duration::MAX turns aging off)",
            });
        }
        if self.fair_slice.is_zero() {
            return Err(BuildError::InvalidParameter {
                parameter: "fair_slice",
                reason: "must be positive",
            });
        }
        if self.fair_reserve > 100 {
            return Err(BuildError::InvalidParameter {
                parameter: "fair_reserve",
                reason: "is a percentage: at most 100",
            });
        }
        if u16::from(self.deadline_share) + u16::from(self.fair_reserve) > 100 {
            return Err(BuildError::InvalidParameter {
                parameter: "deadline_share",
                reason: "plus fair_reserve must be at most 100 (percent of each worker): lower \
                         one of them",
            });
        }
        if self.admission_control && matches!(self.policy, Policy::Fifo | Policy::Fair) {
            return Err(BuildError::AdmissionUnsupported {
                policy: self.policy,
            });
        }
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let ordering = match self.policy {
            Policy::Fifo => None,
            Policy::Edf => Some(QueueOrder::Edf),
            Policy::Priority => Some(QueueOrder::Priority {
                aging_interval: nanos(self.aging_interval),
            }),
            Policy::Fair => Some(QueueOrder::Fair {
                sched_latency: crate::policy::fair::DEFAULT_SCHED_LATENCY_NS,
            }),
            Policy::Classes => Some(QueueOrder::Classes {
                aging_interval: nanos(self.aging_interval),
                sched_latency: crate::policy::fair::DEFAULT_SCHED_LATENCY_NS,
            }),
        };
        Ok(PolicyConfig {
            policy: self.policy,
            ordering,
            fair_slice: if matches!(self.policy, Policy::Fair | Policy::Classes) {
                nanos(self.fair_slice)
            } else {
                u64::MAX
            },
            admission_control: self.admission_control,
            deadline_share: self.deadline_share,
            record_latency: self.record_latency.unwrap_or(self.policy != Policy::Fifo),
            track_tasks: self.track_tasks || self.long_poll.is_some(),
            long_poll_ns: self.long_poll.as_ref().map_or(u64::MAX, |(t, _)| nanos(*t)),
            times_polls: false,
        }
        .with_timing())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The request holds while the runtime lives and goes with it. Needs root (the device is
    /// root's): skipped with a note otherwise; CI runs as root.
    #[cfg(not(loom))]
    #[test]
    fn cpu_latency_qos_holds_while_the_runtime_lives() {
        let Ok(before) = crate::sys::cpu_latency_qos_in_force() else {
            eprintln!("skipped: /dev/cpu_dma_latency is not readable here (needs root)");
            return;
        };
        let rt = match Builder::new()
            .workers(1)
            .cpu_latency_qos(Duration::from_micros(3))
            .build()
        {
            Ok(rt) => rt,
            Err(BuildError::CpuLatencyQos { reason }) => {
                eprintln!("skipped: no write access to /dev/cpu_dma_latency ({reason})");
                return;
            }
            Err(e) => panic!("unexpected build error: {e}"),
        };
        assert_eq!(
            crate::sys::cpu_latency_qos_in_force().unwrap(),
            before.min(3)
        );
        drop(rt);
        assert_eq!(crate::sys::cpu_latency_qos_in_force().unwrap(), before);
    }

    #[test]
    fn timer_spin_defaults_to_the_modes_and_an_explicit_one_wins() {
        let default = Builder::new();
        assert_eq!(default.timer_spin_for(false), Duration::ZERO);
        assert_eq!(default.timer_spin_for(true), PREEMPTIVE_CLASSES_TIMER_SPIN);
        let off = Builder::new().timer_spin(Duration::ZERO);
        assert_eq!(off.timer_spin_for(true), Duration::ZERO);
        let set = Builder::new().timer_spin(Duration::from_micros(7));
        assert_eq!(set.timer_spin_for(false), Duration::from_micros(7));
        assert_eq!(set.timer_spin_for(true), Duration::from_micros(7));
    }
}
