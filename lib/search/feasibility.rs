//! Judging one iteration against the SLA filters, with AIPerf's rules (`_sla_helpers.py`): an
//! iteration is feasible when at least one successful trial meets every filter; a missing or
//! non-finite value fails; margins and the observed value are means over successful trials.

use std::collections::BTreeMap;

use serde::Serialize;

use super::evidence::{Slos, Trial, TrialData};
use super::planner::Observation;
use crate::contract::sla_filter::SlaFilter;

/// The first filter an infeasible iteration breaks (`boundary_summary.infeasible_min.first_breach`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Breach {
    pub metric_tag: String,
    pub stat: String,
    pub op: String,
    /// In the metric's display unit.
    pub threshold: f64,
    /// Mean of the stat over successful trials (display only); null when none measured it.
    pub observed: Option<f64>,
}

fn successes(trials: &[Trial]) -> impl Iterator<Item = &TrialData> {
    trials.iter().filter_map(|t| t.result.as_ref().ok())
}

/// Mean of a stat over the successful trials that have it.
pub fn averaged(trials: &[Trial], tag: &str, stat: &str, slos: &Slos) -> Option<f64> {
    let v: Vec<f64> = successes(trials)
        .filter_map(|d| d.stat(tag, stat, slos))
        .collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn trial_meets(d: &TrialData, f: &SlaFilter, slos: &Slos) -> bool {
    d.stat(&f.metric_tag, &f.stat, slos).is_some_and(|v| f.holds(v))
}

/// The planner's view of an iteration: feasibility and the signed margin of each filter.
pub fn observe(trials: &[Trial], filters: &[SlaFilter], slos: &Slos) -> Observation {
    let feasible = successes(trials).any(|d| filters.iter().all(|f| trial_meets(d, f, slos)));
    let margins: BTreeMap<String, f64> = filters
        .iter()
        .enumerate()
        .filter_map(|(i, f)| averaged(trials, &f.metric_tag, &f.stat, slos).map(|v| (f.key(i), f.margin(v))))
        .collect();
    Observation { feasible, margins }
}

/// The first filter (in order) no successful trial meets.
pub fn first_breach(trials: &[Trial], filters: &[SlaFilter], slos: &Slos) -> Option<Breach> {
    let f = filters
        .iter()
        .find(|f| !successes(trials).any(|d| trial_meets(d, f, slos)))?;
    Some(Breach {
        metric_tag: f.metric_tag.clone(),
        stat: f.stat.clone(),
        op: f.op.as_str().to_string(),
        threshold: f.threshold,
        observed: averaged(trials, &f.metric_tag, &f.stat, slos),
    })
}

/// A filter naming a metric no successful trial has: the one-line reason, listing what there is.
/// (AIPerf counts such a filter as failed and reports "no pass in range"; a typo deserves an error.)
pub fn unknown_metric(trials: &[Trial], filters: &[SlaFilter], slos: &Slos) -> Option<String> {
    let ok: Vec<&TrialData> = successes(trials).collect();
    let first = ok.first()?;
    let f = filters
        .iter()
        .find(|f| !ok.iter().any(|d| d.has_metric(&f.metric_tag, slos)))?;
    // Closest names first (longest shared prefix), so a typo's intended metric leads the list.
    let shared = |t: &str| {
        t.chars()
            .zip(f.metric_tag.chars())
            .take_while(|(a, b)| a == b)
            .count()
    };
    let mut tags: Vec<&str> = first.summary.metrics.keys().map(String::as_str).collect();
    tags.sort_by_key(|t| (std::cmp::Reverse(shared(t)), *t));
    let shown = tags.iter().take(12).copied().collect::<Vec<_>>().join(", ");
    let hint = if f.metric_tag == "good_request_fraction" {
        " (it is computed from the per-request records, profile_export.jsonl, which are missing)"
    } else {
        ""
    };
    Some(format!(
        "SLA '{}': no metric '{}' in the trial summaries{hint}; they have: {shown}{}",
        f.describe(),
        f.metric_tag,
        if tags.len() > 12 { ", ..." } else { "" }
    ))
}
