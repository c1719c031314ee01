//! `kairos::sync` channels: close semantics, cancellation safety (no lost wake-ups), the
//! cooperative budget and determinism under the simulator, blocking variants, and a runtime
//! dropped while tasks wait on channels.

use kairos::sync::{
    broadcast, mpmc, mpsc, oneshot, watch, RecvError, SendError, TryRecvError, TrySendError,
};
use kairos::{sim, Policy};
use kairos_tests::{poll_once, runtime, CountingWaker, DropCounter, Watchdog};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// Close semantics.

#[test]
fn mpsc_send_after_receiver_dropped_returns_the_value() {
    let (tx, rx) = mpsc::channel::<String>(2);
    drop(rx);
    assert!(tx.is_closed());
    assert!(matches!(tx.try_send("a".into()), Err(TrySendError::Closed(s)) if s == "a"));
    let rt = runtime(1);
    let err = rt.block_on(tx.send("b".into())).unwrap_err();
    assert_eq!(err.into_inner(), "b");
    assert_eq!(tx.blocking_send("c".into()), Err(SendError("c".into())));

    let (utx, urx) = mpsc::unbounded_channel::<u8>();
    drop(urx);
    assert_eq!(utx.send(1).unwrap_err().0, 1);
}

#[test]
fn mpsc_recv_drains_then_none_after_senders_gone() {
    let rt = runtime(1);
    let (tx, mut rx) = mpsc::channel::<u32>(4);
    let tx2 = tx.clone();
    tx.try_send(1).unwrap();
    tx2.try_send(2).unwrap();
    drop(tx);
    assert!(!rx.is_disconnected(), "tx2 is alive");
    drop(tx2);
    assert!(rx.is_disconnected());
    rt.block_on(async {
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(rx.recv().await, Some(2));
        assert_eq!(rx.recv().await, None);
        assert_eq!(rx.recv().await, None, "None again, not a panic");
    });
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn mpsc_close_refuses_senders_but_keeps_the_buffer() {
    let (tx, mut rx) = mpsc::unbounded_channel::<u32>();
    tx.send(1).unwrap();
    rx.close();
    assert!(tx.is_closed());
    assert_eq!(tx.send(2), Err(SendError(2)));
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(
        rx.try_recv(),
        Err(TryRecvError::Closed),
        "closed and drained"
    );
}

#[test]
fn dropping_the_receiver_drops_buffered_messages_once() {
    let drops = DropCounter::new();
    let (tx, rx) = mpsc::channel(8);
    for _ in 0..5 {
        tx.try_send(drops.guard()).unwrap();
    }
    drop(rx);
    assert_eq!(drops.dropped(), 5);
    drop(tx);
    assert_eq!(drops.dropped(), 5);
}

#[test]
fn dropping_the_last_sender_wakes_every_receiver() {
    let (tx, rx) = mpmc::channel::<u32>(4);
    let rxs: Vec<_> = (0..3).map(|_| rx.clone()).collect();
    let wakers: Vec<_> = (0..3).map(|_| CountingWaker::new()).collect();
    let mut futs: Vec<_> = rxs.iter().map(|r| r.recv()).collect();
    for (f, w) in futs.iter_mut().zip(&wakers) {
        assert!(poll_once(f, &w.waker()).is_pending());
    }
    let tx2 = tx.clone();
    drop(tx);
    assert!(wakers.iter().all(|w| w.wakes() == 0), "a sender is left");
    drop(tx2);
    for (f, w) in futs.iter_mut().zip(&wakers) {
        assert_eq!(w.wakes(), 1, "every waiting receiver is woken once");
        assert_eq!(poll_once(f, &w.waker()), Poll::Ready(None));
    }
}

#[test]
fn dropping_the_last_receiver_wakes_waiting_senders_with_their_values() {
    let (tx, rx) = mpsc::channel::<u32>(1);
    tx.try_send(0).unwrap();
    let w = CountingWaker::new();
    let mut fut = tx.send(7);
    assert!(poll_once(&mut fut, &w.waker()).is_pending());
    drop(rx);
    assert_eq!(w.wakes(), 1);
    assert_eq!(
        poll_once(&mut fut, &w.waker()),
        Poll::Ready(Err(SendError(7)))
    );
}

#[test]
fn oneshot_close_semantics() {
    let rt = runtime(1);
    // Sender dropped unsent: the receiver fails.
    let (tx, rx) = oneshot::channel::<u32>();
    drop(tx);
    assert_eq!(rt.block_on(rx), Err(RecvError));
    // Receiver gone: send returns the value.
    let (tx, rx) = oneshot::channel::<u32>();
    assert!(!tx.is_closed());
    drop(rx);
    assert!(tx.is_closed());
    assert_eq!(tx.send(5), Err(SendError(5)));
    // A waiting receiver is woken by the sender's drop.
    let (tx, mut rx) = oneshot::channel::<u32>();
    let w = CountingWaker::new();
    assert!(poll_once(&mut rx, &w.waker()).is_pending());
    drop(tx);
    assert_eq!(w.wakes(), 1);
    assert_eq!(poll_once(&mut rx, &w.waker()), Poll::Ready(Err(RecvError)));
    // A value sent and never received is dropped with the receiver.
    let drops = DropCounter::new();
    let (tx, rx) = oneshot::channel();
    tx.send(drops.guard()).unwrap();
    assert_eq!(drops.dropped(), 0);
    drop(rx);
    assert_eq!(drops.dropped(), 1);
    // try_recv: empty, then the value, then closed.
    let (tx, mut rx) = oneshot::channel::<u32>();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.send(1).unwrap();
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    // A closed receiver that waits is woken with an error when the send it refused comes.
    let (tx, mut rx) = oneshot::channel::<u32>();
    let w = CountingWaker::new();
    assert!(poll_once(&mut rx, &w.waker()).is_pending());
    rx.close();
    assert_eq!(tx.send(2), Err(SendError(2)));
    assert_eq!(w.wakes(), 1);
    assert_eq!(poll_once(&mut rx, &w.waker()), Poll::Ready(Err(RecvError)));
    // A value sent before the close is still received.
    let (tx, mut rx) = oneshot::channel::<u32>();
    tx.send(3).unwrap();
    rx.close();
    assert_eq!(rx.try_recv(), Ok(3));
}

// ---------------------------------------------------------------------------------------------
// Cancellation safety: a dropped future gives its place up and passes a wake-up on.

#[test]
fn a_dropped_notified_receiver_passes_the_wake_up_on() {
    let (tx, rx) = mpmc::channel::<u32>(4);
    let (wa, wb) = (CountingWaker::new(), CountingWaker::new());
    let mut a = rx.recv();
    let mut b = rx.recv();
    assert!(poll_once(&mut a, &wa.waker()).is_pending());
    assert!(poll_once(&mut b, &wb.waker()).is_pending());
    tx.try_send(1).unwrap();
    assert_eq!(
        (wa.wakes(), wb.wakes()),
        (1, 0),
        "one message, one wake-up, oldest first"
    );
    drop(a);
    assert_eq!(wb.wakes(), 1, "the wake-up went on to the other receiver");
    assert_eq!(poll_once(&mut b, &wb.waker()), Poll::Ready(Some(1)));
}

#[test]
fn a_dropped_waiting_receiver_is_not_woken_and_takes_nothing() {
    let (tx, rx) = mpmc::channel::<u32>(4);
    let (wa, wb) = (CountingWaker::new(), CountingWaker::new());
    let mut a = rx.recv();
    let mut b = rx.recv();
    assert!(poll_once(&mut a, &wa.waker()).is_pending());
    assert!(poll_once(&mut b, &wb.waker()).is_pending());
    drop(a);
    tx.try_send(1).unwrap();
    assert_eq!((wa.wakes(), wb.wakes()), (0, 1));
    assert_eq!(poll_once(&mut b, &wb.waker()), Poll::Ready(Some(1)));
}

#[test]
fn a_dropped_notified_sender_passes_the_room_on() {
    let (tx, mut rx) = mpsc::channel::<u32>(1);
    tx.try_send(0).unwrap();
    let (wa, wb) = (CountingWaker::new(), CountingWaker::new());
    let mut a = tx.send(1);
    let mut b = tx.send(2);
    assert!(poll_once(&mut a, &wa.waker()).is_pending());
    assert!(poll_once(&mut b, &wb.waker()).is_pending());
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!(
        (wa.wakes(), wb.wakes()),
        (1, 0),
        "one free slot, one wake-up"
    );
    drop(a);
    assert_eq!(wb.wakes(), 1, "the wake-up went on to the other sender");
    assert_eq!(poll_once(&mut b, &wb.waker()), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(2), "the dropped send sent nothing");
}

#[test]
fn a_notified_receiver_beaten_to_the_message_waits_again() {
    let (tx, rx) = mpmc::channel::<u32>(4);
    let wa = CountingWaker::new();
    let mut a = rx.recv();
    assert!(poll_once(&mut a, &wa.waker()).is_pending());
    tx.try_send(1).unwrap();
    assert_eq!(rx.try_recv(), Ok(1), "another receiver takes it first");
    assert!(poll_once(&mut a, &wa.waker()).is_pending());
    tx.try_send(2).unwrap();
    assert_eq!(wa.wakes(), 2, "re-registered, so woken by the next message");
    assert_eq!(poll_once(&mut a, &wa.waker()), Poll::Ready(Some(2)));
}

// ---------------------------------------------------------------------------------------------
// The cooperative budget, exactly, under the simulator.

/// Runs `recv_loop` (which loops on a never-empty channel and records in `seen` how many
/// operations it had completed when it first saw the flag) beside a task that sets the flag, on
/// one virtual worker under Fifo. Both are spawned by a parent task, so both sit in the worker's
/// local queue, the loop first. Returns `seen`.
fn budget_scenario<F>(
    recv_loop: impl FnOnce(Arc<AtomicBool>, Arc<Mutex<Option<usize>>>) -> F + Send + 'static,
) -> Option<usize>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let mut sim = sim::Builder::new()
        .workers(1)
        .policy(Policy::Fifo)
        .build()
        .unwrap();
    let flag = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(None));
    let (f, s) = (flag.clone(), seen.clone());
    let parent = sim.spawn(async move {
        let looping = kairos::spawn(recv_loop(f.clone(), s));
        let setter = kairos::spawn(async move { f.store(true, Ordering::SeqCst) });
        looping.await.unwrap();
        setter.await.unwrap();
    });
    sim.block_on(parent).unwrap();
    assert!(flag.load(Ordering::SeqCst));
    let seen = *seen.lock().unwrap();
    seen
}

