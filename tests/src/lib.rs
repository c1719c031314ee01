//! `kairos-tests`: integration and stress tests for kairos live in `tests/tests/`.
//!
//! This library holds small helpers shared by those tests. All of them work outside a runtime
//! (and keep working after a runtime was dropped); the two channels are `kairos::sync`'s, which
//! need no runtime:
//!
//! - [`DropCounter`] / [`DropGuard`]: count how often values are dropped, to check that every
//!   future is destroyed exactly once.
//! - [`oneshot`]: `kairos::sync::oneshot::channel`, a one-shot channel.
//! - [`Watchdog`]: turns a hang into a loud failure (the process aborts with a message).
//! - [`block_on_thread`]: a minimal executor that drives one future on the current thread, for
//!   awaiting `JoinHandle`s with no kairos runtime involved.
//! - [`panic_message`] / [`catch_panic_message`]: read the text of a panic payload.
//! - [`CountingWaker`]: a waker that counts its wakes, for polling futures by hand.
//! - [`mailbox`]: an unbounded multi-producer channel for tasks, on `kairos::sync::mpsc`.
//! - [`wait_until`]: spin until a condition holds (under a watchdog).
#![warn(missing_docs)]

use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, UnwindSafe};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::Duration;

/// How long a [`Watchdog`] started by [`Watchdog::default_for`] waits before aborting.
pub const WATCHDOG_TIMEOUT: Duration = Duration::from_secs(60);

/// Counts drops of the [`DropGuard`]s it hands out, and lets a thread wait for drops.
///
/// ```
/// let counter = kairos_tests::DropCounter::new();
/// let guard = counter.guard();
/// assert_eq!(counter.dropped(), 0);
/// std::thread::spawn(move || drop(guard));
/// counter.wait_dropped(1);
/// assert_eq!(counter.dropped(), 1);
/// ```
#[derive(Clone, Debug, Default)]
pub struct DropCounter {
    /// Shared with the guards.
    inner: Arc<DropCounterInner>,
}

/// State shared by a [`DropCounter`] and its guards.
#[derive(Debug, Default)]
struct DropCounterInner {
    /// Guards created (to compare against drops).
    created: AtomicUsize,
    /// Guards dropped.
    dropped: Mutex<usize>,
    /// Signalled on every drop.
    on_drop: Condvar,
}

impl DropCounter {
    /// A counter with no guards yet.
    pub fn new() -> DropCounter {
        DropCounter::default()
    }

    /// A new guard that increments this counter when dropped.
    pub fn guard(&self) -> DropGuard {
        self.inner.created.fetch_add(1, Ordering::SeqCst);
        DropGuard {
            inner: Arc::clone(&self.inner),
        }
    }

    /// Guards created so far.
    pub fn created(&self) -> usize {
        self.inner.created.load(Ordering::SeqCst)
    }

    /// Guards dropped so far.
    pub fn dropped(&self) -> usize {
        *lock(&self.inner.dropped)
    }

    /// Guards created and not yet dropped.
    pub fn alive(&self) -> usize {
        self.created() - self.dropped()
    }

