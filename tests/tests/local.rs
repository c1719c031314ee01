//! `LocalSet` and `spawn_local`: `!Send` tasks on the thread that drives the set, woken from
//! other threads, with panics, aborts and drops each handled once.

use kairos::{LocalSet, Runtime};
use kairos_tests::{block_on_thread, runtime, DropCounter, Watchdog};
use std::cell::{Cell, RefCell};
use std::panic::catch_unwind;
use std::rc::Rc;

fn rt() -> Runtime {
    runtime(2)
}

/// Tasks holding `Rc` run and return in the order the test awaits them; the set empties.
#[test]
fn not_send_tasks_run_and_return() {
    let rt = rt();
    let local = LocalSet::new();
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = Rc::clone(&log);
    let sum = rt.block_on(local.run_until(async move {
        let handles: Vec<_> = (0..10u32)
            .map(|i| {
                let l = Rc::clone(&l);
                kairos::spawn_local(async move {
                    kairos::yield_now().await;
                    l.borrow_mut().push(i);
                    i
                })
            })
            .collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        sum
    }));
    assert_eq!(sum, 45);
    // One worker-free thread, wake order = spawn order: the log is in order.
    assert_eq!(*log.borrow(), (0..10).collect::<Vec<_>>());
    assert!(local.is_empty());
}

/// A local task woken from another thread (it awaits a task running on a worker) completes.
#[test]
fn woken_from_a_worker_thread() {
    let rt = rt();
    let local = LocalSet::new();
    let v = rt.block_on(local.run_until(async {
        let not_send = Rc::new(Cell::new(1));
        let n = Rc::clone(&not_send);
        kairos::spawn_local(async move {
            let remote = kairos::spawn(async { std::thread::current().id() });
            let worker_thread = remote.await.unwrap();
            assert_ne!(worker_thread, std::thread::current().id());
            n.set(n.get() + 41);
            n.get()
        })
        .await
        .unwrap()
    }));
    assert_eq!(v, 42);
}

/// `spawn_local` outside `run_until` panics and says what to do.
#[test]
fn spawn_local_outside_a_set_panics_with_advice() {
    let err = catch_unwind(|| {
        drop(kairos::spawn_local(async {}));
    })
    .unwrap_err();
    let msg = err.downcast_ref::<&str>().copied().unwrap_or_default();
    let msg = err.downcast_ref::<String>().map_or(msg, |s| s.as_str());
    assert!(msg.contains("LocalSet::new().run_until"), "{msg}");
}

/// A panicking local task gives a panic `JoinError`; the set and its other tasks go on.
#[test]
fn panic_is_reported_and_the_set_goes_on() {
    let rt = rt();
    let local = LocalSet::new();
    let (bad, good) = rt.block_on(local.run_until(async {
        let bad = kairos::spawn_local(async {
            panic!("local boom");
        });
        let good = kairos::spawn_local(async { 7 });
        (bad.await, good.await)
    }));
    let err = bad.unwrap_err();
    assert!(err.is_panic());
    assert_eq!(*err.into_panic().downcast::<&str>().unwrap(), "local boom");
    assert_eq!(good.unwrap(), 7);
}

/// `abort` drops the future once and resolves the handle to cancelled.
#[test]
fn abort_drops_the_future_once() {
    let rt = rt();
    let local = LocalSet::new();
    let drops = DropCounter::new();
    let guard = drops.guard();
    let h = local.spawn_local(async move {
        let _guard = guard;
        std::future::pending::<()>().await;
    });
    let id = h.id();
    rt.block_on(local.run_until(kairos::yield_now()));
    assert_eq!(drops.dropped(), 0);
    h.abort();
    let err = rt.block_on(local.run_until(h)).unwrap_err();
    assert!(err.is_cancelled());
    assert_eq!(err.id(), id);
    assert_eq!(drops.dropped(), 1);
    assert!(local.is_empty());
}

/// Dropping a set with unfinished tasks (never polled, and parked) drops each future exactly
/// once; their handles resolve to cancelled.
#[test]
fn dropping_the_set_cancels_every_task_once() {
    let rt = rt();
    let local = LocalSet::new();
    let drops = DropCounter::new();
    let mut handles = Vec::new();
    for _ in 0..100 {
        let guard = drops.guard();
        handles.push(local.spawn_local(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        }));
    }
    // Half of them polled once (parked), half never polled.
    rt.block_on(local.run_until(async {
        for _ in 0..50 {
            kairos::spawn_local(async {}).await.unwrap();
        }
    }));
    assert_eq!(drops.dropped(), 0);
    drop(local);
    assert_eq!(drops.dropped(), 100);
    for h in handles {
        assert!(h.is_finished());
        assert!(block_on_thread(h).unwrap_err().is_cancelled());
    }
}

/// An always-ready local task does not keep `run_until` from returning: the set yields after
/// its budget and the wrapped future is polled again.
#[test]
fn an_always_ready_task_does_not_hold_the_set() {
    let _dog = Watchdog::default_for("an_always_ready_task_does_not_hold_the_set");
    let rt = rt();
    let local = LocalSet::new();
    let spins = Rc::new(Cell::new(0u64));
    let s = Rc::clone(&spins);
    let _spinner = local.spawn_local(async move {
        loop {
            s.set(s.get() + 1);
            kairos::yield_now().await;
        }
    });
    let done = rt.block_on(local.run_until(async {
        // Pending once, so that the set runs the spinner at least once whatever the timing
        // (the spawned task below may complete before its handle is first polled).
        kairos::yield_now().await;
        // Completes on a worker; the set keeps yielding until the wake arrives.
        kairos::spawn(async { 3 }).await.unwrap()
    }));
    assert_eq!(done, 3);
    assert!(spins.get() >= 1);
    assert_eq!(local.len(), 1);
}

/// Ids of local tasks come from the driving runtime's counter: unique among its tasks.
#[test]
fn ids_are_unique_with_the_runtime_tasks() {
    let rt = rt();
    let local = LocalSet::new();
    let ids = rt.block_on(local.run_until(async {
        let a = kairos::spawn(async {});
        let b = kairos::spawn_local(async {});
        let c = kairos::spawn(async {});
        let ids = [a.id(), b.id(), c.id()];
        a.await.unwrap();
        b.await.unwrap();
        c.await.unwrap();
        ids
    }));
    assert!(ids[0] < ids[1] && ids[1] < ids[2], "{ids:?}");
}

/// Nested sets: `spawn_local` goes to the innermost one being driven, and the outer one is
/// current again afterwards.
#[test]
fn nested_sets_restore_the_outer_one() {
    let rt = rt();
    let outer = LocalSet::new();
    let inner_len = rt.block_on(outer.run_until(async {
        let inner = LocalSet::new();
        inner
            .run_until(async {
                drop(kairos::spawn_local(std::future::pending::<()>()));
            })
            .await;
        let _parked_outer = kairos::spawn_local(std::future::pending::<()>());
        inner.len()
    }));
    assert_eq!(inner_len, 1);
    assert_eq!(outer.len(), 1);
}
