//! `micro`'s rows for the runtimes' own channels and locks (issue 13): kairos' `sync` against
//! tokio's `sync`, the same code for both (the macro `sync_rows!` writes it once over the
//! runtime's crate path, which `kairos::sync` and `tokio::sync` share for these items).
//!
//! | row | one run | reported per |
//! |---|---|---|
//! | `ping_pong_mpsc` | the root task and a spawned task pass a value back and forth [`ROUND_TRIPS`] times over two `mpsc::channel(1)` | round trip (2 hops) |
//! | `ping_pong_oneshot` | the same over a fresh `oneshot` channel per hop (each message carries the sender of the next) | round trip (2 hops) |
//! | `mutex_contention` | [`MUTEX_TASKS`] tasks each increment one counter behind the runtime's async `Mutex` [`MUTEX_INCREMENTS`] times | increment |
//!
//! Each run checks its result (every value came back in order; the counter is exactly
//! `MUTEX_TASKS * MUTEX_INCREMENTS`) and fails otherwise. The existing `ping_pong` row
//! (`crate::chan`, one runtime-agnostic channel on both runtimes) measures the runtimes' wake
//! paths alone; these measure the runtimes' own primitives on top of them.

use crate::error::TaskFailed;
use crate::exec::{Exec, Kairos, Tokio};
use crate::micro::ROUND_TRIPS;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Tasks in `mutex_contention`.
pub const MUTEX_TASKS: usize = 64;
/// Increments per task in `mutex_contention`.
pub const MUTEX_INCREMENTS: u64 = 2_000;

/// A runtime whose own channels and mutex the rows use.
pub trait SyncExec: Exec {
    /// `ping_pong_mpsc`, from inside a task: its measured time.
    fn ping_pong_mpsc() -> impl Future<Output = Result<Duration, TaskFailed>> + Send;
    /// `ping_pong_oneshot`, likewise.
    fn ping_pong_oneshot() -> impl Future<Output = Result<Duration, TaskFailed>> + Send;
    /// `mutex_contention`, likewise.
    fn mutex_contention() -> impl Future<Output = Result<Duration, TaskFailed>> + Send;
}

fn failed(row: &str, what: &str) -> TaskFailed {
    TaskFailed(format!("{row}: {what}"))
}

/// Implements [`SyncExec`] for the runtime type `$exec` with the `sync` module of crate `$rt`.
macro_rules! sync_rows {
    ($exec:ident, $rt:ident) => {
        impl SyncExec for $exec {
            async fn ping_pong_mpsc() -> Result<Duration, TaskFailed> {
                let lost = || failed("ping_pong_mpsc", "the ponger task stopped early");
                let (ping_tx, mut ping_rx) = $rt::sync::mpsc::channel::<usize>(1);
                let (pong_tx, mut pong_rx) = $rt::sync::mpsc::channel::<usize>(1);
                let start = Instant::now();
                let ponger = $exec::spawn(async move {
                    while let Some(v) = ping_rx.recv().await {
                        if pong_tx.send(v).await.is_err() {
                            break;
                        }
                    }
                });
                for i in 0..ROUND_TRIPS {
                    ping_tx.send(i).await.map_err(|_| lost())?;
                    if pong_rx.recv().await != Some(i) {
                        return Err(lost());
                    }
                }
                drop(ping_tx);
                ponger.await?;
                Ok(start.elapsed())
            }

            async fn ping_pong_oneshot() -> Result<Duration, TaskFailed> {
                /// A value and the sender the answer goes back on.
                struct Hop(usize, $rt::sync::oneshot::Sender<Hop>);
                let lost = || failed("ping_pong_oneshot", "a hop was dropped");
                let (first_tx, first_rx) = $rt::sync::oneshot::channel::<Hop>();
                let start = Instant::now();
                let ponger = $exec::spawn(async move {
                    let mut next = first_rx;
                    while let Ok(Hop(v, back)) = next.await {
                        let (tx, rx) = $rt::sync::oneshot::channel();
                        if back.send(Hop(v, tx)).is_err() {
                            break;
                        }
                        next = rx;
                    }
                });
                let mut to_ponger = first_tx;
                for i in 0..ROUND_TRIPS {
                    let (back_tx, back_rx) = $rt::sync::oneshot::channel();
                    to_ponger.send(Hop(i, back_tx)).map_err(|_| lost())?;
                    match back_rx.await {
                        Ok(Hop(v, tx)) if v == i => to_ponger = tx,
                        _ => return Err(lost()),
                    }
                }
                drop(to_ponger);
                ponger.await?;
                Ok(start.elapsed())
            }

            async fn mutex_contention() -> Result<Duration, TaskFailed> {
                let counter = Arc::new($rt::sync::Mutex::new(0u64));
                let start = Instant::now();
                let tasks: Vec<_> = (0..MUTEX_TASKS)
                    .map(|_| {
                        let counter = Arc::clone(&counter);
                        $exec::spawn(async move {
                            for _ in 0..MUTEX_INCREMENTS {
                                *counter.lock().await += 1;
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await?;
                }
                let elapsed = start.elapsed();
                let total = *counter.lock().await;
                let expected = MUTEX_TASKS as u64 * MUTEX_INCREMENTS;
                if total != expected {
                    return Err(failed(
                        "mutex_contention",
                        &format!("the counter is {total}, expected {expected}"),
                    ));
                }
                Ok(elapsed)
            }
        }
    };
}

sync_rows!(Kairos, kairos);
sync_rows!(Tokio, tokio);
