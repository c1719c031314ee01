//! Workers: the threads that poll tasks, and one scheduling step.
//!
//! # Families
//!
//! The run queues come in two families, chosen once when the runtime is built, as tokio picks
//! its scheduler flavour: the **Fifo** core (`fifo.rs`: a lock-free ring per worker, stolen from
//! in halves, and an unordered injector) and the **ordered** core (`ordered.rs`: `Edf`,
//! `Priority` and `Fair`, a locked policy structure per worker with lock-free mirrors of its
//! head, an ordered injector, and preemption requests between workers). Each family brings its
//! own queues and its own pick, steal and push code through [`Family`]; a worker's loop is
//! monomorphised for its family, so it does not branch on the family at any pick. The family is
//! matched once per thread (at start), once per wake from inside a poll (the thread-local core is
//! an [`AnyCore`]), and on the cold paths that concern every queue (shutdown, the idle
//! protocol's recheck).
//!
//! Scheduling classes (deadline > priority > fair) run in the ordered core (its queues hold the
//! three classes), monomorphised apart from the other ordered policies (`AnyCore::Classes`) so
//! that their paths carry nothing of it; under preemptive classes the workers are split into one group per class at
//! different OS priorities, each group picking, stealing and parking among itself
//! (`class_threads.rs`). The current-thread flavour is one core stepped by the thread that calls
//! `block_on` with a parking [`Env`] that also drives I/O.
//!
//! # One step
//!
//! [`step`] is the unit of scheduling: pick the next task, poll it, account for it, and if there
//! is nothing to run, search (steal) and finally park. The real runtime calls it in a loop on each
//! worker thread with [`ThreadEnv`] (the OS parks the thread); the simulator (`sim/driver.rs`)
//! calls the same function for virtual workers with `sim_env::SimEnv`. The policy's ordering lives
//! in `policy/` and `queue/`, not here, so both drivers make the same decisions.
//!
//! # Picking the next task
//!
//! 0. Fire due timers (one atomic load when none is pending; a clock read otherwise): the woken
//!    tasks join the local queue in deadline order. If a socket created the reactor, check it
//!    for I/O events without blocking every `reactor::EVENT_INTERVAL`-th tick and whenever
//!    `reactor::EVENT_CHECK_NS` passed since this worker's last check (a clock read per step
//!    once a reactor exists: long polls must not leave sockets unchecked for 61 of them).
//! 1. Every [`INJECTOR_INTERVAL`]-th tick, the injector first: a worker whose local queue never
//!    empties (tasks that keep waking each other) must still serve tasks spawned from outside.
//! 2. The local queue.
//! 3. A batch from the injector.
//! 4. Search: steal from another worker's queue, visiting victims from a random start (the
//!    worker's seeded stream), spinning with backoff for `spin_rounds` rounds.
//! 5. Park until notified (`idle.rs` decides who is woken). The timer waiter waits for I/O
//!    and its next timer in one call once there is a reactor (`reactor/mod.rs`).
//!
//! The families refine 1–4 (the ordered core compares the heads of every queue at each pick:
//! `ordered.rs`). With one worker and no other thread scheduling tasks, every choice above is a
//! function of the order of spawns and wakes, so the poll order is the same on every run.

/// Calls `$body` with `$core` bound to the boxed core of whichever family `$any` holds.
// Defined before the submodules, which use it.
macro_rules! with_any_core {
    ($any:expr, $core:ident => $body:expr) => {
        match $any {
            AnyCore::Fifo($core) => $body,
            AnyCore::Ordered($core) => $body,
            AnyCore::Classes($core) => $body,
        }
    };
}

mod accounting;
pub(crate) mod blocking;
mod build;
pub(crate) mod class_threads;
mod fifo;
mod handle;
pub(crate) mod idle;
mod lifecycle;
pub(crate) mod metrics;
mod ordered;
pub(crate) mod park;
mod patience;
pub(crate) mod preempt;
pub(crate) mod reactor;
mod schedule;
mod shared;
pub(crate) mod sim_env;
mod spawn;

use crate::context;
use crate::event::clock::{fast_ns, now_ns};
use crate::event::{self, EventKind};
use crate::loom::atomic::{AtomicBool, Ordering};
use crate::loom::{Arc, Backoff};
use crate::rng::Rng;
use crate::task::Notified;
use park::Parker;
use std::task::Waker;

