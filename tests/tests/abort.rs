//! `JoinHandle::abort`: cancels pending, unpolled and running tasks, drops each future exactly
//! once, and leaves completed tasks alone.

use kairos_tests::{oneshot, poll_once, runtime, CountingWaker, DropCounter, Watchdog};
use std::future::{pending, poll_fn, Future};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::task::Poll;

/// Spawns a task that holds a guard of `drops`, then waits forever; returns once the task has
/// been polled (so it is parked, not merely queued).
fn spawn_parked(rt: &kairos::Runtime, drops: &DropCounter) -> kairos::JoinHandle<()> {
    let (started_tx, started_rx) = mpsc::channel();
    let guard = drops.guard();
    let h = rt.spawn(async move {
        let _guard = guard;
        started_tx.send(()).unwrap();
        pending::<()>().await;
    });
    started_rx.recv().unwrap();
    h
}

/// Aborting a task that is parked (polled once, waiting forever) drops its future exactly once
/// and its handle yields `is_cancelled`.
#[test]
fn abort_pending_task() {
    let _dog = Watchdog::default_for("abort_pending_task");
    let rt = runtime(2);
    let drops = DropCounter::new();
    let h = spawn_parked(&rt, &drops);
    assert_eq!(drops.dropped(), 0);
    assert!(!h.is_finished());
    h.abort();
    let err = rt.block_on(h).unwrap_err();
    assert!(err.is_cancelled());
    assert!(!err.is_panic());
    assert_eq!(drops.dropped(), 1);
    assert_eq!(rt.metrics().panics, 0);
}

/// Aborting a task whose waker sits in a oneshot drops the future (the receiver), which the
/// sender observes; the task never sees the value.
#[test]
fn abort_releases_what_the_future_holds() {
    let _dog = Watchdog::default_for("abort_releases_what_the_future_holds");
    let rt = runtime(2);
    let (tx, rx) = oneshot::<u32>();
    let (started_tx, started_rx) = mpsc::channel();
    let h = rt.spawn(async move {
        let mut rx = rx;
        poll_fn(|cx| {
            let r = std::pin::Pin::new(&mut rx).poll(cx);
            started_tx.send(()).unwrap();
            r
        })
        .await
    });
    started_rx.recv().unwrap();
    h.abort();
    assert!(rt.block_on(h).unwrap_err().is_cancelled());
    assert_eq!(tx.send(3), Err(kairos_tests::SendError(3)));
}

/// A task aborted before it was ever polled is never polled: its body does not run, its future
/// is dropped once, the handle yields `is_cancelled`.
#[test]
fn abort_before_first_poll() {
    let _dog = Watchdog::default_for("abort_before_first_poll");
    let rt = runtime(1);
    // Occupy the only worker so the victim stays queued.
    let (blocked_tx, blocked_rx) = mpsc::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let blocker = rt.spawn(async move {
        blocked_tx.send(()).unwrap();
        release_rx.recv().unwrap();
    });
    blocked_rx.recv().unwrap();
    let drops = DropCounter::new();
    let ran = Arc::new(AtomicBool::new(false));
    let victims: Vec<_> = (0..100)
        .map(|_| {
            let guard = drops.guard();
            let ran = Arc::clone(&ran);
            rt.spawn(async move {
                let _guard = guard;
                ran.store(true, Ordering::SeqCst);
            })
        })
        .collect();
    for v in &victims {
        v.abort();
    }
    release_tx.send(()).unwrap();
    rt.block_on(blocker).unwrap();
    for v in victims {
        assert!(rt.block_on(v).unwrap_err().is_cancelled());
    }
    assert!(!ran.load(Ordering::SeqCst), "an aborted task was polled");
    assert_eq!(drops.dropped(), 100);
}

/// Aborting a task that already completed does not affect it: the output is still delivered.
#[test]
fn abort_after_completion_keeps_output() {
    let _dog = Watchdog::default_for("abort_after_completion_keeps_output");
    let rt = runtime(2);
    let (gate_tx, gate_rx) = oneshot::<()>();
    let mut h = rt.spawn(async move {
        gate_rx.await.unwrap();
        5u32
    });
    // The task cannot finish before the gate opens, so this registers our waker.
    let waker = CountingWaker::new();
    assert!(poll_once(&mut h, &waker.waker()).is_pending());
    gate_tx.send(()).unwrap();
    // Completion wakes the join waker; after that the task is finished.
    waker.wait_for(1);
    assert!(h.is_finished());
    h.abort();
    h.abort();
    assert_eq!(rt.block_on(h).unwrap(), 5);
}

/// `abort` called from another thread (the handle is `Sync`) cancels the task.
#[test]
fn abort_from_another_thread() {
    let _dog = Watchdog::default_for("abort_from_another_thread");
    let rt = runtime(2);
    let drops = DropCounter::new();
    let h = spawn_parked(&rt, &drops);
    std::thread::scope(|s| {
        s.spawn(|| h.abort());
    });
    assert!(rt.block_on(h).unwrap_err().is_cancelled());
    assert_eq!(drops.dropped(), 1);
}

