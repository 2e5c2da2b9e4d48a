//! compare: which server configuration to run, at what load, and how sure. Reads two or more
//! labelled result folders ([`input`]), refuses different workloads ([`workload`]), compares every
//! key metric at every value both measured ([`metrics`], [`verdict`]), decides which serves more
//! within the SLO ([`decision`]), judges regression gates ([`gate`]) and renders the result as a
//! terminal table ([`table`]) or Markdown ([`markdown`]); JSON is the contract type itself.

pub mod decision;
pub mod gate;
pub mod input;
pub mod markdown;
pub mod metrics;
pub mod table;
pub mod verdict;
pub mod workload;

use std::path::PathBuf;

use crate::contract::comparison::{self, Comparison, Pair, PointComparison};
use crate::contract::sla_filter::SlaFilter;
use gate::Gate;
use input::Configuration;
use verdict::Rules;

/// What `compare` is asked to do.
#[derive(Debug, Clone)]
pub struct CompareOptions {
    /// `(label, folder)`, the base first.
    pub inputs: Vec<(String, PathBuf)>,
    pub slo: Vec<SlaFilter>,
    pub gates: Vec<Gate>,
    /// Relative equivalence margin, a fraction (0.02).
    pub equivalence: f64,
    /// Workload settings allowed to differ.
    pub allow_different: Vec<String>,
    /// Interval level (0.95).
    pub level: f64,
}

fn check(opts: &CompareOptions) -> anyhow::Result<()> {
    anyhow::ensure!(
        opts.inputs.len() >= 2,
        "give at least two LABEL=DIR folders (the first is the base), e.g. compare base=artifacts/a new=artifacts/b"
    );
    for (i, (l, _)) in opts.inputs.iter().enumerate() {
        anyhow::ensure!(
            !opts.inputs[..i].iter().any(|(m, _)| m == l),
            "label '{l}' is given twice: every LABEL=DIR needs its own label"
        );
    }
    for a in &opts.allow_different {
        anyhow::ensure!(
            workload::SETTINGS.contains(&a.as_str()),
            "--allow-different '{a}': unknown setting; expected one of {}",
            workload::SETTINGS.join(", ")
        );
    }
    anyhow::ensure!(
        opts.equivalence > 0.0 && opts.equivalence < 1.0,
        "--equivalence must be a percentage between 0 and 100, exclusive (e.g. 2%)"
    );
    Ok(())
}

/// Refuses a configuration whose workload differs from the base's, naming the setting.
fn check_workloads(
    configs: &[Configuration],
    allowed: &[String],
    warnings: &mut Vec<String>,
) -> anyhow::Result<()> {
    let base = &configs[0];
    let Some(bw) = base.input_config.as_ref().map(workload::settings) else {
        warnings.push(format!(
            "{}: no trial summary with input_config: the workloads were not checked",
            base.label
        ));
        return Ok(());
    };
    for c in &configs[1..] {
        let Some(cw) = c.input_config.as_ref().map(workload::settings) else {
            warnings.push(format!(
                "{}: no trial summary with input_config: its workload was not checked",
                c.label
            ));
            continue;
        };
        for n in workload::notes(&bw, &cw) {
            warnings.push(format!(
                "{} and {}: {n} (other prompts from the same distribution)",
                base.label, c.label
            ));
        }
        if let Some(d) = workload::first_difference(&bw, &cw, allowed) {
            let setting = d.split(['.', ':']).next().unwrap_or("").to_string();
            anyhow::bail!(
                "{} ({}) ran a different workload from {} ({}): {d}; compare like with like, or --allow-different {setting} if that is the point",
                c.label,
                c.dir.display(),
                base.label,
                base.dir.display()
            );
        }
    }
    Ok(())
}