pub(crate) use build::{build, Config, PolicyConfig};
pub(crate) use class_threads::CLASSES;
pub use handle::Handle;
pub(crate) use idle::MAX_WORKERS;
pub(crate) use reactor::EVENT_CHECK_NS;
pub(crate) use shared::Shared;

/// Check the injector first every this many ticks. 61, as Go's `schedtick % 61`: a prime, so it
/// does not fall into step with periodic patterns in the workload.
pub(crate) const INJECTOR_INTERVAL: u32 = 61;

/// Default number of search rounds before parking. Each round tries every victim and the
/// injector, then backs off (spin hints doubling up to 64, then a `yield`). About 10–50 µs on
/// current x86 cores: long enough to absorb the gap between two messages of a ping-pong without
/// a futex sleep and wake, short enough not to burn a core when the runtime goes idle.
pub(crate) const DEFAULT_SPIN_ROUNDS: u32 = 32;

/// One family of run queues: its queues, and its pick, steal, push and drain code.
pub(crate) trait Family: Sized + Send + 'static {
    /// The family's queues, shared by the workers (in an `Arc` held by every core and by
    /// [`Shared`]).
    type Queues: Send + Sync;
    /// A worker's private part of them (the ring's owner end; the ordered core's bookkeeping).
    type Local: Send;
    /// What the worker learns about a task when it picks it (the ordered core: its key).
    type Key;

    /// Puts a core in the type-erased form the thread-local context and the simulator hold.
    fn erase(core: Box<Core<Self>>) -> AnyCore;

    /// The inverse of [`erase`](Family::erase).
    fn unerase(core: AnyCore) -> Box<Core<Self>>;

    /// Steps 1–3 of the module docs.
    fn next_task(core: &mut Core<Self>, shared: &Shared) -> Option<Picked<Self::Key>>;

    /// One search round (step 4): another worker's queue, then the injector.
    fn steal(core: &mut Core<Self>, shared: &Shared) -> Option<Picked<Self::Key>>;

    /// Before the poll of a picked task: what the family publishes about it (the ordered
    /// core's running urgency and preemption recheck, `Fair`'s virtual runtime).
    fn begin_poll(core: &mut Core<Self>, shared: &Shared, picked: &Picked<Self::Key>);

    /// Queues `task`, scheduled on this worker's thread, on its local queue; says whether to
    /// wake a parked worker for it.
    fn push_local(core: &mut Core<Self>, shared: &Shared, task: Notified) -> Wake;

    /// The worker is about to park (nothing to run).
    fn before_park(core: &mut Core<Self>, shared: &Shared);

    /// The worker woke from a park.
    fn after_park(core: &mut Core<Self>, shared: &Shared);

    /// Releases every task reference in the worker's local queue (shutdown).
    fn drain(core: &mut Core<Self>);
}

/// A worker's private state. Moved into the thread-local context while a task is polled, so that
/// `spawn` and wakes on this thread can push to the local queue.
pub(crate) struct Core<F: Family> {
    /// Index of this worker.
    index: usize,
    /// The family's queues (this worker's own among them).
    queues: Arc<F::Queues>,
    /// This worker's private part of them.
    local: F::Local,
    /// Victim-order stream, seeded from the runtime seed and the worker index.
    rng: Rng,
    /// Stream for `kairos::select!`'s start branch (`macros.rs`), seeded like `rng` on a
    /// stream of its own, so that selects never shift the victim order.
    select_rng: Rng,
    /// Tasks picked so far (wrapping), for the periodic injector check. Advanced only when a
    /// task is picked, so it is a function of the schedule, not of how long the worker idled.
    tick: u32,
    /// When this worker last checked the reactor without blocking (clock ns; `step`).
    last_io_check: u64,
    /// Counted in `Idle` as searching.
    is_searching: bool,
    /// The last search left work in another worker's ring to its owner (Fifo's patience,
    /// `patience.rs`): the park that follows lasts at most `patience::RECHECK_NS`, and its
    /// recheck skips the rings.
    declined: bool,
    /// The current search is the first since a wake for surplus: Fifo steals at first sight
    /// (`patience.rs`, "Woken for surplus").
    eager: bool,
    /// This worker's sleep.
    park: Parker,
    /// The timer waiter's spin (`sleep`) may start no earlier than this (clock ns): after a
    /// spin of `s`, the next waits [`SPIN_COOLDOWN`]` × s`, so spinning takes at most a tenth
    /// of the worker's time however dense the timers are.
    spin_allowed_at: u64,
    /// Simulation only: the task whose poll continues after a charged `work` slice (see
    /// `sim/hook.rs`). Always `None` on the real runtime.
    resume: Option<Notified>,
}

