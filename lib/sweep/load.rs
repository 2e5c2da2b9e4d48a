//! The sweep's trials, labelled with their parameters and trial number: from the plan, from the
//! folder layout (sweepkit's or AIPerf's tree), or rebuilt from per-value aggregates when the trial
//! summaries are gone. A run folder's summary is read here, with AIPerf's rules for a failed run.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::Value;

use crate::artifacts::layout::{Layout, SweepMode};
use crate::artifacts::names::{
    cmp_param_list, dir_name, params_from_path, parse_dir_name, short_names, trial_number,
};
use crate::artifacts::{AGGREGATE_JSON, RUN_ERROR_FILE, RUN_SKIPPED_FILE, SUMMARY_JSON};
use crate::contract::plan_line::{FullPlace, PlanLine};
use crate::contract::sla_filter::SlaFilter;
use crate::contract::summary::SummaryDoc;
use crate::contract::sweep_aggregate::{Combination, FailedRun, SkippedRun};
use crate::contract::value_aggregate::ValueAggregate;
use crate::stats::confidence::{self, UnitStats};

/// One trial at one combination, with its summary or the reason it failed.
#[derive(Debug, Clone)]
pub struct Trial {
    pub run_index: Option<usize>,
    pub trial: u32,
    pub label: String,
    /// The combination's folder name, which tells combinations apart: `concurrency_10` for a grid,
    /// a scenario's name (`small`) whatever values it sets.
    pub variation: String,
    /// Swept parameters in sweep order.
    pub parameters: Vec<(String, Value)>,
    pub dir: PathBuf,
    pub result: Result<SummaryDoc, String>,
}

/// Every trial of a sweep and how the sweep was laid out.
#[derive(Debug, Clone)]
pub struct SweepInput {
    pub trials: Vec<Trial>,
    pub layout: Layout,
    /// Profile-run cooldown, when known (from the plan).
    pub run_cooldown_seconds: Option<f64>,
    /// Planned runs skipped on purpose (a `run_skipped.txt` in their folder), left out of `trials`.
    pub skipped: Vec<SkippedRun>,
    /// An SLA search's filters (its `search_history.json`): the sweep aggregate's `sla_constraints`.
    pub sla_filters: Vec<SlaFilter>,
}

/// Reads a run folder's summary, or why the run failed (AIPerf's rules for a failed run).
pub fn load_run(dir: &Path) -> Result<SummaryDoc, String> {
    let err_file = dir.join(RUN_ERROR_FILE);
    if let Ok(text) = crate::io::capped::read_to_string(&err_file) {
        let t = text.trim();
        return Err(if t.is_empty() {
            "run failed (no message)".to_string()
        } else {
            t.to_string()
        });
    }
    let path = dir.join(SUMMARY_JSON);
    if !path.exists() {
        return Err(format!(
            "no {SUMMARY_JSON} in {}: the run did not finish",
            dir.display()
        ));
    }
    let doc = SummaryDoc::read(&path).map_err(|e| format!("{e:#}"))?;
    match doc.failure() {
        None => Ok(doc),
        Some(why) => Err(why),
    }
}

