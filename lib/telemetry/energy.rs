//! GPU energy over a trial's profiling window and AIPerf 0.13's energy-efficiency metrics
//! (`aiperf/metrics/energy_efficiency_analyzer.py`, the `nvidia_*` and `amd_*` tags of
//! `metrics/types/power_efficiency_metrics.py`), with AIPerf's rules, per vendor:
//!
//! - energy per GPU: the energy counter (DCGM's `DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION` in mJ; AMD
//!   Device Metrics Exporter's `gpu_energy_consumed` in µJ) at its last sample in
//!   `[start, end + 666 ms]` (the grace catches the scrape that closes the window) minus its last
//!   sample before `start` (else the first in the window), clamped at 0; summed over GPUs, in J;
//! - total power: the sum over GPUs of the mean power sample (`DCGM_FI_DEV_POWER_USAGE`; AMD's
//!   `gpu_package_power`, else `gpu_power_usage`, as AIPerf's AMD exporter collector prefers) in
//!   `[start, end]`;
//! - average power = energy / window; without an energy counter, energy = total power × window;
//! - the ratios divide by the trial's totals (output and input tokens, requests, concurrency) and
//!   rates (request, output-token and good-request throughput), exactly as the analyzer does.
//!
//! Plus what a buyer asks: output tokens/s per GPU and the price of a million output tokens from
//! the GPU count and the price of a GPU-hour.

use std::collections::BTreeMap;

use crate::contract::summary::MetricStats;
use crate::telemetry::samples::SampleLine;

/// AIPerf's `FINAL_SCRAPE_GRACE_NS`: the energy window's end is widened by this much.
pub const FINAL_SCRAPE_GRACE_NS: u64 = 666_000_000;
const ENERGY: &str = "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION";
const POWER: &str = "DCGM_FI_DEV_POWER_USAGE";

/// Where one GPU vendor's energy and power are scraped from, and its tags' prefix.
struct Vendor {
    /// `nvidia` or `amd`: the tags are `<prefix>_total_gpu_energy` and so on.
    prefix: &'static str,
    /// The cumulative energy counter's family.
    energy: &'static str,
    /// Joules per unit of that counter (mJ: 1e-3, µJ: 1e-6).
    joules_per_unit: f64,
    /// Power families in W, the first a GPU reports is used.
    power: &'static [&'static str],
    /// Labels that name a GPU, the first present is used.
    gpu_labels: &'static [&'static str],
}

const VENDORS: [Vendor; 2] = [
    Vendor {
        prefix: "nvidia",
        energy: ENERGY,
        joules_per_unit: 1e-3,
        power: &[POWER],
        gpu_labels: &["UUID", "gpu"],
    },
    // AMD's Device Metrics Exporter (`rocm/device-metrics-exporter`, Prometheus text over HTTP).
    Vendor {
        prefix: "amd",
        energy: "gpu_energy_consumed",
        joules_per_unit: 1e-6,
        power: &["gpu_package_power", "gpu_power_usage"],
        gpu_labels: &["serial_number", "gpu_id"],
    },
];

/// What the efficiency ratios divide by: the trial's own figures (None when not measured).
#[derive(Debug, Clone, Default)]
pub struct TrialFigures {
    /// Output tokens of the window (`total_osl`), tokens.
    pub output_tokens: Option<f64>,
    /// Input tokens of the window (`total_isl`), tokens.
    pub input_tokens: Option<f64>,
    /// Requests of the window (`request_count`).
    pub requests: Option<f64>,
    /// Mean request latency (`request_latency` avg), ms.
    pub latency_ms: Option<f64>,
    /// `request_throughput`, requests/sec.
    pub request_throughput: Option<f64>,
    /// `output_token_throughput`, tokens/sec.
    pub output_token_throughput: Option<f64>,
    /// `goodput`, requests/sec (only with SLOs).
    pub goodput: Option<f64>,
    /// The profiling phase's concurrency (None for rate-only runs).
    pub concurrency: Option<f64>,
}

/// One series per GPU (endpoint and the vendor's first GPU label) of `metric`, as time-sorted points.
fn per_gpu(
    lines: &[SampleLine],
    metric: &str,
    gpu_labels: &[&str],
) -> BTreeMap<(String, String), Vec<(u64, f64)>> {
    let mut out: BTreeMap<(String, String), Vec<(u64, f64)>> = BTreeMap::new();
    for l in lines {
        let (Some(m), Some(v)) = (&l.metric, l.value) else {
            continue;
        };
        if m != metric {
            continue;
        }
        let gpu = gpu_labels
            .iter()
            .find_map(|k| l.labels.get(*k))
            .cloned()
            .unwrap_or_default();
        out.entry((l.endpoint.clone(), gpu))
            .or_default()
            .push((l.timestamp_ns, v));
    }
    for pts in out.values_mut() {
        pts.sort_by_key(|p| p.0);
    }
    out
}