/// After a timer spin of `s`, the waiter sleeps all the way until `SPIN_COOLDOWN × s` has
/// passed: spinning is at most 1 / (1 + `SPIN_COOLDOWN`) = 10% of a worker's time.
const SPIN_COOLDOWN: u64 = 9;

/// Added to a worker's index to name its `select!` stream (victim streams are the indices).
const SELECT_STREAM: u64 = 1 << 32;

impl AnyCore {
    /// A start index below `n` for `kairos::select!`, from this worker's select stream.
    pub(crate) fn select_start(&mut self, n: u32) -> u32 {
        match self {
            AnyCore::Fifo(core) => core.select_rng.below(n),
            AnyCore::Ordered(core) => core.select_rng.below(n),
            AnyCore::Classes(core) => core.select_rng.below(n),
        }
    }
}

/// A worker core of either family: what the thread-local context, the simulator and shutdown
/// hold.
pub(crate) enum AnyCore {
    /// A `Fifo` core.
    Fifo(Box<Core<fifo::FifoFamily>>),
    /// An `Edf`, `Priority` or `Fair` core.
    Ordered(Box<Core<ordered::OrderedFamily<false>>>),
    /// A `Classes` core: the ordered core with the classes' own paths (budgets, worker groups).
    Classes(Box<Core<ordered::OrderedFamily<true>>>),
}

/// What a push onto a worker's own queue asks of the caller (`schedule.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub(crate) enum Wake {
    /// Nothing: this worker runs the task when its current poll returns.
    No,
    /// Wake a parked worker now: other tasks were queued ahead of this one, or it is more
    /// urgent than this worker's running task while another worker idles.
    Now,
    /// The only queued task, no more urgent than this worker's running task, while another
    /// worker idles: wake a parked worker at this poll's next explicit cooperative check if the
    /// task is still queued then (`coop.rs`). A poll that returns first (a task that wakes
    /// another and then awaits, as in a ping-pong) costs no wake-up and no migration; a long
    /// poll delays the task by at most one cooperative-check gap.
    AtCheck,
}

/// What a driver does when a worker has nothing to run.
pub(crate) trait Env {
    /// Blocks the worker until it may have work (or shutdown began). Takes and returns the core
    /// so that work found while parking (expired timers) can go to its local queue.
    fn park<F: Family>(&mut self, core: Box<Core<F>>, shared: &Shared) -> Box<Core<F>>;
}

/// The real-thread environment: parks the OS thread.
pub(crate) struct ThreadEnv;

impl Env for ThreadEnv {
    fn park<F: Family>(&mut self, core: Box<Core<F>>, shared: &Shared) -> Box<Core<F>> {
        core.park_thread(shared)
    }
}

/// Outcome of one [`step`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// A task was polled.
    Polled,
    /// Nothing to run; the worker parked (and has been woken since).
    Parked,
    /// Shutdown began: the worker must stop.
    Shutdown,
}

/// A task chosen to run, with what the family learnt about it.
pub(crate) struct Picked<K> {
    /// The task.
    task: Notified,
    /// Its key under an ordered policy; `()` under `Fifo`.
    key: K,
}

/// One scheduling step of worker `core` (see the module docs).
///
/// `#[inline]` (with `next_task` and `run_task`): the worker loop's hot path, which must stay
/// inlined into [`run_loop`] although it is generic over [`Env`] (`docs/benchmarks.md`).
#[inline]
pub(crate) fn step<F: Family>(
    mut core: Box<Core<F>>,
    shared: &Shared,
    env: &mut impl Env,
) -> (Box<Core<F>>, Step) {
    if shared.is_shutdown() {
        return (core, Step::Shutdown);
    }
    // Due timers first: their tasks go to this worker's queue (the core is in the context).
    if let Some(deadline) = shared.timers().next_deadline() {
        let now = now_ns();
        if deadline <= now {
            core = core.fire_timers(shared, now);
        }
    }
    if shared.reactor().is_some() && core.io_check_due() {
        core = core.poll_io_now(shared);
    }
    if let Some(task) = core.resume.take() {
        return (core.resume_task(task), Step::Polled);
    }
    let picked = match F::next_task(&mut core, shared) {
        Some(picked) => Some(picked),
        None => core.search(shared),
    };
    match picked {
        Some(picked) => {
            // Ticks count tasks picked, not steps: idle steps depend on thread timing, and the
            // periodic injector check must fall on the same pick in every run.
            core.tick = core.tick.wrapping_add(1);
            if core.is_searching {
                core.is_searching = false;
                if shared
                    .idle_of(core.index)
                    .transition_worker_from_searching()
                {
                    // We were the last searcher and found work: there may be more.
                    shared.notify_after_search(core.index);
                }
            }
            (core.run_task(picked, shared), Step::Polled)
        }
        None => {
            F::before_park(&mut core, shared);
            event::emit(EventKind::Park, || (0, 0, 0));
            let mut core = env.park(core, shared);
            F::after_park(&mut core, shared);
            (core, Step::Parked)
        }
    }
}

