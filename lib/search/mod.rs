//! The SLA search stage (`sweep-search`): from the trials gathered so far in a search folder, the
//! next plan lines to run, or — when the planner stops — the answer with its uncertainty. Nothing
//! is kept between calls but the folder: the planner is replayed over the iterations on disk on
//! every call, so `sweep-search → loadgen → trial-agg` loops as a pipeline (scripts/profile, or a
//! user's own Makefile), and AIPerf's own search folders can be read the same way.

pub mod answer;
pub mod checkpoint;
pub mod evidence;
pub mod feasibility;
pub mod findings;
pub mod history;
pub mod planner;
pub mod recipes;
pub mod sla_names;
pub mod space;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde_json::{json, Map, Value};

use crate::contract::plan_line::PlanLine;
use evidence::{read_trial, trial_dir, Trial, TrialState};
use history::IterationEntry;
use recipes::SearchConfig;

/// `search_history.json`, beside the iterations (AIPerf's name and place).
pub const HISTORY_JSON: &str = crate::artifacts::SEARCH_HISTORY_JSON;
/// The answer as JSON (sweepkit's addition beside the history).
pub const ANSWER_JSON: &str = "search_answer.json";

/// What a call needs: the compiled search, its folder, and how to write a run's plan line.
#[derive(Debug, Clone)]
pub struct SearchOptions {
    pub config: SearchConfig,
    /// The search folder (`search_iter_NNNN/` below it).
    pub base_dir: PathBuf,
    /// One plan line per trial (trial 1..N) with everything but the searched value and the place.
    pub templates: Vec<PlanLine>,
    /// Where the findings go (default `<base>/findings.md`).
    pub findings: PathBuf,
    /// Level of the answer's intervals (0.95: 95%).
    pub confidence_level: f64,
}

/// One iteration replayed: its value and trials.
pub struct Iteration {
    pub value: i64,
    pub trials: Vec<Trial>,
}

/// How a call ended.
pub enum Step {
    /// Run these, then call again.
    Next(Vec<PlanLine>),
    /// The planner stopped: the answer (no value = a negative verdict).
    Done(Box<answer::Answer>),
}

/// One call: replay, then plan or answer. Writes `search_history.json` and
/// `search_checkpoint.json` every time; on the answer,
/// `search_answer.json` and the findings too. An error is also written to the findings.
pub fn step(opts: &SearchOptions) -> anyhow::Result<Step> {
    match replay(opts) {
        Ok(s) => Ok(s),
        Err(e) => {
            let text = findings::error(&opts.config, &format!("{e:#}"));
            if std::fs::create_dir_all(&opts.base_dir).is_ok() {
                let _ = crate::io::atomic::write(&opts.findings, text.as_bytes());
            }
            Err(e)
        }
    }
}

fn read_iteration(base: &Path, i: usize, trials: u32) -> anyhow::Result<(Vec<Trial>, Vec<u32>)> {
    let present = std::fs::read_dir(evidence::iteration_dir(base, i).join("profile_runs"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().starts_with("run_"))
                .count()
        })
        .unwrap_or(0) as u32;
    let mut done = Vec::new();
    let mut missing = Vec::new();
    for t in 1..=trials.max(present) {
        match read_trial(&trial_dir(base, i, t), &format!("run_{t:04}")) {
            TrialState::Done(tr) => done.push(tr),
            TrialState::Missing if t <= trials => missing.push(t),
            TrialState::Missing => {}
            TrialState::Broken(why) => bail!("{why}"),
        }
    }
    Ok((done, missing))
}

