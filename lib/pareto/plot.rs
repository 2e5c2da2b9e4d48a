//! Pictures of a Pareto report: an SVG chart (plotters, SVG backend only: no system fonts needed)
//! and the guide's terminal picture. Throughput goes up the y axis, latency along the x axis; the
//! frontier is highlighted and joined, and trial confidence intervals are drawn as error bars. The
//! chart labels its axes with metric and unit and its points `concurrency=8` (a bare `8` says
//! nothing once the picture leaves the sweep); the terminal keeps the short values for width.

use std::path::Path;

use plotters::prelude::*;
use serde_json::{Map, Value};

use crate::artifacts::names::{describe_map, value_text};
use crate::pareto::{Goal, Objective, Report};

/// Which objectives go on which axis: x = first minimised (latency), y = first maximised (throughput).
pub fn axes(report: &Report) -> anyhow::Result<(usize, usize)> {
    let n = report.objectives.len();
    anyhow::ensure!(
        n >= 2,
        "a picture needs two objectives (got {n}): give one --maximize and one --minimize"
    );
    let y = report
        .objectives
        .iter()
        .position(|o| o.goal == Goal::Maximize)
        .unwrap_or(0);
    let x = report
        .objectives
        .iter()
        .position(|o| o.goal == Goal::Minimize)
        .filter(|&i| i != y)
        .unwrap_or(if y == 0 { 1 } else { 0 });
    Ok((x, y))
}

/// An axis title: the metric key and, when the input states it, its unit.
pub fn axis_label(o: &Objective) -> String {
    match &o.unit {
        Some(u) => format!("{} ({u})", o.key),
        None => o.key.clone(),
    }
}

/// Short point label: `c=10` style is ambiguous across parameters, so values joined by `/`
/// (one parameter: just its value).
pub fn short_label(p: &Map<String, Value>) -> String {
    if p.is_empty() {
        return "base".into();
    }
    if p.len() == 1 {
        return p.values().map(value_text).collect();
    }
    p.iter()
        .map(|(k, v)| format!("{k}={}", value_text(v)))
        .collect::<Vec<_>>()
        .join(",")
}

struct Pt {
    x: f64,
    y: f64,
    xci: Option<(f64, f64)>,
    yci: Option<(f64, f64)>,
    optimal: bool,
    feasible: bool,
    /// With `--ci`: false when this optimal point's dominance over another is within the CIs.
    significant: Option<bool>,
    /// The terminal's short label (`8`).
    label: String,
    /// The chart's label, naming the parameters (`concurrency=8`).
    name: String,
}

fn points(report: &Report, xi: usize, yi: usize) -> Vec<Pt> {
    let xk = &report.objectives[xi].key;
    let yk = &report.objectives[yi].key;
    let ci = |m: &Map<String, Value>, k: &str| {
        m.get(k)
            .and_then(Value::as_array)
            .and_then(|a| Some((a.first()?.as_f64()?, a.get(1)?.as_f64()?)))
    };
    report
        .points
        .iter()
        .filter_map(|p| {
            Some(Pt {
                x: p.values.get(xk)?.as_f64()?,
                y: p.values.get(yk)?.as_f64()?,
                xci: ci(&p.ci, xk),
                yci: ci(&p.ci, yk),
                optimal: p.pareto_optimal,
                feasible: p.feasible,
                significant: p.significant,
                label: short_label(&p.parameters),
                name: if p.parameters.is_empty() {
                    "base".into()
                } else {
                    describe_map(&p.parameters)
                },
            })
        })
        .collect()
}

fn range(vals: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in vals.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo {
        (hi - lo) * 0.08
    } else {
        lo.abs().max(1.0) * 0.1
    };
    // Latencies and throughputs are never negative: do not pad below zero.
    let low = if lo >= 0.0 { (lo - pad).max(0.0) } else { lo - pad };
    (low, hi + pad)
}