/// The worker thread's main loop.
pub(crate) fn run(core: AnyCore, handle: Handle) {
    crate::sys::set_min_timer_slack();
    // If the loop ever unwinds (a runtime bug: task and waker panics are caught), the worker
    // must still count as exited, or shutdown would wait for it forever.
    let guard = ExitGuard {
        shared: handle.shared(),
        armed: true,
    };
    let index = core.index();
    let core = context::enter_worker(&handle, index, || match core {
        // The one match on the family: each loop is monomorphised for its own.
        AnyCore::Fifo(core) => AnyCore::Fifo(run_loop(core, handle.shared())),
        AnyCore::Ordered(core) => AnyCore::Ordered(run_loop(core, handle.shared())),
        AnyCore::Classes(core) => AnyCore::Classes(run_loop(core, handle.shared())),
    });
    crate::trace::session::leave_worker();
    let mut guard = guard;
    guard.armed = false;
    handle.shared().worker_exited(core);
}

/// Steps worker `core` until shutdown.
///
/// `#[inline]`: its one call site per family (in `run`) may sit in another codegen unit, and the
/// loop with its inlined step must end up in one function (`docs/benchmarks.md`, "Runtime
/// tracing").
#[inline]
fn run_loop<F: Family>(mut core: Box<Core<F>>, shared: &Shared) -> Box<Core<F>> {
    let mut env = ThreadEnv;
    // The tracing generation this worker's event sink is synced with (`trace/session.rs`).
    let mut trace_seen = 0;
    loop {
        // A trace started or stopped: install or remove this worker's event sink (cold). Here,
        // not in `step`, which must stay small enough to be inlined (`docs/benchmarks.md`).
        let trace = shared.trace().generation();
        if trace != trace_seen {
            trace_seen = trace;
            crate::trace::session::sync_worker(shared.trace(), core.index);
        }
        let (next, step) = step(core, shared, &mut env);
        core = next;
        if step == Step::Shutdown {
            return core;
        }
    }
}

/// The environment of a current-thread runtime's one worker, driven by `block_on` on the calling
/// thread (`drive`): parks like a worker thread, and also comes back when the `block_on` future
/// is woken.
struct DriverEnv<'a> {
    /// Set by the `block_on` future's waker (which then unparks this worker).
    woken: &'a AtomicBool,
}

impl Env for DriverEnv<'_> {
    fn park<F: Family>(&mut self, core: Box<Core<F>>, shared: &Shared) -> Box<Core<F>> {
        core.park_thread_until(shared, || self.woken.load(Ordering::Acquire))
    }
}

/// Runs worker `core` on the calling thread, as a current-thread runtime's `block_on` does:
/// calls `main` (which polls the `block_on` future) whenever `woken` is set (it starts set), and
/// steps the worker in between (tasks, timers, I/O, parking). Returns the core and `main`'s
/// output, or no output if the runtime began shutting down.
pub(crate) fn drive<R>(
    core: AnyCore,
    handle: &Handle,
    woken: &AtomicBool,
    mut main: impl FnMut() -> Option<R>,
) -> (AnyCore, Option<R>) {
    let index = core.index();
    context::enter_worker(handle, index, || match core {
        AnyCore::Fifo(core) => {
            let (core, out) = drive_loop(core, handle.shared(), woken, &mut main);
            (AnyCore::Fifo(core), out)
        }
        AnyCore::Ordered(core) => {
            let (core, out) = drive_loop(core, handle.shared(), woken, &mut main);
            (AnyCore::Ordered(core), out)
        }
        AnyCore::Classes(core) => {
            let (core, out) = drive_loop(core, handle.shared(), woken, &mut main);
            (AnyCore::Classes(core), out)
        }
    })
}

