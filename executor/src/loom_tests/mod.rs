//! Loom models of the runtime's concurrent parts.
//!
//! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p kairos --lib --release`
//! (`scripts/test.sh` does, in its own target directory). Loom explores the interleavings of each
//! model's threads (up to the preemption bound) and fails on a data race on an `UnsafeCell`, a
//! deadlock, a leaked `Arc`, or a failed assertion.
//!
//! Each model names the slow paths it is about and asserts, after exploring, that at least one
//! execution reached each of them (`crate::loom::reached` probes in the code): a model that never
//! takes its slow path proves nothing.
//!
//! | model | slow paths it must reach |
//! |---|---|
//! | `task::wake_during_poll` | a wake while the task runs (`task.woken_during_poll`) |
//! | `task::complete_vs_join_read` | join waker published, then woken by completion; the handle racing completion while installing its waker |
//! | `task::complete_vs_abort_vs_join_drop` | completion without a handle; the handle dropping the output; abort during the poll |
//! | `task::waker_refcounts` | the last waker reference frees the task |
//! | `task::shutdown_vs_complete` | shutdown finding the task running; completion after shutdown unlinked it |
//! | `local::*` | pop during a steal; two stealers; overflow; a push into a full queue while it is being stolen |
//! | `inject::*` | concurrent push / batch pop / close |
//! | `local_set::wake_vs_run_is_never_lost` | a wake that finds the task already listed (coalesced) |
//! | `ordered::steal_vs_owner_push_pop` | a steal; a steal that finds the owner holding the lock |
//! | `ordered::rekey_vs_steal_vs_pop` | a re-key that misses the task a steal took; its retry finding it where it landed; a re-key that misses while the task is in flight |
//! | `ordered::remove_vs_steal` | a removal that misses the task a steal took |
//! | `ordered::push_vs_park_mirror_handshake` | (assertion only) the `len` mirror in the idle handshake |
//! | `periodic::stop_vs_register_is_never_lost` | (assertion only) a stop racing the driver's waker registration |
//! | `mutex::unlock_vs_register` | a waiter registering; the hand-over by a slow unlock; a lock freed while the waiter registers |
//! | `mutex::cancel_vs_handoff` | a cancelled registration; a cancellation after the hand-over |
//! | `notify::notify_one_vs_cancelled_waiter` | a waiting future; a cancelled one passing its notification on |
//! | `semaphore::acquire_many_vs_release_vs_close` | a request that waits |
//! | `preempt::pick_vs_push` | the worker's recheck after its pick flags its own poll |
//! | `park::*` | unpark before the wait; unpark of a waiting thread; unpark before a poll; unpark of a worker blocked in the I/O poller |
//! | `io::edge_is_never_lost` | a clear that finds a newer event and keeps it |
//! | `idle::*` | the last searcher parks while work is pushed (no lost wake-up) |
//! | `throttled::park_vs_pick_loses_nothing` | a pick that releases a task; a pick whose hint says nothing is due |
//! | `throttled::two_picks_share_the_due_tasks` | a pick that releases a task |
//! | `timer::register_vs_waiter` | a registration that finds the timer waiter and unparks it |
//! | `timer::register_cancel_vs_fire` | registration and cancel from a foreign thread vs firing |
//! | `timer::co_waiters_exclude_each_other` | two parking workers race for the co-waiter token while a simultaneous timer is registered |
//! | `join_set::finish_vs_join_next_registration` | a finishing task that finds `join_next`'s waker registered and wakes it |
//! | `backoff::spin_wait_yields_to_the_setter` | (assertion only) the shim's `Backoff` yields to loom |
//! | `spin_lock::sections_exclude_each_other` | a section that finds the lock taken and waits |
//! | `chan::*` (`sync/chan/`) | a receiver / a sender waiting (empty / full buffer); a dropped notified receiver or sender passing its wake-up on; close and last-sender drop racing waiters |
//! | `oneshot::*` (`sync/oneshot.rs`, `watch.rs`, `broadcast.rs`) | a send waking a waiting oneshot receiver; a receiver changing wakers while the value is sent; a send racing the receiver's close, and its drop; a watch `changed` waiting |
//! | `trace::snapshot_vs_push` | a push into a full trace buffer while a reader copies it |

mod backoff;
mod chan;
mod idle;
mod inject;
mod io;
mod join_set;
mod local;
mod local_set;
mod mutex;
mod notify;
mod oneshot;
mod ordered;
mod park;
mod periodic;
mod preempt;
mod semaphore;
mod spin_lock;
mod task;
mod throttled;
mod timer;
mod trace;

use std::collections::BTreeSet;
use std::task::{Wake, Waker};

/// Counts wake-ups (a loom atomic: the models' reads of it are checked like the rest).
struct CountWake(crate::loom::atomic::AtomicUsize);

impl CountWake {
    /// Wake-ups so far.
    fn count(&self) -> usize {
        self.0.load(crate::loom::atomic::Ordering::SeqCst)
    }
}

impl Wake for CountWake {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, crate::loom::atomic::Ordering::SeqCst);
    }
}

/// A waker that counts its wake-ups, and the counter.
fn counting_waker() -> (std::sync::Arc<CountWake>, Waker) {
    let count = std::sync::Arc::new(CountWake(crate::loom::atomic::AtomicUsize::new(0)));
    (count.clone(), Waker::from(count))
}

/// Runs `model` under loom and asserts that every path in `paths` was reached by at least one
/// explored execution.
fn check(paths: &[&'static str], model: impl Fn() + Sync + Send + 'static) {
    crate::loom::take_reached();
    loom::model(model);
    let reached: BTreeSet<&'static str> = crate::loom::take_reached();
    for path in paths {
        assert!(
            reached.contains(path),
            "model never reached slow path `{path}` (reached: {reached:?})"
        );
    }
}
