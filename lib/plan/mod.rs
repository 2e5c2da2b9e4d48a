//! The sweep plan: a profile command line expanded into one run per (parameter combination, trial),
//! in execution order, each a complete loadgen spec plus its place (Contract A). The order, seeds,
//! cooldowns, warmup placement and artifact tree follow AIPerf's Parameter Sweeping guide.

use std::path::PathBuf;

use crate::artifacts::layout::{Layout, SweepMode};
use crate::artifacts::names::{dir_name, path_safe, value_text};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A whole number ≥ 1.
    Count,
    /// A number > 0.
    Positive,
    /// A number ≥ 0.
    NonNegative,
}

/// The flags that accept a comma list (a sweep): (loadgen key, flag, kind).
pub const SWEEPABLE: [(&str, &str); 8] = [
    ("concurrency", "--concurrency"),
    ("request_rate", "--request-rate"),
    ("request_count", "--request-count"),
    ("benchmark_duration", "--benchmark-duration"),
    ("isl", "--isl"),
    ("isl_stddev", "--isl-stddev"),
    ("osl", "--osl"),
    ("osl_stddev", "--osl-stddev"),
];

fn kind_of(param: &str) -> Kind {
    match param {
        "concurrency" | "request_count" | "isl" | "osl" => Kind::Count,
        "request_rate" | "benchmark_duration" => Kind::Positive,
        _ => Kind::NonNegative,
    }
}

fn flag_of(param: &str) -> &'static str {
    SWEEPABLE
        .iter()
        .find(|(p, _)| *p == param)
        .map(|(_, f)| *f)
        .unwrap_or("--?")
}

/// Parses one sweepable flag's text (`10` or `10,20,30`) into its values, checking each.
pub fn parse_list(param: &str, text: &str) -> anyhow::Result<Vec<Value>> {
    let flag = flag_of(param);
    let kind = kind_of(param);
    let mut out: Vec<Value> = Vec::new();
    if text.trim().is_empty() {
        bail!("{flag}: empty value: give a number or a comma list like 10,20,30");
    }
    for item in text.split(',') {
        let item = item.trim();
        if item.is_empty() {
            bail!("{flag}: empty value in the list '{text}': give comma-separated numbers like 10,20,30");
        }
        let v = match kind {
            Kind::Count => {
                let n: u64 = item
                    .parse()
                    .map_err(|_| anyhow::anyhow!("{flag}: '{item}' is not a whole number (in '{text}')"))?;
                if n == 0 {
                    bail!("{flag}: values must be at least 1, got 0 (in '{text}')");
                }
                Value::from(n)
            }
            Kind::Positive | Kind::NonNegative => {
                let x: f64 = item
                    .parse()
                    .ok()
                    .filter(|x: &f64| x.is_finite())
                    .ok_or_else(|| anyhow::anyhow!("{flag}: '{item}' is not a number (in '{text}')"))?;
                if kind == Kind::Positive && x <= 0.0 {
                    bail!("{flag}: values must be greater than 0, got {item} (in '{text}')");
                }
                if x < 0.0 {
                    bail!("{flag}: values must not be negative, got {item} (in '{text}')");
                }
                Value::from(x)
            }
        };
        if out.contains(&v) {
            bail!("{flag}: value {item} is listed twice (in '{text}'): each value is one combination");
        }
        out.push(v);
    }
    Ok(out)
}

/// Everything a plan is made from: the profile command line, typed.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    pub model: String,
    /// chat | completions | embeddings.
    pub endpoint_type: String,
    /// Swept (or single-valued) list flags as (loadgen key, raw text), in a fixed order.
    pub lists: Vec<(String, String)>,
    pub sweep_type: SweepType,
    pub num_profile_runs: u32,
    pub mode: SweepMode,
    pub sweep_cooldown_seconds: f64,
    pub run_cooldown_seconds: f64,
    pub random_seed: Option<u64>,
    pub same_seed: bool,
    pub confidence_level: f64,
    pub warmup_request_count: Option<u64>,
    pub ui: Option<Ui>,
    /// `--artifact-dir` (default `artifacts`): the sweep's folder is created below it.
    pub artifact_dir: PathBuf,
    /// Other loadgen options from the command line (keys = loadgen flag names in snake_case).
    pub loadgen: Map<String, Value>,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            model: String::new(),
            endpoint_type: "chat".into(),
            lists: Vec::new(),
            sweep_type: SweepType::Grid,
            num_profile_runs: 1,
            mode: SweepMode::Repeated,
            sweep_cooldown_seconds: 0.0,
            run_cooldown_seconds: 0.0,
            random_seed: None,
            same_seed: false,
            confidence_level: 0.95,
            warmup_request_count: None,
            ui: None,
            artifact_dir: PathBuf::from("artifacts"),
            loadgen: Map::new(),
        }
    }
}

