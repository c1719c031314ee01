//! Worker pinning and OS priority, read back from inside the workers.
//!
//! Real-time priority needs CAP_SYS_NICE: where the process lacks it, those tests print
//! "skipped: ..." and check the error instead. CI runs as root, so there they run in full.

use kairos::{BuildError, Runtime, WorkerPriority};
use kairos_tests::Watchdog;
use std::collections::BTreeSet;

/// The cores the calling thread may run on (`sched_getaffinity`).
fn affinity() -> BTreeSet<usize> {
    // SAFETY: `cpu_set_t` is plain data; zeroed is a valid empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: pid 0 is the calling thread; the size matches the set.
    let rc =
        unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    assert_eq!(rc, 0, "sched_getaffinity failed");
    (0..libc::CPU_SETSIZE as usize)
        // SAFETY: `i` is below CPU_SETSIZE.
        .filter(|&i| unsafe { libc::CPU_ISSET(i, &set) })
        .collect()
}

use kairos_tests::thread_scheduler as scheduler;

/// Nice value of the calling thread.
fn nice() -> i32 {
    // SAFETY: gettid has no preconditions; getpriority reads the thread's nice value.
    unsafe {
        let tid = libc::gettid();
        libc::getpriority(libc::PRIO_PROCESS, tid as libc::id_t)
    }
}

/// Worker index from its thread name (`"{prefix}-{i}"`).
fn worker_index() -> usize {
    let name = std::thread::current().name().unwrap().to_owned();
    name.rsplit('-').next().unwrap().parse().unwrap()
}

/// Runs `probe` in many tasks and returns what each worker that ran one reported.
fn from_workers<T: Send + 'static>(rt: &Runtime, probe: fn() -> T) -> Vec<(usize, T)> {
    let handles: Vec<_> = (0..64)
        .map(|_| {
            rt.spawn(async move {
                kairos::yield_now().await;
                (worker_index(), probe())
            })
        })
        .collect();
    rt.block_on(async {
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.unwrap());
        }
        out
    })
}

fn available_cores() -> Vec<usize> {
    affinity().into_iter().collect()
}

/// `pin_workers(true)`: worker i runs on exactly the i-th available core.
#[test]
fn pin_workers_pins_each_worker_to_its_core() {
    let _dog = Watchdog::default_for("pin_workers_pins_each_worker_to_its_core");
    let cores = available_cores();
    let rt = match Runtime::builder()
        .workers(2)
        .thread_name("kt-pin")
        .pin_workers(true)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("skipped: pinning is not permitted here: {e}");
            return;
        }
    };
    let seen = from_workers(&rt, affinity);
    assert!(!seen.is_empty());
    for (worker, set) in seen {
        let expected: BTreeSet<usize> = [cores[worker % cores.len()]].into();
        assert_eq!(set, expected, "worker {worker} runs on {set:?}");
    }
}

/// `pin_to`: every worker on the one named core; a core the process may not use is a
/// `NoSuchCore` error naming it; an empty list is an error.
#[test]
fn pin_to_applies_and_validates_cores() {
    let _dog = Watchdog::default_for("pin_to_applies_and_validates_cores");
    let cores = available_cores();
    let last = *cores.last().unwrap();
    match Runtime::builder().workers(2).pin_to(vec![last]).build() {
        Ok(rt) => {
            for (_, set) in from_workers(&rt, affinity) {
                assert_eq!(set, [last].into());
            }
        }
        Err(e) => eprintln!("skipped: pinning is not permitted here: {e}"),
    }
    let err = Runtime::builder()
        .pin_to(vec![100_000])
        .build()
        .unwrap_err();
    assert!(
        matches!(err, BuildError::NoSuchCore { core: 100_000, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("100000"), "{err}");
    let err = Runtime::builder().pin_to(vec![]).build().unwrap_err();
    assert!(matches!(err, BuildError::NoCores), "{err:?}");
}

/// `Realtime(p)`: every worker runs under SCHED_FIFO at priority p (when permitted); without
/// CAP_SYS_NICE, `build()` fails with an error naming the capability.
#[test]
fn realtime_priority_is_applied_or_names_the_missing_capability() {
    let _dog =
        Watchdog::default_for("realtime_priority_is_applied_or_names_the_missing_capability");
    match Runtime::builder()
        .workers(2)
        .thread_name("kt-rt")
        .worker_priority(WorkerPriority::Realtime(10))
        .build()
    {
        Ok(rt) => {
            for (worker, (policy, prio)) in from_workers(&rt, scheduler) {
                assert_eq!(policy, libc::SCHED_FIFO, "worker {worker}");
                assert_eq!(prio, 10, "worker {worker}");
            }
        }
        Err(e) => {
            eprintln!("skipped: SCHED_FIFO needs CAP_SYS_NICE, which this process lacks: {e}");
            assert!(matches!(e, BuildError::Priority { .. }), "{e:?}");
            assert!(e.to_string().contains("CAP_SYS_NICE"), "{e}");
        }
    }
}

/// `best_effort_priority(true)` never fails `build()` for a priority the OS refuses; the
/// runtime works either way.
#[test]
fn best_effort_priority_builds_either_way() {
    let _dog = Watchdog::default_for("best_effort_priority_builds_either_way");
    let rt = Runtime::builder()
        .workers(1)
        .worker_priority(WorkerPriority::Realtime(5))
        .best_effort_priority(true)
        .build()
        .expect("best effort never fails for lack of privilege");
    assert_eq!(rt.block_on(rt.spawn(async { 3 })).unwrap(), 3);
}

/// `Nice(n)`: the workers run at nice n (raising the nice value needs no privilege).
#[test]
fn nice_value_is_applied() {
    let _dog = Watchdog::default_for("nice_value_is_applied");
    let rt = Runtime::builder()
        .workers(2)
        .thread_name("kt-nice")
        .worker_priority(WorkerPriority::Nice(7))
        .build()
        .unwrap();
    for (worker, n) in from_workers(&rt, nice) {
        assert_eq!(n, 7, "worker {worker}");
    }
}

/// Out-of-range priorities are refused before any thread starts.
#[test]
fn invalid_priorities_are_errors() {
    for p in [
        WorkerPriority::Realtime(0),
        WorkerPriority::Realtime(100),
        WorkerPriority::Nice(20),
    ] {
        let err = Runtime::builder().worker_priority(p).build().unwrap_err();
        assert!(matches!(err, BuildError::InvalidPriority { .. }), "{err:?}");
    }
}
