//! Sweep aggregation: trial summaries labelled with their parameters and trial (from the plan or
//! from the folder layout), per-combination confidence aggregates, and the sweep aggregate in the
//! Parameter Sweeping guide's schema (metadata with failed runs, per-combination metrics, best
//! configurations, Pareto-optimal set, trends, high-variance flags).

pub mod export;
pub mod findings;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::artifacts::layout::{Layout, SweepMode};
use crate::artifacts::names::{cmp_param_list, describe, dir_name, parse_dir_name, trial_number};
use crate::artifacts::{AGGREGATE_JSON, RUN_ERROR_FILE, SUMMARY_JSON};
use crate::contract::plan_line::{FullPlace, PlanLine};
use crate::contract::summary::{SummaryDoc, STAT_KEYS};
use crate::contract::sweep_aggregate::{
    latency_key, Best, BestConfigurations, Combination, CombinationMetrics, CvFlag, FailedRun,
    SweepAggregate, SweepMetadata, SweepParameter, THROUGHPUT_KEY,
};
use crate::pareto::{self, Goal, Point};
use crate::stats::confidence::{self, UnitStats};
use crate::stats::trends::{self, Direction};

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

/// One trial at one combination, with its summary or the reason it failed.
#[derive(Debug, Clone)]
pub struct Trial {
    pub run_index: Option<usize>,
    pub trial: u32,
    pub label: String,
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
}

/// Reads a run folder's summary, or why the run failed (AIPerf's rules for a failed run).
pub fn load_run(dir: &Path) -> Result<SummaryDoc, String> {
    let err_file = dir.join(RUN_ERROR_FILE);
    if let Ok(text) = std::fs::read_to_string(&err_file) {
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
    if doc.metrics.is_empty() {
        return Err("No metrics in the summary".into());
    }
    match doc.request_count() {
        Some(n) if n > 0.0 => Ok(doc),
        _ => {
            let errors: u64 = doc
                .doc
                .get("error_summary")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|e| e.get("count").and_then(Value::as_u64))
                        .sum()
                })
                .unwrap_or(0);
            Err(if errors > 0 {
                format!("All {errors} requests failed")
            } else {
                "No requests completed".into()
            })
        }
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
    let out = lines
        .iter()
        .map(|l| Trial {
            run_index: Some(l.run_index),
            trial: l.trial,
            label: l.trial_label.clone(),
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
        },
        run_cooldown_seconds: run_cooldown,
    })
}

