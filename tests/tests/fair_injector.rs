//! Under `Fair` (and the fair class of `Classes`), a task woken from outside the workers goes to
//! the injector; it must run once the runtime's virtual time reaches it, however busy the
//! workers' own queues stay.
//!
//! The injector's head is compared with the workers' own heads through urgency mirrors published
//! when a queue changes. A mirror relative to its queue's floor at publication went stale while
//! the own queues' floors moved on, and such a task waited until every worker's queue ran empty
//! (found by `sched-bench soak`: waves under `Fair` stalled for seconds). Here one worker runs
//! four tasks that yield forever; a heavy task (nice 19, so its one computing poll is charged 68
//! times its CPU time) is woken from the test thread. The yielders stop when it has run, or after
//! [`YIELD_LIMIT`] yields, which they reach only if it starves (with the fix it ran after 0.15 M
//! to 0.18 M yields in a debug build; before it, both tests reached the limit).

use kairos::trace::TaskState;
use kairos::{Policy, Runtime, Sched};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// Yields after which the yielders give up: far beyond what the fixed runtime needs.
const YIELD_LIMIT: u64 = 50_000_000;

/// Computes in its first poll, then waits for the test thread (keeping its waker in the slot).
struct Heavy {
    /// (released by the test thread, the waker of the pending poll)
    slot: Arc<Mutex<(bool, Option<Waker>)>>,
    /// Whether the first poll computed already.
    computed: bool,
}

impl Future for Heavy {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if !self.computed {
            self.computed = true;
            let mut x = 0u64;
            for i in 0..300_000u64 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
            }
            std::hint::black_box(x);
        }
        let mut slot = self.slot.lock().unwrap();
        if slot.0 {
            return Poll::Ready(());
        }
        slot.1 = Some(cx.waker().clone());
        Poll::Pending
    }
}

fn woken_from_outside_runs_while_own_queues_stay_busy(policy: Policy) {
    let rt = Runtime::builder()
        .workers(1)
        .policy(policy)
        .build()
        .expect("runtime");
    let slot = Arc::new(Mutex::new((false, None)));
    let done = Arc::new(AtomicBool::new(false));
    let heavy = {
        let done = Arc::clone(&done);
        let heavy = Heavy {
            slot: Arc::clone(&slot),
            computed: false,
        };
        rt.spawn_with(Sched::default().name("heavy").nice(19), async move {
            heavy.await;
            done.store(true, Ordering::SeqCst);
        })
    };
    // Wait until its computing poll has returned (so the wake below comes from outside a poll
    // and goes to the injector).
    let state = || {
        rt.dump()
            .tasks()
            .iter()
            .find(|t| t.name == Some("heavy"))
            .map(|t| t.state)
    };
    while state() != Some(TaskState::Idle) {
        std::thread::yield_now();
    }
    let yields = Arc::new(AtomicU64::new(0));
    let yielders: Vec<_> = (0..4)
        .map(|_| {
            let (done, yields) = (Arc::clone(&done), Arc::clone(&yields));
            rt.spawn(async move {
                while !done.load(Ordering::SeqCst)
                    && yields.fetch_add(1, Ordering::Relaxed) < YIELD_LIMIT
                {
                    kairos::yield_now().await;
                }
            })
        })
        .collect();
    // Let the yielders settle into the worker's own queue before the wake.
    while yields.load(Ordering::Relaxed) < 1_000 {
        std::thread::yield_now();
    }
    let waker = {
        let mut s = slot.lock().unwrap();
        s.0 = true;
        s.1.take().expect("the heavy task is waiting")
    };
    waker.wake();
    for y in yielders {
        rt.block_on(y).expect("yielder");
    }
    let total = yields.load(Ordering::Relaxed);
    assert!(
        done.load(Ordering::SeqCst) && total < YIELD_LIMIT,
        "{policy:?}: the task woken from outside did not run within {total} yields of the \
         busy ones"
    );
    rt.block_on(heavy).expect("heavy");
}

#[test]
fn fair_injector_task_is_not_starved() {
    woken_from_outside_runs_while_own_queues_stay_busy(Policy::Fair);
}

#[test]
fn classes_fair_injector_task_is_not_starved() {
    woken_from_outside_runs_while_own_queues_stay_busy(Policy::Classes);
}
