//! Panics in tasks are contained: other tasks finish, the payload reaches the `JoinHandle`,
//! `Metrics::panics` counts them and the runtime keeps working.

use kairos_tests::{panic_message, runtime, DropCounter, Watchdog};
use std::panic::panic_any;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Of 1000 tasks, every 7th panics (string, `&str` or non-string payloads): the others complete
/// with their result, each panicking one yields `is_panic` with its own payload, `panics` counts
/// exactly them, and the runtime runs new tasks afterwards.
#[test]
fn panics_are_contained_and_reported() {
    const N: usize = 1000;
    let _dog = Watchdog::default_for("panics_are_contained_and_reported");
    let rt = runtime(2);
    let completed = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..N)
        .map(|i| {
            let completed = Arc::clone(&completed);
            rt.spawn(async move {
                kairos::yield_now().await;
                if i.is_multiple_of(7) {
                    match i % 3 {
                        0 => panic!("task {i} failed"),
                        1 => panic_any(i),
                        _ => std::panic::resume_unwind(Box::new("static str payload")),
                    }
                }
                completed.fetch_add(1, Ordering::SeqCst);
                i
            })
        })
        .collect();
    let ids: Vec<_> = handles.iter().map(|h| h.id()).collect();
    let results = rt.block_on(async move {
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await);
        }
        out
    });
    let mut panicked = 0;
    for (i, (result, id)) in results.into_iter().zip(ids).enumerate() {
        if !i.is_multiple_of(7) {
            assert_eq!(result.expect("healthy task failed"), i);
            continue;
        }
        panicked += 1;
        let err = result.expect_err("panicking task returned");
        assert!(err.is_panic(), "task {i}: {err:?}");
        assert!(!err.is_cancelled());
        assert_eq!(err.id(), id);
        let payload = err.into_panic();
        match i % 3 {
            0 => assert_eq!(
                panic_message(payload.as_ref()).as_deref(),
                Some(format!("task {i} failed").as_str())
            ),
            1 => assert_eq!(*payload.downcast::<usize>().expect("usize payload"), i),
            _ => assert_eq!(
                *payload.downcast::<&str>().expect("&str payload"),
                "static str payload"
            ),
        }
    }
    assert_eq!(completed.load(Ordering::SeqCst), N - panicked);
    assert_eq!(rt.metrics().panics, panicked as u64);
    // Still working.
    let after: Vec<_> = (0..100u64).map(|i| rt.spawn(async move { i })).collect();
    let sum = rt.block_on(async move {
        let mut s = 0;
        for h in after {
            s += h.await.unwrap();
        }
        s
    });
    assert_eq!(sum, 4950);
    assert_eq!(rt.metrics().panics, panicked as u64);
}

/// A panic on every worker at once (one per worker, 100 rounds) leaves every worker alive.
#[test]
fn workers_survive_repeated_panics() {
    let _dog = Watchdog::default_for("workers_survive_repeated_panics");
    let rt = runtime(2);
    for round in 0..100u64 {
        let bad: Vec<_> = (0..2).map(|_| rt.spawn(async { panic!("x") })).collect();
        let good = rt.spawn(async move { round });
        for b in bad {
            assert!(rt.block_on(b).unwrap_err().is_panic());
        }
        assert_eq!(rt.block_on(good).unwrap(), round);
    }
    assert_eq!(rt.metrics().panics, 200);
}

/// The future of a panicking task is dropped exactly once (values held across an await and
/// locals of the panicking poll), before the `JoinHandle` reports the panic.
#[test]
fn panicking_future_dropped_once() {
    let _dog = Watchdog::default_for("panicking_future_dropped_once");
    let rt = runtime(2);
    let drops = DropCounter::new();
    let handles: Vec<_> = (0..500)
        .map(|_| {
            let held = drops.guard();
            let local = drops.guard();
            rt.spawn(async move {
                let _held = held;
                kairos::yield_now().await;
                let _local = local;
                panic!("after yield");
            })
        })
        .collect();
    for h in handles {
        assert!(rt.block_on(h).unwrap_err().is_panic());
    }
    assert_eq!(drops.created(), 1000);
    assert_eq!(drops.dropped(), 1000);
}

