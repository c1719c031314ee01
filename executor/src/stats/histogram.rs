//! [`Histogram`]: an HdrHistogram of nanosecond values that never fails to record, and its
//! `.hgrm` text output.
//!
//! The configuration and the output format are documented on the type, where users of the
//! public API see them. Below the type: the Java-compatible number formatting ([`java_fixed`])
//! and the human-readable durations ([`Nanos`]) that the summaries use.

use std::fmt;
use std::io;

/// Significant decimal digits kept by every histogram (HdrHistogram's `numberOfSignificantValueDigits`).
///
/// 3 is HdrHistogram's usual choice: 0.1% resolution costs 1024 counters (8 KiB) per doubling of
/// the value range; 4 digits would cost 8192.
const SIGFIG: u8 = 3;

/// Counters per bucket at [`SIGFIG`]: the smallest power of two at least `2 * 10^SIGFIG`
/// (HdrHistogram's `subBucketCount`; printed in the `.hgrm` footer).
const SUB_BUCKETS: u32 = 2048;

/// Percentile ticks per half distance to 100% in the `.hgrm` output: the value Java's and C's
/// tools use, which the plotter's examples assume.
const TICKS_PER_HALF_DISTANCE: u32 = 5;

/// Decimals of the value columns in the `.hgrm` output (Java prints `numberOfSignificantValueDigits`).
const VALUE_DECIMALS: usize = SIGFIG as usize;

/// A histogram of nanosecond values with 3 significant digits that grows to fit any `u64`.
///
/// A thin wrapper over [`hdrhistogram::Histogram<u64>`] (the Rust port of Gil Tene's
/// HdrHistogram, <http://hdrhistogram.org>) fixed to the configuration kairos uses everywhere:
///
/// - **3 significant decimal digits.** Values below 2048 ns are stored exactly; above that, a
///   value shares its bucket with values at most 1/1024 (< 0.1%) away. Reads return a bucket's
///   edge (percentiles and [`max`](Self::max): its highest value; [`min`](Self::min): its
///   lowest), so they are within 0.1% of the recorded value.
/// - **Lowest discernible value 1 ns, auto-resizing.** The counts array grows (by 1024 counters,
///   8 KiB, per doubling of the range) when a larger value arrives, up to `u64::MAX`, so
///   [`record`](Self::record) never rejects a value.
/// - **64-bit counters, saturating.** Counts stop at `u64::MAX` instead of wrapping.
///
/// Recording is O(1) (an index computation and an add) unless the value exceeds the current
/// range, when the counts array grows once. Reads ([`value_at_percentile`](Self::value_at_percentile),
/// [`mean`](Self::mean)) scan the counts array. The wrapper exists so the runtime cannot get the
/// configuration wrong and never handles a `Result`, and to add what the crate lacks: the
/// `.hgrm` text and a one-line summary ([`Display`](fmt::Display)).
///
/// # The `.hgrm` text
///
/// [`write_hgrm`](Self::write_hgrm) writes the plain-text percentile distribution of the Java
/// reference implementation, `AbstractHistogram.outputPercentileDistribution(out, 5, ratio)`,
/// byte for byte. For 1 µs, 2 µs, ..., 1000 µs written in µs:
///
/// ```text
///        Value     Percentile TotalCount 1/(1-Percentile)
///
///        1.000 0.000000000000          1           1.00
///      100.031 0.100000000000        100           1.11
///      200.063 0.200000000000        200           1.25
/// ...
///      999.423 0.998828125000        999         853.33
///     1000.447 0.999023437500       1000        1024.00
///     1000.447 1.000000000000       1000
/// #[Mean    =      500.505, StdDeviation   =      288.676]
/// #[Max     =     1000.447, Total count    =         1000]
/// #[Buckets =           10, SubBuckets     =         2048]
/// ```
///
/// - a header, Java's `%12s %14s %10s %14s`, then an empty line;
/// - one row per percentile tick, `%12.3f %2.12f %10d %14.2f`: the value (the bucket's highest
///   value divided by the unit ratio), the percentile as a fraction of 1, the count of values at
///   or below it, and `1/(1-p)` (the plotter's x axis);
/// - ticks come 5 per half distance to 100%: steps of 10% up to 50%, 5% up to 75%, 2.5% up to
///   87.5%, and so on; a bucket gets a row for each tick its cumulative count reaches;
/// - after the first row in the last bucket, a final row at percentile 1.0 which, as in Java,
///   has no fourth column (it would be infinite);
/// - a footer: mean and standard deviation (each bucket counted at its middle value), max, in
///   output units; total count; the bucket and sub-bucket counts of the histogram.
///
/// Two details make the text identical to Java's rather than nearly so: the ticks are computed
/// in percent as Java's `PercentileIterator` computes them (the crate's `iter_quantiles` works
/// in fractions of 1, and its rounding drops a bucket's row when the bucket ends exactly on a
/// tick such as 75%), and numbers are rounded as Java's `%f` rounds them (half-up from the
/// shortest decimal form; C's `printf` and Rust round the binary value half-to-even, so 0.0625
/// at 3 decimals is 0.063 in Java and 0.062 in C). HdrHistogram_c's `hdr_percentiles_print`
/// (`CLASSIC`) writes the same rows with other column widths; the plotter reads both.
///
/// ```
/// use kairos::stats::Histogram;
///
/// let mut h = Histogram::new();
/// for ns in 1..=1000 {
///     h.record(ns * 1_000); // 1 µs .. 1 ms
/// }
/// assert_eq!(h.count(), 1000);
/// let p99 = h.p99();
/// assert!((989_000..=991_000).contains(&p99), "p99 = {p99}");
/// println!("{h}"); // n=1000 p50=500µs p99=990µs p99.9=1.00ms max=1.00ms
/// ```
#[derive(Clone, PartialEq)]
pub struct Histogram {
    /// The HdrHistogram: lowest discernible value 1, [`SIGFIG`] digits, auto-resize on.
    inner: hdrhistogram::Histogram<u64>,
}