/// Draws the report as an SVG file.
pub fn svg(report: &Report, path: &Path) -> anyhow::Result<()> {
    let (xi, yi) = axes(report)?;
    let pts = points(report, xi, yi);
    let (x0, x1) = range(
        pts.iter()
            .flat_map(|p| [Some(p.x), p.xci.map(|c| c.0), p.xci.map(|c| c.1)])
            .flatten(),
    );
    let (y0, y1) = range(
        pts.iter()
            .flat_map(|p| [Some(p.y), p.yci.map(|c| c.0), p.yci.map(|c| c.1)])
            .flatten(),
    );
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (900, 600)).into_drawing_area();
        let err = |e: &dyn std::fmt::Display| anyhow::anyhow!("drawing {}: {e}", path.display());
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Pareto frontier: throughput vs latency", ("sans-serif", 22))
            .margin(20)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc(axis_label(&report.objectives[xi]))
            .y_desc(axis_label(&report.objectives[yi]))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(|e| err(&e))?;
        // Error bars (confidence intervals across trials).
        let bar = RGBColor(150, 150, 150);
        for p in &pts {
            if let Some((lo, hi)) = p.yci {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(p.x, lo), (p.x, hi)],
                        bar.stroke_width(1),
                    )))
                    .map_err(|e| err(&e))?;
            }
            if let Some((lo, hi)) = p.xci {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(lo, p.y), (hi, p.y)],
                        bar.stroke_width(1),
                    )))
                    .map_err(|e| err(&e))?;
            }
        }
        // The frontier, joined in latency order.
        let mut front: Vec<(f64, f64)> = pts.iter().filter(|p| p.optimal).map(|p| (p.x, p.y)).collect();
        front.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
        chart
            .draw_series(LineSeries::new(front, BLUE.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label("Pareto frontier")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
        for p in &pts {
            let style = if p.optimal {
                BLUE.filled()
            } else if p.feasible {
                RGBColor(128, 128, 128).filled()
            } else {
                RED.stroke_width(1)
            };
            let label = match (p.optimal, p.significant) {
                (true, Some(false)) => format!("{} (Pareto, not significant)", p.name),
                (true, _) => format!("{} (Pareto)", p.name),
                _ => p.name.clone(),
            };
            let glyph = EmptyElement::at((p.x, p.y))
                + Circle::new((0, 0), 5, style)
                + Text::new(label, (8, -16), ("sans-serif", 13).into_font());
            chart.draw_series(std::iter::once(glyph)).map_err(|e| err(&e))?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    crate::io::atomic::write(path, text.as_bytes())
}

/// Writes the picture: `.svg` directly; `.png` through `rsvg-convert` when it is installed
/// (this build draws SVG only, so it needs no system fonts).
pub fn write_picture(report: &Report, path: &Path) -> anyhow::Result<()> {
    write_picture_with(path, |p| svg(report, p))
}

/// [`write_picture`] with another SVG drawer (`draw` writes an SVG file at the path it is given).
pub fn write_picture_with(path: &Path, draw: impl Fn(&Path) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "svg" => draw(path),
        "png" => {
            let tmp = path.with_extension("svg.tmp");
            draw(&tmp)?;
            let status = std::process::Command::new("rsvg-convert")
                .arg("-o")
                .arg(path)
                .arg(&tmp)
                .status();
            let _ = std::fs::remove_file(&tmp);
            match status {
                Ok(s) if s.success() => Ok(()),
                Ok(s) => anyhow::bail!("--plot {}: rsvg-convert failed ({s})", path.display()),
                Err(_) => anyhow::bail!(
                    "--plot {}: PNG needs rsvg-convert (Debian: librsvg2-bin) on PATH; this build draws SVG only: use --plot {}",
                    path.display(),
                    path.with_extension("svg").display()
                ),
            }
        }
        _ => anyhow::bail!(
            "--plot {}: give a file ending in .svg (or .png with rsvg-convert installed)",
            path.display()
        ),
    }
}

fn fmt_tick(v: f64) -> String {
    if v.abs() >= 1000.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// The guide's terminal picture: throughput up, latency across; `●` optimal, `○` dominated,
/// `x` outside the SLO.
pub fn ascii(report: &Report) -> anyhow::Result<String> {
    let (xi, yi) = axes(report)?;
    let pts = points(report, xi, yi);
    let (w, h) = (60usize, 16usize);
    let (x0, x1) = range(pts.iter().map(|p| p.x));
    let (y0, y1) = range(pts.iter().map(|p| p.y));
    let mut grid = vec![vec![' '; w + 24]; h];
    let col = |x: f64| {
        (((x - x0) / (x1 - x0)) * (w - 1) as f64)
            .round()
            .clamp(0.0, (w - 1) as f64) as usize
    };
    let row = |y: f64| {
        (h - 1)
            - (((y - y0) / (y1 - y0)) * (h - 1) as f64)
                .round()
                .clamp(0.0, (h - 1) as f64) as usize
    };
    let mut order: Vec<&Pt> = pts.iter().collect();
    // Optimal points last so they win a shared cell; every glyph before any label, so a label
    // never hides a point.
    order.sort_by_key(|p| p.optimal);
    for p in &order {
        grid[row(p.y)][col(p.x)] = if p.optimal {
            '●'
        } else if p.feasible {
            '○'
        } else {
            'x'
        };
    }
    for p in order.iter().rev() {
        let (r, c) = (row(p.y), col(p.x));
        let long = format!(
            " {}{}",
            p.label,
            match (p.optimal, p.significant) {
                (true, Some(false)) => " (Pareto optimal, not significant)",
                (true, _) => " (Pareto optimal)",
                _ => "",
            }
        );
        let short = format!(" {}", p.label);
        for label in [long, short] {
            let cells: Vec<char> = label.chars().collect();
            let end = c + 1 + cells.len();
            if end <= grid[r].len() && grid[r][c + 1..end].iter().all(|ch| *ch == ' ') {
                grid[r][c + 1..end].copy_from_slice(&cells);
                break;
            }
        }
    }
    let mut s = String::new();
    s.push_str(&format!("{}\n", axis_label(&report.objectives[yi])));
    s.push_str(&format!("{:>9}\n", "^"));
    for (r, line) in grid.iter().enumerate() {
        let yv = y1 - (y1 - y0) * r as f64 / (h - 1) as f64;
        let tick = if r % 3 == 0 { fmt_tick(yv) } else { String::new() };
        let body: String = line.iter().collect();
        s.push_str(&format!("{tick:>8} | {}\n", body.trim_end()));
    }
    s.push_str(&format!(
        "{:>8} +{}> {}\n",
        "",
        "-".repeat(w + 1),
        axis_label(&report.objectives[xi])
    ));
    let mut ticks = vec![' '; w + 12];
    for i in 0..5 {
        let c = i * (w - 1) / 4;
        let t = fmt_tick(x0 + (x1 - x0) * c as f64 / (w - 1) as f64);
        for (j, ch) in t.chars().enumerate() {
            if c + j < ticks.len() {
                ticks[c + j] = ch;
            }
        }
    }
    s.push_str(&format!(
        "{:>10}{}\n",
        "",
        ticks.iter().collect::<String>().trim_end()
    ));
    s.push_str("● Pareto optimal   ○ dominated   x outside the SLO\n");
    Ok(s)
}
