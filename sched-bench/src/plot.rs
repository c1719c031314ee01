//! `compare --plot FILE.svg`: latency percentile curves, one line per backend, as one SVG; and
//! `schedulability --plot FILE.svg`: the fraction of schedulable task sets against utilization,
//! one line per policy ([`schedulability_svg`]).
//!
//! The layout is HdrHistogram's percentile plot: the x axis is `1 / (1 - p)` on a log scale,
//! labelled with the percentile (0, 90, 99, 99.9, 99.99 %, ...), so every further "nine" gets
//! the same width; the y axis is the latency in µs, also on a log scale. Each curve is sampled at
//! 20 points per decade of `1 / (1 - p)`, from p = 0 to the percentile of the last-but-one
//! sample (`1 / (1 - p)` = the sample count); values are
//! [`Histogram::value_at_percentile`]'s (the highest value of the bucket holding that rank).
//!
//! Drawn with plotters' SVG backend without its font features: text goes out as SVG `<text>`
//! elements (the viewer picks the font), so no font file or C library is needed.

use kairos::stats::Histogram;
use plotters::prelude::*;

/// Size of the picture, pixels.
const SIZE: (u32, u32) = (1000, 600);

/// Samples per decade of `1 / (1 - p)`.
const SAMPLES_PER_DECADE: u32 = 20;

/// Decades of `1 / (1 - p)` shown at least (up to 99.99%) and at most (up to 99.99999%).
const DECADES: (u32, u32) = (4, 7);

/// Line colours, in row order (then repeated): matplotlib's `tab10`.
const COLOURS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// The SVG text of the percentile curves of `curves` (label, histogram of ns values), with
/// `title` above. An empty histogram gets a legend entry but no line.
///
/// # Errors
/// A drawing error of plotters (its message).
pub fn latency_svg(title: &str, curves: &[(&str, &Histogram)]) -> Result<String, String> {
    let mut svg = String::new();
    draw(&mut svg, title, curves).map_err(|e| format!("drawing the plot: {e}"))?;
    Ok(svg)
}

/// `ns` in µs.
fn us(ns: u64) -> f64 {
    ns as f64 / 1e3
}

/// The power of ten at or below `v` (`up`: at or above).
fn decade(v: f64, up: bool) -> f64 {
    let e = v.log10();
    10f64.powf(if up { e.ceil() } else { e.floor() })
}

/// The x-axis label at `x = 1 / (1 - p)`: `0%`, `90%`, `99%`, `99.9%`, ...
fn percentile_label(x: f64) -> String {
    let nines = x.log10().round().max(0.0) as usize;
    let p = 100.0 - 100.0 / 10f64.powi(nines as i32);
    format!("{p:.*}%", nines.saturating_sub(2))
}

/// A latency in µs without trailing zeros: `0.05`, `2`, `1000`.
fn latency_label(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// The curve of `h`: `(1 / (1 - p), value at p in µs)` up to `x_end`, values at least `y_min`.
fn curve(h: &Histogram, x_end: f64, y_min: f64) -> Vec<(f64, f64)> {
    let step = 10f64.powf(1.0 / f64::from(SAMPLES_PER_DECADE));
    let mut points = Vec::new();
    let mut x = 1.0_f64;
    loop {
        let x_here = x.min(x_end);
        let p = 100.0 * (1.0 - 1.0 / x_here);
        points.push((x_here, us(h.value_at_percentile(p)).max(y_min)));
        if x_here >= x_end {
            return points;
        }
        x *= step;
    }
}

fn draw(
    svg: &mut String,
    title: &str,
    curves: &[(&str, &Histogram)],
) -> Result<(), Box<dyn std::error::Error>> {
    let recorded = || curves.iter().filter(|(_, h)| !h.is_empty());
    let most = recorded().map(|(_, h)| h.count()).max().unwrap_or(1);
    let decades = (most as f64).log10().ceil() as u32;
    let decades = decades.clamp(DECADES.0, DECADES.1);
    let x_max = 10f64.powi(decades as i32);
    let lowest = recorded()
        .map(|(_, h)| us(h.value_at_percentile(0.0)))
        .fold(f64::INFINITY, f64::min)
        .max(1e-3);
    let highest = recorded().map(|(_, h)| us(h.max())).fold(0.0, f64::max);
    let y_min = if lowest.is_finite() {
        decade(lowest, false)
    } else {
        1.0
    };
    let y_max = decade(highest.max(y_min), true).max(y_min * 10.0);
    let x_keys: Vec<f64> = (0..=decades).map(|k| 10f64.powi(k as i32)).collect();
    let mut y_keys = Vec::new();
    let mut d = y_min;
    while d <= y_max * 1.000_001 {
        y_keys.extend([d, 2.0 * d, 5.0 * d].into_iter().filter(|&v| v <= y_max));
        d *= 10.0;
    }

    let root = SVGBackend::with_string(svg, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 24))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(65)
        .build_cartesian_2d(
            (1.0..x_max).log_scale().with_key_points(x_keys),
            (y_min..y_max).log_scale().with_key_points(y_keys),
        )?;
    chart
        .configure_mesh()
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 16))
        .x_desc("percentile")
        .y_desc("release → poll latency (µs)")
        .x_label_formatter(&|x| percentile_label(*x))
        .y_label_formatter(&|y| latency_label(*y))
        .draw()?;
    for (i, (label, h)) in curves.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let points = if h.is_empty() {
            Vec::new()
        } else {
            curve(h, (h.count() as f64).clamp(1.0, x_max), y_min)
        };
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(2)))?
            .label(*label)
            .legend(move |(x, y)| Rectangle::new([(x, y - 4), (x + 16, y + 4)], colour.filled()));
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    root.present()?;
    Ok(())
}