/// The loop of [`drive`] for one family.
fn drive_loop<F: Family, R>(
    mut core: Box<Core<F>>,
    shared: &Shared,
    woken: &AtomicBool,
    main: &mut impl FnMut() -> Option<R>,
) -> (Box<Core<F>>, Option<R>) {
    let mut env = DriverEnv { woken };
    loop {
        if woken.swap(false, Ordering::AcqRel) {
            if let Some(out) = main() {
                return (core, Some(out));
            }
        }
        let (next, step) = step(core, shared, &mut env);
        core = next;
        if step == Step::Shutdown {
            return (core, None);
        }
    }
}

/// Marks the worker exited if its loop unwinds (see `run`).
struct ExitGuard<'a> {
    shared: &'a Shared,
    /// Disarmed on the normal exit path, which reports the exit with the core.
    armed: bool,
}

impl Drop for ExitGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.shared.worker_never_started(None);
        }
    }
}

impl<F: Family> Core<F> {
    /// A new core for worker `index`.
    fn new(index: usize, seed: u64, queues: Arc<F::Queues>, local: F::Local, park: Parker) -> Self {
        Core {
            index,
            queues,
            local,
            rng: Rng::for_stream(seed, index as u64),
            select_rng: Rng::for_stream(seed, SELECT_STREAM | index as u64),
            tick: 0,
            last_io_check: 0,
            spin_allowed_at: 0,
            is_searching: false,
            declined: false,
            eager: false,
            park,
            resume: None,
        }
    }

    /// Polls `picked` with this core in the thread context, and returns the core.
    // Always: the ordered family's `begin_poll` grew a (cold) `Classes` branch, and with it the
    // inliner left this out of the worker loop, at ~50 instructions per poll.
    #[inline(always)]
    fn run_task(mut self: Box<Self>, picked: Picked<F::Key>, shared: &Shared) -> Box<Self> {
        let header = picked.task.header();
        let start = if shared.times_polls() { fast_ns() } else { 0 };
        let ready_at = header.policy.ready_at();
        let latency = (ready_at != 0).then(|| start.saturating_sub(ready_at));
        // Consumed: a later poll without a new stamp (none should exist) records no latency
        // rather than a stale one.
        header.policy.set_ready_at(0);
        F::begin_poll(&mut self, shared, &picked);
        shared.worker_metrics(self.index).inc_polls();
        context::begin_poll(header, start, latency);
        let id = header.id.0;
        event::poll_start(id, false, || header.policy.name());
        #[cfg(feature = "tracing")]
        let _span = tracing::trace_span!("poll", task = id, name = header.policy.name()).entered();
        // The task may spawn or wake tasks on this thread: they go to our local queue,
        // through the core in the context.
        let task = picked.task;
        let core = F::unerase(context::with_core(F::erase(self), || task.run()));
        // A poll that ended without being accounted for (the task was cancelled, or had
        // completed) must not leave a pointer to a task that may be freed by now.
        context::end_poll();
        record_poll_end(id);
        core
    }

    /// Simulation only: continues the poll of `task` after a charged `work` slice. Nothing is
    /// picked and the poll's accounting (start, latency, budget, preemption request) carries
    /// over: for the policies it is one poll, as on the real runtime where the slice is spun.
    #[cold]
    fn resume_task(self: Box<Self>, task: Notified) -> Box<Self> {
        let id = task.header().id.0;
        context::resume_poll(task.header());
        event::poll_start(id, true, || task.header().policy.name());
        let core = F::unerase(context::with_core(F::erase(self), || task.run()));
        context::end_poll();
        record_poll_end(id);
        core
    }

    /// Fires due timers with this core in the context, so that the woken tasks join its local
    /// queue in deadline order.
    fn fire_timers(self: Box<Self>, shared: &Shared, now: u64) -> Box<Self> {
        F::unerase(context::with_core(F::erase(self), || {
            shared.fire_timers(now)
        }))
    }

    /// A parked worker wakes because timers are due at `now` (its timed park returned, or the
    /// simulator's event loop chose it). It leaves the parked state *before* firing: the woken
    /// tasks then see a searcher and wake nobody else; this worker runs them (one kernel wake-up
    /// per timer, not two). If a notifier already chose it, it counted it as searching too. The
    /// woken tasks go to the local queue in deadline order, exactly as when a busy worker fires
    /// timers between polls.
    fn wake_for_timers(mut self: Box<Self>, shared: &Shared, now: u64) -> Box<Self> {
        shared.idle_of(self.index).unpark_self(self.index);
        self.is_searching = true;
        self.fire_timers(shared, now)
    }