/// Total GPU energy in J over `[start, end + grace]` and the number of GPUs that reported it.
fn total_energy_j(v: &Vendor, lines: &[SampleLine], start_ns: u64, end_ns: u64) -> (f64, usize) {
    let end = end_ns.saturating_add(FINAL_SCRAPE_GRACE_NS);
    let (mut total, mut gpus) = (0.0, 0);
    for pts in per_gpu(lines, v.energy, v.gpu_labels).values() {
        let inside: Vec<f64> = pts
            .iter()
            .filter(|p| p.0 >= start_ns && p.0 <= end)
            .map(|p| p.1)
            .collect();
        let Some(&last) = inside.last() else {
            continue;
        };
        let base = pts
            .iter()
            .rev()
            .find(|p| p.0 < start_ns)
            .map_or(inside[0], |p| p.1);
        total += (last - base).max(0.0) * v.joules_per_unit;
        gpus += 1;
    }
    (total, gpus)
}

/// The sum over GPUs of each GPU's mean power in `[start, end]`, W, and the number of GPUs.
fn total_power_w(v: &Vendor, lines: &[SampleLine], start_ns: u64, end_ns: u64) -> (f64, usize) {
    let mut by_gpu: BTreeMap<(String, String), Vec<(u64, f64)>> = BTreeMap::new();
    for family in v.power.iter().rev() {
        // A later (less preferred) family is overwritten by an earlier one for the same GPU.
        by_gpu.extend(per_gpu(lines, family, v.gpu_labels));
    }
    let (mut total, mut gpus) = (0.0, 0);
    for pts in by_gpu.values() {
        let inside: Vec<f64> = pts
            .iter()
            .filter(|p| p.0 >= start_ns && p.0 <= end_ns)
            .map(|p| p.1)
            .collect();
        if inside.is_empty() {
            continue;
        }
        total += inside.iter().sum::<f64>() / inside.len() as f64;
        gpus += 1;
    }
    (total, gpus)
}

/// A vendor's tag: `nvidia_total_gpu_energy`.
fn tag(v: &Vendor, name: &str) -> String {
    format!("{}_{name}", v.prefix)
}

fn stat(tag: impl Into<String>, unit: &str, v: f64) -> (String, MetricStats) {
    (
        tag.into(),
        MetricStats {
            unit: unit.to_string(),
            avg: Some(v),
            ..Default::default()
        },
    )
}

/// AIPerf's `nvidia_*` and `amd_*` energy-efficiency metrics of a window of `duration_s` seconds,
/// from the GPU samples and the trial's figures: a vendor whose samples hold neither energy nor
/// power contributes nothing.
pub fn efficiency(
    lines: &[SampleLine],
    window_ns: (u64, u64),
    duration_s: f64,
    f: &TrialFigures,
) -> Vec<(String, MetricStats)> {
    VENDORS
        .iter()
        .flat_map(|v| vendor_efficiency(v, lines, window_ns, duration_s, f))
        .collect()
}

