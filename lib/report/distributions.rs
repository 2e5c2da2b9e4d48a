//! Per-request distributions: the CDFs of TTFT, ITL and request latency, one line per value
//! (its trials' records pooled), so the whole shape shows, not only p50/p99.

use super::digest::{cdf, Digest};
use super::load::Status;
use super::page::Section;
use super::svg::{color, Axis, Chart, Dash, Scale};
use super::Ctx;
use crate::artifacts::names::describe;

/// Points per CDF line: enough to look smooth, few enough to keep the page small.
const CDF_POINTS: usize = 160;

type Pick = fn(&Digest) -> &Vec<f64>;

const METRICS: [(&str, &str, Pick); 3] = [
    ("time_to_first_token", "TTFT", |d| &d.ttft),
    ("inter_token_latency", "ITL", |d| &d.itl),
    ("request_latency", "Request latency", |d| &d.latency),
];

/// The CDF section; `None` when no run left records.
pub fn section(ctx: &Ctx) -> Option<Section> {
    let f = ctx.folder;
    let mut charts = Vec::new();
    for (tag, title, pick) in METRICS {
        // Per value: every successful request of its finished or interrupted runs.
        let lines: Vec<(String, Vec<f64>)> = f
            .values
            .iter()
            .map(|v| {
                let vals: Vec<f64> = v
                    .runs
                    .iter()
                    .filter(|&&i| !matches!(f.runs[i].status, Status::Failed(_)))
                    .filter_map(|&i| ctx.digests[i].as_ref())
                    .flat_map(|d| pick(d).iter().copied())
                    .collect();
                (describe(&v.parameters), vals)
            })
            .filter(|(_, vals)| !vals.is_empty())
            .collect();
        if lines.is_empty() {
            continue;
        }
        let curves: Vec<(String, Vec<(f64, f64)>)> = lines
            .iter()
            .map(|(n, v)| (n.clone(), cdf(v, CDF_POINTS)))
            .collect();
        let xs: Vec<f64> = curves.iter().flat_map(|(_, c)| c.iter().map(|p| p.0)).collect();
        let (lo, hi) = xs
            .iter()
            .fold((f64::INFINITY, 0.0f64), |(l, h), x| (l.min(*x), h.max(*x)));
        // Latencies across a sweep can span orders of magnitude: then a log axis keeps each readable.
        let scale = if lo > 0.0 && hi / lo > 50.0 {
            Scale::Log
        } else {
            Scale::Linear
        };
        let x = Axis::fit(format!("{tag} (ms)"), scale, xs, scale == Scale::Linear);
        let y = Axis::fit("share of requests (%)", Scale::Linear, [0.0, 100.0], true)
            .with_ticks(vec![0.0, 25.0, 50.0, 75.0, 90.0, 99.0]);
        let mut c = Chart::new(
            &format!("cdf-{tag}"),
            &format!("{title}: cumulative distribution"),
            x,
            y,
        );
        for (i, ((name, curve), (_, vals))) in curves.iter().zip(&lines).enumerate() {
            let legend = if name == "base" {
                format!("{} requests", vals.len())
            } else {
                name.clone()
            };
            c.line(&legend, curve, color(i), Dash::Solid);
        }
        charts.push(c.finish());
    }
    if charts.is_empty() {
        return None;
    }
    Some(Section::new(
        "distributions",
        "Latency distributions",
        format!(
            "<p class=\"note\">Cumulative share of successful requests at or below each latency; each value's trials pooled. A line far to the right at the top is a tail.</p><div class=\"charts\">{}</div>",
            charts.join("")
        ),
    ))
}
