//! Models of the timer driver (`time/driver.rs`): registration from a foreign thread racing
//! with the worker that waits for and fires timers.

use super::{check, counting_waker};
use crate::loom::atomic::{AtomicUsize, Ordering};
use crate::loom::Arc;
use crate::time::driver::TimerDriver;
use crate::worker::park;
use loom::thread;
use std::task::Waker;

/// The waiter-token handshake: a foreign thread registers the earliest timer while worker 0 takes
/// the token and decides how long to park. Either the registrar sees the waiter and unparks it,
/// or the waiter sees the deadline; if both missed, the waiter would park forever with the timer
/// pending, which loom reports as a deadlock.
#[test]
fn register_vs_waiter() {
    check(&["timer.register_unparks_waiter"], || {
        let driver = Arc::new(TimerDriver::new());
        let (parker, unparker) = park::pair();
        let (count, waker) = counting_waker();
        let registrar = {
            let driver = driver.clone();
            thread::spawn(move || {
                let (_key, unpark) = driver.register(100, &waker);
                if let Some(worker) = unpark {
                    assert_eq!(worker, 0);
                    let _ = unparker.unpark();
                }
            })
        };
        assert!(driver.try_become_waiter(0));
        match driver.next_deadline() {
            // No timer seen: park without timeout; the registrar must wake us.
            None => parker.park(),
            // The timed park until 100 is not modelled (it returns by itself).
            Some(deadline) => assert_eq!(deadline, 100),
        }
        driver.release_waiter(0);
        registrar.join().unwrap();
        assert_eq!(driver.next_deadline(), Some(100));
        assert_eq!(driver.fire(100), (1, 0));
        assert_eq!(count.count(), 1);
        assert_eq!(driver.next_deadline(), None);
    });
}

/// Registration and cancellation from a foreign thread racing with the worker firing due
/// timers: a timer fires at most once, a cancelled one never after its cancel returned, and
/// `next_deadline` ends consistent with what is left.
#[test]
fn register_cancel_vs_fire() {
    check(&[], || {
        let driver = Arc::new(TimerDriver::new());
        let (early_count, early) = counting_waker();
        let (late_count, late) = counting_waker();
        let foreign = {
            let driver = driver.clone();
            thread::spawn(move || {
                let (key, _) = driver.register(10, &early);
                let (late_key, _) = driver.register(20, &late);
                driver.cancel(late_key);
                key
            })
        };
        let (fired_first, _) = driver.fire(50);
        let _key = foreign.join().unwrap();
        let (fired_second, _) = driver.fire(50);
        // The early timer fires exactly once. The late one was due too, so it fires if the
        // worker got to it before its cancel, and never after; never twice either way.
        let late = late_count.count();
        assert_eq!(early_count.count(), 1);
        assert!(late <= 1);
        assert_eq!(fired_first + fired_second, 1 + late);
        assert_eq!(driver.next_deadline(), None);
    });
}

/// What a parking worker without the waiter token does about the co-waiter token, with the
/// timed park left out: `holders` counts the workers holding it.
fn co_wait(driver: &TimerDriver, holders: &AtomicUsize, index: usize) {
    let Some(deadline) = driver.simultaneous_deadline() else {
        return;
    };
    assert_eq!(deadline, 100);
    if driver.try_become_co_waiter(index) {
        assert_eq!(holders.fetch_add(1, Ordering::SeqCst), 0, "two co-waiters");
        holders.fetch_sub(1, Ordering::SeqCst);
        driver.release_co_waiter(index);
    }
}

/// The co-waiter token (see "A second waiter" in `time/driver.rs`): while worker 0 holds the
/// waiter token, workers 1 and 2 park and race for the co-waiter token as a foreign thread
/// registers a second timer due with the first. At most one of them holds it at any time (the
/// loser parks without a timeout), only once the hint shows the two deadlines, and both tokens
/// are free again at the end.
#[test]
fn co_waiters_exclude_each_other() {
    check(&["timer.co_waiter_taken"], || {
        let driver = Arc::new(TimerDriver::new());
        let (_first, _) = driver.register(100, Waker::noop());
        assert!(driver.try_become_waiter(0));
        let holders = Arc::new(AtomicUsize::new(0));
        let registrar = {
            let driver = driver.clone();
            thread::spawn(move || {
                // Due with the earliest, so it may unpark the waiter (worker 0, not modelled).
                let (_key, unpark) = driver.register(100, Waker::noop());
                assert!(unpark.is_none_or(|worker| worker == 0));
            })
        };
        let other = {
            let (driver, holders) = (driver.clone(), holders.clone());
            thread::spawn(move || co_wait(&driver, &holders, 2))
        };
        co_wait(&driver, &holders, 1);
        registrar.join().unwrap();
        other.join().unwrap();
        driver.release_waiter(0);
        assert_eq!(driver.simultaneous_deadline(), Some(100));
        assert!(driver.try_become_co_waiter(1));
        driver.release_co_waiter(1);
        assert_eq!(driver.fire(100), (2, 0));
        assert_eq!(driver.simultaneous_deadline(), None);
    });
}
