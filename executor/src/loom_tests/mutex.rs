//! Models of `kairos::sync::Mutex`'s lock word (`sync/mutex_raw.rs`) against its contended
//! path through the inheritance table (`task/boost.rs`).

use super::check;
use crate::loom::Arc;
use crate::sync::Mutex;
use loom::thread;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// Polls `fut` until it is ready, yielding to loom between polls (a waiter's task being woken
/// and polled again).
fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        thread::yield_now();
    }
}

/// The holder unlocks (fast path) while a waiter registers: the waiter either takes the freed
/// lock while registering, or registers and is handed the lock by the holder's slow unlock.
/// Each increment is seen by the other (no lost update), and the lock ends free with no record
/// left in the table. The model must reach registration, the hand-over, and a lock freed while
/// the waiter was registering.
#[test]
fn unlock_vs_register() {
    check(
        &[
            "mutex.registered",
            "mutex.handoff_path",
            "mutex.freed_while_registering",
        ],
        || {
            let m = Arc::new(Mutex::new(0u32));
            let mut g = m.try_lock().expect("free");
            let waiter = {
                let m = m.clone();
                thread::spawn(move || {
                    let mut g = block_on(m.lock());
                    *g += 1;
                })
            };
            *g += 1;
            drop(g);
            waiter.join().unwrap();
            assert_eq!(*m.try_lock().expect("free at the end"), 2);
        },
    );
}

/// A waiter gives up (its future is dropped) while the holder unlocks: either it leaves before
/// the hand-over (the lock ends free through the holder's path), or it was handed the lock and
/// passes it on as it leaves. Either way the lock ends free and the table empty. The model must
/// reach both a cancelled registration and a cancellation after the hand-over.
#[test]
fn cancel_vs_handoff() {
    check(&["mutex.registered", "mutex.cancel_after_handoff"], || {
        let m = Arc::new(Mutex::new(0u32));
        let g = m.try_lock().expect("free");
        let waiter = {
            let m = m.clone();
            thread::spawn(move || {
                let mut fut = pin!(m.lock());
                let mut cx = Context::from_waker(Waker::noop());
                // One poll: registers (or takes the lock), then gives up.
                if let Poll::Ready(g) = fut.as_mut().poll(&mut cx) {
                    drop(g);
                }
            })
        };
        drop(g);
        waiter.join().unwrap();
        assert!(m.try_lock().is_ok(), "the lock must end free");
    });
}
