//! One run per value over time: requests in flight, completions and output tokens per second from
//! its records, and beside them the server's own gauges scraped during the run (KV-cache usage,
//! queue length, running requests, GPU power and utilisation), on the same clock.

use std::collections::BTreeMap;
use std::path::Path;

use super::digest::{timeline, Timeline};
use super::load::Run;
use super::page::{esc, Section};
use super::svg::{color, Axis, Chart, Dash, Scale};
use super::Ctx;
use crate::artifacts::names::describe;
use crate::telemetry::prometheus::MetricType;
use crate::telemetry::window::family_info;
use crate::telemetry::{read_samples, SampleLine};

/// Bins per timeline: fine enough to see ramps and stalls, coarse enough that each bin holds a few
/// completions (else completions per second is a comb of zeros and spikes).
fn bins(requests: usize) -> usize {
    (requests / 5).clamp(10, 120)
}
/// Most points per server-metric line (samples are thinned evenly beyond it).
const MAX_SAMPLES: usize = 300;

/// The gauges worth a chart, in display order: (title, does this metric name belong to it).
type IsGauge = fn(&str) -> bool;

const GAUGES: [(&str, IsGauge); 5] = [
    ("KV-cache usage", |n| {
        n.contains("kv_cache_usage") || n.contains("gpu_cache_usage") || n == "sglang:token_usage"
    }),
    ("Requests waiting (queue)", |n| {
        n.contains("num_requests_waiting") || n.contains("num_queue_reqs")
    }),
    ("Requests running", |n| {
        n.contains("num_requests_running") || n.contains("num_running_reqs")
    }),
    ("GPU power", |n| n == "DCGM_FI_DEV_POWER_USAGE"),
    ("GPU utilisation", |n| n == "DCGM_FI_DEV_GPU_UTIL"),
];

fn time_axis(t: &Timeline) -> Axis {
    Axis::fit(
        "time since the first request (s)",
        Scale::Linear,
        [0.0, t.t.last().copied().unwrap_or(1.0) + t.bin_s / 2.0],
        true,
    )
}

fn load_charts(id: &str, t: &Timeline) -> Vec<String> {
    let series: [(&str, &str, &str, &Vec<f64>); 3] = [
        (
            "inflight",
            "Requests in flight",
            "requests in flight",
            &t.in_flight,
        ),
        (
            "completions",
            "Completions per second",
            "completed requests (requests/sec)",
            &t.completions,
        ),
        (
            "tokens",
            "Output tokens per second",
            "output tokens (tokens/sec)",
            &t.tokens,
        ),
    ];
    series
        .iter()
        .enumerate()
        .map(|(i, (sid, title, ylabel, vals))| {
            let y = Axis::fit(*ylabel, Scale::Linear, vals.iter().copied(), true);
            let mut c = Chart::new(&format!("{id}-{sid}"), title, time_axis(t), y);
            let pts: Vec<(f64, f64)> = t.t.iter().copied().zip(vals.iter().copied()).collect();
            c.line(title, &pts, color(i), Dash::Solid);
            c.finish()
        })
        .collect()
}

/// A series' name in the legend: its GPU, or its labels, or the metric itself.
fn series_name(l: &SampleLine) -> String {
    let metric = l.metric.clone().unwrap_or_default();
    match l.labels.get("gpu") {
        Some(g) => format!("GPU {g}"),
        None => {
            let labels: Vec<String> = l
                .labels
                .iter()
                .filter(|(k, _)| k.as_str() != "model_name" && k.as_str() != "engine")
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            if labels.is_empty() {
                metric
            } else {
                format!("{metric} {{{}}}", labels.join(","))
            }
        }
    }
}

/// The gauge lines of one samples file: chart title → metric → series → (t s, value).
type Gauges = BTreeMap<usize, (String, BTreeMap<String, Vec<(f64, f64)>>)>;

