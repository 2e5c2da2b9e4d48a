//! `findings.md`: the guide's best practice 5 ("document your findings"), written from the sweep
//! aggregate: optimal configuration per objective, Pareto points, throughput and latency inflection
//! points, values whose CV exceeds 20%, failed runs, and a one-line recommendation.

use std::fmt::Write;

use serde_json::{Map, Value};

use crate::artifacts::names::{describe_map as params_text, num, value_text};
use crate::contract::sweep_aggregate::{
    latency_key as latency_rule, SweepAggregate, LATENCY_KEYS, THROUGHPUT_KEY,
};
use crate::stats::confidence::UnitStats;
use crate::stats::trends::Trend;
use crate::sweep::noise::{self, Verdict};

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

/// Inflection points of one trend with the noise's verdict on each.
type Judged = Vec<(Value, Verdict)>;

/// The throughput trend's "scaling slows" points, each judged against the noise.
fn judged_slows(agg: &SweepAggregate, key: &str, t: Option<&Trend>) -> Judged {
    let Some(t) = t else { return Vec::new() };
    let at = t.scaling_slows_at.clone().unwrap_or_default();
    at.into_iter()
        .map(|v| {
            let i = t.parameter_values.iter().position(|x| *x == v).unwrap_or(0);
            let verdict = noise::slows(agg, t, key.split('@').next().unwrap_or(key), i);
            (v, verdict)
        })
        .collect()
}

/// The latency trend's "degrades sharply" points, each judged against the noise.
fn judged_degrades(agg: &SweepAggregate, key: &str, t: Option<&Trend>) -> Judged {
    let Some(t) = t else { return Vec::new() };
    let at = t.latency_degrades_at.clone().unwrap_or_default();
    at.into_iter()
        .map(|v| {
            let i = t.parameter_values.iter().position(|x| *x == v).unwrap_or(0);
            let verdict = noise::degrades(agg, t, key.split('@').next().unwrap_or(key), i);
            (v, verdict)
        })
        .collect()
}

/// The points whose claim stands against the noise.
fn standing(j: &Judged) -> Vec<Value> {
    j.iter()
        .filter(|(_, v)| v.stands())
        .map(|(x, _)| x.clone())
        .collect()
}

