//! Aggregation across trials and values: the trials of each combination (confidence statistics of
//! every `<tag>_<stat>`), one combination's aggregate document, and the sweep aggregate in the
//! Parameter Sweeping guide's schema (best configurations, Pareto set, trends, high-variance flags).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::artifacts::names::{describe, describe_map};
use crate::contract::sla_filter::SlaFilter;
use crate::contract::summary::{stat_values, SummaryDoc, STAT_KEYS};
use crate::contract::sweep_aggregate::{
    latency_key, Best, BestConfigurations, Combination, CombinationMetrics, CvFlag, FailedRun,
    SlaConstraints, SweepAggregate, SweepMetadata, SweepParameter, THROUGHPUT_KEY,
};
use crate::contract::value_aggregate::{ValueAggregate, ValueMetadata};
use crate::pareto::{self, Goal, Point};
use crate::stats::confidence::{self, UnitStats};
use crate::stats::trends::{self, Direction, Trend};
use crate::sweep::load::{SweepInput, Trial};

/// Above this coefficient of variation the guide says a value needs more trials.
pub const CV_THRESHOLD: f64 = 0.20;

/// Key metrics checked for high variance and followed by the trends.
const KEY_METRICS: [(&str, Direction); 5] = [
    ("request_throughput_avg", Direction::HigherIsBetter),
    ("output_token_throughput_avg", Direction::HigherIsBetter),
    ("time_to_first_token_p99", Direction::LowerIsBetter),
    ("request_latency_p99", Direction::LowerIsBetter),
    ("inter_token_latency_avg", Direction::LowerIsBetter),
];

/// Groups trials by combination (in sweep order) and aggregates every `<tag>_<stat>` across trials.
pub fn combinations(input: &SweepInput, confidence_level: f64) -> Vec<Combination> {
    let mut order: Vec<String> = Vec::new();
    let mut groups: BTreeMap<String, Vec<&Trial>> = BTreeMap::new();
    for t in &input.trials {
        let d = t.variation.clone();
        if !groups.contains_key(&d) {
            order.push(d.clone());
        }
        groups.entry(d).or_default().push(t);
    }
    order
        .into_iter()
        .map(|d| {
            let mut ts = groups.remove(&d).unwrap_or_default();
            ts.sort_by_key(|t| t.trial);
            let ok: Vec<&SummaryDoc> = ts.iter().filter_map(|t| t.result.as_ref().ok()).collect();
            let metrics = stat_values(ok.iter().copied())
                .into_iter()
                .filter_map(|(k, (unit, xs))| {
                    confidence::aggregate(&xs, confidence_level).map(|s| (k, UnitStats { stats: s, unit }))
                })
                .collect();
            Combination {
                parameters: ts[0].parameters.clone(),
                dir_name: d,
                trial_labels: ts.iter().map(|t| t.label.clone()).collect(),
                failed: ts
                    .iter()
                    .filter_map(|t| {
                        t.result.as_ref().err().map(|e| FailedRun {
                            run_index: t.run_index,
                            label: t.label.clone(),
                            parameters: t.parameters.iter().cloned().collect(),
                            error: e.clone(),
                        })
                    })
                    .collect(),
                num_successful: ok.len(),
                metrics,
            }
        })
        .collect()
}

/// A per-combination confidence aggregate in AIPerf's `profile_export_aiperf_aggregate.json` shape.
pub fn aggregate_doc(c: &Combination, input: &SweepInput, confidence_level: f64) -> ValueAggregate {
    let sweep = input.layout.sweep;
    ValueAggregate {
        schema_version: "1.0".into(),
        generator: concat!("sweepkit ", env!("CARGO_PKG_VERSION")).into(),
        metadata: ValueMetadata {
            aggregation_type: "confidence".into(),
            num_profile_runs: c.trial_labels.len(),
            num_successful_runs: c.num_successful,
            failed_runs: c.failed.clone(),
            confidence_level,
            run_labels: c.trial_labels.clone(),
            cooldown_seconds: input.run_cooldown_seconds,
            variation_label: sweep.then(|| c.dir_name.clone()),
            variation_values: sweep.then(|| c.params_map()),
            sweep_mode: sweep.then(|| input.layout.mode.as_str().to_string()),
            single_run: (c.num_successful == 1).then_some(true),
            convergence: None,
        },
        metrics: c.metrics.clone(),
    }
}

