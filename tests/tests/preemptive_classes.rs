//! `Builder::preemptive_classes`: one group of worker threads per scheduling class at OS
//! priorities, so that the kernel preempts a fair task's poll for a deadline task.
//!
//! Real-time priority needs CAP_SYS_NICE: where the process lacks it, the tests that need it
//! print "skipped: ..." and check the error instead (CI runs as root, so there they run in
//! full). The refusal path itself is checked in a child process that drops the capability.
#![cfg(target_os = "linux")]

mod caps;

use kairos::{BuildError, Job, Periodic, Policy, Runtime, Sched, WorkerPriority};
use kairos_tests::Watchdog;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kairos_tests::thread_scheduler as scheduler;

/// The first core this process may run on (`sched_getaffinity`).
fn first_core() -> usize {
    // SAFETY: `cpu_set_t` is plain data; zeroed is a valid empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: pid 0 is the calling thread; the size matches the set.
    let rc =
        unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    assert_eq!(rc, 0, "sched_getaffinity failed");
    (0..libc::CPU_SETSIZE as usize)
        // SAFETY: `i` is below CPU_SETSIZE.
        .find(|&i| unsafe { libc::CPU_ISSET(i, &set) })
        .expect("some core")
}

/// Worker index from the thread name (`"{prefix}-{i}"`).
fn worker_index() -> usize {
    let name = std::thread::current().name().unwrap().to_owned();
    name.rsplit('-').next().unwrap().parse().unwrap()
}

/// One worker per class, all pinned to one core (so a deadline job can only run on that core
/// by preempting the fair worker there), or the build error.
fn one_core_runtime(preemptive: bool) -> Result<Runtime, BuildError> {
    Runtime::builder()
        .workers(1)
        .policy(Policy::Classes)
        .preemptive_classes(preemptive)
        .pin_to(vec![first_core()])
        .thread_name("kt-pc")
        .build()
}

/// What the hog saw in its one long poll.
#[derive(Debug)]
struct HogPoll {
    /// The periodic task's completed jobs when the poll began.
    before: u64,
    /// ... and when it ended.
    after: u64,
    /// The hog's thread's `(policy, priority)`.
    thread: (i32, i32),
}

/// Runs a 1 ms periodic deadline task (each job counts itself done) and, once it has completed
/// two jobs, a fair task that computes 50 ms in one poll without any await or cooperative check,
/// reading the job counter at the start and at the end of that poll. Returns what the hog saw
/// and the `(policy, priority)` of the thread that ran the jobs.
fn hog_beside_periodic(rt: &Runtime) -> (HogPoll, (i32, i32)) {
    let completed = Arc::new(AtomicU64::new(0));
    let job_thread = Arc::new(Mutex::new(None));
    let periodic = {
        let completed = completed.clone();
        let job_thread = job_thread.clone();
        rt.spawn_periodic(
            Periodic::new(Duration::from_millis(1)).deadline(Duration::from_millis(1)),
            move |_: Job| {
                let completed = completed.clone();
                let job_thread = job_thread.clone();
                async move {
                    job_thread.lock().unwrap().get_or_insert_with(scheduler);
                    completed.fetch_add(1, Ordering::SeqCst);
                }
            },
        )
        .expect("no admission control")
    };
    let hog = {
        let completed = completed.clone();
        rt.spawn(async move {
            // Jobs run before the long poll (the counter is live), awaiting between looks.
            while completed.load(Ordering::SeqCst) < 2 {
                kairos::time::sleep(Duration::from_millis(1)).await;
            }
            // One poll of 50 ms that never yields: no await, no `should_yield`, no `work`.
            let before = completed.load(Ordering::SeqCst);
            let start = Instant::now();
            while start.elapsed() < Duration::from_millis(50) {
                std::hint::spin_loop();
            }
            let after = completed.load(Ordering::SeqCst);
            HogPoll {
                before,
                after,
                thread: scheduler(),
            }
        })
    };
    let seen = rt.block_on(hog).expect("the hog completes");
    periodic.stop();
    rt.block_on(periodic.join());
    let job_thread = job_thread.lock().unwrap().expect("a job ran");
    (seen, job_thread)
}

