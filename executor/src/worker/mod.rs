//! Workers: the threads that poll tasks, and one scheduling step.
//!
//! # One step
//!
//! [`step`] is the unit of scheduling: pick the next task, poll it, account for it, and if there
//! is nothing to run, search (steal) and finally park. The real runtime calls it in a loop on each
//! worker thread with [`ThreadEnv`] (the OS parks the thread); the simulator (`sim/driver.rs`)
//! calls the same function for virtual workers with `sim_env::SimEnv`. The policy's ordering lives in
//! `policy/` and `queue/`, not here, so both drivers make the same decisions.
//!
//! # Picking the next task
//!
//! 0. Fire due timers (one atomic load when none is pending; a clock read otherwise): the woken
//!    tasks join the local queue in deadline order.
//! 1. Every [`GLOBAL_QUEUE_INTERVAL`]-th tick, the injector first: a worker whose local queue never
//!    empties (tasks that keep waking each other) must still serve tasks spawned from outside.
//! 2. The local queue.
//! 3. A batch from the injector (a fair share: `len / workers + 1`, at most half a local queue).
//! 4. Search: steal half of another worker's queue, visiting victims from a random start (the
//!    worker's seeded stream), spinning with backoff for `spin_rounds` rounds.
//! 5. Park until notified (`idle.rs` decides who is woken).
//!
//! With one worker and no other thread scheduling tasks, every choice above is a function of the
//! order of spawns and wakes, so the poll order is the same on every run.

pub(crate) mod idle;
pub(crate) mod metrics;
mod ordered;
pub(crate) mod park;
pub(crate) mod preempt;
pub(crate) mod shared;
pub(crate) mod sim_env;

use crate::loom::Arc;
use crate::policy::runqueue::{self, Key, QueueOrder, Urgency};
use crate::queue::local::{self, Local, CAPACITY};
use crate::queue::ordered::Ordered;
use crate::rng::Rng;
use crate::runtime::{context, Handle};
use crate::sim::EventKind;
use crate::task::Notified;
use crate::time::now_ns;
use park::Parker;

pub(crate) use shared::{Remote, RemoteQueue, SchedConfig, Shared, Wake};

pub(crate) use idle::MAX_WORKERS;

/// Check the injector first every this many ticks. 61, as Go's `schedtick % 61`: a prime, so it
/// does not fall into step with periodic patterns in the workload.
pub(crate) const GLOBAL_QUEUE_INTERVAL: u32 = 61;

/// Default number of search rounds before parking. Each round tries every victim and the
/// injector, then backs off (spin hints doubling up to 64, then a `yield`). About 10–50 µs on
/// current x86 cores: long enough to absorb the gap between two messages of a ping-pong without
/// a futex sleep and wake, short enough not to burn a core when the runtime goes idle.
pub(crate) const DEFAULT_SPIN_ROUNDS: u32 = 32;

/// A worker's private state. Moved into the thread-local context while a task is polled, so that
/// `spawn` and wakes on this thread can push to the local queue.
pub(crate) struct Core {
    /// Index of this worker.
    index: usize,
    /// The local run queue (owner's end).
    local: LocalQueue,
    /// Victim-order stream, seeded from the runtime seed and the worker index.
    rng: Rng,
    /// Tasks picked so far (wrapping), for the periodic injector check. Advanced only when a
    /// task is picked, so it is a function of the schedule, not of how long the worker idled.
    tick: u32,
    /// Counted in `Idle` as searching.
    is_searching: bool,
    /// `Fair`: the virtual runtime this worker last published as the runtime-wide floor.
    fair_floor_published: u64,
    /// This worker's sleep.
    park: Parker,
    /// Simulation only: the task whose poll continues after a charged `work` slice (see
    /// `sim/hook.rs`). Always `None` on the real runtime.
    resume: Option<Notified>,
}

