//! Tests of `Histogram`: percentiles against a sorted reference, merge, saturation, the
//! `.hgrm` text format.

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
                h.inner.as_ref().unwrap().equivalent(got, want),
                "round {round} p{p}: got {got}, reference {want}"
            );
            // And the promised 0.1% resolution, independent of the crate's notion of buckets.
            assert!(got.abs_diff(want) <= want / 1000, "round {round} p{p}");
        }
        assert!(h.inner.as_ref().unwrap().equivalent(h.min(), sorted[0]));
        assert!(h.inner.as_ref().unwrap().equivalent(h.max(), sorted[n - 1]));
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
    many.record(5);
    many.inner
        .as_mut()
        .unwrap()
        .record_n(5, u64::MAX - 1)
        .unwrap();
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
        format!("{:.3}", h.max() as f64 / 1000.0)
            .parse::<f64>()
            .unwrap()
    );
    assert_eq!(
        footer,
        [
            format!(
                "#[Mean    = {:12.3}, StdDeviation   = {:12.3}]",
                h.mean() / 1000.0,
                h.inner.as_ref().unwrap().stdev() / 1000.0
            ),
            format!(
                "#[Max     = {:12.3}, Total count    = {:12}]",
                h.max() as f64 / 1000.0,
                100_000
            ),
            format!(
                "#[Buckets = {:12}, SubBuckets     = {:12}]",
                h.inner.as_ref().unwrap().buckets(),
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