/// Every key metric at every value both configurations measured.
fn pair(base: &Configuration, new: &Configuration, rules: Rules) -> Pair {
    let mut points = Vec::new();
    let mut unmatched = Vec::new();
    for bp in &base.points {
        let Some(np) = new.point(&bp.key) else {
            unmatched.push(format!("{} (only {})", bp.key, base.label));
            continue;
        };
        let both = |k: &str| bp.metrics.contains_key(k) && np.metrics.contains_key(k);
        let metrics = metrics::to_compare(both, bp.metrics.keys())
            .into_iter()
            .map(|k| {
                let (b, n) = (&bp.metrics[&k], &np.metrics[&k]);
                verdict::compare(
                    &k,
                    &b.unit,
                    &b.sample,
                    &n.sample,
                    metrics::higher_is_better(&k),
                    rules,
                )
            })
            .collect();
        points.push(PointComparison {
            parameters: input::parameters_map(bp),
            label: bp.key.clone(),
            metrics,
        });
    }
    for np in new.points.iter().filter(|p| base.point(&p.key).is_none()) {
        unmatched.push(format!("{} (only {})", np.key, new.label));
    }
    Pair {
        base: base.label.clone(),
        new: new.label.clone(),
        points,
        unmatched,
    }
}

/// Judges every gate on every pair.
fn gates(
    configs: &[Configuration],
    gates: &[Gate],
    level: f64,
) -> anyhow::Result<Vec<comparison::GateResult>> {
    let base = &configs[0];
    let mut out = Vec::new();
    for new in &configs[1..] {
        for g in gates {
            let pts: Vec<_> = base
                .points
                .iter()
                .filter_map(|bp| {
                    let (b, n) = (
                        bp.metrics.get(&g.metric)?,
                        new.point(&bp.key)?.metrics.get(&g.metric)?,
                    );
                    Some((bp.key.clone(), b.unit.clone(), b.sample, n.sample))
                })
                .collect();
            out.push(g.judge(&new.label, &pts, level)?);
        }
    }
    Ok(out)
}

fn describe(c: &Configuration) -> comparison::Configuration {
    comparison::Configuration {
        label: c.label.clone(),
        dir: c.dir.display().to_string(),
        kind: c.kind.into(),
        parameters: c.parameters.clone(),
        values: c.points.len(),
        min_trials: c.points.iter().map(|p| p.trials).min().unwrap_or(0),
        max_trials: c.points.iter().map(|p| p.trials).max().unwrap_or(0),
        failed_trials: c.points.iter().map(|p| p.failed).sum(),
    }
}

/// Loads, checks and compares; an `Err` is bad input (exit 2).
pub fn run(opts: &CompareOptions) -> anyhow::Result<Comparison> {
    check(opts)?;
    let configs = opts
        .inputs
        .iter()
        .map(|(l, d)| input::load(l, d))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut warnings = Vec::new();
    check_workloads(&configs, &opts.allow_different, &mut warnings)?;
    let rules = Rules {
        level: opts.level,
        margin: opts.equivalence,
    };
    let pairs: Vec<Pair> = configs[1..].iter().map(|c| pair(&configs[0], c, rules)).collect();
    let mut slo = opts.slo.clone();
    if slo.is_empty() {
        for f in configs.iter().flat_map(|c| &c.sla) {
            if !slo.contains(f) {
                slo.push(f.clone());
            }
        }
    }
    anyhow::ensure!(
        pairs.iter().all(|p| !p.points.is_empty()) || !slo.is_empty(),
        "no swept value in common between {} and the others ({}): give --slo to compare their capacities instead",
        configs[0].label,
        pairs
            .iter()
            .flat_map(|p| p.unmatched.iter().cloned())
            .collect::<Vec<_>>()
            .join(", ")
    );
    for p in &pairs {
        if !p.unmatched.is_empty() {
            warnings.push(format!(
                "{} vs {}: not compared (measured on one side only): {}",
                p.base,
                p.new,
                p.unmatched.join(", ")
            ));
        }
    }
    let gate_results = gates(&configs, &opts.gates, opts.level)?;
    Ok(Comparison {
        schema: comparison::SCHEMA.into(),
        base: configs[0].label.clone(),
        configurations: configs.iter().map(describe).collect(),
        confidence_level: opts.level,
        equivalence_margin: opts.equivalence,
        allowed_differences: opts.allow_different.clone(),
        decision: (!slo.is_empty()).then(|| decision::decide(&configs, &slo, opts.level)),
        slo,
        pairs,
        gates: gate_results,
        warnings,
    })
}
