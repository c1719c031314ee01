//! `spawn_periodic`, `try_spawn_with` (budgeted tasks admitted like periodic ones) and
//! admission control.

use super::{Handle, Runtime};
use crate::loom::{lock, Arc};
use crate::periodic::{self, Control, Job, Periodic, PeriodicHandle};
use crate::policy::admission::{self, AdmissionError, TaskParams, Test};
use crate::policy::Policy;
use crate::sched::Sched;
use crate::task::JoinHandle;
use crate::time::Instant;
use std::future::Future;
use std::time::Duration;

impl Runtime {
    /// Spawns a periodic real-time task: `job` is called for each release and its future run to
    /// completion before the next job starts (see [`Periodic`] for the timing model and
    /// [`PeriodicHandle`] for statistics and stopping). The first release is at spawn time plus
    /// the offset. Under `Edf` each job is ordered by its own absolute deadline.
    ///
    /// # Errors
    /// With [`Builder::admission_control`](crate::Builder::admission_control) on, an
    /// [`AdmissionError`] when the task has no [`wcet`](Periodic::wcet), invalid parameters, or
    /// when the set of admitted periodic tasks plus this one fails the policy's schedulability
    /// test (the error names the test and the numbers). Without admission control only the
    /// period is checked (it must be positive).
    ///
    /// ```
    /// use kairos::{Job, Periodic, Policy, Runtime};
    /// use std::time::Duration;
    /// let rt = Runtime::builder().workers(1).policy(Policy::Edf).build().unwrap();
    /// let h = rt
    ///     .spawn_periodic(
    ///         Periodic::new(Duration::from_millis(2)).deadline(Duration::from_millis(1)),
    ///         |job: Job| async move { kairos::work(Duration::from_micros(50)).await; let _ = job; },
    ///     )
    ///     .unwrap();
    /// while h.stats().completed < 5 {
    ///     std::thread::sleep(Duration::from_millis(1));
    /// }
    /// h.stop();
    /// rt.block_on(h.join());
    /// ```
    #[track_caller]
    pub fn spawn_periodic<F, Fut>(
        &self,
        periodic: Periodic,
        job: F,
    ) -> Result<PeriodicHandle, AdmissionError>
    where
        F: FnMut(Job) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.handle.spawn_periodic(periodic, job)
    }
}

impl Runtime {
    /// Spawns a task as [`spawn_with`](Runtime::spawn_with) does, but first, with
    /// [`Builder::admission_control`](crate::Builder::admission_control) under
    /// [`Policy::Classes`], admits its budget: a task with [`Sched::budget`]`(C, T)` counts as a
    /// periodic task of `C` per `T` (deadline `T`) in the deadline class's share
    /// ([`Builder::deadline_share`](crate::Builder::deadline_share)) and EDF's test, beside the
    /// admitted periodic tasks, for as long as it lives (its share is freed when its future is
    /// dropped: completed, aborted, or cancelled). Under `Classes` with admission control, a task
    /// with a deadline and no budget is refused: nothing bounds the CPU it takes from the others
    /// (spawn it with `spawn_with`, unadmitted, or give it a budget). Without admission control,
    /// or for a task outside the deadline class, it is `spawn_with`.
    ///
    /// # Errors
    /// An [`AdmissionError`]: `DeadlineShare` or the EDF test's error when the budget does not
    /// fit (naming the numbers), `InvalidTask` for a deadline without a budget.
    ///
    /// ```
    /// use kairos::{Policy, Runtime, Sched};
    /// use std::time::Duration;
    /// let rt = Runtime::builder()
    ///     .workers(1)
    ///     .policy(Policy::Classes)
    ///     .admission_control(true)
    ///     .deadline_share(50)
    ///     .build()
    ///     .unwrap();
    /// let ms = Duration::from_millis;
    /// let (tx, rx) = kairos::sync::oneshot::channel();
    /// let a = rt
    ///     .try_spawn_with(Sched::default().budget(ms(3), ms(10)), async move { rx.await.unwrap() })
    ///     .unwrap();
    /// // 0.3 + 0.3 > 50% of one worker: refused while `a` lives (it waits for `tx`).
    /// let err = rt
    ///     .try_spawn_with(Sched::default().budget(ms(3), ms(10)), async { 2 })
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("0.600"), "{err}");
    /// tx.send(1).unwrap();
    /// assert_eq!(rt.block_on(a).unwrap(), 1);
    /// ```
    #[track_caller]
    pub fn try_spawn_with<F>(
        &self,
        sched: Sched,
        future: F,
    ) -> Result<JoinHandle<F::Output>, AdmissionError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.try_spawn_with(sched, future)
    }
}

/// Holds a budgeted task's place in the admitted set; dropped with the task's future.
struct Admitted {
    /// The runtime whose set it is in.
    handle: Handle,
    /// Its admission id.
    id: u64,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.handle.forget_admitted(self.id);
    }
}

