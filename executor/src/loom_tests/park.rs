//! Models of `worker/park.rs`.

use super::check;
use crate::worker::park;
use loom::thread;

/// An unpark from another thread always ends a park: before the parker locks (the
/// `NOTIFIED` fast/slow path), or while it waits on the condvar. A lost unpark is a deadlock,
/// which loom reports.
#[test]
fn unpark_is_never_lost() {
    check(
        &["park.notified_before_wait", "park.unpark_wakes_waiter"],
        || {
            let (parker, unparker) = park::pair();
            let t = thread::spawn(move || {
                let _ = unparker.unpark();
            });
            parker.park();
            t.join().unwrap();
        },
    );
}

/// The parker is reusable: after a full park/unpark round (state back to `EMPTY`), a second
/// round works the same. Two rounds, handshaken through a second parker.
#[test]
fn parker_is_reusable() {
    check(&[], || {
        let (main_parker, main_unparker) = park::pair();
        let (ack_parker, ack_unparker) = park::pair();
        let t = thread::spawn(move || {
            let _ = main_unparker.unpark();
            ack_parker.park();
            let _ = main_unparker.unpark();
        });
        main_parker.park();
        let _ = ack_unparker.unpark();
        main_parker.park();
        t.join().unwrap();
    });
}

/// A worker about to block in the I/O poller is never left there by an unpark: either its
/// `begin_poll` sees the notification and it skips the wait, or the unparker sees `POLLING` and
/// notifies the poller. The poller is modelled by a sticky flag (as `polling`'s eventfd: a
/// notify before the wait makes the wait return); the "wait" is a spin on that flag, which
/// loom reports as a deadlock if nobody sets it.
#[test]
fn unpark_interrupts_poller() {
    use crate::loom::atomic::{AtomicBool, Ordering};
    use crate::loom::Arc;
    check(
        &["park.notified_before_poll", "park.unpark_interrupts_poller"],
        || {
            let (parker, unparker) = park::pair();
            let notified = Arc::new(AtomicBool::new(false));
            let t = {
                let notified = notified.clone();
                thread::spawn(move || {
                    if unparker.unpark() {
                        notified.store(true, Ordering::SeqCst);
                    }
                })
            };
            if parker.begin_poll() {
                while !notified.load(Ordering::SeqCst) {
                    thread::yield_now();
                }
                parker.end_poll();
            }
            t.join().unwrap();
        },
    );
}
