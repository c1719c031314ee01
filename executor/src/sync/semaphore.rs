//! [`Semaphore`]: a counting semaphore for tasks, fair (first come, first served).
//!
//! # Protocol
//!
//! The count, the closed flag and the waiters sit behind one lock (the crate's loom shim): every
//! operation is a short critical section with no user code, and under contention a waiter list
//! must be consulted anyway. Waiters are served strictly in arrival order, a request for many
//! permits included: while a waiter waits, a newcomer does not take permits even if enough are
//! free for it (no starvation of large requests, as tokio's `Semaphore`). A release (a permit
//! dropped, `add_permits`) grants the head waiters it can satisfy, removes them from the queue,
//! records them as granted and wakes them after the lock is released. A waiter's future that
//! finds itself granted returns its permits; one dropped after being granted gives them back.
//! `close` refuses new acquisitions and wakes every waiter with [`AcquireError`]; permits already
//! held stay valid.
//!
//! No inheritance: a semaphore has no single holder to lend urgency to.

use crate::loom::{lock, Mutex};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

/// A counting semaphore: tasks acquire permits, which go back when the permit guard is dropped.
///
/// ```
/// use kairos::sync::Semaphore;
/// use std::sync::Arc;
///
/// let rt = kairos::Runtime::builder().workers(2).build().unwrap();
/// let sem = Arc::new(Semaphore::new(2));
/// rt.block_on(async {
///     let a = sem.acquire().await.unwrap();
///     let _b = sem.acquire().await.unwrap();
///     assert!(sem.try_acquire().is_err()); // both permits are held
///     drop(a);
///     assert_eq!(sem.available_permits(), 1);
/// });
/// ```
pub struct Semaphore {
    /// Count, closed flag and waiters.
    state: Mutex<State>,
}

/// The locked part.
struct State {
    /// Free permits.
    permits: usize,
    /// Set by `close`.
    closed: bool,
    /// Waiting requests, in arrival order.
    waiters: VecDeque<Waiter>,
    /// Requests granted whose future has not seen it yet (by sequence number).
    granted: Vec<u64>,
    /// Next sequence number.
    seq: u64,
}

/// A waiting request.
struct Waiter {
    /// Its sequence number.
    seq: u64,
    /// Permits it asks for.
    need: usize,
    /// Woken when granted or closed.
    waker: Waker,
}

impl State {
    /// Grants the head waiters that the free permits satisfy; returns their wakers.
    fn grant(&mut self) -> Vec<Waker> {
        let mut wake = Vec::new();
        while let Some(w) = self.waiters.front() {
            if w.need > self.permits {
                break;
            }
            let w = self.waiters.pop_front().expect("front exists");
            self.permits -= w.need;
            self.granted.push(w.seq);
            wake.push(w.waker);
        }
        wake
    }
}

/// The semaphore was closed ([`Semaphore::close`]): no more permits are handed out. Stop using
/// it, or create a new one.
///
/// ```
/// let sem = kairos::sync::Semaphore::new(1);
/// sem.close();
/// assert_eq!(sem.try_acquire().unwrap_err(), kairos::sync::TryAcquireError::Closed);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the semaphore was closed: no more permits are handed out")]
pub struct AcquireError;

/// Why [`Semaphore::try_acquire`] failed.
///
/// ```
/// let sem = kairos::sync::Semaphore::new(0);
/// assert_eq!(sem.try_acquire().unwrap_err(), kairos::sync::TryAcquireError::NoPermits);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TryAcquireError {
    /// Not enough free permits (or earlier waiters come first): await `acquire` instead.
    #[error("not enough free permits now: await Semaphore::acquire to wait for them")]
    NoPermits,
    /// The semaphore was closed.
    #[error("the semaphore was closed: no more permits are handed out")]
    Closed,
}

impl Semaphore {
    /// A semaphore with `permits` free permits.
    ///
    /// ```
    /// assert_eq!(kairos::sync::Semaphore::new(3).available_permits(), 3);
    /// ```
    pub fn new(permits: usize) -> Semaphore {
        Semaphore {
            state: Mutex::new(State {
                permits,
                closed: false,
                waiters: VecDeque::new(),
                granted: Vec::new(),
                seq: 0,
            }),
        }
    }

    /// Free permits now.
    ///
    /// ```
    /// let sem = kairos::sync::Semaphore::new(2);
    /// let _p = sem.try_acquire().unwrap();
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn available_permits(&self) -> usize {
        lock(&self.state).permits
    }

    /// Adds `n` permits (waking waiters they satisfy).
    ///
    /// ```
    /// let sem = kairos::sync::Semaphore::new(0);
    /// sem.add_permits(2);
    /// assert_eq!(sem.available_permits(), 2);
    /// ```
    pub fn add_permits(&self, n: usize) {
        let wake = {
            let mut s = lock(&self.state);
            s.permits = s.permits.saturating_add(n);
            s.grant()
        };
        wake.into_iter().for_each(Waker::wake);
    }

