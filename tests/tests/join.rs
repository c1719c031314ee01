//! `JoinHandle`: awaited from tasks, from `block_on`, from other executors, after completion,
//! and with changing wakers; detaching and output ownership.

use kairos::JoinHandle;
use kairos_tests::{
    block_on_thread, oneshot, poll_once, runtime, CountingWaker, DropCounter, Watchdog,
};
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::mpsc;
use std::task::Poll;

/// A `JoinHandle` awaited from another task gets the output.
#[test]
fn await_from_another_task() {
    let _dog = Watchdog::default_for("await_from_another_task");
    let rt = runtime(2);
    let (gate_tx, gate_rx) = oneshot::<u32>();
    let target = rt.spawn(async move { gate_rx.await.unwrap() + 1 });
    let waiter = rt.spawn(async move { target.await.unwrap() * 10 });
    gate_tx.send(4).unwrap();
    assert_eq!(rt.block_on(waiter).unwrap(), 50);
}

/// A `JoinHandle` awaited from `block_on` gets the output, also when the task finishes only after
/// `block_on` started waiting (gated by a foreign thread).
#[test]
fn await_from_block_on() {
    let _dog = Watchdog::default_for("await_from_block_on");
    let rt = runtime(2);
    let (gate_tx, gate_rx) = oneshot::<&'static str>();
    let (waiting_tx, waiting_rx) = mpsc::channel::<()>();
    let target = rt.spawn(async move { gate_rx.await.unwrap() });
    let opener = std::thread::spawn(move || {
        waiting_rx.recv().unwrap();
        gate_tx.send("done").unwrap();
    });
    let mut target = target;
    let mut first = true;
    let out = rt.block_on(poll_fn(move |cx| {
        let r = Pin::new(&mut target).poll(cx);
        if first {
            first = false;
            assert!(r.is_pending(), "finished before the gate opened");
            waiting_tx.send(()).unwrap();
        }
        r
    }));
    opener.join().unwrap();
    assert_eq!(out.unwrap(), "done");
}

/// A `JoinHandle` first awaited after its task finished returns the output at once.
#[test]
fn await_after_task_finished() {
    let _dog = Watchdog::default_for("await_after_task_finished");
    let rt = runtime(2);
    let (gate_tx, gate_rx) = oneshot::<()>();
    let mut h = rt.spawn(async move {
        gate_rx.await.unwrap();
        vec![1, 2, 3]
    });
    let waker = CountingWaker::new();
    assert!(poll_once(&mut h, &waker.waker()).is_pending());
    gate_tx.send(()).unwrap();
    waker.wait_for(1);
    assert!(h.is_finished());
    // No runtime needed to read a finished task's output, and no further wake is required.
    let probe = CountingWaker::new();
    match poll_once(&mut h, &probe.waker()) {
        Poll::Ready(out) => assert_eq!(out.unwrap(), vec![1, 2, 3]),
        Poll::Pending => panic!("finished task's handle returned Pending"),
    }
    assert_eq!(probe.wakes(), 0);
}

/// Polled with waker A, then with waker B: completion wakes B (the latest), not A.
#[test]
fn latest_waker_is_woken() {
    let _dog = Watchdog::default_for("latest_waker_is_woken");
    let rt = runtime(2);
    let (gate_tx, gate_rx) = oneshot::<()>();
    let mut h = rt.spawn(async move {
        gate_rx.await.unwrap();
        3u8
    });
    let a = CountingWaker::new();
    let b = CountingWaker::new();
    assert!(poll_once(&mut h, &a.waker()).is_pending());
    assert!(poll_once(&mut h, &a.waker()).is_pending());
    assert!(poll_once(&mut h, &b.waker()).is_pending());
    gate_tx.send(()).unwrap();
    b.wait_for(1);
    assert_eq!(a.wakes(), 0, "stale waker woken");
    assert_eq!(block_on_thread(h).unwrap(), 3);
}

/// A handle polled by task 1 (registering task 1's waker) and then handed to task 2, which
/// awaits it: task 2 is woken on completion.
#[test]
fn handle_moves_between_tasks() {
    let _dog = Watchdog::default_for("handle_moves_between_tasks");
    let rt = runtime(2);
    for round in 0..200u32 {
        let (gate_tx, gate_rx) = oneshot::<u32>();
        let target = rt.spawn(async move { gate_rx.await.unwrap() });
        let (pass_tx, pass_rx) = oneshot::<JoinHandle<u32>>();
        let first = rt.spawn(async move {
            let mut target = target;
            // Select-like manual poll: one look, then give the handle away.
            let r = poll_fn(|cx| Poll::Ready(Pin::new(&mut target).poll(cx))).await;
            assert!(r.is_pending(), "finished before the gate opened");
            pass_tx.send(target).expect("second task alive");
        });
        let second = rt.spawn(async move { pass_rx.await.unwrap().await.unwrap() });
        rt.block_on(first).unwrap();
        gate_tx.send(round).unwrap();
        assert_eq!(rt.block_on(second).unwrap(), round);
    }
}

