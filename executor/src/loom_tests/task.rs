//! Models of the task state machine, wakers and join protocol (`task/`), driven by a minimal
//! scheduler: a locked queue of `Notified` and the real registry.

use super::check;
use crate::loom::atomic::{AtomicBool, AtomicUsize, Ordering};
use crate::loom::{lock, Arc, Mutex};
use crate::task::{self, Header, JoinHandle, Notified, Registry, Schedule, TaskId};
use loom::thread;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// A scheduler for models: runnable tasks in a queue that the model drains explicitly.
#[derive(Clone)]
struct TestSched(Arc<Inner>);

struct Inner {
    queue: Mutex<VecDeque<Notified>>,
    registry: Registry,
}

impl Schedule for TestSched {
    fn schedule(&self, task: Notified) {
        lock(&self.0.queue).push_back(task);
    }
    fn release(&self, task: &Header) -> bool {
        self.0.registry.remove(task)
    }
    fn on_panic(&self) {}
}

impl TestSched {
    fn new() -> TestSched {
        TestSched(Arc::new(Inner {
            queue: Mutex::new(VecDeque::new()),
            registry: Registry::new(1),
        }))
    }

    fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (registered, notified, join) = task::new_task(
            future,
            self.clone(),
            TaskId(1),
            task::TaskAllocator::System,
            task::PolicyState::default(),
        );
        assert!(self.0.registry.bind(registered).is_ok());
        self.schedule(notified);
        join
    }

    /// Runs one queued task, if any.
    fn run_one(&self) -> bool {
        let task = lock(&self.0.queue).pop_front();
        match task {
            Some(task) => {
                task.run();
                true
            }
            None => false,
        }
    }

    fn run_all(&self) {
        while self.run_one() {}
    }
}

/// Counts drops of the value it is part of.
struct DropCount(Arc<AtomicUsize>);
impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// Pending once (waking itself, like `yield_now` without the runtime check), then ready.
struct YieldOnce(bool);
impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Ready once `flag` is set; registers its waker in `slot` otherwise.
struct WaitFlag {
    flag: Arc<AtomicBool>,
    slot: Arc<Mutex<Option<Waker>>>,
}
impl Future for WaitFlag {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.flag.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        *lock(&self.slot) = Some(cx.waker().clone());
        if self.flag.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

fn poll_once<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
    Pin::new(f).poll(&mut Context::from_waker(Waker::noop()))
}

/// A wake from another thread racing with the poll that registered the waker: the task is
/// always polled again (a wake during the poll sets NOTIFIED and the poller resubmits), and
/// completes.
#[test]
fn wake_during_poll() {
    check(&["task.woken_during_poll"], || {
        let sched = TestSched::new();
        let flag = Arc::new(AtomicBool::new(false));
        let slot = Arc::new(Mutex::new(None::<Waker>));
        let mut join = sched.spawn(WaitFlag {
            flag: flag.clone(),
            slot: slot.clone(),
        });
        let waker_thread = thread::spawn(move || {
            flag.store(true, Ordering::Release);
            let waker = lock(&slot).take();
            if let Some(waker) = waker {
                waker.wake();
            }
        });
        sched.run_one();
        waker_thread.join().unwrap();
        sched.run_all();
        assert!(matches!(poll_once(&mut join), Poll::Ready(Ok(()))));
    });
}

/// The task completes on one thread while the `JoinHandle` is awaited on another: the output
/// (a heap value, so a torn hand-over is a data race loom sees) arrives intact, and the join
/// waker is either installed before completion and woken by it, or loses the race to completion
/// and the handle reads the output directly. A lost join wake-up is a deadlock in
/// `block_on`.
///
/// This is the model `scripts/loom-mutation.sh` runs with the completion ordering weakened to
/// `Relaxed`; it must then fail with a causality violation on the task's stage.
#[test]
fn complete_vs_join_read() {
    check(
        &[
            "task.complete_wakes_join_waker",
            "task.join_waker_raced_completion",
        ],
        || {
            let sched = TestSched::new();
            let join = sched.spawn(async { Box::new(42u64) });
            let runner = {
                let sched = sched.clone();
                thread::spawn(move || sched.run_one())
            };
            let out = loom::future::block_on(join);
            assert_eq!(*out.unwrap(), 42);
            runner.join().unwrap();
        },
    );
}