/// Parameters: 1 worker per class pinned to one core, a 1 ms periodic deadline task, a fair
/// task in one 50 ms poll that never yields. With preemptive classes the periodic task's jobs
/// complete during that poll (the counter the hog reads at its start and end moved), on a
/// `SCHED_FIFO` thread at the deadline class's priority while the hog's thread is
/// `SCHED_OTHER`. Skipped, with a note, without CAP_SYS_NICE.
#[test]
fn deadline_jobs_complete_inside_a_fair_poll_that_never_yields() {
    let _dog = Watchdog::default_for("deadline_jobs_complete_inside_a_fair_poll_that_never_yields");
    let rt = match one_core_runtime(true) {
        Ok(rt) => rt,
        Err(e @ BuildError::PreemptiveClasses { .. }) => {
            eprintln!(
                "skipped: preemptive classes need CAP_SYS_NICE, which this process lacks: {e}"
            );
            assert!(e.to_string().contains("CAP_SYS_NICE"), "{e}");
            return;
        }
        Err(e) => panic!("build failed: {e}"),
    };
    assert_eq!(rt.metrics().workers, 3, "one worker thread per class");
    let (hog, job_thread) = hog_beside_periodic(&rt);
    eprintln!(
        "jobs completed during the 50 ms poll: {}",
        hog.after - hog.before
    );
    assert!(
        hog.after > hog.before,
        "no job completed during the hog's poll: {hog:?}"
    );
    assert_eq!(
        hog.thread,
        (libc::SCHED_OTHER, 0),
        "the fair class's thread"
    );
    assert_eq!(
        job_thread,
        (
            libc::SCHED_FIFO,
            i32::from(kairos::DEADLINE_CLASS_FIFO_PRIORITY)
        ),
        "the deadline class's thread"
    );
}

/// The control: the same run with cooperative classes on one worker. Nothing else polls tasks
/// while the hog's poll holds the only worker, so no job completes during it.
#[test]
fn cooperative_classes_wait_for_the_fair_poll() {
    let _dog = Watchdog::default_for("cooperative_classes_wait_for_the_fair_poll");
    let rt = one_core_runtime(false).expect("cooperative classes build");
    assert_eq!(rt.metrics().workers, 1);
    let (hog, _) = hog_beside_periodic(&rt);
    assert_eq!(hog.after, hog.before, "{hog:?}");
}

/// A task that changes its class at run time moves to that class's threads at its next
/// scheduling point: a fair task given a priority, then a deadline, then neither, yields after
/// each change and reports where it runs (the thread's class by its worker index, and its OS
/// policy). Skipped without CAP_SYS_NICE.
#[test]
fn class_change_moves_the_task_to_its_class_threads() {
    let _dog = Watchdog::default_for("class_change_moves_the_task_to_its_class_threads");
    let rt = match Runtime::builder()
        .workers(2)
        .policy(Policy::Classes)
        .preemptive_classes(true)
        .thread_name("kt-mv")
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("skipped: preemptive classes could not be built here: {e}");
            assert!(matches!(e, BuildError::PreemptiveClasses { .. }), "{e:?}");
            return;
        }
    };
    let seen = rt.block_on(rt.spawn(async {
        let here = || (worker_index() / 2, scheduler().0);
        let mut seen = vec![here()];
        kairos::task::set_priority(7).unwrap();
        kairos::yield_now().await;
        seen.push(here());
        let soon = kairos::time::Instant::now() + Duration::from_millis(5);
        kairos::task::set_deadline(soon).unwrap();
        kairos::yield_now().await;
        seen.push(here());
        kairos::task::clear_deadline().unwrap();
        kairos::task::set_priority(0).unwrap();
        kairos::yield_now().await;
        seen.push(here());
        seen
    }));
    let fifo = libc::SCHED_FIFO;
    let other = libc::SCHED_OTHER;
    // Worker groups of 2: 0-1 deadline, 2-3 priority, 4-5 fair.
    assert_eq!(
        seen.unwrap(),
        vec![(2, other), (1, fifo), (0, fifo), (2, other)]
    );
}

