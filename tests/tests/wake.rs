//! Wake-ups: from foreign threads, between tasks, across runtimes, and after the task or the
//! runtime is gone.

use kairos_tests::{mailbox, oneshot, runtime, Watchdog};
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

/// A task parked on a oneshot is woken by a `send` from a plain std thread and completes; the
/// send happens only after the task registered its waker, so a real wake-up is exercised.
#[test]
fn foreign_thread_wakes_task() {
    let _dog = Watchdog::default_for("foreign_thread_wakes_task");
    let rt = runtime(2);
    let (tx, mut rx) = oneshot::<u32>();
    let (registered_tx, registered_rx) = mpsc::channel::<()>();
    let task = rt.spawn(async move {
        let mut polls = 0u32;
        let value = poll_fn(|cx| {
            polls += 1;
            let r = Pin::new(&mut rx).poll(cx);
            if polls == 1 {
                assert!(r.is_pending(), "value arrived before it was sent");
                registered_tx.send(()).unwrap();
            }
            r
        })
        .await;
        (value.expect("sender dropped"), polls)
    });
    let sender = std::thread::spawn(move || {
        registered_rx.recv().unwrap();
        tx.send(41).unwrap();
    });
    let (value, polls) = rt.block_on(task).expect("task failed");
    sender.join().unwrap();
    assert_eq!(value, 41);
    assert_eq!(
        polls, 2,
        "task should be polled once before and once after the wake"
    );
}

/// 2000 round trips between a task and a std thread, each way a oneshot: every wake from the
/// foreign thread reaches the task.
#[test]
fn ping_pong_with_foreign_thread() {
    const ROUNDS: usize = 2000;
    let _dog = Watchdog::default_for("ping_pong_with_foreign_thread");
    let rt = runtime(2);
    // Each round the thread sends the task a number and a oneshot sender to answer through.
    let (ball_tx, mut ball_rx) = mailbox::<(usize, kairos_tests::Sender<usize>)>();
    let task = rt.spawn(async move {
        let mut sum = 0;
        for _ in 0..ROUNDS {
            let (i, reply) = ball_rx.recv().await;
            sum += i;
            reply.send(i + 1).unwrap();
        }
        sum
    });
    let thread = std::thread::spawn(move || {
        let mut last = 0;
        for i in 0..ROUNDS {
            let (reply_tx, reply_rx) = oneshot::<usize>();
            ball_tx.send((i, reply_tx));
            last = kairos_tests::block_on_thread(reply_rx).expect("task dropped reply");
            assert_eq!(last, i + 1);
        }
        last
    });
    assert_eq!(thread.join().unwrap(), ROUNDS);
    assert_eq!(rt.block_on(task).unwrap(), (0..ROUNDS).sum::<usize>());
}

/// Two tasks on the workers ping-pong 10k messages through mailboxes: cross-task wakes on the
/// workers are never lost.
#[test]
fn ping_pong_between_tasks() {
    const ROUNDS: u64 = 10_000;
    let _dog = Watchdog::default_for("ping_pong_between_tasks");
    let rt = runtime(2);
    let (a_tx, mut a_rx) = mailbox::<u64>();
    let (b_tx, mut b_rx) = mailbox::<u64>();
    let ping = rt.spawn(async move {
        for i in 0..ROUNDS {
            b_tx.send(i);
            assert_eq!(a_rx.recv().await, i + 1);
        }
    });
    let pong = rt.spawn(async move {
        for _ in 0..ROUNDS {
            let i = b_rx.recv().await;
            a_tx.send(i + 1);
        }
    });
    rt.block_on(async move {
        ping.await.unwrap();
        pong.await.unwrap();
    });
}