impl Histogram {
    /// An empty histogram covering 1 ns .. 2 ns for now (16 KiB); it grows as values arrive.
    ///
    /// ```
    /// let h = kairos::stats::Histogram::new();
    /// assert!(h.is_empty());
    /// assert_eq!(h.p99(), 0);
    /// ```
    pub fn new() -> Histogram {
        Histogram::with_max(2)
    }

    /// An empty histogram already sized to hold values up to `high_ns` without growing, for
    /// histograms on a hot path. Memory: 8 KiB per power of two up to `high_ns`
    /// (1 ns .. 60 s: 27 648 counters, 216 KiB). Larger values still record (it grows).
    pub(crate) fn with_max(high_ns: u64) -> Histogram {
        // `new_with_bounds` fails only for low == 0, high < 2 * low, more than 5 digits, or a
        // counts array longer than `usize` can index (a 16-bit target asked for a huge range).
        // Only the last can happen here; then start small and let auto-resize grow. 1 ns .. 2 ns
        // is 2048 counters, valid on every target, so the `expect` cannot fire.
        let mut inner = hdrhistogram::Histogram::new_with_bounds(1, high_ns.max(2), SIGFIG)
            .or_else(|_| hdrhistogram::Histogram::new_with_bounds(1, 2, SIGFIG))
            .expect("1 ns .. 2 ns at 3 significant digits is a valid HdrHistogram");
        inner.auto(true);
        Histogram { inner }
    }

    /// Records one value in nanoseconds. Never fails and never panics: a value above the current
    /// range grows the histogram; counts saturate at `u64::MAX`.
    ///
    /// ```
    /// let mut h = kairos::stats::Histogram::new();
    /// h.record(0);
    /// h.record(u64::MAX);
    /// assert_eq!(h.count(), 2);
    /// assert_eq!(h.max(), u64::MAX);
    /// ```
    #[inline]
    pub fn record(&mut self, ns: u64) {
        if self.inner.record(ns).is_err() {
            // Only a failed resize gets here (a counts array longer than `usize` can index,
            // which only a 16-bit target can hit). Keep the sample, clamped to the top of the
            // current range, rather than lose it.
            self.inner.saturating_record(ns);
        }
    }

    /// Adds every value recorded in `other` to `self`, as if they had been recorded here.
    /// Never panics; counts saturate.
    ///
    /// ```
    /// use kairos::stats::Histogram;
    ///
    /// let (mut a, mut b) = (Histogram::new(), Histogram::new());
    /// a.record(10);
    /// b.record(1_000_000);
    /// a.merge(&b);
    /// assert_eq!(a.count(), 2);
    /// assert_eq!(a.min(), 10);
    /// assert!(a.max() >= 1_000_000);
    /// ```
    pub fn merge(&mut self, other: &Histogram) {
        if other.is_empty() {
            return;
        }
        if self.is_empty() {
            // Same result as adding, and a copy of the counts is the cheapest way there.
            self.inner.clone_from(&other.inner);
            return;
        }
        if self.inner.add(&other.inner).is_err() {
            // `add` fails (before changing anything) only when growing `self` fails, which only a
            // 16-bit target can hit; fall back to clamped records, bucket by bucket.
            for v in other.inner.iter_recorded() {
                self.inner
                    .saturating_record_n(v.value_iterated_to(), v.count_at_value());
            }
        }
    }

    /// Number of recorded values (saturating at `u64::MAX`).
    ///
    /// ```
    /// let mut h = kairos::stats::Histogram::new();
    /// h.record(5);
    /// h.record(5);
    /// assert_eq!(h.count(), 2);
    /// ```
    #[inline]
    pub fn count(&self) -> u64 {
        self.inner.len()
    }