/// Spawned with a class from outside the runtime: each task starts on its class's threads.
#[test]
fn spawned_tasks_start_on_their_class_threads() {
    let _dog = Watchdog::default_for("spawned_tasks_start_on_their_class_threads");
    let Ok(rt) = Runtime::builder()
        .workers(1)
        .policy(Policy::Classes)
        .preemptive_classes(true)
        .thread_name("kt-sp")
        .build()
    else {
        eprintln!("skipped: preemptive classes could not be built here (no CAP_SYS_NICE?)");
        return;
    };
    let deadline = Sched::default().deadline(Duration::from_millis(10));
    let classes = [
        rt.spawn_with(deadline, async { worker_index() }),
        rt.spawn_with(Sched::default().priority(3), async { worker_index() }),
        rt.spawn(async { worker_index() }),
    ];
    let ran_on: Vec<usize> = classes
        .into_iter()
        .map(|h| rt.block_on(h).unwrap())
        .collect();
    assert_eq!(ran_on, vec![0, 1, 2]);
}

/// Configurations `build()` refuses with an error that says what to change.
#[test]
fn invalid_configurations_are_errors() {
    let e = Runtime::builder()
        .workers(1)
        .policy(Policy::Edf)
        .preemptive_classes(true)
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("Policy::Classes"), "{e}");
    let e = Runtime::builder()
        .current_thread()
        .policy(Policy::Classes)
        .preemptive_classes(true)
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("current_thread"), "{e}");
    let e = Runtime::builder()
        .workers(1)
        .policy(Policy::Classes)
        .preemptive_classes(true)
        .worker_priority(WorkerPriority::Realtime(1))
        .build()
        .unwrap_err();
    assert!(matches!(e, BuildError::InvalidPriority { .. }), "{e:?}");
    assert!(e.to_string().contains("at least 2"), "{e}");
}

/// Set in the child's environment: run the child half.
const CHILD_VAR: &str = "KAIROS_PREEMPTIVE_CLASSES_CHILD";

/// `CAP_SYS_NICE`: lets a process raise scheduling priorities beyond `RLIMIT_RTPRIO`.
const CAP_SYS_NICE: u32 = 23;

/// Child half of [`without_cap_sys_nice_build_fails_or_falls_back`]: drops `CAP_SYS_NICE` and
/// sets `RLIMIT_RTPRIO` to 0, then builds with preemptive classes, without and with
/// `best_effort_priority`, and prints each outcome on a line of its own.
#[test]
fn child_builds_without_cap_sys_nice() {
    if std::env::var_os(CHILD_VAR).is_none() {
        return;
    }
    let forbid = caps::zero_rlimit(libc::RLIMIT_RTPRIO, "RLIMIT_RTPRIO")
        .and_then(|()| caps::drop_capability(CAP_SYS_NICE));
    if let Err(why) = forbid {
        println!("\nSKIP {why}");
        return;
    }
    let builder = || {
        Runtime::builder()
            .workers(1)
            .policy(Policy::Classes)
            .preemptive_classes(true)
    };
    match builder().build() {
        Err(e @ BuildError::PreemptiveClasses { .. }) => println!("\nREFUSED {e}"),
        Err(e) => println!("\nOTHER {e}"),
        Ok(_) => println!("\nBUILT"),
    }
    match builder().best_effort_priority(true).build() {
        Ok(rt) => {
            let ran = rt.block_on(rt.spawn(async { 7 })).unwrap();
            println!("\nFALLBACK workers={} ran={ran}", rt.metrics().workers);
        }
        Err(e) => println!("\nFALLBACK-FAILED {e}"),
    }
}

