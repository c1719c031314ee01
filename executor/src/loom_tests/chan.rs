//! Models of the `mpsc` / `mpmc` queue's wake protocol (`sync/chan/`): a mutex-guarded buffer
//! with waiter lists, where wakers are taken under the lock and woken after it. What loom checks
//! here is that no interleaving of a send, a receive, a close and a dropped waiter loses a
//! wake-up (a lost one leaves a thread parked forever: loom reports a deadlock), loses or
//! duplicates a message, or leaks the channel (loom's `Arc` leak check).
//!
//! Blocking sides use `blocking_send` / `blocking_recv`, which park on the runtime's parker
//! (`worker/park.rs`) through the loom shim.

use super::check;
use crate::sync::{mpmc, mpsc, SendError, TrySendError};
use loom::thread;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Waker};

/// A receiver waits on an empty channel while a sender sends: the send either lands before the
/// receiver looks, or finds it registered and wakes it.
#[test]
fn recv_waiter_vs_send() {
    check(&["chan.recv_waits"], || {
        let (tx, mut rx) = mpsc::channel::<u32>(1);
        let t = thread::spawn(move || tx.try_send(7).unwrap());
        assert_eq!(rx.blocking_recv(), Some(7));
        t.join().unwrap();
    });
}

/// A sender waits on a full buffer while the receiver takes the message that fills it: the
/// free slot is signalled to the waiting sender, and both messages arrive in order.
#[test]
fn full_buffer_send_waits_for_room() {
    check(&["chan.send_waits"], || {
        let (tx, mut rx) = mpsc::channel::<u32>(1);
        tx.try_send(1).unwrap();
        let t = thread::spawn(move || tx.blocking_send(2).unwrap());
        assert_eq!(rx.blocking_recv(), Some(1));
        assert_eq!(rx.blocking_recv(), Some(2));
        assert_eq!(rx.blocking_recv(), None);
        t.join().unwrap();
    });
}

/// The receiver is dropped while a sender waits on a full buffer: the sender is woken and gets
/// its value back; the buffered message is dropped with the receiver.
#[test]
fn close_races_a_waiting_send() {
    check(&["chan.send_waits"], || {
        let (tx, rx) = mpsc::channel::<u32>(1);
        tx.try_send(1).unwrap();
        let t = thread::spawn(move || tx.blocking_send(2));
        drop(rx);
        assert_eq!(t.join().unwrap(), Err(SendError(2)));
    });
}

/// The last sender is dropped while the receiver waits (or before it looks): the receiver
/// drains what was sent, then gets `None`.
#[test]
fn last_sender_drop_races_a_waiting_recv() {
    check(&["chan.recv_waits"], || {
        let (tx, mut rx) = mpsc::unbounded_channel::<u32>();
        let t = thread::spawn(move || {
            tx.send(1).unwrap();
            drop(tx);
        });
        assert_eq!(rx.blocking_recv(), Some(1));
        assert_eq!(rx.blocking_recv(), None);
        t.join().unwrap();
    });
}

/// `close()` by one mpmc receiver races a sender: the send either lands (and is received) or
/// fails with its value; a receiver waiting meanwhile is woken either way.
#[test]
fn close_races_send_and_a_waiting_recv() {
    check(&[], || {
        let (tx, rx) = mpmc::channel::<u32>(1);
        let rx2 = rx.clone();
        let waiter = thread::spawn(move || rx2.blocking_recv());
        let sender = thread::spawn(move || tx.try_send(5));
        rx.close();
        let sent = sender.join().unwrap();
        let got = waiter.join().unwrap();
        match sent {
            Ok(()) => assert_eq!(got.or_else(|| rx.try_recv().ok()), Some(5)),
            Err(e) => {
                assert!(matches!(e, TrySendError::Closed(5)));
                assert_eq!(got, None);
            }
        }
    });
}

/// One mpmc receiver polls `recv` once (registering) and drops the future, while another
/// blocks in `recv` and a message is sent. If the send notified the receiver that then dropped
/// its future, the notification must go on to the blocked one; otherwise it would park
/// forever with a message in the buffer.
#[test]
fn dropped_notified_receiver_passes_the_wake_up_on() {
    check(&["chan.recv_notification_passed_on"], || {
        let (tx, rx) = mpmc::channel::<u32>(2);
        let rx2 = rx.clone();
        let quitter = thread::spawn(move || {
            let mut fut = pin!(rx2.recv());
            let mut cx = Context::from_waker(Waker::noop());
            // Whatever the poll returns, the future is dropped; a message it took is returned.
            fut.as_mut().poll(&mut cx).map(|v| v.expect("tx is alive"))
        });
        let blocked = thread::spawn(move || rx.blocking_recv());
        tx.try_send(1).unwrap();
        let quitter_got = quitter.join().unwrap();
        if quitter_got.is_pending() {
            // The message is still in the channel: the blocked receiver must get it.
            assert_eq!(blocked.join().unwrap(), Some(1));
        } else {
            drop(tx);
            assert_eq!(blocked.join().unwrap(), None);
        }
    });
}

/// The same for senders: one polls `send` once into a full channel and drops the future, another
/// blocks in `send`; the receiver frees one slot. A notification for the dropped sender goes on.
#[test]
fn dropped_notified_sender_passes_the_room_on() {
    check(&["chan.send_notification_passed_on"], || {
        let (tx, mut rx) = mpsc::channel::<u32>(1);
        tx.try_send(0).unwrap();
        let tx2 = tx.clone();
        let quitter = thread::spawn(move || {
            let mut fut = pin!(tx2.send(1));
            let mut cx = Context::from_waker(Waker::noop());
            fut.as_mut().poll(&mut cx).is_ready()
        });
        let blocked = thread::spawn(move || tx.blocking_send(2).unwrap());
        assert_eq!(rx.blocking_recv(), Some(0));
        let quitter_sent = quitter.join().unwrap();
        let mut got = vec![rx.blocking_recv().unwrap()];
        if quitter_sent {
            got.push(rx.blocking_recv().unwrap());
        }
        blocked.join().unwrap();
        got.sort_unstable();
        assert_eq!(got, if quitter_sent { vec![1, 2] } else { vec![2] });
    });
}