    /// Whether nothing was recorded.
    ///
    /// ```
    /// let mut h = kairos::stats::Histogram::default();
    /// assert!(h.is_empty());
    /// h.record(1);
    /// assert!(!h.is_empty());
    /// ```
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// The smallest recorded value, rounded down to its bucket's lowest value (exact below
    /// 2048 ns); 0 when empty.
    ///
    /// ```
    /// let mut h = kairos::stats::Histogram::new();
    /// h.record(700);
    /// h.record(300);
    /// assert_eq!(h.min(), 300);
    /// ```
    #[inline]
    pub fn min(&self) -> u64 {
        if self.is_empty() {
            0
        } else {
            self.inner.min()
        }
    }

    /// The largest recorded value, rounded up to its bucket's highest value (exact below
    /// 2048 ns, within 0.1% above); 0 when empty.
    ///
    /// ```
    /// let mut h = kairos::stats::Histogram::new();
    /// h.record(700);
    /// h.record(1_000_000);
    /// assert!((1_000_000..=1_001_000).contains(&h.max()));
    /// ```
    #[inline]
    pub fn max(&self) -> u64 {
        if self.is_empty() {
            0
        } else {
            self.inner.max()
        }
    }

    /// Mean of the recorded values in nanoseconds (each counted at its bucket's midpoint);
    /// 0.0 when empty.
    ///
    /// ```
    /// let mut h = kairos::stats::Histogram::new();
    /// h.record(100);
    /// h.record(300);
    /// assert_eq!(h.mean(), 200.0);
    /// ```
    pub fn mean(&self) -> f64 {
        self.mean_and_std_dev().0
    }

    /// The value at percentile `p` (0..=100): the smallest bucket value such that at least `p`%
    /// of the recorded values are at or below it (the highest value of that bucket;
    /// `p = 0` gives the lowest value of the minimum's bucket). `p` outside 0..=100 is
    /// clamped and NaN counts as 0. 0 when empty.
    ///
    /// ```
    /// let mut h = kairos::stats::Histogram::new();
    /// for ns in 1..=100 {
    ///     h.record(ns);
    /// }
    /// assert_eq!(h.value_at_percentile(50.0), 50);
    /// assert_eq!(h.value_at_percentile(250.0), 100); // clamped to 100
    /// assert_eq!(h.value_at_percentile(f64::NAN), 1); // NaN: percentile 0
    /// ```
    pub fn value_at_percentile(&self, p: f64) -> u64 {
        let p = if p.is_nan() { 0.0 } else { p.clamp(0.0, 100.0) };
        self.inner.value_at_percentile(p)
    }

    /// The median: [`value_at_percentile(50.0)`](Self::value_at_percentile).
    ///
    /// ```
    /// let mut h = kairos::stats::Histogram::new();
    /// [1, 2, 3].into_iter().for_each(|ns| h.record(ns));
    /// assert_eq!(h.p50(), 2);
    /// ```
    pub fn p50(&self) -> u64 {
        self.value_at_percentile(50.0)
    }

    /// [`value_at_percentile(99.0)`](Self::value_at_percentile).
    ///
    /// ```
    /// let mut h = kairos::stats::Histogram::new();
    /// (1..=1000).for_each(|ns| h.record(ns));
    /// assert_eq!(h.p99(), 990);
    /// ```
    pub fn p99(&self) -> u64 {
        self.value_at_percentile(99.0)
    }

    /// [`value_at_percentile(99.9)`](Self::value_at_percentile).
    ///
    /// ```
    /// let mut h = kairos::stats::Histogram::new();
    /// (1..=10_000).for_each(|ns| h.record(ns));
    /// // 9990 and 9991 share a bucket (8 ns wide at this magnitude); its highest value is 9991.
    /// assert_eq!(h.p999(), 9991);
    /// ```
    pub fn p999(&self) -> u64 {
        self.value_at_percentile(99.9)
    }

