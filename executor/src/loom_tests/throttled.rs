//! Models of the throttled set (`queue/throttled.rs`): a park racing a worker's pick.

use super::check;
use crate::loom::atomic::{AtomicBool, Ordering};
use crate::loom::Arc;
use crate::queue::throttled::Throttled;
use loom::thread;

/// One thread parks two tasks and then "arms the timer" (a release store, as the timer
/// driver's registration is); a worker picks once at any moment, then once more after it saw
/// the timer armed (an acquire load, as the firing worker's read of the driver). Every task is
/// released exactly once over the picks, and the pick ordered after the arming misses none of
/// them. Must reach a pick that releases a task and one whose hint says nothing is due.
#[test]
fn park_vs_pick_loses_nothing() {
    check(&["throttled.released", "throttled.not_due"], || {
        let set = Arc::new(Throttled::new());
        let armed = Arc::new(AtomicBool::new(false));
        let parker = {
            let (set, armed) = (set.clone(), armed.clone());
            thread::spawn(move || {
                set.park(1u32, 5);
                set.park(2u32, 10);
                armed.store(true, Ordering::Release);
            })
        };
        let mut got = set.take_due(10);
        if armed.load(Ordering::Acquire) {
            got.extend(set.take_due(10));
            assert_eq!(set.take_due(10), Vec::<u32>::new());
            assert!(
                !set.any(),
                "the hint shows a task after every task was released"
            );
        }
        parker.join().unwrap();
        got.extend(set.take_due(10));
        got.sort_unstable();
        assert_eq!(got, [1, 2], "a throttled task was lost or released twice");
        assert!(!set.any());
    });
}

/// Two pickers race for the due tasks while a third is parked for later: each due task goes to
/// exactly one picker, and the hint then shows the later one.
#[test]
fn two_picks_share_the_due_tasks() {
    check(&["throttled.released"], || {
        let set = Arc::new(Throttled::new());
        set.park(1u32, 1);
        set.park(2u32, 2);
        set.park(3u32, 100);
        let other = {
            let set = set.clone();
            thread::spawn(move || set.take_due(50))
        };
        let mut got = set.take_due(50);
        got.extend(other.join().unwrap());
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
        assert!(set.any());
        assert_eq!(set.take_due(100), [3]);
    });
}