fn plan_parameters(line: &FullPlace) -> Vec<(String, Value)> {
    // The folder name keeps the sweep order; the parameters map is sorted by name.
    match parse_dir_name(&line.variation_label) {
        Some(p)
            if p.len() == line.parameters.len() && p.iter().all(|(k, _)| line.parameters.contains_key(k)) =>
        {
            p.into_iter()
                .map(|(k, _)| (k.clone(), line.parameters[&k].clone()))
                .collect()
        }
        _ => line
            .parameters
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}

/// Labels every run of a plan and loads its summary from its artifact folder.
pub fn from_plan(lines: &[PlanLine]) -> anyhow::Result<SweepInput> {
    anyhow::ensure!(!lines.is_empty(), "the plan has no runs");
    let lines = lines
        .iter()
        .enumerate()
        .map(|(i, l)| l.place.full().map_err(|e| anyhow::anyhow!("{}: {e}", i + 1)))
        .collect::<anyhow::Result<Vec<FullPlace>>>()?;
    // The layout is read from the folders themselves, so a partial plan (an interrupted sweep)
    // is placed as the whole plan would be.
    let sweep = lines.iter().any(|l| !l.parameters.is_empty());
    let comps = |l: &FullPlace| -> Vec<String> {
        Path::new(&l.artifact_dir)
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect()
    };
    let with_trials = lines.iter().any(|l| comps(l).iter().any(|c| c == "profile_runs"));
    let trials = if with_trials {
        lines.iter().map(|l| l.trial).max().unwrap_or(1).max(2)
    } else {
        1
    };
    let mode = if sweep && with_trials && comps(&lines[0]).last().is_some_and(|c| trial_number(c).is_some()) {
        SweepMode::Independent
    } else {
        SweepMode::Repeated
    };
    let base_dir = Layout::base_of(Path::new(&lines[0].artifact_dir), sweep, trials);
    let run_cooldown = lines
        .iter()
        .find(|l| l.trial > 1 && (mode == SweepMode::Independent || l.variation_index == 0))
        .map(|l| l.cooldown_seconds);
    let skipped_why =
        |l: &FullPlace| crate::io::capped::read_to_string(Path::new(&l.artifact_dir).join(RUN_SKIPPED_FILE));
    let skipped = lines
        .iter()
        .filter_map(|l| {
            skipped_why(l).ok().map(|why| SkippedRun {
                run_index: Some(l.run_index),
                label: l.trial_label.clone(),
                parameters: plan_parameters(l).into_iter().collect(),
                reason: why.trim().to_string(),
            })
        })
        .collect();
    let out = lines
        .iter()
        .filter(|l| skipped_why(l).is_err())
        .map(|l| Trial {
            run_index: Some(l.run_index),
            trial: l.trial,
            label: l.trial_label.clone(),
            variation: l.variation_label.clone(),
            parameters: plan_parameters(l),
            dir: PathBuf::from(&l.artifact_dir),
            result: load_run(Path::new(&l.artifact_dir)),
        })
        .collect();
    Ok(SweepInput {
        trials: out,
        layout: Layout {
            base_dir,
            sweep,
            trials,
            mode,
            adaptive: false,
        },
        run_cooldown_seconds: run_cooldown,
        skipped,
        sla_filters: Vec::new(),
    })
}

/// The run folders below `dir` (holding a summary or a run error), in path order; aggregates skipped.
pub fn collect_run_dirs(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name == "aggregate" || name == "sweep_aggregate" {
        return Ok(());
    }
    if dir.join(SUMMARY_JSON).is_file() || dir.join(RUN_ERROR_FILE).is_file() {
        out.push(dir.to_path_buf());
        return Ok(());
    }
    let mut subdirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("{}: cannot list", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    subdirs.sort();
    for d in subdirs {
        collect_run_dirs(&d, out)?;
    }
    Ok(())
}

/// The parameters a summary's `run_info` names, in the folder's order when the folder names the
/// same ones; else the folder's. AIPerf names them by dotted path: the last segment is kept.
fn info_parameters(doc: &SummaryDoc, folder: Option<Vec<(String, Value)>>) -> Option<Vec<(String, Value)>> {
    let vv = doc
        .doc
        .pointer("/run_info/variation_values")
        .and_then(Value::as_object)
        .filter(|vv| !vv.is_empty());
    let Some(vv) = vv else {
        return folder;
    };
    let from_info = short_names(vv);
    Some(match folder {
        Some(p)
            if p.len() == from_info.len() && p.iter().all(|(k, _)| from_info.iter().any(|(f, _)| f == k)) =>
        {
            p.iter()
                .map(|(k, _)| {
                    from_info
                        .iter()
                        .find(|(f, _)| f == k)
                        .cloned()
                        .unwrap_or_default()
                })
                .collect()
        }
        _ => from_info,
    })
}

/// Labels every run folder below `root` (sweepkit's or AIPerf's tree) by its `run_info` or its path.
pub fn from_dir(root: &Path) -> anyhow::Result<SweepInput> {
    anyhow::ensure!(root.is_dir(), "{}: not a folder", root.display());
    let mut dirs = Vec::new();
    collect_run_dirs(root, &mut dirs)?;
    anyhow::ensure!(
        !dirs.is_empty(),
        "{}: no run folders ({SUMMARY_JSON} or {RUN_ERROR_FILE}) below it: give a sweep's folder or --plan",
        root.display()
    );
    let mut independent = false;
    let mut trials = Vec::new();
    for dir in dirs {
        let rel = dir.strip_prefix(root).unwrap_or(&dir);
        let comps: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let mut trial = 1;
        let mut label = "run_0001".to_string();
        let mut params: Option<Vec<(String, Value)>> = None;
        // The combination's own folder: the one that is neither `profile_runs` nor a trial's.
        let mut folder: Option<String> = None;
        for (i, c) in comps.iter().enumerate() {
            if let Some(t) = trial_number(c) {
                trial = t;
                label = c.clone();
            } else if c != "profile_runs" {
                if comps.get(i + 1).is_some_and(|n| n == "profile_runs") {
                    independent = true;
                }
                folder = Some(c.clone());
                if let Some(p) = parse_dir_name(c) {
                    params = Some(p);
                }
            }
        }
        let result = load_run(&dir);
        if let Ok(doc) = &result {
            params = info_parameters(doc, params);
        }
        let parameters = params.unwrap_or_default();
        trials.push(Trial {
            run_index: None,
            trial,
            label,
            variation: folder.unwrap_or_else(|| dir_name(&parameters)),
            parameters,
            dir,
            result,
        });
    }
    let combos: std::collections::BTreeSet<&str> = trials.iter().map(|t| t.variation.as_str()).collect();
    let sweep = combos.len() > 1 || trials.iter().any(|t| !t.parameters.is_empty());
    let n_trials = trials.iter().map(|t| t.trial).max().unwrap_or(1);
    // Execution order as the layout implies it.
    let mode = if independent {
        SweepMode::Independent
    } else {
        SweepMode::Repeated
    };
    // Sort combinations by their values (numeric) so the sweep order is the natural one.
    let mut keyed: Vec<(Vec<(String, Value)>, String)> = trials
        .iter()
        .map(|t| (t.parameters.clone(), t.variation.clone()))
        .collect();
    keyed.sort_by(|a, b| cmp_param_list(&a.0, &b.0));
    keyed.dedup_by(|a, b| a.1 == b.1);
    let rank = |d: &str| keyed.iter().position(|(_, k)| k == d).unwrap_or(0);
    trials.sort_by_key(|t| match mode {
        SweepMode::Independent => (rank(&t.variation), t.trial),
        SweepMode::Repeated => (t.trial as usize, rank(&t.variation) as u32),
    });
    Ok(SweepInput {
        trials,
        layout: Layout {
            base_dir: root.to_path_buf(),
            sweep,
            trials: n_trials,
            mode,
            adaptive: false,
        },
        run_cooldown_seconds: None,
        skipped: Vec::new(),
        sla_filters: Vec::new(),
    })
}

fn collect_files(dir: &Path, name: &str, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("{}: cannot list", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect_files(&p, name, out)?;
        } else if p.file_name().is_some_and(|n| n == name) {
            out.push(p);
        }
    }
    Ok(())
}

/// One metric's across-trial stats as an aggregate file has them; a null cv is AIPerf's +inf (mean
/// 0), any other null NaN.
fn unit_stats(v: &Value, n_ok: usize) -> Option<UnitStats> {
    let o = v.as_object()?;
    let num = |k: &str| o.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
    let stats = confidence::ConfidenceStats {
        n: n_ok,
        mean: num("mean"),
        std: num("std"),
        min: num("min"),
        max: num("max"),
        cv: match o.get("cv") {
            Some(Value::Null) => f64::INFINITY,
            _ => num("cv"),
        },
        se: num("se"),
        ci_low: num("ci_low"),
        ci_high: num("ci_high"),
        t_critical: num("t_critical"),
    };
    Some(UnitStats {
        stats,
        unit: o.get("unit").and_then(Value::as_str).unwrap_or("").to_string(),
    })
}

/// One combination rebuilt from its aggregate file `f` below `root`: parameters from the file's
/// variation values (AIPerf names them by dotted path; the last segment is kept) or its folder.
fn combination_of(root: &Path, f: &Path, doc: ValueAggregate<Value>) -> Combination {
    let md = doc.metadata;
    let parameters: Vec<(String, Value)> = match md.variation_values {
        Some(vv) if !vv.is_empty() => short_names(&vv),
        _ => params_from_path(root, f),
    };
    let n_ok = md.num_successful_runs;
    let failed: Vec<FailedRun> = md
        .failed_runs
        .into_iter()
        .map(|r| FailedRun {
            parameters: parameters.iter().cloned().collect(),
            ..r
        })
        .collect();
    let mut trial_labels = md.run_labels;
    for r in &failed {
        if !trial_labels.contains(&r.label) {
            trial_labels.push(r.label.clone());
        }
    }
    if trial_labels.is_empty() {
        trial_labels = vec!["run_0001".into(); n_ok.max(1)];
    }
    Combination {
        dir_name: dir_name(&parameters),
        parameters,
        trial_labels,
        failed,
        num_successful: n_ok,
        metrics: doc
            .metrics
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), unit_stats(v, n_ok)?)))
            .collect(),
    }
}

