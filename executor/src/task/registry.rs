//! The registry of live tasks, so that shutdown can find and cancel every one of them.
//!
//! A task that is parked on a waker stored somewhere else (in a channel, in another task's
//! future, in a cycle of them) is reachable by nobody but that waker. Without a registry,
//! shutdown could not drop its future, and a cycle would leak. So every spawned task is linked
//! into the registry, which holds one reference to it, until it completes.
//!
//! # Protocol
//!
//! - The registry is split into shards (a power of two, picked by task id) so spawns and
//!   completions on different workers rarely contend on one lock. Each shard is a doubly linked
//!   list threaded through the tasks' `Header::links`, guarded by the shard's lock: a
//!   `SpinLock` (`spin_lock.rs`), since every section is a few pointer writes and every spawn
//!   and completion takes one.
//! - `bind` links a new task unless the shard is closed; a task that cannot be bound is cancelled
//!   by the spawner right away (it never runs), so no task is silently lost.
//! - `remove` is called by the task when it completes and is idempotent (`Links::linked`):
//!   shutdown may have unlinked it first. Whoever unlinks the task releases the registry's
//!   reference.
//! - `close` marks every shard closed (no bind succeeds afterwards), then `pop` drains the lists.

use super::raw::{Header, Links, RawTask};
use super::RegisteredTask;
use crate::spin_lock::SpinLock;
use std::ptr::NonNull;

/// All live tasks of one runtime.
pub(crate) struct Registry {
    /// `shards.len()` is a power of two; a task lives in shard `id & mask`.
    shards: Box<[SpinLock<Shard>]>,
    /// `shards.len() - 1`.
    mask: u64,
}

/// One list of tasks.
struct Shard {
    /// First task of the list.
    head: Option<NonNull<Header>>,
    /// Number of linked tasks.
    len: usize,
    /// No more binds.
    closed: bool,
}

// SAFETY: the raw pointers are only dereferenced while the shard's mutex is held, and tasks are
// `Send`.
unsafe impl Send for Shard {}

impl Registry {
    /// A registry with at least `min_shards` shards.
    pub(crate) fn new(min_shards: usize) -> Registry {
        let n = min_shards.max(1).next_power_of_two();
        let shards = (0..n)
            .map(|_| {
                SpinLock::new(Shard {
                    head: None,
                    len: 0,
                    closed: false,
                })
            })
            .collect::<Vec<_>>()
            .into_boxed_slice();
        Registry {
            shards,
            mask: n as u64 - 1,
        }
    }

    fn shard(&self, header: &Header) -> &SpinLock<Shard> {
        &self.shards[(header.id.0 & self.mask) as usize]
    }

    /// Links a new task, taking over its registry reference. If the registry is closed, gives the
    /// reference back so the caller can cancel the task.
    pub(crate) fn bind(&self, task: RegisteredTask) -> Result<(), RegisteredTask> {
        let ptr = task.raw.header_ptr();
        self.shard(task.raw.header()).with(|shard| {
            if shard.closed {
                return Err(task);
            }
            let old_head = shard.head;
            // SAFETY: the shard lock is held; the new task is not linked anywhere yet.
            task.raw.header().links.with_mut(|links| unsafe {
                *links = Links {
                    prev: None,
                    next: old_head,
                    linked: true,
                }
            });
            if let Some(old) = old_head {
                // SAFETY: `old` is linked in this shard (lock held), so it is live.
                unsafe { old.as_ref() }
                    .links
                    .with_mut(|links| unsafe { (*links).prev = Some(ptr) });
            }
            shard.head = Some(ptr);
            shard.len += 1;
            // The list now owns the reference.
            std::mem::forget(task);
            Ok(())
        })
    }

    /// Unlinks a task if it is still linked. Returns `true` if it was, in which case the caller
    /// now owns (and must release) the registry's reference.
    pub(crate) fn remove(&self, header: &Header) -> bool {
        self.shard(header).with(|shard| {
            // SAFETY: shard lock held.
            let links = header
                .links
                .with_mut(|links| unsafe { std::mem::take(&mut *links) });
            if !links.linked {
                crate::loom::reached("registry.remove_after_shutdown_pop");
                return false;
            }
            unlink(shard, links);
            true
        })
    }

