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
#[derive(Clone)]
pub struct Histogram {
    /// The HdrHistogram: lowest discernible value 1, [`SIGFIG`] digits, auto-resize on. `None`
    /// until the first value or merge: an empty histogram allocates nothing (a `Metrics`
    /// snapshot builds several empty ones to merge into).
    inner: Option<hdrhistogram::Histogram<u64>>,
}

impl PartialEq for Histogram {
    /// Same recorded values; every empty histogram equals every other.
    fn eq(&self, other: &Histogram) -> bool {
        (self.is_empty() && other.is_empty()) || self.inner == other.inner
    }
}

impl Histogram {
    /// An empty histogram; it allocates (16 KiB, growing as values arrive) at the first record.
    ///
    /// ```
    /// let h = kairos::stats::Histogram::new();
    /// assert!(h.is_empty());
    /// assert_eq!(h.p99(), 0);
    /// ```
    pub fn new() -> Histogram {
        Histogram { inner: None }
    }

    /// An empty histogram already sized to hold values up to `high_ns` without growing, for
    /// histograms on a hot path. Memory: 8 KiB per power of two up to `high_ns`
    /// (1 ns .. 60 s: 27 648 counters, 216 KiB). Larger values still record (it grows).
    pub(crate) fn with_max(high_ns: u64) -> Histogram {
        Histogram {
            inner: Some(fresh(high_ns)),
        }
    }
}

/// A new HdrHistogram for values up to `high_ns` (at least 1 ns .. 2 ns), auto-resizing.
fn fresh(high_ns: u64) -> hdrhistogram::Histogram<u64> {
    // `new_with_bounds` fails only for low == 0, high < 2 * low, more than 5 digits, or a
    // counts array longer than `usize` can index (a 16-bit target asked for a huge range).
    // Only the last can happen here; then start small and let auto-resize grow. 1 ns .. 2 ns
    // is 2048 counters, valid on every target, so the `expect` cannot fire.
    let mut inner = hdrhistogram::Histogram::new_with_bounds(1, high_ns.max(2), SIGFIG)
        .or_else(|_| hdrhistogram::Histogram::new_with_bounds(1, 2, SIGFIG))
        .expect("1 ns .. 2 ns at 3 significant digits is a valid HdrHistogram");
    inner.auto(true);
    inner
}

impl Histogram {
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
        let inner = self.inner.get_or_insert_with(|| fresh(2));
        if inner.record(ns).is_err() {
            // Only a failed resize gets here (a counts array longer than `usize` can index,
            // which only a 16-bit target can hit). Keep the sample, clamped to the top of the
            // current range, rather than lose it.
            inner.saturating_record(ns);
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
        let Some(theirs) = other.inner.as_ref().filter(|h| !h.is_empty()) else {
            return;
        };
        let ours = match &mut self.inner {
            Some(ours) if !ours.is_empty() => ours,
            _ => {
                // Same result as adding, and a copy of the counts is the cheapest way there.
                self.inner = Some(theirs.clone());
                return;
            }
        };
        if ours.add(theirs).is_err() {
            // `add` fails (before changing anything) only when growing `self` fails, which only a
            // 16-bit target can hit; fall back to clamped records, bucket by bucket.
            for v in theirs.iter_recorded() {
                ours.saturating_record_n(v.value_iterated_to(), v.count_at_value());
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
        self.inner.as_ref().map_or(0, |h| h.len())
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
        self.inner.as_ref().is_none_or(|h| h.is_empty())
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
        match &self.inner {
            Some(h) if !h.is_empty() => h.min(),
            _ => 0,
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
        match &self.inner {
            Some(h) if !h.is_empty() => h.max(),
            _ => 0,
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
        self.inner.as_ref().map_or(0, |h| h.value_at_percentile(p))
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
        self.inner
            .as_ref()
            .map_or_else(|| fresh(2).buckets(), |h| h.buckets())
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
            self.inner
                .as_ref()
                .map_or_else(|| fresh(2).buckets(), |h| h.buckets()),
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
        let Some(inner) = self.inner.as_ref().filter(|_| total > 0) else {
            return rows;
        };
        let mut level = 0.0_f64; // percent
        let mut count_to_here = 0u64;
        for bucket in inner.iter_recorded() {
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
        let Some(inner) = self.inner.as_ref().filter(|_| total > 0) else {
            return (0.0, 0.0);
        };
        let at = |v: &hdrhistogram::iterators::IterationValue<u64>| {
            (
                inner.median_equivalent(v.value_iterated_to()) as f64,
                v.count_at_value() as f64,
            )
        };
        let sum: f64 = inner
            .iter_recorded()
            .map(|v| at(&v))
            .map(|(x, n)| x * n)
            .sum();
        let mean = sum / total as f64;
        let squares: f64 = inner
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
mod tests;

impl fmt::Debug for Histogram {
    /// The one-line summary (the bucket array would be tens of thousands of numbers).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Histogram({self})")
    }
}
