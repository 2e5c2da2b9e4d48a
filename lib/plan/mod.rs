//! The sweep plan: a profile command line expanded into one run per (parameter combination, trial),
//! in execution order, each a complete loadgen spec plus its place (Contract A). The order, seeds,
//! cooldowns, warmup placement and artifact tree follow AIPerf's Parameter Sweeping guide.

pub mod compare;
pub mod latin_hypercube;
pub mod makefile;
pub mod output_length;
pub mod refused_key;
pub mod scenarios;
pub mod sobol;
pub mod sweep_file;

use std::path::PathBuf;

use crate::artifacts::layout::{Layout, SweepMode};
use crate::artifacts::names::{dir_name, path_safe, value_text};

use anyhow::{bail, Context};
use serde_json::Value;

use crate::contract::plan_line::{Place, PlanLine};
use crate::contract::settings::{Settings, Sweepable, Ui as LoadgenUi};

/// A sweep's seed when `--random-seed` is not given (AIPerf's).
pub const DEFAULT_SEED: u64 = 42;

/// AIPerf's upper bound on `--num-profile-runs`.
pub const MAX_TRIALS: u32 = 10;

/// The guide's informational message when a sweep picks the simple UI by itself.
pub const UI_AUTO_SIMPLE_MESSAGE: &str =
    "Parameter sweep mode: UI automatically set to 'simple' (use '--ui none' to disable UI output)";

/// The guide's error for `--ui dashboard` with a sweep.
pub const UI_DASHBOARD_REFUSED: &str = "Dashboard UI is not supported with parameter sweeps due to terminal control limitations. Please use '--ui simple' or '--ui none' instead.";

/// How several swept lists combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SweepType {
    /// Cartesian product (the last list varies fastest).
    #[default]
    Grid,
    /// Element by element; the lists must have equal lengths.
    Zip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ui {
    Dashboard,
    Simple,
    None,
}

impl Ui {
    pub fn as_str(self) -> &'static str {
        match self {
            Ui::Dashboard => "dashboard",
            Ui::Simple => "simple",
            Ui::None => "none",
        }
    }
}

/// Everything a plan is made from: the profile command line, typed.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// The settings every run shares. Its model and endpoint type name the sweep's folder; its
    /// seed is the base seed; its warmup goes to the first trial of each value only.
    pub base: Settings,
    /// The list flags as given, each with its values (one value: fixed; more: swept), in flag order.
    pub lists: Vec<(Sweepable, Vec<Value>)>,
    pub sweep_type: SweepType,
    /// A sweep given as its runs rather than as comma lists (AIPerf's `scenarios` and `sobol`).
    pub explicit: Option<ExplicitSweep>,
    pub num_profile_runs: u32,
    pub mode: SweepMode,
    pub sweep_cooldown_seconds: f64,
    pub run_cooldown_seconds: f64,
    pub same_seed: bool,
    pub confidence_level: f64,
    pub ui: Option<Ui>,
    /// `--artifact-dir` (default `artifacts`): the sweep's folder is created below it.
    pub artifact_dir: PathBuf,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            base: Settings::default(),
            lists: Vec::new(),
            sweep_type: SweepType::Grid,
            explicit: None,
            num_profile_runs: 1,
            mode: SweepMode::Repeated,
            sweep_cooldown_seconds: 0.0,
            run_cooldown_seconds: 0.0,
            same_seed: false,
            confidence_level: 0.95,
            ui: None,
            artifact_dir: PathBuf::from("artifacts"),
        }
    }
}

/// The expanded plan plus what to tell the user.
#[derive(Debug, Clone)]
pub struct Plan {
    pub lines: Vec<PlanLine>,
    pub layout: Layout,
    /// Informational messages for stderr (e.g. the UI auto-selection).
    pub notices: Vec<String>,
    /// The swept parameters and their values, in sweep order.
    pub sweep_parameters: Vec<(String, Vec<Value>)>,
    pub confidence_level: f64,
}

/// One parameter combination: (parameter, value) in sweep order.
type Combo = Vec<(Sweepable, Value)>;

