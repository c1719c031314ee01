//! [`Barrier`]: `n` tasks wait until all `n` have arrived.
//!
//! One lock (the crate's loom shim) over the arrivals of the current generation and their
//! wakers. The `n`-th arrival starts a new generation, wakes the others and is the leader; a
//! waiter completes when it sees the generation move past the one it arrived in. A `wait()`
//! future dropped before its generation completes withdraws its arrival (unlike tokio's
//! `Barrier`), so a cancelled participant does not let the others through short of one.

use crate::loom::{lock, Mutex};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// A barrier for `n` tasks: each `wait().await` returns once `n` tasks are waiting.
///
/// ```
/// use kairos::sync::Barrier;
/// use std::sync::Arc;
///
/// let rt = kairos::Runtime::builder().workers(2).build().unwrap();
/// let barrier = Arc::new(Barrier::new(3));
/// let leaders = rt.block_on(async {
///     let tasks: Vec<_> = (0..3)
///         .map(|_| {
///             let b = barrier.clone();
///             kairos::spawn(async move { b.wait().await.is_leader() })
///         })
///         .collect();
///     let mut leaders = 0;
///     for t in tasks {
///         leaders += usize::from(t.await.unwrap());
///     }
///     leaders
/// });
/// assert_eq!(leaders, 1);
/// ```
pub struct Barrier {
    /// Tasks per generation.
    n: usize,
    /// Arrivals of the current generation.
    state: Mutex<State>,
}

/// The locked part.
struct State {
    /// Current generation.
    generation: u64,
    /// Waiting arrivals of this generation: sequence number and waker.
    waiting: Vec<(u64, Waker)>,
    /// Next sequence number.
    seq: u64,
}

impl Barrier {
    /// A barrier for `n` tasks (`n = 0` behaves as 1: every wait returns at once, as leader).
    ///
    /// ```
    /// let _b = kairos::sync::Barrier::new(4);
    /// ```
    pub fn new(n: usize) -> Barrier {
        Barrier {
            n: n.max(1),
            state: Mutex::new(State {
                generation: 0,
                waiting: Vec::new(),
                seq: 0,
            }),
        }
    }

    /// Waits until `n` tasks wait; exactly one of each generation is told it is the leader.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// let b = kairos::sync::Barrier::new(1);
    /// assert!(rt.block_on(b.wait()).is_leader());
    /// ```
    pub fn wait(&self) -> Wait<'_> {
        Wait {
            barrier: self,
            arrived: None,
        }
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = lock(&self.state);
        f.debug_struct("Barrier")
            .field("n", &self.n)
            .field("waiting", &s.waiting.len())
            .finish()
    }
}

/// What [`Barrier::wait`] returns.
///
/// ```
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// let b = kairos::sync::Barrier::new(1);
/// let r: kairos::sync::BarrierWaitResult = rt.block_on(b.wait());
/// assert!(r.is_leader());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BarrierWaitResult {
    /// Whether this task's arrival completed the generation.
    leader: bool,
}

impl BarrierWaitResult {
    /// Whether this task was the last to arrive (one per generation).
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// assert!(rt.block_on(kairos::sync::Barrier::new(1).wait()).is_leader());
    /// ```
    pub fn is_leader(&self) -> bool {
        self.leader
    }
}

/// Future of [`Barrier::wait`]. Dropping it before its generation completes withdraws the
/// arrival.
///
/// ```
/// let b = kairos::sync::Barrier::new(2);
/// let w: kairos::sync::BarrierWait<'_> = b.wait();
/// drop(w);
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Wait<'a> {
    /// The barrier.
    barrier: &'a Barrier,
    /// Generation and sequence number once arrived.
    arrived: Option<(u64, u64)>,
}

impl Future for Wait<'_> {
    type Output = BarrierWaitResult;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<BarrierWaitResult> {
        // One operation of the cooperative budget, as awaiting a `JoinHandle`.
        std::task::ready!(crate::coop::poll_proceed(cx));
        let n = self.barrier.n;
        let mut s = lock(&self.barrier.state);
        if let Some((generation, seq)) = self.arrived {
            if s.generation != generation {
                drop(s);
                self.arrived = None;
                return Poll::Ready(BarrierWaitResult { leader: false });
            }
            if let Some((_, w)) = s.waiting.iter_mut().find(|(q, _)| *q == seq) {
                if !w.will_wake(cx.waker()) {
                    *w = cx.waker().clone();
                }
            }
            return Poll::Pending;
        }
        if s.waiting.len() + 1 >= n {
            s.generation += 1;
            let wakers: Vec<Waker> = s.waiting.drain(..).map(|(_, w)| w).collect();
            drop(s);
            wakers.into_iter().for_each(Waker::wake);
            return Poll::Ready(BarrierWaitResult { leader: true });
        }
        let seq = s.seq;
        s.seq += 1;
        s.waiting.push((seq, cx.waker().clone()));
        self.arrived = Some((s.generation, seq));
        Poll::Pending
    }
}

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        if let Some((generation, seq)) = self.arrived {
            let mut s = lock(&self.barrier.state);
            if s.generation == generation {
                s.waiting.retain(|(q, _)| *q != seq);
            }
        }
    }
}

impl fmt::Debug for Wait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierWait")
            .field("arrived", &self.arrived.is_some())
            .finish()
    }
}