fn gauges(path: &Path, origin_ns: u64, out: &mut Gauges, warnings: &mut Vec<String>) {
    let lines = match read_samples(path) {
        Ok((lines, stats)) => {
            warnings.extend(stats.warnings());
            lines
        }
        Err(e) => {
            warnings.push(format!("{e:#}: its server metrics are left out"));
            return;
        }
    };
    for l in &lines {
        let (Some(metric), Some(v)) = (&l.metric, l.value) else {
            continue;
        };
        if !matches!(l.kind, Some(MetricType::Gauge) | Some(MetricType::Untyped) | None) {
            continue;
        }
        let Some(gi) = GAUGES.iter().position(|(_, is)| is(metric)) else {
            continue;
        };
        let t = (l.timestamp_ns as f64 - origin_ns as f64) / 1e9;
        let entry = out.entry(gi).or_insert_with(|| (metric.clone(), BTreeMap::new()));
        entry.1.entry(series_name(l)).or_default().push((t, v));
    }
}

fn gauge_charts(id: &str, run: &Run, t: &Timeline, warnings: &mut Vec<String>) -> Vec<String> {
    let mut g = Gauges::new();
    for p in [&run.server_metrics, &run.gpu_telemetry].into_iter().flatten() {
        gauges(p, t.origin_ns, &mut g, warnings);
    }
    g.iter()
        .map(|(gi, (metric, series))| {
            let unit = family_info(metric).0;
            let ylabel = if unit.is_empty() {
                metric.clone()
            } else {
                format!("{metric} ({unit})")
            };
            let ys = series.values().flat_map(|s| s.iter().map(|p| p.1));
            let y = Axis::fit(ylabel, Scale::Linear, ys.collect::<Vec<_>>(), true);
            let tmax = series
                .values()
                .flat_map(|s| s.iter().map(|p| p.0))
                .fold(t.t.last().copied().unwrap_or(1.0), f64::max);
            let x = Axis::fit(
                "time since the first request (s)",
                Scale::Linear,
                [0.0, tmax],
                true,
            );
            let mut c = Chart::new(&format!("{id}-server-{gi}"), GAUGES[*gi].0, x, y);
            for (i, (name, pts)) in series.iter().enumerate() {
                let step = pts.len().div_ceil(MAX_SAMPLES).max(1);
                let thin: Vec<(f64, f64)> = pts.iter().step_by(step).copied().collect();
                c.line(name, &thin, color(i), Dash::Solid);
            }
            c.finish()
        })
        .collect()
}

/// The run whose timeline represents a value: its first successful run with records, else any
/// run with records.
fn pick(ctx: &Ctx, runs: &[usize]) -> Option<usize> {
    let f = ctx.folder;
    let with = |i: &&usize| ctx.digests[**i].as_ref().is_some_and(|d| !d.events.is_empty());
    runs.iter()
        .filter(with)
        .find(|&&i| f.runs[i].ok())
        .or_else(|| runs.iter().find(with))
        .copied()
}

/// The timelines section: one folding block per value, the first one open.
pub fn section(ctx: &Ctx, warnings: &mut Vec<String>) -> Option<Section> {
    let f = ctx.folder;
    let mut html = String::new();
    for (vi, v) in f.values.iter().enumerate() {
        let Some(ri) = pick(ctx, &v.runs) else { continue };
        let run = &f.runs[ri];
        let Some(t) = ctx.digests[ri]
            .as_ref()
            .and_then(|d| timeline(&d.events, bins(d.events.len())))
        else {
            continue;
        };
        let id = format!("timeline-{vi}");
        let mut charts = load_charts(&id, &t);
        let server = gauge_charts(&id, run, &t, warnings);
        let note = if server.is_empty() {
            " No server metrics were scraped for it (scripts/profile scrapes /metrics unless --no-server-metrics)."
        } else {
            ""
        };
        charts.extend(server);
        let rel = run
            .dir
            .strip_prefix(&f.root)
            .unwrap_or(&run.dir)
            .display()
            .to_string();
        // A single run's folder is the report's own: name it rather than print an empty path.
        let rel = if rel.is_empty() {
            f.root.display().to_string()
        } else {
            rel
        };
        let name = if f.is_sweep() {
            describe(&v.parameters)
        } else {
            "this run".into()
        };
        html.push_str(&format!(
            "<details{}><summary>{} — {}</summary><p class=\"note\">Run <code>{}</code>, {} s bins.{note}</p><div class=\"charts\">{}</div></details>",
            if html.is_empty() { " open" } else { "" },
            esc(&name),
            esc(&run.label),
            esc(&rel),
            t.bin_s,
            charts.join("")
        ));
    }
    if html.is_empty() {
        return None;
    }
    Some(Section::new("timelines", "Over time", html))
}
