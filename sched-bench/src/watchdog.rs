//! `Watchdog`: turns a hung benchmark into a clear error instead of a silent stall.
//!
//! A runtime bug such as a lost wake-up leaves `block_on` waiting forever. Each measurement arms
//! a watchdog thread first; if the measurement has not finished by the limit, the watchdog
//! prints what was running and exits the process with status 3. The thread sleeps in
//! `recv_timeout` the whole time, so it takes no CPU from the measurement; it is created before
//! the measured section starts.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

/// Exit status when a measurement hangs.
pub const HANG_EXIT_CODE: i32 = 3;

/// Armed while alive; dropping it disarms.
#[derive(Debug)]
pub struct Watchdog {
    /// Dropping the sender disconnects the channel, which wakes the thread without a timeout.
    disarm: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    /// Exits the process if not dropped within `limit`. `what` names the measurement in the
    /// message. If the OS refuses the thread, runs unguarded (with a warning).
    pub fn arm(what: String, limit: Duration) -> Watchdog {
        let (disarm, rx) = mpsc::channel::<()>();
        let spawned = std::thread::Builder::new()
            .name("bench-watchdog".to_owned())
            .spawn(move || {
                if let Err(RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
                    eprintln!(
                        "sched-bench: {what} did not finish within {limit:?}; the runtime \
                         appears to hang (e.g. a lost wake-up). Exiting with status \
                         {HANG_EXIT_CODE}."
                    );
                    std::process::exit(HANG_EXIT_CODE);
                }
            });
        let thread = match spawned {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("sched-bench: warning: no watchdog for {limit:?} ({e}); a hang will not be reported");
                None
            }
        };
        Watchdog {
            disarm: Some(disarm),
            thread,
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.disarm.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