    /// Closes the semaphore: waiting and later acquisitions fail with [`AcquireError`];
    /// permits already held stay valid and still come back when dropped.
    ///
    /// ```
    /// let sem = kairos::sync::Semaphore::new(1);
    /// sem.close();
    /// assert!(sem.is_closed());
    /// ```
    pub fn close(&self) {
        let wake: Vec<Waker> = {
            let mut s = lock(&self.state);
            s.closed = true;
            s.waiters.drain(..).map(|w| w.waker).collect()
        };
        wake.into_iter().for_each(Waker::wake);
    }

    /// Whether [`close`](Self::close) was called.
    ///
    /// ```
    /// assert!(!kairos::sync::Semaphore::new(1).is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        lock(&self.state).closed
    }

    /// Waits for one permit.
    ///
    /// # Errors
    /// [`AcquireError`] if the semaphore is or gets closed.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// let sem = kairos::sync::Semaphore::new(1);
    /// rt.block_on(async { sem.acquire().await.unwrap().forget() });
    /// assert_eq!(sem.available_permits(), 0);
    /// ```
    pub async fn acquire(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.acquire_many(1).await
    }

    /// Waits for `n` permits, taken all at once (in arrival order with other waiters).
    ///
    /// # Errors
    /// [`AcquireError`] if the semaphore is or gets closed.
    ///
    /// ```
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// let sem = kairos::sync::Semaphore::new(5);
    /// let p = rt.block_on(sem.acquire_many(3)).unwrap();
    /// assert_eq!((p.permits(), sem.available_permits()), (3, 2));
    /// ```
    pub async fn acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, AcquireError> {
        let n = n as usize;
        Acquire {
            sem: self,
            need: n,
            seq: None,
        }
        .await?;
        Ok(SemaphorePermit { sem: self, n })
    }

    /// Takes one permit if one is free now and nobody waits.
    ///
    /// # Errors
    /// [`TryAcquireError::NoPermits`] or [`TryAcquireError::Closed`].
    ///
    /// ```
    /// let sem = kairos::sync::Semaphore::new(1);
    /// let p = sem.try_acquire().unwrap();
    /// assert!(sem.try_acquire().is_err());
    /// drop(p);
    /// assert!(sem.try_acquire().is_ok());
    /// ```
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if they are free now and nobody waits.
    ///
    /// # Errors
    /// [`TryAcquireError::NoPermits`] or [`TryAcquireError::Closed`].
    ///
    /// ```
    /// let sem = kairos::sync::Semaphore::new(2);
    /// assert!(sem.try_acquire_many(3).is_err());
    /// assert_eq!(sem.try_acquire_many(2).unwrap().permits(), 2);
    /// ```
    pub fn try_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        let n = n as usize;
        self.try_take(n)?;
        Ok(SemaphorePermit { sem: self, n })
    }

    /// [`acquire`](Self::acquire) with a permit that owns an `Arc` of the semaphore.
    ///
    /// # Errors
    /// [`AcquireError`] if the semaphore is or gets closed.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// let sem = Arc::new(kairos::sync::Semaphore::new(1));
    /// rt.block_on(async {
    ///     let p = sem.clone().acquire_owned().await.unwrap();
    ///     kairos::spawn(async move { drop(p) }).await.unwrap();
    /// });
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub async fn acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, AcquireError> {
        self.acquire_many_owned(1).await
    }

    /// [`acquire_many`](Self::acquire_many) with an owned permit.
    ///
    /// # Errors
    /// [`AcquireError`] if the semaphore is or gets closed.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    /// let sem = Arc::new(kairos::sync::Semaphore::new(4));
    /// let p = rt.block_on(sem.clone().acquire_many_owned(4)).unwrap();
    /// assert_eq!(p.permits(), 4);
    /// ```
    pub async fn acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, AcquireError> {
        let n = n as usize;
        Acquire {
            sem: &self,
            need: n,
            seq: None,
        }
        .await?;
        Ok(OwnedSemaphorePermit { sem: self, n })
    }

    /// [`try_acquire`](Self::try_acquire) with an owned permit.
    ///
    /// # Errors
    /// [`TryAcquireError::NoPermits`] or [`TryAcquireError::Closed`].
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(kairos::sync::Semaphore::new(1));
    /// let p = sem.clone().try_acquire_owned().unwrap();
    /// assert_eq!(sem.available_permits(), 0);
    /// drop(p);
    /// ```
    pub fn try_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_take(1)?;
        Ok(OwnedSemaphorePermit { sem: self, n: 1 })
    }

    /// Takes `n` permits now, or says why not.
    fn try_take(&self, n: usize) -> Result<(), TryAcquireError> {
        let mut s = lock(&self.state);
        if s.closed {
            Err(TryAcquireError::Closed)
        } else if s.waiters.is_empty() && s.permits >= n {
            s.permits -= n;
            Ok(())
        } else {
            Err(TryAcquireError::NoPermits)
        }
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = lock(&self.state);
        f.debug_struct("Semaphore")
            .field("permits", &s.permits)
            .field("closed", &s.closed)
            .field("waiters", &s.waiters.len())
            .finish()
    }
}