fn collect_run_dirs(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
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
        for (i, c) in comps.iter().enumerate() {
            if let Some(t) = trial_number(c) {
                trial = t;
                label = c.clone();
            } else if c != "profile_runs" {
                if let Some(p) = parse_dir_name(c) {
                    if comps.get(i + 1).is_some_and(|n| n == "profile_runs") {
                        independent = true;
                    }
                    params = Some(p);
                }
            }
        }
        let result = load_run(&dir);
        // AIPerf's run_info names the values by dotted path; keep the last segment.
        if let Ok(doc) = &result {
            if let Some(vv) = doc
                .doc
                .pointer("/run_info/variation_values")
                .and_then(Value::as_object)
            {
                if !vv.is_empty() {
                    let from_info: Vec<(String, Value)> = vv
                        .iter()
                        .map(|(k, v)| (k.rsplit('.').next().unwrap_or(k).to_string(), v.clone()))
                        .collect();
                    params = Some(match params {
                        // Keep the folder's order when both name the same parameters.
                        Some(p)
                            if p.len() == from_info.len()
                                && p.iter().all(|(k, _)| from_info.iter().any(|(f, _)| f == k)) =>
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
                    });
                }
            }
        }
        trials.push(Trial {
            run_index: None,
            trial,
            label,
            parameters: params.unwrap_or_default(),
            dir,
            result,
        });
    }
    let combos: std::collections::BTreeSet<String> = trials.iter().map(|t| dir_name(&t.parameters)).collect();
    let sweep = combos.len() > 1 || trials.iter().any(|t| !t.parameters.is_empty());
    let n_trials = trials.iter().map(|t| t.trial).max().unwrap_or(1);
    // Execution order as the layout implies it.
    let mode = if independent {
        SweepMode::Independent
    } else {
        SweepMode::Repeated
    };
    let mut order: Vec<String> = Vec::new();
    for t in &trials {
        let d = dir_name(&t.parameters);
        if !order.contains(&d) {
            order.push(d);
        }
    }
    // Sort combinations by their values (numeric) so the sweep order is the natural one.
    let mut keyed: Vec<(Vec<(String, Value)>, String)> = trials
        .iter()
        .map(|t| (t.parameters.clone(), dir_name(&t.parameters)))
        .collect();
    keyed.sort_by(|a, b| cmp_param_list(&a.0, &b.0));
    keyed.dedup_by(|a, b| a.1 == b.1);
    let rank = |d: &str| keyed.iter().position(|(_, k)| k == d).unwrap_or(0);
    trials.sort_by_key(|t| match mode {
        SweepMode::Independent => (rank(&dir_name(&t.parameters)), t.trial),
        SweepMode::Repeated => (t.trial as usize, rank(&dir_name(&t.parameters)) as u32),
    });
    Ok(SweepInput {
        trials,
        layout: Layout {
            base_dir: root.to_path_buf(),
            sweep,
            trials: n_trials,
            mode,
        },
        run_cooldown_seconds: None,
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
    let num = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    let mut combos: Vec<Combination> = Vec::new();
    let mut level = None;
    let mut mode = SweepMode::Repeated;
    for f in &files {
        let doc: Value = serde_json::from_str(
            &std::fs::read_to_string(f).with_context(|| format!("{}: cannot read", f.display()))?,
        )
        .with_context(|| format!("{}: not valid JSON", f.display()))?;
        let md = &doc["metadata"];
        level = level.or(md["confidence_level"].as_f64());
        if md["sweep_mode"] == "independent" {
            mode = SweepMode::Independent;
        }
        let from_folder = || {
            let rel = f.strip_prefix(root).unwrap_or(f);
            rel.components()
                .filter_map(|c| parse_dir_name(&c.as_os_str().to_string_lossy()))
                .next_back()
                .unwrap_or_default()
        };
        let parameters: Vec<(String, Value)> = match md["variation_values"].as_object() {
            Some(vv) if !vv.is_empty() => vv
                .iter()
                .map(|(k, v)| (k.rsplit('.').next().unwrap_or(k).to_string(), v.clone()))
                .collect(),
            _ => from_folder(),
        };
        let labels: Vec<String> = md["run_labels"]
            .as_array()
            .map(|a| a.iter().filter_map(|l| l.as_str().map(String::from)).collect())
            .unwrap_or_default();
        let n_ok = md["num_successful_runs"].as_u64().unwrap_or(labels.len() as u64) as usize;
        let failed: Vec<FailedRun> = md["failed_runs"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|r| FailedRun {
                        run_index: r["run_index"].as_u64().map(|i| i as usize),
                        label: r["label"].as_str().unwrap_or("").to_string(),
                        parameters: parameters.iter().cloned().collect(),
                        error: r["error"].as_str().unwrap_or("").to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut trial_labels = labels;
        for r in &failed {
            if !trial_labels.contains(&r.label) {
                trial_labels.push(r.label.clone());
            }
        }
        let metrics = doc["metrics"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| {
                        let o = v.as_object()?;
                        let mean = num(&v["mean"]);
                        let stats = confidence::ConfidenceStats {
                            n: n_ok,
                            mean,
                            std: num(&v["std"]),
                            min: num(&v["min"]),
                            max: num(&v["max"]),
                            // A null cv is AIPerf's +inf (mean 0).
                            cv: if v["cv"].is_null() && o.contains_key("cv") {
                                f64::INFINITY
                            } else {
                                num(&v["cv"])
                            },
                            se: num(&v["se"]),
                            ci_low: num(&v["ci_low"]),
                            ci_high: num(&v["ci_high"]),
                            t_critical: num(&v["t_critical"]),
                        };
                        Some((
                            k.clone(),
                            UnitStats {
                                stats,
                                unit: v["unit"].as_str().unwrap_or("").to_string(),
                            },
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        combos.push(Combination {
            dir_name: dir_name(&parameters),
            parameters,
            trial_labels: if trial_labels.is_empty() {
                vec!["run_0001".into(); n_ok.max(1)]
            } else {
                trial_labels
            },
            failed,
            num_successful: n_ok,
            metrics,
        });
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
        },
        run_cooldown_seconds: None,
    };
    Ok((input, combos, level.unwrap_or(0.95)))
}

/// Groups trials by combination (in sweep order) and aggregates every `<tag>_<stat>` across trials.
pub fn combinations(input: &SweepInput, confidence_level: f64) -> Vec<Combination> {
    let mut order: Vec<String> = Vec::new();
    let mut groups: BTreeMap<String, Vec<&Trial>> = BTreeMap::new();
    for t in &input.trials {
        let d = dir_name(&t.parameters);
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
            let mut values: BTreeMap<String, (String, Vec<f64>)> = BTreeMap::new();
            for doc in &ok {
                for (tag, m) in &doc.metrics {
                    for stat in STAT_KEYS {
                        if let Some(v) = m.get(stat) {
                            let e = values
                                .entry(format!("{tag}_{stat}"))
                                .or_insert_with(|| (m.unit.clone(), Vec::new()));
                            e.1.push(v);
                        }
                    }
                }
            }
            let metrics = values
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
pub fn aggregate_doc(c: &Combination, input: &SweepInput, confidence_level: f64) -> Value {
    let mut meta = Map::new();
    meta.insert("aggregation_type".into(), Value::from("confidence"));
    meta.insert("num_profile_runs".into(), Value::from(c.trial_labels.len()));
    meta.insert("num_successful_runs".into(), Value::from(c.num_successful));
    meta.insert(
        "failed_runs".into(),
        serde_json::to_value(&c.failed).unwrap_or_default(),
    );
    meta.insert("confidence_level".into(), Value::from(confidence_level));
    meta.insert("run_labels".into(), Value::from(c.trial_labels.clone()));
    if let Some(cd) = input.run_cooldown_seconds {
        meta.insert("cooldown_seconds".into(), Value::from(cd));
    }
    if input.layout.sweep {
        meta.insert("variation_label".into(), Value::from(c.dir_name.clone()));
        meta.insert("variation_values".into(), Value::Object(c.params_map()));
        meta.insert("sweep_mode".into(), Value::from(input.layout.mode.as_str()));
    }
    if c.num_successful == 1 {
        meta.insert("single_run".into(), Value::Bool(true));
    }
    serde_json::json!({
        "schema_version": "1.0",
        "generator": concat!("sweepkit ", env!("CARGO_PKG_VERSION")),
        "metadata": meta,
        "metrics": serde_json::to_value(&c.metrics).unwrap_or_default(),
    })
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

/// Builds the sweep aggregate and the warnings to print (high CV).
pub fn sweep_aggregate(
    input: &SweepInput,
    combos: &[Combination],
    confidence_level: f64,
) -> (SweepAggregate, Vec<String>) {
    let ok: Vec<&Combination> = combos.iter().filter(|c| c.num_successful > 0).collect();
    let failed: Vec<FailedRun> = {
        let mut f: Vec<FailedRun> = combos.iter().flat_map(|c| c.failed.clone()).collect();
        f.sort_by_key(|r| r.run_index);
        f
    };
    let num_runs: usize = combos.iter().map(|c| c.trial_labels.len()).sum();
    let num_ok = num_runs - failed.len();

    // Parameter names and values in sweep order (first seen).
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

    // Best configurations (ties → first in sweep order), over combinations that succeeded.
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
    let lat = latency_key(|k| !ok.is_empty() && ok.iter().all(|c| c.mean(k).is_some()));
    if let Some(k) = lat {
        let mut b = ok[0];
        for c in &ok[1..] {
            if c.mean(k) < b.mean(k) {
                b = c;
            }
        }
        best.best_latency_p99 = Some(best_at(b, k, "ms"));
    }

    // Pareto: throughput max, latency min, on the across-trial means.
    let pareto_optimal = match lat {
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
    };

    // Trends along the swept parameter (one parameter, or several moving together in a zip).
    let mut trends_out = BTreeMap::new();
    let one_dim =
        params.len() == 1 || (params.len() > 1 && params.iter().all(|p| p.values.len() == combos.len()));
    if one_dim && ok.len() >= 2 {
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
        for (key, dir) in KEY_METRICS {
            if ok.iter().all(|c| c.mean(key).is_some()) {
                let vals: Vec<f64> = ok.iter().map(|c| c.mean(key).unwrap_or(f64::NAN)).collect();
                let unit = ok[0].metrics[key].unit.clone();
                trends_out.insert(key.to_string(), trends::trend(&name, &labels, &vals, dir, &unit));
            }
        }
    } else if ok.len() >= 2 {
        // A grid: trends along each parameter with the others held fixed, keyed
        // `<metric>@<parameter>[<other>=<value>,...]` (e.g. `request_throughput_avg@concurrency[isl=128]`).
        for p in &params {
            let value_of = |c: &Combination| {
                c.parameters
                    .iter()
                    .find(|(k, _)| *k == p.name)
                    .map(|(_, v)| v.clone())
            };
            let mut lines: Vec<(Map<String, Value>, Vec<&Combination>)> = Vec::new();
            for c in &ok {
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
                        trends_out.insert(format!("{key}@{}[{}]", p.name, at.join(",")), t);
                    }
                }
            }
        }
    }

    // High variance flags.
    let mut flags = Vec::new();
    let mut warnings = Vec::new();
    for c in &ok {
        if c.num_successful < 2 {
            continue;
        }
        for (key, _) in KEY_METRICS {
            if let Some(m) = c.metrics.get(key) {
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
    }
    for f in &failed {
        warnings.push(format!(
            "run {}{} ({}) failed and is excluded: {}",
            f.label,
            f.run_index.map(|i| format!(" #{i}")).unwrap_or_default(),
            describe(
                &f.parameters
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<Vec<_>>()
            ),
            f.error
        ));
    }

    let num_trials_per_value = combos.iter().map(|c| c.trial_labels.len()).max().unwrap_or(0);
    let metadata = SweepMetadata {
        aggregation_type: "sweep".into(),
        sweep_parameters: params,
        num_combinations: combos.len(),
        num_trials_per_value,
        sweep_mode: input.layout.mode.as_str().into(),
        confidence_level,
        num_profile_runs: num_runs,
        num_successful_runs: num_ok,
        failed_runs: failed.clone(),
        high_variance: flags,
        cv_threshold: CV_THRESHOLD,
        generator: concat!("sweepkit ", env!("CARGO_PKG_VERSION")).into(),
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
    (
        SweepAggregate {
            aggregation_type: "sweep".into(),
            num_profile_runs: num_runs,
            num_successful_runs: num_ok,
            failed_runs: failed,
            metadata,
            per_combination_metrics,
            best_configurations: best,
            pareto_optimal,
            trends: trends_out,
        },
        warnings,
    )
}

/// What `sweep-agg` is asked to do.
#[derive(Debug, Clone)]
pub struct AggOptions {
    /// The plan whose runs to aggregate (`-` for stdin).
    pub plan: Option<PathBuf>,
    /// Or a sweep's folder (sweepkit's or AIPerf's tree), labelled by its layout.
    pub dir: Option<PathBuf>,
    /// Write the aggregates below this folder instead of the sweep's own.
    pub output_dir: Option<PathBuf>,
    pub confidence_level: f64,
    /// Also write findings.md here.
    pub findings: Option<PathBuf>,
}

/// What `sweep-agg` wrote and noticed.
#[derive(Debug, Clone, Serialize)]
pub struct AggReport {
    pub base_dir: PathBuf,
    pub aggregates: Vec<PathBuf>,
    pub sweep_aggregate: Option<PathBuf>,
    pub findings: Option<PathBuf>,
    pub num_profile_runs: usize,
    pub num_successful_runs: usize,
    pub failed_runs: usize,
    pub high_variance: usize,
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// `sweep-agg DIR` over a tree that only has per-combination aggregates: the sweep aggregate alone.
fn from_aggregates_run(dir: &Path, opts: &AggOptions) -> anyhow::Result<AggReport> {
    let (mut input, combos, level) = from_aggregates(dir)?;
    if let Some(out) = &opts.output_dir {
        input.layout.base_dir = out.clone();
    }
    let (agg, mut warnings) = sweep_aggregate(&input, &combos, level);
    warnings.insert(
        0,
        format!("{}: no trial summaries here, only per-value aggregates: the sweep aggregate re-uses their statistics (confidence level {level})", dir.display()),
    );
    let sweep_dir = input
        .layout
        .sweep_aggregate_dir()
        .unwrap_or_else(|| input.layout.base_dir.join("sweep_aggregate"));
    let path = crate::sweep::export::write_sweep(&sweep_dir, &agg)?;
    let findings = match &opts.findings {
        Some(f) => {
            crate::io::atomic::write(
                f,
                crate::sweep::findings::render(&agg, &path.display().to_string()).as_bytes(),
            )?;
            Some(f.clone())
        }
        None => None,
    };
    Ok(AggReport {
        base_dir: input.layout.base_dir.clone(),
        aggregates: Vec::new(),
        sweep_aggregate: Some(path),
        findings,
        num_profile_runs: agg.num_profile_runs,
        num_successful_runs: agg.num_successful_runs,
        failed_runs: agg.failed_runs.len(),
        high_variance: agg.metadata.high_variance.len(),
        warnings,
    })
}

/// Labels, aggregates and writes everything; the caller prints the warnings.
pub fn run(opts: &AggOptions) -> anyhow::Result<AggReport> {
    if !(opts.confidence_level > 0.0 && opts.confidence_level < 1.0) {
        anyhow::bail!(
            "--confidence-level must be between 0 and 1, exclusive (e.g. 0.95), got {}",
            opts.confidence_level
        );
    }
    let mut input = match (&opts.plan, &opts.dir) {
        (Some(p), None) => {
            let (lines, stats) = crate::io::jsonl::read_all::<PlanLine>(crate::io::jsonl::open_inputs(std::slice::from_ref(p))?)?;
            anyhow::ensure!(!lines.is_empty(), "{}: the plan has no runs", p.display());
            // from_plan names a bad line by its number.
            let input = from_plan(&lines).map_err(|e| anyhow::anyhow!("{}:{e:#}", p.display()))?;
            if !stats.torn.is_empty() {
                anyhow::bail!("{}", stats.warnings().join("; "));
            }
            input
        }
        (None, Some(d)) => {
            let mut runs = Vec::new();
            if d.is_dir() {
                collect_run_dirs(d, &mut runs)?;
            }
            if runs.is_empty() && d.is_dir() {
                return from_aggregates_run(d, opts);
            }
            from_dir(d)?
        }
        (Some(_), Some(_)) => anyhow::bail!("give either --plan FILE or a sweep folder, not both"),
        (None, None) => anyhow::bail!("nothing to aggregate: give a sweep folder (e.g. artifacts/m-openai-chat-concurrency_sweep) or --plan plan.jsonl"),
    };
    if let Some(out) = &opts.output_dir {
        input.layout.base_dir = out.clone();
    }
    let combos = combinations(&input, opts.confidence_level);
    let mut report = AggReport {
        base_dir: input.layout.base_dir.clone(),
        aggregates: Vec::new(),
        sweep_aggregate: None,
        findings: None,
        num_profile_runs: input.trials.len(),
        num_successful_runs: input.trials.iter().filter(|t| t.result.is_ok()).count(),
        failed_runs: input.trials.iter().filter(|t| t.result.is_err()).count(),
        high_variance: 0,
        warnings: Vec::new(),
    };
    for c in &combos {
        if c.num_successful == 0 {
            continue;
        }
        if let Some(dir) = input.layout.aggregate_dir(&c.dir_name) {
            let doc = aggregate_doc(c, &input, opts.confidence_level);
            report
                .aggregates
                .push(crate::sweep::export::write_aggregate(&dir, &doc)?);
        }
    }
    if let Some(dir) = input.layout.sweep_aggregate_dir() {
        let (agg, warnings) = sweep_aggregate(&input, &combos, opts.confidence_level);
        let path = crate::sweep::export::write_sweep(&dir, &agg)?;
        report.high_variance = agg.metadata.high_variance.len();
        report.warnings = warnings;
        if let Some(f) = &opts.findings {
            crate::io::atomic::write(
                f,
                crate::sweep::findings::render(&agg, &path.display().to_string()).as_bytes(),
            )?;
            report.findings = Some(f.clone());
        }
        report.sweep_aggregate = Some(path);
    } else {
        for t in &input.trials {
            if let Err(e) = &t.result {
                report
                    .warnings
                    .push(format!("run {} failed and is excluded: {e}", t.label));
            }
        }
    }
    Ok(report)
}
