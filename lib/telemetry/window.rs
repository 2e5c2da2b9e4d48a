//! The summary of server metrics and GPU telemetry samples over a trial's profiling window (what
//! `trial-agg` writes as `server_metrics`), and its per-GPU view (`telemetry_data`).
//!
//! - gauges (and untyped): avg, min, max, std (ddof=1, as AIPerf does for telemetry), p1..p99 over the
//!   scraped values inside the window;
//! - counters: `total` = increase over the window (a drop is a counter reset: the new value is the
//!   increase since the reset), `rate` = total / seconds between the first and last sample used;
//! - histograms: bucket increases over the window, `count`, `sum`, `avg`, rates, and quantile
//!   estimates `pXX_estimate` by linear interpolation inside the bucket (Prometheus' histogram_quantile).
//!
//! For counters and histograms, the sample just before the window starts is the baseline and the
//! first one after it ends (the closing scrape) is the end point.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value as Json};

use crate::contract::summary::PERCENTILES;
use crate::stats::distribution::percentile_linear_sorted;
use crate::telemetry::prometheus::MetricType;
use crate::telemetry::samples::SampleLine;

/// Known metric families, recognised by name: their unit and which product they come from.
pub fn family_info(name: &str) -> (&'static str, &'static str) {
    let source = if name.starts_with("vllm:") {
        "vllm"
    } else if name.starts_with("sglang:") {
        "sglang"
    } else if name.starts_with("trtllm") || name.starts_with("tensorrt_llm") {
        "tensorrt_llm"
    } else if name.starts_with("dynamo") {
        "dynamo"
    } else if name.starts_with("DCGM_FI_") {
        "dcgm"
    } else {
        "other"
    };
    let unit = match name {
        n if n.ends_with("_seconds") || n.ends_with("_seconds_total") => "seconds",
        n if n.contains("tokens") => "tokens",
        n if n.ends_with("_perc") || n.ends_with("_usage_perc") => "ratio",
        "DCGM_FI_DEV_GPU_UTIL" | "DCGM_FI_DEV_MEM_COPY_UTIL" => "percent",
        "DCGM_FI_DEV_FB_USED" | "DCGM_FI_DEV_FB_FREE" | "DCGM_FI_DEV_FB_TOTAL" => "MiB",
        "DCGM_FI_DEV_POWER_USAGE" => "W",
        "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION" => "mJ",
        n if n.ends_with("_TEMP") => "celsius",
        n if n.ends_with("_CLOCK") => "MHz",
        n if n.contains("request") => "requests",
        _ => "",
    };
    (unit, source)
}

/// Series identity: endpoint + family + labels (without `le`).
type SeriesKey = (String, String, BTreeMap<String, String>);

#[derive(Default)]
struct Series {
    kind: Option<MetricType>,
    /// (timestamp_ns, value) in arrival order, for plain samples.
    points: Vec<(u64, f64)>,
    /// Histogram: per `le` bound, its (timestamp, cumulative count) points; plus _sum and _count.
    buckets: BTreeMap<String, Vec<(u64, f64)>>,
    sum: Vec<(u64, f64)>,
    count: Vec<(u64, f64)>,
}

/// Points in the window, preceded by the last one before it (the baseline) and followed by the
/// first one after it: the closing scrape. A scrape lands up to an interval after the last response
/// (scrape takes a final one when stopped); without it a counter misses the run's tail and a run
/// shorter than the interval has no increase at all. AIPerf likewise ends the window at
/// `max(profiling end, last update)`, which is its final scrape.
fn windowed(points: &[(u64, f64)], start: u64, end: u64) -> Vec<(u64, f64)> {
    let mut out = Vec::new();
    if let Some(base) = points.iter().rev().find(|(t, _)| *t < start) {
        out.push(*base);
    }
    out.extend(points.iter().filter(|(t, _)| *t >= start && *t <= end));
    out.extend(points.iter().find(|(t, _)| *t > end));
    out
}

