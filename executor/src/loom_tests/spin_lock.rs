//! `SpinLock` (`spin_lock.rs`).

use super::check;
use crate::loom::Arc;
use crate::spin_lock::SpinLock;
use loom::thread;

/// Two sections on two threads exclude each other and the later one sees the earlier one's
/// write: the counter is a plain integer in the lock's `UnsafeCell`, so loom reports two
/// sections that overlap, or that the flag does not order (a causality violation), and the sum
/// shows that no increment is lost. Some execution must find the lock taken and wait.
#[test]
fn sections_exclude_each_other() {
    check(&["spin_lock.contended"], || {
        let lock = Arc::new(SpinLock::new(0u32));
        let other = {
            let lock = lock.clone();
            thread::spawn(move || lock.with(|n| *n += 1))
        };
        lock.with(|n| *n += 1);
        other.join().unwrap();
        assert_eq!(lock.with(|n| *n), 2);
    });
}