    /// Writes the percentile distribution in HdrHistogram's text format (`.hgrm`, see
    /// [the type's docs](Histogram#the-hgrm-text)), each value divided by `unit_ratio` (1.0: nanoseconds, 1000.0:
    /// microseconds, 1e6: milliseconds). Load the output in HdrHistogram's plotter,
    /// <https://hdrhistogram.github.io/HdrHistogram/plotFiles.html>. An empty histogram writes
    /// the header and a footer with a count of 0.
    ///
    /// The text is built in memory and handed to `w` in one `write_all`, then `w` is flushed.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `unit_ratio` is not finite and positive (nothing is written), or the
    /// error of `w`.
    ///
    /// ```
    /// let mut h = kairos::stats::Histogram::new();
    /// (1..=1000u64).for_each(|i| h.record(i * 1_000));
    /// let mut out = Vec::new();
    /// h.write_hgrm(&mut out, 1000.0).unwrap(); // in µs
    /// let text = String::from_utf8(out).unwrap();
    /// assert!(text.starts_with("       Value     Percentile TotalCount 1/(1-Percentile)\n\n"));
    /// assert!(text.contains("#[Max     =     1000.447, Total count    =         1000]"));
    /// ```
    pub fn write_hgrm<W: io::Write>(&self, mut w: W, unit_ratio: f64) -> io::Result<()> {
        if !(unit_ratio.is_finite() && unit_ratio > 0.0) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("hgrm unit ratio must be finite and positive, got {unit_ratio}"),
            ));
        }
        w.write_all(self.hgrm_text(unit_ratio).as_bytes())?;
        w.flush()
    }

    /// Buckets (powers of two of range) the counts array covers now.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn bucket_count(&self) -> u8 {
        self.inner.buckets()
    }

    /// The `.hgrm` text, `unit_ratio` already checked finite and positive.
    fn hgrm_text(&self, unit_ratio: f64) -> String {
        use std::fmt::Write as _;

        const D: usize = VALUE_DECIMALS;
        // Writing into a `String` cannot fail, so the `fmt::Result`s below are ignored.
        let mut s = String::with_capacity(8 * 1024);
        let _ = write!(
            s,
            "{:>12} {:>14} {:>10} {:>14}\n\n",
            "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
        );
        for row in self.percentile_rows() {
            let value = java_fixed(row.value as f64 / unit_ratio, D);
            let (count, fraction) = (row.count_to_here, row.percent / 100.0);
            let percentile = java_fixed(fraction, 12);
            if row.percent < 100.0 {
                let inverse = java_fixed(1.0 / (1.0 - fraction), 2);
                let _ = writeln!(s, "{value:>12} {percentile:>2} {count:10} {inverse:>14}");
            } else {
                let _ = writeln!(s, "{value:>12} {percentile:>2} {count:10}");
            }
        }
        let (mean, std_dev) = self.mean_and_std_dev();
        let _ = writeln!(
            s,
            "#[Mean    = {:>12}, StdDeviation   = {:>12}]",
            java_fixed(mean / unit_ratio, D),
            java_fixed(std_dev / unit_ratio, D)
        );
        let _ = writeln!(
            s,
            "#[Max     = {:>12}, Total count    = {:12}]",
            java_fixed(self.max() as f64 / unit_ratio, D),
            self.count()
        );
        let _ = writeln!(
            s,
            "#[Buckets = {:12}, SubBuckets     = {:12}]",
            self.inner.buckets(),
            SUB_BUCKETS
        );
        s
    }

    /// The rows of the percentile distribution, computed as Java's `PercentileIterator` (and C's
    /// `hdr_iter_percentile_init`) do.
    ///
    /// The iteration level is kept in percent (0..=100) and advances by `100 / ticks` with
    /// `ticks = 5 * 2^(floor(log2(100 / (100 - level))) + 1)`: five ticks per half distance to
    /// 100%, i.e. steps of 10% up to 50%, 5% up to 75%, 2.5% up to 87.5%, and so on.
    /// Walking the non-empty buckets in value order, a bucket yields a row for every level its
    /// cumulative percentage has reached; after the first row at the last bucket comes one final
    /// row at exactly 100%. `hdrhistogram::Histogram::iter_quantiles` does the same in
    /// fractions of 1, whose rounding differs (it misses the row of a bucket that ends exactly on
    /// a tick such as 75%), so the rows are computed here.
    fn percentile_rows(&self) -> Vec<PercentileRow> {
        let total = self.count();
        let mut rows = Vec::new();
        if total == 0 {
            return rows;
        }
        let mut level = 0.0_f64; // percent
        let mut count_to_here = 0u64;
        for bucket in self.inner.iter_recorded() {
            count_to_here = count_to_here.saturating_add(bucket.count_at_value());
            let value = bucket.value_iterated_to();
            let reached = 100.0 * count_to_here as f64 / total as f64;
            while reached >= level {
                rows.push(PercentileRow {
                    value,
                    percent: level,
                    count_to_here,
                });
                // Halvings of the distance to 100% so far: 0 below 50%, 1 below 75%, ... At most
                // 53 while `level < 100` (100 - level >= one ulp of 100), so the power is exact.
                let halvings = ((100.0 / (100.0 - level)).ln() / std::f64::consts::LN_2) as i32;
                let ticks = f64::from(TICKS_PER_HALF_DISTANCE) * 2f64.powi(halvings.min(64) + 1);
                let next = level + 100.0 / ticks;
                if count_to_here >= total || !(next > level && next < 100.0) {
                    // The last bucket (Java: `hasNext` is false once the count is reached), or a
                    // level that can no longer advance: one final row at 100%.
                    rows.push(PercentileRow {
                        value,
                        percent: 100.0,
                        count_to_here,
                    });
                    return rows;
                }
                level = next;
            }
        }
        // Unreachable with a consistent count (the last bucket returns above); kept total.
        rows
    }

    /// Mean and standard deviation in ns, as Java's `getMean` / `getStdDeviation`: each bucket
    /// counts at its median equivalent value; (0, 0) when empty.
    fn mean_and_std_dev(&self) -> (f64, f64) {
        let total = self.count();
        if total == 0 {
            return (0.0, 0.0);
        }
        let at = |v: &hdrhistogram::iterators::IterationValue<u64>| {
            (
                self.inner.median_equivalent(v.value_iterated_to()) as f64,
                v.count_at_value() as f64,
            )
        };
        let sum: f64 = self
            .inner
            .iter_recorded()
            .map(|v| at(&v))
            .map(|(x, n)| x * n)
            .sum();
        let mean = sum / total as f64;
        let squares: f64 = self
            .inner
            .iter_recorded()
            .map(|v| at(&v))
            .map(|(x, n)| (x - mean) * (x - mean) * n)
            .sum();
        (mean, (squares / total as f64).sqrt())
    }
}

