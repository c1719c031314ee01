//! Models of `sync/oneshot.rs`, `sync/watch.rs` and `sync/broadcast.rs`: a send racing the
//! receiver's registration, and a send racing the receiver's drop.

use super::{check, counting_waker};
use crate::sync::{broadcast, oneshot, watch};
use loom::thread;

/// The value is sent while the receiver waits (or before it looks): it is received exactly
/// once; a lost wake-up would park the receiver forever.
#[test]
fn send_vs_waiting_receiver() {
    check(&["oneshot.send_wakes_receiver"], || {
        let (tx, rx) = oneshot::channel::<u32>();
        let t = thread::spawn(move || tx.send(3).unwrap());
        assert_eq!(rx.blocking_recv(), Ok(3));
        t.join().unwrap();
    });
}

/// The receiver, waiting with one waker, polls again with another while the value is sent: the
/// second poll sees the value, or the send wakes the second waker (the one published when it
/// completed); never a wake-up lost to the waker being replaced.
#[test]
fn send_vs_reregistering_receiver() {
    check(
        &[
            "oneshot.send_wakes_receiver",
            "oneshot.reregister_finds_value",
        ],
        || {
            let (tx, mut rx) = oneshot::channel::<u32>();
            let (_first_count, first) = counting_waker();
            let (second_count, second) = counting_waker();
            let mut poll = |waker: &std::task::Waker| {
                let mut cx = std::task::Context::from_waker(waker);
                std::future::Future::poll(std::pin::Pin::new(&mut rx), &mut cx)
            };
            assert!(poll(&first).is_pending());
            let t = thread::spawn(move || tx.send(5).unwrap());
            let outcome = poll(&second);
            t.join().unwrap();
            if outcome.is_pending() {
                assert_eq!(second_count.count(), 1);
                assert_eq!(poll(&second), std::task::Poll::Ready(Ok(5)));
            } else {
                assert_eq!(outcome, std::task::Poll::Ready(Ok(5)));
            }
        },
    );
}

/// A send racing the receiver's `close`: the send fails and returns its value, or it completed
/// first and the closed receiver still receives the value.
#[test]
fn send_vs_close() {
    check(&["oneshot.send_finds_closed"], || {
        let (tx, mut rx) = oneshot::channel::<u32>();
        let t = thread::spawn(move || tx.send(7).map_err(|e| e.into_inner()));
        rx.close();
        match t.join().unwrap() {
            Ok(()) => assert_eq!(rx.try_recv(), Ok(7)),
            Err(value) => {
                assert_eq!(value, 7);
                assert_eq!(rx.try_recv(), Err(crate::sync::TryRecvError::Closed));
            }
        }
    });
}

/// The sender is dropped unsent while the receiver waits: the receiver fails, never hangs.
#[test]
fn sender_drop_vs_waiting_receiver() {
    check(&[], || {
        let (tx, rx) = oneshot::channel::<u32>();
        let t = thread::spawn(move || drop(tx));
        assert!(rx.blocking_recv().is_err());
        t.join().unwrap();
    });
}

/// A send racing the receiver's drop: either the send fails with the value, or the value is
/// dropped with the receiver; never both, never neither (the count of the `Arc` value).
#[test]
fn send_vs_receiver_drop() {
    check(&[], || {
        let (tx, rx) = oneshot::channel::<crate::loom::Arc<()>>();
        let value = crate::loom::Arc::new(());
        let probe = value.clone();
        let t = thread::spawn(move || tx.send(value).map_err(|e| e.into_inner()));
        drop(rx);
        let back = t.join().unwrap();
        // Either way only `probe` (and a returned value) hold the Arc now.
        let expected = if back.is_err() { 2 } else { 1 };
        assert_eq!(crate::loom::Arc::strong_count(&probe), expected);
    });
}

/// The two halves let go of the block at once, the receiver registered: the block is freed
/// exactly once, by whichever clears its bit last, and the registered waker is dropped with it
/// or consumed by the sender's wake (a leaked block would keep the waker; a double free, or a
/// free while the other half still reads, is what loom's access tracking would catch).
#[test]
fn both_halves_let_go_at_once() {
    check(&["oneshot.free", "oneshot.send_wakes_receiver"], || {
        let (tx, mut rx) = oneshot::channel::<u32>();
        let (count, waker) = counting_waker();
        {
            let mut cx = std::task::Context::from_waker(&waker);
            let pending = std::future::Future::poll(std::pin::Pin::new(&mut rx), &mut cx);
            assert!(pending.is_pending());
        }
        let t = thread::spawn(move || drop(tx));
        drop(rx);
        t.join().unwrap();
        drop(waker);
        assert_eq!(std::sync::Arc::strong_count(&count), 1, "the waker leaked");
    });
}

/// A send wakes the registered receiver while the receiver is dropped: the value is dropped
/// exactly once (with the receiver, or with the block), the waker is not leaked, and the
/// sender's wake never touches a freed block.
#[test]
fn send_to_waiting_receiver_vs_its_drop() {
    check(&["oneshot.free", "oneshot.send_wakes_receiver"], || {
        let (tx, mut rx) = oneshot::channel::<crate::loom::Arc<()>>();
        let (count, waker) = counting_waker();
        {
            let mut cx = std::task::Context::from_waker(&waker);
            let pending = std::future::Future::poll(std::pin::Pin::new(&mut rx), &mut cx);
            assert!(pending.is_pending());
        }
        let value = crate::loom::Arc::new(());
        let probe = value.clone();
        let t = thread::spawn(move || tx.send(value).is_ok());
        drop(rx);
        let sent = t.join().unwrap();
        drop(waker);
        assert_eq!(crate::loom::Arc::strong_count(&probe), 1, "sent {sent}");
        assert_eq!(std::sync::Arc::strong_count(&count), 1, "the waker leaked");
    });
}

/// A watch send races a receiver entering `changed`: the receiver sees the new value.
#[test]
fn watch_send_vs_changed() {
    check(&["watch.changed_waits"], || {
        let (tx, mut rx) = watch::channel(0u32);
        let t = thread::spawn(move || {
            tx.send(1).unwrap();
            tx // keep the sender alive until joined
        });
        {
            let mut fut = std::pin::pin!(rx.changed());
            let changed = crate::sync::chan::blocking::block_on(|cx| {
                std::future::Future::poll(fut.as_mut(), cx)
            });
            assert_eq!(changed, Ok(()));
        }
        assert_eq!(*rx.borrow(), 1);
        drop(t.join().unwrap());
    });
}

/// A broadcast send races a waiting receiver; then the last sender is dropped and the receiver
/// gets `Closed`.
#[test]
fn broadcast_send_vs_recv_then_close() {
    check(&[], || {
        let (tx, mut rx) = broadcast::channel::<u32>(1);
        let t = thread::spawn(move || tx.send(4).unwrap());
        assert_eq!(rx.blocking_recv(), Ok(4));
        t.join().unwrap();
        assert_eq!(rx.blocking_recv(), Err(broadcast::RecvError::Closed));
    });
}
