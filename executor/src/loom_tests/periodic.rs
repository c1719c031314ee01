//! Model of a periodic task's stop signal (`periodic/mod.rs`, `Control`).

use super::{check, counting_waker};
use crate::loom::Arc;
use crate::periodic::Control;
use loom::thread;

/// `stop` from another thread races the driver registering its waker and re-checking the flag
/// (what `WaitRelease::poll` does): the driver either sees the stop itself or is woken. A lost
/// stop would leave a driver asleep until its next release (an hour away in the docs' example).
#[test]
fn stop_vs_register_is_never_lost() {
    check(&[], || {
        let control = Arc::new(Control::new());
        let stopper = {
            let control = control.clone();
            thread::spawn(move || control.stop())
        };
        let (count, waker) = counting_waker();
        let saw_stop = control.is_stopped() || {
            control.register(&waker);
            control.is_stopped()
        };
        stopper.join().unwrap();
        assert!(
            saw_stop || count.count() == 1,
            "the driver neither saw the stop nor was woken"
        );
    });
}
