//! Model of `kairos::sync::Notify` (`sync/notify.rs`).

use super::check;
use crate::loom::Arc;
use crate::sync::Notify;
use loom::thread;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// A waiter registers and then gives up while another thread calls `notify_one`: the
/// notification is never lost. Either the waiter saw it, or it is still there for the next
/// `notified()` (stored as the permit, or passed on by the cancelled waiter). The model must
/// reach a waiting future and a cancelled one passing a notification on.
#[test]
fn notify_one_vs_cancelled_waiter() {
    check(&["notify.waits", "notify.cancel_passes_on"], || {
        let notify = Arc::new(Notify::new());
        let waiter = {
            let notify = notify.clone();
            thread::spawn(move || {
                let mut f = pin!(notify.notified());
                let mut cx = Context::from_waker(Waker::noop());
                if f.as_mut().poll(&mut cx).is_ready() {
                    return true;
                }
                thread::yield_now();
                // Gives up without looking again (dropped at the end of the scope).
                false
            })
        };
        notify.notify_one();
        let saw = waiter.join().unwrap();
        let mut later = pin!(notify.notified());
        let mut cx = Context::from_waker(Waker::noop());
        let stored = later.as_mut().poll(&mut cx).is_ready();
        assert!(
            saw ^ stored,
            "saw = {saw}, stored = {stored}: exactly one consumer"
        );
    });
}
