//! `--sweep`: step the offered rate like exchange-core's latency tests, one run per rate,
//! and write the results as CSV and as an SVG plot of p50 / p99 / p99.9 against offered
//! rate (log-log). The SVG backend draws text as SVG text, so no font libraries are needed.

use std::path::Path;

use anyhow::Context;
use plotters::prelude::*;

use crate::report::Report;

/// Runs `run_one` for every rate, printing each summary; stops at the first error.
pub fn run(rates: &[u64], mut run_one: impl FnMut(u64) -> anyhow::Result<Report>) -> anyhow::Result<Vec<Report>> {
    let mut reports = Vec::with_capacity(rates.len());
    for rate in rates {
        let report = run_one(*rate).with_context(|| format!("at {rate}/s"))?;
        println!("{}", report.summary());
        reports.push(report);
    }
    Ok(reports)
}

/// `offered_rate,throughput_per_s,p50_us,p99_us,p999_us,p9999_us,max_us,rejected,errors`.
pub fn write_csv(reports: &[Report], path: &Path) -> anyhow::Result<()> {
    let mut text =
        String::from("target,offered_rate,throughput_per_s,p50_us,p99_us,p999_us,p9999_us,max_us,rejected,errors\n");
    for r in reports {
        let l = &r.latency_us;
        text.push_str(&format!(
            "{},{},{:.0},{:.1},{:.1},{:.1},{:.1},{:.1},{},{}\n",
            r.target, r.offered_rate, r.throughput_per_s, l.p50, l.p99, l.p999, l.p9999, l.max, r.rejected, r.errors
        ));
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// A plotted percentile: name, how to read it from a report, colour.
type Series = (&'static str, fn(&Report) -> f64, RGBColor);

/// Log-log plot of p50, p99 and p99.9 (µs) against offered rate.
pub fn plot_svg(reports: &[Report], title: &str, path: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(!reports.is_empty(), "nothing to plot");
    let rates = || reports.iter().map(|r| r.offered_rate as f64);
    let (x_min, x_max) = (rates().fold(f64::MAX, f64::min) * 0.8, rates().fold(0.0, f64::max) * 1.25);
    let y_max = reports.iter().map(|r| r.latency_us.p999).fold(1.0, f64::max) * 2.0;
    let y_min = reports.iter().map(|r| r.latency_us.p50).fold(f64::MAX, f64::min).max(0.1) * 0.5;
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d((x_min..x_max).log_scale(), (y_min..y_max).log_scale())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    chart
        .configure_mesh()
        .x_labels(6)
        .y_labels(6)
        .x_label_formatter(&|v| if *v >= 1e6 { format!("{:.1}M", v / 1e6) } else { format!("{:.0}k", v / 1e3) })
        .y_label_formatter(&|v| if *v >= 1e3 { format!("{:.0} ms", v / 1e3) } else { format!("{v:.0} µs") })
        .x_desc("offered rate (commands/s)")
        .y_desc("latency from planned send (µs)")
        .draw()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let series: [Series; 3] = [
        ("p50", |r| r.latency_us.p50, BLUE),
        ("p99", |r| r.latency_us.p99, RGBColor(230, 120, 0)),
        ("p99.9", |r| r.latency_us.p999, RED),
    ];
    for (name, value, color) in series {
        let points: Vec<(f64, f64)> = reports.iter().map(|r| (r.offered_rate as f64, value(r).max(y_min))).collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        chart
            .draw_series(points.iter().map(|p| Circle::new(*p, 4, color.filled())))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.9))
        .draw()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    root.present().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}