/// One row of the percentile distribution.
#[derive(Clone, Copy, Debug, PartialEq)]
struct PercentileRow {
    /// Highest value of the bucket the row is in, ns.
    value: u64,
    /// The percentile level iterated to, 0..=100.
    percent: f64,
    /// Values recorded at or below this bucket.
    count_to_here: u64,
}

impl Default for Histogram {
    /// An empty histogram, same as [`Histogram::new`].
    ///
    /// ```
    /// assert!(kairos::stats::Histogram::default().is_empty());
    /// ```
    fn default() -> Histogram {
        Histogram::new()
    }
}

impl fmt::Display for Histogram {
    /// One line, `n=<count> p50=<..> p99=<..> p99.9=<..> max=<..>`, each value in ns, µs, ms or
    /// s with three significant digits; `n=0` alone when empty.
    ///
    /// ```
    /// let mut h = kairos::stats::Histogram::new();
    /// assert_eq!(h.to_string(), "n=0");
    /// h.record(1_500);
    /// assert_eq!(h.to_string(), "n=1 p50=1.50µs p99=1.50µs p99.9=1.50µs max=1.50µs");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n={}", self.count())?;
        if self.is_empty() {
            return Ok(());
        }
        write!(
            f,
            " p50={} p99={} p99.9={} max={}",
            Nanos(self.p50()),
            Nanos(self.p99()),
            Nanos(self.p999()),
            Nanos(self.max())
        )
    }
}

/// `x` with `decimals` digits after the point, rounded as Java's `String.format("%.Nf", x)`
/// does: take the shortest decimal digits that identify the double (what `Double.toString` and
/// Rust's `{:e}` print), then round those half-up. Rust's `{:.N}` and C's `printf` instead round
/// the exact binary value half-to-even, so they differ on values like 0.0625 at 3 decimals (Java
/// 0.063, C 0.062) or 4.35 at 1 decimal (4.35 is 4.3499.. in binary: Java 4.4, C 4.3). The
/// `.hgrm` text follows Java, the reference implementation. Non-finite values print as Rust
/// prints them (they do not occur in the `.hgrm` text).
fn java_fixed(x: f64, decimals: usize) -> String {
    if !x.is_finite() {
        return format!("{x:.decimals$}");
    }
    // Shortest round-trip digits and decimal exponent: x = d.ddd × 10^exp.
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let mut digits: Vec<u8> = mantissa
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect();
    // Position of the decimal point within `digits` (digits before it), and how many digits
    // the rounded result keeps.
    let mut point = exp + 1;
    let keep = point + decimals as i64;
    if keep < 0 || x == 0.0 {
        digits.clear(); // every digit is below the last printed place, and below its half
    } else if (keep as usize) < digits.len() {
        let round_up = digits[keep as usize] >= 5;
        digits.truncate(keep as usize);
        if round_up {
            // Add one unit in the last kept place, carrying; a carry out of the first digit
            // adds a digit (9.99 -> 10.0).
            let mut i = digits.len();
            loop {
                if i == 0 {
                    digits.insert(0, 1);
                    point += 1;
                    break;
                }
                i -= 1;
                if digits[i] == 9 {
                    digits[i] = 0;
                } else {
                    digits[i] += 1;
                    break;
                }
            }
        }
    }
    // Lay the digits out around the point: zeros before the first digit if `point` <= 0, zeros
    // after the last to fill the integer part and the decimals.
    let digit_at = |i: i64| -> char {
        if i < 0 || i >= digits.len() as i64 {
            '0'
        } else {
            char::from(b'0' + digits[i as usize])
        }
    };
    let mut out = String::new();
    if x < 0.0 {
        out.push('-');
    }
    if point <= 0 {
        out.push('0');
    } else {
        out.extend((0..point).map(digit_at));
    }
    if decimals > 0 {
        out.push('.');
        out.extend((point..point + decimals as i64).map(digit_at));
    }
    out
}

