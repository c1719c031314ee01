//! The loom shim's `Backoff` (`loom.rs`).

use super::check;
use crate::loom::atomic::{AtomicBool, Ordering};
use crate::loom::{Arc, Backoff};
use loom::thread;

/// A spin-wait on a flag another thread sets terminates under loom: every `snooze` (and `spin`)
/// yields to loom's scheduler, so the setter runs. With a bare spin hint loom would keep
/// scheduling the waiter. Also checks the step counting that `is_completed` reports.
#[test]
fn spin_wait_yields_to_the_setter() {
    check(&[], || {
        let flag = Arc::new(AtomicBool::new(false));
        let setter = {
            let flag = flag.clone();
            thread::spawn(move || flag.store(true, Ordering::Release))
        };
        let backoff = Backoff::new();
        while !flag.load(Ordering::Acquire) {
            if backoff.is_completed() {
                backoff.reset();
            }
            backoff.snooze();
        }
        setter.join().unwrap();

        let backoff = Backoff::new();
        for _ in 0..20 {
            backoff.spin();
        }
        assert!(!backoff.is_completed(), "spin alone never completes");
        for _ in 0..4 {
            backoff.snooze();
        }
        assert!(backoff.is_completed());
        backoff.reset();
        assert!(!backoff.is_completed());
    });
}