/// One run of the plan (Contract A).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanLine {
    /// Position in execution order, 0-based.
    pub run_index: usize,
    /// Trial number, 1-based.
    pub trial: u32,
    /// `trial_0001` in sweeps, `run_0001` otherwise (AIPerf's labels).
    pub trial_label: String,
    /// Position of the parameter combination in the expanded sweep, 0-based.
    pub variation_index: usize,
    /// The combination's folder name (`concurrency_10`, `concurrency_10__isl_512`), `base` without a sweep.
    pub variation_label: String,
    /// Swept parameters and their values (empty without a sweep).
    pub parameters: Map<String, Value>,
    /// The run's random seed (base + variation_index unless same-seed); null when none was set.
    pub seed: Option<u64>,
    /// Where this run's files go.
    pub artifact_dir: String,
    /// Seconds to wait before starting this run.
    pub cooldown_seconds: f64,
    /// True when this run has a warmup phase (first trial of each value, if a warmup was asked for).
    pub warmup: bool,
    /// The complete loadgen spec.
    pub loadgen: Map<String, Value>,
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

/// Expands the options into the plan, refusing invalid combinations with a message naming the flag.
pub fn build(opts: &PlanOptions) -> anyhow::Result<Plan> {
    if opts.model.trim().is_empty() {
        bail!("--model is required: the model name to benchmark (e.g. --model llama-3-8b)");
    }
    if !matches!(opts.endpoint_type.as_str(), "chat" | "completions" | "embeddings") {
        bail!(
            "--endpoint-type: '{}' is not supported: use chat, completions or embeddings",
            opts.endpoint_type
        );
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
    if opts.same_seed && opts.random_seed.is_none() {
        bail!("--parameter-sweep-same-seed requires --random-seed: give the seed every sweep value should share");
    }
    if opts.loadgen.contains_key("benchmark_duration") && opts.loadgen.contains_key("request_count")
        || opts.lists.iter().any(|(k, _)| k == "benchmark_duration")
            && (opts.loadgen.contains_key("request_count")
                || opts.lists.iter().any(|(k, _)| k == "request_count"))
    {
        bail!("--request-count and --benchmark-duration are mutually exclusive: stop by count or by time, not both");
    }

    // Parse every list flag; lists with more than one value are swept.
    let mut fixed: Vec<(String, Value)> = Vec::new();
    let mut swept: Vec<(String, Vec<Value>)> = Vec::new();
    for (param, text) in &opts.lists {
        let values = parse_list(param, text)?;
        if values.len() == 1 {
            fixed.push((param.clone(), values[0].clone()));
        } else {
            swept.push((param.clone(), values));
        }
    }
    let sweep = !swept.is_empty();

    // Combinations in sweep order.
    let combos: Vec<Vec<(String, Value)>> = if !sweep {
        vec![Vec::new()]
    } else {
        match opts.sweep_type {
            SweepType::Zip => {
                let n = swept[0].1.len();
                if let Some((p, v)) = swept.iter().find(|(_, v)| v.len() != n) {
                    bail!(
                        "--sweep-type zip: {} has {} values but {} has {}: zip pairs the lists element by element, so give lists of equal length (or use --sweep-type grid)",
                        flag_of(&swept[0].0),
                        n,
                        flag_of(p),
                        v.len()
                    );
                }
                (0..n)
                    .map(|i| swept.iter().map(|(p, v)| (p.clone(), v[i].clone())).collect())
                    .collect()
            }
            SweepType::Grid => {
                let mut acc: Vec<Vec<(String, Value)>> = vec![Vec::new()];
                for (p, values) in &swept {
                    let mut next = Vec::with_capacity(acc.len() * values.len());
                    for prefix in &acc {
                        for v in values {
                            let mut c = prefix.clone();
                            c.push((p.clone(), v.clone()));
                            next.push(c);
                        }
                    }
                    acc = next;
                }
                acc
            }
        }
    };

    // UI rules of the guide.
    let mut notices = Vec::new();
    let ui = match (sweep, opts.ui) {
        (true, Some(Ui::Dashboard)) => bail!("{UI_DASHBOARD_REFUSED}"),
        (true, None) => {
            notices.push(UI_AUTO_SIMPLE_MESSAGE.to_string());
            Some(Ui::Simple)
        }
        (false, Some(Ui::Dashboard)) if opts.num_profile_runs > 1 => bail!(
            "Dashboard UI is not supported with multiple profile runs (--num-profile-runs). Please use '--ui simple' or '--ui none' instead."
        ),
        (false, None) if opts.num_profile_runs > 1 => Some(Ui::Simple),
        (_, ui) => ui,
    };

    // Seeds: 42 by default for any sweep or repeated run; base + variation index per value.
    let base_seed = opts
        .random_seed
        .or((sweep || opts.num_profile_runs > 1).then_some(42));

    let stimulus = if sweep {
        format!(
            "{}_sweep",
            swept
                .iter()
                .map(|(p, _)| p.as_str())
                .collect::<Vec<_>>()
                .join("_")
        )
    } else if let Some((_, v)) = fixed.iter().find(|(p, _)| p == "request_rate") {
        format!("request_rate{}", value_text(v))
    } else if let Some((_, v)) = fixed.iter().find(|(p, _)| p == "concurrency") {
        format!("concurrency{}", value_text(v))
    } else {
        "concurrency1".to_string()
    };
    let name = path_safe(&format!(
        "{}-openai-{}-{}",
        opts.model, opts.endpoint_type, stimulus
    ));
    let layout = Layout {
        base_dir: opts.artifact_dir.join(name),
        sweep,
        trials: opts.num_profile_runs,
        mode: opts.mode,
    };
    let base_text = layout
        .base_dir
        .to_str()
        .context("--artifact-dir must be valid UTF-8")?;
    if base_text.contains(['\t', '\n', '\r']) {
        bail!("--artifact-dir must not contain tabs or newlines");
    }

    // Execution order.
    let n_trials = opts.num_profile_runs;
    let order: Vec<(usize, u32)> = match (sweep, opts.mode) {
        (true, SweepMode::Independent) => (0..combos.len())
            .flat_map(|v| (1..=n_trials).map(move |t| (v, t)))
            .collect(),
        _ => (1..=n_trials)
            .flat_map(|t| (0..combos.len()).map(move |v| (v, t)))
            .collect(),
    };

    let mut lines = Vec::with_capacity(order.len());
    for (run_index, (v, trial)) in order.into_iter().enumerate() {
        let combo = &combos[v];
        let dir = if sweep { dir_name(combo) } else { String::new() };
        let cooldown = match (sweep, opts.mode) {
            (true, SweepMode::Independent) => {
                if trial > 1 {
                    opts.run_cooldown_seconds
                } else if v > 0 {
                    opts.sweep_cooldown_seconds
                } else {
                    0.0
                }
            }
            _ => {
                if v > 0 {
                    opts.sweep_cooldown_seconds
                } else if trial > 1 {
                    opts.run_cooldown_seconds
                } else {
                    0.0
                }
            }
        };
        let seed = match base_seed {
            Some(b) if !opts.same_seed => Some(b + v as u64),
            other => other,
        };
        let warmup = trial == 1 && opts.warmup_request_count.is_some_and(|n| n > 0);

        let mut spec = opts.loadgen.clone();
        spec.insert("model".into(), Value::from(opts.model.clone()));
        spec.insert("endpoint_type".into(), Value::from(opts.endpoint_type.clone()));
        for (p, val) in fixed.iter().chain(combo.iter()) {
            spec.insert(p.clone(), val.clone());
        }
        if let Some(s) = seed {
            spec.insert("random_seed".into(), Value::from(s));
        }
        if warmup {
            spec.insert(
                "warmup_request_count".into(),
                Value::from(opts.warmup_request_count.unwrap_or(0)),
            );
        }
        // loadgen draws no dashboard (only simple or none); a dashboard request keeps its default.
        if let Some(ui) = ui.filter(|u| *u != Ui::Dashboard) {
            spec.insert("ui".into(), Value::from(ui.as_str()));
        }

        lines.push(PlanLine {
            run_index,
            trial,
            trial_label: layout.trial_label(trial),
            variation_index: v,
            variation_label: if sweep { dir.clone() } else { "base".into() },
            parameters: combo.iter().cloned().collect(),
            seed,
            artifact_dir: layout.run_dir(&dir, trial).display().to_string(),
            cooldown_seconds: cooldown,
            warmup,
            loadgen: spec,
        });
    }

    Ok(Plan {
        lines,
        layout,
        notices,
        sweep_parameters: swept,
        confidence_level: opts.confidence_level,
    })
}

/// A plan line as one tab-separated row for shell loops: run_index, cooldown, artifact dir, JSON line.
pub fn tsv_row(line: &PlanLine) -> anyhow::Result<String> {
    Ok(format!(
        "{}\t{}\t{}\t{}",
        line.run_index,
        line.cooldown_seconds,
        line.artifact_dir,
        serde_json::to_string(line)?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(lists: &[(&str, &str)]) -> PlanOptions {
        PlanOptions {
            model: "llama-3-8b".into(),
            lists: lists
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn grid_is_cartesian_last_fastest_and_zip_pairs() {
        let p = build(&opts(&[("concurrency", "10,20"), ("isl", "128,512")])).unwrap();
        let labels: Vec<_> = p.lines.iter().map(|l| l.variation_label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "concurrency_10__isl_128",
                "concurrency_10__isl_512",
                "concurrency_20__isl_128",
                "concurrency_20__isl_512"
            ]
        );
        let mut o = opts(&[("concurrency", "10,20"), ("isl", "128,512")]);
        o.sweep_type = SweepType::Zip;
        let p = build(&o).unwrap();
        let labels: Vec<_> = p.lines.iter().map(|l| l.variation_label.as_str()).collect();
        assert_eq!(labels, ["concurrency_10__isl_128", "concurrency_20__isl_512"]);
        o.lists[1].1 = "1,2,3".into();
        let e = build(&o).unwrap_err().to_string();
        assert!(e.contains("--sweep-type zip") && e.contains("--isl has 3"), "{e}");
    }

    #[test]
    fn float_values_name_folders_like_python() {
        let p = build(&opts(&[("request_rate", "5,7.5")])).unwrap();
        assert_eq!(p.lines[0].variation_label, "request_rate_5.0");
        assert_eq!(p.lines[1].variation_label, "request_rate_7.5");
        assert_eq!(
            p.layout.base_dir,
            PathBuf::from("artifacts/llama-3-8b-openai-chat-request_rate_sweep")
        );
    }

    #[test]
    fn tv6_seeds() {
        let p = build(&opts(&[("concurrency", "10,20,40")])).unwrap();
        assert_eq!(
            p.lines.iter().map(|l| l.seed.unwrap()).collect::<Vec<_>>(),
            [42, 43, 44]
        );
        let mut o = opts(&[("concurrency", "10,20,40")]);
        o.same_seed = true;
        o.random_seed = Some(42);
        let p = build(&o).unwrap();
        assert_eq!(
            p.lines.iter().map(|l| l.seed.unwrap()).collect::<Vec<_>>(),
            [42, 42, 42]
        );
        // Without a sweep or trials no seed is invented.
        let p = build(&opts(&[("concurrency", "8")])).unwrap();
        assert_eq!(p.lines[0].seed, None);
        assert!(!p.lines[0].loadgen.contains_key("random_seed"));
    }

    #[test]
    fn model_names_become_path_safe() {
        let mut o = opts(&[("concurrency", "1,2")]);
        o.model = "meta-llama/Llama 3:8b".into();
        let p = build(&o).unwrap();
        assert_eq!(
            p.layout.base_dir,
            PathBuf::from("artifacts/meta-llama_Llama_3_8b-openai-chat-concurrency_sweep")
        );
    }
}
