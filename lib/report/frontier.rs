//! The Pareto frontier of the sweep, computed by pareto's own analysis on the values' metrics:
//! throughput against the latency objective, the frontier joined, dominated points greyed, points
//! outside the SLO hollow, every point named `concurrency=8`, the SLO's region shaded.

use serde_json::Value;

use super::page::{esc, table, Section};
use super::svg::{color, fmt_num, span_values, Axis, Chart, Dash, Mark, Scale};
use super::Ctx;
use crate::artifacts::names::describe_map;
use crate::pareto::input::InputPoint;
use crate::pareto::plot::axis_label;
use crate::pareto::{self, Op, ParetoOptions, Report, Slo};

/// The feasible range along an axis the SLOs on `key` leave (`None` when none is on it).
fn slo_range(slos: &[Slo], key: &str) -> Option<(f64, f64)> {
    let on: Vec<&Slo> = slos.iter().filter(|s| s.key == key).collect();
    if on.is_empty() {
        return None;
    }
    let (mut lo, mut hi) = (f64::NEG_INFINITY, f64::INFINITY);
    for s in on {
        match s.op {
            Op::Lt | Op::Le => hi = hi.min(s.threshold),
            Op::Gt | Op::Ge => lo = lo.max(s.threshold),
        }
    }
    Some((lo, hi))
}

fn op_text(op: Op) -> &'static str {
    match op {
        Op::Lt => "<",
        Op::Le => "≤",
        Op::Gt => ">",
        Op::Ge => "≥",
    }
}

fn chart(report: &Report, slos: &[Slo]) -> anyhow::Result<String> {
    let (xi, yi) = pareto::plot::axes(report)?;
    let (xk, yk) = (&report.objectives[xi].key, &report.objectives[yi].key);
    let num = |v: Option<&Value>| v.and_then(Value::as_f64);
    let pts: Vec<(f64, f64, &pareto::ReportPoint)> = report
        .points
        .iter()
        .filter_map(|p| Some((num(p.values.get(xk))?, num(p.values.get(yk))?, p)))
        .collect();
    let ci = |p: &pareto::ReportPoint, k: &str| {
        p.ci.get(k)
            .and_then(Value::as_array)
            .and_then(|a| Some((a.first()?.as_f64()?, a.get(1)?.as_f64()?)))
    };
    let axis = |i: usize, vals: Vec<f64>| {
        let k = report.objectives[i].key.as_str();
        let bounds: Vec<f64> = pts
            .iter()
            .filter_map(|(_, _, p)| ci(p, k))
            .flat_map(|(a, b)| [a, b])
            .collect();
        Axis::fit(
            axis_label(&report.objectives[i]),
            Scale::Linear,
            span_values(&vals, &bounds),
            true,
        )
    };
    let x = axis(xi, pts.iter().map(|p| p.0).collect());
    let y = axis(yi, pts.iter().map(|p| p.1).collect());
    let (xmin, xmax, ymin, ymax) = (x.min, x.max, y.min, y.max);
    let mut c = Chart::new("pareto", "Pareto frontier: throughput against latency", x, y);
    let (xr, yr) = (slo_range(slos, xk), slo_range(slos, yk));
    if xr.is_some() || yr.is_some() {
        let (x0, x1) = xr.unwrap_or((xmin, xmax));
        let (y0, y1) = yr.unwrap_or((ymin, ymax));
        c.region(
            x0.max(xmin),
            x1.min(xmax),
            y0.max(ymin),
            y1.min(ymax),
            "meets the SLO",
        );
    }
    let mut front: Vec<(f64, f64)> = pts
        .iter()
        .filter(|(_, _, p)| p.pareto_optimal)
        .map(|(x, y, _)| (*x, *y))
        .collect();
    front.sort_by(|a, b| a.0.total_cmp(&b.0));
    c.line("Pareto frontier", &front, color(0), Dash::Solid);
    for (x, y, p) in &pts {
        if let Some((lo, hi)) = ci(p, yk) {
            c.error_bar(*x, lo, hi);
        }
        if let Some((lo, hi)) = ci(p, xk) {
            c.error_bar_x(*y, lo, hi);
        }
        let mark = match (p.pareto_optimal, p.feasible) {
            (true, _) => Mark::Filled,
            (false, true) => Mark::Grey,
            (false, false) => Mark::Hollow,
        };
        let name = describe_map(&p.parameters);
        let state = if p.pareto_optimal {
            "Pareto optimal"
        } else if p.feasible {
            "dominated"
        } else {
            "outside the SLO"
        };
        let hover = format!("{name} ({state}): {yk} {}, {xk} {}", fmt_num(*y), fmt_num(*x));
        c.point(*x, *y, mark, color(0), Some(&name), &hover);
    }
    Ok(c.finish())
}

