//! Exact comparison of sums of fractions against an integer limit (see the module docs of
//! `admission`, "Exact arithmetic").

use std::cmp::Ordering;

/// One term `weight * num / den` of a sum of fractions (`den > 0`).
#[derive(Clone, Copy, Debug)]
pub(super) struct Term {
    /// How many times the fraction counts.
    pub(super) weight: u64,
    /// Numerator.
    pub(super) num: u64,
    /// Denominator, positive.
    pub(super) den: u64,
}

/// 1 in 64.64 fixed point.
pub(super) const ONE: u128 = 1 << 64;

/// [`ONE`] as `f64` (exactly representable).
pub(super) const ONE_F64: f64 = 18_446_744_073_709_551_616.0;

/// The sum of `terms` in 64.64 fixed point, rounded down and up: `lo <= sum * 2^64 <= hi`,
/// with `hi - lo` at most the total weight. Saturates, which keeps both sides true bounds for
/// the comparisons made with them (a saturated value exceeds every limit compared against).
pub(super) fn bracket(terms: impl Iterator<Item = Term>) -> (u128, u128) {
    terms.fold((0u128, 0u128), |(lo, hi), t| {
        let scaled = u128::from(t.num) << 64;
        let den = u128::from(t.den.max(1));
        let weight = u128::from(t.weight);
        let floor = (scaled / den).saturating_mul(weight);
        let ceil = scaled.div_ceil(den).saturating_mul(weight);
        (lo.saturating_add(floor), hi.saturating_add(ceil))
    })
}

/// Whether `sum weight * num / den <= limit`, exactly: decided by the fixed-point bracket when
/// the limit lies outside it, otherwise by [`exact_at_most`].
pub(super) fn sum_at_most(terms: impl Iterator<Item = Term> + Clone, limit: u64) -> bool {
    let limit_fixed = u128::from(limit) << 64;
    let (lo, hi) = bracket(terms.clone());
    if hi <= limit_fixed {
        true
    } else if lo > limit_fixed {
        false
    } else {
        exact_at_most(terms, limit)
    }
}

/// Whether `sum weight * num / den <= limit`, in exact rational arithmetic: the sum is kept
/// as `num / den` over arbitrary-precision integers, with `den` the product of the
/// denominators. O(n^2) word operations for `n` terms.
pub(super) fn exact_at_most(terms: impl Iterator<Item = Term>, limit: u64) -> bool {
    let mut num = Big::from(0);
    let mut den = Big::from(1);
    for t in terms {
        if t.weight == 0 || t.num == 0 {
            continue;
        }
        // num/den + w c/d = (num d + w c den) / (den d)
        num.mul_small(t.den);
        let mut add = den.clone();
        add.mul_small(t.num);
        add.mul_small(t.weight);
        num.add(&add);
        den.mul_small(t.den);
    }
    den.mul_small(limit);
    num.cmp(&den) != Ordering::Greater
}

/// An unsigned integer of any size: little-endian 64-bit limbs. Only what [`exact_at_most`]
/// needs: multiply by a word, add, compare.
#[derive(Clone, Debug)]
pub(super) struct Big(pub(super) Vec<u64>);

impl From<u64> for Big {
    fn from(value: u64) -> Big {
        Big(vec![value])
    }
}

impl Big {
    /// `self *= k`.
    pub(super) fn mul_small(&mut self, k: u64) {
        let mut carry = 0u128;
        for limb in &mut self.0 {
            let product = u128::from(*limb) * u128::from(k) + carry;
            *limb = product as u64; // low word; the high word carries
            carry = product >> 64;
        }
        if carry != 0 {
            self.0.push(carry as u64);
        }
    }

    /// `self += other`.
    pub(super) fn add(&mut self, other: &Big) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        let mut carry = false;
        for (i, limb) in self.0.iter_mut().enumerate() {
            let (sum, c1) = limb.overflowing_add(other.0.get(i).copied().unwrap_or(0));
            let (sum, c2) = sum.overflowing_add(u64::from(carry));
            *limb = sum;
            carry = c1 || c2;
        }
        if carry {
            self.0.push(1);
        }
    }

    /// The limbs without high zero limbs.
    pub(super) fn significant(&self) -> &[u64] {
        let len = self.0.iter().rposition(|&l| l != 0).map_or(0, |i| i + 1);
        &self.0[..len]
    }

    /// Numeric comparison.
    pub(super) fn cmp(&self, other: &Big) -> Ordering {
        let (a, b) = (self.significant(), other.significant());
        a.len()
            .cmp(&b.len())
            .then_with(|| a.iter().rev().cmp(b.iter().rev()))
    }
}