/// Points judged: `16` or `16 (within noise …)`, joined.
fn judged_list(j: &Judged) -> String {
    j.iter()
        .map(|(x, v)| format!("{}{}", value_text(x), v.note()))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Renders findings.md. `source` names the sweep aggregate file it was made from; `client_bound`
/// holds, per run whose run info says the client may have set the pace, a line naming it and why.
pub fn render(agg: &SweepAggregate, source: &str, client_bound: &[String]) -> String {
    let mut s = String::new();
    let lat = latency_key(agg);
    let slows_j = judged_slows(agg, THROUGHPUT_KEY, agg.trends.get(THROUGHPUT_KEY));
    let degrades_j = judged_degrades(agg, lat, agg.trends.get(lat));
    let slows = standing(&slows_j);
    header(&mut s, agg, source, client_bound);
    guide_summary(&mut s, agg, &slows_j, &degrades_j);
    best_configurations(&mut s, agg, lat);
    pareto_points(&mut s, agg, lat);
    let _ = writeln!(s, "\n## Inflection points\n");
    throughput_inflection(&mut s, agg, &slows_j);
    latency_inflection(&mut s, agg, lat, &degrades_j);
    knees(&mut s, agg);
    variance(&mut s, agg);
    convergence(&mut s, agg);
    failed_runs(&mut s, agg);
    skipped_runs(&mut s, agg);
    let _ = writeln!(s, "\n{}", recommendation(agg, &slows));
    s
}

/// The title, first any run where the client set the pace, what was swept and how, and the source.
fn header(s: &mut String, agg: &SweepAggregate, source: &str, client_bound: &[String]) {
    let m = &agg.metadata;
    let _ = writeln!(s, "# Benchmark findings\n");
    if !client_bound.is_empty() {
        let _ = writeln!(
            s,
            "**The client was the bottleneck** in {} run(s): their numbers measure the load generator as much as the server; rerun them with more `--workers`, on a less loaded machine, or at a lower load.\n",
            client_bound.len()
        );
        for c in client_bound {
            let _ = writeln!(s, "- {c}");
        }
        let _ = writeln!(s);
    }
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
    few_trials(s, agg);
    let _ = writeln!(s, "Source: `{source}`.\n");
}

/// With fewer than 3 trials per value the Student-t intervals are too wide to separate much.
fn few_trials(s: &mut String, agg: &SweepAggregate) {
    let n = agg.metadata.num_trials_per_value;
    if n == 2 {
        let _ = writeln!(s, "**Warning: 2 trials per value** — the {:.0}% intervals use t = {:.1} and are very wide; claims below that need separated intervals will mostly read \"within noise\". Use `--num-profile-runs 3` or more.", agg.metadata.confidence_level * 100.0, crate::stats::confidence::t_critical(agg.metadata.confidence_level, 1.0));
    } else if n == 1 {
        let _ = writeln!(s, "**Warning: 1 trial per value** — no confidence intervals, so nothing below is checked against run-to-run noise. Use `--num-profile-runs 3` or more.");
    }
}

/// ` (95% CI lo–hi)` for a metric measured over several trials; a lower end below zero is
/// clamped at 0 and marked (these metrics cannot be negative).
fn ci_text(m: &UnitStats, level: f64) -> String {
    let st = &m.stats;
    if st.n < 2 || !st.ci_low.is_finite() || !st.ci_high.is_finite() {
        return String::new();
    }
    let (lo, hi, clamped) = crate::stats::confidence::non_negative(st);
    format!(
        " ({:.0}% CI {}{}–{})",
        level * 100.0,
        num(lo),
        if clamped { " (clamped at 0)" } else { "" },
        num(hi)
    )
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
fn guide_summary(s: &mut String, agg: &SweepAggregate, slows: &Judged, degrades: &Judged) {
    let [param] = agg.metadata.sweep_parameters.as_slice() else {
        return;
    };
    let name = &param.name;
    let _ = writeln!(s, "## Benchmark Results\n");
    let standing_slows = standing(slows);
    if let Some((p, _)) = recommended(agg, &standing_slows) {
        let v = p.get(name).map(value_text).unwrap_or_default();
        let why = if standing_slows.is_empty() {
            "highest throughput; no knee in range"
        } else {
            "best balance"
        };
        let note = if standing_slows.is_empty() {
            best_note(agg, &p, THROUGHPUT_KEY, true)
        } else {
            String::new()
        };
        let _ = writeln!(s, "- Optimal {name}: {v} ({why}){note}");
    }
    let lat = latency_key(agg);
    let pareto: Vec<String> = agg
        .pareto_optimal
        .iter()
        .filter_map(|p| {
            let v = p.get(name).map(value_text)?;
            let (verdict, _) = noise::pareto(agg, p, THROUGHPUT_KEY, lat);
            Some(if verdict.stands() {
                v
            } else {
                format!("{v} (within noise)")
            })
        })
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
    let first = |j: &Judged| match j.first() {
        None => "none in range".to_string(),
        Some((v, verdict)) if verdict.stands() => value_text(v),
        Some((v, _)) => format!("none beyond noise (the rule's {} is within noise)", value_text(v)),
    };
    let _ = writeln!(s, "- Throughput inflection: {} (scaling slows)", first(slows));
    let _ = writeln!(
        s,
        "- Latency inflection: {} (sharp degradation)\n",
        first(degrades)
    );
}

/// " — within noise of …" when the best at `p` does not separate from the others.
fn best_note(agg: &SweepAggregate, p: &Map<String, Value>, key: &str, higher: bool) -> String {
    let (verdict, close) = noise::best(agg, p, key, higher);
    if verdict.stands() {
        return String::new();
    }
    let names: Vec<String> = close.iter().map(params_text).collect();
    format!("{} (ties with {})", verdict.note(), names.join("; "))
}

/// The optimal configuration per objective.
fn best_configurations(s: &mut String, agg: &SweepAggregate, lat: &str) {
    let _ = writeln!(s, "## Optimal configuration per objective\n");
    let best = &agg.best_configurations;
    if best.is_empty() {
        let _ = writeln!(s, "- No combination has both throughput and latency metrics.");
    }
    let level = agg.metadata.confidence_level;
    for (b, what, key, higher) in [
        (
            &best.best_throughput,
            format!("Highest throughput ({THROUGHPUT_KEY})"),
            THROUGHPUT_KEY,
            true,
        ),
        (
            &best.best_latency_p99,
            format!("Lowest p99 latency ({lat})"),
            lat,
            false,
        ),
    ] {
        if let Some(b) = b {
            let ci = metric_of(agg, &b.parameters, key)
                .map(|m| ci_text(m, level))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "- {what}: **{}** ({} {}{ci}){}",
                params_text(&b.parameters),
                num(b.metric),
                b.unit,
                best_note(agg, &b.parameters, key, higher)
            );
        }
    }
}

/// The across-trial statistics of `key` at the combination `p`.
fn metric_of<'a>(agg: &'a SweepAggregate, p: &Map<String, Value>, key: &str) -> Option<&'a UnitStats> {
    agg.per_combination_metrics
        .iter()
        .find(|c| &c.parameters == p)
        .and_then(|c| c.metrics.get(key))
}