/// A duration in nanoseconds displayed for people: the largest of ns, µs, ms, s that keeps the
/// number below 1000, with three significant digits (`850ns`, `12.3µs`, `1.00ms`, `2.50s`).
/// Integers below 1000 ns print exactly. Padding and alignment flags apply to the whole text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Nanos(pub(crate) u64);

impl fmt::Display for Nanos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0;
        let text = if ns < 1_000 {
            format!("{ns}ns")
        } else {
            // Pick the unit on the rounded value, so 999_999 ns prints as 1.00ms, not 1000µs.
            let (value, unit) = [(1e3, "µs"), (1e6, "ms")]
                .into_iter()
                .map(|(scale, unit)| (ns as f64 / scale, unit))
                .find(|&(value, _)| value < 999.5)
                .unwrap_or((ns as f64 / 1e9, "s"));
            let decimals = if value < 9.995 {
                2
            } else if value < 99.95 {
                1
            } else {
                0
            };
            format!("{value:.decimals$}{unit}")
        };
        f.pad(&text)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// xorshift64* (Marsaglia 2003; Vigna 2016): enough randomness for test data.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

    /// What `value_at_percentile` must land on: the bucket of the element of rank
    /// `max(1, ceil(p/100 * n))` of the sorted data (the same float arithmetic as the crate).
    fn reference(sorted: &[u64], p: f64) -> u64 {
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }

    #[test]
    fn percentiles_match_sorted_reference() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        for round in 0..20 {
            let n = 1 + (rng.next() % 5_000) as usize;
            // Mix magnitudes: ns, µs, ms and seconds, so many buckets are involved.
            let data: Vec<u64> = (0..n)
                .map(|_| {
                    let magnitude = [1_000, 1_000_000, 1_000_000_000, 100_000_000_000];
                    rng.next() % magnitude[(rng.next() % 4) as usize]
                })
                .collect();
            let mut h = Histogram::new();
            data.iter().for_each(|&v| h.record(v));
            let mut sorted = data.clone();
            sorted.sort_unstable();
            assert_eq!(h.count(), n as u64);
            for p in [
                0.0, 1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 100.0,
            ] {
                let want = reference(&sorted, p);
                let got = h.value_at_percentile(p);
                assert!(
                    h.inner.equivalent(got, want),
                    "round {round} p{p}: got {got}, reference {want}"
                );
                // And the promised 0.1% resolution, independent of the crate's notion of buckets.
                assert!(got.abs_diff(want) <= want / 1000, "round {round} p{p}");
            }
            assert!(h.inner.equivalent(h.min(), sorted[0]));
            assert!(h.inner.equivalent(h.max(), sorted[n - 1]));
            let mean = data.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
            assert!(
                (h.mean() - mean).abs() <= mean / 1000.0 + 1.0,
                "round {round}"
            );
        }
    }

    #[test]
    fn small_values_are_exact() {
        let mut h = Histogram::new();
        (0..2048).for_each(|v| h.record(v));
        assert_eq!(h.min(), 0);
        assert_eq!(h.max(), 2047);
        assert_eq!(h.p50(), 1023);
        assert_eq!(h.value_at_percentile(100.0), 2047);
    }

    #[test]
    fn merge_equals_recording_both() {
        let mut rng = XorShift(42);
        let (mut a, mut b, mut both) = (
            Histogram::new(),
            Histogram::with_max(60_000_000_000),
            Histogram::new(),
        );
        for i in 0..10_000 {
            let v = rng.next() >> (rng.next() % 64);
            both.record(v);
            if i % 3 == 0 {
                a.record(v);
            } else {
                b.record(v);
            }
        }
        // Different ranges on each side: exercises the slow (bucket by bucket) path of `add`.
        let mut merged = a.clone();
        merged.merge(&b);
        assert_eq!(merged, both);
        // Merging into an empty histogram copies, merging an empty one changes nothing.
        let mut empty = Histogram::new();
        empty.merge(&both);
        assert_eq!(empty, both);
        merged.merge(&Histogram::new());
        assert_eq!(merged, both);
        for p in [0.0, 50.0, 99.0, 99.9, 100.0] {
            assert_eq!(merged.value_at_percentile(p), both.value_at_percentile(p));
        }
        assert_eq!(merged.min(), both.min());
        assert_eq!(merged.max(), both.max());
    }

    #[test]
    fn huge_values_record_and_read_without_panicking() {
        let mut h = Histogram::with_max(60_000_000_000);
        for v in [u64::MAX, u64::MAX - 1, 1 << 63, i64::MAX as u64, 0, 1] {
            h.record(v);
        }
        assert_eq!(h.count(), 6);
        assert_eq!(h.max(), u64::MAX);
        assert_eq!(h.min(), 0);
        // The top bucket's "highest equivalent value" saturates one short of u64::MAX in the
        // crate's percentile path; `max` tracks the exact maximum.
        assert!(h.value_at_percentile(100.0) >= u64::MAX - 1);
        assert!(h.mean().is_finite());
        let mut out = Vec::new();
        h.write_hgrm(&mut out, 1.0).unwrap();
        let _ = h.to_string();
        // Counts saturate instead of wrapping.
        let mut many = Histogram::new();
        many.inner.record_n(5, u64::MAX).unwrap();
        many.record(5);
        assert_eq!(many.count(), u64::MAX);
        let copy = many.clone();
        many.merge(&copy);
        assert_eq!(many.count(), u64::MAX);
        assert_eq!(many.p99(), 5);
    }

    #[test]
    fn percentile_argument_is_clamped() {
        let mut h = Histogram::new();
        (1..=10).for_each(|v| h.record(v));
        assert_eq!(h.value_at_percentile(-5.0), 1);
        assert_eq!(h.value_at_percentile(f64::NEG_INFINITY), 1);
        assert_eq!(h.value_at_percentile(f64::NAN), 1);
        assert_eq!(h.value_at_percentile(1e9), 10);
        assert_eq!(h.value_at_percentile(f64::INFINITY), 10);
        let empty = Histogram::new();
        assert_eq!(
            (empty.p50(), empty.p999(), empty.min(), empty.max()),
            (0, 0, 0, 0)
        );
        assert_eq!(empty.mean(), 0.0);
    }

    /// A parsed `.hgrm` data row: value, percentile, total count, `1/(1-p)` if present.
    type Row = (f64, f64, u64, Option<f64>);

    /// Parses `.hgrm` text the way the plotter does, checking the fixed layout on the way.
    fn parse_hgrm(text: &str) -> (Vec<Row>, Vec<&str>) {
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some("       Value     Percentile TotalCount 1/(1-Percentile)")
        );
        assert_eq!(lines.next(), Some(""));
        let (mut rows, mut footer) = (Vec::new(), Vec::new());
        for line in lines {
            if line.starts_with("#[") {
                footer.push(line);
                continue;
            }
            assert!(footer.is_empty(), "data row after the footer: {line:?}");
            let cols: Vec<&str> = line.split_whitespace().collect();
            // Java's layout: %12.3f %2.12f %10d %14.2f (the last row without the 4th column).
            assert_eq!(line.find('.'), Some(8), "value column is 12 wide: {line:?}");
            assert_eq!(&line[12..13], " ");
            assert_eq!(cols[1].len(), 14, "percentile has 12 decimals: {line:?}");
            assert_eq!(
                line.len(),
                if cols.len() == 4 {
                    12 + 1 + 14 + 1 + 10 + 1 + 14
                } else {
                    38
                }
            );
            rows.push((
                cols[0].parse().unwrap(),
                cols[1].parse().unwrap(),
                cols[2].parse().unwrap(),
                cols.get(3).map(|c| c.parse().unwrap()),
            ));
            assert!(cols.len() == 3 || cols.len() == 4, "{line:?}");
        }
        (rows, footer)
    }

    #[test]
    fn hgrm_text_parses_back() {
        let mut rng = XorShift(7);
        let mut h = Histogram::new();
        for _ in 0..100_000 {
            h.record(1_000 + rng.next() % 5_000_000);
        }
        let mut out = Vec::new();
        h.write_hgrm(&mut out, 1000.0).unwrap();
        let text = String::from_utf8(out).unwrap();
        let (rows, footer) = parse_hgrm(&text);
        assert!(rows.len() > 50, "{} rows", rows.len());
        let (last, body) = rows.split_last().unwrap();
        for (i, row) in body.iter().enumerate() {
            let (value, p, count, inv) = *row;
            assert!(
                p < 1.0 && inv.is_some(),
                "row {i}: only the last row is p = 1"
            );
            assert!((inv.unwrap() - 1.0 / (1.0 - p)).abs() <= 0.005 + 1e-9 * inv.unwrap());
            let (next_value, next_p, next_count, _) = rows[i + 1];
            assert!(
                next_p >= p && next_value >= value && next_count >= count,
                "row {i}"
            );
        }
        assert_eq!(body[0].1, 0.0);
        assert_eq!(last.1, 1.0);
        assert_eq!(last.2, h.count());
        assert_eq!(last.3, None);
        assert_eq!(
            last.0,
            format!("{:.3}", h.max() as f64 / 1000.0).parse().unwrap()
        );
        assert_eq!(
            footer,
            [
                format!(
                    "#[Mean    = {:12.3}, StdDeviation   = {:12.3}]",
                    h.mean() / 1000.0,
                    h.inner.stdev() / 1000.0
                ),
                format!(
                    "#[Max     = {:12.3}, Total count    = {:12}]",
                    h.max() as f64 / 1000.0,
                    100_000
                ),
                format!(
                    "#[Buckets = {:12}, SubBuckets     = {:12}]",
                    h.inner.buckets(),
                    2048
                ),
            ]
        );
    }

    /// The exact text for a small distribution, checked by hand against Java's format strings.
    #[test]
    fn hgrm_text_is_byte_exact() {
        let mut h = Histogram::new();
        (1..=4).for_each(|v| h.record(v));
        let mut out = Vec::new();
        h.write_hgrm(&mut out, 1.0).unwrap();
        let want = "       Value     Percentile TotalCount 1/(1-Percentile)\n\
                    \n\
                    \x20      1.000 0.000000000000          1           1.00\n\
                    \x20      1.000 0.100000000000          1           1.11\n\
                    \x20      1.000 0.200000000000          1           1.25\n\
                    \x20      2.000 0.300000000000          2           1.43\n\
                    \x20      2.000 0.400000000000          2           1.67\n\
                    \x20      2.000 0.500000000000          2           2.00\n\
                    \x20      3.000 0.550000000000          3           2.22\n\
                    \x20      3.000 0.600000000000          3           2.50\n\
                    \x20      3.000 0.650000000000          3           2.86\n\
                    \x20      3.000 0.700000000000          3           3.33\n\
                    \x20      3.000 0.750000000000          3           4.00\n\
                    \x20      4.000 0.775000000000          4           4.44\n\
                    \x20      4.000 1.000000000000          4\n\
                    #[Mean    =        2.500, StdDeviation   =        1.118]\n\
                    #[Max     =        4.000, Total count    =            4]\n\
                    #[Buckets =            1, SubBuckets     =         2048]\n";
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }

    #[test]
    fn empty_hgrm_has_header_and_zero_footer() {
        let mut out = Vec::new();
        Histogram::new().write_hgrm(&mut out, 1000.0).unwrap();
        let text = String::from_utf8(out).unwrap();
        let (rows, footer) = parse_hgrm(&text);
        assert!(rows.is_empty());
        assert_eq!(
            footer[0],
            "#[Mean    =        0.000, StdDeviation   =        0.000]"
        );
        assert_eq!(
            footer[1],
            "#[Max     =        0.000, Total count    =            0]"
        );
        assert_eq!(footer.len(), 3);
    }

    #[test]
    fn bad_unit_ratio_is_an_error_not_a_panic() {
        let mut h = Histogram::new();
        h.record(1);
        for ratio in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let mut out = Vec::new();
            let err = h.write_hgrm(&mut out, ratio).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
            assert!(out.is_empty());
        }
    }

    /// Expected strings printed by Java 17's `String.format(Locale.US, "%.Nf", x)`.
    #[test]
    fn java_rounding() {
        let cases: [(f64, usize, &str); 21] = [
            (0.9997802734375, 12, "0.999780273438"),
            (0.0625, 3, "0.063"),
            (1.005, 2, "1.01"),
            (2.5, 0, "3"),
            (0.125, 2, "0.13"),
            (999.9996, 3, "1000.000"),
            (0.0004, 3, "0.000"),
            (0.0005, 3, "0.001"),
            (1e-20, 3, "0.000"),
            (123456789012345678.0, 3, "123456789012345680.000"),
            (0.30000000000000004, 12, "0.300000000000"),
            (2276332666879.7295, 3, "2276332666879.730"),
            (8.5, 0, "9"),
            (9.5, 0, "10"),
            (0.045, 2, "0.05"),
            (4.35, 1, "4.4"),
            (0.000123456, 12, "0.000123456000"),
            (0.0, 3, "0.000"),
            (1.0, 2, "1.00"),
            (-1.25, 1, "-1.3"),
            (1e22, 1, "10000000000000000000000.0"),
        ];
        for (x, decimals, java) in cases {
            assert_eq!(java_fixed(x, decimals), java, "{x:e} at {decimals}");
        }
        assert_eq!(java_fixed(1e300, 3), format!("1{}.000", "0".repeat(300)));
    }

    #[test]
    fn human_units() {
        let cases = [
            (0, "0ns"),
            (999, "999ns"),
            (1_000, "1.00µs"),
            (12_345, "12.3µs"),
            (123_456, "123µs"),
            (999_499, "999µs"),
            (999_500, "1.00ms"),
            (45_600_000, "45.6ms"),
            (999_600_000, "1.00s"),
            (2_500_000_000, "2.50s"),
            (u64::MAX, "18446744074s"),
        ];
        for (ns, want) in cases {
            assert_eq!(Nanos(ns).to_string(), want, "{ns}");
        }
        assert_eq!(format!("[{:>8}]", Nanos(1_500)), "[  1.50µs]");
    }

    #[test]
    fn display_is_one_line() {
        let mut h = Histogram::new();
        (1..=1000u64).for_each(|i| h.record(i * 1_000));
        // p99.9 of 1000 values is the largest: 99.9 / 100 * 1000 rounds to 999.0000000000001.
        assert_eq!(
            h.to_string(),
            "n=1000 p50=500µs p99=990µs p99.9=1.00ms max=1.00ms"
        );
    }
}

impl fmt::Debug for Histogram {
    /// The one-line summary (the bucket array would be tens of thousands of numbers).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Histogram({self})")
    }
}
