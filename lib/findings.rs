//! `findings.md`: the guide's best practice 5 ("document your findings"), written from the sweep
//! aggregate: optimal configuration per objective, Pareto points, throughput and latency inflection
//! points, values whose CV exceeds 20%, failed runs, and a one-line recommendation.

use std::fmt::Write;

use serde_json::{Map, Value};

use crate::plan::value_text;
use crate::sweep::{describe, SweepAggregate, CV_THRESHOLD};

fn params_text(p: &Map<String, Value>) -> String {
    describe(&p.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>())
}

fn num(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn list(vals: &[Value]) -> String {
    vals.iter().map(value_text).collect::<Vec<_>>().join(", ")
}

/// The latency key the analysis used.
fn latency_key(agg: &SweepAggregate) -> &'static str {
    let all = |k: &str| !agg.per_combination_metrics.is_empty() && agg.per_combination_metrics.iter().all(|c| c.metrics.contains_key(k));
    if all("time_to_first_token_p99") {
        "time_to_first_token_p99"
    } else {
        "request_latency_p99"
    }
}

/// Renders findings.md. `source` names the sweep aggregate file it was made from.
pub fn render(agg: &SweepAggregate, source: &str) -> String {
    let mut s = String::new();
    let m = &agg.metadata;
    let lat = latency_key(agg);
    let _ = writeln!(s, "# Benchmark findings\n");
    let sweep_desc = m
        .sweep_parameters
        .iter()
        .map(|p| format!("{} = {}", p.name, list(&p.values)))
        .collect::<Vec<_>>()
        .join("; ");
    let _ = writeln!(
        s,
        "Sweep: {sweep_desc} ({} trial(s) per value, {} mode, {:.0}% confidence). {} of {} runs succeeded.",
        m.num_trials_per_value,
        m.sweep_mode,
        m.confidence_level * 100.0,
        m.num_successful_runs,
        m.num_profile_runs
    );
    let _ = writeln!(s, "Source: `{source}`.\n");

    let _ = writeln!(s, "## Optimal configuration per objective\n");
    if agg.best_configurations.is_empty() {
        let _ = writeln!(s, "- No combination has both throughput and latency metrics.");
    }
    for (k, what) in [("best_throughput", "Highest throughput (request_throughput_avg)"), ("best_latency_p99", &*format!("Lowest p99 latency ({lat})"))] {
        if let Some(b) = agg.best_configurations.get(k) {
            let p = b["parameters"].as_object().cloned().unwrap_or_default();
            let _ = writeln!(
                s,
                "- {what}: **{}** ({} {})",
                params_text(&p),
                b["metric"].as_f64().map(num).unwrap_or_default(),
                b["unit"].as_str().unwrap_or("")
            );
        }
    }

    let _ = writeln!(s, "\n## Pareto optimal points (throughput up, {lat} down)\n");
    if agg.pareto_optimal.is_empty() {
        let _ = writeln!(s, "- None.");
    }
    for p in &agg.pareto_optimal {
        let c = agg.per_combination_metrics.iter().find(|c| &c.parameters == p);
        let thr = c.and_then(|c| c.metrics.get("request_throughput_avg"));
        let l = c.and_then(|c| c.metrics.get(lat));
        let _ = writeln!(
            s,
            "- {}: {} {}, {} {}",
            params_text(p),
            thr.map(|t| num(t.stats.mean)).unwrap_or_default(),
            thr.map(|t| t.unit.as_str()).unwrap_or(""),
            l.map(|t| num(t.stats.mean)).unwrap_or_default(),
            l.map(|t| t.unit.as_str()).unwrap_or("")
        );
    }

    let _ = writeln!(s, "\n## Inflection points\n");
    let thr_trend = agg.trends.get("request_throughput_avg");
    let lat_trend = agg.trends.get(lat);
    let slows = thr_trend.and_then(|t| t.scaling_slows_at.clone()).unwrap_or_default();
    let degrades = lat_trend.and_then(|t| t.latency_degrades_at.clone()).unwrap_or_default();
    match thr_trend {
        None => {
            let _ = writeln!(s, "- Throughput: no trend (needs one swept parameter and at least two successful values).");
        }
        Some(t) if slows.is_empty() => {
            let _ = writeln!(s, "- Throughput inflection: none in the range tested ({}) — extend the sweep or push the system harder to find its limit.", list(&t.parameter_values));
        }
        Some(t) => {
            let _ = writeln!(s, "- Throughput inflection: {} {} (scaling slows; rate of change {}).", t.parameter, list(&slows), t.rate_of_change.iter().map(|x| num(*x)).collect::<Vec<_>>().join(", "));
        }
    }
    match lat_trend {
        None => {
            let _ = writeln!(s, "- Latency: no trend.");
        }
        Some(_) if degrades.is_empty() => {
            let _ = writeln!(s, "- Latency inflection ({lat}): none in the range tested.");
        }
        Some(t) => {
            let _ = writeln!(s, "- Latency inflection ({lat}): {} {} (sharp degradation; rate of change {}).", t.parameter, list(&degrades), t.rate_of_change.iter().map(|x| num(*x)).collect::<Vec<_>>().join(", "));
        }
    }

    let _ = writeln!(s, "\n## Variance (CV > {:.0}% needs more trials)\n", CV_THRESHOLD * 100.0);
    if m.num_trials_per_value < 2 {
        let _ = writeln!(s, "- One trial per value: no variance estimate. Use `--num-profile-runs 3` or more for confidence intervals.");
    } else if m.high_variance.is_empty() {
        let _ = writeln!(s, "- Every key metric has CV ≤ {:.0}% at every value.", CV_THRESHOLD * 100.0);
    }
    for f in &m.high_variance {
        let _ = writeln!(s, "- **{}**: {} CV {:.1}% — needs more trials or investigation.", params_text(&f.parameters), f.metric, f.cv * 100.0);
    }

    if !m.failed_runs.is_empty() {
        let _ = writeln!(s, "\n## Failed runs (excluded)\n");
        for f in &m.failed_runs {
            let _ = writeln!(
                s,
                "- {}{} ({}): {}",
                f.label,
                f.run_index.map(|i| format!(" (run {i})")).unwrap_or_default(),
                params_text(&f.parameters),
                f.error
            );
        }
    }

    let _ = writeln!(s, "\n{}", recommendation(agg, &slows));
    s
}