    /// Blocks until at least `n` guards were dropped (guard the caller with a [`Watchdog`]).
    pub fn wait_dropped(&self, n: usize) {
        let mut dropped = lock(&self.inner.dropped);
        while *dropped < n {
            dropped = self
                .inner
                .on_drop
                .wait(dropped)
                .unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Increments its [`DropCounter`] when dropped; move it into a future to observe the future's
/// destruction.
#[derive(Debug)]
pub struct DropGuard {
    /// The counter.
    inner: Arc<DropCounterInner>,
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        *lock(&self.inner.dropped) += 1;
        self.inner.on_drop.notify_all();
    }
}

/// Creates a one-shot channel: one value from a [`Sender`] to a [`Receiver`] (a future).
///
/// This is `kairos::sync::oneshot::channel`: it needs no runtime, so it works with any executor
/// and from plain threads (the sender wakes the receiver's last waker), and keeps working after
/// a runtime was dropped. Awaited in a kairos task, the receiver takes part in the cooperative
/// budget.
///
/// ```
/// let (tx, rx) = kairos_tests::oneshot::<u32>();
/// std::thread::spawn(move || tx.send(5).unwrap());
/// assert_eq!(kairos_tests::block_on_thread(rx), Ok(5));
/// ```
pub fn oneshot<T>() -> (Sender<T>, Receiver<T>) {
    kairos::sync::oneshot::channel()
}

/// The receiver was dropped before [`Sender::send`]; holds the value that was not delivered.
pub use kairos::sync::SendError;

/// The sender was dropped without sending.
pub use kairos::sync::RecvError;

/// Sending half of a [`oneshot`] channel.
pub type Sender<T> = kairos::sync::oneshot::Sender<T>;

/// Receiving half of a [`oneshot`] channel: a future of the value, or [`RecvError`] if the
/// sender was dropped without sending.
pub type Receiver<T> = kairos::sync::oneshot::Receiver<T>;

/// Locks `m`, ignoring poisoning (a panicking test thread must not hide the real failure).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Aborts the process with a message if not disarmed (dropped) within a timeout.
///
/// A hung test would otherwise stall CI forever; with a watchdog it fails loudly. Dropping the
/// watchdog (also during a panic unwind) disarms it.
///
/// ```
/// let dog = kairos_tests::Watchdog::new("example", std::time::Duration::from_secs(60));
/// // ... work that must not hang ...
/// drop(dog);
/// ```
#[derive(Debug)]
pub struct Watchdog {
    /// Dropping it disarms the watchdog thread.
    disarm: Option<mpsc::Sender<()>>,
    /// The watchdog thread.
    thread: Option<thread::JoinHandle<()>>,
}

impl Watchdog {
    /// Starts a watchdog named `what` that aborts the process after `timeout`.
    pub fn new(what: &str, timeout: Duration) -> Watchdog {
        let (tx, rx) = mpsc::channel::<()>();
        let what = what.to_owned();
        let thread = thread::Builder::new()
            .name(format!("watchdog-{what}"))
            .spawn(move || {
                if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(timeout) {
                    eprintln!(
                        "WATCHDOG: test `{what}` did not finish within {timeout:?}: it hangs \
                         (kairos bug or test bug); aborting the test process"
                    );
                    std::process::abort();
                }
            })
            .expect("spawn watchdog thread");
        Watchdog {
            disarm: Some(tx),
            thread: Some(thread),
        }
    }

    /// A watchdog with the default timeout, [`WATCHDOG_TIMEOUT`].
    pub fn default_for(what: &str) -> Watchdog {
        Watchdog::new(what, WATCHDOG_TIMEOUT)
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

/// Waker of [`block_on_thread`]: unparks the blocked thread.
struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Drives `future` to completion on the current thread (no runtime involved) and returns its
/// output.
///
/// ```
/// assert_eq!(kairos_tests::block_on_thread(async { 1 + 1 }), 2);
/// ```
pub fn block_on_thread<F: Future>(future: F) -> F::Output {
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        // Spurious unparks only cost one extra poll.
        thread::park();
    }
}

/// The message of a panic payload, when it is a string (as `panic!` makes it).
pub fn panic_message(payload: &(dyn Any + Send)) -> Option<String> {
    payload
        .downcast_ref::<&'static str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
}

/// Runs `f`, expects it to panic, and returns the panic message.
///
/// # Panics
/// If `f` returns normally or panics with a non-string payload.
///
/// ```
/// let msg = kairos_tests::catch_panic_message(|| panic!("oh {}", "no"));
/// assert_eq!(msg, "oh no");
/// ```
pub fn catch_panic_message<R>(f: impl FnOnce() -> R + UnwindSafe) -> String {
    match catch_unwind(f) {
        Ok(_) => panic!("expected a panic, but the closure returned normally"),
        Err(payload) => panic_message(payload.as_ref()).expect("panic payload is not a string"),
    }
}

/// A waker that counts how many times it was woken, and lets a thread wait for a wake; for
/// polling futures by hand.
///
/// ```
/// let w = kairos_tests::CountingWaker::new();
/// w.waker().wake_by_ref();
/// assert_eq!(w.wakes(), 1);
/// w.wait_for(1);
/// ```
#[derive(Debug, Default)]
pub struct CountingWaker {
    /// Wakes so far.
    wakes: Mutex<usize>,
    /// Signalled on every wake.
    woken: Condvar,
}

impl CountingWaker {
    /// A new waker with no wakes.
    pub fn new() -> Arc<CountingWaker> {
        Arc::new(CountingWaker::default())
    }

    /// Wakes so far.
    pub fn wakes(&self) -> usize {
        *lock(&self.wakes)
    }

    /// Blocks until at least `n` wakes happened (guard the caller with a [`Watchdog`]).
    pub fn wait_for(&self, n: usize) {
        let mut wakes = lock(&self.wakes);
        while *wakes < n {
            wakes = self.woken.wait(wakes).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// A `Waker` that counts into this.
    pub fn waker(self: &Arc<Self>) -> Waker {
        Waker::from(Arc::clone(self))
    }
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        *lock(&self.wakes) += 1;
        self.woken.notify_all();
    }
}

/// Polls `future` once with `waker`.
pub fn poll_once<F: Future + Unpin>(future: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(waker))
}

/// Spins (yielding the CPU) until `cond` holds. Only for conditions that are guaranteed to
/// become true soon; guard the caller with a [`Watchdog`] so a bug shows up as a failure.
pub fn wait_until(mut cond: impl FnMut() -> bool) {
    while !cond() {
        thread::yield_now();
    }
}

/// Creates an unbounded multi-producer, single-consumer channel for tasks: [`MailboxSender`] is
/// `Clone`, [`MailboxReceiver::recv`] is a future of the next message. Built on
/// `kairos::sync::mpsc::unbounded_channel`, which needs no runtime.
///
/// ```
/// let (tx, mut rx) = kairos_tests::mailbox::<u8>();
/// tx.send(1);
/// tx.clone().send(2);
/// assert_eq!(kairos_tests::block_on_thread(rx.recv()), 1);
/// assert_eq!(kairos_tests::block_on_thread(rx.recv()), 2);
/// ```
pub fn mailbox<T>() -> (MailboxSender<T>, MailboxReceiver<T>) {
    let (tx, rx) = kairos::sync::mpsc::unbounded_channel();
    (MailboxSender { tx }, MailboxReceiver { rx })
}

/// Sending half of a [`mailbox`].
#[derive(Debug)]
pub struct MailboxSender<T> {
    /// The channel's sender.
    tx: kairos::sync::mpsc::UnboundedSender<T>,
}

impl<T> Clone for MailboxSender<T> {
    fn clone(&self) -> Self {
        MailboxSender {
            tx: self.tx.clone(),
        }
    }
}

impl<T> MailboxSender<T> {
    /// Queues `value` and wakes the receiver if it waits. Never blocks; a message sent after the
    /// receiver is gone is dropped.
    pub fn send(&self, value: T) {
        let _ = self.tx.send(value);
    }
}

/// Receiving half of a [`mailbox`].
#[derive(Debug)]
pub struct MailboxReceiver<T> {
    /// The channel's receiver.
    rx: kairos::sync::mpsc::UnboundedReceiver<T>,
}

impl<T> MailboxReceiver<T> {
    /// A future of the next message (waits forever if none ever comes, even once every sender
    /// is gone).
    pub fn recv(&mut self) -> Recv<'_, T> {
        Recv {
            inner: self.rx.recv(),
        }
    }
}

/// Future returned by [`MailboxReceiver::recv`].
#[derive(Debug)]
pub struct Recv<'a, T> {
    /// The channel's receive.
    inner: kairos::sync::mpsc::RecvFuture<'a, T>,
}

impl<T> Future for Recv<'_, T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match Pin::new(&mut self.inner).poll(cx) {
            Poll::Ready(Some(v)) => Poll::Ready(v),
            // Every sender is gone: nothing will ever come (the documented "waits forever").
            Poll::Ready(None) | Poll::Pending => Poll::Pending,
        }
    }
}

