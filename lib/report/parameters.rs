//! The sweep's charts, one set per swept parameter: request and token throughput, TTFT, ITL and
//! request latency (p50/p90/p99) and goodput against the parameter, each line with its confidence
//! band across trials. In a grid sweep the other parameters' values make separate lines.

use std::fmt::Write;

use serde_json::Value;

use super::load::ValueGroup;
use super::page::{esc, Section};
use super::svg::{color, fmt_num, geometric, span_values, Axis, Chart, Dash, Mark, Scale};
use super::Ctx;
use crate::artifacts::names::describe;
use crate::pareto::input::{metric_unit, metric_value};

/// One line to draw: the metric key, its legend name, its dash.
struct Series {
    key: &'static str,
    name: &'static str,
    dash: Dash,
}

const fn s(key: &'static str, name: &'static str, dash: Dash) -> Series {
    Series { key, name, dash }
}

/// The charts along a parameter: (id suffix, title, y metric tag, series).
const CHARTS: [(&str, &str, &str, &[Series]); 6] = [
    (
        "req-throughput",
        "Request throughput",
        "request_throughput",
        &[s("request_throughput_avg", "mean", Dash::Solid)],
    ),
    (
        "tok-throughput",
        "Output token throughput",
        "output_token_throughput",
        &[s("output_token_throughput_avg", "mean", Dash::Solid)],
    ),
    (
        "ttft",
        "Time to first token",
        "time_to_first_token",
        &[
            s("time_to_first_token_p50", "p50", Dash::Solid),
            s("time_to_first_token_p90", "p90", Dash::Dashed),
            s("time_to_first_token_p99", "p99", Dash::Dotted),
        ],
    ),
    (
        "itl",
        "Inter-token latency",
        "inter_token_latency",
        &[
            s("inter_token_latency_p50", "p50", Dash::Solid),
            s("inter_token_latency_p90", "p90", Dash::Dashed),
            s("inter_token_latency_p99", "p99", Dash::Dotted),
        ],
    ),
    (
        "latency",
        "Request latency",
        "request_latency",
        &[
            s("request_latency_p50", "p50", Dash::Solid),
            s("request_latency_p90", "p90", Dash::Dashed),
            s("request_latency_p99", "p99", Dash::Dotted),
        ],
    ),
    (
        "goodput",
        "Goodput",
        "goodput",
        &[s("goodput_avg", "mean", Dash::Solid)],
    ),
];

/// The values grouped by the other parameters' values: (group name, [(x, value)]).
fn lines<'a>(values: &'a [ValueGroup], param: &str) -> Vec<(String, Vec<(f64, &'a ValueGroup)>)> {
    let mut out: Vec<(String, Vec<(f64, &ValueGroup)>)> = Vec::new();
    for v in values.iter().filter(|v| !v.metrics.is_empty()) {
        let Some(x) = v
            .parameters
            .iter()
            .find(|(k, _)| k == param)
            .and_then(|(_, x)| x.as_f64())
        else {
            continue;
        };
        let others: Vec<(String, Value)> = v.parameters.iter().filter(|(k, _)| k != param).cloned().collect();
        let name = if others.is_empty() {
            String::new()
        } else {
            describe(&others)
        };
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some((_, pts)) => pts.push((x, v)),
            None => out.push((name, vec![(x, v)])),
        }
    }
    for (_, pts) in &mut out {
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    out
}

/// A value's place on the x axis, its mean, its interval, and the value itself.
type Found<'a> = (f64, f64, Option<(f64, f64)>, &'a ValueGroup);