/// A sweep AIPerf declares by its runs instead of comma lists.
#[derive(Debug, Clone, PartialEq)]
pub enum ExplicitSweep {
    /// Named runs (`--variant`), in the order given, each in a folder named after it.
    Scenarios(Vec<scenarios::Scenario>),
    /// Quasi-random points over ranges, read from `file` (`--sweep-config`).
    Sobol { sweep: sobol::SobolSweep, file: String },
}

/// One variation of the sweep: its folder name and the settings it changes.
struct Variation {
    dir: String,
    combo: Combo,
    /// Said before a message about this variation (`--variant 'small'`), empty for a comma list.
    context: String,
}

/// Expands the options into the plan, refusing invalid combinations with a message naming the flag.
pub fn build(opts: &PlanOptions) -> anyhow::Result<Plan> {
    check_options(opts)?;
    let (fixed, swept) = split_lists(&opts.lists)?;
    let variations = variations(opts, &swept)?;
    let sweep = !swept.is_empty() || opts.explicit.is_some();
    let (ui, mut notices) = choose_ui(sweep, opts.ui, opts.num_profile_runs)?;
    if let Some(ExplicitSweep::Sobol { sweep, file }) = &opts.explicit {
        notices.extend(
            sweep
                .warnings()
                .iter()
                .map(|w| format!("sweep-plan: warning: {file}: {w}")),
        );
    }
    let layout = layout(opts, &fixed, &swept)?;
    // Seeds: 42 by default for any sweep or repeated run; base + variation index per value.
    let base_seed = opts
        .base
        .random_seed
        .or((sweep || opts.num_profile_runs > 1).then_some(DEFAULT_SEED));

    let mut lines = Vec::new();
    for (run_index, (v, trial)) in execution_order(sweep, opts.mode, variations.len(), opts.num_profile_runs)
        .into_iter()
        .enumerate()
    {
        let var = &variations[v];
        let named: Vec<(String, Value)> = var
            .combo
            .iter()
            .map(|(p, x)| (p.key().to_string(), x.clone()))
            .collect();
        let dir = if sweep { var.dir.clone() } else { String::new() };
        let seed = match base_seed {
            Some(b) if !opts.same_seed => Some(b + v as u64),
            other => other,
        };
        let warmup = trial == 1 && opts.base.warmup_request_count.is_some_and(|n| n > 0);

        let mut spec = opts.base.clone();
        spec.endpoint_type = Some(spec.endpoint_type.unwrap_or_default());
        spec.random_seed = seed;
        spec.warmup_request_count = opts.base.warmup_request_count.filter(|_| warmup);
        // A dashboard reaches loadgen only for a single run: choose_ui refused it for sweeps and trials.
        spec.ui = ui.map(|u| match u {
            Ui::Simple => LoadgenUi::Simple,
            Ui::None => LoadgenUi::None,
            Ui::Dashboard => LoadgenUi::Dashboard,
        });
        // A variation's own values win over the shared ones (AIPerf's deep merge of a scenario).
        let checked = (|| {
            for (p, val) in fixed.iter().chain(var.combo.iter()) {
                spec.set_swept(*p, val)?;
            }
            // The same rules loadgen applies, so a plan never holds a run loadgen would refuse.
            spec.check()
        })();
        if let Err(e) = checked {
            match var.context.is_empty() {
                true => return Err(e),
                false => bail!("{}: {e:#}", var.context),
            }
        }

        lines.push(PlanLine {
            place: Place {
                run_index: Some(run_index),
                trial: Some(trial),
                trial_label: Some(layout.trial_label(trial)),
                variation_index: Some(v),
                variation_label: Some(if sweep { dir.clone() } else { "base".into() }),
                parameters: Some(named.into_iter().collect()),
                seed,
                artifact_dir: Some(layout.run_dir(&dir, trial).display().to_string()),
                cooldown_seconds: Some(cooldown(opts, sweep, v, trial)),
                warmup: Some(warmup),
            },
            loadgen: spec,
        });
    }

    Ok(Plan {
        lines,
        layout,
        notices,
        sweep_parameters: sweep_parameters(&swept, &variations),
        confidence_level: opts.confidence_level,
    })
}

