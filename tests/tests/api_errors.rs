//! API misuse and configuration errors: build errors, free functions outside a runtime,
//! `block_on` on a worker.

use kairos::{BuildError, Handle, Policy, Runtime};
use kairos_tests::{catch_panic_message, panic_message, poll_once, CountingWaker, Watchdog};
use std::panic::AssertUnwindSafe;

/// `workers(0)` is `BuildError::NoWorkers`, with a message that says what to do.
#[test]
fn zero_workers_is_an_error() {
    let err = Runtime::builder().workers(0).build().unwrap_err();
    assert!(matches!(err, BuildError::NoWorkers), "{err:?}");
    assert!(err.to_string().contains("at least one worker"), "{err}");
}

/// More workers than supported is `BuildError::TooManyWorkers` with the numbers, not a panic or
/// thousands of threads.
#[test]
fn too_many_workers_is_an_error() {
    let err = Runtime::builder().workers(1 << 20).build().unwrap_err();
    match err {
        BuildError::TooManyWorkers { requested, max } => {
            assert_eq!(requested, 1 << 20);
            assert!(max < requested);
        }
        other => panic!("expected TooManyWorkers, got {other:?}"),
    }
}

/// Admission control under a policy without a schedulability test is refused, naming the
/// policy; zero aging interval and zero fair slice are refused naming the parameter.
#[test]
fn invalid_scheduling_configurations_are_refused() {
    for (policy, name) in [(Policy::Fifo, "Fifo"), (Policy::Fair, "Fair")] {
        let err = Runtime::builder()
            .policy(policy)
            .admission_control(true)
            .build()
            .unwrap_err();
        match &err {
            BuildError::AdmissionUnsupported { policy: p } => assert_eq!(*p, policy),
            other => panic!("{name}: expected AdmissionUnsupported, got {other:?}"),
        }
        let msg = err.to_string();
        assert!(msg.contains(name), "message does not name {name}: {msg}");
        assert_eq!(policy.to_string(), name);
    }
    let err = Runtime::builder()
        .policy(Policy::Priority)
        .aging_interval(std::time::Duration::ZERO)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("aging_interval"), "{err}");
    let err = Runtime::builder()
        .policy(Policy::Fair)
        .fair_slice(std::time::Duration::ZERO)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("fair_slice"), "{err}");
    for policy in [Policy::Edf, Policy::Priority] {
        let rt = Runtime::builder()
            .workers(1)
            .policy(policy)
            .admission_control(true)
            .build()
            .unwrap();
        assert_eq!(rt.block_on(rt.spawn(async { 3 })).unwrap(), 3);
    }
}

/// `Policy::Fifo` (the default) builds, and the default builder has at least one worker.
#[test]
fn fifo_and_defaults_build() {
    let rt = Runtime::builder().policy(Policy::Fifo).build().unwrap();
    assert!(rt.metrics().workers >= 1);
    drop(rt);
    let rt = Runtime::new().unwrap();
    assert_eq!(rt.block_on(async { 5 }), 5);
    assert_eq!(Policy::default(), Policy::Fifo);
}

/// `kairos::spawn` outside a runtime panics with a message saying so.
#[test]
fn spawn_outside_runtime_panics() {
    let msg = catch_panic_message(|| {
        drop(kairos::spawn(async {}));
    });
    assert!(msg.contains("outside a kairos runtime"), "{msg}");
}

/// `kairos::spawn` on a plain thread after a runtime existed (and while one exists elsewhere)
/// still panics: the context is per thread.
#[test]
fn spawn_on_foreign_thread_panics() {
    let rt = Runtime::builder().workers(1).build().unwrap();
    let msg = std::thread::spawn(|| {
        catch_panic_message(|| {
            drop(kairos::spawn(async {}));
        })
    })
    .join()
    .unwrap();
    assert!(msg.contains("outside a kairos runtime"), "{msg}");
    drop(rt);
}