/// A panic awaited by another task surfaces there as a `JoinError`, and the awaiting task
/// carries on.
#[test]
fn panic_observed_by_another_task() {
    let _dog = Watchdog::default_for("panic_observed_by_another_task");
    let rt = runtime(2);
    let outer = rt.spawn(async {
        let inner = kairos::spawn(async { panic_any(17u8) });
        let err = inner.await.unwrap_err();
        assert!(err.is_panic());
        let payload = err.try_into_panic().expect("is a panic");
        *payload.downcast::<u8>().unwrap() + 1
    });
    assert_eq!(rt.block_on(outer).unwrap(), 18);
    assert_eq!(rt.metrics().panics, 1);
}

/// A local whose destructor panics at the end of the async block makes the task panic (the
/// drop happens inside the poll that would return `Ready`): reported as `is_panic` with that
/// message, counted once, the runtime keeps working.
#[test]
fn panic_in_local_destructor_is_a_task_panic() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("destructor panic");
        }
    }
    let _dog = Watchdog::default_for("panic_in_local_destructor_is_a_task_panic");
    let rt = runtime(2);
    let h = rt.spawn(async {
        let _bomb = PanicOnDrop;
        kairos::yield_now().await;
        9
    });
    let err = rt.block_on(h).unwrap_err();
    assert!(err.is_panic());
    assert_eq!(
        panic_message(err.into_panic().as_ref()).as_deref(),
        Some("destructor panic")
    );
    assert_eq!(rt.metrics().panics, 1);
    assert_eq!(rt.block_on(rt.spawn(async { 1 })).unwrap(), 1);
}

/// A future whose destructor panics when it is dropped *after* returning `Ready` (the runtime
/// drops it) still delivers its output; the panic is counted.
#[test]
fn panic_in_destructor_after_ready_keeps_output() {
    struct Bomb(bool);
    impl std::future::Future for Bomb {
        type Output = u32;
        fn poll(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<u32> {
            self.0 = true;
            std::task::Poll::Ready(77)
        }
    }
    impl Drop for Bomb {
        fn drop(&mut self) {
            if self.0 {
                panic!("bomb dropped after ready");
            }
        }
    }
    let _dog = Watchdog::default_for("panic_in_destructor_after_ready_keeps_output");
    let rt = runtime(1);
    let out = rt.block_on(rt.spawn(Bomb(false)));
    assert_eq!(out.expect("output lost to destructor panic"), 77);
    assert_eq!(rt.metrics().panics, 1);
}

/// A task that panics right after spawning children does not affect the children, which run
/// to completion (detached).
#[test]
fn children_outlive_panicking_parent() {
    let _dog = Watchdog::default_for("children_outlive_panicking_parent");
    let rt = runtime(2);
    let (tx, rx) = std::sync::mpsc::channel();
    let parent = rt.spawn(async move {
        for i in 0..100 {
            let tx = tx.clone();
            kairos::spawn(async move {
                kairos::yield_now().await;
                tx.send(i).unwrap();
            });
        }
        panic!("parent dies");
    });
    assert!(rt.block_on(parent).unwrap_err().is_panic());
    let mut got: Vec<i32> = rx.iter().collect();
    got.sort_unstable();
    assert_eq!(got, (0..100).collect::<Vec<_>>());
}

/// `Display` and `Debug` of a panic `JoinError` show the message.
#[test]
fn join_error_formats_panic_message() {
    let rt = runtime(1);
    let err = rt
        .block_on(rt.spawn(async { panic!("formatted {}", 3) }))
        .unwrap_err();
    assert!(err.to_string().contains("panicked"), "{err}");
    assert!(err.to_string().contains("formatted 3"), "{err}");
    assert!(format!("{err:?}").contains("formatted 3"), "{err:?}");
}
