//! `work(d)`: a stand-in for CPU-bound job bodies in benchmarks and simulations.

use crate::event::{self, clock::thread_cpu_ns, Slice};
use crate::task::should_yield;
use crate::yield_now::yield_now;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// Length of one slice of [`work`]: between two slices the task checks whether it should yield.
/// 20 µs: short against the latencies kairos targets (≤ 150 µs p99 for urgent work), long
/// against the cost of one check (tens of nanoseconds).
pub const WORK_SLICE: Duration = Duration::from_micros(20);

/// Consumes `d` of CPU time on the calling thread, in [`WORK_SLICE`] slices with a cooperative
/// check ([`task::should_yield`](crate::task::should_yield)) between slices: if the runtime asks
/// (a more urgent task is waiting, the `Fair` slice is used up), the task yields and continues
/// the rest of `d` when it runs again.
///
/// CPU time is the thread's own (`CLOCK_THREAD_CPUTIME_ID` on Linux), so time the OS takes the
/// thread away does not count: `work(d)` models a job that needs `d` of processor, as a
/// real-time task set's worst-case execution time `C` does. Where no thread CPU clock exists,
/// the monotonic clock is used.
///
/// Under a simulation ([`crate::sim`]) with the cost model, each slice keeps the virtual worker
/// busy for its length instead: the poll is suspended for the slice (other virtual workers run
/// meanwhile) and continues on the same worker, without a pick, exactly where the real runtime
/// would check [`crate::task::should_yield`]. Without the cost model
/// (`sim::Mode::IdleJump`), `work` takes no virtual time. Inside `Sim::block_on`'s own future
/// (not a task) a slice is waited for as a sleep.
///
/// ```
/// use std::time::Duration;
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// rt.block_on(rt.spawn(async {
///     kairos::work(Duration::from_micros(100)).await;
/// })).unwrap();
/// ```
pub async fn work(d: Duration) {
    let mut left = d.as_nanos().min(u128::from(u64::MAX)) as u64;
    let slice = WORK_SLICE.as_nanos() as u64;
    while left > 0 {
        let chunk = left.min(slice);
        if event::virtual_clock() {
            SimSlice::new(chunk).await;
        } else {
            spin_cpu(chunk);
        }
        left -= chunk;
        if left > 0 && should_yield() {
            yield_now().await;
        }
    }
}

/// One slice of `work` when an event sink is installed: the sink decides what it costs
/// (`event::work_slice`; the simulator charges it to a virtual worker).
struct SimSlice {
    ns: u64,
    state: SliceState,
}

enum SliceState {
    Start,
    Charged,
    Sleeping(crate::time::Sleep),
}

impl SimSlice {
    fn new(ns: u64) -> SimSlice {
        SimSlice {
            ns,
            state: SliceState::Start,
        }
    }
}

impl Future for SimSlice {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // `SimSlice` is `Unpin` (a `Sleep` is), so the pin can be dropped.
        let this = self.get_mut();
        loop {
            match &mut this.state {
                SliceState::Start => match event::work_slice(this.ns, cx.waker()) {
                    Slice::Charged => {
                        this.state = SliceState::Charged;
                        return Poll::Pending;
                    }
                    Slice::Sleep => {
                        this.state =
                            SliceState::Sleeping(crate::time::sleep(Duration::from_nanos(this.ns)));
                    }
                    Slice::Free => return Poll::Ready(()),
                    Slice::Spin => {
                        spin_cpu(this.ns);
                        return Poll::Ready(());
                    }
                },
                // Resumed by the event loop after the slice.
                SliceState::Charged => return Poll::Ready(()),
                SliceState::Sleeping(sleep) => return Pin::new(sleep).poll(cx),
            }
        }
    }
}

/// Spins until the thread has consumed `ns` more nanoseconds of CPU time.
fn spin_cpu(ns: u64) {
    let start = thread_cpu_ns();
    while thread_cpu_ns().wrapping_sub(start) < ns {
        std::hint::spin_loop();
    }
}