/// The operations a poll completes before the budget (`coop::BUDGET`, 128) asks it to yield:
/// the 128th spends the last unit and is refused, so the loop sees the flag after its 128th
/// operation completes on the next poll.
const SEEN_AT: Option<usize> = Some(128);

/// Messages in the never-empty channels of the budget tests.
const MESSAGES: usize = 1000;

#[test]
fn a_recv_loop_on_a_never_empty_channel_yields_at_the_budget() {
    // mpsc, unbounded, prefilled: without the budget the loop would take all 1000 messages
    // before the other task ran. With it, the loop yields at the budget.
    let seen = budget_scenario(|flag, seen| async move {
        let (tx, mut rx) = mpsc::unbounded_channel::<usize>();
        for i in 0..MESSAGES {
            tx.send(i).unwrap();
        }
        drop(tx);
        let mut n = 0;
        while rx.recv().await.is_some() {
            n += 1;
            if flag.load(Ordering::SeqCst) && seen.lock().unwrap().is_none() {
                *seen.lock().unwrap() = Some(n);
            }
        }
        assert_eq!(n, MESSAGES);
    });
    assert_eq!(seen, SEEN_AT);
}

#[test]
fn a_recv_loop_on_an_always_full_bounded_channel_yields_at_the_budget() {
    for mpmc_flavour in [false, true] {
        let seen = budget_scenario(move |flag, seen| async move {
            let mut n = 0;
            let note = |n: usize| {
                if flag.load(Ordering::SeqCst) && seen.lock().unwrap().is_none() {
                    *seen.lock().unwrap() = Some(n);
                }
            };
            if mpmc_flavour {
                let (tx, rx) = mpmc::channel::<usize>(MESSAGES);
                (0..MESSAGES).for_each(|i| tx.try_send(i).unwrap());
                drop(tx);
                while rx.recv().await.is_some() {
                    n += 1;
                    note(n);
                }
            } else {
                let (tx, mut rx) = mpsc::channel::<usize>(MESSAGES);
                (0..MESSAGES).for_each(|i| tx.try_send(i).unwrap());
                drop(tx);
                while rx.recv().await.is_some() {
                    n += 1;
                    note(n);
                }
            }
            assert_eq!(n, MESSAGES);
        });
        assert_eq!(seen, SEEN_AT, "mpmc: {mpmc_flavour}");
    }
}

