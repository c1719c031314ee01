//! `kairos::spawn_blocking`: blocking work leaves the workers free.

use std::sync::mpsc;
use std::time::Duration;

/// A bound that only a hang reaches.
const HANG: Duration = Duration::from_secs(60);

/// The case: with one worker, a 1 ms sleep next to a blocking job. The blocking job
/// waits (on a std channel) until the sleeping task has completed: if it ran on the only
/// worker, the sleep could never fire and the job would time out on its bound.
#[test]
fn a_blocking_job_does_not_hold_the_only_worker() {
    let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    let order = rt.block_on(async {
        let (slept_tx, slept_rx) = mpsc::channel::<&'static str>();
        let blocking = kairos::spawn_blocking(move || {
            // Blocks its thread until the sleeper reports.
            let first = slept_rx
                .recv_timeout(HANG)
                .expect("the sleeping task never ran");
            vec![first, "blocking job"]
        });
        let sleeper = kairos::spawn(async move {
            kairos::time::sleep(Duration::from_millis(1)).await;
            slept_tx.send("sleeping task").unwrap();
        });
        sleeper.await.unwrap();
        blocking.await.unwrap()
    });
    assert_eq!(order, ["sleeping task", "blocking job"]);
}

#[test]
fn a_panicking_job_is_a_join_error() {
    let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    let err = rt
        .block_on(async { kairos::spawn_blocking(|| -> u32 { panic!("boom") }).await })
        .unwrap_err();
    assert!(err.is_panic(), "{err:?}");
    // The runtime and the pool go on.
    assert_eq!(
        rt.block_on(async { kairos::spawn_blocking(|| 5).await })
            .unwrap(),
        5
    );
}

#[test]
fn many_jobs_run_concurrently() {
    // Four jobs that each wait for all four to have started: only a pool that runs them at
    // once (it grows to four threads) completes them.
    let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
    let sum: u32 = rt.block_on(async {
        let handles: Vec<_> = (0..4u32)
            .map(|i| {
                let barrier = barrier.clone();
                kairos::spawn_blocking(move || {
                    barrier.wait();
                    i
                })
            })
            .collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        sum
    });
    assert_eq!(sum, 6);
}

#[test]
fn in_the_simulator_the_job_runs_inline_and_deterministically() {
    let mut sim = kairos::sim::Builder::new().workers(1).build().unwrap();
    let (v, elapsed) = sim.block_on(async {
        let start = kairos::time::Instant::now();
        let v = kairos::spawn_blocking(|| 21 * 2).await.unwrap();
        (v, start.elapsed())
    });
    assert_eq!(v, 42);
    assert_eq!(elapsed, Duration::ZERO);
}

#[test]
fn fs_helpers_and_file_round_trip() {
    let dir = std::env::temp_dir().join(format!("kairos-fs-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("data");
    let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    rt.block_on(async {
        kairos::fs::write(&path, b"0123456789").await.unwrap();
        assert_eq!(
            kairos::fs::read_to_string(&path).await.unwrap(),
            "0123456789"
        );
        assert_eq!(kairos::fs::metadata(&path).await.unwrap().len(), 10);
        let mut f = kairos::fs::File::open(&path).await.unwrap();
        f.seek(std::io::SeekFrom::Start(4)).await.unwrap();
        let mut rest = Vec::new();
        assert_eq!(f.read_to_end(&mut rest).await.unwrap(), 6);
        assert_eq!(rest, b"456789");
        let mut f = kairos::fs::File::create(&path).await.unwrap();
        assert_eq!(f.write(b"xy").await.unwrap(), 2);
        f.write_all(b"z").await.unwrap();
        assert_eq!(f.metadata().await.unwrap().len(), 3);
        let missing = kairos::fs::read(dir.join("missing")).await.unwrap_err();
        assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
        kairos::fs::remove_file(&path).await.unwrap();
    });
    // In the simulator too (inline, deterministic).
    let mut sim = kairos::sim::Builder::new().workers(2).build().unwrap();
    let back = sim.block_on(async {
        let p = std::env::temp_dir().join(format!("kairos-fs-sim-{}", std::process::id()));
        kairos::fs::write(&p, b"sim").await.unwrap();
        let back = kairos::fs::read(&p).await.unwrap();
        kairos::fs::remove_file(&p).await.unwrap();
        back
    });
    assert_eq!(back, b"sim");
    std::fs::remove_dir(&dir).unwrap();
}
