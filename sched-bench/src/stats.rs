//! `Summary`: median, minimum and maximum of a set of samples.
//!
//! Benchmarks report the median of their rounds, not the mean: on a shared 2-core machine one
//! round now and then loses a time slice to another process, and the median ignores such
//! outliers while the mean does not. Minimum and maximum are shown next to it so the spread is
//! visible.

/// Median, minimum and maximum of some samples (in whatever unit they were given).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Summary {
    /// The middle sample; the mean of the two middle samples for an even count.
    pub median: f64,
    /// The smallest sample.
    pub min: f64,
    /// The largest sample.
    pub max: f64,
}

impl Summary {
    /// The summary of one sample: median, min and max all `x` (tests build rows with it).
    #[cfg(test)]
    pub fn single(x: f64) -> Summary {
        Summary {
            median: x,
            min: x,
            max: x,
        }
    }

    /// Summarises `samples`; `None` if there are none. NaN samples sort last (they would only
    /// come from a zero-length measurement, which the benchmarks do not produce).
    pub fn of(samples: &[f64]) -> Option<Summary> {
        if samples.is_empty() {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        Some(Summary {
            median,
            min: sorted[0],
            max: sorted[n - 1],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Summary;

    #[test]
    fn odd_count_takes_the_middle() {
        let s = Summary::of(&[5.0, 1.0, 3.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (3.0, 1.0, 5.0));
    }

    #[test]
    fn even_count_averages_the_middle_pair() {
        let s = Summary::of(&[4.0, 1.0, 2.0, 10.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (3.0, 1.0, 10.0));
    }

    #[test]
    fn empty_has_no_summary() {
        assert!(Summary::of(&[]).is_none());
    }
}