/// The guide's alias keys: `ttft_p99_ms` for `time_to_first_token_p99`, `itl_avg_ms` for `inter_token_latency_avg`.
fn aliases(metrics: &BTreeMap<String, UnitStats>) -> BTreeMap<String, UnitStats> {
    let mut out = metrics.clone();
    for (k, v) in metrics {
        for (tag, short) in [
            ("time_to_first_token_", "ttft_"),
            ("inter_token_latency_", "itl_"),
        ] {
            if let Some(stat) = k.strip_prefix(tag) {
                if v.unit == "ms" && STAT_KEYS.contains(&stat) {
                    out.insert(format!("{short}{stat}_ms"), v.clone());
                }
            }
        }
    }
    out
}

/// The best configuration on one objective: combination `c`'s mean of `key` (which it has).
fn best_at(c: &Combination, key: &str, default_unit: &str) -> Best {
    let unit = &c.metrics[key].unit;
    Best {
        metric: c.mean(key).unwrap_or(f64::NAN),
        parameters: c.params_map(),
        unit: if unit.is_empty() { default_unit } else { unit }.to_string(),
    }
}

/// Parameter names and values in sweep order (first seen).
fn sweep_parameters(combos: &[Combination]) -> Vec<SweepParameter> {
    let mut params: Vec<SweepParameter> = Vec::new();
    for c in combos {
        for (k, v) in &c.parameters {
            match params.iter_mut().find(|p| &p.name == k) {
                Some(p) => {
                    if !p.values.contains(v) {
                        p.values.push(v.clone())
                    }
                }
                None => params.push(SweepParameter {
                    name: k.clone(),
                    values: vec![v.clone()],
                }),
            }
        }
    }
    params
}

/// Best configurations (ties → first in sweep order), over the combinations that succeeded.
fn best_configurations(ok: &[&Combination], lat: Option<&str>) -> BestConfigurations {
    let mut best = BestConfigurations::default();
    if !ok.is_empty() && ok.iter().all(|c| c.mean(THROUGHPUT_KEY).is_some()) {
        let mut b = ok[0];
        for c in &ok[1..] {
            if c.mean(THROUGHPUT_KEY) > b.mean(THROUGHPUT_KEY) {
                b = c;
            }
        }
        best.best_throughput = Some(best_at(b, THROUGHPUT_KEY, "requests/sec"));
    }
    if let Some(k) = lat {
        let mut b = ok[0];
        for c in &ok[1..] {
            if c.mean(k) < b.mean(k) {
                b = c;
            }
        }
        best.best_latency_p99 = Some(best_at(b, k, "ms"));
    }
    best
}

/// Pareto: throughput max, latency min, on the across-trial means.
fn pareto_optimal(ok: &[&Combination], lat: Option<&str>) -> Vec<Map<String, Value>> {
    match lat {
        Some(k) if ok.iter().all(|c| c.mean(THROUGHPUT_KEY).is_some()) => {
            let points: Vec<Point> = ok
                .iter()
                .map(|c| Point {
                    parameters: c.params_map(),
                    values: vec![
                        c.mean(THROUGHPUT_KEY).unwrap_or(f64::NAN),
                        c.mean(k).unwrap_or(f64::NAN),
                    ],
                    ci: vec![None, None],
                })
                .collect();
            pareto::optimal_parameters(&points, &[Goal::Maximize, Goal::Minimize])
        }
        _ => Vec::new(),
    }
}

/// The trends of the key metrics: along the swept parameter when the sweep is one-dimensional (one
/// parameter, or several moving together in a zip), else along each axis of the grid.
fn key_metric_trends(
    ok: &[&Combination],
    num_combinations: usize,
    params: &[SweepParameter],
) -> BTreeMap<String, Trend> {
    if ok.len() < 2 {
        return BTreeMap::new();
    }
    let one_dim =
        params.len() == 1 || (params.len() > 1 && params.iter().all(|p| p.values.len() == num_combinations));
    if one_dim {
        line_trends(ok, params)
    } else {
        grid_trends(ok, params)
    }
}

