//! Several configurations in one picture: throughput against latency, one colour and marker per
//! configuration (Okabe–Ito, shapes for readers who cannot tell the colours apart), each one's own
//! frontier joined, confidence whiskers on both axes, a legend, and labels only where they fit:
//! frontier points first, the rest named by their hover text. `pareto A=… B=… --plot` draws it as
//! a file; `report base=DIR new=DIR` puts it under the decision panel.

use serde_json::Value;

use super::svg::{color, fmt_num, span_values, Axis, Chart, Dash, Scale, Shape};
use crate::artifacts::names::describe_map;
use crate::pareto::plot::{axes, axis_label};
use crate::pareto::{Report, ReportPoint};

/// The parameter pareto labels each input's points with.
pub const CONFIG_KEY: &str = "config";

/// One point as the chart needs it.
struct Pt<'a> {
    x: f64,
    y: f64,
    xci: Option<(f64, f64)>,
    yci: Option<(f64, f64)>,
    config: String,
    p: &'a ReportPoint,
}

fn ci(p: &ReportPoint, k: &str) -> Option<(f64, f64)> {
    p.ci.get(k)
        .and_then(Value::as_array)
        .and_then(|a| Some((a.first()?.as_f64()?, a.get(1)?.as_f64()?)))
}

/// The points of a configuration no other point of the same configuration dominates (lower x and
/// higher y, one of them strictly).
fn own_frontier(pts: &[&Pt]) -> Vec<bool> {
    pts.iter()
        .map(|a| {
            !pts.iter()
                .any(|b| b.x <= a.x && b.y >= a.y && (b.x < a.x || b.y > a.y))
        })
        .collect()
}

/// The configurations in the order their points first appear.
pub fn labels(report: &Report) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in &report.points {
        let l = p
            .parameters
            .get(CONFIG_KEY)
            .map(crate::artifacts::names::value_text)
            .unwrap_or_default();
        if !out.contains(&l) {
            out.push(l);
        }
    }
    out
}

/// The chart (an `<svg class="chart">` element) and, for tests, its label boxes.
pub fn chart(report: &Report, title: &str) -> anyhow::Result<(String, Vec<(f64, f64, f64, f64)>)> {
    let (xi, yi) = axes(report)?;
    let (xk, yk) = (&report.objectives[xi].key, &report.objectives[yi].key);
    let num = |p: &ReportPoint, k: &str| p.values.get(k).and_then(Value::as_f64);
    let pts: Vec<Pt> = report
        .points
        .iter()
        .filter_map(|p| {
            Some(Pt {
                x: num(p, xk)?,
                y: num(p, yk)?,
                xci: ci(p, xk),
                yci: ci(p, yk),
                config: p
                    .parameters
                    .get(CONFIG_KEY)
                    .map(crate::artifacts::names::value_text)
                    .unwrap_or_default(),
                p,
            })
        })
        .collect();
    let fit = |i: usize, means: Vec<f64>, bounds: Vec<f64>| {
        Axis::fit(
            axis_label(&report.objectives[i]),
            Scale::Linear,
            span_values(&means, &bounds),
            true,
        )
    };
    let flat = |f: fn(&Pt) -> Option<(f64, f64)>| -> Vec<f64> {
        pts.iter().filter_map(f).flat_map(|(a, b)| [a, b]).collect()
    };
    let x = fit(xi, pts.iter().map(|p| p.x).collect(), flat(|p| p.xci));
    let y = fit(yi, pts.iter().map(|p| p.y).collect(), flat(|p| p.yci));
    let mut c = Chart::new("configurations", title, x, y);
    let configs = labels(report);
    let mut labelled: Vec<(&Pt, usize, bool)> = Vec::new();
    for (i, name) in configs.iter().enumerate() {
        let mine: Vec<&Pt> = pts.iter().filter(|p| &p.config == name).collect();
        let front = own_frontier(&mine);
        let mut line: Vec<(f64, f64)> = mine
            .iter()
            .zip(&front)
            .filter(|(_, f)| **f)
            .map(|(p, _)| (p.x, p.y))
            .collect();
        line.sort_by(|a, b| a.0.total_cmp(&b.0));
        c.line(&format!("{name} frontier"), &line, color(i), Dash::Solid);
        c.legend_marker(name, color(i), Shape::nth(i));
        for (p, f) in mine.into_iter().zip(front) {
            if let Some((lo, hi)) = p.yci {
                c.error_bar(p.x, lo, hi);
            }
            if let Some((lo, hi)) = p.xci {
                c.error_bar_x(p.y, lo, hi);
            }
            labelled.push((p, i, f));
        }
    }
    // Frontier points first, so they get the label spots; the rest are named on hover.
    labelled.sort_by_key(|(_, _, f)| !*f);
    for (p, i, f) in labelled {
        let mut params = p.p.parameters.clone();
        params.remove(CONFIG_KEY);
        let name = describe_map(&params);
        let state = if f { "on its frontier" } else { "dominated" };
        let hover = format!(
            "{} {name} ({state}): {yk} {}, {xk} {}",
            p.config,
            fmt_num(p.y),
            fmt_num(p.x)
        );
        let label = format!("{} {name}", p.config);
        c.marker(
            p.x,
            p.y,
            Shape::nth(i),
            color(i),
            f,
            f.then_some(label.as_str()),
            &hover,
        );
    }
    let boxes = c.label_boxes().to_vec();
    Ok((c.finish(), boxes))
}