/// Increase of a counter over the points, treating any drop as a reset to zero.
pub fn counter_increase(points: &[(u64, f64)]) -> f64 {
    points
        .windows(2)
        .map(|w| if w[1].1 >= w[0].1 { w[1].1 - w[0].1 } else { w[1].1 })
        .sum()
}

fn span_seconds(points: &[(u64, f64)]) -> f64 {
    match (points.first(), points.last()) {
        (Some(a), Some(b)) if b.0 > a.0 => (b.0 - a.0) as f64 / 1e9,
        _ => 0.0,
    }
}

/// Quantile `q` (0..1) from cumulative bucket counts `(upper_bound, count)` sorted by bound, by linear
/// interpolation inside the bucket that holds it (lower bound 0 for the first bucket); a quantile in
/// the `+Inf` bucket is the largest finite bound.
pub fn histogram_quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut prev_bound = 0.0;
    let mut prev_count = 0.0;
    for &(bound, count) in buckets {
        if count >= rank {
            if bound.is_infinite() {
                return Some(prev_bound);
            }
            let in_bucket = count - prev_count;
            if in_bucket <= 0.0 {
                return Some(bound);
            }
            return Some(prev_bound + (bound - prev_bound) * (rank - prev_count) / in_bucket);
        }
        prev_bound = bound;
        prev_count = count;
    }
    Some(prev_bound)
}