/// One chart of `series` against `param`; `None` when no value has any of them.
fn chart(
    param: &str,
    groups: &[(String, Vec<(f64, &ValueGroup)>)],
    id: &str,
    title: &str,
    tag: &str,
    series: &[Series],
) -> Option<String> {
    let all = || groups.iter().flat_map(|(_, pts)| pts.iter());
    let found: Vec<(f64, Option<(f64, f64)>)> = all()
        .flat_map(|(_, v)| series.iter().filter_map(|s| metric_value(&v.metrics, s.key)))
        .collect();
    if found.is_empty() {
        return None;
    }
    let means: Vec<f64> = found.iter().map(|f| f.0).collect();
    let bounds: Vec<f64> = found
        .iter()
        .filter_map(|f| f.1)
        .flat_map(|(a, b)| [a, b])
        .collect();
    let ys = span_values(&means, &bounds);
    let unit = all()
        .find_map(|(_, v)| series.iter().find_map(|s| metric_unit(&v.metrics, s.key)))
        .unwrap_or_default();
    let xs: Vec<f64> = all().map(|(x, _)| *x).collect();
    let scale = if geometric(&xs) { Scale::Log } else { Scale::Linear };
    let mut ticks = xs.clone();
    ticks.sort_by(f64::total_cmp);
    ticks.dedup();
    let x = Axis::fit(param, scale, xs.iter().copied(), false).with_ticks(ticks);
    let y_label = if unit.is_empty() {
        tag.to_string()
    } else {
        format!("{tag} ({unit})")
    };
    let y = Axis::fit(y_label, Scale::Linear, ys, true);
    let mut c = Chart::new(id, &format!("{title} by {param}"), x, y);
    for (gi, (group, pts)) in groups.iter().enumerate() {
        for (si, s) in series.iter().enumerate() {
            let col = color(if groups.len() > 1 { gi } else { si });
            let vals: Vec<Found> = pts
                .iter()
                .filter_map(|(x, v)| metric_value(&v.metrics, s.key).map(|(m, ci)| (*x, m, ci, *v)))
                .collect();
            if vals.is_empty() {
                continue;
            }
            let band: Vec<(f64, f64, f64)> = vals
                .iter()
                .map(|(x, m, ci, _)| (*x, ci.map_or(*m, |c| c.0), ci.map_or(*m, |c| c.1)))
                .collect();
            c.band(&band, col);
            let name = match (group.is_empty(), series.len() > 1) {
                (true, _) => format!("{tag} {}", s.name),
                (false, true) => format!("{group} {}", s.name),
                (false, false) => group.clone(),
            };
            c.line(
                &name,
                &vals.iter().map(|(x, m, _, _)| (*x, *m)).collect::<Vec<_>>(),
                col,
                s.dash,
            );
            for (x, m, ci, v) in &vals {
                let mut hover = format!("{}: {} {} {unit}", describe(&v.parameters), s.key, fmt_num(*m));
                if let Some((lo, hi)) = ci {
                    let _ = write!(hover, " (CI {} – {})", fmt_num(*lo), fmt_num(*hi));
                }
                c.point(*x, *m, Mark::Filled, col, None, &hover);
            }
        }
    }
    Some(c.finish())
}

/// One section per swept parameter with every chart the values have data for.
pub fn sections(ctx: &Ctx) -> Vec<Section> {
    let f = ctx.folder;
    let mut out = Vec::new();
    for param in &f.parameters {
        let groups = lines(&f.values, param);
        if groups.is_empty() {
            continue;
        }
        let charts: Vec<String> = CHARTS
            .iter()
            .filter_map(|(id, title, tag, series)| {
                chart(param, &groups, &format!("{param}-{id}"), title, tag, series)
            })
            .collect();
        if charts.is_empty() {
            continue;
        }
        let trials = f
            .values
            .iter()
            .map(|v| v.runs.iter().filter(|&&i| f.runs[i].ok()).count())
            .max()
            .unwrap_or(0);
        let note = if trials > 1 {
            format!("Lines are across-trial means; shaded bands are the {:.0}% confidence intervals (cut at the chart's edge when wider).", f.confidence_level * 100.0)
        } else {
            "One trial per value, so no confidence bands.".to_string()
        };
        out.push(Section::new(
            &format!("by-{param}"),
            &format!("By {param}"),
            format!(
                "<p class=\"note\">{}</p><div class=\"charts\">{}</div>",
                esc(&note),
                charts.join("")
            ),
        ));
    }
    out
}