/// The frontier chart and its table; a note instead when the values lack the objectives.
pub fn section(ctx: &Ctx) -> Option<Section> {
    let f = ctx.folder;
    let points: Vec<InputPoint> = f
        .values
        .iter()
        .filter(|v| !v.metrics.is_empty())
        .map(|v| InputPoint {
            parameters: v.params_map(),
            metrics: v.metrics.clone(),
        })
        .collect();
    if points.len() < 2 {
        return None;
    }
    // With the values' intervals, so each point gets whiskers along both axes.
    let opts = ParetoOptions {
        slos: ctx.slos.to_vec(),
        ci: true,
        ..ParetoOptions::default()
    };
    let report = match pareto::run(&points, &opts) {
        Ok(r) => r,
        Err(e) => {
            return Some(Section::new(
                "pareto",
                "Pareto frontier",
                format!("<p class=\"warn\">No frontier: {}</p>", esc(&format!("{e:#}"))),
            ));
        }
    };
    let (xi, yi) = pareto::plot::axes(&report).ok()?;
    let (xk, yk) = (
        report.objectives[xi].key.clone(),
        report.objectives[yi].key.clone(),
    );
    let svg = match chart(&report, ctx.slos) {
        Ok(s) => s,
        Err(e) => format!("<p class=\"warn\">{}</p>", esc(&format!("{e:#}"))),
    };
    let rows: Vec<Vec<String>> = report
        .points
        .iter()
        .map(|p| {
            let v = |k: &str| {
                p.values
                    .get(k)
                    .and_then(Value::as_f64)
                    .map(fmt_num)
                    .unwrap_or_default()
            };
            let state = if p.pareto_optimal {
                "<strong>Pareto optimal</strong>".to_string()
            } else if !p.feasible {
                "<span class=\"bad\">outside the SLO</span>".to_string()
            } else {
                format!(
                    "dominated by {}",
                    esc(&p
                        .dominated_by
                        .iter()
                        .map(describe_map)
                        .collect::<Vec<_>>()
                        .join("; "))
                )
            };
            vec![esc(&describe_map(&p.parameters)), v(&yk), v(&xk), state]
        })
        .collect();
    let slo_text = if ctx.slos.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = ctx
            .slos
            .iter()
            .map(|s| format!("{} {} {}", s.key, op_text(s.op), fmt_num(s.threshold)))
            .collect();
        format!(
            "<p class=\"note\">SLO: {}. Points that miss it are hollow; the shaded area meets it.</p>",
            esc(&list.join(", "))
        )
    };
    let head = [
        axis_label(&report.objectives[yi]),
        axis_label(&report.objectives[xi]),
    ];
    let html = format!(
        "<p class=\"note\">A point is Pareto optimal when no other has both higher throughput and lower latency. Grey points are dominated; bars are confidence intervals.</p>{slo_text}<div class=\"charts\">{svg}</div>{}",
        table(&["value", &head[0], &head[1], "state"], &rows)
    );
    Some(Section::new("pareto", "Pareto frontier", html))
}
