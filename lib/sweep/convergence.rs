//! Convergence (AIPerf's adaptive trials): per value, whether the trials run so far agree well
//! enough on one metric to stop giving it trials (`ci_width`, `cv` or `distribution`, AIPerf's
//! criteria), and AIPerf's collated file that pools every trial's per-request values.

use std::collections::BTreeMap;
use std::path::Path;

use crate::contract::collated::{CollatedDoc, CollatedMetadata, CollatedMetric, Combined, PerRun};
use crate::contract::convergence::{ConvergenceMode, ConvergenceSettings, ValueConvergence};
use crate::contract::records::{Phase, Record};
use crate::contract::sweep_aggregate::Combination;
use crate::io::jsonl;
use crate::stats::confidence::t_critical;
use crate::stats::distribution::np_percentile_sorted;
use crate::stats::ks::ks_2samp;
use crate::sweep::load::{SweepInput, Trial};

/// The per-request records of a run folder.
pub const RECORDS_FILE: &str = "profile_export.jsonl";

/// The plan's label of a combination: its folder name, `base` without a sweep.
pub fn label_of(dir: &str) -> String {
    if dir.is_empty() {
        "base".into()
    } else {
        dir.into()
    }
}

/// The trials of each combination, in sweep order, keyed by their folder name.
fn groups(input: &SweepInput) -> Vec<(String, Vec<&Trial>)> {
    let mut out: Vec<(String, Vec<&Trial>)> = Vec::new();
    for t in &input.trials {
        let d = t.variation.clone();
        match out.iter_mut().find(|(k, _)| *k == d) {
            Some((_, v)) => v.push(t),
            None => out.push((d, vec![t])),
        }
    }
    for (_, v) in &mut out {
        v.sort_by_key(|t| t.trial);
    }
    out
}

/// Every value's verdict.
pub fn verdicts(input: &SweepInput, s: &ConvergenceSettings, cl: f64) -> Vec<ValueConvergence> {
    groups(input)
        .into_iter()
        .map(|(d, ts)| verdict(&label_of(&d), &ts, s, cl))
        .collect()
}

/// The profiling, non-error per-request values of `tag` in a run folder (numbers only).
fn request_values(dir: &Path, tag: &str) -> anyhow::Result<Vec<f64>> {
    let inputs = jsonl::open_inputs(&[dir.join(RECORDS_FILE)])?;
    let (records, _) = jsonl::read_all::<Record>(inputs)?;
    Ok(records
        .iter()
        .filter(|r| !r.is_error() && r.metadata.benchmark_phase == Phase::Profiling)
        .filter_map(|r| r.scalar(tag))
        .filter(|v| v.is_finite())
        .collect())
}