/// A handle polled with one executor's waker and then awaited from another runtime's task
/// still completes (wakers of different origin replace each other correctly).
#[test]
fn handle_awaited_from_other_runtime() {
    let _dog = Watchdog::default_for("handle_awaited_from_other_runtime");
    let a = runtime(1);
    let b = runtime(1);
    let (gate_tx, gate_rx) = oneshot::<u64>();
    let mut h = a.spawn(async move { gate_rx.await.unwrap() });
    let foreign = CountingWaker::new();
    assert!(poll_once(&mut h, &foreign.waker()).is_pending());
    let (polled_tx, polled_rx) = mpsc::channel::<()>();
    let waiter = b.spawn(async move {
        let mut first = true;
        let out = poll_fn(move |cx| {
            let r = Pin::new(&mut h).poll(cx);
            if first {
                first = false;
                polled_tx.send(()).unwrap();
            }
            r
        })
        .await;
        out.unwrap() + 1
    });
    // Open the gate only once b's task has replaced the foreign waker.
    polled_rx.recv().unwrap();
    gate_tx.send(41).unwrap();
    assert_eq!(b.block_on(waiter).unwrap(), 42);
    assert_eq!(foreign.wakes(), 0);
}

/// Many tasks each await a handle of a shared producer chain: task i awaits task i-1's handle
/// and adds one, a 2000-long chain of join wakes.
#[test]
fn join_chain() {
    const LEN: u64 = 2000;
    let _dog = Watchdog::default_for("join_chain");
    let rt = runtime(2);
    let (gate_tx, gate_rx) = oneshot::<u64>();
    let mut prev = rt.spawn(async move { gate_rx.await.unwrap() });
    for _ in 0..LEN {
        let p = prev;
        prev = rt.spawn(async move { p.await.unwrap() + 1 });
    }
    gate_tx.send(0).unwrap();
    assert_eq!(rt.block_on(prev).unwrap(), LEN);
}

/// Dropping a `JoinHandle` before the task finishes detaches it: the task still runs, and its
/// output is dropped exactly once when it completes.
#[test]
fn dropped_handle_detaches_and_drops_output() {
    let _dog = Watchdog::default_for("dropped_handle_detaches_and_drops_output");
    let rt = runtime(2);
    let outputs = DropCounter::new();
    let (gate_tx, gate_rx) = oneshot::<()>();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let out = outputs.clone();
    let h = rt.spawn(async move {
        gate_rx.await.unwrap();
        let g = out.guard();
        done_tx.send(()).unwrap();
        g
    });
    drop(h);
    gate_tx.send(()).unwrap();
    done_rx.recv().unwrap();
    outputs.wait_dropped(1);
    assert_eq!(outputs.created(), 1);
    assert_eq!(outputs.dropped(), 1);
}

/// Dropping a `JoinHandle` after the task finished, without reading it, drops the stored output
/// exactly once; reading it hands the output over (dropped once, by the reader).
#[test]
fn output_dropped_once() {
    let _dog = Watchdog::default_for("output_dropped_once");
    let rt = runtime(2);
    let outputs = DropCounter::new();
    for read in [false, true] {
        let (gate_tx, gate_rx) = oneshot::<()>();
        let out = outputs.clone();
        let mut h = rt.spawn(async move {
            gate_rx.await.unwrap();
            out.guard()
        });
        let w = CountingWaker::new();
        assert!(poll_once(&mut h, &w.waker()).is_pending());
        gate_tx.send(()).unwrap();
        w.wait_for(1);
        let before = outputs.dropped();
        if read {
            let g = block_on_thread(h).unwrap();
            assert_eq!(outputs.dropped(), before);
            drop(g);
        } else {
            drop(h);
        }
        assert_eq!(outputs.dropped(), before + 1);
    }
    assert_eq!(outputs.created(), 2);
}

/// `is_finished` is false while the task waits and true once it completed, for returns, panics
/// and aborts alike.
#[test]
fn is_finished_tracks_completion() {
    let _dog = Watchdog::default_for("is_finished_tracks_completion");
    let rt = runtime(2);
    for kind in 0..3 {
        let (gate_tx, gate_rx) = oneshot::<()>();
        let mut h = rt.spawn(async move {
            gate_rx.await.unwrap();
            if kind == 1 {
                panic!("kind 1");
            }
        });
        let w = CountingWaker::new();
        assert!(poll_once(&mut h, &w.waker()).is_pending());
        assert!(!h.is_finished());
        if kind == 2 {
            h.abort();
        } else {
            gate_tx.send(()).unwrap();
        }
        w.wait_for(1);
        assert!(h.is_finished());
        let r = block_on_thread(h);
        match kind {
            0 => r.unwrap(),
            1 => assert!(r.unwrap_err().is_panic()),
            _ => assert!(r.unwrap_err().is_cancelled()),
        }
    }
}

/// `JoinError::id` matches the handle's id; cancelled errors are not panics and give the error
/// back from `try_into_panic`; `into_panic` on them panics with a clear message.
#[test]
fn cancelled_join_error_api() {
    let _dog = Watchdog::default_for("cancelled_join_error_api");
    let rt = runtime(1);
    let h = rt.spawn(std::future::pending::<()>());
    let id = h.id();
    h.abort();
    let err = rt.block_on(h).unwrap_err();
    assert_eq!(err.id(), id);
    assert!(err.is_cancelled() && !err.is_panic());
    assert!(err.to_string().contains("cancelled"), "{err}");
    let err = err.try_into_panic().expect_err("not a panic");
    assert!(err.is_cancelled());
    let msg =
        kairos_tests::catch_panic_message(std::panic::AssertUnwindSafe(move || err.into_panic()));
    assert!(msg.contains("cancelled"), "{msg}");
}
