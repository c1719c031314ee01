//! `SimRng`: the simulation's public random streams (SplitMix64, pinned in the crate).

use crate::rng::Rng;

/// A seeded random stream (SplitMix64, implemented in kairos so a seed's stream never changes
/// under a dependency update). Obtained from [`sim::rng()`](super::rng()) (the user stream, inside a
/// simulation) or [`Sim::workload_rng`](super::Sim::workload_rng), or made from any seed.
///
/// ```
/// let mut a = kairos::sim::SimRng::new(1);
/// let mut b = kairos::sim::SimRng::new(1);
/// assert_eq!(a.next_u64(), b.next_u64());
/// assert!(a.below(10) < 10);
/// let x = a.next_f64();
/// assert!((0.0..1.0).contains(&x));
/// ```
#[derive(Clone, Debug)]
pub struct SimRng(Rng);

impl SimRng {
    /// The stream for `seed`.
    ///
    /// ```
    /// let _ = kairos::sim::SimRng::new(0).next_u64();
    /// ```
    pub fn new(seed: u64) -> SimRng {
        SimRng(Rng::new(seed))
    }

    /// The next 64 random bits.
    ///
    /// ```
    /// let mut r = kairos::sim::SimRng::new(0);
    /// assert_ne!(r.next_u64(), r.next_u64());
    /// ```
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `0..n` (0 if `n` is 0), by Lemire's multiply-shift (D. Lemire, "Fast random
    /// integer generation in an interval", ACM TOMACS 2019; without the rejection step: the
    /// bias is below n / 2^64).
    ///
    /// ```
    /// let mut r = kairos::sim::SimRng::new(3);
    /// assert!((0..1000).all(|_| r.below(7) < 7));
    /// assert_eq!(r.below(0), 0);
    /// ```
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `[0, 1)`, with 53 random bits.
    ///
    /// ```
    /// let mut r = kairos::sim::SimRng::new(3);
    /// assert!((0..1000).map(|_| r.next_f64()).all(|x| (0.0..1.0).contains(&x)));
    /// ```
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}