#[test]
fn a_send_loop_into_a_channel_with_room_yields_at_the_budget() {
    let seen = budget_scenario(|flag, seen| async move {
        let (tx, _rx) = mpsc::channel::<usize>(MESSAGES);
        for n in 1..=MESSAGES {
            tx.send(n).await.unwrap();
            if flag.load(Ordering::SeqCst) && seen.lock().unwrap().is_none() {
                *seen.lock().unwrap() = Some(n);
            }
        }
    });
    assert_eq!(seen, SEEN_AT);
}

// ---------------------------------------------------------------------------------------------
// Determinism under the simulator.

/// A three-stage pipeline on 3 virtual workers: a producer feeds a bounded mpsc channel; a
/// dispatcher forwards into a bounded mpmc channel read by 3 workers that compute a random
/// (seeded) time and answer through oneshot channels; a watch channel carries progress and a
/// broadcast channel the end. Returns the order in which answers were collected and the digest.
fn pipeline(seed: u64) -> (Vec<u32>, sim::Digest) {
    let mut sim = sim::Builder::new()
        .seed(seed)
        .workers(3)
        .policy(Policy::Fifo)
        .build()
        .unwrap();
    let order = sim.block_on(async {
        let (tx, mut rx) = mpsc::channel::<u32>(4);
        let (jobs_tx, jobs_rx) = mpmc::channel::<(u32, oneshot::Sender<u32>)>(2);
        let (done_tx, _) = broadcast::channel::<()>(1);
        let (progress_tx, mut progress_rx) = watch::channel(0u32);
        let producer = kairos::spawn(async move {
            for i in 0..60 {
                tx.send(i).await.unwrap();
            }
        });
        let workers: Vec<_> = (0..3)
            .map(|_| {
                let jobs = jobs_rx.clone();
                let mut done = done_tx.subscribe();
                kairos::spawn(async move {
                    let mut rng = sim::rng();
                    while let Some((job, reply)) = jobs.recv().await {
                        kairos::work(Duration::from_micros(1 + rng.below(50))).await;
                        let _ = reply.send(job * 2);
                    }
                    done.recv().await.unwrap();
                })
            })
            .collect();
        drop(jobs_rx);
        let (answers_tx, mut answers_rx) = mpsc::unbounded_channel::<oneshot::Receiver<u32>>();
        let dispatcher = kairos::spawn(async move {
            while let Some(i) = rx.recv().await {
                let (reply_tx, reply_rx) = oneshot::channel();
                jobs_tx.send((i, reply_tx)).await.unwrap();
                answers_tx.send(reply_rx).unwrap();
            }
        });
        let collector = kairos::spawn(async move {
            let (got_tx, mut got_rx) = mpsc::unbounded_channel();
            let mut pending = Vec::new();
            while let Some(reply) = answers_rx.recv().await {
                let got_tx = got_tx.clone();
                pending.push(kairos::spawn(async move {
                    got_tx.send(reply.await.unwrap()).unwrap();
                }));
            }
            drop(got_tx);
            let mut order = Vec::new();
            while let Some(v) = got_rx.recv().await {
                order.push(v);
                progress_tx.send_replace(order.len() as u32);
            }
            order
        });
        producer.await.unwrap();
        dispatcher.await.unwrap();
        let order = collector.await.unwrap();
        assert_eq!(*progress_rx.borrow_and_update(), 60);
        done_tx.send(()).unwrap();
        for w in workers {
            w.await.unwrap();
        }
        order
    });
    (order, sim.digest())
}