impl Handle {
    /// Spawns a task, admitting its budget first; see [`Runtime::try_spawn_with`].
    ///
    /// # Errors
    /// As [`Runtime::try_spawn_with`].
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// let h = rt.handle().try_spawn_with(kairos::Sched::default(), async { 3 }).unwrap();
    /// assert_eq!(rt.block_on(h).unwrap(), 3);
    /// ```
    #[track_caller]
    pub fn try_spawn_with<F>(
        &self,
        sched: Sched,
        future: F,
    ) -> Result<JoinHandle<F::Output>, AdmissionError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let config = self.shared().config();
        if !config.admission_control || config.policy != Policy::Classes {
            return Ok(self.spawn_with(sched, future));
        }
        let Some((wcet, period)) = sched.budget_ns() else {
            if sched.absolute_deadline(Instant::from_nanos(0)).is_some() {
                return Err(AdmissionError::invalid_task(
                    "budget",
                    0,
                    "is required by admission control for a task with a deadline under \
                     Classes: give it Sched::budget(runtime, period), or spawn it unadmitted \
                     with spawn_with"
                        .into(),
                ));
            }
            return Ok(self.spawn_with(sched, future));
        };
        let params = TaskParams {
            wcet,
            period,
            deadline: period,
        };
        let admitted = Admitted {
            handle: self.clone(),
            id: self.admit(params, sched.get_priority())?,
        };
        Ok(self.spawn_with(sched, async move {
            let _admitted = admitted;
            future.await
        }))
    }

    /// Spawns a periodic task; see [`Runtime::spawn_periodic`].
    ///
    /// # Errors
    /// As [`Runtime::spawn_periodic`].
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// let h = rt.handle().spawn_periodic(kairos::Periodic::new(Duration::from_secs(1)), |_| async {}).unwrap();
    /// h.stop();
    /// ```
    #[track_caller]
    pub fn spawn_periodic<F, Fut>(
        &self,
        periodic: Periodic,
        job: F,
    ) -> Result<PeriodicHandle, AdmissionError>
    where
        F: FnMut(Job) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let ns = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let params = TaskParams {
            wcet: periodic.get_wcet().map_or(0, ns),
            period: ns(periodic.get_period()),
            deadline: ns(periodic.get_deadline()),
        };
        if params.period == 0 {
            return Err(AdmissionError::invalid_task(
                "period",
                0,
                "must be positive: Periodic::new takes the time between two releases".into(),
            ));
        }
        let admission_id = if self.shared().config().admission_control {
            Some(self.admit(params, periodic.get_priority())?)
        } else {
            None
        };
        let control = Arc::new(Control::new());
        let start = Instant::now();
        let driver = periodic::run_driver(periodic, start, control.clone(), self.clone(), job);
        // The first poll already carries the first job's deadline, so under `Edf` the task is
        // queued (and preempts) as that job from its spawn on.
        let first_deadline = start
            .saturating_add(periodic.get_offset())
            .saturating_add(periodic.get_deadline());
        let join = self.spawn_with(periodic.sched().deadline_at(first_deadline), driver);
        let mut handle = PeriodicHandle::new(control, join);
        if let Some(id) = admission_id {
            let me = self.clone();
            handle.on_stop = Some(Box::new(move || me.forget_admitted(id)));
        }
        Ok(handle)
    }

    /// Runs the policy's schedulability test on the admitted set plus `params`; on success
    /// records the task and returns its admission id.
    fn admit(&self, params: TaskParams, priority: u8) -> Result<u64, AdmissionError> {
        if params.wcet == 0 {
            return Err(AdmissionError::invalid_task(
                "wcet",
                0,
                "is required by admission control: set Periodic::wcet to the worst-case \
                 execution time of one job"
                    .into(),
            ));
        }
        // Under preemptive classes, the deadline class's own workers.
        let workers = self.shared().class_workers();
        let test = match (self.shared().config().policy, workers) {
            // Periodic tasks have deadlines: under `Classes` they are in the deadline class.
            (Policy::Edf | Policy::Classes, 1) => Test::EdfUniprocessor,
            (Policy::Edf | Policy::Classes, _) => Test::EdfGlobalGfb,
            (_, 1) => Test::FixedPriorityUniprocessor,
            _ => Test::FixedPriorityGlobal,
        };
        let mut admitted = lock(self.shared().admitted());
        let mut tasks: Vec<TaskParams> = admitted.tasks.iter().map(|t| t.1).collect();
        tasks.push(params);
        let config = self.shared().config();
        if config.policy == Policy::Classes {
            // The deadline class's share first (its error names the share), then EDF's test.
            admission::check_share(workers, &tasks, config.deadline_share)?;
        }
        let priorities: Option<Vec<u8>> =
            (self.shared().config().policy == Policy::Priority).then(|| {
                let mut p: Vec<u8> = admitted.tasks.iter().map(|t| t.2).collect();
                p.push(priority);
                p
            });
        admission::check(test, workers, &tasks, priorities.as_deref())?;
        let id = admitted.next_id;
        admitted.next_id += 1;
        admitted.tasks.push((id, params, priority));
        Ok(id)
    }

    /// A stopped task leaves the admitted set.
    fn forget_admitted(&self, id: u64) {
        lock(self.shared().admitted()).tasks.retain(|t| t.0 != id);
    }
}