/// The chart as a standalone SVG file: the namespace and the page's chart styles inline.
pub fn standalone(svg: &str) -> String {
    const STYLE: &str = "<style>.title{font:600 15px sans-serif;fill:#222}.tick,.legend,.plabel,.rlabel{font:12px sans-serif;fill:#333}.axis-label{font:13px sans-serif;fill:#333}.grid{stroke:#eceff2}.frame{stroke:#9aa3ad}</style>";
    let svg = svg.replacen("<svg ", "<svg xmlns=\"http://www.w3.org/2000/svg\" ", 1);
    match svg.find('>') {
        Some(i) => format!("{}{STYLE}{}\n", &svg[..=i], &svg[i + 1..]),
        None => svg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pareto::input::InputPoint;
    use crate::pareto::{self, ParetoOptions};
    use serde_json::json;

    fn point(config: &str, c: u64, thr: f64, ttft: f64) -> InputPoint {
        let stats = |m: f64| json!({"mean": m, "ci_low": m * 0.8, "ci_high": m * 1.2, "unit": "x"});
        InputPoint {
            parameters: serde_json::from_value(json!({"config": config, "concurrency": c})).unwrap(),
            metrics: serde_json::from_value(json!({
                "request_throughput_avg": stats(thr),
                "time_to_first_token_p99": stats(ttft),
            }))
            .unwrap(),
        }
    }

    fn overlaps(a: &(f64, f64, f64, f64), b: &(f64, f64, f64, f64)) -> bool {
        a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
    }

    #[test]
    fn two_configurations_get_two_colours_a_legend_and_labels_that_fit() {
        // Crowded on purpose: many points close together, one at the right edge.
        let mut pts = Vec::new();
        for (i, c) in [1u64, 2, 4, 8, 16, 32, 64].iter().enumerate() {
            let f = i as f64;
            pts.push(point("batch16", *c, 10.0 + 10.0 * f, 20.0 + 3.0 * f));
            pts.push(point("batch8", *c, 9.0 + 8.0 * f, 21.0 + 4.0 * f));
        }
        let report = pareto::run(&pts, &ParetoOptions::default()).unwrap();
        let (svg, boxes) = chart(&report, "t").unwrap();
        for col in [color(0), color(1)] {
            assert!(svg.contains(&format!("stroke=\"{col}\"")), "{col} missing");
        }
        assert!(
            svg.contains("class=\"legend-mark\"")
                && svg.contains(">batch16</text>")
                && svg.contains(">batch8</text>")
        );
        assert!(
            svg.contains("<rect x=") && svg.contains("<circle cx="),
            "two marker shapes"
        );
        assert!(!boxes.is_empty());
        for (i, b) in boxes.iter().enumerate() {
            assert!(
                b.0 >= 0.0 && b.2 <= 640.0 && b.1 >= 0.0 && b.3 <= 380.0,
                "label {i} leaves the chart: {b:?}"
            );
            for o in &boxes[..i] {
                assert!(!overlaps(b, o), "labels overlap: {b:?} {o:?}");
            }
        }
        // Every point is named on hover, labelled or not.
        assert_eq!(svg.matches("class=\"point\"").count(), 14);
        let hovers = svg.matches("<title>batch16 concurrency=").count()
            + svg.matches("<title>batch8 concurrency=").count();
        assert_eq!(hovers, 14);
    }

    #[test]
    fn whiskers_never_go_below_zero() {
        let mut pts = vec![point("a", 1, 1.0, 2.0), point("b", 1, 1.5, 2.5)];
        // An interval reaching below zero.
        pts[0].metrics.insert(
            "request_throughput_avg".into(),
            json!({"mean": 1.0, "ci_low": -3.0, "ci_high": 5.0, "unit": "x"}),
        );
        let report = pareto::run(&pts, &ParetoOptions::default()).unwrap();
        let (svg, _) = chart(&report, "t").unwrap();
        // The plot's bottom (y = 0) is at 380 - 52 = 328: no whisker reaches below it.
        for seg in svg.split("class=\"ci\" d=\"").skip(1) {
            let d = &seg[..seg.find('"').unwrap()];
            for y in d.split(['M', 'L', ' ']).filter_map(|p| p.split(',').nth(1)) {
                assert!(y.parse::<f64>().unwrap() <= 328.01, "{d}");
            }
        }
        let doc = standalone(&svg);
        assert!(
            doc.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\"")
                && doc.contains("<style>")
        );
    }
}