/// Completion, abort and `JoinHandle` drop race (the handle is shared; its last owner drops
/// it). The future is dropped exactly once; the output, if produced, is dropped exactly once,
/// by the task (no handle left) or by the handle (completed first); and every reference is
/// released (loom reports a leaked `Arc` otherwise).
#[test]
fn complete_vs_abort_vs_join_drop() {
    check(
        &[
            "task.complete_without_join_handle",
            "task.join_handle_drops_output",
            "task.cancelled_during_poll",
        ],
        || {
            let sched = TestSched::new();
            let future_drops = Arc::new(AtomicUsize::new(0));
            let outputs = Arc::new(AtomicUsize::new(0));
            let output_drops = Arc::new(AtomicUsize::new(0));
            let join = {
                let guard = DropCount(future_drops.clone());
                let (outputs, output_drops) = (outputs.clone(), output_drops.clone());
                Arc::new(sched.spawn(async move {
                    let _guard = guard;
                    YieldOnce(false).await;
                    outputs.fetch_add(1, Ordering::Relaxed);
                    DropCount(output_drops)
                }))
            };
            let runner = {
                let sched = sched.clone();
                thread::spawn(move || sched.run_all())
            };
            let aborter = {
                let join = join.clone();
                thread::spawn(move || join.abort())
            };
            drop(join);
            runner.join().unwrap();
            aborter.join().unwrap();
            sched.run_all();
            assert_eq!(future_drops.load(Ordering::Relaxed), 1);
            assert_eq!(
                outputs.load(Ordering::Relaxed),
                output_drops.load(Ordering::Relaxed)
            );
        },
    );
}

/// Waker clones used from two threads (one `wake`, one `wake_by_ref` + drop) while the task
/// completes and its handle is dropped: no double free, no leak, and the last reference can be
/// a waker, whose `wake` then frees the task.
#[test]
fn waker_refcounts() {
    check(&["waker.wake_frees_task"], || {
        let sched = TestSched::new();
        let slots = Arc::new(Mutex::new(Vec::<Waker>::new()));
        let join = {
            let slots = slots.clone();
            let mut first = true;
            sched.spawn(std::future::poll_fn(move |cx| {
                if first {
                    first = false;
                    let mut slots = lock(&slots);
                    slots.push(cx.waker().clone());
                    slots.push(cx.waker().clone());
                    Poll::Pending
                } else {
                    Poll::Ready(())
                }
            }))
        };
        sched.run_one();
        let (w1, w2) = {
            let mut slots = lock(&slots);
            (slots.pop().unwrap(), slots.pop().unwrap())
        };
        let t1 = thread::spawn(move || w1.wake());
        let t2 = thread::spawn(move || {
            w2.wake_by_ref();
            drop(w2);
        });
        drop(join);
        sched.run_one();
        t1.join().unwrap();
        t2.join().unwrap();
        sched.run_all();
    });
}

/// Runtime shutdown (close the registry, pop, cancel) racing with a worker polling the task:
/// shutdown either drops the future itself or finds the task running and leaves it to the
/// poller, which then completes it after shutdown unlinked it. Either way the future is dropped
/// once and all references are released.
#[test]
fn shutdown_vs_complete() {
    check(
        &[
            "task.shutdown_found_running_or_complete",
            "registry.remove_after_shutdown_pop",
            "task.run_failed",
        ],
        || {
            let sched = TestSched::new();
            let drops = Arc::new(AtomicUsize::new(0));
            let mut join = {
                let guard = DropCount(drops.clone());
                sched.spawn(async move {
                    let _guard = guard;
                    7u32
                })
            };
            let runner = {
                let sched = sched.clone();
                thread::spawn(move || sched.run_one())
            };
            sched.0.registry.close();
            while let Some(task) = sched.0.registry.pop() {
                task.shutdown();
            }
            runner.join().unwrap();
            sched.run_all();
            assert_eq!(drops.load(Ordering::Relaxed), 1);
            match poll_once(&mut join) {
                Poll::Ready(Ok(7)) => {}
                Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
                other => panic!("unexpected {other:?}"),
            }
        },
    );
}