/// A runtime with `workers` workers and the default configuration.
///
/// ```
/// let rt = kairos_tests::runtime(1);
/// assert_eq!(rt.block_on(rt.spawn(async { 2 })).unwrap(), 2);
/// ```
pub fn runtime(workers: usize) -> kairos::Runtime {
    kairos::Runtime::builder()
        .workers(workers)
        .build()
        .expect("build runtime")
}

/// `(policy, priority)` of the calling thread (`sched_getscheduler`, `sched_getparam`).
///
/// ```
/// let (policy, _priority) = kairos_tests::thread_scheduler();
/// assert!(policy >= 0);
/// ```
pub fn thread_scheduler() -> (i32, i32) {
    // SAFETY: pid 0 is the calling thread.
    let policy = unsafe { libc::sched_getscheduler(0) };
    let mut param = libc::sched_param { sched_priority: 0 };
    // SAFETY: as above; `param` is a valid out-pointer.
    let rc = unsafe { libc::sched_getparam(0, &mut param) };
    assert_eq!(rc, 0, "sched_getparam: {}", std::io::Error::last_os_error());
    (policy, param.sched_priority)
}

/// Runs the test `name` of the calling test binary alone in a child process, with the
/// environment variable `var` set to `value` (the child test checks it and does its work only
/// then), and returns its output. For tests that change process-wide state (limits,
/// capabilities, `mlockall`) or that compare two processes.
///
/// # Panics
/// If the test binary's path cannot be found or the child cannot be started.
pub fn run_child_test(name: &str, var: &str, value: &str) -> std::process::Output {
    let exe = std::env::current_exe().expect("the test binary's path");
    std::process::Command::new(&exe)
        .args(["--exact", name, "--nocapture"])
        .args(["--test-threads", "1"])
        .env(var, value)
        .output()
        .expect("run the test binary as a child")
}