/// The variations in sweep order: the comma lists' combinations, or the explicit sweep's runs.
fn variations(opts: &PlanOptions, swept: &[(Sweepable, Vec<Value>)]) -> anyhow::Result<Vec<Variation>> {
    let Some(explicit) = &opts.explicit else {
        return Ok(combinations(swept, opts.sweep_type)?
            .into_iter()
            .map(|combo| {
                let named: Vec<(String, Value)> = combo
                    .iter()
                    .map(|(p, x)| (p.key().to_string(), x.clone()))
                    .collect();
                Variation {
                    dir: dir_name(&named),
                    combo,
                    context: String::new(),
                }
            })
            .collect());
    };
    if let Some((p, _)) = swept.first() {
        bail!(
            "{}: a comma list is a grid sweep, and {} already declares the runs: give each run its value there instead",
            p.flag(),
            explicit.flag()
        );
    }
    Ok(match explicit {
        ExplicitSweep::Scenarios(runs) => runs
            .iter()
            .enumerate()
            .map(|(i, s)| Variation {
                dir: s.dir_name(i),
                combo: s.values.clone(),
                context: format!("--variant '{}'", s.name),
            })
            .collect(),
        ExplicitSweep::Sobol { sweep, file } => {
            let seed = sweep.seed.or(opts.base.random_seed).unwrap_or(DEFAULT_SEED);
            let out: Vec<Variation> = sweep
                .runs(seed)
                .into_iter()
                .enumerate()
                .map(|(i, combo)| {
                    let named: Vec<(String, Value)> = combo
                        .iter()
                        .map(|(p, x)| (p.key().to_string(), x.clone()))
                        .collect();
                    let dir = dir_name(&named);
                    Variation {
                        context: format!("{file}: {} point {i} ({dir})", sweep.kind()),
                        dir,
                        combo,
                    }
                })
                .collect();
            let dirs: Vec<String> = out.iter().map(|v| v.dir.clone()).collect();
            sobol::check_distinct(&dirs, file)?;
            out
        }
    })
}

impl ExplicitSweep {
    /// The flag (or file) that declared the sweep, for messages.
    fn flag(&self) -> &'static str {
        match self {
            ExplicitSweep::Scenarios(_) => "--variant",
            ExplicitSweep::Sobol { .. } => "--sweep-config",
        }
    }

    /// The sweep's kind in the sweep folder's name (`<model>-openai-chat-scenarios_sweep`).
    fn stimulus(&self) -> &'static str {
        match self {
            ExplicitSweep::Scenarios(_) => "scenarios_sweep",
            ExplicitSweep::Sobol { sweep, .. } => match sweep.kind() {
                "sobol" => "sobol_sweep",
                _ => "latin_hypercube_sweep",
            },
        }
    }
}

/// The swept parameters and their values in first-seen order (a scenario's values are its own).
fn sweep_parameters(
    swept: &[(Sweepable, Vec<Value>)],
    variations: &[Variation],
) -> Vec<(String, Vec<Value>)> {
    if !swept.is_empty() {
        return swept
            .iter()
            .map(|(p, v)| (p.key().to_string(), v.clone()))
            .collect();
    }
    let mut out: Vec<(String, Vec<Value>)> = Vec::new();
    for (p, x) in variations.iter().flat_map(|v| v.combo.iter()) {
        let i = match out.iter().position(|(k, _)| k == p.key()) {
            Some(i) => i,
            None => {
                out.push((p.key().to_string(), Vec::new()));
                out.len() - 1
            }
        };
        if !out[i].1.contains(x) {
            out[i].1.push(x.clone());
        }
    }
    out
}