/// The Pareto-optimal points with their throughput and latency (and intervals, with trials).
fn pareto_points(s: &mut String, agg: &SweepAggregate, lat: &str) {
    let _ = writeln!(s, "\n## Pareto optimal points (throughput up, {lat} down)\n");
    if agg.pareto_optimal.is_empty() {
        let _ = writeln!(s, "- None.");
    }
    let level = agg.metadata.confidence_level;
    let show = |m: Option<&UnitStats>| {
        m.map(|t| format!("{} {}{}", num(t.stats.mean), t.unit, ci_text(t, level)))
            .unwrap_or_default()
    };
    for p in &agg.pareto_optimal {
        let (verdict, rivals) = noise::pareto(agg, p, THROUGHPUT_KEY, lat);
        let note = if verdict.stands() {
            String::new()
        } else {
            let names: Vec<String> = rivals.iter().map(params_text).collect();
            format!(
                "{} (no better than {} on either axis beyond noise)",
                verdict.note(),
                names.join("; ")
            )
        };
        let _ = writeln!(
            s,
            "- {}: {}, {}{note}",
            params_text(p),
            show(metric_of(agg, p, THROUGHPUT_KEY)),
            show(metric_of(agg, p, lat)),
        );
    }
}

/// Where throughput scaling slows: along the swept parameter, or along each line of a grid.
fn throughput_inflection(s: &mut String, agg: &SweepAggregate, slows: &Judged) {
    match agg.trends.get(THROUGHPUT_KEY) {
        None if grid_lines(agg, THROUGHPUT_KEY).is_empty() => {
            let _ = writeln!(
                s,
                "- Throughput: no trend (needs at least two successful values)."
            );
        }
        None => {
            for (key, at, t) in grid_lines(agg, THROUGHPUT_KEY) {
                let slows = judged_slows(agg, key, Some(t));
                let what = if slows.is_empty() {
                    "keeps scaling (no slowdown in range)".to_string()
                } else {
                    format!("scaling slows at {}", judged_list(&slows))
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
                judged_list(slows),
                nums(&t.rate_of_change)
            );
        }
    }
}

/// Where latency degrades sharply: along the swept parameter, or along each line of a grid.
fn latency_inflection(s: &mut String, agg: &SweepAggregate, lat: &str, degrades: &Judged) {
    match agg.trends.get(lat) {
        None if grid_lines(agg, lat).is_empty() => {
            let _ = writeln!(s, "- Latency: no trend.");
        }
        None => {
            for (key, at, t) in grid_lines(agg, lat) {
                let deg = judged_degrades(agg, key, Some(t));
                let what = if deg.is_empty() {
                    "no sharp degradation in range".to_string()
                } else {
                    format!("degrades sharply at {}", judged_list(&deg))
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
                judged_list(degrades),
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
        let note = match (k.saturated, agg.trends.get(key)) {
            (true, Some(t)) => noise::knee(agg, t, metric, k.saturation_point).note(),
            _ => String::new(),
        };
        let _ = writeln!(
            s,
            "- Knee of {metric}{at}: {what}; two-segment fit R² {:.3}{note}.",
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

/// Where to operate and why: the last value before throughput scaling slows, else the best throughput.
fn recommended(agg: &SweepAggregate, slows: &[Value]) -> Option<(Map<String, Value>, String)> {
    if let (Some(t), Some(knee)) = (agg.trends.get(THROUGHPUT_KEY), slows.first()) {
        let pos = t.parameter_values.iter().position(|v| v == knee).unwrap_or(0);
        if pos > 0 {
            let before = &t.parameter_values[pos - 1];
            let found = agg
                .per_combination_metrics
                .iter()
                .find(|c| noise::label(agg, &t.parameter, &c.parameters).as_ref() == Some(before));
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
    let note = if slows.is_empty() {
        best_note(agg, &p, THROUGHPUT_KEY, true)
    } else {
        String::new()
    };
    format!(
        "Recommendation: operate at {}{extra} — {why}{note}.",
        params_text(&p)
    )
}

/// A grid sweep's trends of one metric: (key, `other=value, ...` held fixed, trend), in key order.
fn grid_lines<'a>(agg: &'a SweepAggregate, metric: &str) -> Vec<(&'a str, String, &'a Trend)> {
    let prefix = format!("{metric}@");
    agg.trends
        .iter()
        .filter(|(k, _)| k.starts_with(&prefix))
        .map(|(k, t)| {
            (
                k.as_str(),
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