    /// Whether a busy worker checks the reactor now: every [`reactor::EVENT_INTERVAL`] picks, or
    /// once [`reactor::EVENT_CHECK_NS`] passed since its last check. The pick count alone leaves
    /// sockets unchecked for 61 polls, which is 12 ms of 200 µs polls: an urgent request would
    /// wait that long to be seen, whatever its deadline.
    #[inline]
    fn io_check_due(&mut self) -> bool {
        let now = now_ns();
        if self.tick.is_multiple_of(reactor::EVENT_INTERVAL)
            || now.saturating_sub(self.last_io_check) >= reactor::EVENT_CHECK_NS
        {
            self.last_io_check = now;
            return true;
        }
        false
    }

    /// A busy worker's I/O check: if no other thread holds the reactor's turn, take the events
    /// that are ready without blocking and wake their tasks with this core in the context.
    #[cold]
    fn poll_io_now(self: Box<Self>, shared: &Shared) -> Box<Self> {
        // A system call, with or without events: the next poll's slice starts after it.
        event::forget_stamp();
        let io = shared.ready_io_now();
        if io.is_empty() {
            return self;
        }
        F::unerase(context::with_core(F::erase(self), || wake_io(shared, io)))
    }

    /// A parked worker wakes because I/O events came (`io`) and/or timers are due: as
    /// [`wake_for_timers`](Core::wake_for_timers), it leaves the parked state on its own and
    /// wakes the tasks with its core in the context, so they join its local queue.
    fn wake_for_events(
        mut self: Box<Self>,
        shared: &Shared,
        io: Vec<Waker>,
        timers: bool,
    ) -> Box<Self> {
        shared.idle_of(self.index).unpark_self(self.index);
        self.is_searching = true;
        F::unerase(context::with_core(F::erase(self), || {
            wake_io(shared, io);
            if timers {
                shared.fire_timers(now_ns());
            }
        }))
    }

    /// Step 4: become a searcher (if allowed) and try to steal, spinning with backoff.
    fn search(&mut self, shared: &Shared) -> Option<Picked<F::Key>> {
        if !self.is_searching {
            self.is_searching = shared.idle_of(self.index).transition_worker_to_searching();
            if !self.is_searching {
                return None;
            }
        }
        // At least one pass, even with `spin_rounds(0)`: a searcher that never looks would park
        // as the last searcher, find the work in its recheck, wake itself, and loop forever.
        // Between rounds: spin hints doubling from 1 to 64, then yield the CPU (`snooze`).
        // A round that leaves work to its owners (Fifo's patience) ends the search once the
        // owners had twice the patience window to show they are stuck: past it, looking on
        // would only spin; the park that follows is bounded (`patience.rs`).
        // A search may spin for a while without an event: the next poll's slice starts after it.
        event::forget_stamp();
        let backoff = Backoff::new();
        let mut declined_since = None;
        self.eager = shared.take_surplus_wake(self.index);
        for _ in 0..shared.spin_rounds().max(1) {
            self.declined = false;
            if let Some(task) = F::steal(self, shared) {
                return Some(task);
            }
            if shared.is_shutdown() {
                return None;
            }
            if self.declined {
                let now = now_ns();
                let since = *declined_since.get_or_insert(now);
                if now.saturating_sub(since) >= 2 * patience::PATIENCE_NS {
                    break;
                }
            }
            backoff.snooze();
        }
        None
    }

    /// Step 5 on a real thread: leave the unparked count, recheck if last searcher, sleep until
    /// notified, timers are due, or shutdown.
    ///
    /// Never inlined: a worker with nothing to run is about to sleep, so a call costs nothing
    /// here, and the worker loop, into which the hot path (pick, poll) is inlined, stays smaller.
    #[inline(never)]
    fn park_thread(self: Box<Self>, shared: &Shared) -> Box<Self> {
        self.park_thread_until(shared, || false)
    }

