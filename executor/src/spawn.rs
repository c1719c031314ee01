//! Spawning into kairos' structured task types, [`JoinSet`] and `Group`: the part of them that
//! reaches the scheduler (the current runtime's handle), kept here so that `task/` stays below
//! the workers (`scripts/layers.txt`). The types, their protocols and everything else they do
//! are in `task/join_set.rs` and `task/group.rs`.

use crate::context;
use crate::sched::Sched;
use crate::task::{AbortHandle, JoinHandle, JoinSet};
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
