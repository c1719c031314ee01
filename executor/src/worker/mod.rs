//! Workers: the threads that poll tasks, and one scheduling step.
//!
//! # One step
//!
//! [`step`] is the unit of scheduling: pick the next task, poll it, account for it, and if there
//! is nothing to run, search (steal) and finally park. The real runtime calls it in a loop on each
//! worker thread with [`ThreadEnv`] (the OS parks the thread); the simulator will call the same
//! function for virtual workers with a virtual environment. The policy's ordering lives in
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
pub(crate) mod park;
pub(crate) mod shared;

use crate::queue::local::{self, Local, CAPACITY};
use crate::rng::Rng;
use crate::runtime::{context, Handle};
use crate::task::Notified;
use crate::time::now_ns;
use park::Parker;
pub(crate) use shared::{Remote, Shared};

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
    local: Local<Notified>,
    /// Victim-order stream, seeded from the runtime seed and the worker index.
    rng: Rng,
    /// Tasks picked so far (wrapping), for the periodic injector check. Advanced only when a
    /// task is picked, so it is a function of the schedule, not of how long the worker idled.
    tick: u32,
    /// Counted in `Idle` as searching.
    is_searching: bool,
    /// This worker's sleep.
    park: Parker,
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

/// Creates worker `index`'s core and the handle other workers use to reach it.
pub(crate) fn new_worker(index: usize, seed: u64) -> (Box<Core>, Remote) {
    let (local, steal) = local::local();
    let (park, unpark) = park::pair();
    let core = Box::new(Core {
        index,
        local,
        rng: Rng::for_stream(seed, index as u64),
        tick: 0,
        is_searching: false,
        park,
    });
    (core, Remote { steal, unpark })
}

/// One scheduling step of worker `core` (see the module docs).
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
    let task = match core.next_task(shared) {
        Some(task) => Some(task),
        None => core.search(shared),
    };
    match task {
        Some(task) => {
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
            shared.worker_metrics[core.index].inc_polls();
            // The task may spawn or wake tasks on this thread: they go to our local queue,
            // through the core in the context.
            let core = context::with_core(core, || task.run());
            (core, Step::Polled)
        }
        None => {
            let core = env.park(core, shared);
            (core, Step::Parked)
        }
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
    /// Pushes a task scheduled on this worker's thread. Returns whether other tasks were
    /// already queued (see `context::schedule`).
    #[inline]
    pub(crate) fn push_local(&mut self, task: Notified, shared: &Shared) -> bool {
        self.local.push_back(task, &shared.inject)
    }

    /// Steps 1–3 of the module docs.
    fn next_task(&mut self, shared: &Shared) -> Option<Notified> {
        if self.tick.is_multiple_of(GLOBAL_QUEUE_INTERVAL) {
            if let Some(task) = shared.inject.pop() {
                return Some(task);
            }
        }
        if let Some(task) = self.local.pop() {
            return Some(task);
        }
        self.take_from_injector(shared)
    }

    /// Moves a fair share of the injector into the (empty) local queue and returns one task.
    fn take_from_injector(&mut self, shared: &Shared) -> Option<Notified> {
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
            let _ = self.local.push_back(task, &shared.inject);
        }
        first
    }

    /// Step 4: become a searcher (if allowed) and try to steal, spinning with backoff.
    fn search(&mut self, shared: &Shared) -> Option<Notified> {
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
    fn steal_work(&mut self, shared: &Shared) -> Option<Notified> {
        let n = shared.num_workers();
        let start = self.rng.below(n as u32) as usize;
        for i in 0..n {
            let victim = (start + i) % n;
            if victim == self.index {
                continue;
            }
            if let Some(task) = shared.remotes[victim].steal.steal_into(&mut self.local) {
                shared.worker_metrics[self.index].inc_steals();
                return Some(task);
            }
        }
        self.take_from_injector(shared)
    }

    /// Step 5 on a real thread: leave the unparked count, recheck if last searcher, sleep until
    /// notified, timers are due, or shutdown.
    fn park_thread(mut core: Box<Core>, shared: &Shared) -> Box<Core> {
        shared.worker_metrics[core.index].inc_parks();
        if shared
            .idle
            .transition_worker_to_parked(core.index, core.is_searching)
        {
            shared.notify_if_work_pending();
        }
        core.is_searching = false;
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
                return context::with_core(core, || shared.fire_timers(now_ns()));
            }
            if !shared.idle.is_parked(core.index) {
                // Chosen by `worker_to_notify`, which counted us as searching.
                core.is_searching = true;
                return core;
            }
            // Spurious wake-up (an unpark meant for a previous park): sleep again.
        }
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
        while let Some(task) = self.local.pop() {
            drop(task);
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