/// A ring of 200 tasks passes a token 50 times around: each hop is a wake of the next task.
#[test]
fn token_ring() {
    const TASKS: usize = 200;
    const LAPS: usize = 50;
    let _dog = Watchdog::default_for("token_ring");
    let rt = runtime(2);
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..TASKS).map(|_| mailbox::<usize>()).unzip();
    let handles: Vec<_> = rxs
        .into_iter()
        .enumerate()
        .map(|(i, mut rx)| {
            let next = txs[(i + 1) % TASKS].clone();
            rt.spawn(async move {
                let mut seen = 0;
                for _ in 0..LAPS {
                    let hops = rx.recv().await;
                    seen += 1;
                    next.send(hops + 1);
                }
                seen
            })
        })
        .collect();
    txs[0].send(0);
    let total: usize = rt.block_on(async move {
        let mut total = 0;
        for h in handles {
            total += h.await.unwrap();
        }
        total
    });
    assert_eq!(total, TASKS * LAPS);
}

/// A task on runtime A is woken by a task on runtime B (a wake from another runtime's worker
/// goes through A's injector) and completes.
#[test]
fn wake_from_another_runtime() {
    let _dog = Watchdog::default_for("wake_from_another_runtime");
    let a = runtime(1);
    let b = runtime(1);
    let handles: Vec<_> = (0..100u32)
        .map(|i| {
            let (tx, rx) = oneshot::<u32>();
            let waiter = a.spawn(async move { rx.await.unwrap() * 2 });
            let waker = b.spawn(async move {
                kairos::yield_now().await;
                tx.send(i).unwrap();
            });
            (i, waiter, waker)
        })
        .collect();
    for (i, waiter, waker) in handles {
        b.block_on(waker).unwrap();
        assert_eq!(a.block_on(waiter).unwrap(), i * 2);
    }
}

/// Waking a task after it completed (through a waker clone kept outside) is harmless, also from
/// another thread and many times.
#[test]
fn wake_after_completion_is_harmless() {
    let _dog = Watchdog::default_for("wake_after_completion_is_harmless");
    let rt = runtime(2);
    let slot: Arc<Mutex<Option<Waker>>> = Arc::default();
    let slot2 = Arc::clone(&slot);
    let task = rt.spawn(async move {
        poll_fn(|cx| {
            *slot2.lock().unwrap() = Some(cx.waker().clone());
            Poll::Ready(())
        })
        .await;
        5
    });
    assert_eq!(rt.block_on(task).unwrap(), 5);
    let waker = slot.lock().unwrap().take().expect("waker stored");
    let clones: Vec<Waker> = (0..8).map(|_| waker.clone()).collect();
    std::thread::spawn(move || {
        for w in clones {
            w.wake_by_ref();
            w.wake();
        }
    })
    .join()
    .unwrap();
    waker.wake();
    // The runtime still works and no task was resurrected.
    assert_eq!(rt.block_on(rt.spawn(async { 6 })).unwrap(), 6);
    assert_eq!(rt.metrics().panics, 0);
}

/// Waking (and dropping) wakers of a task after the runtime was dropped is harmless.
#[test]
fn wake_after_runtime_dropped_is_harmless() {
    let _dog = Watchdog::default_for("wake_after_runtime_dropped_is_harmless");
    let rt = runtime(2);
    let (registered_tx, registered_rx) = mpsc::channel::<Waker>();
    let task = rt.spawn(async move {
        poll_fn(|cx| {
            registered_tx.send(cx.waker().clone()).unwrap();
            Poll::<()>::Pending
        })
        .await;
    });
    let waker = registered_rx.recv().unwrap();
    drop(rt);
    assert!(task.is_finished());
    let clone = waker.clone();
    std::thread::spawn(move || clone.wake()).join().unwrap();
    waker.wake_by_ref();
    waker.wake();
    let err = kairos_tests::block_on_thread(task).unwrap_err();
    assert!(err.is_cancelled());
}

/// A task that wakes itself during its poll (`wake_by_ref` then `Pending`) is polled again;
/// 10k self-wakes on 2 workers all lead to a re-poll.
#[test]
fn self_wake_repolls() {
    let _dog = Watchdog::default_for("self_wake_repolls");
    let rt = runtime(2);
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            rt.spawn(async {
                let mut polls = 0u32;
                poll_fn(|cx| {
                    polls += 1;
                    if polls == 1000 {
                        Poll::Ready(polls)
                    } else {
                        cx.waker().wake_by_ref();
                        Poll::Pending
                    }
                })
                .await
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(rt.block_on(t).unwrap(), 1000);
    }
}