/// The SVG text of schedulability curves: one line (with a dot per point) per `(label, points)`,
/// x = utilization per worker (the points' range, linear), y = fraction of task sets without a
/// deadline miss (0 to 1), `title` above.
///
/// # Errors
/// A drawing error of plotters (its message).
pub fn schedulability_svg(
    title: &str,
    curves: &[(&str, Vec<(f64, f64)>)],
) -> Result<String, String> {
    let mut svg = String::new();
    draw_schedulability(&mut svg, title, curves).map_err(|e| format!("drawing the plot: {e}"))?;
    Ok(svg)
}

fn draw_schedulability(
    svg: &mut String,
    title: &str,
    curves: &[(&str, Vec<(f64, f64)>)],
) -> Result<(), Box<dyn std::error::Error>> {
    let xs = || curves.iter().flat_map(|(_, p)| p.iter().map(|&(x, _)| x));
    let (lo, hi) = (
        xs().fold(f64::INFINITY, f64::min),
        xs().fold(f64::NEG_INFINITY, f64::max),
    );
    let (lo, hi) = if lo.is_finite() && hi > lo {
        (lo, hi)
    } else if lo.is_finite() {
        (lo - 0.05, lo + 0.05)
    } else {
        (0.0, 1.0)
    };
    let pad = (hi - lo) * 0.02;
    let root = SVGBackend::with_string(svg, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(65)
        .build_cartesian_2d((lo - pad)..(hi + pad), -0.02..1.05)?;
    chart
        .configure_mesh()
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 16))
        .x_desc("utilization per worker")
        .y_desc("task sets without a deadline miss")
        .x_label_formatter(&|x| format!("{x:.2}"))
        .y_label_formatter(&|y| format!("{y:.1}"))
        .draw()?;
    for (i, (label, points)) in curves.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                colour.stroke_width(2),
            ))?
            .label(*label)
            .legend(move |(x, y)| Rectangle::new([(x, y - 4), (x + 16, y + 4)], colour.filled()));
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled())))?;
    }
    legend(&mut chart, SeriesLabelPosition::MiddleLeft)?;
    root.present()?;
    Ok(())
}

/// Draws the legend of `chart`'s labelled series at `position`, in the style both plots share.
fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(position)
        .label_font(("sans-serif", 15))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::{latency_label, latency_svg, percentile_label, schedulability_svg};
    use kairos::stats::Histogram;

    #[test]
    fn labels() {
        let got: Vec<_> = [1.0, 10.0, 100.0, 1e3, 1e4, 1e5]
            .into_iter()
            .map(percentile_label)
            .collect();
        assert_eq!(got, ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"]);
        assert_eq!(latency_label(0.05), "0.05");
        assert_eq!(latency_label(2.0), "2");
        assert_eq!(latency_label(1000.0), "1000");
    }

    #[test]
    fn one_line_per_curve_and_every_label() {
        let mut a = Histogram::new();
        let mut b = Histogram::new();
        for i in 1..=5000u64 {
            a.record(i * 100);
            b.record(i * 1000);
        }
        let empty = Histogram::new();
        let svg = latency_svg("demo", &[("alpha", &a), ("beta", &b), ("none", &empty)]).unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"));
        for text in ["demo", "alpha", "beta", "none", "99.9%", "µs"] {
            assert!(svg.contains(text), "no {text}");
        }
        // Two curves with samples; the empty one draws an empty polyline or none.
        assert!(svg.matches("<polyline").count() >= 2);
    }

    #[test]
    fn schedulability_plot_has_a_line_and_dots_per_policy() {
        let curve = |f: f64| (0..=10).map(|k| (0.5 + 0.05 * f64::from(k), f)).collect();
        let svg =
            schedulability_svg("sweep", &[("edf", curve(1.0)), ("fifo", curve(0.5))]).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        for text in ["sweep", "edf", "fifo", "utilization per worker", "0.75"] {
            assert!(svg.contains(text), "no {text}");
        }
        assert!(svg.matches("<polyline").count() >= 2);
        assert!(svg.matches("<circle").count() >= 22);
    }
}