fn gauge_stats(values: &[f64]) -> Json {
    let mut sorted: Vec<f64> = values.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let n = sorted.len() as f64;
    let avg = sorted.iter().sum::<f64>() / n;
    let std = if sorted.len() > 1 {
        (sorted.iter().map(|x| (x - avg).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
    } else {
        0.0
    };
    let mut m = Map::new();
    m.insert("avg".into(), json!(avg));
    m.insert("min".into(), json!(sorted[0]));
    m.insert("max".into(), json!(sorted[sorted.len() - 1]));
    m.insert("std".into(), json!(std));
    for (key, q) in PERCENTILES {
        m.insert(key.into(), json!(percentile_linear_sorted(&sorted, q)));
    }
    Json::Object(m)
}

/// Summarises samples over the window `[start_ns, end_ns]` into AIPerf's `server_metrics_export.json`
/// `metrics` shape: `{family: {type, unit, source, series: [{endpoint_url, labels?, stats, buckets?}]}}`.
pub fn summarize(lines: &[SampleLine], start_ns: u64, end_ns: u64) -> Json {
    let mut out = Map::new();
    for ((endpoint, family, labels), s) in group_series(lines) {
        let kind = s.kind.unwrap_or_default();
        let (unit, source) = family_info(&family);
        let mut entry = json!({"endpoint_url": endpoint});
        if !labels.is_empty() {
            entry["labels"] = json!(labels);
        }
        match kind {
            MetricType::Counter => {
                let Some(stats) = counter_stats(&s, start_ns, end_ns) else {
                    continue;
                };
                entry["stats"] = stats;
            }
            MetricType::Histogram => {
                let (stats, buckets) = histogram_stats(&s, start_ns, end_ns);
                entry["stats"] = stats;
                entry["buckets"] = buckets;
            }
            _ => {
                let Some(stats) = gauge_window(&s, start_ns, end_ns) else {
                    continue;
                };
                entry["stats"] = stats;
            }
        }
        let fam = out
            .entry(family.clone())
            .or_insert_with(|| json!({"type": kind, "unit": unit, "source": source, "series": []}));
        fam["series"].as_array_mut().unwrap().push(entry);
    }
    Json::Object(out)
}

/// Groups the sample lines into series (endpoint, family, labels without `le`): a histogram's
/// buckets, `_sum` and `_count` lines all land in their family's one series.
fn group_series(lines: &[SampleLine]) -> BTreeMap<SeriesKey, Series> {
    let mut series: BTreeMap<SeriesKey, Series> = BTreeMap::new();
    for l in lines {
        let (Some(metric), Some(value)) = (&l.metric, l.value) else {
            continue;
        };
        let family = l.family.clone().unwrap_or_else(|| metric.clone());
        let mut labels = l.labels.clone();
        let le = labels.remove("le");
        let s = series
            .entry((l.endpoint.clone(), family.clone(), labels))
            .or_default();
        s.kind = l.kind.or(s.kind);
        let p = (l.timestamp_ns, value);
        match (l.kind, le) {
            (Some(MetricType::Histogram), Some(le)) => s.buckets.entry(le).or_default().push(p),
            (Some(MetricType::Histogram | MetricType::Summary), None)
                if metric.ends_with("_sum") && metric != &family =>
            {
                s.sum.push(p)
            }
            (Some(MetricType::Histogram | MetricType::Summary), None)
                if metric.ends_with("_count") && metric != &family =>
            {
                s.count.push(p)
            }
            _ => s.points.push(p),
        }
    }
    series
}

/// A counter's `{total, rate}` over the window (rate per second), or `None` when it has no
/// sample in the window, so the series is left out.
fn counter_stats(s: &Series, start_ns: u64, end_ns: u64) -> Option<Json> {
    let w = windowed(&s.points, start_ns, end_ns);
    if w.is_empty() {
        return None;
    }
    let total = counter_increase(&w);
    let secs = span_seconds(&w);
    Some(json!({"total": total, "rate": if secs > 0.0 { total / secs } else { 0.0 }}))
}

/// A histogram's stats (count, sum, avg, rates per second, percentile estimates) and its
/// per-bucket increases over the window, keyed by the `le` text as scraped.
fn histogram_stats(s: &Series, start_ns: u64, end_ns: u64) -> (Json, Json) {
    let count_w = windowed(&s.count, start_ns, end_ns);
    let sum_w = windowed(&s.sum, start_ns, end_ns);
    let count = counter_increase(&count_w);
    let sum = counter_increase(&sum_w);
    let secs = span_seconds(&count_w);
    let mut bounds: Vec<(f64, String, f64)> = s
        .buckets
        .iter()
        .map(|(le, pts)| {
            let b = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap_or(f64::INFINITY)
            };
            (b, le.clone(), counter_increase(&windowed(pts, start_ns, end_ns)))
        })
        .collect();
    bounds.sort_by(|a, b| a.0.total_cmp(&b.0));
    let cum: Vec<(f64, f64)> = bounds.iter().map(|(b, _, c)| (*b, *c)).collect();
    let mut stats = Map::new();
    stats.insert("count".into(), json!(count));
    stats.insert("sum".into(), json!(sum));
    stats.insert("avg".into(), json!(if count > 0.0 { sum / count } else { 0.0 }));
    stats.insert(
        "count_rate".into(),
        json!(if secs > 0.0 { count / secs } else { 0.0 }),
    );
    stats.insert(
        "sum_rate".into(),
        json!(if secs > 0.0 { sum / secs } else { 0.0 }),
    );
    for (key, q) in PERCENTILES {
        if let Some(v) = histogram_quantile(q / 100.0, &cum) {
            stats.insert(format!("{key}_estimate"), json!(v));
        }
    }
    let buckets = Json::Object(bounds.iter().map(|(_, le, c)| (le.clone(), json!(c))).collect());
    (Json::Object(stats), buckets)
}

/// A gauge's distribution over the samples inside the window, or `None` when there are none,
/// so the series is left out.
fn gauge_window(s: &Series, start_ns: u64, end_ns: u64) -> Option<Json> {
    let vals: Vec<f64> = s
        .points
        .iter()
        .filter(|(t, _)| *t >= start_ns && *t <= end_ns)
        .map(|p| p.1)
        .collect();
    if vals.is_empty() {
        return None;
    }
    Some(gauge_stats(&vals))
}

/// Groups DCGM families per GPU, as AIPerf's `telemetry_data.endpoints`:
/// `{endpoint: {"gpus": {"gpu_<i>": {gpu_index, gpu_uuid, gpu_name, hostname?, metrics: {name: stats}}}}}`.
pub fn per_gpu(summary: &Json) -> Json {
    let mut endpoints = Map::new();
    let Some(families) = summary.as_object() else {
        return Json::Object(endpoints);
    };
    for (family, f) in families {
        if !family.starts_with("DCGM_FI_") {
            continue;
        }
        for s in f["series"].as_array().into_iter().flatten() {
            let labels = &s["labels"];
            let gpu = labels["gpu"].as_str().unwrap_or("0").to_string();
            let ep = s["endpoint_url"].as_str().unwrap_or("").to_string();
            let gpus = endpoints.entry(ep).or_insert_with(|| json!({"gpus": {}}));
            let g = gpus["gpus"]
                .as_object_mut()
                .unwrap()
                .entry(format!("gpu_{gpu}"))
                .or_insert_with(|| {
                    json!({"gpu_index": gpu.parse::<u64>().unwrap_or(0),
                           "gpu_uuid": labels["UUID"].as_str().unwrap_or(""),
                           "gpu_name": labels["modelName"].as_str().unwrap_or(""),
                           "hostname": labels["Hostname"].as_str().unwrap_or(""),
                           "metrics": {}})
                });
            let mut stats = s["stats"].clone();
            stats["unit"] = f["unit"].clone();
            g["metrics"][family] = stats;
        }
    }
    Json::Object(endpoints)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(t: u64, metric: &str, kind: MetricType, labels: &[(&str, &str)], v: f64) -> SampleLine {
        let family = metric
            .trim_end_matches("_bucket")
            .trim_end_matches("_sum")
            .trim_end_matches("_count");
        SampleLine {
            endpoint: "http://127.0.0.1:1/metrics".into(),
            timestamp_ns: t,
            metric: Some(metric.into()),
            family: (family != metric).then(|| family.to_string()),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            value: Some(v),
            kind: Some(kind),
            error: None,
        }
    }

    #[test]
    fn counter_window_delta_survives_a_reset() {
        let s = 1_000_000_000u64;
        // Baseline 100 before the window; 110, 130 inside; reset to 5; then 25; the closing scrape
        // after the window's end 30, and nothing later counts. Increase = 10+20+5+20+5 = 60.
        let lines: Vec<_> = [
            (0, 100.0),
            (s, 110.0),
            (2 * s, 130.0),
            (3 * s, 5.0),
            (4 * s, 25.0),
            (5 * s, 30.0),
            (9 * s, 999.0),
        ]
        .iter()
        .map(|&(t, v)| {
            line(
                t + 10,
                "vllm:generation_tokens_total",
                MetricType::Counter,
                &[],
                v,
            )
        })
        .collect();
        let out = summarize(&lines, s, 4 * s + 10);
        let st = &out["vllm:generation_tokens_total"]["series"][0]["stats"];
        assert_eq!(st["total"], json!(60.0));
        assert_eq!(st["rate"], json!(60.0 / 5.0));
        assert_eq!(out["vllm:generation_tokens_total"]["unit"], json!("tokens"));
        assert_eq!(out["vllm:generation_tokens_total"]["source"], json!("vllm"));
    }

    #[test]
    fn histogram_quantiles_from_bucket_deltas_match_a_hand_computation() {
        // Before the window: le0.1=1, le0.5=2, +Inf=2. At the end: le0.1=3, le0.5=10, +Inf=12.
        // Deltas: le0.1=2, le0.5=8, +Inf=10. p50: rank 5 → in (0.1,0.5]: 0.1 + 0.4*(5-2)/6 = 0.3.
        // p10: rank 1 → in (0,0.1]: 0.1*1/2 = 0.05. p99: rank 9.9 → +Inf bucket → 0.5.
        let h = "vllm:e2e_request_latency_seconds";
        let mk = |t, le, v| line(t, &format!("{h}_bucket"), MetricType::Histogram, &[("le", le)], v);
        let lines = vec![
            mk(0, "0.1", 1.0),
            mk(0, "0.5", 2.0),
            mk(0, "+Inf", 2.0),
            line(0, &format!("{h}_sum"), MetricType::Histogram, &[], 0.2),
            line(0, &format!("{h}_count"), MetricType::Histogram, &[], 2.0),
            mk(2_000_000_000, "0.1", 3.0),
            mk(2_000_000_000, "0.5", 10.0),
            mk(2_000_000_000, "+Inf", 12.0),
            line(
                2_000_000_000,
                &format!("{h}_sum"),
                MetricType::Histogram,
                &[],
                3.2,
            ),
            line(
                2_000_000_000,
                &format!("{h}_count"),
                MetricType::Histogram,
                &[],
                12.0,
            ),
        ];
        let out = summarize(&lines, 1, 2_000_000_000);
        let st = &out[h]["series"][0]["stats"];
        assert_eq!(st["count"], json!(10.0));
        assert!((st["sum"].as_f64().unwrap() - 3.0).abs() < 1e-12);
        assert!((st["p50_estimate"].as_f64().unwrap() - 0.3).abs() < 1e-12);
        assert!((st["p10_estimate"].as_f64().unwrap() - 0.05).abs() < 1e-12);
        assert_eq!(st["p99_estimate"], json!(0.5));
        assert_eq!(out[h]["series"][0]["buckets"]["+Inf"], json!(10.0));
    }

    #[test]
    fn gauges_use_window_values_and_sample_std() {
        let lines: Vec<_> = [(5, 100.0), (10, 1.0), (20, 2.0), (30, 3.0), (40, 50.0)]
            .iter()
            .map(|&(t, v)| line(t, "vllm:num_requests_waiting", MetricType::Gauge, &[], v))
            .collect();
        let st = &summarize(&lines, 10, 30)["vllm:num_requests_waiting"]["series"][0]["stats"];
        assert_eq!(st["avg"], json!(2.0));
        assert_eq!(st["std"], json!(1.0));
        assert_eq!(st["p50"], json!(2.0));
        assert_eq!((st["min"].clone(), st["max"].clone()), (json!(1.0), json!(3.0)));
    }

    #[test]
    fn dcgm_series_group_per_gpu() {
        let mut lines = Vec::new();
        for (gpu, uuid, v) in [("0", "GPU-a", 50.0), ("1", "GPU-b", 90.0)] {
            let labels = [("gpu", gpu), ("UUID", uuid), ("modelName", "NVIDIA H100")];
            lines.push(line(10, "DCGM_FI_DEV_GPU_UTIL", MetricType::Gauge, &labels, v));
            lines.push(line(
                10,
                "DCGM_FI_DEV_POWER_USAGE",
                MetricType::Gauge,
                &labels,
                v * 4.0,
            ));
        }
        let per = per_gpu(&summarize(&lines, 0, 100));
        let gpus = &per["http://127.0.0.1:1/metrics"]["gpus"];
        assert_eq!(gpus["gpu_1"]["gpu_uuid"], json!("GPU-b"));
        assert_eq!(gpus["gpu_1"]["gpu_name"], json!("NVIDIA H100"));
        assert_eq!(
            gpus["gpu_0"]["metrics"]["DCGM_FI_DEV_GPU_UTIL"]["avg"],
            json!(50.0)
        );
        assert_eq!(
            gpus["gpu_1"]["metrics"]["DCGM_FI_DEV_POWER_USAGE"]["avg"],
            json!(360.0)
        );
        assert_eq!(
            gpus["gpu_1"]["metrics"]["DCGM_FI_DEV_POWER_USAGE"]["unit"],
            json!("W")
        );
    }
}