/// One line: where to operate.
fn recommendation(agg: &SweepAggregate, slows: &[Value]) -> String {
    let lat = latency_key(agg);
    let trend = agg.trends.get("request_throughput_avg");
    let pick = |p: &Map<String, Value>| -> String {
        let c = agg.per_combination_metrics.iter().find(|c| &c.parameters == p);
        let extra = c
            .map(|c| {
                let t = c.metrics.get("request_throughput_avg").map(|m| format!("{} {}", num(m.stats.mean), m.unit)).unwrap_or_default();
                let l = c.metrics.get(lat).map(|m| format!(", {lat} {} {}", num(m.stats.mean), m.unit)).unwrap_or_default();
                format!(" ({t}{l})")
            })
            .unwrap_or_default();
        format!("{}{extra}", params_text(p))
    };
    if agg.per_combination_metrics.is_empty() {
        return "Recommendation: none — no run succeeded; see the failed runs above.".into();
    }
    if let (Some(t), Some(knee)) = (trend, slows.first()) {
        let pos = t.parameter_values.iter().position(|v| v == knee).unwrap_or(0);
        if pos > 0 {
            let before = &t.parameter_values[pos - 1];
            let p = agg
                .per_combination_metrics
                .iter()
                .find(|c| c.parameters.get(&t.parameter) == Some(before) || (t.parameter == "variation" && c.parameters.len() > 1))
                .map(|c| c.parameters.clone());
            if let Some(p) = p {
                let on = if agg.pareto_optimal.contains(&p) { "a Pareto-optimal point" } else { "not Pareto-optimal; compare with the frontier" };
                return format!(
                    "Recommendation: operate at {} — the last value before throughput scaling slows ({} {}), {on}.",
                    pick(&p),
                    t.parameter,
                    value_text(knee)
                );
            }
        }
    }
    match agg.best_configurations.get("best_throughput").and_then(|b| b["parameters"].as_object()) {
        Some(p) => format!(
            "Recommendation: operate at {} — the highest throughput measured; no throughput knee in this range, so extend the sweep to find the limit.",
            pick(p)
        ),
        None => "Recommendation: none — throughput was not measured.".into(),
    }
}
