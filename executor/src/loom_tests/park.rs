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
            let t = thread::spawn(move || unparker.unpark());
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
            main_unparker.unpark();
            ack_parker.park();
            main_unparker.unpark();
        });
        main_parker.park();
        ack_unparker.unpark();
        main_parker.park();
        t.join().unwrap();
    });
}
