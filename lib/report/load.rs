//! What a results folder holds, as the report needs it: every run folder (sweepkit's tree or
//! AIPerf's) with its summary or why it has none, the runs the plan named but nobody ran, the
//! sweep aggregate and per-value aggregates, findings.md and the command. Nothing here fails on a
//! half-finished sweep: what cannot be read becomes a warning or a listed run, so the page shows
//! whatever is there.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::artifacts::layout::search_iteration_number;
use crate::artifacts::names::{
    cmp_param_list, dir_name, params_from_path, parse_dir_name, short_names, trial_number,
};
use crate::artifacts::{
    AGGREGATE_JSON, BENCHMARK_COMMAND_TXT, FINDINGS_MD, GPU_TELEMETRY_JSONL, PLAN_JSONL, RECORDS_JSONL,
    RUN_ERROR_FILE, SERVER_METRICS_JSONL, SUMMARY_JSON, SWEEP_JSON,
};
use crate::contract::plan_line::PlanLine;
use crate::contract::summary::{stat_values, SummaryDoc};
use crate::contract::sweep_aggregate::{FailedRun, SweepAggregate};
use crate::contract::value_aggregate::ValueAggregate;
use crate::io::jsonl;
use crate::stats::confidence::{self, UnitStats};

/// How a run ended, as far as its folder tells.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// A summary with completed requests.
    Ok,
    /// `run_error.txt`, an unreadable summary, or every request failed: excluded from the numbers.
    Failed(String),
    /// Records but no summary (the sweep was stopped): shown in the distributions, not the numbers.
    Unfinished(String),
}

/// One run folder.
#[derive(Debug, Clone)]
pub struct Run {
    pub dir: PathBuf,
    /// Swept parameters in sweep order (empty outside a sweep).
    pub parameters: Vec<(String, Value)>,
    pub trial: u32,
    pub label: String,
    pub summary: Option<SummaryDoc>,
    pub status: Status,
    pub records: Option<PathBuf>,
    pub server_metrics: Option<PathBuf>,
    pub gpu_telemetry: Option<PathBuf>,
}

impl Run {
    pub fn ok(&self) -> bool {
        self.status == Status::Ok
    }
}

/// One parameter combination: its runs and its across-trial metrics in the sweep aggregate's
/// shape (`<tag>_<stat>` → `{mean, ci_low, ci_high, cv, unit, …}`), so pareto reads them as is.
#[derive(Debug, Clone)]
pub struct ValueGroup {
    pub parameters: Vec<(String, Value)>,
    /// Indexes into [`Folder::runs`].
    pub runs: Vec<usize>,
    pub metrics: Map<String, Value>,
}

impl ValueGroup {
    pub fn params_map(&self) -> Map<String, Value> {
        self.parameters.iter().cloned().collect()
    }
}

/// A run the plan names that left no folder behind (the sweep stopped before it).
#[derive(Debug, Clone)]
pub struct Missing {
    pub parameters: Vec<(String, Value)>,
    pub label: String,
}

/// Everything found below the report's folder.
#[derive(Debug, Clone, Default)]
pub struct Folder {
    pub root: PathBuf,
    pub command: Option<String>,
    pub findings: Option<String>,
    pub sweep: Option<SweepAggregate<Value>>,
    pub runs: Vec<Run>,
    pub values: Vec<ValueGroup>,
    pub missing: Vec<Missing>,
    /// Runs the sweep aggregate lists as failed that have no folder here (AIPerf's trees).
    pub failed_elsewhere: Vec<FailedRun>,
    /// Swept parameter names in sweep order (empty for a single run).
    pub parameters: Vec<String>,
    pub confidence_level: f64,
    pub warnings: Vec<String>,
}

impl Folder {
    pub fn is_sweep(&self) -> bool {
        !self.parameters.is_empty() || self.values.len() > 1
    }
}