/// The future of an acquisition (module docs).
struct Acquire<'a> {
    /// The semaphore.
    sem: &'a Semaphore,
    /// Permits asked for.
    need: usize,
    /// Sequence number while queued or granted.
    seq: Option<u64>,
}

impl Future for Acquire<'_> {
    type Output = Result<(), AcquireError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // One operation of the cooperative budget, as awaiting a `JoinHandle`.
        std::task::ready!(crate::coop::poll_proceed(cx));
        let mut s = lock(&self.sem.state);
        if let Some(seq) = self.seq {
            if let Some(i) = s.granted.iter().position(|&g| g == seq) {
                s.granted.swap_remove(i);
                drop(s);
                self.seq = None;
                return Poll::Ready(Ok(()));
            }
            if s.closed {
                drop(s);
                self.seq = None;
                return Poll::Ready(Err(AcquireError));
            }
            if let Some(w) = s.waiters.iter_mut().find(|w| w.seq == seq) {
                if !w.waker.will_wake(cx.waker()) {
                    w.waker = cx.waker().clone();
                }
            }
            return Poll::Pending;
        }
        if s.closed {
            return Poll::Ready(Err(AcquireError));
        }
        if s.waiters.is_empty() && s.permits >= self.need {
            s.permits -= self.need;
            return Poll::Ready(Ok(()));
        }
        crate::loom::reached("semaphore.waits");
        let seq = s.seq;
        s.seq += 1;
        let need = self.need;
        s.waiters.push_back(Waiter {
            seq,
            need,
            waker: cx.waker().clone(),
        });
        drop(s);
        self.seq = Some(seq);
        Poll::Pending
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        let Some(seq) = self.seq else { return };
        let wake = {
            let mut s = lock(&self.sem.state);
            if let Some(i) = s.granted.iter().position(|&g| g == seq) {
                // Granted but never taken: give the permits back.
                crate::loom::reached("semaphore.cancel_after_grant");
                s.granted.swap_remove(i);
                s.permits += self.need;
            } else if let Some(i) = s.waiters.iter().position(|w| w.seq == seq) {
                s.waiters.remove(i);
            }
            // Leaving may unblock the waiters behind (head-of-line).
            s.grant()
        };
        wake.into_iter().for_each(Waker::wake);
    }
}

/// Permits held from a [`Semaphore`]; they go back when it is dropped.
///
/// ```
/// let sem = kairos::sync::Semaphore::new(1);
/// let p = sem.try_acquire().unwrap();
/// assert_eq!(p.permits(), 1);
/// ```
#[must_use = "the permits go back as soon as this is dropped"]
pub struct SemaphorePermit<'a> {
    /// The semaphore.
    sem: &'a Semaphore,
    /// Permits held.
    n: usize,
}

impl SemaphorePermit<'_> {
    /// Number of permits held.
    ///
    /// ```
    /// let sem = kairos::sync::Semaphore::new(2);
    /// assert_eq!(sem.try_acquire_many(2).unwrap().permits(), 2);
    /// ```
    pub fn permits(&self) -> usize {
        self.n
    }

    /// Keeps the permits out of the semaphore for good.
    ///
    /// ```
    /// let sem = kairos::sync::Semaphore::new(1);
    /// sem.try_acquire().unwrap().forget();
    /// assert_eq!(sem.available_permits(), 0);
    /// ```
    pub fn forget(mut self) {
        self.n = 0;
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        if self.n > 0 {
            self.sem.add_permits(self.n);
        }
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("permits", &self.n)
            .finish()
    }
}

/// Permits held from an `Arc<Semaphore>`; `'static`, they go back when it is dropped.
///
/// ```
/// use std::sync::Arc;
/// let sem = Arc::new(kairos::sync::Semaphore::new(1));
/// let p = sem.clone().try_acquire_owned().unwrap();
/// assert_eq!(p.permits(), 1);
/// ```
#[must_use = "the permits go back as soon as this is dropped"]
pub struct OwnedSemaphorePermit {
    /// The semaphore.
    sem: Arc<Semaphore>,
    /// Permits held.
    n: usize,
}

impl OwnedSemaphorePermit {
    /// Number of permits held.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(kairos::sync::Semaphore::new(1));
    /// assert_eq!(sem.try_acquire_owned().unwrap().permits(), 1);
    /// ```
    pub fn permits(&self) -> usize {
        self.n
    }

    /// Keeps the permits out of the semaphore for good.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(kairos::sync::Semaphore::new(1));
    /// sem.clone().try_acquire_owned().unwrap().forget();
    /// assert_eq!(sem.available_permits(), 0);
    /// ```
    pub fn forget(mut self) {
        self.n = 0;
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        if self.n > 0 {
            self.sem.add_permits(self.n);
        }
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .field("permits", &self.n)
            .finish()
    }
}
