//! Shutdown: dropping the runtime (or `shutdown_timeout`) cancels every remaining task, runs
//! each destructor exactly once, returns, and leaves kept `JoinHandle`s resolving to cancelled.

use kairos::{JoinHandle, Runtime, ShutdownError};
use kairos_tests::{block_on_thread, oneshot, runtime, DropCounter, DropGuard, Watchdog};
use std::future::{pending, poll_fn};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

const PENDING: usize = 10_000;

/// Spawns `PENDING` tasks that never complete: half wait on `std::future::pending`, half on a
/// oneshot whose sender is kept alive (returned). Waits until each was polled once. Every future
/// holds a guard of `drops`.
fn spawn_pending(
    rt: &Runtime,
    drops: &DropCounter,
) -> (Vec<JoinHandle<()>>, Vec<kairos_tests::Sender<()>>) {
    let polled = Arc::new(AtomicUsize::new(0));
    let (all_polled_tx, all_polled_rx) = mpsc::channel::<()>();
    let mut senders = Vec::new();
    let mut handles = Vec::new();
    for i in 0..PENDING {
        let guard = drops.guard();
        let polled = Arc::clone(&polled);
        let all_polled_tx = all_polled_tx.clone();
        let first_poll = move || {
            if polled.fetch_add(1, Ordering::SeqCst) + 1 == PENDING {
                all_polled_tx.send(()).unwrap();
            }
        };
        if i.is_multiple_of(2) {
            handles.push(rt.spawn(async move {
                let _guard = guard;
                first_poll();
                pending::<()>().await;
            }));
        } else {
            let (tx, rx) = oneshot::<()>();
            senders.push(tx);
            handles.push(rt.spawn(async move {
                let _guard = guard;
                first_poll();
                rx.await.expect("sender kept alive");
                unreachable!("the sender never sends");
            }));
        }
    }
    all_polled_rx.recv().unwrap();
    (handles, senders)
}

/// Dropping a runtime with 10k parked tasks returns and drops each of their futures exactly once;
/// the kept `JoinHandle`s then resolve to cancelled (awaited without any runtime).
#[test]
fn drop_runtime_with_10k_pending_tasks() {
    let _dog = Watchdog::default_for("drop_runtime_with_10k_pending_tasks");
    let rt = runtime(2);
    let drops = DropCounter::new();
    let (handles, senders) = spawn_pending(&rt, &drops);
    assert_eq!(drops.dropped(), 0);
    assert_eq!(rt.metrics().live_tasks, PENDING);
    drop(rt);
    assert_eq!(drops.created(), PENDING);
    assert_eq!(drops.dropped(), PENDING);
    for tx in senders {
        // The receivers were dropped with the futures.
        assert!(tx.send(()).is_err());
    }
    for h in handles {
        assert!(h.is_finished());
        let err = block_on_thread(h).expect_err("cancelled task returned");
        assert!(err.is_cancelled());
    }
    assert_eq!(drops.dropped(), PENDING);
}

/// `shutdown_timeout` with 10k parked tasks returns `Ok`, drops each future once, and the kept
/// handles resolve to cancelled when awaited on a fresh runtime.
#[test]
fn shutdown_timeout_with_10k_pending_tasks() {
    let _dog = Watchdog::default_for("shutdown_timeout_with_10k_pending_tasks");
    let rt = runtime(2);
    let drops = DropCounter::new();
    let (handles, senders) = spawn_pending(&rt, &drops);
    rt.shutdown_timeout(Duration::from_secs(30))
        .expect("no worker is stuck in a poll");
    assert_eq!(drops.dropped(), PENDING);
    drop(senders);
    let fresh = runtime(2);
    let cancelled = fresh.block_on(async move {
        let mut n = 0;
        for h in handles {
            if h.await.unwrap_err().is_cancelled() {
                n += 1;
            }
        }
        n
    });
    assert_eq!(cancelled, PENDING);
}