fn replay(opts: &SearchOptions) -> anyhow::Result<Step> {
    let cfg = &opts.config;
    refuse_unknown_metrics(opts)?;
    let thresholds = cfg
        .filters
        .iter()
        .enumerate()
        .map(|(i, f)| (f.key(i), f.threshold))
        .collect();
    let mut planner = planner::new(
        cfg.planner,
        cfg.dim.lo as i64,
        cfg.dim.hi as i64,
        cfg.stability_trials,
        thresholds,
        // Without the load flags no run can be planned: answer from what is there.
        if opts.templates.is_empty() {
            0
        } else {
            cfg.verify_runs
        },
    );
    let history_path = opts.base_dir.join(HISTORY_JSON);
    let earlier: Vec<Option<i64>> = match crate::io::capped::read_to_string(&history_path) {
        Ok(t) => serde_json::from_str::<Value>(&t)
            .map(|d| history::recorded_values(&d, &cfg.dim.path))
            .map_err(|e| {
                anyhow::anyhow!(
                    "{}: not valid JSON ({e}): delete it to replay the search from its iteration folders",
                    history_path.display()
                )
            })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => bail!("{}: cannot read: {e}", history_path.display()),
    };
    let n_trials = opts.templates.len().max(1) as u32;
    let mut its: Vec<Iteration> = Vec::new();
    let mut entries: Vec<IterationEntry> = Vec::new();
    let mut reason: Option<String> = None;
    loop {
        if its.len() >= cfg.max_iterations as usize {
            reason = Some("max_iterations".into());
            break;
        }
        let Some(v) = planner.ask() else { break };
        let i = its.len();
        if let Some(Some(was)) = earlier.get(i) {
            if *was != v && evidence::iteration_dir(&opts.base_dir, i).exists() {
                bail!(
                    "{}: iteration {i} ran {} {was} but these flags ask for {v}: give the search's flags again, or use a new --artifact-dir",
                    history_path.display(),
                    cfg.dim.key()
                );
            }
        }
        let (trials, missing) = read_iteration(&opts.base_dir, i, n_trials)?;
        if !missing.is_empty() {
            write_history(opts, &entries, &*planner, &its, None)?;
            return Ok(Step::Next(plan_lines(opts, i, v, &missing)?));
        }
        if let Some(why) = feasibility::unknown_metric(&trials, &cfg.filters, &cfg.slos) {
            bail!(
                "{why} (iteration {i}, {}): fix --search-sla or the recipe's SLA flags",
                evidence::iteration_dir(&opts.base_dir, i).display()
            );
        }
        let obs = feasibility::observe(&trials, &cfg.filters, &cfg.slos);
        let non_monotonic = planner.tell(v, &obs);
        entries.push(IterationEntry {
            iteration_idx: i,
            value: v,
            objective: feasibility::averaged(&trials, &cfg.objective.metric, &cfg.objective.stat, &cfg.slos),
            feasible: obs.feasible,
            non_monotonic_warning: non_monotonic,
        });
        its.push(Iteration { value: v, trials });
    }
    let reason = reason
        .or_else(|| planner.convergence_reason().map(str::to_string))
        .unwrap_or_else(|| "max_iterations".into());
    write_history(opts, &entries, &*planner, &its, Some(&reason))?;
    let boundary = planner.verification().map(answer::Boundary::from);
    let a = conclude(
        cfg,
        &its,
        &entries,
        (planner.bracket(), boundary),
        &reason,
        opts.confidence_level,
    );
    crate::io::atomic::write_json(&opts.base_dir.join(ANSWER_JSON), &a)?;
    let text = findings::render(cfg, &a, &entries, &its);
    crate::io::atomic::write(&opts.findings, text.as_bytes())?;
    Ok(Step::Done(Box::new(a)))
}

/// Nothing measured yet: a misspelt metric is refused now, not after the first run. (A folder
/// with trials is checked against their summaries, which may hold a newer AIPerf's metrics.)
fn refuse_unknown_metrics(opts: &SearchOptions) -> anyhow::Result<()> {
    if evidence::iteration_dir(&opts.base_dir, 0).exists() {
        return Ok(());
    }
    for f in &opts.config.filters {
        let raw = format!("{}:{}:{}:{}", f.metric_tag, f.stat, f.op.as_str(), f.threshold);
        sla_names::check(f, &raw).map_err(anyhow::Error::msg)?;
    }
    Ok(())
}

