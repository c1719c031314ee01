//! Worker lifecycle and shutdown: who is still running, who cleans up, and in which order.
//!
//! # Protocol
//!
//! 1. [`Shared::signal_shutdown`] sets the flag (once) and unparks every worker. Workers check
//!    it between polls and after every wake, and exit their loop, handing back their core.
//! 2. The thread that asked waits for them ([`Shared::wait_for_workers`], with an optional
//!    timeout), then runs [`Shared::cleanup`]. A worker thread cannot wait for itself: if shutdown
//!    was asked from one, the last worker to exit runs the cleanup
//!    ([`Shared::cleanup_on_last_exit`]).
//! 3. The cleanup runs once: it cancels every live task, then releases every queued reference.
//!    A worker that exits after it (one that outlived the timeout) drains its own queue.

use super::{AnyCore, Shared};
use crate::loom::atomic::{AtomicBool, Ordering};
use crate::loom::{lock, Condvar, Mutex};
use std::time::{Duration, Instant};

/// The lifecycle part of [`Shared`].
pub(super) struct Lifecycle {
    /// Set once, by shutdown. Workers check it between tasks and after every wake.
    shutdown: AtomicBool,
    /// Worker exits and returned cores.
    exits: Mutex<Exits>,
    /// Signalled when a worker exits.
    exited: Condvar,
}

/// Worker thread bookkeeping for shutdown.
struct Exits {
    /// Worker threads still running their loop.
    alive: usize,
    /// Cores handed back by exited workers, drained by the cleanup.
    cores: Vec<AnyCore>,
    /// The cleanup ran: a worker exiting later drains its own queue.
    cleaned: bool,
    /// Shutdown was requested from a worker thread, which cannot wait for itself: the last worker
    /// to exit runs the cleanup.
    cleanup_on_last_exit: bool,
}

impl Lifecycle {
    /// `workers` workers, all running.
    pub(super) fn new(workers: usize) -> Lifecycle {
        Lifecycle {
            shutdown: AtomicBool::new(false),
            exits: Mutex::new(Exits {
                alive: workers,
                cores: Vec::with_capacity(workers),
                cleaned: false,
                cleanup_on_last_exit: false,
            }),
            exited: Condvar::new(),
        }
    }
}

impl Shared {
    /// Whether shutdown has begun.
    #[inline]
    pub(crate) fn is_shutdown(&self) -> bool {
        self.lifecycle.shutdown.load(Ordering::Acquire)
    }

    /// Begins shutdown: workers stop after their current poll. Returns `false` if it had begun.
    pub(crate) fn signal_shutdown(&self) -> bool {
        if self.lifecycle.shutdown.swap(true, Ordering::AcqRel) {
            return false;
        }
        self.unpark_all();
        true
    }

    /// Waits until every worker has exited or `timeout` passed. Returns the number still running.
    pub(crate) fn wait_for_workers(&self, timeout: Option<Duration>) -> usize {
        let l = &self.lifecycle;
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut exits = lock(&l.exits);
        while exits.alive > 0 {
            exits = match deadline {
                None => match l.exited.wait(exits) {
                    Ok(guard) => guard,
                    Err(poisoned) => poisoned.into_inner(),
                },
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        break;
                    }
                    match l.exited.wait_timeout(exits, deadline - now) {
                        Ok((guard, _)) => guard,
                        Err(poisoned) => poisoned.into_inner().0,
                    }
                }
            };
        }
        exits.alive
    }

    /// Asks the last exiting worker to run the cleanup (shutdown requested from a worker).
    pub(crate) fn cleanup_on_last_exit(&self) {
        let run_now = {
            let mut exits = lock(&self.lifecycle.exits);
            exits.cleanup_on_last_exit = true;
            exits.alive == 0
        };
        if run_now {
            self.cleanup();
        }
    }

    /// Called by a worker thread when its loop ends.
    pub(crate) fn worker_exited(&self, mut core: AnyCore) {
        let cleanup = {
            let mut exits = lock(&self.lifecycle.exits);
            exits.alive -= 1;
            if exits.cleaned {
                // Exited after the cleanup (a worker that outlived `shutdown_timeout`): release
                // what it still holds itself.
                drop(exits);
                core.drain();
                false
            } else {
                exits.cores.push(core);
                exits.alive == 0 && exits.cleanup_on_last_exit
            }
        };
        self.lifecycle.exited.notify_all();
        if cleanup {
            self.cleanup();
        }
    }

    /// A worker whose thread could not be started (or whose core was lost with the failed
    /// spawn): count it as exited.
    pub(crate) fn worker_never_started(&self, core: Option<AnyCore>) {
        match core {
            Some(core) => self.worker_exited(core),
            None => {
                lock(&self.lifecycle.exits).alive -= 1;
                self.lifecycle.exited.notify_all();
            }
        }
    }

    /// Cancels every task and releases every queued reference. Runs once, after the workers
    /// stopped (or the wait for them timed out).
    ///
    /// Order matters: first the registry is closed and drained, dropping every future exactly
    /// once (destructors may wake or spawn tasks: wakes land in the still-open injector, spawns
    /// are refused and cancelled). Then the injector is closed and every run queue is drained,
    /// which only releases references: the futures are already gone.
    pub(crate) fn cleanup(&self) {
        let cores = {
            let mut exits = lock(&self.lifecycle.exits);
            if exits.cleaned {
                return;
            }
            exits.cleaned = true;
            std::mem::take(&mut exits.cores)
        };
        self.spawner.cancel_all();
        // Futures dropped above cancelled their timers; drop what is left (timers of futures
        // that live outside this runtime's tasks), releasing their wakers.
        self.fire_timers(u64::MAX);
        // Sockets held outside the runtime's tasks fail from now on instead of waiting.
        self.shutdown_reactor();
        self.close_injector();
        for mut core in cores {
            core.drain();
        }
    }
}