/// The criterion over the successful trials (in trial order), or why it cannot be computed.
fn criterion(ok: &[&Trial], s: &ConvergenceSettings, cl: f64) -> Result<f64, String> {
    if s.mode == ConvergenceMode::Distribution {
        let mut earlier = Vec::new();
        for t in &ok[..ok.len() - 1] {
            earlier.extend(request_values(&t.dir, &s.metric).map_err(|e| format!("{e:#}"))?);
        }
        let last = request_values(&ok[ok.len() - 1].dir, &s.metric).map_err(|e| format!("{e:#}"))?;
        return ks_2samp(&earlier, &last)
            .map(|(_, p)| p)
            .ok_or_else(|| format!("no per-request values of {}", s.metric));
    }
    let xs: Vec<f64> = ok
        .iter()
        .filter_map(|t| t.result.as_ref().ok())
        .filter_map(|d| d.metrics.get(&s.metric).and_then(|m| m.get(&s.stat)))
        .filter(|v| v.is_finite())
        .collect();
    if xs.len() < ok.len() {
        return Err(format!("{}.{} missing from a trial summary", s.metric, s.stat));
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    if mean == 0.0 {
        return Err("the mean is 0".into());
    }
    let std = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    Ok(match s.mode {
        ConvergenceMode::Cv => std / mean.abs(),
        _ => 2.0 * t_critical(cl, n - 1.0) * std / n.sqrt() / mean.abs(),
    })
}

/// One value's verdict: converged once at least `min_runs` trials succeeded and the criterion
/// passes (p-value above, width or CV below the threshold). An error in the criterion is "not converged".
pub fn verdict(label: &str, trials: &[&Trial], s: &ConvergenceSettings, cl: f64) -> ValueConvergence {
    let ok: Vec<&Trial> = trials.iter().copied().filter(|t| t.result.is_ok()).collect();
    let need = s.min_runs.max(2);
    let (value, detail) = if ok.len() < need {
        (None, format!("{} of at least {need} trials succeeded", ok.len()))
    } else {
        match criterion(&ok, s, cl) {
            Ok(v) if v.is_finite() => (Some(v), String::new()),
            Ok(_) => (None, "the criterion is not finite".into()),
            Err(e) => (None, e),
        }
    };
    let converged = value.is_some_and(|v| match s.mode {
        ConvergenceMode::Distribution => v > s.threshold,
        _ => v < s.threshold,
    });
    ValueConvergence {
        variation_label: label.into(),
        trials: ok.len(),
        converged,
        criterion: value,
        threshold: s.threshold,
        mode: s.mode,
        metric: s.metric.clone(),
        stat: s.stat.clone(),
        detail,
    }
}

fn opt(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// AIPerf's collated file for one combination: every numeric per-request metric of its successful
/// trials pooled (`combined`, std ddof=1, numpy percentiles) and per trial (`per_run`).
pub fn collated(
    c: &Combination,
    input: &SweepInput,
    verdict: Option<ValueConvergence>,
) -> anyhow::Result<CollatedDoc> {
    let mut pooled: BTreeMap<String, (Vec<f64>, Vec<PerRun>)> = BTreeMap::new();
    let ts = input.trials.iter().filter(|t| t.variation == c.dir_name);
    for t in ts.filter(|t| t.result.is_ok()) {
        let inputs = jsonl::open_inputs(&[t.dir.join(RECORDS_FILE)])?;
        let (records, _) = jsonl::read_all::<Record>(inputs)?;
        let mut per: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for r in records
            .iter()
            .filter(|r| !r.is_error() && r.metadata.benchmark_phase == Phase::Profiling)
        {
            for tag in r.metrics.keys() {
                if let Some(v) = r.scalar(tag).filter(|v| v.is_finite()) {
                    per.entry(tag).or_default().push(v);
                }
            }
        }
        for (tag, xs) in per {
            let e = pooled.entry(tag.to_string()).or_default();
            e.1.push(PerRun {
                label: t.label.clone(),
                mean: opt(xs.iter().sum::<f64>() / xs.len() as f64),
                count: xs.len(),
            });
            e.0.extend(xs);
        }
    }
    let metrics = pooled
        .into_iter()
        .map(|(tag, (mut xs, per_run))| {
            xs.sort_by(f64::total_cmp);
            let n = xs.len() as f64;
            let mean = xs.iter().sum::<f64>() / n;
            let std = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
            let combined = Combined {
                mean: opt(mean),
                std: opt(std),
                p50: opt(np_percentile_sorted(&xs, 50.0)),
                p90: opt(np_percentile_sorted(&xs, 90.0)),
                p95: opt(np_percentile_sorted(&xs, 95.0)),
                p99: opt(np_percentile_sorted(&xs, 99.0)),
                count: xs.len(),
            };
            (tag, CollatedMetric { combined, per_run })
        })
        .collect();
    Ok(CollatedDoc {
        schema_version: "1.0.0".into(),
        generator: concat!("sweepkit ", env!("CARGO_PKG_VERSION")).into(),
        description: "Collated per-request metrics across all runs.".into(),
        metadata: CollatedMetadata {
            aggregation_type: "detailed".into(),
            num_profile_runs: c.trial_labels.len(),
            num_successful_runs: c.num_successful,
            failed_runs: c.failed.clone(),
            run_labels: c.trial_labels.clone(),
            cooldown_seconds: input.run_cooldown_seconds,
            convergence: verdict,
        },
        metrics,
    })
}