#[test]
fn a_channel_pipeline_is_deterministic_under_the_simulator() {
    let (order1, digest1) = pipeline(7);
    let (order2, digest2) = pipeline(7);
    let mut sorted = order1.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        (0..60).map(|i| i * 2).collect::<Vec<_>>(),
        "every job answered once"
    );
    assert_eq!(order1, order2);
    assert_eq!(digest1, digest2);
}

// ---------------------------------------------------------------------------------------------
// Blocking variants and threads.

#[test]
fn blocking_variants_work_between_plain_threads() {
    let _dog = Watchdog::default_for("blocking channel variants");
    let (tx, mut rx) = mpsc::channel::<u32>(2);
    let (jtx, jrx) = mpmc::channel::<u32>(1);
    let producer = std::thread::spawn(move || {
        for i in 0..1000 {
            tx.blocking_send(i).unwrap();
        }
    });
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let jrx = jrx.clone();
            std::thread::spawn(move || {
                let mut sum = 0u64;
                while let Some(v) = jrx.blocking_recv() {
                    sum += u64::from(v);
                }
                sum
            })
        })
        .collect();
    drop(jrx);
    while let Some(v) = rx.blocking_recv() {
        jtx.blocking_send(v).unwrap();
    }
    drop(jtx);
    producer.join().unwrap();
    let total: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    assert_eq!(total, (0..1000u64).sum::<u64>());
    let (otx, orx) = oneshot::channel::<u32>();
    std::thread::spawn(move || otx.send(3).unwrap());
    assert_eq!(orx.blocking_recv(), Ok(3));
}

