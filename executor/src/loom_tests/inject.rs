//! Models of the injector (`queue/inject.rs`).

use super::check;
use crate::loom::Arc;
use crate::queue::inject::Inject;
use crate::queue::local::Overflow;
use loom::thread;

/// Concurrent single pushes, a batch push (overflow) and batch pops: every item comes out exactly
/// once, in per-producer order, and the lock-free `len` hint ends consistent.
#[test]
fn push_batch_and_pop_concurrently() {
    check(&[], || {
        let inject = Arc::new(Inject::<u32>::new());
        let a = {
            let inject = inject.clone();
            thread::spawn(move || {
                inject.try_push(1).unwrap();
                inject.try_push(2).unwrap();
            })
        };
        let b = {
            let inject = inject.clone();
            thread::spawn(move || inject.push_batch([10, 11].into_iter()))
        };
        let mut seen = Vec::new();
        inject.pop_batch(3, |t| seen.push(t));
        a.join().unwrap();
        b.join().unwrap();
        while let Some(t) = inject.pop() {
            seen.push(t);
        }
        assert!(inject.is_empty());
        let pos = |x: u32| seen.iter().position(|&t| t == x).unwrap();
        assert!(
            pos(1) < pos(2) && pos(10) < pos(11),
            "order broken: {seen:?}"
        );
        seen.sort_unstable();
        assert_eq!(seen, vec![1, 2, 10, 11]);
    });
}

/// After `close`, pushes are refused (single) or dropped (batch), never queued: nothing can be
/// stranded in a closed injector.
#[test]
fn close_refuses_concurrent_push() {
    check(&[], || {
        let inject = Arc::new(Inject::<u32>::new());
        let pusher = {
            let inject = inject.clone();
            thread::spawn(move || inject.try_push(5).is_ok())
        };
        inject.close();
        let mut drained = Vec::new();
        while let Some(t) = inject.pop() {
            drained.push(t);
        }
        let accepted = pusher.join().unwrap();
        // Accepted pushes happened before close and were drained; refused ones were not queued.
        assert_eq!(drained.len(), usize::from(accepted));
        assert!(inject.pop().is_none());
    });
}