/// Trends along the one swept parameter, or along the `variation` (folder name) of a zip.
fn line_trends(ok: &[&Combination], params: &[SweepParameter]) -> BTreeMap<String, Trend> {
    let (name, labels): (String, Vec<Value>) = if params.len() == 1 {
        (
            params[0].name.clone(),
            ok.iter().map(|c| c.parameters[0].1.clone()).collect(),
        )
    } else {
        (
            "variation".into(),
            ok.iter().map(|c| Value::from(c.dir_name.clone())).collect(),
        )
    };
    let mut out = BTreeMap::new();
    for (key, dir) in KEY_METRICS {
        if ok.iter().all(|c| c.mean(key).is_some()) {
            let vals: Vec<f64> = ok.iter().map(|c| c.mean(key).unwrap_or(f64::NAN)).collect();
            let unit = ok[0].metrics[key].unit.clone();
            out.insert(key.to_string(), trends::trend(&name, &labels, &vals, dir, &unit));
        }
    }
    out
}

/// A grid: trends along each parameter with the others held fixed, keyed
/// `<metric>@<parameter>[<other>=<value>,...]` (e.g. `request_throughput_avg@concurrency[isl=128]`).
fn grid_trends(ok: &[&Combination], params: &[SweepParameter]) -> BTreeMap<String, Trend> {
    let mut out = BTreeMap::new();
    for p in params {
        let value_of = |c: &Combination| {
            c.parameters
                .iter()
                .find(|(k, _)| *k == p.name)
                .map(|(_, v)| v.clone())
        };
        // The lines along `p`: combinations grouped by the values of the other parameters.
        let mut lines: Vec<(Map<String, Value>, Vec<&Combination>)> = Vec::new();
        for c in ok {
            let fixed: Map<String, Value> = c
                .parameters
                .iter()
                .filter(|(k, _)| *k != p.name)
                .cloned()
                .collect();
            match lines.iter_mut().find(|(f, _)| *f == fixed) {
                Some((_, cs)) => cs.push(c),
                None => lines.push((fixed, vec![c])),
            }
        }
        for (fixed, mut cs) in lines {
            if cs.len() < 2 {
                continue;
            }
            cs.sort_by_key(|c| value_of(c).and_then(|v| p.values.iter().position(|x| *x == v)));
            let labels: Vec<Value> = cs.iter().filter_map(|c| value_of(c)).collect();
            let at: Vec<String> = fixed
                .iter()
                .map(|(k, v)| format!("{k}={}", v.to_string().trim_matches('"')))
                .collect();
            for (key, dir) in KEY_METRICS {
                if cs.iter().all(|c| c.mean(key).is_some()) {
                    let vals: Vec<f64> = cs.iter().map(|c| c.mean(key).unwrap_or(f64::NAN)).collect();
                    let mut t = trends::trend(&p.name, &labels, &vals, dir, &cs[0].metrics[key].unit);
                    t.fixed = fixed.clone();
                    out.insert(format!("{key}@{}[{}]", p.name, at.join(",")), t);
                }
            }
        }
    }
    out
}

/// Key metrics whose CV across trials exceeds [`CV_THRESHOLD`], and the warning for each.
fn high_variance(ok: &[&Combination]) -> (Vec<CvFlag>, Vec<String>) {
    let mut flags = Vec::new();
    let mut warnings = Vec::new();
    for c in ok.iter().filter(|c| c.num_successful >= 2) {
        for (key, _) in KEY_METRICS {
            let Some(m) = c.metrics.get(key) else { continue };
            let cv = m.stats.cv;
            if cv.is_finite() && cv > CV_THRESHOLD {
                let label = describe(&c.parameters);
                warnings.push(format!(
                    "{label}: {key} varies by CV {:.1}% (> {:.0}%) across {} trials: run more trials (--num-profile-runs) or investigate this value",
                    cv * 100.0,
                    CV_THRESHOLD * 100.0,
                    c.num_successful
                ));
                flags.push(CvFlag {
                    parameters: c.params_map(),
                    metric: key.to_string(),
                    cv,
                });
            }
        }
    }
    (flags, warnings)
}

