//! `Builder::current_thread()`: one worker, no worker thread; `block_on` runs the runtime's
//! tasks, timers and I/O on the calling thread.

use kairos::{Policy, Runtime};
use kairos_tests::{DropCounter, Watchdog};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

fn rt() -> Runtime {
    Runtime::builder().current_thread().build().unwrap()
}

/// Everything runs on the calling thread, tasks and timers included.
#[test]
fn tasks_and_timers_run_on_the_calling_thread() {
    let _dog = Watchdog::default_for("tasks_and_timers_run_on_the_calling_thread");
    let rt = rt();
    assert_eq!(rt.metrics().workers, 1);
    let caller = std::thread::current().id();
    let ids = rt.block_on(async {
        let a = kairos::spawn(async {
            kairos::time::sleep(Duration::from_millis(2)).await;
            std::thread::current().id()
        });
        let b = kairos::spawn(async { std::thread::current().id() });
        (a.await.unwrap(), b.await.unwrap())
    });
    assert_eq!(ids, (caller, caller));
}

/// Between `block_on` calls nothing runs; the next `block_on` runs what was spawned.
#[test]
fn spawned_tasks_wait_for_the_next_block_on() {
    let rt = rt();
    let (tx, rx) = mpsc::channel();
    let h = rt.spawn(async move { tx.send(()).unwrap() });
    assert!(rx.try_recv().is_err(), "ran without a block_on");
    assert!(!h.is_finished());
    rt.block_on(h).unwrap();
    assert!(rx.try_recv().is_ok());
}

/// A task spawned from another thread while `block_on` waits on it wakes the driving thread.
#[test]
fn spawn_from_another_thread_wakes_the_driver() {
    let _dog = Watchdog::default_for("spawn_from_another_thread_wakes_the_driver");
    let rt = rt();
    let handle = rt.handle();
    let caller = std::thread::current().id();
    let (tx, rx) = kairos::sync::oneshot::channel();
    let spawner = std::thread::spawn(move || {
        let h = handle.spawn(async { std::thread::current().id() });
        tx.send(h).unwrap();
    });
    let ran_on = rt.block_on(async { rx.await.unwrap().await.unwrap() });
    spawner.join().unwrap();
    assert_eq!(ran_on, caller);
}

/// The policy applies: under Priority the more urgent of two queued tasks runs first.
#[test]
fn the_policy_orders_the_tasks() {
    let rt = Runtime::builder()
        .current_thread()
        .policy(Policy::Priority)
        .build()
        .unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    let (a, b) = (order.clone(), order.clone());
    let low = rt.spawn_with(kairos::Sched::default().priority(1), async move {
        a.lock().unwrap().push("low")
    });
    let high = rt.spawn_with(kairos::Sched::default().priority(200), async move {
        b.lock().unwrap().push("high")
    });
    rt.block_on(async {
        low.await.unwrap();
        high.await.unwrap();
    });
    assert_eq!(*order.lock().unwrap(), ["high", "low"]);
}

/// A panicking `block_on` future gives the worker back: the runtime keeps working.
#[test]
fn a_panicking_future_leaves_the_runtime_usable() {
    let rt = rt();
    let pending = rt.spawn(async { 5 });
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async { panic!("main future") })
    }));
    assert!(caught.is_err());
    assert_eq!(rt.block_on(pending).unwrap(), 5);
}

/// A second `block_on` on another thread while the first drives: it waits for its future,
/// which the driving thread runs.
#[test]
fn a_second_block_on_waits_for_the_driver() {
    let _dog = Watchdog::default_for("a_second_block_on_waits_for_the_driver");
    let rt = rt();
    let (done_tx, done_rx) = kairos::sync::oneshot::channel::<u32>();
    std::thread::scope(|s| {
        let rt = &rt;
        s.spawn(move || {
            let v = rt.block_on(async { kairos::spawn(async { 41 }).await.unwrap() });
            done_tx.send(v + 1).unwrap();
        });
        assert_eq!(rt.block_on(async { done_rx.await.unwrap() }), 42);
    });
}

/// Dropping the runtime with parked and never-polled tasks drops each future once.
#[test]
fn drop_cancels_every_task_once() {
    let rt = rt();
    let drops = DropCounter::new();
    let mut handles = Vec::new();
    for _ in 0..100 {
        let guard = drops.guard();
        handles.push(rt.spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        }));
    }
    // Half polled once (parked), half never polled.
    rt.block_on(async {
        for _ in 0..50 {
            kairos::yield_now().await;
        }
    });
    drop(rt);
    assert_eq!(drops.dropped(), 100);
    for h in handles {
        assert!(h.is_finished());
    }
}

/// Sockets work: an echo over TCP on the current-thread runtime (the reactor runs on the
/// driving thread).
#[test]
fn tcp_echo() {
    let _dog = Watchdog::default_for("tcp_echo");
    let rt = rt();
    let echoed = rt.block_on(async {
        let listener = kairos::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = kairos::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 5];
            read_exact(&s, &mut buf).await;
            s.write_all(&buf).await.unwrap();
        });
        let c = kairos::net::TcpStream::connect(addr).await.unwrap();
        c.write_all(b"hello").await.unwrap();
        let mut buf = [0u8; 5];
        read_exact(&c, &mut buf).await;
        server.await.unwrap();
        buf
    });
    assert_eq!(&echoed, b"hello");
}

/// Reads exactly `buf.len()` bytes.
async fn read_exact(s: &kairos::net::TcpStream, buf: &mut [u8]) {
    let mut got = 0;
    while got < buf.len() {
        let n = s.read(&mut buf[got..]).await.unwrap();
        assert!(n > 0, "the peer closed early");
        got += n;
    }
}

/// The configurations that cannot hold are refused with a reason.
#[test]
fn bad_configurations_are_refused() {
    let err = Runtime::builder()
        .current_thread()
        .workers(2)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("one worker"), "{err}");
    let err = Runtime::builder()
        .current_thread()
        .pin_workers(true)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("pin"), "{err}");
}