/// A task spinning on `yield_now` forever (always runnable, often mid-poll) is cancelled by an
/// abort from outside; its future is dropped once.
#[test]
fn abort_busy_yielding_task() {
    let _dog = Watchdog::default_for("abort_busy_yielding_task");
    let rt = runtime(2);
    let drops = DropCounter::new();
    let (started_tx, started_rx) = mpsc::channel();
    let guard = drops.guard();
    let h = rt.spawn(async move {
        let _guard = guard;
        started_tx.send(()).unwrap();
        loop {
            kairos::yield_now().await;
        }
    });
    started_rx.recv().unwrap();
    h.abort();
    assert!(rt.block_on(h).unwrap_err().is_cancelled());
    assert_eq!(drops.dropped(), 1);
}

/// Abort while the task is inside its poll (it blocks in `poll` until the abort happened): when
/// the poll returns `Pending`, the task is cancelled and dropped once.
#[test]
fn abort_during_poll() {
    let _dog = Watchdog::default_for("abort_during_poll");
    let rt = runtime(2);
    let drops = DropCounter::new();
    let (in_poll_tx, in_poll_rx) = mpsc::channel::<()>();
    let (aborted_tx, aborted_rx) = mpsc::channel::<()>();
    let guard = drops.guard();
    let polls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let polls2 = Arc::clone(&polls);
    let h = rt.spawn(async move {
        let _guard = guard;
        poll_fn(move |cx| {
            if polls2.fetch_add(1, Ordering::SeqCst) == 0 {
                in_poll_tx.send(()).unwrap();
                aborted_rx.recv().unwrap();
            }
            // Stay runnable: a task that would be polled again had it not been aborted.
            cx.waker().wake_by_ref();
            Poll::<()>::Pending
        })
        .await;
    });
    in_poll_rx.recv().unwrap();
    h.abort();
    assert!(!h.is_finished(), "finished while its poll is still running");
    aborted_tx.send(()).unwrap();
    assert!(rt.block_on(h).unwrap_err().is_cancelled());
    assert_eq!(drops.dropped(), 1);
    assert_eq!(
        polls.load(Ordering::SeqCst),
        1,
        "aborted task was polled again"
    );
}

/// A task aborted during the poll in which it completes keeps its output (it completed); its
/// future is dropped once either way.
#[test]
fn abort_during_completing_poll() {
    let _dog = Watchdog::default_for("abort_during_completing_poll");
    let rt = runtime(2);
    let drops = DropCounter::new();
    let (in_poll_tx, in_poll_rx) = mpsc::channel::<()>();
    let (aborted_tx, aborted_rx) = mpsc::channel::<()>();
    let guard = drops.guard();
    let h = rt.spawn(async move {
        let _guard = guard;
        in_poll_tx.send(()).unwrap();
        aborted_rx.recv().unwrap();
        7u32
    });
    in_poll_rx.recv().unwrap();
    h.abort();
    aborted_tx.send(()).unwrap();
    let result = rt.block_on(h);
    assert_eq!(drops.dropped(), 1);
    assert_eq!(
        result.expect("a task that completed in its poll lost its output to abort"),
        7
    );
}

/// A task can abort itself through its own `JoinHandle`: it is cancelled when its current poll
/// returns `Pending`, never polled again, and its future is dropped once.
#[test]
fn self_abort() {
    let _dog = Watchdog::default_for("self_abort");
    let rt = runtime(2);
    let drops = DropCounter::new();
    let (handle_tx, handle_rx) = oneshot::<kairos::JoinHandle<()>>();
    let reached_after = Arc::new(AtomicBool::new(false));
    let reached = Arc::clone(&reached_after);
    let guard = drops.guard();
    let h = rt.spawn(async move {
        let _guard = guard;
        let me = handle_rx.await.unwrap();
        me.abort();
        kairos::yield_now().await;
        reached.store(true, Ordering::SeqCst);
        drop(me);
    });
    handle_tx.send(h).unwrap();
    // The future (holding its own handle) is dropped by the cancellation.
    drops.wait_dropped(1);
    assert!(!reached_after.load(Ordering::SeqCst), "ran past self-abort");
    assert_eq!(drops.dropped(), 1);
    assert_eq!(rt.metrics().panics, 0);
}

/// Stress: 4 threads abort 2000 busy tasks (yielding, waking each other) concurrently with the
/// workers polling them: every task ends cancelled or completed, each future dropped once.
#[test]
fn concurrent_aborts_stress() {
    const TASKS: usize = 2000;
    let _dog = Watchdog::default_for("concurrent_aborts_stress");
    let rt = runtime(2);
    let drops = DropCounter::new();
    let handles: Vec<_> = (0..TASKS)
        .map(|i| {
            let guard = drops.guard();
            rt.spawn(async move {
                let _guard = guard;
                // Some finish on their own, most would run for a long time.
                let rounds = if i.is_multiple_of(10) { 3 } else { 1_000_000 };
                for _ in 0..rounds {
                    kairos::yield_now().await;
                }
                i
            })
        })
        .collect();
    std::thread::scope(|s| {
        for chunk in handles.chunks(TASKS / 4) {
            s.spawn(move || {
                for h in chunk.iter().rev() {
                    h.abort();
                }
            });
        }
    });
    let mut cancelled = 0;
    for (i, h) in handles.into_iter().enumerate() {
        match rt.block_on(h) {
            Ok(v) => assert_eq!(v, i),
            Err(e) => {
                assert!(e.is_cancelled(), "task {i}: {e:?}");
                cancelled += 1;
            }
        }
    }
    assert!(cancelled >= TASKS * 9 / 10, "long tasks must be cancelled");
    assert_eq!(drops.dropped(), TASKS);
    assert_eq!(rt.metrics().panics, 0);
}
