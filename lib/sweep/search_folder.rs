//! An SLA search's folder read as a sweep (`sweep-agg DIR`), so a search gets the per-value and
//! sweep aggregates a grid sweep gets. AIPerf's adaptive layout: `search_iter_NNNN/profile_runs/
//! run_NNNN/`, each trial labelled by the value its iteration measured — from
//! `search_history.json` (sweepkit's or AIPerf's), else the trial summary's
//! `run_info.variation_values`. The trials of a value measured in several iterations (a stability
//! trial, a replicate) are pooled into one combination: AIPerf lets the later iteration's aggregate
//! overwrite the earlier one's, which drops trials that were run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::Value;

use crate::artifacts::layout::{search_iteration_number, Layout, SweepMode};
use crate::artifacts::names::{cmp_param_list, dir_name, short_names, trial_number};
use crate::artifacts::{RUN_ERROR_FILE, SEARCH_HISTORY_JSON, SUMMARY_JSON};
use crate::contract::sla_filter::SlaFilter;
use crate::sweep::load::{load_run, SweepInput, Trial};

/// True when `dir` is a search's folder: it has a search history or an iteration folder.
pub fn is_search_folder(dir: &Path) -> bool {
    dir.join(SEARCH_HISTORY_JSON).is_file() || iterations(dir).is_ok_and(|its| !its.is_empty())
}

/// The `search_iter_NNNN` folders below `root`, by iteration number.
fn iterations(root: &Path) -> anyhow::Result<Vec<(usize, PathBuf)>> {
    let mut out: Vec<(usize, PathBuf)> = std::fs::read_dir(root)
        .with_context(|| format!("{}: cannot list", root.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .filter_map(|e| {
            Some((
                search_iteration_number(&e.file_name().to_string_lossy())?,
                e.path(),
            ))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// The trial folders of one iteration (`profile_runs/run_NNNN`), by trial number.
fn trial_runs(iteration: &Path) -> Vec<(u32, PathBuf)> {
    let mut out: Vec<(u32, PathBuf)> = std::fs::read_dir(iteration.join("profile_runs"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.path().is_dir())
                .filter_map(|e| Some((trial_number(&e.file_name().to_string_lossy())?, e.path())))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// What the search's history says: each iteration's value, and the SLA filters.
#[derive(Default)]
struct History {
    values: BTreeMap<usize, Vec<(String, Value)>>,
    filters: Vec<SlaFilter>,
}

/// Reads `search_history.json` (absent: nothing known); a file that is there but unreadable is an error.
fn read_history(root: &Path) -> anyhow::Result<History> {
    let path = root.join(SEARCH_HISTORY_JSON);
    let Ok(text) = crate::io::capped::read_to_string(&path) else {
        return Ok(History::default());
    };
    let doc: Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not valid JSON", path.display()))?;
    let mut h = History::default();
    for (pos, it) in doc["iterations"].as_array().into_iter().flatten().enumerate() {
        let idx = it["iteration_idx"].as_u64().map_or(pos, |i| i as usize);
        if let Some(vv) = it["variation_values"].as_object().filter(|v| !v.is_empty()) {
            h.values.insert(idx, short_names(vv));
        }
    }
    if let Some(f) = doc.pointer("/config/sla_filters").filter(|f| !f.is_null()) {
        h.filters = serde_json::from_value(f.clone()).with_context(|| {
            format!(
                "{}: config.sla_filters is not a list of {{metric_tag, stat, op, threshold}}",
                path.display()
            )
        })?;
    }
    Ok(h)
}

/// The value a trial's own summary names (`run_info.variation_values`), when it has one.
fn value_from_summary(
    result: &Result<crate::contract::summary::SummaryDoc, String>,
) -> Option<Vec<(String, Value)>> {
    let doc = result.as_ref().ok()?;
    let vv = doc.doc.pointer("/run_info/variation_values")?.as_object()?;
    (!vv.is_empty()).then(|| short_names(vv))
}

/// Labels every finished trial of the search in `root` by its value; trials of one value keep
/// their execution order (trial 1, 2, … across iterations) and are labelled
/// `search_iter_NNNN/run_NNNN`, so pooled trials stay distinguishable in the aggregates.
pub fn from_search(root: &Path) -> anyhow::Result<SweepInput> {
    let history = read_history(root)?;
    let mut trials: Vec<Trial> = Vec::new();
    let mut per_value: BTreeMap<String, u32> = BTreeMap::new();
    for (i, idir) in iterations(root)? {
        for (t, dir) in trial_runs(&idir) {
            if !dir.join(SUMMARY_JSON).is_file() && !dir.join(RUN_ERROR_FILE).is_file() {
                continue; // not run yet, or interrupted before its summary
            }
            let result = load_run(&dir);
            let parameters = history
                .values
                .get(&i)
                .cloned()
                .or_else(|| value_from_summary(&result))
                .with_context(|| {
                    format!(
                        "{}: which value iteration {i} measured is unknown: neither {} nor the trial's run_info.variation_values names it",
                        dir.display(),
                        root.join(SEARCH_HISTORY_JSON).display()
                    )
                })?;
            let n = per_value.entry(dir_name(&parameters)).or_default();
            *n += 1;
            trials.push(Trial {
                run_index: Some(trials.len()),
                trial: *n,
                label: format!("search_iter_{i:04}/run_{t:04}"),
                variation: dir_name(&parameters),
                parameters,
                dir,
                result,
            });
        }
    }
    anyhow::ensure!(
        !trials.is_empty(),
        "{}: a search folder without a finished trial (search_iter_NNNN/profile_runs/run_NNNN/ with {SUMMARY_JSON}): run the search first",
        root.display()
    );
    trials.sort_by(|a, b| cmp_param_list(&a.parameters, &b.parameters).then(a.run_index.cmp(&b.run_index)));
    Ok(SweepInput {
        layout: Layout {
            base_dir: root.to_path_buf(),
            sweep: true,
            trials: per_value.values().copied().max().unwrap_or(1),
            // AIPerf's adaptive runs aggregate as its repeated order does: `aggregate/<value>/`.
            mode: SweepMode::Repeated,
            adaptive: true,
        },
        trials,
        run_cooldown_seconds: None,
        skipped: Vec::new(),
        sla_filters: history.filters,
    })
}