/// A worker's own run queue.
pub(crate) enum LocalQueue {
    /// `Fifo`: the lock-free ring (`queue/local.rs`).
    Fifo(Local<Notified>),
    /// Ordered policies: the locked policy structure (`queue/ordered.rs`), shared with thieves.
    Ordered(Arc<Ordered<Notified>>),
}

/// What a driver does when a worker has nothing to run.
pub(crate) trait Env {
    /// Blocks the worker until it may have work (or shutdown began). Takes and returns the core
    /// so that work found while parking (expired timers) can go to its local queue.
    fn park(&mut self, core: Box<Core>, shared: &Shared) -> Box<Core>;
}

/// The real-thread environment: parks the OS thread.
pub(crate) struct ThreadEnv;

impl Env for ThreadEnv {
    fn park(&mut self, core: Box<Core>, shared: &Shared) -> Box<Core> {
        Core::park_thread(core, shared)
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

/// Creates worker `index`'s core and the handle other workers use to reach it; `ordering` is
/// `None` for `Fifo`.
pub(crate) fn new_worker(
    index: usize,
    seed: u64,
    ordering: Option<QueueOrder>,
) -> (Box<Core>, Remote) {
    let (local, queue) = match ordering {
        None => {
            let (local, steal) = local::local();
            (LocalQueue::Fifo(local), RemoteQueue::Fifo(steal))
        }
        Some(ordering) => {
            let q = Arc::new(Ordered::new(ordering));
            (LocalQueue::Ordered(q.clone()), RemoteQueue::Ordered(q))
        }
    };
    let (park, unpark) = park::pair();
    let core = Box::new(Core {
        index,
        local,
        rng: Rng::for_stream(seed, index as u64),
        tick: 0,
        is_searching: false,
        fair_floor_published: 0,
        park,
        resume: None,
    });
    (core, Remote::new(queue, unpark))
}

/// One scheduling step of worker `core` (see the module docs).
///
/// `#[inline]` (with `next_task` and `run_task`): the worker loop's hot path. When the step
/// became generic over [`Env`] for the simulator, the compiler stopped inlining it into
/// [`run`], and `ping_pong` (Fifo) lost 10-19% against tokio; inlined again, 5 alternating
/// runs: 1.46x -> 1.64x tokio (median; docs/benchmarks.md).
#[inline]
pub(crate) fn step(mut core: Box<Core>, handle: &Handle, env: &mut impl Env) -> (Box<Core>, Step) {
    let shared = &*handle.shared;
    if shared.is_shutdown() {
        return (core, Step::Shutdown);
    }
    // Due timers first: their tasks go to this worker's queue (the core is in the context).
    if let Some(deadline) = shared.timers.next_deadline() {
        let now = now_ns();
        if deadline <= now {
            core = context::with_core(core, || shared.fire_timers(now));
        }
    }
    if let Some(task) = core.resume.take() {
        return (core.resume_task(task, shared), Step::Polled);
    }
    let picked = match core.next_task(shared) {
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
                if shared.idle.transition_worker_from_searching() {
                    // We were the last searcher and found work: there may be more.
                    shared.notify_parked();
                }
            }
            (core.run_task(picked, shared), Step::Polled)
        }
        None => {
            shared.remotes[core.index].slot.set_running(Urgency::IDLE);
            crate::sim::hook::record(EventKind::Park, 0, 0, 0);
            let core = env.park(core, shared);
            if shared.is_fair() {
                // The time parked is not CPU time of the next task.
                context::mark_cpu();
            }
            (core, Step::Parked)
        }
    }
}

/// A task chosen to run, with the key it was queued under (ordered policies).
pub(crate) struct Picked {
    /// The task.
    task: Notified,
    /// Its key under an ordered policy; `None` under `Fifo`.
    key: Option<Key>,
}

impl Picked {
    /// A task picked under `Fifo`.
    fn fifo(task: Notified) -> Picked {
        Picked { task, key: None }
    }
}

