//! Model of `JoinSet`'s ready queue (`task/join_set.rs`): a task's end racing `join_next`.

use super::check;
use crate::task::JoinSet;
use loom::thread;
use std::future::poll_fn;
use std::task::Poll;

/// A member's future ends on another thread (its `Finished` guard pushes the key and takes the
/// waiter) while `join_next` looks at the queue and, finding it empty, registers its waker under
/// the same lock. Either `join_next` finds the key or it is woken: a lost wake-up would leave
/// `block_on` waiting forever, which loom reports as a deadlock.
#[test]
fn finish_vs_join_next_registration() {
    check(&["join_set.finished_wakes_waiter"], || {
        let mut set: JoinSet<()> = JoinSet::new();
        let (key, member) = set.prepare(async {});
        let ender = thread::spawn(move || drop(member));
        let found = loom::future::block_on(poll_fn(|cx| match set.front(Some(cx.waker())) {
            Some(found) => Poll::Ready(found),
            None => Poll::Pending,
        }));
        assert_eq!(found, key);
        ender.join().unwrap();
    });
}