#[test]
fn tasks_and_threads_exchange_through_channels() {
    let _dog = Watchdog::default_for("tasks and threads");
    let rt = runtime(2);
    let (tx, mut rx) = mpsc::channel::<u32>(1);
    let (back_tx, mut back_rx) = mpsc::channel::<u32>(1);
    let task = rt.spawn(async move {
        while let Some(v) = rx.recv().await {
            back_tx.send(v + 1).await.unwrap();
        }
    });
    for i in 0..500 {
        tx.blocking_send(i).unwrap();
        assert_eq!(back_rx.blocking_recv(), Some(i + 1));
    }
    drop(tx);
    rt.block_on(task).unwrap();
    assert_eq!(back_rx.blocking_recv(), None);
}

// ---------------------------------------------------------------------------------------------
// A runtime dropped while tasks wait on channels.

#[test]
fn dropping_the_runtime_drops_every_waiting_task_once() {
    let _dog = Watchdog::default_for("runtime drop with channel waiters");
    let drops = DropCounter::new();
    let rt = runtime(2);
    let (tx, rx) = mpmc::channel::<u32>(1);
    tx.try_send(0).unwrap();
    let (_keep_tx, mut never_rx) = mpsc::unbounded_channel::<u32>();
    let (_keep_otx, orx) = oneshot::channel::<u32>();
    let (wtx, mut wrx) = watch::channel(0u32);
    let (btx, mut brx) = broadcast::channel::<u32>(2);
    // Each task says it started (then awaits); the test waits for all six before the drop.
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel::<()>();
    let spawn = |f: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>| {
        let guard = drops.guard();
        let ready = ready_tx.clone();
        rt.spawn(async move {
            let _guard = guard;
            ready.send(()).unwrap();
            f.await;
        });
    };
    let tx2 = tx.clone();
    spawn(Box::pin(async move {
        let _ = tx2.send(1).await; // full: waits
    }));
    let rx2 = rx.clone();
    spawn(Box::pin(async move {
        let _ = rx2.recv().await; // takes 0 or waits forever after
        let _ = rx2.recv().await;
        let _ = rx2.recv().await;
    }));
    spawn(Box::pin(async move {
        let _ = never_rx.recv().await;
    }));
    spawn(Box::pin(async move {
        let _ = orx.await;
    }));
    spawn(Box::pin(async move {
        let _ = wrx.changed().await;
        let _ = wrx.changed().await;
    }));
    spawn(Box::pin(async move {
        let _ = brx.recv().await;
    }));
    for _ in 0..6 {
        ready_rx.blocking_recv().unwrap();
    }
    drop(rt);
    assert_eq!(drops.dropped(), 6, "every task dropped exactly once");
    // The channels are still usable and hold no dangling waiter.
    drop(rx);
    assert!(tx.try_send(5).is_err());
    assert!(
        wtx.send(1).is_err(),
        "the watch receiver went with its task"
    );
    assert!(
        btx.send(1).is_err(),
        "the broadcast receiver went with its task"
    );
}