/// Parameters: a child process of this test binary without `CAP_SYS_NICE` and with
/// `RLIMIT_RTPRIO` 0 builds preemptive classes. Asserts `build()` fails with
/// `BuildError::PreemptiveClasses` naming the capability and `best_effort_priority`; and with
/// `best_effort_priority(true)` builds cooperative classes (one worker thread, not three) that
/// run tasks, after a warning on stderr. Skipped, saying why, if the child cannot drop the
/// capability.
#[test]
fn without_cap_sys_nice_build_fails_or_falls_back() {
    let out = kairos_tests::run_child_test("child_builds_without_cap_sys_nice", CHILD_VAR, "1");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "child failed: {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    if let Some(why) = stdout.lines().find_map(|l| l.strip_prefix("SKIP ")) {
        eprintln!("skipped: the child could not drop CAP_SYS_NICE: {why}");
        return;
    }
    let msg = stdout
        .lines()
        .find_map(|l| l.strip_prefix("REFUSED "))
        .unwrap_or_else(|| panic!("not refused with PreemptiveClasses:\n{stdout}"));
    assert!(
        msg.contains("CAP_SYS_NICE") && msg.contains("best_effort_priority"),
        "{msg}"
    );
    assert!(
        stdout.lines().any(|l| l == "FALLBACK workers=1 ran=7"),
        "no cooperative fallback:\n{stdout}"
    );
    assert!(
        stderr.contains("running cooperative classes instead"),
        "no warning:\n{stderr}"
    );
}

/// Inheritance moves a lock holder to the threads of the class it is lent: a fair task locks a
/// `sync::Mutex` and yields behind a fair hog that computes (without awaiting) until the lock has
/// been handed on; a deadline task then waits for the lock. The holder, lent the waiter's
/// deadline, runs its next poll on a deadline-class thread (queued: moved to that class's
/// injector; still running: asked to yield, and its next push goes there), unlocks, the waiter
/// gets the lock and releases the hog. Without the move the holder would wait behind the hog
/// on the one fair thread for ever. Skipped without CAP_SYS_NICE.
#[test]
fn a_lock_holder_lent_a_deadline_moves_to_the_deadline_threads() {
    let _dog = Watchdog::default_for("a_lock_holder_lent_a_deadline_moves_to_the_deadline_threads");
    let Ok(rt) = Runtime::builder()
        .workers(1)
        .policy(Policy::Classes)
        .preemptive_classes(true)
        .thread_name("kt-inh")
        .build()
    else {
        eprintln!("skipped: preemptive classes could not be built here (no CAP_SYS_NICE?)");
        return;
    };
    let lock = Arc::new(kairos::sync::Mutex::new(0u32));
    let locked = Arc::new(AtomicU64::new(0));
    let released = Arc::new(AtomicU64::new(0));
    let holder = {
        let (lock, locked, released) = (lock.clone(), locked.clone(), released.clone());
        rt.spawn(async move {
            let mut guard = lock.lock().await;
            let first = worker_index();
            // The hog, on this (the only fair) thread, computes until the waiter is done.
            kairos::spawn(async move {
                while released.load(Ordering::SeqCst) == 0 {
                    std::hint::spin_loop();
                }
            });
            locked.store(1, Ordering::SeqCst);
            kairos::yield_now().await;
            *guard += 1;
            let second = worker_index();
            drop(guard);
            (first, second)
        })
    };
    while locked.load(Ordering::SeqCst) == 0 {
        std::thread::yield_now();
    }
    let waiter = {
        let (lock, released) = (lock.clone(), released.clone());
        rt.spawn_with(
            Sched::default().deadline(Duration::from_millis(1)),
            async move {
                let value = *lock.lock().await;
                released.store(1, Ordering::SeqCst);
                (value, worker_index())
            },
        )
    };
    let (value, waiter_ran_on) = rt.block_on(waiter).unwrap();
    let (first, second) = rt.block_on(holder).unwrap();
    // Worker 0: the deadline class's thread; 2: the fair class's.
    assert_eq!(
        (first, second),
        (2, 0),
        "the holder's polls: fair thread, then deadline"
    );
    assert_eq!((value, waiter_ran_on), (1, 0));
}