/// The warning for a run the aggregates leave out.
fn failed_warning(f: &FailedRun) -> String {
    format!(
        "run {}{} ({}) failed and is excluded: {}",
        f.label,
        f.run_index.map(|i| format!(" #{i}")).unwrap_or_default(),
        describe_map(&f.parameters),
        f.error
    )
}

/// The values meeting every SLA filter of a search (AIPerf's `filter_feasible`: the filter's
/// `<tag>_<stat>` across-trial mean; a value without it fails), and the block naming them.
fn sla_feasible<'a>(
    ok: &[&'a Combination],
    filters: &[SlaFilter],
) -> (Vec<&'a Combination>, Option<SlaConstraints>) {
    if filters.is_empty() {
        return (ok.to_vec(), None);
    }
    let holds = |c: &Combination| {
        filters.iter().all(|f| {
            c.mean(&format!("{}_{}", f.metric_tag, f.stat))
                .is_some_and(|v| f.holds(v))
        })
    };
    let feasible: Vec<&Combination> = ok.iter().copied().filter(|c| holds(c)).collect();
    let block = SlaConstraints {
        active_filters: filters.to_vec(),
        feasible_count: feasible.len(),
        infeasible_count: ok.len() - feasible.len(),
    };
    (feasible, Some(block))
}

/// Builds the sweep aggregate and the warnings to print (high CV, failed runs).
pub fn sweep_aggregate(
    input: &SweepInput,
    combos: &[Combination],
    confidence_level: f64,
) -> (SweepAggregate, Vec<String>) {
    let ok: Vec<&Combination> = combos.iter().filter(|c| c.num_successful > 0).collect();
    let mut failed: Vec<FailedRun> = combos.iter().flat_map(|c| c.failed.clone()).collect();
    failed.sort_by_key(|r| r.run_index);
    let num_runs: usize = combos.iter().map(|c| c.trial_labels.len()).sum();
    let num_ok = num_runs - failed.len();
    let params = sweep_parameters(combos);
    let lat = latency_key(|k| !ok.is_empty() && ok.iter().all(|c| c.mean(k).is_some()));
    let trends = key_metric_trends(&ok, combos.len(), &params);
    let (flags, mut warnings) = high_variance(&ok);
    // Without SLA filters every value is feasible.
    let (feasible, sla_constraints) = sla_feasible(&ok, &input.sla_filters);
    warnings.extend(failed.iter().map(failed_warning));
    let metadata = SweepMetadata {
        aggregation_type: "sweep".into(),
        sweep_parameters: params,
        num_combinations: combos.len(),
        num_trials_per_value: combos.iter().map(|c| c.trial_labels.len()).max().unwrap_or(0),
        sweep_mode: input.layout.mode.as_str().into(),
        confidence_level,
        num_profile_runs: num_runs,
        num_successful_runs: num_ok,
        failed_runs: failed.clone(),
        high_variance: flags,
        cv_threshold: CV_THRESHOLD,
        generator: concat!("sweepkit ", env!("CARGO_PKG_VERSION")).into(),
        skipped_runs: input.skipped.clone(),
        convergence: Vec::new(),
        sla_constraints,
    };
    let per_combination_metrics = ok
        .iter()
        .map(|c| CombinationMetrics {
            parameters: c.params_map(),
            num_trials: c.trial_labels.len(),
            num_successful_trials: c.num_successful,
            metrics: aliases(&c.metrics),
        })
        .collect();
    let agg = SweepAggregate {
        aggregation_type: "sweep".into(),
        num_profile_runs: num_runs,
        num_successful_runs: num_ok,
        failed_runs: failed,
        metadata,
        per_combination_metrics,
        best_configurations: best_configurations(if feasible.is_empty() { &ok } else { &feasible }, lat),
        pareto_optimal: pareto_optimal(&feasible, lat),
        knee: crate::sweep::knee::knees(&trends),
        trends,
    };
    (agg, warnings)
}