fn vendor_efficiency(
    v: &Vendor,
    lines: &[SampleLine],
    window_ns: (u64, u64),
    duration_s: f64,
    f: &TrialFigures,
) -> Vec<(String, MetricStats)> {
    let (energy, energy_gpus) = total_energy_j(v, lines, window_ns.0, window_ns.1);
    let (power, power_gpus) = total_power_w(v, lines, window_ns.0, window_ns.1);
    let mut out = Vec::new();
    if power_gpus > 0 {
        out.push(stat(tag(v, "total_gpu_power"), "W", power));
    }
    let (energy, avg_power) = if energy_gpus > 0 && energy > 0.0 {
        (
            energy,
            if duration_s > 0.0 {
                energy / duration_s
            } else {
                0.0
            },
        )
    } else if power_gpus > 0 && power > 0.0 && duration_s > 0.0 {
        (power * duration_s, power)
    } else {
        return out;
    };
    if avg_power > 0.0 {
        out.push(stat(tag(v, "average_gpu_power"), "W", avg_power));
    }
    out.push(stat(tag(v, "total_gpu_energy"), "J", energy));
    let output = f.output_tokens.filter(|&t| t != 0.0);
    if let Some(t) = output {
        out.push(stat(tag(v, "output_tokens_per_joule"), "tokens/J", t / energy));
        out.push(stat(
            tag(v, "energy_per_output_token"),
            "mJ/token",
            energy * 1e3 / t,
        ));
    }
    let total_tokens = f.input_tokens.unwrap_or(0.0) + output.unwrap_or(0.0);
    if total_tokens > 0.0 {
        out.push(stat(
            tag(v, "energy_per_total_token"),
            "mJ/token",
            energy * 1e3 / total_tokens,
        ));
    }
    let per_request = f.requests.filter(|&r| r != 0.0).map(|r| energy / r);
    if let Some(e) = per_request {
        out.push(stat(tag(v, "energy_per_request"), "joules/request", e));
    }
    if let Some(c) = f.concurrency.filter(|&c| c > 0.0) {
        out.push(stat(tag(v, "energy_per_user"), "joules/user", energy / c));
    }
    if let (Some(e), Some(l)) = (per_request, f.latency_ms.filter(|&l| l != 0.0)) {
        out.push(stat(tag(v, "energy_delay_product"), "J*s", e * l / 1e3));
    }
    if avg_power > 0.0 {
        let per_watt = [
            (
                tag(v, "performance_per_watt"),
                "requests/sec/W",
                f.request_throughput,
            ),
            (
                tag(v, "output_tps_per_watt"),
                "tokens/sec/W",
                f.output_token_throughput,
            ),
            (tag(v, "goodput_per_watt"), "good-req/s/W", f.goodput),
        ];
        for (tag, unit, v) in per_watt {
            if let Some(v) = v {
                out.push(stat(tag, unit, v / avg_power));
            }
        }
    }
    out
}