/// The worker thread's main loop.
pub(crate) fn run(core: Box<Core>, handle: Handle) {
    crate::sys::set_min_timer_slack();
    // If the loop ever unwinds (a runtime bug: task and waker panics are caught), the worker
    // must still count as exited, or shutdown would wait for it forever.
    let guard = ExitGuard {
        shared: &handle.shared,
        armed: true,
    };
    let index = core.index;
    let core = context::enter_worker(&handle, index, || {
        let mut env = ThreadEnv;
        let mut core = core;
        loop {
            let (next, step) = step(core, &handle, &mut env);
            core = next;
            if step == Step::Shutdown {
                return core;
            }
        }
    });
    let mut guard = guard;
    guard.armed = false;
    handle.shared.worker_exited(core);
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

impl Core {
    /// Pushes a task scheduled on this worker's thread; says whether to wake a parked worker
    /// for it (see `context::schedule`). Under `Fifo`: now if other tasks were already queued.
    #[inline]
    pub(crate) fn push_local(&mut self, task: Notified, shared: &Shared) -> Wake {
        match &mut self.local {
            LocalQueue::Fifo(local) => {
                if shared.sched.record_latency {
                    task.header().sched.set_ready_at(now_ns());
                }
                if local.push_back(task, &shared.inject) {
                    Wake::Now
                } else {
                    Wake::No
                }
            }
            LocalQueue::Ordered(q) => shared.push_ordered(q, task),
        }
    }

    /// Polls `picked` with this core in the thread context, and returns the core.
    #[inline]
    fn run_task(mut self: Box<Self>, picked: Picked, shared: &Shared) -> Box<Self> {
        let Picked { task, key } = picked;
        let header = task.header();
        let start = if shared.times_polls() { now_ns() } else { 0 };
        let ready_at = header.sched.ready_at();
        let latency = (ready_at != 0).then(|| start.saturating_sub(ready_at));
        // Consumed: a later poll without a new stamp (none should exist) records no latency
        // rather than a stale one.
        header.sched.set_ready_at(0);
        let remote = &shared.remotes[self.index];
        if let Some(key) = key {
            if let Key::Fair(vruntime) = key {
                header.sched.set_vruntime(vruntime);
                shared.advance_fair_floor(&mut self.fair_floor_published, vruntime);
            }
            remote.slot.set_running(runqueue::key_urgency(key));
        }
        remote.slot.clear();
        if let Some(key @ (Key::Edf(_) | Key::Priority(_))) = key {
            // A pusher may have missed this pick (worker/preempt.rs).
            preempt::after_publish(&remote.slot, runqueue::key_urgency(key), || {
                shared.most_urgent_queued()
            });
        }
        shared.worker_metrics[self.index].inc_polls();
        context::begin_poll(header, start, latency);
        let id = header.id.0;
        crate::sim::hook::record(EventKind::PollStart, id, 0, 0);
        // The task may spawn or wake tasks on this thread: they go to our local queue,
        // through the core in the context.
        let core = context::with_core(self, || task.run());
        // A poll that ended without `poll_ended` (the task was cancelled, or had completed)
        // must not leave a pointer to a task that may be freed by now.
        context::end_poll();
        core.record_poll_end(id);
        core
    }

    /// Simulation only: continues the poll of `task` after a charged `work` slice. Nothing is
    /// picked and the poll's accounting (start, latency, budget, preemption request) carries
    /// over: for the policies it is one poll, as on the real runtime where the slice is spun.
    #[cold]
    fn resume_task(self: Box<Self>, task: Notified, _shared: &Shared) -> Box<Self> {
        let id = task.header().id.0;
        context::resume_poll(task.header());
        crate::sim::hook::record(EventKind::PollStart, id, 1, 0);
        let core = context::with_core(self, || task.run());
        context::end_poll();
        core.record_poll_end(id);
        core
    }

    /// Trace: the poll of task `id` returned (whether it charged a `work` slice, and how long).
    #[inline]
    fn record_poll_end(&self, id: u64) {
        if crate::sim::hook::active() {
            let (continues, ns) = crate::sim::hook::step_busy();
            crate::sim::hook::record(EventKind::PollEnd, id, u64::from(continues), ns);
        }
    }

    /// Steps 1–3 of the module docs.
    #[inline]
    fn next_task(&mut self, shared: &Shared) -> Option<Picked> {
        let local = match &mut self.local {
            LocalQueue::Fifo(local) => local,
            LocalQueue::Ordered(q) => {
                let q = q.clone();
                return self.next_ordered(&q, shared);
            }
        };
        if self.tick.is_multiple_of(GLOBAL_QUEUE_INTERVAL) {
            if let Some(task) = shared.inject.pop() {
                return Some(Picked::fifo(task));
            }
        }
        if let Some(task) = local.pop() {
            return Some(Picked::fifo(task));
        }
        self.take_from_injector(shared)
    }

    /// Moves a fair share of the injector into the (empty) local queue and returns one task.
    fn take_from_injector(&mut self, shared: &Shared) -> Option<Picked> {
        let local = match &mut self.local {
            LocalQueue::Fifo(local) => local,
            LocalQueue::Ordered(_) => return self.take_from_global(shared),
        };
        if shared.inject.is_empty() {
            return None;
        }
        // Leave room for a steal in progress on our queue (up to half of it): with at most half
        // minus one added to an empty queue, the pushes below never overflow.
        let max = (shared.inject.len() / shared.num_workers() + 1).min(CAPACITY / 2 - 1);
        let mut first = None;
        let mut batch = heapless::Vec::<Notified, { CAPACITY / 2 }>::new();
        shared.inject.pop_batch(max, |task| {
            if first.is_none() {
                first = Some(task);
            } else if let Err(task) = batch.push(task) {
                unreachable!("batch bound exceeded: {:p}", task.header());
            }
        });
        // The injector lock is released: pushing may touch it on overflow.
        for task in batch {
            let _ = local.push_back(task, &shared.inject);
        }
        first.map(Picked::fifo)
    }

    /// Step 4: become a searcher (if allowed) and try to steal, spinning with backoff.
    fn search(&mut self, shared: &Shared) -> Option<Picked> {
        if !self.is_searching {
            self.is_searching = shared.idle.transition_worker_to_searching();
            if !self.is_searching {
                return None;
            }
        }
        // At least one pass, even with `spin_rounds(0)`: a searcher that never looks would park
        // as the last searcher, find the work in its recheck, wake itself, and loop forever.
        for round in 0..shared.spin_rounds.max(1) {
            if let Some(task) = self.steal_work(shared) {
                return Some(task);
            }
            if shared.is_shutdown() {
                return None;
            }
            backoff(round);
        }
        None
    }

    /// One search round: every other worker from a random start, then the injector.
    fn steal_work(&mut self, shared: &Shared) -> Option<Picked> {
        let local = match &mut self.local {
            LocalQueue::Fifo(local) => local,
            LocalQueue::Ordered(q) => {
                let q = q.clone();
                return self.steal_ordered(&q, shared);
            }
        };
        let n = shared.num_workers();
        let start = self.rng.below(n as u32) as usize;
        for i in 0..n {
            let victim = (start + i) % n;
            if victim == self.index {
                continue;
            }
            if let RemoteQueue::Fifo(steal) = &shared.remotes[victim].queue {
                if let Some(task) = steal.steal_into(local) {
                    shared.worker_metrics[self.index].inc_steals();
                    crate::sim::hook::record(
                        EventKind::Steal,
                        task.header().id.0,
                        victim as u64,
                        0,
                    );
                    return Some(Picked::fifo(task));
                }
            }
        }
        self.take_from_injector(shared)
    }

    /// Step 5 on a real thread: leave the unparked count, recheck if last searcher, sleep until
    /// notified, timers are due, or shutdown.
    fn park_thread(mut core: Box<Core>, shared: &Shared) -> Box<Core> {
        core.park_enter(shared);
        loop {
            let timers_due = core.sleep(shared);
            if shared.is_shutdown() {
                return core;
            }
            if timers_due {
                // Leave the parked state *before* firing: the woken tasks then see a searcher
                // and wake nobody else; this worker runs them (one kernel wake-up per timer,
                // not two). If a notifier already chose us, it counted us as searching too.
                shared.idle.unpark_self(core.index);
                core.is_searching = true;
                // With the core in the context, the woken tasks go to the local queue, in
                // deadline order, exactly as when a busy worker fires timers between polls, so
                // timer-woken tasks run in deadline order whichever path fired them.
                let core = context::with_core(core, || shared.fire_timers(now_ns()));
                // This worker is about to run what fired and gave up the waiter token: if more
                // timers are pending, a parked worker must take over the wait, or the next
                // deadline would wait for this worker's next step (a whole poll, or longer).
                if shared.timers.next_deadline().is_some() {
                    shared.notify_parked();
                }
                return core;
            }
            if !shared.idle.is_parked(core.index) {
                // Chosen by `worker_to_notify`, which counted us as searching.
                core.is_searching = true;
                return core;
            }
            // Spurious wake-up (an unpark meant for a previous park): sleep again.
        }
    }

    /// Leaves the unparked count (and the searchers); the last searcher rechecks every queue.
    /// Shared by the thread and simulated parks.
    fn park_enter(&mut self, shared: &Shared) {
        shared.worker_metrics[self.index].inc_parks();
        if shared
            .idle
            .transition_worker_to_parked(self.index, self.is_searching)
        {
            shared.notify_if_work_pending();
        }
        self.is_searching = false;
    }

    /// Sleeps until unparked; as the timer waiter (if the token is free), at most until the
    /// earliest timer (see `time/driver.rs`). Returns whether timers are due now.
    fn sleep(&mut self, shared: &Shared) -> bool {
        if !shared.timers.try_become_waiter(self.index) {
            self.park.park();
            return false;
        }
        // Token held: read the deadline only now (the handshake with `register`).
        match shared.timers.next_deadline() {
            None => self.park.park(),
            Some(deadline) => {
                let now = now_ns();
                let spin = shared.timer_spin.as_nanos() as u64;
                if deadline > now.saturating_add(spin) {
                    let wait = deadline - now - spin;
                    self.park
                        .park_timeout(std::time::Duration::from_nanos(wait));
                }
                // Spin out the last stretch, but only if we are in it (woken by the timeout, not
                // by an unpark for work, which must not wait for the spin).
                if spin > 0 && now_ns().saturating_add(spin) >= deadline {
                    while now_ns() < deadline && !shared.is_shutdown() {
                        crate::loom::spin_loop();
                    }
                }
            }
        }
        shared.timers.release_waiter(self.index);
        shared.timers.next_deadline().is_some_and(|d| d <= now_ns())
    }

    /// Releases every queued reference (shutdown).
    pub(super) fn drain(&mut self) {
        match &mut self.local {
            LocalQueue::Fifo(local) => {
                while let Some(task) = local.pop() {
                    drop(task);
                }
            }
            LocalQueue::Ordered(q) => {
                q.close();
                while let Some((_, task)) = q.pop(u64::MAX) {
                    drop(task);
                }
            }
        }
    }
}

/// Backoff between search rounds: spin hints doubling from 1 to 64, then yield the CPU.
fn backoff(round: u32) {
    if round < 7 {
        for _ in 0..(1u32 << round) {
            crate::loom::spin_loop();
        }
    } else {
        crate::loom::yield_now();
    }
}
