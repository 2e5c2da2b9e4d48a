//! The server's and GPUs' key figures from a window summary, as ordinary trial metrics.

use serde_json::Value as Json;

use crate::contract::summary::MetricStats;

/// The server's and GPUs' key figures as ordinary unit-bearing trial metrics, so that `sweep-agg`
/// aggregates them per combination like any client metric and `pareto` can take them as objectives
/// (`--minimize DCGM_FI_DEV_POWER_USAGE_avg`):
/// - a gauge family becomes `<family>` with avg/min/max/std/p1..p99 (several series, e.g. several
///   GPUs or models: the mean of each stat across them, except `DCGM_FI_DEV_POWER_USAGE` and
///   `DCGM_FI_DEV_FB_USED`, which are summed across GPUs);
/// - a counter family becomes `<family>_rate` (`<unit>/sec`, summed across series).
///
/// Histograms are left to `server_metrics` (the client measures those latencies itself).
pub fn key_figures(summary: &Json) -> Vec<(String, MetricStats)> {
    let mut out = Vec::new();
    for (family, f) in summary.as_object().into_iter().flatten() {
        let series: Vec<&Json> = f["series"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| &s["stats"])
            .collect();
        if series.is_empty() {
            continue;
        }
        let unit = f["unit"].as_str().unwrap_or("").to_string();
        let summed = matches!(family.as_str(), "DCGM_FI_DEV_POWER_USAGE" | "DCGM_FI_DEV_FB_USED");
        let combine = |key: &str| -> Option<f64> {
            let vals: Vec<f64> = series.iter().filter_map(|s| s[key].as_f64()).collect();
            if vals.len() != series.len() {
                return None;
            }
            let total: f64 = vals.iter().sum();
            Some(if summed { total } else { total / vals.len() as f64 })
        };
        match f["type"].as_str() {
            Some("counter") => {
                let rate: Option<f64> = series.iter().map(|s| s["rate"].as_f64()).sum();
                let unit = if unit.is_empty() {
                    "1/sec".to_string()
                } else {
                    format!("{unit}/sec")
                };
                out.push((
                    format!("{family}_rate"),
                    MetricStats {
                        unit,
                        avg: rate,
                        ..Default::default()
                    },
                ));
            }
            Some("gauge") | Some("untyped") => {
                let mut st = MetricStats {
                    unit,
                    avg: combine("avg"),
                    min: combine("min"),
                    max: combine("max"),
                    std: combine("std"),
                    ..Default::default()
                };
                st.p1 = combine("p1");
                st.p5 = combine("p5");
                st.p10 = combine("p10");
                st.p25 = combine("p25");
                st.p50 = combine("p50");
                st.p75 = combine("p75");
                st.p90 = combine("p90");
                st.p95 = combine("p95");
                st.p99 = combine("p99");
                out.push((family.clone(), st));
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    #[test]
    fn gauges_average_across_series_power_sums_counters_become_rates() {
        let s = json!({
            "vllm:kv_cache_usage_perc": {"type": "gauge", "unit": "ratio", "series": [
                {"stats": {"avg": 0.2, "min": 0.1, "max": 0.3, "std": 0.05, "p50": 0.2, "p99": 0.3}}]},
            "DCGM_FI_DEV_POWER_USAGE": {"type": "gauge", "unit": "W", "series": [
                {"stats": {"avg": 300.0, "min": 1.0, "max": 2.0, "std": 0.0, "p50": 1.0}},
                {"stats": {"avg": 200.0, "min": 1.0, "max": 2.0, "std": 0.0, "p50": 1.0}}]},
            "DCGM_FI_DEV_GPU_UTIL": {"type": "gauge", "unit": "percent", "series": [
                {"stats": {"avg": 50.0}}, {"stats": {"avg": 70.0}}]},
            "vllm:generation_tokens_total": {"type": "counter", "unit": "tokens", "series": [
                {"stats": {"total": 10.0, "rate": 5.0}}, {"stats": {"total": 4.0, "rate": 2.0}}]},
            "vllm:e2e_request_latency_seconds": {"type": "histogram", "unit": "seconds", "series": [{"stats": {}}]}
        });
        let k: BTreeMap<String, MetricStats> = key_figures(&s).into_iter().collect();
        assert_eq!(k.len(), 4);
        assert_eq!(k["vllm:kv_cache_usage_perc"].p99, Some(0.3));
        assert_eq!(k["DCGM_FI_DEV_POWER_USAGE"].avg, Some(500.0));
        assert_eq!(k["DCGM_FI_DEV_GPU_UTIL"].avg, Some(60.0));
        assert_eq!(
            k["DCGM_FI_DEV_GPU_UTIL"].min, None,
            "a stat missing on one series is left out"
        );
        assert_eq!(k["vllm:generation_tokens_total_rate"].avg, Some(7.0));
        assert_eq!(k["vllm:generation_tokens_total_rate"].unit, "tokens/sec");
    }
}