/// `output_token_throughput_per_gpu` (tokens/sec/gpu) and, with a price per GPU-hour,
/// `cost_per_million_output_tokens` (price units per 10^6 output tokens: GPUs × price per hour over
/// the output tokens made in that hour).
pub fn cost(
    output_token_throughput: Option<f64>,
    gpus: f64,
    gpu_hour_price: Option<f64>,
) -> Vec<(String, MetricStats)> {
    let Some(tps) = output_token_throughput.filter(|_| gpus > 0.0) else {
        return Vec::new();
    };
    let mut out = vec![stat(
        "output_token_throughput_per_gpu",
        "tokens/sec/gpu",
        tps / gpus,
    )];
    if let Some(price) = gpu_hour_price.filter(|_| tps > 0.0) {
        out.push(stat(
            "cost_per_million_output_tokens",
            "price/1M tokens",
            gpus * price / (tps * 3600.0) * 1e6,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(t_ms: u64, metric: &str, gpu: &str, v: f64) -> SampleLine {
        SampleLine {
            endpoint: "http://h/metrics".into(),
            timestamp_ns: t_ms * 1_000_000,
            metric: Some(metric.into()),
            family: None,
            labels: [("gpu".to_string(), gpu.to_string())].into_iter().collect(),
            value: Some(v),
            kind: None,
            error: None,
        }
    }

    /// Two GPUs over a 10 s window (1 000..11 000 ms). GPU 0: baseline 5 000 mJ at 500 ms, 3 005 000
    /// mJ at the scrape 600 ms after the end (inside the grace), a sample after the grace ignored:
    /// 3 000 J. GPU 1: no sample before the window, so its first one is the baseline: 1 000 J.
    fn samples() -> Vec<SampleLine> {
        vec![
            line(500, ENERGY, "0", 5_000.0),
            line(2_000, ENERGY, "0", 605_000.0),
            line(11_600, ENERGY, "0", 3_005_000.0),
            line(11_700, ENERGY, "0", 9_999_999.0),
            line(1_000, ENERGY, "1", 1_000_000.0),
            line(11_000, ENERGY, "1", 2_000_000.0),
            line(2_000, POWER, "0", 300.0),
            line(4_000, POWER, "0", 200.0),
            line(12_000, POWER, "0", 999.0),
            line(2_000, POWER, "1", 100.0),
        ]
    }

    #[test]
    fn energy_is_the_counter_delta_with_aiperf_baseline_and_grace() {
        assert_eq!(
            total_energy_j(&VENDORS[0], &samples(), 1_000_000_000, 11_000_000_000),
            (4_000.0, 2)
        );
        assert_eq!(
            total_power_w(&VENDORS[0], &samples(), 1_000_000_000, 11_000_000_000),
            (350.0, 2)
        );
    }

    #[test]
    fn efficiency_metrics_match_a_hand_computation() {
        let f = TrialFigures {
            output_tokens: Some(20_000.0),
            input_tokens: Some(60_000.0),
            requests: Some(100.0),
            latency_ms: Some(2_500.0),
            request_throughput: Some(10.0),
            output_token_throughput: Some(2_000.0),
            goodput: None,
            concurrency: Some(25.0),
        };
        let m: BTreeMap<String, f64> = efficiency(&samples(), (1_000_000_000, 11_000_000_000), 10.0, &f)
            .into_iter()
            .map(|(k, s)| (k, s.avg.unwrap()))
            .collect();
        // 4 000 J over 10 s: 400 W on average.
        let want = [
            ("nvidia_total_gpu_power", 350.0),
            ("nvidia_average_gpu_power", 400.0),
            ("nvidia_total_gpu_energy", 4_000.0),
            ("nvidia_output_tokens_per_joule", 5.0),
            ("nvidia_energy_per_output_token", 200.0),
            ("nvidia_energy_per_total_token", 50.0),
            ("nvidia_energy_per_request", 40.0),
            ("nvidia_energy_per_user", 160.0),
            ("nvidia_energy_delay_product", 100.0),
            ("nvidia_performance_per_watt", 0.025),
            ("nvidia_output_tps_per_watt", 5.0),
        ];
        assert_eq!(m.len(), want.len(), "{m:?}");
        for (k, v) in want {
            assert!((m[k] - v).abs() < 1e-9, "{k}: {} vs {v}", m[k]);
        }
    }

    #[test]
    fn without_an_energy_counter_energy_is_power_times_the_window() {
        let power_only: Vec<SampleLine> = samples()
            .into_iter()
            .filter(|l| l.metric.as_deref() == Some(POWER))
            .collect();
        let m = efficiency(
            &power_only,
            (1_000_000_000, 11_000_000_000),
            10.0,
            &TrialFigures::default(),
        );
        let e = m.iter().find(|(k, _)| k == "nvidia_total_gpu_energy").unwrap();
        assert_eq!(e.1.avg, Some(3_500.0));
        assert!(efficiency(&[], (0, 1), 1.0, &TrialFigures::default()).is_empty());
    }

    #[test]
    fn cost_per_million_output_tokens() {
        // 8 GPUs at 2.5 per hour make 1 000 tokens/s: 20 per hour for 3.6 M tokens.
        let c = cost(Some(1_000.0), 8.0, Some(2.5));
        assert_eq!(c[0].1.avg, Some(125.0));
        assert!((c[1].1.avg.unwrap() - 20.0 / 3.6).abs() < 1e-12);
        assert!(cost(None, 8.0, Some(2.5)).is_empty());
    }

    fn amd(t_ms: u64, metric: &str, gpu_id: &str, v: f64) -> SampleLine {
        let mut l = line(t_ms, metric, gpu_id, v);
        l.labels = [("gpu_id".to_string(), gpu_id.to_string())].into_iter().collect();
        l
    }

    /// AMD's exporter beside DCGM: `amd_*` from `gpu_energy_consumed` (µJ) and the package power
    /// (preferred over `gpu_power_usage` for the same GPU), the `nvidia_*` tags unchanged.
    #[test]
    fn amd_device_metrics_exporter_samples_give_the_amd_tags() {
        let mut lines = samples();
        lines.extend([
            // GPU 0: 500 J → 2 500 J over the window (µJ); package 150 W, power_usage ignored.
            amd(500, "gpu_energy_consumed", "0", 500e6),
            amd(11_500, "gpu_energy_consumed", "0", 2_500e6),
            amd(2_000, "gpu_package_power", "0", 150.0),
            amd(2_000, "gpu_power_usage", "0", 999.0),
            // GPU 1 reports power usage only: 50 W.
            amd(3_000, "gpu_power_usage", "1", 50.0),
        ]);
        let f = TrialFigures {
            output_tokens: Some(1_000.0),
            requests: Some(10.0),
            ..Default::default()
        };
        let m: BTreeMap<String, f64> = efficiency(&lines, (1_000_000_000, 11_000_000_000), 10.0, &f)
            .into_iter()
            .map(|(k, s)| (k, s.avg.unwrap()))
            .collect();
        let want = [
            ("amd_total_gpu_power", 200.0),
            ("amd_average_gpu_power", 200.0),
            ("amd_total_gpu_energy", 2_000.0),
            ("amd_output_tokens_per_joule", 0.5),
            ("amd_energy_per_output_token", 2_000.0),
            ("amd_energy_per_total_token", 2_000.0),
            ("amd_energy_per_request", 200.0),
            ("nvidia_total_gpu_energy", 4_000.0),
        ];
        for (k, v) in want {
            assert!((m[k] - v).abs() < 1e-9, "{k}: {:?} vs {v}", m.get(k));
        }
        assert_eq!(m.keys().filter(|k| k.starts_with("amd_")).count(), 7, "{m:?}");
    }
}