    /// [`park_thread`](Self::park_thread), also returning (unparked and searching, as if chosen)
    /// once `stop()` holds: the current-thread driver's park, which must come back when the
    /// `block_on` future is woken. Whoever makes `stop()` true unparks this worker afterwards, so
    /// the check before each sleep loses no wake-up (the parker keeps the unpark).
    #[inline(always)]
    fn park_thread_until(
        mut self: Box<Self>,
        shared: &Shared,
        stop: impl Fn() -> bool,
    ) -> Box<Self> {
        self.park_enter(shared);
        // A search that left work to its owners looks again within `RECHECK_NS` (`patience.rs`).
        let recheck_at = self
            .declined
            .then(|| now_ns().saturating_add(patience::RECHECK_NS));
        loop {
            if stop() {
                if shared.idle_of(self.index).unpark_self(self.index) {
                    self.is_searching = true;
                }
                return self;
            }
            let (timers_due, io) = self.sleep(shared, recheck_at);
            crate::trace::session::after_park(shared.trace(), self.index);
            event::emit(EventKind::Unpark, || (0, u64::from(timers_due), 0));
            if shared.is_shutdown() {
                return self;
            }
            if timers_due || !io.is_empty() {
                let core = self.wake_for_events(shared, io, timers_due);
                // This worker is about to run what fired and gave up the waiter token: if more
                // timers are pending, a parked worker must take over the wait, or the next
                // deadline would wait for this worker's next step (a whole poll, or longer).
                if shared.timers().next_deadline().is_some() {
                    shared.notify_timer_waiter();
                }
                return core;
            }
            if !shared.idle_of(self.index).is_parked(self.index) {
                // Chosen by `worker_to_notify`, which counted us as searching.
                self.is_searching = true;
                return self;
            }
            if recheck_at.is_some_and(|at| now_ns() >= at) {
                // Searching again, as if chosen (or chosen meanwhile: counted as searching too).
                shared.idle_of(self.index).unpark_self(self.index);
                self.is_searching = true;
                return self;
            }
            // Spurious wake-up (an unpark meant for a previous park): sleep again.
        }
    }

    /// Leaves the unparked count (and the searchers); the last searcher rechecks every queue.
    /// Shared by the thread and simulated parks.
    fn park_enter(&mut self, shared: &Shared) {
        shared.worker_metrics(self.index).inc_parks();
        // A wake for surplus counts for the first search after it only (`patience.rs`).
        shared.take_surplus_wake(self.index);
        if shared.idle_of(self.index).transition_worker_to_parked(
            self.index,
            self.is_searching,
            self.declined,
        ) {
            shared.notify_if_work_pending(self.index, self.declined);
        }
        self.is_searching = false;
    }

    /// Sleeps until unparked; as the timer waiter (if the token is free and this worker may
    /// hold it), at most until the earliest timer (see `time/driver.rs`), and in the I/O poller
    /// if there is a reactor. Returns whether timers are due now, and the wakers of the tasks
    /// I/O events made ready.
    ///
    /// Under preemptive classes only the deadline group's workers hold the token: a release
    /// then wakes the thread that runs it, at the top OS priority, by its own timed park. Were
    /// a lower group's worker the waiter, the release would take two wake-ups in a row (the
    /// waiter's, then the deadline worker's), and the first at a lower OS priority. While every
    /// deadline worker is busy, nobody sleeps with a timeout: the busy workers of every group
    /// fire due timers between polls and at cooperative checks (`coop.rs`).
    ///
    /// With a timer spin (`Builder::timer_spin`), the waiter blocks until that long before the
    /// deadline and spins the rest, unless an unpark ends the spin first; a spin of `s` is
    /// followed by at least `SPIN_COOLDOWN × s` without one.
    ///
    /// A worker that finds the token taken may wait as the co-waiter instead (`co_wait`).
    ///
    /// With `limit` (clock ns), it sleeps no later than that in any case (`patience.rs`).
    fn sleep(&mut self, shared: &Shared, limit: Option<u64>) -> (bool, Vec<Waker>) {
        let timers = shared.timers();
        if shared.group_of(self.index) != 0 {
            self.park_until(limit);
            return (false, Vec::new());
        }
        if !timers.try_become_waiter(self.index) {
            return (self.co_wait(shared, limit), Vec::new());
        }
        // Token held: read the deadline and the reactor only now (the handshakes with
        // `register` and `Shared::reactor_or_create`).
        let mut io = Vec::new();
        let deadline = timers.next_deadline();
        // Spin only if the spin would start after the cool-down of the last one.
        let spin = match (shared.timer_spin_ns(), deadline) {
            (spin, Some(d)) if spin > 0 && d.saturating_sub(spin) >= self.spin_allowed_at => spin,
            _ => 0,
        };
        // How long to block: `None` for no limit, `Some(0)` for not at all (in the spin window).
        let now = now_ns();
        let wait = deadline.map(|d| d.saturating_sub(now.saturating_add(spin)));
        let wait = match (wait, limit) {
            (wait, None) => wait,
            (None, Some(l)) => Some(l.saturating_sub(now).max(1)),
            (Some(w), Some(l)) => Some(w.min(l.saturating_sub(now).max(1))),
        };
        match shared.reactor() {
            Some(reactor) => {
                let mut turn = reactor.lock_turn();
                if wait != Some(0) && self.park.begin_poll() {
                    io = reactor.turn(&mut turn, wait.map(std::time::Duration::from_nanos));
                    self.park.end_poll();
                }
            }
            None => match wait {
                None => self.park.park(),
                Some(0) => {}
                Some(wait) => self
                    .park
                    .park_timeout(std::time::Duration::from_nanos(wait)),
            },
        }
        if let Some(deadline) = deadline {
            // Spin out the last stretch, but only if we are in it (woken by the timeout, not by
            // an unpark for work or by I/O, which must not wait for the spin), and only until
            // an unpark arrives (left pending: the caller looks for work before it parks again).
            if spin > 0 && io.is_empty() {
                let start = now_ns();
                if start.saturating_add(spin) >= deadline {
                    let mut end = start;
                    while end < deadline && !shared.is_shutdown() && !self.park.is_notified() {
                        crate::loom::spin_loop();
                        end = now_ns();
                    }
                    self.spin_allowed_at =
                        end.saturating_add(end.saturating_sub(start).saturating_mul(SPIN_COOLDOWN));
                }
            }
        }
        timers.release_waiter(self.index);
        (timers.next_deadline().is_some_and(|d| d <= now_ns()), io)
    }

