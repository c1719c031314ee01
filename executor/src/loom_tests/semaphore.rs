//! Models of `kairos::sync::Semaphore` (`sync/semaphore.rs`).

use super::check;
use crate::loom::Arc;
use crate::sync::Semaphore;
use loom::thread;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// `acquire_many(2)` waits while one thread releases a permit and another closes the
/// semaphore: the request either gets both permits (the release came first) or fails with the
/// close, never gets a partial grant, and no permit is lost: after everything, the permits
/// not held add up. The model must reach a waiting request.
#[test]
fn acquire_many_vs_release_vs_close() {
    check(&["semaphore.waits"], || {
        let sem = Arc::new(Semaphore::new(2));
        // One permit is held elsewhere (given back as `add_permits(1)` below).
        sem.try_acquire().expect("two free").forget();
        let waiter = {
            let sem = sem.clone();
            thread::spawn(move || {
                let mut fut = pin!(sem.acquire_many(2));
                let mut cx = Context::from_waker(Waker::noop());
                loop {
                    match fut.as_mut().poll(&mut cx) {
                        Poll::Ready(Ok(p)) => {
                            assert_eq!(p.permits(), 2);
                            return true;
                        }
                        Poll::Ready(Err(_)) => return false,
                        Poll::Pending => thread::yield_now(),
                    }
                }
            })
        };
        let releaser = {
            let sem = sem.clone();
            thread::spawn(move || sem.add_permits(1))
        };
        sem.close();
        releaser.join().unwrap();
        let got = waiter.join().unwrap();
        // The waiter's permits went back when its permit was dropped.
        assert_eq!(sem.available_permits(), 2, "got = {got}");
    });
}
