//! `micro`'s `worker_pool` row: [`POOL_MESSAGES`] messages through one bounded channel of
//! capacity [`POOL_CAPACITY`] to [`POOL_WORKERS`] worker tasks, each message received by exactly
//! one worker (a buffered channel shared by goroutines, in Go terms).
//!
//! Unlike the other rows this one cannot be written once over [`Exec`]: the channel is the
//! runtime's own, so [`PoolExec`] gives each runtime its version.
//!
//! | runtime | channel | how the workers share the receiving end |
//! |---|---|---|
//! | kairos | `kairos::sync::mpmc::channel(100)` | a cloned `Receiver` each (`recv(&self)`) |
//! | tokio | `tokio::sync::mpsc::channel(100)` (single consumer) | one `Receiver` behind a `tokio::sync::Mutex`, locked for each `recv` |
//! | tokio, row `worker_pool_ac` | `async_channel::bounded(100)` (mpmc) | a cloned `Receiver` each |
//! | Go (`peers/go`) | `make(chan int, 100)` | `for v := range jobs` in each goroutine |
//!
//! The root task (the producer) starts the clock, creates the channel, spawns the workers, sends
//! `0..POOL_MESSAGES`, closes the channel and awaits the workers' sums; the total must be the sum
//! of all messages (nothing lost or duplicated), else the run fails. Reported per message.

use crate::error::TaskFailed;
use crate::exec::{Exec, Kairos, Tokio};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Messages per run.
pub const POOL_MESSAGES: u64 = 1_000_000;
/// Capacity of the channel.
pub const POOL_CAPACITY: usize = 100;
/// Worker tasks receiving.
pub const POOL_WORKERS: usize = 3;

/// The sum every run must arrive at: `0 + 1 + ... + (POOL_MESSAGES - 1)`.
const EXPECTED_SUM: u64 = POOL_MESSAGES * (POOL_MESSAGES - 1) / 2;

/// A runtime with its own multi-consumer channel for the `worker_pool` row.
pub trait PoolExec: Exec {
    /// One run of the row, from inside a task of this runtime: its measured time.
    fn worker_pool() -> impl Future<Output = Result<Duration, TaskFailed>> + Send;
    /// The `worker_pool_ac` row: the same run with a true multi-consumer channel on tokio's
    /// side (`async-channel`); kairos's side is [`PoolExec::worker_pool`] again.
    fn worker_pool_ac() -> impl Future<Output = Result<Duration, TaskFailed>> + Send;
}

fn lost(what: &str) -> TaskFailed {
    TaskFailed(format!("worker_pool: {what}"))
}

fn check(total: u64) -> Result<(), TaskFailed> {
    if total == EXPECTED_SUM {
        Ok(())
    } else {
        Err(lost(&format!(
            "the workers received messages summing to {total}, expected {EXPECTED_SUM}"
        )))
    }
}

/// One run of the row around a runtime's own channel: spawns [`POOL_WORKERS`] tasks made by
/// `worker` (each returns the sum of the messages it received), drops `worker` (and with it the
/// receiving end it holds, so that the channel closes for the producer if every worker stops),
/// awaits `produce` (sends `0..POOL_MESSAGES`; dropping its sender when it completes closes the
/// channel for the workers), then awaits and checks the workers' sums. The clock starts after
/// the channel was created, as it did when each runtime wrote this itself.
async fn run_pool<E, W, F, P>(worker: F, produce: P) -> Result<Duration, TaskFailed>
where
    E: Exec,
    W: Future<Output = u64> + Send + 'static,
    F: Fn() -> W,
    P: Future<Output = Result<(), ()>>,
{
    let start = Instant::now();
    let workers: Vec<_> = (0..POOL_WORKERS).map(|_| E::spawn(worker())).collect();
    drop(worker);
    produce
        .await
        .map_err(|()| lost("every worker stopped early"))?;
    let mut total = 0;
    for w in workers {
        total += w.await?;
    }
    let elapsed = start.elapsed();
    check(total)?;
    Ok(elapsed)
}

/// The producer of a run: an async block that sends `0..POOL_MESSAGES` on `$tx` (moved in, so
/// that the channel closes for the workers when it completes); `Err(())` if every receiver is
/// gone.
macro_rules! produce {
    ($tx:ident) => {
        async move {
            for i in 0..POOL_MESSAGES {
                $tx.send(i).await.map_err(drop)?;
            }
            Ok(())
        }
    };
}

/// A worker factory over a cloneable receiver `$rx`: each worker sums the messages its
/// `recv().await` yields while they match `$msg` (binding `$v`), then returns the sum.
macro_rules! summing_worker {
    ($rx:ident, $msg:pat => $v:ident) => {
        move || {
            let $rx = $rx.clone();
            async move {
                let mut sum = 0u64;
                while let $msg = $rx.recv().await {
                    sum += $v;
                }
                sum
            }
        }
    };
}

impl PoolExec for Kairos {
    async fn worker_pool_ac() -> Result<Duration, TaskFailed> {
        Self::worker_pool().await
    }

    async fn worker_pool() -> Result<Duration, TaskFailed> {
        let (tx, rx) = kairos::sync::mpmc::channel::<u64>(POOL_CAPACITY);
        run_pool::<Kairos, _, _, _>(summing_worker!(rx, Some(v) => v), produce!(tx)).await
    }
}

impl PoolExec for Tokio {
    async fn worker_pool_ac() -> Result<Duration, TaskFailed> {
        let (tx, rx) = async_channel::bounded::<u64>(POOL_CAPACITY);
        run_pool::<Tokio, _, _, _>(summing_worker!(rx, Ok(v) => v), produce!(tx)).await
    }

    async fn worker_pool() -> Result<Duration, TaskFailed> {
        let (tx, rx) = tokio::sync::mpsc::channel::<u64>(POOL_CAPACITY);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let worker = move || {
            let rx = Arc::clone(&rx);
            async move {
                let mut sum = 0u64;
                loop {
                    // The guard is a temporary of this statement: it is dropped before the
                    // message is handled, so another worker may take the next one meanwhile.
                    let next = rx.lock().await.recv().await;
                    let Some(v) = next else { break };
                    sum += v;
                }
                sum
            }
        };
        run_pool::<Tokio, _, _, _>(worker, produce!(tx)).await
    }
}
