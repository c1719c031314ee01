//! `kairos::task_local!`: values carried across awaits on every worker, under the simulator and
//! threads; nested scopes; interleaved scopes in one task; no leak between tasks; access outside
//! a scope; destructors inside the scope; spawned tasks do not inherit.

use kairos::sim::{Builder, Mode};
use kairos_tests::{catch_panic_message, runtime, Watchdog};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

kairos::task_local! {
    /// A request id, as a server would carry it.
    static REQUEST: u64;
    /// A non-Copy value.
    static TRACE: String;
}

/// 64 tasks on 4 virtual workers, each in its own scope, await sleeps, yields and `work` slices
/// (the cost model suspends polls in the middle) and always read their own value.
#[test]
fn values_follow_their_task_under_the_simulator() {
    for seed in 1..=3 {
        let mut sim = Builder::new()
            .seed(seed)
            .workers(4)
            .mode(Mode::CostModel)
            .build()
            .unwrap();
        let checked = sim.block_on(async {
            let mut handles = Vec::new();
            for id in 0..64u64 {
                handles.push(kairos::spawn(REQUEST.scope(id, async move {
                    let mut checked = 0;
                    for round in 0..10u64 {
                        assert_eq!(REQUEST.get(), id);
                        match (id + round) % 3 {
                            0 => kairos::yield_now().await,
                            1 => kairos::time::sleep(Duration::from_micros(id % 7)).await,
                            _ => kairos::work(Duration::from_micros(45)).await,
                        }
                        assert_eq!(REQUEST.get(), id);
                        checked += 1;
                    }
                    checked
                })));
            }
            let mut checked = 0;
            for h in handles {
                checked += h.await.unwrap();
            }
            // The root (not in any scope) sees nothing.
            assert!(REQUEST.try_with(|_| ()).is_err());
            checked
        });
        assert_eq!(checked, 640);
    }
}

/// Nested scopes: the innermost value wins and the outer one comes back after it, also when the
/// inner scope suspends; two scopes interleaved inside one task (`join!`) each see their own.
#[test]
fn nested_and_interleaved_scopes() {
    let mut sim = Builder::new().seed(5).workers(2).build().unwrap();
    let task = sim.spawn(REQUEST.scope(1, async {
        assert_eq!(REQUEST.get(), 1);
        let inner = REQUEST
            .scope(2, async {
                kairos::yield_now().await;
                let innermost = REQUEST.scope(3, async { REQUEST.get() }).await;
                (innermost, REQUEST.get())
            })
            .await;
        assert_eq!(inner, (3, 2));
        assert_eq!(REQUEST.get(), 1);
        let (a, b) = kairos::join!(
            REQUEST.scope(10, async {
                let mut seen = Vec::new();
                for _ in 0..3 {
                    seen.push(REQUEST.get());
                    kairos::yield_now().await;
                }
                seen
            }),
            REQUEST.scope(20, async {
                let mut seen = Vec::new();
                for _ in 0..3 {
                    seen.push(REQUEST.get());
                    kairos::yield_now().await;
                }
                seen
            }),
        );
        assert_eq!(a, [10, 10, 10]);
        assert_eq!(b, [20, 20, 20]);
        REQUEST.get()
    }));
    assert_eq!(sim.block_on(task).unwrap(), 1);
}

/// Outside a scope: `try_with` is an error, `with` panics with a message that says what to do;
/// a task spawned inside a scope does not inherit it.
#[test]
fn outside_a_scope() {
    assert!(TRACE.try_with(|t| t.clone()).is_err());
    let msg = catch_panic_message(|| TRACE.with(|t| t.len()));
    assert!(msg.contains("LocalKey::scope"), "{msg}");
    let mut sim = Builder::new().build().unwrap();
    let inherited = sim.block_on(TRACE.scope("parent".to_string(), async {
        assert_eq!(TRACE.with(|t| t.clone()), "parent");
        kairos::spawn(async { TRACE.try_with(|t| t.clone()).is_ok() })
            .await
            .unwrap()
    }));
    assert!(!inherited);
}

/// An aborted task's future is dropped inside its scope: destructors see the value.
#[test]
fn destructors_run_inside_the_scope() {
    struct ReadOnDrop(Arc<AtomicU64>);
    impl Drop for ReadOnDrop {
        fn drop(&mut self) {
            self.0
                .store(REQUEST.try_with(|v| *v).unwrap_or(0), Ordering::SeqCst);
        }
    }
    let seen = Arc::new(AtomicU64::new(0));
    let mut sim = Builder::new().build().unwrap();
    let s = seen.clone();
    let task = sim.spawn(REQUEST.scope(77, async move {
        let _guard = ReadOnDrop(s);
        std::future::pending::<()>().await;
    }));
    sim.run_for(Duration::from_millis(1));
    task.abort();
    assert!(sim.block_on(task).unwrap_err().is_cancelled());
    assert_eq!(seen.load(Ordering::SeqCst), 77);
}

/// On threads: tasks that move between 2 workers keep their values.
#[test]
fn values_follow_their_task_on_threads() {
    let _dog = Watchdog::default_for("values_follow_their_task_on_threads");
    let rt = runtime(2);
    let ok = rt.block_on(async {
        let handles: Vec<_> = (0..200u64)
            .map(|id| {
                kairos::spawn(TRACE.scope(format!("req-{id}"), async move {
                    for _ in 0..20 {
                        kairos::yield_now().await;
                        assert_eq!(TRACE.with(|t| t.clone()), format!("req-{id}"));
                    }
                    true
                }))
            })
            .collect();
        let mut ok = 0;
        for h in handles {
            ok += usize::from(h.await.unwrap());
        }
        ok
    });
    assert_eq!(ok, 200);
}
