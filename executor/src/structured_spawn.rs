//! Spawning into kairos' structured task types, [`JoinSet`] and `Group`: the part of them that
//! reaches the scheduler (the current runtime's handle), kept here so that `task/` stays below
//! the workers (`scripts/layers.txt`). The types, their protocols and everything else they do
//! are in `task/join_set.rs` and `task/group.rs`.

use crate::context;
use crate::loom::Arc;
use crate::sched::Sched;
use crate::task::group::Shared as GroupShared;
use crate::task::{AbortHandle, Group, GroupHandle, JoinHandle, JoinSet};
use crate::time::instant::Instant;
use std::future::Future;

/// Spawns `future` with `sched` on the current runtime. `what` names the caller in the panic
/// message outside a runtime.
fn spawn_current<F>(sched: Sched, future: F, what: &str) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    context::with_handle(|handle| match handle {
        Some(handle) => handle.spawn_task_with(sched, future),
        None => panic!(
            "{what} called outside a kairos runtime: call it from a task or inside \
             Runtime::block_on"
        ),
    })
}

impl<T: Send + 'static> JoinSet<T> {
    /// Spawns `future` on the current runtime into the set.
    ///
    /// # Panics
    /// Outside a kairos runtime, as [`kairos::spawn`](crate::spawn).
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// let out = rt.block_on(async {
    ///     let mut set = kairos::task::JoinSet::new();
    ///     let abort = set.spawn(async { 7 });
    ///     let _ = abort.id();
    ///     set.join_next().await.unwrap().unwrap()
    /// });
    /// assert_eq!(out, 7);
    /// ```
    pub fn spawn<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.spawn_with(Sched::default(), future)
    }

    /// Spawns `future` with scheduling parameters (see [`Sched`]) into the set.
    ///
    /// # Panics
    /// Outside a kairos runtime, as [`kairos::spawn_with`](crate::spawn_with).
    ///
    /// ```
    /// use kairos::{Policy, Runtime, Sched};
    /// use std::time::Duration;
    /// let rt = Runtime::builder().workers(1).policy(Policy::Edf).build().unwrap();
    /// let out = rt.block_on(async {
    ///     let mut set = kairos::task::JoinSet::new();
    ///     set.spawn_with(Sched::default().deadline(Duration::from_millis(1)), async { 1 });
    ///     set.join_next().await.unwrap().unwrap()
    /// });
    /// assert_eq!(out, 1);
    /// ```
    pub fn spawn_with<F>(&mut self, sched: Sched, future: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
    {
        let (key, wrapped) = self.prepare(future);
        let handle = spawn_current(sched, wrapped, "JoinSet::spawn");
        self.insert(key, handle)
    }
}

/// Spawns `future` into the group `group` with the member's own parameters `sched`, its
/// deadline the earlier of its own and the group's (`task/group.rs`).
fn spawn_member<F>(
    group: &Arc<GroupShared>,
    sched: Sched,
    future: F,
    what: &str,
) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let now = if sched.needs_clock() {
        Instant::now()
    } else {
        Instant::from_nanos(0)
    };
    let own = sched.absolute_deadline(now);
    let (member, key, deadline) = GroupShared::prepare(group, own, future);
    let sched = match deadline {
        Some(at) => sched.deadline_at(Instant::from_nanos(at)),
        None => sched,
    };
    let handle = spawn_current(sched, member, what);
    group.insert(key, &handle);
    handle
}

impl Group {
    /// Spawns `future` on the current runtime as a member of the group, with the group's
    /// deadline (if it has one). If the group is cancelled, the task is cancelled before its
    /// first poll.
    ///
    /// # Panics
    /// Outside a kairos runtime, as [`kairos::spawn`](crate::spawn).
    ///
    /// ```
    /// use kairos::{Policy, Runtime};
    /// use std::time::Duration;
    /// let rt = Runtime::builder().workers(1).policy(Policy::Edf).build().unwrap();
    /// let (group_deadline, member_deadline) = rt.block_on(async {
    ///     let at = kairos::time::Instant::now() + Duration::from_millis(5);
    ///     let mut group = kairos::task::Group::with_deadline(at);
    ///     let member = group.spawn(async { kairos::task::deadline() });
    ///     let d = member.await.unwrap();
    ///     group.join().await.unwrap();
    ///     (group.deadline(), d)
    /// });
    /// assert_eq!(group_deadline, member_deadline);
    /// ```
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_with(Sched::default(), future)
    }

    /// Spawns `future` as a member with its own parameters `sched`; its deadline is the earlier
    /// of its own (a relative one anchored now) and the group's.
    ///
    /// # Panics
    /// Outside a kairos runtime, as [`kairos::spawn_with`](crate::spawn_with).
    ///
    /// ```
    /// use kairos::{Policy, Runtime, Sched};
    /// use kairos::time::Instant;
    /// use std::time::Duration;
    /// let rt = Runtime::builder().workers(1).policy(Policy::Edf).build().unwrap();
    /// rt.block_on(async {
    ///     let at = Instant::now() + Duration::from_secs(1);
    ///     let group = kairos::task::Group::with_deadline(at);
    ///     // A tighter deadline of its own is kept; a looser one is cut to the group's.
    ///     let tight = group.spawn_with(Sched::default().deadline(Duration::from_millis(1)), async {
    ///         kairos::task::deadline().unwrap()
    ///     });
    ///     let loose = group.spawn_with(Sched::default().deadline(Duration::from_secs(9)), async {
    ///         kairos::task::deadline().unwrap()
    ///     });
    ///     assert!(tight.await.unwrap() < at);
    ///     assert_eq!(loose.await.unwrap(), at);
    /// });
    /// ```
    pub fn spawn_with<F>(&self, sched: Sched, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_member(self.shared(), sched, future, "Group::spawn")
    }
}

impl GroupHandle {
    /// Spawns `future` into the group, as [`Group::spawn`]. After the group was cancelled or
    /// dropped, the task is cancelled before its first poll.
    ///
    /// # Panics
    /// Outside a kairos runtime, as [`kairos::spawn`](crate::spawn).
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// rt.block_on(async {
    ///     let group = kairos::task::Group::new();
    ///     let handle = group.handle();
    ///     drop(group);
    ///     let late = handle.spawn(async { 1 });
    ///     assert!(late.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_with(Sched::default(), future)
    }

    /// Spawns `future` into the group with its own parameters, as [`Group::spawn_with`].
    ///
    /// # Panics
    /// Outside a kairos runtime, as [`kairos::spawn_with`](crate::spawn_with).
    ///
    /// ```
    /// use kairos::Sched;
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// rt.block_on(async {
    ///     let mut group = kairos::task::Group::new();
    ///     let h = group.handle().spawn_with(Sched::default().name("part"), async { 3 });
    ///     assert_eq!(h.await.unwrap(), 3);
    ///     group.join().await.unwrap();
    /// });
    /// ```
    pub fn spawn_with<F>(&self, sched: Sched, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_member(self.shared(), sched, future, "GroupHandle::spawn")
    }
}