/// The plan-level flags, and the shared settings as loadgen would check them.
fn check_options(opts: &PlanOptions) -> anyhow::Result<()> {
    if opts.base.model.as_deref().is_none_or(|m| m.trim().is_empty()) {
        bail!("--model is required: the model name to benchmark (e.g. --model llama-3-8b)");
    }
    if opts.num_profile_runs == 0 {
        bail!("--num-profile-runs must be at least 1 (got 0)");
    }
    if opts.num_profile_runs > MAX_TRIALS {
        bail!(
            "--num-profile-runs: at most {MAX_TRIALS} trials (AIPerf's limit), got {}",
            opts.num_profile_runs
        );
    }
    if !(opts.confidence_level > 0.0 && opts.confidence_level < 1.0) {
        bail!(
            "--confidence-level must be between 0 and 1, exclusive (e.g. 0.95), got {}",
            opts.confidence_level
        );
    }
    for (flag, v) in [
        ("--parameter-sweep-cooldown-seconds", opts.sweep_cooldown_seconds),
        ("--profile-run-cooldown-seconds", opts.run_cooldown_seconds),
    ] {
        if !(v.is_finite() && v >= 0.0) {
            bail!("{flag} must be a number of seconds ≥ 0, got {v}");
        }
    }
    if opts.same_seed && opts.base.random_seed.is_none() {
        bail!("--parameter-sweep-same-seed requires --random-seed: give the seed every sweep value should share");
    }
    let given = |p: Sweepable| opts.lists.iter().any(|(q, _)| *q == p);
    if given(Sweepable::RequestCount) && given(Sweepable::BenchmarkDuration) {
        bail!("--request-count and --benchmark-duration are mutually exclusive: stop by count or by time, not both");
    }
    opts.base.check()?;
    opts.base.check_files()
}

/// Lists with one value are fixed settings; longer ones are swept. A value listed twice is refused.
#[allow(clippy::type_complexity)]
fn split_lists(
    lists: &[(Sweepable, Vec<Value>)],
) -> anyhow::Result<(Vec<(Sweepable, Value)>, Vec<(Sweepable, Vec<Value>)>)> {
    let mut fixed = Vec::new();
    let mut swept = Vec::new();
    for (param, values) in lists {
        if values.is_empty() {
            bail!(
                "{}: empty list: give a number or a comma list like 10,20,30",
                param.flag()
            );
        }
        for (i, v) in values.iter().enumerate() {
            if values[..i].contains(v) {
                bail!(
                    "{}: value {} is listed twice: each value is one combination",
                    param.flag(),
                    value_text(v)
                );
            }
        }
        match values.as_slice() {
            [one] => fixed.push((*param, one.clone())),
            _ => swept.push((*param, values.clone())),
        }
    }
    Ok((fixed, swept))
}

/// The parameter combinations in sweep order (one empty combination without a sweep).
fn combinations(swept: &[(Sweepable, Vec<Value>)], sweep_type: SweepType) -> anyhow::Result<Vec<Combo>> {
    if swept.is_empty() {
        return Ok(vec![Vec::new()]);
    }
    Ok(match sweep_type {
        SweepType::Zip => {
            let n = swept[0].1.len();
            if let Some((p, v)) = swept.iter().find(|(_, v)| v.len() != n) {
                bail!(
                    "--sweep-type zip: {} has {} values but {} has {}: zip pairs the lists element by element, so give lists of equal length (or use --sweep-type grid)",
                    swept[0].0.flag(),
                    n,
                    p.flag(),
                    v.len()
                );
            }
            (0..n)
                .map(|i| swept.iter().map(|(p, v)| (*p, v[i].clone())).collect())
                .collect()
        }
        SweepType::Grid => {
            let mut acc: Vec<Combo> = vec![Vec::new()];
            for (p, values) in swept {
                let mut next = Vec::with_capacity(acc.len() * values.len());
                for prefix in &acc {
                    for v in values {
                        let mut c = prefix.clone();
                        c.push((*p, v.clone()));
                        next.push(c);
                    }
                }
                acc = next;
            }
            acc
        }
    })
}

