//! `findings.md`: the guide's best practice 5 ("document your findings"), written from the sweep
//! aggregate: optimal configuration per objective, Pareto points, throughput and latency inflection
//! points, values whose CV exceeds 20%, failed runs, and a one-line recommendation.

use std::fmt::Write;

use serde_json::{Map, Value};

use crate::artifacts::names::{describe_map as params_text, dir_name, num, value_text};
use crate::contract::sweep_aggregate::{
    latency_key as latency_rule, SweepAggregate, LATENCY_KEYS, THROUGHPUT_KEY,
};

fn list(vals: &[Value]) -> String {
    vals.iter().map(value_text).collect::<Vec<_>>().join(", ")
}

/// The latency key the analysis used (the last of the rule's keys when no combination has one).
fn latency_key(agg: &SweepAggregate) -> &'static str {
    let c = &agg.per_combination_metrics;
    latency_rule(|k| !c.is_empty() && c.iter().all(|c| c.metrics.contains_key(k))).unwrap_or(LATENCY_KEYS[1])
}

fn nums(vals: &[f64]) -> String {
    vals.iter().map(|x| num(*x)).collect::<Vec<_>>().join(", ")
}

/// Renders findings.md. `source` names the sweep aggregate file it was made from.
pub fn render(agg: &SweepAggregate, source: &str) -> String {
    let mut s = String::new();
    let lat = latency_key(agg);
    let slows = agg
        .trends
        .get(THROUGHPUT_KEY)
        .and_then(|t| t.scaling_slows_at.clone())
        .unwrap_or_default();
    let degrades = agg
        .trends
        .get(lat)
        .and_then(|t| t.latency_degrades_at.clone())
        .unwrap_or_default();
    header(&mut s, agg, source);
    guide_summary(&mut s, agg, &slows, &degrades);
    best_configurations(&mut s, agg, lat);
    pareto_points(&mut s, agg, lat);
    let _ = writeln!(s, "\n## Inflection points\n");
    throughput_inflection(&mut s, agg, &slows);
    latency_inflection(&mut s, agg, lat, &degrades);
    knees(&mut s, agg);
    variance(&mut s, agg);
    convergence(&mut s, agg);
    failed_runs(&mut s, agg);
    skipped_runs(&mut s, agg);
    let _ = writeln!(s, "\n{}", recommendation(agg, &slows));
    s
}

/// The title, what was swept and how, and the source file.
fn header(s: &mut String, agg: &SweepAggregate, source: &str) {
    let m = &agg.metadata;
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
    sla(s, agg);
    let _ = writeln!(s, "Source: `{source}`.\n");
}

/// A search's SLA (`sla_constraints`): the filters and the values whose across-trial means meet them.
fn sla(s: &mut String, agg: &SweepAggregate) {
    let Some(c) = &agg.metadata.sla_constraints else {
        return;
    };
    let filters: Vec<String> = c.active_filters.iter().map(|f| f.describe()).collect();
    let feasible: Vec<String> = agg
        .per_combination_metrics
        .iter()
        .filter(|pc| {
            c.active_filters.iter().all(|f| {
                pc.metrics
                    .get(&format!("{}_{}", f.metric_tag, f.stat))
                    .is_some_and(|m| f.holds(m.stats.mean))
            })
        })
        .map(|pc| params_text(&pc.parameters))
        .collect();
    let _ = writeln!(
        s,
        "SLA: {} (on each value's across-trial mean): {} of {} values meet it{}.",
        filters.join(" and "),
        c.feasible_count,
        c.feasible_count + c.infeasible_count,
        if feasible.is_empty() {
            String::new()
        } else {
            format!(" ({})", feasible.join("; "))
        }
    );
}

