//! Models of the local run queue (`queue/local.rs`), at loom capacity 4.

use super::check;
use crate::queue::inject::Inject;
use crate::queue::local::{self, Local, Steal};
use loom::thread;

fn drain(local: &mut Local<u32>, into: &mut Vec<u32>) {
    while let Some(t) = local.pop() {
        into.push(t);
    }
}

/// A thief's whole work: one steal into its own queue, then everything it got.
fn steal_all(steal: &Steal<u32>) -> Vec<u32> {
    let (mut mine, _) = local::local::<u32>();
    let mut got = Vec::new();
    if let Some(t) = steal.steal_into(&mut mine) {
        got.push(t);
    }
    drain(&mut mine, &mut got);
    got
}

fn drain_inject(inject: &Inject<u32>, into: &mut Vec<u32>) {
    while let Some(t) = inject.pop() {
        into.push(t);
    }
}

/// The owner pops while one worker steals: every task is taken exactly once, and the owner's
/// pops and the stealer's claim release interleave (the owner pops inside a claimed steal, the
/// stealer's release retries after the owner moved `real`).
#[test]
fn pop_vs_one_stealer() {
    check(
        &["local.pop_during_steal", "local.steal_release_retry"],
        || {
            let (mut owner, steal) = local::local::<u32>();
            let inject = Inject::new();
            for i in 1..=3 {
                owner.push_back(i, &inject);
            }
            let thief = thread::spawn(move || steal_all(&steal));
            let mut all = Vec::new();
            drain(&mut owner, &mut all);
            all.extend(thief.join().unwrap());
            all.sort_unstable();
            assert_eq!(all, vec![1, 2, 3]);
        },
    );
}

/// Two stealers race on one victim while the owner pops: only one steal can be in progress
/// (the other sees the claim and backs off), and nothing is lost or duplicated.
#[test]
fn pop_vs_two_stealers() {
    check(&["local.steal_contended"], || {
        let (mut owner, steal) = local::local::<u32>();
        let steal = crate::loom::Arc::new(steal);
        let inject = Inject::new();
        for i in 1..=4 {
            owner.push_back(i, &inject);
        }
        let thieves: Vec<_> = (0..2)
            .map(|_| {
                let steal = steal.clone();
                thread::spawn(move || steal_all(&steal))
            })
            .collect();
        let mut all = Vec::new();
        if let Some(t) = owner.pop() {
            all.push(t);
        }
        for t in thieves {
            all.extend(t.join().unwrap());
        }
        drain(&mut owner, &mut all);
        all.sort_unstable();
        assert_eq!(all, vec![1, 2, 3, 4]);
    });
}

/// The owner pushes into a full queue while a stealer works on it: the push goes to the
/// injector alone (steal in progress), or half the queue plus the task moves there (overflow),
/// or the steal made room first. Every task ends up exactly once in one of the three places.
#[test]
fn overflow_while_stolen() {
    check(&["local.full_during_steal", "local.overflow"], || {
        let (mut owner, steal) = local::local::<u32>();
        let inject = crate::loom::Arc::new(Inject::new());
        for i in 1..=4 {
            owner.push_back(i, &*inject);
        }
        let thief = thread::spawn(move || steal_all(&steal));
        owner.push_back(5, &*inject);
        let mut all = thief.join().unwrap();
        drain(&mut owner, &mut all);
        drain_inject(&inject, &mut all);
        all.sort_unstable();
        assert_eq!(all, vec![1, 2, 3, 4, 5]);
    });
}