fn write_history(
    opts: &SearchOptions,
    entries: &[IterationEntry],
    planner: &dyn planner::Planner,
    its: &[Iteration],
    reason: Option<&str>,
) -> anyhow::Result<()> {
    let cfg = &opts.config;
    let breach = |i: usize| feasibility::first_breach(&its[i].trials, &cfg.filters, &cfg.slos);
    let boundary =
        history::boundary_summary(cfg, entries, planner.bracket(), breach, planner.boundary_extras());
    std::fs::create_dir_all(&opts.base_dir)
        .with_context(|| format!("cannot create {}", opts.base_dir.display()))?;
    crate::io::atomic::write_json(
        &opts.base_dir.join(HISTORY_JSON),
        &history::document(cfg, entries, boundary, reason),
    )?;
    crate::io::atomic::write_json(
        &opts.base_dir.join(crate::artifacts::SEARCH_CHECKPOINT_JSON),
        &checkpoint::document(&cfg.dim.path, its),
    )
}

/// The answer from the replayed search.
fn conclude(
    cfg: &SearchConfig,
    its: &[Iteration],
    entries: &[IterationEntry],
    (bracket, boundary): ((Option<i64>, Option<i64>), Option<answer::Boundary>),
    reason: &str,
    level: f64,
) -> answer::Answer {
    let values = answer::by_value(its.iter().map(|it| (it.value, it.trials.as_slice())));
    let point = bracket.0;
    let interval = point.map(|p| answer::interval(cfg, &values, p, level));
    let attainment = point
        .filter(|_| cfg.attainment.is_some())
        .and_then(|p| values.iter().find(|v| v.value == p))
        .and_then(|v| answer::attainment(cfg, v, level));
    let best = entries
        .iter()
        .filter(|e| e.feasible)
        .filter_map(|e| {
            e.objective.map(|o| answer::Best {
                value: e.value,
                objective: o,
            })
        })
        .reduce(|a, b| {
            if (b.objective > a.objective) == cfg.objective.maximize && b.objective != a.objective {
                b
            } else {
                a
            }
        });
    let breach = entries
        .iter()
        .zip(its)
        .find(|(e, _)| !e.feasible)
        .and_then(|(_, it)| feasibility::first_breach(&it.trials, &cfg.filters, &cfg.slos))
        .map(|b| {
            let obs = b
                .observed
                .map_or("not measured".into(), |o| format!("observed {o:.2}"));
            format!("{} {} {} {} ({obs})", b.metric_tag, b.stat, b.op, b.threshold)
        });
    let mut a = answer::Answer {
        parameter: cfg.dim.key().to_string(),
        value: point,
        interval,
        attainment,
        best,
        sure: reason != "max_iterations"
            && boundary
                .as_ref()
                .is_none_or(|b| b.checks.iter().all(|c| c.stable)),
        boundary,
        runs: its.iter().map(|it| it.trials.len()).sum(),
        convergence_reason: reason.to_string(),
        text: String::new(),
    };
    a.text = answer::sentence(cfg, &a, breach.as_deref());
    a
}

/// The plan lines of iteration `i` at value `v`, for the trials still to run.
fn plan_lines(opts: &SearchOptions, i: usize, v: i64, trials: &[u32]) -> anyhow::Result<Vec<PlanLine>> {
    let key = opts.config.dim.key();
    let n = opts.templates.len().max(1);
    trials
        .iter()
        .map(|&t| {
            let mut line = opts
                .templates
                .get(t as usize - 1)
                .cloned()
                .context("sweep-search needs the load flags (--model, --url, ...) to plan a run")?;
            line.loadgen.set_swept(opts.config.dim.param, &json!(v))?;
            line.loadgen.check()?;
            let p = &mut line.place;
            p.run_index = Some(i * n + t as usize - 1);
            p.trial = Some(t);
            p.trial_label = Some(format!("run_{t:04}"));
            p.variation_index = Some(i);
            p.variation_label = Some(format!("search_iter_{i:04}"));
            let mut params = Map::new();
            params.insert(key.to_string(), json!(v));
            p.parameters = Some(params);
            p.artifact_dir = Some(trial_dir(&opts.base_dir, i, t).display().to_string());
            Ok(line)
        })
        .collect()
}