/// The guide's own summary (best practice 5), for a sweep of one parameter.
fn guide_summary(s: &mut String, agg: &SweepAggregate, slows: &[Value], degrades: &[Value]) {
    let [param] = agg.metadata.sweep_parameters.as_slice() else {
        return;
    };
    let name = &param.name;
    let _ = writeln!(s, "## Benchmark Results\n");
    if let Some((p, _)) = recommended(agg, slows) {
        let v = p.get(name).map(value_text).unwrap_or_default();
        let why = if slows.is_empty() {
            "highest throughput; no knee in range"
        } else {
            "best balance"
        };
        let _ = writeln!(s, "- Optimal {name}: {v} ({why})");
    }
    let pareto: Vec<String> = agg
        .pareto_optimal
        .iter()
        .filter_map(|p| p.get(name).map(value_text))
        .collect();
    let _ = writeln!(
        s,
        "- Pareto optimal points: {}",
        if pareto.is_empty() {
            "none".into()
        } else {
            pareto.join(", ")
        }
    );
    let first = |v: &[Value]| {
        v.first()
            .map(value_text)
            .unwrap_or_else(|| "none in range".into())
    };
    let _ = writeln!(s, "- Throughput inflection: {} (scaling slows)", first(slows));
    let _ = writeln!(
        s,
        "- Latency inflection: {} (sharp degradation)\n",
        first(degrades)
    );
}

/// The optimal configuration per objective.
fn best_configurations(s: &mut String, agg: &SweepAggregate, lat: &str) {
    let _ = writeln!(s, "## Optimal configuration per objective\n");
    let best = &agg.best_configurations;
    if best.is_empty() {
        let _ = writeln!(s, "- No combination has both throughput and latency metrics.");
    }
    for (b, what) in [
        (
            &best.best_throughput,
            format!("Highest throughput ({THROUGHPUT_KEY})"),
        ),
        (&best.best_latency_p99, format!("Lowest p99 latency ({lat})")),
    ] {
        if let Some(b) = b {
            let _ = writeln!(
                s,
                "- {what}: **{}** ({} {})",
                params_text(&b.parameters),
                num(b.metric),
                b.unit
            );
        }
    }
}