    /// Parks a worker that could not take the timer-waiter token: until unparked, or, as the
    /// co-waiter, at most until the second-earliest timer when it falls due with the earliest
    /// (see "A second waiter" in `time/driver.rs`), so that two releases due together wake two
    /// workers by their own timers. Returns whether timers are due now.
    #[cold]
    fn co_wait(&mut self, shared: &Shared, limit: Option<u64>) -> bool {
        let timers = shared.timers();
        let Some(deadline) = timers.simultaneous_deadline() else {
            self.park_until(limit);
            return false;
        };
        if !timers.try_become_co_waiter(self.index) {
            self.park_until(limit);
            return false;
        }
        self.park_until(Some(deadline.min(limit.unwrap_or(u64::MAX))));
        timers.release_co_waiter(self.index);
        timers.next_deadline().is_some_and(|d| d <= now_ns())
    }

    /// Parks until unparked, and with `limit` (clock ns) no later than that.
    fn park_until(&self, limit: Option<u64>) {
        match limit {
            None => self.park.park(),
            Some(at) => {
                let wait = at.saturating_sub(now_ns());
                if wait > 0 {
                    self.park
                        .park_timeout(std::time::Duration::from_nanos(wait));
                }
            }
        }
    }
}

/// Wakes the tasks I/O events made ready (with the caller's core in the context), counting a
/// panicking waker (a hand-made one) as a panic, as timer wakes do.
pub(crate) fn wake_io(shared: &Shared, io: Vec<Waker>) {
    let panicked = shared.wake_batch(|| {
        io.into_iter()
            .map(reactor::wake_caught)
            .filter(|&p| p)
            .count()
    });
    if panicked > 0 {
        shared.accounting.count_panics(panicked as u64);
    }
}

/// Trace: the poll of task `id` returned (whether it charged a `work` slice, and how long).
#[inline]
fn record_poll_end(id: u64) {
    event::poll_end(id, || {
        let (continues, ns) = event::step_busy();
        (u64::from(continues), ns)
    });
}

impl AnyCore {
    /// This worker's index.
    pub(crate) fn index(&self) -> usize {
        with_any_core!(self, core => core.index)
    }

    /// Queues `task`, scheduled on this worker's thread, on its local queue (see
    /// [`Family::push_local`]).
    #[inline]
    pub(crate) fn push_local(&mut self, shared: &Shared, task: Notified) -> Wake {
        match self {
            AnyCore::Fifo(core) => fifo::FifoFamily::push_local(core, shared, task),
            AnyCore::Ordered(core) => ordered::OrderedFamily::push_local(core, shared, task),
            AnyCore::Classes(core) => ordered::OrderedFamily::push_local(core, shared, task),
        }
    }

    /// Releases every queued reference (shutdown).
    pub(crate) fn drain(&mut self) {
        match self {
            AnyCore::Fifo(core) => fifo::FifoFamily::drain(core),
            AnyCore::Ordered(core) => ordered::OrderedFamily::drain(core),
            AnyCore::Classes(core) => ordered::OrderedFamily::drain(core),
        }
    }
}