/// Tasks that were spawned but never polled (the only worker is busy) are dropped once by
/// shutdown too.
#[test]
fn shutdown_drops_never_polled_tasks() {
    let _dog = Watchdog::default_for("shutdown_drops_never_polled_tasks");
    let rt = runtime(1);
    let (blocked_tx, blocked_rx) = mpsc::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let blocker = rt.spawn(async move {
        blocked_tx.send(()).unwrap();
        release_rx.recv().unwrap();
    });
    blocked_rx.recv().unwrap();
    let drops = DropCounter::new();
    let polled = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..PENDING)
        .map(|_| {
            let guard = drops.guard();
            let polled = Arc::clone(&polled);
            rt.spawn(async move {
                let _guard = guard;
                polled.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    // The worker is stuck in the blocker's poll: shutdown times out, but still cancels every
    // queued task.
    let err = rt
        .shutdown_timeout(Duration::from_millis(50))
        .expect_err("the worker is blocked in a poll");
    assert!(
        matches!(err, ShutdownError::TimedOut { stuck: 1, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("still polling"), "{err}");
    assert_eq!(polled.load(Ordering::SeqCst), 0, "a queued task ran");
    assert_eq!(drops.dropped(), PENDING);
    for h in handles {
        assert!(block_on_thread(h).unwrap_err().is_cancelled());
    }
    // Let the stuck worker go: the blocker completes in its poll, so it keeps its output.
    release_tx.send(()).unwrap();
    block_on_thread(blocker).expect("a poll that completes after the timeout keeps its output");
}

/// Issue 18, point 7: a task whose poll is stuck past `shutdown_timeout` and then returns
/// `Ready(7)` resolves its `JoinHandle` to `Ok(7)`, as the error's text and the docs say; its
/// future is dropped once, by the detached worker.
#[test]
fn stuck_poll_that_completes_keeps_its_output() {
    let _dog = Watchdog::default_for("stuck_poll_that_completes_keeps_its_output");
    let rt = runtime(1);
    let drops = DropCounter::new();
    let guard = drops.guard();
    let (in_poll_tx, in_poll_rx) = mpsc::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let stuck = rt.spawn(async move {
        let _guard = guard;
        in_poll_tx.send(()).unwrap();
        release_rx.recv().unwrap();
        7
    });
    in_poll_rx.recv().unwrap();
    let err = rt.shutdown_timeout(Duration::from_millis(50)).unwrap_err();
    assert!(
        matches!(err, ShutdownError::TimedOut { stuck: 1, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("keeping the output"), "{err}");
    release_tx.send(()).unwrap();
    assert_eq!(block_on_thread(stuck).unwrap(), 7);
    drops.wait_dropped(1);
    assert_eq!(drops.dropped(), 1);
}

/// A stuck worker past `shutdown_timeout`: its task is cancelled when the poll returns
/// `Pending`, the future dropped exactly once (by the detached worker).
#[test]
fn stuck_worker_task_dropped_after_timeout() {
    let _dog = Watchdog::default_for("stuck_worker_task_dropped_after_timeout");
    let rt = runtime(2);
    let drops = DropCounter::new();
    let (in_poll_tx, in_poll_rx) = mpsc::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let guard = drops.guard();
    let stuck = rt.spawn(async move {
        let _guard = guard;
        let mut first = true;
        poll_fn(move |_| {
            if first {
                first = false;
                in_poll_tx.send(()).unwrap();
                release_rx.recv().unwrap();
            }
            Poll::<()>::Pending
        })
        .await;
    });
    in_poll_rx.recv().unwrap();
    let err = rt.shutdown_timeout(Duration::from_millis(50)).unwrap_err();
    assert!(
        matches!(err, ShutdownError::TimedOut { stuck: 1, .. }),
        "{err:?}"
    );
    assert_eq!(drops.dropped(), 0, "dropped while being polled");
    release_tx.send(()).unwrap();
    assert!(block_on_thread(stuck).unwrap_err().is_cancelled());
    drops.wait_dropped(1);
    assert_eq!(drops.dropped(), 1);
}

/// A cycle that only shutdown can break: 1000 tasks each hold the `JoinHandle` of the next
/// (a ring) and a shared registry of all their wakers (which holds them). Dropping the runtime
/// drops every future exactly once and releases the shared structure.
#[test]
fn shutdown_breaks_cycles() {
    const TASKS: usize = 1000;
    let _dog = Watchdog::default_for("shutdown_breaks_cycles");
    let rt = runtime(2);
    let drops = DropCounter::new();
    let wakers: Arc<Mutex<Vec<Waker>>> = Arc::default();
    let (all_parked_tx, all_parked_rx) = mpsc::channel::<()>();
    let parked = Arc::new(AtomicUsize::new(0));
    let mut handle_senders = Vec::new();
    let mut outer_handles = Vec::new();
    for _ in 0..TASKS {
        let (tx, rx) = oneshot::<JoinHandle<()>>();
        handle_senders.push(tx);
        let guard: DropGuard = drops.guard();
        let wakers = Arc::clone(&wakers);
        let parked = Arc::clone(&parked);
        let all_parked_tx = all_parked_tx.clone();
        outer_handles.push(rt.spawn(async move {
            let _guard = guard;
            let next = rx.await.expect("handle sent");
            let mut registered = false;
            poll_fn(move |cx| {
                if !registered {
                    registered = true;
                    wakers.lock().unwrap().push(cx.waker().clone());
                    if parked.fetch_add(1, Ordering::SeqCst) + 1 == TASKS {
                        all_parked_tx.send(()).unwrap();
                    }
                }
                Poll::<()>::Pending
            })
            .await;
            // Never reached: keeps `next` (the ring) alive across the await above.
            next.await.unwrap();
        }));
    }
    // Close the ring: task i gets the handle of task i+1; the last gets the first's.
    let mut outer = outer_handles.into_iter();
    let first = outer.next().unwrap();
    let mut rest: Vec<_> = outer.collect();
    rest.push(first);
    for (tx, next) in handle_senders.into_iter().zip(rest) {
        tx.send(next).expect("task alive");
    }
    all_parked_rx.recv().unwrap();
    assert_eq!(wakers.lock().unwrap().len(), TASKS);
    drop(rt);
    assert_eq!(drops.dropped(), TASKS);
    // Every future (and its clone of the Arc) is gone; the stored wakers still work, harmlessly.
    assert_eq!(Arc::strong_count(&wakers), 1);
    let stored = std::mem::take(&mut *wakers.lock().unwrap());
    for w in &stored {
        w.wake_by_ref();
    }
    drop(stored);
    assert_eq!(drops.dropped(), TASKS);
}

/// A destructor that runs during shutdown and spawns a task through a kept `Handle` (refused:
/// the new task is cancelled and dropped) or wakes other tasks does not hang or leak.
#[test]
fn destructors_that_spawn_and_wake_during_shutdown() {
    struct SpawnOnDrop {
        handle: kairos::Handle,
        drops: DropCounter,
        spawned: Arc<Mutex<Vec<JoinHandle<()>>>>,
        wake: Option<Waker>,
    }
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            let guard = self.drops.guard();
            let h = self.handle.spawn(async move {
                let _guard = guard;
                pending::<()>().await;
            });
            self.spawned.lock().unwrap().push(h);
            if let Some(w) = self.wake.take() {
                w.wake();
            }
        }
    }
    const TASKS: usize = 500;
    let _dog = Watchdog::default_for("destructors_that_spawn_and_wake_during_shutdown");
    let rt = runtime(2);
    let outer_drops = DropCounter::new();
    let inner_drops = DropCounter::new();
    let spawned: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
    let (waker_tx, waker_rx) = mpsc::channel::<Waker>();
    for _ in 0..TASKS {
        let guard = outer_drops.guard();
        let waker_tx = waker_tx.clone();
        let mut bomb = Some(SpawnOnDrop {
            handle: rt.handle(),
            drops: inner_drops.clone(),
            spawned: Arc::clone(&spawned),
            wake: None,
        });
        rt.spawn(async move {
            let _guard = guard;
            poll_fn(move |cx| {
                if let Some(b) = bomb.as_mut() {
                    if b.wake.is_none() {
                        // Wake some other task (or itself) from the destructor.
                        b.wake = Some(cx.waker().clone());
                        waker_tx.send(cx.waker().clone()).unwrap();
                    }
                }
                Poll::<()>::Pending
            })
            .await;
        });
    }
    for _ in 0..TASKS {
        waker_rx.recv().unwrap();
    }
    drop(rt);
    assert_eq!(outer_drops.dropped(), TASKS);
    assert_eq!(inner_drops.created(), TASKS);
    assert_eq!(
        inner_drops.dropped(),
        TASKS,
        "tasks spawned during shutdown leaked"
    );
    for h in std::mem::take(&mut *spawned.lock().unwrap()) {
        assert!(block_on_thread(h).unwrap_err().is_cancelled());
    }
}

/// Dropping the runtime from inside one of its own tasks neither deadlocks nor leaks: the other
/// tasks are cancelled and dropped once.
#[test]
fn drop_runtime_from_its_own_task() {
    const TASKS: usize = 1000;
    let _dog = Watchdog::default_for("drop_runtime_from_its_own_task");
    let rt = runtime(2);
    let drops = DropCounter::new();
    let handles: Vec<_> = (0..TASKS)
        .map(|_| {
            let guard = drops.guard();
            rt.spawn(async move {
                let _guard = guard;
                pending::<()>().await;
            })
        })
        .collect();
    let (rt_tx, rt_rx) = oneshot::<Runtime>();
    let killer = rt.spawn(async move {
        let rt = rt_rx.await.unwrap();
        drop(rt);
    });
    let handle = rt.handle();
    rt_tx.send(rt).expect("killer alive");
    // Cleanup runs on the last worker to exit; wait for it through the destructors.
    drops.wait_dropped(TASKS);
    assert_eq!(drops.dropped(), TASKS);
    for h in handles {
        assert!(block_on_thread(h).unwrap_err().is_cancelled());
    }
    let killer = block_on_thread(killer);
    assert!(killer.is_ok() || killer.unwrap_err().is_cancelled());
    // The runtime is gone: spawning through the kept handle is refused.
    assert!(block_on_thread(handle.spawn(async { 1 }))
        .unwrap_err()
        .is_cancelled());
}

/// After the runtime is dropped, `spawn` through a kept `Handle` returns a handle that resolves
/// to cancelled at once (no hang, no panic), and the future is dropped without being polled.
#[test]
fn spawn_after_drop_is_cancelled() {
    let _dog = Watchdog::default_for("spawn_after_drop_is_cancelled");
    let rt = runtime(2);
    let handle = rt.handle();
    drop(rt);
    let drops = DropCounter::new();
    let polled = Arc::new(AtomicUsize::new(0));
    let guard = drops.guard();
    let p = Arc::clone(&polled);
    let h = handle.spawn(async move {
        let _guard = guard;
        p.fetch_add(1, Ordering::SeqCst);
        5
    });
    assert!(h.is_finished());
    assert_eq!(drops.dropped(), 1);
    let err = block_on_thread(h).unwrap_err();
    assert!(err.is_cancelled());
    assert_eq!(polled.load(Ordering::SeqCst), 0);
    // Also from another thread, many times.
    std::thread::spawn(move || {
        for _ in 0..1000 {
            assert!(block_on_thread(handle.spawn(async { 1 }))
                .unwrap_err()
                .is_cancelled());
        }
    })
    .join()
    .unwrap();
}

/// Shutting down an idle runtime (no tasks, workers parked) returns `Ok` promptly, many times.
#[test]
fn shutdown_idle_runtime_repeatedly() {
    let _dog = Watchdog::default_for("shutdown_idle_runtime_repeatedly");
    for i in 0..50u32 {
        let rt = runtime(2);
        if i.is_multiple_of(2) {
            rt.block_on(rt.spawn(async {})).unwrap();
        }
        rt.shutdown_timeout(Duration::from_secs(30)).unwrap();
    }
}

/// Shutdown while tasks are busily yielding and spawning (the runtime is never idle) returns,
/// and every future ever spawned is dropped exactly once.
#[test]
fn shutdown_under_load() {
    let _dog = Watchdog::default_for("shutdown_under_load");
    let rt = runtime(2);
    let drops = DropCounter::new();
    let (running_tx, running_rx) = mpsc::channel::<()>();
    for i in 0..100 {
        let guard = drops.guard();
        let drops = drops.clone();
        let running_tx = running_tx.clone();
        drop(rt.spawn(async move {
            let _guard = guard;
            if i == 99 {
                running_tx.send(()).unwrap();
            }
            loop {
                let g = drops.guard();
                drop(kairos::spawn(async move {
                    let _g = g;
                    kairos::yield_now().await;
                }));
                kairos::yield_now().await;
            }
        }));
    }
    running_rx.recv().unwrap();
    drop(rt);
    assert_eq!(drops.dropped(), drops.created());
    assert!(drops.created() >= 100);
}
