//! `Sim`: a simulated runtime, its clock, and the calls that drive it.

use super::builder::{Builder, Mode};
use super::driver::Advance;
use super::hook::{self, State};
use super::rng::SimRng;
use super::trace::{Trace, TraceBuf};
use super::{Digest, EPOCH};
use crate::context;
use crate::metrics::Metrics;
use crate::periodic::{Job, Periodic, PeriodicHandle};
use crate::policy::admission::AdmissionError;
use crate::rng::Rng;
use crate::runtime::{Handle, Policy};
use crate::sched::Sched;
use crate::task::{JoinHandle, TaskAllocator};
use crate::time::Instant;
use crate::worker::{self, AnyCore, PolicyConfig};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

/// Stream numbers of the seeded random streams (workers use their index).
const SCHED_STREAM: u64 = 0x5ced_0000_0000_0001;
const WORKLOAD_STREAM: u64 = 0x5ced_0000_0000_0002;
const USER_STREAM: u64 = 0x5ced_0000_0000_0003;

/// A deterministic simulation of a kairos runtime: the same workers, policy code and task code
/// as [`Runtime`](crate::Runtime), stepped on the calling thread with a virtual clock in integer
/// nanoseconds (see the [module docs](super)).
///
/// Inside [`block_on`](Sim::block_on) and [`run_for`](Sim::run_for), `kairos::spawn`,
/// `kairos::time::*`, `yield_now` and `kairos::work` work unchanged, on virtual time. Between
/// those calls the test thread sees the real clock; use [`Sim::now`] there. A `sleep(d)`,
/// `timeout(d, ..)` or `interval(p)` made there (outside any runtime) is anchored at its first
/// poll, so `sim.block_on(sleep(d))` waits `d` of virtual time; an absolute instant computed
/// there from `Instant::now()` is on the real clock: compute it inside the simulation.
///
/// ```
/// use kairos::sim;
/// use std::time::Duration;
///
/// let mut sim = sim::Builder::new().seed(7).workers(2).build().unwrap();
/// let start = sim.now();
/// sim.block_on(async {
///     kairos::time::sleep(Duration::from_secs(3600)).await; // instant in real time
/// });
/// assert_eq!(sim.now() - start, Duration::from_secs(3600));
/// ```
pub struct Sim {
    /// Reached by the hooks through the thread-local pointer; boxed for a stable address.
    pub(super) state: Box<State>,
    pub(super) handle: Handle,
    pub(super) workers: Vec<VirtualWorker>,
    /// Which ready worker (or parked worker, for a timer) goes next among ties.
    pub(super) sched_rng: Rng,
    workload_rng: Rng,
    pub(super) seed: u64,
    pub(super) cost_model: bool,
    pub(super) poll_overhead: u64,
    pub(super) steps_at_instant: u64,
    pub(super) max_steps_per_instant: u64,
    mode: Mode,
    policy: Policy,
}

/// A virtual worker: its core and where it is in time.
pub(super) struct VirtualWorker {
    /// `None` only while it is being stepped.
    pub(super) core: Option<AnyCore>,
    /// When it runs its next step (if not parked).
    pub(super) next_at: u64,
    /// Parked: waits for a notifier or a timer.
    pub(super) parked: bool,
    /// Its per-poll context between steps.
    pub(super) saved: context::Saved,
}

/// Sets both thread-locals (simulation state, runtime context) for the duration of a call.
struct Entered {
    _context: context::EnterGuard,
    _hook: hook::Enter,
}