// ---------------------------------------------------------------------------------------------
// watch and broadcast.

#[test]
fn watch_sender_drop_wakes_waiting_receivers_with_an_error() {
    let (tx, rx) = watch::channel(0u32);
    let mut rx2 = rx.clone();
    let mut rx1 = rx;
    let (w1, w2) = (CountingWaker::new(), CountingWaker::new());
    let mut f1 = Box::pin(rx1.changed());
    let mut f2 = Box::pin(rx2.changed());
    assert!(poll_once(&mut f1, &w1.waker()).is_pending());
    assert!(poll_once(&mut f2, &w2.waker()).is_pending());
    tx.send(1).unwrap();
    assert_eq!(
        (w1.wakes(), w2.wakes()),
        (1, 1),
        "a send wakes every waiting receiver"
    );
    assert_eq!(poll_once(&mut f1, &w1.waker()), Poll::Ready(Ok(())));
    drop(f1);
    let mut f1 = Box::pin(rx1.changed());
    assert!(poll_once(&mut f1, &w1.waker()).is_pending());
    drop(tx);
    assert_eq!(w1.wakes(), 2);
    assert_eq!(poll_once(&mut f1, &w1.waker()), Poll::Ready(Err(RecvError)));
    // rx2 has not seen version 1 yet: it gets that change first, then the error.
    assert_eq!(poll_once(&mut f2, &w2.waker()), Poll::Ready(Ok(())));
    drop((f1, f2));
    assert_eq!(*rx2.borrow(), 1, "the last value stays readable");
    assert!(rx2.has_changed().is_err());
}

#[test]
fn watch_keeps_only_the_latest_value() {
    let rt = runtime(1);
    let (tx, mut rx) = watch::channel(0u32);
    for v in 1..=5 {
        tx.send(v).unwrap();
    }
    rt.block_on(async {
        rx.changed().await.unwrap();
        assert_eq!(*rx.borrow_and_update(), 5);
        assert!(!rx.has_changed().unwrap());
    });
    drop(rx);
    assert_eq!(tx.send(6), Err(SendError(6)));
    assert_eq!(
        tx.send_replace(7),
        5,
        "send_replace stores with no receiver"
    );
    assert_eq!(*tx.borrow(), 7);
}

#[test]
fn broadcast_delivers_every_value_to_every_receiver_in_order() {
    let _dog = Watchdog::default_for("broadcast fan-out");
    let rt = runtime(2);
    // The capacity holds every value: no receiver can lag, however the tasks interleave.
    let (tx, rx) = broadcast::channel::<u32>(128);
    let receivers: Vec<_> = (0..3)
        .map(|_| {
            let mut rx = rx.resubscribe();
            rt.spawn(async move {
                let mut got = Vec::new();
                loop {
                    match rx.recv().await {
                        Ok(v) => got.push(v),
                        Err(broadcast::RecvError::Closed) => return got,
                        Err(broadcast::RecvError::Lagged(n)) => panic!("lagged by {n}"),
                    }
                }
            })
        })
        .collect();
    drop(rx);
    for v in 0..100 {
        assert_eq!(tx.send(v), Ok(3));
    }
    let tx_count = tx.receiver_count();
    assert_eq!(tx_count, 3);
    drop(tx);
    for r in receivers {
        let got = rt.block_on(r).unwrap();
        assert_eq!(got, (0..100).collect::<Vec<_>>());
    }
}