/// `yield_now` polled outside a runtime (here: by hand, and under another executor) panics
/// with a message saying so.
#[test]
fn yield_now_outside_runtime_panics() {
    let waker = CountingWaker::new();
    let msg = catch_panic_message(AssertUnwindSafe(|| {
        let mut y = kairos::yield_now();
        let _ = poll_once(&mut y, &waker.waker());
    }));
    assert!(msg.contains("outside a kairos runtime"), "{msg}");
    let msg = catch_panic_message(|| kairos_tests::block_on_thread(kairos::yield_now()));
    assert!(msg.contains("outside a kairos runtime"), "{msg}");
    // Creating it is fine; only polling panics.
    drop(kairos::yield_now());
}

/// `Handle::current` panics outside a runtime; `try_current` is `None` there and `Some` inside
/// a task and inside `block_on`.
#[test]
fn handle_current_inside_and_outside() {
    let _dog = Watchdog::default_for("handle_current_inside_and_outside");
    assert!(Handle::try_current().is_none());
    let msg = catch_panic_message(Handle::current);
    assert!(msg.contains("outside a kairos runtime"), "{msg}");
    let rt = Runtime::builder().workers(1).build().unwrap();
    let in_task = rt.spawn(async {
        let h = Handle::current();
        assert!(Handle::try_current().is_some());
        h.spawn(async { 3 }).await.unwrap()
    });
    assert_eq!(rt.block_on(in_task).unwrap(), 3);
    rt.block_on(async {
        assert!(Handle::try_current().is_some());
        assert_eq!(Handle::current().metrics().workers, 1);
    });
    // `block_on` restores the (empty) context when it returns.
    assert!(Handle::try_current().is_none());
}

/// `block_on` inside a task panics; the panic is caught by the runtime and surfaces as
/// `JoinError::is_panic` with a message naming the worker thread. The worker survives.
#[test]
fn block_on_inside_task_panics() {
    let _dog = Watchdog::default_for("block_on_inside_task_panics");
    let rt = std::sync::Arc::new(Runtime::builder().workers(2).build().unwrap());
    let inner = std::sync::Arc::clone(&rt);
    let h = rt.spawn(async move {
        inner.block_on(async { 1 });
    });
    let err = rt.block_on(h).unwrap_err();
    assert!(err.is_panic());
    let msg = panic_message(err.into_panic().as_ref()).expect("string payload");
    assert!(msg.contains("worker thread"), "{msg}");
    assert_eq!(rt.metrics().panics, 1);
    assert_eq!(rt.block_on(rt.spawn(async { 2 })).unwrap(), 2);
}

/// `block_on` of a *different* runtime inside a task panics too (any worker thread).
#[test]
fn block_on_other_runtime_inside_task_panics() {
    let _dog = Watchdog::default_for("block_on_other_runtime_inside_task_panics");
    let rt = Runtime::builder().workers(1).build().unwrap();
    let other = Runtime::builder().workers(1).build().unwrap();
    let h = rt.spawn(async move {
        other.block_on(async { 1 });
    });
    let err = rt.block_on(h).unwrap_err();
    let msg = panic_message(err.into_panic().as_ref()).expect("string payload");
    assert!(msg.contains("worker thread"), "{msg}");
}

/// A panic of the future passed to `block_on` propagates to the caller, and the runtime (and the
/// thread's context) are fine afterwards.
#[test]
fn block_on_propagates_panics() {
    let _dog = Watchdog::default_for("block_on_propagates_panics");
    let rt = Runtime::builder().workers(1).build().unwrap();
    let msg = catch_panic_message(AssertUnwindSafe(|| {
        rt.block_on(async { panic!("in block_on") })
    }));
    assert_eq!(msg, "in block_on");
    assert!(Handle::try_current().is_none(), "context leaked by a panic");
    assert_eq!(rt.block_on(rt.spawn(async { 4 })).unwrap(), 4);
}

/// Nested `block_on` of another runtime from inside `block_on` (not a worker thread) works.
#[test]
fn nested_block_on_on_plain_thread() {
    let _dog = Watchdog::default_for("nested_block_on_on_plain_thread");
    let a = Runtime::builder().workers(1).build().unwrap();
    let b = Runtime::builder().workers(1).build().unwrap();
    let v = a.block_on(async { b.block_on(b.spawn(async { 6 })).unwrap() + 1 });
    assert_eq!(v, 7);
}