impl Sim {
    /// Builds a simulation from a validated builder.
    pub(super) fn new(b: &Builder, sched: PolicyConfig) -> Sim {
        let n = b.workers;
        let (handle, cores) = worker::build(worker::Config {
            workers: n,
            // The simulator runs `Classes` cooperatively: one thread steps every virtual worker,
            // with no OS priorities to preempt with (`worker/class_threads.rs`).
            class_threads: false,
            seed: b.seed,
            // One search round per step (`spin_rounds` 0 means one pass): spinning cannot find
            // anything new on a single thread.
            spin_rounds: 0,
            task_allocator: TaskAllocator::Pool,
            timer_spin: Duration::ZERO,
            policy: sched,
            // The simulator runs blocking closures inline: the pool is never used.
            blocking: Default::default(),
        });
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let state = Box::new(State {
            now: Cell::new(EPOCH.as_nanos()),
            cost_model: b.mode == Mode::CostModel,
            cpu: (0..n).map(|_| Cell::new(EPOCH.as_nanos())).collect(),
            worker: Cell::new(None),
            busy: Cell::new(0),
            continuing: Cell::new(0),
            user_rng: RefCell::new(Rng::for_stream(b.seed, USER_STREAM)),
            trace: RefCell::new(TraceBuf::new(b.keep_trace)),
        });
        Sim {
            state,
            handle,
            workers: cores
                .into_iter()
                .map(|core| VirtualWorker {
                    core: Some(core),
                    next_at: EPOCH.as_nanos(),
                    parked: false,
                    saved: context::Saved::default(),
                })
                .collect(),
            sched_rng: Rng::for_stream(b.seed, SCHED_STREAM),
            workload_rng: Rng::for_stream(b.seed, WORKLOAD_STREAM),
            seed: b.seed,
            cost_model: b.mode == Mode::CostModel,
            poll_overhead: nanos(b.poll_overhead),
            steps_at_instant: 0,
            max_steps_per_instant: b.max_steps_per_instant,
            mode: b.mode,
            policy: sched.policy,
        }
    }

    fn enter(&self) -> Entered {
        Entered {
            _context: context::enter(&self.handle),
            // SAFETY: `Entered` is a local of this `Sim`'s methods, dropped on this thread before
            // `self.state` (owned by the `Sim`) can go.
            _hook: unsafe { hook::enter(&self.state) },
        }
    }