#[test]
fn broadcast_lag_close_and_dropped_futures() {
    let (tx, mut rx) = broadcast::channel::<u32>(2);
    let mut late = tx.subscribe();
    for v in 0..5 {
        assert_eq!(tx.send(v), Ok(2));
    }
    // Capacity 2: values 0..3 were overwritten.
    assert_eq!(rx.try_recv(), Err(broadcast::TryRecvError::Lagged(3)));
    assert_eq!(rx.try_recv(), Ok(3));
    assert_eq!(late.try_recv(), Err(broadcast::TryRecvError::Lagged(3)));
    assert_eq!(late.try_recv(), Ok(3));
    // A dropped waiting future leaves no waiter behind: the next send still reaches the
    // receiver, and the receiver still works.
    assert_eq!(rx.try_recv(), Ok(4));
    let w = CountingWaker::new();
    {
        let mut fut = rx.recv();
        assert!(poll_once(&mut fut, &w.waker()).is_pending());
    }
    tx.send(5).unwrap();
    assert_eq!(w.wakes(), 0, "the dropped future's waker is gone");
    let mut fut = rx.recv();
    assert_eq!(poll_once(&mut fut, &w.waker()), Poll::Ready(Ok(5)));
    drop(fut);
    drop(tx);
    assert_eq!(rx.try_recv(), Err(broadcast::TryRecvError::Closed));
    assert_eq!(late.try_recv(), Ok(4));
    assert_eq!(late.try_recv(), Ok(5));
    assert_eq!(late.blocking_recv(), Err(broadcast::RecvError::Closed));
    drop((rx, late));
}

#[test]
fn broadcast_send_without_receivers_returns_the_value() {
    let (tx, rx) = broadcast::channel::<String>(4);
    drop(rx);
    assert_eq!(tx.send("x".into()).unwrap_err().into_inner(), "x");
}

// ---------------------------------------------------------------------------------------------
// Many producers on threads, one consumer task: per-producer order, nothing lost.

#[test]
fn per_producer_fifo_with_many_threads() {
    let _dog = Watchdog::default_for("mpsc many producers");
    let rt = runtime(2);
    let (tx, mut rx) = mpsc::channel::<(u32, u32)>(16);
    let producers: Vec<_> = (0..4)
        .map(|p| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for i in 0..2000 {
                    tx.blocking_send((p, i)).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let next = rt.block_on(async move {
        let mut next = [0u32; 4];
        while let Some((p, i)) = rx.recv().await {
            assert_eq!(i, next[p as usize], "producer {p} out of order");
            next[p as usize] += 1;
        }
        next
    });
    for p in producers {
        p.join().unwrap();
    }
    assert_eq!(next, [2000; 4]);
}

#[test]
fn close_wakes_waiting_senders_and_receivers() {
    // mpsc: a sender waiting on a full buffer gets its value back; the buffer stays receivable.
    let (tx, mut rx) = mpsc::channel::<u32>(1);
    tx.try_send(1).unwrap();
    let w = CountingWaker::new();
    let mut send = tx.send(2);
    assert!(poll_once(&mut send, &w.waker()).is_pending());
    rx.close();
    assert_eq!(w.wakes(), 1);
    assert_eq!(
        poll_once(&mut send, &w.waker()),
        Poll::Ready(Err(SendError(2)))
    );
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    // mpmc: a receiver waiting on an empty channel closed by another receiver gets `None`.
    let (tx, rx) = mpmc::channel::<u32>(1);
    let rx2 = rx.clone();
    let w = CountingWaker::new();
    let mut recv = rx2.recv();
    assert!(poll_once(&mut recv, &w.waker()).is_pending());
    rx.close();
    assert_eq!(w.wakes(), 1);
    assert_eq!(poll_once(&mut recv, &w.waker()), Poll::Ready(None));
    assert!(tx.is_closed());
}
