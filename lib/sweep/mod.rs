//! sweep-agg: trial summaries labelled with their parameters and trial ([`load`]), aggregated
//! across trials and values ([`aggregate`]), written in AIPerf's shapes ([`export`]) and, on
//! request, summarised as findings.md ([`findings`]). This file is the driver that sequences them.

pub mod aggregate;
pub mod convergence;
pub mod export;
pub mod findings;
pub mod knee;
pub mod load;
pub mod noise;
pub mod pending;
pub mod saturation;
pub mod search_folder;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::artifacts::{COLLATED_JSON, RUN_ERROR_FILE, RUN_INFO_JSON, SUMMARY_JSON};
use crate::contract::convergence::{ConvergenceSettings, ValueConvergence};
use crate::contract::plan_line::PlanLine;
use crate::contract::sweep_aggregate::SweepAggregate;
use crate::io::{atomic, jsonl};
use crate::sweep::aggregate::{aggregate_doc, combinations, sweep_aggregate};
use crate::sweep::load::{collect_run_dirs, from_aggregates, from_dir, from_plan, SweepInput, Trial};

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
    /// `--convergence-metric …`: judge each value's trials, write AIPerf's collated files.
    pub convergence: Option<ConvergenceSettings>,
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

/// Why a run's `run_info.json` says the client may have been the bottleneck (loadgen's reasons),
/// or `None` when it does not say so; a missing or unreadable run info is no evidence either way.
pub fn client_bound_reason(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(RUN_INFO_JSON)).ok()?;
    let doc = serde_json::from_str::<serde_json::Value>(&text).ok()?;
    if doc.pointer("/client/client_bound") != Some(&serde_json::Value::Bool(true)) {
        return None;
    }
    let why: Vec<&str> = doc
        .pointer("/client/warnings")
        .and_then(|w| w.as_array())
        .map(|w| w.iter().filter_map(|x| x.as_str()).collect())
        .unwrap_or_default();
    Some(if why.is_empty() {
        "run info marks the client as the bottleneck".to_string()
    } else {
        why.join("; ")
    })
}

/// One line per run whose run info says the client may have been the bottleneck: the run, its
/// parameters and why.
pub fn client_bound_runs(trials: &[Trial]) -> Vec<String> {
    trials
        .iter()
        .filter_map(|t| {
            let why = client_bound_reason(&t.dir)?;
            Some(format!(
                "{} ({}): {why}",
                t.label,
                crate::artifacts::names::describe(&t.parameters)
            ))
        })
        .collect()
}

/// Writes findings.md when asked; `sweep_json` is the file it was made from.
fn write_findings(
    opts: &AggOptions,
    agg: &SweepAggregate,
    sweep_json: &Path,
    trials: &[Trial],
) -> anyhow::Result<Option<PathBuf>> {
    let Some(f) = &opts.findings else {
        return Ok(None);
    };
    let client = client_bound_runs(trials);
    atomic::write(
        f,
        findings::render(agg, &sweep_json.display().to_string(), &client).as_bytes(),
    )?;
    Ok(Some(f.clone()))
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
    let path = export::write_sweep(&sweep_dir, &agg)?;
    Ok(AggReport {
        base_dir: input.layout.base_dir.clone(),
        aggregates: Vec::new(),
        findings: write_findings(opts, &agg, &path, &[])?,
        sweep_aggregate: Some(path),
        num_profile_runs: agg.num_profile_runs,
        num_successful_runs: agg.num_successful_runs,
        failed_runs: agg.failed_runs.len(),
        high_variance: agg.metadata.high_variance.len(),
        warnings,
    })
}

/// Reads the plan and labels its runs.
fn plan_input(plan: &Path) -> anyhow::Result<SweepInput> {
    let (lines, stats) = jsonl::read_all::<PlanLine>(jsonl::open_inputs(&[plan.to_path_buf()])?)?;
    anyhow::ensure!(!lines.is_empty(), "{}: the plan has no runs", plan.display());
    // from_plan names a bad line by its number.
    let input = from_plan(&lines).map_err(|e| anyhow::anyhow!("{}:{e:#}", plan.display()))?;
    if !stats.torn.is_empty() {
        anyhow::bail!("{}", stats.warnings().join("; "));
    }
    Ok(input)
}

fn check_level(level: f64) -> anyhow::Result<()> {
    if !(level > 0.0 && level < 1.0) {
        anyhow::bail!("--confidence-level must be between 0 and 1, exclusive (e.g. 0.95), got {level}");
    }
    Ok(())
}

/// `sweep-agg --plan … --converged`: every value's convergence verdict over the runs of the plan
/// that ran (a run with no summary yet is not counted), writing nothing.
pub fn converged(plan: &Path, s: &ConvergenceSettings, level: f64) -> anyhow::Result<Vec<ValueConvergence>> {
    check_level(level)?;
    let mut input = plan_input(plan)?;
    input
        .trials
        .retain(|t| t.dir.join(SUMMARY_JSON).exists() || t.dir.join(RUN_ERROR_FILE).exists());
    Ok(convergence::verdicts(&input, s, level))
}

/// `sweep-agg --plan … --saturated`: why the runs of the plan that ran show a saturated sweep, if they do.
pub fn saturated(plan: &Path, threshold: f64) -> anyhow::Result<Option<String>> {
    let mut input = plan_input(plan)?;
    input
        .trials
        .retain(|t| t.dir.join(SUMMARY_JSON).exists() || t.dir.join(RUN_ERROR_FILE).exists());
    Ok(saturation::saturated(&combinations(&input, 0.95), threshold))
}

/// Labels, aggregates and writes everything; the caller prints the warnings.
pub fn run(opts: &AggOptions) -> anyhow::Result<AggReport> {
    check_level(opts.confidence_level)?;
    let mut input = match (&opts.plan, &opts.dir) {
        (Some(p), None) => plan_input(p)?,
        (None, Some(d)) if search_folder::is_search_folder(d) => search_folder::from_search(d)?,
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
    let verdicts = opts
        .convergence
        .as_ref()
        .map(|s| convergence::verdicts(&input, s, opts.confidence_level))
        .unwrap_or_default();
    for c in combos.iter().filter(|c| c.num_successful > 0) {
        if let Some(dir) = input.layout.aggregate_dir(&c.dir_name) {
            let mut doc = aggregate_doc(c, &input, opts.confidence_level);
            let label = convergence::label_of(&c.dir_name);
            doc.metadata.convergence = verdicts.iter().find(|v| v.variation_label == label).cloned();
            report.aggregates.push(export::write_aggregate(&dir, &doc)?);
            if opts.convergence.is_some() {
                let collated = convergence::collated(c, &input, doc.metadata.convergence.clone())?;
                atomic::write_json(&dir.join(COLLATED_JSON), &collated)?;
            }
        }
    }
    if let Some(dir) = input.layout.sweep_aggregate_dir() {
        let (mut agg, warnings) = sweep_aggregate(&input, &combos, opts.confidence_level);
        agg.metadata.convergence = verdicts;
        let path = export::write_sweep(&dir, &agg)?;
        report.high_variance = agg.metadata.high_variance.len();
        report.warnings = warnings;
        report.findings = write_findings(opts, &agg, &path, &input.trials)?;
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