/// Reads a run folder's state (AIPerf's rule: a summary without completed requests is a failed run).
fn run_status(dir: &Path) -> (Option<SummaryDoc>, Status) {
    if let Ok(text) = crate::io::capped::read_to_string(dir.join(RUN_ERROR_FILE)) {
        let t = text.trim();
        return (
            None,
            Status::Failed(if t.is_empty() {
                "run failed (no message)".into()
            } else {
                t.into()
            }),
        );
    }
    let path = dir.join(SUMMARY_JSON);
    if !path.is_file() {
        let why = format!(
            "{RECORDS_JSONL} but no {SUMMARY_JSON}: the run did not finish (summarise it with trial-agg)"
        );
        return (None, Status::Unfinished(why));
    }
    match SummaryDoc::read(&path) {
        Err(e) => (None, Status::Failed(format!("{e:#}"))),
        Ok(doc) => match doc.failure() {
            None => (Some(doc), Status::Ok),
            Some(why) => (Some(doc), Status::Failed(why)),
        },
    }
}

/// Run folders (a summary, a run error or records) and per-value aggregate files below `dir`.
fn walk(dir: &Path, runs: &mut Vec<PathBuf>, aggregates: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name == "sweep_aggregate" {
        return Ok(());
    }
    if [SUMMARY_JSON, RUN_ERROR_FILE, RECORDS_JSONL]
        .iter()
        .any(|f| dir.join(f).is_file())
    {
        runs.push(dir.to_path_buf());
        return Ok(());
    }
    if dir.join(AGGREGATE_JSON).is_file() {
        aggregates.push(dir.join(AGGREGATE_JSON));
    }
    let mut subdirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| anyhow::anyhow!("{}: cannot list: {e}", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    subdirs.sort();
    for d in subdirs {
        walk(&d, runs, aggregates)?;
    }
    Ok(())
}

/// A run's place from its path below the root (`concurrency_8/profile_runs/trial_0002`, a search's
/// `search_iter_0003/profile_runs/run_0001`), corrected
/// by the summary's `run_info.variation_values` when the folder names fewer parameters.
fn place(root: &Path, dir: &Path, summary: Option<&SummaryDoc>) -> (Vec<(String, Value)>, u32, String) {
    let rel = dir.strip_prefix(root).unwrap_or(dir);
    let (mut params, mut trial, mut label) = (Vec::new(), 1, "run_0001".to_string());
    let mut iteration = None;
    for c in rel.components() {
        let c = c.as_os_str().to_string_lossy();
        if let Some(t) = trial_number(&c) {
            (trial, label) = (t, c.into_owned());
        } else if search_iteration_number(&c).is_some() {
            iteration = Some(c.into_owned());
        } else if let Some(p) = parse_dir_name(&c) {
            params = p;
        }
    }
    // A search's trials are named by iteration too, as sweep-agg names them (`search_iter_0003/run_0001`).
    if let Some(it) = iteration {
        label = format!("{it}/{label}");
    }
    let info = summary
        .and_then(|s| s.doc.pointer("/run_info/variation_values"))
        .and_then(Value::as_object)
        .filter(|vv| !vv.is_empty())
        .map(short_names);
    if let Some(info) = info {
        if info.len() > params.len() {
            params = info;
        }
    }
    (params, trial, label)
}

fn read_run(root: &Path, dir: &Path) -> Run {
    let (summary, status) = run_status(dir);
    let (parameters, trial, label) = place(root, dir, summary.as_ref());
    let file = |name: &str| Some(dir.join(name)).filter(|p| p.is_file());
    Run {
        dir: dir.to_path_buf(),
        parameters,
        trial,
        label,
        summary,
        status,
        records: file(RECORDS_JSONL),
        server_metrics: file(SERVER_METRICS_JSONL),
        gpu_telemetry: file(GPU_TELEMETRY_JSONL),
    }
}

/// Across-trial statistics of every `<tag>_<stat>` the runs' summaries share, as sweep-agg
/// writes them, so a half-finished sweep (no sweep aggregate yet) still gets its numbers.
fn trial_metrics(summaries: &[&SummaryDoc], level: f64) -> Map<String, Value> {
    stat_values(summaries.iter().copied())
        .into_iter()
        .filter_map(|(k, (unit, vs))| {
            let stats = confidence::aggregate(&vs, level)?;
            Some((k, serde_json::to_value(UnitStats { stats, unit }).ok()?))
        })
        .collect()
}

fn read_text(path: &Path) -> Option<String> {
    crate::io::capped::read_to_string(path)
        .ok()
        .filter(|t| !t.trim().is_empty())
}

/// The plan's runs that have no folder: the part of a sweep that never ran.
fn missing_runs(root: &Path, runs: &[Run], warnings: &mut Vec<String>) -> Vec<Missing> {
    let path = root.join(PLAN_JSONL);
    if !path.is_file() {
        return Vec::new();
    }
    let lines = match jsonl::Input::open(&path).and_then(|i| jsonl::read_all::<PlanLine>(vec![i])) {
        Ok((lines, _)) => lines,
        Err(e) => {
            warnings.push(format!("{e:#}: the runs it names are not checked for"));
            return Vec::new();
        }
    };
    let seen: Vec<(String, u32)> = runs.iter().map(|r| (dir_name(&r.parameters), r.trial)).collect();
    lines
        .iter()
        .filter_map(|l| {
            let p = &l.place;
            let params = p.parameters.clone().unwrap_or_default();
            // The folder name keeps the sweep's order; the map is sorted by name.
            let ordered = match p.variation_label.as_deref().and_then(parse_dir_name) {
                Some(o) if o.len() == params.len() => o
                    .into_iter()
                    .map(|(k, v)| {
                        let v = params.get(&k).cloned().unwrap_or(v);
                        (k, v)
                    })
                    .collect(),
                _ => params.into_iter().collect::<Vec<_>>(),
            };
            let trial = p.trial.unwrap_or(1);
            let key = (dir_name(&ordered), trial);
            (!seen.contains(&key)).then(|| Missing {
                parameters: ordered,
                label: p
                    .trial_label
                    .clone()
                    .unwrap_or_else(|| format!("trial_{trial:04}")),
            })
        })
        .collect()
}

/// Reads a sweep aggregate (`sweep_aggregate/profile_export_aiperf_sweep.json`), AIPerf's or sweepkit's.
fn read_sweep(root: &Path, warnings: &mut Vec<String>) -> Option<SweepAggregate<Value>> {
    let path = root.join("sweep_aggregate").join(SWEEP_JSON);
    let text = crate::io::capped::read_to_string(&path).ok()?;
    match serde_json::from_str(&text) {
        Ok(s) => Some(s),
        Err(e) => {
            warnings.push(format!(
                "{}: not a sweep aggregate ({e}): re-run sweep-agg on the folder; the report uses the runs' summaries",
                path.display()
            ));
            None
        }
    }
}

/// Per-value aggregate files' parameters and metrics, by the combination's folder name.
type ValueAggregates = BTreeMap<String, (Vec<(String, Value)>, Map<String, Value>)>;

/// Per-value aggregate files, by the combination's folder name.
fn read_value_aggregates(root: &Path, files: &[PathBuf], warnings: &mut Vec<String>) -> ValueAggregates {
    let mut out = BTreeMap::new();
    for f in files {
        let doc: ValueAggregate<Value> = match crate::io::capped::read_to_string(f)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
        {
            Ok(d) => d,
            Err(e) => {
                warnings.push(format!("{}: skipped ({e})", f.display()));
                continue;
            }
        };
        let params = match &doc.metadata.variation_values {
            Some(vv) if !vv.is_empty() => short_names(vv),
            _ => params_from_path(root, f),
        };
        out.insert(dir_name(&params), (params, doc.metrics.into_iter().collect()));
    }
    out
}

/// Groups the runs by combination and gives each its metrics: from its successful trials'
/// summaries, else its per-value aggregate, else the sweep aggregate's entry.
fn group_values(f: &mut Folder, aggregates: ValueAggregates) {
    let mut groups: BTreeMap<String, ValueGroup> = BTreeMap::new();
    for (i, r) in f.runs.iter().enumerate() {
        groups
            .entry(dir_name(&r.parameters))
            .or_insert_with(|| ValueGroup {
                parameters: r.parameters.clone(),
                runs: Vec::new(),
                metrics: Map::new(),
            })
            .runs
            .push(i);
    }
    for (k, (params, _)) in &aggregates {
        groups.entry(k.clone()).or_insert_with(|| ValueGroup {
            parameters: params.clone(),
            runs: Vec::new(),
            metrics: Map::new(),
        });
    }
    if let Some(s) = &f.sweep {
        for c in &s.per_combination_metrics {
            let params: Vec<(String, Value)> = match s.metadata.sweep_parameters.as_slice() {
                sp if !sp.is_empty() => sp
                    .iter()
                    .filter_map(|p| c.parameters.get(&p.name).map(|v| (p.name.clone(), v.clone())))
                    .collect(),
                _ => c.parameters.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            };
            groups.entry(dir_name(&params)).or_insert_with(|| ValueGroup {
                parameters: params,
                runs: Vec::new(),
                metrics: Map::new(),
            });
        }
    }
    for (key, g) in groups.iter_mut() {
        let summaries: Vec<&SummaryDoc> = g
            .runs
            .iter()
            .filter(|&&i| f.runs[i].ok())
            .filter_map(|&i| f.runs[i].summary.as_ref())
            .collect();
        g.metrics = if !summaries.is_empty() {
            trial_metrics(&summaries, f.confidence_level)
        } else if let Some((_, m)) = aggregates.get(key) {
            m.clone()
        } else {
            let pm = g.params_map();
            f.sweep
                .as_ref()
                .and_then(|s| s.per_combination_metrics.iter().find(|c| c.parameters == pm))
                .map(|c| c.metrics.clone().into_iter().collect())
                .unwrap_or_default()
        };
    }
    let mut values: Vec<ValueGroup> = groups.into_values().collect();
    values.sort_by(|a, b| cmp_param_list(&a.parameters, &b.parameters));
    f.values = values;
}

/// Reads everything the report can show from `root` (a sweep's folder, a run's folder, or
/// AIPerf's artifact tree). Fails only when the folder holds none of it.
pub fn load(root: &Path) -> anyhow::Result<Folder> {
    anyhow::ensure!(
        root.is_dir(),
        "{}: not a folder: give a sweep's or a run's folder",
        root.display()
    );
    let mut f = Folder {
        root: root.to_path_buf(),
        command: read_text(&root.join(BENCHMARK_COMMAND_TXT)).map(|t| t.trim().to_string()),
        findings: read_text(&root.join(FINDINGS_MD)),
        confidence_level: 0.95,
        ..Folder::default()
    };
    let (mut dirs, mut agg_files) = (Vec::new(), Vec::new());
    walk(root, &mut dirs, &mut agg_files)?;
    f.sweep = read_sweep(root, &mut f.warnings);
    if let Some(s) = &f.sweep {
        if s.metadata.confidence_level > 0.0 && s.metadata.confidence_level < 1.0 {
            f.confidence_level = s.metadata.confidence_level;
        }
    }
    f.runs = dirs.iter().map(|d| read_run(root, d)).collect();
    f.missing = missing_runs(root, &f.runs, &mut f.warnings);
    anyhow::ensure!(
        !f.runs.is_empty() || f.sweep.is_some() || !agg_files.is_empty() || !f.missing.is_empty(),
        "{}: no runs ({SUMMARY_JSON}, {RECORDS_JSONL}, {RUN_ERROR_FILE}), aggregates or {PLAN_JSONL} below it: give a sweep's folder (artifacts/<name>) or a run's folder",
        root.display()
    );
    let aggregates = read_value_aggregates(root, &agg_files, &mut f.warnings);
    group_values(&mut f, aggregates);
    f.parameters = match &f.sweep {
        Some(s) if !s.metadata.sweep_parameters.is_empty() => s
            .metadata
            .sweep_parameters
            .iter()
            .map(|p| p.name.clone())
            .collect(),
        _ => f
            .values
            .iter()
            .find(|v| !v.parameters.is_empty())
            .map(|v| v.parameters.iter().map(|(k, _)| k.clone()).collect())
            .unwrap_or_default(),
    };
    if let Some(s) = &f.sweep {
        let here: Vec<(String, String)> = f
            .runs
            .iter()
            .map(|r| (dir_name(&r.parameters), r.label.clone()))
            .collect();
        f.failed_elsewhere = s
            .failed_runs
            .iter()
            .chain(&s.metadata.failed_runs)
            .filter(|fr| {
                let p: Vec<(String, Value)> = fr
                    .parameters
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                !here.iter().any(|(d, l)| *d == dir_name(&p) && *l == fr.label)
            })
            .cloned()
            .collect();
        f.failed_elsewhere.dedup();
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/aiperf")
            .join(name)
    }

    #[test]
    fn reads_aiperfs_independent_sweep_with_trials() {
        let f = load(&fixture("c2_sweep_c2-4_x3_independent")).unwrap();
        assert_eq!(f.runs.len(), 6);
        assert!(f.runs.iter().all(Run::ok));
        assert_eq!(f.parameters, vec!["concurrency".to_string()]);
        assert_eq!(f.values.len(), 2);
        assert_eq!(
            f.values[0].parameters,
            vec![("concurrency".to_string(), Value::from(2))]
        );
        assert_eq!(f.values[1].runs.len(), 3);
        let thr = &f.values[0].metrics["request_throughput_avg"];
        assert!(
            thr["ci_low"].as_f64().unwrap() < thr["ci_high"].as_f64().unwrap(),
            "{thr}"
        );
        assert_eq!(thr["unit"], "requests/sec");
        assert!(
            f.is_sweep() && f.missing.is_empty() && f.warnings.is_empty(),
            "{:?}",
            f.warnings
        );
    }

    #[test]
    fn a_half_finished_sweep_lists_what_is_missing_and_keeps_what_is_there() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let src = fixture("b_sweep_c2-4-8_n100/concurrency_2");
        std::fs::create_dir_all(root.join("concurrency_2")).unwrap();
        for f in [SUMMARY_JSON, RECORDS_JSONL] {
            std::fs::copy(src.join(f), root.join("concurrency_2").join(f)).unwrap();
        }
        // Interrupted: records, no summary.
        std::fs::create_dir_all(root.join("concurrency_4")).unwrap();
        std::fs::copy(
            src.join(RECORDS_JSONL),
            root.join("concurrency_4").join(RECORDS_JSONL),
        )
        .unwrap();
        let plan: String = [2, 4, 8]
            .iter()
            .enumerate()
            .map(|(i, c)| {
                format!("{{\"run_index\":{i},\"trial\":1,\"trial_label\":\"trial_0001\",\"variation_index\":{i},\"variation_label\":\"concurrency_{c}\",\"parameters\":{{\"concurrency\":{c}}},\"artifact_dir\":\"x/concurrency_{c}\",\"loadgen\":{{}}}}\n")
            })
            .collect();
        std::fs::write(root.join(PLAN_JSONL), plan).unwrap();
        let f = load(root).unwrap();
        assert_eq!(f.runs.len(), 2);
        assert!(f.runs[0].ok());
        assert!(matches!(&f.runs[1].status, Status::Unfinished(w) if w.contains("did not finish")));
        assert_eq!(f.missing.len(), 1);
        assert_eq!(
            f.missing[0].parameters,
            vec![("concurrency".to_string(), Value::from(8))]
        );
        assert_eq!(
            f.values.len(),
            2,
            "the unfinished value is kept for its distributions"
        );
        assert!(f.values[1].metrics.is_empty());
    }

    #[test]
    fn a_folder_with_nothing_in_it_is_an_error_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        let e = load(tmp.path()).unwrap_err().to_string();
        assert!(
            e.contains("no runs") && e.contains("give a sweep's folder"),
            "{e}"
        );
    }
}