/// The guide's UI rules: a sweep (or trials) picks `simple` and says so; a dashboard is refused there.
fn choose_ui(sweep: bool, ui: Option<Ui>, runs: u32) -> anyhow::Result<(Option<Ui>, Vec<String>)> {
    Ok(match (sweep, ui) {
        (true, Some(Ui::Dashboard)) => bail!("{UI_DASHBOARD_REFUSED}"),
        (true, None) => (Some(Ui::Simple), vec![UI_AUTO_SIMPLE_MESSAGE.to_string()]),
        (false, Some(Ui::Dashboard)) if runs > 1 => bail!(
            "Dashboard UI is not supported with multiple profile runs (--num-profile-runs). Please use '--ui simple' or '--ui none' instead."
        ),
        (false, None) if runs > 1 => (Some(Ui::Simple), Vec::new()),
        (_, ui) => (ui, Vec::new()),
    })
}

/// The sweep's folder tree: `<artifact-dir>/<model>-openai-<endpoint>-<stimulus>`.
fn layout(
    opts: &PlanOptions,
    fixed: &[(Sweepable, Value)],
    swept: &[(Sweepable, Vec<Value>)],
) -> anyhow::Result<Layout> {
    let fixed_value = |p: Sweepable| fixed.iter().find(|(q, _)| *q == p).map(|(_, v)| v);
    let stimulus = if let Some(e) = &opts.explicit {
        e.stimulus().to_string()
    } else if !swept.is_empty() {
        let names: Vec<&str> = swept.iter().map(|(p, _)| p.key()).collect();
        format!("{}_sweep", names.join("_"))
    } else if let Some(v) = fixed_value(Sweepable::RequestRate) {
        format!("request_rate{}", value_text(v))
    } else if let Some(v) = fixed_value(Sweepable::Concurrency) {
        format!("concurrency{}", value_text(v))
    } else {
        "concurrency1".to_string()
    };
    let name = path_safe(&format!(
        "{}-openai-{}-{}",
        opts.base.model.as_deref().unwrap_or(""),
        opts.base.endpoint_type.unwrap_or_default().name(),
        stimulus
    ));
    let layout = Layout {
        base_dir: opts.artifact_dir.join(name),
        sweep: !swept.is_empty() || opts.explicit.is_some(),
        trials: opts.num_profile_runs,
        mode: opts.mode,
        adaptive: false,
    };
    let base_text = layout
        .base_dir
        .to_str()
        .context("--artifact-dir must be valid UTF-8")?;
    if base_text.contains(['\t', '\n', '\r']) {
        bail!("--artifact-dir must not contain tabs or newlines");
    }
    Ok(layout)
}

/// (variation index, trial) in the guide's execution order.
fn execution_order(sweep: bool, mode: SweepMode, n_combos: usize, n_trials: u32) -> Vec<(usize, u32)> {
    match (sweep, mode) {
        (true, SweepMode::Independent) => (0..n_combos)
            .flat_map(|v| (1..=n_trials).map(move |t| (v, t)))
            .collect(),
        _ => (1..=n_trials)
            .flat_map(|t| (0..n_combos).map(move |v| (v, t)))
            .collect(),
    }
}