/// The Pareto-optimal points with their throughput and latency.
fn pareto_points(s: &mut String, agg: &SweepAggregate, lat: &str) {
    let _ = writeln!(s, "\n## Pareto optimal points (throughput up, {lat} down)\n");
    if agg.pareto_optimal.is_empty() {
        let _ = writeln!(s, "- None.");
    }
    for p in &agg.pareto_optimal {
        let c = agg.per_combination_metrics.iter().find(|c| &c.parameters == p);
        let thr = c.and_then(|c| c.metrics.get(THROUGHPUT_KEY));
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
}

/// Where throughput scaling slows: along the swept parameter, or along each line of a grid.
fn throughput_inflection(s: &mut String, agg: &SweepAggregate, slows: &[Value]) {
    match agg.trends.get(THROUGHPUT_KEY) {
        None if grid_lines(agg, THROUGHPUT_KEY).is_empty() => {
            let _ = writeln!(
                s,
                "- Throughput: no trend (needs at least two successful values)."
            );
        }
        None => {
            for (at, t) in grid_lines(agg, THROUGHPUT_KEY) {
                let slows = t.scaling_slows_at.clone().unwrap_or_default();
                let what = if slows.is_empty() {
                    "keeps scaling (no slowdown in range)".to_string()
                } else {
                    format!("scaling slows at {}", list(&slows))
                };
                let _ = writeln!(s, "- Throughput along {} ({at}): {what}.", t.parameter);
            }
        }
        Some(t) if slows.is_empty() => {
            let _ = writeln!(s, "- Throughput inflection: none in the range tested ({}) — extend the sweep or push the system harder to find its limit.", list(&t.parameter_values));
        }
        Some(t) => {
            let _ = writeln!(
                s,
                "- Throughput inflection: {} {} (scaling slows; rate of change {}).",
                t.parameter,
                list(slows),
                nums(&t.rate_of_change)
            );
        }
    }
}

/// Where latency degrades sharply: along the swept parameter, or along each line of a grid.
fn latency_inflection(s: &mut String, agg: &SweepAggregate, lat: &str, degrades: &[Value]) {
    match agg.trends.get(lat) {
        None if grid_lines(agg, lat).is_empty() => {
            let _ = writeln!(s, "- Latency: no trend.");
        }
        None => {
            for (at, t) in grid_lines(agg, lat) {
                let deg = t.latency_degrades_at.clone().unwrap_or_default();
                let what = if deg.is_empty() {
                    "no sharp degradation in range".to_string()
                } else {
                    format!("degrades sharply at {}", list(&deg))
                };
                let _ = writeln!(s, "- {lat} along {} ({at}): {what}.", t.parameter);
            }
        }
        Some(_) if degrades.is_empty() => {
            let _ = writeln!(s, "- Latency inflection ({lat}): none in the range tested.");
        }
        Some(t) => {
            let _ = writeln!(
                s,
                "- Latency inflection ({lat}): {} {} (sharp degradation; rate of change {}).",
                t.parameter,
                list(degrades),
                nums(&t.rate_of_change)
            );
        }
    }
}

/// Values whose key metrics vary by more than the CV threshold across trials.
fn variance(s: &mut String, agg: &SweepAggregate) {
    let m = &agg.metadata;
    let _ = writeln!(
        s,
        "\n## Variance (CV > {:.0}% needs more trials)\n",
        m.cv_threshold * 100.0
    );
    if m.num_trials_per_value < 2 {
        let _ = writeln!(s, "- One trial per value: no variance estimate. Use `--num-profile-runs 3` or more for confidence intervals.");
    } else if m.high_variance.is_empty() {
        let _ = writeln!(
            s,
            "- Every key metric has CV ≤ {:.0}% at every value.",
            m.cv_threshold * 100.0
        );
    }
    for f in &m.high_variance {
        let _ = writeln!(
            s,
            "- **{}**: {} CV {:.1}% — needs more trials or investigation.",
            params_text(&f.parameters),
            f.metric,
            f.cv * 100.0
        );
    }
}

/// The runs left out, and why.
fn failed_runs(s: &mut String, agg: &SweepAggregate) {
    let m = &agg.metadata;
    if m.failed_runs.is_empty() {
        return;
    }
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

/// The knee of each throughput trend (two-segment fit), beside the inflection rule.
fn knees(s: &mut String, agg: &SweepAggregate) {
    for (key, k) in &agg.knee {
        let at = if k.fixed.is_empty() {
            String::new()
        } else {
            format!(" ({})", params_text(&k.fixed))
        };
        let what = if k.saturated {
            format!(
                "saturates at {} = {} (plateau {:.4} {}, slope before it {:.4} per unit)",
                k.parameter,
                crate::artifacts::names::num(k.saturation_point),
                k.plateau,
                k.unit,
                k.slope
            )
        } else {
            format!(
                "no saturation in the range tested (up to {} = {})",
                k.parameter,
                crate::artifacts::names::num(k.saturation_point)
            )
        };
        let metric = key.split('@').next().unwrap_or(key);
        let _ = writeln!(
            s,
            "- Knee of {metric}{at}: {what}; two-segment fit R² {:.3}.",
            k.r_squared
        );
    }
}

/// Convergence: trials each value took and whether it converged.
fn convergence(s: &mut String, agg: &SweepAggregate) {
    let c = &agg.metadata.convergence;
    if c.is_empty() {
        return;
    }
    let _ = writeln!(s, "\n## Convergence\n");
    for v in c {
        let crit = v
            .criterion
            .map(|x| format!("{x:.4}"))
            .unwrap_or_else(|| "n/a".into());
        let state = if v.converged {
            "converged"
        } else {
            "did not converge"
        };
        let _ = writeln!(
            s,
            "- {}: {state} after {} trials ({} of {}.{} = {crit}, threshold {}){}",
            v.variation_label,
            v.trials,
            v.mode.as_str(),
            v.metric,
            v.stat,
            v.threshold,
            if v.detail.is_empty() {
                String::new()
            } else {
                format!("; {}", v.detail)
            }
        );
    }
}

/// Planned runs not run on purpose.
fn skipped_runs(s: &mut String, agg: &SweepAggregate) {
    let m = &agg.metadata;
    if m.skipped_runs.is_empty() {
        return;
    }
    let _ = writeln!(s, "\n## Skipped runs (not failures)\n");
    for f in &m.skipped_runs {
        let _ = writeln!(
            s,
            "- {}{} ({}): {}",
            f.label,
            f.run_index.map(|i| format!(" (run {i})")).unwrap_or_default(),
            params_text(&f.parameters),
            f.reason
        );
    }
}

/// The trend label of a combination: its value of the swept parameter, or its folder name when
/// several parameters move together (`variation`).
fn trend_label(agg: &SweepAggregate, parameter: &str, params: &Map<String, Value>) -> Option<Value> {
    if parameter == "variation" {
        let ordered: Vec<(String, Value)> = agg
            .metadata
            .sweep_parameters
            .iter()
            .filter_map(|p| params.get(&p.name).map(|v| (p.name.clone(), v.clone())))
            .collect();
        Some(Value::from(dir_name(&ordered)))
    } else {
        params.get(parameter).cloned()
    }
}

/// Where to operate and why: the last value before throughput scaling slows, else the best throughput.
fn recommended(agg: &SweepAggregate, slows: &[Value]) -> Option<(Map<String, Value>, String)> {
    if let (Some(t), Some(knee)) = (agg.trends.get(THROUGHPUT_KEY), slows.first()) {
        let pos = t.parameter_values.iter().position(|v| v == knee).unwrap_or(0);
        if pos > 0 {
            let before = &t.parameter_values[pos - 1];
            let found = agg
                .per_combination_metrics
                .iter()
                .find(|c| trend_label(agg, &t.parameter, &c.parameters).as_ref() == Some(before));
            if let Some(c) = found {
                let on = if agg.pareto_optimal.contains(&c.parameters) {
                    "a Pareto-optimal point"
                } else {
                    "not Pareto-optimal; compare with the frontier"
                };
                return Some((
                    c.parameters.clone(),
                    format!(
                        "the last value before throughput scaling slows ({} {}), {on}",
                        t.parameter,
                        value_text(knee)
                    ),
                ));
            }
        }
    }
    let p = agg
        .best_configurations
        .best_throughput
        .as_ref()?
        .parameters
        .clone();
    Some((p, "the highest throughput measured; no throughput knee in this range, so extend the sweep to find the limit".into()))
}

/// One line: where to operate.
fn recommendation(agg: &SweepAggregate, slows: &[Value]) -> String {
    let lat = latency_key(agg);
    if agg.per_combination_metrics.is_empty() {
        return "Recommendation: none — no run succeeded; see the failed runs above.".into();
    }
    let Some((p, why)) = recommended(agg, slows) else {
        return "Recommendation: none — throughput was not measured.".into();
    };
    let extra = agg
        .per_combination_metrics
        .iter()
        .find(|c| c.parameters == p)
        .map(|c| {
            let t = c
                .metrics
                .get(THROUGHPUT_KEY)
                .map(|m| format!("{} {}", num(m.stats.mean), m.unit))
                .unwrap_or_default();
            let l = c
                .metrics
                .get(lat)
                .map(|m| format!(", {lat} {} {}", num(m.stats.mean), m.unit))
                .unwrap_or_default();
            format!(" ({t}{l})")
        })
        .unwrap_or_default();
    format!("Recommendation: operate at {}{extra} — {why}.", params_text(&p))
}

/// A grid sweep's trends of one metric: (`other=value, ...` held fixed, trend), in key order.
fn grid_lines<'a>(agg: &'a SweepAggregate, metric: &str) -> Vec<(String, &'a crate::stats::trends::Trend)> {
    let prefix = format!("{metric}@");
    agg.trends
        .iter()
        .filter(|(k, _)| k.starts_with(&prefix))
        .map(|(_, t)| {
            (
                t.fixed
                    .iter()
                    .map(|(k, v)| format!("{k}={}", value_text(v)))
                    .collect::<Vec<_>>()
                    .join(", "),
                t,
            )
        })
        .collect()
}