    /// Spawns a task (it is queued on the injector and runs once the simulation is driven).
    ///
    /// ```
    /// let mut sim = kairos::sim::Builder::new().build().unwrap();
    /// let h = sim.spawn(async { 1 + 1 });
    /// assert_eq!(sim.block_on(h).unwrap(), 2);
    /// ```
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let _e = self.enter();
        self.handle.spawn(future)
    }

    /// Spawns a task with scheduling parameters (deadlines relative to virtual now).
    ///
    /// ```
    /// use kairos::{sim, Policy, Sched};
    /// use std::time::Duration;
    /// let mut sim = sim::Builder::new().policy(Policy::Edf).build().unwrap();
    /// let h = sim.spawn_with(Sched::default().deadline(Duration::from_millis(1)), async { 3 });
    /// assert_eq!(sim.block_on(h).unwrap(), 3);
    /// ```
    pub fn spawn_with<F>(&self, sched: Sched, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let _e = self.enter();
        self.handle.spawn_with(sched, future)
    }

    /// Spawns a periodic task, as [`Runtime::spawn_periodic`](crate::Runtime::spawn_periodic),
    /// on virtual time: its first release is at virtual now plus the offset.
    ///
    /// # Errors
    /// As `Runtime::spawn_periodic` ([`AdmissionError`]).
    ///
    /// ```
    /// use kairos::{sim, Periodic, Policy};
    /// use std::time::Duration;
    /// let mut sim = sim::Builder::new().policy(Policy::Edf).build().unwrap();
    /// let h = sim
    ///     .spawn_periodic(Periodic::new(Duration::from_millis(5)), |_job| async {
    ///         kairos::work(Duration::from_millis(2)).await;
    ///     })
    ///     .unwrap();
    /// sim.run_for(Duration::from_millis(100));
    /// let stats = h.stats();
    /// assert_eq!(stats.completed, 20);
    /// assert_eq!(stats.missed, 0);
    /// ```
    pub fn spawn_periodic<F, Fut>(
        &self,
        periodic: Periodic,
        job: F,
    ) -> Result<PeriodicHandle, AdmissionError>
    where
        F: FnMut(Job) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let _e = self.enter();
        self.handle.spawn_periodic(periodic, job)
    }

    /// Runs the simulation until `future` completes and returns its output. The future is polled
    /// on this thread (not on a virtual worker), at the virtual instant it was woken; tasks it
    /// spawns go to the injector.
    ///
    /// # Panics
    /// If the run cannot go on: `future` is pending while every worker is parked and no timer is
    /// pending (a deadlock: nothing can ever wake it), or virtual time stops advancing (see
    /// [`Builder::max_steps_per_instant`]). The message names the seed.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut sim = kairos::sim::Builder::new().build().unwrap();
    /// // Made outside the simulation, the timeout is anchored at its first poll, on virtual time.
    /// let r = sim.block_on(kairos::time::timeout(Duration::from_secs(1), std::future::pending::<()>()));
    /// assert!(r.is_err());
    /// assert_eq!(sim.elapsed(), Duration::from_secs(1));
    /// ```
    pub fn block_on<F: Future>(&mut self, future: F) -> F::Output {
        let _e = self.enter();
        let woken = std::sync::Arc::new(Flag(AtomicBool::new(true)));
        let waker = Waker::from(woken.clone());
        let mut cx = Context::from_waker(&waker);
        let mut future = std::pin::pin!(future);
        loop {
            if woken.0.swap(false, Ordering::AcqRel) {
                if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                    return out;
                }
                continue;
            }
            if let Advance::Idle { .. } = self.advance(u64::MAX) {
                panic!(
                    "kairos::sim: deadlock at virtual time {} ns (seed {}): the future given to \
                     Sim::block_on is pending, every virtual worker is parked with nothing queued \
                     and no timer is pending, so nothing can wake it",
                    self.state.now.get(),
                    self.seed
                );
            }
        }
    }

    /// Runs the simulation for `d` of virtual time: every event up to `now + d` is processed,
    /// then the clock is at `now + d`.
    ///
    /// # Panics
    /// If virtual time stops advancing (see [`Builder::max_steps_per_instant`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut sim = kairos::sim::Builder::new().build().unwrap();
    /// let t0 = sim.now();
    /// sim.run_for(Duration::from_millis(250));
    /// assert_eq!(sim.now() - t0, Duration::from_millis(250));
    /// ```
    pub fn run_for(&mut self, d: Duration) {
        let _e = self.enter();
        let d = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let until = self.state.now.get().saturating_add(d);
        while self.advance(until) == Advance::Event {}
        if self.state.now.get() < until {
            self.state.now.set(until);
        }
    }

    /// Virtual now.
    ///
    /// ```
    /// let sim = kairos::sim::Builder::new().build().unwrap();
    /// assert_eq!(sim.now(), kairos::sim::EPOCH);
    /// ```
    pub fn now(&self) -> Instant {
        Instant::from_nanos(self.state.now.get())
    }

    /// Virtual time since the simulation started ([`EPOCH`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut sim = kairos::sim::Builder::new().build().unwrap();
    /// sim.run_for(Duration::from_secs(2));
    /// assert_eq!(sim.elapsed(), Duration::from_secs(2));
    /// ```
    pub fn elapsed(&self) -> Duration {
        self.now() - EPOCH
    }

    /// The seed this simulation was built with.
    ///
    /// ```
    /// assert_eq!(kairos::sim::Builder::new().seed(5).build().unwrap().seed(), 5);
    /// ```
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The policy.
    ///
    /// ```
    /// let sim = kairos::sim::Builder::new().build().unwrap();
    /// assert_eq!(sim.policy(), kairos::Policy::Fifo);
    /// ```
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// The time model.
    ///
    /// ```
    /// let sim = kairos::sim::Builder::new().build().unwrap();
    /// assert_eq!(sim.mode(), kairos::sim::Mode::CostModel);
    /// ```
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Number of virtual workers.
    ///
    /// ```
    /// assert_eq!(kairos::sim::Builder::new().workers(3).build().unwrap().workers(), 3);
    /// ```
    pub fn workers(&self) -> usize {
        self.workers.len()
    }

    /// The runtime's metrics, as [`Runtime::metrics`](crate::Runtime::metrics) (times virtual).
    ///
    /// ```
    /// let mut sim = kairos::sim::Builder::new().build().unwrap();
    /// sim.block_on(async { kairos::spawn(async {}).await.unwrap() });
    /// assert_eq!(sim.metrics().live_tasks, 0);
    /// ```
    pub fn metrics(&self) -> Metrics {
        let _e = self.enter();
        self.handle.metrics()
    }

    /// A snapshot of the trace (every event so far, if kept; see [`Builder::keep_trace`]).
    ///
    /// ```
    /// let mut sim = kairos::sim::Builder::new().build().unwrap();
    /// sim.block_on(async { kairos::spawn(async {}).await.unwrap() });
    /// assert!(sim.trace().events().len() > 3);
    /// ```
    pub fn trace(&self) -> Trace {
        self.state.trace.borrow().snapshot()
    }

    /// The digest of the trace so far (128 bits; hex in `Display`).
    ///
    /// ```
    /// let run = |seed| {
    ///     let mut sim = kairos::sim::Builder::new().seed(seed).workers(2).build().unwrap();
    ///     sim.block_on(async {
    ///         let hs: Vec<_> = (0..20).map(|i| kairos::spawn(async move { i })).collect();
    ///         for h in hs { h.await.unwrap(); }
    ///     });
    ///     sim.digest()
    /// };
    /// assert_eq!(run(1), run(1));
    /// ```
    pub fn digest(&self) -> Digest {
        self.state.trace.borrow().digest()
    }

    /// Number of events recorded so far.
    ///
    /// ```
    /// let sim = kairos::sim::Builder::new().build().unwrap();
    /// assert_eq!(sim.events(), 0);
    /// ```
    pub fn events(&self) -> u64 {
        self.state.trace.borrow().len()
    }

    /// A random stream for generating the workload (task sets, arrival times), derived from the
    /// seed and separate from the scheduling and user streams: drawing from it does not change
    /// any scheduling decision. Each call returns the next fork of the stream.
    ///
    /// ```
    /// let mut a = kairos::sim::Builder::new().seed(1).build().unwrap();
    /// let mut b = kairos::sim::Builder::new().seed(1).build().unwrap();
    /// assert_eq!(a.workload_rng().next_u64(), b.workload_rng().next_u64());
    /// ```
    pub fn workload_rng(&mut self) -> SimRng {
        SimRng::new(self.workload_rng.next_u64())
    }

    /// A handle usable from other threads (spawns from there go to the injector and run when the
    /// simulation is driven; their order then depends on those threads: keep scenarios on the
    /// simulation's thread for determinism).
    ///
    /// ```
    /// let mut sim = kairos::sim::Builder::new().build().unwrap();
    /// let h = sim.handle().spawn(async { 4 });
    /// assert_eq!(sim.block_on(h).unwrap(), 4);
    /// ```
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }
}

/// `block_on`'s waker: a flag the loop checks before each event.
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }
    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }
}

impl Drop for Sim {
    /// Shuts the simulated runtime down as `Runtime`'s drop does (every live task is cancelled
    /// and its future dropped, on virtual time). If the thread is panicking (a failed test), the
    /// seed is printed so the run can be replayed.
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "kairos::sim: a simulation with seed {seed} was running when the thread panicked \
                 (virtual time {} ns); replay it with KAIROS_SEED={seed}",
                self.state.now.get(),
                seed = self.seed
            );
        }
        let _e = self.enter();
        let handle = self.handle.clone();
        let shared = handle.shared();
        shared.signal_shutdown();
        for w in &mut self.workers {
            if let Some(core) = w.core.take() {
                shared.worker_exited(core);
            }
        }
        shared.cleanup();
    }
}

impl fmt::Debug for Sim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sim")
            .field("seed", &self.seed)
            .field("workers", &self.workers.len())
            .field("policy", &self.policy)
            .field("mode", &self.mode)
            .field("now_ns", &self.state.now.get())
            .field("events", &self.events())
            .finish_non_exhaustive()
    }
}