/// Rebuilds the combinations from per-combination confidence aggregates (AIPerf's or sweepkit's
/// `profile_export_aiperf_aggregate.json`) when a sweep's trial summaries are gone. Returns the
/// input, its combinations and the aggregates' confidence level.
pub fn from_aggregates(root: &Path) -> anyhow::Result<(SweepInput, Vec<Combination>, f64)> {
    let mut files = Vec::new();
    collect_files(root, AGGREGATE_JSON, &mut files)?;
    anyhow::ensure!(
        !files.is_empty(),
        "{}: no run folders ({SUMMARY_JSON} or {RUN_ERROR_FILE}) and no {} below it: give a sweep's folder or --plan",
        root.display(),
        AGGREGATE_JSON
    );
    let mut combos: Vec<Combination> = Vec::new();
    let mut level = None;
    let mut mode = SweepMode::Repeated;
    for f in &files {
        let text =
            crate::io::capped::read_to_string(f).with_context(|| format!("{}: cannot read", f.display()))?;
        let doc: ValueAggregate<Value> =
            serde_json::from_str(&text).with_context(|| format!("{}: not valid JSON", f.display()))?;
        level = level.or(Some(doc.metadata.confidence_level));
        if doc.metadata.sweep_mode.as_deref() == Some("independent") {
            mode = SweepMode::Independent;
        }
        combos.push(combination_of(root, f, doc));
    }
    combos.sort_by(|a, b| cmp_param_list(&a.parameters, &b.parameters));
    let trials = combos.iter().map(|c| c.trial_labels.len()).max().unwrap_or(1) as u32;
    let input = SweepInput {
        trials: Vec::new(),
        layout: Layout {
            base_dir: root.to_path_buf(),
            sweep: true,
            trials,
            mode,
            adaptive: false,
        },
        run_cooldown_seconds: None,
        skipped: Vec::new(),
        sla_filters: Vec::new(),
    };
    Ok((input, combos, level.unwrap_or(0.95)))
}