    /// Closes every shard: later binds fail. Idempotent.
    pub(crate) fn close(&self) {
        for shard in self.shards.iter() {
            shard.with(|shard| shard.closed = true);
        }
    }

    /// Unlinks and returns some linked task, with the registry's reference.
    pub(crate) fn pop(&self) -> Option<RegisteredTask> {
        self.shards.iter().find_map(|shard| {
            shard.with(|shard| {
                let head = shard.head?;
                // SAFETY: `head` is linked (lock held), so it is live.
                let header = unsafe { head.as_ref() };
                // SAFETY: shard lock held.
                let links = header
                    .links
                    .with_mut(|links| unsafe { std::mem::take(&mut *links) });
                unlink(shard, links);
                // SAFETY: `head` was linked, so it is live; the list's reference moves to the
                // returned owner.
                let raw = unsafe { RawTask::from_header(head) };
                Some(RegisteredTask { raw })
            })
        })
    }

    /// Calls `f` with every linked task's header, each shard locked while its tasks are visited
    /// (a linked task is live: the list holds a reference to it). A diagnostic (`Handle::dump`):
    /// a spawn or completion in the shard being visited waits, spinning and then sleeping.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&Header)) {
        for shard in self.shards.iter() {
            shard.with(|shard| {
                let mut next = shard.head;
                while let Some(ptr) = next {
                    // SAFETY: `ptr` is linked in this shard (lock held), so it is live.
                    let header = unsafe { ptr.as_ref() };
                    f(header);
                    // SAFETY: shard lock held.
                    next = header.links.with(|links| unsafe { (*links).next });
                }
            });
        }
    }

    /// Number of linked (live, not yet completed) tasks.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.with(|s| s.len)).sum()
    }
}

/// Removes the task whose old links are `links` from `shard`'s list. Shard lock held.
fn unlink(shard: &mut Shard, links: Links) {
    match links.prev {
        // SAFETY: neighbours are linked in this shard (lock held), so they are live.
        Some(prev) => unsafe { prev.as_ref() }
            .links
            .with_mut(|l| unsafe { (*l).next = links.next }),
        None => shard.head = links.next,
    }
    if let Some(next) = links.next {
        // SAFETY: as above.
        unsafe { next.as_ref() }
            .links
            .with_mut(|l| unsafe { (*l).prev = links.prev });
    }
    shard.len -= 1;
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::task::{new_task, Notified, PolicyState, Schedule, TaskAllocator, TaskId};
    use std::sync::Arc;

    /// A scheduler that drops what it is given and unlinks through a shared registry.
    #[derive(Clone)]
    struct Sched(Arc<Registry>);
    impl Schedule for Sched {
        fn schedule(&self, _task: Notified) {}
        fn release(&self, task: &Header) -> bool {
            self.0.remove(task)
        }
        fn on_panic(&self) {}
    }

    #[test]
    fn bind_remove_pop_close() {
        let registry = Arc::new(Registry::new(2));
        let sched = Sched(registry.clone());
        let mut joins = Vec::new();
        for id in 1..=5 {
            let (registered, notified, join) = new_task(
                async {},
                sched.clone(),
                TaskId(id),
                TaskAllocator::Pool,
                PolicyState::default(),
            );
            assert!(registry.bind(registered).is_ok());
            drop(notified);
            joins.push(join);
        }
        assert_eq!(registry.len(), 5);
        registry.close();
        let mut popped = 0;
        while let Some(task) = registry.pop() {
            task.shutdown();
            popped += 1;
        }
        assert_eq!(popped, 5);
        assert_eq!(registry.len(), 0);
        // Closed: a new task is refused and handed back.
        let (registered, notified, join) = new_task(
            async {},
            sched.clone(),
            TaskId(6),
            TaskAllocator::Pool,
            PolicyState::default(),
        );
        let refused = registry.bind(registered).unwrap_err();
        drop(notified);
        refused.shutdown();
        assert!(join.is_finished());
        assert!(joins.iter().all(|j| j.is_finished()));
    }
}
