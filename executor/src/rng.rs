//! The runtime's own pseudo-random numbers: SplitMix64.
//!
//! Used where the scheduler needs an arbitrary but reproducible choice (the first steal victim).
//! It is implemented here rather than taken from a crate so the stream for a given seed can never
//! change under a dependency update: reproducibility is part of the runtime's contract.
//!
//! SplitMix64 is from G. Steele, D. Lea, C. Flood, "Fast splittable pseudorandom number
//! generators", OOPSLA 2014 (the constants are those of the paper / `java.util.SplittableRandom`).
//! It passes BigCrush, needs one `u64` of state, and any seed is valid.

/// A SplitMix64 generator.
#[derive(Clone, Debug)]
pub(crate) struct Rng {
    /// The Weyl sequence position.
    state: u64,
}

/// Golden-ratio increment of the Weyl sequence.
const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

impl Rng {
    /// A generator for `seed`.
    pub(crate) fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    /// An independent stream `stream` derived from `seed` (e.g. one per worker).
    pub(crate) fn for_stream(seed: u64, stream: u64) -> Rng {
        let mut base = Rng::new(seed ^ stream.wrapping_mul(GAMMA).rotate_left(17));
        Rng::new(base.next_u64())
    }

    /// Next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`), by Lemire's multiply-shift ("Fast random integer generation
    /// in an interval", ACM TOMACS 2019) without the rejection step: the bias is below 2^-32 for
    /// the small `n` used here (worker counts).
    pub(crate) fn below(&mut self, n: u32) -> u32 {
        debug_assert!(n > 0);
        (((self.next_u64() >> 32) * u64::from(n)) >> 32) as u32
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn stream_is_pinned() {
        // The first outputs for seed 0 are part of the reproducibility contract: if this test
        // fails, recorded seeds no longer replay.
        let mut rng = Rng::new(0);
        assert_eq!(rng.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(rng.next_u64(), 0x6e78_9e6a_a1b9_65f4);
    }

    #[test]
    fn below_stays_in_range_and_streams_differ() {
        let mut a = Rng::for_stream(7, 0);
        let mut b = Rng::for_stream(7, 1);
        assert_ne!(a.next_u64(), b.next_u64());
        for n in 1..20 {
            assert!(a.below(n) < n);
        }
    }
}
