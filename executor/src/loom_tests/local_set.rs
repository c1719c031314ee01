//! The wake protocol of `LocalSet` (`local/wake.rs`): a wake from another thread racing the
//! owner's pop / unlist / poll is never lost, and repeated wakes list the task once.

use super::check;
use crate::local::wake::{Remote, TaskWaker};
use crate::loom::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Wake;

/// The owner runs the task (pop, unlist, "poll" = read `data`) while another thread stores
/// `data` and wakes the task twice. Whatever the interleaving, some poll after the owner is done
/// must have seen the store: the wake after the store either lists the task again or finds it
/// listed, and a listed task is polled.
#[test]
fn wake_vs_run_is_never_lost() {
    check(&["local_set.wake_while_listed"], || {
        let remote = Arc::new(Remote::default());
        let task = TaskWaker::new_listed(0, Arc::clone(&remote));
        let data = Arc::new(AtomicUsize::new(0));
        let waker = Arc::clone(&task);
        let d = Arc::clone(&data);
        let other = loom::thread::spawn(move || {
            d.store(1, Ordering::Relaxed);
            waker.wake_by_ref();
            waker.wake_by_ref();
        });
        let mut seen = false;
        let mut polls = 0;
        let mut run = |seen: &mut bool| {
            while let Some(index) = remote.pop() {
                assert_eq!(index, 0);
                task.unlist();
                polls += 1;
                *seen = data.load(Ordering::Relaxed) == 1;
            }
        };
        run(&mut seen);
        other.join().unwrap();
        run(&mut seen);
        assert!(seen, "the last poll missed the store the wake announced");
        // Spawn listed the task once; the two wakes add at most one entry per unlist.
        assert!((1..=3).contains(&polls), "polls {polls}");
    });
}