/// Seconds to wait before a run: the sweep cooldown between values, the run cooldown between trials.
fn cooldown(opts: &PlanOptions, sweep: bool, v: usize, trial: u32) -> f64 {
    let (between_values, between_trials) = (opts.sweep_cooldown_seconds, opts.run_cooldown_seconds);
    match (sweep, opts.mode) {
        (true, SweepMode::Independent) if trial > 1 => between_trials,
        (true, SweepMode::Independent) if v > 0 => between_values,
        (true, SweepMode::Independent) => 0.0,
        _ if v > 0 => between_values,
        _ if trial > 1 => between_trials,
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(lists: &[(Sweepable, &str)]) -> PlanOptions {
        let real = |p: Sweepable| {
            matches!(
                p,
                Sweepable::RequestRate
                    | Sweepable::BenchmarkDuration
                    | Sweepable::IslStddev
                    | Sweepable::OslStddev
            )
        };
        PlanOptions {
            base: Settings {
                model: Some("llama-3-8b".into()),
                ..Default::default()
            },
            lists: lists
                .iter()
                .map(|(p, t)| {
                    let vals = t
                        .split(',')
                        .map(|x| {
                            if real(*p) {
                                Value::from(x.parse::<f64>().unwrap())
                            } else {
                                Value::from(x.parse::<u64>().unwrap())
                            }
                        })
                        .collect();
                    (*p, vals)
                })
                .collect(),
            ..Default::default()
        }
    }

    fn labels(p: &Plan) -> Vec<&str> {
        p.lines
            .iter()
            .map(|l| l.place.variation_label.as_deref().unwrap())
            .collect()
    }

    #[test]
    fn grid_is_cartesian_last_fastest_and_zip_pairs() {
        use Sweepable::{Concurrency, Isl};
        let p = build(&opts(&[(Concurrency, "10,20"), (Isl, "128,512")])).unwrap();
        assert_eq!(
            labels(&p),
            [
                "concurrency_10__isl_128",
                "concurrency_10__isl_512",
                "concurrency_20__isl_128",
                "concurrency_20__isl_512"
            ]
        );
        let mut o = opts(&[(Concurrency, "10,20"), (Isl, "128,512")]);
        o.sweep_type = SweepType::Zip;
        let p = build(&o).unwrap();
        assert_eq!(labels(&p), ["concurrency_10__isl_128", "concurrency_20__isl_512"]);
        o.lists[1].1 = vec![1u64.into(), 2u64.into(), 3u64.into()];
        let e = build(&o).unwrap_err().to_string();
        assert!(e.contains("--sweep-type zip") && e.contains("--isl has 3"), "{e}");
    }

    #[test]
    fn float_values_name_folders_like_python() {
        let p = build(&opts(&[(Sweepable::RequestRate, "5,7.5")])).unwrap();
        assert_eq!(labels(&p), ["request_rate_5.0", "request_rate_7.5"]);
        assert_eq!(
            p.layout.base_dir,
            PathBuf::from("artifacts/llama-3-8b-openai-chat-request_rate_sweep")
        );
    }

    #[test]
    fn tv6_seeds() {
        let seeds = |p: &Plan| p.lines.iter().map(|l| l.place.seed.unwrap()).collect::<Vec<_>>();
        let p = build(&opts(&[(Sweepable::Concurrency, "10,20,40")])).unwrap();
        assert_eq!(seeds(&p), [42, 43, 44]);
        let mut o = opts(&[(Sweepable::Concurrency, "10,20,40")]);
        o.same_seed = true;
        o.base.random_seed = Some(42);
        assert_eq!(seeds(&build(&o).unwrap()), [42, 42, 42]);
        // Without a sweep or trials no seed is invented.
        let p = build(&opts(&[(Sweepable::Concurrency, "8")])).unwrap();
        assert_eq!(p.lines[0].place.seed, None);
        assert_eq!(p.lines[0].loadgen.random_seed, None);
    }

    #[test]
    fn model_names_become_path_safe() {
        let mut o = opts(&[(Sweepable::Concurrency, "1,2")]);
        o.base.model = Some("meta-llama/Llama 3:8b".into());
        let p = build(&o).unwrap();
        assert_eq!(
            p.layout.base_dir,
            PathBuf::from("artifacts/meta-llama_Llama_3_8b-openai-chat-concurrency_sweep")
        );
    }

    #[test]
    fn a_plan_refuses_what_loadgen_refuses() {
        use crate::contract::settings::{DatasetType, EndpointType};
        let mut o = opts(&[(Sweepable::Concurrency, "1,2")]);
        o.base.custom_dataset_type = Some(DatasetType::MooncakeTrace);
        let e = build(&o).unwrap_err().to_string();
        assert_eq!(e, Settings { ..o.base.clone() }.check().unwrap_err().to_string());
        let mut o = opts(&[(Sweepable::Concurrency, "1,2")]);
        o.base.endpoint_type = Some(EndpointType::Embeddings);
        o.base.streaming = Some(true);
        assert!(build(&o).unwrap_err().to_string().contains("--streaming"));
        let o = opts(&[(Sweepable::Concurrency, "10,10")]);
        assert!(build(&o).unwrap_err().to_string().contains("listed twice"));
    }
}
